/* Replication lag under a steady write load: writer threads put `lag_batch` random
 * records into the primary in one write call every batch/rate seconds, paced by the clock
 * (each call has its slot; concurrent calls share the primary's group commit), and note
 * when each call returned (its commit) with its seq. Meanwhile the watcher polls the
 * backup and notes when each applied seq first showed. A call's lag is the first poll
 * reply at or past its seq minus the moment its write returned. The same method serves
 * csbackup (Data/Write on A, Status of B) and Redis (MSET + INCR, GET on the replica),
 * through struct bench_lag_ops. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench.h"
#include "common/clock.h"

struct lag_call {
	uint64_t sched_us, start_us, done_us; /* monotonic */
	uint64_t last_seq;                    /* 0: the call failed */
};

struct lag_sample {
	uint64_t t_us;
	uint64_t seq;
};

struct lag_run {
	const struct bench_opts *o;
	const struct bench_lag_ops *ops;
	void *ctx;
	uint64_t n_records, n_calls, t0_us, period_ns;
	struct lag_call *calls;
	atomic_uint_fast64_t next;
	atomic_uint_fast64_t failed;
	char err[CSB_RPC_ERROR_MAX];
};

static void sleep_until_us(uint64_t t_us)
{
	struct timespec ts = {.tv_sec = (time_t)(t_us / 1000000u),
	                      .tv_nsec = (long)(t_us % 1000000u) * 1000L};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
		;
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void *writer_main(void *arg)
{
	struct lag_run *r = arg;
	unsigned batch = r->o->lag_batch;
	uint64_t *keys = calloc(batch, sizeof(*keys));
	char err[CSB_RPC_ERROR_MAX];
	void *conn = r->ops->writer_open(r->ctx);

	if (conn == NULL && atomic_fetch_add(&r->failed, 1) == 0)
		snprintf(r->err, sizeof(r->err), "a writer could not connect");
	for (uint64_t i; keys != NULL && conn != NULL &&
	                 (i = atomic_fetch_add(&r->next, 1)) < r->n_calls;) {
		struct lag_call *c = &r->calls[i];
		csb_err rv;

		c->sched_us = r->t0_us + i * r->period_ns / 1000u;
		sleep_until_us(c->sched_us);
		for (unsigned j = 0; j < batch; j++)
			keys[j] = mix(((uint64_t)r->o->seed << 40) ^ (i * batch + j)) % r->n_records;
		c->start_us = csb_mono_us();
		err[0] = '\0';
		rv = r->ops->write(conn, keys, batch, r->o->value_size, 5000 + (uint32_t)i,
		                   &c->last_seq, err);
		if (rv != CSB_OK) {
			c->last_seq = 0;
			if (atomic_fetch_add(&r->failed, 1) == 0)
				snprintf(r->err, sizeof(r->err), "%s", err[0] ? err : csb_strerror(rv));
		}
		/* Published last: the watcher reads last_seq once it sees done_us. */
		__atomic_store_n(&c->done_us, csb_mono_us(), __ATOMIC_RELEASE);
	}
	if (conn != NULL)
		r->ops->writer_close(conn);
	free(keys);
	return NULL;
}

/* Polls the backup until it has applied max_seq (or the writers are done and 30 s have
 * passed). */
static size_t watch(const struct bench_opts *o, void *w, struct lag_run *r,
                    struct lag_sample **out, uint64_t *polls, uint64_t *poll_span_us)
{
	size_t n = 0, cap = 1 << 16;
	struct lag_sample *s = malloc(cap * sizeof(*s));
	uint64_t seen = 0, start = csb_mono_us(), giveup = 0;

	if (s == NULL)
		bench_fail("out of memory");
	*polls = 0;
	for (;;) {
		uint64_t now, max_seq = 0, applied;
		bool all = atomic_load(&r->next) >= r->n_calls;

		if (r->ops->applied(w, &applied) == CSB_OK) {
			now = csb_mono_us();
			(*polls)++;
			if (applied > seen) {
				if (n == cap && (s = realloc(s, (cap *= 2) * sizeof(*s))) == NULL)
					bench_fail("out of memory");
				s[n++] = (struct lag_sample){now, applied};
				seen = applied;
			}
		}
		now = csb_mono_us();
		if (all) {
			/* The slots are all claimed; once every call has returned, wait for its seq. */
			bool returned = true;

			for (uint64_t i = 0; i < r->n_calls && returned; i++) {
				if (__atomic_load_n(&r->calls[i].done_us, __ATOMIC_ACQUIRE) == 0)
					returned = false;
				else if (r->calls[i].last_seq > max_seq)
					max_seq = r->calls[i].last_seq;
			}
			if (returned && giveup == 0)
				giveup = now + 30000000u;
			if (returned && seen >= max_seq)
				break;
			if (giveup != 0 && now > giveup)
				break;
		}
		if (o->lag_poll_us > 0)
			sleep_until_us(now + o->lag_poll_us);
	}
	*poll_span_us = csb_mono_us() - start;
	*out = s;
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The first sample at or past seq (samples ascend in seq), or NULL. */
static const struct lag_sample *first_at(const struct lag_sample *s, size_t n, uint64_t seq)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s[mid].seq >= seq)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo < n ? &s[lo] : NULL;
}

static void summarize(struct lag_run *r, const struct lag_sample *s, size_t n,
                      struct bench_lag *out)
{
	double *lag = calloc(r->n_calls, sizeof(*lag)), *wr = calloc(r->n_calls, sizeof(*wr));
	double *late = calloc(r->n_calls, sizeof(*late));
	size_t k = 0, ok = 0;
	uint64_t first = UINT64_MAX, last = 0;

	if (!lag || !wr || !late)
		bench_fail("out of memory");
	for (uint64_t i = 0; i < r->n_calls; i++) {
		const struct lag_call *c = &r->calls[i];
		const struct lag_sample *v;

		if (c->last_seq == 0)
			continue;
		wr[ok] = (double)(c->done_us - c->start_us) / 1000.0;
		late[ok++] = (double)(c->start_us - c->sched_us) / 1000.0;
		if (c->start_us < first)
			first = c->start_us;
		if (c->done_us > last)
			last = c->done_us;
		if ((v = first_at(s, n, c->last_seq)) == NULL) {
			out->lost++;
			continue;
		}
		lag[k++] = ((double)v->t_us - (double)c->done_us) / 1000.0;
	}
	out->calls = ok;
	out->records = ok * r->o->lag_batch;
	out->seconds = last > first ? (double)(last - first) / 1e6 : 0;
	out->achieved_rate = out->seconds > 0 ? (double)out->records / out->seconds : 0;
	qsort(lag, k, sizeof(*lag), cmp_double);
	qsort(wr, ok, sizeof(*wr), cmp_double);
	qsort(late, ok, sizeof(*late), cmp_double);
	out->p50_ms = bench_percentile(lag, k, 50);
	out->p99_ms = bench_percentile(lag, k, 99);
	out->max_ms = k ? lag[k - 1] : 0;
	out->min_ms = k ? lag[0] : 0;
	out->write_p50_ms = bench_percentile(wr, ok, 50);
	out->write_p99_ms = bench_percentile(wr, ok, 99);
	out->late_p99_ms = bench_percentile(late, ok, 99);
	free(lag);
	free(wr);
	free(late);
}

void bench_lag_run(const struct bench_opts *o, const struct bench_lag_ops *ops, void *ctx,
                   uint64_t n_records, struct bench_lag *out)
{
	struct lag_run r = {.o = o, .ops = ops, .ctx = ctx, .n_records = n_records};
	unsigned nt = o->lag_threads ? o->lag_threads : 1;
	pthread_t *t = calloc(nt, sizeof(*t));
	void *w = ops->watcher_open(ctx);
	struct lag_sample *s = NULL;
	uint64_t polls = 0, span = 0, applied;
	unsigned started = 0;
	size_t n;

	memset(out, 0, sizeof(*out));
	r.n_calls = (uint64_t)(o->lag_seconds * (double)o->lag_rate / o->lag_batch);
	r.period_ns = (uint64_t)(1e9 * o->lag_batch / (double)o->lag_rate);
	if (t == NULL || r.n_calls == 0 || (r.calls = calloc(r.n_calls, sizeof(*r.calls))) == NULL)
		bench_fail("lag: nothing to do or out of memory");
	if (w == NULL || ops->applied(w, &applied) != CSB_OK)
		bench_fail("lag: the backup does not answer");
	r.t0_us = csb_mono_us() + 100000; /* every writer is waiting by then */
	for (; started < nt; started++)
		if (pthread_create(&t[started], NULL, writer_main, &r) != 0)
			break;
	if (started == 0)
		bench_fail("lag: cannot start writers");
	n = watch(o, w, &r, &s, &polls, &span);
	for (unsigned i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	if (atomic_load(&r.failed) > 0)
		bench_note("lag: %llu write calls failed, the first: %s",
		           (unsigned long long)atomic_load(&r.failed), r.err);
	summarize(&r, s, n, out);
	out->poll_ms = polls ? (double)span / 1000.0 / (double)polls : 0;
	free(s);
	free(r.calls);
	free(t);
	ops->watcher_close(w);
}

/* csbackup's side: every writer shares one client to A (nng contexts carry concurrent
 * calls, as a pool's services would), the watcher asks B's Status. */
struct csb_lag {
	csb_rpc_client *ca, *cb;
};

static void *csb_writer_open(void *ctx)
{
	return ((struct csb_lag *)ctx)->ca;
}

static void csb_conn_keep(void *conn)
{
	(void)conn; /* closed by bench_lag_run_csb */
}

static csb_err csb_write(void *conn, const uint64_t *keys, size_t n, size_t value_size,
                         uint32_t ver, uint64_t *seq, char *err)
{
	return bench_write_keys(conn, CSB_VALUE_RANDOM, keys, n, value_size, ver, seq, err);
}

static void *csb_watcher_open(void *ctx)
{
	return ((struct csb_lag *)ctx)->cb;
}

static csb_err csb_applied(void *conn, uint64_t *seq)
{
	struct bench_status st;
	csb_err rv = bench_status(conn, &st, NULL);

	*seq = st.imported_seq;
	return rv;
}

void bench_lag_run_csb(const struct bench_opts *o, struct bench_env *e, int a,
                       uint64_t n_records, struct bench_lag *out)
{
	static const struct bench_lag_ops ops = {
		.writer_open = csb_writer_open, .writer_close = csb_conn_keep, .write = csb_write,
		.watcher_open = csb_watcher_open, .watcher_close = csb_conn_keep,
		.applied = csb_applied,
	};
	struct csb_lag l = {bench_client(e, a), bench_client(e, e->ag[a].partner)};

	bench_lag_run(o, &ops, &l, n_records, out);
	csb_rpc_client_close(l.cb);
	csb_rpc_client_close(l.ca);
}
