/* Get-CsBackupServiceStatus, Get-CsPoolState and Test-CsBackupData through the real CLI on
 * one local cluster: the exact text and JSON formats; verify finds a record changed
 * directly in the backup copy (pool02 stopped, its store edited offline with the test-only
 * tamper hook) and exits 1 naming the key range; and an unreachable coordinator exits 4
 * after the retries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/store.h"
#include "storage/tamper.h"
#include "tests/cli_harness.h"

#define P1 "pool01.csb.test"
#define P2 "pool02.csb.test"
#define PRESENCE "UserServices.PresenceFocus"
#define KEY42 "load-0-0000000042"

static int setup(void **state)
{
	struct ch_cluster *cl = ch_cluster_up();
	struct ch_result r;

	*state = cl;
	/* 100 records load-0-0000000000 … 99 of 20 bytes in pool01, synced to pool02's copy. */
	ch_ok(cl, 0, &r, "data", "load", "-PoolFqdn", P1, "-Module", PRESENCE, "-Count", "100",
	      "-ValueSize", "20", "-Seed", "0", NULL);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "sync", "-PoolFqdn", P1, NULL);
	ch_result_free(&r);
	return 0;
}

static int teardown(void **state)
{
	ch_cluster_down(*state);
	return 0;
}

static void test_status_text(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	const char *head = "PoolFqdn       : " P1 "\n"
	                   "BackupPoolFqdn : " P2 "\n"
	                   "\n"
	                   "Identity                        ExportStatus    ImportStatus    "
	                   "LagRecords  LagSeconds\n"
	                   "--------                        ------------    ------------    "
	                   "----------  ----------\n"
	                   "UserServices.PresenceFocus      SteadyState     ";

	ch_ok(cl, 0, &r, "Get-CsBackupServiceStatus", "-PoolFqdn", P1, NULL);
	if (strncmp(r.out, head, strlen(head)) != 0)
		fail_msg("status:\n%s\nwant it to start with:\n%s", r.out, head);
	assert_true(ch_matches(r.out, "^UserServices\\.PresenceFocus +SteadyState +[A-Za-z]+ +0 +"
	                           "[0-9]+\\.[0-9]$"));
	assert_true(ch_matches(r.out, "^ConfServices\\.DataConf +[A-Za-z]+ +[A-Za-z]+ +[0-9]+ +"
	                           "[0-9]+\\.[0-9]$"));
	assert_true(ch_matches(r.out, "^CentralMgmt\\.CMSMaster +"));
	assert_true(ch_matches(r.out, "^ApplicationServer\\.RGSDataStore +"));
	assert_true(ch_matches(r.out, "^ApplicationServer\\.RGSFileStore +"));
	ch_result_free(&r);

	/* The backup pool imports pool01's data. */
	ch_ok(cl, 0, &r, "status", "-PoolFqdn", P2, "-Category", "UserData", NULL);
	assert_true(ch_matches(r.out, "^UserServices\\.PresenceFocus +[A-Za-z]+ +NormalState +"));
	assert_null(strstr(r.out, "CentralMgmt"));
	ch_result_free(&r);
}

static void test_status_json(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	static const char *const fields[] = {
		"Identity", "ExportStatus", "ImportStatus", "HighSeq", "ExportedSeq", "ImportedSeq",
		"LagRecords", "LagSeconds", "LastExportTime", "LastImportTime", "LastError",
		"ExportedRecordsTotal", "ExportedBytesTotal"};
	static const char *const order[] = {PRESENCE, "ConfServices.DataConf",
	                                    "CentralMgmt.CMSMaster",
	                                    "ApplicationServer.RGSDataStore",
	                                    "ApplicationServer.RGSFileStore"};
	json_t *j, *mods, *m, *pf;
	size_t i;

	ch_ok(cl, 0, &r, "status", "-PoolFqdn", P1, "--json", NULL);
	j = ch_json(&r);
	assert_int_equal(json_object_size(j), 3);
	assert_string_equal(json_string_value(json_object_get(j, "PoolFqdn")), P1);
	assert_string_equal(json_string_value(json_object_get(j, "BackupPoolFqdn")), P2);
	mods = json_object_get(j, "BackupModules");
	assert_int_equal(json_array_size(mods), 5);
	json_array_foreach(mods, i, m) {
		json_t *t;

		assert_string_equal(json_string_value(json_object_get(m, "Identity")), order[i]);
		assert_int_equal(json_object_size(m), 13);
		for (size_t f = 0; f < 13; f++)
			if (json_object_get(m, fields[f]) == NULL)
				fail_msg("%s has no %s", order[i], fields[f]);
		assert_true(json_is_number(json_object_get(m, "LagSeconds")));
		assert_true(json_is_null(json_object_get(m, "LastError")));
		t = json_object_get(m, "LastExportTime");
		assert_true(json_is_null(t) ||
		            ch_matches(json_string_value(t), "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
		                                          "[0-9]{2}\\.[0-9]{3}Z$"));
	}
	pf = json_array_get(mods, 0);
	assert_string_equal(json_string_value(json_object_get(pf, "ExportStatus")), "SteadyState");
	assert_int_equal(json_integer_value(json_object_get(pf, "HighSeq")), 100);
	assert_int_equal(json_integer_value(json_object_get(pf, "ExportedSeq")), 100);
	assert_int_equal(json_integer_value(json_object_get(pf, "LagRecords")), 0);
	assert_int_equal(json_integer_value(json_object_get(pf, "ExportedRecordsTotal")), 100);
	/* The values travel zstd-compressed (random letters: about a third less). */
	assert_true(json_integer_value(json_object_get(pf, "ExportedBytesTotal")) >= 100 * 37 / 2);
	assert_true(json_is_string(json_object_get(pf, "LastExportTime")));
	json_decref(j);
	ch_result_free(&r);

	ch_ok(cl, 0, &r, "status", "-PoolFqdn", P2, "-Category", "RGS", "--json", NULL);
	j = ch_json(&r);
	assert_int_equal(json_array_size(json_object_get(j, "BackupModules")), 2);
	json_decref(j);
	ch_result_free(&r);

	ch_ok(cl, 1, &r, "status", "-PoolFqdn", "pool09.csb.test", NULL);
	assert_non_null(strstr(r.err, "csb: Get-CsBackupServiceStatus: "));
	assert_non_null(strstr(r.err, "pool09.csb.test"));
	ch_result_free(&r);
}

static void test_pool_state(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;

	ch_ok(cl, 0, &r, "Get-CsPoolState", "-PoolFqdn", P2, NULL);
	assert_string_equal(r.out, P2 ": Normal (users served by " P2 ", epoch 0)\n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "pool-state", "-PoolFqdn", P1, "--json", NULL);
	assert_string_equal(r.out, "{\"PoolFqdn\":\"" P1 "\",\"State\":\"Normal\",\"ServedBy\":\""
	                           P1 "\",\"Epoch\":0,\"Modules\":[]}\n");
	ch_result_free(&r);
}

/* Equal first; then a byte of one record flipped in pool02's copy, behind the store's back. */
static void test_verify_finds_a_changed_backup_record(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char dir[CH_PATH + 32];
	csb_store *s = NULL;
	json_t *j, *m, *d;
	const char *lo, *hi;

	ch_ok(cl, 0, &r, "Test-CsBackupData", "-PoolFqdn", P1, NULL);
	/* pool01 hosts the CMS: its standby replica at pool02 is verified too. */
	if (!ch_matches(r.out, "^" PRESENCE ": equal \\(100 records at seq 100\\)\n"
	                    "ConfServices.DataConf: equal \\(0 records at seq 0\\)\n"
	                    "CentralMgmt.CMSMaster: equal \\(4 records at seq [0-9]+\\)\n$"))
		fail_msg("verify output:\n%s", r.out);
	ch_result_free(&r);

	ch_ok(cl, 0, &r, "cluster", "kill", "--dir", cl->dir, "--node", P2, NULL);
	ch_result_free(&r);
	snprintf(dir, sizeof(dir), "%s/" P2, cl->dir);
	assert_int_equal(csb_store_open(dir, NULL, &s), CSB_OK);
	assert_int_equal(csb_store_tamper(s, P1, PRESENCE, KEY42, strlen(KEY42)), CSB_OK);
	csb_store_close(s);
	ch_ok(cl, 0, &r, "cluster", "start", "--dir", cl->dir, "--node", P2, NULL);
	ch_result_free(&r);

	ch_ok(cl, 1, &r, "Test-CsBackupData", "-PoolFqdn", P1, "-BackupModule", PRESENCE, NULL);
	assert_string_equal(r.err, "csb: Test-CsBackupData: " P1 " and its backup copy at " P2
	                           " differ in " PRESENCE " (1 key range)\n");
	if (!ch_matches(r.out, "^" PRESENCE ": DIFFERENT \\(primary 100 records, backup copy 100 "
	                    "records, at seq 100\\)\n  \\[(\"load-0-[0-9]{10}\"|\\(start\\)), "
	                    "(\"load-0-[0-9]{10}\"|\\(end\\))\\)  primary [0-9]+ records, "
	                    "backup copy [0-9]+ records$"))
		fail_msg("verify output:\n%s", r.out);
	ch_result_free(&r);

	ch_ok(cl, 1, &r, "verify", "-PoolFqdn", P1, "-BackupModule", PRESENCE, "--json", NULL);
	j = ch_json(&r);
	assert_false(json_is_true(json_object_get(j, "Equal")));
	m = json_array_get(json_object_get(j, "Modules"), 0);
	assert_string_equal(json_string_value(json_object_get(m, "Identity")), PRESENCE);
	assert_false(json_is_true(json_object_get(m, "Equal")));
	assert_int_equal(json_array_size(json_object_get(m, "Diffs")), 1);
	d = json_array_get(json_object_get(m, "Diffs"), 0);
	lo = json_string_value(json_object_get(d, "Lo")); /* NULL: open */
	hi = json_string_value(json_object_get(d, "Hi"));
	assert_true(lo == NULL || strcmp(lo, KEY42) <= 0);
	assert_true(hi == NULL || strcmp(hi, KEY42) > 0);
	json_decref(j);
	ch_result_free(&r);

	/* Other modules are still equal. */
	ch_ok(cl, 0, &r, "verify", "-PoolFqdn", P1, "-BackupModule", "ConfServices.DataConf", NULL);
	ch_result_free(&r);
}

/* The coordinator stopped: exit 4 once the retries are spent (3 attempts, each waiting at
 * most 3 s for a connection; nothing is sent), with the reason a dial found. */
static void test_unreachable_coordinator_exits_4(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char want[512];

	ch_ok(cl, 0, &r, "cluster", "kill", "--dir", cl->dir, "--node", "coordinator", NULL);
	ch_result_free(&r);
	snprintf(want, sizeof(want), "csb: Get-CsPoolState: the coordinator at %s: connection "
	                             "refused\n", ch_coordinator_url(cl));
	ch_ok(cl, 4, &r, "Get-CsPoolState", "-PoolFqdn", P1, NULL);
	assert_string_equal(r.err, want);
	assert_int_equal(r.out_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "cluster", "start", "--dir", cl->dir, "--node", "coordinator", NULL);
	ch_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_text),
		cmocka_unit_test(test_status_json),
		cmocka_unit_test(test_pool_state),
		cmocka_unit_test(test_verify_finds_a_changed_backup_record),
		cmocka_unit_test(test_unreachable_coordinator_exits_4),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
