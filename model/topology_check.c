/* The checks a topology must pass before the coordinator accepts it (topology.h,
 * csb_topology_check()): names, FQDNs, agents, the symmetric backup pairing, the CMS host,
 * principals and groups. Each refusal is one line that starts with the JSON path of the
 * problem, so topology.c's parser and hand-built topologies report alike. */
#include "model/topology.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/parse.h"
#include "model/internal/model.h"

#define TLS_TCP "tls+tcp://"

csb_err csb_topology_name_check(const char *name, char *err, size_t errlen)
{
	size_t n = strnlen(name, CSB_NAME_MAX + 1);
	char q[80];

	if (n == 0)
		return csb__fail(err, errlen, "must not be empty");
	if (n > CSB_NAME_MAX)
		return csb__fail(err, errlen, "is longer than %d characters", CSB_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '.' && c != '-' && c != '_' && c != ' ')
			return csb__fail(err, errlen,
			                 "'%s' may only hold letters, digits, '.', '-', '_' and spaces",
			                 csb__quote(name, q, sizeof(q)));
	}
	if (name[0] == ' ' || name[n - 1] == ' ')
		return csb__fail(err, errlen, "'%s' must not start or end with a space", name);
	return CSB_OK;
}

csb_err csb__group_check(const char *g, char *why, size_t whylen)
{
	size_t n = strnlen(g, CSB_NAME_MAX + 1);

	if (n == 0)
		return csb__fail(why, whylen, "must not be empty");
	if (n > CSB_NAME_MAX)
		return csb__fail(why, whylen, "is longer than %d characters", CSB_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)g[i] < 0x20 || g[i] == 0x7f)
			return csb__fail(why, whylen, "must not hold control characters");
	}
	return CSB_OK;
}

/* tls+tcp://HOST:PORT, HOST a name or IPv4 address (letters, digits, '-', '.') or an IPv6
 * address in brackets, PORT 1..65535 and nothing after it. */
static csb_err agent_check(const char *url, char *why, size_t whylen)
{
	const char *host, *end, *port;
	uint64_t v;
	char q[80];

	csb__quote(url, q, sizeof(q));
	if (strncmp(url, TLS_TCP, strlen(TLS_TCP)) != 0)
		return csb__fail(why, whylen, "must be a " TLS_TCP " URL");
	host = url + strlen(TLS_TCP);
	if (*host == '[') {
		end = strchr(host, ']');
		if (end == NULL || end == host + 1 ||
		    strspn(host + 1, "0123456789abcdefABCDEF:.") != (size_t)(end - host - 1))
			return csb__fail(why, whylen, "'%s' has an invalid host", q);
		end++;
	} else {
		end = host + strspn(host, "abcdefghijklmnopqrstuvwxyz"
		                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.");
		if (end == host && (*end == ':' || *end == '\0'))
			return csb__fail(why, whylen, "'%s' has no host (" TLS_TCP "HOST:PORT)", q);
		if (end == host || (*end != ':' && *end != '\0'))
			return csb__fail(why, whylen, "'%s' has an invalid host", q);
	}
	if (*end != ':')
		return csb__fail(why, whylen, "'%s' has no port (" TLS_TCP "HOST:PORT)", q);
	port = end + 1;
	if (csb_u64_parse(port, 65535, &v) != CSB_OK || v == 0)
		return csb__fail(why, whylen, "'%s' has an invalid port (1 to 65535)", q);
	return CSB_OK;
}

static size_t site_find(const csb_topology *t, const char *name, size_t before)
{
	for (size_t i = 0; i < before; i++) {
		if (strcasecmp(t->sites[i], name) == 0)
			return i;
	}
	return before;
}

static csb_err sites_check(const csb_topology *t, char *err, size_t errlen)
{
	char why[160];
	size_t j;

	if (t->n_sites > CSB_TOPOLOGY_MAX_SITES)
		return csb__fail(err, errlen, "$.sites: more than %d sites", CSB_TOPOLOGY_MAX_SITES);
	for (size_t i = 0; i < t->n_sites; i++) {
		if (csb_topology_name_check(t->sites[i], why, sizeof(why)) != CSB_OK)
			return csb__fail(err, errlen, "$.sites[%zu].name: %s", i, why);
		if ((j = site_find(t, t->sites[i], i)) < i)
			return csb__fail(err, errlen,
			                 "$.sites[%zu].name: site '%s' is listed twice (also $.sites[%zu])",
			                 i, t->sites[i], j);
	}
	return CSB_OK;
}

/* What one pool must be on its own and against the pools before it. */
static csb_err pool_check(const csb_topology *t, size_t i, size_t *cms, char *err,
                          size_t errlen)
{
	const csb_topo_pool *p = &t->pools[i];
	char why[160], q[80];

	if (csb_fqdn_parse(p->fqdn, NULL, why, sizeof(why)) != CSB_OK)
		return csb__fail(err, errlen, "$.pools[%zu].fqdn: '%s' is not a valid FQDN (%s)", i,
		                 csb__quote(p->fqdn, q, sizeof(q)), why);
	for (size_t j = 0; j < i; j++) {
		if (strcasecmp(t->pools[j].fqdn, p->fqdn) == 0)
			return csb__fail(err, errlen, "$.pools[%zu].fqdn: %s is listed twice (also $.pools[%zu])",
			                 i, p->fqdn, j);
	}
	if (p->site[0] == '\0')
		return csb__fail(err, errlen, "$.pools[%zu].site: must not be empty", i);
	if (site_find(t, p->site, t->n_sites) == t->n_sites)
		return csb__fail(err, errlen, "$.pools[%zu].site: site '%s' is not listed in $.sites", i,
		                 csb__quote(p->site, q, sizeof(q)));
	if (agent_check(p->agent, why, sizeof(why)) != CSB_OK)
		return csb__fail(err, errlen, "$.pools[%zu].agent: %s", i, why);
	for (size_t j = 0; j < i; j++) {
		if (strcasecmp(t->pools[j].agent, p->agent) == 0)
			return csb__fail(err, errlen, "$.pools[%zu].agent: %s is also the agent of $.pools[%zu]",
			                 i, p->agent, j);
	}
	if (p->backup[0] != '\0') {
		if (csb_fqdn_parse(p->backup, NULL, why, sizeof(why)) != CSB_OK)
			return csb__fail(err, errlen, "$.pools[%zu].backup: '%s' is not a valid FQDN (%s)", i,
			                 csb__quote(p->backup, q, sizeof(q)), why);
		if (strcasecmp(p->backup, p->fqdn) == 0)
			return csb__fail(err, errlen, "$.pools[%zu].backup: %s cannot be its own backup pool",
			                 i, p->fqdn);
	}
	if (p->hosts_cms) {
		if (*cms < i)
			return csb__fail(err, errlen,
			                 "$.pools[%zu].hostsCms: only one pool may host the CMS (also $.pools[%zu])",
			                 i, *cms);
		*cms = i;
	}
	return CSB_OK;
}

/* The pairing is 1:1 and symmetric: A's backup B is a pool here and B's backup is A. */
static csb_err pairing_check(const csb_topology *t, size_t i, char *err, size_t errlen)
{
	const csb_topo_pool *p = &t->pools[i], *b;

	if (p->backup[0] == '\0')
		return CSB_OK;
	b = csb_topology_pool(t, p->backup);
	if (b == NULL)
		return csb__fail(err, errlen, "$.pools[%zu].backup: %s is not a pool of this topology", i,
		                 p->backup);
	if (b->backup[0] == '\0')
		return csb__fail(err, errlen,
		                 "$.pools[%zu].backup: %s backs up to %s, but %s has no backup pool", i,
		                 p->fqdn, b->fqdn, b->fqdn);
	if (strcasecmp(b->backup, p->fqdn) != 0)
		return csb__fail(err, errlen,
		                 "$.pools[%zu].backup: %s backs up to %s, but %s backs up to %s", i,
		                 p->fqdn, b->fqdn, b->fqdn, b->backup);
	return CSB_OK;
}

static csb_err pools_check(const csb_topology *t, char *err, size_t errlen)
{
	size_t cms = t->n_pools;
	csb_err rv;

	if (t->n_pools > CSB_TOPOLOGY_MAX_POOLS)
		return csb__fail(err, errlen, "$.pools: more than %d pools", CSB_TOPOLOGY_MAX_POOLS);
	for (size_t i = 0; i < t->n_pools; i++) {
		if ((rv = pool_check(t, i, &cms, err, errlen)) != CSB_OK)
			return rv;
	}
	for (size_t i = 0; i < t->n_pools; i++) {
		if ((rv = pairing_check(t, i, err, errlen)) != CSB_OK)
			return rv;
	}
	if (t->n_pools > 0 && cms == t->n_pools)
		return csb__fail(err, errlen, "$.pools: one pool must host the CMS (hostsCms)");
	return CSB_OK;
}

static csb_err groups_check(const csb_topo_principal *p, size_t i, char *err, size_t errlen)
{
	char why[160];

	if (p->n_groups > CSB_TOPOLOGY_MAX_GROUPS)
		return csb__fail(err, errlen, "$.principals[%zu].groups: more than %d groups", i,
		                 CSB_TOPOLOGY_MAX_GROUPS);
	for (size_t g = 0; g < p->n_groups; g++) {
		if (csb__group_check(p->groups[g], why, sizeof(why)) != CSB_OK)
			return csb__fail(err, errlen, "$.principals[%zu].groups[%zu]: %s", i, g, why);
		for (size_t h = 0; h < g; h++) {
			if (strcasecmp(p->groups[h], p->groups[g]) == 0)
				return csb__fail(err, errlen,
				                 "$.principals[%zu].groups[%zu]: group '%s' is listed twice "
				                 "(also $.principals[%zu].groups[%zu])",
				                 i, g, p->groups[g], i, h);
		}
	}
	return CSB_OK;
}

static csb_err principals_check(const csb_topology *t, char *err, size_t errlen)
{
	char why[160];
	csb_err rv;

	if (t->n_principals > CSB_TOPOLOGY_MAX_PRINCIPALS)
		return csb__fail(err, errlen, "$.principals: more than %d principals",
		                 CSB_TOPOLOGY_MAX_PRINCIPALS);
	for (size_t i = 0; i < t->n_principals; i++) {
		const csb_topo_principal *p = &t->principals[i];

		if (csb_topology_name_check(p->name, why, sizeof(why)) != CSB_OK)
			return csb__fail(err, errlen, "$.principals[%zu].name: %s", i, why);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(t->principals[j].name, p->name) == 0)
				return csb__fail(err, errlen,
				                 "$.principals[%zu].name: principal '%s' is listed twice "
				                 "(also $.principals[%zu])",
				                 i, p->name, j);
		}
		if ((rv = groups_check(p, i, err, errlen)) != CSB_OK)
			return rv;
	}
	return CSB_OK;
}

csb_err csb_topology_check(const csb_topology *t, char *err, size_t errlen)
{
	csb_err rv;

	if (t == NULL)
		return csb__fail(err, errlen, "$: no topology");
	if ((rv = sites_check(t, err, errlen)) != CSB_OK)
		return rv;
	if ((rv = pools_check(t, err, errlen)) != CSB_OK)
		return rv;
	return principals_check(t, err, errlen);
}
