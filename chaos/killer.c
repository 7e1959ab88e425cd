/* The killers of a chaos run: one thread per pair of pools and one for the coordinator,
 * so that faults overlap across the cluster, as outages do. Each fault SIGKILLs its nodes
 * with `csb cluster kill`, waits out a short or long outage and starts them again with
 * `csb cluster start` (which returns once the node answers). A node that does not start is
 * tried again; one that never does is counted as stuck. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "chaos/chaos.h"
#include "common/clock.h"

#define CSB_TIMEOUT_MS 60000
#define START_TRIES 10
#define START_RETRY_MS 500
#define GAP_MAX_MS 300
#define FAILOVER_TRIES 30

struct killer {
	struct chaos_run *r;
	unsigned pair;     /* 1 or 2: pools 2p-1 and 2p; 0: the coordinator */
	uint64_t rng;
	pthread_t thread;
};

/* Claims the next fault, unless the run is over. */
static bool claim(struct chaos_run *r)
{
	if (atomic_load(&r->stop) || csb_mono_ms() - r->t0 >= r->duration_ms)
		return false;
	return atomic_fetch_add(&r->faults_claimed, 1) < r->faults;
}

static void node_kill(struct chaos_run *r, const char *node)
{
	char out[2048];
	int code = chaos_csb(r, out, sizeof(out), CSB_TIMEOUT_MS, "cluster", "kill", "--dir", r->dir,
	                     "--node", node, NULL);

	if (code != 0)
		chaos_log(r, "nemesis kill-failed node=%s exit=%d out=%.200s", node, code, out);
}

static void node_start(struct chaos_run *r, const char *node)
{
	char out[2048];

	for (int i = 0; i < START_TRIES; i++) {
		int code = chaos_csb(r, out, sizeof(out), CSB_TIMEOUT_MS, "cluster", "start", "--dir",
		                     r->dir, "--node", node, NULL);
		char *nl;

		if (code == 0)
			return;
		if ((nl = strchr(out, '\n')) != NULL)
			*nl = '\0';
		chaos_log(r, "nemesis start-failed node=%s exit=%d out=\"%.300s\"", node, code, out);
		fprintf(stderr, "chaos: %s did not start (try %d): %s\n", node, i + 1, out);
		atomic_fetch_add(&r->start_failures, 1);
		csb_sleep_ms(START_RETRY_MS);
	}
	atomic_fetch_add(&r->start_givenup, 1);
}

static enum chaos_fault pick(struct killer *k)
{
	uint64_t x = chaos_rand(&k->rng, 100);

	if (k->pair == 0)
		return x < 55 ? FAULT_COORD_SHORT : x < 80 ? FAULT_COORD_LONG : FAULT_CMS_FAILOVER;
	if (x < 15)
		return FAULT_FAILOVER;
	if (x < 35)
		return FAULT_AGENT_SHORT;
	if (x < 50)
		return FAULT_AGENT_LONG;
	if (x < 85)
		return FAULT_PAIR_SHORT;
	return FAULT_PAIR_LONG;
}

/* Runs `csb <cmdlet> -PoolFqdn <pool>` (pool NULL: no parameter) until it succeeds (another
 * killer may have the coordinator or an agent down meanwhile: a rerun resumes it), at most
 * FAILOVER_TRIES. */
static bool until_done(struct chaos_run *r, const char *cmdlet, const char *pool)
{
	char out[2048];

	for (int i = 0; i < FAILOVER_TRIES; i++) {
		int code = pool != NULL ? chaos_csb(r, out, sizeof(out), CSB_TIMEOUT_MS, cmdlet,
		                                    "-PoolFqdn", pool, NULL)
		                        : chaos_csb(r, out, sizeof(out), CSB_TIMEOUT_MS, cmdlet, NULL);
		char *nl;

		if (code == 0)
			return true;
		if ((nl = strchr(out, '\n')) != NULL)
			*nl = '\0';
		chaos_log(r, "nemesis %s-retry pool=%s exit=%d out=\"%.300s\"", cmdlet,
		          pool ? pool : "-", code, out);
		csb_sleep_ms(START_RETRY_MS);
	}
	return false;
}

/* A controlled failover of one pool of the pair (of pair 1, the one whose host does not run
 * the CMS master now: the other is refused until the CMS moves), its users unserved by it
 * for the outage, then the failback. The writers write to the pool's own agent: refused
 * meanwhile, never lost. */
static void failover(struct killer *k, uint32_t outage)
{
	struct chaos_run *r = k->r;
	const char *pool = chaos_pool(k->pair == 1 ? 2 : 3 + (unsigned)chaos_rand(&k->rng, 2));
	char out[2048];

	if (k->pair == 1 &&
	    chaos_csb(r, out, sizeof(out), CSB_TIMEOUT_MS, "Invoke-CsPoolFailover", "-PoolFqdn",
	              pool, "-WhatIf", NULL) != 0 && strstr(out, "CMS is hosted on") != NULL)
		pool = chaos_pool(1);
	chaos_log(r, "nemesis failover begin pool=%s outage_ms=%" PRIu32, pool, outage);
	if (until_done(r, "Invoke-CsPoolFailover", pool)) {
		csb_sleep_ms(outage);
		if (!until_done(r, "Invoke-CsPoolFailback", pool))
			atomic_fetch_add(&r->start_givenup, 1);
	} else {
		atomic_fetch_add(&r->start_givenup, 1);
	}
	atomic_fetch_add(&r->fault_counts[FAULT_FAILOVER], 1);
	chaos_log(r, "nemesis failover end pool=%s", pool);
}

static void fault(struct killer *k, enum chaos_fault kind)
{
	struct chaos_run *r = k->r;
	const char *nodes[2];
	unsigned n = 0;
	uint32_t outage;
	bool is_long = kind == FAULT_AGENT_LONG || kind == FAULT_PAIR_LONG || kind == FAULT_COORD_LONG;

	if (kind == FAULT_FAILOVER) {
		failover(k, (uint32_t)chaos_rand(&k->rng, r->short_max_ms + 1));
		return;
	}
	if (kind == FAULT_CMS_FAILOVER) {
		chaos_log(r, "nemesis cms-failover begin");
		if (!until_done(r, "Invoke-CsManagementServerFailover", NULL))
			atomic_fetch_add(&r->start_givenup, 1);
		atomic_fetch_add(&r->fault_counts[kind], 1);
		chaos_log(r, "nemesis cms-failover end");
		return;
	}
	if (k->pair == 0) {
		/* The master or the standby: the CMS moves between them. */
		nodes[n++] = chaos_rand(&k->rng, 3) == 0 ? "coordinator2" : "coordinator";
	} else {
		unsigned a = 2 * k->pair - 1, b = 2 * k->pair;

		if (kind == FAULT_PAIR_SHORT || kind == FAULT_PAIR_LONG) {
			bool first_a = chaos_rand(&k->rng, 2) == 0;

			nodes[n++] = chaos_pool(first_a ? a : b);
			nodes[n++] = chaos_pool(first_a ? b : a);
		} else {
			nodes[n++] = chaos_pool(chaos_rand(&k->rng, 2) == 0 ? a : b);
		}
	}
	outage = is_long ? r->long_min_ms + (uint32_t)chaos_rand(&k->rng, r->long_max_ms -
	                                                                       r->long_min_ms + 1)
	                 : (uint32_t)chaos_rand(&k->rng, r->short_max_ms + 1);
	chaos_log(r, "nemesis %s begin nodes=%s%s%s outage_ms=%" PRIu32, chaos_fault_names[kind],
	          nodes[0], n > 1 ? "," : "", n > 1 ? nodes[1] : "", outage);
	for (unsigned i = 0; i < n; i++)
		node_kill(r, nodes[i]);
	csb_sleep_ms(outage);
	for (unsigned i = 0; i < n; i++)
		node_start(r, nodes[i]);
	atomic_fetch_add(&r->fault_counts[kind], 1);
	chaos_log(r, "nemesis %s end", chaos_fault_names[kind]);
}

static void *killer_main(void *arg)
{
	struct killer *k = arg;

	while (claim(k->r)) {
		fault(k, pick(k));
		csb_sleep_ms(chaos_rand(&k->rng, GAP_MAX_MS + 1));
	}
	return NULL;
}

void chaos_killers_run(struct chaos_run *r)
{
	struct killer ks[1 + CHAOS_POOLS / 2];
	unsigned n = 0;

	for (unsigned p = 0; p <= CHAOS_POOLS / 2; p++) {
		ks[n] = (struct killer){.r = r, .pair = p};
		ks[n].rng = (r->seed * 0x2545f4914f6cdd1dull) ^ (0xd1b54a32d192ed03ull * (p + 1));
		if (ks[n].rng == 0)
			ks[n].rng = 1;
		if (pthread_create(&ks[n].thread, NULL, killer_main, &ks[n]) == 0)
			n++;
	}
	for (unsigned i = 0; i < n; i++)
		pthread_join(ks[i].thread, NULL);
}
