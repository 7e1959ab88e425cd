/* The coordinator's HTTP side on a real local cluster (`csb cluster up`), healthy, then with
 * pool02's agent killed, then with it back: /api/v1/status's health verdict and the pool
 * that cannot be reached, /healthz, /metrics (checked by the real promtool), the status page
 * rendered by the real headless Chromium (its DOM asserted, screenshots kept in
 * $TEST_UNDECLARED_OUTPUTS_DIR), the events, the audit log and the version at start-up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "tests/cli_harness.h"

#define P1 "pool01.csb.test"
#define P2 "pool02.csb.test"
#define PRESENCE "UserServices.PresenceFocus"
#define WAIT_MS 60000
#define TIME_RE "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

struct page {
	int status;
	char *body;
};

static const char *http_addr(struct ch_cluster *cl)
{
	static char addr[64];
	char path[CH_PATH + 32];
	json_t *j;

	snprintf(path, sizeof(path), "%s/cluster.json", cl->dir);
	assert_non_null(j = json_load_file(path, 0, NULL));
	snprintf(addr, sizeof(addr), "%s",
	         json_string_value(json_object_get(json_object_get(j, "coordinator"), "http")));
	json_decref(j);
	return addr;
}

/* A plain HTTP/1.1 GET of path from the coordinator's address. */
static void get(struct ch_cluster *cl, const char *path, struct page *pg)
{
	const char *addr = http_addr(cl), *colon = strrchr(addr, ':');
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char req[512], ip[32], *buf = NULL, *body;
	size_t len = 0, cap = 0;
	ssize_t got;
	int fd;

	assert_non_null(colon);
	snprintf(ip, sizeof(ip), "%.*s", (int)(colon - addr), addr);
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path,
	         addr);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	for (;;) {
		if (len + 4096 + 1 > cap)
			assert_non_null(buf = realloc(buf, cap = cap * 2 + 8192));
		if ((got = read(fd, buf + len, 4096)) <= 0)
			break;
		len += (size_t)got;
		buf[len] = '\0';
		if ((body = strstr(buf, "\r\n\r\n")) != NULL) {
			const char *cl_hdr = strcasestr(buf, "\r\nContent-Length:");

			if (cl_hdr != NULL && cl_hdr < body &&
			    len - (size_t)(body + 4 - buf) >= strtoul(cl_hdr + 17, NULL, 10))
				break;
		}
	}
	close(fd);
	assert_non_null(buf);
	buf[len] = '\0';
	assert_int_equal(sscanf(buf, "HTTP/1.1 %d", &pg->status), 1);
	assert_non_null(body = strstr(buf, "\r\n\r\n"));
	assert_non_null(pg->body = strdup(body + 4));
	free(buf);
}

static json_t *status_json(struct ch_cluster *cl)
{
	struct page pg;
	json_t *j;

	get(cl, "/api/v1/status", &pg);
	assert_int_equal(pg.status, 200);
	if ((j = json_loads(pg.body, 0, NULL)) == NULL)
		fail_msg("/api/v1/status is not JSON: %s", pg.body);
	free(pg.body);
	return j;
}

/* Waits until the verdict is want and pool (1-based k) is reachable or not, as asked (when
 * not: until a poll has been refused, rather than cut short by the kill); returns the
 * document. */
static json_t *wait_health(struct ch_cluster *cl, const char *want, size_t k, bool reachable)
{
	struct timespec pause = {0, 200 * 1000 * 1000};
	json_t *j;

	for (int i = 0; i < WAIT_MS / 200; i++) {
		j = status_json(cl);
		json_t *h = json_object_get(j, "Health"),
		       *p = json_array_get(json_object_get(j, "Pools"), k - 1);

		const char *err = json_string_value(json_object_get(p, "Error"));

		if (strcmp(json_string_value(json_object_get(h, "State")), want) == 0 &&
		    json_is_boolean(json_object_get(p, "Reachable")) &&
		    json_boolean_value(json_object_get(p, "Reachable")) == reachable &&
		    (reachable || (err != NULL && ch_matches(err, ": connection refused$"))))
			return j;
		json_decref(j);
		nanosleep(&pause, NULL);
	}
	j = status_json(cl);
	fail_msg("the health did not become %s: %s", want, json_dumps(j, 0));
	return NULL;
}

static bool have(struct ch_cluster *cl, const char *tool, const char *package)
{
	struct ch_result r;
	char line[128];
	bool yes;

	snprintf(line, sizeof(line), "command -v %s", tool);
	ch_shell(cl, line, &r);
	yes = r.code == 0;
	ch_result_free(&r);
	if (!yes)
		fprintf(stderr, "SKIPPED: %s is not installed (Debian package %s, installed by "
		                "bazel/deps.sh)\n", tool, package);
	return yes;
}

/* The page as headless Chromium renders it (its DOM, malloc'ed), with a 1400x1000
 * screenshot kept as shot in the test's outputs. NULL when Chromium is not installed.
 * Chromium's profile and temporary files go to a short folder of their own under /tmp (its
 * singleton socket's path must fit a sockaddr_un), removed afterwards. */
static char *render(struct ch_cluster *cl, const char *shot)
{
	const char *outs = getenv("TEST_UNDECLARED_OUTPUTS_DIR");
	char line[8 * CH_PATH], dom[CH_PATH + 16], png[CH_PATH + 64], tmp[] = "/tmp/csb-chr.XXXXXX";
	char *text;
	struct ch_result r;
	static const char flags[] = "--headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
	                            "--hide-scrollbars --window-size=1400,1000";

	if (!have(cl, "chromium", "chromium"))
		return NULL;
	assert_non_null(mkdtemp(tmp));
	snprintf(dom, sizeof(dom), "%s/dom.html", cl->work);
	snprintf(png, sizeof(png), "%s/%s", outs ? outs : cl->work, shot);
	snprintf(line, sizeof(line),
	         "export HOME=%s TMPDIR=%s; chromium %s --user-data-dir=%s/profile --dump-dom "
	         "http://%s/ >'%s' && chromium %s --user-data-dir=%s/profile --screenshot='%s' "
	         "http://%s/ >/dev/null; rc=$?; rm -rf %s; exit $rc",
	         tmp, tmp, flags, tmp, http_addr(cl), dom, flags, tmp, png, http_addr(cl), tmp);
	ch_shell(cl, line, &r);
	if (r.code != 0)
		fail_msg("chromium: exit %d\n%s", r.code, r.err);
	ch_result_free(&r);
	assert_non_null(text = ch_read_file(dom));
	assert_non_null(fopen(png, "r"));
	return text;
}

static char *coordinator_log(struct ch_cluster *cl)
{
	char path[CH_PATH + 32];

	snprintf(path, sizeof(path), "%s/logs/coordinator.log", cl->dir);
	return ch_read_file(path);
}

static size_t count_lines(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static void test_versions(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char agent[CH_PATH], line[3 * CH_PATH], *log;

	snprintf(agent, sizeof(agent), "%s", ch_data_path("agent/csb-agent")); /* static buffer */
	snprintf(line, sizeof(line), "'%s' --version && '%s' --version", agent,
	         ch_data_path("coordinator/csb-coordinator"));
	ch_shell(cl, line, &r);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "csb-agent 0.1.0\ncsb-coordinator 0.1.0\n");
	ch_result_free(&r);
	assert_non_null(log = coordinator_log(cl));
	assert_true(ch_matches(log, "^" TIME_RE " info coordinator started version=0\\.1\\.0 "
	                            "listen=tls\\+tcp://127\\.0\\.0\\.1:[0-9]+ http=127\\.0\\.0\\.1:"
	                            "[0-9]+ admin=admin$"));
	free(log);
}

static void test_healthy(void **state)
{
	struct ch_cluster *cl = *state;
	json_t *j = wait_health(cl, "Healthy", 2, true), *p;
	struct page pg;
	struct ch_result r;
	char *dom, *log, *health, line[2 * CH_PATH];
	size_t before;

	health = json_dumps(json_object_get(j, "Health"), JSON_COMPACT);
	assert_string_equal(health, "{\"State\":\"Healthy\",\"Problems\":[]}");
	free(health);
	assert_int_equal(json_array_size(json_object_get(j, "Pools")), 2);
	p = json_array_get(json_object_get(j, "Pools"), 0);
	assert_string_equal(json_string_value(json_object_get(p, "PoolFqdn")), P1);
	assert_string_equal(json_string_value(json_object_get(p, "BackupPoolFqdn")), P2);
	assert_int_equal(json_array_size(json_object_get(p, "BackupModules")), 5);
	assert_true(json_is_true(json_object_get(p, "Reachable")));
	assert_true(json_is_null(json_object_get(p, "Error")));
	assert_string_equal(json_string_value(json_object_get(p, "State")), "Normal");
	assert_string_equal(json_string_value(json_object_get(p, "ServedBy")), P1);
	assert_int_equal(json_integer_value(json_object_get(p, "Epoch")), 0);
	/* The CMS: pool01 hosts it; both agents' replicas are up to date and pulling. */
	p = json_object_get(j, "CentralManagementStore");
	assert_string_equal(json_string_value(json_object_get(p, "ActiveMasterFqdn")), P1);
	assert_int_equal(json_array_size(json_object_get(p, "Replicas")), 2);
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(p, "Replicas"), 1),
	                                         "UpToDate")));
	assert_true(json_is_string(json_object_get(json_array_get(json_object_get(p, "Replicas"), 1),
	                                           "LastHeartbeat")));
	json_decref(j);

	get(cl, "/healthz", &pg);
	assert_int_equal(pg.status, 200);
	assert_string_equal(pg.body, "ok\n");
	free(pg.body);

	if (have(cl, "promtool", "prometheus")) {
		get(cl, "/metrics", &pg);
		snprintf(line, sizeof(line), "%s/metrics.txt", cl->work);
		FILE *f = fopen(line, "w");

		assert_non_null(f);
		fputs(pg.body, f);
		fclose(f);
		free(pg.body);
		snprintf(line, sizeof(line), "promtool check metrics <'%s/metrics.txt' 2>&1", cl->work);
		ch_shell(cl, line, &r);
		if (r.code != 0 || r.out_len != 0)
			fail_msg("promtool check metrics: exit %d\n%s", r.code, r.out);
		ch_result_free(&r);
	}

	if ((dom = render(cl, "status-healthy.png")) != NULL) {
		assert_non_null(strstr(dom, "<div id=\"health\" class=\"Healthy\">Health: "
		                            "<strong id=\"health-state\">Healthy</strong></div>"));
		assert_null(strstr(dom, "<ul id=\"problems\">"));
		assert_int_equal(count_lines(dom, "<section class=\"pool\""), 2);
		assert_non_null(strstr(dom, "Active master: <strong id=\"cms-master\">" P1
		                            "</strong>"));
		assert_non_null(strstr(dom, "<td>" P2 "</td><td class=\"ok\">UpToDate</td>"));
		free(dom);
	}

	/* One Admin call, one audit line at the coordinator. */
	assert_non_null(log = coordinator_log(cl));
	before = count_lines(log, " info audit principal=admin method=csb.Admin/GetPoolStatus "
	                          "target=" P1 " result=ok millis=");
	free(log);
	ch_ok(cl, 0, &r, "Get-CsBackupServiceStatus", "-PoolFqdn", P1, NULL);
	ch_result_free(&r);
	assert_non_null(log = coordinator_log(cl));
	assert_int_equal(count_lines(log, " info audit principal=admin method=csb.Admin/"
	                                  "GetPoolStatus target=" P1 " result=ok millis="),
	                 before + 1);
	free(log);
}

/* The page while 200,000 records are being written to pool01 (the third screenshot of the
 * issue: healthy, under load, a pool down): it renders with both pools and their rows, and
 * the load finishes with every record acknowledged. */
static void test_under_load(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	char line[4 * CH_PATH], *dom;
	json_t *j;

	snprintf(line, sizeof(line), "\"$CSB\" data load -PoolFqdn " P1 " -Module "
	         "UserServices.PresenceFocus -Count 200000 --json >'%s/load.json' 2>&1 & "
	         "echo $! >'%s/load.pid'", cl->work, cl->work);
	ch_shell(cl, line, &r);
	assert_int_equal(r.code, 0);
	ch_result_free(&r);
	usleep(1500 * 1000);
	dom = render(cl, "status-under-load.png");
	if (dom != NULL) {
		assert_non_null(strstr(dom, P1));
		assert_non_null(strstr(dom, P2));
		free(dom);
	}
	snprintf(line, sizeof(line), "while kill -0 $(cat '%s/load.pid') 2>/dev/null; do sleep 0.2; "
	         "done; cat '%s/load.json'", cl->work, cl->work);
	ch_shell(cl, line, &r);
	j = ch_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "Written")), 200000);
	json_decref(j);
	ch_result_free(&r);
}

static void test_pool_down(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	struct page pg;
	json_t *j, *probs, *p2;
	char agent[128], want[512], *dom;

	ch_ok(cl, 0, &r, "data", "load", "-PoolFqdn", P1, "-Module", PRESENCE, "-Count", "100",
	      "-Seed", "1", NULL);
	ch_result_free(&r);
	ch_ok(cl, 0, &r, "cluster", "kill", "--dir", cl->dir, "--node", P2, NULL);
	ch_result_free(&r);
	j = wait_health(cl, "Degraded", 2, false);
	p2 = json_array_get(json_object_get(j, "Pools"), 1);
	snprintf(agent, sizeof(agent), "%s", json_string_value(json_object_get(p2, "Error")));
	assert_true(ch_matches(agent, "^the agent of pool02\\.csb\\.test at tls\\+tcp://127\\.0\\.0"
	                              "\\.1:[0-9]+: connection refused$"));
	assert_string_equal(json_string_value(json_object_get(p2, "PoolFqdn")), P2);
	assert_string_equal(json_string_value(json_object_get(p2, "BackupPoolFqdn")), P1);
	assert_int_equal(json_array_size(json_object_get(p2, "BackupModules")), 0);
	assert_true(json_is_false(json_object_get(p2, "Reachable")));
	assert_true(json_is_string(json_object_get(p2, "LastAnswerTime")));
	probs = json_object_get(json_object_get(j, "Health"), "Problems");
	assert_int_equal(json_array_size(probs), 2);
	assert_true(ch_matches(json_string_value(json_array_get(probs, 0)),
	                       "^pool01\\.csb\\.test: exports and imports stopped: backup pool "
	                       "pool02\\.csb\\.test unreachable since " TIME_RE "$"));
	snprintf(want, sizeof(want), P2 ": agent unreachable (%s) since ", agent);
	assert_true(ch_starts_with(json_string_value(json_array_get(probs, 1)), want));
	assert_true(ch_matches(json_string_value(json_array_get(probs, 1)), " since " TIME_RE "$"));
	json_decref(j);

	/* The pool that is down keeps its series; /healthz stays 200 for the coordinator. */
	get(cl, "/metrics", &pg);
	assert_true(ch_matches(pg.body, "^csb_pool_up\\{pool=\"pool02\\.csb\\.test\"\\} 0$"));
	assert_true(ch_matches(pg.body, "^csb_pool_up\\{pool=\"pool01\\.csb\\.test\"\\} 1$"));
	assert_true(ch_matches(pg.body, "^csb_export_lag_records\\{pool=\"pool02\\.csb\\.test\","
	                                "module=\"UserServices\\.PresenceFocus\"\\} [0-9]+$"));
	assert_true(ch_matches(pg.body, "^csb_poll_errors_total\\{pool=\"pool02\\.csb\\.test\"\\} "
	                                "[1-9][0-9]*$"));
	assert_true(ch_matches(pg.body, "^csb_health_state\\{state=\"Degraded\"\\} 1$"));
	assert_true(ch_matches(pg.body, "^csb_build_info\\{version=\"0\\.1\\.0\"\\} 1$"));
	assert_true(ch_matches(pg.body, "^process_resident_memory_bytes [1-9][0-9]*$"));
	free(pg.body);
	get(cl, "/healthz", &pg);
	assert_int_equal(pg.status, 200);
	free(pg.body);

	if ((dom = render(cl, "status-pool-down.png")) != NULL) {
		assert_non_null(strstr(dom, "<div id=\"health\" class=\"Degraded\">Health: "
		                            "<strong id=\"health-state\">Degraded</strong> — 2 problems"
		                            "</div>"));
		snprintf(want, sizeof(want), "<li>" P2 ": agent unreachable (%s) since ", agent);
		if (strstr(dom, want) == NULL)
			fail_msg("no \"%s\" in the rendered page:\n%s", want, dom);
		assert_non_null(strstr(dom, "<section class=\"pool down\" id=\"pool-" P2 "\">"));
		assert_non_null(strstr(dom, "<span>backup pool " P1 "</span>"));
		free(dom);
	}
}

static void test_recovered(void **state)
{
	struct ch_cluster *cl = *state;
	struct ch_result r;
	struct page pg;
	json_t *j;

	ch_ok(cl, 0, &r, "cluster", "start", "--dir", cl->dir, "--node", P2, NULL);
	ch_result_free(&r);
	j = wait_health(cl, "Healthy", 2, true);
	assert_int_equal(json_array_size(json_object_get(json_array_get(json_object_get(j, "Pools"),
	                                                                1), "BackupModules")), 5);
	json_decref(j);
	get(cl, "/", &pg);
	if (!ch_matches(pg.body, "<li class=\"bad\">" TIME_RE " pool02\\.csb\\.test: agent "
	                         "unreachable \\(the agent of pool02\\.csb\\.test at ") ||
	    !ch_matches(pg.body, "<li>" TIME_RE " pool02\\.csb\\.test: recovered from agent "
	                         "unreachable after [0-9]+ s</li>"))
		fail_msg("the events do not say that pool02 went and came back:\n%s",
		         strstr(pg.body, "<ul id=\"events\">"));
	free(pg.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_healthy),
		cmocka_unit_test(test_under_load),
		cmocka_unit_test(test_pool_down),
		cmocka_unit_test(test_recovered),
	};

	return cmocka_run_group_tests(tests, ch_group_up, ch_group_down);
}
