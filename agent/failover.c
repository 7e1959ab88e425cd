/* The agent's steps of failover and failback (DESIGN.md §4, notes/failover.md §3.4–3.7),
 * each asked by the coordinator and each idempotent, so that a coordinator that crashed
 * mid-way runs it again:
 *   Fence    — this pool's modules (or the data it serves for its partner) refuse writes at
 *              an epoch, or open again; answers the final position of each module;
 *   Promote  — the backup copy of the partner's modules becomes data this pool serves;
 *   Catchup  — this (failed) pool sets aside its writes past the fork and follows the data
 *              its partner served, up to the final position;
 *   Retire   — the served data goes back into the backup copy, which follows the primary;
 *   Role     — a restarted partner asks what this agent's CMS replica says about it.
 * And the agent's own role: until its CMS replica (or its partner's) has confirmed where it
 * stands, a restarted agent refuses writes. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "agent/internal/pool.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/modules.h"
#include "common/wire.h"
#include "node/convert.h"
#include "proto/failover.pb-c.h"

#define CONFIRM_POLL_MS 1000

/* CSB_CRASH_AT=agent:<step> (fence, promote, catchup, retire): the agent exits after the
 * step's commit, before it answers, for the kill-point tests. */
static void crash_point(const char *step)
{
	const char *at = getenv("CSB_CRASH_AT");

	if (at != NULL && strncmp(at, "agent:", 6) == 0 && strcmp(at + 6, step) == 0) {
		csb_warn("failover", "crash point reached at=agent:%s", step);
		_exit(9);
	}
}
#define WRITE_CONFIRM_WAIT_MS 3000

/* The modules that fail over: every module of a pool but the CMS (which has its own). */
static bool fails_over(const csb_module_def *m)
{
	return m->category != CSB_CAT_CMS;
}

struct step_reply {
	Csb__FailoverStepReply out;
	Csb__FailoverModule mods[CSB_MODULE_COUNT], *ptrs[CSB_MODULE_COUNT];
	Csb__Digest dg[CSB_MODULE_COUNT];
	csb_lineage lineage;
};

static Csb__FailoverModule *reply_module(struct step_reply *r, const char *identity)
{
	size_t i = r->out.n_modules++;

	csb__failover_module__init(&r->mods[i]);
	csb__digest__init(&r->dg[i]);
	r->mods[i].identity = (char *)identity;
	r->mods[i].digest = &r->dg[i];
	r->ptrs[i] = &r->mods[i];
	r->out.modules = r->ptrs;
	return &r->mods[i];
}

static csb_err reply_pack(struct pool *p, struct step_reply *r, csb_rpc_reply *rep)
{
	csb_err rv = csb_store_lineage(csb_node_store(p->node), &r->lineage);

	if (rv != CSB_OK)
		return rv;
	r->out.lineage.data = r->lineage.b;
	r->out.lineage.len = CSB_LINEAGE_LEN;
	return csb_wire_pack(&r->out.base, &rep->body, &rep->body_len);
}

/* The request's entry for module (NULL when it names none). */
static const Csb__FailoverModule *asked(const Csb__FailoverStep *st, const char *module)
{
	for (size_t i = 0; i < st->n_modules; i++)
		if (strcasecmp(st->modules[i]->identity, module) == 0)
			return st->modules[i];
	return NULL;
}

static bool is_partner(struct pool *p, const char *pool)
{
	char partner[CSB_NODE_NAME_MAX];

	csb_node_partner(p->node, partner);
	return partner[0] != '\0' && strcasecmp(partner, pool) == 0;
}

static csb_err fence(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                     csb_rpc_reply *rep)
{
	struct pool *p = ctx;
	const Csb__FailoverStep *st = (const Csb__FailoverStep *)msg;
	bool own = strcasecmp(st->pool, p->name) == 0;
	struct step_reply r = {.out = CSB__FAILOVER_STEP_REPLY__INIT};
	char served[CSB_MODULE_MAX + 1];
	csb_module_info fin;
	csb_guard g;
	csb_err rv;

	(void)req;
	if (!own && !is_partner(p, st->pool)) {
		snprintf(rep->error, sizeof(rep->error), "%.60s is not %.60s's backup pool", p->name,
		         st->pool);
		return CSB_ENOTFOUND;
	}
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++) {
		const char *m = csb_modules[i].name, *name = m;
		Csb__FailoverModule *fm;

		if (!fails_over(&csb_modules[i]))
			continue;
		fm = reply_module(&r, m);
		if (!own) {
			csb_store_served_name(st->pool, m, served);
			if (csb_store_guard_get(csb_node_store(p->node), served, &g) != CSB_OK || !g.set) {
				fm->skipped = true;
				fm->note = "not served here";
				continue;
			}
			name = served;
		}
		rv = csb_store_guard_set(csb_node_store(p->node), name, st->writable, st->epoch, &fin);
		if (rv == CSB_ESEQ) {
			csb_store_guard_get(csb_node_store(p->node), name, &g);
			snprintf(rep->error, sizeof(rep->error), "%.60s holds %.60s at epoch %" PRIu64
			         ", above %" PRIu64, p->name, name, g.epoch, st->epoch);
			return rv;
		}
		if (rv != CSB_OK) {
			snprintf(rep->error, sizeof(rep->error), "%.60s cannot %s %.60s: %s", p->name,
			         st->writable ? "open" : "fence", name, csb_strerror(rv));
			return rv;
		}
		fm->seq = fin.high_seq;
		fm->count = fin.count;
		csb_pb_digest_to_pb(&fin.digest, fm->digest);
	}
	csb_warn("failover", "%s pool=%s data_of=%s epoch=%" PRIu64, st->writable ? "opened" : "fenced",
	         p->name, st->pool, st->epoch);
	crash_point("fence");
	return reply_pack(p, &r, rep);
}

static csb_err promote(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                       csb_rpc_reply *rep)
{
	struct pool *p = ctx;
	const Csb__FailoverStep *st = (const Csb__FailoverStep *)msg;
	struct step_reply r = {.out = CSB__FAILOVER_STEP_REPLY__INIT};
	csb_store *s = csb_node_store(p->node);
	csb_module_info mi;
	csb_cursor cur;
	csb_err rv;

	(void)req;
	if (!is_partner(p, st->pool)) {
		snprintf(rep->error, sizeof(rep->error), "%.60s is not %.60s's backup pool", p->name,
		         st->pool);
		return CSB_ENOTFOUND;
	}
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++) {
		const char *m = csb_modules[i].name;
		const Csb__FailoverModule *want = asked(st, m);
		Csb__FailoverModule *fm;
		csb_digest dg;
		uint64_t high = 0, last_ms = 0;

		if (!fails_over(&csb_modules[i]))
			continue;
		fm = reply_module(&r, m);
		if (csb_store_cursor_get(s, st->pool, m, &cur) != CSB_OK) {
			fm->skipped = true;
			fm->note = "no backup copy here";
			continue;
		}
		if (csb_node_import_facts(p->node, m, &high, &last_ms) && high > cur.applied_seq)
			fm->known_changes = high - cur.applied_seq;
		fm->since_ms = last_ms;
		if (want != NULL && want->digest != NULL)
			csb_pb_digest_from_pb(want->digest, &dg);
		rv = csb_store_promote(s, st->pool, m, st->epoch,
		                       want && want->has_seq ? want->seq : UINT64_MAX,
		                       want && want->has_seq && st->verify && want->digest ? &dg : NULL,
		                       &mi);
		if (rv == CSB_ESEQ)
			snprintf(rep->error, sizeof(rep->error), "%.50s's copy of %.50s's %.40s is at seq %"
			         PRIu64 ", not at the final seq %" PRIu64, p->name, st->pool, m,
			         cur.applied_seq, want ? want->seq : 0);
		else if (rv == CSB_ECORRUPT)
			snprintf(rep->error, sizeof(rep->error), "%.50s's copy of %.50s's %.40s differs from "
			         "it at seq %" PRIu64 " (range digests)", p->name, st->pool, m, cur.applied_seq);
		else if (rv != CSB_OK)
			snprintf(rep->error, sizeof(rep->error), "%.50s cannot serve %.50s's %.40s: %s",
			         p->name, st->pool, m, csb_strerror(rv));
		if (rv != CSB_OK)
			return rv;
		fm->seq = mi.high_seq;
		fm->count = mi.count;
		fm->verified = want && want->has_seq && st->verify;
		csb_pb_digest_to_pb(&mi.digest, fm->digest);
	}
	csb_warn("failover", "promoted pool=%s serves=%s epoch=%" PRIu64, p->name, st->pool,
	         st->epoch);
	crash_point("promote");
	return reply_pack(p, &r, rep);
}

/* Records followed from the serving side since the fork, over every catch-up (a drain by
 * Backup-CsPool -FailedOverPoolOnly -FullBackup, a failback cut short and rerun): meta
 * "followed:<module>" = {fork seq, total}; a new fork starts at 0. */
static uint64_t followed_add(struct pool *p, const char *module, uint64_t fork, uint64_t moved)
{
	csb_store *st = csb_node_store(p->node);
	uint64_t v[2] = {fork, 0};
	char name[96];
	void *got = NULL;
	size_t len;

	snprintf(name, sizeof(name), "followed:%s", module);
	if (csb_store_meta_get(st, name, &got, &len) == CSB_OK && len == sizeof(v)) {
		uint64_t old[2];

		memcpy(old, got, sizeof(old));
		if (old[0] == fork)
			v[1] = old[1];
	}
	free(got);
	v[1] += moved;
	if (csb_store_meta_put(st, name, v, sizeof(v)) != CSB_OK)
		csb_warn("failover", "cannot record the records followed pool=%s module=%s", p->name,
		         module);
	return v[1];
}

/* Records of module set aside by every failover and not yet written back. */
static uint64_t orphans_held(struct pool *p, const char *module)
{
	char **sets = NULL;
	size_t n = 0, len = strlen(module);
	uint64_t total = 0;

	if (csb_store_orphan_sets(csb_node_store(p->node), &sets, &n) != CSB_OK)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned long long epoch;
		uint64_t count = 0;

		if (strncmp(sets[i], module, len) != 0 || sets[i][len] != ':' ||
		    sscanf(sets[i] + len + 1, "%llu", &epoch) != 1)
			continue;
		if (csb_store_orphans(csb_node_store(p->node), module, epoch, 0, NULL, NULL, &count) ==
		    CSB_OK)
			total += count;
	}
	free(sets);
	return total;
}

static csb_err catchup(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                       csb_rpc_reply *rep)
{
	struct pool *p = ctx;
	const Csb__FailoverStep *st = (const Csb__FailoverStep *)msg;
	struct step_reply r = {.out = CSB__FAILOVER_STEP_REPLY__INIT};
	uint64_t deadline = csb_mono_ms() + (st->timeout_ms ? st->timeout_ms : 15000);
	csb_node_follow_result fr;
	csb_guard g;
	csb_err rv;

	if (strcasecmp(st->pool, p->name) != 0) {
		snprintf(rep->error, sizeof(rep->error), "%.60s follows only its own data, not "
		         "%.60s's", p->name, st->pool);
		return CSB_EINVAL;
	}
	if (deadline > req->deadline_mono_ms)
		deadline = req->deadline_mono_ms;
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++) {
		const char *m = csb_modules[i].name;
		const Csb__FailoverModule *want = asked(st, m);
		Csb__FailoverModule *fm;
		csb_digest dg;

		if (!fails_over(&csb_modules[i]))
			continue;
		fm = reply_module(&r, m);
		if (want == NULL || want->skipped) {
			fm->skipped = true;
			fm->note = "not served by the backup pool";
			continue;
		}
		if (csb_store_guard_get(csb_node_store(p->node), m, &g) != CSB_OK || g.writable) {
			snprintf(rep->error, sizeof(rep->error), "%.60s's %.60s is not fenced: it cannot "
			         "follow", p->name, m);
			return CSB_EBUSY;
		}
		rv = csb_node_follow(p->node, m, st->restore ? 0 : want->fork_seq, st->epoch,
		                     want->has_seq ? want->seq : UINT64_MAX, deadline, &fr, rep->error);
		if (rv != CSB_OK)
			return rv;
		fm->seq = fr.seq;
		fm->count = fr.count;
		fm->records_moved = followed_add(p, m, st->restore ? 0 : want->fork_seq, fr.moved);
		fm->orphans = orphans_held(p, m);
		csb_pb_digest_to_pb(&fr.digest, fm->digest);
		if (st->verify && want->has_seq && want->digest != NULL) {
			csb_pb_digest_from_pb(want->digest, &dg);
			if (dg.lo != fr.digest.lo || dg.hi != fr.digest.hi) {
				snprintf(rep->error, sizeof(rep->error), "%.60s's %.40s differs from the data "
				         "its backup pool served at seq %" PRIu64 " (range digests)", p->name,
				         m, fr.seq);
				return CSB_ECORRUPT;
			}
			fm->verified = true;
		}
	}
	csb_warn("failover", "caught up pool=%s epoch=%" PRIu64, p->name, st->epoch);
	crash_point("catchup");
	return reply_pack(p, &r, rep);
}

static csb_err retire(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                      csb_rpc_reply *rep)
{
	struct pool *p = ctx;
	const Csb__FailoverStep *st = (const Csb__FailoverStep *)msg;
	struct step_reply r = {.out = CSB__FAILOVER_STEP_REPLY__INIT};
	csb_lineage l;
	csb_cursor cur;
	csb_err rv;

	(void)req;
	if (st->lineage.len != CSB_LINEAGE_LEN) {
		snprintf(rep->error, sizeof(rep->error), "no lineage of the primary given");
		return CSB_EINVAL;
	}
	memcpy(l.b, st->lineage.data, CSB_LINEAGE_LEN);
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++) {
		const char *m = csb_modules[i].name;
		Csb__FailoverModule *fm;
		uint64_t moved = 0;

		if (!fails_over(&csb_modules[i]))
			continue;
		fm = reply_module(&r, m);
		if (csb_store_cursor_get(csb_node_store(p->node), st->pool, m, &cur) != CSB_OK) {
			fm->skipped = true;
			fm->note = "no backup copy here";
			continue;
		}
		rv = csb_store_fold(csb_node_store(p->node), st->pool, m, &l, &moved, &cur);
		if (rv != CSB_OK) {
			snprintf(rep->error, sizeof(rep->error), "%.60s cannot turn %.60s's %.40s back into "
			         "its backup copy: %s", p->name, st->pool, m, csb_strerror(rv));
			return rv;
		}
		fm->seq = cur.applied_seq;
		fm->count = cur.count;
		fm->records_moved = moved;
		csb_pb_digest_to_pb(&cur.digest, fm->digest);
	}
	csb_warn("failover", "retired pool=%s served_for=%s epoch=%" PRIu64, p->name, st->pool,
	         st->epoch);
	crash_point("retire");
	return reply_pack(p, &r, rep);
}

/* ---- The role of a restarted agent ---------------------------------------------------- */

static csb_err role(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                    csb_rpc_reply *rep)
{
	struct pool *p = ctx;
	const Csb__RoleRequest *rr = (const Csb__RoleRequest *)msg;
	Csb__RoleReply out = CSB__ROLE_REPLY__INIT;
	csb_cms_view v = pool__replica_view(p);
	csb_pool_entry e;
	csb_err rv;

	(void)req;
	if ((rv = csb_cms_pool_entry(&v, rr->pool, &e, rep->error)) != CSB_OK)
		return rv;
	if ((out.entry_json = csb_pool_entry_to_json(&e)) == NULL)
		return CSB_ENOMEM;
	out.current = csb_node_replica_current(p->node);
	rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
	free(out.entry_json);
	return rv;
}

/* Role: an administrator, or the pool asking about itself. */
static bool role_rule(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                      char err[CSB_RPC_ERROR_MAX])
{
	const Csb__RoleRequest *rr = (const Csb__RoleRequest *)msg;

	if (strcasecmp(req->principal, rr->pool) == 0)
		return true;
	return pool__admin_only(ctx, req, msg, err);
}

bool pool__role_confirmed(struct pool *p, uint32_t wait_ms)
{
	uint64_t until = csb_mono_ms() + wait_ms;
	bool yes;

	pthread_mutex_lock(&p->mu);
	while (!(yes = p->confirmed) && csb_mono_ms() < until) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->confirm_cv, &p->mu, &ts);
	}
	pthread_mutex_unlock(&p->mu);
	return yes;
}

void pool__confirm(struct pool *p, const char *by)
{
	bool was;

	pthread_mutex_lock(&p->mu);
	was = p->confirmed;
	p->confirmed = true;
	pthread_cond_broadcast(&p->confirm_cv);
	pthread_mutex_unlock(&p->mu);
	if (!was)
		csb_info("failover", "role confirmed pool=%s by=%s", p->name, by);
}

/* Asks the partner what its CMS replica says about this pool (coordinator away). */
static bool confirm_by_partner(struct pool *p)
{
	Csb__RoleRequest rq = CSB__ROLE_REQUEST__INIT;
	Csb__RoleReply *out = NULL;
	char err[CSB_RPC_ERROR_MAX];
	csb_pool_entry e;
	bool ok = false;

	rq.pool = p->name;
	if (csb_node_partner_call(p->node, "csb.Failover/Role", &rq.base, &csb__role_reply__descriptor,
	                          3000, (ProtobufCMessage **)&out, err) != CSB_OK)
		return false;
	if (out->current &&
	    csb_pool_entry_parse(out->entry_json, strlen(out->entry_json), &e, err, sizeof(err)) ==
	            CSB_OK) {
		pool__apply_pool_entry(p, &e);
		ok = true;
	}
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return ok;
}

static void *confirm_main(void *arg)
{
	struct pool *p = arg;

	while (!atomic_load(&p->stopping) && !pool__role_confirmed(p, 0)) {
		if (csb_node_replica_current(p->node))
			pool__replica_changed(p); /* confirms */
		else if (confirm_by_partner(p))
			pool__confirm(p, "partner");
		for (int i = 0; i < CONFIRM_POLL_MS / 50 && !atomic_load(&p->stopping) &&
		                !pool__role_confirmed(p, 0); i++)
			csb_sleep_ms(50);
	}
	return NULL;
}

csb_err pool__confirm_start(struct pool *p)
{
	if (p->confirmed)
		return CSB_OK;
	if (pthread_create(&p->confirmer, NULL, confirm_main, p) != 0)
		return CSB_ENOMEM;
	p->confirmer_started = true;
	return CSB_OK;
}

void pool__confirm_stop(struct pool *p)
{
	atomic_store(&p->stopping, true);
	if (p->confirmer_started)
		pthread_join(p->confirmer, NULL);
	p->confirmer_started = false;
}

size_t pool__failover_methods(struct pool *p, csb_rpc_method *out)
{
	out[0] = (csb_rpc_method){"csb.Failover/Fence", NULL, p, &csb__failover_step__descriptor,
	                          fence, pool__admin_only};
	out[1] = (csb_rpc_method){"csb.Failover/Promote", NULL, p, &csb__failover_step__descriptor,
	                          promote, pool__admin_only};
	out[2] = (csb_rpc_method){"csb.Failover/Catchup", NULL, p, &csb__failover_step__descriptor,
	                          catchup, pool__admin_only};
	out[3] = (csb_rpc_method){"csb.Failover/Retire", NULL, p, &csb__failover_step__descriptor,
	                          retire, pool__admin_only};
	out[4] = (csb_rpc_method){"csb.Failover/Role", NULL, p, &csb__role_request__descriptor,
	                          role, role_rule};
	return 5;
}
