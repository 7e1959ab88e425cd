/* Declarations shared by the files of storage/ (and visible to them only): the csb_store
 * struct, the transaction runner of txn.c that owns locking, map growth and the named-DB
 * handle cache, the on-disk encodings (records, module state, cursors) and the record
 * digest. Nothing here is part of the contract in storage/store.h. */
#ifndef CSB_STORAGE_INTERNAL_STORE_INTERNAL_H
#define CSB_STORAGE_INTERNAL_STORE_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "storage/store.h"

#define CSB__SCHEMA 1                  /* "store:schema" in meta; newer is refused */
#define CSB__MAP_DEFAULT (64u << 20)   /* initial map size when opts->map_size is 0 */
#define CSB__MAXDBS 512                /* named DBs: 2 per own module, 1 per copy, + 2 */
#define CSB__DISK_SLACK (1u << 20)     /* less free space than this: the disk is full */
#define CSB__MAXREADERS 512            /* concurrent read transactions of the process */
#define CSB__NAME_MAX (sizeof("copy:") + 2 * CSB_MODULE_MAX + 1) /* a DB name with NUL */
#define CSB__NO_DBI ((MDB_dbi)0)       /* "no such DB": 0 is LMDB's free list, never ours */

/* Internal only: the map is full; the runner grows it and retries. Never returned. */
#define CSB__EMAPFULL ((csb_err)(CSB_ERR_COUNT + 1))

/* ---- The store ------------------------------------------------------------------------ */

typedef struct csb__dbi_entry {
	char *name;
	MDB_dbi dbi;
	bool pending; /* opened by the running write transaction: gone if it aborts */
} csb__dbi_entry;

struct csb_store {
	MDB_env *env;
	char *dir;
	int lock_fd;                 /* flock()ed: one process per store */
	MDB_dbi main_dbi;            /* LMDB's unnamed DB: the names of the named ones */
	MDB_dbi meta_dbi;            /* "meta": identity, module state, counters, blobs */
	MDB_dbi cursor_dbi;          /* "cursor": "<source>\0<module>" -> import cursor */
	pthread_rwlock_t map_lock;   /* shared: any transaction; exclusive: no transaction
	                              * runs (map growth, dropping a DB) */
	uint64_t map_size;           /* changed only with map_lock exclusive */
	pthread_mutex_t dbi_mtx;     /* the cache below; serialises mdb_dbi_open() */
	csb__dbi_entry *dbis;
	size_t ndbis;
	size_t dbis_cap;
	csb_store_commit_check_fn check; /* csb_store_set_commit_check() */
	void *check_ctx;
};

/* One transaction of the package, on the caller's stack. */
typedef struct csb__txn csb__txn;
struct csb__txn {
	csb_store *s;
	MDB_txn *txn;
	bool excl;        /* holds map_lock exclusively */
	bool dbi_held;    /* holds dbi_mtx until the end: opened a DB in this transaction */
	bool no_commit;   /* set by a write function that changed nothing: abort, no sync */
	uint64_t map_size; /* at the start, to grow only once when threads race */
	csb__txn *prev;   /* the enclosing transaction of this thread, if any */
};

/* ---- txn.c ---------------------------------------------------------------------------- */

/* A step run inside a write transaction; returns CSB_OK to commit. */
typedef csb_err (*csb__txn_fn)(csb__txn *t, void *ctx);

/* Runs fn in one write transaction and commits it (or aborts when fn fails or sets
 * t->no_commit). On a full map it aborts, doubles the map and runs fn again from the
 * start, so fn must keep its results in ctx only once it returns CSB_OK. excl: no other
 * transaction of the process runs meanwhile (needed by mdb_drop()); CSB_EBUSY when this
 * thread is inside a transaction of s (a callback). */
csb_err csb__write_run(csb_store *s, bool excl, csb__txn_fn fn, void *ctx);

/* Resolves the n named DBs (dbis[i] = CSB__NO_DBI when names[i] does not exist), then
 * begins a read transaction in *t that can use them. End it with csb__read_end(). */
csb_err csb__read_begin(csb_store *s, csb__txn *t, const char *const *names, size_t n,
                        MDB_dbi *dbis);
void csb__read_end(csb__txn *t);

/* The handle of DB name in write transaction t, opened (created if create) in t when not
 * cached yet. CSB_ENOTFOUND when it does not exist and !create. */
csb_err csb__write_dbi(csb__txn *t, const char *name, bool create, MDB_dbi *out);

/* Forgets the cached handle of name after mdb_drop() closed it. */
void csb__dbi_forget(csb__txn *t, const char *name);
void csb__dbi_cache_free(csb_store *s);

/* Translates an MDB_* or errno code; logs the unexpected ones. */
csb_err csb__mdb_err(int rc);

/* ---- store.c: names, state in meta, small buffers ------------------------------------- */

bool csb__name_ok(const char *name); /* module or source: 1..CSB_MODULE_MAX, no ':' */
bool csb__key_ok(const void *key, size_t len);
bool csb__range_ok(const csb_range *r);
int csb__key_cmp(const void *a, size_t alen, const void *b, size_t blen); /* LMDB order */

/* "data:<module>" (source NULL) or "copy:<source>:<module>"; "log:<module>". */
void csb__data_name(char *buf, const char *source, const char *module);
void csb__log_name(char *buf, const char *module);

typedef struct csb__module_state {
	uint64_t high_seq;
	uint64_t horizon;
	uint64_t count;
	csb_digest digest;
} csb__module_state;

/* Zeros when the module was never written. */
csb_err csb__module_state_get(csb__txn *t, const char *module, csb__module_state *out);
csb_err csb__module_state_put(csb__txn *t, const char *module, const csb__module_state *st);
csb_err csb__lineage_get(csb__txn *t, csb_lineage *out);
/* A fresh random lineage for the store, written in t. */
csb_err csb__lineage_mint(csb__txn *t, csb_lineage *out);
/* Drops the copy of (source, module) and its cursor in t (nothing there: CSB_OK). */
csb_err csb__copy_drop(csb__txn *t, const char *source, const char *module);

/* A growable byte buffer (for results built in one walk). */
typedef struct csb__buf {
	uint8_t *p;
	size_t len;
	size_t cap;
} csb__buf;

/* Appends n bytes (zeros when data is NULL); *off (may be NULL) gets their offset. */
csb_err csb__buf_add(csb__buf *b, const void *data, size_t n, size_t *off);

/* ---- write.c: the record encoding of data and copy DBs -------------------------------- */

#define CSB__REC_HDR 17 /* u64 seq, u64 mtime_ms, u8 flags; little-endian */
#define CSB__REC_TOMBSTONE 0x01u

typedef struct csb__rec {
	uint64_t seq;
	uint64_t mtime_ms;
	bool tombstone;
	const uint8_t *value; /* into the map: valid until the next write or the txn end */
	size_t value_len;
} csb__rec;

csb_err csb__rec_decode(const MDB_val *v, csb__rec *out); /* CSB_ECORRUPT if malformed */
csb_err csb__rec_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t key_len,
                     const csb__rec *r);

/* ---- apply.c -------------------------------------------------------------------------- */

/* CSB_ENOTFOUND when nothing was ever imported for (source, module). */
csb_err csb__cursor_get(csb__txn *t, const char *source, const char *module, csb_cursor *out);
/* Writes the cursor of (source, module) in t. */
csb_err csb__cursor_put(csb__txn *t, const char *source, const char *module,
                        const csb_cursor *cur);

/* ---- serve.c -------------------------------------------------------------------------- */

/* module's guard in t (not set: writable, epoch 0). */
csb_err csb__guard_get(csb__txn *t, const char *module, csb_guard *out);

/* ---- digest.c ------------------------------------------------------------------------- */

/* XXH3-128 over (u32 LE key_len, key, value): one record's share of a set digest. */
csb_digest csb__record_digest(const void *key, size_t key_len, const void *value,
                              size_t value_len);

static inline void csb__digest_add(csb_digest *d, csb_digest h)
{
	d->lo += h.lo;
	d->hi += h.hi;
}

static inline void csb__digest_sub(csb_digest *d, csb_digest h)
{
	d->lo -= h.lo;
	d->hi -= h.hi;
}

/* ---- Fixed-width integers ------------------------------------------------------------- */

static inline void csb__le64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t csb__le64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* Log keys are big-endian so that LMDB's byte order is seq order. */
static inline void csb__be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[7 - i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t csb__be64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

#endif
