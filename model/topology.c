/* The topology as JSON (topology.h): a strict parser that names the JSON path of the
 * first problem, the canonical writer Get-CsTopology prints, comparison and lookups.
 * What a topology must satisfy beyond its JSON shape is in topology_check.c. */
#include "model/topology.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/internal/model.h"

static const char *const top_keys[] = {"sites", "pools", "principals", NULL};
static const char *const site_keys[] = {"name", NULL};
static const char *const pool_keys[] = {"fqdn", "site", "agent", "backup", "hostsCms", NULL};
static const char *const principal_keys[] = {"name", "groups", NULL};

/* The string member key of obj (named path), or NULL in *s when it is absent and not
 * required. */
static csb_err str_get(json_t *obj, const char *path, const char *key, bool required,
                       const char **s, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*s = NULL;
	if (v == NULL && !required)
		return CSB_OK;
	if (v == NULL)
		return csb__fail(err, errlen, "%s.%s: is missing", path, key);
	if (!json_is_string(v))
		return csb__fail(err, errlen, "%s.%s: must be a string", path, key);
	*s = json_string_value(v);
	return CSB_OK;
}

/* Copies s into buf (max bytes and the NUL); names the path when s is too long. */
static csb_err str_copy(const char *s, char *buf, size_t max, const char *path,
                        const char *key, char *err, size_t errlen)
{
	size_t n = strlen(s);

	if (n > max)
		return csb__fail(err, errlen, "%s%s%s: is longer than %zu characters", path,
		                 key[0] != '\0' ? "." : "", key, max);
	memcpy(buf, s, n + 1);
	return CSB_OK;
}

/* The array member key of obj with at most max elements; NULL when absent and optional. */
static csb_err array_get(json_t *obj, const char *path, const char *key, bool required,
                         size_t max, const char *what, json_t **arr, char *err, size_t errlen)
{
	*arr = json_object_get(obj, key);
	if (*arr == NULL && !required)
		return CSB_OK;
	if (*arr == NULL)
		return csb__fail(err, errlen, "%s.%s: is missing", path, key);
	if (!json_is_array(*arr))
		return csb__fail(err, errlen, "%s.%s: must be an array", path, key);
	if (json_array_size(*arr) > max)
		return csb__fail(err, errlen, "%s.%s: more than %zu %s", path, key, max, what);
	return CSB_OK;
}

/* The i-th element of arr (named path) as an object with only the allowed keys. */
static csb_err elem_get(json_t *arr, const char *path, size_t i, const char *const *keys,
                        json_t **obj, char *epath, size_t epathlen, char *err, size_t errlen)
{
	snprintf(epath, epathlen, "%s[%zu]", path, i);
	*obj = json_array_get(arr, i);
	if (!json_is_object(*obj))
		return csb__fail(err, errlen, "%s: must be an object", epath);
	return csb__keys_check(*obj, epath, keys, err, errlen);
}

static csb_err site_parse(json_t *arr, size_t i, char *site, char *err, size_t errlen)
{
	char path[48];
	json_t *obj;
	const char *s;
	csb_err rv;

	if ((rv = elem_get(arr, "$.sites", i, site_keys, &obj, path, sizeof(path), err,
	                   errlen)) != CSB_OK)
		return rv;
	if ((rv = str_get(obj, path, "name", true, &s, err, errlen)) != CSB_OK)
		return rv;
	return str_copy(s, site, CSB_NAME_MAX, path, "name", err, errlen);
}

/* An FQDN member: checked and stored lowercase. */
static csb_err fqdn_copy(const char *s, char *buf, const char *path, const char *key,
                         char *err, size_t errlen)
{
	char why[160], q[80];

	if (csb_fqdn_parse(s, buf, why, sizeof(why)) != CSB_OK)
		return csb__fail(err, errlen, "%s.%s: '%s' is not a valid FQDN (%s)", path, key,
		                 csb__quote(s, q, sizeof(q)), why);
	return CSB_OK;
}

static csb_err pool_parse(json_t *arr, size_t i, csb_topo_pool *p, char *err, size_t errlen)
{
	char path[48];
	json_t *obj, *v;
	const char *s;
	csb_err rv;

	if ((rv = elem_get(arr, "$.pools", i, pool_keys, &obj, path, sizeof(path), err,
	                   errlen)) != CSB_OK)
		return rv;
	if ((rv = str_get(obj, path, "fqdn", true, &s, err, errlen)) != CSB_OK ||
	    (rv = fqdn_copy(s, p->fqdn, path, "fqdn", err, errlen)) != CSB_OK)
		return rv;
	if ((rv = str_get(obj, path, "site", true, &s, err, errlen)) != CSB_OK ||
	    (rv = str_copy(s, p->site, CSB_NAME_MAX, path, "site", err, errlen)) != CSB_OK)
		return rv;
	if ((rv = str_get(obj, path, "agent", true, &s, err, errlen)) != CSB_OK ||
	    (rv = str_copy(s, p->agent, CSB_AGENT_URL_MAX, path, "agent", err, errlen)) != CSB_OK)
		return rv;
	v = json_object_get(obj, "backup");
	if (v != NULL && !json_is_null(v)) {
		if ((rv = str_get(obj, path, "backup", true, &s, err, errlen)) != CSB_OK)
			return rv;
		if (s[0] != '\0' && (rv = fqdn_copy(s, p->backup, path, "backup", err, errlen)) != CSB_OK)
			return rv;
	}
	v = json_object_get(obj, "hostsCms");
	if (v != NULL && !json_is_boolean(v))
		return csb__fail(err, errlen, "%s.hostsCms: must be true or false", path);
	p->hosts_cms = json_is_true(v);
	return CSB_OK;
}

static csb_err groups_parse(json_t *obj, const char *path, csb_topo_principal *p, char *err,
                            size_t errlen)
{
	char gpath[96];
	json_t *arr, *v;
	csb_err rv;

	if ((rv = array_get(obj, path, "groups", false, CSB_TOPOLOGY_MAX_GROUPS, "groups", &arr,
	                    err, errlen)) != CSB_OK)
		return rv;
	if (arr == NULL || json_array_size(arr) == 0)
		return CSB_OK;
	p->groups = calloc(json_array_size(arr), sizeof(*p->groups));
	if (p->groups == NULL)
		return CSB_ENOMEM;
	p->n_groups = json_array_size(arr);
	for (size_t g = 0; g < p->n_groups; g++) {
		snprintf(gpath, sizeof(gpath), "%s.groups[%zu]", path, g);
		v = json_array_get(arr, g);
		if (!json_is_string(v))
			return csb__fail(err, errlen, "%s: must be a string", gpath);
		if ((rv = str_copy(json_string_value(v), p->groups[g], CSB_NAME_MAX, gpath, "", err,
		                   errlen)) != CSB_OK)
			return rv;
	}
	return CSB_OK;
}

static csb_err principal_parse(json_t *arr, size_t i, csb_topo_principal *p, char *err,
                               size_t errlen)
{
	char path[48];
	json_t *obj;
	const char *s;
	csb_err rv;

	if ((rv = elem_get(arr, "$.principals", i, principal_keys, &obj, path, sizeof(path), err,
	                   errlen)) != CSB_OK)
		return rv;
	if ((rv = str_get(obj, path, "name", true, &s, err, errlen)) != CSB_OK ||
	    (rv = str_copy(s, p->name, CSB_NAME_MAX, path, "name", err, errlen)) != CSB_OK)
		return rv;
	return groups_parse(obj, path, p, err, errlen);
}

/* Allocates t's arrays for the JSON arrays' sizes (NULL arrays count as empty). */
static csb_err topology_alloc(json_t *sites, json_t *pools, json_t *principals,
                              csb_topology **out)
{
	csb_topology *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return CSB_ENOMEM;
	*out = t;
	t->n_sites = json_array_size(sites);
	t->n_pools = json_array_size(pools);
	t->n_principals = json_array_size(principals);
	if (t->n_sites > 0 && (t->sites = calloc(t->n_sites, sizeof(*t->sites))) == NULL)
		return CSB_ENOMEM;
	if (t->n_pools > 0 && (t->pools = calloc(t->n_pools, sizeof(*t->pools))) == NULL)
		return CSB_ENOMEM;
	if (t->n_principals > 0 &&
	    (t->principals = calloc(t->n_principals, sizeof(*t->principals))) == NULL)
		return CSB_ENOMEM;
	return CSB_OK;
}

static csb_err topology_fill(csb_topology *t, json_t *sites, json_t *pools, json_t *principals,
                             char *err, size_t errlen)
{
	csb_err rv;

	for (size_t i = 0; i < t->n_sites; i++) {
		if ((rv = site_parse(sites, i, t->sites[i], err, errlen)) != CSB_OK)
			return rv;
	}
	for (size_t i = 0; i < t->n_pools; i++) {
		if ((rv = pool_parse(pools, i, &t->pools[i], err, errlen)) != CSB_OK)
			return rv;
	}
	for (size_t i = 0; i < t->n_principals; i++) {
		if ((rv = principal_parse(principals, i, &t->principals[i], err, errlen)) != CSB_OK)
			return rv;
	}
	return csb_topology_check(t, err, errlen);
}

csb_err csb__topology_from_json(json_t *root, csb_topology **out, char *err, size_t errlen)
{
	json_t *sites, *pools, *principals;
	csb_topology *t = NULL;
	csb_err rv;

	*out = NULL;
	if (!json_is_object(root))
		return csb__fail(err, errlen, "$: must be an object");
	if ((rv = csb__keys_check(root, "$", top_keys, err, errlen)) != CSB_OK ||
	    (rv = array_get(root, "$", "sites", true, CSB_TOPOLOGY_MAX_SITES, "sites", &sites, err,
	                    errlen)) != CSB_OK ||
	    (rv = array_get(root, "$", "pools", true, CSB_TOPOLOGY_MAX_POOLS, "pools", &pools, err,
	                    errlen)) != CSB_OK ||
	    (rv = array_get(root, "$", "principals", false, CSB_TOPOLOGY_MAX_PRINCIPALS,
	                    "principals", &principals, err, errlen)) != CSB_OK)
		return rv;
	if ((rv = topology_alloc(sites, pools, principals, &t)) != CSB_OK)
		goto out_free_topology;
	if ((rv = topology_fill(t, sites, pools, principals, err, errlen)) != CSB_OK)
		goto out_free_topology;
	*out = t;
	return CSB_OK;

out_free_topology:
	csb_topology_free(t);
	return rv;
}

csb_err csb_topology_parse(const char *json, size_t len, csb_topology **out, char *err,
                           size_t errlen)
{
	json_t *root;
	csb_err rv;

	*out = NULL;
	/* An empty file arrives as no bytes at all (NULL from an empty protobuf field), which
	 * jansson can only call "wrong arguments". */
	if (len == 0)
		return csb__fail(err, errlen, "the file is empty");
	if ((rv = csb__json_load(json, len, &root, err, errlen)) != CSB_OK)
		return rv;
	rv = csb__topology_from_json(root, out, err, errlen);
	json_decref(root);
	return rv;
}

static json_t *groups_json(const csb_topo_principal *p)
{
	json_t *arr = json_array();

	for (size_t g = 0; arr != NULL && g < p->n_groups; g++) {
		if (json_array_append_new(arr, json_string(p->groups[g])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

static json_t *principal_json(const csb_topo_principal *p)
{
	json_t *o = json_object();

	/* json_object_set_new() takes its value even when it fails (a NULL one too), and
	 * each value is made inside the call, so nothing is left over when one fails. */
	if (o == NULL || json_object_set_new(o, "name", json_string(p->name)) != 0 ||
	    json_object_set_new(o, "groups", groups_json(p)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *csb__topology_principals_json(const csb_topology *t)
{
	json_t *arr = json_array();
	size_t n = t != NULL ? t->n_principals : 0;

	for (size_t i = 0; arr != NULL && i < n; i++) {
		if (json_array_append_new(arr, principal_json(&t->principals[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

static json_t *sites_json(const csb_topology *t)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < t->n_sites; i++) {
		if (json_array_append_new(arr, json_pack("{s:s}", "name", t->sites[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

static json_t *pools_json(const csb_topology *t)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < t->n_pools; i++) {
		const csb_topo_pool *p = &t->pools[i];
		/* "s*": no "backup" key when there is no backup pool. */
		json_t *o = json_pack("{s:s, s:s, s:s, s:s*, s:b}", "fqdn", p->fqdn, "site", p->site,
		                      "agent", p->agent, "backup",
		                      p->backup[0] != '\0' ? p->backup : NULL, "hostsCms",
		                      (int)p->hosts_cms);

		if (json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

char *csb_topology_to_json(const csb_topology *t)
{
	static const csb_topology empty;
	json_t *root = json_object();
	char *s = NULL;

	if (t == NULL)
		t = &empty;
	if (root == NULL)
		return NULL;
	/* json_object_set_new() takes its value even when it fails. */
	if (json_object_set_new(root, "sites", sites_json(t)) == 0 &&
	    json_object_set_new(root, "pools", pools_json(t)) == 0 &&
	    json_object_set_new(root, "principals", csb__topology_principals_json(t)) == 0)
		s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return s;
}

static bool principal_equal(const csb_topo_principal *a, const csb_topo_principal *b)
{
	if (strcmp(a->name, b->name) != 0 || a->n_groups != b->n_groups)
		return false;
	for (size_t g = 0; g < a->n_groups; g++) {
		if (strcmp(a->groups[g], b->groups[g]) != 0)
			return false;
	}
	return true;
}

static bool pool_equal(const csb_topo_pool *a, const csb_topo_pool *b)
{
	return strcmp(a->fqdn, b->fqdn) == 0 && strcmp(a->site, b->site) == 0 &&
	       strcmp(a->agent, b->agent) == 0 && strcmp(a->backup, b->backup) == 0 &&
	       a->hosts_cms == b->hosts_cms;
}

bool csb_topology_equal(const csb_topology *a, const csb_topology *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (a->n_sites != b->n_sites || a->n_pools != b->n_pools ||
	    a->n_principals != b->n_principals)
		return false;
	for (size_t i = 0; i < a->n_sites; i++) {
		if (strcmp(a->sites[i], b->sites[i]) != 0)
			return false;
	}
	for (size_t i = 0; i < a->n_pools; i++) {
		if (!pool_equal(&a->pools[i], &b->pools[i]))
			return false;
	}
	for (size_t i = 0; i < a->n_principals; i++) {
		if (!principal_equal(&a->principals[i], &b->principals[i]))
			return false;
	}
	return true;
}

const csb_topo_pool *csb_topology_pool(const csb_topology *t, const char *fqdn)
{
	if (t == NULL || fqdn == NULL)
		return NULL;
	for (size_t i = 0; i < t->n_pools; i++) {
		if (strcasecmp(t->pools[i].fqdn, fqdn) == 0)
			return &t->pools[i];
	}
	return NULL;
}

const csb_topo_pool *csb_topology_cms_host(const csb_topology *t)
{
	if (t == NULL)
		return NULL;
	for (size_t i = 0; i < t->n_pools; i++) {
		if (t->pools[i].hosts_cms)
			return &t->pools[i];
	}
	return NULL;
}

const csb_topo_principal *csb_topology_principal(const csb_topology *t, const char *name)
{
	if (t == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < t->n_principals; i++) {
		if (strcmp(t->principals[i].name, name) == 0)
			return &t->principals[i];
	}
	return NULL;
}

void csb_topology_free(csb_topology *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n_principals && t->principals != NULL; i++)
		free(t->principals[i].groups);
	free(t->principals);
	free(t->pools);
	free(t->sites);
	free(t);
}
