/* Delta export: csb_store_changes() walks log:<module> from after_seq in seq order. The log
 * holds one entry per key (write.c moves it on every write), so each entry read is one
 * record returned, at its newest version: the cost follows the records returned, never
 * the size of the module. */
#include <stdlib.h>
#include <string.h>

#include "storage/internal/store_internal.h"

typedef struct changes_walk {
	MDB_txn *txn;
	MDB_dbi data;
	size_t max_records;
	size_t max_bytes;
	csb__buf recs;  /* csb_record[], key/value as offsets into bytes until the end */
	csb__buf bytes;
} changes_walk;

/* Appends the record that log entry (seq -> key) names; *full when it does not fit. */
static csb_err changes_add(changes_walk *w, csb_changes *out, uint64_t seq, const MDB_val *key,
                           bool *full)
{
	csb_record rec = {0};
	size_t koff, voff = 0;
	MDB_val v;
	csb__rec r;
	csb_err rv;
	int rc;

	rc = mdb_get(w->txn, w->data, (MDB_val *)key, &v);
	if (rc == MDB_NOTFOUND)
		return CSB_ECORRUPT; /* a log entry without its record */
	if (rc != 0)
		return csb__mdb_err(rc);
	if ((rv = csb__rec_decode(&v, &r)) != CSB_OK)
		return rv;
	if (r.seq != seq)
		return CSB_ECORRUPT; /* the entry was not moved with its record */
	if (w->max_bytes != 0 && out->count != 0 &&
	    out->bytes + key->mv_size + r.value_len > w->max_bytes) {
		*full = true;
		return CSB_OK;
	}
	if ((rv = csb__buf_add(&w->bytes, key->mv_data, key->mv_size, &koff)) != CSB_OK ||
	    (rv = csb__buf_add(&w->bytes, r.value, r.value_len, &voff)) != CSB_OK)
		return rv;
	rec.key = (uint8_t *)(uintptr_t)koff;
	rec.key_len = key->mv_size;
	rec.value = r.tombstone ? NULL : (uint8_t *)(uintptr_t)voff;
	rec.value_len = r.value_len;
	rec.seq = r.seq;
	rec.mtime_ms = r.mtime_ms;
	rec.tombstone = r.tombstone;
	if ((rv = csb__buf_add(&w->recs, &rec, sizeof(rec), NULL)) != CSB_OK)
		return rv;
	out->count++;
	out->bytes += key->mv_size + r.value_len;
	out->last_seq = seq;
	*full = w->max_records != 0 && out->count == w->max_records;
	return CSB_OK;
}

/* Walks the log after after_seq; last_seq is the high seq when the walk reached the end. */
static csb_err changes_log_walk(changes_walk *w, MDB_dbi log, uint64_t after_seq,
                                csb_changes *out)
{
	uint8_t start[8];
	MDB_val k = {sizeof(start), start}, v;
	bool full = false;
	MDB_cursor *c;
	csb_err rv = CSB_OK;
	int rc;

	if ((rc = mdb_cursor_open(w->txn, log, &c)) != 0)
		return csb__mdb_err(rc);
	csb__be64_put(start, after_seq + 1);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && !full;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8) {
			rv = CSB_ECORRUPT;
			break;
		}
		out->log_entries_read++;
		if ((rv = changes_add(w, out, csb__be64_get(k.mv_data), &v, &full)) != CSB_OK ||
		    full)
			break;
	}
	mdb_cursor_close(c);
	if (rv == CSB_OK && rc != 0 && rc != MDB_NOTFOUND)
		rv = csb__mdb_err(rc);
	if (rv == CSB_OK && !full)
		out->last_seq = out->high_seq;
	return rv;
}

/* Turns the offsets into pointers once the buffers stop moving. */
static void changes_finish(changes_walk *w, csb_changes *out)
{
	csb_record *recs = (csb_record *)w->recs.p;

	for (size_t i = 0; i < out->count; i++) {
		recs[i].key = w->bytes.p + (uintptr_t)recs[i].key;
		if (!recs[i].tombstone)
			recs[i].value = w->bytes.p + (uintptr_t)recs[i].value;
	}
	out->records = recs;
	out->arena_ = w->bytes.p;
}

csb_err csb_store_changes(csb_store *s, const char *module, uint64_t after_seq,
                          size_t max_records, size_t max_bytes, csb_changes *out)
{
	char dname[CSB__NAME_MAX], lname[CSB__NAME_MAX];
	const char *names[2] = {dname, lname};
	changes_walk w = {.max_records = max_records, .max_bytes = max_bytes};
	csb__module_state st;
	MDB_dbi dbis[2];
	csb__txn t;
	csb_err rv;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL || !csb__name_ok(module))
		return CSB_EINVAL;
	csb__data_name(dname, NULL, module);
	csb__log_name(lname, module);
	if ((rv = csb__read_begin(s, &t, names, 2, dbis)) != CSB_OK)
		return rv;
	if ((rv = csb__lineage_get(&t, &out->lineage)) != CSB_OK ||
	    (rv = csb__module_state_get(&t, module, &st)) != CSB_OK)
		goto out_end_txn;
	out->high_seq = out->last_seq = st.high_seq;
	out->digest = st.digest;
	/* A fresh importer (after 0) has nothing to delete: live records are enough. */
	if (after_seq < st.horizon && after_seq != 0) {
		rv = CSB_ELOGGONE;
		goto out_end_txn;
	}
	/* Nothing newer (also after_seq + 1 must not wrap), or never written. */
	if (after_seq >= st.high_seq || dbis[0] == CSB__NO_DBI || dbis[1] == CSB__NO_DBI)
		goto out_end_txn;
	w.txn = t.txn;
	w.data = dbis[0];
	rv = changes_log_walk(&w, dbis[1], after_seq, out);
	if (rv == CSB_OK)
		changes_finish(&w, out);
out_end_txn:
	csb__read_end(&t);
	if (rv != CSB_OK) {
		free(w.recs.p);
		free(w.bytes.p);
		memset(out, 0, sizeof(*out));
	}
	return rv;
}

void csb_changes_clear(csb_changes *c)
{
	if (c == NULL)
		return;
	free(c->records);
	free(c->arena_);
	memset(c, 0, sizeof(*c));
}
