/* What every csb command shares: the parsed line, the connection (a local cluster's folder,
 * or --coordinator with --cert/--key/--ca), the admin call with its retries, and the one
 * error line with its exit code (SPEC.md §3). Commands live in cmd_*.c and cluster*.c. */
#ifndef CSB_CLI_INTERNAL_CLI_H
#define CSB_CLI_INTERNAL_CLI_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "cli/args.h"
#include "common/rpc.h"

/* Exit codes (SPEC.md §3). */
#define CLI_OK 0
#define CLI_FAILED 1
#define CLI_USAGE 2
#define CLI_DENIED 3
#define CLI_UNREACHABLE 4

#define CLI_PATH 1024

struct cli {
	csb_args *a;
	char dir[CLI_PATH];          /* the cluster folder, or "" */
	json_t *cluster;             /* its cluster.json, or NULL */
	char coord_url[256];
	char coord_name[256];   /* the coordinator's principal (server name) */
	char cert[CLI_PATH], key[CLI_PATH], ca[CLI_PATH];
	csb_rpc_client *coord;       /* opened on first use */
	csb_rpc_client *agents[64];  /* by pool index in cluster.json / topology, on first use */
	char agent_names[64][256];
	unsigned n_agents;
};

/* Maps a csb_err to the exit code: EINVAL → 2, EDENIED → 3, unreachable or timed out → 4,
 * anything else → 1. */
int cli_exit_code(csb_err rv);

/* Prints `csb: <Cmdlet>: <message>` to stderr; returns cli_exit_code(rv). */
int cli_fail(struct cli *c, csb_err rv, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A warning (a non-fatal error): `WARNING: <message>` on stderr, or nothing with
 * -WarningAction SilentlyContinue. With -WarningAction Stop the command stops there: the
 * message becomes its error line and CLI_FAILED is returned. CLI_OK: go on. */
int cli_warn(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* -Verbose: one step, `VERBOSE: <message>` on stderr. */
void cli_verbose(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* -Confirm: asks `<question> [y/N] ` on stderr and reads one line from stdin. True only for
 * y or yes (any case); otherwise says on stderr that nothing was done. */
bool cli_confirm(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Resolves the connection from the line: --coordinator/--cert/--key/--ca, else the cluster
 * folder (--cluster or CSB_CLUSTER) with its cluster.json and the admin's (or --as NAME's)
 * certificate. Prints the error line itself and returns its exit code, or CLI_OK. */
int cli_connect(struct cli *c);

/* Calls method on the coordinator; with `retry` (quick calls only), unreachable or
 * timed-out calls are retried: 3 attempts of at most 3 s, 0.5 s then 1 s apart. The reason
 * of a failure goes to err. */
csb_err cli_admin(struct cli *c, const char *method, const ProtobufCMessage *req,
                  const ProtobufCMessageDescriptor *desc, uint32_t timeout_ms, bool retry,
                  ProtobufCMessage **out, char *err);

/* A client to the agent of pool fqdn: its endpoint from cluster.json, else from the
 * coordinator's topology. */
csb_err cli_agent(struct cli *c, const char *fqdn, csb_rpc_client **out, char *err);
/* One call to the coordinator at url (another than the command's: a standby); err names it
 * and why. */
csb_err cli_coordinator_call(struct cli *c, const char *url, const char *method,
                             const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
                             uint32_t timeout_ms, ProtobufCMessage **out, char *err);

/* The agent client for -LocalStore: the pool named on the line, else the first pool of
 * the cluster. */
csb_err cli_local_agent(struct cli *c, csb_rpc_client **out, char *err);

/* Reads a whole file of at most max bytes (malloc'ed, NUL-terminated; *len without the NUL),
 * also one that cannot seek: a pipe or a terminal as /dev/stdin. NULL with errno set on
 * failure (EFBIG when over max). */
char *cli_read_file(const char *path, size_t max, size_t *len);

/* Closes what cli_connect and the calls opened. */
void cli_close(struct cli *c);

/* Prints a JSON value (compact when --json, indented otherwise) followed by a newline. */
void cli_print_json(const json_t *v, bool indent);

/* The pool whose agent -LocalStore asks (as cli_local_agent()), or NULL when none. */
const char *cli_local_pool(struct cli *c);

/* The JSON text of key in the local agent's replica (malloc'ed), or NULL with the error
 * line printed and *rc set. */
char *cli_local_json(struct cli *c, const char *key, int *rc);

/* The JSON document a coordinator method answers (malloc'ed), or NULL with the error line
 * printed and *rc set. req NULL: an empty request. */
char *cli_admin_json(struct cli *c, const char *method, const ProtobufCMessage *req, int *rc);

/* Prints a flat JSON object as PowerShell's list view: `Name : value`, names aligned. */
void cli_print_list(json_t *obj);

/* Prints the JSON document json (freed here): as is with --json, else through text.
 * Returns the exit code. */
int cli_print_doc(struct cli *c, char *json, void (*text)(json_t *));

/* The commands; each returns the exit code. cluster.c, cmd_config.c, cmd_pool.c, cmd_data.c */
int cli_cluster(struct cli *c);
/* cmd_cms.c: Invoke-CsManagementServerFailover. */
int cli_cms_failover(struct cli *c);
/* After Invoke-CsManagementServerFailover moved the CMS master to pool: a local cluster's
 * cluster.json swaps its coordinator and standby entries (later commands go to the new
 * master). CLI_OK also when there is nothing to update. */
int cli_cluster_master_moved(struct cli *c, const char *pool);
/* The local cluster's standby coordinator URL (and its pool), or NULL. */
const char *cli_cluster_standby(struct cli *c, const char **pool);
int cli_pki(struct cli *c); /* pki.c */
int cli_config_cmd(struct cli *c);
int cli_publish_topology(struct cli *c); /* cmd_topology.c */
int cli_get_topology(struct cli *c);
int cli_pool_cmd(struct cli *c);
int cli_data_cmd(struct cli *c);

#endif
