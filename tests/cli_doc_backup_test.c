/* The backup cmdlets as Microsoft documents them (skype/skype-ps/skype/<Cmdlet>.md), run
 * through the real csb on a local cluster: Backup-CsPool, Invoke-CsBackupServiceSync,
 * Get-CsBackupServiceStatus and Get-CsPoolBackupRelationship. Each documented example runs
 * as written with our FQDNs, and each documented parameter is used once, with its exit
 * code and its effect asserted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cli_harness.h"
#include "tests/html_check.h"

#define P1 "pool01.csb.test"  /* atl-cs-001.litwareinc.com in the examples */
#define P2 "pool02.csb.test"
#define PRESENCE "UserServices.PresenceFocus"
#define DATACONF "ConfServices.DataConf"
#define RELATIONSHIP "PoolFqdn       : " P1 "\nBackupPoolFqdn : " P2 "\n"

static int setup(void **state)
{
	struct ch_cluster *cl = ch_cluster_up();
	struct ch_result r;

	*state = cl;
	ch_ok(cl, 0, &r, "data", "load", "-PoolFqdn", P1, "-Module", PRESENCE, "-Count", "200",
	      "-ValueSize", "20", NULL);
	ch_result_free(&r);
	return 0;
}

/* Example 1: Backup-CsPool -PoolFqdn "atl-cs-001.litwareinc.com"; Example 2: -SteadyState. */
static void test_backup_cspool_examples(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;

	ch_ok(cl, 0, &r, "Backup-CsPool", "-PoolFqdn", P1, NULL);
	assert_non_null(strstr(r.out, "\n" P1 " is backed up to " P2 ".\n"));
	assert_null(strstr(r.out, "Check 1"));
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Backup-CsPool", "-PoolFqdn", P1, "-SteadyState", NULL);
	assert_non_null(strstr(r.out, "Check 1 of 10 at "));
	assert_non_null(strstr(r.out, ": reached ("));
	assert_non_null(strstr(r.out, "\n" P1 " is backed up to " P2 ".\n"));
	ch_result_free(&r);
}

/* -Category, -Report, -RetryCount, -WaitTime, -FullBackup, -FailedOverPoolOnly, -LocalStore,
 * -Force, -WhatIf and -Confirm (with its alias -cf). */
static void test_backup_cspool_parameters(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char report[CH_PATH + 32], *html, why[256];

	snprintf(report, sizeof(report), "%s/backup.html", cl->work);
	ch_ok(cl, 0, &r, "Backup-CsPool", "-PoolFqdn", P1, "-Category", "UserData", "-Report",
	      report, NULL);
	assert_true(ch_starts_with(r.out, "Backing up " P1 " to " P2 ": " PRESENCE ", " DATACONF "\n"));
	assert_non_null(html = ch_read_file(report));
	assert_true(h_html_check(html, why, sizeof(why)));
	assert_non_null(strstr(html, "<span class=\"succeeded\">Succeeded</span>"));
	free(html);
	ch_result_free(&r);

	/* The pool stays writable, so FinalState does not come within one check. */
	ch_ok(cl, 1, &r, "Backup-CsPool", "-PoolFqdn", P1, "-FullBackup", "-RetryCount", "1",
	      "-WaitTime", "00:00:01", NULL);
	assert_true(ch_starts_with(r.err, "csb: Backup-CsPool: " P1 " did not reach FinalState after "
	                               "1 check ("));
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Backup-CsPool", "-PoolFqdn", P1, "-FullBackup", "-FailedOverPoolOnly",
	      NULL);
	assert_string_equal(r.err, "WARNING: " P1 " is not failed over (Normal); skipped\n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Backup-CsPool", "-PoolFqdn", P2, "-LocalStore", "-Force", NULL);
	assert_non_null(strstr(r.out, "\n" P2 " is backed up to " P1 ".\n"));
	ch_result_free(&r);

	ch_ok(cl, 0, &r, "Backup-CsPool", "-PoolFqdn", P1, "-Category", "CMS", "-WhatIf", NULL);
	assert_string_equal(r.out, "What if: Performing the operation \"Backup-CsPool\" on target "
	                           "\"" P1 "\": export CentralMgmt.CMSMaster to " P2 "\n");
	ch_result_free(&r);
	ch_run_in(cl, "n\n", 0, &r, "Backup-CsPool", "-PoolFqdn", P1, "-Confirm", NULL);
	assert_string_equal(r.err, "Back up " P1 " to " P2 "? [y/N] Not confirmed; nothing was "
	                           "done.\n");
	assert_int_equal(r.out_len, 0);
	ch_result_free(&r);
	ch_run_in(cl, "yes\n", 0, &r, "Backup-CsPool", "-PoolFqdn", P1, "-cf", NULL);
	assert_non_null(strstr(r.out, "\n" P1 " is backed up to " P2 ".\n"));
	ch_result_free(&r);
}

/* Example 1: Invoke-CsBackupServiceSync -PoolFqdn "atl-cs-001.litwareinc.com"; -BackupModule
 * syncs one module (the new record reaches the backup copy); -Force and pipeline input. */
static void test_sync(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;

	ch_ok(cl, 0, &r, "Invoke-CsBackupServiceSync", "-PoolFqdn", P1, NULL);
	assert_true(ch_starts_with(r.out, RELATIONSHIP "\nIdentity "));
	ch_result_free(&r);

	ch_ok(cl, 0, &r, "data", "put", "-PoolFqdn", P1, "-Module", DATACONF, "-Key", "conf/1",
	      "-Value", "slides", NULL);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Invoke-CsBackupServiceSync", "-PoolFqdn", P1, "-BackupModule", DATACONF,
	      "--json", NULL);
	/* One module only (the record may have travelled already: replication is continuous). */
	assert_non_null(strstr(r.out, "\"Modules\":[{\"Identity\":\"" DATACONF "\",\"Records\":"));
	assert_null(strstr(r.out, PRESENCE));
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "data", "get", "-PoolFqdn", P1, "-Module", DATACONF, "-Key", "conf/1",
	      "-FromBackup", NULL);
	assert_string_equal(r.out, "slides");
	ch_result_free(&r);

	/* "Accept pipeline input: True (ByValue)": FQDNs on stdin; -Force goes past a bad one. */
	ch_run_in(cl, "pool09.csb.test\n" P2 "\n", 1, &r, "Invoke-CsBackupServiceSync", "-Force",
	       NULL);
	assert_true(ch_starts_with(r.err, "WARNING: pool09.csb.test was not synced: "));
	assert_non_null(strstr(r.out, "PoolFqdn       : " P2 "\n"));
	ch_result_free(&r);
}

/* Example 1: Get-CsBackupServiceStatus -PoolFqdn "atl-cs-001.litwareinc.com"; -Category,
 * -Force, -BypassDualWrite (the documented syntax, no effect here: a warning says so) and
 * -LocalStore (the pool's own agent answers). */
static void test_status(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;

	ch_ok(cl, 0, &r, "Get-CsBackupServiceStatus", "-PoolFqdn", P1, NULL);
	assert_true(ch_starts_with(r.out, RELATIONSHIP "\nIdentity "));
	assert_non_null(strstr(r.out, "\n" PRESENCE " "));
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsBackupServiceStatus", "-PoolFqdn", P1, "-Category", "CMS", NULL);
	assert_non_null(strstr(r.out, "\nCentralMgmt.CMSMaster "));
	assert_null(strstr(r.out, PRESENCE));
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsBackupServiceStatus", "-PoolFqdn", P1, "-BypassDualWrite", "$true",
	      NULL);
	assert_string_equal(r.err, "WARNING: -BypassDualWrite has no effect: csbackup writes the "
	                           "Central Management store once, so there is no dual write to "
	                           "bypass, and this cmdlet only reads\n");
	assert_true(ch_starts_with(r.out, RELATIONSHIP));
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsBackupServiceStatus", "-PoolFqdn", P1, "-BypassDualWrite",
	      "$false", "-Force", NULL);
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsBackupServiceStatus", "-PoolFqdn", P2, "-LocalStore", "--json",
	      NULL);
	assert_true(ch_starts_with(r.out, "{\"PoolFqdn\":\"" P2 "\",\"BackupPoolFqdn\":\"" P1 "\","));
	ch_result_free(&r);
}

/* A topology file: the published one with pool03, which has no backup pool, added. */
static void topology_with_lone_pool(struct ch_cluster *cl, const char *path)
{
	struct ch_result r;
	json_t *t, *pools;

	ch_ok(cl, 0, &r, "Get-CsTopology", "--json", NULL);
	t = ch_json(&r);
	pools = json_object_get(t, "pools");
	json_array_append_new(pools, json_pack("{s:s, s:s, s:s, s:b}", "fqdn", "pool03.csb.test",
	                                       "site", json_string_value(json_object_get(
	                                               json_array_get(pools, 0), "site")),
	                                       "agent", "tls+tcp://127.0.0.1:1", "hostsCms", 0));
	assert_int_equal(json_dump_file(t, path, 0), 0);
	json_decref(t);
	ch_result_free(&r);
}

/* Example 1: Get-CsPoolBackupRelationship -PoolFqdn "atl-cs-001.litwareinc.com";
 * -LocalStore; -Force: no warning for a pool without a backup pool. */
static void test_relationship(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char lone[CH_PATH + 32], saved[CH_PATH + 32];

	ch_ok(cl, 0, &r, "Get-CsPoolBackupRelationship", "-PoolFqdn", P1, NULL);
	assert_string_equal(r.out, RELATIONSHIP);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsPoolBackupRelationship", "-PoolFqdn", P2, "-LocalStore", NULL);
	assert_string_equal(r.out, "PoolFqdn       : " P2 "\nBackupPoolFqdn : " P1 "\n");
	ch_result_free(&r);

	snprintf(lone, sizeof(lone), "%s/lone.json", cl->work);
	snprintf(saved, sizeof(saved), "%s/saved.json", cl->work);
	topology_with_lone_pool(cl, lone);
	ch_ok(cl, 0, &r, "Publish-CsTopology", "-FileName", lone, "-BackupFileName", saved, NULL);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsPoolBackupRelationship", "-PoolFqdn", "pool03.csb.test", NULL);
	assert_string_equal(r.err, "WARNING: pool03.csb.test has no backup pool in the topology\n");
	assert_string_equal(r.out, "PoolFqdn       : pool03.csb.test\nBackupPoolFqdn : \n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsPoolBackupRelationship", "-PoolFqdn", "pool03.csb.test", "-Force",
	      NULL);
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Publish-CsTopology", "-FileName", saved, NULL); /* restored */
	ch_result_free(&r);
	ch_ok(cl, 1, &r, "Get-CsPoolBackupRelationship", "-PoolFqdn", "pool03.csb.test", NULL);
	ch_result_free(&r);
}

/* -LocalStore answers from the agents while the coordinator is down. */
static void test_local_store_without_coordinator(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;

	ch_ok(cl, 0, &r, "cluster", "kill", "--dir", cl->dir, "--node", "coordinator", NULL);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsPoolBackupRelationship", "-PoolFqdn", P1, "-LocalStore", NULL);
	assert_string_equal(r.out, RELATIONSHIP);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsBackupServiceStatus", "-PoolFqdn", P1, "-LocalStore", NULL);
	assert_true(ch_starts_with(r.out, RELATIONSHIP));
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "cluster", "start", "--dir", cl->dir, "--node", "coordinator", NULL);
	ch_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_cspool_examples),
		cmocka_unit_test(test_backup_cspool_parameters),
		cmocka_unit_test(test_sync),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_relationship),
		cmocka_unit_test(test_local_store_without_coordinator),
	};
	return cmocka_run_group_tests(tests, setup, ch_group_down);
}
