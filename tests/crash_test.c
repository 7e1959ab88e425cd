/* kill -9 of the importing agent in the middle of a large sync, at several points: each
 * restart resumes from the cursor committed with the records, the copy converges with
 * equal digests, and no record is applied twice (the import count, committed with the
 * cursor, equals the number of records exactly). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/rpc.h"
#include "tests/harness.h"

#define PRESENCE "UserServices.PresenceFocus"
#define RECORDS 100000

static int setup(void **state)
{
	*state = h_env_new();
	return 0;
}

static int teardown(void **state)
{
	h_env_free(*state);
	return 0;
}

static uint64_t imported(struct h_env *e, unsigned i, uint64_t *total)
{
	csb_rpc_client *c = h_client(e, i, NULL, NULL);
	Csb__PoolStatus *ps;
	const Csb__ModuleStatus *ms = h_status(c, PRESENCE, &ps);
	uint64_t seq = ms->imported_seq;

	*total = ms->imported_records_total;
	protobuf_c_message_free_unpacked(&ps->base, NULL);
	csb_rpc_client_close(c);
	return seq;
}

static void test_kill9_during_sync_resumes_without_duplicates(void **state)
{
	struct h_env *e = *state;
	static const unsigned kill_after_ms[] = {40, 120, 250, 400};
	unsigned a, b, partial = 0;
	csb_rpc_client *ca;
	uint64_t seq, total, prev = 0, p, k;

	h_add_pair(e, &a, &b);
	/* Small batches: the copy takes many transactions, so kills land between and inside. */
	e->agents[b].extra[0] = "--max-batch-records";
	e->agents[b].extra[1] = "200";
	e->agents[a].extra[0] = "--max-batch-records";
	e->agents[a].extra[1] = "200";
	h_agent_start(e, a);
	ca = h_client(e, a, NULL, NULL);
	h_put_range(ca, PRESENCE, "user", 0, RECORDS, 200, 7, 10000);

	for (unsigned i = 0; i < sizeof(kill_after_ms) / sizeof(kill_after_ms[0]); i++) {
		h_agent_start(e, b);
		csb_sleep_ms(kill_after_ms[i]);
		h_agent_signal(e, b, SIGKILL);
		/* Inspect the store through a restart; progress never goes back. */
		h_agent_start(e, b);
		seq = imported(e, b, &total);
		h_agent_signal(e, b, SIGKILL);
		assert_true(seq >= prev);
		assert_true(total <= RECORDS);
		if (seq > 0 && seq < RECORDS)
			partial++;
		prev = seq;
	}
	assert_true(partial > 0); /* at least one kill landed mid-sync */

	h_agent_start(e, b);
	assert_int_equal(h_sync(ca, PRESENCE, 120000, NULL, NULL), CSB_OK);
	assert_true(h_verify(ca, PRESENCE, &p, &k));
	assert_int_equal(p, RECORDS);
	assert_int_equal(k, RECORDS);
	seq = imported(e, b, &total);
	assert_int_equal(seq, RECORDS);
	assert_int_equal(total, RECORDS); /* nothing applied twice */
	csb_rpc_client_close(ca);
}

static bool log_has(const char *path, const char *text)
{
	char line[4096];
	bool found = false;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}

/* SIGTERM after heavy replication: the agent finishes its writes, closes its sockets and
 * exits 0 by the clean path (not the stop deadline), and nothing written is lost. */
static void test_sigterm_after_traffic_stops_cleanly(void **state)
{
	struct h_env *e = *state;
	unsigned a, b;
	csb_rpc_client *ca;
	uint64_t p, k;
	int status;

	h_add_pair(e, &a, &b);
	h_agent_start(e, a);
	h_agent_start(e, b);
	ca = h_client(e, a, NULL, NULL);
	h_put_range(ca, PRESENCE, "user", 0, 300000, 200, 11, 10000);
	assert_int_equal(h_sync(ca, PRESENCE, 120000, NULL, NULL), CSB_OK);
	csb_rpc_client_close(ca);

	for (unsigned i = 0; i < 2; i++) { /* the exporter first, then the importer */
		unsigned who = i == 0 ? a : b;

		status = h_agent_signal(e, who, SIGTERM);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_true(log_has(e->agents[who].log, "info agent stopped pool="));
		assert_false(log_has(e->agents[who].log, "stop did not finish"));
	}
	h_agent_start(e, a);
	h_agent_start(e, b);
	ca = h_client(e, a, NULL, NULL);
	assert_true(h_verify(ca, PRESENCE, &p, &k));
	assert_int_equal(p, 300000);
	assert_int_equal(k, 300000);
	csb_rpc_client_close(ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill9_during_sync_resumes_without_duplicates,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_after_traffic_stops_cleanly, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
