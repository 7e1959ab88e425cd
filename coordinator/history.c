/* The last hour of the coordinator's status poller: each module's export lag in 10 s slots,
 * drawn as server-rendered SVG (no script, nothing fetched), and the recent events — what
 * began, what cleared, which states changed. Kept in memory only: a restarted coordinator
 * starts a new hour. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "coordinator/internal/ops.h"

void ops_series_add(struct ops_series *s, uint64_t now_ms, uint64_t records, double seconds)
{
	uint64_t start = now_ms - now_ms % OPS_HISTORY_SLOT_MS;
	size_t i = (size_t)(now_ms / OPS_HISTORY_SLOT_MS % OPS_HISTORY_SLOTS);

	if (s->slot_start[i] != start) {
		s->slot_start[i] = start;
		s->records[i] = records;
		s->seconds[i] = seconds;
		return;
	}
	if (records > s->records[i])
		s->records[i] = records;
	if (seconds > s->seconds[i])
		s->seconds[i] = seconds;
}

void ops_event_add(struct ops_events *e, uint64_t at_ms, bool bad, const char *fmt, ...)
{
	struct ops_event *ev;
	va_list ap;

	if (e->n == OPS_EVENTS_MAX) {
		e->first = (e->first + 1) % OPS_EVENTS_MAX;
		e->n--;
	}
	ev = &e->ev[(e->first + e->n++) % OPS_EVENTS_MAX];
	ev->at_ms = at_ms;
	ev->bad = bad;
	va_start(ap, fmt);
	vsnprintf(ev->text, sizeof(ev->text), fmt, ap);
	va_end(ap);
}

const struct ops_event *ops_event_back(const struct ops_events *e, size_t i)
{
	if (i >= e->n)
		return NULL;
	return &e->ev[(e->first + e->n - 1 - i) % OPS_EVENTS_MAX];
}

/* The chart's frame: plot area from (LEFT, TOP), PLOT_W x PLOT_H. */
#define SVG_W 440
#define SVG_H 120
#define LEFT 52
#define TOP 8
#define PLOT_W 380
#define PLOT_H 90

const char *const ops_module_colours[CSB_MODULE_COUNT] = {"#1f77b4", "#d62728", "#2ca02c",
                                                         "#9467bd", "#8c564b"};

static double value(const struct ops_series *s, size_t i, bool records)
{
	return records ? (double)s->records[i] : s->seconds[i];
}

/* Whether slot start (a slot's first ms) holds a sample; its index in *i. */
static bool slot_at(const struct ops_series *s, uint64_t start, size_t *i)
{
	*i = (size_t)(start / OPS_HISTORY_SLOT_MS % OPS_HISTORY_SLOTS);
	return start > 0 && s->slot_start[*i] == start;
}

/* The largest value of the window ending with the slot of now. */
static double window_max(const struct ops_pool *p, bool records, uint64_t last)
{
	double max = 0;
	size_t i;

	for (int m = 0; m < CSB_MODULE_COUNT; m++)
		for (uint64_t k = 0; k < OPS_HISTORY_SLOTS; k++)
			if (last >= k * OPS_HISTORY_SLOT_MS &&
			    slot_at(&p->lag[m], last - k * OPS_HISTORY_SLOT_MS, &i) &&
			    value(&p->lag[m], i, records) > max)
				max = value(&p->lag[m], i, records);
	return max;
}

/* The polylines of one module: one per run of slots without a gap. */
static void lines(struct ops_text *t, const struct ops_series *s, int m, bool records,
                  uint64_t last, double max)
{
	const uint64_t span = (OPS_HISTORY_SLOTS - 1) * OPS_HISTORY_SLOT_MS;
	bool open = false;
	size_t i;

	for (uint64_t k = 0; k < OPS_HISTORY_SLOTS; k++) {
		uint64_t back = (OPS_HISTORY_SLOTS - 1 - k) * OPS_HISTORY_SLOT_MS;
		double x = LEFT + (double)(span - back) * PLOT_W / (double)span;
		double y;

		if (back > last || !slot_at(s, last - back, &i)) {
			if (open)
				ops_add(t, "\"/>");
			open = false;
			continue;
		}
		y = TOP + PLOT_H - value(s, i, records) * PLOT_H / max;
		if (!open)
			ops_add(t, "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"%s\" "
			           "points=\"%.1f,%.1f", ops_module_colours[m], x, y);
		else
			ops_add(t, " %.1f,%.1f", x, y);
		open = true;
	}
	if (open)
		ops_add(t, "\"/>");
}

void ops_history_svg(struct ops_text *t, const struct ops_pool *p, bool records, uint64_t now_ms)
{
	uint64_t last = now_ms - now_ms % OPS_HISTORY_SLOT_MS;
	double max = window_max(p, records, last);
	char top[32];

	if (max <= 0)
		max = 1;
	if (records)
		snprintf(top, sizeof(top), "%.0f", max);
	else
		snprintf(top, sizeof(top), "%.1f s", max);
	ops_add(t, "<svg class=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
	           "aria-label=\"%s: export lag (%s), last hour\">",
	        SVG_W, SVG_H, SVG_W, SVG_H, p->fqdn, records ? "records" : "seconds");
	ops_add(t, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" "
	           "stroke=\"#ccc\"/>", LEFT, TOP, PLOT_W, PLOT_H);
	ops_add(t, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>", LEFT - 4, TOP + 10, top);
	ops_add(t, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>", LEFT - 4, TOP + PLOT_H);
	ops_add(t, "<text x=\"%d\" y=\"%d\">-60 min</text>", LEFT, SVG_H - 4);
	ops_add(t, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">-30 min</text>", LEFT + PLOT_W / 2,
	        SVG_H - 4);
	ops_add(t, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">now</text>", LEFT + PLOT_W, SVG_H - 4);
	for (int m = 0; m < CSB_MODULE_COUNT; m++)
		lines(t, &p->lag[m], m, records, last, max);
	ops_add(t, "</svg>");
}
