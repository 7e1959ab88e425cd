/* Parsing of what administrators type: FQDNs, time values (seconds or hh:mm:ss), counts
 * and PowerShell booleans. Pure functions; no allocation. */
#ifndef CSB_COMMON_PARSE_H
#define CSB_COMMON_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define CSB_FQDN_MAX 253

/* Checks that s is a fully qualified domain name: at least two dot-separated labels of
 * 1..63 letters, digits or hyphens, not starting or ending with a hyphen, the last label
 * not all digits, 253 bytes in all, no trailing dot. Copies it lowercased into out
 * (CSB_FQDN_MAX + 1 bytes) when out is not NULL. CSB_OK or CSB_EINVAL (why in err). */
csb_err csb_fqdn_parse(const char *s, char *out, char *err, size_t errlen);

/* "30" (seconds), "00:02:00" (hh:mm:ss) or "02:00" (mm:ss) into milliseconds.
 * CSB_OK or CSB_EINVAL. */
csb_err csb_duration_parse(const char *s, uint64_t *ms);

/* Formats ms as hh:mm:ss (sub-second parts dropped) into out (at least 16 bytes). */
void csb_duration_format(uint64_t ms, char *out, size_t outlen);

/* A decimal unsigned integer with no sign, spaces or trailing junk, at most max.
 * CSB_OK or CSB_EINVAL. */
csb_err csb_u64_parse(const char *s, uint64_t max, uint64_t *out);

/* $true/$false, true/false, 1/0, yes/no (case-insensitive). CSB_OK or CSB_EINVAL. */
csb_err csb_bool_parse(const char *s, bool *out);

#endif
