/* Helpers for the storage/ tests: a temporary store directory per test (under
 * $TEST_TMPDIR, else /tmp), removed again, and short ways to write and read records. */
#ifndef CSB_STORAGE_INTERNAL_TEST_UTIL_H
#define CSB_STORAGE_INTERNAL_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

/* A test's directory and its open store. */
typedef struct tu_store {
	char *dir;
	csb_store *s;
} tu_store;

/* Makes a fresh directory (malloc'ed path); fails the test when it cannot. */
char *tu_mkdtemp(void);

/* Removes dir and everything below it, and frees the path. */
void tu_rmtree(char *dir);

/* Opens a store in a fresh directory (map_size 0: the default). */
void tu_open(tu_store *ts, uint64_t map_size, bool no_sync);

/* Closes the store (if open) and removes the directory. */
void tu_close(tu_store *ts);

/* Reopens the store in the same directory. */
void tu_reopen(tu_store *ts, uint64_t map_size);

/* Put / get with NUL-terminated key and value strings. */
csb_err tu_put(csb_store *s, const char *module, const char *key, const char *value,
               uint64_t *seq);

/* CSB_OK and value == the stored value, or the error of csb_store_get(). */
csb_err tu_get(csb_store *s, const char *source, const char *module, const char *key,
               char *value, size_t cap);

/* Pulls everything of module from src into the copy (source name) of dst, in batches of
 * batch records, like an importer: changes -> apply until caught up. Returns the batches. */
unsigned tu_replicate(csb_store *src, csb_store *dst, const char *source, const char *module,
                      size_t batch);

#endif
