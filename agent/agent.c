/* The agent's lifetime: open the store, load what the export side persisted, start the
 * services, the import loops and the 1 Hz tick; stop them in reverse order. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "agent/internal/agent.h"
#include "common/clock.h"
#include "common/log.h"

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

bool agent__is_admin(const struct agent *a, const char *principal)
{
	if (principal[0] == '\0')
		return false;
	for (unsigned i = 0; i < a->n_admins; i++)
		if (strcmp(a->admins[i], principal) == 0)
			return true;
	return false;
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
	return CSB_OK;
}

static void *ticker_main(void *arg)
{
	struct agent *a = arg;

	while (!atomic_load(&a->stopping)) {
		agent__tick(a);
		agent__sleep(a, 1000);
	}
	agent__tick(a); /* persist the last totals */
	return NULL;
}

static csb_err start_server(struct agent *a)
{
	csb_rpc_method methods[24];
	size_t n = 0;
	csb_rpc_server_opts so = {
		.url = a->listen_url,
		.name = a->pool,
		.tls = a->tls,
		.workers = 32,
		.max_msg = AGENT_MAX_MSG,
	};

	n += agent__sync_methods(a, methods + n);
	n += agent__data_methods(a, methods + n);
	n += agent__control_methods(a, methods + n);
	return csb_rpc_server_start(&so, methods, n, &a->srv);
}

static csb_err start_partner(struct agent *a)
{
	csb_rpc_client_opts co = {
		.url = a->partner_url,
		.server_name = a->partner,
		.tls = a->tls,
		.max_msg = AGENT_MAX_MSG,
	};

	if (a->partner[0] == '\0')
		return CSB_OK;
	return csb_rpc_client_open(&co, &a->partner_cli);
}

static struct agent *agent_alloc(const struct agent_opts *o)
{
	struct agent *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	snprintf(a->pool, sizeof(a->pool), "%s", o->pool);
	snprintf(a->listen_url, sizeof(a->listen_url), "%s", o->listen_url);
	for (unsigned i = 0; i < o->n_admins && i < 8; i++)
		snprintf(a->admins[a->n_admins++], AGENT_NAME_MAX, "%s", o->admins[i]);
	a->tls = o->tls;
	a->cfg = o->cfg;
	pthread_mutex_init(&a->mu, NULL);
	pthread_mutex_init(&a->wmu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&a->changed, &ca);
		pthread_condattr_destroy(&ca);
	}
	pthread_cond_init(&a->wcond, NULL);
	pthread_cond_init(&a->wdone, NULL);
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++) {
		if (csb_modules[i].category == CSB_CAT_CMS)
			continue; /* the coordinator's module: replicated by its own flow */
		a->exp[i].module = csb_modules[i].name;
		a->imp[i].module = csb_modules[i].name;
	}
	return a;
}

static void agent_free(struct agent *a)
{
	csb_rpc_client_close(a->partner_cli);
	csb_store_close(a->store);
	pthread_mutex_destroy(&a->mu);
	pthread_mutex_destroy(&a->wmu);
	pthread_cond_destroy(&a->changed);
	pthread_cond_destroy(&a->wcond);
	pthread_cond_destroy(&a->wdone);
	free(a);
}

csb_err agent__start(const struct agent_opts *o, struct agent **out)
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
	if ((rv = start_partner(a)) != CSB_OK) {
		csb_error("agent", "cannot reach partner url=%s err=%s", a->partner_url,
		          csb_strerror(rv));
		goto out_close_server;
	}
	if ((rv = agent__import_start(a)) != CSB_OK)
		goto out_stop_imports;
	if (pthread_create(&a->ticker, NULL, ticker_main, a) != 0) {
		rv = CSB_ENOMEM;
		goto out_stop_imports;
	}
	csb_info("agent", "started pool=%s listen=%s port=%d partner=%s", a->pool, a->listen_url,
	         csb_rpc_server_port(a->srv), a->partner[0] ? a->partner : "-");
	*out = a;
	return CSB_OK;

out_stop_imports:
	atomic_store(&a->stopping, true);
	pthread_mutex_lock(&a->mu);
	pthread_cond_broadcast(&a->changed);
	pthread_mutex_unlock(&a->mu);
	csb_rpc_client_shutdown(a->partner_cli);
	agent__import_stop(a);
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

int agent__port(const struct agent *a)
{
	return csb_rpc_server_port(a->srv);
}

void agent__stop(struct agent *a)
{
	atomic_store(&a->stopping, true);
	pthread_mutex_lock(&a->mu);
	pthread_cond_broadcast(&a->changed);
	pthread_mutex_unlock(&a->mu);
	csb_rpc_client_shutdown(a->partner_cli); /* imports blocked in a pull return now */
	agent__import_stop(a);
	pthread_join(a->ticker, NULL);
	csb_rpc_server_close(a->srv);
	agent__writer_stop(a);
	csb_info("agent", "stopped pool=%s", a->pool);
	agent_free(a);
}
