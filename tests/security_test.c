/* An agent under hostile input: callers without a certificate from the deployment's CA,
 * principals without the right role, garbage bytes, truncated and oversized messages and
 * unknown methods each get an error or a dropped connection; the agent keeps serving and
 * no store changes. */
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

#include "common/certs.h"
#include "common/rpc.h"
#include "common/wire.h"
#include "proto/data.pb-c.h"
#include "proto/sync.pb-c.h"
#include "tests/harness.h"

#define PRESENCE "UserServices.PresenceFocus"

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

static uint64_t high_seq(csb_rpc_client *c)
{
	Csb__PoolStatus *ps;
	const Csb__ModuleStatus *ms = h_status(c, PRESENCE, &ps);
	uint64_t seq = ms->high_seq;

	protobuf_c_message_free_unpacked(&ps->base, NULL);
	return seq;
}

static void raw_send(int port, const void *buf, size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	(void)!write(fd, buf, len);
	close(fd);
}

static csb_err raw_call(csb_rpc_client *c, const char *method, const void *body, size_t len,
                        char *err)
{
	uint8_t *reply = NULL;
	size_t rlen = 0;
	csb_err rv = csb_rpc_call(c, method, body, len, 5000, &reply, &rlen, err);

	free(reply);
	return rv;
}

static void test_hostile_callers_change_nothing(void **state)
{
	struct h_env *e = *state;
	char mal_cert[H_PATH], mal_key[H_PATH], x_ca[H_PATH], x_cakey[H_PATH], x_cert[H_PATH],
		x_key[H_PATH], err[CSB_RPC_ERROR_MAX];
	unsigned a, b;
	csb_rpc_client *admin, *mallory, *stranger;
	uint8_t junk[4096], *buf;
	size_t len;
	uint64_t before;
	Csb__PullRequest pr = CSB__PULL_REQUEST__INIT;
	csb_err rv;

	h_add_pair(e, &a, &b);
	h_agent_start(e, a);
	admin = h_client(e, a, NULL, NULL);
	h_put_range(admin, PRESENCE, "user", 0, 100, 64, 1, 100);
	before = high_seq(admin);
	assert_int_equal(before, 100);

	/* A certificate from another CA: the TLS handshake fails, no reply ever comes. */
	snprintf(x_ca, H_PATH, "%s/other-ca.crt", e->dir);
	snprintf(x_cakey, H_PATH, "%s/other-ca.key", e->dir);
	snprintf(x_cert, H_PATH, "%s/stranger.crt", e->dir);
	snprintf(x_key, H_PATH, "%s/stranger.key", e->dir);
	assert_int_equal(csb_certs_make_ca(x_ca, x_cakey, "other CA"), CSB_OK);
	assert_int_equal(csb_certs_issue(x_ca, x_cakey, "admin", x_cert, x_key), CSB_OK);
	stranger = h_client(e, a, x_cert, x_key);
	h_put_range(admin, PRESENCE, "probe", 0, 1, 1, 1, 1); /* admin still works meanwhile */
	before = high_seq(admin);
	{
		uint8_t one = 'x';

		rv = raw_call(stranger, "csb.Control/Status", &one, 0, err);
		assert_int_equal(rv, CSB_ENOTCONN); /* the handshake fails: nothing is sent */
	}
	csb_rpc_client_close(stranger);

	/* A principal of our CA without a role: refused at the door of each service. */
	h_issue(e, "mallory", mal_cert, mal_key);
	mallory = h_client(e, a, mal_cert, mal_key);
	assert_int_equal(h_put(mallory, PRESENCE, "k", 1, "v", 1), CSB_EDENIED);
	pr.source = e->agents[a].pool;
	pr.module = PRESENCE;
	assert_int_equal(csb_wire_pack(&pr.base, &buf, &len), CSB_OK);
	assert_int_equal(raw_call(mallory, "csb.Sync/Pull", buf, len, err), CSB_EDENIED);
	free(buf);
	csb_rpc_client_close(mallory);

	/* Garbage and half a TLS record on the raw port. */
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 7 + 3);
	raw_send(e->agents[a].port, junk, sizeof(junk));
	raw_send(e->agents[a].port, "\x16\x03\x01\x02\x00\x01", 6);

	/* Well-authenticated but malformed: a truncated body, an unknown method. */
	{
		Csb__WriteItem it = CSB__WRITE_ITEM__INIT, *itp = &it;
		Csb__WriteRequest wr = CSB__WRITE_REQUEST__INIT;

		wr.module = PRESENCE;
		wr.n_items = 1;
		wr.items = &itp;
		it.key.data = (uint8_t *)"truncated";
		it.key.len = 9;
		it.value.data = junk;
		it.value.len = 1000;
		assert_int_equal(csb_wire_pack(&wr.base, &buf, &len), CSB_OK);
		assert_int_equal(raw_call(admin, "csb.Data/Write", buf, len / 2, err), CSB_EPROTO);
		free(buf);
	}
	assert_int_equal(raw_call(admin, "csb.Data/Nope", junk, 10, err), CSB_ENOMETHOD);

	/* Oversized: over the agent's message bound, refused before decoding. */
	{
		size_t big = 120u << 20;
		uint8_t *huge = calloc(1, big);

		assert_non_null(huge);
		rv = raw_call(admin, "csb.Data/Write", huge, big, err);
		assert_true(rv != CSB_OK);
		free(huge);
	}

	/* Still serving, and nothing changed. */
	assert_int_equal(high_seq(admin), before);
	assert_int_equal(h_put(admin, PRESENCE, "after", 5, "ok", 2), CSB_OK);
	assert_int_equal(high_seq(admin), before + 1);
	csb_rpc_client_close(admin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hostile_callers_change_nothing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
