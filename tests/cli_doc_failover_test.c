/* Invoke-CsPoolFailover and Invoke-CsPoolFailback as Microsoft documents them
 * (skype/skype-ps/skype/Invoke-CsPoolFailOver.md, Invoke-CsPoolFailBack.md), through the
 * real csb: every documented parameter is parsed and checked. The failover itself is not
 * built yet, so a valid line ends with exit 1 "not available in this version" and sends
 * nothing (the cluster folder names a coordinator that is nowhere); a bad value is a usage
 * error, exit 2 with its one line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tests/cli_harness.h"

#define P "pool01.csb.test"
#define FAILOVER_NOT_YET "csb: Invoke-CsPoolFailover: not available in this version\n"
#define FAILBACK_NOT_YET "csb: Invoke-CsPoolFailback: not available in this version\n"

#define EXPECT(code, line, ...) ch_expect_line(cl, code, line, __VA_ARGS__, NULL)

/* Every parameter of SYNTAX, with valid values: parsed; the operation is not there yet. */
static void test_documented_parameters_parse(void **state)
{
	struct ch_cluster *cl = *state;

	EXPECT(1, FAILOVER_NOT_YET, "Invoke-CsPoolFailover", "-PoolFqdn", P, "-Confirm:$false",
	       "-DisasterMode", "-FlushStorageService", "-Force", "-WaitTime", "00:01:30", "-WhatIf",
	       "-DatabaseCommandTimeoutInSeconds", "600", "-ServicesStopDelayMins", "5",
	       "-SkipDataVerification");
	EXPECT(1, FAILBACK_NOT_YET, "Invoke-CsPoolFailback", "-PoolFqdn", P, "-cf:$false",
	       "-DisasterMode", "-Force", "-WaitTime", "30", "-wi",
	       "-DatabaseCommandTimeoutInSeconds", "60", "-SkipDataVerification");
	/* The documented examples parse too (they are left for the failover to pass). */
	EXPECT(1, FAILOVER_NOT_YET, "Invoke-CsPoolFailOver", "-PoolFqdn", P);
	EXPECT(1, FAILOVER_NOT_YET, "Invoke-CsPoolFailOver", "-PoolFqdn", P, "-DisasterMode");
	EXPECT(1, FAILBACK_NOT_YET, "Invoke-CsPoolFailback", "-PoolFqdn", P);
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
		cmocka_unit_test(test_bad_values),
	};
	return cmocka_run_group_tests(tests, ch_group_fake, ch_group_down);
}
