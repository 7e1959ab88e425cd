/* Invoke-CsPoolFailover and Invoke-CsPoolFailback as Microsoft documents them
 * (skype/skype-ps/skype/Invoke-CsPoolFailOver.md, Invoke-CsPoolFailBack.md), through the
 * real csb on a real 2-pool cluster: every documented parameter is accepted, the documented
 * examples run as written (pool02 stands for the documented pool: pool01 hosts the CMS), and
 * a bad value is a usage error, exit 2 with its one line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tests/cli_harness.h"

#define P "pool02.csb.test"

#define EXPECT(code, line, ...) ch_expect_line(cl, code, line, __VA_ARGS__, NULL)

/* Every parameter of SYNTAX, with valid values, under -WhatIf: accepted, nothing done. */
static void test_documented_parameters_parse(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;

	ch_ok(cl, 0, &r, "Invoke-CsPoolFailover", "-PoolFqdn", P, "-Confirm:$false",
	      "-DisasterMode", "-FlushStorageService", "-Force", "-WaitTime", "00:01:30", "-WhatIf",
	      "-DatabaseCommandTimeoutInSeconds", "600", "-ServicesStopDelayMins", "5",
	      "-SkipDataVerification", NULL);
	assert_string_equal(r.out, "What if: without asking " P ", promote the backup copy as it "
	                           "is, then serve its users from pool01.csb.test at epoch 1\n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsPoolState", "-PoolFqdn", P, NULL);
	assert_string_equal(r.out, P ": Normal (users served by " P ", epoch 0)\n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Invoke-CsPoolFailover", "-PoolFqdn", P, "-Force", "-Confirm:$false", NULL);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Invoke-CsPoolFailback", "-PoolFqdn", P, "-cf:$false", "-DisasterMode",
	      "-Force", "-WaitTime", "30", "-wi", "-DatabaseCommandTimeoutInSeconds", "60",
	      "-SkipDataVerification", NULL);
	assert_string_equal(r.out, "What if: fence the data pool01.csb.test serves for " P ", move "
	                           "the changes made since the failover back, and make " P " the "
	                           "primary again at epoch 2\n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Invoke-CsPoolFailback", "-PoolFqdn", P, "-WaitTime", "00:00:30",
	      "-SkipDataVerification", "-Force", NULL);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsPoolState", "-PoolFqdn", P, NULL);
	assert_true(ch_starts_with(r.out, P ": Normal (users served by " P ", epoch 2)\n"));
	ch_result_free(&r);
}

/* The documented examples, as written. */
static void test_documented_examples(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;

	ch_ok(cl, 0, &r, "Invoke-CsPoolFailOver", "-PoolFqdn", P, NULL);
	assert_true(ch_matches(r.out, "^" P ": FailedOver \\(users served by pool01\\.csb\\.test, "
	                              "epoch 3\\) in [0-9]+ ms$"));
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Invoke-CsPoolFailback", "-PoolFqdn", P, NULL);
	assert_true(ch_matches(r.out, "^" P ": Normal \\(users served by " P ", epoch 4\\) in "
	                              "[0-9]+ ms$"));
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Invoke-CsPoolFailOver", "-PoolFqdn", P, "-DisasterMode", NULL);
	assert_true(ch_matches(r.out, "^" P ": FailedOver \\(users served by pool01\\.csb\\.test, "
	                              "epoch 5\\) in [0-9]+ ms$"));
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Invoke-CsPoolFailback", "-PoolFqdn", P, NULL);
	ch_result_free(&r);
}

static void test_bad_values(void **state)
{
	struct ch_cluster *cl = *state;

	EXPECT(2, "csb: Invoke-CsPoolFailover: -PoolFqdn is required\n", "Invoke-CsPoolFailover",
	       "-DisasterMode");
	EXPECT(2, "csb: Invoke-CsPoolFailover: -ServicesStopDelayMins must be between 0 and 1440\n",
	       "Invoke-CsPoolFailover", "-PoolFqdn", P, "-ServicesStopDelayMins", "1441");
	EXPECT(2, "csb: Invoke-CsPoolFailover: -ServicesStopDelayMins: 'soon' is not a whole "
	          "number\n", "Invoke-CsPoolFailover", "-PoolFqdn", P, "-ServicesStopDelayMins",
	       "soon");
	EXPECT(2, "csb: Invoke-CsPoolFailover: -DatabaseCommandTimeoutInSeconds must be between 1 "
	          "and 86400\n", "Invoke-CsPoolFailover", "-PoolFqdn", P,
	       "-DatabaseCommandTimeoutInSeconds", "0");
	EXPECT(2, "csb: Invoke-CsPoolFailback: -DatabaseCommandTimeoutInSeconds must be between 1 "
	          "and 86400\n", "Invoke-CsPoolFailback", "-PoolFqdn", P,
	       "-DatabaseCommandTimeoutInSeconds", "86401");
	EXPECT(2, "csb: Invoke-CsPoolFailover: -WaitTime must be between 00:00:01 and 01:00:00\n",
	       "failover", "-PoolFqdn", P, "-WaitTime", "02:00:00");
	EXPECT(2, "csb: Invoke-CsPoolFailover: -FlushStorageService: 'later' is not $true or "
	          "$false\n", "failover", "-PoolFqdn", P, "-FlushStorageService:later");
	/* Only the failover page documents these two. */
	EXPECT(2, "csb: Invoke-CsPoolFailback: unknown parameter -FlushStorageService\n",
	       "Invoke-CsPoolFailback", "-PoolFqdn", P, "-FlushStorageService");
	EXPECT(2, "csb: Invoke-CsPoolFailback: unknown parameter -ServicesStopDelayMins\n",
	       "Invoke-CsPoolFailback", "-PoolFqdn", P,
	       "-ServicesStopDelayMins", "5");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_documented_parameters_parse),
		cmocka_unit_test(test_documented_examples),
		cmocka_unit_test(test_bad_values),
	};
	return cmocka_run_group_tests(tests, ch_group_up, ch_group_down);
}
