/* Export and import states (DESIGN.md §3), the 1 Hz tick that advances them, persists the
 * export totals and prunes acknowledged tombstones, and the status document. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/internal/agent.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/wire.h"
#include "coordinator/topology.h"
#include "proto/status.pb-c.h"

static const char *const export_names[] = {
	[EXPORT_NOT_INITIALIZED] = "NotInitialized", [EXPORT_NON_STEADY] = "NonSteadyState",
	[EXPORT_STEADY] = "SteadyState",             [EXPORT_FINAL] = "FinalState",
	[EXPORT_ERROR] = "ErrorState",
};

static const char *const import_names[] = {
	[IMPORT_NOT_INITIALIZED] = "NotInitialized",
	[IMPORT_NORMAL] = "NormalState",
	[IMPORT_ERROR] = "ErrorState",
};

const char *agent__export_state_name(enum export_state s)
{
	return export_names[s];
}

const char *agent__import_state_name(enum import_state s)
{
	return import_names[s];
}

/* Wall time of the oldest change the importer has not acknowledged; 0 when none is known. */
static uint64_t oldest_pending_ms(const struct export_mod *em)
{
	for (unsigned i = 0; i < em->ring_len; i++) {
		const struct lag_mark *m = &em->ring[(em->ring_head + i) % AGENT_LAG_RING];

		if (m->seq > em->acked_seq)
			return m->wall_ms;
	}
	return 0;
}

static uint64_t lag_ms(const struct export_mod *em, uint64_t high, uint64_t now_ms)
{
	uint64_t since;

	if (high <= em->acked_seq)
		return 0;
	since = oldest_pending_ms(em);
	if (since == 0)
		since = em->last_export_ms;
	return since != 0 && now_ms > since ? now_ms - since : 0;
}

/* a->mu held. One function decides the state from the facts; every change is logged. */
void agent__export_advance(struct agent *a, struct export_mod *em, uint64_t high_seq,
                           uint64_t now_ms)
{
	uint64_t lag = high_seq > em->acked_seq ? high_seq - em->acked_seq : 0;
	enum export_state next;

	if (em->last_error[0] != '\0')
		next = EXPORT_ERROR;
	else if (!em->pulled && em->records_total == 0)
		next = EXPORT_NOT_INITIALIZED;
	else if (lag == 0 && a->read_only)
		next = EXPORT_FINAL;
	else if (lag == 0)
		next = EXPORT_STEADY;
	else if (lag <= a->cfg.max_records && lag_ms(em, high_seq, now_ms) < a->cfg.sync_interval_ms)
		next = EXPORT_STEADY;
	else
		next = EXPORT_NON_STEADY;
	if (next != em->state)
		csb_info("export", "state pool=%s module=%s from=%s to=%s high=%" PRIu64 " acked=%" PRIu64,
		         a->pool, em->module, export_names[em->state], export_names[next], high_seq,
		         em->acked_seq);
	em->state = next;
}

/* Persists what changed of one module's totals and acknowledgement. a->mu not held. */
static void persist_export(struct agent *a, struct export_mod *em)
{
	char name[96];
	uint64_t dr, db, acked;

	pthread_mutex_lock(&a->mu);
	dr = em->records_total - em->records_saved;
	db = em->bytes_total - em->bytes_saved;
	acked = em->acked_seq;
	pthread_mutex_unlock(&a->mu);
	if (dr != 0) {
		snprintf(name, sizeof(name), "export.records:%s", em->module);
		if (csb_store_counter_add(a->store, name, dr) == CSB_OK)
			em->records_saved += dr;
	}
	if (db != 0) {
		snprintf(name, sizeof(name), "export.bytes:%s", em->module);
		if (csb_store_counter_add(a->store, name, db) == CSB_OK)
			em->bytes_saved += db;
	}
	if (acked != em->acked_saved) {
		snprintf(name, sizeof(name), "export.acked:%s", em->module);
		if (csb_store_meta_put(a->store, name, &acked, sizeof(acked)) == CSB_OK)
			em->acked_saved = acked;
	}
}

/* Tombstones every importer has acknowledged are no longer needed. */
static void prune_acked(struct agent *a, struct export_mod *em, const csb_module_info *mi)
{
	uint64_t pruned = 0;

	if (!em->pulled || em->acked_seq <= mi->horizon || em->acked_seq > mi->high_seq)
		return;
	if (csb_store_prune(a->store, em->module, em->acked_seq, &pruned) == CSB_OK && pruned > 0)
		csb_debug("export", "pruned pool=%s module=%s tombstones=%" PRIu64 " upto=%" PRIu64,
		          a->pool, em->module, pruned, em->acked_seq);
}

void agent__tick(struct agent *a)
{
	uint64_t now = csb_now_ms();
	csb_module_info mi;

	for (size_t i = 0; i < CSB_MODULE_COUNT; i++) {
		struct export_mod *em = &a->exp[i];

		if (em->module == NULL || csb_store_module_info(a->store, NULL, em->module, &mi))
			continue;
		pthread_mutex_lock(&a->mu);
		agent__export_advance(a, em, mi.high_seq, now);
		pthread_mutex_unlock(&a->mu);
		persist_export(a, em);
		prune_acked(a, em, &mi);
	}
}

static void fill_export(struct agent *a, struct export_mod *em, Csb__ModuleStatus *ms,
                        uint64_t now)
{
	csb_module_info mi = {0};

	(void)csb_store_module_info(a->store, NULL, em->module, &mi);
	pthread_mutex_lock(&a->mu);
	agent__export_advance(a, em, mi.high_seq, now);
	ms->export_status = (Csb__ExportState)em->state;
	ms->high_seq = mi.high_seq;
	ms->exported_seq = em->acked_seq;
	ms->lag_records = mi.high_seq > em->acked_seq ? mi.high_seq - em->acked_seq : 0;
	ms->lag_seconds = (double)lag_ms(em, mi.high_seq, now) / 1000.0;
	ms->last_export_time_ms = em->last_export_ms;
	ms->exported_records_total = em->records_total;
	ms->exported_bytes_total = em->bytes_total;
	ms->exported_batches_total = em->batches_total;
	if (em->last_error[0] != '\0')
		ms->last_error = strdup(em->last_error);
	pthread_mutex_unlock(&a->mu);
}

static void fill_import(struct agent *a, struct import_mod *im, const char *partner,
                        Csb__ModuleStatus *ms)
{
	csb_cursor cur;
	bool have = partner[0] != '\0' &&
	            csb_store_cursor_get(a->store, partner, im->module, &cur) == CSB_OK;

	pthread_mutex_lock(&a->mu);
	ms->imported_seq = have ? cur.applied_seq : 0;
	ms->imported_records_total = have ? cur.applied_records : 0;
	ms->import_status = (Csb__ImportState)(im->state == IMPORT_NOT_INITIALIZED && have
	                                           ? IMPORT_NORMAL
	                                           : im->state);
	ms->last_import_time_ms = im->last_import_ms;
	if (ms->last_error[0] == '\0' && im->last_error[0] != '\0')
		ms->last_error = strdup(im->last_error);
	pthread_mutex_unlock(&a->mu);
}

/* Whether this pool is the backup pool of the pool hosting the CMS: its replica is then the
 * standby copy that status shows as the CMS import (DESIGN.md §2, flow 3). */
static bool is_cms_standby(struct agent *a)
{
	const csb_topo_pool *host;
	bool yes = false;

	pthread_mutex_lock(&a->mu);
	if (a->topo != NULL && (host = csb_topology_cms_host(a->topo)) != NULL)
		yes = strcasecmp(host->backup, a->pool) == 0;
	pthread_mutex_unlock(&a->mu);
	return yes;
}

static void free_status(Csb__PoolStatus *ps)
{
	for (size_t i = 0; i < ps->n_backup_modules; i++) {
		/* protobuf-c's default for a string is a shared "", never ours to free. */
		if (ps->backup_modules[i]->last_error != protobuf_c_empty_string)
			free(ps->backup_modules[i]->last_error);
		free(ps->backup_modules[i]);
	}
	free(ps->backup_modules);
}

csb_err agent__status_pack(struct agent *a, const char *category, uint8_t **buf, size_t *len)
{
	Csb__PoolStatus ps = CSB__POOL_STATUS__INIT;
	char partner[AGENT_NAME_MAX];
	csb_category cat;
	bool filter = category != NULL && category[0] != '\0';
	uint64_t now = csb_now_ms();
	csb_err rv;

	if (filter && !csb_category_parse(category, &cat))
		return CSB_EINVAL;
	agent__partner(a, partner);
	ps.pool_fqdn = a->pool;
	ps.backup_pool_fqdn = partner;
	ps.backup_modules = calloc(CSB_MODULE_COUNT, sizeof(*ps.backup_modules));
	if (ps.backup_modules == NULL)
		return CSB_ENOMEM;
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++) {
		Csb__ModuleStatus *ms;

		if (filter && csb_modules[i].category != cat)
			continue;
		if ((ms = calloc(1, sizeof(*ms))) == NULL) {
			rv = CSB_ENOMEM;
			goto out_free;
		}
		csb__module_status__init(ms);
		ms->identity = (char *)csb_modules[i].name;
		ps.backup_modules[ps.n_backup_modules++] = ms;
		if (a->exp[i].module != NULL)
			fill_export(a, &a->exp[i], ms, now);
		if (a->imp[i].module != NULL)
			fill_import(a, &a->imp[i], partner, ms);
		else if (csb_modules[i].category == CSB_CAT_CMS && a->cms_imp.module != NULL &&
		         is_cms_standby(a))
			fill_import(a, &a->cms_imp, CSB_COORDINATOR_NAME, ms);
	}
	rv = csb_wire_pack(&ps.base, buf, len);
out_free:
	free_status(&ps);
	return rv;
}
