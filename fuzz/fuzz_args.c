/* The cmdlet command line (cli/args.h): the input is argv, one argument per NUL-separated
 * piece. Parsing answers OK or a usage error with its one line ("csb: …", no newline);
 * help and completion of the same line never fail. */
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "fuzz/fuzz.h"

#define ARGS_MAX 64

static FILE *sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	unsetenv("CSB_CLUSTER"); /* completion would read a cluster folder */
	if ((sink = fopen("/dev/null", "w")) == NULL)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *argv[ARGS_MAX + 1], err[512];
	csb_args *a = malloc(sizeof(*a));
	int argc = 0;
	csb_err rv;

	if (copy == NULL || a == NULL)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[argc++] = "csb";
	for (size_t i = 0; i < size && argc < ARGS_MAX; i += strlen(copy + i) + 1)
		argv[argc++] = copy + i;
	argv[argc] = NULL;
	err[0] = '\0';
	rv = csb_args_parse(argc, argv, a, err, sizeof(err));
	FUZZ_CHECK(rv == CSB_OK || rv == CSB_EINVAL);
	if (rv == CSB_EINVAL) {
		FUZZ_CHECK(strncmp(err, "csb: ", 5) == 0);
		FUZZ_CHECK(strchr(err, '\n') == NULL);
	} else {
		for (int p = 0; p < CSB_P_COUNT; p++)
			FUZZ_CHECK(csb_args_param_name((csb_param)p) != NULL);
		csb_args_usage(sink, a);
	}
	csb_args_complete(argc - 1, argv + 1, sink);
	free(a);
	free(copy);
	return 0;
}
