/* csb_port_pick(): below the ephemeral range, bindable, never the same port twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/port.h"

static void test_distinct_ports_below_ephemeral_range(void **state)
{
	int ports[200];

	(void)state;
	for (int i = 0; i < 200; i++) {
		ports[i] = csb_port_pick();
		assert_true(ports[i] >= 20000 && ports[i] < 32768);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(ports[i], ports[j]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distinct_ports_below_ephemeral_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
