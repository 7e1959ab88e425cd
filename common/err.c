/* csb_strerror() and csb_err_name(): the texts of the project's error enum. */
#include "common/err.h"

static const struct {
	const char *name;
	const char *text;
} err_table[CSB_ERR_COUNT] = {
	[CSB_OK] = {"OK", "success"},
	[CSB_EINVAL] = {"EINVAL", "invalid argument"},
	[CSB_ENOMEM] = {"ENOMEM", "out of memory"},
	[CSB_ENOTFOUND] = {"ENOTFOUND", "not found"},
	[CSB_EEXIST] = {"EEXIST", "already exists"},
	[CSB_EIO] = {"EIO", "input/output error"},
	[CSB_ENOSPC] = {"ENOSPC", "disk full"},
	[CSB_ECORRUPT] = {"ECORRUPT", "data failed validation"},
	[CSB_ELINEAGE] = {"ELINEAGE", "lineage does not match the import cursor"},
	[CSB_ESEQ] = {"ESEQ", "sequence does not follow the import cursor"},
	[CSB_ELOGGONE] = {"ELOGGONE", "change log no longer covers that sequence"},
	[CSB_ETOOBIG] = {"ETOOBIG", "message or field too large"},
	[CSB_EPROTO] = {"EPROTO", "malformed message"},
	[CSB_ETIMEDOUT] = {"ETIMEDOUT", "timed out"},
	[CSB_EUNREACH] = {"EUNREACH", "peer unreachable"},
	[CSB_ECLOSED] = {"ECLOSED", "closed"},
	[CSB_EDENIED] = {"EDENIED", "access denied"},
	[CSB_ENOMETHOD] = {"ENOMETHOD", "unknown method"},
	[CSB_EREADONLY] = {"EREADONLY", "pool is read-only"},
	[CSB_EBUSY] = {"EBUSY", "busy"},
	[CSB_ETLS] = {"ETLS", "TLS failure"},
	[CSB_EINTERNAL] = {"EINTERNAL", "internal error"},
	[CSB_ENOTCONN] = {"ENOTCONN", "not connected"},
	[CSB_ENOTMASTER] = {"ENOTMASTER", "not the active master"},
};

const char *csb_strerror(csb_err rv)
{
	if ((unsigned)rv >= CSB_ERR_COUNT)
		return "unknown error";
	return err_table[rv].text;
}

const char *csb_err_name(csb_err rv)
{
	if ((unsigned)rv >= CSB_ERR_COUNT)
		return "EUNKNOWN";
	return err_table[rv].name;
}
