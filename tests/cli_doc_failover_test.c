/* Invoke-CsPoolFailover and Invoke-CsPoolFailback as Microsoft documents them
 * (skype/skype-ps/skype/Invoke-CsPoolFailOver.md, Invoke-CsPoolFailBack.md), through the
 * real csb on a real 2-pool cluster: every documented parameter is accepted and has its
 * effect (-FlushStorageService, which has nothing to act on here, is refused with why), the
 * documented examples run as written (pool02 stands for the documented pool: pool01 hosts
 * the CMS), and a bad value is a usage error, exit 2 with its one line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "tests/cli_harness.h"

#define P "pool02.csb.test"
#define PRESENCE "UserServices.PresenceFocus"

#define EXPECT(code, line, ...) ch_expect_line(cl, code, line, __VA_ARGS__, NULL)

/* Every parameter of SYNTAX but -FlushStorageService, with valid values, under -WhatIf:
 * accepted, nothing done. */
static void test_documented_parameters_parse(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;

	ch_ok(cl, 0, &r, "Invoke-CsPoolFailover", "-PoolFqdn", P, "-Confirm:$false", "-Force",
	      "-WaitTime", "00:01:30", "-WhatIf", "-DatabaseCommandTimeoutInSeconds", "600",
	      "-ServicesStopDelayMins", "5", "-SkipDataVerification", NULL);
	assert_string_equal(r.out, "What if: wait 5 min, then fence " P ", drain its changes to "
	                           "the backup pool until FinalState, then serve its users from "
	                           "pool01.csb.test at epoch 1\n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Invoke-CsPoolFailover", "-PoolFqdn", P, "-DisasterMode", "-WhatIf",
	      "-ServicesStopDelayMins", "0", NULL);
	assert_string_equal(r.out, "What if: without asking " P ", promote the backup copy as it "
	                           "is, then serve its users from pool01.csb.test at epoch 1\n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsPoolState", "-PoolFqdn", P, NULL);
	assert_string_equal(r.out, P ": Normal (users served by " P ", epoch 0)\n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Invoke-CsPoolFailover", "-PoolFqdn", P, "-Force", "-Confirm:$false", NULL);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Invoke-CsPoolFailback", "-PoolFqdn", P, "-cf:$false", "-DisasterMode",
	      "-Force", "-WaitTime", "30", "-wi", "-DatabaseCommandTimeoutInSeconds", "60",
	      "-SkipDataVerification", NULL);
	assert_string_equal(r.out, "What if: fence the data pool01.csb.test serves for " P ", move "
	                           "the changes made since the failover back, and make " P " the "
	                           "primary again at epoch 2\n");
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Invoke-CsPoolFailback", "-PoolFqdn", P, "-WaitTime", "00:00:30",
	      "-SkipDataVerification", "-Force", NULL);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsPoolState", "-PoolFqdn", P, NULL);
	assert_true(ch_starts_with(r.out, P ": Normal (users served by " P ", epoch 2)\n"));
	ch_result_free(&r);
}

/* The documented examples, as written. */
static void test_documented_examples(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;

	ch_ok(cl, 0, &r, "Invoke-CsPoolFailOver", "-PoolFqdn", P, NULL);
	assert_true(ch_matches(r.out, "^" P ": FailedOver \\(users served by pool01\\.csb\\.test, "
	                              "epoch 3\\) in [0-9]+ ms$"));
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Invoke-CsPoolFailback", "-PoolFqdn", P, NULL);
	assert_true(ch_matches(r.out, "^" P ": Normal \\(users served by " P ", epoch 4\\) in "
	                              "[0-9]+ ms$"));
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Invoke-CsPoolFailOver", "-PoolFqdn", P, "-DisasterMode", NULL);
	assert_true(ch_matches(r.out, "^" P ": FailedOver \\(users served by pool01\\.csb\\.test, "
	                              "epoch 5\\) in [0-9]+ ms$"));
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Invoke-CsPoolFailback", "-PoolFqdn", P, NULL);
	ch_result_free(&r);
}

static void test_bad_values(void **state)
{
	struct ch_cluster *cl = *state;

	EXPECT(2, "csb: Invoke-CsPoolFailover: -PoolFqdn is required\n", "Invoke-CsPoolFailover",
	       "-DisasterMode");
	EXPECT(2, "csb: Invoke-CsPoolFailover: -ServicesStopDelayMins must be between 0 and 1440\n",
	       "Invoke-CsPoolFailover", "-PoolFqdn", P, "-ServicesStopDelayMins", "1441");
	EXPECT(2, "csb: Invoke-CsPoolFailover: -ServicesStopDelayMins: 'soon' is not a whole "
	          "number\n", "Invoke-CsPoolFailover", "-PoolFqdn", P, "-ServicesStopDelayMins",
	       "soon");
	EXPECT(2, "csb: Invoke-CsPoolFailover: -DatabaseCommandTimeoutInSeconds must be between 1 "
	          "and 86400\n", "Invoke-CsPoolFailover", "-PoolFqdn", P,
	       "-DatabaseCommandTimeoutInSeconds", "0");
	EXPECT(2, "csb: Invoke-CsPoolFailback: -DatabaseCommandTimeoutInSeconds must be between 1 "
	          "and 86400\n", "Invoke-CsPoolFailback", "-PoolFqdn", P,
	       "-DatabaseCommandTimeoutInSeconds", "86401");
	EXPECT(2, "csb: Invoke-CsPoolFailover: -WaitTime must be between 00:00:01 and 01:00:00\n",
	       "failover", "-PoolFqdn", P, "-WaitTime", "02:00:00");
	/* Refused with why, in any form: nothing here could be flushed. */
	EXPECT(2, "csb: Invoke-CsPoolFailover: -FlushStorageService has nothing to flush here: "
	          "csbackup keeps no storage service queue or cache (every write is on disk when it "
	          "is acknowledged), and the failover always drains the pool's changes to its "
	          "backup pool before that takes over\n", "failover", "-PoolFqdn", P,
	       "-FlushStorageService:$true");
	EXPECT(2, "csb: Invoke-CsPoolFailover: -ServicesStopDelayMins and -DisasterMode cannot be "
	          "used together: a pool failed over in disaster mode is not asked to stop, so "
	          "there is nothing to delay\n", "Invoke-CsPoolFailover", "-PoolFqdn", P,
	       "-DisasterMode", "-ServicesStopDelayMins", "1");
	/* Only the failover page documents these two. */
	EXPECT(2, "csb: Invoke-CsPoolFailback: unknown parameter -FlushStorageService\n",
	       "Invoke-CsPoolFailback", "-PoolFqdn", P, "-FlushStorageService");
	EXPECT(2, "csb: Invoke-CsPoolFailback: unknown parameter -ServicesStopDelayMins\n",
	       "Invoke-CsPoolFailback", "-PoolFqdn", P,
	       "-ServicesStopDelayMins", "5");
}

/* The pool's epoch now (Get-CsPoolState --json). */
static long long epoch_now(struct ch_cluster *cl)
{
	struct ch_result r;
	json_t *doc;
	long long e;

	ch_ok(cl, 0, &r, "Get-CsPoolState", "-PoolFqdn", P, "--json", NULL);
	doc = ch_json(&r);
	e = json_integer_value(json_object_get(doc, "Epoch"));
	json_decref(doc);
	ch_result_free(&r);
	return e;
}

/* cmdlet -PoolFqdn P [flag] --json, exit 0: its document, with State and Epoch checked. */
static json_t *run_json(struct ch_cluster *cl, const char *cmdlet, const char *flag,
                        const char *state, long long epoch)
{
	struct ch_result r;
	json_t *doc;

	if (flag != NULL)
		ch_ok(cl, 0, &r, cmdlet, "-PoolFqdn", P, flag, "--json", NULL);
	else
		ch_ok(cl, 0, &r, cmdlet, "-PoolFqdn", P, "--json", NULL);
	doc = ch_json(&r);
	ch_result_free(&r);
	assert_string_equal(json_string_value(json_object_get(doc, "State")), state);
	assert_int_equal(json_integer_value(json_object_get(doc, "Epoch")), epoch);
	return doc;
}

/* Each module of a failover's or failback's document: its final seq, and whether its copy
 * was compared by range digests. */
static void assert_modules(json_t *doc, long long presence_seq, bool verified)
{
	json_t *mods = json_object_get(doc, "Modules"), *m;
	size_t i;

	assert_int_equal(json_array_size(mods), 2);
	json_array_foreach(mods, i, m) {
		const char *id = json_string_value(json_object_get(m, "Identity"));

		assert_int_equal(json_integer_value(json_object_get(m, "FinalSeq")),
		                 strcmp(id, PRESENCE) == 0 ? presence_seq : 0);
		assert_int_equal(json_is_true(json_object_get(m, "Verified")), verified);
	}
	assert_string_equal(json_string_value(json_object_get(json_array_get(mods, 0),
	                                                      "Identity")), PRESENCE);
	assert_string_equal(json_string_value(json_object_get(json_array_get(mods, 1),
	                                                      "Identity")), "ConfServices.DataConf");
}

/* -SkipDataVerification on real runs: the copy that takes over is not compared with its
 * source ("Verified":false); without it, every module is ("Verified":true). */
static void test_skip_data_verification(void **state)
{
	struct ch_cluster *cl = *state;
	long long e = epoch_now(cl);
	struct ch_result r;
	json_t *doc;

	ch_ok(cl, 0, &r, "data", "load", "-PoolFqdn", P, "-Module", PRESENCE, "-Count", "100",
	      NULL);
	ch_result_free(&r);
	doc = run_json(cl, "Invoke-CsPoolFailover", "-SkipDataVerification", "FailedOver", e + 1);
	assert_modules(doc, 100, false);
	json_decref(doc);
	doc = run_json(cl, "Invoke-CsPoolFailback", NULL, "Normal", e + 2);
	assert_modules(doc, 100, true);
	json_decref(doc);
	doc = run_json(cl, "Invoke-CsPoolFailover", NULL, "FailedOver", e + 3);
	assert_modules(doc, 100, true);
	json_decref(doc);
	doc = run_json(cl, "Invoke-CsPoolFailback", "-SkipDataVerification", "Normal", e + 4);
	assert_modules(doc, 100, false);
	json_decref(doc);
}

static void signal_pool(struct ch_cluster *cl, const char *sig)
{
	struct ch_result r;
	char line[CH_PATH * 2];

	snprintf(line, sizeof(line), "kill -%s $(cat \"%s/run/" P ".pid\")", sig, cl->dir);
	ch_shell(cl, line, &r);
	assert_int_equal(r.code, 0);
	ch_result_free(&r);
}

/* Writes one record to P until it is taken (P serves its users again), at most 20 s. */
static void put_until_taken(struct ch_cluster *cl, const char *key, const char *value)
{
	struct timespec pause = {0, 100 * 1000 * 1000};
	struct ch_result r;

	for (int i = 0; i < 200; i++) {
		ch_run(cl, NULL, &r, "data", "put", "-PoolFqdn", P, "-Module", PRESENCE, "-Key", key,
		       "-Value", value, NULL);
		if (r.code == 0) {
			ch_result_free(&r);
			return;
		}
		ch_result_free(&r);
		nanosleep(&pause, NULL);
	}
	fail_msg(P " never took a write again");
}

/* -DatabaseCommandTimeoutInSeconds bounds each call to an agent: with pool02's agent paused,
 * its fence gives up after that many seconds (not the default 10) and says so, and the pool
 * stays where it was; failing back, the same. A bound long enough changes nothing. */
static void test_database_command_timeout(void **state)
{
	struct ch_cluster *cl = *state;
	long long e = epoch_now(cl);
	struct ch_result r;

	signal_pool(cl, "STOP");
	ch_run(cl, NULL, &r, "Invoke-CsPoolFailover", "-PoolFqdn", P,
	       "-DatabaseCommandTimeoutInSeconds", "1", NULL);
	signal_pool(cl, "CONT");
	assert_int_equal(r.code, 4);
	assert_string_equal(r.err, "csb: Invoke-CsPoolFailover: the agent of " P " did not answer "
	                           "within 1 s (-DatabaseCommandTimeoutInSeconds); " P " stays "
	                           "where it was (use -DisasterMode if it is lost)\n");
	assert_int_equal(r.out_len, 0);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "Get-CsPoolState", "-PoolFqdn", P, NULL);
	assert_true(ch_starts_with(r.out, P ": Normal (users served by " P ", epoch "));
	ch_result_free(&r);
	assert_int_equal(epoch_now(cl), e + 2); /* FailingOver, then back to Normal */
	put_until_taken(cl, "after-timeout", "1");

	json_decref(run_json(cl, "Invoke-CsPoolFailover", "-DatabaseCommandTimeoutInSeconds:30",
	                     "FailedOver", e + 3));
	signal_pool(cl, "STOP");
	ch_run(cl, NULL, &r, "Invoke-CsPoolFailback", "-PoolFqdn", P,
	       "-DatabaseCommandTimeoutInSeconds", "2", NULL);
	signal_pool(cl, "CONT");
	assert_int_equal(r.code, 4);
	assert_string_equal(r.err, "csb: Invoke-CsPoolFailback: the agent of " P " did not answer "
	                           "within 2 s (-DatabaseCommandTimeoutInSeconds); " P " stays "
	                           "failed over\n");
	ch_result_free(&r);
	assert_int_equal(epoch_now(cl), e + 5); /* FailingBack, then back to FailedOver */
	json_decref(run_json(cl, "Invoke-CsPoolFailback", "-DatabaseCommandTimeoutInSeconds:30",
	                     "Normal", e + 6));
	put_until_taken(cl, "after-failback", "1");
}

struct background {
	struct ch_cluster *cl;
	struct ch_result r;
};

static void *failover_with_delay(void *arg)
{
	struct background *b = arg;

	ch_run(b->cl, NULL, &b->r, "Invoke-CsPoolFailover", "-PoolFqdn", P,
	       "-ServicesStopDelayMins", "1", NULL);
	return NULL;
}

/* Whether the coordinator's log has logged needle, waiting at most 20 s. */
static bool coordinator_logged(struct ch_cluster *cl, const char *needle)
{
	struct timespec pause = {0, 50 * 1000 * 1000};
	char path[CH_PATH + 32];

	snprintf(path, sizeof(path), "%s/logs/coordinator.log", cl->dir);
	for (int i = 0; i < 400; i++) {
		char *log = ch_read_file(path);
		bool found = log != NULL && strstr(log, needle) != NULL;

		free(log);
		if (found)
			return true;
		nanosleep(&pause, NULL);
	}
	return false;
}

/* -ServicesStopDelayMins 1: for that minute the pool is Normal and serves its users (a
 * write is taken), then it is failed over, and that write is served by the backup pool. */
static void test_services_stop_delay(void **state)
{
	struct background b = {.cl = *state};
	struct ch_cluster *cl = *state;
	long long e = epoch_now(cl);
	struct ch_result r;
	pthread_t t;
	char want[256];

	assert_int_equal(pthread_create(&t, NULL, failover_with_delay, &b), 0);
	assert_true(coordinator_logged(cl, "services stop delay pool=" P " min=1: it serves its "
	                                   "users until then"));
	ch_ok(cl, 0, &r, "Get-CsPoolState", "-PoolFqdn", P, NULL);
	snprintf(want, sizeof(want), P ": Normal (users served by " P ", epoch %lld)\n", e);
	assert_true(ch_starts_with(r.out, want));
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "data", "put", "-PoolFqdn", P, "-Module", PRESENCE, "-Key", "in-the-delay",
	      "-Value", "kept", NULL);
	ch_result_free(&r);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(b.r.code, 0);
	snprintf(want, sizeof(want), "^" P ": FailedOver \\(users served by pool01\\.csb\\.test, "
	         "epoch %lld\\) in [0-9]+ ms$", e + 1);
	assert_true(ch_matches(b.r.out, want));
	assert_true(ch_matches(b.r.out, "^  " P " served its users for 1 more min "
	                                "\\(-ServicesStopDelayMins\\) before it was stopped$"));
	assert_int_equal(b.r.err_len, 0);
	ch_result_free(&b.r);
	ch_ok(cl, 0, &r, "data", "get", "-PoolFqdn", P, "-Module", PRESENCE, "-Key", "in-the-delay",
	      NULL);
	assert_string_equal(r.out, "kept");
	ch_result_free(&r);
	json_decref(run_json(cl, "Invoke-CsPoolFailback", NULL, "Normal", e + 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_documented_parameters_parse),
		cmocka_unit_test(test_documented_examples),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_skip_data_verification),
		cmocka_unit_test(test_database_command_timeout),
		cmocka_unit_test(test_services_stop_delay),
	};
	return cmocka_run_group_tests(tests, ch_group_up, ch_group_down);
}
