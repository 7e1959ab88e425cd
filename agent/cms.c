/* The CMS master as this pool knows it (Invoke-CsManagementServerFailover, DESIGN.md §4,
 * notes/failover.md 3.8). The agent keeps the master's FQDN, URL and CMS epoch in its store
 * (meta "cms.master"), learns a move from the replica's cms/master record (the old master's
 * last record names the new one) or from the new master itself (csb.Control/CmsMaster), and
 * then follows it: the replica's importer moves to the new URL at once, and every request
 * carries the epoch. A coordinator that calls at an older epoch is refused with the line
 * that names the active master, so two coordinators can never both drive this pool. The
 * standby coordinator takes the CMS over from this replica (csb.Control/ReplicaDump). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/internal/pool.h"
#include "common/log.h"
#include "common/modules.h"
#include "common/wire.h"
#include "node/convert.h"
#include "proto/admin.pb-c.h"
#include "proto/sync.pb-c.h"

#define MASTER_META "cms.master"
#define DUMP_TRIES 5

/* The persisted record: the master, and whether the replica still has to follow it. */
static csb_err master_save(csb_store *st, const csb_cms_master *m, bool moved)
{
	char *json = csb_cms_master_to_json(m), *doc;
	csb_err rv;

	if (json == NULL)
		return CSB_ENOMEM;
	if ((doc = malloc(strlen(json) + 2)) == NULL) {
		free(json);
		return CSB_ENOMEM;
	}
	/* One byte of state ahead of the JSON: 'm' moved, 'f' followed. */
	doc[0] = moved ? 'm' : 'f';
	strcpy(doc + 1, json);
	rv = csb_store_meta_put(st, MASTER_META, doc, strlen(doc));
	free(doc);
	free(json);
	return rv;
}

static bool master_read(csb_store *st, csb_cms_master *m, bool *moved)
{
	char err[128];
	void *v = NULL;
	size_t len;
	bool ok;

	if (csb_store_meta_get(st, MASTER_META, &v, &len) != CSB_OK)
		return false;
	ok = len > 1 && csb_cms_master_parse((char *)v + 1, len - 1, m, err, sizeof(err)) == CSB_OK;
	if (ok)
		*moved = ((char *)v)[0] == 'm';
	else
		csb_warn("agent", "ignoring the stored CMS master: %s", err);
	free(v);
	return ok;
}

csb_err pool__master_load(struct pool *p, csb_node_opts *no)
{
	csb_store_opts so = {.map_size = no->map_size};
	csb_store *st;
	bool moved = false;
	csb_err rv;

	if (no->coordinator_url == NULL || no->coordinator_url[0] == '\0')
		return CSB_OK; /* no coordinator: nothing to follow */
	snprintf(p->master_url, sizeof(p->master_url), "%s", no->coordinator_url);
	if ((rv = csb_store_open(no->state_dir, &so, &st)) != CSB_OK)
		return rv;
	if (master_read(st, &p->master, &moved)) {
		p->master_moved = moved;
		no->cms_epoch = p->master.epoch;
		no->coordinator_moved = moved;
		if (p->master.url[0] != '\0' && strcmp(p->master.url, no->coordinator_url) != 0) {
			csb_info("agent", "following the CMS master pool=%s master=%s epoch=%llu url=%s "
			         "(not --coordinator %s)", p->name, p->master.fqdn,
			         (unsigned long long)p->master.epoch, p->master.url, no->coordinator_url);
			snprintf(p->master_url, sizeof(p->master_url), "%s", p->master.url);
			no->coordinator_url = p->master_url;
		}
	}
	csb_store_close(st);
	return CSB_OK;
}

/* Takes m as the active master when its epoch is higher than the one known. */
static void master_adopt(struct pool *p, const csb_cms_master *m, const char *by)
{
	csb_cms_master was;
	bool moves;

	pthread_mutex_lock(&p->mmu);
	if (m->epoch <= p->master.epoch) {
		pthread_mutex_unlock(&p->mmu);
		return;
	}
	was = p->master;
	moves = m->url[0] != '\0' && strcmp(m->url, p->master_url) != 0;
	p->master = *m;
	if (moves)
		snprintf(p->master_url, sizeof(p->master_url), "%s", m->url);
	/* A later epoch is a master that took the CMS over from a replica, under a new
	 * lineage, even at the URL followed before (the CMS moved away and back while this
	 * pool looked elsewhere): the replica must follow it, also after a restart. */
	p->master_moved = p->master_moved || moves || was.epoch != 0;
	if (master_save(csb_node_store(p->node), m, p->master_moved) != CSB_OK)
		csb_error("agent", "cannot persist the CMS master pool=%s", p->name);
	csb_node_set_cms_epoch(p->node, m->epoch);
	if (p->master_moved)
		csb_node_set_coordinator(p->node, p->master_url); /* the same URL: only "moved" */
	pthread_mutex_unlock(&p->mmu);
	if (was.epoch == 0)
		csb_info("agent", "CMS master pool=%s master=%s epoch=%llu by=%s", p->name,
		         m->fqdn, (unsigned long long)m->epoch, by);
	else
		csb_warn("agent", "CMS master moved pool=%s master=%s epoch=%llu url=%s was=%s by=%s",
		         p->name, m->fqdn, (unsigned long long)m->epoch, m->url, was.fqdn, by);
}

void pool__master_from_replica(struct pool *p, const csb_cms_view *v)
{
	char *json = NULL, err[CSB_RPC_ERROR_MAX];
	csb_cms_master m;

	if (v->get(v->ctx, CSB_CMS_KEY_MASTER, &json, err) != CSB_OK)
		return;
	if (csb_cms_master_parse(json, strlen(json), &m, err, sizeof(err)) == CSB_OK)
		master_adopt(p, &m, "replica");
	else
		csb_warn("agent", "replica CMS master refused pool=%s err=\"%s\"", p->name, err);
	free(json);
	/* The replica re-seeded from (or pulled from) the master it moved to: followed. */
	pthread_mutex_lock(&p->mmu);
	if (p->master_moved && !csb_node_coordinator_moved(p->node)) {
		p->master_moved = false;
		(void)master_save(csb_node_store(p->node), &p->master, false);
	}
	pthread_mutex_unlock(&p->mmu);
}

csb_err pool__gate(void *ctx, const csb_rpc_request *req, char err[CSB_RPC_ERROR_MAX])
{
	struct pool *p = ctx;
	csb_err rv = CSB_OK;

	if (req->cms_epoch == 0 || strcmp(req->principal, p->coord_name) != 0)
		return CSB_OK;
	pthread_mutex_lock(&p->mmu);
	if (req->cms_epoch < p->master.epoch) {
		csb_cms_master_refusal(&p->master, err, CSB_RPC_ERROR_MAX);
		rv = CSB_ENOTMASTER;
	}
	pthread_mutex_unlock(&p->mmu);
	if (rv != CSB_OK)
		csb_warn("agent", "refused a coordinator at an old CMS epoch pool=%s method=%s "
		         "epoch=%llu", p->name, req->method, (unsigned long long)req->cms_epoch);
	return rv;
}

/* csb.Control/CmsMaster: the new master tells this pool to follow it. */
static csb_err cms_master(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                          csb_rpc_reply *rep)
{
	struct pool *p = ctx;
	const Csb__CmsMasterRequest *rq = (const Csb__CmsMasterRequest *)msg;
	Csb__CmsMasterReply out = CSB__CMS_MASTER_REPLY__INIT;
	csb_cms_master m = {.epoch = rq->epoch, .since_ms = 0};
	csb_cursor cur = {0};

	(void)req;
	if (rq->epoch == 0 || strlen(rq->fqdn) >= sizeof(m.fqdn) || strlen(rq->url) >= sizeof(m.url) ||
	    rq->url[0] == '\0') {
		snprintf(rep->error, sizeof(rep->error), "a CMS master needs an FQDN, a URL and an epoch");
		return CSB_EINVAL;
	}
	pthread_mutex_lock(&p->mmu);
	if (rq->epoch < p->master.epoch) {
		csb_cms_master_refusal(&p->master, rep->error, sizeof(rep->error));
		pthread_mutex_unlock(&p->mmu);
		return CSB_ENOTMASTER;
	}
	pthread_mutex_unlock(&p->mmu);
	(void)csb_store_cursor_get(csb_node_store(p->node), CSB_COORDINATOR_NAME, CSB_MODULE_CMS, &cur);
	snprintf(m.fqdn, sizeof(m.fqdn), "%s", rq->fqdn);
	snprintf(m.url, sizeof(m.url), "%s", rq->url);
	master_adopt(p, &m, "master");
	out.applied_seq = cur.applied_seq;
	out.lineage.data = cur.lineage.b;
	out.lineage.len = CSB_LINEAGE_LEN;
	out.epoch = csb_node_cms_epoch(p->node);
	return csb_wire_pack(&out.base, &rep->body, &rep->body_len);
}

/* ---- csb.Control/ReplicaDump: the standby copy, whole ---------------------------------- */

struct dump {
	Csb__Record *recs;
	Csb__Record **ptrs;
	size_t n, cap;
	csb_err rv;
};

static bool dump_one(void *ctx, const csb_record *r)
{
	struct dump *d = ctx;
	Csb__Record *pr;

	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		Csb__Record *recs = realloc(d->recs, cap * sizeof(*recs));

		if (recs == NULL) {
			d->rv = CSB_ENOMEM;
			return false;
		}
		d->recs = recs;
		d->cap = cap;
	}
	pr = &d->recs[d->n];
	csb_pb_record_to_pb(r, pr);
	pr->key.data = malloc(r->key_len);
	pr->value.data = malloc(r->value_len ? r->value_len : 1);
	if (pr->key.data == NULL || pr->value.data == NULL) {
		free(pr->key.data);
		free(pr->value.data);
		d->rv = CSB_ENOMEM;
		return false;
	}
	memcpy(pr->key.data, r->key, r->key_len);
	if (r->value_len)
		memcpy(pr->value.data, r->value, r->value_len);
	d->n++;
	return true;
}

static void dump_free(struct dump *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->recs[i].key.data);
		free(d->recs[i].value.data);
	}
	free(d->recs);
	free(d->ptrs);
	memset(d, 0, sizeof(*d));
}

static csb_err replica_dump(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                            csb_rpc_reply *rep)
{
	struct pool *p = ctx;
	csb_store *st = csb_node_store(p->node);
	Csb__Batch out = CSB__BATCH__INIT;
	Csb__Digest dg = CSB__DIGEST__INIT;
	static const csb_range all = {0};
	csb_cursor before, after;
	struct dump d = {0};
	csb_err rv = CSB_EBUSY;

	(void)req;
	(void)msg;
	/* The replica is quiet while the master hands over; a batch applied during the scan
	 * shows as a moved cursor, and the scan is done again. */
	for (int i = 0; i < DUMP_TRIES && rv == CSB_EBUSY; i++) {
		dump_free(&d);
		if ((rv = csb_store_cursor_get(st, CSB_COORDINATOR_NAME, CSB_MODULE_CMS, &before)) != CSB_OK)
			break;
		rv = csb_store_scan(st, CSB_COORDINATOR_NAME, CSB_MODULE_CMS, &all, NULL, 0, 0, dump_one,
		                    &d);
		if (rv == CSB_OK)
			rv = d.rv;
		if (rv == CSB_OK &&
		    (rv = csb_store_cursor_get(st, CSB_COORDINATOR_NAME, CSB_MODULE_CMS, &after)) == CSB_OK &&
		    (after.applied_seq != before.applied_seq ||
		     memcmp(&after.lineage, &before.lineage, sizeof(after.lineage)) != 0))
			rv = CSB_EBUSY;
	}
	if (rv == CSB_ENOTFOUND)
		snprintf(rep->error, sizeof(rep->error), "%.100s holds no replica of the Central "
		         "Management store", p->name);
	else if (rv == CSB_EBUSY)
		snprintf(rep->error, sizeof(rep->error), "the replica of %.100s kept changing", p->name);
	if (rv != CSB_OK)
		goto out;
	if (d.n > 0 && (d.ptrs = calloc(d.n, sizeof(*d.ptrs))) == NULL) {
		rv = CSB_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < d.n; i++)
		d.ptrs[i] = &d.recs[i];
	out.records = d.ptrs;
	out.n_records = d.n;
	out.last_seq = out.high_seq = after.applied_seq;
	out.lineage.data = after.lineage.b;
	out.lineage.len = CSB_LINEAGE_LEN;
	csb_pb_digest_to_pb(&after.digest, &dg);
	out.digest = &dg;
	out.count = after.count;
	rv = csb_wire_pack(&out.base, &rep->body, &rep->body_len);
out:
	dump_free(&d);
	return rv;
}

size_t pool__cms_methods(struct pool *p, csb_rpc_method *out)
{
	out[0] = (csb_rpc_method){"csb.Control/CmsMaster", NULL, p, &csb__cms_master_request__descriptor,
	                          cms_master, pool__admin_only};
	out[1] = (csb_rpc_method){"csb.Control/ReplicaDump", NULL, p, &csb__empty__descriptor,
	                          replica_dump, pool__admin_only};
	return 2;
}
