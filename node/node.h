/* csb_node: one replication node — a store, its RPC server, the export side (the Sync
 * service) and the import loops. csb-agent runs one as a pool (exports the pool's modules
 * to its backup pool, imports the partner's modules and the coordinator's CMS as its local
 * replica); csb-coordinator runs one as the coordinator (exports CentralMgmt.CMSMaster to
 * every agent) and adds its Admin service to the same server. */
#ifndef CSB_AGENT_NODE_H
#define CSB_AGENT_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/rpc.h"
#include "storage/store.h"

/* The coordinator's principal: its certificate CN, the source name of every agent's CMS
 * replica, and the server name agents expect when they dial it. */
#define CSB_COORDINATOR_NAME "csb-coordinator"

/* Keys of the CMS module (CentralMgmt.CMSMaster), JSON values. */
#define CSB_CMS_KEY_TOPOLOGY "topology"
#define CSB_CMS_KEY_CONFIG "config/Global"
#define CSB_CMS_KEY_ADMIN "rbac/builtin-admin"   /* the deployment's admin principal */
#define CSB_CMS_KEY_POOLSTATE "poolstate/"      /* + pool FQDN */

typedef struct agent csb_node;

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

/* Policy of a coordinator node: who may pull the CMS, who is an administrator. Called on
 * RPC worker threads; must be thread-safe. */
typedef struct csb_node_hooks {
	bool (*may_pull)(void *ctx, const char *principal, const char *module);
	bool (*is_admin)(void *ctx, const char *principal);
	void *ctx;
} csb_node_hooks;

typedef struct csb_node_opts {
	csb_node_role role;
	const char *name;            /* the pool FQDN, or CSB_COORDINATOR_NAME */
	const char *state_dir;
	const char *listen_url;
	const char *coordinator_url; /* pools: where the CMS comes from (may be NULL) */
	const char *partner;         /* pools: "FQDN=URL", overriding the topology (tests) */
	const char *admins[8];       /* principals that are administrators besides the CMS's */
	unsigned n_admins;
	csb_tls_files tls;
	uint64_t map_size;
	csb_node_config cfg;
	csb_node_hooks hooks;        /* coordinator only */
	const csb_rpc_method *extra; /* more methods on the same server (the Admin service) */
	size_t n_extra;
} csb_node_opts;

/* Opens the store, starts the services, the import loops and the 1 Hz tick. Errors are
 * logged. Returns CSB_OK, or the first failure (CSB_EBUSY: the store or the address is in
 * use; CSB_ETLS; CSB_EIO; CSB_EINVAL for a bad option). */
csb_err csb_node_start(const csb_node_opts *o, csb_node **out);

/* Ends every store write: the import loops, the tick (which persists the export totals)
 * and the group-commit writer (pending writes commit; later ones get CSB_ECLOSED). The RPC
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

/* The node's store, for reads; valid until csb_node_stop(). */
csb_store *csb_node_store(csb_node *n);

/* Writes through the node's group commit, so that waiting pulls wake at once. */
csb_err csb_node_write(csb_node *n, const char *module, const csb_write *w, size_t count,
                       uint64_t *last_seq);

/* One importer of an exported module, as the exporter knows it from its pulls. */
typedef struct csb_node_importer {
	char principal[256];
	uint64_t acked_seq;   /* applied up to here */
	uint64_t last_ack_ms; /* wall time of its last pull */
	uint64_t acked_change_ms; /* wall time when acked_seq last moved */
} csb_node_importer;

/* Copies up to max importers of module into out; returns how many there are. */
size_t csb_node_importers(csb_node *n, const char *module, csb_node_importer *out, size_t max);

#endif
