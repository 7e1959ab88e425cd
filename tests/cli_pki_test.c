/* `csb pki` through the real csb: a CA made once and refused twice, certificates issued by
 * it, `pki show` in text and JSON, the refusals' lines, and the certificates at work: a real
 * csb-coordinator started with them answers an administrator's csb that names the
 * coordinator with --coordinator, --cert, --key and --ca (no cluster folder). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/port.h"
#include "tests/cli_harness.h"

#define T "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"

static pid_t coordinator = -1;

static void test_init_issue_show(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char dir[CH_PATH + 8], want[3 * CH_PATH], crt[CH_PATH + 64];
	json_t *j;

	snprintf(dir, sizeof(dir), "%s/pki", cl->work);
	ch_ok(NULL, 0, &r, "pki", "init-ca", "--dir", dir, NULL);
	snprintf(want, sizeof(want), "%s/ca.crt\n%s/ca.key\n", dir, dir);
	assert_string_equal(r.out, want);
	ch_result_free(&r);
	snprintf(want, sizeof(want), "csb: pki init-ca: %s already holds a CA (ca.crt, ca.key); a "
	         "deployment has one: remove them to start over\n", dir);
	ch_expect_line(NULL, 1, want, "pki", "init-ca", "--dir", dir, NULL);

	for (int i = 0; i < 3; i++) {
		static const char *const who[] = {"pool01.csb.test", "csb-coordinator", "admin"};

		ch_ok(NULL, 0, &r, "pki", "issue", "--dir", dir, "--principal", who[i], NULL);
		snprintf(want, sizeof(want), "%s/%s.crt\n%s/%s.key\n", dir, who[i], dir, who[i]);
		assert_string_equal(r.out, want);
		ch_result_free(&r);
	}
	snprintf(want, sizeof(want), "csb: pki issue: no CA in %s/none (csb pki init-ca --dir "
	         "%s/none)\n", cl->work, cl->work);
	snprintf(crt, sizeof(crt), "%s/none", cl->work);
	ch_expect_line(NULL, 1, want, "pki", "issue", "--dir", crt, "--principal", "x", NULL);

	snprintf(crt, sizeof(crt), "%s/pool01.csb.test.crt", dir);
	ch_ok(NULL, 0, &r, "pki", "show", crt, NULL);
	if (!ch_matches(r.out, "^Principal : pool01\\.csb\\.test\nIssuer    : csbackup CA\n"
	                       "Valid     : " T " to " T "\nDNS names : pool01\\.csb\\.test, "
	                       "localhost\nUse       : TLS server and client\nGood for  : the agent "
	                       "of pool pool01\\.csb\\.test, when the topology lists it \\(or a "
	                       "principal of that name\\)\n$"))
		fail_msg("pki show:\n%s", r.out);
	ch_result_free(&r);

	snprintf(crt, sizeof(crt), "%s/csb-coordinator.crt", dir);
	ch_ok(NULL, 0, &r, "pki", "show", "-FileName", crt, NULL);
	assert_true(ch_matches(r.out, "^Good for  : the coordinator \\(agents and csb expect this "
	                              "name when they dial it\\)$"));
	ch_result_free(&r);
	snprintf(crt, sizeof(crt), "%s/admin.crt", dir);
	ch_ok(NULL, 0, &r, "pki", "show", crt, NULL);
	assert_true(ch_matches(r.out, "^Good for  : the principal admin: an administrator or "
	                              "operator, whose groups come from the topology$"));
	ch_result_free(&r);

	snprintf(crt, sizeof(crt), "%s/ca.crt", dir);
	ch_ok(NULL, 0, &r, "pki", "show", crt, "--json", NULL);
	j = ch_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "Principal")), "csbackup CA");
	assert_string_equal(json_string_value(json_object_get(j, "Issuer")), "csbackup CA");
	assert_true(json_is_true(json_object_get(j, "IsCa")));
	assert_string_equal(json_string_value(json_object_get(j, "Use")), "certificate authority");
	assert_int_equal(json_array_size(json_object_get(j, "DnsNames")), 0);
	assert_true(ch_matches(json_string_value(json_object_get(j, "NotAfter")), "^" T "$"));
	json_decref(j);
	ch_result_free(&r);

	snprintf(crt, sizeof(crt), "%s/ca.key", dir);
	snprintf(want, sizeof(want), "csb: pki show: %s: not a PEM certificate\n", crt);
	ch_expect_line(NULL, 1, want, "pki", "show", crt, NULL);
	ch_expect_line(NULL, 2, "csb: pki: needs a subcommand (init-ca, issue or show)\n", "pki",
	               NULL);
}

static void test_certificates_at_work(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char dir[CH_PATH + 8], bin[CH_PATH], st[CH_PATH + 16], url[64], f[4][CH_PATH + 64];
	int port = csb_port_pick();

	snprintf(dir, sizeof(dir), "%s/pki", cl->work);
	snprintf(bin, sizeof(bin), "%s", ch_data_path("coordinator/csb-coordinator"));
	snprintf(st, sizeof(st), "%s/coordinator", cl->work);
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", port);
	snprintf(f[0], sizeof(f[0]), "%s/csb-coordinator.crt", dir);
	snprintf(f[1], sizeof(f[1]), "%s/csb-coordinator.key", dir);
	snprintf(f[2], sizeof(f[2]), "%s/ca.crt", dir);
	assert_true((coordinator = fork()) >= 0);
	if (coordinator == 0) {
		char *argv[] = {bin, "--state-dir", st, "--listen", url, "--tls-cert", f[0],
		                "--tls-key", f[1], "--tls-ca", f[2], NULL};
		FILE *devnull = freopen("/dev/null", "w", stderr);

		(void)devnull;
		execv(bin, argv);
		_exit(127);
	}
	snprintf(f[0], sizeof(f[0]), "%s/admin.crt", dir);
	snprintf(f[1], sizeof(f[1]), "%s/admin.key", dir);
	/* csb retries an unreachable coordinator on its own while it starts. */
	ch_ok(NULL, 0, &r, "Get-CsBackupServiceConfiguration", "--coordinator", url, "--cert", f[0],
	      "--key", f[1], "--ca", f[2], "--json", NULL);
	assert_true(ch_matches(r.out, "\"SyncInterval\":"));
	ch_result_free(&r);
	assert_int_equal(kill(coordinator, SIGTERM), 0);
	assert_int_equal(waitpid(coordinator, NULL, 0), coordinator);
	coordinator = -1;
}

/* A coordinator with a name of its own (--name): csb reaches it with --coordinator-name,
 * and without it the TLS name mismatch is said as such, never as a time-out. */
static void test_coordinator_named_otherwise(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char dir[CH_PATH + 8], bin[CH_PATH], st[CH_PATH + 16], url[64], f[4][CH_PATH + 64];
	int port = csb_port_pick();

	snprintf(dir, sizeof(dir), "%s/pki", cl->work);
	ch_ok(NULL, 0, &r, "pki", "issue", "--dir", dir, "--principal", "cms.csb.test", NULL);
	ch_result_free(&r);
	snprintf(bin, sizeof(bin), "%s", ch_data_path("coordinator/csb-coordinator"));
	snprintf(st, sizeof(st), "%s/named", cl->work);
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", port);
	snprintf(f[0], sizeof(f[0]), "%s/cms.csb.test.crt", dir);
	snprintf(f[1], sizeof(f[1]), "%s/cms.csb.test.key", dir);
	snprintf(f[2], sizeof(f[2]), "%s/ca.crt", dir);
	assert_true((coordinator = fork()) >= 0);
	if (coordinator == 0) {
		char *argv[] = {bin, "--state-dir", st, "--listen", url, "--tls-cert", f[0],
		                "--tls-key", f[1], "--tls-ca", f[2], "--name", "cms.csb.test", NULL};
		FILE *devnull = freopen("/dev/null", "w", stderr);

		(void)devnull;
		execv(bin, argv);
		_exit(127);
	}
	snprintf(f[0], sizeof(f[0]), "%s/admin.crt", dir);
	snprintf(f[1], sizeof(f[1]), "%s/admin.key", dir);
	ch_ok(NULL, 0, &r, "Get-CsBackupServiceConfiguration", "--coordinator", url,
	      "--coordinator-name", "cms.csb.test", "--cert", f[0], "--key", f[1], "--ca", f[2],
	      "--json", NULL);
	assert_true(ch_matches(r.out, "\"SyncInterval\":"));
	ch_result_free(&r);
	ch_ok(NULL, 4, &r, "Get-CsBackupServiceConfiguration", "--coordinator", url, "--cert", f[0],
	      "--key", f[1], "--ca", f[2], NULL);
	assert_non_null(strstr(r.err, ": TLS handshake failed (the peer's certificate name or CA "
	                              "does not match)\n"));
	ch_result_free(&r);
	assert_int_equal(kill(coordinator, SIGTERM), 0);
	assert_int_equal(waitpid(coordinator, NULL, 0), coordinator);
	coordinator = -1;
}

static int setup(void **state)
{
	*state = ch_cluster_new();
	return 0;
}

static int teardown(void **state)
{
	if (coordinator > 0) {
		kill(coordinator, SIGKILL);
		waitpid(coordinator, NULL, 0);
	}
	return ch_group_down(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_issue_show),
		cmocka_unit_test(test_certificates_at_work),
		cmocka_unit_test(test_coordinator_named_otherwise),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
