/* Importer objects: one per (source, module), each with its own thread and stop flag. The
 * thread pulls after its cursor, applies each batch together with the new cursor in one
 * transaction, and asks again (the exporter holds the Pull until a write lands). Chunked
 * values are reassembled before apply. A pruned log or a copy that disagrees at the same
 * seq leads to a differential re-seed (reseed.c); a source with a lineage never seen is not
 * followed (DESIGN.md §4a). Failures are retried with backoff from the retry policy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/convert.h"
#include "node/internal/node.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/retry.h"
#include "common/wire.h"
#include "proto/sync.pb-c.h"

/* The most a compressed batch may inflate to: a batch is at most max_bytes (64 MiB at the
 * most) of keys and values plus its framing. */
#define PULL_INFLATE_MAX ((size_t)80 << 20)

/* A value being reassembled from chunks. */
struct chunked {
	uint8_t *buf;
	size_t len;     /* the whole value's length */
	size_t have;    /* bytes received so far */
	csb_record rec; /* key owned by key_buf, value = buf */
	uint8_t key_buf[CSB_KEY_MAX];
};

/* What one Pull asks for. */
struct pull_args {
	bool have;           /* a cursor exists: lineage and after_seq are set */
	csb_lineage lineage;
	uint64_t after_seq;
	bool speculative;    /* sent ahead while the batch before is still being applied */
	uint64_t acked_seq;  /* with speculative: what is durably applied */
	/* A chunk of a value being reassembled: the one of this key and seq at resume_offset. */
	bool chunk;
	uint64_t resume_seq, resume_offset;
	size_t key_len;
	uint8_t key[CSB_KEY_MAX];
};

/* A pull sent ahead (pipelining): while the applier commits a batch, this thread already
 * fetches the next one, so transfer and commit overlap. Used only when the exporter said
 * more is waiting (no long poll), and the speculative pull does not acknowledge the batch
 * still being applied. */
struct prefetch {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool want;           /* a pull is asked for or running */
	bool done;           /* its result is here */
	bool quit;
	struct pull_args args;
	Csb__Batch *batch;
	uint64_t sent_ms;    /* when its pull was sent (boot ms) */
	csb_err rv;
	char err[CSB_RPC_ERROR_MAX];
	pthread_t thread;
};

/* *sent_ms gets the boot ms at which the request left: what the reply says (the partner
 * agrees this pool is home, the CMS as it was) was true no earlier than that. */
static csb_err pull(struct importer *im, const struct pull_args *pa, Csb__Batch **out,
                    uint64_t *sent_ms, char *err)
{
	Csb__PullRequest pr = CSB__PULL_REQUEST__INIT;
	csb_err rv;

	pr.source = im->source;
	pr.module = (char *)im->module;
	if (pa->have) {
		pr.lineage.data = (uint8_t *)pa->lineage.b;
		pr.lineage.len = CSB_LINEAGE_LEN;
		pr.after_seq = pa->after_seq;
	}
	pr.speculative = pa->speculative;
	pr.acked_seq = pa->acked_seq;
	pr.max_records = im->n->cfg.max_records;
	pr.max_bytes = im->n->cfg.max_bytes;
	pr.max_wait_ms = pa->speculative || pa->chunk ? 0 : im->n->cfg.long_poll_ms;
	if (pa->chunk) {
		pr.resume_key.data = (uint8_t *)pa->key;
		pr.resume_key.len = pa->key_len;
		pr.resume_seq = pa->resume_seq;
		pr.resume_offset = pa->resume_offset;
	}
	pr.accept = 1 | 2; /* zstd, chunks too */
	*sent_ms = csb_boot_ms();
	/* The CMS is small: a reply later than the long poll and two seconds is a connection
	 * that went bad (the client resets it), found out sooner. */
	rv = csb_rpc_call_msg(im->peer->cli, "csb.Sync/Pull", &pr.base, &csb__batch__descriptor,
	                      im->n->cfg.long_poll_ms +
	                              (strcmp(im->module, CSB_MODULE_CMS) == 0 ? 2000 : 5000),
	                      (ProtobufCMessage **)out, err);
	if (rv == CSB_OK && (rv = node__batch_inflate(*out, PULL_INFLATE_MAX, err)) != CSB_OK) {
		protobuf_c_message_free_unpacked(&(*out)->base, NULL);
		*out = NULL;
	}
	return rv;
}

/* A batch must follow the cursor; a chunk (partial, or the last chunk of a value being
 * assembled) carries one record whose seq the batch covers only once it is complete. */
static csb_err check_batch(const Csb__Batch *b, uint64_t after_seq, bool chunking, char *err)
{
	bool chunk = b->partial || chunking;

	if (b->lineage.len != CSB_LINEAGE_LEN || b->after_seq != after_seq ||
	    b->last_seq < after_seq || b->last_seq > b->high_seq ||
	    (b->partial && b->n_records != 1) || (chunking && b->n_records > 1)) {
		node__set_error(err, "inconsistent batch: after %llu last %llu high %llu",
		                 (unsigned long long)b->after_seq, (unsigned long long)b->last_seq,
		                 (unsigned long long)b->high_seq);
		return CSB_EPROTO;
	}
	for (size_t i = 0; i < b->n_records; i++) {
		const Csb__Record *r = b->records[i];

		if (r->key.len == 0 || r->seq <= after_seq ||
		    (b->partial ? r->seq > b->high_seq : r->seq > b->last_seq) ||
		    (!chunk && r->chunk_offset != 0)) {
			node__set_error(err, "inconsistent record %zu in batch", i);
			return CSB_EPROTO;
		}
	}
	return CSB_OK;
}

/* Adds one chunk to ck; starts a new value at offset 0. */
static csb_err chunk_add(struct chunked *ck, const Csb__Record *r, char *err)
{
	if (r->chunk_offset == 0) {
		free(ck->buf);
		memset(ck, 0, sizeof(*ck));
		if (r->value_len > CSB_VALUE_MAX || r->key.len > CSB_KEY_MAX) {
			node__set_error(err, "chunked value of %llu bytes is over the limit",
			                 (unsigned long long)r->value_len);
			return CSB_ETOOBIG;
		}
		if ((ck->buf = malloc(r->value_len ? r->value_len : 1)) == NULL)
			return CSB_ENOMEM;
		ck->len = r->value_len;
		memcpy(ck->key_buf, r->key.data, r->key.len);
		csb_pb_record_from_pb(r, &ck->rec);
		ck->rec.key = ck->key_buf;
	}
	if (ck->buf == NULL || r->chunk_offset != ck->have || r->seq != ck->rec.seq ||
	    r->value.len > ck->len - ck->have) {
		node__set_error(err, "chunk out of order at offset %llu",
		                 (unsigned long long)r->chunk_offset);
		return CSB_EPROTO;
	}
	memcpy(ck->buf + ck->have, r->value.data, r->value.len);
	ck->have += r->value.len;
	ck->rec.value = ck->buf;
	ck->rec.value_len = ck->len;
	return CSB_OK;
}

static void chunk_drop(struct chunked *ck)
{
	free(ck->buf);
	memset(ck, 0, sizeof(*ck));
}

static bool stopped(const struct importer *im)
{
	return atomic_load(&im->stop) || atomic_load(&im->n->stopping);
}

/* A contact time moves only forward. */
static void contact_note(_Atomic uint64_t *at, uint64_t ms)
{
	uint64_t cur = atomic_load(at);

	while (ms > cur && !atomic_compare_exchange_weak(at, &cur, ms))
		;
}

/* sent_ms: when the pull that brought b was sent. A renewal of the lease counts from then,
 * never from when the reply arrived: a reply that waited in a socket buffer while this
 * agent was paused (SIGSTOP, a VM frozen) says what was true before the pause, and a pool
 * failed over meanwhile must not take it as leave to write. */
static void note_applied(struct importer *im, const Csb__Batch *b, size_t records, size_t bytes,
                         uint64_t sent_ms)
{
	struct csb_node *n = im->n;

	/* The partner renews the lease when it agrees this pool is home at the same epoch. */
	if (strcmp(im->module, CSB_MODULE_CMS) != 0 && b->importer_home &&
	    n->hooks.role_view != NULL) {
		uint64_t mine = 0;

		if (n->hooks.role_view(n->hooks.ctx, n->name, &mine) && mine == b->importer_epoch)
			contact_note(&n->partner_contact_ms, sent_ms);
	}
	pthread_mutex_lock(&im->mu);
	im->last_import_ms = csb_now_ms();
	im->source_high_seq = b->high_seq;
	im->records_applied += records;
	im->bytes_applied += bytes;
	pthread_mutex_unlock(&im->mu);
	if (strcmp(im->module, CSB_MODULE_CMS) == 0 &&
	    (records > 0 || (b->last_seq == b->high_seq && !atomic_load(&n->cms_current)))) {
		pthread_mutex_lock(&n->imu);
		n->replica_dirty = true; /* the tick tells the role what the replica says now */
		pthread_mutex_unlock(&n->imu);
		/* Caught up with the coordinator since this start: the replica is current. */
		if (b->last_seq == b->high_seq)
			atomic_store(&n->cms_current, true);
		node__kick(n);
	}
	/* The coordinator's contact renews the lease: after the replica is marked, so that a
	 * tick that sees this contact also reads what the batch brought (a fence) first. */
	if (strcmp(im->module, CSB_MODULE_CMS) == 0)
		contact_note(&n->cms_contact_ms, sent_ms);
}

/* Applies a complete batch (or the completed chunked record) with its cursor. */
static csb_err apply(struct importer *im, const Csb__Batch *b,
                     const struct chunked *ck, bool have_cursor, uint64_t sent_ms, char *err)
{
	csb_batch_hdr hdr = {.after_seq = b->after_seq, .last_seq = b->last_seq};
	csb_record *recs = NULL;
	csb_cursor cur;
	csb_digest src;
	size_t n = ck ? 1 : b->n_records, bytes = 0;
	csb_err rv;

	memcpy(hdr.lineage.b, b->lineage.data, CSB_LINEAGE_LEN);
	if (n == 0 && have_cursor && b->last_seq == b->after_seq)
		goto out_check; /* nothing new: no transaction at all */
	if (n > 0 && (recs = calloc(n, sizeof(*recs))) == NULL)
		return CSB_ENOMEM;
	if (ck != NULL)
		recs[0] = ck->rec;
	else
		for (size_t i = 0; i < n; i++)
			csb_pb_record_from_pb(b->records[i], &recs[i]);
	for (size_t i = 0; i < n; i++)
		bytes += recs[i].key_len + recs[i].value_len;
	rv = csb_store_apply(im->n->store, im->source, im->module, &hdr, recs, n, &cur);
	free(recs);
	if (rv != CSB_OK) {
		node__set_error(err, "apply after seq %llu: %s", (unsigned long long)b->after_seq,
		                 csb_strerror(rv));
		return rv;
	}
	note_applied(im, b, n, bytes, sent_ms);
out_check:
	if (b->last_seq != b->high_seq || b->digest == NULL)
		return CSB_OK;
	if ((rv = csb_store_cursor_get(im->n->store, im->source, im->module, &cur)) != CSB_OK)
		return rv;
	csb_pb_digest_from_pb(b->digest, &src);
	if (cur.applied_seq == b->high_seq && (cur.digest.lo != src.lo || cur.digest.hi != src.hi)) {
		node__set_error(err, "backup copy differs from %s at seq %llu", im->source,
		                 (unsigned long long)b->high_seq);
		return CSB_ECORRUPT;
	}
	if (n == 0)
		note_applied(im, b, 0, 0, sent_ms);
	return CSB_OK;
}

static void *prefetch_main(void *arg)
{
	struct importer *im = arg;
	struct prefetch *pf = im->pf;
	struct pull_args args;
	Csb__Batch *b;
	uint64_t sent = 0;
	char err[CSB_RPC_ERROR_MAX];
	csb_err rv;

	pthread_mutex_lock(&pf->mu);
	for (;;) {
		while (!pf->quit && (!pf->want || pf->done))
			pthread_cond_wait(&pf->cv, &pf->mu);
		if (pf->quit)
			break;
		args = pf->args;
		pthread_mutex_unlock(&pf->mu);
		b = NULL;
		err[0] = '\0';
		rv = pull(im, &args, &b, &sent, err);
		pthread_mutex_lock(&pf->mu);
		pf->batch = b;
		pf->sent_ms = sent;
		pf->rv = rv;
		memcpy(pf->err, err, sizeof(err));
		pf->done = true;
		pthread_cond_broadcast(&pf->cv);
	}
	pthread_mutex_unlock(&pf->mu);
	return NULL;
}

static void prefetch_start(struct prefetch *pf, const struct pull_args *args)
{
	pthread_mutex_lock(&pf->mu);
	pf->args = *args;
	pf->want = true;
	pf->done = false;
	pthread_cond_broadcast(&pf->cv);
	pthread_mutex_unlock(&pf->mu);
}

/* Takes the prefetched result when it answers exactly what pa asks; else discards it.
 * Returns false when there is none to use (the caller pulls itself). */
/* With pf->mu held and a pull asked for: waits for its result and takes it; *asked gets
 * what it asked (may be NULL). */
static void prefetch_collect(struct prefetch *pf, Csb__Batch **b, uint64_t *sent_ms, csb_err *rv,
                             char *err, struct pull_args *asked)
{
	while (!pf->done)
		pthread_cond_wait(&pf->cv, &pf->mu);
	if (asked != NULL)
		*asked = pf->args;
	*b = pf->batch;
	*sent_ms = pf->sent_ms;
	*rv = pf->rv;
	if (err != NULL)
		memcpy(err, pf->err, CSB_RPC_ERROR_MAX);
	pf->batch = NULL;
	pf->want = pf->done = false;
}

static bool prefetch_take(struct prefetch *pf, const struct pull_args *pa, Csb__Batch **b,
                          uint64_t *sent_ms, csb_err *rv, char *err)
{
	struct pull_args asked;
	bool match;

	pthread_mutex_lock(&pf->mu);
	if (!pf->want) {
		pthread_mutex_unlock(&pf->mu);
		return false;
	}
	prefetch_collect(pf, b, sent_ms, rv, err, &asked);
	pthread_mutex_unlock(&pf->mu);
	match = pa->have && asked.after_seq == pa->after_seq &&
	        memcmp(asked.lineage.b, pa->lineage.b, CSB_LINEAGE_LEN) == 0;
	if (!match && *b != NULL) {
		protobuf_c_message_free_unpacked(&(*b)->base, NULL);
		*b = NULL;
	}
	return match;
}

/* The pull of the chunk of ck's value at offset. */
static struct pull_args chunk_args(const struct pull_args *pa, const struct chunked *ck,
                                   uint64_t offset)
{
	struct pull_args a = *pa;

	a.speculative = false;
	a.chunk = true;
	a.resume_seq = ck->rec.seq;
	a.resume_offset = offset;
	a.key_len = ck->rec.key_len;
	memcpy(a.key, ck->rec.key, ck->rec.key_len);
	return a;
}

/* The chunk asked for of the prefetch thread (the one after the chunk this thread fetches
 * meanwhile: two chunks in flight keep the exporter reading and compressing one while the
 * other crosses the wire), or NULL when it failed (then it is pulled again in turn). */
static Csb__Batch *chunk_ahead_take(struct prefetch *pf, uint64_t *sent_ms)
{
	Csb__Batch *b;
	csb_err rv;

	pthread_mutex_lock(&pf->mu);
	prefetch_collect(pf, &b, sent_ms, &rv, NULL, NULL);
	pthread_mutex_unlock(&pf->mu);
	if (rv != CSB_OK && b != NULL) {
		protobuf_c_message_free_unpacked(&b->base, NULL);
		b = NULL;
	}
	return b;
}

/* Whether a chunk fetched ahead is the one ck needs next (else it is dropped). */
static bool chunk_is_next(const Csb__Batch *b, const struct chunked *ck)
{
	return b->n_records == 1 && b->records[0]->chunk_offset == ck->have &&
	       b->records[0]->seq == ck->rec.seq;
}

/* One pull and its apply (all chunks of a chunked value count as one step). */
static csb_err import_step(struct importer *im, char *err)
{
	struct chunked ck = {0};
	struct pull_args pa = {0};
	Csb__Batch *b = NULL, *ahead = NULL;
	uint64_t sent = 0, ahead_sent = 0, chunk_len = 0;
	csb_cursor cur;
	bool have;
	csb_err rv;

	rv = csb_store_cursor_get(im->n->store, im->source, im->module, &cur);
	if (rv != CSB_OK && rv != CSB_ENOTFOUND)
		return rv;
	have = rv == CSB_OK;
	if (have)
		pa = (struct pull_args){.have = true, .lineage = cur.lineage,
		                        .after_seq = cur.applied_seq};
	for (;;) {
		if (ahead != NULL && chunk_is_next(ahead, &ck)) {
			b = ahead;
			sent = ahead_sent;
			ahead = NULL;
			rv = CSB_OK;
		} else if (ck.buf != NULL) {
			bool two = ck.have + chunk_len < ck.len;
			struct pull_args next = chunk_args(&pa, &ck, ck.have);

			if (ahead != NULL) {
				protobuf_c_message_free_unpacked(&ahead->base, NULL);
				ahead = NULL;
			}
			if (two) {
				struct pull_args after = chunk_args(&pa, &ck, ck.have + chunk_len);

				prefetch_start(im->pf, &after);
			}
			rv = pull(im, &next, &b, &sent, err);
			if (two)
				ahead = chunk_ahead_take(im->pf, &ahead_sent);
		} else if (!prefetch_take(im->pf, &pa, &b, &sent, &rv, err)) {
			rv = pull(im, &pa, &b, &sent, err);
		}
		if (rv != CSB_OK)
			goto out_drop;
		if ((rv = check_batch(b, have ? cur.applied_seq : 0, ck.buf != NULL, err)) != CSB_OK)
			goto out_free_batch;
		if (!b->partial && ck.buf == NULL)
			break; /* an ordinary batch */
		if (b->n_records == 0) { /* the value changed while we fetched it: start over */
			chunk_drop(&ck);
			goto out_free_batch;
		}
		if ((rv = chunk_add(&ck, b->records[0], err)) != CSB_OK)
			goto out_free_batch;
		if (!b->partial)
			break; /* the last chunk */
		chunk_len = b->records[0]->value.len;
		protobuf_c_message_free_unpacked(&b->base, NULL);
		b = NULL;
		if (stopped(im)) {
			rv = CSB_ECLOSED;
			goto out_drop;
		}
	}
	/* More is waiting: fetch it while this batch commits. */
	if (ck.buf == NULL && b->n_records > 0 && b->last_seq < b->high_seq) {
		struct pull_args next = {.have = true, .after_seq = b->last_seq, .speculative = true,
		                         .acked_seq = pa.after_seq};

		memcpy(next.lineage.b, b->lineage.data, CSB_LINEAGE_LEN);
		prefetch_start(im->pf, &next);
	}
	rv = apply(im, b, ck.buf ? &ck : NULL, have, sent, err);
out_free_batch:
	if (b != NULL)
		protobuf_c_message_free_unpacked(&b->base, NULL);
out_drop:
	if (ahead != NULL)
		protobuf_c_message_free_unpacked(&ahead->base, NULL);
	chunk_drop(&ck);
	return rv;
}

/* What a changed lineage means. A source that came back with a store nobody has seen
 * (lost disk, deleted folder, an old file copy) is never followed: following it would
 * delete the only surviving copy (DESIGN.md §4a). Only a copy that holds nothing may start
 * over from it. Returns CSB_OK to re-seed, or CSB_ELINEAGE with the reason in err. */
static csb_err lineage_changed(struct importer *im, char *err)
{
	struct csb_node *n = im->n;
	Csb__DigestRequest dr = CSB__DIGEST_REQUEST__INIT;
	Csb__KeyRange all = CSB__KEY_RANGE__INIT, *allp = &all;
	Csb__DigestReply *out = NULL;
	csb_node_lost_source ls = {.source = im->source, .module = im->module};
	csb_cursor cur;
	char lin[2 * CSB_LINEAGE_LEN + 1], why[CSB_RPC_ERROR_MAX];
	bool report;
	csb_err rv;

	if (csb_store_cursor_get(n->store, im->source, im->module, &cur) != CSB_OK ||
	    (cur.applied_seq == 0 && cur.count == 0))
		return CSB_OK; /* nothing to lose */
	all.lo_open = all.hi_open = true;
	dr.source = im->source;
	dr.module = (char *)im->module;
	dr.n_ranges = 1;
	dr.ranges = &allp;
	rv = csb_rpc_call_msg(im->peer->cli, "csb.Sync/DigestRanges", &dr.base,
	                      &csb__digest_reply__descriptor, 10000, (ProtobufCMessage **)&out, why);
	if (rv != CSB_OK) {
		node__set_error(err, "%s changed its lineage and could not be asked how: %s",
		                im->source, why[0] ? why : csb_strerror(rv));
		return CSB_ELINEAGE;
	}
	if (out->lineage.len == CSB_LINEAGE_LEN)
		memcpy(ls.lineage.b, out->lineage.data, CSB_LINEAGE_LEN);
	ls.source_records = out->n_counts == 1 ? out->counts[0] : 0;
	protobuf_c_message_free_unpacked(&out->base, NULL);
	ls.records_kept = cur.count;
	for (int i = 0; i < CSB_LINEAGE_LEN; i++)
		snprintf(lin + 2 * i, 3, "%02x", ls.lineage.b[i]);
	if (ls.source_records == 0)
		node__set_error(err, "%s came back with a new, empty store (lineage %.8s…); keeping "
		                "this copy of %llu records", im->source, lin,
		                (unsigned long long)ls.records_kept);
	else
		node__set_error(err, "%s came back with a store nobody has seen (lineage %.8s…, %llu "
		                "records); keeping this copy of %llu records", im->source, lin,
		                (unsigned long long)ls.source_records, (unsigned long long)ls.records_kept);
	ls.reason = err;
	pthread_mutex_lock(&im->mu);
	report = !im->lost_reported || memcmp(&im->lost_lineage, &ls.lineage, sizeof(ls.lineage));
	im->lost_source = true;
	im->lost_lineage = ls.lineage;
	pthread_mutex_unlock(&im->mu);
	if (report && n->hooks.source_lost != NULL) {
		csb_warn("import", "lost source pool=%s source=%s module=%s lineage=%s records_kept=%llu "
		         "source_records=%llu", n->name, im->source, im->module, lin,
		         (unsigned long long)ls.records_kept, (unsigned long long)ls.source_records);
		report = n->hooks.source_lost(n->hooks.ctx, &ls);
		pthread_mutex_lock(&im->mu);
		im->lost_reported = report;
		pthread_mutex_unlock(&im->mu);
	}
	return CSB_ELINEAGE;
}

/* Sleeps ms, returning early when the importer is told to stop. */
static void importer_sleep(struct importer *im, uint64_t ms)
{
	uint64_t until = csb_mono_ms() + ms;

	while (!stopped(im) && csb_mono_ms() < until)
		csb_sleep_ms(until - csb_mono_ms() < 50 ? until - csb_mono_ms() : 50);
}

/* The replica's importer got a batch or a re-seed from the coordinator it now follows: a
 * CMS master that moved has been followed, and a new lineage is a lost store again. */
static void coord_followed(struct importer *im)
{
	struct csb_node *n = im->n;
	bool current;

	pthread_mutex_lock(&n->imu);
	current = n->coord == im->peer;
	pthread_mutex_unlock(&n->imu);
	if (current && atomic_exchange(&n->coord_moved, false))
		csb_info("import", "coordinator followed pool=%s url=%s", n->name, im->peer->url);
}

void *node__import_main(void *arg)
{
	struct importer *im = arg;
	struct csb_node *n = im->n;
	csb_retry_policy pol = {UINT32_MAX, 50, 200, 2000};
	char err[CSB_RPC_ERROR_MAX];
	csb_retry r;
	uint64_t wait;
	bool reseed;
	csb_err rv;

	csb_retry_start(&r, &pol);
	while (!stopped(im)) {
		err[0] = '\0';
		rv = atomic_exchange(&im->repair, false) ? CSB_ECORRUPT : import_step(im, err);
		/* A pruned log, or a copy that disagrees at the same seq: the source is
		 * authoritative and the copy is repaired by digests. A new lineage only when the
		 * copy holds nothing to lose. */
		reseed = rv == CSB_ELOGGONE || rv == CSB_ECORRUPT;
		if (rv == CSB_ELINEAGE && strcmp(im->module, CSB_MODULE_CMS) == 0 &&
		    atomic_load(&n->coord_moved)) {
			/* The CMS master moved (a CMS failover): its new lineage is the one to follow,
			 * by a differential re-seed that moves only what differs. */
			reseed = true;
		} else if (rv == CSB_ELINEAGE) {
			rv = lineage_changed(im, err);
			reseed = rv == CSB_OK;
		} else if (rv == CSB_OK) {
			pthread_mutex_lock(&im->mu);
			im->lost_source = false; /* it came back as it was */
			pthread_mutex_unlock(&im->mu);
			if (strcmp(im->module, CSB_MODULE_CMS) == 0)
				coord_followed(im); /* the master kept its lineage */
		}
		if (reseed) {
			uint64_t sent = csb_boot_ms(); /* the re-seed's requests leave from here */

			csb_info("import", "re-seed pool=%s source=%s module=%s reason=%s", n->name,
			         im->source, im->module, csb_err_name(rv));
			err[0] = '\0';
			rv = node__reseed(im, err);
			if (rv == CSB_OK && strcmp(im->module, CSB_MODULE_CMS) == 0) {
				coord_followed(im);
				/* The replica changed wholesale: the role must read it again. */
				pthread_mutex_lock(&n->imu);
				n->replica_dirty = true;
				pthread_mutex_unlock(&n->imu);
				contact_note(&n->cms_contact_ms, sent);
				node__kick(n);
			}
		}
		if (stopped(im))
			break;
		node__import_advance(im, rv, err);
		if (rv == CSB_OK) {
			csb_retry_start(&r, &pol);
			continue;
		}
		csb_retry_next(&r, &wait);
		importer_sleep(im, wait);
	}
	atomic_store(&im->exited, true);
	node__kick(n); /* the tick reaps it */
	node__importer_rele(im);
	return NULL;
}

/* ---- The importer object ---------------------------------------------------------- */

static void prefetch_free(struct importer *im)
{
	struct prefetch *pf = im->pf;

	if (pf == NULL)
		return;
	pthread_mutex_lock(&pf->mu);
	pf->quit = true;
	pthread_cond_broadcast(&pf->cv);
	pthread_mutex_unlock(&pf->mu);
	pthread_join(pf->thread, NULL);
	if (pf->batch != NULL)
		protobuf_c_message_free_unpacked(&pf->batch->base, NULL);
	pthread_mutex_destroy(&pf->mu);
	pthread_cond_destroy(&pf->cv);
	free(pf);
	im->pf = NULL;
}

static csb_err prefetch_new(struct importer *im)
{
	struct prefetch *pf = calloc(1, sizeof(*pf));

	if (pf == NULL)
		return CSB_ENOMEM;
	pthread_mutex_init(&pf->mu, NULL);
	pthread_cond_init(&pf->cv, NULL);
	im->pf = pf;
	if (pthread_create(&pf->thread, NULL, prefetch_main, im) != 0) {
		pthread_mutex_destroy(&pf->mu);
		pthread_cond_destroy(&pf->cv);
		free(pf);
		im->pf = NULL;
		return CSB_ENOMEM;
	}
	return CSB_OK;
}

csb_err node__importer_start(struct csb_node *n, struct peer *peer, const char *source,
                             const char *module, struct importer **out)
{
	struct importer *im = calloc(1, sizeof(*im));
	csb_cursor cur;
	csb_err rv;

	if (im == NULL)
		return CSB_ENOMEM;
	atomic_init(&im->refs, 2); /* the caller's table and the thread */
	im->n = n;
	im->peer = node__peer_ref(peer);
	im->module = module;
	snprintf(im->source, sizeof(im->source), "%s", source);
	pthread_mutex_init(&im->mu, NULL);
	/* A copy kept from an earlier run is a NormalState import until a pull says more. */
	if (csb_store_cursor_get(n->store, source, module, &cur) == CSB_OK)
		im->state = IMPORT_NORMAL;
	if ((rv = prefetch_new(im)) != CSB_OK)
		goto out_free;
	if (pthread_create(&im->thread, NULL, node__import_main, im) != 0) {
		rv = CSB_ENOMEM;
		goto out_free_prefetch;
	}
	im->started = true;
	*out = im;
	return CSB_OK;
out_free_prefetch:
	prefetch_free(im);
out_free:
	node__peer_rele(im->peer);
	pthread_mutex_destroy(&im->mu);
	free(im);
	return rv;
}

struct importer *node__importer_ref(struct importer *im)
{
	if (im != NULL)
		atomic_fetch_add(&im->refs, 1);
	return im;
}

void node__importer_rele(struct importer *im)
{
	if (im == NULL || atomic_fetch_sub(&im->refs, 1) != 1)
		return;
	node__peer_rele(im->peer);
	pthread_mutex_destroy(&im->mu);
	free(im);
}

void node__importer_close(struct importer *im)
{
	atomic_store(&im->stop, true);
	/* Its pull in flight ends when the tick shuts the peer's client down; a pull through
	 * a peer that stays (the CMS) ends with its long poll, within a second. */
}

bool node__importer_reap(struct importer *im)
{
	if (!atomic_load(&im->exited))
		return false;
	node__importer_join(im);
	return true;
}

void node__importer_join(struct importer *im)
{
	if (!im->started)
		return;
	pthread_join(im->thread, NULL);
	prefetch_free(im); /* its pull ends at once: the client is shut down or answers */
	im->started = false;
}

struct importer *node__import_ref(struct csb_node *n, const char *module)
{
	struct importer *im = NULL;

	pthread_mutex_lock(&n->imu);
	for (size_t i = 0; i < CSB_MODULE_COUNT && im == NULL; i++)
		if (n->imp[i] != NULL && strcasecmp(n->imp[i]->module, module) == 0)
			im = node__importer_ref(n->imp[i]);
	pthread_mutex_unlock(&n->imu);
	return im;
}

csb_err csb_node_replica_repair(csb_node *n)
{
	csb_err rv = CSB_ENOTFOUND;

	pthread_mutex_lock(&n->imu);
	if (n->cms_imp != NULL) {
		atomic_store(&n->cms_imp->repair, true);
		rv = CSB_OK;
	}
	pthread_mutex_unlock(&n->imu);
	return rv;
}
