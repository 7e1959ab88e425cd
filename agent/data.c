/* The Data service: the pool's own services (and `csb data …`) write and read records of
 * this pool's modules here, or read the backup copy of the partner's. Writes are
 * acknowledged once durable, committed in groups (writer.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/internal/pool.h"
#include "common/clock.h"
#include "common/log.h"
#include "node/convert.h"
#include "common/wire.h"
#include "proto/data.pb-c.h"

#define LIST_LIMIT_MAX 10000
#define LIST_LIMIT_DEFAULT 1000

/* The module a request addresses: this pool's own (out = module), or, for a failed-over pool
 * whose users this pool serves now, its served data (out = the served module name). */
static csb_err check_module(struct pool *p, const char *module, const char *pool, char *out,
                            csb_rpc_reply *rep)
{
	csb_guard g;

	if (!csb_node_exports(p->node, module)) {
		snprintf(rep->error, sizeof(rep->error), "unknown module %.200s", module);
		return CSB_ENOTFOUND;
	}
	if (pool[0] == '\0' || strcasecmp(pool, p->name) == 0) {
		snprintf(out, CSB_MODULE_MAX + 1, "%s", module);
		return CSB_OK;
	}
	if (csb_store_served_name(pool, module, out) != CSB_OK ||
	    csb_store_guard_get(csb_node_store(p->node), out, &g) != CSB_OK || !g.set) {
		snprintf(rep->error, sizeof(rep->error), "%.100s does not serve %.100s's users",
		         p->name, pool);
		return CSB_ENOTFOUND;
	}
	return CSB_OK;
}

static bool lease_wait(struct pool *p, uint64_t ms)
{
	uint64_t until = csb_mono_ms() + ms;

	while (csb_node_lease_age(p->node) > CSB_LEASE_MS) {
		if (csb_mono_ms() >= until)
			return false;
		csb_sleep_ms(50);
	}
	return true;
}

/* Why a write was refused as read-only, naming this pool (and where its users are). */
static void refusal(struct pool *p, const char *module, const char *pool, csb_rpc_reply *rep)
{
	csb_guard g = {0};

	if (pool[0] != '\0' && strcasecmp(pool, p->name) != 0) {
		csb_store_guard_get(csb_node_store(p->node), module, &g);
		snprintf(rep->error, sizeof(rep->error), "%.80s no longer takes writes for %.80s's "
		         "users (fenced at epoch %" PRIu64 ": failing back)", p->name, pool, g.epoch);
		return;
	}
	if (csb_node_read_only(p->node, rep->error))
		return;
	if (csb_node_lease_age(p->node) > CSB_LEASE_MS) {
		snprintf(rep->error, sizeof(rep->error), "%.100s has not heard from the coordinator "
		         "or its backup pool for over %d s: it takes no writes until its role is "
		         "confirmed", p->name, CSB_LEASE_MS / 1000);
		return;
	}
	csb_store_guard_get(csb_node_store(p->node), module, &g);
	snprintf(rep->error, sizeof(rep->error), "%.100s is fenced at epoch %" PRIu64
	         ": a failover or failback is under way", p->name, g.epoch);
}

static csb_err data_write(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                          csb_rpc_reply *rep)
{
	struct pool *p = ctx;
	const Csb__WriteRequest *wr = (const Csb__WriteRequest *)msg;
	Csb__WriteReply out = CSB__WRITE_REPLY__INIT;
	csb_write *items = NULL;
	char module[CSB_MODULE_MAX + 1];
	bool own = wr->pool[0] == '\0' || strcasecmp(wr->pool, p->name) == 0;
	csb_err rv;

	if ((rv = check_module(p, wr->module, wr->pool, module, rep)) != CSB_OK)
		goto out;
	if (wr->n_items == 0) {
		snprintf(rep->error, sizeof(rep->error), "no records to write");
		rv = CSB_EINVAL;
		goto out;
	}
	/* A restarted agent waits a little for its role, and any agent for its lease to be
	 * renewed (the coordinator just restarted), before it refuses; a pool read-only for
	 * another reason (it needs a restore, it is failed over) refuses at once. */
	if (own && (!pool__role_confirmed(p, 3000) || csb_node_read_only(p->node, NULL) ||
	            !lease_wait(p, 3000) || csb_node_read_only(p->node, NULL))) {
		refusal(p, module, wr->pool, rep);
		rv = CSB_EREADONLY;
		goto out;
	}
	if ((items = calloc(wr->n_items, sizeof(*items))) == NULL) {
		rv = CSB_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < wr->n_items; i++) {
		const Csb__WriteItem *it = wr->items[i];

		if (it->key.len == 0) {
			snprintf(rep->error, sizeof(rep->error), "record %zu has an empty key", i);
			rv = CSB_EINVAL;
			goto out_free_items;
		}
		items[i] = (csb_write){it->op == CSB__WRITE_OP__WRITE_DELETE ? CSB_OP_DELETE : CSB_OP_PUT,
		                       it->key.data, it->key.len, it->value.data, it->value.len};
		if (it->op == CSB__WRITE_OP__WRITE_DELETE)
			out.deleted++;
		else
			out.written++;
	}
	if ((rv = csb_node_write(p->node, module, items, wr->n_items, &out.last_seq)) != CSB_OK) {
		if (rv == CSB_EREADONLY)
			refusal(p, module, wr->pool, rep);
		else
			snprintf(rep->error, sizeof(rep->error), "write to %.100s failed: %s", wr->module,
			         csb_strerror(rv));
		goto out_free_items;
	}
	rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
out_free_items:
	free(items);
out:
	return rv;
}

/* The source a read addresses: own data (NULL) or the backup copy held for the partner
 * (copied into buf, CSB_NODE_NAME_MAX bytes). */
static const char *read_source(struct pool *p, bool from_backup, const char *source, char *buf)
{
	if (!from_backup)
		return NULL;
	if (source[0] != '\0')
		return source;
	csb_node_partner(p->node, buf);
	return buf;
}

static csb_err data_get(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                        csb_rpc_reply *rep)
{
	struct pool *p = ctx;
	const Csb__GetRequest *gr = (const Csb__GetRequest *)msg;
	Csb__GetReply out = CSB__GET_REPLY__INIT;
	Csb__Record pb;
	csb_record r = {0};
	char pbuf[CSB_NODE_NAME_MAX], module[CSB_MODULE_MAX + 1];
	csb_err rv;

	if ((rv = check_module(p, gr->module, gr->from_backup ? "" : gr->pool, module, rep)) != CSB_OK)
		goto out;
	rv = csb_store_get(csb_node_store(p->node), read_source(p, gr->from_backup, gr->source, pbuf),
	                   module, gr->key.data, gr->key.len, &r);
	if (rv == CSB_ENOTFOUND)
		snprintf(rep->error, sizeof(rep->error), "no such key in %.200s", gr->module);
	if (rv != CSB_OK)
		goto out;
	csb_pb_record_to_pb(&r, &pb);
	out.record = &pb;
	rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
	csb_record_clear(&r);
out:
	return rv;
}

struct list_ctx {
	Csb__ListReply *out;
	Csb__Record *recs;
	Csb__Record **ptrs;
	csb_record *owned; /* copies: list callbacks' records die with the callback */
	size_t limit, bytes, max_bytes;
};

static bool list_one(void *ctx, const csb_record *r)
{
	struct list_ctx *lc = ctx;
	size_t n = lc->out->n_records;
	csb_record *c = &lc->owned[n];

	if (n == lc->limit || (n > 0 && lc->bytes + r->key_len + r->value_len > lc->max_bytes)) {
		lc->out->more = true;
		return false;
	}
	if (csb_record_copy(r, c) != CSB_OK)
		return false;
	csb_pb_record_to_pb(c, &lc->recs[n]);
	lc->ptrs[n] = &lc->recs[n];
	lc->bytes += r->key_len + r->value_len;
	lc->out->n_records = n + 1;
	return true;
}

static csb_err data_list(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                         csb_rpc_reply *rep)
{
	struct pool *p = ctx;
	const Csb__ListRequest *lr = (const Csb__ListRequest *)msg;
	Csb__ListReply out = CSB__LIST_REPLY__INIT;
	struct list_ctx lc = {.out = &out, .max_bytes = csb_node_cfg(p->node).max_bytes};
	char pbuf[CSB_NODE_NAME_MAX], module[CSB_MODULE_MAX + 1];
	csb_err rv;

	if ((rv = check_module(p, lr->module, lr->from_backup ? "" : lr->pool, module, rep)) != CSB_OK)
		goto out;
	lc.limit = lr->limit == 0 ? LIST_LIMIT_DEFAULT : lr->limit;
	if (lc.limit > LIST_LIMIT_MAX)
		lc.limit = LIST_LIMIT_MAX;
	lc.recs = calloc(lc.limit, sizeof(*lc.recs));
	lc.ptrs = calloc(lc.limit, sizeof(*lc.ptrs));
	lc.owned = calloc(lc.limit, sizeof(*lc.owned));
	if (!lc.recs || !lc.ptrs || !lc.owned) {
		rv = CSB_ENOMEM;
		goto out_free;
	}
	out.records = lc.ptrs;
	rv = csb_store_list(csb_node_store(p->node), read_source(p, lr->from_backup, lr->source, pbuf), module,
	                    lr->prefix.data, lr->prefix.len, lr->after.len ? lr->after.data : NULL,
	                    lr->after.len, lc.limit + 1, list_one, &lc);
	if (rv == CSB_OK)
		rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
out_free:
	for (size_t i = 0; lc.owned && i < out.n_records; i++)
		csb_record_clear(&lc.owned[i]);
	free(lc.owned);
	free(lc.recs);
	free(lc.ptrs);
out:
	return rv;
}

/* An administrator, the pool's own services, or the services of the failed-over pool whose
 * users this pool serves (the request's pool). */
static bool data_rule(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                      char err[CSB_RPC_ERROR_MAX])
{
	const char *pool = msg->descriptor == &csb__write_request__descriptor
	                           ? ((const Csb__WriteRequest *)msg)->pool
	                   : msg->descriptor == &csb__get_request__descriptor
	                           ? ((const Csb__GetRequest *)msg)->pool
	                           : ((const Csb__ListRequest *)msg)->pool;

	if (pool[0] != '\0' && strcasecmp(req->principal, pool) == 0)
		return true;
	return pool__admin_or_self(ctx, req, msg, err);
}

/* ---- csb.Data/Orphans: the quarantine of a pool's module -------------------------------- */

struct orphan_list {
	Csb__OrphanSet *set;
	size_t cap;
	csb_err rv;
};

static bool orphan_one(void *ctx, const csb_record *r)
{
	struct orphan_list *ol = ctx;
	Csb__Record *pr, **grown;

	if (ol->set->n_records == ol->cap) {
		size_t cap = ol->cap ? 2 * ol->cap : 64;

		if ((grown = realloc(ol->set->records, cap * sizeof(*grown))) == NULL) {
			ol->rv = CSB_ENOMEM;
			return false;
		}
		ol->set->records = grown;
		ol->cap = cap;
	}
	if ((pr = malloc(sizeof(*pr))) == NULL) {
		ol->rv = CSB_ENOMEM;
		return false;
	}
	csb__record__init(pr);
	csb_pb_record_to_pb(r, pr);
	pr->key.data = malloc(r->key_len ? r->key_len : 1);
	pr->value.data = malloc(r->value_len ? r->value_len : 1);
	if (pr->key.data == NULL || pr->value.data == NULL) {
		free(pr->key.data);
		free(pr->value.data);
		free(pr);
		ol->rv = CSB_ENOMEM;
		return false;
	}
	memcpy(pr->key.data, r->key, r->key_len);
	if (r->value_len)
		memcpy(pr->value.data, r->value, r->value_len);
	ol->set->records[ol->set->n_records++] = pr;
	return true;
}

static void orphan_sets_free(Csb__OrphansReply *out)
{
	for (size_t i = 0; i < out->n_sets; i++) {
		for (size_t k = 0; k < out->sets[i]->n_records; k++) {
			free(out->sets[i]->records[k]->key.data);
			free(out->sets[i]->records[k]->value.data);
			free(out->sets[i]->records[k]);
		}
		free(out->sets[i]->records);
		free(out->sets[i]->name);
		free(out->sets[i]);
	}
	free(out->sets);
}

/* The sets this agent holds for (pool, module): its own module's when pool is this pool,
 * else the served data it gave up for pool. */
static csb_err data_orphans(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                            csb_rpc_reply *rep)
{
	struct pool *p = ctx;
	const Csb__OrphansRequest *rq = (const Csb__OrphansRequest *)msg;
	Csb__OrphansReply out = CSB__ORPHANS_REPLY__INIT;
	csb_store *st = csb_node_store(p->node);
	char name[CSB_MODULE_MAX + 1], **sets = NULL;
	size_t n = 0;
	csb_err rv;

	(void)req;
	if (!csb_node_exports(p->node, rq->module)) {
		snprintf(rep->error, sizeof(rep->error), "unknown module %.200s", rq->module);
		return CSB_ENOTFOUND;
	}
	if (rq->pool[0] == '\0' || strcasecmp(rq->pool, p->name) == 0)
		snprintf(name, sizeof(name), "%s", rq->module);
	else if (csb_store_served_name(rq->pool, rq->module, name) != CSB_OK)
		return CSB_EINVAL;
	if (rq->drop_epoch != 0) {
		if ((rv = csb_store_orphans_drop(st, name, rq->drop_epoch)) != CSB_OK)
			return rv;
		csb_warn("agent", "quarantine re-applied and dropped pool=%s set=%s epoch=%" PRIu64,
		         p->name, name, rq->drop_epoch);
		return csb_wire_pack(&out.base, &rep->body, &rep->body_len);
	}
	if ((rv = csb_store_orphan_sets(st, &sets, &n)) != CSB_OK)
		return rv;
	if (n > 0 && (out.sets = calloc(n, sizeof(*out.sets))) == NULL) {
		rv = CSB_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n && rv == CSB_OK; i++) {
		const char *colon = strrchr(sets[i], ':');
		struct orphan_list ol = {0};
		unsigned long long epoch;

		if (colon == NULL || (size_t)(colon - sets[i]) != strlen(name) ||
		    strncmp(sets[i], name, strlen(name)) != 0 || sscanf(colon + 1, "%llu", &epoch) != 1)
			continue;
		if ((ol.set = calloc(1, sizeof(*ol.set))) == NULL) {
			rv = CSB_ENOMEM;
			break;
		}
		csb__orphan_set__init(ol.set);
		out.sets[out.n_sets++] = ol.set;
		ol.set->name = strdup(name);
		ol.set->epoch = epoch;
		rv = csb_store_orphans(st, name, epoch, rq->limit, orphan_one, &ol, &ol.set->count);
		if (rv == CSB_OK)
			rv = ol.rv;
		if (ol.set->name == NULL)
			rv = CSB_ENOMEM;
	}
	if (rv == CSB_OK)
		rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
out:
	orphan_sets_free(&out);
	free(sets);
	return rv;
}

size_t pool__data_methods(struct pool *p, csb_rpc_method *out)
{
	out[0] = (csb_rpc_method){"csb.Data/Write", NULL, p, &csb__write_request__descriptor,
	                          data_write, data_rule};
	out[1] = (csb_rpc_method){"csb.Data/Get", NULL, p, &csb__get_request__descriptor, data_get,
	                          data_rule};
	out[2] = (csb_rpc_method){"csb.Data/List", NULL, p, &csb__list_request__descriptor,
	                          data_list, data_rule};
	out[3] = (csb_rpc_method){"csb.Data/Orphans", NULL, p, &csb__orphans_request__descriptor,
	                          data_orphans, pool__admin_only};
	return 4;
}
