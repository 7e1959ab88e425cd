/* The progress bar of cli/internal/progress.h: `data load  [#########.........]  48%
 * 48000/100000  12345/s` on one stderr line, redrawn in place with a carriage return. */
#include "cli/internal/progress.h"

#include <stdio.h>
#include <unistd.h>

#include "common/clock.h"

#define BAR_WIDTH 30
#define REDRAW_MS 100

void cli_progress_start(cli_progress *p, const char *label, uint64_t total)
{
	*p = (cli_progress){.on = isatty(STDERR_FILENO) == 1, .label = label, .total = total};
	p->start_ms = csb_mono_ms();
}

static void draw(cli_progress *p)
{
	char bar[BAR_WIDTH + 1];
	uint64_t filled = p->total ? p->done * BAR_WIDTH / p->total : BAR_WIDTH;
	uint64_t elapsed = csb_mono_ms() - p->start_ms;
	unsigned pct = p->total ? (unsigned)(p->done * 100 / p->total) : 100;

	for (unsigned i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	fprintf(stderr, "\r%s  [%s] %3u%%  %llu/%llu  %llu/s\033[K", p->label, bar, pct,
	        (unsigned long long)p->done, (unsigned long long)p->total,
	        (unsigned long long)(elapsed ? p->done * 1000 / elapsed : 0));
	fflush(stderr);
}

void cli_progress_update(cli_progress *p, uint64_t done)
{
	uint64_t now;

	p->done = done;
	if (!p->on)
		return;
	now = csb_mono_ms();
	if (now - p->drawn_ms < REDRAW_MS && done < p->total)
		return;
	p->drawn_ms = now;
	draw(p);
}

void cli_progress_finish(cli_progress *p)
{
	if (!p->on)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	p->on = false;
}
