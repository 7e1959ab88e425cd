/* csb_conf_argv(): a --config file's settings come first, the command line after them (so
 * it wins), comments and blanks are skipped, and bad files are refused with the line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"

static char path[256];

static void write_conf(const char *text)
{
	const char *dir = getenv("TEST_TMPDIR");
	FILE *f;

	snprintf(path, sizeof(path), "%s/c.conf", dir ? dir : "/tmp");
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* The vector as one line, arguments separated by '|'. */
static const char *joined(char **av)
{
	static char out[2048];
	size_t n = 0;

	out[0] = '\0';
	for (int i = 0; av[i] != NULL; i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", i ? "|" : "", av[i]);
	return out;
}

static void test_file_then_flags(void **state)
{
	char *argv[] = {"csb-coordinator", "--listen", "tls+tcp://127.0.0.1:7001", "--config", path,
	                "--http", "127.0.0.1:8080", NULL};
	char **av, err[256] = "";
	int ac;

	write_conf("# csb-coordinator\n"
	           "state-dir = /var/lib/csbackup/coordinator\n"
	           "\n"
	           "  listen=tls+tcp://0.0.0.0:7001   # all interfaces\n"
	           "tls-cert = /etc/csbackup/pki/coordinator crt.pem\n"
	           "help\n");
	assert_int_equal(csb_conf_argv(7, argv, &ac, &av, err, sizeof(err)), CSB_OK);
	assert_int_equal(ac, 12);
	assert_string_equal(joined(av),
	                    "csb-coordinator|--state-dir|/var/lib/csbackup/coordinator|--listen|"
	                    "tls+tcp://0.0.0.0:7001|--tls-cert|/etc/csbackup/pki/coordinator crt.pem|"
	                    "--help|--listen|tls+tcp://127.0.0.1:7001|--http|127.0.0.1:8080");
	assert_null(av[ac]);
	free(av);

	/* --config=FILE, and no file at all. */
	argv[3] = "--http";
	argv[4] = "x";
	assert_int_equal(csb_conf_argv(7, argv, &ac, &av, err, sizeof(err)), CSB_OK);
	assert_string_equal(joined(av), "csb-coordinator|--listen|tls+tcp://127.0.0.1:7001|--http|x|"
	                                "--http|127.0.0.1:8080");
	free(av);
}

static void test_refused(void **state)
{
	char eq[300], *argv[] = {"csb-agent", eq, NULL}, *bare[] = {"csb-agent", "--config", NULL};
	char **av, err[256];
	int ac;

	snprintf(eq, sizeof(eq), "--config=%s", path);
	write_conf("pool-fqdn = pool01.csb.test\nPool Fqdn = x\n");
	assert_int_equal(csb_conf_argv(2, argv, &ac, &av, err, sizeof(err)), CSB_EINVAL);
	assert_true(strstr(err, "c.conf:2: expected \"name = value\" with a flag's name") != NULL);
	write_conf("= x\n");
	assert_int_equal(csb_conf_argv(2, argv, &ac, &av, err, sizeof(err)), CSB_EINVAL);
	assert_true(strstr(err, "c.conf:1: expected") != NULL);
	assert_int_equal(csb_conf_argv(2, bare, &ac, &av, err, sizeof(err)), CSB_EINVAL);
	assert_string_equal(err, "--config needs a file");
	snprintf(eq, sizeof(eq), "--config=/nonexistent/csb.conf");
	assert_int_equal(csb_conf_argv(2, argv, &ac, &av, err, sizeof(err)), CSB_EIO);
	assert_string_equal(err, "cannot read /nonexistent/csb.conf: No such file or directory");
}

static void test_state_dir(void **state)
{
	char dir[300], err[400];

	write_conf("x\n");
	snprintf(dir, sizeof(dir), "%s.d", path);
	assert_int_equal(csb_conf_state_dir(dir, err, sizeof(err)), CSB_OK); /* made */
	assert_int_equal(csb_conf_state_dir(dir, err, sizeof(err)), CSB_OK); /* there */
	assert_int_equal(csb_conf_state_dir(path, err, sizeof(err)), CSB_EIO);
	snprintf(dir, sizeof(dir), "--state-dir %s is not a folder", path);
	assert_string_equal(err, dir);
	assert_int_equal(csb_conf_state_dir("/nonexistent/csb/state", err, sizeof(err)), CSB_EIO);
	assert_string_equal(err, "cannot create --state-dir /nonexistent/csb/state: No such file or "
	                         "directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_then_flags),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_state_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
