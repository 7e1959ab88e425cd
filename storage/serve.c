/* Failover in the store (DESIGN.md §4): the write guard that fences a module, the promotion
 * of a backup copy into data this node serves for the failed pool, the follower's apply
 * that keeps the serving side's seqs, the fold of served data back into the copy at
 * failback, and the quarantine of writes a returning pool made past the fork. Each is one
 * LMDB transaction: the guard is read inside every write's transaction, so once a fence
 * commits no later write can (LMDB's single writer orders them). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "storage/internal/store_internal.h"

#define GUARD_LEN 9 /* u8 writable, u64 epoch LE */
#define FOLLOW_SOURCE "=follow"

/* ---- Names ---------------------------------------------------------------------------- */

csb_err csb_store_served_name(const char *source, const char *module, char *out)
{
	size_t sl, ml;
	uint64_t h = 1469598103934665603ull;

	if (source == NULL || module == NULL || !csb__name_ok(module))
		return CSB_EINVAL;
	sl = strlen(source);
	ml = strlen(module);
	if (sl == 0 || strchr(source, ':') != NULL)
		return CSB_EINVAL;
	if (ml + 1 + sl <= CSB_MODULE_MAX) {
		memcpy(out, module, ml);
		out[ml] = '@';
		memcpy(out + ml + 1, source, sl + 1);
		return CSB_OK;
	}
	/* A long FQDN: its FNV-1a hash stands for it, so the name stays a valid module name. */
	for (size_t i = 0; i < sl; i++)
		h = (h ^ (uint8_t)source[i]) * 1099511628211ull;
	if (ml + 18 > CSB_MODULE_MAX)
		return CSB_EINVAL;
	snprintf(out, CSB_MODULE_MAX + 1, "%s@#%016" PRIx64, module, h);
	return CSB_OK;
}

/* ---- The guard ------------------------------------------------------------------------ */

void csb_store_set_commit_check(csb_store *s, csb_store_commit_check_fn fn, void *ctx)
{
	s->check_ctx = ctx;
	s->check = fn;
}

static void guard_key(char *buf, const char *module, MDB_val *k)
{
	size_t n = strlen(module);

	memcpy(buf, "guard:", 6);
	memcpy(buf + 6, module, n);
	k->mv_data = buf;
	k->mv_size = 6 + n;
}

csb_err csb__guard_get(csb__txn *t, const char *module, csb_guard *out)
{
	char buf[8 + CSB_MODULE_MAX];
	const uint8_t *p;
	MDB_val k, v;
	int rc;

	*out = (csb_guard){.writable = true};
	guard_key(buf, module, &k);
	rc = mdb_get(t->txn, t->s->meta_dbi, &k, &v);
	if (rc == MDB_NOTFOUND)
		return CSB_OK;
	if (rc != 0)
		return csb__mdb_err(rc);
	if (v.mv_size != GUARD_LEN)
		return CSB_ECORRUPT;
	p = v.mv_data;
	out->set = true;
	out->writable = p[0] != 0;
	out->epoch = csb__le64_get(p + 1);
	return CSB_OK;
}

static csb_err guard_put(csb__txn *t, const char *module, bool writable, uint64_t epoch)
{
	char buf[8 + CSB_MODULE_MAX];
	uint8_t p[GUARD_LEN];
	MDB_val k, v = {sizeof(p), p};

	guard_key(buf, module, &k);
	p[0] = writable ? 1 : 0;
	csb__le64_put(p + 1, epoch);
	return csb__mdb_err(mdb_put(t->txn, t->s->meta_dbi, &k, &v, 0));
}

static csb_err meta_del(csb__txn *t, const char *prefix, const char *module)
{
	char buf[16 + CSB_MODULE_MAX];
	size_t pl = strlen(prefix), n = strlen(module);
	MDB_val k = {pl + n, buf};
	int rc;

	memcpy(buf, prefix, pl);
	memcpy(buf + pl, module, n);
	rc = mdb_del(t->txn, t->s->meta_dbi, &k, NULL);
	return rc == MDB_NOTFOUND ? CSB_OK : csb__mdb_err(rc);
}

typedef struct guard_ctx {
	const char *module;
	bool writable;
	uint64_t epoch;
	csb_module_info info; /* out: the module as the guard found it */
} guard_ctx;

static csb_err guard_fn(csb__txn *t, void *ctx)
{
	guard_ctx *c = ctx;
	csb__module_state st;
	csb_guard g;
	csb_err rv;

	if ((rv = csb__guard_get(t, c->module, &g)) != CSB_OK ||
	    (rv = csb__module_state_get(t, c->module, &st)) != CSB_OK)
		return rv;
	if (g.set && g.epoch > c->epoch)
		return CSB_ESEQ; /* an epoch is never reused nor lowered */
	c->info = (csb_module_info){st.high_seq, st.count, st.digest, st.horizon};
	if (g.set && g.epoch == c->epoch && g.writable == c->writable) {
		t->no_commit = true;
		return CSB_OK;
	}
	return guard_put(t, c->module, c->writable, c->epoch);
}

csb_err csb_store_guard_set(csb_store *s, const char *module, bool writable, uint64_t epoch,
                            csb_module_info *final)
{
	guard_ctx c = {.module = module, .writable = writable, .epoch = epoch};
	csb_err rv;

	if (s == NULL || !csb__name_ok(module))
		return CSB_EINVAL;
	if ((rv = csb__write_run(s, false, guard_fn, &c)) == CSB_OK && final != NULL)
		*final = c.info;
	return rv;
}

csb_err csb_store_guard_get(csb_store *s, const char *module, csb_guard *out)
{
	csb__txn t;
	csb_err rv;

	if (s == NULL || out == NULL || !csb__name_ok(module))
		return CSB_EINVAL;
	if ((rv = csb__read_begin(s, &t, NULL, 0, NULL)) != CSB_OK)
		return rv;
	rv = csb__guard_get(&t, module, out);
	csb__read_end(&t);
	return rv;
}

/* ---- Promote: a backup copy becomes served data --------------------------------------- */

struct seq_key {
	uint64_t seq;
	size_t off, len; /* the key in the arena */
};

static int seq_key_cmp(const void *a, const void *b)
{
	const struct seq_key *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

typedef struct promote_ctx {
	const char *source;
	const char *module;
	char served[CSB_MODULE_MAX + 1];
	uint64_t epoch;
	uint64_t expect_seq;
	const csb_digest *expect_digest;
	csb_module_info info; /* out */
	bool already;         /* out */
} promote_ctx;

/* Drops DB name if it exists (runs exclusive). */
static csb_err drop_db(csb__txn *t, const char *name)
{
	MDB_dbi dbi;
	csb_err rv = csb__write_dbi(t, name, false, &dbi);
	int rc;

	if (rv == CSB_ENOTFOUND)
		return CSB_OK;
	if (rv != CSB_OK)
		return rv;
	rc = mdb_drop(t->txn, dbi, 1);
	csb__dbi_forget(t, name);
	return csb__mdb_err(rc);
}

/* Copies every record of copy into data (key order: appended) and gives each its log
 * entry (sorted by seq, appended). */
static csb_err promote_copy(csb__txn *t, MDB_dbi copy, MDB_dbi data, MDB_dbi log)
{
	struct seq_key *sk = NULL, *grown;
	size_t n = 0, cap = 0;
	csb__buf keys = {0};
	MDB_cursor *cur;
	MDB_val k, v;
	csb__rec r;
	csb_err rv = CSB_OK;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, copy, &cur)) != 0)
		return csb__mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if ((rv = csb__rec_decode(&v, &r)) != CSB_OK)
			break;
		if ((rc = mdb_put(t->txn, data, &k, &v, MDB_APPEND)) != 0)
			break;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			if ((grown = realloc(sk, cap * sizeof(*sk))) == NULL) {
				rv = CSB_ENOMEM;
				break;
			}
			sk = grown;
		}
		sk[n].seq = r.seq;
		sk[n].len = k.mv_size;
		if ((rv = csb__buf_add(&keys, k.mv_data, k.mv_size, &sk[n].off)) != CSB_OK)
			break;
		n++;
	}
	mdb_cursor_close(cur);
	if (rv == CSB_OK && rc != MDB_NOTFOUND)
		rv = csb__mdb_err(rc);
	if (rv == CSB_OK && n > 0)
		qsort(sk, n, sizeof(*sk), seq_key_cmp);
	for (size_t i = 0; rv == CSB_OK && i < n; i++) {
		uint8_t lk[8];
		MDB_val lkey = {sizeof(lk), lk}, kv = {sk[i].len, keys.p + sk[i].off};

		csb__be64_put(lk, sk[i].seq);
		if ((rc = mdb_put(t->txn, log, &lkey, &kv, MDB_APPEND)) != 0)
			rv = rc == MDB_KEYEXIST ? CSB_ECORRUPT : csb__mdb_err(rc);
	}
	free(sk);
	free(keys.p);
	return rv;
}

/* The copy of (source, module) becomes module `into` of the store's own data (its earlier
 * data and log dropped), with the copy's cursor as its state (*out). Used by promote (into
 * the served name) and adopt (into the module itself). */
static csb_err copy_into(csb__txn *t, const char *source, const char *module, const char *into,
                         const csb_cursor *cur, csb_module_info *out)
{
	char cname[CSB__NAME_MAX], dname[CSB__NAME_MAX], lname[CSB__NAME_MAX];
	csb__module_state st;
	MDB_dbi copy, data, log;
	csb_err rv;

	csb__data_name(cname, source, module);
	csb__data_name(dname, NULL, into);
	csb__log_name(lname, into);
	if ((rv = drop_db(t, dname)) != CSB_OK || (rv = drop_db(t, lname)) != CSB_OK ||
	    (rv = csb__write_dbi(t, cname, true, &copy)) != CSB_OK ||
	    (rv = csb__write_dbi(t, dname, true, &data)) != CSB_OK ||
	    (rv = csb__write_dbi(t, lname, true, &log)) != CSB_OK ||
	    (rv = promote_copy(t, copy, data, log)) != CSB_OK)
		return rv;
	st = (csb__module_state){.high_seq = cur->applied_seq, .count = cur->count,
	                         .digest = cur->digest};
	*out = (csb_module_info){st.high_seq, st.count, st.digest, 0};
	return csb__module_state_put(t, into, &st);
}

static csb_err promote_fn(csb__txn *t, void *ctx)
{
	promote_ctx *c = ctx;
	csb__module_state st = {0};
	csb_cursor cur;
	csb_guard g;
	csb_err rv;

	if ((rv = csb__guard_get(t, c->served, &g)) != CSB_OK)
		return rv;
	if (g.set && g.epoch >= c->epoch) { /* promoted before (a retried call) */
		if ((rv = csb__module_state_get(t, c->served, &st)) != CSB_OK)
			return rv;
		c->info = (csb_module_info){st.high_seq, st.count, st.digest, st.horizon};
		c->already = true;
		t->no_commit = true;
		return g.epoch == c->epoch ? CSB_OK : CSB_ESEQ;
	}
	if ((rv = csb__cursor_get(t, c->source, c->module, &cur)) != CSB_OK)
		return rv;
	if (c->expect_seq != UINT64_MAX && cur.applied_seq != c->expect_seq)
		return CSB_ESEQ;
	if (c->expect_digest != NULL && (cur.digest.lo != c->expect_digest->lo ||
	                                 cur.digest.hi != c->expect_digest->hi))
		return CSB_ECORRUPT;
	if ((rv = copy_into(t, c->source, c->module, c->served, &cur, &c->info)) != CSB_OK)
		return rv;
	return guard_put(t, c->served, true, c->epoch);
}

csb_err csb_store_promote(csb_store *s, const char *source, const char *module, uint64_t epoch,
                          uint64_t expect_seq, const csb_digest *expect_digest,
                          csb_module_info *out)
{
	promote_ctx c = {.source = source, .module = module, .epoch = epoch,
	                 .expect_seq = expect_seq, .expect_digest = expect_digest};
	csb_err rv;

	if (s == NULL || !csb__name_ok(source) || !csb__name_ok(module) ||
	    csb_store_served_name(source, module, c.served) != CSB_OK)
		return CSB_EINVAL;
	if ((rv = csb__write_run(s, true, promote_fn, &c)) != CSB_OK)
		return rv;
	if (!c.already)
		csb_info("store", "copy promoted source=%s module=%s served=%s epoch=%" PRIu64
		         " fork_seq=%" PRIu64 " records=%" PRIu64, source, module, c.served, epoch,
		         c.info.high_seq, c.info.count);
	if (out != NULL)
		*out = c.info;
	return CSB_OK;
}

/* ---- Adopt: a copy becomes the store's own module (CMS failover) ---------------------- */

typedef struct adopt_ctx {
	const char *source;
	const char *module;
	csb_module_info info; /* out */
	csb_lineage lineage;  /* out */
} adopt_ctx;

static csb_err adopt_fn(csb__txn *t, void *ctx)
{
	adopt_ctx *c = ctx;
	csb_cursor cur;
	csb_err rv;

	if ((rv = csb__cursor_get(t, c->source, c->module, &cur)) != CSB_OK)
		return rv;
	if ((rv = copy_into(t, c->source, c->module, c->module, &cur, &c->info)) != CSB_OK ||
	    (rv = csb__copy_drop(t, c->source, c->module)) != CSB_OK)
		return rv;
	return csb__lineage_mint(t, &c->lineage);
}

csb_err csb_store_adopt(csb_store *s, const char *source, const char *module,
                        csb_module_info *out, csb_lineage *lineage)
{
	adopt_ctx c = {.source = source, .module = module};
	csb_err rv;

	if (s == NULL || !csb__name_ok(source) || !csb__name_ok(module))
		return CSB_EINVAL;
	if ((rv = csb__write_run(s, true, adopt_fn, &c)) != CSB_OK)
		return rv;
	csb_info("store", "copy adopted source=%s module=%s high_seq=%" PRIu64 " records=%" PRIu64,
	         source, module, c.info.high_seq, c.info.count);
	if (out != NULL)
		*out = c.info;
	if (lineage != NULL)
		*lineage = c.lineage;
	return CSB_OK;
}

/* ---- Fold: served data goes back into the copy (failback) ----------------------------- */

typedef struct fold_ctx {
	const char *source;
	const char *module;
	char served[CSB_MODULE_MAX + 1];
	csb_lineage lineage;
	bool discard;   /* the primary never got the served changes: quarantine them instead */
	uint64_t epoch; /* with discard: the quarantine's epoch */
	uint64_t moved; /* out */
	csb_cursor cursor; /* out */
	bool gone;      /* out: nothing served (folded before) */
} fold_ctx;

static csb_err fold_fn(csb__txn *t, void *ctx)
{
	fold_ctx *c = ctx;
	char cname[CSB__NAME_MAX], dname[CSB__NAME_MAX], lname[CSB__NAME_MAX];
	uint8_t lk[8];
	csb__module_state st;
	csb_cursor cur;
	csb_guard g;
	MDB_dbi copy, data, log;
	MDB_cursor *lc;
	MDB_val k, v, dv;
	csb__rec r;
	csb_err rv;
	int rc;

	if ((rv = csb__guard_get(t, c->served, &g)) != CSB_OK)
		return rv;
	if (!g.set) {
		c->gone = true;
		t->no_commit = true;
		return csb__cursor_get(t, c->source, c->module, &c->cursor);
	}
	if ((rv = csb__cursor_get(t, c->source, c->module, &cur)) != CSB_OK ||
	    (rv = csb__module_state_get(t, c->served, &st)) != CSB_OK)
		return rv;
	csb__data_name(cname, c->source, c->module);
	csb__data_name(dname, NULL, c->served);
	csb__log_name(lname, c->served);
	if ((rv = csb__write_dbi(t, cname, true, &copy)) != CSB_OK ||
	    (rv = csb__write_dbi(t, dname, true, &data)) != CSB_OK ||
	    (rv = csb__write_dbi(t, lname, true, &log)) != CSB_OK)
		return rv;
	if (c->discard) { /* the changes go to the quarantine, the copy stays at the fork */
		char oname[CSB__NAME_MAX];

		snprintf(oname, sizeof(oname), "orphan:%s:%" PRIu64, c->served, c->epoch);
		if ((rv = csb__write_dbi(t, oname, true, &copy)) != CSB_OK)
			return rv;
	}
	if ((rc = mdb_cursor_open(t->txn, log, &lc)) != 0)
		return csb__mdb_err(rc);
	csb__be64_put(lk, cur.applied_seq + 1);
	k = (MDB_val){sizeof(lk), lk};
	for (rc = mdb_cursor_get(lc, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(lc, &k, &v, MDB_NEXT)) {
		MDB_val key = v;

		if ((rc = mdb_get(t->txn, data, &key, &dv)) != 0)
			break;
		if ((rv = csb__rec_decode(&dv, &r)) != CSB_OK)
			break;
		if (r.tombstone && !c->discard) {
			rc = mdb_del(t->txn, copy, &key, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
		} else {
			rc = mdb_put(t->txn, copy, &key, &dv, 0);
		}
		if (rc != 0)
			break;
		c->moved++;
	}
	mdb_cursor_close(lc);
	if (rv != CSB_OK)
		return rv;
	if (rc != MDB_NOTFOUND)
		return rc == 0 ? CSB_OK : csb__mdb_err(rc);
	if (!c->discard) {
		cur.lineage = c->lineage;
		cur.applied_seq = st.high_seq;
		cur.count = st.count;
		cur.digest = st.digest;
		cur.applied_records += c->moved;
	}
	c->cursor = cur;
	if ((rv = csb__cursor_put(t, c->source, c->module, &cur)) != CSB_OK ||
	    (rv = drop_db(t, dname)) != CSB_OK || (rv = drop_db(t, lname)) != CSB_OK ||
	    (rv = meta_del(t, "module:", c->served)) != CSB_OK)
		return rv;
	return meta_del(t, "guard:", c->served);
}

csb_err csb_store_fold(csb_store *s, const char *source, const char *module,
                       const csb_lineage *lineage, uint64_t *moved, csb_cursor *out)
{
	fold_ctx c = {.source = source, .module = module};
	csb_err rv;

	if (s == NULL || lineage == NULL || !csb__name_ok(source) || !csb__name_ok(module) ||
	    csb_store_served_name(source, module, c.served) != CSB_OK)
		return CSB_EINVAL;
	c.lineage = *lineage;
	if ((rv = csb__write_run(s, true, fold_fn, &c)) != CSB_OK)
		return rv;
	if (!c.gone)
		csb_info("store", "served data folded into the copy source=%s module=%s moved=%" PRIu64
		         " seq=%" PRIu64, source, module, c.moved, c.cursor.applied_seq);
	if (moved != NULL)
		*moved = c.moved;
	if (out != NULL)
		*out = c.cursor;
	return CSB_OK;
}

csb_err csb_store_discard_served(csb_store *s, const char *source, const char *module,
                                 uint64_t epoch, uint64_t *orphans)
{
	fold_ctx c = {.source = source, .module = module, .discard = true, .epoch = epoch};
	csb_err rv;

	if (s == NULL || !csb__name_ok(source) || !csb__name_ok(module) ||
	    csb_store_served_name(source, module, c.served) != CSB_OK)
		return CSB_EINVAL;
	if ((rv = csb__write_run(s, true, fold_fn, &c)) != CSB_OK)
		return rv;
	if (!c.gone)
		csb_warn("store", "served data given up source=%s module=%s quarantined=%" PRIu64
		         " epoch=%" PRIu64 " copy_seq=%" PRIu64, source, module, c.moved, epoch,
		         c.cursor.applied_seq);
	if (orphans != NULL)
		*orphans = c.moved;
	return CSB_OK;
}

/* ---- Follow: apply the serving side's batch to own data, keeping its seqs -------------- */

typedef struct follow_ctx {
	const char *module;
	const csb_batch_hdr *hdr;
	const csb_record *records;
	size_t n;
	csb_cursor cursor; /* out */
} follow_ctx;

/* Replaces key's record in own data by r (seq and mtime kept), moving its log entry. */
static csb_err follow_one(csb__txn *t, MDB_dbi data, MDB_dbi log, const csb_record *r,
                          csb__module_state *st)
{
	MDB_val k = {r->key_len, r->key}, v;
	uint8_t lk[8];
	MDB_val lkey = {sizeof(lk), lk};
	csb__rec old, rec;
	csb_err rv;
	int rc;

	rc = mdb_get(t->txn, data, &k, &v);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return csb__mdb_err(rc);
	if (rc == 0) {
		if ((rv = csb__rec_decode(&v, &old)) != CSB_OK)
			return rv;
		if (!old.tombstone) {
			csb__digest_sub(&st->digest, csb__record_digest(r->key, r->key_len, old.value,
			                                                old.value_len));
			st->count--;
		}
		csb__be64_put(lk, old.seq);
		rc = mdb_del(t->txn, log, &lkey, NULL);
		if (rc != 0 && !(rc == MDB_NOTFOUND && old.seq <= st->horizon))
			return rc == MDB_NOTFOUND ? CSB_ECORRUPT : csb__mdb_err(rc);
	}
	rec = (csb__rec){.seq = r->seq, .mtime_ms = r->mtime_ms, .tombstone = r->tombstone,
	                 .value = r->tombstone ? NULL : r->value,
	                 .value_len = r->tombstone ? 0 : r->value_len};
	if ((rv = csb__rec_put(t->txn, data, r->key, r->key_len, &rec)) != CSB_OK)
		return rv;
	csb__be64_put(lk, r->seq);
	if ((rc = mdb_put(t->txn, log, &lkey, &k, MDB_NOOVERWRITE)) != 0)
		return rc == MDB_KEYEXIST ? CSB_ECORRUPT : csb__mdb_err(rc);
	if (!r->tombstone) {
		csb__digest_add(&st->digest,
		                csb__record_digest(r->key, r->key_len, r->value, r->value_len));
		st->count++;
	}
	return CSB_OK;
}

static csb_err follow_fn(csb__txn *t, void *ctx)
{
	follow_ctx *c = ctx;
	char dname[CSB__NAME_MAX], lname[CSB__NAME_MAX];
	csb__module_state st;
	csb_cursor cur = {0};
	csb_guard g;
	MDB_dbi data, log;
	bool found;
	csb_err rv;

	if ((rv = csb__guard_get(t, c->module, &g)) != CSB_OK ||
	    (rv = csb__module_state_get(t, c->module, &st)) != CSB_OK)
		return rv;
	if (g.writable)
		return CSB_EBUSY; /* a primary never follows: its own writes own the seqs */
	rv = csb__cursor_get(t, FOLLOW_SOURCE, c->module, &cur);
	if (rv != CSB_OK && rv != CSB_ENOTFOUND)
		return rv;
	found = rv == CSB_OK;
	if (found && memcmp(cur.lineage.b, c->hdr->lineage.b, CSB_LINEAGE_LEN) != 0 &&
	    st.high_seq != c->hdr->after_seq)
		return CSB_ELINEAGE;
	if (c->hdr->last_seq <= st.high_seq && (found || c->hdr->last_seq == st.high_seq)) {
		c->cursor = (csb_cursor){c->hdr->lineage, st.high_seq, st.digest, st.count,
		                         found ? cur.applied_records : 0};
		t->no_commit = true;
		return CSB_OK;
	}
	if (c->hdr->after_seq != st.high_seq)
		return CSB_ESEQ; /* own data moved past the fork, or a gap */
	csb__data_name(dname, NULL, c->module);
	csb__log_name(lname, c->module);
	if ((rv = csb__write_dbi(t, dname, true, &data)) != CSB_OK ||
	    (rv = csb__write_dbi(t, lname, true, &log)) != CSB_OK)
		return rv;
	for (size_t i = 0; i < c->n; i++) {
		if (c->records[i].seq <= st.high_seq || c->records[i].seq > c->hdr->last_seq)
			return CSB_EINVAL;
		if ((rv = follow_one(t, data, log, &c->records[i], &st)) != CSB_OK)
			return rv;
	}
	st.high_seq = c->hdr->last_seq;
	cur.lineage = c->hdr->lineage;
	cur.applied_seq = st.high_seq;
	cur.count = st.count;
	cur.digest = st.digest;
	cur.applied_records += c->n;
	c->cursor = cur;
	if ((rv = csb__module_state_put(t, c->module, &st)) != CSB_OK)
		return rv;
	return csb__cursor_put(t, FOLLOW_SOURCE, c->module, &cur);
}

csb_err csb_store_follow(csb_store *s, const char *module, const csb_batch_hdr *hdr,
                         const csb_record *records, size_t n, csb_cursor *out)
{
	follow_ctx c = {.module = module, .hdr = hdr, .records = records, .n = n};
	csb_err rv;

	if (s == NULL || hdr == NULL || !csb__name_ok(module) || hdr->last_seq < hdr->after_seq ||
	    (records == NULL && n != 0))
		return CSB_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!csb__key_ok(records[i].key, records[i].key_len) ||
		    (records[i].tombstone && records[i].value_len != 0) ||
		    (records[i].value == NULL && records[i].value_len != 0))
			return CSB_EINVAL;
	if ((rv = csb__write_run(s, false, follow_fn, &c)) == CSB_OK && out != NULL)
		*out = c.cursor;
	return rv;
}

csb_err csb_store_follow_cursor(csb_store *s, const char *module, csb_cursor *out)
{
	return csb_store_cursor_get(s, FOLLOW_SOURCE, module, out);
}

/* ---- Quarantine: own writes past the fork ---------------------------------------------- */

typedef struct rewind_ctx {
	const char *module;
	uint64_t fork_seq;
	uint64_t epoch;
	uint64_t orphans; /* out */
} rewind_ctx;

static csb_err rewind_fn(csb__txn *t, void *ctx)
{
	rewind_ctx *c = ctx;
	char dname[CSB__NAME_MAX], lname[CSB__NAME_MAX], oname[CSB__NAME_MAX];
	csb__module_state st;
	MDB_dbi data, log, orphan;
	MDB_cursor *lc;
	uint8_t lk[8];
	MDB_val k, v, dv;
	csb__rec r;
	csb_err rv;
	int rc;

	if ((rv = csb__module_state_get(t, c->module, &st)) != CSB_OK)
		return rv;
	if (st.high_seq <= c->fork_seq) {
		t->no_commit = true;
		return CSB_OK;
	}
	csb__data_name(dname, NULL, c->module);
	csb__log_name(lname, c->module);
	snprintf(oname, sizeof(oname), "orphan:%s:%" PRIu64, c->module, c->epoch);
	if ((rv = csb__write_dbi(t, dname, true, &data)) != CSB_OK ||
	    (rv = csb__write_dbi(t, lname, true, &log)) != CSB_OK ||
	    (rv = csb__write_dbi(t, oname, true, &orphan)) != CSB_OK)
		return rv;
	if ((rc = mdb_cursor_open(t->txn, log, &lc)) != 0)
		return csb__mdb_err(rc);
	for (;;) {
		uint8_t kb[CSB_KEY_MAX];
		MDB_val key;

		csb__be64_put(lk, c->fork_seq + 1);
		k = (MDB_val){sizeof(lk), lk};
		if ((rc = mdb_cursor_get(lc, &k, &v, MDB_SET_RANGE)) != 0)
			break;
		if (v.mv_size == 0 || v.mv_size > sizeof(kb)) {
			rv = CSB_ECORRUPT;
			break;
		}
		memcpy(kb, v.mv_data, v.mv_size);
		key = (MDB_val){v.mv_size, kb};
		if ((rc = mdb_get(t->txn, data, &key, &dv)) != 0 ||
		    (rv = csb__rec_decode(&dv, &r)) != CSB_OK)
			break;
		if (!r.tombstone) {
			csb__digest_sub(&st.digest,
			                csb__record_digest(key.mv_data, key.mv_size, r.value, r.value_len));
			st.count--;
		}
		/* Kept as it was written, tombstones too: an operator re-applies it by key. */
		if ((rc = mdb_put(t->txn, orphan, &key, &dv, 0)) != 0 ||
		    (rc = mdb_del(t->txn, data, &key, NULL)) != 0 ||
		    (rc = mdb_cursor_del(lc, 0)) != 0)
			break;
		c->orphans++;
	}
	mdb_cursor_close(lc);
	if (rv != CSB_OK)
		return rv;
	if (rc != MDB_NOTFOUND)
		return csb__mdb_err(rc);
	st.high_seq = c->fork_seq;
	return csb__module_state_put(t, c->module, &st);
}

csb_err csb_store_rewind(csb_store *s, const char *module, uint64_t fork_seq, uint64_t epoch,
                         uint64_t *orphans)
{
	rewind_ctx c = {.module = module, .fork_seq = fork_seq, .epoch = epoch};
	csb_err rv;

	if (s == NULL || !csb__name_ok(module))
		return CSB_EINVAL;
	if ((rv = csb__write_run(s, false, rewind_fn, &c)) != CSB_OK)
		return rv;
	if (c.orphans > 0)
		csb_warn("store", "writes past the fork quarantined module=%s fork_seq=%" PRIu64
		         " epoch=%" PRIu64 " records=%" PRIu64, module, fork_seq, epoch, c.orphans);
	if (orphans != NULL)
		*orphans = c.orphans;
	return CSB_OK;
}

typedef struct restore_ctx {
	const char *module;
	const csb_record *records;
	size_t n;
	size_t restored; /* out */
} restore_ctx;

/* Puts back the pre-fork version of keys whose newer version was quarantined: records with
 * seq at or below the high seq whose key has no record now, each with its log entry. */
static csb_err restore_fn(csb__txn *t, void *ctx)
{
	restore_ctx *c = ctx;
	char dname[CSB__NAME_MAX], lname[CSB__NAME_MAX];
	csb__module_state st;
	MDB_dbi data, log;
	csb_err rv;
	int rc;

	if ((rv = csb__module_state_get(t, c->module, &st)) != CSB_OK)
		return rv;
	csb__data_name(dname, NULL, c->module);
	csb__log_name(lname, c->module);
	if ((rv = csb__write_dbi(t, dname, true, &data)) != CSB_OK ||
	    (rv = csb__write_dbi(t, lname, true, &log)) != CSB_OK)
		return rv;
	for (size_t i = 0; i < c->n; i++) {
		const csb_record *r = &c->records[i];
		MDB_val k = {r->key_len, r->key}, v;
		uint8_t lk[8];
		MDB_val lkey = {sizeof(lk), lk};
		csb__rec rec = {.seq = r->seq, .mtime_ms = r->mtime_ms, .value = r->value,
		                .value_len = r->value_len};

		if (r->tombstone || r->seq > st.high_seq)
			continue; /* the follower brings what changed after the fork */
		rc = mdb_get(t->txn, data, &k, &v);
		if (rc == 0)
			continue;
		if (rc != MDB_NOTFOUND)
			return csb__mdb_err(rc);
		csb__be64_put(lk, r->seq);
		if ((rv = csb__rec_put(t->txn, data, r->key, r->key_len, &rec)) != CSB_OK)
			return rv;
		if ((rc = mdb_put(t->txn, log, &lkey, &k, MDB_NOOVERWRITE)) != 0)
			return rc == MDB_KEYEXIST ? CSB_ECORRUPT : csb__mdb_err(rc);
		csb__digest_add(&st.digest,
		                csb__record_digest(r->key, r->key_len, r->value, r->value_len));
		st.count++;
		c->restored++;
	}
	if (c->restored == 0) {
		t->no_commit = true;
		return CSB_OK;
	}
	return csb__module_state_put(t, c->module, &st);
}

csb_err csb_store_restore_keys(csb_store *s, const char *module, const csb_record *records,
                               size_t n, size_t *restored)
{
	restore_ctx c = {.module = module, .records = records, .n = n};
	csb_err rv;

	if (s == NULL || !csb__name_ok(module) || (records == NULL && n != 0))
		return CSB_EINVAL;
	if ((rv = csb__write_run(s, false, restore_fn, &c)) == CSB_OK && restored != NULL)
		*restored = c.restored;
	return rv;
}

/* Lists the quarantined records of module from failover epoch (callback rules as
 * csb_store_list()); count (may be NULL) gets how many there are. */
typedef struct orphans_drop_ctx {
	char name[CSB__NAME_MAX];
} orphans_drop_ctx;

static csb_err orphans_drop_fn(csb__txn *t, void *ctx)
{
	return drop_db(t, ((orphans_drop_ctx *)ctx)->name);
}

csb_err csb_store_orphans_drop(csb_store *s, const char *module, uint64_t epoch)
{
	orphans_drop_ctx c;
	csb_err rv;

	if (s == NULL || !csb__name_ok(module))
		return CSB_EINVAL;
	snprintf(c.name, sizeof(c.name), "orphan:%s:%" PRIu64, module, epoch);
	if ((rv = csb__write_run(s, true, orphans_drop_fn, &c)) == CSB_OK)
		csb_info("store", "quarantine dropped module=%s epoch=%" PRIu64, module, epoch);
	return rv;
}

csb_err csb_store_orphans(csb_store *s, const char *module, uint64_t epoch, size_t limit,
                          csb_record_fn fn, void *ctx, uint64_t *count)
{
	char oname[CSB__NAME_MAX];
	const char *names[1] = {oname};
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_stat ms;
	MDB_val k, v;
	csb__txn t;
	csb__rec r;
	size_t seen = 0;
	csb_err rv;
	int rc;

	if (s == NULL || !csb__name_ok(module))
		return CSB_EINVAL;
	snprintf(oname, sizeof(oname), "orphan:%s:%" PRIu64, module, epoch);
	if (count != NULL)
		*count = 0;
	if ((rv = csb__read_begin(s, &t, names, 1, &dbi)) != CSB_OK)
		return rv;
	if (dbi == CSB__NO_DBI)
		goto out;
	if (count != NULL && mdb_stat(t.txn, dbi, &ms) == 0)
		*count = ms.ms_entries;
	if (fn == NULL || (rc = mdb_cursor_open(t.txn, dbi, &cur)) != 0)
		goto out;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && (limit == 0 || seen < limit);
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		csb_record rec;

		if ((rv = csb__rec_decode(&v, &r)) != CSB_OK)
			break;
		rec = (csb_record){k.mv_data, k.mv_size, (uint8_t *)r.value, r.value_len, r.seq,
		                   r.mtime_ms, r.tombstone};
		seen++;
		if (!fn(ctx, &rec))
			break;
	}
	mdb_cursor_close(cur);
out:
	csb__read_end(&t);
	return rv;
}
