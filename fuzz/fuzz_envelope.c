/* The envelope of every RPC: decoded as a server decodes a request (csb_wire_unpack), then,
 * when it carries one, its caller assertion (Envelope.auth: a DER certificate, an audience,
 * an expiry and a signature) checked by the server's verifier against a CA made at start.
 * The verifier must answer OK or denied, never crash, and never admit what it should not:
 * an assertion from this input cannot chain to a CA made after the corpus was. */
#include <stdlib.h>
#include <string.h>

#include "common/certs.h"
#include "common/internal/rpc_internal.h"
#include "common/wire.h"
#include "fuzz/fuzz.h"
#include "proto/envelope.pb-c.h"

#define NOW_MS 1795000000000ull /* a fixed wall time: assertions' expiry against it */

static csb__rpc_verifier *verifier;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = fuzz_tmpdir("envelope");
	char crt[600], key[600];

	(void)argc;
	(void)argv;
	snprintf(crt, sizeof(crt), "%s/ca.crt", dir);
	snprintf(key, sizeof(key), "%s/ca.key", dir);
	if (csb_certs_make_ca(crt, key, "fuzz CA") != CSB_OK ||
	    csb__rpc_verifier_open(crt, "pool01.csb.test", &verifier) != CSB_OK)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CSB_RPC_ERROR_MAX] = "", principal[CSB__RPC_PRINCIPAL_MAX] = "";
	ProtobufCMessage *msg = NULL;
	const Csb__Envelope *e;
	csb_err rv;

	rv = csb_wire_unpack(&csb__envelope__descriptor, data, size, &msg, err, sizeof(err));
	if (rv != CSB_OK) {
		FUZZ_CHECK(msg == NULL && err[0] != '\0');
		return 0;
	}
	e = (const Csb__Envelope *)msg;
	FUZZ_CHECK(e->method != NULL);
	rv = csb__rpc_verifier_check(verifier, e->auth, NOW_MS, principal, err);
	FUZZ_CHECK(rv == CSB_EDENIED || rv == CSB_ENOMEM);
	FUZZ_CHECK(rv != CSB_EDENIED || err[0] != '\0');
	protobuf_c_message_free_unpacked(msg, NULL);
	return 0;
}
