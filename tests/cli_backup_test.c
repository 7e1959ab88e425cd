/* Backup-CsPool through the real CLI on one local cluster: -SteadyState succeeds on a quiet
 * pool; -FullBackup on a pool that is still writable gives up after RetryCount checks with
 * exit 1; the HTML report is well-formed and names every check; -WhatIf leaves the stores
 * untouched; -Confirm, -FailedOverPoolOnly, -Category, -LocalStore and --json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cli_harness.h"
#include "tests/html_check.h"

#define P1 "pool01.csb.test"
#define P2 "pool02.csb.test"
#define PRESENCE "UserServices.PresenceFocus"
/* The RGS modules are not backed up while EnableRgsBackupService is $false (the default). */
#define ALL_STEADY                                                                         \
	"UserServices.PresenceFocus: SteadyState, ConfServices.DataConf: SteadyState, "        \
	"CentralMgmt.CMSMaster: SteadyState"

static int setup(void **state)
{
	struct ch_cluster *cl = ch_cluster_up();
	struct ch_result r;

	*state = cl;
	ch_ok(cl, 0, &r, "data", "load", "-PoolFqdn", P1, "-Module", PRESENCE, "-Count", "2000",
	      "-Seed", "1", NULL);
	ch_result_free(&r);
	return 0;
}

static int teardown(void **state)
{
	ch_cluster_down(*state);
	return 0;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The check lines of stdout ("Check k of n at T: …"): their times into times[]. */
static size_t check_lines(const char *out, char times[][40], size_t max, unsigned of)
{
	size_t n = 0;

	for (const char *p = out; (p = strstr(p, "Check ")) != NULL; p++) {
		unsigned k = 0, total = 0;

		if (p != out && p[-1] != '\n')
			continue;
		assert_true(n < max);
		/* "2026-11-22T01:02:03.456Z": 24 characters, then ':'. */
		if (sscanf(p, "Check %u of %u at %24s", &k, &total, times[n]) != 3 ||
		    strlen(times[n]) != 24 || times[n][23] != 'Z')
			fail_msg("bad check line: %.200s", p);
		assert_int_equal(k, n + 1);
		assert_int_equal(total, of);
		n++;
	}
	return n;
}

static char *report_of(const struct ch_result *r, char *path, size_t len)
{
	const char *p = strstr(r->out, "Report: ");
	char *html, why[256];

	if (p == NULL)
		fail_msg("no report path in:\n%s", r->out);
	snprintf(path, len, "%.*s", (int)strcspn(p + 8, "\n"), p + 8);
	if ((html = ch_read_file(path)) == NULL)
		fail_msg("no report at %s", path);
	if (!h_html_check(html, why, sizeof(why)))
		fail_msg("report %s is not well-formed: %s", path, why);
	return html;
}

static void test_steady_state_on_a_quiet_pool(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char times[10][40], path[CH_PATH], want[CH_PATH + 64], *html;

	ch_ok(cl, 0, &r, "Backup-CsPool", "-PoolFqdn", P1, "-SteadyState", NULL);
	/* pool01 hosts the CMS: the coordinator's export of it is synced too. */
	assert_true(starts_with(r.out, "ApplicationServer.RGSDataStore: not backed up "
	                               "(EnableRgsBackupService is $false)\n"
	                               "ApplicationServer.RGSFileStore: not backed up "
	                               "(EnableRgsBackupService is $false)\n"
	                               "Backing up " P1 " to " P2 ": " PRESENCE
	                               ", ConfServices.DataConf, CentralMgmt.CMSMaster\n"));
	assert_int_equal(check_lines(r.out, times, 10, 10), 1);
	assert_non_null(strstr(r.out, ": reached (" ALL_STEADY ")\n"));
	assert_non_null(strstr(r.out, "\n" P1 " is backed up to " P2 ".\n"));
	assert_int_equal(r.err_len, 0);
	html = report_of(&r, path, sizeof(path));
	snprintf(want, sizeof(want), "%s/Backup-CsPool-" P1 "-", cl->tmp);
	assert_true(starts_with(path, want)); /* the default: $TMPDIR */
	assert_int_equal(strlen(path), strlen(want) + strlen("yyyymmddThhmmss.html"));
	assert_true(isdigit((unsigned char)path[strlen(want)]));
	assert_int_equal(path[strlen(want) + 8], 'T');
	snprintf(want, sizeof(want), "<td>%.39s</td>", times[0]);
	assert_non_null(strstr(html, want));
	assert_non_null(strstr(html, "<span class=\"succeeded\">Succeeded</span>"));
	free(html);
	ch_result_free(&r);
}

/* The pool stays writable, so FinalState never comes: 3 checks, 1 s apart, then exit 1;
 * the report names each of the 3 checks. */
static void test_full_backup_gives_up_after_retry_count(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char times[10][40], path[CH_PATH], report[CH_PATH + 16], want[512], *html;

	snprintf(report, sizeof(report), "%s/full.html", cl->work);
	ch_ok(cl, 1, &r, "Backup-CsPool", "-PoolFqdn", P1, "-FullBackup", "-RetryCount", "3",
	      "-WaitTime", "1", "-Report", report, NULL);
	assert_string_equal(r.err, "csb: Backup-CsPool: " P1 " did not reach FinalState after 3 "
	                           "checks (" ALL_STEADY ")\n");
	assert_int_equal(check_lines(r.out, times, 10, 3), 3);
	assert_int_equal(h_count(r.out, ": not yet (" ALL_STEADY ")\n"), 3);
	html = report_of(&r, path, sizeof(path));
	assert_string_equal(path, report);
	for (int k = 0; k < 3; k++) {
		snprintf(want, sizeof(want), "<tr><td class=\"num\">%d</td><td>%.39s</td>", k + 1,
		         times[k]);
		if (strstr(html, want) == NULL)
			fail_msg("check %d (%s) is not in the report", k + 1, times[k]);
	}
	assert_int_equal(h_count(html, "<td>no</td></tr>"), 3);
	assert_non_null(strstr(html, "<span class=\"failed\">Failed</span>"));
	assert_non_null(strstr(html, "FinalState (at most 3 checks, 00:00:01 apart)"));
	free(html);
	ch_result_free(&r);

	/* -Report overwrites: the same path, now a success. */
	ch_ok(cl, 0, &r, "Backup-CsPool", "-PoolFqdn", P1, "-Report", report, NULL);
	html = report_of(&r, path, sizeof(path));
	assert_null(strstr(html, "<span class=\"failed\">"));
	assert_null(strstr(html, "<h2>Checks</h2>"));
	free(html);
	ch_result_free(&r);
}

static json_t *status(struct ch_cluster *cl, const char *pool)
{
	struct ch_result r;
	json_t *j, *m;
	size_t i;

	ch_ok(cl, 0, &r, "status", "-PoolFqdn", pool, "--json", NULL);
	j = ch_json(&r);
	ch_result_free(&r);
	/* What a backup could change; times and lag move by themselves. */
	json_array_foreach(json_object_get(j, "BackupModules"), i, m) {
		json_object_del(m, "LagSeconds");
		json_object_del(m, "LastExportTime");
		json_object_del(m, "LastImportTime");
		json_object_del(m, "ExportStatus");
	}
	return j;
}

/* -WhatIf says what it would do and changes nothing: no report, the same store counters
 * on both pools. */
static void test_what_if_changes_nothing(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	json_t *before1, *before2, *after1, *after2;
	size_t files = ch_count_files(cl->tmp);

	before1 = status(cl, P1);
	before2 = status(cl, P2);
	ch_ok(cl, 0, &r, "Backup-CsPool", "-PoolFqdn", P1, "-WhatIf", NULL);
	assert_string_equal(r.out, "What if: Performing the operation \"Backup-CsPool\" on target \""
	                           P1 "\": export " PRESENCE ", ConfServices.DataConf, "
	                           "CentralMgmt.CMSMaster to " P2 "\n");
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Backup-CsPool", "-PoolFqdn", P2, "-Category", "UserData", "-FullBackup",
	      "-RetryCount", "3", "-WhatIf", "-Report", "/nonexistent/dir/r.html", NULL);
	assert_string_equal(r.out, "What if: Performing the operation \"Backup-CsPool\" on target \""
	                           P2 "\": export " PRESENCE ", ConfServices.DataConf to " P1
	                           ", then wait until every module is FinalState (at most 3 checks, "
	                           "00:00:05 apart)\n");
	ch_result_free(&r);
	after1 = status(cl, P1);
	after2 = status(cl, P2);
	assert_true(json_equal(before1, after1));
	assert_true(json_equal(before2, after2));
	assert_int_equal(ch_count_files(cl->tmp), files);
	json_decref(before1);
	json_decref(before2);
	json_decref(after1);
	json_decref(after2);
}

static void test_confirm(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	size_t files = ch_count_files(cl->tmp);

	ch_run(cl, "n\n", &r, "Backup-CsPool", "-PoolFqdn", P1, "-Confirm", NULL);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.out_len, 0);
	assert_string_equal(r.err, "Back up " P1 " to " P2 "? [y/N] Not confirmed; nothing was "
	                           "done.\n");
	ch_result_free(&r);
	ch_run(cl, NULL, &r, "Backup-CsPool", "-PoolFqdn", P1, "-Confirm", NULL); /* no answer */
	assert_int_equal(r.code, 0);
	assert_int_equal(r.out_len, 0);
	ch_result_free(&r);
	assert_int_equal(ch_count_files(cl->tmp), files);
	ch_run(cl, "Yes\n", &r, "Backup-CsPool", "-PoolFqdn", P1, "-Confirm", NULL);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.err, "Back up " P1 " to " P2 "? [y/N] ");
	assert_non_null(strstr(r.out, P1 " is backed up to " P2 ".\n"));
	ch_result_free(&r);
}

static void test_failed_over_pool_only_skips_a_normal_pool(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char path[CH_PATH], *html;

	ch_ok(cl, 0, &r, "Backup-CsPool", "-PoolFqdn", P1, "-FullBackup", "-FailedOverPoolOnly",
	      NULL);
	assert_string_equal(r.err, "WARNING: " P1 " is not failed over (Normal); skipped\n");
	assert_null(strstr(r.out, "Check "));
	html = report_of(&r, path, sizeof(path));
	assert_non_null(strstr(html, "<span class=\"skipped\">Skipped</span>"));
	free(html);
	ch_result_free(&r);
}

static void test_category_and_json(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	json_t *j, *checks, *mods;
	char *html;
	const char *keys[] = {"PoolFqdn", "BackupPoolFqdn", "Modules", "Checks", "Result", "Report"};

	ch_ok(cl, 0, &r, "Backup-CsPool", "-PoolFqdn", P1, "-Category", "UserData", "-SteadyState",
	      "--json", NULL);
	j = ch_json(&r);
	assert_int_equal(json_object_size(j), 6);
	for (size_t i = 0; i < 6; i++)
		assert_non_null(json_object_get(j, keys[i]));
	assert_string_equal(json_string_value(json_object_get(j, "Result")), "Succeeded");
	mods = json_object_get(j, "Modules");
	assert_int_equal(json_array_size(mods), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(mods, 0), "Identity")),
	                    PRESENCE);
	assert_string_equal(json_string_value(json_object_get(json_array_get(mods, 1), "Identity")),
	                    "ConfServices.DataConf");
	checks = json_object_get(j, "Checks");
	assert_int_equal(json_array_size(checks), 1);
	assert_true(json_is_true(json_object_get(json_array_get(checks, 0), "Reached")));
	assert_int_equal(json_array_size(json_object_get(json_array_get(checks, 0), "Modules")), 2);
	html = ch_read_file(json_string_value(json_object_get(j, "Report")));
	assert_non_null(html);
	free(html);
	json_decref(j);
	ch_result_free(&r);

	/* pool02 does not host the CMS: nothing to back up in that category. */
	ch_ok(cl, 0, &r, "backup-pool", "-PoolFqdn", P2, "-Category", "CMS", "-SteadyState", NULL);
	assert_true(starts_with(r.out, "CentralMgmt.CMSMaster: " P2 " does not host the Central "
	                               "Management store; nothing to back up\n"));
	ch_result_free(&r);
	/* pool01 does: its CMS export (the coordinator's) is checked. */
	ch_ok(cl, 0, &r, "Backup-CsPool", "-PoolFqdn", P1, "-Category", "CMS", "-SteadyState", NULL);
	assert_non_null(strstr(r.out, ": reached (CentralMgmt.CMSMaster: SteadyState)\n"));
	ch_result_free(&r);
}

/* -LocalStore: the topology from the local agent's replica and the sync and status from the
 * agent itself, so it works while the coordinator is down. Last: it stops the coordinator. */
static void test_local_store_without_coordinator(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;

	ch_ok(cl, 0, &r, "cluster", "kill", "--dir", cl->dir, "--node", "coordinator", NULL);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Backup-CsPool", "-PoolFqdn", P1, "-LocalStore", "-SteadyState", NULL);
	assert_non_null(strstr(r.out, "Backing up " P1 " to " P2 ": "));
	assert_non_null(strstr(r.out, ": reached (" PRESENCE ": SteadyState, "
	                              "ConfServices.DataConf: SteadyState)\n"));
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "cluster", "start", "--dir", cl->dir, "--node", "coordinator", NULL);
	ch_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steady_state_on_a_quiet_pool),
		cmocka_unit_test(test_full_backup_gives_up_after_retry_count),
		cmocka_unit_test(test_what_if_changes_nothing),
		cmocka_unit_test(test_confirm),
		cmocka_unit_test(test_failed_over_pool_only_skips_a_normal_pool),
		cmocka_unit_test(test_category_and_json),
		cmocka_unit_test(test_local_store_without_coordinator),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
