/* The pool role of csb-agent: a replication node (node/) plus what only a pool has — the
 * Data service its own services write through, the Control service (status, sync, verify),
 * the -LocalStore methods on its CMS replica, and what it learns from that replica (its
 * partner, the SyncInterval, the administrators, its own pool state). pool.c owns the
 * lifetime; data.c, control.c and replica.c hold the handlers. */
#ifndef CSB_AGENT_INTERNAL_POOL_H
#define CSB_AGENT_INTERNAL_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "common/rpc.h"
#include "model/cms.h"
#include "model/topology.h"
#include "node/node.h"

#define POOL_ADMINS_MAX 8

typedef struct csb_pool_opts {
	csb_node_opts node;          /* role, name, dirs, URLs, TLS, cfg (hooks and extra: ours) */
	const char *partner;         /* "FQDN=URL", overriding the topology (tests), or NULL */
	const char *admins[POOL_ADMINS_MAX]; /* administrators besides the CMS's */
	unsigned n_admins;
} csb_pool_opts;

struct pool {
	csb_node *node;
	char name[CSB_NODE_NAME_MAX];
	char coord_name[CSB_NODE_NAME_MAX]; /* the coordinator's principal */
	char admins[POOL_ADMINS_MAX][CSB_NODE_NAME_MAX];
	unsigned n_admins;
	bool partner_fixed;          /* from --partner: the topology does not move it */
	char fixed_partner[CSB_NODE_NAME_MAX], fixed_url[CSB_NODE_URL_MAX];
	bool has_coord;              /* started with a coordinator (reports go through the node) */
	csb_rpc_method methods[24];  /* Data, Control, Failover and replica methods */
	size_t n_methods;

	pthread_mutex_t mu;          /* what the replica says: */
	csb_topology *topo;          /* NULL until the replica holds one */
	char builtin_admin[CSB_NODE_NAME_MAX];
	bool confirmed;              /* the pool's role is known since this start (failover.c) */
	pthread_cond_t confirm_cv;
	pthread_t confirmer;
	bool confirmer_started;
	atomic_bool stopping;

	pthread_mutex_t mmu;         /* the CMS master as this pool knows it (cms.c): */
	csb_cms_master master;       /* epoch 0: not known yet */
	bool master_moved;           /* the replica has not followed its move yet */
	char master_url[512];        /* the coordinator URL the node uses now */
};

/* pool.c */
csb_err csb_pool_start(const csb_pool_opts *o, struct pool **out);
/* For the process's exit (node/node.h csb_node_exit()); frees what is not shared. */
void csb_pool_exit(struct pool *p);
bool pool__is_admin(struct pool *p, const char *principal);
/* Authorization rules of the pool's methods (common/rpc.h csb_rpc_authorize_fn): an
 * administrator (or the coordinator, which forwards administrators' calls); with
 * admin_or_self also the pool's own services, whose certificate names the pool. */
bool pool__admin_only(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                      char err[CSB_RPC_ERROR_MAX]);
bool pool__admin_or_self(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                         char err[CSB_RPC_ERROR_MAX]);
/* Whether this pool is the backup pool of the pool hosting the CMS (its replica is the
 * standby copy, shown as its CMS import). */
bool pool__is_cms_standby(struct pool *p);
/* The pool's CMS replica as a snapshot for model/cms.h (valid as long as p). */
csb_cms_view pool__replica_view(struct pool *p);
/* Re-reads the replica (after -LocalStore seeded it). */
void pool__replica_changed(void *ctx);

/* The services: each fills out[] with its methods (ctx = p); returns the count. */
size_t pool__data_methods(struct pool *p, csb_rpc_method *out);    /* data.c */
size_t pool__control_methods(struct pool *p, csb_rpc_method *out); /* control.c */
size_t pool__replica_methods(struct pool *p, csb_rpc_method *out); /* replica.c */
size_t pool__purge_methods(struct pool *p, csb_rpc_method *out);   /* purge.c */
size_t pool__failover_methods(struct pool *p, csb_rpc_method *out); /* failover.c */
size_t pool__cms_methods(struct pool *p, csb_rpc_method *out);      /* cms.c */

/* cms.c: the CMS master this pool follows. Before the node starts: the master persisted by
 * an earlier run replaces no's coordinator URL and sets its epoch. */
csb_err pool__master_load(struct pool *p, csb_node_opts *no);
/* Follows the replica's cms/master record when its epoch is higher. */
void pool__master_from_replica(struct pool *p, const csb_cms_view *v);
/* The node's gate: a coordinator calling at an older CMS epoch is refused (CSB_ENOTMASTER). */
csb_err pool__gate(void *ctx, const csb_rpc_request *req, char err[CSB_RPC_ERROR_MAX]);

/* pool.c: applies the pool's state entry (from the replica, or the partner's): writes are
 * refused unless Normal, and a failed-over pool's modules are fenced at its epoch. */
void pool__apply_pool_entry(struct pool *p, const csb_pool_entry *e);

/* failover.c: whether the pool's role is confirmed, waiting up to wait_ms for it. A restarted
 * agent refuses writes until its CMS replica caught up with the coordinator, or its partner
 * (whose replica did) told it where it stands. */
bool pool__role_confirmed(struct pool *p, uint32_t wait_ms);
void pool__confirm(struct pool *p, const char *by);
csb_err pool__confirm_start(struct pool *p);
void pool__confirm_stop(struct pool *p);

#endif
