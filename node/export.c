/* The Sync service: what this agent serves to its backup pool's agent. Pull answers with
 * the newest version of each key changed after the importer's cursor (long poll when
 * nothing is new), values above the chunk size in chunks; DigestRanges, Split and RangeRead
 * serve verify and the differential re-seed (DESIGN.md §2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/convert.h"
#include "node/internal/node.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/wire.h"
#include "proto/sync.pb-c.h"

/* Only the partner's agent pulls a pool's modules (the coordinator's policy says who pulls
 * the CMS); administrators may read (verify). */
static bool may_sync(struct csb_node *a, const char *principal, const char *module)
{
	if (node__is_admin(a, principal))
		return true;
	if (a->hooks.may_pull != NULL)
		return a->hooks.may_pull(a->hooks.ctx, principal, module);
	return node__is_partner(a, principal);
}

/* Notes that the partner is alive (any Sync call of its, a re-seed's digests included). */
static void note_contact(struct csb_node *a, const char *principal, const char *module)
{
	struct export_mod *em = node__export(a, module);

	if (em == NULL || a->role != CSB_NODE_POOL || !node__is_partner(a, principal))
		return;
	pthread_mutex_lock(&em->mu);
	em->contact_ms = csb_now_ms();
	pthread_mutex_unlock(&em->mu);
}

/* The Sync service's rule: the partner's agent (or, on the coordinator, whom its policy
 * names) for the request's module; administrators may read. Every Sync request has a
 * "module" field. The partner's calls keep its export alive (contact). */
static bool sync_authorize(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                           char err[CSB_RPC_ERROR_MAX])
{
	struct csb_node *a = ctx;
	const ProtobufCFieldDescriptor *fd =
		protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, "module");
	const char *module = fd ? *(char *const *)((const char *)msg + fd->offset) : NULL;

	if (!may_sync(a, req->principal, module)) {
		node__set_error(err, "%.100s may not call %.60s on %.60s", req->principal, req->method,
		                a->name);
		return false;
	}
	note_contact(a, req->principal, module);
	return true;
}

/* The importer's entry, added on its first pull; NULL when the table is full. em->mu held. */
static csb_node_importer *importer_of(struct export_mod *em, const char *principal)
{
	for (unsigned i = 0; i < em->n_acks; i++)
		if (strcmp(em->acks[i].principal, principal) == 0)
			return &em->acks[i];
	if (em->n_acks == NODE_IMPORTERS_MAX)
		return NULL;
	memset(&em->acks[em->n_acks], 0, sizeof(em->acks[0]));
	snprintf(em->acks[em->n_acks].principal, sizeof(em->acks[0].principal), "%s", principal);
	return &em->acks[em->n_acks++];
}

/* Records an acknowledgement: a Pull after seq S by an importer means it applied up to S.
 * Only importers acknowledge (the partner; for the coordinator, the pools' agents): an
 * administrator's Pull reads, it never moves what counts as acknowledged. The module counts
 * as acknowledged up to the lowest cursor among its importers. */
static void note_ack(struct csb_node *a, struct export_mod *em, const char *principal,
                     uint64_t acked)
{
	csb_node_importer *imp;
	uint64_t now = csb_now_ms(), low = UINT64_MAX;

	if (!node__is_importer(a, principal))
		return;
	pthread_mutex_lock(&em->mu);
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
	em->contact_ms = now;
	em->acked_seq = low == UINT64_MAX ? acked : low;
	snprintf(em->acked_by, sizeof(em->acked_by), "%s", principal);
	pthread_cond_broadcast(&em->cv);
	pthread_mutex_unlock(&em->mu);
}

static void note_served(struct export_mod *em, size_t records, size_t bytes)
{
	pthread_mutex_lock(&em->mu);
	em->records_total += records;
	em->bytes_total += bytes;
	em->batches_total++;
	em->last_export_ms = csb_now_ms();
	em->last_error[0] = '\0';
	pthread_mutex_unlock(&em->mu);
}

void node__export_note_commit(struct csb_node *a, const char *module, uint64_t seq)
{
	struct export_mod *em = node__export(a, module);
	unsigned slot;

	if (em == NULL)
		return;
	pthread_mutex_lock(&em->mu);
	slot = (em->ring_head + em->ring_len) % NODE_LAG_RING;
	if (em->ring_len == NODE_LAG_RING)
		em->ring_head = (em->ring_head + 1) % NODE_LAG_RING;
	else
		em->ring_len++;
	em->ring[slot].seq = seq;
	em->ring[slot].wall_ms = csb_now_ms();
	if (seq > em->committed)
		em->committed = seq;
	pthread_cond_broadcast(&em->cv);
	pthread_mutex_unlock(&em->mu);
}

void csb_node_export_reload(csb_node *a, const char *module)
{
	struct export_mod *em = node__export(a, module);
	csb_module_info mi;

	if (em == NULL || csb_store_module_info(a->store, NULL, module, &mi) != CSB_OK)
		return;
	pthread_mutex_lock(&em->mu);
	em->committed = mi.high_seq;
	em->ring_len = 0;
	pthread_cond_broadcast(&em->cv);
	pthread_mutex_unlock(&em->mu);
}

void node__export_reset(struct csb_node *a, const char *partner)
{
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++) {
		struct export_mod *em = &a->exp[i];

		if (em->module == NULL || a->role != CSB_NODE_POOL)
			continue;
		pthread_mutex_lock(&em->mu);
		if (strcasecmp(em->acked_by, partner) != 0) {
			em->acked_seq = 0;
			em->pulled = false;
			em->n_acks = 0;
			snprintf(em->acked_by, sizeof(em->acked_by), "%s", partner);
		}
		em->contact_ms = csb_now_ms(); /* the new partner's grace starts now */
		em->stale_error[0] = '\0';
		pthread_cond_broadcast(&em->cv);
		pthread_mutex_unlock(&em->mu);
	}
}

/* Waits until module's committed seq passes after_seq, the deadline, or stopping: on the
 * module's own watermark, without a store read under a lock. */
static void wait_for_write(struct csb_node *a, struct export_mod *em, uint64_t after_seq,
                           uint64_t deadline_ms)
{
	pthread_mutex_lock(&em->mu);
	while (!atomic_load(&a->stopping) && csb_mono_ms() < deadline_ms && em->committed <= after_seq)
		node__cond_wait_until(&em->cv, &em->mu, deadline_ms);
	pthread_mutex_unlock(&em->mu);
}

/* Fills a Batch's high seq, lineage, digest and count: from ch (the same read transaction
 * as its records) when given, else from the module's current summary. dg and own must
 * outlive the batch. */
static csb_err batch_summary(struct csb_node *a, const char *module, const csb_changes *ch,
                             Csb__Batch *batch, Csb__Digest *dg, const csb_lineage *own)
{
	csb_module_info mi;
	csb_err rv;

	if ((rv = csb_store_module_info(a->store, NULL, module, &mi)) != CSB_OK)
		return rv;
	if (ch != NULL) {
		batch->high_seq = ch->high_seq;
		csb_pb_digest_to_pb(&ch->digest, dg);
		batch->count = mi.high_seq == ch->high_seq ? mi.count : 0;
	} else {
		batch->high_seq = mi.high_seq;
		batch->count = mi.count;
		csb_pb_digest_to_pb(&mi.digest, dg);
	}
	batch->digest = dg;
	batch->lineage.data = (uint8_t *)own->b;
	batch->lineage.len = CSB_LINEAGE_LEN;
	return CSB_OK;
}

/* Fills batch->records from ch: whole records while they fit, and a value larger than the
 * chunk size only as the first record, as its first chunk (partial). */
static void batch_fill(struct csb_node *a, const csb_changes *ch, uint64_t after_seq,
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
			csb_pb_record_to_pb(r, &recs[0]);
			recs[0].value.len = a->cfg.chunk_bytes;
			recs[0].value_len = r->value_len;
			ptrs[0] = &recs[0];
			n = 1;
			batch->partial = true;
			batch->last_seq = after_seq;
			break;
		}
		csb_pb_record_to_pb(r, &recs[n]);
		ptrs[n] = &recs[n];
		n++;
	}
	batch->n_records = n;
	batch->records = ptrs;
}

/* part: the chunk of the value at the resume offset (only that part is read out). */
static csb_err pull_resume(struct csb_node *a, const Csb__PullRequest *pr, Csb__Batch *batch,
                           Csb__Record *rec, Csb__Record **ptr, csb_record *part)
{
	uint64_t whole_len = 0;
	csb_err rv = csb_store_get_part(a->store, NULL, pr->module, pr->resume_key.data,
	                                pr->resume_key.len, pr->resume_offset, a->cfg.chunk_bytes,
	                                part, &whole_len);

	batch->last_seq = pr->after_seq;
	if (rv == CSB_ENOTFOUND)
		return CSB_OK; /* gone since: no records, not partial; the log has the news */
	if (rv != CSB_OK)
		return rv;
	if (part->seq != pr->resume_seq || pr->resume_offset >= whole_len)
		return CSB_OK; /* rewritten since: start over from the log */
	csb_pb_record_to_pb(part, rec);
	rec->chunk_offset = pr->resume_offset;
	rec->value.data = part->value;
	rec->value.len = part->value_len;
	rec->value_len = whole_len;
	batch->partial = pr->resume_offset + rec->value.len < whole_len;
	if (!batch->partial)
		batch->last_seq = part->seq;
	*ptr = rec;
	batch->records = ptr;
	batch->n_records = 1;
	return CSB_OK;
}

static csb_err pull_changes(struct csb_node *a, const Csb__PullRequest *pr,
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
		/* A long poll waiting for a write serves nothing: it does not hold one of the
		 * MaxConcurrentCalls slots meanwhile (else one quiet module could starve all). */
		node__call_pause(a);
		wait_for_write(a, node__export(a, pr->module), pr->after_seq, deadline);
		node__call_resume(a);
	}
}

static csb_err validate_pull(struct csb_node *a, const Csb__PullRequest *pr, csb_rpc_reply *rep,
                             const csb_lineage *own)
{
	if (strcmp(pr->source, a->name) != 0) {
		node__set_error(rep->error, "this agent exports %s, not %s", a->name, pr->source);
		return CSB_ENOTFOUND;
	}
	if (node__export(a, pr->module) == NULL) {
		node__set_error(rep->error, "unknown module %s", pr->module);
		return CSB_ENOTFOUND;
	}
	if (!csb_node_module_enabled(a, pr->module)) {
		node__set_error(rep->error, "%s does not back up %s (EnableRgsBackupService is $false)",
		                a->name, pr->module);
		return CSB_ENOTFOUND;
	}
	if (pr->lineage.len != 0 &&
	    (pr->lineage.len != CSB_LINEAGE_LEN || memcmp(pr->lineage.data, own->b, CSB_LINEAGE_LEN))) {
		node__set_error(rep->error, "lineage of %s changed; re-seed", a->name);
		return CSB_ELINEAGE;
	}
	return CSB_OK;
}

static csb_err sync_pull(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                         csb_rpc_reply *rep)
{
	struct csb_node *a = ctx;
	const Csb__PullRequest *pr = (const Csb__PullRequest *)msg;
	Csb__Batch batch = CSB__BATCH__INIT;
	Csb__Digest dg = CSB__DIGEST__INIT;
	Csb__Record *recs = NULL, **ptrs = NULL, one = CSB__RECORD__INIT, *onep;
	csb_changes ch = {0};
	csb_record whole = {0};
	csb_lineage own;
	struct export_mod *em;
	uint8_t *zbuf = NULL;
	size_t nrec;
	csb_err rv;

	if ((rv = csb_store_lineage(a->store, &own)) != CSB_OK ||
	    (rv = validate_pull(a, pr, rep, &own)) != CSB_OK)
		goto out;
	em = node__export(a, pr->module);
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
		node__set_error(rep->error, "the change log of %s no longer reaches seq %llu; re-seed",
		                 pr->module, (unsigned long long)pr->after_seq);
	if (rv != CSB_OK)
		goto out_clear;
	if ((rv = batch_summary(a, pr->module, pr->resume_key.len ? NULL : &ch, &batch, &dg,
	                               &own)) != CSB_OK)
		goto out_clear;
	if (a->role == CSB_NODE_POOL && a->hooks.role_view != NULL &&
	    node__is_partner(a, req->principal))
		batch.importer_home = a->hooks.role_view(a->hooks.ctx, req->principal,
		                                         &batch.importer_epoch);
	nrec = batch.n_records;
	if ((pr->accept & 1) &&
	    (rv = node__batch_deflate(&batch, (pr->accept & 2) != 0, &zbuf)) != CSB_OK)
		goto out_clear;
	if ((rv = csb_wire_pack(&batch.base, &rep->body, &rep->body_len)) != CSB_OK)
		goto out_clear;
	if (nrec > 0)
		note_served(em, batch.partial ? 0 : nrec, rep->body_len);
out_clear:
	free(zbuf);
	free(recs);
	free(ptrs);
	csb_changes_clear(&ch);
	csb_record_clear(&whole);
out:
	/* The caller's mistakes are its own; only a failure to serve is an export error. */
	if (rv != CSB_OK && rv != CSB_ELINEAGE && rv != CSB_ELOGGONE && rv != CSB_ENOTFOUND &&
	    rv != CSB_EDENIED) {
		if ((em = node__export(a, pr->module)) != NULL) {
			pthread_mutex_lock(&em->mu);
			node__set_error(em->last_error, "serving a pull failed: %s", csb_strerror(rv));
			pthread_mutex_unlock(&em->mu);
		}
	}
	return rv;
}

/* Resolves whose data a digest request reads: own (NULL) or the copy held for source. */
static csb_err data_source(struct csb_node *a, const char *source, bool from_copy,
                           csb_rpc_reply *rep, const char **out)
{
	if (from_copy) {
		*out = source;
		return CSB_OK;
	}
	if (source[0] != '\0' && strcmp(source, a->name) != 0) {
		node__set_error(rep->error, "this agent holds %s's data, not %s's", a->name, source);
		return CSB_ENOTFOUND;
	}
	*out = NULL;
	return CSB_OK;
}

static csb_err sync_digest_ranges(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                                  csb_rpc_reply *rep)
{
	struct csb_node *a = ctx;
	const Csb__DigestRequest *dr = (const Csb__DigestRequest *)msg;
	Csb__DigestReply out = CSB__DIGEST_REPLY__INIT;
	csb_range *ranges = NULL;
	csb_digest *dg = NULL;
	Csb__Digest *pdg = NULL, **pdgp = NULL;
	uint64_t *counts = NULL;
	const char *src;
	csb_module_info mi;
	csb_lineage lin;
	csb_err rv;

	if ((rv = data_source(a, dr->source, dr->from_copy, rep, &src)) != CSB_OK)
		goto out;
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
		csb_pb_range_from_pb(dr->ranges[i], &ranges[i]);
	if ((rv = csb_store_module_info(a->store, src, dr->module, &mi)) != CSB_OK ||
	    (rv = csb_store_lineage(a->store, &lin)) != CSB_OK ||
	    (rv = csb_store_digest_ranges(a->store, src, dr->module, ranges, dr->n_ranges, dg,
	                                  counts)) != CSB_OK) {
		node__set_error(rep->error, "digest of %s: %s", dr->module, csb_strerror(rv));
		goto out_free;
	}
	for (size_t i = 0; i < dr->n_ranges; i++) {
		csb_pb_digest_to_pb(&dg[i], &pdg[i]);
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
out:
	return rv;
}

static csb_err sync_split(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                          csb_rpc_reply *rep)
{
	struct csb_node *a = ctx;
	const Csb__SplitRequest *sr = (const Csb__SplitRequest *)msg;
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

	if ((rv = data_source(a, sr->source, sr->from_copy, rep, &src)) != CSB_OK)
		goto out;
	if (sr->parts == 0 || sr->parts > 256) {
		node__set_error(rep->error, "parts must be 1..256, not %u", sr->parts);
		rv = CSB_EINVAL;
		goto out;
	}
	csb_pb_range_from_pb(sr->range, &r);
	if ((rv = csb_store_module_info(a->store, src, sr->module, &mi)) != CSB_OK ||
	    (rv = csb_store_lineage(a->store, &lin)) != CSB_OK ||
	    (rv = csb_store_digest_split(a->store, src, sr->module, &r, sr->parts, &sp)) != CSB_OK)
		goto out;
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
		csb_pb_part_to_pb(&sp.parts[i], &kr[i], &dg[i]);
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
out:
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
	csb_pb_record_to_pb(r, pr);
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

static csb_err sync_range_read(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                               csb_rpc_reply *rep)
{
	struct csb_node *a = ctx;
	const Csb__RangeReadRequest *rq = (const Csb__RangeReadRequest *)msg;
	Csb__RangeReadReply out = CSB__RANGE_READ_REPLY__INIT;
	struct range_read rr = {.out = &out};
	csb_module_info mi;
	csb_lineage lin;
	csb_range r;
	csb_err rv;

	if (strcmp(rq->source, a->name) != 0) {
		node__set_error(rep->error, "this agent holds %s's data, not %s's", a->name, rq->source);
		rv = CSB_ENOTFOUND;
		goto out;
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
	csb_pb_range_from_pb(rq->range, &r);
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
out:
	return rv;
}

/* Every Sync call holds one of the MaxConcurrentCalls slots while it is served. */
static csb_err limited(csb_rpc_typed_fn fn, void *ctx, const csb_rpc_request *req,
                       const ProtobufCMessage *msg, csb_rpc_reply *rep)
{
	csb_err rv;

	if (!node__call_enter(ctx, rep))
		return CSB_EBUSY;
	rv = fn(ctx, req, msg, rep);
	node__call_leave(ctx);
	return rv;
}

static csb_err pull_limited(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                            csb_rpc_reply *rep)
{
	return limited(sync_pull, ctx, req, msg, rep);
}

static csb_err digest_ranges_limited(void *ctx, const csb_rpc_request *req,
                                     const ProtobufCMessage *msg, csb_rpc_reply *rep)
{
	return limited(sync_digest_ranges, ctx, req, msg, rep);
}

static csb_err split_limited(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                             csb_rpc_reply *rep)
{
	return limited(sync_split, ctx, req, msg, rep);
}

static csb_err range_read_limited(void *ctx, const csb_rpc_request *req,
                                  const ProtobufCMessage *msg, csb_rpc_reply *rep)
{
	return limited(sync_range_read, ctx, req, msg, rep);
}

size_t node__sync_methods(struct csb_node *a, csb_rpc_method *out)
{
	out[0] = (csb_rpc_method){"csb.Sync/Pull", NULL, a, &csb__pull_request__descriptor,
	                          pull_limited, sync_authorize};
	out[1] = (csb_rpc_method){"csb.Sync/DigestRanges", NULL, a,
	                          &csb__digest_request__descriptor, digest_ranges_limited,
	                          sync_authorize};
	out[2] = (csb_rpc_method){"csb.Sync/Split", NULL, a, &csb__split_request__descriptor,
	                          split_limited, sync_authorize};
	out[3] = (csb_rpc_method){"csb.Sync/RangeRead", NULL, a,
	                          &csb__range_read_request__descriptor, range_read_limited,
	                          sync_authorize};
	return 4;
}
