/* Failover in the store: a fence refuses writes inside the write transaction, a copy
 * promoted to served data continues the seqs from the fork and freezes the copy, the failed
 * pool follows the served changes keeping their seqs, the fold brings the served changes
 * back into the copy, and writes past the fork go to the quarantine, not away. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "storage/internal/test_util.h"

#define M "Presence"
#define P1 "pool01.csb.test"

typedef struct pair {
	tu_store p1, p2;
} pair;

static int setup(void **state)
{
	static pair p;

	memset(&p, 0, sizeof(p));
	tu_open(&p.p1, 0, true);
	tu_open(&p.p2, 0, true);
	*state = &p;
	return 0;
}

static int teardown(void **state)
{
	pair *p = *state;

	tu_close(&p->p1);
	tu_close(&p->p2);
	return 0;
}

static void put_n(csb_store *s, const char *module, const char *prefix, int from, int to,
                  const char *tag)
{
	char k[32], v[64];

	for (int i = from; i < to; i++) {
		snprintf(k, sizeof(k), "%s%04d", prefix, i);
		snprintf(v, sizeof(v), "%s-%d", tag, i);
		assert_int_equal(tu_put(s, module, k, v, NULL), CSB_OK);
	}
}

/* Pulls the served module of p2 after p1's high seq and follows it on p1. */
static uint64_t follow_all(csb_store *p2, const char *served, csb_store *p1)
{
	csb_module_info mi;
	csb_changes ch;
	csb_batch_hdr h = {0};
	uint64_t moved = 0;

	for (;;) {
		assert_int_equal(csb_store_module_info(p1, NULL, M, &mi), CSB_OK);
		assert_int_equal(csb_store_changes(p2, served, mi.high_seq, 7, 0, &ch), CSB_OK);
		if (ch.count == 0 && ch.last_seq == mi.high_seq) {
			csb_changes_clear(&ch);
			return moved;
		}
		h.lineage = ch.lineage;
		h.after_seq = mi.high_seq;
		h.last_seq = ch.last_seq;
		assert_int_equal(csb_store_follow(p1, M, &h, ch.records, ch.count, NULL), CSB_OK);
		/* The same batch again changes nothing. */
		assert_int_equal(csb_store_follow(p1, M, &h, ch.records, ch.count, NULL), CSB_OK);
		moved += ch.count;
		csb_changes_clear(&ch);
	}
}

static void assert_same(csb_store *a, const char *ma, csb_store *b, const char *source,
                        const char *mb)
{
	csb_module_info x, y;

	assert_int_equal(csb_store_module_info(a, NULL, ma, &x), CSB_OK);
	assert_int_equal(csb_store_module_info(b, source, mb, &y), CSB_OK);
	assert_int_equal(x.count, y.count);
	assert_int_equal(x.high_seq, y.high_seq);
	assert_true(x.digest.lo == y.digest.lo && x.digest.hi == y.digest.hi);
}

static void test_guard_fences_writes(void **state)
{
	pair *p = *state;
	csb_module_info fin;
	csb_guard g;
	uint64_t seq;

	put_n(p->p1.s, M, "u", 0, 10, "a");
	assert_int_equal(csb_store_guard_get(p->p1.s, M, &g), CSB_OK);
	assert_false(g.set);
	assert_true(g.writable);
	assert_int_equal(csb_store_guard_set(p->p1.s, M, false, 2, &fin), CSB_OK);
	assert_int_equal(fin.high_seq, 10);
	assert_int_equal(fin.count, 10);
	assert_int_equal(tu_put(p->p1.s, M, "x", "y", &seq), CSB_EREADONLY);
	assert_int_equal(csb_store_delete(p->p1.s, M, "u0001", 5, NULL), CSB_EREADONLY);
	/* Another module of the same store is not fenced. */
	assert_int_equal(tu_put(p->p1.s, "Other", "x", "y", &seq), CSB_OK);
	/* The fence survives a restart; an epoch never goes down. */
	tu_reopen(&p->p1, 0);
	assert_int_equal(tu_put(p->p1.s, M, "x", "y", &seq), CSB_EREADONLY);
	assert_int_equal(csb_store_guard_set(p->p1.s, M, true, 1, NULL), CSB_ESEQ);
	assert_int_equal(csb_store_guard_set(p->p1.s, M, false, 2, NULL), CSB_OK);
	assert_int_equal(csb_store_guard_set(p->p1.s, M, true, 3, NULL), CSB_OK);
	assert_int_equal(tu_put(p->p1.s, M, "x", "y", &seq), CSB_OK);
	assert_int_equal(seq, 11);
	assert_int_equal(csb_store_guard_get(p->p1.s, M, &g), CSB_OK);
	assert_true(g.set && g.writable);
	assert_int_equal(g.epoch, 3);
}

static void test_failover_follow_failback(void **state)
{
	pair *p = *state;
	char served[CSB_MODULE_MAX + 1], v[64];
	csb_module_info fin, mi;
	csb_cursor cur;
	csb_lineage l1;
	csb_digest bad = {1, 2};
	uint64_t seq, moved;

	assert_int_equal(csb_store_served_name(P1, M, served), CSB_OK);
	assert_string_equal(served, M "@" P1);
	put_n(p->p1.s, M, "u", 0, 100, "a");
	assert_int_equal(csb_store_delete(p->p1.s, M, "u0003", 5, NULL), CSB_OK);
	tu_replicate(p->p1.s, p->p2.s, P1, M, 16);
	/* Failover: fence, then promote at the final position with its digest. */
	assert_int_equal(csb_store_guard_set(p->p1.s, M, false, 1, &fin), CSB_OK);
	assert_int_equal(fin.high_seq, 101);
	assert_int_equal(csb_store_promote(p->p2.s, P1, M, 1, 100, NULL, NULL), CSB_ESEQ);
	assert_int_equal(csb_store_promote(p->p2.s, P1, M, 1, 101, &bad, NULL), CSB_ECORRUPT);
	assert_int_equal(csb_store_promote(p->p2.s, P1, M, 1, 101, &fin.digest, &mi), CSB_OK);
	assert_int_equal(mi.high_seq, 101);
	assert_int_equal(mi.count, 99);
	assert_same(p->p1.s, M, p->p2.s, NULL, served);
	/* Again: the same answer, nothing redone. */
	assert_int_equal(csb_store_promote(p->p2.s, P1, M, 1, 101, &fin.digest, &mi), CSB_OK);
	assert_int_equal(mi.high_seq, 101);
	/* The copy is frozen while it serves. */
	{
		csb_batch_hdr h = {.after_seq = 101, .last_seq = 102};

		assert_int_equal(csb_store_cursor_get(p->p2.s, P1, M, &cur), CSB_OK);
		h.lineage = cur.lineage;
		assert_int_equal(csb_store_apply(p->p2.s, P1, M, &h, NULL, 0, NULL), CSB_EREADONLY);
	}
	/* The served data takes writes; seqs continue from the fork. */
	assert_int_equal(tu_put(p->p2.s, served, "u0001", "b-1", &seq), CSB_OK);
	assert_int_equal(seq, 102);
	put_n(p->p2.s, served, "n", 0, 20, "b");
	assert_int_equal(csb_store_delete(p->p2.s, served, "u0010", 5, NULL), CSB_OK);
	/* The failed pool follows: exactly the 22 changed keys travel. */
	assert_int_equal(tu_put(p->p1.s, M, "x", "y", NULL), CSB_EREADONLY);
	moved = follow_all(p->p2.s, served, p->p1.s);
	assert_int_equal(moved, 22);
	assert_same(p->p2.s, served, p->p1.s, NULL, M);
	assert_int_equal(tu_get(p->p1.s, NULL, M, "u0001", v, sizeof(v)), CSB_OK);
	assert_string_equal(v, "b-1");
	assert_int_equal(tu_get(p->p1.s, NULL, M, "u0010", v, sizeof(v)), CSB_ENOTFOUND);
	assert_int_equal(csb_store_follow_cursor(p->p1.s, M, &cur), CSB_OK);
	assert_int_equal(cur.applied_seq, 123);
	/* Failback: fence the served data, promote P1, fold the copy back. */
	assert_int_equal(csb_store_guard_set(p->p2.s, served, false, 2, &fin), CSB_OK);
	assert_int_equal(fin.high_seq, 123);
	assert_int_equal(tu_put(p->p2.s, served, "late", "z", NULL), CSB_EREADONLY);
	assert_int_equal(csb_store_guard_set(p->p1.s, M, true, 2, NULL), CSB_OK);
	assert_int_equal(csb_store_lineage(p->p1.s, &l1), CSB_OK);
	assert_int_equal(csb_store_fold(p->p2.s, P1, M, &l1, &moved, &cur), CSB_OK);
	assert_int_equal(moved, 22);
	assert_int_equal(cur.applied_seq, 123);
	assert_same(p->p1.s, M, p->p2.s, P1, M);
	assert_int_equal(csb_store_guard_get(p->p2.s, served, &(csb_guard){0}), CSB_OK);
	assert_int_equal(csb_store_module_info(p->p2.s, NULL, served, &mi), CSB_OK);
	assert_int_equal(mi.count, 0);
	assert_int_equal(csb_store_fold(p->p2.s, P1, M, &l1, &moved, NULL), CSB_OK);
	assert_int_equal(moved, 0);
	/* A write that lost the race with the fold does not bring the served data back. */
	assert_int_equal(tu_put(p->p2.s, served, "late", "z", NULL), CSB_EREADONLY);
	/* Replication goes on by delta from the primary, on its lineage. */
	assert_int_equal(tu_put(p->p1.s, M, "after", "c", &seq), CSB_OK);
	assert_int_equal(seq, 124);
	assert_int_equal(tu_replicate(p->p1.s, p->p2.s, P1, M, 16), 1);
	assert_same(p->p1.s, M, p->p2.s, P1, M);
}

static bool count_one(void *ctx, const csb_record *r)
{
	(void)r;
	(*(int *)ctx)++;
	return true;
}

static void test_writes_past_fork_quarantined(void **state)
{
	pair *p = *state;
	char served[CSB_MODULE_MAX + 1], v[64];
	csb_changes ch;
	uint64_t orphans, count;
	size_t restored;
	int listed = 0;

	assert_int_equal(csb_store_served_name(P1, M, served), CSB_OK);
	put_n(p->p1.s, M, "u", 0, 50, "a");
	tu_replicate(p->p1.s, p->p2.s, P1, M, 100);
	/* Disaster failover at seq 50 while P1, cut off, takes 5 more writes. */
	assert_int_equal(csb_store_promote(p->p2.s, P1, M, 1, UINT64_MAX, NULL, NULL), CSB_OK);
	put_n(p->p1.s, M, "u", 0, 3, "lost");
	put_n(p->p1.s, M, "new", 0, 2, "lost");
	put_n(p->p2.s, served, "u", 40, 42, "b");
	/* P1 returns: fenced, it cannot follow until its writes past the fork are set aside. */
	assert_int_equal(csb_store_guard_set(p->p1.s, M, false, 1, NULL), CSB_OK);
	assert_int_equal(csb_store_changes(p->p2.s, served, 55, 0, 0, &ch), CSB_OK);
	csb_changes_clear(&ch);
	assert_int_equal(csb_store_rewind(p->p1.s, M, 50, 1, &orphans), CSB_OK);
	assert_int_equal(orphans, 5);
	assert_int_equal(csb_store_orphans(p->p1.s, M, 1, 0, count_one, &listed, &count), CSB_OK);
	assert_int_equal(count, 5);
	assert_int_equal(listed, 5);
	/* The served versions of the three rewritten keys come back (the two new keys never
	 * existed there); then follow. */
	{
		csb_record recs[3] = {0};
		char k[3][8];

		for (int i = 0; i < 3; i++) {
			snprintf(k[i], sizeof(k[i]), "u%04d", i);
			assert_int_equal(csb_store_get(p->p2.s, NULL, served, k[i], 5, &recs[i]), CSB_OK);
		}
		assert_int_equal(csb_store_restore_keys(p->p1.s, M, recs, 3, &restored), CSB_OK);
		assert_int_equal(restored, 3);
		for (int i = 0; i < 3; i++)
			csb_record_clear(&recs[i]);
	}
	assert_int_equal(follow_all(p->p2.s, served, p->p1.s), 2);
	assert_same(p->p2.s, served, p->p1.s, NULL, M);
	assert_int_equal(tu_get(p->p1.s, NULL, M, "u0000", v, sizeof(v)), CSB_OK);
	assert_string_equal(v, "a-0");
	assert_int_equal(tu_get(p->p1.s, NULL, M, "new0000", v, sizeof(v)), CSB_ENOTFOUND);
}

static void test_served_changes_given_up(void **state)
{
	pair *p = *state;
	char served[CSB_MODULE_MAX + 1];
	csb_module_info mi;
	csb_cursor cur;
	uint64_t orphans, count;

	assert_int_equal(csb_store_served_name(P1, M, served), CSB_OK);
	put_n(p->p1.s, M, "u", 0, 30, "a");
	tu_replicate(p->p1.s, p->p2.s, P1, M, 100);
	assert_int_equal(csb_store_promote(p->p2.s, P1, M, 1, UINT64_MAX, NULL, NULL), CSB_OK);
	put_n(p->p2.s, served, "s", 0, 4, "b");
	assert_int_equal(csb_store_delete(p->p2.s, served, "u0001", 5, NULL), CSB_OK);
	/* P1 became the primary again without them (failback in disaster mode) and wrote on. */
	put_n(p->p1.s, M, "p", 0, 3, "c");
	assert_int_equal(csb_store_discard_served(p->p2.s, P1, M, 2, &orphans), CSB_OK);
	assert_int_equal(orphans, 5);
	assert_int_equal(csb_store_orphans(p->p2.s, served, 2, 0, NULL, NULL, &count), CSB_OK);
	assert_int_equal(count, 5);
	assert_int_equal(csb_store_module_info(p->p2.s, NULL, served, &mi), CSB_OK);
	assert_int_equal(mi.count, 0);
	assert_int_equal(csb_store_cursor_get(p->p2.s, P1, M, &cur), CSB_OK);
	assert_int_equal(cur.applied_seq, 30);
	/* The copy follows the primary from the fork by delta. */
	assert_int_equal(tu_replicate(p->p1.s, p->p2.s, P1, M, 100), 1);
	assert_same(p->p1.s, M, p->p2.s, P1, M);
	assert_int_equal(csb_store_discard_served(p->p2.s, P1, M, 2, &orphans), CSB_OK);
	assert_int_equal(orphans, 0);
}

/* A coordinator taking the CMS over: the copy becomes the store's own module in one
 * transaction, records keep their seqs, the store gets a new lineage, the copy is gone,
 * and what was in the module before is replaced. */
static void test_adopt_copy(void **state)
{
	pair *p = *state;
	csb_module_info src, mi;
	csb_lineage before, after, got;
	csb_cursor cur;
	csb_changes ch;
	char v[64];
	uint64_t seq;

	put_n(p->p1.s, M, "c", 0, 50, "a");
	assert_int_equal(csb_store_delete(p->p1.s, M, "c0007", 5, NULL), CSB_OK);
	tu_replicate(p->p1.s, p->p2.s, P1, M, 8);
	put_n(p->p2.s, M, "stale", 0, 5, "old"); /* a deposed master's own, older CMS */
	assert_int_equal(csb_store_module_info(p->p1.s, NULL, M, &src), CSB_OK);
	assert_int_equal(csb_store_lineage(p->p2.s, &before), CSB_OK);
	assert_int_equal(csb_store_adopt(p->p2.s, "nobody", M, NULL, NULL), CSB_ENOTFOUND);
	assert_int_equal(csb_store_adopt(p->p2.s, P1, M, &mi, &got), CSB_OK);
	assert_int_equal(mi.high_seq, 51);
	assert_int_equal(mi.count, 49);
	assert_true(mi.digest.lo == src.digest.lo && mi.digest.hi == src.digest.hi);
	assert_int_equal(csb_store_lineage(p->p2.s, &after), CSB_OK);
	assert_memory_not_equal(&before, &after, sizeof(before));
	assert_memory_equal(&got, &after, sizeof(got));
	assert_same(p->p1.s, M, p->p2.s, NULL, M);
	assert_int_equal(csb_store_cursor_get(p->p2.s, P1, M, &cur), CSB_ENOTFOUND);
	assert_int_equal(tu_get(p->p2.s, NULL, M, "stale0001", v, sizeof(v)), CSB_ENOTFOUND);
	assert_int_equal(tu_get(p->p2.s, NULL, M, "c0042", v, sizeof(v)), CSB_OK);
	assert_string_equal(v, "a-42");
	/* Its log serves pulls from the records' own seqs, and new writes continue after. */
	assert_int_equal(csb_store_changes(p->p2.s, M, 49, 100, 0, &ch), CSB_OK);
	assert_int_equal(ch.count, 1);
	assert_int_equal(ch.last_seq, 51);
	csb_changes_clear(&ch);
	assert_int_equal(tu_put(p->p2.s, M, "new", "n", &seq), CSB_OK);
	assert_int_equal(seq, 52);
	tu_reopen(&p->p2, 0);
	assert_int_equal(csb_store_lineage(p->p2.s, &got), CSB_OK);
	assert_memory_equal(&got, &after, sizeof(got));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_guard_fences_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failover_follow_failback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writes_past_fork_quarantined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_served_changes_given_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adopt_copy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
