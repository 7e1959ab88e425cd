/* Get-CsTopology and Publish-CsTopology. Publishing first saves the topology it replaces
 * (-BackupFileName, by default in $TMPDIR, as the original does), so that publishing that
 * file again restores it; -WhatIf checks the file here and changes nothing; -Report writes
 * an HTML page of the run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/cms.h"
#include "cli/internal/cli.h"
#include "cli/internal/report.h"
#include "common/clock.h"
#include "model/topology.h"
#include "proto/admin.pb-c.h"

#define FILE_MAX (64u << 20)

static void print_topology(const csb_topology *t)
{
	printf("%-28s %-10s %-28s %-28s %s\n", "PoolFqdn", "Site", "Agent", "BackupPoolFqdn",
	       "HostsCms");
	for (size_t i = 0; i < t->n_pools; i++)
		printf("%-28s %-10s %-28s %-28s %s\n", t->pools[i].fqdn, t->pools[i].site,
		       t->pools[i].agent, t->pools[i].backup, t->pools[i].hosts_cms ? "True" : "False");
}

/* Get-CsTopology: the document as published with --json, else the pools read through the
 * model (model/topology.h), as every other reader of the topology does. */
int cli_get_topology(struct cli *c)
{
	char err[CSB_RPC_ERROR_MAX];
	csb_topology *t;
	int rc = CLI_OK;
	char *json = c->a->local_store ? cli_local_json(c, CSB_CMS_KEY_TOPOLOGY, &rc)
	                               : cli_admin_json(c, "csb.Admin/GetTopology", NULL, &rc);

	if (json == NULL)
		return rc;
	if (c->a->json)
		return cli_print_doc(c, json, NULL); /* --json: no text form is printed */
	if (csb_topology_parse(json, strlen(json), &t, err, sizeof(err)) != CSB_OK) {
		free(json);
		return cli_fail(c, CSB_EPROTO, "the %s topology is unreadable: %s",
		                c->a->local_store ? "replica's" : "published", err);
	}
	free(json);
	print_topology(t);
	csb_topology_free(t);
	return CLI_OK;
}

/* One run of Publish-CsTopology, for its output and its report. */
struct publish {
	struct cli *c;
	const char *file;
	csb_topology *next;          /* the file's topology, when it parses here */
	csb_topology *prev;          /* the one it replaces, or NULL */
	char backup[CLI_PATH];       /* where prev was saved, or "" */
	uint64_t started_ms;
	bool ok;
	char result[CSB_RPC_ERROR_MAX + CLI_PATH + 256];
};

/* $TMPDIR/Publish-CsTopology-Backup-[yyyy_mm_dd][hh_mm_ss].json, in local time. */
static void default_backup_path(uint64_t ms, char *out, size_t len)
{
	const char *tmp = getenv("TMPDIR");
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	char when[40];

	localtime_r(&s, &tm);
	strftime(when, sizeof(when), "[%Y_%m_%d][%H_%M_%S]", &tm);
	snprintf(out, len, "%s/Publish-CsTopology-Backup-%s.json", tmp && *tmp ? tmp : "/tmp",
	         when);
}

/* The published topology, or NULL (with CLI_OK) when none was published yet. */
static int published(struct publish *p, csb_topology **out)
{
	Csb__Empty e = CSB__EMPTY__INIT;
	Csb__JsonDoc *doc = NULL;
	char err[CSB_RPC_ERROR_MAX];
	csb_err rv;

	*out = NULL;
	rv = cli_admin(p->c, "csb.Admin/GetTopology", &e.base, &csb__json_doc__descriptor, 10000,
	               true, (ProtobufCMessage **)&doc, err);
	if (rv == CSB_ENOTFOUND)
		return CLI_OK;
	if (rv != CSB_OK)
		return cli_fail(p->c, rv, "%s", err);
	rv = csb_topology_parse(doc->json, strlen(doc->json), out, err, sizeof(err));
	protobuf_c_message_free_unpacked(&doc->base, NULL);
	if (rv != CSB_OK)
		return cli_fail(p->c, CSB_EPROTO, "the published topology is unreadable: %s", err);
	return CLI_OK;
}

/* Saves the topology being replaced. Failing to is an error (nothing is published), or with
 * -Force a warning. */
static int save_previous(struct publish *p)
{
	const csb_args *a = p->c->a;
	char *json;
	FILE *f;

	if (p->prev == NULL)
		return a->force ? CLI_OK
		                : cli_warn(p->c, "no topology was published before; there is none to "
		                                 "save");
	if (a->backup_file_name != NULL)
		snprintf(p->backup, sizeof(p->backup), "%s", a->backup_file_name);
	else
		default_backup_path(p->started_ms, p->backup, sizeof(p->backup));
	if ((json = csb_topology_to_json(p->prev)) == NULL)
		return cli_fail(p->c, CSB_ENOMEM, "out of memory");
	cli_verbose(p->c, "saving the current topology to %s", p->backup);
	f = fopen(p->backup, "w");
	if (f == NULL || fputs(json, f) < 0 || fputc('\n', f) == EOF || fclose(f) != 0) {
		int e = errno;

		free(json);
		if (f != NULL)
			remove(p->backup);
		snprintf(p->result, sizeof(p->result), "cannot save the current topology to %s: %s",
		         p->backup, strerror(e));
		p->backup[0] = '\0';
		if (!a->force)
			return cli_fail(p->c, CSB_EIO, "%s; nothing was published (-Force publishes "
			                               "anyway)", p->result);
		return cli_warn(p->c, "%s", p->result);
	}
	free(json);
	return CLI_OK;
}

static void pool_rows(FILE *f, const csb_topology *t)
{
	fputs("<table>\n<thead><tr><th>PoolFqdn</th><th>Site</th><th>BackupPoolFqdn</th>"
	      "<th>HostsCms</th></tr></thead>\n<tbody>\n", f);
	for (size_t i = 0; t != NULL && i < t->n_pools; i++) {
		fputs("<tr>", f);
		cli_html_cell(f, "td", NULL, t->pools[i].fqdn);
		cli_html_cell(f, "td", NULL, t->pools[i].site);
		cli_html_cell(f, "td", NULL, t->pools[i].backup);
		cli_html_cell(f, "td", NULL, t->pools[i].hosts_cms ? "True" : "False");
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n</table>\n", f);
}

static void summary_row(FILE *f, const char *name, const char *value)
{
	fputs("<tr>", f);
	cli_html_cell(f, "th", NULL, name);
	cli_html_cell(f, "td", NULL, value);
	fputs("</tr>\n", f);
}

static csb_err report_page(const void *ctx, FILE *f)
{
	const struct publish *p = ctx;
	char t[40], result[sizeof(p->result) + 16];

	cli_html_begin(f, "Publish-CsTopology");
	fputs("<table class=\"summary\">\n", f);
	summary_row(f, "File", p->file);
	cli_time_rfc3339(p->started_ms, t, sizeof(t));
	summary_row(f, "Started", t);
	summary_row(f, "Previous topology saved to", p->backup[0] ? p->backup : "-");
	snprintf(result, sizeof(result), "%s%s%s", p->ok ? "Succeeded" : "Failed",
	         p->result[0] ? ": " : "", p->result);
	summary_row(f, "Result", result);
	fputs("</table>\n<h2>Published pools</h2>\n", f);
	pool_rows(f, p->ok ? p->next : NULL);
	fputs("<h2>Replaced pools</h2>\n", f);
	pool_rows(f, p->prev);
	cli_html_end(f, "Publish-CsTopology");
	return ferror(f) ? CSB_EIO : CSB_OK;
}

/* -Report, whatever the outcome; a report that cannot be written is a warning when the
 * publication's own result decides the exit code. */
static int write_report(struct publish *p, int rc)
{
	const char *path = p->c->a->report;

	if (path == NULL)
		return rc;
	if (cli_html_write(path, report_page, p) != CSB_OK) {
		int e = errno;

		if (rc == CLI_OK && !p->c->a->force)
			return cli_fail(p->c, CSB_EIO, "cannot write the report %s: %s", path,
			                strerror(e));
		if (cli_warn(p->c, "cannot write the report %s: %s", path, strerror(e)) != CLI_OK)
			return rc != CLI_OK ? rc : CLI_FAILED;
		return rc;
	}
	if (!p->c->a->json)
		printf("Report: %s\n", path);
	return rc;
}

static void what_if(const struct publish *p)
{
	char backup[CLI_PATH];

	printf("What if: Performing the operation \"Publish-CsTopology\" on target \"%s\": ",
	       p->file);
	printf("publish %zu pools", p->next->n_pools);
	if (p->prev == NULL) {
		printf(" (no topology was published before)\n");
		return;
	}
	if (p->c->a->backup_file_name != NULL)
		snprintf(backup, sizeof(backup), "%s", p->c->a->backup_file_name);
	else
		default_backup_path(p->started_ms, backup, sizeof(backup));
	printf(" in place of %zu, saving those to %s\n", p->prev->n_pools, backup);
}

/* Sends the file; *p->result says why when it is refused. */
static int send(struct publish *p, const char *buf, size_t len)
{
	Csb__PublishTopologyRequest pr = CSB__PUBLISH_TOPOLOGY_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	char err[CSB_RPC_ERROR_MAX];
	csb_err rv;

	pr.json.data = (uint8_t *)buf;
	pr.json.len = len;
	rv = cli_admin(p->c, "csb.Admin/PublishTopology", &pr.base, &csb__empty__descriptor, 10000,
	               true, &out, err);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	if (rv != CSB_OK) {
		snprintf(p->result, sizeof(p->result), "%s: %s", p->file, err);
		return cli_fail(p->c, rv, "%s", p->result);
	}
	p->ok = true;
	return CLI_OK;
}

static int publish(struct publish *p, const char *buf, size_t len)
{
	const csb_args *a = p->c->a;
	char err[CSB_RPC_ERROR_MAX];
	int rc;

	if (csb_topology_parse(buf, len, &p->next, err, sizeof(err)) != CSB_OK && a->what_if)
		return cli_fail(p->c, CSB_EINVAL, "%s: %s", p->file, err);
	if ((rc = published(p, &p->prev)) != CLI_OK)
		return rc;
	if (a->what_if) {
		what_if(p);
		return CLI_OK;
	}
	if (a->confirm && !cli_confirm(p->c, "Publish %s in place of the current topology?",
	                               p->file))
		return CLI_OK;
	if ((rc = save_previous(p)) != CLI_OK)
		return write_report(p, rc);
	rc = send(p, buf, len);
	if (rc == CLI_OK && !a->json) {
		printf("topology published from %s\n", p->file);
		if (p->backup[0] != '\0')
			printf("the previous topology is saved in %s (publish it to restore it)\n",
			       p->backup);
	}
	return write_report(p, rc);
}

int cli_publish_topology(struct cli *c)
{
	struct publish p = {.c = c, .file = c->a->file_name, .started_ms = csb_now_ms()};
	size_t len;
	char *buf;
	int rc;

	if ((buf = cli_read_file(p.file, FILE_MAX, &len)) == NULL)
		return cli_fail(c, CSB_EINVAL, "cannot read %s: %s", p.file, strerror(errno));
	rc = publish(&p, buf, len);
	free(buf);
	csb_topology_free(p.next);
	csb_topology_free(p.prev);
	return rc;
}
