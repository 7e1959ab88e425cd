/* Shared by the libFuzzer targets of fuzz/ (built with clang outside Bazel's toolchain by
 * build.sh): the entry points libFuzzer calls, and a check that aborts with a message, so
 * that a broken property is a crash with its reason, as a memory error is. */
#ifndef CSB_FUZZ_FUZZ_H
#define CSB_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A new folder under $TMPDIR named after name, removed at exit (tmp.c). One per process;
 * aborts when it cannot be made. */
const char *fuzz_tmpdir(const char *name);

#define FUZZ_CHECK(cond)                                                                    \
	do {                                                                                    \
		if (!(cond)) {                                                                      \
			fprintf(stderr, "%s:%d: property does not hold: %s\n", __FILE__, __LINE__,     \
			        #cond);                                                                 \
			abort();                                                                        \
		}                                                                                   \
	} while (0)

#endif
