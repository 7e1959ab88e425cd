/* The coordinator's HTTP listener (SPEC.md §6): the status page "/", the status documents of
 * every pool with the health verdict as JSON "/api/v1/status", "/healthz" for load balancers
 * and Prometheus text "/metrics". A poller thread asks every agent for its status every 2 s
 * and keeps what it learns (coordinator/internal/ops.h); the pages render that and never
 * block on an agent. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/http.h"
#include "common/log.h"
#include "common/status_json.h"
#include "common/version.h"
#include "coordinator/internal/coord.h"
#include "coordinator/internal/ops.h"

#define POLL_MS 2000
#define POLL_TIMEOUT_MS 3000
#define PAGE_EVENTS 30

struct ops_state {
	pthread_mutex_t mu;       /* guards what follows; held to update or to render */
	struct ops_pool *pools;   /* the topology's pools, in its order */
	size_t n;
	struct ops_health health;
	struct ops_events events;
	uint64_t sync_interval_ms;
	uint64_t polls;           /* rounds finished */
	uint64_t polled_ms;       /* when the last one finished */
};

/* ---- Polling ---------------------------------------------------------------------------- */

/* What one round learned of one pool, gathered without the lock. */
struct answer {
	char fqdn[CSB_FQDN_MAX + 1], backup[CSB_FQDN_MAX + 1];
	Csb__PoolStatus *ps;
	char error[CSB_RPC_ERROR_MAX];
	csb_pool_entry entry;
	bool entry_ok;
};

static csb_err cms_read(void *ctx, const char *key, char **out, char *err)
{
	csb_err rv = csb_store_get_string(csb_node_store(atomic_load((csb_node *_Atomic *)ctx)),
	                                  NULL, CSB_MODULE_CMS, key, out);

	if (rv != CSB_OK && rv != CSB_ENOTFOUND)
		snprintf(err, CSB_RPC_ERROR_MAX, "%s", csb_strerror(rv));
	return rv;
}

/* The topology's pools and the SyncInterval, then each agent's answer and pool state. */
static size_t gather(struct coord *c, struct answer **out, uint64_t *interval_ms)
{
	csb_cms_view v = {cms_read, &c->node, "published"};
	struct answer *a = NULL;
	char err[CSB_RPC_ERROR_MAX];
	size_t n = 0;

	pthread_mutex_lock(&c->mu);
	*interval_ms = c->cfg.sync_interval_ms;
	if (c->topo != NULL && c->topo->n_pools > 0 &&
	    (a = calloc(c->topo->n_pools, sizeof(*a))) != NULL)
		for (n = 0; n < c->topo->n_pools; n++) {
			snprintf(a[n].fqdn, sizeof(a[n].fqdn), "%s", c->topo->pools[n].fqdn);
			snprintf(a[n].backup, sizeof(a[n].backup), "%s", c->topo->pools[n].backup);
		}
	pthread_mutex_unlock(&c->mu);
	for (size_t i = 0; i < n; i++) {
		if (coord__pool_status(c, a[i].fqdn, POLL_TIMEOUT_MS, &a[i].ps, a[i].error) != CSB_OK)
			a[i].ps = NULL;
		a[i].entry_ok = csb_cms_pool_entry(&v, a[i].fqdn, &a[i].entry, err) == CSB_OK;
	}
	*out = a;
	return n;
}

static const Csb__ModuleStatus *module_of(const Csb__PoolStatus *ps, const char *identity)
{
	for (size_t j = 0; ps != NULL && j < ps->n_backup_modules; j++)
		if (strcmp(ps->backup_modules[j]->identity, identity) == 0)
			return ps->backup_modules[j];
	return NULL;
}

/* A module's export or import state changed from was to now (names; error: which of them is
 * ErrorState). Logged; listed as an event unless it enters or leaves ErrorState, which the
 * health verdict lists already as a problem that began or cleared. */
static void state_change(struct ops_state *o, const char *pool, const char *module,
                         const char *dir, const char *was, const char *now, bool error,
                         uint64_t at)
{
	if (!error)
		ops_event_add(&o->events, at, false, "%s: %s %s %s -> %s", pool, module, dir, was, now);
	csb_info("health", "state change pool=%s module=%s %s=%s->%s", pool, module, dir, was, now);
}

/* The lag sample, error counters, events and logs for what changed between old and p->ps. */
static void changes(struct ops_state *o, struct ops_pool *p, const Csb__PoolStatus *old,
                    uint64_t now)
{
	const int exp_err = CSB__EXPORT_STATE__EXPORT_ERROR, imp_err = CSB__IMPORT_STATE__IMPORT_ERROR;

	for (size_t j = 0; j < p->ps->n_backup_modules; j++) {
		const Csb__ModuleStatus *m = p->ps->backup_modules[j];
		const Csb__ModuleStatus *was = module_of(old, m->identity);
		int ex = (int)m->export_status, im = (int)m->import_status;
		int wex = was ? (int)was->export_status : -1, wim = was ? (int)was->import_status : -1;
		int k = ops_module_index(m->identity);

		if (k >= 0) {
			ops_series_add(&p->lag[k], now, m->lag_records, m->lag_seconds);
			p->export_errors[k] += ex == exp_err && wex != ex;
			p->import_errors[k] += im == imp_err && wim != im;
		}
		if (was != NULL && wex != ex)
			state_change(o, p->fqdn, m->identity, "export",
			             csb_export_state_name(was->export_status),
			             csb_export_state_name(m->export_status),
			             ex == exp_err || wex == exp_err, now);
		if (was != NULL && wim != im)
			state_change(o, p->fqdn, m->identity, "import",
			             csb_import_state_name(was->import_status),
			             csb_import_state_name(m->import_status),
			             im == imp_err || wim == imp_err, now);
	}
}

/* Takes a's answer into p (a's ps moves into p). */
static void take(struct ops_state *o, struct ops_pool *p, struct answer *a, uint64_t now)
{
	Csb__PoolStatus *old = p->ps;

	snprintf(p->backup, sizeof(p->backup), "%s", a->backup);
	if (a->entry_ok && p->entry_ok && a->entry.state != p->entry.state) {
		ops_event_add(&o->events, now, a->entry.state != CSB_POOL_NORMAL,
		              "%s: pool state %s -> %s (epoch %llu)", p->fqdn,
		              csb_pool_state_name(p->entry.state), csb_pool_state_name(a->entry.state),
		              (unsigned long long)a->entry.epoch);
		csb_info("health", "pool state change pool=%s state=%s->%s epoch=%llu", p->fqdn,
		         csb_pool_state_name(p->entry.state), csb_pool_state_name(a->entry.state),
		         (unsigned long long)a->entry.epoch);
	}
	p->entry = a->entry;
	p->entry_ok = a->entry_ok;
	p->polled = true;
	if (a->ps == NULL) {
		p->reachable = false;
		snprintf(p->error, sizeof(p->error), "%s", a->error);
		p->poll_errors++;
		return;
	}
	p->reachable = true;
	p->error[0] = '\0';
	p->ps = a->ps;
	p->answered_ms = now;
	a->ps = NULL;
	changes(o, p, old, now);
	if (old != NULL)
		protobuf_c_message_free_unpacked(&old->base, NULL);
}

/* Builds the pools of this round (carrying over each pool's history by FQDN) and judges. */
static void update(struct ops_state *o, struct answer *a, size_t n, uint64_t interval_ms)
{
	struct ops_pool *pools = n ? calloc(n, sizeof(*pools)) : NULL;
	struct ops_health h;
	uint64_t now = csb_now_ms();

	pthread_mutex_lock(&o->mu);
	if (n > 0 && pools == NULL)
		goto out_unlock;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < o->n; j++)
			if (strcasecmp(o->pools[j].fqdn, a[i].fqdn) == 0) {
				pools[i] = o->pools[j];
				o->pools[j].ps = NULL;
			}
		snprintf(pools[i].fqdn, sizeof(pools[i].fqdn), "%s", a[i].fqdn);
		take(o, &pools[i], &a[i], now);
	}
	for (size_t j = 0; j < o->n; j++)
		if (o->pools[j].ps != NULL)
			protobuf_c_message_free_unpacked(&o->pools[j].ps->base, NULL);
	free(o->pools);
	o->pools = pools;
	o->n = n;
	o->sync_interval_ms = interval_ms;
	if (ops_health_judge(o->pools, o->n, interval_ms, &o->health, now, &h) == CSB_OK) {
		ops_health_events(&o->health, &h, now, &o->events);
		ops_health_free(&o->health);
		o->health = h;
	}
	o->polls++;
	o->polled_ms = now;
out_unlock:
	pthread_mutex_unlock(&o->mu);
}

static void poll_once(struct coord *c)
{
	struct answer *a = NULL;
	uint64_t interval_ms;
	size_t n = gather(c, &a, &interval_ms);

	update(c->ops, a, n, interval_ms);
	for (size_t i = 0; i < n; i++)
		if (a[i].ps != NULL)
			protobuf_c_message_free_unpacked(&a[i].ps->base, NULL);
	free(a);
}

static void *poller_main(void *arg)
{
	struct coord *c = arg;
	struct timespec ts;

	pthread_mutex_lock(&c->mu);
	while (!c->stopping) {
		pthread_mutex_unlock(&c->mu);
		if (atomic_load(&c->active)) /* a standby's calls would be refused */
			poll_once(c);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += POLL_MS / 1000;
		pthread_mutex_lock(&c->mu);
		if (!c->stopping)
			pthread_cond_timedwait(&c->poll_cond, &c->mu, &ts);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* ---- /api/v1/status and /healthz -------------------------------------------------------- */

/* The pool's status document (SPEC.md §4), plus whether its agent answered (with the
 * reason when not) and its pool state. A pool that did not answer has no modules. */
static json_t *pool_json(const struct ops_pool *p)
{
	Csb__PoolStatus none = CSB__POOL_STATUS__INIT;
	json_t *o;

	none.pool_fqdn = (char *)p->fqdn;
	none.backup_pool_fqdn = (char *)p->backup;
	if ((o = csb_status_json(p->reachable ? p->ps : &none)) == NULL)
		return NULL;
	json_object_set_new(o, "Reachable", json_boolean(p->reachable));
	json_object_set_new(o, "Error", p->reachable ? json_null()
	                                             : json_string(p->polled ? p->error
	                                                                     : "not polled yet"));
	json_object_set_new(o, "LastAnswerTime", csb_time_json(p->answered_ms));
	json_object_set_new(o, "State", json_string(p->entry_ok ? csb_pool_state_name(p->entry.state)
	                                                      : "Unknown"));
	json_object_set_new(o, "ServedBy", json_string(p->entry.served_by));
	json_object_set_new(o, "Epoch", json_integer((json_int_t)p->entry.epoch));
	return o;
}

static json_t *health_json(const struct ops_health *h)
{
	json_t *o = json_object(), *probs = json_array();
	char line[1200];

	for (size_t i = 0; i < h->n; i++) {
		ops_problem_text(&h->problems[i], line, sizeof(line));
		json_array_append_new(probs, json_string(line));
	}
	json_object_set_new(o, "State", json_string(ops_health_name(h->state)));
	json_object_set_new(o, "Problems", probs);
	return o;
}

/* The Central Management store's replication as the coordinator's exporter sees it: the
 * active master (the pool hosting the CMS), its high seq, and per pool's replica the seq it
 * has applied, whether that is all, and its last pull (heartbeat). Read fresh, not polled. */
struct cms_view {
	char master[254];
	uint64_t high;
	size_t n;
	struct {
		char pool[254];
		bool pulled;
		csb_node_importer imp;
	} *replicas;
};

static void cms_view_get(struct coord *c, struct cms_view *v)
{
	csb_node *node = atomic_load(&c->node);
	const csb_topo_pool *host;
	csb_module_info mi = {0};

	memset(v, 0, sizeof(*v));
	if (node == NULL)
		return;
	(void)csb_store_module_info(csb_node_store(node), NULL, CSB_MODULE_CMS, &mi);
	v->high = mi.high_seq;
	pthread_mutex_lock(&c->mu);
	if (c->topo != NULL) {
		if ((host = coord__master_host(c)) != NULL)
			snprintf(v->master, sizeof(v->master), "%s", host->fqdn);
		if ((v->replicas = calloc(c->topo->n_pools + 1, sizeof(*v->replicas))) != NULL)
			for (size_t i = 0; i < c->topo->n_pools; i++)
				snprintf(v->replicas[v->n++].pool, sizeof(v->replicas[0].pool), "%s",
				         c->topo->pools[i].fqdn);
	}
	pthread_mutex_unlock(&c->mu);
	for (size_t i = 0; i < v->n; i++)
		v->replicas[i].pulled = csb_node_importer_get(node, CSB_MODULE_CMS, v->replicas[i].pool,
		                                              &v->replicas[i].imp);
}

static json_t *cms_json(const struct cms_view *v)
{
	json_t *reps = json_array();

	for (size_t i = 0; i < v->n; i++) {
		const csb_node_importer *imp = &v->replicas[i].imp;

		json_array_append_new(reps, json_pack("{s:s, s:b, s:I, s:o}", "ReplicaFqdn",
		                                      v->replicas[i].pool, "UpToDate",
		                                      v->replicas[i].pulled && imp->acked_seq == v->high,
		                                      "AppliedSeq", (json_int_t)imp->acked_seq,
		                                      "LastHeartbeat",
		                                      v->replicas[i].pulled
		                                          ? csb_time_json(imp->last_ack_ms)
		                                          : json_null()));
	}
	return json_pack("{s:s, s:I, s:o}", "ActiveMasterFqdn", v->master, "HighSeq",
	                 (json_int_t)v->high, "Replicas", reps);
}

static void page_api(void *ctx, csb_http_response *res)
{
	struct ops_state *o = ((struct coord *)ctx)->ops;
	json_t *doc = json_object(), *arr = json_array();

	pthread_mutex_lock(&o->mu);
	json_object_set_new(doc, "Health", health_json(&o->health));
	json_object_set_new(doc, "AsOf", csb_time_json(o->polled_ms));
	for (size_t i = 0; i < o->n; i++)
		json_array_append_new(arr, pool_json(&o->pools[i]));
	pthread_mutex_unlock(&o->mu);
	json_object_set_new(doc, "Pools", arr);
	{
		struct cms_view v;

		cms_view_get(ctx, &v);
		json_object_set_new(doc, "CentralManagementStore", cms_json(&v));
		free(v.replicas);
	}
	res->content_type = "application/json";
	res->body = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	res->len = res->body ? strlen(res->body) : 0;
	json_decref(doc);
}

/* For load balancers: 200 "ok" once this coordinator serves (its CMS open, the poller has
 * finished a round), else 503. The deployment's health is /api/v1/status: a pool being
 * down is no reason to stop sending administrators to this coordinator. */
static void page_healthz(void *ctx, csb_http_response *res)
{
	struct coord *c = ctx;
	bool ready;

	pthread_mutex_lock(&c->ops->mu);
	ready = atomic_load(&c->node) != NULL && c->ops->polls > 0;
	pthread_mutex_unlock(&c->ops->mu);
	res->status = ready ? 200 : 503;
	res->body = strdup(ready ? "ok\n" : "starting\n");
	res->len = res->body ? strlen(res->body) : 0;
}

static void page_metrics(void *ctx, csb_http_response *res)
{
	struct ops_state *o = ((struct coord *)ctx)->ops;
	struct ops_text t = {0};

	pthread_mutex_lock(&o->mu);
	ops_metrics(&t, &(struct ops_metrics_in){.pools = o->pools,
	                                         .n = o->n,
	                                         .health = o->polls ? &o->health : NULL,
	                                         .sync_interval_ms = o->sync_interval_ms,
	                                         .version = CSB_VERSION,
	                                         .polls_total = o->polls});
	pthread_mutex_unlock(&o->mu);
	res->content_type = "text/plain; version=0.0.4; charset=utf-8";
	res->body = t.p;
	res->len = t.len;
}

/* ---- Start and stop --------------------------------------------------------------------- */

static void page_index(void *ctx, csb_http_response *res);

csb_err coord__web_start(struct coord *c, const char *hostport)
{
	const csb_http_route routes[] = {
		{"/", page_index, c},
		{"/api/v1/status", page_api, c},
		{"/healthz", page_healthz, c},
		{"/metrics", page_metrics, c},
	};
	csb_err rv;

	if ((c->ops = calloc(1, sizeof(*c->ops))) == NULL)
		return CSB_ENOMEM;
	pthread_mutex_init(&c->ops->mu, NULL);
	pthread_cond_init(&c->poll_cond, NULL);
	if (pthread_create(&c->poller, NULL, poller_main, c) != 0)
		return CSB_ENOMEM;
	c->polling = true;
	if (hostport == NULL || hostport[0] == '\0')
		return CSB_OK;
	if ((rv = csb_http_start(hostport, routes, 4, &c->http)) != CSB_OK)
		csb_error("coordinator", "cannot serve HTTP addr=%s err=%s", hostport, csb_strerror(rv));
	return rv;
}

void coord__web_stop(struct coord *c)
{
	csb_http_stop(c->http);
	c->http = NULL;
	if (c->polling) {
		pthread_mutex_lock(&c->mu);
		c->stopping = true;
		pthread_cond_broadcast(&c->poll_cond);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->poller, NULL);
		c->polling = false;
	}
	if (c->ops == NULL)
		return;
	for (size_t i = 0; i < c->ops->n; i++)
		if (c->ops->pools[i].ps != NULL)
			protobuf_c_message_free_unpacked(&c->ops->pools[i].ps->base, NULL);
	free(c->ops->pools);
	ops_health_free(&c->ops->health);
	pthread_mutex_destroy(&c->ops->mu);
	free(c->ops);
	c->ops = NULL;
}

/* ---- The status page -------------------------------------------------------------------- */

static const char style[] =
	"<style>"
	"body{font:13px/1.35 'DejaVu Sans',sans-serif;margin:8px 12px;color:#222}"
	"h1{font-size:17px;margin:0 0 6px}h2{font-size:14px;margin:0}h3{font-size:13px;margin:8px 0 2px}"
	"a{color:#1f5fa8}.muted{color:#666}"
	"#health{padding:6px 10px;border-radius:4px;font-size:15px;margin:4px 0}"
	"#health.Healthy{background:#e3f4e3;border:1px solid #4a9a4a}"
	"#health.Degraded{background:#fff1d6;border:1px solid #c98a00}"
	"#health.Down{background:#fbe0e0;border:1px solid #c62828}"
	"#problems{margin:2px 0 8px;padding-left:22px;max-height:9em;overflow:auto}"
	"#problems li{color:#9b1c1c}"
	".pools{display:grid;grid-template-columns:repeat(auto-fill,minmax(660px,1fr));gap:6px}"
	".pool{border:1px solid #ccc;border-radius:4px;padding:4px 5px;overflow:hidden}"
	".pool.down{border-color:#c62828;background:#fff7f7}"
	".head{display:flex;gap:10px;align-items:baseline;flex-wrap:wrap;margin-bottom:3px}"
	"table{border-collapse:collapse;width:100%;font-size:12px}"
	"td,th{border-bottom:1px solid #e4e4e4;padding:2px 3px;text-align:left;white-space:nowrap}"
	"th{color:#555;font-weight:normal}td.n{text-align:right}"
	".ok{color:#1b6e1b}.warn{color:#8a5a00;background:#fff1d6}.bad{color:#fff;background:#c62828}"
	".none{color:#777}.err{color:#b00}"
	".badge{padding:0 5px;border-radius:3px;font-size:12px}"
	".charts{display:flex;flex-wrap:wrap;gap:6px 18px}.chart text{font-size:10px;fill:#555}"
	".legend span{margin-right:10px}"
	"#events{padding-left:0;list-style:none;font-size:12px;margin-top:4px}"
	"#events .bad{background:none;color:#b00}"
	"</style>";

/* CSS class of an export state: SteadyState and FinalState green, NonSteadyState amber,
 * ErrorState red, NotInitialized grey. */
static const char *export_class(Csb__ExportState s)
{
	static const char *const cls[] = {"none", "warn", "ok", "ok", "bad"};

	return (unsigned)s < 5 ? cls[s] : "none";
}

static const char *import_class(Csb__ImportState s)
{
	static const char *const cls[] = {"none", "ok", "bad"};

	return (unsigned)s < 3 ? cls[s] : "none";
}

static void module_row(struct ops_text *t, const Csb__ModuleStatus *m, uint64_t now)
{
	char exp[32], imp[32], bytes[32];

	ops_ago(m->last_export_time_ms, now, exp, sizeof(exp));
	ops_ago(m->last_import_time_ms, now, imp, sizeof(imp));
	ops_bytes(m->exported_bytes_total, bytes, sizeof(bytes));
	ops_add(t, "<tr><td>");
	ops_add_html(t, m->identity);
	ops_add(t, "</td><td class=\"%s\">%s</td><td class=\"%s\">%s</td>"
	           "<td class=\"n\">%llu &middot; %.1f s</td><td>%s</td><td>%s</td>"
	           "<td class=\"n\">%llu &middot; %s</td></tr>\n",
	        export_class(m->export_status), csb_export_state_name(m->export_status),
	        import_class(m->import_status), csb_import_state_name(m->import_status),
	        (unsigned long long)m->lag_records, m->lag_seconds, exp, imp,
	        (unsigned long long)m->exported_records_total, bytes);
	if (m->last_error != NULL && m->last_error[0] != '\0') {
		ops_add(t, "<tr><td colspan=\"7\" class=\"err\">LastError: ");
		ops_add_html(t, m->last_error);
		ops_add(t, "</td></tr>\n");
	}
}

static void pool_head(struct ops_text *t, const struct ops_pool *p, uint64_t now)
{
	char ago[32];

	ops_add(t, "<div class=\"head\"><h2>");
	ops_add_html(t, p->fqdn);
	ops_add(t, "</h2><span>backup pool ");
	ops_add_html(t, p->backup[0] ? p->backup : "(none)");
	ops_add(t, "</span>");
	if (p->entry_ok) {
		ops_add(t, "<span class=\"badge %s\">%s</span>",
		        p->entry.state == CSB_POOL_NORMAL ? "ok" : "warn",
		        csb_pool_state_name(p->entry.state));
		if (p->entry.epoch > 0) {
			ops_add(t, "<span class=\"muted\">epoch %llu, served by ",
			        (unsigned long long)p->entry.epoch);
			ops_add_html(t, p->entry.served_by);
			ops_add(t, "</span>");
		}
	}
	ops_ago(p->answered_ms, now, ago, sizeof(ago));
	if (!p->polled)
		ops_add(t, "<span class=\"muted\">not polled yet</span>");
	else if (p->reachable)
		ops_add(t, "<span class=\"muted\">agent answered %s</span>", ago);
	else
		ops_add(t, "<span class=\"err\">agent unreachable (last answer %s)</span>", ago);
	ops_add(t, "</div>\n");
}

static void page_pool(struct ops_text *t, const struct ops_pool *p, uint64_t now)
{
	ops_add(t, "<section class=\"pool%s\" id=\"pool-%s\">", p->polled && !p->reachable
	                                                         ? " down" : "", p->fqdn);
	pool_head(t, p, now);
	if (p->polled && !p->reachable) {
		ops_add(t, "<p class=\"err reason\">");
		ops_add_html(t, p->error);
		ops_add(t, "</p>");
	}
	if (p->reachable && p->ps != NULL) {
		ops_add(t, "<table><tr><th>Module</th><th>Export</th><th>Import</th>"
		           "<th class=\"n\" title=\"records not yet imported by the backup pool, age "
		           "of the oldest\">Lag</th><th title=\"the backup pool last acknowledged"
		           "\">Exported</th><th title=\"the last batch of the partner's data applied"
		           "\">Imported</th><th class=\"n\" title=\"records and bytes sent to the "
		           "backup pool, ever\">Sent</th></tr>\n");
		for (size_t j = 0; j < p->ps->n_backup_modules; j++)
			module_row(t, p->ps->backup_modules[j], now);
		ops_add(t, "</table>");
	}
	ops_add(t, "</section>\n");
}

static void page_health(struct ops_text *t, const struct ops_state *o)
{
	char line[1200];

	ops_add(t, "<div id=\"health\" class=\"%s\">Health: <strong id=\"health-state\">%s</strong>",
	        o->polls ? ops_health_name(o->health.state) : "Unknown",
	        o->polls ? ops_health_name(o->health.state) : "not judged yet");
	if (o->health.n > 0)
		ops_add(t, " &mdash; %zu problem%s", o->health.n, o->health.n == 1 ? "" : "s");
	ops_add(t, "</div>\n");
	if (o->health.n == 0)
		return;
	ops_add(t, "<ul id=\"problems\">");
	for (size_t i = 0; i < o->health.n; i++) {
		ops_problem_text(&o->health.problems[i], line, sizeof(line));
		ops_add(t, "<li>");
		ops_add_html(t, line);
		ops_add(t, "</li>");
	}
	ops_add(t, "</ul>\n");
}

static void page_history(struct ops_text *t, const struct ops_state *o, uint64_t now)
{
	char at[32];

	ops_add(t, "<h2 style=\"margin-top:14px\">Export lag, last hour</h2><p class=\"legend\">");
	for (int m = 0; m < CSB_MODULE_COUNT; m++)
		ops_add(t, "<span style=\"color:%s\">&#9632; %s</span>", ops_module_colours[m], csb_modules[m].name);
	ops_add(t, "</p>\n");
	for (size_t i = 0; i < o->n; i++) {
		ops_add(t, "<h3>");
		ops_add_html(t, o->pools[i].fqdn);
		ops_add(t, ": records, seconds</h3><div class=\"charts\">");
		ops_history_svg(t, &o->pools[i], true, now);
		ops_history_svg(t, &o->pools[i], false, now);
		ops_add(t, "</div>\n");
	}
	ops_add(t, "<h2 style=\"margin-top:12px\">Recent events</h2><ul id=\"events\">");
	for (size_t i = 0; i < PAGE_EVENTS; i++) {
		const struct ops_event *e = ops_event_back(&o->events, i);

		if (e == NULL)
			break;
		csb_time_format(e->at_ms, at, sizeof(at));
		ops_add(t, "<li%s>%s ", e->bad ? " class=\"bad\"" : "", at);
		ops_add_html(t, e->text);
		ops_add(t, "</li>");
	}
	if (o->events.n == 0)
		ops_add(t, "<li class=\"muted\">none since the coordinator started</li>");
	ops_add(t, "</ul>\n");
}

static void page_cms(struct ops_text *t, struct coord *c, uint64_t now)
{
	struct cms_view v;
	char ago[32];

	cms_view_get(c, &v);
	ops_add(t, "<h2 style=\"margin-top:14px\">Central Management store</h2>\n<p>Active master: "
	           "<strong id=\"cms-master\">");
	ops_add_html(t, v.master[0] ? v.master : "(no topology yet)");
	ops_add(t, "</strong> &middot; high seq %llu</p>\n<table id=\"cms\"><tr><th>Replica</th>"
	           "<th>Up to date</th><th>Applied seq</th><th>Last heartbeat</th></tr>\n",
	        (unsigned long long)v.high);
	for (size_t i = 0; i < v.n; i++) {
		bool ok = v.replicas[i].pulled && v.replicas[i].imp.acked_seq == v.high;

		if (v.replicas[i].pulled)
			ops_ago(v.replicas[i].imp.last_ack_ms, now, ago, sizeof(ago));
		ops_add(t, "<tr><td>");
		ops_add_html(t, v.replicas[i].pool);
		ops_add(t, "</td><td class=\"%s\">%s</td><td>%llu</td><td>%s</td></tr>\n",
		        ok ? "ok" : "bad", ok ? "UpToDate" : "behind",
		        (unsigned long long)v.replicas[i].imp.acked_seq,
		        v.replicas[i].pulled ? ago : "never");
	}
	ops_add(t, "</table>\n");
	free(v.replicas);
}

static void page_index(void *ctx, csb_http_response *res)
{
	struct ops_state *o = ((struct coord *)ctx)->ops;
	struct ops_text t = {0};
	uint64_t now = csb_now_ms();
	char at[32] = "never";

	pthread_mutex_lock(&o->mu);
	if (o->polled_ms)
		csb_time_format(o->polled_ms, at, sizeof(at));
	ops_add(&t, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	            "<meta http-equiv=\"refresh\" content=\"5\"><title>csbackup status</title>\n%s"
	            "</head><body>\n<h1>csbackup &mdash; backup status</h1>\n", style);
	page_health(&t, o);
	ops_add(&t, "<p class=\"muted\">As of %s (polled every %d s, page refreshed every 5 s) "
	            "&middot; csbackup %s &middot; <a href=\"/api/v1/status\">JSON</a> &middot; "
	            "<a href=\"/metrics\">metrics</a></p>\n", at, POLL_MS / 1000, CSB_VERSION);
	if (o->n == 0)
		ops_add(&t, "<p>No pools yet: publish a topology (Publish-CsTopology).</p>\n");
	ops_add(&t, "<div class=\"pools\">\n");
	for (size_t i = 0; i < o->n; i++)
		page_pool(&t, &o->pools[i], now);
	ops_add(&t, "</div>\n");
	page_history(&t, o, now);
	pthread_mutex_unlock(&o->mu);
	page_cms(&t, ctx, now);
	ops_add(&t, "</body></html>\n");
	res->content_type = "text/html; charset=utf-8";
	res->body = t.p;
	res->len = t.len;
}
