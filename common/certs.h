/* Certificates of a deployment: one self-signed CA, and leaf certificates it signs for
 * every principal (pools, agents, administrators). The leaf's subject CN is the principal
 * the RPC layer (common/rpc.h) reports. P-256 ECDSA keys, SHA-256 signatures, PEM files. */
#ifndef CSB_COMMON_CERTS_H
#define CSB_COMMON_CERTS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define CSB_CERTS_CN_MAX 64 /* bytes of a CN (X.509 ub-common-name) */

/* Creates a self-signed CA: a new P-256 key written to key_path (mode 0600) and a
 * certificate with subject CN=cn, basicConstraints CA:true, keyUsage keyCertSign+cRLSign,
 * valid from one hour ago for 10 years, written to cert_path (mode 0644). Existing files
 * are replaced atomically (each file on its own). cn is 1..CSB_CERTS_CN_MAX bytes of
 * letters, digits, '.', '-', '_' and ' '. Not thread-safe with itself on the same paths.
 * Returns CSB_OK, CSB_EINVAL (NULL argument or a bad cn), CSB_EIO (a file could not be
 * written), CSB_ETLS (a key or certificate operation failed), CSB_ENOMEM. */
csb_err csb_certs_make_ca(const char *cert_path, const char *key_path, const char *cn);

/* Issues a leaf certificate signed by the CA in ca_cert_path/ca_key_path: a new P-256 key
 * written to key_path (0600) and a certificate (0644) with subject CN=cn,
 * subjectAltName DNS:cn (when cn is a DNS name), DNS:localhost, IP:127.0.0.1 — TLS peers
 * check the server name against the DNS entries — keyUsage digitalSignature,
 * extendedKeyUsage serverAuth+clientAuth, valid from one hour ago for 10 years. The same
 * certificate serves as a server's and as a client's identity. cn as for
 * csb_certs_make_ca(). Existing files are replaced atomically.
 * Returns CSB_OK, CSB_EINVAL (NULL argument or a bad cn), CSB_ENOTFOUND (a CA file does
 * not exist), CSB_ETLS (a CA file does not parse, is not a CA, or the key does not match
 * the certificate; or a key or certificate operation failed), CSB_EIO, CSB_ENOMEM. */
csb_err csb_certs_issue(const char *ca_cert_path, const char *ca_key_path, const char *cn,
                        const char *cert_path, const char *key_path);

/* What a certificate says, as csbackup reads it (csb pki show). */
typedef struct csb_cert_info {
	char subject[CSB_CERTS_CN_MAX + 1]; /* the subject's CN: the principal */
	char issuer[CSB_CERTS_CN_MAX + 1];  /* the issuer's CN */
	char not_before[24], not_after[24]; /* "2026-11-28T09:00:00Z" */
	bool is_ca;                         /* basicConstraints CA:true */
	bool server_auth, client_auth;      /* extendedKeyUsage (absent: both) */
	char dns[4][CSB_CERTS_CN_MAX + 1];  /* subjectAltName DNS entries, the first 4 */
	size_t n_dns;
} csb_cert_info;

/* Reads the PEM certificate at cert_path into out. CSB_OK; CSB_ENOTFOUND (no such file);
 * CSB_ETLS (it does not parse as a certificate); CSB_EINVAL (NULL argument). */
csb_err csb_certs_describe(const char *cert_path, csb_cert_info *out);

#endif
