/* Installing csbackup on a host (issue 11): bazel/install.sh (what `make install` runs) lays
 * out the files under DESTDIR exactly; the systemd units pass `systemd-analyze verify`; the
 * installed coordinator, started as systemd would start it (--config FILE, NOTIFY_SOCKET),
 * reads its configuration file with the command line winning, and tells systemd READY=1
 * once it serves and STOPPING=1 on SIGTERM; bazel/deb.sh (`make deb`) builds a package
 * dpkg-deb reads back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/port.h"
#include "tests/cli_harness.h"
#include "tests/harness.h"

#define BINS_MAX (4 * CH_PATH)

static pid_t coordinator = -1; /* stopped by teardown when a test fails while it runs */

struct fixture {
	struct ch_cluster *cl; /* the work folder (no cluster is started) and ch_shell() */
	struct h_env *env;     /* a CA and certificates */
	char bins[BINS_MAX];   /* the three binaries, quoted, for the scripts */
};

static void run(struct fixture *fx, const char *line, struct ch_result *r)
{
	ch_shell(fx->cl, line, r);
	if (r->code != 0)
		fail_msg("%s: exit %d\n%s%s", line, r->code, r->out, r->err);
}

static void test_layout(void **state)
{
	struct fixture *fx = *state;
	struct ch_result r;
	char line[2 * BINS_MAX], *unit;

	snprintf(line, sizeof(line), "'%s' '%s/dest' /usr /etc %s >/dev/null && cd '%s/dest' && "
	         "find . -mindepth 1 -printf '%%m %%y %%P\\n' | sort -k3",
	         ch_data_path("bazel/install.sh"), fx->cl->work, fx->bins, fx->cl->work);
	run(fx, line, &r);
	assert_string_equal(r.out, "755 d etc\n"
	                           "755 d etc/csbackup\n"
	                           "644 f etc/csbackup/agent.conf.example\n"
	                           "644 f etc/csbackup/coordinator.conf.example\n"
	                           "755 d usr\n"
	                           "755 d usr/bin\n"
	                           "755 f usr/bin/csb\n"
	                           "755 f usr/bin/csb-agent\n"
	                           "755 f usr/bin/csb-coordinator\n"
	                           "755 d usr/lib\n"
	                           "755 d usr/lib/systemd\n"
	                           "755 d usr/lib/systemd/system\n"
	                           "644 f usr/lib/systemd/system/csb-agent@.service\n"
	                           "644 f usr/lib/systemd/system/csb-coordinator.service\n"
	                           "755 d usr/lib/sysusers.d\n"
	                           "644 f usr/lib/sysusers.d/csbackup.conf\n"
	                           "755 d usr/share\n"
	                           "755 d usr/share/bash-completion\n"
	                           "755 d usr/share/bash-completion/completions\n"
	                           "644 f usr/share/bash-completion/completions/csb\n"
	                           "755 d usr/share/doc\n"
	                           "755 d usr/share/doc/csbackup\n"
	                           "644 f usr/share/doc/csbackup/README.md\n"
	                           "644 f usr/share/doc/csbackup/alerts.yml\n");
	ch_result_free(&r);
	snprintf(line, sizeof(line), "%s/dest/usr/lib/systemd/system/csb-agent@.service",
	         fx->cl->work);
	assert_non_null(unit = ch_read_file(line));
	assert_true(ch_matches(unit, "^Type=notify$"));
	assert_true(ch_matches(unit, "^ExecStart=/usr/bin/csb-agent --config "
	                             "/etc/csbackup/agent-%i\\.conf$"));
	assert_true(ch_matches(unit, "^User=csbackup$"));
	assert_true(ch_matches(unit, "^StateDirectory=csbackup/%i$"));
	assert_true(ch_matches(unit, "^ProtectSystem=strict$"));
	assert_true(ch_matches(unit, "^NoNewPrivileges=yes$"));
	assert_true(ch_matches(unit, "^CapabilityBoundingSet=$"));
	assert_null(strstr(unit, "@BINDIR@"));
	free(unit);
	snprintf(line, sizeof(line), "%s/dest/usr/lib/sysusers.d/csbackup.conf", fx->cl->work);
	assert_non_null(unit = ch_read_file(line));
	assert_true(ch_matches(unit, "^u csbackup - \"csbackup backup service\" /var/lib/csbackup$"));
	free(unit);
}

static void test_units_verify(void **state)
{
	struct fixture *fx = *state;
	struct ch_result r;
	char line[2 * BINS_MAX];

	ch_shell(fx->cl, "command -v systemd-analyze", &r);
	if (r.code != 0) {
		fprintf(stderr, "SKIPPED: systemd-analyze is not installed (package systemd)\n");
		ch_result_free(&r);
		skip();
	}
	ch_result_free(&r);
	/* Installed where it will run (no DESTDIR), so that ExecStart's binary exists; the
	 * template is verified as one instance. */
	snprintf(line, sizeof(line), "'%s' '' '%s/live/usr' '%s/live/etc' %s >/dev/null && "
	         "cd '%s/live/usr/lib/systemd/system' && "
	         "cp csb-agent@.service csb-agent@pool01.csb.test.service && "
	         "systemd-analyze verify ./csb-coordinator.service ./csb-agent@pool01.csb.test.service "
	         "2>&1",
	         ch_data_path("bazel/install.sh"), fx->cl->work, fx->cl->work, fx->bins,
	         fx->cl->work);
	run(fx, line, &r);
	assert_string_equal(r.out, ""); /* a warning (an unknown key, a bad value) is a failure */
	ch_result_free(&r);
	snprintf(line, sizeof(line), "'%s/live/usr/bin/csb-coordinator' --version", fx->cl->work);
	run(fx, line, &r);
	assert_string_equal(r.out, "csb-coordinator 0.1.0\n");
	ch_result_free(&r);
}

/* The next notification (datagram) on fd, within 60 s. */
static void notification(int fd, char *buf, size_t len)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t n;

	assert_int_equal(poll(&p, 1, 60000), 1);
	assert_true((n = recv(fd, buf, len - 1, 0)) > 0);
	buf[n] = '\0';
}

static void test_notify_and_config(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char conf[CH_PATH + 32], cert[H_PATH], key[H_PATH], bin[CH_PATH + 64], listen[64],
		name[64], env[80], msg[512];
	int fd, status, port_conf = csb_port_pick(), port_flag = csb_port_pick();
	pid_t pid;
	FILE *f;

	snprintf(bin, sizeof(bin), "%s/live/usr/bin/csb-coordinator", fx->cl->work);
	if (access(bin, X_OK) != 0)
		skip(); /* installed by test_units_verify, which ran only with systemd-analyze */
	h_issue(fx->env, "csb-coordinator", cert, key);
	snprintf(conf, sizeof(conf), "%s/coordinator.conf", fx->cl->work);
	assert_non_null(f = fopen(conf, "w"));
	fprintf(f, "# as /etc/csbackup/coordinator.conf would be\n"
	           "state-dir = %s/state\nlisten = tls+tcp://127.0.0.1:%d\n"
	           "tls-cert = %s\ntls-key = %s\ntls-ca = %s\n",
	        fx->cl->work, port_conf, cert, key, fx->env->ca_cert);
	fclose(f);
	snprintf(name, sizeof(name), "csb-install-test-%d", (int)getpid());
	memcpy(sa.sun_path + 1, name, strlen(name)); /* abstract: no path length to mind */
	assert_true((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa,
	                      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name))),
	                 0);
	snprintf(env, sizeof(env), "NOTIFY_SOCKET=@%s", name);
	snprintf(listen, sizeof(listen), "tls+tcp://127.0.0.1:%d", port_flag);
	assert_true((coordinator = pid = fork()) >= 0);
	if (pid == 0) {
		char *argv[] = {bin, "--config", conf, "--listen", listen, NULL};

		putenv(env);
		execv(bin, argv);
		_exit(127);
	}
	/* The command line's --listen won over the file's; READY=1 came once it served. */
	notification(fd, msg, sizeof(msg));
	snprintf(conf, sizeof(conf), "READY=1\nSTATUS=serving %s", listen);
	assert_string_equal(msg, conf);
	assert_int_equal(kill(pid, SIGTERM), 0);
	notification(fd, msg, sizeof(msg));
	assert_string_equal(msg, "STOPPING=1");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	coordinator = -1;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(fd);
}

static void test_deb(void **state)
{
	struct fixture *fx = *state;
	struct ch_result r;
	char line[2 * BINS_MAX];

	snprintf(line, sizeof(line), "deb=$('%s' '%s/dist' %s) && dpkg-deb -f \"$deb\" Package "
	         "Version && dpkg-deb -c \"$deb\" | awk '{print $6}' | grep -c '^\\./' && "
	         "dpkg-deb -f \"$deb\" Depends | tr -d ' ' | tr , '\\n' | grep -x 'libsystemd0\\|liblmdb0'",
	         ch_data_path("bazel/deb.sh"), fx->cl->work, fx->bins);
	run(fx, line, &r);
	/* Package, Version; the 24 entries of test_layout's tree plus "./"; two of Depends. */
	assert_string_equal(r.out, "Package: csbackup\nVersion: 0.1.0\n25\nliblmdb0\nlibsystemd0\n");
	ch_result_free(&r);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char bins[3][CH_PATH];

	fx->cl = ch_cluster_new();
	fx->env = h_env_new();
	snprintf(bins[0], CH_PATH, "%s", ch_data_path("cli/csb"));
	snprintf(bins[1], CH_PATH, "%s", ch_data_path("agent/csb-agent"));
	snprintf(bins[2], CH_PATH, "%s", ch_data_path("coordinator/csb-coordinator"));
	snprintf(fx->bins, sizeof(fx->bins), "'%s' '%s' '%s'", bins[0], bins[1], bins[2]);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	if (coordinator > 0) {
		kill(coordinator, SIGKILL);
		waitpid(coordinator, NULL, 0);
	}
	h_env_free(fx->env);
	ch_cluster_down(fx->cl);
	free(fx);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_units_verify),
		cmocka_unit_test(test_notify_and_config),
		cmocka_unit_test(test_deb),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
