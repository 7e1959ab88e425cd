/* Internals shared by rpc_server.c, rpc_client.c and rpc_auth.c (and their tests): NNG
 * error translation, url and TLS configuration checks, and the application-layer caller
 * assertion (Envelope.auth) — the signer a client holds and the verifier a server holds. */
#ifndef CSB_COMMON_INTERNAL_RPC_INTERNAL_H
#define CSB_COMMON_INTERNAL_RPC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/x509_crt.h>
#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "common/err.h"
#include "common/rpc.h"
#include "proto/envelope.pb-c.h"

#define CSB__RPC_PRINCIPAL_MAX 65       /* a CN (at most 64 bytes) and its NUL */
#define CSB__RPC_AUTH_LIFETIME_MS (60u * 60 * 1000)     /* what a client signs for */
#define CSB__RPC_AUTH_RENEW_MS (5u * 60 * 1000)         /* re-sign this long before expiry */
#define CSB__RPC_AUTH_MAX_LIFETIME_MS (24u * 60 * 60 * 1000) /* longest a server accepts */
#define CSB__RPC_PEM_MAX (64u << 10)    /* bytes of a certificate, key or CA file */

/* What a TLS listener lets each caller do, decided from the verified certificate at the
 * end of the handshake, before the caller's first message. Reference counted: held by the
 * listener's configuration and each of its connections. */
typedef struct csb__rpc_admit csb__rpc_admit;

typedef struct csb__rpc_admit_opts {
	const char *self;       /* the listener's own principal (copied): trusted */
	size_t max_msg;         /* bytes of one message from a trusted caller */
	size_t peer_max_msg;    /* bytes of one message from any other caller */
	unsigned peer_conns;    /* connections one other caller may hold */
	bool (*trusted)(void *ctx, const char *principal); /* may be NULL: see rpc.h */
	void *ctx;
	unsigned trust_memo_ms; /* how long an answer of trusted() is reused; 0 = 1000 */
} csb__rpc_admit_opts;

/* A new admission (one reference). CSB_OK, CSB_EINVAL, CSB_ENOMEM. */
csb_err csb__rpc_admit_new(const csb__rpc_admit_opts *o, csb__rpc_admit **out);

/* After this returns, trusted() is never called again: later callers are trusted only
 * when they are self. Idempotent; NULL is a no-op. */
void csb__rpc_admit_close(csb__rpc_admit *a);

/* Drops one reference; the last frees a. NULL is a no-op. */
void csb__rpc_admit_release(csb__rpc_admit *a);

/* NNG_* (0 included) to csb_err. */
csb_err csb__rpc_nng_err(int rv);

/* Checks url against the options: *tls is set for tls+tcp://; tcp:// and ipc:// need
 * allow_insecure; tls+tcp:// needs all three files. CSB_OK or CSB_EINVAL. */
csb_err csb__rpc_url_check(const char *url, bool allow_insecure, const csb_tls_files *f,
                           bool *tls);

/* True when all three files are named. */
bool csb__rpc_tls_given(const csb_tls_files *f);

/* Builds an nng TLS configuration for mode on csbackup's engine (rpc_tls_engine.c): TLS 1.2
 * with ECDHE AEAD suites only, peer verification required against f->ca, own certificate
 * f->cert with key f->key; a client also checks the server's certificate against
 * server_name; a listener admits its callers through admit (held; may be NULL). *out
 * holds one reference (nng_tls_config_free()).
 * Returns CSB_OK, CSB_ETLS (a file unreadable or invalid), CSB_ENOMEM. */
csb_err csb__rpc_tls_config(nng_tls_mode mode, const csb_tls_files *f, const char *server_name,
                            csb__rpc_admit *admit, nng_tls_config **out);

/* The subject CN of crt into out, when it is a printable name that fits. */
bool csb__rpc_subject_cn(const mbedtls_x509_crt *crt, char out[CSB__RPC_PRINCIPAL_MAX]);

/* ---- The TLS engine and admission on listeners (rpc_tls_engine.c) ------------------- */

/* The suites offered and accepted, zero-terminated (MBEDTLS_TLS_* ids). */
const int *csb__rpc_tls_suites(void);

/* An empty nng TLS configuration for mode on csbackup's engine (registered here, over
 * nng's own); a server configuration admits through admit (held; may be NULL). CSB_OK,
 * CSB_ETLS (nng refused, or another engine built it), CSB_ENOMEM. */
csb_err csb__rpc_tls_config_alloc(nng_tls_mode mode, csb__rpc_admit *admit,
                                  nng_tls_config **out);

/* ---- Caller assertions (Envelope.auth) -------------------------------------------- */

/* One signed assertion with the memory its fields point into. */
typedef struct csb__rpc_auth {
	Csb__Auth msg;
	uint8_t *mem; /* cert_der, signature and audience; freed by csb__rpc_auth_free() */
} csb__rpc_auth;

void csb__rpc_auth_free(csb__rpc_auth *a);

/* A client's identity for assertions: its certificate (DER) and private key. */
typedef struct csb__rpc_signer csb__rpc_signer;

/* Loads f->cert and f->key for assertions with audience (copied). Returns CSB_OK,
 * CSB_ETLS (unreadable, invalid, or a key that does not match the certificate),
 * CSB_EINVAL, CSB_ENOMEM. */
csb_err csb__rpc_signer_open(const csb_tls_files *f, const char *audience,
                             csb__rpc_signer **out);

void csb__rpc_signer_free(csb__rpc_signer *s);

/* Signs a new assertion for audience valid until not_after_ms (wall clock) into *out
 * (csb__rpc_auth_free() it). Thread-safe. CSB_OK, CSB_ETLS, CSB_ENOMEM. */
csb_err csb__rpc_signer_sign(csb__rpc_signer *s, const char *audience, uint64_t not_after_ms,
                             csb__rpc_auth *out);

/* A copy of the current assertion for the signer's audience, re-signed when it is within
 * CSB__RPC_AUTH_RENEW_MS of expiry at now_ms. Thread-safe. CSB_OK, CSB_ETLS, CSB_ENOMEM. */
csb_err csb__rpc_signer_current(csb__rpc_signer *s, uint64_t now_ms, csb__rpc_auth *out);

/* A server's check of assertions: the deployment's CA and the audience it accepts, with a
 * cache of assertions already verified. */
typedef struct csb__rpc_verifier csb__rpc_verifier;

/* Loads ca_path for a server named audience (copied). CSB_OK, CSB_ETLS, CSB_ENOMEM. */
csb_err csb__rpc_verifier_open(const char *ca_path, const char *audience,
                               csb__rpc_verifier **out);

void csb__rpc_verifier_free(csb__rpc_verifier *v);

/* Checks a (NULL when absent) at wall time now_ms: the certificate chains to the CA and
 * may authenticate a client, the signature is the certificate key's, the audience is
 * ours, and it has not expired. On CSB_OK principal holds the certificate's CN. On
 * CSB_EDENIED err holds a one-line reason. Thread-safe. CSB_OK, CSB_EDENIED, CSB_ENOMEM. */
csb_err csb__rpc_verifier_check(csb__rpc_verifier *v, const Csb__Auth *a, uint64_t now_ms,
                                char principal[CSB__RPC_PRINCIPAL_MAX],
                                char err[CSB_RPC_ERROR_MAX]);

/* ---- Client transport --------------------------------------------------------------- */

/* Sends req as it is (method, body and auth set by the caller; request_id and deadline_ms
 * set here) and waits at most timeout_ms for the reply envelope *rep (free with
 * protobuf_c_message_free_unpacked()), whatever its status. csb_rpc_call() is built on
 * it; tests use it to send hand-made assertions. Returns the local failures of
 * csb_rpc_call(). */
csb_err csb__rpc_client_exchange(csb_rpc_client *c, Csb__Envelope *req, uint32_t timeout_ms,
                                 Csb__Envelope **rep);

/* The client's signer (NULL without TLS files), for tests. */
csb__rpc_signer *csb__rpc_client_signer(csb_rpc_client *c);

#endif
