/* csb-agent: the Backup Service of one pool (SPEC.md §6). Parses flags, starts the agent,
 * writes its listening URL to <state-dir>/agent.url for launchers, and stops cleanly on
 * SIGTERM or SIGINT. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "agent/internal/pool.h"
#include "common/conf.h"
#include "common/deadline.h"
#include "common/certs.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/version.h"

/* Under `csb cluster down`'s 10 s grace: a stop that hangs anyway ends here instead. */
#define STOP_DEADLINE_MS 8000

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: csb-agent [--config FILE] --pool-fqdn F --state-dir DIR --coordinator URL\n"
	        "                 --listen URL\n"
	        "                 [--map-size BYTES] --tls-cert F --tls-key F --tls-ca F\n"
	        "                 [--partner FQDN=URL] [--admin PRINCIPAL]...\n"
	        "                 [--coordinator-name CN]   (default csb-coordinator)\n"
	        "       csb-agent --version | --help\n"
	        "  --config FILE: one flag a line, \"name = value\"; flags given here win\n"
	        "  tuning (tests, benchmarks): --max-batch-records N --max-batch-bytes N\n"
	        "                 --chunk-bytes N --long-poll-ms N --sync-interval T\n");
}

enum {
	OPT_POOL = 1, OPT_DIR, OPT_COORD, OPT_LISTEN, OPT_MAP, OPT_CERT, OPT_KEY, OPT_CA,
	OPT_PARTNER, OPT_ADMIN, OPT_MAXREC, OPT_MAXBYTES, OPT_CHUNK, OPT_POLL, OPT_INTERVAL,
	OPT_HELP, OPT_VERSION, OPT_COORD_NAME,
};

static const struct option options[] = {
	{"pool-fqdn", required_argument, NULL, OPT_POOL},
	{"state-dir", required_argument, NULL, OPT_DIR},
	{"coordinator", required_argument, NULL, OPT_COORD},
	{"coordinator-name", required_argument, NULL, OPT_COORD_NAME},
	{"listen", required_argument, NULL, OPT_LISTEN},
	{"map-size", required_argument, NULL, OPT_MAP},
	{"tls-cert", required_argument, NULL, OPT_CERT},
	{"tls-key", required_argument, NULL, OPT_KEY},
	{"tls-ca", required_argument, NULL, OPT_CA},
	{"partner", required_argument, NULL, OPT_PARTNER},
	{"admin", required_argument, NULL, OPT_ADMIN},
	{"max-batch-records", required_argument, NULL, OPT_MAXREC},
	{"max-batch-bytes", required_argument, NULL, OPT_MAXBYTES},
	{"chunk-bytes", required_argument, NULL, OPT_CHUNK},
	{"long-poll-ms", required_argument, NULL, OPT_POLL},
	{"sync-interval", required_argument, NULL, OPT_INTERVAL},
	{"help", no_argument, NULL, OPT_HELP},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

static int bad(const char *what, const char *value)
{
	fprintf(stderr, "csb-agent: invalid %s: %s\n", what, value);
	return 2;
}

static int num(const char *flag, const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
	if (csb_u64_parse(v, hi, out) != CSB_OK || *out < lo)
		return bad(flag, v);
	return 0;
}

/* Returns 0, or the exit status for a usage error (2), --help (-1) or --version (-2). */
static int parse_flags(int argc, char **argv, csb_pool_opts *po)
{
	csb_node_opts *o = &po->node;
	char fq[CSB_FQDN_MAX + 1], err[80];
	uint64_t v;
	int c, rc = 0;

	while (rc == 0 && (c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case OPT_POOL:
			if (csb_fqdn_parse(optarg, fq, err, sizeof(err)) != CSB_OK)
				return bad("--pool-fqdn", err);
			o->name = strdup(fq);
			break;
		case OPT_DIR: o->state_dir = optarg; break;
		case OPT_COORD: o->coordinator_url = optarg; break;
		case OPT_COORD_NAME: o->coordinator_name = optarg; break;
		case OPT_LISTEN: o->listen_url = optarg; break;
		case OPT_MAP: rc = num("--map-size", optarg, 1 << 20, UINT64_MAX, &o->map_size); break;
		case OPT_CERT: o->tls.cert = optarg; break;
		case OPT_KEY: o->tls.key = optarg; break;
		case OPT_CA: o->tls.ca = optarg; break;
		case OPT_PARTNER: po->partner = optarg; break;
		case OPT_ADMIN:
			if (po->n_admins == POOL_ADMINS_MAX)
				return bad("--admin", "at most 8");
			po->admins[po->n_admins++] = optarg;
			break;
		case OPT_MAXREC:
			rc = num("--max-batch-records", optarg, 1, 1000000, &v);
			o->cfg.max_records = (uint32_t)v;
			break;
		case OPT_MAXBYTES:
			rc = num("--max-batch-bytes", optarg, 1024, 64u << 20, &v);
			o->cfg.max_bytes = (uint32_t)v;
			break;
		case OPT_CHUNK:
			rc = num("--chunk-bytes", optarg, 1024, 64u << 20, &v);
			o->cfg.chunk_bytes = (uint32_t)v;
			break;
		case OPT_POLL:
			rc = num("--long-poll-ms", optarg, 0, 60000, &v);
			o->cfg.long_poll_ms = (uint32_t)v;
			break;
		case OPT_INTERVAL:
			if (csb_duration_parse(optarg, &o->cfg.sync_interval_ms) != CSB_OK)
				return bad("--sync-interval", optarg);
			break;
		case OPT_HELP: return -1;
		case OPT_VERSION: return -2;
		default: return 2;
		}
	}
	if (rc != 0)
		return rc;
	if (optind < argc)
		return bad("argument", argv[optind]);
	if (!o->name || !o->state_dir || !o->listen_url || !o->tls.cert || !o->tls.key ||
	    !o->tls.ca || (!o->coordinator_url && !po->partner)) {
		fprintf(stderr, "csb-agent: missing a required flag\n");
		usage(stderr);
		return 2;
	}
	return 0;
}

/* The certificate must name this pool: its partner and the coordinator know the agent by
 * the certificate's CN, so a different one would only show later as refused calls. */
static int check_certificate(const csb_node_opts *o)
{
	csb_cert_info ci;
	csb_err rv;

	if ((rv = csb_certs_describe(o->tls.cert, &ci)) != CSB_OK) {
		fprintf(stderr, "csb-agent: cannot read the certificate %s: %s\n", o->tls.cert,
		        csb_strerror(rv));
		return 2;
	}
	if (strcasecmp(ci.subject, o->name) != 0) {
		fprintf(stderr, "csb-agent: the certificate %s is issued to %s, not to %s (--pool-fqdn); "
		        "its partner and the coordinator would refuse it\n", o->tls.cert, ci.subject,
		        o->name);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	csb_pool_opts po = {.node = {.role = CSB_NODE_POOL, .cfg = CSB_NODE_CONFIG_DEFAULT}};
	csb_node_opts *o = &po.node;
	struct pool *p;
	sigset_t set;
	char **av, err[512];
	int ac, rc, sig;

	if (csb_conf_argv(argc, argv, &ac, &av, err, sizeof(err)) != CSB_OK) {
		fprintf(stderr, "csb-agent: %s\n", err);
		return 2;
	}
	if ((rc = parse_flags(ac, av, &po)) != 0) {
		free(av);
		if (rc == -1)
			usage(stdout);
		else if (rc == -2)
			printf("csb-agent %s\n", CSB_VERSION);
		return rc < 0 ? 0 : rc;
	}
	/* Signals go to the main thread only: every other thread inherits this mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	csb_info("agent", "starting version=%s pool=%s", CSB_VERSION, o->name);
	if (csb_conf_state_dir(o->state_dir, err, sizeof(err)) != CSB_OK) {
		csb_error("agent", "%s", err);
		rc = 1;
		goto out_free;
	}
	if ((rc = check_certificate(o)) != 0)
		goto out_free;
	if (csb_pool_start(&po, &p) != CSB_OK) {
		rc = 1;
		goto out_free;
	}
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/agent.url", o->state_dir);
		if (csb_node_url_file(p->node, path) != CSB_OK)
			csb_warn("agent", "cannot write %s", path);
	}
	sd_notifyf(0, "READY=1\nSTATUS=pool %s serving %s", o->name, o->listen_url);
	sigwait(&set, &sig);
	sd_notify(0, "STOPPING=1");
	csb_info("agent", "stopping pool=%s signal=%d", o->name, sig);
	csb_exit_deadline("agent", STOP_DEADLINE_MS);
	csb_pool_exit(p);
	rc = 0;
out_free:
	free((char *)o->name);
	free(av);
	return rc;
}
