/* Integration tests of the csb CLI: a local cluster made by the real `csb cluster up` in a
 * fresh folder under $TEST_TMPDIR, and `csb …` run as a subprocess with its stdin given and
 * its exit code, stdout and stderr captured. Everything a test starts is stopped by
 * ch_cluster_down() (`csb cluster down`), also when an assertion fails (cmocka teardown). */
#ifndef CSB_TESTS_CLI_HARNESS_H
#define CSB_TESTS_CLI_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define CH_PATH 1024
#define CH_TIMEOUT_MS 120000
#define CH_CMS_WAIT_MS 90000 /* ch_cms_master_is() */

/* Give as stdin: a pseudo-terminal instead of text (isatty(0) is then true). */
extern const char CH_TTY[];

struct ch_cluster {
	char dir[CH_PATH];   /* the cluster folder: CSB_CLUSTER of every command */
	char tmp[CH_PATH];   /* TMPDIR of every command (default report paths land here) */
	char work[CH_PATH];  /* the test's own folder: dir and tmp are inside */
	bool up;
};

struct ch_result {
	int code;            /* exit code; -1 when killed (timeout) or signalled */
	char *out, *err;     /* stdout and stderr, NUL-terminated */
	size_t out_len, err_len;
};

/* The csb binary: $TEST_SRCDIR/$TEST_WORKSPACE/cli/csb, else bazel-bin/cli/csb. */
const char *ch_csb_bin(void);

/* A fresh folder (no cluster started). Aborts the test on failure. */
struct ch_cluster *ch_cluster_new(void);

/* A cluster folder without processes: cluster.json naming a coordinator that is nowhere
 * (tls+tcp://127.0.0.1:1) and the pools given (a JSON array's items, "" for none), and an
 * empty admin certificate. Enough for csb to start and to complete; any call fails. */
void ch_cluster_fake(struct ch_cluster *cl, const char *pools);

/* `csb cluster up --dir <dir> --pools 2`, asserting exit 0. */
void ch_cluster_start(struct ch_cluster *cl);

/* ch_cluster_new() and ch_cluster_start(). */
struct ch_cluster *ch_cluster_up(void);

/* cmocka fixtures: a cluster of n pools started by `csb cluster up` into *state, and its
 * teardown (ch_cluster_down()). */
int ch_setup_pools(void **state, const char *pools);
int ch_teardown(void **state);

/* `csb cluster down` when started, then removes the folder (kept with CSB_TEST_KEEP). */
void ch_cluster_down(struct ch_cluster *cl);

/* Runs csb with the NULL-terminated arguments, stdin_text as stdin (NULL: /dev/null;
 * CH_TTY: a terminal), CSB_CLUSTER, TMPDIR and CSB_BIN_DIR set for cl (cl may be NULL:
 * then no CSB_CLUSTER). Kills it after CH_TIMEOUT_MS. Result freed by ch_result_free(). */
void ch_run(struct ch_cluster *cl, const char *stdin_text, struct ch_result *r, ...)
	__attribute__((sentinel));

/* ch_run() with stdin_text (at most 64 KiB) given through a pipe, which cannot seek. */
void ch_run_piped(struct ch_cluster *cl, const char *stdin_text, struct ch_result *r, ...)
	__attribute__((sentinel));

/* ch_run() with the arguments in a NULL-terminated array. */
void ch_runv(struct ch_cluster *cl, const char *stdin_text, struct ch_result *r,
             char *const args[]);


/* Like ch_run() with stdin /dev/null, asserting exit code want; prints the output when not. */
void ch_ok(struct ch_cluster *cl, int want, struct ch_result *r, ...) __attribute__((sentinel));

void ch_result_free(struct ch_result *r);

/* stdout parsed as one JSON document (the test fails when it is not); json_decref() it. */
json_t *ch_json(const struct ch_result *r);

/* The coordinator's URL from the cluster folder's cluster.json (static buffer). */
const char *ch_coordinator_url(const struct ch_cluster *cl);

/* The whole file (malloc'ed, NUL-terminated), or NULL when it cannot be read. */
char *ch_read_file(const char *path);

/* The number of regular files in dir. */
size_t ch_count_files(const char *dir);

/* A file of the workspace that a test has in its data: $TEST_SRCDIR/$TEST_WORKSPACE/path,
 * else path (static buffer). */
const char *ch_data_path(const char *path);

/* Runs line with /bin/sh, stdin /dev/null, for what a csb run alone cannot show: a pipe
 * between two csb, a bash completion. $CSB is the csb binary; CSB_CLUSTER and TMPDIR are
 * cl's. stdout (its first 64 KiB, bytes as they are) and stderr are captured as by
 * ch_run(); killed with what it started after CH_TIMEOUT_MS. */
void ch_shell(struct ch_cluster *cl, const char *line, struct ch_result *r);

/* ch_run() with stdin_text (NULL: /dev/null; CH_TTY: a terminal), asserting exit code want;
 * prints the output when not. */
void ch_run_in(struct ch_cluster *cl, const char *stdin_text, int want, struct ch_result *r,
               ...) __attribute__((sentinel));

/* Runs csb with the arguments, stdin /dev/null; asserts exit code want, exactly line on
 * stderr and nothing on stdout (a usage error's or a refusal's one line). */
void ch_expect_line(struct ch_cluster *cl, int want, const char *line, ...)
	__attribute__((sentinel));

/* cmocka group setups and teardown: a cluster started by `csb cluster up` (ch_cluster_up()),
 * or a fake one (ch_cluster_fake(), no pools), in *state; ch_group_down() stops and removes
 * it. */
int ch_group_up(void **state);
int ch_group_fake(void **state);
int ch_group_down(void **state);

/* Waits until Get-CsManagementStoreReplicationStatus names pool the CMS master at epoch
 * and every replica but the pool except (NULL: all) is up to date with it, with replicas
 * replicas listed (0: any number). While a standby finishes a move it refuses for a
 * moment; that is waited out. Fails the test with the last answer after CH_CMS_WAIT_MS. */
void ch_cms_master_is(struct ch_cluster *cl, const char *pool, long long epoch,
                      const char *except, size_t replicas);

/* Whether s starts with prefix. */
bool ch_starts_with(const char *s, const char *prefix);

/* Whether some line of text matches the POSIX extended regular expression pattern. */
bool ch_matches(const char *text, const char *pattern);

#endif
