/* csb_rpc_client: one nng REQ socket dialing in the background; each call opens its own
 * nng context, so many threads share one client. Requests carry the caller's assertion
 * (rpc_auth.c) when the client has an identity. See common/rpc.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "common/clock.h"
#include "common/internal/rpc_internal.h"
#include "common/log.h"
#include "common/wire.h"

#define METHOD_MAX 128        /* csb.Envelope.method's bound in wire.c */
#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 2000

/* One call's nng context, listed while it is open so that close can end it. */
struct call {
	nng_ctx ctx;
	struct call *next;
};

/* nng 1.5 frees a socket's protocol state while a thread that is still inside an
 * nng_ctx_*() call may touch it (nni_ctx_rele() wakes nng_close() before it finishes the
 * context), so the socket is closed only when no call is in nng any more: close ends the
 * calls by closing their contexts, waits for them to leave, then closes the socket. */
struct csb_rpc_client {
	nng_socket sock;
	csb__rpc_signer *signer;   /* NULL without TLS files: requests carry no Auth */
	size_t max_msg;
	char *url;
	_Atomic uint64_t next_id;
	pthread_mutex_t mtx;       /* calls, open and closing */
	pthread_cond_t idle;       /* calls dropped to 0 */
	unsigned calls;            /* callers inside csb_rpc_call() and exchange */
	struct call *open;         /* contexts of calls waiting in nng */
	bool closing;
};

/* ---- One exchange ------------------------------------------------------------------- */

static bool call_enter(csb_rpc_client *c)
{
	bool ok;

	pthread_mutex_lock(&c->mtx);
	if ((ok = !c->closing))
		c->calls++;
	pthread_mutex_unlock(&c->mtx);
	return ok;
}

/* A call that close ends may see another error first (a timeout at the same moment):
 * close is what the caller should hear. */
static bool closing(csb_rpc_client *c)
{
	bool yes;

	pthread_mutex_lock(&c->mtx);
	yes = c->closing;
	pthread_mutex_unlock(&c->mtx);
	return yes;
}

static void call_leave(csb_rpc_client *c)
{
	pthread_mutex_lock(&c->mtx);
	if (--c->calls == 0)
		pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->mtx);
}

static nng_duration duration_of(uint64_t ms)
{
	return ms > INT32_MAX ? INT32_MAX : (nng_duration)ms;
}

/* Opens k's context and lists it, unless the client is closing. */
static int call_open(csb_rpc_client *c, struct call *k)
{
	int rv;

	if ((rv = nng_ctx_open(&k->ctx, c->sock)) != 0)
		return rv;
	pthread_mutex_lock(&c->mtx);
	if (c->closing) {
		pthread_mutex_unlock(&c->mtx);
		nng_ctx_close(k->ctx);
		return NNG_ECLOSED;
	}
	k->next = c->open;
	c->open = k;
	pthread_mutex_unlock(&c->mtx);
	return 0;
}

static void call_close(csb_rpc_client *c, struct call *k)
{
	struct call **pp;

	pthread_mutex_lock(&c->mtx);
	for (pp = &c->open; *pp != NULL; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	pthread_mutex_unlock(&c->mtx);
	nng_ctx_close(k->ctx);
}

/* Sends msg (consumed) on a fresh context and waits for its reply until the deadline. */
static int transact(csb_rpc_client *c, nng_msg *msg, uint32_t timeout_ms, nng_msg **in)
{
	uint64_t deadline = csb_mono_ms() + timeout_ms, now;
	struct call k;
	nng_aio *aio;
	int rv;

	if ((rv = nng_aio_alloc(&aio, NULL, NULL)) != 0) {
		nng_msg_free(msg);
		return rv;
	}
	if ((rv = call_open(c, &k)) != 0) {
		nng_msg_free(msg);
		goto out_free_aio;
	}
	/* With no connection yet, the send waits for one: it spends the same budget. */
	nng_aio_set_timeout(aio, duration_of(timeout_ms));
	nng_aio_set_msg(aio, msg);
	nng_ctx_send(k.ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0) {
		nng_msg_free(msg);
		goto out_close_call;
	}
	now = csb_mono_ms();
	nng_aio_set_timeout(aio, duration_of(deadline > now ? deadline - now : 0));
	nng_ctx_recv(k.ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) == 0)
		*in = nng_aio_get_msg(aio);
out_close_call:
	call_close(c, &k);
out_free_aio:
	nng_aio_free(aio);
	return rv;
}

csb_err csb__rpc_client_exchange(csb_rpc_client *c, Csb__Envelope *req, uint32_t timeout_ms,
                                 Csb__Envelope **rep)
{
	char why[CSB_RPC_ERROR_MAX];
	ProtobufCMessage *m;
	nng_msg *msg, *in = NULL;
	size_t size;
	csb_err rv;
	int nrv;

	req->request_id = atomic_fetch_add(&c->next_id, 1);
	req->deadline_ms = timeout_ms;
	if ((size = protobuf_c_message_get_packed_size(&req->base)) > c->max_msg)
		return CSB_ETOOBIG;
	if (nng_msg_alloc(&msg, size) != 0)
		return CSB_ENOMEM;
	protobuf_c_message_pack(&req->base, nng_msg_body(msg));
	if (!call_enter(c)) {
		nng_msg_free(msg);
		return CSB_ECLOSED;
	}
	nrv = transact(c, msg, timeout_ms, &in);
	call_leave(c);
	if (nrv != 0)
		return closing(c) ? CSB_ECLOSED : csb__rpc_nng_err(nrv);
	rv = csb_wire_unpack(&csb__envelope__descriptor, nng_msg_body(in), nng_msg_len(in), &m,
	                     why, sizeof(why));
	nng_msg_free(in);
	if (rv != CSB_OK) {
		csb_warn("rpc", "undecodable reply url=%s err=%s reason=\"%s\"", c->url,
		         csb_err_name(rv), why);
		return rv;
	}
	*rep = (Csb__Envelope *)m;
	if ((*rep)->request_id != req->request_id) {
		csb_warn("rpc", "reply to another request url=%s request_id=%llu reply_id=%llu",
		         c->url, (unsigned long long)req->request_id,
		         (unsigned long long)(*rep)->request_id);
		protobuf_c_message_free_unpacked(m, NULL);
		*rep = NULL;
		return CSB_EPROTO;
	}
	return CSB_OK;
}

csb__rpc_signer *csb__rpc_client_signer(csb_rpc_client *c)
{
	return c->signer;
}

/* Moves the reply body (or the server's status and error) to the caller. protobuf-c's
 * default allocator is malloc, so the unpacked body is ours to take without a copy. */
static csb_err reply_take(Csb__Envelope *rep, uint8_t **reply, size_t *reply_len,
                          char err[CSB_RPC_ERROR_MAX])
{
	if (rep->status < 0 || rep->status >= CSB_ERR_COUNT)
		return CSB_EPROTO;
	if (rep->status != CSB_OK) {
		if (err != NULL)
			snprintf(err, CSB_RPC_ERROR_MAX, "%s", rep->error);
		return (csb_err)rep->status;
	}
	if (rep->body.len == 0) {
		if ((*reply = malloc(1)) == NULL)
			return CSB_ENOMEM;
		*reply_len = 0;
		return CSB_OK;
	}
	*reply = rep->body.data;
	*reply_len = rep->body.len;
	rep->body.data = NULL;
	rep->body.len = 0;
	return CSB_OK;
}

csb_err csb_rpc_call(csb_rpc_client *c, const char *method, const void *body, size_t len,
                     uint32_t timeout_ms, uint8_t **reply, size_t *reply_len,
                     char err[CSB_RPC_ERROR_MAX])
{
	Csb__Envelope req = CSB__ENVELOPE__INIT, *rep;
	csb__rpc_auth auth = {.mem = NULL};
	csb_err rv;

	if (err != NULL)
		err[0] = '\0';
	if (c == NULL || method == NULL || strlen(method) > METHOD_MAX || (body == NULL && len > 0) ||
	    reply == NULL || reply_len == NULL)
		return CSB_EINVAL;
	*reply = NULL;
	*reply_len = 0;
	req.method = (char *)method;
	req.body.data = (uint8_t *)body;
	req.body.len = len;
	/* Entered here too, so that close does not free the signer under us. */
	if (!call_enter(c))
		return CSB_ECLOSED;
	if (c->signer != NULL) {
		if ((rv = csb__rpc_signer_current(c->signer, csb_now_ms(), &auth)) != CSB_OK)
			goto out_leave;
		req.auth = &auth.msg;
	}
	rv = csb__rpc_client_exchange(c, &req, timeout_ms, &rep);
	csb__rpc_auth_free(&auth);
	if (rv != CSB_OK)
		goto out_leave;
	rv = reply_take(rep, reply, reply_len, err);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
out_leave:
	call_leave(c);
	return rv;
}

csb_err csb_rpc_call_msg(csb_rpc_client *c, const char *method, const ProtobufCMessage *req,
                         const ProtobufCMessageDescriptor *reply_desc, uint32_t timeout_ms,
                         ProtobufCMessage **reply, char err[CSB_RPC_ERROR_MAX])
{
	uint8_t *buf, *out;
	size_t len, out_len;
	csb_err rv;

	if (err != NULL)
		err[0] = '\0';
	if (req == NULL || reply_desc == NULL || reply == NULL)
		return CSB_EINVAL;
	*reply = NULL;
	if ((rv = csb_wire_pack(req, &buf, &len)) != CSB_OK)
		return rv;
	rv = csb_rpc_call(c, method, buf, len, timeout_ms, &out, &out_len, err);
	free(buf);
	if (rv != CSB_OK)
		return rv;
	rv = csb_wire_unpack(reply_desc, out, out_len, reply, err, err != NULL ? CSB_RPC_ERROR_MAX : 0);
	free(out);
	return rv;
}

/* ---- Lifetime ----------------------------------------------------------------------- */

/* The REQ socket: no silent re-sends (a request may not be idempotent; retrying is the
 * caller's policy, and nng then fails a call whose connection drops: NNG_ECONNRESET),
 * bounded replies, a dialer that keeps reconnecting in the background. */
static csb_err socket_open(csb_rpc_client *c, const csb_rpc_client_opts *o, bool tls)
{
	nng_tls_config *cfg;
	nng_dialer d;
	csb_err rv;
	int nrv;

	if ((nrv = nng_req0_open(&c->sock)) != 0)
		return csb__rpc_nng_err(nrv);
	/* Never re-send by default: a write must not run twice. Clients whose calls are all
	 * idempotent re-send what a dying connection swallowed (o->resend_ms). */
	if ((nrv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME,
	                             o->resend_ms ? (nng_duration)o->resend_ms
	                                          : NNG_DURATION_INFINITE)) != 0 ||
	    (nrv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, c->max_msg)) != 0 ||
	    (nrv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, RECONNECT_MIN_MS)) != 0 ||
	    (nrv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, RECONNECT_MAX_MS)) != 0 ||
	    (nrv = nng_dialer_create(&d, c->sock, o->url)) != 0) {
		rv = csb__rpc_nng_err(nrv);
		goto out_close_sock;
	}
	if (tls) {
		rv = csb__rpc_tls_config(NNG_TLS_MODE_CLIENT, &o->tls, o->server_name, NULL, &cfg);
		if (rv != CSB_OK)
			goto out_close_sock;
		nrv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg);
		nng_tls_config_free(cfg); /* the dialer holds its own reference */
		if (nrv != 0) {
			rv = csb__rpc_nng_err(nrv);
			goto out_close_sock;
		}
	}
	nng_dialer_set_bool(d, NNG_OPT_TCP_NODELAY, true); /* not for ipc:// */
	if ((nrv = nng_dialer_start(d, NNG_FLAG_NONBLOCK)) != 0) {
		rv = csb__rpc_nng_err(nrv);
		goto out_close_sock;
	}
	return CSB_OK;
out_close_sock:
	nng_close(c->sock);
	return rv;
}

static uint64_t first_request_id(void)
{
	uint64_t id;

	/* Random, so that ids of a restarted client do not repeat those of the last run. */
	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = csb_now_ms() << 20;
	return (id >> 1) | 1;
}

static void client_free(csb_rpc_client *c)
{
	csb__rpc_signer_free(c->signer);
	pthread_cond_destroy(&c->idle);
	pthread_mutex_destroy(&c->mtx);
	free(c->url);
	free(c);
}

csb_err csb_rpc_client_open(const csb_rpc_client_opts *o, csb_rpc_client **out)
{
	csb_rpc_client *c;
	bool tls = false;
	csb_err rv;

	if (o == NULL || out == NULL ||
	    csb__rpc_url_check(o->url, o->allow_insecure, &o->tls, &tls) != CSB_OK)
		return CSB_EINVAL;
	if (csb__rpc_tls_given(&o->tls) && (o->server_name == NULL || o->server_name[0] == '\0'))
		return CSB_EINVAL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CSB_ENOMEM;
	pthread_mutex_init(&c->mtx, NULL);
	pthread_cond_init(&c->idle, NULL);
	atomic_init(&c->next_id, first_request_id());
	c->max_msg = o->max_msg != 0 ? o->max_msg : CSB_RPC_MAX_MSG_DEFAULT;
	if ((c->url = strdup(o->url)) == NULL) {
		rv = CSB_ENOMEM;
		goto out_free_client;
	}
	if (csb__rpc_tls_given(&o->tls) &&
	    (rv = csb__rpc_signer_open(&o->tls, o->server_name, &c->signer)) != CSB_OK)
		goto out_free_client;
	if ((rv = socket_open(c, o, tls)) != CSB_OK)
		goto out_free_client;
	csb_debug("rpc", "client open url=%s server_name=%s tls=%s", c->url,
	          o->server_name != NULL ? o->server_name : "", tls ? "yes" : "no");
	*out = c;
	return CSB_OK;
out_free_client:
	client_free(c);
	return rv;
}

void csb_rpc_client_shutdown(csb_rpc_client *c)
{
	if (c == NULL)
		return;
	/* Closing a context ends its pending send or receive with NNG_ECLOSED; nng calls
	 * back into nothing of ours, so this may hold the lock. */
	pthread_mutex_lock(&c->mtx);
	c->closing = true;
	for (struct call *k = c->open; k != NULL; k = k->next)
		nng_ctx_close(k->ctx);
	pthread_mutex_unlock(&c->mtx);
}

void csb_rpc_client_close(csb_rpc_client *c)
{
	if (c == NULL)
		return;
	csb_rpc_client_shutdown(c);
	pthread_mutex_lock(&c->mtx);
	while (c->calls > 0)
		pthread_cond_wait(&c->idle, &c->mtx);
	pthread_mutex_unlock(&c->mtx);
	nng_close(c->sock);
	client_free(c);
}
