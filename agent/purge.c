/* Remove-CsUserStoreBackupData: after a pairing changed, the copies a pool still holds for
 * its former partners are no longer updated; this removes them, one copy per transaction.
 * The current partner's copies and the CMS replica stay, and so does the copy of a pool
 * that is not Normal (it may be the only copy left of a pool that needs a restore). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/internal/pool.h"
#include "common/log.h"
#include "common/modules.h"
#include "common/wire.h"
#include "proto/status.pb-c.h"

/* Whether the copies of source must stay: it is the partner, the coordinator, or a pool
 * whose state is not Normal. why (CSB_RPC_ERROR_MAX) says so for the last case. */
static bool keep_source(struct pool *p, const char *source, const char *partner, char *why)
{
	csb_cms_view v = pool__replica_view(p);
	csb_pool_entry e;
	char err[CSB_RPC_ERROR_MAX];

	if (strcasecmp(source, partner) == 0 || strcmp(source, CSB_COORDINATOR_NAME) == 0)
		return true;
	if (csb_cms_pool_entry(&v, source, &e, err) == CSB_OK && e.state == CSB_POOL_NORMAL)
		return false;
	snprintf(why, CSB_RPC_ERROR_MAX, "the copy of %.100s is kept: %.100s is %s", source, source,
	         csb_pool_state_name(e.state));
	return true;
}

static void free_reply(Csb__RemoveBackupDataReply *out)
{
	for (size_t i = 0; i < out->n_copies; i++) {
		free(out->copies[i]->source);
		free(out->copies[i]);
	}
	free(out->copies);
}

static csb_err remove_backup_data(void *ctx, const csb_rpc_request *req,
                                  const ProtobufCMessage *msg, csb_rpc_reply *rep)
{
	struct pool *p = ctx;
	const Csb__RemoveBackupDataRequest *rq = (const Csb__RemoveBackupDataRequest *)msg;
	Csb__RemoveBackupDataReply out = CSB__REMOVE_BACKUP_DATA_REPLY__INIT;
	csb_store *st = csb_node_store(p->node);
	char partner[CSB_NODE_NAME_MAX], why[CSB_RPC_ERROR_MAX] = "", **names = NULL;
	size_t n = 0;
	csb_err rv;

	(void)req;
	csb_node_partner(p->node, partner);
	if ((rv = csb_store_copies(st, &names, &n)) != CSB_OK)
		return rv;
	if (n > 0 && (out.copies = calloc(n, sizeof(*out.copies))) == NULL) {
		rv = CSB_ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < n && rv == CSB_OK; i++) {
		char *colon = strrchr(names[i], ':');
		Csb__RemovedCopy *rc;
		csb_cursor cur = {0};

		if (colon == NULL)
			continue;
		*colon = '\0';
		if (keep_source(p, names[i], partner, why))
			continue;
		(void)csb_store_cursor_get(st, names[i], colon + 1, &cur);
		if (!rq->dry_run && (rv = csb_store_copy_drop(st, names[i], colon + 1)) != CSB_OK) {
			snprintf(rep->error, sizeof(rep->error), "removing the copy of %.100s %.60s: %s",
			         names[i], colon + 1, csb_strerror(rv));
			break;
		}
		if ((rc = calloc(1, sizeof(*rc))) == NULL) {
			rv = CSB_ENOMEM;
			break;
		}
		csb__removed_copy__init(rc);
		if ((rc->source = strdup(names[i])) == NULL) {
			free(rc);
			rv = CSB_ENOMEM;
			break;
		}
		rc->module = (char *)csb_modules[0].name;
		for (size_t m = 0; m < CSB_MODULE_COUNT; m++)
			if (strcmp(csb_modules[m].name, colon + 1) == 0)
				rc->module = (char *)csb_modules[m].name;
		rc->records = cur.count;
		out.copies[out.n_copies++] = rc;
		if (!rq->dry_run)
			csb_info("agent", "backup data removed pool=%s source=%s module=%s records=%llu",
			         p->name, names[i], colon + 1, (unsigned long long)cur.count);
	}
	out.kept_reason = why;
	if (rv == CSB_OK)
		rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
out_free:
	free_reply(&out);
	free(names);
	return rv;
}

size_t pool__purge_methods(struct pool *p, csb_rpc_method *out)
{
	out[0] = (csb_rpc_method){"csb.Control/RemoveBackupData", NULL, p,
	                          &csb__remove_backup_data_request__descriptor, remove_backup_data,
	                          pool__admin_only};
	return 1;
}
