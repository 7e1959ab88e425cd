/* Local clusters (SPEC.md §2): `csb cluster up|down|kill|start|issue-cert`. A cluster folder
 * holds pki/ (a CA and a certificate per node and principal), topology.json, cluster.json
 * (endpoints, read by every other csb command), one state folder per node, logs/ and run/
 * (pid files). Nodes run as background processes on 127.0.0.1. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model/cms.h"
#include "cli/internal/cli.h"
#include "common/port.h"
#include "common/certs.h"
#include "common/clock.h"
#include "proto/admin.pb-c.h"
#include "proto/status.pb-c.h"

#define NODE_COORDINATOR "coordinator"
#define NODE_STANDBY "coordinator2" /* the standby coordinator (CMS failover) */
#define STOP_GRACE_MS 10000
#define ANSWER_WAIT_MS 30000
#define NODES_MAX 66 /* the coordinators and up to 64 pools */

/* The binaries beside csb: bazel-bin/cli/csb → bazel-bin/{agent,coordinator}/…, or
 * $CSB_BIN_DIR/{agent,coordinator}/…. */
static void bin_path(const char *sub, char *out, size_t len)
{
	char self[CLI_PATH];
	const char *env = getenv("CSB_BIN_DIR");
	ssize_t n;

	if (env != NULL) {
		snprintf(out, len, "%s/%s", env, sub);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	snprintf(out, len, "%s/../%s", dirname(self), sub);
}

static int mkdirs(const char *path)
{
	char buf[CLI_PATH];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) != 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static csb_err issue(const char *dir, const char *name)
{
	char ca[CLI_PATH], cakey[CLI_PATH], crt[CLI_PATH + 80], key[CLI_PATH + 80];

	snprintf(ca, sizeof(ca), "%s/pki/ca.crt", dir);
	snprintf(cakey, sizeof(cakey), "%s/pki/ca.key", dir);
	snprintf(crt, sizeof(crt), "%s/pki/%s.crt", dir, name);
	snprintf(key, sizeof(key), "%s/pki/%s.key", dir, name);
	return csb_certs_issue(ca, cakey, name, crt, key);
}

/* Creates the folder's CA, certificates, topology.json and cluster.json. */
static int create(struct cli *c, const char *dir, unsigned pools, unsigned base)
{
	char path[CLI_PATH + 32], ca[CLI_PATH], cakey[CLI_PATH], fqdn[64], url[64];
	json_t *topo = json_object(), *tpools = json_array(), *cpools = json_array();
	json_t *cl = json_object(), *coord = json_object();
	unsigned cport = base ? base : (unsigned)csb_port_pick();
	unsigned hport = base ? base + 1 : (unsigned)csb_port_pick();
	csb_err rv;

	snprintf(path, sizeof(path), "%s/pki", dir);
	if (mkdirs(path) != 0)
		return cli_fail(c, CSB_EIO, "cannot create %s: %s", path, strerror(errno));
	snprintf(ca, sizeof(ca), "%s/pki/ca.crt", dir);
	snprintf(cakey, sizeof(cakey), "%s/pki/ca.key", dir);
	if ((rv = csb_certs_make_ca(ca, cakey, "csbackup local cluster CA")) != CSB_OK ||
	    (rv = issue(dir, CSB_COORDINATOR_NAME)) != CSB_OK || (rv = issue(dir, "admin")) != CSB_OK)
		return cli_fail(c, rv, "cannot make certificates in %s/pki: %s", dir, csb_strerror(rv));
	for (unsigned k = 0; k < pools; k++) {
		json_t *p = json_object();
		char backup[64];

		snprintf(fqdn, sizeof(fqdn), "pool%02u.csb.test", k + 1);
		snprintf(backup, sizeof(backup), "pool%02u.csb.test", (k ^ 1u) + 1);
		snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%u",
		         base ? base + 2 + k : (unsigned)csb_port_pick());
		if ((rv = issue(dir, fqdn)) != CSB_OK)
			return cli_fail(c, rv, "cannot make a certificate for %s", fqdn);
		json_object_set_new(p, "fqdn", json_string(fqdn));
		json_object_set_new(p, "site", json_string("site1"));
		json_object_set_new(p, "agent", json_string(url));
		json_object_set_new(p, "backup", json_string(backup));
		json_object_set_new(p, "hostsCms", json_boolean(k == 0));
		json_array_append_new(tpools, p);
		json_array_append_new(cpools, json_pack("{s:s, s:s}", "fqdn", fqdn, "agent", url));
	}
	json_object_set_new(topo, "sites", json_pack("[{s:s}]", "name", "site1"));
	json_object_set_new(topo, "pools", tpools);
	json_object_set_new(topo, "principals",
	                    json_pack("[{s:s, s:[s]}]", "name", "admin", "groups",
	                              "RTCUniversalServerAdmins"));
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%u", cport);
	json_object_set_new(coord, "url", json_string(url));
	snprintf(url, sizeof(url), "127.0.0.1:%u", hport);
	json_object_set_new(coord, "http", json_string(url));
	json_object_set_new(coord, "node", json_string(NODE_COORDINATOR));
	json_object_set_new(coord, "pool", json_string("pool01.csb.test"));
	json_object_set_new(cl, "coordinator", coord);
	if (pools >= 2) { /* the standby runs beside pool02, pool01's backup pool */
		json_t *sb = json_object();

		snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%u",
		         base ? base + 2 + pools : (unsigned)csb_port_pick());
		json_object_set_new(sb, "url", json_string(url));
		snprintf(url, sizeof(url), "127.0.0.1:%u",
		         base ? base + 3 + pools : (unsigned)csb_port_pick());
		json_object_set_new(sb, "http", json_string(url));
		json_object_set_new(sb, "node", json_string(NODE_STANDBY));
		json_object_set_new(sb, "pool", json_string("pool02.csb.test"));
		json_object_set_new(cl, "standby", sb);
	}
	json_object_set_new(cl, "admin", json_string("admin"));
	json_object_set_new(cl, "pools", cpools);
	snprintf(path, sizeof(path), "%s/topology.json", dir);
	if (json_dump_file(topo, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
		return cli_fail(c, CSB_EIO, "cannot write %s", path);
	snprintf(path, sizeof(path), "%s/cluster.json", dir);
	if (json_dump_file(cl, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
		return cli_fail(c, CSB_EIO, "cannot write %s", path);
	json_decref(topo);
	json_decref(cl);
	return CLI_OK;
}

static void pid_path(const char *dir, const char *node, char *out, size_t len)
{
	if ((size_t)snprintf(out, len, "%s/run/%s.pid", dir, node) >= len)
		out[0] = '\0'; /* too long a path names no pid file */
}

/* The running pid of node, or 0: the pid file names a live process of ours. */
static pid_t running(const char *dir, const char *node)
{
	char path[CLI_PATH + 64], cmd[4096] = "";
	FILE *f;
	long pid = 0;
	int fd;
	ssize_t n;

	pid_path(dir, node, path, sizeof(path));
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 0 || kill((pid_t)pid, 0) != 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return 0;
	n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	cmd[n > 0 ? n : 0] = '\0';
	return strstr(cmd, "csb-") != NULL ? (pid_t)pid : 0;
}

/* Starts argv in the background (its own session, output to the node's log). */
static pid_t spawn(struct cli *c, const char *node, char *const argv[])
{
	char log[CLI_PATH + 64], path[CLI_PATH + 64];
	pid_t pid;
	FILE *f;

	snprintf(path, sizeof(path), "%s/logs", c->dir);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/run", c->dir);
	mkdirs(path);
	snprintf(log, sizeof(log), "%s/logs/%s.log", c->dir, node);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644), nul = open("/dev/null", O_RDONLY);

		setsid();
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		if (nul >= 0)
			dup2(nul, STDIN_FILENO);
		execv(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	pid_path(c->dir, node, path, sizeof(path));
	if ((f = fopen(path, "w")) != NULL) {
		fprintf(f, "%ld\n", (long)pid);
		fclose(f);
	}
	return pid;
}

static const char *pool_url(struct cli *c, const char *fqdn)
{
	size_t i;
	json_t *p;

	json_array_foreach(json_object_get(c->cluster, "pools"), i, p)
		if (strcmp(json_string_value(json_object_get(p, "fqdn")), fqdn) == 0)
			return json_string_value(json_object_get(p, "agent"));
	return NULL;
}

/* The coordinator of the folder that runs as node ("coordinator" for a master entry without
 * a node name), and whether it is in the standby slot; NULL when node is no coordinator. */
static json_t *coord_entry(struct cli *c, const char *node, bool *standby)
{
	static const char *const slots[] = {"coordinator", "standby"};

	for (size_t i = 0; i < 2; i++) {
		json_t *e = json_object_get(c->cluster, slots[i]), *nm = json_object_get(e, "node");
		const char *name = json_is_string(nm) ? json_string_value(nm)
		                                      : i == 0 ? NODE_COORDINATOR : NULL;

		if (e != NULL && name != NULL && strcmp(name, node) == 0) {
			if (standby != NULL)
				*standby = i == 1;
			return e;
		}
	}
	return NULL;
}

static const char *entry_string(json_t *e, const char *key)
{
	json_t *v = json_object_get(e, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static pid_t start_node(struct cli *c, const char *node)
{
	char bin[CLI_PATH], state[CLI_PATH + 64], crt[CLI_PATH + 80], key[CLI_PATH + 80],
		ca[CLI_PATH + 16], http[64];
	const char *coord = c->coord_url;
	bool standby = false;
	json_t *ce = coord_entry(c, node, &standby);
	bool is_coord = ce != NULL;
	const char *name = is_coord ? CSB_COORDINATOR_NAME : node;

	snprintf(state, sizeof(state), "%s/%s", c->dir, node);
	mkdirs(state);
	snprintf(crt, sizeof(crt), "%s/pki/%s.crt", c->dir, name);
	snprintf(key, sizeof(key), "%s/pki/%s.key", c->dir, name);
	snprintf(ca, sizeof(ca), "%s/pki/ca.crt", c->dir);
	if (is_coord) {
		const char *pool = entry_string(ce, "pool"), *agent = pool ? pool_url(c, pool) : NULL;
		char *argv[24] = {bin, "--state-dir", state, "--listen",
		                  (char *)entry_string(ce, "url"), "--http", http,
		                  "--tls-cert", crt, "--tls-key", key, "--tls-ca", ca,
		                  "--admin-principal", "admin", NULL};
		size_t k = 15;

		if (argv[4] == NULL)
			return -1;
		if (agent != NULL) {
			argv[k++] = "--pool-fqdn";
			argv[k++] = (char *)pool;
			argv[k++] = "--agent";
			argv[k++] = (char *)agent;
			if (standby)
				argv[k++] = "--standby";
		}
		argv[k] = NULL;
		snprintf(http, sizeof(http), "%s", entry_string(ce, "http") ? entry_string(ce, "http") : "");
		bin_path("coordinator/csb-coordinator", bin, sizeof(bin));
		return spawn(c, node, argv);
	} else {
		char *argv[] = {bin, "--pool-fqdn", (char *)node, "--state-dir", state, "--coordinator",
		                (char *)coord, "--listen", (char *)pool_url(c, node), "--tls-cert", crt,
		                "--tls-key", key, "--tls-ca", ca, NULL};

		if (argv[8] == NULL)
			return -1;
		bin_path("agent/csb-agent", bin, sizeof(bin));
		return spawn(c, node, argv);
	}
}

/* Waits until node answers any call (an error status is an answer) or its process dies. */
static bool answers(struct cli *c, const char *node, pid_t pid)
{
	uint64_t until = csb_mono_ms() + ANSWER_WAIT_MS;
	char err[CSB_RPC_ERROR_MAX];
	csb_rpc_client *cli;
	ProtobufCMessage *out = NULL;
	csb_err rv;

	do {
		if (coord_entry(c, node, NULL) != NULL) {
			Csb__Empty e = CSB__EMPTY__INIT; /* a standby's refusal is an answer too */
			const char *url = entry_string(coord_entry(c, node, NULL), "url");

			/* The master through the command's own client, which the next calls reuse,
			 * as before there was a standby (with a client per call here, two loaded CI
			 * runs saw `cluster up`'s next call, on a fresh client, go unanswered for
			 * 5 s); the standby through one of its own. */
			rv = url != NULL && strcmp(url, c->coord_url) == 0
			         ? cli_admin(c, "csb.Admin/GetConfig", &e.base, &csb__json_doc__descriptor,
			                     300, false, &out, err)
			         : cli_coordinator_call(c, url, "csb.Admin/GetConfig", &e.base,
			                                &csb__json_doc__descriptor, 300, &out, err);
		} else {
			Csb__StatusRequest sr = CSB__STATUS_REQUEST__INIT;

			if ((rv = cli_agent(c, node, &cli, err)) == CSB_OK)
				rv = csb_rpc_call_msg(cli, "csb.Control/Status", &sr.base,
				                      &csb__pool_status__descriptor, 300, &out, err);
		}
		if (out != NULL)
			protobuf_c_message_free_unpacked(out, NULL);
		out = NULL;
		/* An agent is ready once it knows the administrators from its CMS replica; until
		 * then it refuses the admin (CSB_EDENIED). */
		if (rv == CSB_OK || (rv != CSB_ETIMEDOUT && rv != CSB_EUNREACH && rv != CSB_ECLOSED && rv != CSB_ENOTCONN &&
		                     rv != CSB_EDENIED))
			return true;
		if (waitpid(pid, NULL, WNOHANG) == pid || kill(pid, 0) != 0)
			return false;
		csb_sleep_ms(50);
	} while (csb_mono_ms() < until);
	return false;
}

static void wait_gone(pid_t pid, uint64_t until)
{
	while (kill(pid, 0) == 0 && csb_mono_ms() < until) {
		waitpid(pid, NULL, WNOHANG);
		csb_sleep_ms(20);
	}
}

/* Stops the n nodes of list that run (SIGTERM in reverse order, SIGKILL after the grace
 * time) and removes their pid files. */
static void stop_nodes(struct cli *c, const char *const list[], size_t n)
{
	uint64_t until = csb_mono_ms() + STOP_GRACE_MS;
	char path[CLI_PATH + 64];
	pid_t pids[NODES_MAX];

	for (size_t i = n; i-- > 0;)
		if ((pids[i] = running(c->dir, list[i])) != 0)
			kill(pids[i], SIGTERM);
	for (size_t i = 0; i < n; i++)
		if (pids[i] != 0)
			wait_gone(pids[i], until);
	for (size_t i = 0; i < n; i++) {
		if (pids[i] != 0 && kill(pids[i], 0) == 0) {
			kill(pids[i], SIGKILL);
			wait_gone(pids[i], csb_mono_ms() + 5000);
		}
		pid_path(c->dir, list[i], path, sizeof(path));
		unlink(path);
	}
}

/* Starts node unless it runs, and waits until it answers. *started tells whether this call
 * started it; one that does not answer is stopped again. */
static int start_and_wait(struct cli *c, const char *node, bool *started)
{
	pid_t pid;

	*started = false;
	if (running(c->dir, node) != 0)
		return CLI_OK;
	if ((pid = start_node(c, node)) <= 0)
		return cli_fail(c, CSB_EINVAL, "%s is not a node of %s", node, c->dir);
	if (!answers(c, node, pid)) {
		stop_nodes(c, &node, 1);
		return cli_fail(c, CSB_EUNREACH, "%s did not start (see %s/logs/%s.log)", node, c->dir,
		                node);
	}
	*started = true;
	return CLI_OK;
}

static int publish_if_needed(struct cli *c)
{
	Csb__Empty e = CSB__EMPTY__INIT;
	Csb__PublishTopologyRequest pr = CSB__PUBLISH_TOPOLOGY_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	char path[CLI_PATH + 32], err[CSB_RPC_ERROR_MAX], *json;
	json_t *t;
	csb_err rv;

	rv = cli_admin(c, "csb.Admin/GetTopology", &e.base, &csb__json_doc__descriptor, 5000, true,
	               &out, err);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	if (rv != CSB_ENOTFOUND)
		return rv == CSB_OK ? CLI_OK : cli_fail(c, rv, "%s", err);
	snprintf(path, sizeof(path), "%s/topology.json", c->dir);
	if ((t = json_load_file(path, 0, NULL)) == NULL)
		return cli_fail(c, CSB_EIO, "cannot read %s", path);
	json = json_dumps(t, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(t);
	pr.json.data = (uint8_t *)json;
	pr.json.len = strlen(json);
	rv = cli_admin(c, "csb.Admin/PublishTopology", &pr.base, &csb__empty__descriptor, 10000,
	               true, &out, err);
	free(json);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	return rv == CSB_OK ? CLI_OK : cli_fail(c, rv, "publishing %s: %s", path, err);
}

static void print_summary(struct cli *c)
{
	json_t *pools = json_object_get(c->cluster, "pools"), *p;
	size_t i;

	if (c->a->json) {
		cli_print_json(c->cluster, false);
		return;
	}
	printf("%-20s %s\n", "coordinator", c->coord_url);
	json_array_foreach(pools, i, p)
		printf("%-20s %s\n", json_string_value(json_object_get(p, "fqdn")),
		       json_string_value(json_object_get(p, "agent")));
	if (entry_string(json_object_get(c->cluster, "standby"), "url") != NULL)
		printf("%-20s %s (%s)\n", "standby coordinator",
		       entry_string(json_object_get(c->cluster, "standby"), "url"),
		       entry_string(json_object_get(c->cluster, "standby"), "pool")
		           ? entry_string(json_object_get(c->cluster, "standby"), "pool") : "-");
	printf("cluster %s is up: export CSB_CLUSTER=%s\n", c->dir, c->dir);
}

/* Loads DIR/cluster.json as the command's connection, with the admin's certificate. */
static int load(struct cli *c, const char *dir)
{
	char path[CLI_PATH + 32];

	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	snprintf(path, sizeof(path), "%s/cluster.json", dir);
	if ((c->cluster = json_load_file(path, 0, NULL)) == NULL)
		return cli_fail(c, CSB_EINVAL, "%s is not a csbackup cluster folder", dir);
	snprintf(c->coord_url, sizeof(c->coord_url), "%s",
	         json_string_value(json_object_get(json_object_get(c->cluster, "coordinator"), "url")));
	snprintf(c->cert, sizeof(c->cert), "%s/pki/admin.crt", dir);
	snprintf(c->key, sizeof(c->key), "%s/pki/admin.key", dir);
	snprintf(c->ca, sizeof(c->ca), "%s/pki/ca.crt", dir);
	return CLI_OK;
}

/* Starts what does not run yet. When a node fails, the nodes this call started are stopped
 * again: a failed `up` leaves the folder as it found it. */
static int cluster_up(struct cli *c)
{
	const char *dir = c->a->dir, *started[NODES_MAX], *master, *standby;
	char path[CLI_PATH + 32];
	size_t n = 0;
	struct stat st;
	bool now;
	json_t *p;
	size_t i;
	int rc;

	if (c->a->pools % 2 != 0)
		return cli_fail(c, CSB_EINVAL, "--pools must be even (pools are paired)");
	snprintf(path, sizeof(path), "%s/cluster.json", dir);
	if (stat(path, &st) != 0 &&
	    (rc = create(c, dir, (unsigned)c->a->pools, (unsigned)c->a->base_port)) != CLI_OK)
		return rc;
	if ((rc = load(c, dir)) != CLI_OK)
		return rc;
	master = entry_string(json_object_get(c->cluster, "coordinator"), "node");
	if (master == NULL)
		master = NODE_COORDINATOR;
	if ((rc = start_and_wait(c, master, &now)) != CLI_OK)
		return rc;
	if (now)
		started[n++] = master;
	if ((rc = publish_if_needed(c)) != CLI_OK)
		goto out_stop_started;
	json_array_foreach(json_object_get(c->cluster, "pools"), i, p) {
		const char *fqdn = json_string_value(json_object_get(p, "fqdn"));

		if (n == NODES_MAX) {
			rc = cli_fail(c, CSB_EINVAL, "%s has more than %d nodes", dir, NODES_MAX);
			goto out_stop_started;
		}
		if ((rc = start_and_wait(c, fqdn, &now)) != CLI_OK)
			goto out_stop_started;
		if (now)
			started[n++] = fqdn;
	}
	if ((standby = entry_string(json_object_get(c->cluster, "standby"), "node")) != NULL) {
		if ((rc = start_and_wait(c, standby, &now)) != CLI_OK)
			goto out_stop_started;
		if (now)
			started[n++] = standby;
	}
	print_summary(c);
	return CLI_OK;
out_stop_started:
	stop_nodes(c, started, n);
	return rc;
}

/* The nodes of the folder: the coordinator first, then the pools. */
static size_t nodes(struct cli *c, const char *out[NODES_MAX])
{
	json_t *p;
	size_t i, n = 0;

	out[n++] = entry_string(json_object_get(c->cluster, "coordinator"), "node")
	               ? entry_string(json_object_get(c->cluster, "coordinator"), "node")
	               : NODE_COORDINATOR;
	if (entry_string(json_object_get(c->cluster, "standby"), "node") != NULL)
		out[n++] = entry_string(json_object_get(c->cluster, "standby"), "node");
	json_array_foreach(json_object_get(c->cluster, "pools"), i, p)
		if (n < NODES_MAX)
			out[n++] = json_string_value(json_object_get(p, "fqdn"));
	return n;
}

static int cluster_down(struct cli *c)
{
	const char *list[NODES_MAX];
	int rc;

	if ((rc = load(c, c->a->dir)) != CLI_OK)
		return rc;
	/* Agents first, the coordinator last: nothing is left waiting on it. */
	stop_nodes(c, list, nodes(c, list));
	if (!c->a->json)
		printf("cluster %s is down\n", c->dir);
	return CLI_OK;
}

static bool is_node(struct cli *c, const char *node)
{
	const char *list[NODES_MAX];
	size_t n = nodes(c, list);

	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], node) == 0)
			return true;
	return false;
}

static int cluster_kill(struct cli *c)
{
	char path[CLI_PATH + 64];
	pid_t pid;
	int rc;

	if ((rc = load(c, c->a->dir)) != CLI_OK)
		return rc;
	if (!is_node(c, c->a->node))
		return cli_fail(c, CSB_EINVAL, "%s is not a node of %s", c->a->node, c->dir);
	if ((pid = running(c->dir, c->a->node)) != 0) {
		kill(pid, SIGKILL);
		wait_gone(pid, csb_mono_ms() + 5000);
	}
	pid_path(c->dir, c->a->node, path, sizeof(path));
	unlink(path);
	return CLI_OK;
}

static int cluster_start(struct cli *c)
{
	bool now;
	int rc;

	if ((rc = load(c, c->a->dir)) != CLI_OK)
		return rc;
	if (!is_node(c, c->a->node))
		return cli_fail(c, CSB_EINVAL, "%s is not a node of %s", c->a->node, c->dir);
	return start_and_wait(c, c->a->node, &now);
}

static int cluster_issue_cert(struct cli *c)
{
	csb_err rv;
	int rc;

	if ((rc = load(c, c->a->dir)) != CLI_OK)
		return rc;
	if ((rv = issue(c->dir, c->a->principal)) != CSB_OK)
		return cli_fail(c, rv, "cannot issue a certificate for %s: %s", c->a->principal,
		                csb_strerror(rv));
	if (!c->a->json)
		printf("%s/pki/%s.crt\n", c->dir, c->a->principal);
	return CLI_OK;
}

int cli_cluster(struct cli *c)
{
	switch (c->a->cmd) {
	case CSB_CMD_CLUSTER_UP: return cluster_up(c);
	case CSB_CMD_CLUSTER_DOWN: return cluster_down(c);
	case CSB_CMD_CLUSTER_KILL: return cluster_kill(c);
	case CSB_CMD_CLUSTER_START: return cluster_start(c);
	case CSB_CMD_CLUSTER_ISSUE_CERT: return cluster_issue_cert(c);
	default: return cli_fail(c, CSB_EINTERNAL, "not a cluster command");
	}
}

int cli_cluster_master_moved(struct cli *c, const char *pool)
{
	json_t *m = json_object_get(c->cluster, "coordinator"), *sb = json_object_get(c->cluster, "standby");
	char path[CLI_PATH + 32], tmp[CLI_PATH + 48];

	if (c->cluster == NULL || c->dir[0] == '\0' || sb == NULL ||
	    entry_string(sb, "pool") == NULL || strcasecmp(entry_string(sb, "pool"), pool) != 0)
		return CLI_OK; /* not a local cluster, or it does not know that coordinator */
	json_incref(m);
	json_incref(sb);
	if (json_object_get(m, "node") == NULL)
		json_object_set_new(m, "node", json_string(NODE_COORDINATOR));
	json_object_set(c->cluster, "coordinator", sb);
	json_object_set(c->cluster, "standby", m);
	json_decref(m);
	json_decref(sb);
	snprintf(path, sizeof(path), "%s/cluster.json", c->dir);
	snprintf(tmp, sizeof(tmp), "%s/.cluster.json.tmp", c->dir);
	if (json_dump_file(c->cluster, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
	    rename(tmp, path) != 0)
		return cli_fail(c, CSB_EIO, "cannot update %s: %s", path, strerror(errno));
	snprintf(c->coord_url, sizeof(c->coord_url), "%s", entry_string(sb, "url"));
	return CLI_OK;
}

const char *cli_cluster_standby(struct cli *c, const char **pool)
{
	json_t *sb = json_object_get(c->cluster, "standby");

	if (pool != NULL)
		*pool = entry_string(sb, "pool");
	return entry_string(sb, "url");
}
