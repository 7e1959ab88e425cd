/* zstd batches: what the exporter deflates the importer inflates to the same records;
 * small or incompressible batches travel plain; malformed or oversized ones are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/wire.h"
#include "node/internal/node.h"
#include "proto/sync.pb-c.h"

#define N 100

static Csb__Record recs[N], *ptrs[N];
static char keys[N][16];
static uint8_t vals[N][200];

/* N records; compressible values repeat a short text, the others are pseudo-random. */
static void make_batch(Csb__Batch *b, bool compressible)
{
	uint32_t x = 12345;

	csb__batch__init(b);
	for (int i = 0; i < N; i++) {
		csb__record__init(&recs[i]);
		snprintf(keys[i], sizeof(keys[i]), "user%04d", i);
		for (int j = 0; j < 200; j++) {
			x = x * 1103515245u + 12345u;
			vals[i][j] = compressible ? (uint8_t)"presence:online;"[j % 16] : (uint8_t)(x >> 16);
		}
		recs[i].key.data = (uint8_t *)keys[i];
		recs[i].key.len = strlen(keys[i]);
		recs[i].value.data = vals[i];
		recs[i].value.len = 200;
		recs[i].seq = (uint64_t)i + 1;
		ptrs[i] = &recs[i];
	}
	b->records = ptrs;
	b->n_records = N;
	b->last_seq = b->high_seq = N;
}

/* Packs b and unpacks it as the importer receives it. */
static Csb__Batch *wire(Csb__Batch *b)
{
	size_t len = protobuf_c_message_get_packed_size(&b->base);
	uint8_t *buf = malloc(len);
	ProtobufCMessage *m = NULL;
	char err[256];

	protobuf_c_message_pack(&b->base, buf);
	assert_int_equal(csb_wire_unpack(&csb__batch__descriptor, buf, len, &m, err, sizeof(err)),
	                 CSB_OK);
	free(buf);
	return (Csb__Batch *)m;
}

static void test_roundtrip(void **state)
{
	Csb__Batch b, *got;
	uint8_t *z = NULL;
	char err[256];

	(void)state;
	make_batch(&b, true);
	assert_int_equal(node__batch_deflate(&b, false, &z), CSB_OK);
	assert_non_null(z);
	assert_int_equal(b.n_records, 0);
	assert_true(b.zstd_records.len < b.records_size / 10);
	got = wire(&b);
	free(z);
	assert_int_equal(node__batch_inflate(got, 1u << 20, err), CSB_OK);
	assert_int_equal(got->n_records, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(got->records[i]->seq, i + 1);
		assert_memory_equal(got->records[i]->key.data, keys[i], strlen(keys[i]));
		assert_int_equal(got->records[i]->value.len, 200);
		assert_memory_equal(got->records[i]->value.data, vals[i], 200);
	}
	protobuf_c_message_free_unpacked(&got->base, NULL);
}

static void test_incompressible_and_small_travel_plain(void **state)
{
	Csb__Batch b;
	uint8_t *z = NULL;

	(void)state;
	make_batch(&b, false);
	assert_int_equal(node__batch_deflate(&b, false, &z), CSB_OK);
	assert_null(z);
	assert_int_equal(b.n_records, N);
	make_batch(&b, true);
	b.n_records = 2; /* under 1 KiB */
	assert_int_equal(node__batch_deflate(&b, false, &z), CSB_OK);
	assert_null(z);
	assert_int_equal(b.n_records, 2);
}

static void test_malformed_refused(void **state)
{
	Csb__Batch b, *got;
	uint8_t *z = NULL;
	char err[256];

	(void)state;
	make_batch(&b, true);
	assert_int_equal(node__batch_deflate(&b, false, &z), CSB_OK);
	got = wire(&b);
	assert_int_equal(node__batch_inflate(got, 1000, err), CSB_EPROTO); /* over max */
	got->zstd_records.data[got->zstd_records.len / 2] ^= 0xff;
	assert_int_equal(node__batch_inflate(got, 1u << 20, err), CSB_EPROTO);
	assert_int_equal(got->n_records, 0);
	protobuf_c_message_free_unpacked(&got->base, NULL);
	b.records_size += 1; /* says more than the frame holds */
	got = wire(&b);
	assert_int_equal(node__batch_inflate(got, 1u << 20, err), CSB_EPROTO);
	protobuf_c_message_free_unpacked(&got->base, NULL);
	free(z);
}

/* A chunk of a large value (one record, partial) is compressed only for an importer that
 * reads compressed chunks, and comes back as the same chunk. */
static void test_chunk_only_when_accepted(void **state)
{
	static uint8_t chunk[8192];
	Csb__Batch b, *got;
	uint8_t *z = NULL;
	char err[256];

	(void)state;
	make_batch(&b, true);
	memset(chunk, 'y', sizeof(chunk));
	b.n_records = 1;
	b.partial = true;
	b.last_seq = 0;
	recs[0].value.data = chunk; /* the first 8 KiB of a value of 24 KiB */
	recs[0].value.len = sizeof(chunk);
	recs[0].value_len = 3 * sizeof(chunk);
	assert_int_equal(node__batch_deflate(&b, false, &z), CSB_OK);
	assert_null(z);
	assert_int_equal(b.n_records, 1);
	assert_int_equal(node__batch_deflate(&b, true, &z), CSB_OK);
	assert_non_null(z);
	assert_int_equal(b.n_records, 0);
	got = wire(&b);
	free(z);
	assert_true(got->partial);
	assert_true(got->zstd_records.len < sizeof(chunk) / 10);
	assert_int_equal(node__batch_inflate(got, 1u << 20, err), CSB_OK);
	assert_int_equal(got->n_records, 1);
	assert_true(got->partial);
	assert_int_equal(got->records[0]->value_len, 3 * sizeof(chunk));
	assert_int_equal(got->records[0]->seq, 1);
	assert_memory_equal(got->records[0]->value.data, chunk, sizeof(chunk));
	protobuf_c_message_free_unpacked(&got->base, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_incompressible_and_small_travel_plain),
		cmocka_unit_test(test_malformed_refused),
		cmocka_unit_test(test_chunk_only_when_accepted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
