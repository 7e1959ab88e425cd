/* Integration-test harness: processes, certificates, ports and RPC helpers. */
#include "tests/harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "common/port.h"
#include "common/certs.h"
#include "common/clock.h"
#include "common/wire.h"
#include "proto/data.pb-c.h"

/* The environment of the running test, for evidence when a check fails. */
static struct h_env *current;

void h_print_logs(void)
{
	char cmd[H_PATH + 64];

	for (unsigned i = 0; current != NULL && i < current->n_agents; i++) {
		snprintf(cmd, sizeof(cmd), "echo '--- %.100s:'; tail -n 30 '%s' 1>&2",
		         current->agents[i].pool, current->agents[i].log);
		(void)!system(cmd);
	}
}

struct h_env *h_env_new(void)
{
	struct h_env *e = calloc(1, sizeof(*e));
	const char *base = getenv("TEST_TMPDIR");

	assert_non_null(e);
	snprintf(e->dir, sizeof(e->dir), "%s/csbtest.XXXXXX", base ? base : "/tmp");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->ca_cert, H_PATH, "%s/ca.crt", e->dir);
	snprintf(e->ca_key, H_PATH, "%s/ca.key", e->dir);
	assert_int_equal(csb_certs_make_ca(e->ca_cert, e->ca_key, "csb test CA"), CSB_OK);
	current = e;
	h_issue(e, "admin", e->admin_cert, e->admin_key);
	signal(SIGPIPE, SIG_IGN);
	return e;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void h_env_free(struct h_env *e)
{
	if (e == NULL)
		return;
	if (current == e)
		current = NULL;
	for (unsigned i = 0; i < e->n_agents; i++)
		if (e->agents[i].pid > 0)
			h_agent_signal(e, i, SIGKILL);
	if (getenv("CSB_TEST_KEEP") == NULL)
		nftw(e->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(e);
}

void h_issue(struct h_env *e, const char *name, char *cert, char *key)
{
	snprintf(cert, H_PATH, "%s/%.128s.crt", e->dir, name);
	snprintf(key, H_PATH, "%s/%.128s.key", e->dir, name);
	assert_int_equal(csb_certs_issue(e->ca_cert, e->ca_key, name, cert, key), CSB_OK);
}

static unsigned add_agent(struct h_env *e, const char *pool)
{
	unsigned i = e->n_agents++;
	struct h_agent *ag = &e->agents[i];

	assert_true(i < H_AGENTS_MAX);
	char base[H_DIR];

	memcpy(base, e->dir, sizeof(base));
	snprintf(ag->pool, sizeof(ag->pool), "%s", pool);
	snprintf(ag->dir, sizeof(ag->dir), "%s/%.128s", base, pool);
	snprintf(ag->log, sizeof(ag->log), "%s/%.128s.log", base, pool);
	assert_int_equal(mkdir(ag->dir, 0700), 0);
	h_issue(e, pool, ag->cert, ag->key);
	ag->port = csb_port_pick();
	assert_int_not_equal(ag->port, 0);
	return i;
}

void h_add_pair(struct h_env *e, unsigned *a, unsigned *b)
{
	char p1[64], p2[64];

	snprintf(p1, sizeof(p1), "pool%02u.csb.test", e->n_agents + 1);
	snprintf(p2, sizeof(p2), "pool%02u.csb.test", e->n_agents + 2);
	*a = add_agent(e, p1);
	*b = add_agent(e, p2);
	e->agents[*a].partner = (int)*b;
	e->agents[*b].partner = (int)*a;
}

const char *h_agent_bin(void)
{
	static char path[H_PATH];
	const char *src = getenv("TEST_SRCDIR"), *ws = getenv("TEST_WORKSPACE");

	if (src != NULL && ws != NULL)
		snprintf(path, sizeof(path), "%s/%s/agent/csb-agent", src, ws);
	else
		snprintf(path, sizeof(path), "bazel-bin/agent/csb-agent");
	return path;
}

static pid_t spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
			close(fd);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

void h_agent_start(struct h_env *e, unsigned i)
{
	struct h_agent *ag = &e->agents[i], *pa = &e->agents[ag->partner];
	char listen[64], partner[256];
	char *argv[40];
	unsigned n = 0;
	csb_rpc_client *c;
	Csb__PoolStatus *ps = NULL;

	snprintf(listen, sizeof(listen), "tls+tcp://127.0.0.1:%d", ag->port);
	snprintf(partner, sizeof(partner), "%s=tls+tcp://127.0.0.1:%d", pa->pool, pa->port);
	argv[n++] = (char *)h_agent_bin();
	argv[n++] = "--pool-fqdn";
	argv[n++] = ag->pool;
	argv[n++] = "--state-dir";
	argv[n++] = ag->dir;
	argv[n++] = "--listen";
	argv[n++] = listen;
	argv[n++] = "--partner";
	argv[n++] = partner;
	argv[n++] = "--admin";
	argv[n++] = "admin";
	argv[n++] = "--tls-cert";
	argv[n++] = ag->cert;
	argv[n++] = "--tls-key";
	argv[n++] = ag->key;
	argv[n++] = "--tls-ca";
	argv[n++] = e->ca_cert;
	for (unsigned k = 0; k < 8 && ag->extra[k]; k++)
		argv[n++] = (char *)ag->extra[k];
	argv[n] = NULL;
	ag->pid = spawn(argv, ag->log);
	c = h_client(e, i, NULL, NULL);
	for (int tries = 0; tries < 200; tries++) {
		Csb__StatusRequest sr = CSB__STATUS_REQUEST__INIT;

		if (csb_rpc_call_msg(c, "csb.Control/Status", &sr.base, &csb__pool_status__descriptor,
		                     200, (ProtobufCMessage **)&ps, NULL) == CSB_OK)
			break;
		if (waitpid(ag->pid, NULL, WNOHANG) != 0) { /* it exited: show why */
			char cmd[H_PATH + 32];

			snprintf(cmd, sizeof(cmd), "tail -n 20 '%s' 1>&2", ag->log);
			(void)!system(cmd);
			ag->pid = 0;
			fail_msg("%s exited while starting", ag->pool);
		}
		csb_sleep_ms(50);
	}
	assert_non_null(ps);
	protobuf_c_message_free_unpacked(&ps->base, NULL);
	csb_rpc_client_close(c);
}

int h_agent_signal(struct h_env *e, unsigned i, int sig)
{
	struct h_agent *ag = &e->agents[i];
	int status = 0;

	if (ag->pid <= 0)
		return 0;
	kill(ag->pid, sig);
	while (waitpid(ag->pid, &status, 0) < 0 && errno == EINTR)
		;
	ag->pid = 0;
	return status;
}

csb_rpc_client *h_client(struct h_env *e, unsigned i, const char *cert, const char *key)
{
	char url[64];
	csb_rpc_client *c = NULL;
	csb_rpc_client_opts o = {
		.url = url,
		.server_name = e->agents[i].pool,
		.tls = {cert ? cert : e->admin_cert, key ? key : e->admin_key, e->ca_cert},
		.max_msg = 112u << 20,
	};

	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", e->agents[i].port);
	assert_int_equal(csb_rpc_client_open(&o, &c), CSB_OK);
	return c;
}

static csb_err write_items(csb_rpc_client *c, const char *module, Csb__WriteItem **items,
                           size_t n)
{
	Csb__WriteRequest wr = CSB__WRITE_REQUEST__INIT;
	Csb__WriteReply *out = NULL;
	csb_err rv;

	wr.module = (char *)module;
	wr.items = items;
	wr.n_items = n;
	rv = csb_rpc_call_msg(c, "csb.Data/Write", &wr.base, &csb__write_reply__descriptor, 60000,
	                      (ProtobufCMessage **)&out, NULL);
	if (out != NULL)
		protobuf_c_message_free_unpacked(&out->base, NULL);
	return rv;
}

csb_err h_put(csb_rpc_client *c, const char *module, const void *key, size_t klen,
              const void *val, size_t vlen)
{
	Csb__WriteItem it = CSB__WRITE_ITEM__INIT, *itp = &it;

	it.key.data = (uint8_t *)key;
	it.key.len = klen;
	it.value.data = (uint8_t *)val;
	it.value.len = vlen;
	return write_items(c, module, &itp, 1);
}

static void fill_value(uint8_t *v, size_t n, uint64_t k, uint32_t seed)
{
	uint64_t x = k * 0x9e3779b97f4a7c15ull + seed;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v[i] = (uint8_t)('a' + x % 26);
	}
}

void h_put_range(csb_rpc_client *c, const char *module, const char *prefix, uint64_t first,
                 uint64_t count, size_t value_size, uint32_t seed, size_t per_call)
{
	Csb__WriteItem *items = calloc(per_call, sizeof(*items));
	Csb__WriteItem **ptrs = calloc(per_call, sizeof(*ptrs));
	char (*keys)[64] = calloc(per_call, 64);
	uint8_t *vals = malloc(per_call * (value_size ? value_size : 1));

	assert_true(items && ptrs && keys && vals);
	for (uint64_t done = 0; done < count;) {
		size_t n = count - done < per_call ? (size_t)(count - done) : per_call;

		for (size_t i = 0; i < n; i++) {
			uint64_t k = first + done + i;

			csb__write_item__init(&items[i]);
			items[i].key.len = (size_t)snprintf(keys[i], 64, "%s%08llu", prefix,
			                                    (unsigned long long)k);
			items[i].key.data = (uint8_t *)keys[i];
			fill_value(vals + i * value_size, value_size, k, seed);
			items[i].value.data = vals + i * value_size;
			items[i].value.len = value_size;
			ptrs[i] = &items[i];
		}
		assert_int_equal(write_items(c, module, ptrs, n), CSB_OK);
		done += n;
	}
	free(items);
	free(ptrs);
	free(keys);
	free(vals);
}

void h_delete_range(csb_rpc_client *c, const char *module, const char *prefix, uint64_t first,
                    uint64_t count)
{
	Csb__WriteItem *items = calloc(count, sizeof(*items));
	Csb__WriteItem **ptrs = calloc(count, sizeof(*ptrs));
	char (*keys)[64] = calloc(count, 64);

	assert_true(items && ptrs && keys);
	for (uint64_t i = 0; i < count; i++) {
		csb__write_item__init(&items[i]);
		items[i].op = CSB__WRITE_OP__WRITE_DELETE;
		items[i].key.len = (size_t)snprintf(keys[i], 64, "%s%08llu", prefix,
		                                    (unsigned long long)(first + i));
		items[i].key.data = (uint8_t *)keys[i];
		ptrs[i] = &items[i];
	}
	assert_int_equal(write_items(c, module, ptrs, count), CSB_OK);
	free(items);
	free(ptrs);
	free(keys);
}

const Csb__ModuleStatus *h_status(csb_rpc_client *c, const char *module, Csb__PoolStatus **ps)
{
	Csb__StatusRequest sr = CSB__STATUS_REQUEST__INIT;

	*ps = NULL;
	assert_int_equal(csb_rpc_call_msg(c, "csb.Control/Status", &sr.base,
	                                  &csb__pool_status__descriptor, 10000,
	                                  (ProtobufCMessage **)ps, NULL),
	                 CSB_OK);
	for (size_t i = 0; i < (*ps)->n_backup_modules; i++)
		if (strcmp((*ps)->backup_modules[i]->identity, module) == 0)
			return (*ps)->backup_modules[i];
	fail_msg("module %s missing from status", module);
	return NULL;
}

csb_err h_sync(csb_rpc_client *c, const char *module, uint32_t timeout_ms, uint64_t *records,
               uint64_t *bytes)
{
	Csb__SyncRequest sr = CSB__SYNC_REQUEST__INIT;
	Csb__SyncReply *out = NULL;
	csb_err rv;

	sr.module = (char *)module;
	sr.timeout_ms = timeout_ms;
	rv = csb_rpc_call_msg(c, "csb.Control/SyncNow", &sr.base, &csb__sync_reply__descriptor,
	                      timeout_ms + 5000, (ProtobufCMessage **)&out, NULL);
	if (rv == CSB_OK) {
		assert_int_equal(out->n_modules, 1);
		if (records)
			*records = out->modules[0]->records;
		if (bytes)
			*bytes = out->modules[0]->bytes;
		protobuf_c_message_free_unpacked(&out->base, NULL);
	}
	return rv;
}

bool h_verify(csb_rpc_client *c, const char *module, uint64_t *primary, uint64_t *backup)
{
	Csb__VerifyRequest vr = CSB__VERIFY_REQUEST__INIT;
	Csb__VerifyReply *out = NULL;
	char err[CSB_RPC_ERROR_MAX] = "";
	bool equal;

	vr.module = (char *)module;
	if (csb_rpc_call_msg(c, "csb.Control/Verify", &vr.base, &csb__verify_reply__descriptor,
	                     120000, (ProtobufCMessage **)&out, err) != CSB_OK) {
		h_print_logs();
		fail_msg("verify failed: %s", err);
	}
	assert_int_equal(out->n_modules, 1);
	equal = out->modules[0]->equal;
	if (primary)
		*primary = out->modules[0]->primary_count;
	if (backup)
		*backup = out->modules[0]->backup_count;
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return equal;
}

bool h_wait_imported(csb_rpc_client *importer, const char *module, uint64_t seq,
                     uint32_t timeout_ms)
{
	uint64_t until = csb_mono_ms() + timeout_ms;

	do {
		Csb__PoolStatus *ps;
		const Csb__ModuleStatus *ms = h_status(importer, module, &ps);
		bool done = ms->imported_seq >= seq;

		protobuf_c_message_free_unpacked(&ps->base, NULL);
		if (done)
			return true;
		csb_sleep_ms(50);
	} while (csb_mono_ms() < until);
	return false;
}


csb_rpc_client *h_cluster_client(const char *dir, unsigned k)
{
	char path[H_PATH + 32], pool[32], crt[H_PATH + 32], key[H_PATH + 32], ca[H_PATH + 32];
	json_t *cl;
	csb_rpc_client *c = NULL;
	csb_rpc_client_opts o = {.server_name = pool, .tls = {crt, key, ca}};

	snprintf(path, sizeof(path), "%s/cluster.json", dir);
	assert_non_null(cl = json_load_file(path, 0, NULL));
	snprintf(pool, sizeof(pool), "pool%02u.csb.test", k);
	o.url = json_string_value(json_object_get(json_array_get(json_object_get(cl, "pools"), k - 1),
	                                          "agent"));
	snprintf(crt, sizeof(crt), "%s/pki/admin.crt", dir);
	snprintf(key, sizeof(key), "%s/pki/admin.key", dir);
	snprintf(ca, sizeof(ca), "%s/pki/ca.crt", dir);
	assert_int_equal(csb_rpc_client_open(&o, &c), CSB_OK);
	json_decref(cl);
	return c;
}
