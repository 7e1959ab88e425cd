/* Who may do what (rbac.h): administrators by group or as the deployment's own admin,
 * status readers by AuthorizedUniversalGroups, agents by their pool's FQDN. */
#include "model/rbac.h"

#include <string.h>
#include <strings.h>

/* Whether principal is a principal of t with group (group names ignore case, as Windows
 * groups do). */
static bool member_of(const csb_topology *t, const char *principal, const char *group)
{
	const csb_topo_principal *p = csb_topology_principal(t, principal);

	for (size_t g = 0; p != NULL && g < p->n_groups; g++) {
		if (strcasecmp(p->groups[g], group) == 0)
			return true;
	}
	return false;
}

bool csb_rbac_is_admin(const csb_topology *t, const char *principal, const char *builtin_admin)
{
	if (principal == NULL)
		return false;
	if (builtin_admin != NULL && builtin_admin[0] != '\0' &&
	    strcmp(principal, builtin_admin) == 0)
		return true;
	return member_of(t, principal, CSB_GROUP_ADMINS);
}

bool csb_rbac_may_read_status(const csb_topology *t, const csb_backup_config *c,
                              const char *principal, const char *builtin_admin)
{
	if (csb_rbac_is_admin(t, principal, builtin_admin))
		return true;
	for (size_t g = 0; c != NULL && g < c->n_groups && g < CSB_CONFIG_MAX_GROUPS; g++) {
		if (member_of(t, principal, c->groups[g]))
			return true;
	}
	return false;
}

bool csb_rbac_is_pool(const csb_topology *t, const char *principal)
{
	return csb_topology_pool(t, principal) != NULL;
}
