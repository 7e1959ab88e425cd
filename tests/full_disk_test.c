/* A pool whose disk is full says so: a write to it fails with "… failed: disk full", its
 * import of the partner's changes stops in ErrorState with LastError "apply after seq N:
 * disk full", and its log says "disk full". The pool's state folder is a 4 MiB tmpfs,
 * mounted in a private mount namespace that the agents inherit (root only; skipped with
 * the reason elsewhere). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/mount.h>

#include "common/clock.h"
#include "common/rpc.h"
#include "common/wire.h"
#include "proto/data.pb-c.h"
#include "tests/harness.h"
#include "tests/tmpfs.h"

#define PRESENCE "UserServices.PresenceFocus"
#define VALUE (256u << 10)

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

/* One put of a VALUE-byte value; the reply's status, its error text in err. */
static csb_err put(csb_rpc_client *c, unsigned k, char err[CSB_RPC_ERROR_MAX])
{
	static uint8_t value[VALUE];
	Csb__WriteItem it = CSB__WRITE_ITEM__INIT, *itp = &it;
	Csb__WriteRequest wr = CSB__WRITE_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	char key[16];
	csb_err rv;

	memset(value, 'v', sizeof(value));
	it.key.len = (size_t)snprintf(key, sizeof(key), "big%03u", k);
	it.key.data = (uint8_t *)key;
	it.value.data = value;
	it.value.len = sizeof(value);
	wr.module = PRESENCE;
	wr.items = &itp;
	wr.n_items = 1;
	err[0] = '\0';
	rv = csb_rpc_call_msg(c, "csb.Data/Write", &wr.base, &csb__write_reply__descriptor, 30000,
	                      &out, err);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	return rv;
}

static void test_full_disk_says_disk_full(void **state)
{
	struct h_env *e = *state;
	char err[CSB_RPC_ERROR_MAX], *log;
	csb_rpc_client *ca, *cb;
	uint64_t until;
	unsigned a, b, k;
	csb_err rv = CSB_OK;
	FILE *f;
	long n;

	h_add_pair(e, &a, &b);
	if (!tmpfs_private(e->agents[b].dir, "4m"))
		skip();
	h_agent_start(e, a);
	h_agent_start(e, b);
	ca = h_client(e, a, NULL, NULL);
	cb = h_client(e, b, NULL, NULL);

	/* pool02's own writes until its disk is full: the writer is told so. */
	for (k = 0; k < 64 && (rv = put(cb, k, err)) == CSB_OK; k++)
		;
	assert_int_equal(rv, CSB_ENOSPC);
	assert_true(k > 0 && k < 64);
	assert_string_equal(err, "write to " PRESENCE " failed: disk full");

	/* pool01's changes cannot be imported there: ErrorState with the reason. */
	assert_int_equal(put(ca, 0, err), CSB_OK);
	until = csb_mono_ms() + 20000;
	for (;;) {
		Csb__PoolStatus *ps;
		const Csb__ModuleStatus *ms = h_status(cb, PRESENCE, &ps);
		bool done = ms->last_error[0] != '\0';

		if (done)
			assert_string_equal(ms->last_error, "apply after seq 0: disk full");
		protobuf_c_message_free_unpacked(&ps->base, NULL);
		if (done)
			break;
		if (csb_mono_ms() > until) {
			h_print_logs();
			fail_msg("no LastError on %s after 20 s", e->agents[b].pool);
		}
		csb_sleep_ms(50);
	}

	/* And the log says it. */
	assert_non_null(f = fopen(e->agents[b].log, "r"));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	assert_non_null(log = calloc(1, (size_t)n + 1));
	assert_int_equal(fread(log, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	assert_non_null(strstr(log, "disk full dir="));
	assert_null(strstr(log, "input/output error"));
	free(log);

	csb_rpc_client_close(ca);
	csb_rpc_client_close(cb);
	h_agent_signal(e, b, SIGKILL);
	assert_int_equal(umount2(e->agents[b].dir, MNT_DETACH), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_disk_says_disk_full, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
