/* Tests for FQDN, time value, count and boolean parsing, and the retry policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/parse.h"
#include "common/retry.h"

static void test_fqdn_good(void **state)
{
	char out[CSB_FQDN_MAX + 1];

	(void)state;
	assert_int_equal(csb_fqdn_parse("Pool01.CSB.test", out, NULL, 0), CSB_OK);
	assert_string_equal(out, "pool01.csb.test");
	assert_int_equal(csb_fqdn_parse("a-b.c1.example", out, NULL, 0), CSB_OK);
	assert_string_equal(out, "a-b.c1.example");
}

static void test_fqdn_bad(void **state)
{
	char err[80], big[300];
	static const struct {
		const char *in;
		const char *why;
	} bad[] = {
		{"", "empty name"},
		{"pool01", "not fully qualified (no domain)"},
		{"pool01..test", "empty label"},
		{".pool01.test", "empty label"},
		{"pool01.test.", "empty label"},
		{"-pool.test", "a label starts with '-'"},
		{"pool-.test", "a label ends with '-'"},
		{"pool.test-", "a label ends with '-'"},
		{"pool_01.test", "only letters, digits, '-' and '.' are allowed"},
		{"pool 01.test", "only letters, digits, '-' and '.' are allowed"},
		{"10.0.0.1", "the top-level label is numeric"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(csb_fqdn_parse(bad[i].in, NULL, err, sizeof(err)), CSB_EINVAL);
		assert_string_equal(err, bad[i].why);
	}
	memset(big, 'a', 64);
	strcpy(big + 64, ".test");
	assert_int_equal(csb_fqdn_parse(big, NULL, err, sizeof(err)), CSB_EINVAL);
	assert_string_equal(err, "a label is longer than 63 characters");
	memset(big, 'a', 260);
	big[100] = '.';
	big[260] = '\0';
	assert_int_equal(csb_fqdn_parse(big, NULL, err, sizeof(err)), CSB_EINVAL);
	assert_string_equal(err, "longer than 253 characters");
	assert_int_equal(csb_fqdn_parse(NULL, NULL, NULL, 0), CSB_EINVAL);
}

static void test_duration(void **state)
{
	uint64_t ms;
	char out[16];

	(void)state;
	assert_int_equal(csb_duration_parse("30", &ms), CSB_OK);
	assert_int_equal(ms, 30000);
	assert_int_equal(csb_duration_parse("00:02:00", &ms), CSB_OK);
	assert_int_equal(ms, 120000);
	assert_int_equal(csb_duration_parse("03:00:00", &ms), CSB_OK);
	assert_int_equal(ms, 10800000);
	assert_int_equal(csb_duration_parse("01:30", &ms), CSB_OK);
	assert_int_equal(ms, 90000);
	assert_int_equal(csb_duration_parse("", &ms), CSB_EINVAL);
	assert_int_equal(csb_duration_parse("5s", &ms), CSB_EINVAL);
	assert_int_equal(csb_duration_parse("-5", &ms), CSB_EINVAL);
	assert_int_equal(csb_duration_parse("00:60:00", &ms), CSB_EINVAL);
	assert_int_equal(csb_duration_parse("1:2:3:4", &ms), CSB_EINVAL);
	assert_int_equal(csb_duration_parse("00::00", &ms), CSB_EINVAL);
	assert_int_equal(csb_duration_parse("00:00:", &ms), CSB_EINVAL);
	csb_duration_format(120000, out, sizeof(out));
	assert_string_equal(out, "00:02:00");
	csb_duration_format(10800999, out, sizeof(out));
	assert_string_equal(out, "03:00:00");
}

static void test_u64_and_bool(void **state)
{
	uint64_t v;
	bool b;

	(void)state;
	assert_int_equal(csb_u64_parse("500", 1000, &v), CSB_OK);
	assert_int_equal(v, 500);
	assert_int_equal(csb_u64_parse("1001", 1000, &v), CSB_EINVAL);
	assert_int_equal(csb_u64_parse("+5", 1000, &v), CSB_EINVAL);
	assert_int_equal(csb_u64_parse("5x", 1000, &v), CSB_EINVAL);
	assert_int_equal(csb_u64_parse("99999999999999999999999", UINT64_MAX, &v), CSB_EINVAL);
	assert_int_equal(csb_bool_parse("$TRUE", &b), CSB_OK);
	assert_true(b);
	assert_int_equal(csb_bool_parse("false", &b), CSB_OK);
	assert_false(b);
	assert_int_equal(csb_bool_parse("maybe", &b), CSB_EINVAL);
}

static void test_retry_counts_and_waits(void **state)
{
	csb_retry_policy checks = CSB_RETRY_CHECKS_DEFAULT;
	csb_retry_policy rpc = CSB_RETRY_RPC_DEFAULT;
	csb_retry r;
	uint64_t w, waits[8];
	unsigned n = 0;

	(void)state;
	csb_retry_start(&r, &checks);
	while (csb_retry_next(&r, &w)) {
		assert_int_equal(w, 5000);
		n++;
	}
	assert_int_equal(n, 9); /* 10 attempts, 9 waits between them */
	assert_int_equal(r.attempt, 10);

	csb_retry_start(&r, &rpc);
	n = 0;
	while (csb_retry_next(&r, &w))
		waits[n++] = w;
	assert_int_equal(n, 4);
	assert_int_equal(waits[0], 100);
	assert_int_equal(waits[1], 200);
	assert_int_equal(waits[2], 400);
	assert_int_equal(waits[3], 800);

	checks.attempts = 0;
	csb_retry_start(&r, &checks);
	assert_false(csb_retry_next(&r, &w)); /* 0 means a single attempt */

	rpc.attempts = 10;
	csb_retry_start(&r, &rpc);
	for (n = 0; csb_retry_next(&r, &w); n++)
		assert_true(w <= 2000);
	assert_int_equal(w, 2000);
	assert_true(csb_err_retryable(CSB_ETIMEDOUT));
	assert_false(csb_err_retryable(CSB_EDENIED));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fqdn_good),
		cmocka_unit_test(test_fqdn_bad),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_u64_and_bool),
		cmocka_unit_test(test_retry_counts_and_waits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
