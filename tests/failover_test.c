/* Failover and failback (issue 10) on real 4-pool clusters through the real CLI: a
 * controlled failover and failback under a steady writer (nothing acknowledged lost, the
 * failback moves exactly the changes made since the fork, digests equal, no re-seed); a
 * -DisasterMode failover of a killed pool that comes back fenced; the restore of a lost
 * store; the ordering rules and idempotence; the coordinator killed at every step and the
 * cmdlet run again; and repeated cycles under load without a single re-seed. pool01 hosts
 * the CMS, so the pair failed over is pool03 (backed up by pool04). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/rpc.h"
#include "common/wire.h"
#include "proto/data.pb-c.h"
#include "proto/failover.pb-c.h"
#include "proto/status.pb-c.h"
#include "tests/cli_harness.h"
#include "tests/harness.h"

#define PRESENCE "UserServices.PresenceFocus"
#define P3 "pool03.csb.test"
#define P4 "pool04.csb.test"
#define WRITES_MAX 200000

static int up4(void **state)
{
	return ch_setup_pools(state, "4");
}

static void node_cmd(struct ch_cluster *f, const char *verb, const char *node)
{
	struct ch_result r;

	ch_ok(f, 0, &r, "cluster", verb, "--dir", f->dir, "--node", node, NULL);
	ch_result_free(&r);
}

static json_t *cmd_json(struct ch_cluster *f, int want, ...)
{
	char *args[32];
	struct ch_result r;
	va_list ap;
	json_t *doc;
	int n = 0;

	va_start(ap, want);
	while (n < 30 && (args[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	args[n++] = "--json";
	args[n] = NULL;
	ch_runv(f, NULL, &r, args);
	if (r.code != want)
		print_message("%s: exit %d (want %d)\nstderr: %s\nstdout: %s\n", args[0], r.code, want,
		              r.err, r.out);
	assert_int_equal(r.code, want);
	doc = ch_json(&r);
	ch_result_free(&r);
	return doc;
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static json_int_t jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* The presence module's entry of a failover or failback reply. */
static json_t *presence(json_t *doc)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(doc, "Modules"), i, m)
		if (strcmp(jstr(m, "Identity"), PRESENCE) == 0)
			return m;
	fail_msg("no %s in the reply", PRESENCE);
	return NULL;
}

static void load(struct ch_cluster *f, const char *pool, const char *count)
{
	struct ch_result r;

	ch_ok(f, 0, &r, "data", "load", "-PoolFqdn", pool, "-Module", PRESENCE, "-Count", count,
	      NULL);
	ch_result_free(&r);
}

static void verify_equal(struct ch_cluster *f, const char *pool)
{
	struct ch_result r;

	ch_ok(f, 0, &r, "Test-CsBackupData", "-PoolFqdn", pool, "-BackupModule", PRESENCE, NULL);
	ch_result_free(&r);
}

static uint64_t reseeds(struct ch_cluster *f, unsigned k)
{
	csb_rpc_client *c = h_cluster_client(f->dir, k);
	Csb__PoolStatus *ps;
	uint64_t n = h_status(c, PRESENCE, &ps)->reseeds;

	protobuf_c_message_free_unpacked(&ps->base, NULL);
	csb_rpc_client_close(c);
	return n;
}

/* ---- A writer as the pool's own services would be: unique keys, every outcome logged ---- */

enum outcome { W_NONE, W_OK_OWN, W_OK_SERVED, W_FAIL, W_UNKNOWN };

struct writer {
	struct ch_cluster *f;
	pthread_t thread;
	volatile bool stop;
	unsigned n;                 /* operations done */
	enum outcome out[WRITES_MAX];
	unsigned refused;           /* read-only answers (each retried) */
};

/* Writes w<i> = v<i> to the pool's own agent; when it is read-only, where its users are
 * served (the backup pool, naming the pool whose data it is), and back again. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	csb_rpc_client *own = h_cluster_client(w->f->dir, 3), *served = h_cluster_client(w->f->dir, 4);
	bool at_backup = false;

	while (!w->stop && w->n < WRITES_MAX) {
		Csb__WriteRequest wr = CSB__WRITE_REQUEST__INIT;
		Csb__WriteItem it = CSB__WRITE_ITEM__INIT, *itp = &it;
		ProtobufCMessage *rep = NULL;
		char key[32], val[32], err[CSB_RPC_ERROR_MAX];
		csb_err rv;

		snprintf(key, sizeof(key), "w%06u", w->n);
		snprintf(val, sizeof(val), "v%06u", w->n);
		it.key = (ProtobufCBinaryData){strlen(key), (uint8_t *)key};
		it.value = (ProtobufCBinaryData){strlen(val), (uint8_t *)val};
		wr.module = PRESENCE;
		wr.items = &itp;
		wr.n_items = 1;
		wr.pool = at_backup ? P3 : "";
		rv = csb_rpc_call_msg(at_backup ? served : own, "csb.Data/Write", &wr.base,
		                      &csb__write_reply__descriptor, 10000, &rep, err);
		if (rep != NULL)
			protobuf_c_message_free_unpacked(rep, NULL);
		if (rv == CSB_EREADONLY || rv == CSB_ENOTFOUND) {
			/* Not taken: nothing written. Try where the users are now. */
			w->refused++;
			at_backup = !at_backup;
			csb_sleep_ms(5);
			continue;
		}
		w->out[w->n++] = rv == CSB_OK ? (at_backup ? W_OK_SERVED : W_OK_OWN)
		                 : rv == CSB_ETIMEDOUT || rv == CSB_EUNREACH ? W_UNKNOWN : W_FAIL;
		csb_sleep_ms(2);
	}
	csb_rpc_client_close(own);
	csb_rpc_client_close(served);
	return NULL;
}

static void writer_start(struct writer *w, struct ch_cluster *f)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
	assert_int_equal(pthread_create(&w->thread, NULL, writer_main, w), 0);
}

static void writer_stop(struct writer *w)
{
	w->stop = true;
	pthread_join(w->thread, NULL);
}

static unsigned count(const struct writer *w, enum outcome o)
{
	unsigned n = 0;

	for (unsigned i = 0; i < w->n; i++)
		n += w->out[i] == o;
	return n;
}

/* Every acknowledged write is in pool03's own data with its value. */
static void assert_all_acked_present(struct ch_cluster *f, const struct writer *w)
{
	csb_rpc_client *c = h_cluster_client(f->dir, 3);
	unsigned found = 0;

	for (unsigned i = 0; i < w->n; i++) {
		Csb__GetRequest gr = CSB__GET_REQUEST__INIT;
		Csb__GetReply *rep = NULL;
		char key[32], val[32], err[CSB_RPC_ERROR_MAX];

		if (w->out[i] != W_OK_OWN && w->out[i] != W_OK_SERVED)
			continue;
		snprintf(key, sizeof(key), "w%06u", i);
		snprintf(val, sizeof(val), "v%06u", i);
		gr.module = PRESENCE;
		gr.key = (ProtobufCBinaryData){strlen(key), (uint8_t *)key};
		if (csb_rpc_call_msg(c, "csb.Data/Get", &gr.base, &csb__get_reply__descriptor, 10000,
		                     (ProtobufCMessage **)&rep, err) != CSB_OK)
			fail_msg("acknowledged write %s (by %s) is missing: %s", key,
			         w->out[i] == W_OK_OWN ? P3 : P4, err);
		assert_int_equal(rep->record->value.len, strlen(val));
		assert_memory_equal(rep->record->value.data, val, strlen(val));
		protobuf_c_message_free_unpacked(&rep->base, NULL);
		found++;
	}
	csb_rpc_client_close(c);
	assert_int_equal(found, count(w, W_OK_OWN) + count(w, W_OK_SERVED));
}

/* ---- Tests -------------------------------------------------------------------------------- */

static void test_controlled_failover_and_failback_under_load(void **state)
{
	struct ch_cluster *f = *state;
	static struct writer w;
	json_t *doc;
	unsigned served_before;

	load(f, P3, "5000");
	writer_start(&w, f);
	csb_sleep_ms(500);
	doc = cmd_json(f, 0, "Invoke-CsPoolFailover", "-PoolFqdn", P3, NULL);
	assert_string_equal(jstr(doc, "State"), "FailedOver");
	assert_string_equal(jstr(doc, "ServedBy"), P4);
	assert_string_equal(jstr(doc, "BackupPoolFqdn"), P4);
	assert_int_equal(jint(doc, "Epoch"), 1);
	assert_true(json_is_true(json_object_get(presence(doc), "Verified")));
	assert_null(json_object_get(presence(doc), "PossibleLoss"));
	json_decref(doc);
	/* The pool's own agent refuses; the CLI routes to the pool serving its users. */
	ch_expect_line(f, 1, "csb: data put: " P3 " is failed over; its users are served by " P4
	               " (epoch 1)\n", "data", "put", "-PoolFqdn", P3, "-Module", PRESENCE, "-Key",
	               "direct", "-Value", "x", "-Direct", NULL);
	{
		struct ch_result r;

		ch_ok(f, 0, &r, "data", "put", "-PoolFqdn", P3, "-Module", PRESENCE, "-Key", "routed",
		      "-Value", "via-" P4, NULL);
		ch_result_free(&r);
		ch_ok(f, 0, &r, "data", "get", "-PoolFqdn", P3, "-Module", PRESENCE, "-Key", "routed",
		      NULL);
		assert_string_equal(r.out, "via-" P4);
		ch_result_free(&r);
	}
	doc = cmd_json(f, 0, "Get-CsPoolState", "-PoolFqdn", P3, NULL);
	assert_string_equal(jstr(doc, "State"), "FailedOver");
	assert_int_equal(json_array_size(json_object_get(doc, "Modules")), 2);
	json_decref(doc);
	csb_sleep_ms(1000);
	served_before = count(&w, W_OK_SERVED);
	assert_true(served_before > 0);
	doc = cmd_json(f, 0, "Invoke-CsPoolFailback", "-PoolFqdn", P3, NULL);
	assert_string_equal(jstr(doc, "State"), "Normal");
	assert_string_equal(jstr(doc, "ServedBy"), P3);
	assert_int_equal(jint(doc, "Epoch"), 2);
	assert_true(json_is_true(json_object_get(presence(doc), "Verified")));
	/* Exactly the changes made since the fork travel back: every write acknowledged by the
	 * pool serving the users, and the one routed write. */
	csb_sleep_ms(500);
	writer_stop(&w);
	assert_int_equal(count(&w, W_UNKNOWN), 0);
	assert_int_equal(count(&w, W_FAIL), 0);
	assert_int_equal(jint(presence(doc), "RecordsMoved"), count(&w, W_OK_SERVED) + 1);
	json_decref(doc);
	assert_true(count(&w, W_OK_OWN) > 0);
	assert_all_acked_present(f, &w);
	verify_equal(f, P3);
	assert_int_equal(reseeds(f, 4), 0);
	assert_int_equal(reseeds(f, 3), 0);
}

static void test_disaster_failover_and_return(void **state)
{
	struct ch_cluster *f = *state;
	struct ch_result r;
	json_t *doc, *loss;

	load(f, P3, "3000");
	ch_ok(f, 0, &r, "Invoke-CsBackupServiceSync", "-PoolFqdn", P3, NULL);
	ch_result_free(&r);
	node_cmd(f, "kill", P3);
	/* Without -DisasterMode an unreachable pool is not failed over. */
	ch_run(f, NULL, &r, "Invoke-CsPoolFailover", "-PoolFqdn", P3, NULL);
	assert_int_equal(r.code, 4);
	assert_true(ch_matches(r.err, "^csb: Invoke-CsPoolFailover: the agent of " P3 " at "
	                              "tls\\+tcp://127\\.0\\.0\\.1:[0-9]+: connection refused; " P3
	                              " stays where it was \\(use -DisasterMode if it is lost\\)$"));
	ch_result_free(&r);
	doc = cmd_json(f, 0, "Invoke-CsPoolFailover", "-PoolFqdn", P3, "-DisasterMode", NULL);
	assert_string_equal(jstr(doc, "State"), "FailedOver");
	assert_int_equal(jint(doc, "Epoch"), 3); /* 1 the refused attempt, 2 its abort */
	loss = json_object_get(presence(doc), "PossibleLoss");
	assert_non_null(loss);
	assert_int_equal(jint(loss, "KnownChanges"), 0); /* everything was synced */
	assert_int_equal(jint(presence(doc), "FinalSeq"), 3000);
	json_decref(doc);
	load(f, P3, "700"); /* routed to pool04 */
	/* The old primary comes back fenced: it learns its state and refuses writes. */
	node_cmd(f, "start", P3);
	ch_expect_line(f, 1, "csb: data put: " P3 " is failed over; its users are served by " P4
	               " (epoch 3)\n", "data", "put", "-PoolFqdn", P3, "-Module", PRESENCE, "-Key",
	               "k", "-Value", "v", "-Direct", NULL);
	doc = cmd_json(f, 0, "Invoke-CsPoolFailback", "-PoolFqdn", P3, NULL);
	assert_string_equal(jstr(doc, "State"), "Normal");
	assert_int_equal(jint(presence(doc), "RecordsMoved"), 700);
	assert_int_equal(jint(presence(doc), "FinalSeq"), 3700);
	json_decref(doc);
	load(f, P3, "10");
	ch_ok(f, 0, &r, "Invoke-CsBackupServiceSync", "-PoolFqdn", P3, NULL);
	ch_result_free(&r);
	verify_equal(f, P3);
	assert_int_equal(reseeds(f, 4), 0);
}

static void test_lost_store_restored(void **state)
{
	struct ch_cluster *f = *state;
	struct ch_result r;
	char cmd[CH_PATH * 2];
	json_t *doc;

	load(f, P3, "2000");
	ch_ok(f, 0, &r, "Invoke-CsBackupServiceSync", "-PoolFqdn", P3, NULL);
	ch_result_free(&r);
	node_cmd(f, "kill", P3);
	snprintf(cmd, sizeof(cmd), "rm -f %s/" P3 "/*.mdb", f->dir);
	assert_int_equal(system(cmd), 0);
	node_cmd(f, "start", P3);
	for (int i = 0; i < 100; i++) {
		doc = cmd_json(f, 0, "Get-CsPoolState", "-PoolFqdn", P3, NULL);
		if (strcmp(jstr(doc, "State"), "NeedsRestore") == 0)
			break;
		json_decref(doc);
		doc = NULL;
		csb_sleep_ms(100);
	}
	assert_non_null(doc);
	json_decref(doc);
	ch_expect_line(f, 1, "csb: Invoke-CsPoolFailover: " P3 " needs a restore (its store came "
	               "back empty): fail it over with -DisasterMode, then fail it back\n",
	               "Invoke-CsPoolFailover", "-PoolFqdn", P3, NULL);
	doc = cmd_json(f, 0, "Invoke-CsPoolFailover", "-PoolFqdn", P3, "-DisasterMode", NULL);
	assert_string_equal(jstr(doc, "State"), "FailedOver");
	json_decref(doc);
	load(f, P3, "100");
	/* The failback fills the new store from the backup pool: the only full copy. */
	doc = cmd_json(f, 0, "Invoke-CsPoolFailback", "-PoolFqdn", P3, NULL);
	assert_string_equal(jstr(doc, "State"), "Normal");
	assert_int_equal(jint(presence(doc), "RecordsMoved"), 2100);
	json_decref(doc);
	doc = cmd_json(f, 0, "Get-CsPoolState", "-PoolFqdn", P3, NULL);
	assert_string_equal(jstr(doc, "State"), "Normal");
	json_decref(doc);
	load(f, P3, "5");
	ch_ok(f, 0, &r, "Invoke-CsBackupServiceSync", "-PoolFqdn", P3, NULL);
	ch_result_free(&r);
	verify_equal(f, P3);
}

static void test_ordering_and_idempotence(void **state)
{
	struct ch_cluster *f = *state;
	struct ch_result r;
	json_t *doc;

	ch_expect_line(f, 1, "csb: Invoke-CsPoolFailover: the CMS is hosted on pool01.csb.test and "
	               "was not failed over first (Invoke-CsManagementServerFailover)\n",
	               "Invoke-CsPoolFailover", "-PoolFqdn", "pool01.csb.test", NULL);
	ch_expect_line(f, 1, "csb: Invoke-CsPoolFailback: " P3 " is not failed over: there is "
	               "nothing to fail back\n", "Invoke-CsPoolFailback", "-PoolFqdn", P3, NULL);
	/* -WhatIf changes nothing. */
	ch_ok(f, 0, &r, "Invoke-CsPoolFailover", "-PoolFqdn", P3, "-WhatIf", NULL);
	assert_string_equal(r.out, "What if: fence " P3 ", drain its changes to the backup pool "
	                           "until FinalState, compare range digests, then serve its users "
	                           "from " P4 " at epoch 1\n");
	ch_result_free(&r);
	doc = cmd_json(f, 0, "Get-CsPoolState", "-PoolFqdn", P3, NULL);
	assert_string_equal(jstr(doc, "State"), "Normal");
	assert_int_equal(jint(doc, "Epoch"), 0);
	json_decref(doc);
	ch_ok(f, 0, &r, "Invoke-CsPoolFailover", "-PoolFqdn", P3, NULL);
	ch_result_free(&r);
	ch_ok(f, 0, &r, "Invoke-CsPoolFailover", "-PoolFqdn", P3, NULL);
	assert_string_equal(r.out, P3 " is already FailedOver (served by " P4 ", epoch 1)\n");
	ch_result_free(&r);
	ch_expect_line(f, 1, "csb: Invoke-CsPoolFailover: the backup pool " P3 " is FailedOver: "
	               "fail it back first (Invoke-CsPoolFailback -PoolFqdn " P3 ")\n",
	               "Invoke-CsPoolFailover", "-PoolFqdn", P4, NULL);
	ch_expect_line(f, 1, "csb: Invoke-CsPoolFailback: " P4 " is not failed over; it serves "
	               P3 "'s users: fail back " P3 " (Invoke-CsPoolFailback -PoolFqdn " P3 ")\n",
	               "Invoke-CsPoolFailback", "-PoolFqdn", P4, NULL);
	ch_ok(f, 0, &r, "Invoke-CsPoolFailback", "-PoolFqdn", P3, NULL);
	ch_result_free(&r);
	ch_ok(f, 0, &r, "Invoke-CsPoolFailback", "-PoolFqdn", P3, NULL);
	assert_string_equal(r.out, P3 " is already Normal (served by " P3 ", epoch 2)\n");
	ch_result_free(&r);
}

/* Waits (at most 30 s) until pool03's agent has heard from the coordinator where it
 * stands: after a coordinator restart its CMS replica catches up on its own. */
static void wait_agent_knows(struct ch_cluster *f, const char *state)
{
	csb_rpc_client *c = h_cluster_client(f->dir, 3);
	char want[64], err[CSB_RPC_ERROR_MAX];
	bool ok = false;

	snprintf(want, sizeof(want), "\"state\":\"%s\"", state);
	for (int i = 0; i < 300 && !ok; i++) {
		Csb__RoleRequest rq = CSB__ROLE_REQUEST__INIT;
		Csb__RoleReply *rep = NULL;

		rq.pool = P3;
		if (csb_rpc_call_msg(c, "csb.Failover/Role", &rq.base, &csb__role_reply__descriptor,
		                     5000, (ProtobufCMessage **)&rep, err) == CSB_OK) {
			ok = rep->current && strstr(rep->entry_json, want) != NULL;
			protobuf_c_message_free_unpacked(&rep->base, NULL);
		}
		if (!ok)
			csb_sleep_ms(100);
	}
	csb_rpc_client_close(c);
	assert_true(ok);
}

/* The coordinator exits at each step (CSB_CRASH_AT); the cmdlet run again finishes. */
static void crash_and_rerun(struct ch_cluster *f, const char *point, const char *cmdlet,
                            const char *want_state)
{
	struct ch_result r;
	char line[CH_PATH * 2];
	json_t *doc;

	node_cmd(f, "kill", "coordinator");
	snprintf(line, sizeof(line), "CSB_CRASH_AT=%s \"$CSB\" cluster start --dir \"%s\" --node "
	         "coordinator >/dev/null", point, f->dir);
	ch_shell(f, line, &r);
	assert_int_equal(r.code, 0);
	ch_result_free(&r);
	ch_run(f, NULL, &r, cmdlet, "-PoolFqdn", P3, NULL);
	assert_int_not_equal(r.code, 0); /* the coordinator died mid-way */
	ch_result_free(&r);
	node_cmd(f, "kill", "coordinator"); /* clears its pid file */
	node_cmd(f, "start", "coordinator");
	doc = cmd_json(f, 0, cmdlet, "-PoolFqdn", P3, NULL);
	assert_string_equal(jstr(doc, "State"), want_state);
	json_decref(doc);
	wait_agent_knows(f, want_state);
}

static void test_coordinator_killed_at_every_step(void **state)
{
	struct ch_cluster *f = *state;
	static const char *const fo[] = {"failover:F1", "failover:F2", "failover:F3",
	                                 "failover:F6"};
	static const char *const fb[] = {"failback:B1", "failback:B2", "failback:B3",
	                                 "failback:B5", "failback:B6"};
	struct ch_result r;
	char n[16];

	load(f, P3, "1000");
	for (size_t i = 0; i < sizeof(fo) / sizeof(fo[0]); i++) {
		crash_and_rerun(f, fo[i], "Invoke-CsPoolFailover", "FailedOver");
		snprintf(n, sizeof(n), "%zu", 10 + i);
		load(f, P3, n);
		crash_and_rerun(f, fb[i], "Invoke-CsPoolFailback", "Normal");
		load(f, P3, "10");
		ch_ok(f, 0, &r, "Invoke-CsBackupServiceSync", "-PoolFqdn", P3, NULL);
		ch_result_free(&r);
		verify_equal(f, P3);
	}
	ch_ok(f, 0, &r, "Invoke-CsPoolFailover", "-PoolFqdn", P3, NULL);
	ch_result_free(&r);
	crash_and_rerun(f, fb[4], "Invoke-CsPoolFailback", "Normal");
	ch_ok(f, 0, &r, "Invoke-CsBackupServiceSync", "-PoolFqdn", P3, NULL);
	ch_result_free(&r);
	verify_equal(f, P3);
	assert_int_equal(reseeds(f, 4), 0);
}

/* An agent exits right after a step's commit, before it answers (CSB_CRASH_AT=agent:…); it
 * is started again and the cmdlet run again: the failover or failback completes, or was
 * aborted cleanly first, and nothing acknowledged is lost. */
static void agent_crash_and_rerun(struct ch_cluster *f, const char *node, const char *point,
                                  const char *cmdlet, const char *want_state)
{
	struct ch_result r;
	char line[CH_PATH * 2];
	json_t *doc;

	node_cmd(f, "kill", node);
	snprintf(line, sizeof(line), "CSB_CRASH_AT=%s \"$CSB\" cluster start --dir \"%s\" --node "
	         "%s >/dev/null", point, f->dir, node);
	ch_shell(f, line, &r);
	assert_int_equal(r.code, 0);
	ch_result_free(&r);
	ch_run(f, NULL, &r, cmdlet, "-PoolFqdn", P3, NULL);
	assert_int_not_equal(r.code, 0); /* the agent died mid-way */
	ch_result_free(&r);
	node_cmd(f, "kill", node);
	node_cmd(f, "start", node);
	doc = cmd_json(f, 0, cmdlet, "-PoolFqdn", P3, NULL);
	assert_string_equal(jstr(doc, "State"), want_state);
	json_decref(doc);
	wait_agent_knows(f, want_state);
}

static void test_agent_killed_at_every_step(void **state)
{
	struct ch_cluster *f = *state;
	struct ch_result r;

	load(f, P3, "1000");
	agent_crash_and_rerun(f, P3, "agent:fence", "Invoke-CsPoolFailover", "FailedOver");
	load(f, P3, "20");
	agent_crash_and_rerun(f, P4, "agent:fence", "Invoke-CsPoolFailback", "Normal");
	load(f, P3, "20");
	agent_crash_and_rerun(f, P4, "agent:promote", "Invoke-CsPoolFailover", "FailedOver");
	load(f, P3, "20");
	agent_crash_and_rerun(f, P3, "agent:catchup", "Invoke-CsPoolFailback", "Normal");
	load(f, P3, "20");
	ch_ok(f, 0, &r, "Invoke-CsPoolFailover", "-PoolFqdn", P3, NULL);
	ch_result_free(&r);
	load(f, P3, "20");
	agent_crash_and_rerun(f, P4, "agent:retire", "Invoke-CsPoolFailback", "Normal");
	load(f, P3, "20");
	ch_ok(f, 0, &r, "Invoke-CsBackupServiceSync", "-PoolFqdn", P3, NULL);
	ch_result_free(&r);
	verify_equal(f, P3);
	assert_int_equal(reseeds(f, 4), 0);
}

static void test_cycles_without_reseed(void **state)
{
	struct ch_cluster *f = *state;
	static struct writer w;
	json_t *doc;

	load(f, P3, "2000");
	writer_start(&w, f);
	for (int i = 0; i < 20; i++) {
		doc = cmd_json(f, 0, "Invoke-CsPoolFailover", "-PoolFqdn", P3, NULL);
		assert_string_equal(jstr(doc, "State"), "FailedOver");
		json_decref(doc);
		csb_sleep_ms(50 + (unsigned)(rand() % 100));
		doc = cmd_json(f, 0, "Invoke-CsPoolFailback", "-PoolFqdn", P3, NULL);
		assert_string_equal(jstr(doc, "State"), "Normal");
		assert_int_equal(jint(doc, "Epoch"), 2 * (i + 1));
		json_decref(doc);
		csb_sleep_ms(50 + (unsigned)(rand() % 100));
	}
	writer_stop(&w);
	assert_int_equal(count(&w, W_UNKNOWN), 0);
	assert_int_equal(count(&w, W_FAIL), 0);
	assert_all_acked_present(f, &w);
	{
		struct ch_result r;

		ch_ok(f, 0, &r, "Invoke-CsBackupServiceSync", "-PoolFqdn", P3, NULL);
		ch_result_free(&r);
	}
	verify_equal(f, P3);
	assert_int_equal(reseeds(f, 4), 0);
	assert_int_equal(reseeds(f, 3), 0);
}

static void signal_node(struct ch_cluster *f, const char *node, const char *sig)
{
	struct ch_result r;
	char line[CH_PATH * 2];

	snprintf(line, sizeof(line), "kill -%s $(cat \"%s/run/%s.pid\")", sig, f->dir, node);
	ch_shell(f, line, &r);
	assert_int_equal(r.code, 0);
	ch_result_free(&r);
}

struct inflight {
	csb_rpc_client *c;
	pthread_t thread;
	csb_err rv;
	char err[CSB_RPC_ERROR_MAX];
};

static void *inflight_main(void *arg)
{
	struct inflight *in = arg;
	Csb__WriteRequest wr = CSB__WRITE_REQUEST__INIT;
	Csb__WriteItem it = CSB__WRITE_ITEM__INIT, *itp = &it;
	ProtobufCMessage *rep = NULL;

	it.key = (ProtobufCBinaryData){8, (uint8_t *)"inflight"};
	it.value = (ProtobufCBinaryData){1, (uint8_t *)"x"};
	wr.module = PRESENCE;
	wr.items = &itp;
	wr.n_items = 1;
	in->rv = csb_rpc_call_msg(in->c, "csb.Data/Write", &wr.base, &csb__write_reply__descriptor,
	                          60000, &rep, in->err);
	if (rep != NULL)
		protobuf_c_message_free_unpacked(rep, NULL);
	return NULL;
}

/* An old primary paused past its lease (SIGSTOP) while its pool is failed over: the write
 * it had received before the pause is refused when it resumes, never acknowledged. */
static void test_paused_primary_refuses_its_write(void **state)
{
	struct ch_cluster *f = *state;
	struct inflight in = {0};
	struct ch_result r;
	json_t *doc;

	load(f, P3, "500");
	ch_ok(f, 0, &r, "Invoke-CsBackupServiceSync", "-PoolFqdn", P3, NULL);
	ch_result_free(&r);
	/* The pool's own service, connected before the pause. */
	in.c = h_cluster_client(f->dir, 3);
	assert_int_equal(h_put(in.c, PRESENCE, "warm", 4, "w", 1), CSB_OK);
	signal_node(f, P3, "STOP");
	assert_int_equal(pthread_create(&in.thread, NULL, inflight_main, &in), 0);
	csb_sleep_ms(300);
	doc = cmd_json(f, 0, "Invoke-CsPoolFailover", "-PoolFqdn", P3, "-DisasterMode", NULL);
	assert_string_equal(jstr(doc, "State"), "FailedOver");
	assert_true(jint(doc, "Millis") >= 4000); /* it waited out the lease */
	json_decref(doc);
	ch_ok(f, 0, &r, "data", "put", "-PoolFqdn", P3, "-Module", PRESENCE, "-Key", "inflight",
	      "-Value", "served", NULL);
	ch_result_free(&r);
	signal_node(f, P3, "CONT");
	pthread_join(in.thread, NULL);
	csb_rpc_client_close(in.c);
	assert_int_equal(in.rv, CSB_EREADONLY);
	/* Whichever check saw it first: the failover's fence, the lease, the entry. */
	if (!ch_matches(in.err, "^" P3 " (is failed over|is failing over|has not heard from "
	                        "the coordinator|is fenced at epoch [0-9]+)"))
		fail_msg("the in-flight write was refused with: %s", in.err);
	doc = cmd_json(f, 0, "Invoke-CsPoolFailback", "-PoolFqdn", P3, NULL);
	assert_int_equal(jint(presence(doc), "RecordsMoved"), 1);
	json_decref(doc);
	ch_ok(f, 0, &r, "data", "get", "-PoolFqdn", P3, "-Module", PRESENCE, "-Key", "inflight",
	      NULL);
	assert_string_equal(r.out, "served");
	ch_result_free(&r);
	verify_equal(f, P3);
}

/* The backup pool is lost while it serves the users: -DisasterMode failback; the changes it
 * served are gone from the users' view (reported), and when it comes back they are set aside
 * and its copy follows the primary again without a re-seed. */
static void test_disaster_failback(void **state)
{
	struct ch_cluster *f = *state;
	struct ch_result r;
	json_t *doc;

	load(f, P3, "1000");
	ch_ok(f, 0, &r, "Invoke-CsPoolFailover", "-PoolFqdn", P3, NULL);
	ch_result_free(&r);
	load(f, P3, "40"); /* served by pool04, which is then lost */
	node_cmd(f, "kill", P4);
	ch_run(f, NULL, &r, "Invoke-CsPoolFailback", "-PoolFqdn", P3, NULL);
	assert_int_equal(r.code, 4);
	ch_result_free(&r);
	doc = cmd_json(f, 0, "Invoke-CsPoolFailback", "-PoolFqdn", P3, "-DisasterMode", NULL);
	assert_string_equal(jstr(doc, "State"), "Normal");
	json_decref(doc);
	load(f, P3, "25");
	node_cmd(f, "start", P4);
	ch_ok(f, 0, &r, "Invoke-CsBackupServiceSync", "-PoolFqdn", P3, NULL);
	ch_result_free(&r);
	verify_equal(f, P3);
	assert_int_equal(reseeds(f, 4), 0);

	/* The 40 writes pool04 served are not lost silently: set aside, listed, written back. */
	for (int i = 0; i < 100; i++) {
		doc = cmd_json(f, 0, "data", "orphans", "-PoolFqdn", P3, "-Module", PRESENCE, NULL);
		if (json_array_size(doc) == 1)
			break;
		json_decref(doc);
		doc = NULL;
		csb_sleep_ms(100);
	}
	assert_non_null(doc);
	assert_string_equal(jstr(json_array_get(doc, 0), "HeldBy"), P4);
	assert_string_equal(jstr(json_array_get(doc, 0), "Set"), PRESENCE "@" P3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(doc, 0), "Count")), 40);
	assert_int_equal(json_array_size(json_object_get(json_array_get(doc, 0), "Records")), 40);
	json_decref(doc);
	ch_ok(f, 0, &r, "data", "orphans", "-PoolFqdn", P3, "-Module", PRESENCE, "-Reapply",
	      "-WhatIf", NULL);
	assert_true(ch_matches(r.out, "^What if: would write back 40 records of " PRESENCE "@" P3
	                              " set aside at epoch [0-9]+ \\(held by " P4 "\\) as " P3
	                              "'s current data$"));
	ch_result_free(&r);
	ch_ok(f, 0, &r, "data", "orphans", "-PoolFqdn", P3, "-Module", PRESENCE, "-Reapply", NULL);
	assert_true(ch_matches(r.out, "^Wrote back 40 records of " PRESENCE "@" P3 " set aside at "
	                              "epoch [0-9]+ \\(held by " P4 "\\)$"));
	ch_result_free(&r);
	ch_ok(f, 0, &r, "data", "orphans", "-PoolFqdn", P3, "-Module", PRESENCE, NULL);
	assert_string_equal(r.out, "No records of " PRESENCE " of " P3 " are set aside\n");
	ch_result_free(&r);
	ch_ok(f, 0, &r, "Invoke-CsBackupServiceSync", "-PoolFqdn", P3, NULL);
	ch_result_free(&r);
	verify_equal(f, P3);
	/* data load names keys by the module's count: the 25 loaded after the failback took the
	 * names of the first 25 of the 40 set aside, so 1000 + 40 keys, the 40 as written back. */
	ch_ok(f, 0, &r, "data", "list", "-PoolFqdn", P3, "-Module", PRESENCE, "--json", NULL);
	doc = ch_json(&r);
	assert_int_equal(json_array_size(doc), 1040);
	json_decref(doc);
	ch_result_free(&r);
}

/* Backup-CsPool -FailedOverPoolOnly -FullBackup on a failed-over pool drains what its backup
 * pool serves for it back to it; the failback then moves only the rest, and reports every
 * record followed since the fork (SPEC.md §4 RecordsMoved). */
static void test_drain_while_failed_over(void **state)
{
	struct ch_cluster *f = *state;
	json_t *doc, *m;

	load(f, P3, "500");
	doc = cmd_json(f, 0, "Invoke-CsPoolFailover", "-PoolFqdn", P3, NULL);
	json_decref(doc);
	load(f, P3, "30"); /* served by pool04 */
	doc = cmd_json(f, 0, "Backup-CsPool", "-PoolFqdn", P3, "-FullBackup", "-FailedOverPoolOnly",
	               NULL);
	assert_string_equal(jstr(doc, "Result"), "Succeeded");
	m = json_array_get(json_object_get(doc, "Modules"), 0);
	assert_non_null(m);
	assert_int_equal(jint(presence(doc), "Records"), 30);
	json_decref(doc);
	/* Again: nothing new to follow. */
	doc = cmd_json(f, 0, "Backup-CsPool", "-PoolFqdn", P3, "-FullBackup", "-FailedOverPoolOnly",
	               NULL);
	assert_int_equal(jint(presence(doc), "Records"), 30);
	json_decref(doc);
	load(f, P3, "12");
	doc = cmd_json(f, 0, "Invoke-CsPoolFailback", "-PoolFqdn", P3, NULL);
	assert_string_equal(jstr(doc, "State"), "Normal");
	assert_int_equal(jint(presence(doc), "RecordsMoved"), 42);
	json_decref(doc);
	verify_equal(f, P3);
	assert_int_equal(reseeds(f, 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_controlled_failover_and_failback_under_load, up4,
		                                ch_teardown),
		cmocka_unit_test_setup_teardown(test_disaster_failover_and_return, up4, ch_teardown),
		cmocka_unit_test_setup_teardown(test_lost_store_restored, up4, ch_teardown),
		cmocka_unit_test_setup_teardown(test_ordering_and_idempotence, up4, ch_teardown),
		cmocka_unit_test_setup_teardown(test_coordinator_killed_at_every_step, up4, ch_teardown),
		cmocka_unit_test_setup_teardown(test_agent_killed_at_every_step, up4, ch_teardown),
		cmocka_unit_test_setup_teardown(test_cycles_without_reseed, up4, ch_teardown),
		cmocka_unit_test_setup_teardown(test_paused_primary_refuses_its_write, up4,
		                                ch_teardown),
		cmocka_unit_test_setup_teardown(test_disaster_failback, up4, ch_teardown),
		cmocka_unit_test_setup_teardown(test_drain_while_failed_over, up4, ch_teardown),
	};

	srand(10);
	if (getenv("FAILOVER_TEST") != NULL) /* one test, for reruns */
		cmocka_set_test_filter(getenv("FAILOVER_TEST"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
