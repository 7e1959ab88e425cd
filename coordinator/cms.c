/* CentralMgmt.CMSMaster in sync and verify: the coordinator exports the CMS itself, and the
 * standby copy is the replica held by the backup pool of the pool hosting the CMS (DESIGN.md
 * §2, flow 3). Syncing it waits until that replica has imported the CMS's high seq; verifying
 * compares the CMS's set digest with the replica's at the same seq. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/modules.h"
#include "coordinator/internal/coord.h"
#include "proto/sync.pb-c.h"

bool coord__cms_host(struct coord *c, const char *pool, char *backup)
{
	const csb_topo_pool *host;
	bool yes = false;

	pthread_mutex_lock(&c->mu);
	host = coord__master_host(c);
	if (host != NULL && strcasecmp(host->fqdn, pool) == 0 && host->backup[0] != '\0') {
		snprintf(backup, 254, "%s", host->backup);
		yes = true;
	}
	pthread_mutex_unlock(&c->mu);
	return yes;
}

static uint64_t cms_info(struct coord *c, csb_module_info *mi)
{
	memset(mi, 0, sizeof(*mi));
	(void)csb_store_module_info(csb_node_store(atomic_load(&c->node)), NULL, CSB_MODULE_CMS, mi);
	return mi->high_seq;
}

/* The standby replica's cursor (0 when it never pulled). */
static uint64_t replica_seq(struct coord *c, const char *backup)
{
	csb_node_importer imp;

	if (!csb_node_importer_get(atomic_load(&c->node), CSB_MODULE_CMS, backup, &imp))
		return 0;
	return imp.acked_seq;
}

/* Waits on the exporter's acknowledgement of that replica (no polling). */
static csb_err wait_replica(struct coord *c, const char *backup, uint64_t seq, uint64_t deadline,
                            char *err)
{
	if (seq == 0 || csb_node_wait_importer(atomic_load(&c->node), CSB_MODULE_CMS, backup, seq,
	                                       deadline) == CSB_OK)
		return CSB_OK;
	snprintf(err, CSB_RPC_ERROR_MAX, "the CMS replica of %.180s has not imported seq %llu",
	         backup, (unsigned long long)seq);
	return CSB_EUNREACH;
}

csb_err coord__cms_sync(struct coord *c, const char *pool, uint32_t timeout_ms,
                        Csb__ModuleSync *out, char *err)
{
	char backup[254];
	csb_module_info mi;
	uint64_t t0 = csb_mono_ms(), before, high;
	csb_err rv;

	if (!coord__cms_host(c, pool, backup)) {
		snprintf(err, CSB_RPC_ERROR_MAX, "%.180s does not host the Central Management store", pool);
		return CSB_ENOTFOUND;
	}
	before = replica_seq(c, backup);
	high = cms_info(c, &mi);
	if ((rv = wait_replica(c, backup, high, t0 + timeout_ms, err)) != CSB_OK)
		return rv;
	csb__module_sync__init(out);
	out->identity = CSB_MODULE_CMS;
	out->records = high > before ? high - before : 0; /* changes it had not yet */
	out->imported_seq = high;
	out->millis = csb_mono_ms() - t0;
	return CSB_OK;
}

/* The replica's digest and count of the whole CMS, and its applied seq. */
static csb_err replica_digest(struct coord *c, const char *backup, csb_digest *dg,
                              uint64_t *count, uint64_t *seq, char *err)
{
	Csb__DigestRequest dr = CSB__DIGEST_REQUEST__INIT;
	Csb__KeyRange all = CSB__KEY_RANGE__INIT, *allp = &all;
	Csb__DigestReply *out = NULL;
	struct agent_client *ac;
	csb_err rv;

	all.lo_open = all.hi_open = true;
	dr.source = CSB_COORDINATOR_NAME;
	dr.module = CSB_MODULE_CMS;
	dr.from_copy = true;
	dr.n_ranges = 1;
	dr.ranges = &allp;
	if ((rv = coord__agent(c, backup, &ac, NULL, err)) != CSB_OK)
		return rv;
	rv = csb_rpc_call_msg(ac->cli, "csb.Sync/DigestRanges", &dr.base,
	                      &csb__digest_reply__descriptor, 10000, (ProtobufCMessage **)&out, err);
	coord__agent_rele(ac);
	if (rv != CSB_OK)
		return rv;
	if (out->n_digests != 1 || out->n_counts != 1) {
		snprintf(err, CSB_RPC_ERROR_MAX, "%.180s answered %zu digests for 1 range", backup,
		         out->n_digests);
		rv = CSB_EPROTO;
	} else {
		dg->lo = out->digests[0]->lo;
		dg->hi = out->digests[0]->hi;
		*count = out->counts[0];
		*seq = out->high_seq;
	}
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return rv;
}

csb_err coord__cms_verify(struct coord *c, const char *pool, uint64_t deadline,
                          Csb__ModuleVerify *out, struct cms_diff *diff, char *err)
{
	char backup[254];
	csb_module_info mi;
	csb_digest theirs;
	uint64_t count = 0, seq = 0;
	csb_err rv;

	if (!coord__cms_host(c, pool, backup)) {
		snprintf(err, CSB_RPC_ERROR_MAX, "%.180s does not host the Central Management store", pool);
		return CSB_ENOTFOUND;
	}
	/* Compare at one seq: the CMS may change between the two reads, so try again then. */
	for (unsigned attempt = 0; attempt < 5; attempt++) {
		if ((rv = wait_replica(c, backup, cms_info(c, &mi), deadline, err)) != CSB_OK ||
		    (rv = replica_digest(c, backup, &theirs, &count, &seq, err)) != CSB_OK)
			return rv;
		if (seq == mi.high_seq)
			break;
	}
	csb__module_verify__init(out);
	out->identity = CSB_MODULE_CMS;
	out->seq = mi.high_seq;
	out->primary_count = mi.count;
	out->backup_count = count;
	out->equal = seq == mi.high_seq && count == mi.count && theirs.lo == mi.digest.lo &&
	             theirs.hi == mi.digest.hi;
	if (!out->equal) { /* the CMS is small: the whole key range is the difference */
		csb__range_diff__init(&diff->d);
		csb__key_range_text__init(&diff->range);
		diff->range.lo_open = diff->range.hi_open = true;
		diff->d.range = &diff->range;
		diff->d.primary_count = mi.count;
		diff->d.backup_count = count;
		diff->p = &diff->d;
		out->n_diffs = 1;
		out->diffs = &diff->p;
	}
	return CSB_OK;
}
