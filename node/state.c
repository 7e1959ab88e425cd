/* Export and import states (DESIGN.md §3) and the only functions that assign them:
 * node__export_advance() and node__import_advance(), each deciding from facts and logging
 * every change once. The 1 Hz tick advances the exports, persists their totals and prunes
 * acknowledged tombstones; the status document reads the same facts. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/wire.h"
#include "node/internal/node.h"
#include "proto/status.pb-c.h"
#include "proto/sync.pb-c.h"

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

const char *node__export_state_name(enum export_state s)
{
	return export_names[s];
}

const char *node__import_state_name(enum import_state s)
{
	return import_names[s];
}

/* ---- Export ------------------------------------------------------------------------- */

/* The facts one export state is decided from. */
struct export_facts {
	bool serving_failed;  /* the last Pull could not be served */
	bool stale;           /* the importer stopped calling */
	bool ever;            /* pulled since start, or sent anything ever */
	bool disabled;        /* not backed up (EnableRgsBackupService $false) */
	bool read_only;
	uint64_t lag_records;
	uint64_t lag_ms;      /* age of the oldest change not acknowledged */
	uint64_t batch_records;
	uint64_t interval_ms;
};

/* The rule of DESIGN.md §3, for the node's own rows and the coordinator's CMS row. */
static enum export_state export_decide(const struct export_facts *f)
{
	if (f->disabled)
		return EXPORT_NOT_INITIALIZED;
	if (f->serving_failed || f->stale)
		return EXPORT_ERROR;
	if (!f->ever)
		return EXPORT_NOT_INITIALIZED;
	if (f->lag_records == 0)
		return f->read_only ? EXPORT_FINAL : EXPORT_STEADY;
	if (f->lag_records <= f->batch_records && f->lag_ms < f->interval_ms)
		return EXPORT_STEADY;
	return EXPORT_NON_STEADY;
}

/* Wall time of the oldest change above acked; 0 when none is known. em->mu held. */
static uint64_t oldest_pending_ms(const struct export_mod *em, uint64_t acked)
{
	for (unsigned i = 0; i < em->ring_len; i++) {
		const struct lag_mark *m = &em->ring[(em->ring_head + i) % NODE_LAG_RING];

		if (m->seq > acked)
			return m->wall_ms;
	}
	return 0;
}

static uint64_t lag_ms(const struct export_mod *em, uint64_t acked, uint64_t now_ms)
{
	uint64_t since;

	if (em->committed <= acked)
		return 0;
	since = oldest_pending_ms(em, acked);
	if (since == 0)
		since = em->last_export_ms;
	return since != 0 && now_ms > since ? now_ms - since : 0;
}

/* Whether the partner has stopped calling (pools with a partner only). em->mu held. */
static bool partner_stale(struct csb_node *n, struct export_mod *em, const char *partner,
                          uint64_t now_ms, char *why)
{
	uint64_t quiet;

	if (n->role != CSB_NODE_POOL || partner[0] == '\0')
		return false;
	quiet = now_ms > em->contact_ms ? now_ms - em->contact_ms : 0;
	if (quiet <= n->cfg.long_poll_ms + NODE_STALE_EXTRA_MS)
		return false;
	node__set_error(why, "%s (backup pool) has not pulled %s for %" PRIu64 " s", partner,
	                em->module, quiet / 1000);
	return true;
}

void node__export_advance(struct csb_node *n, struct export_mod *em, uint64_t now_ms)
{
	char partner[CSB_NODE_NAME_MAX], why[CSB_RPC_ERROR_MAX] = "";
	csb_node_config cfg = csb_node_cfg(n);
	struct export_facts f = {.read_only = csb_node_read_only(n, NULL),
	                         .batch_records = cfg.max_records,
	                         .interval_ms = cfg.sync_interval_ms};
	enum export_state next;

	csb_node_partner(n, partner);
	pthread_mutex_lock(&em->mu);
	f.disabled = !csb_node_module_enabled(n, em->module);
	f.serving_failed = em->last_error[0] != '\0';
	f.stale = !f.disabled && partner_stale(n, em, partner, now_ms, why);
	f.ever = em->pulled || em->records_total > 0;
	f.lag_records = em->committed > em->acked_seq ? em->committed - em->acked_seq : 0;
	f.lag_ms = lag_ms(em, em->acked_seq, now_ms);
	next = export_decide(&f);
	memcpy(em->stale_error, why, sizeof(why));
	if (next != em->state)
		csb_info("export", "state pool=%s module=%s from=%s to=%s high=%" PRIu64 " acked=%" PRIu64
		         " why=\"%s\"", n->name, em->module, export_names[em->state], export_names[next],
		         em->committed, em->acked_seq, em->last_error[0] ? em->last_error : why);
	em->state = next;
	pthread_mutex_unlock(&em->mu);
}

/* ---- Import ------------------------------------------------------------------------- */

void node__import_advance(struct importer *im, csb_err step_rv, const char *err)
{
	enum import_state next;
	bool changed;
	csb_cursor cur;
	bool have = csb_store_cursor_get(im->n->store, im->source, im->module, &cur) == CSB_OK;

	pthread_mutex_lock(&im->mu);
	im->last_rv = step_rv;
	if (step_rv != CSB_OK)
		next = IMPORT_ERROR;
	else if (have || im->records_applied > 0)
		next = IMPORT_NORMAL;
	else
		next = IMPORT_NOT_INITIALIZED;
	changed = next != im->state ||
	          (next == IMPORT_ERROR && strcmp(im->last_error, err[0] ? err : csb_strerror(step_rv)));
	if (next == IMPORT_ERROR)
		node__set_error(im->last_error, "%s", err[0] ? err : csb_strerror(step_rv));
	else
		im->last_error[0] = '\0';
	if (changed)
		csb_log(next == IMPORT_ERROR ? CSB_LOG_WARN : CSB_LOG_INFO, "import",
		        "state pool=%s source=%s module=%s from=%s to=%s err=%s detail=\"%s\"",
		        im->n->name, im->source, im->module, import_names[im->state], import_names[next],
		        csb_err_name(step_rv), im->last_error);
	im->state = next;
	pthread_mutex_unlock(&im->mu);
}

/* ---- The tick ----------------------------------------------------------------------- */

/* Persists what changed of one module's totals and acknowledgement. */
static void persist_export(struct csb_node *n, struct export_mod *em)
{
	char name[96];
	uint8_t ack[sizeof(uint64_t) + CSB_NODE_NAME_MAX];
	uint64_t dr, db, acked;
	size_t who;

	pthread_mutex_lock(&em->mu);
	dr = em->records_total - em->records_saved;
	db = em->bytes_total - em->bytes_saved;
	acked = em->acked_seq;
	who = strlen(em->acked_by);
	memcpy(ack, &acked, sizeof(acked));
	memcpy(ack + sizeof(acked), em->acked_by, who);
	pthread_mutex_unlock(&em->mu);
	if (dr != 0) {
		snprintf(name, sizeof(name), "export.records:%s", em->module);
		if (csb_store_counter_add(n->store, name, dr) == CSB_OK)
			em->records_saved += dr;
	}
	if (db != 0) {
		snprintf(name, sizeof(name), "export.bytes:%s", em->module);
		if (csb_store_counter_add(n->store, name, db) == CSB_OK)
			em->bytes_saved += db;
	}
	if (acked != em->acked_saved) {
		snprintf(name, sizeof(name), "export.acked:%s", em->module);
		if (csb_store_meta_put(n->store, name, ack, sizeof(acked) + who) == CSB_OK)
			em->acked_saved = acked;
	}
}

/* Tombstones every importer has acknowledged are no longer needed. */
static void prune_acked(struct csb_node *n, struct export_mod *em, const csb_module_info *mi)
{
	uint64_t pruned = 0, acked;
	bool pulled;

	pthread_mutex_lock(&em->mu);
	acked = em->acked_seq;
	pulled = em->pulled;
	pthread_mutex_unlock(&em->mu);
	if (!pulled || acked <= mi->horizon || acked > mi->high_seq)
		return;
	if (csb_store_prune(n->store, em->module, acked, &pruned) == CSB_OK && pruned > 0)
		csb_debug("export", "pruned pool=%s module=%s tombstones=%" PRIu64 " upto=%" PRIu64,
		          n->name, em->module, pruned, acked);
}

void node__tick(struct csb_node *n)
{
	uint64_t now = csb_now_ms();
	csb_module_info mi;

	for (size_t i = 0; i < CSB_MODULE_COUNT; i++) {
		struct export_mod *em = &n->exp[i];

		if (em->module == NULL)
			continue;
		node__export_advance(n, em, now);
		persist_export(n, em);
		if (csb_store_module_info(n->store, NULL, em->module, &mi) == CSB_OK)
			prune_acked(n, em, &mi);
	}
}

/* ---- Waiting for acknowledgements ---------------------------------------------------- */

csb_err csb_node_wait_importer(csb_node *n, const char *module, const char *principal,
                               uint64_t seq, uint64_t deadline)
{
	struct export_mod *em = node__export(n, module);
	csb_err rv = CSB_OK;

	if (em == NULL)
		return CSB_ENOTFOUND;
	pthread_mutex_lock(&em->mu);
	for (;;) {
		bool done = false;

		for (unsigned i = 0; i < em->n_acks; i++)
			if (strcasecmp(em->acks[i].principal, principal) == 0)
				done = em->acks[i].acked_seq >= seq;
		if (done)
			break;
		if (atomic_load(&n->stopping)) {
			rv = CSB_ECLOSED;
			break;
		}
		if (csb_mono_ms() >= deadline) {
			rv = CSB_ETIMEDOUT;
			break;
		}
		node__cond_wait_until(&em->cv, &em->mu, deadline);
	}
	pthread_mutex_unlock(&em->mu);
	return rv;
}

/* A refused connection fails the probe at once; a partner busy applying a large batch
 * under a sanitizer can take over a second to answer it. */
#define PROBE_MS 3000

/* Asks the partner's agent for anything (a digest of nothing): a partner that refuses
 * connections is found out at once, with the reason. */
static csb_err probe_partner(struct csb_node *n, const char *module, char *err)
{
	Csb__DigestRequest dr = CSB__DIGEST_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	csb_err rv;

	dr.source = n->name;
	dr.module = (char *)module;
	dr.from_copy = true;
	rv = csb_node_partner_call(n, "csb.Sync/DigestRanges", &dr.base,
	                           &csb__digest_reply__descriptor, PROBE_MS, &out, err);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	return rv;
}

csb_err csb_node_wait_acked(csb_node *n, const char *module, uint64_t seq, uint64_t deadline,
                            char err[CSB_RPC_ERROR_MAX])
{
	struct export_mod *em = node__export(n, module);
	char partner[CSB_NODE_NAME_MAX];
	uint64_t probed = 0, quiet, grace = n->cfg.long_poll_ms + 1000;
	csb_err rv = CSB_OK;

	if (em == NULL)
		return CSB_ENOTFOUND;
	csb_node_partner(n, partner);
	if (n->role == CSB_NODE_POOL && partner[0] == '\0') {
		node__set_error(err, "%s has no backup pool", n->name);
		return CSB_ENOTFOUND;
	}
	pthread_mutex_lock(&em->mu);
	for (;;) {
		quiet = csb_now_ms() - (em->contact_ms < csb_now_ms() ? em->contact_ms : csb_now_ms());
		/* Acknowledged, and the backup pool answered us during this wait: done. It is asked
		 * once even when its acknowledgement is already there (one small call, ~1 ms), so
		 * that a dead backup pool is never reported as backed up. */
		if (em->pulled && em->acked_seq >= seq && (n->role != CSB_NODE_POOL || probed != 0))
			break;
		if (atomic_load(&n->stopping)) {
			rv = CSB_ECLOSED;
			break;
		}
		if (csb_mono_ms() >= deadline) {
			rv = CSB_ETIMEDOUT;
			break;
		}
		if (n->role == CSB_NODE_POOL && (probed == 0 || quiet > grace) &&
		    csb_mono_ms() >= probed + 2000) {
			pthread_mutex_unlock(&em->mu);
			rv = probe_partner(n, module, err);
			probed = csb_mono_ms();
			pthread_mutex_lock(&em->mu);
			if (rv == CSB_ENOTCONN || rv == CSB_ETIMEDOUT || rv == CSB_EUNREACH ||
			    rv == CSB_ETLS) {
				rv = CSB_EUNREACH;
				break;
			}
			rv = CSB_OK;
			continue;
		}
		node__cond_wait_until(&em->cv, &em->mu,
		                      deadline < csb_mono_ms() + 500 ? deadline : csb_mono_ms() + 500);
	}
	pthread_mutex_unlock(&em->mu);
	if (rv == CSB_ETIMEDOUT)
		node__set_error(err, "%s (backup pool of %s) has not imported %s up to seq %" PRIu64,
		                partner[0] ? partner : "the importer", n->name, module, seq);
	return rv;
}

bool csb_node_importer_get(csb_node *n, const char *module, const char *principal,
                           csb_node_importer *out)
{
	struct export_mod *em = node__export(n, module);
	bool found = false;

	if (em == NULL)
		return false;
	pthread_mutex_lock(&em->mu);
	for (unsigned i = 0; i < em->n_acks && !found; i++)
		if (strcasecmp(em->acks[i].principal, principal) == 0) {
			*out = em->acks[i];
			found = true;
		}
	pthread_mutex_unlock(&em->mu);
	return found;
}

void csb_node_export_totals(csb_node *n, const char *module, uint64_t *records,
                            uint64_t *bytes, uint64_t *acked)
{
	struct export_mod *em = node__export(n, module);

	*records = *bytes = *acked = 0;
	if (em == NULL)
		return;
	pthread_mutex_lock(&em->mu);
	*records = em->records_total;
	*bytes = em->bytes_total;
	*acked = em->acked_seq;
	pthread_mutex_unlock(&em->mu);
}

/* ---- The status document ------------------------------------------------------------- */

static void fill_export(struct csb_node *n, struct export_mod *em, Csb__ModuleStatus *ms,
                        uint64_t now)
{
	csb_module_info mi = {0};

	(void)csb_store_module_info(n->store, NULL, em->module, &mi);
	node__export_advance(n, em, now);
	pthread_mutex_lock(&em->mu);
	ms->export_status = (Csb__ExportState)em->state;
	ms->high_seq = mi.high_seq;
	ms->records = mi.count;
	ms->exported_seq = em->acked_seq;
	if (csb_node_module_enabled(n, em->module)) {
		ms->lag_records = mi.high_seq > em->acked_seq ? mi.high_seq - em->acked_seq : 0;
		ms->lag_seconds = (double)lag_ms(em, em->acked_seq, now) / 1000.0;
	} /* a module not backed up has no backlog: nothing is waiting for it */
	ms->last_export_time_ms = em->last_export_ms;
	ms->exported_records_total = em->records_total;
	ms->exported_bytes_total = em->bytes_total;
	ms->exported_batches_total = em->batches_total;
	if (em->last_error[0] != '\0')
		ms->last_error = strdup(em->last_error);
	else if (em->stale_error[0] != '\0')
		ms->last_error = strdup(em->stale_error);
	pthread_mutex_unlock(&em->mu);
}

bool csb_node_export_row(csb_node *n, const char *module, const char *principal,
                         struct Csb__ModuleStatus *ms)
{
	struct export_mod *em = node__export(n, module);
	csb_node_importer imp;
	struct export_facts f;
	csb_node_config cfg = csb_node_cfg(n);
	uint64_t now = csb_now_ms();

	if (em == NULL || !csb_node_importer_get(n, module, principal, &imp)) {
		ms->export_status = CSB__EXPORT_STATE__EXPORT_NOT_INITIALIZED;
		return false;
	}
	pthread_mutex_lock(&em->mu);
	f = (struct export_facts){.ever = true,
	                          .read_only = csb_node_read_only(n, NULL),
	                          .lag_records = em->committed > imp.acked_seq
	                                             ? em->committed - imp.acked_seq : 0,
	                          .lag_ms = lag_ms(em, imp.acked_seq, now),
	                          .batch_records = cfg.max_records,
	                          .interval_ms = cfg.sync_interval_ms};
	ms->high_seq = em->committed;
	pthread_mutex_unlock(&em->mu);
	ms->exported_seq = imp.acked_seq;
	ms->lag_records = f.lag_records;
	ms->lag_seconds = (double)f.lag_ms / 1000.0;
	ms->last_export_time_ms = imp.last_ack_ms;
	ms->export_status = (Csb__ExportState)export_decide(&f);
	return true;
}

static void fill_import(struct csb_node *n, struct importer *im, Csb__ModuleStatus *ms)
{
	csb_cursor cur;
	bool have = csb_store_cursor_get(n->store, im->source, im->module, &cur) == CSB_OK;

	pthread_mutex_lock(&im->mu);
	ms->imported_seq = have ? cur.applied_seq : 0;
	ms->imported_records_total = have ? cur.applied_records : 0;
	ms->backup_records = have ? cur.count : 0;
	ms->import_status = (Csb__ImportState)im->state;
	ms->last_import_time_ms = im->last_import_ms;
	ms->reseeds = im->reseeds;
	ms->reseed_records = im->reseed_records;
	if (ms->last_error == protobuf_c_empty_string && im->last_error[0] != '\0')
		ms->last_error = strdup(im->last_error);
	pthread_mutex_unlock(&im->mu);
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

csb_err csb_node_status_pack(csb_node *n, const char *category, bool cms_standby,
                             uint8_t **buf, size_t *len)
{
	Csb__PoolStatus ps = CSB__POOL_STATUS__INIT;
	char partner[CSB_NODE_NAME_MAX];
	csb_category cat;
	bool filter = category != NULL && category[0] != '\0';
	uint64_t now = csb_now_ms();
	csb_err rv;

	if (filter && !csb_category_parse(category, &cat))
		return CSB_EINVAL;
	csb_node_partner(n, partner);
	ps.pool_fqdn = n->name;
	ps.backup_pool_fqdn = partner;
	ps.backup_modules = calloc(CSB_MODULE_COUNT, sizeof(*ps.backup_modules));
	if (ps.backup_modules == NULL)
		return CSB_ENOMEM;
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++) {
		Csb__ModuleStatus *ms;
		struct importer *im = NULL;

		if (filter && csb_modules[i].category != cat)
			continue;
		if ((ms = calloc(1, sizeof(*ms))) == NULL) {
			rv = CSB_ENOMEM;
			goto out_free;
		}
		csb__module_status__init(ms);
		ms->identity = (char *)csb_modules[i].name;
		ps.backup_modules[ps.n_backup_modules++] = ms;
		if (n->exp[i].module != NULL)
			fill_export(n, &n->exp[i], ms, now);
		pthread_mutex_lock(&n->imu);
		if (csb_modules[i].category != CSB_CAT_CMS)
			im = node__importer_ref(n->imp[i]);
		else if (cms_standby)
			im = node__importer_ref(n->cms_imp);
		pthread_mutex_unlock(&n->imu);
		if (im != NULL)
			fill_import(n, im, ms);
		node__importer_rele(im);
	}
	rv = csb_wire_pack(&ps.base, buf, len);
out_free:
	free_status(&ps);
	return rv;
}
