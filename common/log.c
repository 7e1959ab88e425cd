/* csb_log(): one line per event on stderr, with an RFC 3339 UTC timestamp. */
#include "common/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = -1;
static atomic_int to_journal = -1; /* stderr goes to journald: prefix "<priority>" */

static const char *const level_names[] = {"debug", "info", "warn", "error"};

static int level_from_env(void)
{
	const char *v = getenv("CSB_LOG_LEVEL");

	if (v == NULL)
		return CSB_LOG_INFO;
	for (int i = 0; i <= CSB_LOG_ERROR; i++)
		if (strcasecmp(v, level_names[i]) == 0)
			return i;
	return CSB_LOG_INFO;
}

void csb_log_set_level(csb_log_level level)
{
	atomic_store(&log_level, (int)level);
}

void csb_log(csb_log_level level, const char *component, const char *fmt, ...)
{
	char line[4096];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int cur = atomic_load(&log_level);
	size_t n;

	static const char *const priorities[] = {"<7>", "<6>", "<4>", "<3>"}; /* sd-daemon(3) */
	int journal = atomic_load(&to_journal);

	if (cur < 0) {
		cur = level_from_env();
		atomic_store(&log_level, cur);
	}
	if ((int)level < cur)
		return;
	if (journal < 0) {
		journal = getenv("JOURNAL_STREAM") != NULL; /* set by systemd for its services */
		atomic_store(&to_journal, journal);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = journal ? (size_t)snprintf(line, sizeof(line), "%s", priorities[level]) : 0;
	n += strftime(line + n, sizeof(line) - n, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s ", ts.tv_nsec / 1000000,
	                      level_names[level], component);
	va_start(ap, fmt);
	if (n < sizeof(line))
		n += (size_t)vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}
