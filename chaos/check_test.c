/* The history checker on hand-made histories: each case states what a key went through,
 * what the pool and its backup copy hold, and the exact verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "chaos/chaos.h"

#define W 3 /* the writer of every case */

static struct chaos_op op(uint32_t key, enum chaos_op_kind kind, enum chaos_outcome outcome)
{
	return (struct chaos_op){.key = key, .kind = (uint8_t)kind, .outcome = (uint8_t)outcome};
}

static const struct chaos_final NOTHING = {.present = false};

static struct chaos_final holds(uint64_t index)
{
	return (struct chaos_final){.present = true, .valid = true, .op = index};
}

/* Checks one key (key 0) held as pool and copy after ops; returns the verdict. */
static struct chaos_verdict check1(const struct chaos_op *ops, size_t n, struct chaos_final pool,
                                   struct chaos_final copy)
{
	struct chaos_verdict v = {0};

	chaos_check_writer(W, ops, n, &pool, &copy, 1, &v, NULL);
	return v;
}

static void expect(struct chaos_verdict v, size_t keys, size_t lost, size_t resurrected,
                   size_t phantom, size_t unequal)
{
	assert_int_equal(v.keys, keys);
	assert_int_equal(v.lost, lost);
	assert_int_equal(v.resurrected, resurrected);
	assert_int_equal(v.phantom, phantom);
	assert_int_equal(v.unequal, unequal);
}

static void test_last_acknowledged_put_is_fine(void **state)
{
	struct chaos_op ops[] = {op(0, CHAOS_PUT, CHAOS_OK), op(0, CHAOS_PUT, CHAOS_OK)};

	(void)state;
	expect(check1(ops, 2, holds(1), holds(1)), 1, 0, 0, 0, 0);
}

static void test_an_older_acknowledged_value_is_a_lost_write(void **state)
{
	struct chaos_op ops[] = {op(0, CHAOS_PUT, CHAOS_OK), op(0, CHAOS_PUT, CHAOS_OK)};

	(void)state;
	expect(check1(ops, 2, holds(0), holds(0)), 1, 1, 0, 0, 0);
	/* Nothing where the last acknowledged write put a value: lost too. */
	expect(check1(ops, 2, NOTHING, NOTHING), 1, 1, 0, 0, 0);
}

static void test_a_value_back_after_an_acknowledged_delete_is_resurrected(void **state)
{
	struct chaos_op ops[] = {op(0, CHAOS_PUT, CHAOS_OK), op(0, CHAOS_DELETE, CHAOS_OK)};

	(void)state;
	expect(check1(ops, 2, NOTHING, NOTHING), 1, 0, 0, 0, 0);
	expect(check1(ops, 2, holds(0), holds(0)), 1, 0, 1, 0, 0);
}

static void test_a_later_unknown_write_may_have_landed_or_not(void **state)
{
	struct chaos_op ops[] = {op(0, CHAOS_PUT, CHAOS_OK), op(0, CHAOS_PUT, CHAOS_UNKNOWN),
	                         op(0, CHAOS_DELETE, CHAOS_UNKNOWN)};

	(void)state;
	expect(check1(ops, 3, holds(0), holds(0)), 1, 0, 0, 0, 0);
	expect(check1(ops, 3, holds(1), holds(1)), 1, 0, 0, 0, 0);
	expect(check1(ops, 3, NOTHING, NOTHING), 1, 0, 0, 0, 0);
}

static void test_an_unknown_write_before_the_last_acknowledged_one_cannot_win(void **state)
{
	struct chaos_op ops[] = {op(0, CHAOS_PUT, CHAOS_UNKNOWN), op(0, CHAOS_PUT, CHAOS_OK)};

	(void)state;
	expect(check1(ops, 2, holds(0), holds(0)), 1, 1, 0, 0, 0);
}

static void test_a_failed_write_must_not_appear(void **state)
{
	struct chaos_op ops[] = {op(0, CHAOS_PUT, CHAOS_OK), op(0, CHAOS_PUT, CHAOS_FAIL)};
	struct chaos_final garbage = {.present = true, .valid = false};

	(void)state;
	expect(check1(ops, 2, holds(1), holds(1)), 1, 0, 0, 1, 0);
	expect(check1(ops, 2, garbage, garbage), 1, 0, 0, 1, 0);
	/* A value of another key of the same writer is a phantom too. */
	ops[1] = op(1, CHAOS_PUT, CHAOS_OK);
	expect(check1(ops, 2, holds(1), holds(1)), 1, 0, 0, 1, 0);
}

static void test_a_key_never_acknowledged_may_be_absent(void **state)
{
	struct chaos_op ops[] = {op(0, CHAOS_PUT, CHAOS_FAIL), op(0, CHAOS_PUT, CHAOS_UNKNOWN)};

	(void)state;
	expect(check1(ops, 2, NOTHING, NOTHING), 1, 0, 0, 0, 0);
	expect(check1(ops, 2, holds(1), holds(1)), 1, 0, 0, 0, 0);
	expect(check1(NULL, 0, NOTHING, NOTHING), 0, 0, 0, 0, 0);
	expect(check1(NULL, 0, holds(0), NOTHING), 0, 0, 0, 1, 1);
}

static void test_copies_that_differ_are_counted(void **state)
{
	struct chaos_op ops[] = {op(0, CHAOS_PUT, CHAOS_OK), op(0, CHAOS_PUT, CHAOS_UNKNOWN)};

	(void)state;
	/* Each is allowed alone, but the backup copy must equal its pool. */
	expect(check1(ops, 2, holds(1), holds(0)), 1, 0, 0, 0, 1);
	/* The backup copy lost the acknowledged write while the pool kept it. */
	expect(check1(ops, 2, holds(0), NOTHING), 1, 1, 0, 0, 1);
}

static void test_keys_are_judged_apart(void **state)
{
	struct chaos_op ops[] = {op(0, CHAOS_PUT, CHAOS_OK), op(1, CHAOS_PUT, CHAOS_OK),
	                         op(1, CHAOS_DELETE, CHAOS_OK), op(2, CHAOS_PUT, CHAOS_OK)};
	struct chaos_final pool[4] = {holds(0), holds(1), holds(3), NOTHING};
	struct chaos_final copy[4] = {holds(0), holds(1), holds(3), NOTHING};
	struct chaos_verdict v = {0};

	(void)state;
	chaos_check_writer(W, ops, 4, pool, copy, 4, &v, NULL);
	expect(v, 3, 0, 1, 0, 0);
}

static void test_values_are_unique_and_parsed_back_exactly(void **state)
{
	char a[CHAOS_VALUE_MAX], b[CHAOS_VALUE_MAX];
	size_t la = chaos_value(W, 41, a), lb = chaos_value(W, 42, b);
	uint64_t index = 0;

	(void)state;
	assert_true(la > 0 && lb > 0);
	assert_memory_equal(a, "w3.41:", 6);
	assert_true(la != lb || memcmp(a, b, la) != 0);
	assert_true(chaos_value_parse(W, a, la, &index));
	assert_int_equal(index, 41);
	assert_false(chaos_value_parse(W + 1, a, la, &index));
	assert_false(chaos_value_parse(W, a, la - 1, &index));
	a[la - 1] ^= 1;
	assert_false(chaos_value_parse(W, a, la, &index));
	assert_false(chaos_value_parse(W, "w3.41", 5, &index));
	assert_false(chaos_value_parse(W, "", 0, &index));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_last_acknowledged_put_is_fine),
		cmocka_unit_test(test_an_older_acknowledged_value_is_a_lost_write),
		cmocka_unit_test(test_a_value_back_after_an_acknowledged_delete_is_resurrected),
		cmocka_unit_test(test_a_later_unknown_write_may_have_landed_or_not),
		cmocka_unit_test(test_an_unknown_write_before_the_last_acknowledged_one_cannot_win),
		cmocka_unit_test(test_a_failed_write_must_not_appear),
		cmocka_unit_test(test_a_key_never_acknowledged_may_be_absent),
		cmocka_unit_test(test_copies_that_differ_are_counted),
		cmocka_unit_test(test_keys_are_judged_apart),
		cmocka_unit_test(test_values_are_unique_and_parsed_back_exactly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
