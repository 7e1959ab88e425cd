/* The node's lifetime: open the store, load what the export side persisted, start the
 * services, the CMS replica and the partner's imports, and the 1 Hz tick; stop them in
 * reverse order. Also the small shared helpers of the package. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "agent/internal/agent.h"
#include "common/clock.h"
#include "common/log.h"
#include "coordinator/rbac.h"
#include "coordinator/topology.h"

#define AGENT_MAX_MSG (112u << 20) /* a 100 MiB conference file in one write, and room */

void agent__set_error(char *dst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, CSB_RPC_ERROR_MAX, fmt, ap);
	va_end(ap);
}

void agent__cond_wait_until(pthread_cond_t *c, pthread_mutex_t *mu, uint64_t deadline_mono_ms)
{
	struct timespec ts = {.tv_sec = (time_t)(deadline_mono_ms / 1000),
	                      .tv_nsec = (long)(deadline_mono_ms % 1000) * 1000000L};

	pthread_cond_timedwait(c, mu, &ts);
}

void agent__sleep(struct agent *a, uint64_t ms)
{
	uint64_t until = csb_mono_ms() + ms;

	pthread_mutex_lock(&a->mu);
	while (!atomic_load(&a->stopping) && csb_mono_ms() < until)
		agent__cond_wait_until(&a->changed, &a->mu, until);
	pthread_mutex_unlock(&a->mu);
}

struct export_mod *agent__export(struct agent *a, const char *module)
{
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++)
		if (a->exp[i].module != NULL && strcasecmp(a->exp[i].module, module) == 0)
			return &a->exp[i];
	return NULL;
}

struct import_mod *agent__import(struct agent *a, const char *module)
{
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++)
		if (a->imp[i].module != NULL && strcasecmp(a->imp[i].module, module) == 0)
			return &a->imp[i];
	return NULL;
}

bool agent__is_admin(struct agent *a, const char *principal)
{
	bool yes = false;

	if (principal[0] == '\0')
		return false;
	/* The coordinator forwards administrators' status, sync and verify calls to pools. */
	if (a->role == CSB_NODE_POOL && strcmp(principal, CSB_COORDINATOR_NAME) == 0)
		return true;
	for (unsigned i = 0; i < a->n_admins; i++)
		if (strcmp(a->admins[i], principal) == 0)
			return true;
	if (a->hooks.is_admin != NULL)
		return a->hooks.is_admin(a->hooks.ctx, principal);
	pthread_mutex_lock(&a->mu);
	yes = csb_rbac_is_admin(a->topo, principal, a->builtin_admin[0] ? a->builtin_admin : NULL);
	pthread_mutex_unlock(&a->mu);
	return yes;
}

csb_err agent__check_admin(struct agent *a, const csb_rpc_request *req, csb_rpc_reply *rep,
                           bool or_self)
{
	if ((a->insecure && req->principal[0] == '\0') || agent__is_admin(a, req->principal) ||
	    (or_self && strcmp(req->principal, a->pool) == 0))
		return CSB_OK;
	agent__set_error(rep->error, "%s may not call %s on %s", req->principal, req->method, a->pool);
	return CSB_EDENIED;
}

bool agent__is_partner(struct agent *a, const char *principal)
{
	bool yes;

	pthread_rwlock_rdlock(&a->plock);
	yes = a->partner[0] != '\0' && strcmp(a->partner, principal) == 0;
	pthread_rwlock_unlock(&a->plock);
	return yes;
}

void agent__partner(struct agent *a, char *out)
{
	pthread_rwlock_rdlock(&a->plock);
	memcpy(out, a->partner, AGENT_NAME_MAX);
	pthread_rwlock_unlock(&a->plock);
}

/* The export side's totals and acknowledgement survive restarts. */
static void load_export(struct agent *a, struct export_mod *em)
{
	char name[96];
	void *v;
	size_t len;

	snprintf(name, sizeof(name), "export.records:%s", em->module);
	(void)csb_store_counter_get(a->store, name, &em->records_total);
	snprintf(name, sizeof(name), "export.bytes:%s", em->module);
	(void)csb_store_counter_get(a->store, name, &em->bytes_total);
	em->records_saved = em->records_total;
	em->bytes_saved = em->bytes_total;
	snprintf(name, sizeof(name), "export.acked:%s", em->module);
	if (csb_store_meta_get(a->store, name, &v, &len) == CSB_OK) {
		if (len == sizeof(uint64_t))
			memcpy(&em->acked_seq, v, sizeof(uint64_t));
		free(v);
	}
	em->acked_saved = em->acked_seq;
}

static csb_err parse_partner(struct agent *a, const char *spec)
{
	const char *eq = strchr(spec, '=');

	if (eq == NULL || eq == spec || (size_t)(eq - spec) >= sizeof(a->partner) ||
	    strlen(eq + 1) >= sizeof(a->partner_url) || eq[1] == '\0')
		return CSB_EINVAL;
	memcpy(a->partner, spec, (size_t)(eq - spec));
	a->partner[eq - spec] = '\0';
	strcpy(a->partner_url, eq + 1);
	a->partner_fixed = true;
	return CSB_OK;
}

/* A client to the partner or the coordinator. Every call through it (Pull, DigestRanges,
 * Split, RangeRead) is idempotent, so a request lost with a connection that died (the peer
 * restarted) is sent again instead of waiting out its timeout. */
static csb_err client_open(struct agent *a, const char *name, const char *url,
                           csb_rpc_client **out)
{
	csb_rpc_client_opts co = {
		.url = url,
		.server_name = name,
		.tls = a->tls,
		.max_msg = AGENT_MAX_MSG,
		.resend_ms = a->cfg.long_poll_ms + 4000,
	};

	return csb_rpc_client_open(&co, out);
}

void agent__partner_move(struct agent *a, const char *fqdn, const char *url)
{
	csb_rpc_client *old, *cli = NULL;
	csb_err rv;

	if (url[0] != '\0' && (rv = client_open(a, fqdn, url, &cli)) != CSB_OK) {
		csb_error("agent", "cannot reach partner pool=%s partner=%s url=%s err=%s", a->pool,
		          fqdn, url, csb_err_name(rv));
		return;
	}
	csb_rpc_client_shutdown(a->partner_cli); /* imports and handlers in calls return now */
	agent__import_stop(a);
	pthread_rwlock_wrlock(&a->plock);
	old = a->partner_cli;
	a->partner_cli = cli;
	snprintf(a->partner, sizeof(a->partner), "%s", fqdn);
	snprintf(a->partner_url, sizeof(a->partner_url), "%s", url);
	pthread_rwlock_unlock(&a->plock);
	csb_rpc_client_close(old);
	csb_info("agent", "partner pool=%s partner=%s url=%s", a->pool, fqdn[0] ? fqdn : "-",
	         url[0] ? url : "-");
	if (!atomic_load(&a->stopping))
		(void)agent__import_start(a);
}

static void *ticker_main(void *arg)
{
	struct agent *a = arg;
	uint64_t next = 0;
	bool reload;

	while (!atomic_load(&a->stopping)) {
		pthread_mutex_lock(&a->mu);
		while (!atomic_load(&a->stopping) && !a->settings_dirty && csb_mono_ms() < next)
			agent__cond_wait_until(&a->changed, &a->mu, next);
		reload = a->settings_dirty;
		a->settings_dirty = false;
		pthread_mutex_unlock(&a->mu);
		if (atomic_load(&a->stopping))
			break;
		if (reload)
			agent__settings_load(a);
		if (csb_mono_ms() >= next) {
			agent__tick(a);
			next = csb_mono_ms() + 1000;
		}
	}
	agent__tick(a); /* persist the last totals */
	return NULL;
}

/* Callers whose messages may be as large as AGENT_MAX_MSG (data writes): administrators
 * and the coordinator (the pool itself is trusted by the RPC layer); any other caller's
 * are bounded by CSB_RPC_PEER_MAX_MSG_DEFAULT. */
static bool trusted_caller(void *ctx, const char *principal)
{
	return agent__is_admin(ctx, principal);
}

static csb_err start_server(struct agent *a)
{
	csb_rpc_method methods[32];
	size_t n = 0;
	csb_rpc_server_opts so = {
		.url = a->listen_url,
		.name = a->pool,
		.tls = a->tls,
		.workers = 128, /* long polls hold one each; concurrent writers share commits */
		.max_msg = AGENT_MAX_MSG,
		.trusted = trusted_caller,
		.trusted_ctx = a,
	};

	n += agent__sync_methods(a, methods + n);
	if (a->role == CSB_NODE_POOL) {
		n += agent__data_methods(a, methods + n);
		n += agent__control_methods(a, methods + n);
		n += agent__replica_methods(a, methods + n);
	}
	for (size_t i = 0; i < a->n_extra && n < 32; i++)
		methods[n++] = a->extra[i];
	return csb_rpc_server_start(&so, methods, n, &a->srv);
}

static struct agent *agent_alloc(const csb_node_opts *o)
{
	struct agent *a = calloc(1, sizeof(*a));
	pthread_condattr_t ca;

	if (a == NULL)
		return NULL;
	a->role = o->role;
	snprintf(a->pool, sizeof(a->pool), "%s", o->name);
	snprintf(a->listen_url, sizeof(a->listen_url), "%s", o->listen_url);
	snprintf(a->coord_url, sizeof(a->coord_url), "%s", o->coordinator_url ? o->coordinator_url : "");
	for (unsigned i = 0; i < o->n_admins && i < 8; i++)
		snprintf(a->admins[a->n_admins++], AGENT_NAME_MAX, "%s", o->admins[i]);
	a->tls = o->tls;
	a->cfg = o->cfg;
	a->hooks = o->hooks;
	a->extra = o->extra;
	a->n_extra = o->n_extra;
	pthread_mutex_init(&a->mu, NULL);
	pthread_mutex_init(&a->wmu, NULL);
	pthread_rwlock_init(&a->plock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->changed, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&a->wcond, NULL);
	pthread_cond_init(&a->wdone, NULL);
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++) {
		bool cms = csb_modules[i].category == CSB_CAT_CMS;

		/* A pool exports and imports its data modules; the coordinator exports the CMS,
		 * which pools import as their local replica (cms_imp). */
		if (cms != (o->role == CSB_NODE_COORDINATOR))
			continue;
		a->exp[i].module = csb_modules[i].name;
		if (!cms)
			a->imp[i].module = csb_modules[i].name;
	}
	return a;
}

static void agent_free(struct agent *a)
{
	csb_rpc_client_close(a->partner_cli);
	csb_rpc_client_close(a->coord_cli);
	agent__settings_free(a);
	csb_store_close(a->store);
	pthread_mutex_destroy(&a->mu);
	pthread_mutex_destroy(&a->wmu);
	pthread_rwlock_destroy(&a->plock);
	pthread_cond_destroy(&a->changed);
	pthread_cond_destroy(&a->wcond);
	pthread_cond_destroy(&a->wdone);
	free(a);
}

static void stop_threads(struct agent *a)
{
	atomic_store(&a->stopping, true);
	pthread_mutex_lock(&a->mu);
	pthread_cond_broadcast(&a->changed);
	pthread_mutex_unlock(&a->mu);
	/* Imports blocked in a pull return now. */
	csb_rpc_client_shutdown(a->partner_cli);
	csb_rpc_client_shutdown(a->coord_cli);
	agent__import_stop(a);
	agent__cms_import_stop(a);
}

/* Opens the clients: the coordinator's (the CMS replica) and, when known, the partner's —
 * from --partner, or from a replica kept from an earlier run. */
static csb_err start_clients(struct agent *a)
{
	csb_err rv;

	if (a->coord_url[0] != '\0' &&
	    (rv = client_open(a, CSB_COORDINATOR_NAME, a->coord_url, &a->coord_cli)) != CSB_OK) {
		csb_error("agent", "bad coordinator url=%s err=%s", a->coord_url, csb_strerror(rv));
		return rv;
	}
	if (a->role == CSB_NODE_POOL && !a->partner_fixed)
		agent__settings_load(a); /* works on from the replica while the coordinator is away */
	if (a->partner_cli == NULL && a->partner_url[0] != '\0' &&
	    (rv = client_open(a, a->partner, a->partner_url, &a->partner_cli)) != CSB_OK) {
		csb_error("agent", "bad partner url=%s err=%s", a->partner_url, csb_strerror(rv));
		return rv;
	}
	return CSB_OK;
}

csb_err csb_node_start(const csb_node_opts *o, csb_node **out)
{
	csb_store_opts so = {.map_size = o->map_size};
	struct agent *a = agent_alloc(o);
	csb_err rv;

	if (a == NULL)
		return CSB_ENOMEM;
	if (o->partner != NULL && (rv = parse_partner(a, o->partner)) != CSB_OK) {
		csb_error("agent", "bad --partner value=\"%s\" (want FQDN=URL)", o->partner);
		goto out_free;
	}
	if ((rv = csb_store_open(o->state_dir, &so, &a->store)) != CSB_OK) {
		csb_error("agent", "cannot open store dir=%s err=%s", o->state_dir, csb_strerror(rv));
		goto out_free;
	}
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++)
		if (a->exp[i].module != NULL)
			load_export(a, &a->exp[i]);
	if ((rv = agent__writer_start(a)) != CSB_OK)
		goto out_free;
	if ((rv = start_server(a)) != CSB_OK) {
		csb_error("agent", "cannot listen url=%s err=%s", a->listen_url, csb_strerror(rv));
		goto out_stop_writer;
	}
	if ((rv = start_clients(a)) != CSB_OK)
		goto out_close_server;
	if ((rv = agent__cms_import_start(a)) != CSB_OK ||
	    (rv = agent__import_start(a)) != CSB_OK)
		goto out_stop_threads;
	a->running = true;
	if (pthread_create(&a->ticker, NULL, ticker_main, a) != 0) {
		rv = CSB_ENOMEM;
		goto out_stop_threads;
	}
	csb_info("agent", "started pool=%s listen=%s port=%d partner=%s coordinator=%s", a->pool,
	         a->listen_url, csb_rpc_server_port(a->srv), a->partner[0] ? a->partner : "-",
	         a->coord_url[0] ? a->coord_url : "-");
	*out = a;
	return CSB_OK;

out_stop_threads:
	stop_threads(a);
out_close_server:
	atomic_store(&a->stopping, true);
	csb_rpc_server_close(a->srv);
out_stop_writer:
	atomic_store(&a->stopping, true);
	agent__writer_stop(a);
out_free:
	agent_free(a);
	return rv;
}

int csb_node_port(const csb_node *a)
{
	return csb_rpc_server_port(a->srv);
}

csb_err csb_node_url_file(const csb_node *a, const char *path)
{
	char tmp[4200];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		return CSB_EIO;
	fprintf(f, "tls+tcp://127.0.0.1:%d\n", csb_node_port(a));
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return CSB_EIO;
	}
	return CSB_OK;
}

csb_store *csb_node_store(csb_node *a)
{
	return a->store;
}

csb_err csb_node_write(csb_node *a, const char *module, const csb_write *w, size_t count,
                       uint64_t *last_seq)
{
	return agent__write(a, module, w, count, last_seq);
}

size_t csb_node_importers(csb_node *a, const char *module, csb_node_importer *out, size_t max)
{
	struct export_mod *em = agent__export(a, module);
	size_t n;

	if (em == NULL)
		return 0;
	pthread_mutex_lock(&a->mu);
	n = em->n_acks;
	memcpy(out, em->acks, (n < max ? n : max) * sizeof(*out));
	pthread_mutex_unlock(&a->mu);
	return n;
}

void csb_node_quiesce(csb_node *a)
{
	if (a->quiesced)
		return;
	stop_threads(a);
	pthread_join(a->ticker, NULL);
	agent__writer_stop(a);
	a->quiesced = true;
}

void csb_node_exit(csb_node *a)
{
	csb_node_quiesce(a);
	csb_rpc_server_stop(a->srv);
	csb_store_close(a->store);
	a->store = NULL;
	csb_info("agent", "stopped pool=%s", a->pool);
}

void csb_node_stop(csb_node *a)
{
	/* Every store write ends before the sockets close: closing nng sockets can hang in
	 * nng 1.5.2 (common/deadline.h). */
	csb_node_quiesce(a);
	csb_rpc_server_close(a->srv);
	csb_info("agent", "stopped pool=%s", a->pool);
	agent_free(a);
}
