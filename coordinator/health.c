/* The health verdict of the deployment (SPEC.md §6 "Health"): what is wrong with each pool
 * and since when, judged from the pools as the status poller last saw them. Pure: web.c
 * feeds it what it gathered and keeps the result between polls, so a problem keeps the
 * time it began. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/status_json.h"
#include "coordinator/internal/ops.h"

static const char *const health_names[] = {"Healthy", "Degraded", "Down"};

const char *ops_health_name(ops_health_state s)
{
	return (unsigned)s < 3 ? health_names[s] : "Unknown";
}

void ops_health_free(struct ops_health *h)
{
	free(h->problems);
	h->problems = NULL;
	h->n = 0;
}

/* A growing list of problems; failed when an allocation failed. */
struct list {
	struct ops_health *h;
	size_t cap;
	bool failed;
	const struct ops_health *prev;
	uint64_t now;
};

static const struct ops_problem *find(const struct ops_health *h, const char *pool,
                                      const char *label)
{
	for (size_t i = 0; h != NULL && i < h->n; i++)
		if (strcmp(h->problems[i].pool, pool) == 0 && strcmp(h->problems[i].label, label) == 0)
			return &h->problems[i];
	return NULL;
}

/* Adds a problem; began is its own start when known (0: now, or as prev had it). */
static void problem(struct list *l, const char *pool, uint64_t began, const char *detail,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void problem(struct list *l, const char *pool, uint64_t began, const char *detail,
                    const char *fmt, ...)
{
	struct ops_problem *p;
	const struct ops_problem *old;
	va_list ap;

	if (l->h->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct ops_problem *np = realloc(l->h->problems, cap * sizeof(*np));

		if (np == NULL) {
			l->failed = true;
			return;
		}
		l->h->problems = np;
		l->cap = cap;
	}
	p = &l->h->problems[l->h->n++];
	snprintf(p->pool, sizeof(p->pool), "%s", pool);
	va_start(ap, fmt);
	vsnprintf(p->label, sizeof(p->label), fmt, ap);
	va_end(ap);
	snprintf(p->detail, sizeof(p->detail), "%s", detail ? detail : "");
	old = find(l->prev, p->pool, p->label);
	p->since_ms = began ? began : old ? old->since_ms : l->now;
}

static const struct ops_pool *pool_named(const struct ops_pool *pools, size_t n,
                                         const char *fqdn)
{
	for (size_t i = 0; fqdn[0] != '\0' && i < n; i++)
		if (strcasecmp(pools[i].fqdn, fqdn) == 0)
			return &pools[i];
	return NULL;
}

static bool down(const struct ops_pool *p)
{
	return p != NULL && p->polled && !p->reachable;
}

static void modules(struct list *l, const struct ops_pool *p, uint64_t interval_ms)
{
	char detail[64];

	for (size_t j = 0; j < p->ps->n_backup_modules; j++) {
		const Csb__ModuleStatus *m = p->ps->backup_modules[j];
		const char *why = m->last_error ? m->last_error : "";

		if (m->export_status == CSB__EXPORT_STATE__EXPORT_ERROR)
			problem(l, p->fqdn, 0, why, "%s export ErrorState", m->identity);
		if (m->import_status == CSB__IMPORT_STATE__IMPORT_ERROR)
			problem(l, p->fqdn, 0, why, "%s import ErrorState", m->identity);
		if (interval_ms > 0 && m->lag_seconds * 1000.0 > (double)interval_ms) {
			snprintf(detail, sizeof(detail), "%.0f s > %llu s", m->lag_seconds,
			         (unsigned long long)(interval_ms / 1000));
			problem(l, p->fqdn, 0, detail, "%s export lag over SyncInterval", m->identity);
		}
	}
}

static void pool_state(struct list *l, const struct ops_pool *p)
{
	const csb_pool_entry *e = &p->entry;
	char detail[512];

	if (!p->entry_ok || e->state == CSB_POOL_NORMAL)
		return;
	if (e->state == CSB_POOL_NEEDS_RESTORE)
		snprintf(detail, sizeof(detail), "%s; epoch %llu", e->reason[0] ? e->reason : "no reason recorded",
		         (unsigned long long)e->epoch);
	else
		snprintf(detail, sizeof(detail), "users served by %s, epoch %llu", e->served_by,
		         (unsigned long long)e->epoch);
	problem(l, p->fqdn, e->since_ms, detail, "pool state %s", csb_pool_state_name(e->state));
}

csb_err ops_health_judge(const struct ops_pool *pools, size_t n, uint64_t sync_interval_ms,
                         const struct ops_health *prev, uint64_t now_ms, struct ops_health *out)
{
	struct list l = {.h = out, .prev = prev, .now = now_ms};
	bool lost = false;

	*out = (struct ops_health){OPS_HEALTHY, NULL, 0};
	for (size_t i = 0; i < n; i++) {
		const struct ops_pool *p = &pools[i], *b = pool_named(pools, n, p->backup);

		if (down(p)) {
			problem(&l, p->fqdn, 0, p->error, "agent unreachable");
			lost |= b == NULL || down(b);
		} else if (down(b)) {
			/* Every module's export and import then fails for that one reason: one line
			 * says it (the pool's table still shows each module's state). */
			problem(&l, p->fqdn, 0, "", "exports and imports stopped: backup pool %s unreachable",
			        b->fqdn);
		} else if (p->reachable && p->ps != NULL) {
			modules(&l, p, sync_interval_ms);
		}
		pool_state(&l, p);
	}
	if (l.failed) {
		ops_health_free(out);
		return CSB_ENOMEM;
	}
	out->state = lost ? OPS_DOWN : out->n > 0 ? OPS_DEGRADED : OPS_HEALTHY;
	return CSB_OK;
}

void ops_problem_text(const struct ops_problem *p, char *out, size_t len)
{
	char at[32];

	csb_time_format(p->since_ms, at, sizeof(at));
	if (p->detail[0] != '\0')
		snprintf(out, len, "%s: %s (%s) since %s", p->pool, p->label, p->detail, at);
	else
		snprintf(out, len, "%s: %s since %s", p->pool, p->label, at);
}

/* Appends "; " (when text is not empty) and what to text (len bytes), cut when full. */
static void append(char *text, size_t len, const char *what)
{
	size_t n = strlen(text), w = strlen(what);

	if (n > 0 && n + 2 < len) {
		memcpy(text + n, "; ", 2);
		n += 2;
	}
	if (n + w >= len)
		w = len - n - 1;
	memcpy(text + n, what, w);
	text[n + w] = '\0';
}

/* The problems of a that b has not, of the pool of a's problem i onwards, as one event:
 * several modules failing or recovering in one poll read as one line, not a page of them. */
static void pool_events(const struct ops_health *a, const struct ops_health *b, size_t i,
                        bool began, uint64_t now_ms, struct ops_events *ev)
{
	const char *pool = a->problems[i].pool;
	char text[sizeof(ev->ev[0].text)] = "", one[900];

	for (size_t k = 0; k < i; k++)
		if (strcmp(a->problems[k].pool, pool) == 0)
			return; /* done with the first of this pool */
	for (; i < a->n; i++) {
		const struct ops_problem *p = &a->problems[i];
		unsigned long long s = now_ms > p->since_ms ? (now_ms - p->since_ms) / 1000 : 0;

		if (strcmp(p->pool, pool) != 0 || find(b, p->pool, p->label) != NULL)
			continue;
		if (began && p->detail[0] != '\0')
			snprintf(one, sizeof(one), "%s (%s)", p->label, p->detail);
		else if (began)
			snprintf(one, sizeof(one), "%s", p->label);
		else
			snprintf(one, sizeof(one), "recovered from %s after %llu s", p->label, s);
		append(text, sizeof(text), one);
		if (began)
			csb_warn("health", "problem began pool=%s problem=\"%s\" detail=\"%s\"", pool,
			         p->label, p->detail);
		else
			csb_info("health", "problem cleared pool=%s problem=\"%s\" after_s=%llu", pool,
			         p->label, s);
	}
	if (text[0] != '\0')
		ops_event_add(ev, now_ms, began, "%s: %s", pool, text);
}

void ops_health_events(const struct ops_health *prev, const struct ops_health *cur,
                       uint64_t now_ms, struct ops_events *ev)
{
	for (size_t i = 0; i < cur->n; i++)
		pool_events(cur, prev, i, true, now_ms, ev);
	for (size_t i = 0; prev != NULL && i < prev->n; i++)
		pool_events(prev, cur, i, false, now_ms, ev);
}
