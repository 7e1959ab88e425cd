/* Role-based access (SPEC.md §4): every cmdlet needs RTCUniversalServerAdmins, except
 * that Get-CsBackupServiceStatus is also open to the groups in the configuration's
 * AuthorizedUniversalGroups; agents are recognised by their pool FQDN. Principals and
 * their groups come from the topology (topology.h); pure predicates, no I/O. */
#ifndef CSB_MODEL_RBAC_H
#define CSB_MODEL_RBAC_H

#include <stdbool.h>

#include "model/config.h"
#include "model/topology.h"

#define CSB_GROUP_ADMINS "RTCUniversalServerAdmins"

/* Whether principal may run every cmdlet: it is builtin_admin (the deployment's admin
 * principal, always in RTCUniversalServerAdmins; may be NULL), or a principal of t
 * (exact name) with the group RTCUniversalServerAdmins (any case). t may be NULL (no
 * topology published yet): then only builtin_admin is. A NULL principal never is. */
bool csb_rbac_is_admin(const csb_topology *t, const char *principal, const char *builtin_admin);

/* Whether principal may run Get-CsBackupServiceStatus: an admin, or a principal of t in
 * one of c's AuthorizedUniversalGroups (any case). c may be NULL (no groups). */
bool csb_rbac_may_read_status(const csb_topology *t, const csb_backup_config *c,
                              const char *principal, const char *builtin_admin);

/* Whether principal is the agent of a pool of t: its certificate's CN is the pool's FQDN
 * (any case). False when t or principal is NULL. */
bool csb_rbac_is_pool(const csb_topology *t, const char *principal);

#endif
