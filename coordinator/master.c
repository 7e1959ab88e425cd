/* The CMS master role (Invoke-CsManagementServerFailover; DESIGN.md §2 flow 3, §4;
 * notes/failover.md 3.8). Exactly one coordinator is the active master: it accepts changes
 * and serves the CMS to the agents. Another runs as the standby on the host of the backup
 * pool of the master's pool; the standby copy is that pool's agent's replica. The master's
 * identity, URL and CMS epoch are the CMS record cms/master.
 *
 * Failover, run by the standby (the active master passes the cmdlet on to it):
 *   normal  1. the master hands over: it refuses changes from now on, and its last record
 *              names the standby at epoch + 1 (CmsHandover);
 *           2. the standby waits until its agent's replica has applied that record;
 *   -Force  (the master is lost) the epoch is one above any the standby knows;
 *   then    3. the standby takes the replica (ReplicaDump) and adopts it in ONE transaction
 *              with a new lineage (csb_store_adopt()), records itself as the master at the
 *              new epoch and becomes active;
 *           4. it tells every agent (CmsMaster; agents it cannot reach are told again until
 *              they answer), and agents re-seed their replicas from it by digests.
 * Every request carries the caller's CMS epoch (Envelope.cms_epoch): an agent refuses a
 * coordinator at an older epoch, and a master that sees a newer one steps down. A master
 * that restarts checks the agents' epochs before it accepts a change. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/modules.h"
#include "common/wire.h"
#include "coordinator/internal/coord.h"
#include "node/convert.h"
#include "proto/admin.pb-c.h"
#include "proto/status.pb-c.h"
#include "proto/sync.pb-c.h"

#define MASTER_PERIOD_MS 250
#define STANDBY_BEAT_MS 1000
#define STANDBY_FRESH_MS 10000    /* a heartbeat older than this: no standby */
#define CONFIRM_WAIT_MS 5000      /* a change waits this long for the start's check */
#define AGENT_CALL_MS 1500
#define HANDOVER_CALL_MS 10000
#define WAIT_DEFAULT_S 60
#define REFUSAL_PREFIX "not active master: "

/* A one-line error into dst (CSB_RPC_ERROR_MAX bytes), cut to fit. */
static void seterr(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seterr(char *dst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, CSB_RPC_ERROR_MAX, fmt, ap);
	va_end(ap);
}

/* ---- What this coordinator knows -------------------------------------------------------- */

void coord__master_get(struct coord *c, csb_cms_master *out)
{
	pthread_mutex_lock(&c->mmu);
	*out = c->master;
	pthread_mutex_unlock(&c->mmu);
}

/* Records m as the master known (epochs never go down), and its pool for the CMS row. */
static void master_set(struct coord *c, const csb_cms_master *m)
{
	pthread_mutex_lock(&c->mmu);
	if (m->epoch >= c->master.epoch)
		c->master = *m;
	if (m->epoch > atomic_load(&c->cms_epoch))
		atomic_store(&c->cms_epoch, m->epoch);
	pthread_mutex_unlock(&c->mmu);
	pthread_mutex_lock(&c->mu);
	snprintf(c->master_pool, sizeof(c->master_pool), "%s", m->fqdn);
	pthread_mutex_unlock(&c->mu);
}

static bool parse_refusal(const char *line, csb_cms_master *m)
{
	const char *s = strstr(line, REFUSAL_PREFIX);
	unsigned long long epoch;
	int at;

	if (s == NULL)
		return false;
	memset(m, 0, sizeof(*m));
	s += strlen(REFUSAL_PREFIX);
	if (sscanf(s, "%253s (epoch %llu) at %n", m->fqdn, &epoch, &at) != 2 || epoch == 0)
		return false;
	m->epoch = epoch;
	snprintf(m->url, sizeof(m->url), "%s", s + at);
	return true;
}

/* Writes the record through the node (no change check: the role itself moves). */
static csb_err record_put(struct coord *c, const csb_cms_master *m)
{
	char *json = csb_cms_master_to_json(m);
	csb_write w;
	csb_err rv;

	if (json == NULL)
		return CSB_ENOMEM;
	w = (csb_write){CSB_OP_PUT, CSB_CMS_KEY_MASTER, strlen(CSB_CMS_KEY_MASTER), json, strlen(json)};
	rv = csb_node_write(atomic_load(&c->node), CSB_MODULE_CMS, &w, 1, NULL);
	free(json);
	return rv;
}

/* Steps down: m (a later epoch) is the active master. */
static void step_down(struct coord *c, const csb_cms_master *m, const char *by)
{
	/* Its last record names the new master: replicas that still follow it get that. */
	atomic_store(&c->draining, true);
	if (!atomic_exchange(&c->active, false) && m->epoch <= atomic_load(&c->cms_epoch))
		return;
	master_set(c, m);
	(void)record_put(c, m); /* a restart knows it is not the master */
	csb_warn("coordinator", "not the active CMS master any more: master=%s epoch=%llu url=%s "
	         "by=%s", m->fqdn, (unsigned long long)m->epoch, m->url, by);
}

void coord__refused(struct coord *c, const char *pool, const char *err)
{
	csb_cms_master m;

	if (atomic_load(&c->active) && parse_refusal(err, &m) &&
	    m.epoch > atomic_load(&c->cms_epoch))
		step_down(c, &m, pool);
}

/* ---- The gate: who may call while this coordinator is or is not the master ----------- */

csb_err coord__gate(void *ctx, const csb_rpc_request *req, char err[CSB_RPC_ERROR_MAX])
{
	struct coord *c = ctx;
	csb_cms_master m;

	/* A call that came as the coordinator started waits for it to read its role: a fresh
	 * deployment's first master is not "a standby that knows no master" for a moment. */
	for (uint64_t until = csb_mono_ms() + CONFIRM_WAIT_MS;
	     atomic_load(&c->deciding) && csb_mono_ms() < until;)
		csb_sleep_ms(10);
	if (req->cms_epoch > atomic_load(&c->cms_epoch) && atomic_load(&c->active))
		atomic_store(&c->depose_check, true); /* somebody knows a later master */
	if (atomic_load(&c->active)) {
		/* A restarted master first checks that no agent knows a later one. */
		for (uint64_t until = csb_mono_ms() + CONFIRM_WAIT_MS;
		     !atomic_load(&c->confirmed) && csb_mono_ms() < until;)
			csb_sleep_ms(20);
		if (atomic_load(&c->active))
			return CSB_OK;
	}
	if (strcmp(req->method, "csb.Admin/CmsFailover") == 0 ||
	    (atomic_load(&c->draining) && strcmp(req->method, "csb.Admin/CmsHandover") == 0))
		return CSB_OK; /* the latter: the standby gave up and hands the role back */
	/* Taking the CMS over: the call waits the few hundred ms that takes. */
	for (uint64_t until = csb_mono_ms() + CONFIRM_WAIT_MS;
	     atomic_load(&c->failing_over) && !atomic_load(&c->active) && csb_mono_ms() < until;)
		csb_sleep_ms(20);
	if (atomic_load(&c->active))
		return CSB_OK;
	coord__master_get(c, &m);
	/* A master that handed over still serves its CMS, read-only, to the replicas that have
	 * not yet seen its last record (the one naming the new master, whose epoch they then
	 * know): every replica must get it, the standby's first. */
	if (atomic_load(&c->draining) && strncmp(req->method, "csb.Sync/", 9) == 0 &&
	    req->cms_epoch < m.epoch)
		return CSB_OK;
	csb_cms_master_refusal(&m, err, CSB_RPC_ERROR_MAX);
	return CSB_ENOTMASTER;
}

bool coord__may_change(struct coord *c, char err[CSB_RPC_ERROR_MAX])
{
	csb_cms_master m;

	if (atomic_load(&c->active))
		return true;
	coord__master_get(c, &m);
	csb_cms_master_refusal(&m, err, CSB_RPC_ERROR_MAX);
	return false;
}

/* ---- Calls to the local agent, the master and the standby ------------------------------ */

static csb_err call_url(struct coord *c, const char *url, const char *server, const char *method,
                        const ProtobufCMessage *msg, const ProtobufCMessageDescriptor *desc,
                        uint32_t timeout_ms, ProtobufCMessage **out, char *err)
{
	csb_rpc_client_opts o = {.url = url, .server_name = server, .tls = c->tls,
	                         .max_msg = 112u << 20, .cms_epoch = &c->cms_epoch};
	csb_rpc_client *cli;
	char why[CSB_RPC_ERROR_MAX] = "";
	csb_err rv;

	if ((rv = csb_rpc_client_open(&o, &cli)) != CSB_OK) {
		seterr(err, "bad endpoint %.200s", url);
		return rv;
	}
	rv = csb_rpc_call_msg(cli, method, msg, desc, timeout_ms, out, why);
	csb_rpc_client_close(cli);
	if (rv == CSB_ENOTCONN)
		seterr(err, "%.300s", why);
	else if ((rv == CSB_ETIMEDOUT || rv == CSB_EUNREACH || rv == CSB_ECLOSED) && why[0] == '\0')
		seterr(err, "%.100s at %.200s did not answer (%s)", server, url,
		         csb_strerror(rv));
	else if (rv != CSB_OK)
		seterr(err, "%.100s at %.200s: %.300s", server, url,
		         why[0] ? why : csb_strerror(rv));
	return rv;
}

/* The local agent's replica: its cms/master record (when out is not NULL) and applied seq. */
static csb_err local_replica(struct coord *c, csb_cms_master *out, uint64_t *applied, char *err)
{
	Csb__ReplicaRequest rq = CSB__REPLICA_REQUEST__INIT;
	Csb__ReplicaReply *rp = NULL;
	char why[CSB_RPC_ERROR_MAX];
	csb_err rv;

	rq.key = CSB_CMS_KEY_MASTER;
	rv = call_url(c, c->agent_url, c->pool_fqdn, "csb.Control/Replica", &rq.base,
	              &csb__replica_reply__descriptor, AGENT_CALL_MS, (ProtobufCMessage **)&rp, err);
	if (rv != CSB_OK)
		return rv;
	if (applied != NULL)
		*applied = rp->applied_seq;
	if (out != NULL) {
		memset(out, 0, sizeof(*out));
		if (rp->found && csb_cms_master_parse((const char *)rp->value.data, rp->value.len, out,
		                                      why, sizeof(why)) != CSB_OK)
			memset(out, 0, sizeof(*out));
	}
	protobuf_c_message_free_unpacked(&rp->base, NULL);
	return CSB_OK;
}

/* ---- Start ----------------------------------------------------------------------------- */

csb_err coord__master_start(struct coord *c)
{
	char *json = NULL, err[CSB_RPC_ERROR_MAX];
	csb_cms_master m = {0};
	bool self;

	(void)csb_store_get_string(csb_node_store(atomic_load(&c->node)), NULL, CSB_MODULE_CMS,
	                           CSB_CMS_KEY_MASTER, &json);
	if (json != NULL && csb_cms_master_parse(json, strlen(json), &m, err, sizeof(err)) != CSB_OK) {
		csb_error("coordinator", "stored CMS master refused err=\"%s\"", err);
		memset(&m, 0, sizeof(m));
	}
	free(json);
	if (m.epoch == 0 && !c->standby) {
		/* The deployment's first master. */
		m = (csb_cms_master){.epoch = 1, .since_ms = csb_now_ms()};
		snprintf(m.fqdn, sizeof(m.fqdn), "%s", c->pool_fqdn ? c->pool_fqdn : "");
		snprintf(m.url, sizeof(m.url), "%s", c->advertise);
		if (record_put(c, &m) != CSB_OK)
			return CSB_EIO;
		master_set(c, &m);
		atomic_store(&c->confirmed, true);
		atomic_store(&c->active, true);
		csb_info("coordinator", "CMS master pool=%s epoch=1 url=%s", m.fqdn, m.url);
		return CSB_OK;
	}
	self = m.epoch != 0 && (c->pool_fqdn && m.fqdn[0] ? strcasecmp(m.fqdn, c->pool_fqdn) == 0
	                                                   : strcmp(m.url, c->advertise) == 0);
	master_set(c, &m);
	atomic_store(&c->active, self);
	atomic_store(&c->confirmed, !self);
	/* A master that handed over (or stepped down) and restarted still serves its last
	 * record to the replicas that have not seen it. */
	atomic_store(&c->draining, !self && m.epoch != 0);
	if (self)
		csb_info("coordinator", "CMS master pool=%s epoch=%llu: checking the agents know no "
		         "later one", m.fqdn, (unsigned long long)m.epoch);
	else
		csb_info("coordinator", "standing by pool=%s master=%s epoch=%llu", c->pool_fqdn ?
		         c->pool_fqdn : "-", m.fqdn[0] ? m.fqdn : "-", (unsigned long long)m.epoch);
	return CSB_OK;
}

/* ---- The master loop -------------------------------------------------------------------- */

/* The pools of the topology as it is now (malloc'ed copy of their FQDNs; *n of them). */
static char (*topology_pools(struct coord *c, size_t *n))[254]
{
	char (*pools)[254] = NULL;

	*n = 0;
	pthread_mutex_lock(&c->mu);
	if (c->topo != NULL && c->topo->n_pools > 0 &&
	    (pools = calloc(c->topo->n_pools, sizeof(*pools))) != NULL)
		for (*n = 0; *n < c->topo->n_pools; (*n)++)
			snprintf(pools[*n], sizeof(pools[0]), "%s", c->topo->pools[*n].fqdn);
	pthread_mutex_unlock(&c->mu);
	return pools;
}

/* Asks every pool's agent which master it knows; a later one makes this one step down. */
static void check_agents(struct coord *c, const char *why)
{
	size_t n;
	char (*pools)[254] = topology_pools(c, &n), err[CSB_RPC_ERROR_MAX];

	for (size_t i = 0; i < n && atomic_load(&c->active); i++) {
		Csb__ReplicaRequest rq = CSB__REPLICA_REQUEST__INIT;
		Csb__ReplicaReply *rp = NULL;
		csb_cms_master m = {0};
		csb_err rv;

		rq.key = CSB_CMS_KEY_MASTER;
		rv = coord__call_agent(c, pools[i], "csb.Control/Replica", &rq.base,
		                       &csb__replica_reply__descriptor, AGENT_CALL_MS,
		                       (ProtobufCMessage **)&rp, NULL, err);
		/* An agent's refusal (a later epoch) made this one step down in the call
		 * (coord__call_agent: coord__refused). */
		if (rv == CSB_OK && rp->found &&
		         csb_cms_master_parse((const char *)rp->value.data, rp->value.len, &m, err,
		                              sizeof(err)) == CSB_OK &&
		         m.epoch > atomic_load(&c->cms_epoch))
			step_down(c, &m, pools[i]);
		if (rp != NULL)
			protobuf_c_message_free_unpacked(&rp->base, NULL);
	}
	free(pools);
	/* One round, answered or not (agents start after their coordinator: `csb cluster up`):
	 * a deposed master that reached none is found by its status poller, whose calls the
	 * agents refuse at its older epoch (coord__refused()). */
	if (!atomic_exchange(&c->confirmed, true) && atomic_load(&c->active))
		csb_info("coordinator", "CMS master confirmed epoch=%llu (%s)",
		         (unsigned long long)atomic_load(&c->cms_epoch), why);
}

/* Tells the agents not yet told that this coordinator is the master. */
static void tell_pending(struct coord *c)
{
	csb_cms_master me;
	char err[CSB_RPC_ERROR_MAX];

	coord__master_get(c, &me);
	for (size_t i = 0; i < COORD_CLIENTS_MAX && atomic_load(&c->active); i++) {
		Csb__CmsMasterRequest rq = CSB__CMS_MASTER_REQUEST__INIT;
		Csb__CmsMasterReply *rp = NULL;
		char pool[254];
		csb_cms_master m;
		csb_err rv;

		pthread_mutex_lock(&c->mmu);
		if (i >= c->n_pending) {
			pthread_mutex_unlock(&c->mmu);
			break;
		}
		snprintf(pool, sizeof(pool), "%s", c->pending[i]);
		pthread_mutex_unlock(&c->mmu);
		rq.fqdn = me.fqdn;
		rq.url = me.url;
		rq.epoch = me.epoch;
		rv = coord__call_agent(c, pool, "csb.Control/CmsMaster", &rq.base,
		                       &csb__cms_master_reply__descriptor, AGENT_CALL_MS,
		                       (ProtobufCMessage **)&rp, NULL, err);
		if (rp != NULL)
			protobuf_c_message_free_unpacked(&rp->base, NULL);
		if (rv == CSB_ENOTMASTER && parse_refusal(err, &m))
			step_down(c, &m, pool);
		if (rv != CSB_OK && rv != CSB_ENOTFOUND)
			continue;
		pthread_mutex_lock(&c->mmu);
		for (size_t k = 0; k < c->n_pending; k++)
			if (strcasecmp(c->pending[k], pool) == 0) {
				memmove(c->pending[k], c->pending[k + 1],
				        (c->n_pending - k - 1) * sizeof(c->pending[0]));
				c->n_pending--;
				break;
			}
		pthread_mutex_unlock(&c->mmu);
		csb_info("coordinator", "agent follows the CMS master pool=%s epoch=%llu", pool,
		         (unsigned long long)me.epoch);
		i--;
	}
}

static void finish_handover(struct coord *c, const csb_cms_master *named, uint64_t applied);

/* The standby: who the master is (from the local replica), and a heartbeat to it. */
static void stand_by(struct coord *c)
{
	Csb__CmsStandbyRequest rq = CSB__CMS_STANDBY_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	char err[CSB_RPC_ERROR_MAX];
	csb_cms_master m, known;
	uint64_t applied = 0;
	csb_err rv;

	if (c->agent_url == NULL || c->pool_fqdn == NULL)
		return;
	rv = local_replica(c, &m, &applied, err);
	if (rv == CSB_ENOTMASTER && parse_refusal(err, &m)) {
		/* The agent knows a later master than this coordinator does (it learned the move
		 * while this one was down): the refusal names it, maybe this coordinator itself. */
		if (strcasecmp(m.fqdn, c->pool_fqdn) == 0 && strcmp(m.url, c->advertise) == 0) {
			atomic_store(&c->cms_epoch, m.epoch);
			rv = local_replica(c, &m, &applied, err);
		} else {
			master_set(c, &m);
		}
	}
	if (rv == CSB_OK && m.epoch != 0) {
		coord__master_get(c, &known);
		if (m.epoch >= known.epoch)
			master_set(c, &m);
		if (strcasecmp(m.fqdn, c->pool_fqdn) == 0 && strcmp(m.url, c->advertise) == 0 &&
		    m.epoch >= atomic_load(&c->cms_epoch)) {
			atomic_store(&c->cms_epoch, m.epoch);
			finish_handover(c, &m, applied);
			return;
		}
	}
	coord__master_get(c, &known);
	if (known.url[0] == '\0' || known.epoch == 0)
		return;
	rq.fqdn = (char *)c->pool_fqdn;
	rq.url = c->advertise;
	if (call_url(c, known.url, c->name ? c->name : CSB_COORDINATOR_NAME, "csb.Admin/CmsStandby",
	             &rq.base, &csb__empty__descriptor, AGENT_CALL_MS, &out, err) == CSB_OK)
		protobuf_c_message_free_unpacked(out, NULL);
}

static void cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(cv, mu, &ts);
}

static void *master_main(void *arg)
{
	struct coord *c = arg;
	uint64_t next_beat = 0, next_tell = 0;

	pthread_mutex_lock(&c->mmu);
	while (!c->master_stopping) {
		pthread_mutex_unlock(&c->mmu);
		if (atomic_load(&c->active) && !atomic_load(&c->confirmed))
			check_agents(c, "start");
		if (atomic_load(&c->active) && atomic_exchange(&c->depose_check, false))
			check_agents(c, "a caller knows a later epoch");
		if (atomic_load(&c->active) && csb_mono_ms() >= next_tell) {
			tell_pending(c);
			next_tell = csb_mono_ms() + 1000;
		}
		if (!atomic_load(&c->active) && csb_mono_ms() >= next_beat) {
			stand_by(c);
			next_beat = csb_mono_ms() + STANDBY_BEAT_MS;
		}
		pthread_mutex_lock(&c->mmu);
		if (!c->master_stopping)
			cond_wait_ms(&c->master_cv, &c->mmu, MASTER_PERIOD_MS);
	}
	pthread_mutex_unlock(&c->mmu);
	return NULL;
}

csb_err coord__master_loop_start(struct coord *c)
{
	if (pthread_create(&c->master_thread, NULL, master_main, c) != 0)
		return CSB_ENOMEM;
	c->master_started = true;
	return CSB_OK;
}

void coord__master_loop_stop(struct coord *c)
{
	if (!c->master_started)
		return;
	pthread_mutex_lock(&c->mmu);
	c->master_stopping = true;
	pthread_cond_broadcast(&c->master_cv);
	pthread_mutex_unlock(&c->mmu);
	pthread_join(c->master_thread, NULL);
	c->master_started = false;
}

/* ---- The Admin methods ------------------------------------------------------------------ */

static bool peer_rule(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                      char err[CSB_RPC_ERROR_MAX])
{
	struct coord *c = ctx;
	const char *me = c->name ? c->name : CSB_COORDINATOR_NAME;

	(void)msg;
	if (strcmp(req->principal, me) == 0)
		return true;
	seterr(err, "%.150s is not a coordinator (%s)", req->principal, me);
	return false;
}

/* CmsFailover: an administrator, or the active master passing the call on. */
static bool admin_or_peer_rule(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                               char err[CSB_RPC_ERROR_MAX])
{
	return peer_rule(ctx, req, msg, err) || coord__admin_rule(ctx, req, msg, err);
}

static csb_err cms_standby(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                           csb_rpc_reply *rep)
{
	struct coord *c = ctx;
	const Csb__CmsStandbyRequest *rq = (const Csb__CmsStandbyRequest *)msg;
	Csb__Empty out = CSB__EMPTY__INIT;

	(void)req;
	pthread_mutex_lock(&c->mmu);
	snprintf(c->standby_fqdn, sizeof(c->standby_fqdn), "%s", rq->fqdn);
	snprintf(c->standby_url, sizeof(c->standby_url), "%s", rq->url);
	c->standby_beat_ms = csb_now_ms();
	pthread_mutex_unlock(&c->mmu);
	return csb_wire_pack(&out.base, &rep->body, &rep->body_len);
}

void coord__standby_get(struct coord *c, char fqdn[254], char url[512], uint64_t *beat_ms)
{
	pthread_mutex_lock(&c->mmu);
	snprintf(fqdn, 254, "%s", c->standby_fqdn);
	snprintf(url, 512, "%s", c->standby_url);
	*beat_ms = c->standby_beat_ms;
	pthread_mutex_unlock(&c->mmu);
}

/* The master hands over (or, with resume, takes the role back after the standby gave up). */
static csb_err cms_handover(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                            csb_rpc_reply *rep)
{
	struct coord *c = ctx;
	const Csb__CmsHandoverRequest *rq = (const Csb__CmsHandoverRequest *)msg;
	Csb__CmsHandoverReply out = CSB__CMS_HANDOVER_REPLY__INIT;
	csb_cms_master m = {.since_ms = csb_now_ms()}, me;
	csb_module_info mi = {0};
	csb_err rv;

	(void)req;
	coord__master_get(c, &me);
	if (rq->epoch <= me.epoch || strlen(rq->fqdn) >= sizeof(m.fqdn) ||
	    strlen(rq->url) >= sizeof(m.url)) {
		seterr(rep->error, "a handover needs an epoch above %llu",
		         (unsigned long long)me.epoch);
		return CSB_EINVAL;
	}
	if (rq->resume) {
		m = me;
		m.epoch = rq->epoch;
		m.since_ms = csb_now_ms();
	} else {
		snprintf(m.fqdn, sizeof(m.fqdn), "%s", rq->fqdn);
		snprintf(m.url, sizeof(m.url), "%s", rq->url);
		m.epoch = rq->epoch;
		snprintf(m.previous, sizeof(m.previous), "%s", me.fqdn);
	}
	/* Changes in flight finish first (coord__put holds put_mu); later ones are refused. */
	pthread_mutex_lock(&c->put_mu);
	atomic_store(&c->draining, !rq->resume);
	if (!rq->resume)
		atomic_store(&c->active, false);
	rv = record_put(c, &m);
	if (rv == CSB_OK)
		master_set(c, &m);
	if (rv == CSB_OK && rq->resume)
		atomic_store(&c->active, true);
	pthread_mutex_unlock(&c->put_mu);
	if (rv == CSB_OK && !rq->resume)
		coord__crash_point("cms", "master-handed");
	if (rv != CSB_OK) {
		seterr(rep->error, "cannot record the handover: %s",
		         csb_strerror(rv));
		if (!rq->resume)
			atomic_store(&c->active, true);
		return rv;
	}
	(void)csb_store_module_info(csb_node_store(atomic_load(&c->node)), NULL, CSB_MODULE_CMS, &mi);
	out.seq = mi.high_seq;
	out.epoch = m.epoch;
	csb_warn("coordinator", "CMS %s master=%s epoch=%llu seq=%llu",
	         rq->resume ? "master again" : "handed over", m.fqdn, (unsigned long long)m.epoch,
	         (unsigned long long)out.seq);
	return csb_wire_pack(&out.base, &rep->body, &rep->body_len);
}

/* Tells every pool's agent that this coordinator is the master; those that do not answer
 * stay pending (the loop tells them again). known: the largest applied seq an agent's
 * replica held of the old lineage beyond the standby's copy (-Force's loss count). */
static void tell_all(struct coord *c, const csb_cms_master *me, const csb_lineage *old,
                     uint64_t taken_seq, uint32_t *following, uint32_t *total, uint64_t *known)
{
	size_t n;
	char (*pools)[254] = topology_pools(c, &n), err[CSB_RPC_ERROR_MAX];
	*total = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		Csb__CmsMasterRequest rq = CSB__CMS_MASTER_REQUEST__INIT;
		Csb__CmsMasterReply *rp = NULL;

		rq.fqdn = (char *)me->fqdn;
		rq.url = (char *)me->url;
		rq.epoch = me->epoch;
		if (coord__call_agent(c, pools[i], "csb.Control/CmsMaster", &rq.base,
		                      &csb__cms_master_reply__descriptor, AGENT_CALL_MS,
		                      (ProtobufCMessage **)&rp, NULL, err) == CSB_OK) {
			(*following)++;
			if (rp->lineage.len == CSB_LINEAGE_LEN &&
			    memcmp(rp->lineage.data, old->b, CSB_LINEAGE_LEN) == 0 &&
			    rp->applied_seq > taken_seq && rp->applied_seq - taken_seq > *known)
				*known = rp->applied_seq - taken_seq;
			protobuf_c_message_free_unpacked(&rp->base, NULL);
			continue;
		}
		csb_warn("coordinator", "agent not told of the CMS master yet pool=%s err=\"%s\"",
		         pools[i], err);
		pthread_mutex_lock(&c->mmu);
		if (c->n_pending < COORD_PENDING_MAX)
			snprintf(c->pending[c->n_pending++], sizeof(c->pending[0]), "%s", pools[i]);
		pthread_mutex_unlock(&c->mmu);
	}
	free(pools);
}

/* Takes the replica over from the local agent: applied into a copy, then adopted. */
static csb_err take_replica(struct coord *c, uint64_t at_least, uint64_t *seq, csb_lineage *old,
                            char *err)
{
	csb_store *st = csb_node_store(atomic_load(&c->node));
	Csb__Empty e = CSB__EMPTY__INIT;
	Csb__Batch *b = NULL;
	csb_record *recs = NULL;
	csb_batch_hdr hdr = {.reseed = true};
	csb_digest want;
	csb_module_info mi;
	csb_lineage fresh;
	csb_err rv;

	rv = call_url(c, c->agent_url, c->pool_fqdn, "csb.Control/ReplicaDump", &e.base,
	              &csb__batch__descriptor, HANDOVER_CALL_MS, (ProtobufCMessage **)&b, err);
	if (rv != CSB_OK)
		return rv;
	if (b->lineage.len != CSB_LINEAGE_LEN || b->last_seq < at_least) {
		seterr(err, "the replica of %.100s is at seq %llu, not %llu",
		         c->pool_fqdn, (unsigned long long)b->last_seq, (unsigned long long)at_least);
		rv = CSB_ESEQ;
		goto out;
	}
	if (b->n_records > 0 && (recs = calloc(b->n_records, sizeof(*recs))) == NULL) {
		rv = CSB_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < b->n_records; i++)
		csb_pb_record_from_pb(b->records[i], &recs[i]);
	memcpy(hdr.lineage.b, b->lineage.data, CSB_LINEAGE_LEN);
	memcpy(old->b, b->lineage.data, CSB_LINEAGE_LEN);
	hdr.after_seq = 0;
	hdr.last_seq = b->last_seq;
	csb_pb_digest_from_pb(b->digest, &want);
	if ((rv = csb_store_copy_drop(st, CSB_COORDINATOR_NAME, CSB_MODULE_CMS)) != CSB_OK ||
	    (rv = csb_store_apply(st, CSB_COORDINATOR_NAME, CSB_MODULE_CMS, &hdr, recs, b->n_records,
	                          NULL)) != CSB_OK) {
		seterr(err, "cannot store the replica taken over: %s",
		         csb_strerror(rv));
		goto out;
	}
	{
		csb_cursor cur;

		if ((rv = csb_store_cursor_get(st, CSB_COORDINATOR_NAME, CSB_MODULE_CMS, &cur)) != CSB_OK)
			goto out;
		if (b->digest != NULL && (cur.digest.lo != want.lo || cur.digest.hi != want.hi ||
		                          cur.count != b->count)) {
			seterr(err, "the replica of %.100s did not arrive whole "
			         "(digest or count differ)", c->pool_fqdn);
			(void)csb_store_copy_drop(st, CSB_COORDINATOR_NAME, CSB_MODULE_CMS);
			rv = CSB_ECORRUPT;
			goto out;
		}
	}
	if ((rv = csb_store_adopt(st, CSB_COORDINATOR_NAME, CSB_MODULE_CMS, &mi, &fresh)) != CSB_OK) {
		seterr(err, "cannot adopt the replica: %s", csb_strerror(rv));
		goto out;
	}
	csb_node_export_reload(atomic_load(&c->node), CSB_MODULE_CMS);
	*seq = mi.high_seq;
out:
	free(recs);
	protobuf_c_message_free_unpacked(&b->base, NULL);
	return rv;
}

/* Waits until the local replica applied seq (the old master's last record). */
static csb_err wait_replica(struct coord *c, uint64_t seq, uint64_t deadline, char *err)
{
	uint64_t applied = 0;
	csb_err rv;

	for (;;) {
		rv = local_replica(c, NULL, &applied, err);
		if (rv == CSB_OK && applied >= seq)
			return CSB_OK;
		if (csb_mono_ms() >= deadline)
			break;
		csb_sleep_ms(20);
	}
	if (rv == CSB_OK)
		seterr(err, "the replica of %.100s reached seq %llu, not %llu, "
		         "within -WaitTime", c->pool_fqdn, (unsigned long long)applied,
		         (unsigned long long)seq);
	return CSB_ETIMEDOUT;
}

static csb_err reply_takeover(struct coord *c, const csb_cms_master *me, uint64_t t0,
                              uint64_t seq, uint64_t known, uint32_t following, uint32_t total,
                              bool already, csb_rpc_reply *rep)
{
	Csb__CmsFailoverReply out = CSB__CMS_FAILOVER_REPLY__INIT;

	(void)c;
	out.active_master_fqdn = (char *)me->fqdn;
	out.active_master_url = (char *)me->url;
	out.previous_master_fqdn = (char *)me->previous;
	out.cms_epoch = me->epoch;
	out.millis = csb_mono_ms() - t0;
	out.high_seq = seq;
	out.known_changes = known;
	out.agents_following = following;
	out.agents_total = total;
	out.already = already;
	return csb_wire_pack(&out.base, &rep->body, &rep->body_len);
}

/* The active master passes the cmdlet on to the standby that last sent a heartbeat. */
static csb_err pass_to_standby(struct coord *c, const Csb__CmsFailoverRequest *rq,
                               csb_rpc_reply *rep)
{
	char fqdn[254], url[512], err[CSB_RPC_ERROR_MAX];
	uint32_t wait = rq->wait_time_s ? rq->wait_time_s : WAIT_DEFAULT_S;
	uint64_t beat;
	ProtobufCMessage *out = NULL;
	csb_err rv;

	/* A standby that just changed roles beats within a second or two. */
	for (uint64_t until = csb_mono_ms() + 3 * STANDBY_BEAT_MS;; csb_sleep_ms(50)) {
		coord__standby_get(c, fqdn, url, &beat);
		if ((url[0] != '\0' && csb_now_ms() - beat <= STANDBY_FRESH_MS) ||
		    csb_mono_ms() >= until)
			break;
	}
	if (url[0] == '\0' || csb_now_ms() - beat > STANDBY_FRESH_MS) {
		seterr(rep->error, "no standby coordinator has sent a heartbeat "
		         "in %u s: start csb-coordinator --standby on the host of the backup pool of "
		         "the CMS's pool", STANDBY_FRESH_MS / 1000);
		return CSB_ENOTFOUND;
	}
	rv = call_url(c, url, c->name ? c->name : CSB_COORDINATOR_NAME, "csb.Admin/CmsFailover",
	              &rq->base, &csb__cms_failover_reply__descriptor, wait * 1000 + 30000, &out, err);
	if (rv != CSB_OK) {
		seterr(rep->error, "the standby coordinator (%.100s) %.300s", fqdn,
		         strstr(err, ": ") && rv != CSB_ENOTCONN ? strstr(err, ": ") + 2 : err);
		return rv == CSB_ENOTCONN ? CSB_EUNREACH : rv;
	}
	rv = csb_wire_pack(out, &rep->body, &rep->body_len);
	protobuf_c_message_free_unpacked(out, NULL);
	return rv;
}

struct takeover {
	uint64_t seq, known;
	uint32_t following, total;
};

/* The standby's last steps: the replica becomes this coordinator's CMS (at least handed,
 * the old master's last record), this coordinator records itself as the master at me->epoch
 * and becomes active, and every agent is told. */
static csb_err take_over(struct coord *c, const csb_cms_master *me, uint64_t handed, bool force,
                         struct takeover *r, char err[CSB_RPC_ERROR_MAX])
{
	csb_lineage old = {{0}};
	csb_err rv;

	if ((rv = take_replica(c, handed, &r->seq, &old, err)) != CSB_OK)
		return rv;
	coord__crash_point("cms", "adopted");
	atomic_store(&c->cms_epoch, me->epoch);
	if ((rv = record_put(c, me)) != CSB_OK) {
		seterr(err, "cannot record the new master: %s", csb_strerror(rv));
		return rv;
	}
	r->seq++;
	master_set(c, me);
	coord__refresh(c);
	atomic_store(&c->confirmed, true);
	atomic_store(&c->draining, false);
	atomic_store(&c->active, true);
	csb_warn("coordinator", "CMS failover: the active master pool=%s epoch=%llu previous=%s "
	         "seq=%llu force=%s", me->fqdn, (unsigned long long)me->epoch, me->previous,
	         (unsigned long long)r->seq, force ? "yes" : "no");
	tell_all(c, me, &old, r->seq - 1, &r->following, &r->total, &r->known);
	return CSB_OK;
}

/* A handover this standby did not finish (it stopped after the old master had named it):
 * the replica names this coordinator the master, so it takes over now. */
static void finish_handover(struct coord *c, const csb_cms_master *named, uint64_t applied)
{
	struct takeover r = {0};
	csb_cms_master me = *named;
	char err[CSB_RPC_ERROR_MAX];

	if (atomic_exchange(&c->failing_over, true))
		return;
	/* The handover finished meanwhile (cms_failover sets active before it lets go of
	 * failing_over): taking over again would adopt the replica a second time, under a
	 * second new lineage at the same epoch, which every agent would refuse as a lost
	 * store (chaos seed 23). */
	if (atomic_load(&c->active)) {
		atomic_store(&c->failing_over, false);
		return;
	}
	csb_warn("coordinator", "finishing a CMS handover pool=%s epoch=%llu", me.fqdn,
	         (unsigned long long)me.epoch);
	if (take_over(c, &me, applied, false, &r, err) != CSB_OK)
		csb_error("coordinator", "cannot finish the CMS handover err=\"%s\"", err);
	atomic_store(&c->failing_over, false);
}

static csb_err cms_failover(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                            csb_rpc_reply *rep)
{
	struct coord *c = ctx;
	const Csb__CmsFailoverRequest *rq = (const Csb__CmsFailoverRequest *)msg;
	uint64_t t0 = csb_mono_ms(), handed = 0;
	uint64_t deadline = t0 + (uint64_t)(rq->wait_time_s ? rq->wait_time_s : WAIT_DEFAULT_S) * 1000;
	csb_cms_master was = {0}, me;
	struct takeover r = {0};
	char err[CSB_RPC_ERROR_MAX];
	csb_err rv;

	(void)req;
	if (atomic_load(&c->active)) {
		coord__master_get(c, &me);
		if (rq->force)
			return reply_takeover(c, &me, t0, 0, 0, 0, 0, true, rep);
		return pass_to_standby(c, rq, rep); /* -WhatIf too: the standby says what it would do */
	}
	if (c->advertise[0] == '\0') {
		seterr(rep->error, "this coordinator cannot take the CMS over: it listens on every "
		       "address and has no --advertise-url that agents could reach it at");
		return CSB_ENOTFOUND;
	}
	if (c->agent_url == NULL || c->pool_fqdn == NULL) {
		seterr(rep->error, "this coordinator cannot take the CMS over: it "
		         "was started without --pool-fqdn and --agent (the pool whose replica it takes)");
		return CSB_ENOTFOUND;
	}
	if (atomic_exchange(&c->failing_over, true)) {
		seterr(rep->error, "a CMS failover is already running here");
		return CSB_EBUSY;
	}
	if ((rv = local_replica(c, &was, NULL, err)) != CSB_OK) {
		seterr(rep->error, "the standby replica: %s", err);
		goto out;
	}
	if (was.epoch == 0 && !rq->force) {
		seterr(rep->error, "the replica of %.100s names no active master",
		         c->pool_fqdn);
		rv = CSB_ENOTFOUND;
		goto out;
	}
	if (rq->what_if) {
		Csb__CmsFailoverReply out = CSB__CMS_FAILOVER_REPLY__INIT;
		char line[CSB_RPC_ERROR_MAX];

		seterr(line, "What if: the coordinator on %.100s would become the "
		         "active master of the Central Management store at epoch %llu, taking it over "
		         "from the replica of %.100s%s%.100s%s", c->pool_fqdn,
		         (unsigned long long)(was.epoch + 1), c->pool_fqdn,
		         rq->force ? " without " : " after ", was.fqdn[0] ? was.fqdn : "the master",
		         rq->force ? " (-Force)" : " hands over");
		out.what_if = line;
		out.active_master_fqdn = was.fqdn;
		out.cms_epoch = was.epoch;
		rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
		goto out;
	}
	me = (csb_cms_master){.since_ms = csb_now_ms()};
	snprintf(me.fqdn, sizeof(me.fqdn), "%s", c->pool_fqdn);
	snprintf(me.url, sizeof(me.url), "%s", c->advertise);
	snprintf(me.previous, sizeof(me.previous), "%s", was.fqdn);
	if (!rq->force) {
		Csb__CmsHandoverRequest hr = CSB__CMS_HANDOVER_REQUEST__INIT;
		Csb__CmsHandoverReply *hp = NULL;

		hr.fqdn = me.fqdn;
		hr.url = me.url;
		hr.epoch = was.epoch + 1;
		rv = call_url(c, was.url, c->name ? c->name : CSB_COORDINATOR_NAME,
		              "csb.Admin/CmsHandover", &hr.base, &csb__cms_handover_reply__descriptor,
		              HANDOVER_CALL_MS, (ProtobufCMessage **)&hp, err);
		if (rv != CSB_OK) {
			seterr(rep->error, "the active master %.100s: %.300s; if it "
			         "is lost, run it again with -Force", was.fqdn,
			         strstr(err, ": ") && rv != CSB_ENOTCONN ? strstr(err, ": ") + 2 : err);
			rv = rv == CSB_ENOTCONN || rv == CSB_ETIMEDOUT ? CSB_EUNREACH : rv;
			goto out;
		}
		handed = hp->seq;
		me.epoch = hp->epoch;
		protobuf_c_message_free_unpacked(&hp->base, NULL);
		/* The agents learn the new epoch from the record: from now on this coordinator
		 * calls them at it. */
		atomic_store(&c->cms_epoch, me.epoch);
		coord__crash_point("cms", "handed");
		if ((rv = wait_replica(c, handed, deadline, err)) != CSB_OK) {
			/* The old master takes the role back, at a later epoch still. */
			Csb__CmsHandoverRequest back = CSB__CMS_HANDOVER_REQUEST__INIT;
			ProtobufCMessage *bp = NULL;
			char why[CSB_RPC_ERROR_MAX];

			back.fqdn = was.fqdn;
			back.url = was.url;
			back.epoch = me.epoch + 1;
			back.resume = true;
			if (call_url(c, was.url, c->name ? c->name : CSB_COORDINATOR_NAME,
			             "csb.Admin/CmsHandover", &back.base, &csb__cms_handover_reply__descriptor,
			             HANDOVER_CALL_MS, &bp, why) == CSB_OK) {
				protobuf_c_message_free_unpacked(bp, NULL);
				seterr(rep->error, "%.300s; %.100s is the active master "
				         "again (epoch %llu)", err, was.fqdn, (unsigned long long)back.epoch);
			} else {
				seterr(rep->error, "%.200s, and %.100s could not take the "
				         "role back (%.150s): run it again, or with -Force", err, was.fqdn, why);
			}
			goto out;
		}
	} else {
		uint64_t top = was.epoch > atomic_load(&c->cms_epoch) ? was.epoch
		                                                       : atomic_load(&c->cms_epoch);

		me.epoch = top + 1;
		atomic_store(&c->cms_epoch, me.epoch);
	}
	if ((rv = take_over(c, &me, handed, rq->force, &r, rep->error)) == CSB_OK)
		rv = reply_takeover(c, &me, t0, r.seq, r.known, r.following, r.total, false, rep);
out:
	atomic_store(&c->failing_over, false);
	return rv;
}

size_t coord__master_methods(struct coord *c, csb_rpc_method *out)
{
	out[0] = (csb_rpc_method){"csb.Admin/CmsFailover", NULL, c,
	                          &csb__cms_failover_request__descriptor, cms_failover,
	                          admin_or_peer_rule};
	out[1] = (csb_rpc_method){"csb.Admin/CmsHandover", NULL, c,
	                          &csb__cms_handover_request__descriptor, cms_handover, peer_rule};
	out[2] = (csb_rpc_method){"csb.Admin/CmsStandby", NULL, c,
	                          &csb__cms_standby_request__descriptor, cms_standby, peer_rule};
	return 3;
}
