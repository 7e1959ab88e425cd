/* The configuration ZIP of Import-CsConfiguration (model/bundle.h): every entry is read in
 * full and checked; a bundle it accepts is written again and read back to the same
 * topology and configuration; one it refuses comes with a one-line reason. */
#include <string.h>

#include "fuzz/fuzz.h"
#include "model/bundle.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	csb_backup_config c, c2;
	csb_topology *t = NULL, *t2 = NULL;
	char err[512] = "";
	uint8_t *zip = NULL;
	size_t len = 0;
	csb_err rv;

	csb_config_defaults(&c);
	rv = csb_bundle_read(data, size, &t, &c, err, sizeof(err));
	if (rv != CSB_OK) {
		FUZZ_CHECK(t == NULL);
		FUZZ_CHECK(rv == CSB_ECORRUPT || rv == CSB_EINVAL || rv == CSB_ENOMEM);
		FUZZ_CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
		return 0;
	}
	FUZZ_CHECK(t != NULL);
	FUZZ_CHECK(csb_topology_check(t, err, sizeof(err)) == CSB_OK);
	FUZZ_CHECK(csb_config_check(&c, err, sizeof(err)) == CSB_OK);
	FUZZ_CHECK(csb_bundle_write(t, &c, &zip, &len) == CSB_OK);
	csb_config_defaults(&c2);
	FUZZ_CHECK(csb_bundle_read(zip, len, &t2, &c2, err, sizeof(err)) == CSB_OK);
	FUZZ_CHECK(csb_topology_equal(t, t2));
	FUZZ_CHECK(csb_config_equal(&c, &c2));
	free(zip);
	csb_topology_free(t);
	csb_topology_free(t2);
	return 0;
}
