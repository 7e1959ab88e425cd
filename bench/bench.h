/* csb_bench: the benchmark of issues #6 and #14, shared declarations. csb_bench.c parses
 * the flags; measure.c runs the steps in order; launch.c starts and stops real csb-agent
 * processes and other servers in a temporary folder; load.c writes records and calls the
 * Control service; tcpbytes.c counts TCP payload bytes per process; floor.c and nngperf.c
 * measure the machine's limits; lag.c the replication lag of either side; external.c runs
 * rsync and mdb_copy; resp.c, redis.c and side.c run Redis beside csbackup; sites.c the
 * two-sites mode; report.c prints the table. */
#ifndef CSB_BENCH_BENCH_H
#define CSB_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/rpc.h"
#include "common/values.h"

#define BENCH_MODULE "UserServices.PresenceFocus"
#define BENCH_PATH 1024
#define BENCH_KEY_MAX 32

/* ---- Options (csb_bench.c) -------------------------------------------------------- */

struct bench_opts {
	uint64_t records;      /* --records: the store of measurements 1, 2, 4 */
	uint64_t big_records;  /* --big-records: measurement 3 (0 skips it) */
	uint64_t big_budget_s; /* --big-budget: stop loading the big store after this */
	uint64_t changes;      /* --changes: records changed per incremental sync */
	size_t value_size;     /* --value-size */
	unsigned repeats;      /* --repeats: incremental syncs per store size */
	double lag_seconds;    /* --lag-seconds (0 skips) */
	uint64_t lag_rate;     /* --lag-rate: records per second */
	unsigned lag_batch;    /* --lag-batch: records per Write call */
	unsigned lag_threads;  /* --lag-threads: concurrent writers */
	unsigned lag_poll_us;  /* --lag-poll-us: pause between Status polls of B */
	uint64_t nng_bytes;    /* --nng-bytes: the transport floor's volume */
	size_t nng_msg;        /* --nng-msg: its message size */
	unsigned load_batch;   /* --load-batch: records per Write call when loading */
	unsigned load_threads; /* --load-threads: concurrent loading calls */
	uint64_t map_size;     /* --map-size: passed to csb-agent and the floor store */
	uint32_t seed;         /* --seed: which records change */
	const char *out;       /* --out: markdown file (also printed) */
	const char *agent_bin; /* --agent-bin */
	const char *tmp;       /* --tmpdir: where the temporary folder goes */
	const char *mode;      /* "full" or "quick", for the report */
	const char *agent_args[8]; /* --agent-arg: more csb-agent flags (tuning experiments) */
	unsigned n_agent_args;
	bool keep;             /* --keep: leave the temporary folder */
	bool redis;            /* --no-redis clears it: the Redis rows */
	uint64_t kind_records; /* --kind-records: store of the value-kind rows (0 skips) */
	unsigned kind_repeats; /* --kind-repeats: change sets per value kind */
	uint64_t scale_records; /* --scale-records: per pool of the 8 (0 skips) */
	uint64_t site_records; /* --site-records: the two-sites copy (0 skips the mode) */
	double site_lag_seconds; /* --site-lag-seconds */
	uint64_t site_lag_rate;  /* --site-lag-rate: records per second */
	uint64_t site_rate_mbit; /* --site-rate: the link, Mbit/s */
	unsigned site_delay_ms;  /* --site-delay: one way */
	uint64_t large_files;    /* --large-files: row 10 (0 skips it) */
	size_t large_size;       /* --large-size: bytes of each */
	uint64_t large_changed;  /* --large-changed: rewritten for the incremental */
};

/* ---- Processes (launch.c) --------------------------------------------------------- */

#define BENCH_AGENTS 24
#define BENCH_PROCS 16
#define BENCH_NETNS 4

struct bench_agent {
	char pool[64];
	char dir[BENCH_PATH];
	char log[BENCH_PATH];
	char cert[BENCH_PATH], key[BENCH_PATH];
	char host[64];         /* where clients and the partner reach it: 127.0.0.1 */
	char listen_host[64];  /* what it listens on when not host (two sites: 0.0.0.0) */
	char netns[64];        /* network namespace to run in ("": the benchmark's) */
	char partner_url[160]; /* how it dials its partner when not directly (a relay) */
	int port;
	pid_t pid;
	int partner; /* index of the partner agent */
};

struct bench_env {
	char dir[BENCH_PATH];
	char ca_cert[BENCH_PATH], ca_key[BENCH_PATH];
	char admin_cert[BENCH_PATH], admin_key[BENCH_PATH];
	const char *agent_bin;
	const char *const *agent_args; /* extra flags, n_agent_args of them */
	unsigned n_agent_args;
	uint64_t map_size;
	struct bench_agent ag[BENCH_AGENTS]; /* pair p: A = ag[2p], B = ag[2p + 1] */
	int n_agents;
	pid_t procs[BENCH_PROCS];   /* other servers the run started (redis-server) */
	char netns[BENCH_NETNS][64]; /* network namespaces the run made */
};

/* Prints "csb_bench: <message>" and the tail of each agent's log to stderr, then exits 1;
 * the exit handler stops the agents and removes the folder. Main thread only. */
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Progress to stderr, one line: "csb_bench: <message>". */
void bench_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A fresh folder under base with a CA, an "admin" certificate and `pairs` pairs of agents
 * (pool01/pool02, pool03/pool04, ...; in a pair each is the other's partner; free ports),
 * not started. Registers exit and signal handlers that kill the agents and the other
 * processes, remove the namespaces and the folder. Fails the run on error. */
struct bench_env *bench_env_new(const char *base, const char *agent_bin, uint64_t map_size,
                                bool keep, int pairs);

/* One more pair, not started; returns the index of its A (its B is the next). */
int bench_env_add_pair(struct bench_env *e);

/* Stops the pair whose A is index a (SIGTERM, SIGKILL after 5 s) and removes its stores
 * (unless --keep), to give the disk and memory back to the next step. Returns how many of
 * the two needed SIGKILL. */
unsigned bench_pair_discard(struct bench_env *e, int a);

/* Starts argv (argv[0] looked up in PATH) with stdout and stderr to log, inside network
 * namespace netns when not NULL/empty; the exit handler kills it. Fails the run when no
 * process can be made; a program that cannot run exits 127 (see bench_proc_exited). */
pid_t bench_spawn(struct bench_env *e, char *const argv[], const char *log, const char *netns);

/* Sends sig to a process of bench_spawn and waits for it; SIGKILL after 10 s. Returns
 * whether it exited from sig. */
bool bench_proc_stop(struct bench_env *e, pid_t pid, int sig);

/* Whether a process of bench_spawn has exited (then reaped, *status set). */
bool bench_proc_exited(struct bench_env *e, pid_t pid, int *status);

/* Namespaces the run made (`ip netns add`): the exit handler removes them. */
void bench_env_netns_add(struct bench_env *e, const char *name);
void bench_env_netns_remove(struct bench_env *e, const char *name);

/* Resident memory of a process, from /proc/<pid>/status: all, anonymous (heap), and file
 * pages mapped (for an agent: the LMDB map's pages it touched, shared with the page
 * cache). False when the process is gone. */
struct bench_rss {
	uint64_t rss, anon, file;
};
bool bench_rss(pid_t pid, struct bench_rss *out);

/* Stops what runs (SIGKILL) and removes the folder unless keep. Idempotent. */
void bench_env_free(void);

/* Spawns agent i (stdout and stderr to its log); returns at once. */
void bench_agent_spawn(struct bench_env *e, int i);

/* Waits until agent i answers a Status call through c, at most timeout_ms. */
void bench_agent_wait_ready(struct bench_env *e, int i, csb_rpc_client *c, uint32_t timeout_ms);

/* Sends sig to agent i and waits for it to exit; after 5 s sends SIGKILL. Returns whether
 * the agent exited from sig (false: it needed SIGKILL). */
bool bench_agent_stop(struct bench_env *e, int i, int sig);

/* A client to agent i as "admin". */
csb_rpc_client *bench_client(struct bench_env *e, int i);

/* ---- Records and RPC (load.c) ---------------------------------------------------- */

/* The key of record k ("k000000042"); returns its length. */
size_t bench_key(char buf[BENCH_KEY_MAX], uint64_t k);
/* Fills value of record k at version ver (letters, deterministic). */
void bench_value(uint8_t *v, size_t n, uint64_t k, uint32_t ver);
/* The same for a kind of value (common/values.h); random is bench_value(). */
void bench_value_of(csb_value_kind kind, uint8_t *v, size_t n, uint64_t k, uint32_t ver);

/* `count` distinct record numbers below n, for change set `set` (deterministic from seed),
 * sorted, into keys (room for count). */
void bench_pick(uint32_t seed, unsigned set, uint64_t n, uint64_t count, uint64_t *keys);

/* Writes keys[0..n) at version ver in one Data/Write call; *last_seq out (may be NULL). */
csb_err bench_write_keys(csb_rpc_client *c, csb_value_kind kind, const uint64_t *keys,
                         size_t n, size_t value_size, uint32_t ver, uint64_t *last_seq,
                         char *err);

/* Writes records [first, first+count) at version ver in calls of `batch` records from
 * `threads` threads at once. Stops early (returning the number written in *done) once
 * deadline_mono_ms passes (0: no deadline). */
csb_err bench_load(csb_rpc_client *c, csb_value_kind kind, uint64_t first, uint64_t count,
                   size_t value_size, uint32_t ver, unsigned batch, unsigned threads,
                   uint64_t deadline_mono_ms, uint64_t *done);

/* Runs fn(arg) in `threads` threads at once (1..16) and joins them; returns how many could
 * be started. */
unsigned bench_threads_run(void *(*fn)(void *), void *arg, unsigned threads);

/* The bench module's row of Control/Status. */
struct bench_status {
	uint64_t high_seq;
	uint64_t exported_seq;
	uint64_t imported_seq;
	uint64_t exported_records;
	uint64_t exported_bytes;
	uint64_t exported_batches;
};
csb_err bench_status(csb_rpc_client *c, struct bench_status *out, char *err);

/* Control/SyncNow for the bench module. */
struct bench_sync {
	uint64_t records, bytes, millis, imported_seq;
};
csb_err bench_sync_now(csb_rpc_client *c, uint32_t timeout_ms, struct bench_sync *out,
                       char *err);

/* Control/Verify for the bench module: *equal and the two counts. */
csb_err bench_verify(csb_rpc_client *c, bool *equal, uint64_t *primary, uint64_t *backup,
                     char *err);

/* ---- TCP payload bytes (tcpbytes.c) ---------------------------------------------- */

/* Sums, over the TCP sockets of process pid connected to 127.0.0.1:dport, the payload bytes
 * received (rx) and acknowledged as sent (tx), from the kernel's tcp_info (sock_diag).
 * Payload = what TLS put into TCP: records, protobuf, envelopes, TLS framing; not TCP/IP
 * headers. CSB_OK, CSB_EIO (no sock_diag here), CSB_ENOMEM. */
struct bench_tcp {
	uint64_t rx, tx;
};
csb_err bench_tcp_bytes(pid_t pid, int dport, struct bench_tcp *out);

/* ---- Limits of the machine (floor.c, nngperf.c) --------------------------------- */

struct bench_floor {
	double bulk_s;           /* the primary's path: `records` writes, one durable txn */
	double bulk_apply_s;     /* the copy's path: the same records applied, one durable txn */
	double write_ms[64];     /* per change set: `changes` overwrites, primary's path */
	double apply_ms[64];     /* per change set: the same records applied to the copy */
	unsigned n;
	double write_nosync_ms;  /* medians of the same without the fsync (MDB_NOSYNC) */
	double apply_nosync_ms;
	uint64_t store_bytes;    /* data.mdb after the bulk loads (data, log and copy) */
};
struct bench_floor_store;

/* A fresh store in dir (created) through storage/, loaded with records 0..n-1 of the
 * benchmark both as the pool's own data and as a backup copy: in one durable transaction
 * per path when n <= o->records (timed: the limits of 6a), else one transaction per
 * million records. Fails the run on error. */
struct bench_floor_store *bench_floor_open(const struct bench_opts *o, const char *dir,
                                           uint64_t n, struct bench_floor *out);
/* Change set `set` at version ver (the same records and values as the agents' set):
 * applied to the copy in one durable transaction, then written to the own data in another;
 * both times go to out's next slot. */
void bench_floor_overwrite(struct bench_floor_store *fs, unsigned set, uint32_t ver,
                           struct bench_floor *out);
/* Reopens the store without fsync and overwrites sets 0..sets-1 once more (medians into
 * out's *_nosync_ms; sets 0: skipped), closes and removes it, frees fs. */
void bench_floor_finish(struct bench_floor_store *fs, unsigned sets, struct bench_floor *out);

/* One-way throughput of an nng push/pull pair over loopback: `total` bytes in messages
 * of `msg` bytes. With tls (cert/key/ca of both ends), over tls+tcp. MB/s (10^6) out. */
csb_err bench_nng_throughput(uint64_t total, size_t msg, const csb_tls_files *server,
                             const csb_tls_files *client, const char *server_name,
                             double *mb_per_s, char *err, size_t errlen);

/* ---- Replication lag (lag.c) ------------------------------------------------------ */

struct bench_lag {
	double seconds;     /* how long writes ran */
	uint64_t records;   /* written */
	uint64_t calls;
	double achieved_rate; /* records per second */
	double late_p99_ms; /* how late a Write started against its schedule */
	double p50_ms, p99_ms, max_ms, min_ms;
	double write_p50_ms, write_p99_ms; /* the Write calls' own latency */
	double poll_ms;     /* mean interval between Status polls of B */
	uint64_t lost;      /* writes never seen on B within the wait */
};

/* What the lag run drives: a primary to write to, a backup to watch. Writers each open
 * their own connection (or share one: the ops decide); write() puts records keys[0..n) at
 * version ver and returns once the primary acknowledged them, with the seq that covers
 * them; applied() returns the highest seq the backup shows. Called from several threads:
 * write() from the writers, applied() from the watcher. */
struct bench_lag_ops {
	void *(*writer_open)(void *ctx);
	void (*writer_close)(void *conn);
	csb_err (*write)(void *conn, const uint64_t *keys, size_t n, size_t value_size,
	                 uint32_t ver, uint64_t *seq, char *err);
	void *(*watcher_open)(void *ctx);
	void (*watcher_close)(void *conn);
	csb_err (*applied)(void *conn, uint64_t *seq);
};

/* --lag-seconds of writes at --lag-rate into a store of n_records; fails the run when the
 * backup does not answer. */
void bench_lag_run(const struct bench_opts *o, const struct bench_lag_ops *ops, void *ctx,
                   uint64_t n_records, struct bench_lag *out);

/* The same on csbackup's pair whose A is agent a. */
void bench_lag_run_csb(const struct bench_opts *o, struct bench_env *e, int a,
                       uint64_t n_records, struct bench_lag *out);

/* ---- Redis (resp.c, redis.c) ------------------------------------------------------ */

/* A RESP2 connection to a redis-server (resp.c). Commands are built into a buffer and go
 * out together with bench_resp_send() (pipelining); replies are read one by one. One
 * thread at a time. */
struct bench_resp;
struct bench_resp_reply {
	char type;      /* '+', '-', ':', '$', '_' (nil) */
	long long num;  /* ':' */
	char text[256]; /* '+', '-' */
	char *str;      /* '$': the bulk string, NUL-terminated, len bytes (owned) */
	size_t len;
};
csb_err bench_resp_open(const char *host, int port, struct bench_resp **out);
void bench_resp_close(struct bench_resp *r);
csb_err bench_resp_begin(struct bench_resp *r, unsigned argc);
csb_err bench_resp_arg(struct bench_resp *r, const void *p, size_t len);
csb_err bench_resp_cmd(struct bench_resp *r, const char *const *argv, unsigned argc);
csb_err bench_resp_send(struct bench_resp *r);
csb_err bench_resp_read(struct bench_resp *r, struct bench_resp_reply *out);
void bench_resp_reply_free(struct bench_resp_reply *rep);
/* One command and its reply. */
csb_err bench_resp_call(struct bench_resp *r, const char *const *argv, unsigned argc,
                        struct bench_resp_reply *out);

/* One redis-server and a primary/replica pair of them (redis.c). */
struct bench_redis {
	char name[64];
	char dir[BENCH_PATH], conf[BENCH_PATH], log[BENCH_PATH];
	int port, tls_port; /* tls_port: the primary's, when the link is over TLS */
	pid_t pid;
};
struct bench_redis_pair {
	bool tls; /* the replica link over TLS (clients stay on the plain port) */
	char cert[BENCH_PATH], key[BENCH_PATH];
	struct bench_redis primary, replica;
};

/* Whether `redis-server --version` runs; its version ("7.0.15") out. */
bool bench_redis_found(char *version, size_t len);
/* Folders, ports and (tls) a certificate for a pair named name; nothing started. */
void bench_redis_pair_init(struct bench_env *e, struct bench_redis_pair *p, const char *name,
                           bool tls);
/* Writes the server's configuration and starts it (the replica with replicaof the
 * primary); returns at once. */
void bench_redis_start(struct bench_env *e, struct bench_redis_pair *p, bool replica);
/* Waits until the server answers PING (fails the run after timeout_ms). */
void bench_redis_wait_ready(struct bench_env *e, struct bench_redis *s, uint32_t timeout_ms);
/* SIGTERM (Redis fsyncs its AOF and exits) and wait; false when it needed SIGKILL. */
bool bench_redis_stop(struct bench_env *e, struct bench_redis *s);
/* A connection to the server's plain port, or NULL. */
struct bench_resp *bench_redis_connect(const struct bench_redis *s);
/* The bench's write: records keys[i] (or first.. when keys is NULL) at version ver in one
 * MSET, then INCR of the seq key, pipelined; *seq = the INCR's reply. */
csb_err bench_redis_write(struct bench_resp *c, const uint64_t *keys, uint64_t first, size_t n,
                          size_t value_size, uint32_t ver, uint64_t *seq, char *err);
/* The seq the server shows (GET of the seq key; 0 before any write). CSB_EBUSY while it
 * loads its data set. */
csb_err bench_redis_seq(struct bench_resp *c, uint64_t *seq);
/* Named integer fields of INFO section (-1 for a missing one). */
csb_err bench_redis_info(struct bench_resp *c, const char *section, const char *const *names,
                         long long *values, unsigned n);
/* Whether the replica's AOF holds its data set: not loading, no AOF rewrite running or
 * scheduled, and after a full sync the rewrite that follows it done. */
bool bench_redis_durable(struct bench_resp *c, bool after_full_sync);
/* Records [first, first+count) in writes of batch records from threads connections;
 * the highest seq out. */
csb_err bench_redis_load(const struct bench_redis *s, uint64_t first, uint64_t count,
                         size_t value_size, uint32_t ver, unsigned batch, unsigned threads,
                         uint64_t *seq);
/* The lag run's ops on a struct bench_redis_pair: a connection per writer. */
extern const struct bench_lag_ops bench_redis_lag_ops;

/* ---- External tools (external.c) -------------------------------------------------- */

struct bench_rsync {
	double seconds;
	uint64_t bytes_sent;   /* "Total bytes sent" */
	uint64_t literal;      /* "Literal data" */
	uint64_t matched;      /* "Matched data" */
	uint64_t file_size;    /* "Total file size" */
};
/* rsync -a --stats [extra] src/ dst/; false when rsync is missing or fails. */
bool bench_rsync(const char *extra, const char *src, const char *dst, struct bench_rsync *out,
                 char *err, size_t errlen);
/* mdb_copy src dst (dst created); false when mdb_copy is missing or fails. */
bool bench_mdb_copy(const char *src, const char *dst, double *seconds, char *err,
                    size_t errlen);
/* Size of a file in bytes, or 0. */
uint64_t bench_file_size(const char *path);

/* ---- Redis side by side (side.c) ---------------------------------------------------- */

struct bench_redis_run {
	bool done;
	uint64_t seq;            /* the last write's */
	double load_s;           /* the primary loaded like A */
	double sync_s, durable_s; /* replica started -> shows the last seq; -> AOF rewritten */
	unsigned n;
	double catchup_ms[64];   /* per change set: MSET+INCR returned -> the replica shows it */
	struct bench_rss rss_primary, rss_replica;
	bool restart_done, restart_full;
	double restart_sync_s, restart_durable_s;
	bool lag_done;
	struct bench_lag lag;
};

struct bench_side {
	char version[32];
	char why[256];           /* when not run */
	unsigned n;              /* variants run: 0, or 2 (plain, TLS replica link) */
	struct bench_redis_pair pair[2];
	struct bench_redis_run run[2];
};

/* Starts, loads and copies each variant (the rows load and initial copy); sets why and
 * returns when Redis is not run. */
void bench_side_start(const struct bench_opts *o, struct bench_env *e, struct bench_side *s);
/* One change set (--changes keys at version ver) on each variant. */
void bench_side_catchup(const struct bench_opts *o, struct bench_side *s, const uint64_t *keys,
                        uint32_t ver);
void bench_side_memory(struct bench_side *s);
/* Stops each replica, writes the change set on the primary, restarts the replica and
 * times it back in sync and durable. */
void bench_side_restart(const struct bench_opts *o, struct bench_env *e, struct bench_side *s,
                        const uint64_t *keys, uint32_t ver);
void bench_side_lag(const struct bench_opts *o, struct bench_side *s);
void bench_side_stop(struct bench_env *e, struct bench_side *s);

/* ---- Results (report.c) ------------------------------------------------------------ */

struct bench_incr {
	bool done;
	uint64_t store_records;  /* records in the store */
	unsigned n;              /* syncs measured */
	double sync_ms[64];      /* commit on A -> SyncNow on A returned (B has it) */
	double write_ms[64];     /* the Data/Write call of the changes (one durable commit) */
	uint64_t wire_rx[64];    /* TCP payload A->B during the sync (B's socket) */
	uint64_t wire_tx[64];    /* TCP payload B->A (Pull requests) */
	uint64_t exported[64];   /* ExportedBytesTotal delta on A (packed batches) */
	uint64_t records[64];    /* records SyncNow says were sent */
	bool wire_ok;
};

/* An initial copy: A loaded through Data/Write, then B started and timed until it has
 * imported A's high seq. */
struct bench_copy {
	double load_s, copy_s;
	uint64_t wire_rx;       /* TCP payload A->B during the copy */
	bool wire_ok;
};

/* The rows of one kind of value (compression): its own pair. */
struct bench_kind {
	bool done;
	csb_value_kind kind;
	uint64_t records;
	struct bench_copy copy;
	struct bench_incr incr;
};

/* 8 pools, each loading its own records at once while its partner backs them up. */
struct bench_scale {
	bool done;
	unsigned pools;
	uint64_t records;        /* per pool */
	double load_s;           /* every load returned */
	double caught_s;         /* every backup copy has its partner's high seq */
};

/* Two sites: the pair in two network namespaces over a shaped veth and a delaying relay. */
struct bench_sites {
	bool done;
	char why[256];           /* when not run */
	uint64_t records;
	double rtt_ms;           /* measured through the relay (TCP connect) */
	struct bench_copy copy;
	bool lag_done;
	unsigned lag_batch;
	struct bench_lag lag;
};

/* Row 10: large values, chunked, beside a local rsync of the same files (large.c). */
struct bench_large {
	bool done;
	uint64_t files, changed;
	size_t size;
	double load_s, copy_s, incr_s;
	uint64_t copy_wire, incr_wire; /* TCP payload A->B */
	bool wire_ok;
	bool rsync_ok;
	char rsync_err[256];
	struct bench_rsync rsync_full, rsync_delta;
};

struct bench_results {
	/* 1 */
	struct bench_copy copy;
	uint64_t store_bytes_a; /* data.mdb of A after the load */
	/* 2, 3 */
	struct bench_incr small, big;
	double big_load_s;
	bool big_cut;           /* the budget ended the big load early */
	/* 4 */
	bool rsync_ok, mdb_copy_ok;
	char rsync_err[256];
	struct bench_rsync rsync_full, rsync_delta;
	double mdb_copy_s;       /* the first snapshot: what 4c reports */
	double rsync_snapshot_s; /* the snapshot before the delta rsync */
	uint64_t mdb_copy_bytes;
	/* 5 */
	bool lag_done;
	struct bench_lag lag;
	/* 6 */
	struct bench_floor floor;
	struct bench_floor big_floor; /* the same overwrites in a store of the big size */
	bool nng_ok, nng_tls_ok;
	double nng_mbps, nng_tls_mbps;
	bool verify_equal;
	uint64_t verify_primary, verify_backup;
	/* csbackup's rows beside Redis */
	struct bench_rss rss_a, rss_b;   /* idle, after the syncs */
	bool restart_done;
	double restart_s;                /* B restarted after a change set -> imported it */
	uint64_t restart_wire_rx;        /* TCP payload the restarted B received from A */
	struct bench_side side;
	/* value kinds, scale, two sites */
	struct bench_kind kinds[3];
	struct bench_scale scale;
	struct bench_sites sites;
	struct bench_large large;
	double total_s;
	unsigned sigkilled;     /* agents that did not stop on SIGTERM at the end */
	double load_start[3], load_end[3]; /* /proc/loadavg: the machine may be shared */
};

/* ---- The run (measure.c) ---------------------------------------------------------- */

/* Starts agent a, loads `records` of kind into it, starts its partner and times the copy
 * until the partner has imported a's high seq; wire bytes are counted on the partner's
 * connections to port dport (a's, or a relay's). Fails the run on error. */
void bench_copy_run(const struct bench_opts *o, struct bench_env *e, int a,
                    csb_value_kind kind, uint64_t records, int dport, struct bench_copy *out);

/* The two-sites mode (sites.c): sets out->why and returns where network namespaces or
 * tc are refused; always removes what it made. */
void bench_sites_run(const struct bench_opts *o, struct bench_env *e, struct bench_sites *out);

/* Starts agent b (the backup of a pair whose A holds high_seq) and waits until it has
 * imported high_seq: the seconds from its start (an hour at most, else the run fails). */
double bench_backup_start(struct bench_env *e, int b, uint64_t high_seq);

/* Row 10 on a pair of its own, discarded after (large.c). */
void bench_large_run(const struct bench_opts *o, struct bench_env *e, struct bench_large *out,
                     unsigned *sigkilled);

/* Every step, in order; fails the run (bench_fail) when a step does not work. */
void bench_run(const struct bench_opts *o, struct bench_env *e, struct bench_results *r);

/* Median of n values (sorts a copy); 0 when n == 0. */
double bench_median(const double *v, size_t n);
double bench_percentile(double *sorted, size_t n, double p);

/* Writes the markdown report to f. */
void bench_report(FILE *f, const struct bench_opts *o, const struct bench_results *r);

#endif
