/* The coordinator's state: one replication node that exports CentralMgmt.CMSMaster (the
 * topology, the backup configuration, the pool states and the admin principal live there as
 * JSON values), parsed copies of the topology and configuration for quick answers, and
 * clients to the pools' agents for the admin methods that act on a pool. coord.c owns the
 * lifetime; admin.c and forward.c hold the Admin service's handlers. */
#ifndef CSB_COORDINATOR_INTERNAL_COORD_H
#define CSB_COORDINATOR_INTERNAL_COORD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "common/rpc.h"
#include "model/cms.h"
#include "model/config.h"
#include "model/topology.h"
#include "node/node.h"

#define COORD_CLIENTS_MAX 1000
#define COORD_PENDING_MAX 256 /* agents not yet told of a new CMS master */

struct Csb__PoolStatus;
struct ops_state;

/* A client to one pool's agent. Reference counted: the table holds one reference, every
 * caller one while it calls; a topology change drops the table's, and the last release
 * closes the client (nng's nni_pipe_find()/nni_pipe_rele() are the model). */
struct agent_client {
	atomic_uint refs;
	char fqdn[254];
	char url[256];
	csb_rpc_client *cli;
};

struct coord {
	csb_node *_Atomic node; /* NULL until started: handlers answer CSB_EBUSY meanwhile */
	char admin[65];         /* the deployment's admin principal: always an administrator */
	const char *name;       /* this coordinator's principal (--name); NULL: the default */
	csb_tls_files tls;

	pthread_mutex_t mu;     /* guards the parsed copies and the client table */
	csb_topology *topo;     /* NULL until a topology is published */
	csb_backup_config cfg;
	struct agent_client *clients[COORD_CLIENTS_MAX];
	size_t n_clients;

	csb_rpc_method methods[32]; /* the Admin service, registered on the node's server */
	size_t n_methods;

	/* The status page: a poller refreshes every pool's status; pages render the cache. */
	struct csb_http_server *http;
	pthread_t poller;
	bool polling;
	pthread_cond_t poll_cond;   /* stopping */
	bool stopping;
	struct ops_state *ops;      /* web.c's: the pools as polled, health, history */

	/* master.c: the CMS master role (Invoke-CsManagementServerFailover). */
	const char *pool_fqdn;      /* --pool-fqdn: the pool whose host runs this coordinator */
	const char *agent_url;      /* --agent: that pool's agent, whose replica a standby takes */
	char advertise[512];        /* --advertise-url, or the listening URL */
	bool standby;               /* --standby: start as the standby unless the CMS says master */
	atomic_bool deciding;       /* listening, the role not yet read at start */
	atomic_bool active;         /* the active master: accepts changes, serves the CMS */
	atomic_bool confirmed;      /* checked since start that no agent knows a later master */
	atomic_bool depose_check;   /* a caller sent a later CMS epoch */
	atomic_bool failing_over;   /* a CmsFailover runs */
	atomic_bool draining;       /* handed over: still serves its CMS (read-only) to replicas */
	_Atomic uint64_t cms_epoch; /* sent with every call to an agent */
	char master_pool[254];      /* the active master's pool (guarded by mu, for the CMS row) */
	pthread_mutex_t put_mu;     /* a change and a handover never overlap */
	pthread_mutex_t mmu;        /* the fields below */
	csb_cms_master master;      /* the active master as known (itself when active) */
	char standby_fqdn[254], standby_url[512];
	uint64_t standby_beat_ms;   /* the standby's last heartbeat (wall ms) */
	char pending[COORD_PENDING_MAX][254]; /* agents to tell that this is the master */
	size_t n_pending;
	pthread_cond_t master_cv;
	bool master_stopping;
	pthread_t master_thread;
	bool master_started;
};

/* coord.c */
/* The node, or NULL while starting (then rep gets "starting"). */
csb_node *coord__node(struct coord *c, csb_rpc_reply *rep);
csb_err coord__start(struct coord *c, const char *state_dir, const char *listen_url,
                     uint64_t map_size);
void coord__stop(struct coord *c);
/* For the process's exit: stops the web part and the node's workers and closes the store,
 * leaving sockets to the kernel (node/node.h csb_node_exit()). */
void coord__exit(struct coord *c);
bool coord__is_admin(struct coord *c, const char *principal);
bool coord__may_read_status(struct coord *c, const char *principal);

/* Writes CMS keys (JSON values) in one transaction through the node, then refreshes the
 * parsed copies. */
csb_err coord__put(struct coord *c, const char *const *keys, const char *const *values, size_t n);

/* The agent client of pool fqdn (opened on first use, kept), with a reference the caller
 * releases with coord__agent_rele(); *backup (254 bytes, may be NULL) gets its backup pool.
 * CSB_ENOTFOUND when the pool is not in the topology. */
csb_err coord__agent(struct coord *c, const char *fqdn, struct agent_client **out,
                     char *backup, char *err);
void coord__agent_rele(struct agent_client *ac);

/* forward.c: one call to pool's agent. A timeout or no connection is CSB_EUNREACH with err
 * naming the agent; otherwise the agent's own words. backup (254 bytes, may be NULL) gets
 * the pool's backup pool. */
csb_err coord__call_agent(struct coord *c, const char *pool, const char *method,
                          const ProtobufCMessage *msg, const ProtobufCMessageDescriptor *desc,
                          uint32_t timeout_ms, ProtobufCMessage **out, char *backup, char *err);

/* admin.c: the CMS as a snapshot (ctx = c), and a pool as the topology spells it with its
 * backup pool (254 bytes each); CSB_ENOTFOUND with the reason when it is none. */
csb_err coord__cms_get(void *ctx, const char *key, char **out, char *err);
csb_err coord__topology_pool(struct coord *c, const char *fqdn, char *pool, char *backup,
                             char *err);

/* master.c: the CMS master role. */
/* Reads the CMS's master record at start: the deployment's first master records itself
 * (epoch 1); a master restarting checks the agents first; any other stands by. */
csb_err coord__master_start(struct coord *c);
csb_err coord__master_loop_start(struct coord *c);
void coord__master_loop_stop(struct coord *c);
/* The node's gate: while not the active master every call but CmsFailover is refused with
 * "not active master: <fqdn> (epoch n) at <url>" (CSB_ENOTMASTER). */
csb_err coord__gate(void *ctx, const csb_rpc_request *req, char err[CSB_RPC_ERROR_MAX]);
/* Whether changes are accepted now (else err gets the refusal). */
bool coord__may_change(struct coord *c, char err[CSB_RPC_ERROR_MAX]);
/* An agent refused a call at this coordinator's epoch (err: its refusal line, naming a later
 * master): this one steps down. */
void coord__refused(struct coord *c, const char *pool, const char *err);
void coord__master_get(struct coord *c, csb_cms_master *out);
void coord__standby_get(struct coord *c, char fqdn[254], char url[512], uint64_t *beat_ms);
/* CmsFailover, CmsHandover, CmsStandby; out has room for 3 methods. */
size_t coord__master_methods(struct coord *c, csb_rpc_method *out);
/* The pool whose coordinator is the active master (c->mu held): the master record's, else
 * the topology's hostsCms pool. NULL when neither is known. */
const csb_topo_pool *coord__master_host(struct coord *c);
/* Re-reads the topology and configuration from the CMS into the parsed copies. */
void coord__refresh(struct coord *c);

/* failover.c: CSB_CRASH_AT=<op>:<step> makes the coordinator exit there (kill-point tests):
 * failover:F1..F6, failback:B1..B6, cms:master-handed (the master, once its last record
 * names the standby), cms:handed (the standby, after the master handed over), cms:adopted
 * (after it adopted the replica, before it recorded itself). */
void coord__crash_point(const char *op, const char *step);

/* failover.c: Invoke-CsPoolFailover and Invoke-CsPoolFailback; out has room for 2 methods. */
size_t coord__failover_methods(struct coord *c, csb_rpc_method *out);

/* admin.c and forward.c: the Admin service; out has room for 16 methods. */
size_t coord__admin_methods(struct coord *c, csb_rpc_method *out);
size_t coord__forward_methods(struct coord *c, csb_rpc_method *out);

/* One pool's status from its agent, with the CMS row of the pool hosting the CMS; on
 * failure err (CSB_RPC_ERROR_MAX) says why, naming the agent (CSB_EUNREACH: no answer). */
csb_err coord__pool_status(struct coord *c, const char *pool, uint32_t timeout_ms,
                           struct Csb__PoolStatus **out, char *err);

/* Every pool's status as a packed AllStatusReply (malloc'ed); pools whose agent does not
 * answer come without modules. Blocks up to a few seconds per unreachable agent. */
csb_err coord__all_status_pack(struct coord *c, uint8_t **buf, size_t *len);

/* cms.c: CentralMgmt.CMSMaster, exported by the coordinator, in sync and verify. */
#include "proto/status.pb-c.h"

struct cms_diff {
	Csb__RangeDiff d;
	Csb__KeyRangeText range;
	Csb__RangeDiff *p;
};

/* Whether pool hosts the CMS (and has a backup pool, copied into backup: 254 bytes). */
bool coord__cms_host(struct coord *c, const char *pool, char *backup);

/* Waits until the standby replica has imported the CMS's high seq. CSB_ENOTFOUND when pool
 * does not host the CMS; CSB_EUNREACH when the replica does not catch up in time. */
csb_err coord__cms_sync(struct coord *c, const char *pool, uint32_t timeout_ms,
                        Csb__ModuleSync *out, char *err);

/* Compares the CMS with the standby replica at one seq; a difference is reported as one
 * whole-range diff held in *diff (valid as long as diff). Errors as coord__cms_sync(). */
csb_err coord__cms_verify(struct coord *c, const char *pool, uint64_t deadline,
                          Csb__ModuleVerify *out, struct cms_diff *diff, char *err);

/* web.c: the poller and the HTTP pages ("/", "/api/v1/status", "/healthz", "/metrics"). */
csb_err coord__web_start(struct coord *c, const char *hostport);
void coord__web_stop(struct coord *c);

/* Authorization rules of the Admin service (common/rpc.h csb_rpc_authorize_fn): members of
 * RTCUniversalServerAdmins; for status, also the AuthorizedUniversalGroups. */
bool coord__admin_rule(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                       char err[CSB_RPC_ERROR_MAX]);
bool coord__status_rule(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                        char err[CSB_RPC_ERROR_MAX]);

#endif
