/* Conversions between storage's structs and the wire messages. */
#include "node/convert.h"

#include <string.h>

#include "common/wire.h"

void csb_pb_record_to_pb(const csb_record *r, Csb__Record *pb)
{
	csb__record__init(pb);
	pb->key.data = r->key;
	pb->key.len = r->key_len;
	pb->value.data = r->value;
	pb->value.len = r->value_len;
	pb->value_len = r->value_len;
	pb->seq = r->seq;
	pb->mtime_ms = r->mtime_ms;
	pb->tombstone = r->tombstone;
}

void csb_pb_record_from_pb(const Csb__Record *pb, csb_record *r)
{
	r->key = pb->key.data;
	r->key_len = pb->key.len;
	r->value = pb->tombstone ? NULL : pb->value.data;
	r->value_len = pb->tombstone ? 0 : pb->value.len;
	r->seq = pb->seq;
	r->mtime_ms = pb->mtime_ms;
	r->tombstone = pb->tombstone;
}

void csb_pb_range_from_pb(const Csb__KeyRange *pb, csb_range *r)
{
	memset(r, 0, sizeof(*r));
	if (pb == NULL)
		return;
	if (!pb->lo_open) {
		r->lo = pb->lo.data ? pb->lo.data : (const uint8_t *)"";
		r->lo_len = pb->lo.len;
	}
	if (!pb->hi_open) {
		r->hi = pb->hi.data ? pb->hi.data : (const uint8_t *)"";
		r->hi_len = pb->hi.len;
	}
}

void csb_pb_range_to_pb(const csb_range *r, Csb__KeyRange *pb)
{
	csb__key_range__init(pb);
	pb->lo_open = r->lo == NULL;
	pb->lo.data = (uint8_t *)r->lo;
	pb->lo.len = r->lo_len;
	pb->hi_open = r->hi == NULL;
	pb->hi.data = (uint8_t *)r->hi;
	pb->hi.len = r->hi_len;
}

void csb_pb_part_to_pb(const csb_split_part *p, Csb__KeyRange *kr, Csb__Digest *dg)
{
	csb_range r = {p->lo, p->lo_len, p->hi, p->hi_len};

	csb_pb_range_to_pb(&r, kr);
	csb_pb_digest_to_pb(&p->digest, dg);
}

void csb_pb_digest_to_pb(const csb_digest *d, Csb__Digest *pb)
{
	csb__digest__init(pb);
	pb->lo = d->lo;
	pb->hi = d->hi;
}

void csb_pb_digest_from_pb(const Csb__Digest *pb, csb_digest *d)
{
	d->lo = pb ? pb->lo : 0;
	d->hi = pb ? pb->hi : 0;
}
