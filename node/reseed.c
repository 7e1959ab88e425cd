/* Differential re-seed (DESIGN.md §2): when the log cannot serve (the partner's lineage
 * changed, its log was pruned past our cursor, or the copy's digest disagrees at the same
 * seq), compare range digests with the partner, recurse only into ranges that differ, fetch
 * only their records and delete what the partner no longer has. Repairs keep the old cursor,
 * so a crash mid-way just re-seeds again; the last step sets {new lineage, high seq} and
 * the ordinary pulls go on from there. A full copy is the case where everything differs. */
#include <stdlib.h>
#include <string.h>

#include "node/convert.h"
#include "node/internal/node.h"
#include "common/log.h"
#include "common/wire.h"
#include "proto/sync.pb-c.h"

#define RESEED_FANOUT 16
#define RESEED_LEAF 512     /* partner records in a range fetched without splitting */
#define RESEED_TIMEOUT_MS 30000

static bool stopped(const struct importer *im)
{
	return atomic_load(&im->stop) || atomic_load(&im->n->stopping);
}

struct reseed {
	struct csb_node *a;
	struct importer *im;
	csb_batch_hdr keep;  /* applies repairs without moving the cursor */
	uint64_t fetched, deleted, ranges;
	char *err;
};

/* An owned copy of a key range (the RPC replies it came from are freed early). */
struct owned_range {
	uint8_t lo[CSB_KEY_MAX], hi[CSB_KEY_MAX];
	size_t lo_len, hi_len;
	bool lo_open, hi_open;
};

static void own_range(const Csb__KeyRange *kr, struct owned_range *o)
{
	memset(o, 0, sizeof(*o));
	o->lo_open = kr == NULL || kr->lo_open;
	o->hi_open = kr == NULL || kr->hi_open;
	if (!o->lo_open) {
		o->lo_len = kr->lo.len;
		memcpy(o->lo, kr->lo.data, kr->lo.len);
	}
	if (!o->hi_open) {
		o->hi_len = kr->hi.len;
		memcpy(o->hi, kr->hi.data, kr->hi.len);
	}
}

static void range_of(const struct owned_range *o, csb_range *r)
{
	r->lo = o->lo_open ? NULL : o->lo;
	r->lo_len = o->lo_len;
	r->hi = o->hi_open ? NULL : o->hi;
	r->hi_len = o->hi_len;
}

static csb_err split_remote(struct reseed *rs, const struct owned_range *o, Csb__SplitReply **out)
{
	Csb__SplitRequest sr = CSB__SPLIT_REQUEST__INIT;
	Csb__KeyRange kr;
	csb_range r;

	range_of(o, &r);
	csb_pb_range_to_pb(&r, &kr);
	sr.source = rs->im->source;
	sr.module = (char *)rs->im->module;
	sr.range = &kr;
	sr.parts = RESEED_FANOUT;
	return csb_rpc_call_msg(rs->im->peer->cli, "csb.Sync/Split", &sr.base,
	                        &csb__split_reply__descriptor, RESEED_TIMEOUT_MS,
	                        (ProtobufCMessage **)out, rs->err);
}

struct local_set {
	csb_record *recs;
	size_t n, cap;
};

static bool local_collect(void *ctx, const csb_record *r)
{
	struct local_set *ls = ctx;
	csb_record *c;

	if (ls->n == ls->cap) {
		size_t cap = ls->cap ? ls->cap * 2 : 256;
		csb_record *nr = realloc(ls->recs, cap * sizeof(*nr));

		if (nr == NULL)
			return false;
		ls->recs = nr;
		ls->cap = cap;
	}
	c = &ls->recs[ls->n];
	if (csb_record_copy(r, c) != CSB_OK)
		return false;
	ls->n++;
	return true;
}

static void local_free(struct local_set *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		csb_record_clear(&ls->recs[i]);
	free(ls->recs);
}

static int key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c ? c : (al > bl) - (al < bl);
}

/* Merges one page of the partner's records (sorted) against the local copy's records of the
 * same key span; appends puts and tombstones to fix[]. *li walks local. `last` tells that
 * local records beyond the page are extras too. */
static size_t merge_page(const Csb__RangeReadReply *page, const struct local_set *ls, size_t *li,
                         bool last, csb_record *fix)
{
	size_t n = 0, ri = 0;

	while (ri < page->n_records || (last && *li < ls->n)) {
		const Csb__Record *rr = ri < page->n_records ? page->records[ri] : NULL;
		const csb_record *lr = *li < ls->n ? &ls->recs[*li] : NULL;
		int c = rr == NULL ? 1 : lr == NULL ? -1
		                                   : key_cmp(rr->key.data, rr->key.len, lr->key,
		                                             lr->key_len);

		if (c < 0) { /* only the partner has it */
			csb_pb_record_from_pb(rr, &fix[n++]);
			ri++;
		} else if (c > 0) { /* only we have it: an extra */
			fix[n] = (csb_record){.key = lr->key, .key_len = lr->key_len, .tombstone = true};
			n++;
			(*li)++;
		} else {
			if (rr->value.len != lr->value_len ||
			    (lr->value_len && memcmp(rr->value.data, lr->value, lr->value_len)))
				csb_pb_record_from_pb(rr, &fix[n++]);
			ri++;
			(*li)++;
		}
	}
	return n;
}

static csb_err range_read(struct reseed *rs, const csb_range *r, const uint8_t *after,
                          size_t after_len, Csb__RangeReadReply **out)
{
	Csb__RangeReadRequest rq = CSB__RANGE_READ_REQUEST__INIT;
	Csb__KeyRange kr;

	csb_pb_range_to_pb(r, &kr);
	rq.source = rs->im->source;
	rq.module = (char *)rs->im->module;
	rq.range = &kr;
	rq.after.data = (uint8_t *)after;
	rq.after.len = after_len;
	return csb_rpc_call_msg(rs->im->peer->cli, "csb.Sync/RangeRead", &rq.base,
	                        &csb__range_read_reply__descriptor, RESEED_TIMEOUT_MS,
	                        (ProtobufCMessage **)out, rs->err);
}

/* Makes the copy's records in range equal to the partner's, page by page. */
static csb_err repair_range(struct reseed *rs, const struct owned_range *o)
{
	struct csb_node *a = rs->a;
	struct local_set ls = {0};
	Csb__RangeReadReply *page = NULL;
	uint8_t after[CSB_KEY_MAX];
	size_t after_len = 0, li = 0, nfix;
	csb_record *fix = NULL;
	csb_range r;
	csb_err rv;

	range_of(o, &r);
	rs->ranges++;
	rv = csb_store_scan(a->store, rs->im->source, rs->im->module, &r, NULL, 0, 0, local_collect, &ls);
	if (rv != CSB_OK)
		goto out_free;
	do {
		size_t page_end = li;

		if ((rv = range_read(rs, &r, after_len ? after : NULL, after_len, &page)) != CSB_OK)
			goto out_free;
		if (page->more && page->n_records == 0) {
			node__set_error(rs->err, "partner sent an empty page with more to come");
			rv = CSB_EPROTO;
			goto out_free;
		}
		/* Local records up to the page's last key belong to this page. */
		if (page->more && page->n_records > 0) {
			const Csb__Record *lastr = page->records[page->n_records - 1];

			while (page_end < ls.n && key_cmp(ls.recs[page_end].key, ls.recs[page_end].key_len,
			                                  lastr->key.data, lastr->key.len) <= 0)
				page_end++;
		} else {
			page_end = ls.n;
		}
		fix = calloc(page->n_records + (page_end - li) + 1, sizeof(*fix));
		if (fix == NULL) {
			rv = CSB_ENOMEM;
			goto out_free;
		}
		{
			struct local_set part = {ls.recs, page_end, page_end};

			nfix = merge_page(page, &part, &li, true, fix);
		}
		for (size_t i = 0; i < nfix; i++)
			fix[i].tombstone ? rs->deleted++ : rs->fetched++;
		if (nfix > 0 && (rv = csb_store_apply(a->store, rs->im->source, rs->im->module, &rs->keep,
		                                      fix, nfix, NULL)) != CSB_OK)
			goto out_free;
		free(fix);
		fix = NULL;
		if (page->n_records > 0) {
			const Csb__Record *lastr = page->records[page->n_records - 1];

			after_len = lastr->key.len;
			memcpy(after, lastr->key.data, after_len);
		}
		if (!page->more)
			break;
		protobuf_c_message_free_unpacked(&page->base, NULL);
		page = NULL;
	} while (!stopped(rs->im));
out_free:
	free(fix);
	if (page != NULL)
		protobuf_c_message_free_unpacked(&page->base, NULL);
	local_free(&ls);
	return rv;
}

/* Compares one level: the partner's parts against our digests of the same ranges; repairs
 * small differing parts and recurses into large ones. */
static csb_err reseed_range(struct reseed *rs, const struct owned_range *o, unsigned depth)
{
	Csb__SplitReply *sp = NULL;
	struct owned_range *parts = NULL;
	csb_range *ranges = NULL;
	csb_digest *dg = NULL;
	uint64_t *counts = NULL;
	csb_err rv;

	if ((rv = split_remote(rs, o, &sp)) != CSB_OK)
		return rv;
	parts = calloc(sp->n_parts + 1, sizeof(*parts));
	ranges = calloc(sp->n_parts + 1, sizeof(*ranges));
	dg = calloc(sp->n_parts + 1, sizeof(*dg));
	counts = calloc(sp->n_parts + 1, sizeof(*counts));
	if (!parts || !ranges || !dg || !counts) {
		rv = CSB_ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < sp->n_parts; i++) {
		own_range(sp->parts[i]->range, &parts[i]);
		range_of(&parts[i], &ranges[i]);
	}
	rv = csb_store_digest_ranges(rs->a->store, rs->im->source, rs->im->module, ranges,
	                             sp->n_parts, dg, counts);
	if (rv != CSB_OK)
		goto out_free;
	for (size_t i = 0; i < sp->n_parts && rv == CSB_OK && !stopped(rs->im); i++) {
		const Csb__SplitPart *p = sp->parts[i];
		csb_digest theirs;

		csb_pb_digest_from_pb(p->digest, &theirs);
		if (theirs.lo == dg[i].lo && theirs.hi == dg[i].hi && p->count == counts[i])
			continue;
		if (p->count <= RESEED_LEAF || sp->n_parts == 1 || depth >= 12)
			rv = repair_range(rs, &parts[i]);
		else
			rv = reseed_range(rs, &parts[i], depth + 1);
	}
out_free:
	free(parts);
	free(ranges);
	free(dg);
	free(counts);
	protobuf_c_message_free_unpacked(&sp->base, NULL);
	return rv;
}

csb_err node__reseed(struct importer *im, char *err)
{
	struct csb_node *a = im->n;
	struct reseed rs = {.a = a, .im = im, .err = err};
	struct owned_range all;
	Csb__SplitReply *top = NULL;
	csb_batch_hdr done = {.reseed = true};
	csb_cursor cur = {0};
	csb_err rv;

	if ((rv = csb_store_cursor_get(a->store, im->source, im->module, &cur)) == CSB_OK) {
		rs.keep = (csb_batch_hdr){cur.lineage, cur.applied_seq, cur.applied_seq, true};
	} else if (rv != CSB_ENOTFOUND) {
		return rv;
	}
	/* The partner's lineage and high seq before any comparison: everything written after
	 * it reaches us through the log afterwards. */
	own_range(NULL, &all);
	if ((rv = split_remote(&rs, &all, &top)) != CSB_OK)
		return rv;
	if (top->lineage.len != CSB_LINEAGE_LEN) {
		protobuf_c_message_free_unpacked(&top->base, NULL);
		node__set_error(err, "%s sent no lineage", im->source);
		return CSB_EPROTO;
	}
	memcpy(done.lineage.b, top->lineage.data, CSB_LINEAGE_LEN);
	done.last_seq = top->high_seq;
	protobuf_c_message_free_unpacked(&top->base, NULL);
	if (cur.applied_seq == 0 && !rs.keep.reseed)
		rs.keep = (csb_batch_hdr){done.lineage, 0, 0, true};
	rv = reseed_range(&rs, &all, 0);
	pthread_mutex_lock(&im->mu);
	im->reseed_records += rs.fetched + rs.deleted;
	pthread_mutex_unlock(&im->mu);
	if (rv != CSB_OK)
		return rv;
	if (stopped(im))
		return CSB_ECLOSED;
	if ((rv = csb_store_apply(a->store, im->source, im->module, &done, NULL, 0, NULL)) != CSB_OK)
		return rv;
	pthread_mutex_lock(&im->mu);
	im->reseeds++;
	pthread_mutex_unlock(&im->mu);
	csb_info("import", "re-seeded pool=%s source=%s module=%s seq=%llu ranges=%llu fetched=%llu "
	         "deleted=%llu", a->name, im->source, im->module, (unsigned long long)done.last_seq,
	         (unsigned long long)rs.ranges, (unsigned long long)rs.fetched,
	         (unsigned long long)rs.deleted);
	return CSB_OK;
}
