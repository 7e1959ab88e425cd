/* Tests for the value generators (values.h): names, determinism, the shape of each kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/values.h"

static void test_kind_names(void **state)
{
	csb_value_kind k = CSB_VALUE_CONFERENCE;

	(void)state;
	assert_true(csb_value_kind_parse(NULL, &k));
	assert_int_equal(k, CSB_VALUE_RANDOM);
	assert_true(csb_value_kind_parse("presence", &k));
	assert_int_equal(k, CSB_VALUE_PRESENCE);
	assert_true(csb_value_kind_parse("conference", &k));
	assert_int_equal(k, CSB_VALUE_CONFERENCE);
	assert_false(csb_value_kind_parse("Presence", &k));
	assert_int_equal(k, CSB_VALUE_CONFERENCE);
	assert_string_equal(csb_value_kind_name(CSB_VALUE_PRESENCE), "presence");
	assert_string_equal(csb_value_kind_name(CSB_VALUE_RANDOM), "random");
}

static void test_same_state_same_bytes(void **state)
{
	uint8_t a[300], b[300];
	uint64_t s1 = 42, s2 = 42;

	(void)state;
	for (int kind = CSB_VALUE_RANDOM; kind <= CSB_VALUE_CONFERENCE; kind++) {
		csb_values_fill((csb_value_kind)kind, &s1, a, sizeof(a));
		csb_values_fill((csb_value_kind)kind, &s2, b, sizeof(b));
		assert_memory_equal(a, b, sizeof(a));
		assert_int_equal(s1, s2);
	}
	s2 = 43;
	csb_values_fill(CSB_VALUE_RANDOM, &s1, a, sizeof(a));
	csb_values_fill(CSB_VALUE_RANDOM, &s2, b, sizeof(b));
	assert_memory_not_equal(a, b, sizeof(a));
}

static void test_shapes(void **state)
{
	uint8_t v[200];
	uint64_t s = 7;

	(void)state;
	csb_values_fill(CSB_VALUE_RANDOM, &s, v, sizeof(v));
	for (size_t i = 0; i < sizeof(v); i++)
		assert_in_range(v[i], 'a', 'z');
	csb_values_fill(CSB_VALUE_PRESENCE, &s, v, sizeof(v));
	assert_memory_equal(v, "<presence uri=\"sip:user", 23);
	csb_values_fill(CSB_VALUE_CONFERENCE, &s, v, sizeof(v));
	assert_memory_equal(v, "<slide><title>", 14);
	/* A value shorter than its first line is cut, never overrun. */
	memset(v, 0, sizeof(v));
	csb_values_fill(CSB_VALUE_PRESENCE, &s, v, 5);
	assert_memory_equal(v, "<pres", 5);
	assert_int_equal(v[5], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_same_state_same_bytes),
		cmocka_unit_test(test_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
