/* Tests of import into a backup copy: idempotent apply, the cursor checks (lineage, seq),
 * tombstones, re-seed, dropping a copy, and a full source -> copy replication ending with
 * equal digests and counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "storage/internal/test_util.h"
#include "storage/store.h"

typedef struct pair {
	tu_store src;
	tu_store dst;
} pair;

static int setup(void **state)
{
	pair *p = calloc(1, sizeof(*p));

	tu_open(&p->src, 0, false);
	tu_open(&p->dst, 0, false);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	pair *p = *state;

	tu_close(&p->src);
	tu_close(&p->dst);
	free(p);
	return 0;
}

static csb_record rec(const char *key, const char *value, uint64_t seq)
{
	return (csb_record){.key = (uint8_t *)key, .key_len = strlen(key),
	                    .value = (uint8_t *)value, .value_len = value ? strlen(value) : 0,
	                    .seq = seq, .mtime_ms = 1000 + seq, .tombstone = value == NULL};
}

static void assert_cursor_eq(const csb_cursor *a, const csb_cursor *b)
{
	assert_memory_equal(a->lineage.b, b->lineage.b, CSB_LINEAGE_LEN);
	assert_int_equal(a->applied_seq, b->applied_seq);
	assert_int_equal(a->count, b->count);
	assert_int_equal(a->digest.lo, b->digest.lo);
	assert_int_equal(a->digest.hi, b->digest.hi);
}

static void test_apply_twice_is_apply_once(void **state)
{
	csb_store *s = ((pair *)*state)->dst.s;
	csb_record r[] = {rec("a", "1", 1), rec("b", "2", 2), rec("a", "3", 3)};
	csb_batch_hdr h = {.lineage = {{7}}, .after_seq = 0, .last_seq = 3};
	csb_cursor c1, c2, c3;
	csb_record got;
	char v[8];

	assert_int_equal(csb_store_cursor_get(s, "p1", "m", &c1), CSB_ENOTFOUND);
	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r, 3, &c1), CSB_OK);
	assert_int_equal(c1.applied_seq, 3);
	assert_int_equal(c1.count, 2);
	assert_memory_equal(c1.lineage.b, h.lineage.b, CSB_LINEAGE_LEN);
	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r, 3, &c2), CSB_OK);
	assert_cursor_eq(&c1, &c2);
	assert_int_equal(csb_store_cursor_get(s, "p1", "m", &c3), CSB_OK);
	assert_cursor_eq(&c1, &c3);
	assert_int_equal(tu_get(s, "p1", "m", "a", v, sizeof(v)), CSB_OK);
	assert_string_equal(v, "3");
	assert_int_equal(csb_store_get(s, "p1", "m", "a", 1, &got), CSB_OK);
	assert_int_equal(got.seq, 3);
	assert_int_equal(got.mtime_ms, 1003);
	csb_record_clear(&got);
	/* An older batch (last_seq below the cursor) is also "already applied". */
	h.last_seq = 2;
	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r, 2, &c2), CSB_OK);
	assert_cursor_eq(&c1, &c2);
	/* The copy is not own data. */
	assert_int_equal(tu_get(s, NULL, "m", "a", v, sizeof(v)), CSB_ENOTFOUND);
}

static void test_apply_checks(void **state)
{
	csb_store *s = ((pair *)*state)->dst.s;
	csb_record r[] = {rec("a", "1", 5), rec("b", "2", 6)};
	csb_batch_hdr h = {.lineage = {{1}}, .after_seq = 4, .last_seq = 6};
	csb_cursor c;

	/* No cursor: only a batch from the start is accepted. */
	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r, 2, &c), CSB_ESEQ);
	h.after_seq = 0;
	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r, 2, &c), CSB_OK);
	/* A gap. */
	h.after_seq = 7;
	h.last_seq = 9;
	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r, 2, &c), CSB_ESEQ);
	/* Another lineage. */
	h.after_seq = 6;
	h.lineage.b[0] = 2;
	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r, 2, &c), CSB_ELINEAGE);
	h.lineage.b[0] = 1;
	assert_int_equal(csb_store_apply(s, "p1", "m", &h, NULL, 0, &c), CSB_OK);
	assert_int_equal(c.applied_seq, 9);
	assert_int_equal(c.count, 2);
	/* Bad arguments. */
	h.after_seq = 10;
	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r, 2, &c), CSB_EINVAL);
	h.after_seq = 9;
	h.last_seq = 10;
	assert_int_equal(csb_store_apply(s, "p:1", "m", &h, r, 2, &c), CSB_EINVAL);
	assert_int_equal(csb_store_apply(s, "p1", "", &h, r, 2, &c), CSB_EINVAL);
	assert_int_equal(csb_store_apply(s, "p1", "m", NULL, r, 2, &c), CSB_EINVAL);
	r[1].key_len = 0;
	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r, 2, &c), CSB_EINVAL);
	assert_int_equal(csb_store_cursor_get(s, "p1", "m", &c), CSB_OK);
	assert_int_equal(c.applied_seq, 9);
}

static void test_tombstone_deletes_from_copy(void **state)
{
	csb_store *s = ((pair *)*state)->dst.s;
	csb_record r1[] = {rec("a", "1", 1), rec("b", "2", 2)};
	csb_record r2[] = {rec("a", NULL, 3), rec("zz", NULL, 4)};
	csb_batch_hdr h = {.after_seq = 0, .last_seq = 2};
	csb_module_info mi;
	csb_cursor c;
	char v[8];

	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r1, 2, &c), CSB_OK);
	h.after_seq = 2;
	h.last_seq = 4;
	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r2, 2, &c), CSB_OK);
	assert_int_equal(c.count, 1);
	assert_int_equal(tu_get(s, "p1", "m", "a", v, sizeof(v)), CSB_ENOTFOUND);
	assert_int_equal(tu_get(s, "p1", "m", "b", v, sizeof(v)), CSB_OK);
	assert_int_equal(csb_store_module_info(s, "p1", "m", &mi), CSB_OK);
	assert_int_equal(mi.high_seq, 4);
	assert_int_equal(mi.count, 1);
	assert_int_equal(mi.digest.lo, c.digest.lo);
	assert_int_equal(csb_store_module_info(s, "p2", "m", &mi), CSB_OK);
	assert_int_equal(mi.count, 0);
	assert_int_equal(mi.high_seq, 0);
}

static void test_reseed_skips_checks(void **state)
{
	csb_store *s = ((pair *)*state)->dst.s;
	csb_record r[] = {rec("a", "1", 1), rec("b", "2", 2)};
	csb_batch_hdr h = {.lineage = {{1}}, .after_seq = 0, .last_seq = 2};
	csb_record fix[] = {rec("a", NULL, 40), rec("c", "3", 41)};
	csb_batch_hdr re = {.lineage = {{9}}, .after_seq = 30, .last_seq = 42, .reseed = true};
	csb_cursor c;

	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r, 2, &c), CSB_OK);
	assert_int_equal(csb_store_apply(s, "p1", "m", &re, fix, 2, &c), CSB_OK);
	assert_int_equal(c.applied_seq, 42);
	assert_int_equal(c.lineage.b[0], 9);
	assert_int_equal(c.count, 2); /* b and c */
	/* Normal batches follow the new cursor. */
	re.reseed = false;
	re.after_seq = 42;
	re.last_seq = 43;
	assert_int_equal(csb_store_apply(s, "p1", "m", &re, NULL, 0, &c), CSB_OK);
}

static void test_copy_drop(void **state)
{
	csb_store *s = ((pair *)*state)->dst.s;
	csb_record r[] = {rec("a", "1", 1)};
	csb_batch_hdr h = {.after_seq = 0, .last_seq = 1};
	char **names, v[8];
	csb_cursor c;
	size_t n;

	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r, 1, &c), CSB_OK);
	assert_int_equal(csb_store_apply(s, "p1", "other", &h, r, 1, &c), CSB_OK);
	assert_int_equal(csb_store_apply(s, "p2", "m", &h, r, 1, &c), CSB_OK);
	assert_int_equal(csb_store_copies(s, &names, &n), CSB_OK);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "p1:m");
	assert_string_equal(names[1], "p1:other");
	assert_string_equal(names[2], "p2:m");
	free(names);
	assert_int_equal(csb_store_copy_drop(s, "p1", "m"), CSB_OK);
	assert_int_equal(csb_store_cursor_get(s, "p1", "m", &c), CSB_ENOTFOUND);
	assert_int_equal(tu_get(s, "p1", "m", "a", v, sizeof(v)), CSB_ENOTFOUND);
	assert_int_equal(csb_store_modules(s, "p1", &names, &n), CSB_OK);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "other");
	free(names);
	assert_int_equal(tu_get(s, "p1", "other", "a", v, sizeof(v)), CSB_OK);
	/* Dropping what is not there is fine; importing again starts from scratch. */
	assert_int_equal(csb_store_copy_drop(s, "p1", "m"), CSB_OK);
	assert_int_equal(csb_store_apply(s, "p1", "m", &h, r, 1, &c), CSB_OK);
	assert_int_equal(c.count, 1);
	assert_int_equal(tu_get(s, "p1", "m", "a", v, sizeof(v)), CSB_OK);
}

static void assert_same_module(csb_store *src, csb_store *dst, const char *module)
{
	csb_module_info a, b;

	assert_int_equal(csb_store_module_info(src, NULL, module, &a), CSB_OK);
	assert_int_equal(csb_store_module_info(dst, "pool01", module, &b), CSB_OK);
	assert_int_equal(a.count, b.count);
	assert_int_equal(a.high_seq, b.high_seq);
	assert_int_equal(a.digest.lo, b.digest.lo);
	assert_int_equal(a.digest.hi, b.digest.hi);
}

static void test_full_replication_equal_digests(void **state)
{
	pair *p = *state;
	char key[16], val[32];
	csb_module_info a;
	unsigned batches;

	for (int i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "user%04d", i % 300);
		snprintf(val, sizeof(val), "presence-%d", i);
		assert_int_equal(tu_put(p->src.s, "Presence", key, val, NULL), CSB_OK);
	}
	for (int i = 0; i < 300; i += 7) {
		snprintf(key, sizeof(key), "user%04d", i);
		assert_int_equal(csb_store_delete(p->src.s, "Presence", key, 8, NULL), CSB_OK);
	}
	batches = tu_replicate(p->src.s, p->dst.s, "pool01", "Presence", 7);
	assert_int_equal(batches, (300 + 6) / 7);
	assert_same_module(p->src.s, p->dst.s, "Presence");
	assert_int_equal(csb_store_module_info(p->src.s, NULL, "Presence", &a), CSB_OK);
	assert_int_equal(a.count, 300 - 43);
	/* More changes; the next pulls bring the copy level again. */
	for (int i = 0; i < 300; i += 5) {
		snprintf(key, sizeof(key), "user%04d", i);
		assert_int_equal(tu_put(p->src.s, "Presence", key, "back", NULL), CSB_OK);
	}
	assert_int_equal(csb_store_delete(p->src.s, "Presence", "user0001", 8, NULL), CSB_OK);
	tu_replicate(p->src.s, p->dst.s, "pool01", "Presence", 16);
	assert_same_module(p->src.s, p->dst.s, "Presence");
	/* Caught up: one more pull is an empty batch. */
	assert_int_equal(tu_replicate(p->src.s, p->dst.s, "pool01", "Presence", 16), 1);
	assert_same_module(p->src.s, p->dst.s, "Presence");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_apply_twice_is_apply_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tombstone_deletes_from_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reseed_skips_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_replication_equal_digests, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
