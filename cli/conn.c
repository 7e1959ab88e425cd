/* The connection of a csb command: a local cluster's folder or explicit flags, the
 * coordinator's client with retries, agents' clients, and the error line. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "model/cms.h"
#include "cli/internal/cli.h"
#include "common/clock.h"
#include "common/retry.h"
#include "model/topology.h"
#include "proto/admin.pb-c.h"

#define READ_CHUNK (64u << 10) /* first buffer for a file of unknown size */

char *cli_read_file(const char *path, size_t max, size_t *len)
{
	size_t limit = max < SIZE_MAX - 1 ? max + 1 : max; /* one byte more tells over max */
	size_t cap = READ_CHUNK, n = 0, got;
	FILE *f = fopen(path, "rb");
	char *buf, *p;
	struct stat st;

	if (f == NULL)
		return NULL;
	/* A regular file's size is a good first guess; a pipe (/dev/stdin) tells its size only
	 * at its end, so the buffer grows as the bytes come. */
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && (uintmax_t)st.st_size < limit)
		cap = (size_t)st.st_size + 1;
	if (cap > limit)
		cap = limit;
	if ((buf = malloc(cap + 1)) == NULL)
		goto out_close;
	errno = 0;
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n < cap)
			continue;
		if (cap == limit)
			break;
		cap = cap > limit / 2 ? limit : cap * 2;
		if ((p = realloc(buf, cap + 1)) == NULL)
			goto out_free_buf;
		buf = p;
	}
	if (ferror(f)) {
		if (errno == 0)
			errno = EIO;
		goto out_free_buf;
	}
	if (n > max) {
		errno = EFBIG;
		goto out_free_buf;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
out_free_buf:
	free(buf);
out_close:
	fclose(f);
	return NULL;
}

int cli_exit_code(csb_err rv)
{
	switch (rv) {
	case CSB_OK: return CLI_OK;
	case CSB_EINVAL: return CLI_USAGE;
	case CSB_EDENIED: return CLI_DENIED;
	case CSB_ETIMEDOUT:
	case CSB_EUNREACH:
	case CSB_ENOTCONN:
	case CSB_ECLOSED: return CLI_UNREACHABLE;
	default: return CLI_FAILED;
	}
}

/* fmt and ap into msg, on one line whatever a server or a file name brought in. */
static void format_line(char *msg, size_t len, const char *fmt, va_list ap)
{
	vsnprintf(msg, len, fmt, ap);
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

int cli_fail(struct cli *c, csb_err rv, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	format_line(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "csb: %s: %s\n", c->a->cmdlet ? c->a->cmdlet : "csb", msg);
	return cli_exit_code(rv);
}

int cli_warn(struct cli *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	format_line(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	switch (c->a->warning_action) {
	case CSB_ACTION_SILENT:
		return CLI_OK;
	case CSB_ACTION_STOP:
		return cli_fail(c, CSB_EINTERNAL, "%s (stopped: -WarningAction Stop)", msg);
	default:
		fprintf(stderr, "WARNING: %s\n", msg);
		return CLI_OK;
	}
}

void cli_verbose(struct cli *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!c->a->verbose)
		return;
	va_start(ap, fmt);
	format_line(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "VERBOSE: %s\n", msg);
}

bool cli_confirm(struct cli *c, const char *fmt, ...)
{
	char line[64];
	va_list ap;
	size_t n;
	bool yes = false;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" [y/N] ", stderr);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) != NULL) {
		n = strcspn(line, "\r\n");
		line[n] = '\0';
		while (n > 0 && line[n - 1] == ' ')
			line[--n] = '\0';
		yes = strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
	}
	if (!yes)
		fprintf(stderr, "Not confirmed; nothing was done.\n");
	(void)c;
	return yes;
}

static bool file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Reads DIR/cluster.json and the principal's certificate under DIR/pki. */
static int connect_cluster(struct cli *c, const char *dir)
{
	char path[CLI_PATH + 32];
	const char *who = c->a->as ? c->a->as : NULL;
	json_error_t jerr;
	json_t *url;

	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	snprintf(path, sizeof(path), "%s/cluster.json", dir);
	if ((c->cluster = json_load_file(path, 0, &jerr)) == NULL)
		return cli_fail(c, CSB_EINVAL, "%s is not a csbackup cluster folder (%s)", dir,
		                jerr.text);
	url = json_object_get(json_object_get(c->cluster, "coordinator"), "url");
	if (!json_is_string(url))
		return cli_fail(c, CSB_EINVAL, "%s: coordinator.url is missing", path);
	snprintf(c->coord_url, sizeof(c->coord_url), "%s", json_string_value(url));
	if (c->a->coordinator_name == NULL &&
	    json_is_string(json_object_get(json_object_get(c->cluster, "coordinator"), "name")))
		snprintf(c->coord_name, sizeof(c->coord_name), "%s",
		         json_string_value(json_object_get(json_object_get(c->cluster, "coordinator"),
		                                           "name")));
	if (who == NULL)
		who = json_string_value(json_object_get(c->cluster, "admin"));
	if (who == NULL)
		who = "admin";
	snprintf(c->cert, sizeof(c->cert), "%s/pki/%s.crt", dir, who);
	snprintf(c->key, sizeof(c->key), "%s/pki/%s.key", dir, who);
	snprintf(c->ca, sizeof(c->ca), "%s/pki/ca.crt", dir);
	if (!file_exists(c->cert))
		return cli_fail(c, CSB_EINVAL, "no certificate for %s in %s/pki (csb cluster issue-cert)",
		                who, dir);
	cli_verbose(c, "cluster folder %s%s: coordinator %s, acting as %s (%s)", dir,
	            c->a->cluster_from_env ? " (CSB_CLUSTER)" : "", c->coord_url, who, c->cert);
	return CLI_OK;
}

int cli_connect(struct cli *c)
{
	const csb_args *a = c->a;

	snprintf(c->coord_name, sizeof(c->coord_name), "%s",
	         a->coordinator_name ? a->coordinator_name : CSB_COORDINATOR_NAME);
	if (a->coordinator != NULL) {
		if (!a->tls_cert || !a->tls_key || !a->tls_ca)
			return cli_fail(c, CSB_EINVAL, "--coordinator needs --cert, --key and --ca");
		snprintf(c->coord_url, sizeof(c->coord_url), "%s", a->coordinator);
		snprintf(c->cert, sizeof(c->cert), "%s", a->tls_cert);
		snprintf(c->key, sizeof(c->key), "%s", a->tls_key);
		snprintf(c->ca, sizeof(c->ca), "%s", a->tls_ca);
		if (a->cluster != NULL)
			snprintf(c->dir, sizeof(c->dir), "%s", a->cluster);
		return CLI_OK;
	}
	if (a->cluster == NULL)
		return cli_fail(c, CSB_EINVAL,
		                "no cluster: give --cluster DIR (or CSB_CLUSTER), or --coordinator URL "
		                "with --cert, --key and --ca");
	return connect_cluster(c, a->cluster);
}

static csb_err open_client(struct cli *c, const char *name, const char *url, csb_rpc_client **out)
{
	csb_rpc_client_opts o = {
		.url = url,
		.server_name = name,
		.tls = {c->cert, c->key, c->ca},
		.max_msg = 112u << 20,
	};

	return csb_rpc_client_open(&o, out);
}

/* The refusal "not active master: <fqdn> (epoch n) at <url>" names the cluster folder's
 * standby: cluster.json follows it (true). */
static bool follow_master(struct cli *c, const char *why)
{
	const char *s = strstr(why, "not active master: "), *pool = NULL, *sb;
	char fqdn[256];
	unsigned long long epoch;
	int at = 0;

	if (s == NULL || (sb = cli_cluster_standby(c, &pool)) == NULL || pool == NULL ||
	    sscanf(s + strlen("not active master: "), "%255s (epoch %llu) at %n", fqdn, &epoch,
	           &at) != 2 || at == 0 ||
	    strcmp(s + strlen("not active master: ") + at, sb) != 0 || strcasecmp(fqdn, pool) != 0)
		return false;
	cli_verbose(c, "the CMS master moved to %s (epoch %llu): following it", fqdn, epoch);
	return cli_cluster_master_moved(c, fqdn) == CLI_OK;
}

csb_err cli_admin(struct cli *c, const char *method, const ProtobufCMessage *req,
                  const ProtobufCMessageDescriptor *desc, uint32_t timeout_ms, bool retry,
                  ProtobufCMessage **out, char *err)
{
	csb_retry_policy pol = {retry ? 3 : 1, 500, 200, 0};
	char why[CSB_RPC_ERROR_MAX] = "";
	csb_retry r;
	csb_err rv;

	cli_verbose(c, "%s at the coordinator %s", method, c->coord_url);
	err[0] = '\0';
	if (c->coord == NULL &&
	    (rv = open_client(c, c->coord_name[0] ? c->coord_name : CSB_COORDINATOR_NAME,
	                      c->coord_url, &c->coord)) != CSB_OK) {
		snprintf(err, CSB_RPC_ERROR_MAX, "cannot use coordinator %.180s (%s)", c->coord_url,
		         csb_strerror(rv));
		return rv;
	}
	/* Only a request that was never sent is tried again (no connection came up within
	 * 3 s); one that was sent has its whole timeout and is never sent twice. */
	csb_retry_start(&r, &pol);
	do {
		rv = csb_rpc_call_msg(c->coord, method, req, desc, timeout_ms, out, why);
	} while (rv == CSB_ENOTCONN && retry && csb_retry_wait(&r));
	/* A local cluster whose CMS master moved without this folder knowing (a failover cut
	 * short and finished by the standby): the refusal names the new master; when it is
	 * the folder's standby, the folder follows it and the call (refused before it ran)
	 * goes there once. */
	if (rv == CSB_ENOTMASTER && follow_master(c, why)) {
		csb_rpc_client_close(c->coord);
		c->coord = NULL;
		if ((rv = open_client(c, c->coord_name[0] ? c->coord_name : CSB_COORDINATOR_NAME,
		                      c->coord_url, &c->coord)) == CSB_OK)
			rv = csb_rpc_call_msg(c->coord, method, req, desc, timeout_ms, out, why);
	}
	if (rv == CSB_ENOTCONN) /* why: "csb-coordinator at <url>: <reason>" */
		snprintf(err, CSB_RPC_ERROR_MAX, "the coordinator at %.180s: %s", c->coord_url,
		         strstr(why, ": ") ? strstr(why, ": ") + 2 : why);
	else if ((rv == CSB_ETIMEDOUT || rv == CSB_EUNREACH || rv == CSB_ECLOSED) && why[0] == '\0')
		snprintf(err, CSB_RPC_ERROR_MAX, "the coordinator at %.180s did not answer (%s)",
		         c->coord_url, csb_strerror(rv));
	else if (rv != CSB_OK)
		memcpy(err, why, CSB_RPC_ERROR_MAX);
	return rv;
}

csb_err cli_coordinator_call(struct cli *c, const char *url, const char *method,
                             const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
                             uint32_t timeout_ms, ProtobufCMessage **out, char *err)
{
	csb_rpc_client *cli;
	char why[CSB_RPC_ERROR_MAX] = "";
	csb_err rv;

	err[0] = '\0';
	if (url == NULL)
		return CSB_EINVAL;
	if ((rv = open_client(c, c->coord_name[0] ? c->coord_name : CSB_COORDINATOR_NAME, url,
	                      &cli)) != CSB_OK) {
		snprintf(err, CSB_RPC_ERROR_MAX, "cannot use coordinator %.180s (%s)", url,
		         csb_strerror(rv));
		return rv;
	}
	rv = csb_rpc_call_msg(cli, method, req, desc, timeout_ms, out, why);
	csb_rpc_client_close(cli);
	if (rv == CSB_ENOTCONN)
		snprintf(err, CSB_RPC_ERROR_MAX, "the coordinator at %.120s: %.100s", url,
		         strstr(why, ": ") ? strstr(why, ": ") + 2 : why);
	else if ((rv == CSB_ETIMEDOUT || rv == CSB_EUNREACH || rv == CSB_ECLOSED) && why[0] == '\0')
		snprintf(err, CSB_RPC_ERROR_MAX, "the coordinator at %.180s did not answer (%s)", url,
		         csb_strerror(rv));
	else if (rv != CSB_OK)
		memcpy(err, why, CSB_RPC_ERROR_MAX);
	return rv;
}

/* The agent endpoint of fqdn: cluster.json first, then the published topology. */
static csb_err agent_url(struct cli *c, const char *fqdn, char *url, size_t len, char *err)
{
	Csb__Empty e = CSB__EMPTY__INIT;
	Csb__JsonDoc *doc = NULL;
	const csb_topo_pool *tp;
	char why[CSB_RPC_ERROR_MAX];
	csb_topology *t;
	json_t *pools, *p;
	size_t i;
	csb_err rv;

	pools = json_object_get(c->cluster, "pools");
	json_array_foreach(pools, i, p) {
		if (strcasecmp(json_string_value(json_object_get(p, "fqdn")), fqdn) == 0) {
			snprintf(url, len, "%s", json_string_value(json_object_get(p, "agent")));
			return CSB_OK;
		}
	}
	if ((rv = cli_admin(c, "csb.Admin/GetTopology", &e.base, &csb__json_doc__descriptor, 5000,
	                    true, (ProtobufCMessage **)&doc, err)) != CSB_OK)
		return rv;
	rv = csb_topology_parse(doc->json, strlen(doc->json), &t, why, sizeof(why));
	protobuf_c_message_free_unpacked(&doc->base, NULL);
	if (rv != CSB_OK) {
		snprintf(err, CSB_RPC_ERROR_MAX, "the published topology is unreadable: %.200s", why);
		return CSB_EPROTO;
	}
	if ((tp = csb_topology_pool(t, fqdn)) != NULL) {
		snprintf(url, len, "%s", tp->agent);
	} else {
		snprintf(err, CSB_RPC_ERROR_MAX, "%s is not a pool of the published topology", fqdn);
		rv = CSB_ENOTFOUND;
	}
	csb_topology_free(t);
	return rv;
}

csb_err cli_agent(struct cli *c, const char *fqdn, csb_rpc_client **out, char *err)
{
	char url[256];
	csb_err rv;

	for (unsigned i = 0; i < c->n_agents; i++)
		if (strcasecmp(c->agent_names[i], fqdn) == 0) {
			*out = c->agents[i];
			return CSB_OK;
		}
	if (c->n_agents == 64)
		return CSB_EBUSY;
	if ((rv = agent_url(c, fqdn, url, sizeof(url), err)) != CSB_OK)
		return rv;
	if ((rv = open_client(c, fqdn, url, &c->agents[c->n_agents])) != CSB_OK) {
		snprintf(err, CSB_RPC_ERROR_MAX, "cannot use agent %.60s at %.120s (%s)", fqdn, url,
		         csb_strerror(rv));
		return rv;
	}
	cli_verbose(c, "the agent of %s is at %s", fqdn, url);
	snprintf(c->agent_names[c->n_agents], sizeof(c->agent_names[0]), "%s", fqdn);
	*out = c->agents[c->n_agents++];
	return CSB_OK;
}

const char *cli_local_pool(struct cli *c)
{
	json_t *first = json_array_get(json_object_get(c->cluster, "pools"), 0);

	return c->a->pool_fqdn[0] ? c->a->pool_fqdn
	                          : json_string_value(json_object_get(first, "fqdn"));
}

csb_err cli_local_agent(struct cli *c, csb_rpc_client **out, char *err)
{
	const char *fqdn = cli_local_pool(c);

	if (fqdn == NULL) {
		snprintf(err, CSB_RPC_ERROR_MAX, "-LocalStore needs a cluster folder with a pool");
		return CSB_EINVAL;
	}
	return cli_agent(c, fqdn, out, err);
}

void cli_close(struct cli *c)
{
	csb_rpc_client_close(c->coord);
	for (unsigned i = 0; i < c->n_agents; i++)
		csb_rpc_client_close(c->agents[i]);
	json_decref(c->cluster);
}

void cli_print_json(const json_t *v, bool indent)
{
	char *s = json_dumps(v, (indent ? JSON_INDENT(2) : JSON_COMPACT) | JSON_PRESERVE_ORDER);

	if (s != NULL) {
		puts(s);
		free(s);
	}
}
