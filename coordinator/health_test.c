/* The health verdict (health.c): which problems a set of polled pools has, their exact
 * lines, since when, the verdict, and the events when problems begin and clear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/internal/ops.h"

#define T0 1795860000000ull /* 2026-11-28T10:00:00.000Z */
#define P1 "pool01.csb.test"
#define P2 "pool02.csb.test"
#define P3 "pool03.csb.test"
#define P4 "pool04.csb.test"
#define PRESENCE "UserServices.PresenceFocus"
#define DATACONF "ConfServices.DataConf"

/* Two modules per pool, both steady and normal, lag 0. */
struct fixture {
	struct ops_pool pools[4];
	Csb__PoolStatus ps[4];
	Csb__ModuleStatus ms[4][2];
	Csb__ModuleStatus *mp[4][2];
};

static struct fixture *fixture_new(void)
{
	static const char *const names[4] = {P1, P2, P3, P4};
	static const char *const backups[4] = {P2, P1, P4, P3};
	struct fixture *f = calloc(1, sizeof(*f));

	for (int i = 0; i < 4; i++) {
		struct ops_pool *p = &f->pools[i];

		snprintf(p->fqdn, sizeof(p->fqdn), "%s", names[i]);
		snprintf(p->backup, sizeof(p->backup), "%s", backups[i]);
		p->polled = p->reachable = p->entry_ok = true;
		csb_pool_entry_default(names[i], &p->entry);
		csb__pool_status__init(&f->ps[i]);
		f->ps[i].pool_fqdn = (char *)names[i];
		f->ps[i].backup_pool_fqdn = (char *)backups[i];
		for (int j = 0; j < 2; j++) {
			csb__module_status__init(&f->ms[i][j]);
			f->ms[i][j].identity = j == 0 ? PRESENCE : DATACONF;
			f->ms[i][j].export_status = CSB__EXPORT_STATE__EXPORT_STEADY;
			f->ms[i][j].import_status = CSB__IMPORT_STATE__IMPORT_NORMAL;
			f->mp[i][j] = &f->ms[i][j];
		}
		f->ps[i].n_backup_modules = 2;
		f->ps[i].backup_modules = f->mp[i];
		p->ps = &f->ps[i];
	}
	return f;
}

static void unreachable(struct fixture *f, int i, const char *why)
{
	f->pools[i].reachable = false;
	snprintf(f->pools[i].error, sizeof(f->pools[i].error), "%s", why);
}

/* The problems' lines, one per line. */
static char *lines(const struct ops_health *h)
{
	static char out[8192];
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < h->n; i++) {
		ops_problem_text(&h->problems[i], out + n, sizeof(out) - n - 1);
		n += strlen(out + n);
		out[n++] = '\n';
		out[n] = '\0';
	}
	return out;
}

static void test_healthy(void **state)
{
	struct fixture *f = fixture_new();
	struct ops_health h;

	assert_int_equal(ops_health_judge(f->pools, 4, 120000, NULL, T0, &h), CSB_OK);
	assert_int_equal(h.state, OPS_HEALTHY);
	assert_int_equal(h.n, 0);
	assert_string_equal(ops_health_name(h.state), "Healthy");
	ops_health_free(&h);
	free(f);
}

static void test_agent_unreachable(void **state)
{
	struct fixture *f = fixture_new();
	struct ops_health h, h2;

	unreachable(f, 1, "the agent of " P2 " at tls+tcp://127.0.0.1:20003: connection refused");
	/* pool01's own modules would be in ErrorState: one line says why. */
	f->ms[0][0].export_status = CSB__EXPORT_STATE__EXPORT_ERROR;
	f->ms[0][0].last_error = P2 " (backup pool) has not pulled " PRESENCE " for 6 s";
	assert_int_equal(ops_health_judge(f->pools, 4, 120000, NULL, T0, &h), CSB_OK);
	assert_int_equal(h.state, OPS_DEGRADED);
	assert_string_equal(ops_health_name(h.state), "Degraded");
	assert_string_equal(lines(&h),
	                    P1 ": exports and imports stopped: backup pool " P2 " unreachable since "
	                       "2026-11-28T10:00:00.000Z\n"
	                    P2 ": agent unreachable (the agent of " P2 " at tls+tcp://127.0.0.1:20003: "
	                       "connection refused) since 2026-11-28T10:00:00.000Z\n");

	/* Two polls later both keep the time they began. */
	assert_int_equal(ops_health_judge(f->pools, 4, 120000, &h, T0 + 4000, &h2), CSB_OK);
	assert_int_equal(h2.n, 2);
	assert_true(h2.problems[0].since_ms == T0);
	assert_true(h2.problems[1].since_ms == T0);
	ops_health_free(&h);
	ops_health_free(&h2);
	free(f);
}

static void test_pair_down(void **state)
{
	struct fixture *f = fixture_new();
	struct ops_health h;

	unreachable(f, 2, "x");
	unreachable(f, 3, "y");
	assert_int_equal(ops_health_judge(f->pools, 4, 120000, NULL, T0, &h), CSB_OK);
	assert_int_equal(h.state, OPS_DOWN);
	assert_string_equal(ops_health_name(h.state), "Down");
	assert_string_equal(lines(&h), P3 ": agent unreachable (x) since 2026-11-28T10:00:00.000Z\n"
	                               P4 ": agent unreachable (y) since 2026-11-28T10:00:00.000Z\n");
	ops_health_free(&h);

	/* A pool not polled yet is no problem. */
	f->pools[2].polled = false;
	f->pools[3].polled = false;
	assert_int_equal(ops_health_judge(f->pools, 4, 120000, NULL, T0, &h), CSB_OK);
	assert_int_equal(h.state, OPS_HEALTHY);
	ops_health_free(&h);
	free(f);
}

static void test_module_problems(void **state)
{
	struct fixture *f = fixture_new();
	struct ops_health h;

	f->ms[0][0].export_status = CSB__EXPORT_STATE__EXPORT_ERROR;
	f->ms[0][0].last_error = "disk full";
	f->ms[0][1].lag_seconds = 121.4; /* over 120 s */
	f->ms[1][0].lag_seconds = 120.0; /* not over */
	f->ms[1][1].import_status = CSB__IMPORT_STATE__IMPORT_ERROR;
	f->ms[1][1].last_error = P1 " came back with a store nobody has seen";
	assert_int_equal(ops_health_judge(f->pools, 4, 120000, NULL, T0, &h), CSB_OK);
	assert_int_equal(h.state, OPS_DEGRADED);
	assert_string_equal(lines(&h),
	                    P1 ": " PRESENCE " export ErrorState (disk full) since "
	                       "2026-11-28T10:00:00.000Z\n"
	                    P1 ": " DATACONF " export lag over SyncInterval (121 s > 120 s) since "
	                       "2026-11-28T10:00:00.000Z\n"
	                    P2 ": " DATACONF " import ErrorState (" P1 " came back with a store nobody "
	                       "has seen) since 2026-11-28T10:00:00.000Z\n");
	ops_health_free(&h);
	free(f);
}

static void test_pool_states(void **state)
{
	struct fixture *f = fixture_new();
	struct ops_health h;

	f->pools[0].entry.state = CSB_POOL_FAILED_OVER;
	snprintf(f->pools[0].entry.served_by, sizeof(f->pools[0].entry.served_by), P2);
	f->pools[0].entry.epoch = 3;
	f->pools[0].entry.since_ms = T0 - 60000;
	f->pools[2].entry.state = CSB_POOL_NEEDS_RESTORE;
	f->pools[2].entry.epoch = 1;
	snprintf(f->pools[2].entry.reason, sizeof(f->pools[2].entry.reason),
	         "came back with lineage 9f, unknown to " P4);
	assert_int_equal(ops_health_judge(f->pools, 4, 120000, NULL, T0, &h), CSB_OK);
	assert_int_equal(h.state, OPS_DEGRADED);
	assert_string_equal(lines(&h),
	                    P1 ": pool state FailedOver (users served by " P2 ", epoch 3) since "
	                       "2026-11-28T09:59:00.000Z\n"
	                    P3 ": pool state NeedsRestore (came back with lineage 9f, unknown to " P4
	                       "; epoch 1) since 2026-11-28T10:00:00.000Z\n");
	ops_health_free(&h);
	free(f);
}

static void test_events(void **state)
{
	struct fixture *f = fixture_new();
	struct ops_health h0, h1, h2;
	struct ops_events *ev = calloc(1, sizeof(*ev));

	assert_int_equal(ops_health_judge(f->pools, 4, 120000, NULL, T0, &h0), CSB_OK);
	unreachable(f, 1, "connection refused");
	assert_int_equal(ops_health_judge(f->pools, 4, 120000, &h0, T0 + 2000, &h1), CSB_OK);
	ops_health_events(&h0, &h1, T0 + 2000, ev);
	assert_int_equal(ev->n, 2);
	assert_string_equal(ops_event_back(ev, 1)->text,
	                    P1 ": exports and imports stopped: backup pool " P2 " unreachable");
	assert_string_equal(ops_event_back(ev, 0)->text, P2 ": agent unreachable (connection refused)");
	assert_true(ops_event_back(ev, 0)->bad);

	f->pools[1].reachable = true;
	assert_int_equal(ops_health_judge(f->pools, 4, 120000, &h1, T0 + 44000, &h2), CSB_OK);
	ops_health_events(&h1, &h2, T0 + 44000, ev);
	assert_int_equal(ev->n, 4);
	assert_string_equal(ops_event_back(ev, 0)->text,
	                    P2 ": recovered from agent unreachable after 42 s");
	assert_false(ops_event_back(ev, 0)->bad);
	assert_int_equal(h2.state, OPS_HEALTHY);
	ops_health_free(&h0);
	ops_health_free(&h1);

	/* Two modules of one pool failing in one poll are one event, and so is their recovery. */
	f->ms[0][0].export_status = CSB__EXPORT_STATE__EXPORT_ERROR;
	f->ms[0][0].last_error = "disk full";
	f->ms[0][1].import_status = CSB__IMPORT_STATE__IMPORT_ERROR;
	assert_int_equal(ops_health_judge(f->pools, 4, 120000, &h2, T0 + 46000, &h1), CSB_OK);
	ops_health_events(&h2, &h1, T0 + 46000, ev);
	assert_int_equal(ev->n, 5);
	assert_string_equal(ops_event_back(ev, 0)->text,
	                    P1 ": " PRESENCE " export ErrorState (disk full); " DATACONF
	                       " import ErrorState");
	f->ms[0][0].export_status = CSB__EXPORT_STATE__EXPORT_STEADY;
	f->ms[0][1].import_status = CSB__IMPORT_STATE__IMPORT_NORMAL;
	assert_int_equal(ops_health_judge(f->pools, 4, 120000, &h1, T0 + 48000, &h0), CSB_OK);
	ops_health_events(&h1, &h0, T0 + 48000, ev);
	assert_int_equal(ev->n, 6);
	assert_string_equal(ops_event_back(ev, 0)->text,
	                    P1 ": recovered from " PRESENCE " export ErrorState after 2 s; recovered "
	                       "from " DATACONF " import ErrorState after 2 s");
	ops_health_free(&h0);
	ops_health_free(&h1);
	ops_health_free(&h2);
	free(ev);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthy),
		cmocka_unit_test(test_agent_unreachable),
		cmocka_unit_test(test_pair_down),
		cmocka_unit_test(test_module_problems),
		cmocka_unit_test(test_pool_states),
		cmocka_unit_test(test_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
