/* csb_bench: issues #6 and #14 in one run — a sync costs what changed, not what is stored,
 * and how csbackup stands beside Redis. Real csb-agent processes over mutual TLS on
 * loopback: the initial copy, incremental syncs at two store sizes, rsync and mdb_copy on
 * the same changes, replication lag under a steady load, a restarted backup, memory, the
 * machine's own limits, a Redis primary/replica pair on the same rows, compression per
 * kind of value, 8 pools at once and two sites over a slow link, measured in the same
 * run; a markdown table with ratios to stdout and --out. Sizes and durations are flags
 * (--quick: a smoke run).
 * Timings are printed and compared, never asserted: the exit status says only whether
 * every step worked. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "common/log.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: csb_bench [--quick] [--agent-bin PATH] [--out FILE] [--tmpdir DIR] [--keep]\n"
	        "  sizes:    --records N --big-records N (0: skip) --big-budget SECONDS\n"
	        "            --changes N --value-size BYTES --repeats N --map-size BYTES\n"
	        "  load:     --load-batch N --load-threads N\n"
	        "  lag:      --lag-seconds S (0: skip) --lag-rate RECORDS/S --lag-batch N\n"
	        "            --lag-threads N --lag-poll-us US\n"
	        "  floors:   --nng-bytes BYTES --nng-msg BYTES\n"
	        "  redis:    --no-redis (skip the Redis rows)\n"
	        "  kinds:    --kind-records N (0: skip) --kind-repeats N\n"
	        "  scale:    --scale-records N per pool of 8 (0: skip)\n"
	        "  sites:    --site-records N (0: skip) --site-lag-seconds S --site-lag-rate N\n"
	        "            --site-rate MBIT --site-delay MS (one way)\n"
	        "  large:    --large-files N (0: skip) --large-size BYTES --large-changed N\n"
	        "  --seed N  which records change\n"
	        "  --agent-arg FLAG  pass FLAG to every csb-agent (e.g. --max-batch-bytes=16777216)\n"
	        "defaults: 1,000,000 records, 10,000,000 big (600 s budget), 1,000 changes of 200 B,\n"
	        "9 repeats, lag 30 s at 10,000/s in Writes of 100 records from 64 threads; Redis\n"
	        "when redis-server is on PATH; 1,000,000 records per value kind, 3 repeats; 8\n"
	        "pools of 100,000; two sites with 200,000 records over 100 Mbit/s and 20 ms each\n"
	        "way, lag 30 s at 1,000/s; 200 large values of 5 MiB, 10 changed;\n"
	        "--quick: 20,000 records, no big store, 100 changes, 2 repeats, lag 2 s at\n"
	        "2,000/s in Writes of 10, 64 MiB through nng, 5,000 records per kind, 8 pools of\n"
	        "2,000, two sites with 5,000 records and lag 2 s at 200/s, 4 large values of\n"
	        "2 MiB, 1 changed.\n");
}

static void defaults(struct bench_opts *o, bool quick)
{
	*o = (struct bench_opts){
		.records = 1000000, .big_records = 10000000, .big_budget_s = 600, .changes = 1000,
		.value_size = 200, .repeats = 9, .lag_seconds = 30, .lag_rate = 10000, .lag_batch = 100,
		.lag_threads = 64, .lag_poll_us = 1000, .nng_bytes = 1ull << 30, .nng_msg = 64 << 10,
		.load_batch = 10000, .load_threads = 2, .map_size = 16ull << 30, .seed = 6,
		.mode = "full", .redis = true, .kind_records = 1000000, .kind_repeats = 3,
		.scale_records = 100000, .site_records = 200000, .site_lag_seconds = 30,
		.site_lag_rate = 1000, .site_rate_mbit = 100, .site_delay_ms = 20,
		.large_files = 200, .large_size = 5u << 20, .large_changed = 10,
	};
	if (!quick)
		return;
	o->records = 20000;
	o->big_records = 0;
	o->changes = 100;
	o->repeats = 2;
	o->lag_seconds = 2;
	o->lag_rate = 2000;
	o->lag_batch = 10;
	o->lag_threads = 8;
	o->nng_bytes = 64ull << 20;
	o->load_batch = 5000;
	o->map_size = 1ull << 30;
	o->kind_records = 5000;
	o->kind_repeats = 1;
	o->scale_records = 2000;
	o->site_records = 5000;
	o->site_lag_seconds = 2;
	o->site_lag_rate = 200;
	o->large_files = 4;
	o->large_size = 2u << 20;
	o->large_changed = 1;
	o->mode = "quick";
}

enum {
	O_QUICK = 1, O_AGENT, O_OUT, O_TMP, O_KEEP, O_RECORDS, O_BIG, O_BUDGET, O_CHANGES, O_VSIZE,
	O_REPEATS, O_MAP, O_LBATCH, O_LTHREADS, O_LAGS, O_LAGR, O_LAGB, O_LAGT, O_LAGP, O_NNGB,
	O_NNGM, O_SEED, O_AGENTARG, O_NOREDIS, O_KINDR, O_KINDREP, O_SCALE, O_SITER, O_SITELS,
	O_SITELR, O_SITERATE, O_SITEDELAY, O_LARGEF, O_LARGES, O_LARGEC, O_HELP,
};

static const struct option options[] = {
	{"quick", no_argument, NULL, O_QUICK},
	{"agent-bin", required_argument, NULL, O_AGENT},
	{"out", required_argument, NULL, O_OUT},
	{"tmpdir", required_argument, NULL, O_TMP},
	{"keep", no_argument, NULL, O_KEEP},
	{"records", required_argument, NULL, O_RECORDS},
	{"big-records", required_argument, NULL, O_BIG},
	{"big-budget", required_argument, NULL, O_BUDGET},
	{"changes", required_argument, NULL, O_CHANGES},
	{"value-size", required_argument, NULL, O_VSIZE},
	{"repeats", required_argument, NULL, O_REPEATS},
	{"map-size", required_argument, NULL, O_MAP},
	{"load-batch", required_argument, NULL, O_LBATCH},
	{"load-threads", required_argument, NULL, O_LTHREADS},
	{"lag-seconds", required_argument, NULL, O_LAGS},
	{"lag-rate", required_argument, NULL, O_LAGR},
	{"lag-batch", required_argument, NULL, O_LAGB},
	{"lag-threads", required_argument, NULL, O_LAGT},
	{"lag-poll-us", required_argument, NULL, O_LAGP},
	{"nng-bytes", required_argument, NULL, O_NNGB},
	{"nng-msg", required_argument, NULL, O_NNGM},
	{"seed", required_argument, NULL, O_SEED},
	{"agent-arg", required_argument, NULL, O_AGENTARG},
	{"no-redis", no_argument, NULL, O_NOREDIS},
	{"kind-records", required_argument, NULL, O_KINDR},
	{"kind-repeats", required_argument, NULL, O_KINDREP},
	{"scale-records", required_argument, NULL, O_SCALE},
	{"site-records", required_argument, NULL, O_SITER},
	{"site-lag-seconds", required_argument, NULL, O_SITELS},
	{"site-lag-rate", required_argument, NULL, O_SITELR},
	{"site-rate", required_argument, NULL, O_SITERATE},
	{"site-delay", required_argument, NULL, O_SITEDELAY},
	{"large-files", required_argument, NULL, O_LARGEF},
	{"large-size", required_argument, NULL, O_LARGES},
	{"large-changed", required_argument, NULL, O_LARGEC},
	{"help", no_argument, NULL, O_HELP},
	{NULL, 0, NULL, 0},
};

/* A count: digits, optionally with a k/M/G (x1000) or Ki/Mi/Gi (x1024) suffix. */
static bool count_parse(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || s[0] == '-')
		return false;
	if (strcmp(end, "k") == 0)
		mul = 1000;
	else if (strcmp(end, "M") == 0)
		mul = 1000000;
	else if (strcmp(end, "G") == 0)
		mul = 1000000000;
	else if (strcmp(end, "Ki") == 0)
		mul = 1ull << 10;
	else if (strcmp(end, "Mi") == 0)
		mul = 1ull << 20;
	else if (strcmp(end, "Gi") == 0)
		mul = 1ull << 30;
	else if (*end != '\0')
		return false;
	if (v > hi / mul)
		return false;
	*out = v * mul;
	return *out >= lo && *out <= hi;
}

static int bad(const char *flag, const char *v)
{
	fprintf(stderr, "csb_bench: invalid %s: %s\n", flag, v);
	usage(stderr);
	return 2;
}

/* Returns 0, 2 for a usage error, -1 for --help. */
static int parse_flags(int argc, char **argv, struct bench_opts *o)
{
	bool quick = false;
	uint64_t v;
	char *end;
	int c;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--quick") == 0)
			quick = true;
	defaults(o, quick);
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		const char *name = options[0].name;

		for (const struct option *op = options; op->name; op++)
			if (op->val == c)
				name = op->name;
#define COUNT(lo, hi, dst)                                  \
	do {                                                    \
		if (!count_parse(optarg, lo, hi, &v))           \
			return bad(name, optarg);               \
		dst = v;                                        \
	} while (0)
#define SECONDS(dst)                                        \
	do {                                                    \
		dst = strtod(optarg, &end);                     \
		if (*end != '\0' || !(dst >= 0 && dst <= 3600)) \
			return bad(name, optarg);               \
	} while (0)
		switch (c) {
		case O_QUICK: break;
		case O_AGENT: o->agent_bin = optarg; break;
		case O_OUT: o->out = optarg; break;
		case O_TMP: o->tmp = optarg; break;
		case O_KEEP: o->keep = true; break;
		case O_RECORDS: COUNT(100, 1000000000, o->records); break;
		case O_BIG: COUNT(0, 1000000000, o->big_records); break;
		case O_BUDGET: COUNT(1, 86400, o->big_budget_s); break;
		case O_CHANGES: COUNT(1, 1000000, o->changes); break;
		case O_VSIZE: COUNT(0, 1 << 20, o->value_size); break;
		case O_REPEATS: COUNT(1, 64, o->repeats); break;
		case O_MAP: COUNT(1 << 20, 1ull << 42, o->map_size); break;
		case O_LBATCH: COUNT(1, 100000, o->load_batch); break;
		case O_LTHREADS: COUNT(1, 16, o->load_threads); break;
		case O_LAGS: SECONDS(o->lag_seconds); break;
		case O_LAGR: COUNT(1, 10000000, o->lag_rate); break;
		case O_LAGB: COUNT(1, 100000, o->lag_batch); break;
		case O_LAGT: COUNT(1, 256, o->lag_threads); break;
		case O_LAGP: COUNT(0, 1000000, o->lag_poll_us); break;
		case O_NNGB: COUNT(0, 1ull << 40, o->nng_bytes); break;
		case O_NNGM: COUNT(1, 16u << 20, o->nng_msg); break;
		case O_SEED: COUNT(0, UINT32_MAX, o->seed); break;
		case O_AGENTARG:
			if (o->n_agent_args == 8)
				return bad(name, "at most 8");
			o->agent_args[o->n_agent_args++] = optarg;
			break;
		case O_NOREDIS: o->redis = false; break;
		case O_KINDR: COUNT(0, 1000000000, o->kind_records); break;
		case O_KINDREP: COUNT(1, 64, o->kind_repeats); break;
		case O_SCALE: COUNT(0, 100000000, o->scale_records); break;
		case O_SITER: COUNT(0, 1000000000, o->site_records); break;
		case O_SITELS: SECONDS(o->site_lag_seconds); break;
		case O_SITELR: COUNT(1, 1000000, o->site_lag_rate); break;
		case O_SITERATE: COUNT(1, 100000, o->site_rate_mbit); break;
		case O_SITEDELAY: COUNT(0, 10000, o->site_delay_ms); break;
		case O_LARGEF: COUNT(0, 100000, o->large_files); break;
		case O_LARGES: COUNT(1, 64u << 20, o->large_size); break;
		case O_LARGEC: COUNT(0, 100000, o->large_changed); break;
		case O_HELP: return -1;
		default: usage(stderr); return 2;
		}
#undef COUNT
#undef SECONDS
	}
	if (optind < argc)
		return bad("argument", argv[optind]);
	if (o->changes > o->records)
		return bad("--changes (more than --records)", "");
	if (o->kind_records > 0 && o->changes > o->kind_records)
		return bad("--changes (more than --kind-records)", "");
	if (o->large_files > 0 && o->large_changed > o->large_files)
		return bad("--large-changed (more than --large-files)", "");
	return 0;
}

/* --agent-bin, else the runfiles tree (bazel test), else bazel-bin/. */
static const char *agent_bin(const char *given)
{
	static char path[BENCH_PATH];
	const char *src = getenv("TEST_SRCDIR"), *ws = getenv("TEST_WORKSPACE");

	if (given != NULL)
		snprintf(path, sizeof(path), "%s", given);
	else if (src != NULL && ws != NULL)
		snprintf(path, sizeof(path), "%s/%s/agent/csb-agent", src, ws);
	else
		snprintf(path, sizeof(path), "bazel-bin/agent/csb-agent");
	if (access(path, X_OK) != 0)
		bench_fail("no csb-agent at %s (build //agent:csb-agent or pass --agent-bin)", path);
	return path;
}

static const char *tmp_base(const char *given)
{
	const char *t = given;

	if (t == NULL)
		t = getenv("TEST_TMPDIR");
	if (t == NULL)
		t = getenv("TMPDIR");
	return t != NULL ? t : "/tmp";
}

static void write_report(const struct bench_opts *o, const struct bench_results *r)
{
	FILE *f;

	bench_report(stdout, o, r);
	fflush(stdout);
	if (o->out == NULL)
		return;
	if ((f = fopen(o->out, "w")) == NULL)
		bench_fail("cannot write %s: %s", o->out, strerror(errno));
	bench_report(f, o, r);
	if (fclose(f) != 0)
		bench_fail("cannot write %s: %s", o->out, strerror(errno));
	bench_note("wrote %s", o->out);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	static struct bench_results r;
	struct bench_env *e;
	int rc;

	if ((rc = parse_flags(argc, argv, &o)) != 0) {
		if (rc < 0)
			usage(stdout);
		return rc < 0 ? 0 : rc;
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	csb_log_set_level(CSB_LOG_WARN); /* the floor's store would log every open and close */
	o.agent_bin = agent_bin(o.agent_bin);
	o.tmp = tmp_base(o.tmp);
	e = bench_env_new(o.tmp, o.agent_bin, o.map_size, o.keep, 1);
	e->agent_args = o.agent_args;
	e->n_agent_args = o.n_agent_args;
	bench_note("%s run in %s with %s", o.mode, e->dir, o.agent_bin);
	bench_run(&o, e, &r);
	write_report(&o, &r);
	bench_env_free();
	return 0;
}
