/* Reads of own data (source == NULL: data:<module>) or of a backup copy
 * (copy:<source>:<module>): one record, a prefix listing in key order, and the O(1) module
 * summary kept in meta (own data) or in the import cursor (copies). Tombstones, which only
 * own data holds, are never returned here. */
#include <stdlib.h>
#include <string.h>

#include "storage/internal/store_internal.h"

void csb_record_clear(csb_record *r)
{
	if (r == NULL)
		return;
	free(r->key);
	free(r->value);
	memset(r, 0, sizeof(*r));
}

static bool source_ok(const char *source)
{
	return source == NULL || csb__name_ok(source);
}

csb_err csb_record_copy(const csb_record *src, csb_record *out)
{
	uint8_t *k = malloc(src->key_len ? src->key_len : 1);
	uint8_t *v = malloc(src->value_len ? src->value_len : 1);

	if (k == NULL || v == NULL) {
		free(k);
		free(v);
		return CSB_ENOMEM;
	}
	if (src->key_len != 0)
		memcpy(k, src->key, src->key_len);
	if (src->value_len != 0)
		memcpy(v, src->value, src->value_len);
	*out = *src;
	out->key = k;
	out->value = v;
	return CSB_OK;
}

/* Copies a live record out of the map into *out (caller-owned). */
static csb_err record_copy(const void *key, size_t key_len, const csb__rec *r, csb_record *out)
{
	csb_record view = {.key = (uint8_t *)key, .key_len = key_len, .value = (uint8_t *)r->value,
	                   .value_len = r->value_len, .seq = r->seq, .mtime_ms = r->mtime_ms};

	return csb_record_copy(&view, out);
}

csb_err csb_store_get_string(csb_store *s, const char *source, const char *module,
                             const char *key, char **out)
{
	csb_record r;
	csb_err rv;

	if (key == NULL || out == NULL)
		return CSB_EINVAL;
	if ((rv = csb_store_get(s, source, module, key, strlen(key), &r)) != CSB_OK)
		return rv;
	if ((*out = malloc(r.value_len + 1)) == NULL) {
		rv = CSB_ENOMEM;
	} else {
		memcpy(*out, r.value, r.value_len);
		(*out)[r.value_len] = '\0';
	}
	csb_record_clear(&r);
	return rv;
}

/* The record of key, its value cut to [offset, offset + max) when part is set. */
static csb_err get_one(csb_store *s, const char *source, const char *module, const void *key,
                       size_t key_len, bool part, uint64_t offset, size_t max, csb_record *out,
                       uint64_t *whole_len)
{
	char name[CSB__NAME_MAX];
	const char *names[1] = {name};
	MDB_val k = {key_len, (void *)key}, v;
	MDB_dbi dbi;
	csb__txn t;
	csb__rec r;
	csb_err rv;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL || !source_ok(source) || !csb__name_ok(module) ||
	    !csb__key_ok(key, key_len))
		return CSB_EINVAL;
	csb__data_name(name, source, module);
	if ((rv = csb__read_begin(s, &t, names, 1, &dbi)) != CSB_OK)
		return rv;
	if (dbi == CSB__NO_DBI)
		rv = CSB_ENOTFOUND;
	else if ((rv = csb__mdb_err(mdb_get(t.txn, dbi, &k, &v))) == CSB_OK &&
	         (rv = csb__rec_decode(&v, &r)) == CSB_OK && r.tombstone)
		rv = CSB_ENOTFOUND;
	if (rv == CSB_OK && part) {
		*whole_len = r.value_len;
		offset = offset < r.value_len ? offset : r.value_len;
		r.value += offset;
		r.value_len = r.value_len - offset < max ? r.value_len - offset : max;
	}
	if (rv == CSB_OK)
		rv = record_copy(key, key_len, &r, out);
	csb__read_end(&t);
	return rv;
}

csb_err csb_store_get(csb_store *s, const char *source, const char *module, const void *key,
                      size_t key_len, csb_record *out)
{
	return get_one(s, source, module, key, key_len, false, 0, 0, out, NULL);
}

csb_err csb_store_get_part(csb_store *s, const char *source, const char *module,
                           const void *key, size_t key_len, uint64_t offset, size_t max,
                           csb_record *out, uint64_t *whole_len)
{
	if (whole_len == NULL)
		return CSB_EINVAL;
	return get_one(s, source, module, key, key_len, true, offset, max, out, whole_len);
}

/* ---- Listing -------------------------------------------------------------------------- */

typedef struct list_args {
	const void *prefix;
	size_t plen;
	const void *after;
	size_t after_len;
	size_t limit;
	csb_record_fn fn;
	void *ctx;
	const csb_range *range; /* NULL: no bounds beyond the prefix */
} list_args;

/* Positions c on the first key > after that could start with prefix and is in range. */
static int list_seek(MDB_cursor *c, const list_args *a, MDB_val *k, MDB_val *v)
{
	const void *start = a->prefix;
	size_t start_len = a->plen;
	int rc;

	if (a->range != NULL && a->range->lo != NULL &&
	    csb__key_cmp(a->range->lo, a->range->lo_len, start, start_len) > 0) {
		start = a->range->lo;
		start_len = a->range->lo_len;
	}
	if (a->after_len != 0 && csb__key_cmp(a->after, a->after_len, start, start_len) >= 0) {
		k->mv_data = (void *)a->after;
		k->mv_size = a->after_len;
		rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
		if (rc == 0 && csb__key_cmp(k->mv_data, k->mv_size, a->after, a->after_len) == 0)
			rc = mdb_cursor_get(c, k, v, MDB_NEXT);
		return rc;
	}
	if (start_len == 0)
		return mdb_cursor_get(c, k, v, MDB_FIRST);
	k->mv_data = (void *)start;
	k->mv_size = start_len;
	return mdb_cursor_get(c, k, v, MDB_SET_RANGE);
}

static csb_err list_walk(csb__txn *t, MDB_dbi dbi, const list_args *a)
{
	MDB_cursor *c;
	MDB_val k, v;
	csb_record rec;
	size_t listed = 0;
	csb_err rv = CSB_OK;
	csb__rec r;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, dbi, &c)) != 0)
		return csb__mdb_err(rc);
	for (rc = list_seek(c, a, &k, &v); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (a->plen != 0 &&
		    (k.mv_size < a->plen || memcmp(k.mv_data, a->prefix, a->plen) != 0))
			break;
		if (a->range != NULL && a->range->hi != NULL &&
		    csb__key_cmp(k.mv_data, k.mv_size, a->range->hi, a->range->hi_len) >= 0)
			break;
		if ((rv = csb__rec_decode(&v, &r)) != CSB_OK)
			break;
		if (r.tombstone)
			continue;
		rec = (csb_record){.key = k.mv_data, .key_len = k.mv_size,
		                   .value = (uint8_t *)r.value, .value_len = r.value_len,
		                   .seq = r.seq, .mtime_ms = r.mtime_ms};
		if (!a->fn(a->ctx, &rec) || (a->limit != 0 && ++listed == a->limit))
			break;
	}
	mdb_cursor_close(c);
	if (rv == CSB_OK && rc != 0 && rc != MDB_NOTFOUND)
		rv = csb__mdb_err(rc);
	return rv;
}

static csb_err list_run(csb_store *s, const char *source, const char *module,
                        const list_args *a);

csb_err csb_store_list(csb_store *s, const char *source, const char *module,
                       const void *prefix, size_t plen, const void *after, size_t after_len,
                       size_t limit, csb_record_fn fn, void *ctx)
{
	list_args a = {prefix, plen, after, after_len, limit, fn, ctx, NULL};

	if ((plen != 0 && prefix == NULL) || plen > CSB_KEY_MAX)
		return CSB_EINVAL;
	return list_run(s, source, module, &a);
}

csb_err csb_store_scan(csb_store *s, const char *source, const char *module,
                       const struct csb_range *r, const void *after, size_t after_len,
                       size_t limit, csb_record_fn fn, void *ctx)
{
	list_args a = {"", 0, after, after_len, limit, fn, ctx, r};

	if (r != NULL && !csb__range_ok(r))
		return CSB_EINVAL;
	return list_run(s, source, module, &a);
}

static csb_err list_run(csb_store *s, const char *source, const char *module, const list_args *a)
{
	char name[CSB__NAME_MAX];
	const char *names[1] = {name};
	MDB_dbi dbi;
	csb__txn t;
	csb_err rv;

	if (s == NULL || a->fn == NULL || !source_ok(source) || !csb__name_ok(module) ||
	    (a->after_len != 0 && a->after == NULL) || a->after_len > CSB_KEY_MAX)
		return CSB_EINVAL;
	csb__data_name(name, source, module);
	if ((rv = csb__read_begin(s, &t, names, 1, &dbi)) != CSB_OK)
		return rv;
	if (dbi != CSB__NO_DBI)
		rv = list_walk(&t, dbi, a);
	csb__read_end(&t);
	return rv;
}

/* ---- Module summary ------------------------------------------------------------------- */

csb_err csb_store_module_info(csb_store *s, const char *source, const char *module,
                              csb_module_info *out)
{
	csb__module_state st;
	csb_cursor cur;
	csb__txn t;
	csb_err rv;

	if (s == NULL || out == NULL || !source_ok(source) || !csb__name_ok(module))
		return CSB_EINVAL;
	memset(out, 0, sizeof(*out));
	if ((rv = csb__read_begin(s, &t, NULL, 0, NULL)) != CSB_OK)
		return rv;
	if (source == NULL) {
		if ((rv = csb__module_state_get(&t, module, &st)) == CSB_OK) {
			out->high_seq = st.high_seq;
			out->count = st.count;
			out->digest = st.digest;
			out->horizon = st.horizon;
		}
	} else {
		rv = csb__cursor_get(&t, source, module, &cur);
		if (rv == CSB_OK) {
			out->high_seq = cur.applied_seq;
			out->count = cur.count;
			out->digest = cur.digest;
		} else if (rv == CSB_ENOTFOUND) {
			rv = CSB_OK; /* never imported: an empty copy */
		}
	}
	csb__read_end(&t);
	return rv;
}
