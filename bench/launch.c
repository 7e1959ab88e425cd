/* The benchmark's own launcher (tests/harness.c without cmocka): a temporary folder with a
 * CA and certificates made at run time, two csb-agent processes on free loopback ports,
 * and an exit handler that always kills them and removes the folder, also when the run
 * fails or is interrupted. Agents also die with the benchmark (PR_SET_PDEATHSIG). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "common/port.h"
#include "common/certs.h"
#include "common/clock.h"
#include "proto/status.pb-c.h"

static struct bench_env *g_env; /* what the exit and signal handlers clean up */
static bool g_keep;

void bench_note(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "csb_bench: %s\n", line);
}

static void log_tail(const struct bench_agent *ag)
{
	char line[512];
	long lines = 0, skip;
	FILE *f = fopen(ag->log, "r");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f))
		lines++;
	skip = lines > 15 ? lines - 15 : 0;
	rewind(f);
	fprintf(stderr, "---- last lines of %s\n", ag->log);
	for (long i = 0; fgets(line, sizeof(line), f); i++)
		if (i >= skip)
			fputs(line, stderr);
	fclose(f);
}

void bench_fail(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "csb_bench: FAILED: %s\n", line);
	if (g_env != NULL)
		for (int i = 0; i < g_env->n_agents; i++)
			log_tail(&g_env->ag[i]);
	exit(1);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void kill_agents(int sig)
{
	for (int i = 0; g_env != NULL && i < g_env->n_agents; i++)
		if (g_env->ag[i].pid > 0)
			kill(g_env->ag[i].pid, sig);
}

void bench_env_free(void)
{
	struct bench_env *e = g_env;

	if (e == NULL)
		return;
	kill_agents(SIGKILL);
	for (int i = 0; i < e->n_agents; i++)
		if (e->ag[i].pid > 0) {
			while (waitpid(e->ag[i].pid, NULL, 0) < 0 && errno == EINTR)
				;
			e->ag[i].pid = 0;
		}
	if (g_keep)
		bench_note("kept %s", e->dir);
	else
		nftw(e->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	g_env = NULL;
	free(e);
}

/* Interrupted: the agents go first (kill is async-signal-safe), then the folder. */
static void on_signal(int sig)
{
	kill_agents(SIGKILL);
	if (g_env != NULL && !g_keep)
		nftw(g_env->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	_exit(128 + sig);
}

static void issue(struct bench_env *e, const char *name, char *cert, char *key)
{
	char dir[BENCH_PATH];
	csb_err rv;

	memcpy(dir, e->dir, sizeof(dir)); /* cert and key may live in *e */
	snprintf(cert, BENCH_PATH, "%.900s/%.64s.crt", dir, name);
	snprintf(key, BENCH_PATH, "%.900s/%.64s.key", dir, name);
	if ((rv = csb_certs_issue(e->ca_cert, e->ca_key, name, cert, key)) != CSB_OK)
		bench_fail("cannot issue a certificate for %s: %s", name, csb_strerror(rv));
}

static void agent_init(struct bench_env *e, int i, const char *pool, int partner)
{
	struct bench_agent *ag = &e->ag[i];
	char dir[BENCH_PATH];

	memcpy(dir, e->dir, sizeof(dir));
	snprintf(ag->pool, sizeof(ag->pool), "%s", pool);
	snprintf(ag->dir, sizeof(ag->dir), "%.900s/%.64s", dir, pool);
	snprintf(ag->log, sizeof(ag->log), "%.900s/%.64s.log", dir, pool);
	if (mkdir(ag->dir, 0700) != 0)
		bench_fail("mkdir %s: %s", ag->dir, strerror(errno));
	issue(e, pool, ag->cert, ag->key);
	if ((ag->port = csb_port_pick()) <= 0)
		bench_fail("no free loopback port");
	ag->partner = partner;
}

struct bench_env *bench_env_new(const char *base, const char *agent_bin, uint64_t map_size,
                                bool keep, int pairs)
{
	struct bench_env *e = calloc(1, sizeof(*e));
	struct sigaction sa = {.sa_handler = on_signal};
	csb_err rv;

	if (e == NULL)
		bench_fail("out of memory");
	snprintf(e->dir, sizeof(e->dir), "%.900s/csb_bench.XXXXXX", base);
	if (mkdtemp(e->dir) == NULL)
		bench_fail("cannot make a folder under %s: %s", base, strerror(errno));
	g_env = e;
	g_keep = keep;
	atexit(bench_env_free);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	e->agent_bin = agent_bin;
	e->map_size = map_size;
	snprintf(e->ca_cert, BENCH_PATH, "%.900s/ca.crt", e->dir);
	snprintf(e->ca_key, BENCH_PATH, "%.900s/ca.key", e->dir);
	if ((rv = csb_certs_make_ca(e->ca_cert, e->ca_key, "csb bench CA")) != CSB_OK)
		bench_fail("cannot make the CA: %s", csb_strerror(rv));
	issue(e, "admin", e->admin_cert, e->admin_key);
	for (int p = 0; p < pairs && p < 2; p++) {
		char a[32], b[32];

		snprintf(a, sizeof(a), "pool%02d.csb.test", 2 * p + 1);
		snprintf(b, sizeof(b), "pool%02d.csb.test", 2 * p + 2);
		agent_init(e, 2 * p, a, 2 * p + 1);
		agent_init(e, 2 * p + 1, b, 2 * p);
		e->n_agents = 2 * p + 2;
	}
	return e;
}

void bench_agent_spawn(struct bench_env *e, int i)
{
	struct bench_agent *ag = &e->ag[i], *pa = &e->ag[ag->partner];
	char listen[64], partner[160], map[32];
	char *argv[32] = {
		(char *)e->agent_bin, "--pool-fqdn", ag->pool, "--state-dir", ag->dir,
		"--listen", listen, "--partner", partner, "--admin", "admin",
		"--tls-cert", ag->cert, "--tls-key", ag->key, "--tls-ca", e->ca_cert,
		"--map-size", map,
	};
	unsigned n = 19;
	pid_t parent = getpid(), pid;

	snprintf(listen, sizeof(listen), "tls+tcp://127.0.0.1:%d", ag->port);
	snprintf(partner, sizeof(partner), "%s=tls+tcp://127.0.0.1:%d", pa->pool, pa->port);
	snprintf(map, sizeof(map), "%llu", (unsigned long long)e->map_size);
	for (unsigned k = 0; k < e->n_agent_args && n < 31; k++)
		argv[n++] = (char *)e->agent_args[k];
	argv[n] = NULL;
	if ((pid = fork()) < 0)
		bench_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(ag->log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		/* Never outlive the benchmark, even when it is killed. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	ag->pid = pid;
}

void bench_agent_wait_ready(struct bench_env *e, int i, csb_rpc_client *c, uint32_t timeout_ms)
{
	struct bench_agent *ag = &e->ag[i];
	uint64_t until = csb_mono_ms() + timeout_ms;
	struct bench_status st;
	int status;

	while (bench_status(c, &st, NULL) != CSB_OK) {
		if (waitpid(ag->pid, &status, WNOHANG) == ag->pid) {
			ag->pid = 0;
			bench_fail("%s exited at start (status %d); is --agent-bin %s right?", ag->pool,
			           status, e->agent_bin);
		}
		if (csb_mono_ms() > until)
			bench_fail("%s does not answer after %u ms", ag->pool, timeout_ms);
		csb_sleep_ms(20);
	}
}

bool bench_agent_stop(struct bench_env *e, int i, int sig)
{
	struct bench_agent *ag = &e->ag[i];
	uint64_t until = csb_mono_ms() + 5000;
	bool clean = true;

	if (ag->pid <= 0)
		return true;
	kill(ag->pid, sig);
	while (waitpid(ag->pid, NULL, WNOHANG) == 0) {
		if (clean && csb_mono_ms() > until) {
			bench_note("%s has not exited 5 s after signal %d: SIGKILL", ag->pool, sig);
			kill(ag->pid, SIGKILL);
			clean = false;
		}
		csb_sleep_ms(5);
	}
	ag->pid = 0;
	return clean;
}

csb_rpc_client *bench_client(struct bench_env *e, int i)
{
	char url[64];
	csb_rpc_client *c = NULL;
	csb_rpc_client_opts o = {
		.url = url,
		.server_name = e->ag[i].pool,
		.tls = {e->admin_cert, e->admin_key, e->ca_cert},
		.max_msg = 112u << 20,
	};
	csb_err rv;

	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", e->ag[i].port);
	if ((rv = csb_rpc_client_open(&o, &c)) != CSB_OK)
		bench_fail("cannot open a client to %s: %s", e->ag[i].pool, csb_strerror(rv));
	return c;
}
