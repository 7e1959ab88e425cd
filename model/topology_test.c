/* Tests for the topology: parsing, the canonical JSON, every refusal with its exact line,
 * hand-built topologies and the lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/topology.h"

/* JSON written with ' for " so the documents below stay readable. */
static char *dq(const char *s)
{
	char *out = strdup(s);

	assert_non_null(out);
	for (char *p = out; *p != '\0'; p++) {
		if (*p == '\'')
			*p = '"';
	}
	return out;
}

static csb_topology *parse_ok(const char *q)
{
	char *json = dq(q), err[256] = "";
	csb_topology *t = (csb_topology *)1;

	if (csb_topology_parse(json, strlen(json), &t, err, sizeof(err)) != CSB_OK)
		fail_msg("refused: %s", err);
	free(json);
	assert_non_null(t);
	return t;
}

static void refuse_raw(const char *json, const char *want)
{
	char err[512] = "";
	csb_topology *t = (csb_topology *)1;

	assert_int_equal(csb_topology_parse(json, strlen(json), &t, err, sizeof(err)), CSB_EINVAL);
	assert_null(t);
	assert_string_equal(err, want);
}

static void refuse(const char *q, const char *want)
{
	char *json = dq(q);

	refuse_raw(json, want);
	free(json);
}

#define SITES "'sites':[{'name':'Redmond'},{'name':'Dublin'}]"
#define A1 "'agent':'tls+tcp://127.0.0.1:7101'"
#define A2 "'agent':'tls+tcp://127.0.0.1:7102'"
#define A3 "'agent':'tls+tcp://127.0.0.1:7103'"
#define A4 "'agent':'tls+tcp://127.0.0.1:7104'"
#define P1                                                                               \
	"{'fqdn':'pool01.csb.test','site':'Redmond'," A1 ",'backup':'pool02.csb.test',"        \
	"'hostsCms':true}"
#define P2 "{'fqdn':'pool02.csb.test','site':'Dublin'," A2 ",'backup':'pool01.csb.test'}"
/* A topology of two paired pools around one changed pool (the third). */
#define WITH3(p3) "{" SITES ",'pools':[" P1 "," P2 "," p3 "]}"

static const char good4[] =
	"{'sites':[{'name':'Redmond'},{'name':'Dublin'}],"
	" 'pools':["
	"  {'fqdn':'Pool01.CSB.test','site':'Redmond','agent':'tls+tcp://127.0.0.1:7101',"
	"   'backup':'pool02.csb.test','hostsCms':true},"
	"  {'fqdn':'pool02.csb.test','site':'Dublin','agent':'tls+tcp://127.0.0.1:7102',"
	"   'backup':'POOL01.csb.test'},"
	"  {'fqdn':'pool03.csb.test','site':'Redmond','agent':'tls+tcp://[::1]:7103',"
	"   'backup':'pool04.csb.test','hostsCms':false},"
	"  {'fqdn':'pool04.csb.test','site':'dublin','agent':'tls+tcp://pool04.csb.test:65535',"
	"   'backup':'pool03.csb.test'}],"
	" 'principals':["
	"  {'name':'admin','groups':['RTCUniversalServerAdmins']},"
	"  {'name':'Help Desk','groups':['CsHelpdesk','Operators']},"
	"  {'name':'nobody'}]}";

static void test_parse_good(void **state)
{
	csb_topology *t = parse_ok(good4);

	(void)state;
	assert_int_equal(t->n_sites, 2);
	assert_string_equal(t->sites[0], "Redmond");
	assert_string_equal(t->sites[1], "Dublin");
	assert_int_equal(t->n_pools, 4);
	/* FQDNs are stored lowercase, backups too. */
	assert_string_equal(t->pools[0].fqdn, "pool01.csb.test");
	assert_string_equal(t->pools[0].site, "Redmond");
	assert_string_equal(t->pools[0].agent, "tls+tcp://127.0.0.1:7101");
	assert_string_equal(t->pools[0].backup, "pool02.csb.test");
	assert_true(t->pools[0].hosts_cms);
	assert_string_equal(t->pools[1].backup, "pool01.csb.test");
	assert_false(t->pools[1].hosts_cms);
	assert_string_equal(t->pools[2].agent, "tls+tcp://[::1]:7103");
	assert_false(t->pools[2].hosts_cms);
	assert_string_equal(t->pools[3].site, "dublin"); /* as written; sites ignore case */
	assert_int_equal(t->n_principals, 3);
	assert_string_equal(t->principals[0].name, "admin");
	assert_int_equal(t->principals[0].n_groups, 1);
	assert_string_equal(t->principals[0].groups[0], "RTCUniversalServerAdmins");
	assert_string_equal(t->principals[1].name, "Help Desk");
	assert_int_equal(t->principals[1].n_groups, 2);
	assert_string_equal(t->principals[1].groups[1], "Operators");
	assert_int_equal(t->principals[2].n_groups, 0);
	assert_null(t->principals[2].groups);
	csb_topology_free(t);
}

static void test_round_trip(void **state)
{
	csb_topology *t = parse_ok(good4), *u = NULL;
	char *a = csb_topology_to_json(t), *b, err[256] = "";

	(void)state;
	assert_non_null(a);
	assert_int_equal(csb_topology_parse(a, strlen(a), &u, err, sizeof(err)), CSB_OK);
	assert_true(csb_topology_equal(t, u));
	b = csb_topology_to_json(u);
	assert_non_null(b);
	assert_string_equal(a, b);
	free(b);
	b = csb_topology_to_json(t);
	assert_string_equal(a, b);
	/* A change is seen. */
	u->pools[3].hosts_cms = true;
	assert_false(csb_topology_equal(t, u));
	assert_false(csb_topology_equal(t, NULL));
	assert_true(csb_topology_equal(NULL, NULL));
	free(a);
	free(b);
	csb_topology_free(t);
	csb_topology_free(u);
}

static void test_canonical_text(void **state)
{
	csb_topology *t = parse_ok("{'principals':[{'groups':['G'],'name':'ops'}],"
	                           "'pools':[{'hostsCms':true,'agent':'tls+tcp://h.test:1',"
	                           "'site':'S','fqdn':'P1.test'}],'sites':[{'name':'S'}]}");
	char *s = csb_topology_to_json(t);

	(void)state;
	assert_string_equal(s, "{\n"
	                       "  \"sites\": [\n"
	                       "    {\n"
	                       "      \"name\": \"S\"\n"
	                       "    }\n"
	                       "  ],\n"
	                       "  \"pools\": [\n"
	                       "    {\n"
	                       "      \"fqdn\": \"p1.test\",\n"
	                       "      \"site\": \"S\",\n"
	                       "      \"agent\": \"tls+tcp://h.test:1\",\n"
	                       "      \"hostsCms\": true\n"
	                       "    }\n"
	                       "  ],\n"
	                       "  \"principals\": [\n"
	                       "    {\n"
	                       "      \"name\": \"ops\",\n"
	                       "      \"groups\": [\n"
	                       "        \"G\"\n"
	                       "      ]\n"
	                       "    }\n"
	                       "  ]\n"
	                       "}");
	free(s);
	csb_topology_free(t);
}

static void test_empty_and_optional(void **state)
{
	csb_topology *t = parse_ok("{'sites':[],'pools':[]}");
	char *s;

	(void)state;
	assert_int_equal(t->n_sites + t->n_pools + t->n_principals, 0);
	assert_null(csb_topology_cms_host(t));
	s = csb_topology_to_json(t);
	assert_string_equal(s, "{\n  \"sites\": [],\n  \"pools\": [],\n  \"principals\": []\n}");
	free(s);
	s = csb_topology_to_json(NULL);
	assert_string_equal(s, "{\n  \"sites\": [],\n  \"pools\": [],\n  \"principals\": []\n}");
	free(s);
	csb_topology_free(t);
	/* A pool may have no backup pool: absent, null or "". */
	t = parse_ok("{'sites':[{'name':'S'}],'pools':["
	             "{'fqdn':'a.test','site':'S','agent':'tls+tcp://h:1','hostsCms':true},"
	             "{'fqdn':'b.test','site':'S','agent':'tls+tcp://h:2','backup':null},"
	             "{'fqdn':'c.test','site':'S','agent':'tls+tcp://h:3','backup':''}],"
	             "'principals':[]}");
	assert_string_equal(t->pools[0].backup, "");
	assert_string_equal(t->pools[1].backup, "");
	assert_string_equal(t->pools[2].backup, "");
	assert_string_equal(csb_topology_cms_host(t)->fqdn, "a.test");
	csb_topology_free(t);
}

static void test_refuse_json(void **state)
{
	(void)state;
	refuse_raw("", "the file is empty");
	{
		char err[64] = "";
		csb_topology *t = (csb_topology *)1;

		/* As the coordinator gets it: an empty bytes field is NULL, 0. */
		assert_int_equal(csb_topology_parse(NULL, 0, &t, err, sizeof(err)), CSB_EINVAL);
		assert_null(t);
		assert_string_equal(err, "the file is empty");
	}
	refuse_raw(" \n", "line 2, column 0: '[' or '{' expected near end of file");
	refuse_raw("{\n  \"sites\": [],\n    \"pools\": [,]\n}",
	           "line 3, column 15: unexpected token near ','");
	refuse_raw("{\"sites\":[],\"pools\":[]} x", "line 1, column 25: end of file expected near 'x'");
	refuse_raw("{\"sites\":[],\"sites\":[],\"pools\":[]}",
	           "line 1, column 19: duplicate object key near '\"sites\"'");
	refuse("[]", "$: must be an object");
	refuse("{'pools':[]}", "$.sites: is missing");
	refuse("{'sites':[]}", "$.pools: is missing");
	refuse("{'sites':[],'pools':{}}", "$.pools: must be an array");
	refuse("{'sites':{},'pools':[]}", "$.sites: must be an array");
	refuse("{'sites':[],'pools':[],'principals':'x'}", "$.principals: must be an array");
	refuse("{'sites':[],'pools':[],'extra':1}", "$.extra: unknown key");
	/* A key cannot break the line. */
	refuse("{'sites':[],'pools':[],'a\\nb':1}", "$.a?b: unknown key");
	refuse("{'sites':[1],'pools':[]}", "$.sites[0]: must be an object");
	refuse("{'sites':[{}],'pools':[]}", "$.sites[0].name: is missing");
	refuse("{'sites':[{'name':7}],'pools':[]}", "$.sites[0].name: must be a string");
	refuse("{'sites':[{'name':'S','id':1}],'pools':[]}", "$.sites[0].id: unknown key");
	refuse("{" SITES ",'pools':[" P1 ",5]}", "$.pools[1]: must be an object");
	refuse("{" SITES ",'pools':[" P1 ",{'fqdn':5}]}", "$.pools[1].fqdn: must be a string");
	refuse("{" SITES ",'pools':[{'fqdn':'pool01.csb.test','site':'Redmond'," A1
	       ",'bakup':'pool02.csb.test'}]}",
	       "$.pools[0].bakup: unknown key");
	refuse("{" SITES ",'pools':[{'fqdn':'pool01.csb.test','site':'Redmond'}]}",
	       "$.pools[0].agent: is missing");
	refuse("{" SITES ",'pools':[{'fqdn':'pool01.csb.test'," A1 "}]}",
	       "$.pools[0].site: is missing");
	refuse("{" SITES ",'pools':[{'site':'Redmond'," A1 "}]}", "$.pools[0].fqdn: is missing");
	refuse("{" SITES ",'pools':[{'fqdn':'pool01.csb.test','site':'Redmond'," A1
	       ",'hostsCms':'yes'}]}",
	       "$.pools[0].hostsCms: must be true or false");
	refuse("{" SITES ",'pools':[{'fqdn':'pool01.csb.test','site':'Redmond'," A1
	       ",'backup':1}]}",
	       "$.pools[0].backup: must be a string");
	refuse("{" SITES ",'pools':[],'principals':[{'name':'a','groups':'G'}]}",
	       "$.principals[0].groups: must be an array");
	refuse("{" SITES ",'pools':[],'principals':[{'name':'a','groups':['G',3]}]}",
	       "$.principals[0].groups[1]: must be a string");
	refuse("{" SITES ",'pools':[],'principals':[{'groups':[]}]}",
	       "$.principals[0].name: is missing");
	refuse("{" SITES ",'pools':[],'principals':[{'name':'a','role':'x'}]}",
	       "$.principals[0].role: unknown key");
}

static void test_refuse_fqdns(void **state)
{
	(void)state;
	refuse(WITH3("{'fqdn':'pool_3.test','site':'Redmond'," A3 "}"),
	       "$.pools[2].fqdn: 'pool_3.test' is not a valid FQDN (only letters, digits, '-' "
	       "and '.' are allowed)");
	refuse(WITH3("{'fqdn':'pool03','site':'Redmond'," A3 "}"),
	       "$.pools[2].fqdn: 'pool03' is not a valid FQDN (not fully qualified (no domain))");
	refuse(WITH3("{'fqdn':'pool03.csb.test','site':'Redmond'," A3 ",'backup':'-x.test'}"),
	       "$.pools[2].backup: '-x.test' is not a valid FQDN (a label starts with '-')");
	refuse("{" SITES ",'pools':[" P1 "," P2 ",{'fqdn':'pool03.csb.test','site':'Redmond',"
	       A3 "},{'fqdn':'POOL01.csb.test','site':'Redmond'," A4 "}]}",
	       "$.pools[3].fqdn: pool01.csb.test is listed twice (also $.pools[0])");
}

static void test_refuse_pairing(void **state)
{
	(void)state;
	refuse("{" SITES ",'pools':[{'fqdn':'pool01.csb.test','site':'Redmond'," A1
	       ",'backup':'Pool01.csb.test','hostsCms':true}]}",
	       "$.pools[0].backup: pool01.csb.test cannot be its own backup pool");
	refuse("{" SITES ",'pools':[{'fqdn':'pool01.csb.test','site':'Redmond'," A1
	       ",'backup':'pool09.csb.test','hostsCms':true}]}",
	       "$.pools[0].backup: pool09.csb.test is not a pool of this topology");
	/* 1 -> 2, 2 -> 3, 3 -> 2 */
	refuse("{" SITES ",'pools':[{'fqdn':'pool01.csb.test','site':'Redmond'," A1
	       ",'backup':'pool02.csb.test','hostsCms':true},"
	       "{'fqdn':'pool02.csb.test','site':'Dublin'," A2 ",'backup':'pool03.csb.test'},"
	       "{'fqdn':'pool03.csb.test','site':'Dublin'," A3 ",'backup':'pool02.csb.test'}]}",
	       "$.pools[0].backup: pool01.csb.test backs up to pool02.csb.test, but "
	       "pool02.csb.test backs up to pool03.csb.test");
	refuse("{" SITES ",'pools':[{'fqdn':'pool01.csb.test','site':'Redmond'," A1
	       ",'backup':'pool02.csb.test','hostsCms':true},"
	       "{'fqdn':'pool02.csb.test','site':'Dublin'," A2 "}]}",
	       "$.pools[0].backup: pool01.csb.test backs up to pool02.csb.test, but "
	       "pool02.csb.test has no backup pool");
	/* Reported where the one-sided pairing is written. */
	refuse("{" SITES ",'pools':[{'fqdn':'pool01.csb.test','site':'Redmond'," A1
	       ",'hostsCms':true},"
	       "{'fqdn':'pool02.csb.test','site':'Dublin'," A2 ",'backup':'pool01.csb.test'}]}",
	       "$.pools[1].backup: pool02.csb.test backs up to pool01.csb.test, but "
	       "pool01.csb.test has no backup pool");
}

static void test_refuse_sites_and_cms(void **state)
{
	(void)state;
	refuse(WITH3("{'fqdn':'pool03.csb.test','site':'x'," A3 "}"),
	       "$.pools[2].site: site 'x' is not listed in $.sites");
	refuse(WITH3("{'fqdn':'pool03.csb.test','site':''," A3 "}"),
	       "$.pools[2].site: must not be empty");
	refuse("{'sites':[{'name':'Redmond'},{'name':'REDMOND'}],'pools':[]}",
	       "$.sites[1].name: site 'REDMOND' is listed twice (also $.sites[0])");
	refuse("{'sites':[{'name':''}],'pools':[]}", "$.sites[0].name: must not be empty");
	refuse("{'sites':[{'name':'a/b'}],'pools':[]}",
	       "$.sites[0].name: 'a/b' may only hold letters, digits, '.', '-', '_' and spaces");
	refuse("{'sites':[{'name':' a'}],'pools':[]}",
	       "$.sites[0].name: ' a' must not start or end with a space");
	refuse("{'sites':[{'name':'"
	       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}],'pools':[]}",
	       "$.sites[0].name: is longer than 64 characters");
	refuse(WITH3("{'fqdn':'pool03.csb.test','site':'"
	             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'," A3 "}"),
	       "$.pools[2].site: is longer than 64 characters");
	refuse(WITH3("{'fqdn':'pool03.csb.test','site':'Dublin'," A3 ",'hostsCms':true}"),
	       "$.pools[2].hostsCms: only one pool may host the CMS (also $.pools[0])");
	refuse("{" SITES ",'pools':[{'fqdn':'pool01.csb.test','site':'Redmond'," A1 "}]}",
	       "$.pools: one pool must host the CMS (hostsCms)");
}

static void test_refuse_agents(void **state)
{
	static const struct {
		const char *agent, *want;
	} bad[] = {
		{"tcp://127.0.0.1:7103", "$.pools[2].agent: must be a tls+tcp:// URL"},
		{"ipc:///tmp/a", "$.pools[2].agent: must be a tls+tcp:// URL"},
		{"TLS+TCP://h:1", "$.pools[2].agent: must be a tls+tcp:// URL"},
		{"", "$.pools[2].agent: must be a tls+tcp:// URL"},
		{"tls+tcp://", "$.pools[2].agent: 'tls+tcp://' has no host (tls+tcp://HOST:PORT)"},
		{"tls+tcp://:7103", "$.pools[2].agent: 'tls+tcp://:7103' has no host "
		                    "(tls+tcp://HOST:PORT)"},
		{"tls+tcp://h_1:7103", "$.pools[2].agent: 'tls+tcp://h_1:7103' has an invalid host"},
		{"tls+tcp://*:7103", "$.pools[2].agent: 'tls+tcp://*:7103' has an invalid host"},
		{"tls+tcp://[]:7103", "$.pools[2].agent: 'tls+tcp://[]:7103' has an invalid host"},
		{"tls+tcp://[::1:7103", "$.pools[2].agent: 'tls+tcp://[::1:7103' has an invalid host"},
		{"tls+tcp://h", "$.pools[2].agent: 'tls+tcp://h' has no port (tls+tcp://HOST:PORT)"},
		{"tls+tcp://[::1]", "$.pools[2].agent: 'tls+tcp://[::1]' has no port "
		                    "(tls+tcp://HOST:PORT)"},
		{"tls+tcp://h:", "$.pools[2].agent: 'tls+tcp://h:' has an invalid port (1 to 65535)"},
		{"tls+tcp://h:0", "$.pools[2].agent: 'tls+tcp://h:0' has an invalid port (1 to 65535)"},
		{"tls+tcp://h:65536", "$.pools[2].agent: 'tls+tcp://h:65536' has an invalid port "
		                      "(1 to 65535)"},
		{"tls+tcp://h:-1", "$.pools[2].agent: 'tls+tcp://h:-1' has an invalid port "
		                   "(1 to 65535)"},
		{"tls+tcp://h:7103/x", "$.pools[2].agent: 'tls+tcp://h:7103/x' has an invalid port "
		                       "(1 to 65535)"},
		{"tls+tcp://127.0.0.1:7101", "$.pools[2].agent: tls+tcp://127.0.0.1:7101 is also the "
		                             "agent of $.pools[0]"},
	};
	char doc[1024], long_url[300];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(doc, sizeof(doc),
		         WITH3("{'fqdn':'pool03.csb.test','site':'Redmond','agent':'%s'}"),
		         bad[i].agent);
		refuse(doc, bad[i].want);
	}
	memcpy(long_url, "tls+tcp://", 10);
	memset(long_url + 10, 'h', 246);
	strcpy(long_url + 256, ":1");
	snprintf(doc, sizeof(doc), WITH3("{'fqdn':'pool03.csb.test','site':'Redmond','agent':'%s'}"),
	         long_url);
	refuse(doc, "$.pools[2].agent: is longer than 255 characters");
}

static void test_refuse_principals(void **state)
{
	char doc[4096];
	size_t n;

	(void)state;
	refuse("{'sites':[],'pools':[],'principals':[{'name':'alice'},{'name':'alice'}]}",
	       "$.principals[1].name: principal 'alice' is listed twice (also $.principals[0])");
	refuse("{'sites':[],'pools':[],'principals':[{'name':''}]}",
	       "$.principals[0].name: must not be empty");
	refuse("{'sites':[],'pools':[],'principals':[{'name':'a@b'}]}",
	       "$.principals[0].name: 'a@b' may only hold letters, digits, '.', '-', '_' and spaces");
	refuse("{'sites':[],'pools':[],'principals':[{'name':'a','groups':['']}]}",
	       "$.principals[0].groups[0]: must not be empty");
	refuse("{'sites':[],'pools':[],'principals':[{'name':'a','groups':['G\\u0001']}]}",
	       "$.principals[0].groups[0]: must not hold control characters");
	refuse("{'sites':[],'pools':[],'principals':[{'name':'a','groups':['Ops','G','ops']}]}",
	       "$.principals[0].groups[2]: group 'ops' is listed twice "
	       "(also $.principals[0].groups[0])");
	refuse("{'sites':[],'pools':[],'principals':[{'name':'a','groups':['"
	       "ggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg']}]}",
	       "$.principals[0].groups[0]: is longer than 64 characters");
	/* 32 groups pass, 33 do not. */
	n = (size_t)snprintf(doc, sizeof(doc), "{'sites':[],'pools':[],'principals':[{'name':'a',"
	                                       "'groups':['g0'");
	for (int g = 1; g < 32; g++)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, ",'g%d'", g);
	strcpy(doc + n, "]}]}");
	csb_topology_free(parse_ok(doc));
	strcpy(doc + n, ",'g32']}]}");
	refuse(doc, "$.principals[0].groups: more than 32 groups");
	/* Names compare exactly: these are two principals. */
	csb_topology_free(
		parse_ok("{'sites':[],'pools':[],'principals':[{'name':'alice'},{'name':'Alice'}]}"));
}

/* A document with n pools (paired 1-2, 3-4, ...) and n principals. */
static char *big_doc(size_t pools, size_t principals)
{
	size_t cap = 256 + pools * 160 + principals * 40, n;
	char *doc = malloc(cap);

	assert_non_null(doc);
	n = (size_t)snprintf(doc, cap, "{\"sites\":[{\"name\":\"S\"}],\"pools\":[");
	for (size_t i = 0; i < pools; i++) {
		size_t partner = i % 2 == 0 ? i + 1 : i - 1;

		n += (size_t)snprintf(doc + n, cap - n,
		                      "%s{\"fqdn\":\"p%zu.test\",\"site\":\"S\",\"agent\":\"tls+tcp://h:%zu\","
		                      "\"backup\":\"p%zu.test\",\"hostsCms\":%s}",
		                      i > 0 ? "," : "", i, i + 1, partner, i == 0 ? "true" : "false");
	}
	n += (size_t)snprintf(doc + n, cap - n, "],\"principals\":[");
	for (size_t i = 0; i < principals; i++)
		n += (size_t)snprintf(doc + n, cap - n, "%s{\"name\":\"u%zu\"}", i > 0 ? "," : "", i);
	snprintf(doc + n, cap - n, "]}");
	return doc;
}

static void test_limits(void **state)
{
	char *doc, err[256];
	csb_topology *t = NULL;

	(void)state;
	doc = big_doc(1000, 1000);
	assert_int_equal(csb_topology_parse(doc, strlen(doc), &t, err, sizeof(err)), CSB_OK);
	assert_int_equal(t->n_pools, 1000);
	assert_string_equal(csb_topology_pool(t, "P999.test")->backup, "p998.test");
	csb_topology_free(t);
	free(doc);
	doc = big_doc(1002, 0);
	refuse_raw(doc, "$.pools: more than 1000 pools");
	free(doc);
	doc = big_doc(0, 1001);
	refuse_raw(doc, "$.principals: more than 1000 principals");
	free(doc);
}

/* A hand-built topology goes through the same checks, with the same paths. */
static void test_check_hand_built(void **state)
{
	csb_topology *t = calloc(1, sizeof(*t));
	char err[256];

	(void)state;
	t->n_sites = 1;
	t->sites = calloc(1, sizeof(*t->sites));
	strcpy(t->sites[0], "S");
	t->n_pools = 2;
	t->pools = calloc(2, sizeof(*t->pools));
	strcpy(t->pools[0].fqdn, "a.test");
	strcpy(t->pools[0].site, "S");
	strcpy(t->pools[0].agent, "tls+tcp://h:1");
	strcpy(t->pools[0].backup, "b.test");
	t->pools[0].hosts_cms = true;
	strcpy(t->pools[1].fqdn, "b.test");
	strcpy(t->pools[1].site, "s");
	strcpy(t->pools[1].agent, "tls+tcp://h:2");
	strcpy(t->pools[1].backup, "a.test");
	t->n_principals = 1;
	t->principals = calloc(1, sizeof(*t->principals));
	strcpy(t->principals[0].name, "admin");
	assert_int_equal(csb_topology_check(t, err, sizeof(err)), CSB_OK);
	strcpy(t->pools[1].backup, "c.test");
	assert_int_equal(csb_topology_check(t, err, sizeof(err)), CSB_EINVAL);
	assert_string_equal(err, "$.pools[0].backup: a.test backs up to b.test, but b.test backs "
	                         "up to c.test");
	strcpy(t->pools[1].backup, "a.test");
	t->n_pools = 1001;
	assert_int_equal(csb_topology_check(t, err, sizeof(err)), CSB_EINVAL);
	assert_string_equal(err, "$.pools: more than 1000 pools");
	t->n_pools = 2;
	assert_int_equal(csb_topology_check(NULL, err, sizeof(err)), CSB_EINVAL);
	assert_string_equal(err, "$: no topology");
	/* err may be NULL. */
	strcpy(t->pools[1].fqdn, "A.test");
	assert_int_equal(csb_topology_check(t, NULL, 0), CSB_EINVAL);
	csb_topology_free(t);
	csb_topology_free(NULL);
}

static void test_name_check(void **state)
{
	char err[128];

	(void)state;
	assert_int_equal(csb_topology_name_check("Help Desk_1.a-b", err, sizeof(err)), CSB_OK);
	assert_int_equal(csb_topology_name_check("a ", err, sizeof(err)), CSB_EINVAL);
	assert_string_equal(err, "'a ' must not start or end with a space");
	assert_int_equal(csb_topology_name_check("a\tb", err, sizeof(err)), CSB_EINVAL);
	assert_string_equal(err, "'a?b' may only hold letters, digits, '.', '-', '_' and spaces");
}

static void test_lookups(void **state)
{
	csb_topology *t = parse_ok(good4);

	(void)state;
	assert_ptr_equal(csb_topology_pool(t, "POOL03.csb.TEST"), &t->pools[2]);
	assert_ptr_equal(csb_topology_pool(t, "pool04.csb.test"), &t->pools[3]);
	assert_null(csb_topology_pool(t, "pool05.csb.test"));
	assert_null(csb_topology_pool(t, NULL));
	assert_null(csb_topology_pool(NULL, "pool01.csb.test"));
	assert_ptr_equal(csb_topology_cms_host(t), &t->pools[0]);
	assert_null(csb_topology_cms_host(NULL));
	assert_ptr_equal(csb_topology_principal(t, "Help Desk"), &t->principals[1]);
	assert_null(csb_topology_principal(t, "help desk"));
	assert_null(csb_topology_principal(NULL, "admin"));
	csb_topology_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_canonical_text),
		cmocka_unit_test(test_empty_and_optional),
		cmocka_unit_test(test_refuse_json),
		cmocka_unit_test(test_refuse_fqdns),
		cmocka_unit_test(test_refuse_pairing),
		cmocka_unit_test(test_refuse_sites_and_cms),
		cmocka_unit_test(test_refuse_agents),
		cmocka_unit_test(test_refuse_principals),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_check_hand_built),
		cmocka_unit_test(test_name_check),
		cmocka_unit_test(test_lookups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
