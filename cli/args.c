/* Parsing of the csb command line and its usage text (cli/args.h), driven by the parameter
 * and cmdlet tables of cmdlets.c. Every usage error becomes one line
 * `csb: <Cmdlet>: <what is wrong>` and CSB_EINVAL; nothing here does I/O but getenv and
 * the FILE given to csb_args_usage(). */
#include "cli/args.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/internal/cmdlets.h"

_Static_assert(CSB_P_COUNT <= 64, "csb_args.set has one bit per parameter");

#define FIELD(a, def, type) ((type *)(void *)((char *)(a) + (def)->off))
#define G(name, shown, type, field) \
	{name, name, shown, NULL, type, false, offsetof(csb_args, field), 0, 0}

/* Global flags (SPEC.md §2, §3). "?" and "h" are further spellings of --help. */
static const csb__param_def globals[] = {
	G("cluster", "--cluster", CSB__T_TEXT, cluster),
	G("as", "--as", CSB__T_PRINCIPAL, as),
	G("coordinator", "--coordinator", CSB__T_TEXT, coordinator),
	G("cert", "--cert", CSB__T_TEXT, tls_cert),
	G("key", "--key", CSB__T_TEXT, tls_key),
	G("ca", "--ca", CSB__T_TEXT, tls_ca),
	G("json", "--json", CSB__T_SWITCH, json),
	G("version", "--version", CSB__T_SWITCH, version),
	G("help", "--help", CSB__T_SWITCH, help),
	G("?", "--help", CSB__T_SWITCH, help),
	G("h", "--help", CSB__T_SWITCH, help),
};
#define NGLOBALS (sizeof(globals) / sizeof(globals[0]))
#define GLOBAL_HELP 8 /* the first --help spelling: all three share one "given" bit */

/* One parse in progress. */
struct parse {
	csb_args *a;
	const csb__cmdlet *c;    /* the command, once named */
	const char *group;       /* "data" / "cluster" named, its second word still to come */
	bool bad_cmdlet;         /* the error is about the command's name */
	const char *prev_switch; /* the switch just taken, for the hint on a stray value */
	unsigned gset;           /* globals given, by index into globals[] */
	char *err;
	size_t errlen;
};

static void scrub(char *s)
{
	/* One line, whatever the user typed into a quoted value. */
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static csb_err fail(struct parse *st, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (st->err == NULL || st->errlen == 0)
		return CSB_EINVAL;
	if (st->c != NULL)
		n = snprintf(st->err, st->errlen, "csb: %s: ", st->c->name);
	else
		n = snprintf(st->err, st->errlen, "csb: ");
	if (n >= 0 && (size_t)n < st->errlen) {
		va_start(ap, fmt);
		vsnprintf(st->err + n, st->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	scrub(st->err);
	return CSB_EINVAL;
}

/* "-Foo", "--foo", "-?": a parameter, not a value. "-" (stdin), "-5" and "--" are values
 * (the last one then a stray argument). */
static bool looks_like_flag(const char *s)
{
	if (s[0] != '-')
		return false;
	if (s[1] == '-')
		s++;
	return isalpha((unsigned char)s[1]) || s[1] == '?';
}

static bool name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* A decimal 0..1 such as "0.25", ".5" or "1": digits and at most one '.', no sign or
 * exponent. Computed by hand so that the locale's decimal point does not matter. */
static bool fraction_parse(const char *s, double *out)
{
	double v = 0, scale = 1;
	size_t digits = 0;
	bool dot = false;

	for (; *s != '\0'; s++) {
		if (*s == '.' && !dot) {
			dot = true;
		} else if (isdigit((unsigned char)*s)) {
			digits++;
			if (dot)
				v += (*s - '0') * (scale /= 10);
			else
				v = v * 10 + (*s - '0');
		} else {
			return false;
		}
	}
	if (digits == 0)
		return false;
	*out = v;
	return true;
}

/* A certificate CN as common/certs.h accepts it. */
static bool principal_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr(".-_ ", *s) == NULL)
			return false;
	return true;
}

static csb_err take_groups(struct parse *st, const csb__param_def *d, const char *v)
{
	csb_args *a = st->a;
	size_t len = strlen(v);
	char *p = a->groups_buf;

	a->ngroups = 0;
	if (len == 0)
		return CSB_OK; /* "" clears the list */
	if (len >= sizeof(a->groups_buf))
		return fail(st, "%s: the list is longer than %zu characters", d->shown,
		            sizeof(a->groups_buf) - 1);
	memcpy(p, v, len + 1);
	for (char *s = p, *end;; s = end + 1) {
		end = strchr(s, ',');
		if (end != NULL)
			*end = '\0';
		while (*s == ' ')
			s++;
		for (char *t = s + strlen(s); t > s && t[-1] == ' ';)
			*--t = '\0';
		if (*s == '\0')
			return fail(st, "%s: empty group name in '%s'", d->shown, v);
		if (a->ngroups == CSB_ARGS_GROUPS_MAX)
			return fail(st, "%s: more than %d groups", d->shown, CSB_ARGS_GROUPS_MAX);
		a->groups[a->ngroups++] = s;
		if (end == NULL)
			break;
	}
	return CSB_OK;
}

static csb_err take_time(struct parse *st, const csb__param_def *d, const char *v)
{
	uint64_t ms;
	char lo[16], hi[16];

	if (csb_duration_parse(v, &ms) != CSB_OK)
		return fail(st, "%s: '%s' is not a time (seconds or hh:mm:ss)", d->shown, v);
	if (ms < d->min || ms > d->max) {
		csb_duration_format(d->min, lo, sizeof(lo));
		csb_duration_format(d->max, hi, sizeof(hi));
		return fail(st, "%s must be between %s and %s", d->shown, lo, hi);
	}
	*FIELD(st->a, d, uint64_t) = ms;
	return CSB_OK;
}

static csb_err take_count(struct parse *st, const csb__param_def *d, const char *v)
{
	uint64_t n;

	if (!all_digits(v))
		return fail(st, "%s: '%s' is not a whole number", d->shown, v);
	/* Digits only: csb_u64_parse() now fails only above max (or above 64 bits). */
	if (csb_u64_parse(v, d->max, &n) != CSB_OK || n < d->min)
		return fail(st, "%s must be between %llu and %llu", d->shown,
		            (unsigned long long)d->min, (unsigned long long)d->max);
	*FIELD(st->a, d, uint64_t) = n;
	return CSB_OK;
}

/* Checks value v of parameter d (as the cmdlet takes it: flags) and stores it. */
static csb_err take_value(struct parse *st, const csb__param_def *d, unsigned flags,
                          const char *v)
{
	char why[96];
	const csb_module_def *m;
	double f;

	switch (d->type) {
	case CSB__T_SWITCH:
	case CSB__T_BOOL:
		if (csb_bool_parse(v, FIELD(st->a, d, bool)) != CSB_OK)
			return fail(st, "%s: '%s' is not $true or $false", d->shown, v);
		return CSB_OK;
	case CSB__T_FQDN:
		if (strcmp(v, "-") == 0) {
			if (!(flags & CSB__STDIN))
				return fail(st, "%s: '-' (pools from stdin) is only accepted by "
				            "Invoke-CsBackupServiceSync", d->shown);
			st->a->pool_from_stdin = true;
			return CSB_OK;
		}
		if (csb_fqdn_parse(v, FIELD(st->a, d, char), why, sizeof(why)) != CSB_OK)
			return fail(st, "%s: '%s' is not a valid FQDN (%s)", d->shown, v, why);
		return CSB_OK;
	case CSB__T_NODE:
		if (strcasecmp(v, "coordinator") == 0) {
			strcpy(FIELD(st->a, d, char), "coordinator");
			return CSB_OK;
		}
		if (csb_fqdn_parse(v, FIELD(st->a, d, char), why, sizeof(why)) != CSB_OK)
			return fail(st, "%s: '%s' is neither coordinator nor a pool FQDN (%s)",
			            d->shown, v, why);
		return CSB_OK;
	case CSB__T_TIME:
		return take_time(st, d, v);
	case CSB__T_COUNT:
		return take_count(st, d, v);
	case CSB__T_FRACTION:
		if (!fraction_parse(v, &f))
			return fail(st, "%s: '%s' is not a decimal number (such as 0.25)",
			            d->shown, v);
		if (f > 1.0)
			return fail(st, "%s must be between 0 and 1", d->shown);
		*FIELD(st->a, d, double) = f;
		return CSB_OK;
	case CSB__T_MODULE:
		if ((m = csb_module_find(v)) == NULL)
			return fail(st, "%s: unknown module '%s'", d->shown, v);
		*FIELD(st->a, d, const csb_module_def *) = m;
		return CSB_OK;
	case CSB__T_CATEGORY:
		if (!csb_category_parse(v, FIELD(st->a, d, csb_category)))
			return fail(st, "%s: unknown category '%s' (CMS, UserData or RGS)",
			            d->shown, v);
		return CSB_OK;
	case CSB__T_IDENTITY:
		if (strcasecmp(v, "Global") != 0)
			return fail(st, "%s: only Global is supported", d->shown);
		*FIELD(st->a, d, const char *) = "Global";
		return CSB_OK;
	case CSB__T_GROUPS:
		return take_groups(st, d, v);
	case CSB__T_PRINCIPAL:
		if (!principal_ok(v))
			return fail(st, "%s: '%s' is not a valid principal name (1 to 64 letters, "
			            "digits, '.', '-', '_' or spaces)", d->shown, v);
		*FIELD(st->a, d, const char *) = v;
		return CSB_OK;
	case CSB__T_TEXT:
		if (*v == '\0' && !d->empty_ok)
			return fail(st, "%s must not be empty", d->shown);
		*FIELD(st->a, d, const char *) = v;
		return CSB_OK;
	}
	return fail(st, "%s: internal error (unknown value type)", d->shown);
}

/* The second words of a two-word command, for messages. */
static const char *subcommands(const char *group)
{
	return strcmp(group, "data") == 0 ? "put, get, delete, list or load"
	                                  : "up, down, kill, start or issue-cert";
}

/* The parameter of the current cmdlet called name (either spelling), or NULL. */
static const csb__use *find_use(const struct parse *st, const char *name, size_t len)
{
	if (st->c == NULL)
		return NULL;
	for (size_t i = 0; i < st->c->nuses; i++) {
		const csb__param_def *d = &csb__params[st->c->uses[i].p];

		if (name_is(name, len, d->name) || name_is(name, len, d->kebab))
			return &st->c->uses[i];
	}
	return NULL;
}

static int find_global(const char *name, size_t len)
{
	for (size_t i = 0; i < NGLOBALS; i++)
		if (name_is(name, len, globals[i].name))
			return (int)i;
	return -1;
}

/* Whether name is a parameter of any cmdlet (to explain one written before the cmdlet). */
static bool any_param(const char *name, size_t len)
{
	for (int p = 0; p < CSB_P_COUNT; p++)
		if (name_is(name, len, csb__params[p].name) ||
		    name_is(name, len, csb__params[p].kebab))
			return true;
	return false;
}

/* The flag argv[*i]: a global or a parameter of the cmdlet, with its value if it takes
 * one (inline after ':' or '=', else the next argument, which *i then moves past). */
static csb_err take_flag(struct parse *st, int argc, char **argv, int *i)
{
	const char *tok = argv[*i];
	size_t dashes = tok[1] == '-' ? 2 : 1;
	const char *name = tok + dashes;
	size_t len = strcspn(name, ":=");
	const char *v = name[len] != '\0' ? name + len + 1 : NULL;
	const csb__use *u = find_use(st, name, len);
	int g = find_global(name, len);
	const csb__param_def *d;
	bool given;

	if (u != NULL && g >= 0 && dashes == 2)
		u = NULL; /* --key is the global TLS key; the record key is -Key */
	if (u != NULL) {
		d = &csb__params[u->p];
		given = csb_args_given(st->a, u->p);
		st->a->set |= 1ull << u->p;
	} else if (g >= 0) {
		unsigned bit = g > GLOBAL_HELP ? GLOBAL_HELP : (unsigned)g;

		d = &globals[g];
		given = st->gset & (1u << bit);
		st->gset |= 1u << bit;
	} else if (st->group != NULL) {
		return fail(st, "%s: needs a subcommand first (%s)", st->group,
		            subcommands(st->group));
	} else if (st->c == NULL && len > 0 && any_param(name, len)) {
		return fail(st, "the cmdlet name must come before %.*s", (int)(dashes + len), tok);
	} else {
		return fail(st, "unknown %s %.*s", st->c != NULL ? "parameter" : "flag",
		            (int)(dashes + len), tok);
	}
	if (given)
		return fail(st, "%s is given more than once", d->shown);
	st->prev_switch = NULL;
	if (d->type == CSB__T_SWITCH) {
		if (v == NULL) {
			*FIELD(st->a, d, bool) = true;
			st->prev_switch = d->shown;
			return CSB_OK;
		}
	} else if (v == NULL) {
		if (*i + 1 >= argc || looks_like_flag(argv[*i + 1]))
			return fail(st, "%s needs a value", d->shown);
		v = argv[++*i];
	}
	if (*v == '\0' && d->type != CSB__T_TEXT && d->type != CSB__T_GROUPS)
		return fail(st, "%s needs a value", d->shown);
	return take_value(st, d, u != NULL ? u->flags : 0, v);
}

/* A word that is not a flag: the command's name (one or two words), else a stray value. */
static csb_err take_word(struct parse *st, const char *w)
{
	if (st->group != NULL) {
		for (int c = 1; c < CSB_CMD_COUNT; c++) {
			const csb__cmdlet *e = &csb__cmdlets[c];

			if (e->group != NULL && strcmp(e->group, st->group) == 0 &&
			    strcasecmp(e->word, w) == 0) {
				st->c = e;
				st->a->cmd = (csb_cmd)c;
				st->a->cmdlet = e->name;
				st->group = NULL;
				return CSB_OK;
			}
		}
		st->bad_cmdlet = true;
		return fail(st, "%s: unknown subcommand '%s' (%s)", st->group, w,
		            subcommands(st->group));
	}
	if (st->c != NULL) {
		if (st->prev_switch != NULL)
			return fail(st, "unexpected argument '%s' (%s is a switch and takes no value; "
			            "write %s:$false to turn it off)", w, st->prev_switch,
			            st->prev_switch);
		return fail(st, "unexpected argument '%s' (parameters are written -Name value)", w);
	}
	for (int c = 1; c < CSB_CMD_COUNT; c++) {
		const csb__cmdlet *e = &csb__cmdlets[c];

		if (e->group != NULL && strcasecmp(e->group, w) == 0) {
			st->group = e->group;
			return CSB_OK;
		}
		if (e->group == NULL && (strcasecmp(e->name, w) == 0 ||
		                         (e->alias != NULL && strcasecmp(e->alias, w) == 0))) {
			st->c = e;
			st->a->cmd = (csb_cmd)c;
			st->a->cmdlet = e->name;
			return CSB_OK;
		}
	}
	st->bad_cmdlet = true;
	return fail(st, "unknown cmdlet '%s' (csb --help lists them)", w);
}

/* --help, -Help, -?, -h: any spelling of the help flag, without a value. */
static bool is_help(const char *s)
{
	if (!looks_like_flag(s))
		return false;
	s += s[1] == '-' ? 2 : 1;
	return strcasecmp(s, "help") == 0 || strcmp(s, "?") == 0 || strcasecmp(s, "h") == 0;
}

/* Defaults, required parameters and the cmdlet's rules, once the whole line is read. */
static csb_err finish(struct parse *st)
{
	csb_args *a = st->a;
	const csb__cmdlet *c = st->c;
	const char *why;
	int g;

	for (size_t i = 0; i < c->nuses; i++) {
		const csb__use *u = &c->uses[i];
		const csb__param_def *d = &csb__params[u->p];

		if (csb_args_given(a, u->p))
			continue;
		if (u->flags & CSB__DEF)
			*FIELD(a, d, uint64_t) = u->def;
		if (!(u->flags & CSB__REQ) || a->help || a->version)
			continue;
		/* `--key K` was taken as the global TLS key (see take_flag()): say so. */
		g = find_global(d->kebab, strlen(d->kebab));
		if (g >= 0 && (st->gset & (1u << g)))
			return fail(st, "%s is required (--%s is the global TLS %s file; write %s "
			            "for the record's)", d->shown, d->kebab, d->kebab, d->shown);
		return fail(st, "%s is required", d->shown);
	}
	if (a->help || a->version || c->check == NULL || (why = c->check(a)) == NULL)
		return CSB_OK;
	return fail(st, "%s", why);
}

csb_err csb_args_parse(int argc, char **argv, csb_args *out, char *err, size_t errlen)
{
	struct parse st = {.a = out, .err = err, .errlen = errlen};
	const char *env;
	csb_err rv = CSB_OK;

	memset(out, 0, sizeof(*out));
	out->category = CSB_CAT_COUNT;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	/* With --help, a half-typed line still gets its help: errors after the command's
	 * name are not reported. */
	for (int i = 1; i < argc; i++)
		if (is_help(argv[i]))
			out->help = true;
	for (int i = 1; i < argc && rv == CSB_OK; i++) {
		if (looks_like_flag(argv[i]))
			rv = take_flag(&st, argc, argv, &i);
		else
			rv = take_word(&st, argv[i]);
	}
	if (rv != CSB_OK && !(out->help && !st.bad_cmdlet))
		return rv;
	if (out->help && err != NULL && errlen > 0)
		err[0] = '\0';
	if (out->cluster == NULL && (env = getenv("CSB_CLUSTER")) != NULL && *env != '\0') {
		out->cluster = env;
		out->cluster_from_env = true;
	}
	if (st.c == NULL) {
		if (out->help || out->version)
			return CSB_OK;
		if (st.group != NULL)
			return fail(&st, "%s: needs a subcommand (%s)", st.group,
			            subcommands(st.group));
		return fail(&st, "no cmdlet given (csb --help lists them)");
	}
	return finish(&st);
}

bool csb_args_given(const csb_args *a, csb_param p)
{
	return (unsigned)p < CSB_P_COUNT && (a->set & (1ull << p)) != 0;
}

const char *csb_args_param_name(csb_param p)
{
	return (unsigned)p < CSB_P_COUNT ? csb__params[p].shown : "-?";
}

/* Usage text. */

static void usage_cmdlet(FILE *f, const csb__cmdlet *c)
{
	char line[512];
	size_t col;
	bool defaults = false;

	if (c->alias != NULL)
		fprintf(f, "%s (%s): %s\n", c->name, c->alias, c->summary);
	else
		fprintf(f, "csb %s: %s\n", c->name, c->summary);
	col = (size_t)fprintf(f, "Usage: csb %s", c->name);
	for (size_t i = 0; i < c->nuses; i++) {
		const csb__use *u = &c->uses[i];
		const csb__param_def *d = &csb__params[u->p];
		bool opt = !(u->flags & CSB__REQ);

		snprintf(line, sizeof(line), " %s%s%s%s%s", opt ? "[" : "", d->shown,
		         d->meta != NULL ? " " : "", d->meta != NULL ? d->meta : "", opt ? "]" : "");
		if (col + strlen(line) > 80) {
			fputs("\n   ", f);
			col = 3;
		}
		fputs(line, f);
		col += strlen(line);
	}
	fputc('\n', f);
	for (size_t i = 0; i < c->nuses; i++) {
		const csb__use *u = &c->uses[i];
		const csb__param_def *d = &csb__params[u->p];

		if (!(u->flags & CSB__DEF))
			continue;
		fputs(defaults ? ", " : "Defaults: ", f);
		defaults = true;
		if (d->type == CSB__T_TIME)
			csb_duration_format(u->def, line, sizeof(line));
		else
			snprintf(line, sizeof(line), "%llu", (unsigned long long)u->def);
		fprintf(f, "%s %s", d->shown, line);
	}
	if (defaults)
		fputc('\n', f);
	if (c->group == NULL)
		fputs("Parameters may also be written --kebab-case (-PoolFqdn = --pool-fqdn);\n"
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
	fputs("\nGlobal flags (anywhere on the line):\n"
	      "  --cluster DIR        the local cluster's folder (default: $CSB_CLUSTER)\n"
	      "  --coordinator URL    the coordinator, with --cert F --key F --ca F, without a "
	      "cluster folder\n"
	      "  --as NAME            act as another principal (its certificate in the cluster "
	      "folder)\n"
	      "  --json               one JSON document on stdout\n"
	      "  --help               this text; csb <Cmdlet-Name> --help for one command\n"
	      "  --version            the version\n"
	      "\nExit codes: 0 done, 1 failed, 2 usage error, 3 access denied, 4 unreachable.\n",
	      f);
}
