/* FQDNs, time values, counts and booleans as administrators type them. */
#include "common/parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static csb_err fail(char *err, size_t errlen, const char *why)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", why);
	return CSB_EINVAL;
}

csb_err csb_fqdn_parse(const char *s, char *out, char *err, size_t errlen)
{
	size_t n, label = 0, labels = 1;
	bool all_digits = true;

	if (s == NULL || *s == '\0')
		return fail(err, errlen, "empty name");
	n = strlen(s);
	if (n > CSB_FQDN_MAX)
		return fail(err, errlen, "longer than 253 characters");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0)
				return fail(err, errlen, "empty label");
			if (s[i - 1] == '-')
				return fail(err, errlen, "a label ends with '-'");
			label = 0;
			labels++;
			all_digits = true;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return fail(err, errlen, "only letters, digits, '-' and '.' are allowed");
		if (c == '-' && label == 0)
			return fail(err, errlen, "a label starts with '-'");
		if (!isdigit(c))
			all_digits = false;
		if (++label > 63)
			return fail(err, errlen, "a label is longer than 63 characters");
	}
	if (label == 0)
		return fail(err, errlen, "empty label");
	if (s[n - 1] == '-')
		return fail(err, errlen, "a label ends with '-'");
	if (labels < 2)
		return fail(err, errlen, "not fully qualified (no domain)");
	if (all_digits)
		return fail(err, errlen, "the top-level label is numeric");
	if (out != NULL) {
		for (size_t i = 0; i < n; i++)
			out[i] = (char)tolower((unsigned char)s[i]);
		out[n] = '\0';
	}
	return CSB_OK;
}

csb_err csb_u64_parse(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || !isdigit((unsigned char)*s))
		return CSB_EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return CSB_EINVAL;
	*out = v;
	return CSB_OK;
}

csb_err csb_duration_parse(const char *s, uint64_t *ms)
{
	uint64_t part[3];
	unsigned n = 0;
	const char *p = s;
	char buf[16];

	if (s == NULL || *s == '\0')
		return CSB_EINVAL;
	while (n < 3) {
		size_t len = strcspn(p, ":");

		if (len == 0 || len >= sizeof(buf))
			return CSB_EINVAL;
		memcpy(buf, p, len);
		buf[len] = '\0';
		if (csb_u64_parse(buf, n == 0 ? 1000000000ull : 59, &part[n]) != CSB_OK)
			return CSB_EINVAL;
		n++;
		p += len;
		if (*p == '\0')
			break;
		p++; /* ':' */
	}
	if (*p != '\0')
		return CSB_EINVAL;
	switch (n) {
	case 1:
		*ms = part[0] * 1000;
		break;
	case 2:
		*ms = (part[0] * 60 + part[1]) * 1000;
		break;
	default:
		*ms = (part[0] * 3600 + part[1] * 60 + part[2]) * 1000;
		break;
	}
	return CSB_OK;
}

void csb_duration_format(uint64_t ms, char *out, size_t outlen)
{
	uint64_t s = ms / 1000;

	snprintf(out, outlen, "%02llu:%02llu:%02llu", (unsigned long long)(s / 3600),
	         (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
}

csb_err csb_bool_parse(const char *s, bool *out)
{
	static const char *const yes[] = {"$true", "true", "1", "yes"};
	static const char *const no[] = {"$false", "false", "0", "no"};

	if (s == NULL)
		return CSB_EINVAL;
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return CSB_OK;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return CSB_OK;
		}
	}
	return CSB_EINVAL;
}
