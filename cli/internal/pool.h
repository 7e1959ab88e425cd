/* What the pool and data commands share (cmd_pool.c, cmd_backup.c, cmd_data.c): calls to a
 * pool's agent with retries, a pool's status, sync and state from the coordinator (or, for
 * -LocalStore, from the local agent and its replica), and the names of the backup states. */
#ifndef CSB_CLI_INTERNAL_POOL_H
#define CSB_CLI_INTERNAL_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/internal/cli.h"
#include "model/cms.h"
#include "model/config.h"
#include "proto/admin.pb-c.h"
#include "proto/status.pb-c.h"

#define CLI_FQDN_BUF 254          /* an FQDN with its NUL */
#define CLI_STATUS_TIMEOUT_MS 10000 /* the coordinator forwards to the agent within 10 s */
#define CLI_STATE_TIMEOUT_MS 5000   /* answered by the coordinator itself */
#define CLI_SYNC_TIMEOUT_MS 60000 /* how long the backup pool may take to import */

/* "SteadyState", "NormalState", …; "Unknown" for a value outside the enum. Static. */
const char *cli_export_state_name(int state);
const char *cli_import_state_name(int state);

/* Calls method on pool's agent (cli_agent()); unreachable or busy agents are retried like
 * cli_admin() (3 attempts, 0.5 s then 1 s apart). The reason of a failure goes to err
 * (CSB_RPC_ERROR_MAX bytes). *out as csb_rpc_call_msg(). */
csb_err cli_agent_call(struct cli *c, const char *pool, const char *method,
                       const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
                       uint32_t timeout_ms, ProtobufCMessage **out, char *err);

/* The status of pool's modules in category ("" for all): from the coordinator
 * (Admin/GetPoolStatus), or from the pool's own agent (Control/Status) when local. Caller
 * frees *out with protobuf_c_message_free_unpacked(). */
csb_err cli_pool_status(struct cli *c, const char *pool, const char *category, bool local,
                        Csb__PoolStatus **out, char *err);

/* Syncs pool's module (NULL or "": all it exports) to its backup pool and returns when
 * imported: Admin/Sync, or the agent's Control/SyncNow when local. *sync points into
 * *owner, which the caller frees with protobuf_c_message_free_unpacked(); backup (may be
 * NULL, else CLI_FQDN_BUF bytes) gets the backup pool when the coordinator names it. */
csb_err cli_pool_sync(struct cli *c, const char *pool, const char *module, bool local,
                      const Csb__SyncReply **sync, ProtobufCMessage **owner, char *backup,
                      char *err);

/* The pool's state entry (state, the pool serving its users, epoch, reason):
 * Admin/GetPoolState, or the local agent's replica when local (model/cms.h reads both). */
csb_err cli_pool_entry(struct cli *c, const char *pool, bool local, csb_pool_entry *out,
                       char *err);

/* The JSON text of key in the local agent's replica (malloc'ed); CSB_ENOTFOUND when the
 * replica has no such key. */
csb_err cli_replica_get(struct cli *c, const char *key, char **json, char *err);

/* What the topology (the coordinator's, or the local replica's when local) says of pool:
 * its backup pool ("" when none) and whether it hosts the Central Management store.
 * CSB_ENOTFOUND (with err) when the pool is not in the topology. */
csb_err cli_pool_topology(struct cli *c, const char *pool, bool local, char *backup,
                          bool *hosts_cms, char *err);

/* The backup configuration: Admin/GetConfig, or the local agent's replica when local. */
csb_err cli_backup_config(struct cli *c, bool local, csb_backup_config *out, char *err);

/* Backup-CsPool (cmd_backup.c); returns the exit code. */
int cli_backup_pool(struct cli *c);

#endif
