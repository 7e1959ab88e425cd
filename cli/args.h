/* The csb command line (SPEC.md §2–§5): `csb <Cmdlet-Name> -Param value -Switch …`. Cmdlet
 * and parameter names, typed values and the usage rules are all checked here, before any
 * network call. The cmdlet table is in cmdlets.c; parsing and usage text in args.c. */
#ifndef CSB_CLI_ARGS_H
#define CSB_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"
#include "common/modules.h"
#include "common/parse.h"

/* The commands. CSB_CMD_NONE: only global flags were given (`csb --help`, `csb --version`). */
typedef enum csb_cmd {
	CSB_CMD_NONE,
	CSB_CMD_BACKUP_POOL,      /* Backup-CsPool (backup-pool) */
	CSB_CMD_SYNC,             /* Invoke-CsBackupServiceSync (sync) */
	CSB_CMD_STATUS,           /* Get-CsBackupServiceStatus (status) */
	CSB_CMD_GET_CONFIG,       /* Get-CsBackupServiceConfiguration (get-config) */
	CSB_CMD_SET_CONFIG,       /* Set-CsBackupServiceConfiguration (set-config) */
	CSB_CMD_RESET_CONFIG,     /* Remove-CsBackupServiceConfiguration (reset-config) */
	CSB_CMD_RELATIONSHIP,     /* Get-CsPoolBackupRelationship (relationship) */
	CSB_CMD_FAILOVER,         /* Invoke-CsPoolFailover (failover) */
	CSB_CMD_FAILBACK,         /* Invoke-CsPoolFailback (failback) */
	CSB_CMD_POOL_STATE,       /* Get-CsPoolState (pool-state) */
	CSB_CMD_EXPORT_CONFIG,    /* Export-CsConfiguration (export-config) */
	CSB_CMD_IMPORT_CONFIG,    /* Import-CsConfiguration (import-config) */
	CSB_CMD_PUBLISH_TOPOLOGY, /* Publish-CsTopology (publish-topology) */
	CSB_CMD_TOPOLOGY,         /* Get-CsTopology (topology) */
	CSB_CMD_CMS_FAILOVER,     /* Invoke-CsManagementServerFailover (cms-failover) */
	CSB_CMD_CMS_STATUS,       /* Get-CsManagementStoreReplicationStatus (cms-status) */
	CSB_CMD_CMS_REPLICATE,    /* Invoke-CsManagementStoreReplication (cms-replicate) */
	CSB_CMD_REMOVE_BACKUP_DATA, /* Remove-CsUserStoreBackupData (remove-backup-data) */
	CSB_CMD_VERIFY,           /* Test-CsBackupData (verify) */
	CSB_CMD_DATA_PUT,         /* data put */
	CSB_CMD_DATA_GET,         /* data get */
	CSB_CMD_DATA_DELETE,      /* data delete */
	CSB_CMD_DATA_LIST,        /* data list */
	CSB_CMD_DATA_LOAD,        /* data load */
	CSB_CMD_DATA_ORPHANS,     /* data orphans */
	CSB_CMD_CLUSTER_UP,       /* cluster up */
	CSB_CMD_CLUSTER_DOWN,     /* cluster down */
	CSB_CMD_CLUSTER_KILL,     /* cluster kill */
	CSB_CMD_CLUSTER_START,    /* cluster start */
	CSB_CMD_CLUSTER_ISSUE_CERT, /* cluster issue-cert */
	CSB_CMD_PKI_INIT_CA,      /* pki init-ca */
	CSB_CMD_PKI_ISSUE,        /* pki issue */
	CSB_CMD_PKI_SHOW,         /* pki show */
	CSB_CMD_COUNT
} csb_cmd;

/* Every parameter of every command; a cmdlet accepts the subset its table entry lists.
 * csb_args.set has bit (1 << p) for each one given on the line. */
typedef enum csb_param {
	CSB_P_POOL_FQDN,
	CSB_P_CATEGORY,
	CSB_P_FULL_BACKUP,
	CSB_P_STEADY_STATE,
	CSB_P_FAILED_OVER_POOL_ONLY,
	CSB_P_RETRY_COUNT,
	CSB_P_WAIT_TIME,
	CSB_P_REPORT,
	CSB_P_LOCAL_STORE,
	CSB_P_FORCE,
	CSB_P_WHAT_IF,
	CSB_P_CONFIRM,
	CSB_P_BACKUP_MODULE,
	CSB_P_IDENTITY,
	CSB_P_SYNC_INTERVAL,
	CSB_P_MAX_BATCHES_USER_STORE,
	CSB_P_MAX_BATCHES_CMS,
	CSB_P_MAX_DATACONF_PACKAGE_KB,
	CSB_P_AUTHORIZED_GROUPS,
	CSB_P_ENABLE_RGS,
	CSB_P_DISASTER_MODE,
	CSB_P_FILE_NAME,
	CSB_P_CMS_STATUS,
	CSB_P_MODULE,
	CSB_P_KEY,
	CSB_P_VALUE,
	CSB_P_VALUE_FILE,
	CSB_P_FROM_BACKUP,
	CSB_P_DIRECT,
	CSB_P_PREFIX,
	CSB_P_LIMIT,
	CSB_P_COUNT_RECORDS,
	CSB_P_VALUE_SIZE,
	CSB_P_UPDATE_FRACTION,
	CSB_P_DELETE_FRACTION,
	CSB_P_SEED,
	CSB_P_VALUE_KIND,
	CSB_P_DIR,
	CSB_P_POOLS,
	CSB_P_BASE_PORT,
	CSB_P_NODE,
	CSB_P_PRINCIPAL,
	CSB_P_MAX_CONCURRENT_CALLS,
	CSB_P_FILTER,
	CSB_P_BYPASS_DUAL_WRITE,
	CSB_P_BACKUP_FILE_NAME,
	CSB_P_AS_BYTES,
	CSB_P_BYTE_INPUT,
	CSB_P_REPLICA_FQDN,
	CSB_P_SKIP_DATA_VERIFICATION,
	CSB_P_SERVICES_STOP_DELAY,
	CSB_P_DB_COMMAND_TIMEOUT,
	CSB_P_BACKUP_SQL_SERVER,
	CSB_P_RESTORE,
	CSB_P_BACKUP_SQL_INSTANCE,
	CSB_P_REAPPLY,
	CSB_P_COUNT
} csb_param;

/* -ErrorAction and -WarningAction (PowerShell's common parameters). */
typedef enum csb_action {
	CSB_ACTION_NONE,      /* not given: the command's own default */
	CSB_ACTION_CONTINUE,  /* show it and go on */
	CSB_ACTION_SILENT,    /* SilentlyContinue: do not show it, go on */
	CSB_ACTION_STOP       /* stop there */
} csb_action;

#define CSB_ARGS_GROUPS_MAX 32    /* -AuthorizedUniversalGroups entries */
#define CSB_ARGS_GROUPS_BUF 1024  /* bytes of all group names, with their NULs */

/* A parsed command line. Strings are borrowed from argv (or, for cluster, the environment)
 * and stay valid as long as they do; the groups point into groups_buf, so a csb_args is
 * not to be copied by value once parsed. A parameter that was not given holds the
 * cmdlet's default where SPEC.md names one, else zero / NULL / "". */
typedef struct csb_args {
	csb_cmd cmd;
	const char *cmdlet;         /* canonical name ("Backup-CsPool", "data put"); NULL: none */

	/* Global flags, accepted anywhere on the line. */
	const char *cluster;        /* --cluster DIR, else $CSB_CLUSTER (non-empty), else NULL */
	bool cluster_from_env;      /* cluster came from CSB_CLUSTER */
	const char *as;             /* --as NAME: the principal whose certificate to use */
	const char *coordinator;    /* --coordinator URL */
	const char *coordinator_name; /* --coordinator-name CN (default csb-coordinator) */
	const char *tls_cert;       /* --cert F */
	const char *tls_key;        /* --key F (the data record key is -Key, below) */
	const char *tls_ca;         /* --ca F */
	bool json;                  /* --json */
	bool help;                  /* --help, -help, -? or -h anywhere */
	bool version;               /* --version */
	bool verbose;               /* -Verbose: the steps on stderr */
	csb_action error_action;    /* -ErrorAction: a failing pool of the pipeline input */
	csb_action warning_action;  /* -WarningAction: WARNING lines */

	uint64_t set;               /* (1 << csb_param) per parameter given; csb_args_given() */

	/* Pools, modules, categories. */
	char pool_fqdn[CSB_FQDN_MAX + 1];   /* -PoolFqdn, lowercased; "" when from stdin */
	bool pool_from_stdin;               /* Invoke-CsBackupServiceSync -PoolFqdn - */
	csb_category category;              /* -Category; CSB_CAT_COUNT (all) when absent */
	const csb_module_def *module;       /* -BackupModule or -Module: catalogue entry */

	/* Switches (also -Switch:$true / -Switch:$false). */
	bool full_backup, steady_state, failed_over_pool_only;
	bool local_store, force, what_if, confirm;
	bool disaster_mode, cms_status, from_backup, reapply;
	bool direct;                        /* -Direct: the pool's own agent, no routing */
	bool bypass_dual_write;             /* -BypassDualWrite $true|$false */
	bool as_bytes, skip_data_verification, restore;

	/* Backup-CsPool, failover, failback. */
	uint64_t retry_count;               /* -RetryCount, 1..1000; default 10 */
	uint64_t wait_time_ms;              /* -WaitTime, 1 s..1 h; default 5 s / 15 s */
	const char *report;                 /* -Report PATH */

	/* Backup service configuration. */
	const char *identity;               /* -Identity: always "Global" when given */
	uint64_t sync_interval_ms;          /* -SyncInterval, 00:00:05..03:00:00 */
	uint64_t max_batches_user_store;    /* -MaxBatchesPerUserStoreSync */
	uint64_t max_batches_cms;           /* -MaxBatchesPerCmsSync */
	uint64_t max_dataconf_package_kb;   /* -MaxDataConfPackageSizeKB */
	const char *groups[CSB_ARGS_GROUPS_MAX]; /* -AuthorizedUniversalGroups G1,G2 */
	size_t ngroups;                     /* 0 with the bit set: "" clears the list */
	char groups_buf[CSB_ARGS_GROUPS_BUF];
	bool enable_rgs;                    /* -EnableRgsBackupService $true|$false */
	uint64_t max_concurrent_calls;      /* -MaxConcurrentCalls, 1..1000 */
	const char *filter;                 /* -Filter: wildcards on the Identity */

	/* Failover and failback (FailoverRequest, cmd_pool.c). */
	uint64_t services_stop_delay_min;   /* -ServicesStopDelayMins, 0..1440 */
	uint64_t db_command_timeout_s;      /* -DatabaseCommandTimeoutInSeconds, 1..86400 */

	/* The Central Management store. */
	char replica_fqdn[CSB_FQDN_MAX + 1];      /* -ReplicaFqdn, lowercased */
	char backup_sql_server[CSB_FQDN_MAX + 1]; /* -BackupSqlServerFqdn: the standby's pool */
	const char *backup_sql_instance;          /* -BackupSqlInstanceName: RTC */

	/* Files. */
	const char *file_name;              /* -FileName */
	const char *backup_file_name;       /* -BackupFileName */
	const char *byte_input;             /* -ByteInput: "-" (stdin) */

	/* Data plane. */
	const char *key;                    /* -Key (non-empty) */
	const char *value;                  /* -Value (may be empty) */
	const char *value_file;             /* -ValueFile */
	const char *prefix;                 /* -Prefix (may be empty) */
	uint64_t limit;                     /* -Limit, 1..1000000; 0 = no limit */
	uint64_t count;                     /* -Count, 1..100000000 */
	uint64_t value_size;                /* -ValueSize bytes, 1..256 MiB; default 200 */
	double update_fraction;             /* -UpdateFraction, 0..1 */
	double delete_fraction;             /* -DeleteFraction, 0..1; sum with update <= 1 */
	uint64_t seed;                      /* -Seed; csb_args_given() says whether one was */
	const char *value_kind;             /* -ValueKind random|presence|conference */

	/* Local clusters. */
	const char *dir;                    /* --dir */
	uint64_t pools;                     /* --pools, even, 2..64; default 2 */
	uint64_t base_port;                 /* --base-port, 1..65535; 0 when not given */
	char node[CSB_FQDN_MAX + 1];        /* --node: "coordinator" or a pool FQDN, lowercased */
	const char *principal;              /* --principal NAME */
} csb_args;

/* Parses argv[1..argc-1] into *out (fully overwritten). Cmdlet and parameter names are
 * case-insensitive; a parameter is `-Name value`, `--kebab-name value`, `-Name:value` or
 * `--name=value`; a switch takes no separate value but accepts `-Switch:$false`. A value
 * that starts with '-' and a letter is taken for the next parameter (write `-Key:-x`).
 * Global flags (`--cluster` …) may appear anywhere; a double-dash name is a global flag
 * first (`--key` is the TLS key) and a single-dash name a cmdlet parameter first (`-Key`).
 * With --help or --version, required parameters and usage rules are not checked; with
 * --help anywhere, mistakes in parameters are ignored too (only an unknown command is
 * still an error), so `csb Backup-CsPool -PoolFqdn --help` shows the cmdlet's help.
 * Reads the CSB_CLUSTER environment variable; otherwise pure and thread-safe.
 * Returns CSB_OK, or CSB_EINVAL on a usage error with the one line to print in err
 * (`csb: Backup-CsPool: -PoolFqdn is required`, no newline, truncated to errlen); the
 * caller prints it to stderr and exits 2. out is then partly filled and not to be used.
 * Invoke-CsBackupServiceSync without -PoolFqdn is accepted: the caller reads pools from
 * stdin when it is not a terminal, and otherwise reports csb_args_param_name()'s
 * "-PoolFqdn is required". */
csb_err csb_args_parse(int argc, char **argv, csb_args *out, char *err, size_t errlen);

/* True when parameter p was given on the line. */
bool csb_args_given(const csb_args *a, csb_param p);

/* How parameter p is written in messages: "-PoolFqdn", "--base-port". Static; never NULL. */
const char *csb_args_param_name(csb_param p);

/* Writes the usage text for --help to f: of a's cmdlet (syntax, summary, every parameter
 * with its description and default, the parameters documented elsewhere that csbackup
 * refuses and why, and the documented examples), or of csb and every command when a is
 * NULL or a->cmd is CSB_CMD_NONE. */
void csb_args_usage(FILE *f, const csb_args *a);

/* Bash completion (contrib/csb.bash calls `csb __complete WORD... CURRENT`): argv[0..argc-1]
 * are the words after csb, the last one being completed (possibly ""). Writes to f a first
 * line "words", "files" or "dirs" (what the shell should offer), then, for "words", one
 * candidate per line: cmdlet names and aliases, parameters the cmdlet has not been given
 * (-PoolFqdn form, or --pool-fqdn when CURRENT starts with "--"), and values — modules,
 * categories, $true/$false, the actions, Global, and for FQDN parameters the pools of the
 * cluster folder (--cluster on the line, else $CSB_CLUSTER) read from its cluster.json.
 * Candidates start with CURRENT, compared without case. Never fails. */
void csb_args_complete(int argc, char **argv, FILE *f);

#endif
