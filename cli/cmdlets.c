/* The command table of csb: every parameter (name, value type, bounds, field, description),
 * the global flags and PowerShell's common parameters, and every cmdlet (names, parameters
 * it takes, defaults, cross-parameter rules, the documented parameters it refuses and why,
 * the documented examples), per SPEC.md §2–§5 and Microsoft's cmdlet pages. args.c, usage.c
 * and complete.c walk these tables; adding a parameter or a cmdlet is a change here only. */
#include "cli/internal/cmdlets.h"

#include <stddef.h>
#include <string.h>

#define F(field) offsetof(csb_args, field)

#define SWITCH(name, kebab, field, help) \
	{name, kebab, "-" name, NULL, CSB__T_SWITCH, false, F(field), 0, 0, NULL, help}
#define VALUE(name, kebab, meta, type, field, help) \
	{name, kebab, "-" name, meta, type, false, F(field), 0, 0, NULL, help}
#define RANGE(name, kebab, meta, type, field, min, max, help) \
	{name, kebab, "-" name, meta, type, false, F(field), min, max, NULL, help}

#define SEC 1000ull

const csb__param_def csb__params[CSB_P_COUNT] = {
	[CSB_P_POOL_FQDN] = VALUE("PoolFqdn", "pool-fqdn", "<fqdn>", CSB__T_FQDN, pool_fqdn,
	                          "Fully qualified domain name of the pool."),
	[CSB_P_CATEGORY] = VALUE("Category", "category", "CMS|UserData|RGS", CSB__T_CATEGORY,
	                         category,
	                         "The modules of one category: CMS (CentralMgmt.CMSMaster), UserData "
	                         "(UserServices.PresenceFocus, ConfServices.DataConf) or RGS "
	                         "(ApplicationServer.RGSDataStore, ApplicationServer.RGSFileStore). "
	                         "Default: every module."),
	[CSB_P_FULL_BACKUP] = SWITCH("FullBackup", "full-backup", full_backup,
	                             "Then wait until every module's export is FinalState. Not "
	                             "with -SteadyState."),
	[CSB_P_STEADY_STATE] = SWITCH("SteadyState", "steady-state", steady_state,
	                              "Then wait until every module's export is SteadyState or "
	                              "FinalState."),
	[CSB_P_FAILED_OVER_POOL_ONLY] = SWITCH("FailedOverPoolOnly", "failed-over-pool-only",
	                                       failed_over_pool_only,
	                                       "Back up only a pool that is failed over (any "
	                                       "other is skipped with a warning). Needs "
	                                       "-FullBackup."),
	[CSB_P_RETRY_COUNT] = RANGE("RetryCount", "retry-count", "<n>", CSB__T_COUNT,
	                            retry_count, 1, 1000,
	                            "How many times the export states are checked at most "
	                            "(1..1000) before the cmdlet fails."),
	[CSB_P_WAIT_TIME] = RANGE("WaitTime", "wait-time", "<time>", CSB__T_TIME, wait_time_ms,
	                          1 * SEC, 3600 * SEC,
	                          "A time in seconds or hh:mm:ss, 00:00:01..01:00:00."),
	[CSB_P_REPORT] = VALUE("Report", "report", "<path>", CSB__T_TEXT, report,
	                       "The HTML report written when the cmdlet runs (overwritten)."),
	[CSB_P_LOCAL_STORE] = SWITCH("LocalStore", "local-store", local_store,
	                             "Read from the local agent's replica of the Central "
	                             "Management store instead of the coordinator (works while "
	                             "the coordinator is down)."),
	[CSB_P_FORCE] = SWITCH("Force", "force", force,
	                       "Suppresses the display of non-fatal errors (warnings)."),
	[CSB_P_WHAT_IF] = {"WhatIf", "what-if", "-WhatIf", NULL, CSB__T_SWITCH, false,
	                   F(what_if), 0, 0, "wi",
	                   "Shows what the cmdlet would do; changes nothing."},
	[CSB_P_CONFIRM] = {"Confirm", "confirm", "-Confirm", NULL, CSB__T_SWITCH, false,
	                   F(confirm), 0, 0, "cf",
	                   "Asks first (on stdin); nothing is done unless the answer is y or "
	                   "yes."},
	[CSB_P_BACKUP_MODULE] = VALUE("BackupModule", "backup-module", "<module>",
	                              CSB__T_MODULE, module,
	                              "One module: UserServices.PresenceFocus, "
	                              "ConfServices.DataConf, CentralMgmt.CMSMaster, "
	                              "ApplicationServer.RGSDataStore or "
	                              "ApplicationServer.RGSFileStore. Default: every module."),
	[CSB_P_IDENTITY] = VALUE("Identity", "identity", "Global", CSB__T_IDENTITY, identity,
	                         "Global (any case): there is only the global configuration."),
	[CSB_P_SYNC_INTERVAL] = RANGE("SyncInterval", "sync-interval", "<time>", CSB__T_TIME,
	                              sync_interval_ms, 5 * SEC, 3 * 3600 * SEC,
	                              "How long a pool waits before syncing with its backup pool "
	                              "again, 00:00:05..03:00:00. Default: 00:02:00."),
	[CSB_P_MAX_BATCHES_USER_STORE] = RANGE("MaxBatchesPerUserStoreSync",
	                                       "max-batches-per-user-store-sync", "<n>",
	                                       CSB__T_COUNT, max_batches_user_store, 1, 1000000,
	                                       "Most batches the user store modules export "
	                                       "per cycle, 1..1000000. Default: 500."),
	[CSB_P_MAX_BATCHES_CMS] = RANGE("MaxBatchesPerCmsSync", "max-batches-per-cms-sync",
	                                "<n>", CSB__T_COUNT, max_batches_cms, 1, 1000000,
	                                "Most batches the CMS module exports per cycle, "
	                                "1..1000000. Default: 500."),
	[CSB_P_MAX_DATACONF_PACKAGE_KB] = RANGE("MaxDataConfPackageSizeKB",
	                                        "max-data-conf-package-size-kb", "<kb>",
	                                        CSB__T_COUNT, max_dataconf_package_kb, 1,
	                                        10485760 /* 10 GiB */,
	                                        "Largest package (KB) the DataConf module "
	                                        "exports per cycle, 1..10485760. Default: "
	                                        "102400."),
	[CSB_P_AUTHORIZED_GROUPS] = VALUE("AuthorizedUniversalGroups",
	                                  "authorized-universal-groups", "<G1,G2>",
	                                  CSB__T_GROUPS, groups,
	                                  "Groups (comma-separated; \"\" clears them) whose "
	                                  "principals may run Get-CsBackupServiceStatus too. "
	                                  "Default: none."),
	[CSB_P_ENABLE_RGS] = VALUE("EnableRgsBackupService", "enable-rgs-backup-service",
	                           "$true|$false", CSB__T_BOOL, enable_rgs,
	                           "Whether the RGS modules are backed up. Default: $false."),
	[CSB_P_DISASTER_MODE] = SWITCH("DisasterMode", "disaster-mode", disaster_mode,
	                               "The other side is unreachable: go on without it and "
	                               "report what may be lost."),
	[CSB_P_FILE_NAME] = VALUE("FileName", "file-name", "<path>", CSB__T_TEXT, file_name,
	                          "The file."),
	[CSB_P_CMS_STATUS] = SWITCH("CentralManagementStoreStatus",
	                            "central-management-store-status", cms_status,
	                            "Also the state of the Central Management store itself: its "
	                            "active master and its replicas."),
	[CSB_P_MODULE] = VALUE("Module", "module", "<module>", CSB__T_MODULE, module,
	                       "The module (UserServices.PresenceFocus, ...)."),
	[CSB_P_KEY] = VALUE("Key", "key", "<key>", CSB__T_TEXT, key, "The record's key."),
	[CSB_P_VALUE] = {"Value", "value", "-Value", "<text>", CSB__T_TEXT, true, F(value), 0, 0,
	                 NULL, "The record's value (may be empty)."},
	[CSB_P_VALUE_FILE] = VALUE("ValueFile", "value-file", "<path>", CSB__T_TEXT, value_file,
	                           "A file whose bytes are the value (at most 100 MiB)."),
	[CSB_P_FROM_BACKUP] = SWITCH("FromBackup", "from-backup", from_backup,
	                             "Read the pool's backup copy, held by its backup pool."),
	[CSB_P_REAPPLY] = SWITCH("Reapply", "reapply", reapply,
	                         "Write the records set aside back as the pool's current data "
	                         "(through where its users are served), then drop the set."),
	[CSB_P_DIRECT] = SWITCH("Direct", "direct", direct,
	                        "Talk to the pool's own agent, as its own services do, even while "
	                        "its users are served by its backup pool (failed over)."),
	[CSB_P_PREFIX] = {"Prefix", "prefix", "-Prefix", "<text>", CSB__T_TEXT, true, F(prefix),
	                  0, 0, NULL, "Only keys that start with it."},
	[CSB_P_LIMIT] = RANGE("Limit", "limit", "<n>", CSB__T_COUNT, limit, 1, 1000000,
	                      "At most this many records. Default: all."),
	[CSB_P_COUNT_RECORDS] = RANGE("Count", "count", "<n>", CSB__T_COUNT, count, 1,
	                              100000000, "How many operations."),
	[CSB_P_VALUE_SIZE] = RANGE("ValueSize", "value-size", "<bytes>", CSB__T_COUNT,
	                           value_size, 1, 256u << 20 /* the store's value limit */,
	                           "Bytes of each value written."),
	[CSB_P_UPDATE_FRACTION] = VALUE("UpdateFraction", "update-fraction", "<0..1>",
	                                CSB__T_FRACTION, update_fraction,
	                                "The share of operations that rewrite a record the "
	                                "module holds (any key). Default: 0."),
	[CSB_P_DELETE_FRACTION] = VALUE("DeleteFraction", "delete-fraction", "<0..1>",
	                                CSB__T_FRACTION, delete_fraction,
	                                "The share of operations that delete a record the "
	                                "module holds. Default: 0."),
	[CSB_P_SEED] = RANGE("Seed", "seed", "<n>", CSB__T_COUNT, seed, 0, UINT64_MAX,
	                     "Seeds the generator; new keys are load-<seed>-<n>. Default: 0."),
	[CSB_P_VALUE_KIND] = VALUE("ValueKind", "value-kind", "random|presence|conference",
	                           CSB__T_TEXT, value_kind,
	                           "What the values look like: random letters (the default), "
	                           "presence documents as UserServices keeps them (XML with a "
	                           "user's state, note and endpoints), or conference content "
	                           "(slides: text, markup and image bytes)."),
	/* The cluster launcher's flags are GNU-style in SPEC.md §2 and shown that way. */
	[CSB_P_DIR] = {"Dir", "dir", "--dir", "<dir>", CSB__T_TEXT, false, F(dir), 0, 0, NULL,
	               "The cluster's folder."},
	[CSB_P_POOLS] = {"Pools", "pools", "--pools", "<n>", CSB__T_COUNT, false, F(pools), 2,
	                 64, NULL, "How many pools (even: pool k pairs with pool k+1)."},
	[CSB_P_BASE_PORT] = {"BasePort", "base-port", "--base-port", "<port>", CSB__T_COUNT,
	                     false, F(base_port), 1, 65535, NULL,
	                     "The first port to listen on. Default: free ports below 32768."},
	[CSB_P_NODE] = {"Node", "node", "--node", "<node>", CSB__T_NODE, false, F(node), 0, 0,
	                NULL, "coordinator, coordinator2 (the standby coordinator) or a pool FQDN."},
	[CSB_P_PRINCIPAL] = {"Principal", "principal", "--principal", "<name>",
	                     CSB__T_PRINCIPAL, false, F(principal), 0, 0, NULL,
	                     "The certificate's name (CN)."},
	[CSB_P_MAX_CONCURRENT_CALLS] = RANGE("MaxConcurrentCalls", "max-concurrent-calls", "<n>",
	                                     CSB__T_COUNT, max_concurrent_calls, 1, 1000,
	                                     "Most replication calls an agent serves at the "
	                                     "same time, 1..1000. Default: 10."),
	[CSB_P_FILTER] = VALUE("Filter", "filter", "<wildcard>", CSB__T_TEXT, filter,
	                       "Only the configurations whose Identity matches (* ? [...], any "
	                       "case; there is only Global). Not with -Identity."),
	[CSB_P_BYPASS_DUAL_WRITE] = VALUE("BypassDualWrite", "bypass-dual-write", "$true|$false",
	                                  CSB__T_BOOL, bypass_dual_write,
	                                  "Accepted as the documented syntax shows. csbackup "
	                                  "writes the Central Management store once, so there "
	                                  "is no dual write to bypass, and this cmdlet only "
	                                  "reads: it has no effect (a warning says so)."),
	[CSB_P_BACKUP_FILE_NAME] = VALUE("BackupFileName", "backup-file-name", "<path>",
	                                 CSB__T_TEXT, backup_file_name,
	                                 "Where the topology being replaced is saved (publish "
	                                 "it again with -FileName to restore it). Default: "
	                                 "$TMPDIR/Publish-CsTopology-Backup-[yyyy_mm_dd]"
	                                 "[hh_mm_ss].json."),
	[CSB_P_AS_BYTES] = SWITCH("AsBytes", "as-bytes", as_bytes,
	                          "Write the ZIP to stdout instead of a file, for a pipe or a "
	                          "redirection (never to a terminal). Not with -FileName."),
	[CSB_P_BYTE_INPUT] = VALUE("ByteInput", "byte-input", "-", CSB__T_TEXT, byte_input,
	                           "- : read the ZIP from stdin (what Export-CsConfiguration "
	                           "-AsBytes writes). Not with -FileName."),
	[CSB_P_REPLICA_FQDN] = VALUE("ReplicaFqdn", "replica-fqdn", "<fqdn>", CSB__T_FQDN,
	                             replica_fqdn,
	                             "Only the replica held by this pool's agent. Default: every "
	                             "replica."),
	[CSB_P_SKIP_DATA_VERIFICATION] = SWITCH("SkipDataVerification",
	                                        "skip-data-verification",
	                                        skip_data_verification,
	                                        "Do not compare the copy that takes over with "
	                                        "its source (range digests) first."),
	[CSB_P_SERVICES_STOP_DELAY] = RANGE("ServicesStopDelayMins", "services-stop-delay-mins",
	                                    "<minutes>", CSB__T_COUNT, services_stop_delay_min, 0,
	                                    1440,
	                                    "Minutes (0..1440) the pool goes on serving its "
	                                    "users before the failover stops it (records it "
	                                    "FailingOver and fences it), as the original waits "
	                                    "before it stops the pool's services. Not with "
	                                    "-DisasterMode. Default: 0."),
	[CSB_P_DB_COMMAND_TIMEOUT] = RANGE("DatabaseCommandTimeoutInSeconds",
	                                   "database-command-timeout-in-seconds", "<seconds>",
	                                   CSB__T_COUNT, db_command_timeout_s, 1, 86400,
	                                   "Seconds (1..86400) each call to an agent (fence, "
	                                   "promote, open, retire) may take before it times "
	                                   "out; the step then fails as when the agent is "
	                                   "unreachable. The drain and the catch-up are "
	                                   "bounded by -WaitTime. Default: 10 for a fence or "
	                                   "an opening, 300 for a promotion or a retirement."),
	[CSB_P_BACKUP_SQL_SERVER] = VALUE("BackupSqlServerFqdn", "backup-sql-server-fqdn",
	                                  "<fqdn>", CSB__T_FQDN, backup_sql_server,
	                                  "Disaster recovery: the pool whose standby copy of the "
	                                  "Central Management store takes over (the backup pool "
	                                  "of the pool hosting it). Needs -Force."),
	[CSB_P_BACKUP_SQL_INSTANCE] = VALUE("BackupSqlInstanceName", "backup-sql-instance-name",
	                                    "<name>", CSB__T_TEXT, backup_sql_instance,
	                                    "The instance of the standby copy: RTC, the one "
	                                    "instance of the Central Management store here."),
	[CSB_P_RESTORE] = SWITCH("Restore", "restore", restore,
	                         "Make the original Central Management store active again (the "
	                         "reverse of the last failover). Not with -Force or "
	                         "-BackupSqlServerFqdn."),
};

#define G(name, kebab, shown, meta, type, field, alias, help) \
	{name, kebab, shown, meta, type, false, F(field), 0, 0, alias, help}

/* "?" and "h" are further spellings of --help. */
const csb__param_def csb__globals[CSB__G_COUNT] = {
	[CSB__G_CLUSTER] = G("cluster", "cluster", "--cluster", "DIR", CSB__T_TEXT, cluster, NULL,
	                     "the local cluster's folder (default: $CSB_CLUSTER)"),
	[CSB__G_AS] = G("as", "as", "--as", "NAME", CSB__T_PRINCIPAL, as, NULL,
	                "act as another principal (its certificate in the cluster folder)"),
	[CSB__G_COORDINATOR] = G("coordinator", "coordinator", "--coordinator", "URL",
	                         CSB__T_TEXT, coordinator, NULL,
	                         "the coordinator, with --cert F --key F --ca F, without a "
	                         "cluster folder"),
	[CSB__G_COORDINATOR_NAME] = G("coordinator-name", "coordinator-name", "--coordinator-name",
	                              "CN", CSB__T_TEXT, coordinator_name, NULL,
	                              "the coordinator's principal, its certificate's CN (default: "
	                              "cluster.json's, else csb-coordinator)"),
	[CSB__G_CERT] = G("cert", "cert", "--cert", "F", CSB__T_TEXT, tls_cert, NULL,
	                  "with --coordinator: the certificate"),
	[CSB__G_KEY] = G("key", "key", "--key", "F", CSB__T_TEXT, tls_key, NULL,
	                 "with --coordinator: its key"),
	[CSB__G_CA] = G("ca", "ca", "--ca", "F", CSB__T_TEXT, tls_ca, NULL,
	                "with --coordinator: the CA"),
	[CSB__G_JSON] = G("json", "json", "--json", NULL, CSB__T_SWITCH, json, NULL,
	                  "one JSON document on stdout"),
	[CSB__G_VERBOSE] = G("Verbose", "verbose", "-Verbose", NULL, CSB__T_SWITCH, verbose, "vb",
	                     "the steps, on stderr (VERBOSE: ...)"),
	[CSB__G_ERROR_ACTION] = G("ErrorAction", "error-action", "-ErrorAction",
	                          "Stop|Continue|SilentlyContinue", CSB__T_ACTION, error_action,
	                          "ea",
	                          "what a pool of the pipeline input that fails does: stop there "
	                          "(the default), or go on with its error line or without it; a "
	                          "cmdlet's own failure always ends it with its one line"),
	[CSB__G_WARNING_ACTION] = G("WarningAction", "warning-action", "-WarningAction",
	                            "Continue|SilentlyContinue|Stop", CSB__T_ACTION,
	                            warning_action, "wa",
	                            "show WARNING lines (the default), hide them, or stop at the "
	                            "first one (exit 1)"),
	[CSB__G_VERSION] = G("version", "version", "--version", NULL, CSB__T_SWITCH, version, NULL,
	                     "the version"),
	[CSB__G_HELP] = G("help", "help", "--help", NULL, CSB__T_SWITCH, help, NULL,
	                  "this text; csb <Cmdlet-Name> -? for one command"),
	[CSB__G_HELP_Q] = G("?", "?", "--help", NULL, CSB__T_SWITCH, help, NULL, NULL),
	[CSB__G_HELP_H] = G("h", "h", "--help", NULL, CSB__T_SWITCH, help, NULL, NULL),
};

const char *const csb__error_actions[3] = {"Stop", "Continue", "SilentlyContinue"};
const char *const csb__warning_actions[3] = {"Continue", "SilentlyContinue", "Stop"};

#define VARIABLE "is a PowerShell variable; csb has none (use --json and your shell)"

const csb__refusal csb__common_refusals[] = {
	{"Debug", false, "asks before each step in PowerShell; csb does not stop to ask: "
	                 "-Verbose shows the steps"},
	{"ErrorVariable", true, VARIABLE},
	{"WarningVariable", true, VARIABLE},
	{"InformationVariable", true, VARIABLE},
	{"OutVariable", true, VARIABLE},
	{"PipelineVariable", true, VARIABLE},
	{"OutBuffer", true, "sizes PowerShell's pipeline buffer; csb writes its output as it "
	                    "goes"},
	{"InformationAction", true, "acts on PowerShell's information stream; csb has none "
	                            "(-Verbose shows the steps)"},
};
const size_t csb__ncommon_refusals = sizeof(csb__common_refusals) /
                                     sizeof(csb__common_refusals[0]);

/* Cross-parameter rules. Each returns the message for the first rule broken, or NULL. */

static const char *check_backup(const csb_args *a)
{
	if (a->full_backup && a->steady_state)
		return "-FullBackup and -SteadyState cannot be used together";
	if (a->failed_over_pool_only && !a->full_backup)
		return "-FailedOverPoolOnly requires -FullBackup";
	return NULL;
}

static const char *check_failover(const csb_args *a)
{
	if (a->disaster_mode && a->services_stop_delay_min > 0)
		return "-ServicesStopDelayMins and -DisasterMode cannot be used together: a pool "
		       "failed over in disaster mode is not asked to stop, so there is nothing to "
		       "delay";
	return NULL;
}

static const char *check_get_config(const csb_args *a)
{
	if (csb_args_given(a, CSB_P_IDENTITY) && csb_args_given(a, CSB_P_FILTER))
		return "-Identity and -Filter cannot be used together";
	return NULL;
}

static const char *check_export(const csb_args *a)
{
	if (a->file_name != NULL && a->as_bytes)
		return "-FileName and -AsBytes cannot be used together";
	if (a->file_name == NULL && !a->as_bytes)
		return "-FileName or -AsBytes is required";
	return NULL;
}

static const char *check_import(const csb_args *a)
{
	if (a->file_name != NULL && a->byte_input != NULL)
		return "-FileName and -ByteInput cannot be used together";
	if (a->file_name == NULL && a->byte_input == NULL)
		return "-FileName or -ByteInput is required";
	if (a->byte_input != NULL && strcmp(a->byte_input, "-") != 0)
		return "-ByteInput takes - (the ZIP on stdin): csb Export-CsConfiguration -AsBytes | "
		       "csb Import-CsConfiguration -ByteInput -";
	return NULL;
}

static const char *check_cms_failover(const csb_args *a)
{
	bool dr = csb_args_given(a, CSB_P_BACKUP_SQL_SERVER);

	if (a->restore && (dr || a->force))
		return "-Restore cannot be used with -Force or -BackupSqlServerFqdn (disaster "
		       "recovery)";
	if (dr && !a->force)
		return "-BackupSqlServerFqdn (disaster recovery) requires -Force";
	if (a->backup_sql_instance != NULL && strcasecmp(a->backup_sql_instance, "RTC") != 0)
		return "-BackupSqlInstanceName: the Central Management store here has one instance, "
		       "RTC (its standby copy is the module CentralMgmt.CMSMaster at the backup pool)";
	if (a->backup_sql_instance != NULL && !dr)
		return "-BackupSqlInstanceName goes with -BackupSqlServerFqdn (disaster recovery)";
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
	if (a->value_kind != NULL && strcmp(a->value_kind, "random") != 0 &&
	    strcmp(a->value_kind, "presence") != 0 && strcmp(a->value_kind, "conference") != 0)
		return "-ValueKind must be random, presence or conference";
	return NULL;
}

static const char *check_up(const csb_args *a)
{
	if (a->pools % 2 != 0)
		return "--pools must be even (pool k is paired with pool k+1)";
	return NULL;
}

#define LIST(type, ...) \
	(const type[]){__VA_ARGS__}, sizeof((const type[]){__VA_ARGS__}) / sizeof(type)
#define USES(...) LIST(csb__use, __VA_ARGS__)
#define REFUSES(...) LIST(csb__refusal, __VA_ARGS__)
#define EXAMPLES(...) LIST(csb__example, __VA_ARGS__)
#define NONE NULL, 0

#define REQ CSB__REQ
#define DEF CSB__DEF
#define POS CSB__POS

/* Parameters shared by several cmdlets. */
#define POOL(help) {CSB_P_POOL_FQDN, REQ, 0, help}
#define DATA_POOL_MODULE \
	{CSB_P_POOL_FQDN, REQ, 0, NULL}, {CSB_P_MODULE, REQ, 0, NULL}, {CSB_P_DIRECT, 0, 0, NULL}
#define CLUSTER_DIR {CSB_P_DIR, REQ, 0, NULL}
#define WHAT_IF_CONFIRM {CSB_P_WHAT_IF, 0, 0, NULL}, {CSB_P_CONFIRM, 0, 0, NULL}
#define FAILOVER_TIMEOUT \
	{CSB_P_DB_COMMAND_TIMEOUT, 0, 0, NULL}, {CSB_P_SKIP_DATA_VERIFICATION, 0, 0, NULL}

#define P1 "pool01.csb.test"
#define P2 "pool02.csb.test"

/* What the SQL Server and mirror parameters of Invoke-CsManagementServerFailover name. */
#define CMS_STANDBY \
	"; csbackup keeps the Central Management store in the module CentralMgmt.CMSMaster, " \
	"with one standby copy at the backup pool of the pool hosting it (name that pool with " \
	"-BackupSqlServerFqdn)"
#define NO_AD \
	"; csbackup has no Active Directory: principals and their groups are in the topology " \
	"file"

const csb__cmdlet csb__cmdlets[CSB_CMD_COUNT] = {
	[CSB_CMD_BACKUP_POOL] = {
		"Backup-CsPool", "backup-pool", NULL, NULL,
		"Back up a pool to its backup pool now and wait until it is imported.",
		check_backup,
		USES(POOL("Fully qualified domain name of the pool being backed up."),
		     {CSB_P_CATEGORY, 0, 0, NULL}, {CSB_P_FULL_BACKUP, 0, 0, NULL},
		     {CSB_P_STEADY_STATE, 0, 0, NULL}, {CSB_P_FAILED_OVER_POOL_ONLY, 0, 0, NULL},
		     {CSB_P_RETRY_COUNT, DEF, 10, NULL},
		     {CSB_P_WAIT_TIME, DEF, 5 * SEC,
		      "Time between two checks of the export states, in seconds or hh:mm:ss "
		      "(00:00:01..01:00:00)."},
		     {CSB_P_REPORT, 0, 0,
		      "The HTML report: pool, backup pool, modules, what was sent, every check, the "
		      "result (overwritten). Default: $TMPDIR/Backup-CsPool-<pool>-<time>.html."},
		     {CSB_P_LOCAL_STORE, 0, 0,
		      "Read the topology from the pool's agent's replica of the Central Management "
		      "store instead of the coordinator."},
		     {CSB_P_FORCE, 0, 0,
		      "Non-fatal errors (a status that cannot be read, a report that cannot be "
		      "written) become warnings."},
		     WHAT_IF_CONFIRM),
		NONE,
		EXAMPLES({"csb Backup-CsPool -PoolFqdn " P1, "Backs up the pool " P1 "."},
		         {"csb Backup-CsPool -PoolFqdn " P1 " -SteadyState",
		          "A steady state backup: then waits until every module's export is "
		          "SteadyState or FinalState."})},
	[CSB_CMD_SYNC] = {
		"Invoke-CsBackupServiceSync", "sync", NULL, NULL,
		"Sync a pool's modules (or one) to its backup pool now (-PoolFqdn -: stdin).",
		NULL,
		USES({CSB_P_POOL_FQDN, CSB__STDIN, 0,
		      "Fully qualified domain name of the pool whose modules are synced. Without it "
		      "(or with -), pool FQDNs are read from stdin, one per line: the pipeline "
		      "input."},
		     {CSB_P_BACKUP_MODULE, 0, 0, NULL},
		     {CSB_P_FORCE, 0, 0,
		      "A pool of the pipeline input that cannot be synced is a warning, and the "
		      "others are still synced."}),
		NONE,
		EXAMPLES({"csb Invoke-CsBackupServiceSync -PoolFqdn " P1,
		          "Syncs " P1 " with its backup pool: only what changed travels."},
		         {"printf '" P1 "\\n" P2 "\\n' | csb Invoke-CsBackupServiceSync "
		          "-ErrorAction Continue",
		          "Pipeline input: syncs both pools, going on past one that fails."})},
	[CSB_CMD_STATUS] = {
		"Get-CsBackupServiceStatus", "status", NULL, NULL,
		"Show the export and import state of a pool's modules.",
		NULL,
		USES(POOL("Fully qualified domain name of the pool whose backup status is shown."),
		     {CSB_P_CATEGORY, 0, 0, NULL},
		     {CSB_P_FORCE, 0, 0,
		      "No warnings: neither for modules in ErrorState nor for -BypassDualWrite."},
		     {CSB_P_BYPASS_DUAL_WRITE, 0, 0, NULL},
		     {CSB_P_LOCAL_STORE, 0, 0,
		      "Ask the pool's own agent instead of the coordinator (works while the "
		      "coordinator is down)."}),
		NONE,
		EXAMPLES({"csb Get-CsBackupServiceStatus -PoolFqdn " P1,
		          "The backup status of the pool " P1 "."},
		         {"csb Get-CsBackupServiceStatus -PoolFqdn " P1 " --json",
		          "The same as one JSON document."})},
	[CSB_CMD_GET_CONFIG] = {
		"Get-CsBackupServiceConfiguration", "get-config", NULL, NULL,
		"Show the backup service configuration.",
		check_get_config,
		USES({CSB_P_IDENTITY, POS, 0, NULL}, {CSB_P_FILTER, 0, 0, NULL},
		     {CSB_P_LOCAL_STORE, 0, 0,
		      "Read the configuration from the local agent's replica of the Central "
		      "Management store instead of the coordinator."}),
		NONE,
		EXAMPLES({"csb Get-CsBackupServiceConfiguration",
		          "The backup service configuration (there is only the global one)."},
		         {"csb Get-CsBackupServiceConfiguration -Filter 'g*'",
		          "The configurations whose Identity starts with g: Global."})},
	[CSB_CMD_SET_CONFIG] = {
		"Set-CsBackupServiceConfiguration", "set-config", NULL, NULL,
		"Change the backup service configuration.",
		NULL,
		USES({CSB_P_IDENTITY, POS, 0,
		      "Global (any case), the default: there is only the global configuration."},
		     {CSB_P_AUTHORIZED_GROUPS, 0, 0, NULL}, {CSB_P_MAX_BATCHES_CMS, 0, 0, NULL},
		     {CSB_P_MAX_BATCHES_USER_STORE, 0, 0, NULL},
		     {CSB_P_MAX_CONCURRENT_CALLS, 0, 0, NULL},
		     {CSB_P_MAX_DATACONF_PACKAGE_KB, 0, 0, NULL}, {CSB_P_SYNC_INTERVAL, 0, 0, NULL},
		     {CSB_P_ENABLE_RGS, 0, 0, NULL},
		     {CSB_P_FORCE, 0, 0, "No warning when nothing would change."},
		     WHAT_IF_CONFIRM),
		REFUSES({"AuthorizedLocalAccounts", true,
		         "names Windows local accounts allowed to run the backup service; csbackup's "
		         "services run as their pools' certificates and callers are authorized by "
		         "certificate and by the groups the topology gives them (see "
		         "-AuthorizedUniversalGroups)"},
		        {"Instance", true,
		         "passes a PowerShell configuration object; csb has none: give the settings "
		         "as parameters"},
		        {"MaxHighPriQueuePercentagePerUserStoreSync", true,
		         "sizes a high-priority queue of the user store sync; csbackup sends each "
		         "module's changes from one ordered log, without priority queues"}),
		EXAMPLES({"csb Set-CsBackupServiceConfiguration -Identity global "
		          "-AuthorizedUniversalGroups 'Schema Admins'",
		          "Lets the group Schema Admins run Get-CsBackupServiceStatus."},
		         {"csb Set-CsBackupServiceConfiguration -Identity global -MaxConcurrentCalls 12",
		          "Sets MaxConcurrentCalls to 12."},
		         {"csb Set-CsBackupServiceConfiguration -Identity global -SyncInterval 00:10:00",
		          "Sets SyncInterval to 10 minutes."})},
	[CSB_CMD_RESET_CONFIG] = {
		"Remove-CsBackupServiceConfiguration", "reset-config", NULL, NULL,
		"Reset the backup service configuration to its defaults.",
		NULL,
		USES({CSB_P_IDENTITY, REQ | POS, 0, NULL},
		     {CSB_P_FORCE, 0, 0, "No warning when the configuration already has its "
		                         "defaults."},
		     WHAT_IF_CONFIRM),
		NONE,
		EXAMPLES({"csb Remove-CsBackupServiceConfiguration -Identity global",
		          "Resets the backup service configuration to its defaults."})},
	[CSB_CMD_RELATIONSHIP] = {
		"Get-CsPoolBackupRelationship", "relationship", NULL, NULL,
		"Show a pool's backup pool.",
		NULL,
		USES(POOL("Fully qualified domain name of the pool whose backup pool is shown."),
		     {CSB_P_FORCE, 0, 0, "No warning for a pool that has no backup pool."},
		     {CSB_P_LOCAL_STORE, 0, 0,
		      "Read the topology from the pool's agent's replica of the Central Management "
		      "store instead of the coordinator."}),
		NONE,
		EXAMPLES({"csb Get-CsPoolBackupRelationship -PoolFqdn " P1,
		          "The backup pool of " P1 "."})},
	[CSB_CMD_FAILOVER] = {
		"Invoke-CsPoolFailover", "failover", NULL, NULL,
		"Fail a pool's users over to its backup pool.",
		check_failover,
		USES(POOL("Fully qualified domain name of the pool being failed over."),
		     {CSB_P_DISASTER_MODE, 0, 0,
		      "The pool is unreachable: fail over without it and report what may be lost."},
		     {CSB_P_FORCE, 0, 0, NULL},
		     {CSB_P_WAIT_TIME, DEF, 60 * SEC,
		      "How long the pool's exports may take to reach FinalState; when it runs out "
		      "the pool is back to Normal. Seconds or hh:mm:ss."},
		     {CSB_P_SERVICES_STOP_DELAY, 0, 0, NULL}, FAILOVER_TIMEOUT, WHAT_IF_CONFIRM),
		REFUSES({"FlushStorageService", false,
		         "has nothing to flush here: csbackup keeps no storage service queue or "
		         "cache (every write is on disk when it is acknowledged), and the failover "
		         "always drains the pool's changes to its backup pool before that takes "
		         "over"}),
		EXAMPLES({"csb Invoke-CsPoolFailover -PoolFqdn " P1, "Fails " P1 " over."},
		         {"csb Invoke-CsPoolFailover -PoolFqdn " P1 " -DisasterMode",
		          "Fails " P1 " over in disaster mode (the pool is unreachable)."})},
	[CSB_CMD_FAILBACK] = {
		"Invoke-CsPoolFailback", "failback", NULL, NULL,
		"Fail a pool's users back from its backup pool.",
		NULL,
		USES(POOL("Fully qualified domain name of the pool being failed back: the same FQDN "
		          "as at failover."),
		     {CSB_P_DISASTER_MODE, 0, 0,
		      "The backup pool is unreachable: fail back without it; what the users "
		      "changed there is lost."},
		     {CSB_P_FORCE, 0, 0, NULL},
		     {CSB_P_WAIT_TIME, DEF, 15 * SEC,
		      "How long the backup pool may take to hand the changes back. Seconds or "
		      "hh:mm:ss."},
		     FAILOVER_TIMEOUT, WHAT_IF_CONFIRM),
		NONE,
		EXAMPLES({"csb Invoke-CsPoolFailback -PoolFqdn " P1, "Fails " P1 " back."})},
	[CSB_CMD_POOL_STATE] = {
		"Get-CsPoolState", "pool-state", NULL, NULL,
		"Show whether a pool is Normal, FailingOver, FailedOver, FailingBack or NeedsRestore, "
		"which pool serves its users, and the epoch.",
		NULL,
		USES(POOL(NULL),
		     {CSB_P_LOCAL_STORE, 0, 0,
		      "Read the state from the local agent's replica (works while the coordinator is "
		      "down)."}),
		NONE,
		EXAMPLES({"csb Get-CsPoolState -PoolFqdn " P1,
		          "Whether " P1 " is failed over, and which pool serves its users."})},
	[CSB_CMD_EXPORT_CONFIG] = {
		"Export-CsConfiguration", "export-config", NULL, NULL,
		"Export the topology, backup configuration and RBAC to a ZIP file.",
		check_export,
		USES({CSB_P_FILE_NAME, POS, 0,
		      "The ZIP file to write. An existing file is replaced (with a warning)."},
		     {CSB_P_AS_BYTES, 0, 0, NULL},
		     {CSB_P_FORCE, 0, 0, "No warning when an existing -FileName is replaced."},
		     {CSB_P_LOCAL_STORE, 0, 0,
		      "Export from the local agent's replica of the Central Management store "
		      "instead of the coordinator."}),
		NONE,
		EXAMPLES({"csb Export-CsConfiguration -FileName /tmp/config.zip",
		          "Exports the topology, the backup configuration and RBAC to "
		          "/tmp/config.zip."})},
	[CSB_CMD_IMPORT_CONFIG] = {
		"Import-CsConfiguration", "import-config", NULL, NULL,
		"Import the topology, backup configuration and RBAC from a ZIP file.",
		check_import,
		USES({CSB_P_FILE_NAME, POS, 0, "The ZIP file Export-CsConfiguration wrote."},
		     {CSB_P_BYTE_INPUT, 0, 0, NULL},
		     {CSB_P_FORCE, 0, 0,
		      "No warning when -LocalStore seeds a pool the ZIP's topology does not name."},
		     {CSB_P_LOCAL_STORE, 0, 0,
		      "Import into the local agent's replica instead of the Central Management "
		      "store: for a node that cannot reach the coordinator yet."}),
		NONE,
		EXAMPLES({"csb Import-CsConfiguration -FileName /tmp/config.zip",
		          "Imports the topology, configuration and RBAC of /tmp/config.zip into the "
		          "Central Management store."},
		         {"csb Import-CsConfiguration -FileName /tmp/config.zip -LocalStore",
		          "Imports them into the local agent's replica only."},
		         {"csb Export-CsConfiguration -AsBytes | csb Import-CsConfiguration "
		          "-ByteInput - -LocalStore",
		          "Copies the Central Management store to the local replica without a file."})},
	[CSB_CMD_PUBLISH_TOPOLOGY] = {
		"Publish-CsTopology", "publish-topology", NULL, NULL,
		"Publish a topology file (sites, pools, backup pairs, principals).",
		NULL,
		USES({CSB_P_FILE_NAME, REQ | POS, 0,
		      "The topology file: JSON, as Get-CsTopology --json prints it."},
		     {CSB_P_BACKUP_FILE_NAME, 0, 0, NULL},
		     {CSB_P_FORCE, 0, 0,
		      "A topology being replaced that cannot be saved to -BackupFileName is a "
		      "warning, not an error; no warning when there is none yet."},
		     {CSB_P_REPORT, 0, 0,
		      "The HTML report of the publication: file, backup file, pools, result "
		      "(overwritten)."},
		     WHAT_IF_CONFIRM),
		REFUSES({"Document", true,
		         "passes an XML element object; csb publishes a file: use -FileName"},
		        {"GlobalCatalog", true, "names an Active Directory global catalog" NO_AD},
		        {"GlobalSettingsDomainController", true,
		         "names an Active Directory domain controller" NO_AD},
		        {"FinalizeUninstall", false,
		         "removes Active Directory entries after an uninstall" NO_AD
		         "; a local cluster is removed with csb cluster down and its folder"}),
		EXAMPLES({"csb Get-CsTopology --json > /tmp/topology.json\n"
		          "csb Publish-CsTopology -FileName /tmp/topology.json",
		          "Saves the current topology and publishes it again (the topology is JSON "
		          "here: --json takes the place of -AsXml)."})},
	[CSB_CMD_TOPOLOGY] = {
		"Get-CsTopology", "topology", NULL, NULL,
		"Show the published topology.",
		NULL,
		USES({CSB_P_LOCAL_STORE, 0, 0,
		      "Read the topology from the local agent's replica of the Central Management "
		      "store instead of the coordinator."}),
		REFUSES({"AsXml", false,
		         "is not available: the topology is JSON here; use --json (it prints what "
		         "Publish-CsTopology reads)"}),
		EXAMPLES({"csb Get-CsTopology", "The pools, their sites, agents and backup pools."},
		         {"csb Get-CsTopology --json | jq '.pools'",
		          "Only the pools (PowerShell: | Select-Object -ExpandProperty Machines)."},
		         {"csb Get-CsTopology --json > /tmp/topology.json",
		          "Saves the topology to a file (PowerShell: -AsXml | Out-File)."})},
	[CSB_CMD_CMS_FAILOVER] = {
		"Invoke-CsManagementServerFailover", "cms-failover", NULL, NULL,
		"Move the Central Management Store master to its backup pool.",
		check_cms_failover,
		USES({CSB_P_BACKUP_SQL_SERVER, 0, 0, NULL}, {CSB_P_BACKUP_SQL_INSTANCE, 0, 0, NULL},
		     {CSB_P_FORCE, 0, 0,
		      "The active master is gone: the standby takes over without draining it, "
		      "and the changes that may be lost are reported."},
		     {CSB_P_REPORT, 0, 0, "The HTML report of the failover (overwritten)."},
		     {CSB_P_RESTORE, 0, 0, NULL}, WHAT_IF_CONFIRM),
		REFUSES({"BackupMirrorSqlServerFqdn", true, "names a SQL Server mirror" CMS_STANDBY},
		        {"BackupMirrorSqlInstanceName", true,
		         "names a SQL Server mirror instance" CMS_STANDBY}),
		EXAMPLES({"csb Invoke-CsManagementServerFailover",
		          "Fails the Central Management store over to its standby copy."},
		         {"csb Invoke-CsManagementServerFailover -BackupSqlServerFqdn " P2
		          " -BackupSqlInstanceName \"RTC\" -Force",
		          "Disaster recovery: the standby copy at " P2 " takes over."})},
	[CSB_CMD_CMS_STATUS] = {
		"Get-CsManagementStoreReplicationStatus", "cms-status", NULL, NULL,
		"Show whether every replica of the Central Management Store is up to date.",
		NULL,
		USES({CSB_P_REPLICA_FQDN, POS, 0, NULL}, {CSB_P_CMS_STATUS, 0, 0, NULL}),
		NONE,
		EXAMPLES({"csb Get-CsManagementStoreReplicationStatus",
		          "Whether each replica is up to date."},
		         {"csb Get-CsManagementStoreReplicationStatus --json | jq '.Replicas[] | "
		          "select(.UpToDate == false)'",
		          "The replicas that are not up to date (PowerShell: | Where-Object)."},
		         {"csb Get-CsManagementStoreReplicationStatus -ReplicaFqdn " P1,
		          "Only the replica of " P1 "."},
		         {"csb Get-CsManagementStoreReplicationStatus --json | jq '.Replicas[] | "
		          "select(.LastUpdateCreation < \"2018-08-11T20:00:00\")'",
		          "The replicas last updated before 8:00 PM on August 11, 2018 (UTC)."},
		         {"csb Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus",
		          "Also the state of the Central Management store itself."})},
	[CSB_CMD_CMS_REPLICATE] = {
		"Invoke-CsManagementStoreReplication", "cms-replicate", NULL, NULL,
		"Make every replica of the Central Management store (or one) catch up with it, prove "
		"it equal by digests, and repair it where it differs.",
		NULL,
		USES({CSB_P_REPLICA_FQDN, POS, 0,
		      "Only the replica held by this pool's agent (the pool's FQDN)."},
		     {CSB_P_FORCE, 0, 0, "No warning for a replica that had to be repaired."},
		     {CSB_P_WHAT_IF, 0, 0, NULL}, {CSB_P_CONFIRM, 0, 0, NULL}),
		NONE,
		EXAMPLES({"csb Invoke-CsManagementStoreReplication",
		          "Replicates the Central Management store to every replica."},
		         {"csb Invoke-CsManagementStoreReplication -ReplicaFqdn " P1,
		          "Replicates it to the replica held by " P1 " only."})},
	[CSB_CMD_REMOVE_BACKUP_DATA] = {
		"Remove-CsUserStoreBackupData", "remove-backup-data", NULL, NULL,
		"Remove the backup copies a pool still holds for pools it is no longer paired with.",
		NULL,
		USES(POOL("Fully qualified domain name of the pool where outdated backup data is "
		          "removed."),
		     {CSB_P_FORCE, 0, 0, "No warning when there is nothing to remove."},
		     {CSB_P_WHAT_IF, 0, 0, NULL}, {CSB_P_CONFIRM, 0, 0, NULL}),
		NONE,
		EXAMPLES({"csb Remove-CsUserStoreBackupData -PoolFqdn " P1,
		          "Removes the copies " P1 " holds for its former partners."})},
	[CSB_CMD_VERIFY] = {
		"Test-CsBackupData", "verify", NULL, NULL,
		"Compare a pool's data with its backup copy (exit 1 when they differ).",
		NULL,
		USES(POOL(NULL), {CSB_P_BACKUP_MODULE, 0, 0, NULL}),
		NONE,
		EXAMPLES({"csb Test-CsBackupData -PoolFqdn " P1,
		          "Compares " P1 "'s data with its backup copy by range digests."})},
	[CSB_CMD_DATA_PUT] = {
		"data put", NULL, "data", "put",
		"Write one record.",
		check_put,
		USES(DATA_POOL_MODULE, {CSB_P_KEY, REQ, 0, NULL}, {CSB_P_VALUE, 0, 0, NULL},
		     {CSB_P_VALUE_FILE, 0, 0, NULL})},
	[CSB_CMD_DATA_GET] = {
		"data get", NULL, "data", "get",
		"Read one record (from the partner's backup copy with -FromBackup).",
		NULL,
		USES(DATA_POOL_MODULE, {CSB_P_KEY, REQ, 0, NULL}, {CSB_P_FROM_BACKUP, 0, 0, NULL})},
	[CSB_CMD_DATA_DELETE] = {
		"data delete", NULL, "data", "delete",
		"Delete one record.",
		NULL,
		USES(DATA_POOL_MODULE, {CSB_P_KEY, REQ, 0, NULL})},
	[CSB_CMD_DATA_LIST] = {
		"data list", NULL, "data", "list",
		"List records in key order.",
		NULL,
		USES(DATA_POOL_MODULE, {CSB_P_PREFIX, 0, 0, NULL}, {CSB_P_LIMIT, 0, 0, NULL},
		     {CSB_P_FROM_BACKUP, 0, 0, NULL})},
	[CSB_CMD_DATA_LOAD] = {
		"data load", NULL, "data", "load",
		"Write, update and delete generated records in bulk.",
		check_load,
		USES(DATA_POOL_MODULE, {CSB_P_COUNT_RECORDS, REQ, 0, NULL},
		     {CSB_P_VALUE_SIZE, DEF, 200, NULL}, {CSB_P_UPDATE_FRACTION, 0, 0, NULL},
		     {CSB_P_DELETE_FRACTION, 0, 0, NULL}, {CSB_P_SEED, 0, 0, NULL},
		     {CSB_P_VALUE_KIND, 0, 0, NULL}),
		NONE,
		EXAMPLES({"csb data load -PoolFqdn " P1 " -Module UserServices.PresenceFocus "
		          "-Count 1000 -UpdateFraction 1",
		          "Rewrites 1,000 distinct records of the module (when it holds that many)."},
		         {"csb data load -PoolFqdn " P1 " -Module UserServices.PresenceFocus "
		          "-Count 10000 -ValueSize 1200 -ValueKind presence",
		          "Loads 10,000 presence documents of about 1.2 kB."})},
	[CSB_CMD_DATA_ORPHANS] = {
		"data orphans", NULL, "data", "orphans",
		"List the records a failover set aside for the pool, or re-apply them.",
		NULL,
		USES({CSB_P_POOL_FQDN, REQ, 0, NULL}, {CSB_P_MODULE, REQ, 0, NULL},
		     {CSB_P_REAPPLY, 0, 0, NULL}, WHAT_IF_CONFIRM),
		NONE,
		EXAMPLES({"csb data orphans -PoolFqdn " P1 " -Module UserServices.PresenceFocus",
		          "The writes " P1 " made after a -DisasterMode failover, set aside when it "
		          "came back (and what its backup pool served that " P1 " never got)."},
		         {"csb data orphans -PoolFqdn " P1 " -Module UserServices.PresenceFocus "
		          "-Reapply",
		          "Writes them back as current data, then drops them from the quarantine."})},
	[CSB_CMD_CLUSTER_UP] = {
		"cluster up", NULL, "cluster", "up",
		"Create (if needed) and start a local cluster: a coordinator and paired pools.",
		check_up,
		USES(CLUSTER_DIR, {CSB_P_POOLS, DEF, 2, NULL}, {CSB_P_BASE_PORT, 0, 0, NULL})},
	[CSB_CMD_CLUSTER_DOWN] = {
		"cluster down", NULL, "cluster", "down",
		"Stop a local cluster; its data stays.",
		NULL,
		USES(CLUSTER_DIR)},
	[CSB_CMD_CLUSTER_KILL] = {
		"cluster kill", NULL, "cluster", "kill",
		"Kill one node (coordinator or a pool FQDN) of a local cluster.",
		NULL,
		USES(CLUSTER_DIR, {CSB_P_NODE, REQ, 0, NULL})},
	[CSB_CMD_CLUSTER_START] = {
		"cluster start", NULL, "cluster", "start",
		"Start one node of a local cluster again.",
		NULL,
		USES(CLUSTER_DIR, {CSB_P_NODE, REQ, 0, NULL})},
	[CSB_CMD_CLUSTER_ISSUE_CERT] = {
		"cluster issue-cert", NULL, "cluster", "issue-cert",
		"Issue a certificate for another principal (for csb --as NAME).",
		NULL,
		USES(CLUSTER_DIR, {CSB_P_PRINCIPAL, REQ, 0, NULL})},
	/* Certificates for hosts deployed without `csb cluster` (README "Installing on hosts"). */
	[CSB_CMD_PKI_INIT_CA] = {
		"pki init-ca", NULL, "pki", "init-ca",
		"Create the deployment's certificate authority: DIR/ca.crt and DIR/ca.key.",
		NULL,
		USES({CSB_P_DIR, REQ, 0, "The folder of the deployment's certificates."}),
		NONE,
		EXAMPLES({"csb pki init-ca --dir /etc/csbackup/pki",
		          "Creates the CA that signs every node's and administrator's certificate."})},
	[CSB_CMD_PKI_ISSUE] = {
		"pki issue", NULL, "pki", "issue",
		"Issue a certificate signed by DIR's CA: DIR/<principal>.crt and .key.",
		NULL,
		USES({CSB_P_DIR, REQ, 0, "The folder of the deployment's certificates."},
		     {CSB_P_PRINCIPAL, REQ, 0,
		      "A pool's FQDN (its agent), csb-coordinator (the coordinator) or an "
		      "administrator's name."}),
		NONE,
		EXAMPLES({"csb pki issue --dir /etc/csbackup/pki --principal pool01.example.com",
		          "The certificate of pool01.example.com's agent."})},
	[CSB_CMD_PKI_SHOW] = {
		"pki show", NULL, "pki", "show",
		"Show a certificate: its principal, issuer, validity and what csbackup takes it for.",
		NULL,
		USES({CSB_P_FILE_NAME, REQ | POS, 0, "The certificate (PEM)."}),
		NONE,
		EXAMPLES({"csb pki show /etc/csbackup/pki/pool01.example.com.crt",
		          "Whose it is and what it is good for."})},
};
