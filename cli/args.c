/* Parsing of the csb command line (cli/args.h), driven by the parameter and cmdlet tables
 * of cmdlets.c. Every usage error becomes one line `csb: <Cmdlet>: <what is wrong>` and
 * CSB_EINVAL, with a "did you mean" for a misspelled name; nothing here does I/O but
 * getenv. The usage text is in usage.c, bash completion in complete.c. */
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
#define NAME_MAX_LEN 64 /* longer names get no "did you mean" */

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

/* -ErrorAction and -WarningAction: one of the three values their table lists. */
static csb_err take_action(struct parse *st, const csb__param_def *d, const char *v)
{
	const char *const *names = d->off == offsetof(csb_args, error_action)
	                               ? csb__error_actions
	                               : csb__warning_actions;

	for (int i = 0; i < 3; i++) {
		if (strcasecmp(v, names[i]) != 0)
			continue;
		*FIELD(st->a, d, csb_action) = strcasecmp(v, "Stop") == 0       ? CSB_ACTION_STOP
		                               : strcasecmp(v, "Continue") == 0 ? CSB_ACTION_CONTINUE
		                                                                : CSB_ACTION_SILENT;
		return CSB_OK;
	}
	return fail(st, "%s: '%s' is not %s, %s or %s", d->shown, v, names[0], names[1],
	            names[2]);
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
		if (strcasecmp(v, "coordinator") == 0 || strcasecmp(v, "coordinator2") == 0) {
			strcpy(FIELD(st->a, d, char), strcasecmp(v, "coordinator") == 0 ? "coordinator"
			                                                                 : "coordinator2");
			return CSB_OK;
		}
		if (csb_fqdn_parse(v, FIELD(st->a, d, char), why, sizeof(why)) != CSB_OK)
			return fail(st, "%s: '%s' is neither coordinator, coordinator2 (the standby) nor "
			            "a pool FQDN (%s)", d->shown, v, why);
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
	case CSB__T_ACTION:
		return take_action(st, d, v);
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
	return strcmp(group, "data") == 0  ? "put, get, delete, list or load"
	       : strcmp(group, "pki") == 0 ? "init-ca, issue or show"
	                                   : "up, down, kill, start or issue-cert";
}

const csb__use *csb__use_find(const csb__cmdlet *c, const char *name, size_t len)
{
	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < c->nuses; i++) {
		const csb__param_def *d = &csb__params[c->uses[i].p];

		if (name_is(name, len, d->name) || name_is(name, len, d->kebab) ||
		    (d->alias != NULL && name_is(name, len, d->alias)))
			return &c->uses[i];
	}
	return NULL;
}

int csb__global_find(const char *name, size_t len)
{
	for (int i = 0; i < CSB__G_COUNT; i++) {
		const csb__param_def *d = &csb__globals[i];

		if (name_is(name, len, d->name) || name_is(name, len, d->kebab) ||
		    (d->alias != NULL && name_is(name, len, d->alias)))
			return i;
	}
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

/* name[0..len) against a refusal's name, without case and ignoring '-' (--as-xml). */
static bool refusal_is(const char *name, size_t len, const char *want)
{
	size_t i = 0;

	for (; *want != '\0'; want++, i++) {
		while (i < len && name[i] == '-')
			i++;
		if (i == len || tolower((unsigned char)name[i]) != tolower((unsigned char)*want))
			return false;
	}
	while (i < len && name[i] == '-')
		i++;
	return i == len;
}

static const csb__refusal *find_refusal(const csb__cmdlet *c, const char *name, size_t len)
{
	for (size_t i = 0; c != NULL && i < c->nrefusals; i++)
		if (refusal_is(name, len, c->refusals[i].name))
			return &c->refusals[i];
	for (size_t i = 0; i < csb__ncommon_refusals; i++)
		if (refusal_is(name, len, csb__common_refusals[i].name))
			return &csb__common_refusals[i];
	return NULL;
}

/* ---- "Did you mean ..." --------------------------------------------------------------- */

/* The optimal string alignment distance of a and b without case: edits, where swapping two
 * neighbours (PoolFdqn) is one. Both at most NAME_MAX_LEN bytes. */
static size_t distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t row[3][NAME_MAX_LEN + 1];

	for (size_t j = 0; j <= lb; j++)
		row[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t *cur = row[i % 3], *up = row[(i - 1) % 3], *up2 = row[(i + 1) % 3];
		int ca = tolower((unsigned char)a[i - 1]);

		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			int cb = tolower((unsigned char)b[j - 1]);
			size_t best = up[j - 1] + (ca != cb);

			if (up[j] + 1 < best)
				best = up[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && up2[j - 2] + 1 < best)
				best = up2[j - 2] + 1;
			cur[j] = best;
		}
	}
	return row[la % 3][lb];
}

/* The closest of the candidates offered one by one, if close enough to be a typo. */
struct suggest {
	const char *typed;
	size_t len;
	const char *best;
	size_t best_d;
	unsigned prefixes;   /* candidates the typed name is a prefix of */
	const char *prefix_of;
};

static void suggest_offer(struct suggest *sg, const char *cand)
{
	size_t lc = strlen(cand), d;

	if (sg->len == 0 || sg->len > NAME_MAX_LEN || lc > NAME_MAX_LEN)
		return;
	if (sg->len >= 3 && sg->len < lc && strncasecmp(cand, sg->typed, sg->len) == 0) {
		sg->prefixes++;
		sg->prefix_of = cand;
	}
	d = distance(sg->typed, sg->len, cand, lc);
	if (sg->best == NULL || d < sg->best_d) {
		sg->best = cand;
		sg->best_d = d;
	}
}

/* The suggestion, or NULL: one candidate the name begins, else the closest within 1 edit
 * for short names, 2 up to 10 characters and 3 beyond. */
static const char *suggest_pick(const struct suggest *sg)
{
	size_t most = sg->len <= 4 ? 1 : sg->len <= 10 ? 2 : 3;

	if (sg->prefixes == 1)
		return sg->prefix_of;
	return sg->best != NULL && sg->best_d <= most ? sg->best : NULL;
}

/* The parameter meant by a misspelled name, in the spelling typed (-Name or --kebab). */
static const char *suggest_param(const csb__cmdlet *c, const char *name, size_t len,
                                 bool kebab)
{
	struct suggest sg = {name, len, NULL, 0, 0, NULL};

	for (size_t i = 0; c != NULL && i < c->nuses; i++) {
		const csb__param_def *d = &csb__params[c->uses[i].p];

		suggest_offer(&sg, kebab || d->shown[1] == '-' ? d->kebab : d->name);
	}
	for (int g = 0; g < CSB__G_HELP_Q; g++)
		suggest_offer(&sg, kebab ? csb__globals[g].kebab : csb__globals[g].name);
	return suggest_pick(&sg);
}

static const char *suggest_cmdlet(const char *group, const char *w)
{
	struct suggest sg = {w, strlen(w), NULL, 0, 0, NULL};

	for (int c = 1; c < CSB_CMD_COUNT; c++) {
		const csb__cmdlet *e = &csb__cmdlets[c];

		if (group != NULL) {
			if (e->group != NULL && strcmp(e->group, group) == 0)
				suggest_offer(&sg, e->word);
		} else if (e->group == NULL) {
			suggest_offer(&sg, e->name);
			suggest_offer(&sg, e->alias);
		} else if (strcmp(e->word, "put") == 0 || strcmp(e->word, "up") == 0) {
			suggest_offer(&sg, e->group);
		}
	}
	return suggest_pick(&sg);
}

/* ---- Flags and words ------------------------------------------------------------------ */

/* An unknown flag: refused with its reason when documented elsewhere, else a usage error
 * with the closest name. */
static csb_err unknown_flag(struct parse *st, const char *tok, size_t dashes, size_t len)
{
	const char *name = tok + dashes, *hint;
	const csb__refusal *r = find_refusal(st->c, name, len);

	if (r != NULL)
		return fail(st, "-%s %s", r->name, r->why);
	if (st->group != NULL)
		return fail(st, "%s: needs a subcommand first (%s)", st->group,
		            subcommands(st->group));
	if (st->c == NULL && len > 0 && any_param(name, len))
		return fail(st, "the cmdlet name must come before %.*s", (int)(dashes + len), tok);
	hint = suggest_param(st->c, name, len, dashes == 2);
	if (hint != NULL)
		return fail(st, "unknown %s %.*s (did you mean %s%s?)",
		            st->c != NULL ? "parameter" : "flag", (int)(dashes + len), tok,
		            dashes == 2 ? "--" : "-", hint);
	return fail(st, "unknown %s %.*s", st->c != NULL ? "parameter" : "flag",
	            (int)(dashes + len), tok);
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
	const csb__use *u = csb__use_find(st->c, name, len);
	int g = csb__global_find(name, len);
	const csb__param_def *d;
	bool given;

	if (u != NULL && g >= 0 && dashes == 2)
		u = NULL; /* --key is the global TLS key; the record key is -Key */
	if (u != NULL) {
		d = &csb__params[u->p];
		given = csb_args_given(st->a, u->p);
		st->a->set |= 1ull << u->p;
	} else if (g >= 0) {
		unsigned bit = g > CSB__G_HELP ? CSB__G_HELP : (unsigned)g;

		d = &csb__globals[g];
		given = st->gset & (1u << bit);
		st->gset |= 1u << bit;
	} else {
		return unknown_flag(st, tok, dashes, len);
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

/* The cmdlet's positional parameter when it has one not given yet, else NULL. */
static const csb__use *positional(const struct parse *st)
{
	for (size_t i = 0; i < st->c->nuses; i++)
		if ((st->c->uses[i].flags & CSB__POS) && !csb_args_given(st->a, st->c->uses[i].p))
			return &st->c->uses[i];
	return NULL;
}

/* A word after the cmdlet's name: its positional parameter's value, else a stray word. */
static csb_err take_stray(struct parse *st, const char *w)
{
	const csb__use *u = positional(st);

	if (u != NULL) {
		st->a->set |= 1ull << u->p;
		st->prev_switch = NULL;
		return take_value(st, &csb__params[u->p], u->flags, w);
	}
	if (st->prev_switch != NULL)
		return fail(st, "unexpected argument '%s' (%s is a switch and takes no value; "
		            "write %s:$false to turn it off)", w, st->prev_switch, st->prev_switch);
	if (strchr(w, '.') != NULL && csb__use_find(st->c, "PoolFqdn", 8) != NULL &&
	    !csb_args_given(st->a, CSB_P_POOL_FQDN))
		return fail(st, "unexpected argument '%s' (-PoolFqdn is not positional: write "
		            "-PoolFqdn %s)", w, w);
	return fail(st, "unexpected argument '%s' (parameters are written -Name value)", w);
}

/* A word that is not a flag: the command's name (one or two words), else a value. */
static csb_err take_word(struct parse *st, const char *w)
{
	const char *hint;

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
		if ((hint = suggest_cmdlet(st->group, w)) != NULL)
			return fail(st, "%s: unknown subcommand '%s' (did you mean %s?)", st->group, w,
			            hint);
		return fail(st, "%s: unknown subcommand '%s' (%s)", st->group, w,
		            subcommands(st->group));
	}
	if (st->c != NULL)
		return take_stray(st, w);
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
	if ((hint = suggest_cmdlet(NULL, w)) != NULL)
		return fail(st, "unknown cmdlet '%s' (did you mean %s?)", w, hint);
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
		g = csb__global_find(d->kebab, strlen(d->kebab));
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
