/* A small HTTP server for read-only pages (the coordinator's status page, JSON API and
 * Prometheus metrics) on nng's HTTP server. Handlers run on nng's threads and must not
 * block: they render from data the caller keeps current. Plain HTTP on the listening
 * address the operator chooses (loopback by default). */
#ifndef CSB_COMMON_HTTP_H
#define CSB_COMMON_HTTP_H

#include <stddef.h>

#include "common/err.h"

typedef struct csb_http_server csb_http_server;

typedef struct csb_http_response {
	int status;               /* 200 unless set */
	const char *content_type; /* static; "text/plain; charset=utf-8" unless set */
	char *body;               /* malloc'ed by the handler; freed by the server */
	size_t len;
} csb_http_response;

/* Fills res for a GET of the route's path; must not block. */
typedef void (*csb_http_fn)(void *ctx, csb_http_response *res);

typedef struct csb_http_route {
	const char *path; /* exact path, e.g. "/metrics" */
	csb_http_fn fn;
	void *ctx;
} csb_http_route;

/* Serves the n routes (copied; ctx must outlive the server) on host:port. Other paths get
 * 404, other methods 405. CSB_OK, CSB_EINVAL (bad address), CSB_EBUSY (in use), CSB_ENOMEM. */
csb_err csb_http_start(const char *hostport, const csb_http_route *routes, size_t n,
                       csb_http_server **out);

/* The bound TCP port. */
int csb_http_port(const csb_http_server *s);

/* Stops serving and frees s; NULL is a no-op. */
void csb_http_stop(csb_http_server *s);

#endif
