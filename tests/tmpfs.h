/* A tmpfs of a given size over a test's folder, for filling a disk for real. */
#ifndef CSB_TESTS_TMPFS_H
#define CSB_TESTS_TMPFS_H

#include <stdbool.h>

/* Mounts a tmpfs of size ("2m") over dir in a mount namespace of this process's own, so
 * that it is never seen outside this process and the children it starts afterwards, and
 * goes away with them. Needs root: false, with the reason printed as a skip message, where
 * it cannot mount (the caller skips its test). */
bool tmpfs_private(const char *dir, const char *size);

#endif
