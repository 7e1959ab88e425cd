/* csb_chaos: a seeded chaos run on a `csb cluster up` cluster of 4 pools (issue 13). Writers
 * log every operation (invoke, then ok / fail / unknown) with unique values, killers
 * SIGKILL and restart agents, pairs and the coordinator through `csb cluster kill/start`,
 * then the cluster converges and the checker (check.c) compares what every writer was told
 * with what the pools and their backup copies hold. Shared declarations of chaos/. */
#ifndef CSB_CHAOS_CHAOS_H
#define CSB_CHAOS_CHAOS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/rpc.h"

#define CHAOS_POOLS 4
#define CHAOS_PATH 1024
#define CHAOS_WRITERS_MAX 64
#define CHAOS_VALUE_MAX 256
/* A writer's client that has had no call answered for this long past the longest outage
 * is replaced (writer.c): nng 1.5.2 can leave a REQ socket that never connects again after
 * its server died during the TLS negotiation (the dialer gives up on NNG_ECLOSED), or with
 * a pipe that carries nothing; a real service would reconnect too. Counted, and printed. */
#define CHAOS_REOPEN_SLACK_MS 6000
#define CHAOS_WRITE_TIMEOUT_MS 5000

/* ---- History and checker (history.c, check.c) ------------------------------------- */

enum chaos_op_kind { CHAOS_PUT, CHAOS_DELETE };

/* What the writer was told. PENDING only while the call runs. */
enum chaos_outcome {
	CHAOS_PENDING,
	CHAOS_OK,      /* acknowledged: durable at the pool */
	CHAOS_FAIL,    /* definitely not applied (not sent, refused before any change) */
	CHAOS_UNKNOWN, /* sent, no answer: it may or may not have been applied */
};

/* One operation of one writer. Its value is "w<writer>.<index>:" and padding derived from
 * both (chaos_value()), so every value ever written is unique. */
struct chaos_op {
	uint32_t key;        /* key "w<writer>.k<key>" */
	uint8_t kind;        /* enum chaos_op_kind */
	uint8_t outcome;     /* enum chaos_outcome */
	uint16_t err;        /* csb_err of the call */
	uint32_t invoke_ms;  /* since the run started */
	uint32_t done_ms;
};

/* What one key holds at one place after convergence. */
struct chaos_final {
	bool present;
	bool valid;          /* the value is one this writer could have written */
	uint64_t op;         /* with valid: the index of the op whose value it is */
};

/* The verdicts of the checker. A key counts once per kind. */
struct chaos_verdict {
	size_t keys;          /* keys written at least once */
	size_t lost;          /* holds neither the last acknowledged write nor a later unknown */
	size_t resurrected;   /* the last acknowledged op deleted it, and it is back */
	size_t phantom;       /* holds a value that was never written or whose write failed */
	size_t unequal;       /* the pool and its backup copy differ */
};

/* The value of op index of writer (at most CHAOS_VALUE_MAX bytes, no NUL) into buf;
 * returns its length. */
size_t chaos_value(unsigned writer, uint64_t index, char buf[CHAOS_VALUE_MAX]);

/* Parses a value read back: *index when it is exactly chaos_value(writer, *index). */
bool chaos_value_parse(unsigned writer, const void *v, size_t len, uint64_t *index);

/* Checks one writer's history (ops[0..n-1], in the order they were invoked; each writer is
 * sequential) against what its n_keys keys hold at the pool (pool[k]) and in the backup
 * copy (copy[k]). Adds to *v; writes a line per violation to report (may be NULL). */
void chaos_check_writer(unsigned writer, const struct chaos_op *ops, size_t n,
                        const struct chaos_final *pool, const struct chaos_final *copy,
                        size_t n_keys, struct chaos_verdict *v, FILE *report);

/* ---- Processes (proc.c) ------------------------------------------------------------ */

/* Makes this process the reaper of every process its children leave behind (the nodes
 * that `csb cluster up/start` starts in the background) and starts the thread that reaps
 * them at once, counting those that end other than by SIGKILL while watching is on. */
void chaos_proc_init(void);
void chaos_proc_watch(bool on);
unsigned chaos_proc_unexpected_exits(void);

/* Runs argv (argv[0] a path) with the environment given (NAME=VALUE, NULL-terminated,
 * added to ours), stdout and stderr into out (NUL-terminated, at most outlen bytes, may be
 * NULL), killed after timeout_ms. Returns the exit code, or -1 when it did not exit. */
int chaos_proc_run(char *const argv[], char *const env[], char *out, size_t outlen,
                   uint32_t timeout_ms);

/* ---- The run (main.c, writer.c, killer.c, converge.c) ------------------------------ */

enum chaos_fault {
	FAULT_AGENT_SHORT,
	FAULT_AGENT_LONG,
	FAULT_PAIR_SHORT,
	FAULT_PAIR_LONG,
	FAULT_COORD_SHORT,
	FAULT_COORD_LONG,
	FAULT_FAILOVER,     /* a pool failed over to its backup pool and back, under the writers */
	FAULT_CMS_FAILOVER, /* the CMS master moved to the standby coordinator (and back later) */
	FAULT_KINDS
};

extern const char *const chaos_fault_names[FAULT_KINDS];

struct chaos_writer {
	unsigned id;
	unsigned pool;             /* 1-based */
	const char *module;
	uint64_t rng;
	pthread_t thread;
	struct chaos_op *ops;      /* grown by the writer thread only */
	size_t n_ops, cap;
	bool failed;               /* out of memory or cannot connect at all */
};

struct chaos_run {
	/* Flags. */
	uint64_t seed;
	uint64_t faults;           /* stop after this many faults */
	uint64_t duration_ms;      /* or after this long */
	unsigned writers_per_pool;
	unsigned keys;             /* keys per writer */
	uint32_t short_max_ms, long_min_ms, long_max_ms; /* outages */
	bool keep;
	char csb[CHAOS_PATH];      /* the csb binary */
	char bin_dir[CHAOS_PATH];  /* CSB_BIN_DIR: holds agent/ and coordinator/ */
	char work[CHAOS_PATH];     /* the run's folder */
	char dir[CHAOS_PATH];      /* the cluster folder inside it */

	uint64_t t0;               /* csb_mono_ms() at the start */
	uint32_t settle_ms;        /* chaos_now() when the last fault ended */
	atomic_bool stop;          /* writers and killers end */
	atomic_uint_fast64_t faults_claimed;
	atomic_uint_fast64_t fault_counts[FAULT_KINDS];
	atomic_uint start_failures;  /* `csb cluster start` that had to be retried */
	atomic_uint start_givenup;   /* a node that would not start again: stuck */
	atomic_uint client_reopens;  /* writer clients replaced after they stopped answering */

	pthread_mutex_t log_mu;
	FILE *history;             /* history.log: every event, one line each */

	struct chaos_writer writers[CHAOS_WRITERS_MAX];
	unsigned n_writers;
};

/* Milliseconds since the run started. */
uint32_t chaos_now(struct chaos_run *r);

/* A line in history.log, prefixed with chaos_now(). Thread-safe. */
void chaos_log(struct chaos_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A random number in [0, n) from *state (xorshift; n > 0). */
uint64_t chaos_rand(uint64_t *state, uint64_t n);

/* The FQDN of pool k (1-based), a static string. */
const char *chaos_pool(unsigned k);

/* Runs `csb <args…>` (NULL-terminated) on the run's cluster; output into out. */
int chaos_csb(struct chaos_run *r, char *out, size_t outlen, uint32_t timeout_ms, ...)
	__attribute__((sentinel));

/* A client of pool k's agent as the cluster's admin (NULL when it cannot be made). */
csb_rpc_client *chaos_client(struct chaos_run *r, unsigned k);

/* Done with a client: it is left open for the process's exit, never closed. nng 1.5.2's
 * nng_close() waits forever for a pipe whose transfer never finishes, which is what a
 * client that stopped answering has (CHAOS_REOPEN_SLACK_MS), and a chaos run must end. */
void chaos_client_leave(csb_rpc_client *c);

/* writer.c: starts the writer threads; joins them once r->stop is set. */
csb_err chaos_writers_start(struct chaos_run *r);
void chaos_writers_join(struct chaos_run *r);
/* After the join: writers none of whose writes invoked after r->settle_ms was
 * acknowledged. */
unsigned chaos_stalled_writers(struct chaos_run *r);

/* killer.c: runs the fault threads until r->faults are injected, the duration passes or
 * r->stop is set; returns once they have all ended, with every node running again. */
void chaos_killers_run(struct chaos_run *r);

/* converge.c: brings every node up, proves each pool writable, syncs, verifies, waits
 * for every module to be steady, reads every key at its pool and backup copy and runs the
 * checker. Prints what it finds; returns true when everything holds. */
bool chaos_converge_and_check(struct chaos_run *r, struct chaos_verdict *v);

#endif
