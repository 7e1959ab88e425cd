/* A progress bar on stderr for long commands (`csb data load`): drawn only when stderr is a
 * terminal, redrawn at most 10 times a second, erased when done. */
#ifndef CSB_CLI_INTERNAL_PROGRESS_H
#define CSB_CLI_INTERNAL_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct cli_progress {
	bool on;            /* stderr is a terminal */
	const char *label;  /* borrowed; valid until cli_progress_finish() */
	uint64_t total, done;
	uint64_t start_ms, drawn_ms;
} cli_progress;

/* Starts a bar for total units, labelled (e.g. "data load"). */
void cli_progress_start(cli_progress *p, const char *label, uint64_t total);

/* done units of total are finished; redraws when the last drawing is 100 ms old. */
void cli_progress_update(cli_progress *p, uint64_t done);

/* Erases the bar (the line is left empty for what comes next). */
void cli_progress_finish(cli_progress *p);

#endif
