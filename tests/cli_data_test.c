/* `csb data …` and Invoke-CsBackupServiceSync through the real CLI on one local cluster:
 * records written, read (also from the backup copy), listed page by page and deleted; a
 * bulk load whose 1,000 changed records of 100,000 grow the exported totals by about 1,000
 * records and their bytes; and pools piped on stdin, each synced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/cli_harness.h"

#define P1 "pool01.csb.test"
#define P2 "pool02.csb.test"
#define PRESENCE "UserServices.PresenceFocus"
#define DATACONF "ConfServices.DataConf"

static int setup(void **state)
{
	*state = ch_cluster_up();
	return 0;
}

static int teardown(void **state)
{
	ch_cluster_down(*state);
	return 0;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static uint64_t seq_of(const struct ch_result *r)
{
	unsigned long long seq = 0;
	char nl = 0;

	if (sscanf(r->out, "seq %llu%c", &seq, &nl) != 2 || nl != '\n' || seq == 0)
		fail_msg("not a seq line: %s", r->out);
	return seq;
}

static void sync_pool(struct ch_cluster *cl, const char *pool)
{
	struct ch_result r;

	ch_ok(cl, 0, &r, "Invoke-CsBackupServiceSync", "-PoolFqdn", pool, NULL);
	ch_result_free(&r);
}

static void test_put_get_delete(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char path[CH_PATH + 16], want[CH_PATH + 80];
	static const char bin[] = {'a', 0, 'b', '\n', (char)0xff};
	uint64_t s1, s2;
	json_t *j;
	FILE *f;

	ch_ok(cl, 0, &r, "data", "put", "-PoolFqdn", P1, "-Module", PRESENCE, "-Key", "alice",
	      "-Value", "hello world", NULL);
	s1 = seq_of(&r);
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);

	/* Not a terminal: the value's bytes exactly, no newline added. */
	ch_ok(cl, 0, &r, "data", "get", "-PoolFqdn", P1, "-Module", PRESENCE, "-Key", "alice", NULL);
	assert_string_equal(r.out, "hello world");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "data", "get", "-PoolFqdn", P1, "-Module", PRESENCE, "-Key", "alice",
	      "--json", NULL);
	j = ch_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "Key")), "alice");
	assert_string_equal(json_string_value(json_object_get(j, "Value")), "hello world");
	assert_int_equal(json_integer_value(json_object_get(j, "Size")), 11);
	assert_int_equal(json_integer_value(json_object_get(j, "Seq")), s1);
	json_decref(j);
	ch_result_free(&r);

	/* A binary value from a file comes back byte for byte. */
	snprintf(path, sizeof(path), "%s/value.bin", cl->work);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(bin, 1, sizeof(bin), f), sizeof(bin));
	fclose(f);
	ch_ok(cl, 0, &r, "data", "put", "-PoolFqdn", P1, "-Module", PRESENCE, "-Key", "blob",
	      "-ValueFile", path, NULL);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "data", "get", "-PoolFqdn", P1, "-Module", PRESENCE, "-Key", "blob", NULL);
	assert_int_equal(r.out_len, sizeof(bin));
	assert_memory_equal(r.out, bin, sizeof(bin));
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "data", "get", "-PoolFqdn", P1, "-Module", PRESENCE, "-Key", "blob",
	      "--json", NULL);
	j = ch_json(&r);
	assert_null(json_object_get(j, "Value"));
	assert_string_equal(json_string_value(json_object_get(j, "ValueHex")), "6100620aff");
	json_decref(j);
	ch_result_free(&r);

	ch_ok(cl, 0, &r, "data", "delete", "-PoolFqdn", P1, "-Module", PRESENCE, "-Key", "alice",
	      NULL);
	s2 = seq_of(&r);
	assert_true(s2 > s1);
	ch_result_free(&r);
	ch_ok(cl, 1, &r, "data", "get", "-PoolFqdn", P1, "-Module", PRESENCE, "-Key", "alice", NULL);
	assert_string_equal(r.err, "csb: data get: no key 'alice' in " PRESENCE " of " P1 "\n");
	assert_int_equal(r.out_len, 0);
	ch_result_free(&r);

	/* From a pipe, which cannot seek: `… | csb data put -ValueFile /dev/stdin`. */
	{
		static char piped[40001];

		for (size_t i = 0; i < sizeof(piped) - 1; i++)
			piped[i] = (char)('a' + i % 26);
		ch_run_piped(cl, piped, &r, "data", "put", "-PoolFqdn", P1, "-Module", PRESENCE, "-Key",
		             "piped", "-ValueFile", "/dev/stdin", NULL);
		if (r.code != 0)
			fail_msg("piped put: exit %d: %s", r.code, r.err);
		ch_result_free(&r);
		ch_ok(cl, 0, &r, "data", "get", "-PoolFqdn", P1, "-Module", PRESENCE, "-Key", "piped",
		      NULL);
		assert_int_equal(r.out_len, sizeof(piped) - 1);
		assert_memory_equal(r.out, piped, sizeof(piped) - 1);
		ch_result_free(&r);
	}

	/* One byte over the 100 MiB a value file may hold (a sparse file): refused unsent. */
	snprintf(path, sizeof(path), "%s/big.bin", cl->work);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(ftruncate(fileno(f), (100 << 20) + 1), 0);
	fclose(f);
	ch_ok(cl, 2, &r, "data", "put", "-PoolFqdn", P1, "-Module", PRESENCE, "-Key", "x",
	      "-ValueFile", path, NULL);
	snprintf(want, sizeof(want), "csb: data put: cannot read %s: larger than 100 MiB\n", path);
	assert_string_equal(r.err, want);
	ch_result_free(&r);
	unlink(path);

	ch_ok(cl, 2, &r, "data", "put", "-PoolFqdn", P1, "-Module", PRESENCE, "-Key", "x",
	      "-ValueFile", "/no/such/file", NULL);
	assert_string_equal(r.err, "csb: data put: cannot read /no/such/file: No such file or "
	                           "directory\n");
	ch_result_free(&r);
}

/* -FromBackup reads the pool's backup copy, which its backup pool holds. */
static void test_from_backup(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	json_t *j;

	ch_ok(cl, 0, &r, "data", "put", "-PoolFqdn", P2, "-Module", PRESENCE, "-Key", "fb/one",
	      "-Value", "copied", NULL);
	ch_result_free(&r);
	sync_pool(cl, P2);
	ch_ok(cl, 0, &r, "data", "get", "-PoolFqdn", P2, "-Module", PRESENCE, "-Key", "fb/one",
	      "-FromBackup", NULL);
	assert_string_equal(r.out, "copied");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "data", "list", "-PoolFqdn", P2, "-Module", PRESENCE, "-Prefix", "fb/",
	      "-FromBackup", NULL);
	assert_string_equal(r.out, "fb/one\t6\n");
	ch_result_free(&r);
	/* pool01's own data does not have it: the copy is pool02's. */
	ch_ok(cl, 1, &r, "data", "get", "-PoolFqdn", P1, "-Module", PRESENCE, "-Key", "fb/one",
	      NULL);
	ch_result_free(&r);
	ch_ok(cl, 1, &r, "data", "get", "-PoolFqdn", P2, "-Module", PRESENCE, "-Key", "fb/none",
	      "-FromBackup", NULL);
	assert_string_equal(r.err, "csb: data get: no key 'fb/none' in " PRESENCE " of " P2
	                           "'s backup copy at " P1 "\n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "data", "list", "-PoolFqdn", P2, "-Module", PRESENCE, "-Prefix", "fb/",
	      "-FromBackup", "--json", NULL);
	j = ch_json(&r);
	assert_int_equal(json_array_size(j), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "Key")),
	                    "fb/one");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "Size")), 6);
	json_decref(j);
	ch_result_free(&r);
}

static void test_list(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	const char *keys[] = {"list/c", "list/a", "list/b", "lisz"};

	for (size_t i = 0; i < 4; i++) {
		ch_ok(cl, 0, &r, "data", "put", "-PoolFqdn", P1, "-Module", PRESENCE, "-Key", keys[i],
		      "-Value", "12345", NULL);
		ch_result_free(&r);
	}
	ch_ok(cl, 0, &r, "data", "list", "-PoolFqdn", P1, "-Module", PRESENCE, "-Prefix", "list/",
	      NULL);
	assert_string_equal(r.out, "list/a\t5\nlist/b\t5\nlist/c\t5\n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "data", "list", "-PoolFqdn", P1, "-Module", PRESENCE, "-Prefix", "list/",
	      "-Limit", "2", NULL);
	assert_string_equal(r.out, "list/a\t5\nlist/b\t5\n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "data", "list", "-PoolFqdn", P1, "-Module", PRESENCE, "-Prefix", "nothing/",
	      "--json", NULL);
	assert_string_equal(r.out, "[]\n");
	ch_result_free(&r);
}

static void totals(struct ch_cluster *cl, const char *module, json_int_t *records,
                   json_int_t *bytes, json_int_t *high)
{
	struct ch_result r;
	json_t *j, *m;
	size_t i;

	ch_ok(cl, 0, &r, "Get-CsBackupServiceStatus", "-PoolFqdn", P1, "--json", NULL);
	j = ch_json(&r);
	json_array_foreach(json_object_get(j, "BackupModules"), i, m) {
		if (strcmp(json_string_value(json_object_get(m, "Identity")), module) != 0)
			continue;
		*records = json_integer_value(json_object_get(m, "ExportedRecordsTotal"));
		*bytes = json_integer_value(json_object_get(m, "ExportedBytesTotal"));
		*high = json_integer_value(json_object_get(m, "HighSeq"));
		assert_int_equal(json_integer_value(json_object_get(m, "ExportedSeq")), *high);
	}
	json_decref(j);
	ch_result_free(&r);
}

static void expect_load(struct ch_result *r, json_int_t written, json_int_t deleted,
                        json_int_t bytes)
{
	json_t *j = ch_json(r);

	assert_int_equal(json_object_size(j), 4);
	assert_int_equal(json_integer_value(json_object_get(j, "Written")), written);
	assert_int_equal(json_integer_value(json_object_get(j, "Deleted")), deleted);
	assert_int_equal(json_integer_value(json_object_get(j, "Bytes")), bytes);
	assert_true(json_is_integer(json_object_get(j, "Millis")));
	json_decref(j);
}

/* The measure: 1,000 of 100,000 records change; the exported totals grow by about
 * 1,000 records and about their bytes. Keys are load-7-<10 digits> (17 bytes). */
static void test_load_changes_grow_totals_by_the_delta(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	json_int_t rec0, bytes0, high0, rec1, bytes1, high1, rec2, bytes2, high2;
	json_t *j;

	ch_ok(cl, 0, &r, "data", "load", "-PoolFqdn", P1, "-Module", DATACONF, "-Count", "100000",
	      "-ValueSize", "100", "-Seed", "7", "--json", NULL);
	expect_load(&r, 100000, 0, 100000 * (17 + 100));
	assert_int_equal(r.err_len, 0); /* no progress bar: stderr is not a terminal */
	ch_result_free(&r);
	sync_pool(cl, P1);
	totals(cl, DATACONF, &rec0, &bytes0, &high0);
	assert_int_equal(high0, 100000);
	assert_true(rec0 >= 100000);
	assert_true(bytes0 >= 100000 * 117 / 2); /* random letters: zstd takes off about a third */

	ch_ok(cl, 0, &r, "data", "load", "-PoolFqdn", P1, "-Module", DATACONF, "-Count", "1000",
	      "-ValueSize", "100", "-UpdateFraction", "1", "-Seed", "7", "--json", NULL);
	expect_load(&r, 1000, 0, 1000 * 117);
	ch_result_free(&r);
	sync_pool(cl, P1);
	totals(cl, DATACONF, &rec1, &bytes1, &high1);
	assert_int_equal(high1, 101000);
	/* 1,000 distinct keys changed: each travels once (about 1,000, never the 100,000). */
	assert_in_range(rec1 - rec0, 1000, 1010);
	/* Their bytes: the changed payload, zstd-compressed (random letters), plus framing. */
	assert_in_range(bytes1 - bytes0, 1000 * 117 / 2, 2 * 1000 * 117);

	/* Deletes of existing keys: tombstones travel, the live count drops. */
	ch_ok(cl, 0, &r, "data", "load", "-PoolFqdn", P1, "-Module", DATACONF, "-Count", "500",
	      "-DeleteFraction", "1", "-Seed", "7", "--json", NULL);
	expect_load(&r, 0, 500, 500 * 17);
	ch_result_free(&r);
	sync_pool(cl, P1);
	totals(cl, DATACONF, &rec2, &bytes2, &high2);
	assert_int_equal(high2, 101500);
	assert_in_range(rec2 - rec1, 500, 510);

	/* The backup copy is the same set of records. */
	ch_ok(cl, 0, &r, "Test-CsBackupData", "-PoolFqdn", P1, "-BackupModule", DATACONF, NULL);
	assert_string_equal(r.out, DATACONF ": equal (99500 records at seq 101500)\n");
	ch_result_free(&r);

	/* A new load with the seed continues after its highest key; a text summary line. */
	ch_ok(cl, 0, &r, "data", "load", "-PoolFqdn", P1, "-Module", DATACONF, "-Count", "10",
	      "-ValueSize", "1", "-Seed", "7", NULL);
	assert_non_null(strstr(r.out, "Written 10, deleted 0, 180 bytes in "));
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "data", "get", "-PoolFqdn", P1, "-Module", DATACONF, "-Key",
	      "load-7-0000100009", "--json", NULL);
	j = ch_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "Size")), 1);
	json_decref(j);
	ch_result_free(&r);

	/* Listing pages through 1,000-record answers: keys 0..9999 minus the deleted. */
	ch_ok(cl, 0, &r, "data", "list", "-PoolFqdn", P1, "-Module", DATACONF, "-Prefix",
	      "load-7-000000", "-Limit", "2500", "--json", NULL);
	j = ch_json(&r);
	assert_int_equal(json_array_size(j), 2500);
	json_decref(j);
	ch_result_free(&r);
}

/* The records of module in pool01: how many, the highest seq and the lowest. */
static void seqs(struct ch_cluster *cl, const char *module, size_t *n, json_int_t *lo,
                 json_int_t *hi, bool *seed9)
{
	struct ch_result r;
	json_t *j, *rec;
	size_t i;

	ch_ok(cl, 0, &r, "data", "list", "-PoolFqdn", P1, "-Module", module, "--json", NULL);
	j = ch_json(&r);
	*n = json_array_size(j);
	*lo = INT64_MAX;
	*hi = 0;
	*seed9 = false;
	json_array_foreach(j, i, rec) {
		json_int_t seq = json_integer_value(json_object_get(rec, "Seq"));

		*lo = seq < *lo ? seq : *lo;
		*hi = seq > *hi ? seq : *hi;
		*seed9 |= starts_with(json_string_value(json_object_get(rec, "Key")), "load-9-");
	}
	json_decref(j);
	ch_result_free(&r);
}

/* SPEC.md §5: updates and deletes pick among every record the module holds, whatever wrote
 * it. 999 records of seed 3 and one written by hand; a load of seed 9 with -Count 1000
 * -UpdateFraction 1 rewrites all 1,000 of them (every seq moves past the old highest) and
 * creates none; -DeleteFraction 1 removes existing records. */
static void test_load_updates_records_the_module_holds(void **state)
{
	struct ch_cluster *cl = *state;
	const char *m = "ApplicationServer.RGSDataStore";
	struct ch_result r;
	json_int_t lo, hi, before;
	size_t n;
	bool seed9;

	ch_ok(cl, 0, &r, "data", "load", "-PoolFqdn", P1, "-Module", m, "-Count", "999",
	      "-ValueSize", "10", "-Seed", "3", NULL);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "data", "put", "-PoolFqdn", P1, "-Module", m, "-Key", "queue/7", "-Value",
	      "by hand", NULL);
	ch_result_free(&r);
	seqs(cl, m, &n, &lo, &before, &seed9);
	assert_int_equal(n, 1000);

	ch_ok(cl, 0, &r, "data", "load", "-PoolFqdn", P1, "-Module", m, "-Count", "1000",
	      "-ValueSize", "10", "-UpdateFraction", "1", "-Seed", "9", "--json", NULL);
	expect_load(&r, 1000, 0, 999 * (17 + 10) + (7 + 10));
	ch_result_free(&r);
	seqs(cl, m, &n, &lo, &hi, &seed9);
	assert_int_equal(n, 1000);
	assert_true(lo > before);           /* every record was rewritten once */
	assert_int_equal(hi, before + 1000);
	assert_false(seed9);                /* and no new key was made */
	ch_ok(cl, 0, &r, "data", "get", "-PoolFqdn", P1, "-Module", m, "-Key", "queue/7", NULL);
	assert_int_equal(r.out_len, 10);    /* the record written by hand was updated too */
	ch_result_free(&r);

	ch_ok(cl, 0, &r, "data", "load", "-PoolFqdn", P1, "-Module", m, "-Count", "10",
	      "-DeleteFraction", "1", "-Seed", "11", NULL);
	assert_true(starts_with(r.out, "Written 0, deleted 10, "));
	ch_result_free(&r);
	seqs(cl, m, &n, &lo, &hi, &seed9);
	assert_int_equal(n, 990);
}

static void expect_sync_text(const char *out, const char *pool, const char *backup)
{
	char want[512];

	snprintf(want, sizeof(want),
	         "PoolFqdn       : %s\nBackupPoolFqdn : %s\n\n"
	         "Identity                       Records         Bytes    Millis\n"
	         "--------                       -------         -----    ------\n"
	         "UserServices.PresenceFocus  ",
	         pool, backup);
	if (strncmp(out, want, strlen(want)) != 0)
		fail_msg("sync output:\n%s\nexpected to start with:\n%s", out, want);
	assert_non_null(strstr(out, "\nConfServices.DataConf     "));
	/* Not backed up while EnableRgsBackupService is $false, so not synced either. */
	assert_null(strstr(out, "\nApplicationServer.RGS"));
}

static void test_sync_output(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	json_t *j, *p, *m;
	size_t i;

	ch_ok(cl, 0, &r, "Invoke-CsBackupServiceSync", "-PoolFqdn", P1, NULL);
	expect_sync_text(r.out, P1, P2);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "sync", "-PoolFqdn", P1, "-BackupModule", PRESENCE, "--json", NULL);
	j = ch_json(&r);
	assert_int_equal(json_object_size(j), 1);
	assert_int_equal(json_array_size(json_object_get(j, "Pools")), 1);
	p = json_array_get(json_object_get(j, "Pools"), 0);
	assert_int_equal(json_object_size(p), 3);
	assert_string_equal(json_string_value(json_object_get(p, "PoolFqdn")), P1);
	assert_string_equal(json_string_value(json_object_get(p, "BackupPoolFqdn")), P2);
	assert_int_equal(json_array_size(json_object_get(p, "Modules")), 1);
	json_array_foreach(json_object_get(p, "Modules"), i, m) {
		assert_int_equal(json_object_size(m), 4);
		assert_string_equal(json_string_value(json_object_get(m, "Identity")), PRESENCE);
		assert_true(json_is_integer(json_object_get(m, "Records")));
		assert_true(json_is_integer(json_object_get(m, "Bytes")));
		assert_true(json_is_integer(json_object_get(m, "Millis")));
	}
	json_decref(j);
	ch_result_free(&r);

	ch_ok(cl, 1, &r, "sync", "-PoolFqdn", "pool09.csb.test", NULL);
	assert_non_null(strstr(r.err, "csb: Invoke-CsBackupServiceSync: pool09.csb.test: "));
	assert_non_null(strstr(r.err, "pool09.csb.test is not a pool"));
	assert_ptr_equal(strchr(r.err, '\n'), r.err + r.err_len - 1); /* one line */
	ch_result_free(&r);
}

/* Two pool FQDNs piped on stdin: both are synced (each one's new record reaches its backup
 * copy), in one JSON document; also -PoolFqdn - with text. */
static void test_pools_piped_on_stdin(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	json_t *j, *pools;
	const char *in = P1 "\n\n  " P2 "  \n";

	ch_ok(cl, 0, &r, "data", "put", "-PoolFqdn", P1, "-Module", PRESENCE, "-Key", "pipe/1",
	      "-Value", "one", NULL);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "data", "put", "-PoolFqdn", P2, "-Module", PRESENCE, "-Key", "pipe/2",
	      "-Value", "two", NULL);
	ch_result_free(&r);
	ch_run(cl, in, &r, "Invoke-CsBackupServiceSync", "--json", NULL);
	assert_int_equal(r.code, 0);
	j = ch_json(&r);
	pools = json_object_get(j, "Pools");
	assert_int_equal(json_array_size(pools), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(pools, 0), "PoolFqdn")),
	                    P1);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(pools, 0), "BackupPoolFqdn")), P2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(pools, 1), "PoolFqdn")),
	                    P2);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(pools, 1), "BackupPoolFqdn")), P1);
	json_decref(j);
	ch_result_free(&r);
	/* Sync returned once imported: both copies have their record now. */
	ch_ok(cl, 0, &r, "data", "get", "-PoolFqdn", P1, "-Module", PRESENCE, "-Key", "pipe/1",
	      "-FromBackup", NULL);
	assert_string_equal(r.out, "one");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "data", "get", "-PoolFqdn", P2, "-Module", PRESENCE, "-Key", "pipe/2",
	      "-FromBackup", NULL);
	assert_string_equal(r.out, "two");
	ch_result_free(&r);

	ch_run(cl, P2 "\n" P1 "\n", &r, "sync", "-PoolFqdn", "-", "-BackupModule", PRESENCE, NULL);
	assert_int_equal(r.code, 0);
	assert_true(starts_with(r.out, "PoolFqdn       : " P2 "\n"));
	assert_non_null(strstr(r.out, "\n\nPoolFqdn       : " P1 "\nBackupPoolFqdn : " P2 "\n"));
	ch_result_free(&r);

	/* -Force: a pool that cannot be synced is a warning; the others are synced. */
	ch_run(cl, "pool09.csb.test\n" P1 "\n", &r, "sync", "-Force", NULL);
	assert_int_equal(r.code, 1);
	assert_non_null(strstr(r.out, "PoolFqdn       : " P1 "\n"));
	assert_true(starts_with(r.err, "WARNING: pool09.csb.test was not synced: "));
	assert_non_null(strstr(r.err, "\ncsb: Invoke-CsBackupServiceSync: 1 of 2 pools were not "
	                              "synced (see the warnings above)\n"));
	ch_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_delete),
		cmocka_unit_test(test_from_backup),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_load_changes_grow_totals_by_the_delta),
		cmocka_unit_test(test_load_updates_records_the_module_holds),
		cmocka_unit_test(test_sync_output),
		cmocka_unit_test(test_pools_piped_on_stdin),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
