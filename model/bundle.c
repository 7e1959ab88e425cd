/* The configuration bundle (bundle.h): a ZIP built and read in memory with libzip. The
 * only file of the model that includes zip.h; libzip's error codes are translated here
 * into csb_err and one line for the administrator. */
#include "model/bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zip.h>

#include "model/internal/model.h"
#include "model/rbac.h"

static const char *const manifest_keys[] = {"format", "version", "created", NULL};
static const char *const rbac_keys[] = {"builtinGroups", "principals",
                                        "authorizedUniversalGroups", NULL};

/* ---- Writing ---------------------------------------------------------------------- */

/* Adds entry name holding data (malloc'ed, NUL-terminated; taken even on failure). */
static csb_err entry_add(zip_t *za, const char *name, char *data)
{
	zip_source_t *src;
	zip_int64_t idx;

	if (data == NULL)
		return CSB_ENOMEM;
	src = zip_source_buffer(za, data, strlen(data), 1);
	if (src == NULL) {
		free(data);
		return CSB_ENOMEM;
	}
	idx = zip_file_add(za, name, src, ZIP_FL_ENC_UTF_8);
	if (idx < 0) {
		zip_source_free(src);
		return CSB_EINTERNAL;
	}
	if (zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 9) != 0)
		return CSB_EINTERNAL;
	return CSB_OK;
}

/* Dumps root (taken) 2-space indented; NULL when out of memory. */
static char *dump_new(json_t *root)
{
	char *s = root != NULL ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

	json_decref(root);
	return s;
}

static char *manifest_json(void)
{
	char created[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return dump_new(json_pack("{s:s, s:i, s:s}", "format", CSB_BUNDLE_FORMAT, "version",
	                          CSB_BUNDLE_VERSION, "created", created));
}

static json_t *groups_json(const csb_backup_config *c)
{
	json_t *arr = json_array();

	for (size_t g = 0; arr != NULL && g < c->n_groups && g < CSB_CONFIG_MAX_GROUPS; g++) {
		if (json_array_append_new(arr, json_string(c->groups[g])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

static char *rbac_json(const csb_topology *t, const csb_backup_config *c)
{
	json_t *root = json_object();

	/* json_object_set_new() takes its value even when it fails (a NULL one too), and
	 * each value is made inside the call, so nothing is left over when one fails. */
	if (root == NULL ||
	    json_object_set_new(root, "builtinGroups", json_pack("[s]", CSB_GROUP_ADMINS)) != 0 ||
	    json_object_set_new(root, "principals", csb__topology_principals_json(t)) != 0 ||
	    json_object_set_new(root, "authorizedUniversalGroups", groups_json(c)) != 0) {
		json_decref(root);
		return NULL;
	}
	return dump_new(root);
}

static csb_err entries_add(zip_t *za, const csb_topology *t, const csb_backup_config *c)
{
	csb_err rv;

	if ((rv = entry_add(za, CSB_BUNDLE_MANIFEST, manifest_json())) != CSB_OK ||
	    (rv = entry_add(za, CSB_BUNDLE_TOPOLOGY, csb_topology_to_json(t))) != CSB_OK ||
	    (rv = entry_add(za, CSB_BUNDLE_CONFIG, csb_config_to_json(c))) != CSB_OK ||
	    (rv = entry_add(za, CSB_BUNDLE_RBAC, rbac_json(t, c))) != CSB_OK)
		return rv;
	return CSB_OK;
}

/* Copies the bytes of src (closed, written) into a new buffer. */
static csb_err source_bytes(zip_source_t *src, uint8_t **zip, size_t *len)
{
	zip_stat_t st;
	uint8_t *buf;

	zip_stat_init(&st);
	if (zip_source_stat(src, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) || st.size == 0)
		return CSB_EINTERNAL;
	if ((buf = malloc(st.size)) == NULL)
		return CSB_ENOMEM;
	if (zip_source_open(src) != 0)
		goto out_free_buf;
	if (zip_source_read(src, buf, st.size) != (zip_int64_t)st.size)
		goto out_close_source;
	zip_source_close(src);
	*zip = buf;
	*len = st.size;
	return CSB_OK;

out_close_source:
	zip_source_close(src);
out_free_buf:
	free(buf);
	return CSB_EINTERNAL;
}

csb_err csb_bundle_write(const csb_topology *t, const csb_backup_config *c, uint8_t **zip,
                         size_t *len)
{
	static const csb_topology empty;
	zip_source_t *src;
	zip_error_t ze;
	zip_t *za;
	csb_err rv;

	*zip = NULL;
	*len = 0;
	if (c == NULL)
		return CSB_EINVAL;
	zip_error_init(&ze);
	if ((src = zip_source_buffer_create(NULL, 0, 0, &ze)) == NULL) {
		zip_error_fini(&ze);
		return CSB_ENOMEM;
	}
	if ((za = zip_open_from_source(src, ZIP_TRUNCATE, &ze)) == NULL) {
		rv = zip_error_code_zip(&ze) == ZIP_ER_MEMORY ? CSB_ENOMEM : CSB_EINTERNAL;
		goto out_free_source;
	}
	/* Keep the buffer source alive past zip_close(): it holds the archive's bytes. */
	zip_source_keep(src);
	if ((rv = entries_add(za, t != NULL ? t : &empty, c)) != CSB_OK)
		goto out_discard_archive;
	if (zip_close(za) != 0) {
		rv = zip_error_code_zip(zip_get_error(za)) == ZIP_ER_MEMORY ? CSB_ENOMEM
		                                                             : CSB_EINTERNAL;
		goto out_discard_archive;
	}
	rv = source_bytes(src, zip, len);
	goto out_free_source;

out_discard_archive:
	zip_discard(za);
out_free_source:
	zip_source_free(src);
	zip_error_fini(&ze);
	return rv;
}

/* ---- Reading ---------------------------------------------------------------------- */

/* An error libzip met while reading entry name (code a ZIP_ER_*). */
static csb_err zip_code_fail(const char *name, int code, char *err, size_t errlen)
{
	zip_error_t ze;
	csb_err rv = CSB_ECORRUPT;

	switch (code) {
	case ZIP_ER_MEMORY:
		return CSB_ENOMEM;
	case ZIP_ER_CRC:
		csb__fail(err, errlen, "%s: bad CRC (the file is damaged)", name);
		return CSB_ECORRUPT;
	case ZIP_ER_COMPRESSED_DATA:
	case ZIP_ER_ZLIB:
		csb__fail(err, errlen, "%s: compressed data is invalid (the file is damaged)", name);
		return CSB_ECORRUPT;
	case ZIP_ER_COMPNOTSUPP:
	case ZIP_ER_ENCRNOTSUPP:
	case ZIP_ER_NOPASSWD:
		rv = CSB_EINVAL;
		break;
	default:
		break;
	}
	zip_error_init_with_code(&ze, code);
	csb__fail(err, errlen, "%s: %s", name, zip_error_strerror(&ze));
	zip_error_fini(&ze);
	return rv;
}

/* Reads all of zf (entry name) into *out (malloc'ed, *n bytes plus a NUL); hint is the
 * size the directory gives, which may lie: the buffer grows up to the limit and a byte. */
static csb_err file_slurp(zip_file_t *zf, const char *name, size_t hint, char **out, size_t *n,
                          char *err, size_t errlen)
{
	size_t cap = hint < 4096 ? 4096 : hint + 1, have = 0;
	char *buf = NULL, *more;
	zip_int64_t got;
	csb_err rv;

	do {
		if (buf == NULL || have == cap) {
			cap = buf == NULL ? cap : cap * 2;
			if (cap > CSB_BUNDLE_ENTRY_MAX + 1)
				cap = CSB_BUNDLE_ENTRY_MAX + 1;
			if ((more = realloc(buf, cap + 1)) == NULL) {
				rv = CSB_ENOMEM;
				goto out_free_buf;
			}
			buf = more;
		}
		if ((got = zip_fread(zf, buf + have, cap - have)) < 0) {
			rv = zip_code_fail(name, zip_error_code_zip(zip_file_get_error(zf)), err, errlen);
			goto out_free_buf;
		}
		have += (size_t)got;
		if (have > CSB_BUNDLE_ENTRY_MAX) {
			rv = csb__fail(err, errlen, "%s: larger than 16 MiB uncompressed", name);
			goto out_free_buf;
		}
	} while (got > 0);
	buf[have] = '\0';
	*out = buf;
	*n = have;
	return CSB_OK;

out_free_buf:
	free(buf);
	return rv;
}

/* Reads entry name in full into *buf (malloc'ed, *n bytes plus a NUL). */
static csb_err entry_read(zip_t *za, const char *name, char **buf, size_t *n, char *err,
                          size_t errlen)
{
	zip_int64_t idx = zip_name_locate(za, name, 0);
	zip_file_t *zf;
	zip_stat_t st;
	csb_err rv;
	int code;

	*buf = NULL;
	*n = 0;
	if (idx < 0)
		return csb__fail(err, errlen, "missing %s", name);
	if (zip_stat_index(za, (zip_uint64_t)idx, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
		return zip_code_fail(name, zip_error_code_zip(zip_get_error(za)), err, errlen);
	if (st.size > CSB_BUNDLE_ENTRY_MAX)
		return csb__fail(err, errlen, "%s: larger than 16 MiB uncompressed", name);
	if ((zf = zip_fopen_index(za, (zip_uint64_t)idx, 0)) == NULL)
		return zip_code_fail(name, zip_error_code_zip(zip_get_error(za)), err, errlen);
	rv = file_slurp(zf, name, (size_t)st.size, buf, n, err, errlen);
	code = zip_fclose(zf);
	if (rv == CSB_OK && code != 0) {
		free(*buf);
		*buf = NULL;
		rv = zip_code_fail(name, code, err, errlen);
	}
	return rv;
}

/* Prefixes a nested error line with the entry it comes from. */
static csb_err entry_fail(csb_err rv, const char *name, const char *why, char *err,
                          size_t errlen)
{
	if (rv != CSB_ENOMEM)
		csb__fail(err, errlen, "%s: %s", name, why);
	return rv;
}

static csb_err manifest_check(json_t *root, char *why, size_t whylen)
{
	json_t *v;
	csb_err rv;

	if (!json_is_object(root))
		return csb__fail(why, whylen, "$: must be an object");
	if ((rv = csb__keys_check(root, "$", manifest_keys, why, whylen)) != CSB_OK)
		return rv;
	v = json_object_get(root, "format");
	if (!json_is_string(v) || strcmp(json_string_value(v), CSB_BUNDLE_FORMAT) != 0)
		return csb__fail(why, whylen, "$.format: must be \"" CSB_BUNDLE_FORMAT "\"");
	v = json_object_get(root, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return csb__fail(why, whylen, "$.version: must be %d", CSB_BUNDLE_VERSION);
	if (json_integer_value(v) > CSB_BUNDLE_VERSION)
		return csb__fail(why, whylen,
		                 "$.version: version %lld is newer than this csbackup reads (%d)",
		                 (long long)json_integer_value(v), CSB_BUNDLE_VERSION);
	v = json_object_get(root, "created");
	if (v == NULL)
		return csb__fail(why, whylen, "$.created: is missing");
	if (!json_is_string(v))
		return csb__fail(why, whylen, "$.created: must be a string");
	return CSB_OK;
}

static bool principals_equal(const csb_topology *a, const csb_topology *b)
{
	csb_topology pa = {.principals = a->principals, .n_principals = a->n_principals};
	csb_topology pb = {.principals = b->principals, .n_principals = b->n_principals};

	return csb_topology_equal(&pa, &pb);
}

/* rbac.json's principals must parse as topology principals and equal t's. */
static csb_err rbac_principals_check(json_t *root, const csb_topology *t, char *why,
                                     size_t whylen)
{
	json_t *principals = json_object_get(root, "principals"), *wrap;
	csb_topology *rt;
	csb_err rv;

	if (principals == NULL)
		return csb__fail(why, whylen, "$.principals: is missing");
	/* The same checks as in a topology, with the same paths ("O" adds a reference). */
	wrap = json_pack("{s:[], s:[], s:O}", "sites", "pools", "principals", principals);
	if (wrap == NULL)
		return CSB_ENOMEM;
	rv = csb__topology_from_json(wrap, &rt, why, whylen);
	json_decref(wrap);
	if (rv != CSB_OK)
		return rv;
	if (!principals_equal(rt, t))
		rv = csb__fail(why, whylen, "$.principals does not agree with " CSB_BUNDLE_TOPOLOGY);
	csb_topology_free(rt);
	return rv;
}

static csb_err rbac_groups_check(json_t *root, const csb_backup_config *c, char *why,
                                 size_t whylen)
{
	json_t *arr = json_object_get(root, "authorizedUniversalGroups"), *v;
	size_t g;

	if (arr == NULL)
		return csb__fail(why, whylen, "$.authorizedUniversalGroups: is missing");
	if (!json_is_array(arr))
		return csb__fail(why, whylen, "$.authorizedUniversalGroups: must be an array");
	json_array_foreach(arr, g, v) {
		if (!json_is_string(v))
			return csb__fail(why, whylen, "$.authorizedUniversalGroups[%zu]: must be a string",
			                 g);
	}
	if (json_array_size(arr) != c->n_groups)
		goto out_disagree;
	json_array_foreach(arr, g, v) {
		if (strcmp(json_string_value(v), c->groups[g]) != 0)
			goto out_disagree;
	}
	return CSB_OK;

out_disagree:
	return csb__fail(why, whylen,
	                 "$.authorizedUniversalGroups does not agree with " CSB_BUNDLE_CONFIG);
}

static csb_err rbac_check(json_t *root, const csb_topology *t, const csb_backup_config *c,
                          char *why, size_t whylen)
{
	json_t *v;
	csb_err rv;

	if (!json_is_object(root))
		return csb__fail(why, whylen, "$: must be an object");
	if ((rv = csb__keys_check(root, "$", rbac_keys, why, whylen)) != CSB_OK)
		return rv;
	v = json_object_get(root, "builtinGroups");
	if (!json_is_array(v) || json_array_size(v) != 1 ||
	    !json_is_string(json_array_get(v, 0)) ||
	    strcmp(json_string_value(json_array_get(v, 0)), CSB_GROUP_ADMINS) != 0)
		return csb__fail(why, whylen, "$.builtinGroups: must be [\"" CSB_GROUP_ADMINS "\"]");
	if ((rv = rbac_principals_check(root, t, why, whylen)) != CSB_OK)
		return rv;
	return rbac_groups_check(root, c, why, whylen);
}

/* Reads entry name and loads its JSON into *root (for json_decref()). */
static csb_err json_entry_load(zip_t *za, const char *name, json_t **root, char *err,
                               size_t errlen)
{
	char why[512], *buf;
	size_t n;
	csb_err rv;

	if ((rv = entry_read(za, name, &buf, &n, err, errlen)) != CSB_OK)
		return rv;
	rv = csb__json_load(buf, n, root, why, sizeof(why));
	free(buf);
	return rv == CSB_OK ? CSB_OK : entry_fail(rv, name, why, err, errlen);
}

static csb_err manifest_read(zip_t *za, char *err, size_t errlen)
{
	char why[512];
	json_t *root;
	csb_err rv;

	if ((rv = json_entry_load(za, CSB_BUNDLE_MANIFEST, &root, err, errlen)) != CSB_OK)
		return rv;
	rv = manifest_check(root, why, sizeof(why));
	json_decref(root);
	return rv == CSB_OK ? CSB_OK : entry_fail(rv, CSB_BUNDLE_MANIFEST, why, err, errlen);
}

static csb_err rbac_read(zip_t *za, const csb_topology *t, const csb_backup_config *c,
                         char *err, size_t errlen)
{
	char why[512];
	json_t *root;
	csb_err rv;

	if ((rv = json_entry_load(za, CSB_BUNDLE_RBAC, &root, err, errlen)) != CSB_OK)
		return rv;
	rv = rbac_check(root, t, c, why, sizeof(why));
	json_decref(root);
	return rv == CSB_OK ? CSB_OK : entry_fail(rv, CSB_BUNDLE_RBAC, why, err, errlen);
}

static csb_err bundle_parse(zip_t *za, csb_topology **t, csb_backup_config *c, char *err,
                            size_t errlen)
{
	csb_topology *rt = NULL;
	csb_backup_config rc;
	char why[512], *buf;
	size_t n;
	csb_err rv;

	if ((rv = manifest_read(za, err, errlen)) != CSB_OK)
		return rv;
	if ((rv = entry_read(za, CSB_BUNDLE_TOPOLOGY, &buf, &n, err, errlen)) != CSB_OK)
		return rv;
	rv = csb_topology_parse(buf, n, &rt, why, sizeof(why));
	free(buf);
	if (rv != CSB_OK)
		return entry_fail(rv, CSB_BUNDLE_TOPOLOGY, why, err, errlen);
	if ((rv = entry_read(za, CSB_BUNDLE_CONFIG, &buf, &n, err, errlen)) != CSB_OK)
		goto out_free_topology;
	rv = csb_config_parse(buf, n, &rc, why, sizeof(why));
	free(buf);
	if (rv != CSB_OK) {
		rv = entry_fail(rv, CSB_BUNDLE_CONFIG, why, err, errlen);
		goto out_free_topology;
	}
	if ((rv = rbac_read(za, rt, &rc, err, errlen)) != CSB_OK)
		goto out_free_topology;
	*t = rt;
	*c = rc;
	return CSB_OK;

out_free_topology:
	csb_topology_free(rt);
	return rv;
}

/* Why libzip could not open the archive at all. */
static csb_err open_fail(const uint8_t *zip, size_t len, int code, char *err, size_t errlen)
{
	zip_error_t ze;

	switch (code) {
	case ZIP_ER_MEMORY:
		return CSB_ENOMEM;
	case ZIP_ER_NOZIP:
		/* A local file header but no end of central directory: cut short. */
		if (len >= 4 && memcmp(zip, "PK\x03\x04", 4) == 0)
			csb__fail(err, errlen, "truncated or damaged ZIP file (no central directory)");
		else
			csb__fail(err, errlen, "not a ZIP file");
		return CSB_ECORRUPT;
	case ZIP_ER_INCONS:
		csb__fail(err, errlen, "damaged ZIP file (its directory is inconsistent)");
		return CSB_ECORRUPT;
	case ZIP_ER_MULTIDISK:
		csb__fail(err, errlen, "multi-disk ZIP files are not supported");
		return CSB_EINVAL;
	default:
		zip_error_init_with_code(&ze, code);
		csb__fail(err, errlen, "damaged ZIP file (%s)", zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return CSB_ECORRUPT;
	}
}

csb_err csb_bundle_read(const uint8_t *zip, size_t len, csb_topology **t, csb_backup_config *c,
                        char *err, size_t errlen)
{
	zip_source_t *src;
	zip_error_t ze;
	zip_t *za;
	csb_err rv;

	*t = NULL;
	/* An end of central directory record alone is 22 bytes; libzip would take an empty
	 * buffer for an empty archive. */
	if (zip == NULL || len < 22)
		return open_fail(zip, zip == NULL ? 0 : len, ZIP_ER_NOZIP, err, errlen);
	zip_error_init(&ze);
	if ((src = zip_source_buffer_create(zip, len, 0, &ze)) == NULL) {
		zip_error_fini(&ze);
		return CSB_ENOMEM;
	}
	if ((za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze)) == NULL) {
		rv = open_fail(zip, len, zip_error_code_zip(&ze), err, errlen);
		goto out_free_source;
	}
	rv = bundle_parse(za, t, c, err, errlen);
	zip_discard(za); /* releases src too */
	zip_error_fini(&ze);
	return rv;

out_free_source:
	zip_source_free(src);
	zip_error_fini(&ze);
	return rv;
}
