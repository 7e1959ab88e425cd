/* Set digests of key ranges: the record hash that write.c and apply.c keep summed per
 * module and per copy, range digests in one key-order pass (verify, differential
 * re-seed), and splitting a range into parts of about equal record counts. */
#include <stdlib.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack: hashing cannot fail */
#include <xxhash.h>

#include "storage/internal/store_internal.h"

csb_digest csb__record_digest(const void *key, size_t key_len, const void *value,
                              size_t value_len)
{
	uint8_t buf[512], len[4];
	XXH128_hash_t h;
	XXH3_state_t st;

	for (int i = 0; i < 4; i++)
		len[i] = (uint8_t)(key_len >> (8 * i));
	if (sizeof(len) + key_len + value_len <= sizeof(buf)) {
		memcpy(buf, len, sizeof(len));
		memcpy(buf + sizeof(len), key, key_len);
		if (value_len != 0)
			memcpy(buf + sizeof(len) + key_len, value, value_len);
		h = XXH3_128bits(buf, sizeof(len) + key_len + value_len);
	} else {
		XXH3_INITSTATE(&st);
		XXH3_128bits_reset(&st);
		XXH3_128bits_update(&st, len, sizeof(len));
		XXH3_128bits_update(&st, key, key_len);
		XXH3_128bits_update(&st, value, value_len);
		h = XXH3_128bits_digest(&st);
	}
	return (csb_digest){h.low64, h.high64};
}

/* ---- A cursor walking live records in key order --------------------------------------- */

typedef struct walk {
	MDB_cursor *c;
	MDB_val k;
	MDB_val v;
	int rc; /* 0: positioned on k/v; MDB_NOTFOUND: at the end */
} walk;

/* To the first record >= lo (lo NULL: the first record). */
static void walk_seek(walk *w, const uint8_t *lo, size_t lo_len)
{
	if (lo == NULL) {
		w->rc = mdb_cursor_get(w->c, &w->k, &w->v, MDB_FIRST);
		return;
	}
	w->k.mv_data = (void *)lo;
	w->k.mv_size = lo_len;
	w->rc = mdb_cursor_get(w->c, &w->k, &w->v, MDB_SET_RANGE);
}

static void walk_next(walk *w)
{
	w->rc = mdb_cursor_get(w->c, &w->k, &w->v, MDB_NEXT);
}

static bool walk_below(const walk *w, const uint8_t *hi, size_t hi_len)
{
	return w->rc == 0 &&
	       (hi == NULL || csb__key_cmp(w->k.mv_data, w->k.mv_size, hi, hi_len) < 0);
}

/* Adds the current record to *d and *count unless it is a tombstone. */
static csb_err walk_add(const walk *w, csb_digest *d, uint64_t *count)
{
	csb__rec r;
	csb_err rv;

	if ((rv = csb__rec_decode(&w->v, &r)) != CSB_OK || r.tombstone)
		return rv;
	csb__digest_add(d, csb__record_digest(w->k.mv_data, w->k.mv_size, r.value, r.value_len));
	(*count)++;
	return CSB_OK;
}

static csb_err walk_end(walk *w, csb_err rv)
{
	if (rv == CSB_OK && w->rc != 0 && w->rc != MDB_NOTFOUND)
		rv = csb__mdb_err(w->rc);
	mdb_cursor_close(w->c);
	return rv;
}

/* ---- Range digests -------------------------------------------------------------------- */

static bool ranges_ok(const csb_range *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!csb__range_ok(&r[i]))
			return false;
		if (i == 0)
			continue;
		if (r[i - 1].hi == NULL || r[i].lo == NULL ||
		    csb__key_cmp(r[i - 1].hi, r[i - 1].hi_len, r[i].lo, r[i].lo_len) > 0)
			return false;
	}
	return true;
}

static csb_err ranges_walk(csb__txn *t, MDB_dbi dbi, const csb_range *ranges, size_t n,
                           csb_digest *digests, uint64_t *counts)
{
	walk w = {.rc = 0};
	csb_err rv = CSB_OK;
	uint64_t count;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, dbi, &w.c)) != 0)
		return csb__mdb_err(rc);
	walk_seek(&w, ranges[0].lo, ranges[0].lo_len);
	for (size_t i = 0; i < n && rv == CSB_OK; i++) {
		const csb_range *r = &ranges[i];

		/* Forward only: skip the gap before this range. */
		if (w.rc == 0 && r->lo != NULL &&
		    csb__key_cmp(w.k.mv_data, w.k.mv_size, r->lo, r->lo_len) < 0)
			walk_seek(&w, r->lo, r->lo_len);
		count = 0;
		for (; rv == CSB_OK && walk_below(&w, r->hi, r->hi_len); walk_next(&w))
			rv = walk_add(&w, &digests[i], &count);
		if (counts != NULL)
			counts[i] = count;
	}
	return walk_end(&w, rv);
}

csb_err csb_store_digest_ranges(csb_store *s, const char *source, const char *module,
                                const csb_range *ranges, size_t n, csb_digest *digests,
                                uint64_t *counts)
{
	char name[CSB__NAME_MAX];
	const char *names[1] = {name};
	MDB_dbi dbi;
	csb__txn t;
	csb_err rv;

	if (s == NULL || (source != NULL && !csb__name_ok(source)) || !csb__name_ok(module) ||
	    (n != 0 && (ranges == NULL || digests == NULL)) || !ranges_ok(ranges, n))
		return CSB_EINVAL;
	if (n == 0)
		return CSB_OK;
	memset(digests, 0, n * sizeof(*digests));
	if (counts != NULL)
		memset(counts, 0, n * sizeof(*counts));
	csb__data_name(name, source, module);
	if ((rv = csb__read_begin(s, &t, names, 1, &dbi)) != CSB_OK)
		return rv;
	if (dbi != CSB__NO_DBI)
		rv = ranges_walk(&t, dbi, ranges, n, digests, counts);
	csb__read_end(&t);
	return rv;
}

/* ---- Split ---------------------------------------------------------------------------- */

typedef struct split_walk {
	csb__txn *t;
	MDB_dbi dbi;          /* CSB__NO_DBI: an empty module */
	const csb_range *r;
	csb__buf keys;        /* lo, hi and the cut keys; offsets until the end */
	size_t *cut;          /* cut[i]: offset in keys of parts[i].lo, i >= 1 */
} split_walk;

/* First pass: the live records of the range, counted without hashing. */
static csb_err split_count(split_walk *sw, uint64_t *total)
{
	walk w = {.rc = 0};
	csb_err rv = CSB_OK;
	csb__rec r;
	int rc;

	*total = 0;
	if (sw->dbi == CSB__NO_DBI)
		return CSB_OK;
	if ((rc = mdb_cursor_open(sw->t->txn, sw->dbi, &w.c)) != 0)
		return csb__mdb_err(rc);
	for (walk_seek(&w, sw->r->lo, sw->r->lo_len);
	     rv == CSB_OK && walk_below(&w, sw->r->hi, sw->r->hi_len); walk_next(&w))
		if ((rv = csb__rec_decode(&w.v, &r)) == CSB_OK && !r.tombstone)
			(*total)++;
	return walk_end(&w, rv);
}

/* Second pass: part i starts at live record i * base + min(i, extra); its first key is the
 * cut, which also ends part i - 1. */
static csb_err split_cut(split_walk *sw, csb_split *out, uint64_t total)
{
	uint64_t base = total / out->count, extra = total % out->count, idx = 0, next;
	csb_split_part *p = out->parts;
	walk w = {.rc = 0};
	csb_err rv = CSB_OK;
	size_t part = 0;
	int rc;

	if (sw->dbi == CSB__NO_DBI)
		return CSB_OK;
	if ((rc = mdb_cursor_open(sw->t->txn, sw->dbi, &w.c)) != 0)
		return csb__mdb_err(rc);
	next = base + (extra > 0);
	for (walk_seek(&w, sw->r->lo, sw->r->lo_len);
	     rv == CSB_OK && walk_below(&w, sw->r->hi, sw->r->hi_len); walk_next(&w)) {
		uint64_t before;

		if (part + 1 < out->count && idx == next) {
			part++;
			next += base + (part < extra);
			rv = csb__buf_add(&sw->keys, w.k.mv_data, w.k.mv_size, &sw->cut[part]);
			p[part].lo_len = p[part - 1].hi_len = w.k.mv_size;
		}
		before = p[part].count;
		if (rv == CSB_OK)
			rv = walk_add(&w, &p[part].digest, &p[part].count);
		idx += p[part].count - before; /* tombstones do not count */
	}
	return walk_end(&w, rv);
}

/* Copies r's ends and turns every offset into a pointer. */
static csb_err split_finish(split_walk *sw, csb_split *out)
{
	const csb_range *r = sw->r;
	csb_split_part *p = out->parts;
	size_t lo = 0, hi = 0, last = out->count - 1;
	csb_err rv = CSB_OK;

	if (r->lo != NULL)
		rv = csb__buf_add(&sw->keys, r->lo, r->lo_len, &lo);
	if (rv == CSB_OK && r->hi != NULL)
		rv = csb__buf_add(&sw->keys, r->hi, r->hi_len, &hi);
	if (rv != CSB_OK)
		return rv;
	for (size_t i = 1; i < out->count; i++)
		p[i].lo = p[i - 1].hi = sw->keys.p + sw->cut[i];
	p[0].lo = r->lo != NULL ? sw->keys.p + lo : NULL;
	p[0].lo_len = r->lo != NULL ? r->lo_len : 0;
	p[last].hi = r->hi != NULL ? sw->keys.p + hi : NULL;
	p[last].hi_len = r->hi != NULL ? r->hi_len : 0;
	out->arena_ = sw->keys.p;
	return CSB_OK;
}

csb_err csb_store_digest_split(csb_store *s, const char *source, const char *module,
                               const csb_range *r, unsigned parts, csb_split *out)
{
	char name[CSB__NAME_MAX];
	const char *names[1] = {name};
	split_walk sw = {.r = r};
	uint64_t total;
	csb__txn t;
	csb_err rv;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL || parts == 0 || (source != NULL && !csb__name_ok(source)) ||
	    !csb__name_ok(module) || !csb__range_ok(r))
		return CSB_EINVAL;
	csb__data_name(name, source, module);
	if ((rv = csb__read_begin(s, &t, names, 1, &sw.dbi)) != CSB_OK)
		return rv;
	sw.t = &t;
	if ((rv = split_count(&sw, &total)) != CSB_OK)
		goto out_end_txn;
	out->count = total == 0 ? 1 : total < parts ? (size_t)total : parts;
	out->parts = calloc(out->count, sizeof(*out->parts));
	sw.cut = calloc(out->count, sizeof(*sw.cut));
	if (out->parts == NULL || sw.cut == NULL) {
		rv = CSB_ENOMEM;
		goto out_end_txn;
	}
	if ((rv = split_cut(&sw, out, total)) == CSB_OK)
		rv = split_finish(&sw, out);
out_end_txn:
	csb__read_end(&t);
	free(sw.cut);
	if (rv != CSB_OK) {
		free(out->parts);
		free(sw.keys.p);
		memset(out, 0, sizeof(*out));
	}
	return rv;
}

void csb_split_clear(csb_split *sp)
{
	if (sp == NULL)
		return;
	free(sp->parts);
	free(sp->arena_);
	memset(sp, 0, sizeof(*sp));
}
