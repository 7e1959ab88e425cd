/* Test-only record damage: rewrites one copy record with its last value byte flipped, in a
 * write transaction of its own — behind the cursor's back, or (csb_store_tamper_digest())
 * with the cursor's digest following the damage, as a bad apply would have left it. */
#include "storage/tamper.h"

#include <stdlib.h>
#include <string.h>

#include "storage/internal/store_internal.h"

struct tamper_ctx {
	const char *source, *module;
	const void *key;
	size_t key_len;
	bool digest; /* the cursor's digest follows */
};

/* Moves the cursor's digest from the record's old value to its new one. */
static csb_err follow_digest(csb__txn *t, struct tamper_ctx *c, const csb__rec *old,
                             const uint8_t *value)
{
	csb_cursor cur;
	csb_err rv;

	if ((rv = csb__cursor_get(t, c->source, c->module, &cur)) != CSB_OK)
		return rv;
	csb__digest_sub(&cur.digest, csb__record_digest(c->key, c->key_len, old->value,
	                                                old->value_len));
	csb__digest_add(&cur.digest, csb__record_digest(c->key, c->key_len, value, old->value_len));
	return csb__cursor_put(t, c->source, c->module, &cur);
}

static csb_err tamper_fn(csb__txn *t, void *ctx)
{
	struct tamper_ctx *c = ctx;
	char name[CSB__NAME_MAX];
	MDB_val k = {c->key_len, (void *)c->key}, v;
	MDB_dbi dbi;
	csb__rec r;
	uint8_t *copy;
	csb_err rv;

	csb__data_name(name, c->source, c->module);
	if ((rv = csb__write_dbi(t, name, false, &dbi)) != CSB_OK)
		return rv;
	if ((rv = csb__mdb_err(mdb_get(t->txn, dbi, &k, &v))) != CSB_OK ||
	    (rv = csb__rec_decode(&v, &r)) != CSB_OK)
		return rv;
	if (r.value_len == 0)
		return CSB_ENOTFOUND;
	if ((copy = malloc(r.value_len)) == NULL)
		return CSB_ENOMEM;
	memcpy(copy, r.value, r.value_len);
	copy[r.value_len - 1] ^= 0x01;
	if (c->digest && (rv = follow_digest(t, c, &r, copy)) != CSB_OK) {
		free(copy);
		return rv;
	}
	r.value = copy;
	rv = csb__rec_put(t->txn, dbi, c->key, c->key_len, &r);
	free(copy);
	return rv;
}

csb_err csb_store_tamper(csb_store *s, const char *source, const char *module, const void *key,
                         size_t key_len)
{
	struct tamper_ctx c = {source, module, key, key_len, false};

	if (s == NULL || !csb__name_ok(source) || !csb__name_ok(module) || !csb__key_ok(key, key_len))
		return CSB_EINVAL;
	return csb__write_run(s, false, tamper_fn, &c);
}

csb_err csb_store_tamper_digest(csb_store *s, const char *source, const char *module,
                                const void *key, size_t key_len)
{
	struct tamper_ctx c = {source, module, key, key_len, true};

	if (s == NULL || !csb__name_ok(source) || !csb__name_ok(module) || !csb__key_ok(key, key_len))
		return CSB_EINVAL;
	return csb__write_run(s, false, tamper_fn, &c);
}
