/* The topology parser (Publish-CsTopology's file, model/topology.h): whatever it accepts
 * is a topology csb_topology_check() accepts, written back canonically, and read back
 * equal; whatever it refuses comes with a one-line reason. */
#include <string.h>

#include "fuzz/fuzz.h"
#include "model/topology.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	csb_topology *t = NULL, *t2 = NULL;
	char err[512] = "", *json, *json2;
	csb_err rv = csb_topology_parse((const char *)data, size, &t, err, sizeof(err));

	if (rv != CSB_OK) {
		FUZZ_CHECK(t == NULL && (rv == CSB_EINVAL || rv == CSB_ENOMEM));
		FUZZ_CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
		return 0;
	}
	FUZZ_CHECK(csb_topology_check(t, err, sizeof(err)) == CSB_OK);
	FUZZ_CHECK((json = csb_topology_to_json(t)) != NULL);
	FUZZ_CHECK(csb_topology_parse(json, strlen(json), &t2, err, sizeof(err)) == CSB_OK);
	FUZZ_CHECK(csb_topology_equal(t, t2));
	FUZZ_CHECK((json2 = csb_topology_to_json(t2)) != NULL && strcmp(json, json2) == 0);
	for (size_t i = 0; i < t->n_pools; i++)
		FUZZ_CHECK(csb_topology_pool(t2, t->pools[i].fqdn) != NULL);
	free(json);
	free(json2);
	csb_topology_free(t);
	csb_topology_free(t2);
	return 0;
}
