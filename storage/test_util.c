/* Helpers for the storage/ tests: temporary store directories and short record access. */
#include "storage/internal/test_util.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

char *tu_mkdtemp(void)
{
	const char *base = getenv("TEST_TMPDIR");
	char *path;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	assert_true(asprintf(&path, "%s/csbstore.XXXXXX", base) > 0);
	assert_non_null(mkdtemp(path));
	return path;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tu_rmtree(char *dir)
{
	if (dir == NULL)
		return;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

void tu_open(tu_store *ts, uint64_t map_size, bool no_sync)
{
	csb_store_opts o = {.map_size = map_size, .no_sync = no_sync};

	ts->dir = tu_mkdtemp();
	ts->s = NULL;
	assert_int_equal(csb_store_open(ts->dir, &o, &ts->s), CSB_OK);
	assert_non_null(ts->s);
}

void tu_close(tu_store *ts)
{
	csb_store_close(ts->s);
	ts->s = NULL;
	tu_rmtree(ts->dir);
	ts->dir = NULL;
}

void tu_reopen(tu_store *ts, uint64_t map_size)
{
	csb_store_opts o = {.map_size = map_size};

	csb_store_close(ts->s);
	ts->s = NULL;
	assert_int_equal(csb_store_open(ts->dir, &o, &ts->s), CSB_OK);
}

csb_err tu_put(csb_store *s, const char *module, const char *key, const char *value,
               uint64_t *seq)
{
	return csb_store_put(s, module, key, strlen(key), value, strlen(value), seq);
}

csb_err tu_get(csb_store *s, const char *source, const char *module, const char *key,
               char *value, size_t cap)
{
	csb_record r;
	csb_err rv = csb_store_get(s, source, module, key, strlen(key), &r);

	if (rv != CSB_OK)
		return rv;
	assert_true(r.value_len < cap);
	memcpy(value, r.value, r.value_len);
	value[r.value_len] = '\0';
	assert_memory_equal(r.key, key, r.key_len);
	csb_record_clear(&r);
	return CSB_OK;
}

unsigned tu_replicate(csb_store *src, csb_store *dst, const char *source, const char *module,
                      size_t batch)
{
	csb_cursor cur = {0};
	csb_changes ch;
	unsigned batches = 0;

	if (csb_store_cursor_get(dst, source, module, &cur) != CSB_OK)
		memset(&cur, 0, sizeof(cur));
	for (;;) {
		csb_batch_hdr h = {.after_seq = cur.applied_seq};

		assert_int_equal(csb_store_changes(src, module, cur.applied_seq, batch, 0, &ch),
		                 CSB_OK);
		h.lineage = ch.lineage;
		h.last_seq = ch.last_seq;
		assert_int_equal(
			csb_store_apply(dst, source, module, &h, ch.records, ch.count, &cur), CSB_OK);
		batches++;
		if (ch.last_seq == ch.high_seq) {
			csb_changes_clear(&ch);
			return batches;
		}
		csb_changes_clear(&ch);
	}
}
