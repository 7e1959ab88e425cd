/* Tests of the RPC layer over insecure transports (tcp:// and ipc:// on loopback): round
 * trips, concurrency, error statuses, timeouts, bounds, hostile bytes, closing under load.
 * TLS and caller identity are in rpc_tls_test.c. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/internal/rpc_internal.h"
#include "common/rpc.h"
#include "common/wire.h"

#define T_OK 5000 /* timeout of calls expected to succeed */

/* ---- Handlers -------------------------------------------------------------------------- */

static csb_err h_echo(void *ctx, const csb_rpc_request *req, csb_rpc_reply *rep)
{
	(void)ctx;
	if ((rep->body = malloc(req->body_len + 1)) == NULL)
		return CSB_ENOMEM;
	if (req->body_len != 0) /* an empty body may be NULL */
		memcpy(rep->body, req->body, req->body_len);
	rep->body_len = req->body_len;
	return CSB_OK;
}

static csb_err h_notfound(void *ctx, const csb_rpc_request *req, csb_rpc_reply *rep)
{
	(void)ctx;
	(void)req;
	snprintf(rep->error, sizeof(rep->error), "no such module: %s", "Sample.Module");
	return CSB_ENOTFOUND;
}

/* Sleeps the number of milliseconds given as decimal text in the body. */
static csb_err h_sleep(void *ctx, const csb_rpc_request *req, csb_rpc_reply *rep)
{
	char num[16] = "";

	(void)ctx;
	(void)rep;
	memcpy(num, req->body, req->body_len < 15 ? req->body_len : 15);
	csb_sleep_ms(strtoull(num, NULL, 10));
	return CSB_OK;
}

/* A typed method: the request is an Envelope (any message type would do); the rule admits
 * only requests whose method field is "ok", and the handler answers that field back. */
static atomic_int typed_calls;

static bool typed_rule(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                       char err[CSB_RPC_ERROR_MAX])
{
	const Csb__Envelope *e = (const Csb__Envelope *)msg;

	(void)ctx;
	(void)req;
	if (strcmp(e->method, "ok") == 0)
		return true;
	snprintf(err, CSB_RPC_ERROR_MAX, "only ok may pass, not %s", e->method);
	return false;
}

static csb_err h_typed(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                       csb_rpc_reply *rep)
{
	const Csb__Envelope *e = (const Csb__Envelope *)msg;

	(void)ctx;
	(void)req;
	atomic_fetch_add(&typed_calls, 1);
	if ((rep->body = (uint8_t *)strdup(e->method)) == NULL)
		return CSB_ENOMEM;
	rep->body_len = strlen(e->method);
	return CSB_OK;
}

static const csb_rpc_method methods[] = {
	{.name = "test.Echo/Echo", .fn = h_echo},
	{.name = "test.Echo/NotFound", .fn = h_notfound},
	{.name = "test.Echo/Sleep", .fn = h_sleep},
	{.name = "test.Echo/Typed", .req_desc = &csb__envelope__descriptor, .handle = h_typed,
	 .authorize = typed_rule},
};

/* ---- Fixture ------------------------------------------------------------------------------- */

struct fix {
	csb_rpc_server *srv;
	csb_rpc_client *cli;
	char url[256];
};

static void server_up(struct fix *f, const char *listen_url, size_t max_msg)
{
	csb_rpc_server_opts so = {
		.url = listen_url, .workers = 4, .max_msg = max_msg, .allow_insecure = true};

	assert_int_equal(csb_rpc_server_start(&so, methods, 4, &f->srv), CSB_OK);
	if (strncmp(listen_url, "tcp://", 6) == 0) {
		assert_true(csb_rpc_server_port(f->srv) > 0);
		snprintf(f->url, sizeof(f->url), "tcp://127.0.0.1:%d", csb_rpc_server_port(f->srv));
	} else {
		assert_int_equal(csb_rpc_server_port(f->srv), 0);
		snprintf(f->url, sizeof(f->url), "%s", listen_url);
	}
}

static void client_up(struct fix *f, size_t max_msg)
{
	csb_rpc_client_opts co = {.url = f->url, .max_msg = max_msg, .allow_insecure = true};

	assert_int_equal(csb_rpc_client_open(&co, &f->cli), CSB_OK);
}

static int fix_tcp(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	server_up(f, "tcp://127.0.0.1:0", 0);
	client_up(f, 0);
	*state = f;
	return 0;
}

static int fix_down(void **state)
{
	struct fix *f = *state;

	csb_rpc_client_close(f->cli);
	csb_rpc_server_close(f->srv);
	free(f);
	return 0;
}

/* Calls method and checks an OK reply equal to the request body. */
static void echo_ok(csb_rpc_client *c, const void *body, size_t len)
{
	uint8_t *out = NULL;
	size_t out_len = 99;
	char err[CSB_RPC_ERROR_MAX];

	assert_int_equal(csb_rpc_call(c, "test.Echo/Echo", body, len, T_OK, &out, &out_len, err),
	                 CSB_OK);
	assert_non_null(out);
	assert_int_equal(out_len, len);
	if (len > 0)
		assert_memory_equal(out, body, len);
	assert_string_equal(err, "");
	free(out);
}

static csb_err sleep_call(csb_rpc_client *c, unsigned sleep_ms, uint32_t timeout_ms)
{
	uint8_t *out = NULL;
	size_t out_len = 0;
	char num[16];
	csb_err rv;

	snprintf(num, sizeof(num), "%u", sleep_ms);
	rv = csb_rpc_call(c, "test.Echo/Sleep", num, strlen(num), timeout_ms, &out, &out_len, NULL);
	free(out);
	return rv;
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void echo_sizes(csb_rpc_client *c)
{
	size_t big = 1u << 20;
	uint8_t *buf = malloc(big);

	for (size_t i = 0; i < big; i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	echo_ok(c, NULL, 0);
	echo_ok(c, "x", 1);
	echo_ok(c, buf, big);
	free(buf);
}

static void test_echo_tcp(void **state)
{
	struct fix *f = *state;

	echo_sizes(f->cli);
}

static void test_echo_ipc(void **state)
{
	const char *base = getenv("TEST_TMPDIR");
	char dir[200], url[256];
	struct fix f = {0};

	(void)state;
	/* A socket path has at most 107 bytes; Bazel's TEST_TMPDIR can be longer. */
	snprintf(dir, sizeof(dir), "%s/ipc.XXXXXX", base != NULL && strlen(base) < 80 ? base : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "ipc://%s/rpc.sock", dir);
	server_up(&f, url, 0);
	client_up(&f, 0);
	echo_sizes(f.cli);
	csb_rpc_client_close(f.cli);
	csb_rpc_server_close(f.srv);
	rmdir(dir);
}

static void test_call_msg(void **state)
{
	struct fix *f = *state;
	Csb__Envelope in = CSB__ENVELOPE__INIT, *back;
	ProtobufCMessage *out;

	in.method = "x.Y/Z";
	in.request_id = 77;
	in.status = CSB_EBUSY;
	assert_int_equal(csb_rpc_call_msg(f->cli, "test.Echo/Echo", &in.base,
	                                  &csb__envelope__descriptor, T_OK, &out, NULL),
	                 CSB_OK);
	back = (Csb__Envelope *)out;
	assert_string_equal(back->method, "x.Y/Z");
	assert_int_equal(back->request_id, 77);
	assert_int_equal(back->status, CSB_EBUSY);
	protobuf_c_message_free_unpacked(out, NULL);
}

struct conc {
	csb_rpc_client *cli;
	unsigned thread;
	int failures;
};

static void *conc_main(void *arg)
{
	struct conc *k = arg;

	for (unsigned i = 0; i < 4; i++) {
		char body[64];
		uint8_t *out = NULL;
		size_t out_len = 0;
		int n = snprintf(body, sizeof(body), "echo thread=%u call=%u salt=%08x", k->thread, i,
		                 (unsigned)rand());

		if (csb_rpc_call(k->cli, "test.Echo/Echo", body, (size_t)n, T_OK, &out, &out_len,
		                 NULL) != CSB_OK ||
		    out_len != (size_t)n || memcmp(out, body, (size_t)n) != 0)
			k->failures++;
		free(out);
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	struct fix *f = *state;
	struct conc k[8];
	pthread_t t[8];

	for (unsigned i = 0; i < 8; i++) {
		k[i] = (struct conc){.cli = f->cli, .thread = i};
		assert_int_equal(pthread_create(&t[i], NULL, conc_main, &k[i]), 0);
	}
	for (unsigned i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(k[i].failures, 0);
	}
}

static void test_unknown_method(void **state)
{
	struct fix *f = *state;
	char err[CSB_RPC_ERROR_MAX];
	uint8_t *out = (uint8_t *)"untouched";
	size_t out_len = 5;

	assert_int_equal(csb_rpc_call(f->cli, "test.Echo/Nope", "a", 1, T_OK, &out, &out_len, err),
	                 CSB_ENOMETHOD);
	assert_string_equal(err, "unknown method \"test.Echo/Nope\"");
	assert_null(out);
	assert_int_equal(out_len, 0);
	/* What a caller sent comes back (and goes to the log) without control characters. */
	assert_int_equal(csb_rpc_call(f->cli, "bad\nmethod \"x\"", NULL, 0, T_OK, &out, &out_len,
	                              err),
	                 CSB_ENOMETHOD);
	assert_string_equal(err, "unknown method \"bad?method??x?\"");
}

/* The dispatcher decodes, applies the method's rule and frees: an undecodable body and a
 * refused caller never reach the handler. */
static void test_typed_method(void **state)
{
	struct fix *f = *state;
	Csb__Envelope e = CSB__ENVELOPE__INIT;
	uint8_t buf[64], *out = NULL, junk[] = {0xff, 0xff, 0xff};
	size_t len, out_len;
	char err[CSB_RPC_ERROR_MAX];
	int before = atomic_load(&typed_calls);

	e.method = "ok";
	len = protobuf_c_message_pack(&e.base, buf);
	assert_int_equal(csb_rpc_call(f->cli, "test.Echo/Typed", buf, len, 2000, &out, &out_len, err),
	                 CSB_OK);
	assert_int_equal(out_len, 2);
	assert_memory_equal(out, "ok", 2);
	free(out);
	e.method = "no";
	len = protobuf_c_message_pack(&e.base, buf);
	assert_int_equal(csb_rpc_call(f->cli, "test.Echo/Typed", buf, len, 2000, &out, &out_len, err),
	                 CSB_EDENIED);
	assert_string_equal(err, "only ok may pass, not no");
	assert_int_equal(csb_rpc_call(f->cli, "test.Echo/Typed", junk, sizeof(junk), 2000, &out,
	                              &out_len, err),
	                 CSB_EPROTO);
	assert_int_equal(atomic_load(&typed_calls), before + 1);
}

static void test_handler_error(void **state)
{
	struct fix *f = *state;
	char err[CSB_RPC_ERROR_MAX];
	uint8_t *out;
	size_t out_len;

	assert_int_equal(csb_rpc_call(f->cli, "test.Echo/NotFound", NULL, 0, T_OK, &out, &out_len,
	                              err),
	                 CSB_ENOTFOUND);
	assert_string_equal(err, "no such module: Sample.Module");
	assert_null(out);
}

static void test_timeout_then_serves(void **state)
{
	struct fix *f = *state;

	assert_int_equal(sleep_call(f->cli, 1500, 200), CSB_ETIMEDOUT);
	echo_ok(f->cli, "after", 5);
}

static void test_bad_arguments(void **state)
{
	struct fix *f = *state;
	char method[200];
	uint8_t *out;
	size_t out_len;

	memset(method, 'm', sizeof(method) - 1);
	method[sizeof(method) - 1] = '\0';
	assert_int_equal(csb_rpc_call(f->cli, method, "a", 1, T_OK, &out, &out_len, NULL),
	                 CSB_EINVAL);
	assert_int_equal(csb_rpc_call(f->cli, NULL, "a", 1, T_OK, &out, &out_len, NULL),
	                 CSB_EINVAL);
	assert_int_equal(csb_rpc_call(f->cli, "test.Echo/Echo", NULL, 3, T_OK, &out, &out_len,
	                              NULL),
	                 CSB_EINVAL);
}

/* A request over the server's bound: nng drops the connection before reading it, and the
 * client (which never re-sends) learns it at once: CSB_EUNREACH. */
static void test_oversize_request(void **state)
{
	struct fix f = {0};
	size_t big = 100u << 10;
	uint8_t *buf = calloc(1, big), *out;
	size_t out_len;
	csb_rpc_client *small;
	csb_rpc_client_opts co = {.max_msg = 64u << 10, .allow_insecure = true};

	(void)state;
	server_up(&f, "tcp://127.0.0.1:0", 64u << 10);
	client_up(&f, 0);
	echo_ok(f.cli, "warm", 4);
	assert_int_equal(csb_rpc_call(f.cli, "test.Echo/Echo", buf, big, T_OK, &out, &out_len,
	                              NULL),
	                 CSB_EUNREACH);
	echo_ok(f.cli, "still serving", 13);
	/* A client with the same bound refuses to send it at all. */
	co.url = f.url;
	assert_int_equal(csb_rpc_client_open(&co, &small), CSB_OK);
	assert_int_equal(csb_rpc_call(small, "test.Echo/Echo", buf, big, T_OK, &out, &out_len,
	                              NULL),
	                 CSB_ETOOBIG);
	echo_ok(small, "small ok", 8);
	csb_rpc_client_close(small);
	csb_rpc_client_close(f.cli);
	csb_rpc_server_close(f.srv);
	free(buf);
}

/* Connects to 127.0.0.1:port, writes len bytes of data, reads until the server closes
 * (at most 3 s) when wait_close, closes. */
static void raw_send(int port, const void *data, size_t len, bool wait_close)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_sec = 3};
	char sink[256];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	while (wait_close && read(fd, sink, sizeof(sink)) > 0)
		;
	close(fd);
}

static void read_exact(int fd, uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = read(fd, buf + off, len - off);

		assert_true(n > 0);
		off += (size_t)n;
	}
}

/* Sends a raw REQ frame and checks the reply: an Envelope with status want and, when
 * want_error is not NULL, that error text. */
static void raw_frame_gets(int port, const uint8_t *frame, size_t len, csb_err want,
                           const char *want_error)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_sec = 3};
	uint8_t hdr[16], body[512];
	ProtobufCMessage *m;
	uint64_t flen = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(write(fd, frame, len), (ssize_t)len);
	read_exact(fd, hdr, sizeof(hdr)); /* the server's SP header, then the frame length */
	assert_memory_equal(hdr, "\0SP\0\0\x31\0\0", 8);
	for (int i = 8; i < 16; i++)
		flen = flen << 8 | hdr[i];
	assert_true(flen > 4 && flen <= sizeof(body));
	read_exact(fd, body, flen);
	assert_int_equal(body[0] & 0x80, 0x80); /* the request id echoed back */
	assert_int_equal(csb_wire_unpack(&csb__envelope__descriptor, body + 4, flen - 4, &m, NULL, 0),
	                 CSB_OK);
	assert_int_equal(((Csb__Envelope *)m)->status, want);
	if (want_error != NULL)
		assert_string_equal(((Csb__Envelope *)m)->error, want_error);
	assert_int_equal(((Csb__Envelope *)m)->request_id, 0);
	protobuf_c_message_free_unpacked(m, NULL);
	close(fd);
}

static void test_garbage_and_truncated_frames(void **state)
{
	struct fix *f = *state;
	int port = csb_rpc_server_port(f->srv);
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	/* A valid SP header for REQ (protocol 0x30), then a frame of 1000 bytes cut at 10. */
	static const uint8_t truncated[] = {0, 'S', 'P', 0, 0, 0x30, 0, 0,
	                                    0, 0,   0,   0, 0, 0,    3, 0xe8,
	                                    1, 2,   3,   4, 5, 6,    7, 8, 9, 10};
	/* A valid header, then a frame announcing 2^60 bytes. */
	static const uint8_t huge[] = {0, 'S', 'P', 0, 0, 0x30, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0};
	/* A valid header and a complete frame whose body is not an Envelope. */
	static const uint8_t junk[] = {0, 'S', 'P', 0, 0, 0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10,
	                               0x80, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint8_t noise[4096];

	for (size_t i = 0; i < sizeof(noise); i++)
		noise[i] = (uint8_t)rand();
	raw_send(port, http, sizeof(http) - 1, true);
	raw_send(port, noise, sizeof(noise), true);
	/* nng waits for the rest of a frame without a time limit: do not wait for a close. */
	raw_send(port, truncated, sizeof(truncated), false);
	raw_send(port, huge, sizeof(huge), true);
	echo_ok(f->cli, "survived", 8);
	/* A well-formed frame that is no Envelope: the server replies CSB_EPROTO. */
	raw_frame_gets(port, junk, sizeof(junk), CSB_EPROTO, NULL);
	echo_ok(f->cli, "survived again", 14);
}

/* A method name is compared whole: "test.Echo/Echo\0x" is not test.Echo/Echo. */
static void test_method_with_nul(void **state)
{
	struct fix *f = *state;
	/* SP header for REQ, a frame of 4 + 18 bytes: request id, then Envelope{method}. */
	static const uint8_t frame[] = "\0SP\0\0\x30\0\0"
	                               "\0\0\0\0\0\0\0\x16"
	                               "\x80\0\0\x01"
	                               "\x0a\x10"
	                               "test.Echo/Echo\0x";

	raw_frame_gets(csb_rpc_server_port(f->srv), frame, sizeof(frame) - 1, CSB_EPROTO,
	               "csb.Envelope.method: a NUL byte at offset 14");
	echo_ok(f->cli, "still serving", 13);
}

/* An SP connection to 127.0.0.1:port as a REQ peer, after both hellos; the socket. */
static int sp_connect(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_sec = 3};
	uint8_t hello[8];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(write(fd, "\0SP\0\0\x30\0\0", 8), 8);
	read_exact(fd, hello, sizeof(hello));
	assert_memory_equal(hello, "\0SP\0\0\x31\0\0", 8);
	return fd;
}

/* Whether the server closed fd: EOF (or a reset) within 3 s when expect_closed, else
 * within 0.3 s. */
static bool sp_closed(int fd, bool expect_closed)
{
	struct timeval tv = {.tv_sec = expect_closed ? 3 : 0, .tv_usec = expect_closed ? 0 : 300000};
	uint8_t b;
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = read(fd, &b, 1);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* Which of n connections the server closes within 3 s: its index, or -1. */
static int sp_first_closed(const int *fd, int n)
{
	struct pollfd p[8];

	for (int i = 0; i < n; i++)
		p[i] = (struct pollfd){.fd = fd[i], .events = POLLIN};
	if (poll(p, (nfds_t)n, 3000) <= 0)
		return -1;
	for (int i = 0; i < n; i++)
		if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && sp_closed(fd[i], true))
			return i;
	return -1;
}

/* A listener holds at most max_conns connections: one more is closed as it comes (which
 * one of three that arrive together is nng's order), and there is room again once another
 * leaves. */
static void test_connection_bound(void **state)
{
	csb_rpc_server_opts so = {.url = "tcp://127.0.0.1:0", .workers = 2, .max_conns = 2,
	                          .allow_insecure = true};
	csb_rpc_server *srv;
	int port, fd[3], extra, refused, tries;

	(void)state;
	assert_int_equal(csb_rpc_server_start(&so, methods, 3, &srv), CSB_OK);
	port = csb_rpc_server_port(srv);
	for (int i = 0; i < 3; i++)
		fd[i] = sp_connect(port);
	assert_true((refused = sp_first_closed(fd, 3)) >= 0);
	for (int i = 0; i < 3; i++)
		if (i != refused)
			assert_false(sp_closed(fd[i], false));
	close(fd[refused == 0 ? 1 : 0]);
	/* Until the server has seen it go (refused connections count too, until nng has
	 * reaped them). */
	for (tries = 0; tries < 50; tries++) {
		extra = sp_connect(port);
		if (!sp_closed(extra, false))
			break;
		close(extra);
		csb_sleep_ms(100);
	}
	assert_true(tries < 50);
	close(extra);
	for (int i = 0; i < 3; i++)
		if (i != (refused == 0 ? 1 : 0))
			close(fd[i]);
	csb_rpc_server_close(srv);
}

static void test_insecure_refused(void **state)
{
	csb_rpc_server_opts so = {.url = "tcp://127.0.0.1:0",
	                          .name = "pool01.csb.test",
	                          .tls = {.cert = "/nonexistent/c", .key = "/nonexistent/k",
	                                  .ca = "/nonexistent/ca"}};
	csb_rpc_client_opts co = {.url = "tcp://127.0.0.1:1", .server_name = "pool01.csb.test"};
	csb_rpc_server *srv = NULL;
	csb_rpc_client *cli = NULL;

	(void)state;
	assert_int_equal(csb_rpc_server_start(&so, methods, 3, &srv), CSB_EINVAL);
	assert_null(srv);
	so.url = "ipc:///tmp/csb-never.sock";
	assert_int_equal(csb_rpc_server_start(&so, methods, 3, &srv), CSB_EINVAL);
	so.url = "ws://127.0.0.1:0";
	so.allow_insecure = true;
	assert_int_equal(csb_rpc_server_start(&so, methods, 3, &srv), CSB_EINVAL);
	/* tls+tcp:// without files. */
	so.url = "tls+tcp://127.0.0.1:0";
	so.tls = (csb_tls_files){0};
	assert_int_equal(csb_rpc_server_start(&so, methods, 3, &srv), CSB_EINVAL);
	assert_int_equal(csb_rpc_client_open(&co, &cli), CSB_EINVAL);
	assert_null(cli);
	co.url = "tls+tcp://127.0.0.1:1";
	assert_int_equal(csb_rpc_client_open(&co, &cli), CSB_EINVAL);
}

static void test_address_in_use(void **state)
{
	struct fix *f = *state;
	csb_rpc_server_opts so = {.url = f->url, .allow_insecure = true};
	csb_rpc_server *srv = NULL;

	assert_int_equal(csb_rpc_server_start(&so, methods, 3, &srv), CSB_EBUSY);
	assert_null(srv);
}

static void test_nothing_listens(void **state)
{
	struct fix f = {0};
	uint8_t *out;
	size_t out_len;
	char err[CSB_RPC_ERROR_MAX];

	(void)state;
	/* A port that was free a moment ago: the request is never sent, and the reason is
	 * found out by one synchronous dial. */
	server_up(&f, "tcp://127.0.0.1:0", 0);
	csb_rpc_server_close(f.srv);
	client_up(&f, 0);
	assert_int_equal(csb_rpc_call(f.cli, "test.Echo/Echo", "a", 1, 300, &out, &out_len, err),
	                 CSB_ENOTCONN);
	assert_non_null(strstr(err, ": connection refused"));
	csb_rpc_client_close(f.cli);
}

struct inflight {
	csb_rpc_client *cli;
	csb_err rv;
};

static void *inflight_main(void *arg)
{
	struct inflight *k = arg;

	k->rv = sleep_call(k->cli, 400, 10000);
	return NULL;
}

/* Starts n slow calls through cli on threads of their own and lets them get under way. */
static void inflight_start(csb_rpc_client *cli, struct inflight *k, pthread_t *t, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		k[i] = (struct inflight){.cli = cli, .rv = CSB_OK};
		assert_int_equal(pthread_create(&t[i], NULL, inflight_main, &k[i]), 0);
	}
	csb_sleep_ms(150);
}

/* Joins the n calls; each must have ended with want. */
static void inflight_join(struct inflight *k, pthread_t *t, unsigned n, csb_err want)
{
	for (unsigned i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(k[i].rv, want);
	}
}

/* Closing the server under calls: the handlers finish, their replies have no socket, the
 * connection drops, the calls end with CSB_EUNREACH. */
static void test_server_close_in_flight(void **state)
{
	struct fix f = {0};
	struct inflight k[6];
	pthread_t t[6];

	(void)state;
	server_up(&f, "tcp://127.0.0.1:0", 0);
	client_up(&f, 0);
	echo_ok(f.cli, "warm", 4);
	inflight_start(f.cli, k, t, 6);
	csb_rpc_server_close(f.srv);
	inflight_join(k, t, 6, CSB_EUNREACH);
	csb_rpc_client_close(f.cli);
}

/* Closing the client under calls ends them with CSB_ECLOSED. */
static void test_client_close_in_flight(void **state)
{
	struct fix f = {0};
	struct inflight k[3];
	pthread_t t[3];

	(void)state;
	server_up(&f, "tcp://127.0.0.1:0", 0);
	client_up(&f, 0);
	echo_ok(f.cli, "warm", 4);
	inflight_start(f.cli, k, t, 3);
	csb_rpc_client_close(f.cli);
	inflight_join(k, t, 3, CSB_ECLOSED);
	csb_rpc_server_close(f.srv);
}

/* Shutting the client down under calls ends them with CSB_ECLOSED; later calls fail at
 * once with CSB_ECLOSED and the client stays usable memory until it is closed. */
static void test_client_shutdown_in_flight(void **state)
{
	struct fix f = {0};
	struct inflight k[3];
	pthread_t t[3];
	uint8_t *out = NULL;
	size_t out_len = 0;

	(void)state;
	server_up(&f, "tcp://127.0.0.1:0", 0);
	client_up(&f, 0);
	echo_ok(f.cli, "warm", 4);
	inflight_start(f.cli, k, t, 3);
	csb_rpc_client_shutdown(f.cli);
	inflight_join(k, t, 3, CSB_ECLOSED);
	assert_int_equal(csb_rpc_call(f.cli, "test.Echo/Echo", "a", 1, 5000, &out, &out_len, NULL),
	                 CSB_ECLOSED);
	assert_null(out);
	csb_rpc_client_shutdown(f.cli); /* idempotent */
	csb_rpc_client_close(f.cli);
	csb_rpc_server_close(f.srv);
}

/* Not an assertion: µs per small call on loopback, for comparison with rpc_tls_test. */
static void test_latency_print(void **state)
{
	struct fix *f = *state;
	uint64_t t0;
	unsigned n = 1000;

	echo_ok(f->cli, "warm", 4);
	t0 = csb_mono_us();
	for (unsigned i = 0; i < n; i++)
		echo_ok(f->cli, "ping-ping-ping-ping", 19);
	printf("rpc latency tcp loopback: %.1f us per call (%u calls)\n",
	       (double)(csb_mono_us() - t0) / n, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_echo_tcp, fix_tcp, fix_down),
		cmocka_unit_test(test_echo_ipc),
		cmocka_unit_test_setup_teardown(test_call_msg, fix_tcp, fix_down),
		cmocka_unit_test_setup_teardown(test_concurrent, fix_tcp, fix_down),
		cmocka_unit_test_setup_teardown(test_unknown_method, fix_tcp, fix_down),
		cmocka_unit_test_setup_teardown(test_handler_error, fix_tcp, fix_down),
		cmocka_unit_test_setup_teardown(test_typed_method, fix_tcp, fix_down),
		cmocka_unit_test_setup_teardown(test_timeout_then_serves, fix_tcp, fix_down),
		cmocka_unit_test_setup_teardown(test_bad_arguments, fix_tcp, fix_down),
		cmocka_unit_test(test_oversize_request),
		cmocka_unit_test_setup_teardown(test_garbage_and_truncated_frames, fix_tcp, fix_down),
		cmocka_unit_test_setup_teardown(test_method_with_nul, fix_tcp, fix_down),
		cmocka_unit_test(test_connection_bound),
		cmocka_unit_test(test_insecure_refused),
		cmocka_unit_test_setup_teardown(test_address_in_use, fix_tcp, fix_down),
		cmocka_unit_test(test_nothing_listens),
		cmocka_unit_test(test_server_close_in_flight),
		cmocka_unit_test(test_client_close_in_flight),
		cmocka_unit_test(test_client_shutdown_in_flight),
		cmocka_unit_test_setup_teardown(test_latency_print, fix_tcp, fix_down),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
