/* `csb pki init-ca|issue|show`: the deployment's certificates without `csb cluster` (issue
 * 11): one CA in a folder, a certificate per principal signed by it (a pool's FQDN for its
 * agent, csb-coordinator for the coordinator, a name for an administrator), and what a
 * certificate is good for as csbackup reads it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/internal/cli.h"
#include "common/certs.h"
#include "common/parse.h"
#include "model/cms.h"

static int paths(struct cli *c, const char *name, char *crt, char *key)
{
	if ((size_t)snprintf(crt, CLI_PATH, "%s/%s.crt", c->a->dir, name) >= CLI_PATH ||
	    (size_t)snprintf(key, CLI_PATH, "%s/%s.key", c->a->dir, name) >= CLI_PATH)
		return cli_fail(c, CSB_EINVAL, "--dir %s is too long", c->a->dir);
	return CLI_OK;
}

static int init_ca(struct cli *c)
{
	char crt[CLI_PATH], key[CLI_PATH];
	csb_err rv;
	int rc;

	if ((rc = paths(c, "ca", crt, key)) != CLI_OK)
		return rc;
	if (mkdir(c->a->dir, 0700) != 0 && errno != EEXIST)
		return cli_fail(c, CSB_EIO, "cannot create %s: %s", c->a->dir, strerror(errno));
	if (access(crt, F_OK) == 0 || access(key, F_OK) == 0)
		return cli_fail(c, CSB_EEXIST, "%s already holds a CA (ca.crt, ca.key); a deployment "
		                "has one: remove them to start over", c->a->dir);
	if ((rv = csb_certs_make_ca(crt, key, "csbackup CA")) != CSB_OK)
		return cli_fail(c, rv, "cannot create the CA in %s: %s", c->a->dir, csb_strerror(rv));
	if (!c->a->json)
		printf("%s\n%s\n", crt, key);
	return CLI_OK;
}

static int issue(struct cli *c)
{
	char ca[CLI_PATH], ca_key[CLI_PATH], crt[CLI_PATH], key[CLI_PATH];
	csb_err rv;
	int rc;

	if ((rc = paths(c, "ca", ca, ca_key)) != CLI_OK ||
	    (rc = paths(c, c->a->principal, crt, key)) != CLI_OK)
		return rc;
	if (strcmp(c->a->principal, "ca") == 0)
		return cli_fail(c, CSB_EINVAL, "'ca' names the CA's own files: choose another principal");
	if (access(ca, F_OK) != 0 || access(ca_key, F_OK) != 0)
		return cli_fail(c, CSB_ENOTFOUND, "no CA in %s (csb pki init-ca --dir %s)", c->a->dir,
		                c->a->dir);
	if ((rv = csb_certs_issue(ca, ca_key, c->a->principal, crt, key)) != CSB_OK)
		return cli_fail(c, rv, "cannot issue a certificate for %s: %s", c->a->principal,
		                csb_strerror(rv));
	if (!c->a->json)
		printf("%s\n%s\n", crt, key);
	return CLI_OK;
}

/* What csbackup takes a certificate with this subject for. */
static const char *good_for(const csb_cert_info *ci, char *out, size_t len)
{
	char fq[CSB_FQDN_MAX + 1], err[80];

	if (ci->is_ca)
		snprintf(out, len, "signing the deployment's certificates (the CA every node "
		                   "and administrator must chain to)");
	else if (strcmp(ci->subject, CSB_COORDINATOR_NAME) == 0)
		snprintf(out, len, "the coordinator (agents and csb expect this name when they dial it)");
	else if (strchr(ci->subject, '.') != NULL &&
	         csb_fqdn_parse(ci->subject, fq, err, sizeof(err)) == CSB_OK)
		snprintf(out, len, "the agent of pool %s, when the topology lists it (or a principal "
		                   "of that name)", ci->subject);
	else
		snprintf(out, len, "the principal %s: an administrator or operator, whose groups "
		                   "come from the topology", ci->subject);
	return out;
}

static int show(struct cli *c)
{
	csb_cert_info ci;
	char why[200], names[4 * (CSB_CERTS_CN_MAX + 2)] = "";
	const char *use;
	csb_err rv;

	if ((rv = csb_certs_describe(c->a->file_name, &ci)) != CSB_OK)
		return cli_fail(c, rv, "%s: %s", c->a->file_name,
		                rv == CSB_ENOTFOUND ? "no such file" : "not a PEM certificate");
	use = ci.server_auth && ci.client_auth ? "TLS server and client"
	      : ci.server_auth                 ? "TLS server only"
	      : ci.client_auth                 ? "TLS client only"
	                                       : "no TLS use";
	if (ci.is_ca)
		use = "certificate authority";
	for (size_t i = 0; i < ci.n_dns; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
		         ci.dns[i]);
	good_for(&ci, why, sizeof(why));
	if (c->a->json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "Principal", ci.subject,
		                      "Issuer", ci.issuer, "NotBefore", ci.not_before, "NotAfter",
		                      ci.not_after, "IsCa", ci.is_ca, "Use", use, "GoodFor", why),
		       *dns = json_array();

		for (size_t i = 0; i < ci.n_dns; i++)
			json_array_append_new(dns, json_string(ci.dns[i]));
		json_object_set_new(o, "DnsNames", dns);
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
		return CLI_OK;
	}
	printf("Principal : %s\nIssuer    : %s\nValid     : %s to %s\nDNS names : %s\n"
	       "Use       : %s\nGood for  : %s\n",
	       ci.subject, ci.issuer, ci.not_before, ci.not_after, names[0] ? names : "(none)",
	       use, why);
	return CLI_OK;
}

int cli_pki(struct cli *c)
{
	switch (c->a->cmd) {
	case CSB_CMD_PKI_INIT_CA: return init_ca(c);
	case CSB_CMD_PKI_ISSUE: return issue(c);
	case CSB_CMD_PKI_SHOW: return show(c);
	default: return cli_fail(c, CSB_EINTERNAL, "not a pki command");
	}
}
