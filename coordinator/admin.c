/* The Admin service's configuration methods: topology, backup configuration, backup
 * relationships, configuration export and import as a ZIP, and pool states. Every method
 * requires RTCUniversalServerAdmins; a refused change changes nothing. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/modules.h"
#include "common/wire.h"
#include "model/bundle.h"
#include "coordinator/internal/audit.h"
#include "coordinator/internal/coord.h"
#include "proto/admin.pb-c.h"

static csb_err reply_json(csb_rpc_reply *rep, char *json)
{
	Csb__JsonDoc d = CSB__JSON_DOC__INIT;
	csb_err rv;

	if (json == NULL)
		return CSB_ENOMEM;
	d.json = json;
	rv = csb_wire_pack(&d.base, &rep->body, &rep->body_len);
	free(json);
	return rv;
}

static csb_err reply_empty(csb_rpc_reply *rep)
{
	Csb__Empty e = CSB__EMPTY__INIT;

	return csb_wire_pack(&e.base, &rep->body, &rep->body_len);
}

static csb_err publish_topology(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                                csb_rpc_reply *rep)
{
	struct coord *c = ctx;
	const Csb__PublishTopologyRequest *pr = (const Csb__PublishTopologyRequest *)msg;
	csb_topology *t = NULL;
	const char *key = CSB_CMS_KEY_TOPOLOGY;
	char *json;
	csb_err rv;

	if (coord__node(c, rep) == NULL)
		return CSB_EBUSY;
	rv = csb_topology_parse((const char *)pr->json.data, pr->json.len, &t, rep->error,
	                        sizeof(rep->error));
	if (rv != CSB_OK)
		return rv;
	json = csb_topology_to_json(t);
	csb_topology_free(t);
	if (json == NULL)
		return CSB_ENOMEM;
	rv = coord__put(c, &key, (const char *const *)&json, 1);
	free(json);
	return rv == CSB_OK ? reply_empty(rep) : rv;
}

static csb_err get_topology(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                            csb_rpc_reply *rep)
{
	struct coord *c = ctx;
	char *json = NULL;

	pthread_mutex_lock(&c->mu);
	if (c->topo != NULL)
		json = csb_topology_to_json(c->topo);
	pthread_mutex_unlock(&c->mu);
	if (json == NULL && c->topo == NULL) {
		snprintf(rep->error, sizeof(rep->error), "no topology has been published");
		return CSB_ENOTFOUND;
	}
	return reply_json(rep, json);
}

static csb_err config_reply(struct coord *c, csb_rpc_reply *rep)
{
	char *json;

	pthread_mutex_lock(&c->mu);
	json = csb_config_to_json(&c->cfg);
	pthread_mutex_unlock(&c->mu);
	return reply_json(rep, json);
}

static csb_err config_store(struct coord *c, const csb_backup_config *cfg, csb_rpc_reply *rep)
{
	const char *key = CSB_CMS_KEY_CONFIG;
	char *json;
	csb_err rv;

	if ((rv = csb_config_check(cfg, rep->error, sizeof(rep->error))) != CSB_OK)
		return rv;
	if ((json = csb_config_to_json(cfg)) == NULL)
		return CSB_ENOMEM;
	rv = coord__put(c, &key, (const char *const *)&json, 1);
	free(json);
	return rv == CSB_OK ? config_reply(c, rep) : rv;
}

static csb_err get_config(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                          csb_rpc_reply *rep)
{
	struct coord *c = ctx;

	return config_reply(c, rep);
}

static csb_err set_config(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                          csb_rpc_reply *rep)
{
	struct coord *c = ctx;
	const Csb__ConfigSetRequest *sr = (const Csb__ConfigSetRequest *)msg;
	csb_backup_config cfg;
	csb_err rv = CSB_OK;

	if (coord__node(c, rep) == NULL)
		return CSB_EBUSY;
	pthread_mutex_lock(&c->mu);
	cfg = c->cfg;
	pthread_mutex_unlock(&c->mu);
	if (sr->has_sync_interval_ms)
		cfg.sync_interval_ms = sr->sync_interval_ms;
	if (sr->has_max_batches_per_user_store_sync)
		cfg.max_batches_per_user_store_sync = sr->max_batches_per_user_store_sync;
	if (sr->has_max_batches_per_cms_sync)
		cfg.max_batches_per_cms_sync = sr->max_batches_per_cms_sync;
	if (sr->has_max_data_conf_package_size_kb)
		cfg.max_data_conf_package_size_kb = sr->max_data_conf_package_size_kb;
	if (sr->has_enable_rgs_backup_service)
		cfg.enable_rgs_backup_service = sr->enable_rgs_backup_service;
	if (sr->has_max_concurrent_calls)
		cfg.max_concurrent_calls = sr->max_concurrent_calls;
	if (sr->has_authorized_universal_groups) {
		if (sr->n_authorized_universal_groups > CSB_CONFIG_MAX_GROUPS) {
			snprintf(rep->error, sizeof(rep->error), "AuthorizedUniversalGroups: at most %d",
			         CSB_CONFIG_MAX_GROUPS);
			rv = CSB_EINVAL;
		}
		cfg.n_groups = 0;
		for (size_t i = 0; rv == CSB_OK && i < sr->n_authorized_universal_groups; i++)
			snprintf(cfg.groups[cfg.n_groups++], sizeof(cfg.groups[0]), "%s",
			         sr->authorized_universal_groups[i]);
	}
	return rv == CSB_OK ? config_store(c, &cfg, rep) : rv;
}

static csb_err reset_config(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                            csb_rpc_reply *rep)
{
	struct coord *c = ctx;
	csb_backup_config cfg;

	if (coord__node(c, rep) == NULL)
		return CSB_EBUSY;
	csb_config_defaults(&cfg);
	return config_store(c, &cfg, rep);
}

static csb_err get_relationship(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                                csb_rpc_reply *rep)
{
	struct coord *c = ctx;
	const Csb__PoolRequest *pr = (const Csb__PoolRequest *)msg;
	Csb__RelationshipReply out = CSB__RELATIONSHIP_REPLY__INIT;
	const csb_topo_pool *p;
	char pool[254] = "", backup[254] = "";
	csb_err rv;

	pthread_mutex_lock(&c->mu);
	if (c->topo != NULL && (p = csb_topology_pool(c->topo, pr->pool_fqdn)) != NULL) {
		snprintf(pool, sizeof(pool), "%s", p->fqdn);
		snprintf(backup, sizeof(backup), "%s", p->backup);
	}
	pthread_mutex_unlock(&c->mu);
	if (pool[0] == '\0') {
		snprintf(rep->error, sizeof(rep->error), "%s is not a pool of the published topology",
		         pr->pool_fqdn);
		rv = CSB_ENOTFOUND;
	} else {
		out.pool_fqdn = pool;
		out.backup_pool_fqdn = backup;
		rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
	}
	return rv;
}

static csb_err export_config(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                             csb_rpc_reply *rep)
{
	struct coord *c = ctx;
	Csb__ZipDoc z = CSB__ZIP_DOC__INIT;
	uint8_t *zip = NULL;
	size_t len = 0;
	csb_err rv;

	if (coord__node(c, rep) == NULL)
		return CSB_EBUSY;
	pthread_mutex_lock(&c->mu);
	if (c->topo == NULL) {
		snprintf(rep->error, sizeof(rep->error), "no topology has been published");
		rv = CSB_ENOTFOUND;
	} else {
		rv = csb_bundle_write(c->topo, &c->cfg, &zip, &len);
	}
	pthread_mutex_unlock(&c->mu);
	if (rv != CSB_OK)
		return rv;
	z.zip.data = zip;
	z.zip.len = len;
	rv = csb_wire_pack(&z.base, &rep->body, &rep->body_len);
	free(zip);
	return rv;
}

static csb_err import_config(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                             csb_rpc_reply *rep)
{
	struct coord *c = ctx;
	const Csb__ZipDoc *z = (const Csb__ZipDoc *)msg;
	csb_topology *t = NULL;
	csb_backup_config cfg;
	const char *keys[2] = {CSB_CMS_KEY_TOPOLOGY, CSB_CMS_KEY_CONFIG};
	char *vals[2] = {NULL, NULL};
	csb_err rv;

	if (coord__node(c, rep) == NULL)
		return CSB_EBUSY;
	rv = csb_bundle_read(z->zip.data, z->zip.len, &t, &cfg, rep->error, sizeof(rep->error));
	if (rv != CSB_OK)
		return rv;
	vals[0] = csb_topology_to_json(t);
	vals[1] = csb_config_to_json(&cfg);
	csb_topology_free(t);
	/* Topology and configuration land together, or not at all. */
	rv = vals[0] && vals[1] ? coord__put(c, keys, (const char *const *)vals, 2) : CSB_ENOMEM;
	free(vals[0]);
	free(vals[1]);
	return rv == CSB_OK ? reply_empty(rep) : rv;
}

/* The coordinator's own CMS as a snapshot for model/cms.h. */
csb_err coord__cms_get(void *ctx, const char *key, char **out, char *err)
{
	struct coord *c = ctx;
	csb_err rv = csb_store_get_string(csb_node_store(atomic_load(&c->node)), NULL,
	                                  CSB_MODULE_CMS, key, out);

	if (rv != CSB_OK && rv != CSB_ENOTFOUND)
		snprintf(err, CSB_RPC_ERROR_MAX, "the CMS cannot be read: %s", csb_strerror(rv));
	return rv;
}

/* The pool's FQDN as the topology spells it (254 bytes), or CSB_ENOTFOUND with the reason. */
csb_err coord__topology_pool(struct coord *c, const char *fqdn, char *pool, char *backup,
                             char *err)
{
	const csb_topo_pool *p;
	csb_err rv = CSB_OK;

	pthread_mutex_lock(&c->mu);
	if (c->topo != NULL && (p = csb_topology_pool(c->topo, fqdn)) != NULL) {
		snprintf(pool, 254, "%s", p->fqdn);
		snprintf(backup, 254, "%s", p->backup);
	} else {
		snprintf(err, CSB_RPC_ERROR_MAX, "%.180s is not a pool of the published topology", fqdn);
		rv = CSB_ENOTFOUND;
	}
	pthread_mutex_unlock(&c->mu);
	return rv;
}

static csb_err get_pool_state(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                              csb_rpc_reply *rep)
{
	struct coord *c = ctx;
	const Csb__PoolRequest *pr = (const Csb__PoolRequest *)msg;
	Csb__PoolStateReply out = CSB__POOL_STATE_REPLY__INIT;
	csb_cms_view v = {coord__cms_get, c, "published"};
	char pool[254], backup[254];
	csb_pool_entry e;
	csb_err rv;

	if (coord__node(c, rep) == NULL)
		return CSB_EBUSY;
	if ((rv = coord__topology_pool(c, pr->pool_fqdn, pool, backup, rep->error)) == CSB_OK &&
	    (rv = csb_cms_pool_entry(&v, pool, &e, rep->error)) == CSB_OK) {
		out.pool_fqdn = pool;
		out.state = (char *)csb_pool_state_name(e.state);
		out.served_by = e.served_by;
		out.epoch = e.epoch;
		out.reason = e.reason;
		if ((out.entry_json = csb_pool_entry_to_json(&e)) == NULL)
			return CSB_ENOMEM;
		rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
		free(out.entry_json);
	}
	return rv;
}

/* The backup pool of a pool reports that the pool came back with a store nobody has seen
 * (DESIGN.md §4a): the pool is recorded as NeedsRestore, with a raised epoch, and its own
 * agent turns read-only when its replica learns it. Only that backup pool may report;
 * a pool in another state than Normal is left as it is (a failover owns it). */
static bool backup_pool_rule(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                             char err[CSB_RPC_ERROR_MAX])
{
	const Csb__LostStoreReport *r = (const Csb__LostStoreReport *)msg;
	char pool[254], backup[254];

	if (coord__topology_pool(ctx, r->pool_fqdn, pool, backup, err) != CSB_OK)
		return false;
	if (strcasecmp(req->principal, backup) == 0)
		return true;
	snprintf(err, CSB_RPC_ERROR_MAX, "%.100s is not the backup pool of %.100s", req->principal,
	         pool);
	return false;
}

static csb_err report_lost_store(void *ctx, const csb_rpc_request *req,
                                 const ProtobufCMessage *msg, csb_rpc_reply *rep)
{
	struct coord *c = ctx;
	const Csb__LostStoreReport *r = (const Csb__LostStoreReport *)msg;
	csb_cms_view v = {coord__cms_get, c, "published"};
	char pool[254], backup[254], key[300], *json = NULL;
	const char *keys[1], *vals[1];
	csb_pool_entry e;
	csb_err rv;

	if (coord__node(c, rep) == NULL)
		return CSB_EBUSY;
	if ((rv = coord__topology_pool(c, r->pool_fqdn, pool, backup, rep->error)) != CSB_OK)
		return rv;
	if ((rv = csb_cms_pool_entry(&v, pool, &e, rep->error)) != CSB_OK ||
	    e.state != CSB_POOL_NORMAL)
		goto out_reply;
	e.state = CSB_POOL_NEEDS_RESTORE;
	e.epoch++;
	e.since_ms = csb_now_ms();
	snprintf(e.reason, sizeof(e.reason), "%s", r->reason);
	snprintf(e.reported_by, sizeof(e.reported_by), "%s", backup);
	if ((json = csb_pool_entry_to_json(&e)) == NULL) {
		rv = CSB_ENOMEM;
		goto out_free_json;
	}
	snprintf(key, sizeof(key), "%s%s", CSB_CMS_KEY_POOLSTATE, pool);
	keys[0] = key;
	vals[0] = json;
	if ((rv = coord__put(c, keys, vals, 1)) != CSB_OK) {
		snprintf(rep->error, sizeof(rep->error), "recording %.180s as NeedsRestore failed: %s",
		         pool, csb_strerror(rv));
		goto out_free_json;
	}
	csb_warn("coordinator", "pool state pool=%s state=NeedsRestore epoch=%llu reported_by=%s "
	         "module=%s reason=\"%s\"", pool, (unsigned long long)e.epoch, backup, r->module,
	         r->reason);
out_reply:
	if (rv == CSB_OK)
		rv = reply_empty(rep);
out_free_json:
	free(json);
	return rv;
}

/* An Admin method: typed, for RTCUniversalServerAdmins only. */
static csb_rpc_method admin(struct coord *c, const char *name,
                            const ProtobufCMessageDescriptor *desc, csb_rpc_typed_fn fn)
{
	return (csb_rpc_method){name, NULL, c, desc, fn, coord__admin_rule};
}

size_t coord__admin_methods(struct coord *c, csb_rpc_method *out)
{
	size_t n = 0;

	out[n++] = admin(c, "csb.Admin/PublishTopology", &csb__publish_topology_request__descriptor,
	                 publish_topology);
	out[n++] = admin(c, "csb.Admin/GetTopology", &csb__empty__descriptor,
	                 get_topology);
	out[n++] = admin(c, "csb.Admin/GetConfig", &csb__empty__descriptor,
	                 get_config);
	out[n++] = admin(c, "csb.Admin/SetConfig", &csb__config_set_request__descriptor,
	                 set_config);
	out[n++] = admin(c, "csb.Admin/ResetConfig", &csb__empty__descriptor,
	                 reset_config);
	out[n++] = admin(c, "csb.Admin/GetRelationship", &csb__pool_request__descriptor,
	                 get_relationship);
	out[n++] = admin(c, "csb.Admin/ExportConfig", &csb__empty__descriptor,
	                 export_config);
	out[n++] = admin(c, "csb.Admin/ImportConfig", &csb__zip_doc__descriptor,
	                 import_config);
	out[n++] = admin(c, "csb.Admin/GetPoolState", &csb__pool_request__descriptor,
	                 get_pool_state);
	out[n++] = (csb_rpc_method){"csb.Admin/ReportLostStore", NULL, c,
	                            &csb__lost_store_report__descriptor, report_lost_store,
	                            backup_pool_rule};
	return coord__audit_wrap(out, n);
}
