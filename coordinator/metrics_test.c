/* /metrics (metrics.c): /proc/self/stat parsed into the process_* values, and the exact
 * series of two pools, one of them down (its series stay, csb_pool_up says 0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/internal/ops.h"

static void test_proc_stat(void **state)
{
	/* A real line's shape; the command holds a space and a bracket. */
	const char *stat =
		"4242 (csb-coord) x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 50 0 0 20 0 7 0 "
		"1500 123456789 2048 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0";
	struct ops_proc p;

	assert_int_equal(ops_proc_stat_parse(stat, 100, 4096, 1795850000, &p), CSB_OK);
	assert_true(p.cpu_seconds == 3.0);             /* (250 + 50) / 100 */
	assert_int_equal(p.threads, 7);
	assert_true(p.start_time_seconds == 1795850015.0); /* btime + 1500 / 100 */
	assert_int_equal(p.vsize_bytes, 123456789);
	assert_int_equal(p.rss_bytes, 2048 * 4096);
	assert_int_equal(ops_proc_stat_parse("4242 csb", 100, 4096, 0, &p), CSB_EINVAL);
	assert_int_equal(ops_proc_stat_parse("4242 (x) S 1 2", 100, 4096, 0, &p), CSB_EINVAL);
	assert_int_equal(ops_proc_read(&p), CSB_OK);
	assert_true(p.open_fds >= 3 && p.max_fds >= p.open_fds);
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

#define LINE(t, l) \
	do { \
		if (!has_line(t, l)) \
			fail_msg("no line \"%s\" in:\n%s", l, t); \
	} while (0)

static void test_series(void **state)
{
	struct ops_pool *pools = calloc(2, sizeof(*pools));
	Csb__PoolStatus ps = CSB__POOL_STATUS__INIT;
	Csb__ModuleStatus m = CSB__MODULE_STATUS__INIT, *mp = &m;
	struct ops_health h = {OPS_DEGRADED, NULL, 1};
	struct ops_text t = {0};

	m.identity = "UserServices.PresenceFocus";
	m.export_status = CSB__EXPORT_STATE__EXPORT_NON_STEADY;
	m.import_status = CSB__IMPORT_STATE__IMPORT_ERROR;
	m.lag_records = 17;
	m.lag_seconds = 3.25;
	m.exported_records_total = 1000;
	m.exported_bytes_total = 123456;
	m.last_import_time_ms = 1795860000250ull;
	m.backup_records = 990;
	ps.n_backup_modules = 1;
	ps.backup_modules = &mp;
	snprintf(pools[0].fqdn, sizeof(pools[0].fqdn), "pool01.csb.test");
	pools[0].reachable = pools[0].polled = pools[0].entry_ok = true;
	csb_pool_entry_default("pool01.csb.test", &pools[0].entry);
	snprintf(pools[1].fqdn, sizeof(pools[1].fqdn), "pool02.csb.test");
	pools[1].polled = pools[1].entry_ok = true;
	csb_pool_entry_default("pool02.csb.test", &pools[1].entry);
	pools[1].entry.state = CSB_POOL_FAILED_OVER;
	pools[1].entry.epoch = 3;
	pools[1].ps = &ps; /* its last answer, kept while it is down */
	pools[1].poll_errors = 4;
	pools[1].import_errors[0] = 2;
	ops_metrics(&t, &(struct ops_metrics_in){.pools = pools, .n = 2, .health = &h,
	                                         .sync_interval_ms = 120000, .version = "9.8.7",
	                                         .polls_total = 12});
	LINE(t.p, "# TYPE csb_build_info gauge");
	LINE(t.p, "csb_build_info{version=\"9.8.7\"} 1");
	LINE(t.p, "# TYPE process_cpu_seconds_total counter");
	LINE(t.p, "csb_status_polls_total 12");
	LINE(t.p, "csb_sync_interval_seconds 120");
	LINE(t.p, "csb_health_state{state=\"Healthy\"} 0");
	LINE(t.p, "csb_health_state{state=\"Degraded\"} 1");
	LINE(t.p, "csb_health_problems 1");
	LINE(t.p, "csb_pool_up{pool=\"pool01.csb.test\"} 1");
	LINE(t.p, "csb_pool_up{pool=\"pool02.csb.test\"} 0");
	LINE(t.p, "csb_poll_errors_total{pool=\"pool02.csb.test\"} 4");
	LINE(t.p, "csb_pool_state{pool=\"pool02.csb.test\",state=\"FailedOver\"} 1");
	LINE(t.p, "csb_pool_state{pool=\"pool02.csb.test\",state=\"Normal\"} 0");
	LINE(t.p, "csb_pool_epoch{pool=\"pool02.csb.test\"} 3");
	LINE(t.p, "csb_export_lag_records{pool=\"pool02.csb.test\",module=\"UserServices.PresenceFocus\"} 17");
	LINE(t.p, "csb_export_lag_seconds{pool=\"pool02.csb.test\",module=\"UserServices.PresenceFocus\"} 3.250");
	LINE(t.p, "csb_sync_records_total{pool=\"pool02.csb.test\",module=\"UserServices.PresenceFocus\"} 1000");
	LINE(t.p, "csb_sync_bytes_total{pool=\"pool02.csb.test\",module=\"UserServices.PresenceFocus\"} 123456");
	LINE(t.p, "csb_import_last_success_timestamp_seconds{pool=\"pool02.csb.test\",module=\"UserServices.PresenceFocus\"} 1795860000.250");
	LINE(t.p, "csb_backup_records{pool=\"pool02.csb.test\",module=\"UserServices.PresenceFocus\"} 990");
	LINE(t.p, "csb_import_errors_total{pool=\"pool02.csb.test\",module=\"UserServices.PresenceFocus\"} 2");
	LINE(t.p, "csb_export_errors_total{pool=\"pool02.csb.test\",module=\"UserServices.PresenceFocus\"} 0");
	LINE(t.p, "csb_export_state{pool=\"pool02.csb.test\",module=\"UserServices.PresenceFocus\",state=\"NonSteadyState\"} 1");
	LINE(t.p, "csb_import_state{pool=\"pool02.csb.test\",module=\"UserServices.PresenceFocus\",state=\"ErrorState\"} 1");
	/* Never exported: no timestamp series rather than a 0 that reads as 1970. */
	assert_null(strstr(t.p, "csb_export_last_success_timestamp_seconds{"));
	/* pool01 never answered: no module series. */
	assert_null(strstr(t.p, "csb_export_lag_records{pool=\"pool01.csb.test\""));
	free(t.p);
	free(pools);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_stat),
		cmocka_unit_test(test_series),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
