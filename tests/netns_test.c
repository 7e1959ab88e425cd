/* Separate hosts (issue 13, DESIGN.md §7): the coordinator and the two agents of a pair each
 * run in their own network namespace with their own address on a bridge (veth pairs), the
 * way three machines on a LAN would; nothing is on loopback. The test replicates under load,
 * cuts the backup pool's link (ip link set down) and restores it: status names the backup
 * pool that stopped pulling, every write acknowledged meanwhile reaches the backup copy once
 * the link is back, without anyone asking, and the copies are equal. Needs root and
 * `ip netns add`; where that is refused the test says so and skips. Everything it creates
 * (processes, namespaces, bridge, links, folder) is removed, also when a check fails, and a
 * run that was killed is cleaned up by the next one (names carry the pid). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "common/certs.h"
#include "common/clock.h"
#include "common/rpc.h"
#include "proto/data.pb-c.h"
#include "proto/status.pb-c.h"
#include "tests/cli_harness.h"
#include "tests/harness.h"

#define PRESENCE "UserServices.PresenceFocus"
#define P1 "pool01.csb.test"
#define P2 "pool02.csb.test"
#define COORD_CN "csb-coordinator"
#define PREFIX "csbn"             /* every namespace and link this test makes */
#define WAIT_MS 120000            /* bound of every wait; never a timing assertion */
#define COORD_PORT 17000
#define HTTP_PORT 17001
#define AGENT_PORT 17100

enum host { HOST_COORD, HOST_P1, HOST_P2, HOSTS };

static const char *const host_names[HOSTS] = {"coordinator", P1, P2};
static const char host_tags[HOSTS] = {'c', 'a', 'b'};

struct net {
	struct ch_cluster *cl;
	char ns[HOSTS][32];       /* network namespaces */
	char veth[HOSTS][16];     /* the bridge side of each host's link */
	char bridge[16];
	char subnet[16];          /* "10.213.N" */
	char addr[HOSTS][24];
	pid_t pid[HOSTS];
	bool made;                /* the bridge exists: teardown removes it */
};

/* ---- Commands ----------------------------------------------------------------------- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a command line with /bin/sh; its output goes to the test log. */
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void sh_ok(const char *cmd)
{
	if (sh("%s", cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

/* Namespaces and links named PREFIX<pid>… whose pid is gone: left by a killed run. */
static void remove_stale(void)
{
	DIR *d = opendir("/var/run/netns");
	struct dirent *e;
	long pid;

	while (d != NULL && (e = readdir(d)) != NULL)
		if (sscanf(e->d_name, PREFIX "%ld", &pid) == 1 && kill((pid_t)pid, 0) != 0)
			sh("ip netns delete %s 2>/dev/null", e->d_name);
	if (d != NULL)
		closedir(d);
	if ((d = opendir("/sys/class/net")) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (sscanf(e->d_name, PREFIX "%ld", &pid) == 1 && kill((pid_t)pid, 0) != 0)
			sh("ip link delete %s 2>/dev/null", e->d_name);
	closedir(d);
}

/* Stops the hosts' processes, then removes namespaces, links and bridge. */
static void net_teardown(struct net *n)
{
	for (int h = 0; h < HOSTS; h++)
		if (n->pid[h] > 0) {
			kill(n->pid[h], SIGKILL);
			while (waitpid(n->pid[h], NULL, 0) < 0 && errno == EINTR)
				;
			n->pid[h] = 0;
		}
	for (int h = 0; h < HOSTS; h++) {
		sh("ip netns delete %s 2>/dev/null", n->ns[h]); /* takes its end of the veth along */
		sh("ip link delete %s 2>/dev/null", n->veth[h]);
	}
	if (n->made)
		sh("ip link delete %s 2>/dev/null", n->bridge);
	n->made = false;
}

/* Builds the bridge (the LAN, with this test's own address on it) and one namespace per
 * host linked to it. False when namespaces cannot be made here. */
static bool net_build(struct net *n)
{
	/* Linux pids have at most 7 digits (pid_max <= 2^22): names fit IFNAMSIZ. */
	unsigned pid = (unsigned)getpid() % 10000000u;

	snprintf(n->bridge, sizeof(n->bridge), PREFIX "%ubr", pid);
	snprintf(n->subnet, sizeof(n->subnet), "10.213.%u", pid % 250 + 1);
	for (int h = 0; h < HOSTS; h++) {
		snprintf(n->ns[h], sizeof(n->ns[h]), PREFIX "%u%c", pid, host_tags[h]);
		snprintf(n->veth[h], sizeof(n->veth[h]), PREFIX "%u%c0", pid, host_tags[h]);
		snprintf(n->addr[h], sizeof(n->addr[h]), "%s.%d", n->subnet, 10 + h);
	}
	if (sh("ip netns add %s", n->ns[HOST_COORD]) != 0)
		return false;
	n->made = true;
	if (sh("ip link add %s type bridge", n->bridge) != 0)
		return false;
	if (sh("ip addr add %s.1/24 dev %s && ip link set %s up", n->subnet, n->bridge, n->bridge))
		fail_msg("cannot configure bridge %s", n->bridge);
	for (int h = 0; h < HOSTS; h++) {
		if (h != HOST_COORD && sh("ip netns add %s", n->ns[h]) != 0)
			fail_msg("cannot add namespace %s", n->ns[h]);
		if (sh("ip link add %s type veth peer name %.13s1 && ip link set %.13s1 netns %s && "
		       "ip link set %s master %s && ip link set %s up && "
		       "ip -n %s addr add %s/24 dev %.13s1 && ip -n %s link set %.13s1 up && "
		       "ip -n %s link set lo up",
		       n->veth[h], n->veth[h], n->veth[h], n->ns[h], n->veth[h], n->bridge, n->veth[h],
		       n->ns[h], n->addr[h], n->veth[h], n->ns[h], n->veth[h], n->ns[h]) != 0)
			fail_msg("cannot link %s to %s", n->ns[h], n->bridge);
	}
	return true;
}

/* ---- The hosts ---------------------------------------------------------------------- */

static const char *bin(const char *rel)
{
	static char path[HOSTS][CH_PATH];
	static int next;
	char *p = path[next++ % HOSTS];

	snprintf(p, CH_PATH, "%s", ch_data_path(rel));
	return p;
}

/* The cluster folder as `csb cluster up` lays it out (pki/, topology.json, cluster.json),
 * with every endpoint on the bridge: the CLI then finds everything through CSB_CLUSTER. */
static void write_cluster(struct net *n)
{
	char path[CH_PATH + 64], ca[CH_PATH + 64], cakey[CH_PATH + 64], crt[CH_PATH + 64],
		key[CH_PATH + 64], url[64];
	const char *cns[] = {COORD_CN, P1, P2, "admin"};
	json_t *topo, *cl;

	snprintf(path, sizeof(path), "%s", n->cl->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/pki", n->cl->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/logs", n->cl->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(ca, sizeof(ca), "%s/pki/ca.crt", n->cl->dir);
	snprintf(cakey, sizeof(cakey), "%s/pki/ca.key", n->cl->dir);
	assert_int_equal(csb_certs_make_ca(ca, cakey, "csbackup netns test CA"), CSB_OK);
	for (size_t i = 0; i < sizeof(cns) / sizeof(cns[0]); i++) {
		snprintf(crt, sizeof(crt), "%s/pki/%s.crt", n->cl->dir, cns[i]);
		snprintf(key, sizeof(key), "%s/pki/%s.key", n->cl->dir, cns[i]);
		assert_int_equal(csb_certs_issue(ca, cakey, cns[i], crt, key), CSB_OK);
	}
	topo = json_pack("{s:[{s:s},{s:s}], s:[], s:[{s:s,s:[s]}]}", "sites", "name", "site1",
	                 "name", "site2", "pools", "principals", "name", "admin", "groups",
	                 "RTCUniversalServerAdmins");
	cl = json_pack("{s:{}, s:s, s:[]}", "coordinator", "admin", "admin", "pools");
	assert_true(topo != NULL && cl != NULL);
	for (int h = HOST_P1; h <= HOST_P2; h++) {
		snprintf(url, sizeof(url), "tls+tcp://%s:%d", n->addr[h], AGENT_PORT + h);
		json_array_append_new(json_object_get(topo, "pools"),
		                      json_pack("{s:s, s:s, s:s, s:s, s:b}", "fqdn", host_names[h],
		                                "site", h == HOST_P1 ? "site1" : "site2", "agent", url,
		                                "backup", h == HOST_P1 ? P2 : P1, "hostsCms",
		                                h == HOST_P1));
		json_array_append_new(json_object_get(cl, "pools"),
		                      json_pack("{s:s, s:s}", "fqdn", host_names[h], "agent", url));
	}
	snprintf(path, sizeof(path), "%s/topology.json", n->cl->dir);
	assert_int_equal(json_dump_file(topo, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER), 0);
	snprintf(url, sizeof(url), "tls+tcp://%s:%d", n->addr[HOST_COORD], COORD_PORT);
	json_object_set_new(json_object_get(cl, "coordinator"), "url", json_string(url));
	snprintf(url, sizeof(url), "%s:%d", n->addr[HOST_COORD], HTTP_PORT);
	json_object_set_new(json_object_get(cl, "coordinator"), "http", json_string(url));
	snprintf(path, sizeof(path), "%s/cluster.json", n->cl->dir);
	assert_int_equal(json_dump_file(cl, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER), 0);
	json_decref(cl);
	json_decref(topo);
}

/* Starts argv inside host h's namespace, its output in logs/<host>.log. */
static void host_spawn(struct net *n, enum host h, char *const argv[])
{
	char log[CH_PATH + 64], ns[64];
	pid_t pid;

	snprintf(log, sizeof(log), "%s/logs/%s.log", n->cl->dir, host_names[h]);
	snprintf(ns, sizeof(ns), "/var/run/netns/%s", n->ns[h]);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int nsfd = open(ns, O_RDONLY | O_CLOEXEC);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0)
			_exit(126);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	n->pid[h] = pid;
}

static void start_coordinator(struct net *n)
{
	char state[CH_PATH + 32], listen[64], http[64], crt[CH_PATH + 32], key[CH_PATH + 32],
		ca[CH_PATH + 32];
	char *argv[] = {(char *)bin("coordinator/csb-coordinator"), "--state-dir", state,
	                "--listen", listen, "--http", http, "--tls-cert", crt, "--tls-key", key,
	                "--tls-ca", ca, "--admin-principal", "admin", NULL};

	snprintf(state, sizeof(state), "%s/coordinator", n->cl->dir);
	assert_int_equal(mkdir(state, 0755), 0);
	snprintf(listen, sizeof(listen), "tls+tcp://%s:%d", n->addr[HOST_COORD], COORD_PORT);
	snprintf(http, sizeof(http), "%s:%d", n->addr[HOST_COORD], HTTP_PORT);
	snprintf(crt, sizeof(crt), "%s/pki/" COORD_CN ".crt", n->cl->dir);
	snprintf(key, sizeof(key), "%s/pki/" COORD_CN ".key", n->cl->dir);
	snprintf(ca, sizeof(ca), "%s/pki/ca.crt", n->cl->dir);
	host_spawn(n, HOST_COORD, argv);
}

static void start_agent(struct net *n, enum host h)
{
	char state[CH_PATH + 32], listen[64], coord[64], crt[CH_PATH + 32], key[CH_PATH + 32],
		ca[CH_PATH + 32];
	char *argv[] = {(char *)bin("agent/csb-agent"), "--pool-fqdn", (char *)host_names[h],
	                "--state-dir", state, "--coordinator", coord, "--listen", listen,
	                "--tls-cert", crt, "--tls-key", key, "--tls-ca", ca, NULL};

	snprintf(state, sizeof(state), "%s/%s", n->cl->dir, host_names[h]);
	assert_int_equal(mkdir(state, 0755), 0);
	snprintf(listen, sizeof(listen), "tls+tcp://%s:%d", n->addr[h], AGENT_PORT + h);
	snprintf(coord, sizeof(coord), "tls+tcp://%s:%d", n->addr[HOST_COORD], COORD_PORT);
	snprintf(crt, sizeof(crt), "%s/pki/%s.crt", n->cl->dir, host_names[h]);
	snprintf(key, sizeof(key), "%s/pki/%s.key", n->cl->dir, host_names[h]);
	snprintf(ca, sizeof(ca), "%s/pki/ca.crt", n->cl->dir);
	host_spawn(n, h, argv);
}

static void print_logs(struct net *n)
{
	for (int h = 0; h < HOSTS; h++)
		sh("echo '--- %s:'; tail -n 25 '%s/logs/%s.log'", host_names[h], n->cl->dir,
		   host_names[h]);
}

/* Runs csb until it exits 0 (the host may still be starting), at most WAIT_MS. */
static void csb_until_ok(struct net *n, const char *what, char *const args[])
{
	uint64_t until = csb_mono_ms() + WAIT_MS;
	struct ch_result r;

	for (;;) {
		ch_runv(n->cl, NULL, &r, args);
		if (r.code == 0) {
			ch_result_free(&r);
			return;
		}
		if (csb_mono_ms() > until) {
			print_logs(n);
			fail_msg("%s: still exit %d: %s", what, r.code, r.err);
		}
		ch_result_free(&r);
		csb_sleep_ms(250);
	}
}

/* ---- Setup and teardown ------------------------------------------------------------- */

static struct net the_net;

static int setup(void **state)
{
	struct net *n = &the_net;
	char topo[CH_PATH + 32];

	memset(n, 0, sizeof(*n));
	*state = n;
	if (geteuid() != 0) {
		print_message("netns_test: skipped: needs root to make network namespaces\n");
		return 0;
	}
	remove_stale();
	n->cl = ch_cluster_new();
	if (!net_build(n)) {
		print_message("netns_test: skipped: `ip netns add` or a bridge is refused here\n");
		net_teardown(n);
		return 0;
	}
	write_cluster(n);
	start_coordinator(n);
	csb_until_ok(n, "the coordinator answers",
	             (char *[]){"Get-CsBackupServiceConfiguration", NULL});
	snprintf(topo, sizeof(topo), "%s/topology.json", n->cl->dir);
	csb_until_ok(n, "Publish-CsTopology", (char *[]){"Publish-CsTopology", "-FileName", topo,
	                                                  NULL});
	start_agent(n, HOST_P1);
	start_agent(n, HOST_P2);
	csb_until_ok(n, P1 " answers", (char *[]){"Get-CsBackupServiceStatus", "-PoolFqdn", P1,
	                                           NULL});
	csb_until_ok(n, P2 " answers", (char *[]){"Get-CsBackupServiceStatus", "-PoolFqdn", P2,
	                                           NULL});
	return 0;
}

static int teardown(void **state)
{
	struct net *n = *state;

	net_teardown(n);
	if (n->cl != NULL)
		ch_cluster_down(n->cl); /* removes the folder; nothing of csb cluster runs */
	n->cl = NULL;
	return 0;
}

/* ---- Load --------------------------------------------------------------------------- */

/* Writes new keys k000000, k000001, … to pool01 one at a time until stopped. pool01's own
 * link is never cut, so every write must be acknowledged. */
struct load {
	csb_rpc_client *c;
	pthread_t thread;
	atomic_bool stop;
	atomic_uint acked;
	unsigned failed;
	csb_err first_err;
};

static void key_of(unsigned i, char key[16], char value[32])
{
	snprintf(key, 16, "k%06u", i);
	snprintf(value, 32, "v%06u:netns", i);
}

static void *load_main(void *arg)
{
	struct load *ld = arg;
	char key[16], value[32];

	while (!atomic_load(&ld->stop)) {
		unsigned i = atomic_load(&ld->acked) + ld->failed;
		csb_err rv;

		key_of(i, key, value);
		rv = h_put(ld->c, PRESENCE, key, strlen(key), value, strlen(value));
		if (rv == CSB_OK) {
			atomic_fetch_add(&ld->acked, 1);
		} else if (ld->failed++ == 0) {
			ld->first_err = rv;
		}
		csb_sleep_ms(2);
	}
	return NULL;
}

static void wait_acked(struct load *ld, unsigned n)
{
	uint64_t until = csb_mono_ms() + WAIT_MS;

	while (atomic_load(&ld->acked) < n && csb_mono_ms() < until)
		csb_sleep_ms(20);
	assert_true(atomic_load(&ld->acked) >= n);
}

/* ---- Status ------------------------------------------------------------------------- */

/* Pool's presence row from `csb Get-CsBackupServiceStatus -PoolFqdn pool --json` (through
 * the coordinator, as an administrator sees it); NULL when the command fails. */
static json_t *status_row(struct net *n, const char *pool)
{
	struct ch_result r;
	json_t *doc, *m, *row = NULL;
	size_t i;

	ch_run(n->cl, NULL, &r, "Get-CsBackupServiceStatus", "-PoolFqdn", pool, "--json", NULL);
	if (r.code == 0 && (doc = json_loads(r.out, 0, NULL)) != NULL) {
		json_array_foreach(json_object_get(doc, "BackupModules"), i, m)
			if (strcmp(json_string_value(json_object_get(m, "Identity")), PRESENCE) == 0)
				row = json_incref(m);
		json_decref(doc);
	}
	ch_result_free(&r);
	return row;
}

static const char *field(json_t *row, const char *name)
{
	const char *s = json_string_value(json_object_get(row, name));

	return s != NULL ? s : "";
}

/* Waits until pool's presence export is in state; returns its row (json_decref() it). */
static json_t *wait_export(struct net *n, const char *pool, const char *state)
{
	uint64_t until = csb_mono_ms() + WAIT_MS;

	for (;;) {
		json_t *row = status_row(n, pool);

		if (row != NULL && strcmp(field(row, "ExportStatus"), state) == 0)
			return row;
		if (csb_mono_ms() > until) {
			print_logs(n);
			fail_msg("%s: ExportStatus is %s, not %s (LastError: %s)", pool,
			         row ? field(row, "ExportStatus") : "unknown", state,
			         row ? field(row, "LastError") : "");
		}
		json_decref(row);
		csb_sleep_ms(250);
	}
}

/* pool02's copy of pool01's presence module, read at pool02: exactly keys k000000 … up to
 * count - 1, each with its value. */
static void expect_copy(csb_rpc_client *p2, unsigned count)
{
	Csb__ListRequest lr = CSB__LIST_REQUEST__INIT;
	char key[16], value[32];
	unsigned seen = 0;
	bool more = true;
	uint8_t after[16];

	lr.module = PRESENCE;
	lr.limit = 10000;
	lr.from_backup = true;
	lr.source = P1;
	while (more) {
		Csb__ListReply *out = NULL;

		assert_int_equal(csb_rpc_call_msg(p2, "csb.Data/List", &lr.base,
		                                  &csb__list_reply__descriptor, 30000,
		                                  (ProtobufCMessage **)&out, NULL),
		                 CSB_OK);
		for (size_t i = 0; i < out->n_records; i++, seen++) {
			const Csb__Record *rec = out->records[i];

			key_of(seen, key, value);
			assert_int_equal(rec->key.len, strlen(key));
			assert_memory_equal(rec->key.data, key, strlen(key));
			assert_int_equal(rec->value.len, strlen(value));
			assert_memory_equal(rec->value.data, value, strlen(value));
		}
		more = out->more && out->n_records > 0;
		if (more) {
			memcpy(after, out->records[out->n_records - 1]->key.data, 7);
			lr.after.data = after;
			lr.after.len = 7;
		}
		protobuf_c_message_free_unpacked(&out->base, NULL);
	}
	assert_int_equal(seen, count);
}

/* ---- The test ----------------------------------------------------------------------- */

static void test_a_cut_site_is_named_and_catches_up_by_itself(void **state)
{
	struct net *n = *state;
	struct load ld = {.first_err = CSB_OK};
	csb_rpc_client *p1, *p2;
	Csb__PoolStatus *ps;
	const Csb__ModuleStatus *ms;
	unsigned at_cut, at_restore, total;
	uint64_t until;
	json_t *row;
	struct ch_result r;
	char cmd[128];

	if (n->cl == NULL || !n->made)
		skip();
	p1 = h_cluster_client(n->cl->dir, 1);
	p2 = h_cluster_client(n->cl->dir, 2);
	ld.c = p1;
	assert_int_equal(pthread_create(&ld.thread, NULL, load_main, &ld), 0);

	/* Replicating under load, across the bridge. */
	wait_acked(&ld, 300);
	until = csb_mono_ms() + WAIT_MS;
	do {
		ms = h_status(p2, PRESENCE, &ps);
		at_cut = (unsigned)ms->imported_seq;
		protobuf_c_message_free_unpacked(&ps->base, NULL);
		if (at_cut < 200)
			csb_sleep_ms(50);
	} while (at_cut < 200 && csb_mono_ms() < until);
	assert_true(at_cut >= 200);
	json_decref(wait_export(n, P1, "SteadyState"));

	/* pool02's site is cut off: pool01 goes on taking writes, and its status names the
	 * backup pool that stopped pulling. */
	snprintf(cmd, sizeof(cmd), "ip link set %s down", n->veth[HOST_P2]);
	sh_ok(cmd);
	at_cut = atomic_load(&ld.acked);
	row = wait_export(n, P1, "ErrorState");
	if (strstr(field(row, "LastError"), P2 " (backup pool) has not pulled " PRESENCE " for ") ==
	    NULL)
		fail_msg("LastError: %s", field(row, "LastError"));
	assert_true(json_integer_value(json_object_get(row, "LagRecords")) > 0);
	json_decref(row);
	/* And the administrator cannot reach pool02 through the coordinator. */
	ch_run(n->cl, NULL, &r, "Get-CsBackupServiceStatus", "-PoolFqdn", P2, NULL);
	assert_int_equal(r.code, 4);
	assert_true(ch_starts_with(r.err, "csb: Get-CsBackupServiceStatus: "));
	ch_result_free(&r);
	wait_acked(&ld, at_cut + 300);

	/* The link comes back: replication resumes by itself (nobody syncs) and catches up. */
	snprintf(cmd, sizeof(cmd), "ip link set %s up", n->veth[HOST_P2]);
	sh_ok(cmd);
	at_restore = atomic_load(&ld.acked);
	wait_acked(&ld, at_restore + 300);
	atomic_store(&ld.stop, true);
	pthread_join(ld.thread, NULL);
	if (ld.failed != 0)
		fail_msg("%u writes to %s failed, the first with %s", ld.failed, P1,
		         csb_err_name(ld.first_err));
	total = atomic_load(&ld.acked);
	print_message("netns_test: %u writes acknowledged, %u of them while %s was cut off\n",
	              total, at_restore - at_cut, P2);
	until = csb_mono_ms() + WAIT_MS;
	do {
		ms = h_status(p2, PRESENCE, &ps);
		at_cut = (unsigned)ms->imported_seq;
		protobuf_c_message_free_unpacked(&ps->base, NULL);
		if (at_cut < total)
			csb_sleep_ms(100);
	} while (at_cut < total && csb_mono_ms() < until);
	assert_int_equal(at_cut, total);
	ms = h_status(p1, PRESENCE, &ps);
	assert_int_equal(ms->high_seq, total);
	protobuf_c_message_free_unpacked(&ps->base, NULL);
	/* Steady again, and the error of the cut cleared (within WAIT_MS). */
	until = csb_mono_ms() + WAIT_MS;
	for (;;) {
		row = wait_export(n, P1, "SteadyState");
		if (json_is_null(json_object_get(row, "LastError")) || csb_mono_ms() > until)
			break;
		json_decref(row);
		csb_sleep_ms(250);
	}
	assert_int_equal(json_integer_value(json_object_get(row, "LagRecords")), 0);
	assert_true(json_is_null(json_object_get(row, "LastError")));
	json_decref(row);

	/* Nothing is lost: the copies are equal, and the copy holds every acknowledged write. */
	ch_ok(n->cl, 0, &r, "Test-CsBackupData", "-PoolFqdn", P1, "-BackupModule", PRESENCE, NULL);
	ch_result_free(&r);
	expect_copy(p2, total);
	csb_rpc_client_close(p1);
	csb_rpc_client_close(p2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_cut_site_is_named_and_catches_up_by_itself),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
