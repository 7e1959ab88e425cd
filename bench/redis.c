/* Redis side by side (issue 14): Debian's redis-server as a primary/replica pair in the
 * run's folder, on free loopback ports, both with `appendonly yes` and `appendfsync
 * always`, optionally with the replica link over TLS (certificates from the run's CA).
 * A write is what the bench's Data/Write call is: the records in one MSET, then INCR of a
 * counter key whose reply is the write's seq; the replica "shows" a write once GET of the
 * counter on it reaches that seq. With appendfsync always a server writes and fsyncs its
 * AOF before it sends any reply of the same event-loop turn, so a primary's reply and a
 * replica's GET both come after the durable append. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/bench.h"
#include "common/certs.h"
#include "common/clock.h"
#include "common/port.h"

#define SEQ_KEY "bench:seq"

bool bench_redis_found(char *version, size_t len)
{
	FILE *p = popen("redis-server --version 2>/dev/null", "r");
	char line[256] = "";
	const char *v;
	bool ok;

	if (p == NULL)
		return false;
	if (fgets(line, sizeof(line), p) == NULL)
		line[0] = '\0';
	ok = pclose(p) == 0 && (v = strstr(line, "v=")) != NULL;
	if (ok)
		snprintf(version, len, "%.*s", (int)strcspn(v + 2, " \n"), v + 2);
	return ok;
}

static void server_init(struct bench_env *e, struct bench_redis *s, const char *pair,
                        const char *role, bool tls)
{
	char base[BENCH_PATH];

	memcpy(base, e->dir, sizeof(base));
	snprintf(s->name, sizeof(s->name), "%s %s", pair, role);
	snprintf(s->dir, sizeof(s->dir), "%.900s/redis-%.32s-%.16s", base, pair, role);
	snprintf(s->conf, sizeof(s->conf), "%.900s/redis-%.32s-%.16s.conf", base, pair, role);
	snprintf(s->log, sizeof(s->log), "%.900s/redis-%.32s-%.16s.log", base, pair, role);
	if (mkdir(s->dir, 0700) != 0)
		bench_fail("mkdir %s failed", s->dir);
	if ((s->port = csb_port_pick()) <= 0 || (tls && (s->tls_port = csb_port_pick()) <= 0))
		bench_fail("no free loopback port for redis-server");
}

void bench_redis_pair_init(struct bench_env *e, struct bench_redis_pair *p, const char *name,
                           bool tls)
{
	char base[BENCH_PATH];

	memset(p, 0, sizeof(*p));
	memcpy(base, e->dir, sizeof(base));
	p->tls = tls;
	server_init(e, &p->primary, name, "primary", tls);
	server_init(e, &p->replica, name, "replica", false);
	if (!tls)
		return;
	snprintf(p->cert, sizeof(p->cert), "%.900s/redis-%.32s.crt", base, name);
	snprintf(p->key, sizeof(p->key), "%.900s/redis-%.32s.key", base, name);
	if (csb_certs_issue(e->ca_cert, e->ca_key, "redis", p->cert, p->key) != CSB_OK)
		bench_fail("cannot issue a certificate for redis-server");
}

static void write_conf(struct bench_env *e, const struct bench_redis_pair *p,
                       const struct bench_redis *s, bool replica)
{
	FILE *f = fopen(s->conf, "w");

	if (f == NULL)
		bench_fail("cannot write %s", s->conf);
	fprintf(f, "# written by csb_bench for one run\n"
	        "bind 127.0.0.1\nport %d\ndir %s\nlogfile %s\ndaemonize no\n"
	        "save \"\"\nappendonly yes\nappendfsync always\n"
	        /* The default waits 5 s for more replicas before a diskless full sync. */
	        "repl-diskless-sync-delay 0\n",
	        s->port, s->dir, s->log);
	if (p->tls)
		fprintf(f, "tls-cert-file %s\ntls-key-file %s\ntls-ca-cert-file %s\n"
		        "tls-replication yes\n", p->cert, p->key, e->ca_cert);
	if (p->tls && !replica)
		fprintf(f, "tls-port %d\n", s->tls_port);
	if (replica)
		fprintf(f, "replicaof 127.0.0.1 %d\n", p->tls ? p->primary.tls_port : p->primary.port);
	if (fclose(f) != 0)
		bench_fail("cannot write %s", s->conf);
}

struct bench_resp *bench_redis_connect(const struct bench_redis *s)
{
	struct bench_resp *c = NULL;

	return bench_resp_open("127.0.0.1", s->port, &c) == CSB_OK ? c : NULL;
}

void bench_redis_start(struct bench_env *e, struct bench_redis_pair *p, bool replica)
{
	struct bench_redis *s = replica ? &p->replica : &p->primary;
	char *argv[] = {"redis-server", s->conf, NULL};

	write_conf(e, p, s, replica);
	s->pid = bench_spawn(e, argv, s->log, NULL);
}

void bench_redis_wait_ready(struct bench_env *e, struct bench_redis *s, uint32_t timeout_ms)
{
	uint64_t until = csb_mono_ms() + timeout_ms;
	int status;

	for (;;) {
		struct bench_resp *c = bench_redis_connect(s);
		struct bench_resp_reply rep = {0};
		const char *ping[] = {"PING"};
		bool up = c != NULL && bench_resp_call(c, ping, 1, &rep) == CSB_OK && rep.type == '+';

		bench_resp_reply_free(&rep);
		bench_resp_close(c);
		if (up)
			return;
		if (bench_proc_exited(e, s->pid, &status)) {
			s->pid = 0;
			bench_fail("redis-server (%s) exited at start (status %d); see %s", s->name,
			           status, s->log);
		}
		if (csb_mono_ms() > until)
			bench_fail("redis-server (%s) does not answer after %u ms", s->name, timeout_ms);
		csb_sleep_ms(10);
	}
}

bool bench_redis_stop(struct bench_env *e, struct bench_redis *s)
{
	bool clean = bench_proc_stop(e, s->pid, SIGTERM); /* SIGTERM: fsync the AOF, exit */

	s->pid = 0;
	return clean;
}

csb_err bench_redis_write(struct bench_resp *c, const uint64_t *keys, uint64_t first, size_t n,
                          size_t value_size, uint32_t ver, uint64_t *seq, char *err)
{
	const char *incr[] = {"INCR", SEQ_KEY};
	uint8_t *v = malloc(value_size ? value_size : 1);
	struct bench_resp_reply ok = {0}, num = {0};
	char key[BENCH_KEY_MAX];
	csb_err rv;

	if (v == NULL)
		return CSB_ENOMEM;
	rv = bench_resp_begin(c, (unsigned)(1 + 2 * n));
	if (rv == CSB_OK)
		rv = bench_resp_arg(c, "MSET", 4);
	for (size_t i = 0; i < n && rv == CSB_OK; i++) {
		uint64_t k = keys ? keys[i] : first + i;
		size_t klen = bench_key(key, k);

		bench_value(v, value_size, k, ver);
		if ((rv = bench_resp_arg(c, key, klen)) == CSB_OK)
			rv = bench_resp_arg(c, v, value_size);
	}
	free(v);
	if (rv == CSB_OK)
		rv = bench_resp_cmd(c, incr, 2);
	if (rv == CSB_OK)
		rv = bench_resp_send(c);
	if (rv == CSB_OK && (rv = bench_resp_read(c, &ok)) == CSB_OK)
		rv = bench_resp_read(c, &num);
	if (rv == CSB_OK && (ok.type != '+' || num.type != ':')) {
		snprintf(err, CSB_RPC_ERROR_MAX, "redis: %.200s", ok.type == '-' ? ok.text : num.text);
		rv = CSB_EIO;
	}
	if (rv == CSB_OK && seq != NULL)
		*seq = (uint64_t)num.num;
	bench_resp_reply_free(&ok);
	bench_resp_reply_free(&num);
	return rv;
}

csb_err bench_redis_seq(struct bench_resp *c, uint64_t *seq)
{
	const char *get[] = {"GET", SEQ_KEY};
	struct bench_resp_reply rep = {0};
	csb_err rv = bench_resp_call(c, get, 2, &rep);

	if (rv == CSB_OK && rep.type == '$')
		*seq = strtoull(rep.str, NULL, 10);
	else if (rv == CSB_OK && rep.type == '_')
		*seq = 0;
	else if (rv == CSB_OK)
		rv = CSB_EBUSY; /* -LOADING while it loads its data */
	bench_resp_reply_free(&rep);
	return rv;
}

/* The value of "name:" in an INFO reply, or -1. */
static long long info_field(const char *info, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = info; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, name, n) == 0 && p[n] == ':')
			return strtoll(p + n + 1, NULL, 10);
	return -1;
}

csb_err bench_redis_info(struct bench_resp *c, const char *section, const char *const *names,
                         long long *values, unsigned n)
{
	const char *info[] = {"INFO", section};
	struct bench_resp_reply rep = {0};
	csb_err rv = bench_resp_call(c, info, 2, &rep);

	if (rv == CSB_OK && rep.type != '$')
		rv = CSB_EBUSY;
	for (unsigned i = 0; i < n && rv == CSB_OK; i++)
		values[i] = info_field(rep.str, names[i]);
	bench_resp_reply_free(&rep);
	return rv;
}

bool bench_redis_durable(struct bench_resp *c, bool after_full_sync)
{
	static const char *const names[] = {"loading", "aof_rewrite_in_progress",
	                                    "aof_rewrite_scheduled", "aof_rewrites",
	                                    "aof_last_bgrewrite_status"};
	long long v[5];

	/* After a full sync the replica's AOF holds nothing of the new data set until the
	 * rewrite it starts has finished: only then would a crash not lose it. */
	if (bench_redis_info(c, "persistence", names, v, 5) != CSB_OK)
		return false;
	return v[0] == 0 && v[1] == 0 && v[2] == 0 && (!after_full_sync || v[3] >= 1);
}

/* ---- Loading from several connections ---------------------------------------------- */

struct rloader {
	const struct bench_redis *s;
	uint64_t first, count;
	size_t value_size;
	uint32_t ver;
	unsigned batch;
	atomic_uint_fast64_t next, seq;
	atomic_int failed;
	char err[CSB_RPC_ERROR_MAX];
};

static void *rloader_main(void *arg)
{
	struct rloader *l = arg;
	struct bench_resp *c = bench_redis_connect(l->s);
	char err[CSB_RPC_ERROR_MAX] = "";

	if (c == NULL)
		atomic_store(&l->failed, CSB_EUNREACH);
	while (c != NULL && atomic_load(&l->failed) == CSB_OK) {
		uint64_t off = atomic_fetch_add(&l->next, l->batch), n, seq = 0, prev;
		csb_err rv;

		if (off >= l->count)
			break;
		n = l->count - off < l->batch ? l->count - off : l->batch;
		rv = bench_redis_write(c, NULL, l->first + off, (size_t)n, l->value_size, l->ver, &seq,
		                       err);
		if (rv != CSB_OK) {
			snprintf(l->err, sizeof(l->err), "%s", err[0] ? err : csb_strerror(rv));
			atomic_store(&l->failed, rv);
			break;
		}
		prev = atomic_load(&l->seq);
		while (seq > prev && !atomic_compare_exchange_weak(&l->seq, &prev, seq))
			;
	}
	bench_resp_close(c);
	return NULL;
}

csb_err bench_redis_load(const struct bench_redis *s, uint64_t first, uint64_t count,
                         size_t value_size, uint32_t ver, unsigned batch, unsigned threads,
                         uint64_t *seq)
{
	struct rloader l = {.s = s, .first = first, .count = count, .value_size = value_size,
	                    .ver = ver, .batch = batch ? batch : 10000};
	unsigned n = bench_threads_run(rloader_main, &l, threads);

	if (n == 0)
		return CSB_ENOMEM;
	if (atomic_load(&l.failed) != CSB_OK)
		bench_note("redis load failed: %s", l.err);
	*seq = atomic_load(&l.seq);
	return (csb_err)atomic_load(&l.failed);
}

/* ---- The lag run's ops ---------------------------------------------------------------- */

static void *writer_open(void *ctx)
{
	return bench_redis_connect(&((struct bench_redis_pair *)ctx)->primary);
}

static void *watcher_open(void *ctx)
{
	return bench_redis_connect(&((struct bench_redis_pair *)ctx)->replica);
}

static void conn_close(void *conn)
{
	bench_resp_close(conn);
}

static csb_err write_keys(void *conn, const uint64_t *keys, size_t n, size_t value_size,
                          uint32_t ver, uint64_t *seq, char *err)
{
	return bench_redis_write(conn, keys, 0, n, value_size, ver, seq, err);
}

static csb_err applied(void *conn, uint64_t *seq)
{
	return bench_redis_seq(conn, seq);
}

const struct bench_lag_ops bench_redis_lag_ops = {
	.writer_open = writer_open, .writer_close = conn_close, .write = write_keys,
	.watcher_open = watcher_open, .watcher_close = conn_close, .applied = applied,
};
