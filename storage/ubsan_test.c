/* The store's read and write paths with the empty prefixes, keys and values callers really
 * pass (a plain `csb data list` sends no prefix and no after key: NULL, 0), built with
 * UndefinedBehaviorSanitizer (storage/BUILD :store_ubsan), which aborts on the first
 * undefined operation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "storage/store.h"

struct seen {
	size_t n;
	size_t bytes;
};

static bool count(void *ctx, const csb_record *r)
{
	struct seen *s = ctx;

	s->n++;
	s->bytes += r->value_len;
	return true;
}

static void test_empty_prefix_after_and_value(void **state)
{
	const char *tmp = getenv("TEST_TMPDIR");
	char dir[512], cmd[600], key[8];
	csb_store_opts o = {.no_sync = true};
	struct seen s = {0};
	csb_range lo_only = {(const uint8_t *)"k3", 2, NULL, 0};
	csb_record r;
	csb_store *st;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/csb-ubsan.XXXXXX", tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(csb_store_open(dir, &o, &st), CSB_OK);
	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(csb_store_put(st, "m", key, 2, "v", 1, NULL), CSB_OK);
	}
	assert_int_equal(csb_store_put(st, "m", "k9", 2, NULL, 0, NULL), CSB_OK);

	/* csb data list: no prefix, no after key. */
	assert_int_equal(csb_store_list(st, NULL, "m", NULL, 0, NULL, 0, 0, count, &s), CSB_OK);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.bytes, 5);
	/* The next page: after a key, still no prefix. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(csb_store_list(st, NULL, "m", NULL, 0, "k1", 2, 0, count, &s), CSB_OK);
	assert_int_equal(s.n, 4);
	/* A range open at the top, and no range at all. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(csb_store_scan(st, NULL, "m", &lo_only, NULL, 0, 0, count, &s), CSB_OK);
	assert_int_equal(s.n, 3);
	memset(&s, 0, sizeof(s));
	assert_int_equal(csb_store_scan(st, NULL, "m", NULL, NULL, 0, 0, count, &s), CSB_OK);
	assert_int_equal(s.n, 6);
	/* The empty value reads back empty. */
	assert_int_equal(csb_store_get(st, NULL, "m", "k9", 2, &r), CSB_OK);
	assert_int_equal(r.value_len, 0);
	csb_record_clear(&r);
	csb_store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_prefix_after_and_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
