/* Redis side by side: the steps of the run that measure a Redis primary/replica pair (plain,
 * and with the replica link over TLS) on the rows csbackup is measured on — load, initial
 * copy (in sync; durable), catch-up after each change set, memory, a replica restarted
 * after one change set, lag and write latency under the lag run's load. measure.c calls
 * them in turns with csbackup's own steps, so that both see the same machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "common/clock.h"

#define WAIT_MS 3600000u

static const char *const variant_name[2] = {"plain", "tls"};

/* Until the replica shows seq (in sync; *sync_s) and then holds it durably (*durable_s),
 * both from t0. full: the replica went through a full sync (its AOF is rewritten after). */
static void wait_replica(struct bench_redis *rep, uint64_t seq, uint64_t t0, bool full,
                         double *sync_s, double *durable_s)
{
	uint64_t until = csb_mono_ms() + WAIT_MS, shown = 0;
	struct bench_resp *c = NULL;

	while (c == NULL || bench_redis_seq(c, &shown) != CSB_OK || shown < seq) {
		if (csb_mono_ms() > until)
			bench_fail("redis %s shows seq %llu of %llu after an hour", rep->name,
			           (unsigned long long)shown, (unsigned long long)seq);
		if (c == NULL && (c = bench_redis_connect(rep)) != NULL)
			continue;
		csb_sleep_ms(5);
	}
	*sync_s = (double)(csb_mono_us() - t0) / 1e6;
	while (!bench_redis_durable(c, full)) {
		if (csb_mono_ms() > until)
			bench_fail("redis %s: its AOF is not rewritten after an hour", rep->name);
		csb_sleep_ms(5);
	}
	*durable_s = (double)(csb_mono_us() - t0) / 1e6;
	bench_resp_close(c);
}

/* Full and partial syncs the primary has served. */
static void sync_counts(struct bench_redis *primary, long long out[2])
{
	static const char *const names[] = {"sync_full", "sync_partial_ok"};
	struct bench_resp *c = bench_redis_connect(primary);

	if (c == NULL || bench_redis_info(c, "stats", names, out, 2) != CSB_OK)
		bench_fail("redis %s: INFO stats does not answer", primary->name);
	bench_resp_close(c);
}

void bench_side_start(const struct bench_opts *o, struct bench_env *e, struct bench_side *s)
{
	memset(s, 0, sizeof(*s));
	if (!o->redis) {
		snprintf(s->why, sizeof(s->why), "not run (--no-redis)");
		return;
	}
	if (!bench_redis_found(s->version, sizeof(s->version))) {
		snprintf(s->why, sizeof(s->why), "skipped: no redis-server on PATH (Debian's "
		         "redis-server package, installed by bazel/deps.sh)");
		bench_note("redis: %s", s->why);
		return;
	}
	s->n = 2;
	for (unsigned v = 0; v < s->n; v++) {
		struct bench_redis_pair *p = &s->pair[v];
		struct bench_redis_run *r = &s->run[v];
		uint64_t t0, seq = 0;
		long long syncs[2];
		csb_err rv;

		bench_redis_pair_init(e, p, variant_name[v], v == 1);
		bench_redis_start(e, p, false);
		bench_redis_wait_ready(e, &p->primary, 30000);
		bench_note("redis %s %s: loading %llu records", s->version, variant_name[v],
		           (unsigned long long)o->records);
		t0 = csb_mono_us();
		rv = bench_redis_load(&p->primary, 0, o->records, o->value_size, 1, o->load_batch,
		                      o->load_threads, &seq);
		if (rv != CSB_OK)
			bench_fail("loading redis (%s): %s", variant_name[v], csb_strerror(rv));
		r->load_s = (double)(csb_mono_us() - t0) / 1e6;
		r->seq = seq;
		t0 = csb_mono_us();
		bench_redis_start(e, p, true);
		wait_replica(&p->replica, seq, t0, true, &r->sync_s, &r->durable_s);
		sync_counts(&p->primary, syncs);
		r->done = true;
		bench_note("redis %s: load %.2f s, replica in sync %.2f s, durable %.2f s (%lld full "
		           "syncs)", variant_name[v], r->load_s, r->sync_s, r->durable_s, syncs[0]);
	}
}

void bench_side_catchup(const struct bench_opts *o, struct bench_side *s, const uint64_t *keys,
                        uint32_t ver)
{
	for (unsigned v = 0; v < s->n; v++) {
		struct bench_redis_run *r = &s->run[v];
		struct bench_resp *pc = bench_redis_connect(&s->pair[v].primary);
		struct bench_resp *rc = bench_redis_connect(&s->pair[v].replica);
		char err[CSB_RPC_ERROR_MAX] = "";
		uint64_t seq = 0, shown = 0, t1;
		csb_err rv;

		if (pc == NULL || rc == NULL || r->n >= 64)
			bench_fail("redis %s: cannot connect for a catch-up", variant_name[v]);
		rv = bench_redis_write(pc, keys, 0, o->changes, o->value_size, ver, &seq, err);
		if (rv != CSB_OK)
			bench_fail("redis %s: writing the changes: %s", variant_name[v],
			           err[0] ? err : csb_strerror(rv));
		t1 = csb_mono_us();
		while (bench_redis_seq(rc, &shown) == CSB_OK && shown < seq)
			; /* as fast as the replica answers: SyncNow returns as soon as B has it */
		if (shown < seq)
			bench_fail("redis %s: the replica stopped answering", variant_name[v]);
		r->catchup_ms[r->n++] = (double)(csb_mono_us() - t1) / 1000.0;
		r->seq = seq;
		bench_resp_close(pc);
		bench_resp_close(rc);
	}
}

void bench_side_memory(struct bench_side *s)
{
	for (unsigned v = 0; v < s->n; v++) {
		bench_rss(s->pair[v].primary.pid, &s->run[v].rss_primary);
		bench_rss(s->pair[v].replica.pid, &s->run[v].rss_replica);
	}
}

void bench_side_restart(const struct bench_opts *o, struct bench_env *e, struct bench_side *s,
                        const uint64_t *keys, uint32_t ver)
{
	for (unsigned v = 0; v < s->n; v++) {
		struct bench_redis_pair *p = &s->pair[v];
		struct bench_redis_run *r = &s->run[v];
		char err[CSB_RPC_ERROR_MAX] = "";
		struct bench_resp *pc;
		long long before[2], after[2];
		uint64_t seq = 0, t0;
		csb_err rv;

		bench_redis_stop(e, &p->replica);
		if ((pc = bench_redis_connect(&p->primary)) == NULL)
			bench_fail("redis %s: cannot connect to the primary", variant_name[v]);
		rv = bench_redis_write(pc, keys, 0, o->changes, o->value_size, ver, &seq, err);
		bench_resp_close(pc);
		if (rv != CSB_OK)
			bench_fail("redis %s: writing the changes: %s", variant_name[v],
			           err[0] ? err : csb_strerror(rv));
		sync_counts(&p->primary, before);
		t0 = csb_mono_us();
		bench_redis_start(e, p, true);
		/* Whether it was a full sync is known only afterwards: wait as if it were. */
		wait_replica(&p->replica, seq, t0, false, &r->restart_sync_s, &r->restart_durable_s);
		sync_counts(&p->primary, after);
		r->restart_full = after[0] > before[0];
		if (r->restart_full) {
			struct bench_resp *rc = bench_redis_connect(&p->replica);

			while (rc != NULL && !bench_redis_durable(rc, true))
				csb_sleep_ms(5);
			bench_resp_close(rc);
			r->restart_durable_s = (double)(csb_mono_us() - t0) / 1e6;
		}
		r->restart_done = true;
		r->seq = seq;
		bench_note("redis %s: replica restarted, in sync after %.2f s (%s resync), durable "
		           "after %.2f s", variant_name[v], r->restart_sync_s,
		           r->restart_full ? "full" : "partial", r->restart_durable_s);
	}
}

void bench_side_lag(const struct bench_opts *o, struct bench_side *s)
{
	for (unsigned v = 0; v < s->n; v++) {
		struct bench_redis_run *r = &s->run[v];

		bench_note("redis %s: lag, %.0f s at %llu records/s", variant_name[v], o->lag_seconds,
		           (unsigned long long)o->lag_rate);
		bench_lag_run(o, &bench_redis_lag_ops, &s->pair[v], o->records, &r->lag);
		r->lag_done = true;
		bench_note("redis %s: lag p50 %.2f ms, p99 %.2f ms, max %.2f ms; write p50 %.2f ms",
		           variant_name[v], r->lag.p50_ms, r->lag.p99_ms, r->lag.max_ms,
		           r->lag.write_p50_ms);
	}
}

void bench_side_stop(struct bench_env *e, struct bench_side *s)
{
	for (unsigned v = 0; v < s->n; v++) {
		bench_redis_stop(e, &s->pair[v].replica);
		bench_redis_stop(e, &s->pair[v].primary);
	}
}
