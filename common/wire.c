/* csb_wire_unpack(): protobuf-c decoding plus the bounds and enum checks it lacks. One
 * table names the fields with a bound of their own; the rest get the defaults in wire.h.
 * The encoding itself is walked once more for string fields, which protobuf-c turns into
 * C strings: whatever follows an embedded NUL would silently disappear. */
#include "common/wire.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct field_bound {
	const char *message; /* full name, e.g. "csb.Record" */
	const char *field;
	size_t max;          /* bytes of a string/bytes field, elements of a repeated one */
};

/* Bounds that differ from the defaults. Keys follow storage's CSB_KEY_MAX (480); names of
 * modules and pools follow CSB_MODULE_MAX (64) and the 255 bytes of an FQDN; JSON documents
 * the largest topology (wire.h). */
static const struct field_bound bounds[] = {
	{"csb.Record", "key", 480},
	{"csb.WriteItem", "key", 480},
	{"csb.GetRequest", "key", 480},
	{"csb.ListRequest", "prefix", 480},
	{"csb.ListRequest", "after", 480},
	{"csb.PullRequest", "resume_key", 480},
	{"csb.RangeReadRequest", "after", 480},
	{"csb.KeyRange", "lo", 480},
	{"csb.KeyRange", "hi", 480},
	{"csb.KeyRangeText", "lo", 480},
	{"csb.KeyRangeText", "hi", 480},
	{"csb.PullRequest", "module", 64},
	{"csb.PullRequest", "source", 255},
	{"csb.PullRequest", "lineage", 16},
	{"csb.Batch", "lineage", 16},
	{"csb.WriteRequest", "module", 64},
	{"csb.Envelope", "method", 128},
	{"csb.Envelope", "error", 256},
	{"csb.Auth", "cert_der", 8192},
	{"csb.Auth", "signature", 1024},
	{"csb.Auth", "audience", 255},
	{"csb.DigestRequest", "ranges", 4096},
	{"csb.JsonDoc", "json", CSB_WIRE_JSON_DOC_MAX},
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- Strings as they are on the wire ------------------------------------------------- */

static bool varint_read(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0)
			return true;
	}
	return false;
}

/* Refuses a string field of md (or of a message inside it) holding a NUL byte: protobuf-c
 * would hand over only what comes before it, so "csb.Admin/GetConfig\0x" would name
 * GetConfig. Runs on bytes protobuf-c already decoded; deeper than 16 levels is left to
 * check_message(), which refuses it. */
static csb_err strings_check(const ProtobufCMessageDescriptor *md, const uint8_t *p, size_t len,
                             unsigned depth, char *err, size_t errlen)
{
	const uint8_t *end, *nul;
	const ProtobufCFieldDescriptor *fd;
	uint64_t tag, n;
	csb_err rv;

	if (len == 0) /* an empty message, whose bytes may be NULL: nothing to walk */
		return CSB_OK;
	end = p + len;
	while (p < end) {
		/* Field number 0 does not exist. protobuf-c refuses it as the one-byte tag 0x00 but
		 * takes an overlong encoding of it (0x80 0x00) as an unknown field, which it would
		 * then pack as 0x00 and refuse: such a message is malformed. */
		if (!varint_read(&p, end, &tag) || tag >> 3 == 0)
			goto out_undecodable;
		switch (tag & 7) {
		case 0: /* varint */
			if (!varint_read(&p, end, &n))
				goto out_undecodable;
			continue;
		case 1: /* 64-bit */
		case 5: /* 32-bit */
			n = (tag & 7) == 1 ? 8 : 4;
			break;
		case 2: /* length-delimited */
			if (!varint_read(&p, end, &n) || n > (uint64_t)(end - p))
				goto out_undecodable;
			fd = tag >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(
			                                  md, (unsigned)(tag >> 3))
			                            : NULL;
			if (fd != NULL && fd->type == PROTOBUF_C_TYPE_STRING &&
			    (nul = memchr(p, 0, n)) != NULL) {
				set_err(err, errlen, "%s.%s: a NUL byte at offset %zu", md->name, fd->name,
				        (size_t)(nul - p));
				return CSB_EPROTO;
			}
			if (fd != NULL && fd->type == PROTOBUF_C_TYPE_MESSAGE && depth < 16 &&
			    (rv = strings_check(fd->descriptor, p, n, depth + 1, err, errlen)) != CSB_OK)
				return rv;
			break;
		default:
			goto out_undecodable;
		}
		if (n > (uint64_t)(end - p))
			goto out_undecodable;
		p += n;
	}
	return CSB_OK;
out_undecodable:
	set_err(err, errlen, "%s: undecodable", md->name);
	return CSB_EPROTO;
}

/* ---- Bounds and enums of the decoded message ------------------------------------------ */

static size_t bound_of(const ProtobufCMessageDescriptor *md, const ProtobufCFieldDescriptor *fd,
                       size_t dflt)
{
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
		if (strcmp(bounds[i].message, md->name) == 0 && strcmp(bounds[i].field, fd->name) == 0 &&
		    bounds[i].max != 0)
			return bounds[i].max;
	return dflt;
}

static csb_err check_message(const ProtobufCMessage *msg, unsigned depth, char *err,
                             size_t errlen);

/* Checks one element (of a singular or repeated field) at p. */
static csb_err check_value(const ProtobufCMessageDescriptor *md,
                           const ProtobufCFieldDescriptor *fd, const void *p, unsigned depth,
                           char *err, size_t errlen)
{
	size_t max;

	switch (fd->type) {
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int *)p;

		if (protobuf_c_enum_descriptor_get_value(fd->descriptor, v) == NULL) {
			set_err(err, errlen, "%s.%s: unknown enum value %d", md->name, fd->name, v);
			return CSB_EPROTO;
		}
		return CSB_OK;
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		size_t n = s ? strlen(s) : 0;

		max = bound_of(md, fd, CSB_WIRE_STRING_MAX);
		if (n > max) {
			set_err(err, errlen, "%s.%s: %zu bytes, at most %zu", md->name, fd->name, n, max);
			return CSB_ETOOBIG;
		}
		return CSB_OK;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;

		max = bound_of(md, fd, SIZE_MAX);
		if (b->len > max) {
			set_err(err, errlen, "%s.%s: %zu bytes, at most %zu", md->name, fd->name,
			        b->len, max);
			return CSB_ETOOBIG;
		}
		return CSB_OK;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;

		return sub ? check_message(sub, depth + 1, err, errlen) : CSB_OK;
	}
	default:
		return CSB_OK;
	}
}

static size_t elem_size(const ProtobufCFieldDescriptor *fd)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	default:
		return 0; /* scalars need no check */
	}
}

static csb_err check_field(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *fd,
                           unsigned depth, char *err, size_t errlen)
{
	const ProtobufCMessageDescriptor *md = msg->descriptor;
	const char *base = (const char *)msg;
	size_t esz = elem_size(fd);
	csb_err rv;

	if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t n = *(const size_t *)(base + fd->quantifier_offset);
		const char *arr = *(char *const *)(base + fd->offset);
		size_t max = bound_of(md, fd, CSB_WIRE_REPEATED_MAX);

		if (n > max) {
			set_err(err, errlen, "%s.%s: %zu elements, at most %zu", md->name, fd->name,
			        n, max);
			return CSB_ETOOBIG;
		}
		if (esz == 0)
			return CSB_OK;
		for (size_t i = 0; i < n; i++)
			if ((rv = check_value(md, fd, arr + i * esz, depth, err, errlen)) != CSB_OK)
				return rv;
		return CSB_OK;
	}
	if (esz == 0)
		return CSB_OK;
	return check_value(md, fd, base + fd->offset, depth, err, errlen);
}

static csb_err check_message(const ProtobufCMessage *msg, unsigned depth, char *err,
                             size_t errlen)
{
	const ProtobufCMessageDescriptor *md = msg->descriptor;
	csb_err rv;

	if (depth > 16) {
		set_err(err, errlen, "%s: nested too deep", md->name);
		return CSB_EPROTO;
	}
	for (unsigned i = 0; i < md->n_fields; i++)
		if ((rv = check_field(msg, &md->fields[i], depth, err, errlen)) != CSB_OK)
			return rv;
	return CSB_OK;
}

csb_err csb_wire_check(const ProtobufCMessage *msg, char *err, size_t errlen)
{
	if (msg == NULL)
		return CSB_EINVAL;
	return check_message(msg, 0, err, errlen);
}

csb_err csb_wire_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                        ProtobufCMessage **out, char *err, size_t errlen)
{
	ProtobufCMessage *msg;
	csb_err rv;

	if (desc == NULL || out == NULL || (buf == NULL && len != 0))
		return CSB_EINVAL;
	*out = NULL;
	msg = protobuf_c_message_unpack(desc, NULL, len, buf);
	if (msg == NULL) {
		set_err(err, errlen, "%s: undecodable or truncated (%zu bytes)", desc->name, len);
		return CSB_EPROTO;
	}
	if ((rv = strings_check(desc, buf, len, 0, err, errlen)) != CSB_OK ||
	    (rv = check_message(msg, 0, err, errlen)) != CSB_OK) {
		protobuf_c_message_free_unpacked(msg, NULL);
		return rv;
	}
	*out = msg;
	return CSB_OK;
}

csb_err csb_wire_pack(const ProtobufCMessage *msg, uint8_t **buf, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *b = malloc(n ? n : 1);

	if (b == NULL)
		return CSB_ENOMEM;
	*len = protobuf_c_message_pack(msg, b);
	*buf = b;
	return CSB_OK;
}
