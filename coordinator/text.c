/* Text for the coordinator's pages: a growable buffer, HTML escaping, readable byte counts
 * and "N s ago" (coordinator/internal/ops.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "coordinator/internal/ops.h"

void ops_add(struct ops_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (t->p != NULL && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = (t->cap ? t->cap * 2 : 4096) + (size_t)n;
		char *p = realloc(t->p, cap);

		if (p == NULL)
			return;
		t->p = p;
		t->cap = cap;
	}
}

void ops_add_html(struct ops_text *t, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '<': ops_add(t, "&lt;"); break;
		case '>': ops_add(t, "&gt;"); break;
		case '&': ops_add(t, "&amp;"); break;
		case '"': ops_add(t, "&quot;"); break;
		default: ops_add(t, "%c", *s); break;
		}
	}
}

void ops_bytes(uint64_t n, char *out, size_t len)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)n;
	size_t u = 0;

	if (n < 1024) {
		snprintf(out, len, "%llu B", (unsigned long long)n);
		return;
	}
	v /= 1024.0;
	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	snprintf(out, len, "%.1f %s", v, units[u]);
}

void ops_ago(uint64_t then_ms, uint64_t now_ms, char *out, size_t len)
{
	uint64_t s;

	if (then_ms == 0) {
		snprintf(out, len, "never");
		return;
	}
	if (then_ms >= now_ms || (s = (now_ms - then_ms) / 1000) == 0) {
		snprintf(out, len, "just now");
		return;
	}
	if (s < 120)
		snprintf(out, len, "%llu s ago", (unsigned long long)s);
	else if (s < 7200)
		snprintf(out, len, "%llu min ago", (unsigned long long)(s / 60));
	else if (s < 172800)
		snprintf(out, len, "%llu h ago", (unsigned long long)(s / 3600));
	else
		snprintf(out, len, "%llu d ago", (unsigned long long)(s / 86400));
}

int ops_module_index(const char *identity)
{
	const csb_module_def *m = csb_module_find(identity);

	return m == NULL ? -1 : (int)(m - csb_modules);
}
