/* csb_rpc_server: one nng REP socket, a pool of worker threads each with its own nng
 * context, a method table. A worker receives an Envelope, authenticates the caller
 * (rpc_auth.c), runs the method's handler, and replies. See common/rpc.h. What a caller
 * can make the server hold before that is bounded here (open connections) and on TLS
 * listeners by the engine (rpc_tls_engine.c: message size and connections per caller). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "common/clock.h"
#include "common/internal/rpc_internal.h"
#include "common/log.h"
#include "common/wire.h"

#define WORKERS_DEFAULT 16
#define DEADLINE_DEFAULT_MS (30u * 1000)
#define DEADLINE_MAX_MS (10u * 60 * 1000)
#define SEND_TIMEOUT_MS 10000 /* a reply the peer does not take in this time is dropped */

struct worker {
	csb_rpc_server *srv;
	pthread_t thread;
	nng_ctx ctx;
	nng_aio *aio;
};

struct csb_rpc_server {
	nng_socket sock;
	nng_listener listener;
	csb__rpc_verifier *verifier; /* NULL without TLS files: callers are not identified */
	csb_rpc_method *methods;
	size_t n_methods;
	char *url;
	size_t max_msg;
	csb__rpc_admit *admit;       /* NULL without TLS */
	unsigned max_conns;
	atomic_uint conns;           /* pipes added and not yet removed */
	int port;
	unsigned n_workers;
	unsigned n_started;          /* threads running, for close */
	struct worker *workers;
	csb_err (*gate)(void *ctx, const csb_rpc_request *req, char err[CSB_RPC_ERROR_MAX]);
	void *gate_ctx;
};

/* ---- Serving one request ------------------------------------------------------------ */

/* Packs a reply envelope into a new nng message; NULL (reply dropped, the caller times
 * out) only when memory runs out. A body over max_msg becomes CSB_ETOOBIG. */
static nng_msg *reply_msg(csb_rpc_server *srv, uint64_t id, csb_err status, const char *error,
                          const uint8_t *body, size_t len)
{
	Csb__Envelope e = CSB__ENVELOPE__INIT;
	char why[CSB_RPC_ERROR_MAX];
	nng_msg *m;
	size_t size;

	e.request_id = id;
	e.status = (int32_t)status;
	if (status != CSB_OK)
		e.error = (char *)(error[0] != '\0' ? error : csb_strerror(status));
	else if (len > 0) {
		e.body.data = (uint8_t *)body;
		e.body.len = len;
	}
	size = protobuf_c_message_get_packed_size(&e.base);
	if (size > srv->max_msg) {
		snprintf(why, sizeof(why), "reply of %zu bytes over the server's bound of %zu", size,
		         srv->max_msg);
		return reply_msg(srv, id, CSB_ETOOBIG, why, NULL, 0);
	}
	if (nng_msg_alloc(&m, size) != 0) {
		csb_error("rpc", "reply dropped url=%s request_id=%llu err=ENOMEM", srv->url,
		          (unsigned long long)id);
		return NULL;
	}
	protobuf_c_message_pack(&e.base, nng_msg_body(m));
	return m;
}

/* A method name from the wire made safe for a key=value log line. */
static const char *log_word(const char *in, char out[129])
{
	size_t i;

	for (i = 0; i < 128 && in[i] != '\0'; i++)
		out[i] = in[i] > 0x20 && in[i] < 0x7f && in[i] != '"' ? in[i] : '?';
	out[i] = '\0';
	return out;
}

static const csb_rpc_method *method_find(const csb_rpc_server *srv, const char *name)
{
	for (size_t i = 0; i < srv->n_methods; i++)
		if (strcmp(srv->methods[i].name, name) == 0)
			return &srv->methods[i];
	return NULL;
}

static uint64_t deadline_of(const Csb__Envelope *req)
{
	uint32_t ms = req->deadline_ms;

	if (ms == 0)
		ms = DEADLINE_DEFAULT_MS;
	else if (ms > DEADLINE_MAX_MS)
		ms = DEADLINE_MAX_MS;
	return csb_mono_ms() + ms;
}

/* Decodes (typed methods), authorizes, runs the handler and frees the decoded request. */
static csb_err run_method(const csb_rpc_method *m, const csb_rpc_request *rq, csb_rpc_reply *rep)
{
	ProtobufCMessage *msg = NULL;
	csb_err rv;

	if (m->req_desc != NULL &&
	    (rv = csb_wire_unpack(m->req_desc, rq->body, rq->body_len, &msg, rep->error,
	                          sizeof(rep->error))) != CSB_OK)
		return rv;
	if (m->authorize != NULL && !m->authorize(m->ctx, rq, msg, rep->error)) {
		rv = CSB_EDENIED;
		goto out_free_msg;
	}
	rv = m->req_desc != NULL ? m->handle(m->ctx, rq, msg, rep) : m->fn(m->ctx, rq, rep);
out_free_msg:
	if (msg != NULL)
		protobuf_c_message_free_unpacked(msg, NULL);
	return rv;
}

/* Runs the handler; its body is freed here whatever it returned. */
static nng_msg *call_handler(csb_rpc_server *srv, const csb_rpc_method *m,
                             const Csb__Envelope *req, const char *principal)
{
	csb_rpc_request rq = {
		.method = req->method,
		.principal = principal,
		.body = req->body.data,
		.body_len = req->body.len,
		.deadline_mono_ms = deadline_of(req),
		.cms_epoch = req->cms_epoch,
	};
	csb_rpc_reply rep = {.body = NULL};
	nng_msg *out;
	csb_err rv;

	rv = srv->gate != NULL ? srv->gate(srv->gate_ctx, &rq, rep.error) : CSB_OK;
	if (rv == CSB_OK)
		rv = run_method(m, &rq, &rep);
	rep.error[CSB_RPC_ERROR_MAX - 1] = '\0';
	if ((unsigned)rv >= CSB_ERR_COUNT) {
		csb_error("rpc", "handler returned an unknown status method=%s status=%d", m->name,
		          (int)rv);
		snprintf(rep.error, sizeof(rep.error), "handler returned status %d", (int)rv);
		rv = CSB_EINTERNAL;
	}
	out = reply_msg(srv, req->request_id, rv, rep.error, rep.body, rep.body_len);
	free(rep.body);
	return out;
}

static nng_msg *dispatch(csb_rpc_server *srv, const Csb__Envelope *req)
{
	char principal[CSB__RPC_PRINCIPAL_MAX] = "", err[CSB_RPC_ERROR_MAX], word[129];
	const csb_rpc_method *m;
	csb_err rv;

	if (srv->verifier != NULL) {
		rv = csb__rpc_verifier_check(srv->verifier, req->auth, csb_now_ms(), principal, err);
		if (rv != CSB_OK) {
			csb_warn("rpc", "request denied url=%s method=%s reason=\"%s\"", srv->url,
			         log_word(req->method, word), err);
			return reply_msg(srv, req->request_id, rv, err, NULL, 0);
		}
	}
	if ((m = method_find(srv, req->method)) == NULL) {
		log_word(req->method, word);
		snprintf(err, sizeof(err), "unknown method \"%s\"", word);
		csb_warn("rpc", "unknown method url=%s method=%s principal=%s", srv->url, word,
		         principal);
		return reply_msg(srv, req->request_id, CSB_ENOMETHOD, err, NULL, 0);
	}
	return call_handler(srv, m, req, principal);
}

static nng_msg *serve(csb_rpc_server *srv, nng_msg *in)
{
	char err[CSB_RPC_ERROR_MAX];
	ProtobufCMessage *msg;
	nng_msg *out;
	csb_err rv;

	rv = csb_wire_unpack(&csb__envelope__descriptor, nng_msg_body(in), nng_msg_len(in), &msg,
	                     err, sizeof(err));
	if (rv != CSB_OK) {
		csb_warn("rpc", "undecodable request url=%s bytes=%zu err=%s reason=\"%s\"", srv->url,
		         nng_msg_len(in), csb_err_name(rv), err);
		return reply_msg(srv, 0, CSB_EPROTO, err, NULL, 0);
	}
	out = dispatch(srv, (const Csb__Envelope *)msg);
	protobuf_c_message_free_unpacked(msg, NULL);
	return out;
}

/* Receive, serve, reply — until close closes the worker's context. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	nng_msg *in, *out;
	nng_pipe pipe;
	int rv;

	for (;;) {
		nng_aio_set_timeout(w->aio, NNG_DURATION_INFINITE);
		nng_ctx_recv(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		if ((rv = nng_aio_result(w->aio)) == NNG_ECLOSED || rv == NNG_ECANCELED)
			break;
		if (rv != 0)
			continue;
		in = nng_aio_get_msg(w->aio);
		pipe = nng_msg_get_pipe(in);
		out = serve(w->srv, in);
		nng_msg_free(in);
		if (out == NULL)
			continue;
		nng_aio_set_timeout(w->aio, SEND_TIMEOUT_MS);
		nng_aio_set_msg(w->aio, out);
		nng_ctx_send(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		if ((rv = nng_aio_result(w->aio)) != 0) {
			nng_msg_free(out);
			if (rv == NNG_ECLOSED)
				break;
			/* nng's REP queues a reply behind the one its connection is still sending
			 * and drops it at the time-out: the caller would wait its whole deadline
			 * for an answer that never comes. Closing the connection tells it at once
			 * (its call ends with CSB_EUNREACH, its client reconnects). */
			csb_warn("rpc", "reply not sent url=%s err=%s reason=\"connection closed: the "
			         "reply waited %d ms behind others\"",
			         w->srv->url, nng_strerror(rv), SEND_TIMEOUT_MS);
			nng_pipe_close(pipe);
		}
	}
	return NULL;
}

/* ---- Lifetime ----------------------------------------------------------------------- */

static csb_err methods_copy(csb_rpc_server *srv, const csb_rpc_method *methods, size_t n)
{
	if (n == 0)
		return CSB_OK;
	if ((srv->methods = calloc(n, sizeof(*methods))) == NULL)
		return CSB_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (methods[i].name == NULL ||
		    (methods[i].req_desc != NULL ? methods[i].handle == NULL : methods[i].fn == NULL))
			return CSB_EINVAL;
		srv->methods[i] = methods[i];
		if ((srv->methods[i].name = strdup(methods[i].name)) == NULL)
			return CSB_ENOMEM;
		srv->n_methods = i + 1;
	}
	return CSB_OK;
}

static void server_free(csb_rpc_server *srv)
{
	for (size_t i = 0; i < srv->n_methods; i++)
		free((char *)srv->methods[i].name);
	free(srv->methods);
	if (srv->workers != NULL)
		for (unsigned i = 0; i < srv->n_workers; i++)
			if (srv->workers[i].aio != NULL)
				nng_aio_free(srv->workers[i].aio);
	free(srv->workers);
	csb__rpc_admit_release(srv->admit);
	csb__rpc_verifier_free(srv->verifier);
	free(srv->url);
	free(srv);
}

/* Counts the listener's connections and closes those over max_conns as they come: each
 * may hold a message in the making. */
static void pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	csb_rpc_server *srv = arg;
	unsigned n;

	if (ev == NNG_PIPE_EV_REM_POST) {
		atomic_fetch_sub(&srv->conns, 1);
		return;
	}
	if ((n = atomic_fetch_add(&srv->conns, 1)) < srv->max_conns)
		return;
	csb_warn("rpc", "connection refused url=%s conns=%u max=%u reason=\"too many connections\"",
	         srv->url, n, srv->max_conns);
	nng_pipe_close(p);
}

static csb_err admit_open(csb_rpc_server *srv, const csb_rpc_server_opts *o)
{
	csb__rpc_admit_opts ao = {
		.self = o->name,
		.max_msg = srv->max_msg,
		.peer_max_msg = o->peer_max_msg != 0 ? o->peer_max_msg : CSB_RPC_PEER_MAX_MSG_DEFAULT,
		.peer_conns = o->peer_conns != 0 ? o->peer_conns : CSB_RPC_PEER_CONNS_DEFAULT,
		.trusted = o->trusted,
		.ctx = o->trusted_ctx,
		.trust_memo_ms = o->trust_memo_ms,
	};

	if (ao.peer_max_msg > srv->max_msg)
		ao.peer_max_msg = srv->max_msg;
	return csb__rpc_admit_new(&ao, &srv->admit);
}

/* The listener, with TLS when the url asks for it, bound now so errors are reported. */
static csb_err listen_start(csb_rpc_server *srv, const csb_rpc_server_opts *o, bool tls)
{
	nng_tls_config *cfg;
	csb_err rv;
	int nrv;

	if ((nrv = nng_listener_create(&srv->listener, srv->sock, o->url)) != 0)
		return csb__rpc_nng_err(nrv);
	if (tls) {
		if ((rv = admit_open(srv, o)) != CSB_OK ||
		    (rv = csb__rpc_tls_config(NNG_TLS_MODE_SERVER, &o->tls, NULL, srv->admit, &cfg)) !=
		        CSB_OK)
			return rv;
		nrv = nng_listener_set_ptr(srv->listener, NNG_OPT_TLS_CONFIG, cfg);
		nng_tls_config_free(cfg); /* the listener holds its own reference */
		if (nrv != 0)
			return csb__rpc_nng_err(nrv);
	}
	nng_listener_set_bool(srv->listener, NNG_OPT_TCP_NODELAY, true); /* not for ipc:// */
	if ((nrv = nng_listener_start(srv->listener, 0)) != 0) {
		csb_warn("rpc", "cannot listen url=%s err=%s", o->url, nng_strerror(nrv));
		return csb__rpc_nng_err(nrv);
	}
	if (nng_listener_get_int(srv->listener, NNG_OPT_TCP_BOUND_PORT, &srv->port) != 0)
		srv->port = 0;
	return CSB_OK;
}

static csb_err socket_open(csb_rpc_server *srv, const csb_rpc_server_opts *o, bool tls)
{
	csb_err rv;
	int nrv;

	if ((nrv = nng_rep0_open(&srv->sock)) != 0)
		return csb__rpc_nng_err(nrv);
	/* nng drops a pipe that announces a bigger message, before reading it. */
	if ((nrv = nng_socket_set_size(srv->sock, NNG_OPT_RECVMAXSZ, srv->max_msg)) != 0 ||
	    (nrv = nng_pipe_notify(srv->sock, NNG_PIPE_EV_ADD_PRE, pipe_event, srv)) != 0 ||
	    (nrv = nng_pipe_notify(srv->sock, NNG_PIPE_EV_REM_POST, pipe_event, srv)) != 0) {
		rv = csb__rpc_nng_err(nrv);
		goto out_close_sock;
	}
	if ((rv = listen_start(srv, o, tls)) != CSB_OK)
		goto out_close_sock;
	return CSB_OK;
out_close_sock:
	nng_close(srv->sock);
	return rv;
}

static csb_err workers_start(csb_rpc_server *srv)
{
	int nrv;

	if ((srv->workers = calloc(srv->n_workers, sizeof(*srv->workers))) == NULL)
		return CSB_ENOMEM;
	for (unsigned i = 0; i < srv->n_workers; i++) {
		struct worker *w = &srv->workers[i];

		w->srv = srv;
		if ((nrv = nng_aio_alloc(&w->aio, NULL, NULL)) != 0 ||
		    (nrv = nng_ctx_open(&w->ctx, srv->sock)) != 0)
			return csb__rpc_nng_err(nrv);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			return CSB_ENOMEM;
		srv->n_started = i + 1;
	}
	return CSB_OK;
}

static csb_err opts_check(const csb_rpc_server_opts *o, const csb_rpc_method *methods,
                          size_t n, bool *tls)
{
	if (o == NULL || (methods == NULL && n > 0))
		return CSB_EINVAL;
	if (csb__rpc_url_check(o->url, o->allow_insecure, &o->tls, tls) != CSB_OK)
		return CSB_EINVAL;
	if (csb__rpc_tls_given(&o->tls) && (o->name == NULL || o->name[0] == '\0'))
		return CSB_EINVAL; /* the audience callers sign for */
	return CSB_OK;
}

csb_err csb_rpc_server_start(const csb_rpc_server_opts *o, const csb_rpc_method *methods,
                             size_t n, csb_rpc_server **out)
{
	csb_rpc_server *srv;
	bool tls = false;
	csb_err rv;

	if (out == NULL || (rv = opts_check(o, methods, n, &tls)) != CSB_OK)
		return CSB_EINVAL;
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return CSB_ENOMEM;
	srv->max_msg = o->max_msg != 0 ? o->max_msg : CSB_RPC_MAX_MSG_DEFAULT;
	srv->n_workers = o->workers != 0 ? o->workers : WORKERS_DEFAULT;
	srv->max_conns = o->max_conns != 0 ? o->max_conns : CSB_RPC_CONNS_DEFAULT;
	srv->gate = o->gate;
	srv->gate_ctx = o->trusted_ctx;
	atomic_init(&srv->conns, 0);
	if ((srv->url = strdup(o->url)) == NULL) {
		rv = CSB_ENOMEM;
		goto out_free_srv;
	}
	if ((rv = methods_copy(srv, methods, n)) != CSB_OK)
		goto out_free_srv;
	if (csb__rpc_tls_given(&o->tls) &&
	    (rv = csb__rpc_verifier_open(o->tls.ca, o->name, &srv->verifier)) != CSB_OK)
		goto out_free_srv;
	if ((rv = socket_open(srv, o, tls)) != CSB_OK)
		goto out_free_srv;
	if ((rv = workers_start(srv)) != CSB_OK)
		goto out_stop_workers;
	csb_info("rpc", "server listening url=%s port=%d name=%s workers=%u tls=%s auth=%s "
	         "max_msg=%zu max_conns=%u",
	         srv->url, srv->port, o->name != NULL ? o->name : "", srv->n_workers,
	         tls ? "yes" : "no", srv->verifier != NULL ? "yes" : "no", srv->max_msg,
	         srv->max_conns);
	*out = srv;
	return CSB_OK;
out_stop_workers:
	csb_rpc_server_close(srv);
	return rv;
out_free_srv:
	server_free(srv);
	return rv;
}

int csb_rpc_server_port(const csb_rpc_server *srv)
{
	return srv != NULL ? srv->port : 0;
}

static void workers_stop(csb_rpc_server *srv)
{
	/* Closing a worker's context ends its pending receive (NNG_ECLOSED); a worker in a
	 * handler finishes it, fails to send, and leaves. */
	for (unsigned i = 0; i < srv->n_started; i++)
		nng_ctx_close(srv->workers[i].ctx);
	for (unsigned i = 0; i < srv->n_started; i++)
		pthread_join(srv->workers[i].thread, NULL);
	srv->n_started = 0;
}

void csb_rpc_server_stop(csb_rpc_server *srv)
{
	if (srv == NULL)
		return;
	csb__rpc_admit_close(srv->admit); /* trusted()'s context may go away after this */
	workers_stop(srv);
	csb_info("rpc", "server stopped url=%s port=%d", srv->url, srv->port);
}

void csb_rpc_server_close(csb_rpc_server *srv)
{
	if (srv == NULL)
		return;
	/* The socket is closed only after the workers left: nng 1.5 may free its protocol
	 * state under a thread still inside nng_ctx_*(). The listener goes first, with its
	 * connections: callers learn at once (CSB_EUNREACH). */
	csb__rpc_admit_close(srv->admit);
	nng_listener_close(srv->listener);
	workers_stop(srv);
	nng_close(srv->sock);
	csb_info("rpc", "server closed url=%s port=%d", srv->url, srv->port);
	server_free(srv);
}
