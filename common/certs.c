/* csb_certs_make_ca() and csb_certs_issue(): a deployment's CA and the leaf certificates
 * it signs, written with mbedTLS's x509write API. mbedTLS 2.28 has no writer for
 * subjectAltName or extendedKeyUsage, so those two extensions are built here in DER. */
#include "common/certs.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>

#include "common/internal/file.h"
#include "common/log.h"

#define CERT_PEM_MAX 4096
#define KEY_PEM_MAX 2048
#define CA_FILE_MAX (64u << 10)
#define DN_MAX (CSB_CERTS_CN_MAX + 8)

struct rng {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

/* The CA that signs a certificate: its key and its subject as a DN string. */
struct issuer {
	mbedtls_pk_context *key;
	const char *dn;
};

static csb_err tls_fail(const char *what, int ret)
{
	csb_debug("certs", "mbedtls call failed call=%s ret=-0x%04x", what, (unsigned)-ret);
	return CSB_ETLS;
}

static csb_err rng_open(struct rng *r)
{
	static const char pers[] = "csb-certs";
	int ret;

	mbedtls_entropy_init(&r->entropy);
	mbedtls_ctr_drbg_init(&r->drbg);
	ret = mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy,
	                            (const unsigned char *)pers, sizeof(pers) - 1);
	if (ret != 0) {
		mbedtls_ctr_drbg_free(&r->drbg);
		mbedtls_entropy_free(&r->entropy);
		return tls_fail("ctr_drbg_seed", ret);
	}
	return CSB_OK;
}

static void rng_close(struct rng *r)
{
	mbedtls_ctr_drbg_free(&r->drbg);
	mbedtls_entropy_free(&r->entropy);
}

static bool cn_valid(const char *cn)
{
	size_t n = strlen(cn);

	if (n == 0 || n > CSB_CERTS_CN_MAX || cn[0] == ' ' || cn[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = cn[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_' || ch == ' '))
			return false;
	}
	return true;
}

/* A name TLS can check as a server name: letters, digits, '-' and '.'. */
static bool cn_is_dns(const char *cn)
{
	return strspn(cn, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") ==
	       strlen(cn);
}

static csb_err key_new(struct rng *r, mbedtls_pk_context *key)
{
	int ret;

	if ((ret = mbedtls_pk_setup(key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) != 0)
		return tls_fail("pk_setup", ret);
	ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*key),
	                          mbedtls_ctr_drbg_random, &r->drbg);
	if (ret != 0)
		return tls_fail("ecp_gen_key", ret);
	return CSB_OK;
}

static void time_str(char out[16], time_t t, int add_years)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	tm.tm_year += add_years;
	if (tm.tm_mon == 1 && tm.tm_mday == 29)
		tm.tm_mday = 28;
	strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

/* From one hour ago (clock skew between hosts) for ten years. */
static int validity_set(mbedtls_x509write_cert *crt)
{
	char from[16], to[16];
	time_t now = time(NULL);

	time_str(from, now - 3600, 0);
	time_str(to, now, 10);
	return mbedtls_x509write_crt_set_validity(crt, from, to);
}

/* A random positive 127-bit serial (RFC 5280 allows at most 20 bytes). */
static int serial_set(mbedtls_x509write_cert *crt, struct rng *r)
{
	unsigned char b[16];
	mbedtls_mpi serial;
	int ret;

	if ((ret = mbedtls_ctr_drbg_random(&r->drbg, b, sizeof(b))) != 0)
		return ret;
	b[0] = (unsigned char)((b[0] & 0x7f) | 0x01);
	mbedtls_mpi_init(&serial);
	if ((ret = mbedtls_mpi_read_binary(&serial, b, sizeof(b))) == 0)
		ret = mbedtls_x509write_crt_set_serial(crt, &serial);
	mbedtls_mpi_free(&serial);
	return ret;
}

static int general_name(unsigned char **p, unsigned char *start, int tag,
                        const void *val, size_t len)
{
	size_t n = 0;
	int ret;

	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_raw_buffer(p, start, val, len));
	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_len(p, start, len));
	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONTEXT_SPECIFIC | tag));
	return (int)n;
}

/* subjectAltName ::= SEQUENCE OF GeneralName: DNS:cn, DNS:localhost, IP:127.0.0.1. The
 * ASN.1 writer works backwards from the end of buf, so entries go in reverse order. */
static int san_set(mbedtls_x509write_cert *crt, const char *cn)
{
	static const unsigned char loopback[4] = {127, 0, 0, 1};
	unsigned char buf[256], *p = buf + sizeof(buf);
	size_t n = 0;
	int ret;

	MBEDTLS_ASN1_CHK_ADD(n, general_name(&p, buf, MBEDTLS_X509_SAN_IP_ADDRESS, loopback, 4));
	MBEDTLS_ASN1_CHK_ADD(n, general_name(&p, buf, MBEDTLS_X509_SAN_DNS_NAME, "localhost", 9));
	if (cn_is_dns(cn) && strcmp(cn, "localhost") != 0)
		MBEDTLS_ASN1_CHK_ADD(n, general_name(&p, buf, MBEDTLS_X509_SAN_DNS_NAME, cn,
		                                     strlen(cn)));
	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_len(&p, buf, n));
	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_tag(&p, buf,
	                                              MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	return mbedtls_x509write_crt_set_extension(crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
	                                           MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME),
	                                           0, p, n);
}

/* extendedKeyUsage ::= SEQUENCE OF KeyPurposeId: serverAuth, clientAuth. */
static int eku_set(mbedtls_x509write_cert *crt)
{
	unsigned char buf[64], *p = buf + sizeof(buf);
	size_t n = 0;
	int ret;

	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_oid(&p, buf, MBEDTLS_OID_CLIENT_AUTH,
	                                              MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)));
	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_oid(&p, buf, MBEDTLS_OID_SERVER_AUTH,
	                                              MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)));
	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_len(&p, buf, n));
	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_tag(&p, buf,
	                                              MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	return mbedtls_x509write_crt_set_extension(crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
	                                           MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE),
	                                           0, p, n);
}

/* The fields every certificate has: subject, issuer, keys, serial, validity, key ids. */
static csb_err crt_base(mbedtls_x509write_cert *crt, struct rng *r, mbedtls_pk_context *key,
                        const char *subject_dn, const struct issuer *is)
{
	int ret;

	mbedtls_x509write_crt_set_version(crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(crt, key);
	mbedtls_x509write_crt_set_issuer_key(crt, is->key);
	if ((ret = mbedtls_x509write_crt_set_subject_name(crt, subject_dn)) != 0)
		return tls_fail("set_subject_name", ret);
	if ((ret = mbedtls_x509write_crt_set_issuer_name(crt, is->dn)) != 0)
		return tls_fail("set_issuer_name", ret);
	if ((ret = serial_set(crt, r)) != 0)
		return tls_fail("set_serial", ret);
	if ((ret = validity_set(crt)) != 0)
		return tls_fail("set_validity", ret);
	if ((ret = mbedtls_x509write_crt_set_subject_key_identifier(crt)) != 0)
		return tls_fail("set_subject_key_identifier", ret);
	if ((ret = mbedtls_x509write_crt_set_authority_key_identifier(crt)) != 0)
		return tls_fail("set_authority_key_identifier", ret);
	return CSB_OK;
}

/* Signs crt and writes it and its subject's key as PEM: the key first, so that a cert
 * file never names a key that is not there yet. */
static csb_err pair_save(mbedtls_x509write_cert *crt, mbedtls_pk_context *key, struct rng *r,
                         const char *cert_path, const char *key_path)
{
	unsigned char cert_pem[CERT_PEM_MAX], key_pem[KEY_PEM_MAX];
	csb_err rv;
	int ret;

	ret = mbedtls_x509write_crt_pem(crt, cert_pem, sizeof(cert_pem), mbedtls_ctr_drbg_random,
	                                &r->drbg);
	if (ret != 0)
		return tls_fail("x509write_crt_pem", ret);
	if ((ret = mbedtls_pk_write_key_pem(key, key_pem, sizeof(key_pem))) != 0) {
		rv = tls_fail("pk_write_key_pem", ret);
		goto out_wipe_key;
	}
	rv = csb__file_write_atomic(key_path, key_pem, strlen((char *)key_pem), 0600);
	if (rv == CSB_OK)
		rv = csb__file_write_atomic(cert_path, cert_pem, strlen((char *)cert_pem), 0644);
out_wipe_key:
	mbedtls_platform_zeroize(key_pem, sizeof(key_pem));
	return rv;
}

csb_err csb_certs_make_ca(const char *cert_path, const char *key_path, const char *cn)
{
	mbedtls_x509write_cert crt;
	mbedtls_pk_context key;
	struct issuer self;
	char dn[DN_MAX];
	struct rng r;
	csb_err rv;
	int ret;

	if (cert_path == NULL || key_path == NULL || cn == NULL || !cn_valid(cn))
		return CSB_EINVAL;
	snprintf(dn, sizeof(dn), "CN=%s", cn);
	if ((rv = rng_open(&r)) != CSB_OK)
		return rv;
	mbedtls_pk_init(&key);
	mbedtls_x509write_crt_init(&crt);
	if ((rv = key_new(&r, &key)) != CSB_OK)
		goto out_free_crt;
	self.key = &key;
	self.dn = dn;
	if ((rv = crt_base(&crt, &r, &key, dn, &self)) != CSB_OK)
		goto out_free_crt;
	if ((ret = mbedtls_x509write_crt_set_basic_constraints(&crt, 1, -1)) != 0 ||
	    (ret = mbedtls_x509write_crt_set_key_usage(
	             &crt, MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN)) != 0) {
		rv = tls_fail("set_ca_extensions", ret);
		goto out_free_crt;
	}
	rv = pair_save(&crt, &key, &r, cert_path, key_path);
out_free_crt:
	mbedtls_x509write_crt_free(&crt);
	mbedtls_pk_free(&key);
	rng_close(&r);
	return rv;
}

/* Loads the CA certificate and its key and checks that they belong together. */
static csb_err ca_load(const char *cert_path, const char *key_path, mbedtls_x509_crt *ca,
                       mbedtls_pk_context *ca_key)
{
	char *buf;
	size_t len;
	csb_err rv;
	int ret;

	if ((rv = csb__file_read(cert_path, CA_FILE_MAX, &buf, &len)) != CSB_OK)
		return rv == CSB_ETOOBIG ? CSB_ETLS : rv;
	ret = mbedtls_x509_crt_parse(ca, (unsigned char *)buf, len + 1);
	free(buf);
	if (ret != 0)
		return tls_fail("x509_crt_parse(ca)", ret);
	if (!ca->ca_istrue)
		return CSB_ETLS;
	if ((rv = csb__file_read(key_path, CA_FILE_MAX, &buf, &len)) != CSB_OK)
		return rv == CSB_ETOOBIG ? CSB_ETLS : rv;
	ret = mbedtls_pk_parse_key(ca_key, (unsigned char *)buf, len + 1, NULL, 0);
	mbedtls_platform_zeroize(buf, len);
	free(buf);
	if (ret != 0)
		return tls_fail("pk_parse_key(ca)", ret);
	if ((ret = mbedtls_pk_check_pair(&ca->pk, ca_key)) != 0)
		return tls_fail("pk_check_pair(ca)", ret);
	return CSB_OK;
}

/* The leaf-only extensions. */
static csb_err leaf_extensions(mbedtls_x509write_cert *crt, const char *cn)
{
	int ret;

	if ((ret = mbedtls_x509write_crt_set_basic_constraints(crt, 0, 0)) != 0 ||
	    (ret = mbedtls_x509write_crt_set_key_usage(crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE)) != 0 ||
	    (ret = san_set(crt, cn)) != 0 || (ret = eku_set(crt)) != 0)
		return tls_fail("set_leaf_extensions", ret);
	return CSB_OK;
}

csb_err csb_certs_issue(const char *ca_cert_path, const char *ca_key_path, const char *cn,
                        const char *cert_path, const char *key_path)
{
	mbedtls_pk_context key, ca_key;
	mbedtls_x509write_cert crt;
	char dn[DN_MAX], ca_dn[256];
	mbedtls_x509_crt ca;
	struct issuer is;
	struct rng r;
	csb_err rv;

	if (ca_cert_path == NULL || ca_key_path == NULL || cn == NULL || cert_path == NULL ||
	    key_path == NULL || !cn_valid(cn))
		return CSB_EINVAL;
	snprintf(dn, sizeof(dn), "CN=%s", cn);
	mbedtls_x509_crt_init(&ca);
	mbedtls_pk_init(&ca_key);
	if ((rv = ca_load(ca_cert_path, ca_key_path, &ca, &ca_key)) != CSB_OK)
		goto out_free_ca;
	if (mbedtls_x509_dn_gets(ca_dn, sizeof(ca_dn), &ca.subject) < 0) {
		rv = CSB_ETLS;
		goto out_free_ca;
	}
	if ((rv = rng_open(&r)) != CSB_OK)
		goto out_free_ca;
	mbedtls_pk_init(&key);
	mbedtls_x509write_crt_init(&crt);
	if ((rv = key_new(&r, &key)) != CSB_OK)
		goto out_free_crt;
	is.key = &ca_key;
	is.dn = ca_dn;
	if ((rv = crt_base(&crt, &r, &key, dn, &is)) != CSB_OK ||
	    (rv = leaf_extensions(&crt, cn)) != CSB_OK)
		goto out_free_crt;
	rv = pair_save(&crt, &key, &r, cert_path, key_path);
out_free_crt:
	mbedtls_x509write_crt_free(&crt);
	mbedtls_pk_free(&key);
	rng_close(&r);
out_free_ca:
	mbedtls_pk_free(&ca_key);
	mbedtls_x509_crt_free(&ca);
	return rv;
}

static void cn_of(const mbedtls_x509_name *n, char *out, size_t len)
{
	out[0] = '\0';
	for (; n != NULL; n = n->next)
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0)
			snprintf(out, len, "%.*s", (int)n->val.len, (const char *)n->val.p);
}

static void x509_time(const mbedtls_x509_time *t, char *out, size_t len)
{
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", t->year, t->mon, t->day, t->hour,
	         t->min, t->sec);
}

csb_err csb_certs_describe(const char *cert_path, csb_cert_info *out)
{
	mbedtls_x509_crt crt;
	FILE *f;
	int ret;

	if (cert_path == NULL || out == NULL)
		return CSB_EINVAL;
	if ((f = fopen(cert_path, "r")) == NULL)
		return CSB_ENOTFOUND;
	fclose(f);
	memset(out, 0, sizeof(*out));
	mbedtls_x509_crt_init(&crt);
	if ((ret = mbedtls_x509_crt_parse_file(&crt, cert_path)) != 0) {
		mbedtls_x509_crt_free(&crt);
		return tls_fail("parse certificate", ret);
	}
	cn_of(&crt.subject, out->subject, sizeof(out->subject));
	cn_of(&crt.issuer, out->issuer, sizeof(out->issuer));
	x509_time(&crt.valid_from, out->not_before, sizeof(out->not_before));
	x509_time(&crt.valid_to, out->not_after, sizeof(out->not_after));
	out->is_ca = crt.ca_istrue != 0;
	out->server_auth = mbedtls_x509_crt_check_extended_key_usage(
		&crt, MBEDTLS_OID_SERVER_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)) == 0;
	out->client_auth = mbedtls_x509_crt_check_extended_key_usage(
		&crt, MBEDTLS_OID_CLIENT_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)) == 0;
	for (const mbedtls_x509_sequence *san = &crt.subject_alt_names;
	     san != NULL && san->buf.p != NULL && out->n_dns < 4; san = san->next)
		if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME))
			snprintf(out->dns[out->n_dns++], sizeof(out->dns[0]), "%.*s",
			         (int)san->buf.len, (const char *)san->buf.p);
	mbedtls_x509_crt_free(&crt);
	return CSB_OK;
}
