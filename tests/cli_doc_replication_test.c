/* The replication cmdlets as Microsoft documents them (skype/skype-ps/skype/<Cmdlet>.md),
 * through the real csb on local clusters: Invoke-CsManagementStoreReplication (both
 * documented examples, -ReplicaFqdn without its name as its Position says, -Force, -WhatIf,
 * -Confirm) and Remove-CsUserStoreBackupData (-Force, -WhatIf, -Confirm) after a re-pairing
 * left pool02 with copies of a former partner. Each run asserts its exit code and exact
 * output; -WhatIf and a refused -Confirm are shown to change nothing by the run after them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "storage/store.h"
#include "storage/tamper.h"
#include "tests/cli_harness.h"

#define P1 "pool01.csb.test"
#define P2 "pool02.csb.test"
#define P3 "pool03.csb.test"
#define P4 "pool04.csb.test"
#define PRESENCE "UserServices.PresenceFocus"
#define CMDLET "Invoke-CsManagementStoreReplication"

static int up4(void **state)
{
	return ch_setup_pools(state, "4");
}

/* The Central Management store's high seq (Get-CsManagementStoreReplicationStatus). */
static long long cms_high(struct ch_cluster *cl)
{
	struct ch_result r;
	json_t *doc;
	long long seq;

	ch_ok(cl, 0, &r, "Get-CsManagementStoreReplicationStatus", "--json", NULL);
	doc = ch_json(&r);
	seq = json_integer_value(json_object_get(doc, "HighSeq"));
	json_decref(doc);
	ch_result_free(&r);
	assert_true(seq > 0);
	return seq;
}

/* Damages pool's replica of the CMS behind its cursor's back (its agent stopped meanwhile):
 * only a replication that compares digests finds it. */
static void damage_replica(struct ch_cluster *cl, const char *pool)
{
	struct ch_result r;
	char dir[CH_PATH + 32];
	csb_store *st;

	ch_ok(cl, 0, &r, "cluster", "kill", "--dir", cl->dir, "--node", pool, NULL);
	ch_result_free(&r);
	snprintf(dir, sizeof(dir), "%s/%s", cl->dir, pool);
	assert_int_equal(csb_store_open(dir, NULL, &st), CSB_OK);
	assert_int_equal(csb_store_tamper(st, "csb-coordinator", "CentralMgmt.CMSMaster", "topology",
	                                  8),
	                 CSB_OK);
	csb_store_close(st);
	ch_ok(cl, 0, &r, "cluster", "start", "--dir", cl->dir, "--node", pool, NULL);
	ch_result_free(&r);
}

static void expect_out(const struct ch_result *r, const char *fmt, long long seq)
{
	char want[512];

	snprintf(want, sizeof(want), fmt, seq, seq);
	assert_string_equal(r->out, want);
}

/* Example 1 (every replica) and Example 2 (-ReplicaFqdn), as written; -ReplicaFqdn without
 * its name; a pool that is not in the topology. */
static void test_replication_examples(void **state)
{
	struct ch_cluster *cl = *state;
	long long seq = cms_high(cl);
	struct ch_result r;

	ch_ok(cl, 0, &r, CMDLET, NULL);
	expect_out(&r, P1 ": UpToDate (seq %lld)\n" P2 ": UpToDate (seq %lld)\n", seq);
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, CMDLET, "-ReplicaFqdn", P1, NULL);
	expect_out(&r, P1 ": UpToDate (seq %lld)\n", seq);
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, CMDLET, "POOL02.csb.test", NULL); /* Position 2 */
	expect_out(&r, P2 ": UpToDate (seq %lld)\n", seq);
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 1, &r, CMDLET, "pool09.csb.test", NULL);
	assert_string_equal(r.err, "csb: " CMDLET ": pool09.csb.test is not a pool of the "
	                           "published topology\n");
	assert_int_equal(r.out_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 2, &r, CMDLET, P1, P2, NULL);
	assert_string_equal(r.err, "csb: " CMDLET ": unexpected argument '" P2 "' (parameters "
	                           "are written -Name value)\n");
	ch_result_free(&r);
}

/* -WhatIf and a -Confirm answered no leave a damaged replica as it is (the next run still
 * repairs it); -Force repairs it without the warning; -Confirm answered yes runs, with the
 * warning. */
static void test_replication_whatif_confirm_force(void **state)
{
	struct ch_cluster *cl = *state;
	long long seq = cms_high(cl);
	struct ch_result r;

	damage_replica(cl, P2);
	ch_ok(cl, 0, &r, CMDLET, P2, "-WhatIf", NULL);
	assert_string_equal(r.out, "What if: Performing the operation \"" CMDLET "\" on target \""
	                           P2 "\": replicate the Central Management store\n");
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, CMDLET, "-WhatIf", NULL);
	assert_string_equal(r.out, "What if: Performing the operation \"" CMDLET "\" on target "
	                           "\"every replica\": replicate the Central Management store\n");
	ch_result_free(&r);
	ch_run_in(cl, "n\n", 0, &r, CMDLET, "-Confirm", NULL);
	assert_string_equal(r.err, "Replicate the Central Management store to every replica? "
	                           "[y/N] Not confirmed; nothing was done.\n");
	assert_int_equal(r.out_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, CMDLET, "-ReplicaFqdn", P2, "-Force", NULL);
	expect_out(&r, P2 ": UpToDate (seq %lld, repaired)\n", seq);
	assert_int_equal(r.err_len, 0); /* -Force: no warning */
	ch_result_free(&r);

	damage_replica(cl, P2);
	ch_run_in(cl, "y\n", 0, &r, CMDLET, "-Confirm", NULL);
	expect_out(&r, P1 ": UpToDate (seq %lld)\n" P2 ": UpToDate (seq %lld, repaired)\n", seq);
	assert_string_equal(r.err, "Replicate the Central Management store to every replica? "
	                           "[y/N] WARNING: the replica of " P2 " differed from the Central "
	                           "Management store and was repaired\n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, CMDLET, "-Force", NULL); /* nothing left to repair */
	expect_out(&r, P1 ": UpToDate (seq %lld)\n" P2 ": UpToDate (seq %lld)\n", seq);
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);
}

/* Pairs 01-03 and 02-04 instead of 01-02 and 03-04, and waits until pool02's agent follows
 * (its backup pool is pool04). */
static void repair_pairs(struct ch_cluster *cl)
{
	static const char *const pairs[][2] = {{P1, P3}, {P3, P1}, {P2, P4}, {P4, P2}};
	struct timespec pause = {0, 100 * 1000 * 1000};
	struct ch_result r;
	char path[CH_PATH + 32];
	json_t *t, *p;
	size_t i;

	ch_ok(cl, 0, &r, "Get-CsTopology", "--json", NULL);
	t = ch_json(&r);
	ch_result_free(&r);
	json_array_foreach(json_object_get(t, "pools"), i, p)
		for (size_t k = 0; k < 4; k++)
			if (strcmp(json_string_value(json_object_get(p, "fqdn")), pairs[k][0]) == 0)
				json_object_set_new(p, "backup", json_string(pairs[k][1]));
	snprintf(path, sizeof(path), "%s/repaired.json", cl->work);
	assert_int_equal(json_dump_file(t, path, 0), 0);
	json_decref(t);
	ch_ok(cl, 0, &r, "Publish-CsTopology", "-FileName", path, NULL);
	ch_result_free(&r);
	for (int n = 0; n < 200; n++) {
		json_t *doc;
		bool moved;

		ch_ok(cl, 0, &r, "Get-CsBackupServiceStatus", "-PoolFqdn", P2, "--json", NULL);
		doc = ch_json(&r);
		ch_result_free(&r);
		moved = strcmp(json_string_value(json_object_get(doc, "BackupPoolFqdn")), P4) == 0;
		json_decref(doc);
		if (moved)
			return;
		nanosleep(&pause, NULL);
	}
	fail_msg(P2 " never followed the new pairing");
}

#define WOULD_REMOVE                                                                       \
	"What if: would remove: the copy of " P1 "'s ConfServices.DataConf (0 records)\n"     \
	"What if: would remove: the copy of " P1 "'s " PRESENCE " (100 records)\n"

/* Remove-CsUserStoreBackupData: -WhatIf lists what would go, -Confirm answered no keeps it,
 * answered yes removes it; then nothing is left: a warning, or silence with -Force. */
static void test_remove_backup_data(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;

	ch_ok(cl, 0, &r, "data", "load", "-PoolFqdn", P1, "-Module", PRESENCE, "-Count", "100",
	      NULL);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Invoke-CsBackupServiceSync", "-PoolFqdn", P1, NULL);
	ch_result_free(&r);
	/* Still paired: pool02's copy of pool01 is not outdated. */
	ch_ok(cl, 0, &r, "Remove-CsUserStoreBackupData", "-PoolFqdn", P2, "-WhatIf", NULL);
	assert_int_equal(r.out_len, 0);
	assert_string_equal(r.err, "WARNING: " P2 " holds no backup data of former partners\n");
	ch_result_free(&r);

	repair_pairs(cl);
	ch_ok(cl, 0, &r, "Remove-CsUserStoreBackupData", "-PoolFqdn", P2, "-WhatIf", NULL);
	assert_string_equal(r.out, WOULD_REMOVE);
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);
	ch_run_in(cl, "no\n", 0, &r, "Remove-CsUserStoreBackupData", "-PoolFqdn", P2, "-Confirm",
	          NULL);
	assert_string_equal(r.err, "Remove the backup data " P2 " holds for its former partners? "
	                           "[y/N] Not confirmed; nothing was done.\n");
	assert_int_equal(r.out_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Remove-CsUserStoreBackupData", "-PoolFqdn", P2, "-WhatIf", NULL);
	assert_string_equal(r.out, WOULD_REMOVE); /* still there */
	ch_result_free(&r);
	ch_run_in(cl, "yes\n", 0, &r, "Remove-CsUserStoreBackupData", "-PoolFqdn", P2, "-Confirm",
	          NULL);
	assert_string_equal(r.out, "removed: the copy of " P1 "'s ConfServices.DataConf "
	                           "(0 records)\n"
	                           "removed: the copy of " P1 "'s " PRESENCE " (100 records)\n");
	assert_string_equal(r.err, "Remove the backup data " P2 " holds for its former partners? "
	                           "[y/N] ");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Remove-CsUserStoreBackupData", "-PoolFqdn", P2, NULL);
	assert_int_equal(r.out_len, 0);
	assert_string_equal(r.err, "WARNING: " P2 " holds no backup data of former partners\n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Remove-CsUserStoreBackupData", "-PoolFqdn", P2, "-Force", NULL);
	assert_int_equal(r.out_len, 0);
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Remove-CsUserStoreBackupData", "-PoolFqdn", P2, "-Force", "-WhatIf",
	      "--json", NULL);
	assert_string_equal(r.out, "{\"PoolFqdn\":\"" P2 "\",\"WhatIf\":true,\"Removed\":[]}\n");
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);
	/* pool01 still replicates, to its new backup pool. */
	ch_ok(cl, 0, &r, "Invoke-CsBackupServiceSync", "-PoolFqdn", P1, NULL);
	ch_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replication_examples),
		cmocka_unit_test(test_replication_whatif_confirm_force),
		cmocka_unit_test_setup_teardown(test_remove_backup_data, up4, ch_teardown),
	};
	return cmocka_run_group_tests(tests, ch_group_up, ch_group_down);
}
