/* The agent's shared state: one per pool. agent.c owns its lifetime; writer.c (group commit
 * of data writes), export.c (Sync service: Pull with long poll, digests), import.c (one
 * loop per partner module), reseed.c (differential re-seed), state.c (export/import states
 * and the status document), data.c and control.c (RPC handlers) work on it. */
#ifndef CSB_AGENT_INTERNAL_AGENT_H
#define CSB_AGENT_INTERNAL_AGENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/node.h"
#include "common/err.h"
#include "common/modules.h"
#include "common/rpc.h"
#include "storage/store.h"

struct csb_topology;

#define AGENT_NAME_MAX 256
#define AGENT_URL_MAX 512
#define AGENT_LAG_RING 1024
#define AGENT_IMPORTERS_MAX 64

/* Export state of one module of this pool towards the backup pool (DESIGN.md §3). */
enum export_state {
	EXPORT_NOT_INITIALIZED, /* the backup pool never pulled this module */
	EXPORT_NON_STEADY,      /* backlog larger than one batch or older than SyncInterval */
	EXPORT_STEADY,          /* everything produced is imported within the interval */
	EXPORT_FINAL,           /* the pool is read-only and the importer has the last seq */
	EXPORT_ERROR,           /* the last export attempt failed; detail in last_error */
};

/* Import state of one module of the partner into this pool's backup copy. */
enum import_state {
	IMPORT_NOT_INITIALIZED, /* nothing imported yet */
	IMPORT_NORMAL,          /* the last pull was applied */
	IMPORT_ERROR,           /* the last import attempt failed; detail in last_error */
};

/* Commit times of recent writes, for the export lag in seconds. */
struct lag_mark {
	uint64_t seq;
	uint64_t wall_ms;
};

struct export_mod {
	const char *module;
	enum export_state state;
	char last_error[CSB_RPC_ERROR_MAX];
	bool pulled;             /* an importer has pulled since start (acked_seq valid) */
	uint64_t acked_seq;      /* the lowest cursor among the importers (a pool has one:
	                          * its backup pool), from their last Pulls */
	csb_node_importer acks[AGENT_IMPORTERS_MAX];
	unsigned n_acks;
	uint64_t last_export_ms; /* wall time of the last batch served */
	uint64_t served_at_ack;  /* high seq when the importer last acknowledged */
	uint64_t records_total;  /* ever sent (persisted as counters by the tick) */
	uint64_t bytes_total;
	uint64_t batches_total;  /* since start */
	uint64_t records_saved;  /* the totals and ack as last persisted */
	uint64_t bytes_saved;
	uint64_t acked_saved;
	struct lag_mark ring[AGENT_LAG_RING];
	unsigned ring_head, ring_len;
};

struct import_mod {
	const char *module;
	char source[AGENT_NAME_MAX]; /* whose module: the partner pool or the coordinator */
	csb_rpc_client *cli;         /* borrowed: a->partner_cli or a->coord_cli */
	struct prefetch *pf;         /* import.c: the pull sent ahead */
	struct agent *agent;
	pthread_t thread;
	bool started;
	enum import_state state;
	char last_error[CSB_RPC_ERROR_MAX];
	uint64_t last_import_ms; /* wall time of the last applied batch */
	uint64_t source_high_seq; /* the partner's high seq at the last batch */
	uint64_t records_applied; /* since start, for the sync report */
	uint64_t bytes_applied;
	uint64_t reseeds;
};

/* Pending data writes, committed together (group commit). */
struct write_req {
	const char *module;
	const csb_write *items;
	size_t n;
	csb_err rv;
	uint64_t last_seq;
	bool done;
	struct write_req *next;
};

struct agent {
	csb_node_role role;
	char pool[AGENT_NAME_MAX];        /* the pool FQDN, or CSB_COORDINATOR_NAME */
	char listen_url[AGENT_URL_MAX];
	char coord_url[AGENT_URL_MAX];
	char admins[8][AGENT_NAME_MAX];   /* administrators named on the command line */
	unsigned n_admins;
	csb_tls_files tls;
	bool insecure;
	csb_node_config cfg;
	csb_node_hooks hooks;
	const csb_rpc_method *extra;
	size_t n_extra;

	csb_store *store;
	csb_rpc_server *srv;
	csb_rpc_client *coord_cli;        /* pools with a coordinator: the CMS replica */
	struct import_mod cms_imp;

	/* The partner: read under plock shared (handlers calling through partner_cli hold it
	 * for the call); the ticker moves it with plock exclusive, after shutting the old
	 * client down and joining the imports. */
	pthread_rwlock_t plock;
	char partner[AGENT_NAME_MAX];     /* the backup pool; "" while unknown */
	char partner_url[AGENT_URL_MAX];
	bool partner_fixed;               /* from --partner: the topology does not move it */
	csb_rpc_client *partner_cli;

	pthread_mutex_t mu;       /* guards everything below and the per-module state */
	pthread_cond_t changed;   /* a write committed, an import applied, or stopping */
	struct csb_topology *topo;        /* the replica's topology (pools), or NULL */
	char builtin_admin[AGENT_NAME_MAX]; /* from the replica */
	bool settings_dirty;              /* the replica changed: the ticker reloads */
	struct export_mod exp[CSB_MODULE_COUNT];
	struct import_mod imp[CSB_MODULE_COUNT];
	bool read_only;

	/* group commit */
	pthread_mutex_t wmu;
	pthread_cond_t wcond;     /* work queued, or stopping */
	pthread_cond_t wdone;     /* a group committed */
	struct write_req *wqueue;
	pthread_t writer;

	pthread_t ticker;
	bool running;             /* started: the ticker owns partner moves from now on */
	bool quiesced;            /* csb_node_quiesce() ran: no store write any more */
	atomic_bool stopping;
};

/* agent.c */
struct export_mod *agent__export(struct agent *a, const char *module);
struct import_mod *agent__import(struct agent *a, const char *module);
bool agent__is_admin(struct agent *a, const char *principal);
/* Handler preamble: CSB_OK for an administrator (or, with or_self, the pool's own services,
 * whose certificate names the pool); else CSB_EDENIED with the reason in rep. */
csb_err agent__check_admin(struct agent *a, const csb_rpc_request *req, csb_rpc_reply *rep,
                           bool or_self);
/* Whether principal is this pool's backup pool (its agent). */
bool agent__is_partner(struct agent *a, const char *principal);
/* Copies the partner's FQDN into out (AGENT_NAME_MAX bytes); "" when none. */
void agent__partner(struct agent *a, char *out);
/* Moves the partner (ticker only): stops the imports, swaps the client, starts them. */
void agent__partner_move(struct agent *a, const char *fqdn, const char *url);
/* Formats a one-line error into dst (CSB_RPC_ERROR_MAX bytes). */
void agent__set_error(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* pthread_cond_timedwait until the monotonic deadline (ms); mu must be held. */
void agent__cond_wait_until(pthread_cond_t *c, pthread_mutex_t *mu, uint64_t deadline_mono_ms);
/* Sleeps ms, returning early when the agent stops. */
void agent__sleep(struct agent *a, uint64_t ms);

/* writer.c: group commit of data writes */
csb_err agent__writer_start(struct agent *a);
void agent__writer_stop(struct agent *a);
csb_err agent__write(struct agent *a, const char *module, const csb_write *items, size_t n,
                     uint64_t *last_seq);

/* The services: each fills out[] (room for 8) with its methods, ctx = a; returns count. */
size_t agent__sync_methods(struct agent *a, csb_rpc_method *out);   /* export.c */
size_t agent__data_methods(struct agent *a, csb_rpc_method *out);   /* data.c */
size_t agent__control_methods(struct agent *a, csb_rpc_method *out); /* control.c */
size_t agent__replica_methods(struct agent *a, csb_rpc_method *out); /* replica.c */

/* export.c */
void agent__export_note_commit(struct agent *a, const char *module, uint64_t seq);

/* import.c: the partner's modules (stopped and started again when the partner moves) and
 * the CMS replica */
csb_err agent__import_start(struct agent *a);
void agent__import_stop(struct agent *a);
csb_err agent__cms_import_start(struct agent *a);
void agent__cms_import_stop(struct agent *a);

/* settings.c: what a pool learns from its CMS replica */
void agent__settings_load(struct agent *a);
void agent__settings_free(struct agent *a);

/* reseed.c: bring the copy of module equal to the partner's data by range digests */
csb_err agent__reseed(struct agent *a, struct import_mod *im, char *err, size_t errlen);

/* state.c */
void agent__export_advance(struct agent *a, struct export_mod *em, uint64_t high_seq,
                           uint64_t now_ms);
const char *agent__export_state_name(enum export_state s);
const char *agent__import_state_name(enum import_state s);
csb_err agent__status_pack(struct agent *a, const char *category, uint8_t **buf, size_t *len);
void agent__tick(struct agent *a);

#endif
