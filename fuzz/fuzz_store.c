/* What the store reads back from disk (storage/): the input is a set of raw stored values —
 * records of the pool's own module and of a backup copy, change-log entries, the module's
 * state and an import cursor — planted behind the store's back, as a damaged disk or an
 * offline edit would leave them. Every reader (get, list, scan, module info, changes,
 * cursor, digests, split), a write over them, an apply onto the copy and a prune must then
 * answer, with CSB_ECORRUPT where the bytes make no sense, and never crash. The planting is
 * test-only code on storage's internals (storage/internal/store_internal.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz/fuzz.h"
#include "storage/internal/store_internal.h"
#include "storage/store.h"

#define MODULE "m"
#define SOURCE "src"
#define ENTRIES_MAX 64

enum kind { K_DATA, K_COPY, K_LOG, K_STATE, K_CURSOR, K_KINDS };

struct entry {
	enum kind kind;
	const uint8_t *key, *val;
	size_t klen, vlen;
};

struct plant {
	struct entry e[ENTRIES_MAX];
	size_t n;
};

static csb_store *store;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	csb_store_opts o = {.no_sync = true};

	(void)argc;
	(void)argv;
	if (csb_store_open(fuzz_tmpdir("store"), &o, &store) != CSB_OK)
		abort();
	return 0;
}

/* Input: entries of [kind][key length][key][value length, 2 bytes LE][value]. */
static void parse(const uint8_t *d, size_t n, struct plant *p)
{
	size_t i = 0;

	p->n = 0;
	while (i + 4 <= n && p->n < ENTRIES_MAX) {
		struct entry *e = &p->e[p->n];

		e->kind = (enum kind)(d[i] % K_KINDS);
		e->klen = d[i + 1];
		i += 2;
		if (i + e->klen + 2 > n)
			break;
		e->key = d + i;
		i += e->klen;
		e->vlen = (size_t)d[i] | (size_t)d[i + 1] << 8;
		i += 2;
		if (e->vlen > n - i)
			e->vlen = n - i;
		e->val = d + i;
		i += e->vlen;
		if (e->klen > 0 && e->klen <= CSB_KEY_MAX)
			p->n++;
	}
}

static csb_err put(csb__txn *t, MDB_dbi dbi, const void *k, size_t kl, const void *v, size_t vl)
{
	MDB_val key = {kl, (void *)k}, val = {vl, (void *)v};

	return csb__mdb_err(mdb_put(t->txn, dbi, &key, &val, 0));
}

/* Empties the module, its copy, log, state and cursor, then writes the entries raw. */
static csb_err plant_fn(csb__txn *t, void *ctx)
{
	struct plant *p = ctx;
	char data[CSB__NAME_MAX], copy[CSB__NAME_MAX], log[CSB__NAME_MAX];
	static const char state_key[] = "module:" MODULE, cursor_key[] = SOURCE "\0" MODULE;
	MDB_val sk = {sizeof(state_key) - 1, (void *)state_key};
	MDB_val ck = {sizeof(cursor_key) - 1, (void *)cursor_key};
	MDB_dbi dd, cd, ld;
	uint8_t seq[8];
	csb_err rv;

	csb__data_name(data, NULL, MODULE);
	csb__data_name(copy, SOURCE, MODULE);
	csb__log_name(log, MODULE);
	if ((rv = csb__write_dbi(t, data, true, &dd)) != CSB_OK ||
	    (rv = csb__write_dbi(t, copy, true, &cd)) != CSB_OK ||
	    (rv = csb__write_dbi(t, log, true, &ld)) != CSB_OK)
		return rv;
	mdb_drop(t->txn, dd, 0);
	mdb_drop(t->txn, cd, 0);
	mdb_drop(t->txn, ld, 0);
	mdb_del(t->txn, t->s->meta_dbi, &sk, NULL);
	mdb_del(t->txn, t->s->cursor_dbi, &ck, NULL);
	for (size_t i = 0; i < p->n && rv == CSB_OK; i++) {
		const struct entry *e = &p->e[i];

		switch (e->kind) {
		case K_DATA: rv = put(t, dd, e->key, e->klen, e->val, e->vlen); break;
		case K_COPY: rv = put(t, cd, e->key, e->klen, e->val, e->vlen); break;
		case K_LOG:
			/* Log keys are 8-byte big-endian seqs; the value names a data key. */
			memset(seq, 0, sizeof(seq));
			memcpy(seq, e->key, e->klen < 8 ? e->klen : 8);
			rv = put(t, ld, seq, sizeof(seq), e->val, e->vlen);
			break;
		case K_STATE:
			rv = csb__mdb_err(mdb_put(t->txn, t->s->meta_dbi, &sk,
			                          &(MDB_val){e->vlen, (void *)e->val}, 0));
			break;
		case K_CURSOR:
			rv = csb__mdb_err(mdb_put(t->txn, t->s->cursor_dbi, &ck,
			                          &(MDB_val){e->vlen, (void *)e->val}, 0));
			break;
		default: break;
		}
	}
	return rv == CSB_ENOSPC || rv == CSB_EINVAL ? CSB_OK : rv;
}

static bool count_one(void *ctx, const csb_record *r)
{
	FUZZ_CHECK(r->key != NULL && r->key_len > 0);
	FUZZ_CHECK(r->tombstone ? r->value_len == 0 : (r->value != NULL || r->value_len == 0));
	(*(size_t *)ctx)++;
	return true;
}

/* Every answer a reader may give over damaged data: a csb_err of the store's contract. */
#define answer_ok(call)                                                                     \
	do {                                                                                    \
		csb_err rv_ = (call);                                                               \
		if (!(rv_ == CSB_OK || rv_ == CSB_ECORRUPT || rv_ == CSB_ENOTFOUND ||               \
		      rv_ == CSB_EINVAL || rv_ == CSB_ELOGGONE || rv_ == CSB_ELINEAGE ||            \
		      rv_ == CSB_ESEQ || rv_ == CSB_ENOMEM || rv_ == CSB_ETOOBIG)) {                \
			fprintf(stderr, "%s:%d: %s answered %s\n", __FILE__, __LINE__, #call,         \
			        csb_err_name(rv_));                                                  \
			abort();                                                                    \
		}                                                                                   \
	} while (0)

static void read_everything(const struct plant *p)
{
	const char *sources[] = {NULL, SOURCE};
	csb_record r;
	csb_module_info mi;
	csb_changes ch;
	csb_cursor cur;
	csb_range all = {0}, halves[2];
	csb_digest dg[2];
	uint64_t counts[2], pruned;
	csb_split sp;
	size_t n;
	uint8_t mid = 0x80;

	for (size_t i = 0; i < p->n; i++)
		for (int s = 0; s < 2; s++) {
			csb_err rv = csb_store_get(store, sources[s], MODULE, p->e[i].key, p->e[i].klen, &r);

			answer_ok(rv);
			if (rv == CSB_OK)
				csb_record_clear(&r);
		}
	for (int s = 0; s < 2; s++) {
		n = 0;
		answer_ok(csb_store_list(store, sources[s], MODULE, NULL, 0, NULL, 0, 0, count_one, &n));
		n = 0;
		answer_ok(csb_store_scan(store, sources[s], MODULE, &all, NULL, 0, 0, count_one, &n));
		answer_ok(csb_store_module_info(store, sources[s], MODULE, &mi));
		halves[0] = (csb_range){NULL, 0, &mid, 1};
		halves[1] = (csb_range){&mid, 1, NULL, 0};
		answer_ok(csb_store_digest_ranges(store, sources[s], MODULE, halves, 2, dg, counts));
		memset(&sp, 0, sizeof(sp));
		if (csb_store_digest_split(store, sources[s], MODULE, &all, 4, &sp) == CSB_OK)
			csb_split_clear(&sp);
	}
	memset(&ch, 0, sizeof(ch));
	if (csb_store_changes(store, MODULE, 0, 100, 1u << 20, &ch) == CSB_OK)
		csb_changes_clear(&ch);
	answer_ok(csb_store_cursor_get(store, SOURCE, MODULE, &cur));
	answer_ok(csb_store_prune(store, MODULE, 0, &pruned));
}

/* Writes over the planted records, and applies a batch onto the planted copy. */
static void write_over(const struct plant *p)
{
	csb_cursor cur;
	csb_batch_hdr hdr = {.after_seq = 0, .last_seq = 1};
	csb_record rec;
	csb_write w;

	for (size_t i = 0; i < p->n && i < 4; i++) {
		w = (csb_write){i % 2 ? CSB_OP_DELETE : CSB_OP_PUT, p->e[i].key, p->e[i].klen, "v", 1};
		answer_ok(csb_store_write(store, MODULE, &w, 1, NULL));
	}
	if (p->n == 0)
		return;
	if (csb_store_cursor_get(store, SOURCE, MODULE, &cur) == CSB_OK) {
		hdr.lineage = cur.lineage;
		hdr.after_seq = cur.applied_seq;
		hdr.last_seq = cur.applied_seq + 1;
	}
	rec = (csb_record){(uint8_t *)p->e[0].key, p->e[0].klen, (uint8_t *)"w", 1, hdr.last_seq,
	                   1, false};
	answer_ok(csb_store_apply(store, SOURCE, MODULE, &hdr, &rec, 1, &cur));
	hdr.reseed = true;
	answer_ok(csb_store_apply(store, SOURCE, MODULE, &hdr, &rec, 1, &cur));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plant p;

	parse(data, size, &p);
	if (csb__write_run(store, false, plant_fn, &p) != CSB_OK)
		return 0;
	read_everything(&p);
	write_over(&p);
	read_everything(&p);
	return 0;
}
