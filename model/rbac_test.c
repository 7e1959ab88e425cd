/* Tests for RBAC: admins by group and as the builtin admin, status readers by
 * AuthorizedUniversalGroups, pools by FQDN, and no topology at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/rbac.h"

static const char topo_json[] =
	"{\"sites\":[{\"name\":\"S\"}],"
	"\"pools\":[{\"fqdn\":\"pool01.csb.test\",\"site\":\"S\","
	"\"agent\":\"tls+tcp://127.0.0.1:7101\",\"backup\":\"pool02.csb.test\",\"hostsCms\":true},"
	"{\"fqdn\":\"pool02.csb.test\",\"site\":\"S\",\"agent\":\"tls+tcp://127.0.0.1:7102\","
	"\"backup\":\"pool01.csb.test\"}],"
	"\"principals\":["
	"{\"name\":\"alice\",\"groups\":[\"RTCUniversalServerAdmins\"]},"
	"{\"name\":\"bob\",\"groups\":[\"rtcuniversalserveradmins\"]},"
	"{\"name\":\"carol\",\"groups\":[\"CsHelpdesk\",\"Other\"]},"
	"{\"name\":\"dave\",\"groups\":[\"Other\"]},"
	"{\"name\":\"erin\"}]}";

static int setup(void **state)
{
	csb_topology *t = NULL;
	char err[256];

	if (csb_topology_parse(topo_json, strlen(topo_json), &t, err, sizeof(err)) != CSB_OK)
		return -1;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	csb_topology_free(*state);
	return 0;
}

static void test_admin(void **state)
{
	const csb_topology *t = *state;

	assert_true(csb_rbac_is_admin(t, "alice", NULL));
	assert_true(csb_rbac_is_admin(t, "bob", NULL)); /* groups ignore case */
	assert_false(csb_rbac_is_admin(t, "Alice", NULL)); /* principals do not */
	assert_false(csb_rbac_is_admin(t, "carol", NULL));
	assert_false(csb_rbac_is_admin(t, "erin", NULL));
	assert_false(csb_rbac_is_admin(t, "mallory", NULL));
	assert_false(csb_rbac_is_admin(t, NULL, "admin"));
	/* The builtin admin, listed in the topology or not. */
	assert_true(csb_rbac_is_admin(t, "admin", "admin"));
	assert_false(csb_rbac_is_admin(t, "Admin", "admin"));
	assert_true(csb_rbac_is_admin(t, "erin", "erin"));
	assert_false(csb_rbac_is_admin(t, "", ""));
	/* Agents are not admins. */
	assert_false(csb_rbac_is_admin(t, "pool01.csb.test", "admin"));
}

static void test_no_topology(void **state)
{
	csb_backup_config c;

	(void)state;
	csb_config_defaults(&c);
	strcpy(c.groups[0], "CsHelpdesk");
	c.n_groups = 1;
	assert_true(csb_rbac_is_admin(NULL, "admin", "admin"));
	assert_false(csb_rbac_is_admin(NULL, "alice", "admin"));
	assert_false(csb_rbac_is_admin(NULL, "alice", NULL));
	assert_true(csb_rbac_may_read_status(NULL, &c, "admin", "admin"));
	assert_false(csb_rbac_may_read_status(NULL, &c, "carol", "admin"));
	assert_false(csb_rbac_is_pool(NULL, "pool01.csb.test"));
}

static void test_status_readers(void **state)
{
	const csb_topology *t = *state;
	csb_backup_config c;

	csb_config_defaults(&c);
	/* No AuthorizedUniversalGroups: admins only. */
	assert_true(csb_rbac_may_read_status(t, &c, "alice", NULL));
	assert_true(csb_rbac_may_read_status(t, &c, "admin", "admin"));
	assert_false(csb_rbac_may_read_status(t, &c, "carol", "admin"));
	assert_false(csb_rbac_may_read_status(t, NULL, "carol", "admin"));
	strcpy(c.groups[0], "Nobody");
	strcpy(c.groups[1], "cshelpdesk");
	c.n_groups = 2;
	assert_true(csb_rbac_may_read_status(t, &c, "carol", "admin"));
	assert_false(csb_rbac_may_read_status(t, &c, "dave", "admin"));
	assert_false(csb_rbac_may_read_status(t, &c, "erin", "admin"));
	assert_false(csb_rbac_may_read_status(t, &c, "mallory", "admin"));
	assert_false(csb_rbac_may_read_status(t, &c, NULL, "admin"));
	assert_true(csb_rbac_may_read_status(t, &c, "bob", NULL));
	/* Reading status is not administering. */
	assert_false(csb_rbac_is_admin(t, "carol", "admin"));
	strcpy(c.groups[1], "Other");
	assert_true(csb_rbac_may_read_status(t, &c, "dave", "admin"));
	assert_true(csb_rbac_may_read_status(t, &c, "carol", "admin"));
}

static void test_pools(void **state)
{
	const csb_topology *t = *state;

	assert_true(csb_rbac_is_pool(t, "pool01.csb.test"));
	assert_true(csb_rbac_is_pool(t, "POOL02.csb.test"));
	assert_false(csb_rbac_is_pool(t, "pool03.csb.test"));
	assert_false(csb_rbac_is_pool(t, "alice"));
	assert_false(csb_rbac_is_pool(t, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_admin, setup, teardown),
		cmocka_unit_test(test_no_topology),
		cmocka_unit_test_setup_teardown(test_status_readers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pools, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
