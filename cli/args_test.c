/* Tests for the csb command line (cli/args.h): every command name form, every value type
 * good and bad, every usage error with its exact message, globals, help and usage text. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/args.h"
#include "cli/internal/cmdlets.h"

static csb_args a;
static char err[512];

static csb_err parse_v(const char **argv)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	return csb_args_parse(argc, (char **)argv, &a, err, sizeof(err));
}

/* PARSE("Backup-CsPool", "-PoolFqdn", "p.x") parses `csb Backup-CsPool -PoolFqdn p.x`. */
#define PARSE(...) parse_v((const char *[]){"csb", __VA_ARGS__, NULL})
#define OK(...) assert_int_equal(PARSE(__VA_ARGS__), CSB_OK)
#define BAD(msg, ...) do { \
		assert_int_equal(PARSE(__VA_ARGS__), CSB_EINVAL); \
		assert_string_equal(err, msg); \
	} while (0)

#define P "pool01.csb.test"
#define M "UserServices.PresenceFocus"

static int setup(void **state)
{
	(void)state;
	unsetenv("CSB_CLUSTER");
	memset(err, 0, sizeof(err));
	return 0;
}

/* Every command in every name form, with its required parameters. */
static const struct {
	csb_cmd cmd;
	const char *name, *alias;
	const char *args[7];
} cmds[] = {
	{CSB_CMD_BACKUP_POOL, "Backup-CsPool", "backup-pool", {"-PoolFqdn", P}},
	{CSB_CMD_SYNC, "Invoke-CsBackupServiceSync", "sync", {"-PoolFqdn", P}},
	{CSB_CMD_STATUS, "Get-CsBackupServiceStatus", "status", {"-PoolFqdn", P}},
	{CSB_CMD_GET_CONFIG, "Get-CsBackupServiceConfiguration", "get-config", {NULL}},
	{CSB_CMD_SET_CONFIG, "Set-CsBackupServiceConfiguration", "set-config",
	 {"-Identity", "Global"}},
	{CSB_CMD_RESET_CONFIG, "Remove-CsBackupServiceConfiguration", "reset-config",
	 {"-Identity", "Global"}},
	{CSB_CMD_RELATIONSHIP, "Get-CsPoolBackupRelationship", "relationship", {"-PoolFqdn", P}},
	{CSB_CMD_FAILOVER, "Invoke-CsPoolFailover", "failover", {"-PoolFqdn", P}},
	{CSB_CMD_FAILBACK, "Invoke-CsPoolFailback", "failback", {"-PoolFqdn", P}},
	{CSB_CMD_POOL_STATE, "Get-CsPoolState", "pool-state", {"-PoolFqdn", P}},
	{CSB_CMD_EXPORT_CONFIG, "Export-CsConfiguration", "export-config",
	 {"-FileName", "c.zip"}},
	{CSB_CMD_IMPORT_CONFIG, "Import-CsConfiguration", "import-config",
	 {"-FileName", "c.zip"}},
	{CSB_CMD_PUBLISH_TOPOLOGY, "Publish-CsTopology", "publish-topology",
	 {"-FileName", "t.json"}},
	{CSB_CMD_TOPOLOGY, "Get-CsTopology", "topology", {NULL}},
	{CSB_CMD_CMS_FAILOVER, "Invoke-CsManagementServerFailover", "cms-failover", {NULL}},
	{CSB_CMD_CMS_STATUS, "Get-CsManagementStoreReplicationStatus", "cms-status", {NULL}},
	{CSB_CMD_VERIFY, "Test-CsBackupData", "verify", {"-PoolFqdn", P}},
};

static csb_err parse_cmd(size_t k, const char *name)
{
	const char *argv[12] = {"csb", name};
	int argc = 2;

	for (int i = 0; cmds[k].args[i] != NULL; i++)
		argv[argc++] = cmds[k].args[i];
	return csb_args_parse(argc, (char **)argv, &a, err, sizeof(err));
}

static void test_cmdlet_name_forms(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		char lower[64], upper[64], alias_upper[64];
		const char *forms[4] = {cmds[k].name, lower, upper, cmds[k].alias};

		for (size_t i = 0; i <= strlen(cmds[k].name); i++) {
			lower[i] = (char)tolower((unsigned char)cmds[k].name[i]);
			upper[i] = (char)toupper((unsigned char)cmds[k].name[i]);
		}
		for (size_t i = 0; i <= strlen(cmds[k].alias); i++)
			alias_upper[i] = (char)toupper((unsigned char)cmds[k].alias[i]);
		for (size_t f = 0; f < 4; f++) {
			assert_int_equal(parse_cmd(k, forms[f]), CSB_OK);
			assert_int_equal(a.cmd, cmds[k].cmd);
			assert_string_equal(a.cmdlet, cmds[k].name);
		}
		assert_int_equal(parse_cmd(k, alias_upper), CSB_OK);
		assert_int_equal(a.cmd, cmds[k].cmd);
	}
}

static void test_two_word_commands(void **state)
{
	(void)state;
	OK("data", "put", "-PoolFqdn", P, "-Module", M, "-Key", "k", "-Value", "v");
	assert_int_equal(a.cmd, CSB_CMD_DATA_PUT);
	assert_string_equal(a.cmdlet, "data put");
	OK("DATA", "Get", "-PoolFqdn", P, "-Module", M, "-Key", "k");
	assert_int_equal(a.cmd, CSB_CMD_DATA_GET);
	OK("data", "delete", "-PoolFqdn", P, "-Module", M, "-Key", "k");
	assert_int_equal(a.cmd, CSB_CMD_DATA_DELETE);
	OK("data", "list", "-PoolFqdn", P, "-Module", M);
	assert_int_equal(a.cmd, CSB_CMD_DATA_LIST);
	OK("data", "load", "-PoolFqdn", P, "-Module", M, "-Count", "5");
	assert_int_equal(a.cmd, CSB_CMD_DATA_LOAD);
	OK("cluster", "up", "--dir", "d");
	assert_int_equal(a.cmd, CSB_CMD_CLUSTER_UP);
	assert_string_equal(a.cmdlet, "cluster up");
	OK("cluster", "down", "--dir", "d");
	assert_int_equal(a.cmd, CSB_CMD_CLUSTER_DOWN);
	OK("cluster", "kill", "--dir", "d", "--node", "coordinator");
	assert_int_equal(a.cmd, CSB_CMD_CLUSTER_KILL);
	OK("Cluster", "START", "--dir", "d", "--node", "coordinator");
	assert_int_equal(a.cmd, CSB_CMD_CLUSTER_START);
	OK("cluster", "issue-cert", "--dir", "d", "--principal", "ops");
	assert_int_equal(a.cmd, CSB_CMD_CLUSTER_ISSUE_CERT);
	assert_string_equal(a.cmdlet, "cluster issue-cert");

	/* Globals may sit between the two words. */
	OK("data", "--json", "get", "-PoolFqdn", P, "-Module", M, "-Key", "k");
	assert_int_equal(a.cmd, CSB_CMD_DATA_GET);
	assert_true(a.json);

	BAD("csb: data: needs a subcommand (put, get, delete, list or load)", "data");
	BAD("csb: cluster: needs a subcommand (up, down, kill, start or issue-cert)", "cluster");
	BAD("csb: data: unknown subcommand 'pull' (put, get, delete, list or load)", "data",
	    "pull");
	BAD("csb: data: needs a subcommand first (put, get, delete, list or load)", "data",
	    "-PoolFqdn", P);
	/* The second word is not a command on its own. */
	BAD("csb: unknown cmdlet 'put' (csb --help lists them)", "put");
}

static void test_unknown_cmdlet_and_order(void **state)
{
	(void)state;
	BAD("csb: unknown cmdlet 'Backup-CsPoool' (did you mean Backup-CsPool?)", "Backup-CsPoool",
	    "-PoolFqdn", P);
	BAD("csb: unknown cmdlet 'Frobnicate' (csb --help lists them)", "Frobnicate");
	assert_int_equal(csb_args_parse(1, (char *[]){"csb", NULL}, &a, err, sizeof(err)),
	                 CSB_EINVAL);
	assert_string_equal(err, "csb: no cmdlet given (csb --help lists them)");
	BAD("csb: the cmdlet name must come before -PoolFqdn", "-PoolFqdn", P, "Backup-CsPool");
	BAD("csb: the cmdlet name must come before --retry-count", "--retry-count=3");
	BAD("csb: unknown flag --bogus", "--bogus", "Backup-CsPool");
	BAD("csb: Backup-CsPool: unexpected argument 'extra' (parameters are written -Name value)",
	    "Backup-CsPool", "-PoolFqdn", P, "extra");
	BAD("csb: Backup-CsPool: unexpected argument 'pool01.csb.test' (-PoolFqdn is not "
	    "positional: write -PoolFqdn pool01.csb.test)", "Backup-CsPool", P);
	BAD("csb: Backup-CsPool: unexpected argument '--' (parameters are written -Name value)",
	    "Backup-CsPool", "-PoolFqdn", P, "--");
}

static void test_backup_all_parameters(void **state)
{
	(void)state;
	OK("Backup-CsPool", "-PoolFqdn", "POOL01.Csb.Test", "-Category", "userdata",
	   "-FullBackup", "-FailedOverPoolOnly", "-RetryCount", "3", "-WaitTime", "00:01:30",
	   "-Report", "/tmp/r.html", "-LocalStore", "-Force", "-WhatIf", "-Confirm");
	assert_string_equal(a.pool_fqdn, "pool01.csb.test");
	assert_false(a.pool_from_stdin);
	assert_int_equal(a.category, CSB_CAT_USERDATA);
	assert_true(a.full_backup);
	assert_false(a.steady_state);
	assert_true(a.failed_over_pool_only);
	assert_int_equal(a.retry_count, 3);
	assert_int_equal(a.wait_time_ms, 90000);
	assert_string_equal(a.report, "/tmp/r.html");
	assert_true(a.local_store && a.force && a.what_if && a.confirm);
	assert_true(csb_args_given(&a, CSB_P_REPORT));
	assert_false(csb_args_given(&a, CSB_P_STEADY_STATE));
	assert_false(csb_args_given(&a, CSB_P_BACKUP_MODULE));

	/* Defaults. */
	OK("Backup-CsPool", "-PoolFqdn", P);
	assert_int_equal(a.retry_count, 10);
	assert_int_equal(a.wait_time_ms, 5000);
	assert_int_equal(a.category, CSB_CAT_COUNT);
	assert_null(a.report);
	assert_int_equal(a.set, 1ull << CSB_P_POOL_FQDN);
	assert_false(csb_args_given(&a, CSB_P_RETRY_COUNT));
	OK("Backup-CsPool", "-PoolFqdn", P, "-SteadyState");
	assert_true(a.steady_state);

	BAD("csb: Backup-CsPool: -PoolFqdn is required", "Backup-CsPool", "-Force");
	BAD("csb: Backup-CsPool: unknown parameter -Foo", "Backup-CsPool", "-PoolFqdn", P, "-Foo");
	BAD("csb: Backup-CsPool: unknown parameter -Foo", "Backup-CsPool", "-Foo:bar");
	BAD("csb: Backup-CsPool: unknown parameter --no-such", "Backup-CsPool", "--no-such=1");
	/* A parameter of another cmdlet is unknown here. */
	BAD("csb: Backup-CsPool: unknown parameter -BackupModule", "Backup-CsPool", "-PoolFqdn",
	    P, "-BackupModule", M);
	BAD("csb: Get-CsPoolState: unknown parameter -Force", "pool-state", "-PoolFqdn", P,
	    "-Force");
}

static void test_parameter_spellings(void **state)
{
	const char *const forms[][2] = {
		{"-PoolFqdn", P}, {"--pool-fqdn", P}, {"-poolfqdn", P}, {"--POOL-FQDN", P},
		{"-pool-fqdn", P}, {"--PoolFqdn", P}, {"-PoolFqdn:" P, NULL},
		{"--pool-fqdn=" P, NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if (forms[i][1] != NULL)
			OK("status", forms[i][0], forms[i][1]);
		else
			OK("status", forms[i][0]);
		assert_string_equal(a.pool_fqdn, P);
	}
	OK("backup-pool", "--pool-fqdn", P, "--retry-count", "7", "--wait-time", "12",
	   "--full-backup", "--failed-over-pool-only", "--local-store", "--what-if");
	assert_int_equal(a.retry_count, 7);
	assert_int_equal(a.wait_time_ms, 12000);
	assert_true(a.full_backup && a.failed_over_pool_only && a.local_store && a.what_if);
	OK("backup-pool", "-POOLFQDN", P, "-retrycount:8", "-WAITTIME=00:00:09");
	assert_int_equal(a.retry_count, 8);
	assert_int_equal(a.wait_time_ms, 9000);
}

static void test_switches(void **state)
{
	(void)state;
	OK("Backup-CsPool", "-PoolFqdn", P, "-FullBackup:$false");
	assert_false(a.full_backup);
	assert_true(csb_args_given(&a, CSB_P_FULL_BACKUP));
	OK("Backup-CsPool", "-PoolFqdn", P, "-FullBackup:$TRUE", "-SteadyState:$false");
	assert_true(a.full_backup);
	assert_false(a.steady_state);
	OK("Backup-CsPool", "-PoolFqdn", P, "--full-backup=true", "--steady-state:0");
	assert_true(a.full_backup);
	assert_false(a.steady_state);
	OK("Backup-CsPool", "-PoolFqdn", P, "-Confirm:$false", "-WhatIf:$true");
	assert_false(a.confirm);
	assert_true(a.what_if);

	BAD("csb: Backup-CsPool: -FullBackup and -SteadyState cannot be used together",
	    "Backup-CsPool", "-PoolFqdn", P, "-FullBackup", "-SteadyState");
	BAD("csb: Backup-CsPool: -FullBackup and -SteadyState cannot be used together",
	    "Backup-CsPool", "-SteadyState:$true", "-PoolFqdn", P, "--full-backup");
	BAD("csb: Backup-CsPool: -FailedOverPoolOnly requires -FullBackup", "Backup-CsPool",
	    "-PoolFqdn", P, "-FailedOverPoolOnly");
	BAD("csb: Backup-CsPool: -FailedOverPoolOnly requires -FullBackup", "Backup-CsPool",
	    "-PoolFqdn", P, "-FailedOverPoolOnly", "-FullBackup:$false");
	BAD("csb: Backup-CsPool: -FullBackup: 'maybe' is not $true or $false", "Backup-CsPool",
	    "-PoolFqdn", P, "-FullBackup:maybe");
	BAD("csb: Backup-CsPool: unexpected argument '$true' (-FullBackup is a switch and takes "
	    "no value; write -FullBackup:$false to turn it off)", "Backup-CsPool", "-PoolFqdn",
	    P, "-FullBackup", "$true");
	BAD("csb: Backup-CsPool: -Force is given more than once", "Backup-CsPool", "-PoolFqdn",
	    P, "-Force", "--force");
}

static void test_fqdn_and_stdin(void **state)
{
	(void)state;
	BAD("csb: Backup-CsPool: -PoolFqdn: 'pool01' is not a valid FQDN (not fully qualified "
	    "(no domain))", "Backup-CsPool", "-PoolFqdn", "pool01");
	BAD("csb: Get-CsBackupServiceStatus: -PoolFqdn: 'pool_1.csb.test' is not a valid FQDN "
	    "(only letters, digits, '-' and '.' are allowed)", "status", "-PoolFqdn",
	    "pool_1.csb.test");
	BAD("csb: Backup-CsPool: -PoolFqdn needs a value", "Backup-CsPool", "-PoolFqdn");
	BAD("csb: Backup-CsPool: -PoolFqdn needs a value", "Backup-CsPool", "-PoolFqdn", "-Force");
	BAD("csb: Backup-CsPool: -PoolFqdn needs a value", "Backup-CsPool", "-PoolFqdn:");
	BAD("csb: Backup-CsPool: -PoolFqdn needs a value", "Backup-CsPool", "-PoolFqdn", "");
	BAD("csb: Backup-CsPool: -PoolFqdn is given more than once", "Backup-CsPool",
	    "-PoolFqdn", P, "--pool-fqdn", "pool02.csb.test");
	BAD("csb: Backup-CsPool: -PoolFqdn: '-' (pools from stdin) is only accepted by "
	    "Invoke-CsBackupServiceSync", "Backup-CsPool", "-PoolFqdn", "-");

	OK("Invoke-CsBackupServiceSync", "-PoolFqdn", "-");
	assert_true(a.pool_from_stdin);
	assert_string_equal(a.pool_fqdn, "");
	assert_true(csb_args_given(&a, CSB_P_POOL_FQDN));
	OK("sync", "-PoolFqdn", "-", "-BackupModule", "confservices.dataconf", "-Force");
	assert_true(a.pool_from_stdin);
	assert_string_equal(a.module->name, "ConfServices.DataConf");
	/* No -PoolFqdn: the caller decides by whether stdin is a terminal. */
	OK("sync");
	assert_false(csb_args_given(&a, CSB_P_POOL_FQDN));
	assert_false(a.pool_from_stdin);
	OK("sync", "-PoolFqdn", "Pool02.CSB.test");
	assert_false(a.pool_from_stdin);
	assert_string_equal(a.pool_fqdn, "pool02.csb.test");
	assert_null(a.module);
}

static void test_time_values(void **state)
{
	(void)state;
	BAD("csb: Backup-CsPool: -WaitTime: '5s' is not a time (seconds or hh:mm:ss)",
	    "Backup-CsPool", "-PoolFqdn", P, "-WaitTime", "5s");
	BAD("csb: Backup-CsPool: -WaitTime: '1:2:3:4' is not a time (seconds or hh:mm:ss)",
	    "Backup-CsPool", "-PoolFqdn", P, "-WaitTime", "1:2:3:4");
	BAD("csb: Backup-CsPool: -WaitTime must be between 00:00:01 and 01:00:00",
	    "Backup-CsPool", "-PoolFqdn", P, "-WaitTime", "0");
	BAD("csb: Backup-CsPool: -WaitTime must be between 00:00:01 and 01:00:00",
	    "Backup-CsPool", "-PoolFqdn", P, "-WaitTime", "3601");
	BAD("csb: Invoke-CsPoolFailover: -WaitTime needs a value", "failover", "-PoolFqdn", P,
	    "-WaitTime");
	OK("Backup-CsPool", "-PoolFqdn", P, "-WaitTime", "01:00:00");
	assert_int_equal(a.wait_time_ms, 3600000);
	OK("Backup-CsPool", "-PoolFqdn", P, "-WaitTime", "1:30");
	assert_int_equal(a.wait_time_ms, 90000);
	OK("Backup-CsPool", "-PoolFqdn", P, "-WaitTime", "1");
	assert_int_equal(a.wait_time_ms, 1000);

	/* Failback: 15 s by default, like the original; failover 60 s (SPEC.md §4). */
	OK("Invoke-CsPoolFailback", "-PoolFqdn", P);
	assert_int_equal(a.wait_time_ms, 15000);
	assert_false(a.disaster_mode);
	OK("failback", "-PoolFqdn", P, "-WaitTime", "00:02:00", "-DisasterMode", "-Force",
	   "-WhatIf", "-Confirm");
	assert_int_equal(a.wait_time_ms, 120000);
	assert_true(a.disaster_mode && a.force && a.what_if && a.confirm);
	OK("Invoke-CsPoolFailover", "-PoolFqdn", P, "-DisasterMode");
	assert_int_equal(a.wait_time_ms, 60000);
	assert_true(a.disaster_mode);
}

static void test_count_values(void **state)
{
	(void)state;
	BAD("csb: Backup-CsPool: -RetryCount: 'x' is not a whole number", "Backup-CsPool",
	    "-PoolFqdn", P, "-RetryCount", "x");
	BAD("csb: Backup-CsPool: -RetryCount: '-5' is not a whole number", "Backup-CsPool",
	    "-PoolFqdn", P, "-RetryCount", "-5");
	BAD("csb: Backup-CsPool: -RetryCount: '+5' is not a whole number", "Backup-CsPool",
	    "-PoolFqdn", P, "-RetryCount", "+5");
	BAD("csb: Backup-CsPool: -RetryCount: '1.5' is not a whole number", "Backup-CsPool",
	    "-PoolFqdn", P, "-RetryCount", "1.5");
	BAD("csb: Backup-CsPool: -RetryCount must be between 1 and 1000", "Backup-CsPool",
	    "-PoolFqdn", P, "-RetryCount", "0");
	BAD("csb: Backup-CsPool: -RetryCount must be between 1 and 1000", "Backup-CsPool",
	    "-PoolFqdn", P, "-RetryCount", "1001");
	BAD("csb: Backup-CsPool: -RetryCount must be between 1 and 1000", "Backup-CsPool",
	    "-PoolFqdn", P, "-RetryCount", "99999999999999999999999");
	BAD("csb: Backup-CsPool: -RetryCount needs a value", "Backup-CsPool", "-PoolFqdn", P,
	    "-RetryCount");
	OK("Backup-CsPool", "-PoolFqdn", P, "-RetryCount", "1000");
	assert_int_equal(a.retry_count, 1000);
	OK("Backup-CsPool", "-PoolFqdn", P, "-RetryCount", "1");
	assert_int_equal(a.retry_count, 1);
}

static void test_module_and_category(void **state)
{
	(void)state;
	OK("Test-CsBackupData", "-PoolFqdn", P, "-BackupModule", "centralmgmt.cmsmaster");
	assert_ptr_equal(a.module, csb_module_find("CentralMgmt.CMSMaster"));
	assert_string_equal(a.module->name, "CentralMgmt.CMSMaster");
	assert_int_equal(a.module->category, CSB_CAT_CMS);
	BAD("csb: Test-CsBackupData: -BackupModule: unknown module 'X'", "verify", "-PoolFqdn", P,
	    "-BackupModule", "X");
	BAD("csb: Invoke-CsBackupServiceSync: -BackupModule: unknown module 'UserServices'",
	    "sync", "-PoolFqdn", P, "-BackupModule", "UserServices");
	BAD("csb: data get: -Module: unknown module 'Foo.Bar'", "data", "get", "-PoolFqdn", P,
	    "-Module", "Foo.Bar", "-Key", "k");

	OK("Get-CsBackupServiceStatus", "-PoolFqdn", P, "-Category", "cms", "-Force");
	assert_int_equal(a.category, CSB_CAT_CMS);
	assert_true(a.force);
	OK("status", "-PoolFqdn", P, "-Category", "RGS");
	assert_int_equal(a.category, CSB_CAT_RGS);
	OK("Backup-CsPool", "-PoolFqdn", P, "-Category", "UserData");
	assert_int_equal(a.category, CSB_CAT_USERDATA);
	BAD("csb: Get-CsBackupServiceStatus: -Category: unknown category 'X' (CMS, UserData or "
	    "RGS)", "status", "-PoolFqdn", P, "-Category", "X");
	BAD("csb: Backup-CsPool: -Category: unknown category 'All' (CMS, UserData or RGS)",
	    "Backup-CsPool", "-PoolFqdn", P, "-Category", "All");
}

static void test_configuration(void **state)
{
	(void)state;
	OK("Set-CsBackupServiceConfiguration", "-Identity", "global", "-SyncInterval", "00:00:05",
	   "-MaxBatchesPerUserStoreSync", "600", "-MaxBatchesPerCmsSync", "700",
	   "-MaxDataConfPackageSizeKB", "204800", "-AuthorizedUniversalGroups", "G1,G2",
	   "-EnableRgsBackupService", "$true", "-WhatIf");
	assert_string_equal(a.identity, "Global");
	assert_int_equal(a.sync_interval_ms, 5000);
	assert_int_equal(a.max_batches_user_store, 600);
	assert_int_equal(a.max_batches_cms, 700);
	assert_int_equal(a.max_dataconf_package_kb, 204800);
	assert_int_equal(a.ngroups, 2);
	assert_string_equal(a.groups[0], "G1");
	assert_string_equal(a.groups[1], "G2");
	assert_true(a.enable_rgs);
	assert_true(a.what_if);

	OK("set-config", "-Identity", "Global", "-SyncInterval", "03:00:00",
	   "--authorized-universal-groups", " CsHelpDesk , Ops Team ",
	   "--enable-rgs-backup-service", "$FALSE");
	assert_int_equal(a.sync_interval_ms, 10800000);
	assert_int_equal(a.ngroups, 2);
	assert_string_equal(a.groups[0], "CsHelpDesk");
	assert_string_equal(a.groups[1], "Ops Team");
	assert_false(a.enable_rgs);
	assert_true(csb_args_given(&a, CSB_P_ENABLE_RGS));
	assert_false(csb_args_given(&a, CSB_P_MAX_BATCHES_CMS));
	OK("set-config", "-Identity", "Global", "-EnableRgsBackupService:$true");
	assert_true(a.enable_rgs);
	OK("set-config", "-Identity", "Global", "-AuthorizedUniversalGroups", "");
	assert_int_equal(a.ngroups, 0);
	assert_true(csb_args_given(&a, CSB_P_AUTHORIZED_GROUPS));
	OK("set-config", "-Identity", "Global", "-AuthorizedUniversalGroups", "Solo");
	assert_int_equal(a.ngroups, 1);
	assert_string_equal(a.groups[0], "Solo");

	BAD("csb: Set-CsBackupServiceConfiguration: -SyncInterval must be between 00:00:05 and "
	    "03:00:00", "set-config", "-Identity", "Global", "-SyncInterval", "00:00:04");
	BAD("csb: Set-CsBackupServiceConfiguration: -SyncInterval must be between 00:00:05 and "
	    "03:00:00", "set-config", "-Identity", "Global", "-SyncInterval", "03:00:01");
	BAD("csb: Set-CsBackupServiceConfiguration: -SyncInterval: 'soon' is not a time (seconds "
	    "or hh:mm:ss)", "set-config", "-Identity", "Global", "-SyncInterval", "soon");
	BAD("csb: Set-CsBackupServiceConfiguration: -Identity: only Global is supported",
	    "set-config", "-Identity", "Site:Redmond");
	OK("set-config", "-SyncInterval", "60"); /* -Identity is optional: Global */
	assert_null(a.identity);
	BAD("csb: Remove-CsBackupServiceConfiguration: -Identity is required", "reset-config");
	BAD("csb: Get-CsBackupServiceConfiguration: -Identity: only Global is supported",
	    "get-config", "-Identity", "Site:1");
	BAD("csb: Set-CsBackupServiceConfiguration: -EnableRgsBackupService: 'maybe' is not $true "
	    "or $false", "set-config", "-Identity", "Global", "-EnableRgsBackupService", "maybe");
	BAD("csb: Set-CsBackupServiceConfiguration: -EnableRgsBackupService needs a value",
	    "set-config", "-Identity", "Global", "-EnableRgsBackupService");
	BAD("csb: Set-CsBackupServiceConfiguration: -AuthorizedUniversalGroups: empty group name "
	    "in 'G1,,G2'", "set-config", "-Identity", "Global", "-AuthorizedUniversalGroups",
	    "G1,,G2");
	BAD("csb: Set-CsBackupServiceConfiguration: -AuthorizedUniversalGroups: empty group name "
	    "in 'G1,'", "set-config", "-Identity", "Global", "-AuthorizedUniversalGroups", "G1,");
	BAD("csb: Set-CsBackupServiceConfiguration: -MaxBatchesPerUserStoreSync must be between 1 "
	    "and 1000000", "set-config", "-Identity", "Global", "-MaxBatchesPerUserStoreSync", "0");
	BAD("csb: Set-CsBackupServiceConfiguration: -MaxDataConfPackageSizeKB: '100MB' is not a "
	    "whole number", "set-config", "-Identity", "Global", "-MaxDataConfPackageSizeKB",
	    "100MB");

	OK("Get-CsBackupServiceConfiguration");
	assert_null(a.identity);
	assert_false(a.local_store);
	OK("get-config", "-Identity", "GLOBAL", "-LocalStore");
	assert_string_equal(a.identity, "Global");
	assert_true(a.local_store);
	OK("Remove-CsBackupServiceConfiguration", "-Identity", "Global");
	assert_string_equal(a.identity, "Global");
}

static void test_group_limits(void **state)
{
	char list[CSB_ARGS_GROUPS_BUF + 8];
	size_t n = 0;

	(void)state;
	for (int i = 0; i < CSB_ARGS_GROUPS_MAX; i++)
		n += (size_t)sprintf(list + n, "%sG%d", i ? "," : "", i);
	OK("set-config", "-Identity", "Global", "-AuthorizedUniversalGroups", list);
	assert_int_equal(a.ngroups, CSB_ARGS_GROUPS_MAX);
	assert_string_equal(a.groups[31], "G31");
	strcat(list, ",G32");
	BAD("csb: Set-CsBackupServiceConfiguration: -AuthorizedUniversalGroups: more than 32 "
	    "groups", "set-config", "-Identity", "Global", "-AuthorizedUniversalGroups", list);
	memset(list, 'g', CSB_ARGS_GROUPS_BUF);
	list[CSB_ARGS_GROUPS_BUF] = '\0';
	BAD("csb: Set-CsBackupServiceConfiguration: -AuthorizedUniversalGroups: the list is "
	    "longer than 1023 characters", "set-config", "-Identity", "Global",
	    "-AuthorizedUniversalGroups", list);
}

static void test_other_cmdlets(void **state)
{
	(void)state;
	OK("Get-CsPoolBackupRelationship", "-PoolFqdn", P, "-LocalStore");
	assert_true(a.local_store);
	OK("Export-CsConfiguration", "-FileName", "/tmp/c.zip", "-LocalStore", "-Force");
	assert_string_equal(a.file_name, "/tmp/c.zip");
	assert_true(a.local_store && a.force);
	OK("import-config", "--file-name", "c.zip");
	assert_string_equal(a.file_name, "c.zip");
	BAD("csb: Import-CsConfiguration: -FileName or -ByteInput is required", "import-config",
	    "-Force");
	BAD("csb: Export-CsConfiguration: -FileName must not be empty", "export-config",
	    "-FileName", "");
	OK("Publish-CsTopology", "-FileName", "topology.json");
	assert_string_equal(a.file_name, "topology.json");
	BAD("csb: Publish-CsTopology: -FileName is required", "publish-topology");
	BAD("csb: Get-CsTopology: unknown parameter -FileName", "topology", "-FileName", "t");
	OK("Get-CsManagementStoreReplicationStatus", "-CentralManagementStoreStatus");
	assert_true(a.cms_status);
	OK("cms-status", "--central-management-store-status");
	assert_true(a.cms_status);
	OK("cms-status");
	assert_false(a.cms_status);
	OK("Invoke-CsManagementServerFailover", "-Force", "-Confirm:$false");
	assert_true(a.force);
	assert_false(a.confirm);
	OK("Test-CsBackupData", "-PoolFqdn", P);
	assert_null(a.module);
	BAD("csb: Test-CsBackupData: -PoolFqdn is required", "verify");
	BAD("csb: Get-CsPoolState: -PoolFqdn is required", "Get-CsPoolState");
}

static void test_data_plane(void **state)
{
	(void)state;
	OK("data", "put", "-PoolFqdn", P, "-Module", "userservices.presencefocus", "-Key",
	   "user1", "-Value", "hello");
	assert_string_equal(a.module->name, M);
	assert_string_equal(a.key, "user1");
	assert_string_equal(a.value, "hello");
	assert_null(a.value_file);
	OK("data", "put", "-PoolFqdn", P, "-Module", M, "-Key", "k", "-Value", "");
	assert_string_equal(a.value, "");
	OK("data", "put", "--pool-fqdn", P, "--module", M, "--value-file", "/tmp/v", "-Key", "k");
	assert_string_equal(a.value_file, "/tmp/v");
	assert_null(a.value);
	/* A value that starts with '-' and a letter needs the inline form. */
	OK("data", "put", "-PoolFqdn", P, "-Module", M, "-Key", "k", "-Value:-x");
	assert_string_equal(a.value, "-x");
	OK("data", "put", "-PoolFqdn", P, "-Module", M, "-Key", "k", "-Value", "-1");
	assert_string_equal(a.value, "-1");
	BAD("csb: data put: -Value needs a value", "data", "put", "-PoolFqdn", P, "-Module", M,
	    "-Key", "k", "-Value", "-x");
	BAD("csb: data put: -Value and -ValueFile cannot be used together", "data", "put",
	    "-PoolFqdn", P, "-Module", M, "-Key", "k", "-Value", "v", "-ValueFile", "f");
	BAD("csb: data put: -Value or -ValueFile is required", "data", "put", "-PoolFqdn", P,
	    "-Module", M, "-Key", "k");
	BAD("csb: data put: -Key is required", "data", "put", "-PoolFqdn", P, "-Module", M,
	    "-Value", "v");
	BAD("csb: data put: -Module is required", "data", "put", "-PoolFqdn", P, "-Key", "k",
	    "-Value", "v");
	BAD("csb: data get: -Key must not be empty", "data", "get", "-PoolFqdn", P, "-Module", M,
	    "-Key", "");
	BAD("csb: data delete: unknown parameter -FromBackup", "data", "delete", "-PoolFqdn", P,
	    "-Module", M, "-Key", "k", "-FromBackup");

	OK("data", "get", "-PoolFqdn", P, "-Module", M, "-Key", "k", "-FromBackup");
	assert_true(a.from_backup);
	OK("data", "list", "-PoolFqdn", P, "-Module", M);
	assert_null(a.prefix);
	assert_int_equal(a.limit, 0);
	assert_false(a.from_backup);
	OK("data", "list", "-PoolFqdn", P, "-Module", M, "-Prefix", "user", "-Limit", "50",
	   "--from-backup");
	assert_string_equal(a.prefix, "user");
	assert_int_equal(a.limit, 50);
	assert_true(a.from_backup);
	BAD("csb: data list: -Limit must be between 1 and 1000000", "data", "list", "-PoolFqdn",
	    P, "-Module", M, "-Limit", "0");

	OK("data", "load", "-PoolFqdn", P, "-Module", M, "-Count", "1000");
	assert_int_equal(a.count, 1000);
	assert_int_equal(a.value_size, 200);
	assert_true(a.update_fraction == 0.0 && a.delete_fraction == 0.0);
	assert_false(csb_args_given(&a, CSB_P_SEED));
	OK("data", "load", "-PoolFqdn", P, "-Module", M, "-Count", "1", "-ValueSize", "4096",
	   "-UpdateFraction", "0.25", "-DeleteFraction", ".5", "-Seed", "0");
	assert_int_equal(a.count, 1);
	assert_int_equal(a.value_size, 4096);
	assert_true(a.update_fraction == 0.25);
	assert_true(a.delete_fraction == 0.5);
	assert_int_equal(a.seed, 0);
	assert_true(csb_args_given(&a, CSB_P_SEED));
	OK("data", "load", "-PoolFqdn", P, "-Module", M, "-Count", "1", "-UpdateFraction", "1",
	   "-DeleteFraction", "0", "-Seed", "18446744073709551615");
	assert_true(a.update_fraction == 1.0);
	assert_true(a.seed == UINT64_MAX);
	BAD("csb: data load: -Seed must be between 0 and 18446744073709551615", "data", "load",
	    "-PoolFqdn", P, "-Module", M, "-Count", "1", "-Seed", "18446744073709551616");
	OK("data", "load", "-PoolFqdn", P, "-Module", M, "-Count", "1", "-UpdateFraction", "0.5",
	   "-DeleteFraction", "0.5");
	BAD("csb: data load: -UpdateFraction and -DeleteFraction together must not exceed 1",
	    "data", "load", "-PoolFqdn", P, "-Module", M, "-Count", "1", "-UpdateFraction", "0.7",
	    "-DeleteFraction", "0.4");
	BAD("csb: data load: -Count must be between 1 and 100000000", "data", "load", "-PoolFqdn",
	    P, "-Module", M, "-Count", "0");
	BAD("csb: data load: -Count is required", "data", "load", "-PoolFqdn", P, "-Module", M);
	BAD("csb: data load: -UpdateFraction must be between 0 and 1", "data", "load",
	    "-PoolFqdn", P, "-Module", M, "-Count", "1", "-UpdateFraction", "1.5");
	BAD("csb: data load: -DeleteFraction: '-0.1' is not a decimal number (such as 0.25)",
	    "data", "load", "-PoolFqdn", P, "-Module", M, "-Count", "1", "-DeleteFraction",
	    "-0.1");
	BAD("csb: data load: -DeleteFraction: '0.1.2' is not a decimal number (such as 0.25)",
	    "data", "load", "-PoolFqdn", P, "-Module", M, "-Count", "1", "-DeleteFraction",
	    "0.1.2");
	BAD("csb: data load: -DeleteFraction: '.' is not a decimal number (such as 0.25)",
	    "data", "load", "-PoolFqdn", P, "-Module", M, "-Count", "1", "-DeleteFraction", ".");
	BAD("csb: data load: -ValueSize must be between 1 and 268435456", "data", "load",
	    "-PoolFqdn", P, "-Module", M, "-Count", "1", "-ValueSize", "0");
}

static void test_key_versus_tls_key(void **state)
{
	(void)state;
	/* -Key is the record key; --key the TLS key file. */
	OK("data", "put", "-PoolFqdn", P, "-Module", M, "-Key", "rec", "--key", "admin.key",
	   "-Value", "v");
	assert_string_equal(a.key, "rec");
	assert_string_equal(a.tls_key, "admin.key");
	BAD("csb: data put: -Key is required (--key is the global TLS key file; write -Key for "
	    "the record's)", "data", "put", "-PoolFqdn", P, "-Module", M, "--key", "rec",
	    "-Value", "v");
	/* Where no parameter is called Key, -Key is the global flag. */
	OK("status", "-PoolFqdn", P, "-Key", "admin.key");
	assert_string_equal(a.tls_key, "admin.key");
}

static void test_globals_anywhere(void **state)
{
	(void)state;
	OK("--cluster", "/tmp/c", "--json", "Backup-CsPool", "-PoolFqdn", P);
	assert_string_equal(a.cluster, "/tmp/c");
	assert_false(a.cluster_from_env);
	assert_true(a.json);
	assert_int_equal(a.cmd, CSB_CMD_BACKUP_POOL);
	OK("Backup-CsPool", "--json", "-PoolFqdn", P, "--cluster", "/tmp/c");
	assert_string_equal(a.cluster, "/tmp/c");
	assert_true(a.json);
	OK("Backup-CsPool", "-PoolFqdn", P, "--cluster=/tmp/c", "--as", "ops user",
	   "--coordinator", "tls+tcp://127.0.0.1:7000", "--cert", "a.crt", "--key", "a.key",
	   "--ca", "ca.crt", "--json:$false");
	assert_string_equal(a.cluster, "/tmp/c");
	assert_string_equal(a.as, "ops user");
	assert_string_equal(a.coordinator, "tls+tcp://127.0.0.1:7000");
	assert_string_equal(a.tls_cert, "a.crt");
	assert_string_equal(a.tls_key, "a.key");
	assert_string_equal(a.tls_ca, "ca.crt");
	assert_false(a.json);
	assert_false(a.help || a.version);
	/* Globals are not parameters: a.set stays about the cmdlet. */
	assert_int_equal(a.set, 1ull << CSB_P_POOL_FQDN);

	OK("status", "-PoolFqdn", P);
	assert_null(a.cluster);
	setenv("CSB_CLUSTER", "/env/c", 1);
	OK("status", "-PoolFqdn", P);
	assert_string_equal(a.cluster, "/env/c");
	assert_true(a.cluster_from_env);
	OK("status", "-PoolFqdn", P, "--cluster", "/cli/c");
	assert_string_equal(a.cluster, "/cli/c");
	assert_false(a.cluster_from_env);
	setenv("CSB_CLUSTER", "", 1);
	OK("status", "-PoolFqdn", P);
	assert_null(a.cluster);
	unsetenv("CSB_CLUSTER");

	BAD("csb: --cluster needs a value", "--cluster");
	BAD("csb: --cluster needs a value", "--cluster", "--json", "status", "-PoolFqdn", P);
	BAD("csb: Get-CsBackupServiceStatus: --cluster must not be empty", "status", "-PoolFqdn",
	    P, "--cluster", "");
	BAD("csb: Get-CsBackupServiceStatus: --cluster is given more than once", "status",
	    "--cluster", "a", "-PoolFqdn", P, "--cluster", "b");
	BAD("csb: Get-CsBackupServiceStatus: --as: 'ops/x' is not a valid principal name (1 to 64 "
	    "letters, digits, '.', '-', '_' or spaces)", "status", "-PoolFqdn", P, "--as",
	    "ops/x");
	BAD("csb: Get-CsBackupServiceStatus: --json: 'sure' is not $true or $false", "status",
	    "-PoolFqdn", P, "--json:sure");
}

static void test_help_and_version(void **state)
{
	(void)state;
	OK("--help");
	assert_true(a.help);
	assert_int_equal(a.cmd, CSB_CMD_NONE);
	assert_null(a.cmdlet);
	OK("-?");
	assert_true(a.help);
	OK("-h");
	assert_true(a.help);
	OK("--version");
	assert_true(a.version);
	assert_false(a.help);
	assert_int_equal(a.cmd, CSB_CMD_NONE);
	/* Help of one command: its required parameters and rules are not checked. */
	OK("Backup-CsPool", "--help");
	assert_true(a.help);
	assert_int_equal(a.cmd, CSB_CMD_BACKUP_POOL);
	OK("backup-pool", "-FullBackup", "-SteadyState", "-help");
	assert_int_equal(a.cmd, CSB_CMD_BACKUP_POOL);
	/* ... nor are mistakes typed before it. */
	OK("Backup-CsPool", "-PoolFqdn", "--help");
	assert_int_equal(a.cmd, CSB_CMD_BACKUP_POOL);
	assert_string_equal(err, "");
	OK("Backup-CsPool", "-RetryCount", "x", "--help");
	assert_true(a.help);
	OK("data", "--help");
	assert_int_equal(a.cmd, CSB_CMD_NONE);
	OK("cluster", "up", "--help");
	assert_int_equal(a.cmd, CSB_CMD_CLUSTER_UP);
	/* An unknown command is still an error. */
	BAD("csb: unknown cmdlet 'Nope' (csb --help lists them)", "Nope", "--help");
	OK("status", "--version");
	assert_true(a.version);
	assert_int_equal(a.cmd, CSB_CMD_STATUS);
}

static char *usage_of(const csb_args *x)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	csb_args_usage(f, x);
	fclose(f);
	return buf;
}

static void test_usage_text(void **state)
{
	char *u;

	(void)state;
	u = usage_of(NULL);
	for (int c = 1; c < CSB_CMD_COUNT; c++)
		assert_non_null(strstr(u, csb__cmdlets[c].name));
	assert_non_null(strstr(u, "Backup-CsPool (backup-pool)\n"));
	assert_non_null(strstr(u, "  csb data put\n"));
	assert_non_null(strstr(u, "--cluster DIR"));
	free(u);

	OK("Backup-CsPool", "--help");
	u = usage_of(&a);
	assert_non_null(strstr(u, "Backup-CsPool (backup-pool): "));
	assert_non_null(strstr(u, "Usage: csb Backup-CsPool -PoolFqdn <fqdn> "
	                          "[-Category CMS|UserData|RGS]\n"
	                          "    [-FullBackup] [-SteadyState] [-FailedOverPoolOnly]"));
	assert_non_null(strstr(u, "[-Report <path>]"));
	assert_non_null(strstr(u, "Defaults: -RetryCount 10, -WaitTime 00:00:05\n"));
	free(u);

	OK("cluster", "up", "--help");
	u = usage_of(&a);
	assert_non_null(strstr(u, "Usage: csb cluster up --dir <dir> [--pools <n>] "
	                          "[--base-port <port>]\n"));
	assert_non_null(strstr(u, "Defaults: --pools 2\n"));
	free(u);

	/* Each parameter with its description and default, refusals, examples. */
	OK("Backup-CsPool", "-?");
	u = usage_of(&a);
	assert_non_null(strstr(u, "\nParameters:\n  -PoolFqdn <fqdn> (required)\n      Fully "
	                          "qualified domain name of the pool being backed up.\n"));
	assert_non_null(strstr(u, "  -RetryCount <n> (default 10)\n"));
	assert_non_null(strstr(u, "  -WaitTime <time> (default 00:00:05)\n"));
	assert_non_null(strstr(u, "  -WhatIf (alias -wi)\n"));
	assert_non_null(strstr(u, "\nCommon parameters (every command):\n  -Verbose (alias -vb)\n"));
	assert_non_null(strstr(u, "\nExamples:\n  csb Backup-CsPool -PoolFqdn pool01.csb.test\n"
	                          "      Backs up the pool pool01.csb.test.\n"
	                          "  csb Backup-CsPool -PoolFqdn pool01.csb.test -SteadyState\n"));
	free(u);
	OK("Get-CsTopology", "--help");
	u = usage_of(&a);
	assert_non_null(strstr(u, "\nDocumented, but not available here (exit 2 with the reason):\n"
	                          "  -AsXml\n      is not available: the topology is JSON here;"));
	free(u);
	OK("Remove-CsBackupServiceConfiguration", "-?");
	u = usage_of(&a);
	assert_non_null(strstr(u, "Usage: csb Remove-CsBackupServiceConfiguration [-Identity] "
	                          "Global [-Force]"));
	assert_non_null(strstr(u, "  -Identity Global (required) (positional: the name may be "
	                          "left out)\n"));
	free(u);
	OK("Publish-CsTopology", "-?");
	u = usage_of(&a);
	assert_non_null(strstr(u, "  csb Get-CsTopology --json > /tmp/topology.json\n"
	                          "  csb Publish-CsTopology -FileName /tmp/topology.json\n"));
	free(u);
}

/* Bash completion through csb_args_complete(): what is offered after the words typed. */
static char *complete(const char **words)
{
	char *buf = NULL;
	size_t len = 0;
	int n = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	while (words[n] != NULL)
		n++;
	csb_args_complete(n, (char **)words, f);
	fclose(f);
	return buf;
}

#define COMPLETE(want, ...) do { \
		char *got_ = complete((const char *[]){__VA_ARGS__, NULL}); \
		assert_string_equal(got_, want); \
		free(got_); \
	} while (0)

static void test_completion(void **state)
{
	char dir[] = "/tmp/csb-args-test.XXXXXX", path[64];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cluster.json", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("{\"pools\": [{\"fqdn\": \"pool01.csb.test\"}, {\"fqdn\": \"pool02.csb.test\"}]}",
	      f);
	fclose(f);
	setenv("CSB_CLUSTER", dir, 1);

	COMPLETE("words\nGet-CsBackupServiceStatus\nGet-CsBackupServiceConfiguration\n",
	         "get-csbackupservice");
	COMPLETE("words\ndata\n", "da");
	COMPLETE("words\nput\n", "data", "p");
	COMPLETE("words\n-PoolFqdn\n", "Backup-CsPool", "-Po");
	COMPLETE("words\n--pool-fqdn\n", "backup-pool", "--po");
	COMPLETE("words\n-SteadyState\n", "Backup-CsPool", "-PoolFqdn", "p.x", "-S");
	/* Given parameters are not offered again; common ones always are. */
	COMPLETE("words\n-WhatIf\n-WarningAction\n", "Backup-CsPool", "-WaitTime", "5",
	         "-W");
	COMPLETE("words\npool01.csb.test\npool02.csb.test\n", "status", "-PoolFqdn", "");
	COMPLETE("words\npool02.csb.test\n", "status", "-PoolFqdn", "pool02");
	COMPLETE("words\n-\npool01.csb.test\npool02.csb.test\n", "sync", "-PoolFqdn", "");
	COMPLETE("words\ncoordinator\npool01.csb.test\npool02.csb.test\n", "cluster", "kill",
	         "--dir", "d", "--node", "");
	COMPLETE("words\nUserServices.PresenceFocus\n", "sync", "-BackupModule", "user");
	COMPLETE("words\nCMS\nUserData\nRGS\n", "status", "-Category", "");
	COMPLETE("words\n$true\n$false\n", "set-config", "-EnableRgsBackupService", "$");
	COMPLETE("words\nStop\nContinue\nSilentlyContinue\n", "sync", "-ErrorAction", "");
	COMPLETE("words\nGlobal\n", "Remove-CsBackupServiceConfiguration", "");
	COMPLETE("files\n", "Export-CsConfiguration", "-FileName", "");
	COMPLETE("files\n", "Export-CsConfiguration", "");
	COMPLETE("dirs\n", "cluster", "up", "--dir", "");
	COMPLETE("words\n", "Get-CsTopology", "x");
	/* --cluster on the line wins over CSB_CLUSTER. */
	COMPLETE("words\n", "--cluster", "/nonexistent", "status", "-PoolFqdn", "");

	unsetenv("CSB_CLUSTER");
	remove(path);
	rmdir(dir);
}

/* PowerShell's common parameters: anywhere on the line, either spelling or alias. */
static void test_common_parameters(void **state)
{
	(void)state;
	OK("status", "-PoolFqdn", P);
	assert_false(a.verbose);
	assert_int_equal(a.error_action, CSB_ACTION_NONE);
	assert_int_equal(a.warning_action, CSB_ACTION_NONE);
	OK("-Verbose", "sync", "-ErrorAction", "continue", "-WarningAction", "SilentlyContinue");
	assert_true(a.verbose);
	assert_int_equal(a.error_action, CSB_ACTION_CONTINUE);
	assert_int_equal(a.warning_action, CSB_ACTION_SILENT);
	OK("sync", "-vb", "-ea", "Stop", "-wa", "stop", "-PoolFqdn", P);
	assert_true(a.verbose);
	assert_int_equal(a.error_action, CSB_ACTION_STOP);
	assert_int_equal(a.warning_action, CSB_ACTION_STOP);
	OK("data", "list", "-PoolFqdn", P, "-Module", M, "--verbose", "--error-action=Continue",
	   "--warning-action", "Continue");
	assert_int_equal(a.error_action, CSB_ACTION_CONTINUE);
	assert_int_equal(a.warning_action, CSB_ACTION_CONTINUE);
	BAD("csb: Invoke-CsBackupServiceSync: -ErrorAction: 'Ignore' is not Stop, Continue or "
	    "SilentlyContinue", "sync", "-ErrorAction", "Ignore");
	BAD("csb: Invoke-CsBackupServiceSync: -WarningAction: 'Inquire' is not Continue, "
	    "SilentlyContinue or Stop", "sync", "-WarningAction", "Inquire");
	BAD("csb: Invoke-CsBackupServiceSync: -ErrorAction needs a value", "sync", "-ErrorAction");
	BAD("csb: Invoke-CsBackupServiceSync: -Verbose is given more than once", "sync", "-Verbose",
	    "-vb");
	BAD("csb: Get-CsBackupServiceStatus: -OutVariable is a PowerShell variable; csb has none "
	    "(use --json and your shell)", "status", "-PoolFqdn", P, "-OutVariable", "s");
	BAD("csb: Get-CsBackupServiceStatus: -Debug asks before each step in PowerShell; csb does "
	    "not stop to ask: -Verbose shows the steps", "status", "-PoolFqdn", P, "-Debug");
}

/* Documented aliases (-cf, -wi) and positional parameters (the page's Position). */
static void test_aliases_and_positional(void **state)
{
	(void)state;
	OK("Backup-CsPool", "-PoolFqdn", P, "-wi", "-cf:$false");
	assert_true(a.what_if);
	assert_false(a.confirm);
	OK("Remove-CsBackupServiceConfiguration", "global");
	assert_string_equal(a.identity, "Global");
	OK("Remove-CsBackupServiceConfiguration", "-Force", "Global", "-WhatIf");
	assert_true(a.force && a.what_if);
	assert_string_equal(a.identity, "Global");
	OK("Get-CsBackupServiceConfiguration", "global", "-LocalStore");
	assert_string_equal(a.identity, "Global");
	OK("Set-CsBackupServiceConfiguration", "Global", "-MaxConcurrentCalls", "12");
	assert_int_equal(a.max_concurrent_calls, 12);
	OK("Export-CsConfiguration", "/tmp/c.zip");
	assert_string_equal(a.file_name, "/tmp/c.zip");
	OK("Import-CsConfiguration", "c.zip", "-LocalStore");
	assert_string_equal(a.file_name, "c.zip");
	OK("Publish-CsTopology", "t.json", "-Force");
	assert_string_equal(a.file_name, "t.json");
	OK("Get-CsManagementStoreReplicationStatus", "POOL02.csb.test");
	assert_string_equal(a.replica_fqdn, "pool02.csb.test");
	BAD("csb: Remove-CsBackupServiceConfiguration: -Identity: only Global is supported",
	    "reset-config", "Site:Redmond");
	BAD("csb: Export-CsConfiguration: unexpected argument 'b.zip' (parameters are written "
	    "-Name value)", "export-config", "a.zip", "b.zip");
	BAD("csb: Export-CsConfiguration: -FileName is given more than once", "export-config",
	    "a.zip", "-FileName", "b.zip");
	BAD("csb: Get-CsManagementStoreReplicationStatus: -ReplicaFqdn: 'atl' is not a valid FQDN "
	    "(not fully qualified (no domain))", "cms-status", "atl");
}

/* Documented parameters that name what csbackup does not have: exit 2 with the reason. */
static void test_refusals(void **state)
{
	(void)state;
	BAD("csb: Get-CsTopology: -AsXml is not available: the topology is JSON here; use --json "
	    "(it prints what Publish-CsTopology reads)", "Get-CsTopology", "-AsXml");
	BAD("csb: Get-CsTopology: -AsXml is not available: the topology is JSON here; use --json "
	    "(it prints what Publish-CsTopology reads)", "topology", "--as-xml");
	BAD("csb: Invoke-CsManagementServerFailover: -BackupSqlInstanceName: the Central "
	    "Management store here has one instance, RTC (its standby copy is the module "
	    "CentralMgmt.CMSMaster at the backup pool)", "cms-failover", "-BackupSqlServerFqdn",
	    "pool02.csb.test", "-BackupSqlInstanceName", "Other", "-Force");
	BAD("csb: Invoke-CsManagementServerFailover: -BackupMirrorSqlServerFqdn names a SQL Server "
	    "mirror; csbackup keeps the Central Management store in the module "
	    "CentralMgmt.CMSMaster, with one standby copy at the backup pool of the pool hosting "
	    "it (name that pool with -BackupSqlServerFqdn)", "cms-failover",
	    "-BackupMirrorSqlServerFqdn", "pool02.csb.test");
	BAD("csb: Set-CsBackupServiceConfiguration: -AuthorizedLocalAccounts names Windows local "
	    "accounts allowed to run the backup service; csbackup's services run as their pools' "
	    "certificates and callers are authorized by certificate and by the groups the "
	    "topology gives them (see -AuthorizedUniversalGroups)", "set-config",
	    "-AuthorizedLocalAccounts", "NetworkService");
	BAD("csb: Publish-CsTopology: -GlobalCatalog names an Active Directory global catalog; "
	    "csbackup has no Active Directory: principals and their groups are in the topology "
	    "file", "publish-topology", "-FileName", "t.json", "-GlobalCatalog", "gc.x.test");
	/* Another cmdlet's refusal is an unknown parameter here. */
	BAD("csb: Backup-CsPool: unknown parameter -AsXml", "Backup-CsPool", "-PoolFqdn", P,
	    "-AsXml");
	/* Help is still shown. */
	OK("Get-CsTopology", "-AsXml", "-?");
	assert_true(a.help);
}

static void test_did_you_mean(void **state)
{
	(void)state;
	BAD("csb: unknown cmdlet 'Get-CsBackupServiceStatu' (did you mean "
	    "Get-CsBackupServiceStatus?)", "Get-CsBackupServiceStatu");
	BAD("csb: unknown cmdlet 'get-cspoolbackuprelationshp' (did you mean "
	    "Get-CsPoolBackupRelationship?)", "get-cspoolbackuprelationshp");
	BAD("csb: unknown cmdlet 'Invoke-CsPoolFailOverr' (did you mean Invoke-CsPoolFailover?)",
	    "Invoke-CsPoolFailOverr");
	BAD("csb: unknown cmdlet 'stauts' (did you mean status?)", "stauts");
	BAD("csb: unknown cmdlet 'dta' (did you mean data?)", "dta");
	BAD("csb: data: unknown subcommand 'lst' (did you mean list?)", "data", "lst");
	BAD("csb: Backup-CsPool: unknown parameter -PoolFdqn (did you mean -PoolFqdn?)",
	    "Backup-CsPool", "-PoolFdqn", P);
	BAD("csb: Backup-CsPool: unknown parameter --pool-fdqn (did you mean --pool-fqdn?)",
	    "Backup-CsPool", "--pool-fdqn", P);
	BAD("csb: Backup-CsPool: unknown parameter -Steady (did you mean -SteadyState?)",
	    "Backup-CsPool", "-PoolFqdn", P, "-Steady");
	BAD("csb: Get-CsBackupServiceStatus: unknown parameter -Verbos (did you mean -Verbose?)",
	    "status", "-PoolFqdn", P, "-Verbos");
	BAD("csb: unknown flag --jsno (did you mean --json?)", "--jsno", "status");
	BAD("csb: Backup-CsPool: unknown parameter -Foo", "Backup-CsPool", "-PoolFqdn", P, "-Foo");
}

/* Every parameter of the documented syntax of each cmdlet, and the rules between them. */
static void test_documented_parameters(void **state)
{
	(void)state;
	OK("Set-CsBackupServiceConfiguration", "-Identity", "global", "-MaxConcurrentCalls", "1000",
	   "-Force", "-Confirm", "-WhatIf");
	assert_int_equal(a.max_concurrent_calls, 1000);
	assert_true(a.force && a.confirm && a.what_if);
	BAD("csb: Set-CsBackupServiceConfiguration: -MaxConcurrentCalls must be between 1 and 1000",
	    "set-config", "-MaxConcurrentCalls", "0");
	OK("Remove-CsBackupServiceConfiguration", "-Identity", "global", "-Force", "-WhatIf",
	   "-Confirm");
	assert_true(a.force && a.what_if && a.confirm);
	OK("Get-CsBackupServiceConfiguration", "-Filter", "g*", "-LocalStore");
	assert_string_equal(a.filter, "g*");
	BAD("csb: Get-CsBackupServiceConfiguration: -Identity and -Filter cannot be used together",
	    "get-config", "-Identity", "Global", "-Filter", "*");
	OK("Get-CsPoolBackupRelationship", "-PoolFqdn", P, "-Force", "-LocalStore");
	assert_true(a.force && a.local_store);
	OK("Get-CsBackupServiceStatus", "-PoolFqdn", P, "-Category", "CMS", "-Force",
	   "-BypassDualWrite", "$true", "-LocalStore");
	assert_true(a.bypass_dual_write && a.local_store);
	BAD("csb: Get-CsBackupServiceStatus: -BypassDualWrite needs a value", "status",
	    "-PoolFqdn", P, "-BypassDualWrite");
	OK("Get-CsTopology", "-LocalStore");
	assert_true(a.local_store);
	OK("Publish-CsTopology", "-FileName", "t.json", "-BackupFileName", "old.json", "-Force",
	   "-Report", "r.html", "-WhatIf", "-Confirm");
	assert_string_equal(a.backup_file_name, "old.json");
	assert_string_equal(a.report, "r.html");
	OK("Export-CsConfiguration", "-AsBytes", "-Force", "-LocalStore");
	assert_true(a.as_bytes);
	BAD("csb: Export-CsConfiguration: -FileName and -AsBytes cannot be used together",
	    "export-config", "-FileName", "c.zip", "-AsBytes");
	BAD("csb: Export-CsConfiguration: -FileName or -AsBytes is required", "export-config");
	OK("Import-CsConfiguration", "-ByteInput", "-", "-LocalStore", "-Force");
	assert_string_equal(a.byte_input, "-");
	BAD("csb: Import-CsConfiguration: -ByteInput takes - (the ZIP on stdin): csb "
	    "Export-CsConfiguration -AsBytes | csb Import-CsConfiguration -ByteInput -",
	    "import-config", "-ByteInput", "$x");
	BAD("csb: Import-CsConfiguration: -FileName and -ByteInput cannot be used together",
	    "import-config", "-FileName", "c.zip", "-ByteInput", "-");
	OK("Get-CsManagementStoreReplicationStatus", "-ReplicaFqdn", P,
	   "-CentralManagementStoreStatus");
	assert_string_equal(a.replica_fqdn, P);
	assert_true(a.cms_status);
	/* -ReplicaFqdn is Position 2 on Invoke-CsManagementStoreReplication's page too. */
	OK("Invoke-CsManagementStoreReplication", "POOL01.csb.test", "-Force");
	assert_string_equal(a.replica_fqdn, P);
	assert_true(a.force);

	/* Failover and failback: parsed and checked. */
	OK("Invoke-CsPoolFailover", "-PoolFqdn", P, "-Confirm", "-Force", "-WaitTime", "00:01:30",
	   "-WhatIf", "-DatabaseCommandTimeoutInSeconds", "120", "-ServicesStopDelayMins", "5",
	   "-SkipDataVerification");
	assert_true(a.skip_data_verification && !a.disaster_mode);
	assert_int_equal(a.db_command_timeout_s, 120);
	assert_int_equal(a.services_stop_delay_min, 5);
	assert_int_equal(a.wait_time_ms, 90000);
	OK("failover", "-PoolFqdn", P, "-ServicesStopDelayMins", "0", "-DisasterMode");
	assert_int_equal(a.services_stop_delay_min, 0);
	assert_true(csb_args_given(&a, CSB_P_SERVICES_STOP_DELAY));
	BAD("csb: Invoke-CsPoolFailover: -ServicesStopDelayMins and -DisasterMode cannot be used "
	    "together: a pool failed over in disaster mode is not asked to stop, so there is "
	    "nothing to delay", "failover", "-PoolFqdn", P, "-DisasterMode",
	    "-ServicesStopDelayMins", "1");
	BAD("csb: Invoke-CsPoolFailover: -FlushStorageService has nothing to flush here: csbackup "
	    "keeps no storage service queue or cache (every write is on disk when it is "
	    "acknowledged), and the failover always drains the pool's changes to its backup pool "
	    "before that takes over", "failover", "-PoolFqdn", P, "-FlushStorageService");
	BAD("csb: Invoke-CsPoolFailover: -ServicesStopDelayMins must be between 0 and 1440",
	    "failover", "-PoolFqdn", P, "-ServicesStopDelayMins", "1441");
	BAD("csb: Invoke-CsPoolFailover: -DatabaseCommandTimeoutInSeconds must be between 1 and "
	    "86400", "failover", "-PoolFqdn", P, "-DatabaseCommandTimeoutInSeconds", "0");
	BAD("csb: Invoke-CsPoolFailover: -DatabaseCommandTimeoutInSeconds: '-5' is not a whole "
	    "number", "failover", "-PoolFqdn", P, "-DatabaseCommandTimeoutInSeconds", "-5");
	OK("Invoke-CsPoolFailback", "-PoolFqdn", P, "-Confirm", "-DisasterMode", "-Force",
	   "-WaitTime", "30", "-WhatIf", "-DatabaseCommandTimeoutInSeconds", "60",
	   "-SkipDataVerification");
	assert_int_equal(a.db_command_timeout_s, 60);
	/* The failback page has no -FlushStorageService nor -ServicesStopDelayMins. */
	BAD("csb: Invoke-CsPoolFailback: unknown parameter -FlushStorageService", "failback",
	    "-PoolFqdn", P, "-FlushStorageService");

	OK("Invoke-CsManagementServerFailover", "-BackupSqlServerFqdn", "POOL02.csb.test", "-Force",
	   "-Report", "cms.html", "-WhatIf", "-Confirm");
	assert_string_equal(a.backup_sql_server, "pool02.csb.test");
	OK("Invoke-CsManagementServerFailover", "-BackupSqlServerFqdn", "pool02.csb.test",
	   "-BackupSqlInstanceName", "RTC", "-Force"); /* the documented Example 2 */
	assert_string_equal(a.backup_sql_instance, "RTC");
	OK("cms-failover", "-Restore", "-Report", "r.html");
	assert_true(a.restore);
	BAD("csb: Invoke-CsManagementServerFailover: -BackupSqlServerFqdn (disaster recovery) "
	    "requires -Force", "cms-failover", "-BackupSqlServerFqdn", "pool02.csb.test");
	BAD("csb: Invoke-CsManagementServerFailover: -Restore cannot be used with -Force or "
	    "-BackupSqlServerFqdn (disaster recovery)", "cms-failover", "-Restore", "-Force");
}

static void test_cluster_flags(void **state)
{
	(void)state;
	OK("cluster", "up", "--dir", "/tmp/cl");
	assert_string_equal(a.dir, "/tmp/cl");
	assert_int_equal(a.pools, 2);
	assert_int_equal(a.base_port, 0);
	assert_false(csb_args_given(&a, CSB_P_BASE_PORT));
	OK("cluster", "up", "-Dir", "/tmp/cl", "--pools", "4", "--base-port", "7000");
	assert_int_equal(a.pools, 4);
	assert_int_equal(a.base_port, 7000);
	BAD("csb: cluster up: --pools must be even (pool k is paired with pool k+1)", "cluster",
	    "up", "--dir", "d", "--pools", "3");
	BAD("csb: cluster up: --pools must be between 2 and 64", "cluster", "up", "--dir", "d",
	    "--pools", "0");
	BAD("csb: cluster up: --base-port must be between 1 and 65535", "cluster", "up", "--dir",
	    "d", "--base-port", "70000");
	BAD("csb: cluster up: --dir is required", "cluster", "up", "--pools", "2");
	BAD("csb: cluster down: --dir needs a value", "cluster", "down", "--dir");
	BAD("csb: cluster down: unknown parameter --pools", "cluster", "down", "--dir", "d",
	    "--pools", "2");

	OK("cluster", "kill", "--dir", "d", "--node", "Coordinator");
	assert_string_equal(a.node, "coordinator");
	OK("cluster", "start", "--dir", "d", "--node", "Pool02.CSB.Test");
	assert_string_equal(a.node, "pool02.csb.test");
	BAD("csb: cluster kill: --node: 'pool02' is neither coordinator, coordinator2 (the standby) "
	    "nor a pool FQDN (not fully qualified (no domain))", "cluster", "kill", "--dir", "d", "--node", "pool02");
	BAD("csb: cluster start: --node is required", "cluster", "start", "--dir", "d");

	OK("cluster", "issue-cert", "--dir", "d", "--principal", "helpdesk_1");
	assert_string_equal(a.principal, "helpdesk_1");
	BAD("csb: cluster issue-cert: --principal: 'a,b' is not a valid principal name (1 to 64 "
	    "letters, digits, '.', '-', '_' or spaces)", "cluster", "issue-cert", "--dir", "d",
	    "--principal", "a,b");
}

static void test_error_buffer(void **state)
{
	char small[12];
	const char *argv[] = {"csb", "Backup-CsPool", NULL};

	(void)state;
	assert_int_equal(csb_args_parse(2, (char **)argv, &a, small, sizeof(small)), CSB_EINVAL);
	assert_string_equal(small, "csb: Backup");
	assert_int_equal(csb_args_parse(2, (char **)argv, &a, NULL, 0), CSB_EINVAL);
	/* A control character in a quoted value cannot split the one line. */
	BAD("csb: Backup-CsPool: -PoolFqdn: 'a?b' is not a valid FQDN (only letters, digits, '-' "
	    "and '.' are allowed)", "Backup-CsPool", "-PoolFqdn", "a\nb");
	OK("Backup-CsPool", "-PoolFqdn", P);
	assert_string_equal(err, "");
}

static void test_param_names(void **state)
{
	(void)state;
	assert_string_equal(csb_args_param_name(CSB_P_POOL_FQDN), "-PoolFqdn");
	assert_string_equal(csb_args_param_name(CSB_P_MAX_DATACONF_PACKAGE_KB),
	                    "-MaxDataConfPackageSizeKB");
	assert_string_equal(csb_args_param_name(CSB_P_BASE_PORT), "--base-port");
	assert_string_equal(csb_args_param_name((csb_param)999), "-?");
	assert_false(csb_args_given(&a, (csb_param)999));
}

/* The tables themselves: every parameter complete and used, names unique, kebab forms
 * lowercase, two-word commands consistent. */
static void test_tables(void **state)
{
	uint64_t used = 0;

	(void)state;
	for (int p = 0; p < CSB_P_COUNT; p++) {
		const csb__param_def *d = &csb__params[p];

		assert_non_null(d->name);
		assert_non_null(d->kebab);
		assert_non_null(d->shown);
		assert_true(d->type == CSB__T_SWITCH || d->meta != NULL);
		assert_non_null(d->help);
		for (const char *s = d->kebab; *s; s++)
			assert_true(islower((unsigned char)*s) || isdigit((unsigned char)*s) ||
			            *s == '-');
		for (int q = 0; q < p; q++) {
			assert_true(strcasecmp(d->name, csb__params[q].name) != 0);
			assert_true(strcmp(d->kebab, csb__params[q].kebab) != 0);
		}
	}
	for (int c = 1; c < CSB_CMD_COUNT; c++) {
		const csb__cmdlet *e = &csb__cmdlets[c];

		assert_non_null(e->name);
		assert_non_null(e->summary);
		assert_true((e->group == NULL) == (e->word == NULL));
		assert_true((e->group == NULL) != (e->alias == NULL));
		for (size_t i = 0; i < e->nrefusals; i++) {
			assert_non_null(e->refusals[i].why);
			assert_null(csb__use_find(e, e->refusals[i].name, strlen(e->refusals[i].name)));
		}
		/* Every cmdlet shows examples, as csb runs them: our FQDNs, no PowerShell. */
		assert_true(e->group != NULL || e->nexamples > 0);
		for (size_t i = 0; i < e->nexamples; i++) {
			assert_null(strstr(e->examples[i].line, "litwareinc"));
			assert_null(strstr(e->examples[i].line, "$_"));
			assert_non_null(strstr(e->examples[i].line, e->name));
		}
		for (size_t i = 0; i < e->nuses; i++) {
			assert_true(e->uses[i].p < CSB_P_COUNT);
			used |= 1ull << e->uses[i].p;
			for (size_t j = 0; j < i; j++)
				assert_int_not_equal(e->uses[i].p, e->uses[j].p);
		}
		for (int d = 1; d < c; d++) {
			assert_true(strcasecmp(e->name, csb__cmdlets[d].name) != 0);
			if (e->alias != NULL && csb__cmdlets[d].alias != NULL)
				assert_true(strcasecmp(e->alias, csb__cmdlets[d].alias) != 0);
		}
	}
	assert_true(used == (CSB_P_COUNT == 64 ? UINT64_MAX : (1ull << CSB_P_COUNT) - 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_cmdlet_name_forms, setup),
		cmocka_unit_test_setup(test_two_word_commands, setup),
		cmocka_unit_test_setup(test_unknown_cmdlet_and_order, setup),
		cmocka_unit_test_setup(test_backup_all_parameters, setup),
		cmocka_unit_test_setup(test_parameter_spellings, setup),
		cmocka_unit_test_setup(test_switches, setup),
		cmocka_unit_test_setup(test_fqdn_and_stdin, setup),
		cmocka_unit_test_setup(test_time_values, setup),
		cmocka_unit_test_setup(test_count_values, setup),
		cmocka_unit_test_setup(test_module_and_category, setup),
		cmocka_unit_test_setup(test_configuration, setup),
		cmocka_unit_test_setup(test_group_limits, setup),
		cmocka_unit_test_setup(test_other_cmdlets, setup),
		cmocka_unit_test_setup(test_data_plane, setup),
		cmocka_unit_test_setup(test_key_versus_tls_key, setup),
		cmocka_unit_test_setup(test_globals_anywhere, setup),
		cmocka_unit_test_setup(test_help_and_version, setup),
		cmocka_unit_test_setup(test_usage_text, setup),
		cmocka_unit_test_setup(test_completion, setup),
		cmocka_unit_test_setup(test_common_parameters, setup),
		cmocka_unit_test_setup(test_aliases_and_positional, setup),
		cmocka_unit_test_setup(test_refusals, setup),
		cmocka_unit_test_setup(test_did_you_mean, setup),
		cmocka_unit_test_setup(test_documented_parameters, setup),
		cmocka_unit_test_setup(test_cluster_flags, setup),
		cmocka_unit_test_setup(test_error_buffer, setup),
		cmocka_unit_test_setup(test_param_names, setup),
		cmocka_unit_test_setup(test_tables, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
