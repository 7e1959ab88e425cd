/* "gRPC-like" RPC over nng REQ/REP: a method table per server, Envelope{method, request id,
 * status, error, body, auth, deadline} (proto/envelope.proto), nng contexts so one socket
 * serves many concurrent calls, handlers on a small worker pool, a deadline on every call.
 * Transport: tls+tcp:// with mutual authentication against the deployment's CA (the
 * default); tcp:// and ipc:// only with allow_insecure (tests of this layer). The only
 * code besides rpc_*.c that may touch nng sockets: none. NNG_* codes become csb_err here. */
#ifndef CSB_COMMON_RPC_H
#define CSB_COMMON_RPC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/err.h"

#define CSB_RPC_MAX_MSG_DEFAULT (16u << 20) /* bytes of one envelope on the wire */
/* Bytes of one envelope from a caller a TLS listener does not trust: the largest request
 * one pool sends another is a DigestRequest of 4096 key ranges (under 4 MiB); sync batches
 * (at most 4 MiB and a 1 MiB chunk) travel in replies. With room for the envelope and its
 * Auth. */
#define CSB_RPC_PEER_MAX_MSG_DEFAULT ((5u << 20) + (64u << 10))
#define CSB_RPC_PEER_CONNS_DEFAULT 16  /* connections of one such caller */
#define CSB_RPC_CONNS_DEFAULT 256      /* open connections of one listener */
#define CSB_RPC_ERROR_MAX 256

/* PEM files of one principal: its certificate (subject CN = principal name), its private
 * key, and the deployment's CA certificate that every peer must chain to. */
typedef struct csb_tls_files {
	const char *cert;
	const char *key;
	const char *ca;
} csb_tls_files;

/* ---- Server ------------------------------------------------------------------------ */

typedef struct csb_rpc_server csb_rpc_server;

/* What a handler is given. Valid only during the handler call. */
typedef struct csb_rpc_request {
	const char *method;
	const char *principal;  /* the caller's verified certificate CN; "" when the server
	                         * runs insecure and the caller sent no Auth */
	const uint8_t *body;
	size_t body_len;
	uint64_t deadline_mono_ms; /* csb_mono_ms() after which the caller no longer waits */
	uint64_t cms_epoch;        /* the caller's CMS epoch (Envelope.cms_epoch); 0: unknown */
} csb_rpc_request;

/* What a handler fills. body must be malloc'ed (the server frees it); error is a one-line
 * reason sent with a non-OK status. */
typedef struct csb_rpc_reply {
	uint8_t *body;
	size_t body_len;
	char error[CSB_RPC_ERROR_MAX];
} csb_rpc_reply;

/* A handler runs on a worker thread; it may block (long poll) until the deadline. Its
 * return value is the reply's status. */
typedef csb_err (*csb_rpc_handler_fn)(void *ctx, const csb_rpc_request *req,
                                      csb_rpc_reply *rep);

/* A typed handler: the dispatcher has decoded the body into msg (valid during the call;
 * the dispatcher frees it) and the method's rule has admitted the caller. */
typedef csb_err (*csb_rpc_typed_fn)(void *ctx, const csb_rpc_request *req,
                                    const ProtobufCMessage *msg, csb_rpc_reply *rep);

/* A method's authorization rule, run by the dispatcher before the handler with the caller
 * and the decoded request (NULL for a raw method). false: the call is answered CSB_EDENIED
 * with the reason written to err, and the handler does not run. Thread-safe. */
typedef bool (*csb_rpc_authorize_fn)(void *ctx, const csb_rpc_request *req,
                                     const ProtobufCMessage *msg, char err[CSB_RPC_ERROR_MAX]);

/* One method. Either raw (fn: the handler gets the body bytes) or typed (req_desc and
 * handle: the dispatcher decodes, authorizes and frees, so the handler keeps only its
 * logic). authorize may be NULL: every authenticated caller may call. */
typedef struct csb_rpc_method {
	const char *name; /* "csb.Sync/Pull" */
	csb_rpc_handler_fn fn;
	void *ctx;
	const ProtobufCMessageDescriptor *req_desc;
	csb_rpc_typed_fn handle;
	csb_rpc_authorize_fn authorize;
} csb_rpc_method;

typedef struct csb_rpc_server_opts {
	const char *url;           /* "tls+tcp://127.0.0.1:7001"; port 0 picks a free one */
	const char *name;          /* this server's principal: the Auth audience it accepts */
	csb_tls_files tls;         /* required for tls+tcp:// */
	unsigned workers;          /* concurrent handlers; 0 = 16 */
	size_t max_msg;            /* 0 = CSB_RPC_MAX_MSG_DEFAULT; larger is refused unread */
	bool allow_insecure;       /* permit tcp:// and ipc:// */
	unsigned max_conns;        /* open connections; 0 = CSB_RPC_CONNS_DEFAULT; more are closed
	                            * as they come */
	/* On a TLS listener, a caller is trusted when its certificate's CN is name or when
	 * trusted(trusted_ctx, CN) says so, decided once per connection at its handshake.
	 * trusted runs on a thread of the RPC layer and may take the application's locks; a
	 * handshake waits at most half a second for its answer (else: not trusted, on that
	 * connection), and its answer for a principal is reused for trust_memo_ms (0 = 1000)
	 * by the handshakes that follow. It is not called after csb_rpc_server_stop() or
	 * _close() returns;
	 * they wait for a call in progress. Any other
	 * caller may send at most peer_max_msg bytes in one message (0 =
	 * CSB_RPC_PEER_MAX_MSG_DEFAULT; never above max_msg) and hold at most peer_conns
	 * connections (0 = CSB_RPC_PEER_CONNS_DEFAULT): a connection that announces a larger
	 * message is dropped before a byte of it is kept, one over the count is refused. */
	bool (*trusted)(void *trusted_ctx, const char *principal);
	void *trusted_ctx;
	/* Runs for every authenticated request before its method (may be NULL): a status other
	 * than CSB_OK answers the request with it and err, and the method does not run. The
	 * CMS epoch check of DESIGN.md §4 (a coordinator deposed, a caller at an old epoch).
	 * Called with trusted_ctx; thread-safe and quick. */
	csb_err (*gate)(void *trusted_ctx, const csb_rpc_request *req, char err[CSB_RPC_ERROR_MAX]);
	size_t peer_max_msg;
	unsigned peer_conns;
	unsigned trust_memo_ms;
} csb_rpc_server_opts;

/* Listens on o->url and serves the n methods (copied; ctx pointers must outlive the
 * server). An unknown method gets CSB_ENOMETHOD; a request without valid Auth on a TLS
 * server gets CSB_EDENIED; an undecodable envelope gets CSB_EPROTO (or the pipe is
 * dropped). Returns CSB_OK, CSB_EINVAL (bad url or options), CSB_ETLS (certificate files
 * unreadable or invalid), CSB_EBUSY (address in use), CSB_ENOMEM. */
csb_err csb_rpc_server_start(const csb_rpc_server_opts *o, const csb_rpc_method *methods,
                             size_t n, csb_rpc_server **out);

/* The TCP port the server listens on (useful with port 0), or 0 for ipc://. */
int csb_rpc_server_port(const csb_rpc_server *srv);

/* Stops serving without closing the socket: pending receives end, running handlers finish
 * (they see their deadline), the workers are joined; no handler runs afterwards. For a
 * process about to exit: nng 1.5.2's nng_close() can deadlock in its reaper when peers are
 * connected (nanomsg/nng#1543), and the kernel closes the connections at exit anyway.
 * csb_rpc_server_close() may still follow. NULL is a no-op. */
void csb_rpc_server_stop(csb_rpc_server *srv);

/* Stops listening, lets running handlers finish (they see their deadline), frees srv.
 * NULL is a no-op. */
void csb_rpc_server_close(csb_rpc_server *srv);

/* ---- Client ------------------------------------------------------------------------ */

typedef struct csb_rpc_client csb_rpc_client;

typedef struct csb_rpc_client_opts {
	const char *url;           /* "tls+tcp://127.0.0.1:7001" */
	const char *server_name;   /* the peer's principal: checked against its certificate
	                            * and used as the Auth audience */
	csb_tls_files tls;         /* the caller's identity; required for tls+tcp:// */
	size_t max_msg;            /* 0 = CSB_RPC_MAX_MSG_DEFAULT */
	bool allow_insecure;
	uint32_t resend_ms;        /* 0: a request is sent once. Otherwise nng sends it again
	                            * when no reply came within this time (a request lost with a
	                            * connection that died): only for clients whose calls are
	                            * all idempotent, and longer than any call's normal time. */
	const _Atomic uint64_t *cms_epoch; /* sent with every request (Envelope.cms_epoch); NULL:
	                                    * 0. Must outlive the client. */
} csb_rpc_client_opts;

/* Opens a client (nng REQ socket, dialing in the background with reconnects). Thread-safe:
 * many threads may call through one client at once (one nng context per call).
 * Returns CSB_OK, CSB_EINVAL, CSB_ETLS, CSB_ENOMEM. */
csb_err csb_rpc_client_open(const csb_rpc_client_opts *o, csb_rpc_client **out);

/* Ends pending calls with CSB_ECLOSED and makes every later call return CSB_ECLOSED at
 * once, without freeing c: for stopping threads that may still call through it. Idempotent;
 * NULL is a no-op. */
void csb_rpc_client_shutdown(csb_rpc_client *c);

/* Shuts the client down (as above), waits until no call is inside it, and frees it.
 * No thread may call through c afterwards. NULL is a no-op. */
void csb_rpc_client_close(csb_rpc_client *c);

/* One call: sends body under method and waits at most timeout_ms for the reply.
 * On CSB_OK, *reply (malloc'ed, caller frees) and *reply_len hold the reply body.
 * On a non-OK status from the server, returns that status and copies its error text into
 * err (err may be NULL). Local failures: CSB_ENOTCONN (no connection came up within 3 s
 * or the timeout, whichever is shorter: the request was not sent, and trying again is
 * safe; err says "<server_name> at <url>: <why>", e.g. "connection refused", found by one
 * synchronous dial of at most 2 s), CSB_ETIMEDOUT (sent, no reply in time), CSB_EUNREACH (the connection dropped after the request
 * was sent: the server closed or restarted, or refused a request over its max_msg; the
 * request may or may not have run, and is never re-sent), CSB_ETOOBIG, CSB_EPROTO,
 * CSB_ECLOSED, CSB_ENOMEM, CSB_EINVAL (a NULL argument, a method over 128 bytes). */
csb_err csb_rpc_call(csb_rpc_client *c, const char *method, const void *body, size_t len,
                     uint32_t timeout_ms, uint8_t **reply, size_t *reply_len,
                     char err[CSB_RPC_ERROR_MAX]);

/* The same with protobuf-c messages: packs req, calls, and unpacks the reply with
 * reply_desc into *reply (free with protobuf_c_message_free_unpacked()), validated with
 * csb_wire_unpack(). */
csb_err csb_rpc_call_msg(csb_rpc_client *c, const char *method, const ProtobufCMessage *req,
                         const ProtobufCMessageDescriptor *reply_desc, uint32_t timeout_ms,
                         ProtobufCMessage **reply, char err[CSB_RPC_ERROR_MAX]);

#endif
