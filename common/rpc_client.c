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
#define CONNECT_WAIT_MS 3000  /* how long a call waits for a first connection */
#define PROBE_WAIT_MS 2000    /* how long finding out why there is none may take */
#define PIPES_TRACKED 8
#define TIMEOUTS_RESET 1      /* calls timed out in a row before the connections are reset */
/* Only a call given this long says something about its connection; a caller polling with a
 * short timeout (a launcher waiting for a node to start) must not churn connections. */
#define RESET_MIN_TIMEOUT_MS 2000

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
	unsigned pipes;            /* connections up (nng pipe notifications) */
	pthread_cond_t piped;      /* pipes rose above 0, or closing */
	/* What a probe needs to find out why no connection comes up. */
	char *server_name, *cert, *key, *ca;
	bool tls;
	uint64_t redial_ms;        /* when redial() last added a dialer (mono ms) */
	unsigned redials;
	nng_pipe pipe_ids[PIPES_TRACKED]; /* the connections up, to reset them */
	unsigned n_pipe_ids;
	unsigned timeouts;         /* calls timed out in a row on a connection that is up */
	const _Atomic uint64_t *cms_epoch; /* sent with every request; NULL: 0 */
};

static bool not_connected(csb_rpc_client *c, char err[CSB_RPC_ERROR_MAX]);
static void redial(csb_rpc_client *c);

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

/* Waits until a connection is up (true) or ms pass or the client closes (false). Without
 * one, a request is never sent: the caller may try again safely. */
static bool wait_pipe(csb_rpc_client *c, uint64_t ms)
{
	struct timespec ts;
	uint64_t until = csb_mono_ms() + ms;
	bool up;

	pthread_mutex_lock(&c->mtx);
	while (c->pipes == 0 && !c->closing && csb_mono_ms() < until) {
		ts.tv_sec = (time_t)(until / 1000);
		ts.tv_nsec = (long)(until % 1000) * 1000000L;
		pthread_cond_timedwait(&c->piped, &c->mtx, &ts);
	}
	up = c->pipes > 0 && !c->closing;
	pthread_mutex_unlock(&c->mtx);
	return up;
}

static void pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	csb_rpc_client *c = arg;

	pthread_mutex_lock(&c->mtx);
	if (ev == NNG_PIPE_EV_ADD_POST) {
		c->pipes++;
		if (c->n_pipe_ids < PIPES_TRACKED)
			c->pipe_ids[c->n_pipe_ids++] = p;
		pthread_cond_broadcast(&c->piped);
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		if (c->pipes > 0)
			c->pipes--;
		for (unsigned i = 0; i < c->n_pipe_ids; i++)
			if (nng_pipe_id(c->pipe_ids[i]) == nng_pipe_id(p)) {
				c->pipe_ids[i] = c->pipe_ids[--c->n_pipe_ids];
				break;
			}
	}
	pthread_mutex_unlock(&c->mtx);
}

/* Calls that time out in a row on a connection that is up: nng 1.5.2 can keep a pipe to a
 * server that restarted, on which no reply ever comes (seen after kill -9 of the server in
 * the middle of calls). The connections are closed, so that the dialers (and a fresh one)
 * connect again; calls in flight on them fail and their callers retry. */
static void note_outcome(csb_rpc_client *c, int nrv, const char *method, uint32_t timeout_ms)
{
	nng_pipe ids[PIPES_TRACKED];
	unsigned n = 0, counted = 0;

	pthread_mutex_lock(&c->mtx);
	if (nrv != NNG_ETIMEDOUT || c->closing || timeout_ms < RESET_MIN_TIMEOUT_MS) {
		if (nrv == 0)
			c->timeouts = 0;
		pthread_mutex_unlock(&c->mtx);
		return;
	}
	if (++c->timeouts >= TIMEOUTS_RESET) {
		c->timeouts = 0;
		n = c->n_pipe_ids;
		memcpy(ids, c->pipe_ids, n * sizeof(ids[0]));
		counted = c->pipes;
	}
	pthread_mutex_unlock(&c->mtx);
	if (n == 0 && counted == 0)
		return;
	csb_info("rpc", "connection reset url=%s method=%s timeout_ms=%u pipes=%u reason=\"calls "
	         "timed out in a row on a connection that is up\"", c->url, method, timeout_ms, n);
	for (unsigned i = 0; i < n; i++)
		nng_pipe_close(ids[i]);
	/* The count of connections may be stale (nng 1.5.2 does not always say a pipe went
	 * away): count the ones that still exist, and dial afresh anyway. */
	pthread_mutex_lock(&c->mtx);
	for (unsigned i = 0; i < c->n_pipe_ids;) {
		nng_sockaddr sa;

		if (nng_pipe_get_addr(c->pipe_ids[i], NNG_OPT_REMADDR, &sa) != 0)
			c->pipe_ids[i] = c->pipe_ids[--c->n_pipe_ids];
		else
			i++;
	}
	c->pipes = c->n_pipe_ids;
	pthread_mutex_unlock(&c->mtx);
	/* With none left the next call finds no connection, and a probe decides whether the
	 * dialer is stuck (redial()). */
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
	if (!wait_pipe(c, timeout_ms < CONNECT_WAIT_MS ? timeout_ms : CONNECT_WAIT_MS)) {
		call_leave(c);
		nng_msg_free(msg);
		return closing(c) ? CSB_ECLOSED : CSB_ENOTCONN;
	}
	nrv = transact(c, msg, timeout_ms, &in);
	call_leave(c);
	note_outcome(c, nrv, req->method, timeout_ms);
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
	char scratch[CSB_RPC_ERROR_MAX];
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
	req.cms_epoch = c->cms_epoch != NULL ? atomic_load(c->cms_epoch) : 0;
	/* Entered here too, so that close does not free the signer under us. */
	if (!call_enter(c))
		return CSB_ECLOSED;
	if (c->signer != NULL) {
		if ((rv = csb__rpc_signer_current(c->signer, csb_now_ms(), &auth)) != CSB_OK)
			goto out_leave;
		req.auth = &auth.msg;
	}
	rv = csb__rpc_client_exchange(c, &req, timeout_ms, &rep);
	/* No connection yet, but one dial went through: the peer is up, try once more, with a
	 * fresh dialer in case the background one gave up (redial()). */
	if (rv == CSB_ENOTCONN && not_connected(c, err != NULL ? err : scratch)) {
		redial(c);
		rv = csb__rpc_client_exchange(c, &req, timeout_ms, &rep);
	}
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

/* ---- Why there is no connection ---------------------------------------------------- */

/* A probe dials once, synchronously, on a socket of its own: nng's background dialer keeps
 * no reason, a synchronous dial returns it (refused, TLS name or CA mismatch, time-out).
 * It runs on a thread of its own so that a host that swallows SYNs costs the caller
 * PROBE_WAIT_MS at most; the probe and the waiter share it by reference count. */
struct probe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned refs;
	bool done;
	int nrv;
	char *url, *server_name;
	csb_tls_files tls;
	bool use_tls;
	char buf[5][1024];
};

static void probe_rele(struct probe *p)
{
	bool last;

	pthread_mutex_lock(&p->mu);
	last = --p->refs == 0;
	pthread_mutex_unlock(&p->mu);
	if (!last)
		return;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}

static int probe_dial(struct probe *p)
{
	nng_tls_config *cfg = NULL;
	nng_socket s;
	nng_dialer d;
	int nrv;

	if ((nrv = nng_req0_open(&s)) != 0)
		return nrv;
	if ((nrv = nng_dialer_create(&d, s, p->url)) != 0)
		goto out_close;
	if (p->use_tls) {
		if (csb__rpc_tls_config(NNG_TLS_MODE_CLIENT, &p->tls, p->server_name, NULL, &cfg) != CSB_OK) {
			nrv = NNG_ECRYPTO;
			goto out_close;
		}
		nrv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg);
		nng_tls_config_free(cfg);
		if (nrv != 0)
			goto out_close;
	}
	nrv = nng_dialer_start(d, 0);
out_close:
	nng_close(s);
	return nrv;
}

static void *probe_main(void *arg)
{
	struct probe *p = arg;
	int nrv = probe_dial(p);

	pthread_mutex_lock(&p->mu);
	p->nrv = nrv;
	p->done = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	probe_rele(p);
	return NULL;
}

static const char *probe_reason(int nrv)
{
	switch (nrv) {
	case NNG_ECONNREFUSED:
		return "connection refused";
	case NNG_EPEERAUTH:
	case NNG_ECRYPTO:
		return "TLS handshake failed (the peer's certificate name or CA does not match)";
	case NNG_ECONNRESET:
	case NNG_ECONNSHUT:
		return "connection reset during the handshake (is it a csbackup TLS endpoint?)";
	case NNG_EADDRINVAL:
		return "no such address";
	case NNG_EUNREACHABLE:
		return "host unreachable";
	case 0:
		return "connected only now; try again";
	default:
		return nng_strerror(nrv);
	}
}

/* err gets "<server> at <url>: <why>" for a call that found no connection. Returns true
 * when the probe itself connected: the peer is there, the call may be tried once more. */
static bool not_connected(csb_rpc_client *c, char err[CSB_RPC_ERROR_MAX])
{
	bool connected = false;

	struct probe *p = calloc(1, sizeof(*p));
	const char *why = "did not answer within 3 s";
	pthread_t t;
	struct timespec ts;
	uint64_t until = csb_now_ms() + PROBE_WAIT_MS;

	if (p == NULL)
		goto out_format;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->refs = 2;
	p->url = strncpy(p->buf[0], c->url, sizeof(p->buf[0]) - 1);
	p->server_name = strncpy(p->buf[1], c->server_name, sizeof(p->buf[1]) - 1);
	p->tls = (csb_tls_files){strncpy(p->buf[2], c->cert, sizeof(p->buf[2]) - 1),
	                         strncpy(p->buf[3], c->key, sizeof(p->buf[3]) - 1),
	                         strncpy(p->buf[4], c->ca, sizeof(p->buf[4]) - 1)};
	p->use_tls = c->tls;
	if (pthread_create(&t, NULL, probe_main, p) != 0) {
		p->refs = 1;
		probe_rele(p);
		goto out_format;
	}
	pthread_detach(t);
	pthread_mutex_lock(&p->mu);
	while (!p->done && csb_now_ms() < until) {
		ts.tv_sec = (time_t)(until / 1000);
		ts.tv_nsec = (long)(until % 1000) * 1000000L;
		pthread_cond_timedwait(&p->cv, &p->mu, &ts);
	}
	if (p->done) {
		why = probe_reason(p->nrv);
		connected = p->nrv == 0;
	}
	pthread_mutex_unlock(&p->mu);
	probe_rele(p);
out_format:
	snprintf(err, CSB_RPC_ERROR_MAX, "%.100s at %.100s: %s", c->server_name[0] ? c->server_name
	                                                                           : "the server",
	         c->url, why);
	return connected;
}

/* ---- Lifetime ----------------------------------------------------------------------- */

static int dialer_add(nng_socket sock, const char *url, const csb_rpc_client_opts *o, bool tls,
                      csb_err *rv);

/* nng 1.5.2's background dialer can stop for good when its peer went away in the middle of
 * a TLS handshake (it takes NNG_ECLOSED for its own end): the peer is back, a probe
 * connects, yet the socket never gets a pipe again. A second dialer on the same socket does
 * connect; the stuck one stays idle. Every dialer keeps a connection of its own and servers
 * bound connections per caller (closing a dialer is not safe in this nng), so a client adds
 * at most REDIAL_MAX of them, at most one a second. */
#define REDIAL_MAX 8

static void redial(csb_rpc_client *c)
{
	csb_rpc_client_opts o = {.url = c->url, .server_name = c->server_name,
	                         .tls = {c->cert, c->key, c->ca}};
	bool go;
	csb_err rv = CSB_OK;

	pthread_mutex_lock(&c->mtx);
	go = c->pipes == 0 && !c->closing && c->redials < REDIAL_MAX &&
	     csb_mono_ms() >= c->redial_ms + 1000;
	if (go) {
		c->redial_ms = csb_mono_ms();
		c->redials++;
	}
	pthread_mutex_unlock(&c->mtx);
	if (!go)
		return;
	if (dialer_add(c->sock, c->url, &o, c->tls, &rv) != 0)
		csb_warn("rpc", "redial failed url=%s err=%s", c->url, csb_strerror(rv));
	else
		csb_debug("rpc", "redial url=%s dialers=%u", c->url, c->redials + 1);
}

/* Creates and starts (in the background) one more dialer of sock to url. */
static int dialer_add(nng_socket sock, const char *url, const csb_rpc_client_opts *o, bool tls,
                      csb_err *rv)
{
	nng_tls_config *cfg;
	nng_dialer d;
	int nrv;

	if ((nrv = nng_dialer_create(&d, sock, url)) != 0) {
		*rv = csb__rpc_nng_err(nrv);
		return nrv;
	}
	if (tls) {
		if ((*rv = csb__rpc_tls_config(NNG_TLS_MODE_CLIENT, &o->tls, o->server_name, NULL,
		                               &cfg)) != CSB_OK) {
			nng_dialer_close(d);
			return -1;
		}
		nrv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg);
		nng_tls_config_free(cfg); /* the dialer holds its own reference */
		if (nrv != 0) {
			*rv = csb__rpc_nng_err(nrv);
			nng_dialer_close(d);
			return nrv;
		}
	}
	nng_dialer_set_bool(d, NNG_OPT_TCP_NODELAY, true); /* not for ipc:// */
	if ((nrv = nng_dialer_start(d, NNG_FLAG_NONBLOCK)) != 0) {
		*rv = csb__rpc_nng_err(nrv);
		nng_dialer_close(d);
		return nrv;
	}
	return 0;
}

/* The REQ socket: no silent re-sends (a request may not be idempotent; retrying is the
 * caller's policy, and nng then fails a call whose connection drops: NNG_ECONNRESET),
 * bounded replies, a dialer that keeps reconnecting in the background. */
static csb_err socket_open(csb_rpc_client *c, const csb_rpc_client_opts *o, bool tls)
{
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
	    (nrv = nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_POST, pipe_event, c)) != 0 ||
	    (nrv = nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, pipe_event, c)) != 0) {
		rv = csb__rpc_nng_err(nrv);
		goto out_close_sock;
	}
	if (dialer_add(c->sock, o->url, o, tls, &rv) != 0)
		goto out_close_sock;
	return CSB_OK;
out_close_sock:
	nng_close(c->sock);
	return rv;
}

static void cond_init_mono(pthread_cond_t *cv)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
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
	pthread_cond_destroy(&c->piped);
	pthread_cond_destroy(&c->idle);
	free(c->server_name);
	free(c->cert);
	free(c->key);
	free(c->ca);
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
	cond_init_mono(&c->piped);
	atomic_init(&c->next_id, first_request_id());
	c->max_msg = o->max_msg != 0 ? o->max_msg : CSB_RPC_MAX_MSG_DEFAULT;
	c->tls = tls;
	c->cms_epoch = o->cms_epoch;
	if ((c->url = strdup(o->url)) == NULL ||
	    (c->server_name = strdup(o->server_name ? o->server_name : "")) == NULL ||
	    (c->cert = strdup(o->tls.cert ? o->tls.cert : "")) == NULL ||
	    (c->key = strdup(o->tls.key ? o->tls.key : "")) == NULL ||
	    (c->ca = strdup(o->tls.ca ? o->tls.ca : "")) == NULL) {
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
	pthread_cond_broadcast(&c->piped);
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
