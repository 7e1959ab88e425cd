/* The deployment's topology (SPEC.md §4 Publish-CsTopology / Get-CsTopology): sites, pools
 * with their agents and their 1:1 symmetric backup pairing, and the principals with their
 * groups that RBAC (rbac.h) reads. A plain value: parsed from and written to JSON, checked,
 * compared; no I/O. The coordinator stores it, agents keep a replica, the CLI prints it. */
#ifndef CSB_MODEL_TOPOLOGY_H
#define CSB_MODEL_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/parse.h"

/* Limits of one topology; a larger one is refused. */
#define CSB_TOPOLOGY_MAX_SITES      1000
#define CSB_TOPOLOGY_MAX_POOLS      1000
#define CSB_TOPOLOGY_MAX_PRINCIPALS 1000
#define CSB_TOPOLOGY_MAX_GROUPS     32   /* groups of one principal */
#define CSB_NAME_MAX                64   /* bytes of a site, principal or group name */
#define CSB_AGENT_URL_MAX           255  /* bytes of an agent endpoint URL */

/* One pool: the FQDN (lowercase), its site, its agent's endpoint and its backup pool. */
typedef struct csb_topo_pool {
	char fqdn[CSB_FQDN_MAX + 1];        /* "pool01.csb.test", lowercase */
	char site[CSB_NAME_MAX + 1];        /* a name listed in csb_topology.sites */
	char agent[CSB_AGENT_URL_MAX + 1];  /* "tls+tcp://127.0.0.1:7101" */
	char backup[CSB_FQDN_MAX + 1];      /* the backup pool's FQDN, lowercase; "" = none */
	bool hosts_cms;                     /* hosts the CMS (CentralMgmt.CMSMaster) */
} csb_topo_pool;

/* One principal (a certificate's subject CN) and the groups it belongs to. */
typedef struct csb_topo_principal {
	char name[CSB_NAME_MAX + 1];        /* compared exactly */
	char (*groups)[CSB_NAME_MAX + 1];   /* malloc'ed; NULL when n_groups is 0 */
	size_t n_groups;                    /* <= CSB_TOPOLOGY_MAX_GROUPS */
} csb_topo_principal;

/* The whole topology. Each array is malloc'ed on its own (NULL when empty) and released
 * by csb_topology_free(), so code may also build one by hand with malloc/calloc. */
typedef struct csb_topology {
	char (*sites)[CSB_NAME_MAX + 1];
	size_t n_sites;
	csb_topo_pool *pools;
	size_t n_pools;
	csb_topo_principal *principals;
	size_t n_principals;
} csb_topology;

/* Parses and checks a topology file:
 *   {"sites":[{"name"}], "pools":[{"fqdn","site","agent","backup","hostsCms"}],
 *    "principals":[{"name","groups":[...]}]}
 * "sites" and "pools" are required, "principals" is optional; in a pool "fqdn", "site" and
 * "agent" are required, "backup" may be absent, null or "" (no backup pool) and
 * "hostsCms" defaults to false; "groups" is optional. Unknown keys, duplicate keys and
 * wrong types are refused. FQDNs are stored lowercase. Everything csb_topology_check()
 * refuses is refused too.
 * On success *out is a new topology for csb_topology_free(). On failure *out is NULL and
 * err (errlen bytes; may be NULL) holds one line that starts with the JSON path of the
 * problem ("$.pools[1].fqdn: must be a string") or, for malformed JSON, its place
 * ("line 3, column 5: ..."), or "the file is empty" when len is 0 (json may then be
 * NULL). Thread-safe.
 * Returns CSB_OK, CSB_EINVAL or CSB_ENOMEM. */
csb_err csb_topology_parse(const char *json, size_t len, csb_topology **out, char *err,
                           size_t errlen);

/* Checks a topology however it was built: the limits above; site and principal names
 * (csb_topology_name_check()); sites listed once (case-insensitive); pool FQDNs valid and
 * listed once (case-insensitive); each pool's site listed in sites; agents
 * tls+tcp://HOST:PORT (PORT 1..65535), no two pools with the same one; a backup pool
 * that is a valid FQDN, not the pool itself, a pool of this topology, and that backs up to
 * the pool in return; exactly one pool hosting the CMS when there are pools; principals
 * listed once (exactly); at most CSB_TOPOLOGY_MAX_GROUPS groups of 1..CSB_NAME_MAX bytes
 * without control characters, each listed once (case-insensitive).
 * Returns CSB_OK or CSB_EINVAL with one line "<JSON path>: <why>" in err. */
csb_err csb_topology_check(const csb_topology *t, char *err, size_t errlen);

/* Checks a site or principal name: 1..CSB_NAME_MAX letters, digits, '.', '-', '_' or
 * spaces, not starting or ending with a space. CSB_OK or CSB_EINVAL with the reason
 * (no path) in err. For the CLI too (issue-cert --principal). */
csb_err csb_topology_name_check(const char *name, char *err, size_t errlen);

/* Writes t in the file format above: canonical (keys in the order above, "backup" left
 * out when there is none, "hostsCms" always written), 2-space indented, no trailing
 * newline. csb_topology_parse() of the result gives a csb_topology_equal() topology, and
 * the same t always gives the same bytes; t NULL gives the empty topology. Returns a
 * malloc'ed string for free(), or NULL when out of memory (or when a hand-built t holds a
 * string that is not UTF-8). */
char *csb_topology_to_json(const csb_topology *t);

/* Whether a and b hold the same sites, pools and principals in the same order. */
bool csb_topology_equal(const csb_topology *a, const csb_topology *b);

/* The pool whose FQDN is fqdn (case-insensitive), or NULL. t may be NULL. The pointer is
 * borrowed from t and valid until t is freed. */
const csb_topo_pool *csb_topology_pool(const csb_topology *t, const char *fqdn);

/* The pool that hosts the CMS, or NULL (no pools, or t NULL). Borrowed from t. */
const csb_topo_pool *csb_topology_cms_host(const csb_topology *t);

/* The principal named name (exactly), or NULL. t may be NULL. Borrowed from t. */
const csb_topo_principal *csb_topology_principal(const csb_topology *t, const char *name);

/* Releases t and its arrays. t may be NULL. */
void csb_topology_free(csb_topology *t);

#endif
