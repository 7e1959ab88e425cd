/* The audit log (audit.c): a wrapped method still answers as before, and each call is
 * logged exactly once with its principal, method, target and result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/wire.h"
#include "coordinator/internal/audit.h"
#include "proto/admin.pb-c.h"

static int calls;

static csb_err sync_ok(void *ctx, const csb_rpc_request *req, csb_rpc_reply *rep)
{
	calls++;
	assert_string_equal((const char *)ctx, "sync-ctx");
	return CSB_OK;
}

static csb_err config_denied(void *ctx, const csb_rpc_request *req, csb_rpc_reply *rep)
{
	calls++;
	snprintf(rep->error, sizeof(rep->error), "%s is not a member of RTCUniversalServerAdmins",
	         req->principal);
	return CSB_EDENIED;
}

/* Runs m's handler with stderr in a file; returns what was logged (static). */
static const char *logged(const csb_rpc_method *m, const char *principal, const uint8_t *body,
                          size_t len, csb_err want)
{
	static char out[4096];
	csb_rpc_request req = {.method = m->name, .principal = principal, .body = body,
	                       .body_len = len};
	csb_rpc_reply rep = {0};
	FILE *f = tmpfile();
	int saved = dup(2);
	size_t n;

	assert_non_null(f);
	assert_int_equal(dup2(fileno(f), 2), 2);
	assert_int_equal(m->fn(m->ctx, &req, &rep), want);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	return out;
}

static void match(const char *text, const char *pattern)
{
	regex_t re;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&re, text, 0, NULL, 0) != 0)
		fail_msg("logged:\n%s\nwant (once, whole): %s", text, pattern);
	regfree(&re);
}

static void test_wrap_and_log(void **state)
{
	csb_rpc_method m[2] = {
		{.name = "csb.Admin/Sync", .fn = sync_ok, .ctx = "sync-ctx"},
		{.name = "csb.Admin/SetConfig", .fn = config_denied},
	};
	Csb__PoolRequest pr = CSB__POOL_REQUEST__INIT;
	uint8_t *body;
	size_t len;

	assert_int_equal(coord__audit_wrap(m, 2), 2);
	assert_ptr_not_equal(m[0].fn, sync_ok);
	pr.pool_fqdn = "pool01.csb.test";
	pr.module = "UserServices.PresenceFocus";
	assert_int_equal(csb_wire_pack(&pr.base, &body, &len), CSB_OK);
	match(logged(&m[0], "admin", body, len, CSB_OK),
	      "^[0-9T:.-]+Z info audit principal=admin method=csb\\.Admin/Sync "
	      "target=pool01\\.csb\\.test module=UserServices\\.PresenceFocus result=ok "
	      "millis=[0-9]+\n$");
	free(body);
	match(logged(&m[1], "bob", NULL, 0, CSB_EDENIED),
	      "^[0-9T:.-]+Z warn audit principal=bob method=csb\\.Admin/SetConfig target=Global "
	      "result=EDENIED millis=[0-9]+ error=\"bob is not a member of "
	      "RTCUniversalServerAdmins\"\n$");
	assert_int_equal(calls, 2);
	/* Wrapping again does not log twice. */
	assert_int_equal(coord__audit_wrap(m, 2), 2);
	match(logged(&m[1], "bob", NULL, 0, CSB_EDENIED), "^[^\n]+\n$");
	assert_int_equal(calls, 3);
}

static void test_targets(void **state)
{
	Csb__LostStoreReport r = CSB__LOST_STORE_REPORT__INIT;
	char target[256], module[256];
	uint8_t *body;
	size_t len;

	coord__audit_target("csb.Admin/PublishTopology", NULL, 0, target, module, sizeof(target));
	assert_string_equal(target, "topology");
	assert_string_equal(module, "");
	coord__audit_target("csb.Admin/GetCmsStatus", NULL, 0, target, module, sizeof(target));
	assert_string_equal(target, "CMS");
	coord__audit_target("csb.Admin/Unknown", NULL, 0, target, module, sizeof(target));
	assert_string_equal(target, "-");
	/* A body that does not decode names no target. */
	coord__audit_target("csb.Admin/Verify", (const uint8_t *)"\xff\xff", 2, target, module,
	                    sizeof(target));
	assert_string_equal(target, "-");
	r.pool_fqdn = "pool02.csb.test";
	r.module = "ConfServices.DataConf";
	assert_int_equal(csb_wire_pack(&r.base, &body, &len), CSB_OK);
	coord__audit_target("csb.Admin/ReportLostStore", body, len, target, module, sizeof(target));
	assert_string_equal(target, "pool02.csb.test");
	assert_string_equal(module, "ConfServices.DataConf");
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrap_and_log),
		cmocka_unit_test(test_targets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
