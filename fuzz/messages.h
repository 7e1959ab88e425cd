/* Every message type of proto/, in a fixed order: fuzz_wire's first input byte picks one,
 * and seeds.c writes one seed per type in the same order. */
#ifndef CSB_FUZZ_MESSAGES_H
#define CSB_FUZZ_MESSAGES_H

#include "proto/admin.pb-c.h"
#include "proto/data.pb-c.h"
#include "proto/envelope.pb-c.h"
#include "proto/status.pb-c.h"
#include "proto/sync.pb-c.h"

static const ProtobufCMessageDescriptor *const fuzz_messages[] = {
	&csb__empty__descriptor,
	&csb__json_doc__descriptor,
	&csb__publish_topology_request__descriptor,
	&csb__config_set_request__descriptor,
	&csb__pool_request__descriptor,
	&csb__relationship_reply__descriptor,
	&csb__pool_sync_reply__descriptor,
	&csb__pool_verify_reply__descriptor,
	&csb__zip_doc__descriptor,
	&csb__replica_status__descriptor,
	&csb__cms_status_reply__descriptor,
	&csb__pool_state_reply__descriptor,
	&csb__lost_store_report__descriptor,
	&csb__all_status_reply__descriptor,
	&csb__write_item__descriptor,
	&csb__write_request__descriptor,
	&csb__write_reply__descriptor,
	&csb__get_request__descriptor,
	&csb__get_reply__descriptor,
	&csb__list_request__descriptor,
	&csb__list_reply__descriptor,
	&csb__auth__descriptor,
	&csb__envelope__descriptor,
	&csb__module_status__descriptor,
	&csb__pool_status__descriptor,
	&csb__status_request__descriptor,
	&csb__sync_request__descriptor,
	&csb__module_sync__descriptor,
	&csb__sync_reply__descriptor,
	&csb__verify_request__descriptor,
	&csb__range_diff__descriptor,
	&csb__key_range_text__descriptor,
	&csb__module_verify__descriptor,
	&csb__verify_reply__descriptor,
	&csb__replica_request__descriptor,
	&csb__replica_reply__descriptor,
	&csb__seed_replica_request__descriptor,
	&csb__digest__descriptor,
	&csb__record__descriptor,
	&csb__pull_request__descriptor,
	&csb__batch__descriptor,
	&csb__key_range__descriptor,
	&csb__digest_request__descriptor,
	&csb__digest_reply__descriptor,
	&csb__split_request__descriptor,
	&csb__split_part__descriptor,
	&csb__split_reply__descriptor,
	&csb__range_read_request__descriptor,
	&csb__range_read_reply__descriptor,
};

#define FUZZ_MESSAGES (sizeof(fuzz_messages) / sizeof(fuzz_messages[0]))

#endif
