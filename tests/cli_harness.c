/* The CLI integration harness (tests/cli_harness.h): folders, `csb` subprocesses with
 * captured output and a deadline, and local clusters started and stopped through csb. */
#include "tests/cli_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARGS_MAX 64

const char CH_TTY[] = "<a terminal>";

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *ch_csb_bin(void)
{
	static char path[CH_PATH];
	const char *src = getenv("TEST_SRCDIR"), *ws = getenv("TEST_WORKSPACE");

	if (src != NULL && ws != NULL)
		snprintf(path, sizeof(path), "%s/%s/cli/csb", src, ws);
	else
		snprintf(path, sizeof(path), "bazel-bin/cli/csb");
	return path;
}

const char *ch_data_path(const char *path)
{
	static char full[CH_PATH];
	const char *src = getenv("TEST_SRCDIR"), *ws = getenv("TEST_WORKSPACE");

	if (src != NULL && ws != NULL)
		snprintf(full, sizeof(full), "%s/%s/%s", src, ws, path);
	else
		snprintf(full, sizeof(full), "%s", path);
	return full;
}

struct ch_cluster *ch_cluster_new(void)
{
	struct ch_cluster *cl = calloc(1, sizeof(*cl));
	const char *base = getenv("TEST_TMPDIR");

	assert_non_null(cl);
	snprintf(cl->work, sizeof(cl->work), "%s/cli.XXXXXX", base ? base : "/tmp");
	assert_non_null(mkdtemp(cl->work));
	snprintf(cl->dir, sizeof(cl->dir), "%.900s/cluster", cl->work);
	snprintf(cl->tmp, sizeof(cl->tmp), "%.900s/tmp", cl->work);
	assert_int_equal(mkdir(cl->tmp, 0700), 0);
	signal(SIGPIPE, SIG_IGN);
	return cl;
}

void ch_cluster_fake(struct ch_cluster *cl, const char *pools)
{
	char path[CH_PATH + 64];
	FILE *f;

	assert_int_equal(mkdir(cl->dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/pki", cl->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/pki/admin.crt", cl->dir);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);
	snprintf(path, sizeof(path), "%s/cluster.json", cl->dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "{\"coordinator\": {\"url\": \"tls+tcp://127.0.0.1:1\"}, \"admin\": "
	           "\"admin\", \"pools\": [%s]}\n", pools);
	fclose(f);
}

void ch_cluster_start(struct ch_cluster *cl)
{
	struct ch_result r;

	cl->up = true; /* from here on, teardown stops whatever did start */
	ch_ok(cl, 0, &r, "cluster", "up", "--dir", cl->dir, "--pools", "2", NULL);
	ch_result_free(&r);
}

struct ch_cluster *ch_cluster_up(void)
{
	struct ch_cluster *cl = ch_cluster_new();

	ch_cluster_start(cl);
	return cl;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void ch_cluster_down(struct ch_cluster *cl)
{
	struct ch_result r;

	if (cl == NULL)
		return;
	if (cl->up) {
		ch_run(cl, NULL, &r, "cluster", "down", "--dir", cl->dir, NULL);
		if (r.code != 0)
			fprintf(stderr, "cluster down: exit %d: %s\n", r.code, r.err);
		ch_result_free(&r);
	}
	if (getenv("CSB_TEST_KEEP") == NULL)
		nftw(cl->work, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	else
		fprintf(stderr, "kept %s\n", cl->work);
	free(cl);
}

static char *slurp_fd(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	ssize_t got;

	assert_non_null(buf);
	lseek(fd, 0, SEEK_SET);
	while ((got = read(fd, buf + n, cap - n - 1)) > 0) {
		n += (size_t)got;
		if (cap - n < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* A file in the work folder (or $TEST_TMPDIR) for one stream, already unlinked. */
static int temp_fd(const struct ch_cluster *cl)
{
	char path[CH_PATH + 32];
	const char *base = getenv("TEST_TMPDIR");
	int fd;

	snprintf(path, sizeof(path), "%.900s/stream.XXXXXX", cl ? cl->work : base ? base : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

/* stdin for a command: /dev/null, a terminal, text in a file, or text in a pipe (which
 * cannot seek, as in `cmd | csb …`; at most a pipe's buffer, so nothing has to feed it). */
static int stdin_fd(const struct ch_cluster *cl, const char *text, bool piped, int *master)
{
	int fd, p[2];

	*master = -1;
	if (text == NULL)
		return open("/dev/null", O_RDONLY);
	if (piped) {
		assert_true(strlen(text) <= 65536);
		assert_int_equal(pipe(p), 0);
		assert_int_equal(write(p[1], text, strlen(text)), (ssize_t)strlen(text));
		close(p[1]);
		return p[0];
	}
	if (text == CH_TTY) {
		*master = posix_openpt(O_RDWR | O_NOCTTY);
		assert_true(*master >= 0);
		assert_int_equal(grantpt(*master), 0);
		assert_int_equal(unlockpt(*master), 0);
		fd = open(ptsname(*master), O_RDWR | O_NOCTTY);
		assert_true(fd >= 0);
		return fd;
	}
	fd = temp_fd(cl);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static void run(struct ch_cluster *cl, const char *stdin_text, bool piped, struct ch_result *r,
                char *const args[])
{
	char *argv[ARGS_MAX + 2], bindir[CH_PATH];
	const char *src = getenv("TEST_SRCDIR"), *ws = getenv("TEST_WORKSPACE");
	int master, in = stdin_fd(cl, stdin_text, piped, &master);
	int out = temp_fd(cl), err = temp_fd(cl);
	int n = 0, status = 0;
	long long deadline = now_ms() + CH_TIMEOUT_MS;
	pid_t pid;

	argv[n++] = (char *)ch_csb_bin();
	for (size_t i = 0; args[i] != NULL; i++) {
		assert_true(n <= ARGS_MAX);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	bindir[0] = '\0';
	if (src != NULL && ws != NULL)
		snprintf(bindir, sizeof(bindir), "%s/%s", src, ws);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in, STDIN_FILENO);
		dup2(out, STDOUT_FILENO);
		dup2(err, STDERR_FILENO);
		if (cl != NULL) {
			setenv("CSB_CLUSTER", cl->dir, 1);
			setenv("TMPDIR", cl->tmp, 1);
		} else {
			unsetenv("CSB_CLUSTER");
		}
		if (bindir[0] != '\0')
			setenv("CSB_BIN_DIR", bindir, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in);
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		sleep_ms(10);
	}
	if (master >= 0)
		close(master);
	r->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	r->out = slurp_fd(out, &r->out_len);
	r->err = slurp_fd(err, &r->err_len);
	close(out);
	close(err);
}

void ch_runv(struct ch_cluster *cl, const char *stdin_text, struct ch_result *r,
             char *const args[])
{
	run(cl, stdin_text, false, r, args);
}

static void vrun(struct ch_cluster *cl, const char *stdin_text, bool piped, struct ch_result *r,
                 va_list ap)
{
	char *args[ARGS_MAX + 1];
	size_t n = 0;

	while ((args[n] = va_arg(ap, char *)) != NULL) {
		assert_true(n < ARGS_MAX);
		n++;
	}
	run(cl, stdin_text, piped, r, args);
}

void ch_run(struct ch_cluster *cl, const char *stdin_text, struct ch_result *r, ...)
{
	va_list ap;

	va_start(ap, r);
	vrun(cl, stdin_text, false, r, ap);
	va_end(ap);
}

void ch_run_piped(struct ch_cluster *cl, const char *stdin_text, struct ch_result *r, ...)
{
	va_list ap;

	va_start(ap, r);
	vrun(cl, stdin_text, true, r, ap);
	va_end(ap);
}

/* The last lines of every node's log, for a failure's evidence. */
static void print_logs(const struct ch_cluster *cl)
{
	static const char *const nodes[] = {"coordinator", "pool01.csb.test", "pool02.csb.test"};
	char cmd[CH_PATH * 2];

	if (cl == NULL)
		return;
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(cmd, sizeof(cmd), "echo '--- %s log:'; tail -n 25 '%s/logs/%s.log' 1>&2",
		         nodes[i], cl->dir, nodes[i]);
		if (system(cmd) != 0)
			print_message("(no log for %s)\n", nodes[i]);
	}
}

void ch_ok(struct ch_cluster *cl, int want, struct ch_result *r, ...)
{
	va_list ap;

	va_start(ap, r);
	vrun(cl, NULL, false, r, ap);
	va_end(ap);
	if (r->code != want) {
		print_logs(cl);
		fail_msg("exit %d, not %d\n--- stdout:\n%s--- stderr:\n%s", r->code, want, r->out,
		         r->err);
	}
}

void ch_result_free(struct ch_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

char *ch_read_file(const char *path)
{
	int fd = open(path, O_RDONLY);
	size_t len;
	char *buf;

	if (fd < 0)
		return NULL;
	buf = slurp_fd(fd, &len);
	close(fd);
	return buf;
}

size_t ch_count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_type == DT_REG)
			n++;
	closedir(d);
	return n;
}

json_t *ch_json(const struct ch_result *r)
{
	json_error_t jerr;
	json_t *v = json_loads(r->out, 0, &jerr);

	if (v == NULL)
		fail_msg("stdout is not one JSON document (%s):\n%s\nstderr:\n%s", jerr.text, r->out,
		         r->err);
	return v;
}

const char *ch_coordinator_url(const struct ch_cluster *cl)
{
	static char url[256];
	char path[CH_PATH + 16];
	json_t *c;

	snprintf(path, sizeof(path), "%s/cluster.json", cl->dir);
	c = json_load_file(path, 0, NULL);
	assert_non_null(c);
	snprintf(url, sizeof(url), "%s",
	         json_string_value(json_object_get(json_object_get(c, "coordinator"), "url")));
	json_decref(c);
	return url;
}

void ch_shell(struct ch_cluster *cl, const char *line, struct ch_result *r)
{
	char errpath[CH_PATH + 32], *cmd, drain[4096];
	size_t cap = 1 << 16, got;
	FILE *p;
	int status;

	snprintf(errpath, sizeof(errpath), "%.900s/shell.err", cl->work);
	/* The line runs under timeout(1), which kills its whole process group at the deadline:
	 * a command that hangs fails the test instead of holding it until Bazel's limit. */
	assert_int_equal(setenv("CH_SHELL_LINE", line, 1), 0);
	assert_true(asprintf(&cmd, "CSB='%s' CSB_CLUSTER='%s' TMPDIR='%s'; "
	                           "export CSB CSB_CLUSTER TMPDIR; exec 2>'%s' </dev/null; "
	                           "exec timeout -s KILL %d /bin/sh -c \"$CH_SHELL_LINE\"",
	                     ch_csb_bin(), cl->dir, cl->tmp, errpath, CH_TIMEOUT_MS / 1000) > 0);
	assert_non_null(p = popen(cmd, "r"));
	free(cmd);
	assert_non_null(r->out = malloc(cap + 1));
	r->out_len = 0;
	while (r->out_len < cap && (got = fread(r->out + r->out_len, 1, cap - r->out_len, p)) > 0)
		r->out_len += got;
	while (fread(drain, 1, sizeof(drain), p) > 0)
		; /* beyond 64 KiB: read, so that the command can finish */
	r->out[r->out_len] = '\0';
	status = pclose(p);
	r->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	assert_non_null(r->err = ch_read_file(errpath));
	r->err_len = strlen(r->err);
}

/* The NULL-terminated arguments after ap into args (ARGS_MAX + 1 entries). */
static void collect(char **args, va_list ap)
{
	size_t n = 0;

	while ((args[n] = va_arg(ap, char *)) != NULL) {
		assert_true(n < ARGS_MAX);
		n++;
	}
}

void ch_run_in(struct ch_cluster *cl, const char *stdin_text, int want, struct ch_result *r,
               ...)
{
	char *args[ARGS_MAX + 1];
	va_list ap;

	va_start(ap, r);
	collect(args, ap);
	va_end(ap);
	ch_runv(cl, stdin_text, r, args);
	if (r->code != want)
		fail_msg("%s: exit %d, not %d\n--- stdout:\n%s--- stderr:\n%s", args[0], r->code, want,
		         r->out, r->err);
}

void ch_expect_line(struct ch_cluster *cl, int want, const char *line, ...)
{
	char *args[ARGS_MAX + 1];
	struct ch_result r;
	va_list ap;

	va_start(ap, line);
	collect(args, ap);
	va_end(ap);
	ch_runv(cl, NULL, &r, args);
	if (r.code != want || strcmp(r.err, line) != 0 || r.out_len != 0)
		fail_msg("%s: exit %d (want %d)\nstderr: %s\nwant:   %sstdout: %s", args[0], r.code,
		         want, r.err, line, r.out);
	ch_result_free(&r);
}

int ch_group_up(void **state)
{
	*state = ch_cluster_up();
	return 0;
}

int ch_group_fake(void **state)
{
	struct ch_cluster *cl = ch_cluster_new();

	ch_cluster_fake(cl, "");
	*state = cl;
	return 0;
}

int ch_group_down(void **state)
{
	ch_cluster_down(*state);
	return 0;
}

bool ch_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool ch_matches(const char *text, const char *pattern)
{
	regex_t re;
	bool ok;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0);
	ok = regexec(&re, text, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

int ch_setup_pools(void **state, const char *pools)
{
	struct ch_cluster *cl = ch_cluster_new();
	struct ch_result r;

	*state = cl;
	ch_ok(cl, 0, &r, "cluster", "up", "--dir", cl->dir, "--pools", pools, NULL);
	ch_result_free(&r);
	cl->up = true;
	return 0;
}

int ch_teardown(void **state)
{
	ch_cluster_down(*state);
	return 0;
}

void ch_cms_master_is(struct ch_cluster *cl, const char *pool, long long epoch,
                      const char *except, size_t replicas)
{
	long long deadline = now_ms() + CH_CMS_WAIT_MS;
	char *last = NULL;
	bool ok = false;

	while (!ok && now_ms() < deadline) {
		struct ch_result r;
		json_t *j, *rep;
		size_t k;

		/* While a standby finishes a move it refuses for a moment, naming the master. */
		ch_run(cl, NULL, &r, "Get-CsManagementStoreReplicationStatus", "--json", NULL);
		free(last);
		last = strdup(r.code == 0 ? r.out : r.err);
		if (r.code == 0) {
			j = ch_json(&r);
			ok = strcmp(json_string_value(json_object_get(j, "ActiveMasterFqdn")), pool) == 0 &&
			     json_integer_value(json_object_get(j, "CmsEpoch")) == epoch &&
			     (replicas == 0 || json_array_size(json_object_get(j, "Replicas")) == replicas);
			json_array_foreach(json_object_get(j, "Replicas"), k, rep)
				if (except == NULL ||
				    strcmp(json_string_value(json_object_get(rep, "ReplicaFqdn")), except) != 0)
					ok = ok && json_is_true(json_object_get(rep, "UpToDate"));
			json_decref(j);
		}
		ch_result_free(&r);
		if (!ok)
			sleep_ms(50);
	}
	if (!ok)
		fail_msg("the CMS master did not become %s at epoch %lld within %d s; last answer: %s",
		         pool, epoch, CH_CMS_WAIT_MS / 1000, last != NULL ? last : "");
	free(last);
}
