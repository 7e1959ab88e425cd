/* The pool's lifetime and what it learns from its CMS replica (the copy of
 * CentralMgmt.CMSMaster imported from the coordinator): its backup pool and that pool's
 * endpoint, the SyncInterval, who the administrators are, and its own pool state (a pool
 * that needs a restore is read-only). Read at start (so an agent works on while the
 * coordinator is away) and again whenever the replica changes. Also the node's hooks:
 * who is an administrator, and telling the coordinator when the pool whose copy this
 * agent holds came back with a store nobody has seen. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/internal/pool.h"
#include "common/modules.h"
#include "common/log.h"
#include "model/config.h"
#include "model/rbac.h"
#include "proto/admin.pb-c.h"

#define REPORT_TIMEOUT_MS 5000

bool pool__is_admin(struct pool *p, const char *principal)
{
	bool yes;

	for (unsigned i = 0; i < p->n_admins; i++)
		if (strcmp(p->admins[i], principal) == 0)
			return true;
	pthread_mutex_lock(&p->mu);
	yes = csb_rbac_is_admin(p->topo, principal, p->builtin_admin[0] ? p->builtin_admin : NULL);
	pthread_mutex_unlock(&p->mu);
	return yes;
}

static bool hook_is_admin(void *ctx, const char *principal)
{
	return pool__is_admin(ctx, principal);
}

static bool check_admin(struct pool *p, const csb_rpc_request *req, bool or_self, char *err)
{
	if (strcmp(req->principal, p->coord_name) == 0 || pool__is_admin(p, req->principal) ||
	    (or_self && strcmp(req->principal, p->name) == 0))
		return true;
	snprintf(err, CSB_RPC_ERROR_MAX, "%.100s may not call %.60s on %.60s", req->principal,
	         req->method, p->name);
	return false;
}

bool pool__admin_only(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                      char err[CSB_RPC_ERROR_MAX])
{
	(void)msg;
	return check_admin(ctx, req, false, err);
}

bool pool__admin_or_self(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                         char err[CSB_RPC_ERROR_MAX])
{
	(void)msg;
	return check_admin(ctx, req, true, err);
}

bool pool__is_cms_standby(struct pool *p)
{
	const csb_topo_pool *host;
	bool yes = false;

	pthread_mutex_lock(&p->mu);
	if (p->topo != NULL && (host = csb_topology_cms_host(p->topo)) != NULL)
		yes = strcasecmp(host->backup, p->name) == 0;
	pthread_mutex_unlock(&p->mu);
	return yes;
}

/* ---- The replica ------------------------------------------------------------------- */

static csb_err replica_get(void *ctx, const char *key, char **out, char *err)
{
	struct pool *p = ctx;
	csb_err rv = csb_store_get_string(csb_node_store(p->node), CSB_COORDINATOR_NAME,
	                                  CSB_MODULE_CMS, key, out);

	if (rv != CSB_OK && rv != CSB_ENOTFOUND)
		snprintf(err, CSB_RPC_ERROR_MAX, "the local store cannot be read: %s", csb_strerror(rv));
	return rv;
}

csb_cms_view pool__replica_view(struct pool *p)
{
	return (csb_cms_view){replica_get, p, "local store's"};
}

static void load_config(struct pool *p, const csb_cms_view *v)
{
	char *json = NULL, err[CSB_RPC_ERROR_MAX];
	csb_backup_config c;

	if (v->get(v->ctx, CSB_CMS_KEY_CONFIG, &json, err) != CSB_OK)
		return;
	if (csb_config_parse(json, strlen(json), &c, err, sizeof(err)) == CSB_OK) {
		csb_node_set_sync_interval(p->node, c.sync_interval_ms);
		csb_node_set_max_calls(p->node, (unsigned)c.max_concurrent_calls);
		for (size_t i = 0; i < CSB_MODULE_COUNT; i++)
			if (csb_modules[i].category == CSB_CAT_RGS)
				csb_node_set_module_enabled(p->node, csb_modules[i].name,
				                            c.enable_rgs_backup_service);
	} else
		csb_warn("agent", "replica config refused pool=%s err=\"%s\"", p->name, err);
	free(json);
}

/* Installs the replica's topology and moves the partner to what it says. */
static void load_topology(struct pool *p, const csb_cms_view *v)
{
	char err[CSB_RPC_ERROR_MAX], backup[CSB_NODE_NAME_MAX] = "", url[CSB_NODE_URL_MAX] = "";
	const csb_topo_pool *me, *bp;
	csb_topology *t = NULL, *old;
	csb_err rv = csb_cms_topology(v, &t, err);

	if (rv == CSB_ECORRUPT)
		csb_warn("agent", "replica topology refused pool=%s err=\"%s\"", p->name, err);
	if (rv != CSB_OK)
		return;
	if ((me = csb_topology_pool(t, p->name)) == NULL)
		csb_warn("agent", "not in the topology pool=%s: the published topology has no such "
		         "pool, so it has no backup pool and nobody imports it", p->name);
	if (me != NULL && me->backup[0] != '\0' &&
	    (bp = csb_topology_pool(t, me->backup)) != NULL) {
		snprintf(backup, sizeof(backup), "%s", bp->fqdn);
		snprintf(url, sizeof(url), "%s", bp->agent);
	}
	pthread_mutex_lock(&p->mu);
	old = p->topo;
	p->topo = t;
	pthread_mutex_unlock(&p->mu);
	csb_topology_free(old);
	if (!p->partner_fixed)
		csb_node_set_partner(p->node, backup, url);
}

static const char *state_phrase(csb_pool_state s)
{
	switch (s) {
	case CSB_POOL_FAILING_OVER: return "failing over";
	case CSB_POOL_FAILED_OVER: return "failed over";
	case CSB_POOL_FAILING_BACK: return "failing back";
	default: return csb_pool_state_name(s);
	}
}

/* A pool that needs a restore, or whose users are served elsewhere, refuses writes; a
 * failed-over pool's own modules are fenced at its epoch, durably, so that they stay
 * fenced across a restart (a returning old primary never takes a write). */
/* Moves the guards of the pool's own failing-over modules that stand at a lower epoch to
 * epoch: fenced (every one), or opened (only the fenced ones: a module never fenced stays
 * without a guard). */
static void own_guards_raise(struct pool *p, bool writable, uint64_t epoch)
{
	csb_store *s = csb_node_store(p->node);
	csb_guard g;

	for (size_t i = 0; i < CSB_MODULE_COUNT; i++)
		if (csb_modules[i].category != CSB_CAT_CMS &&
		    csb_store_guard_get(s, csb_modules[i].name, &g) == CSB_OK && g.epoch < epoch &&
		    (!writable || (g.set && !g.writable)))
			csb_store_guard_set(s, csb_modules[i].name, writable, epoch, NULL);
}

void pool__apply_pool_entry(struct pool *p, const csb_pool_entry *e)
{
	char why[CSB_RPC_ERROR_MAX];

	switch (e->state) {
	case CSB_POOL_NEEDS_RESTORE:
		snprintf(why, sizeof(why), "%.100s needs a restore (its backup pool %.100s keeps its data)",
		         p->name, e->reported_by[0] ? e->reported_by : "");
		csb_node_set_read_only(p->node, why);
		break;
	case CSB_POOL_NORMAL:
		/* Home at a higher epoch than a fence it holds: a failover that fenced it was
		 * aborted while it could not be told (it died after the fence). */
		own_guards_raise(p, true, e->epoch);
		csb_node_set_read_only(p->node, p->confirmed ? NULL :
		                       "the pool has not confirmed its role with the coordinator or its "
		                       "backup pool since it started");
		break;
	default:
		snprintf(why, sizeof(why), "%.100s is %s; its users are served by %.100s (epoch %" PRIu64 ")",
		         p->name, state_phrase(e->state), e->served_by, e->epoch);
		csb_node_set_read_only(p->node, why);
		own_guards_raise(p, false, e->epoch);
	}
}

static void load_pool_state(struct pool *p, const csb_cms_view *v)
{
	csb_pool_entry e;
	char err[CSB_RPC_ERROR_MAX];

	if (csb_cms_pool_entry(v, p->name, &e, err) != CSB_OK) {
		csb_warn("agent", "replica pool state refused pool=%s err=\"%s\"", p->name, err);
		return;
	}
	pool__apply_pool_entry(p, &e);
}

/* Data served here for the partner whose users are back home without it (a failback in
 * -DisasterMode while this pool was away, or a failover aborted after this pool promoted):
 * its changes go to the quarantine and the copy follows the partner again. */
static void retire_stale_served(struct pool *p, const csb_cms_view *v)
{
	char partner[CSB_NODE_NAME_MAX], served[CSB_MODULE_MAX + 1], err[CSB_RPC_ERROR_MAX];
	csb_store *s = csb_node_store(p->node);
	csb_pool_entry e;
	csb_guard g;
	uint64_t orphans;

	csb_node_partner(p->node, partner);
	if (partner[0] == '\0' || csb_cms_pool_entry(v, partner, &e, err) != CSB_OK)
		return;
	/* Still failed over at a higher epoch than a fence of the served data: a failback that
	 * fenced it was aborted while this agent could not be told. It serves again. */
	if (e.state == CSB_POOL_FAILED_OVER && strcasecmp(e.served_by, p->name) == 0) {
		for (size_t i = 0; i < CSB_MODULE_COUNT; i++)
			if (csb_modules[i].category != CSB_CAT_CMS &&
			    csb_store_served_name(partner, csb_modules[i].name, served) == CSB_OK &&
			    csb_store_guard_get(s, served, &g) == CSB_OK && g.set && !g.writable &&
			    g.epoch < e.epoch)
				csb_store_guard_set(s, served, true, e.epoch, NULL);
		return;
	}
	if (e.state != CSB_POOL_NORMAL && e.state != CSB_POOL_NEEDS_RESTORE)
		return;
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++) {
		if (csb_modules[i].category == CSB_CAT_CMS ||
		    csb_store_served_name(partner, csb_modules[i].name, served) != CSB_OK ||
		    csb_store_guard_get(s, served, &g) != CSB_OK || !g.set || g.epoch >= e.epoch)
			continue;
		if (csb_store_discard_served(s, partner, csb_modules[i].name, e.epoch, &orphans) ==
		    CSB_OK)
			csb_warn("failover", "stale served data given up pool=%s data_of=%s module=%s "
			         "served_epoch=%" PRIu64 " epoch=%" PRIu64 " orphans=%" PRIu64, p->name,
			         partner, csb_modules[i].name, g.epoch, e.epoch, orphans);
	}
}

void pool__replica_changed(void *ctx)
{
	struct pool *p = ctx;
	csb_cms_view v = pool__replica_view(p);
	char *admin = NULL, err[CSB_RPC_ERROR_MAX];

	if (replica_get(p, CSB_CMS_KEY_ADMIN, &admin, err) == CSB_OK) {
		pthread_mutex_lock(&p->mu);
		snprintf(p->builtin_admin, sizeof(p->builtin_admin), "%s", admin);
		pthread_mutex_unlock(&p->mu);
		free(admin);
	}
	load_config(p, &v);
	load_topology(p, &v);
	pool__master_from_replica(p, &v);
	if (csb_node_replica_current(p->node)) {
		pool__confirm(p, "coordinator");
		retire_stale_served(p, &v);
	}
	load_pool_state(p, &v);
}

/* Whether pool serves its own users as this agent knows it, and its epoch: its entry in the
 * replica, and for another pool also whether this pool serves its users now. */
static bool hook_role_view(void *ctx, const char *pool, uint64_t *epoch)
{
	struct pool *p = ctx;
	csb_cms_view v = pool__replica_view(p);
	char err[CSB_RPC_ERROR_MAX], served[CSB_MODULE_MAX + 1];
	csb_pool_entry e;
	csb_guard g;

	if (csb_cms_pool_entry(&v, pool, &e, err) != CSB_OK)
		return false;
	*epoch = e.epoch;
	if (e.state != CSB_POOL_NORMAL)
		return false;
	if (strcasecmp(pool, p->name) == 0)
		return true;
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++)
		if (csb_modules[i].category != CSB_CAT_CMS &&
		    csb_store_served_name(pool, csb_modules[i].name, served) == CSB_OK &&
		    csb_store_guard_get(csb_node_store(p->node), served, &g) == CSB_OK && g.set)
			return false;
	return true;
}

/* ---- Reports to the coordinator ----------------------------------------------------- */

static bool hook_source_lost(void *ctx, const csb_node_lost_source *ls)
{
	struct pool *p = ctx;
	Csb__LostStoreReport r = CSB__LOST_STORE_REPORT__INIT;
	ProtobufCMessage *out = NULL;
	char err[CSB_RPC_ERROR_MAX];
	csb_err rv;

	if (!p->has_coord)
		return true; /* nobody to tell: the import's ErrorState says it */
	r.pool_fqdn = (char *)ls->source;
	r.module = (char *)ls->module;
	r.lineage.data = (uint8_t *)ls->lineage.b;
	r.lineage.len = CSB_LINEAGE_LEN;
	r.records_kept = ls->records_kept;
	r.source_records = ls->source_records;
	r.reason = (char *)ls->reason;
	rv = csb_node_coordinator_call(p->node, "csb.Admin/ReportLostStore", &r.base,
	                               &csb__empty__descriptor, REPORT_TIMEOUT_MS, &out, err);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	if (rv != CSB_OK)
		csb_warn("agent", "cannot report lost store pool=%s source=%s err=%s detail=\"%s\"",
		         p->name, ls->source, csb_err_name(rv), err);
	return rv == CSB_OK;
}

/* ---- Lifetime ------------------------------------------------------------------------ */

static csb_err parse_partner(struct pool *p, const char *spec)
{
	const char *eq = strchr(spec, '=');

	if (eq == NULL || eq == spec || (size_t)(eq - spec) >= sizeof(p->fixed_partner) ||
	    strlen(eq + 1) >= sizeof(p->fixed_url) || eq[1] == '\0')
		return CSB_EINVAL;
	memcpy(p->fixed_partner, spec, (size_t)(eq - spec));
	p->fixed_partner[eq - spec] = '\0';
	strcpy(p->fixed_url, eq + 1);
	p->partner_fixed = true;
	return CSB_OK;
}

static void pool_free(struct pool *p)
{
	pool__confirm_stop(p);
	csb_topology_free(p->topo);
	pthread_mutex_destroy(&p->mmu);
	pthread_cond_destroy(&p->confirm_cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

csb_err csb_pool_start(const csb_pool_opts *o, struct pool **out)
{
	struct pool *p = calloc(1, sizeof(*p));
	csb_node_opts no = o->node;
	csb_err rv;

	if (p == NULL)
		return CSB_ENOMEM;
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->mmu, NULL);
	pthread_cond_init(&p->confirm_cv, NULL);
	snprintf(p->name, sizeof(p->name), "%s", o->node.name);
	snprintf(p->coord_name, sizeof(p->coord_name), "%s",
	         o->node.coordinator_name ? o->node.coordinator_name : CSB_COORDINATOR_NAME);
	for (unsigned i = 0; i < o->n_admins && i < POOL_ADMINS_MAX; i++)
		snprintf(p->admins[p->n_admins++], CSB_NODE_NAME_MAX, "%s", o->admins[i]);
	if (o->partner != NULL && (rv = parse_partner(p, o->partner)) != CSB_OK) {
		csb_error("agent", "bad --partner value=\"%s\" (want FQDN=URL)", o->partner);
		goto out_free;
	}
	p->has_coord = o->node.coordinator_url != NULL && o->node.coordinator_url[0] != '\0';
	if ((rv = pool__master_load(p, &no)) != CSB_OK) {
		csb_error("agent", "cannot read the store dir=%s err=%s", o->node.state_dir,
		          csb_strerror(rv));
		goto out_free;
	}
	p->n_methods = pool__data_methods(p, p->methods);
	p->n_methods += pool__control_methods(p, p->methods + p->n_methods);
	p->n_methods += pool__replica_methods(p, p->methods + p->n_methods);
	p->n_methods += pool__purge_methods(p, p->methods + p->n_methods);
	p->n_methods += pool__failover_methods(p, p->methods + p->n_methods);
	p->n_methods += pool__cms_methods(p, p->methods + p->n_methods);
	/* Without a coordinator nobody else can tell the role: it is what the replica says. */
	p->confirmed = !p->has_coord;
	no.role = CSB_NODE_POOL;
	no.hooks = (csb_node_hooks){.is_admin = hook_is_admin,
	                            .role_view = hook_role_view,
	                            .replica_changed = pool__replica_changed,
	                            .source_lost = hook_source_lost,
	                            .gate = pool__gate,
	                            .ctx = p};
	no.extra = p->methods;
	no.n_extra = p->n_methods;
	if ((rv = csb_node_start(&no, &p->node)) != CSB_OK)
		goto out_free;
	/* With a coordinator, writes need a lease it (or the partner) renews. */
	if (p->has_coord)
		csb_node_set_lease(p->node, CSB_LEASE_MS);
	/* Until the replica says otherwise, the defaults of Set-CsBackupServiceConfiguration. */
	{
		csb_backup_config def;

		csb_config_defaults(&def);
		csb_node_set_max_calls(p->node, (unsigned)def.max_concurrent_calls);
		for (size_t i = 0; i < CSB_MODULE_COUNT; i++)
			if (csb_modules[i].category == CSB_CAT_RGS)
				csb_node_set_module_enabled(p->node, csb_modules[i].name,
				                            def.enable_rgs_backup_service);
	}
	/* Works on from the replica kept from an earlier run while the coordinator is away. */
	pool__replica_changed(p);
	if (p->partner_fixed)
		csb_node_set_partner(p->node, p->fixed_partner, p->fixed_url);
	if ((rv = pool__confirm_start(p)) != CSB_OK) {
		csb_node_stop(p->node);
		goto out_free;
	}
	*out = p;
	return CSB_OK;
out_free:
	pool_free(p);
	return rv;
}

void csb_pool_exit(struct pool *p)
{
	pool__confirm_stop(p);
	csb_node_exit(p->node);
	csb_info("agent", "stopped pool=%s", p->name);
}
