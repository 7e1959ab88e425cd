/* csb_conf_argv(): a --config file's lines as flags ahead of the command line's. */
#include "common/conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONF_MAX (64 * 1024)

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* The file's text (malloc'ed, NUL-terminated). */
static csb_err slurp(const char *path, char **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return CSB_EIO;
	}
	if ((buf = malloc(CONF_MAX + 1)) == NULL) {
		fclose(f);
		return CSB_ENOMEM;
	}
	n = fread(buf, 1, CONF_MAX + 1, f);
	fclose(f);
	if (n > CONF_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, CONF_MAX);
		free(buf);
		return CSB_EINVAL;
	}
	buf[n] = '\0';
	*out = buf;
	return CSB_OK;
}

/* Parses text in place into at most max name/value pairs (value NULL for "name" alone). */
static csb_err parse(const char *path, char *text, char **names, char **values, int max,
                     int *n, char *err, size_t errlen)
{
	int line = 0;

	*n = 0;
	for (char *next, *l = text; l != NULL; l = next) {
		char *eq, *name;

		line++;
		if ((next = strchr(l, '\n')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(l, '#')) != NULL)
			*eq = '\0';
		if (*(l = trim(l)) == '\0')
			continue;
		if (*n == max) {
			snprintf(err, errlen, "%s:%d: more than %d settings", path, line, max);
			return CSB_EINVAL;
		}
		if ((eq = strchr(l, '=')) != NULL)
			*eq = '\0';
		name = trim(l);
		if (*name == '\0' || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(name)) {
			snprintf(err, errlen, "%s:%d: expected \"name = value\" with a flag's name", path,
			         line);
			return CSB_EINVAL;
		}
		names[*n] = name;
		values[(*n)++] = eq ? trim(eq + 1) : NULL;
	}
	return CSB_OK;
}

csb_err csb_conf_argv(int argc, char **argv, int *out_argc, char ***out_argv, char *err,
                      size_t errlen)
{
	enum { MAX = 128 };
	char *names[MAX], *values[MAX], *text = NULL, **av, *p;
	const char *path = NULL;
	int n = 0, k = 0, skip = -1;
	size_t bytes = 0;
	csb_err rv;

	for (int i = 1; i < argc && path == NULL; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strncmp(argv[i], "--config=", 9) == 0) {
			path = argv[i] + 9;
			skip = i;
		} else if (strcmp(argv[i], "--config") == 0) {
			if (i + 1 == argc) {
				snprintf(err, errlen, "--config needs a file");
				return CSB_EINVAL;
			}
			path = argv[i + 1];
			skip = i;
		}
	}
	if (path != NULL && ((rv = slurp(path, &text, err, errlen)) != CSB_OK ||
	                     (rv = parse(path, text, names, values, MAX, &n, err, errlen)) != CSB_OK)) {
		free(text);
		return rv;
	}
	for (int i = 0; i < argc; i++)
		bytes += strlen(argv[i]) + 1;
	for (int i = 0; i < n; i++)
		bytes += strlen(names[i]) + 3 + (values[i] ? strlen(values[i]) + 1 : 0);
	if ((av = malloc((size_t)(argc + 2 * n + 1) * sizeof(*av) + bytes)) == NULL) {
		free(text);
		return CSB_ENOMEM;
	}
	p = (char *)(av + argc + 2 * n + 1);
#define PUT(fmt, s) (av[k++] = p, p += sprintf(p, fmt, s) + 1)
	PUT("%s", argv[0]);
	for (int i = 0; i < n; i++) {
		PUT("--%s", names[i]);
		if (values[i] != NULL)
			PUT("%s", values[i]);
	}
	for (int i = 1; i < argc; i++) {
		if (i == skip) {
			i += strcmp(argv[i], "--config") == 0;
			continue;
		}
		PUT("%s", argv[i]);
	}
#undef PUT
	av[k] = NULL;
	free(text);
	*out_argc = k;
	*out_argv = av;
	return CSB_OK;
}

csb_err csb_conf_state_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0 || (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)))
		return CSB_OK;
	if (errno == EEXIST)
		snprintf(err, errlen, "--state-dir %s is not a folder", dir);
	else
		snprintf(err, errlen, "cannot create --state-dir %s: %s", dir, strerror(errno));
	return CSB_EIO;
}
