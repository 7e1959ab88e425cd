/* The Data service: the pool's own services (and `csb data …`) write and read records of
 * this pool's modules here, or read the backup copy of the partner's. Writes are
 * acknowledged once durable, committed in groups (writer.c). */
#include <stdlib.h>
#include <string.h>

#include "agent/internal/agent.h"
#include "agent/internal/convert.h"
#include "common/wire.h"
#include "proto/data.pb-c.h"

#define LIST_LIMIT_MAX 10000
#define LIST_LIMIT_DEFAULT 1000

static csb_err check_module(struct agent *a, const char *module, csb_rpc_reply *rep)
{
	if (agent__export(a, module) != NULL)
		return CSB_OK;
	agent__set_error(rep->error, "unknown module %s", module);
	return CSB_ENOTFOUND;
}

static csb_err data_write(void *ctx, const csb_rpc_request *req, csb_rpc_reply *rep)
{
	struct agent *a = ctx;
	Csb__WriteRequest *wr;
	Csb__WriteReply out = CSB__WRITE_REPLY__INIT;
	csb_write *items = NULL;
	csb_err rv;

	if ((rv = agent__check_admin(a, req, rep, true)) != CSB_OK)
		return rv;
	if ((rv = agent__unpack(&csb__write_request__descriptor, req, rep, (ProtobufCMessage **)&wr)))
		return rv;
	if ((rv = check_module(a, wr->module, rep)) != CSB_OK)
		goto out_free_req;
	if (wr->n_items == 0) {
		agent__set_error(rep->error, "no records to write");
		rv = CSB_EINVAL;
		goto out_free_req;
	}
	if (a->read_only) {
		agent__set_error(rep->error, "%s is failed over and read-only", a->pool);
		rv = CSB_EREADONLY;
		goto out_free_req;
	}
	if ((items = calloc(wr->n_items, sizeof(*items))) == NULL) {
		rv = CSB_ENOMEM;
		goto out_free_req;
	}
	for (size_t i = 0; i < wr->n_items; i++) {
		const Csb__WriteItem *it = wr->items[i];

		if (it->key.len == 0) {
			agent__set_error(rep->error, "record %zu has an empty key", i);
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
	if ((rv = agent__write(a, wr->module, items, wr->n_items, &out.last_seq)) != CSB_OK) {
		agent__set_error(rep->error, "write to %s failed: %s", wr->module, csb_strerror(rv));
		goto out_free_items;
	}
	rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
out_free_items:
	free(items);
out_free_req:
	protobuf_c_message_free_unpacked(&wr->base, NULL);
	return rv;
}

/* The source a read addresses: own data (NULL) or the backup copy held for the partner
 * (copied into buf, AGENT_NAME_MAX bytes). */
static const char *read_source(struct agent *a, bool from_backup, const char *source, char *buf)
{
	if (!from_backup)
		return NULL;
	if (source[0] != '\0')
		return source;
	agent__partner(a, buf);
	return buf;
}

static csb_err data_get(void *ctx, const csb_rpc_request *req, csb_rpc_reply *rep)
{
	struct agent *a = ctx;
	Csb__GetRequest *gr;
	Csb__GetReply out = CSB__GET_REPLY__INIT;
	Csb__Record pb;
	csb_record r = {0};
	char pbuf[AGENT_NAME_MAX];
	csb_err rv;

	if ((rv = agent__check_admin(a, req, rep, true)) != CSB_OK)
		return rv;
	if ((rv = agent__unpack(&csb__get_request__descriptor, req, rep, (ProtobufCMessage **)&gr)))
		return rv;
	if ((rv = check_module(a, gr->module, rep)) != CSB_OK)
		goto out_free_req;
	rv = csb_store_get(a->store, read_source(a, gr->from_backup, gr->source, pbuf), gr->module,
	                   gr->key.data, gr->key.len, &r);
	if (rv == CSB_ENOTFOUND)
		agent__set_error(rep->error, "no such key in %s", gr->module);
	if (rv != CSB_OK)
		goto out_free_req;
	agent__record_to_pb(&r, &pb);
	out.record = &pb;
	rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
	csb_record_clear(&r);
out_free_req:
	protobuf_c_message_free_unpacked(&gr->base, NULL);
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
	agent__record_to_pb(c, &lc->recs[n]);
	lc->ptrs[n] = &lc->recs[n];
	lc->bytes += r->key_len + r->value_len;
	lc->out->n_records = n + 1;
	return true;
}

static csb_err data_list(void *ctx, const csb_rpc_request *req, csb_rpc_reply *rep)
{
	struct agent *a = ctx;
	Csb__ListRequest *lr;
	Csb__ListReply out = CSB__LIST_REPLY__INIT;
	struct list_ctx lc = {.out = &out, .max_bytes = a->cfg.max_bytes};
	char pbuf[AGENT_NAME_MAX];
	csb_err rv;

	if ((rv = agent__check_admin(a, req, rep, true)) != CSB_OK)
		return rv;
	if ((rv = agent__unpack(&csb__list_request__descriptor, req, rep, (ProtobufCMessage **)&lr)))
		return rv;
	if ((rv = check_module(a, lr->module, rep)) != CSB_OK)
		goto out_free_req;
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
	rv = csb_store_list(a->store, read_source(a, lr->from_backup, lr->source, pbuf), lr->module,
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
out_free_req:
	protobuf_c_message_free_unpacked(&lr->base, NULL);
	return rv;
}

size_t agent__data_methods(struct agent *a, csb_rpc_method *out)
{
	out[0] = (csb_rpc_method){"csb.Data/Write", data_write, a};
	out[1] = (csb_rpc_method){"csb.Data/Get", data_get, a};
	out[2] = (csb_rpc_method){"csb.Data/List", data_list, a};
	return 3;
}
