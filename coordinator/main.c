/* csb-coordinator: topology, backup relationships, configuration, RBAC and pool states of
 * a deployment (SPEC.md §6). Parses flags, starts, writes its listening URL to
 * <state-dir>/coordinator.url, and stops cleanly on SIGTERM or SIGINT. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "common/certs.h"
#include "common/conf.h"
#include "common/deadline.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/version.h"
#include "coordinator/internal/coord.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: csb-coordinator [--config FILE] --state-dir DIR --listen URL [--http HOST:PORT]\n"
	           "                       --tls-cert F --tls-key F --tls-ca F\n"
	           "                       [--admin-principal NAME] [--map-size BYTES] [--name CN]\n"
	           "                       [--pool-fqdn F --agent URL [--standby]] [--advertise-url URL]\n"
	           "       csb-coordinator --version | --help\n"
	           "  --config FILE: one flag a line, \"name = value\"; flags given here win\n"
	           "  --name CN: the coordinator's principal, its certificate's CN (default "
	           "csb-coordinator);\n             agents dial it by this name (their --coordinator-name)\n"
	           "  --pool-fqdn F, --agent URL: the pool whose host runs this coordinator and that "
	           "pool's agent;\n             needed to take the CMS over from the agent's replica "
	           "(Invoke-CsManagementServerFailover)\n"
	           "  --standby: start as the standby (unless the CMS names this coordinator the "
	           "active master)\n"
	           "  --advertise-url URL: where agents and csb reach this coordinator (default "
	           "--listen)\n");
}

enum { OPT_DIR = 1, OPT_LISTEN, OPT_HTTP, OPT_CERT, OPT_KEY, OPT_CA, OPT_ADMIN, OPT_MAP, OPT_HELP,
       OPT_VERSION, OPT_NAME, OPT_POOL, OPT_AGENT, OPT_STANDBY, OPT_ADVERTISE };

static const struct option options[] = {
	{"state-dir", required_argument, NULL, OPT_DIR},
	{"listen", required_argument, NULL, OPT_LISTEN},
	{"http", required_argument, NULL, OPT_HTTP},
	{"tls-cert", required_argument, NULL, OPT_CERT},
	{"tls-key", required_argument, NULL, OPT_KEY},
	{"tls-ca", required_argument, NULL, OPT_CA},
	{"admin-principal", required_argument, NULL, OPT_ADMIN},
	{"map-size", required_argument, NULL, OPT_MAP},
	{"name", required_argument, NULL, OPT_NAME},
	{"pool-fqdn", required_argument, NULL, OPT_POOL},
	{"agent", required_argument, NULL, OPT_AGENT},
	{"standby", no_argument, NULL, OPT_STANDBY},
	{"advertise-url", required_argument, NULL, OPT_ADVERTISE},
	{"help", no_argument, NULL, OPT_HELP},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

struct flags {
	const char *state_dir, *listen, *http;
	uint64_t map_size;
};

static int parse_flags(int argc, char **argv, struct coord *c, struct flags *f)
{
	char fq[256], why[256];
	int opt;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_DIR: f->state_dir = optarg; break;
		case OPT_NAME: c->name = optarg; break;
		case OPT_POOL:
			if (csb_fqdn_parse(optarg, fq, why, sizeof(why)) != CSB_OK) {
				fprintf(stderr, "csb-coordinator: invalid --pool-fqdn: %s\n", why);
				return 2;
			}
			c->pool_fqdn = optarg;
			break;
		case OPT_AGENT: c->agent_url = optarg; break;
		case OPT_STANDBY: c->standby = true; break;
		case OPT_ADVERTISE:
			if (strlen(optarg) >= sizeof(c->advertise) || strstr(optarg, "://") == NULL) {
				fprintf(stderr, "csb-coordinator: invalid --advertise-url: %s\n", optarg);
				return 2;
			}
			snprintf(c->advertise, sizeof(c->advertise), "%s", optarg);
			break;
		case OPT_LISTEN: f->listen = optarg; break;
		case OPT_HTTP: f->http = optarg; break;
		case OPT_CERT: c->tls.cert = optarg; break;
		case OPT_KEY: c->tls.key = optarg; break;
		case OPT_CA: c->tls.ca = optarg; break;
		case OPT_ADMIN:
			if (strlen(optarg) == 0 || strlen(optarg) >= sizeof(c->admin)) {
				fprintf(stderr, "csb-coordinator: invalid --admin-principal: %s\n", optarg);
				return 2;
			}
			snprintf(c->admin, sizeof(c->admin), "%s", optarg);
			break;
		case OPT_MAP:
			if (csb_u64_parse(optarg, UINT64_MAX, &f->map_size) != CSB_OK) {
				fprintf(stderr, "csb-coordinator: invalid --map-size: %s\n", optarg);
				return 2;
			}
			break;
		case OPT_HELP: usage(stdout); return -1;
		case OPT_VERSION: printf("csb-coordinator %s\n", CSB_VERSION); return -1;
		default: usage(stderr); return 2;
		}
	}
	if ((c->agent_url != NULL) != (c->pool_fqdn != NULL) || (c->standby && !c->agent_url)) {
		fprintf(stderr, "csb-coordinator: --pool-fqdn and --agent go together, and --standby "
		        "needs them\n");
		return 2;
	}
	if (optind < argc || !f->state_dir || !f->listen || !c->tls.cert || !c->tls.key ||
	    !c->tls.ca) {
		fprintf(stderr, "csb-coordinator: missing a required flag\n");
		usage(stderr);
		return 2;
	}
	return 0;
}

/* The certificate must name this coordinator (--name): agents and csb dial it by that name,
 * so another would only show later as handshakes that fail everywhere. */
static int check_certificate(const struct coord *c)
{
	const char *name = c->name ? c->name : CSB_COORDINATOR_NAME;
	csb_cert_info ci;
	csb_err rv;

	if ((rv = csb_certs_describe(c->tls.cert, &ci)) != CSB_OK) {
		fprintf(stderr, "csb-coordinator: cannot read the certificate %s: %s\n", c->tls.cert,
		        csb_strerror(rv));
		return 2;
	}
	if (strcmp(ci.subject, name) != 0) {
		fprintf(stderr, "csb-coordinator: the certificate %s is issued to %s, not to %s "
		        "(--name); agents and csb would refuse it\n", c->tls.cert, ci.subject, name);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct coord c = {.admin = "admin"};
	struct flags f = {0};
	sigset_t set;
	char **av, err[512];
	int ac, rc, sig;

	if (csb_conf_argv(argc, argv, &ac, &av, err, sizeof(err)) != CSB_OK) {
		fprintf(stderr, "csb-coordinator: %s\n", err);
		return 2;
	}
	if ((rc = parse_flags(ac, av, &c, &f)) != 0 || (rc = check_certificate(&c)) != 0) {
		free(av);
		return rc < 0 ? 0 : rc;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (csb_conf_state_dir(f.state_dir, err, sizeof(err)) != CSB_OK) {
		csb_error("coordinator", "%s", err);
		free(av);
		return 1;
	}
	if (coord__start(&c, f.state_dir, f.listen, f.map_size) != CSB_OK)
		return 1;
	if (coord__web_start(&c, f.http) != CSB_OK) {
		coord__web_stop(&c);
		coord__stop(&c);
		return 1;
	}
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/coordinator.url", f.state_dir);
		if (csb_node_url_file(c.node, path) != CSB_OK)
			csb_warn("coordinator", "cannot write %s", path);
	}
	csb_info("coordinator", "started version=%s listen=%s http=%s admin=%s", CSB_VERSION,
	         f.listen, f.http ? f.http : "-", c.admin);
	sd_notifyf(0, "READY=1\nSTATUS=serving %s", f.listen); /* systemd's Type=notify */
	sigwait(&set, &sig);
	sd_notify(0, "STOPPING=1");
	csb_info("coordinator", "stopping signal=%d", sig);
	csb_exit_deadline("coordinator", 8000); /* under cluster down's 10 s grace */
	coord__exit(&c);
	free(av);
	return 0;
}
