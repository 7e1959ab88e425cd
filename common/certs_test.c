/* Tests for csb_certs_make_ca() and csb_certs_issue(): the chain verifies with mbedTLS,
 * the subject is what was asked, a leaf from another CA does not verify, files are 0600. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

#include "common/certs.h"

static char dir[512];

static const char *path(const char *name)
{
	static char bufs[8][600];
	static int next;
	char *p = bufs[next++ % 8];

	snprintf(p, 600, "%s/%s", dir, name);
	return p;
}

static int setup(void **state)
{
	const char *base = getenv("TEST_TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/certs_test.XXXXXX", base != NULL ? base : "/tmp");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static void load(mbedtls_x509_crt *crt, const char *name)
{
	mbedtls_x509_crt_init(crt);
	assert_int_equal(mbedtls_x509_crt_parse_file(crt, path(name)), 0);
}

static void cn_of(const mbedtls_x509_crt *crt, char *out, size_t n)
{
	const mbedtls_x509_name *nm;

	out[0] = '\0';
	for (nm = &crt->subject; nm != NULL; nm = nm->next)
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &nm->oid) == 0) {
			snprintf(out, n, "%.*s", (int)nm->val.len, (const char *)nm->val.p);
			return;
		}
}

static void test_ca_and_leaf_verify(void **state)
{
	mbedtls_x509_crt ca, leaf;
	uint32_t flags = 0xffffffff;
	struct stat st;
	char cn[80];

	(void)state;
	assert_int_equal(csb_certs_make_ca(path("ca.crt"), path("ca.key"), "csb test CA"), CSB_OK);
	assert_int_equal(csb_certs_issue(path("ca.crt"), path("ca.key"), "pool01.csb.test",
	                                 path("pool.crt"), path("pool.key")),
	                 CSB_OK);
	assert_int_equal(stat(path("pool.key"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(path("ca.key"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	load(&ca, "ca.crt");
	load(&leaf, "pool.crt");
	assert_int_equal(ca.ca_istrue, 1);
	assert_int_equal(leaf.ca_istrue, 0);
	cn_of(&leaf, cn, sizeof(cn));
	assert_string_equal(cn, "pool01.csb.test");
	cn_of(&ca, cn, sizeof(cn));
	assert_string_equal(cn, "csb test CA");
	assert_int_equal(mbedtls_x509_crt_verify(&leaf, &ca, NULL, NULL, &flags, NULL, NULL), 0);
	assert_int_equal(flags, 0);
	/* The SAN carries the CN, which is what a TLS client checks as the server name. */
	assert_int_equal(mbedtls_x509_crt_verify(&leaf, &ca, NULL, "pool01.csb.test", &flags,
	                                         NULL, NULL),
	                 0);
	assert_int_equal(mbedtls_x509_crt_verify(&leaf, &ca, NULL, "localhost", &flags, NULL,
	                                         NULL),
	                 0);
	assert_int_not_equal(mbedtls_x509_crt_verify(&leaf, &ca, NULL, "pool02.csb.test", &flags,
	                                             NULL, NULL),
	                     0);
	assert_int_equal(flags, MBEDTLS_X509_BADCERT_CN_MISMATCH);
	assert_int_equal(mbedtls_x509_crt_check_extended_key_usage(
	                     &leaf, MBEDTLS_OID_CLIENT_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)),
	                 0);
	assert_int_equal(mbedtls_x509_crt_check_extended_key_usage(
	                     &leaf, MBEDTLS_OID_SERVER_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)),
	                 0);
	mbedtls_x509_crt_free(&leaf);
	mbedtls_x509_crt_free(&ca);
}

static void test_other_ca_does_not_verify(void **state)
{
	mbedtls_x509_crt ca, other_leaf;
	uint32_t flags = 0;

	(void)state;
	assert_int_equal(csb_certs_make_ca(path("ca1.crt"), path("ca1.key"), "ca one"), CSB_OK);
	assert_int_equal(csb_certs_make_ca(path("ca2.crt"), path("ca2.key"), "ca two"), CSB_OK);
	assert_int_equal(csb_certs_issue(path("ca2.crt"), path("ca2.key"), "mallory",
	                                 path("m.crt"), path("m.key")),
	                 CSB_OK);
	load(&ca, "ca1.crt");
	load(&other_leaf, "m.crt");
	assert_int_equal(mbedtls_x509_crt_verify(&other_leaf, &ca, NULL, NULL, &flags, NULL, NULL),
	                 MBEDTLS_ERR_X509_CERT_VERIFY_FAILED);
	assert_int_equal(flags, MBEDTLS_X509_BADCERT_NOT_TRUSTED);
	mbedtls_x509_crt_free(&other_leaf);
	mbedtls_x509_crt_free(&ca);
}

static void test_reissue_overwrites(void **state)
{
	mbedtls_x509_crt a, b;

	(void)state;
	assert_int_equal(csb_certs_make_ca(path("ca3.crt"), path("ca3.key"), "ca three"), CSB_OK);
	assert_int_equal(csb_certs_issue(path("ca3.crt"), path("ca3.key"), "admin", path("a.crt"),
	                                 path("a.key")),
	                 CSB_OK);
	load(&a, "a.crt");
	assert_int_equal(csb_certs_issue(path("ca3.crt"), path("ca3.key"), "admin", path("a.crt"),
	                                 path("a.key")),
	                 CSB_OK);
	load(&b, "a.crt");
	assert_true(a.serial.len != b.serial.len || memcmp(a.serial.p, b.serial.p, a.serial.len) != 0);
	mbedtls_x509_crt_free(&a);
	mbedtls_x509_crt_free(&b);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	assert_int_equal(csb_certs_make_ca(path("x.crt"), path("x.key"), ""), CSB_EINVAL);
	assert_int_equal(csb_certs_make_ca(path("x.crt"), path("x.key"), "CN=evil,O=x"), CSB_EINVAL);
	assert_int_equal(csb_certs_make_ca(NULL, path("x.key"), "ok"), CSB_EINVAL);
	assert_int_equal(csb_certs_issue(path("missing.crt"), path("missing.key"), "admin",
	                                 path("y.crt"), path("y.key")),
	                 CSB_ENOTFOUND);
	/* A leaf is not a CA; a key that does not match the CA is refused. */
	assert_int_equal(csb_certs_make_ca(path("ca4.crt"), path("ca4.key"), "ca four"), CSB_OK);
	assert_int_equal(csb_certs_issue(path("ca4.crt"), path("ca4.key"), "leaf", path("l.crt"),
	                                 path("l.key")),
	                 CSB_OK);
	assert_int_equal(csb_certs_issue(path("l.crt"), path("l.key"), "x", path("y.crt"),
	                                 path("y.key")),
	                 CSB_ETLS);
	assert_int_equal(csb_certs_issue(path("ca4.crt"), path("l.key"), "x", path("y.crt"),
	                                 path("y.key")),
	                 CSB_ETLS);
	assert_int_equal(access(path("y.crt"), F_OK), -1);
}

static void test_describe(void **state)
{
	csb_cert_info ci;
	int year;

	assert_int_equal(csb_certs_make_ca(path("d-ca.crt"), path("d-ca.key"), "csbackup CA"), CSB_OK);
	assert_int_equal(csb_certs_issue(path("d-ca.crt"), path("d-ca.key"), "pool01.csb.test",
	                                 path("d-pool.crt"), path("d-pool.key")), CSB_OK);
	assert_int_equal(csb_certs_describe(path("d-ca.crt"), &ci), CSB_OK);
	assert_string_equal(ci.subject, "csbackup CA");
	assert_string_equal(ci.issuer, "csbackup CA");
	assert_true(ci.is_ca);
	assert_int_equal(ci.n_dns, 0);
	assert_int_equal(csb_certs_describe(path("d-pool.crt"), &ci), CSB_OK);
	assert_string_equal(ci.subject, "pool01.csb.test");
	assert_string_equal(ci.issuer, "csbackup CA");
	assert_false(ci.is_ca);
	assert_true(ci.server_auth && ci.client_auth);
	assert_int_equal(ci.n_dns, 2);
	assert_string_equal(ci.dns[0], "pool01.csb.test");
	assert_string_equal(ci.dns[1], "localhost");
	/* From an hour ago for 10 years (11 on the calendar when made late on New Year's Eve). */
	assert_int_equal(sscanf(ci.not_before, "%4d-", &year), 1);
	assert_int_equal(strlen(ci.not_before), 20);
	assert_true(atoi(ci.not_after) == year + 10 || atoi(ci.not_after) == year + 11);
	assert_int_equal(csb_certs_describe(path("none.crt"), &ci), CSB_ENOTFOUND);
	assert_int_equal(csb_certs_describe(path("d-pool.key"), &ci), CSB_ETLS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_and_leaf_verify),
		cmocka_unit_test(test_other_ca_does_not_verify),
		cmocka_unit_test(test_reissue_overwrites),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
