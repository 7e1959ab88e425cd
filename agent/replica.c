/* -LocalStore: the Control methods that read the CMS replica (what this pool learned from
 * the coordinator) and seed it from an Export-CsConfiguration ZIP, for a node that cannot
 * reach the coordinator yet. A seeded replica keeps its cursor (or gets an empty one), so
 * the coordinator's state replaces it by re-seed as soon as it can be pulled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/internal/pool.h"
#include "common/modules.h"
#include "node/convert.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/wire.h"
#include "model/bundle.h"
#include "proto/status.pb-c.h"

static csb_err replica_get(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                           csb_rpc_reply *rep)
{
	struct pool *p = ctx;
	const Csb__ReplicaRequest *rr = (const Csb__ReplicaRequest *)msg;
	Csb__ReplicaReply out = CSB__REPLICA_REPLY__INIT;
	csb_record r = {0};
	csb_cursor cur = {0};
	csb_err rv;

	(void)csb_store_cursor_get(csb_node_store(p->node), CSB_COORDINATOR_NAME, CSB_MODULE_CMS, &cur);
	rv = csb_store_get(csb_node_store(p->node), CSB_COORDINATOR_NAME, CSB_MODULE_CMS, rr->key, strlen(rr->key),
	                   &r);
	if (rv == CSB_OK || rv == CSB_ENOTFOUND) {
		out.found = rv == CSB_OK;
		out.value.data = r.value;
		out.value.len = r.value_len;
		out.applied_seq = cur.applied_seq;
		rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
	}
	csb_record_clear(&r);
	return rv;
}

/* Writes the bundle's topology and configuration into the replica in one transaction. */
static csb_err seed(csb_store *st, const char *topo_json, const char *cfg_json)
{
	csb_record recs[2] = {
		{(uint8_t *)CSB_CMS_KEY_TOPOLOGY, strlen(CSB_CMS_KEY_TOPOLOGY), (uint8_t *)topo_json,
		 strlen(topo_json), 0, csb_now_ms(), false},
		{(uint8_t *)CSB_CMS_KEY_CONFIG, strlen(CSB_CMS_KEY_CONFIG), (uint8_t *)cfg_json,
		 strlen(cfg_json), 0, csb_now_ms(), false},
	};
	csb_batch_hdr keep = {.reseed = true};
	csb_cursor cur;
	csb_err rv;

	rv = csb_store_cursor_get(st, CSB_COORDINATOR_NAME, CSB_MODULE_CMS, &cur);
	if (rv == CSB_OK)
		keep = (csb_batch_hdr){cur.lineage, cur.applied_seq, cur.applied_seq, true};
	else if (rv != CSB_ENOTFOUND)
		return rv;
	return csb_store_apply(st, CSB_COORDINATOR_NAME, CSB_MODULE_CMS, &keep, recs, 2, NULL);
}

static csb_err replica_seed(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                            csb_rpc_reply *rep)
{
	struct pool *p = ctx;
	const Csb__SeedReplicaRequest *sr = (const Csb__SeedReplicaRequest *)msg;
	Csb__ReplicaReply out = CSB__REPLICA_REPLY__INIT;
	csb_topology *t = NULL;
	csb_backup_config cfg;
	char *tj = NULL, *cj = NULL;
	csb_err rv;

	rv = csb_bundle_read(sr->zip.data, sr->zip.len, &t, &cfg, rep->error, sizeof(rep->error));
	if (rv != CSB_OK)
		return rv;
	tj = csb_topology_to_json(t);
	cj = csb_config_to_json(&cfg);
	csb_topology_free(t);
	rv = tj && cj ? seed(csb_node_store(p->node), tj, cj) : CSB_ENOMEM;
	free(tj);
	free(cj);
	if (rv != CSB_OK) {
		snprintf(rep->error, sizeof(rep->error), "seeding the replica failed: %s",
		         csb_strerror(rv));
		return rv;
	}
	csb_info("agent", "replica seeded pool=%s from=zip", p->name);
	pool__replica_changed(p);
	out.found = true;
	return csb_wire_pack(&out.base, &rep->body, &rep->body_len);
}

/* The replica's applied seq, and whether its data (a digest over every record, not the
 * cursor's running sum) matches the coordinator's at high_seq. */
static bool replica_matches(csb_store *st, const Csb__CheckReplicaRequest *rq, uint64_t *applied)
{
	static const csb_range all = {0};
	csb_cursor cur = {0};
	csb_digest dg;
	uint64_t count;

	(void)csb_store_cursor_get(st, CSB_COORDINATOR_NAME, CSB_MODULE_CMS, &cur);
	*applied = cur.applied_seq;
	if (cur.applied_seq > rq->high_seq)
		return true; /* the CMS moved on since the coordinator asked: newer than asked */
	if (cur.applied_seq < rq->high_seq ||
	    csb_store_digest_ranges(st, CSB_COORDINATOR_NAME, CSB_MODULE_CMS, &all, 1, &dg,
	                            &count) != CSB_OK)
		return false;
	return dg.lo == rq->digest_lo && dg.hi == rq->digest_hi && count == rq->count;
}

static csb_err check_replica(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                             csb_rpc_reply *rep)
{
	struct pool *p = ctx;
	const Csb__CheckReplicaRequest *rq = (const Csb__CheckReplicaRequest *)msg;
	Csb__CheckReplicaReply out = CSB__CHECK_REPLICA_REPLY__INIT;
	csb_store *st = csb_node_store(p->node);
	uint64_t deadline = csb_mono_ms() + (rq->timeout_ms ? rq->timeout_ms : 30000);
	csb_err rv;

	if (deadline > req->deadline_mono_ms)
		deadline = req->deadline_mono_ms;
	for (;;) {
		bool caught_up;

		out.up_to_date = replica_matches(st, rq, &out.applied_seq);
		caught_up = out.applied_seq >= rq->high_seq;
		if (out.up_to_date || csb_mono_ms() >= deadline)
			break;
		if (caught_up && !out.repaired) {
			if ((rv = csb_node_replica_repair(p->node)) != CSB_OK) {
				snprintf(rep->error, sizeof(rep->error), "%.100s has no coordinator to repair "
				         "its replica from", p->name);
				return rv;
			}
			out.repaired = true;
			csb_warn("agent", "replica differs pool=%s seq=%llu: repairing", p->name,
			         (unsigned long long)out.applied_seq);
		}
		csb_sleep_ms(20);
	}
	return csb_wire_pack(&out.base, &rep->body, &rep->body_len);
}

size_t pool__replica_methods(struct pool *p, csb_rpc_method *out)
{
	out[0] = (csb_rpc_method){"csb.Control/Replica", NULL, p, &csb__replica_request__descriptor,
	                          replica_get, pool__admin_only};
	out[1] = (csb_rpc_method){"csb.Control/SeedReplica", NULL, p,
	                          &csb__seed_replica_request__descriptor, replica_seed,
	                          pool__admin_only};
	out[2] = (csb_rpc_method){"csb.Control/CheckReplica", NULL, p,
	                          &csb__check_replica_request__descriptor, check_replica,
	                          pool__admin_only};
	return 3;
}
