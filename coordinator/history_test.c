/* The history of the status page (history.c, text.c): lag slots, the SVG chart's exact
 * lines, the events ring, readable bytes and "N s ago". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/internal/ops.h"

#define T0 1795860000000ull /* 2026-11-28T10:00:00.000Z, a slot's start */

static void test_series_slots(void **state)
{
	struct ops_series *s = calloc(1, sizeof(*s));
	size_t i = (size_t)(T0 / OPS_HISTORY_SLOT_MS % OPS_HISTORY_SLOTS);

	ops_series_add(s, T0 + 1000, 5, 0.5);
	ops_series_add(s, T0 + 3000, 9, 0.25); /* same slot: the largest of each stays */
	ops_series_add(s, T0 + 5000, 2, 1.5);
	assert_true(s->slot_start[i] == T0);
	assert_int_equal(s->records[i], 9);
	assert_true(s->seconds[i] == 1.5);
	/* An hour later the slot is reused: the old values go. */
	ops_series_add(s, T0 + 3600000, 1, 0.0);
	assert_true(s->slot_start[i] == T0 + 3600000);
	assert_int_equal(s->records[i], 1);
	assert_true(s->seconds[i] == 0.0);
	free(s);
}

static char *svg(const struct ops_pool *p, bool records, uint64_t now)
{
	struct ops_text t = {0};

	ops_history_svg(&t, p, records, now);
	return t.p;
}

static void test_svg_lines(void **state)
{
	struct ops_pool *p = calloc(1, sizeof(*p));
	char *s;

	snprintf(p->fqdn, sizeof(p->fqdn), "pool01.csb.test");
	ops_series_add(&p->lag[0], T0 - 40000, 0, 0.0);
	/* T0 - 30000: no sample (the agent did not answer): the line breaks. */
	ops_series_add(&p->lag[0], T0 - 20000, 10, 2.0);
	ops_series_add(&p->lag[0], T0 - 10000, 5, 1.0);
	ops_series_add(&p->lag[0], T0 + 4000, 20, 4.0);
	ops_series_add(&p->lag[1], T0 + 4000, 0, 0.0);
	s = svg(p, true, T0 + 5000);
	assert_non_null(strstr(s, "aria-label=\"pool01.csb.test: export lag (records), last hour\""));
	assert_non_null(strstr(s, "<text x=\"48\" y=\"18\" text-anchor=\"end\">20</text>"));
	assert_non_null(strstr(s, "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"#1f77b4\" "
	                          "points=\"427.8,98.0\"/>"
	                          "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"#1f77b4\" "
	                          "points=\"429.9,53.0 430.9,75.5 432.0,8.0\"/>"
	                          "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"#d62728\" "
	                          "points=\"432.0,98.0\"/></svg>"));
	free(s);
	s = svg(p, false, T0 + 5000);
	assert_non_null(strstr(s, "<text x=\"48\" y=\"18\" text-anchor=\"end\">4.0 s</text>"));
	assert_non_null(strstr(s, "points=\"429.9,53.0 430.9,75.5 432.0,8.0\""));
	free(s);
	/* An hour on, nothing is left to draw; the scale falls back to 1. */
	s = svg(p, true, T0 + 3600000);
	assert_null(strstr(s, "<polyline"));
	assert_non_null(strstr(s, ">1</text>"));
	free(s);
	free(p);
}

static void test_events_ring(void **state)
{
	struct ops_events *e = calloc(1, sizeof(*e));

	assert_null(ops_event_back(e, 0));
	for (int i = 0; i < OPS_EVENTS_MAX + 5; i++)
		ops_event_add(e, T0 + (uint64_t)i, i % 2, "event %d", i);
	assert_int_equal(e->n, OPS_EVENTS_MAX);
	assert_string_equal(ops_event_back(e, 0)->text, "event 204");
	assert_true(ops_event_back(e, 0)->at_ms == T0 + 204);
	assert_string_equal(ops_event_back(e, OPS_EVENTS_MAX - 1)->text, "event 5");
	assert_null(ops_event_back(e, OPS_EVENTS_MAX));
	free(e);
}

static void test_text(void **state)
{
	char b[32];
	struct ops_text t = {0};

	ops_bytes(0, b, sizeof(b));
	assert_string_equal(b, "0 B");
	ops_bytes(1023, b, sizeof(b));
	assert_string_equal(b, "1023 B");
	ops_bytes(1536, b, sizeof(b));
	assert_string_equal(b, "1.5 KiB");
	ops_bytes(20u << 20, b, sizeof(b));
	assert_string_equal(b, "20.0 MiB");
	ops_bytes(3435973837ull, b, sizeof(b));
	assert_string_equal(b, "3.2 GiB");
	ops_ago(0, T0, b, sizeof(b));
	assert_string_equal(b, "never");
	ops_ago(T0, T0, b, sizeof(b));
	assert_string_equal(b, "just now");
	ops_ago(T0 - 4999, T0, b, sizeof(b));
	assert_string_equal(b, "4 s ago");
	ops_ago(T0 - 12 * 60000, T0, b, sizeof(b));
	assert_string_equal(b, "12 min ago");
	ops_ago(T0 - 3 * 3600000, T0, b, sizeof(b));
	assert_string_equal(b, "3 h ago");
	ops_ago(T0 - 2 * 86400000ull, T0, b, sizeof(b));
	assert_string_equal(b, "2 d ago");
	ops_add_html(&t, "<a href=\"x\">&</a>");
	assert_string_equal(t.p, "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
	free(t.p);
	assert_int_equal(ops_module_index("ConfServices.DataConf"), 1);
	assert_int_equal(ops_module_index("nothing"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_series_slots),
		cmocka_unit_test(test_svg_lines),
		cmocka_unit_test(test_events_ring),
		cmocka_unit_test(test_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
