/* What a pool learns from its CMS replica (the copy of CentralMgmt.CMSMaster imported from
 * the coordinator): its backup pool and that pool's endpoint, the SyncInterval, and who the
 * administrators are. Read at start (so an agent works on while the coordinator is away)
 * and again by the ticker whenever the replica changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/internal/agent.h"
#include "common/log.h"
#include "coordinator/config.h"
#include "coordinator/topology.h"

/* The replica's value of key as a NUL-terminated string (malloc'ed), or NULL. */
static char *replica_get(struct agent *a, const char *key)
{
	char *s = NULL;

	(void)csb_store_get_string(a->store, CSB_COORDINATOR_NAME, CSB_MODULE_CMS, key, &s);
	return s;
}

static void load_config(struct agent *a)
{
	char *json = replica_get(a, CSB_CMS_KEY_CONFIG), err[256];
	csb_backup_config c;

	if (json == NULL)
		return;
	if (csb_config_parse(json, strlen(json), &c, err, sizeof(err)) == CSB_OK) {
		pthread_mutex_lock(&a->mu);
		if (a->cfg.sync_interval_ms != c.sync_interval_ms)
			csb_info("agent", "setting pool=%s SyncInterval=%llu", a->pool,
			         (unsigned long long)c.sync_interval_ms);
		a->cfg.sync_interval_ms = c.sync_interval_ms;
		pthread_mutex_unlock(&a->mu);
	} else {
		csb_warn("agent", "replica config refused pool=%s err=\"%s\"", a->pool, err);
	}
	free(json);
}

/* Installs the replica's topology; *backup and *url get this pool's partner ("" if none). */
static void load_topology(struct agent *a, char *backup, char *url)
{
	char *json = replica_get(a, CSB_CMS_KEY_TOPOLOGY), err[256];
	const csb_topo_pool *me, *bp;
	csb_topology *t = NULL, *old;

	backup[0] = url[0] = '\0';
	if (json == NULL)
		return;
	if (csb_topology_parse(json, strlen(json), &t, err, sizeof(err)) != CSB_OK) {
		csb_warn("agent", "replica topology refused pool=%s err=\"%s\"", a->pool, err);
		free(json);
		return;
	}
	free(json);
	if ((me = csb_topology_pool(t, a->pool)) != NULL && me->backup[0] != '\0' &&
	    (bp = csb_topology_pool(t, me->backup)) != NULL) {
		snprintf(backup, AGENT_NAME_MAX, "%s", bp->fqdn);
		snprintf(url, AGENT_URL_MAX, "%s", bp->agent);
	}
	pthread_mutex_lock(&a->mu);
	old = a->topo;
	a->topo = t;
	pthread_mutex_unlock(&a->mu);
	csb_topology_free(old);
}

void agent__settings_load(struct agent *a)
{
	char backup[AGENT_NAME_MAX], url[AGENT_URL_MAX];
	char *admin = replica_get(a, CSB_CMS_KEY_ADMIN);
	bool moved;

	if (admin != NULL) {
		pthread_mutex_lock(&a->mu);
		snprintf(a->builtin_admin, sizeof(a->builtin_admin), "%s", admin);
		pthread_mutex_unlock(&a->mu);
		free(admin);
	}
	load_config(a);
	load_topology(a, backup, url);
	if (a->partner_fixed)
		return;
	pthread_rwlock_rdlock(&a->plock);
	moved = strcmp(backup, a->partner) != 0 || strcmp(url, a->partner_url) != 0;
	pthread_rwlock_unlock(&a->plock);
	if (!moved)
		return;
	if (a->running) {
		agent__partner_move(a, backup, url);
	} else { /* at start: the client is opened next */
		snprintf(a->partner, sizeof(a->partner), "%s", backup);
		snprintf(a->partner_url, sizeof(a->partner_url), "%s", url);
	}
}

void agent__settings_free(struct agent *a)
{
	csb_topology_free(a->topo);
	a->topo = NULL;
}
