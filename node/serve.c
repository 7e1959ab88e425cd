/* The node's half of failover (DESIGN.md §4): the serving pool answers PullServed and
 * ServedKeys for the data it serves for a failed-over pool; the failed pool follows that data
 * into its own store (keeping the serving side's seqs), after setting aside whatever it
 * wrote past the fork. The steps themselves are one transaction each (storage/serve.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/wire.h"
#include "node/convert.h"
#include "node/internal/node.h"
#include "proto/failover.pb-c.h"
#include "proto/sync.pb-c.h"

#define FOLLOW_CALL_MS 30000
#define SERVED_KEYS_MAX 1000

/* The served module of (pool, module) that this node serves now; false with rep->error. */
static bool served_module(struct csb_node *n, const char *pool, const char *module, char *out,
                          char *err)
{
	csb_guard g;

	if (!csb_node_exports(n, module) ||
	    csb_store_served_name(pool, module, out) != CSB_OK ||
	    csb_store_guard_get(n->store, out, &g) != CSB_OK || !g.set) {
		node__set_error(err, "%s serves no data of %.100s's %.100s", n->name, pool, module);
		return false;
	}
	return true;
}

/* Only the pool whose data it is (following it) or an administrator. */
static bool serve_authorize(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                            char err[CSB_RPC_ERROR_MAX])
{
	struct csb_node *n = ctx;
	const char *pool = msg->descriptor == &csb__pull_request__descriptor
	                           ? ((const Csb__PullRequest *)msg)->source
	                           : ((const Csb__ServedKeysRequest *)msg)->pool;

	if (strcmp(req->principal, pool) == 0 || node__is_admin(n, req->principal))
		return true;
	node__set_error(err, "%.100s may not read %.100s's served data on %s", req->principal, pool,
	                n->name);
	return false;
}

static csb_err pull_served(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                           csb_rpc_reply *rep)
{
	struct csb_node *n = ctx;
	const Csb__PullRequest *pr = (const Csb__PullRequest *)msg;
	Csb__Batch b = CSB__BATCH__INIT;
	Csb__Digest dg = CSB__DIGEST__INIT;
	Csb__Record *recs = NULL, **ptrs = NULL;
	char served[CSB_MODULE_MAX + 1];
	size_t max_bytes = pr->max_bytes && pr->max_bytes < n->cfg.max_bytes ? pr->max_bytes
	                                                                      : n->cfg.max_bytes;
	size_t max_records = pr->max_records && pr->max_records < n->cfg.max_records
	                             ? pr->max_records : n->cfg.max_records;
	csb_changes ch;
	csb_lineage own;
	csb_err rv;

	(void)req;
	if (!served_module(n, pr->source, pr->module, served, rep->error))
		return CSB_ENOTFOUND;
	if ((rv = csb_store_lineage(n->store, &own)) != CSB_OK)
		return rv;
	rv = csb_store_changes(n->store, served, pr->after_seq, max_records, max_bytes, &ch);
	if (rv == CSB_ELOGGONE)
		node__set_error(rep->error, "%s no longer holds the changes of %.100s after seq %" PRIu64,
		                n->name, served, pr->after_seq);
	if (rv != CSB_OK)
		return rv;
	if (ch.count > 0 && ((recs = calloc(ch.count, sizeof(*recs))) == NULL ||
	                     (ptrs = calloc(ch.count, sizeof(*ptrs))) == NULL)) {
		rv = CSB_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < ch.count; i++) {
		csb__record__init(&recs[i]);
		csb_pb_record_to_pb(&ch.records[i], &recs[i]);
		recs[i].value_len = ch.records[i].value_len;
		ptrs[i] = &recs[i];
	}
	b.records = ptrs;
	b.n_records = ch.count;
	b.after_seq = pr->after_seq;
	b.last_seq = ch.last_seq;
	b.high_seq = ch.high_seq;
	b.lineage.data = own.b;
	b.lineage.len = CSB_LINEAGE_LEN;
	csb_pb_digest_to_pb(&ch.digest, &dg);
	b.digest = &dg;
	rv = csb_wire_pack(&b.base, &rep->body, &rep->body_len);
out:
	free(recs);
	free(ptrs);
	csb_changes_clear(&ch);
	return rv;
}

static csb_err served_keys(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                           csb_rpc_reply *rep)
{
	struct csb_node *n = ctx;
	const Csb__ServedKeysRequest *kr = (const Csb__ServedKeysRequest *)msg;
	Csb__Records out = CSB__RECORDS__INIT;
	Csb__Record *pb = NULL, **ptrs = NULL;
	csb_record *recs = NULL;
	char served[CSB_MODULE_MAX + 1];
	size_t k = 0;
	csb_err rv = CSB_OK;

	(void)req;
	if (!served_module(n, kr->pool, kr->module, served, rep->error))
		return CSB_ENOTFOUND;
	if (kr->n_keys > SERVED_KEYS_MAX) {
		node__set_error(rep->error, "at most %d keys at a time", SERVED_KEYS_MAX);
		return CSB_ETOOBIG;
	}
	if (kr->n_keys > 0 && ((recs = calloc(kr->n_keys, sizeof(*recs))) == NULL ||
	                       (pb = calloc(kr->n_keys, sizeof(*pb))) == NULL ||
	                       (ptrs = calloc(kr->n_keys, sizeof(*ptrs))) == NULL)) {
		rv = CSB_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < kr->n_keys; i++) {
		rv = csb_store_get(n->store, NULL, served, kr->keys[i].data, kr->keys[i].len, &recs[k]);
		if (rv == CSB_ENOTFOUND)
			continue;
		if (rv != CSB_OK)
			goto out;
		csb__record__init(&pb[k]);
		csb_pb_record_to_pb(&recs[k], &pb[k]);
		ptrs[k] = &pb[k];
		k++;
	}
	out.records = ptrs;
	out.n_records = k;
	rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
out:
	for (size_t i = 0; i < k; i++)
		csb_record_clear(&recs[i]);
	free(recs);
	free(pb);
	free(ptrs);
	return rv;
}

size_t node__serve_methods(struct csb_node *n, csb_rpc_method *out)
{
	out[0] = (csb_rpc_method){"csb.Failover/PullServed", NULL, n, &csb__pull_request__descriptor,
	                          pull_served, serve_authorize};
	out[1] = (csb_rpc_method){"csb.Failover/ServedKeys", NULL, n,
	                          &csb__served_keys_request__descriptor, served_keys,
	                          serve_authorize};
	return 2;
}

/* ---- The failed pool's side ---------------------------------------------------------- */

struct key_list {
	csb_record *r; /* keys only (owned) */
	size_t n, cap;
	bool oom;
};

static bool collect_key(void *ctx, const csb_record *r)
{
	struct key_list *kl = ctx;
	csb_record *grown;

	if (kl->n == kl->cap) {
		kl->cap = kl->cap ? 2 * kl->cap : 64;
		if ((grown = realloc(kl->r, kl->cap * sizeof(*grown))) == NULL) {
			kl->oom = true;
			return false;
		}
		kl->r = grown;
	}
	memset(&kl->r[kl->n], 0, sizeof(kl->r[0]));
	if ((kl->r[kl->n].key = malloc(r->key_len)) == NULL) {
		kl->oom = true;
		return false;
	}
	memcpy(kl->r[kl->n].key, r->key, r->key_len);
	kl->r[kl->n++].key_len = r->key_len;
	return true;
}

/* Puts back the serving side's versions of keys[0..k). */
static csb_err restore_some(struct csb_node *n, const char *module, const csb_record *keys,
                            size_t k, char *err)
{
	Csb__ServedKeysRequest kr = CSB__SERVED_KEYS_REQUEST__INIT;
	ProtobufCBinaryData *kb = calloc(k, sizeof(*kb));
	Csb__Records *out = NULL;
	csb_record *recs = NULL;
	csb_err rv;

	if (kb == NULL)
		return CSB_ENOMEM;
	for (size_t i = 0; i < k; i++)
		kb[i] = (ProtobufCBinaryData){keys[i].key_len, keys[i].key};
	kr.pool = n->name;
	kr.module = (char *)module;
	kr.keys = kb;
	kr.n_keys = k;
	rv = csb_node_partner_call(n, "csb.Failover/ServedKeys", &kr.base, &csb__records__descriptor,
	                           FOLLOW_CALL_MS, (ProtobufCMessage **)&out, err);
	free(kb);
	if (rv != CSB_OK)
		return rv;
	if (out->n_records > 0 && (recs = calloc(out->n_records, sizeof(*recs))) == NULL) {
		rv = CSB_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < out->n_records; i++)
		csb_pb_record_from_pb(out->records[i], &recs[i]);
	rv = csb_store_restore_keys(n->store, module, recs, out->n_records, NULL);
	if (rv != CSB_OK)
		node__set_error(err, "%s cannot put back the served versions of %s: %s", n->name,
		                module, csb_strerror(rv));
out:
	free(recs);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return rv;
}

/* Own writes past the fork go to the quarantine of epoch; the serving side's versions of
 * those keys come back (the follower then brings whatever changed after the fork). Safe to
 * repeat: a key that has a record again is left alone. */
static csb_err set_aside(struct csb_node *n, const char *module, uint64_t fork_seq, uint64_t epoch,
                      uint64_t *orphans, char *err)
{
	struct key_list kl = {0};
	uint64_t moved;
	csb_cursor fc;
	csb_err rv;

	/* What it already followed from the serving side (a catch-up that ran before, cut
	 * short) is not its own: only writes above that are. */
	if (csb_store_follow_cursor(n->store, module, &fc) == CSB_OK && fc.applied_seq > fork_seq)
		fork_seq = fc.applied_seq;
	if ((rv = csb_store_rewind(n->store, module, fork_seq, epoch, &moved)) != CSB_OK) {
		node__set_error(err, "%s cannot set aside its writes past the fork of %s: %s", n->name,
		                module, csb_strerror(rv));
		return rv;
	}
	rv = csb_store_orphans(n->store, module, epoch, 0, collect_key, &kl, orphans);
	if (rv == CSB_OK && kl.oom)
		rv = CSB_ENOMEM;
	for (size_t i = 0; rv == CSB_OK && i < kl.n; i += SERVED_KEYS_MAX)
		rv = restore_some(n, module, kl.r + i,
		                  kl.n - i < SERVED_KEYS_MAX ? kl.n - i : SERVED_KEYS_MAX, err);
	for (size_t i = 0; i < kl.n; i++)
		free(kl.r[i].key);
	free(kl.r);
	return rv;
}

/* One PullServed and its follow; *done when the batch reached the serving side's high. */
static csb_err follow_step(struct csb_node *n, const char *module, uint64_t *moved, bool *done,
                           uint64_t *high, char *err)
{
	Csb__PullRequest pr = CSB__PULL_REQUEST__INIT;
	Csb__Batch *b = NULL;
	csb_batch_hdr h = {0};
	csb_record *recs = NULL;
	csb_module_info mi;
	csb_err rv;

	if ((rv = csb_store_module_info(n->store, NULL, module, &mi)) != CSB_OK)
		return rv;
	pr.source = n->name;
	pr.module = (char *)module;
	pr.after_seq = mi.high_seq;
	pr.max_records = n->cfg.max_records;
	pr.max_bytes = n->cfg.max_bytes;
	rv = csb_node_partner_call(n, "csb.Failover/PullServed", &pr.base, &csb__batch__descriptor,
	                           FOLLOW_CALL_MS, (ProtobufCMessage **)&b, err);
	if (rv != CSB_OK)
		return rv;
	if (b->lineage.len != CSB_LINEAGE_LEN || b->after_seq != mi.high_seq ||
	    b->last_seq < b->after_seq || b->last_seq > b->high_seq) {
		node__set_error(err, "inconsistent served batch: after %" PRIu64 " last %" PRIu64,
		                b->after_seq, b->last_seq);
		rv = CSB_EPROTO;
		goto out;
	}
	if (b->n_records > 0 && (recs = calloc(b->n_records, sizeof(*recs))) == NULL) {
		rv = CSB_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < b->n_records; i++)
		csb_pb_record_from_pb(b->records[i], &recs[i]);
	memcpy(h.lineage.b, b->lineage.data, CSB_LINEAGE_LEN);
	h.after_seq = b->after_seq;
	h.last_seq = b->last_seq;
	if (b->last_seq > b->after_seq &&
	    (rv = csb_store_follow(n->store, module, &h, recs, b->n_records, NULL)) != CSB_OK) {
		node__set_error(err, "%s cannot follow %s after seq %" PRIu64 ": %s", n->name, module,
		                b->after_seq, csb_strerror(rv));
		goto out;
	}
	if (b->last_seq > b->after_seq)
		node__export_note_commit(n, module, b->last_seq);
	*moved += b->n_records;
	*done = b->last_seq == b->high_seq;
	*high = b->high_seq;
out:
	free(recs);
	protobuf_c_message_free_unpacked(&b->base, NULL);
	return rv;
}

csb_err csb_node_follow(csb_node *n, const char *module, uint64_t fork_seq, uint64_t epoch,
                        uint64_t until_seq, uint64_t deadline, csb_node_follow_result *res,
                        char err[CSB_RPC_ERROR_MAX])
{
	csb_module_info mi;
	uint64_t high = 0;
	bool done = false;
	csb_err rv;

	memset(res, 0, sizeof(*res));
	if ((rv = set_aside(n, module, fork_seq, epoch, &res->orphans, err)) != CSB_OK)
		return rv;
	for (;;) {
		if ((rv = follow_step(n, module, &res->moved, &done, &high, err)) != CSB_OK)
			return rv;
		if ((rv = csb_store_module_info(n->store, NULL, module, &mi)) != CSB_OK)
			return rv;
		if (until_seq != UINT64_MAX ? mi.high_seq >= until_seq : done)
			break;
		if (done) /* the serving side has no more yet: it must not be fenced */
			csb_sleep_ms(20);
		if (csb_mono_ms() >= deadline || atomic_load(&n->stopping)) {
			node__set_error(err, "%s followed %s to seq %" PRIu64 " of %" PRIu64
			                " before the time ran out", n->name, module, mi.high_seq,
			                until_seq != UINT64_MAX ? until_seq : high);
			return CSB_ETIMEDOUT;
		}
	}
	res->seq = mi.high_seq;
	res->count = mi.count;
	res->digest = mi.digest;
	return CSB_OK;
}

bool csb_node_import_facts(csb_node *n, const char *module, uint64_t *source_high,
                           uint64_t *last_import_ms)
{
	struct importer *im = node__import_ref(n, module);

	if (im == NULL)
		return false;
	pthread_mutex_lock(&im->mu);
	*source_high = im->source_high_seq;
	*last_import_ms = im->last_import_ms;
	pthread_mutex_unlock(&im->mu);
	node__importer_rele(im);
	return true;
}

bool csb_node_replica_current(csb_node *n)
{
	return atomic_load(&n->cms_current);
}

static bool lease_ok(void *ctx)
{
	return csb_node_lease_age(ctx) <= ((struct csb_node *)ctx)->lease_ms;
}

void csb_node_set_lease(csb_node *n, uint64_t ms)
{
	n->lease_ms = ms;
	csb_store_set_commit_check(n->store, ms ? lease_ok : NULL, n);
}

uint64_t csb_node_lease_age(csb_node *n)
{
	uint64_t from = atomic_load(&n->lease_from_ms), now = csb_boot_ms();

	if (n->lease_ms == 0)
		return 0;
	if (from == 0)
		return UINT64_MAX;
	return now > from ? now - from : 0;
}
