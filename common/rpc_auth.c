/* Caller assertions (Envelope.auth, see proto/envelope.proto): nng 1.5 cannot tell a
 * server its TLS peer's certificate, so a client signs "csb-auth-v1\n<audience>\n
 * <not_after_ms>\n<sha256(cert_der) hex>" with its certificate's key, and the server checks
 * chain, signature, audience and expiry, caching what it has verified. The signer lives
 * in a csb_rpc_client (rpc_client.c), the verifier in a csb_rpc_server (rpc_server.c). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

#include "common/internal/file.h"
#include "common/internal/rpc_internal.h"
#include "common/log.h"

#define CACHE_SIZE 256

struct csb__rpc_signer {
	pthread_mutex_t mtx;            /* the DRBG and cur */
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	uint8_t *cert_der;
	size_t cert_len;
	char *audience;
	csb__rpc_auth cur;              /* cur.mem == NULL until the first assertion */
};

/* One verified assertion: key is a SHA-256 over all its fields. */
struct cache_entry {
	uint8_t key[32];
	char principal[CSB__RPC_PRINCIPAL_MAX];
	uint64_t until_ms;  /* the assertion's or the certificate's end, whichever is first */
	uint64_t stamp;     /* insertion order, for evicting the oldest */
};

struct csb__rpc_verifier {
	pthread_mutex_t mtx; /* cache and stamp */
	mbedtls_x509_crt ca;
	char *audience;
	uint64_t stamp;
	struct cache_entry cache[CACHE_SIZE];
};

/* ---- Shared --------------------------------------------------------------------------- */

static void hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* SHA-256 of the signed text. */
static void auth_digest(const char *audience, uint64_t not_after_ms, const uint8_t *cert,
                        size_t cert_len, uint8_t out[32])
{
	mbedtls_sha256_context h;
	uint8_t cert_hash[32];
	char cert_hex[65], num[24];

	mbedtls_sha256_ret(cert, cert_len, cert_hash, 0);
	hex(cert_hash, sizeof(cert_hash), cert_hex);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)not_after_ms);
	mbedtls_sha256_init(&h);
	mbedtls_sha256_starts_ret(&h, 0);
	mbedtls_sha256_update_ret(&h, (const uint8_t *)"csb-auth-v1\n", 12);
	mbedtls_sha256_update_ret(&h, (const uint8_t *)audience, strlen(audience));
	mbedtls_sha256_update_ret(&h, (const uint8_t *)"\n", 1);
	mbedtls_sha256_update_ret(&h, (const uint8_t *)num, strlen(num));
	mbedtls_sha256_update_ret(&h, (const uint8_t *)"\n", 1);
	mbedtls_sha256_update_ret(&h, (const uint8_t *)cert_hex, 64);
	mbedtls_sha256_finish_ret(&h, out);
	mbedtls_sha256_free(&h);
}

/* Fills a with copies of the fields (one allocation). */
static csb_err auth_fill(csb__rpc_auth *a, const uint8_t *cert, size_t cert_len,
                         const char *audience, uint64_t not_after_ms, const uint8_t *sig,
                         size_t sig_len)
{
	size_t alen = strlen(audience);
	uint8_t *p;

	if ((p = malloc(cert_len + sig_len + alen + 1)) == NULL)
		return CSB_ENOMEM;
	csb__auth__init(&a->msg);
	a->mem = p;
	a->msg.cert_der.data = memcpy(p, cert, cert_len);
	a->msg.cert_der.len = cert_len;
	a->msg.signature.data = memcpy(p + cert_len, sig, sig_len);
	a->msg.signature.len = sig_len;
	a->msg.audience = memcpy(p + cert_len + sig_len, audience, alen + 1);
	a->msg.not_after_ms = not_after_ms;
	return CSB_OK;
}

void csb__rpc_auth_free(csb__rpc_auth *a)
{
	if (a == NULL)
		return;
	free(a->mem);
	a->mem = NULL;
}

/* ---- Signer ----------------------------------------------------------------------------- */

/* Loads the certificate (its DER) and the key, and checks that they belong together. */
static csb_err signer_load(csb__rpc_signer *s, const csb_tls_files *f)
{
	mbedtls_x509_crt crt;
	char *buf;
	size_t len;
	csb_err rv = CSB_ETLS;
	int ret;

	if (csb__file_read(f->cert, CSB__RPC_PEM_MAX, &buf, &len) != CSB_OK)
		return CSB_ETLS;
	mbedtls_x509_crt_init(&crt);
	ret = mbedtls_x509_crt_parse(&crt, (unsigned char *)buf, len + 1);
	free(buf);
	if (ret != 0)
		goto out_free_crt;
	if ((s->cert_der = malloc(crt.raw.len)) == NULL) {
		rv = CSB_ENOMEM;
		goto out_free_crt;
	}
	memcpy(s->cert_der, crt.raw.p, crt.raw.len);
	s->cert_len = crt.raw.len;
	if (csb__file_read(f->key, CSB__RPC_PEM_MAX, &buf, &len) != CSB_OK)
		goto out_free_crt;
	ret = mbedtls_pk_parse_key(&s->key, (unsigned char *)buf, len + 1, NULL, 0);
	mbedtls_platform_zeroize(buf, len);
	free(buf);
	if (ret == 0 && mbedtls_pk_check_pair(&crt.pk, &s->key) == 0)
		rv = CSB_OK;
out_free_crt:
	mbedtls_x509_crt_free(&crt);
	return rv;
}

csb_err csb__rpc_signer_open(const csb_tls_files *f, const char *audience,
                             csb__rpc_signer **out)
{
	static const char pers[] = "csb-rpc-auth";
	csb__rpc_signer *s;
	csb_err rv;

	if (f == NULL || !csb__rpc_tls_given(f) || audience == NULL)
		return CSB_EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CSB_ENOMEM;
	pthread_mutex_init(&s->mtx, NULL);
	mbedtls_pk_init(&s->key);
	mbedtls_entropy_init(&s->entropy);
	mbedtls_ctr_drbg_init(&s->drbg);
	if ((s->audience = strdup(audience)) == NULL) {
		rv = CSB_ENOMEM;
		goto out_free_signer;
	}
	if ((rv = signer_load(s, f)) != CSB_OK) {
		csb_warn("rpc", "cannot load client identity cert=%s key=%s err=%s", f->cert, f->key,
		         csb_err_name(rv));
		goto out_free_signer;
	}
	if (mbedtls_ctr_drbg_seed(&s->drbg, mbedtls_entropy_func, &s->entropy,
	                          (const unsigned char *)pers, sizeof(pers) - 1) != 0) {
		rv = CSB_ETLS;
		goto out_free_signer;
	}
	*out = s;
	return CSB_OK;
out_free_signer:
	csb__rpc_signer_free(s);
	return rv;
}

void csb__rpc_signer_free(csb__rpc_signer *s)
{
	if (s == NULL)
		return;
	csb__rpc_auth_free(&s->cur);
	mbedtls_ctr_drbg_free(&s->drbg);
	mbedtls_entropy_free(&s->entropy);
	mbedtls_pk_free(&s->key);
	free(s->cert_der);
	free(s->audience);
	pthread_mutex_destroy(&s->mtx);
	free(s);
}

/* Call with s->mtx held (the DRBG is not ours to share). */
static csb_err signer_sign_locked(csb__rpc_signer *s, const char *audience,
                                  uint64_t not_after_ms, csb__rpc_auth *out)
{
	uint8_t digest[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	size_t sig_len = 0;
	int ret;

	auth_digest(audience, not_after_ms, s->cert_der, s->cert_len, digest);
	ret = mbedtls_pk_sign(&s->key, MBEDTLS_MD_SHA256, digest, sizeof(digest), sig, &sig_len,
	                      mbedtls_ctr_drbg_random, &s->drbg);
	if (ret != 0) {
		csb_warn("rpc", "cannot sign caller assertion mbedtls=-0x%04x", (unsigned)-ret);
		return CSB_ETLS;
	}
	return auth_fill(out, s->cert_der, s->cert_len, audience, not_after_ms, sig, sig_len);
}

csb_err csb__rpc_signer_sign(csb__rpc_signer *s, const char *audience, uint64_t not_after_ms,
                             csb__rpc_auth *out)
{
	csb_err rv;

	pthread_mutex_lock(&s->mtx);
	rv = signer_sign_locked(s, audience, not_after_ms, out);
	pthread_mutex_unlock(&s->mtx);
	return rv;
}

csb_err csb__rpc_signer_current(csb__rpc_signer *s, uint64_t now_ms, csb__rpc_auth *out)
{
	const Csb__Auth *m = &s->cur.msg;
	csb__rpc_auth fresh;
	csb_err rv = CSB_OK;

	pthread_mutex_lock(&s->mtx);
	if (s->cur.mem == NULL || m->not_after_ms < now_ms + CSB__RPC_AUTH_RENEW_MS) {
		rv = signer_sign_locked(s, s->audience, now_ms + CSB__RPC_AUTH_LIFETIME_MS, &fresh);
		if (rv != CSB_OK)
			goto out_unlock;
		csb__rpc_auth_free(&s->cur);
		s->cur = fresh;
	}
	rv = auth_fill(out, m->cert_der.data, m->cert_der.len, m->audience, m->not_after_ms,
	               m->signature.data, m->signature.len);
out_unlock:
	pthread_mutex_unlock(&s->mtx);
	return rv;
}

/* ---- Verifier ----------------------------------------------------------------------------- */

csb_err csb__rpc_verifier_open(const char *ca_path, const char *audience,
                               csb__rpc_verifier **out)
{
	csb__rpc_verifier *v;
	csb_err rv = CSB_ETLS;
	char *buf;
	size_t len;

	if (ca_path == NULL || audience == NULL)
		return CSB_EINVAL;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return CSB_ENOMEM;
	pthread_mutex_init(&v->mtx, NULL);
	mbedtls_x509_crt_init(&v->ca);
	if ((v->audience = strdup(audience)) == NULL) {
		rv = CSB_ENOMEM;
		goto out_free_verifier;
	}
	if (csb__file_read(ca_path, CSB__RPC_PEM_MAX, &buf, &len) != CSB_OK)
		goto out_free_verifier;
	if (mbedtls_x509_crt_parse(&v->ca, (unsigned char *)buf, len + 1) != 0) {
		free(buf);
		goto out_free_verifier;
	}
	free(buf);
	*out = v;
	return CSB_OK;
out_free_verifier:
	csb_warn("rpc", "cannot load CA certificate path=%s err=%s", ca_path, csb_err_name(rv));
	csb__rpc_verifier_free(v);
	return rv;
}

void csb__rpc_verifier_free(csb__rpc_verifier *v)
{
	if (v == NULL)
		return;
	mbedtls_x509_crt_free(&v->ca);
	free(v->audience);
	pthread_mutex_destroy(&v->mtx);
	free(v);
}

/* The cache key covers every field, so a cached signature never vouches for other ones. */
static void cache_key(const Csb__Auth *a, uint8_t key[32])
{
	mbedtls_sha256_context h;
	uint64_t lens[3] = {a->cert_der.len, strlen(a->audience), a->signature.len};

	mbedtls_sha256_init(&h);
	mbedtls_sha256_starts_ret(&h, 0);
	mbedtls_sha256_update_ret(&h, (const uint8_t *)lens, sizeof(lens));
	mbedtls_sha256_update_ret(&h, a->cert_der.data, a->cert_der.len);
	mbedtls_sha256_update_ret(&h, (const uint8_t *)a->audience, lens[1]);
	mbedtls_sha256_update_ret(&h, (const uint8_t *)&a->not_after_ms, sizeof(a->not_after_ms));
	mbedtls_sha256_update_ret(&h, a->signature.data, a->signature.len);
	mbedtls_sha256_finish_ret(&h, key);
	mbedtls_sha256_free(&h);
}

static bool cache_find(csb__rpc_verifier *v, const uint8_t key[32], uint64_t now_ms,
                       char principal[CSB__RPC_PRINCIPAL_MAX])
{
	bool found = false;

	pthread_mutex_lock(&v->mtx);
	for (size_t i = 0; i < CACHE_SIZE; i++) {
		struct cache_entry *e = &v->cache[i];

		if (e->stamp != 0 && e->until_ms > now_ms && memcmp(e->key, key, 32) == 0) {
			memcpy(principal, e->principal, CSB__RPC_PRINCIPAL_MAX);
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&v->mtx);
	return found;
}

/* Stores a verified assertion in a free or expired slot, else in place of the oldest. */
static void cache_put(csb__rpc_verifier *v, const uint8_t key[32], uint64_t until_ms,
                      uint64_t now_ms, const char *principal)
{
	struct cache_entry *victim = &v->cache[0];

	pthread_mutex_lock(&v->mtx);
	for (size_t i = 0; i < CACHE_SIZE; i++) {
		struct cache_entry *e = &v->cache[i];

		if (e->stamp == 0 || e->until_ms <= now_ms) {
			victim = e;
			break;
		}
		if (e->stamp < victim->stamp)
			victim = e;
	}
	memcpy(victim->key, key, 32);
	snprintf(victim->principal, sizeof(victim->principal), "%s", principal);
	victim->until_ms = until_ms;
	victim->stamp = ++v->stamp;
	pthread_mutex_unlock(&v->mtx);
}

static uint64_t x509_time_ms(const mbedtls_x509_time *t)
{
	struct tm tm = {
		.tm_year = t->year - 1900,
		.tm_mon = t->mon - 1,
		.tm_mday = t->day,
		.tm_hour = t->hour,
		.tm_min = t->min,
		.tm_sec = t->sec,
	};
	time_t s = timegm(&tm);

	return s < 0 ? 0 : (uint64_t)s * 1000u;
}

bool csb__rpc_subject_cn(const mbedtls_x509_crt *crt, char out[CSB__RPC_PRINCIPAL_MAX])
{
	const mbedtls_x509_name *n;

	for (n = &crt->subject; n != NULL; n = n->next) {
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) != 0)
			continue;
		if (n->val.len == 0 || n->val.len >= CSB__RPC_PRINCIPAL_MAX)
			return false;
		for (size_t i = 0; i < n->val.len; i++)
			if (n->val.p[i] < 0x20 || n->val.p[i] == 0x7f)
				return false;
		memcpy(out, n->val.p, n->val.len);
		out[n->val.len] = '\0';
		return true;
	}
	return false;
}

static const char *chain_reason(uint32_t flags)
{
	if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
		return "certificate not signed by the deployment CA";
	if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
		return "certificate expired";
	if (flags & MBEDTLS_X509_BADCERT_FUTURE)
		return "certificate not yet valid";
	return "certificate rejected by the deployment CA";
}

/* The expensive part: chain, usage, signature, subject. */
static csb_err verify_full(csb__rpc_verifier *v, const Csb__Auth *a,
                           char principal[CSB__RPC_PRINCIPAL_MAX], uint64_t *cert_end_ms,
                           char err[CSB_RPC_ERROR_MAX])
{
	mbedtls_x509_crt crt;
	uint8_t digest[32];
	uint32_t flags = 0;
	csb_err rv = CSB_EDENIED;

	mbedtls_x509_crt_init(&crt);
	if (mbedtls_x509_crt_parse_der(&crt, a->cert_der.data, a->cert_der.len) != 0) {
		snprintf(err, CSB_RPC_ERROR_MAX, "certificate does not parse");
		goto out_free_crt;
	}
	if (mbedtls_x509_crt_verify(&crt, &v->ca, NULL, NULL, &flags, NULL, NULL) != 0) {
		snprintf(err, CSB_RPC_ERROR_MAX, "%s", chain_reason(flags));
		goto out_free_crt;
	}
	if (crt.ca_istrue ||
	    mbedtls_x509_crt_check_key_usage(&crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE) != 0 ||
	    mbedtls_x509_crt_check_extended_key_usage(&crt, MBEDTLS_OID_CLIENT_AUTH,
	                                              MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)) != 0) {
		snprintf(err, CSB_RPC_ERROR_MAX, "certificate not for client authentication");
		goto out_free_crt;
	}
	auth_digest(a->audience, a->not_after_ms, a->cert_der.data, a->cert_der.len, digest);
	if (mbedtls_pk_verify(&crt.pk, MBEDTLS_MD_SHA256, digest, sizeof(digest),
	                      a->signature.data, a->signature.len) != 0) {
		snprintf(err, CSB_RPC_ERROR_MAX, "assertion signature invalid");
		goto out_free_crt;
	}
	if (!csb__rpc_subject_cn(&crt, principal)) {
		snprintf(err, CSB_RPC_ERROR_MAX, "certificate subject has no usable CN");
		goto out_free_crt;
	}
	*cert_end_ms = x509_time_ms(&crt.valid_to);
	rv = CSB_OK;
out_free_crt:
	mbedtls_x509_crt_free(&crt);
	return rv;
}

/* A caller's string made safe for a one-line log value: other than printable ASCII,
 * quotes and backslashes become '?'. */
static void printable(const char *in, char *out, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n && in[i] != '\0'; i++)
		out[i] = in[i] > 0x20 && in[i] < 0x7f && in[i] != '"' && in[i] != '\'' &&
		                 in[i] != '\\'
		             ? in[i]
		             : '?';
	out[i] = '\0';
}

csb_err csb__rpc_verifier_check(csb__rpc_verifier *v, const Csb__Auth *a, uint64_t now_ms,
                                char principal[CSB__RPC_PRINCIPAL_MAX],
                                char err[CSB_RPC_ERROR_MAX])
{
	uint64_t cert_end_ms;
	uint8_t key[32];
	csb_err rv;

	principal[0] = '\0';
	if (a == NULL || a->cert_der.len == 0 || a->signature.len == 0) {
		snprintf(err, CSB_RPC_ERROR_MAX, "no caller assertion (Envelope.auth)");
		return CSB_EDENIED;
	}
	if (strcmp(a->audience, v->audience) != 0) {
		char shown[65];

		printable(a->audience, shown, sizeof(shown));
		snprintf(err, CSB_RPC_ERROR_MAX, "assertion audience '%s' is not this server", shown);
		return CSB_EDENIED;
	}
	if (a->not_after_ms <= now_ms) {
		snprintf(err, CSB_RPC_ERROR_MAX, "assertion expired");
		return CSB_EDENIED;
	}
	if (a->not_after_ms - now_ms > CSB__RPC_AUTH_MAX_LIFETIME_MS) {
		snprintf(err, CSB_RPC_ERROR_MAX, "assertion lifetime over 24 h");
		return CSB_EDENIED;
	}
	cache_key(a, key);
	if (cache_find(v, key, now_ms, principal))
		return CSB_OK;
	if ((rv = verify_full(v, a, principal, &cert_end_ms, err)) != CSB_OK)
		return rv;
	cache_put(v, key, a->not_after_ms < cert_end_ms ? a->not_after_ms : cert_end_ms, now_ms,
	          principal);
	return CSB_OK;
}
