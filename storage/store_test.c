/* Tests of csb_store open/close, lineage, counters, meta blobs, module lists, argument
 * checks, map growth (also with threads racing) and persistence across reopen. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "storage/internal/test_util.h"
#include "storage/store.h"

static void test_open_bad_args(void **state)
{
	char *dir = tu_mkdtemp(), *file;
	csb_store *s = (csb_store *)1;
	int fd;

	(void)state;
	assert_int_equal(csb_store_open(NULL, NULL, &s), CSB_EINVAL);
	assert_int_equal(csb_store_open("", NULL, &s), CSB_EINVAL);
	assert_int_equal(csb_store_open(dir, NULL, NULL), CSB_EINVAL);
	/* A missing directory and a path that is not a directory: CSB_EINVAL. */
	assert_true(asprintf(&file, "%s/missing", dir) > 0);
	assert_int_equal(csb_store_open(file, NULL, &s), CSB_EINVAL);
	assert_null(s);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(csb_store_open(file, NULL, &s), CSB_EINVAL);
	free(file);
	csb_store_close(NULL);
	tu_rmtree(dir);
}

static void test_open_twice_busy(void **state)
{
	tu_store ts;
	csb_store *again = NULL;

	(void)state;
	tu_open(&ts, 0, false);
	assert_int_equal(csb_store_open(ts.dir, NULL, &again), CSB_EBUSY);
	assert_null(again);
	/* Closing releases it. */
	csb_store_close(ts.s);
	assert_int_equal(csb_store_open(ts.dir, NULL, &ts.s), CSB_OK);
	tu_close(&ts);
}

static void test_open_not_a_store(void **state)
{
	char *dir = tu_mkdtemp(), *path;
	char junk[8192];
	csb_store *s = NULL;
	int fd;

	(void)state;
	memset(junk, 'x', sizeof(junk));
	assert_true(asprintf(&path, "%s/data.mdb", dir) > 0);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	assert_int_equal(csb_store_open(dir, NULL, &s), CSB_ECORRUPT);
	assert_null(s);
	free(path);
	tu_rmtree(dir);
}

static void test_lineage(void **state)
{
	csb_lineage a, b, c, zero = {{0}};
	tu_store ts;

	(void)state;
	tu_open(&ts, 0, false);
	assert_int_equal(csb_store_lineage(ts.s, &a), CSB_OK);
	assert_memory_not_equal(a.b, zero.b, CSB_LINEAGE_LEN);
	tu_reopen(&ts, 0);
	assert_int_equal(csb_store_lineage(ts.s, &b), CSB_OK);
	assert_memory_equal(a.b, b.b, CSB_LINEAGE_LEN);
	assert_int_equal(csb_store_lineage_renew(ts.s, &c), CSB_OK);
	assert_memory_not_equal(a.b, c.b, CSB_LINEAGE_LEN);
	tu_reopen(&ts, 0);
	assert_int_equal(csb_store_lineage(ts.s, &b), CSB_OK);
	assert_memory_equal(b.b, c.b, CSB_LINEAGE_LEN);
	assert_int_equal(csb_store_lineage(ts.s, NULL), CSB_EINVAL);
	tu_close(&ts);
}

static void test_counters_and_meta_persist(void **state)
{
	const char *name = "export.records:UserServices.PresenceFocus";
	uint64_t v = 99;
	size_t len = 7;
	void *blob = NULL;
	tu_store ts;

	(void)state;
	tu_open(&ts, 0, false);
	assert_int_equal(csb_store_counter_get(ts.s, name, &v), CSB_OK);
	assert_int_equal(v, 0);
	assert_int_equal(csb_store_counter_add(ts.s, name, 5), CSB_OK);
	assert_int_equal(csb_store_counter_add(ts.s, name, 37), CSB_OK);
	assert_int_equal(csb_store_meta_get(ts.s, "epoch", &blob, &len), CSB_ENOTFOUND);
	assert_null(blob);
	assert_int_equal(csb_store_meta_put(ts.s, "epoch", "fenced-7", 8), CSB_OK);
	assert_int_equal(csb_store_meta_put(ts.s, "empty", NULL, 0), CSB_OK);
	/* A counter and a blob of the same name do not collide. */
	assert_int_equal(csb_store_meta_put(ts.s, name, "x", 1), CSB_OK);
	tu_reopen(&ts, 0);
	assert_int_equal(csb_store_counter_get(ts.s, name, &v), CSB_OK);
	assert_int_equal(v, 42);
	assert_int_equal(csb_store_meta_get(ts.s, "epoch", &blob, &len), CSB_OK);
	assert_int_equal(len, 8);
	assert_memory_equal(blob, "fenced-7", 8);
	free(blob);
	assert_int_equal(csb_store_meta_get(ts.s, "empty", &blob, &len), CSB_OK);
	assert_int_equal(len, 0);
	free(blob);
	assert_int_equal(csb_store_counter_add(ts.s, NULL, 1), CSB_EINVAL);
	assert_int_equal(csb_store_counter_add(ts.s, "", 1), CSB_EINVAL);
	assert_int_equal(csb_store_meta_put(ts.s, "x", NULL, 3), CSB_EINVAL);
	assert_int_equal(csb_store_meta_get(ts.s, "x", NULL, &len), CSB_EINVAL);
	tu_close(&ts);
}

static void test_bad_names_and_keys(void **state)
{
	char key[CSB_KEY_MAX + 1], mod[CSB_MODULE_MAX + 2];
	csb_record r;
	tu_store ts;

	(void)state;
	tu_open(&ts, 0, false);
	memset(key, 'k', sizeof(key));
	memset(mod, 'm', sizeof(mod));
	mod[CSB_MODULE_MAX + 1] = '\0';
	assert_int_equal(csb_store_put(ts.s, "m", NULL, 1, "v", 1, NULL), CSB_EINVAL);
	assert_int_equal(csb_store_put(ts.s, "m", "", 0, "v", 1, NULL), CSB_EINVAL);
	assert_int_equal(csb_store_put(ts.s, "m", key, CSB_KEY_MAX + 1, "v", 1, NULL), CSB_EINVAL);
	assert_int_equal(csb_store_put(ts.s, "m", key, CSB_KEY_MAX, "v", 1, NULL), CSB_OK);
	assert_int_equal(csb_store_put(ts.s, "a:b", "k", 1, "v", 1, NULL), CSB_EINVAL);
	assert_int_equal(csb_store_put(ts.s, "", "k", 1, "v", 1, NULL), CSB_EINVAL);
	assert_int_equal(csb_store_put(ts.s, NULL, "k", 1, "v", 1, NULL), CSB_EINVAL);
	assert_int_equal(csb_store_put(ts.s, mod, "k", 1, "v", 1, NULL), CSB_EINVAL);
	mod[CSB_MODULE_MAX] = '\0';
	assert_int_equal(csb_store_put(ts.s, mod, "k", 1, "v", 1, NULL), CSB_OK);
	assert_int_equal(csb_store_put(ts.s, "m", "k", 1, NULL, 1, NULL), CSB_EINVAL);
	assert_int_equal(csb_store_get(ts.s, "p:2", "m", "k", 1, &r), CSB_EINVAL);
	assert_int_equal(csb_store_get(ts.s, NULL, "m", key, CSB_KEY_MAX + 1, &r), CSB_EINVAL);
	assert_int_equal(csb_store_delete(ts.s, "m", "", 0, NULL), CSB_EINVAL);
	tu_close(&ts);
}

static void test_modules_list(void **state)
{
	csb_batch_hdr h = {.last_seq = 1};
	csb_record rec = {.key = (uint8_t *)"k", .key_len = 1, .value = (uint8_t *)"v",
	                  .value_len = 1, .seq = 1};
	char **names = NULL;
	size_t n = 9;
	tu_store ts;

	(void)state;
	tu_open(&ts, 0, false);
	assert_int_equal(csb_store_modules(ts.s, NULL, &names, &n), CSB_OK);
	assert_int_equal(n, 0);
	assert_null(names);
	assert_int_equal(tu_put(ts.s, "RGS.b", "k", "v", NULL), CSB_OK);
	assert_int_equal(tu_put(ts.s, "RGS.a", "k", "v", NULL), CSB_OK);
	assert_int_equal(tu_put(ts.s, "CMS", "k", "v", NULL), CSB_OK);
	assert_int_equal(csb_store_apply(ts.s, "pool02", "Presence", &h, &rec, 1, NULL), CSB_OK);
	assert_int_equal(csb_store_modules(ts.s, NULL, &names, &n), CSB_OK);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "CMS");
	assert_string_equal(names[1], "RGS.a");
	assert_string_equal(names[2], "RGS.b");
	free(names);
	assert_int_equal(csb_store_modules(ts.s, "pool02", &names, &n), CSB_OK);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "Presence");
	free(names);
	assert_int_equal(csb_store_modules(ts.s, "pool0", &names, &n), CSB_OK);
	assert_int_equal(n, 0);
	assert_int_equal(csb_store_modules(ts.s, "a:b", &names, &n), CSB_EINVAL);
	tu_close(&ts);
}

/* Opens with a 1 MiB map and writes ~20 MB (one batch of 8 MB among them): the map
 * grows, everything stays readable, and the store reopens with its data. */
static void test_map_grows(void **state)
{
	enum { VAL = 1 << 20, N = 20 };
	char *val = malloc(VAL), key[16], bkeys[8][8];
	csb_write w[8];
	csb_module_info mi;
	csb_record r;
	tu_store ts;

	(void)state;
	assert_non_null(val);
	tu_open(&ts, 1 << 20, true);
	for (int i = 0; i < 8; i++) {
		memset(val, 'a' + i, VAL);
		snprintf(key, sizeof(key), "big%02d", i);
		assert_int_equal(csb_store_put(ts.s, "files", key, strlen(key), val, VAL, NULL),
		                 CSB_OK);
	}
	for (int i = 0; i < 8; i++) {
		snprintf(bkeys[i], sizeof(bkeys[i]), "bat%02d", i);
		w[i] = (csb_write){CSB_OP_PUT, bkeys[i], 5, val, VAL};
	}
	memset(val, 'z', VAL);
	assert_int_equal(csb_store_write(ts.s, "files", w, 8, NULL), CSB_OK);
	for (int i = 16; i < N; i++) {
		snprintf(key, sizeof(key), "big%02d", i);
		assert_int_equal(csb_store_put(ts.s, "files", key, strlen(key), val, VAL, NULL),
		                 CSB_OK);
	}
	tu_reopen(&ts, 1 << 20);
	assert_int_equal(csb_store_module_info(ts.s, NULL, "files", &mi), CSB_OK);
	assert_int_equal(mi.count, N);
	assert_int_equal(mi.high_seq, N);
	assert_int_equal(csb_store_get(ts.s, NULL, "files", "big03", 5, &r), CSB_OK);
	assert_int_equal(r.value_len, VAL);
	assert_int_equal(r.value[0], 'd');
	assert_int_equal(r.value[VAL - 1], 'd');
	csb_record_clear(&r);
	assert_int_equal(csb_store_get(ts.s, NULL, "files", "bat07", 5, &r), CSB_OK);
	assert_int_equal(r.value[VAL / 2], 'z');
	csb_record_clear(&r);
	assert_int_equal(csb_store_put(ts.s, "files", "after", 5, val, VAL, NULL), CSB_OK);
	free(val);
	tu_close(&ts);
}

/* Writers and readers racing on one handle while the map grows from 1 MiB. */
enum { THREADS = 4, PER_THREAD = 1500, VALUE = 1000 };

typedef struct race_arg {
	csb_store *s;
	int id;
} race_arg;

static void *race_writer(void *arg)
{
	csb_store *s = ((race_arg *)arg)->s;
	int id = ((race_arg *)arg)->id;
	char key[32], val[VALUE];
	csb_changes ch;
	csb_module_info mi;

	memset(val, 'a' + id, sizeof(val));
	for (int i = 0; i < PER_THREAD; i++) {
		snprintf(key, sizeof(key), "t%d-%05d", id, i);
		if (csb_store_put(s, "race", key, strlen(key), val, sizeof(val), NULL) != CSB_OK)
			return (void *)1;
		if (i % 100 == 0 &&
		    (csb_store_changes(s, "race", 0, 50, 0, &ch) != CSB_OK ||
		     csb_store_module_info(s, NULL, "race", &mi) != CSB_OK))
			return (void *)1;
		if (i % 100 == 0)
			csb_changes_clear(&ch);
	}
	return NULL;
}

static void test_threads_race_map_growth(void **state)
{
	pthread_t th[THREADS];
	race_arg args[THREADS];
	csb_module_info mi;
	tu_store ts;
	void *ret;

	(void)state;
	tu_open(&ts, 1 << 20, true);
	for (int i = 0; i < THREADS; i++) {
		args[i] = (race_arg){ts.s, i};
		assert_int_equal(pthread_create(&th[i], NULL, race_writer, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_null(ret);
	}
	assert_int_equal(csb_store_module_info(ts.s, NULL, "race", &mi), CSB_OK);
	assert_int_equal(mi.count, THREADS * PER_THREAD);
	assert_int_equal(mi.high_seq, THREADS * PER_THREAD);
	tu_close(&ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_bad_args),
		cmocka_unit_test(test_open_twice_busy),
		cmocka_unit_test(test_open_not_a_store),
		cmocka_unit_test(test_lineage),
		cmocka_unit_test(test_counters_and_meta_persist),
		cmocka_unit_test(test_bad_names_and_keys),
		cmocka_unit_test(test_modules_list),
		cmocka_unit_test(test_map_grows),
		cmocka_unit_test(test_threads_race_map_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
