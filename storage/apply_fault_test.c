/* Fault injection (linked with -Wl,--wrap=mdb_txn_commit,--wrap=mdb_put): a commit or a
 * put that fails leaves neither records nor the cursor (nor module state) changed, and the
 * same call succeeds afterwards. */
#include <errno.h>
#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "storage/internal/commit_fault.h"
#include "storage/internal/test_util.h"
#include "storage/store.h"

int __real_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags);
int __wrap_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags);

static int put_countdown; /* > 0: the put that brings it to 0 fails */

int __wrap_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags)
{
	if (put_countdown > 0 && --put_countdown == 0)
		return EIO;
	return __real_mdb_put(txn, dbi, key, data, flags);
}

static int setup(void **state)
{
	tu_store *ts = calloc(1, sizeof(*ts));

	tu_open(ts, 0, false);
	tu_fail_commits = put_countdown = 0;
	*state = ts;
	return 0;
}

static int teardown(void **state)
{
	tu_fail_commits = put_countdown = 0;
	tu_close(*state);
	free(*state);
	return 0;
}

static csb_record rec(const char *key, const char *value, uint64_t seq)
{
	return (csb_record){.key = (uint8_t *)key, .key_len = strlen(key),
	                    .value = (uint8_t *)value, .value_len = strlen(value), .seq = seq};
}

static void assert_copy_untouched(csb_store *s, uint64_t applied, const char *absent_key)
{
	csb_module_info mi;
	csb_record r;

	assert_int_equal(csb_store_module_info(s, "p1", "m", &mi), CSB_OK);
	assert_int_equal(mi.high_seq, applied);
	assert_int_equal(csb_store_get(s, "p1", "m", absent_key, strlen(absent_key), &r),
	                 CSB_ENOTFOUND);
}

/* The first batch creates the copy's DB in the failing transaction: afterwards neither the
 * DB nor a stale handle to it may remain. */
static void test_commit_fails_first_batch(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	csb_record r[] = {rec("a", "1", 1), rec("b", "2", 2)};
	csb_batch_hdr h = {.after_seq = 0, .last_seq = 2};
	csb_cursor c;
	char **names;
	size_t n;

	tu_fail_commits = 1;
	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r, 2, &c), CSB_EIO);
	assert_int_equal(csb_store_cursor_get(s, "p1", "m", &c), CSB_ENOTFOUND);
	assert_copy_untouched(s, 0, "a");
	assert_int_equal(csb_store_modules(s, "p1", &names, &n), CSB_OK);
	assert_int_equal(n, 0);
	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r, 2, &c), CSB_OK);
	assert_int_equal(c.applied_seq, 2);
	assert_int_equal(c.count, 2);
}

static void test_commit_fails_later_batch(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	csb_record r1[] = {rec("a", "1", 1)}, r2[] = {rec("a", "x", 2), rec("b", "2", 3)};
	csb_batch_hdr h = {.after_seq = 0, .last_seq = 1};
	csb_cursor c1, c2;
	char v[8];

	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r1, 1, &c1), CSB_OK);
	h.after_seq = 1;
	h.last_seq = 3;
	tu_fail_commits = 1;
	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r2, 2, &c2), CSB_EIO);
	assert_int_equal(csb_store_cursor_get(s, "p1", "m", &c2), CSB_OK);
	assert_int_equal(c2.applied_seq, 1);
	assert_int_equal(c2.count, 1);
	assert_int_equal(c2.digest.lo, c1.digest.lo);
	assert_copy_untouched(s, 1, "b");
	assert_int_equal(tu_get(s, "p1", "m", "a", v, sizeof(v)), CSB_OK);
	assert_string_equal(v, "1");
	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r2, 2, &c2), CSB_OK);
	assert_int_equal(c2.applied_seq, 3);
	assert_int_equal(tu_get(s, "p1", "m", "a", v, sizeof(v)), CSB_OK);
	assert_string_equal(v, "x");
}

static void test_put_fails_mid_batch(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	csb_record r1[] = {rec("a", "1", 1)};
	csb_record r2[] = {rec("b", "2", 2), rec("c", "3", 3), rec("d", "4", 4), rec("e", "5", 5)};
	csb_batch_hdr h = {.after_seq = 0, .last_seq = 1};
	csb_cursor c;

	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r1, 1, &c), CSB_OK);
	h.after_seq = 1;
	h.last_seq = 5;
	for (int nth = 1; nth <= 5; nth++) { /* 4 records, then the cursor */
		put_countdown = nth;
		assert_int_equal(csb_store_apply(s, "p1", "m", &h, r2, 4, &c), CSB_EIO);
		assert_int_equal(put_countdown, 0);
		assert_copy_untouched(s, 1, "b");
		assert_copy_untouched(s, 1, "c");
	}
	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r2, 4, &c), CSB_OK);
	assert_int_equal(c.count, 5);
}

static void test_write_fails(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	csb_write w[] = {{CSB_OP_PUT, "a", 1, "1", 1}, {CSB_OP_PUT, "b", 1, "2", 1}};
	csb_module_info mi;
	uint64_t last;
	char v[8];

	assert_int_equal(tu_put(s, "m", "z", "0", NULL), CSB_OK);
	tu_fail_commits = 1;
	assert_int_equal(csb_store_write(s, "m", w, 2, &last), CSB_EIO);
	put_countdown = 3; /* a, a's log entry, b */
	assert_int_equal(csb_store_write(s, "m", w, 2, &last), CSB_EIO);
	assert_int_equal(csb_store_module_info(s, NULL, "m", &mi), CSB_OK);
	assert_int_equal(mi.high_seq, 1);
	assert_int_equal(mi.count, 1);
	assert_int_equal(tu_get(s, NULL, "m", "a", v, sizeof(v)), CSB_ENOTFOUND);
	assert_int_equal(csb_store_write(s, "m", w, 2, &last), CSB_OK);
	assert_int_equal(last, 3);
	/* A new module whose first write fails leaves no module behind. */
	tu_fail_commits = 1;
	assert_int_equal(tu_put(s, "fresh", "k", "v", NULL), CSB_EIO);
	assert_int_equal(tu_get(s, NULL, "fresh", "k", v, sizeof(v)), CSB_ENOTFOUND);
	assert_int_equal(tu_put(s, "fresh", "k", "v", &last), CSB_OK);
	assert_int_equal(last, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_fails_first_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_fails_later_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_fails_mid_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_fails, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
