/* mdb_txn_commit() failing on demand (internal/commit_fault.h). */
#include <errno.h>
#include <lmdb.h>

#include "storage/internal/commit_fault.h"

int tu_fail_commits;

int __real_mdb_txn_commit(MDB_txn *txn);
int __wrap_mdb_txn_commit(MDB_txn *txn);

int __wrap_mdb_txn_commit(MDB_txn *txn)
{
	if (tu_fail_commits > 0) {
		tu_fail_commits--;
		mdb_txn_abort(txn); /* as a failed commit does */
		return EIO;
	}
	return __real_mdb_txn_commit(txn);
}
