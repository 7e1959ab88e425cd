/* The usage text of csb (`csb --help`, `csb <Cmdlet> -?`), from the tables of cmdlets.c:
 * a cmdlet's syntax, each parameter with its description and default, what csbackup
 * refuses of the documented syntax and why, the common parameters and the documented
 * examples as csb runs them. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/internal/cmdlets.h"

#define WIDTH 90   /* wrap descriptions before this column */
#define INDENT 6   /* descriptions under their parameter */

/* Writes text at column `indent`, wrapped at spaces before WIDTH; the first line starts at
 * column `col` (already written). Ends with a newline. */
static void wrap(FILE *f, const char *text, size_t col, size_t indent)
{
	const char *p = text;

	if (col < indent) {
		fprintf(f, "%*s", (int)(indent - col), "");
		col = indent;
	}
	while (*p != '\0') {
		size_t word = strcspn(p, " "), space = 0;

		if (col > indent && col + 1 + word > WIDTH) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, word, f);
		col += word;
		p += word;
		while (p[space] == ' ')
			space++;
		p += space;
	}
	fputc('\n', f);
}

/* The value of a default (time or count) as shown. */
static void default_text(const csb__param_def *d, uint64_t def, char *out, size_t len)
{
	if (d->type == CSB__T_TIME)
		csb_duration_format(def, out, len);
	else
		snprintf(out, len, "%llu", (unsigned long long)def);
}

static void syntax(FILE *f, const csb__cmdlet *c)
{
	char item[512];
	size_t col = (size_t)fprintf(f, "Usage: csb %s", c->name);

	for (size_t i = 0; i < c->nuses; i++) {
		const csb__use *u = &c->uses[i];
		const csb__param_def *d = &csb__params[u->p];
		bool opt = !(u->flags & CSB__REQ), pos = (u->flags & CSB__POS) != 0;

		/* PowerShell's own notation: [-Name] <value> for a positional parameter. */
		snprintf(item, sizeof(item), " %s%s%s%s%s%s%s", opt ? "[" : "", pos ? "[" : "",
		         d->shown, pos ? "]" : "", d->meta != NULL ? " " : "",
		         d->meta != NULL ? d->meta : "", opt ? "]" : "");
		if (col + strlen(item) > 80) {
			fputs("\n   ", f);
			col = 3;
		}
		fputs(item, f);
		col += strlen(item);
	}
	fputc('\n', f);
}

static void defaults(FILE *f, const csb__cmdlet *c)
{
	char value[32];
	bool any = false;

	for (size_t i = 0; i < c->nuses; i++) {
		const csb__use *u = &c->uses[i];

		if (!(u->flags & CSB__DEF))
			continue;
		default_text(&csb__params[u->p], u->def, value, sizeof(value));
		fprintf(f, "%s%s %s", any ? ", " : "Defaults: ", csb__params[u->p].shown, value);
		any = true;
	}
	if (any)
		fputc('\n', f);
}

static void parameters(FILE *f, const csb__cmdlet *c)
{
	char value[32];

	fputs("\nParameters:\n", f);
	for (size_t i = 0; i < c->nuses; i++) {
		const csb__use *u = &c->uses[i];
		const csb__param_def *d = &csb__params[u->p];

		fprintf(f, "  %s", d->shown);
		if (d->meta != NULL)
			fprintf(f, " %s", d->meta);
		if (d->alias != NULL)
			fprintf(f, " (alias -%s)", d->alias);
		if (u->flags & CSB__REQ)
			fprintf(f, " (required)");
		if (u->flags & CSB__POS)
			fprintf(f, " (positional: the name may be left out)");
		if (u->flags & CSB__DEF) {
			default_text(d, u->def, value, sizeof(value));
			fprintf(f, " (default %s)", value);
		}
		fputc('\n', f);
		wrap(f, u->help != NULL ? u->help : d->help, 0, INDENT);
	}
	if (c->nrefusals > 0)
		fputs("\nDocumented, but not available here (exit 2 with the reason):\n", f);
	for (size_t i = 0; i < c->nrefusals; i++) {
		fprintf(f, "  -%s\n", c->refusals[i].name);
		wrap(f, c->refusals[i].why, 0, INDENT);
	}
}

static void common(FILE *f)
{
	fputs("\nCommon parameters (every command):\n", f);
	for (int g = CSB__G_VERBOSE; g <= CSB__G_WARNING_ACTION; g++) {
		const csb__param_def *d = &csb__globals[g];

		fprintf(f, "  %s%s%s (alias -%s)\n", d->shown, d->meta ? " " : "",
		        d->meta ? d->meta : "", d->alias);
		wrap(f, d->help, 0, INDENT);
	}
	fputs("  --json, --cluster DIR, ... (csb --help lists the global flags)\n", f);
}

static void examples(FILE *f, const csb__cmdlet *c)
{
	if (c->nexamples > 0)
		fputs("\nExamples:\n", f);
	for (size_t i = 0; i < c->nexamples; i++) {
		const char *line = c->examples[i].line;

		/* An example of several commands: one per line. */
		while (*line != '\0') {
			size_t n = strcspn(line, "\n");

			fprintf(f, "  %.*s\n", (int)n, line);
			line += n + (line[n] == '\n');
		}
		wrap(f, c->examples[i].what, 0, INDENT);
	}
}

static void usage_cmdlet(FILE *f, const csb__cmdlet *c)
{
	if (c->alias != NULL)
		fprintf(f, "%s (%s): %s\n", c->name, c->alias, c->summary);
	else
		fprintf(f, "csb %s: %s\n", c->name, c->summary);
	syntax(f, c);
	defaults(f, c);
	parameters(f, c);
	common(f);
	examples(f, c);
	if (c->group == NULL)
		fputs("\nParameters may also be written --kebab-case (-PoolFqdn = --pool-fqdn);\n"
		      "-Switch:$false turns a switch off.\n", f);
}

void csb_args_usage(FILE *f, const csb_args *a)
{
	if (a != NULL && a->cmd > CSB_CMD_NONE && a->cmd < CSB_CMD_COUNT) {
		usage_cmdlet(f, &csb__cmdlets[a->cmd]);
		return;
	}
	fputs("Usage: csb <Cmdlet-Name> -Param value -Switch ... [global flags]\n"
	      "Cmdlet and parameter names are case-insensitive; the name in brackets works "
	      "too.\n\n", f);
	for (int c = 1; c < CSB_CMD_COUNT; c++) {
		const csb__cmdlet *e = &csb__cmdlets[c];

		if (c == CSB_CMD_DATA_PUT)
			fputs("\nData plane:\n", f);
		else if (c == CSB_CMD_CLUSTER_UP)
			fputs("\nLocal clusters:\n", f);
		if (e->alias != NULL)
			fprintf(f, "  %s (%s)\n      %s\n", e->name, e->alias, e->summary);
		else
			fprintf(f, "  csb %s\n      %s\n", e->name, e->summary);
	}
	fputs("\nGlobal flags (anywhere on the line):\n", f);
	for (int g = 0; g <= CSB__G_HELP; g++) {
		const csb__param_def *d = &csb__globals[g];
		char name[64];

		snprintf(name, sizeof(name), "%s%s%s", d->shown, d->meta ? " " : "",
		         d->meta ? d->meta : "");
		if (strlen(name) < 20) {
			fprintf(f, "  %-20s ", name);
			wrap(f, d->help, 23, 23);
		} else {
			fprintf(f, "  %s\n", name);
			wrap(f, d->help, 0, 23);
		}
	}
	fputs("\nExit codes: 0 done, 1 failed, 2 usage error, 3 access denied, 4 unreachable.\n"
	      "Bash completion: source contrib/csb.bash (cmdlets, parameters, modules, pools).\n",
	      f);
}
