/* A coordinator with real agents, driven through the csb command line: a 4-pool cluster
 * with its published relationships; a configuration change reaching every agent's replica;
 * bad topologies refused with the path of the problem and nothing published; agents going
 * on while the coordinator is down, -LocalStore answering, status catching up; export,
 * reset and import of the configuration, corrupt ZIPs refused; access denied; a failed
 * `cluster up` and a restart of six pools. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/rpc.h"
#include "proto/status.pb-c.h"
#include "tests/cli_harness.h"
#include "tests/harness.h"

#define PRESENCE "UserServices.PresenceFocus"

static int up2(void **state)
{
	return ch_setup_pools(state, "2");
}

static int up4(void **state)
{
	return ch_setup_pools(state, "4");
}

static int up6(void **state)
{
	return ch_setup_pools(state, "6");
}

/* A client to pool k's agent (1-based) as the cluster's admin. */
static csb_rpc_client *agent(struct ch_cluster *f, unsigned k)
{
	return h_cluster_client(f->dir, k);
}

/* The agent's replica value of key ("" when absent). */
static void replica(csb_rpc_client *c, const char *key, char *out, size_t len)
{
	Csb__ReplicaRequest rq = CSB__REPLICA_REQUEST__INIT;
	Csb__ReplicaReply *rep = NULL;

	rq.key = (char *)key;
	assert_int_equal(csb_rpc_call_msg(c, "csb.Control/Replica", &rq.base,
	                                  &csb__replica_reply__descriptor, 5000,
	                                  (ProtobufCMessage **)&rep, NULL),
	                 CSB_OK);
	snprintf(out, len, "%.*s", (int)rep->value.len, rep->found ? (char *)rep->value.data : "");
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

static void test_four_pools_relationships_and_config(void **state)
{
	struct ch_cluster *f = *state;
	static const char *const expect[] = {
		"{\"PoolFqdn\":\"pool01.csb.test\",\"BackupPoolFqdn\":\"pool02.csb.test\"}\n",
		"{\"PoolFqdn\":\"pool02.csb.test\",\"BackupPoolFqdn\":\"pool01.csb.test\"}\n",
		"{\"PoolFqdn\":\"pool03.csb.test\",\"BackupPoolFqdn\":\"pool04.csb.test\"}\n",
		"{\"PoolFqdn\":\"pool04.csb.test\",\"BackupPoolFqdn\":\"pool03.csb.test\"}\n",
	};
	struct ch_result r;
	char pool[32], value[1024];

	for (unsigned k = 1; k <= 4; k++) {
		snprintf(pool, sizeof(pool), "pool%02u.csb.test", k);
		ch_ok(f, 0, &r, "Get-CsPoolBackupRelationship", "-PoolFqdn", pool,
		                                    "--json", NULL);
		assert_string_equal(r.out, expect[k - 1]);
		ch_result_free(&r);
	}

	/* A change reaches every agent's replica (measured, printed; not a timing test). */
	ch_ok(f, 0, &r, "Set-CsBackupServiceConfiguration", "-Identity", "Global",
	                                    "-SyncInterval", "00:00:30", NULL);
	ch_result_free(&r);
	for (unsigned k = 1; k <= 4; k++) {
		csb_rpc_client *c = agent(f, k);
		uint64_t t0 = csb_mono_ms();

		do {
			replica(c, "config/Global", value, sizeof(value));
			if (strstr(value, "\"SyncInterval\": \"00:00:30\"") ||
			    strstr(value, "\"SyncInterval\":\"00:00:30\""))
				break;
			csb_sleep_ms(5);
		} while (csb_mono_ms() - t0 < 10000);
		print_message("pool%02u replica has SyncInterval 00:00:30 after %llu ms\n", k,
		              (unsigned long long)(csb_mono_ms() - t0));
		assert_non_null(strstr(value, "00:00:30"));
		csb_rpc_client_close(c);
	}

	/* Out of range: refused before any call, nothing changes. */
	ch_run(f, NULL, &r, "set-config", "-Identity", "Global",
	                                                     "-SyncInterval", "03:00:01", NULL);
	assert_int_equal(r.code, 2);
	assert_string_equal(r.err, "csb: Set-CsBackupServiceConfiguration: -SyncInterval must be "
	                           "between 00:00:05 and 03:00:00\n");
	ch_result_free(&r);
	ch_ok(f, 0, &r, "get-config", "--json", NULL);
	assert_non_null(strstr(r.out, "\"SyncInterval\":\"00:00:30\""));
	ch_result_free(&r);
}

/* Publishes text as a topology file; returns the run (caller frees). */
static void publish(struct ch_cluster *f, struct ch_result *r, const char *text)
{
	char path[H_PATH + 32];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/candidate.json", f->work);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	ch_run(f, NULL, r, "Publish-CsTopology", "-FileName", path, NULL);
}

#define POOL(n, port, backup, cms)                                                             \
	"{\"fqdn\":\"" n "\",\"site\":\"s\",\"agent\":\"tls+tcp://127.0.0.1:" port "\",\"backup\":\"" \
	backup "\",\"hostsCms\":" cms "}"
#define TOPO(pools) "{\"sites\":[{\"name\":\"s\"}],\"pools\":[" pools "],\"principals\":[]}"

static void test_bad_topologies_change_nothing(void **state)
{
	struct ch_cluster *f = *state;
	static const struct {
		const char *text;
		const char *err;
	} bad[] = {
		{TOPO(POOL("a.test", "7001", "b.test", "true") "," POOL("b.test", "7002", "c.test", "false")
		      "," POOL("c.test", "7003", "b.test", "false")),
		 "$.pools[0].backup: a.test backs up to b.test, but b.test backs up to c.test"},
		{TOPO(POOL("a.test", "7001", "a.test", "true")),
		 "$.pools[0].backup: a.test cannot be its own backup pool"},
		{TOPO(POOL("a.test", "7001", "b.test", "true") "," POOL("b.test", "7002", "a.test", "false")
		      "," POOL("A.test", "7003", "b.test", "false")),
		 "$.pools[2].fqdn: a.test is listed twice (also $.pools[0])"},
		{TOPO(POOL("pool_1.test", "7001", "b.test", "true")),
		 "$.pools[0].fqdn: 'pool_1.test' is not a valid FQDN (only letters, digits, '-' and '.' "
		 "are allowed)"},
		{"{\"sites\":[{\"name\":\"s\"}],\n \"pools\": [", "line 2, column 11:"},
		{"", "the file is empty"},
	};
	struct ch_result before, r, after;
	char want[CH_PATH + 512];

	ch_ok(f, 0, &before, "Get-CsTopology", "--json", NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		publish(f, &r, bad[i].text);
		assert_int_equal(r.code, 2);
		snprintf(want, sizeof(want), "csb: Publish-CsTopology: %s/candidate.json: %s", f->work,
		         bad[i].err);
		if (strncmp(r.err, want, strlen(want)) != 0)
			fail_msg("topology %zu: got '%s', want '%s…'", i, r.err, want);
		ch_result_free(&r);
		ch_ok(f, 0, &after, "Get-CsTopology", "--json", NULL);
		assert_string_equal(after.out, before.out);
		ch_result_free(&after);
	}
	ch_result_free(&before);
}

static uint64_t imported_seq(csb_rpc_client *c)
{
	Csb__StatusRequest sr = CSB__STATUS_REQUEST__INIT;
	Csb__PoolStatus *ps = NULL;
	uint64_t seq = 0;

	assert_int_equal(csb_rpc_call_msg(c, "csb.Control/Status", &sr.base,
	                                  &csb__pool_status__descriptor, 5000,
	                                  (ProtobufCMessage **)&ps, NULL),
	                 CSB_OK);
	for (size_t i = 0; i < ps->n_backup_modules; i++)
		if (strcmp(ps->backup_modules[i]->identity, PRESENCE) == 0)
			seq = ps->backup_modules[i]->imported_seq;
	protobuf_c_message_free_unpacked(&ps->base, NULL);
	return seq;
}

static void test_coordinator_down_agents_go_on(void **state)
{
	struct ch_cluster *f = *state;
	csb_rpc_client *p1 = agent(f, 1), *p2 = agent(f, 2);
	struct ch_result r;
	uint64_t t0;

	ch_ok(f, 0, &r, "cluster", "kill", "--dir", f->dir, "--node",
	                                    "coordinator", NULL);
	ch_result_free(&r);

	/* Replication does not need the coordinator. */
	h_put_range(p1, PRESENCE, "user", 0, 1000, 100, 3, 500);
	t0 = csb_mono_ms();
	while (imported_seq(p2) < 1000 && csb_mono_ms() - t0 < 30000)
		csb_sleep_ms(10);
	assert_int_equal(imported_seq(p2), 1000);

	/* The replica answers for the coordinator. */
	ch_ok(f, 0, &r, "Get-CsPoolBackupRelationship", "-PoolFqdn",
	                                    "pool02.csb.test", "-LocalStore", "--json", NULL);
	assert_string_equal(r.out,
	                    "{\"PoolFqdn\":\"pool02.csb.test\",\"BackupPoolFqdn\":\"pool01.csb.test\"}\n");
	ch_result_free(&r);
	ch_ok(f, 0, &r, "Get-CsBackupServiceConfiguration", "-LocalStore",
	                                    "--json", NULL);
	assert_non_null(strstr(r.out, "\"SyncInterval\":\"00:02:00\""));
	ch_result_free(&r);

	/* Without -LocalStore: unreachable after the retries. */
	ch_run(f, NULL, &r, "get-config", NULL);
	assert_int_equal(r.code, 4);
	assert_non_null(strstr(r.err, "csb: Get-CsBackupServiceConfiguration: the coordinator at "));
	ch_result_free(&r);

	/* Back: the coordinator sees the agents' state again. */
	ch_ok(f, 0, &r, "cluster", "start", "--dir", f->dir, "--node",
	                                    "coordinator", NULL);
	ch_result_free(&r);
	ch_ok(f, 0, &r, "Get-CsManagementStoreReplicationStatus", "--json", NULL);
	assert_non_null(strstr(r.out, "\"ActiveMasterFqdn\":\"pool01.csb.test\""));
	ch_result_free(&r);

	/* Status catches up: the pool's export and its backup pool's import of what was written
	 * while the coordinator was away. */
	ch_ok(f, 0, &r, "Get-CsBackupServiceStatus", "-PoolFqdn", "pool01.csb.test", "-Category",
	      "UserData", "--json", NULL);
	{
		json_t *doc = json_loads(r.out, 0, NULL), *m;

		assert_non_null(doc);
		m = json_array_get(json_object_get(doc, "BackupModules"), 0);
		assert_string_equal(json_string_value(json_object_get(m, "Identity")), PRESENCE);
		assert_int_equal(json_integer_value(json_object_get(m, "HighSeq")), 1000);
		assert_int_equal(json_integer_value(json_object_get(m, "ExportedSeq")), 1000);
		assert_int_equal(json_integer_value(json_object_get(m, "ExportedRecordsTotal")), 1000);
		assert_string_equal(json_string_value(json_object_get(m, "ExportStatus")),
		                    "SteadyState");
		json_decref(doc);
	}
	ch_result_free(&r);
	ch_ok(f, 0, &r, "Get-CsBackupServiceStatus", "-PoolFqdn", "pool02.csb.test", "-Category",
	      "UserData", "--json", NULL);
	{
		json_t *doc = json_loads(r.out, 0, NULL), *m;

		assert_non_null(doc);
		m = json_array_get(json_object_get(doc, "BackupModules"), 0);
		assert_int_equal(json_integer_value(json_object_get(m, "ImportedSeq")), 1000);
		assert_string_equal(json_string_value(json_object_get(m, "ImportStatus")),
		                    "NormalState");
		json_decref(doc);
	}
	ch_result_free(&r);
	/* Every replica pulls again and is up to date. */
	t0 = csb_mono_ms();
	do {
		ch_ok(f, 0, &r, "Get-CsManagementStoreReplicationStatus", "--json", NULL);
		if (strstr(r.out, "\"UpToDate\":false") == NULL)
			break;
		ch_result_free(&r);
		csb_sleep_ms(100);
	} while (csb_mono_ms() - t0 < 30000);
	assert_null(strstr(r.out, "\"UpToDate\":false"));
	{
		json_t *doc = ch_json(&r);

		assert_int_equal(json_array_size(json_object_get(doc, "Replicas")), 2);
		json_decref(doc);
	}
	ch_result_free(&r);
	csb_rpc_client_close(p1);
	csb_rpc_client_close(p2);
}

static void test_export_reset_import_and_bad_zips(void **state)
{
	struct ch_cluster *f = *state;
	char zip[H_PATH + 32], bad[H_PATH + 32], buf[65536];
	struct ch_result r, want, got;
	FILE *fp;
	size_t n;

	snprintf(zip, sizeof(zip), "%s/config.zip", f->work);
	snprintf(bad, sizeof(bad), "%s/bad.zip", f->work);
	ch_ok(f, 0, &r, "set-config", "-Identity", "Global", "-SyncInterval", "45",
	                                    "-AuthorizedUniversalGroups", "Auditors,Helpdesk", NULL);
	ch_result_free(&r);
	ch_ok(f, 0, &want, "get-config", "--json", NULL);
	ch_ok(f, 0, &r, "Export-CsConfiguration", "-FileName", zip, NULL);
	ch_result_free(&r);
	ch_ok(f, 0, &r, "Remove-CsBackupServiceConfiguration", "-Identity",
	                                    "Global", NULL);
	ch_result_free(&r);
	ch_ok(f, 0, &got, "get-config", "--json", NULL);
	assert_string_not_equal(got.out, want.out); /* back at the defaults */
	ch_result_free(&got);
	ch_ok(f, 0, &r, "Import-CsConfiguration", "-FileName", zip, NULL);
	ch_result_free(&r);
	ch_ok(f, 0, &got, "get-config", "--json", NULL);
	assert_string_equal(got.out, want.out);
	ch_result_free(&got);

	/* Damaged copies: a flipped byte in the compressed data, and a truncated file. */
	assert_non_null(fp = fopen(zip, "rb"));
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	for (int damage = 0; damage < 2; damage++) {
		assert_non_null(fp = fopen(bad, "wb"));
		if (damage == 0) {
			buf[60] ^= 0x55;
			fwrite(buf, 1, n, fp);
			buf[60] ^= 0x55;
		} else {
			fwrite(buf, 1, n / 2, fp);
		}
		fclose(fp);
		ch_ok(f, 0, &r, "reset-config", "-Identity", "Global", NULL);
		ch_result_free(&r);
		ch_run(f, NULL, &r, "Import-CsConfiguration", "-FileName", bad, NULL);
		assert_int_not_equal(r.code, 0);
		assert_non_null(strstr(r.err, "csb: Import-CsConfiguration: "));
		ch_result_free(&r);
		ch_ok(f, 0, &got, "get-config", "--json", NULL);
		assert_non_null(strstr(got.out, "\"SyncInterval\":\"00:02:00\"")); /* unchanged */
		ch_result_free(&got);
	}
	ch_result_free(&want);
}

static void test_outsider_is_denied(void **state)
{
	struct ch_cluster *f = *state;
	struct ch_result r;

	ch_ok(f, 0, &r, "cluster", "issue-cert", "--dir", f->dir, "--principal",
	                                    "mallory", NULL);
	ch_result_free(&r);
	ch_run(f, NULL, &r, "--as", "mallory", "get-config", NULL);
	assert_int_equal(r.code, 3);
	assert_string_equal(r.err, "csb: Get-CsBackupServiceConfiguration: mallory is not a member "
	                           "of RTCUniversalServerAdmins\n");
	ch_result_free(&r);
	ch_run(f, NULL, &r, "--as", "mallory", "set-config",
	                                                     "-Identity", "Global", "-SyncInterval",
	                                                     "10", NULL);
	assert_int_equal(r.code, 3);
	ch_result_free(&r);
	ch_ok(f, 0, &r, "get-config", "--json", NULL);
	assert_non_null(strstr(r.out, "\"SyncInterval\":\"00:02:00\""));
	ch_result_free(&r);
}

/* The TCP port of url "tls+tcp://127.0.0.1:PORT". */
static int url_port(const char *url)
{
	const char *colon = strrchr(url, ':');

	assert_non_null(colon);
	return atoi(colon + 1);
}

/* A TCP listener on 127.0.0.1:port, or a connection to it (listen false); the fd or -1. */
static int tcp_on(int port, bool listen_too)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	assert_true(fd >= 0);
	if (!listen_too)
		return connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? fd : (close(fd), -1);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* A `cluster up` that fails half-way stops the nodes it started, and no others. */
static void test_failed_up_stops_what_it_started(void **state)
{
	struct ch_cluster *f = *state;
	char path[CH_PATH + 32], want[2 * CH_PATH];
	int coord_port, pool1_port, blocker, fd;
	struct ch_result r;
	json_t *cl, *pools;

	ch_ok(f, 0, &r, "cluster", "down", "--dir", f->dir, NULL);
	ch_result_free(&r);
	snprintf(path, sizeof(path), "%s/cluster.json", f->dir);
	assert_non_null(cl = json_load_file(path, 0, NULL));
	pools = json_object_get(cl, "pools");
	coord_port = url_port(json_string_value(
		json_object_get(json_object_get(cl, "coordinator"), "url")));
	pool1_port = url_port(json_string_value(json_object_get(json_array_get(pools, 0), "agent")));
	/* pool02's port is taken: its agent cannot listen and exits. */
	blocker = tcp_on(url_port(json_string_value(
			         json_object_get(json_array_get(pools, 1), "agent"))),
	                 true);
	json_decref(cl);

	ch_run(f, NULL, &r, "cluster", "up", "--dir", f->dir, NULL);
	assert_int_equal(r.code, 4);
	snprintf(want, sizeof(want),
	         "csb: cluster up: pool02.csb.test did not start (see %s/logs/pool02.csb.test.log)\n",
	         f->dir);
	assert_string_equal(r.err, want);
	ch_result_free(&r);
	/* The coordinator and pool01 it had started are gone again, pid files too. */
	assert_int_equal(fd = tcp_on(coord_port, false), -1);
	assert_int_equal(fd = tcp_on(pool1_port, false), -1);
	snprintf(path, sizeof(path), "%s/run", f->dir);
	assert_int_equal(ch_count_files(path), 0);

	close(blocker);
	ch_ok(f, 0, &r, "cluster", "up", "--dir", f->dir, NULL);
	ch_result_free(&r);
}

/* A stopped cluster of six pools starts again: its topology (1,221 bytes) comes back from
 * the coordinator whole. */
static void test_six_pools_restart(void **state)
{
	struct ch_cluster *f = *state;
	struct ch_result r;
	json_t *j;

	ch_ok(f, 0, &r, "cluster", "down", "--dir", f->dir, NULL);
	ch_result_free(&r);
	ch_ok(f, 0, &r, "cluster", "up", "--dir", f->dir, NULL);
	ch_result_free(&r);
	ch_ok(f, 0, &r, "Get-CsTopology", "--json", NULL);
	j = ch_json(&r);
	assert_int_equal(json_array_size(json_object_get(j, "pools")), 6);
	json_decref(j);
	ch_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_four_pools_relationships_and_config, up4, ch_teardown),
		cmocka_unit_test_setup_teardown(test_bad_topologies_change_nothing, up2, ch_teardown),
		cmocka_unit_test_setup_teardown(test_coordinator_down_agents_go_on, up2, ch_teardown),
		cmocka_unit_test_setup_teardown(test_export_reset_import_and_bad_zips, up2, ch_teardown),
		cmocka_unit_test_setup_teardown(test_outsider_is_denied, up2, ch_teardown),
		cmocka_unit_test_setup_teardown(test_failed_up_stops_what_it_started, up2, ch_teardown),
		cmocka_unit_test_setup_teardown(test_six_pools_restart, up6, ch_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
