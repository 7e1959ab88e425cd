/* zstd-compressed batches: the exporter packs a batch's whole records as one Records
 * message and compresses it when that saves more than a tenth, for importers that said
 * they read it (PullRequest.accept); the importer inflates before it checks and applies, so
 * everything after the wire sees plain records. A chunk of a large value (a partial batch)
 * is compressed the same way for importers that read that too (accept & 2): conference
 * content travels in chunks, and TLS is what limits it. Level 1: on this hardware it
 * compresses faster than TLS encrypts what it saves. */
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "common/wire.h"
#include "node/internal/node.h"
#include "proto/sync.pb-c.h"

#define DEFLATE_MIN 1024     /* smaller batches travel as they are */
#define DEFLATE_LEVEL 1

csb_err node__batch_deflate(Csb__Batch *b, bool chunks, uint8_t **zbuf)
{
	Csb__Records rs = CSB__RECORDS__INIT;
	uint8_t *plain;
	size_t size, bound, z;

	*zbuf = NULL;
	if ((b->partial && !chunks) || b->n_records == 0)
		return CSB_OK;
	rs.records = b->records;
	rs.n_records = b->n_records;
	if ((size = protobuf_c_message_get_packed_size(&rs.base)) < DEFLATE_MIN)
		return CSB_OK;
	bound = ZSTD_compressBound(size);
	if ((plain = malloc(size)) == NULL || (*zbuf = malloc(bound)) == NULL) {
		free(plain);
		return CSB_ENOMEM;
	}
	protobuf_c_message_pack(&rs.base, plain);
	z = ZSTD_compress(*zbuf, bound, plain, size, DEFLATE_LEVEL);
	free(plain);
	if (ZSTD_isError(z) || z >= size - size / 10) { /* not worth it: send plain */
		free(*zbuf);
		*zbuf = NULL;
		return CSB_OK;
	}
	b->zstd_records.data = *zbuf;
	b->zstd_records.len = z;
	b->records_size = size;
	b->records = NULL;
	b->n_records = 0;
	return CSB_OK;
}

csb_err node__batch_inflate(Csb__Batch *b, size_t max, char *err)
{
	Csb__Records *rs = NULL;
	unsigned long long declared;
	uint8_t *plain;
	size_t got;
	csb_err rv;

	if (b->zstd_records.len == 0)
		return CSB_OK;
	declared = ZSTD_getFrameContentSize(b->zstd_records.data, b->zstd_records.len);
	if (b->n_records != 0 || b->records_size == 0 || b->records_size > max ||
	    declared != b->records_size) {
		node__set_error(err, "compressed batch of %llu bytes is malformed or over %zu bytes",
		                (unsigned long long)b->records_size, max);
		return CSB_EPROTO;
	}
	if ((plain = malloc(b->records_size)) == NULL)
		return CSB_ENOMEM;
	got = ZSTD_decompress(plain, b->records_size, b->zstd_records.data, b->zstd_records.len);
	if (ZSTD_isError(got) || got != b->records_size) {
		free(plain);
		node__set_error(err, "compressed batch does not inflate: %s",
		                ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short");
		return CSB_EPROTO;
	}
	rv = csb_wire_unpack(&csb__records__descriptor, plain, got, (ProtobufCMessage **)&rs, err,
	                     CSB_RPC_ERROR_MAX);
	free(plain);
	if (rv != CSB_OK)
		return rv;
	/* The batch takes the records over; protobuf-c frees them with the batch. */
	b->records = rs->records;
	b->n_records = rs->n_records;
	rs->records = NULL;
	rs->n_records = 0;
	protobuf_c_message_free_unpacked(&rs->base, NULL);
	return CSB_OK;
}
