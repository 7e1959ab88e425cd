/* The test-only tamper hook damages a copy record without the cursor noticing: the cursor's
 * digest stays, a full digest walk sees the change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "storage/internal/test_util.h"
#include "storage/store.h"
#include "storage/tamper.h"

static void test_tamper_is_only_seen_by_a_digest_walk(void **state)
{
	tu_store src, dst;
	csb_cursor before, after;
	csb_digest walk;
	uint64_t count;
	char value[16];

	(void)state;
	tu_open(&src, 0, true);
	tu_open(&dst, 0, true);
	assert_int_equal(tu_put(src.s, "m", "a", "alpha", NULL), CSB_OK);
	assert_int_equal(tu_put(src.s, "m", "b", "beta", NULL), CSB_OK);
	tu_replicate(src.s, dst.s, "p1.test", "m", 10);
	assert_int_equal(csb_store_cursor_get(dst.s, "p1.test", "m", &before), CSB_OK);

	assert_int_equal(csb_store_tamper(dst.s, "p1.test", "m", "b", 1), CSB_OK);
	assert_int_equal(tu_get(dst.s, "p1.test", "m", "b", value, sizeof(value)), CSB_OK);
	assert_string_equal(value, "bet`"); /* 0x61 ^ 1 == 0x60 */
	assert_int_equal(csb_store_cursor_get(dst.s, "p1.test", "m", &after), CSB_OK);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(csb_store_digest_ranges(dst.s, "p1.test", "m", &(csb_range){0}, 1, &walk,
	                                         &count),
	                 CSB_OK);
	assert_int_equal(count, 2);
	assert_true(walk.lo != after.digest.lo || walk.hi != after.digest.hi);

	assert_int_equal(csb_store_tamper(dst.s, "p1.test", "m", "zz", 2), CSB_ENOTFOUND);
	assert_int_equal(csb_store_tamper(dst.s, "p1.test", "nope", "a", 1), CSB_ENOTFOUND);
	assert_int_equal(csb_store_tamper(dst.s, "bad:name", "m", "a", 1), CSB_EINVAL);
	tu_close(&src);
	tu_close(&dst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tamper_is_only_seen_by_a_digest_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
