/* The transaction machinery of csb_store: every LMDB transaction of storage/ begins here.
 * It holds the map lock (shared for transactions, exclusive for map growth and DB drops),
 * keeps the cache of named-DB handles, grows the map on MDB_MAP_FULL and retries, and
 * translates MDB_* and errno codes to csb_err (EIO on a full disk: CSB_ENOSPC). store.c opens the environment it runs on.
 *
 * Handle rules (LMDB): a transaction can only use DB handles opened before it began, and
 * mdb_dbi_open() calls must not overlap. So every open runs in a write transaction under
 * dbi_mtx (write transactions are serialised, so any later one sees the handle), read
 * transactions resolve their handles before they begin, and an open in an aborted write
 * transaction leaves the cache with it. Lock order: map_lock, LMDB's writer lock,
 * dbi_mtx. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "common/log.h"
#include "storage/internal/store_internal.h"

/* This thread's open transactions, innermost first. A callback that calls back into the
 * store nests a transaction; it must never wait for map_lock exclusively. */
static _Thread_local csb__txn *tl_top;

csb_err csb__mdb_err(int rc)
{
	csb_err rv;

	switch (rc) {
	case MDB_SUCCESS:
		return CSB_OK;
	case MDB_NOTFOUND:
		return CSB_ENOTFOUND;
	case MDB_KEYEXIST:
		return CSB_EEXIST;
	case MDB_MAP_FULL:
	case MDB_MAP_RESIZED:
		return CSB__EMAPFULL;
	case MDB_TXN_FULL:
	case MDB_BAD_VALSIZE:
		return CSB_ETOOBIG;
	case ENOMEM:
		return CSB_ENOMEM;
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return CSB_ENOSPC;
	case MDB_READERS_FULL:
	case EAGAIN:
	case EBUSY:
		return CSB_EBUSY;
	case MDB_DBS_FULL: /* CSB__MAXDBS named DBs: a limit of ours, not of the disk */
		rv = CSB_EINTERNAL;
		break;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:
	case MDB_PAGE_FULL:
	case MDB_CURSOR_FULL:
		rv = CSB_ECORRUPT;
		break;
	case EINVAL:
	case MDB_BAD_TXN:
	case MDB_BAD_DBI:
	case MDB_BAD_RSLOT:
	case MDB_TLS_FULL:
		rv = CSB_EINTERNAL;
		break;
	default: /* MDB_PANIC, EIO, EACCES, EROFS, ... */
		rv = CSB_EIO;
		break;
	}
	csb_warn("store", "lmdb error rc=%d msg=\"%s\" err=%s", rc, mdb_strerror(rc),
	         csb_err_name(rv));
	return rv;
}

/* ---- Map lock and this thread's transactions ------------------------------------------ */

static bool held_here(const csb_store *s)
{
	for (const csb__txn *f = tl_top; f != NULL; f = f->prev)
		if (f->s == s)
			return true;
	return false;
}

static csb_err scope_enter(csb_store *s, csb__txn *t, bool excl)
{
	int rc;

	memset(t, 0, sizeof(*t));
	t->s = s;
	t->excl = excl;
	if (excl && held_here(s))
		return CSB_EBUSY;
	rc = excl ? pthread_rwlock_wrlock(&s->map_lock) : pthread_rwlock_rdlock(&s->map_lock);
	if (rc != 0)
		return CSB_EBUSY;
	t->map_size = s->map_size;
	t->prev = tl_top;
	tl_top = t;
	return CSB_OK;
}

static void scope_leave(csb__txn *t)
{
	tl_top = t->prev;
	pthread_rwlock_unlock(&t->s->map_lock);
}

/* With map_lock exclusive. The map is full, so the data needs more than map_size bytes of
 * file: refuse when the disk cannot hold that much, whatever the map. */
static csb_err map_double(csb_store *s)
{
	uint64_t next = s->map_size * 2;
	MDB_envinfo info;
	struct statvfs vfs;
	struct stat st;
	int fd, rc;

	if (mdb_env_get_fd(s->env, &fd) == 0 && fstat(fd, &st) == 0 && fstatvfs(fd, &vfs) == 0 &&
	    (uint64_t)st.st_size + (uint64_t)vfs.f_bavail * vfs.f_frsize < s->map_size) {
		csb_warn("store", "map full and disk full dir=%s map_size=%" PRIu64, s->dir,
		         s->map_size);
		return CSB_ENOSPC;
	}
	if (next < s->map_size || next > SIZE_MAX)
		return CSB_ENOSPC;
	rc = mdb_env_set_mapsize(s->env, (size_t)next);
	if (rc != 0) {
		csb_warn("store", "map growth failed dir=%s map_size=%" PRIu64 " rc=%d msg=\"%s\"",
		         s->dir, next, rc, mdb_strerror(rc));
		return CSB_ENOSPC;
	}
	mdb_env_info(s->env, &info);
	csb_info("store", "map grown dir=%s from=%" PRIu64 " to=%" PRIu64, s->dir, s->map_size,
	         (uint64_t)info.me_mapsize);
	s->map_size = info.me_mapsize;
	return CSB_OK;
}

/* Grows the map unless another thread already did since `seen` was read. */
static csb_err map_grow(csb_store *s, uint64_t seen)
{
	csb_err rv = CSB_OK;

	if (held_here(s)) {
		csb_warn("store", "map full inside a read callback, cannot grow dir=%s", s->dir);
		return CSB_EBUSY;
	}
	if (pthread_rwlock_wrlock(&s->map_lock) != 0)
		return CSB_EBUSY;
	if (s->map_size == seen)
		rv = map_double(s);
	pthread_rwlock_unlock(&s->map_lock);
	return rv;
}

/* ---- The handle cache (dbi_mtx held) -------------------------------------------------- */

static csb__dbi_entry *dbi_find(csb_store *s, const char *name)
{
	for (size_t i = 0; i < s->ndbis; i++)
		if (strcmp(s->dbis[i].name, name) == 0)
			return &s->dbis[i];
	return NULL;
}

static csb_err dbi_add(csb_store *s, const char *name, MDB_dbi dbi, bool pending)
{
	csb__dbi_entry *e;

	if (s->ndbis == s->dbis_cap) {
		size_t cap = s->dbis_cap ? 2 * s->dbis_cap : 16;

		e = realloc(s->dbis, cap * sizeof(*e));
		if (e == NULL)
			return CSB_ENOMEM;
		s->dbis = e;
		s->dbis_cap = cap;
	}
	e = &s->dbis[s->ndbis];
	if ((e->name = strdup(name)) == NULL)
		return CSB_ENOMEM;
	e->dbi = dbi;
	e->pending = pending;
	s->ndbis++;
	return CSB_OK;
}

static void dbi_remove(csb_store *s, csb__dbi_entry *e)
{
	free(e->name);
	*e = s->dbis[--s->ndbis];
}

/* At the end of a write transaction that opened DBs: keep or drop its handles. */
static void dbi_settle(csb_store *s, bool committed)
{
	for (size_t i = s->ndbis; i-- > 0;) {
		if (!s->dbis[i].pending)
			continue;
		if (committed)
			s->dbis[i].pending = false;
		else
			dbi_remove(s, &s->dbis[i]);
	}
}

void csb__dbi_cache_free(csb_store *s)
{
	for (size_t i = 0; i < s->ndbis; i++)
		free(s->dbis[i].name);
	free(s->dbis);
	s->dbis = NULL;
	s->ndbis = s->dbis_cap = 0;
}

static bool dbi_cached(csb_store *s, const char *name, MDB_dbi *out)
{
	csb__dbi_entry *e;

	pthread_mutex_lock(&s->dbi_mtx);
	e = dbi_find(s, name);
	if (e != NULL)
		*out = e->dbi;
	pthread_mutex_unlock(&s->dbi_mtx);
	return e != NULL;
}

/* Opens existing DB name in a write transaction of its own, for a read transaction not
 * begun yet. Absent names (unknown modules, often polled) are answered from a read
 * transaction so that they never wait for a running writer. */
static csb_err dbi_resolve(csb_store *s, const char *name, MDB_dbi *out)
{
	MDB_val k = {strlen(name), (void *)name}, v;
	csb__dbi_entry *e;
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc;

	if (dbi_cached(s, name, out))
		return CSB_OK;
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0)
		return csb__mdb_err(rc);
	rc = mdb_get(txn, s->main_dbi, &k, &v);
	mdb_txn_abort(txn);
	if (rc != 0)
		return csb__mdb_err(rc);
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		return csb__mdb_err(rc);
	pthread_mutex_lock(&s->dbi_mtx);
	if ((e = dbi_find(s, name)) != NULL) {
		*out = e->dbi;
		mdb_txn_abort(txn);
		pthread_mutex_unlock(&s->dbi_mtx);
		return CSB_OK;
	}
	rc = mdb_dbi_open(txn, name, 0, &dbi);
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	/* Not cached (ENOMEM) is harmless: the next open finds LMDB's handle by name. */
	if (rc == 0 && dbi_add(s, name, dbi, false) == CSB_OK)
		*out = dbi;
	pthread_mutex_unlock(&s->dbi_mtx);
	return rc == 0 ? CSB_OK : csb__mdb_err(rc);
}

csb_err csb__write_dbi(csb__txn *t, const char *name, bool create, MDB_dbi *out)
{
	csb_store *s = t->s;
	csb__dbi_entry *e;
	MDB_dbi dbi;
	int rc;

	if (!t->dbi_held)
		pthread_mutex_lock(&s->dbi_mtx);
	if ((e = dbi_find(s, name)) != NULL) {
		*out = e->dbi;
		if (!t->dbi_held)
			pthread_mutex_unlock(&s->dbi_mtx);
		return CSB_OK;
	}
	/* No other transaction may open a DB until this one ends. */
	t->dbi_held = true;
	rc = mdb_dbi_open(t->txn, name, create ? MDB_CREATE : 0, &dbi);
	if (rc != 0)
		return csb__mdb_err(rc);
	*out = dbi;
	return dbi_add(s, name, dbi, true);
}

void csb__dbi_forget(csb__txn *t, const char *name)
{
	csb__dbi_entry *e;

	if (!t->dbi_held)
		pthread_mutex_lock(&t->s->dbi_mtx);
	if ((e = dbi_find(t->s, name)) != NULL)
		dbi_remove(t->s, e);
	if (!t->dbi_held)
		pthread_mutex_unlock(&t->s->dbi_mtx);
}

/* ---- Runners -------------------------------------------------------------------------- */

/* LMDB reports a write the filesystem cut short as EIO ("short write, filesystem full?"):
 * with (next to) no room left on the store's filesystem, that EIO means the disk is full.
 * Also for dirty pages spilled to disk during the transaction. */
static bool disk_full(csb_store *s)
{
	struct statvfs vfs;
	uint64_t avail;
	int fd;

	if (mdb_env_get_fd(s->env, &fd) != 0 || fstatvfs(fd, &vfs) != 0)
		return false;
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (avail >= CSB__DISK_SLACK)
		return false;
	csb_warn("store", "disk full dir=%s avail=%" PRIu64, s->dir, avail);
	return true;
}

static csb_err write_once(csb__txn *t, csb__txn_fn fn, void *ctx)
{
	bool commit;
	csb_err rv;
	int rc;

	if ((rc = mdb_txn_begin(t->s->env, NULL, 0, &t->txn)) != 0)
		return csb__mdb_err(rc);
	rv = fn(t, ctx);
	commit = rv == CSB_OK && !t->no_commit;
	if (commit) {
		rc = mdb_txn_commit(t->txn); /* frees the txn, also on failure */
		rv = rc == EIO && disk_full(t->s) ? CSB_ENOSPC : csb__mdb_err(rc);
	} else {
		mdb_txn_abort(t->txn);
		if (rv == CSB_EIO && disk_full(t->s))
			rv = CSB_ENOSPC;
	}
	t->txn = NULL;
	if (t->dbi_held) {
		dbi_settle(t->s, commit && rv == CSB_OK);
		t->dbi_held = false;
		pthread_mutex_unlock(&t->s->dbi_mtx);
	}
	return rv;
}

csb_err csb__write_run(csb_store *s, bool excl, csb__txn_fn fn, void *ctx)
{
	csb__txn t;
	csb_err rv;

	for (;;) {
		if ((rv = scope_enter(s, &t, excl)) != CSB_OK)
			return rv;
		rv = write_once(&t, fn, ctx);
		scope_leave(&t);
		if (rv != CSB__EMAPFULL)
			return rv;
		if ((rv = map_grow(s, t.map_size)) != CSB_OK)
			return rv;
	}
}

static csb_err read_open(csb__txn *t, const char *const *names, size_t n, MDB_dbi *dbis)
{
	csb_err rv;

	for (size_t i = 0; i < n; i++) {
		rv = dbi_resolve(t->s, names[i], &dbis[i]);
		if (rv == CSB_ENOTFOUND)
			dbis[i] = CSB__NO_DBI;
		else if (rv != CSB_OK)
			return rv;
	}
	return csb__mdb_err(mdb_txn_begin(t->s->env, NULL, MDB_RDONLY, &t->txn));
}

csb_err csb__read_begin(csb_store *s, csb__txn *t, const char *const *names, size_t n,
                        MDB_dbi *dbis)
{
	csb_err rv;

	for (;;) {
		if ((rv = scope_enter(s, t, false)) != CSB_OK)
			return rv;
		if ((rv = read_open(t, names, n, dbis)) == CSB_OK)
			return CSB_OK;
		t->txn = NULL;
		scope_leave(t);
		/* Another process grew the map (MDB_MAP_RESIZED): adopt a larger one. */
		if (rv != CSB__EMAPFULL)
			return rv;
		if ((rv = map_grow(s, t->map_size)) != CSB_OK)
			return rv;
	}
}

void csb__read_end(csb__txn *t)
{
	if (t->txn != NULL)
		mdb_txn_abort(t->txn);
	t->txn = NULL;
	scope_leave(t);
}
