/* The Control service: status, sync-now (return when the backup pool has imported every
 * change made before the call) and verify (prove this pool's data and its backup copy at
 * the partner equal by digests, online, and name the differing key ranges if not). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/internal/pool.h"
#include "common/modules.h"
#include "node/convert.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/wire.h"
#include "proto/status.pb-c.h"
#include "proto/sync.pb-c.h"

#define SYNC_TIMEOUT_DEFAULT_MS 60000
#define VERIFY_FANOUT 16
#define VERIFY_DIFFS_MAX 64

static csb_err control_status(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                              csb_rpc_reply *rep)
{
	struct pool *p = ctx;
	const Csb__StatusRequest *sr = (const Csb__StatusRequest *)msg;
	csb_err rv;

	rv = csb_node_status_pack(p->node, sr->category, pool__is_cms_standby(p), &rep->body,
	                          &rep->body_len);
	if (rv == CSB_EINVAL)
		snprintf(rep->error, sizeof(rep->error), "unknown category %.200s", sr->category);
	return rv;
}

/* Waits until the backup pool has imported module up to its high seq now. */
static csb_err wait_caught_up(struct pool *p, const char *module, uint64_t deadline,
                              csb_module_info *mi, char *err)
{
	csb_err rv;

	if ((rv = csb_store_module_info(csb_node_store(p->node), NULL, module, mi)) != CSB_OK) {
		snprintf(err, CSB_RPC_ERROR_MAX, "%.100s cannot read %.100s: %s", p->name, module,
		         csb_strerror(rv));
		return rv;
	}
	rv = csb_node_wait_acked(p->node, module, mi->high_seq, deadline, err);
	return rv == CSB_ETIMEDOUT ? CSB_EUNREACH : rv;
}

static csb_err sync_module(struct pool *p, const char *module, uint64_t deadline,
                           Csb__ModuleSync *out, char *err)
{
	uint64_t t0 = csb_mono_ms(), rec0, bytes0, rec1, bytes1, acked;
	csb_module_info mi;
	csb_err rv;

	csb_node_export_totals(p->node, module, &rec0, &bytes0, &acked);
	if ((rv = wait_caught_up(p, module, deadline, &mi, err)) != CSB_OK)
		return rv;
	csb_node_export_totals(p->node, module, &rec1, &bytes1, &acked);
	csb__module_sync__init(out);
	out->identity = (char *)module;
	out->records = rec1 - rec0;
	out->bytes = bytes1 - bytes0;
	out->imported_seq = acked;
	out->millis = csb_mono_ms() - t0;
	return CSB_OK;
}

/* The modules a request names: one (checked) or every module the pool exports. */
static csb_err pick_modules(struct pool *p, const char *module, const char **out, size_t *n,
                            csb_rpc_reply *rep)
{
	*n = 0;
	if (module[0] != '\0' && !csb_node_exports(p->node, module)) {
		snprintf(rep->error, sizeof(rep->error), "unknown module %.200s", module);
		return CSB_ENOTFOUND;
	}
	if (module[0] != '\0' && !csb_node_module_enabled(p->node, module)) {
		snprintf(rep->error, sizeof(rep->error),
		         "%.100s is not backed up: EnableRgsBackupService is $false", module);
		return CSB_ENOTFOUND;
	}
	/* Every module backed up; the RGS modules only while EnableRgsBackupService says so. */
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++)
		if (csb_node_exports(p->node, csb_modules[i].name) &&
		    csb_node_module_enabled(p->node, csb_modules[i].name) &&
		    (module[0] == '\0' || strcasecmp(module, csb_modules[i].name) == 0))
			out[(*n)++] = csb_modules[i].name;
	return CSB_OK;
}

/* A pool that needs a restore has nothing to back up: its backup pool keeps the data of its
 * lost store and will not follow the new one (DESIGN.md §4a). */
static csb_err refuse_if_lost(struct pool *p, csb_rpc_reply *rep)
{
	csb_cms_view v = pool__replica_view(p);
	csb_pool_entry e;
	char err[CSB_RPC_ERROR_MAX];

	if (csb_cms_pool_entry(&v, p->name, &e, err) != CSB_OK || e.state != CSB_POOL_NEEDS_RESTORE)
		return CSB_OK;
	snprintf(rep->error, sizeof(rep->error), "%.70s needs a restore: its backup pool %.70s "
	         "keeps the data of its lost store and does not take the new one", p->name,
	         e.reported_by);
	return CSB_EREADONLY;
}

static csb_err control_sync_now(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                                csb_rpc_reply *rep)
{
	struct pool *p = ctx;
	const Csb__SyncRequest *sr = (const Csb__SyncRequest *)msg;
	Csb__SyncReply out = CSB__SYNC_REPLY__INIT;
	Csb__ModuleSync ms[CSB_MODULE_COUNT], *msp[CSB_MODULE_COUNT];
	const char *mods[CSB_MODULE_COUNT];
	size_t nmods;
	uint64_t deadline;
	csb_err rv;

	if ((rv = pick_modules(p, sr->module, mods, &nmods, rep)) != CSB_OK ||
	    (rv = refuse_if_lost(p, rep)) != CSB_OK)
		goto out;
	deadline = csb_mono_ms() + (sr->timeout_ms ? sr->timeout_ms : SYNC_TIMEOUT_DEFAULT_MS);
	if (deadline > req->deadline_mono_ms)
		deadline = req->deadline_mono_ms;
	for (size_t i = 0; i < nmods && rv == CSB_OK; i++) {
		if ((rv = sync_module(p, mods[i], deadline, &ms[out.n_modules], rep->error)) == CSB_OK) {
			msp[out.n_modules] = &ms[out.n_modules];
			out.n_modules++;
		}
	}
	out.modules = msp;
	if (rv == CSB_OK)
		rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
out:
	return rv;
}

/* The partner's digests of its copy of our module over ranges; *seq gets its applied seq. */
static csb_err copy_digests(struct pool *p, const char *module, const csb_range *ranges, size_t n,
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
		csb_pb_range_to_pb(&ranges[i], &kr[i]);
		krp[i] = &kr[i];
	}
	dr.source = p->name;
	dr.module = (char *)module;
	dr.from_copy = true;
	dr.n_ranges = n;
	dr.ranges = krp;
	rv = csb_node_partner_call(p->node, "csb.Sync/DigestRanges", &dr.base,
	                           &csb__digest_reply__descriptor, 30000, (ProtobufCMessage **)&out,
	                           err);
	if (rv != CSB_OK)
		goto out_free;
	if (out->n_digests != n || out->n_counts != n) {
		snprintf(err, CSB_RPC_ERROR_MAX, "the backup pool answered %zu digests for %zu ranges",
		         out->n_digests, n);
		rv = CSB_EPROTO;
		goto out_free;
	}
	for (size_t i = 0; i < n; i++) {
		csb_pb_digest_from_pb(out->digests[i], &dg[i]);
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
static csb_err find_diffs(struct pool *p, const char *module, const csb_range *r, unsigned depth,
                          Csb__ModuleVerify *mv, char *err)
{
	csb_split sp = {0};
	csb_range *ranges = NULL;
	csb_digest *dg = NULL;
	uint64_t *counts = NULL, seq;
	csb_err rv;

	if ((rv = csb_store_digest_split(csb_node_store(p->node), NULL, module, r, VERIFY_FANOUT, &sp)) != CSB_OK)
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
	if ((rv = copy_digests(p, module, ranges, sp.count, dg, counts, &seq, err)) != CSB_OK)
		goto out_free;
	for (size_t i = 0; i < sp.count && rv == CSB_OK; i++) {
		const csb_split_part *part = &sp.parts[i];

		if (part->digest.lo == dg[i].lo && part->digest.hi == dg[i].hi &&
		    part->count == counts[i])
			continue;
		if (part->count <= 64 || sp.count == 1 || depth >= 4)
			add_diff(mv, part, counts[i]);
		else
			rv = find_diffs(p, module, &ranges[i], depth + 1, mv, err);
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
static csb_err verify_module(struct pool *p, const char *module, uint64_t deadline,
                             Csb__ModuleVerify *mv, char *err)
{
	static const csb_range all = {0};
	csb_module_info mi;
	csb_digest theirs;
	uint64_t their_count, their_seq;
	csb_err rv;

	mv->identity = (char *)module;
	for (unsigned attempt = 0;; attempt++) {
		if ((rv = wait_caught_up(p, module, deadline, &mi, err)) != CSB_OK)
			return rv;
		rv = copy_digests(p, module, &all, 1, &theirs, &their_count, &their_seq, err);
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
	return find_diffs(p, module, &all, 0, mv, err);
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

static csb_err control_verify(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                              csb_rpc_reply *rep)
{
	struct pool *p = ctx;
	const Csb__VerifyRequest *vr = (const Csb__VerifyRequest *)msg;
	Csb__VerifyReply out = CSB__VERIFY_REPLY__INIT;
	Csb__ModuleVerify mv[CSB_MODULE_COUNT], *mvp[CSB_MODULE_COUNT];
	const char *mods[CSB_MODULE_COUNT];
	size_t nmods;
	csb_err rv;

	if ((rv = pick_modules(p, vr->module, mods, &nmods, rep)) != CSB_OK ||
	    (rv = refuse_if_lost(p, rep)) != CSB_OK)
		goto out;
	for (size_t i = 0; i < nmods && rv == CSB_OK; i++) {
		csb__module_verify__init(&mv[out.n_modules]);
		mvp[out.n_modules] = &mv[out.n_modules];
		rv = verify_module(p, mods[i], req->deadline_mono_ms, &mv[out.n_modules], rep->error);
		out.n_modules++;
	}
	out.modules = mvp;
	if (rv == CSB_OK)
		rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
	for (size_t i = 0; i < out.n_modules; i++)
		free_verify(&mv[i]);
out:
	return rv;
}

size_t pool__control_methods(struct pool *p, csb_rpc_method *out)
{
	out[0] = (csb_rpc_method){"csb.Control/Status", NULL, p, &csb__status_request__descriptor,
	                          control_status, pool__admin_only};
	out[1] = (csb_rpc_method){"csb.Control/SyncNow", NULL, p, &csb__sync_request__descriptor,
	                          control_sync_now, pool__admin_only};
	out[2] = (csb_rpc_method){"csb.Control/Verify", NULL, p, &csb__verify_request__descriptor,
	                          control_verify, pool__admin_only};
	return 3;
}
