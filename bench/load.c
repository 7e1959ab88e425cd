/* Records of the benchmark (keys "k%09u", values of letters derived from key and version),
 * the change sets, loading through csb.Data/Write from several threads (the agent commits
 * concurrent calls together), and the Control calls the measurements read. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "common/clock.h"
#include "proto/data.pb-c.h"
#include "proto/status.pb-c.h"

size_t bench_key(char buf[BENCH_KEY_MAX], uint64_t k)
{
	return (size_t)snprintf(buf, BENCH_KEY_MAX, "k%09llu", (unsigned long long)k);
}

void bench_value(uint8_t *v, size_t n, uint64_t k, uint32_t ver)
{
	uint64_t x = (k + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)ver << 32 | ver);

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v[i] = (uint8_t)('a' + x % 26);
	}
}

void bench_value_of(csb_value_kind kind, uint8_t *v, size_t n, uint64_t k, uint32_t ver)
{
	uint64_t state = (k + 1) * 0xd1b54a32d192ed03ull ^ ((uint64_t)ver << 32 | kind);

	if (kind == CSB_VALUE_RANDOM)
		bench_value(v, n, k, ver);
	else
		csb_values_fill(kind, &state, v, n);
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void bench_pick(uint32_t seed, unsigned set, uint64_t n, uint64_t count, uint64_t *keys)
{
	uint64_t s = (uint64_t)seed << 32 | set, have = 0;

	if (count > n)
		count = n;
	while (have < count) {
		uint64_t w = 0;

		while (have < count)
			keys[have++] = splitmix(&s) % n;
		qsort(keys, have, sizeof(*keys), cmp_u64);
		for (uint64_t r = 0; r < have; r++) /* drop duplicates, draw again */
			if (w == 0 || keys[r] != keys[w - 1])
				keys[w++] = keys[r];
		have = w;
	}
}

/* One Data/Write call of n records: record numbers from keys[] or first.. when keys is
 * NULL. Buffers are the caller's (room for n). */
struct wbuf {
	Csb__WriteItem *items;
	Csb__WriteItem **ptrs;
	char (*keys)[BENCH_KEY_MAX];
	uint8_t *vals;
	size_t cap;
};

static bool wbuf_init(struct wbuf *b, size_t n, size_t value_size)
{
	b->cap = n;
	b->items = calloc(n, sizeof(*b->items));
	b->ptrs = calloc(n, sizeof(*b->ptrs));
	b->keys = calloc(n, BENCH_KEY_MAX);
	b->vals = malloc(n * (value_size ? value_size : 1));
	return b->items && b->ptrs && b->keys && b->vals;
}

static void wbuf_free(struct wbuf *b)
{
	free(b->items);
	free(b->ptrs);
	free(b->keys);
	free(b->vals);
}

static csb_err write_call(csb_rpc_client *c, struct wbuf *b, csb_value_kind kind,
                          const uint64_t *keys, uint64_t first, size_t n, size_t value_size,
                          uint32_t ver, uint64_t *last_seq, char *err)
{
	Csb__WriteRequest wr = CSB__WRITE_REQUEST__INIT;
	Csb__WriteReply *out = NULL;
	csb_err rv;

	for (size_t i = 0; i < n; i++) {
		uint64_t k = keys ? keys[i] : first + i;

		csb__write_item__init(&b->items[i]);
		b->items[i].key.len = bench_key(b->keys[i], k);
		b->items[i].key.data = (uint8_t *)b->keys[i];
		bench_value_of(kind, b->vals + i * value_size, value_size, k, ver);
		b->items[i].value.data = b->vals + i * value_size;
		b->items[i].value.len = value_size;
		b->ptrs[i] = &b->items[i];
	}
	wr.module = BENCH_MODULE;
	wr.items = b->ptrs;
	wr.n_items = n;
	rv = csb_rpc_call_msg(c, "csb.Data/Write", &wr.base, &csb__write_reply__descriptor, 120000,
	                      (ProtobufCMessage **)&out, err);
	if (rv == CSB_OK && last_seq != NULL)
		*last_seq = out->last_seq;
	if (out != NULL)
		protobuf_c_message_free_unpacked(&out->base, NULL);
	return rv;
}

csb_err bench_write_keys(csb_rpc_client *c, csb_value_kind kind, const uint64_t *keys,
                         size_t n, size_t value_size, uint32_t ver, uint64_t *last_seq,
                         char *err)
{
	struct wbuf b;
	csb_err rv = CSB_ENOMEM;

	if (wbuf_init(&b, n, value_size))
		rv = write_call(c, &b, kind, keys, 0, n, value_size, ver, last_seq, err);
	wbuf_free(&b);
	return rv;
}

struct loader {
	csb_rpc_client *c;
	csb_value_kind kind;
	uint64_t first, count, deadline;
	size_t value_size;
	uint32_t ver;
	unsigned batch;
	atomic_uint_fast64_t next;   /* next record offset to claim */
	atomic_uint_fast64_t done;   /* records written */
	atomic_int failed;           /* a csb_err */
	char err[CSB_RPC_ERROR_MAX];
	pthread_mutex_t mu;
};

static void *loader_main(void *arg)
{
	struct loader *l = arg;
	char err[CSB_RPC_ERROR_MAX] = "";
	struct wbuf b;

	if (!wbuf_init(&b, l->batch, l->value_size)) {
		atomic_store(&l->failed, CSB_ENOMEM);
		wbuf_free(&b);
		return NULL;
	}
	while (atomic_load(&l->failed) == CSB_OK) {
		uint64_t off = atomic_fetch_add(&l->next, l->batch), n;
		csb_err rv;

		if (off >= l->count || (l->deadline != 0 && csb_mono_ms() >= l->deadline))
			break;
		n = l->count - off < l->batch ? l->count - off : l->batch;
		rv = write_call(l->c, &b, l->kind, NULL, l->first + off, (size_t)n, l->value_size,
		                l->ver, NULL, err);
		if (rv != CSB_OK) {
			pthread_mutex_lock(&l->mu);
			if (atomic_load(&l->failed) == CSB_OK) {
				snprintf(l->err, sizeof(l->err), "%s", err[0] ? err : csb_strerror(rv));
				atomic_store(&l->failed, rv);
			}
			pthread_mutex_unlock(&l->mu);
			break;
		}
		atomic_fetch_add(&l->done, n);
	}
	wbuf_free(&b);
	return NULL;
}

csb_err bench_load(csb_rpc_client *c, csb_value_kind kind, uint64_t first, uint64_t count,
                   size_t value_size, uint32_t ver, unsigned batch, unsigned threads,
                   uint64_t deadline_mono_ms, uint64_t *done)
{
	struct loader l = {.c = c, .kind = kind, .first = first, .count = count,
	                   .deadline = deadline_mono_ms, .value_size = value_size, .ver = ver,
	                   .batch = batch ? batch : 10000};
	unsigned n;

	pthread_mutex_init(&l.mu, NULL);
	n = bench_threads_run(loader_main, &l, threads);
	pthread_mutex_destroy(&l.mu);
	*done = atomic_load(&l.done);
	if (n == 0)
		return CSB_ENOMEM;
	if (atomic_load(&l.failed) != CSB_OK)
		bench_note("load failed: %s", l.err);
	return (csb_err)atomic_load(&l.failed);
}

unsigned bench_threads_run(void *(*fn)(void *), void *arg, unsigned threads)
{
	pthread_t t[16];
	unsigned n = 0;

	if (threads == 0 || threads > 16)
		threads = threads ? 16 : 1;
	for (; n < threads; n++)
		if (pthread_create(&t[n], NULL, fn, arg) != 0)
			break;
	for (unsigned i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return n;
}

csb_err bench_status(csb_rpc_client *c, struct bench_status *out, char *err)
{
	Csb__StatusRequest sr = CSB__STATUS_REQUEST__INIT;
	Csb__PoolStatus *ps = NULL;
	csb_err rv;

	rv = csb_rpc_call_msg(c, "csb.Control/Status", &sr.base, &csb__pool_status__descriptor,
	                      10000, (ProtobufCMessage **)&ps, err);
	if (rv != CSB_OK)
		return rv;
	rv = CSB_ENOTFOUND;
	for (size_t i = 0; i < ps->n_backup_modules; i++) {
		const Csb__ModuleStatus *ms = ps->backup_modules[i];

		if (strcmp(ms->identity, BENCH_MODULE) != 0)
			continue;
		out->high_seq = ms->high_seq;
		out->exported_seq = ms->exported_seq;
		out->imported_seq = ms->imported_seq;
		out->exported_records = ms->exported_records_total;
		out->exported_bytes = ms->exported_bytes_total;
		out->exported_batches = ms->exported_batches_total;
		rv = CSB_OK;
	}
	protobuf_c_message_free_unpacked(&ps->base, NULL);
	return rv;
}

csb_err bench_sync_now(csb_rpc_client *c, uint32_t timeout_ms, struct bench_sync *out,
                       char *err)
{
	Csb__SyncRequest sr = CSB__SYNC_REQUEST__INIT;
	Csb__SyncReply *rep = NULL;
	csb_err rv;

	sr.module = BENCH_MODULE;
	sr.timeout_ms = timeout_ms;
	rv = csb_rpc_call_msg(c, "csb.Control/SyncNow", &sr.base, &csb__sync_reply__descriptor,
	                      timeout_ms + 5000, (ProtobufCMessage **)&rep, err);
	if (rv != CSB_OK)
		return rv;
	if (rep->n_modules != 1) {
		rv = CSB_EPROTO;
	} else {
		out->records = rep->modules[0]->records;
		out->bytes = rep->modules[0]->bytes;
		out->millis = rep->modules[0]->millis;
		out->imported_seq = rep->modules[0]->imported_seq;
	}
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return rv;
}

csb_err bench_verify(csb_rpc_client *c, bool *equal, uint64_t *primary, uint64_t *backup,
                     char *err)
{
	Csb__VerifyRequest vr = CSB__VERIFY_REQUEST__INIT;
	Csb__VerifyReply *rep = NULL;
	csb_err rv;

	vr.module = BENCH_MODULE;
	rv = csb_rpc_call_msg(c, "csb.Control/Verify", &vr.base, &csb__verify_reply__descriptor,
	                      300000, (ProtobufCMessage **)&rep, err);
	if (rv != CSB_OK)
		return rv;
	if (rep->n_modules != 1) {
		rv = CSB_EPROTO;
	} else {
		*equal = rep->modules[0]->equal;
		*primary = rep->modules[0]->primary_count;
		*backup = rep->modules[0]->backup_count;
	}
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return rv;
}
