/* Backup-CsPool (SPEC.md §4): resolve the backup pool, sync the selected modules and return
 * once the backup pool has imported every change made before; with -SteadyState or
 * -FullBackup, then check the export states every WaitTime, at most RetryCount times. Every
 * run that gets past -WhatIf and -Confirm leaves an HTML report (report.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/internal/cli.h"
#include "cli/internal/pool.h"
#include "cli/internal/report.h"
#include "common/clock.h"
#include "common/modules.h"
#include "common/parse.h"
#include "proto/failover.pb-c.h"
#include "proto/status.pb-c.h"

#define LIST_MAX 512 /* "Identity: State, …" of every module */

struct sent {
	const char *identity; /* a csb_modules[] name */
	uint64_t records, bytes, millis;
};

struct backup {
	struct cli *c;
	const csb_args *a;
	const char *pool;
	char backup[CLI_FQDN_BUF];
	bool hosts_cms;
	const char *mods[CSB_MODULE_COUNT];    /* selected, in status-table order */
	size_t n_mods;
	const char *synced[CSB_MODULE_COUNT];  /* those a Sync call covers */
	size_t n_synced;
	const char *checked[CSB_MODULE_COUNT]; /* those the checks look at */
	size_t n_checked;
	struct sent sent[CSB_MODULE_COUNT];
	size_t n_sent;
	const char *target;                    /* "SteadyState", "FinalState" or NULL */
	char last[LIST_MAX];                   /* the states of the last check */
	cli_report *rep;
	json_t *checks;                        /* --json: the checks as they happen */
	char report_path[CLI_PATH];
	csb_pool_entry entry;                  /* -FailedOverPoolOnly: the pool's state */
};

static void join(char *out, size_t len, const char *const *names, size_t n)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s", i ? ", " : "", names[i]);
}

/* A note for the administrator: on stdout now (not with --json: one document) and in the
 * report. */
static void note(struct backup *b, const char *text)
{
	if (!b->a->json)
		printf("%s\n", text);
	if (b->rep != NULL)
		cli_report_note(b->rep, "%s", text);
}

/* Appends one skipped module's line to skipped (len bytes), lines joined by "\n". */
static void note_skip(char *skipped, size_t len, const char *fmt, ...)
{
	size_t used = strlen(skipped);
	va_list ap;

	if (used > 0 && used + 1 < len) {
		skipped[used++] = '\n';
		skipped[used] = '\0';
	}
	va_start(ap, fmt);
	vsnprintf(skipped + used, len - used, fmt, ap);
	va_end(ap);
}

/* The modules of the category (all without one) and which of them are synced and checked.
 * The CMS is exported by the coordinator, not by the pool's agent: the coordinator syncs and
 * checks it for the pool that hosts it; it is skipped elsewhere (and with -LocalStore, whose
 * agent cannot see the coordinator's export). */
static void select_modules(struct backup *b, bool rgs, char *skipped, size_t len)
{
	const csb_args *a = b->a;

	skipped[0] = '\0';
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++) {
		const csb_module_def *m = &csb_modules[i];

		if (a->category < CSB_CAT_COUNT && m->category != a->category)
			continue;
		if (m->category == CSB_CAT_RGS && !rgs) { /* not replicated at all */
			note_skip(skipped, len, "%s: not backed up (EnableRgsBackupService is $false)",
			          m->name);
			continue;
		}
		b->mods[b->n_mods++] = m->name;
		if (m->category != CSB_CAT_CMS) {
			b->synced[b->n_synced++] = m->name;
			b->checked[b->n_checked++] = m->name;
		} else if (!b->hosts_cms) {
			note_skip(skipped, len, "%s: %s does not host the Central Management store; "
			          "nothing to back up", m->name, b->pool);
		} else if (a->local_store) {
			note_skip(skipped, len, "%s: exported by the coordinator, which -LocalStore does "
			          "not ask; not checked", m->name);
		} else {
			b->synced[b->n_synced++] = m->name; /* the coordinator's export */
			b->checked[b->n_checked++] = m->name;
		}
	}
}

static void what_if(struct backup *b)
{
	const char *covered[CSB_MODULE_COUNT] = {NULL};
	char list[LIST_MAX], wait[16];
	size_t n = 0;

	/* Every selected module the run would sync or check (the skipped CMS is neither). */
	for (size_t i = 0; i < b->n_mods; i++)
		for (size_t j = 0; j < b->n_checked; j++)
			if (b->mods[i] == b->checked[j])
				covered[n++] = b->mods[i];
	join(list, sizeof(list), covered, n);
	printf("What if: Performing the operation \"Backup-CsPool\" on target \"%s\": ", b->pool);
	if (n == 0) {
		printf("nothing to export to %s\n", b->backup);
		return;
	}
	printf("export %s to %s", list, b->backup);
	if (b->target != NULL) {
		csb_duration_format(b->a->wait_time_ms, wait, sizeof(wait));
		printf(", then wait until every module is %s (at most %llu checks, %s apart)",
		       strcmp(b->target, "FinalState") == 0 ? "FinalState" : "SteadyState or FinalState",
		       (unsigned long long)b->a->retry_count, wait);
	}
	printf("\n");
}

static struct sent *sent_row(struct backup *b, const char *identity)
{
	const csb_module_def *m = csb_module_find(identity);

	for (size_t i = 0; i < b->n_sent; i++)
		if (strcasecmp(b->sent[i].identity, identity) == 0)
			return &b->sent[i];
	if (m == NULL || b->n_sent == CSB_MODULE_COUNT)
		return NULL;
	b->sent[b->n_sent] = (struct sent){.identity = m->name};
	return &b->sent[b->n_sent++];
}

/* One Sync call (one module, or "" for every module the pool exports). */
static csb_err sync_one(struct backup *b, const char *module, char *err)
{
	const Csb__SyncReply *sy;
	ProtobufCMessage *owner;
	csb_err rv;

	rv = cli_pool_sync(b->c, b->pool, module, b->a->local_store, &sy, &owner, NULL, err);
	if (rv != CSB_OK)
		return rv;
	for (size_t i = 0; i < sy->n_modules; i++) {
		const Csb__ModuleSync *m = sy->modules[i];
		struct sent *s = sent_row(b, m->identity);

		if (s == NULL)
			continue;
		s->records += m->records;
		s->bytes += m->bytes;
		s->millis += m->millis;
		cli_report_module_sent(b->rep, s->identity, s->records, s->bytes, s->millis);
	}
	protobuf_c_message_free_unpacked(owner, NULL);
	return CSB_OK;
}

static void print_sent(struct backup *b)
{
	int w = (int)strlen("Identity");

	for (size_t i = 0; i < b->n_sent; i++)
		if ((int)strlen(b->sent[i].identity) > w)
			w = (int)strlen(b->sent[i].identity);
	printf("%-*s  %10s  %12s  %8s\n", w, "Identity", "Records", "Bytes", "Millis");
	printf("%-*s  %10s  %12s  %8s\n", w, "--------", "-------", "-----", "------");
	for (size_t i = 0; i < b->n_sent; i++)
		printf("%-*s  %10llu  %12llu  %8llu\n", w, b->sent[i].identity,
		       (unsigned long long)b->sent[i].records, (unsigned long long)b->sent[i].bytes,
		       (unsigned long long)b->sent[i].millis);
}

/* Syncs the selected modules: one call for all of them when no category narrows them
 * (the pool's agent syncs what it exports), else one per module. */
static csb_err sync_modules(struct backup *b, char *err)
{
	csb_err rv = CSB_OK;

	if (b->n_synced == 0)
		return CSB_OK;
	if (b->a->category >= CSB_CAT_COUNT)
		return sync_one(b, "", err);
	for (size_t i = 0; i < b->n_synced && rv == CSB_OK; i++)
		rv = sync_one(b, b->synced[i], err);
	return rv;
}

static bool state_reached(const char *target, int state)
{
	if (state == CSB__EXPORT_STATE__EXPORT_FINAL)
		return true;
	return strcmp(target, "SteadyState") == 0 && state == CSB__EXPORT_STATE__EXPORT_STEADY;
}

/* One check of the export states; *reached when every checked module is there. A status
 * that cannot be read is an error, or with -Force a warning and a check not reached. */
static csb_err check_once(struct backup *b, unsigned k, bool *reached, char *err)
{
	Csb__PoolStatus *ps = NULL;
	const char *states[CSB_MODULE_COUNT];
	uint64_t now = csb_now_ms();
	char t[40];
	csb_err rv;

	*reached = false;
	rv = cli_pool_status(b->c, b->pool, "", b->a->local_store, &ps, err);
	/* Without -Force (or when its warning would stop the cmdlet) this is the error. */
	if (rv != CSB_OK && (!b->a->force || b->a->warning_action == CSB_ACTION_STOP))
		return rv;
	*reached = rv == CSB_OK;
	for (size_t i = 0; i < b->n_checked; i++) {
		states[i] = "Unknown";
		for (size_t j = 0; ps != NULL && j < ps->n_backup_modules; j++)
			if (strcasecmp(ps->backup_modules[j]->identity, b->checked[i]) == 0) {
				states[i] = cli_export_state_name(ps->backup_modules[j]->export_status);
				*reached &= state_reached(b->target, ps->backup_modules[j]->export_status);
			}
		if (strcmp(states[i], "Unknown") == 0)
			*reached = false;
	}
	if (rv != CSB_OK) {
		cli_warn(b->c, "check %u: the status of %s cannot be read: %s", k, b->pool, err);
		cli_report_note(b->rep, "Check %u: the status of %s could not be read: %s", k, b->pool,
		                err);
	}
	b->last[0] = '\0';
	for (size_t i = 0, used = 0; i < b->n_checked && used < sizeof(b->last); i++)
		used += (size_t)snprintf(b->last + used, sizeof(b->last) - used, "%s%s: %s",
		                         i ? ", " : "", b->checked[i], states[i]);
	cli_report_add_check(b->rep, now, b->n_checked, b->checked, states, *reached);
	cli_time_rfc3339(now, t, sizeof(t));
	if (b->a->json) {
		json_t *mods = json_array();

		for (size_t i = 0; i < b->n_checked; i++)
			json_array_append_new(mods, json_pack("{s:s, s:s}", "Identity", b->checked[i],
			                                      "ExportStatus", states[i]));
		json_array_append_new(b->checks, json_pack("{s:I, s:s, s:o, s:b}", "Check",
		                                           (json_int_t)k, "Time", t, "Modules", mods,
		                                           "Reached", *reached));
	} else {
		printf("Check %u of %llu at %s: %s (%s)\n", k, (unsigned long long)b->a->retry_count, t,
		       *reached ? "reached" : "not yet", b->last);
		fflush(stdout);
	}
	if (ps != NULL)
		protobuf_c_message_free_unpacked(&ps->base, NULL);
	return CSB_OK;
}

/* Checks at most RetryCount times, WaitTime apart. CSB_OK and *reached, or the error of a
 * status that could not be read. */
static csb_err wait_states(struct backup *b, bool *reached, unsigned *checks, char *err)
{
	csb_err rv;

	*reached = false;
	for (unsigned k = 1; k <= b->a->retry_count; k++) {
		if (k > 1)
			csb_sleep_ms(b->a->wait_time_ms);
		*checks = k;
		if ((rv = check_once(b, k, reached, err)) != CSB_OK || *reached)
			return rv;
	}
	return CSB_OK;
}

/* Writes the report; a failure is a warning with -Force or when the backup failed anyway,
 * else the error (exit code returned). */
static int write_report(struct backup *b, int rc)
{
	if (cli_report_write(b->rep, b->report_path) != CSB_OK) {
		if (b->a->force || rc != CLI_OK) {
			int w = cli_warn(b->c, "cannot write the report %s: %s", b->report_path,
			                 strerror(errno));

			return rc == CLI_OK ? w : rc;
		}
		return cli_fail(b->c, CSB_EIO, "cannot write the report %s: %s", b->report_path,
		                strerror(errno));
	}
	if (!b->a->json)
		printf("Report: %s\n", b->report_path);
	return rc;
}

static void print_json(struct backup *b, const char *result)
{
	json_t *mods = json_array(), *doc;

	for (size_t i = 0; i < b->n_sent; i++)
		json_array_append_new(mods, json_pack("{s:s, s:I, s:I, s:I}", "Identity",
		                                      b->sent[i].identity, "Records",
		                                      (json_int_t)b->sent[i].records, "Bytes",
		                                      (json_int_t)b->sent[i].bytes, "Millis",
		                                      (json_int_t)b->sent[i].millis));
	doc = json_pack("{s:s, s:s, s:o, s:O, s:s, s:s}", "PoolFqdn", b->pool, "BackupPoolFqdn",
	                b->backup, "Modules", mods, "Checks", b->checks, "Result", result,
	                "Report", b->report_path);
	cli_print_json(doc, false);
	json_decref(doc);
}

/* -FailedOverPoolOnly: whether to go on; *rc set when not (skipped, or an error). */
static bool failed_over(struct backup *b, int *rc)
{
	char err[CSB_RPC_ERROR_MAX];
	const char *state;
	csb_pool_entry e;
	csb_err rv;

	if ((rv = cli_pool_entry(b->c, b->pool, b->a->local_store, &e, err)) != CSB_OK) {
		*rc = cli_fail(b->c, rv, "%s", err);
		return false;
	}
	if (e.state == CSB_POOL_FAILED_OVER) {
		b->entry = e;
		return true;
	}
	state = csb_pool_state_name(e.state);
	*rc = cli_warn(b->c, "%s is not failed over (%s); skipped", b->pool, state);
	cli_report_finish(b->rep, CLI_REPORT_SKIPPED, "%s is not failed over (%s)", b->pool, state);
	if (b->a->json && *rc == CLI_OK)
		print_json(b, "Skipped");
	*rc = write_report(b, *rc);
	return false;
}

/* The sync and the checks, once everything is settled; returns the exit code. */
/* What the backup copies hold once caught up, for modules the sync found already
 * replicated (the report says so instead of a bare 0). A status that cannot be read only
 * leaves the plain 0. */
static void note_held(struct backup *b)
{
	Csb__PoolStatus *ps = NULL;
	char err[CSB_RPC_ERROR_MAX];

	if (cli_pool_status(b->c, b->pool, "", b->a->local_store, &ps, err) != CSB_OK)
		return;
	for (size_t i = 0; i < ps->n_backup_modules; i++)
		cli_report_module_held(b->rep, ps->backup_modules[i]->identity,
		                       ps->backup_modules[i]->records);
	protobuf_c_message_free_unpacked(&ps->base, NULL);
}

static int run(struct backup *b)
{
	char err[CSB_RPC_ERROR_MAX], list[LIST_MAX];
	unsigned checks = 0;
	bool reached = false;
	csb_err rv;
	int rc;

	join(list, sizeof(list), b->synced, b->n_synced);
	if (!b->a->json)
		printf("Backing up %s to %s: %s\n", b->pool, b->backup,
		       b->n_synced ? list : "(no module to sync)");
	if ((rv = sync_modules(b, err)) != CSB_OK) {
		cli_report_finish(b->rep, CLI_REPORT_FAILED, "the sync failed: %s", err);
		if (b->a->json)
			print_json(b, "Failed");
		rc = write_report(b, cli_exit_code(rv));
		cli_fail(b->c, rv, "%s: %s", b->pool, err);
		return rc;
	}
	if (!b->a->json && b->n_sent > 0)
		print_sent(b);
	note_held(b);
	if (b->target != NULL && b->n_checked > 0)
		rv = wait_states(b, &reached, &checks, err);
	if (rv != CSB_OK) {
		cli_report_finish(b->rep, CLI_REPORT_FAILED, "the status could not be read: %s", err);
		if (b->a->json)
			print_json(b, "Failed");
		rc = write_report(b, cli_exit_code(rv));
		cli_fail(b->c, rv, "%s: %s", b->pool, err);
		return rc;
	}
	if (b->target != NULL && b->n_checked > 0 && !reached) {
		cli_report_finish(b->rep, CLI_REPORT_FAILED, "%s did not reach %s after %u check%s (%s)",
		                  b->pool, b->target, checks, checks == 1 ? "" : "s", b->last);
		if (b->a->json)
			print_json(b, "Failed");
		write_report(b, CLI_FAILED);
		cli_fail(b->c, CSB_ETIMEDOUT, "%s did not reach %s after %u check%s (%s)", b->pool,
		         b->target, checks, checks == 1 ? "" : "s", b->last);
		return CLI_FAILED;
	}
	if (b->target != NULL)
		cli_report_finish(b->rep, CLI_REPORT_SUCCEEDED, "every module reached %s (check %u)",
		                  strcmp(b->target, "FinalState") == 0 ? "FinalState"
		                                                       : "SteadyState or FinalState",
		                  checks);
	else
		cli_report_finish(b->rep, CLI_REPORT_SUCCEEDED,
		                  "%s has imported every change made before the backup", b->backup);
	if (b->a->json)
		print_json(b, "Succeeded");
	else
		printf("%s is backed up to %s.\n", b->pool, b->backup);
	return write_report(b, CLI_OK);
}

/* -FailedOverPoolOnly -FullBackup on a failed-over pool: the pool (back, and fenced) follows
 * the data its backup pool serves for it up to what it serves now, so that the failback has
 * only the last changes to move (SPEC.md §4). The same catch-up as a failback's, without its
 * final fence: FinalState is the pool's copy at the serving side's high seq when asked. */
static int drain(struct backup *b)
{
	Csb__FailoverStep st = CSB__FAILOVER_STEP__INIT;
	Csb__FailoverModule mods[CSB_POOL_MODULES_MAX], *mp[CSB_POOL_MODULES_MAX];
	Csb__FailoverStepReply *out = NULL;
	uint32_t wait = b->a->wait_time_ms ? (uint32_t)b->a->wait_time_ms : 60000;
	uint64_t t0 = csb_mono_ms();
	char err[CSB_RPC_ERROR_MAX];
	csb_err rv;

	for (size_t i = 0; i < b->entry.n_modules; i++) {
		csb__failover_module__init(&mods[i]);
		mods[i].identity = b->entry.modules[i].identity;
		mods[i].fork_seq = b->entry.modules[i].fork_seq;
		mp[i] = &mods[i];
	}
	st.pool = (char *)b->pool;
	st.epoch = b->entry.epoch;
	st.modules = mp;
	st.n_modules = b->entry.n_modules;
	st.timeout_ms = wait;
	st.restore = b->entry.restore;
	if (!b->a->json)
		printf("Draining what %s serves for %s back to %s\n", b->backup, b->pool, b->pool);
	rv = cli_agent_call(b->c, b->pool, "csb.Failover/Catchup", &st.base,
	                    &csb__failover_step_reply__descriptor, wait + 10000,
	                    (ProtobufCMessage **)&out, err);
	if (rv != CSB_OK) {
		cli_report_finish(b->rep, CLI_REPORT_FAILED, "the drain failed: %s", err);
		if (b->a->json)
			print_json(b, "Failed");
		write_report(b, cli_exit_code(rv));
		return cli_fail(b->c, rv, "%s: %s", b->pool, err);
	}
	for (size_t i = 0; i < out->n_modules && b->n_sent < CSB_MODULE_COUNT; i++) {
		const Csb__FailoverModule *m = out->modules[i];
		const csb_module_def *def = csb_module_find(m->identity);

		if (m->skipped || def == NULL)
			continue;
		b->sent[b->n_sent++] = (struct sent){def->name, m->records_moved, 0,
		                                     csb_mono_ms() - t0};
		(void)cli_report_module_sent(b->rep, def->name, m->records_moved, 0,
		                             csb_mono_ms() - t0);
	}
	protobuf_c_message_free_unpacked(&out->base, NULL);
	cli_report_finish(b->rep, CLI_REPORT_SUCCEEDED, "%s reached FinalState with the data %s "
	                  "serves for it", b->pool, b->backup);
	if (b->a->json) {
		print_json(b, "Succeeded");
	} else {
		print_sent(b);
		printf("%s is at FinalState with what %s serves for it (records followed since the "
		       "failover).\n", b->pool, b->backup);
	}
	return write_report(b, CLI_OK);
}

int cli_backup_pool(struct cli *c)
{
	const csb_args *a = c->a;
	struct backup b = {.c = c, .a = a, .pool = a->pool_fqdn};
	char err[CSB_RPC_ERROR_MAX], skipped[LIST_MAX];
	csb_backup_config cfg;
	csb_err rv;
	int rc;

	b.target = a->full_backup ? "FinalState" : a->steady_state ? "SteadyState" : NULL;
	rv = cli_pool_topology(c, b.pool, a->local_store, b.backup, &b.hosts_cms, err);
	if (rv != CSB_OK)
		return cli_fail(c, rv, "%s", err);
	if (b.backup[0] == '\0')
		return cli_fail(c, CSB_ENOTFOUND, "%s has no backup pool in the topology", b.pool);
	if ((rv = cli_backup_config(c, a->local_store, &cfg, err)) != CSB_OK)
		return cli_fail(c, rv, "%s", err);
	select_modules(&b, cfg.enable_rgs_backup_service, skipped, sizeof(skipped));
	if (b.n_synced == 0 && b.n_checked == 0 && !cfg.enable_rgs_backup_service &&
	    a->category == CSB_CAT_RGS)
		return cli_fail(c, CSB_ENOTFOUND, "nothing to back up: the RGS modules are not backed "
		                "up (EnableRgsBackupService is $false)");
	if (a->what_if) {
		what_if(&b);
		return CLI_OK;
	}
	if (a->confirm && !cli_confirm(c, "Back up %s to %s?", b.pool, b.backup))
		return CLI_OK;
	if ((b.rep = cli_report_new(b.pool)) == NULL || (b.checks = json_array()) == NULL) {
		cli_report_free(b.rep);
		return cli_fail(c, CSB_ENOMEM, "out of memory");
	}
	if (a->report != NULL)
		snprintf(b.report_path, sizeof(b.report_path), "%s", a->report);
	else
		cli_report_default_path(b.pool, csb_now_ms(), b.report_path, sizeof(b.report_path));
	cli_report_set_backup(b.rep, b.backup);
	cli_report_set_wait(b.rep, b.target, a->retry_count, a->wait_time_ms);
	for (size_t i = 0; i < b.n_mods; i++)
		cli_report_add_module(b.rep, b.mods[i], false, 0, 0, 0);
	if (skipped[0] != '\0')
		note(&b, skipped);
	if (!a->failed_over_pool_only)
		rc = run(&b);
	else if (failed_over(&b, &rc))
		rc = a->full_backup ? drain(&b) : run(&b);
	cli_report_free(b.rep);
	json_decref(b.checks);
	return rc;
}
