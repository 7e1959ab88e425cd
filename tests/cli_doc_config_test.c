/* The backup service configuration cmdlets as Microsoft documents them
 * (skype/skype-ps/skype/<Cmdlet>.md), run through the real csb on a local cluster: Get-, Set-
 * and Remove-CsBackupServiceConfiguration. Each documented example runs as written
 * ("global" and all), and each documented parameter is used, with its exit code and its
 * effect: the coordinator's configuration, the agents' replicas, and RBAC for
 * -AuthorizedUniversalGroups. The documented parameters that name what csbackup has not
 * are refused with exit 2 and change nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/cli_harness.h"

#define P1 "pool01.csb.test"
#define DEFAULTS                                                                           \
	"Identity                   : Global\n"                                                \
	"SyncInterval               : 00:02:00\n"                                              \
	"MaxBatchesPerUserStoreSync : 500\n"                                                   \
	"MaxBatchesPerCmsSync       : 500\n"                                                   \
	"MaxDataConfPackageSizeKB   : 102400\n"                                                \
	"AuthorizedUniversalGroups  : {}\n"                                                    \
	"EnableRgsBackupService     : False\n"                                                 \
	"MaxConcurrentCalls         : 10\n"

/* The coordinator's configuration holds needle (its compact JSON). */
static void config_has(struct ch_cluster *cl, const char *needle)
{
	struct ch_result r;

	ch_ok(cl, 0, &r, "Get-CsBackupServiceConfiguration", "--json", NULL);
	if (strstr(r.out, needle) == NULL)
		fail_msg("the configuration has no %s:\n%s", needle, r.out);
	ch_result_free(&r);
}

/* The local replica (pool01's agent) comes to hold needle within 10 s. */
static void replica_gets(struct ch_cluster *cl, const char *needle)
{
	struct timespec pause = {0, 50 * 1000 * 1000};
	struct ch_result r;

	for (int i = 0; i < 200; i++) {
		ch_ok(cl, 0, &r, "Get-CsBackupServiceConfiguration", "-LocalStore", "--json", NULL);
		if (strstr(r.out, needle) != NULL) {
			ch_result_free(&r);
			return;
		}
		ch_result_free(&r);
		nanosleep(&pause, NULL);
	}
	fail_msg("pool01's replica never got %s", needle);
}

/* Example 1: Get-CsBackupServiceConfiguration; -Identity (also without its name), -Filter
 * with wildcards, -LocalStore. */
static void test_get(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;

	ch_ok(cl, 0, &r, "Get-CsBackupServiceConfiguration", NULL);
	assert_string_equal(r.out, DEFAULTS);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsBackupServiceConfiguration", "-Identity", "global", NULL);
	assert_string_equal(r.out, DEFAULTS);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsBackupServiceConfiguration", "global", NULL);
	assert_string_equal(r.out, DEFAULTS);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsBackupServiceConfiguration", "-Filter", "g*", NULL);
	assert_string_equal(r.out, DEFAULTS);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsBackupServiceConfiguration", "-Filter", "G?OBAL", "--json", NULL);
	assert_string_equal(r.out, "[{\"Identity\":\"Global\",\"SyncInterval\":\"00:02:00\","
	                           "\"MaxBatchesPerUserStoreSync\":500,\"MaxBatchesPerCmsSync\":500,"
	                           "\"MaxDataConfPackageSizeKB\":102400,"
	                           "\"AuthorizedUniversalGroups\":[],"
	                           "\"EnableRgsBackupService\":false,\"MaxConcurrentCalls\":10}]\n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsBackupServiceConfiguration", "-Filter", "site:*", NULL);
	assert_int_equal(r.out_len, 0);
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsBackupServiceConfiguration", "-Filter", "x*", "--json", NULL);
	assert_string_equal(r.out, "[]\n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsBackupServiceConfiguration", "-LocalStore", NULL);
	assert_string_equal(r.out, DEFAULTS);
	ch_result_free(&r);
	ch_ok(cl, 2, &r, "Get-CsBackupServiceConfiguration", "-Identity", "global", "-Filter", "g*",
	      NULL);
	assert_string_equal(r.err, "csb: Get-CsBackupServiceConfiguration: -Identity and -Filter "
	                           "cannot be used together\n");
	ch_result_free(&r);
}

/* A topology with the principal helpdesk in the group Schema Admins. */
static void helpdesk_in_schema_admins(struct ch_cluster *cl)
{
	char path[CH_PATH + 32];
	struct ch_result r;
	json_t *t;

	ch_ok(cl, 0, &r, "cluster", "issue-cert", "--dir", cl->dir, "--principal", "helpdesk",
	      NULL);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsTopology", "--json", NULL);
	t = ch_json(&r);
	ch_result_free(&r);
	json_array_append_new(json_object_get(t, "principals"),
	                      json_pack("{s:s, s:[s]}", "name", "helpdesk", "groups",
	                                "Schema Admins"));
	snprintf(path, sizeof(path), "%s/topology.json", cl->work);
	assert_int_equal(json_dump_file(t, path, 0), 0);
	json_decref(t);
	ch_ok(cl, 0, &r, "Publish-CsTopology", "-FileName", path, "-Force", NULL);
	ch_result_free(&r);
}

/* The three examples of Set-CsBackupServiceConfiguration, as written. */
static void test_set_examples(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;

	/* Example 1: the group may then run Get-CsBackupServiceStatus (RBAC). */
	helpdesk_in_schema_admins(cl);
	ch_ok(cl, 3, &r, "--as", "helpdesk", "Get-CsBackupServiceStatus", "-PoolFqdn", P1, NULL);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Set-CsBackupServiceConfiguration", "-Identity", "global",
	      "-AuthorizedUniversalGroups", "Schema Admins", NULL);
	assert_non_null(strstr(r.out, "AuthorizedUniversalGroups  : {Schema Admins}\n"));
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "--as", "helpdesk", "Get-CsBackupServiceStatus", "-PoolFqdn", P1, NULL);
	ch_result_free(&r);
	ch_ok(cl, 3, &r, "--as", "helpdesk", "Get-CsBackupServiceConfiguration", NULL);
	ch_result_free(&r);

	/* Example 2: stored, and every agent's replica of the configuration has it. */
	ch_ok(cl, 0, &r, "Set-CsBackupServiceConfiguration", "-Identity", "global",
	      "-MaxConcurrentCalls", "12", NULL);
	assert_non_null(strstr(r.out, "MaxConcurrentCalls         : 12\n"));
	ch_result_free(&r);
	config_has(cl, "\"MaxConcurrentCalls\":12");
	replica_gets(cl, "\"MaxConcurrentCalls\":12");

	/* Example 3. */
	ch_ok(cl, 0, &r, "Set-CsBackupServiceConfiguration", "-Identity", "global",
	      "-SyncInterval", "00:10:00", NULL);
	ch_result_free(&r);
	config_has(cl, "\"SyncInterval\":\"00:10:00\"");
	replica_gets(cl, "\"SyncInterval\":\"00:10:00\"");
}

/* Every other parameter: the counts, -EnableRgsBackupService, -Identity left out, -WhatIf,
 * -Confirm, -Force, and the refused ones. */
static void test_set_parameters(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;

	ch_ok(cl, 0, &r, "Set-CsBackupServiceConfiguration", "-MaxBatchesPerCmsSync", "600",
	      "-MaxBatchesPerUserStoreSync", "700", "-MaxDataConfPackageSizeKB", "2048",
	      "-EnableRgsBackupService", "$true", NULL);
	ch_result_free(&r);
	config_has(cl, "\"MaxBatchesPerUserStoreSync\":700,\"MaxBatchesPerCmsSync\":600,"
	               "\"MaxDataConfPackageSizeKB\":2048,\"AuthorizedUniversalGroups\":"
	               "[\"Schema Admins\"],\"EnableRgsBackupService\":true,"
	               "\"MaxConcurrentCalls\":12");

	ch_ok(cl, 0, &r, "Set-CsBackupServiceConfiguration", "Global", "-SyncInterval", "30",
	      "-MaxConcurrentCalls", "20", "-WhatIf", NULL);
	assert_string_equal(r.out, "What if: Performing the operation "
	                           "\"Set-CsBackupServiceConfiguration\" on target \"Global\":\n"
	                           "  SyncInterval: 00:10:00 -> 00:00:30\n"
	                           "  MaxConcurrentCalls: 12 -> 20\n");
	ch_result_free(&r);
	config_has(cl, "\"SyncInterval\":\"00:10:00\"");

	ch_run_in(cl, "n\n", 0, &r, "Set-CsBackupServiceConfiguration", "-SyncInterval", "30",
	       "-Confirm", NULL);
	assert_string_equal(r.err, "Set-CsBackupServiceConfiguration on Global: SyncInterval: "
	                           "00:10:00 -> 00:00:30? [y/N] Not confirmed; nothing was done.\n");
	ch_result_free(&r);
	config_has(cl, "\"SyncInterval\":\"00:10:00\"");
	ch_run_in(cl, "y\n", 0, &r, "Set-CsBackupServiceConfiguration", "-SyncInterval", "30",
	       "-Confirm", NULL);
	ch_result_free(&r);
	config_has(cl, "\"SyncInterval\":\"00:00:30\"");

	ch_ok(cl, 0, &r, "Set-CsBackupServiceConfiguration", "-SyncInterval", "30", NULL);
	assert_string_equal(r.err, "WARNING: Global already has these values; nothing changed\n");
	assert_int_equal(r.out_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Set-CsBackupServiceConfiguration", "-SyncInterval", "30", "-Force", NULL);
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);

	ch_ok(cl, 2, &r, "Set-CsBackupServiceConfiguration", "-AuthorizedLocalAccounts",
	      "NetworkService", NULL);
	assert_string_equal(r.err, "csb: Set-CsBackupServiceConfiguration: -AuthorizedLocalAccounts "
	                           "names Windows local accounts allowed to run the backup "
	                           "service; csbackup's services run as their pools' "
	                           "certificates and callers are authorized by certificate and "
	                           "by the groups the topology gives them (see "
	                           "-AuthorizedUniversalGroups)\n");
	ch_result_free(&r);
	ch_ok(cl, 2, &r, "Set-CsBackupServiceConfiguration", "-Instance", "$x", NULL);
	ch_result_free(&r);
	ch_ok(cl, 2, &r, "Set-CsBackupServiceConfiguration", "-SyncInterval", "60",
	      "-MaxHighPriQueuePercentagePerUserStoreSync", "50", NULL);
	ch_result_free(&r);
	config_has(cl, "\"SyncInterval\":\"00:00:30\""); /* nothing changed */
}

/* Example 1 of Remove-CsBackupServiceConfiguration; -WhatIf, -Confirm, -Force. */
static void test_remove(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;

	ch_ok(cl, 0, &r, "Remove-CsBackupServiceConfiguration", "-Identity", "global", "-WhatIf",
	      NULL);
	assert_string_equal(r.out, "What if: Performing the operation "
	                           "\"Remove-CsBackupServiceConfiguration\" on target \"Global\":\n"
	                           "  SyncInterval: 00:00:30 -> 00:02:00\n"
	                           "  MaxConcurrentCalls: 12 -> 10\n"
	                           "  MaxBatchesPerCmsSync: 600 -> 500\n"
	                           "  MaxBatchesPerUserStoreSync: 700 -> 500\n"
	                           "  MaxDataConfPackageSizeKB: 2048 -> 102400\n"
	                           "  AuthorizedUniversalGroups: {Schema Admins} -> {}\n"
	                           "  EnableRgsBackupService: True -> False\n");
	ch_result_free(&r);
	ch_run_in(cl, "\n", 0, &r, "Remove-CsBackupServiceConfiguration", "global", "-Confirm", NULL);
	assert_non_null(strstr(r.err, "Not confirmed; nothing was done.\n"));
	ch_result_free(&r);
	config_has(cl, "\"SyncInterval\":\"00:00:30\"");

	ch_ok(cl, 0, &r, "Remove-CsBackupServiceConfiguration", "-Identity", "global", NULL);
	assert_string_equal(r.out, DEFAULTS);
	ch_result_free(&r);
	replica_gets(cl, "\"MaxConcurrentCalls\":10");
	ch_ok(cl, 0, &r, "Remove-CsBackupServiceConfiguration", "-Identity", "global", NULL);
	assert_string_equal(r.err, "WARNING: Global already has its default values; nothing "
	                           "changed\n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Remove-CsBackupServiceConfiguration", "-Identity", "global", "-Force",
	      NULL);
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 2, &r, "Remove-CsBackupServiceConfiguration", NULL);
	assert_string_equal(r.err, "csb: Remove-CsBackupServiceConfiguration: -Identity is "
	                           "required\n");
	ch_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_set_examples),
		cmocka_unit_test(test_set_parameters),
		cmocka_unit_test(test_remove),
	};
	return cmocka_run_group_tests(tests, ch_group_up, ch_group_down);
}
