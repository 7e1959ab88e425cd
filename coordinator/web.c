/* The coordinator's HTTP listener (SPEC.md §6): the status page "/", the status documents of
 * every pool as JSON "/api/v1/status", and Prometheus text "/metrics". A poller thread asks
 * every agent for its status every 2 s; the pages render that cache and never block. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/http.h"
#include "common/log.h"
#include "common/status_json.h"
#include "common/wire.h"
#include "coordinator/internal/coord.h"
#include "proto/admin.pb-c.h"

#define POLL_MS 2000

/* A growable text buffer for the pages. */
struct text {
	char *p;
	size_t len, cap;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (t->p != NULL && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = (t->cap ? t->cap * 2 : 4096) + (size_t)n;
		char *p = realloc(t->p, cap);

		if (p == NULL)
			return;
		t->p = p;
		t->cap = cap;
	}
}

/* HTML-escapes s into t. */
static void add_html(struct text *t, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': add(t, "&lt;"); break;
		case '>': add(t, "&gt;"); break;
		case '&': add(t, "&amp;"); break;
		case '"': add(t, "&quot;"); break;
		default: add(t, "%c", *s); break;
		}
	}
}

/* The cached statuses (caller frees), or NULL before the first poll. */
static Csb__AllStatusReply *cached(struct coord *c, uint64_t *when)
{
	Csb__AllStatusReply *all = NULL;

	pthread_mutex_lock(&c->mu);
	if (c->status != NULL)
		(void)csb_wire_unpack(&csb__all_status_reply__descriptor, c->status, c->status_len,
		                      (ProtobufCMessage **)&all, NULL, 0);
	*when = c->status_ms;
	pthread_mutex_unlock(&c->mu);
	return all;
}

static void page_api(void *ctx, csb_http_response *res)
{
	struct coord *c = ctx;
	uint64_t when;
	Csb__AllStatusReply *all = cached(c, &when);
	json_t *arr = json_array();

	for (size_t i = 0; all != NULL && i < all->n_pools; i++)
		json_array_append_new(arr, csb_status_json(all->pools[i]));
	res->content_type = "application/json";
	res->body = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
	res->len = res->body ? strlen(res->body) : 0;
	json_decref(arr);
	if (all != NULL)
		protobuf_c_message_free_unpacked(&all->base, NULL);
}

static void metric_head(struct text *t, const char *name, const char *type, const char *help)
{
	add(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void page_metrics(void *ctx, csb_http_response *res)
{
	struct coord *c = ctx;
	uint64_t when;
	Csb__AllStatusReply *all = cached(c, &when);
	struct text t = {0};
	static const struct {
		const char *name, *type, *help;
	} heads[] = {
		{"csb_export_lag_records", "gauge", "Changes of a module not yet imported by the backup pool."},
		{"csb_export_lag_seconds", "gauge", "Age of the oldest change not yet imported by the backup pool."},
		{"csb_sync_records_total", "counter", "Records a module ever sent to the backup pool."},
		{"csb_sync_bytes_total", "counter", "Wire bytes a module ever sent to the backup pool."},
		{"csb_export_state", "gauge", "1 for the module's current export state."},
		{"csb_import_state", "gauge", "1 for the module's current import state."},
	};

	metric_head(&t, "csb_pool_up", "gauge", "1 when the pool's agent answered the last poll.");
	for (size_t i = 0; all != NULL && i < all->n_pools; i++)
		add(&t, "csb_pool_up{pool=\"%s\"} %d\n", all->pools[i]->pool_fqdn,
		    all->pools[i]->n_backup_modules > 0);
	for (size_t h = 0; h < sizeof(heads) / sizeof(heads[0]); h++) {
		metric_head(&t, heads[h].name, heads[h].type, heads[h].help);
		for (size_t i = 0; all != NULL && i < all->n_pools; i++) {
			const Csb__PoolStatus *ps = all->pools[i];

			for (size_t j = 0; j < ps->n_backup_modules; j++) {
				const Csb__ModuleStatus *m = ps->backup_modules[j];
				const char *pl = ps->pool_fqdn, *mod = m->identity;

				switch (h) {
				case 0: add(&t, "%s{pool=\"%s\",module=\"%s\"} %llu\n", heads[h].name, pl, mod, (unsigned long long)m->lag_records); break;
				case 1: add(&t, "%s{pool=\"%s\",module=\"%s\"} %.3f\n", heads[h].name, pl, mod, m->lag_seconds); break;
				case 2: add(&t, "%s{pool=\"%s\",module=\"%s\"} %llu\n", heads[h].name, pl, mod, (unsigned long long)m->exported_records_total); break;
				case 3: add(&t, "%s{pool=\"%s\",module=\"%s\"} %llu\n", heads[h].name, pl, mod, (unsigned long long)m->exported_bytes_total); break;
				case 4:
					for (int s = 0; s < 5; s++)
						add(&t, "%s{pool=\"%s\",module=\"%s\",state=\"%s\"} %d\n", heads[h].name, pl, mod,
						    csb_export_state_name((Csb__ExportState)s), (int)m->export_status == s);
					break;
				default:
					for (int s = 0; s < 3; s++)
						add(&t, "%s{pool=\"%s\",module=\"%s\",state=\"%s\"} %d\n", heads[h].name, pl, mod,
						    csb_import_state_name((Csb__ImportState)s), (int)m->import_status == s);
					break;
				}
			}
		}
	}
	res->content_type = "text/plain; version=0.0.4; charset=utf-8";
	res->body = t.p;
	res->len = t.len;
	if (all != NULL)
		protobuf_c_message_free_unpacked(&all->base, NULL);
}

static void page_pool(struct text *t, const Csb__PoolStatus *ps)
{
	add(t, "<h2>");
	add_html(t, ps->pool_fqdn);
	add(t, "</h2>\n<p>Backup pool: ");
	add_html(t, ps->backup_pool_fqdn[0] ? ps->backup_pool_fqdn : "(none)");
	if (ps->n_backup_modules == 0) {
		add(t, " &mdash; <span class=\"err\">the agent did not answer</span></p>\n");
		return;
	}
	add(t, "</p>\n<table><tr><th>Module</th><th>Export</th><th>Import</th><th>High seq</th>"
	       "<th>Lag (records)</th><th>Lag (s)</th><th>Records sent</th><th>Bytes sent</th>"
	       "<th>Last error</th></tr>\n");
	for (size_t j = 0; j < ps->n_backup_modules; j++) {
		const Csb__ModuleStatus *m = ps->backup_modules[j];

		add(t, "<tr><td>");
		add_html(t, m->identity);
		add(t, "</td><td class=\"s%d\">%s</td><td>%s</td><td>%llu</td><td>%llu</td>"
		       "<td>%.3f</td><td>%llu</td><td>%llu</td><td>",
		    (int)m->export_status, csb_export_state_name(m->export_status),
		    csb_import_state_name(m->import_status), (unsigned long long)m->high_seq,
		    (unsigned long long)m->lag_records, m->lag_seconds,
		    (unsigned long long)m->exported_records_total,
		    (unsigned long long)m->exported_bytes_total);
		add_html(t, m->last_error ? m->last_error : "");
		add(t, "</td></tr>\n");
	}
	add(t, "</table>\n");
}

static void page_index(void *ctx, csb_http_response *res)
{
	struct coord *c = ctx;
	uint64_t when;
	Csb__AllStatusReply *all = cached(c, &when);
	struct text t = {0};
	char at[32] = "never";

	if (when)
		csb_time_format(when, at, sizeof(at));
	add(&t, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	        "<meta http-equiv=\"refresh\" content=\"5\"><title>csbackup status</title>\n"
	        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
	        "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
	        ".s2,.s3{color:#070}.s1{color:#a60}.s4,.err{color:#b00}</style></head><body>\n"
	        "<h1>csbackup &mdash; backup status</h1>\n<p>As of %s (refreshed every 5 s). "
	        "<a href=\"/api/v1/status\">JSON</a> &middot; <a href=\"/metrics\">metrics</a></p>\n",
	    at);
	if (all == NULL || all->n_pools == 0)
		add(&t, "<p>No pools yet: publish a topology (Publish-CsTopology).</p>\n");
	for (size_t i = 0; all != NULL && i < all->n_pools; i++)
		page_pool(&t, all->pools[i]);
	add(&t, "</body></html>\n");
	res->content_type = "text/html; charset=utf-8";
	res->body = t.p;
	res->len = t.len;
	if (all != NULL)
		protobuf_c_message_free_unpacked(&all->base, NULL);
}

static void *poller_main(void *arg)
{
	struct coord *c = arg;
	struct timespec ts;
	uint8_t *buf;
	size_t len;

	pthread_mutex_lock(&c->mu);
	while (!c->stopping) {
		pthread_mutex_unlock(&c->mu);
		if (coord__all_status_pack(c, &buf, &len) == CSB_OK) {
			pthread_mutex_lock(&c->mu);
			free(c->status);
			c->status = buf;
			c->status_len = len;
			c->status_ms = csb_now_ms();
			pthread_mutex_unlock(&c->mu);
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += POLL_MS / 1000;
		pthread_mutex_lock(&c->mu);
		if (!c->stopping)
			pthread_cond_timedwait(&c->poll_cond, &c->mu, &ts);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

csb_err coord__web_start(struct coord *c, const char *hostport)
{
	const csb_http_route routes[] = {
		{"/", page_index, c},
		{"/api/v1/status", page_api, c},
		{"/metrics", page_metrics, c},
	};
	csb_err rv;

	pthread_cond_init(&c->poll_cond, NULL);
	if (pthread_create(&c->poller, NULL, poller_main, c) != 0)
		return CSB_ENOMEM;
	c->polling = true;
	if (hostport == NULL || hostport[0] == '\0')
		return CSB_OK;
	if ((rv = csb_http_start(hostport, routes, 3, &c->http)) != CSB_OK)
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
	free(c->status);
	c->status = NULL;
}
