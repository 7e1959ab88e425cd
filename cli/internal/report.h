/* The Backup-CsPool report (SPEC.md §4 -Report): what was backed up and every check of the
 * export states, collected while the cmdlet runs and written as one self-contained HTML5
 * page (inline CSS, no scripts, no external resources; every text escaped). */
#ifndef CSB_CLI_INTERNAL_REPORT_H
#define CSB_CLI_INTERNAL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"

typedef struct cli_report cli_report;

/* The outcome shown in the report's Result row. */
typedef enum cli_report_result {
	CLI_REPORT_RUNNING,   /* not decided (yet) */
	CLI_REPORT_SUCCEEDED,
	CLI_REPORT_FAILED,
	CLI_REPORT_SKIPPED,   /* -FailedOverPoolOnly on a pool that is not failed over */
} cli_report_result;

/* A new report for pool (copied), started now. NULL when out of memory. */
cli_report *cli_report_new(const char *pool);

/* Frees r and everything it holds. NULL is a no-op. */
void cli_report_free(cli_report *r);

/* The backup pool (copied). */
void cli_report_set_backup(cli_report *r, const char *backup_pool);

/* What the checks wait for ("SteadyState", "FinalState"; NULL: no checks) and how:
 * at most retry_count checks, wait_ms apart. */
void cli_report_set_wait(cli_report *r, const char *target, uint64_t retry_count,
                         uint64_t wait_ms);

/* A selected module. synced: it was part of the sync, and records, bytes and millis are
 * what the sync sent; else those are not shown. CSB_OK or CSB_ENOMEM. */
csb_err cli_report_add_module(cli_report *r, const char *identity, bool synced,
                              uint64_t records, uint64_t bytes, uint64_t millis);

/* Records what the sync sent for a module added before (by identity); adds it if not. */
csb_err cli_report_module_sent(cli_report *r, const char *identity, uint64_t records,
                               uint64_t bytes, uint64_t millis);

/* What a module's backup copy holds once caught up (its live records), for the report's
 * "already replicated" line. Ignored for a module not added. */
void cli_report_module_held(cli_report *r, const char *identity, uint64_t records);

/* One check: its wall time, the export state of each of n modules (strings copied) and
 * whether they all had reached the target. CSB_OK or CSB_ENOMEM. */
csb_err cli_report_add_check(cli_report *r, uint64_t time_ms, size_t n,
                             const char *const *identities, const char *const *states,
                             bool reached);

/* A note or warning shown in the report (printf format). */
void cli_report_note(cli_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The result and its one-line explanation (printf format); marks the report finished now. */
void cli_report_finish(cli_report *r, cli_report_result result, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* How many checks were recorded. */
size_t cli_report_checks(const cli_report *r);

/* Writes the HTML page to f. CSB_OK, or CSB_EIO when a write fails. */
csb_err cli_report_html(const cli_report *r, FILE *f);

/* Writes the page to path, replacing an existing file (written beside it, then renamed).
 * CSB_OK, or CSB_EIO with errno set. */
csb_err cli_report_write(const cli_report *r, const char *path);

/* The default path: $TMPDIR (else /tmp) /Backup-CsPool-<pool>-<yyyymmddThhmmss>.html in
 * local time at time_ms. */
void cli_report_default_path(const char *pool, uint64_t time_ms, char *out, size_t len);

/* ms since the epoch as RFC 3339 UTC with milliseconds: "2026-11-22T01:02:03.456Z"
 * (out: at least 32 bytes). */
void cli_time_rfc3339(uint64_t ms, char *out, size_t len);

/* Writes s to f with &, <, >, " and ' escaped, and control bytes but tab and newline
 * replaced by U+FFFD, so that nothing in s can break out of text or an attribute. */
void cli_html_escape(FILE *f, const char *s);

/* The frame every csb report shares: doctype, head with the inline style, and the title
 * as <title> and <h1> (escaped); then the footer naming the cmdlet and the time. */
void cli_html_begin(FILE *f, const char *title);
void cli_html_end(FILE *f, const char *cmdlet);

/* <tag class="cls">text</tag>, cls and text escaped; cls NULL or "": no class. */
void cli_html_cell(FILE *f, const char *tag, const char *cls, const char *text);

/* Writes the page page() emits (ctx passed on) to path, replacing an existing file (written
 * beside it, then renamed). CSB_OK, or CSB_EIO with errno set. */
csb_err cli_html_write(const char *path, csb_err (*page)(const void *ctx, FILE *f),
                       const void *ctx);

#endif
