/* The tables behind cli/args.h, shared by cmdlets.c (which defines them) and args.c (which
 * walks them). Visible to the cli package only. */
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
	CSB__T_PRINCIPAL  /* a certificate CN; const char * */
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
} csb__param_def;

/* Indexed by csb_param. */
extern const csb__param_def csb__params[CSB_P_COUNT];

#define CSB__REQ   1u  /* must be given */
#define CSB__DEF   2u  /* not given: store def (CSB__T_COUNT / CSB__T_TIME) */
#define CSB__STDIN 4u  /* "-" means "read pools from stdin" (CSB__T_FQDN) */

/* One parameter as a cmdlet takes it. */
typedef struct csb__use {
	csb_param p;
	unsigned flags;
	uint64_t def;
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
} csb__cmdlet;

/* Indexed by csb_cmd; entry CSB_CMD_NONE is empty. */
extern const csb__cmdlet csb__cmdlets[CSB_CMD_COUNT];

#endif
