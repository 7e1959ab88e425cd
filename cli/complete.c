/* Bash completion (cli/args.h csb_args_complete(), called by contrib/csb.bash through
 * `csb __complete`): reads the words typed so far as the parser would, and offers what may
 * come next from the tables of cmdlets.c, with the cluster's pool FQDNs from its
 * cluster.json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "cli/args.h"
#include "cli/internal/cmdlets.h"
#include "common/modules.h"

/* What the words before the one being completed said. */
struct line {
	const csb__cmdlet *c;
	const char *group;       /* "data" / "cluster" named, its second word not yet */
	const char *cluster;     /* --cluster DIR */
	uint64_t given;          /* parameters of c given, (1 << csb_param) */
	const char *cur;         /* the word being completed */
};

static void offer(const struct line *l, FILE *f, const char *cand)
{
	if (cand != NULL && strncasecmp(cand, l->cur, strlen(l->cur)) == 0)
		fprintf(f, "%s\n", cand);
}

/* The pool FQDNs in the cluster folder's cluster.json. */
static void offer_pools(const struct line *l, FILE *f)
{
	const char *dir = l->cluster != NULL ? l->cluster : getenv("CSB_CLUSTER");
	char path[4096];
	json_t *cl, *p;
	size_t i;

	if (dir == NULL || *dir == '\0')
		return;
	snprintf(path, sizeof(path), "%s/cluster.json", dir);
	if ((cl = json_load_file(path, 0, NULL)) == NULL)
		return;
	json_array_foreach(json_object_get(cl, "pools"), i, p)
		offer(l, f, json_string_value(json_object_get(p, "fqdn")));
	json_decref(cl);
}

/* The values of parameter d (as the cmdlet takes it: flags). */
static void offer_values(const struct line *l, FILE *f, const csb__param_def *d,
                         unsigned flags)
{
	static const char *const categories[] = {"CMS", "UserData", "RGS"};

	if (d->type == CSB__T_TEXT && d->off != offsetof(csb_args, byte_input)) {
		bool dir = d->off == offsetof(csb_args, dir) || d->off == offsetof(csb_args, cluster);
		bool file = d->off == offsetof(csb_args, file_name) ||
		            d->off == offsetof(csb_args, report) ||
		            d->off == offsetof(csb_args, value_file) ||
		            d->off == offsetof(csb_args, backup_file_name) ||
		            d->off == offsetof(csb_args, tls_cert) ||
		            d->off == offsetof(csb_args, tls_key) || d->off == offsetof(csb_args, tls_ca);

		fputs(dir ? "dirs\n" : file ? "files\n" : "words\n", f);
		return;
	}
	fputs("words\n", f);
	switch (d->type) {
	case CSB__T_NODE:
		offer(l, f, "coordinator");
		/* fall through */
	case CSB__T_FQDN:
		if (flags & CSB__STDIN)
			offer(l, f, "-");
		offer_pools(l, f);
		break;
	case CSB__T_MODULE:
		for (size_t i = 0; i < CSB_MODULE_COUNT; i++)
			offer(l, f, csb_modules[i].name);
		break;
	case CSB__T_CATEGORY:
		for (size_t i = 0; i < 3; i++)
			offer(l, f, categories[i]);
		break;
	case CSB__T_IDENTITY:
		offer(l, f, "Global");
		break;
	case CSB__T_BOOL:
		offer(l, f, "$true");
		offer(l, f, "$false");
		break;
	case CSB__T_ACTION:
		for (size_t i = 0; i < 3; i++)
			offer(l, f, d->off == offsetof(csb_args, error_action) ? csb__error_actions[i]
			                                                       : csb__warning_actions[i]);
		break;
	case CSB__T_TEXT:
		offer(l, f, "-"); /* -ByteInput */
		break;
	default:
		break;
	}
}

/* Parameters the cmdlet was not given yet, then the global flags, in the spelling the word
 * being completed starts with. */
static void offer_flags(const struct line *l, FILE *f)
{
	bool kebab = strncmp(l->cur, "--", 2) == 0;
	char name[96];

	fputs("words\n", f);
	for (size_t i = 0; l->c != NULL && i < l->c->nuses; i++) {
		const csb__param_def *d = &csb__params[l->c->uses[i].p];

		if (l->given & (1ull << l->c->uses[i].p))
			continue;
		snprintf(name, sizeof(name), "--%s", d->kebab);
		offer(l, f, kebab ? name : d->shown);
	}
	for (int g = 0; g <= CSB__G_HELP; g++) {
		snprintf(name, sizeof(name), "--%s", csb__globals[g].kebab);
		offer(l, f, kebab ? name : csb__globals[g].shown);
	}
}

/* A word that is not a flag, before the one being completed. */
static void read_word(struct line *l, const char *w)
{
	if (l->c != NULL) {
		for (size_t i = 0; i < l->c->nuses; i++)
			if ((l->c->uses[i].flags & CSB__POS) && !(l->given & (1ull << l->c->uses[i].p))) {
				l->given |= 1ull << l->c->uses[i].p; /* its positional value */
				return;
			}
		return;
	}
	for (int c = 1; c < CSB_CMD_COUNT; c++) {
		const csb__cmdlet *e = &csb__cmdlets[c];

		if (l->group != NULL && e->group != NULL && strcmp(e->group, l->group) == 0 &&
		    strcasecmp(e->word, w) == 0) {
			l->c = e;
			return;
		}
		if (l->group == NULL && e->group != NULL && strcasecmp(e->group, w) == 0) {
			l->group = e->group;
			return;
		}
		if (l->group == NULL && e->group == NULL &&
		    (strcasecmp(e->name, w) == 0 || strcasecmp(e->alias, w) == 0)) {
			l->c = e;
			return;
		}
	}
}

static void offer_commands(const struct line *l, FILE *f)
{
	fputs("words\n", f);
	for (int c = 1; c < CSB_CMD_COUNT; c++) {
		const csb__cmdlet *e = &csb__cmdlets[c];

		if (l->group != NULL) {
			if (e->group != NULL && strcmp(e->group, l->group) == 0)
				offer(l, f, e->word);
		} else if (e->group == NULL) {
			offer(l, f, e->name);
			offer(l, f, e->alias);
		} else if (strcmp(e->word, "put") == 0 || strcmp(e->word, "up") == 0) {
			offer(l, f, e->group); /* once per group */
		}
	}
}

void csb_args_complete(int argc, char **argv, FILE *f)
{
	struct line l = {.cur = argc > 0 ? argv[argc - 1] : ""};

	for (int i = 0; i + 1 < argc; i++) {
		const char *w = argv[i], *name = w + (w[1] == '-' ? 2 : 1);
		size_t len = strcspn(name, ":=");
		const csb__use *u;
		const csb__param_def *d = NULL;
		int g;

		if (w[0] != '-' || w[1] == '\0') {
			read_word(&l, w);
			continue;
		}
		if ((u = csb__use_find(l.c, name, len)) != NULL) {
			d = &csb__params[u->p];
			l.given |= 1ull << u->p;
		} else if ((g = csb__global_find(name, len)) >= 0) {
			d = &csb__globals[g];
		}
		if (d == NULL || d->type == CSB__T_SWITCH || name[len] != '\0')
			continue; /* no value follows on its own */
		if (i + 2 == argc) {
			offer_values(&l, f, d, u != NULL ? u->flags : 0);
			return;
		}
		if (d == &csb__globals[CSB__G_CLUSTER])
			l.cluster = argv[i + 1];
		i++;
	}
	if (l.cur[0] == '-')
		offer_flags(&l, f);
	else if (l.c == NULL)
		offer_commands(&l, f);
	else {
		for (size_t i = 0; i < l.c->nuses; i++)
			if ((l.c->uses[i].flags & CSB__POS) && !(l.given & (1ull << l.c->uses[i].p))) {
				offer_values(&l, f, &csb__params[l.c->uses[i].p], l.c->uses[i].flags);
				return;
			}
		fputs("words\n", f);
	}
}
