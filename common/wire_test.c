/* Tests for csb_wire_unpack(): round trips, truncation, oversized fields, unknown enums. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/wire.h"
#include "proto/data.pb-c.h"
#include "proto/envelope.pb-c.h"
#include "proto/sync.pb-c.h"

static void pack_batch(uint8_t **buf, size_t *len, size_t key_len)
{
	static uint8_t key[1024], val[64];
	Csb__Record r = CSB__RECORD__INIT, *rp = &r;
	Csb__Batch b = CSB__BATCH__INIT;
	Csb__Digest d = CSB__DIGEST__INIT;

	memset(key, 'k', sizeof(key));
	memset(val, 'v', sizeof(val));
	r.key.data = key;
	r.key.len = key_len;
	r.value.data = val;
	r.value.len = sizeof(val);
	r.seq = 42;
	r.mtime_ms = 1700000000000ull;
	b.n_records = 1;
	b.records = &rp;
	b.after_seq = 41;
	b.last_seq = 42;
	b.high_seq = 50;
	d.lo = 0x0123456789abcdefull;
	d.hi = 0xfedcba9876543210ull;
	b.digest = &d;
	assert_int_equal(csb_wire_pack(&b.base, buf, len), CSB_OK);
}

static void test_round_trip(void **state)
{
	uint8_t *buf;
	size_t len;
	ProtobufCMessage *m;
	Csb__Batch *b;

	(void)state;
	pack_batch(&buf, &len, 16);
	assert_int_equal(csb_wire_unpack(&csb__batch__descriptor, buf, len, &m, NULL, 0), CSB_OK);
	b = (Csb__Batch *)m;
	assert_int_equal(b->n_records, 1);
	assert_int_equal(b->records[0]->key.len, 16);
	assert_int_equal(b->records[0]->value.len, 64);
	assert_int_equal(b->records[0]->seq, 42);
	assert_int_equal(b->records[0]->mtime_ms, 1700000000000ull);
	assert_int_equal(b->after_seq, 41);
	assert_int_equal(b->last_seq, 42);
	assert_int_equal(b->high_seq, 50);
	assert_int_equal(b->digest->lo, 0x0123456789abcdefull);
	assert_int_equal(b->digest->hi, 0xfedcba9876543210ull);
	protobuf_c_message_free_unpacked(m, NULL);
	free(buf);
}

static void test_truncated_rejected(void **state)
{
	uint8_t *buf;
	size_t len;
	ProtobufCMessage *m = (ProtobufCMessage *)1;
	char err[128] = "";

	(void)state;
	pack_batch(&buf, &len, 16);
	/* Every proper prefix that cuts a field short must fail; none may crash. */
	for (size_t cut = 1; cut < len; cut++) {
		csb_err rv = csb_wire_unpack(&csb__batch__descriptor, buf, cut, &m, err, sizeof(err));

		if (rv == CSB_OK) {
			protobuf_c_message_free_unpacked(m, NULL);
			continue; /* a cut on a field boundary is a shorter valid message */
		}
		assert_int_equal(rv, CSB_EPROTO);
		assert_null(m);
	}
	/* Cutting inside the record (the first field) always fails. */
	assert_int_equal(csb_wire_unpack(&csb__batch__descriptor, buf, 10, &m, err, sizeof(err)),
	                 CSB_EPROTO);
	assert_non_null(strstr(err, "csb.Batch"));
	free(buf);
}

static void test_garbage_rejected(void **state)
{
	uint8_t junk[256];
	ProtobufCMessage *m;

	(void)state;
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(0xff - i);
	assert_int_equal(csb_wire_unpack(&csb__envelope__descriptor, junk, sizeof(junk), &m, NULL,
	                                 0),
	                 CSB_EPROTO);
	assert_null(m);
}

static void test_oversized_key_rejected(void **state)
{
	uint8_t *buf;
	size_t len;
	ProtobufCMessage *m;
	char err[128];

	(void)state;
	pack_batch(&buf, &len, 481);
	assert_int_equal(csb_wire_unpack(&csb__batch__descriptor, buf, len, &m, err, sizeof(err)),
	                 CSB_ETOOBIG);
	assert_null(m);
	assert_string_equal(err, "csb.Record.key: 481 bytes, at most 480");
	free(buf);
	pack_batch(&buf, &len, 480);
	assert_int_equal(csb_wire_unpack(&csb__batch__descriptor, buf, len, &m, NULL, 0), CSB_OK);
	protobuf_c_message_free_unpacked(m, NULL);
	free(buf);
}

static void test_oversized_string_rejected(void **state)
{
	Csb__Envelope e = CSB__ENVELOPE__INIT;
	char method[200];
	uint8_t *buf;
	size_t len;
	ProtobufCMessage *m;
	char err[128];

	(void)state;
	memset(method, 'm', sizeof(method) - 1);
	method[sizeof(method) - 1] = '\0';
	e.method = method;
	assert_int_equal(csb_wire_pack(&e.base, &buf, &len), CSB_OK);
	assert_int_equal(csb_wire_unpack(&csb__envelope__descriptor, buf, len, &m, err,
	                                 sizeof(err)),
	                 CSB_ETOOBIG);
	assert_string_equal(err, "csb.Envelope.method: 199 bytes, at most 128");
	free(buf);
}

static void test_unknown_enum_rejected(void **state)
{
	Csb__WriteItem it = CSB__WRITE_ITEM__INIT, *itp = &it;
	Csb__WriteRequest w = CSB__WRITE_REQUEST__INIT;
	uint8_t *buf;
	size_t len;
	ProtobufCMessage *m;
	char err[128];

	(void)state;
	w.module = "UserServices.PresenceFocus";
	w.n_items = 1;
	w.items = &itp;
	it.op = (Csb__WriteOp)7;
	it.key.data = (uint8_t *)"k";
	it.key.len = 1;
	assert_int_equal(csb_wire_pack(&w.base, &buf, &len), CSB_OK);
	assert_int_equal(csb_wire_unpack(&csb__write_request__descriptor, buf, len, &m, err,
	                                 sizeof(err)),
	                 CSB_EPROTO);
	assert_string_equal(err, "csb.WriteItem.op: unknown enum value 7");
	free(buf);
	it.op = CSB__WRITE_OP__WRITE_DELETE;
	assert_int_equal(csb_wire_pack(&w.base, &buf, &len), CSB_OK);
	assert_int_equal(csb_wire_unpack(&csb__write_request__descriptor, buf, len, &m, NULL, 0),
	                 CSB_OK);
	assert_int_equal(((Csb__WriteRequest *)m)->items[0]->op, CSB__WRITE_OP__WRITE_DELETE);
	protobuf_c_message_free_unpacked(m, NULL);
	free(buf);
}

static void test_bad_arguments(void **state)
{
	ProtobufCMessage *m;

	(void)state;
	assert_int_equal(csb_wire_unpack(NULL, (const uint8_t *)"", 0, &m, NULL, 0), CSB_EINVAL);
	assert_int_equal(csb_wire_unpack(&csb__batch__descriptor, NULL, 5, &m, NULL, 0),
	                 CSB_EINVAL);
	/* The empty message is valid proto3: every field at its default. */
	assert_int_equal(csb_wire_unpack(&csb__batch__descriptor, NULL, 0, &m, NULL, 0), CSB_OK);
	assert_int_equal(((Csb__Batch *)m)->n_records, 0);
	protobuf_c_message_free_unpacked(m, NULL);
}

/* Strings with a NUL inside: protobuf-c would cut them there, so they are refused. */
static void test_nul_in_string_rejected(void **state)
{
	/* Envelope{method: "csb.Admin/GetConfig\0x"}, written by hand: protobuf-c packs C
	 * strings only up to their NUL. */
	static const uint8_t method[] = "\x0a\x15"
	                                "csb.Admin/GetConfig\0x";
	/* Envelope{request_id: 7, auth: Auth{audience: "pool\0"}}. */
	static const uint8_t audience[] = {0x10, 0x07, 0x32, 0x07, 0x12, 0x05, 'p', 'o', 'o', 'l', 0};
	/* Envelope{method: "csb.Admin/GetConfig", body: "a\0b"}: bytes may hold NULs. */
	static const uint8_t body[] = "\x0a\x13"
	                              "csb.Admin/GetConfig"
	                              "\x2a\x03"
	                              "a\0b";
	ProtobufCMessage *m = (ProtobufCMessage *)1;
	char err[128] = "";

	(void)state;
	assert_int_equal(csb_wire_unpack(&csb__envelope__descriptor, method, sizeof(method) - 1, &m,
	                                 err, sizeof(err)),
	                 CSB_EPROTO);
	assert_null(m);
	assert_string_equal(err, "csb.Envelope.method: a NUL byte at offset 19");
	assert_int_equal(csb_wire_unpack(&csb__envelope__descriptor, audience, sizeof(audience), &m,
	                                 err, sizeof(err)),
	                 CSB_EPROTO);
	assert_string_equal(err, "csb.Auth.audience: a NUL byte at offset 4");
	assert_int_equal(csb_wire_unpack(&csb__envelope__descriptor, body, sizeof(body) - 1, &m,
	                                 err, sizeof(err)),
	                 CSB_OK);
	assert_string_equal(((Csb__Envelope *)m)->method, "csb.Admin/GetConfig");
	assert_int_equal(((Csb__Envelope *)m)->body.len, 3);
	protobuf_c_message_free_unpacked(m, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_truncated_rejected),
		cmocka_unit_test(test_garbage_rejected),
		cmocka_unit_test(test_oversized_key_rejected),
		cmocka_unit_test(test_oversized_string_rejected),
		cmocka_unit_test(test_unknown_enum_rejected),
		cmocka_unit_test(test_nul_in_string_rejected),
		cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
