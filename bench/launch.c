/* The benchmark's own launcher (tests/harness.c without cmocka): a temporary folder with a
 * CA and certificates made at run time, csb-agent processes (pairs added as the run needs
 * them) and other servers (redis-server) on free loopback ports, optionally inside a
 * network namespace, and an exit handler that always kills them, removes the namespaces
 * the run made and the folder, also when the run fails or is interrupted. Children also
 * die with the benchmark (PR_SET_PDEATHSIG). */
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
#include <sched.h>
#include <sys/mount.h>
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
	for (int i = 0; g_env != NULL && i < BENCH_PROCS; i++)
		if (g_env->procs[i] > 0)
			kill(g_env->procs[i], sig);
}

/* What `ip netns del` does: only system calls, so that a signal handler may call it. The
 * veth ends inside go with the namespace once nothing runs in it. */
static void netns_remove(const char *name)
{
	char path[128] = "/run/netns/";

	strncat(path, name, sizeof(path) - strlen(path) - 1);
	umount2(path, MNT_DETACH);
	unlink(path);
}

static void remove_netns(void)
{
	for (int i = 0; g_env != NULL && i < BENCH_NETNS; i++)
		if (g_env->netns[i][0] != '\0') {
			netns_remove(g_env->netns[i]);
			g_env->netns[i][0] = '\0';
		}
}

static void reap(pid_t *pid)
{
	if (*pid <= 0)
		return;
	while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
		;
	*pid = 0;
}

void bench_env_free(void)
{
	struct bench_env *e = g_env;

	if (e == NULL)
		return;
	kill_agents(SIGKILL);
	for (int i = 0; i < e->n_agents; i++)
		reap(&e->ag[i].pid);
	for (int i = 0; i < BENCH_PROCS; i++)
		reap(&e->procs[i]);
	remove_netns();
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
	remove_netns();
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
	snprintf(ag->host, sizeof(ag->host), "127.0.0.1");
	ag->partner = partner;
}

int bench_env_add_pair(struct bench_env *e)
{
	int a = e->n_agents;
	char na[32], nb[32];

	if (a + 2 > BENCH_AGENTS)
		bench_fail("more than %d agents", BENCH_AGENTS);
	snprintf(na, sizeof(na), "pool%02d.csb.test", a + 1);
	snprintf(nb, sizeof(nb), "pool%02d.csb.test", a + 2);
	agent_init(e, a, na, a + 1);
	agent_init(e, a + 1, nb, a);
	e->n_agents = a + 2;
	return a;
}

unsigned bench_pair_discard(struct bench_env *e, int a)
{
	unsigned killed = 0;

	for (int i = a + 1; i >= a; i--) {
		killed += !bench_agent_stop(e, i, SIGTERM);
		if (!g_keep)
			nftw(e->ag[i].dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	}
	return killed;
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
	for (int p = 0; p < pairs; p++)
		bench_env_add_pair(e);
	return e;
}

/* In the child: die with the benchmark, enter netns (may be empty), output to log. */
static void child_setup(pid_t parent, const char *netns, const char *log)
{
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	if (netns != NULL && netns[0] != '\0') {
		char path[128];
		int ns;

		snprintf(path, sizeof(path), "/run/netns/%s", netns);
		if ((ns = open(path, O_RDONLY | O_CLOEXEC)) < 0 || setns(ns, CLONE_NEWNET) != 0) {
			fprintf(stderr, "csb_bench: cannot enter network namespace %s: %s\n", netns,
			        strerror(errno));
			_exit(126);
		}
		close(ns);
	}
}

pid_t bench_spawn(struct bench_env *e, char *const argv[], const char *log, const char *netns)
{
	pid_t parent = getpid(), pid;
	int slot = 0;

	while (slot < BENCH_PROCS && e->procs[slot] > 0)
		slot++;
	if (slot == BENCH_PROCS)
		bench_fail("more than %d helper processes", BENCH_PROCS);
	if ((pid = fork()) < 0)
		bench_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		child_setup(parent, netns, log);
		execvp(argv[0], argv);
		fprintf(stderr, "csb_bench: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	e->procs[slot] = pid;
	return pid;
}

bool bench_proc_stop(struct bench_env *e, pid_t pid, int sig)
{
	uint64_t until = csb_mono_ms() + 10000;
	bool clean = true;
	int slot = 0;

	while (slot < BENCH_PROCS && e->procs[slot] != pid)
		slot++;
	if (pid <= 0 || slot == BENCH_PROCS)
		return true;
	kill(pid, sig);
	while (waitpid(pid, NULL, WNOHANG) == 0) {
		if (clean && csb_mono_ms() > until) {
			bench_note("process %d has not exited 10 s after signal %d: SIGKILL", (int)pid,
			           sig);
			kill(pid, SIGKILL);
			clean = false;
		}
		csb_sleep_ms(5);
	}
	e->procs[slot] = 0;
	return clean;
}

bool bench_proc_exited(struct bench_env *e, pid_t pid, int *status)
{
	for (int slot = 0; slot < BENCH_PROCS; slot++)
		if (e->procs[slot] == pid && pid > 0 && waitpid(pid, status, WNOHANG) == pid) {
			e->procs[slot] = 0;
			return true;
		}
	return false;
}

void bench_env_netns_add(struct bench_env *e, const char *name)
{
	for (int i = 0; i < BENCH_NETNS; i++)
		if (e->netns[i][0] == '\0') {
			snprintf(e->netns[i], sizeof(e->netns[i]), "%s", name);
			return;
		}
	bench_fail("more than %d network namespaces", BENCH_NETNS);
}

void bench_env_netns_remove(struct bench_env *e, const char *name)
{
	for (int i = 0; i < BENCH_NETNS; i++)
		if (strcmp(e->netns[i], name) == 0) {
			netns_remove(name);
			e->netns[i][0] = '\0';
		}
}

bool bench_rss(pid_t pid, struct bench_rss *out)
{
	char path[64], line[256];
	unsigned long long kb;
	FILE *f;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			out->rss = kb * 1024;
		else if (sscanf(line, "RssAnon: %llu kB", &kb) == 1)
			out->anon = kb * 1024;
		else if (sscanf(line, "RssFile: %llu kB", &kb) == 1)
			out->file = kb * 1024;
	}
	fclose(f);
	return out->rss > 0;
}

void bench_agent_spawn(struct bench_env *e, int i)
{
	struct bench_agent *ag = &e->ag[i], *pa = &e->ag[ag->partner];
	char listen[128], partner[256], map[32];
	char *argv[32] = {
		(char *)e->agent_bin, "--pool-fqdn", ag->pool, "--state-dir", ag->dir,
		"--listen", listen, "--partner", partner, "--admin", "admin",
		"--tls-cert", ag->cert, "--tls-key", ag->key, "--tls-ca", e->ca_cert,
		"--map-size", map,
	};
	unsigned n = 19;
	pid_t parent = getpid(), pid;

	snprintf(listen, sizeof(listen), "tls+tcp://%s:%d", ag->listen_host[0] ? ag->listen_host :
	         ag->host, ag->port);
	if (ag->partner_url[0] != '\0')
		snprintf(partner, sizeof(partner), "%s=%s", pa->pool, ag->partner_url);
	else
		snprintf(partner, sizeof(partner), "%s=tls+tcp://%s:%d", pa->pool, pa->host, pa->port);
	snprintf(map, sizeof(map), "%llu", (unsigned long long)e->map_size);
	for (unsigned k = 0; k < e->n_agent_args && n < 31; k++)
		argv[n++] = (char *)e->agent_args[k];
	argv[n] = NULL;
	if ((pid = fork()) < 0)
		bench_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		child_setup(parent, ag->netns, ag->log); /* never outlive the benchmark */
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
	char url[128];
	csb_rpc_client *c = NULL;
	csb_rpc_client_opts o = {
		.url = url,
		.server_name = e->ag[i].pool,
		.tls = {e->admin_cert, e->admin_key, e->ca_cert},
		.max_msg = 112u << 20,
	};
	csb_err rv;

	snprintf(url, sizeof(url), "tls+tcp://%s:%d", e->ag[i].host, e->ag[i].port);
	if ((rv = csb_rpc_client_open(&o, &c)) != CSB_OK)
		bench_fail("cannot open a client to %s: %s", e->ag[i].pool, csb_strerror(rv));
	return c;
}
