/* PowerShell habits through the real csb on a local cluster: the common parameters
 * -Verbose (the steps on stderr), -ErrorAction (a failing pool of the pipeline input stops
 * it or not, shown or not) and -WarningAction (warnings shown, hidden, or stopping the
 * cmdlet); -? and --help with the documented examples; "did you mean"; a parameter given
 * without its name where the documentation gives it a position. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cli_harness.h"

#define P1 "pool01.csb.test"
#define P2 "pool02.csb.test"
#define SYNC "csb: Invoke-CsBackupServiceSync: "
#define NOT_A_POOL "pool09.csb.test: pool09.csb.test is not a pool of the published topology\n"
#define PIPED "pool09.csb.test\n" P1 "\n"

/* -Verbose: the same answer on stdout, and the steps, each a VERBOSE: line, on stderr. */
static void test_verbose(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result quiet, loud;

	ch_ok(cl, 0, &quiet, "Get-CsPoolBackupRelationship", "-PoolFqdn", P1, NULL);
	ch_ok(cl, 0, &loud, "Get-CsPoolBackupRelationship", "-PoolFqdn", P1, "-Verbose", NULL);
	assert_string_equal(loud.out, quiet.out);
	assert_int_equal(quiet.err_len, 0);
	assert_true(ch_starts_with(loud.err, "VERBOSE: cluster folder "));
	assert_non_null(strstr(loud.err, "\nVERBOSE: csb.Admin/GetRelationship at the coordinator "));
	for (const char *p = loud.err; *p != '\0'; p = strchr(p, '\n') + 1)
		assert_true(ch_starts_with(p, "VERBOSE: "));
	ch_result_free(&quiet);
	ch_result_free(&loud);

	ch_ok(cl, 0, &quiet, "data", "put", "-PoolFqdn", P1, "-Module",
	      "UserServices.PresenceFocus", "-Key", "user/1", "-Value", "online", NULL);
	ch_result_free(&quiet);
	ch_ok(cl, 0, &loud, "data", "get", "-PoolFqdn", P1, "-Module", "UserServices.PresenceFocus",
	      "-Key", "user/1", "-vb", NULL);
	assert_string_equal(loud.out, "online");
	assert_non_null(strstr(loud.err, "VERBOSE: the agent of " P1 " is at tls+tcp://"));
	assert_non_null(strstr(loud.err, "VERBOSE: csb.Data/Get at the agent of " P1 "\n"));
	ch_result_free(&loud);
}

/* -ErrorAction with pipeline input: a pool that fails stops it (the default, and Stop), or
 * the others are still synced, with its error line (Continue) or without (SilentlyContinue);
 * the exit code says that one failed either way. */
static void test_error_action(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;

	ch_run_in(cl, PIPED, 1, &r, "Invoke-CsBackupServiceSync", NULL);
	assert_string_equal(r.err, SYNC NOT_A_POOL);
	assert_int_equal(r.out_len, 0);
	ch_result_free(&r);
	ch_run_in(cl, PIPED, 1, &r, "Invoke-CsBackupServiceSync", "-ErrorAction", "Stop", "-Force",
	       NULL);
	assert_string_equal(r.err, SYNC NOT_A_POOL);
	assert_int_equal(r.out_len, 0);
	ch_result_free(&r);
	ch_run_in(cl, PIPED, 1, &r, "Invoke-CsBackupServiceSync", "-ErrorAction", "Continue", NULL);
	assert_string_equal(r.err, SYNC NOT_A_POOL SYNC "1 of 2 pools were not synced (see "
	                           "above)\n");
	assert_true(ch_starts_with(r.out, "PoolFqdn       : " P1 "\nBackupPoolFqdn : " P2 "\n"));
	ch_result_free(&r);
	ch_run_in(cl, PIPED, 1, &r, "Invoke-CsBackupServiceSync", "-ea", "SilentlyContinue", "--json",
	       NULL);
	assert_string_equal(r.err, SYNC "1 of 2 pools were not synced\n");
	assert_true(ch_starts_with(r.out, "{\"Pools\":[{\"PoolFqdn\":\"" P1 "\""));
	ch_result_free(&r);
	/* A cmdlet's own failure ends it with its line whatever -ErrorAction says. */
	ch_ok(cl, 1, &r, "Get-CsBackupServiceStatus", "-PoolFqdn", "pool09.csb.test",
	      "-ErrorAction", "SilentlyContinue", NULL);
	assert_true(ch_starts_with(r.err, "csb: Get-CsBackupServiceStatus: "));
	ch_result_free(&r);
}

/* -WarningAction: shown (the default, and Continue), hidden, or the cmdlet stops there,
 * before it does what it warned about. */
static void test_warning_action(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char zip[CH_PATH + 32], want[CH_PATH * 2];

	snprintf(zip, sizeof(zip), "%s/config.zip", cl->work);
	ch_ok(cl, 0, &r, "Export-CsConfiguration", zip, NULL);
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Export-CsConfiguration", zip, "-WarningAction", "Continue", NULL);
	snprintf(want, sizeof(want), "WARNING: %s exists and is replaced\n", zip);
	assert_string_equal(r.err, want);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Export-CsConfiguration", zip, "-WarningAction", "SilentlyContinue", NULL);
	assert_int_equal(r.err_len, 0);
	assert_true(ch_starts_with(r.out, "configuration exported to "));
	ch_result_free(&r);
	ch_ok(cl, 1, &r, "Export-CsConfiguration", zip, "-wa", "Stop", NULL);
	snprintf(want, sizeof(want), "csb: Export-CsConfiguration: %s exists and is replaced "
	                             "(stopped: -WarningAction Stop)\n", zip);
	assert_string_equal(r.err, want);
	assert_int_equal(r.out_len, 0);
	ch_result_free(&r);
	ch_run_in(cl, "pool09.csb.test\n" P1 "\n", 1, &r, "Invoke-CsBackupServiceSync", "-Force",
	       "-WarningAction", "SilentlyContinue", NULL);
	assert_string_equal(r.err, SYNC "1 of 2 pools were not synced\n");
	ch_result_free(&r);
}

/* -? and --help: each parameter, its default, and the documented examples as csb runs them;
 * a misspelled name gets a suggestion and nothing is sent; positional parameters. */
static void test_help_suggestions_positional(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r, h;

	ch_ok(cl, 0, &r, "Get-CsPoolBackupRelationship", "-?", NULL);
	assert_true(ch_starts_with(r.out, "Get-CsPoolBackupRelationship (relationship): "));
	assert_non_null(strstr(r.out, "\n  -Force\n      No warning for a pool that has no backup "
	                              "pool.\n"));
	assert_non_null(strstr(r.out, "\nExamples:\n  csb Get-CsPoolBackupRelationship -PoolFqdn "
	                              P1 "\n"));
	ch_ok(cl, 0, &h, "relationship", "--help", NULL);
	assert_string_equal(h.out, r.out);
	ch_result_free(&h);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Invoke-CsPoolFailover", "-?", NULL);
	assert_non_null(strstr(r.out, "  -WaitTime <time> (default 00:01:00)\n"));
	ch_result_free(&r);

	ch_ok(cl, 2, &r, "Get-CsPoolBackupRelation", "-PoolFqdn", P1, NULL);
	assert_string_equal(r.err, "csb: unknown cmdlet 'Get-CsPoolBackupRelation' (did you mean "
	                           "Get-CsPoolBackupRelationship?)\n");
	ch_result_free(&r);
	ch_ok(cl, 2, &r, "Backup-CsPool", "-PoolFqdn", P1, "-SteadyStat", NULL);
	assert_string_equal(r.err, "csb: Backup-CsPool: unknown parameter -SteadyStat (did you mean "
	                           "-SteadyState?)\n");
	ch_result_free(&r);

	ch_ok(cl, 0, &r, "Remove-CsBackupServiceConfiguration", "global", "-WhatIf", NULL);
	assert_true(ch_starts_with(r.out, "What if: Performing the operation "
	                               "\"Remove-CsBackupServiceConfiguration\" on target "
	                               "\"Global\""));
	ch_result_free(&r);
	ch_ok(cl, 2, &r, "Get-CsBackupServiceStatus", P1, NULL);
	assert_string_equal(r.err, "csb: Get-CsBackupServiceStatus: unexpected argument '" P1 "' "
	                           "(-PoolFqdn is not positional: write -PoolFqdn " P1 ")\n");
	ch_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbose),
		cmocka_unit_test(test_error_action),
		cmocka_unit_test(test_warning_action),
		cmocka_unit_test(test_help_suggestions_positional),
	};
	return cmocka_run_group_tests(tests, ch_group_up, ch_group_down);
}
