/* The command table of csb: every parameter (name, value type, bounds, field) and every
 * cmdlet (names, parameters it takes, defaults, cross-parameter rules), per SPEC.md §2–§5.
 * args.c walks these tables; adding a parameter or a cmdlet is a change here only. */
#include "cli/internal/cmdlets.h"

#include <stddef.h>

#define F(field) offsetof(csb_args, field)

#define SWITCH(name, kebab, field) \
	{name, kebab, "-" name, NULL, CSB__T_SWITCH, false, F(field), 0, 0}
#define VALUE(name, kebab, meta, type, field) \
	{name, kebab, "-" name, meta, type, false, F(field), 0, 0}
#define RANGE(name, kebab, meta, type, field, min, max) \
	{name, kebab, "-" name, meta, type, false, F(field), min, max}

#define SEC 1000ull

const csb__param_def csb__params[CSB_P_COUNT] = {
	[CSB_P_POOL_FQDN] = VALUE("PoolFqdn", "pool-fqdn", "<fqdn>", CSB__T_FQDN, pool_fqdn),
	[CSB_P_CATEGORY] = VALUE("Category", "category", "CMS|UserData|RGS", CSB__T_CATEGORY,
	                         category),
	[CSB_P_FULL_BACKUP] = SWITCH("FullBackup", "full-backup", full_backup),
	[CSB_P_STEADY_STATE] = SWITCH("SteadyState", "steady-state", steady_state),
	[CSB_P_FAILED_OVER_POOL_ONLY] = SWITCH("FailedOverPoolOnly", "failed-over-pool-only",
	                                       failed_over_pool_only),
	[CSB_P_RETRY_COUNT] = RANGE("RetryCount", "retry-count", "<n>", CSB__T_COUNT,
	                            retry_count, 1, 1000),
	[CSB_P_WAIT_TIME] = RANGE("WaitTime", "wait-time", "<time>", CSB__T_TIME, wait_time_ms,
	                          1 * SEC, 3600 * SEC),
	[CSB_P_REPORT] = VALUE("Report", "report", "<path>", CSB__T_TEXT, report),
	[CSB_P_LOCAL_STORE] = SWITCH("LocalStore", "local-store", local_store),
	[CSB_P_FORCE] = SWITCH("Force", "force", force),
	[CSB_P_WHAT_IF] = SWITCH("WhatIf", "what-if", what_if),
	[CSB_P_CONFIRM] = SWITCH("Confirm", "confirm", confirm),
	[CSB_P_BACKUP_MODULE] = VALUE("BackupModule", "backup-module", "<module>",
	                              CSB__T_MODULE, module),
	[CSB_P_IDENTITY] = VALUE("Identity", "identity", "Global", CSB__T_IDENTITY, identity),
	[CSB_P_SYNC_INTERVAL] = RANGE("SyncInterval", "sync-interval", "<time>", CSB__T_TIME,
	                              sync_interval_ms, 5 * SEC, 3 * 3600 * SEC),
	[CSB_P_MAX_BATCHES_USER_STORE] = RANGE("MaxBatchesPerUserStoreSync",
	                                       "max-batches-per-user-store-sync", "<n>",
	                                       CSB__T_COUNT, max_batches_user_store, 1, 1000000),
	[CSB_P_MAX_BATCHES_CMS] = RANGE("MaxBatchesPerCmsSync", "max-batches-per-cms-sync",
	                                "<n>", CSB__T_COUNT, max_batches_cms, 1, 1000000),
	[CSB_P_MAX_DATACONF_PACKAGE_KB] = RANGE("MaxDataConfPackageSizeKB",
	                                        "max-data-conf-package-size-kb", "<kb>",
	                                        CSB__T_COUNT, max_dataconf_package_kb, 1,
	                                        10485760 /* 10 GiB */),
	[CSB_P_AUTHORIZED_GROUPS] = VALUE("AuthorizedUniversalGroups",
	                                  "authorized-universal-groups", "<G1,G2>",
	                                  CSB__T_GROUPS, groups),
	[CSB_P_ENABLE_RGS] = VALUE("EnableRgsBackupService", "enable-rgs-backup-service",
	                           "$true|$false", CSB__T_BOOL, enable_rgs),
	[CSB_P_DISASTER_MODE] = SWITCH("DisasterMode", "disaster-mode", disaster_mode),
	[CSB_P_FILE_NAME] = VALUE("FileName", "file-name", "<path>", CSB__T_TEXT, file_name),
	[CSB_P_CMS_STATUS] = SWITCH("CentralManagementStoreStatus",
	                            "central-management-store-status", cms_status),
	[CSB_P_MODULE] = VALUE("Module", "module", "<module>", CSB__T_MODULE, module),
	[CSB_P_KEY] = VALUE("Key", "key", "<key>", CSB__T_TEXT, key),
	[CSB_P_VALUE] = {"Value", "value", "-Value", "<text>", CSB__T_TEXT, true, F(value), 0, 0},
	[CSB_P_VALUE_FILE] = VALUE("ValueFile", "value-file", "<path>", CSB__T_TEXT, value_file),
	[CSB_P_FROM_BACKUP] = SWITCH("FromBackup", "from-backup", from_backup),
	[CSB_P_PREFIX] = {"Prefix", "prefix", "-Prefix", "<text>", CSB__T_TEXT, true, F(prefix),
	                  0, 0},
	[CSB_P_LIMIT] = RANGE("Limit", "limit", "<n>", CSB__T_COUNT, limit, 1, 1000000),
	[CSB_P_COUNT_RECORDS] = RANGE("Count", "count", "<n>", CSB__T_COUNT, count, 1,
	                              100000000),
	[CSB_P_VALUE_SIZE] = RANGE("ValueSize", "value-size", "<bytes>", CSB__T_COUNT,
	                           value_size, 1, 256u << 20 /* the store's value limit */),
	[CSB_P_UPDATE_FRACTION] = VALUE("UpdateFraction", "update-fraction", "<0..1>",
	                                CSB__T_FRACTION, update_fraction),
	[CSB_P_DELETE_FRACTION] = VALUE("DeleteFraction", "delete-fraction", "<0..1>",
	                                CSB__T_FRACTION, delete_fraction),
	[CSB_P_SEED] = RANGE("Seed", "seed", "<n>", CSB__T_COUNT, seed, 0, UINT64_MAX),
	/* The cluster launcher's flags are GNU-style in SPEC.md §2 and shown that way. */
	[CSB_P_DIR] = {"Dir", "dir", "--dir", "<dir>", CSB__T_TEXT, false, F(dir), 0, 0},
	[CSB_P_POOLS] = {"Pools", "pools", "--pools", "<n>", CSB__T_COUNT, false, F(pools), 2,
	                 64},
	[CSB_P_BASE_PORT] = {"BasePort", "base-port", "--base-port", "<port>", CSB__T_COUNT,
	                     false, F(base_port), 1, 65535},
	[CSB_P_NODE] = {"Node", "node", "--node", "<node>", CSB__T_NODE, false, F(node), 0, 0},
	[CSB_P_PRINCIPAL] = {"Principal", "principal", "--principal", "<name>",
	                     CSB__T_PRINCIPAL, false, F(principal), 0, 0},
};

/* Cross-parameter rules. Each returns the message for the first rule broken, or NULL. */

static const char *check_backup(const csb_args *a)
{
	if (a->full_backup && a->steady_state)
		return "-FullBackup and -SteadyState cannot be used together";
	if (a->failed_over_pool_only && !a->full_backup)
		return "-FailedOverPoolOnly requires -FullBackup";
	return NULL;
}

static const char *check_put(const csb_args *a)
{
	bool v = csb_args_given(a, CSB_P_VALUE), f = csb_args_given(a, CSB_P_VALUE_FILE);

	if (v && f)
		return "-Value and -ValueFile cannot be used together";
	if (!v && !f)
		return "-Value or -ValueFile is required";
	return NULL;
}

static const char *check_load(const csb_args *a)
{
	if (a->update_fraction + a->delete_fraction > 1.0)
		return "-UpdateFraction and -DeleteFraction together must not exceed 1";
	return NULL;
}

static const char *check_up(const csb_args *a)
{
	if (a->pools % 2 != 0)
		return "--pools must be even (pool k is paired with pool k+1)";
	return NULL;
}

#define USES(...) \
	(const csb__use[]){__VA_ARGS__}, \
	sizeof((const csb__use[]){__VA_ARGS__}) / sizeof(csb__use)
#define NO_USES NULL, 0

#define REQ CSB__REQ
#define DEF CSB__DEF

/* Parameters shared by several cmdlets. */
#define POOL {CSB_P_POOL_FQDN, REQ, 0}
#define DATA_POOL_MODULE {CSB_P_POOL_FQDN, REQ, 0}, {CSB_P_MODULE, REQ, 0}
#define CLUSTER_DIR {CSB_P_DIR, REQ, 0}
#define FAILOVER_USES(wait_ms) \
	USES(POOL, {CSB_P_DISASTER_MODE, 0, 0}, {CSB_P_WAIT_TIME, DEF, wait_ms}, \
	     {CSB_P_FORCE, 0, 0}, {CSB_P_WHAT_IF, 0, 0}, {CSB_P_CONFIRM, 0, 0})
#define CONFIG_FILE_USES \
	USES({CSB_P_FILE_NAME, REQ, 0}, {CSB_P_LOCAL_STORE, 0, 0}, {CSB_P_FORCE, 0, 0})

const csb__cmdlet csb__cmdlets[CSB_CMD_COUNT] = {
	[CSB_CMD_BACKUP_POOL] = {
		"Backup-CsPool", "backup-pool", NULL, NULL,
		"Back up a pool to its backup pool now and wait until it is imported.",
		check_backup,
		USES(POOL, {CSB_P_CATEGORY, 0, 0}, {CSB_P_FULL_BACKUP, 0, 0},
		     {CSB_P_STEADY_STATE, 0, 0}, {CSB_P_FAILED_OVER_POOL_ONLY, 0, 0},
		     {CSB_P_RETRY_COUNT, DEF, 10}, {CSB_P_WAIT_TIME, DEF, 5 * SEC},
		     {CSB_P_REPORT, 0, 0}, {CSB_P_LOCAL_STORE, 0, 0}, {CSB_P_FORCE, 0, 0},
		     {CSB_P_WHAT_IF, 0, 0}, {CSB_P_CONFIRM, 0, 0})},
	[CSB_CMD_SYNC] = {
		"Invoke-CsBackupServiceSync", "sync", NULL, NULL,
		"Sync a pool's modules (or one) to its backup pool now (-PoolFqdn -: stdin).",
		NULL,
		USES({CSB_P_POOL_FQDN, CSB__STDIN, 0}, {CSB_P_BACKUP_MODULE, 0, 0},
		     {CSB_P_FORCE, 0, 0})},
	[CSB_CMD_STATUS] = {
		"Get-CsBackupServiceStatus", "status", NULL, NULL,
		"Show the export and import state of a pool's modules.",
		NULL,
		USES(POOL, {CSB_P_CATEGORY, 0, 0}, {CSB_P_FORCE, 0, 0})},
	[CSB_CMD_GET_CONFIG] = {
		"Get-CsBackupServiceConfiguration", "get-config", NULL, NULL,
		"Show the backup service configuration.",
		NULL,
		USES({CSB_P_IDENTITY, 0, 0}, {CSB_P_LOCAL_STORE, 0, 0})},
	[CSB_CMD_SET_CONFIG] = {
		"Set-CsBackupServiceConfiguration", "set-config", NULL, NULL,
		"Change the backup service configuration.",
		NULL,
		USES({CSB_P_IDENTITY, REQ, 0}, {CSB_P_SYNC_INTERVAL, 0, 0},
		     {CSB_P_MAX_BATCHES_USER_STORE, 0, 0}, {CSB_P_MAX_BATCHES_CMS, 0, 0},
		     {CSB_P_MAX_DATACONF_PACKAGE_KB, 0, 0}, {CSB_P_AUTHORIZED_GROUPS, 0, 0},
		     {CSB_P_ENABLE_RGS, 0, 0}, {CSB_P_WHAT_IF, 0, 0})},
	[CSB_CMD_RESET_CONFIG] = {
		"Remove-CsBackupServiceConfiguration", "reset-config", NULL, NULL,
		"Reset the backup service configuration to its defaults.",
		NULL,
		USES({CSB_P_IDENTITY, REQ, 0})},
	[CSB_CMD_RELATIONSHIP] = {
		"Get-CsPoolBackupRelationship", "relationship", NULL, NULL,
		"Show a pool's backup pool.",
		NULL,
		USES(POOL, {CSB_P_LOCAL_STORE, 0, 0})},
	[CSB_CMD_FAILOVER] = {
		"Invoke-CsPoolFailover", "failover", NULL, NULL,
		"Fail a pool's users over to its backup pool.",
		NULL,
		FAILOVER_USES(15 * SEC)},
	[CSB_CMD_FAILBACK] = {
		"Invoke-CsPoolFailback", "failback", NULL, NULL,
		"Fail a pool's users back from its backup pool.",
		NULL,
		FAILOVER_USES(15 * SEC)},
	[CSB_CMD_POOL_STATE] = {
		"Get-CsPoolState", "pool-state", NULL, NULL,
		"Show whether a pool is Normal, FailingOver, FailedOver or FailingBack.",
		NULL,
		USES(POOL)},
	[CSB_CMD_EXPORT_CONFIG] = {
		"Export-CsConfiguration", "export-config", NULL, NULL,
		"Export the topology, backup configuration and RBAC to a ZIP file.",
		NULL,
		CONFIG_FILE_USES},
	[CSB_CMD_IMPORT_CONFIG] = {
		"Import-CsConfiguration", "import-config", NULL, NULL,
		"Import the topology, backup configuration and RBAC from a ZIP file.",
		NULL,
		CONFIG_FILE_USES},
	[CSB_CMD_PUBLISH_TOPOLOGY] = {
		"Publish-CsTopology", "publish-topology", NULL, NULL,
		"Publish a topology file (sites, pools, backup pairs, principals).",
		NULL,
		USES({CSB_P_FILE_NAME, REQ, 0})},
	[CSB_CMD_TOPOLOGY] = {
		"Get-CsTopology", "topology", NULL, NULL,
		"Show the published topology.",
		NULL,
		NO_USES},
	[CSB_CMD_CMS_FAILOVER] = {
		"Invoke-CsManagementServerFailover", "cms-failover", NULL, NULL,
		"Move the Central Management Store master to its backup pool.",
		NULL,
		USES({CSB_P_FORCE, 0, 0}, {CSB_P_WHAT_IF, 0, 0}, {CSB_P_CONFIRM, 0, 0})},
	[CSB_CMD_CMS_STATUS] = {
		"Get-CsManagementStoreReplicationStatus", "cms-status", NULL, NULL,
		"Show whether every replica of the Central Management Store is up to date.",
		NULL,
		USES({CSB_P_CMS_STATUS, 0, 0})},
	[CSB_CMD_VERIFY] = {
		"Test-CsBackupData", "verify", NULL, NULL,
		"Compare a pool's data with its backup copy (exit 1 when they differ).",
		NULL,
		USES(POOL, {CSB_P_BACKUP_MODULE, 0, 0})},
	[CSB_CMD_DATA_PUT] = {
		"data put", NULL, "data", "put",
		"Write one record.",
		check_put,
		USES(DATA_POOL_MODULE, {CSB_P_KEY, REQ, 0}, {CSB_P_VALUE, 0, 0},
		     {CSB_P_VALUE_FILE, 0, 0})},
	[CSB_CMD_DATA_GET] = {
		"data get", NULL, "data", "get",
		"Read one record (from the partner's backup copy with -FromBackup).",
		NULL,
		USES(DATA_POOL_MODULE, {CSB_P_KEY, REQ, 0}, {CSB_P_FROM_BACKUP, 0, 0})},
	[CSB_CMD_DATA_DELETE] = {
		"data delete", NULL, "data", "delete",
		"Delete one record.",
		NULL,
		USES(DATA_POOL_MODULE, {CSB_P_KEY, REQ, 0})},
	[CSB_CMD_DATA_LIST] = {
		"data list", NULL, "data", "list",
		"List records in key order.",
		NULL,
		USES(DATA_POOL_MODULE, {CSB_P_PREFIX, 0, 0}, {CSB_P_LIMIT, 0, 0},
		     {CSB_P_FROM_BACKUP, 0, 0})},
	[CSB_CMD_DATA_LOAD] = {
		"data load", NULL, "data", "load",
		"Write, update and delete generated records in bulk.",
		check_load,
		USES(DATA_POOL_MODULE, {CSB_P_COUNT_RECORDS, REQ, 0},
		     {CSB_P_VALUE_SIZE, DEF, 200}, {CSB_P_UPDATE_FRACTION, 0, 0},
		     {CSB_P_DELETE_FRACTION, 0, 0}, {CSB_P_SEED, 0, 0})},
	[CSB_CMD_CLUSTER_UP] = {
		"cluster up", NULL, "cluster", "up",
		"Create (if needed) and start a local cluster: a coordinator and paired pools.",
		check_up,
		USES(CLUSTER_DIR, {CSB_P_POOLS, DEF, 2}, {CSB_P_BASE_PORT, 0, 0})},
	[CSB_CMD_CLUSTER_DOWN] = {
		"cluster down", NULL, "cluster", "down",
		"Stop a local cluster; its data stays.",
		NULL,
		USES(CLUSTER_DIR)},
	[CSB_CMD_CLUSTER_KILL] = {
		"cluster kill", NULL, "cluster", "kill",
		"Kill one node (coordinator or a pool FQDN) of a local cluster.",
		NULL,
		USES(CLUSTER_DIR, {CSB_P_NODE, REQ, 0})},
	[CSB_CMD_CLUSTER_START] = {
		"cluster start", NULL, "cluster", "start",
		"Start one node of a local cluster again.",
		NULL,
		USES(CLUSTER_DIR, {CSB_P_NODE, REQ, 0})},
	[CSB_CMD_CLUSTER_ISSUE_CERT] = {
		"cluster issue-cert", NULL, "cluster", "issue-cert",
		"Issue a certificate for another principal (for csb --as NAME).",
		NULL,
		USES(CLUSTER_DIR, {CSB_P_PRINCIPAL, REQ, 0})},
};
