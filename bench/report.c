/* The report: a line describing the machine, one markdown table of every measurement with
 * its ratio to the comparison it answers, csbackup's rows beside Redis's measured in the
 * same run, the issues' targets marked met or missed, and how each number was taken.
 * Sizes use SI units (1 MB = 10^6 bytes). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_percentile(double *sorted, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)ceil(p / 100.0 * (double)n);
	return sorted[i == 0 ? 0 : i - 1 < n ? i - 1 : n - 1];
}

double bench_median(const double *v, size_t n)
{
	double tmp[64];

	if (n == 0)
		return 0;
	if (n > 64)
		n = 64;
	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), cmp_double);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

static double median_u64(const uint64_t *v, size_t n)
{
	double d[64];

	for (size_t i = 0; i < n && i < 64; i++)
		d[i] = (double)v[i];
	return bench_median(d, n);
}

/* Formatted numbers live in a ring of buffers, so that one fprintf can hold many. */
static char *ring(void)
{
	static char bufs[32][48];
	static unsigned next;

	return bufs[next++ % 32];
}

/* 1234567 -> "1,234,567" */
static const char *count(uint64_t v)
{
	char tmp[32], *buf = ring();
	int len = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v), o = 0;

	for (int i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

static const char *bytes(double b)
{
	char *buf = ring();

	if (b >= 1e9)
		sprintf(buf, "%.2f GB", b / 1e9);
	else if (b >= 1e6)
		sprintf(buf, "%.1f MB", b / 1e6);
	else if (b >= 1e3)
		sprintf(buf, "%.1f kB", b / 1e3);
	else
		sprintf(buf, "%.0f B", b);
	return buf;
}

static const char *ms(double v)
{
	char *buf = ring();

	if (v >= 10000)
		sprintf(buf, "%.1f s", v / 1000);
	else if (v >= 100)
		sprintf(buf, "%.0f ms", v);
	else
		sprintf(buf, "%.1f ms", v);
	return buf;
}

static const char *ratio(double x)
{
	char *buf = ring();

	if (!isfinite(x) || x <= 0)
		return strcpy(buf, "n/a");
	sprintf(buf, x >= 100 ? "%.0f×" : x >= 10 ? "%.1f×" : "%.2f×", x);
	return buf;
}

static const char *percent(double x)
{
	char *buf = ring();

	if (!isfinite(x))
		return strcpy(buf, "n/a");
	sprintf(buf, "%.0f%%", 100 * x);
	return buf;
}

static const char *fs_name(long type)
{
	switch ((unsigned long)type) {
	case 0xEF53: return "ext4";
	case 0x58465342: return "xfs";
	case 0x9123683E: return "btrfs";
	case 0x01021994: return "tmpfs";
	case 0x794c7630: return "overlayfs";
	case 0x2FC12FC1: return "zfs";
	default: return "other fs";
	}
}

static void machine(FILE *f, const struct bench_opts *o, const struct bench_results *r)
{
	char line[512], cpu[256] = "unknown CPU", when[64];
	unsigned long long mem_kb = 0;
	struct utsname u;
	struct statfs sf;
	time_t now = time(NULL);
	FILE *p;

	uname(&u);
	if ((p = fopen("/proc/cpuinfo", "r")) != NULL) {
		while (fgets(line, sizeof(line), p))
			if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
				snprintf(cpu, sizeof(cpu), "%s", strchr(line, ':') + 2);
				cpu[strcspn(cpu, "\n")] = '\0';
				break;
			}
		fclose(p);
	}
	if ((p = fopen("/proc/meminfo", "r")) != NULL) {
		while (fgets(line, sizeof(line), p))
			if (sscanf(line, "MemTotal: %llu kB", &mem_kb) == 1)
				break;
		fclose(p);
	}
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&now));
	fprintf(f, "Machine: %s, %ld CPUs (%s), %.1f GiB RAM, Linux %s, stores on %s; load "
	        "average %.2f at the start, %.2f at the end (other work shares this machine) — "
	        "%s.\n\n",
	        u.machine, sysconf(_SC_NPROCESSORS_ONLN), cpu, (double)mem_kb / (1 << 20),
	        u.release, statfs(o->tmp ? o->tmp : "/tmp", &sf) == 0 ? fs_name(sf.f_type) : "?",
	        r->load_start[0], r->load_end[0], when);
}

static const char *verdict(bool met)
{
	return met ? "met" : "**missed**";
}

/* A median with its range. */
struct spread {
	double med, lo, hi;
};

static struct spread spread_of(const double *v, unsigned n)
{
	struct spread sp = {bench_median(v, n), n ? v[0] : 0, n ? v[0] : 0};

	for (unsigned i = 1; i < n; i++) {
		sp.lo = v[i] < sp.lo ? v[i] : sp.lo;
		sp.hi = v[i] > sp.hi ? v[i] : sp.hi;
	}
	return sp;
}

struct derived {
	struct spread floor;      /* 6b: the copy's durable apply of a change set */
	double wfloor_ms;         /* 6b': the primary's durable write of it */
	double big_floor_ms, big_wfloor_ms; /* 6f */
	double rec_bytes;         /* key + value of one record */
	double copy_mbps, bulk_mbps, bulk_write_mbps, limit_mbps;
	double sync_ms, big_ms, wire, exported, payload;
	double rsync_x_time, rsync_x_bytes;
};

static void derive(const struct bench_opts *o, const struct bench_results *r, struct derived *d)
{
	char key[BENCH_KEY_MAX];
	double bytes_all;

	d->rec_bytes = (double)(bench_key(key, o->records - 1) + o->value_size);
	bytes_all = (double)o->records * d->rec_bytes;
	d->floor = spread_of(r->floor.apply_ms, r->floor.n);
	d->wfloor_ms = bench_median(r->floor.write_ms, r->floor.n);
	d->big_floor_ms = bench_median(r->big_floor.apply_ms, r->big_floor.n);
	d->big_wfloor_ms = bench_median(r->big_floor.write_ms, r->big_floor.n);
	d->copy_mbps = r->copy.copy_s > 0 ? bytes_all / r->copy.copy_s / 1e6 : 0;
	d->bulk_mbps = r->floor.bulk_apply_s > 0 ? bytes_all / r->floor.bulk_apply_s / 1e6 : 0;
	d->bulk_write_mbps = r->floor.bulk_s > 0 ? bytes_all / r->floor.bulk_s / 1e6 : 0;
	d->limit_mbps = r->nng_ok && r->nng_mbps < d->bulk_mbps ? r->nng_mbps : d->bulk_mbps;
	d->sync_ms = bench_median(r->small.sync_ms, r->small.n);
	d->big_ms = bench_median(r->big.sync_ms, r->big.n);
	d->wire = median_u64(r->small.wire_rx, r->small.n);
	d->exported = median_u64(r->small.exported, r->small.n);
	d->payload = (double)o->changes * d->rec_bytes;
	/* rsync against the median sync (the row also shows the very same change set's). */
	d->rsync_x_time = d->sync_ms > 0 ? r->rsync_delta.seconds * 1000 / d->sync_ms : 0;
	d->rsync_x_bytes = d->wire > 0 ? (double)r->rsync_delta.bytes_sent / d->wire : 0;
}

static void row_copy(FILE *f, const struct bench_opts *o, const struct bench_results *r,
                     const struct derived *d)
{

	fprintf(f, "| 1 | Initial copy A→B of %s records of %zu B (%s of keys and values; B started "
	        "after A was loaded, timed until B's imported seq = A's high seq) | %.2f s · %s "
	        "records/s · %.1f MB/s | %s the slower limit (%.1f MB/s) | ≥ 0.5× |\n",
	        count(o->records), o->value_size, bytes((double)o->records * d->rec_bytes),
	        r->copy.copy_s, count((uint64_t)((double)o->records / r->copy.copy_s)), d->copy_mbps,
	        ratio(d->copy_mbps / d->limit_mbps), d->limit_mbps);
	fprintf(f, "| 1a | … bytes on the wire A→B (TCP payload: TLS, envelopes, protobuf) | %s | "
	        "%s the keys and values | |\n",
	        r->copy.wire_ok ? bytes((double)r->copy.wire_rx) : "n/a",
	        ratio((double)r->copy.wire_rx / ((double)o->records * d->rec_bytes)));
	fprintf(f, "| 1b | Loading A through csb.Data/Write (%s records per call, %u calls at once; "
	        "group commit) | %.2f s · %s records/s | | |\n",
	        count(o->load_batch), o->load_threads, r->copy.load_s,
	        count((uint64_t)((double)o->records / r->copy.load_s)));
}

/* Rows n, nb, nc for one store size; floor_ms / wfloor_ms: the copy's and the primary's
 * floors of that size, named by floor_row ("6b" or "6f"). */
static void row_incr(FILE *f, const char *num, const struct bench_opts *o,
                     const struct bench_incr *inc, double floor_ms, double wfloor_ms,
                     const char *floor_row, const char *cmp, double cmp_ms, const char *target,
                     const struct derived *d)
{
	struct spread sp = spread_of(inc->sync_ms, inc->n);
	double wr = bench_median(inc->write_ms, inc->n);
	char extra[160] = "";

	if (cmp != NULL)
		snprintf(extra, sizeof(extra), "; %s %s", ratio(sp.med / cmp_ms), cmp);
	fprintf(f, "| %s | Incremental sync after %s random records of %s changed (one Write; "
	        "from its commit on A to SyncNow's return: B has applied them durably), median of %u "
	        "| %s (%s–%s) | %s the floor (%s)%s | %s |\n",
	        num, count(o->changes), count(inc->store_records), inc->n, ms(sp.med), ms(sp.lo),
	        ms(sp.hi), ratio(sp.med / floor_ms), floor_row, extra, target);
	fprintf(f, "| %sb | … bytes on the wire A→B (TCP payload) · B→A · packed batches "
	        "(ExportedBytesTotal Δ) · records sent, median | %s · %s · %s · %.0f | %s the "
	        "changed keys and values (%s) | %s |\n",
	        num, inc->wire_ok ? bytes(median_u64(inc->wire_rx, inc->n)) : "n/a",
	        inc->wire_ok ? bytes(median_u64(inc->wire_tx, inc->n)) : "n/a",
	        bytes(median_u64(inc->exported, inc->n)), median_u64(inc->records, inc->n),
	        ratio((inc->wire_ok ? median_u64(inc->wire_rx, inc->n)
	                            : median_u64(inc->exported, inc->n)) / d->payload),
	        bytes(d->payload), num[0] == '2' ? "≤ 1.5×" : "");
	fprintf(f, "| %sc | … the Write call of the changes on A (the primary's durable commit, "
	        "through RPC), median | %s | %s the primary's floor (%s′) | |\n",
	        num, ms(wr), ratio(wr / wfloor_ms), floor_row);
}

static void row_rsync(FILE *f, const struct bench_opts *o, const struct bench_results *r,
                      const struct derived *d)
{

	if (!r->rsync_ok) {
		fprintf(f, "| 4 | rsync --no-whole-file | n/a: %s | | |\n", r->rsync_err);
		return;
	}
	fprintf(f, "| 4 | `rsync -a --no-whole-file --stats` bringing a copy of A's LMDB folder "
	        "(%s) up to date after the same %s changes as the first sync of 2; the source is a "
	        "consistent snapshot of the running store by `mdb_copy` (%.2f s more) | %.2f s · %s "
	        "sent (literal %s, matched %s) | against the median sync of 2 (%s, %s on the wire): "
	        "%s faster (%s with the snapshot), %s fewer bytes; against the sync of the same "
	        "change set (%s): %s faster | ≥ 20× faster, ≥ 25× fewer bytes |\n",
	        bytes((double)r->rsync_delta.file_size), count(o->changes), r->rsync_snapshot_s,
	        r->rsync_delta.seconds, bytes((double)r->rsync_delta.bytes_sent),
	        bytes((double)r->rsync_delta.literal), bytes((double)r->rsync_delta.matched),
	        ms(d->sync_ms), bytes(d->wire), ratio(d->rsync_x_time),
	        ratio((r->rsync_delta.seconds + r->rsync_snapshot_s) * 1000 / d->sync_ms),
	        ratio(d->rsync_x_bytes), ms(r->small.sync_ms[0]),
	        ratio(r->rsync_delta.seconds * 1000 / r->small.sync_ms[0]));
	fprintf(f, "| 4b | `rsync -a` of the first snapshot to an empty folder (its first run) | %.2f s · "
	        "%s sent | initial copy (1): %s the time | |\n",
	        r->rsync_full.seconds, bytes((double)r->rsync_full.bytes_sent),
	        ratio(r->copy.copy_s / r->rsync_full.seconds));
	if (r->mdb_copy_ok)
		fprintf(f, "| 4c | `mdb_copy` of A's running store (%s) | %.2f s · %.0f MB/s | %s the "
		        "incremental sync (2) | |\n",
		        bytes((double)r->mdb_copy_bytes), r->mdb_copy_s,
		        (double)r->mdb_copy_bytes / r->mdb_copy_s / 1e6,
		        ratio(r->mdb_copy_s * 1000 / d->sync_ms));
}

static void row_lag(FILE *f, const struct bench_opts *o, const struct bench_results *r)
{
	const struct bench_lag *l = &r->lag;

	if (!r->lag_done)
		return;
	fprintf(f, "| 5 | Replication lag under %s writes/s for %.0f s (%u records per Write, "
	        "paced by the clock, %u writers), from the Write's return on A to B's Status "
	        "showing its seq (polled every %.2f ms) | p50 %s · p99 %s · max %s | achieved %s "
	        "records/s; Write latency p50 %s | p99 < 100 ms |\n",
	        count(o->lag_rate), o->lag_seconds, o->lag_batch, o->lag_threads, l->poll_ms,
	        ms(l->p50_ms), ms(l->p99_ms), ms(l->max_ms),
	        count((uint64_t)l->achieved_rate), ms(l->write_p50_ms));
	if (l->lost > 0 || l->late_p99_ms > 5)
		fprintf(f, "| 5b | … writes never seen on B · p99 lateness of a Write against its "
		        "schedule | %llu · %s | | |\n", (unsigned long long)l->lost,
		        ms(l->late_p99_ms));
}

static void row_floors(FILE *f, const struct bench_opts *o, const struct bench_results *r,
                       const struct derived *d)
{
	double n = (double)o->records;

	fprintf(f, "| 6a | Limit: bulk insert of the same %s records in ONE durable transaction, "
	        "in-process through storage/, as B stores them (a backup copy: records and "
	        "cursor) | %.2f s · %s records/s · %.1f MB/s | initial copy (1) reaches %s of it | "
	        "|\n",
	        count(o->records), r->floor.bulk_apply_s, count((uint64_t)(n / r->floor.bulk_apply_s)),
	        d->bulk_mbps, ratio(d->copy_mbps / d->bulk_mbps));
	fprintf(f, "| 6a′ | … as A stores them (the pool's own data: records, change log, digest) "
	        "| %.2f s · %s records/s · %.1f MB/s | loading A through RPC (1b) reaches %s of it "
	        "| |\n",
	        r->floor.bulk_s, count((uint64_t)(n / r->floor.bulk_s)), d->bulk_write_mbps,
	        ratio(r->floor.bulk_s / r->copy.load_s));
	fprintf(f, "| 6b | Limit, the floor of any incremental sync: the same %s records as each "
	        "sync of 2, applied to a backup copy of %s records in one durable transaction "
	        "(what B must commit), median | %s (%s–%s) | incremental sync (2): %s | |\n",
	        count(o->changes), count(o->records), ms(d->floor.med), ms(d->floor.lo),
	        ms(d->floor.hi), ratio(d->sync_ms / d->floor.med));
	fprintf(f, "| 6b′ | … the same records written as the pool's own data (A's commit: records, "
	        "change log, digest), median | %s | A's Write (2c): %s | |\n", ms(d->wfloor_ms),
	        ratio(bench_median(r->small.write_ms, r->small.n) / d->wfloor_ms));
	fprintf(f, "| 6c | … 6b and 6b′ without the fsync (MDB_NOSYNC): the puts and LMDB's "
	        "copy-on-write commit alone | %s · %s | the fsync is %s of 6b, %s of 6b′ | |\n",
	        ms(r->floor.apply_nosync_ms), ms(r->floor.write_nosync_ms),
	        percent(1 - r->floor.apply_nosync_ms / d->floor.med),
	        percent(1 - r->floor.write_nosync_ms / d->wfloor_ms));
	if (r->nng_ok)
		fprintf(f, "| 6d | Limit: nng push/pull one-way throughput over tcp://127.0.0.1, %s in "
		        "%s messages, one process | %.0f MB/s | initial copy (1) reaches %s of it | |\n",
		        bytes((double)o->nng_bytes), bytes((double)o->nng_msg), r->nng_mbps,
		        ratio(d->copy_mbps / r->nng_mbps));
	if (r->nng_tls_ok)
		fprintf(f, "| 6e | … the same over tls+tcp:// (mbedTLS, the agents' transport) | %.0f "
		        "MB/s | initial copy (1) reaches %s of it | |\n",
		        r->nng_tls_mbps, ratio(d->copy_mbps / r->nng_tls_mbps));
	if (r->big.done)
		fprintf(f, "| 6f | Limit for 3: the same records as each sync of 3, applied to a copy "
		        "of %s records in one durable transaction (6f′: written as own data), median | "
		        "%s (6f′: %s) | %s the floor in %s records (6b); incremental sync (3): %s | |\n",
		        count(r->big.store_records), ms(d->big_floor_ms), ms(d->big_wfloor_ms),
		        ratio(d->big_floor_ms / d->floor.med), count(o->records),
		        ratio(d->big_ms / d->big_floor_ms));
}

static const char *mb(uint64_t b)
{
	char *buf = ring();

	sprintf(buf, "%.0f MB", (double)b / 1e6);
	return buf;
}

/* Rows 7: per kind of value, on a pair of its own. */
static void row_kinds(FILE *f, const struct bench_opts *o, const struct bench_results *r,
                      const struct derived *d)
{
	for (unsigned k = 0; k < 3; k++) {
		const struct bench_kind *kr = &r->kinds[k];
		double payload = (double)kr->records * d->rec_bytes;
		double wire = median_u64(kr->incr.wire_rx, kr->incr.n);
		bool realistic = kr->kind != CSB_VALUE_RANDOM;

		if (!kr->done)
			continue;
		fprintf(f, "| 7%c | %s values (`csb data load -ValueKind %s`): initial copy of %s "
		        "records on a pair of their own · bytes on the wire A→B | %.2f s · %.1f MB/s "
		        "of keys and values · %s | wire %s the keys and values; time %s the random "
		        "kind's | |\n",
		        'a' + k, k == 0 ? "Random-letter" : k == 1 ? "Presence" : "Conference",
		        csb_value_kind_name(kr->kind), count(kr->records), kr->copy.copy_s,
		        payload / kr->copy.copy_s / 1e6,
		        kr->copy.wire_ok ? bytes((double)kr->copy.wire_rx) : "n/a",
		        ratio((double)kr->copy.wire_rx / payload),
		        ratio(kr->copy.copy_s / r->kinds[0].copy.copy_s));
		fprintf(f, "| 7%c′ | … %s changed records synced (median of %u): bytes on the wire "
		        "A→B per changed record | %s (%s of %s) | %s the changed keys and values | "
		        "%s |\n",
		        'a' + k, count(o->changes), kr->incr.n, bytes(wire / (double)o->changes),
		        bytes(wire), bytes(d->payload), ratio(wire / d->payload),
		        realistic ? "≤ 0.8×" : "");
	}
}

static void row_scale(FILE *f, const struct bench_results *r)
{
	const struct bench_scale *sc = &r->scale;

	if (!sc->done)
		return;
	fprintf(f, "| 8 | %u pools (%u pairs), each loading %s records of its own at once "
	        "through Data/Write while its partner backs them up: until every load returned · "
	        "until every backup copy has its partner's high seq | %.2f s · %.2f s | %s "
	        "records/s in all | |\n",
	        sc->pools, sc->pools / 2, count(sc->records), sc->load_s, sc->caught_s,
	        count((uint64_t)((double)sc->records * sc->pools / sc->caught_s)));
}

static void row_large(FILE *f, const struct bench_results *r)
{
	const struct bench_large *lg = &r->large;
	double total = (double)lg->files * (double)lg->size;
	double changed = (double)lg->changed * (double)lg->size;

	if (!lg->done)
		return;
	fprintf(f, "| 10 | Large values: %s conference files of %s (`-ValueKind conference`, %s in "
	        "all) on a pair of their own, chunked; initial copy, B started after the load, "
	        "timed until B's imported seq = A's high seq · bytes on the wire A→B | %.2f s · "
	        "%.1f MB/s · %s | %s the TLS transport's limit (6e)%s%s | ≥ 140 MB/s |\n",
	        count(lg->files), bytes((double)lg->size), bytes(total), lg->copy_s,
	        total / lg->copy_s / 1e6, lg->wire_ok ? bytes((double)lg->copy_wire) : "n/a",
	        r->nng_tls_ok ? ratio(lg->copy_wire / lg->copy_s / 1e6 / r->nng_tls_mbps) : "n/a",
	        lg->rsync_ok ? "" : "; rsync: ", lg->rsync_ok ? "" : lg->rsync_err);
	if (lg->rsync_ok)
		fprintf(f, "| 10a | … the same files as plain files: `rsync -a` to an empty folder "
		        "(local, no encryption, no durable commit) | %.2f s · %.1f MB/s · %s sent | "
		        "initial copy (10): %s the time | ≤ 2× |\n",
		        lg->rsync_full.seconds, total / lg->rsync_full.seconds / 1e6,
		        bytes((double)lg->rsync_full.bytes_sent),
		        ratio(lg->copy_s / lg->rsync_full.seconds));
	fprintf(f, "| 10b | … %s of them rewritten (one Write), from the Write's return to "
	        "SyncNow's return · bytes on the wire A→B | %.3f s · %s | %s the changed bytes "
	        "(%s) | |\n",
	        count(lg->changed), lg->incr_s, lg->wire_ok ? bytes((double)lg->incr_wire) : "n/a",
	        ratio((double)lg->incr_wire / changed), bytes(changed));
	if (lg->rsync_ok)
		fprintf(f, "| 10c | … `rsync -a --no-whole-file` after the same files changed | "
		        "%.2f s · %s sent | incremental (10b) takes %s its time | |\n",
		        lg->rsync_delta.seconds, bytes((double)lg->rsync_delta.bytes_sent),
		        ratio(lg->incr_s / lg->rsync_delta.seconds));
}

static void row_sites(FILE *f, const struct bench_opts *o, const struct bench_results *r,
                      const struct derived *d)
{
	const struct bench_sites *st = &r->sites;
	double link = (double)o->site_rate_mbit * 1e6 / 8, wire_rate, payload;

	if (!st->done) {
		if (o->site_records > 0)
			fprintf(f, "| 9 | Two sites over a %llu Mbit/s link, %u ms each way | %s | | "
			        "|\n", (unsigned long long)o->site_rate_mbit, o->site_delay_ms, st->why);
		return;
	}
	payload = (double)st->records * d->rec_bytes;
	wire_rate = (double)st->copy.wire_rx / st->copy.copy_s;
	fprintf(f, "| 9a | Two sites: A and B in network namespaces of their own joined by a veth "
	        "pair shaped to %llu Mbit/s (tc tbf) and a relay delaying %u ms each way (RTT "
	        "%.1f ms measured); initial copy of %s records (%s of keys and values, %s on the "
	        "wire) | %.2f s · %.1f MB/s on the wire, %.1f MB/s of keys and values | %s "
	        "of the link rate (%.1f MB/s) on the wire | ≥ 80%% |\n",
	        (unsigned long long)o->site_rate_mbit, o->site_delay_ms, st->rtt_ms,
	        count(st->records), bytes(payload), bytes((double)st->copy.wire_rx),
	        st->copy.copy_s, wire_rate / 1e6, payload / st->copy.copy_s / 1e6,
	        percent(wire_rate / link), link / 1e6);
	if (st->lag_done)
		fprintf(f, "| 9b | … replication lag under %s writes/s for %.0f s (%u records per "
		        "Write), same method as 5 | p50 %s · p99 %s · max %s | p99 − RTT: %s; Write "
		        "latency p50 %s | p99 < RTT + 10 ms |\n",
		        count(o->site_lag_rate), o->site_lag_seconds, st->lag_batch,
		        ms(st->lag.p50_ms), ms(st->lag.p99_ms), ms(st->lag.max_ms),
		        ms(st->lag.p99_ms - st->rtt_ms), ms(st->lag.write_p50_ms));
}

/* csbackup's rows beside Redis's, each variant with its ratio (csbackup ÷ Redis: below 1,
 * csbackup takes less). */
static void redis_cell(FILE *f, double csb, double redis, const char *text)
{
	fprintf(f, " %s | %s |", text, ratio(csb / redis));
}

static void side_table(FILE *f, const struct bench_opts *o, const struct bench_results *r,
                       const struct derived *d)
{
	const struct bench_side *s = &r->side;
	const struct bench_redis_run *v = s->run;
	char cell[2][160];
	unsigned n = s->n;

	fprintf(f, "\n## Beside Redis, measured in the same run\n\n");
	if (n == 0) {
		fprintf(f, "Redis rows %s.\n", s->why);
		return;
	}
	fprintf(f, "Redis %s (Debian's redis-server), a primary and a replica, both `appendonly "
	        "yes`, `appendfsync always`, the same %s records of %zu B; a write is one MSET of "
	        "the records plus INCR of a seq key, pipelined (one Data/Write call for "
	        "csbackup). Ratio: csbackup ÷ Redis (below 1×: csbackup takes less).\n\n",
	        s->version, count(o->records), o->value_size);
	fprintf(f, "| # | Measure | csbackup | Redis, plain link | ratio | Redis, replica link "
	        "over TLS | ratio | Target (issue 14) |\n|---|---|---|---|---|---|---|---|\n");

	fprintf(f, "| R1 | Load %s records on the primary (%s per write, %u at once) | %.2f s |",
	        count(o->records), count(o->load_batch), o->load_threads, r->copy.load_s);
	for (unsigned i = 0; i < n; i++) {
		snprintf(cell[i], sizeof(cell[i]), "%.2f s", v[i].load_s);
		redis_cell(f, r->copy.load_s, v[i].load_s, cell[i]);
	}
	fprintf(f, " |\n");

	fprintf(f, "| R2 | Initial copy to the backup, started after the load: until it shows "
	        "the last seq (in sync) | %.2f s |", r->copy.copy_s);
	for (unsigned i = 0; i < n; i++) {
		snprintf(cell[i], sizeof(cell[i]), "%.2f s", v[i].sync_s);
		redis_cell(f, r->copy.copy_s, v[i].sync_s, cell[i]);
	}
	fprintf(f, " ≤ 1.5 s (csbackup) |\n");
	fprintf(f, "| R2′ | … until durable (csbackup: B commits records and cursor durably as "
	        "it imports; Redis: the replica's AOF rewrite after the full sync done) | %.2f s |",
	        r->copy.copy_s);
	for (unsigned i = 0; i < n; i++) {
		snprintf(cell[i], sizeof(cell[i]), "%.2f s", v[i].durable_s);
		redis_cell(f, r->copy.copy_s, v[i].durable_s, cell[i]);
	}
	fprintf(f, " |\n");

	if (r->small.done && v[0].n > 0) {
		struct spread c = spread_of(r->small.sync_ms, r->small.n);

		fprintf(f, "| R3 | Catch-up after %s random changes of %s (one write; until the "
		        "backup shows them), median of %u (range) | %s (%s–%s) |",
		        count(o->changes), count(o->records), r->small.n, ms(c.med), ms(c.lo),
		        ms(c.hi));
		for (unsigned i = 0; i < n; i++) {
			struct spread rs = spread_of(v[i].catchup_ms, v[i].n);

			snprintf(cell[i], sizeof(cell[i]), "%s (%s–%s)", ms(rs.med), ms(rs.lo),
			         ms(rs.hi));
			redis_cell(f, c.med, rs.med, cell[i]);
		}
		fprintf(f, " ≤ 10 ms |\n");
	}
	if (r->lag_done) {
		fprintf(f, "| R4 | Lag at %s writes/s for %.0f s (%u records per write, %u "
		        "writers): p50 · p99 · max, ratio of p99 | %s · %s · %s |",
		        count(o->lag_rate), o->lag_seconds, o->lag_batch, o->lag_threads,
		        ms(r->lag.p50_ms), ms(r->lag.p99_ms), ms(r->lag.max_ms));
		for (unsigned i = 0; i < n; i++) {
			snprintf(cell[i], sizeof(cell[i]), "%s · %s · %s", ms(v[i].lag.p50_ms),
			         ms(v[i].lag.p99_ms), ms(v[i].lag.max_ms));
			redis_cell(f, r->lag.p99_ms, v[i].lag.p99_ms, cell[i]);
		}
		fprintf(f, " p99 ≤ 10 ms, max ≤ 50 ms |\n");
		fprintf(f, "| R5 | Write latency under that load, p50 (one write of %u records, "
		        "acknowledged after the primary's durable commit) | %s |", o->lag_batch,
		        ms(r->lag.write_p50_ms));
		for (unsigned i = 0; i < n; i++) {
			snprintf(cell[i], sizeof(cell[i]), "%s", ms(v[i].lag.write_p50_ms));
			redis_cell(f, r->lag.write_p50_ms, v[i].lag.write_p50_ms, cell[i]);
		}
		fprintf(f, " ≤ 5 ms |\n");
	}
	if (r->restart_done) {
		fprintf(f, "| R6 | Backup stopped (SIGTERM), %s changes written, backup restarted: "
		        "until it shows them · until durable | %.2f s (resumes from its cursor: %s "
		        "received, the changes are %s) |", count(o->changes), r->restart_s,
		        bytes((double)r->restart_wire_rx), bytes(d->payload));
		for (unsigned i = 0; i < n; i++) {
			snprintf(cell[i], sizeof(cell[i]), "%.2f s · %.2f s (%s resync)",
			         v[i].restart_sync_s, v[i].restart_durable_s,
			         v[i].restart_full ? "full" : "partial");
			redis_cell(f, r->restart_s, v[i].restart_sync_s, cell[i]);
		}
		fprintf(f, " |\n");
	}
	fprintf(f, "| R7 | Memory per side, idle with %s records: RSS primary · backup "
	        "(anonymous) | %s · %s (%s · %s; the rest is the LMDB map's pages, page cache) |",
	        count(o->records), mb(r->rss_a.rss), mb(r->rss_b.rss), mb(r->rss_a.anon),
	        mb(r->rss_b.anon));
	for (unsigned i = 0; i < n; i++) {
		snprintf(cell[i], sizeof(cell[i]), "%s · %s", mb(v[i].rss_primary.rss),
		         mb(v[i].rss_replica.rss));
		redis_cell(f, (double)(r->rss_a.rss + r->rss_b.rss),
		           (double)(v[i].rss_primary.rss + v[i].rss_replica.rss), cell[i]);
	}
	fprintf(f, " |\n");
}

/* Issue 14's targets: "missed" says by how much. */
static void target_le(FILE *f, const char *what, double v, double limit, const char *shown)
{
	if (v <= limit)
		fprintf(f, "- %s: %s — met.\n", what, shown);
	else
		fprintf(f, "- %s: %s — **missed** by %s (%s the target).\n", what, shown,
		        ms(v - limit), ratio(v / limit));
}

static void targets14(FILE *f, const struct bench_opts *o, const struct bench_results *r,
                      const struct derived *d)
{
	char shown[160];

	fprintf(f, "\n### Issue 14\n\n");
	if (strcmp(o->mode, "quick") == 0)
		fprintf(f, "Quick mode: sizes and rates below the issue's; these lines only show "
		        "that every row is measured.\n\n");
	if (r->small.done) {
		snprintf(shown, sizeof(shown), "%s", ms(d->sync_ms));
		target_le(f, "Catch-up after the changes ≤ 10 ms (median, R3)", d->sync_ms, 10, shown);
	}
	if (r->lag_done) {
		snprintf(shown, sizeof(shown), "p99 %s", ms(r->lag.p99_ms));
		target_le(f, "Lag at the full rate p99 ≤ 10 ms (R4)", r->lag.p99_ms, 10, shown);
		snprintf(shown, sizeof(shown), "max %s", ms(r->lag.max_ms));
		target_le(f, "… max ≤ 50 ms", r->lag.max_ms, 50, shown);
		snprintf(shown, sizeof(shown), "%s", ms(r->lag.write_p50_ms));
		target_le(f, "Write latency p50 under that load ≤ 5 ms (R5)", r->lag.write_p50_ms, 5,
		          shown);
	}
	if (o->records == 1000000 && o->value_size == 200) {
		snprintf(shown, sizeof(shown), "%.2f s", r->copy.copy_s);
		target_le(f, "Initial copy of 1,000,000 × 200 B ≤ 1.5 s (1)", r->copy.copy_s * 1000,
		          1500, shown);
	} else {
		fprintf(f, "- Initial copy ≤ 1.5 s for 1,000,000 × 200 B: not measured at this "
		        "size (%.2f s for %s records).\n", r->copy.copy_s, count(o->records));
	}
	for (unsigned k = 1; k < 3; k++) {
		const struct bench_kind *kr = &r->kinds[k];
		double x = median_u64(kr->incr.wire_rx, kr->incr.n) / d->payload;

		if (!kr->done)
			continue;
		fprintf(f, "- Bytes on the wire per changed record ≤ 0.8× the payload, %s values "
		        "(7%c′): %s — ", csb_value_kind_name(kr->kind), 'a' + k, ratio(x));
		if (x <= 0.8)
			fprintf(f, "met.\n");
		else
			fprintf(f, "**missed** by %.2f×.\n", x - 0.8);
	}
	if (r->sites.done) {
		const struct bench_sites *st = &r->sites;
		double frac = (double)st->copy.wire_rx / st->copy.copy_s /
		              ((double)o->site_rate_mbit * 1e6 / 8);

		fprintf(f, "- Two sites, initial copy ≥ 80%% of the link rate (9a): %s — %s.\n",
		        percent(frac), frac >= 0.8 ? "met" : "**missed**");
		if (st->lag_done) {
			snprintf(shown, sizeof(shown), "p99 %s (RTT %s)", ms(st->lag.p99_ms),
			         ms(st->rtt_ms));
			target_le(f, "Two sites, lag p99 < RTT + 10 ms (9b)", st->lag.p99_ms,
			          st->rtt_ms + 10, shown);
		}
	}
	if (r->large.done) {
		const struct bench_large *lg = &r->large;
		double mbps = (double)lg->files * (double)lg->size / lg->copy_s / 1e6;

		fprintf(f, "- Large values, initial copy ≥ 140 MB/s (10): %.1f MB/s — %s", mbps,
		        mbps >= 140 ? "met" : "**missed**");
		if (mbps < 140)
			fprintf(f, " (%s of the target)", ratio(mbps / 140));
		if (lg->rsync_ok)
			fprintf(f, "; within 2× of a local rsync (10a): %s — %s",
			        ratio(lg->copy_s / lg->rsync_full.seconds),
			        lg->copy_s <= 2 * lg->rsync_full.seconds ? "met" : "**missed**");
		fprintf(f, ".\n");
	}
}

static void targets(FILE *f, const struct bench_opts *o, const struct bench_results *r,
                    const struct derived *d)
{
	double floor_x = d->sync_ms / d->floor.med;
	double wire = r->small.wire_ok ? d->wire : d->exported;

	fprintf(f, "\n## Targets\n\n");
	fprintf(f, "- Incremental sync within 2× of the floor: %s (%s) — %s.\n", ratio(floor_x),
	        ms(d->sync_ms), verdict(floor_x <= 2));
	if (r->rsync_ok)
		fprintf(f, "- ≥ 20× faster than rsync at %s records: %s against the median sync — %s "
		        "(%s against the sync of the very same changes).\n", count(o->records),
		        ratio(d->rsync_x_time), verdict(d->rsync_x_time >= 20),
		        ratio(r->rsync_delta.seconds * 1000 / r->small.sync_ms[0]));
	if (r->big.done)
		fprintf(f, "- Sync with %s records within 1.5× of the sync with %s: %s — %s (the "
		        "floor itself, the same durable apply in-process, grows %s between the two "
		        "store sizes: 6f against 6b).\n",
		        count(r->big.store_records), count(o->records),
		        ratio(d->big_ms / d->sync_ms), verdict(d->big_ms / d->sync_ms <= 1.5),
		        ratio(d->big_floor_ms / d->floor.med));
	else
		fprintf(f, "- Sync with the big store within 1.5× of the small one: not measured "
		        "(--big-records 0).\n");
	fprintf(f, "- Bytes on the wire ≤ 1.5× the changed payload: %s — %s", ratio(wire /
	        d->payload), verdict(wire / d->payload <= 1.5));
	if (r->rsync_ok)
		fprintf(f, "; ≥ 25× fewer than rsync: %s — %s", ratio(d->rsync_x_bytes),
		        verdict(d->rsync_x_bytes >= 25));
	fprintf(f, ".\n");
	fprintf(f, "- Initial copy ≥ half the slower of the two limits (bulk insert 6a, nng 6d: "
	        "%.1f MB/s): %s — %s.\n",
	        d->limit_mbps, ratio(d->copy_mbps / d->limit_mbps),
	        verdict(d->copy_mbps / d->limit_mbps >= 0.5));
	if (r->lag_done)
		fprintf(f, "- Replication lag p99 < 100 ms: %s — %s.\n", ms(r->lag.p99_ms),
		        verdict(r->lag.p99_ms < 100));
	targets14(f, o, r, d);
}

/* Every change set, in the order taken: the spread on a shared machine is part of the
 * result. */
static void repeats(FILE *f, const struct bench_opts *o, const struct bench_results *r)
{
	const struct bench_redis_run *v = r->side.run;

	fprintf(f, "\n## Each change set, in the order measured\n\n");
	fprintf(f, "| Set | Floor (6b) | Sync, %s records (2) | A→B bytes | Floor (6f) | Sync, %s "
	        "records (3) | A→B bytes | Redis catch-up, plain · TLS link (R3) |\n"
	        "|---|---|---|---|---|---|---|---|\n", count(o->records),
	        r->big.done ? count(r->big.store_records) : "—");
	for (unsigned i = 0; i < r->small.n || i < r->floor.n; i++)
		fprintf(f, "| %u | %s | %s | %s | %s | %s | %s | %s · %s |\n", i,
		        i < r->floor.n ? ms(r->floor.apply_ms[i]) : "",
		        i < r->small.n ? ms(r->small.sync_ms[i]) : "",
		        i < r->small.n ? bytes((double)r->small.wire_rx[i]) : "",
		        i < r->big_floor.n ? ms(r->big_floor.apply_ms[i]) : "—",
		        i < r->big.n ? ms(r->big.sync_ms[i]) : "—",
		        i < r->big.n ? bytes((double)r->big.wire_rx[i]) : "—",
		        r->side.n > 0 && i < v[0].n ? ms(v[0].catchup_ms[i]) : "—",
		        r->side.n > 1 && i < v[1].n ? ms(v[1].catchup_ms[i]) : "—");
}

static void notes(FILE *f, const struct bench_opts *o, const struct bench_results *r)
{

	fprintf(f, "\n## How\n\n");
	fprintf(f, "- Two `csb-agent` processes (pool01 = A, pool02 = B, each the other's partner) "
	        "on loopback with mutual TLS, certificates made at run time; the module is %s; "
	        "keys `k%%09u` (10 B), values of %zu B.\n", BENCH_MODULE, o->value_size);
	fprintf(f, "- Bytes on the wire are the kernel's count (tcp_info via sock_diag) of TCP "
	        "payload on B's connection to A: everything TLS sent, without TCP/IP headers. "
	        "rsync's \"Total bytes sent\" is its own protocol stream.\n");
	fprintf(f, "- rsync's source is a consistent snapshot of A's running store by mdb_copy "
	        "(the store's data.mdb page for page, taken in one read transaction), refreshed "
	        "after the changes; its destination was seeded by a full rsync of the first "
	        "snapshot, as an administrator would copy a store that keeps serving. The changes "
	        "were the same records with the same new values for csbackup and rsync (change "
	        "set 0); the floor (6b) overwrote the same change sets.\n");
	if (r->big.done)
		fprintf(f, "- The big store is a second pair of agents (pool03, pool04) loaded with %s "
		        "records through Data/Write while its B replicated along (%.0f s until B had "
		        "it all)%s; the floor of 6f is an in-process store of the same records. The syncs "
		        "of 2 and 3 and the floor overwrites of 6b and 6f were taken in turns, one "
		        "change set at a time, so that the machine's busy moments fall on all of them "
		        "alike.\n",
		        count(r->big.store_records), r->big_load_s,
		        r->big_cut ? "; the --big-budget ended the load before --big-records" : "");
	if (r->side.n > 0)
		fprintf(f, "- Redis: each server in the run's folder with its own configuration "
		        "(`appendonly yes`, `appendfsync always`, `save \"\"`, "
		        "`repl-diskless-sync-delay 0` so that a full sync does not wait 5 s for more "
		        "replicas; the TLS variant adds `tls-port` on the primary and "
		        "`tls-replication yes` with certificates from the run's CA, clients stay on "
		        "the plain port). The bench speaks RESP itself over a socket (bench/resp.c). "
		        "With appendfsync always a server writes and fsyncs its AOF before it sends any "
		        "reply of the same event-loop turn, so the INCR's reply on the primary and "
		        "the replica's GET both come after the durable append: the same points as "
		        "csbackup's Write reply and B's Status. A restarted replica with AOF only "
		        "keeps no replication id, so it resyncs in full; Redis 7.0's replica also "
		        "reconnects from its once-a-second cron. Memory is VmRSS from "
		        "/proc/<pid>/status for both.\n");
	if (r->kinds[0].done)
		fprintf(f, "- Rows 7: one pair per kind of value, loaded with the generators of "
		        "`csb data load -ValueKind` (common/values.c) and synced like 2; batches "
		        "travel zstd-compressed (the importer says it reads zstd).\n");
	if (r->scale.done)
		fprintf(f, "- Row 8: 8 agents started empty; each pool loads its own records (%s per "
		        "call) from a thread of its own, all at once, on this machine's %ld CPUs.\n",
		        count(o->load_batch), sysconf(_SC_NPROCESSORS_ONLN));
	if (r->sites.done)
		fprintf(f, "- Rows 9: two network namespaces made for the run (`ip netns`), joined by "
		        "a veth pair with `tc qdisc … tbf rate %llumbit burst 64kb latency 50ms` on "
		        "both ends; each agent dials its partner through a relay in its own namespace "
		        "(bench/sites.c, threads of the benchmark) that holds every byte %u ms before "
		        "passing it on, each way (this kernel has no netem). The RTT is an echo "
		        "through such a relay; the bytes on the link are the relay's count. The "
		        "benchmark reaches each agent over a management veth of its own, neither "
		        "shaped nor delayed. The namespaces and links are removed at the end, also "
		        "when the run fails.\n",
		        (unsigned long long)o->site_rate_mbit, o->site_delay_ms);
	fprintf(f, "- Verify after the syncs: A and B's copy %s (%llu / %llu records).\n",
	        r->verify_equal ? "equal" : "DIFFER", (unsigned long long)r->verify_primary,
	        (unsigned long long)r->verify_backup);
	if (r->sigkilled > 0)
		fprintf(f, "- %u agent(s) did not exit within 5 s of SIGTERM at the end and were "
		        "killed.\n", r->sigkilled);
	fprintf(f, "- Mode `%s`, the whole run took %.0f s. Timings are printed, never asserted.\n",
	        o->mode, r->total_s);
}

void bench_report(FILE *f, const struct bench_opts *o, const struct bench_results *r)
{
	struct derived d;

	derive(o, r, &d);
	fprintf(f, "# csbackup benchmark: a sync costs what changed, not what is stored\n\n");
	machine(f, o, r);
	fprintf(f, "| # | Measurement | Result | Ratio | Target |\n");
	fprintf(f, "|---|---|---|---|---|\n");
	row_copy(f, o, r, &d);
	if (r->small.done)
		row_incr(f, "2", o, &r->small, d.floor.med, d.wfloor_ms, "6b", NULL, 0,
		         "≤ 2× the floor", &d);
	if (r->big.done)
		row_incr(f, "3", o, &r->big, d.big_floor_ms, d.big_wfloor_ms, "6f", "the sync of (2)",
		         d.sync_ms,
		         "≤ 1.5× (2)", &d);
	else
		fprintf(f, "| 3 | Incremental sync with a big store | not run (--big-records %s) | | |\n",
		        count(o->big_records));
	row_rsync(f, o, r, &d);
	row_lag(f, o, r);
	row_floors(f, o, r, &d);
	row_kinds(f, o, r, &d);
	row_scale(f, r);
	row_sites(f, o, r, &d);
	row_large(f, r);
	side_table(f, o, r, &d);
	targets(f, o, r, &d);
	repeats(f, o, r);
	notes(f, o, r);
}
