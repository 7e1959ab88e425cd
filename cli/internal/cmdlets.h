/* The tables behind cli/args.h, shared by cmdlets.c (which defines them) and the files that
 * walk them: args.c (parsing), usage.c (--help) and complete.c (bash completion). Visible
 * to the cli package only. */
#ifndef CSB_CLI_INTERNAL_CMDLETS_H
#define CSB_CLI_INTERNAL_CMDLETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/args.h"

/* What a parameter's value is, and so how it is checked and stored. */
typedef enum csb__type {
	CSB__T_SWITCH,    /* no value; -X:$false allowed; bool field */
	CSB__T_BOOL,      /* $true|$false; bool field */
	CSB__T_FQDN,      /* csb_fqdn_parse(), lowercased into char[CSB_FQDN_MAX + 1] */
	CSB__T_NODE,      /* "coordinator" or an FQDN, lowercased into char[] */
	CSB__T_TIME,      /* seconds or hh:mm:ss, min..max ms; uint64_t ms */
	CSB__T_COUNT,     /* whole number, min..max; uint64_t */
	CSB__T_FRACTION,  /* decimal 0..1; double */
	CSB__T_MODULE,    /* catalogue module; const csb_module_def * */
	CSB__T_CATEGORY,  /* CMS|UserData|RGS; csb_category */
	CSB__T_IDENTITY,  /* Global only; const char * (the literal "Global") */
	CSB__T_GROUPS,    /* G1,G2 into csb_args.groups (off unused) */
	CSB__T_TEXT,      /* any text (path, key, value); const char * borrowed from argv */
	CSB__T_PRINCIPAL, /* a certificate CN; const char * */
	CSB__T_ACTION     /* Stop|Continue|SilentlyContinue; csb_action */
} csb__type;

typedef struct csb__param_def {
	const char *name;     /* PowerShell form: "PoolFqdn" */
	const char *kebab;    /* "pool-fqdn" */
	const char *shown;    /* in messages: "-PoolFqdn", or "--base-port" for cluster flags */
	const char *meta;     /* value placeholder in usage text; NULL for switches */
	csb__type type;
	bool empty_ok;        /* CSB__T_TEXT: "" is a valid value */
	size_t off;           /* field in csb_args */
	uint64_t min, max;    /* CSB__T_COUNT and CSB__T_TIME (ms) bounds, inclusive */
	const char *alias;    /* PowerShell's short alias ("cf" for -Confirm), or NULL */
	const char *help;     /* what it does, for --help; a cmdlet's use may say it better */
} csb__param_def;

/* Indexed by csb_param. */
extern const csb__param_def csb__params[CSB_P_COUNT];

/* The global flags (--cluster, --json, ...) and PowerShell's common parameters (-Verbose,
 * -ErrorAction, -WarningAction), accepted anywhere on the line. The three spellings of
 * help come last: CSB__G_HELP and the two after it. */
enum {
	CSB__G_CLUSTER, CSB__G_AS, CSB__G_COORDINATOR, CSB__G_COORDINATOR_NAME, CSB__G_CERT,
	CSB__G_KEY, CSB__G_CA,
	CSB__G_JSON, CSB__G_VERBOSE, CSB__G_ERROR_ACTION, CSB__G_WARNING_ACTION, CSB__G_VERSION,
	CSB__G_HELP, CSB__G_HELP_Q, CSB__G_HELP_H, CSB__G_COUNT
};
extern const csb__param_def csb__globals[CSB__G_COUNT];

/* A parameter the documentation gives that names something csbackup does not have (a SQL
 * Server instance, Active Directory, a PowerShell object or variable): refused with exit 2
 * and the reason, `csb: <Cmdlet>: -<name> <why>`. */
typedef struct csb__refusal {
	const char *name;     /* "BackupSqlInstanceName" */
	bool takes_value;     /* a value follows it on the line (skipped by completion) */
	const char *why;      /* "names a SQL Server instance; csbackup keeps ..." */
} csb__refusal;

/* PowerShell's common parameters that have no csb meaning (variables and the like). */
extern const csb__refusal csb__common_refusals[];
extern const size_t csb__ncommon_refusals;

/* A documented example, as csb runs it (FQDNs and paths ours). */
typedef struct csb__example {
	const char *line;     /* "csb Backup-CsPool -PoolFqdn pool01.csb.test" */
	const char *what;     /* what it does */
} csb__example;

#define CSB__REQ   1u  /* must be given */
#define CSB__DEF   2u  /* not given: store def (CSB__T_COUNT / CSB__T_TIME) */
#define CSB__STDIN 4u  /* "-" means "read pools from stdin" (CSB__T_FQDN) */
#define CSB__POS   8u  /* may be given without its name (the documentation's Position) */

/* One parameter as a cmdlet takes it. */
typedef struct csb__use {
	csb_param p;
	unsigned flags;
	uint64_t def;
	const char *help;     /* this cmdlet's description of it; NULL: the parameter's own */
} csb__use;

typedef struct csb__cmdlet {
	const char *name;     /* canonical: "Backup-CsPool", or "data put" for two words */
	const char *alias;    /* kebab alias ("backup-pool"), or NULL */
	const char *group;    /* "data" / "cluster" for two-word commands, else NULL */
	const char *word;     /* the second word ("put") of a two-word command */
	const char *summary;  /* one line for the usage text */
	/* Cross-parameter rules (conflicts, dependencies); the message, or NULL when fine. */
	const char *(*check)(const csb_args *a);
	const csb__use *uses;
	size_t nuses;
	const csb__refusal *refusals;  /* documented parameters refused here, with why */
	size_t nrefusals;
	const csb__example *examples;  /* the documentation's examples, as csb runs them */
	size_t nexamples;
} csb__cmdlet;

/* Indexed by csb_cmd; entry CSB_CMD_NONE is empty. */
extern const csb__cmdlet csb__cmdlets[CSB_CMD_COUNT];

/* The parameter of cmdlet c named name[0..len) (either spelling or its alias), or NULL. */
const csb__use *csb__use_find(const csb__cmdlet *c, const char *name, size_t len);

/* The global flag named name[0..len), or -1. */
int csb__global_find(const char *name, size_t len);

/* The values an action parameter takes, in the order shown ("Stop", "Continue", ...). */
extern const char *const csb__error_actions[3];
extern const char *const csb__warning_actions[3];

#endif
