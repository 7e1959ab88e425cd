/* Integration-test harness: a temporary folder with a CA and certificates made at run
 * time, free loopback ports, csb-agent processes started and stopped (SIGTERM or SIGKILL),
 * and RPC helpers for the Data, Control and Sync services. Everything a test starts is
 * stopped by h_env_free(), also when an assertion fails (cmocka's teardown). */
#ifndef CSB_TESTS_HARNESS_H
#define CSB_TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/rpc.h"
#include "proto/status.pb-c.h"

#define H_PATH 1024
#define H_DIR 512 /* the env folder: room below H_PATH for names under it */
#define H_AGENTS_MAX 4

struct h_agent {
	char pool[128];
	char dir[H_PATH];
	char log[H_PATH];
	char cert[H_PATH], key[H_PATH];
	int port;
	pid_t pid;
	int partner;          /* index of the partner agent */
	const char *extra[8]; /* more flags */
};

struct h_env {
	char dir[H_DIR];
	char ca_cert[H_PATH], ca_key[H_PATH];
	char admin_cert[H_PATH], admin_key[H_PATH];
	struct h_agent agents[H_AGENTS_MAX];
	unsigned n_agents;
};

/* A new environment in a fresh folder under $TEST_TMPDIR, with a CA and an "admin"
 * certificate. Aborts the test on failure. */
struct h_env *h_env_new(void);

/* Prints the last lines of every agent's log of the running test (evidence on failure). */
void h_print_logs(void);

/* Stops every agent still running (SIGKILL) and removes the folder. */
void h_env_free(struct h_env *e);

/* Issues a certificate for principal name into the env folder (cert/key paths out). */
void h_issue(struct h_env *e, const char *name, char *cert, char *key);

/* Adds a pair of agents pool01/pool02.csb.test (indexes returned in *a, *b) with free
 * ports, each the other's partner. Does not start them. */
void h_add_pair(struct h_env *e, unsigned *a, unsigned *b);

/* Starts agent i and waits until it answers a status call. */
void h_agent_start(struct h_env *e, unsigned i);

/* Sends sig to agent i and waits for it to exit; returns its wait status. */
int h_agent_signal(struct h_env *e, unsigned i, int sig);

/* The path of the agent binary in the runfiles tree. */
const char *h_agent_bin(void);

/* A client to agent i as principal "admin" (or as cert/key when given). */
csb_rpc_client *h_client(struct h_env *e, unsigned i, const char *cert, const char *key);

/* A client to pool k's agent (1-based) of a `csb cluster` folder, as its admin principal
 * (endpoints from DIR/cluster.json, certificates from DIR/pki). Aborts the test on failure. */
csb_rpc_client *h_cluster_client(const char *cluster_dir, unsigned k);

/* Writes count records key "<prefix><n>" (n from first) with value_size bytes derived from
 * seed, in Write calls of at most per_call records. */
void h_put_range(csb_rpc_client *c, const char *module, const char *prefix, uint64_t first,
                 uint64_t count, size_t value_size, uint32_t seed, size_t per_call);

/* Deletes keys "<prefix><n>" for n in [first, first+count). */
void h_delete_range(csb_rpc_client *c, const char *module, const char *prefix, uint64_t first,
                    uint64_t count);

/* Writes one record. */
csb_err h_put(csb_rpc_client *c, const char *module, const void *key, size_t klen,
              const void *val, size_t vlen);

/* Control/Status of the agent behind c: the module's row (caller frees with
 * protobuf_c_message_free_unpacked(*ps)). */
const Csb__ModuleStatus *h_status(csb_rpc_client *c, const char *module, Csb__PoolStatus **ps);

/* Control/SyncNow for module; returns the reply status; records/bytes out (may be NULL). */
csb_err h_sync(csb_rpc_client *c, const char *module, uint32_t timeout_ms, uint64_t *records,
               uint64_t *bytes);

/* Control/Verify for module: true when equal; counts out (may be NULL). */
bool h_verify(csb_rpc_client *c, const char *module, uint64_t *primary, uint64_t *backup);

/* Waits (polling status) until agent behind `importer` has imported module of its partner
 * up to seq, or timeout_ms passes; returns whether it did. */
bool h_wait_imported(csb_rpc_client *importer, const char *module, uint64_t seq,
                     uint32_t timeout_ms);

#endif
