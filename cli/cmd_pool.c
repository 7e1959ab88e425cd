/* The pool cmdlets: Invoke-CsBackupServiceSync, Get-CsBackupServiceStatus, Test-CsBackupData
 * and Get-CsPoolState (Backup-CsPool is in cmd_backup.c), through the coordinator's Admin
 * service; the helpers of cli/internal/pool.h that they share with cmd_backup.c and
 * cmd_data.c; and the failover cmdlets, which this version does not have yet. */
#include <ctype.h>
#include <inttypes.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "model/cms.h"
#include "cli/internal/cli.h"
#include "cli/internal/pool.h"
#include "cli/internal/report.h"
#include "common/clock.h"
#include "common/modules.h"
#include "common/parse.h"
#include "common/retry.h"
#include "proto/admin.pb-c.h"
#include "proto/failover.pb-c.h"
#include "proto/status.pb-c.h"

#define STDIN_POOLS_MAX 4096
#define VERIFY_TIMEOUT_MS 120000

/* ---- Shared helpers (cli/internal/pool.h) ------------------------------------------ */

static const char *const export_names[] = {"NotInitialized", "NonSteadyState", "SteadyState",
                                           "FinalState", "ErrorState"};
static const char *const import_names[] = {"NotInitialized", "NormalState", "ErrorState"};

const char *cli_export_state_name(int state)
{
	return state >= 0 && state < 5 ? export_names[state] : "Unknown";
}

const char *cli_import_state_name(int state)
{
	return state >= 0 && state < 3 ? import_names[state] : "Unknown";
}

csb_err cli_agent_call(struct cli *c, const char *pool, const char *method,
                       const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
                       uint32_t timeout_ms, ProtobufCMessage **out, char *err)
{
	csb_retry_policy pol = {3, 500, 200, 0};
	csb_rpc_client *agent;
	csb_retry r;
	csb_err rv;

	cli_verbose(c, "%s at the agent of %s", method, pool);
	err[0] = '\0';
	if ((rv = cli_agent(c, pool, &agent, err)) != CSB_OK)
		return rv;
	csb_retry_start(&r, &pol);
	do {
		rv = csb_rpc_call_msg(agent, method, req, desc, timeout_ms, out, err);
	} while ((rv == CSB_ENOTCONN || rv == CSB_EBUSY) && csb_retry_wait(&r));
	/* CSB_ENOTCONN's err already says "<pool> at <url>: <why>". */
	if (rv != CSB_ENOTCONN && csb_err_retryable(rv) && (err[0] == '\0' || rv == CSB_ETIMEDOUT))
		snprintf(err, CSB_RPC_ERROR_MAX, "the agent of %s did not answer (%s)", pool,
		         csb_strerror(rv));
	return rv;
}

csb_err cli_pool_status(struct cli *c, const char *pool, const char *category, bool local,
                        Csb__PoolStatus **out, char *err)
{
	Csb__PoolRequest pr = CSB__POOL_REQUEST__INIT;
	Csb__StatusRequest sr = CSB__STATUS_REQUEST__INIT;

	if (local) {
		sr.category = (char *)category;
		return cli_agent_call(c, pool, "csb.Control/Status", &sr.base,
		                      &csb__pool_status__descriptor, CLI_STATUS_TIMEOUT_MS,
		                      (ProtobufCMessage **)out, err);
	}
	pr.pool_fqdn = (char *)pool;
	pr.category = (char *)category;
	return cli_admin(c, "csb.Admin/GetPoolStatus", &pr.base, &csb__pool_status__descriptor,
	                 CLI_STATUS_TIMEOUT_MS, true, (ProtobufCMessage **)out, err);
}

csb_err cli_pool_sync(struct cli *c, const char *pool, const char *module, bool local,
                      const Csb__SyncReply **sync, ProtobufCMessage **owner, char *backup,
                      char *err)
{
	Csb__PoolRequest pr = CSB__POOL_REQUEST__INIT;
	Csb__SyncRequest sr = CSB__SYNC_REQUEST__INIT;
	Csb__PoolSyncReply *ps = NULL;
	Csb__SyncReply *sy = NULL;
	csb_err rv;

	*owner = NULL;
	if (local) {
		sr.module = (char *)(module ? module : "");
		sr.timeout_ms = CLI_SYNC_TIMEOUT_MS;
		rv = cli_agent_call(c, pool, "csb.Control/SyncNow", &sr.base,
		                    &csb__sync_reply__descriptor, CLI_SYNC_TIMEOUT_MS + 10000,
		                    (ProtobufCMessage **)&sy, err);
		if (rv == CSB_OK) {
			*sync = sy;
			*owner = &sy->base;
		}
		return rv;
	}
	pr.pool_fqdn = (char *)pool;
	pr.module = (char *)(module ? module : "");
	pr.timeout_ms = CLI_SYNC_TIMEOUT_MS;
	rv = cli_admin(c, "csb.Admin/Sync", &pr.base, &csb__pool_sync_reply__descriptor,
	               CLI_SYNC_TIMEOUT_MS + 15000, true, (ProtobufCMessage **)&ps, err);
	if (rv != CSB_OK)
		return rv;
	if (ps->sync == NULL) {
		protobuf_c_message_free_unpacked(&ps->base, NULL);
		snprintf(err, CSB_RPC_ERROR_MAX, "the coordinator's sync answer has no modules");
		return CSB_EPROTO;
	}
	if (backup != NULL)
		snprintf(backup, CLI_FQDN_BUF, "%s", ps->backup_pool_fqdn);
	*sync = ps->sync;
	*owner = &ps->base;
	return CSB_OK;
}

csb_err cli_replica_get(struct cli *c, const char *key, char **json, char *err)
{
	Csb__ReplicaRequest rq = CSB__REPLICA_REQUEST__INIT;
	Csb__ReplicaReply *out = NULL;
	csb_rpc_client *agent;
	csb_err rv;

	rq.key = (char *)key;
	if ((rv = cli_local_agent(c, &agent, err)) != CSB_OK)
		return rv;
	rv = csb_rpc_call_msg(agent, "csb.Control/Replica", &rq.base, &csb__replica_reply__descriptor,
	                      CLI_STATUS_TIMEOUT_MS, (ProtobufCMessage **)&out, err);
	if (rv != CSB_OK)
		return rv;
	if (!out->found) {
		snprintf(err, CSB_RPC_ERROR_MAX, "the local store has no %s yet", key);
		rv = CSB_ENOTFOUND;
	} else if ((*json = malloc(out->value.len + 1)) == NULL) {
		rv = CSB_ENOMEM;
	} else {
		memcpy(*json, out->value.data, out->value.len);
		(*json)[out->value.len] = '\0';
	}
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return rv;
}

/* A CMS snapshot for model/cms.h: the local agent's replica, key by key. */
static csb_err replica_view_get(void *ctx, const char *key, char **out, char *err)
{
	return cli_replica_get(ctx, key, out, err);
}

/* The coordinator's topology and configuration as a snapshot (Admin/GetTopology,
 * Admin/GetConfig). */
static csb_err coordinator_view_get(void *ctx, const char *key, char **out, char *err)
{
	Csb__Empty e = CSB__EMPTY__INIT;
	Csb__JsonDoc *doc = NULL;
	const char *method = strcmp(key, CSB_CMS_KEY_TOPOLOGY) == 0 ? "csb.Admin/GetTopology"
	                     : strcmp(key, CSB_CMS_KEY_CONFIG) == 0 ? "csb.Admin/GetConfig"
	                                                            : NULL;
	csb_err rv;

	if (method == NULL)
		return CSB_ENOTFOUND;
	rv = cli_admin(ctx, method, &e.base, &csb__json_doc__descriptor, CLI_STATE_TIMEOUT_MS, true,
	               (ProtobufCMessage **)&doc, err);
	if (rv != CSB_OK)
		return rv;
	*out = strdup(doc->json);
	protobuf_c_message_free_unpacked(&doc->base, NULL);
	return *out ? CSB_OK : CSB_ENOMEM;
}

csb_err cli_pool_entry(struct cli *c, const char *pool, bool local, csb_pool_entry *out,
                       char *err)
{
	Csb__PoolRequest pr = CSB__POOL_REQUEST__INIT;
	Csb__PoolStateReply *rep = NULL;
	csb_cms_view v = {replica_view_get, c, "local store's"};
	csb_err rv;

	if (local) /* the replica keeps what the coordinator keeps */
		return csb_cms_pool_entry(&v, pool, out, err);
	pr.pool_fqdn = (char *)pool;
	rv = cli_admin(c, "csb.Admin/GetPoolState", &pr.base, &csb__pool_state_reply__descriptor,
	               CLI_STATE_TIMEOUT_MS, true, (ProtobufCMessage **)&rep, err);
	if (rv != CSB_OK)
		return rv;
	csb_pool_entry_default(pool, out);
	if (rep->entry_json[0] != '\0' &&
	    csb_pool_entry_parse(rep->entry_json, strlen(rep->entry_json), out, err,
	                         CSB_RPC_ERROR_MAX) != CSB_OK) {
		protobuf_c_message_free_unpacked(&rep->base, NULL);
		return CSB_EPROTO;
	}
	if (!csb_pool_state_parse(rep->state, &out->state)) {
		snprintf(err, CSB_RPC_ERROR_MAX, "the coordinator answered an unknown state %.100s",
		         rep->state);
		rv = CSB_EPROTO;
	}
	if (rep->served_by[0] != '\0')
		snprintf(out->served_by, sizeof(out->served_by), "%s", rep->served_by);
	out->epoch = rep->epoch;
	snprintf(out->reason, sizeof(out->reason), "%s", rep->reason);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return rv;
}

csb_err cli_backup_config(struct cli *c, bool local, csb_backup_config *out, char *err)
{
	csb_cms_view v = local ? (csb_cms_view){replica_view_get, c, "local store's"}
	                       : (csb_cms_view){coordinator_view_get, c, "published"};

	return csb_cms_config(&v, out, err);
}

csb_err cli_pool_topology(struct cli *c, const char *pool, bool local, char *backup,
                          bool *hosts_cms, char *err)
{
	csb_cms_view v = local ? (csb_cms_view){replica_view_get, c, "local store's"}
	                       : (csb_cms_view){coordinator_view_get, c, "published"};
	char b[CSB_FQDN_MAX + 1];
	csb_err rv = csb_cms_relationship(&v, pool, b, hosts_cms, err);

	if (rv == CSB_OK)
		snprintf(backup, CLI_FQDN_BUF, "%s", b);
	return rv;
}

/* ---- Invoke-CsBackupServiceSync -------------------------------------------------------- */

struct pool_list {
	char (*fqdn)[CLI_FQDN_BUF];
	size_t n;
};

/* Pipeline input: one FQDN per line, blank lines skipped; every line is checked before any
 * pool is synced, so that a typo changes nothing. */
static int read_pools(struct cli *c, struct pool_list *pl)
{
	char *line = NULL, why[96];
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int rc = CLI_OK;

	pl->fqdn = calloc(STDIN_POOLS_MAX, sizeof(*pl->fqdn));
	if (pl->fqdn == NULL)
		return cli_fail(c, CSB_ENOMEM, "out of memory");
	while (rc == CLI_OK && (len = getline(&line, &cap, stdin)) >= 0) {
		char *s = line, *end = line + len;

		lineno++;
		while (end > s && isspace((unsigned char)end[-1]))
			*--end = '\0';
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			continue;
		if (pl->n == STDIN_POOLS_MAX)
			rc = cli_fail(c, CSB_EINVAL, "more than %d pools on stdin", STDIN_POOLS_MAX);
		else if (csb_fqdn_parse(s, pl->fqdn[pl->n], why, sizeof(why)) != CSB_OK)
			rc = cli_fail(c, CSB_EINVAL, "stdin line %zu: '%.200s' is not a valid FQDN (%s)",
			              lineno, s, why);
		else
			pl->n++;
	}
	free(line);
	if (rc == CLI_OK && ferror(stdin))
		rc = cli_fail(c, CSB_EIO, "cannot read pools from stdin: %s", strerror(errno));
	if (rc == CLI_OK && pl->n == 0)
		rc = cli_fail(c, CSB_EINVAL, "no pool FQDN on stdin");
	return rc;
}

static void print_sync_table(const char *pool, const char *backup, const Csb__SyncReply *sy)
{
	int w = (int)strlen("Identity");

	for (size_t i = 0; i < sy->n_modules; i++)
		if ((int)strlen(sy->modules[i]->identity) > w)
			w = (int)strlen(sy->modules[i]->identity);
	printf("PoolFqdn       : %s\nBackupPoolFqdn : %s\n\n", pool, backup);
	printf("%-*s  %10s  %12s  %8s\n", w, "Identity", "Records", "Bytes", "Millis");
	printf("%-*s  %10s  %12s  %8s\n", w, "--------", "-------", "-----", "------");
	for (size_t i = 0; i < sy->n_modules; i++) {
		const Csb__ModuleSync *m = sy->modules[i];

		printf("%-*s  %10llu  %12llu  %8llu\n", w, m->identity, (unsigned long long)m->records,
		       (unsigned long long)m->bytes, (unsigned long long)m->millis);
	}
}

static json_t *sync_json(const char *pool, const char *backup, const Csb__SyncReply *sy)
{
	json_t *mods = json_array();

	for (size_t i = 0; i < sy->n_modules; i++) {
		const Csb__ModuleSync *m = sy->modules[i];

		json_array_append_new(mods, json_pack("{s:s, s:I, s:I, s:I}", "Identity", m->identity,
		                                      "Records", (json_int_t)m->records, "Bytes",
		                                      (json_int_t)m->bytes, "Millis",
		                                      (json_int_t)m->millis));
	}
	return json_pack("{s:s, s:s, s:o}", "PoolFqdn", pool, "BackupPoolFqdn", backup, "Modules",
	                 mods);
}

/* Whether a pool of the pipeline input that fails leaves the others to be synced:
 * -ErrorAction Continue or SilentlyContinue, or without -ErrorAction, -Force. */
static bool go_on(const csb_args *a)
{
	if (a->error_action != CSB_ACTION_NONE)
		return a->error_action != CSB_ACTION_STOP;
	return a->force;
}

/* A pool of the pipeline input that was not synced, the others going on: a warning with
 * -Force, its error line with -ErrorAction Continue, nothing with SilentlyContinue.
 * CLI_OK, or the exit code of -WarningAction Stop. */
static int pool_failed(struct cli *c, const char *pool, csb_err rv, const char *err)
{
	if (c->a->force)
		return cli_warn(c, "%s was not synced: %s", pool, err);
	if (c->a->error_action != CSB_ACTION_SILENT)
		cli_fail(c, rv, "%s: %s", pool, err);
	return CLI_OK;
}

static int sync_cmd(struct cli *c)
{
	const csb_args *a = c->a;
	struct pool_list pl = {0};
	json_t *pools = json_array();
	const Csb__SyncReply *sy;
	ProtobufCMessage *owner;
	char err[CSB_RPC_ERROR_MAX], backup[CLI_FQDN_BUF];
	size_t failed = 0;
	csb_err rv, first = CSB_OK;
	int rc = CLI_OK;

	if (a->pool_from_stdin || a->pool_fqdn[0] == '\0') {
		if (!a->pool_from_stdin && isatty(STDIN_FILENO)) {
			rc = cli_fail(c, CSB_EINVAL, "%s is required", csb_args_param_name(CSB_P_POOL_FQDN));
			goto out;
		}
		if ((rc = read_pools(c, &pl)) != CLI_OK)
			goto out;
	} else if ((pl.fqdn = calloc(1, sizeof(*pl.fqdn))) == NULL) {
		rc = cli_fail(c, CSB_ENOMEM, "out of memory");
		goto out;
	} else {
		snprintf(pl.fqdn[0], sizeof(pl.fqdn[0]), "%s", a->pool_fqdn);
		pl.n = 1;
	}
	for (size_t i = 0; i < pl.n; i++) {
		const char *pool = pl.fqdn[i];

		if (pl.n > 1)
			cli_verbose(c, "pool %zu of %zu: %s", i + 1, pl.n, pool);
		rv = cli_pool_sync(c, pool, a->module ? a->module->name : "", false, &sy, &owner, backup,
		                   err);
		if (rv != CSB_OK) {
			if (pl.n == 1 || !go_on(a)) {
				rc = cli_fail(c, rv, "%s: %s", pool, err);
				goto out;
			}
			if (first == CSB_OK)
				first = rv;
			failed++;
			if ((rc = pool_failed(c, pool, rv, err)) != CLI_OK)
				goto out;
			continue;
		}
		if (a->json) {
			json_array_append_new(pools, sync_json(pool, backup, sy));
		} else {
			if (i > failed)
				putchar('\n'); /* between the tables of the pools synced */
			print_sync_table(pool, backup, sy);
			fflush(stdout);
		}
		protobuf_c_message_free_unpacked(owner, NULL);
	}
	if (a->json) {
		json_t *doc = json_pack("{s:O}", "Pools", pools);

		cli_print_json(doc, false);
		json_decref(doc);
	}
	if (failed > 0)
		rc = cli_fail(c, first, "%zu of %zu pools were not synced%s", failed, pl.n,
		              a->force ? (a->warning_action == CSB_ACTION_SILENT
		                              ? "" : " (see the warnings above)")
		              : a->error_action == CSB_ACTION_SILENT ? "" : " (see above)");
out:
	json_decref(pools);
	free(pl.fqdn);
	return rc;
}

/* ---- Get-CsBackupServiceStatus ----------------------------------------------------------- */

static json_t *time_json(uint64_t ms)
{
	char t[40];

	if (ms == 0)
		return json_null();
	cli_time_rfc3339(ms, t, sizeof(t));
	return json_string(t);
}

static json_t *status_json(const Csb__PoolStatus *ps)
{
	json_t *mods = json_array();

	for (size_t i = 0; i < ps->n_backup_modules; i++) {
		const Csb__ModuleStatus *m = ps->backup_modules[i];
		json_t *o = json_object();

		json_object_set_new(o, "Identity", json_string(m->identity));
		json_object_set_new(o, "ExportStatus",
		                    json_string(cli_export_state_name(m->export_status)));
		json_object_set_new(o, "ImportStatus",
		                    json_string(cli_import_state_name(m->import_status)));
		json_object_set_new(o, "HighSeq", json_integer((json_int_t)m->high_seq));
		json_object_set_new(o, "ExportedSeq", json_integer((json_int_t)m->exported_seq));
		json_object_set_new(o, "ImportedSeq", json_integer((json_int_t)m->imported_seq));
		json_object_set_new(o, "LagRecords", json_integer((json_int_t)m->lag_records));
		json_object_set_new(o, "LagSeconds", json_real(m->lag_seconds));
		json_object_set_new(o, "LastExportTime", time_json(m->last_export_time_ms));
		json_object_set_new(o, "LastImportTime", time_json(m->last_import_time_ms));
		json_object_set_new(o, "LastError", m->last_error && m->last_error[0]
		                                        ? json_string(m->last_error)
		                                        : json_null());
		json_object_set_new(o, "ExportedRecordsTotal",
		                    json_integer((json_int_t)m->exported_records_total));
		json_object_set_new(o, "ExportedBytesTotal",
		                    json_integer((json_int_t)m->exported_bytes_total));
		json_array_append_new(mods, o);
	}
	return json_pack("{s:s, s:s, s:o}", "PoolFqdn", ps->pool_fqdn, "BackupPoolFqdn",
	                 ps->backup_pool_fqdn, "BackupModules", mods);
}

static void print_status(const Csb__PoolStatus *ps)
{
	int w = (int)strlen("Identity");
	bool errors = false;

	for (size_t i = 0; i < ps->n_backup_modules; i++) {
		if ((int)strlen(ps->backup_modules[i]->identity) > w)
			w = (int)strlen(ps->backup_modules[i]->identity);
		errors |= ps->backup_modules[i]->last_error[0] != '\0';
	}
	printf("PoolFqdn       : %s\nBackupPoolFqdn : %s\n\n", ps->pool_fqdn, ps->backup_pool_fqdn);
	printf("%-*s  %-14s  %-14s  %10s  %10s\n", w, "Identity", "ExportStatus", "ImportStatus",
	       "LagRecords", "LagSeconds");
	printf("%-*s  %-14s  %-14s  %10s  %10s\n", w, "--------", "------------", "------------",
	       "----------", "----------");
	for (size_t i = 0; i < ps->n_backup_modules; i++) {
		const Csb__ModuleStatus *m = ps->backup_modules[i];

		printf("%-*s  %-14s  %-14s  %10llu  %10.1f\n", w, m->identity,
		       cli_export_state_name(m->export_status), cli_import_state_name(m->import_status),
		       (unsigned long long)m->lag_records, m->lag_seconds);
	}
	if (!errors)
		return;
	putchar('\n');
	for (size_t i = 0; i < ps->n_backup_modules; i++)
		if (ps->backup_modules[i]->last_error[0] != '\0')
			printf("LastError %s: %s\n", ps->backup_modules[i]->identity,
			       ps->backup_modules[i]->last_error);
}

/* Warnings of Get-CsBackupServiceStatus (none with -Force): -BypassDualWrite, which means
 * nothing here, and modules in ErrorState. CLI_OK, or the exit code of -WarningAction Stop. */
static int status_warnings(struct cli *c, const Csb__PoolStatus *ps)
{
	int rc = CLI_OK;

	if (c->a->force)
		return CLI_OK;
	if (csb_args_given(c->a, CSB_P_BYPASS_DUAL_WRITE))
		rc = cli_warn(c, "-BypassDualWrite has no effect: csbackup writes the Central "
		                 "Management store once, so there is no dual write to bypass, and "
		                 "this cmdlet only reads");
	for (size_t i = 0; rc == CLI_OK && i < ps->n_backup_modules; i++) {
		const Csb__ModuleStatus *m = ps->backup_modules[i];

		if (m->export_status == CSB__EXPORT_STATE__EXPORT_ERROR ||
		    m->import_status == CSB__IMPORT_STATE__IMPORT_ERROR)
			rc = cli_warn(c, "%s is in ErrorState%s%s", m->identity,
			              m->last_error[0] ? ": " : "", m->last_error);
	}
	return rc;
}

static int status_cmd(struct cli *c)
{
	const csb_args *a = c->a;
	Csb__PoolStatus *ps = NULL;
	char err[CSB_RPC_ERROR_MAX];
	const char *cat = a->category < CSB_CAT_COUNT ? csb_category_name(a->category) : "";
	csb_err rv;
	int rc;

	rv = cli_pool_status(c, a->pool_fqdn, cat, a->local_store, &ps, err);
	if (rv != CSB_OK)
		return cli_fail(c, rv, "%s", err);
	if ((rc = status_warnings(c, ps)) == CLI_OK && a->json) {
		json_t *doc = status_json(ps);

		cli_print_json(doc, false);
		json_decref(doc);
	} else if (rc == CLI_OK) {
		print_status(ps);
	}
	protobuf_c_message_free_unpacked(&ps->base, NULL);
	return rc;
}

/* ---- Test-CsBackupData ------------------------------------------------------------------- */

static bool printable(const ProtobufCBinaryData *k)
{
	for (size_t i = 0; i < k->len; i++)
		if (k->data[i] < 0x20 || k->data[i] > 0x7e)
			return false;
	return true;
}

/* A range end as shown: "text" when printable, else 0x…; open ends as (start) / (end).
 * Without quotes when `bare` (JSON). */
static void key_text(const ProtobufCBinaryData *k, bool open, bool lo, bool bare, char *out,
                     size_t len)
{
	size_t n = 0;

	if (open) {
		snprintf(out, len, "%s", lo ? "(start)" : "(end)");
		return;
	}
	if (printable(k)) {
		snprintf(out, len, bare ? "%.*s" : "\"%.*s\"", (int)k->len, (const char *)k->data);
		return;
	}
	n = (size_t)snprintf(out, len, "0x");
	for (size_t i = 0; i < k->len && n + 3 < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%02x", k->data[i]);
}

static json_t *verify_json(const Csb__PoolVerifyReply *vr, bool equal)
{
	json_t *mods = json_array();
	char lo[1024], hi[1024];

	for (size_t i = 0; i < vr->verify->n_modules; i++) {
		const Csb__ModuleVerify *m = vr->verify->modules[i];
		json_t *diffs = json_array();

		for (size_t j = 0; j < m->n_diffs; j++) {
			const Csb__KeyRangeText *r = m->diffs[j]->range;

			key_text(&r->lo, r->lo_open, true, true, lo, sizeof(lo));
			key_text(&r->hi, r->hi_open, false, true, hi, sizeof(hi));
			json_array_append_new(diffs, json_pack("{s:o, s:o, s:I, s:I}", "Lo",
			                                       r->lo_open ? json_null() : json_string(lo),
			                                       "Hi",
			                                       r->hi_open ? json_null() : json_string(hi),
			                                       "PrimaryCount",
			                                       (json_int_t)m->diffs[j]->primary_count,
			                                       "BackupCount",
			                                       (json_int_t)m->diffs[j]->backup_count));
		}
		json_array_append_new(mods, json_pack("{s:s, s:b, s:I, s:I, s:I, s:o}", "Identity",
		                                      m->identity, "Equal", m->equal, "PrimaryCount",
		                                      (json_int_t)m->primary_count, "BackupCount",
		                                      (json_int_t)m->backup_count, "Seq",
		                                      (json_int_t)m->seq, "Diffs", diffs));
	}
	return json_pack("{s:s, s:s, s:b, s:o}", "PoolFqdn", vr->pool_fqdn, "BackupPoolFqdn",
	                 vr->backup_pool_fqdn, "Equal", equal, "Modules", mods);
}

static void print_verify(const Csb__PoolVerifyReply *vr)
{
	char lo[1024], hi[1024];

	for (size_t i = 0; i < vr->verify->n_modules; i++) {
		const Csb__ModuleVerify *m = vr->verify->modules[i];

		if (m->equal) {
			printf("%s: equal (%llu records at seq %llu)\n", m->identity,
			       (unsigned long long)m->primary_count, (unsigned long long)m->seq);
			continue;
		}
		printf("%s: DIFFERENT (primary %llu records, backup copy %llu records, at seq %llu)\n",
		       m->identity, (unsigned long long)m->primary_count,
		       (unsigned long long)m->backup_count, (unsigned long long)m->seq);
		for (size_t j = 0; j < m->n_diffs; j++) {
			const Csb__KeyRangeText *r = m->diffs[j]->range;

			key_text(&r->lo, r->lo_open, true, false, lo, sizeof(lo));
			key_text(&r->hi, r->hi_open, false, false, hi, sizeof(hi));
			printf("  [%s, %s)  primary %llu records, backup copy %llu records\n", lo, hi,
			       (unsigned long long)m->diffs[j]->primary_count,
			       (unsigned long long)m->diffs[j]->backup_count);
		}
	}
}

static int verify_cmd(struct cli *c)
{
	const csb_args *a = c->a;
	Csb__PoolRequest pr = CSB__POOL_REQUEST__INIT;
	Csb__PoolVerifyReply *vr = NULL;
	char err[CSB_RPC_ERROR_MAX], names[512] = "";
	size_t differ = 0, ranges = 0, n = 0;
	csb_err rv;
	int rc = CLI_OK;

	pr.pool_fqdn = (char *)a->pool_fqdn;
	pr.module = (char *)(a->module ? a->module->name : "");
	rv = cli_admin(c, "csb.Admin/Verify", &pr.base, &csb__pool_verify_reply__descriptor,
	               VERIFY_TIMEOUT_MS, true, (ProtobufCMessage **)&vr, err);
	if (rv != CSB_OK)
		return cli_fail(c, rv, "%s", err);
	if (vr->verify == NULL) {
		protobuf_c_message_free_unpacked(&vr->base, NULL);
		return cli_fail(c, CSB_EPROTO, "the coordinator's verify answer has no modules");
	}
	for (size_t i = 0; i < vr->verify->n_modules; i++) {
		const Csb__ModuleVerify *m = vr->verify->modules[i];

		if (m->equal)
			continue;
		differ++;
		ranges += m->n_diffs;
		n += (size_t)snprintf(names + n, n < sizeof(names) ? sizeof(names) - n : 0, "%s%s",
		                      differ > 1 ? ", " : "", m->identity);
	}
	if (a->json) {
		json_t *doc = verify_json(vr, differ == 0);

		cli_print_json(doc, false);
		json_decref(doc);
	} else {
		print_verify(vr);
	}
	if (differ > 0) {
		fflush(stdout);
		rc = cli_fail(c, CSB_ECORRUPT,
		              "%s and its backup copy at %s differ in %s (%zu key range%s)", vr->pool_fqdn,
		              vr->backup_pool_fqdn, names, ranges, ranges == 1 ? "" : "s");
	}
	protobuf_c_message_free_unpacked(&vr->base, NULL);
	return rc;
}

/* ---- Get-CsPoolState ------------------------------------------------------------------- */

static int pool_state_cmd(struct cli *c)
{
	const csb_args *a = c->a;
	char err[CSB_RPC_ERROR_MAX];
	const char *state;
	csb_pool_entry e;
	csb_err rv;

	if ((rv = cli_pool_entry(c, a->pool_fqdn, a->local_store, &e, err)) != CSB_OK)
		return cli_fail(c, rv, "%s", err);
	state = csb_pool_state_name(e.state);
	if (a->json) {
		json_t *doc = json_pack("{s:s, s:s, s:s, s:I}", "PoolFqdn", a->pool_fqdn, "State", state,
		                        "ServedBy", e.served_by, "Epoch", (json_int_t)e.epoch);
		json_t *mods = json_array();

		for (size_t i = 0; i < e.n_modules; i++)
			json_array_append_new(mods, json_pack("{s:s, s:s, s:I, s:I}", "Identity",
			                      e.modules[i].identity, "Lineage", e.modules[i].lineage,
			                      "ForkSeq", (json_int_t)e.modules[i].fork_seq, "Orphans",
			                      (json_int_t)e.modules[i].orphans));
		json_object_set_new(doc, "Modules", mods);
		if (e.reason[0] != '\0')
			json_object_set_new(doc, "Reason", json_string(e.reason));
		cli_print_json(doc, false);
		json_decref(doc);
	} else {
		printf("%s: %s (users served by %s, epoch %llu)\n", a->pool_fqdn, state, e.served_by,
		       (unsigned long long)e.epoch);
		if (e.reason[0] != '\0')
			printf("  %s\n", e.reason);
		for (size_t i = 0; i < e.n_modules; i++)
			printf("  %-32s lineage %.8s… fork seq %llu, %llu writes past the fork set aside\n",
			       e.modules[i].identity, e.modules[i].lineage,
			       (unsigned long long)e.modules[i].fork_seq,
			       (unsigned long long)e.modules[i].orphans);
	}
	return CLI_OK;
}

/* ---- Invoke-CsPoolFailover, Invoke-CsPoolFailback ------------------------------------- */

static json_t *failover_json(const Csb__FailoverReply *r)
{
	json_t *mods = json_array();

	for (size_t i = 0; i < r->n_modules; i++) {
		const Csb__FailoverModule *m = r->modules[i];
		json_t *o = json_pack("{s:s, s:I, s:I, s:b}", "Identity", m->identity, "FinalSeq",
		                      (json_int_t)m->seq, "RecordsMoved", (json_int_t)m->records_moved,
		                      "Verified", m->verified);

		if (r->disaster && m->since_ms != 0)
			json_object_set_new(o, "PossibleLoss",
			                    json_pack("{s:I, s:I, s:I}", "KnownChanges",
			                              (json_int_t)m->known_changes, "Since",
			                              (json_int_t)m->since_ms, "UnknownWindowMs",
			                              (json_int_t)(csb_now_ms() > m->since_ms
			                                                   ? csb_now_ms() - m->since_ms : 0)));
		else if (r->disaster)
			json_object_set_new(o, "PossibleLoss",
			                    json_pack("{s:I, s:I, s:I}", "KnownChanges",
			                              (json_int_t)m->known_changes, "Since", (json_int_t)0,
			                              "UnknownWindowMs", (json_int_t)0));
		if (m->orphans != 0)
			json_object_set_new(o, "Orphans", json_integer((json_int_t)m->orphans));
		json_array_append_new(mods, o);
	}
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:o}", "PoolFqdn", r->pool_fqdn,
	                 "BackupPoolFqdn", r->backup_pool_fqdn, "State", r->state, "Epoch",
	                 (json_int_t)r->epoch, "ServedBy", r->served_by, "Millis",
	                 (json_int_t)r->millis, "Modules", mods);
}

static int failover_cmd(struct cli *c)
{
	const csb_args *a = c->a;
	bool back = a->cmd == CSB_CMD_FAILBACK;
	Csb__FailoverRequest rq = CSB__FAILOVER_REQUEST__INIT;
	Csb__FailoverReply *out = NULL;
	char err[CSB_RPC_ERROR_MAX];
	uint32_t wait = (uint32_t)a->wait_time_ms, step = (uint32_t)a->db_command_timeout_s * 1000;
	uint32_t delay = (uint32_t)a->services_stop_delay_min * 60000;
	csb_err rv;

	if (a->confirm && !a->what_if &&
	    !cli_confirm(c, back ? "Fail %s back to its own servers?" :
	                        "Fail %s over to its backup pool?", a->pool_fqdn))
		return CLI_OK;
	rq.pool_fqdn = (char *)a->pool_fqdn;
	rq.disaster = a->disaster_mode;
	rq.wait_ms = wait;
	rq.skip_verify = a->skip_data_verification;
	rq.force = a->force;
	rq.what_if = a->what_if;
	rq.failback = back;
	rq.stop_delay_min = (uint32_t)a->services_stop_delay_min;
	rq.step_timeout_s = (uint32_t)a->db_command_timeout_s;
	if (delay != 0 && !a->what_if)
		cli_verbose(c, "%s goes on serving its users for %" PRIu32 " min before it is stopped",
		            a->pool_fqdn, rq.stop_delay_min);
	/* A promotion copies the backup copy once; the drain is bounded by -WaitTime; at most
	 * five steps are bounded by -DatabaseCommandTimeoutInSeconds. */
	rv = cli_admin(c, "csb.Admin/Failover", &rq.base, &csb__failover_reply__descriptor,
	               delay + wait + (step != 0 ? 5 * step + 30000 : 330000), false,
	               (ProtobufCMessage **)&out, err);
	if (rv != CSB_OK)
		return cli_fail(c, rv, "%s", err);
	if (a->json) {
		json_t *doc = failover_json(out);

		cli_print_json(doc, false);
		json_decref(doc);
	} else if (out->noop) {
		printf("%s\n", out->note);
	} else {
		printf("%s: %s (users served by %s, epoch %" PRIu64 ") in %" PRIu64 " ms\n",
		       out->pool_fqdn, out->state, out->served_by, out->epoch, out->millis);
		if (out->note[0] != '\0')
			printf("  %s\n", out->note);
		for (size_t i = 0; i < out->n_modules; i++) {
			const Csb__FailoverModule *m = out->modules[i];

			printf("  %-32s seq %" PRIu64 ", %" PRIu64 " records moved%s", m->identity, m->seq,
			       m->records_moved, m->verified ? ", verified by range digests" : "");
			if (out->disaster && !back)
				printf(", possible loss: %" PRIu64 " known changes not received", m->known_changes);
			if (m->orphans != 0)
				printf(", %" PRIu64 " writes past the fork set aside (Get-CsPoolState)", m->orphans);
			printf("\n");
		}
	}
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return CLI_OK;
}

/* ---- Remove-CsUserStoreBackupData ------------------------------------------------------ */

static int remove_backup_data_cmd(struct cli *c)
{
	const csb_args *a = c->a;
	Csb__RemoveBackupDataRequest rq = CSB__REMOVE_BACKUP_DATA_REQUEST__INIT;
	Csb__RemoveBackupDataReply *out = NULL;
	char err[CSB_RPC_ERROR_MAX];
	json_t *list;
	csb_err rv;
	int rc = CLI_OK;

	if (a->confirm && !a->what_if &&
	    !cli_confirm(c, "Remove the backup data %s holds for its former partners?", a->pool_fqdn))
		return CLI_OK;
	rq.dry_run = a->what_if;
	rv = cli_agent_call(c, a->pool_fqdn, "csb.Control/RemoveBackupData", &rq.base,
	                    &csb__remove_backup_data_reply__descriptor, 60000,
	                    (ProtobufCMessage **)&out, err);
	if (rv != CSB_OK)
		return cli_fail(c, rv, "%s", err);
	list = json_array();
	for (size_t i = 0; i < out->n_copies; i++) {
		const Csb__RemovedCopy *r = out->copies[i];

		json_array_append_new(list, json_pack("{s:s, s:s, s:I}", "SourcePoolFqdn", r->source,
		                                      "Identity", r->module, "Records",
		                                      (json_int_t)r->records));
		if (!a->json)
			printf("%s%s: the copy of %s's %s (%llu records)\n",
			       a->what_if ? "What if: " : "", a->what_if ? "would remove" : "removed",
			       r->source, r->module, (unsigned long long)r->records);
	}
	if (out->kept_reason[0] != '\0' && !a->force)
		rc = cli_warn(c, "%s", out->kept_reason);
	if (out->n_copies == 0 && !a->force && rc == CLI_OK)
		rc = cli_warn(c, "%s holds no backup data of former partners", a->pool_fqdn);
	if (a->json) {
		json_t *doc = json_pack("{s:s, s:b, s:o}", "PoolFqdn", a->pool_fqdn, "WhatIf",
		                        a->what_if, "Removed", list);

		cli_print_json(doc, false);
		json_decref(doc);
	} else {
		json_decref(list);
	}
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return rc;
}

int cli_pool_cmd(struct cli *c)
{
	switch (c->a->cmd) {
	case CSB_CMD_BACKUP_POOL: return cli_backup_pool(c);
	case CSB_CMD_SYNC: return sync_cmd(c);
	case CSB_CMD_STATUS: return status_cmd(c);
	case CSB_CMD_VERIFY: return verify_cmd(c);
	case CSB_CMD_POOL_STATE: return pool_state_cmd(c);
	case CSB_CMD_REMOVE_BACKUP_DATA: return remove_backup_data_cmd(c);
	case CSB_CMD_FAILOVER:
	case CSB_CMD_FAILBACK:
		return failover_cmd(c);
	case CSB_CMD_CMS_FAILOVER:
		return cli_cms_failover(c);
	default: return cli_fail(c, CSB_EINTERNAL, "not a pool command");
	}
}
