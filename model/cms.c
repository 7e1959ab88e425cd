/* The CMS schema's typed pool state and the reads of a CMS snapshot shared by the
 * coordinator, the agents and the CLI (model/cms.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "model/cms.h"
#include "model/config.h"
#include "model/internal/model.h"

#define CMS_ERR_MAX 256 /* CSB_RPC_ERROR_MAX: errors go back in RPC replies */

static const char *const state_names[CSB_POOL_STATE_COUNT] = {
	[CSB_POOL_NORMAL] = "Normal",           [CSB_POOL_FAILING_OVER] = "FailingOver",
	[CSB_POOL_FAILED_OVER] = "FailedOver",  [CSB_POOL_FAILING_BACK] = "FailingBack",
	[CSB_POOL_NEEDS_RESTORE] = "NeedsRestore",
};

const char *csb_pool_state_name(csb_pool_state s)
{
	return (unsigned)s < CSB_POOL_STATE_COUNT ? state_names[s] : "Unknown";
}

bool csb_pool_state_parse(const char *name, csb_pool_state *out)
{
	for (unsigned i = 0; i < CSB_POOL_STATE_COUNT; i++)
		if (strcasecmp(name, state_names[i]) == 0) {
			*out = (csb_pool_state)i;
			return true;
		}
	return false;
}

void csb_pool_entry_default(const char *pool, csb_pool_entry *out)
{
	memset(out, 0, sizeof(*out));
	out->state = CSB_POOL_NORMAL;
	snprintf(out->served_by, sizeof(out->served_by), "%s", pool);
}

static bool copy_opt_string(json_t *doc, const char *key, char *dst, size_t len)
{
	json_t *v = json_object_get(doc, key);

	if (v == NULL)
		return true;
	if (!json_is_string(v) || strlen(json_string_value(v)) >= len)
		return false;
	snprintf(dst, len, "%s", json_string_value(v));
	return true;
}

static bool get_opt_u64(json_t *doc, const char *key, uint64_t *dst)
{
	json_t *v = json_object_get(doc, key);

	if (v == NULL)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*dst = (uint64_t)json_integer_value(v);
	return true;
}

csb_pool_module *csb_pool_entry_module(csb_pool_entry *e, const char *identity)
{
	for (size_t i = 0; i < e->n_modules; i++)
		if (strcasecmp(e->modules[i].identity, identity) == 0)
			return &e->modules[i];
	if (e->n_modules == CSB_POOL_MODULES_MAX || strlen(identity) >= sizeof(e->modules[0].identity))
		return NULL;
	memset(&e->modules[e->n_modules], 0, sizeof(e->modules[0]));
	snprintf(e->modules[e->n_modules].identity, sizeof(e->modules[0].identity), "%s", identity);
	return &e->modules[e->n_modules++];
}

static const char *parse_modules(json_t *doc, csb_pool_entry *out)
{
	json_t *mods = json_object_get(doc, "modules"), *m, *v;
	size_t i;

	v = json_object_get(doc, "disaster");
	if (v != NULL && !json_is_boolean(v))
		return "\"disaster\" is not true or false";
	out->disaster = json_is_true(v);
	v = json_object_get(doc, "restore");
	if (v != NULL && !json_is_boolean(v))
		return "\"restore\" is not true or false";
	out->restore = json_is_true(v);
	if (!copy_opt_string(doc, "step", out->step, sizeof(out->step)))
		return "\"step\" is not a step name";
	if (mods == NULL)
		return NULL;
	if (!json_is_array(mods) || json_array_size(mods) > CSB_POOL_MODULES_MAX)
		return "\"modules\" is not a list of at most 8 modules";
	json_array_foreach(mods, i, m) {
		csb_pool_module *pm = &out->modules[i];
		json_t *id = json_object_get(m, "identity");

		if (!json_is_object(m) || !json_is_string(id) ||
		    strlen(json_string_value(id)) >= sizeof(pm->identity))
			return "a module has no \"identity\"";
		snprintf(pm->identity, sizeof(pm->identity), "%s", json_string_value(id));
		if (!get_opt_u64(m, "forkSeq", &pm->fork_seq) ||
		    !get_opt_u64(m, "knownChanges", &pm->known_changes) ||
		    !get_opt_u64(m, "since", &pm->since_ms) ||
		    !get_opt_u64(m, "recordsMoved", &pm->records_moved) ||
		    !get_opt_u64(m, "orphans", &pm->orphans) ||
		    !copy_opt_string(m, "lineage", pm->lineage, sizeof(pm->lineage)))
			return "a module's numbers or lineage are not valid";
		out->n_modules = i + 1;
	}
	return NULL;
}

csb_err csb_pool_entry_parse(const char *json, size_t len, csb_pool_entry *out, char *err,
                             size_t errlen)
{
	json_t *doc = json_loadb(json, len, 0, NULL), *st, *sb;
	const char *bad = NULL;

	memset(out, 0, sizeof(*out));
	st = json_object_get(doc, "state");
	sb = json_object_get(doc, "servedBy");
	if (!json_is_object(doc))
		bad = "not a JSON object";
	else if (!json_is_string(st) || !csb_pool_state_parse(json_string_value(st), &out->state))
		bad = "\"state\" is not a pool state";
	else if (!json_is_string(sb) || strlen(json_string_value(sb)) > CSB_FQDN_MAX)
		bad = "\"servedBy\" is not an FQDN";
	else if (!get_opt_u64(doc, "epoch", &out->epoch) || !get_opt_u64(doc, "since", &out->since_ms))
		bad = "\"epoch\" and \"since\" must be whole numbers";
	else if (!copy_opt_string(doc, "reason", out->reason, sizeof(out->reason)) ||
	         !copy_opt_string(doc, "reportedBy", out->reported_by, sizeof(out->reported_by)))
		bad = "\"reason\" or \"reportedBy\" is not a string that fits";
	if (bad == NULL)
		bad = parse_modules(doc, out);
	if (bad == NULL)
		snprintf(out->served_by, sizeof(out->served_by), "%s", json_string_value(sb));
	else if (err != NULL)
		snprintf(err, errlen, "%s", bad);
	json_decref(doc);
	return bad == NULL ? CSB_OK : CSB_EINVAL;
}

char *csb_pool_entry_to_json(const csb_pool_entry *e)
{
	json_t *doc = json_pack("{s:s, s:s, s:I, s:I}", "state", csb_pool_state_name(e->state),
	                        "servedBy", e->served_by, "epoch", (json_int_t)e->epoch, "since",
	                        (json_int_t)e->since_ms);
	char *s;

	if (doc == NULL)
		return NULL;
	if (e->reason[0] != '\0')
		json_object_set_new(doc, "reason", json_string(e->reason));
	if (e->reported_by[0] != '\0')
		json_object_set_new(doc, "reportedBy", json_string(e->reported_by));
	if (e->step[0] != '\0')
		json_object_set_new(doc, "step", json_string(e->step));
	if (e->disaster)
		json_object_set_new(doc, "disaster", json_true());
	if (e->restore)
		json_object_set_new(doc, "restore", json_true());
	if (e->n_modules > 0) {
		json_t *mods = json_array();

		for (size_t i = 0; i < e->n_modules && i < CSB_POOL_MODULES_MAX; i++) {
			const csb_pool_module *m = &e->modules[i];

			json_array_append_new(mods, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s}",
			                      "identity", m->identity, "forkSeq", (json_int_t)m->fork_seq,
			                      "knownChanges", (json_int_t)m->known_changes, "since",
			                      (json_int_t)m->since_ms, "recordsMoved",
			                      (json_int_t)m->records_moved, "orphans",
			                      (json_int_t)m->orphans, "lineage", m->lineage));
		}
		json_object_set_new(doc, "modules", mods);
	}
	s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return s;
}

csb_err csb_cms_topology(const csb_cms_view *v, csb_topology **out, char *err)
{
	char *json = NULL, why[200];
	csb_err rv;

	*out = NULL;
	if ((rv = v->get(v->ctx, CSB_CMS_KEY_TOPOLOGY, &json, err)) != CSB_OK) {
		if (rv == CSB_ENOTFOUND)
			snprintf(err, CMS_ERR_MAX, "the %.30s topology is missing", v->what);
		return rv;
	}
	rv = csb_topology_parse(json, strlen(json), out, why, sizeof(why));
	free(json);
	if (rv == CSB_EINVAL) {
		snprintf(err, CMS_ERR_MAX, "the %.30s topology is refused: %.200s", v->what, why);
		return CSB_ECORRUPT;
	}
	return rv;
}

csb_err csb_cms_relationship(const csb_cms_view *v, const char *pool, char *backup,
                             bool *hosts_cms, char *err)
{
	csb_topology *t;
	const csb_topo_pool *p;
	csb_err rv;

	if ((rv = csb_cms_topology(v, &t, err)) != CSB_OK)
		return rv;
	if ((p = csb_topology_pool(t, pool)) == NULL) {
		snprintf(err, CMS_ERR_MAX, "%.180s is not a pool of the %.30s topology", pool, v->what);
		rv = CSB_ENOTFOUND;
	} else {
		snprintf(backup, CSB_FQDN_MAX + 1, "%s", p->backup);
		*hosts_cms = p->hosts_cms;
	}
	csb_topology_free(t);
	return rv;
}

csb_err csb_cms_config(const csb_cms_view *v, struct csb_backup_config *out, char *err)
{
	char *json = NULL, why[200];
	csb_err rv;

	csb_config_defaults(out);
	if ((rv = v->get(v->ctx, CSB_CMS_KEY_CONFIG, &json, err)) != CSB_OK) {
		if (rv == CSB_ENOTFOUND)
			err[0] = '\0';
		return rv == CSB_ENOTFOUND ? CSB_OK : rv;
	}
	rv = csb_config_parse(json, strlen(json), out, why, sizeof(why));
	free(json);
	if (rv == CSB_EINVAL) {
		snprintf(err, CMS_ERR_MAX, "the %.30s configuration is refused: %.180s", v->what, why);
		return CSB_ECORRUPT;
	}
	return rv;
}

csb_err csb_cms_pool_entry(const csb_cms_view *v, const char *pool, csb_pool_entry *out,
                           char *err)
{
	char key[CSB_FQDN_MAX + 32], *json = NULL, why[128];
	csb_err rv;

	csb_pool_entry_default(pool, out);
	snprintf(key, sizeof(key), "%s%s", CSB_CMS_KEY_POOLSTATE, pool);
	rv = v->get(v->ctx, key, &json, err);
	if (rv == CSB_ENOTFOUND) {
		err[0] = '\0';
		return CSB_OK;
	}
	if (rv != CSB_OK)
		return rv;
	rv = csb_pool_entry_parse(json, strlen(json), out, why, sizeof(why));
	free(json);
	if (rv != CSB_OK) {
		snprintf(err, CMS_ERR_MAX, "the %s state of %.120s is unreadable: %.60s", v->what, pool, why);
		return CSB_ECORRUPT;
	}
	return CSB_OK;
}

/* ---- The active master ----------------------------------------------------------------- */

csb_err csb_cms_master_parse(const char *json, size_t len, csb_cms_master *out, char *err,
                             size_t errlen)
{
	json_t *doc = json_loadb(json, len, 0, NULL);
	const char *bad = NULL;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(doc))
		bad = "not a JSON object";
	else if (!copy_opt_string(doc, "fqdn", out->fqdn, sizeof(out->fqdn)))
		bad = "fqdn";
	else if (!json_is_string(json_object_get(doc, "url")) ||
	         !copy_opt_string(doc, "url", out->url, sizeof(out->url)))
		bad = "url";
	else if (!json_is_integer(json_object_get(doc, "epoch")) ||
	         !get_opt_u64(doc, "epoch", &out->epoch) || out->epoch == 0)
		bad = "epoch";
	else if (!get_opt_u64(doc, "since", &out->since_ms))
		bad = "since";
	else if (!copy_opt_string(doc, "previous", out->previous, sizeof(out->previous)))
		bad = "previous";
	json_decref(doc);
	if (bad == NULL)
		return CSB_OK;
	snprintf(err, errlen, "the CMS master record is invalid: %s", bad);
	return CSB_EINVAL;
}

char *csb_cms_master_to_json(const csb_cms_master *m)
{
	json_t *doc = json_pack("{s:s, s:s, s:I, s:I, s:s}", "fqdn", m->fqdn, "url", m->url, "epoch",
	                        (json_int_t)m->epoch, "since", (json_int_t)m->since_ms,
	                        "previous", m->previous);
	char *s = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(doc);
	return s;
}

void csb_cms_master_refusal(const csb_cms_master *m, char *out, size_t len)
{
	if (m->epoch == 0)
		snprintf(out, len, "not active master: this coordinator is a standby and knows no "
		         "active master yet");
	else
		snprintf(out, len, "not active master: %s (epoch %llu) at %s",
		         m->fqdn[0] ? m->fqdn : "the coordinator", (unsigned long long)m->epoch,
		         m->url);
}
