/* Tests for csb_strerror() and csb_err_name(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/err.h"

static void test_every_code_has_text(void **state)
{
	(void)state;
	for (int i = 0; i < CSB_ERR_COUNT; i++) {
		assert_non_null(csb_strerror((csb_err)i));
		assert_non_null(csb_err_name((csb_err)i));
		assert_true(strlen(csb_strerror((csb_err)i)) > 0);
	}
	assert_string_equal(csb_err_name(CSB_ENOTFOUND), "ENOTFOUND");
	assert_string_equal(csb_strerror(CSB_OK), "success");
}

static void test_unknown_code(void **state)
{
	(void)state;
	assert_string_equal(csb_strerror((csb_err)9999), "unknown error");
	assert_string_equal(csb_err_name((csb_err)-1), "EUNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code_has_text),
		cmocka_unit_test(test_unknown_code),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
