/* Tests of the RPC layer over tls+tcp:// with certificates made at run time: the caller's
 * principal, refused handshakes (foreign CA, wrong server name), refused assertions
 * (tampered, wrong audience, expired, foreign CA, missing), hostile bytes on the TLS port,
 * the cipher suites offered on both sides, and the bounds on callers that are not trusted.
 *
 * Exact codes: a peer whose certificate the other side refuses never gets a connection,
 * nng keeps redialing in the background and reports nothing, so the call ends with
 * CSB_ETIMEDOUT. Opening a client or server for tls+tcp:// without the three file names is
 * CSB_EINVAL; named files that are missing, unparsable or mismatched are CSB_ETLS. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include <mbedtls/ssl.h>

#include "common/certs.h"
#include "common/clock.h"
#include "common/internal/rpc_internal.h"
#include "common/rpc.h"
#include "common/test_tls.h"

#define T_OK 5000
#define T_REFUSED 1000
#define SERVER_NAME "pool01.csb.test"

static char dir[512];
static atomic_int handler_calls;
static csb_rpc_server *srv;
static char url[128];

static const char *path(const char *name)
{
	static char bufs[16][600];
	static int next;
	char *p = bufs[next++ % 16];

	snprintf(p, 600, "%s/%s", dir, name);
	return p;
}

static csb_tls_files files(const char *who, const char *ca)
{
	char c[64], k[64];

	snprintf(c, sizeof(c), "%s.crt", who);
	snprintf(k, sizeof(k), "%s.key", who);
	return (csb_tls_files){.cert = path(c), .key = path(k), .ca = path(ca)};
}

static csb_err h_whoami(void *ctx, const csb_rpc_request *req, csb_rpc_reply *rep)
{
	size_t n = strlen(req->principal);

	(void)ctx;
	atomic_fetch_add(&handler_calls, 1);
	if ((rep->body = malloc(n + 1)) == NULL)
		return CSB_ENOMEM;
	memcpy(rep->body, req->principal, n);
	rep->body_len = n;
	return CSB_OK;
}

static const csb_rpc_method methods[] = {{.name = "test.Who/Am", .fn = h_whoami}};

/* The group server trusts "admin" (and itself); "pool02.csb.test" is a caller it does not
 * trust. */
static atomic_int trusted_calls;

static bool trust_admin(void *ctx, const char *principal)
{
	(void)ctx;
	atomic_fetch_add(&trusted_calls, 1);
	return strcmp(principal, "admin") == 0;
}

static int group_setup(void **state)
{
	const char *base = getenv("TEST_TMPDIR");
	csb_rpc_server_opts so = {.url = "tls+tcp://127.0.0.1:0", .name = SERVER_NAME,
	                          .workers = 4, .trusted = trust_admin,
	                          .trust_memo_ms = 600000};

	(void)state;
	snprintf(dir, sizeof(dir), "%s/rpc_tls_test.XXXXXX", base != NULL ? base : "/tmp");
	if (mkdtemp(dir) == NULL ||
	    csb_certs_make_ca(path("ca.crt"), path("ca.key"), "csb test CA") != CSB_OK ||
	    csb_certs_issue(path("ca.crt"), path("ca.key"), SERVER_NAME, path("pool.crt"),
	                    path("pool.key")) != CSB_OK ||
	    csb_certs_issue(path("ca.crt"), path("ca.key"), "admin", path("admin.crt"),
	                    path("admin.key")) != CSB_OK ||
	    csb_certs_issue(path("ca.crt"), path("ca.key"), "pool02.csb.test", path("other.crt"),
	                    path("other.key")) != CSB_OK ||
	    csb_certs_issue(path("ca.crt"), path("ca.key"), "pool03.csb.test", path("third.crt"),
	                    path("third.key")) != CSB_OK ||
	    csb_certs_make_ca(path("evil.crt"), path("evil.key"), "evil CA") != CSB_OK ||
	    csb_certs_issue(path("evil.crt"), path("evil.key"), "mallory", path("mallory.crt"),
	                    path("mallory.key")) != CSB_OK)
		return -1;
	so.tls = files("pool", "ca.crt");
	if (csb_rpc_server_start(&so, methods, 1, &srv) != CSB_OK)
		return -1;
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", csb_rpc_server_port(srv));
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	csb_rpc_server_close(srv);
	return 0;
}

static csb_rpc_client *client(const char *who, const char *ca, const char *server_name)
{
	csb_rpc_client_opts co = {.url = url, .server_name = server_name, .tls = files(who, ca)};
	csb_rpc_client *c = NULL;

	assert_int_equal(csb_rpc_client_open(&co, &c), CSB_OK);
	return c;
}

static csb_err whoami(csb_rpc_client *c, uint32_t timeout_ms, char *out, size_t n)
{
	uint8_t *body = NULL;
	size_t len = 0;
	csb_err rv;

	rv = csb_rpc_call(c, "test.Who/Am", NULL, 0, timeout_ms, &body, &len, NULL);
	if (rv == CSB_OK)
		snprintf(out, n, "%.*s", (int)len, (const char *)body);
	free(body);
	return rv;
}

/* Sends a hand-made assertion (or none) through c and returns the reply's status. */
static csb_err send_auth(csb_rpc_client *c, const Csb__Auth *auth, char err[CSB_RPC_ERROR_MAX])
{
	Csb__Envelope req = CSB__ENVELOPE__INIT, *rep = NULL;
	csb_err rv;

	req.method = "test.Who/Am";
	req.auth = (Csb__Auth *)auth;
	assert_int_equal(csb__rpc_client_exchange(c, &req, T_OK, &rep), CSB_OK);
	rv = (csb_err)rep->status;
	snprintf(err, CSB_RPC_ERROR_MAX, "%s", rep->error);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return rv;
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void test_principal_is_cn(void **state)
{
	csb_rpc_client *c = client("admin", "ca.crt", SERVER_NAME);
	char who[80] = "";

	(void)state;
	assert_int_equal(whoami(c, T_OK, who, sizeof(who)), CSB_OK);
	assert_string_equal(who, "admin");
	/* The second call is served from the verified-assertion cache: same answer. */
	assert_int_equal(whoami(c, T_OK, who, sizeof(who)), CSB_OK);
	assert_string_equal(who, "admin");
	csb_rpc_client_close(c);
}

static void test_foreign_ca_client_refused(void **state)
{
	csb_rpc_client *c = client("mallory", "ca.crt", SERVER_NAME);
	int before = atomic_load(&handler_calls);
	char who[80];

	(void)state;
	assert_int_equal(whoami(c, T_REFUSED, who, sizeof(who)), CSB_ENOTCONN);
	assert_int_equal(atomic_load(&handler_calls), before);
	csb_rpc_client_close(c);
}

static void test_server_name_mismatch(void **state)
{
	csb_rpc_client *c = client("admin", "ca.crt", "pool02.csb.test");
	int before = atomic_load(&handler_calls);
	char who[80];

	(void)state;
	assert_int_equal(whoami(c, T_REFUSED, who, sizeof(who)), CSB_ENOTCONN);
	assert_int_equal(atomic_load(&handler_calls), before);
	csb_rpc_client_close(c);
}

static void test_client_files(void **state)
{
	csb_rpc_client_opts co = {.url = url, .server_name = SERVER_NAME};
	csb_rpc_client *c = NULL;

	(void)state;
	assert_int_equal(csb_rpc_client_open(&co, &c), CSB_EINVAL);
	co.tls = files("admin", "ca.crt");
	co.tls.key = NULL;
	assert_int_equal(csb_rpc_client_open(&co, &c), CSB_EINVAL);
	co.tls = files("nobody", "ca.crt");
	assert_int_equal(csb_rpc_client_open(&co, &c), CSB_ETLS);
	co.tls = files("admin", "ca.crt");
	co.tls.key = path("mallory.key");
	assert_int_equal(csb_rpc_client_open(&co, &c), CSB_ETLS);
	co.tls = files("admin", "ca.crt");
	co.tls.ca = path("admin.key");
	assert_int_equal(csb_rpc_client_open(&co, &c), CSB_ETLS);
	co.tls = files("admin", "ca.crt");
	co.server_name = NULL;
	assert_int_equal(csb_rpc_client_open(&co, &c), CSB_EINVAL);
	assert_null(c);
}

static void test_server_files(void **state)
{
	csb_rpc_server_opts so = {.url = "tls+tcp://127.0.0.1:0", .name = SERVER_NAME};
	csb_rpc_server *s = NULL;

	(void)state;
	so.tls = files("nobody", "ca.crt");
	assert_int_equal(csb_rpc_server_start(&so, methods, 1, &s), CSB_ETLS);
	so.tls = files("pool", "nobody.crt");
	assert_int_equal(csb_rpc_server_start(&so, methods, 1, &s), CSB_ETLS);
	so.tls = files("pool", "ca.crt");
	so.name = NULL;
	assert_int_equal(csb_rpc_server_start(&so, methods, 1, &s), CSB_EINVAL);
	assert_null(s);
}

static void test_tampered_signature(void **state)
{
	csb_rpc_client *c = client("admin", "ca.crt", SERVER_NAME);
	csb__rpc_auth a;
	char err[CSB_RPC_ERROR_MAX];
	int before = atomic_load(&handler_calls);

	(void)state;
	assert_int_equal(csb__rpc_signer_current(csb__rpc_client_signer(c), csb_now_ms(), &a), CSB_OK);
	assert_int_equal(send_auth(c, &a.msg, err), CSB_OK);
	a.msg.signature.data[a.msg.signature.len - 1] ^= 0x01;
	assert_int_equal(send_auth(c, &a.msg, err), CSB_EDENIED);
	assert_string_equal(err, "assertion signature invalid");
	/* A valid signature over a later expiry than the one sent. */
	a.msg.signature.data[a.msg.signature.len - 1] ^= 0x01;
	a.msg.not_after_ms += 1000;
	assert_int_equal(send_auth(c, &a.msg, err), CSB_EDENIED);
	assert_string_equal(err, "assertion signature invalid");
	csb__rpc_auth_free(&a);
	assert_int_equal(atomic_load(&handler_calls), before + 1);
	csb_rpc_client_close(c);
}

static void test_wrong_audience_and_expiry(void **state)
{
	csb_rpc_client *c = client("admin", "ca.crt", SERVER_NAME);
	csb__rpc_signer *s = csb__rpc_client_signer(c);
	uint64_t now = csb_now_ms();
	int before = atomic_load(&handler_calls);
	char err[CSB_RPC_ERROR_MAX];
	csb__rpc_auth a;

	(void)state;
	assert_int_equal(csb__rpc_signer_sign(s, "pool02.csb.test", now + 3600000, &a), CSB_OK);
	assert_int_equal(send_auth(c, &a.msg, err), CSB_EDENIED);
	assert_string_equal(err, "assertion audience 'pool02.csb.test' is not this server");
	csb__rpc_auth_free(&a);

	assert_int_equal(csb__rpc_signer_sign(s, SERVER_NAME, now - 1000, &a), CSB_OK);
	assert_int_equal(send_auth(c, &a.msg, err), CSB_EDENIED);
	assert_string_equal(err, "assertion expired");
	csb__rpc_auth_free(&a);

	assert_int_equal(csb__rpc_signer_sign(s, SERVER_NAME, now + 48ull * 3600000, &a), CSB_OK);
	assert_int_equal(send_auth(c, &a.msg, err), CSB_EDENIED);
	assert_string_equal(err, "assertion lifetime over 24 h");
	csb__rpc_auth_free(&a);

	assert_int_equal(send_auth(c, NULL, err), CSB_EDENIED);
	assert_string_equal(err, "no caller assertion (Envelope.auth)");
	assert_int_equal(atomic_load(&handler_calls), before);
	csb_rpc_client_close(c);
}

/* mallory cannot connect, but could hand its assertion to someone who can. */
static void test_foreign_ca_assertion(void **state)
{
	csb_rpc_client *c = client("admin", "ca.crt", SERVER_NAME);
	csb_tls_files mf = files("mallory", "ca.crt");
	char err[CSB_RPC_ERROR_MAX];
	csb__rpc_signer *ms;
	csb__rpc_auth a;

	(void)state;
	assert_int_equal(csb__rpc_signer_open(&mf, SERVER_NAME, &ms), CSB_OK);
	assert_int_equal(csb__rpc_signer_current(ms, csb_now_ms(), &a), CSB_OK);
	assert_int_equal(send_auth(c, &a.msg, err), CSB_EDENIED);
	assert_string_equal(err, "certificate not signed by the deployment CA");
	csb__rpc_auth_free(&a);
	csb__rpc_signer_free(ms);
	csb_rpc_client_close(c);
}

/* The cache never vouches for fields that were not verified together. */
static void test_verifier_cache(void **state)
{
	csb_tls_files af = files("admin", "ca.crt");
	char principal[CSB__RPC_PRINCIPAL_MAX], err[CSB_RPC_ERROR_MAX];
	csb__rpc_verifier *v;
	csb__rpc_signer *s;
	csb__rpc_auth a;
	uint64_t now = csb_now_ms();

	(void)state;
	assert_int_equal(csb__rpc_verifier_open(path("ca.crt"), SERVER_NAME, &v), CSB_OK);
	assert_int_equal(csb__rpc_signer_open(&af, SERVER_NAME, &s), CSB_OK);
	assert_int_equal(csb__rpc_signer_current(s, now, &a), CSB_OK);
	assert_int_equal(csb__rpc_verifier_check(v, &a.msg, now, principal, err), CSB_OK);
	assert_string_equal(principal, "admin");
	assert_int_equal(csb__rpc_verifier_check(v, &a.msg, now, principal, err), CSB_OK);
	assert_string_equal(principal, "admin");
	a.msg.not_after_ms += 1;
	assert_int_equal(csb__rpc_verifier_check(v, &a.msg, now, principal, err), CSB_EDENIED);
	assert_string_equal(err, "assertion signature invalid");
	assert_string_equal(principal, "");
	a.msg.not_after_ms -= 1;
	/* Past its expiry a cached assertion is refused too. */
	assert_int_equal(csb__rpc_verifier_check(v, &a.msg, a.msg.not_after_ms, principal, err),
	                 CSB_EDENIED);
	assert_string_equal(err, "assertion expired");
	csb__rpc_auth_free(&a);
	csb__rpc_signer_free(s);
	csb__rpc_verifier_free(v);
}

static void raw_garbage(int port, const void *data, size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_sec = 3};
	char sink[256];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	while (read(fd, sink, sizeof(sink)) > 0)
		;
	close(fd);
}

static void test_garbage_on_tls_port(void **state)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	/* A TLS record header announcing a handshake, then noise. */
	uint8_t noise[2048] = {0x16, 0x03, 0x01, 0x07, 0xf0};
	csb_rpc_client *c;
	char who[80] = "";

	(void)state;
	for (size_t i = 5; i < sizeof(noise); i++)
		noise[i] = (uint8_t)rand();
	raw_garbage(csb_rpc_server_port(srv), http, sizeof(http) - 1);
	raw_garbage(csb_rpc_server_port(srv), noise, sizeof(noise));
	c = client("admin", "ca.crt", SERVER_NAME);
	assert_int_equal(whoami(c, T_OK, who, sizeof(who)), CSB_OK);
	assert_string_equal(who, "admin");
	csb_rpc_client_close(c);
}

static double per_call_us(csb_rpc_client *c, unsigned n)
{
	char who[80];
	uint64_t t0;

	assert_int_equal(whoami(c, T_OK, who, sizeof(who)), CSB_OK);
	t0 = csb_mono_us();
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(whoami(c, T_OK, who, sizeof(who)), CSB_OK);
	return (double)(csb_mono_us() - t0) / n;
}

/* Not an assertion: µs per small call on loopback after the handshake, over TLS, and over
 * plain tcp:// with the same assertions (what TLS itself costs). */
static void test_latency_print(void **state)
{
	csb_rpc_server_opts so = {.url = "tcp://127.0.0.1:0", .name = SERVER_NAME, .workers = 4,
	                          .tls = files("pool", "ca.crt"), .allow_insecure = true};
	csb_rpc_client_opts co = {.server_name = SERVER_NAME, .tls = files("admin", "ca.crt"),
	                          .allow_insecure = true};
	csb_rpc_client *c = client("admin", "ca.crt", SERVER_NAME);
	csb_rpc_server *plain;
	char plain_url[64];
	unsigned n = 1000;
	double tls_us, plain_us;

	(void)state;
	tls_us = per_call_us(c, n);
	csb_rpc_client_close(c);
	assert_int_equal(csb_rpc_server_start(&so, methods, 1, &plain), CSB_OK);
	snprintf(plain_url, sizeof(plain_url), "tcp://127.0.0.1:%d", csb_rpc_server_port(plain));
	co.url = plain_url;
	assert_int_equal(csb_rpc_client_open(&co, &c), CSB_OK);
	plain_us = per_call_us(c, n);
	csb_rpc_client_close(c);
	csb_rpc_server_close(plain);
	printf("rpc latency loopback, %u calls: tls+tcp %.1f us/call, tcp with assertions %.1f "
	       "us/call, ratio %.2f\n",
	       n, tls_us, plain_us, tls_us / plain_us);
}

/* ---- Cipher suites ---------------------------------------------------------------------- */

/* A TLS 1.2 handshake as "admin" offering only suite; mbedTLS's result (0: agreed). */
static int handshake_with(int suite)
{
	tt_conn t;
	int rv = tt_open(&t, csb_rpc_server_port(srv), path("ca.crt"), path("admin.crt"),
	                 path("admin.key"), SERVER_NAME, suite);

	tt_close(&t);
	return rv;
}

/* The listener agrees on ECDHE AEAD suites and refuses CBC-SHA1, CAMELLIA and CCM_8 ones,
 * which nng's own engine offered. */
static void test_listener_suites(void **state)
{
	static const int refused[] = {
		MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
		MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
		MBEDTLS_TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256,
		MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
		MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CCM,
	};

	(void)state;
	assert_int_equal(handshake_with(MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), 0);
	assert_int_equal(handshake_with(MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384), 0);
	assert_int_equal(handshake_with(MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256), 0);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (handshake_with(refused[i]) != MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE)
			fail_msg("suite 0x%04x was agreed on", refused[i]);
}

/* What a client offers, read from its ClientHello: exactly csb__rpc_tls_suites(). */
static void test_client_suites(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	struct timeval tv = {.tv_sec = 5};
	uint8_t rec[4096];
	char curl[64];
	csb_rpc_client_opts co = {.url = curl, .server_name = SERVER_NAME,
	                          .tls = files("admin", "ca.crt")};
	csb_rpc_client *c;
	const int *want = csb__rpc_tls_suites();
	size_t off, n_want = 0, got = 0, len;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), fd;

	(void)state;
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(curl, sizeof(curl), "tls+tcp://127.0.0.1:%d", ntohs(sa.sin_port));
	assert_int_equal(csb_rpc_client_open(&co, &c), CSB_OK);
	assert_true((fd = accept(lfd, NULL, NULL)) >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (len = 0; len < 5 || len < 5 + (size_t)(rec[3] << 8 | rec[4]);) {
		ssize_t k = read(fd, rec + len, sizeof(rec) - len);

		assert_true(k > 0);
		len += (size_t)k;
	}
	/* Record header (5), handshake header (4), version (2), random (32), session id. */
	assert_int_equal(rec[0], 0x16);
	assert_int_equal(rec[5], 0x01);
	off = 5 + 4 + 2 + 32;
	off += 1 + rec[off];
	len = (size_t)(rec[off] << 8 | rec[off + 1]);
	off += 2;
	while (want[n_want] != 0)
		n_want++;
	for (size_t i = 0; i < len; i += 2) {
		int suite = rec[off + i] << 8 | rec[off + i + 1];

		if (suite == 0x00ff) /* TLS_EMPTY_RENEGOTIATION_INFO_SCSV: not a cipher */
			continue;
		if (got >= n_want || suite != want[got])
			fail_msg("client offers suite 0x%04x at %zu", suite, got);
		got++;
	}
	assert_int_equal(got, n_want);
	assert_int_equal(n_want, 6);
	close(fd);
	close(lfd);
	csb_rpc_client_close(c);
}

/* ---- Callers that are not trusted ---------------------------------------------------------- */

static csb_err call_with_body(csb_rpc_client *c, size_t len)
{
	uint8_t *body = calloc(1, len), *reply = NULL;
	size_t rlen = 0;
	csb_err rv;

	assert_non_null(body);
	rv = csb_rpc_call(c, "test.Who/Am", body, len, T_OK, &reply, &rlen, NULL);
	free(reply);
	free(body);
	return rv;
}

/* Announces a message of len bytes as who, on a connection of its own: whether the
 * listener ends that connection within ms. */
static bool announce_ends(const char *who, uint64_t len, uint32_t ms)
{
	char crt[64], key[64];
	tt_conn t;
	bool ended;

	snprintf(crt, sizeof(crt), "%s.crt", who);
	snprintf(key, sizeof(key), "%s.key", who);
	assert_int_equal(tt_open(&t, csb_rpc_server_port(srv), path("ca.crt"), path(crt), path(key),
	                         SERVER_NAME, 0),
	                 0);
	assert_int_equal(tt_sp_announce(&t, len), 8);
	ended = tt_ended(&t, ms);
	tt_close(&t);
	return ended;
}

/* A message over CSB_RPC_PEER_MAX_MSG_DEFAULT from a caller the listener does not trust
 * ends its connection as its length arrives; a trusted caller may send it. The dropped
 * connections are hand-made (test_tls.h): an nng client whose connection is reset while it
 * sends may never redial in nng 1.5.2. */
static void test_untrusted_message_bound(void **state)
{
	csb_rpc_client *other = client("other", "ca.crt", SERVER_NAME);
	csb_rpc_client *admin = client("admin", "ca.crt", SERVER_NAME);
	int before = atomic_load(&handler_calls);
	char who[80] = "";

	(void)state;
	assert_int_equal(whoami(other, T_OK, who, sizeof(who)), CSB_OK);
	assert_string_equal(who, "pool02.csb.test");
	assert_int_equal(call_with_body(other, CSB_RPC_PEER_MAX_MSG_DEFAULT - 1024), CSB_OK);
	assert_true(announce_ends("other", CSB_RPC_PEER_MAX_MSG_DEFAULT + 1, T_OK));
	/* At the bound, and from a trusted caller over it, the connection stays. */
	assert_false(announce_ends("other", CSB_RPC_PEER_MAX_MSG_DEFAULT, T_REFUSED));
	assert_false(announce_ends("admin", 8u << 20, T_REFUSED));
	assert_int_equal(call_with_body(admin, 8u << 20), CSB_OK);
	assert_int_equal(whoami(other, T_OK, who, sizeof(who)), CSB_OK);
	assert_int_equal(atomic_load(&handler_calls), before + 4);
	csb_rpc_client_close(other);
	csb_rpc_client_close(admin);
}

/* One caller that is not trusted holds at most CSB_RPC_PEER_CONNS_DEFAULT connections; the
 * next is refused at its handshake, while others still connect. */
static void test_untrusted_connection_bound(void **state)
{
	csb_rpc_client *c[CSB_RPC_PEER_CONNS_DEFAULT + 1], *admin;
	char who[80] = "";

	(void)state;
	for (unsigned i = 0; i < CSB_RPC_PEER_CONNS_DEFAULT; i++) {
		c[i] = client("third", "ca.crt", SERVER_NAME);
		assert_int_equal(whoami(c[i], T_OK, who, sizeof(who)), CSB_OK);
	}
	c[CSB_RPC_PEER_CONNS_DEFAULT] = client("third", "ca.crt", SERVER_NAME);
	assert_int_equal(whoami(c[CSB_RPC_PEER_CONNS_DEFAULT], T_REFUSED, who, sizeof(who)),
	                 CSB_ENOTCONN); /* refused at the handshake: nothing is sent */
	admin = client("admin", "ca.crt", SERVER_NAME);
	assert_int_equal(whoami(admin, T_OK, who, sizeof(who)), CSB_OK);
	csb_rpc_client_close(admin);
	/* One leaves: the waiting one gets in. */
	csb_rpc_client_close(c[0]);
	assert_int_equal(whoami(c[CSB_RPC_PEER_CONNS_DEFAULT], T_OK, who, sizeof(who)), CSB_OK);
	for (unsigned i = 1; i <= CSB_RPC_PEER_CONNS_DEFAULT; i++)
		csb_rpc_client_close(c[i]);
}

/* A principal's reconnections reuse trusted()'s answer (the group server keeps it ten
 * minutes): a burst of handshakes never queues on the application's locks again, for a
 * caller it trusts or one it does not. */
static void test_trust_answer_reused(void **state)
{
	csb_rpc_client *c;
	char who[80] = "";
	int before;

	(void)state;
	c = client("admin", "ca.crt", SERVER_NAME); /* asked now, or by an earlier test */
	assert_int_equal(whoami(c, T_OK, who, sizeof(who)), CSB_OK);
	csb_rpc_client_close(c);
	c = client("other", "ca.crt", SERVER_NAME);
	assert_int_equal(whoami(c, T_OK, who, sizeof(who)), CSB_OK);
	csb_rpc_client_close(c);
	before = atomic_load(&trusted_calls);
	for (int i = 0; i < 3; i++) {
		c = client(i % 2 ? "other" : "admin", "ca.crt", SERVER_NAME);
		assert_int_equal(whoami(c, T_OK, who, sizeof(who)), CSB_OK);
		assert_string_equal(who, i % 2 ? "pool02.csb.test" : "admin");
		csb_rpc_client_close(c);
	}
	assert_int_equal(atomic_load(&trusted_calls), before);
	/* Still bounded as before: the reused "no" keeps the caller's message bound. */
	assert_true(announce_ends("other", CSB_RPC_PEER_MAX_MSG_DEFAULT + 1, T_OK));
	assert_false(announce_ends("admin", CSB_RPC_PEER_MAX_MSG_DEFAULT + 1, T_REFUSED));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_principal_is_cn),
		cmocka_unit_test(test_foreign_ca_client_refused),
		cmocka_unit_test(test_server_name_mismatch),
		cmocka_unit_test(test_client_files),
		cmocka_unit_test(test_server_files),
		cmocka_unit_test(test_tampered_signature),
		cmocka_unit_test(test_wrong_audience_and_expiry),
		cmocka_unit_test(test_foreign_ca_assertion),
		cmocka_unit_test(test_verifier_cache),
		cmocka_unit_test(test_garbage_on_tls_port),
		cmocka_unit_test(test_listener_suites),
		cmocka_unit_test(test_client_suites),
		cmocka_unit_test(test_untrusted_message_bound),
		cmocka_unit_test(test_untrusted_connection_bound),
		cmocka_unit_test(test_trust_answer_reused),
		cmocka_unit_test(test_latency_print),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
