/* The transport side shared by rpc_server.c and rpc_client.c: which urls need what,
 * nng TLS configurations built from PEM files (on the engine of rpc_tls_engine.c), and
 * NNG_* codes translated to csb_err. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "common/internal/file.h"
#include "common/internal/rpc_internal.h"
#include "common/log.h"

csb_err csb__rpc_nng_err(int rv)
{
	switch (rv) {
	case 0:
		return CSB_OK;
	case NNG_ENOMEM:
		return CSB_ENOMEM;
	case NNG_EINVAL:
	case NNG_EADDRINVAL:
	case NNG_ENOTSUP:
	case NNG_EBADTYPE:
	case NNG_ENOENT:
		return CSB_EINVAL;
	case NNG_ETIMEDOUT:
		return CSB_ETIMEDOUT;
	case NNG_ECLOSED:
	case NNG_ECANCELED:
		return CSB_ECLOSED;
	case NNG_EADDRINUSE:
	case NNG_EBUSY:
	case NNG_EAGAIN:
		return CSB_EBUSY;
	case NNG_EMSGSIZE:
		return CSB_ETOOBIG;
	case NNG_EPROTO:
		return CSB_EPROTO;
	case NNG_ECONNREFUSED:
	case NNG_ECONNRESET:
	case NNG_ECONNSHUT:
	case NNG_ECONNABORTED:
	case NNG_EUNREACHABLE:
		return CSB_EUNREACH;
	case NNG_ECRYPTO:
	case NNG_EPEERAUTH:
		return CSB_ETLS;
	case NNG_EPERM:
		return CSB_EDENIED;
	case NNG_ESTATE:
	case NNG_EINTERNAL:
		return CSB_EINTERNAL;
	default:
		return CSB_EIO;
	}
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool csb__rpc_tls_given(const csb_tls_files *f)
{
	return f->cert != NULL && f->cert[0] != '\0' && f->key != NULL && f->key[0] != '\0' &&
	       f->ca != NULL && f->ca[0] != '\0';
}

csb_err csb__rpc_url_check(const char *url, bool allow_insecure, const csb_tls_files *f,
                           bool *tls)
{
	static const char *const insecure[] = {"tcp://", "tcp4://", "tcp6://", "ipc://"};
	static const char *const secure[] = {"tls+tcp://", "tls+tcp4://", "tls+tcp6://"};

	if (url == NULL)
		return CSB_EINVAL;
	for (size_t i = 0; i < sizeof(secure) / sizeof(secure[0]); i++)
		if (has_prefix(url, secure[i])) {
			*tls = true;
			return csb__rpc_tls_given(f) ? CSB_OK : CSB_EINVAL;
		}
	for (size_t i = 0; i < sizeof(insecure) / sizeof(insecure[0]); i++)
		if (has_prefix(url, insecure[i])) {
			*tls = false;
			return allow_insecure ? CSB_OK : CSB_EINVAL;
		}
	return CSB_EINVAL;
}

/* Reads one PEM file; every failure but memory is a TLS configuration error, logged with
 * the path since the caller only sees CSB_ETLS. */
static csb_err pem_read(const char *what, const char *path, char **buf, size_t *len)
{
	csb_err rv = csb__file_read(path, CSB__RPC_PEM_MAX, buf, len);

	if (rv == CSB_OK || rv == CSB_ENOMEM)
		return rv;
	csb_warn("rpc", "cannot read TLS file file=%s path=%s err=%s errno=%d", what, path,
	         csb_err_name(rv), errno);
	return CSB_ETLS;
}

static void pem_wipe(char *buf, size_t len)
{
	if (buf == NULL)
		return;
	mbedtls_platform_zeroize(buf, len);
	free(buf);
}

/* Applies the PEM texts to cfg. */
static csb_err tls_apply(nng_tls_config *cfg, nng_tls_mode mode, const char *ca,
                         const char *cert, const char *key, const char *server_name)
{
	int rv;

	if ((rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED)) != 0 ||
	    (rv = nng_tls_config_version(cfg, NNG_TLS_1_2, NNG_TLS_1_3)) != 0)
		goto out_fail;
	if ((rv = nng_tls_config_ca_chain(cfg, ca, NULL)) != 0) {
		csb_warn("rpc", "invalid TLS CA certificate err=%s", nng_strerror(rv));
		goto out_fail;
	}
	if ((rv = nng_tls_config_own_cert(cfg, cert, key, NULL)) != 0) {
		csb_warn("rpc", "invalid TLS certificate or key err=%s", nng_strerror(rv));
		goto out_fail;
	}
	if (mode == NNG_TLS_MODE_CLIENT && (rv = nng_tls_config_server_name(cfg, server_name)) != 0)
		goto out_fail;
	return CSB_OK;
out_fail:
	return rv == NNG_ENOMEM ? CSB_ENOMEM : CSB_ETLS;
}

csb_err csb__rpc_tls_config(nng_tls_mode mode, const csb_tls_files *f, const char *server_name,
                            csb__rpc_admit *admit, nng_tls_config **out)
{
	char *ca = NULL, *cert = NULL, *key = NULL;
	size_t ca_len = 0, cert_len = 0, key_len = 0;
	nng_tls_config *cfg;
	csb_err rv;

	if ((rv = pem_read("ca", f->ca, &ca, &ca_len)) != CSB_OK ||
	    (rv = pem_read("cert", f->cert, &cert, &cert_len)) != CSB_OK ||
	    (rv = pem_read("key", f->key, &key, &key_len)) != CSB_OK)
		goto out_free_pem;
	if ((rv = csb__rpc_tls_config_alloc(mode, admit, &cfg)) != CSB_OK)
		goto out_free_pem;
	if ((rv = tls_apply(cfg, mode, ca, cert, key, server_name)) != CSB_OK) {
		nng_tls_config_free(cfg);
		goto out_free_pem;
	}
	*out = cfg;
out_free_pem:
	pem_wipe(key, key_len);
	pem_wipe(cert, cert_len);
	pem_wipe(ca, ca_len);
	return rv;
}
