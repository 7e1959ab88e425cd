/* The global BackupServiceConfiguration (config.h): defaults, range checks worded for
 * Set-CsBackupServiceConfiguration, and a strict JSON reader and writer with the cmdlet's
 * field names. */
#include "model/config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/parse.h"
#include "model/internal/model.h"

#define F_IDENTITY   "Identity"
#define F_INTERVAL   "SyncInterval"
#define F_USER_STORE "MaxBatchesPerUserStoreSync"
#define F_CMS        "MaxBatchesPerCmsSync"
#define F_PACKAGE    "MaxDataConfPackageSizeKB"
#define F_GROUPS     "AuthorizedUniversalGroups"
#define F_RGS        "EnableRgsBackupService"
#define F_CALLS      "MaxConcurrentCalls"

static const char *const config_keys[] = {F_IDENTITY, F_INTERVAL, F_USER_STORE, F_CMS,
                                          F_PACKAGE,  F_GROUPS,   F_RGS,        F_CALLS,
                                          NULL};

void csb_config_defaults(csb_backup_config *c)
{
	memset(c, 0, sizeof(*c));
	c->sync_interval_ms = CSB_SYNC_INTERVAL_DEFAULT_MS;
	c->max_batches_per_user_store_sync = CSB_MAX_BATCHES_DEFAULT;
	c->max_batches_per_cms_sync = CSB_MAX_BATCHES_DEFAULT;
	c->max_data_conf_package_size_kb = CSB_PACKAGE_SIZE_KB_DEFAULT;
	c->enable_rgs_backup_service = false;
	c->max_concurrent_calls = CSB_MAX_CONCURRENT_CALLS_DEFAULT;
}

/* One field's problem: "$.Field: why" for JSON readers, "Field why" for the cmdlet. */
static csb_err field_fail(bool json, const char *field, const char *why, char *err,
                          size_t errlen)
{
	return csb__fail(err, errlen, json ? "$.%s: %s" : "%s %s", field, why);
}

static csb_err groups_check(const csb_backup_config *c, bool json, char *err, size_t errlen)
{
	char why[96];

	if (c->n_groups > CSB_CONFIG_MAX_GROUPS)
		return csb__fail(err, errlen, "%s" F_GROUPS ": more than %d groups", json ? "$." : "",
		                 CSB_CONFIG_MAX_GROUPS);
	for (size_t g = 0; g < c->n_groups; g++) {
		if (csb__group_check(c->groups[g], why, sizeof(why)) != CSB_OK) {
			if (json)
				return csb__fail(err, errlen, "$." F_GROUPS "[%zu]: %s", g, why);
			return csb__fail(err, errlen, F_GROUPS ": a group name %s", why);
		}
		for (size_t h = 0; h < g; h++) {
			if (strcasecmp(c->groups[h], c->groups[g]) != 0)
				continue;
			if (json)
				return csb__fail(err, errlen,
				                 "$." F_GROUPS "[%zu]: group '%s' is listed twice "
				                 "(also $." F_GROUPS "[%zu])",
				                 g, c->groups[g], h);
			return csb__fail(err, errlen, F_GROUPS ": group '%s' is listed twice",
			                 c->groups[g]);
		}
	}
	return CSB_OK;
}

static bool in_range(uint64_t v, uint64_t min, uint64_t max)
{
	return v >= min && v <= max;
}

static csb_err config_check(const csb_backup_config *c, bool json, char *err, size_t errlen)
{
	if (!in_range(c->sync_interval_ms, CSB_SYNC_INTERVAL_MIN_MS, CSB_SYNC_INTERVAL_MAX_MS))
		return field_fail(json, F_INTERVAL, "must be between 00:00:05 and 03:00:00", err,
		                  errlen);
	if (c->sync_interval_ms % 1000 != 0)
		return field_fail(json, F_INTERVAL, "must be a whole number of seconds", err, errlen);
	if (!in_range(c->max_batches_per_user_store_sync, CSB_MAX_BATCHES_MIN, CSB_MAX_BATCHES_MAX))
		return field_fail(json, F_USER_STORE, "must be between 1 and 1000000", err, errlen);
	if (!in_range(c->max_batches_per_cms_sync, CSB_MAX_BATCHES_MIN, CSB_MAX_BATCHES_MAX))
		return field_fail(json, F_CMS, "must be between 1 and 1000000", err, errlen);
	if (!in_range(c->max_data_conf_package_size_kb, CSB_PACKAGE_SIZE_KB_MIN,
	              CSB_PACKAGE_SIZE_KB_MAX))
		return field_fail(json, F_PACKAGE, "must be between 1 and 10485760", err, errlen);
	if (!in_range(c->max_concurrent_calls, CSB_MAX_CONCURRENT_CALLS_MIN,
	              CSB_MAX_CONCURRENT_CALLS_MAX))
		return field_fail(json, F_CALLS, "must be between 1 and 1000", err, errlen);
	return groups_check(c, json, err, errlen);
}

csb_err csb_config_check(const csb_backup_config *c, char *err, size_t errlen)
{
	return config_check(c, false, err, errlen);
}

/* A count field; a negative value becomes 0, which every range refuses. */
static csb_err count_get(json_t *root, const char *key, uint64_t *v, char *err, size_t errlen)
{
	json_t *j = json_object_get(root, key);

	if (j == NULL)
		return CSB_OK;
	if (!json_is_integer(j))
		return csb__fail(err, errlen, "$.%s: must be an integer", key);
	*v = json_integer_value(j) < 0 ? 0 : (uint64_t)json_integer_value(j);
	return CSB_OK;
}

static csb_err interval_get(json_t *root, uint64_t *ms, char *err, size_t errlen)
{
	json_t *j = json_object_get(root, F_INTERVAL);
	char q[80];

	if (j == NULL)
		return CSB_OK;
	if (!json_is_string(j))
		return csb__fail(err, errlen, "$." F_INTERVAL ": must be a string (hh:mm:ss)");
	if (csb_duration_parse(json_string_value(j), ms) != CSB_OK)
		return csb__fail(err, errlen,
		                 "$." F_INTERVAL ": '%s' is not a time value (seconds or hh:mm:ss)",
		                 csb__quote(json_string_value(j), q, sizeof(q)));
	return CSB_OK;
}

static csb_err groups_get(json_t *root, csb_backup_config *c, char *err, size_t errlen)
{
	json_t *arr = json_object_get(root, F_GROUPS), *v;
	size_t g;

	if (arr == NULL)
		return CSB_OK;
	if (!json_is_array(arr))
		return csb__fail(err, errlen, "$." F_GROUPS ": must be an array");
	if (json_array_size(arr) > CSB_CONFIG_MAX_GROUPS)
		return csb__fail(err, errlen, "$." F_GROUPS ": more than %d groups",
		                 CSB_CONFIG_MAX_GROUPS);
	json_array_foreach(arr, g, v) {
		if (!json_is_string(v))
			return csb__fail(err, errlen, "$." F_GROUPS "[%zu]: must be a string", g);
		if (json_string_length(v) > CSB_NAME_MAX)
			return csb__fail(err, errlen, "$." F_GROUPS "[%zu]: is longer than %d characters",
			                 g, CSB_NAME_MAX);
		memcpy(c->groups[g], json_string_value(v), json_string_length(v) + 1);
	}
	c->n_groups = json_array_size(arr);
	return CSB_OK;
}

static csb_err config_from_json(json_t *root, csb_backup_config *c, char *err, size_t errlen)
{
	json_t *j;
	csb_err rv;

	if (!json_is_object(root))
		return csb__fail(err, errlen, "$: must be an object");
	if ((rv = csb__keys_check(root, "$", config_keys, err, errlen)) != CSB_OK)
		return rv;
	j = json_object_get(root, F_IDENTITY);
	if (j != NULL && (!json_is_string(j) || strcasecmp(json_string_value(j), "Global") != 0))
		return csb__fail(err, errlen, "$." F_IDENTITY ": must be \"Global\"");
	if ((rv = interval_get(root, &c->sync_interval_ms, err, errlen)) != CSB_OK ||
	    (rv = count_get(root, F_USER_STORE, &c->max_batches_per_user_store_sync, err,
	                    errlen)) != CSB_OK ||
	    (rv = count_get(root, F_CMS, &c->max_batches_per_cms_sync, err, errlen)) != CSB_OK ||
	    (rv = count_get(root, F_PACKAGE, &c->max_data_conf_package_size_kb, err, errlen)) !=
	        CSB_OK ||
	    (rv = count_get(root, F_CALLS, &c->max_concurrent_calls, err, errlen)) != CSB_OK ||
	    (rv = groups_get(root, c, err, errlen)) != CSB_OK)
		return rv;
	j = json_object_get(root, F_RGS);
	if (j != NULL && !json_is_boolean(j))
		return csb__fail(err, errlen, "$." F_RGS ": must be true or false");
	if (j != NULL)
		c->enable_rgs_backup_service = json_is_true(j);
	return config_check(c, true, err, errlen);
}

csb_err csb_config_parse(const char *json, size_t len, csb_backup_config *out, char *err,
                         size_t errlen)
{
	csb_backup_config c;
	json_t *root;
	csb_err rv;

	csb_config_defaults(&c);
	if ((rv = csb__json_load(json, len, &root, err, errlen)) != CSB_OK)
		return rv;
	rv = config_from_json(root, &c, err, errlen);
	json_decref(root);
	if (rv == CSB_OK)
		*out = c;
	return rv;
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

char *csb_config_to_json(const csb_backup_config *c)
{
	json_t *root = json_object();
	char interval[32], *s = NULL;

	if (root == NULL)
		return NULL;
	csb_duration_format(c->sync_interval_ms, interval, sizeof(interval));
	/* json_object_set_new() takes its value even when it fails: one check suffices. */
	if (json_object_set_new(root, F_IDENTITY, json_string("Global")) == 0 &&
	    json_object_set_new(root, F_INTERVAL, json_string(interval)) == 0 &&
	    json_object_set_new(root, F_USER_STORE,
	                        json_integer((json_int_t)c->max_batches_per_user_store_sync)) == 0 &&
	    json_object_set_new(root, F_CMS, json_integer((json_int_t)c->max_batches_per_cms_sync)) ==
	        0 &&
	    json_object_set_new(root, F_PACKAGE,
	                        json_integer((json_int_t)c->max_data_conf_package_size_kb)) == 0 &&
	    json_object_set_new(root, F_GROUPS, groups_json(c)) == 0 &&
	    json_object_set_new(root, F_RGS, json_boolean(c->enable_rgs_backup_service)) == 0 &&
	    json_object_set_new(root, F_CALLS, json_integer((json_int_t)c->max_concurrent_calls)) ==
	        0)
		s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	return s;
}

bool csb_config_equal(const csb_backup_config *a, const csb_backup_config *b)
{
	if (a->sync_interval_ms != b->sync_interval_ms ||
	    a->max_batches_per_user_store_sync != b->max_batches_per_user_store_sync ||
	    a->max_batches_per_cms_sync != b->max_batches_per_cms_sync ||
	    a->max_data_conf_package_size_kb != b->max_data_conf_package_size_kb ||
	    a->max_concurrent_calls != b->max_concurrent_calls ||
	    a->n_groups != b->n_groups ||
	    a->enable_rgs_backup_service != b->enable_rgs_backup_service)
		return false;
	for (size_t g = 0; g < a->n_groups && g < CSB_CONFIG_MAX_GROUPS; g++) {
		if (strcmp(a->groups[g], b->groups[g]) != 0)
			return false;
	}
	return true;
}
