/* Invoke-CsManagementServerFailover (cms-failover): the standby coordinator becomes the
 * active master of the Central Management store (SPEC.md §4, notes/failover.md 3.8).
 * Normal: the active master passes the call to its standby, which has it hand over and
 * drains the record naming it into its replica first. -Force (disaster recovery, with
 * -BackupSqlServerFqdn naming the standby's pool): the standby is called directly and takes
 * over without the master, reporting the CMS changes that may be lost. -Restore: back to
 * the pool the topology names as the CMS's home (hostsCms). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/internal/cli.h"
#include "cli/internal/report.h"
#include "common/clock.h"
#include "model/topology.h"
#include "proto/admin.pb-c.h"

#define CMS_FAILOVER_SLACK_MS 60000 /* beyond -WaitTime: the handover, the copy, the agents */

static json_t *result_json(const Csb__CmsFailoverReply *out, bool force)
{
	json_t *doc = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "ActiveMasterFqdn",
	                        out->active_master_fqdn, "Url", out->active_master_url,
	                        "PreviousMasterFqdn", out->previous_master_fqdn, "CmsEpoch",
	                        (json_int_t)out->cms_epoch, "HighSeq", (json_int_t)out->high_seq,
	                        "AgentsFollowing", (json_int_t)out->agents_following, "AgentsTotal",
	                        (json_int_t)out->agents_total, "Millis", (json_int_t)out->millis);

	if (force)
		json_object_set_new(doc, "PossibleLoss",
		                    json_pack("{s:I}", "KnownChanges", (json_int_t)out->known_changes));
	return doc;
}

struct page {
	const Csb__CmsFailoverReply *out;
	bool force;
};

static csb_err page(const void *ctx, FILE *f)
{
	const struct page *p = ctx;
	char line[256];

	cli_html_begin(f, "Invoke-CsManagementServerFailover");
	fprintf(f, "<table>\n");
#define ROW(k, v)                                      \
	do {                                               \
		fprintf(f, "<tr>");                            \
		cli_html_cell(f, "th", NULL, k);               \
		cli_html_cell(f, "td", NULL, v);               \
		fprintf(f, "</tr>\n");                         \
	} while (0)
	ROW("Active master", p->out->active_master_fqdn);
	ROW("Previous master", p->out->previous_master_fqdn);
	snprintf(line, sizeof(line), "%" PRIu64, p->out->cms_epoch);
	ROW("CMS epoch", line);
	snprintf(line, sizeof(line), "%u of %u", p->out->agents_following, p->out->agents_total);
	ROW("Agents following", line);
	snprintf(line, sizeof(line), "%" PRIu64 " ms", p->out->millis);
	ROW("Time", line);
	if (p->force) {
		snprintf(line, sizeof(line), "%" PRIu64 " changes a replica had that the standby's "
		         "had not", p->out->known_changes);
		ROW("Possible loss (-Force)", line);
	}
#undef ROW
	fprintf(f, "</table>\n");
	cli_html_end(f, "Invoke-CsManagementServerFailover");
	return ferror(f) ? CSB_EIO : CSB_OK;
}

/* Where the call goes: the active master (normal), or the standby itself (-Force). */
static int target(struct cli *c, const char **url)
{
	const csb_args *a = c->a;
	const char *pool = NULL, *sb = cli_cluster_standby(c, &pool);

	*url = NULL; /* the command's coordinator */
	if (!a->force)
		return CLI_OK;
	if (a->coordinator != NULL)
		return CLI_OK; /* --coordinator names the standby's coordinator */
	if (sb == NULL)
		return cli_fail(c, CSB_ENOTFOUND, "no standby coordinator is known in %s/cluster.json: "
		                "give --coordinator URL of the coordinator on %s", c->dir,
		                a->backup_sql_server[0] ? a->backup_sql_server : "the backup pool");
	if (a->backup_sql_server[0] != '\0' && pool != NULL &&
	    strcasecmp(pool, a->backup_sql_server) != 0)
		return cli_fail(c, CSB_ENOTFOUND, "%s has no standby coordinator in %s/cluster.json "
		                "(the standby runs on %s)", a->backup_sql_server, c->dir, pool);
	*url = sb;
	return CLI_OK;
}

/* -Restore: where the CMS is now, and its home. */
static int restore_needed(struct cli *c, bool *needed)
{
	Csb__Empty e = CSB__EMPTY__INIT;
	Csb__CmsStatusReply *st = NULL;
	Csb__JsonDoc *doc = NULL;
	char err[CSB_RPC_ERROR_MAX], home[256] = "";
	csb_topology *t = NULL;
	csb_err rv;

	rv = cli_admin(c, "csb.Admin/GetCmsStatus", &e.base, &csb__cms_status_reply__descriptor,
	               10000, true, (ProtobufCMessage **)&st, err);
	if (rv == CSB_OK)
		rv = cli_admin(c, "csb.Admin/GetTopology", &e.base, &csb__json_doc__descriptor, 10000,
		               true, (ProtobufCMessage **)&doc, err);
	if (rv == CSB_OK &&
	    csb_topology_parse(doc->json, strlen(doc->json), &t, err, sizeof(err)) == CSB_OK &&
	    csb_topology_cms_host(t) != NULL)
		snprintf(home, sizeof(home), "%s", csb_topology_cms_host(t)->fqdn);
	csb_topology_free(t);
	if (doc != NULL)
		protobuf_c_message_free_unpacked(&doc->base, NULL);
	if (rv != CSB_OK) {
		if (st != NULL)
			protobuf_c_message_free_unpacked(&st->base, NULL);
		return cli_fail(c, rv, "%s", err);
	}
	*needed = home[0] == '\0' || strcasecmp(home, st->active_master_fqdn) != 0;
	if (!*needed && !c->a->json)
		printf("The Central Management store is at its home pool %s already (epoch %" PRIu64
		       ")\n", home, st->cms_epoch);
	protobuf_c_message_free_unpacked(&st->base, NULL);
	return CLI_OK;
}

int cli_cms_failover(struct cli *c)
{
	const csb_args *a = c->a;
	Csb__CmsFailoverRequest rq = CSB__CMS_FAILOVER_REQUEST__INIT;
	Csb__CmsFailoverReply *out = NULL;
	uint32_t wait = a->wait_time_ms ? (uint32_t)a->wait_time_ms : 60000;
	char err[CSB_RPC_ERROR_MAX];
	const char *url;
	csb_err rv;
	int rc;

	if ((rc = target(c, &url)) != CLI_OK)
		return rc;
	if (a->restore) {
		bool needed = true;

		if ((rc = restore_needed(c, &needed)) != CLI_OK || !needed)
			return rc;
	}
	if (a->confirm && !a->what_if &&
	    !cli_confirm(c, "Make the standby coordinator the active master of the Central "
	                    "Management store%s?", a->force ? " without the current master" : ""))
		return CLI_OK;
	rq.force = a->force;
	rq.what_if = a->what_if;
	rq.wait_time_s = (wait + 999) / 1000;
	if (url != NULL)
		rv = cli_coordinator_call(c, url, "csb.Admin/CmsFailover", &rq.base,
		                          &csb__cms_failover_reply__descriptor,
		                          wait + CMS_FAILOVER_SLACK_MS, (ProtobufCMessage **)&out, err);
	else
		rv = cli_admin(c, "csb.Admin/CmsFailover", &rq.base, &csb__cms_failover_reply__descriptor,
		               wait + CMS_FAILOVER_SLACK_MS, false, (ProtobufCMessage **)&out, err);
	if (rv != CSB_OK)
		return cli_fail(c, rv, "%s", err);
	if (out->what_if[0] != '\0') {
		printf("%s\n", out->what_if);
	} else if (out->already) {
		printf("%s is the active master already (epoch %" PRIu64 ")\n", out->active_master_fqdn,
		       out->cms_epoch);
	} else {
		rc = cli_cluster_master_moved(c, out->active_master_fqdn);
		if (a->json) {
			json_t *doc = result_json(out, a->force);

			cli_print_json(doc, false);
			json_decref(doc);
		} else {
			printf("The Central Management store is served by %s (epoch %" PRIu64 ", was %s) in "
			       "%" PRIu64 " ms; %u of %u agents follow it\n", out->active_master_fqdn,
			       out->cms_epoch, out->previous_master_fqdn, out->millis,
			       out->agents_following, out->agents_total);
			if (a->force)
				printf("Possible loss: %" PRIu64 " CMS changes a replica had applied that the "
				       "standby copy had not\n", out->known_changes);
		}
		if (a->report != NULL) {
			struct page pg = {out, a->force};

			if (cli_html_write(a->report, page, &pg) != CSB_OK)
				rc = cli_fail(c, CSB_EIO, "cannot write the report %s", a->report);
		}
	}
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return rc;
}
