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

static void test_check_rules(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char line[2 * CH_PATH];

	if (!have_promtool(cl))
		skip();
	snprintf(line, sizeof(line), "promtool check rules '%s' 2>&1",
	         ch_data_path("contrib/prometheus/alerts.yml"));
	ch_shell(cl, line, &r);
	if (r.code != 0)
		fail_msg("promtool check rules: exit %d\n%s", r.code, r.out);
	assert_non_null(strstr(r.out, "  SUCCESS: 8 rules found\n"));
	ch_result_free(&r);
}

static void test_alerts_fire(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char line[2 * CH_PATH];

	if (!have_promtool(cl))
		skip();
	snprintf(line, sizeof(line), "promtool test rules '%s' 2>&1",
	         ch_data_path("contrib/prometheus/alerts_test.yml"));
	ch_shell(cl, line, &r);
	if (r.code != 0)
		fail_msg("promtool test rules: exit %d\n%s", r.code, r.out);
	assert_true(ch_matches(r.out, "^  SUCCESS$"));
	ch_result_free(&r);
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
