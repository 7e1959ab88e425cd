/* The transport floor: one-way throughput of an nng push/pull pair over loopback in one
 * process, over plain tcp:// and over tls+tcp:// with the deployment's certificates.
 * House style lets only common/rpc* touch nng sockets; this file is the acceptable
 * exception: the benchmark's measurement of the raw transport the RPC layer runs on. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/supplemental/tls/tls.h>

#include "bench/bench.h"
#include "common/clock.h"

struct sender {
	nng_socket push;
	size_t msg;
	uint64_t count;
	int rv;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	uint8_t *buf = malloc(s->msg);

	if (buf == NULL) {
		s->rv = NNG_ENOMEM;
		return NULL;
	}
	memset(buf, 'x', s->msg);
	for (uint64_t i = 0; i < s->count && s->rv == 0; i++)
		s->rv = nng_send(s->push, buf, s->msg, 0);
	free(buf);
	return NULL;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = calloc(1, (size_t)n + 1)) != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int tls_config(nng_tls_mode mode, const csb_tls_files *f, const char *server_name,
                      nng_tls_config **out)
{
	char *ca = slurp(f->ca), *cert = slurp(f->cert), *key = slurp(f->key);
	int rv = NNG_ENOENT;

	*out = NULL;
	if (ca && cert && key && (rv = nng_tls_config_alloc(out, mode)) == 0) {
		if ((rv = nng_tls_config_auth_mode(*out, NNG_TLS_AUTH_MODE_REQUIRED)) != 0 ||
		    (rv = nng_tls_config_ca_chain(*out, ca, NULL)) != 0 ||
		    (rv = nng_tls_config_own_cert(*out, cert, key, NULL)) != 0 ||
		    (mode == NNG_TLS_MODE_CLIENT &&
		     (rv = nng_tls_config_server_name(*out, server_name)) != 0)) {
			nng_tls_config_free(*out);
			*out = NULL;
		}
	}
	free(ca);
	free(cert);
	free(key);
	return rv;
}

/* Listens (pull) on a free loopback port and dials it (push). */
static int connect_pair(nng_socket pull, nng_socket push, bool tls, const csb_tls_files *server,
                        const csb_tls_files *client, const char *server_name)
{
	nng_tls_config *scfg = NULL, *ccfg = NULL;
	nng_listener l;
	nng_dialer d;
	char url[64];
	int rv, port;

	if (tls && ((rv = tls_config(NNG_TLS_MODE_SERVER, server, NULL, &scfg)) != 0 ||
	            (rv = tls_config(NNG_TLS_MODE_CLIENT, client, server_name, &ccfg)) != 0))
		goto out_free;
	snprintf(url, sizeof(url), "%s://127.0.0.1:0", tls ? "tls+tcp" : "tcp");
	if ((rv = nng_listener_create(&l, pull, url)) != 0 ||
	    (tls && (rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, scfg)) != 0) ||
	    (rv = nng_listener_start(l, 0)) != 0 ||
	    (rv = nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port)) != 0)
		goto out_free;
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d", tls ? "tls+tcp" : "tcp", port);
	if ((rv = nng_dialer_create(&d, push, url)) != 0 ||
	    (tls && (rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, ccfg)) != 0) ||
	    (rv = nng_dialer_start(d, 0)) != 0)
		goto out_free;
out_free:
	/* Listeners and dialers hold their own references. */
	if (scfg)
		nng_tls_config_free(scfg);
	if (ccfg)
		nng_tls_config_free(ccfg);
	return rv;
}

csb_err bench_nng_throughput(uint64_t total, size_t msg, const csb_tls_files *server,
                             const csb_tls_files *client, const char *server_name,
                             double *mb_per_s, char *err, size_t errlen)
{
	struct sender s = {.msg = msg, .count = total / msg + 1};
	nng_socket pull = NNG_SOCKET_INITIALIZER;
	uint64_t t0 = 0;
	pthread_t t;
	int rv;

	if (msg == 0 || s.count < 2) {
		snprintf(err, errlen, "--nng-bytes must hold at least two messages");
		return CSB_EINVAL;
	}
	s.push = (nng_socket)NNG_SOCKET_INITIALIZER;
	if ((rv = nng_pull0_open(&pull)) != 0 || (rv = nng_push0_open(&s.push)) != 0 ||
	    (rv = nng_socket_set_ms(s.push, NNG_OPT_SENDTIMEO, 30000)) != 0 ||
	    (rv = nng_socket_set_size(pull, NNG_OPT_RECVMAXSZ, msg + 4096)) != 0 ||
	    (rv = nng_socket_set_ms(pull, NNG_OPT_RECVTIMEO, 30000)) != 0 ||
	    (rv = connect_pair(pull, s.push, server != NULL, server, client, server_name)) != 0)
		goto out_close;
	if (pthread_create(&t, NULL, sender_main, &s) != 0) {
		rv = NNG_ENOMEM;
		goto out_close;
	}
	/* The first message pays for the connection; the clock starts after it. */
	for (uint64_t i = 0; i < s.count && rv == 0; i++) {
		void *p;
		size_t sz;

		if ((rv = nng_recv(pull, &p, &sz, NNG_FLAG_ALLOC)) != 0)
			break;
		nng_free(p, sz);
		if (i == 0)
			t0 = csb_mono_us();
	}
	if (rv == 0)
		*mb_per_s = (double)(s.count - 1) * (double)msg / (double)(csb_mono_us() - t0);
	nng_close(s.push); /* a sender still blocked (after an error) returns now */
	s.push = (nng_socket)NNG_SOCKET_INITIALIZER;
	pthread_join(t, NULL);
out_close:
	if (nng_socket_id(pull) > 0)
		nng_close(pull);
	if (nng_socket_id(s.push) > 0)
		nng_close(s.push);
	if (rv != 0) {
		snprintf(err, errlen, "nng: %s", nng_strerror(rv));
		return CSB_EIO;
	}
	return CSB_OK;
}
