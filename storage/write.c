/* Writes to the pool's own modules. Each write bumps the module's seq, stores the record
 * {seq, mtime, flags, value} in data:<module>, moves the key's single change-log entry in
 * log:<module> to the new seq, and keeps the module's count and digest in meta current,
 * all in one transaction. Also the record encoding, shared with apply.c (copies). */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "storage/internal/store_internal.h"

/* ---- Record encoding ------------------------------------------------------------------ */

csb_err csb__rec_decode(const MDB_val *v, csb__rec *out)
{
	const uint8_t *p = v->mv_data;

	if (v->mv_size < CSB__REC_HDR || (p[16] & ~CSB__REC_TOMBSTONE) != 0)
		return CSB_ECORRUPT;
	out->seq = csb__le64_get(p);
	out->mtime_ms = csb__le64_get(p + 8);
	out->tombstone = (p[16] & CSB__REC_TOMBSTONE) != 0;
	out->value = p + CSB__REC_HDR;
	out->value_len = v->mv_size - CSB__REC_HDR;
	if (out->tombstone && out->value_len != 0)
		return CSB_ECORRUPT;
	return CSB_OK;
}

/* Writes the record in place (MDB_RESERVE): a large value is copied once, into the map. */
csb_err csb__rec_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t key_len,
                     const csb__rec *r)
{
	MDB_val k = {key_len, (void *)key}, v = {CSB__REC_HDR + r->value_len, NULL};
	uint8_t *p;
	int rc;

	if ((rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE)) != 0)
		return csb__mdb_err(rc);
	p = v.mv_data;
	csb__le64_put(p, r->seq);
	csb__le64_put(p + 8, r->mtime_ms);
	p[16] = r->tombstone ? CSB__REC_TOMBSTONE : 0;
	if (r->value_len != 0)
		memcpy(p + CSB__REC_HDR, r->value, r->value_len);
	return CSB_OK;
}

/* ---- Writes --------------------------------------------------------------------------- */

typedef struct write_ctx {
	const char *module;
	const csb_write *w;
	size_t n;
	bool strict;       /* a delete of an absent key fails with CSB_ENOTFOUND */
	uint64_t last_seq; /* out */
} write_ctx;

/* Drops old's share of the module (digest, count, log entry) before it is replaced. */
static csb_err write_unlink_old(csb__txn *t, MDB_dbi log, const csb_write *w,
                                const csb__rec *old, csb__module_state *st)
{
	uint8_t lk[8];
	MDB_val k = {sizeof(lk), lk};
	int rc;

	if (!old->tombstone) {
		csb__digest_sub(&st->digest,
		                csb__record_digest(w->key, w->key_len, old->value, old->value_len));
		st->count--;
	}
	csb__be64_put(lk, old->seq);
	rc = mdb_del(t->txn, log, &k, NULL);
	return rc == MDB_NOTFOUND ? CSB_ECORRUPT : csb__mdb_err(rc);
}

static csb_err write_one(csb__txn *t, MDB_dbi data, MDB_dbi log, const csb_write *w,
                         uint64_t now, bool strict, csb__module_state *st)
{
	bool put = w->op == CSB_OP_PUT, had;
	csb__rec old, rec = {0};
	MDB_val k = {w->key_len, (void *)w->key}, v;
	uint8_t lk[8];
	MDB_val lkey = {sizeof(lk), lk};
	csb_err rv;
	int rc;

	rc = mdb_get(t->txn, data, &k, &v);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return csb__mdb_err(rc);
	had = rc == 0;
	if (had && (rv = csb__rec_decode(&v, &old)) != CSB_OK)
		return rv;
	if (!put && (!had || old.tombstone))
		return strict ? CSB_ENOTFOUND : CSB_OK;
	if (had && (rv = write_unlink_old(t, log, w, &old, st)) != CSB_OK)
		return rv;
	rec.seq = ++st->high_seq;
	rec.mtime_ms = now;
	rec.tombstone = !put;
	rec.value = put ? w->value : NULL;
	rec.value_len = put ? w->value_len : 0;
	if ((rv = csb__rec_put(t->txn, data, w->key, w->key_len, &rec)) != CSB_OK)
		return rv;
	/* Seqs only grow, so the new entry is always the last one. */
	csb__be64_put(lk, rec.seq);
	/* MDB_KEYEXIST: the log holds an entry above the module's high seq, which no write
	 * makes: the log or the module's state is damaged. */
	if ((rc = mdb_put(t->txn, log, &lkey, &k, MDB_APPEND)) != 0)
		return rc == MDB_KEYEXIST ? CSB_ECORRUPT : csb__mdb_err(rc);
	if (put) {
		csb__digest_add(&st->digest,
		                csb__record_digest(w->key, w->key_len, w->value, w->value_len));
		st->count++;
	}
	return CSB_OK;
}

static csb_err write_fn(csb__txn *t, void *ctx)
{
	write_ctx *c = ctx;
	char dname[CSB__NAME_MAX], lname[CSB__NAME_MAX];
	uint64_t now = csb_now_ms(), start;
	csb__module_state st;
	csb_guard g;
	MDB_dbi data, log;
	csb_err rv;

	/* The fence is read inside this transaction: a write can never commit after it. */
	if ((rv = csb__guard_get(t, c->module, &g)) != CSB_OK)
		return rv;
	/* Served data (a failed-over pool's, "<module>@<pool>") exists only while its guard
	 * does: a write that lost the race with the fold back must not recreate it. */
	if (!g.writable || (!g.set && strchr(c->module, '@') != NULL))
		return CSB_EREADONLY;
	csb__data_name(dname, NULL, c->module);
	csb__log_name(lname, c->module);
	if ((rv = csb__write_dbi(t, dname, true, &data)) != CSB_OK ||
	    (rv = csb__write_dbi(t, lname, true, &log)) != CSB_OK ||
	    (rv = csb__module_state_get(t, c->module, &st)) != CSB_OK)
		return rv;
	start = st.high_seq;
	for (size_t i = 0; i < c->n; i++)
		if ((rv = write_one(t, data, log, &c->w[i], now, c->strict, &st)) != CSB_OK)
			return rv;
	c->last_seq = st.high_seq;
	if (st.high_seq == start) {
		t->no_commit = true; /* only deletes of absent keys: not even the DBs stay */
		return CSB_OK;
	}
	if (t->s->check != NULL && !t->s->check(t->s->check_ctx))
		return CSB_EREADONLY; /* the lease ran out: this commit would come too late */
	return csb__module_state_put(t, c->module, &st);
}

static bool writes_ok(const csb_write *w, size_t n)
{
	if (w == NULL || n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!csb__key_ok(w[i].key, w[i].key_len))
			return false;
		if (w[i].op == CSB_OP_DELETE)
			continue;
		if (w[i].op != CSB_OP_PUT || w[i].value_len > CSB_VALUE_MAX ||
		    (w[i].value == NULL && w[i].value_len != 0))
			return false;
	}
	return true;
}

static csb_err write_run(csb_store *s, const char *module, const csb_write *w, size_t n,
                         bool strict, uint64_t *last_seq)
{
	write_ctx c = {.module = module, .w = w, .n = n, .strict = strict};
	csb_err rv;

	if (s == NULL || !csb__name_ok(module) || !writes_ok(w, n))
		return CSB_EINVAL;
	if ((rv = csb__write_run(s, false, write_fn, &c)) != CSB_OK)
		return rv;
	if (last_seq != NULL)
		*last_seq = c.last_seq;
	return CSB_OK;
}

csb_err csb_store_write(csb_store *s, const char *module, const csb_write *w, size_t n,
                        uint64_t *last_seq)
{
	return write_run(s, module, w, n, false, last_seq);
}

csb_err csb_store_put(csb_store *s, const char *module, const void *key, size_t key_len,
                      const void *value, size_t value_len, uint64_t *seq)
{
	csb_write w = {CSB_OP_PUT, key, key_len, value, value_len};

	return write_run(s, module, &w, 1, false, seq);
}

csb_err csb_store_delete(csb_store *s, const char *module, const void *key, size_t key_len,
                         uint64_t *seq)
{
	csb_write w = {CSB_OP_DELETE, key, key_len, NULL, 0};

	return write_run(s, module, &w, 1, true, seq);
}
