/* The writers of a chaos run: each is one thread with its own client to one pool's agent
 * (the Data service, as the pool's own services write), its own keys and one module. It
 * runs one operation at a time, as fast as the pool answers, and logs each: invoke, then
 * ok, fail (definitely not applied) or unknown (it may have been). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "chaos/chaos.h"
#include "common/clock.h"
#include "proto/data.pb-c.h"

#define DELETE_PERCENT 15
#define FAIL_PAUSE_MS 20

static const char *const modules[] = {"UserServices.PresenceFocus", "ConfServices.DataConf"};

/* What a failed call tells about the write. Only answers that prove nothing changed count
 * as failed: not sent (ENOTCONN), or refused by the pool before its write transaction
 * (read-only, denied, unknown module). Everything else may have been applied. */
static enum chaos_outcome classify(csb_err rv)
{
	switch (rv) {
	case CSB_OK: return CHAOS_OK;
	case CSB_ENOTCONN:
	case CSB_EREADONLY:
	case CSB_EDENIED:
	case CSB_ENOTFOUND:
		return CHAOS_FAIL;
	default: return CHAOS_UNKNOWN;
	}
}

static csb_err write_one(csb_rpc_client *c, const char *module, enum chaos_op_kind kind,
                         const char *key, const char *value, size_t vlen)
{
	Csb__WriteItem it = CSB__WRITE_ITEM__INIT, *itp = &it;
	Csb__WriteRequest wr = CSB__WRITE_REQUEST__INIT;
	Csb__WriteReply *out = NULL;
	csb_err rv;

	it.op = kind == CHAOS_DELETE ? CSB__WRITE_OP__WRITE_DELETE : CSB__WRITE_OP__WRITE_PUT;
	it.key.data = (uint8_t *)key;
	it.key.len = strlen(key);
	if (kind == CHAOS_PUT) {
		it.value.data = (uint8_t *)value;
		it.value.len = vlen;
	}
	wr.module = (char *)module;
	wr.items = &itp;
	wr.n_items = 1;
	rv = csb_rpc_call_msg(c, "csb.Data/Write", &wr.base, &csb__write_reply__descriptor,
	                      CHAOS_WRITE_TIMEOUT_MS, (ProtobufCMessage **)&out, NULL);
	if (out != NULL)
		protobuf_c_message_free_unpacked(&out->base, NULL);
	return rv;
}

static struct chaos_op *op_new(struct chaos_writer *w)
{
	if (w->n_ops == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 4096;
		struct chaos_op *ops = realloc(w->ops, cap * sizeof(*ops));

		if (ops == NULL)
			return NULL;
		w->ops = ops;
		w->cap = cap;
	}
	return &w->ops[w->n_ops++];
}

struct writer_arg {
	struct chaos_run *r;
	struct chaos_writer *w;
	csb_rpc_client *c;
	uint64_t failing_since; /* csb_mono_ms() of the first of the failures in a row; 0 */
};

/* Whether the answer to a call says the connection carries nothing: no answer at all. */
static bool no_answer(csb_err rv)
{
	return rv == CSB_ENOTCONN || rv == CSB_ETIMEDOUT || rv == CSB_EUNREACH;
}

/* Replaces a client that has stopped answering (chaos.h, CHAOS_REOPEN_SLACK_MS). */
static void reopen_if_stuck(struct writer_arg *a, csb_err rv)
{
	struct chaos_run *r = a->r;
	uint64_t now = csb_mono_ms();
	csb_rpc_client *c;

	if (!no_answer(rv)) {
		a->failing_since = 0;
		return;
	}
	if (a->failing_since == 0)
		a->failing_since = now;
	if (now - a->failing_since < r->long_max_ms + CHAOS_REOPEN_SLACK_MS)
		return;
	if ((c = chaos_client(r, a->w->pool)) == NULL)
		return;
	chaos_log(r, "w%u reopen after_ms=%" PRIu64, a->w->id, now - a->failing_since);
	chaos_client_leave(a->c);
	a->c = c;
	a->failing_since = 0;
	atomic_fetch_add(&r->client_reopens, 1);
}

static void *writer_main(void *arg)
{
	struct writer_arg *a = arg;
	struct chaos_run *r = a->r;
	struct chaos_writer *w = a->w;
	char key[64], value[CHAOS_VALUE_MAX];

	while (!atomic_load(&r->stop)) {
		struct chaos_op *op = op_new(w);
		uint64_t index = w->n_ops - 1;
		size_t vlen;
		csb_err rv;

		if (op == NULL) {
			w->failed = true;
			break;
		}
		op->key = (uint32_t)chaos_rand(&w->rng, r->keys);
		op->kind = chaos_rand(&w->rng, 100) < DELETE_PERCENT ? CHAOS_DELETE : CHAOS_PUT;
		op->outcome = CHAOS_PENDING;
		op->invoke_ms = chaos_now(r);
		snprintf(key, sizeof(key), "w%u.k%" PRIu32, w->id, op->key);
		vlen = chaos_value(w->id, index, value);
		chaos_log(r, "w%u invoke %s %s %s v%" PRIu64, w->id,
		          op->kind == CHAOS_PUT ? "put" : "delete", chaos_pool(w->pool), key, index);
		rv = write_one(a->c, w->module, op->kind, key, value, vlen);
		op->err = (uint16_t)rv;
		op->done_ms = chaos_now(r);
		op->outcome = classify(rv);
		chaos_log(r, "w%u %s v%" PRIu64 "%s%s", w->id,
		          op->outcome == CHAOS_OK ? "ok" : op->outcome == CHAOS_FAIL ? "fail" : "unknown",
		          index, rv == CSB_OK ? "" : " err=", rv == CSB_OK ? "" : csb_err_name(rv));
		reopen_if_stuck(a, rv);
		if (rv != CSB_OK)
			csb_sleep_ms(FAIL_PAUSE_MS);
	}
	chaos_client_leave(a->c);
	free(a);
	return NULL;
}

csb_err chaos_writers_start(struct chaos_run *r)
{
	uint64_t seed = r->seed;

	for (unsigned p = 1; p <= CHAOS_POOLS; p++)
		for (unsigned j = 0; j < r->writers_per_pool; j++) {
			struct chaos_writer *w = &r->writers[r->n_writers];
			struct writer_arg *a = malloc(sizeof(*a));

			if (a == NULL)
				return CSB_ENOMEM;
			*w = (struct chaos_writer){.id = r->n_writers, .pool = p,
			                           .module = modules[j % 2]};
			w->rng = seed ^ (0x9e3779b97f4a7c15ull * (w->id + 1));
			if (w->rng == 0)
				w->rng = 1;
			*a = (struct writer_arg){r, w, chaos_client(r, p), 0};
			if (a->c == NULL) {
				free(a);
				return CSB_EUNREACH;
			}
			if (pthread_create(&w->thread, NULL, writer_main, a) != 0) {
				chaos_client_leave(a->c);
				free(a);
				return CSB_ENOMEM;
			}
			r->n_writers++;
		}
	return CSB_OK;
}

void chaos_writers_join(struct chaos_run *r)
{
	for (unsigned i = 0; i < r->n_writers; i++)
		pthread_join(r->writers[i].thread, NULL);
}

unsigned chaos_stalled_writers(struct chaos_run *r)
{
	unsigned stalled = 0;

	for (unsigned i = 0; i < r->n_writers; i++) {
		const struct chaos_writer *w = &r->writers[i];
		bool acked = false;

		for (size_t k = w->n_ops; k-- > 0 && w->ops[k].invoke_ms >= r->settle_ms && !acked;)
			acked = w->ops[k].outcome == CHAOS_OK;
		stalled += !acked;
	}
	return stalled;
}
