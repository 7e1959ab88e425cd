/* The largest topology the coordinator accepts — CSB_TOPOLOGY_MAX_SITES sites,
 * CSB_TOPOLOGY_MAX_POOLS pools (the coordinator keeps a client per pool, COORD_CLIENTS_MAX)
 * and CSB_TOPOLOGY_MAX_PRINCIPALS principals of CSB_TOPOLOGY_MAX_GROUPS groups, every name
 * at its longest and the groups made of characters JSON escapes — must travel whole as the
 * csb.JsonDoc that GetTopology answers with: the bound common/wire.c sets on that field
 * follows from this test, not from a guess. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/wire.h"
#include "model/topology.h"
#include "proto/admin.pb-c.h"

/* s of exactly len characters: prefix, then fill up to len. */
static void fill(char *s, size_t len, const char *prefix, char fill_with)
{
	size_t n = strlen(prefix);

	memcpy(s, prefix, n);
	memset(s + n, fill_with, len - n);
	s[len] = '\0';
}

/* An FQDN of CSB_FQDN_MAX characters in labels of at most 63, unique by i. */
static void long_fqdn(char *out, size_t i)
{
	char label[64];

	snprintf(label, sizeof(label), "p%04u", (unsigned)i);
	fill(out, 63, label, 'a');
	strcat(out, ".");
	fill(label, 63, "", 'b');
	strcat(out, label);
	strcat(out, ".");
	strcat(out, label);
	strcat(out, ".");
	fill(label, CSB_FQDN_MAX - strlen(out), "", 'c');
	strcat(out, label);
}

static csb_topology *largest(void)
{
	csb_topology *t = calloc(1, sizeof(*t));
	char name[32];

	assert_non_null(t);
	t->n_sites = CSB_TOPOLOGY_MAX_SITES;
	t->n_pools = CSB_TOPOLOGY_MAX_POOLS;
	t->n_principals = CSB_TOPOLOGY_MAX_PRINCIPALS;
	assert_non_null(t->sites = calloc(t->n_sites, sizeof(*t->sites)));
	assert_non_null(t->pools = calloc(t->n_pools, sizeof(*t->pools)));
	assert_non_null(t->principals = calloc(t->n_principals, sizeof(*t->principals)));
	for (size_t i = 0; i < t->n_sites; i++) {
		snprintf(name, sizeof(name), "site%04u", (unsigned)i);
		fill(t->sites[i], CSB_NAME_MAX, name, 's');
	}
	for (size_t i = 0; i < t->n_pools; i++) {
		csb_topo_pool *p = &t->pools[i];
		char host[CSB_AGENT_URL_MAX + 1];
		int n;

		long_fqdn(p->fqdn, i);
		long_fqdn(p->backup, i ^ 1u);
		snprintf(p->site, sizeof(p->site), "%s", t->sites[i % t->n_sites]);
		/* tls+tcp://HOST:PORT at CSB_AGENT_URL_MAX characters. */
		fill(host, CSB_AGENT_URL_MAX - strlen("tls+tcp://") - strlen(":10000"), "h", 'h');
		n = snprintf(p->agent, sizeof(p->agent), "tls+tcp://%.240s:%u", host,
		             10000 + (unsigned)i);
		assert_int_equal(n, CSB_AGENT_URL_MAX);
		p->hosts_cms = i == 0;
	}
	for (size_t i = 0; i < t->n_principals; i++) {
		csb_topo_principal *pr = &t->principals[i];

		snprintf(name, sizeof(name), "user%04u", (unsigned)i);
		fill(pr->name, CSB_NAME_MAX, name, 'u');
		pr->n_groups = CSB_TOPOLOGY_MAX_GROUPS;
		assert_non_null(pr->groups = calloc(pr->n_groups, sizeof(*pr->groups)));
		/* '"' and '\\' take two bytes each in JSON: the longest a group can be written. */
		for (size_t g = 0; g < pr->n_groups; g++) {
			fill(pr->groups[g], CSB_NAME_MAX, "", g % 2 ? '"' : '\\');
			pr->groups[g][0] = "abcdefghijklmnopqrstuvwxyz012345"[g];
		}
	}
	return t;
}

static void test_largest_topology_fits_json_doc(void **state)
{
	Csb__JsonDoc d = CSB__JSON_DOC__INIT;
	ProtobufCMessage *m;
	csb_topology *t = largest(), *back;
	char err[256] = "", want[128];
	uint8_t *buf;
	size_t len, json_len;
	char *json;

	(void)state;
	assert_int_equal(csb_topology_check(t, err, sizeof(err)), CSB_OK);
	assert_non_null(json = csb_topology_to_json(t));
	json_len = strlen(json);
	print_message("largest topology: %zu bytes of JSON, bound %u\n", json_len,
	              CSB_WIRE_JSON_DOC_MAX);
	assert_true(json_len <= CSB_WIRE_JSON_DOC_MAX);

	/* As GetTopology sends it and the CLI decodes it. */
	d.json = json;
	assert_int_equal(csb_wire_pack(&d.base, &buf, &len), CSB_OK);
	assert_int_equal(csb_wire_unpack(&csb__json_doc__descriptor, buf, len, &m, err, sizeof(err)),
	                 CSB_OK);
	assert_int_equal(csb_topology_parse(((Csb__JsonDoc *)m)->json, json_len, &back, err,
	                                    sizeof(err)),
	                 CSB_OK);
	assert_true(csb_topology_equal(t, back));
	csb_topology_free(back);
	protobuf_c_message_free_unpacked(m, NULL);
	free(buf);
	free(json);
	csb_topology_free(t);

	/* One byte over the bound is refused, naming the field. */
	assert_non_null(json = malloc(CSB_WIRE_JSON_DOC_MAX + 2));
	memset(json, ' ', CSB_WIRE_JSON_DOC_MAX + 1);
	json[CSB_WIRE_JSON_DOC_MAX + 1] = '\0';
	d.json = json;
	assert_int_equal(csb_wire_pack(&d.base, &buf, &len), CSB_OK);
	assert_int_equal(csb_wire_unpack(&csb__json_doc__descriptor, buf, len, &m, err, sizeof(err)),
	                 CSB_ETOOBIG);
	snprintf(want, sizeof(want), "csb.JsonDoc.json: %u bytes, at most %u",
	         CSB_WIRE_JSON_DOC_MAX + 1, CSB_WIRE_JSON_DOC_MAX);
	assert_string_equal(err, want);
	free(buf);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_largest_topology_fits_json_doc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
