/* Invoke-CsPoolFailover and Invoke-CsPoolFailback (SPEC.md §4, DESIGN.md §4,
 * notes/failover.md §3.4–3.7). The coordinator is the one authority: it records each
 * transition in the CMS first (state, raised epoch, the step done), then asks the agents for
 * the step, each idempotent, so a rerun after a crash of any process resumes after the last
 * step recorded. The commit points are the backup pool's promotion (failover) and the failed
 * pool's opening (failback); before them a failure aborts to where the pool was, at a new
 * epoch (an epoch is never reused).
 *
 *   F1 FailingOver, epoch+1   F2 fence P1 (its final positions)   F3 drain P1 → P2
 *   F5 P2 promotes its copy (checks cursor = final and the digests) F6 FailedOver, served by P2
 *   B1 FailingBack, epoch+1   B2 fence P1 and P2's served data (the final positions)
 *   B3 P1 sets aside writes past the fork and follows P2 to the final positions (digests)
 *   B5 P1 opens (primary)     B6 P2 folds the served data into its copy; Normal
 *
 * CSB_CRASH_AT=<op>:<step> (failover:F1 … failback:B6, after the step is recorded) makes
 * the coordinator exit there, for the kill-point tests. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/modules.h"
#include "common/wire.h"
#include "coordinator/internal/coord.h"
#include "proto/failover.pb-c.h"
#include "proto/status.pb-c.h"

#define FAILOVER_WAIT_DEFAULT_MS 60000
#define FAILBACK_WAIT_DEFAULT_MS 15000
#define FENCE_TIMEOUT_MS 10000
#define DISASTER_FENCE_TIMEOUT_MS 3000
#define PROMOTE_TIMEOUT_MS 300000 /* a promotion copies the backup copy once */

struct run {
	struct coord *c;
	const Csb__FailoverRequest *rq;
	char pool[254], backup[254];
	csb_pool_entry e;
	uint64_t t0;
	Csb__FailoverReply *out;
	Csb__FailoverModule mods[CSB_MODULE_COUNT], *ptrs[CSB_MODULE_COUNT];
	char lin[CSB_MODULE_COUNT][33];
	csb_rpc_reply *rep;
};

/* A one-line message, cut at len (messages quote the agents' own, which may be long). */
static void say(char *dst, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

void coord__crash_point(const char *op, const char *step)
{
	const char *at = getenv("CSB_CRASH_AT");
	char want[32];

	snprintf(want, sizeof(want), "%s:%s", op, step);
	if (at != NULL && strcmp(at, want) == 0) {
		csb_warn("failover", "crash point reached at=%s", want);
		_exit(9);
	}
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void unhex(const char *h, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n && h[2 * i] && h[2 * i + 1]; i++) {
		unsigned v;

		if (sscanf(h + 2 * i, "%2x", &v) == 1)
			out[i] = (uint8_t)v;
	}
}

static csb_err entry_get(struct run *r)
{
	csb_cms_view v = {coord__cms_get, r->c, "published"};

	return csb_cms_pool_entry(&v, r->pool, &r->e, r->rep->error);
}

/* Records the entry (state, epoch, step) in the CMS, and logs the transition once. */
static csb_err entry_put(struct run *r, const char *step)
{
	char key[300], *json;
	const char *keys[1], *vals[1];
	csb_err rv;

	snprintf(r->e.step, sizeof(r->e.step), "%s", step);
	r->e.since_ms = csb_now_ms();
	if ((json = csb_pool_entry_to_json(&r->e)) == NULL)
		return CSB_ENOMEM;
	snprintf(key, sizeof(key), "%s%s", CSB_CMS_KEY_POOLSTATE, r->pool);
	keys[0] = key;
	vals[0] = json;
	rv = coord__put(r->c, keys, vals, 1);
	free(json);
	if (rv != CSB_OK) {
		say(r->rep->error, CSB_RPC_ERROR_MAX, "recording %.100s as %s failed: %s",
		         r->pool, csb_pool_state_name(r->e.state), csb_strerror(rv));
		return rv;
	}
	csb_warn("failover", "pool=%s state=%s epoch=%" PRIu64 " step=%s served_by=%s", r->pool,
	         csb_pool_state_name(r->e.state), r->e.epoch, step, r->e.served_by);
	return CSB_OK;
}

static csb_err step_send(struct run *r, const char *target, const char *method,
                         Csb__FailoverStep *st, uint32_t timeout_ms, Csb__FailoverStepReply **out,
                         char *err)
{
	return coord__call_agent(r->c, target, method, &st->base, &csb__failover_step_reply__descriptor,
	                         timeout_ms, (ProtobufCMessage **)out, NULL, err);
}

/* A step at target bounded by def_ms, or by -DatabaseCommandTimeoutInSeconds when given (the
 * drain and the catch-up are -WaitTime's). A step that used up that bound says so. */
static csb_err step_call(struct run *r, const char *target, const char *method,
                         Csb__FailoverStep *st, uint32_t def_ms, Csb__FailoverStepReply **out,
                         char *err)
{
	uint32_t s = r->rq->step_timeout_s, ms = s != 0 ? s * 1000u : def_ms;
	uint64_t t0 = csb_mono_ms();
	csb_err rv = step_send(r, target, method, st, ms, out, err);

	if (rv == CSB_EUNREACH && s != 0 && csb_mono_ms() - t0 >= ms)
		say(err, CSB_RPC_ERROR_MAX, "the agent of %.100s did not answer within %" PRIu32 " s "
		    "(-DatabaseCommandTimeoutInSeconds)", target, s);
	return rv;
}

static const Csb__FailoverModule *reply_mod(const Csb__FailoverStepReply *sr, const char *m)
{
	for (size_t i = 0; sr != NULL && i < sr->n_modules; i++)
		if (strcasecmp(sr->modules[i]->identity, m) == 0)
			return sr->modules[i];
	return NULL;
}

/* The request modules of a step: the final positions of fin (a Fence or Catchup reply). */
struct step_mods {
	Csb__FailoverModule m[CSB_MODULE_COUNT], *p[CSB_MODULE_COUNT];
	Csb__Digest dg[CSB_MODULE_COUNT];
};

static void step_modules(Csb__FailoverStep *st, struct step_mods *sm,
                         const Csb__FailoverStepReply *fin, const csb_pool_entry *e)
{
	size_t n = 0;

	for (size_t i = 0; i < CSB_MODULE_COUNT; i++) {
		const char *name = csb_modules[i].name;
		const Csb__FailoverModule *f = reply_mod(fin, name);
		csb_pool_module *pm = NULL;

		if (csb_modules[i].category == CSB_CAT_CMS)
			continue;
		csb__failover_module__init(&sm->m[n]);
		sm->m[n].identity = (char *)name;
		if (f != NULL && !f->skipped) {
			sm->m[n].has_seq = true;
			sm->m[n].seq = f->seq;
			if (f->digest != NULL) {
				sm->dg[n] = *f->digest;
				sm->m[n].digest = &sm->dg[n];
			}
		} else if (f != NULL) {
			sm->m[n].skipped = true;
		}
		for (size_t j = 0; e != NULL && j < e->n_modules; j++)
			if (strcasecmp(e->modules[j].identity, name) == 0)
				pm = (csb_pool_module *)&e->modules[j];
		if (pm != NULL)
			sm->m[n].fork_seq = pm->fork_seq;
		else if (e != NULL && e->n_modules > 0)
			sm->m[n].skipped = true; /* not served by the backup pool */
		sm->p[n] = &sm->m[n];
		n++;
	}
	st->modules = sm->p;
	st->n_modules = n;
}

static Csb__FailoverModule *out_mod(struct run *r, const char *identity)
{
	for (size_t i = 0; i < r->out->n_modules; i++)
		if (strcasecmp(r->mods[i].identity, identity) == 0)
			return &r->mods[i];
	if (r->out->n_modules == CSB_MODULE_COUNT)
		return NULL;
	csb__failover_module__init(&r->mods[r->out->n_modules]);
	r->mods[r->out->n_modules].identity = (char *)csb_module_find(identity)->name;
	r->ptrs[r->out->n_modules] = &r->mods[r->out->n_modules];
	r->out->modules = r->ptrs;
	return &r->mods[r->out->n_modules++];
}

/* Before the commit point: back to where the pool was, at a new epoch. */
static csb_err abort_to(struct run *r, csb_pool_state back, const char *served_by, csb_err why,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static csb_err abort_to(struct run *r, csb_pool_state back, const char *served_by, csb_err why,
                        const char *fmt, ...)
{
	char msg[CSB_RPC_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->e.state = back;
	r->e.epoch++;
	snprintf(r->e.served_by, sizeof(r->e.served_by), "%s", served_by);
	if (entry_put(r, "abort") == CSB_OK)
		say(r->rep->error, CSB_RPC_ERROR_MAX, "%s", msg);
	return why == CSB_OK ? CSB_EINTERNAL : why;
}

/* Opens target's data of r->pool again at the current epoch (an abort's undo of a fence). */
static void reopen(struct run *r, const char *target)
{
	Csb__FailoverStep st = CSB__FAILOVER_STEP__INIT;
	Csb__FailoverStepReply *sr = NULL;
	char err[CSB_RPC_ERROR_MAX];

	st.pool = r->pool;
	st.epoch = r->e.epoch;
	st.writable = true;
	if (step_call(r, target, "csb.Failover/Fence", &st, FENCE_TIMEOUT_MS, &sr, err) == CSB_OK)
		protobuf_c_message_free_unpacked(&sr->base, NULL);
	else
		csb_warn("failover", "cannot reopen pool=%s data_of=%s err=\"%s\"", target, r->pool, err);
}

/* ---- Failover ------------------------------------------------------------------------- */

/* F3: P1's exports drained to FinalState: P2 has imported every change P1 made (its final
 * positions), proven by P2's cursor, not by time. */
static csb_err drain(struct run *r, uint32_t wait_ms, char *err)
{
	Csb__SyncRequest sq = CSB__SYNC_REQUEST__INIT;
	Csb__SyncReply *out = NULL;
	csb_err rv;

	sq.timeout_ms = wait_ms;
	rv = coord__call_agent(r->c, r->pool, "csb.Control/SyncNow", &sq.base,
	                       &csb__sync_reply__descriptor, wait_ms + 5000, (ProtobufCMessage **)&out,
	                       NULL, err);
	if (rv != CSB_OK)
		return rv;
	for (size_t i = 0; i < out->n_modules; i++) {
		Csb__FailoverModule *fm = out_mod(r, out->modules[i]->identity);

		if (fm != NULL)
			fm->records_moved = out->modules[i]->records;
	}
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return CSB_OK;
}

static csb_err do_failover(struct run *r)
{
	const Csb__FailoverRequest *rq = r->rq;
	bool disaster = rq->disaster || r->e.disaster;
	uint32_t wait_ms = rq->wait_ms ? rq->wait_ms : FAILOVER_WAIT_DEFAULT_MS;
	Csb__FailoverStep st = CSB__FAILOVER_STEP__INIT;
	Csb__FailoverStepReply *fin = NULL, *pro = NULL;
	struct step_mods sm;
	char err[CSB_RPC_ERROR_MAX] = "";
	uint64_t t_intent = csb_mono_ms();
	csb_err rv;

	if (r->e.state == CSB_POOL_NORMAL || r->e.state == CSB_POOL_NEEDS_RESTORE) {
		r->e.restore = r->e.state == CSB_POOL_NEEDS_RESTORE;
		r->e.state = CSB_POOL_FAILING_OVER;
		r->e.epoch++;
		r->e.disaster = disaster;
		r->e.n_modules = 0;
		if ((rv = entry_put(r, "F1")) != CSB_OK)
			return rv;
		coord__crash_point("failover", "F1");
	}
	/* F2: fence P1; a lost pool cannot be asked (its writes past the fork come back as
	 * orphans when it returns). */
	st.pool = r->pool;
	st.epoch = r->e.epoch;
	rv = step_call(r, r->pool, "csb.Failover/Fence", &st,
	               disaster ? DISASTER_FENCE_TIMEOUT_MS : FENCE_TIMEOUT_MS, &fin, err);
	if (rv != CSB_OK && !disaster) {
		if (rv != CSB_EUNREACH)
			reopen(r, r->pool);
		return abort_to(r, r->e.restore ? CSB_POOL_NEEDS_RESTORE : CSB_POOL_NORMAL, r->pool, rv,
		                "%.120s; %.60s stays where it was (use -DisasterMode if it is lost)",
		                err, r->pool);
	}
	if (rv != CSB_OK) {
		/* Not fenced: wait until its write lease has run out (it hears neither the
		 * coordinator, which says FailingOver now, nor its partner agreeing it is home), so
		 * that it cannot acknowledge a write once the backup pool serves its users. */
		uint64_t until = t_intent + CSB_LEASE_MS + CSB_LEASE_DRIFT_MS;

		csb_warn("failover", "disaster mode: not fenced pool=%s err=\"%s\"; waiting out its "
		         "lease ms=%" PRIu64, r->pool, err,
		         until > csb_mono_ms() ? until - csb_mono_ms() : 0);
		while (csb_mono_ms() < until)
			csb_sleep_ms(until - csb_mono_ms() < 100 ? until - csb_mono_ms() : 100);
	}
	if ((rv = entry_put(r, "F2")) != CSB_OK)
		goto out;
	coord__crash_point("failover", "F2");
	/* F3: drain to FinalState, bounded by -WaitTime. */
	if (fin != NULL && !disaster) {
		if ((rv = drain(r, wait_ms, err)) != CSB_OK) {
			reopen(r, r->pool);
			rv = abort_to(r, r->e.restore ? CSB_POOL_NEEDS_RESTORE : CSB_POOL_NORMAL, r->pool,
			              CSB_EBUSY, "%.140s; %.60s is %s again (epoch %" PRIu64 ")", err, r->pool,
			              r->e.restore ? "NeedsRestore" : "Normal", r->e.epoch + 1);
			goto out;
		}
		if ((rv = entry_put(r, "F3")) != CSB_OK)
			goto out;
		coord__crash_point("failover", "F3");
	}
	/* F4 + F5: P2 checks its cursor against the final positions and the digests, and
	 * promotes its copy: the commit point. */
	step_modules(&st, &sm, disaster ? NULL : fin, NULL);
	st.verify = !disaster && !rq->skip_verify;
	rv = step_call(r, r->backup, "csb.Failover/Promote", &st, PROMOTE_TIMEOUT_MS, &pro, err);
	if (rv != CSB_OK) {
		if (!disaster) {
			reopen(r, r->pool);
			rv = abort_to(r, r->e.restore ? CSB_POOL_NEEDS_RESTORE : CSB_POOL_NORMAL, r->pool, rv,
			              "%.160s; %.60s is %s again", err, r->pool,
			              r->e.restore ? "NeedsRestore" : "Normal");
		} else {
			say(r->rep->error, CSB_RPC_ERROR_MAX, "%.160s; %.60s stays FailingOver: "
			         "run the cmdlet again", err, r->pool);
		}
		goto out;
	}
	coord__crash_point("failover", "F5");
	/* F6: the users are served by P2 from here on. */
	r->e.state = CSB_POOL_FAILED_OVER;
	snprintf(r->e.served_by, sizeof(r->e.served_by), "%s", r->backup);
	r->e.reason[0] = '\0';
	for (size_t i = 0; i < pro->n_modules; i++) {
		const Csb__FailoverModule *pm = pro->modules[i];
		Csb__FailoverModule *fm = out_mod(r, pm->identity);
		csb_pool_module *em;

		if (pm->skipped || fm == NULL || (em = csb_pool_entry_module(&r->e, pm->identity)) == NULL)
			continue;
		em->fork_seq = pm->seq;
		em->known_changes = disaster ? pm->known_changes : 0;
		em->since_ms = pm->since_ms;
		em->records_moved = fm->records_moved;
		em->orphans = 0;
		if (pro->lineage.len == 16)
			hex(pro->lineage.data, 16, em->lineage);
		fm->seq = pm->seq;
		fm->verified = pm->verified;
		fm->known_changes = em->known_changes;
		fm->since_ms = pm->since_ms;
	}
	if ((rv = entry_put(r, "F6")) != CSB_OK)
		goto out;
	coord__crash_point("failover", "F6");
out:
	if (fin != NULL)
		protobuf_c_message_free_unpacked(&fin->base, NULL);
	if (pro != NULL)
		protobuf_c_message_free_unpacked(&pro->base, NULL);
	return rv;
}

/* ---- Failback ------------------------------------------------------------------------- */

static csb_err do_failback(struct run *r)
{
	const Csb__FailoverRequest *rq = r->rq;
	uint32_t wait_ms = rq->wait_ms ? rq->wait_ms : FAILBACK_WAIT_DEFAULT_MS;
	Csb__FailoverStep st = CSB__FAILOVER_STEP__INIT;
	Csb__FailoverStepReply *fin = NULL, *own = NULL, *cu = NULL, *open = NULL, *ret = NULL;
	struct step_mods sm;
	char err[CSB_RPC_ERROR_MAX] = "";
	bool opened;
	csb_err rv;

	if (r->e.state == CSB_POOL_FAILED_OVER) {
		r->e.state = CSB_POOL_FAILING_BACK;
		r->e.epoch++;
		r->e.disaster = rq->disaster;
		if ((rv = entry_put(r, "B1")) != CSB_OK)
			return rv;
		coord__crash_point("failback", "B1");
	}
	opened = strcmp(r->e.step, "B5") >= 0 && r->e.step[0] == 'B';
	st.pool = r->pool;
	st.epoch = r->e.epoch;
	if (!opened) {
		/* B2: P1 fenced (it may have come back writable after a -DisasterMode failover),
		 * then the served data: its final positions. */
		rv = step_call(r, r->pool, "csb.Failover/Fence", &st, FENCE_TIMEOUT_MS, &own, err);
		if (rv != CSB_OK) {
			rv = abort_to(r, CSB_POOL_FAILED_OVER, r->backup, rv,
			              "%.160s; %.60s stays failed over", err, r->pool);
			goto out;
		}
		rv = step_call(r, r->backup, "csb.Failover/Fence", &st, FENCE_TIMEOUT_MS, &fin, err);
		if (rv != CSB_OK && !rq->disaster) {
			if (rv != CSB_EUNREACH)
				reopen(r, r->backup);
			rv = abort_to(r, CSB_POOL_FAILED_OVER, r->backup, rv, "%.120s; %.60s stays failed "
			              "over (use -DisasterMode if %.60s is lost)", err, r->pool, r->backup);
			goto out;
		}
		if (rv != CSB_OK) {
			/* The lost backup pool's lease on the users it served must run out first. */
			uint64_t until = csb_mono_ms() + CSB_LEASE_MS + CSB_LEASE_DRIFT_MS;

			csb_warn("failover", "disaster mode: backup pool unreachable pool=%s backup=%s "
			         "err=\"%s\"; waiting out its lease", r->pool, r->backup, err);
			while (csb_mono_ms() < until)
				csb_sleep_ms(100);
			fin = NULL;
		}
		if ((rv = entry_put(r, "B2")) != CSB_OK)
			goto out;
		coord__crash_point("failback", "B2");
		/* B3 + B4: P1 catches up to the final positions and compares digests. */
		if (fin != NULL) {
			step_modules(&st, &sm, fin, &r->e);
			st.verify = !rq->skip_verify;
			st.timeout_ms = wait_ms;
			st.restore = r->e.restore;
			rv = step_send(r, r->pool, "csb.Failover/Catchup", &st, wait_ms + 10000, &cu, err);
			if (rv != CSB_OK) {
				reopen(r, r->backup);
				rv = abort_to(r, CSB_POOL_FAILED_OVER, r->backup, rv,
				              "%.160s; %.60s stays failed over", err, r->pool);
				goto out;
			}
			for (size_t i = 0; i < cu->n_modules; i++) {
				const Csb__FailoverModule *cm = cu->modules[i];
				Csb__FailoverModule *fm;
				csb_pool_module *em;

				if (cm->skipped || (fm = out_mod(r, cm->identity)) == NULL ||
				    (em = csb_pool_entry_module(&r->e, cm->identity)) == NULL)
					continue;
				fm->seq = cm->seq;
				fm->records_moved = cm->records_moved;
				fm->verified = cm->verified;
				fm->orphans = cm->orphans;
				em->records_moved = cm->records_moved;
				em->orphans = cm->orphans;
			}
			if ((rv = entry_put(r, "B3")) != CSB_OK)
				goto out;
			coord__crash_point("failback", "B3");
		}
		/* B5: P1 is the primary again: the commit point. */
		st.n_modules = 0;
		st.writable = true;
		rv = step_call(r, r->pool, "csb.Failover/Fence", &st, FENCE_TIMEOUT_MS, &open, err);
		if (rv != CSB_OK) {
			say(r->rep->error, CSB_RPC_ERROR_MAX, "%.160s; %.60s stays FailingBack: "
			         "run the cmdlet again", err, r->pool);
			goto out;
		}
		for (size_t i = 0; i < r->e.n_modules && open->lineage.len == 16; i++)
			hex(open->lineage.data, 16, r->e.modules[i].lineage);
		if ((rv = entry_put(r, "B5")) != CSB_OK)
			goto out;
		coord__crash_point("failback", "B5");
	}
	/* B6: P2's served data goes back into its copy of P1, which follows P1 by delta. */
	if (!rq->disaster || fin != NULL) {
		csb_lineage l;

		memset(&st, 0, sizeof(st));
		csb__failover_step__init(&st);
		st.pool = r->pool;
		st.epoch = r->e.epoch;
		memset(&l, 0, sizeof(l));
		if (open != NULL && open->lineage.len == CSB_LINEAGE_LEN)
			memcpy(l.b, open->lineage.data, CSB_LINEAGE_LEN);
		else if (r->e.n_modules > 0)
			unhex(r->e.modules[0].lineage, l.b, CSB_LINEAGE_LEN);
		st.lineage.data = l.b;
		st.lineage.len = 16;
		rv = step_call(r, r->backup, "csb.Failover/Retire", &st, PROMOTE_TIMEOUT_MS, &ret, err);
		if (rv != CSB_OK && !rq->disaster) {
			say(r->rep->error, CSB_RPC_ERROR_MAX, "%.160s; %.60s is the primary again "
			         "but %.60s still holds its served data: run the cmdlet again", err, r->pool,
			         r->backup);
			goto out;
		}
	}
	r->e.state = CSB_POOL_NORMAL;
	snprintf(r->e.served_by, sizeof(r->e.served_by), "%s", r->pool);
	r->e.reason[0] = '\0';
	r->e.reported_by[0] = '\0';
	r->e.restore = false;
	rv = entry_put(r, "B6");
	coord__crash_point("failback", "B6");
out:
	if (fin != NULL)
		protobuf_c_message_free_unpacked(&fin->base, NULL);
	if (own != NULL)
		protobuf_c_message_free_unpacked(&own->base, NULL);
	if (cu != NULL)
		protobuf_c_message_free_unpacked(&cu->base, NULL);
	if (open != NULL)
		protobuf_c_message_free_unpacked(&open->base, NULL);
	if (ret != NULL)
		protobuf_c_message_free_unpacked(&ret->base, NULL);
	return rv;
}

/* ---- The cmdlets ------------------------------------------------------------------------ */

static pthread_mutex_t one_at_a_time = PTHREAD_MUTEX_INITIALIZER;

static csb_err refuse(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static csb_err refuse(struct run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->rep->error, CSB_RPC_ERROR_MAX, fmt, ap);
	va_end(ap);
	return CSB_EBUSY;
}

/* F0 / B0: the ordering rules of the original, and what makes the cmdlet a no-op. *noop: the
 * pool already is where the cmdlet takes it. */
static csb_err check(struct run *r, bool *noop)
{
	const Csb__FailoverRequest *rq = r->rq;
	csb_cms_view v = {coord__cms_get, r->c, "published"};
	csb_pool_entry b;
	csb_err rv;

	*noop = false;
	if (r->backup[0] == '\0')
		return refuse(r, "%.100s has no backup pool in the published topology", r->pool);
	if ((rv = csb_cms_pool_entry(&v, r->backup, &b, r->rep->error)) != CSB_OK)
		return rv;
	if (!rq->failback) {
		if (r->e.state == CSB_POOL_FAILED_OVER) {
			*noop = true;
			return CSB_OK;
		}
		if (r->e.state == CSB_POOL_FAILING_BACK)
			return refuse(r, "%.100s is failing back: run Invoke-CsPoolFailback -PoolFqdn %.100s "
			              "again to finish it", r->pool, r->pool);
		if (r->e.state == CSB_POOL_NEEDS_RESTORE && !rq->disaster)
			return refuse(r, "%.100s needs a restore (its store came back empty): fail it over "
			              "with -DisasterMode, then fail it back", r->pool);
		if (b.state != CSB_POOL_NORMAL)
			return refuse(r, "the backup pool %.100s is %s: fail it back first (Invoke-CsPool"
			              "Failback -PoolFqdn %.100s)", r->backup, csb_pool_state_name(b.state),
			              r->backup);
		if (coord__cms_host(r->c, r->pool, (char[254]){0}))
			return refuse(r, "the CMS is hosted on %.100s and was not failed over first "
			              "(Invoke-CsManagementServerFailover)", r->pool);
		return CSB_OK;
	}
	if (r->e.state == CSB_POOL_NORMAL) {
		if (b.state == CSB_POOL_FAILED_OVER || b.state == CSB_POOL_FAILING_BACK)
			return refuse(r, "%.100s is not failed over; it serves %.100s's users: fail back "
			              "%.100s (Invoke-CsPoolFailback -PoolFqdn %.100s)", r->pool, r->backup,
			              r->backup, r->backup);
		if (r->e.epoch == 0)
			return refuse(r, "%.100s is not failed over: there is nothing to fail back", r->pool);
		*noop = true;
		return CSB_OK;
	}
	if (r->e.state == CSB_POOL_FAILING_OVER)
		return refuse(r, "the failover of %.100s did not finish: run Invoke-CsPoolFailover "
		              "-PoolFqdn %.100s again", r->pool, r->pool);
	if (r->e.state == CSB_POOL_NEEDS_RESTORE)
		return refuse(r, "%.100s needs a restore: fail it over with -DisasterMode first", r->pool);
	return CSB_OK;
}

static void what_if(struct run *r, char *note, size_t len)
{
	uint64_t e = r->e.epoch + 1;
	char delay[64] = "";

	if (r->rq->stop_delay_min != 0)
		say(delay, sizeof(delay), "wait %" PRIu32 " min, then ", r->rq->stop_delay_min);
	if (!r->rq->failback)
		say(note, len, "What if: %s%s %.100s, %s%s, then serve its users from %.100s at "
		         "epoch %" PRIu64, delay, r->rq->disaster ? "without asking" : "fence", r->pool,
		         r->rq->disaster ? "promote the backup copy as it is" :
		         "drain its changes to the backup pool until FinalState",
		         r->rq->disaster || r->rq->skip_verify ? "" : ", compare range digests",
		         r->backup, e);
	else
		say(note, len, "What if: fence the data %.100s serves for %.100s, move the changes "
		         "made since the failover back%s, and make %.100s the primary again at epoch %"
		         PRIu64, r->backup, r->pool, r->rq->skip_verify ? "" : ", compare range digests",
		         r->pool, e);
}

static bool coord_stopping(struct coord *c)
{
	bool s;

	pthread_mutex_lock(&c->mu);
	s = c->stopping;
	pthread_mutex_unlock(&c->mu);
	return s;
}

/* -ServicesStopDelayMins: the original waits that long before it stops the pool's services.
 * Here the pool goes on serving its users (Normal, writable) for that long before the
 * failover records FailingOver and fences it; what they write meanwhile is drained as
 * always. The checks are made first (a refusal is immediate) and again after the wait,
 * which holds no lock: other pools' cmdlets go on meanwhile. */
static csb_err stop_delay(struct run *r, char *note, size_t len)
{
	uint64_t until, now;
	bool noop;
	csb_err rv;

	pthread_mutex_lock(&one_at_a_time);
	if ((rv = entry_get(r)) == CSB_OK)
		rv = check(r, &noop);
	pthread_mutex_unlock(&one_at_a_time);
	if (rv != CSB_OK || noop || r->e.state != CSB_POOL_NORMAL)
		return rv;
	csb_warn("failover", "services stop delay pool=%s min=%" PRIu32 ": it serves its users "
	         "until then", r->pool, r->rq->stop_delay_min);
	until = csb_mono_ms() + (uint64_t)r->rq->stop_delay_min * 60000;
	while ((now = csb_mono_ms()) < until) {
		if (coord_stopping(r->c)) {
			say(r->rep->error, CSB_RPC_ERROR_MAX, "the coordinator stopped during "
			    "-ServicesStopDelayMins; %.100s was not failed over", r->pool);
			return CSB_ECLOSED;
		}
		csb_sleep_ms(until - now < 200 ? until - now : 200);
	}
	say(note, len, "%.100s served its users for %" PRIu32 " more min "
	    "(-ServicesStopDelayMins) before it was stopped", r->pool, r->rq->stop_delay_min);
	return CSB_OK;
}

static csb_err failover_handler(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                                csb_rpc_reply *rep)
{
	struct run r = {.c = ctx, .rq = (const Csb__FailoverRequest *)msg, .rep = rep};
	Csb__FailoverReply out = CSB__FAILOVER_REPLY__INIT;
	char note[CSB_RPC_ERROR_MAX] = "";
	bool noop;
	csb_err rv;

	(void)req;
	if (coord__node(r.c, rep) == NULL)
		return CSB_EBUSY;
	r.out = &out;
	r.t0 = csb_mono_ms();
	if ((rv = coord__topology_pool(r.c, r.rq->pool_fqdn, r.pool, r.backup, rep->error)) != CSB_OK)
		return rv;
	if (!r.rq->failback && !r.rq->what_if && r.rq->stop_delay_min != 0 &&
	    (rv = stop_delay(&r, note, sizeof(note))) != CSB_OK)
		return rv;
	pthread_mutex_lock(&one_at_a_time);
	if ((rv = entry_get(&r)) != CSB_OK || (rv = check(&r, &noop)) != CSB_OK)
		goto out;
	if (noop)
		say(note, sizeof(note), "%.100s is already %s (served by %.100s, epoch %" PRIu64 ")",
		         r.pool, csb_pool_state_name(r.e.state), r.e.served_by, r.e.epoch);
	else if (r.rq->what_if)
		what_if(&r, note, sizeof(note));
	else if ((rv = r.rq->failback ? do_failback(&r) : do_failover(&r)) != CSB_OK)
		goto out;
	out.pool_fqdn = r.pool;
	out.backup_pool_fqdn = r.backup;
	out.state = (char *)csb_pool_state_name(r.e.state);
	out.epoch = r.e.epoch;
	out.served_by = r.e.served_by;
	out.millis = csb_mono_ms() - r.t0;
	out.noop = noop || r.rq->what_if;
	out.note = note;
	out.disaster = r.rq->disaster;
	/* The modules that failed over (those the pool's entry records), also for a no-op. */
	{
		Csb__FailoverModule *keep[CSB_MODULE_COUNT];
		size_t k = 0;

		for (size_t i = 0; i < r.e.n_modules && k < CSB_MODULE_COUNT; i++) {
			Csb__FailoverModule *fm = out_mod(&r, r.e.modules[i].identity);

			if (fm == NULL)
				continue;
			if (noop || r.rq->what_if || fm->seq == 0) {
				fm->seq = r.e.modules[i].fork_seq;
				fm->known_changes = r.e.modules[i].known_changes;
				fm->since_ms = r.e.modules[i].since_ms;
			}
			keep[k++] = fm;
		}
		out.modules = keep;
		out.n_modules = k;
		rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
	}
out:
	pthread_mutex_unlock(&one_at_a_time);
	return rv;
}

size_t coord__failover_methods(struct coord *c, csb_rpc_method *out)
{
	out[0] = (csb_rpc_method){"csb.Admin/Failover", NULL, c, &csb__failover_request__descriptor,
	                          failover_handler, coord__admin_rule};
	return 1;
}
