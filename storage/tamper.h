/* Test-only: damage a record of a backup copy behind the store's back, the way a bad disk
 * or an offline edit would — the cursor's digest is left as it was, so only a full digest
 * comparison (csb verify) can notice. Linked only into tests (//storage:tamper). */
#ifndef CSB_STORAGE_TAMPER_H
#define CSB_STORAGE_TAMPER_H

#include <stddef.h>

#include "storage/store.h"

/* Flips the last byte of key's value in the copy of (source, module). CSB_OK,
 * CSB_ENOTFOUND (no such record, or an empty value), CSB_EINVAL, CSB_EIO. */
csb_err csb_store_tamper(csb_store *s, const char *source, const char *module, const void *key,
                         size_t key_len);

/* The same, with the cursor's digest moved to the damaged value, as a bad apply would leave
 * it: the copy then disagrees with its source at the same seq, which the importer notices
 * on its next pull and repairs by a differential re-seed. Errors as above. */
csb_err csb_store_tamper_digest(csb_store *s, const char *source, const char *module,
                                const void *key, size_t key_len);

#endif
