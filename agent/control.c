/* The Control service: status, sync-now (return when the backup pool has imported every
 * change made before the call) and verify (prove this pool's data and its backup copy at
 * the partner equal by digests, online, and name the differing key ranges if not). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/internal/agent.h"
#include "agent/internal/convert.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/wire.h"
#include "proto/status.pb-c.h"
#include "proto/sync.pb-c.h"

#define SYNC_TIMEOUT_DEFAULT_MS 60000
#define VERIFY_FANOUT 16
#define VERIFY_DIFFS_MAX 64

static csb_err control_status(void *ctx, const csb_rpc_request *req, csb_rpc_reply *rep)
{
	struct agent *a = ctx;
	Csb__StatusRequest *sr;
	csb_err rv;

	if ((rv = agent__check_admin(a, req, rep, false)) != CSB_OK)
		return rv;
	if ((rv = agent__unpack(&csb__status_request__descriptor, req, rep, (ProtobufCMessage **)&sr)))
		return rv;
	rv = agent__status_pack(a, sr->category, &rep->body, &rep->body_len);
	if (rv == CSB_EINVAL)
		agent__set_error(rep->error, "unknown category %s", sr->category);
	protobuf_c_message_free_unpacked(&sr->base, NULL);
	return rv;
}

/* Waits until the importer has acknowledged seq `target` of em, or the deadline. */
static csb_err wait_acked(struct agent *a, struct export_mod *em, uint64_t target,
                          uint64_t deadline)
{
	csb_err rv = CSB_OK;

	pthread_mutex_lock(&a->mu);
	while (!(em->pulled && em->acked_seq >= target)) {
		if (atomic_load(&a->stopping)) {
			rv = CSB_ECLOSED;
			break;
		}
		if (csb_mono_ms() >= deadline) {
			rv = CSB_ETIMEDOUT;
			break;
		}
		agent__cond_wait_until(&a->changed, &a->mu, deadline);
	}
	pthread_mutex_unlock(&a->mu);
	return rv;
}

static csb_err sync_module(struct agent *a, struct export_mod *em, uint64_t deadline,
                           Csb__ModuleSync *out, char *err)
{
	uint64_t t0 = csb_mono_ms(), rec0, bytes0;
	csb_module_info mi;
	csb_err rv;

	if ((rv = csb_store_module_info(a->store, NULL, em->module, &mi)) != CSB_OK)
		return rv;
	pthread_mutex_lock(&a->mu);
	rec0 = em->records_total;
	bytes0 = em->bytes_total;
	pthread_mutex_unlock(&a->mu);
	if (mi.high_seq > 0 && (rv = wait_acked(a, em, mi.high_seq, deadline)) != CSB_OK) {
		agent__set_error(err, "the backup pool has not imported %s up to seq %" PRIu64 " (%s)",
		                 em->module, mi.high_seq, csb_strerror(rv));
		return rv == CSB_ETIMEDOUT ? CSB_EUNREACH : rv;
	}
	csb__module_sync__init(out);
	out->identity = (char *)em->module;
	pthread_mutex_lock(&a->mu);
	out->records = em->records_total - rec0;
	out->bytes = em->bytes_total - bytes0;
	out->imported_seq = em->acked_seq;
	pthread_mutex_unlock(&a->mu);
	out->millis = csb_mono_ms() - t0;
	return CSB_OK;
}

static csb_err control_sync_now(void *ctx, const csb_rpc_request *req, csb_rpc_reply *rep)
{
	struct agent *a = ctx;
	Csb__SyncRequest *sr;
	Csb__SyncReply out = CSB__SYNC_REPLY__INIT;
	Csb__ModuleSync ms[CSB_MODULE_COUNT], *msp[CSB_MODULE_COUNT];
	uint64_t deadline;
	csb_err rv = CSB_OK;

	if ((rv = agent__check_admin(a, req, rep, false)) != CSB_OK)
		return rv;
	if ((rv = agent__unpack(&csb__sync_request__descriptor, req, rep, (ProtobufCMessage **)&sr)))
		return rv;
	if (sr->module[0] != '\0' && agent__export(a, sr->module) == NULL) {
		agent__set_error(rep->error, "unknown module %s", sr->module);
		rv = CSB_ENOTFOUND;
		goto out_free_req;
	}
	deadline = csb_mono_ms() + (sr->timeout_ms ? sr->timeout_ms : SYNC_TIMEOUT_DEFAULT_MS);
	if (deadline > req->deadline_mono_ms)
		deadline = req->deadline_mono_ms;
	for (size_t i = 0; i < CSB_MODULE_COUNT && rv == CSB_OK; i++) {
		struct export_mod *em = &a->exp[i];

		if (em->module == NULL || (sr->module[0] && strcasecmp(sr->module, em->module) != 0))
			continue;
		if ((rv = sync_module(a, em, deadline, &ms[out.n_modules], rep->error)) == CSB_OK) {
			msp[out.n_modules] = &ms[out.n_modules];
			out.n_modules++;
		}
	}
	out.modules = msp;
	if (rv == CSB_OK)
		rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
out_free_req:
	protobuf_c_message_free_unpacked(&sr->base, NULL);
	return rv;
}

/* The partner's digests of its copy of our module over ranges; *seq gets its applied seq. */
static csb_err copy_digests(struct agent *a, const char *module, const csb_range *ranges, size_t n,
                            csb_digest *dg, uint64_t *counts, uint64_t *seq, char *err)
{
	Csb__DigestRequest dr = CSB__DIGEST_REQUEST__INIT;
	Csb__KeyRange *kr = calloc(n, sizeof(*kr));
	Csb__KeyRange **krp = calloc(n, sizeof(*krp));
	Csb__DigestReply *out = NULL;
	csb_err rv = CSB_ENOMEM;

	if (kr == NULL || krp == NULL)
		goto out_free;
	for (size_t i = 0; i < n; i++) {
		agent__range_to_pb(&ranges[i], &kr[i]);
		krp[i] = &kr[i];
	}
	dr.source = a->pool;
	dr.module = (char *)module;
	dr.from_copy = true;
	dr.n_ranges = n;
	dr.ranges = krp;
	pthread_rwlock_rdlock(&a->plock);
	if (a->partner_cli == NULL) {
		agent__set_error(err, "%s has no backup pool", a->pool);
		rv = CSB_ENOTFOUND;
	} else {
		rv = csb_rpc_call_msg(a->partner_cli, "csb.Sync/DigestRanges", &dr.base,
		                      &csb__digest_reply__descriptor, 30000, (ProtobufCMessage **)&out,
		                      err);
	}
	pthread_rwlock_unlock(&a->plock);
	if (rv != CSB_OK)
		goto out_free;
	if (out->n_digests != n || out->n_counts != n) {
		agent__set_error(err, "partner answered %zu digests for %zu ranges", out->n_digests, n);
		rv = CSB_EPROTO;
		goto out_free;
	}
	for (size_t i = 0; i < n; i++) {
		agent__digest_from_pb(out->digests[i], &dg[i]);
		counts[i] = out->counts[i];
	}
	*seq = out->high_seq;
out_free:
	if (out != NULL)
		protobuf_c_message_free_unpacked(&out->base, NULL);
	free(kr);
	free(krp);
	return rv;
}

static void add_diff(Csb__ModuleVerify *mv, const csb_split_part *p, uint64_t backup_count)
{
	Csb__RangeDiff *d;
	Csb__KeyRangeText *kr;

	if (mv->n_diffs >= VERIFY_DIFFS_MAX || (d = calloc(1, sizeof(*d))) == NULL)
		return;
	if ((kr = calloc(1, sizeof(*kr))) == NULL) {
		free(d);
		return;
	}
	csb__range_diff__init(d);
	csb__key_range_text__init(kr);
	kr->lo_open = p->lo == NULL;
	kr->hi_open = p->hi == NULL;
	kr->lo.len = p->lo_len;
	kr->lo.data = p->lo_len ? malloc(p->lo_len) : NULL;
	if (kr->lo.data)
		memcpy(kr->lo.data, p->lo, p->lo_len);
	kr->hi.len = p->hi_len;
	kr->hi.data = p->hi_len ? malloc(p->hi_len) : NULL;
	if (kr->hi.data)
		memcpy(kr->hi.data, p->hi, p->hi_len);
	d->range = kr;
	d->primary_count = p->count;
	d->backup_count = backup_count;
	mv->diffs[mv->n_diffs++] = d;
}

/* Narrows a differing range down: splits ours, compares each part with the partner's copy,
 * and records the parts that differ once they are small (or the depth runs out). */
static csb_err find_diffs(struct agent *a, const char *module, const csb_range *r, unsigned depth,
                          Csb__ModuleVerify *mv, char *err)
{
	csb_split sp = {0};
	csb_range *ranges = NULL;
	csb_digest *dg = NULL;
	uint64_t *counts = NULL, seq;
	csb_err rv;

	if ((rv = csb_store_digest_split(a->store, NULL, module, r, VERIFY_FANOUT, &sp)) != CSB_OK)
		return rv;
	ranges = calloc(sp.count, sizeof(*ranges));
	dg = calloc(sp.count, sizeof(*dg));
	counts = calloc(sp.count, sizeof(*counts));
	if (!ranges || !dg || !counts) {
		rv = CSB_ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < sp.count; i++)
		ranges[i] = (csb_range){sp.parts[i].lo, sp.parts[i].lo_len, sp.parts[i].hi,
		                        sp.parts[i].hi_len};
	if ((rv = copy_digests(a, module, ranges, sp.count, dg, counts, &seq, err)) != CSB_OK)
		goto out_free;
	for (size_t i = 0; i < sp.count && rv == CSB_OK; i++) {
		const csb_split_part *p = &sp.parts[i];

		if (p->digest.lo == dg[i].lo && p->digest.hi == dg[i].hi && p->count == counts[i])
			continue;
		if (p->count <= 64 || sp.count == 1 || depth >= 4)
			add_diff(mv, p, counts[i]);
		else
			rv = find_diffs(a, module, &ranges[i], depth + 1, mv, err);
	}
out_free:
	free(ranges);
	free(dg);
	free(counts);
	csb_split_clear(&sp);
	return rv;
}

/* Compares at one seq: waits until the partner has imported our high seq, then compares
 * whole-module digests; retries when writes moved either side in between. */
static csb_err verify_module(struct agent *a, struct export_mod *em, uint64_t deadline,
                             Csb__ModuleVerify *mv, char *err)
{
	static const csb_range all = {0};
	csb_module_info mi;
	csb_digest theirs;
	uint64_t their_count, their_seq;
	csb_err rv;

	mv->identity = (char *)em->module;
	for (unsigned attempt = 0;; attempt++) {
		if ((rv = csb_store_module_info(a->store, NULL, em->module, &mi)) != CSB_OK)
			return rv;
		if (mi.high_seq > 0 && (rv = wait_acked(a, em, mi.high_seq, deadline)) != CSB_OK) {
			agent__set_error(err, "the backup pool has not imported %s up to seq %" PRIu64,
			                 em->module, mi.high_seq);
			return rv == CSB_ETIMEDOUT ? CSB_EUNREACH : rv;
		}
		rv = copy_digests(a, em->module, &all, 1, &theirs, &their_count, &their_seq, err);
		if (rv != CSB_OK)
			return rv;
		if (their_seq == mi.high_seq || attempt >= 4)
			break;
	}
	mv->seq = mi.high_seq;
	mv->primary_count = mi.count;
	mv->backup_count = their_count;
	mv->equal = theirs.lo == mi.digest.lo && theirs.hi == mi.digest.hi && their_count == mi.count;
	if (mv->equal)
		return CSB_OK;
	if ((mv->diffs = calloc(VERIFY_DIFFS_MAX, sizeof(*mv->diffs))) == NULL)
		return CSB_ENOMEM;
	return find_diffs(a, em->module, &all, 0, mv, err);
}

static void free_verify(Csb__ModuleVerify *mv)
{
	for (size_t j = 0; j < mv->n_diffs; j++) {
		free(mv->diffs[j]->range->lo.data);
		free(mv->diffs[j]->range->hi.data);
		free(mv->diffs[j]->range);
		free(mv->diffs[j]);
	}
	free(mv->diffs);
}

static csb_err control_verify(void *ctx, const csb_rpc_request *req, csb_rpc_reply *rep)
{
	struct agent *a = ctx;
	Csb__VerifyRequest *vr;
	Csb__VerifyReply out = CSB__VERIFY_REPLY__INIT;
	Csb__ModuleVerify mv[CSB_MODULE_COUNT], *mvp[CSB_MODULE_COUNT];
	uint64_t deadline = req->deadline_mono_ms;
	csb_err rv;

	if ((rv = agent__check_admin(a, req, rep, false)) != CSB_OK)
		return rv;
	if ((rv = agent__unpack(&csb__verify_request__descriptor, req, rep, (ProtobufCMessage **)&vr)))
		return rv;
	if (vr->module[0] != '\0' && agent__export(a, vr->module) == NULL) {
		agent__set_error(rep->error, "unknown module %s", vr->module);
		rv = CSB_ENOTFOUND;
		goto out_free_req;
	}
	for (size_t i = 0; i < CSB_MODULE_COUNT && rv == CSB_OK; i++) {
		struct export_mod *em = &a->exp[i];

		if (em->module == NULL || (vr->module[0] && strcasecmp(vr->module, em->module) != 0))
			continue;
		csb__module_verify__init(&mv[out.n_modules]);
		mvp[out.n_modules] = &mv[out.n_modules];
		rv = verify_module(a, em, deadline, &mv[out.n_modules], rep->error);
		out.n_modules++;
	}
	out.modules = mvp;
	if (rv == CSB_OK)
		rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
	for (size_t i = 0; i < out.n_modules; i++)
		free_verify(&mv[i]);
out_free_req:
	protobuf_c_message_free_unpacked(&vr->base, NULL);
	return rv;
}

size_t agent__control_methods(struct agent *a, csb_rpc_method *out)
{
	out[0] = (csb_rpc_method){"csb.Control/Status", control_status, a};
	out[1] = (csb_rpc_method){"csb.Control/SyncNow", control_sync_now, a};
	out[2] = (csb_rpc_method){"csb.Control/Verify", control_verify, a};
	return 3;
}
