/* Two real agents over mutual TLS on loopback: the initial copy converges with equal
 * digests, a later sync moves exactly the records that changed, and a 20 MB value travels
 * in chunks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/rpc.h"
#include "proto/data.pb-c.h"
#include "tests/harness.h"

#define PRESENCE "UserServices.PresenceFocus"
#define DATACONF "ConfServices.DataConf"

static int setup(void **state)
{
	*state = h_env_new();
	return 0;
}

static int teardown(void **state)
{
	h_env_free(*state);
	return 0;
}

static void totals(csb_rpc_client *c, const char *module, uint64_t *records, uint64_t *bytes)
{
	Csb__PoolStatus *ps;
	const Csb__ModuleStatus *ms = h_status(c, module, &ps);

	*records = ms->exported_records_total;
	*bytes = ms->exported_bytes_total;
	protobuf_c_message_free_unpacked(&ps->base, NULL);
}

static csb_err get_backup(csb_rpc_client *c, const char *module, const char *key,
                          Csb__GetReply **out)
{
	Csb__GetRequest gr = CSB__GET_REQUEST__INIT;

	gr.module = (char *)module;
	gr.key.data = (uint8_t *)key;
	gr.key.len = strlen(key);
	gr.from_backup = true;
	*out = NULL;
	return csb_rpc_call_msg(c, "csb.Data/Get", &gr.base, &csb__get_reply__descriptor, 30000,
	                        (ProtobufCMessage **)out, NULL);
}

static void test_initial_copy_then_only_the_delta(void **state)
{
	struct h_env *e = *state;
	unsigned a, b;
	csb_rpc_client *ca, *cb;
	uint64_t r0, b0, r1, b1, p, k, synced;
	Csb__GetReply *g;

	h_add_pair(e, &a, &b);
	h_agent_start(e, a);
	h_agent_start(e, b);
	ca = h_client(e, a, NULL, NULL);
	cb = h_client(e, b, NULL, NULL);

	h_put_range(ca, PRESENCE, "user", 0, 100000, 200, 1, 5000);
	assert_int_equal(h_sync(ca, PRESENCE, 120000, NULL, NULL), CSB_OK);
	assert_true(h_verify(ca, PRESENCE, &p, &k));
	assert_int_equal(p, 100000);
	assert_int_equal(k, 100000);
	totals(ca, PRESENCE, &r0, &b0);
	assert_int_equal(r0, 100000); /* every record exactly once */

	/* 100 changed and 10 deleted: the next sync carries exactly those 110. */
	h_put_range(ca, PRESENCE, "user", 1000, 100, 200, 2, 100);
	h_delete_range(ca, PRESENCE, "user", 50000, 10);
	assert_int_equal(h_sync(ca, PRESENCE, 60000, &synced, NULL), CSB_OK);
	totals(ca, PRESENCE, &r1, &b1);
	assert_int_equal(r1 - r0, 110);
	/* The payload (random letters: zstd takes off about a third) plus framing, not a scan. */
	assert_true(b1 - b0 >= 100 * 200 / 2);
	assert_true(b1 - b0 < 100 * 200 * 2);
	assert_true(h_verify(ca, PRESENCE, &p, &k));
	assert_int_equal(p, 99990);
	assert_int_equal(k, 99990);

	/* The backup copy at B serves the new value and no longer has the deleted keys. */
	assert_int_equal(get_backup(cb, PRESENCE, "user00001000", &g), CSB_OK);
	assert_int_equal(g->record->value.len, 200);
	protobuf_c_message_free_unpacked(&g->base, NULL);
	assert_int_equal(get_backup(cb, PRESENCE, "user00050000", &g), CSB_ENOTFOUND);
	assert_int_equal(get_backup(cb, PRESENCE, "user00049999", &g), CSB_OK);
	protobuf_c_message_free_unpacked(&g->base, NULL);

	csb_rpc_client_close(ca);
	csb_rpc_client_close(cb);
}

/* B's backup copy holds key with exactly val, and A verifies equal with it. */
static void backup_has(csb_rpc_client *ca, csb_rpc_client *cb, const char *key,
                       const uint8_t *val, size_t size)
{
	Csb__GetReply *g;

	assert_int_equal(get_backup(cb, DATACONF, key, &g), CSB_OK);
	assert_int_equal(g->record->value.len, size);
	assert_memory_equal(g->record->value.data, val, size);
	protobuf_c_message_free_unpacked(&g->base, NULL);
	assert_true(h_verify(ca, DATACONF, NULL, NULL));
}

static void test_large_value_travels_in_chunks(void **state)
{
	struct h_env *e = *state;
	const size_t size = 20u << 20;
	unsigned a, b;
	csb_rpc_client *ca, *cb;
	uint8_t *val = malloc(size);
	uint64_t x = 88172645463325252ull;
	Csb__PoolStatus *ps;
	const Csb__ModuleStatus *ms;

	assert_non_null(val);
	for (size_t i = 0; i < size; i++) { /* random bytes: no chunk of them compresses */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		val[i] = (uint8_t)(x >> 32);
	}
	h_add_pair(e, &a, &b);
	e->agents[a].extra[0] = "--chunk-bytes";
	e->agents[a].extra[1] = "1048576";
	h_agent_start(e, a);
	h_agent_start(e, b);
	ca = h_client(e, a, NULL, NULL);
	cb = h_client(e, b, NULL, NULL);

	assert_int_equal(h_put(ca, DATACONF, "conf/42/deck.pptx", 17, val, size), CSB_OK);
	assert_int_equal(h_sync(ca, DATACONF, 120000, NULL, NULL), CSB_OK);
	ms = h_status(ca, DATACONF, &ps);
	assert_int_equal(ms->exported_records_total, 1);
	assert_int_equal(ms->exported_batches_total, 20); /* 20 chunks of 1 MiB */
	/* 19 chunks as they are; the last one completes the value and may travel compressed. */
	assert_true(ms->exported_bytes_total >= size - (1u << 20));
	protobuf_c_message_free_unpacked(&ps->base, NULL);

	backup_has(ca, cb, "conf/42/deck.pptx", val, size);

	/* A value that compresses (a text repeated) travels in the same 20 chunks, each
	 * compressed: the bytes exported are a small part of the value, and it arrives as it
	 * was. */
	for (size_t i = 0; i < size; i++)
		val[i] = (uint8_t)"slide 42: quarterly results, agenda, action items\n"[i % 50];
	assert_int_equal(h_put(ca, DATACONF, "conf/42/notes.txt", 17, val, size), CSB_OK);
	assert_int_equal(h_sync(ca, DATACONF, 120000, NULL, NULL), CSB_OK);
	ms = h_status(ca, DATACONF, &ps);
	assert_int_equal(ms->exported_records_total, 2);
	assert_int_equal(ms->exported_batches_total, 40);
	assert_true(ms->exported_bytes_total < size + size / 10);
	protobuf_c_message_free_unpacked(&ps->base, NULL);
	backup_has(ca, cb, "conf/42/notes.txt", val, size);

	free(val);
	csb_rpc_client_close(ca);
	csb_rpc_client_close(cb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_initial_copy_then_only_the_delta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_value_travels_in_chunks, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
