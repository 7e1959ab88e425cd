/* What a user would otherwise pick: rsync (Debian's package) bringing a copy of the
 * primary's LMDB folder up to date, and mdb_copy (lmdb-utils) snapshotting the store. Each
 * runs as a child process; its output is parsed, its wall time measured here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "common/clock.h"

uint64_t bench_file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* "Total bytes sent: 1,234,567" -> 1234567 when line starts with label. */
static bool stat_line(const char *line, const char *label, uint64_t *out)
{
	size_t n = strlen(label);
	uint64_t v = 0;
	bool any = false;

	if (strncmp(line, label, n) != 0)
		return false;
	for (const char *p = line + n; *p && *p != '\n'; p++) {
		if (*p >= '0' && *p <= '9') {
			v = v * 10 + (uint64_t)(*p - '0');
			any = true;
		} else if (*p == ',' || (*p == ' ' && !any)) {
			continue;
		} else {
			break;
		}
	}
	if (any)
		*out = v;
	return any;
}

/* Runs cmd through the shell; its output (stdout and stderr) goes to line_fn. Returns the
 * exit status (-1 when it could not run); *seconds gets the wall time. */
static int run(const char *cmd, double *seconds, void (*line_fn)(void *, const char *),
               void *ctx, char *err, size_t errlen)
{
	char line[1024];
	uint64_t t0 = csb_mono_us();
	FILE *p = popen(cmd, "r");
	int status;

	if (p == NULL) {
		snprintf(err, errlen, "cannot run %s: %s", cmd, strerror(errno));
		return -1;
	}
	err[0] = '\0';
	while (fgets(line, sizeof(line), p)) {
		if (line_fn != NULL)
			line_fn(ctx, line);
		if (err[0] == '\0' && (strstr(line, "rror") || strstr(line, "not found")))
			snprintf(err, errlen, "%.*s", (int)strcspn(line, "\n"), line);
	}
	status = pclose(p);
	*seconds = (double)(csb_mono_us() - t0) / 1e6;
	if (status == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void rsync_line(void *ctx, const char *line)
{
	struct bench_rsync *r = ctx;

	stat_line(line, "Total bytes sent:", &r->bytes_sent);
	stat_line(line, "Literal data:", &r->literal);
	stat_line(line, "Matched data:", &r->matched);
	stat_line(line, "Total file size:", &r->file_size);
}

bool bench_rsync(const char *extra, const char *src, const char *dst, struct bench_rsync *out,
                 char *err, size_t errlen)
{
	char cmd[3 * BENCH_PATH];
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(cmd, sizeof(cmd), "rsync -a --stats %s '%s/' '%s/' 2>&1", extra, src, dst);
	rc = run(cmd, &out->seconds, rsync_line, out, err, errlen);
	if (rc != 0 && err[0] == '\0')
		snprintf(err, errlen, "rsync exited with %d (is the rsync package installed?)", rc);
	return rc == 0;
}

bool bench_mdb_copy(const char *src, const char *dst, double *seconds, char *err, size_t errlen)
{
	char cmd[3 * BENCH_PATH];
	int rc;

	if (mkdir(dst, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", dst, strerror(errno));
		return false;
	}
	snprintf(cmd, sizeof(cmd), "mdb_copy '%s' '%s' 2>&1", src, dst);
	rc = run(cmd, seconds, NULL, NULL, err, errlen);
	if (rc != 0 && err[0] == '\0')
		snprintf(err, errlen, "mdb_copy exited with %d (is lmdb-utils installed?)", rc);
	return rc == 0;
}
