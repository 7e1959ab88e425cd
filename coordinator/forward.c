/* The Admin service's pool methods: status, sync and verify are answered by the pool's
 * agent (the coordinator forwards with its own identity); the CMS row of the pool hosting
 * the CMS and the CMS replication status come from the coordinator's own exporter, which
 * knows every replica's cursor from its pulls. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/modules.h"
#include "common/wire.h"
#include "coordinator/internal/audit.h"
#include "coordinator/internal/coord.h"
#include "proto/admin.pb-c.h"
#include "proto/status.pb-c.h"

#define FORWARD_TIMEOUT_MS 10000

/* Calls the pool's agent; a timeout means it could not be reached. */
csb_err coord__call_agent(struct coord *c, const char *pool, const char *method,
                          const ProtobufCMessage *msg, const ProtobufCMessageDescriptor *desc,
                          uint32_t timeout_ms, ProtobufCMessage **out, char *backup, char *err)
{
	struct agent_client *ac;
	char why[CSB_RPC_ERROR_MAX];
	csb_err rv;

	if ((rv = coord__agent(c, pool, &ac, backup, err)) != CSB_OK)
		return rv;
	why[0] = '\0';
	rv = csb_rpc_call_msg(ac->cli, method, msg, desc, timeout_ms, out, why);
	if (rv == CSB_ENOTCONN) { /* why: "<pool> at <url>: <reason>" */
		snprintf(err, CSB_RPC_ERROR_MAX, "the agent of %.240s", why);
		rv = CSB_EUNREACH;
	} else if ((rv == CSB_ETIMEDOUT || rv == CSB_EUNREACH || rv == CSB_ECLOSED) &&
	           why[0] == '\0') { /* no answer at all (an agent's own EUNREACH has a text) */
		snprintf(err, CSB_RPC_ERROR_MAX, "the agent of %.100s at %.100s did not answer (%s)", pool,
		         ac->url, csb_strerror(rv));
		rv = CSB_EUNREACH;
	} else if (rv != CSB_OK) {
		memcpy(err, why, CSB_RPC_ERROR_MAX); /* the agent's own words: it names the node */
	}
	if (rv == CSB_ENOTMASTER)
		coord__refused(c, pool, why); /* a later master exists: this one steps down */
	coord__agent_rele(ac);
	return rv;
}

static uint64_t cms_high(struct coord *c)
{
	csb_module_info mi = {0};

	(void)csb_store_module_info(csb_node_store(atomic_load(&c->node)), NULL, CSB_MODULE_CMS,
	                            &mi);
	return mi.high_seq;
}

/* The CMS row of the pool hosting the CMS: the coordinator's export to the replica of that
 * pool's backup pool, which is the standby copy (DESIGN.md §2, flow 3), judged by the same
 * rule as every export (node/ csb_node_export_row()). */
static void overlay_cms(struct coord *c, Csb__PoolStatus *ps)
{
	const csb_topo_pool *host;
	char backup[254] = "";

	pthread_mutex_lock(&c->mu);
	host = coord__master_host(c);
	if (host != NULL && strcasecmp(host->fqdn, ps->pool_fqdn) == 0)
		snprintf(backup, sizeof(backup), "%s", host->backup);
	pthread_mutex_unlock(&c->mu);
	if (backup[0] == '\0')
		return;
	for (size_t i = 0; i < ps->n_backup_modules; i++) {
		Csb__ModuleStatus *ms = ps->backup_modules[i];

		if (strcmp(ms->identity, CSB_MODULE_CMS) != 0)
			continue;
		ms->high_seq = cms_high(c);
		(void)csb_node_export_row(atomic_load(&c->node), CSB_MODULE_CMS, backup, ms);
	}
}

static csb_err get_pool_status(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                               csb_rpc_reply *rep)
{
	struct coord *c = ctx;
	const Csb__PoolRequest *pr = (const Csb__PoolRequest *)msg;
	Csb__StatusRequest sr = CSB__STATUS_REQUEST__INIT;
	Csb__PoolStatus *ps = NULL;
	csb_err rv;

	if (coord__node(c, rep) == NULL)
		return CSB_EBUSY;
	sr.category = pr->category;
	rv = coord__call_agent(c, pr->pool_fqdn, "csb.Control/Status", &sr.base,
	                &csb__pool_status__descriptor, FORWARD_TIMEOUT_MS, (ProtobufCMessage **)&ps,
	                NULL, rep->error);
	if (rv == CSB_OK) {
		overlay_cms(c, ps);
		rv = csb_wire_pack(&ps->base, &rep->body, &rep->body_len);
		protobuf_c_message_free_unpacked(&ps->base, NULL);
	}
	return rv;
}

csb_err coord__pool_status(struct coord *c, const char *pool, uint32_t timeout_ms,
                           Csb__PoolStatus **out, char *err)
{
	Csb__StatusRequest sr = CSB__STATUS_REQUEST__INIT;
	csb_err rv = coord__call_agent(c, pool, "csb.Control/Status", &sr.base,
	                        &csb__pool_status__descriptor, timeout_ms,
	                        (ProtobufCMessage **)out, NULL, err);

	if (rv == CSB_OK)
		overlay_cms(c, *out);
	return rv;
}

csb_err coord__all_status_pack(struct coord *c, uint8_t **buf, size_t *len)
{
	Csb__AllStatusReply out = CSB__ALL_STATUS_REPLY__INIT;
	char (*pools)[254] = NULL, err[CSB_RPC_ERROR_MAX];
	Csb__PoolStatus **ps = NULL, *empty = NULL;
	size_t n = 0;
	csb_err rv = CSB_OK;

	pthread_mutex_lock(&c->mu);
	if (c->topo != NULL && c->topo->n_pools > 0 &&
	    (pools = calloc(c->topo->n_pools, sizeof(*pools))) != NULL)
		for (n = 0; n < c->topo->n_pools; n++)
			snprintf(pools[n], sizeof(pools[0]), "%s", c->topo->pools[n].fqdn);
	pthread_mutex_unlock(&c->mu);
	if (n > 0 && ((ps = calloc(n, sizeof(*ps))) == NULL ||
	              (empty = calloc(n, sizeof(*empty))) == NULL)) {
		rv = CSB_ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < n; i++) {
		if (coord__pool_status(c, pools[i], 3000, &ps[i], err) == CSB_OK)
			continue;
		ps[i] = NULL;
		csb__pool_status__init(&empty[i]);
		empty[i].pool_fqdn = pools[i];
		empty[i].backup_pool_fqdn = "";
	}
	for (size_t i = 0; i < n; i++)
		if (ps[i] == NULL)
			ps[i] = &empty[i];
	out.n_pools = n;
	out.pools = ps;
	rv = csb_wire_pack(&out.base, buf, len);
out_free:
	for (size_t i = 0; ps != NULL && i < n; i++)
		if (ps[i] != NULL && ps[i] != &empty[i])
			protobuf_c_message_free_unpacked(&ps[i]->base, NULL);
	free(ps);
	free(empty);
	free(pools);
	return rv;
}

/* Every pool's status; pools whose agent does not answer are listed without modules. */
static csb_err get_all_status(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                              csb_rpc_reply *rep)
{
	struct coord *c = ctx;

	(void)msg;
	if (coord__node(c, rep) == NULL)
		return CSB_EBUSY;
	return coord__all_status_pack(c, &rep->body, &rep->body_len);
}

/* The pool agent's answer to method, unless only the CMS is asked for (then the backup pool
 * is just looked up); *with_cms says whether the coordinator adds the CMS row: asked for,
 * or every module of the pool hosting the CMS. */
static csb_err agent_part(struct coord *c, const Csb__PoolRequest *pr, const char *method,
                          const ProtobufCMessage *msg, const ProtobufCMessageDescriptor *desc,
                          uint32_t timeout_ms, ProtobufCMessage **out, char *backup,
                          bool *with_cms, char *err)
{
	bool cms_only = strcasecmp(pr->module, CSB_MODULE_CMS) == 0;
	struct agent_client *ac;
	csb_err rv;

	*out = NULL;
	*with_cms = cms_only || (pr->module[0] == '\0' && coord__cms_host(c, pr->pool_fqdn, backup));
	if (cms_only) {
		if ((rv = coord__agent(c, pr->pool_fqdn, &ac, backup, err)) == CSB_OK)
			coord__agent_rele(ac);
		return rv;
	}
	return coord__call_agent(c, pr->pool_fqdn, method, msg, desc, timeout_ms, out, backup, err);
}

static csb_err sync_pool(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                         csb_rpc_reply *rep)
{
	struct coord *c = ctx;
	const Csb__PoolRequest *pr = (const Csb__PoolRequest *)msg;
	Csb__SyncRequest sr = CSB__SYNC_REQUEST__INIT;
	Csb__PoolSyncReply out = CSB__POOL_SYNC_REPLY__INIT;
	Csb__SyncReply *sy = NULL, all = CSB__SYNC_REPLY__INIT;
	Csb__ModuleSync cms, *mods[CSB_MODULE_COUNT];
	char backup[254] = "";
	bool with_cms;
	csb_err rv;

	if (coord__node(c, rep) == NULL)
		return CSB_EBUSY;
	sr.module = pr->module;
	sr.timeout_ms = pr->timeout_ms ? pr->timeout_ms : 60000;
	rv = agent_part(c, pr, "csb.Control/SyncNow", &sr.base, &csb__sync_reply__descriptor,
	                sr.timeout_ms + 5000, (ProtobufCMessage **)&sy, backup, &with_cms,
	                rep->error);
	if (rv == CSB_OK && with_cms)
		rv = coord__cms_sync(c, pr->pool_fqdn, sr.timeout_ms, &cms, rep->error);
	if (rv == CSB_OK) {
		size_t n = sy ? sy->n_modules : 0;

		for (size_t i = 0; i < n && i < CSB_MODULE_COUNT; i++)
			mods[i] = sy->modules[i];
		if (with_cms && n < CSB_MODULE_COUNT)
			mods[n++] = &cms;
		all.n_modules = n;
		all.modules = mods;
		out.pool_fqdn = pr->pool_fqdn;
		out.backup_pool_fqdn = backup;
		out.sync = &all;
		rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
	}
	if (sy != NULL)
		protobuf_c_message_free_unpacked(&sy->base, NULL);
	return rv;
}

static csb_err verify_pool(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                           csb_rpc_reply *rep)
{
	struct coord *c = ctx;
	const Csb__PoolRequest *pr = (const Csb__PoolRequest *)msg;
	Csb__VerifyRequest vr = CSB__VERIFY_REQUEST__INIT;
	Csb__PoolVerifyReply out = CSB__POOL_VERIFY_REPLY__INIT;
	Csb__VerifyReply *vy = NULL, all = CSB__VERIFY_REPLY__INIT;
	Csb__ModuleVerify cms, *mods[CSB_MODULE_COUNT];
	struct cms_diff diff;
	bool with_cms;
	char backup[254] = "";
	uint64_t left = req->deadline_mono_ms > csb_mono_ms() ? req->deadline_mono_ms - csb_mono_ms()
	                                                      : 1000;
	csb_err rv;

	if (coord__node(c, rep) == NULL)
		return CSB_EBUSY;
	vr.module = pr->module;
	rv = agent_part(c, pr, "csb.Control/Verify", &vr.base, &csb__verify_reply__descriptor,
	                (uint32_t)left, (ProtobufCMessage **)&vy, backup, &with_cms, rep->error);
	if (rv == CSB_OK && with_cms)
		rv = coord__cms_verify(c, pr->pool_fqdn, req->deadline_mono_ms, &cms, &diff,
		                       rep->error);
	if (rv == CSB_OK) {
		size_t n = vy ? vy->n_modules : 0;

		for (size_t i = 0; i < n && i < CSB_MODULE_COUNT; i++)
			mods[i] = vy->modules[i];
		if (with_cms && n < CSB_MODULE_COUNT)
			mods[n++] = &cms;
		all.n_modules = n;
		all.modules = mods;
		out.pool_fqdn = pr->pool_fqdn;
		out.backup_pool_fqdn = backup;
		out.verify = &all;
		rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
	}
	if (vy != NULL)
		protobuf_c_message_free_unpacked(&vy->base, NULL);
	return rv;
}

static csb_err get_cms_status(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                              csb_rpc_reply *rep)
{
	struct coord *c = ctx;
	Csb__CmsStatusReply out = CSB__CMS_STATUS_REPLY__INIT;
	Csb__ReplicaStatus *rs = NULL, **rsp = NULL;
	char (*pools)[254] = NULL, master[254] = "", standby[254] = "", standby_url[512] = "";
	const csb_topo_pool *host;
	csb_node_importer imp;
	size_t n = 0;
	csb_err rv;

	(void)msg;
	if (coord__node(c, rep) == NULL)
		return CSB_EBUSY;
	pthread_mutex_lock(&c->mu);
	if (c->topo != NULL) {
		if ((host = coord__master_host(c)) != NULL)
			snprintf(master, sizeof(master), "%s", host->fqdn);
		if (c->topo->n_pools > 0 && (pools = calloc(c->topo->n_pools, sizeof(*pools))) != NULL)
			for (n = 0; n < c->topo->n_pools; n++)
				snprintf(pools[n], sizeof(pools[0]), "%s", c->topo->pools[n].fqdn);
	}
	pthread_mutex_unlock(&c->mu);
	out.high_seq = cms_high(c);
	out.active_master_fqdn = master;
	out.cms_epoch = atomic_load(&c->cms_epoch);
	coord__standby_get(c, standby, standby_url, &out.standby_heartbeat_ms);
	pthread_mutex_lock(&c->mu);
	if ((host = coord__master_host(c)) != NULL)
		snprintf(standby, sizeof(standby), "%s", host->backup);
	pthread_mutex_unlock(&c->mu);
	out.standby_fqdn = standby;
	out.standby_url = standby_url;
	if (n > 0 && ((rs = calloc(n, sizeof(*rs))) == NULL || (rsp = calloc(n, sizeof(*rsp))) == NULL)) {
		rv = CSB_ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < n; i++) {
		csb__replica_status__init(&rs[i]);
		rs[i].replica_fqdn = pools[i];
		rs[i].high_seq = out.high_seq;
		if (csb_node_importer_get(atomic_load(&c->node), CSB_MODULE_CMS, pools[i], &imp)) {
			rs[i].applied_seq = imp.acked_seq;
			rs[i].up_to_date = imp.acked_seq == out.high_seq;
			rs[i].last_update_creation_ms = imp.acked_change_ms;
			rs[i].last_heartbeat_ms = imp.last_ack_ms;
		}
		rsp[i] = &rs[i];
	}
	out.n_replicas = n;
	out.replicas = rsp;
	rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
out_free:
	free(rs);
	free(rsp);
	free(pools);
	return rv;
}

/* One replica: asks its agent to catch up, compare its data and repair itself. */
static void replicate_one(struct coord *c, const char *pool, const csb_module_info *mi,
                          Csb__ReplicaResult *out)
{
	Csb__CheckReplicaRequest rq = CSB__CHECK_REPLICA_REQUEST__INIT;
	Csb__CheckReplicaReply *rp = NULL;
	char err[CSB_RPC_ERROR_MAX];
	csb_err rv;

	rq.high_seq = mi->high_seq;
	rq.digest_lo = mi->digest.lo;
	rq.digest_hi = mi->digest.hi;
	rq.count = mi->count;
	rq.timeout_ms = 20000;
	rv = coord__call_agent(c, pool, "csb.Control/CheckReplica", &rq.base,
	                &csb__check_replica_reply__descriptor, 25000, (ProtobufCMessage **)&rp, NULL,
	                err);
	out->status = (int32_t)rv;
	if (rv != CSB_OK) {
		out->error = strdup(err);
		return;
	}
	out->up_to_date = rp->up_to_date;
	out->applied_seq = rp->applied_seq;
	out->repaired = rp->repaired;
	protobuf_c_message_free_unpacked(&rp->base, NULL);
}

/* Invoke-CsManagementStoreReplication: every replica (or the one named) catches up with the
 * CMS as it is now, proves its data equal by digest, and is repaired where it is not. */
static csb_err replicate_cms(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                             csb_rpc_reply *rep)
{
	struct coord *c = ctx;
	const Csb__ReplicateCmsRequest *rq = (const Csb__ReplicateCmsRequest *)msg;
	Csb__ReplicateCmsReply out = CSB__REPLICATE_CMS_REPLY__INIT;
	Csb__ReplicaResult *rs = NULL, **rsp = NULL;
	char (*pools)[254] = NULL;
	csb_module_info mi = {0};
	size_t n = 0;
	csb_err rv;

	(void)req;
	if (coord__node(c, rep) == NULL)
		return CSB_EBUSY;
	pthread_mutex_lock(&c->mu);
	if (c->topo != NULL && c->topo->n_pools > 0 &&
	    (pools = calloc(c->topo->n_pools, sizeof(*pools))) != NULL)
		for (size_t i = 0; i < c->topo->n_pools; i++)
			if (rq->replica_fqdn[0] == '\0' ||
			    strcasecmp(rq->replica_fqdn, c->topo->pools[i].fqdn) == 0)
				snprintf(pools[n++], sizeof(pools[0]), "%s", c->topo->pools[i].fqdn);
	pthread_mutex_unlock(&c->mu);
	if (n == 0) {
		snprintf(rep->error, sizeof(rep->error), "%.180s is not a pool of the published topology",
		         rq->replica_fqdn[0] ? rq->replica_fqdn : "no pool");
		rv = CSB_ENOTFOUND;
		goto out_free;
	}
	(void)csb_store_module_info(csb_node_store(atomic_load(&c->node)), NULL, CSB_MODULE_CMS, &mi);
	if ((rs = calloc(n, sizeof(*rs))) == NULL || (rsp = calloc(n, sizeof(*rsp))) == NULL) {
		rv = CSB_ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < n; i++) {
		csb__replica_result__init(&rs[i]);
		rs[i].replica_fqdn = pools[i];
		replicate_one(c, pools[i], &mi, &rs[i]);
		rsp[i] = &rs[i];
	}
	out.high_seq = mi.high_seq;
	out.n_replicas = n;
	out.replicas = rsp;
	rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
out_free:
	for (size_t i = 0; rs != NULL && i < n; i++)
		if (rs[i].error != protobuf_c_empty_string)
			free(rs[i].error);
	free(rs);
	free(rsp);
	free(pools);
	return rv;
}

size_t coord__forward_methods(struct coord *c, csb_rpc_method *out)
{
	const ProtobufCMessageDescriptor *pool = &csb__pool_request__descriptor,
	                                 *empty = &csb__empty__descriptor;
	size_t n = 0;

	out[n++] = (csb_rpc_method){"csb.Admin/GetPoolStatus", NULL, c, pool, get_pool_status,
	                            coord__status_rule};
	out[n++] = (csb_rpc_method){"csb.Admin/GetAllStatus", NULL, c, empty, get_all_status,
	                            coord__status_rule};
	out[n++] = (csb_rpc_method){"csb.Admin/Sync", NULL, c, pool, sync_pool, coord__admin_rule};
	out[n++] = (csb_rpc_method){"csb.Admin/Verify", NULL, c, pool, verify_pool,
	                            coord__admin_rule};
	out[n++] = (csb_rpc_method){"csb.Admin/GetCmsStatus", NULL, c, empty, get_cms_status,
	                            coord__admin_rule};
	out[n++] = (csb_rpc_method){"csb.Admin/ReplicateCms", NULL, c,
	                            &csb__replicate_cms_request__descriptor, replicate_cms,
	                            coord__admin_rule};
	return coord__audit_wrap(out, n);
}
