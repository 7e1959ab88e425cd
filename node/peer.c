/* A peer: a reference-counted client to the partner's agent or to the coordinator. The
 * tick replaces the partner while importers and handlers may still be calling through the
 * old one: each holds a reference, and the last release closes the client (as nng's
 * nni_pipe_find()/nni_pipe_rele() keep a pipe alive while it is used). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "node/internal/node.h"

#define PEER_MAX_MSG (112u << 20)

csb_err node__peer_open(struct csb_node *n, const char *name, const char *url, const char *role,
                        struct peer **out)
{
	struct peer *p = calloc(1, sizeof(*p));
	/* Every call through a peer (Pull, DigestRanges, Split, RangeRead) is idempotent, so a
	 * request lost with a connection that died is sent again instead of waiting out its
	 * timeout. */
	csb_rpc_client_opts co = {
		.url = url,
		.server_name = name,
		.tls = n->tls,
		.max_msg = PEER_MAX_MSG,
		.resend_ms = n->cfg.long_poll_ms + 4000,
		.cms_epoch = &n->cms_epoch,
	};
	csb_err rv;

	if (p == NULL)
		return CSB_ENOMEM;
	atomic_init(&p->refs, 1);
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->url, sizeof(p->url), "%s", url);
	snprintf(p->role, sizeof(p->role), "%s", role);
	if ((rv = csb_rpc_client_open(&co, &p->cli)) != CSB_OK) {
		free(p);
		return rv;
	}
	*out = p;
	return CSB_OK;
}

struct peer *node__peer_ref(struct peer *p)
{
	if (p != NULL)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

static void *peer_close_main(void *arg)
{
	struct peer *p = arg;

	csb_rpc_client_close(p->cli);
	free(p);
	return NULL;
}

/* The last release closes the client on a thread of its own: nng 1.5.2's nng_close() can
 * hang for good when the peer is connected (common/deadline.h), and the last reference is
 * often dropped by the tick while it holds the importer table's lock (a partner or CMS
 * master that moved). Calls through it end at once (shutdown) either way. */
void node__peer_rele(struct peer *p)
{
	pthread_attr_t attr;
	pthread_t t;

	if (p == NULL || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	csb_rpc_client_shutdown(p->cli);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, peer_close_main, p) != 0)
		csb_warn("node", "cannot close a peer's client url=%s: left open", p->url);
	pthread_attr_destroy(&attr);
}

struct peer *node__partner_ref(struct csb_node *n)
{
	struct peer *p;

	pthread_mutex_lock(&n->imu);
	p = node__peer_ref(n->partner);
	pthread_mutex_unlock(&n->imu);
	return p;
}

/* One call through p; the error line names the peer and why. */
static csb_err peer_call(struct peer *p, const char *method, const ProtobufCMessage *req,
                         const ProtobufCMessageDescriptor *reply_desc, uint32_t timeout_ms,
                         ProtobufCMessage **reply, char err[CSB_RPC_ERROR_MAX])
{
	char why[CSB_RPC_ERROR_MAX];
	csb_err rv = csb_rpc_call_msg(p->cli, method, req, reply_desc, timeout_ms, reply, why);

	switch (rv) {
	case CSB_OK:
		break;
	case CSB_ENOTCONN: /* why: "<name> at <url>: <reason>" */
		node__set_error(err, "%s (%s) at %s: %s", p->name, p->role, p->url,
		                strstr(why, ": ") ? strstr(why, ": ") + 2 : why);
		break;
	case CSB_ETIMEDOUT:
	case CSB_EUNREACH:
	case CSB_ECLOSED:
		node__set_error(err, "%s (%s) at %s did not answer (%s)", p->name, p->role, p->url,
		                csb_strerror(rv));
		break;
	default:
		node__set_error(err, "%s (%s): %s", p->name, p->role, why[0] ? why : csb_strerror(rv));
	}
	return rv;
}

csb_err csb_node_partner_call(csb_node *n, const char *method, const ProtobufCMessage *req,
                              const ProtobufCMessageDescriptor *reply_desc, uint32_t timeout_ms,
                              ProtobufCMessage **reply, char err[CSB_RPC_ERROR_MAX])
{
	struct peer *p = node__partner_ref(n);
	csb_err rv;

	if (p == NULL) {
		node__set_error(err, "%s has no backup pool", n->name);
		return CSB_ENOTFOUND;
	}
	rv = peer_call(p, method, req, reply_desc, timeout_ms, reply, err);
	node__peer_rele(p);
	return rv;
}

csb_err csb_node_coordinator_call(csb_node *n, const char *method, const ProtobufCMessage *req,
                                  const ProtobufCMessageDescriptor *reply_desc,
                                  uint32_t timeout_ms, ProtobufCMessage **reply,
                                  char err[CSB_RPC_ERROR_MAX])
{
	struct peer *p;
	csb_err rv;

	pthread_mutex_lock(&n->imu);
	p = node__peer_ref(n->coord);
	pthread_mutex_unlock(&n->imu);
	if (p == NULL) {
		node__set_error(err, "%s has no coordinator", n->name);
		return CSB_ENOTFOUND;
	}
	rv = peer_call(p, method, req, reply_desc, timeout_ms, reply, err);
	node__peer_rele(p);
	return rv;
}
