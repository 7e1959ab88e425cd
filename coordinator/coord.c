/* The coordinator's lifetime and state: its replication node (which serves the CMS to every
 * agent through the same Pull as all data), the parsed topology and configuration, the
 * admin principal, and clients to the agents. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/modules.h"
#include "coordinator/internal/audit.h"
#include "coordinator/internal/coord.h"
#include "model/rbac.h"

csb_node *coord__node(struct coord *c, csb_rpc_reply *rep)
{
	csb_node *n = atomic_load(&c->node);

	if (n == NULL && rep != NULL)
		snprintf(rep->error, sizeof(rep->error), "the coordinator is starting");
	return n;
}

bool coord__is_admin(struct coord *c, const char *principal)
{
	bool yes;

	pthread_mutex_lock(&c->mu);
	yes = csb_rbac_is_admin(c->topo, principal, c->admin);
	pthread_mutex_unlock(&c->mu);
	return yes;
}

bool coord__may_read_status(struct coord *c, const char *principal)
{
	bool yes;

	pthread_mutex_lock(&c->mu);
	yes = csb_rbac_may_read_status(c->topo, &c->cfg, principal, c->admin);
	pthread_mutex_unlock(&c->mu);
	return yes;
}

bool coord__admin_rule(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                       char err[CSB_RPC_ERROR_MAX])
{
	(void)msg;
	if (coord__is_admin(ctx, req->principal))
		return true;
	snprintf(err, CSB_RPC_ERROR_MAX, "%.150s is not a member of %s", req->principal,
	         CSB_GROUP_ADMINS);
	return false;
}

bool coord__status_rule(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                        char err[CSB_RPC_ERROR_MAX])
{
	(void)msg;
	if (coord__may_read_status(ctx, req->principal))
		return true;
	snprintf(err, CSB_RPC_ERROR_MAX,
	         "%.150s is not a member of RTCUniversalServerAdmins or of an AuthorizedUniversalGroup",
	         req->principal);
	return false;
}

/* Every agent of the topology pulls the CMS (its local replica); administrators may too. */
static bool hook_may_pull(void *ctx, const char *principal, const char *module)
{
	struct coord *c = ctx;
	bool yes;

	if (module != NULL && strcasecmp(module, CSB_MODULE_CMS) != 0)
		return false;
	pthread_mutex_lock(&c->mu);
	yes = csb_rbac_is_pool(c->topo, principal) ||
	      csb_rbac_is_admin(c->topo, principal, c->admin);
	pthread_mutex_unlock(&c->mu);
	return yes;
}

static bool hook_is_admin(void *ctx, const char *principal)
{
	return coord__is_admin(ctx, principal);
}

/* The pools' agents acknowledge the CMS (their replicas); an administrator's Pull reads. */
static bool hook_is_importer(void *ctx, const char *principal)
{
	struct coord *c = ctx;
	bool yes;

	pthread_mutex_lock(&c->mu);
	yes = csb_rbac_is_pool(c->topo, principal);
	pthread_mutex_unlock(&c->mu);
	return yes;
}

static char *cms_get(struct coord *c, const char *key)
{
	char *s = NULL;

	(void)csb_store_get_string(csb_node_store(atomic_load(&c->node)), NULL, CSB_MODULE_CMS, key,
	                           &s);
	return s;
}

void coord__agent_rele(struct agent_client *ac)
{
	if (ac == NULL || atomic_fetch_sub(&ac->refs, 1) != 1)
		return;
	csb_rpc_client_close(ac->cli);
	free(ac);
}

/* Drops the table's reference to clients whose pool left the topology or moved; callers
 * still using one keep it until they release it. c->mu held. */
static void prune_clients(struct coord *c)
{
	size_t kept = 0;

	for (size_t i = 0; i < c->n_clients; i++) {
		struct agent_client *ac = c->clients[i];
		const csb_topo_pool *p = c->topo ? csb_topology_pool(c->topo, ac->fqdn) : NULL;

		if (p == NULL || strcmp(p->agent, ac->url) != 0) {
			coord__agent_rele(ac);
			continue;
		}
		c->clients[kept++] = ac;
	}
	c->n_clients = kept;
}

const csb_topo_pool *coord__master_host(struct coord *c)
{
	const csb_topo_pool *p;

	if (c->topo == NULL)
		return NULL;
	if (c->master_pool[0] != '\0' && (p = csb_topology_pool(c->topo, c->master_pool)) != NULL)
		return p;
	return csb_topology_cms_host(c->topo);
}

void coord__refresh(struct coord *c)
{
	char *tj = cms_get(c, CSB_CMS_KEY_TOPOLOGY), *cj = cms_get(c, CSB_CMS_KEY_CONFIG);
	csb_topology *t = NULL;
	csb_backup_config cfg;
	char err[256];

	csb_config_defaults(&cfg);
	if (tj != NULL && csb_topology_parse(tj, strlen(tj), &t, err, sizeof(err)) != CSB_OK)
		csb_error("coordinator", "stored topology refused err=\"%s\"", err);
	if (cj != NULL && csb_config_parse(cj, strlen(cj), &cfg, err, sizeof(err)) != CSB_OK)
		csb_error("coordinator", "stored configuration refused err=\"%s\"", err);
	pthread_mutex_lock(&c->mu);
	csb_topology_free(c->topo);
	c->topo = t;
	c->cfg = cfg;
	prune_clients(c);
	pthread_mutex_unlock(&c->mu);
	free(tj);
	free(cj);
}

csb_err coord__put(struct coord *c, const char *const *keys, const char *const *values, size_t n)
{
	csb_write w[8];
	csb_err rv;

	if (n > 8)
		return CSB_EINVAL;
	for (size_t i = 0; i < n; i++)
		w[i] = (csb_write){CSB_OP_PUT, keys[i], strlen(keys[i]), values[i], strlen(values[i])};
	/* Never after a handover: the new master's copy would not have it. */
	pthread_mutex_lock(&c->put_mu);
	rv = atomic_load(&c->active) || c->master.epoch == 0
	         ? csb_node_write(atomic_load(&c->node), CSB_MODULE_CMS, w, n, NULL)
	         : CSB_ENOTMASTER;
	pthread_mutex_unlock(&c->put_mu);
	if (rv == CSB_OK)
		coord__refresh(c);
	return rv;
}

csb_err coord__agent(struct coord *c, const char *fqdn, struct agent_client **out,
                     char *backup, char *err)
{
	const csb_topo_pool *p;
	struct agent_client *ac = NULL;
	csb_rpc_client_opts o = {.server_name = fqdn, .tls = c->tls, .max_msg = 112u << 20,
	                         .cms_epoch = &c->cms_epoch};
	csb_err rv = CSB_OK;

	pthread_mutex_lock(&c->mu);
	if (c->topo == NULL || (p = csb_topology_pool(c->topo, fqdn)) == NULL) {
		snprintf(err, CSB_RPC_ERROR_MAX, "%.180s is not a pool of the published topology", fqdn);
		rv = CSB_ENOTFOUND;
		goto out_unlock;
	}
	if (backup != NULL)
		snprintf(backup, 254, "%s", p->backup);
	for (size_t i = 0; i < c->n_clients && ac == NULL; i++)
		if (strcasecmp(c->clients[i]->fqdn, p->fqdn) == 0)
			ac = c->clients[i];
	if (ac == NULL) {
		if (c->n_clients == COORD_CLIENTS_MAX || (ac = calloc(1, sizeof(*ac))) == NULL) {
			rv = CSB_EBUSY;
			goto out_unlock;
		}
		atomic_init(&ac->refs, 1);
		snprintf(ac->fqdn, sizeof(ac->fqdn), "%s", p->fqdn);
		snprintf(ac->url, sizeof(ac->url), "%s", p->agent);
		o.url = ac->url;
		o.server_name = ac->fqdn;
		if ((rv = csb_rpc_client_open(&o, &ac->cli)) != CSB_OK) {
			snprintf(err, CSB_RPC_ERROR_MAX, "bad agent endpoint %.120s for %.100s", p->agent, fqdn);
			free(ac);
			goto out_unlock;
		}
		c->clients[c->n_clients++] = ac;
	}
	atomic_fetch_add(&ac->refs, 1);
	*out = ac;
out_unlock:
	pthread_mutex_unlock(&c->mu);
	return rv;
}

/* A fresh CMS gets the default configuration; the admin principal is always recorded, so
 * the agents' replicas know it too. */
static csb_err seed(struct coord *c)
{
	char *cj = cms_get(c, CSB_CMS_KEY_CONFIG), *adm = cms_get(c, CSB_CMS_KEY_ADMIN);
	const char *keys[2], *vals[2];
	char *def = NULL;
	size_t n = 0;
	csb_err rv = CSB_OK;

	if (cj == NULL) {
		csb_backup_config cfg;

		csb_config_defaults(&cfg);
		if ((def = csb_config_to_json(&cfg)) == NULL) {
			rv = CSB_ENOMEM;
			goto out_free;
		}
		keys[n] = CSB_CMS_KEY_CONFIG;
		vals[n++] = def;
	}
	if (adm == NULL || strcmp(adm, c->admin) != 0) {
		keys[n] = CSB_CMS_KEY_ADMIN;
		vals[n++] = c->admin;
	}
	if (n > 0)
		rv = coord__put(c, keys, vals, n);
	else
		coord__refresh(c);
out_free:
	free(def);
	free(cj);
	free(adm);
	return rv;
}

csb_err coord__start(struct coord *c, const char *state_dir, const char *listen_url,
                     uint64_t map_size)
{
	csb_node_opts o = {
		.role = CSB_NODE_COORDINATOR,
		.name = CSB_COORDINATOR_NAME, /* the source name of every agent's CMS replica */
		.coordinator_name = c->name,  /* the principal it listens as */
		.state_dir = state_dir,
		.listen_url = listen_url,
		.tls = c->tls,
		.map_size = map_size,
		.cfg = CSB_NODE_CONFIG_DEFAULT,
		.hooks = {.may_pull = hook_may_pull,
		          .is_admin = hook_is_admin,
		          .is_importer = hook_is_importer,
		          .gate = coord__gate,
		          .ctx = c},
	};
	csb_node *node;
	csb_err rv;

	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->mmu, NULL);
	pthread_mutex_init(&c->put_mu, NULL);
	pthread_cond_init(&c->master_cv, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_destroy(&c->master_cv);
		pthread_cond_init(&c->master_cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	csb_config_defaults(&c->cfg);
	c->n_methods = coord__admin_methods(c, c->methods);
	c->n_methods += coord__forward_methods(c, c->methods + c->n_methods);
	c->n_methods += coord__audit_wrap(c->methods + c->n_methods,
	                                  coord__failover_methods(c, c->methods + c->n_methods));
	c->n_methods += coord__audit_wrap(c->methods + c->n_methods,
	                                  coord__master_methods(c, c->methods + c->n_methods));
	o.extra = c->methods;
	o.n_extra = c->n_methods;
	atomic_store(&c->deciding, true); /* until coord__master_start() read the role */
	if ((rv = csb_node_start(&o, &node)) != CSB_OK)
		return rv;
	atomic_store(&c->node, node);
	if (c->advertise[0] == '\0') { /* the listening URL, with the port it got */
		const char *colon = strrchr(listen_url, ':');

		if (strstr(listen_url, "://0.0.0.0:") != NULL || strstr(listen_url, "://[::]:") != NULL ||
		    strstr(listen_url, "://*:") != NULL)
			csb_warn("coordinator", "listening on every address url=%s without "
			         "--advertise-url: agents are not told where this coordinator is, and it "
			         "cannot take part in a CMS failover", listen_url);
		else if (colon != NULL && strcmp(colon, ":0") == 0)
			snprintf(c->advertise, sizeof(c->advertise), "%.*s:%d", (int)(colon - listen_url),
			         listen_url, csb_node_port(node));
		else
			snprintf(c->advertise, sizeof(c->advertise), "%s", listen_url);
	}
	if ((rv = seed(c)) == CSB_OK)
		rv = coord__master_start(c);
	atomic_store(&c->deciding, false);
	if (rv != CSB_OK || (rv = coord__master_loop_start(c)) != CSB_OK) {
		csb_error("coordinator", "cannot seed the CMS err=%s", csb_strerror(rv));
		atomic_store(&c->node, NULL);
		csb_node_stop(node);
		return rv;
	}
	return CSB_OK;
}

void coord__exit(struct coord *c)
{
	/* Calls to agents in flight (the status poller's) end at once. */
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->n_clients; i++)
		csb_rpc_client_shutdown(c->clients[i]->cli);
	pthread_mutex_unlock(&c->mu);
	coord__web_stop(c);
	coord__master_loop_stop(c);
	csb_node_exit(atomic_load(&c->node));
}

void coord__stop(struct coord *c)
{
	coord__master_loop_stop(c);
	csb_node_stop(atomic_load(&c->node));
	for (size_t i = 0; i < c->n_clients; i++)
		coord__agent_rele(c->clients[i]);
	c->n_clients = 0;
	csb_topology_free(c->topo);
	pthread_mutex_destroy(&c->mu);
}
