/* The global BackupServiceConfiguration (SPEC.md §4 Get/Set/Remove-
 * CsBackupServiceConfiguration): its defaults, its ranges and its JSON, whose field names
 * are the cmdlet's. A plain value; the coordinator stores it, agents and the CLI read it. */
#ifndef CSB_MODEL_CONFIG_H
#define CSB_MODEL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "model/topology.h"

#define CSB_CONFIG_MAX_GROUPS 32 /* AuthorizedUniversalGroups */

/* Ranges (inclusive) and defaults. */
#define CSB_SYNC_INTERVAL_MIN_MS     5000ull      /* 00:00:05 */
#define CSB_SYNC_INTERVAL_MAX_MS     10800000ull  /* 03:00:00 */
#define CSB_SYNC_INTERVAL_DEFAULT_MS 120000ull    /* 00:02:00 */
#define CSB_MAX_BATCHES_MIN          1ull
#define CSB_MAX_BATCHES_MAX          1000000ull
#define CSB_MAX_BATCHES_DEFAULT      500ull
#define CSB_PACKAGE_SIZE_KB_MIN      1ull
#define CSB_PACKAGE_SIZE_KB_MAX      10485760ull  /* 10 GiB */
#define CSB_PACKAGE_SIZE_KB_DEFAULT  102400ull    /* 100 MiB */
#define CSB_MAX_CONCURRENT_CALLS_MIN     1ull
#define CSB_MAX_CONCURRENT_CALLS_MAX     1000ull
#define CSB_MAX_CONCURRENT_CALLS_DEFAULT 10ull

typedef struct csb_backup_config {
	uint64_t sync_interval_ms;                /* SyncInterval, whole seconds */
	uint64_t max_batches_per_user_store_sync; /* MaxBatchesPerUserStoreSync */
	uint64_t max_batches_per_cms_sync;        /* MaxBatchesPerCmsSync */
	uint64_t max_data_conf_package_size_kb;   /* MaxDataConfPackageSizeKB */
	char groups[CSB_CONFIG_MAX_GROUPS][CSB_NAME_MAX + 1]; /* AuthorizedUniversalGroups */
	size_t n_groups;
	bool enable_rgs_backup_service;           /* EnableRgsBackupService */
	uint64_t max_concurrent_calls;            /* MaxConcurrentCalls: replication calls an
	                                           * agent serves at once */
} csb_backup_config;

/* Fills c with the defaults (Remove-CsBackupServiceConfiguration): SyncInterval 00:02:00,
 * 500 and 500 batches, 102400 KB, no AuthorizedUniversalGroups, EnableRgsBackupService
 * false, MaxConcurrentCalls 10. */
void csb_config_defaults(csb_backup_config *c);

/* Checks c as Set-CsBackupServiceConfiguration would: SyncInterval 00:00:05..03:00:00 in
 * whole seconds, MaxBatchesPerUserStoreSync and MaxBatchesPerCmsSync 1..1000000,
 * MaxDataConfPackageSizeKB 1..10485760, at most 32 AuthorizedUniversalGroups of
 * 1..CSB_NAME_MAX bytes without control characters, none twice (case-insensitive),
 * MaxConcurrentCalls 1..1000.
 * Returns CSB_OK or CSB_EINVAL with one line for the user in err, e.g.
 * "SyncInterval must be between 00:00:05 and 03:00:00" or
 * "AuthorizedUniversalGroups: group 'G' is listed twice". */
csb_err csb_config_check(const csb_backup_config *c, char *err, size_t errlen);

/* Parses the JSON csb_config_to_json() writes. Every field is optional (absent = the
 * default); "Identity" must be "Global" (any case); "SyncInterval" is a string of seconds
 * or hh:mm:ss; the counts are integers; "EnableRgsBackupService" true or false. Unknown
 * keys, duplicate keys, wrong types and values csb_config_check() refuses are refused with
 * one line that starts with the JSON path ("$.Foo: unknown key", "$.SyncInterval: must be
 * between 00:00:05 and 03:00:00") or the place of malformed JSON ("line 1, column 3: ...").
 * *out is written only on success. Returns CSB_OK, CSB_EINVAL or CSB_ENOMEM. */
csb_err csb_config_parse(const char *json, size_t len, csb_backup_config *out, char *err,
                         size_t errlen);

/* Writes c as one line of JSON with the cmdlet's field names, in this order:
 * {"Identity":"Global","SyncInterval":"00:02:00","MaxBatchesPerUserStoreSync":500,
 *  "MaxBatchesPerCmsSync":500,"MaxDataConfPackageSizeKB":102400,
 *  "AuthorizedUniversalGroups":[],"EnableRgsBackupService":false,"MaxConcurrentCalls":10}
 * Returns a malloc'ed string for free(), or NULL when out of memory (or when a group is
 * not UTF-8). */
char *csb_config_to_json(const csb_backup_config *c);

/* Whether a and b hold the same values (groups compared exactly, in order). */
bool csb_config_equal(const csb_backup_config *a, const csb_backup_config *b);

#endif
