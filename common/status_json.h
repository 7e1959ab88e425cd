/* The status document of Get-CsBackupServiceStatus as JSON, with SPEC.md §4's field names:
 * {"PoolFqdn","BackupPoolFqdn","BackupModules":[{"Identity","ExportStatus",…}]}. Shared by
 * the CLI (--json) and the coordinator's /api/v1/status. */
#ifndef CSB_COMMON_STATUS_JSON_H
#define CSB_COMMON_STATUS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "proto/status.pb-c.h"

/* "NotInitialized", "NonSteadyState", "SteadyState", "FinalState", "ErrorState". */
const char *csb_export_state_name(Csb__ExportState s);

/* "NotInitialized", "NormalState", "ErrorState". */
const char *csb_import_state_name(Csb__ImportState s);

/* Formats ms since the epoch as RFC 3339 UTC with milliseconds into out (32 bytes):
 * "2026-11-22T01:02:03.456Z". */
void csb_time_format(uint64_t ms, char *out, size_t len);

/* ms as a JSON RFC 3339 string (csb_time_format()), or null when 0 (never). */
json_t *csb_time_json(uint64_t ms);

/* A new JSON object for ps (caller owns the reference); NULL on allocation failure. Times
 * are RFC 3339 strings or null when never; LastError is a string or null. */
json_t *csb_status_json(const Csb__PoolStatus *ps);

#endif
