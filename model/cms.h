/* The CMS schema: what CentralMgmt.CMSMaster holds (JSON values under fixed keys), the
 * coordinator's principal, and the typed pool state (DESIGN.md §4, SPEC.md Get-CsPoolState).
 * A CMS snapshot is read through a getter, so the coordinator (its own module), an agent
 * (its replica) and the CLI (-LocalStore, through the agent) answer from the same code. */
#ifndef CSB_MODEL_CMS_H
#define CSB_MODEL_CMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/parse.h"
#include "model/topology.h"

/* The coordinator's principal: its certificate CN, the source name of every agent's CMS
 * replica, and the server name agents expect when they dial it. */
#define CSB_COORDINATOR_NAME "csb-coordinator"

/* Keys of the CMS module (CentralMgmt.CMSMaster), JSON values. */
#define CSB_CMS_KEY_TOPOLOGY "topology"
#define CSB_CMS_KEY_CONFIG "config/Global"
#define CSB_CMS_KEY_ADMIN "rbac/builtin-admin" /* the deployment's admin principal */
#define CSB_CMS_KEY_POOLSTATE "poolstate/"    /* + pool FQDN */
#define CSB_CMS_KEY_MASTER "cms/master"       /* the active master: csb_cms_master */

/* A pool's write lease (DESIGN.md §4): an agent that has not heard from the coordinator (or
 * from its partner agreeing it is home) for this long refuses writes, and a -DisasterMode
 * failover waits this long (plus CSB_LEASE_DRIFT_MS) before the backup pool takes over. */
#define CSB_LEASE_MS 4000
#define CSB_LEASE_DRIFT_MS 500

/* Where a pool stands (DESIGN.md §4, §4a). */
typedef enum csb_pool_state {
	CSB_POOL_NORMAL,        /* serves its own users */
	CSB_POOL_FAILING_OVER,  /* read-only, draining to its backup pool */
	CSB_POOL_FAILED_OVER,   /* its users are served by its backup pool */
	CSB_POOL_FAILING_BACK,  /* the backup pool drains back to it */
	CSB_POOL_NEEDS_RESTORE, /* came back with a store nobody has seen; read-only until
	                         * failed over and failed back */
} csb_pool_state;

#define CSB_POOL_STATE_COUNT 5

/* "Normal", "FailingOver", "FailedOver", "FailingBack", "NeedsRestore". */
const char *csb_pool_state_name(csb_pool_state s);

/* Parses a name above (any case). False when it is none of them. */
bool csb_pool_state_parse(const char *name, csb_pool_state *out);

/* What a failover recorded for one module (Get-CsPoolState Modules). */
typedef struct csb_pool_module {
	char identity[64];
	uint64_t fork_seq;      /* the position the serving side continued from */
	uint64_t known_changes; /* -DisasterMode: changes the lost side had logged, not applied */
	uint64_t since_ms;      /* wall time of the last batch received from the lost side */
	uint64_t records_moved; /* by the last failover or failback */
	uint64_t orphans;       /* writes past the fork set aside when the pool came back */
	char lineage[33];       /* hex lineage of the store serving the module */
} csb_pool_module;

#define CSB_POOL_MODULES_MAX 8

/* A pool's entry under poolstate/<fqdn>. A pool without one is Normal, served by itself,
 * epoch 0. */
typedef struct csb_pool_entry {
	csb_pool_state state;
	char served_by[CSB_FQDN_MAX + 1]; /* the pool whose agent serves its users */
	uint64_t epoch;                   /* raised at each transition */
	uint64_t since_ms;                /* wall time of the last transition; 0 unknown */
	char reason[256];                 /* why (NeedsRestore: what the backup pool saw) */
	char reported_by[CSB_FQDN_MAX + 1]; /* who reported it (NeedsRestore: the backup pool) */
	char step[8];                     /* the last step done of a failover ("F1".."F6") or
	                                   * failback ("B1".."B6"): a rerun resumes after it */
	bool disaster;                    /* the last failover or failback was -DisasterMode */
	bool restore;                     /* failing over a NeedsRestore pool: failback re-seeds */
	csb_pool_module modules[CSB_POOL_MODULES_MAX];
	size_t n_modules;
} csb_pool_entry;

/* The entry's module record of identity (added when absent and there is room; NULL else). */
csb_pool_module *csb_pool_entry_module(csb_pool_entry *e, const char *identity);

/* The entry of a pool that never changed state. */
void csb_pool_entry_default(const char *pool, csb_pool_entry *out);

/* Parses the JSON value {"state","servedBy","epoch","since","reason","reportedBy",
 * "disaster","restore","modules":[{"identity","forkSeq","knownChanges","since",
 * "recordsMoved","orphans","lineage"}]} (all but "state" and "servedBy" optional). CSB_OK, or CSB_EINVAL with the
 * reason in err (errlen bytes). */
csb_err csb_pool_entry_parse(const char *json, size_t len, csb_pool_entry *out, char *err,
                             size_t errlen);

/* The JSON value of e (malloc'ed; NULL when out of memory). */
char *csb_pool_entry_to_json(const csb_pool_entry *e);

/* ---- The active master (Invoke-CsManagementServerFailover) --------------------------- */

/* Which coordinator is the CMS's active master, at which CMS epoch. The CMS holds it under
 * cms/master, written by the master itself: at its first start (epoch 1), by an old master
 * handing over (its last record names the new one, epoch + 1), by a standby taking over. */
typedef struct csb_cms_master {
	char fqdn[CSB_FQDN_MAX + 1];     /* the pool whose host runs it; "" before it is known */
	char url[512];                   /* where agents and csb reach it */
	uint64_t epoch;                  /* raised at every move; never goes down */
	uint64_t since_ms;               /* wall time of the move */
	char previous[CSB_FQDN_MAX + 1]; /* the master before it ("" at the first) */
} csb_cms_master;

/* Parses {"fqdn","url","epoch","since","previous"} ("previous", "since" optional). CSB_OK or
 * CSB_EINVAL with the reason in err. */
csb_err csb_cms_master_parse(const char *json, size_t len, csb_cms_master *out, char *err,
                             size_t errlen);
char *csb_cms_master_to_json(const csb_cms_master *m); /* malloc'ed; NULL: no memory */

/* The line a coordinator that is not the active master (or one calling at an older epoch)
 * is answered with: "not active master: <fqdn> (epoch <n>) at <url>" naming the active one
 * as the answerer knows it. */
void csb_cms_master_refusal(const csb_cms_master *m, char *out, size_t len);

/* ---- Reading a CMS snapshot ---------------------------------------------------------- */

/* Reads key from a CMS snapshot: *out a malloc'ed NUL-terminated value (caller frees).
 * CSB_ENOTFOUND when absent; other failures with one line in err (CSB_RPC_ERROR_MAX). */
typedef csb_err (*csb_cms_get_fn)(void *ctx, const char *key, char **out, char *err);

typedef struct csb_cms_view {
	csb_cms_get_fn get;
	void *ctx;
	const char *what; /* how errors name the snapshot: "published", "local store's" */
} csb_cms_view;

/* The topology of the snapshot (csb_topology_free()). CSB_ENOTFOUND when none was ever
 * published; CSB_ECORRUPT when the stored value is refused. err as above. */
csb_err csb_cms_topology(const csb_cms_view *v, csb_topology **out, char *err);

/* The pool's backup pool ("" when none; CSB_FQDN_MAX + 1 bytes) and whether it hosts the
 * CMS. CSB_ENOTFOUND "<pool> is not a pool of the <what> topology". */
csb_err csb_cms_relationship(const csb_cms_view *v, const char *pool, char *backup,
                             bool *hosts_cms, char *err);

struct csb_backup_config;

/* The backup configuration of the snapshot (the defaults when none was stored). CSB_ECORRUPT
 * when the stored value is refused. */
csb_err csb_cms_config(const csb_cms_view *v, struct csb_backup_config *out, char *err);

/* The pool's state entry (the default when it has none). CSB_ECORRUPT when unreadable. */
csb_err csb_cms_pool_entry(const csb_cms_view *v, const char *pool, csb_pool_entry *out,
                           char *err);

#endif
