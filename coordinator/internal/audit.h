/* The coordinator's audit log: every call of the Admin service logged once, when it returns,
 * with who called, what, on which target and how it ended. The method tables of admin.c and
 * forward.c pass through coord__audit_wrap() as they are built. */
#ifndef CSB_COORDINATOR_INTERNAL_AUDIT_H
#define CSB_COORDINATOR_INTERNAL_AUDIT_H

#include <stddef.h>

#include "common/rpc.h"

/* The most methods that can be wrapped in one process. */
#define COORD_AUDIT_MAX 64

/* Wraps the n methods of m in place, so that each call is logged once as it returns:
 *   audit principal=<CN> method=<name> target=<pool or object> result=ok millis=<n>
 * (info), or result=<error name> … error="<reason>" (warn). The target is the request's
 * pool_fqdn (and module=, when one is named) for methods that name a pool, else what the
 * method acts on ("topology", "Global", "configuration", "CMS", "all pools"). Returns n,
 * so a table can end with `return coord__audit_wrap(out, n);`. The wrappers' state lives in
 * a process-wide table of COORD_AUDIT_MAX entries; a method past it stays unwrapped (and a
 * warning says so). Not thread-safe: call while building the tables, before serving. */
size_t coord__audit_wrap(csb_rpc_method *m, size_t n);

/* The target of a call of method with the given request body: out (len bytes) gets the
 * target, module (len bytes) the module named or "". Exposed for the tests. */
void coord__audit_target(const char *method, const uint8_t *body, size_t body_len, char *out,
                         char *module, size_t len);

#endif
