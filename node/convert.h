/* Conversions between storage's structs and the wire messages, shared by the node's Sync
 * service and the agent's Data and Control services. */
#ifndef CSB_NODE_CONVERT_H
#define CSB_NODE_CONVERT_H

#include "common/rpc.h"
#include "proto/sync.pb-c.h"
#include "storage/store.h"

/* Points pb at r's key and value (no copy: valid while r is). */
void csb_pb_record_to_pb(const csb_record *r, Csb__Record *pb);

/* Points r at pb's key and value (no copy: valid while pb is). */
void csb_pb_record_from_pb(const Csb__Record *pb, csb_record *r);

/* A missing KeyRange is the whole key space. */
void csb_pb_range_from_pb(const Csb__KeyRange *pb, csb_range *r);
void csb_pb_range_to_pb(const csb_range *r, Csb__KeyRange *pb);
void csb_pb_part_to_pb(const csb_split_part *p, Csb__KeyRange *kr, Csb__Digest *dg);
void csb_pb_digest_to_pb(const csb_digest *d, Csb__Digest *pb);
void csb_pb_digest_from_pb(const Csb__Digest *pb, csb_digest *d);

#endif
