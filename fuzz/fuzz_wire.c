/* Every message decoder: the first byte picks a message type of proto/, the rest is its
 * encoding, decoded and validated by csb_wire_unpack() as every RPC request and reply is.
 * A message it accepts must pass csb_wire_check() and survive pack/unpack unchanged. */
#include <string.h>

#include "common/wire.h"
#include "fuzz/fuzz.h"
#include "fuzz/messages.h"


int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCMessageDescriptor *d;
	ProtobufCMessage *msg = NULL, *again = NULL;
	uint8_t *buf = NULL, *buf2 = NULL;
	size_t len, len2;
	char err[256] = "";
	csb_err rv;

	if (size < 1)
		return 0;
	d = fuzz_messages[data[0] % FUZZ_MESSAGES];
	/* An empty body arrives as NULL, as the RPC server hands over an absent Envelope.body. */
	rv = csb_wire_unpack(d, size > 1 ? data + 1 : NULL, size - 1, &msg, err, sizeof(err));
	if (rv != CSB_OK) {
		FUZZ_CHECK(msg == NULL);
		FUZZ_CHECK(rv == CSB_EPROTO || rv == CSB_ETOOBIG || rv == CSB_ENOMEM);
		FUZZ_CHECK(err[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(msg != NULL && msg->descriptor == d);
	FUZZ_CHECK(csb_wire_check(msg, err, sizeof(err)) == CSB_OK);
	/* What was accepted packs, and the packed form decodes to the same bytes again. */
	FUZZ_CHECK(csb_wire_pack(msg, &buf, &len) == CSB_OK);
	FUZZ_CHECK(csb_wire_unpack(d, buf, len, &again, err, sizeof(err)) == CSB_OK);
	FUZZ_CHECK(csb_wire_pack(again, &buf2, &len2) == CSB_OK);
	FUZZ_CHECK(len2 == len && memcmp(buf, buf2, len) == 0);
	free(buf);
	free(buf2);
	protobuf_c_message_free_unpacked(again, NULL);
	protobuf_c_message_free_unpacked(msg, NULL);
	return 0;
}
