/* Test helper: a TLS 1.2 client connection made with mbedTLS directly, for tests that speak
 * to a listener as csb_rpc_client never does (one cipher suite only; SP frames written by
 * hand, a connection the listener drops: nng 1.5.2 may then fail to redial or to close a
 * client, nanomsg/nng#1543). Failures of the set-up itself fail the calling cmocka test. */
#ifndef CSB_COMMON_TEST_TLS_H
#define CSB_COMMON_TEST_TLS_H

#include <stdbool.h>
#include <stdint.h>

#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>

typedef struct tt_conn {
	mbedtls_net_context net;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca, own;
	mbedtls_pk_context key;
	int suites[2];
} tt_conn;

/* Connects to 127.0.0.1:port as the principal of cert/key (PEM files), checking the
 * server's certificate against the CA file ca and server_name, offering only suite (0:
 * mbedTLS's defaults), and runs the handshake. Returns its result (0: done); close t with
 * tt_close() whatever it was. */
int tt_open(tt_conn *t, int port, const char *ca, const char *cert, const char *key,
            const char *server_name, int suite);

void tt_close(tt_conn *t);

/* Speaks nng's SP framing as a REQ peer: the hello, then the 8-byte length of a message
 * of len bytes, and nothing of its body. Returns the last mbedtls_ssl_write() result. */
int tt_sp_announce(tt_conn *t, uint64_t len);

/* Whether the peer ends the connection (close, reset or end of file) within ms; false when
 * it is still open then. */
bool tt_ended(tt_conn *t, uint32_t ms);

#endif
