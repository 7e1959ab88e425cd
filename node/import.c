/* The import side: one thread per partner module pulls after its cursor, applies each batch
 * together with the new cursor in one transaction, and asks again (the exporter holds the
 * Pull until a write lands). Chunked values are reassembled before apply. A changed
 * lineage, a pruned log or a digest that disagrees at the same seq leads to a differential
 * re-seed (reseed.c). Failures are retried with backoff from the retry policy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/internal/agent.h"
#include "agent/internal/convert.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/retry.h"
#include "common/wire.h"
#include "proto/sync.pb-c.h"

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
	csb_err rv;
	char err[CSB_RPC_ERROR_MAX];
	pthread_t thread;
};

static csb_err pull(struct agent *a, struct import_mod *im, const struct pull_args *pa,
                    const struct chunked *ck, Csb__Batch **out, char *err)
{
	Csb__PullRequest pr = CSB__PULL_REQUEST__INIT;

	pr.source = im->source;
	pr.module = (char *)im->module;
	if (pa->have) {
		pr.lineage.data = (uint8_t *)pa->lineage.b;
		pr.lineage.len = CSB_LINEAGE_LEN;
		pr.after_seq = pa->after_seq;
	}
	pr.speculative = pa->speculative;
	pr.acked_seq = pa->acked_seq;
	pr.max_records = a->cfg.max_records;
	pr.max_bytes = a->cfg.max_bytes;
	pr.max_wait_ms = ck || pa->speculative ? 0 : a->cfg.long_poll_ms;
	if (ck != NULL) {
		pr.resume_key.data = (uint8_t *)ck->rec.key;
		pr.resume_key.len = ck->rec.key_len;
		pr.resume_seq = ck->rec.seq;
		pr.resume_offset = ck->have;
	}
	return csb_rpc_call_msg(im->cli, "csb.Sync/Pull", &pr.base, &csb__batch__descriptor,
	                        a->cfg.long_poll_ms + 5000, (ProtobufCMessage **)out, err);
}

/* A batch must follow the cursor; a chunk (partial, or the last chunk of a value being
 * assembled) carries one record whose seq the batch covers only once it is complete. */
static csb_err check_batch(const Csb__Batch *b, uint64_t after_seq, bool chunking, char *err)
{
	bool chunk = b->partial || chunking;

	if (b->lineage.len != CSB_LINEAGE_LEN || b->after_seq != after_seq ||
	    b->last_seq < after_seq || b->last_seq > b->high_seq ||
	    (b->partial && b->n_records != 1) || (chunking && b->n_records > 1)) {
		agent__set_error(err, "inconsistent batch: after %llu last %llu high %llu",
		                 (unsigned long long)b->after_seq, (unsigned long long)b->last_seq,
		                 (unsigned long long)b->high_seq);
		return CSB_EPROTO;
	}
	for (size_t i = 0; i < b->n_records; i++) {
		const Csb__Record *r = b->records[i];

		if (r->key.len == 0 || r->seq <= after_seq ||
		    (b->partial ? r->seq > b->high_seq : r->seq > b->last_seq) ||
		    (!chunk && r->chunk_offset != 0)) {
			agent__set_error(err, "inconsistent record %zu in batch", i);
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
			agent__set_error(err, "chunked value of %llu bytes is over the limit",
			                 (unsigned long long)r->value_len);
			return CSB_ETOOBIG;
		}
		if ((ck->buf = malloc(r->value_len ? r->value_len : 1)) == NULL)
			return CSB_ENOMEM;
		ck->len = r->value_len;
		memcpy(ck->key_buf, r->key.data, r->key.len);
		agent__record_from_pb(r, &ck->rec);
		ck->rec.key = ck->key_buf;
	}
	if (ck->buf == NULL || r->chunk_offset != ck->have || r->seq != ck->rec.seq ||
	    r->value.len > ck->len - ck->have) {
		agent__set_error(err, "chunk out of order at offset %llu",
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

static void note_applied(struct agent *a, struct import_mod *im, const Csb__Batch *b,
                         size_t records, size_t bytes)
{
	pthread_mutex_lock(&a->mu);
	im->state = IMPORT_NORMAL;
	im->last_error[0] = '\0';
	im->last_import_ms = csb_now_ms();
	im->source_high_seq = b->high_seq;
	im->records_applied += records;
	im->bytes_applied += bytes;
	if (im == &a->cms_imp && records > 0)
		a->settings_dirty = true; /* the ticker reloads what the replica says */
	pthread_cond_broadcast(&a->changed);
	pthread_mutex_unlock(&a->mu);
}

/* Applies a complete batch (or the completed chunked record) with its cursor. */
static csb_err apply(struct agent *a, struct import_mod *im, const Csb__Batch *b,
                     const struct chunked *ck, bool have_cursor, char *err)
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
			agent__record_from_pb(b->records[i], &recs[i]);
	for (size_t i = 0; i < n; i++)
		bytes += recs[i].key_len + recs[i].value_len;
	rv = csb_store_apply(a->store, im->source, im->module, &hdr, recs, n, &cur);
	free(recs);
	if (rv != CSB_OK) {
		agent__set_error(err, "apply after seq %llu: %s", (unsigned long long)b->after_seq,
		                 csb_strerror(rv));
		return rv;
	}
	note_applied(a, im, b, n, bytes);
out_check:
	if (b->last_seq != b->high_seq || b->digest == NULL)
		return CSB_OK;
	if ((rv = csb_store_cursor_get(a->store, im->source, im->module, &cur)) != CSB_OK)
		return rv;
	agent__digest_from_pb(b->digest, &src);
	if (cur.applied_seq == b->high_seq && (cur.digest.lo != src.lo || cur.digest.hi != src.hi)) {
		agent__set_error(err, "backup copy differs from %s at seq %llu", im->source,
		                 (unsigned long long)b->high_seq);
		return CSB_ECORRUPT;
	}
	if (n == 0)
		note_applied(a, im, b, 0, 0);
	return CSB_OK;
}

static void *prefetch_main(void *arg)
{
	struct import_mod *im = arg;
	struct prefetch *pf = im->pf;
	struct pull_args args;
	Csb__Batch *b;
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
		rv = pull(im->agent, im, &args, NULL, &b, err);
		pthread_mutex_lock(&pf->mu);
		pf->batch = b;
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
static bool prefetch_take(struct prefetch *pf, const struct pull_args *pa, Csb__Batch **b,
                          csb_err *rv, char *err)
{
	bool match;

	pthread_mutex_lock(&pf->mu);
	if (!pf->want) {
		pthread_mutex_unlock(&pf->mu);
		return false;
	}
	while (!pf->done)
		pthread_cond_wait(&pf->cv, &pf->mu);
	match = pa->have && pf->args.after_seq == pa->after_seq &&
	        memcmp(pf->args.lineage.b, pa->lineage.b, CSB_LINEAGE_LEN) == 0;
	*b = pf->batch;
	*rv = pf->rv;
	memcpy(err, pf->err, CSB_RPC_ERROR_MAX);
	pf->batch = NULL;
	pf->want = pf->done = false;
	pthread_mutex_unlock(&pf->mu);
	if (!match && *b != NULL) {
		protobuf_c_message_free_unpacked(&(*b)->base, NULL);
		*b = NULL;
	}
	return match;
}

/* One pull and its apply (all chunks of a chunked value count as one step). */
static csb_err import_step(struct agent *a, struct import_mod *im, char *err)
{
	struct chunked ck = {0};
	struct pull_args pa = {0};
	Csb__Batch *b = NULL;
	csb_cursor cur;
	bool have;
	csb_err rv;

	rv = csb_store_cursor_get(a->store, im->source, im->module, &cur);
	if (rv != CSB_OK && rv != CSB_ENOTFOUND)
		return rv;
	have = rv == CSB_OK;
	if (have)
		pa = (struct pull_args){true, cur.lineage, cur.applied_seq, false, 0};
	for (;;) {
		if (ck.buf != NULL || !prefetch_take(im->pf, &pa, &b, &rv, err))
			rv = pull(a, im, &pa, ck.buf ? &ck : NULL, &b, err);
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
		protobuf_c_message_free_unpacked(&b->base, NULL);
		b = NULL;
		if (atomic_load(&a->stopping)) {
			rv = CSB_ECLOSED;
			goto out_drop;
		}
	}
	/* More is waiting: fetch it while this batch commits. */
	if (ck.buf == NULL && b->n_records > 0 && b->last_seq < b->high_seq) {
		struct pull_args next = {true, {{0}}, b->last_seq, true, pa.after_seq};

		memcpy(next.lineage.b, b->lineage.data, CSB_LINEAGE_LEN);
		prefetch_start(im->pf, &next);
	}
	rv = apply(a, im, b, ck.buf ? &ck : NULL, have, err);
out_free_batch:
	if (b != NULL)
		protobuf_c_message_free_unpacked(&b->base, NULL);
out_drop:
	chunk_drop(&ck);
	return rv;
}

static void set_import_error(struct agent *a, struct import_mod *im, csb_err rv, const char *err)
{
	bool changed;

	pthread_mutex_lock(&a->mu);
	changed = im->state != IMPORT_ERROR || strcmp(im->last_error, err) != 0;
	im->state = IMPORT_ERROR;
	agent__set_error(im->last_error, "%s", err[0] ? err : csb_strerror(rv));
	pthread_mutex_unlock(&a->mu);
	if (changed)
		csb_warn("import", "import failed pool=%s source=%s module=%s err=%s detail=\"%s\"",
		         a->pool, im->source, im->module, csb_err_name(rv), err);
}

static void *import_main(void *arg)
{
	struct import_mod *im = arg;
	struct agent *a = im->agent;
	csb_retry_policy pol = {UINT32_MAX, 50, 200, 2000};
	char err[CSB_RPC_ERROR_MAX];
	csb_retry r;
	uint64_t wait;
	csb_err rv;

	csb_retry_start(&r, &pol);
	while (!atomic_load(&a->stopping)) {
		err[0] = '\0';
		rv = import_step(a, im, err);
		if (rv == CSB_ELINEAGE || rv == CSB_ELOGGONE || rv == CSB_ECORRUPT) {
			csb_info("import", "re-seed pool=%s source=%s module=%s reason=%s", a->pool,
			         im->source, im->module, csb_err_name(rv));
			rv = agent__reseed(a, im, err, sizeof(err));
		}
		if (rv == CSB_OK) {
			csb_retry_start(&r, &pol);
			continue;
		}
		if (atomic_load(&a->stopping))
			break;
		set_import_error(a, im, rv, err);
		csb_retry_next(&r, &wait);
		agent__sleep(a, wait);
	}
	return NULL;
}

static void prefetch_free(struct import_mod *im)
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

static csb_err import_run(struct agent *a, struct import_mod *im, const char *source,
                          csb_rpc_client *cli)
{
	struct prefetch *pf = calloc(1, sizeof(*pf));

	if (pf == NULL)
		return CSB_ENOMEM;
	snprintf(im->source, sizeof(im->source), "%s", source);
	im->cli = cli;
	im->agent = a;
	pthread_mutex_init(&pf->mu, NULL);
	pthread_cond_init(&pf->cv, NULL);
	im->pf = pf;
	if (pthread_create(&pf->thread, NULL, prefetch_main, im) != 0) {
		free(pf);
		im->pf = NULL;
		return CSB_ENOMEM;
	}
	if (pthread_create(&im->thread, NULL, import_main, im) != 0) {
		prefetch_free(im);
		return CSB_ENOMEM;
	}
	im->started = true;
	return CSB_OK;
}

static void import_join(struct import_mod *im)
{
	if (im->started) {
		pthread_join(im->thread, NULL);
		prefetch_free(im); /* its pull ends at once: the client is shut down */
		im->started = false;
	}
}

csb_err agent__import_start(struct agent *a)
{
	csb_err rv;

	if (a->partner_cli == NULL)
		return CSB_OK;
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++)
		if (a->imp[i].module != NULL &&
		    (rv = import_run(a, &a->imp[i], a->partner, a->partner_cli)) != CSB_OK)
			return rv;
	return CSB_OK;
}

void agent__import_stop(struct agent *a)
{
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++)
		import_join(&a->imp[i]);
}

csb_err agent__cms_import_start(struct agent *a)
{
	if (a->coord_cli == NULL)
		return CSB_OK;
	a->cms_imp.module = CSB_MODULE_CMS;
	return import_run(a, &a->cms_imp, CSB_COORDINATOR_NAME, a->coord_cli);
}

void agent__cms_import_stop(struct agent *a)
{
	import_join(&a->cms_imp);
}
