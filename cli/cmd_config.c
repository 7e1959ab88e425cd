/* The configuration cmdlets: Get-, Set- and Remove-CsBackupServiceConfiguration,
 * Get-CsPoolBackupRelationship, Export- and Import-CsConfiguration and
 * Get-CsManagementStoreReplicationStatus (the topology's are in cmd_topology.c). -LocalStore
 * reads (or, for Import-CsConfiguration, seeds) a local agent's replica instead of asking
 * the coordinator. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/cms.h"
#include "cli/internal/cli.h"
#include "cli/internal/pool.h"
#include "cli/internal/report.h"
#include "common/clock.h"
#include "common/parse.h"
#include "model/bundle.h"
#include "proto/admin.pb-c.h"
#include "proto/status.pb-c.h"

#define FILE_MAX (64u << 20)
#define CHANGES_MAX 8   /* the configuration's properties */
#define CHANGE_LEN 1200 /* "AuthorizedUniversalGroups: {…} -> {…}" */

/* ---- Shared with cmd_topology.c (cli.h) ------------------------------------------------ */

char *cli_local_json(struct cli *c, const char *key, int *rc)
{
	char err[CSB_RPC_ERROR_MAX], *json = NULL;
	csb_err rv;

	cli_verbose(c, "reading %s from the local store of %s", key,
	            cli_local_pool(c) ? cli_local_pool(c) : "(no pool)");
	if ((rv = cli_replica_get(c, key, &json, err)) == CSB_ENOTFOUND)
		*rc = cli_fail(c, rv, "%s", err);
	else if (rv != CSB_OK)
		*rc = cli_fail(c, rv, "the local store cannot be read: %s", err);
	return json;
}

char *cli_admin_json(struct cli *c, const char *method, const ProtobufCMessage *req, int *rc)
{
	Csb__Empty e = CSB__EMPTY__INIT;
	Csb__JsonDoc *doc = NULL;
	char err[CSB_RPC_ERROR_MAX], *json;
	csb_err rv;

	rv = cli_admin(c, method, req ? req : &e.base, &csb__json_doc__descriptor, 10000, true,
	               (ProtobufCMessage **)&doc, err);
	if (rv != CSB_OK) {
		*rc = cli_fail(c, rv, "%s", err);
		return NULL;
	}
	json = strdup(doc->json);
	protobuf_c_message_free_unpacked(&doc->base, NULL);
	return json;
}

void cli_print_list(json_t *obj)
{
	const char *k;
	json_t *v;
	size_t w = 0;

	json_object_foreach(obj, k, v)
		if (strlen(k) > w)
			w = strlen(k);
	json_object_foreach(obj, k, v) {
		printf("%-*s : ", (int)w, k);
		if (json_is_string(v)) {
			printf("%s\n", json_string_value(v));
		} else if (json_is_array(v)) {
			size_t i;
			json_t *e;

			printf("{");
			json_array_foreach(v, i, e)
				printf("%s%s", i ? ", " : "", json_is_string(e) ? json_string_value(e) : "?");
			printf("}\n");
		} else if (json_is_boolean(v)) {
			printf("%s\n", json_is_true(v) ? "True" : "False");
		} else {
			char *s = json_dumps(v, JSON_ENCODE_ANY);

			printf("%s\n", s ? s : "");
			free(s);
		}
	}
}

int cli_print_doc(struct cli *c, char *json, void (*text)(json_t *))
{
	json_t *v = json_loads(json, 0, NULL);

	free(json);
	if (v == NULL)
		return cli_fail(c, CSB_EPROTO, "the answer is not valid JSON");
	if (c->a->json)
		cli_print_json(v, false);
	else
		text(v);
	json_decref(v);
	return CLI_OK;
}

/* ---- Get-, Set- and Remove-CsBackupServiceConfiguration --------------------------------- */

static int get_config(struct cli *c)
{
	const csb_args *a = c->a;
	int rc = CLI_OK;
	char *json;
	json_t *v, *all;

	/* -Filter: the configurations whose Identity matches; there is only Global. */
	if (a->filter != NULL && fnmatch(a->filter, "Global", FNM_CASEFOLD) != 0) {
		cli_verbose(c, "-Filter '%s' does not match Global, the only configuration", a->filter);
		if (a->json)
			printf("[]\n");
		return CLI_OK;
	}
	json = a->local_store ? cli_local_json(c, CSB_CMS_KEY_CONFIG, &rc)
	                      : cli_admin_json(c, "csb.Admin/GetConfig", NULL, &rc);
	if (json == NULL || a->filter == NULL || !a->json)
		return json ? cli_print_doc(c, json, cli_print_list) : rc;
	/* With --json, -Filter's answer is a collection. */
	v = json_loads(json, 0, NULL);
	free(json);
	if (v == NULL)
		return cli_fail(c, CSB_EPROTO, "the answer is not valid JSON");
	all = json_pack("[o]", v);
	cli_print_json(all, false);
	json_decref(all);
	return CLI_OK;
}

/* The current configuration from the coordinator into *cfg. */
static int current_config(struct cli *c, csb_backup_config *cfg)
{
	char err[256], *json;
	int rc = CLI_OK;
	csb_err rv;

	if ((json = cli_admin_json(c, "csb.Admin/GetConfig", NULL, &rc)) == NULL)
		return rc;
	rv = csb_config_parse(json, strlen(json), cfg, err, sizeof(err));
	free(json);
	if (rv != CSB_OK)
		return cli_fail(c, CSB_EPROTO, "the coordinator's configuration is unreadable: %s", err);
	return CLI_OK;
}

static void groups_text(const csb_backup_config *cfg, char *out, size_t len)
{
	size_t n = (size_t)snprintf(out, len, "{");

	for (size_t i = 0; i < cfg->n_groups && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%s%s", i ? ", " : "", cfg->groups[i]);
	if (n < len)
		snprintf(out + n, len - n, "}");
}

/* "Name: old -> new" for each property that differs between from and to. */
static size_t config_changes(const csb_backup_config *from, const csb_backup_config *to,
                             char out[CHANGES_MAX][CHANGE_LEN])
{
	char x[560], y[560];
	size_t n = 0;

#define COUNT_CHANGE(field, name) \
	if (from->field != to->field) \
		snprintf(out[n++], CHANGE_LEN, name ": %llu -> %llu", \
		         (unsigned long long)from->field, (unsigned long long)to->field)

	if (from->sync_interval_ms != to->sync_interval_ms) {
		csb_duration_format(from->sync_interval_ms, x, sizeof(x));
		csb_duration_format(to->sync_interval_ms, y, sizeof(y));
		snprintf(out[n++], CHANGE_LEN, "SyncInterval: %s -> %s", x, y);
	}
	COUNT_CHANGE(max_concurrent_calls, "MaxConcurrentCalls");
	COUNT_CHANGE(max_batches_per_cms_sync, "MaxBatchesPerCmsSync");
	COUNT_CHANGE(max_batches_per_user_store_sync, "MaxBatchesPerUserStoreSync");
	COUNT_CHANGE(max_data_conf_package_size_kb, "MaxDataConfPackageSizeKB");
#undef COUNT_CHANGE
	groups_text(from, x, sizeof(x));
	groups_text(to, y, sizeof(y));
	if (strcmp(x, y) != 0)
		snprintf(out[n++], CHANGE_LEN, "AuthorizedUniversalGroups: %s -> %s", x, y);
	if (from->enable_rgs_backup_service != to->enable_rgs_backup_service)
		snprintf(out[n++], CHANGE_LEN, "EnableRgsBackupService: %s -> %s",
		         from->enable_rgs_backup_service ? "True" : "False",
		         to->enable_rgs_backup_service ? "True" : "False");
	return n;
}

/* Set- and Remove-: from the configuration now to `to`, through method (req NULL: an empty
 * request). -WhatIf lists the changes, -Confirm asks about them, no change at all is a
 * warning (none with -Force) and no call; else the new configuration is printed. */
static int change_config(struct cli *c, const csb_backup_config *from,
                         const csb_backup_config *to, const char *nothing, const char *method,
                         const ProtobufCMessage *req)
{
	char changes[CHANGES_MAX][CHANGE_LEN], list[CHANGES_MAX * CHANGE_LEN], *json;
	size_t n = config_changes(from, to, changes), used = 0;
	int rc = CLI_OK;

	list[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
		                         changes[i]);
	if (c->a->what_if) {
		printf("What if: Performing the operation \"%s\" on target \"Global\":", c->a->cmdlet);
		printf(n == 0 ? " nothing would change\n" : "\n");
		for (size_t i = 0; i < n; i++)
			printf("  %s\n", changes[i]);
		return CLI_OK;
	}
	if (n == 0)
		return c->a->force ? CLI_OK : cli_warn(c, "%s", nothing);
	if (c->a->confirm && !cli_confirm(c, "%s on Global: %s?", c->a->cmdlet, list))
		return CLI_OK;
	if ((json = cli_admin_json(c, method, req, &rc)) == NULL)
		return rc;
	return cli_print_doc(c, json, cli_print_list);
}

static int set_config(struct cli *c)
{
	const csb_args *a = c->a;
	Csb__ConfigSetRequest sr = CSB__CONFIG_SET_REQUEST__INIT;
	csb_backup_config from, to;
	int rc;

	if ((rc = current_config(c, &from)) != CLI_OK)
		return rc;
	to = from;
	/* A property given on the line goes into the request and into what to expect. */
#define SET(p, field, value) \
	if ((sr.has_##field = csb_args_given(a, p))) \
		to.field = (value); \
	sr.field = to.field
	SET(CSB_P_SYNC_INTERVAL, sync_interval_ms, a->sync_interval_ms);
	SET(CSB_P_MAX_BATCHES_USER_STORE, max_batches_per_user_store_sync, a->max_batches_user_store);
	SET(CSB_P_MAX_BATCHES_CMS, max_batches_per_cms_sync, a->max_batches_cms);
	SET(CSB_P_MAX_DATACONF_PACKAGE_KB, max_data_conf_package_size_kb,
	    a->max_dataconf_package_kb);
	SET(CSB_P_MAX_CONCURRENT_CALLS, max_concurrent_calls, a->max_concurrent_calls);
	SET(CSB_P_ENABLE_RGS, enable_rgs_backup_service, a->enable_rgs);
#undef SET
	sr.has_authorized_universal_groups = csb_args_given(a, CSB_P_AUTHORIZED_GROUPS);
	sr.n_authorized_universal_groups = a->ngroups;
	sr.authorized_universal_groups = (char **)a->groups;
	if (sr.has_authorized_universal_groups) {
		to.n_groups = a->ngroups;
		for (size_t i = 0; i < a->ngroups; i++)
			snprintf(to.groups[i], sizeof(to.groups[i]), "%s", a->groups[i]);
	}
	return change_config(c, &from, &to, "Global already has these values; nothing changed",
	                     "csb.Admin/SetConfig", &sr.base);
}

static int reset_config(struct cli *c)
{
	csb_backup_config from, to;
	int rc;

	if ((rc = current_config(c, &from)) != CLI_OK)
		return rc;
	csb_config_defaults(&to);
	return change_config(c, &from, &to, "Global already has its default values; nothing "
	                     "changed", "csb.Admin/ResetConfig", NULL);
}

/* ---- Get-CsPoolBackupRelationship ---------------------------------------------------- */

static int print_relationship(struct cli *c, const char *pool, const char *backup)
{
	json_t *v = json_pack("{s:s, s:s}", "PoolFqdn", pool, "BackupPoolFqdn", backup);
	int rc = CLI_OK;

	if (backup[0] == '\0' && !c->a->force)
		rc = cli_warn(c, "%s has no backup pool in the topology", pool);
	if (rc == CLI_OK && c->a->json)
		cli_print_json(v, false);
	else if (rc == CLI_OK)
		cli_print_list(v);
	json_decref(v);
	return rc;
}

static int relationship(struct cli *c)
{
	Csb__PoolRequest pr = CSB__POOL_REQUEST__INIT;
	Csb__RelationshipReply *out = NULL;
	char err[CSB_RPC_ERROR_MAX], backup[CLI_FQDN_BUF];
	bool hosts;
	csb_err rv;
	int rc;

	if (c->a->local_store) {
		rv = cli_pool_topology(c, c->a->pool_fqdn, true, backup, &hosts, err);
		if (rv == CSB_ENOTFOUND)
			return cli_fail(c, rv, "%s", err);
		if (rv != CSB_OK)
			return cli_fail(c, rv, "the local store cannot be read: %s", err);
		return print_relationship(c, c->a->pool_fqdn, backup);
	}
	pr.pool_fqdn = c->a->pool_fqdn;
	rv = cli_admin(c, "csb.Admin/GetRelationship", &pr.base, &csb__relationship_reply__descriptor,
	               10000, true, (ProtobufCMessage **)&out, err);
	if (rv != CSB_OK)
		return cli_fail(c, rv, "%s", err);
	rc = print_relationship(c, out->pool_fqdn, out->backup_pool_fqdn);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return rc;
}

/* ---- Export- and Import-CsConfiguration ---------------------------------------------- */

/* Writes data to path (beside it, then renamed, so a reader never sees half a file). An
 * existing file is replaced, after a warning that -Force suppresses (and that stops
 * everything with -WarningAction Stop). */
static int write_file(struct cli *c, const char *path, const uint8_t *data, size_t len)
{
	struct stat st;
	char tmp[CLI_PATH + 16];
	bool existed = stat(path, &st) == 0;
	FILE *f;
	int rc;

	if (existed && S_ISDIR(st.st_mode))
		return cli_fail(c, CSB_EINVAL, "%s is a folder", path);
	if (existed && !c->a->force &&
	    (rc = cli_warn(c, "%s exists and is replaced", path)) != CLI_OK)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	cli_verbose(c, "writing %zu bytes to %s", len, path);
	if ((f = fopen(tmp, "wb")) == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		if (f != NULL)
			unlink(tmp);
		return cli_fail(c, CSB_EIO, "cannot write %s: %s", path, strerror(errno));
	}
	if (rename(tmp, path) != 0) {
		rc = errno;
		unlink(tmp);
		return cli_fail(c, CSB_EIO, "cannot write %s: %s", path, strerror(rc));
	}
	return CLI_OK;
}

/* The local store's topology and configuration, as a bundle (Export -LocalStore). */
static int local_bundle(struct cli *c, uint8_t **zip, size_t *len)
{
	int rc = CLI_OK;
	char *tj = cli_local_json(c, CSB_CMS_KEY_TOPOLOGY, &rc), *cj, err[256];
	csb_topology *t = NULL;
	csb_backup_config cfg;
	csb_err rv;

	if (tj == NULL)
		return rc;
	if ((cj = cli_local_json(c, CSB_CMS_KEY_CONFIG, &rc)) == NULL) {
		free(tj);
		return rc;
	}
	if ((rv = csb_topology_parse(tj, strlen(tj), &t, err, sizeof(err))) == CSB_OK &&
	    (rv = csb_config_parse(cj, strlen(cj), &cfg, err, sizeof(err))) == CSB_OK)
		rv = csb_bundle_write(t, &cfg, zip, len);
	else
		rc = cli_fail(c, CSB_ECORRUPT, "the local store's configuration is unreadable: %s", err);
	csb_topology_free(t);
	free(tj);
	free(cj);
	if (rc == CLI_OK && rv != CSB_OK)
		rc = cli_fail(c, rv, "cannot build the ZIP: %s", csb_strerror(rv));
	return rc;
}

/* -AsBytes: the ZIP on stdout, for a pipe or a redirection. */
static int write_stdout(struct cli *c, const uint8_t *data, size_t len)
{
	cli_verbose(c, "writing %zu bytes to stdout", len);
	if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
		return cli_fail(c, CSB_EIO, "cannot write the ZIP to stdout: %s", strerror(errno));
	return CLI_OK;
}

static int export_config(struct cli *c)
{
	const csb_args *a = c->a;
	Csb__Empty e = CSB__EMPTY__INIT;
	Csb__ZipDoc *z = NULL;
	char err[CSB_RPC_ERROR_MAX];
	uint8_t *zip = NULL;
	size_t len = 0;
	csb_err rv;
	int rc;

	if (a->as_bytes && isatty(STDOUT_FILENO))
		return cli_fail(c, CSB_EINVAL, "-AsBytes writes the ZIP to stdout, which is a "
		                               "terminal: redirect it to a file or pipe it");
	if (a->local_store) {
		if ((rc = local_bundle(c, &zip, &len)) != CLI_OK)
			return rc;
	} else {
		rv = cli_admin(c, "csb.Admin/ExportConfig", &e.base, &csb__zip_doc__descriptor, 10000,
		               true, (ProtobufCMessage **)&z, err);
		if (rv != CSB_OK)
			return cli_fail(c, rv, "%s", err);
		zip = z->zip.data;
		len = z->zip.len;
	}
	rc = a->as_bytes ? write_stdout(c, zip, len) : write_file(c, a->file_name, zip, len);
	if (z != NULL)
		protobuf_c_message_free_unpacked(&z->base, NULL);
	else
		free(zip);
	if (rc == CLI_OK && !a->json && !a->as_bytes)
		printf("configuration exported to %s (%zu bytes)\n", a->file_name, len);
	return rc;
}

/* -LocalStore into a pool whose agent the ZIP's topology does not know: a warning. A ZIP
 * that cannot be read here is left for the agent to refuse with its reason. */
static int check_local_import(struct cli *c, const char *zip, size_t len)
{
	const char *pool = cli_local_pool(c);
	csb_topology *t = NULL;
	csb_backup_config cfg;
	int rc = CLI_OK;

	if (pool == NULL || csb_bundle_read((const uint8_t *)zip, len, &t, &cfg, NULL, 0) != CSB_OK)
		return CLI_OK;
	if (csb_topology_pool(t, pool) == NULL && !c->a->force)
		rc = cli_warn(c, "the ZIP's topology has no pool %s, whose local store it is "
		              "imported into", pool);
	csb_topology_free(t);
	return rc;
}

static int import_config(struct cli *c)
{
	const csb_args *a = c->a;
	const char *from = a->file_name != NULL ? a->file_name : "stdin";
	Csb__ZipDoc z = CSB__ZIP_DOC__INIT;
	Csb__SeedReplicaRequest sr = CSB__SEED_REPLICA_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	char err[CSB_RPC_ERROR_MAX], *buf;
	csb_rpc_client *agent;
	size_t len = 0;
	csb_err rv;
	int rc;

	if (a->file_name == NULL && isatty(STDIN_FILENO))
		return cli_fail(c, CSB_EINVAL, "-ByteInput - reads the ZIP from stdin, which is a "
		                               "terminal: pipe it in");
	buf = cli_read_file(a->file_name != NULL ? a->file_name : "/dev/stdin", FILE_MAX, &len);
	if (buf == NULL)
		return cli_fail(c, CSB_EINVAL, "cannot read %s: %s", from,
		                errno == EFBIG ? "larger than 64 MiB" : strerror(errno));
	cli_verbose(c, "read %zu bytes from %s", len, from);
	if (a->local_store) {
		if ((rc = check_local_import(c, buf, len)) != CLI_OK) {
			free(buf);
			return rc;
		}
		sr.zip.data = (uint8_t *)buf;
		sr.zip.len = len;
		if ((rv = cli_local_agent(c, &agent, err)) == CSB_OK)
			rv = csb_rpc_call_msg(agent, "csb.Control/SeedReplica", &sr.base,
			                      &csb__replica_reply__descriptor, 10000, &out, err);
	} else {
		z.zip.data = (uint8_t *)buf;
		z.zip.len = len;
		rv = cli_admin(c, "csb.Admin/ImportConfig", &z.base, &csb__empty__descriptor, 10000,
		               true, &out, err);
	}
	free(buf);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	if (rv != CSB_OK)
		return cli_fail(c, rv, "%s: %s", from, err);
	if (!a->json)
		printf("configuration imported from %s%s\n", from,
		       a->local_store ? " into the local store" : "");
	return CLI_OK;
}

/* ---- Get-CsManagementStoreReplicationStatus ------------------------------------------ */

static json_t *replica_json(const Csb__ReplicaStatus *r)
{
	char when[40];

	if (r->last_update_creation_ms == 0)
		return json_pack("{s:s, s:b, s:n, s:I}", "ReplicaFqdn", r->replica_fqdn, "UpToDate",
		                 r->up_to_date, "LastUpdateCreation", "AppliedSeq",
		                 (json_int_t)r->applied_seq);
	cli_time_rfc3339(r->last_update_creation_ms, when, sizeof(when));
	return json_pack("{s:s, s:b, s:s, s:I}", "ReplicaFqdn", r->replica_fqdn, "UpToDate",
	                 r->up_to_date, "LastUpdateCreation", when, "AppliedSeq",
	                 (json_int_t)r->applied_seq);
}

/* A replica agent that pulled within this long is an active replication agent (it long-polls
 * the CMS, so a live one pulls about every second). */
#define CMS_AGENT_ACTIVE_MS 10000

/* -CentralManagementStoreStatus: the store itself — the active master, its replicas, and the
 * agents replicating it with their last heartbeat (their last pull of the CMS). */
static json_t *cms_store_json(const Csb__CmsStatusReply *out)
{
	json_t *replicas = json_array(), *agents = json_array(), *beats = json_object();
	uint64_t now = csb_now_ms();
	char when[40];

	for (size_t i = 0; i < out->n_replicas; i++) {
		const Csb__ReplicaStatus *r = out->replicas[i];

		json_array_append_new(replicas, json_string(r->replica_fqdn));
		if (r->last_heartbeat_ms == 0) {
			json_object_set_new(beats, r->replica_fqdn, json_null());
			continue;
		}
		cli_time_rfc3339(r->last_heartbeat_ms, when, sizeof(when));
		json_object_set_new(beats, r->replica_fqdn, json_string(when));
		if (now - r->last_heartbeat_ms < CMS_AGENT_ACTIVE_MS)
			json_array_append_new(agents, json_string(r->replica_fqdn));
	}
	json_t *sb = json_null();

	if (out->standby_fqdn[0] != '\0') {
		if (out->standby_heartbeat_ms != 0)
			cli_time_rfc3339(out->standby_heartbeat_ms, when, sizeof(when));
		sb = json_pack("{s:s, s:s, s:o}", "Fqdn", out->standby_fqdn, "Url", out->standby_url,
		               "LastHeartbeat", out->standby_heartbeat_ms ? json_string(when)
		                                                          : json_null());
	}
	return json_pack("{s:s, s:o, s:o, s:o, s:I, s:o}", "ActiveMasterFqdn",
	                 out->active_master_fqdn, "ActiveReplicas", replicas,
	                 "ActiveReplicationAgents", agents, "LastHeartbeat", beats, "HighSeq",
	                 (json_int_t)out->high_seq, "Standby", sb);
}

static void print_cms_status(const json_t *doc, const json_t *store)
{
	json_t *r;
	size_t i;

	printf("ActiveMasterFqdn : %s\nCmsEpoch         : %lld\n",
	       json_string_value(json_object_get(doc, "ActiveMasterFqdn")),
	       (long long)json_integer_value(json_object_get(doc, "CmsEpoch")));
	if (store != NULL) {
		const char *k;

		printf("ActiveReplicas   : {");
		json_array_foreach(json_object_get(store, "ActiveReplicas"), i, r)
			printf("%s%s", i ? ", " : "", json_string_value(r));
		printf("}\nReplicationAgents: {");
		json_array_foreach(json_object_get(store, "ActiveReplicationAgents"), i, r)
			printf("%s%s", i ? ", " : "", json_string_value(r));
		printf("}\nHighSeq          : %lld\n",
		       (long long)json_integer_value(json_object_get(store, "HighSeq")));
		if (json_is_object(json_object_get(store, "Standby"))) {
			json_t *sb = json_object_get(store, "Standby"), *hb = json_object_get(sb, "LastHeartbeat");

			printf("Standby          : %s at %s, heartbeat %s\n",
			       json_string_value(json_object_get(sb, "Fqdn")),
			       json_string_value(json_object_get(sb, "Url"))[0]
			           ? json_string_value(json_object_get(sb, "Url")) : "(never heard)",
			       json_is_string(hb) ? json_string_value(hb) : "-");
		}
		json_object_foreach(json_object_get(store, "LastHeartbeat"), k, r)
			printf("Heartbeat %-16s: %s\n", k, json_is_string(r) ? json_string_value(r) : "-");
	}
	printf("\n%-28s %-9s %s\n", "ReplicaFqdn", "UpToDate", "LastUpdateCreation");
	json_array_foreach(json_object_get(doc, "Replicas"), i, r) {
		json_t *when = json_object_get(r, "LastUpdateCreation");

		printf("%-28s %-9s %s\n", json_string_value(json_object_get(r, "ReplicaFqdn")),
		       json_is_true(json_object_get(r, "UpToDate")) ? "True" : "False",
		       json_is_string(when) ? json_string_value(when) : "-");
	}
}

static int cms_status(struct cli *c)
{
	const csb_args *a = c->a;
	Csb__Empty e = CSB__EMPTY__INIT;
	Csb__CmsStatusReply *out = NULL;
	char err[CSB_RPC_ERROR_MAX];
	json_t *doc, *reps, *store = NULL;
	csb_err rv;
	int rc = CLI_OK;

	rv = cli_admin(c, "csb.Admin/GetCmsStatus", &e.base, &csb__cms_status_reply__descriptor,
	               10000, true, (ProtobufCMessage **)&out, err);
	if (rv != CSB_OK)
		return cli_fail(c, rv, "%s", err);
	reps = json_array();
	for (size_t i = 0; i < out->n_replicas; i++)
		if (a->replica_fqdn[0] == '\0' ||
		    strcasecmp(out->replicas[i]->replica_fqdn, a->replica_fqdn) == 0)
			json_array_append_new(reps, replica_json(out->replicas[i]));
	if (a->replica_fqdn[0] != '\0' && json_array_size(reps) == 0) {
		json_decref(reps);
		protobuf_c_message_free_unpacked(&out->base, NULL);
		return cli_fail(c, CSB_ENOTFOUND, "%s holds no replica of the Central Management store",
		                a->replica_fqdn);
	}
	doc = json_pack("{s:s, s:I, s:I, s:o}", "ActiveMasterFqdn", out->active_master_fqdn,
	                "CmsEpoch", (json_int_t)out->cms_epoch, "HighSeq", (json_int_t)out->high_seq,
	                "Replicas", reps);
	if (a->cms_status) {
		store = cms_store_json(out);
		json_object_set(doc, "CentralManagementStoreStatus", store);
	}
	if (rc == CLI_OK && a->json)
		cli_print_json(doc, false);
	else if (rc == CLI_OK)
		print_cms_status(doc, store);
	json_decref(store);
	json_decref(doc);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return rc;
}

/* Invoke-CsManagementStoreReplication: one line per replica; exit 1 when one is not up to
 * date, 4 when one could not be reached. */
static int cms_replicate(struct cli *c)
{
	const csb_args *a = c->a;
	Csb__ReplicateCmsRequest rq = CSB__REPLICATE_CMS_REQUEST__INIT;
	Csb__ReplicateCmsReply *out = NULL;
	const char *target = a->replica_fqdn[0] ? a->replica_fqdn : "every replica";
	char err[CSB_RPC_ERROR_MAX], first[CSB_RPC_ERROR_MAX + 300] = "";
	json_t *reps;
	csb_err rv, worst = CSB_OK;
	int rc = CLI_OK;

	if (a->what_if) {
		printf("What if: Performing the operation \"Invoke-CsManagementStoreReplication\" on "
		       "target \"%s\": replicate the Central Management store\n", target);
		return CLI_OK;
	}
	if (a->confirm && !cli_confirm(c, "Replicate the Central Management store to %s?", target))
		return CLI_OK;
	rq.replica_fqdn = (char *)a->replica_fqdn;
	rv = cli_admin(c, "csb.Admin/ReplicateCms", &rq.base, &csb__replicate_cms_reply__descriptor,
	               60000, true, (ProtobufCMessage **)&out, err);
	if (rv != CSB_OK)
		return cli_fail(c, rv, "%s", err);
	reps = json_array();
	for (size_t i = 0; i < out->n_replicas; i++) {
		const Csb__ReplicaResult *r = out->replicas[i];

		json_array_append_new(reps, json_pack("{s:s, s:b, s:I, s:b, s:s?}", "ReplicaFqdn",
		                                      r->replica_fqdn, "UpToDate", r->up_to_date,
		                                      "AppliedSeq", (json_int_t)r->applied_seq,
		                                      "Repaired", r->repaired, "Error",
		                                      r->status ? r->error : NULL));
		if (!a->json && r->status != CSB_OK)
			printf("%s: not checked: %s\n", r->replica_fqdn, r->error);
		else if (!a->json)
			printf("%s: %s (seq %llu%s)\n", r->replica_fqdn,
			       r->up_to_date ? "UpToDate" : "NOT up to date",
			       (unsigned long long)r->applied_seq, r->repaired ? ", repaired" : "");
		if (r->status != CSB_OK && worst == CSB_OK)
			snprintf(first, sizeof(first), "the replica of %s could not be checked: %s",
			         r->replica_fqdn, r->error);
		else if (r->status == CSB_OK && !r->up_to_date && first[0] == '\0')
			snprintf(first, sizeof(first), "the replica of %s is not up to date (seq %llu of "
			         "%llu)", r->replica_fqdn, (unsigned long long)r->applied_seq,
			         (unsigned long long)out->high_seq);
		if (r->status != CSB_OK)
			worst = (csb_err)r->status;
		else if (!r->up_to_date && worst == CSB_OK)
			worst = CSB_ECORRUPT;
		if (r->status == CSB_OK && r->repaired && !a->force)
			rc = cli_warn(c, "the replica of %s differed from the Central Management store "
			                 "and was repaired", r->replica_fqdn);
	}
	if (a->json) {
		json_t *doc = json_pack("{s:I, s:o}", "HighSeq", (json_int_t)out->high_seq, "Replicas",
		                        reps);

		cli_print_json(doc, false);
		json_decref(doc);
	} else {
		json_decref(reps);
	}
	protobuf_c_message_free_unpacked(&out->base, NULL);
	if (worst != CSB_OK)
		return cli_fail(c, worst, "%s", first);
	return rc;
}

int cli_config_cmd(struct cli *c)
{
	switch (c->a->cmd) {
	case CSB_CMD_PUBLISH_TOPOLOGY: return cli_publish_topology(c);
	case CSB_CMD_TOPOLOGY: return cli_get_topology(c);
	case CSB_CMD_GET_CONFIG: return get_config(c);
	case CSB_CMD_SET_CONFIG: return set_config(c);
	case CSB_CMD_RESET_CONFIG: return reset_config(c);
	case CSB_CMD_RELATIONSHIP: return relationship(c);
	case CSB_CMD_EXPORT_CONFIG: return export_config(c);
	case CSB_CMD_IMPORT_CONFIG: return import_config(c);
	case CSB_CMD_CMS_STATUS: return cms_status(c);
	case CSB_CMD_CMS_REPLICATE: return cms_replicate(c);
	default: return cli_fail(c, CSB_EINTERNAL, "not a configuration command");
	}
}
