/* contrib/csb.bash in a real bash: the script is sourced, COMP_WORDS and COMP_CWORD are set
 * as bash sets them for a line being typed, its completion function runs (calling the real
 * csb's `__complete`), and COMPREPLY is compared: cmdlets, parameters, modules, values,
 * files, and the pool FQDNs of the cluster folder ($CSB_CLUSTER or --cluster). */
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

static int setup(void **state)
{
	struct ch_cluster *cl = ch_cluster_new(), other = {0};
	char path[CH_PATH + 16];
	FILE *f;

	ch_cluster_fake(cl, "{\"fqdn\": \"pool01.csb.test\"}, {\"fqdn\": \"pool02.csb.test\"}");
	snprintf(other.dir, sizeof(other.dir), "%.1000s/other", cl->work);
	ch_cluster_fake(&other, "{\"fqdn\": \"pool07.csb.test\"}");
	for (const char *const *n = (const char *const[]){"cfg-a.zip", "cfg-b.zip", NULL}; *n; n++) {
		snprintf(path, sizeof(path), "%s/%s", cl->work, *n);
		assert_non_null(f = fopen(path, "w"));
		fclose(f);
	}
	*state = cl;
	return 0;
}

static int teardown(void **state)
{
	ch_cluster_down(*state);
	return 0;
}

/* Completes the last of the words typed after csb; want: COMPREPLY, one per line, sorted
 * (as bash shows them). The words hold no single quote. */
static void expect(struct ch_cluster *cl, const char *want, ...)
{
	static const char script[] =
		"source \"$1\" || exit 9; shift; COMP_WORDS=(\"$@\"); "
		"COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); _csb_complete; "
		"if (( ${#COMPREPLY[@]} )); then printf \"%s\\n\" \"${COMPREPLY[@]}\" | LC_ALL=C sort; "
		"fi";
	char line[CH_PATH * 8];
	const char *last = "";
	struct ch_result r;
	const char *w;
	va_list ap;
	size_t n;

	n = (size_t)snprintf(line, sizeof(line), "exec /bin/bash -c '%s' bash '%s' \"$CSB\"",
	                     script, ch_data_path("contrib/csb.bash"));
	va_start(ap, want);
	while ((w = va_arg(ap, const char *)) != NULL) {
		assert_null(strchr(w, '\''));
		n += (size_t)snprintf(line + n, sizeof(line) - n, " '%s'", w);
		last = w;
	}
	va_end(ap);
	assert_true(n < sizeof(line));
	ch_shell(cl, line, &r);
	if (r.code != 0 || strcmp(r.out, want) != 0)
		fail_msg("completing '%s': exit %d\n--- got:\n%s--- want:\n%s--- stderr:\n%s", last,
		         r.code, r.out, want, r.err);
	ch_result_free(&r);
}

static void test_cmdlets_and_subcommands(void **state)
{
	struct ch_cluster *cl = *state;

	expect(cl, "Get-CsBackupServiceStatus\n", "Get-CsBackupServiceSt", NULL);
	expect(cl, "Get-CsBackupServiceConfiguration\nGet-CsBackupServiceStatus\n",
	       "get-csbackupservice", NULL);
	expect(cl, "Invoke-CsPoolFailback\nInvoke-CsPoolFailover\n", "Invoke-CsPoolFail", NULL);
	expect(cl, "list\nload\n", "data", "l", NULL);
	expect(cl, "", "Nope-Cs", NULL);
}

static void test_parameters(void **state)
{
	struct ch_cluster *cl = *state;

	expect(cl, "-PoolFqdn\n", "Backup-CsPool", "-Po", NULL);
	expect(cl, "--category\n", "status", "--categ", NULL);
	expect(cl, "-SteadyState\n", "Backup-CsPool", "-PoolFqdn", "pool01.csb.test", "-St", NULL);
	expect(cl, "-MaxBatchesPerCmsSync\n-MaxBatchesPerUserStoreSync\n-MaxConcurrentCalls\n"
	           "-MaxDataConfPackageSizeKB\n", "Set-CsBackupServiceConfiguration", "-Max", NULL);
	expect(cl, "-Verbose\n", "Get-CsTopology", "-Verb", NULL);
}

static void test_values(void **state)
{
	struct ch_cluster *cl = *state;
	char other[CH_PATH + 16], files[CH_PATH * 3], typed[CH_PATH + 16];

	expect(cl, "pool01.csb.test\npool02.csb.test\n", "Get-CsBackupServiceStatus", "-PoolFqdn",
	       "", NULL);
	expect(cl, "pool02.csb.test\n", "backup-pool", "-PoolFqdn", "pool02", NULL);
	snprintf(other, sizeof(other), "%s/other", cl->work);
	expect(cl, "pool07.csb.test\n", "--cluster", other, "status", "-PoolFqdn", "", NULL);
	expect(cl, "ConfServices.DataConf\n", "sync", "-BackupModule", "Conf", NULL);
	expect(cl, "UserData\n", "Backup-CsPool", "-Category", "u", NULL);
	expect(cl, "SilentlyContinue\n", "sync", "-ErrorAction", "Si", NULL);
	expect(cl, "Global\n", "Remove-CsBackupServiceConfiguration", "", NULL);
	snprintf(typed, sizeof(typed), "%s/cfg-", cl->work);
	snprintf(files, sizeof(files), "%s/cfg-a.zip\n%s/cfg-b.zip\n", cl->work, cl->work);
	expect(cl, files, "Export-CsConfiguration", "-FileName", typed, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmdlets_and_subcommands),
		cmocka_unit_test(test_parameters),
		cmocka_unit_test(test_values),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
