/* JSON helpers of the coordinator's data model: one-line error messages with the JSON
 * path or the line and column of the problem (internal/model.h). */
#include "model/internal/model.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

csb_err csb__fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return CSB_EINVAL;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (char *p = err; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return CSB_EINVAL;
}

const char *csb__quote(const char *s, char *buf, size_t n)
{
	size_t len = strlen(s);

	if (len < n) {
		memcpy(buf, s, len + 1);
		return buf;
	}
	/* Cut on a UTF-8 character boundary so the line stays valid text. */
	len = n - 4;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	memcpy(buf, s, len);
	memcpy(buf + len, "...", 4);
	return buf;
}

csb_err csb__json_load(const char *json, size_t len, json_t **out, char *err, size_t errlen)
{
	json_error_t je;

	/* jansson may leave the error code (text's last byte) unset. */
	memset(&je, 0, sizeof(je));
	*out = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (*out != NULL)
		return CSB_OK;
	/* jansson leaves the text empty when it cannot even allocate its lexer. */
	if (json_error_code(&je) == json_error_out_of_memory || je.text[0] == '\0')
		return CSB_ENOMEM;
	return csb__fail(err, errlen, "line %d, column %d: %s", je.line, je.column, je.text);
}

csb_err csb__keys_check(json_t *obj, const char *path, const char *const *allowed,
                        char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	char q[80];

	json_object_foreach(obj, key, v) {
		size_t i;

		for (i = 0; allowed[i] != NULL; i++) {
			if (strcmp(key, allowed[i]) == 0)
				break;
		}
		if (allowed[i] == NULL)
			return csb__fail(err, errlen, "%s.%s: unknown key", path,
			                 csb__quote(key, q, sizeof(q)));
	}
	return CSB_OK;
}
