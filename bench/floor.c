/* The storage floor, in one process through storage/ (the store the agents run on), with
 * the benchmark's own records. Two paths, as the agents use them: the primary's write
 * (csb_store_write: the record, its change-log entry, the module digest) and the backup
 * copy's apply (csb_store_apply: the record and the import cursor) — the least any sync
 * must do, since B commits the changed records durably. Bulk loads of the store in ONE
 * durable transaction each; then, between the syncs so that both see the same machine,
 * durable overwrites of exactly the change sets the agents sync; at the end the same
 * overwrites without the fsync, to show what the disk flush costs. */
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/bench.h"
#include "common/clock.h"
#include "storage/store.h"

#define FLOOR_SOURCE "floor.source"

/* Records first..first+n-1 (or keys[i] when keys is not NULL) at version ver, both as
 * writes (the primary's path) and as records (the copy's path, seqs from seq0 + 1). */
struct records {
	csb_write *w;
	csb_record *rec;
	char (*keys)[BENCH_KEY_MAX];
	uint8_t *vals;
	size_t n;
};

static void records_free(struct records *r)
{
	free(r->w);
	free(r->rec);
	free(r->keys);
	free(r->vals);
}

static void records_make(struct records *r, const uint64_t *keys, uint64_t first, size_t n,
                         size_t value_size, uint32_t ver, uint64_t seq0)
{
	uint64_t now = csb_now_ms();

	r->n = n;
	r->w = calloc(n, sizeof(*r->w));
	r->rec = calloc(n, sizeof(*r->rec));
	r->keys = calloc(n, BENCH_KEY_MAX);
	r->vals = malloc(n * (value_size ? value_size : 1));
	if (!r->w || !r->rec || !r->keys || !r->vals)
		bench_fail("out of memory for %zu records", n);
	for (size_t i = 0; i < n; i++) {
		uint64_t k = keys ? keys[i] : first + i;
		uint8_t *v = r->vals + i * value_size;
		size_t klen = bench_key(r->keys[i], k);

		bench_value(v, value_size, k, ver);
		r->w[i] = (csb_write){CSB_OP_PUT, r->keys[i], klen, v, value_size};
		r->rec[i] = (csb_record){.key = (uint8_t *)r->keys[i], .key_len = klen, .value = v,
		                         .value_len = value_size, .seq = seq0 + 1 + i,
		                         .mtime_ms = now};
	}
}

struct bench_floor_store {
	const struct bench_opts *o;
	char dir[BENCH_PATH];
	uint64_t n;       /* records in the store (and in its copy) */
	uint64_t applied; /* the copy's cursor */
	csb_store *s;
};

/* One durable transaction of the primary's path; ms. */
static double timed_write(struct bench_floor_store *fs, const struct records *r)
{
	uint64_t t0 = csb_mono_us(), seq;
	csb_err rv = csb_store_write(fs->s, BENCH_MODULE, r->w, r->n, &seq);

	if (rv != CSB_OK)
		bench_fail("floor: store write of %zu records: %s", r->n, csb_strerror(rv));
	return (double)(csb_mono_us() - t0) / 1000.0;
}

/* One durable transaction of the copy's path (records and cursor); ms. */
static double timed_apply(struct bench_floor_store *fs, const struct records *r)
{
	csb_batch_hdr hdr = {.after_seq = fs->applied, .last_seq = fs->applied + r->n};
	uint64_t t0 = csb_mono_us();
	csb_cursor cur;
	csb_err rv;

	memset(hdr.lineage.b, 6, sizeof(hdr.lineage.b));
	rv = csb_store_apply(fs->s, FLOOR_SOURCE, BENCH_MODULE, &hdr, r->rec, r->n, &cur);
	if (rv != CSB_OK)
		bench_fail("floor: store apply of %zu records: %s", r->n, csb_strerror(rv));
	fs->applied = cur.applied_seq;
	return (double)(csb_mono_us() - t0) / 1000.0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The bulk loads: one durable transaction per path when n fits one chunk (the limits of
 * 6a), or one per million records (to set up a big floor store; not reported). */
struct bench_floor_store *bench_floor_open(const struct bench_opts *o, const char *dir,
                                           uint64_t n, struct bench_floor *out)
{
	struct bench_floor_store *fs = calloc(1, sizeof(*fs));
	csb_store_opts so = {.map_size = o->map_size};
	uint64_t chunk = n > o->records ? 1000000 : n;
	char path[BENCH_PATH + 16];
	csb_err rv;

	if (fs == NULL)
		bench_fail("out of memory");
	fs->o = o;
	fs->n = n;
	snprintf(fs->dir, sizeof(fs->dir), "%s", dir);
	if (mkdir(dir, 0700) != 0)
		bench_fail("mkdir %s: %s", dir, strerror(errno));
	if ((rv = csb_store_open(dir, &so, &fs->s)) != CSB_OK)
		bench_fail("floor: cannot open a store in %s: %s", dir, csb_strerror(rv));
	out->bulk_s = out->bulk_apply_s = 0;
	for (uint64_t first = 0; first < n; first += chunk) {
		struct records all;

		records_make(&all, NULL, first, n - first < chunk ? n - first : chunk, o->value_size,
		             1, fs->applied);
		out->bulk_s += timed_write(fs, &all) / 1000.0;
		out->bulk_apply_s += timed_apply(fs, &all) / 1000.0;
		records_free(&all);
	}
	snprintf(path, sizeof(path), "%s/data.mdb", fs->dir);
	out->store_bytes = bench_file_size(path);
	return fs;
}

void bench_floor_overwrite(struct bench_floor_store *fs, unsigned set, uint32_t ver,
                           struct bench_floor *out)
{
	const struct bench_opts *o = fs->o;
	uint64_t *keys = calloc(o->changes, sizeof(*keys));
	struct records r;

	if (keys == NULL || out->n >= 64)
		bench_fail("floor: out of memory or too many sets");
	bench_pick(o->seed, set, fs->n, o->changes, keys);
	records_make(&r, keys, 0, o->changes, o->value_size, ver, fs->applied);
	out->apply_ms[out->n] = timed_apply(fs, &r);
	out->write_ms[out->n] = timed_write(fs, &r);
	out->n++;
	records_free(&r);
	free(keys);
}

void bench_floor_finish(struct bench_floor_store *fs, unsigned sets, struct bench_floor *out)
{
	csb_store_opts so = {.map_size = fs->o->map_size, .no_sync = true};
	struct bench_floor ns = {0};
	csb_err rv;

	csb_store_close(fs->s);
	if (sets > 0) {
		if ((rv = csb_store_open(fs->dir, &so, &fs->s)) != CSB_OK)
			bench_fail("floor: cannot reopen the store: %s", csb_strerror(rv));
		for (unsigned i = 0; i < sets && i < 64; i++)
			bench_floor_overwrite(fs, i, 200 + i, &ns);
		out->apply_nosync_ms = bench_median(ns.apply_ms, ns.n);
		out->write_nosync_ms = bench_median(ns.write_ms, ns.n);
		csb_store_close(fs->s);
	}
	nftw(fs->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(fs);
}
