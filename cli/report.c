/* The Backup-CsPool HTML report (cli/internal/report.h): collected while the cmdlet runs,
 * written at its end as one page that opens anywhere — inline CSS, no scripts, no links to
 * fetch — with every value escaped. The page's frame and its atomic write serve the other
 * cmdlets' reports too (Publish-CsTopology). */
#include "cli/internal/report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/parse.h"

#define NAME_MAX_ 128
#define NOTE_MAX 512
#define STATE_MAX 32

struct report_module {
	char identity[NAME_MAX_];
	bool synced;
	bool held_known;        /* held: the live records a caught-up backup copy holds */
	uint64_t records, bytes, millis, held;
};

struct report_check {
	uint64_t time_ms;
	size_t n;
	char (*identities)[NAME_MAX_];
	char (*states)[STATE_MAX];
	bool reached;
};

struct cli_report {
	char pool[NAME_MAX_ * 2];
	char backup[NAME_MAX_ * 2];
	char target[STATE_MAX];        /* "" when there are no checks */
	uint64_t retry_count, wait_ms;
	uint64_t started_ms, finished_ms;
	struct report_module *modules;
	size_t n_modules;
	struct report_check *checks;
	size_t n_checks, cap_checks;
	char (*notes)[NOTE_MAX];
	size_t n_notes;
	cli_report_result result;
	char result_text[NOTE_MAX];
};

cli_report *cli_report_new(const char *pool)
{
	cli_report *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	snprintf(r->pool, sizeof(r->pool), "%s", pool);
	r->started_ms = csb_now_ms();
	return r;
}

void cli_report_free(cli_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_checks; i++) {
		free(r->checks[i].identities);
		free(r->checks[i].states);
	}
	free(r->checks);
	free(r->modules);
	free(r->notes);
	free(r);
}

void cli_report_set_backup(cli_report *r, const char *backup_pool)
{
	snprintf(r->backup, sizeof(r->backup), "%s", backup_pool ? backup_pool : "");
}

void cli_report_set_wait(cli_report *r, const char *target, uint64_t retry_count,
                         uint64_t wait_ms)
{
	snprintf(r->target, sizeof(r->target), "%s", target ? target : "");
	r->retry_count = retry_count;
	r->wait_ms = wait_ms;
}

csb_err cli_report_add_module(cli_report *r, const char *identity, bool synced,
                              uint64_t records, uint64_t bytes, uint64_t millis)
{
	struct report_module *m = realloc(r->modules, (r->n_modules + 1) * sizeof(*m));

	if (m == NULL)
		return CSB_ENOMEM;
	r->modules = m;
	m = &r->modules[r->n_modules++];
	memset(m, 0, sizeof(*m)); /* held and held_known too: read when nothing was sent */
	snprintf(m->identity, sizeof(m->identity), "%s", identity);
	m->synced = synced;
	m->records = records;
	m->bytes = bytes;
	m->millis = millis;
	return CSB_OK;
}

csb_err cli_report_module_sent(cli_report *r, const char *identity, uint64_t records,
                               uint64_t bytes, uint64_t millis)
{
	for (size_t i = 0; i < r->n_modules; i++) {
		struct report_module *m = &r->modules[i];

		if (strcmp(m->identity, identity) == 0) {
			m->synced = true;
			m->records = records;
			m->bytes = bytes;
			m->millis = millis;
			return CSB_OK;
		}
	}
	return cli_report_add_module(r, identity, true, records, bytes, millis);
}

void cli_report_module_held(cli_report *r, const char *identity, uint64_t records)
{
	for (size_t i = 0; i < r->n_modules; i++)
		if (strcmp(r->modules[i].identity, identity) == 0) {
			r->modules[i].held = records;
			r->modules[i].held_known = true;
		}
}

csb_err cli_report_add_check(cli_report *r, uint64_t time_ms, size_t n,
                             const char *const *identities, const char *const *states,
                             bool reached)
{
	struct report_check *c;

	if (r->n_checks == r->cap_checks) {
		size_t cap = r->cap_checks ? r->cap_checks * 2 : 16;

		if ((c = realloc(r->checks, cap * sizeof(*c))) == NULL)
			return CSB_ENOMEM;
		r->checks = c;
		r->cap_checks = cap;
	}
	c = &r->checks[r->n_checks];
	c->time_ms = time_ms;
	c->n = n;
	c->reached = reached;
	c->identities = calloc(n ? n : 1, sizeof(*c->identities));
	c->states = calloc(n ? n : 1, sizeof(*c->states));
	if (c->identities == NULL || c->states == NULL) {
		free(c->identities);
		free(c->states);
		return CSB_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(c->identities[i], sizeof(c->identities[i]), "%s", identities[i]);
		snprintf(c->states[i], sizeof(c->states[i]), "%s", states[i]);
	}
	r->n_checks++;
	return CSB_OK;
}

void cli_report_note(cli_report *r, const char *fmt, ...)
{
	char (*notes)[NOTE_MAX] = realloc(r->notes, (r->n_notes + 1) * sizeof(*notes));
	va_list ap;

	if (notes == NULL)
		return;
	r->notes = notes;
	va_start(ap, fmt);
	vsnprintf(r->notes[r->n_notes++], NOTE_MAX, fmt, ap);
	va_end(ap);
}

void cli_report_finish(cli_report *r, cli_report_result result, const char *fmt, ...)
{
	va_list ap;

	r->result = result;
	r->finished_ms = csb_now_ms();
	va_start(ap, fmt);
	vsnprintf(r->result_text, sizeof(r->result_text), fmt, ap);
	va_end(ap);
}

size_t cli_report_checks(const cli_report *r)
{
	return r->n_checks;
}

void cli_time_rfc3339(uint64_t ms, char *out, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	gmtime_r(&s, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%03uZ", buf, (unsigned)(ms % 1000));
}

void cli_report_default_path(const char *pool, uint64_t time_ms, char *out, size_t len)
{
	const char *tmp = getenv("TMPDIR");
	time_t s = (time_t)(time_ms / 1000);
	struct tm tm;
	char stamp[32];

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	localtime_r(&s, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	snprintf(out, len, "%s%sBackup-CsPool-%s-%s.html", tmp,
	         tmp[strlen(tmp) - 1] == '/' ? "" : "/", pool, stamp);
}

void cli_html_escape(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		switch (ch) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			if ((ch < 0x20 && ch != '\t' && ch != '\n') || ch == 0x7f)
				fputs("&#xFFFD;", f);
			else
				fputc(ch, f);
		}
	}
}

/* Escaped text inside an element: <tag class="cls">text</tag>. */
void cli_html_cell(FILE *f, const char *tag, const char *cls, const char *text)
{
	if (cls != NULL && *cls != '\0') {
		fprintf(f, "<%s class=\"", tag);
		cli_html_escape(f, cls);
		fputs("\">", f);
	} else {
		fprintf(f, "<%s>", tag);
	}
	cli_html_escape(f, text);
	fprintf(f, "</%s>", tag);
}

#define cell cli_html_cell

static void cell_u64(FILE *f, uint64_t v)
{
	fprintf(f, "<td class=\"num\">%llu</td>", (unsigned long long)v);
}

static const char *result_name(cli_report_result r)
{
	switch (r) {
	case CLI_REPORT_SUCCEEDED: return "Succeeded";
	case CLI_REPORT_FAILED: return "Failed";
	case CLI_REPORT_SKIPPED: return "Skipped";
	default: return "Not finished";
	}
}

static const char *result_class(cli_report_result r)
{
	switch (r) {
	case CLI_REPORT_SUCCEEDED: return "succeeded";
	case CLI_REPORT_FAILED: return "failed";
	case CLI_REPORT_SKIPPED: return "skipped";
	default: return "notfinished";
	}
}

/* The CSS class of a state cell: the state's name, lowercased letters only. */
static void state_class(const char *state, char *out, size_t len)
{
	size_t n = 0;

	n += (size_t)snprintf(out, len, "st-");
	for (; *state != '\0' && n + 1 < len; state++)
		if ((*state >= 'a' && *state <= 'z') || (*state >= 'A' && *state <= 'Z'))
			out[n++] = (char)(*state | 0x20);
	out[n] = '\0';
}

/* A check's cell is green only when its state meets the target (FinalState meets both;
 * SteadyState only -SteadyState), red for ErrorState, amber otherwise. */
static void check_class(const char *target, const char *state, char *out, size_t len)
{
	bool met = strcmp(state, "FinalState") == 0 ||
	           (strcmp(target, "SteadyState") == 0 && strcmp(state, "SteadyState") == 0);

	if (target[0] == '\0')
		state_class(state, out, len);
	else
		snprintf(out, len, "%s", met ? "st-met"
		                         : strcmp(state, "ErrorState") == 0 ? "st-errorstate"
		                                                             : "st-notyet");
}

static const char css[] =
	"body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;margin:2em;"
	"color:#1b1b1b;background:#fff}\n"
	"h1{font-size:1.4em;margin-bottom:.2em}h2{font-size:1.1em;margin-top:1.6em}\n"
	"table{border-collapse:collapse;margin:.5em 0}\n"
	"th,td{border:1px solid #c8c8c8;padding:.3em .7em;text-align:left;vertical-align:top}\n"
	"thead th{background:#f0f0f0}\n"
	"table.summary th{background:#f7f7f7;font-weight:600}\n"
	"td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
	".succeeded{color:#0a6b0a;font-weight:600}.failed{color:#a80000;font-weight:600}\n"
	".skipped{color:#8a5a00;font-weight:600}.notfinished{color:#555}\n"
	".st-finalstate,.st-steadystate{background:#e6f4e6}\n"
	".st-nonsteadystate,.st-notinitialized{background:#fff6d6}\n"
	".st-errorstate,.st-unknown{background:#fde2e2}\n"
	"tr.reached td{font-weight:600}\n"
	".st-met{background:#e6f4e6}.st-notyet{background:#fff6d6}\n"
	"td.note{color:#555;font-size:.9em}\n"
	"table.checks{table-layout:fixed;width:100%;max-width:1360px}\n"
	"table.checks th{overflow-wrap:anywhere;font-size:.85em}\n"
	"footer{margin-top:2em;color:#666;font-size:.85em}\n";

static void write_summary(const cli_report *r, FILE *f)
{
	char t[40], wait[16];

	fputs("<table class=\"summary\">\n<tr>", f);
	cell(f, "th", NULL, "Pool");
	cell(f, "td", NULL, r->pool);
	fputs("</tr>\n<tr>", f);
	cell(f, "th", NULL, "Backup pool");
	cell(f, "td", NULL, r->backup[0] ? r->backup : "(unknown)");
	fputs("</tr>\n<tr>", f);
	cli_time_rfc3339(r->started_ms, t, sizeof(t));
	cell(f, "th", NULL, "Started");
	cell(f, "td", NULL, t);
	fputs("</tr>\n<tr>", f);
	cell(f, "th", NULL, "Finished");
	if (r->finished_ms != 0)
		cli_time_rfc3339(r->finished_ms, t, sizeof(t));
	cell(f, "td", NULL, r->finished_ms != 0 ? t : "-");
	fputs("</tr>\n<tr>", f);
	cell(f, "th", NULL, "Waited for");
	if (r->target[0] != '\0') {
		csb_duration_format(r->wait_ms, wait, sizeof(wait));
		fputs("<td>", f);
		cli_html_escape(f, r->target);
		fprintf(f, " (at most %llu checks, %s apart)</td>",
		        (unsigned long long)r->retry_count, wait);
	} else {
		cell(f, "td", NULL, "the import of every change (no state checks)");
	}
	fputs("</tr>\n<tr>", f);
	cell(f, "th", NULL, "Result");
	fprintf(f, "<td><span class=\"%s\">", result_class(r->result));
	cli_html_escape(f, result_name(r->result));
	fputs("</span>", f);
	if (r->result_text[0] != '\0') {
		fputs(": ", f);
		cli_html_escape(f, r->result_text);
	}
	fputs("</td></tr>\n</table>\n", f);
}

static void write_modules(const cli_report *r, FILE *f)
{
	uint64_t records = 0, bytes = 0;

	fputs("<h2>Modules</h2>\n<table class=\"modules\">\n<thead><tr><th>Module</th>"
	      "<th>Records sent</th><th>Bytes sent</th><th>Sync time (ms)</th></tr></thead>\n"
	      "<tbody>\n",
	      f);
	for (size_t i = 0; i < r->n_modules; i++) {
		const struct report_module *m = &r->modules[i];

		fputs("<tr>", f);
		cell(f, "td", NULL, m->identity);
		if (m->synced && m->records == 0 && m->held_known) {
			/* Continuous replication had already sent everything before the command. */
			fprintf(f, "<td class=\"num\">0</td><td class=\"num\">0</td>");
			cell_u64(f, m->millis);
			fprintf(f, "</tr>\n<tr><td></td><td colspan=\"3\" class=\"note\">already "
			        "replicated: the backup copy holds %llu record%s</td>",
			        (unsigned long long)m->held, m->held == 1 ? "" : "s");
		} else if (m->synced) {
			cell_u64(f, m->records);
			cell_u64(f, m->bytes);
			cell_u64(f, m->millis);
			records += m->records;
			bytes += m->bytes;
		} else {
			fputs("<td class=\"num\">-</td><td class=\"num\">-</td>"
			      "<td class=\"num\">-</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n<tfoot><tr><th>Total</th>", f);
	cell_u64(f, records);
	cell_u64(f, bytes);
	fputs("<td></td></tr></tfoot>\n</table>\n", f);
}

static void write_checks(const cli_report *r, FILE *f)
{
	char t[40], cls[48];
	size_t cols = r->n_checks ? r->checks[0].n : 0;

	if (r->target[0] == '\0' && r->n_checks == 0)
		return;
	fputs("<h2>Checks</h2>\n", f);
	if (r->n_checks == 0) {
		fputs("<p>No check was made.</p>\n", f);
		return;
	}
	fputs("<table class=\"checks\">\n<thead><tr><th>Check</th><th>Time (UTC)</th>", f);
	for (size_t j = 0; j < cols; j++)
		cell(f, "th", NULL, r->checks[0].identities[j]);
	fputs("<th>Reached</th></tr></thead>\n<tbody>\n", f);
	for (size_t i = 0; i < r->n_checks; i++) {
		const struct report_check *c = &r->checks[i];

		cli_time_rfc3339(c->time_ms, t, sizeof(t));
		fprintf(f, "<tr%s><td class=\"num\">%zu</td>", c->reached ? " class=\"reached\"" : "",
		        i + 1);
		cell(f, "td", NULL, t);
		for (size_t j = 0; j < cols; j++) {
			const char *st = j < c->n ? c->states[j] : "";

			check_class(r->target, st, cls, sizeof(cls));
			cell(f, "td", cls, st);
		}
		cell(f, "td", NULL, c->reached ? "yes" : "no");
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n</table>\n", f);
}

void cli_html_begin(FILE *f, const char *title)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>", f);
	cli_html_escape(f, title);
	fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", css);
	cli_html_escape(f, title);
	fputs("</h1>\n", f);
}

void cli_html_end(FILE *f, const char *cmdlet)
{
	char t[40];

	cli_time_rfc3339(csb_now_ms(), t, sizeof(t));
	fputs("<footer>Written by csb ", f);
	cli_html_escape(f, cmdlet);
	fputs(" at ", f);
	cli_html_escape(f, t);
	fputs(".</footer>\n</body>\n</html>\n", f);
}

csb_err cli_report_html(const cli_report *r, FILE *f)
{
	char title[NAME_MAX_ * 2 + 16];

	snprintf(title, sizeof(title), "Backup-CsPool %s", r->pool);
	cli_html_begin(f, title);
	write_summary(r, f);
	write_modules(r, f);
	write_checks(r, f);
	if (r->n_notes > 0) {
		fputs("<h2>Notes</h2>\n<ul>\n", f);
		for (size_t i = 0; i < r->n_notes; i++) {
			cell(f, "li", NULL, r->notes[i]);
			fputc('\n', f);
		}
		fputs("</ul>\n", f);
	}
	cli_html_end(f, "Backup-CsPool");
	return ferror(f) ? CSB_EIO : CSB_OK;
}

csb_err cli_html_write(const char *path, csb_err (*page)(const void *ctx, FILE *f),
                       const void *ctx)
{
	char tmp[4096];
	FILE *f;
	int saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return CSB_EIO;
	}
	if ((f = fopen(tmp, "w")) == NULL)
		return CSB_EIO;
	if (page(ctx, f) != CSB_OK) {
		saved = errno;
		fclose(f);
		goto out_unlink;
	}
	if (fclose(f) != 0) {
		saved = errno;
		goto out_unlink;
	}
	if (rename(tmp, path) == 0)
		return CSB_OK;
	saved = errno;
out_unlink:
	unlink(tmp);
	errno = saved;
	return CSB_EIO;
}

static csb_err report_page(const void *ctx, FILE *f)
{
	return cli_report_html(ctx, f);
}

csb_err cli_report_write(const cli_report *r, const char *path)
{
	return cli_html_write(path, report_page, r);
}
