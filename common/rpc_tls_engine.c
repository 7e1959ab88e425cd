/* csbackup's TLS engine for nng (nng/supplemental/tls/engine.h), over mbedTLS. nng 1.5.2's
 * own mbedTLS engine offers every suite mbedTLS has (CBC-SHA1, CAMELLIA, CCM_8, ...) and
 * nng_tls_config exposes neither the suites nor the peer's certificate. This one offers
 * only ECDHE AEAD suites over TLS 1.2, and on a listener it knows each connection's verified
 * principal before the first message: csb__rpc_admit bounds what that caller may send and
 * how many connections it may hold. rpc_tls.c builds every TLS configuration through
 * csb__rpc_tls_config_alloc(), which registers the engine. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crl.h>

#include "common/clock.h"
#include "common/internal/rpc_internal.h" /* nng.h, which engine.h needs first */
#include "common/log.h"

#include <nng/supplemental/tls/engine.h>

#define OWN_MAX 4    /* own certificates of one configuration */
#define SP_HEADER 8  /* nng's SP/TCP framing: an 8-byte hello, then 8-byte lengths */

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

/* ---- Admission: who may send how much ----------------------------------------------- */

/* trusted() is the application's (RBAC on its topology, under its own locks); a handshake
 * runs on one of nng's few task threads, which the application may be waiting for (closing
 * a client while holding the lock trusted() needs). So trusted() runs on a thread of the
 * admission's own, and a handshake waits for its answer at most ASK_WAIT_MS: a caller
 * without an answer by then is not trusted, on this connection. */
#define ASK_WAIT_MS 500
/* trusted()'s answers are remembered this long: a caller's reconnections (a client reset
 * after time-outs, a dialer retrying after a refusal) then do not make a handshake wait on
 * nng's task threads again. nng 1.5.2 has only 2 per core of those for all I/O of the
 * process: four handshakes waiting ASK_WAIT_MS stop every connection's traffic meanwhile. */
#define TRUST_MEMO_MS_DEFAULT 1000
#define TRUST_MEMO_MAX 32

struct ask {
	struct ask *next;
	char name[CSB__RPC_PRINCIPAL_MAX];
	bool done, answer;
	bool abandoned;              /* its handshake stopped waiting: the thread frees it */
};

struct trust_memo {
	char name[CSB__RPC_PRINCIPAL_MAX];
	bool answer;
	uint64_t until_ms;           /* csb_mono_ms() */
};

struct peer_count {
	char name[CSB__RPC_PRINCIPAL_MAX];
	unsigned conns;
};

struct csb__rpc_admit {
	atomic_uint refs;
	pthread_mutex_t mu;
	pthread_cond_t cond;         /* asks queued, answered, or closed */
	bool closed;                 /* trusted() is not called any more */
	bool calling;                /* the thread is inside trusted() */
	struct ask *head, *tail;     /* asks waiting for the thread */
	csb__rpc_admit_opts o;       /* o.self points into self */
	char self[CSB__RPC_PRINCIPAL_MAX];
	struct trust_memo memo[TRUST_MEMO_MAX]; /* trusted()'s recent answers */
	struct peer_count *peers;    /* callers not trusted, with open connections */
	size_t n_peers, cap_peers;
};

static void admit_hold(csb__rpc_admit *a)
{
	atomic_fetch_add(&a->refs, 1);
}

void csb__rpc_admit_release(csb__rpc_admit *a)
{
	if (a == NULL || atomic_fetch_sub(&a->refs, 1) != 1)
		return;
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->mu);
	free(a->peers);
	free(a);
}

/* With a->mu held: remembers trusted()'s answer for name (over the oldest entry). */
static void memo_put(csb__rpc_admit *a, const char *name, bool answer)
{
	struct trust_memo *m = &a->memo[0];

	for (unsigned i = 0; i < TRUST_MEMO_MAX; i++) {
		if (strcmp(a->memo[i].name, name) == 0) {
			m = &a->memo[i];
			break;
		}
		if (a->memo[i].until_ms < m->until_ms)
			m = &a->memo[i];
	}
	strcpy(m->name, name);
	m->answer = answer;
	m->until_ms = csb_mono_ms() + a->o.trust_memo_ms;
}

/* With a->mu held: whether trusted() answered for name lately, and what. */
static bool memo_get(csb__rpc_admit *a, const char *name, bool *answer)
{
	uint64_t now = csb_mono_ms();

	for (unsigned i = 0; i < TRUST_MEMO_MAX; i++)
		if (a->memo[i].until_ms > now && strcmp(a->memo[i].name, name) == 0) {
			*answer = a->memo[i].answer;
			return true;
		}
	return false;
}

/* Answers asks until the admission is closed; then answers the rest "no". */
static void *admit_main(void *arg)
{
	csb__rpc_admit *a = arg;
	struct ask *q;
	bool answer;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		if (a->head == NULL && !a->closed) {
			pthread_cond_wait(&a->cond, &a->mu);
			continue;
		}
		if ((q = a->head) == NULL)
			break;
		if ((a->head = q->next) == NULL)
			a->tail = NULL;
		answer = false;
		if (!a->closed) {
			a->calling = true;
			pthread_mutex_unlock(&a->mu);
			answer = a->o.trusted(a->o.ctx, q->name);
			pthread_mutex_lock(&a->mu);
			a->calling = false;
			memo_put(a, q->name, answer); /* also when its handshake stopped waiting */
		}
		if (q->abandoned) {
			free(q);
		} else {
			q->answer = answer;
			q->done = true;
		}
		pthread_cond_broadcast(&a->cond);
	}
	pthread_mutex_unlock(&a->mu);
	csb__rpc_admit_release(a);
	return NULL;
}

csb_err csb__rpc_admit_new(const csb__rpc_admit_opts *o, csb__rpc_admit **out)
{
	pthread_condattr_t ca;
	pthread_attr_t ta;
	pthread_t thread;
	csb__rpc_admit *a;
	int rc = 0;

	if (o == NULL || o->self == NULL || strlen(o->self) >= CSB__RPC_PRINCIPAL_MAX ||
	    o->max_msg == 0 || o->peer_max_msg == 0 || o->peer_conns == 0)
		return CSB_EINVAL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return CSB_ENOMEM;
	atomic_init(&a->refs, 1);
	pthread_mutex_init(&a->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cond, &ca);
	pthread_condattr_destroy(&ca);
	a->o = *o;
	if (a->o.trust_memo_ms == 0)
		a->o.trust_memo_ms = TRUST_MEMO_MS_DEFAULT;
	strcpy(a->self, o->self);
	a->o.self = a->self;
	if (o->trusted != NULL) {
		admit_hold(a); /* the thread's */
		pthread_attr_init(&ta);
		pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&thread, &ta, admit_main, a);
		pthread_attr_destroy(&ta);
	}
	if (rc != 0) {
		atomic_store(&a->refs, 1);
		csb__rpc_admit_release(a);
		return CSB_ENOMEM;
	}
	*out = a;
	return CSB_OK;
}

void csb__rpc_admit_close(csb__rpc_admit *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	a->closed = true;
	pthread_cond_broadcast(&a->cond);
	while (a->calling)
		pthread_cond_wait(&a->cond, &a->mu);
	pthread_mutex_unlock(&a->mu);
}

/* With a->mu held: whether the application trusts name, asked on the admission's thread
 * and waited for at most ASK_WAIT_MS. */
static bool ask_trusted(csb__rpc_admit *a, const char *name)
{
	struct timespec until;
	struct ask *q;
	bool answer;

	if (a->closed || a->o.trusted == NULL)
		return false;
	if (memo_get(a, name, &answer))
		return answer;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return false;
	strcpy(q->name, name);
	if (a->tail != NULL)
		a->tail->next = q;
	else
		a->head = q;
	a->tail = q;
	pthread_cond_broadcast(&a->cond);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ASK_WAIT_MS / 1000;
	until.tv_nsec += (long)(ASK_WAIT_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!q->done && pthread_cond_timedwait(&a->cond, &a->mu, &until) == 0)
		;
	if (!q->done) {
		q->abandoned = true;
		csb_warn("rpc", "admission without an answer listener=%s peer=%s wait_ms=%d "
		         "reason=\"not trusted on this connection\"",
		         a->self, name, ASK_WAIT_MS);
		return false;
	}
	answer = q->answer;
	free(q);
	return answer;
}

/* With a->mu held: one more connection of name, unless it has peer_conns already. */
static bool peer_add(csb__rpc_admit *a, const char *name, unsigned *conns)
{
	struct peer_count *p;
	size_t i;

	for (i = 0; i < a->n_peers && strcmp(a->peers[i].name, name) != 0; i++)
		;
	if (i == a->n_peers) {
		if (a->n_peers == a->cap_peers) {
			size_t cap = a->cap_peers ? 2 * a->cap_peers : 8;

			if ((p = realloc(a->peers, cap * sizeof(*p))) == NULL)
				return false;
			a->peers = p;
			a->cap_peers = cap;
		}
		strcpy(a->peers[i].name, name);
		a->peers[i].conns = 0;
		a->n_peers++;
	}
	*conns = a->peers[i].conns;
	if (a->peers[i].conns >= a->o.peer_conns)
		return false;
	a->peers[i].conns++;
	return true;
}

static void peer_remove(csb__rpc_admit *a, const char *name)
{
	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; i < a->n_peers; i++) {
		if (strcmp(a->peers[i].name, name) != 0)
			continue;
		if (--a->peers[i].conns == 0)
			a->peers[i] = a->peers[--a->n_peers];
		break;
	}
	pthread_mutex_unlock(&a->mu);
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
	csb__rpc_admit *admit;       /* a listener's, held; NULL on a client */
};

struct nng_tls_engine_conn {
	mbedtls_ssl_context ssl;
	csb__rpc_admit *admit;       /* held; NULL on a client */
	bool counted;                /* holds one of admit's connections of peer */
	char peer[CSB__RPC_PRINCIPAL_MAX];
	size_t max_msg;              /* what peer may send in one message */
	uint8_t hdr[SP_HEADER];      /* the hello or a length, as it arrives */
	unsigned hdr_got;
	bool hello_done;
	uint64_t body_left;          /* bytes of the current message still to come */
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
	if (cfg->admit != NULL) {
		admit_hold(cfg->admit);
		ec->admit = cfg->admit;
	}
	return 0;
}

static void conn_fini(nng_tls_engine_conn *ec)
{
	mbedtls_ssl_free(&ec->ssl);
	if (ec->counted)
		peer_remove(ec->admit, ec->peer);
	csb__rpc_admit_release(ec->admit);
}

static void conn_close(nng_tls_engine_conn *ec)
{
	(void)mbedtls_ssl_close_notify(&ec->ssl); /* best effort; the transport closes */
}

/* At the end of a listener's handshake: the peer's bound, and its connection counted
 * unless it is trusted. Trust is decided once per connection. */
static int conn_admit(nng_tls_engine_conn *ec)
{
	const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(&ec->ssl);
	csb__rpc_admit *a = ec->admit;
	unsigned conns = 0;
	bool trusted, ok = true;

	if (crt == NULL || !csb__rpc_subject_cn(crt, ec->peer))
		return NNG_EPEERAUTH;
	pthread_mutex_lock(&a->mu);
	trusted = strcmp(ec->peer, a->self) == 0 || ask_trusted(a, ec->peer);
	if (trusted)
		ec->max_msg = a->o.max_msg;
	else if ((ok = ec->counted = peer_add(a, ec->peer, &conns)))
		ec->max_msg = a->o.peer_max_msg;
	pthread_mutex_unlock(&a->mu);
	if (!ok) {
		csb_warn("rpc", "connection refused listener=%s peer=%s conns=%u max=%u reason=\"too "
		         "many connections of one caller\"",
		         a->self, ec->peer, conns, a->o.peer_conns);
		return NNG_EPEERAUTH;
	}
	return 0;
}

static int conn_handshake(nng_tls_engine_conn *ec)
{
	int rv = mbedtls_ssl_handshake(&ec->ssl);

	if (rv == MBEDTLS_ERR_SSL_WANT_READ || rv == MBEDTLS_ERR_SSL_WANT_WRITE)
		return NNG_EAGAIN;
	if (rv != 0)
		return nng_err(rv);
	return ec->admit != NULL ? conn_admit(ec) : 0;
}

/* Follows the framing of what a listener's peer sends (the hello, then a length before
 * each message) and refuses a message over the peer's bound as soon as its length
 * arrives: nng would otherwise allocate it and keep every byte that comes. */
static int conn_meter(nng_tls_engine_conn *ec, const uint8_t *p, size_t n)
{
	uint64_t len = 0;

	while (n > 0) {
		size_t k;

		if (ec->body_left > 0) {
			k = ec->body_left < n ? (size_t)ec->body_left : n;
			ec->body_left -= k;
			p += k;
			n -= k;
			continue;
		}
		k = SP_HEADER - ec->hdr_got < n ? SP_HEADER - ec->hdr_got : n;
		memcpy(ec->hdr + ec->hdr_got, p, k);
		ec->hdr_got += (unsigned)k;
		p += k;
		n -= k;
		if (ec->hdr_got < SP_HEADER)
			break;
		ec->hdr_got = 0;
		if (!ec->hello_done) {
			ec->hello_done = true;
			continue;
		}
		for (unsigned i = 0; i < SP_HEADER; i++)
			len = len << 8 | ec->hdr[i];
		if (len > ec->max_msg) {
			csb_warn("rpc", "connection dropped listener=%s peer=%s bytes=%" PRIu64
			         " max=%zu reason=\"message over the caller's bound\"",
			         ec->admit->self, ec->peer, len, ec->max_msg);
			return NNG_EMSGSIZE;
		}
		ec->body_left = len;
		len = 0;
	}
	return 0;
}

static int conn_recv(nng_tls_engine_conn *ec, uint8_t *buf, size_t *szp)
{
	int rv = mbedtls_ssl_read(&ec->ssl, buf, *szp);

	if (rv == MBEDTLS_ERR_SSL_WANT_READ || rv == MBEDTLS_ERR_SSL_WANT_WRITE)
		return NNG_EAGAIN;
	if (rv < 0)
		return nng_err(rv);
	*szp = (size_t)rv;
	return ec->admit != NULL ? conn_meter(ec, buf, (size_t)rv) : 0;
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

/* The admission of the listener whose configuration this thread is allocating. */
static _Thread_local csb__rpc_admit *tl_admit;
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
	csb__rpc_admit_release(cfg->admit);
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
	if (server && tl_admit != NULL) {
		admit_hold(tl_admit);
		cfg->admit = tl_admit;
	}
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

csb_err csb__rpc_tls_config_alloc(nng_tls_mode mode, csb__rpc_admit *admit,
                                  nng_tls_config **out)
{
	int rv;

	/* nng's initialisation registers its own engine: let it run first, then take over
	 * (again, should anything have finalised nng meanwhile). */
	(void)nng_tls_engine_name();
	if ((rv = nng_tls_engine_register(&engine)) != 0)
		return csb__rpc_nng_err(rv);
	tl_admit = admit;
	tl_ours = false;
	rv = nng_tls_config_alloc(out, mode);
	tl_admit = NULL;
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
