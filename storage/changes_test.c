/* Tests of csb_store_changes(): each changed key once, newest version, tombstones
 * included, in seq order; the record and byte bounds; exact last_seq and high_seq; and a
 * walk whose cost follows the records returned (1,000 changed among 1,000,000). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "storage/internal/test_util.h"
#include "storage/store.h"

static int setup(void **state)
{
	tu_store *ts = calloc(1, sizeof(*ts));

	tu_open(ts, 0, false);
	*state = ts;
	return 0;
}

static int teardown(void **state)
{
	tu_close(*state);
	free(*state);
	return 0;
}

static void assert_rec(const csb_record *r, const char *key, const char *value, uint64_t seq)
{
	assert_int_equal(r->key_len, strlen(key));
	assert_memory_equal(r->key, key, r->key_len);
	assert_int_equal(r->seq, seq);
	if (value == NULL) {
		assert_true(r->tombstone);
		assert_null(r->value);
		assert_int_equal(r->value_len, 0);
		return;
	}
	assert_false(r->tombstone);
	assert_int_equal(r->value_len, strlen(value));
	assert_memory_equal(r->value, value, r->value_len);
}

static void test_newest_version_once_in_seq_order(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	csb_module_info mi;
	csb_lineage l;
	csb_changes ch;

	assert_int_equal(tu_put(s, "m", "k1", "a", NULL), CSB_OK); /* 1 */
	assert_int_equal(tu_put(s, "m", "k2", "b", NULL), CSB_OK); /* 2 */
	assert_int_equal(tu_put(s, "m", "k3", "c", NULL), CSB_OK); /* 3 */
	assert_int_equal(tu_put(s, "m", "k2", "B", NULL), CSB_OK); /* 4 */
	assert_int_equal(csb_store_delete(s, "m", "k1", 2, NULL), CSB_OK); /* 5 */
	assert_int_equal(tu_put(s, "m", "k4", "d", NULL), CSB_OK); /* 6 */
	assert_int_equal(tu_put(s, "m", "k2", "BB", NULL), CSB_OK); /* 7 */
	assert_int_equal(csb_store_changes(s, "m", 0, 0, 0, &ch), CSB_OK);
	assert_int_equal(ch.count, 4);
	assert_int_equal(ch.log_entries_read, 4);
	assert_rec(&ch.records[0], "k3", "c", 3);
	assert_rec(&ch.records[1], "k1", NULL, 5);
	assert_rec(&ch.records[2], "k4", "d", 6);
	assert_rec(&ch.records[3], "k2", "BB", 7);
	assert_int_equal(ch.bytes, 2 + 1 + 2 + 0 + 2 + 1 + 2 + 2);
	assert_int_equal(ch.last_seq, 7);
	assert_int_equal(ch.high_seq, 7);
	assert_int_equal(csb_store_lineage(s, &l), CSB_OK);
	assert_memory_equal(ch.lineage.b, l.b, CSB_LINEAGE_LEN);
	assert_int_equal(csb_store_module_info(s, NULL, "m", &mi), CSB_OK);
	assert_memory_equal(&ch.digest, &mi.digest, sizeof(mi.digest));
	csb_changes_clear(&ch);
	assert_null(ch.records);
	/* After 4: k1's tombstone, k4, k2. */
	assert_int_equal(csb_store_changes(s, "m", 4, 0, 0, &ch), CSB_OK);
	assert_int_equal(ch.count, 3);
	assert_rec(&ch.records[0], "k1", NULL, 5);
	csb_changes_clear(&ch);
	/* Nothing new. */
	assert_int_equal(csb_store_changes(s, "m", 7, 0, 0, &ch), CSB_OK);
	assert_int_equal(ch.count, 0);
	assert_int_equal(ch.log_entries_read, 0);
	assert_int_equal(ch.last_seq, 7);
	assert_int_equal(ch.high_seq, 7);
	csb_changes_clear(&ch);
	assert_int_equal(csb_store_changes(s, "m", UINT64_MAX, 0, 0, &ch), CSB_OK);
	assert_int_equal(ch.count, 0);
	assert_int_equal(ch.high_seq, 7);
	csb_changes_clear(&ch);
	assert_int_equal(csb_store_changes(s, "unknown", 0, 0, 0, &ch), CSB_OK);
	assert_int_equal(ch.count, 0);
	assert_int_equal(ch.last_seq, 0);
	assert_int_equal(ch.high_seq, 0);
	csb_changes_clear(&ch);
	assert_int_equal(csb_store_changes(s, "a:b", 0, 0, 0, &ch), CSB_EINVAL);
	assert_int_equal(csb_store_changes(s, "m", 0, 0, 0, NULL), CSB_EINVAL);
}

static void test_max_records(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	char key[8];
	csb_changes ch;

	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(tu_put(s, "m", key, "v", NULL), CSB_OK);
	}
	assert_int_equal(csb_store_put(s, "m", "k0", 2, "w", 1, NULL), CSB_OK); /* 6 */
	assert_int_equal(csb_store_changes(s, "m", 0, 2, 0, &ch), CSB_OK);
	assert_int_equal(ch.count, 2);
	assert_int_equal(ch.log_entries_read, 2);
	assert_rec(&ch.records[0], "k1", "v", 2);
	assert_rec(&ch.records[1], "k2", "v", 3);
	assert_int_equal(ch.last_seq, 3);
	assert_int_equal(ch.high_seq, 6);
	csb_changes_clear(&ch);
	assert_int_equal(csb_store_changes(s, "m", 3, 2, 0, &ch), CSB_OK);
	assert_int_equal(ch.count, 2);
	assert_int_equal(ch.last_seq, 5);
	csb_changes_clear(&ch);
	/* The last batch ends at the newest entry: last_seq == high_seq. */
	assert_int_equal(csb_store_changes(s, "m", 5, 2, 0, &ch), CSB_OK);
	assert_int_equal(ch.count, 1);
	assert_rec(&ch.records[0], "k0", "w", 6);
	assert_int_equal(ch.last_seq, 6);
	csb_changes_clear(&ch);
}

static void test_max_bytes(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	char val[100], big[5000], key[8];
	csb_changes ch;

	memset(val, 'v', sizeof(val));
	memset(big, 'B', sizeof(big));
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "k%d", i); /* 2 + 100 bytes each */
		assert_int_equal(csb_store_put(s, "m", key, 2, val, sizeof(val), NULL), CSB_OK);
	}
	assert_int_equal(csb_store_changes(s, "m", 0, 0, 204, &ch), CSB_OK);
	assert_int_equal(ch.count, 2);
	assert_int_equal(ch.bytes, 204);
	assert_int_equal(ch.last_seq, 2);
	csb_changes_clear(&ch);
	assert_int_equal(csb_store_changes(s, "m", 0, 0, 305, &ch), CSB_OK);
	assert_int_equal(ch.count, 2);
	assert_int_equal(ch.last_seq, 2);
	/* The walk read the entry that did not fit, and stopped there. */
	assert_int_equal(ch.log_entries_read, 3);
	csb_changes_clear(&ch);
	/* The first record comes whole however small the bound. */
	assert_int_equal(csb_store_put(s, "m", "huge", 4, big, sizeof(big), NULL), CSB_OK);
	assert_int_equal(csb_store_changes(s, "m", 4, 0, 10, &ch), CSB_OK);
	assert_int_equal(ch.count, 1);
	assert_int_equal(ch.records[0].value_len, sizeof(big));
	assert_int_equal(ch.records[0].value[4999], 'B');
	assert_int_equal(ch.last_seq, 5);
	csb_changes_clear(&ch);
	/* Both bounds: the tighter one wins. */
	assert_int_equal(csb_store_changes(s, "m", 0, 1, 1000, &ch), CSB_OK);
	assert_int_equal(ch.count, 1);
	csb_changes_clear(&ch);
}

static double secs_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* 1,000,000 records in one transaction, then 1,000 of them changed: the delta walk reads
 * exactly the 1,000 log entries. Timings are printed, never asserted. */
static void test_changes_cost_follows_changes(void **state)
{
	enum { N = 1000000, CHANGED = 1000 };
	char(*keys)[12] = malloc((size_t)N * sizeof(*keys));
	csb_write *w = calloc(N, sizeof(*w));
	struct timespec t0;
	uint64_t high, last;
	csb_changes ch;
	tu_store ts;

	(void)state;
	assert_non_null(keys);
	assert_non_null(w);
	tu_open(&ts, 512u << 20, true);
	for (int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "key%07d", i);
		w[i] = (csb_write){CSB_OP_PUT, keys[i], 10, "0123456789abcdef", 16};
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(csb_store_write(ts.s, "big", w, N, &high), CSB_OK);
	printf("load: %d records in one transaction: %.2f s\n", N, secs_since(&t0));
	assert_int_equal(high, N);
	for (int i = 0; i < CHANGED; i++)
		w[i] = (csb_write){CSB_OP_PUT, keys[(size_t)i * 997 % N], 10, "changed", 7};
	w[CHANGED - 1] = (csb_write){CSB_OP_DELETE, keys[12345], 10, NULL, 0};
	assert_int_equal(csb_store_write(ts.s, "big", w, CHANGED, &last), CSB_OK);
	assert_int_equal(last, N + CHANGED);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(csb_store_changes(ts.s, "big", high, 0, 0, &ch), CSB_OK);
	printf("changes: %zu of %d records after seq %llu: %.3f ms, %llu log entries read\n",
	       ch.count, N, (unsigned long long)high, secs_since(&t0) * 1e3,
	       (unsigned long long)ch.log_entries_read);
	assert_int_equal(ch.count, CHANGED);
	assert_int_equal(ch.log_entries_read, CHANGED);
	assert_int_equal(ch.last_seq, N + CHANGED);
	assert_true(ch.records[CHANGED - 1].tombstone);
	for (size_t i = 1; i < ch.count; i++)
		assert_true(ch.records[i - 1].seq + 1 == ch.records[i].seq);
	csb_changes_clear(&ch);
	free(w);
	free(keys);
	tu_close(&ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_newest_version_once_in_seq_order, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_max_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_bytes, setup, teardown),
		cmocka_unit_test(test_changes_cost_follows_changes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
