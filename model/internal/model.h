/* Helpers shared by the files of the coordinator's data model (topology.c, config.c,
 * rbac.c, bundle.c) and nothing else: error lines, JSON loading with line/column, key
 * checks, and the topology's JSON pieces that bundle.c reuses for rbac.json. */
#ifndef CSB_COORDINATOR_INTERNAL_MODEL_H
#define CSB_COORDINATOR_INTERNAL_MODEL_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"
#include "model/topology.h"

/* Writes one line into err (when err is not NULL and errlen > 0): control characters
 * become '?', so a hostile value cannot split the line. Returns CSB_EINVAL. */
csb_err csb__fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A copy of s for an error line in buf (n bytes): cut to fit, with "..." when cut.
 * Returns buf. */
const char *csb__quote(const char *s, char *buf, size_t n);

/* Parses len bytes of JSON (an object or an array, duplicate keys refused) into *out,
 * which the caller json_decref()s. CSB_OK; CSB_EINVAL with "line L, column C: <why>";
 * CSB_ENOMEM. jansson reports some failed allocations (in its lexer) as syntax errors,
 * so out of memory may also come back as CSB_EINVAL. */
csb_err csb__json_load(const char *json, size_t len, json_t **out, char *err, size_t errlen);

/* Refuses the first key of obj (path names obj, e.g. "$.pools[0]") that is not in
 * allowed (NULL-terminated): "<path>.<key>: unknown key". CSB_OK or CSB_EINVAL. */
csb_err csb__keys_check(json_t *obj, const char *path, const char *const *allowed,
                        char *err, size_t errlen);

/* Checks a Windows-style group name: 1..CSB_NAME_MAX bytes, no control characters.
 * CSB_OK or CSB_EINVAL with the reason in why, without the name or a path: "must not be
 * empty", "is longer than 64 characters", "must not hold control characters". */
csb_err csb__group_check(const char *g, char *why, size_t whylen);

/* csb_topology_parse() on an already loaded document (root is borrowed). */
csb_err csb__topology_from_json(json_t *root, csb_topology **out, char *err, size_t errlen);

/* The "principals" array of t as csb_topology_to_json() writes it (t NULL: empty).
 * New reference; NULL when out of memory. */
json_t *csb__topology_principals_json(const csb_topology *t);

#endif
