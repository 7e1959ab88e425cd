/* Tests for the BackupServiceConfiguration: defaults, the exact JSON, the round trip, every
 * range boundary and every refusal with its exact line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/config.h"

#define DEFAULT_JSON                                                                       \
	"{\"Identity\":\"Global\",\"SyncInterval\":\"00:02:00\","                            \
	"\"MaxBatchesPerUserStoreSync\":500,\"MaxBatchesPerCmsSync\":500,"                 \
	"\"MaxDataConfPackageSizeKB\":102400,\"AuthorizedUniversalGroups\":[],"            \
	"\"EnableRgsBackupService\":false,\"MaxConcurrentCalls\":10}"

static void parse_ok(const char *json, csb_backup_config *c)
{
	char err[256] = "";

	if (csb_config_parse(json, strlen(json), c, err, sizeof(err)) != CSB_OK)
		fail_msg("refused: %s", err);
}

/* Refused, with *out left alone. */
static void refuse(const char *json, const char *want)
{
	csb_backup_config c, before;
	char err[256] = "";

	memset(&c, 0x5a, sizeof(c));
	before = c;
	assert_int_equal(csb_config_parse(json, strlen(json), &c, err, sizeof(err)), CSB_EINVAL);
	assert_memory_equal(&c, &before, sizeof(c));
	assert_string_equal(err, want);
}

static void test_defaults(void **state)
{
	csb_backup_config c;
	char err[128];
	char *s;

	(void)state;
	memset(&c, 0xff, sizeof(c));
	csb_config_defaults(&c);
	assert_int_equal(c.sync_interval_ms, 120000);
	assert_int_equal(c.max_batches_per_user_store_sync, 500);
	assert_int_equal(c.max_batches_per_cms_sync, 500);
	assert_int_equal(c.max_data_conf_package_size_kb, 102400);
	assert_int_equal(c.n_groups, 0);
	assert_false(c.enable_rgs_backup_service);
	assert_int_equal(c.max_concurrent_calls, 10);
	assert_int_equal(csb_config_check(&c, err, sizeof(err)), CSB_OK);
	s = csb_config_to_json(&c);
	assert_string_equal(s, DEFAULT_JSON);
	free(s);
}

static void test_round_trip(void **state)
{
	csb_backup_config c, d;
	char *s, *s2;

	(void)state;
	csb_config_defaults(&c);
	c.sync_interval_ms = 3 * 3600 * 1000;
	c.max_batches_per_user_store_sync = 1;
	c.max_batches_per_cms_sync = 1000000;
	c.max_data_conf_package_size_kb = 10485760;
	strcpy(c.groups[0], "CsHelpdesk");
	strcpy(c.groups[1], "Operators \xc3\xa9quipe");
	c.n_groups = 2;
	c.enable_rgs_backup_service = true;
	c.max_concurrent_calls = 1000;
	s = csb_config_to_json(&c);
	assert_string_equal(s, "{\"Identity\":\"Global\",\"SyncInterval\":\"03:00:00\","
	                       "\"MaxBatchesPerUserStoreSync\":1,\"MaxBatchesPerCmsSync\":1000000,"
	                       "\"MaxDataConfPackageSizeKB\":10485760,"
	                       "\"AuthorizedUniversalGroups\":"
	                       "[\"CsHelpdesk\",\"Operators \xc3\xa9quipe\"],"
	                       "\"EnableRgsBackupService\":true,\"MaxConcurrentCalls\":1000}");
	memset(&d, 0, sizeof(d));
	parse_ok(s, &d);
	assert_true(csb_config_equal(&c, &d));
	s2 = csb_config_to_json(&d);
	assert_string_equal(s, s2);
	d.max_concurrent_calls = 12;
	assert_false(csb_config_equal(&c, &d));
	d.max_concurrent_calls = 1000;
	d.enable_rgs_backup_service = false;
	assert_false(csb_config_equal(&c, &d));
	free(s);
	free(s2);
}

static void test_parse_partial(void **state)
{
	csb_backup_config c;

	(void)state;
	/* Absent fields keep their defaults; Identity ignores case; seconds are a time value. */
	parse_ok("{}", &c);
	assert_int_equal(c.sync_interval_ms, 120000);
	parse_ok("{\"Identity\":\"global\",\"SyncInterval\":\"30\"}", &c);
	assert_int_equal(c.sync_interval_ms, 30000);
	assert_int_equal(c.max_batches_per_cms_sync, 500);
	parse_ok("{\"SyncInterval\":\"05:00\",\"AuthorizedUniversalGroups\":[\"A\"]}", &c);
	assert_int_equal(c.sync_interval_ms, 300000);
	assert_int_equal(c.n_groups, 1);
	assert_string_equal(c.groups[0], "A");
}

static void test_boundaries(void **state)
{
	static const struct {
		const char *interval;
		bool ok;
	} intervals[] = {
		{"00:00:04", false}, {"00:00:05", true}, {"4", false},        {"5", true},
		{"03:00:00", true},  {"03:00:01", false}, {"10800", true},   {"10801", false},
		{"00:00:00", false},
	};
	char doc[256];
	csb_backup_config c;

	(void)state;
	for (size_t i = 0; i < sizeof(intervals) / sizeof(intervals[0]); i++) {
		snprintf(doc, sizeof(doc), "{\"SyncInterval\":\"%s\"}", intervals[i].interval);
		if (intervals[i].ok)
			parse_ok(doc, &c);
		else
			refuse(doc, "$.SyncInterval: must be between 00:00:05 and 03:00:00");
	}
	parse_ok("{\"MaxBatchesPerUserStoreSync\":1,\"MaxBatchesPerCmsSync\":1000000}", &c);
	refuse("{\"MaxBatchesPerUserStoreSync\":0}",
	       "$.MaxBatchesPerUserStoreSync: must be between 1 and 1000000");
	refuse("{\"MaxBatchesPerUserStoreSync\":1000001}",
	       "$.MaxBatchesPerUserStoreSync: must be between 1 and 1000000");
	refuse("{\"MaxBatchesPerCmsSync\":0}", "$.MaxBatchesPerCmsSync: must be between 1 and 1000000");
	refuse("{\"MaxBatchesPerCmsSync\":-5}",
	       "$.MaxBatchesPerCmsSync: must be between 1 and 1000000");
	refuse("{\"MaxBatchesPerCmsSync\":1000001}",
	       "$.MaxBatchesPerCmsSync: must be between 1 and 1000000");
	parse_ok("{\"MaxDataConfPackageSizeKB\":1}", &c);
	parse_ok("{\"MaxDataConfPackageSizeKB\":10485760}", &c);
	assert_int_equal(c.max_data_conf_package_size_kb, 10485760);
	refuse("{\"MaxDataConfPackageSizeKB\":0}",
	       "$.MaxDataConfPackageSizeKB: must be between 1 and 10485760");
	refuse("{\"MaxDataConfPackageSizeKB\":10485761}",
	       "$.MaxDataConfPackageSizeKB: must be between 1 and 10485760");
	/* Configurations written before MaxConcurrentCalls existed read as its default. */
	parse_ok("{\"SyncInterval\":\"00:02:00\"}", &c);
	assert_int_equal(c.max_concurrent_calls, 10);
	parse_ok("{\"MaxConcurrentCalls\":1}", &c);
	parse_ok("{\"MaxConcurrentCalls\":1000}", &c);
	assert_int_equal(c.max_concurrent_calls, 1000);
	refuse("{\"MaxConcurrentCalls\":0}", "$.MaxConcurrentCalls: must be between 1 and 1000");
	refuse("{\"MaxConcurrentCalls\":1001}", "$.MaxConcurrentCalls: must be between 1 and 1000");
	refuse("{\"MaxConcurrentCalls\":\"12\"}", "$.MaxConcurrentCalls: must be an integer");
}

static void test_check_messages(void **state)
{
	csb_backup_config c;
	char err[128];

	(void)state;
	csb_config_defaults(&c);
	c.sync_interval_ms = 4000;
	assert_int_equal(csb_config_check(&c, err, sizeof(err)), CSB_EINVAL);
	assert_string_equal(err, "SyncInterval must be between 00:00:05 and 03:00:00");
	c.sync_interval_ms = 10801000;
	assert_int_equal(csb_config_check(&c, err, sizeof(err)), CSB_EINVAL);
	c.sync_interval_ms = 5500;
	assert_int_equal(csb_config_check(&c, err, sizeof(err)), CSB_EINVAL);
	assert_string_equal(err, "SyncInterval must be a whole number of seconds");
	c.sync_interval_ms = 5000;
	c.max_batches_per_user_store_sync = 0;
	assert_int_equal(csb_config_check(&c, err, sizeof(err)), CSB_EINVAL);
	assert_string_equal(err, "MaxBatchesPerUserStoreSync must be between 1 and 1000000");
	c.max_batches_per_user_store_sync = 1;
	c.max_batches_per_cms_sync = 1000001;
	assert_int_equal(csb_config_check(&c, err, sizeof(err)), CSB_EINVAL);
	assert_string_equal(err, "MaxBatchesPerCmsSync must be between 1 and 1000000");
	c.max_batches_per_cms_sync = 1;
	c.max_data_conf_package_size_kb = 0;
	assert_int_equal(csb_config_check(&c, err, sizeof(err)), CSB_EINVAL);
	assert_string_equal(err, "MaxDataConfPackageSizeKB must be between 1 and 10485760");
	c.max_data_conf_package_size_kb = 1;
	c.max_concurrent_calls = 0;
	assert_int_equal(csb_config_check(&c, err, sizeof(err)), CSB_EINVAL);
	assert_string_equal(err, "MaxConcurrentCalls must be between 1 and 1000");
	c.max_concurrent_calls = 10;
	strcpy(c.groups[0], "Ops");
	strcpy(c.groups[1], "OPS");
	c.n_groups = 2;
	assert_int_equal(csb_config_check(&c, err, sizeof(err)), CSB_EINVAL);
	assert_string_equal(err, "AuthorizedUniversalGroups: group 'OPS' is listed twice");
	strcpy(c.groups[1], "");
	assert_int_equal(csb_config_check(&c, err, sizeof(err)), CSB_EINVAL);
	assert_string_equal(err, "AuthorizedUniversalGroups: a group name must not be empty");
	strcpy(c.groups[1], "a\nb");
	assert_int_equal(csb_config_check(&c, err, sizeof(err)), CSB_EINVAL);
	assert_string_equal(err, "AuthorizedUniversalGroups: a group name must not hold control "
	                         "characters");
	c.n_groups = 33;
	assert_int_equal(csb_config_check(&c, err, sizeof(err)), CSB_EINVAL);
	assert_string_equal(err, "AuthorizedUniversalGroups: more than 32 groups");
	c.n_groups = 1;
	assert_int_equal(csb_config_check(&c, err, sizeof(err)), CSB_OK);
	assert_int_equal(csb_config_check(&c, NULL, 0), CSB_OK);
}

static void test_refusals(void **state)
{
	csb_backup_config c;
	char doc[4096];
	size_t n;

	(void)state;
	refuse("{\"Foo\":1}", "$.Foo: unknown key");
	refuse("{\"syncinterval\":\"00:02:00\"}", "$.syncinterval: unknown key");
	refuse("[]", "$: must be an object");
	refuse("{\"SyncInterval\":\"00:02:00\",}",
	       "line 1, column 28: string or '}' expected near '}'");
	refuse("{\"SyncInterval\":120}", "$.SyncInterval: must be a string (hh:mm:ss)");
	refuse("{\"SyncInterval\":\"2 minutes\"}",
	       "$.SyncInterval: '2 minutes' is not a time value (seconds or hh:mm:ss)");
	refuse("{\"SyncInterval\":\"00:60:00\"}",
	       "$.SyncInterval: '00:60:00' is not a time value (seconds or hh:mm:ss)");
	refuse("{\"MaxBatchesPerCmsSync\":\"500\"}", "$.MaxBatchesPerCmsSync: must be an integer");
	refuse("{\"MaxBatchesPerUserStoreSync\":5.0}",
	       "$.MaxBatchesPerUserStoreSync: must be an integer");
	refuse("{\"MaxDataConfPackageSizeKB\":null}", "$.MaxDataConfPackageSizeKB: must be an integer");
	refuse("{\"EnableRgsBackupService\":\"$true\"}",
	       "$.EnableRgsBackupService: must be true or false");
	refuse("{\"Identity\":\"Site:Redmond\"}", "$.Identity: must be \"Global\"");
	refuse("{\"Identity\":1}", "$.Identity: must be \"Global\"");
	refuse("{\"AuthorizedUniversalGroups\":\"Ops\"}",
	       "$.AuthorizedUniversalGroups: must be an array");
	refuse("{\"AuthorizedUniversalGroups\":[\"Ops\",1]}",
	       "$.AuthorizedUniversalGroups[1]: must be a string");
	refuse("{\"AuthorizedUniversalGroups\":[\"Ops\",\"\"]}",
	       "$.AuthorizedUniversalGroups[1]: must not be empty");
	refuse("{\"AuthorizedUniversalGroups\":[\"Ops\",\"G\",\"ops\"]}",
	       "$.AuthorizedUniversalGroups[2]: group 'ops' is listed twice "
	       "(also $.AuthorizedUniversalGroups[0])");
	refuse("{\"AuthorizedUniversalGroups\":[\""
	       "ggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg\"]}",
	       "$.AuthorizedUniversalGroups[0]: is longer than 64 characters");
	n = (size_t)snprintf(doc, sizeof(doc), "{\"AuthorizedUniversalGroups\":[\"g0\"");
	for (int g = 1; g < 33; g++)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, ",\"g%d\"", g);
	strcpy(doc + n, "]}");
	refuse(doc, "$.AuthorizedUniversalGroups: more than 32 groups");
	strcpy(doc + n - 6, "]}"); /* drop ,"g32" */
	parse_ok(doc, &c);
	assert_int_equal(c.n_groups, 32);
	assert_string_equal(c.groups[31], "g31");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_parse_partial),
		cmocka_unit_test(test_boundaries),
		cmocka_unit_test(test_check_messages),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
