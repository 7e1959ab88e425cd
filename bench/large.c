/* Row 10: large values (conference content: decks, recordings, handouts), the case where
 * a value is larger than the agents' chunk size and travels in chunks. A pair of its own
 * gets --large-files values of --large-size bytes (the conference kind of value); the
 * initial copy is timed from B's start as in measurement 1, then --large-changed of them
 * are rewritten and one SyncNow brings B up to date. The same files as plain files in a
 * folder go through a local rsync (no encryption, no durable commit) for comparison: its
 * first run to an empty folder, then --no-whole-file after the same files changed. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench/bench.h"
#include "common/clock.h"

/* Writes file k of the run (version ver) into dir; false on an I/O error. A rewrite
 * (ver > 1) is dated a minute later, so that rsync's quick check (size and time) sees the
 * change even within the second of the first copy. */
static bool file_write(const char *dir, uint64_t k, uint32_t ver, uint8_t *buf, size_t size)
{
	char path[BENCH_PATH + 48], key[BENCH_KEY_MAX];
	struct timespec ts[2];
	FILE *f;
	bool ok;

	bench_key(key, k);
	snprintf(path, sizeof(path), "%.1000s/%s", dir, key);
	bench_value_of(CSB_VALUE_CONFERENCE, buf, size, k, ver);
	if ((f = fopen(path, "wb")) == NULL)
		return false;
	ok = fwrite(buf, 1, size, f) == size;
	if (fclose(f) != 0 || !ok)
		return false;
	if (ver == 1)
		return true;
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec += 60;
	ts[1] = ts[0];
	return utimensat(AT_FDCWD, path, ts, 0) == 0;
}

static void rsync_side(const struct bench_opts *o, struct bench_env *e, const uint64_t *changed,
                       struct bench_large *out)
{
	char src[BENCH_PATH + 16], dst[BENCH_PATH + 16];
	uint8_t *buf = malloc(o->large_size);
	bool ok = buf != NULL;

	snprintf(src, sizeof(src), "%.1000s/large-src", e->dir);
	snprintf(dst, sizeof(dst), "%.1000s/large-dst", e->dir);
	ok = ok && mkdir(src, 0700) == 0 && mkdir(dst, 0700) == 0;
	for (uint64_t k = 0; ok && k < o->large_files; k++)
		ok = file_write(src, k, 1, buf, o->large_size);
	ok = ok && bench_rsync("", src, dst, &out->rsync_full, out->rsync_err,
	                       sizeof(out->rsync_err));
	for (uint64_t i = 0; ok && i < o->large_changed; i++)
		ok = file_write(src, changed[i], 2, buf, o->large_size);
	ok = ok && bench_rsync("--no-whole-file", src, dst, &out->rsync_delta, out->rsync_err,
	                       sizeof(out->rsync_err));
	if (!ok && out->rsync_err[0] == '\0')
		snprintf(out->rsync_err, sizeof(out->rsync_err), "could not write the files");
	out->rsync_ok = ok;
	free(buf);
}

void bench_large_run(const struct bench_opts *o, struct bench_env *e, struct bench_large *out,
                     unsigned *sigkilled)
{
	int a = bench_env_add_pair(e), b = a + 1;
	uint64_t *changed = calloc(o->large_changed ? o->large_changed : 1, sizeof(*changed));
	char err[CSB_RPC_ERROR_MAX] = "";
	struct bench_status sa;
	struct bench_tcp w0 = {0}, w1 = {0};
	struct bench_sync s;
	csb_rpc_client *ca;
	uint64_t t0, done;
	csb_err rv;

	if (changed == NULL)
		bench_fail("large values: out of memory");
	bench_pick(o->seed, 3000, o->large_files, o->large_changed, changed);
	ca = bench_client(e, a);
	bench_agent_spawn(e, a);
	bench_agent_wait_ready(e, a, ca, 60000);
	bench_note("large values: loading %llu values of %zu bytes into %s",
	           (unsigned long long)o->large_files, o->large_size, e->ag[a].pool);
	t0 = csb_mono_us();
	/* Four values per Write (20 MiB at 5 MiB): well inside a message's bound. */
	rv = bench_load(ca, CSB_VALUE_CONFERENCE, 0, o->large_files, o->large_size, 1, 4, 1, 0,
	                &done);
	if (rv != CSB_OK)
		bench_fail("large values: loading %s: %s", e->ag[a].pool, csb_strerror(rv));
	out->load_s = (double)(csb_mono_us() - t0) / 1e6;
	if (bench_status(ca, &sa, err) != CSB_OK)
		bench_fail("large values: Status of %s: %s", e->ag[a].pool, err);

	out->copy_s = bench_backup_start(e, b, sa.high_seq);
	out->wire_ok = bench_tcp_bytes(e->ag[b].pid, e->ag[a].port, &w0) == CSB_OK;
	out->copy_wire = w0.rx;
	bench_note("large values: initial copy in %.2f s", out->copy_s);

	if (bench_sync_now(ca, 600000, &s, err) != CSB_OK)
		bench_fail("large values: SyncNow before the changes: %s", err);
	out->wire_ok = out->wire_ok && bench_tcp_bytes(e->ag[b].pid, e->ag[a].port, &w0) == CSB_OK;
	rv = bench_write_keys(ca, CSB_VALUE_CONFERENCE, changed, o->large_changed, o->large_size, 2,
	                      NULL, err);
	if (rv != CSB_OK)
		bench_fail("large values: writing the changes: %s", err[0] ? err : csb_strerror(rv));
	t0 = csb_mono_us();
	if (bench_sync_now(ca, 600000, &s, err) != CSB_OK)
		bench_fail("large values: SyncNow after the changes: %s", err);
	out->incr_s = (double)(csb_mono_us() - t0) / 1e6;
	out->wire_ok = out->wire_ok && bench_tcp_bytes(e->ag[b].pid, e->ag[a].port, &w1) == CSB_OK &&
	               w1.rx >= w0.rx;
	out->incr_wire = out->wire_ok ? w1.rx - w0.rx : 0;
	bench_note("large values: %llu changed synced in %.3f s",
	           (unsigned long long)o->large_changed, out->incr_s);
	csb_rpc_client_close(ca);
	*sigkilled += bench_pair_discard(e, a);

	rsync_side(o, e, changed, out);
	out->files = o->large_files;
	out->size = o->large_size;
	out->changed = o->large_changed;
	out->done = true;
	free(changed);
}
