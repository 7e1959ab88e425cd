/* Fault injection for the data model: the n-th allocation fails, for every n until the call
 * succeeds. Our own allocations are wrapped with -Wl,--wrap (see BUILD); jansson's go
 * through json_set_alloc_funcs(). Each failure must come back as CSB_ENOMEM (or NULL),
 * with nothing returned and, under valgrind, nothing leaked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "model/bundle.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

/* Allocations left before one fails (-1: no limit): ours (wrapped) and jansson's. */
static long budget_ours = -1, budget_json = -1;

static int take(long *budget)
{
	if (*budget < 0)
		return 1;
	if (*budget == 0)
		return 0;
	(*budget)--;
	return 1;
}

void *__wrap_malloc(size_t n)
{
	return take(&budget_ours) ? __real_malloc(n) : NULL;
}

void *__wrap_calloc(size_t n, size_t size)
{
	return take(&budget_ours) ? __real_calloc(n, size) : NULL;
}

void *__wrap_realloc(void *p, size_t n)
{
	return take(&budget_ours) ? __real_realloc(p, n) : NULL;
}

static void *json_malloc(size_t n)
{
	return take(&budget_json) ? __real_malloc(n) : NULL;
}

static const char topo_json[] =
	"{\"sites\":[{\"name\":\"S\"}],"
	"\"pools\":[{\"fqdn\":\"pool01.csb.test\",\"site\":\"S\","
	"\"agent\":\"tls+tcp://127.0.0.1:7101\",\"backup\":\"pool02.csb.test\",\"hostsCms\":true},"
	"{\"fqdn\":\"pool02.csb.test\",\"site\":\"S\",\"agent\":\"tls+tcp://127.0.0.1:7102\","
	"\"backup\":\"pool01.csb.test\"}],"
	"\"principals\":[{\"name\":\"admin\",\"groups\":[\"RTCUniversalServerAdmins\",\"Ops\"]}]}";

/* One operation under test: returns its csb_err, checks that a failure returned nothing,
 * and releases what a success returned. */
typedef csb_err (*op_fn)(void);

/* Runs op with the n-th allocation of one kind failing, n = 0, 1, ... until it succeeds.
 * Ours must fail as CSB_ENOMEM. jansson's may also come back as CSB_EINVAL: its lexer
 * reports a failed allocation as a syntax error ("string or '}' expected"), which cannot
 * be told apart from one. Returns how many runs failed. */
static long run(op_fn op, long *budget, bool json)
{
	long n;
	csb_err rv;

	for (n = 0;; n++) {
		*budget = n;
		rv = op();
		*budget = -1;
		if (rv == CSB_OK)
			return n;
		if (rv != CSB_ENOMEM && !(json && rv == CSB_EINVAL))
			fail_msg("allocation %ld: %s", n, csb_err_name(rv));
	}
}

static void run_both(op_fn op, long min_ours, long min_json)
{
	assert_true(run(op, &budget_ours, false) >= min_ours);
	assert_true(run(op, &budget_json, true) >= min_json);
}

static csb_err op_topology_parse(void)
{
	csb_topology *t = (csb_topology *)1;
	char err[256];
	csb_err rv = csb_topology_parse(topo_json, strlen(topo_json), &t, err, sizeof(err));

	if (rv != CSB_OK)
		assert_null(t);
	else
		assert_int_equal(t->n_pools, 2);
	csb_topology_free(rv == CSB_OK ? t : NULL);
	return rv;
}

static csb_err op_config_parse(void)
{
	static const char json[] = "{\"SyncInterval\":\"00:00:30\",\"AuthorizedUniversalGroups\":"
	                           "[\"Ops\",\"CsHelpdesk\"],\"EnableRgsBackupService\":true}";
	csb_backup_config c, before;
	char err[256];
	csb_err rv;

	memset(&c, 0x5a, sizeof(c));
	before = c;
	rv = csb_config_parse(json, strlen(json), &c, err, sizeof(err));
	if (rv != CSB_OK)
		assert_memory_equal(&c, &before, sizeof(c));
	else
		assert_int_equal(c.sync_interval_ms, 30000);
	return rv;
}

static csb_err op_config_to_json(void)
{
	csb_backup_config c;
	char *s;

	csb_config_defaults(&c);
	strcpy(c.groups[0], "Ops");
	c.n_groups = 1;
	s = csb_config_to_json(&c);
	free(s);
	return s != NULL ? CSB_OK : CSB_ENOMEM;
}

/* Set up outside the budgets by the tests below. */
static csb_topology *fixture_topology;
static uint8_t *fixture_zip;
static size_t fixture_len;

static csb_err op_topology_json(void)
{
	char *s = csb_topology_to_json(fixture_topology);

	free(s);
	return s != NULL ? CSB_OK : CSB_ENOMEM;
}

static csb_err op_bundle_write(void)
{
	csb_backup_config c;
	uint8_t *zip = (uint8_t *)1;
	size_t len;
	csb_err rv;

	csb_config_defaults(&c);
	rv = csb_bundle_write(fixture_topology, &c, &zip, &len);
	if (rv != CSB_OK)
		assert_null(zip);
	free(rv == CSB_OK ? zip : NULL);
	return rv;
}

static csb_err op_bundle_read(void)
{
	csb_topology *t = (csb_topology *)1;
	csb_backup_config c, before;
	char err[256];
	csb_err rv;

	memset(&c, 0x5a, sizeof(c));
	before = c;
	rv = csb_bundle_read(fixture_zip, fixture_len, &t, &c, err, sizeof(err));
	if (rv != CSB_OK) {
		assert_null(t);
		assert_memory_equal(&c, &before, sizeof(c));
	} else {
		assert_true(csb_topology_equal(t, fixture_topology));
		csb_topology_free(t);
	}
	return rv;
}

static int setup(void **state)
{
	csb_backup_config c;
	char err[256];

	(void)state;
	csb_config_defaults(&c);
	if (csb_topology_parse(topo_json, strlen(topo_json), &fixture_topology, err,
	                       sizeof(err)) != CSB_OK ||
	    csb_bundle_write(fixture_topology, &c, &fixture_zip, &fixture_len) != CSB_OK)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	csb_topology_free(fixture_topology);
	free(fixture_zip);
	return 0;
}

static void test_topology(void **state)
{
	(void)state;
	run_both(op_topology_parse, 3, 10);
	run_both(op_topology_json, 0, 10);
}

static void test_config(void **state)
{
	(void)state;
	run_both(op_config_parse, 0, 5);
	run_both(op_config_to_json, 0, 5);
}

static void test_bundle(void **state)
{
	(void)state;
	run_both(op_bundle_write, 1, 10);
	run_both(op_bundle_read, 3, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topology),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_bundle),
	};

	json_set_alloc_funcs(json_malloc, free);
	return cmocka_run_group_tests(tests, setup, teardown);
}
