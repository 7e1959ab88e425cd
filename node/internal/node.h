/* The node's internals: one struct csb_node per process. node.c owns its lifetime and the
 * tick; writer.c (group commit), export.c (the Sync service: Pull with long poll, digests),
 * peer.c (a reference-counted client to the partner), import.c (importer objects: one
 * thread each, pulling and applying), reseed.c (differential re-seed) and
 * state.c (the advance functions and the status document) work on it. */
#ifndef CSB_NODE_INTERNAL_NODE_H
#define CSB_NODE_INTERNAL_NODE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/modules.h"
#include "common/rpc.h"
#include "node/node.h"
#include "storage/store.h"

#define NODE_LAG_RING 1024
#define NODE_IMPORTERS_MAX 64
#define NODE_RETIRING_MAX 64
/* An importer that has not pulled for this long (beyond its long poll) is gone. */
#define NODE_STALE_EXTRA_MS 4000

/* Export state of one module of this node towards its importer (DESIGN.md §3). */
enum export_state {
	EXPORT_NOT_INITIALIZED, /* the importer never pulled this module */
	EXPORT_NON_STEADY,      /* backlog larger than one batch or older than SyncInterval */
	EXPORT_STEADY,          /* everything produced is imported within the interval */
	EXPORT_FINAL,           /* the node is read-only and the importer has the last seq */
	EXPORT_ERROR,           /* serving failed, or the importer stopped pulling */
};

/* Import state of one module of a source into this node's copy. */
enum import_state {
	IMPORT_NOT_INITIALIZED, /* nothing imported yet */
	IMPORT_NORMAL,          /* the last pull was applied */
	IMPORT_ERROR,           /* the last attempt failed, or the source is not trusted */
};

/* Commit times of recent writes, for the export lag in seconds. */
struct lag_mark {
	uint64_t seq;
	uint64_t wall_ms;
};

/* One exported module. Its own lock and condition: the long poll waits on the committed
 * seq (the watermark), sync waits on the acknowledged seq; a commit or an acknowledgement
 * of another module wakes nobody here. */
struct export_mod {
	const char *module;
	pthread_mutex_t mu;
	pthread_cond_t cv;        /* committed or acked moved, or stopping */
	uint64_t committed;       /* the module's high seq: the watermark */
	enum export_state state;
	char last_error[CSB_RPC_ERROR_MAX]; /* serving failed (cleared by the next served pull) */
	char stale_error[CSB_RPC_ERROR_MAX]; /* the importer is gone (from the advance) */
	bool pulled;              /* the importer pulled since start or since the partner moved */
	uint64_t acked_seq;       /* the lowest cursor among the importers */
	char acked_by[CSB_NODE_NAME_MAX]; /* whose acknowledgement acked_seq is (persisted) */
	csb_node_importer acks[NODE_IMPORTERS_MAX];
	unsigned n_acks;
	uint64_t contact_ms;      /* wall time of the partner's last Sync call (or its set-up) */
	uint64_t last_export_ms;  /* wall time of the last batch served */
	uint64_t records_total;   /* ever sent (persisted as counters by the tick) */
	uint64_t bytes_total;
	uint64_t batches_total;   /* since start */
	uint64_t records_saved;   /* the totals and ack as last persisted */
	uint64_t bytes_saved;
	uint64_t acked_saved;
	struct lag_mark ring[NODE_LAG_RING];
	unsigned ring_head, ring_len;
};

/* A reference-counted client to a peer (the partner's agent or the coordinator): whoever
 * holds a reference may call through it; the last release closes the client. */
/* The replica's pulls fail to reach the coordinator this long: a fresh client (node.c). */
#define NODE_COORD_REDIAL_MS 5000

struct peer {
	atomic_uint refs;
	char name[CSB_NODE_NAME_MAX];
	char url[CSB_NODE_URL_MAX];
	char role[CSB_NODE_NAME_MAX + 32]; /* how errors name it: "(backup pool of …)" */
	csb_rpc_client *cli;
};

/* An importer object: one thread pulling one module of one source into the copy, with its
 * own stop flag. Reference counted: the node's table holds one reference, the thread one,
 * status readers take one while they look. */
struct importer {
	atomic_uint refs;
	struct csb_node *n;
	struct peer *peer;          /* a reference */
	const char *module;
	char source[CSB_NODE_NAME_MAX];
	pthread_t thread;
	bool started;
	atomic_bool stop;           /* told to stop: its pulls end at once */
	atomic_bool exited;         /* its thread has returned: joinable without waiting */
	atomic_bool repair;         /* re-seed on the next round (the copy is known to differ) */
	struct prefetch *pf;        /* import.c: the pull sent ahead */

	pthread_mutex_t mu;         /* the facts and the state below */
	enum import_state state;    /* assigned by import_advance() only */
	csb_err last_rv;            /* the last step's result (a fact) */
	char last_error[CSB_RPC_ERROR_MAX];
	bool lost_source;           /* the source's lineage was never seen: keep the copy */
	csb_lineage lost_lineage;   /* reported once per lineage */
	bool lost_reported;
	uint64_t last_import_ms;    /* wall time of the last applied batch */
	uint64_t source_high_seq;   /* the source's high seq at the last batch */
	uint64_t records_applied;   /* since start, for the sync report */
	uint64_t bytes_applied;
	uint64_t reseeds;
	uint64_t reseed_records;    /* fetched + deleted by re-seeds */
};

/* Pending data writes, committed together (group commit). */
struct write_req {
	const char *module;
	const csb_write *items;
	size_t n;
	csb_err rv;
	uint64_t last_seq;
	bool handled;             /* committed (or failed) by the writer thread */
	bool done;                /* handed back: set under wmu once the writer is done with
	                           * the whole list */
	struct write_req *next;
};

struct csb_node {
	csb_node_role role;
	char name[CSB_NODE_NAME_MAX];     /* the pool FQDN, or CSB_COORDINATOR_NAME */
	char listen_url[CSB_NODE_URL_MAX];
	char coord_url[CSB_NODE_URL_MAX];
	char coord_name[CSB_NODE_NAME_MAX]; /* the coordinator's principal */
	csb_tls_files tls;
	csb_node_hooks hooks;
	const csb_rpc_method *extra;
	size_t n_extra;

	pthread_mutex_t cfg_mu;           /* cfg.sync_interval_ms, read_only, disabled, max_calls */
	bool disabled[CSB_MODULE_COUNT];  /* csb_node_set_module_enabled() */
	bool modules_changed;             /* the tick reconciles the importers */
	unsigned max_calls;               /* MaxConcurrentCalls; 0: none */
	unsigned calls;                   /* Sync calls being served */
	csb_node_config cfg;
	bool read_only;
	char read_only_why[CSB_RPC_ERROR_MAX];

	csb_store *store;
	csb_rpc_server *srv;
	struct export_mod exp[CSB_MODULE_COUNT];

	/* Importers. imu guards the tables and the partner; the tick alone changes them. */
	pthread_mutex_t imu;
	struct peer *partner;             /* a reference, or NULL */
	struct peer *coord;               /* the CMS replica's source, or NULL */
	char want_coord[CSB_NODE_URL_MAX]; /* csb_node_set_coordinator(): the tick moves to it */
	bool want_coord_set;
	uint64_t coord_bad_since;         /* mono ms the replica's pulls began to fail to connect */
	atomic_bool coord_moved;          /* a new lineage from the coordinator is authoritative */
	_Atomic uint64_t cms_epoch;       /* sent with every request */
	char want_partner[CSB_NODE_NAME_MAX];
	char want_url[CSB_NODE_URL_MAX];
	bool want_set;                    /* csb_node_set_partner() since the last tick */
	struct importer *imp[CSB_MODULE_COUNT]; /* the partner's modules */
	struct importer *cms_imp;         /* the CMS replica */
	struct importer *retiring[NODE_RETIRING_MAX]; /* told to stop, not yet reaped */
	unsigned n_retiring;
	bool replica_dirty;               /* the CMS replica applied records */
	atomic_bool cms_current;          /* the CMS replica caught up since start */
	uint64_t lease_ms;                /* csb_node_set_lease(); 0: none */
	_Atomic uint64_t cms_contact_ms;  /* boot ms of the last CMS batch applied */
	_Atomic uint64_t partner_contact_ms; /* boot ms of the last partner batch agreeing */
	_Atomic uint64_t lease_from_ms;   /* renewed by the tick after the replica is applied */

	/* group commit */
	pthread_mutex_t wmu;
	pthread_cond_t wcond;     /* work queued, or stopping */
	pthread_cond_t wdone;     /* a group committed */
	struct write_req *wqueue;
	pthread_t writer;

	pthread_mutex_t tmu;      /* the tick's wake-up */
	pthread_cond_t tcond;
	bool tick_now;
	pthread_t ticker;
	bool quiesced;            /* csb_node_quiesce() ran: no store write any more */
	atomic_bool stopping;
};

/* node.c */
struct export_mod *node__export(struct csb_node *n, const char *module);
/* Takes one of the MaxConcurrentCalls slots (false: none free; rep says so). */
bool node__call_enter(struct csb_node *n, csb_rpc_reply *rep);
void node__call_leave(struct csb_node *n);
/* Gives the slot up while a call only waits, and takes it back (even past the bound, for
 * the one batch it then serves). */
void node__call_pause(struct csb_node *n);
void node__call_resume(struct csb_node *n);
bool node__is_admin(struct csb_node *n, const char *principal);
/* Whether principal's pulls count as acknowledgements (the partner, or the hook's). */
bool node__is_importer(struct csb_node *n, const char *principal);
/* Whether principal is the partner's agent. */
bool node__is_partner(struct csb_node *n, const char *principal);
/* Formats a one-line error into dst (CSB_RPC_ERROR_MAX bytes). */
void node__set_error(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* pthread_cond_timedwait until the monotonic deadline (ms); the condition must use
 * CLOCK_MONOTONIC (node__cond_init()). */
void node__cond_wait_until(pthread_cond_t *c, pthread_mutex_t *mu, uint64_t deadline_mono_ms);
void node__cond_init(pthread_cond_t *c);
/* Wakes the tick at once (a partner to move, a replica to reload). */
void node__kick(struct csb_node *n);

/* peer.c */
csb_err node__peer_open(struct csb_node *n, const char *name, const char *url,
                        const char *role, struct peer **out);
struct peer *node__peer_ref(struct peer *p);
void node__peer_rele(struct peer *p);
/* The partner with a reference (release with node__peer_rele()), or NULL. */
struct peer *node__partner_ref(struct csb_node *n);

/* writer.c: group commit of data writes */
csb_err node__writer_start(struct csb_node *n);
void node__writer_stop(struct csb_node *n);
csb_err node__write(struct csb_node *n, const char *module, const csb_write *items, size_t cnt,
                    uint64_t *last_seq);

/* export.c */
size_t node__sync_methods(struct csb_node *n, csb_rpc_method *out);
/* A commit of module landed at seq: moves the watermark and wakes its long polls. */
void node__export_note_commit(struct csb_node *n, const char *module, uint64_t seq);
/* The partner moved: its acknowledgements are the new partner's to give. */
void node__export_reset(struct csb_node *n, const char *partner);

/* serve.c: PullServed and ServedKeys, for the pool whose data this node serves */
size_t node__serve_methods(struct csb_node *n, csb_rpc_method *out);

/* import.c: the importer objects and what their thread does */
csb_err node__importer_start(struct csb_node *n, struct peer *peer, const char *source,
                             const char *module, struct importer **out);
struct importer *node__importer_ref(struct importer *im);
void node__importer_rele(struct importer *im);
/* Tells im to stop (its pulls end at once); never waits. */
void node__importer_close(struct importer *im);
/* Joins im's thread if it has exited (true), else returns false at once. */
bool node__importer_reap(struct importer *im);
/* Joins im's thread, however long it takes (stopping the node). */
void node__importer_join(struct importer *im);
void *node__import_main(void *arg);
/* The importer's current partner-module slot, referenced (NULL when none). */
struct importer *node__import_ref(struct csb_node *n, const char *module);

/* compress.c: zstd batches. deflate replaces b's records by their compressed form when it
 * pays (*zbuf then holds it: free after packing; NULL otherwise); inflate undoes it on the
 * importer's side, refusing more than max bytes. CSB_OK, CSB_ENOMEM, CSB_EPROTO. */
struct Csb__Batch;
/* chunks: the importer reads a compressed chunk too (PullRequest.accept & 2). */
csb_err node__batch_deflate(struct Csb__Batch *b, bool chunks, uint8_t **zbuf);
csb_err node__batch_inflate(struct Csb__Batch *b, size_t max, char *err);

/* reseed.c: bring the copy of im's module equal to the source's data by range digests */
csb_err node__reseed(struct importer *im, char *err);

/* state.c: the advance functions (only they assign states) and the status document */
void node__export_advance(struct csb_node *n, struct export_mod *em, uint64_t now_ms);
void node__import_advance(struct importer *im, csb_err step_rv, const char *err);
const char *node__export_state_name(enum export_state s);
const char *node__import_state_name(enum import_state s);
void node__tick(struct csb_node *n);

#endif
