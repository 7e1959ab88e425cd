/* Tests for the configuration bundle: the round trip, what is inside the ZIP, and every way
 * a file can be damaged or incomplete (truncated, flipped bytes, missing or oversized
 * entries, bad JSON, disagreeing rbac.json, garbage). ZIPs for the bad cases are built here
 * with libzip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zip.h>

#include "model/bundle.h"

static const char topo_json[] =
	"{\"sites\":[{\"name\":\"Redmond\"},{\"name\":\"Dublin\"}],"
	"\"pools\":["
	"{\"fqdn\":\"pool01.csb.test\",\"site\":\"Redmond\",\"agent\":\"tls+tcp://127.0.0.1:7101\","
	"\"backup\":\"pool02.csb.test\",\"hostsCms\":true},"
	"{\"fqdn\":\"pool02.csb.test\",\"site\":\"Dublin\",\"agent\":\"tls+tcp://127.0.0.1:7102\","
	"\"backup\":\"pool01.csb.test\"},"
	"{\"fqdn\":\"pool03.csb.test\",\"site\":\"Redmond\",\"agent\":\"tls+tcp://127.0.0.1:7103\","
	"\"backup\":\"pool04.csb.test\"},"
	"{\"fqdn\":\"pool04.csb.test\",\"site\":\"Dublin\",\"agent\":\"tls+tcp://127.0.0.1:7104\","
	"\"backup\":\"pool03.csb.test\"}],"
	"\"principals\":[{\"name\":\"admin\",\"groups\":[\"RTCUniversalServerAdmins\"]},"
	"{\"name\":\"carol\",\"groups\":[\"CsHelpdesk\"]}]}";

struct fixture {
	csb_topology *t;
	csb_backup_config c;
	uint8_t *zip;
	size_t len;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	if (f == NULL ||
	    csb_topology_parse(topo_json, strlen(topo_json), &f->t, err, sizeof(err)) != CSB_OK)
		return -1;
	csb_config_defaults(&f->c);
	f->c.sync_interval_ms = 30000;
	f->c.max_batches_per_cms_sync = 7;
	strcpy(f->c.groups[0], "CsHelpdesk");
	f->c.n_groups = 1;
	f->c.enable_rgs_backup_service = true;
	if (csb_bundle_write(f->t, &f->c, &f->zip, &f->len) != CSB_OK)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	csb_topology_free(f->t);
	free(f->zip);
	free(f);
	return 0;
}

/* Reading must fail with rv and want (a prefix when prefix is true), returning nothing. */
static void refuse_n(const uint8_t *zip, size_t len, csb_err rv, const char *want, bool prefix)
{
	csb_topology *t = (csb_topology *)1;
	csb_backup_config c, before;
	char err[512] = "";

	memset(&c, 0x5a, sizeof(c));
	before = c;
	assert_int_equal(csb_bundle_read(zip, len, &t, &c, err, sizeof(err)), rv);
	assert_null(t);
	assert_memory_equal(&c, &before, sizeof(c));
	if (prefix && strncmp(err, want, strlen(want)) != 0)
		fail_msg("'%s' does not start with '%s'", err, want);
	if (!prefix)
		assert_string_equal(err, want);
}

static void refuse(const uint8_t *zip, size_t len, csb_err rv, const char *want)
{
	refuse_n(zip, len, rv, want, false);
}

/* The text of entry name of a ZIP (malloc'ed), or NULL when it has none. */
static char *entry_text(const uint8_t *zip, size_t len, const char *name)
{
	zip_source_t *src = zip_source_buffer_create(zip, len, 0, NULL);
	zip_t *za = zip_open_from_source(src, ZIP_RDONLY, NULL);
	zip_file_t *zf;
	zip_stat_t st;
	char *s = NULL;

	assert_non_null(za);
	if (zip_stat(za, name, 0, &st) == 0) {
		s = calloc(1, st.size + 1);
		zf = zip_fopen(za, name, 0);
		assert_non_null(zf);
		assert_int_equal(zip_fread(zf, s, st.size), (zip_int64_t)st.size);
		zip_fclose(zf);
	}
	zip_discard(za);
	return s;
}

struct entry {
	const char *name;
	const char *data;
	size_t len; /* 0: strlen(data) */
};

/* A deflated ZIP of the entries, built in memory as bundle.c does. */
static void zip_build(const struct entry *e, size_t n, uint8_t **zip, size_t *len)
{
	zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, NULL), *es;
	zip_t *za = zip_open_from_source(src, ZIP_TRUNCATE, NULL);
	zip_stat_t st;
	zip_int64_t idx;

	assert_non_null(za);
	zip_source_keep(src);
	for (size_t i = 0; i < n; i++) {
		es = zip_source_buffer(za, e[i].data, e[i].len != 0 ? e[i].len : strlen(e[i].data), 0);
		idx = zip_file_add(za, e[i].name, es, 0);
		assert_true(idx >= 0);
		zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 9);
	}
	assert_int_equal(zip_close(za), 0);
	zip_source_stat(src, &st);
	*zip = malloc(st.size);
	*len = st.size;
	zip_source_open(src);
	assert_int_equal(zip_source_read(src, *zip, st.size), (zip_int64_t)st.size);
	zip_source_close(src);
	zip_source_free(src);
}

/* The four entries of f's bundle, for building variants. */
struct texts {
	char *manifest, *topology, *config, *rbac;
};

static void texts_get(const struct fixture *f, struct texts *x)
{
	x->manifest = entry_text(f->zip, f->len, "manifest.json");
	x->topology = entry_text(f->zip, f->len, "topology.json");
	x->config = entry_text(f->zip, f->len, "backup-configuration.json");
	x->rbac = entry_text(f->zip, f->len, "rbac.json");
	assert_non_null(x->manifest);
	assert_non_null(x->topology);
	assert_non_null(x->config);
	assert_non_null(x->rbac);
}

static void texts_free(struct texts *x)
{
	free(x->manifest);
	free(x->topology);
	free(x->config);
	free(x->rbac);
}

/* Builds a bundle from the four texts and expects read to refuse it. */
static void refuse_texts(const char *manifest, const char *topology, const char *config,
                         const char *rbac, csb_err rv, const char *want)
{
	const struct entry e[] = {
		{"manifest.json", manifest, 0},
		{"topology.json", topology, 0},
		{"backup-configuration.json", config, 0},
		{"rbac.json", rbac, 0},
	};
	uint8_t *zip;
	size_t len;

	zip_build(e, 4, &zip, &len);
	refuse(zip, len, rv, want);
	free(zip);
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	csb_topology *t = NULL;
	csb_backup_config c;
	char err[256] = "";

	assert_true(f->len > 4);
	assert_memory_equal(f->zip, "PK\x03\x04", 4);
	memset(&c, 0, sizeof(c));
	assert_int_equal(csb_bundle_read(f->zip, f->len, &t, &c, err, sizeof(err)), CSB_OK);
	assert_true(csb_topology_equal(t, f->t));
	assert_true(csb_config_equal(&c, &f->c));
	assert_int_equal(c.max_batches_per_cms_sync, 7);
	csb_topology_free(t);
}

static void test_contents(void **state)
{
	struct fixture *f = *state;
	struct texts x;
	char *topology = csb_topology_to_json(f->t), *config = csb_config_to_json(&f->c);
	const char *created;

	texts_get(f, &x);
	assert_string_equal(x.topology, topology);
	assert_string_equal(x.config, config);
	assert_string_equal(x.rbac, "{\n"
	                            "  \"builtinGroups\": [\n"
	                            "    \"RTCUniversalServerAdmins\"\n"
	                            "  ],\n"
	                            "  \"principals\": [\n"
	                            "    {\n"
	                            "      \"name\": \"admin\",\n"
	                            "      \"groups\": [\n"
	                            "        \"RTCUniversalServerAdmins\"\n"
	                            "      ]\n"
	                            "    },\n"
	                            "    {\n"
	                            "      \"name\": \"carol\",\n"
	                            "      \"groups\": [\n"
	                            "        \"CsHelpdesk\"\n"
	                            "      ]\n"
	                            "    }\n"
	                            "  ],\n"
	                            "  \"authorizedUniversalGroups\": [\n"
	                            "    \"CsHelpdesk\"\n"
	                            "  ]\n"
	                            "}");
	/* {"format": "csbackup-configuration", "version": 1, "created": "YYYY-MM-DDThh:mm:ssZ"} */
	assert_non_null(strstr(x.manifest, "\"format\": \"csbackup-configuration\",\n"
	                                   "  \"version\": 1,\n  \"created\": \""));
	created = strstr(x.manifest, "\"created\": \"") + strlen("\"created\": \"");
	assert_int_equal(strlen(created), strlen("2026-11-22T10:00:00Z\"\n}"));
	assert_true(created[4] == '-' && created[7] == '-' && created[10] == 'T' &&
	            created[13] == ':' && created[16] == ':' && created[19] == 'Z');
	free(topology);
	free(config);
	texts_free(&x);
}

static void test_null_topology(void **state)
{
	csb_backup_config c, d;
	csb_topology *t = NULL;
	uint8_t *zip;
	size_t len;
	char err[256];

	(void)state;
	csb_config_defaults(&c);
	assert_int_equal(csb_bundle_write(NULL, &c, &zip, &len), CSB_OK);
	assert_int_equal(csb_bundle_read(zip, len, &t, &d, err, sizeof(err)), CSB_OK);
	assert_int_equal(t->n_sites + t->n_pools + t->n_principals, 0);
	assert_true(csb_config_equal(&c, &d));
	csb_topology_free(t);
	free(zip);
}

static void test_truncated(void **state)
{
	struct fixture *f = *state;

	for (size_t n = 0; n < f->len; n += 10) {
		csb_topology *t = NULL;
		csb_backup_config c;
		char err[256] = "";
		csb_err rv = csb_bundle_read(f->zip, n, &t, &c, err, sizeof(err));

		assert_int_equal(rv, CSB_ECORRUPT);
		assert_null(t);
		assert_string_equal(err, n < 4 ? "not a ZIP file"
		                               : "truncated or damaged ZIP file (no central directory)");
	}
	refuse(f->zip, f->len - 1, CSB_ECORRUPT,
	       "truncated or damaged ZIP file (no central directory)");
}

/* Offset and size of entry name's compressed data, from its local header. */
static void data_range(const uint8_t *zip, size_t len, const char *name, size_t *off,
                       size_t *size)
{
	size_t p = 0;

	while (p + 30 <= len && memcmp(zip + p, "PK\x03\x04", 4) == 0) {
		size_t csize = zip[p + 18] | zip[p + 19] << 8 | (size_t)zip[p + 20] << 16 |
		               (size_t)zip[p + 21] << 24;
		size_t nlen = zip[p + 26] | zip[p + 27] << 8, xlen = zip[p + 28] | zip[p + 29] << 8;

		assert_int_equal(zip[p + 6] & 0x08, 0); /* sizes are in the local header */
		if (nlen == strlen(name) && memcmp(zip + p + 30, name, nlen) == 0) {
			*off = p + 30 + nlen + xlen;
			*size = csize;
			return;
		}
		p += 30 + nlen + xlen + csize;
	}
	fail_msg("no entry %s", name);
}

static void test_flipped_bytes(void **state)
{
	static const char *const names[] = {"manifest.json", "topology.json",
	                                    "backup-configuration.json", "rbac.json"};
	struct fixture *f = *state;
	uint8_t *copy = malloc(f->len);
	char want[64], err[256];
	csb_topology *t;
	csb_backup_config c;
	size_t off, size;

	for (size_t i = 0; i < 4; i++) {
		data_range(f->zip, f->len, names[i], &off, &size);
		assert_true(size > 0);
		/* Every byte of the compressed data, one at a time, but the last (below). */
		for (size_t b = 0; b + 1 < size; b++) {
			memcpy(copy, f->zip, f->len);
			copy[off + b] ^= 0xff;
			snprintf(want, sizeof(want), "%s: ", names[i]);
			refuse_n(copy, f->len, CSB_ECORRUPT, want, true);
		}
		/* The last byte may hold nothing but the end-of-block code: libzip 1.7 takes a
		 * stream cut there as ended, and as the text and its CRC are intact, the bundle
		 * reads back exactly. Either way nothing damaged gets through. */
		memcpy(copy, f->zip, f->len);
		copy[off + size - 1] ^= 0xff;
		t = NULL;
		if (csb_bundle_read(copy, f->len, &t, &c, err, sizeof(err)) == CSB_OK) {
			assert_true(csb_topology_equal(t, f->t));
			assert_true(csb_config_equal(&c, &f->c));
			csb_topology_free(t);
		} else {
			assert_null(t);
			assert_non_null(strstr(err, names[i]));
		}
	}
	/* The middle of topology.json's data: this one is a CRC mismatch. */
	data_range(f->zip, f->len, "topology.json", &off, &size);
	memcpy(copy, f->zip, f->len);
	copy[off + size / 2] ^= 0x01;
	assert_int_equal(csb_bundle_read(copy, f->len, &t, &c, err, sizeof(err)), CSB_ECORRUPT);
	if (strcmp(err, "topology.json: bad CRC (the file is damaged)") != 0 &&
	    strcmp(err, "topology.json: compressed data is invalid (the file is damaged)") != 0)
		fail_msg("unexpected: %s", err);
	free(copy);
}

static void test_missing_entries(void **state)
{
	struct fixture *f = *state;
	struct texts x;
	uint8_t *zip;
	size_t len;

	texts_get(f, &x);
	{
		const struct entry e[] = {
			{"manifest.json", x.manifest, 0},
			{"topology.json", x.topology, 0},
			{"backup-configuration.json", x.config, 0},
			{"README.txt", "ignored", 0},
		};

		zip_build(e, 4, &zip, &len);
		refuse(zip, len, CSB_EINVAL, "missing rbac.json");
		free(zip);
		zip_build(e + 1, 3, &zip, &len);
		refuse(zip, len, CSB_EINVAL, "missing manifest.json");
		free(zip);
	}
	{
		const struct entry e[] = {
			{"manifest.json", x.manifest, 0},
			{"backup-configuration.json", x.config, 0},
			{"rbac.json", x.rbac, 0},
		};

		zip_build(e, 3, &zip, &len);
		refuse(zip, len, CSB_EINVAL, "missing topology.json");
		free(zip);
		zip_build(e, 1, &zip, &len);
		refuse(zip, len, CSB_EINVAL, "missing topology.json");
		free(zip);
	}
	{
		/* Names are exact: a differently cased entry is not the one. */
		const struct entry e[] = {
			{"manifest.json", x.manifest, 0},
			{"topology.json", x.topology, 0},
			{"Backup-Configuration.json", x.config, 0},
			{"rbac.json", x.rbac, 0},
		};

		zip_build(e, 4, &zip, &len);
		refuse(zip, len, CSB_EINVAL, "missing backup-configuration.json");
		free(zip);
	}
	{
		/* An extra entry is ignored. */
		const struct entry e[] = {
			{"manifest.json", x.manifest, 0},
			{"topology.json", x.topology, 0},
			{"backup-configuration.json", x.config, 0},
			{"rbac.json", x.rbac, 0},
			{"notes/README.txt", "hello", 0},
		};
		csb_topology *t = NULL;
		csb_backup_config c;
		char err[256];

		zip_build(e, 5, &zip, &len);
		assert_int_equal(csb_bundle_read(zip, len, &t, &c, err, sizeof(err)), CSB_OK);
		assert_true(csb_topology_equal(t, f->t));
		csb_topology_free(t);
		free(zip);
	}
	texts_free(&x);
}

static void test_oversized_entry(void **state)
{
	struct fixture *f = *state;
	size_t big = (16u << 20) + 1;
	char *zeros = calloc(1, big);
	struct texts x;
	uint8_t *zip;
	size_t len;

	texts_get(f, &x);
	memset(zeros, ' ', big); /* valid JSON whitespace, but too much of it */
	zeros[0] = '{';
	zeros[big - 1] = '}';
	{
		const struct entry e[] = {
			{"manifest.json", x.manifest, 0},
			{"topology.json", zeros, big},
			{"backup-configuration.json", x.config, 0},
			{"rbac.json", x.rbac, 0},
		};

		zip_build(e, 4, &zip, &len);
		assert_true(len < big / 100);
		refuse(zip, len, CSB_EINVAL, "topology.json: larger than 16 MiB uncompressed");
		free(zip);
	}
	free(zeros);
	texts_free(&x);
}

static void test_bad_contents(void **state)
{
	struct fixture *f = *state;
	struct texts x;

	texts_get(f, &x);
	refuse_texts(x.manifest, x.topology, "{\"SyncInterval\" \"00:02:00\"}", x.rbac, CSB_EINVAL,
	             "backup-configuration.json: line 1, column 26: ':' expected near "
	             "'\"00:02:00\"'");
	refuse_texts(x.manifest, x.topology, "{\"SyncInterval\":\"00:00:01\"}", x.rbac, CSB_EINVAL,
	             "backup-configuration.json: $.SyncInterval: must be between 00:00:05 and "
	             "03:00:00");
	refuse_texts(x.manifest, "{\"sites\":[],\"pools\":[{\"fqdn\":\"pool_1.test\"}]}", x.config,
	             x.rbac, CSB_EINVAL,
	             "topology.json: $.pools[0].fqdn: 'pool_1.test' is not a valid FQDN (only "
	             "letters, digits, '-' and '.' are allowed)");
	refuse_texts(x.manifest, "", x.config, x.rbac, CSB_EINVAL,
	             "topology.json: the file is empty");
	refuse_texts("{\"format\":\"other\",\"version\":1,\"created\":\"x\"}", x.topology,
	             x.config, x.rbac, CSB_EINVAL,
	             "manifest.json: $.format: must be \"csbackup-configuration\"");
	refuse_texts("{\"format\":\"csbackup-configuration\",\"version\":2,\"created\":\"x\"}",
	             x.topology, x.config, x.rbac, CSB_EINVAL,
	             "manifest.json: $.version: version 2 is newer than this csbackup reads (1)");
	refuse_texts("{\"format\":\"csbackup-configuration\",\"version\":\"1\",\"created\":\"x\"}",
	             x.topology, x.config, x.rbac, CSB_EINVAL, "manifest.json: $.version: must be 1");
	refuse_texts("{\"format\":\"csbackup-configuration\",\"version\":1}", x.topology, x.config,
	             x.rbac, CSB_EINVAL, "manifest.json: $.created: is missing");
	refuse_texts("{\"format\":\"csbackup-configuration\",\"version\":1,\"created\":\"x\","
	             "\"by\":1}",
	             x.topology, x.config, x.rbac, CSB_EINVAL, "manifest.json: $.by: unknown key");
	refuse_texts(x.manifest, x.topology, x.config, "[]", CSB_EINVAL,
	             "rbac.json: $: must be an object");
	refuse_texts(x.manifest, x.topology, x.config,
	             "{\"builtinGroups\":[],\"principals\":[],\"authorizedUniversalGroups\":[]}",
	             CSB_EINVAL, "rbac.json: $.builtinGroups: must be [\"RTCUniversalServerAdmins\"]");
	refuse_texts(x.manifest, x.topology, x.config,
	             "{\"builtinGroups\":[\"RTCUniversalServerAdmins\"],"
	             "\"principals\":[{\"name\":\"admin\",\"groups\":[\"RTCUniversalServerAdmins\"]}],"
	             "\"authorizedUniversalGroups\":[\"CsHelpdesk\"]}",
	             CSB_EINVAL, "rbac.json: $.principals does not agree with topology.json");
	refuse_texts(x.manifest, x.topology, x.config,
	             "{\"builtinGroups\":[\"RTCUniversalServerAdmins\"],"
	             "\"principals\":[{\"name\":\"a/b\"}],\"authorizedUniversalGroups\":[]}",
	             CSB_EINVAL,
	             "rbac.json: $.principals[0].name: 'a/b' may only hold letters, digits, '.', "
	             "'-', '_' and spaces");
	refuse_texts(x.manifest, x.topology, x.config,
	             "{\"builtinGroups\":[\"RTCUniversalServerAdmins\"],"
	             "\"principals\":[{\"name\":\"admin\",\"groups\":[\"RTCUniversalServerAdmins\"]},"
	             "{\"name\":\"carol\",\"groups\":[\"CsHelpdesk\"]}],"
	             "\"authorizedUniversalGroups\":[]}",
	             CSB_EINVAL,
	             "rbac.json: $.authorizedUniversalGroups does not agree with "
	             "backup-configuration.json");
	refuse_texts(x.manifest, x.topology, x.config,
	             "{\"builtinGroups\":[\"RTCUniversalServerAdmins\"],"
	             "\"authorizedUniversalGroups\":[]}",
	             CSB_EINVAL, "rbac.json: $.principals: is missing");
	refuse_texts(x.manifest, x.topology, x.config,
	             "{\"builtinGroups\":[\"RTCUniversalServerAdmins\"],\"principals\":[],"
	             "\"authorizedUniversalGroups\":[],\"extra\":true}",
	             CSB_EINVAL, "rbac.json: $.extra: unknown key");
	texts_free(&x);
}

static void test_garbage(void **state)
{
	uint8_t junk[4096];
	uint32_t seed = 12345;

	(void)state;
	for (size_t i = 0; i < sizeof(junk); i++) {
		seed = seed * 1103515245u + 12345u;
		junk[i] = (uint8_t)(seed >> 16);
	}
	refuse(junk, sizeof(junk), CSB_ECORRUPT, "not a ZIP file");
	refuse(junk, 21, CSB_ECORRUPT, "not a ZIP file");
	refuse((const uint8_t *)"", 0, CSB_ECORRUPT, "not a ZIP file");
	refuse(NULL, 0, CSB_ECORRUPT, "not a ZIP file");
	refuse((const uint8_t *)"{\"sites\":[],\"pools\":[],\"principals\":[]}", 40, CSB_ECORRUPT,
	       "not a ZIP file");
	/* An empty ZIP (just the end of central directory) is a ZIP without entries. */
	refuse((const uint8_t *)"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22, CSB_EINVAL,
	       "missing manifest.json");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_contents, setup, teardown),
		cmocka_unit_test(test_null_topology),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_contents, setup, teardown),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
