/* csb_store open/close, the store's identity (schema, lineage), the small persistent state
 * in `meta` (module state, counters, named blobs) and the list of modules. The
 * transactions themselves run through txn.c; records are written by write.c and apply.c.
 * Keys in `meta` carry a prefix ("store:", "module:", "counter:", "meta:"), so that no
 * name can collide with another kind. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "storage/internal/store_internal.h"

#define META_KEY_MAX (sizeof("counter:") + CSB_KEY_MAX)
#define MODULE_STATE_LEN 40 /* high, horizon, count, digest lo, digest hi: u64 LE */

static const char key_schema[] = "store:schema";
static const char key_lineage[] = "store:lineage";

/* ---- Names and small helpers ---------------------------------------------------------- */

bool csb__name_ok(const char *name)
{
	size_t n;

	if (name == NULL)
		return false;
	n = strnlen(name, CSB_MODULE_MAX + 1);
	return n >= 1 && n <= CSB_MODULE_MAX && memchr(name, ':', n) == NULL;
}

bool csb__key_ok(const void *key, size_t len)
{
	return key != NULL && len >= 1 && len <= CSB_KEY_MAX;
}

int csb__key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	/* An empty key may come as NULL: memcmp() must not see it, even for 0 bytes. */
	int c = n != 0 ? memcmp(a, b, n) : 0;

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

bool csb__range_ok(const csb_range *r)
{
	if (r == NULL)
		return false;
	if (r->lo != NULL && !csb__key_ok(r->lo, r->lo_len))
		return false;
	if (r->hi != NULL && !csb__key_ok(r->hi, r->hi_len))
		return false;
	return r->lo == NULL || r->hi == NULL ||
	       csb__key_cmp(r->lo, r->lo_len, r->hi, r->hi_len) < 0;
}

void csb__data_name(char *buf, const char *source, const char *module)
{
	if (source == NULL)
		snprintf(buf, CSB__NAME_MAX, "data:%s", module);
	else
		snprintf(buf, CSB__NAME_MAX, "copy:%s:%s", source, module);
}

void csb__log_name(char *buf, const char *module)
{
	snprintf(buf, CSB__NAME_MAX, "log:%s", module);
}

csb_err csb__buf_add(csb__buf *b, const void *data, size_t n, size_t *off)
{
	if (off != NULL)
		*off = b->len;
	if (n == 0)
		return CSB_OK;
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *p;

		while (cap - b->len < n) {
			if (cap > SIZE_MAX / 2)
				return CSB_ENOMEM;
			cap *= 2;
		}
		if ((p = realloc(b->p, cap)) == NULL)
			return CSB_ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	if (data != NULL)
		memcpy(b->p + b->len, data, n);
	else
		memset(b->p + b->len, 0, n);
	b->len += n;
	return CSB_OK;
}

/* "<prefix><name>" into buf; CSB_EINVAL for a NULL, empty or oversized name. */
static csb_err meta_key(char *buf, const char *prefix, const char *name, MDB_val *k)
{
	size_t plen = strlen(prefix), n;

	if (name == NULL || (n = strnlen(name, CSB_KEY_MAX + 1)) == 0 || n > CSB_KEY_MAX)
		return CSB_EINVAL;
	memcpy(buf, prefix, plen);
	memcpy(buf + plen, name, n);
	k->mv_data = buf;
	k->mv_size = plen + n;
	return CSB_OK;
}

/* ---- State kept in meta --------------------------------------------------------------- */

csb_err csb__module_state_get(csb__txn *t, const char *module, csb__module_state *out)
{
	char buf[META_KEY_MAX];
	const uint8_t *p;
	MDB_val k, v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (meta_key(buf, "module:", module, &k) != CSB_OK)
		return CSB_EINVAL;
	rc = mdb_get(t->txn, t->s->meta_dbi, &k, &v);
	if (rc == MDB_NOTFOUND)
		return CSB_OK;
	if (rc != 0)
		return csb__mdb_err(rc);
	if (v.mv_size != MODULE_STATE_LEN)
		return CSB_ECORRUPT;
	p = v.mv_data;
	out->high_seq = csb__le64_get(p);
	out->horizon = csb__le64_get(p + 8);
	out->count = csb__le64_get(p + 16);
	out->digest.lo = csb__le64_get(p + 24);
	out->digest.hi = csb__le64_get(p + 32);
	return CSB_OK;
}

csb_err csb__module_state_put(csb__txn *t, const char *module, const csb__module_state *st)
{
	uint8_t p[MODULE_STATE_LEN];
	char buf[META_KEY_MAX];
	MDB_val k, v = {sizeof(p), p};

	if (meta_key(buf, "module:", module, &k) != CSB_OK)
		return CSB_EINVAL;
	csb__le64_put(p, st->high_seq);
	csb__le64_put(p + 8, st->horizon);
	csb__le64_put(p + 16, st->count);
	csb__le64_put(p + 24, st->digest.lo);
	csb__le64_put(p + 32, st->digest.hi);
	return csb__mdb_err(mdb_put(t->txn, t->s->meta_dbi, &k, &v, 0));
}

csb_err csb__lineage_get(csb__txn *t, csb_lineage *out)
{
	MDB_val k = {sizeof(key_lineage) - 1, (void *)key_lineage}, v;
	int rc = mdb_get(t->txn, t->s->meta_dbi, &k, &v);

	if (rc == MDB_NOTFOUND || (rc == 0 && v.mv_size != CSB_LINEAGE_LEN))
		return CSB_ECORRUPT;
	if (rc != 0)
		return csb__mdb_err(rc);
	memcpy(out->b, v.mv_data, CSB_LINEAGE_LEN);
	return CSB_OK;
}

static void lineage_hex(const csb_lineage *l, char out[2 * CSB_LINEAGE_LEN + 1])
{
	for (int i = 0; i < CSB_LINEAGE_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", l->b[i]);
}

/* A fresh random lineage, written to meta in t. */
csb_err csb__lineage_mint(csb__txn *t, csb_lineage *out)
{
	MDB_val k = {sizeof(key_lineage) - 1, (void *)key_lineage}, v = {CSB_LINEAGE_LEN, out->b};
	size_t got = 0;
	ssize_t n;

	while (got < CSB_LINEAGE_LEN) {
		n = getrandom(out->b + got, CSB_LINEAGE_LEN - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return CSB_EIO;
		got += (size_t)n;
	}
	return csb__mdb_err(mdb_put(t->txn, t->s->meta_dbi, &k, &v, 0));
}

/* ---- Open and close ------------------------------------------------------------------- */

/* A new environment: only an empty one becomes a store. */
static csb_err store_create(csb__txn *t)
{
	MDB_val k = {sizeof(key_schema) - 1, (void *)key_schema}, v;
	csb_store *s = t->s;
	uint8_t schema[8];
	csb_lineage l;
	MDB_stat st;
	int rc;

	if ((rc = mdb_stat(t->txn, s->main_dbi, &st)) != 0)
		return csb__mdb_err(rc);
	if (st.ms_entries != 0) {
		csb_warn("store", "not a csb store dir=%s", s->dir);
		return CSB_ECORRUPT;
	}
	if ((rc = mdb_dbi_open(t->txn, "meta", MDB_CREATE, &s->meta_dbi)) != 0)
		return csb__mdb_err(rc);
	csb__le64_put(schema, CSB__SCHEMA);
	v.mv_data = schema;
	v.mv_size = sizeof(schema);
	if ((rc = mdb_put(t->txn, s->meta_dbi, &k, &v, 0)) != 0)
		return csb__mdb_err(rc);
	return csb__lineage_mint(t, &l);
}

/* Opens meta and cursor (creating a new store) and checks the schema. Runs at open only,
 * before any other thread knows s, so it opens handles without the cache. */
static csb_err store_init(csb__txn *t, void *ctx)
{
	MDB_val k = {sizeof(key_schema) - 1, (void *)key_schema}, v;
	csb_store *s = t->s;
	csb_lineage l;
	csb_err rv;
	int rc;

	if ((rc = mdb_dbi_open(t->txn, NULL, 0, &s->main_dbi)) != 0)
		return csb__mdb_err(rc);
	rc = mdb_dbi_open(t->txn, "meta", 0, &s->meta_dbi);
	if (rc == MDB_NOTFOUND)
		rv = store_create(t);
	else
		rv = csb__mdb_err(rc);
	if (rv != CSB_OK)
		return rv;
	rc = mdb_get(t->txn, s->meta_dbi, &k, &v);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return csb__mdb_err(rc);
	if (rc == MDB_NOTFOUND || v.mv_size != 8 || csb__le64_get(v.mv_data) > CSB__SCHEMA) {
		csb_warn("store", "not a csb store or a newer schema dir=%s", s->dir);
		return CSB_ECORRUPT;
	}
	if ((rv = csb__lineage_get(t, &l)) != CSB_OK)
		return rv;
	return csb__mdb_err(mdb_dbi_open(t->txn, "cursor", MDB_CREATE, &s->cursor_dbi));
}

static csb_err dir_check(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) != 0)
		return errno == ENOENT || errno == ENOTDIR ? CSB_EINVAL : CSB_EIO;
	return S_ISDIR(st.st_mode) ? CSB_OK : CSB_EINVAL;
}

/* LMDB refuses a second environment on the same files in one process and cannot tell
 * another process's writer from ours after a crash: one flock()ed owner at a time. */
static csb_err dir_lock(csb_store *s)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/csb.lock", s->dir) >= sizeof(path))
		return CSB_EINVAL;
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0)
		return CSB_EIO;
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0)
		return CSB_OK;
	close(s->lock_fd);
	s->lock_fd = -1;
	return errno == EWOULDBLOCK ? CSB_EBUSY : CSB_EIO;
}

static csb_err env_open(csb_store *s, const csb_store_opts *opts)
{
	uint64_t want = opts != NULL && opts->map_size ? opts->map_size : CSB__MAP_DEFAULT;
	unsigned flags = MDB_NOTLS | (opts != NULL && opts->no_sync ? MDB_NOSYNC : 0);
	MDB_envinfo info;
	int rc, dead;

	if (want > SIZE_MAX)
		return CSB_EINVAL;
	if ((rc = mdb_env_create(&s->env)) != 0)
		return csb__mdb_err(rc);
	if ((rc = mdb_env_set_maxdbs(s->env, CSB__MAXDBS)) != 0 ||
	    (rc = mdb_env_set_maxreaders(s->env, CSB__MAXREADERS)) != 0 ||
	    (rc = mdb_env_open(s->env, s->dir, flags, 0600)) != 0)
		goto out_close_env;
	mdb_reader_check(s->env, &dead);
	/* An existing store keeps the size it grew to; a new one starts at want. */
	mdb_env_info(s->env, &info);
	if (info.me_mapsize < want) {
		if ((rc = mdb_env_set_mapsize(s->env, (size_t)want)) != 0)
			goto out_close_env;
		mdb_env_info(s->env, &info);
	}
	s->map_size = info.me_mapsize;
	return CSB_OK;

out_close_env:
	mdb_env_close(s->env);
	s->env = NULL;
	return csb__mdb_err(rc);
}

static csb_err locks_init(csb_store *s)
{
	pthread_rwlockattr_t attr;
	int rc;

	/* Readers first: a callback's nested read must not queue behind a waiting grower. */
	if (pthread_rwlockattr_init(&attr) != 0)
		return CSB_ENOMEM;
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_READER_NP);
	rc = pthread_rwlock_init(&s->map_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (rc != 0)
		return CSB_ENOMEM;
	if (pthread_mutex_init(&s->dbi_mtx, NULL) != 0) {
		pthread_rwlock_destroy(&s->map_lock);
		return CSB_ENOMEM;
	}
	return CSB_OK;
}

static void locks_fini(csb_store *s)
{
	pthread_mutex_destroy(&s->dbi_mtx);
	pthread_rwlock_destroy(&s->map_lock);
}

csb_err csb_store_open(const char *dir, const csb_store_opts *opts, csb_store **out)
{
	char hex[2 * CSB_LINEAGE_LEN + 1];
	csb_lineage l;
	csb_store *s;
	csb_err rv;

	if (out == NULL || dir == NULL || dir[0] == '\0')
		return CSB_EINVAL;
	*out = NULL;
	if ((rv = dir_check(dir)) != CSB_OK)
		return rv;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CSB_ENOMEM;
	s->lock_fd = -1;
	if ((s->dir = strdup(dir)) == NULL) {
		rv = CSB_ENOMEM;
		goto out_free_store;
	}
	if ((rv = locks_init(s)) != CSB_OK)
		goto out_free_dir;
	if ((rv = dir_lock(s)) != CSB_OK)
		goto out_fini_locks;
	if ((rv = env_open(s, opts)) != CSB_OK)
		goto out_unlock_dir;
	if ((rv = csb__write_run(s, false, store_init, NULL)) != CSB_OK ||
	    (rv = csb_store_lineage(s, &l)) != CSB_OK)
		goto out_close_env;
	lineage_hex(&l, hex);
	csb_info("store", "store opened dir=%s map_size=%" PRIu64 " lineage=%s", dir,
	         s->map_size, hex);
	*out = s;
	return CSB_OK;

out_close_env:
	mdb_env_close(s->env);
	csb__dbi_cache_free(s);
out_unlock_dir:
	close(s->lock_fd);
out_fini_locks:
	locks_fini(s);
out_free_dir:
	free(s->dir);
out_free_store:
	free(s);
	return rv;
}

void csb_store_close(csb_store *s)
{
	if (s == NULL)
		return;
	mdb_env_close(s->env);
	csb__dbi_cache_free(s);
	close(s->lock_fd);
	locks_fini(s);
	csb_info("store", "store closed dir=%s", s->dir);
	free(s->dir);
	free(s);
}

/* ---- Lineage -------------------------------------------------------------------------- */

csb_err csb_store_lineage(csb_store *s, csb_lineage *out)
{
	csb__txn t;
	csb_err rv;

	if (s == NULL || out == NULL)
		return CSB_EINVAL;
	if ((rv = csb__read_begin(s, &t, NULL, 0, NULL)) != CSB_OK)
		return rv;
	rv = csb__lineage_get(&t, out);
	csb__read_end(&t);
	return rv;
}

static csb_err renew_fn(csb__txn *t, void *ctx)
{
	return csb__lineage_mint(t, ctx);
}

csb_err csb_store_lineage_renew(csb_store *s, csb_lineage *out)
{
	char hex[2 * CSB_LINEAGE_LEN + 1];
	csb_lineage l;
	csb_err rv;

	if (s == NULL)
		return CSB_EINVAL;
	if ((rv = csb__write_run(s, false, renew_fn, &l)) != CSB_OK)
		return rv;
	lineage_hex(&l, hex);
	csb_info("store", "lineage renewed dir=%s lineage=%s", s->dir, hex);
	if (out != NULL)
		*out = l;
	return CSB_OK;
}

/* ---- Counters and named blobs --------------------------------------------------------- */

typedef struct meta_put_ctx {
	MDB_val k;
	MDB_val v;
	uint64_t delta; /* counters: add delta instead of putting v */
	bool counter;
} meta_put_ctx;

static csb_err meta_put_fn(csb__txn *t, void *ctx)
{
	meta_put_ctx *c = ctx;
	uint8_t b[8];
	MDB_val cur, v = c->v;
	int rc;

	if (c->counter) {
		uint64_t n = 0;

		rc = mdb_get(t->txn, t->s->meta_dbi, &c->k, &cur);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return csb__mdb_err(rc);
		if (rc == 0 && cur.mv_size != 8)
			return CSB_ECORRUPT;
		if (rc == 0)
			n = csb__le64_get(cur.mv_data);
		csb__le64_put(b, n + c->delta);
		v.mv_data = b;
		v.mv_size = sizeof(b);
	}
	return csb__mdb_err(mdb_put(t->txn, t->s->meta_dbi, &c->k, &v, 0));
}

/* Reads meta[k] in a read transaction of its own; *out is malloc'ed. */
static csb_err meta_read(csb_store *s, MDB_val *k, void **out, size_t *len)
{
	csb__txn t;
	MDB_val v;
	csb_err rv;

	if ((rv = csb__read_begin(s, &t, NULL, 0, NULL)) != CSB_OK)
		return rv;
	rv = csb__mdb_err(mdb_get(t.txn, s->meta_dbi, k, &v));
	if (rv == CSB_OK && (*out = malloc(v.mv_size ? v.mv_size : 1)) == NULL)
		rv = CSB_ENOMEM;
	if (rv == CSB_OK) {
		memcpy(*out, v.mv_data, v.mv_size);
		*len = v.mv_size;
	}
	csb__read_end(&t);
	return rv;
}

csb_err csb_store_counter_add(csb_store *s, const char *name, uint64_t delta)
{
	char buf[META_KEY_MAX];
	meta_put_ctx c = {.delta = delta, .counter = true};

	if (s == NULL || meta_key(buf, "counter:", name, &c.k) != CSB_OK)
		return CSB_EINVAL;
	return csb__write_run(s, false, meta_put_fn, &c);
}

csb_err csb_store_counter_get(csb_store *s, const char *name, uint64_t *out)
{
	char buf[META_KEY_MAX];
	size_t len;
	void *v;
	MDB_val k;
	csb_err rv;

	if (s == NULL || out == NULL || meta_key(buf, "counter:", name, &k) != CSB_OK)
		return CSB_EINVAL;
	*out = 0;
	rv = meta_read(s, &k, &v, &len);
	if (rv == CSB_ENOTFOUND)
		return CSB_OK;
	if (rv != CSB_OK)
		return rv;
	if (len == 8)
		*out = csb__le64_get(v);
	free(v);
	return len == 8 ? CSB_OK : CSB_ECORRUPT;
}

csb_err csb_store_meta_put(csb_store *s, const char *name, const void *value, size_t len)
{
	char buf[META_KEY_MAX];
	meta_put_ctx c = {.v = {len, (void *)value}};

	if (s == NULL || meta_key(buf, "meta:", name, &c.k) != CSB_OK ||
	    (value == NULL && len != 0) || len > CSB_VALUE_MAX)
		return CSB_EINVAL;
	return csb__write_run(s, false, meta_put_fn, &c);
}

csb_err csb_store_meta_get(csb_store *s, const char *name, void **out, size_t *len)
{
	char buf[META_KEY_MAX];
	MDB_val k;

	if (s == NULL || out == NULL || len == NULL || meta_key(buf, "meta:", name, &k) != CSB_OK)
		return CSB_EINVAL;
	*out = NULL;
	*len = 0;
	return meta_read(s, &k, out, len);
}

/* ---- Modules -------------------------------------------------------------------------- */

/* The names after prefix in LMDB's main DB (the named DBs), as offsets into b. */
static csb_err modules_walk(csb__txn *t, const char *prefix, csb__buf *b, size_t *n)
{
	size_t plen = strlen(prefix);
	MDB_val k = {plen, (void *)prefix}, v;
	MDB_cursor *c;
	csb_err rv = CSB_OK;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, t->s->main_dbi, &c)) != 0)
		return csb__mdb_err(rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size <= plen || memcmp(k.mv_data, prefix, plen) != 0)
			break;
		if ((rv = csb__buf_add(b, (uint8_t *)k.mv_data + plen, k.mv_size - plen, NULL)) !=
		        CSB_OK ||
		    (rv = csb__buf_add(b, "", 1, NULL)) != CSB_OK)
			break;
		(*n)++;
	}
	mdb_cursor_close(c);
	if (rv == CSB_OK && rc != 0 && rc != MDB_NOTFOUND)
		rv = csb__mdb_err(rc);
	return rv;
}

/* The names of the DBs that start with prefix, without it, as one malloc'ed array. */
static csb_err names_list(csb_store *s, const char *prefix, char ***names, size_t *n)
{
	csb__buf b = {0};
	csb__txn t;
	char **arr, *str;
	csb_err rv;

	*names = NULL;
	*n = 0;
	if ((rv = csb__read_begin(s, &t, NULL, 0, NULL)) != CSB_OK)
		return rv;
	rv = modules_walk(&t, prefix, &b, n);
	csb__read_end(&t);
	if (rv != CSB_OK || *n == 0)
		goto out_free_buf;
	/* One block: the pointers, then the strings (LMDB order is strcmp order here). */
	if ((arr = malloc(*n * sizeof(char *) + b.len)) == NULL) {
		rv = CSB_ENOMEM;
		goto out_free_buf;
	}
	str = (char *)(arr + *n);
	memcpy(str, b.p, b.len);
	for (size_t i = 0; i < *n; i++) {
		arr[i] = str;
		str += strlen(str) + 1;
	}
	*names = arr;
out_free_buf:
	if (rv != CSB_OK)
		*n = 0;
	free(b.p);
	return rv;
}

csb_err csb_store_modules(csb_store *s, const char *source, char ***names, size_t *n)
{
	char prefix[CSB__NAME_MAX];

	if (s == NULL || names == NULL || n == NULL || (source != NULL && !csb__name_ok(source)))
		return CSB_EINVAL;
	if (source == NULL)
		snprintf(prefix, sizeof(prefix), "data:");
	else
		snprintf(prefix, sizeof(prefix), "copy:%s:", source);
	return names_list(s, prefix, names, n);
}

csb_err csb_store_copies(csb_store *s, char ***names, size_t *n)
{
	if (s == NULL || names == NULL || n == NULL)
		return CSB_EINVAL;
	return names_list(s, "copy:", names, n);
}

csb_err csb_store_orphan_sets(csb_store *s, char ***names, size_t *n)
{
	if (s == NULL || names == NULL || n == NULL)
		return CSB_EINVAL;
	return names_list(s, "orphan:", names, n);
}
