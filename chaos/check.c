/* The history checker (notes/failover.md §4, I2 and I3): each writer is sequential and
 * owns its keys, so for every key the operations are totally ordered by invocation. After
 * convergence a key may hold only the result of its last acknowledged operation or of a
 * later one whose outcome is unknown; with no acknowledged operation, also nothing. Pure:
 * no I/O besides the report, so check_test.c can feed it histories. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos/chaos.h"

#define PAD_MIN 8
#define PAD_SPAN 120

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

size_t chaos_value(unsigned writer, uint64_t index, char buf[CHAOS_VALUE_MAX])
{
	uint64_t h = mix(((uint64_t)writer << 48) ^ index);
	int n = snprintf(buf, CHAOS_VALUE_MAX, "w%u.%" PRIu64 ":", writer, index);
	size_t len = (size_t)n, pad = PAD_MIN + h % PAD_SPAN;

	for (size_t i = 0; i < pad && len < CHAOS_VALUE_MAX; i++) {
		h = mix(h);
		buf[len++] = (char)('a' + h % 26);
	}
	return len;
}

bool chaos_value_parse(unsigned writer, const void *v, size_t len, uint64_t *index)
{
	char want[CHAOS_VALUE_MAX], head[32];
	const char *p = v, *colon = memchr(p, ':', len < 40 ? len : 40);
	unsigned w;
	uint64_t i;
	int used = 0;

	if (colon == NULL || (size_t)(colon - p) >= sizeof(head))
		return false;
	memcpy(head, p, (size_t)(colon - p));
	head[colon - p] = '\0';
	if (sscanf(head, "w%u.%" SCNu64 "%n", &w, &i, &used) != 2 || head[used] != '\0' ||
	    w != writer)
		return false;
	if (chaos_value(writer, i, want) != len || memcmp(want, v, len) != 0)
		return false;
	*index = i;
	return true;
}

static const char *outcome_name(uint8_t o)
{
	switch (o) {
	case CHAOS_OK: return "ok";
	case CHAOS_FAIL: return "fail";
	case CHAOS_UNKNOWN: return "unknown";
	default: return "pending";
	}
}

/* Per key: the last acknowledged op and the last unknown delete (-1: none). */
struct key_facts {
	int64_t last_ok;
	int64_t last_unknown_delete;
	bool written;
};

enum place_verdict { PLACE_FINE, PLACE_LOST, PLACE_RESURRECTED, PLACE_PHANTOM };

static enum place_verdict judge(const struct chaos_op *ops, size_t n, uint32_t key,
                                const struct key_facts *kf, const struct chaos_final *f)
{
	int64_t last = kf->last_ok;

	if (!f->present) {
		if (last < 0 || ops[last].kind == CHAOS_DELETE || kf->last_unknown_delete > last)
			return PLACE_FINE;
		return PLACE_LOST;
	}
	if (!f->valid || f->op >= n || ops[f->op].key != key || ops[f->op].kind != CHAOS_PUT ||
	    ops[f->op].outcome == CHAOS_FAIL || ops[f->op].outcome == CHAOS_PENDING)
		return PLACE_PHANTOM;
	if ((int64_t)f->op == last || ((int64_t)f->op > last && ops[f->op].outcome == CHAOS_UNKNOWN))
		return PLACE_FINE;
	return last >= 0 && ops[last].kind == CHAOS_DELETE ? PLACE_RESURRECTED : PLACE_LOST;
}

static void describe(FILE *report, unsigned writer, uint32_t key, const char *place,
                     const char *what, const struct chaos_op *ops, const struct key_facts *kf,
                     const struct chaos_final *f)
{
	int64_t last = kf->last_ok;

	if (report == NULL)
		return;
	fprintf(report, "chaos: %s: key w%u.k%" PRIu32 " at the %s holds ", what, writer, key, place);
	if (!f->present)
		fprintf(report, "nothing");
	else if (!f->valid)
		fprintf(report, "a value no writer wrote");
	else
		fprintf(report, "w%u.%" PRIu64 " (%s)", writer, f->op, outcome_name(ops[f->op].outcome));
	if (last < 0)
		fprintf(report, "; no operation on it was acknowledged\n");
	else
		fprintf(report, "; last acknowledged: %s w%u.%" PRId64 " at %" PRIu32 " ms\n",
		        ops[last].kind == CHAOS_PUT ? "put" : "delete", writer, last,
		        ops[last].done_ms);
}

static bool same(const struct chaos_final *a, const struct chaos_final *b)
{
	if (a->present != b->present)
		return false;
	if (!a->present)
		return true;
	return a->valid == b->valid && (!a->valid || a->op == b->op);
}

void chaos_check_writer(unsigned writer, const struct chaos_op *ops, size_t n,
                        const struct chaos_final *pool, const struct chaos_final *copy,
                        size_t n_keys, struct chaos_verdict *v, FILE *report)
{
	static const char *const names[] = {"fine", "lost", "resurrected", "phantom"};
	struct key_facts *kf = calloc(n_keys ? n_keys : 1, sizeof(*kf));

	if (kf == NULL) {
		v->lost += n_keys; /* cannot prove anything: count it against the run */
		return;
	}
	for (size_t k = 0; k < n_keys; k++)
		kf[k] = (struct key_facts){-1, -1, false};
	for (size_t i = 0; i < n; i++) {
		struct key_facts *f;

		if (ops[i].key >= n_keys)
			continue;
		f = &kf[ops[i].key];
		f->written = true;
		if (ops[i].outcome == CHAOS_OK)
			f->last_ok = (int64_t)i;
		else if (ops[i].outcome == CHAOS_UNKNOWN && ops[i].kind == CHAOS_DELETE)
			f->last_unknown_delete = (int64_t)i;
	}
	for (uint32_t k = 0; k < n_keys; k++) {
		enum place_verdict vp = judge(ops, n, k, &kf[k], &pool[k]);
		enum place_verdict vc = judge(ops, n, k, &kf[k], &copy[k]);
		enum place_verdict worst = vp > vc ? vp : vc;

		if (kf[k].written)
			v->keys++;
		if (vp != PLACE_FINE)
			describe(report, writer, k, "pool", names[vp], ops, &kf[k], &pool[k]);
		if (vc != PLACE_FINE)
			describe(report, writer, k, "backup copy", names[vc], ops, &kf[k], &copy[k]);
		if (worst == PLACE_LOST)
			v->lost++;
		else if (worst == PLACE_RESURRECTED)
			v->resurrected++;
		else if (worst == PLACE_PHANTOM)
			v->phantom++;
		if (!same(&pool[k], &copy[k])) {
			v->unequal++;
			describe(report, writer, k, "pool (copies differ)", "unequal", ops, &kf[k],
			         &pool[k]);
			describe(report, writer, k, "backup copy (copies differ)", "unequal", ops, &kf[k],
			         &copy[k]);
		}
	}
	free(kf);
}
