/* What the coordinator's HTTP pages render (SPEC.md §6): every pool as the status poller last
 * saw it, the health verdict with each problem and since when, the lag history of the last
 * hour and the recent events. web.c polls and serves the pages; health.c judges; history.c
 * keeps and draws the history; metrics.c writes /metrics. None of these blocks: they read
 * what the poller gathered, under the poller's lock. */
#ifndef CSB_COORDINATOR_INTERNAL_OPS_H
#define CSB_COORDINATOR_INTERNAL_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/modules.h"
#include "common/rpc.h"
#include "model/cms.h"
#include "proto/status.pb-c.h"

/* ---- Text ------------------------------------------------------------------------------ */

/* A growable text buffer; p is malloc'ed (NULL while empty). A failed allocation drops the
 * rest of the text: a page comes out short, never corrupt. */
struct ops_text {
	char *p;
	size_t len, cap;
};

void ops_add(struct ops_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* s, HTML-escaped. */
void ops_add_html(struct ops_text *t, const char *s);

/* "512 B", "1.5 KiB", "20.0 MiB", "3.2 GiB" (binary units, one decimal from KiB on). */
void ops_bytes(uint64_t n, char *out, size_t len);

/* How long ago then was at now: "never" (then 0), "4 s ago", "12 min ago", "3 h ago",
 * "2 d ago"; "just now" when then is not before now. */
void ops_ago(uint64_t then_ms, uint64_t now_ms, char *out, size_t len);

/* ---- History (history.c) ---------------------------------------------------------------- */

#define OPS_HISTORY_SLOTS 360   /* one hour ... */
#define OPS_HISTORY_SLOT_MS 10000 /* ... in slots of 10 s: each keeps the largest lag seen */

/* The lag of one module of one pool over the last hour. */
struct ops_series {
	uint64_t slot_start[OPS_HISTORY_SLOTS]; /* the slot's first ms; 0 unused */
	uint64_t records[OPS_HISTORY_SLOTS];
	double seconds[OPS_HISTORY_SLOTS];
};

/* Adds one sample taken at now_ms (the largest of a slot's samples stays). */
void ops_series_add(struct ops_series *s, uint64_t now_ms, uint64_t records, double seconds);

#define OPS_EVENTS_MAX 200

/* What happened: a problem began or cleared, a module's export or import state or a pool's
 * state changed. Newest last; the oldest is dropped when full. */
struct ops_event {
	uint64_t at_ms;
	bool bad;        /* a problem began (red), else a change or a recovery */
	char text[640];  /* "pool02.csb.test: agent unreachable (…)" */
};

struct ops_events {
	struct ops_event ev[OPS_EVENTS_MAX];
	size_t first, n;
};

void ops_event_add(struct ops_events *e, uint64_t at_ms, bool bad, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The i-th event counting back from the newest (0), or NULL. */
const struct ops_event *ops_event_back(const struct ops_events *e, size_t i);

/* ---- Pools as polled (web.c) ------------------------------------------------------------ */

/* One pool of the topology as the poller last saw it. */
struct ops_pool {
	char fqdn[CSB_FQDN_MAX + 1];
	char backup[CSB_FQDN_MAX + 1];   /* from the topology: known while the agent is down */
	bool polled;                     /* at least one poll of this pool finished */
	bool reachable;                  /* its agent answered the last poll */
	char error[CSB_RPC_ERROR_MAX];   /* why not, when it did not */
	Csb__PoolStatus *ps;             /* the last answer (kept while unreachable, so metrics
	                                  * keep their series); NULL before the first */
	uint64_t answered_ms;            /* when ps came */
	csb_pool_entry entry;            /* poolstate/<fqdn> of the CMS */
	bool entry_ok;                   /* entry could be read */
	uint64_t poll_errors;            /* polls the agent did not answer, since start */
	uint64_t export_errors[CSB_MODULE_COUNT]; /* times a module's export entered ErrorState */
	uint64_t import_errors[CSB_MODULE_COUNT]; /* and its import */
	struct ops_series lag[CSB_MODULE_COUNT];  /* the export lag, by csb_modules index */
};

/* The module's index in csb_modules, or -1. */
int ops_module_index(const char *identity);

/* ---- Health (health.c) ------------------------------------------------------------------ */

typedef enum ops_health_state {
	OPS_HEALTHY,  /* no problem */
	OPS_DEGRADED, /* a problem, but every pool's data has a live copy */
	OPS_DOWN,     /* a pool and its backup pool are both unreachable (or a pool without a
	               * backup pool is): some users' data is served and backed up nowhere */
} ops_health_state;

/* "Healthy", "Degraded", "Down". */
const char *ops_health_name(ops_health_state s);

/* One problem: pool and label stay the same while it lasts (they say what it is), detail
 * may change from poll to poll (the lag, the agent's words). */
struct ops_problem {
	char pool[CSB_FQDN_MAX + 1];
	char label[320];   /* "agent unreachable", "UserServices.PresenceFocus export ErrorState" */
	char detail[512];  /* "" or what makes it concrete, shown in brackets */
	uint64_t since_ms; /* when it began (as far as this coordinator knows) */
};

struct ops_health {
	ops_health_state state;
	struct ops_problem *problems; /* malloc'ed */
	size_t n;
};

/* Judges the n pools: one problem per agent unreachable; for a pool whose backup pool is
 * unreachable one problem saying so (its modules' errors all come from it), else one per
 * module in export ErrorState, import ErrorState, export lag over sync_interval_ms; and pool
 * state other than Normal; in pool order, then in that order.
 * A problem that prev (may be NULL) already had keeps its since; a new one begins at now_ms
 * (a pool state's at its recorded transition time when known). CSB_OK or CSB_ENOMEM. */
csb_err ops_health_judge(const struct ops_pool *pools, size_t n, uint64_t sync_interval_ms,
                         const struct ops_health *prev, uint64_t now_ms, struct ops_health *out);

/* "<pool>: <label> (<detail>) since <RFC 3339 time>" ("(<detail>) " only when there is one). */
void ops_problem_text(const struct ops_problem *p, char *out, size_t len);

/* Adds to ev, per pool, one event for the problems that began and one for those that
 * cleared between prev and cur ("<pool>: <label> (<detail>); …", "<pool>: recovered from
 * <label> after N s; …"), and logs each problem once. */
void ops_health_events(const struct ops_health *prev, const struct ops_health *cur,
                       uint64_t now_ms, struct ops_events *ev);

void ops_health_free(struct ops_health *h);

/* ---- Pages (history.c, metrics.c) ------------------------------------------------------- */

/* The colour of each module's line (csb_modules order) in the charts and their legend. */
extern const char *const ops_module_colours[CSB_MODULE_COUNT];

/* The SVG chart of the lag of pool's modules over the hour before now_ms: records (which
 * is true) or seconds; a polyline per module that has samples. */
void ops_history_svg(struct ops_text *t, const struct ops_pool *pool, bool records,
                     uint64_t now_ms);

/* What /metrics needs beyond the pools. */
struct ops_metrics_in {
	const struct ops_pool *pools;
	size_t n;
	const struct ops_health *health;
	uint64_t sync_interval_ms;
	const char *version;
	uint64_t polls_total;
};

/* Prometheus text of everything: build info, process_* from /proc/self, the pools' series. */
void ops_metrics(struct ops_text *t, const struct ops_metrics_in *in);

/* The process_* metrics of /proc/self (left out when it cannot be read). */
struct ops_proc {
	double cpu_seconds;     /* user + system */
	uint64_t rss_bytes, vsize_bytes;
	double start_time_seconds; /* since the epoch */
	uint64_t open_fds, max_fds;
	uint64_t threads;
};

/* Parses /proc/self/stat's text (stat) given the clock ticks per second, the page size and
 * the boot time (btime of /proc/stat, seconds since the epoch). CSB_OK or CSB_EINVAL. */
csb_err ops_proc_stat_parse(const char *stat, long ticks, long page, uint64_t btime,
                            struct ops_proc *out);

/* Reads /proc/self. CSB_OK or CSB_EIO. */
csb_err ops_proc_read(struct ops_proc *out);

#endif
