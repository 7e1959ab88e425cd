/* The topology and Central Management store cmdlets as Microsoft documents them
 * (skype/skype-ps/skype/<Cmdlet>.md), run through the real csb on a local cluster:
 * Get-CsTopology, Publish-CsTopology, Export-CsConfiguration, Import-CsConfiguration,
 * Get-CsManagementStoreReplicationStatus and Invoke-CsManagementServerFailover (both of its
 * examples, -Restore, -WhatIf, -Report, a master killed and coming back). Each documented example runs as written with our FQDNs and paths (PowerShell
 * pipelines through --json and the shell), and each documented parameter is used, with its
 * exit code and its effect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/bundle.h"
#include "tests/cli_harness.h"
#include "tests/html_check.h"

#define P1 "pool01.csb.test"
#define P2 "pool02.csb.test"
#define TIME_RE "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

/* A shell line with $CSB the real csb: for the examples that pipe one csb into another. */
static void shell(struct ch_cluster *cl, int want, struct ch_result *r, const char *line)
{
	ch_shell(cl, line, r);
	if (r->code != want)
		fail_msg("%s: exit %d, not %d\n--- stdout:\n%s--- stderr:\n%s", line, r->code, want,
		         r->out, r->err);
}

static json_t *topology(struct ch_cluster *cl)
{
	struct ch_result r;
	json_t *t;

	ch_ok(cl, 0, &r, "Get-CsTopology", "--json", NULL);
	t = ch_json(&r);
	ch_result_free(&r);
	return t;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Get-CsTopology: Example 1; -LocalStore; -AsXml (Examples 2 and 3 are PowerShell
 * pipelines: --json is csb's equivalent). */
static void test_get_topology(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r, local;
	json_t *t;

	ch_ok(cl, 0, &r, "Get-CsTopology", NULL);
	assert_true(ch_starts_with(r.out, "PoolFqdn                     Site       Agent"));
	assert_true(ch_matches(r.out, "^" P1 " +[a-z0-9]+ +tls\\+tcp://127\\.0\\.0\\.1:[0-9]+ +" P2
	                           " +True$"));
	ch_ok(cl, 0, &local, "Get-CsTopology", "-LocalStore", NULL);
	assert_string_equal(local.out, r.out);
	ch_result_free(&local);
	ch_result_free(&r);
	ch_ok(cl, 2, &r, "Get-CsTopology", "-AsXml", NULL);
	assert_string_equal(r.err, "csb: Get-CsTopology: -AsXml is not available: the topology is "
	                           "JSON here; use --json (it prints what Publish-CsTopology "
	                           "reads)\n");
	ch_result_free(&r);
	t = topology(cl); /* Example 2's Machines: the pools */
	assert_int_equal(json_array_size(json_object_get(t, "pools")), 2);
	json_decref(t);
}

static size_t backups_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += ch_starts_with(e->d_name, "Publish-CsTopology-Backup-[");
	closedir(d);
	return n;
}

/* Example 1: (Get-CsTopology -AsXml).ToString() > C:\Topologies\Topology.xml, then
 * Publish-CsTopology -FileName "C:\Topologies\Topology.xml": the topology saved and
 * republished; the replaced one is saved in $TMPDIR and restores what was there. */
static void test_publish_example(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char file[CH_PATH + 32], *saved, want[CH_PATH * 4];
	const char *p;
	json_t *before = topology(cl), *again;

	snprintf(file, sizeof(file), "%s/Topology.json", cl->work);
	ch_ok(cl, 0, &r, "Get-CsTopology", "--json", NULL);
	write_file(file, r.out);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Publish-CsTopology", "-FileName", file, NULL);
	snprintf(want, sizeof(want), "topology published from %s\nthe previous topology is saved "
	                             "in %s/Publish-CsTopology-Backup-[", file, cl->tmp);
	assert_true(ch_starts_with(r.out, want));
	assert_true(ch_matches(r.out, "Backup-\\[[0-9]{4}_[0-9]{2}_[0-9]{2}\\]\\[[0-9]{2}_[0-9]{2}_"
	                           "[0-9]{2}\\]\\.json \\(publish it to restore it\\)\n$"));
	p = strstr(r.out, " is saved in ") + strlen(" is saved in ");
	snprintf(want, sizeof(want), "%.*s", (int)strcspn(p, " "), p);
	assert_non_null(saved = ch_read_file(want));
	again = json_loads(saved, 0, NULL);
	assert_true(json_equal(again, before));
	json_decref(again);
	free(saved);
	ch_result_free(&r);
	again = topology(cl);
	assert_true(json_equal(again, before));
	json_decref(again);
	json_decref(before);
}

/* -BackupFileName (and the file name without -FileName), -WhatIf, -Confirm, -Report,
 * -Force, and the documented parameters that name Active Directory or objects. */
static void test_publish_parameters(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char next[CH_PATH + 32], old[CH_PATH + 32], report[CH_PATH + 32], bad[CH_PATH + 32];
	char nowhere[CH_PATH + 32], want[CH_PATH * 4], *html, why[256];
	json_t *before = topology(cl), *t = json_deep_copy(before), *now;
	size_t backups = backups_in(cl->tmp);

	json_array_append_new(json_object_get(t, "principals"),
	                      json_pack("{s:s, s:[s]}", "name", "ops", "groups", "Operators"));
	snprintf(next, sizeof(next), "%s/next.json", cl->work);
	assert_int_equal(json_dump_file(t, next, 0), 0);
	snprintf(old, sizeof(old), "%s/old.json", cl->work);
	snprintf(report, sizeof(report), "%s/publish.html", cl->work);

	ch_ok(cl, 0, &r, "Publish-CsTopology", next, "-BackupFileName", old, "-WhatIf", NULL);
	snprintf(want, sizeof(want), "What if: Performing the operation \"Publish-CsTopology\" on "
	                             "target \"%s\": publish 2 pools in place of 2, saving those to "
	                             "%s\n", next, old);
	assert_string_equal(r.out, want);
	ch_result_free(&r);
	assert_int_equal(access(old, F_OK), -1);
	ch_run_in(cl, "n\n", 0, &r, "Publish-CsTopology", next, "-Confirm", NULL);
	snprintf(want, sizeof(want), "Publish %s in place of the current topology? [y/N] Not "
	                             "confirmed; nothing was done.\n", next);
	assert_string_equal(r.err, want);
	ch_result_free(&r);
	now = topology(cl);
	assert_true(json_equal(now, before));
	json_decref(now);

	ch_ok(cl, 0, &r, "Publish-CsTopology", "-FileName", next, "-BackupFileName", old,
	      "-Report", report, NULL);
	snprintf(want, sizeof(want), "topology published from %s\nthe previous topology is saved "
	                             "in %s (publish it to restore it)\nReport: %s\n", next, old,
	         report);
	assert_string_equal(r.out, want);
	ch_result_free(&r);
	assert_int_equal(backups_in(cl->tmp), backups); /* -BackupFileName, not $TMPDIR */
	now = topology(cl);
	assert_true(json_equal(now, t));
	json_decref(now);
	assert_non_null(html = ch_read_file(report));
	assert_true(h_html_check(html, why, sizeof(why)));
	assert_non_null(strstr(html, "<td>Succeeded</td>"));
	assert_non_null(strstr(html, old));
	free(html);

	/* Publishing the saved file restores the topology it replaced. */
	ch_ok(cl, 0, &r, "Publish-CsTopology", "-FileName", old, "-Force", NULL);
	ch_result_free(&r);
	now = topology(cl);
	assert_true(json_equal(now, before));
	json_decref(now);

	/* A refused topology: exit 2, nothing changes, and the report says why. */
	snprintf(bad, sizeof(bad), "%s/bad.json", cl->work);
	write_file(bad, "{\"sites\":[],\"pools\":[{\"fqdn\":\"x\"}],\"principals\":[]}");
	ch_ok(cl, 2, &r, "Publish-CsTopology", "-FileName", bad, "-Report", report, NULL);
	assert_true(ch_starts_with(r.err, "csb: Publish-CsTopology: "));
	ch_result_free(&r);
	assert_non_null(html = ch_read_file(report));
	assert_non_null(strstr(html, "<td>Failed: "));
	free(html);

	/* The replaced topology cannot be saved: an error, or with -Force a warning. */
	snprintf(nowhere, sizeof(nowhere), "%s/no/such/folder/old.json", cl->work);
	ch_ok(cl, 1, &r, "Publish-CsTopology", "-FileName", next, "-BackupFileName", nowhere, NULL);
	snprintf(want, sizeof(want), "csb: Publish-CsTopology: cannot save the current topology to "
	                             "%s: No such file or directory; nothing was published (-Force "
	                             "publishes anyway)\n", nowhere);
	assert_string_equal(r.err, want);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Publish-CsTopology", "-FileName", next, "-BackupFileName", nowhere,
	      "-Force", NULL);
	snprintf(want, sizeof(want), "WARNING: cannot save the current topology to %s: No such file "
	                             "or directory\n", nowhere);
	assert_string_equal(r.err, want);
	ch_result_free(&r);
	now = topology(cl);
	assert_true(json_equal(now, t));
	json_decref(now);

	ch_ok(cl, 2, &r, "Publish-CsTopology", "-FileName", next, "-GlobalCatalog", "gc.x.test",
	      NULL);
	ch_result_free(&r);
	ch_ok(cl, 2, &r, "Publish-CsTopology", "-FileName", next,
	      "-GlobalSettingsDomainController", "dc.x.test", NULL);
	ch_result_free(&r);
	ch_ok(cl, 2, &r, "Publish-CsTopology", "-Document", "$doc", NULL);
	ch_result_free(&r);
	ch_ok(cl, 2, &r, "Publish-CsTopology", "-FinalizeUninstall", NULL);
	ch_result_free(&r);

	ch_ok(cl, 0, &r, "Publish-CsTopology", "-FileName", old, NULL); /* as before */
	ch_result_free(&r);
	json_decref(t);
	json_decref(before);
}

/* Export-CsConfiguration: Example 1, run twice (the file is replaced, with a warning
 * that -Force suppresses), -LocalStore and -AsBytes. Import-CsConfiguration: Example 1 (the
 * configuration comes back), Example 2 (-LocalStore), Example 3 (-AsBytes into -ByteInput,
 * without a file). */
static void test_export_import(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char zip[CH_PATH + 32], want[CH_PATH * 4], line[CH_PATH * 3];

	snprintf(zip, sizeof(zip), "%s/Config.zip", cl->work);
	ch_ok(cl, 0, &r, "Export-CsConfiguration", "-FileName", zip, NULL);
	snprintf(want, sizeof(want), "configuration exported to %s (", zip);
	assert_true(ch_starts_with(r.out, want));
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Export-CsConfiguration", "-FileName", zip, NULL);
	assert_true(ch_starts_with(r.out, want));
	snprintf(want, sizeof(want), "WARNING: %s exists and is replaced\n", zip);
	assert_string_equal(r.err, want);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Export-CsConfiguration", zip, "-Force", NULL);
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Export-CsConfiguration", "-AsBytes", "-LocalStore", NULL);
	assert_true(r.out_len > 100 && memcmp(r.out, "PK\3\4", 4) == 0);
	ch_result_free(&r);

	/* Example 1: what the ZIP holds replaces what changed since. */
	ch_ok(cl, 0, &r, "Set-CsBackupServiceConfiguration", "-SyncInterval", "45", NULL);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Import-CsConfiguration", "-FileName", zip, NULL);
	snprintf(want, sizeof(want), "configuration imported from %s\n", zip);
	assert_string_equal(r.out, want);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsBackupServiceConfiguration", "--json", NULL);
	assert_non_null(strstr(r.out, "\"SyncInterval\":\"00:02:00\""));
	ch_result_free(&r);

	/* Example 2. */
	ch_ok(cl, 0, &r, "Import-CsConfiguration", "-FileName", zip, "-LocalStore", NULL);
	snprintf(want, sizeof(want), "configuration imported from %s into the local store\n", zip);
	assert_string_equal(r.out, want);
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);

	/* Example 3: $x = Export-CsConfiguration -AsBytes; Import-CsConfiguration -ByteInput $x
	 * -LocalStore. */
	snprintf(line, sizeof(line), "\"$CSB\" Export-CsConfiguration -AsBytes | \"$CSB\" "
	                             "Import-CsConfiguration -ByteInput - -LocalStore");
	shell(cl, 0, &r, line);
	assert_string_equal(r.out, "configuration imported from stdin into the local store\n");
	ch_result_free(&r);
	ch_ok(cl, 2, &r, "Import-CsConfiguration", "-ByteInput", "$x", NULL);
	ch_result_free(&r);
	ch_run_in(cl, CH_TTY, 2, &r, "Import-CsConfiguration", "-ByteInput", "-", NULL);
	assert_string_equal(r.err, "csb: Import-CsConfiguration: -ByteInput - reads the ZIP from "
	                           "stdin, which is a terminal: pipe it in\n");
	ch_result_free(&r);
}

/* Import -LocalStore of a ZIP whose topology does not have the pool: a warning, unless
 * -Force; then the pool's replica is seeded again from the coordinator. */
static void test_import_foreign_zip(void **state)
{
	struct ch_cluster *cl = *state;
	static const char foreign[] =
		"{\"sites\":[{\"name\":\"s\"}],\"pools\":[{\"fqdn\":\"pool07.csb.test\",\"site\":\"s\","
		"\"agent\":\"tls+tcp://127.0.0.1:1\",\"hostsCms\":true}],\"principals\":[]}";
	struct ch_result r;
	csb_topology *t = NULL;
	csb_backup_config cfg;
	char path[CH_PATH + 32], err[256];
	uint8_t *zip;
	size_t len;
	FILE *f;

	assert_int_equal(csb_topology_parse(foreign, strlen(foreign), &t, err, sizeof(err)), CSB_OK);
	csb_config_defaults(&cfg);
	assert_int_equal(csb_bundle_write(t, &cfg, &zip, &len), CSB_OK);
	csb_topology_free(t);
	snprintf(path, sizeof(path), "%s/foreign.zip", cl->work);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(zip, 1, len, f), len);
	fclose(f);
	free(zip);

	ch_ok(cl, 0, &r, "Import-CsConfiguration", path, "-LocalStore", NULL);
	assert_string_equal(r.err, "WARNING: the ZIP's topology has no pool " P1 ", whose local "
	                           "store it is imported into\n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Import-CsConfiguration", path, "-LocalStore", "-Force", NULL);
	assert_int_equal(r.err_len, 0);
	ch_result_free(&r);
	shell(cl, 0, &r, "\"$CSB\" Export-CsConfiguration -AsBytes | \"$CSB\" "
	                 "Import-CsConfiguration -ByteInput - -LocalStore");
	ch_result_free(&r);
}

/* Get-CsManagementStoreReplicationStatus: Examples 1 and 3 (also without the parameter's
 * name); Examples 2 and 4 filter with Where-Object: --json is csb's way, with
 * LastUpdateCreation in one format in text and JSON; -CentralManagementStoreStatus. */
static void test_replication_status(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	json_t *j, *rep;
	size_t i;

	ch_ok(cl, 0, &r, "Get-CsManagementStoreReplicationStatus", NULL);
	assert_true(ch_starts_with(r.out, "ActiveMasterFqdn : " P1 "\nCmsEpoch         : 1\n\n"
	                               "ReplicaFqdn                  UpToDate  LastUpdateCreation\n"));
	assert_true(ch_matches(r.out, "^" P1 " +(True|False) +" TIME_RE "$"));
	assert_true(ch_matches(r.out, "^" P2 " +(True|False) +" TIME_RE "$"));
	ch_result_free(&r);

	ch_ok(cl, 0, &r, "Get-CsManagementStoreReplicationStatus", "-ReplicaFqdn", P2, NULL);
	assert_true(ch_matches(r.out, "^" P2 " "));
	assert_false(ch_matches(r.out, "^" P1 " "));
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsManagementStoreReplicationStatus", P2, "--json", NULL);
	j = ch_json(&r);
	assert_int_equal(json_array_size(json_object_get(j, "Replicas")), 1);
	json_array_foreach(json_object_get(j, "Replicas"), i, rep) {
		assert_string_equal(json_string_value(json_object_get(rep, "ReplicaFqdn")), P2);
		assert_true(ch_matches(json_string_value(json_object_get(rep, "LastUpdateCreation")),
		                    "^" TIME_RE "$"));
		assert_true(json_is_boolean(json_object_get(rep, "UpToDate")));
	}
	json_decref(j);
	ch_result_free(&r);
	ch_ok(cl, 1, &r, "Get-CsManagementStoreReplicationStatus", "-ReplicaFqdn",
	      "pool09.csb.test", NULL);
	assert_string_equal(r.err, "csb: Get-CsManagementStoreReplicationStatus: pool09.csb.test "
	                           "holds no replica of the Central Management store\n");
	ch_result_free(&r);

	/* Examples 2 and 4 (Where-Object) as the help writes them, with jq. */
	for (int tries = 0; tries < 100; tries++) { /* both catch up: then it prints none */
		shell(cl, 0, &r, "\"$CSB\" Get-CsManagementStoreReplicationStatus --json | jq -c "
		                 "'.Replicas[] | select(.UpToDate == false)'");
		if (r.out_len == 0)
			break;
		assert_true(ch_starts_with(r.out, "{\"ReplicaFqdn\":"));
		ch_result_free(&r);
		usleep(100 * 1000);
	}
	assert_string_equal(r.out, "");
	ch_result_free(&r);
	shell(cl, 0, &r, "\"$CSB\" Get-CsManagementStoreReplicationStatus --json | jq -r "
	                 "'.Replicas[] | select(.LastUpdateCreation < \"2018-08-11T20:00:00\") | "
	                 ".ReplicaFqdn'");
	assert_string_equal(r.out, ""); /* none last updated before 2018 */
	ch_result_free(&r);
	shell(cl, 0, &r, "\"$CSB\" Get-CsManagementStoreReplicationStatus --json | jq -r "
	                 "'.Replicas[] | select(.LastUpdateCreation > \"2018-08-11T20:00:00\") | "
	                 ".ReplicaFqdn'");
	assert_string_equal(r.out, P1 "\n" P2 "\n");
	ch_result_free(&r);

	ch_ok(cl, 0, &r, "Get-CsManagementStoreReplicationStatus", "-CentralManagementStoreStatus",
	      "--json", NULL);
	j = ch_json(&r);
	rep = json_object_get(j, "CentralManagementStoreStatus");
	assert_string_equal(json_string_value(json_object_get(rep, "ActiveMasterFqdn")), P1);
	assert_int_equal(json_integer_value(json_object_get(j, "CmsEpoch")), 1);
	/* The standby coordinator runs beside pool01's backup pool and beats every 2 s. */
	assert_string_equal(json_string_value(json_object_get(json_object_get(rep, "Standby"),
	                                                      "Fqdn")), P2);
	assert_int_equal(json_array_size(json_object_get(rep, "ActiveReplicas")), 2);
	/* Both agents long-poll the CMS: both are active, each with its last heartbeat. */
	assert_int_equal(json_array_size(json_object_get(rep, "ActiveReplicationAgents")), 2);
	assert_true(ch_matches(json_string_value(json_object_get(json_object_get(rep, "LastHeartbeat"),
	                                                         P1)),
	                       "^[0-9]{4}-[0-9]{2}-[0-9]{2}T"));
	assert_int_equal(r.err_len, 0);
	json_decref(j);
	ch_result_free(&r);
}

/* The URL of the cluster's coordinator in slot ("coordinator" or "standby"). */
static void coordinator_url(struct ch_cluster *cl, const char *slot, char *out, size_t len)
{
	char path[CH_PATH + 32];
	json_t *c;

	snprintf(path, sizeof(path), "%s/cluster.json", cl->dir);
	c = json_load_file(path, 0, NULL);
	assert_non_null(c);
	snprintf(out, len, "%s", json_string_value(json_object_get(json_object_get(c, slot), "url")));
	json_decref(c);
}

static void master_is(struct ch_cluster *cl, const char *pool, long long epoch)
{
	ch_cms_master_is(cl, pool, epoch, NULL, 2);
}

/* A change sent to the coordinator at url (not the cluster's current one). */
static void change_at(struct ch_cluster *cl, const char *url, int want, struct ch_result *r)
{
	char crt[CH_PATH + 32], key[CH_PATH + 32], ca[CH_PATH + 32];

	snprintf(crt, sizeof(crt), "%s/pki/admin.crt", cl->dir);
	snprintf(key, sizeof(key), "%s/pki/admin.key", cl->dir);
	snprintf(ca, sizeof(ca), "%s/pki/ca.crt", cl->dir);
	ch_ok(cl, want, r, "--coordinator", url, "--cert", crt, "--key", key, "--ca", ca,
	      "Set-CsBackupServiceConfiguration", "-SyncInterval", "00:01:30", NULL);
}

/* Invoke-CsManagementServerFailover on the cluster: -WhatIf changes nothing; Example 1 moves
 * the master to the standby beside pool02, every agent follows and the old master refuses
 * changes naming the new one; -Restore brings it home (and again: nothing to do); Example 2
 * (disaster recovery, "RTC" the one instance) takes over from a killed master, which refuses
 * changes when it comes back; the SQL mirror parameters are refused (exit 2). */
static void test_cms_failover(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char report[CH_PATH + 32], home[256], standby[256], line[512], *html;
	json_t *j;

	snprintf(report, sizeof(report), "%s/cms.html", cl->work);
	coordinator_url(cl, "coordinator", home, sizeof(home));
	coordinator_url(cl, "standby", standby, sizeof(standby));
	ch_ok(cl, 0, &r, "Invoke-CsManagementServerFailover", "-BackupSqlServerFqdn", P2, "-Force",
	      "-Report", report, "-WhatIf", "-Confirm:$false", NULL);
	assert_string_equal(r.out, "What if: the coordinator on " P2 " would become the active "
	                           "master of the Central Management store at epoch 2, taking it "
	                           "over from the replica of " P2 " without " P1 " (-Force)\n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Invoke-CsManagementServerFailover", "-WhatIf", NULL); /* via the master */
	assert_string_equal(r.out, "What if: the coordinator on " P2 " would become the active "
	                           "master of the Central Management store at epoch 2, taking it "
	                           "over from the replica of " P2 " after " P1 " hands over\n");
	ch_result_free(&r);
	master_is(cl, P1, 1);

	ch_ok(cl, 0, &r, "Invoke-CsManagementServerFailover", NULL); /* Example 1 */
	assert_true(ch_matches(r.out, "^The Central Management store is served by pool02\\.csb\\.test "
	                              "\\(epoch 2, was pool01\\.csb\\.test\\) in [0-9]+ ms; 2 of 2 "
	                              "agents follow it$"));
	ch_result_free(&r);
	master_is(cl, P2, 2);
	change_at(cl, home, 1, &r);
	snprintf(line, sizeof(line), "csb: Set-CsBackupServiceConfiguration: not active master: " P2
	         " (epoch 2) at %s\n", standby);
	assert_string_equal(r.err, line);
	ch_result_free(&r);
	change_at(cl, standby, 0, &r); /* the new master takes it */
	ch_result_free(&r);

	ch_ok(cl, 0, &r, "Invoke-CsManagementServerFailover", "-Restore", "-Report", report, NULL);
	assert_true(ch_matches(r.out, "^The Central Management store is served by pool01\\.csb\\.test "
	                              "\\(epoch 3, was pool02\\.csb\\.test\\) in [0-9]+ ms; 2 of 2 "
	                              "agents follow it$"));
	ch_result_free(&r);
	html = ch_read_file(report);
	assert_non_null(strstr(html, "<td>pool01.csb.test</td>"));
	free(html);
	master_is(cl, P1, 3);
	ch_ok(cl, 0, &r, "cms-failover", "-Restore", NULL);
	assert_string_equal(r.out, "The Central Management store is at its home pool " P1
	                           " already (epoch 3)\n");
	ch_result_free(&r);

	/* Example 2: the master is lost. */
	ch_ok(cl, 0, &r, "cluster", "kill", "--dir", cl->dir, "--node", "coordinator", NULL);
	ch_result_free(&r);
	ch_ok(cl, 4, &r, "Invoke-CsManagementServerFailover", NULL);
	assert_true(ch_starts_with(r.err, "csb: Invoke-CsManagementServerFailover: the coordinator "
	                                  "at "));
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Invoke-CsManagementServerFailover", "-BackupSqlServerFqdn", P2,
	      "-BackupSqlInstanceName", "RTC", "-Force", "--json", NULL);
	j = ch_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "ActiveMasterFqdn")), P2);
	assert_string_equal(json_string_value(json_object_get(j, "PreviousMasterFqdn")), P1);
	assert_int_equal(json_integer_value(json_object_get(j, "CmsEpoch")), 4);
	assert_int_equal(json_integer_value(json_object_get(j, "AgentsFollowing")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "AgentsTotal")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "PossibleLoss"),
	                                                    "KnownChanges")), 0);
	json_decref(j);
	ch_result_free(&r);
	master_is(cl, P2, 4);
	ch_ok(cl, 0, &r, "cluster", "start", "--dir", cl->dir, "--node", "coordinator", NULL);
	ch_result_free(&r);
	change_at(cl, home, 1, &r); /* back, it stands by */
	snprintf(line, sizeof(line), "csb: Set-CsBackupServiceConfiguration: not active master: " P2
	         " (epoch 4) at %s\n", standby);
	assert_string_equal(r.err, line);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "cms-failover", "-Restore", NULL); /* home for the tests after this one */
	ch_result_free(&r);
	master_is(cl, P1, 5);

	ch_ok(cl, 2, &r, "Invoke-CsManagementServerFailover", "-BackupMirrorSqlServerFqdn", P2,
	      NULL);
	ch_result_free(&r);
	ch_ok(cl, 2, &r, "Invoke-CsManagementServerFailover", "-BackupMirrorSqlInstanceName", "RTC",
	      NULL);
	ch_result_free(&r);
	ch_ok(cl, 2, &r, "Invoke-CsManagementServerFailover", "-BackupSqlServerFqdn", P2, NULL);
	ch_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_topology),
		cmocka_unit_test(test_publish_example),
		cmocka_unit_test(test_publish_parameters),
		cmocka_unit_test(test_export_import),
		cmocka_unit_test(test_replication_status),
		cmocka_unit_test(test_cms_failover),
		cmocka_unit_test(test_import_foreign_zip),
	};
	return cmocka_run_group_tests(tests, ch_group_up, ch_group_down);
}
