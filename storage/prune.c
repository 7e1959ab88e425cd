/* Log retention: csb_store_prune() removes the tombstones (records and log entries) that
 * every importer has acknowledged and raises the module's horizon, below which
 * csb_store_changes() answers CSB_ELOGGONE. It walks only the log entries between the old
 * horizon and the acknowledged seq: the cost follows the changes since the last prune. */
#include <inttypes.h>
#include <string.h>

#include "common/log.h"
#include "storage/internal/store_internal.h"

typedef struct prune_ctx {
	const char *module;
	uint64_t acked_seq;
	uint64_t pruned; /* out */
	uint64_t horizon; /* out: the new horizon */
} prune_ctx;

/* The log entry under c (seq -> key): removes it and its record if it is a tombstone. */
static csb_err prune_entry(csb__txn *t, MDB_cursor *c, MDB_dbi data, uint64_t seq,
                           const MDB_val *entry, prune_ctx *p)
{
	uint8_t buf[CSB_KEY_MAX];
	MDB_val key = {entry->mv_size, buf}, v;
	csb__rec r;
	csb_err rv;
	int rc;

	/* The key lives in a log page: copy it before the deletes below move pages. */
	if (entry->mv_size == 0 || entry->mv_size > sizeof(buf))
		return CSB_ECORRUPT;
	memcpy(buf, entry->mv_data, entry->mv_size);
	rc = mdb_get(t->txn, data, &key, &v);
	if (rc == MDB_NOTFOUND)
		return CSB_ECORRUPT;
	if (rc != 0)
		return csb__mdb_err(rc);
	if ((rv = csb__rec_decode(&v, &r)) != CSB_OK)
		return rv;
	if (r.seq != seq)
		return CSB_ECORRUPT;
	if (!r.tombstone)
		return CSB_OK;
	if ((rc = mdb_del(t->txn, data, &key, NULL)) != 0 || (rc = mdb_cursor_del(c, 0)) != 0)
		return csb__mdb_err(rc);
	p->pruned++;
	return CSB_OK;
}

static csb_err prune_walk(csb__txn *t, MDB_dbi data, MDB_dbi log, uint64_t from, prune_ctx *p)
{
	uint8_t start[8];
	MDB_val k = {sizeof(start), start}, v;
	MDB_cursor *c;
	csb_err rv = CSB_OK;
	uint64_t seq;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, log, &c)) != 0)
		return csb__mdb_err(rc);
	csb__be64_put(start, from);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8) {
			rv = CSB_ECORRUPT;
			break;
		}
		if ((seq = csb__be64_get(k.mv_data)) > p->acked_seq)
			break;
		/* After mdb_cursor_del() the cursor stands on the next entry; MDB_NEXT knows. */
		if ((rv = prune_entry(t, c, data, seq, &v, p)) != CSB_OK)
			break;
	}
	mdb_cursor_close(c);
	if (rv == CSB_OK && rc != 0 && rc != MDB_NOTFOUND)
		rv = csb__mdb_err(rc);
	return rv;
}

static csb_err prune_fn(csb__txn *t, void *ctx)
{
	prune_ctx *p = ctx;
	char dname[CSB__NAME_MAX], lname[CSB__NAME_MAX];
	csb__module_state st;
	MDB_dbi data, log;
	csb_err rv;

	p->pruned = 0;
	if ((rv = csb__module_state_get(t, p->module, &st)) != CSB_OK)
		return rv;
	p->horizon = st.horizon;
	if (p->acked_seq > st.high_seq)
		return CSB_EINVAL;
	if (p->acked_seq <= st.horizon) {
		t->no_commit = true;
		return CSB_OK;
	}
	csb__data_name(dname, NULL, p->module);
	csb__log_name(lname, p->module);
	if ((rv = csb__write_dbi(t, dname, false, &data)) != CSB_OK ||
	    (rv = csb__write_dbi(t, lname, false, &log)) != CSB_OK ||
	    (rv = prune_walk(t, data, log, st.horizon + 1, p)) != CSB_OK)
		return rv;
	/* The pruned tombstones counted in neither count nor digest: only the horizon moves. */
	st.horizon = p->horizon = p->acked_seq;
	return csb__module_state_put(t, p->module, &st);
}

csb_err csb_store_prune(csb_store *s, const char *module, uint64_t acked_seq, uint64_t *pruned)
{
	prune_ctx p = {.module = module, .acked_seq = acked_seq};
	csb_err rv;

	if (s == NULL || !csb__name_ok(module))
		return CSB_EINVAL;
	if ((rv = csb__write_run(s, false, prune_fn, &p)) != CSB_OK)
		return rv;
	if (p.pruned != 0)
		csb_info("store", "log pruned module=%s horizon=%" PRIu64 " tombstones=%" PRIu64,
		         module, p.horizon, p.pruned);
	if (pruned != NULL)
		*pruned = p.pruned;
	return CSB_OK;
}
