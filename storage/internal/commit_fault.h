/* Fault injection for storage/ tests linked with -Wl,--wrap=mdb_txn_commit: the next
 * tu_fail_commits commits fail with EIO (the transaction is aborted, as a failed commit
 * leaves it); 0 lets them through. */
#ifndef CSB_STORAGE_INTERNAL_COMMIT_FAULT_H
#define CSB_STORAGE_INTERNAL_COMMIT_FAULT_H

extern int tu_fail_commits;

#endif
