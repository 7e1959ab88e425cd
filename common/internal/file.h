/* Small file helpers shared inside common/: read a whole (small) file, and replace a file
 * atomically (temporary file in the same folder, fsync, rename). Used by certs.c for PEM
 * files and by rpc_auth.c to load certificates and keys. */
#ifndef CSB_COMMON_INTERNAL_FILE_H
#define CSB_COMMON_INTERNAL_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* Reads all of path into *buf (malloc'ed, NUL-terminated, caller frees; *len excludes the
 * NUL) when it is at most max bytes. Returns CSB_OK, CSB_ENOTFOUND (no such file),
 * CSB_ETOOBIG (over max), CSB_EIO (other errors, errno kept), CSB_ENOMEM. */
csb_err csb__file_read(const char *path, size_t max, char **buf, size_t *len);

/* Replaces path with len bytes of data, created with mode (e.g. 0600), so that readers
 * see either the old file or the whole new one. Returns CSB_OK or CSB_EIO. */
csb_err csb__file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

#endif
