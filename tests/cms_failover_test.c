/* Invoke-CsManagementServerFailover on a 4-pool cluster of real processes (the documented
 * examples themselves are in cli_doc_cms_test): pool failover waits for the CMS to move
 * first; -Force counts exactly the CMS changes a replica had that the standby's had not,
 * and the replicas follow the new master (the change is reported, not silently kept by
 * some and lost by others); an agent that was down during the move is told when it comes
 * back; an old master that comes back stands by. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/cli_harness.h"

#define P1 "pool01.csb.test"
#define P2 "pool02.csb.test"
#define P3 "pool03.csb.test"
#define P4 "pool04.csb.test"

static int setup(void **state)
{
	return ch_setup_pools(state, "4");
}

static json_t *cmd_json(struct ch_cluster *cl, int want, ...)
{
	char *args[32];
	struct ch_result r;
	va_list ap;
	size_t n = 0;
	json_t *j;

	va_start(ap, want);
	while (n < 30 && (args[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	args[n++] = "--json";
	args[n] = NULL;
	ch_runv(cl, NULL, &r, args);
	if (r.code != want)
		fail_msg("csb %s: exit %d, want %d: %s%s", args[0], r.code, want, r.out, r.err);
	j = want == 0 ? ch_json(&r) : NULL;
	ch_result_free(&r);
	return j;
}

static void master_is(struct ch_cluster *cl, const char *pool, long long epoch, const char *except)
{
	ch_cms_master_is(cl, pool, epoch, except, 0);
}

/* pool01's replica's SyncInterval (Get-CsBackupServiceConfiguration -LocalStore). */
static bool local_sync_interval_is(struct ch_cluster *cl, const char *want)
{
	for (int i = 0; i < 200; i++) {
		json_t *j = cmd_json(cl, 0, "Get-CsBackupServiceConfiguration", "-LocalStore", NULL);
		bool ok = strcmp(json_string_value(json_object_get(j, "SyncInterval")), want) == 0;

		json_decref(j);
		if (ok)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

/* Waits until the master has heard the standby's heartbeat: a coordinator just started
 * knows no standby until its first beat, and a failover asked before it is refused ("no
 * standby coordinator has sent a heartbeat"), which is not the failure a test wants. */
static void standby_beats(struct ch_cluster *cl)
{
	for (int i = 0; i < 200; i++) {
		json_t *j = cmd_json(cl, 0, "Get-CsManagementStoreReplicationStatus",
		                     "-CentralManagementStoreStatus", NULL);
		bool beats = json_is_string(json_object_get(json_object_get(json_object_get(
		        j, "CentralManagementStoreStatus"), "Standby"), "LastHeartbeat"));

		json_decref(j);
		if (beats)
			return;
		usleep(50 * 1000);
	}
	fail_msg("the CMS master has not heard its standby's heartbeat in 10 s");
}

/* Invoke-CsManagementServerFailover when a coordinator is set to die mid-way: it fails,
 * and not because the master knew no standby yet. */
static void failover_cut_short(struct ch_cluster *cl)
{
	struct ch_result r;

	standby_beats(cl);
	ch_run(cl, NULL, &r, "Invoke-CsManagementServerFailover", NULL);
	assert_int_not_equal(r.code, 0);
	if (strstr(r.err, "no standby coordinator has sent a heartbeat") != NULL)
		fail_msg("the failover was refused before it began: %s", r.err);
	ch_result_free(&r);
}

static void node(struct ch_cluster *cl, const char *verb, const char *name)
{
	struct ch_result r;

	ch_ok(cl, 0, &r, "cluster", verb, "--dir", cl->dir, "--node", name, NULL);
	ch_result_free(&r);
}

static void set_interval(struct ch_cluster *cl, const char *v)
{
	struct ch_result r;

	ch_ok(cl, 0, &r, "Set-CsBackupServiceConfiguration", "-SyncInterval", v, NULL);
	ch_result_free(&r);
}

/* A pool whose host runs the CMS master fails over only after the CMS moved; the pool that
 * then hosts it is refused in turn. */
static void test_pool_failover_waits_for_the_cms(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	json_t *j;

	ch_expect_line(cl, 1, "csb: Invoke-CsPoolFailover: the CMS is hosted on " P1 " and was not "
	               "failed over first (Invoke-CsManagementServerFailover)\n",
	               "Invoke-CsPoolFailover", "-PoolFqdn", P1, NULL);
	j = cmd_json(cl, 0, "Invoke-CsManagementServerFailover", NULL);
	assert_string_equal(json_string_value(json_object_get(j, "ActiveMasterFqdn")), P2);
	assert_int_equal(json_integer_value(json_object_get(j, "AgentsFollowing")), 4);
	assert_null(json_object_get(j, "PossibleLoss"));
	json_decref(j);
	master_is(cl, P2, 2, NULL);
	ch_expect_line(cl, 1, "csb: Invoke-CsPoolFailover: the CMS is hosted on " P2 " and was not "
	               "failed over first (Invoke-CsManagementServerFailover)\n",
	               "Invoke-CsPoolFailover", "-PoolFqdn", P2, NULL);
	j = cmd_json(cl, 0, "Invoke-CsPoolFailover", "-PoolFqdn", P1, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "State")), "FailedOver");
	json_decref(j);
	j = cmd_json(cl, 0, "Invoke-CsPoolFailback", "-PoolFqdn", P1, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "State")), "Normal");
	json_decref(j);
	ch_ok(cl, 0, &r, "Invoke-CsManagementServerFailover", "-Restore", NULL);
	ch_result_free(&r);
	master_is(cl, P1, 3, NULL);
}

/* -Force with the standby's replica three changes behind pool01's: KnownChanges is 3, and
 * every replica follows the new master (pool01's loses the three, as reported). */
static void test_force_counts_lost_changes(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	json_t *j;

	set_interval(cl, "00:02:00");
	master_is(cl, P1, 3, NULL);
	node(cl, "kill", P2); /* the standby's replica stops here */
	set_interval(cl, "00:01:01");
	set_interval(cl, "00:01:02");
	set_interval(cl, "00:01:03");
	assert_true(local_sync_interval_is(cl, "00:01:03"));
	node(cl, "kill", "coordinator"); /* the master is lost */
	node(cl, "start", P2);
	ch_ok(cl, 4, &r, "Invoke-CsManagementServerFailover", NULL);
	ch_result_free(&r);
	j = cmd_json(cl, 0, "Invoke-CsManagementServerFailover", "-BackupSqlServerFqdn", P2,
	             "-Force", NULL);
	assert_string_equal(json_string_value(json_object_get(j, "ActiveMasterFqdn")), P2);
	assert_string_equal(json_string_value(json_object_get(j, "PreviousMasterFqdn")), P1);
	assert_int_equal(json_integer_value(json_object_get(j, "CmsEpoch")), 4);
	assert_int_equal(json_integer_value(json_object_get(j, "AgentsFollowing")), 4);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "PossibleLoss"),
	                                                    "KnownChanges")), 3);
	json_decref(j);
	master_is(cl, P2, 4, NULL);
	assert_true(local_sync_interval_is(cl, "00:02:00"));

	/* The old master comes back as the standby: it refuses changes, and beats. */
	node(cl, "start", "coordinator");
	standby_beats(cl);
	set_interval(cl, "00:01:30"); /* the new master takes it; every replica gets it */
	assert_true(local_sync_interval_is(cl, "00:01:30"));
}

/* An agent down during the move is told by the new master when it comes back. */
static void test_agent_down_is_told_later(void **state)
{
	struct ch_cluster *cl = *state;
	json_t *j;

	node(cl, "kill", P3);
	j = cmd_json(cl, 0, "Invoke-CsManagementServerFailover", NULL);
	assert_string_equal(json_string_value(json_object_get(j, "ActiveMasterFqdn")), P1);
	assert_int_equal(json_integer_value(json_object_get(j, "CmsEpoch")), 5);
	assert_int_equal(json_integer_value(json_object_get(j, "AgentsFollowing")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "AgentsTotal")), 4);
	json_decref(j);
	master_is(cl, P1, 5, P3);
	node(cl, "start", P3);
	master_is(cl, P1, 5, NULL);
}

/* A failover cut short at every point: the standby after the master handed over
 * (cms:handed), after it adopted the replica but before it recorded itself (cms:adopted),
 * and the master once its last record names the standby (cms:master-handed). Started
 * again, the move finishes by itself; csb follows the new master (the refusal names the
 * folder's standby). */
static void test_standby_killed_mid_failover(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char line[CH_PATH * 2];

	master_is(cl, P1, 5, NULL);
	node(cl, "kill", "coordinator2");
	snprintf(line, sizeof(line), "CSB_CRASH_AT=cms:handed \"$CSB\" cluster start --dir \"%s\" "
	         "--node coordinator2 >/dev/null", cl->dir);
	ch_shell(cl, line, &r);
	assert_int_equal(r.code, 0);
	ch_result_free(&r);
	failover_cut_short(cl); /* the standby dies mid-way */
	node(cl, "kill", "coordinator2"); /* clears its pid file */
	node(cl, "start", "coordinator2");
	master_is(cl, P2, 6, NULL);
	set_interval(cl, "00:01:40");
	assert_true(local_sync_interval_is(cl, "00:01:40"));

	node(cl, "kill", "coordinator");
	snprintf(line, sizeof(line), "CSB_CRASH_AT=cms:adopted \"$CSB\" cluster start --dir \"%s\" "
	         "--node coordinator >/dev/null", cl->dir);
	ch_shell(cl, line, &r);
	assert_int_equal(r.code, 0);
	ch_result_free(&r);
	failover_cut_short(cl);
	node(cl, "kill", "coordinator");
	node(cl, "start", "coordinator");
	master_is(cl, P1, 7, NULL);
	set_interval(cl, "00:01:50");
	assert_true(local_sync_interval_is(cl, "00:01:50"));

	/* The master dies once its last record names the standby: back, it serves that record
	 * to the replicas, and the standby takes over when its own has it. */
	node(cl, "kill", "coordinator");
	snprintf(line, sizeof(line), "CSB_CRASH_AT=cms:master-handed \"$CSB\" cluster start --dir "
	         "\"%s\" --node coordinator >/dev/null", cl->dir);
	ch_shell(cl, line, &r);
	assert_int_equal(r.code, 0);
	ch_result_free(&r);
	failover_cut_short(cl);
	node(cl, "kill", "coordinator");
	node(cl, "start", "coordinator");
	master_is(cl, P2, 8, NULL);
	set_interval(cl, "00:01:55");
	assert_true(local_sync_interval_is(cl, "00:01:55"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_failover_waits_for_the_cms),
		cmocka_unit_test(test_force_counts_lost_changes),
		cmocka_unit_test(test_agent_down_is_told_later),
		cmocka_unit_test(test_standby_killed_mid_failover),
	};
	return cmocka_run_group_tests(tests, setup, ch_teardown);
}
