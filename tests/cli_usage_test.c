/* The real csb binary's usage errors (SPEC.md §3): exit 2, one exact line on stderr,
 * nothing on stdout, and nothing sent anywhere — the cluster folder here names a
 * coordinator that does not exist, so any call would fail differently. Also the pipeline
 * input's own usage errors and the cmdlets this version does not have. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/cli_harness.h"

#define P "pool01.csb.test"

/* Runs the arguments; expects exit `code` and exactly `line` on stderr, nothing on stdout. */
#define EXPECT(code, line, ...) expect(cl, NULL, code, line, __VA_ARGS__, NULL)
#define EXPECT_IN(in, code, line, ...) expect(cl, in, code, line, __VA_ARGS__, NULL)

static void expect(struct ch_cluster *cl, const char *in, int code, const char *line, ...)
{
	char *argv[32];
	struct ch_result r;
	va_list ap;
	size_t n = 0;

	va_start(ap, line);
	while (n < 31 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	ch_runv(cl, in, &r, argv);
	if (r.code != code || strcmp(r.err, line) != 0 || r.out_len != 0)
		fail_msg("%s: exit %d (want %d)\nstderr: %s\nwant:   %sstdout: %s", argv[0], r.code,
		         code, r.err, line, r.out);
	ch_result_free(&r);
}

static void test_unknown_parameter(void **state)
{
	struct ch_cluster *cl = *state;

	EXPECT(2, "csb: Backup-CsPool: unknown parameter -Foo\n", "Backup-CsPool", "-PoolFqdn", P,
	       "-Foo");
	EXPECT(2, "csb: Get-CsBackupServiceStatus: unknown parameter -BackupModule\n", "status",
	       "-PoolFqdn", P, "-BackupModule", "UserServices.PresenceFocus");
	EXPECT(2, "csb: Invoke-CsBackupServiceSync: unknown parameter --steady-state\n", "sync",
	       "-PoolFqdn", P, "--steady-state");
	EXPECT(2, "csb: data list: unknown parameter -Value\n", "data", "list", "-PoolFqdn", P,
	       "-Module", "UserServices.PresenceFocus", "-Value", "x");
	EXPECT(2, "csb: unknown cmdlet 'Backup-CsPools' (did you mean Backup-CsPool?)\n",
	       "Backup-CsPools", "-PoolFqdn", P);
	EXPECT(2, "csb: unknown cmdlet 'Frobnicate-CsPool' (csb --help lists them)\n",
	       "Frobnicate-CsPool");
	EXPECT(2, "csb: Backup-CsPool: unknown parameter -PoolFdqn (did you mean -PoolFqdn?)\n",
	       "Backup-CsPool", "-PoolFdqn", P);
}

static void test_missing_value(void **state)
{
	struct ch_cluster *cl = *state;

	EXPECT(2, "csb: Backup-CsPool: -PoolFqdn needs a value\n", "Backup-CsPool", "-PoolFqdn");
	EXPECT(2, "csb: Backup-CsPool: -RetryCount needs a value\n", "Backup-CsPool", "-PoolFqdn",
	       P, "-RetryCount", "-SteadyState");
	EXPECT(2, "csb: Backup-CsPool: -WaitTime needs a value\n", "backup-pool", "-PoolFqdn", P,
	       "-WaitTime");
	EXPECT(2, "csb: Backup-CsPool: -Report needs a value\n", "Backup-CsPool", "-PoolFqdn", P,
	       "-Report");
	EXPECT(2, "csb: Test-CsBackupData: -PoolFqdn is required\n", "Test-CsBackupData");
	EXPECT(2, "csb: data put: -Value or -ValueFile is required\n", "data", "put", "-PoolFqdn",
	       P, "-Module", "UserServices.PresenceFocus", "-Key", "k");
	EXPECT(2, "csb: data load: -Count is required\n", "data", "load", "-PoolFqdn", P,
	       "-Module", "UserServices.PresenceFocus");
}

static void test_conflicting_switches(void **state)
{
	struct ch_cluster *cl = *state;

	EXPECT(2, "csb: Backup-CsPool: -FullBackup and -SteadyState cannot be used together\n",
	       "Backup-CsPool", "-PoolFqdn", P, "-FullBackup", "-SteadyState");
	EXPECT(2, "csb: Backup-CsPool: -FullBackup and -SteadyState cannot be used together\n",
	       "backup-pool", "--steady-state", "--full-backup", "--pool-fqdn", P);
	EXPECT(2, "csb: Backup-CsPool: -FailedOverPoolOnly requires -FullBackup\n", "Backup-CsPool",
	       "-PoolFqdn", P, "-FailedOverPoolOnly");
	EXPECT(2, "csb: Backup-CsPool: -FailedOverPoolOnly requires -FullBackup\n", "Backup-CsPool",
	       "-PoolFqdn", P, "-FailedOverPoolOnly", "-SteadyState");
	EXPECT(2, "csb: data load: -UpdateFraction and -DeleteFraction together must not exceed 1\n",
	       "data", "load", "-PoolFqdn", P, "-Module", "UserServices.PresenceFocus", "-Count",
	       "10", "-UpdateFraction", "0.6", "-DeleteFraction", "0.5");
}

static void test_bad_fqdn(void **state)
{
	struct ch_cluster *cl = *state;

	EXPECT(2, "csb: Backup-CsPool: -PoolFqdn: 'pool01' is not a valid FQDN (not fully "
	          "qualified (no domain))\n", "Backup-CsPool", "-PoolFqdn", "pool01");
	EXPECT(2, "csb: Get-CsBackupServiceStatus: -PoolFqdn: 'pool_1.csb.test' is not a valid "
	          "FQDN (only letters, digits, '-' and '.' are allowed)\n", "status", "-PoolFqdn",
	       "pool_1.csb.test");
	EXPECT(2, "csb: Backup-CsPool: -PoolFqdn: '-' (pools from stdin) is only accepted by "
	          "Invoke-CsBackupServiceSync\n", "Backup-CsPool", "-PoolFqdn", "-");
}

static void test_unknown_module_and_category(void **state)
{
	struct ch_cluster *cl = *state;

	EXPECT(2, "csb: Invoke-CsBackupServiceSync: -BackupModule: unknown module 'UserServices'\n",
	       "Invoke-CsBackupServiceSync", "-PoolFqdn", P, "-BackupModule", "UserServices");
	EXPECT(2, "csb: Test-CsBackupData: -BackupModule: unknown module 'X'\n", "verify",
	       "-PoolFqdn", P, "-BackupModule", "X");
	EXPECT(2, "csb: data get: -Module: unknown module 'Foo.Bar'\n", "data", "get", "-PoolFqdn",
	       P, "-Module", "Foo.Bar", "-Key", "k");
	EXPECT(2, "csb: Get-CsBackupServiceStatus: -Category: unknown category 'X' (CMS, UserData "
	          "or RGS)\n", "status", "-PoolFqdn", P, "-Category", "X");
	EXPECT(2, "csb: Backup-CsPool: -Category: unknown category 'All' (CMS, UserData or RGS)\n",
	       "Backup-CsPool", "-PoolFqdn", P, "-Category", "All");
}

/* Pipeline input is checked whole before any pool is synced. */
static void test_pipeline_input(void **state)
{
	struct ch_cluster *cl = *state;

	EXPECT_IN(CH_TTY, 2, "csb: Invoke-CsBackupServiceSync: -PoolFqdn is required\n", "sync");
	EXPECT_IN("pool01.csb.test\n\nbad_pool.csb.test\n", 2,
	          "csb: Invoke-CsBackupServiceSync: stdin line 3: 'bad_pool.csb.test' is not a "
	          "valid FQDN (only letters, digits, '-' and '.' are allowed)\n", "sync");
	EXPECT_IN("pool01\n", 2,
	          "csb: Invoke-CsBackupServiceSync: stdin line 1: 'pool01' is not a valid FQDN "
	          "(not fully qualified (no domain))\n", "Invoke-CsBackupServiceSync", "-PoolFqdn",
	          "-");
	EXPECT_IN("\n  \n", 2, "csb: Invoke-CsBackupServiceSync: no pool FQDN on stdin\n", "sync");
	EXPECT(2, "csb: Invoke-CsBackupServiceSync: no pool FQDN on stdin\n", "sync", "-PoolFqdn",
	       "-");
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_parameter),
		cmocka_unit_test(test_missing_value),
		cmocka_unit_test(test_conflicting_switches),
		cmocka_unit_test(test_bad_fqdn),
		cmocka_unit_test(test_unknown_module_and_category),
		cmocka_unit_test(test_pipeline_input),
	};
	return cmocka_run_group_tests(tests, ch_group_fake, ch_group_down);
}
