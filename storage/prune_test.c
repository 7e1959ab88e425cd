/* Tests of log retention: acknowledged tombstones go, live records' log entries stay, the
 * horizon rises, and a delta from below it is refused with CSB_ELOGGONE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "storage/internal/test_util.h"
#include "storage/store.h"

static void test_prune(void **state)
{
	csb_module_info before, mi;
	uint64_t pruned = 99;
	csb_changes ch;
	tu_store ts;
	char v[8];

	(void)state;
	tu_open(&ts, 0, false);
	assert_int_equal(tu_put(ts.s, "m", "k1", "a", NULL), CSB_OK);       /* 1 */
	assert_int_equal(tu_put(ts.s, "m", "k2", "b", NULL), CSB_OK);       /* 2 */
	assert_int_equal(tu_put(ts.s, "m", "k3", "c", NULL), CSB_OK);       /* 3 */
	assert_int_equal(csb_store_delete(ts.s, "m", "k1", 2, NULL), CSB_OK); /* 4 */
	assert_int_equal(csb_store_delete(ts.s, "m", "k2", 2, NULL), CSB_OK); /* 5 */
	assert_int_equal(tu_put(ts.s, "m", "k4", "d", NULL), CSB_OK);       /* 6 */
	assert_int_equal(csb_store_module_info(ts.s, NULL, "m", &before), CSB_OK);

	assert_int_equal(csb_store_prune(ts.s, "m", 7, &pruned), CSB_EINVAL);
	assert_int_equal(csb_store_prune(ts.s, "m", 4, &pruned), CSB_OK);
	assert_int_equal(pruned, 1);
	assert_int_equal(csb_store_module_info(ts.s, NULL, "m", &mi), CSB_OK);
	assert_int_equal(mi.horizon, 4);
	assert_int_equal(mi.high_seq, 6);
	assert_int_equal(mi.count, 2);
	assert_int_equal(mi.digest.lo, before.digest.lo);
	assert_int_equal(mi.digest.hi, before.digest.hi);

	assert_int_equal(csb_store_changes(ts.s, "m", 3, 0, 0, &ch), CSB_ELOGGONE);
	/* A fresh importer is served from 0: the live records and the tombstones above the
	 * horizon (k1's, pruned, is gone; an empty copy needs none of them). */
	assert_int_equal(csb_store_changes(ts.s, "m", 0, 0, 0, &ch), CSB_OK);
	assert_int_equal(ch.count, 3);
	assert_int_equal(ch.records[0].seq, 3); /* k3 */
	assert_false(ch.records[0].tombstone);
	assert_int_equal(ch.records[1].seq, 5); /* k2's tombstone */
	assert_true(ch.records[1].tombstone);
	assert_int_equal(ch.records[2].seq, 6); /* k4 */
	csb_changes_clear(&ch);
	assert_int_equal(csb_store_changes(ts.s, "m", 4, 0, 0, &ch), CSB_OK);
	assert_int_equal(ch.count, 2);
	assert_true(ch.records[0].tombstone); /* k2, seq 5: not acknowledged yet */
	assert_int_equal(ch.records[0].seq, 5);
	assert_int_equal(ch.records[1].seq, 6);
	csb_changes_clear(&ch);

	/* At or below the horizon: nothing to do. */
	assert_int_equal(csb_store_prune(ts.s, "m", 4, &pruned), CSB_OK);
	assert_int_equal(pruned, 0);
	assert_int_equal(csb_store_prune(ts.s, "m", 2, &pruned), CSB_OK);
	assert_int_equal(pruned, 0);
	assert_int_equal(csb_store_module_info(ts.s, NULL, "m", &mi), CSB_OK);
	assert_int_equal(mi.horizon, 4);

	assert_int_equal(csb_store_prune(ts.s, "m", 6, &pruned), CSB_OK);
	assert_int_equal(pruned, 1);
	assert_int_equal(csb_store_changes(ts.s, "m", 6, 0, 0, &ch), CSB_OK);
	assert_int_equal(ch.count, 0);
	csb_changes_clear(&ch);
	assert_int_equal(csb_store_changes(ts.s, "m", 5, 0, 0, &ch), CSB_ELOGGONE);

	/* A pruned key written again is a new key with a new log entry. */
	assert_int_equal(tu_put(ts.s, "m", "k1", "again", NULL), CSB_OK); /* 7 */
	assert_int_equal(csb_store_changes(ts.s, "m", 6, 0, 0, &ch), CSB_OK);
	assert_int_equal(ch.count, 1);
	assert_int_equal(ch.records[0].seq, 7);
	csb_changes_clear(&ch);
	assert_int_equal(tu_get(ts.s, NULL, "m", "k3", v, sizeof(v)), CSB_OK);
	assert_string_equal(v, "c");

	/* The horizon survives a reopen. */
	tu_reopen(&ts, 0);
	assert_int_equal(csb_store_module_info(ts.s, NULL, "m", &mi), CSB_OK);
	assert_int_equal(mi.horizon, 6);
	assert_int_equal(mi.count, 3);
	assert_int_equal(csb_store_prune(ts.s, "none", 0, &pruned), CSB_OK);
	assert_int_equal(csb_store_prune(ts.s, "none", 1, &pruned), CSB_EINVAL);
	assert_int_equal(csb_store_prune(ts.s, "a:b", 1, &pruned), CSB_EINVAL);
	tu_close(&ts);
}

/* Live records' log entries are never pruned: a full export after a prune to the high
 * seq is impossible (ELOGGONE), but a delta from the horizon still lists later writes. */
static void test_live_entries_stay(void **state)
{
	csb_changes ch;
	uint64_t pruned;
	tu_store ts;
	char key[8];

	(void)state;
	tu_open(&ts, 0, false);
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(tu_put(ts.s, "m", key, "v", NULL), CSB_OK);
	}
	assert_int_equal(csb_store_prune(ts.s, "m", 10, &pruned), CSB_OK);
	assert_int_equal(pruned, 0);
	assert_int_equal(tu_put(ts.s, "m", "k3", "w", NULL), CSB_OK); /* moves k3's entry */
	assert_int_equal(csb_store_changes(ts.s, "m", 10, 0, 0, &ch), CSB_OK);
	assert_int_equal(ch.count, 1);
	assert_int_equal(ch.log_entries_read, 1);
	csb_changes_clear(&ch);
	tu_close(&ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_live_entries_stay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
