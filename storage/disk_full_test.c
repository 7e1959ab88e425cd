/* A full disk is reported as CSB_ENOSPC ("disk full"), not as the EIO LMDB turns a short
 * write into. Fault injection (linked with -Wl,--wrap=mdb_txn_commit,--wrap=fstatvfs): a
 * commit fails with EIO while the filesystem reports no room, or while it reports plenty;
 * and, where this process may mount (root in a private mount namespace), a real tmpfs of
 * 2 MiB written until it is full. Either way nothing is written half-way and the store
 * works again once there is room. */
#include <errno.h>
#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <cmocka.h>

#include "storage/internal/commit_fault.h"
#include "storage/internal/test_util.h"
#include "storage/store.h"
#include "tests/tmpfs.h"

int __real_fstatvfs(int fd, struct statvfs *buf);
int __wrap_fstatvfs(int fd, struct statvfs *buf);

static bool fake_full; /* fstatvfs reports no block available */

int __wrap_fstatvfs(int fd, struct statvfs *buf)
{
	int rc = __real_fstatvfs(fd, buf);

	if (rc == 0 && fake_full)
		buf->f_bavail = 0;
	return rc;
}

static int setup(void **state)
{
	tu_store *ts = calloc(1, sizeof(*ts));

	tu_open(ts, 0, false);
	tu_fail_commits = 0;
	fake_full = false;
	*state = ts;
	return 0;
}

static int teardown(void **state)
{
	tu_fail_commits = 0;
	fake_full = false;
	tu_close(*state);
	free(*state);
	return 0;
}

static void test_eio_on_full_disk_is_enospc(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	csb_record r = {.key = (uint8_t *)"a", .key_len = 1, .value = (uint8_t *)"1",
	                .value_len = 1, .seq = 1};
	csb_batch_hdr h = {.after_seq = 0, .last_seq = 1};
	csb_module_info mi;
	csb_cursor c;
	char v[8];

	assert_int_equal(tu_put(s, "m", "z", "0", NULL), CSB_OK);
	/* A write and an import on a full disk. */
	fake_full = true;
	tu_fail_commits = 2;
	assert_int_equal(tu_put(s, "m", "k", "v", NULL), CSB_ENOSPC);
	assert_int_equal(csb_store_apply(s, "p1", "m", &h, &r, 1, &c), CSB_ENOSPC);
	assert_string_equal(csb_strerror(CSB_ENOSPC), "disk full");
	/* Nothing of either is there. */
	assert_int_equal(tu_get(s, NULL, "m", "k", v, sizeof(v)), CSB_ENOTFOUND);
	assert_int_equal(csb_store_module_info(s, NULL, "m", &mi), CSB_OK);
	assert_int_equal(mi.high_seq, 1);
	assert_int_equal(csb_store_cursor_get(s, "p1", "m", &c), CSB_ENOTFOUND);
	/* Room again: the same calls succeed. */
	fake_full = false;
	assert_int_equal(tu_put(s, "m", "k", "v", NULL), CSB_OK);
	assert_int_equal(csb_store_apply(s, "p1", "m", &h, &r, 1, &c), CSB_OK);
	assert_int_equal(c.applied_seq, 1);
}

static void test_eio_with_room_stays_eio(void **state)
{
	csb_store *s = ((tu_store *)*state)->s;
	char v[8];

	tu_fail_commits = 1;
	assert_int_equal(tu_put(s, "m", "k", "v", NULL), CSB_EIO);
	assert_int_equal(tu_get(s, NULL, "m", "k", v, sizeof(v)), CSB_ENOTFOUND);
}

static void test_real_tmpfs_fills_up(void **state)
{
	char *dir = tu_mkdtemp(), key[16];
	static char value[64 << 10];
	csb_store_opts o = {.map_size = 0};
	csb_record r;
	csb_store *s;
	csb_err rv = CSB_OK;
	int n;

	(void)state;
	if (!tmpfs_private(dir, "2m")) {
		tu_rmtree(dir);
		skip();
	}
	memset(value, 'x', sizeof(value));
	assert_int_equal(csb_store_open(dir, &o, &s), CSB_OK);
	/* 64 KiB values into 2 MiB: the disk is full long before the 64 MiB map. */
	for (n = 0; n < 100 && rv == CSB_OK; n++) {
		snprintf(key, sizeof(key), "k%03d", n);
		rv = csb_store_put(s, "m", key, strlen(key), value, sizeof(value), NULL);
	}
	assert_int_equal(rv, CSB_ENOSPC);
	assert_true(n > 1 && n < 100);
	/* What was acknowledged is there, the refused one is not, the store still reads. */
	assert_int_equal(csb_store_get(s, NULL, "m", "k000", 4, &r), CSB_OK);
	assert_int_equal(r.value_len, sizeof(value));
	csb_record_clear(&r);
	snprintf(key, sizeof(key), "k%03d", n - 1);
	assert_int_equal(csb_store_get(s, NULL, "m", key, strlen(key), &r), CSB_ENOTFOUND);
	csb_store_close(s);
	assert_int_equal(umount2(dir, MNT_DETACH), 0);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_eio_on_full_disk_is_enospc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eio_with_room_stays_eio, setup, teardown),
		cmocka_unit_test(test_real_tmpfs_fills_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
