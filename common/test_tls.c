/* tt_open() and tt_close(): see test_tls.h. */
#include "common/test_tls.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static int rng(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	return getrandom(buf, len, 0) == (ssize_t)len ? 0 : -1;
}

int tt_open(tt_conn *t, int port, const char *ca, const char *cert, const char *key,
            const char *server_name, int suite)
{
	char port_s[16];
	int rv;

	memset(t, 0, sizeof(*t));
	mbedtls_net_init(&t->net);
	mbedtls_ssl_init(&t->ssl);
	mbedtls_ssl_config_init(&t->conf);
	mbedtls_x509_crt_init(&t->ca);
	mbedtls_x509_crt_init(&t->own);
	mbedtls_pk_init(&t->key);
	assert_int_equal(mbedtls_x509_crt_parse_file(&t->ca, ca), 0);
	assert_int_equal(mbedtls_x509_crt_parse_file(&t->own, cert), 0);
	assert_int_equal(mbedtls_pk_parse_keyfile(&t->key, key, NULL), 0);
	assert_int_equal(mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT,
	                                             MBEDTLS_SSL_TRANSPORT_STREAM,
	                                             MBEDTLS_SSL_PRESET_DEFAULT),
	                 0);
	mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
	assert_int_equal(mbedtls_ssl_conf_own_cert(&t->conf, &t->own, &t->key), 0);
	mbedtls_ssl_conf_rng(&t->conf, rng, NULL);
	if (suite != 0) {
		t->suites[0] = suite;
		mbedtls_ssl_conf_ciphersuites(&t->conf, t->suites);
	}
	assert_int_equal(mbedtls_ssl_setup(&t->ssl, &t->conf), 0);
	assert_int_equal(mbedtls_ssl_set_hostname(&t->ssl, server_name), 0);
	snprintf(port_s, sizeof(port_s), "%d", port);
	assert_int_equal(mbedtls_net_connect(&t->net, "127.0.0.1", port_s, MBEDTLS_NET_PROTO_TCP),
	                 0);
	mbedtls_ssl_set_bio(&t->ssl, &t->net, mbedtls_net_send, mbedtls_net_recv, NULL);
	while ((rv = mbedtls_ssl_handshake(&t->ssl)) == MBEDTLS_ERR_SSL_WANT_READ ||
	       rv == MBEDTLS_ERR_SSL_WANT_WRITE)
		;
	return rv;
}

int tt_sp_announce(tt_conn *t, uint64_t len)
{
	static const uint8_t hello[8] = {0, 'S', 'P', 0, 0, 0x30, 0, 0};
	uint8_t be[8];
	int rv;

	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(len >> (56 - 8 * i));
	if ((rv = mbedtls_ssl_write(&t->ssl, hello, sizeof(hello))) < 0)
		return rv;
	return mbedtls_ssl_write(&t->ssl, be, sizeof(be));
}

bool tt_ended(tt_conn *t, uint32_t ms)
{
	uint8_t b[64];
	int rv;

	mbedtls_ssl_conf_read_timeout(&t->conf, ms);
	mbedtls_ssl_set_bio(&t->ssl, &t->net, mbedtls_net_send, NULL, mbedtls_net_recv_timeout);
	/* The listener's SP hello comes first; then the end, or nothing. */
	while ((rv = mbedtls_ssl_read(&t->ssl, b, sizeof(b))) > 0)
		;
	return rv != MBEDTLS_ERR_SSL_TIMEOUT;
}

void tt_close(tt_conn *t)
{
	mbedtls_ssl_close_notify(&t->ssl);
	mbedtls_net_free(&t->net);
	mbedtls_ssl_free(&t->ssl);
	mbedtls_ssl_config_free(&t->conf);
	mbedtls_x509_crt_free(&t->ca);
	mbedtls_x509_crt_free(&t->own);
	mbedtls_pk_free(&t->key);
}
