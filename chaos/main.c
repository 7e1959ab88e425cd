/* csb_chaos: flags, the run's folder and cluster, the three phases (load with faults,
 * convergence, check) and the figures. See chaos.h; `make chaos` runs it in long mode,
 * //chaos:chaos_quick_test in quick mode. */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "chaos/chaos.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/parse.h"

#define ARGS_MAX 32
#define UP_TIMEOUT_MS 180000

const char *const chaos_fault_names[FAULT_KINDS] = {
	"agent-short", "agent-long", "pair-short", "pair-long", "coordinator-short",
	"coordinator-long", "failover", "cms-failover",
};

static struct chaos_run *running; /* for the signal handler */

uint32_t chaos_now(struct chaos_run *r)
{
	return (uint32_t)(csb_mono_ms() - r->t0);
}

void chaos_log(struct chaos_run *r, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->log_mu);
	if (r->history != NULL) {
		fprintf(r->history, "%" PRIu32 " ", chaos_now(r));
		va_start(ap, fmt);
		vfprintf(r->history, fmt, ap);
		va_end(ap);
		fputc('\n', r->history);
	}
	pthread_mutex_unlock(&r->log_mu);
}

uint64_t chaos_rand(uint64_t *s, uint64_t n)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return (x >> 11) % n;
}

const char *chaos_pool(unsigned k)
{
	static const char *const pools[CHAOS_POOLS] = {
		"pool01.csb.test", "pool02.csb.test", "pool03.csb.test", "pool04.csb.test",
	};

	return k >= 1 && k <= CHAOS_POOLS ? pools[k - 1] : "";
}

int chaos_csb(struct chaos_run *r, char *out, size_t outlen, uint32_t timeout_ms, ...)
{
	char *argv[ARGS_MAX + 2], cluster[CHAOS_PATH + 16], bins[CHAOS_PATH + 16],
		tmp[CHAOS_PATH + 16];
	char *env[] = {cluster, bins, tmp, NULL};
	size_t n = 0;
	va_list ap;

	snprintf(cluster, sizeof(cluster), "CSB_CLUSTER=%s", r->dir);
	snprintf(bins, sizeof(bins), "CSB_BIN_DIR=%s", r->bin_dir);
	snprintf(tmp, sizeof(tmp), "TMPDIR=%.1000s/tmp", r->work);
	argv[n++] = r->csb;
	va_start(ap, timeout_ms);
	while (n < ARGS_MAX && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return chaos_proc_run(argv, env, out, outlen, timeout_ms);
}

csb_rpc_client *chaos_client(struct chaos_run *r, unsigned k)
{
	char path[CHAOS_PATH + 32], crt[CHAOS_PATH + 32], key[CHAOS_PATH + 32], ca[CHAOS_PATH + 32];
	csb_rpc_client_opts o = {.server_name = chaos_pool(k), .tls = {crt, key, ca}};
	csb_rpc_client *c = NULL;
	json_t *cl;

	snprintf(path, sizeof(path), "%s/cluster.json", r->dir);
	if ((cl = json_load_file(path, 0, NULL)) == NULL)
		return NULL;
	o.url = json_string_value(
		json_object_get(json_array_get(json_object_get(cl, "pools"), k - 1), "agent"));
	snprintf(crt, sizeof(crt), "%s/pki/admin.crt", r->dir);
	snprintf(key, sizeof(key), "%s/pki/admin.key", r->dir);
	snprintf(ca, sizeof(ca), "%s/pki/ca.crt", r->dir);
	if (o.url == NULL || csb_rpc_client_open(&o, &c) != CSB_OK)
		c = NULL;
	json_decref(cl);
	return c;
}

void chaos_client_leave(csb_rpc_client *c)
{
	(void)c;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: csb_chaos [--seed S] [--faults N] [--duration SECONDS] [--quick]\n"
	        "                 [--writers-per-pool N] [--keys N] [--short-max-ms MS]\n"
	        "                 [--long-ms MIN-MAX] [--work DIR] [--csb PATH] [--keep]\n"
	        "  A seeded chaos run on a 4-pool `csb cluster up` cluster: writers log every\n"
	        "  operation, killers SIGKILL and restart agents, pairs and the coordinator, then\n"
	        "  the cluster converges and the checker proves that no acknowledged write was\n"
	        "  lost, no deleted key came back and every backup copy equals its pool.\n"
	        "  --faults N        stop after N faults (default 1000; --quick: 8)\n"
	        "  --duration S      or after S seconds of faults (default 1800; --quick: 40)\n"
	        "  --work DIR        the run's folder (default: a new one under $TMPDIR); kept\n"
	        "                    with --keep or when the check fails\n"
	        "  --csb PATH        the csb binary (default: ../cli/csb beside this program);\n"
	        "                    csb-agent and csb-coordinator are found beside it\n");
}

enum { OPT_SEED = 1, OPT_FAULTS, OPT_DURATION, OPT_QUICK, OPT_WPP, OPT_KEYS, OPT_SHORT,
       OPT_LONG, OPT_WORK, OPT_CSB, OPT_KEEP, OPT_HELP };

static const struct option options[] = {
	{"seed", required_argument, NULL, OPT_SEED},
	{"faults", required_argument, NULL, OPT_FAULTS},
	{"duration", required_argument, NULL, OPT_DURATION},
	{"quick", no_argument, NULL, OPT_QUICK},
	{"writers-per-pool", required_argument, NULL, OPT_WPP},
	{"keys", required_argument, NULL, OPT_KEYS},
	{"short-max-ms", required_argument, NULL, OPT_SHORT},
	{"long-ms", required_argument, NULL, OPT_LONG},
	{"work", required_argument, NULL, OPT_WORK},
	{"csb", required_argument, NULL, OPT_CSB},
	{"keep", no_argument, NULL, OPT_KEEP},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static bool number(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	return csb_u64_parse(s, hi, out) == CSB_OK && *out >= lo;
}

/* Returns 0, 2 for a usage error, -1 for --help. */
static int parse_flags(int argc, char **argv, struct chaos_run *r)
{
	bool quick = false, faults_given = false, duration_given = false;
	uint64_t v, lo, hi;
	int c;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case OPT_SEED:
			if (!number(optarg, 0, UINT64_MAX, &r->seed))
				goto bad;
			break;
		case OPT_FAULTS:
			if (!number(optarg, 1, 10000000, &r->faults))
				goto bad;
			faults_given = true;
			break;
		case OPT_DURATION:
			if (!number(optarg, 1, 86400, &v))
				goto bad;
			r->duration_ms = v * 1000;
			duration_given = true;
			break;
		case OPT_QUICK: quick = true; break;
		case OPT_WPP:
			if (!number(optarg, 1, CHAOS_WRITERS_MAX / CHAOS_POOLS, &v))
				goto bad;
			r->writers_per_pool = (unsigned)v;
			break;
		case OPT_KEYS:
			if (!number(optarg, 1, 100000, &v))
				goto bad;
			r->keys = (unsigned)v;
			break;
		case OPT_SHORT:
			if (!number(optarg, 0, 60000, &v))
				goto bad;
			r->short_max_ms = (uint32_t)v;
			break;
		case OPT_LONG:
			if (sscanf(optarg, "%" SCNu64 "-%" SCNu64, &lo, &hi) != 2 || lo > hi || hi > 600000)
				goto bad;
			r->long_min_ms = (uint32_t)lo;
			r->long_max_ms = (uint32_t)hi;
			break;
		case OPT_WORK: snprintf(r->work, sizeof(r->work), "%s", optarg); break;
		case OPT_CSB: snprintf(r->csb, sizeof(r->csb), "%s", optarg); break;
		case OPT_KEEP: r->keep = true; break;
		case OPT_HELP: return -1;
		default: return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "csb_chaos: unexpected argument %s\n", argv[optind]);
		return 2;
	}
	if (!faults_given)
		r->faults = quick ? 8 : 1000;
	if (!duration_given)
		r->duration_ms = quick ? 40000 : 1800000;
	return 0;
bad:
	fprintf(stderr, "csb_chaos: invalid value for --%s: %s\n", options[c - 1].name, optarg);
	return 2;
}

/* Where csb is and where it finds the daemons (CSB_BIN_DIR). */
static bool find_binaries(struct chaos_run *r)
{
	char self[CHAOS_PATH], copy[CHAOS_PATH];
	ssize_t n;

	if (r->csb[0] == '\0') {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[n > 0 ? n : 0] = '\0';
		snprintf(r->csb, sizeof(r->csb), "%.900s/../cli/csb", dirname(self));
	}
	snprintf(copy, sizeof(copy), "%s", r->csb);
	snprintf(r->bin_dir, sizeof(r->bin_dir), "%.900s/..", dirname(copy));
	if (access(r->csb, X_OK) != 0) {
		fprintf(stderr, "csb_chaos: cannot run %s: %s\n", r->csb, strerror(errno));
		return false;
	}
	return true;
}

static bool make_work(struct chaos_run *r)
{
	char path[CHAOS_PATH + 32];
	const char *base = getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : getenv("TMPDIR");

	if (r->work[0] == '\0') {
		snprintf(r->work, sizeof(r->work), "%.900s/csb-chaos.XXXXXX", base ? base : "/tmp");
		if (mkdtemp(r->work) == NULL) {
			fprintf(stderr, "csb_chaos: cannot create %s: %s\n", r->work, strerror(errno));
			return false;
		}
	} else if (mkdir(r->work, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "csb_chaos: cannot create %s: %s\n", r->work, strerror(errno));
		return false;
	}
	snprintf(r->dir, sizeof(r->dir), "%.1000s/cluster", r->work);
	snprintf(path, sizeof(path), "%.1000s/tmp", r->work);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%.1000s/history.log", r->work);
	if ((r->history = fopen(path, "w")) == NULL) {
		fprintf(stderr, "csb_chaos: cannot write %s: %s\n", path, strerror(errno));
		return false;
	}
	return true;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void on_signal(int sig)
{
	(void)sig;
	if (running != NULL)
		atomic_store(&running->stop, true);
}

static void cluster_down(struct chaos_run *r)
{
	char out[4096];

	chaos_proc_watch(false);
	if (chaos_csb(r, out, sizeof(out), UP_TIMEOUT_MS, "cluster", "down", "--dir", r->dir, NULL) !=
	    0)
		fprintf(stderr, "csb_chaos: cluster down failed: %s", out);
}

/* How long writers go on once every node runs again: long enough for a writer whose
 * client stopped answering to replace it (writer.c) and write again. */
static uint64_t settle_ms(const struct chaos_run *r)
{
	return r->long_max_ms + CHAOS_REOPEN_SLACK_MS + 2 * CHAOS_WRITE_TIMEOUT_MS + 2000;
}

static void print_figures(struct chaos_run *r, const struct chaos_verdict *v, uint64_t wall_ms,
                          bool ok)
{
	uint64_t total = 0, ops = 0, outcome[4] = {0};

	for (int k = 0; k < FAULT_KINDS; k++)
		total += atomic_load(&r->fault_counts[k]);
	for (unsigned w = 0; w < r->n_writers; w++)
		for (size_t i = 0; i < r->writers[w].n_ops; i++) {
			ops++;
			outcome[r->writers[w].ops[i].outcome & 3]++;
		}
	printf("chaos: seed %" PRIu64 ", %u pools, %u writers, %u keys each\n", r->seed, CHAOS_POOLS,
	       r->n_writers, r->keys);
	printf("faults: %" PRIu64 " (", total);
	for (int k = 0; k < FAULT_KINDS; k++)
		printf("%s%s %" PRIuFAST64, k ? ", " : "", chaos_fault_names[k],
		       atomic_load(&r->fault_counts[k]));
	printf(")\n");
	printf("restarts retried: %u, nodes that would not start: %u, nodes that ended by "
	       "themselves: %u\n",
	       atomic_load(&r->start_failures), atomic_load(&r->start_givenup),
	       chaos_proc_unexpected_exits());
	printf("operations: %" PRIu64 " (acknowledged %" PRIu64 ", failed %" PRIu64
	       ", unknown %" PRIu64 ")\n",
	       ops, outcome[CHAOS_OK], outcome[CHAOS_FAIL], outcome[CHAOS_UNKNOWN]);
	printf("writers stalled after the faults: %u (no write acknowledged in the last %" PRIu64
	       " s); writer clients replaced after they stopped answering: %u\n",
	       chaos_stalled_writers(r), settle_ms(r) / 1000, atomic_load(&r->client_reopens));
	printf("keys checked: %zu at the pool and in the backup copy\n", v->keys);
	printf("lost %zu, resurrected %zu, phantom %zu, copies unequal %zu\n", v->lost,
	       v->resurrected, v->phantom, v->unequal);
	printf("wall time: %" PRIu64 ".%01" PRIu64 " s; history: %s/history.log\n", wall_ms / 1000,
	       (wall_ms % 1000) / 100, r->work);
	printf("%s\n", ok ? "chaos: PASS" : "chaos: FAIL");
}

static int run(struct chaos_run *r)
{
	char out[8192];
	struct chaos_verdict v = {0};
	bool ok = false;
	int code;

	printf("chaos: starting a 4-pool cluster in %s\n", r->dir);
	fflush(stdout);
	chaos_proc_watch(true);
	code = chaos_csb(r, out, sizeof(out), UP_TIMEOUT_MS, "cluster", "up", "--dir", r->dir,
	                 "--pools", "4", NULL);
	if (code != 0) {
		fprintf(stderr, "csb_chaos: cluster up failed (exit %d):\n%s", code, out);
		cluster_down(r);
		return 1;
	}
	if (chaos_writers_start(r) != CSB_OK) {
		fprintf(stderr, "csb_chaos: cannot start the writers\n");
		atomic_store(&r->stop, true);
		chaos_writers_join(r);
		cluster_down(r);
		return 1;
	}
	printf("chaos: %u writers running; injecting up to %" PRIu64 " faults in at most %" PRIu64
	       " s\n", r->n_writers, r->faults, r->duration_ms / 1000);
	fflush(stdout);
	chaos_killers_run(r);
	/* Every node runs again: each writer must get writes acknowledged again, through the
	 * client it has had all along. */
	r->settle_ms = chaos_now(r);
	chaos_log(r, "settle begin");
	for (uint64_t t = 0; t < settle_ms(r) && !atomic_load(&r->stop); t += 100)
		csb_sleep_ms(100);
	atomic_store(&r->stop, true);
	chaos_writers_join(r);
	chaos_log(r, "settle end; convergence begins");
	pthread_mutex_lock(&r->log_mu);
	fflush(r->history);
	pthread_mutex_unlock(&r->log_mu);
	ok = chaos_converge_and_check(r, &v);
	cluster_down(r);
	print_figures(r, &v, csb_mono_ms() - r->t0, ok);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	static struct chaos_run r = {
		.writers_per_pool = 2,
		.keys = 64,
		.short_max_ms = 500,
		.long_min_ms = 2000,
		.long_max_ms = 6000,
		.log_mu = PTHREAD_MUTEX_INITIALIZER,
	};
	int rc;

	r.seed = (uint64_t)time(NULL);
	if ((rc = parse_flags(argc, argv, &r)) != 0) {
		usage(rc < 0 ? stdout : stderr);
		return rc < 0 ? 0 : 2;
	}
	if (r.seed == 0)
		r.seed = 1; /* xorshift has no zero state */
	csb_log_set_level(CSB_LOG_ERROR);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!find_binaries(&r) || !make_work(&r))
		return 2;
	running = &r;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	chaos_proc_init();
	r.t0 = csb_mono_ms();
	chaos_log(&r, "run seed=%" PRIu64 " faults=%" PRIu64 " duration_ms=%" PRIu64, r.seed,
	          r.faults, r.duration_ms);
	rc = run(&r);
	fclose(r.history);
	r.history = NULL;
	if (rc == 0 && !r.keep) {
		nftw(r.work, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	} else {
		printf("chaos: the run's folder is kept: %s\n", r.work);
	}
	return rc;
}
