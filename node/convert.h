/* Conversions between storage's structs and the wire messages, shared by the services. */
#ifndef CSB_AGENT_INTERNAL_CONVERT_H
#define CSB_AGENT_INTERNAL_CONVERT_H

#include "agent/internal/agent.h"
#include "proto/sync.pb-c.h"

/* Points pb at r's key and value (no copy: valid while r is). */
void agent__record_to_pb(const csb_record *r, Csb__Record *pb);

/* Points r at pb's key and value (no copy: valid while pb is). */
void agent__record_from_pb(const Csb__Record *pb, csb_record *r);

/* A missing KeyRange is the whole key space. */
void agent__range_from_pb(const Csb__KeyRange *pb, csb_range *r);
void agent__range_to_pb(const csb_range *r, Csb__KeyRange *pb);
void agent__part_to_pb(const csb_split_part *p, Csb__KeyRange *kr, Csb__Digest *dg);
void agent__digest_to_pb(const csb_digest *d, Csb__Digest *pb);
void agent__digest_from_pb(const Csb__Digest *pb, csb_digest *d);

/* Decodes the request body as desc; on failure the reason goes to rep->error. */
csb_err agent__unpack(const ProtobufCMessageDescriptor *desc, const csb_rpc_request *req,
                      csb_rpc_reply *rep, ProtobufCMessage **out);

/* Fills a Batch's high seq, lineage, digest and count: from ch (the same read transaction
 * as its records) when given, else from the module's current summary. dg and own must
 * outlive the batch. */
csb_err agent__batch_summary(struct agent *a, const char *module, const csb_changes *ch,
                             Csb__Batch *batch, Csb__Digest *dg, const csb_lineage *own);

#endif
