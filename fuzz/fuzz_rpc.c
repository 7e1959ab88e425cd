/* The RPC request path of csb-agent: a pool (agent/: the Data, Control and replica methods,
 * node/: the Sync service) runs in this process on loopback with mutual TLS, and every
 * input is one call through a real client: the first byte picks the caller (the
 * administrator, the partner pool's agent, or a principal of the CA with no rights), the
 * bytes up to the first NUL name the method (csb.Data/Write, csb.Sync/Pull, … or anything
 * else), the rest is the request body as the server receives it. The server decodes, authorizes and runs the handler on its own threads;
 * a memory error there fails this process. Whatever becomes of a call, the pool must still
 * answer its administrator afterwards. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/internal/pool.h"
#include "common/certs.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/port.h"
#include "fuzz/fuzz.h"
#include "proto/status.pb-c.h"

#define POOL "pool01.csb.test"
#define PARTNER "pool02.csb.test"
#define CALL_MS 2000
#define CALLERS 3

static struct pool *pool;
static csb_rpc_client *clients[CALLERS]; /* admin, partner, stranger */

static void issue(const char *dir, const char *cn, char *crt, char *key)
{
	char ca[600], cakey[600];

	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	snprintf(cakey, sizeof(cakey), "%s/ca.key", dir);
	snprintf(crt, 600, "%s/%s.crt", dir, cn);
	snprintf(key, 600, "%s/%s.key", dir, cn);
	if (csb_certs_issue(ca, cakey, cn, crt, key) != CSB_OK)
		abort();
}

static csb_rpc_client *client(const char *dir, const char *cn, const char *url)
{
	static char crt[CALLERS][600], key[CALLERS][600], ca[600];
	static int next;
	csb_rpc_client_opts o = {.url = url, .server_name = POOL, .max_msg = 112u << 20};
	csb_rpc_client *c;
	int i = next++;

	issue(dir, cn, crt[i], key[i]);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	o.tls = (csb_tls_files){crt[i], key[i], ca};
	if (csb_rpc_client_open(&o, &c) != CSB_OK)
		abort();
	return c;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char state[600], url[64], partner[128], crt[600], key[600], ca[600], cakey[600];
	const char *dir = fuzz_tmpdir("rpc");
	csb_pool_opts po = {.node = {.role = CSB_NODE_POOL, .cfg = CSB_NODE_CONFIG_DEFAULT}};

	(void)argc;
	(void)argv;
	csb_log_set_level(CSB_LOG_ERROR);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	snprintf(cakey, sizeof(cakey), "%s/ca.key", dir);
	if (csb_certs_make_ca(ca, cakey, "fuzz CA") != CSB_OK)
		abort();
	issue(dir, POOL, crt, key);
	snprintf(state, sizeof(state), "%s/state", dir);
	mkdir(state, 0700);
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", csb_port_pick());
	/* A partner that is nowhere: calls that reach out to it fail fast. */
	snprintf(partner, sizeof(partner), PARTNER "=tls+tcp://127.0.0.1:1");
	po.node.name = POOL;
	po.node.state_dir = state;
	po.node.listen_url = url;
	po.node.tls = (csb_tls_files){crt, key, ca};
	po.node.cfg.long_poll_ms = 50;
	po.partner = partner;
	po.admins[po.n_admins++] = "admin";
	if (csb_pool_start(&po, &pool) != CSB_OK)
		abort();
	clients[0] = client(dir, "admin", url);
	clients[1] = client(dir, PARTNER, url);
	clients[2] = client(dir, "stranger", url);
	return 0;
}

static csb_err status(void)
{
	Csb__StatusRequest sr = CSB__STATUS_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	csb_err rv = csb_rpc_call_msg(clients[0], "csb.Control/Status", &sr.base,
	                              &csb__pool_status__descriptor, 10000, &out, NULL);

	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	return rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CSB_RPC_ERROR_MAX], method[160];
	const uint8_t *nul, *body;
	uint8_t *reply = NULL;
	size_t reply_len = 0, mlen;
	csb_rpc_client *c;
	csb_err rv;

	if (size < 2)
		return 0;
	c = clients[data[0] % CALLERS];
	nul = memchr(data + 1, '\0', size - 1);
	mlen = nul != NULL ? (size_t)(nul - (data + 1)) : size - 1;
	if (mlen >= sizeof(method))
		mlen = sizeof(method) - 1;
	memcpy(method, data + 1, mlen);
	method[mlen] = '\0';
	body = nul != NULL ? nul + 1 : data + size;
	rv = csb_rpc_call(c, method, body < data + size ? body : NULL, (size_t)(data + size - body),
	                  CALL_MS, &reply, &reply_len, err);
	free(reply);
	FUZZ_CHECK((unsigned)rv < CSB_ERR_COUNT);
	/* Whatever became of this call (a status, or a connection the server dropped), the
	 * pool goes on serving its administrator. */
	if (rv == CSB_EUNREACH || rv == CSB_ETIMEDOUT || rv == CSB_ENOTCONN || rv == CSB_EPROTO)
		FUZZ_CHECK(status() == CSB_OK);
	return 0;
}
