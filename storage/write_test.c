/* Tests of writes to own modules (put, delete, batches, seqs, counts) and of reads (get,
 * list in key order with prefix, after and limit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void test_put_get_delete(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	char v[64];
	uint64_t seq = 0;
	csb_module_info mi;

	assert_int_equal(tu_put(s, "m", "alpha", "one", &seq), CSB_OK);
	assert_int_equal(seq, 1);
	assert_int_equal(tu_put(s, "m", "beta", "two", &seq), CSB_OK);
	assert_int_equal(seq, 2);
	assert_int_equal(tu_put(s, "m", "alpha", "uno", &seq), CSB_OK);
	assert_int_equal(seq, 3);
	assert_int_equal(tu_get(s, NULL, "m", "alpha", v, sizeof(v)), CSB_OK);
	assert_string_equal(v, "uno");
	assert_int_equal(csb_store_delete(s, "m", "alpha", 5, &seq), CSB_OK);
	assert_int_equal(seq, 4);
	assert_int_equal(tu_get(s, NULL, "m", "alpha", v, sizeof(v)), CSB_ENOTFOUND);
	/* Deleting what has no live value: CSB_ENOTFOUND, and no seq is used. */
	assert_int_equal(csb_store_delete(s, "m", "alpha", 5, &seq), CSB_ENOTFOUND);
	assert_int_equal(csb_store_delete(s, "m", "gamma", 5, &seq), CSB_ENOTFOUND);
	assert_int_equal(csb_store_delete(s, "nomodule", "gamma", 5, &seq), CSB_ENOTFOUND);
	assert_int_equal(tu_get(s, NULL, "m", "gamma", v, sizeof(v)), CSB_ENOTFOUND);
	assert_int_equal(tu_get(s, NULL, "nomodule", "gamma", v, sizeof(v)), CSB_ENOTFOUND);
	assert_int_equal(csb_store_module_info(s, NULL, "m", &mi), CSB_OK);
	assert_int_equal(mi.high_seq, 4);
	assert_int_equal(mi.count, 1);
	assert_int_equal(mi.horizon, 0);
	/* A deleted key comes back with the next seq. */
	assert_int_equal(tu_put(s, "m", "alpha", "again", &seq), CSB_OK);
	assert_int_equal(seq, 5);
}

static void test_get_record_fields(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	csb_record r;
	uint64_t seq;

	assert_int_equal(csb_store_put(s, "m", "k", 1, NULL, 0, &seq), CSB_OK);
	assert_int_equal(csb_store_get(s, NULL, "m", "k", 1, &r), CSB_OK);
	assert_int_equal(r.key_len, 1);
	assert_int_equal(r.key[0], 'k');
	assert_non_null(r.value); /* an empty value is not a tombstone */
	assert_int_equal(r.value_len, 0);
	assert_int_equal(r.seq, seq);
	assert_false(r.tombstone);
	assert_true(r.mtime_ms > 1600000000000ull);
	csb_record_clear(&r);
	assert_null(r.key);
	csb_record_clear(NULL);
}

/* A part of a value: the bytes asked for, fewer at its end, none past it; the whole
 * length and the record's seq with it; absent and deleted keys as csb_store_get(). */
static void test_get_part(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	csb_record r;
	uint64_t seq, whole = 0;

	assert_int_equal(csb_store_put(s, "m", "deck", 4, "0123456789", 10, &seq), CSB_OK);
	assert_int_equal(csb_store_get_part(s, NULL, "m", "deck", 4, 2, 4, &r, &whole), CSB_OK);
	assert_int_equal(whole, 10);
	assert_int_equal(r.value_len, 4);
	assert_memory_equal(r.value, "2345", 4);
	assert_int_equal(r.seq, seq);
	assert_int_equal(r.key_len, 4);
	csb_record_clear(&r);
	assert_int_equal(csb_store_get_part(s, NULL, "m", "deck", 4, 8, 4, &r, &whole), CSB_OK);
	assert_int_equal(r.value_len, 2);
	assert_memory_equal(r.value, "89", 2);
	csb_record_clear(&r);
	assert_int_equal(csb_store_get_part(s, NULL, "m", "deck", 4, 12, 4, &r, &whole), CSB_OK);
	assert_int_equal(r.value_len, 0);
	assert_int_equal(whole, 10);
	csb_record_clear(&r);
	assert_int_equal(csb_store_get_part(s, NULL, "m", "none", 4, 0, 4, &r, &whole),
	                 CSB_ENOTFOUND);
	assert_int_equal(csb_store_delete(s, "m", "deck", 4, &seq), CSB_OK);
	assert_int_equal(csb_store_get_part(s, NULL, "m", "deck", 4, 0, 4, &r, &whole),
	                 CSB_ENOTFOUND);
	assert_int_equal(csb_store_get_part(s, NULL, "m", "deck", 4, 0, 4, &r, NULL), CSB_EINVAL);
}

static void test_batch_write(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	csb_write w[] = {
		{CSB_OP_PUT, "a", 1, "1", 1},
		{CSB_OP_DELETE, "zz", 2, NULL, 0}, /* absent: writes nothing */
		{CSB_OP_PUT, "b", 1, "2", 1},
		{CSB_OP_PUT, "a", 1, "3", 1},
		{CSB_OP_DELETE, "b", 1, NULL, 0},
	};
	csb_module_info mi;
	uint64_t last = 0;
	char v[8];

	assert_int_equal(csb_store_write(s, "m", w, 5, &last), CSB_OK);
	assert_int_equal(last, 4);
	assert_int_equal(tu_get(s, NULL, "m", "a", v, sizeof(v)), CSB_OK);
	assert_string_equal(v, "3");
	assert_int_equal(tu_get(s, NULL, "m", "b", v, sizeof(v)), CSB_ENOTFOUND);
	assert_int_equal(csb_store_module_info(s, NULL, "m", &mi), CSB_OK);
	assert_int_equal(mi.count, 1);
	assert_int_equal(mi.high_seq, 4);
	assert_int_equal(csb_store_write(s, "m", w, 0, &last), CSB_EINVAL);
	assert_int_equal(csb_store_write(s, "m", NULL, 1, &last), CSB_EINVAL);
	w[0].op = (csb_op)7;
	assert_int_equal(csb_store_write(s, "m", w, 1, &last), CSB_EINVAL);
}

static void test_only_absent_deletes_write_nothing(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	csb_write w[] = {{CSB_OP_DELETE, "x", 1, NULL, 0}, {CSB_OP_DELETE, "y", 1, NULL, 0}};
	uint64_t last = 99;
	char **names;
	size_t n;

	assert_int_equal(csb_store_write(s, "ghost", w, 2, &last), CSB_OK);
	assert_int_equal(last, 0);
	assert_int_equal(csb_store_modules(s, NULL, &names, &n), CSB_OK);
	assert_int_equal(n, 0);
}

typedef struct collect {
	char keys[16][16];
	size_t n;
	size_t stop_at; /* return false after this many (0: never) */
} collect;

static bool collect_fn(void *ctx, const csb_record *r)
{
	collect *c = ctx;

	assert_true(r->key_len < sizeof(c->keys[0]));
	memcpy(c->keys[c->n], r->key, r->key_len);
	c->keys[c->n][r->key_len] = '\0';
	c->n++;
	return c->stop_at == 0 || c->n < c->stop_at;
}

static void test_list(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	const char *keys[] = {"b1", "a2", "b3", "a1", "b2", "c"};
	collect c = {0};

	for (size_t i = 0; i < 6; i++)
		assert_int_equal(tu_put(s, "m", keys[i], "v", NULL), CSB_OK);
	assert_int_equal(csb_store_delete(s, "m", "b2", 2, NULL), CSB_OK);
	assert_int_equal(csb_store_list(s, NULL, "m", NULL, 0, NULL, 0, 0, collect_fn, &c),
	                 CSB_OK);
	assert_int_equal(c.n, 5);
	assert_string_equal(c.keys[0], "a1");
	assert_string_equal(c.keys[1], "a2");
	assert_string_equal(c.keys[2], "b1");
	assert_string_equal(c.keys[3], "b3");
	assert_string_equal(c.keys[4], "c");
	c = (collect){0};
	assert_int_equal(csb_store_list(s, NULL, "m", "b", 1, NULL, 0, 0, collect_fn, &c), CSB_OK);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.keys[1], "b3");
	c = (collect){0};
	assert_int_equal(csb_store_list(s, NULL, "m", "b", 1, "b1", 2, 0, collect_fn, &c), CSB_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.keys[0], "b3");
	c = (collect){0};
	assert_int_equal(csb_store_list(s, NULL, "m", "b", 1, "a9", 2, 0, collect_fn, &c), CSB_OK);
	assert_int_equal(c.n, 2);
	c = (collect){0};
	assert_int_equal(csb_store_list(s, NULL, "m", NULL, 0, "a1", 2, 3, collect_fn, &c), CSB_OK);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.keys[0], "a2");
	assert_string_equal(c.keys[2], "b3");
	c = (collect){.stop_at = 2};
	assert_int_equal(csb_store_list(s, NULL, "m", NULL, 0, NULL, 0, 0, collect_fn, &c), CSB_OK);
	assert_int_equal(c.n, 2);
	c = (collect){0};
	assert_int_equal(csb_store_list(s, NULL, "none", NULL, 0, NULL, 0, 0, collect_fn, &c),
	                 CSB_OK);
	assert_int_equal(c.n, 0);
	assert_int_equal(csb_store_list(s, NULL, "m", NULL, 1, NULL, 0, 0, collect_fn, &c),
	                 CSB_EINVAL);
	assert_int_equal(csb_store_list(s, NULL, "m", NULL, 0, NULL, 0, 0, NULL, &c), CSB_EINVAL);
}

/* A callback may call back into the store, also to write. */
static bool nested_fn(void *ctx, const csb_record *r)
{
	csb_store *s = ctx;
	char key[32];

	snprintf(key, sizeof(key), "copy-%.*s", (int)r->key_len, (const char *)r->key);
	assert_int_equal(csb_store_put(s, "nested", key, strlen(key), r->value, r->value_len,
	                               NULL),
	                 CSB_OK);
	return true;
}

static void test_list_callback_writes(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	csb_module_info mi;
	char v[8];

	assert_int_equal(tu_put(s, "m", "k1", "v1", NULL), CSB_OK);
	assert_int_equal(tu_put(s, "m", "k2", "v2", NULL), CSB_OK);
	assert_int_equal(csb_store_list(s, NULL, "m", NULL, 0, NULL, 0, 0, nested_fn, s), CSB_OK);
	assert_int_equal(csb_store_module_info(s, NULL, "nested", &mi), CSB_OK);
	assert_int_equal(mi.count, 2);
	assert_int_equal(tu_get(s, NULL, "nested", "copy-k2", v, sizeof(v)), CSB_OK);
	assert_string_equal(v, "v2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_record_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_part, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_absent_deletes_write_nothing, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_callback_writes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
