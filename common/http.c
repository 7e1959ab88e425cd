/* csb_http_*: routes on nng's HTTP server. */
#include "common/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "common/log.h"

#define HTTP_ROUTES_MAX 16

struct route {
	csb_http_route r;
	nng_http_handler *h;
};

struct csb_http_server {
	nng_http_server *srv;
	nng_url *url;
	struct route routes[HTTP_ROUTES_MAX];
	size_t n;
	int port;
};

static void serve(nng_aio *aio)
{
	nng_http_handler *h = nng_aio_get_input(aio, 1);
	struct route *rt = nng_http_handler_get_data(h);
	csb_http_response res = {.status = 200, .content_type = "text/plain; charset=utf-8"};
	nng_http_res *out;

	rt->r.fn(rt->r.ctx, &res);
	if (nng_http_res_alloc(&out) != 0) {
		free(res.body);
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_http_res_set_status(out, (uint16_t)res.status);
	nng_http_res_set_header(out, "Content-Type", res.content_type);
	nng_http_res_set_header(out, "Cache-Control", "no-store");
	if (nng_http_res_copy_data(out, res.body ? res.body : "", res.len) != 0) {
		free(res.body);
		nng_http_res_free(out);
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	free(res.body);
	nng_aio_set_output(aio, 0, out);
	nng_aio_finish(aio, 0);
}

csb_err csb_http_start(const char *hostport, const csb_http_route *routes, size_t n,
                       csb_http_server **out)
{
	csb_http_server *s;
	char url[300];
	nng_sockaddr sa;
	int rc;

	if (hostport == NULL || n > HTTP_ROUTES_MAX || strlen(hostport) > 255)
		return CSB_EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CSB_ENOMEM;
	snprintf(url, sizeof(url), "http://%s", hostport);
	if (nng_url_parse(&s->url, url) != 0 || nng_http_server_hold(&s->srv, s->url) != 0) {
		csb_http_stop(s);
		return CSB_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		struct route *rt = &s->routes[s->n];

		rt->r = routes[i];
		if (nng_http_handler_alloc(&rt->h, rt->r.path, serve) != 0 ||
		    nng_http_handler_set_method(rt->h, "GET") != 0 ||
		    nng_http_handler_set_data(rt->h, rt, NULL) != 0 ||
		    nng_http_server_add_handler(s->srv, rt->h) != 0) {
			csb_http_stop(s);
			return CSB_ENOMEM;
		}
		s->n++;
	}
	if ((rc = nng_http_server_start(s->srv)) != 0) {
		csb_warn("http", "cannot listen addr=%s err=\"%s\"", hostport, nng_strerror(rc));
		csb_http_stop(s);
		return rc == NNG_EADDRINUSE ? CSB_EBUSY : CSB_EINVAL;
	}
	if (nng_http_server_get_addr(s->srv, &sa) == 0 && sa.s_family == NNG_AF_INET)
		s->port = ((sa.s_in.sa_port & 0xff) << 8) | (sa.s_in.sa_port >> 8);
	csb_info("http", "listening addr=%s port=%d", hostport, s->port);
	*out = s;
	return CSB_OK;
}

int csb_http_port(const csb_http_server *s)
{
	return s->port;
}

void csb_http_stop(csb_http_server *s)
{
	if (s == NULL)
		return;
	if (s->srv != NULL) {
		nng_http_server_stop(s->srv);
		nng_http_server_release(s->srv);
	}
	nng_url_free(s->url);
	free(s);
}
