/* The run, step by step. Pair 1 (pool01 = A, pool02 = B) holds --records: the initial copy,
 * the incremental syncs, rsync on the same changes, memory, a restarted B, the lag. Pair 2
 * (pool03/pool04), only with --big-records, holds the big store. Redis pairs (side.c) are
 * measured on the same rows. The measurements that are compared with each other are taken
 * in turns — floor overwrite, sync on pair 1, sync on pair 2, Redis catch-ups, per change
 * set — so that a busy moment of a shared machine falls on all of them alike. Then pairs
 * of their own for the value kinds (compression), 8 pools at once, and two sites
 * (sites.c). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "common/clock.h"

#define SYNC_TIMEOUT_MS 120000u

struct pair {
	struct bench_env *e;
	int a, b; /* indexes in e->ag */
	csb_rpc_client *ca;
	csb_value_kind kind;
};

static void sync_or_fail(csb_rpc_client *c, uint32_t timeout_ms, const char *when)
{
	char err[CSB_RPC_ERROR_MAX] = "";
	struct bench_sync s;
	csb_err rv;

	if ((rv = bench_sync_now(c, timeout_ms, &s, err)) != CSB_OK)
		bench_fail("SyncNow %s: %s", when, err[0] ? err : csb_strerror(rv));
}

static void status_or_fail(csb_rpc_client *c, struct bench_status *st, const char *who)
{
	char err[CSB_RPC_ERROR_MAX] = "";
	csb_err rv;

	if ((rv = bench_status(c, st, err)) != CSB_OK)
		bench_fail("Status of %s: %s", who, err[0] ? err : csb_strerror(rv));
}

static void loadavg(double out[3])
{
	FILE *f = fopen("/proc/loadavg", "r");

	if (f == NULL || fscanf(f, "%lf %lf %lf", &out[0], &out[1], &out[2]) != 3)
		out[0] = out[1] = out[2] = -1;
	if (f != NULL)
		fclose(f);
}

static void transport_limits(const struct bench_opts *o, struct bench_env *e,
                             struct bench_results *r)
{
	csb_tls_files server = {e->ag[0].cert, e->ag[0].key, e->ca_cert};
	csb_tls_files client = {e->admin_cert, e->admin_key, e->ca_cert};
	char err[256];

	if (o->nng_bytes == 0)
		return;
	r->nng_ok = bench_nng_throughput(o->nng_bytes, o->nng_msg, NULL, NULL, NULL, &r->nng_mbps,
	                                 err, sizeof(err)) == CSB_OK;
	if (!r->nng_ok)
		bench_fail("limit: nng over tcp: %s", err);
	r->nng_tls_ok = bench_nng_throughput(o->nng_bytes, o->nng_msg, &server, &client,
	                                     e->ag[0].pool, &r->nng_tls_mbps, err,
	                                     sizeof(err)) == CSB_OK;
	if (!r->nng_tls_ok)
		bench_fail("limit: nng over tls+tcp: %s", err);
	bench_note("limit: nng %.0f MB/s over tcp, %.0f MB/s over tls+tcp", r->nng_mbps,
	           r->nng_tls_mbps);
}

/* Changes set `set` of a store of n records in one Data/Write call and times how long B
 * takes to have them: from the call's return (the commit on A) to SyncNow's return on A
 * (B has applied the batch with its cursor in one durable commit and pulled again). */
static void incremental(const struct bench_opts *o, struct pair *p, unsigned set, uint32_t ver,
                        uint64_t n, struct bench_incr *inc)
{
	struct bench_agent *a = &p->e->ag[p->a], *b = &p->e->ag[p->b];
	uint64_t *keys = calloc(o->changes, sizeof(*keys)), seq, t0, t1, t2;
	char err[CSB_RPC_ERROR_MAX] = "";
	struct bench_status s0, s1;
	struct bench_tcp w0, w1;
	unsigned i = inc->n;
	bool wire;
	csb_err rv;

	if (keys == NULL || i >= 64)
		bench_fail("incremental: out of memory or too many repeats");
	bench_pick(o->seed, set, n, o->changes, keys);
	sync_or_fail(p->ca, SYNC_TIMEOUT_MS, "before an incremental sync"); /* idle start */
	status_or_fail(p->ca, &s0, a->pool);
	wire = bench_tcp_bytes(b->pid, a->port, &w0) == CSB_OK;
	t0 = csb_mono_us();
	rv = bench_write_keys(p->ca, p->kind, keys, o->changes, o->value_size, ver, &seq, err);
	if (rv != CSB_OK)
		bench_fail("writing the changes: %s", err[0] ? err : csb_strerror(rv));
	t1 = csb_mono_us();
	sync_or_fail(p->ca, SYNC_TIMEOUT_MS, "after the changes");
	t2 = csb_mono_us();
	wire = wire && bench_tcp_bytes(b->pid, a->port, &w1) == CSB_OK && w1.rx >= w0.rx;
	status_or_fail(p->ca, &s1, a->pool);
	inc->write_ms[i] = (double)(t1 - t0) / 1000.0;
	inc->sync_ms[i] = (double)(t2 - t1) / 1000.0;
	inc->wire_rx[i] = wire ? w1.rx - w0.rx : 0;
	inc->wire_tx[i] = wire ? w1.tx - w0.tx : 0;
	inc->wire_ok = (i == 0 || inc->wire_ok) && wire;
	inc->exported[i] = s1.exported_bytes - s0.exported_bytes;
	inc->records[i] = s1.exported_records - s0.exported_records;
	inc->store_records = n;
	inc->n = i + 1;
	inc->done = true;
	bench_note("sync of %llu changes in %llu records: write %.1f ms, sync %.1f ms, %llu "
	           "records, %llu B on the wire", (unsigned long long)o->changes,
	           (unsigned long long)n, inc->write_ms[i], inc->sync_ms[i],
	           (unsigned long long)inc->records[i], (unsigned long long)inc->wire_rx[i]);
	free(keys);
}

void bench_copy_run(const struct bench_opts *o, struct bench_env *e, int a,
                    csb_value_kind kind, uint64_t records, int dport, struct bench_copy *out)
{
	csb_rpc_client *ca = bench_client(e, a);
	struct bench_status sa;
	int b = e->ag[a].partner;
	struct bench_tcp w;
	uint64_t t0, done;
	csb_err rv;

	bench_agent_spawn(e, a);
	bench_agent_wait_ready(e, a, ca, 60000);
	bench_note("loading %llu %s records into %s", (unsigned long long)records,
	           csb_value_kind_name(kind), e->ag[a].pool);
	t0 = csb_mono_us();
	rv = bench_load(ca, kind, 0, records, o->value_size, 1, o->load_batch, o->load_threads, 0,
	                &done);
	if (rv != CSB_OK)
		bench_fail("loading %s: %s", e->ag[a].pool, csb_strerror(rv));
	out->load_s = (double)(csb_mono_us() - t0) / 1e6;
	status_or_fail(ca, &sa, e->ag[a].pool);
	bench_note("loaded in %.2f s; starting %s", out->load_s, e->ag[b].pool);

	out->copy_s = bench_backup_start(e, b, sa.high_seq);
	out->wire_ok = bench_tcp_bytes(e->ag[b].pid, dport, &w) == CSB_OK;
	out->wire_rx = w.rx;
	csb_rpc_client_close(ca);
	bench_note("initial copy in %.2f s", out->copy_s);
}

double bench_backup_start(struct bench_env *e, int b, uint64_t high_seq)
{
	struct bench_status sb = {0};
	uint64_t t0 = csb_mono_us(), until;
	csb_rpc_client *cb;

	bench_agent_spawn(e, b);
	cb = bench_client(e, b);
	until = csb_mono_ms() + 3600000u;
	while (bench_status(cb, &sb, NULL) != CSB_OK || sb.imported_seq < high_seq) {
		if (csb_mono_ms() > until)
			bench_fail("%s has imported seq %llu of %llu after an hour", e->ag[b].pool,
			           (unsigned long long)sb.imported_seq, (unsigned long long)high_seq);
		csb_sleep_ms(5);
	}
	csb_rpc_client_close(cb);
	return (double)(csb_mono_us() - t0) / 1e6;
}

/* Measurement 1: load pair 1's A, then start its B and time the copy. */
static void initial_copy(const struct bench_opts *o, struct pair *p, struct bench_results *r)
{
	char path[BENCH_PATH + 16];

	bench_copy_run(o, p->e, p->a, CSB_VALUE_RANDOM, o->records, p->e->ag[p->a].port, &r->copy);
	snprintf(path, sizeof(path), "%s/data.mdb", p->e->ag[p->a].dir);
	r->store_bytes_a = bench_file_size(path);
}

/* Measurement 3's store: pair 2 with --big-records, loaded while its B replicates along
 * (this is not the initial copy of measurement 1), until --big-budget ends the load. */
static uint64_t big_store(const struct bench_opts *o, struct pair *p, struct bench_results *r)
{
	uint64_t t0 = csb_mono_us(), done = 0;
	csb_err rv;

	bench_agent_spawn(p->e, p->a);
	bench_agent_wait_ready(p->e, p->a, p->ca, 60000);
	bench_agent_spawn(p->e, p->b);
	bench_note("loading %llu records into the big pair (budget %llu s)",
	           (unsigned long long)o->big_records, (unsigned long long)o->big_budget_s);
	rv = bench_load(p->ca, CSB_VALUE_RANDOM, 0, o->big_records, o->value_size, 1,
	                o->load_batch, o->load_threads, csb_mono_ms() + o->big_budget_s * 1000,
	                &done);
	if (rv != CSB_OK)
		bench_fail("loading the big store: %s", csb_strerror(rv));
	r->big_cut = done < o->big_records;
	bench_note("big A holds %llu records after %.0f s; waiting for its B",
	           (unsigned long long)done, (double)(csb_mono_us() - t0) / 1e6);
	sync_or_fail(p->ca, 3600000u, "after loading the big store");
	r->big_load_s = (double)(csb_mono_us() - t0) / 1e6;
	return done;
}

/* A consistent copy of A's live store (mdb_copy reads it in one read transaction) into
 * snap/data.mdb, replacing the last one; its time and size out. */
static bool snapshot(struct bench_env *e, const char *snap, double *seconds, uint64_t *size,
                     struct bench_results *r)
{
	char path[BENCH_PATH + 16];

	snprintf(path, sizeof(path), "%s/data.mdb", snap);
	remove(path); /* mdb_copy will not overwrite */
	if (!bench_mdb_copy(e->ag[0].dir, snap, seconds, r->rsync_err, sizeof(r->rsync_err)))
		return false;
	*size = bench_file_size(path);
	return true;
}

/* Measurement 4, around the first change set of pair 1. rsync gets what a user would give
 * it: a consistent copy of the primary's store, taken by mdb_copy while A runs, brought up
 * to date in a destination folder seeded by a full rsync before the changes. (A is not
 * stopped: see the report's notes.) */
static void rsync_seed(struct bench_env *e, struct bench_results *r, const char *snap,
                       const char *dst)
{
	r->mdb_copy_ok = snapshot(e, snap, &r->mdb_copy_s, &r->mdb_copy_bytes, r);
	r->rsync_ok = r->mdb_copy_ok && bench_rsync("", snap, dst, &r->rsync_full, r->rsync_err,
	                                            sizeof(r->rsync_err));
}

static void rsync_delta(struct bench_env *e, struct bench_results *r, const char *snap,
                        const char *dst)
{
	uint64_t bytes;

	if (r->rsync_ok)
		r->rsync_ok = snapshot(e, snap, &r->rsync_snapshot_s, &bytes, r) &&
		              bench_rsync("--no-whole-file", snap, dst, &r->rsync_delta, r->rsync_err,
		                          sizeof(r->rsync_err));
	if (!r->rsync_ok || !r->mdb_copy_ok)
		bench_note("rsync/mdb_copy: %s", r->rsync_err);
	else
		bench_note("rsync: %.2f s, %llu B sent; mdb_copy %.2f s", r->rsync_delta.seconds,
		           (unsigned long long)r->rsync_delta.bytes_sent, r->mdb_copy_s);
}

static void verify(struct pair *p, bool *equal, uint64_t *primary, uint64_t *backup)
{
	char err[CSB_RPC_ERROR_MAX] = "";
	csb_err rv;

	if ((rv = bench_verify(p->ca, equal, primary, backup, err)) != CSB_OK)
		bench_fail("Verify: %s", err[0] ? err : csb_strerror(rv));
	if (!*equal)
		bench_fail("Verify: %s and its backup copy differ (%llu / %llu records)",
		           p->e->ag[p->a].pool, (unsigned long long)*primary,
		           (unsigned long long)*backup);
}

/* Measurements 2, 3, 4 and 6b in turns, one change set at a time. */
static void syncs(const struct bench_opts *o, struct bench_env *e, struct pair *small,
                  struct pair *big, uint64_t big_n, struct bench_floor_store *fs,
                  struct bench_floor_store *big_fs, struct bench_results *r)
{
	char snap[BENCH_PATH], dst[BENCH_PATH];
	bool eq;
	uint64_t np, nb;

	snprintf(snap, sizeof(snap), "%.1000s/snapshot", e->dir);
	snprintf(dst, sizeof(dst), "%.1000s/rsync_copy", e->dir);
	sync_or_fail(small->ca, SYNC_TIMEOUT_MS, "after the initial copy");
	for (unsigned s = 0; s < o->repeats; s++) {
		bench_floor_overwrite(fs, s, 100 + s, &r->floor);
		if (big_fs != NULL)
			bench_floor_overwrite(big_fs, 1000 + s, 300 + s, &r->big_floor);
		if (s == 0)
			rsync_seed(e, r, snap, dst);
		incremental(o, small, s, 100 + s, o->records, &r->small);
		if (s == 0)
			rsync_delta(e, r, snap, dst);
		if (big != NULL)
			incremental(o, big, 1000 + s, 300 + s, big_n, &r->big);
		if (r->side.n > 0) {
			uint64_t *keys = calloc(o->changes, sizeof(*keys));

			if (keys == NULL)
				bench_fail("out of memory");
			bench_pick(o->seed, s, o->records, o->changes, keys);
			bench_side_catchup(o, &r->side, keys, 100 + s);
			free(keys);
		}
	}
	verify(small, &r->verify_equal, &r->verify_primary, &r->verify_backup);
	if (big != NULL)
		verify(big, &eq, &np, &nb);
}

/* Pair 1's B is stopped (SIGTERM), change set `set` lands on A, and B is started again:
 * the time until it has imported them, and the bytes it received for it (the changes
 * only: it resumes from its cursor). Then the same on each Redis variant. */
static void restart_backup(const struct bench_opts *o, struct pair *p, unsigned set,
                           uint32_t ver, struct bench_results *r)
{
	struct bench_env *e = p->e;
	uint64_t *keys = calloc(o->changes, sizeof(*keys)), seq = 0, t0, until;
	char err[CSB_RPC_ERROR_MAX] = "";
	struct bench_status sb = {0};
	struct bench_tcp w;
	csb_rpc_client *cb;
	csb_err rv;

	if (keys == NULL)
		bench_fail("out of memory");
	bench_pick(o->seed, set, o->records, o->changes, keys);
	sync_or_fail(p->ca, SYNC_TIMEOUT_MS, "before stopping B");
	r->sigkilled += !bench_agent_stop(e, p->b, SIGTERM);
	if ((rv = bench_write_keys(p->ca, p->kind, keys, o->changes, o->value_size, ver, &seq,
	                           err)) != CSB_OK)
		bench_fail("writing the changes: %s", err[0] ? err : csb_strerror(rv));
	t0 = csb_mono_us();
	bench_agent_spawn(e, p->b);
	cb = bench_client(e, p->b);
	until = csb_mono_ms() + SYNC_TIMEOUT_MS;
	while (bench_status(cb, &sb, NULL) != CSB_OK || sb.imported_seq < seq) {
		if (csb_mono_ms() > until)
			bench_fail("restarted B has imported seq %llu of %llu after %u ms",
			           (unsigned long long)sb.imported_seq, (unsigned long long)seq,
			           SYNC_TIMEOUT_MS);
		csb_sleep_ms(5);
	}
	r->restart_s = (double)(csb_mono_us() - t0) / 1e6;
	csb_rpc_client_close(cb);
	/* What reached the new process; A's own export counter would also count the batch it
	 * sent to the stopped B's last long poll. */
	if (bench_tcp_bytes(e->ag[p->b].pid, e->ag[p->a].port, &w) == CSB_OK)
		r->restart_wire_rx = w.rx;
	r->restart_done = true;
	bench_note("B restarted after %llu changes: back in %.2f s, %llu B on the wire",
	           (unsigned long long)o->changes, r->restart_s,
	           (unsigned long long)r->restart_wire_rx);
	if (r->side.n > 0)
		bench_side_restart(o, e, &r->side, keys, ver);
	free(keys);
}

/* The value-kind rows: a pair of their own per kind (random is pair 1), loaded and copied
 * like measurement 1, then --kind-repeats change sets synced like measurement 2. */
static void kinds(const struct bench_opts *o, struct bench_env *e, struct bench_results *r)
{
	static const csb_value_kind all[3] = {CSB_VALUE_RANDOM, CSB_VALUE_PRESENCE,
	                                      CSB_VALUE_CONFERENCE};

	for (unsigned k = 0; k < 3 && o->kind_records > 0; k++) {
		struct bench_kind *kr = &r->kinds[k];
		struct pair p = {e, 0, 0, NULL, all[k]};

		p.a = bench_env_add_pair(e);
		p.b = p.a + 1;
		kr->kind = all[k];
		kr->records = o->kind_records;
		bench_copy_run(o, e, p.a, all[k], o->kind_records, e->ag[p.a].port, &kr->copy);
		p.ca = bench_client(e, p.a);
		sync_or_fail(p.ca, SYNC_TIMEOUT_MS, "after a value kind's initial copy");
		for (unsigned s = 0; s < o->kind_repeats; s++)
			incremental(o, &p, 2000 + s, 700 + s, o->kind_records, &kr->incr);
		csb_rpc_client_close(p.ca);
		r->sigkilled += bench_pair_discard(e, p.a);
		kr->done = true;
	}
}

struct scale_pool {
	struct bench_env *e;
	const struct bench_opts *o;
	int i;
	csb_err rv;
};

static void *scale_load(void *arg)
{
	struct scale_pool *sp = arg;
	csb_rpc_client *c = bench_client(sp->e, sp->i);
	uint64_t done;

	sp->rv = bench_load(c, CSB_VALUE_RANDOM, 0, sp->o->scale_records, sp->o->value_size, 1,
	                    sp->o->load_batch, 1, 0, &done);
	csb_rpc_client_close(c);
	return NULL;
}

/* 8 pools (4 pairs) started empty; each loads --scale-records of its own at once while its
 * partner backs them up: the time until every load returned, and until every backup copy
 * has its partner's high seq. */
static void scale(const struct bench_opts *o, struct bench_env *e, struct bench_scale *out,
                  unsigned *sigkilled)
{
	struct scale_pool sp[8];
	pthread_t t[8];
	struct bench_status st[8];
	csb_rpc_client *c[8];
	int first = e->n_agents;
	uint64_t t0, until;
	bool caught = false;

	for (int p = 0; p < 4; p++)
		bench_env_add_pair(e);
	for (int i = 0; i < 8; i++) {
		bench_agent_spawn(e, first + i);
		c[i] = bench_client(e, first + i);
	}
	for (int i = 0; i < 8; i++)
		bench_agent_wait_ready(e, first + i, c[i], 60000);
	bench_note("scale: 8 pools load %llu records each at once",
	           (unsigned long long)o->scale_records);
	t0 = csb_mono_us();
	for (int i = 0; i < 8; i++) {
		sp[i] = (struct scale_pool){e, o, first + i, CSB_OK};
		if (pthread_create(&t[i], NULL, scale_load, &sp[i]) != 0)
			bench_fail("scale: cannot start a loader");
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		if (sp[i].rv != CSB_OK)
			bench_fail("scale: loading %s: %s", e->ag[first + i].pool,
			           csb_strerror(sp[i].rv));
	}
	out->load_s = (double)(csb_mono_us() - t0) / 1e6;
	until = csb_mono_ms() + 3600000u;
	while (!caught) {
		caught = true;
		for (int i = 0; i < 8; i++)
			status_or_fail(c[i], &st[i], e->ag[first + i].pool);
		for (int i = 0; i < 8; i++) /* partner of first+i is first+(i^1) */
			caught = caught && st[i].imported_seq >= st[i ^ 1].high_seq;
		if (!caught && csb_mono_ms() > until)
			bench_fail("scale: the backups have not caught up after an hour");
		if (!caught)
			csb_sleep_ms(5);
	}
	out->caught_s = (double)(csb_mono_us() - t0) / 1e6;
	out->pools = 8;
	out->records = o->scale_records;
	out->done = true;
	bench_note("scale: loads returned after %.2f s, every backup caught up after %.2f s",
	           out->load_s, out->caught_s);
	for (int i = 0; i < 8; i++)
		csb_rpc_client_close(c[i]);
	for (int p = 0; p < 4; p++)
		*sigkilled += bench_pair_discard(e, first + 2 * p);
}

/* The end: each B, then each A, with SIGTERM; counts the agents that needed SIGKILL (an
 * agent whose partner's import long-polls it may hang in its shutdown: see the report). */
static void stop_all(struct bench_env *e, struct bench_results *r)
{
	for (int i = 1; i < e->n_agents; i += 2)
		r->sigkilled += !bench_agent_stop(e, i, SIGTERM);
	for (int i = 0; i < e->n_agents; i += 2)
		r->sigkilled += !bench_agent_stop(e, i, SIGTERM);
}

/* The lag run on pair 1, then on each Redis variant. */
static void lag(const struct bench_opts *o, struct pair *small, struct bench_results *r)
{
	if (o->lag_seconds <= 0)
		return;
	bench_note("lag: %.0f s at %llu records/s", o->lag_seconds,
	           (unsigned long long)o->lag_rate);
	sync_or_fail(small->ca, SYNC_TIMEOUT_MS, "before the lag run");
	bench_lag_run_csb(o, small->e, small->a, o->records, &r->lag);
	r->lag_done = true;
	bench_note("lag: p50 %.1f ms, p99 %.1f ms, max %.1f ms", r->lag.p50_ms, r->lag.p99_ms,
	           r->lag.max_ms);
	if (r->side.n > 0)
		bench_side_lag(o, &r->side);
}

void bench_run(const struct bench_opts *o, struct bench_env *e, struct bench_results *r)
{
	struct pair small = {e, 0, 1, NULL, CSB_VALUE_RANDOM};
	struct pair big = {e, -1, -1, NULL, CSB_VALUE_RANDOM};
	struct bench_floor_store *fs, *big_fs = NULL;
	char dir[BENCH_PATH];
	uint64_t t0 = csb_mono_us(), big_n = 0;

	loadavg(r->load_start);
	snprintf(dir, sizeof(dir), "%.1000s/floor", e->dir);
	bench_note("limit: bulk insert of %llu records in one durable transaction",
	           (unsigned long long)o->records);
	fs = bench_floor_open(o, dir, o->records, &r->floor);
	bench_note("limit: bulk insert in %.2f s (write path), %.2f s (apply path)",
	           r->floor.bulk_s, r->floor.bulk_apply_s);
	transport_limits(o, e, r);

	small.ca = bench_client(e, small.a);
	initial_copy(o, &small, r);
	bench_side_start(o, e, &r->side);
	if (o->big_records > o->records) {
		big.a = bench_env_add_pair(e);
		big.b = big.a + 1;
		big.ca = bench_client(e, big.a);
		big_n = big_store(o, &big, r);
		snprintf(dir, sizeof(dir), "%.1000s/big_floor", e->dir);
		bench_note("limit: a floor store of %llu records", (unsigned long long)big_n);
		big_fs = bench_floor_open(o, dir, big_n, &r->big_floor);
	}
	syncs(o, e, &small, big.ca != NULL ? &big : NULL, big_n, fs, big_fs, r);
	bench_floor_finish(fs, r->floor.n, &r->floor);
	if (big_fs != NULL)
		bench_floor_finish(big_fs, 0, &r->big_floor);
	if (big.ca != NULL) {
		csb_rpc_client_close(big.ca);
		r->sigkilled += bench_pair_discard(e, big.a); /* disk and memory back */
	}

	bench_rss(e->ag[small.a].pid, &r->rss_a);
	bench_rss(e->ag[small.b].pid, &r->rss_b);
	bench_side_memory(&r->side);
	restart_backup(o, &small, o->repeats, 100 + o->repeats, r);
	lag(o, &small, r);
	csb_rpc_client_close(small.ca);
	bench_side_stop(e, &r->side);
	r->sigkilled += bench_pair_discard(e, small.a);

	kinds(o, e, r);
	if (o->scale_records > 0)
		scale(o, e, &r->scale, &r->sigkilled);
	if (o->site_records > 0)
		bench_sites_run(o, e, &r->sites);
	if (o->large_files > 0)
		bench_large_run(o, e, &r->large, &r->sigkilled);
	stop_all(e, r);
	loadavg(r->load_end);
	r->total_s = (double)(csb_mono_us() - t0) / 1e6;
}
