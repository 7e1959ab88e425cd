/* contrib/prometheus/alerts.yml with the real promtool (Debian's prometheus package, from
 * bazel/deps.sh): the rules load, and alerts_test.yml's series make each alert fire when
 * and with the labels and summary it should. Skipped, saying so, only when promtool is not
 * installed at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cli_harness.h"

static bool have_promtool(struct ch_cluster *cl)
{
	struct ch_result r;
	bool yes;

	ch_shell(cl, "command -v promtool", &r);
	yes = r.code == 0;
	ch_result_free(&r);
	if (!yes)
		fprintf(stderr, "SKIPPED: promtool is not installed (Debian package prometheus, "
		                "installed by bazel/deps.sh)\n");
	return yes;
}

/* Runs `promtool <verb> <the contrib file>`, asserting exit 0 and a line of its output. */
static void promtool(struct ch_cluster *cl, const char *verb, const char *file, const char *line)
{
	struct ch_result r;
	char cmd[2 * CH_PATH];

	if (!have_promtool(cl))
		skip();
	snprintf(cmd, sizeof(cmd), "promtool %s '%s' 2>&1", verb, ch_data_path(file));
	ch_shell(cl, cmd, &r);
	if (r.code != 0)
		fail_msg("promtool %s: exit %d\n%s", verb, r.code, r.out);
	if (!ch_matches(r.out, line))
		fail_msg("promtool %s said:\n%s\nwant a line %s", verb, r.out, line);
	ch_result_free(&r);
}

static void test_check_rules(void **state)
{
	promtool(*state, "check rules", "contrib/prometheus/alerts.yml", "^  SUCCESS: 8 rules found$");
}

static void test_alerts_fire(void **state)
{
	promtool(*state, "test rules", "contrib/prometheus/alerts_test.yml", "^  SUCCESS$");
}

static int setup(void **state)
{
	*state = ch_cluster_new();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_rules),
		cmocka_unit_test(test_alerts_fire),
	};

	return cmocka_run_group_tests(tests, setup, ch_group_down);
}
