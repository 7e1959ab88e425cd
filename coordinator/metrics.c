/* Prometheus text for /metrics (SPEC.md §6): the build, the standard process_* metrics of
 * this process (from /proc/self), the health verdict, and per pool and module the series
 * the status poller gathered. A pool whose agent stops answering keeps its series at their
 * last values (csb_pool_up says it is down), so an alert on its lag does not clear itself. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/status_json.h"
#include "coordinator/internal/ops.h"

csb_err ops_proc_stat_parse(const char *stat, long ticks, long page, uint64_t btime,
                            struct ops_proc *out)
{
	const char *p = strrchr(stat, ')'); /* the command may hold spaces and brackets */
	unsigned long long utime, stime, threads, start, vsize, rss;

	if (p == NULL || ticks <= 0 || page <= 0 ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
	                  "%llu %*d %llu %llu %llu", &utime, &stime, &threads, &start, &vsize,
	           &rss) != 6)
		return CSB_EINVAL;
	out->cpu_seconds = (double)(utime + stime) / (double)ticks;
	out->threads = threads;
	out->start_time_seconds = (double)btime + (double)start / (double)ticks;
	out->vsize_bytes = vsize;
	out->rss_bytes = rss * (uint64_t)page;
	return CSB_OK;
}

static uint64_t boot_time(void)
{
	FILE *f = fopen("/proc/stat", "r");
	char line[256];
	unsigned long long bt = 0;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "btime %llu", &bt) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return bt;
}

csb_err ops_proc_read(struct ops_proc *out)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	DIR *d;
	struct dirent *de;
	struct rlimit rl;

	if (f != NULL)
		fclose(f);
	buf[n] = '\0';
	if (n == 0 || ops_proc_stat_parse(buf, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE),
	                                  boot_time(), out) != CSB_OK)
		return CSB_EIO;
	out->open_fds = 0;
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL)
			out->open_fds += de->d_name[0] != '.';
		closedir(d);
		out->open_fds--; /* the directory's own descriptor */
	}
	out->max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (uint64_t)rl.rlim_cur : 0;
	return CSB_OK;
}

static void head(struct ops_text *t, const char *name, const char *type, const char *help)
{
	ops_add(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void process(struct ops_text *t)
{
	struct ops_proc p;

	if (ops_proc_read(&p) != CSB_OK)
		return;
	head(t, "process_cpu_seconds_total", "counter",
	     "Total user and system CPU time spent in seconds.");
	ops_add(t, "process_cpu_seconds_total %.2f\n", p.cpu_seconds);
	head(t, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	ops_add(t, "process_resident_memory_bytes %llu\n", (unsigned long long)p.rss_bytes);
	head(t, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
	ops_add(t, "process_virtual_memory_bytes %llu\n", (unsigned long long)p.vsize_bytes);
	head(t, "process_start_time_seconds", "gauge",
	     "Start time of the process since unix epoch in seconds.");
	ops_add(t, "process_start_time_seconds %.2f\n", p.start_time_seconds);
	head(t, "process_open_fds", "gauge", "Number of open file descriptors.");
	ops_add(t, "process_open_fds %llu\n", (unsigned long long)p.open_fds);
	head(t, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
	ops_add(t, "process_max_fds %llu\n", (unsigned long long)p.max_fds);
}

/* The per-module series, in this order; csb_export_state and csb_import_state have one
 * series per state. */
enum series {
	S_LAG_RECORDS, S_LAG_SECONDS, S_RECORDS, S_BYTES, S_EXPORT_OK, S_IMPORT_OK, S_BACKUP,
	S_EXPORT_ERRORS, S_IMPORT_ERRORS, S_EXPORT_STATE, S_IMPORT_STATE, S_COUNT
};

static const struct {
	const char *name, *type, *help;
} series[S_COUNT] = {
	{"csb_export_lag_records", "gauge",
	 "Changes of a module not yet imported by the backup pool."},
	{"csb_export_lag_seconds", "gauge",
	 "Age of the oldest change not yet imported by the backup pool."},
	{"csb_sync_records_total", "counter", "Records a module ever sent to the backup pool."},
	{"csb_sync_bytes_total", "counter", "Wire bytes a module ever sent to the backup pool."},
	{"csb_export_last_success_timestamp_seconds", "gauge",
	 "When the backup pool last acknowledged the module's changes (unix time)."},
	{"csb_import_last_success_timestamp_seconds", "gauge",
	 "When the pool last imported a batch of its partner's module (unix time)."},
	{"csb_backup_records", "gauge",
	 "Live records in the backup copy of the partner's module held by the pool."},
	{"csb_export_errors_total", "counter",
	 "Times the coordinator saw the module's export enter ErrorState."},
	{"csb_import_errors_total", "counter",
	 "Times the coordinator saw the module's import enter ErrorState."},
	{"csb_export_state", "gauge", "1 for the module's current export state."},
	{"csb_import_state", "gauge", "1 for the module's current import state."},
};

/* One series of a pool's module: name{pool="…",module="…"} value. */
static void put_u64(struct ops_text *t, enum series s, const char *pool, const char *module,
                    uint64_t v)
{
	ops_add(t, "%s{pool=\"%s\",module=\"%s\"} %llu\n", series[s].name, pool, module,
	        (unsigned long long)v);
}

static void put_double(struct ops_text *t, enum series s, const char *pool, const char *module,
                       double v)
{
	ops_add(t, "%s{pool=\"%s\",module=\"%s\"} %.3f\n", series[s].name, pool, module, v);
}

/* The series s of module m of pool p. Timestamps of what never happened are left out,
 * rather than a 0 that reads as 1970. */
static void one(struct ops_text *t, enum series s, const struct ops_pool *p,
                const Csb__ModuleStatus *m)
{
	const char *pl = p->fqdn, *mod = m->identity;
	int k = ops_module_index(mod);

	switch (s) {
	case S_LAG_RECORDS: put_u64(t, s, pl, mod, m->lag_records); break;
	case S_LAG_SECONDS: put_double(t, s, pl, mod, m->lag_seconds); break;
	case S_RECORDS: put_u64(t, s, pl, mod, m->exported_records_total); break;
	case S_BYTES: put_u64(t, s, pl, mod, m->exported_bytes_total); break;
	case S_BACKUP: put_u64(t, s, pl, mod, m->backup_records); break;
	case S_EXPORT_OK:
	case S_IMPORT_OK: {
		uint64_t ms = s == S_EXPORT_OK ? m->last_export_time_ms : m->last_import_time_ms;

		if (ms > 0)
			put_double(t, s, pl, mod, (double)ms / 1000.0);
		break;
	}
	case S_EXPORT_ERRORS:
	case S_IMPORT_ERRORS:
		if (k >= 0)
			put_u64(t, s, pl, mod, s == S_EXPORT_ERRORS ? p->export_errors[k]
			                                            : p->import_errors[k]);
		break;
	case S_EXPORT_STATE:
		for (int v = 0; v < 5; v++)
			ops_add(t, "%s{pool=\"%s\",module=\"%s\",state=\"%s\"} %d\n",
			        series[s].name, pl, mod, csb_export_state_name((Csb__ExportState)v),
			        (int)m->export_status == v);
		break;
	default:
		for (int v = 0; v < 3; v++)
			ops_add(t, "%s{pool=\"%s\",module=\"%s\",state=\"%s\"} %d\n",
			        series[s].name, pl, mod, csb_import_state_name((Csb__ImportState)v),
			        (int)m->import_status == v);
		break;
	}
}

static void pools(struct ops_text *t, const struct ops_metrics_in *in)
{
	head(t, "csb_pool_up", "gauge", "1 when the pool's agent answered the last status poll.");
	for (size_t i = 0; i < in->n; i++)
		ops_add(t, "csb_pool_up{pool=\"%s\"} %d\n", in->pools[i].fqdn,
		        in->pools[i].reachable);
	head(t, "csb_poll_errors_total", "counter",
	     "Status polls of the pool's agent that got no answer.");
	for (size_t i = 0; i < in->n; i++)
		ops_add(t, "csb_poll_errors_total{pool=\"%s\"} %llu\n", in->pools[i].fqdn,
		        (unsigned long long)in->pools[i].poll_errors);
	head(t, "csb_pool_state", "gauge", "1 for the pool's current state (Get-CsPoolState).");
	for (size_t i = 0; i < in->n; i++) {
		const struct ops_pool *p = &in->pools[i];

		for (int v = 0; p->entry_ok && v < CSB_POOL_STATE_COUNT; v++)
			ops_add(t, "csb_pool_state{pool=\"%s\",state=\"%s\"} %d\n", p->fqdn,
			        csb_pool_state_name((csb_pool_state)v), (int)p->entry.state == v);
	}
	head(t, "csb_pool_epoch", "gauge", "The pool's epoch, raised at each failover transition.");
	for (size_t i = 0; i < in->n; i++)
		if (in->pools[i].entry_ok)
			ops_add(t, "csb_pool_epoch{pool=\"%s\"} %llu\n", in->pools[i].fqdn,
			        (unsigned long long)in->pools[i].entry.epoch);
	head(t, "csb_failover_lost_changes", "gauge",
	     "Changes the lost pool had logged that its backup pool had not applied, as counted "
	     "by the pool's last -DisasterMode failover (0 after a controlled one).");
	for (size_t i = 0; i < in->n; i++)
		for (size_t j = 0; in->pools[i].entry_ok && j < in->pools[i].entry.n_modules; j++)
			ops_add(t, "csb_failover_lost_changes{pool=\"%s\",module=\"%s\"} %llu\n",
			        in->pools[i].fqdn, in->pools[i].entry.modules[j].identity,
			        (unsigned long long)in->pools[i].entry.modules[j].known_changes);
	head(t, "csb_orphan_records", "gauge",
	     "Writes the pool made past the fork of its last failover, set aside when it came back.");
	for (size_t i = 0; i < in->n; i++)
		for (size_t j = 0; in->pools[i].entry_ok && j < in->pools[i].entry.n_modules; j++)
			ops_add(t, "csb_orphan_records{pool=\"%s\",module=\"%s\"} %llu\n",
			        in->pools[i].fqdn, in->pools[i].entry.modules[j].identity,
			        (unsigned long long)in->pools[i].entry.modules[j].orphans);
	for (int s = 0; s < S_COUNT; s++) {
		head(t, series[s].name, series[s].type, series[s].help);
		for (size_t i = 0; i < in->n; i++) {
			const Csb__PoolStatus *ps = in->pools[i].ps;

			for (size_t j = 0; ps != NULL && j < ps->n_backup_modules; j++)
				one(t, (enum series)s, &in->pools[i], ps->backup_modules[j]);
		}
	}
}

void ops_metrics(struct ops_text *t, const struct ops_metrics_in *in)
{
	head(t, "csb_build_info", "gauge", "The csbackup version this coordinator runs; always 1.");
	ops_add(t, "csb_build_info{version=\"%s\"} 1\n", in->version);
	process(t);
	head(t, "csb_status_polls_total", "counter", "Rounds of the coordinator's status poller.");
	ops_add(t, "csb_status_polls_total %llu\n", (unsigned long long)in->polls_total);
	head(t, "csb_sync_interval_seconds", "gauge",
	     "SyncInterval of the global backup configuration.");
	ops_add(t, "csb_sync_interval_seconds %llu\n",
	        (unsigned long long)(in->sync_interval_ms / 1000));
	head(t, "csb_health_state", "gauge",
	     "1 for the deployment's health verdict (/api/v1/status).");
	for (int v = 0; v < 3; v++)
		ops_add(t, "csb_health_state{state=\"%s\"} %d\n",
		        ops_health_name((ops_health_state)v),
		        in->health != NULL && (int)in->health->state == v);
	head(t, "csb_health_problems", "gauge", "Problems the health verdict lists.");
	ops_add(t, "csb_health_problems %zu\n", in->health ? in->health->n : 0);
	pools(t, in);
}
