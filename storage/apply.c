/* Import into a backup copy: csb_store_apply() writes a batch of the source's records into
 * copy:<source>:<module> and advances the import cursor in the same transaction, keeping
 * the copy's count and digest in the cursor the way write.c keeps the module's, so a copy
 * caught up with its source has the same digest. Cursors live in the one `cursor` DB,
 * keyed "<source>\0<module>". Copies hold no tombstones. */
#include <inttypes.h>
#include <string.h>

#include "common/log.h"
#include "storage/internal/store_internal.h"

#define CURSOR_KEY_MAX (2 * CSB_MODULE_MAX + 1)
#define CURSOR_LEN (CSB_LINEAGE_LEN + 40) /* lineage, applied, count, digest, records */

static void cursor_key(uint8_t *buf, const char *source, const char *module, MDB_val *k)
{
	size_t sl = strlen(source), ml = strlen(module);

	memcpy(buf, source, sl);
	buf[sl] = '\0';
	memcpy(buf + sl + 1, module, ml);
	k->mv_data = buf;
	k->mv_size = sl + 1 + ml;
}

csb_err csb__cursor_get(csb__txn *t, const char *source, const char *module, csb_cursor *out)
{
	uint8_t buf[CURSOR_KEY_MAX];
	const uint8_t *p;
	MDB_val k, v;
	int rc;

	cursor_key(buf, source, module, &k);
	if ((rc = mdb_get(t->txn, t->s->cursor_dbi, &k, &v)) != 0)
		return csb__mdb_err(rc);
	if (v.mv_size != CURSOR_LEN)
		return CSB_ECORRUPT;
	p = v.mv_data;
	memcpy(out->lineage.b, p, CSB_LINEAGE_LEN);
	p += CSB_LINEAGE_LEN;
	out->applied_seq = csb__le64_get(p);
	out->count = csb__le64_get(p + 8);
	out->digest.lo = csb__le64_get(p + 16);
	out->digest.hi = csb__le64_get(p + 24);
	out->applied_records = csb__le64_get(p + 32);
	return CSB_OK;
}

csb_err csb__cursor_put(csb__txn *t, const char *source, const char *module,
                        const csb_cursor *cur)
{
	uint8_t buf[CURSOR_KEY_MAX], p[CURSOR_LEN];
	MDB_val k, v = {sizeof(p), p};

	cursor_key(buf, source, module, &k);
	memcpy(p, cur->lineage.b, CSB_LINEAGE_LEN);
	csb__le64_put(p + CSB_LINEAGE_LEN, cur->applied_seq);
	csb__le64_put(p + CSB_LINEAGE_LEN + 8, cur->count);
	csb__le64_put(p + CSB_LINEAGE_LEN + 16, cur->digest.lo);
	csb__le64_put(p + CSB_LINEAGE_LEN + 24, cur->digest.hi);
	csb__le64_put(p + CSB_LINEAGE_LEN + 32, cur->applied_records);
	return csb__mdb_err(mdb_put(t->txn, t->s->cursor_dbi, &k, &v, 0));
}

csb_err csb_store_cursor_get(csb_store *s, const char *source, const char *module,
                             csb_cursor *out)
{
	csb__txn t;
	csb_err rv;

	if (s == NULL || out == NULL || !csb__name_ok(source) || !csb__name_ok(module))
		return CSB_EINVAL;
	if ((rv = csb__read_begin(s, &t, NULL, 0, NULL)) != CSB_OK)
		return rv;
	rv = csb__cursor_get(&t, source, module, out);
	csb__read_end(&t);
	return rv;
}

/* ---- Apply ---------------------------------------------------------------------------- */

typedef struct apply_ctx {
	const char *source;
	const char *module;
	const csb_batch_hdr *hdr;
	const csb_record *records;
	size_t n;
	csb_cursor cursor; /* out */
} apply_ctx;

/* The cursor checks of the header. *done: the batch was applied before. */
static csb_err apply_check(const apply_ctx *c, bool found, const csb_cursor *cur, bool *done)
{
	const csb_batch_hdr *h = c->hdr;

	*done = false;
	if (h->reseed)
		return CSB_OK;
	if (!found)
		return h->after_seq == 0 ? CSB_OK : CSB_ESEQ;
	if (memcmp(cur->lineage.b, h->lineage.b, CSB_LINEAGE_LEN) != 0)
		return CSB_ELINEAGE;
	if (h->last_seq <= cur->applied_seq) {
		*done = true;
		return CSB_OK;
	}
	return h->after_seq == cur->applied_seq ? CSB_OK : CSB_ESEQ;
}

/* Replaces (or, for a tombstone, deletes) one key of the copy, keeping count and digest. */
static csb_err apply_one(csb__txn *t, MDB_dbi copy, const csb_record *r, csb_cursor *cur)
{
	MDB_val k = {r->key_len, r->key}, v;
	csb__rec old, rec;
	csb_err rv;
	int rc;

	rc = mdb_get(t->txn, copy, &k, &v);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return csb__mdb_err(rc);
	if (rc == 0) {
		if ((rv = csb__rec_decode(&v, &old)) != CSB_OK)
			return rv;
		csb__digest_sub(&cur->digest,
		                csb__record_digest(r->key, r->key_len, old.value, old.value_len));
		cur->count--;
		if (r->tombstone && (rc = mdb_del(t->txn, copy, &k, NULL)) != 0)
			return csb__mdb_err(rc);
	}
	if (r->tombstone)
		return CSB_OK;
	rec = (csb__rec){.seq = r->seq, .mtime_ms = r->mtime_ms, .value = r->value,
	                 .value_len = r->value_len};
	if ((rv = csb__rec_put(t->txn, copy, r->key, r->key_len, &rec)) != CSB_OK)
		return rv;
	csb__digest_add(&cur->digest,
	                csb__record_digest(r->key, r->key_len, r->value, r->value_len));
	cur->count++;
	return CSB_OK;
}

static csb_err apply_fn(csb__txn *t, void *ctx)
{
	apply_ctx *c = ctx;
	char name[CSB__NAME_MAX];
	char served[CSB_MODULE_MAX + 1];
	csb_cursor cur = {0};
	bool found, done;
	csb_guard g;
	MDB_dbi copy;
	csb_err rv;

	/* A copy promoted to served data is frozen until it is folded back (serve.c). */
	if (csb_store_served_name(c->source, c->module, served) == CSB_OK) {
		if ((rv = csb__guard_get(t, served, &g)) != CSB_OK)
			return rv;
		if (g.set)
			return CSB_EREADONLY;
	}
	rv = csb__cursor_get(t, c->source, c->module, &cur);
	if (rv != CSB_OK && rv != CSB_ENOTFOUND)
		return rv;
	found = rv == CSB_OK;
	if ((rv = apply_check(c, found, &cur, &done)) != CSB_OK)
		return rv;
	if (done) {
		c->cursor = cur;
		t->no_commit = true;
		return CSB_OK;
	}
	csb__data_name(name, c->source, c->module);
	if ((rv = csb__write_dbi(t, name, true, &copy)) != CSB_OK)
		return rv;
	for (size_t i = 0; i < c->n; i++)
		if ((rv = apply_one(t, copy, &c->records[i], &cur)) != CSB_OK)
			return rv;
	cur.lineage = c->hdr->lineage;
	cur.applied_seq = c->hdr->last_seq;
	if (!c->hdr->reseed)
		cur.applied_records += c->n;
	c->cursor = cur;
	return csb__cursor_put(t, c->source, c->module, &cur);
}

static bool records_ok(const csb_record *r, size_t n)
{
	if (r == NULL && n != 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!csb__key_ok(r[i].key, r[i].key_len))
			return false;
		if (r[i].tombstone && r[i].value_len != 0)
			return false;
		if (r[i].value_len > CSB_VALUE_MAX || (r[i].value == NULL && r[i].value_len != 0))
			return false;
	}
	return true;
}

csb_err csb_store_apply(csb_store *s, const char *source, const char *module,
                        const csb_batch_hdr *hdr, const csb_record *records, size_t n,
                        csb_cursor *cursor_out)
{
	apply_ctx c = {.source = source, .module = module, .hdr = hdr, .records = records, .n = n};
	csb_err rv;

	if (s == NULL || hdr == NULL || !csb__name_ok(source) || !csb__name_ok(module) ||
	    hdr->last_seq < hdr->after_seq || !records_ok(records, n))
		return CSB_EINVAL;
	if ((rv = csb__write_run(s, false, apply_fn, &c)) != CSB_OK)
		return rv;
	if (hdr->reseed)
		csb_info("store", "re-seed applied source=%s module=%s records=%zu seq=%" PRIu64,
		         source, module, n, hdr->last_seq);
	if (cursor_out != NULL)
		*cursor_out = c.cursor;
	return CSB_OK;
}

/* ---- Drop ----------------------------------------------------------------------------- */

typedef struct drop_ctx {
	const char *source;
	const char *module;
} drop_ctx;

/* Runs with no other transaction in the process: mdb_drop() closes the handle at once. */
csb_err csb__copy_drop(csb__txn *t, const char *source, const char *module)
{
	char name[CSB__NAME_MAX];
	uint8_t buf[CURSOR_KEY_MAX];
	MDB_dbi copy;
	MDB_val k;
	csb_err rv;
	int rc;

	csb__data_name(name, source, module);
	rv = csb__write_dbi(t, name, false, &copy);
	if (rv == CSB_OK) {
		rc = mdb_drop(t->txn, copy, 1);
		csb__dbi_forget(t, name);
		if (rc != 0)
			return csb__mdb_err(rc);
	} else if (rv != CSB_ENOTFOUND) {
		return rv;
	}
	cursor_key(buf, source, module, &k);
	rc = mdb_del(t->txn, t->s->cursor_dbi, &k, NULL);
	return rc == MDB_NOTFOUND ? CSB_OK : csb__mdb_err(rc);
}

static csb_err drop_fn(csb__txn *t, void *ctx)
{
	drop_ctx *c = ctx;

	return csb__copy_drop(t, c->source, c->module);
}

csb_err csb_store_copy_drop(csb_store *s, const char *source, const char *module)
{
	drop_ctx c = {source, module};
	csb_err rv;

	if (s == NULL || !csb__name_ok(source) || !csb__name_ok(module))
		return CSB_EINVAL;
	if ((rv = csb__write_run(s, true, drop_fn, &c)) == CSB_OK)
		csb_info("store", "copy dropped source=%s module=%s", source, module);
	return rv;
}
