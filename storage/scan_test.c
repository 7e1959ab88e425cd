/* Tests for csb_store_scan(): key ranges, paging after a key, limits, tombstones, and the
 * import count kept in the cursor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "storage/internal/test_util.h"
#include "storage/store.h"

struct seen {
	char keys[64][16];
	size_t n;
};

static bool collect(void *ctx, const csb_record *r)
{
	struct seen *s = ctx;

	assert_true(r->key_len < 16);
	memcpy(s->keys[s->n], r->key, r->key_len);
	s->keys[s->n][r->key_len] = '\0';
	s->n++;
	return true;
}

static void fill(tu_store *ts)
{
	char key[8];

	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(tu_put(ts->s, "m", key, "v", NULL), CSB_OK);
	}
	assert_int_equal(csb_store_delete(ts->s, "m", "k5", 2, NULL), CSB_OK);
}

static void test_scan_range_after_limit(void **state)
{
	tu_store ts;
	struct seen s = {0};
	csb_range r = {(const uint8_t *)"k2", 2, (const uint8_t *)"k7", 2};

	(void)state;
	tu_open(&ts, 0, true);
	fill(&ts);
	assert_int_equal(csb_store_scan(ts.s, NULL, "m", &r, NULL, 0, 0, collect, &s), CSB_OK);
	assert_int_equal(s.n, 4); /* k2 k3 k4 k6: lo inclusive, hi exclusive, no tombstone */
	assert_string_equal(s.keys[0], "k2");
	assert_string_equal(s.keys[3], "k6");

	memset(&s, 0, sizeof(s));
	assert_int_equal(csb_store_scan(ts.s, NULL, "m", &r, "k3", 2, 2, collect, &s), CSB_OK);
	assert_int_equal(s.n, 2); /* after k3 (exclusive), two of them */
	assert_string_equal(s.keys[0], "k4");
	assert_string_equal(s.keys[1], "k6");

	memset(&s, 0, sizeof(s));
	assert_int_equal(csb_store_scan(ts.s, NULL, "m", NULL, "k8", 2, 0, collect, &s), CSB_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.keys[0], "k9");

	memset(&s, 0, sizeof(s));
	assert_int_equal(csb_store_scan(ts.s, NULL, "nothing", NULL, NULL, 0, 0, collect, &s),
	                 CSB_OK);
	assert_int_equal(s.n, 0);
	assert_int_equal(csb_store_scan(ts.s, NULL, "m", NULL, NULL, 0, 0, NULL, NULL), CSB_EINVAL);
	tu_close(&ts);
}

static void test_cursor_counts_applied_records(void **state)
{
	tu_store src, dst;
	csb_cursor cur;
	csb_batch_hdr keep;

	(void)state;
	tu_open(&src, 0, true);
	tu_open(&dst, 0, true);
	fill(&src);
	tu_replicate(src.s, dst.s, "pool01.csb.test", "m", 3);
	assert_int_equal(csb_store_cursor_get(dst.s, "pool01.csb.test", "m", &cur), CSB_OK);
	assert_int_equal(cur.applied_records, 10); /* 9 live records and 1 tombstone */
	assert_int_equal(cur.count, 9);
	/* A repair under reseed moves records but is not an import of the log. */
	keep = (csb_batch_hdr){cur.lineage, cur.applied_seq, cur.applied_seq, true};
	{
		csb_record r = {.key = (uint8_t *)"x", .key_len = 1, .value = (uint8_t *)"y",
		                .value_len = 1, .seq = 1};

		assert_int_equal(csb_store_apply(dst.s, "pool01.csb.test", "m", &keep, &r, 1, &cur),
		                 CSB_OK);
	}
	assert_int_equal(cur.applied_records, 10);
	assert_int_equal(cur.count, 10);
	tu_close(&src);
	tu_close(&dst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_range_after_limit),
		cmocka_unit_test(test_cursor_counts_applied_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
