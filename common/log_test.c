/* csb_log(): the line's shape, CSB_LOG_LEVEL, and the syslog priority prefix journald reads
 * when stderr goes to the journal (JOURNAL_STREAM). Each case runs in a child process: the
 * level and the journal are decided once per process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"

/* What a child with the environment var=value (NULL: none) writes for one line per level. */
static const char *logged(const char *var, const char *value, const char *var2,
                          const char *value2)
{
	static char out[4096];
	int fds[2], status;
	ssize_t n, len = 0;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		unsetenv("JOURNAL_STREAM");
		unsetenv("CSB_LOG_LEVEL");
		if (var != NULL)
			setenv(var, value, 1);
		if (var2 != NULL)
			setenv(var2, value2, 1);
		csb_debug("test", "one pool=%s", "pool01.csb.test");
		csb_info("test", "two");
		csb_warn("test", "three");
		csb_error("test", "four");
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], out + len, sizeof(out) - 1 - (size_t)len)) > 0)
		len += n;
	close(fds[0]);
	out[len] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return out;
}

static void match(const char *text, const char *pattern)
{
	regex_t re;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&re, text, 0, NULL, 0) != 0)
		fail_msg("logged:\n%s\nwant: %s", text, pattern);
	regfree(&re);
}

#define T "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

static void test_plain(void **state)
{
	match(logged(NULL, NULL, NULL, NULL),
	      "^" T " info test two\n" T " warn test three\n" T " error test four\n$");
	match(logged("CSB_LOG_LEVEL", "debug", NULL, NULL),
	      "^" T " debug test one pool=pool01\\.csb\\.test\n" T " info test two\n");
	match(logged("CSB_LOG_LEVEL", "WARN", NULL, NULL),
	      "^" T " warn test three\n" T " error test four\n$");
}

static void test_journal(void **state)
{
	match(logged("JOURNAL_STREAM", "8:1234", "CSB_LOG_LEVEL", "debug"),
	      "^<7>" T " debug test one pool=pool01\\.csb\\.test\n<6>" T " info test two\n<4>" T
	      " warn test three\n<3>" T " error test four\n$");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_journal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
