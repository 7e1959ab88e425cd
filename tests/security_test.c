/* An agent under hostile input: callers without a certificate from the deployment's CA,
 * principals without the right role, garbage bytes, truncated and oversized messages and
 * unknown methods each get an error or a dropped connection; the agent keeps serving and
 * no store changes. A principal of the CA that is no administrator cannot make the agent
 * hold its unfinished messages. */
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
#include "common/test_tls.h"
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

/* ---- Unfinished messages ---------------------------------------------------------------- */

#define PROBE_CONNS 8
#define PROBE_DECLARED (100ull << 20) /* what each connection announces */
#define PROBE_SENT (90u << 20)        /* and sends of it, then waits */
#define RSS_MAX_KB (200u << 10)
#define BIG (8u << 20)                /* over CSB_RPC_PEER_MAX_MSG_DEFAULT */

struct probe {
	tt_conn t;
	size_t sent;
};

/* The agent's resident set, from /proc/<pid>/status, in kB. */
static unsigned long rss_kb(pid_t pid)
{
	char path[64], line[256];
	unsigned long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* A TLS connection as principal cert/key that speaks nng's SP framing itself: the REQ
 * hello, then a message of PROBE_DECLARED bytes of which it sends PROBE_SENT, or as much
 * as the agent takes before it drops the connection. Left open. */
static void probe_open(struct probe *p, struct h_env *e, unsigned i, const char *cert,
                       const char *key)
{
	static uint8_t chunk[1u << 20];
	int rv;

	assert_int_equal(tt_open(&p->t, e->agents[i].port, e->ca_cert, cert, key,
	                         e->agents[i].pool, 0),
	                 0);
	assert_int_equal(tt_sp_announce(&p->t, PROBE_DECLARED), 8);
	memset(chunk, 'x', sizeof(chunk));
	for (p->sent = 0; p->sent < PROBE_SENT; p->sent += (size_t)rv)
		if ((rv = mbedtls_ssl_write(&p->t.ssl, chunk, sizeof(chunk))) <= 0)
			break;
}

/* 8 connections of a CA-signed principal with no role, each announcing a 100 MiB message
 * and sending 90 MiB of it: the agent keeps under 200 MB and keeps serving; an
 * administrator may still send large writes. */
static void test_unfinished_messages_pin_nothing(void **state)
{
	struct h_env *e = *state;
	char cert[H_PATH], key[H_PATH];
	struct probe pr[PROBE_CONNS];
	unsigned long before, during;
	tt_conn t;
	csb_rpc_client *admin, *mallory;
	size_t sent = 0;
	uint8_t *big;
	unsigned a, b;

	h_add_pair(e, &a, &b);
	h_agent_start(e, a);
	admin = h_client(e, a, NULL, NULL);
	assert_int_equal(h_put(admin, PRESENCE, "k", 1, "v", 1), CSB_OK);
	h_issue(e, "mallory", cert, key);

	before = rss_kb(e->agents[a].pid);
	for (int i = 0; i < PROBE_CONNS; i++) {
		probe_open(&pr[i], e, a, cert, key);
		sent += pr[i].sent;
	}
	during = rss_kb(e->agents[a].pid);
	print_message("agent VmRSS: %lu kB before, %lu kB with %d unfinished messages open "
	              "(%zu MiB sent of %llu MiB announced)\n",
	              before, during, PROBE_CONNS, sent >> 20,
	              (unsigned long long)(PROBE_CONNS * PROBE_DECLARED) >> 20);
	if (during >= RSS_MAX_KB)
		fail_msg("agent VmRSS %lu kB, not below %u kB", during, RSS_MAX_KB);
	/* Still serving, with the connections open. */
	assert_int_equal(h_put(admin, PRESENCE, "after", 5, "ok", 2), CSB_OK);
	assert_int_equal(high_seq(admin), 2);
	/* An administrator still writes what the others may not even send. */
	assert_non_null(big = calloc(1, BIG));
	assert_int_equal(h_put(admin, PRESENCE, "big", 3, big, BIG), CSB_OK);
	/* The other principal's large message ends its connection as its length arrives (on a
	 * hand-made connection: an nng client reset while it sends may never redial, nng 1.5.2);
	 * its small write is refused for its role. */
	assert_int_equal(tt_open(&t, e->agents[a].port, e->ca_cert, cert, key, e->agents[a].pool,
	                         0),
	                 0);
	assert_int_equal(tt_sp_announce(&t, BIG), 8);
	assert_true(tt_ended(&t, 5000));
	tt_close(&t);
	mallory = h_client(e, a, cert, key);
	assert_int_equal(h_put(mallory, PRESENCE, "x", 1, "y", 1), CSB_EDENIED);
	assert_int_equal(high_seq(admin), 3);
	csb_rpc_client_close(mallory);
	free(big);
	for (int i = 0; i < PROBE_CONNS; i++)
		tt_close(&pr[i].t);
	csb_rpc_client_close(admin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hostile_callers_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unfinished_messages_pin_nothing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
