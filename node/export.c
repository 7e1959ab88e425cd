/* The Sync service: what this agent serves to its backup pool's agent. Pull answers with
 * the newest version of each key changed after the importer's cursor (long poll when
 * nothing is new), values above the chunk size in chunks; DigestRanges, Split and RangeRead
 * serve verify and the differential re-seed (DESIGN.md §2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/internal/agent.h"
#include "agent/internal/convert.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/wire.h"
#include "proto/sync.pb-c.h"

/* Only the backup pool's agent pulls a pool's modules (the coordinator's policy says who
 * pulls the CMS); administrators may read digests (verify). */
static bool may_sync(struct agent *a, const char *principal, const char *module)
{
	if (a->insecure && principal[0] == '\0')
		return true;
	if (agent__is_admin(a, principal))
		return true;
	if (a->hooks.may_pull != NULL)
		return a->hooks.may_pull(a->hooks.ctx, principal, module);
	return agent__is_partner(a, principal);
}

static csb_err check_caller(struct agent *a, const csb_rpc_request *req, csb_rpc_reply *rep)
{
	if (may_sync(a, req->principal, NULL))
		return CSB_OK;
	agent__set_error(rep->error, "%s may not call %s on %s", req->principal, req->method,
	                 a->pool);
	return CSB_EDENIED;
}

/* The importer's entry, added on its first pull; NULL when the table is full. a->mu held. */
static csb_node_importer *importer_of(struct export_mod *em, const char *principal)
{
	for (unsigned i = 0; i < em->n_acks; i++)
		if (strcmp(em->acks[i].principal, principal) == 0)
			return &em->acks[i];
	if (em->n_acks == AGENT_IMPORTERS_MAX)
		return NULL;
	memset(&em->acks[em->n_acks], 0, sizeof(em->acks[0]));
	snprintf(em->acks[em->n_acks].principal, sizeof(em->acks[0].principal), "%s", principal);
	return &em->acks[em->n_acks++];
}

/* Records an acknowledgement: a Pull after seq S means the importer applied up to S. The
 * module counts as acknowledged up to the lowest cursor among its importers. */
static void note_ack(struct agent *a, struct export_mod *em, const char *principal,
                     uint64_t acked)
{
	csb_node_importer *imp;
	uint64_t now = csb_now_ms(), low = UINT64_MAX;

	pthread_mutex_lock(&a->mu);
	if ((imp = importer_of(em, principal)) != NULL) {
		if (imp->acked_seq != acked || imp->acked_change_ms == 0)
			imp->acked_change_ms = now;
		imp->acked_seq = acked;
		imp->last_ack_ms = now;
	}
	for (unsigned i = 0; i < em->n_acks; i++)
		if (em->acks[i].acked_seq < low)
			low = em->acks[i].acked_seq;
	em->pulled = true;
	em->acked_seq = low == UINT64_MAX ? acked : low;
	pthread_cond_broadcast(&a->changed);
	pthread_mutex_unlock(&a->mu);
}

static void note_served(struct agent *a, struct export_mod *em, size_t records, size_t bytes)
{
	pthread_mutex_lock(&a->mu);
	em->records_total += records;
	em->bytes_total += bytes;
	em->batches_total++;
	em->last_export_ms = csb_now_ms();
	if (em->state == EXPORT_ERROR)
		em->last_error[0] = '\0';
	pthread_mutex_unlock(&a->mu);
}

void agent__export_note_commit(struct agent *a, const char *module, uint64_t seq)
{
	struct export_mod *em = agent__export(a, module);

	pthread_mutex_lock(&a->mu);
	if (em != NULL) {
		unsigned slot = (em->ring_head + em->ring_len) % AGENT_LAG_RING;

		if (em->ring_len == AGENT_LAG_RING)
			em->ring_head = (em->ring_head + 1) % AGENT_LAG_RING;
		else
			em->ring_len++;
		em->ring[slot].seq = seq;
		em->ring[slot].wall_ms = csb_now_ms();
	}
	pthread_cond_broadcast(&a->changed);
	pthread_mutex_unlock(&a->mu);
}

/* Waits until module's high seq passes after_seq, the deadline, or stopping. */
static void wait_for_write(struct agent *a, const char *module, uint64_t after_seq,
                           uint64_t deadline_ms)
{
	csb_module_info mi;

	pthread_mutex_lock(&a->mu);
	while (!atomic_load(&a->stopping) && csb_mono_ms() < deadline_ms) {
		if (csb_store_module_info(a->store, NULL, module, &mi) == CSB_OK &&
		    mi.high_seq > after_seq)
			break;
		agent__cond_wait_until(&a->changed, &a->mu, deadline_ms);
	}
	pthread_mutex_unlock(&a->mu);
}

/* Fills batch->records from ch: whole records while they fit, and a value larger than the
 * chunk size only as the first record, as its first chunk (partial). */
static void batch_fill(struct agent *a, const csb_changes *ch, uint64_t after_seq,
                       Csb__Batch *batch, Csb__Record *recs, Csb__Record **ptrs)
{
	size_t n = 0;

	batch->last_seq = ch->last_seq;
	for (size_t i = 0; i < ch->count; i++) {
		const csb_record *r = &ch->records[i];

		if (r->value_len > a->cfg.chunk_bytes) {
			if (i > 0) {
				batch->last_seq = ch->records[i - 1].seq;
				break;
			}
			agent__record_to_pb(r, &recs[0]);
			recs[0].value.len = a->cfg.chunk_bytes;
			recs[0].value_len = r->value_len;
			ptrs[0] = &recs[0];
			n = 1;
			batch->partial = true;
			batch->last_seq = after_seq;
			break;
		}
		agent__record_to_pb(r, &recs[n]);
		ptrs[n] = &recs[n];
		n++;
	}
	batch->n_records = n;
	batch->records = ptrs;
}

static csb_err pull_resume(struct agent *a, const Csb__PullRequest *pr, Csb__Batch *batch,
                           Csb__Record *rec, Csb__Record **ptr, csb_record *whole)
{
	csb_err rv = csb_store_get(a->store, NULL, pr->module, pr->resume_key.data,
	                           pr->resume_key.len, whole);

	batch->last_seq = pr->after_seq;
	if (rv == CSB_ENOTFOUND)
		return CSB_OK; /* gone since: no records, not partial; the log has the news */
	if (rv != CSB_OK)
		return rv;
	if (whole->seq != pr->resume_seq || pr->resume_offset >= whole->value_len)
		return CSB_OK; /* rewritten since: start over from the log */
	agent__record_to_pb(whole, rec);
	rec->chunk_offset = pr->resume_offset;
	rec->value.data = whole->value + pr->resume_offset;
	rec->value.len = whole->value_len - pr->resume_offset;
	if (rec->value.len > a->cfg.chunk_bytes)
		rec->value.len = a->cfg.chunk_bytes;
	rec->value_len = whole->value_len;
	batch->partial = pr->resume_offset + rec->value.len < whole->value_len;
	if (!batch->partial)
		batch->last_seq = whole->seq;
	*ptr = rec;
	batch->records = ptr;
	batch->n_records = 1;
	return CSB_OK;
}

static csb_err pull_changes(struct agent *a, const Csb__PullRequest *pr,
                            const csb_rpc_request *req, csb_changes *ch)
{
	uint32_t max_rec = pr->max_records ? pr->max_records : a->cfg.max_records;
	uint32_t max_bytes = pr->max_bytes ? pr->max_bytes : a->cfg.max_bytes;
	/* An importer without a cursor gets its answer at once, even an empty one: applying it
	 * records the lineage, so the import reads NormalState from its first pull. */
	uint64_t deadline = csb_mono_ms() + (pr->lineage.len == 0 ? 0 : pr->max_wait_ms);
	csb_err rv;

	if (max_rec > a->cfg.max_records)
		max_rec = a->cfg.max_records;
	if (max_bytes > a->cfg.max_bytes)
		max_bytes = a->cfg.max_bytes;
	if (deadline > req->deadline_mono_ms)
		deadline = req->deadline_mono_ms;
	for (;;) {
		rv = csb_store_changes(a->store, pr->module, pr->after_seq, max_rec, max_bytes, ch);
		if (rv != CSB_OK || ch->count > 0 || csb_mono_ms() >= deadline ||
		    atomic_load(&a->stopping))
			return rv;
		csb_changes_clear(ch);
		wait_for_write(a, pr->module, pr->after_seq, deadline);
	}
}

static csb_err validate_pull(struct agent *a, const Csb__PullRequest *pr, csb_rpc_reply *rep,
                             const csb_lineage *own)
{
	if (strcmp(pr->source, a->pool) != 0) {
		agent__set_error(rep->error, "this agent exports %s, not %s", a->pool, pr->source);
		return CSB_ENOTFOUND;
	}
	if (agent__export(a, pr->module) == NULL) {
		agent__set_error(rep->error, "unknown module %s", pr->module);
		return CSB_ENOTFOUND;
	}
	if (pr->lineage.len != 0 &&
	    (pr->lineage.len != CSB_LINEAGE_LEN || memcmp(pr->lineage.data, own->b, CSB_LINEAGE_LEN))) {
		agent__set_error(rep->error, "lineage of %s changed; re-seed", a->pool);
		return CSB_ELINEAGE;
	}
	return CSB_OK;
}

static csb_err sync_pull(void *ctx, const csb_rpc_request *req, csb_rpc_reply *rep)
{
	struct agent *a = ctx;
	Csb__PullRequest *pr = NULL;
	Csb__Batch batch = CSB__BATCH__INIT;
	Csb__Digest dg = CSB__DIGEST__INIT;
	Csb__Record *recs = NULL, **ptrs = NULL, one = CSB__RECORD__INIT, *onep;
	csb_changes ch = {0};
	csb_record whole = {0};
	csb_lineage own;
	struct export_mod *em;
	csb_err rv;

	if ((rv = agent__unpack(&csb__pull_request__descriptor, req, rep, (ProtobufCMessage **)&pr)))
		return rv;
	if (!may_sync(a, req->principal, pr->module)) {
		agent__set_error(rep->error, "%s may not pull %s from %s", req->principal, pr->module,
		                 a->pool);
		rv = CSB_EDENIED;
		goto out_free_req;
	}
	if ((rv = csb_store_lineage(a->store, &own)) != CSB_OK ||
	    (rv = validate_pull(a, pr, rep, &own)) != CSB_OK)
		goto out_free_req;
	em = agent__export(a, pr->module);
	note_ack(a, em, req->principal, pr->speculative ? pr->acked_seq : pr->after_seq);
	batch.after_seq = pr->after_seq;
	if (pr->resume_key.len > 0) {
		rv = pull_resume(a, pr, &batch, &one, &onep, &whole);
	} else {
		rv = pull_changes(a, pr, req, &ch);
		if (rv == CSB_OK && ch.count > 0) {
			recs = calloc(ch.count, sizeof(*recs));
			ptrs = calloc(ch.count, sizeof(*ptrs));
			if (recs == NULL || ptrs == NULL) {
				rv = CSB_ENOMEM;
				goto out_clear;
			}
			batch_fill(a, &ch, pr->after_seq, &batch, recs, ptrs);
		} else if (rv == CSB_OK) {
			batch.last_seq = ch.last_seq > pr->after_seq ? ch.last_seq : pr->after_seq;
		}
	}
	if (rv == CSB_ELOGGONE)
		agent__set_error(rep->error, "the change log of %s no longer reaches seq %llu; re-seed",
		                 pr->module, (unsigned long long)pr->after_seq);
	if (rv != CSB_OK)
		goto out_clear;
	if ((rv = agent__batch_summary(a, pr->module, pr->resume_key.len ? NULL : &ch, &batch, &dg,
	                               &own)) != CSB_OK)
		goto out_clear;
	if ((rv = csb_wire_pack(&batch.base, &rep->body, &rep->body_len)) != CSB_OK)
		goto out_clear;
	if (batch.n_records > 0)
		note_served(a, em, batch.partial ? 0 : batch.n_records, rep->body_len);
out_clear:
	free(recs);
	free(ptrs);
	csb_changes_clear(&ch);
	csb_record_clear(&whole);
out_free_req:
	/* The caller's mistakes are its own; only a failure to serve is an export error. */
	if (rv != CSB_OK && rv != CSB_ELINEAGE && rv != CSB_ELOGGONE && rv != CSB_ENOTFOUND &&
	    rv != CSB_EDENIED) {
		pthread_mutex_lock(&a->mu);
		if ((em = agent__export(a, pr->module)) != NULL) {
			em->state = EXPORT_ERROR;
			agent__set_error(em->last_error, "serving a pull failed: %s", csb_strerror(rv));
		}
		pthread_mutex_unlock(&a->mu);
	}
	protobuf_c_message_free_unpacked(&pr->base, NULL);
	return rv;
}

/* Resolves whose data a digest request reads: own (NULL) or the copy held for source. */
static csb_err data_source(struct agent *a, const char *source, bool from_copy,
                           csb_rpc_reply *rep, const char **out)
{
	if (from_copy) {
		*out = source;
		return CSB_OK;
	}
	if (source[0] != '\0' && strcmp(source, a->pool) != 0) {
		agent__set_error(rep->error, "this agent holds %s's data, not %s's", a->pool, source);
		return CSB_ENOTFOUND;
	}
	*out = NULL;
	return CSB_OK;
}

static csb_err sync_digest_ranges(void *ctx, const csb_rpc_request *req, csb_rpc_reply *rep)
{
	struct agent *a = ctx;
	Csb__DigestRequest *dr;
	Csb__DigestReply out = CSB__DIGEST_REPLY__INIT;
	csb_range *ranges = NULL;
	csb_digest *dg = NULL;
	Csb__Digest *pdg = NULL, **pdgp = NULL;
	uint64_t *counts = NULL;
	const char *src;
	csb_module_info mi;
	csb_lineage lin;
	csb_err rv;

	if ((rv = check_caller(a, req, rep)) != CSB_OK)
		return rv;
	if ((rv = agent__unpack(&csb__digest_request__descriptor, req, rep, (ProtobufCMessage **)&dr)))
		return rv;
	if ((rv = data_source(a, dr->source, dr->from_copy, rep, &src)) != CSB_OK)
		goto out_free_req;
	ranges = calloc(dr->n_ranges + 1, sizeof(*ranges));
	dg = calloc(dr->n_ranges + 1, sizeof(*dg));
	pdg = calloc(dr->n_ranges + 1, sizeof(*pdg));
	pdgp = calloc(dr->n_ranges + 1, sizeof(*pdgp));
	counts = calloc(dr->n_ranges + 1, sizeof(*counts));
	if (!ranges || !dg || !pdg || !pdgp || !counts) {
		rv = CSB_ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < dr->n_ranges; i++)
		agent__range_from_pb(dr->ranges[i], &ranges[i]);
	if ((rv = csb_store_module_info(a->store, src, dr->module, &mi)) != CSB_OK ||
	    (rv = csb_store_lineage(a->store, &lin)) != CSB_OK ||
	    (rv = csb_store_digest_ranges(a->store, src, dr->module, ranges, dr->n_ranges, dg,
	                                  counts)) != CSB_OK) {
		agent__set_error(rep->error, "digest of %s: %s", dr->module, csb_strerror(rv));
		goto out_free;
	}
	for (size_t i = 0; i < dr->n_ranges; i++) {
		agent__digest_to_pb(&dg[i], &pdg[i]);
		pdgp[i] = &pdg[i];
	}
	out.n_digests = dr->n_ranges;
	out.digests = pdgp;
	out.n_counts = dr->n_ranges;
	out.counts = counts;
	out.high_seq = mi.high_seq;
	out.lineage.data = lin.b;
	out.lineage.len = src == NULL ? CSB_LINEAGE_LEN : 0;
	rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
out_free:
	free(ranges);
	free(dg);
	free(pdg);
	free(pdgp);
	free(counts);
out_free_req:
	protobuf_c_message_free_unpacked(&dr->base, NULL);
	return rv;
}

static csb_err sync_split(void *ctx, const csb_rpc_request *req, csb_rpc_reply *rep)
{
	struct agent *a = ctx;
	Csb__SplitRequest *sr;
	Csb__SplitReply out = CSB__SPLIT_REPLY__INIT;
	Csb__SplitPart *parts = NULL, **pp = NULL;
	Csb__KeyRange *kr = NULL;
	Csb__Digest *dg = NULL;
	csb_split sp = {0};
	csb_range r;
	const char *src;
	csb_module_info mi;
	csb_lineage lin;
	csb_err rv;

	if ((rv = check_caller(a, req, rep)) != CSB_OK)
		return rv;
	if ((rv = agent__unpack(&csb__split_request__descriptor, req, rep, (ProtobufCMessage **)&sr)))
		return rv;
	if ((rv = data_source(a, sr->source, sr->from_copy, rep, &src)) != CSB_OK)
		goto out_free_req;
	if (sr->parts == 0 || sr->parts > 256) {
		agent__set_error(rep->error, "parts must be 1..256, not %u", sr->parts);
		rv = CSB_EINVAL;
		goto out_free_req;
	}
	agent__range_from_pb(sr->range, &r);
	if ((rv = csb_store_module_info(a->store, src, sr->module, &mi)) != CSB_OK ||
	    (rv = csb_store_lineage(a->store, &lin)) != CSB_OK ||
	    (rv = csb_store_digest_split(a->store, src, sr->module, &r, sr->parts, &sp)) != CSB_OK)
		goto out_free_req;
	parts = calloc(sp.count, sizeof(*parts));
	pp = calloc(sp.count, sizeof(*pp));
	kr = calloc(sp.count, sizeof(*kr));
	dg = calloc(sp.count, sizeof(*dg));
	if (!parts || !pp || !kr || !dg) {
		rv = CSB_ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < sp.count; i++) {
		csb__split_part__init(&parts[i]);
		agent__part_to_pb(&sp.parts[i], &kr[i], &dg[i]);
		parts[i].range = &kr[i];
		parts[i].digest = &dg[i];
		parts[i].count = sp.parts[i].count;
		pp[i] = &parts[i];
	}
	out.n_parts = sp.count;
	out.parts = pp;
	out.high_seq = mi.high_seq;
	out.lineage.data = lin.b;
	out.lineage.len = src == NULL ? CSB_LINEAGE_LEN : 0;
	rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
out_free:
	free(parts);
	free(pp);
	free(kr);
	free(dg);
	csb_split_clear(&sp);
out_free_req:
	protobuf_c_message_free_unpacked(&sr->base, NULL);
	return rv;
}

struct range_read {
	Csb__RangeReadReply *out;
	Csb__Record *recs;
	Csb__Record **ptrs;
	uint8_t *arena; /* copies of keys and values, valid until the reply is packed */
	size_t used, cap, bytes, max_records, max_bytes;
};

static bool range_read_one(void *ctx, const csb_record *r)
{
	struct range_read *rr = ctx;
	size_t n = rr->out->n_records, need = r->key_len + r->value_len;
	Csb__Record *pr = &rr->recs[n];

	if (n == rr->max_records || (n > 0 && rr->bytes + need > rr->max_bytes) ||
	    rr->used + need > rr->cap) {
		rr->out->more = true;
		return false;
	}
	agent__record_to_pb(r, pr);
	memcpy(rr->arena + rr->used, r->key, r->key_len);
	pr->key.data = rr->arena + rr->used;
	rr->used += r->key_len;
	if (r->value_len > 0)
		memcpy(rr->arena + rr->used, r->value, r->value_len);
	pr->value.data = rr->arena + rr->used;
	rr->used += r->value_len;
	rr->bytes += need;
	rr->ptrs[n] = pr;
	rr->out->n_records = n + 1;
	return true;
}

static csb_err sync_range_read(void *ctx, const csb_rpc_request *req, csb_rpc_reply *rep)
{
	struct agent *a = ctx;
	Csb__RangeReadRequest *rq;
	Csb__RangeReadReply out = CSB__RANGE_READ_REPLY__INIT;
	struct range_read rr = {.out = &out};
	csb_module_info mi;
	csb_lineage lin;
	csb_range r;
	csb_err rv;

	if ((rv = check_caller(a, req, rep)) != CSB_OK)
		return rv;
	if ((rv = agent__unpack(&csb__range_read_request__descriptor, req, rep,
	                        (ProtobufCMessage **)&rq)))
		return rv;
	if (strcmp(rq->source, a->pool) != 0) {
		agent__set_error(rep->error, "this agent holds %s's data, not %s's", a->pool, rq->source);
		rv = CSB_ENOTFOUND;
		goto out_free_req;
	}
	rr.max_records = rq->max_records && rq->max_records < a->cfg.max_records ? rq->max_records
	                                                                        : a->cfg.max_records;
	rr.max_bytes = rq->max_bytes && rq->max_bytes < a->cfg.max_bytes ? rq->max_bytes
	                                                                : a->cfg.max_bytes;
	rr.cap = rr.max_bytes + CSB_KEY_MAX + a->cfg.chunk_bytes;
	rr.recs = calloc(rr.max_records, sizeof(*rr.recs));
	rr.ptrs = calloc(rr.max_records, sizeof(*rr.ptrs));
	rr.arena = malloc(rr.cap);
	if (!rr.recs || !rr.ptrs || !rr.arena) {
		rv = CSB_ENOMEM;
		goto out_free;
	}
	out.records = rr.ptrs;
	agent__range_from_pb(rq->range, &r);
	if ((rv = csb_store_module_info(a->store, NULL, rq->module, &mi)) != CSB_OK ||
	    (rv = csb_store_lineage(a->store, &lin)) != CSB_OK ||
	    (rv = csb_store_scan(a->store, NULL, rq->module, &r, rq->after.len ? rq->after.data : NULL,
	                         rq->after.len, 0, range_read_one, &rr)) != CSB_OK)
		goto out_free;
	out.high_seq = mi.high_seq;
	out.lineage.data = lin.b;
	out.lineage.len = CSB_LINEAGE_LEN;
	rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
out_free:
	free(rr.recs);
	free(rr.ptrs);
	free(rr.arena);
out_free_req:
	protobuf_c_message_free_unpacked(&rq->base, NULL);
	return rv;
}

size_t agent__sync_methods(struct agent *a, csb_rpc_method *out)
{
	out[0] = (csb_rpc_method){"csb.Sync/Pull", sync_pull, a};
	out[1] = (csb_rpc_method){"csb.Sync/DigestRanges", sync_digest_ranges, a};
	out[2] = (csb_rpc_method){"csb.Sync/Split", sync_split, a};
	out[3] = (csb_rpc_method){"csb.Sync/RangeRead", sync_range_read, a};
	return 4;
}
