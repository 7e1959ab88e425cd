/* Tests of set digests: equal data gives equal digests (own module vs copy), one changed
 * byte differs, tombstones contribute nothing, range digests add up, a split covers its
 * range exactly, and a differing record shows in exactly one part. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "storage/internal/test_util.h"
#include "storage/store.h"

enum { KEYS = 1000 };

static int setup(void **state)
{
	tu_store *ts = calloc(1, sizeof(*ts));
	char key[16], val[32];

	tu_open(ts, 0, true);
	/* Modules "a" and "b" hold the same records, written in different orders. */
	for (int i = 0; i < KEYS; i++) {
		snprintf(key, sizeof(key), "k%05d", i);
		snprintf(val, sizeof(val), "value-%d", i * 31);
		assert_int_equal(tu_put(ts->s, "a", key, val, NULL), CSB_OK);
		snprintf(key, sizeof(key), "k%05d", KEYS - 1 - i);
		snprintf(val, sizeof(val), "value-%d", (KEYS - 1 - i) * 31);
		assert_int_equal(tu_put(ts->s, "b", key, val, NULL), CSB_OK);
	}
	*state = ts;
	return 0;
}

static int teardown(void **state)
{
	tu_close(*state);
	free(*state);
	return 0;
}

static const csb_range whole = {NULL, 0, NULL, 0};

static csb_digest range_digest(csb_store *s, const char *source, const char *module,
                               const csb_range *r, uint64_t *count)
{
	csb_digest d;

	assert_int_equal(csb_store_digest_ranges(s, source, module, r, 1, &d, count), CSB_OK);
	return d;
}

static bool digest_eq(csb_digest a, csb_digest b)
{
	return a.lo == b.lo && a.hi == b.hi;
}

static void test_equal_data_equal_digest(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	csb_module_info ia, ib, ic;
	uint64_t n;

	assert_int_equal(csb_store_module_info(s, NULL, "a", &ia), CSB_OK);
	assert_int_equal(csb_store_module_info(s, NULL, "b", &ib), CSB_OK);
	assert_true(digest_eq(ia.digest, ib.digest));
	assert_int_equal(ia.count, KEYS);
	/* The kept digest equals one recomputed by walking. */
	assert_true(digest_eq(range_digest(s, NULL, "a", &whole, &n), ia.digest));
	assert_int_equal(n, KEYS);
	/* A replicated copy has it too. */
	tu_replicate(s, s, "self", "a", 100);
	assert_int_equal(csb_store_module_info(s, "self", "a", &ic), CSB_OK);
	assert_true(digest_eq(ic.digest, ia.digest));
	assert_true(digest_eq(range_digest(s, "self", "a", &whole, NULL), ia.digest));
	/* One changed byte. */
	assert_int_equal(tu_put(s, "b", "k00500", "value-15501", NULL), CSB_OK);
	assert_int_equal(csb_store_module_info(s, NULL, "b", &ib), CSB_OK);
	assert_false(digest_eq(ia.digest, ib.digest));
	assert_true(digest_eq(range_digest(s, NULL, "b", &whole, NULL), ib.digest));
	/* Changed back: equal again. */
	assert_int_equal(tu_put(s, "b", "k00500", "value-15500", NULL), CSB_OK);
	assert_int_equal(csb_store_module_info(s, NULL, "b", &ib), CSB_OK);
	assert_true(digest_eq(ia.digest, ib.digest));
}

static void test_tombstones_contribute_nothing(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	csb_module_info ia, ib;

	assert_int_equal(tu_put(s, "b", "extra", "x", NULL), CSB_OK);
	assert_int_equal(csb_store_delete(s, "b", "extra", 5, NULL), CSB_OK);
	assert_int_equal(csb_store_module_info(s, NULL, "a", &ia), CSB_OK);
	assert_int_equal(csb_store_module_info(s, NULL, "b", &ib), CSB_OK);
	assert_true(digest_eq(ia.digest, ib.digest));
	assert_int_equal(ib.count, KEYS);
	assert_true(digest_eq(range_digest(s, NULL, "b", &whole, NULL), ib.digest));
}

static void test_ranges_add_up(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	csb_range r[3] = {
		{NULL, 0, (const uint8_t *)"k00100", 6},
		{(const uint8_t *)"k00250", 6, (const uint8_t *)"k00300", 6}, /* a gap before */
		{(const uint8_t *)"k00300", 6, NULL, 0},
	};
	csb_range gap = {(const uint8_t *)"k00100", 6, (const uint8_t *)"k00250", 6};
	csb_digest d[3], sum, all;
	uint64_t c[3], gc;

	assert_int_equal(csb_store_digest_ranges(s, NULL, "a", r, 3, d, c), CSB_OK);
	assert_int_equal(c[0], 100);
	assert_int_equal(c[1], 50);
	assert_int_equal(c[2], 700);
	all = range_digest(s, NULL, "a", &whole, NULL);
	sum = range_digest(s, NULL, "a", &gap, &gc);
	assert_int_equal(gc, 150);
	for (int i = 0; i < 3; i++) {
		sum.lo += d[i].lo;
		sum.hi += d[i].hi;
	}
	assert_true(digest_eq(sum, all));
	/* Overlapping, unordered or empty ranges are refused; unknown modules are empty. */
	r[1].hi = (const uint8_t *)"k00400";
	assert_int_equal(csb_store_digest_ranges(s, NULL, "a", r, 3, d, c), CSB_EINVAL);
	r[1].hi = (const uint8_t *)"k00250";
	assert_int_equal(csb_store_digest_ranges(s, NULL, "a", &r[1], 1, d, c), CSB_EINVAL);
	assert_int_equal(csb_store_digest_ranges(s, NULL, "none", r, 1, d, c), CSB_OK);
	assert_int_equal(c[0], 0);
	assert_int_equal(d[0].lo, 0);
	assert_int_equal(csb_store_digest_ranges(s, NULL, "a", r, 0, NULL, NULL), CSB_OK);
}

static void assert_split_covers(const csb_split *sp, const csb_range *r, uint64_t total)
{
	uint64_t sum = 0, min = UINT64_MAX, max = 0;

	assert_true(sp->count >= 1);
	assert_int_equal(sp->parts[0].lo_len, r->lo_len);
	if (r->lo == NULL)
		assert_null(sp->parts[0].lo);
	else
		assert_memory_equal(sp->parts[0].lo, r->lo, r->lo_len);
	if (r->hi == NULL)
		assert_null(sp->parts[sp->count - 1].hi);
	else
		assert_memory_equal(sp->parts[sp->count - 1].hi, r->hi, r->hi_len);
	for (size_t i = 0; i < sp->count; i++) {
		if (i + 1 < sp->count) {
			assert_non_null(sp->parts[i].hi);
			assert_int_equal(sp->parts[i].hi_len, sp->parts[i + 1].lo_len);
			assert_memory_equal(sp->parts[i].hi, sp->parts[i + 1].lo,
			                    sp->parts[i].hi_len);
		}
		sum += sp->parts[i].count;
		min = sp->parts[i].count < min ? sp->parts[i].count : min;
		max = sp->parts[i].count > max ? sp->parts[i].count : max;
	}
	assert_int_equal(sum, total);
	assert_true(max - min <= 1);
}

static void test_split(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	csb_range sub = {(const uint8_t *)"k00100", 6, (const uint8_t *)"k00200", 6};
	csb_range empty = {(const uint8_t *)"x", 1, NULL, 0};
	csb_digest sum = {0, 0};
	csb_split sp;

	assert_int_equal(csb_store_digest_split(s, NULL, "a", &whole, 7, &sp), CSB_OK);
	assert_int_equal(sp.count, 7);
	assert_split_covers(&sp, &whole, KEYS);
	for (size_t i = 0; i < sp.count; i++) {
		const csb_split_part *pt = &sp.parts[i];
		csb_range r = {pt->lo, pt->lo_len, pt->hi, pt->hi_len};
		uint64_t n;

		assert_true(digest_eq(range_digest(s, NULL, "a", &r, &n), sp.parts[i].digest));
		assert_int_equal(n, sp.parts[i].count);
		sum.lo += sp.parts[i].digest.lo;
		sum.hi += sp.parts[i].digest.hi;
	}
	assert_true(digest_eq(sum, range_digest(s, NULL, "a", &whole, NULL)));
	csb_split_clear(&sp);
	assert_null(sp.parts);
	assert_int_equal(csb_store_digest_split(s, NULL, "a", &sub, 3, &sp), CSB_OK);
	assert_int_equal(sp.count, 3);
	assert_split_covers(&sp, &sub, 100);
	assert_int_equal(sp.parts[0].count, 34);
	assert_memory_equal(sp.parts[1].lo, "k00134", 6);
	csb_split_clear(&sp);
	/* More parts than records: one record each. */
	sub.hi = (const uint8_t *)"k00103";
	assert_int_equal(csb_store_digest_split(s, NULL, "a", &sub, 10, &sp), CSB_OK);
	assert_int_equal(sp.count, 3);
	assert_split_covers(&sp, &sub, 3);
	csb_split_clear(&sp);
	/* An empty range (or module): exactly one part, count 0. */
	assert_int_equal(csb_store_digest_split(s, NULL, "a", &empty, 4, &sp), CSB_OK);
	assert_int_equal(sp.count, 1);
	assert_int_equal(sp.parts[0].count, 0);
	assert_split_covers(&sp, &empty, 0);
	csb_split_clear(&sp);
	assert_int_equal(csb_store_digest_split(s, NULL, "none", &whole, 4, &sp), CSB_OK);
	assert_int_equal(sp.count, 1);
	assert_null(sp.parts[0].lo);
	assert_null(sp.parts[0].hi);
	csb_split_clear(&sp);
	assert_int_equal(csb_store_digest_split(s, NULL, "a", &whole, 0, &sp), CSB_EINVAL);
}

/* Re-seed style: split one side, digest the other side's same ranges, find the one part
 * that differs, and inside it the one record. */
static void test_differing_record_in_one_part(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	csb_range r[16];
	csb_digest d[16];
	uint64_t c[16];
	csb_split sp;
	int differ = -1;

	assert_int_equal(tu_put(s, "b", "k00777", "changed", NULL), CSB_OK);
	assert_int_equal(csb_store_digest_split(s, NULL, "a", &whole, 16, &sp), CSB_OK);
	assert_int_equal(sp.count, 16);
	for (size_t i = 0; i < sp.count; i++)
		r[i] = (csb_range){sp.parts[i].lo, sp.parts[i].lo_len, sp.parts[i].hi,
		                   sp.parts[i].hi_len};
	assert_int_equal(csb_store_digest_ranges(s, NULL, "b", r, sp.count, d, c), CSB_OK);
	for (size_t i = 0; i < sp.count; i++) {
		assert_int_equal(c[i], sp.parts[i].count);
		if (digest_eq(d[i], sp.parts[i].digest))
			continue;
		assert_int_equal(differ, -1);
		differ = (int)i;
	}
	/* 1000 records in 16 parts: 8 of 63, then 8 of 62; record 777 is in part 12. */
	assert_int_equal(differ, 12);
	assert_true(memcmp(sp.parts[differ].lo, "k00777", 6) <= 0);
	assert_true(memcmp("k00777", sp.parts[differ].hi, 6) < 0);
	assert_memory_equal(sp.parts[differ].lo, "k00752", 6);
	csb_split_clear(&sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_equal_data_equal_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tombstones_contribute_nothing, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_ranges_add_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_differing_record_in_one_part, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
