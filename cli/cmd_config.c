/* The configuration cmdlets: Publish-CsTopology, Get-CsTopology, Get-, Set- and
 * Remove-CsBackupServiceConfiguration, Get-CsPoolBackupRelationship, Export- and
 * Import-CsConfiguration, Get-CsManagementStoreReplicationStatus. -LocalStore reads (or, for
 * Import-CsConfiguration, seeds) a local agent's replica instead of asking the coordinator. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "model/cms.h"
#include "cli/internal/cli.h"
#include "common/parse.h"
#include "model/bundle.h"
#include "proto/admin.pb-c.h"
#include "proto/status.pb-c.h"

#define FILE_MAX (64u << 20)

/* Reads a replica key through the local agent: its JSON (malloc'ed) or NULL (error line
 * printed, *rc set). */
static char *replica(struct cli *c, const char *key, int *rc)
{
	Csb__ReplicaRequest rq = CSB__REPLICA_REQUEST__INIT;
	Csb__ReplicaReply *out = NULL;
	char err[CSB_RPC_ERROR_MAX];
	csb_rpc_client *agent;
	char *json = NULL;
	csb_err rv;

	rq.key = (char *)key;
	if ((rv = cli_local_agent(c, &agent, err)) == CSB_OK)
		rv = csb_rpc_call_msg(agent, "csb.Control/Replica", &rq.base,
		                      &csb__replica_reply__descriptor, 5000, (ProtobufCMessage **)&out,
		                      err);
	if (rv != CSB_OK) {
		*rc = cli_fail(c, rv, "the local store cannot be read: %s", err);
		return NULL;
	}
	if (!out->found) {
		*rc = cli_fail(c, CSB_ENOTFOUND, "the local store has no %s yet", key);
	} else if ((json = malloc(out->value.len + 1)) != NULL) {
		memcpy(json, out->value.data, out->value.len);
		json[out->value.len] = '\0';
	}
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return json;
}

/* A JSON document from the coordinator's method (NULL: error printed, *rc set). */
static char *admin_json(struct cli *c, const char *method, const ProtobufCMessage *req, int *rc)
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

/* Prints a flat JSON object as PowerShell's list view: `Name : value`, names aligned. */
static void print_list(json_t *obj)
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

/* Prints a JSON document: as is with --json, else through `text`. */
static int print_doc(struct cli *c, char *json, void (*text)(json_t *))
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

static void print_topology(json_t *t)
{
	json_t *p;
	size_t i;

	printf("%-28s %-10s %-28s %-28s %s\n", "PoolFqdn", "Site", "Agent", "BackupPoolFqdn",
	       "HostsCms");
	json_array_foreach(json_object_get(t, "pools"), i, p)
		printf("%-28s %-10s %-28s %-28s %s\n", json_string_value(json_object_get(p, "fqdn")),
		       json_string_value(json_object_get(p, "site")),
		       json_string_value(json_object_get(p, "agent")),
		       json_is_string(json_object_get(p, "backup"))
		           ? json_string_value(json_object_get(p, "backup"))
		           : "",
		       json_is_true(json_object_get(p, "hostsCms")) ? "True" : "False");
}

static int publish_topology(struct cli *c)
{
	Csb__PublishTopologyRequest pr = CSB__PUBLISH_TOPOLOGY_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	char err[CSB_RPC_ERROR_MAX], *buf;
	size_t len;
	csb_err rv;

	if ((buf = cli_read_file(c->a->file_name, FILE_MAX, &len)) == NULL)
		return cli_fail(c, CSB_EINVAL, "cannot read %s: %s", c->a->file_name, strerror(errno));
	pr.json.data = (uint8_t *)buf;
	pr.json.len = len;
	rv = cli_admin(c, "csb.Admin/PublishTopology", &pr.base, &csb__empty__descriptor, 10000,
	               true, &out, err);
	free(buf);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	if (rv != CSB_OK)
		return cli_fail(c, rv, "%s: %s", c->a->file_name, err);
	if (!c->a->json)
		printf("topology published from %s\n", c->a->file_name);
	return CLI_OK;
}

static int get_topology(struct cli *c)
{
	int rc = CLI_OK;
	char *json = admin_json(c, "csb.Admin/GetTopology", NULL, &rc);

	return json ? print_doc(c, json, print_topology) : rc;
}

static int get_config(struct cli *c)
{
	int rc = CLI_OK;
	char *json = c->a->local_store ? replica(c, CSB_CMS_KEY_CONFIG, &rc)
	                               : admin_json(c, "csb.Admin/GetConfig", NULL, &rc);

	return json ? print_doc(c, json, print_list) : rc;
}

static void what_if_config(const csb_args *a)
{
	char t[16];

	printf("What if: Performing the operation \"Set-CsBackupServiceConfiguration\" on target "
	       "\"Global\":\n");
	if (csb_args_given(a, CSB_P_SYNC_INTERVAL)) {
		csb_duration_format(a->sync_interval_ms, t, sizeof(t));
		printf("  SyncInterval = %s\n", t);
	}
	if (csb_args_given(a, CSB_P_MAX_BATCHES_USER_STORE))
		printf("  MaxBatchesPerUserStoreSync = %llu\n",
		       (unsigned long long)a->max_batches_user_store);
	if (csb_args_given(a, CSB_P_MAX_BATCHES_CMS))
		printf("  MaxBatchesPerCmsSync = %llu\n", (unsigned long long)a->max_batches_cms);
	if (csb_args_given(a, CSB_P_MAX_DATACONF_PACKAGE_KB))
		printf("  MaxDataConfPackageSizeKB = %llu\n",
		       (unsigned long long)a->max_dataconf_package_kb);
	if (csb_args_given(a, CSB_P_AUTHORIZED_GROUPS)) {
		printf("  AuthorizedUniversalGroups = {");
		for (size_t i = 0; i < a->ngroups; i++)
			printf("%s%s", i ? ", " : "", a->groups[i]);
		printf("}\n");
	}
	if (csb_args_given(a, CSB_P_ENABLE_RGS))
		printf("  EnableRgsBackupService = %s\n", a->enable_rgs ? "True" : "False");
}

static int set_config(struct cli *c)
{
	const csb_args *a = c->a;
	Csb__ConfigSetRequest sr = CSB__CONFIG_SET_REQUEST__INIT;
	int rc = CLI_OK;
	char *json;

	if (a->what_if) {
		what_if_config(a);
		return CLI_OK;
	}
	sr.has_sync_interval_ms = csb_args_given(a, CSB_P_SYNC_INTERVAL);
	sr.sync_interval_ms = a->sync_interval_ms;
	sr.has_max_batches_per_user_store_sync = csb_args_given(a, CSB_P_MAX_BATCHES_USER_STORE);
	sr.max_batches_per_user_store_sync = a->max_batches_user_store;
	sr.has_max_batches_per_cms_sync = csb_args_given(a, CSB_P_MAX_BATCHES_CMS);
	sr.max_batches_per_cms_sync = a->max_batches_cms;
	sr.has_max_data_conf_package_size_kb = csb_args_given(a, CSB_P_MAX_DATACONF_PACKAGE_KB);
	sr.max_data_conf_package_size_kb = a->max_dataconf_package_kb;
	sr.has_authorized_universal_groups = csb_args_given(a, CSB_P_AUTHORIZED_GROUPS);
	sr.n_authorized_universal_groups = a->ngroups;
	sr.authorized_universal_groups = (char **)a->groups;
	sr.has_enable_rgs_backup_service = csb_args_given(a, CSB_P_ENABLE_RGS);
	sr.enable_rgs_backup_service = a->enable_rgs;
	if ((json = admin_json(c, "csb.Admin/SetConfig", &sr.base, &rc)) == NULL)
		return rc;
	return print_doc(c, json, print_list);
}

static int reset_config(struct cli *c)
{
	int rc = CLI_OK;
	char *json = admin_json(c, "csb.Admin/ResetConfig", NULL, &rc);

	return json ? print_doc(c, json, print_list) : rc;
}

static int print_relationship(struct cli *c, const char *pool, const char *backup)
{
	json_t *v = json_pack("{s:s, s:s}", "PoolFqdn", pool, "BackupPoolFqdn", backup);

	if (c->a->json)
		cli_print_json(v, false);
	else
		print_list(v);
	json_decref(v);
	return CLI_OK;
}

static int relationship(struct cli *c)
{
	Csb__PoolRequest pr = CSB__POOL_REQUEST__INIT;
	Csb__RelationshipReply *out = NULL;
	char err[CSB_RPC_ERROR_MAX];
	int rc = CLI_OK;
	csb_err rv;

	if (c->a->local_store) {
		char *json = replica(c, CSB_CMS_KEY_TOPOLOGY, &rc);
		json_t *t, *p;
		size_t i;

		if (json == NULL)
			return rc;
		t = json_loads(json, 0, NULL);
		free(json);
		rc = -1;
		json_array_foreach(json_object_get(t, "pools"), i, p) {
			const char *f = json_string_value(json_object_get(p, "fqdn"));
			json_t *b = json_object_get(p, "backup");

			if (rc < 0 && f != NULL && strcasecmp(f, c->a->pool_fqdn) == 0)
				rc = print_relationship(c, f, json_is_string(b) ? json_string_value(b) : "");
		}
		json_decref(t);
		if (rc < 0)
			rc = cli_fail(c, CSB_ENOTFOUND, "%s is not a pool of the local store's topology",
			              c->a->pool_fqdn);
		return rc;
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

/* Writes data to path, refusing to overwrite without -Force. */
static int write_file(struct cli *c, const char *path, const uint8_t *data, size_t len)
{
	struct stat st;
	char tmp[CLI_PATH + 16];
	FILE *f;

	if (stat(path, &st) == 0 && !c->a->force)
		return cli_fail(c, CSB_EEXIST, "%s exists (use -Force to overwrite it)", path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "wb")) == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		if (f != NULL)
			unlink(tmp);
		return cli_fail(c, CSB_EIO, "cannot write %s: %s", path, strerror(errno));
	}
	if (rename(tmp, path) != 0)
		return cli_fail(c, CSB_EIO, "cannot write %s: %s", path, strerror(errno));
	return CLI_OK;
}

/* The local store's topology and configuration, as a bundle (Export -LocalStore). */
static int local_bundle(struct cli *c, uint8_t **zip, size_t *len)
{
	int rc = CLI_OK;
	char *tj = replica(c, CSB_CMS_KEY_TOPOLOGY, &rc), *cj, err[256];
	csb_topology *t = NULL;
	csb_backup_config cfg;
	csb_err rv;

	if (tj == NULL)
		return rc;
	if ((cj = replica(c, CSB_CMS_KEY_CONFIG, &rc)) == NULL) {
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

static int export_config(struct cli *c)
{
	Csb__Empty e = CSB__EMPTY__INIT;
	Csb__ZipDoc *z = NULL;
	char err[CSB_RPC_ERROR_MAX];
	uint8_t *zip = NULL;
	size_t len = 0;
	csb_err rv;
	int rc;

	if (c->a->local_store) {
		if ((rc = local_bundle(c, &zip, &len)) != CLI_OK)
			return rc;
		rc = write_file(c, c->a->file_name, zip, len);
		free(zip);
	} else {
		rv = cli_admin(c, "csb.Admin/ExportConfig", &e.base, &csb__zip_doc__descriptor, 10000,
		               true, (ProtobufCMessage **)&z, err);
		if (rv != CSB_OK)
			return cli_fail(c, rv, "%s", err);
		rc = write_file(c, c->a->file_name, z->zip.data, z->zip.len);
		len = z->zip.len;
		protobuf_c_message_free_unpacked(&z->base, NULL);
	}
	if (rc == CLI_OK && !c->a->json)
		printf("configuration exported to %s (%zu bytes)\n", c->a->file_name, len);
	return rc;
}

static int import_config(struct cli *c)
{
	Csb__ZipDoc z = CSB__ZIP_DOC__INIT;
	Csb__SeedReplicaRequest sr = CSB__SEED_REPLICA_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	char err[CSB_RPC_ERROR_MAX], *buf;
	csb_rpc_client *agent;
	size_t len;
	csb_err rv;

	if ((buf = cli_read_file(c->a->file_name, FILE_MAX, &len)) == NULL)
		return cli_fail(c, CSB_EINVAL, "cannot read %s: %s", c->a->file_name, strerror(errno));
	if (c->a->local_store) {
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
		return cli_fail(c, rv, "%s: %s", c->a->file_name, err);
	if (!c->a->json)
		printf("configuration imported from %s%s\n", c->a->file_name,
		       c->a->local_store ? " into the local store" : "");
	return CLI_OK;
}

static int cms_status(struct cli *c)
{
	Csb__Empty e = CSB__EMPTY__INIT;
	Csb__CmsStatusReply *out = NULL;
	char err[CSB_RPC_ERROR_MAX];
	json_t *doc, *reps;
	csb_err rv;

	rv = cli_admin(c, "csb.Admin/GetCmsStatus", &e.base, &csb__cms_status_reply__descriptor,
	               10000, true, (ProtobufCMessage **)&out, err);
	if (rv != CSB_OK)
		return cli_fail(c, rv, "%s", err);
	reps = json_array();
	for (size_t i = 0; i < out->n_replicas; i++) {
		const Csb__ReplicaStatus *r = out->replicas[i];

		json_array_append_new(reps, json_pack("{s:s, s:b, s:I, s:I}", "ReplicaFqdn",
		                                      r->replica_fqdn, "UpToDate", r->up_to_date,
		                                      "LastUpdateCreation",
		                                      (json_int_t)r->last_update_creation_ms,
		                                      "AppliedSeq", (json_int_t)r->applied_seq));
	}
	doc = json_pack("{s:s, s:I, s:o}", "ActiveMasterFqdn", out->active_master_fqdn, "HighSeq",
	                (json_int_t)out->high_seq, "Replicas", reps);
	if (c->a->json) {
		cli_print_json(doc, false);
	} else {
		printf("ActiveMasterFqdn : %s\n\n%-28s %-9s %s\n", out->active_master_fqdn,
		       "ReplicaFqdn", "UpToDate", "LastUpdateCreation");
		for (size_t i = 0; i < out->n_replicas; i++) {
			const Csb__ReplicaStatus *r = out->replicas[i];
			char when[32] = "-";

			if (r->last_update_creation_ms) {
				time_t s = (time_t)(r->last_update_creation_ms / 1000);
				struct tm tm;

				gmtime_r(&s, &tm);
				strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
			}
			printf("%-28s %-9s %s\n", r->replica_fqdn, r->up_to_date ? "True" : "False", when);
		}
	}
	json_decref(doc);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return CLI_OK;
}

int cli_config_cmd(struct cli *c)
{
	switch (c->a->cmd) {
	case CSB_CMD_PUBLISH_TOPOLOGY: return publish_topology(c);
	case CSB_CMD_TOPOLOGY: return get_topology(c);
	case CSB_CMD_GET_CONFIG: return get_config(c);
	case CSB_CMD_SET_CONFIG: return set_config(c);
	case CSB_CMD_RESET_CONFIG: return reset_config(c);
	case CSB_CMD_RELATIONSHIP: return relationship(c);
	case CSB_CMD_EXPORT_CONFIG: return export_config(c);
	case CSB_CMD_IMPORT_CONFIG: return import_config(c);
	case CSB_CMD_CMS_STATUS: return cms_status(c);
	default: return cli_fail(c, CSB_EINTERNAL, "not a configuration command");
	}
}
