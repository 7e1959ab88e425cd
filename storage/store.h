/* csb_store: one LMDB environment per process holding the pool's own modules (with their
 * change logs), the backup copies of the partner's modules (with their import cursors),
 * per-module digests and persistent counters. The only component that includes lmdb.h;
 * every MDB_* code is translated to csb_err here. See DESIGN.md §2 "Store layout". */
#ifndef CSB_STORAGE_STORE_H
#define CSB_STORAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define CSB_LINEAGE_LEN 16
#define CSB_KEY_MAX 480          /* bytes; LMDB's key limit is 511 and we add a prefix */
#define CSB_MODULE_MAX 64        /* bytes of a module or source name */
#define CSB_VALUE_MAX (256u << 20) /* 256 MiB: one value, reassembled */

typedef struct csb_store csb_store;

/* A lineage id: minted when a store is created, restored or promoted. A cursor is only
 * valid against the lineage it was taken from. */
typedef struct csb_lineage {
	uint8_t b[CSB_LINEAGE_LEN];
} csb_lineage;

/* An order-independent set digest: the lane-wise sum (mod 2^64) of XXH3-128 over each live
 * record's (key length, key, value). Tombstones contribute nothing, so a key deleted and a
 * key never written look alike. Additive, so the store keeps it current per write, and a
 * range's digest is the sum of its sub-ranges'. */
typedef struct csb_digest {
	uint64_t lo;
	uint64_t hi;
} csb_digest;

/* A record as read from the store. Every pointer is owned by whoever filled the record:
 * for csb_store_get() the caller (release with csb_record_clear()); for callbacks and
 * csb_changes, the store, valid until the callback returns / csb_changes_clear(). */
typedef struct csb_record {
	uint8_t *key;
	size_t key_len;
	uint8_t *value; /* NULL and 0 for a tombstone */
	size_t value_len;
	uint64_t seq;      /* the source module's seq of this version */
	uint64_t mtime_ms; /* wall clock of the write, ms since the epoch */
	bool tombstone;
} csb_record;

typedef struct csb_store_opts {
	uint64_t map_size; /* initial map size in bytes; 0 = 64 MiB. Grows by doubling on
	                    * MDB_MAP_FULL; CSB_ENOSPC only when the disk cannot hold it. */
	bool no_sync;      /* MDB_NOSYNC: for benchmarks of the floor only; never in daemons */
} csb_store_opts;

/* Opens (creating if needed) the store in directory dir (which must exist). A new store
 * gets a random lineage. opts may be NULL. Thread-safe handle: any thread may call any
 * function below concurrently; writes are serialised inside.
 * Returns CSB_OK, CSB_EINVAL, CSB_ENOMEM, CSB_EIO, CSB_ECORRUPT (not a csb store or a
 * newer schema), CSB_EBUSY (another process holds it). */
csb_err csb_store_open(const char *dir, const csb_store_opts *opts, csb_store **out);

/* Closes the environment and frees s. No call may be running on s. NULL is a no-op. */
void csb_store_close(csb_store *s);

/* The store's lineage (out). CSB_OK or CSB_EIO. */
csb_err csb_store_lineage(csb_store *s, csb_lineage *out);

/* Mints a new lineage (after a restore or a promotion), so that importers re-seed. */
csb_err csb_store_lineage_renew(csb_store *s, csb_lineage *out);

void csb_record_clear(csb_record *r);

/* Copies src (key and value, whoever owns them) into *out, owned by the caller (release
 * with csb_record_clear()). CSB_OK or CSB_ENOMEM. */
csb_err csb_record_copy(const csb_record *src, csb_record *out);

/* ---- The pool's own modules ------------------------------------------------------- */

typedef enum csb_op {
	CSB_OP_PUT,
	CSB_OP_DELETE,
} csb_op;

typedef struct csb_write {
	csb_op op;
	const void *key;
	size_t key_len;
	const void *value; /* CSB_OP_PUT only */
	size_t value_len;
} csb_write;

/* Applies n writes to module in ONE durable transaction: each write bumps the module's
 * seq, stores the record {seq, mtime, value | tombstone} and moves the key's change-log
 * entry to the new seq (the log holds exactly one entry per key: its newest version), and
 * updates the module digest. A delete of an absent key writes nothing. All or nothing.
 * last_seq (may be NULL) gets the module's high seq after the commit.
 * Returns CSB_OK, CSB_EINVAL (empty or oversized key or module, n == 0), CSB_ENOSPC,
 * CSB_EIO, CSB_ENOMEM, CSB_ECORRUPT (a stored record or the change log is damaged). */
csb_err csb_store_write(csb_store *s, const char *module, const csb_write *w, size_t n,
                        uint64_t *last_seq);

/* One put / one delete. Delete returns CSB_ENOTFOUND when the key has no live value. */
csb_err csb_store_put(csb_store *s, const char *module, const void *key, size_t key_len,
                      const void *value, size_t value_len, uint64_t *seq);
csb_err csb_store_delete(csb_store *s, const char *module, const void *key, size_t key_len,
                         uint64_t *seq);

/* ---- Reads: own data (source == NULL) or the backup copy of source's module -------- */

/* Reads one live record into *out (caller frees with csb_record_clear()).
 * CSB_ENOTFOUND when absent or a tombstone. */
csb_err csb_store_get(csb_store *s, const char *source, const char *module, const void *key,
                      size_t key_len, csb_record *out);

/* Part of one live record's value: bytes [offset, offset + max) (fewer at its end; none
 * when offset is at or past it) into out->value and out->value_len, the whole value's
 * length into *whole_len; key, seq and mtime as csb_store_get(). What a chunk of a large
 * value needs, without copying the rest of it. Errors as csb_store_get(). */
csb_err csb_store_get_part(csb_store *s, const char *source, const char *module,
                           const void *key, size_t key_len, uint64_t offset, size_t max,
                           csb_record *out, uint64_t *whole_len);

/* A value holding text (JSON documents of the CMS): *out is a malloc'ed NUL-terminated
 * copy (caller frees). Errors as csb_store_get(). */
csb_err csb_store_get_string(csb_store *s, const char *source, const char *module,
                             const char *key, char **out);

/* Called per record in key order; the record is valid only during the call.
 * Return false to stop early. */
typedef bool (*csb_record_fn)(void *ctx, const csb_record *r);

/* Lists live records whose key starts with prefix (plen may be 0), in key order, starting
 * after key `after` (NULL: from the start), at most limit (0 = no limit), in one read
 * transaction. CSB_OK (also for an unknown module: nothing listed), CSB_EINVAL. */
csb_err csb_store_list(csb_store *s, const char *source, const char *module,
                       const void *prefix, size_t plen, const void *after, size_t after_len,
                       size_t limit, csb_record_fn fn, void *ctx);

/* Walks live records with keys in range r (see csb_range below; NULL: every key), in key
 * order, starting after key `after` when given (exclusive; for paging), at most limit
 * (0 = no limit), in one read transaction. Callback rules as for csb_store_list().
 * CSB_OK (also for an unknown module), CSB_EINVAL. */
struct csb_range;
csb_err csb_store_scan(csb_store *s, const char *source, const char *module,
                       const struct csb_range *r, const void *after, size_t after_len,
                       size_t limit, csb_record_fn fn, void *ctx);

/* A consistent summary of a module: high seq (own data) or applied seq (copy), live record
 * count and set digest, all from one read transaction. O(1): kept current by each write. */
typedef struct csb_module_info {
	uint64_t high_seq;
	uint64_t count;
	csb_digest digest;
	uint64_t horizon; /* own data: log entries at or below this seq were pruned */
} csb_module_info;
csb_err csb_store_module_info(csb_store *s, const char *source, const char *module,
                              csb_module_info *out);

/* ---- Delta export ------------------------------------------------------------------ */

typedef struct csb_changes {
	csb_record *records; /* the newest version of each key changed after after_seq,
	                      * in seq order, tombstones included; owned by the struct */
	size_t count;
	size_t bytes;        /* sum of key_len + value_len over records */
	uint64_t last_seq;   /* everything up to this seq is covered by records */
	uint64_t high_seq;   /* the module's high seq in the same read transaction */
	csb_lineage lineage;
	csb_digest digest;   /* the module digest at high_seq */
	uint64_t log_entries_read; /* log entries the walk touched (== count: none skipped;
	                            * count + 1 when max_bytes ended the walk at a record
	                            * that did not fit) */
	void *arena_;        /* internal */
} csb_changes;

/* Walks module's change log after after_seq in one read transaction and returns at most
 * max_records records (0 = no limit) and about max_bytes (0 = no limit; the first record
 * is always returned whole, however large). The cost follows the records returned, never
 * the store size. CSB_OK (count 0 when nothing is new), CSB_ELOGGONE when after_seq is
 * not 0 and below the pruned horizon (the importer must re-seed; an importer starting
 * from 0 has an empty copy and needs no tombstones), CSB_ENOMEM, CSB_EIO. */
csb_err csb_store_changes(csb_store *s, const char *module, uint64_t after_seq,
                          size_t max_records, size_t max_bytes, csb_changes *out);
void csb_changes_clear(csb_changes *c);

/* ---- Import into a backup copy ----------------------------------------------------- */

/* The import cursor of (source, module): what has been applied, from which lineage, and
 * the copy's set digest. Written in the same transaction as the records it covers. */
typedef struct csb_cursor {
	csb_lineage lineage;
	uint64_t applied_seq;
	csb_digest digest; /* of the copy after applied_seq */
	uint64_t count;    /* live records in the copy */
	uint64_t applied_records; /* records ever applied by non-reseed batches: committed with
	                           * the cursor, so a batch applied twice would show */
} csb_cursor;

/* CSB_OK, or CSB_ENOTFOUND when nothing was ever imported for (source, module). */
csb_err csb_store_cursor_get(csb_store *s, const char *source, const char *module,
                             csb_cursor *out);

typedef struct csb_batch_hdr {
	csb_lineage lineage; /* the source store's lineage */
	uint64_t after_seq;  /* the batch starts after this seq */
	uint64_t last_seq;   /* and covers everything up to this one */
	bool reseed;         /* a differential re-seed: skip the cursor checks and set the
	                      * cursor to {lineage, last_seq} */
} csb_batch_hdr;

/* Applies n records (puts and tombstones) to the copy of (source, module) and advances the
 * cursor to {hdr->lineage, hdr->last_seq}, in ONE durable transaction.
 * Checks (unless hdr->reseed): with no cursor, after_seq must be 0; a lineage different
 * from the cursor's gives CSB_ELINEAGE; last_seq <= applied_seq is a batch already
 * applied: CSB_OK and nothing changes; after_seq != applied_seq gives CSB_ESEQ.
 * A tombstone deletes the key from the copy. cursor_out (may be NULL) gets the new cursor.
 * Returns CSB_OK, CSB_ELINEAGE, CSB_ESEQ, CSB_EINVAL, CSB_ENOSPC, CSB_EIO. */
csb_err csb_store_apply(csb_store *s, const char *source, const char *module,
                        const csb_batch_hdr *hdr, const csb_record *records, size_t n,
                        csb_cursor *cursor_out);

/* Deletes the copy of (source, module) and its cursor in one transaction. */
csb_err csb_store_copy_drop(csb_store *s, const char *source, const char *module);

/* ---- Range digests (verify, differential re-seed) --------------------------------- */

/* A half-open key range [lo, hi). lo == NULL: from the first key; hi == NULL: to the end. */
typedef struct csb_range {
	const uint8_t *lo;
	size_t lo_len;
	const uint8_t *hi;
	size_t hi_len;
} csb_range;

/* Digests of n ranges (ascending, non-overlapping) in one read transaction and one pass.
 * digests[i] and counts[i] (counts may be NULL) receive the sum and the number of live
 * records in ranges[i]. CSB_OK, CSB_EINVAL. */
csb_err csb_store_digest_ranges(csb_store *s, const char *source, const char *module,
                                const csb_range *ranges, size_t n, csb_digest *digests,
                                uint64_t *counts);

/* A sub-range with its digest; lo/hi owned by the csb_split. */
typedef struct csb_split_part {
	uint8_t *lo;
	size_t lo_len; /* lo == NULL: open */
	uint8_t *hi;
	size_t hi_len; /* hi == NULL: open */
	csb_digest digest;
	uint64_t count;
} csb_split_part;

typedef struct csb_split {
	csb_split_part *parts;
	size_t count;
	void *arena_;
} csb_split;

/* Splits range r into at most `parts` consecutive sub-ranges holding about equal numbers
 * of live records, covering r exactly (the first starts at r->lo, the last ends at r->hi),
 * each with its digest and count, in one read transaction. An empty range gives one part.
 * CSB_OK, CSB_EINVAL (parts == 0), CSB_ENOMEM. */
csb_err csb_store_digest_split(csb_store *s, const char *source, const char *module,
                               const csb_range *r, unsigned parts, csb_split *out);
void csb_split_clear(csb_split *sp);

/* ---- Retention --------------------------------------------------------------------- */

/* Removes tombstones of module (and their log entries) with seq <= acked_seq, which every
 * importer has acknowledged, and raises the module's horizon to acked_seq. Live records'
 * log entries are never pruned (one per key). *pruned (may be NULL) gets how many went.
 * CSB_OK, CSB_EINVAL (acked_seq above the high seq), CSB_EIO. */
csb_err csb_store_prune(csb_store *s, const char *module, uint64_t acked_seq, uint64_t *pruned);

/* ---- Small persistent state -------------------------------------------------------- */

/* Persistent named counters (e.g. "export.records:UserServices.PresenceFocus"), 0 when
 * never set. add is its own durable transaction. */
csb_err csb_store_counter_add(csb_store *s, const char *name, uint64_t delta);
csb_err csb_store_counter_get(csb_store *s, const char *name, uint64_t *out);

/* Named opaque blobs in `meta` (an agent's settings, the epoch it was fenced with).
 * get: *out is malloc'ed (caller frees), CSB_ENOTFOUND when absent. */
csb_err csb_store_meta_put(csb_store *s, const char *name, const void *value, size_t len);
csb_err csb_store_meta_get(csb_store *s, const char *name, void **out, size_t *len);

/* Names of the modules with own data (source == NULL) or of copies from source, sorted.
 * *names is one malloc'ed array of strings (free(*names) frees all). */
csb_err csb_store_modules(csb_store *s, const char *source, char ***names, size_t *n);

/* Every backup copy held, as "<source>:<module>" strings, sorted; allocated as above. */
csb_err csb_store_copies(csb_store *s, char ***names, size_t *n);

/* Every quarantine set held, as "<module>:<epoch>" strings (module may be a served name),
 * sorted; allocated as above. */
csb_err csb_store_orphan_sets(csb_store *s, char ***names, size_t *n);

/* ---- Failover (DESIGN.md §4): guards, promotion, follow, fold, quarantine ---------------- */

/* A check run inside every write transaction of own modules, just before it commits
 * (after the guard): false refuses the write with CSB_EREADONLY. A lease: a pool that has
 * not heard that it still holds its role for too long stops taking writes. fn NULL: none.
 * Set before writes start. */
typedef bool (*csb_store_commit_check_fn)(void *ctx);
void csb_store_set_commit_check(csb_store *s, csb_store_commit_check_fn fn, void *ctx);

/* A module's write guard: who may write it and at which epoch. No guard: writable, epoch 0.
 * Every write's transaction reads it, so a fence that commits orders every later write
 * after it (CSB_EREADONLY). */
typedef struct csb_guard {
	bool set;
	bool writable;
	uint64_t epoch;
} csb_guard;

/* Sets module's guard (writable or fenced) at epoch, in one transaction that also reads the
 * module's final position (final, may be NULL). CSB_ESEQ when the guard already has a higher
 * epoch (epochs never go down). Idempotent. */
csb_err csb_store_guard_set(csb_store *s, const char *module, bool writable, uint64_t epoch,
                            csb_module_info *final);
csb_err csb_store_guard_get(csb_store *s, const char *module, csb_guard *out);

/* The own-module name under which this store serves source's module after a failover
 * ("<module>@<source>"; a hash stands for a source too long), CSB_MODULE_MAX + 1 bytes.
 * A module name with '@' is served data: it takes writes only while its guard exists. */
csb_err csb_store_served_name(const char *source, const char *module, char *out);

/* Promotes the copy of (source, module) into own data under its served name, writable at
 * epoch, in one transaction: the records keep their seqs (each gets its log entry, so a
 * follower starting from nothing gets them all), the module's seq continues after the
 * copy's applied seq (the fork), and the copy is frozen (csb_store_apply() refuses it)
 * until csb_store_fold(). expect_seq (UINT64_MAX: any) and expect_digest (NULL: any) must
 * match the cursor: CSB_ESEQ, CSB_ECORRUPT. Done before at this epoch: CSB_OK with the
 * served module's info; at a higher epoch: CSB_ESEQ. CSB_ENOTFOUND: no copy. */
csb_err csb_store_promote(csb_store *s, const char *source, const char *module, uint64_t epoch,
                          uint64_t expect_seq, const csb_digest *expect_digest,
                          csb_module_info *out);


/* A coordinator taking over the CMS (Invoke-CsManagementServerFailover): the copy of
 * (source, module) becomes the store's own module in ONE transaction — every record keeps
 * its seq and gets its log entry, the module's high seq, count and digest are the copy's
 * cursor's, the copy and its cursor are dropped, and the store mints a new lineage (*lineage)
 * so that importers follow by a differential re-seed. The module's earlier data is dropped.
 * CSB_ENOTFOUND without such a copy. */
csb_err csb_store_adopt(csb_store *s, const char *source, const char *module,
                        csb_module_info *out, csb_lineage *lineage);

/* Failback on the serving side: the served changes after the fork go back into the copy of
 * (source, module), whose cursor becomes {lineage, served high seq}; the served module and
 * its guard are dropped, the copy unfrozen. One transaction; *moved (may be NULL) counts the
 * records moved. Nothing served (folded before): CSB_OK, moved 0. */
csb_err csb_store_fold(csb_store *s, const char *source, const char *module,
                       const csb_lineage *lineage, uint64_t *moved, csb_cursor *out);

/* The pool whose data was served here became the primary without receiving the served
 * changes (a failback in -DisasterMode, or a failover aborted after the promotion): the
 * served changes after the fork go to the quarantine orphan:<served name>:<epoch>, the
 * served module is dropped and the copy, still at the fork, follows the primary again.
 * *orphans (may be NULL) counts them. Nothing served: CSB_OK, 0. */
csb_err csb_store_discard_served(csb_store *s, const char *source, const char *module,
                                 uint64_t epoch, uint64_t *orphans);

/* The failed pool follows the serving copy: applies a batch of it to own module, keeping
 * the records' seqs and mtimes (the serving side's seqs continue ours from the fork), with
 * the follow cursor, in one transaction. The module must be fenced (CSB_EBUSY when
 * writable). hdr->after_seq must equal the module's high seq (CSB_ESEQ: own data moved past
 * the fork, see csb_store_rewind()); a batch applied before is CSB_OK and changes nothing. */
csb_err csb_store_follow(csb_store *s, const char *module, const csb_batch_hdr *hdr,
                         const csb_record *records, size_t n, csb_cursor *out);
csb_err csb_store_follow_cursor(csb_store *s, const char *module, csb_cursor *out);

/* Moves own records of module written after fork_seq into the quarantine of epoch
 * (orphan:<module>:<epoch>, kept as written), drops them and their log entries and sets the
 * high seq back to fork_seq. *orphans (may be NULL) counts them. */
csb_err csb_store_rewind(csb_store *s, const char *module, uint64_t fork_seq, uint64_t epoch,
                         uint64_t *orphans);

/* After a rewind: puts back the serving side's versions (seq at or below the high seq) of
 * keys that have no record now. */
csb_err csb_store_restore_keys(csb_store *s, const char *module, const csb_record *records,
                               size_t n, size_t *restored);

/* Walks the quarantine of module from epoch (fn may be NULL; limit 0: all); *count (may be
 * NULL) gets its size. */
/* Drops the quarantine set orphan:<module>:<epoch> (its records were re-applied). None:
 * CSB_OK. */
csb_err csb_store_orphans_drop(csb_store *s, const char *module, uint64_t epoch);
csb_err csb_store_orphans(csb_store *s, const char *module, uint64_t epoch, size_t limit,
                          csb_record_fn fn, void *ctx, uint64_t *count);

#endif
