/* Wire messages: pack, and unpack with validation. Every decoded message passes here:
 * protobuf-c checks the encoding; this adds what it does not (enum values outside their
 * declaration, strings and bytes over their bounds, too many repeated elements). */
#ifndef CSB_COMMON_WIRE_H
#define CSB_COMMON_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/err.h"

#define CSB_WIRE_STRING_MAX 1024     /* bytes of any string field without its own bound */
#define CSB_WIRE_REPEATED_MAX 1000000 /* elements of any repeated field */
/* Bytes of csb.JsonDoc.json, the topology and configuration documents of the Admin service.
 * The largest topology the coordinator accepts (1000 sites, 1000 pools, 1000 principals of
 * 32 groups, every name at its longest and groups of characters JSON escapes) is written
 * in 5,599,057 bytes (tests/topology_size_test.c); this leaves a tenth for growth. */
#define CSB_WIRE_JSON_DOC_MAX (6u << 20)

/* Decodes len bytes of buf as a desc message into *out (free with
 * protobuf_c_message_free_unpacked(*out, NULL)), then validates it.
 * Returns CSB_OK; CSB_EPROTO for undecodable or truncated input, unknown enum values and
 * string fields holding a NUL byte;
 * CSB_ETOOBIG for a field over its bound; CSB_EINVAL for NULL arguments. On error *out is
 * NULL and nothing needs freeing. If err is not NULL, it receives a one-line reason naming
 * the field ("csb.Record.key: 600 bytes, at most 480"). */
csb_err csb_wire_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                        ProtobufCMessage **out, char *err, size_t errlen);

/* Validates an already decoded message (the checks of csb_wire_unpack()). */
csb_err csb_wire_check(const ProtobufCMessage *msg, char *err, size_t errlen);

/* Packs msg into a malloc'ed buffer (*buf, caller frees; a zero-length message still
 * allocates 1 byte). CSB_OK or CSB_ENOMEM. */
csb_err csb_wire_pack(const ProtobufCMessage *msg, uint8_t **buf, size_t *len);

#endif
