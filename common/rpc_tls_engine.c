/* csbackup's TLS engine for nng (nng/supplemental/tls/engine.h), over mbedTLS. nng 1.5.2's
 * own mbedTLS engine offers every suite mbedTLS has (CBC-SHA1, CAMELLIA, CCM_8, ...) and
 * nng_tls_config exposes no setting for them. This one offers only ECDHE AEAD suites over
 * TLS 1.2. rpc_tls.c builds every TLS configuration through csb__rpc_tls_config_alloc(),
 * which registers the engine. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crl.h>

#include "common/internal/rpc_internal.h" /* nng.h, which engine.h needs first */
#include "common/log.h"

#include <nng/supplemental/tls/engine.h>

#define OWN_MAX 4    /* own certificates of one configuration */

/* Forward secrecy and authenticated encryption only, strongest first. */
static const int suites[] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	0,
};

const int *csb__rpc_tls_suites(void)
{
	return suites;
}

/* ---- Connections ---------------------------------------------------------------------- */

struct nng_tls_engine_config {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	mbedtls_x509_crl crl;
	mbedtls_x509_crt own[OWN_MAX];
	mbedtls_pk_context key[OWN_MAX];
	unsigned n_own;
	char *server_name;
};

struct nng_tls_engine_conn {
	mbedtls_ssl_context ssl;
};

static int rng(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	while (len > 0) {
		ssize_t n = getrandom(buf, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* mbedTLS codes to NNG_*: what nng's own engine answers, so the transport reacts alike. */
static int nng_err(int rv)
{
	switch (rv) {
	case MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE:
	case MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED:
	case MBEDTLS_ERR_SSL_PEER_VERIFY_FAILED:
	case MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE:
		return NNG_EPEERAUTH;
	case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
		return NNG_ECONNREFUSED;
	case MBEDTLS_ERR_SSL_ALLOC_FAILED:
		return NNG_ENOMEM;
	case MBEDTLS_ERR_SSL_TIMEOUT:
		return NNG_ETIMEDOUT;
	case MBEDTLS_ERR_SSL_CONN_EOF:
		return NNG_ECLOSED;
	default:
		return NNG_ECRYPTO;
	}
}

static int net_send(void *tls, const unsigned char *buf, size_t len)
{
	size_t n = len;

	switch (nng_tls_engine_send(tls, buf, &n)) {
	case 0:
		return (int)n;
	case NNG_EAGAIN:
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	default:
		return MBEDTLS_ERR_NET_SEND_FAILED;
	}
}

static int net_recv(void *tls, unsigned char *buf, size_t len)
{
	size_t n = len;

	switch (nng_tls_engine_recv(tls, buf, &n)) {
	case 0:
		return (int)n;
	case NNG_EAGAIN:
		return MBEDTLS_ERR_SSL_WANT_READ;
	default:
		return MBEDTLS_ERR_NET_RECV_FAILED;
	}
}

static int conn_init(nng_tls_engine_conn *ec, void *tls, nng_tls_engine_config *cfg)
{
	int rv;

	mbedtls_ssl_init(&ec->ssl);
	mbedtls_ssl_set_bio(&ec->ssl, tls, net_send, net_recv, NULL);
	if ((rv = mbedtls_ssl_setup(&ec->ssl, &cfg->conf)) != 0)
		return nng_err(rv);
	if (cfg->server_name != NULL &&
	    (rv = mbedtls_ssl_set_hostname(&ec->ssl, cfg->server_name)) != 0)
		return nng_err(rv);
	return 0;
}

static void conn_fini(nng_tls_engine_conn *ec)
{
	mbedtls_ssl_free(&ec->ssl);
}

static void conn_close(nng_tls_engine_conn *ec)
{
	(void)mbedtls_ssl_close_notify(&ec->ssl); /* best effort; the transport closes */
}

static int conn_handshake(nng_tls_engine_conn *ec)
{
	int rv = mbedtls_ssl_handshake(&ec->ssl);

	if (rv == MBEDTLS_ERR_SSL_WANT_READ || rv == MBEDTLS_ERR_SSL_WANT_WRITE)
		return NNG_EAGAIN;
	return rv != 0 ? nng_err(rv) : 0;
}

static int conn_recv(nng_tls_engine_conn *ec, uint8_t *buf, size_t *szp)
{
	int rv = mbedtls_ssl_read(&ec->ssl, buf, *szp);

	if (rv == MBEDTLS_ERR_SSL_WANT_READ || rv == MBEDTLS_ERR_SSL_WANT_WRITE)
		return NNG_EAGAIN;
	if (rv < 0)
		return nng_err(rv);
	*szp = (size_t)rv;
	return 0;
}

static int conn_send(nng_tls_engine_conn *ec, const uint8_t *buf, size_t *szp)
{
	int rv = mbedtls_ssl_write(&ec->ssl, buf, *szp);

	if (rv == MBEDTLS_ERR_SSL_WANT_READ || rv == MBEDTLS_ERR_SSL_WANT_WRITE)
		return NNG_EAGAIN;
	if (rv < 0)
		return nng_err(rv);
	*szp = (size_t)rv;
	return 0;
}

static bool conn_verified(nng_tls_engine_conn *ec)
{
	return mbedtls_ssl_get_verify_result(&ec->ssl) == 0;
}

/* ---- Configurations ------------------------------------------------------------------- */

static _Thread_local bool tl_ours; /* config_init() ran: the configuration is ours */

static void config_fini(nng_tls_engine_config *cfg)
{
	mbedtls_ssl_config_free(&cfg->conf);
	mbedtls_x509_crt_free(&cfg->ca);
	mbedtls_x509_crl_free(&cfg->crl);
	for (unsigned i = 0; i < OWN_MAX; i++) {
		mbedtls_x509_crt_free(&cfg->own[i]);
		mbedtls_pk_free(&cfg->key[i]);
	}
	free(cfg->server_name);
}

static int config_init(nng_tls_engine_config *cfg, nng_tls_mode mode)
{
	bool server = mode == NNG_TLS_MODE_SERVER;
	int rv;

	mbedtls_ssl_config_init(&cfg->conf);
	mbedtls_x509_crt_init(&cfg->ca);
	mbedtls_x509_crl_init(&cfg->crl);
	for (unsigned i = 0; i < OWN_MAX; i++) {
		mbedtls_x509_crt_init(&cfg->own[i]);
		mbedtls_pk_init(&cfg->key[i]);
	}
	rv = mbedtls_ssl_config_defaults(&cfg->conf,
	                                 server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
	                                 MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (rv != 0) {
		config_fini(cfg);
		return nng_err(rv);
	}
	mbedtls_ssl_conf_authmode(&cfg->conf,
	                          server ? MBEDTLS_SSL_VERIFY_NONE : MBEDTLS_SSL_VERIFY_REQUIRED);
	/* TLS 1.2 is the newest Debian 12's mbedTLS 2.28 speaks. */
	mbedtls_ssl_conf_min_version(&cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	                             MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_max_version(&cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	                             MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_ciphersuites(&cfg->conf, suites);
	mbedtls_ssl_conf_rng(&cfg->conf, rng, NULL);
	tl_ours = true;
	return 0;
}

static int config_server_name(nng_tls_engine_config *cfg, const char *name)
{
	char *dup = strdup(name);

	if (dup == NULL)
		return NNG_ENOMEM;
	free(cfg->server_name);
	cfg->server_name = dup;
	return 0;
}

static int config_auth_mode(nng_tls_engine_config *cfg, nng_tls_auth_mode mode)
{
	switch (mode) {
	case NNG_TLS_AUTH_MODE_NONE:
		mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_NONE);
		return 0;
	case NNG_TLS_AUTH_MODE_OPTIONAL:
		mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
		return 0;
	case NNG_TLS_AUTH_MODE_REQUIRED:
		mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
		return 0;
	}
	return NNG_EINVAL;
}

/* PEM texts come NUL-terminated; mbedTLS wants the NUL counted. */
static int config_ca_chain(nng_tls_engine_config *cfg, const char *certs, const char *crl)
{
	int rv;

	if ((rv = mbedtls_x509_crt_parse(&cfg->ca, (const uint8_t *)certs, strlen(certs) + 1)) != 0)
		return nng_err(rv);
	if (crl != NULL &&
	    (rv = mbedtls_x509_crl_parse(&cfg->crl, (const uint8_t *)crl, strlen(crl) + 1)) != 0)
		return nng_err(rv);
	mbedtls_ssl_conf_ca_chain(&cfg->conf, &cfg->ca, crl != NULL ? &cfg->crl : NULL);
	return 0;
}

static int config_own_cert(nng_tls_engine_config *cfg, const char *cert, const char *key,
                           const char *pass)
{
	unsigned i = cfg->n_own;
	int rv;

	if (i == OWN_MAX)
		return NNG_ENOSPC;
	if ((rv = mbedtls_x509_crt_parse(&cfg->own[i], (const uint8_t *)cert, strlen(cert) + 1)) !=
	        0 ||
	    (rv = mbedtls_pk_parse_key(&cfg->key[i], (const uint8_t *)key, strlen(key) + 1,
	                               (const uint8_t *)pass, pass != NULL ? strlen(pass) : 0)) !=
	        0 ||
	    (rv = mbedtls_ssl_conf_own_cert(&cfg->conf, &cfg->own[i], &cfg->key[i])) != 0) {
		mbedtls_x509_crt_free(&cfg->own[i]);
		mbedtls_pk_free(&cfg->key[i]);
		mbedtls_x509_crt_init(&cfg->own[i]);
		mbedtls_pk_init(&cfg->key[i]);
		return nng_err(rv);
	}
	cfg->n_own++;
	return 0;
}

/* Only TLS 1.2: anything older is refused, 1.3 is not in this mbedTLS. */
static int config_version(nng_tls_engine_config *cfg, nng_tls_version min_ver,
                          nng_tls_version max_ver)
{
	(void)cfg;
	if (min_ver > max_ver || min_ver > NNG_TLS_1_2 || max_ver < NNG_TLS_1_2)
		return NNG_ENOTSUP;
	return 0;
}

static nng_tls_engine_config_ops config_ops = {
	.size = sizeof(nng_tls_engine_config),
	.init = config_init,
	.fini = config_fini,
	.server = config_server_name,
	.auth = config_auth_mode,
	.ca_chain = config_ca_chain,
	.own_cert = config_own_cert,
	.version = config_version,
};

static nng_tls_engine_conn_ops conn_ops = {
	.size = sizeof(nng_tls_engine_conn),
	.init = conn_init,
	.fini = conn_fini,
	.close = conn_close,
	.recv = conn_recv,
	.send = conn_send,
	.handshake = conn_handshake,
	.verified = conn_verified,
};

static const nng_tls_engine engine = {
	.version = NNG_TLS_ENGINE_VERSION,
	.config_ops = &config_ops,
	.conn_ops = &conn_ops,
	.name = "csb-mbedtls",
	.description = "csbackup over mbedTLS: TLS 1.2, ECDHE with AES-GCM or ChaCha20-Poly1305",
	.fips_mode = false,
};

csb_err csb__rpc_tls_config_alloc(nng_tls_mode mode, nng_tls_config **out)
{
	int rv;

	/* nng's initialisation registers its own engine: let it run first, then take over
	 * (again, should anything have finalised nng meanwhile). */
	(void)nng_tls_engine_name();
	if ((rv = nng_tls_engine_register(&engine)) != 0)
		return csb__rpc_nng_err(rv);
	tl_ours = false;
	rv = nng_tls_config_alloc(out, mode);
	if (rv != 0)
		return rv == NNG_ENOMEM ? CSB_ENOMEM : CSB_ETLS;
	if (!tl_ours) {
		csb_error("rpc", "TLS configuration not built by csbackup's engine engine=%s",
		          nng_tls_engine_name());
		nng_tls_config_free(*out);
		return CSB_ETLS;
	}
	return CSB_OK;
}
