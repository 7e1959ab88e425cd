/* The node's lifetime: open the store, load what the export side persisted, start the
 * Sync service (and the role's extra methods), the CMS replica's importer, the writer and
 * the 1 Hz tick; stop them in reverse order. The tick is the one place that moves the
 * partner: csb_node_set_partner() only records what is wanted (as Redis's
 * replicationSetMaster sets a state and lets replicationCron act). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "node/internal/node.h"

#define NODE_MAX_MSG (112u << 20) /* a 100 MiB conference file in one write, and room */

void node__set_error(char *dst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, CSB_RPC_ERROR_MAX, fmt, ap);
	va_end(ap);
}

void node__cond_init(pthread_cond_t *c)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(c, &ca);
	pthread_condattr_destroy(&ca);
}

void node__cond_wait_until(pthread_cond_t *c, pthread_mutex_t *mu, uint64_t deadline_mono_ms)
{
	struct timespec ts = {.tv_sec = (time_t)(deadline_mono_ms / 1000),
	                      .tv_nsec = (long)(deadline_mono_ms % 1000) * 1000000L};

	pthread_cond_timedwait(c, mu, &ts);
}

void node__kick(struct csb_node *n)
{
	pthread_mutex_lock(&n->tmu);
	n->tick_now = true;
	pthread_cond_broadcast(&n->tcond);
	pthread_mutex_unlock(&n->tmu);
}

struct export_mod *node__export(struct csb_node *n, const char *module)
{
	if (module == NULL)
		return NULL;
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++)
		if (n->exp[i].module != NULL && strcasecmp(n->exp[i].module, module) == 0)
			return &n->exp[i];
	return NULL;
}

bool node__is_admin(struct csb_node *n, const char *principal)
{
	if (principal[0] == '\0')
		return false;
	/* The coordinator forwards administrators' status, sync and verify calls to pools. */
	if (n->role == CSB_NODE_POOL && strcmp(principal, n->coord_name) == 0)
		return true;
	return n->hooks.is_admin != NULL && n->hooks.is_admin(n->hooks.ctx, principal);
}

bool node__is_partner(struct csb_node *n, const char *principal)
{
	bool yes;

	pthread_mutex_lock(&n->imu);
	yes = n->partner != NULL && strcasecmp(n->partner->name, principal) == 0;
	pthread_mutex_unlock(&n->imu);
	return yes;
}

bool node__is_importer(struct csb_node *n, const char *principal)
{
	if (n->hooks.is_importer != NULL)
		return n->hooks.is_importer(n->hooks.ctx, principal);
	return node__is_partner(n, principal);
}

/* ---- Public small accessors ---------------------------------------------------------- */

const char *csb_node_name(const csb_node *n)
{
	return n->name;
}

csb_node_config csb_node_cfg(csb_node *n)
{
	csb_node_config c;

	pthread_mutex_lock(&n->cfg_mu);
	c = n->cfg;
	pthread_mutex_unlock(&n->cfg_mu);
	return c;
}

void csb_node_set_sync_interval(csb_node *n, uint64_t ms)
{
	pthread_mutex_lock(&n->cfg_mu);
	if (n->cfg.sync_interval_ms != ms)
		csb_info("node", "setting pool=%s SyncInterval=%" PRIu64, n->name, ms);
	n->cfg.sync_interval_ms = ms;
	pthread_mutex_unlock(&n->cfg_mu);
}

bool csb_node_exports(csb_node *n, const char *module)
{
	return node__export(n, module) != NULL;
}

static int module_index(const char *module)
{
	for (int i = 0; i < CSB_MODULE_COUNT; i++)
		if (strcasecmp(csb_modules[i].name, module) == 0)
			return i;
	return -1;
}

void csb_node_set_module_enabled(csb_node *n, const char *module, bool on)
{
	int i = module_index(module);
	bool changed;

	if (i < 0)
		return;
	pthread_mutex_lock(&n->cfg_mu);
	changed = n->disabled[i] == on;
	n->disabled[i] = !on;
	n->modules_changed |= changed;
	pthread_mutex_unlock(&n->cfg_mu);
	if (!changed)
		return;
	csb_info("node", "module %s pool=%s module=%s", on ? "enabled" : "disabled", n->name, module);
	node__kick(n);
}

bool csb_node_module_enabled(csb_node *n, const char *module)
{
	int i = module_index(module);
	bool on;

	if (i < 0)
		return false;
	pthread_mutex_lock(&n->cfg_mu);
	on = !n->disabled[i];
	pthread_mutex_unlock(&n->cfg_mu);
	return on;
}

void csb_node_set_max_calls(csb_node *n, unsigned max)
{
	pthread_mutex_lock(&n->cfg_mu);
	if (n->max_calls != max)
		csb_info("node", "setting pool=%s MaxConcurrentCalls=%u", n->name, max);
	n->max_calls = max;
	pthread_mutex_unlock(&n->cfg_mu);
}

bool node__call_enter(struct csb_node *n, csb_rpc_reply *rep)
{
	bool ok;
	unsigned max;

	pthread_mutex_lock(&n->cfg_mu);
	max = n->max_calls;
	if ((ok = max == 0 || n->calls < max))
		n->calls++;
	pthread_mutex_unlock(&n->cfg_mu);
	if (!ok)
		node__set_error(rep->error, "%s serves %u replication calls at once "
		                "(MaxConcurrentCalls); try again", n->name, max);
	return ok;
}

void node__call_leave(struct csb_node *n)
{
	pthread_mutex_lock(&n->cfg_mu);
	n->calls--;
	pthread_mutex_unlock(&n->cfg_mu);
}

void node__call_pause(struct csb_node *n)
{
	node__call_leave(n);
}

void node__call_resume(struct csb_node *n)
{
	pthread_mutex_lock(&n->cfg_mu);
	n->calls++;
	pthread_mutex_unlock(&n->cfg_mu);
}

void csb_node_set_read_only(csb_node *n, const char *why)
{
	bool was;

	pthread_mutex_lock(&n->cfg_mu);
	was = n->read_only;
	n->read_only = why != NULL;
	node__set_error(n->read_only_why, "%s", why ? why : "");
	pthread_mutex_unlock(&n->cfg_mu);
	if (was != (why != NULL))
		csb_info("node", "%s pool=%s why=\"%s\"", why ? "read-only" : "writable", n->name,
		         why ? why : "");
}

bool csb_node_read_only(csb_node *n, char *why)
{
	bool ro;

	pthread_mutex_lock(&n->cfg_mu);
	ro = n->read_only;
	if (ro && why != NULL)
		memcpy(why, n->read_only_why, CSB_RPC_ERROR_MAX);
	pthread_mutex_unlock(&n->cfg_mu);
	return ro;
}

void csb_node_set_partner(csb_node *n, const char *fqdn, const char *url)
{
	pthread_mutex_lock(&n->imu);
	snprintf(n->want_partner, sizeof(n->want_partner), "%s", fqdn);
	snprintf(n->want_url, sizeof(n->want_url), "%s", url);
	n->want_set = true;
	pthread_mutex_unlock(&n->imu);
	node__kick(n);
}

void csb_node_partner(csb_node *n, char *out)
{
	pthread_mutex_lock(&n->imu);
	snprintf(out, CSB_NODE_NAME_MAX, "%s", n->partner ? n->partner->name : "");
	pthread_mutex_unlock(&n->imu);
}

/* ---- The export side's persisted totals ---------------------------------------------- */

/* The export side's totals and acknowledgement survive restarts; the acknowledgement is
 * stored with the partner that gave it (seq, then the name). */
static void load_export(struct csb_node *n, struct export_mod *em)
{
	char name[96];
	void *v;
	size_t len;

	snprintf(name, sizeof(name), "export.records:%s", em->module);
	(void)csb_store_counter_get(n->store, name, &em->records_total);
	snprintf(name, sizeof(name), "export.bytes:%s", em->module);
	(void)csb_store_counter_get(n->store, name, &em->bytes_total);
	em->records_saved = em->records_total;
	em->bytes_saved = em->bytes_total;
	snprintf(name, sizeof(name), "export.acked:%s", em->module);
	if (csb_store_meta_get(n->store, name, &v, &len) == CSB_OK) {
		if (len >= sizeof(uint64_t) && len < sizeof(uint64_t) + sizeof(em->acked_by)) {
			memcpy(&em->acked_seq, v, sizeof(uint64_t));
			memcpy(em->acked_by, (char *)v + sizeof(uint64_t), len - sizeof(uint64_t));
			em->acked_by[len - sizeof(uint64_t)] = '\0';
		}
		free(v);
	}
	em->acked_saved = em->acked_seq;
}

/* ---- The tick: the one place that moves importers ------------------------------------ */

/* Starts the partner's importers (imu held). */
static void partner_start_importers(struct csb_node *n)
{
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++) {
		if (n->exp[i].module == NULL || n->role != CSB_NODE_POOL || n->imp[i] != NULL ||
		    !csb_node_module_enabled(n, n->exp[i].module))
			continue;
		if (node__importer_start(n, n->partner, n->partner->name, n->exp[i].module,
		                         &n->imp[i]) != CSB_OK)
			csb_error("node", "cannot start importer pool=%s source=%s module=%s", n->name,
			          n->partner->name, n->exp[i].module);
	}
}

/* Tells im to stop and lists it for reaping (imu held). */
static void retire(struct csb_node *n, struct importer **slot)
{
	struct importer *im = *slot;

	if (im == NULL)
		return;
	*slot = NULL;
	node__importer_close(im);
	if (n->n_retiring < NODE_RETIRING_MAX) {
		n->retiring[n->n_retiring++] = im;
		return;
	}
	node__importer_join(im); /* never reached in practice: 64 moves within one tick */
	node__importer_rele(im);
}

/* Joins the retired importers that have exited; never waits for one (imu held). */
static void reap(struct csb_node *n)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < n->n_retiring; i++) {
		if (node__importer_reap(n->retiring[i]))
			node__importer_rele(n->retiring[i]);
		else
			n->retiring[kept++] = n->retiring[i];
	}
	n->n_retiring = kept;
}

/* Stops the importers of modules turned off and starts those turned on (imu held). */
static void modules_reconcile(struct csb_node *n)
{
	bool changed;

	pthread_mutex_lock(&n->cfg_mu);
	changed = n->modules_changed;
	n->modules_changed = false;
	pthread_mutex_unlock(&n->cfg_mu);
	if (!changed)
		return;
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++)
		if (n->imp[i] != NULL && !csb_node_module_enabled(n, n->imp[i]->module))
			retire(n, &n->imp[i]);
	if (n->partner != NULL)
		partner_start_importers(n);
}

/* The partner state machine's advance: from what is wanted to what runs. */
static void partner_advance(struct csb_node *n)
{
	struct peer *p = NULL, *old;
	char role[CSB_NODE_NAME_MAX + 32];
	bool moved;

	pthread_mutex_lock(&n->imu);
	reap(n);
	modules_reconcile(n);
	moved = n->want_set &&
	        (n->partner == NULL ? n->want_partner[0] != '\0'
	                            : strcasecmp(n->partner->name, n->want_partner) != 0 ||
	                                  strcmp(n->partner->url, n->want_url) != 0);
	n->want_set = false;
	if (!moved) {
		pthread_mutex_unlock(&n->imu);
		return;
	}
	snprintf(role, sizeof(role), "backup pool of %s", n->name);
	if (n->want_partner[0] != '\0' && n->want_url[0] != '\0' &&
	    node__peer_open(n, n->want_partner, n->want_url, role, &p) != CSB_OK)
		csb_error("node", "cannot use partner pool=%s partner=%s url=%s", n->name,
		          n->want_partner, n->want_url);
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++)
		retire(n, &n->imp[i]);
	old = n->partner;
	n->partner = p;
	if (old != NULL)
		csb_rpc_client_shutdown(old->cli); /* its importers' pulls end now */
	csb_info("node", "partner pool=%s partner=%s url=%s was=%s", n->name,
	         p ? p->name : "-", p ? p->url : "-", old ? old->name : "-");
	if (p != NULL)
		partner_start_importers(n);
	pthread_mutex_unlock(&n->imu);
	node__peer_rele(old);
	node__export_reset(n, p ? p->name : "");
}

uint64_t csb_node_cms_epoch(csb_node *n)
{
	return atomic_load(&n->cms_epoch);
}

void csb_node_set_cms_epoch(csb_node *n, uint64_t epoch)
{
	uint64_t cur = atomic_load(&n->cms_epoch);

	while (epoch > cur && !atomic_compare_exchange_weak(&n->cms_epoch, &cur, epoch))
		;
}

void csb_node_set_coordinator(csb_node *n, const char *url)
{
	atomic_store(&n->coord_moved, true);
	pthread_mutex_lock(&n->imu);
	snprintf(n->want_coord, sizeof(n->want_coord), "%s", url);
	n->want_coord_set = true;
	pthread_mutex_unlock(&n->imu);
	node__kick(n);
}

bool csb_node_coordinator_moved(csb_node *n)
{
	return atomic_load(&n->coord_moved);
}

/* The coordinator's advance: the replica's importer follows the CMS master to its new
 * address; the cursor stays (same source name), the old client's calls end now. */
/* Whether the replica's importer has failed to reach the coordinator for a while (imu
 * held): nng 1.5.2 can keep a client whose connection to a restarted peer never comes back
 * (common/rpc_client.c works around most of it); a fresh client always connects. */
static bool coord_stuck(struct csb_node *n)
{
	struct importer *im = n->cms_imp;
	uint64_t now = csb_mono_ms();
	csb_err rv;

	if (im == NULL || n->coord == NULL)
		return false;
	pthread_mutex_lock(&im->mu);
	rv = im->last_rv;
	pthread_mutex_unlock(&im->mu);
	if (rv != CSB_ENOTCONN && rv != CSB_ETIMEDOUT && rv != CSB_EUNREACH && rv != CSB_ECLOSED) {
		n->coord_bad_since = 0;
		return false;
	}
	if (n->coord_bad_since == 0)
		n->coord_bad_since = now;
	if (now - n->coord_bad_since < NODE_COORD_REDIAL_MS)
		return false;
	n->coord_bad_since = 0;
	return true;
}

static void coord_advance(struct csb_node *n)
{
	struct peer *p = NULL, *old;
	bool redial;

	pthread_mutex_lock(&n->imu);
	redial = !n->want_coord_set && coord_stuck(n);
	if (redial)
		snprintf(n->want_coord, sizeof(n->want_coord), "%s", n->coord_url);
	if (!redial && (!n->want_coord_set || strcmp(n->want_coord, n->coord_url) == 0)) {
		n->want_coord_set = false;
		pthread_mutex_unlock(&n->imu);
		return;
	}
	n->want_coord_set = false;
	if (node__peer_open(n, n->coord_name, n->want_coord, "the coordinator", &p) != CSB_OK) {
		csb_error("node", "cannot use coordinator pool=%s url=%s", n->name, n->want_coord);
		pthread_mutex_unlock(&n->imu);
		return;
	}
	retire(n, &n->cms_imp);
	old = n->coord;
	n->coord = p;
	if (old != NULL)
		csb_rpc_client_shutdown(old->cli);
	csb_info("node", "coordinator pool=%s url=%s was=%s%s", n->name, n->want_coord, n->coord_url,
	         redial ? " (a fresh client: the old one could not reach it)" : "");
	snprintf(n->coord_url, sizeof(n->coord_url), "%s", n->want_coord);
	if (node__importer_start(n, n->coord, CSB_COORDINATOR_NAME, CSB_MODULE_CMS,
	                         &n->cms_imp) != CSB_OK)
		csb_error("node", "cannot start the CMS replica's importer pool=%s", n->name);
	pthread_mutex_unlock(&n->imu);
	node__peer_rele(old);
}

static void replica_advance(struct csb_node *n)
{
	bool dirty;

	pthread_mutex_lock(&n->imu);
	dirty = n->replica_dirty;
	n->replica_dirty = false;
	pthread_mutex_unlock(&n->imu);
	if (dirty && n->hooks.replica_changed != NULL)
		n->hooks.replica_changed(n->hooks.ctx);
}

static void *ticker_main(void *arg)
{
	struct csb_node *n = arg;
	uint64_t next = 0, contact;

	while (!atomic_load(&n->stopping)) {
		pthread_mutex_lock(&n->tmu);
		while (!atomic_load(&n->stopping) && !n->tick_now && csb_mono_ms() < next)
			node__cond_wait_until(&n->tcond, &n->tmu, next);
		n->tick_now = false;
		pthread_mutex_unlock(&n->tmu);
		if (atomic_load(&n->stopping))
			break;
		/* The contacts so far renew the lease only after what the replica says is applied:
		 * a pool failed over is fenced before a renewal could keep it writable. */
		contact = atomic_load(&n->cms_contact_ms);
		if (atomic_load(&n->partner_contact_ms) > contact)
			contact = atomic_load(&n->partner_contact_ms);
		replica_advance(n);
		if (contact > atomic_load(&n->lease_from_ms))
			atomic_store(&n->lease_from_ms, contact);
		partner_advance(n);
		coord_advance(n);
		if (csb_mono_ms() >= next) {
			node__tick(n);
			next = csb_mono_ms() + 1000;
		}
	}
	node__tick(n); /* persist the last totals */
	return NULL;
}

/* ---- Start and stop ------------------------------------------------------------------- */

/* Callers whose messages may be as large as NODE_MAX_MSG (data writes): administrators
 * and the coordinator (the node itself is trusted by the RPC layer); any other caller's,
 * the partner's included, are bounded by CSB_RPC_PEER_MAX_MSG_DEFAULT. */
static bool trusted_caller(void *ctx, const char *principal)
{
	return node__is_admin(ctx, principal);
}

static csb_err gate(void *ctx, const csb_rpc_request *req, char err[CSB_RPC_ERROR_MAX])
{
	struct csb_node *n = ctx;

	return n->hooks.gate != NULL ? n->hooks.gate(n->hooks.ctx, req, err) : CSB_OK;
}

static csb_err start_server(struct csb_node *n)
{
	csb_rpc_method methods[48];
	size_t k = 0;
	csb_rpc_server_opts so = {
		.url = n->listen_url,
		.name = n->role == CSB_NODE_COORDINATOR ? n->coord_name : n->name,
		.tls = n->tls,
		.workers = 128, /* long polls hold one each; concurrent writers share commits */
		.max_msg = NODE_MAX_MSG,
		.trusted = trusted_caller,
		.trusted_ctx = n,
		.gate = gate,
	};

	k += node__sync_methods(n, methods + k);
	k += node__serve_methods(n, methods + k);
	for (size_t i = 0; i < n->n_extra && k < 48; i++)
		methods[k++] = n->extra[i];
	return csb_rpc_server_start(&so, methods, k, &n->srv);
}

static struct csb_node *node_alloc(const csb_node_opts *o)
{
	struct csb_node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->role = o->role;
	snprintf(n->name, sizeof(n->name), "%s", o->name);
	snprintf(n->listen_url, sizeof(n->listen_url), "%s", o->listen_url);
	snprintf(n->coord_url, sizeof(n->coord_url), "%s", o->coordinator_url ? o->coordinator_url : "");
	atomic_init(&n->coord_moved, o->coordinator_moved);
	atomic_init(&n->cms_epoch, o->cms_epoch);
	snprintf(n->coord_name, sizeof(n->coord_name), "%s",
	         o->coordinator_name ? o->coordinator_name : CSB_COORDINATOR_NAME);
	n->tls = o->tls;
	n->cfg = o->cfg;
	n->hooks = o->hooks;
	n->extra = o->extra;
	n->n_extra = o->n_extra;
	pthread_mutex_init(&n->cfg_mu, NULL);
	pthread_mutex_init(&n->imu, NULL);
	pthread_mutex_init(&n->wmu, NULL);
	pthread_mutex_init(&n->tmu, NULL);
	node__cond_init(&n->tcond);
	pthread_cond_init(&n->wcond, NULL);
	pthread_cond_init(&n->wdone, NULL);
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++) {
		bool cms = csb_modules[i].category == CSB_CAT_CMS;

		/* A pool exports its data modules; the coordinator exports the CMS, which pools
		 * import as their local replica. */
		if (cms != (o->role == CSB_NODE_COORDINATOR))
			continue;
		n->exp[i].module = csb_modules[i].name;
		pthread_mutex_init(&n->exp[i].mu, NULL);
		node__cond_init(&n->exp[i].cv);
	}
	return n;
}

static void node_free(struct csb_node *n)
{
	node__peer_rele(n->partner);
	node__peer_rele(n->coord);
	csb_store_close(n->store);
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++) {
		if (n->exp[i].module == NULL)
			continue;
		pthread_mutex_destroy(&n->exp[i].mu);
		pthread_cond_destroy(&n->exp[i].cv);
	}
	pthread_mutex_destroy(&n->cfg_mu);
	pthread_mutex_destroy(&n->imu);
	pthread_mutex_destroy(&n->wmu);
	pthread_mutex_destroy(&n->tmu);
	pthread_cond_destroy(&n->tcond);
	pthread_cond_destroy(&n->wcond);
	pthread_cond_destroy(&n->wdone);
	free(n);
}

/* Wakes every waiter (long polls, sync waits, the tick) and stops every importer. */
static void stop_threads(struct csb_node *n)
{
	atomic_store(&n->stopping, true);
	node__kick(n);
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++) {
		struct export_mod *em = &n->exp[i];

		if (em->module == NULL)
			continue;
		pthread_mutex_lock(&em->mu);
		pthread_cond_broadcast(&em->cv);
		pthread_mutex_unlock(&em->mu);
	}
	pthread_mutex_lock(&n->imu);
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++)
		retire(n, &n->imp[i]);
	retire(n, &n->cms_imp);
	if (n->partner != NULL)
		csb_rpc_client_shutdown(n->partner->cli);
	if (n->coord != NULL)
		csb_rpc_client_shutdown(n->coord->cli);
	pthread_mutex_unlock(&n->imu);
}

/* Joins every importer (they were told to stop). */
static void join_importers(struct csb_node *n)
{
	pthread_mutex_lock(&n->imu);
	for (unsigned i = 0; i < n->n_retiring; i++) {
		node__importer_join(n->retiring[i]);
		node__importer_rele(n->retiring[i]);
	}
	n->n_retiring = 0;
	pthread_mutex_unlock(&n->imu);
}

static csb_err start_cms_import(struct csb_node *n)
{
	csb_err rv;

	if (n->coord_url[0] == '\0')
		return CSB_OK;
	if ((rv = node__peer_open(n, n->coord_name, n->coord_url, "the coordinator",
	                          &n->coord)) != CSB_OK) {
		csb_error("node", "bad coordinator url=%s err=%s", n->coord_url, csb_strerror(rv));
		return rv;
	}
	pthread_mutex_lock(&n->imu);
	rv = node__importer_start(n, n->coord, CSB_COORDINATOR_NAME, CSB_MODULE_CMS, &n->cms_imp);
	pthread_mutex_unlock(&n->imu);
	return rv;
}

csb_err csb_node_start(const csb_node_opts *o, csb_node **out)
{
	csb_store_opts so = {.map_size = o->map_size};
	struct csb_node *n = node_alloc(o);
	csb_module_info mi;
	csb_err rv;

	if (n == NULL)
		return CSB_ENOMEM;
	if ((rv = csb_store_open(o->state_dir, &so, &n->store)) != CSB_OK) {
		csb_error("node", "cannot open store dir=%s err=%s", o->state_dir, csb_strerror(rv));
		goto out_free;
	}
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++) {
		if (n->exp[i].module == NULL)
			continue;
		load_export(n, &n->exp[i]);
		if (csb_store_module_info(n->store, NULL, n->exp[i].module, &mi) == CSB_OK)
			n->exp[i].committed = mi.high_seq;
		n->exp[i].contact_ms = csb_now_ms();
	}
	if ((rv = node__writer_start(n)) != CSB_OK)
		goto out_free;
	if ((rv = start_server(n)) != CSB_OK) {
		csb_error("node", "cannot listen url=%s err=%s", n->listen_url, csb_strerror(rv));
		goto out_stop_writer;
	}
	if ((rv = start_cms_import(n)) != CSB_OK)
		goto out_stop_threads;
	if (pthread_create(&n->ticker, NULL, ticker_main, n) != 0) {
		rv = CSB_ENOMEM;
		goto out_stop_threads;
	}
	csb_info("node", "started pool=%s listen=%s port=%d coordinator=%s", n->name, n->listen_url,
	         csb_rpc_server_port(n->srv), n->coord_url[0] ? n->coord_url : "-");
	*out = n;
	return CSB_OK;

out_stop_threads:
	stop_threads(n);
	join_importers(n);
	csb_rpc_server_close(n->srv);
out_stop_writer:
	atomic_store(&n->stopping, true);
	node__writer_stop(n);
out_free:
	node_free(n);
	return rv;
}

int csb_node_port(const csb_node *n)
{
	return csb_rpc_server_port(n->srv);
}

csb_err csb_node_url_file(const csb_node *n, const char *path)
{
	char tmp[4200];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		return CSB_EIO;
	fprintf(f, "tls+tcp://127.0.0.1:%d\n", csb_node_port(n));
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return CSB_EIO;
	}
	return CSB_OK;
}

csb_store *csb_node_store(csb_node *n)
{
	return n->store;
}

csb_err csb_node_write(csb_node *n, const char *module, const csb_write *w, size_t count,
                       uint64_t *last_seq)
{
	if (csb_node_read_only(n, NULL))
		return CSB_EREADONLY;
	return node__write(n, module, w, count, last_seq);
}

void csb_node_quiesce(csb_node *n)
{
	if (n->quiesced)
		return;
	stop_threads(n);
	pthread_join(n->ticker, NULL);
	join_importers(n);
	node__writer_stop(n);
	n->quiesced = true;
}

void csb_node_exit(csb_node *n)
{
	csb_node_quiesce(n);
	csb_rpc_server_stop(n->srv);
	csb_store_close(n->store);
	n->store = NULL;
	csb_info("node", "stopped pool=%s", n->name);
}

void csb_node_stop(csb_node *n)
{
	/* Every store write ends before the sockets close: closing nng sockets can hang in
	 * nng 1.5.2 (common/deadline.h). */
	csb_node_quiesce(n);
	csb_rpc_server_close(n->srv);
	csb_info("node", "stopped pool=%s", n->name);
	node_free(n);
}
