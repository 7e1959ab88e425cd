/* csb_node: one replication node — a store, its RPC server, the export side (the Sync
 * service), importer objects for a partner's modules and for the CMS replica, and a 1 Hz
 * tick that advances their states. csb-agent runs one as a pool (agent/ adds the Data and
 * Control services and tells the node its partner from the CMS replica); csb-coordinator
 * runs one as the coordinator (exports CentralMgmt.CMSMaster to every agent) and adds its
 * Admin service to the same server. Policy comes in through hooks; the node decides
 * nothing about the topology itself. */
#ifndef CSB_NODE_NODE_H
#define CSB_NODE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/rpc.h"
#include "model/cms.h"
#include "storage/store.h"

#define CSB_NODE_NAME_MAX 256
#define CSB_NODE_URL_MAX 512

typedef struct csb_node csb_node;

typedef enum csb_node_role {
	CSB_NODE_POOL,        /* csb-agent */
	CSB_NODE_COORDINATOR, /* csb-coordinator */
} csb_node_role;

typedef struct csb_node_config {
	uint32_t max_records;     /* per batch */
	uint32_t max_bytes;       /* per batch */
	uint32_t chunk_bytes;     /* values above travel in chunks of this size */
	uint32_t long_poll_ms;    /* how long a Pull waits for new writes */
	uint64_t sync_interval_ms;
} csb_node_config;

/* The defaults: 20,000 records or 4 MiB a batch, 1 MiB chunks, 1 s long poll, 2 min. */
#define CSB_NODE_CONFIG_DEFAULT {20000, 4u << 20, 1u << 20, 1000, 120000}

/* What the node found out about a source it imports from: it came back with a store whose
 * lineage the copy has never seen (DESIGN.md §4a). The copy is kept. */
typedef struct csb_node_lost_source {
	const char *source;     /* the pool FQDN */
	const char *module;
	csb_lineage lineage;    /* the new store's */
	uint64_t records_kept;  /* live records of the copy */
	uint64_t source_records; /* live records the new store holds */
	const char *reason;     /* the LastError line */
} csb_node_lost_source;

/* Policy. Every hook may be NULL; all are called on RPC worker or node threads and must be
 * thread-safe and quick. */
typedef struct csb_node_hooks {
	/* Whether principal may pull module (NULL: any Sync read). NULL hook: only the
	 * partner's agent. */
	bool (*may_pull)(void *ctx, const char *principal, const char *module);
	/* Whether principal is an administrator (may read digests, call Control methods). */
	bool (*is_admin)(void *ctx, const char *principal);
	/* Whether principal's pulls are an importer's acknowledgements. NULL hook: only the
	 * partner's. An administrator's Pull never moves what counts as acknowledged. */
	bool (*is_importer)(void *ctx, const char *principal);
	/* Whether pool serves its own users as this node knows it (its CMS replica, and for the
	 * partner whether this node serves its users), and at which epoch (*epoch). Pools: the
	 * write lease is renewed by the partner only when its view and the pool's agree. */
	bool (*role_view)(void *ctx, const char *pool, uint64_t *epoch);
	/* The CMS replica applied new records (pools). Called on the tick thread. */
	void (*replica_changed)(void *ctx);
	/* A source came back with a lineage never seen; called on the importer's thread until
	 * it returns true (reported), once per (source, module, lineage) after that. */
	bool (*source_lost)(void *ctx, const csb_node_lost_source *ls);
	/* Runs before every authenticated request's method (common/rpc.h's gate): a status
	 * other than CSB_OK refuses it with err. The CMS epoch checks (DESIGN.md §4). */
	csb_err (*gate)(void *ctx, const csb_rpc_request *req, char err[CSB_RPC_ERROR_MAX]);
	void *ctx;
} csb_node_hooks;

typedef struct csb_node_opts {
	csb_node_role role;
	const char *name;            /* the pool FQDN, or CSB_COORDINATOR_NAME */
	const char *state_dir;
	const char *listen_url;
	const char *coordinator_url; /* pools: where the CMS comes from (may be NULL) */
	bool coordinator_moved;      /* pools: the CMS master moved (a CMS failover) and the
	                              * replica has not been re-seeded from it yet: a new
	                              * lineage from it is taken as authoritative */
	uint64_t cms_epoch;          /* the CMS epoch the node starts with */
	const char *coordinator_name; /* the coordinator's principal (its certificate's CN):
	                               * pools dial it and trust it by this name; the
	                               * coordinator listens as it. NULL: CSB_COORDINATOR_NAME */
	csb_tls_files tls;
	uint64_t map_size;
	csb_node_config cfg;
	csb_node_hooks hooks;
	const csb_rpc_method *extra; /* more methods on the same server (Admin, Data, Control) */
	size_t n_extra;
} csb_node_opts;

/* Opens the store, starts the Sync service and the extra methods, the CMS replica's
 * importer (pools with a coordinator), the group-commit writer and the 1 Hz tick. Errors
 * are logged. Returns CSB_OK, or the first failure (CSB_EBUSY: the store or the address is
 * in use; CSB_ETLS; CSB_EIO; CSB_EINVAL for a bad option). */
csb_err csb_node_start(const csb_node_opts *o, csb_node **out);

/* Ends every store write: the importers, the tick (which persists the export totals) and
 * the group-commit writer (pending writes commit; later ones get CSB_ECLOSED). The RPC
 * server still answers reads. Idempotent. */
void csb_node_quiesce(csb_node *n);

/* Quiesces (if not yet), closes the sockets and the store, and frees n. Closing sockets can
 * hang in nng 1.5.2 (common/deadline.h): daemons use csb_node_exit() instead. */
void csb_node_stop(csb_node *n);

/* For a process about to exit: quiesces, stops the RPC workers (no handler runs any more)
 * and closes the store cleanly, but leaves the sockets for the kernel to close at exit,
 * since nng 1.5.2's nng_close() can deadlock when peers are connected. n is not freed and
 * must not be used afterwards; the caller exits. */
void csb_node_exit(csb_node *n);

/* The TCP port the node listens on (useful with port 0). */
int csb_node_port(const csb_node *n);

/* Writes "tls+tcp://127.0.0.1:<port>" and a newline to path atomically (temporary file and
 * rename), for launchers that started the node on port 0. CSB_OK or CSB_EIO. */
csb_err csb_node_url_file(const csb_node *n, const char *path);

/* The node's name (pool FQDN or CSB_COORDINATOR_NAME), valid as long as n. */
const char *csb_node_name(const csb_node *n);

/* The node's store, for reads; valid until csb_node_stop(). */
csb_store *csb_node_store(csb_node *n);

/* The node's configuration as it is now (SyncInterval may change). */
csb_node_config csb_node_cfg(csb_node *n);

/* Sets the SyncInterval (ms) that the export states are judged by. */
void csb_node_set_sync_interval(csb_node *n, uint64_t ms);

/* Whether module is one this node exports (its own data). */
bool csb_node_exports(csb_node *n, const char *module);

/* Turns the backup of module on or off (EnableRgsBackupService for the RGS modules). Off:
 * its export is NotInitialized and refuses pulls, its importer is stopped (the copy kept).
 * The tick acts at once. Every module is on until told otherwise. */
void csb_node_set_module_enabled(csb_node *n, const char *module, bool on);
bool csb_node_module_enabled(csb_node *n, const char *module);

/* Bounds the Sync calls (pulls, digests, splits, range reads) served at once
 * (MaxConcurrentCalls); one more is answered CSB_EBUSY and its caller retries. 0: no bound. */
void csb_node_set_max_calls(csb_node *n, unsigned max);

/* Writes through the node's group commit, so that waiting pulls wake at once.
 * CSB_EREADONLY while the node is read-only (csb_node_set_read_only()); other errors as
 * csb_store_write(); CSB_ECLOSED once quiesced. */
csb_err csb_node_write(csb_node *n, const char *module, const csb_write *w, size_t count,
                       uint64_t *last_seq);

/* Makes the node refuse writes (why: the line writers get, CSB_RPC_ERROR_MAX bytes) or
 * accept them again (why NULL). Logged once per change. */
void csb_node_set_read_only(csb_node *n, const char *why);

/* Whether writes are refused; why (CSB_RPC_ERROR_MAX bytes, may be NULL) gets the line. */
bool csb_node_read_only(csb_node *n, char *why);

/* Makes the CMS replica's importer repair the replica by a differential re-seed on its next
 * round (Invoke-CsManagementStoreReplication found it different). CSB_ENOTFOUND without a
 * coordinator. */
csb_err csb_node_replica_repair(csb_node *n);

/* ---- The CMS master (DESIGN.md §4, notes/failover.md 3.8) --------------------------- */

/* The CMS epoch every request of the node carries (Envelope.cms_epoch), and raising it.
 * Epochs never go down: a lower one is ignored. */
uint64_t csb_node_cms_epoch(csb_node *n);
void csb_node_set_cms_epoch(csb_node *n, uint64_t epoch);
/* Pools: the CMS master moved to url (a CMS failover). The tick moves the replica's
 * importer at once (never blocking on the old one): its cursor stays, and the first new
 * lineage the new master shows is followed by a differential re-seed instead of being taken
 * for a lost store. */
void csb_node_set_coordinator(csb_node *n, const char *url);
/* Whether the replica still waits for that re-seed (false once it came). */
bool csb_node_coordinator_moved(csb_node *n);
/* One call to the coordinator (pools). Errors name it and why. CSB_ENOTFOUND without one. */
csb_err csb_node_coordinator_call(csb_node *n, const char *method, const ProtobufCMessage *req,
                                  const ProtobufCMessageDescriptor *reply_desc,
                                  uint32_t timeout_ms, ProtobufCMessage **reply,
                                  char err[CSB_RPC_ERROR_MAX]);
/* Re-reads module's high seq after the store changed under the export side (a coordinator
 * that adopted a CMS), and wakes the pulls waiting on it. */
void csb_node_export_reload(csb_node *n, const char *module);

/* ---- The partner (pools) ------------------------------------------------------------ */

/* Asks the node to replicate with partner fqdn at url ("" and "": none). The tick moves
 * the importers at once (within a tick, never blocking on the old ones): the old partner's
 * importers are told to stop and reaped once they have, the new partner's start from
 * their cursors (an initial copy when there is none), and the export side forgets the old
 * partner's acknowledgements. The copies held for an old partner stay in the store. */
void csb_node_set_partner(csb_node *n, const char *fqdn, const char *url);

/* Copies the current partner's FQDN into out (CSB_NODE_NAME_MAX bytes); "" when none. */
void csb_node_partner(csb_node *n, char *out);

/* One call to the partner's agent. The error line names it and why:
 * "pool02.csb.test (backup pool of pool01.csb.test) at tls+tcp://…: connection refused".
 * CSB_ENOTFOUND when there is no partner; otherwise as csb_rpc_call_msg(). */
csb_err csb_node_partner_call(csb_node *n, const char *method, const ProtobufCMessage *req,
                              const ProtobufCMessageDescriptor *reply_desc, uint32_t timeout_ms,
                              ProtobufCMessage **reply, char err[CSB_RPC_ERROR_MAX]);

/* ---- The export side ---------------------------------------------------------------- */

/* Waits until the importer of module (the partner; for the coordinator any importer) has
 * acknowledged seq, or the monotonic deadline. While it waits, an importer that has stopped
 * pulling is probed, so that a partner that refuses connections fails the wait within
 * seconds. CSB_OK; CSB_ETIMEDOUT, CSB_EUNREACH (err names the partner and why),
 * CSB_ENOTFOUND (no partner), CSB_ECLOSED (stopping). */
csb_err csb_node_wait_acked(csb_node *n, const char *module, uint64_t seq, uint64_t deadline,
                            char err[CSB_RPC_ERROR_MAX]);

/* Waits until importer principal has acknowledged seq of module, or the deadline.
 * CSB_OK, CSB_ETIMEDOUT, CSB_ECLOSED. */
csb_err csb_node_wait_importer(csb_node *n, const char *module, const char *principal,
                               uint64_t seq, uint64_t deadline);

/* One importer of an exported module, as the exporter knows it from its pulls. */
typedef struct csb_node_importer {
	char principal[256];
	uint64_t acked_seq;       /* applied up to here */
	uint64_t last_ack_ms;     /* wall time of its last pull */
	uint64_t acked_change_ms; /* wall time when acked_seq last moved */
} csb_node_importer;

/* Principal's entry for module. False when it never pulled since start. */
bool csb_node_importer_get(csb_node *n, const char *module, const char *principal,
                           csb_node_importer *out);

/* Totals of module's export: records and wire bytes ever sent, and the acknowledged seq. */
void csb_node_export_totals(csb_node *n, const char *module, uint64_t *records,
                            uint64_t *bytes, uint64_t *acked);

/* ---- Status ------------------------------------------------------------------------- */

struct Csb__ModuleStatus;

/* Fills the export fields of ms for module as exported to principal (NULL: the partner)
 * with the same rule as the node's own status: the coordinator's CMS row uses it.
 * False when principal never pulled (ms then says NotInitialized). */
bool csb_node_export_row(csb_node *n, const char *module, const char *principal,
                         struct Csb__ModuleStatus *ms);

/* The status document (a packed csb.PoolStatus) of the modules in category (NULL or "":
 * all). cms_standby: this pool holds the standby copy of the CMS, shown as its import.
 * CSB_OK, CSB_EINVAL (unknown category), CSB_ENOMEM. */
csb_err csb_node_status_pack(csb_node *n, const char *category, bool cms_standby,
                             uint8_t **buf, size_t *len);

/* ---- Failover (node/serve.c) ------------------------------------------------------- */

typedef struct csb_node_follow_result {
	uint64_t seq;     /* own high seq reached */
	uint64_t count;
	csb_digest digest;
	uint64_t moved;   /* records that came from the serving side */
	uint64_t orphans; /* own writes past the fork, now in the quarantine of epoch */
} csb_node_follow_result;

/* The failed pool catches up with the data its partner serves for it (module): first its
 * own writes past fork_seq go to the quarantine of epoch (and the partner's versions of
 * those keys come back), then it follows until its high seq reaches until_seq (UINT64_MAX:
 * whatever the partner holds now), or the monotonic deadline (CSB_ETIMEDOUT). The module
 * must be fenced. Errors name the node and why. */
csb_err csb_node_follow(csb_node *n, const char *module, uint64_t fork_seq, uint64_t epoch,
                        uint64_t until_seq, uint64_t deadline, csb_node_follow_result *res,
                        char err[CSB_RPC_ERROR_MAX]);

/* A write lease for a pool (DESIGN.md §4): every commit of own data needs a renewal within
 * the last ms (CLOCK_BOOTTIME). The coordinator's CMS feed renews it, and the partner when
 * it agrees the pool is home at the same epoch; a renewal counts only once the tick has
 * applied what the CMS replica says (so a pool fenced by a failover is fenced before it is
 * renewed). A pool paused or cut off past it refuses writes. 0: no lease. Set at start. */
void csb_node_set_lease(csb_node *n, uint64_t ms);

/* Milliseconds since the lease was last renewed (UINT64_MAX: never); 0 without a lease. */
uint64_t csb_node_lease_age(csb_node *n);

/* Whether the CMS replica has caught up with the coordinator since this start (a pool's
 * role is then known, DESIGN.md §4). */
bool csb_node_replica_current(csb_node *n);

/* What the importer of the partner's module last heard: the source's high seq and when
 * (wall ms). False when there is no such importer. */
bool csb_node_import_facts(csb_node *n, const char *module, uint64_t *source_high,
                           uint64_t *last_import_ms);

#endif