/* csb: the administrator's command line (SPEC.md §2–§5). Parses the line (args.c), connects
 * (conn.c) and runs the command; exit codes as SPEC.md §3. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/internal/cli.h"
#include "common/deadline.h"
#include "common/version.h"

#define CLOSE_WAIT_MS 3000 /* the command is done: closing its connections takes no longer */

static bool needs_connection(csb_cmd cmd)
{
	return cmd < CSB_CMD_CLUSTER_UP;
}

static int run(struct cli *c)
{
	switch (c->a->cmd) {
	case CSB_CMD_CLUSTER_UP:
	case CSB_CMD_CLUSTER_DOWN:
	case CSB_CMD_CLUSTER_KILL:
	case CSB_CMD_CLUSTER_START:
	case CSB_CMD_CLUSTER_ISSUE_CERT:
		return cli_cluster(c);
	case CSB_CMD_PKI_INIT_CA:
	case CSB_CMD_PKI_ISSUE:
	case CSB_CMD_PKI_SHOW:
		return cli_pki(c);
	case CSB_CMD_PUBLISH_TOPOLOGY:
	case CSB_CMD_TOPOLOGY:
	case CSB_CMD_GET_CONFIG:
	case CSB_CMD_SET_CONFIG:
	case CSB_CMD_RESET_CONFIG:
	case CSB_CMD_RELATIONSHIP:
	case CSB_CMD_EXPORT_CONFIG:
	case CSB_CMD_IMPORT_CONFIG:
	case CSB_CMD_CMS_STATUS:
	case CSB_CMD_CMS_REPLICATE:
		return cli_config_cmd(c);
	case CSB_CMD_DATA_PUT:
	case CSB_CMD_DATA_GET:
	case CSB_CMD_DATA_DELETE:
	case CSB_CMD_DATA_LIST:
	case CSB_CMD_DATA_LOAD:
	case CSB_CMD_DATA_ORPHANS:
		return cli_data_cmd(c);
	default:
		return cli_pool_cmd(c);
	}
}

/* Closes the command's connections. Its work is done and said: nng 1.5.2's nng_close()
 * can hang for good (common/deadline.h), so the process ends with rc after CLOSE_WAIT_MS
 * whatever it waits for (a `cluster start` whose node answered once sat there until the
 * test's deadline). */
static void close_within(struct cli *c, int rc)
{
	fflush(stdout);
	fflush(stderr);
	csb_exit_deadline_code(NULL, CLOSE_WAIT_MS, rc);
	cli_close(c);
}

int main(int argc, char **argv)
{
	static csb_args a;
	struct cli c = {.a = &a};
	char err[1024];
	int rc;

	signal(SIGPIPE, SIG_IGN);
	/* contrib/csb.bash: what may come next on a line being typed. */
	if (argc >= 2 && strcmp(argv[1], "__complete") == 0) {
		csb_args_complete(argc - 2, argv + 2, stdout);
		return CLI_OK;
	}
	if (csb_args_parse(argc, argv, &a, err, sizeof(err)) != CSB_OK) {
		fprintf(stderr, "%s\n", err);
		return CLI_USAGE;
	}
	if (a.version) {
		printf("csb %s\n", CSB_VERSION);
		return CLI_OK;
	}
	if (a.help || a.cmd == CSB_CMD_NONE) {
		csb_args_usage(stdout, &a);
		return a.cmd == CSB_CMD_NONE && !a.help ? CLI_USAGE : CLI_OK;
	}
	if (needs_connection(a.cmd) && (rc = cli_connect(&c)) != CLI_OK) {
		close_within(&c, rc);
		return rc;
	}
	rc = run(&c);
	close_within(&c, rc);
	return rc;
}
