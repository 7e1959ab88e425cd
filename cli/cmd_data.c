/* The data plane (SPEC.md §5): `csb data put|get|delete|list|load`, through the Data service
 * of the pool's agent. -FromBackup reads the pool's backup copy, held by its backup pool's
 * agent. `data load` is a deterministic bulk generator: new keys load-<seed>-<n>, values
 * and the choice of new keys, updates and deletes from a PRNG seeded with -Seed; updates and
 * deletes pick among every record the module holds. */
#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/internal/cli.h"
#include "cli/internal/pool.h"
#include "cli/internal/progress.h"
#include "common/clock.h"
#include "common/values.h"
#include "proto/data.pb-c.h"
#include "proto/sync.pb-c.h"

#define DATA_TIMEOUT_MS 30000
#define REROUTE_MS 15000     /* a write refused as read-only is tried again this long */
#define VALUE_FILE_MAX (100u << 20) /* below the RPC message bound of 112 MiB */
#define LIST_PAGE 1000
#define SCAN_PAGE 10000
#define LOAD_BATCH 1000
#define LOAD_BATCH_BYTES (4u << 20)
#define LOAD_KEY_MAX 64      /* a generated key */
#define LOAD_KEY_BYTES 480   /* any key: the store's limit (storage/store.h) */

/* The reason of a failure into err (CSB_RPC_ERROR_MAX bytes), truncated if need be. */
static void say(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, CSB_RPC_ERROR_MAX, fmt, ap);
	va_end(ap);
}

/* ---- Writes and their routing ------------------------------------------------------ */

/* Where the pool's users' data is served: its own agent, or while it is failed over the
 * agent of the pool serving its users (*whose = the pool, for the request's pool field).
 * -Direct, or a coordinator that cannot be asked, goes to the pool's own agent. Asked once
 * per command. */
static pthread_mutex_t route_mu = PTHREAD_MUTEX_INITIALIZER;
static bool route_asked;
static char route_served_by[CLI_FQDN_BUF];
static bool route_final; /* the pool refuses writes for good (it needs a restore) */

/* Asks the coordinator where the pool's users are served (route_mu held). */
static void route_ask(struct cli *c)
{
	const char *pool = c->a->pool_fqdn;
	char err[CSB_RPC_ERROR_MAX];
	csb_pool_entry e;

	route_asked = true;
	route_served_by[0] = '\0';
	route_final = false;
	if (cli_pool_entry(c, pool, false, &e, err) != CSB_OK) {
		cli_verbose(c, "no route for %s's users: %s", pool, err);
		return;
	}
	route_final = e.state == CSB_POOL_NEEDS_RESTORE;
	if ((e.state == CSB_POOL_FAILED_OVER || e.state == CSB_POOL_FAILING_BACK) &&
	    strcasecmp(e.served_by, pool) != 0)
		snprintf(route_served_by, sizeof(route_served_by), "%s", e.served_by);
}

static void route(struct cli *c, char *agent, const char **whose)
{
	const char *pool = c->a->pool_fqdn;

	pthread_mutex_lock(&route_mu);
	if (!route_asked && !c->a->direct)
		route_ask(c);
	if (route_served_by[0] != '\0' && !c->a->direct) {
		snprintf(agent, CLI_FQDN_BUF, "%s", route_served_by);
		*whose = pool;
	} else {
		snprintf(agent, CLI_FQDN_BUF, "%s", pool);
		*whose = "";
	}
	pthread_mutex_unlock(&route_mu);
}

/* A write was refused as read-only where it went: the pool may have failed over or back
 * since the route was asked, be fenced for the milliseconds of a failover or failback, or
 * not have heard yet what the coordinator says. Asks again: true to try again (at once when
 * the route changed, else after a short wait); false when the refusal is final. */
static bool reroute(struct cli *c, const char *agent_was)
{
	char agent[CLI_FQDN_BUF];
	const char *whose;
	bool final;

	if (c->a->direct)
		return false;
	pthread_mutex_lock(&route_mu);
	route_ask(c);
	final = route_final;
	pthread_mutex_unlock(&route_mu);
	route(c, agent, &whose);
	if (strcasecmp(agent, agent_was) != 0)
		return true;
	if (!final)
		csb_sleep_ms(100);
	return !final;
}

/* Writes items (all or nothing) where the pool's users' data is served (route()). A pool
 * that is failed over is read-only at its own agent, which says where its users are. */
static csb_err write_items(struct cli *c, const char *module, Csb__WriteItem **items, size_t n,
                           Csb__WriteReply **out, char *err)
{
	Csb__WriteRequest wr = CSB__WRITE_REQUEST__INIT;
	char agent[CLI_FQDN_BUF];
	const char *whose;

	csb_err rv;

	wr.module = (char *)module;
	wr.n_items = n;
	wr.items = items;
	/* A failover or failback under way: its fence lasts milliseconds; ask again for up to
	 * REROUTE_MS before giving up with the last refusal. */
	for (uint64_t until = csb_mono_ms() + REROUTE_MS;;) {
		route(c, agent, &whose);
		wr.pool = (char *)whose;
		rv = cli_agent_call(c, agent, "csb.Data/Write", &wr.base, &csb__write_reply__descriptor,
		                    DATA_TIMEOUT_MS, (ProtobufCMessage **)out, err);
		if (rv != CSB_EREADONLY || csb_mono_ms() >= until || !reroute(c, agent))
			return rv;
	}
}

static int write_one(struct cli *c, Csb__WriteOp op, const void *value, size_t len)
{
	const csb_args *a = c->a;
	Csb__WriteItem it = CSB__WRITE_ITEM__INIT, *itp = &it;
	Csb__WriteReply *out = NULL;
	char err[CSB_RPC_ERROR_MAX];
	csb_err rv;

	it.op = op;
	it.key.data = (uint8_t *)a->key;
	it.key.len = strlen(a->key);
	it.value.data = (uint8_t *)value;
	it.value.len = len;
	if ((rv = write_items(c, a->module->name, &itp, 1, &out, err)) != CSB_OK)
		return cli_fail(c, rv, "%s", err);
	if (a->json) {
		json_t *doc = json_pack("{s:I}", "Seq", (json_int_t)out->last_seq);

		cli_print_json(doc, false);
		json_decref(doc);
	} else {
		printf("seq %" PRIu64 "\n", out->last_seq);
	}
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return CLI_OK;
}

static int put_cmd(struct cli *c)
{
	const csb_args *a = c->a;
	size_t len;
	char *buf;
	int rc;

	if (a->value_file == NULL)
		return write_one(c, CSB__WRITE_OP__WRITE_PUT, a->value, strlen(a->value));
	if ((buf = cli_read_file(a->value_file, VALUE_FILE_MAX, &len)) == NULL)
		return cli_fail(c, CSB_EINVAL, "cannot read %s: %s", a->value_file,
		                errno == EFBIG ? "larger than 100 MiB" : strerror(errno));
	rc = write_one(c, CSB__WRITE_OP__WRITE_PUT, buf, len);
	free(buf);
	return rc;
}

/* ---- Reads ---------------------------------------------------------------------------- */

/* Where a read goes: the pool's agent, or with -FromBackup its backup pool's agent, which
 * holds the pool's backup copy (source = the pool). */
static csb_err read_target(struct cli *c, char *agent_pool, const char **whose, char *err)
{
	bool hosts;
	csb_err rv;

	*whose = "";
	if (!c->a->from_backup) {
		route(c, agent_pool, whose);
		return CSB_OK;
	}
	if ((rv = cli_pool_topology(c, c->a->pool_fqdn, false, agent_pool, &hosts, err)) != CSB_OK)
		return rv;
	if (agent_pool[0] == '\0') {
		say(err, "%s has no backup pool, so no backup copy", c->a->pool_fqdn);
		return CSB_ENOTFOUND;
	}
	return CSB_OK;
}

/* A JSON string of bytes when they are UTF-8 without NULs, else NULL. */
static json_t *text_json(const uint8_t *p, size_t n)
{
	if (memchr(p, '\0', n) != NULL)
		return NULL;
	return json_stringn((const char *)p, n);
}

static void hex_into(char *out, size_t len, const uint8_t *p, size_t n)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && used + 3 <= len; i++)
		used += (size_t)snprintf(out + used, len - used, "%02x", p[i]);
}

/* Sets name (text) or name + "Hex" (hex) on o. */
static void set_bytes(json_t *o, const char *name, const uint8_t *p, size_t n)
{
	json_t *t = text_json(p, n);
	char hexname[32], *hex;

	if (t != NULL) {
		json_object_set_new(o, name, t);
		return;
	}
	snprintf(hexname, sizeof(hexname), "%sHex", name);
	if ((hex = malloc(n * 2 + 1)) == NULL)
		return;
	hex_into(hex, n * 2 + 1, p, n);
	json_object_set_new(o, hexname, json_string(hex));
	free(hex);
}

static int get_cmd(struct cli *c)
{
	const csb_args *a = c->a;
	Csb__GetRequest gr = CSB__GET_REQUEST__INIT;
	Csb__GetReply *out = NULL;
	char agent[CLI_FQDN_BUF], err[CSB_RPC_ERROR_MAX];
	const Csb__Record *r;
	const char *whose;
	csb_err rv;

	if ((rv = read_target(c, agent, &whose, err)) != CSB_OK)
		return cli_fail(c, rv, "%s", err);
	gr.pool = (char *)whose;
	gr.module = (char *)a->module->name;
	gr.key.data = (uint8_t *)a->key;
	gr.key.len = strlen(a->key);
	gr.from_backup = a->from_backup;
	gr.source = a->from_backup ? (char *)a->pool_fqdn : "";
	rv = cli_agent_call(c, agent, "csb.Data/Get", &gr.base, &csb__get_reply__descriptor,
	                    DATA_TIMEOUT_MS, (ProtobufCMessage **)&out, err);
	if (rv == CSB_ENOTFOUND && a->from_backup)
		return cli_fail(c, rv, "no key '%s' in %s of %s's backup copy at %s", a->key,
		                a->module->name, a->pool_fqdn, agent);
	if (rv == CSB_ENOTFOUND)
		return cli_fail(c, rv, "no key '%s' in %s of %s", a->key, a->module->name, a->pool_fqdn);
	if (rv != CSB_OK)
		return cli_fail(c, rv, "%s", err);
	if ((r = out->record) == NULL) {
		protobuf_c_message_free_unpacked(&out->base, NULL);
		return cli_fail(c, CSB_EPROTO, "the agent of %s answered without a record", agent);
	}
	if (a->json) {
		json_t *doc = json_object();

		set_bytes(doc, "Key", r->key.data, r->key.len);
		set_bytes(doc, "Value", r->value.data, r->value.len);
		json_object_set_new(doc, "Size", json_integer((json_int_t)r->value.len));
		json_object_set_new(doc, "Seq", json_integer((json_int_t)r->seq));
		json_object_set_new(doc, "MTimeMs", json_integer((json_int_t)r->mtime_ms));
		cli_print_json(doc, false);
		json_decref(doc);
	} else {
		/* The value's bytes as stored; a newline only for a person at a terminal. */
		fwrite(r->value.data, 1, r->value.len, stdout);
		if (isatty(STDOUT_FILENO) && (r->value.len == 0 || r->value.data[r->value.len - 1] != '\n'))
			putchar('\n');
	}
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return CLI_OK;
}

/* A key for a text line: as is when printable ASCII, else 0x and hex. */
static void print_key(const ProtobufCBinaryData *k)
{
	for (size_t i = 0; i < k->len; i++)
		if (k->data[i] < 0x21 || k->data[i] > 0x7e) {
			fputs("0x", stdout);
			for (size_t j = 0; j < k->len; j++)
				printf("%02x", k->data[j]);
			return;
		}
	fwrite(k->data, 1, k->len, stdout);
}

/* Pages through List with `after` until -Limit records or the end. */
static int list_cmd(struct cli *c)
{
	const csb_args *a = c->a;
	Csb__ListRequest lr = CSB__LIST_REQUEST__INIT;
	char agent[CLI_FQDN_BUF], err[CSB_RPC_ERROR_MAX];
	uint8_t *after = NULL;
	uint64_t listed = 0;
	json_t *arr = json_array();
	bool more = true;
	const char *whose;
	csb_err rv = CSB_OK;
	int rc = CLI_OK;

	if ((rv = read_target(c, agent, &whose, err)) != CSB_OK) {
		json_decref(arr);
		return cli_fail(c, rv, "%s", err);
	}
	lr.pool = (char *)whose;
	lr.module = (char *)a->module->name;
	lr.prefix.data = (uint8_t *)(a->prefix ? a->prefix : "");
	lr.prefix.len = a->prefix ? strlen(a->prefix) : 0;
	lr.from_backup = a->from_backup;
	lr.source = a->from_backup ? (char *)a->pool_fqdn : "";
	while (more && (a->limit == 0 || listed < a->limit)) {
		Csb__ListReply *out = NULL;
		uint64_t left = a->limit ? a->limit - listed : LIST_PAGE;

		lr.limit = (uint32_t)(left < LIST_PAGE ? left : LIST_PAGE);
		rv = cli_agent_call(c, agent, "csb.Data/List", &lr.base, &csb__list_reply__descriptor,
		                    DATA_TIMEOUT_MS, (ProtobufCMessage **)&out, err);
		if (rv != CSB_OK) {
			rc = cli_fail(c, rv, "%s", err);
			break;
		}
		for (size_t i = 0; i < out->n_records; i++) {
			const Csb__Record *r = out->records[i];

			if (a->json) {
				json_t *o = json_object();

				set_bytes(o, "Key", r->key.data, r->key.len);
				json_object_set_new(o, "Size", json_integer((json_int_t)r->value.len));
				json_object_set_new(o, "Seq", json_integer((json_int_t)r->seq));
				json_array_append_new(arr, o);
			} else {
				print_key(&r->key);
				printf("\t%zu\n", r->value.len);
			}
		}
		listed += out->n_records;
		more = out->more && out->n_records > 0;
		if (out->n_records > 0) {
			const ProtobufCBinaryData *k = &out->records[out->n_records - 1]->key;

			free(after);
			if ((after = malloc(k->len ? k->len : 1)) == NULL) {
				protobuf_c_message_free_unpacked(&out->base, NULL);
				rc = cli_fail(c, CSB_ENOMEM, "out of memory");
				break;
			}
			memcpy(after, k->data, k->len);
			lr.after.data = after;
			lr.after.len = k->len;
		}
		protobuf_c_message_free_unpacked(&out->base, NULL);
	}
	if (rc == CLI_OK && a->json)
		cli_print_json(arr, false);
	json_decref(arr);
	free(after);
	return rc;
}

/* ---- data load ------------------------------------------------------------------------ */

struct load {
	struct cli *c;
	char prefix[LOAD_KEY_MAX];  /* "load-<seed>-" */
	/* Every key the module holds (and, as they are written, this run's new ones), each
	 * stored in keys as a 2-byte length and its bytes; live[] holds their offsets. */
	uint8_t *keys;
	size_t keys_len, keys_cap;
	uint64_t *live;
	size_t n_live, cap_live;
	size_t sampled;             /* live[0..sampled) were updated in this round */
	uint64_t next;              /* the next new key's index */
	uint64_t rng;
	uint64_t written, updated, deleted, bytes;
};

static double unit(uint64_t *s)
{
	return (double)(csb_values_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

static bool live_add(struct load *l, const uint8_t *key, size_t len)
{
	if (len > LOAD_KEY_BYTES)
		return false;
	if (l->keys_len + 2 + len > l->keys_cap) {
		size_t cap = l->keys_cap ? l->keys_cap * 2 : 1u << 16;
		uint8_t *p;

		while (cap < l->keys_len + 2 + len)
			cap *= 2;
		if ((p = realloc(l->keys, cap)) == NULL)
			return false;
		l->keys = p;
		l->keys_cap = cap;
	}
	if (l->n_live == l->cap_live) {
		size_t cap = l->cap_live ? l->cap_live * 2 : 4096;
		uint64_t *p = realloc(l->live, cap * sizeof(*p));

		if (p == NULL)
			return false;
		l->live = p;
		l->cap_live = cap;
	}
	l->live[l->n_live++] = l->keys_len;
	l->keys[l->keys_len] = (uint8_t)(len >> 8);
	l->keys[l->keys_len + 1] = (uint8_t)len;
	memcpy(l->keys + l->keys_len + 2, key, len);
	l->keys_len += 2 + len;
	return true;
}

/* The key stored at offset off: its bytes (valid until the next live_add()) and length. */
static const uint8_t *live_key(const struct load *l, uint64_t off, size_t *len)
{
	*len = (size_t)l->keys[off] << 8 | l->keys[off + 1];
	return l->keys + off + 2;
}

/* A key of this seed's form ("load-<seed>-<digits>") continues the numbering after it. */
static void note_index(struct load *l, const uint8_t *key, size_t len)
{
	size_t plen = strlen(l->prefix);
	char digits[24], *end;
	uint64_t idx;

	if (len <= plen || len - plen >= sizeof(digits) || memcmp(key, l->prefix, plen) != 0)
		return;
	memcpy(digits, key + plen, len - plen);
	digits[len - plen] = '\0';
	idx = strtoull(digits, &end, 10);
	if (*end == '\0' && digits[0] >= '0' && digits[0] <= '9' && idx >= l->next)
		l->next = idx + 1;
}

/* Every key the module holds (SPEC.md §5: updates and deletes pick among all of them, not
 * only the generator's); new keys continue after this seed's highest. */
static csb_err scan_existing(struct load *l, char *err)
{
	const csb_args *a = l->c->a;
	Csb__ListRequest lr = CSB__LIST_REQUEST__INIT;
	uint8_t after[LOAD_KEY_BYTES];
	char agent[CLI_FQDN_BUF];
	const char *whose;
	bool more = true;
	csb_err rv;

	route(l->c, agent, &whose);
	lr.pool = (char *)whose;
	lr.module = (char *)a->module->name;
	lr.limit = SCAN_PAGE;
	while (more) {
		Csb__ListReply *out = NULL;

		rv = cli_agent_call(l->c, agent, "csb.Data/List", &lr.base,
		                    &csb__list_reply__descriptor, DATA_TIMEOUT_MS,
		                    (ProtobufCMessage **)&out, err);
		if (rv != CSB_OK)
			return rv;
		for (size_t i = 0; i < out->n_records; i++) {
			const ProtobufCBinaryData *k = &out->records[i]->key;

			if (!live_add(l, k->data, k->len)) {
				protobuf_c_message_free_unpacked(&out->base, NULL);
				say(err, "too many keys in %s to keep track of", a->module->name);
				return CSB_ENOMEM;
			}
			note_index(l, k->data, k->len);
		}
		more = out->more && out->n_records > 0;
		if (out->n_records > 0) {
			const ProtobufCBinaryData *k = &out->records[out->n_records - 1]->key;
			size_t n = k->len < sizeof(after) ? k->len : sizeof(after);

			memcpy(after, k->data, n);
			lr.after.data = after;
			lr.after.len = n;
		}
		protobuf_c_message_free_unpacked(&out->base, NULL);
	}
	return CSB_OK;
}

/* Updates pick live keys without replacement until all were picked once, then again, so
 * that N updates of a module holding at least N records rewrite N distinct records. */
static uint64_t pick_update(struct load *l)
{
	size_t j;
	uint64_t t;

	if (l->sampled >= l->n_live)
		l->sampled = 0;
	j = l->sampled + (size_t)(csb_values_next(&l->rng) % (l->n_live - l->sampled));
	t = l->live[j];
	l->live[j] = l->live[l->sampled];
	l->live[l->sampled] = t;
	return l->live[l->sampled++];
}

/* Deletes pick any live key; live[0..sampled) stays the set already updated this round. */
static uint64_t pick_delete(struct load *l)
{
	size_t j = (size_t)(csb_values_next(&l->rng) % l->n_live);
	uint64_t off = l->live[j];

	if (j < l->sampled) {
		l->live[j] = l->live[--l->sampled];
		j = l->sampled;
	}
	l->live[j] = l->live[--l->n_live];
	return off;
}

static void fill_value(struct load *l, uint8_t *v, size_t n)
{
	csb_value_kind kind = CSB_VALUE_RANDOM;

	csb_value_kind_parse(l->c->a->value_kind, &kind); /* checked by the parser */
	csb_values_fill(kind, &l->rng, v, n);
}

struct batch {
	Csb__WriteItem items[LOAD_BATCH];
	Csb__WriteItem *ptrs[LOAD_BATCH];
	uint8_t keys[LOAD_BATCH][LOAD_KEY_BYTES];
	uint8_t *values[LOAD_BATCH];
	size_t n, bytes;
};

static void batch_clear(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->values[i]);
	b->n = 0;
	b->bytes = 0;
}

/* Adds the next generated operation to b. */
static csb_err next_op(struct load *l, struct batch *b)
{
	const csb_args *a = l->c->a;
	Csb__WriteItem *it = &b->items[b->n];
	double r = unit(&l->rng);
	const uint8_t *key;
	size_t klen;
	bool del = false;

	csb__write_item__init(it);
	if (l->n_live > 0 && r < a->update_fraction) {
		key = live_key(l, pick_update(l), &klen);
		l->updated++;
	} else if (l->n_live > 0 && r < a->update_fraction + a->delete_fraction) {
		key = live_key(l, pick_delete(l), &klen);
		del = true;
	} else {
		char fresh[LOAD_KEY_MAX];

		klen = (size_t)snprintf(fresh, sizeof(fresh), "%s%010" PRIu64, l->prefix, l->next++);
		if (!live_add(l, (const uint8_t *)fresh, klen))
			return CSB_ENOMEM;
		key = live_key(l, l->live[l->n_live - 1], &klen);
	}
	memcpy(b->keys[b->n], key, klen);
	it->key.data = b->keys[b->n];
	it->key.len = klen;
	b->ptrs[b->n] = it;
	b->values[b->n] = NULL;
	if (del) {
		it->op = CSB__WRITE_OP__WRITE_DELETE;
		l->deleted++;
	} else {
		it->op = CSB__WRITE_OP__WRITE_PUT;
		if ((b->values[b->n] = malloc(a->value_size)) == NULL)
			return CSB_ENOMEM;
		fill_value(l, b->values[b->n], a->value_size);
		it->value.data = b->values[b->n];
		it->value.len = a->value_size;
		l->written++;
	}
	b->bytes += it->key.len + it->value.len;
	l->bytes += it->key.len + it->value.len;
	b->n++;
	return CSB_OK;
}

static int load_cmd(struct cli *c)
{
	const csb_args *a = c->a;
	struct load l = {.c = c};
	struct batch *b = calloc(1, sizeof(*b));
	char err[CSB_RPC_ERROR_MAX];
	uint64_t t0 = csb_mono_ms(), done = 0, millis;
	cli_progress bar;
	csb_err rv = CSB_OK;
	int rc = CLI_OK;

	if (b == NULL)
		return cli_fail(c, CSB_ENOMEM, "out of memory");
	snprintf(l.prefix, sizeof(l.prefix), "load-%" PRIu64 "-", a->seed);
	l.rng = a->seed ^ 0x6c6f6164ull; /* "load" */
	if ((rv = scan_existing(&l, err)) != CSB_OK) {
		rc = cli_fail(c, rv, "%s", err);
		goto out_free;
	}
	cli_progress_start(&bar, "data load", a->count);
	while (done < a->count && rv == CSB_OK) {
		Csb__WriteReply *out = NULL;

		while (done + b->n < a->count && b->n < LOAD_BATCH &&
		       (b->n == 0 || b->bytes + a->value_size <= LOAD_BATCH_BYTES) && rv == CSB_OK)
			rv = next_op(&l, b);
		if (rv != CSB_OK) {
			snprintf(err, sizeof(err), "out of memory");
			break;
		}
		rv = write_items(c, a->module->name, b->ptrs, b->n, &out, err);
		if (out != NULL)
			protobuf_c_message_free_unpacked(&out->base, NULL);
		if (rv == CSB_OK)
			done += b->n;
		batch_clear(b);
		cli_progress_update(&bar, done);
	}
	cli_progress_finish(&bar);
	if (rv != CSB_OK) {
		rc = cli_fail(c, rv, "%s (after %" PRIu64 " of %" PRIu64 " operations)", err, done,
		              a->count);
		goto out_free;
	}
	millis = csb_mono_ms() - t0;
	if (a->json) {
		json_t *doc = json_pack("{s:I, s:I, s:I, s:I}", "Written", (json_int_t)l.written,
		                        "Deleted", (json_int_t)l.deleted, "Bytes", (json_int_t)l.bytes,
		                        "Millis", (json_int_t)millis);

		cli_print_json(doc, false);
		json_decref(doc);
	} else {
		printf("Written %" PRIu64 ", deleted %" PRIu64 ", %" PRIu64 " bytes in %" PRIu64
		       " ms (%" PRIu64 " operations/s; %" PRIu64 " of the writes updated existing "
		       "records)\n",
		       l.written, l.deleted, l.bytes, millis,
		       millis ? (l.written + l.deleted) * 1000 / millis : 0, l.updated);
	}
out_free:
	batch_clear(b);
	free(b);
	free(l.live);
	free(l.keys);
	return rc;
}

/* ---- The quarantine ------------------------------------------------------------------- */

#define REAPPLY_BATCH 500

/* The agents that may hold P's sets: P's own, and its backup pool's (served data given up). */
static size_t holders(struct cli *c, char out[2][CLI_FQDN_BUF], char *err)
{
	Csb__PoolRequest pr = CSB__POOL_REQUEST__INIT;
	Csb__RelationshipReply *rel = NULL;
	size_t n = 0;

	snprintf(out[n++], CLI_FQDN_BUF, "%s", c->a->pool_fqdn);
	pr.pool_fqdn = (char *)c->a->pool_fqdn;
	if (cli_admin(c, "csb.Admin/GetRelationship", &pr.base, &csb__relationship_reply__descriptor,
	              10000, true, (ProtobufCMessage **)&rel, err) == CSB_OK) {
		if (rel->backup_pool_fqdn[0] != '\0')
			snprintf(out[n++], CLI_FQDN_BUF, "%s", rel->backup_pool_fqdn);
		protobuf_c_message_free_unpacked(&rel->base, NULL);
	}
	return n;
}

/* Writes a set's records back through where the pool's users are served. */
static csb_err reapply_set(struct cli *c, const Csb__OrphanSet *set, char *err)
{
	Csb__WriteItem *items = calloc(REAPPLY_BATCH, sizeof(*items)), *ptrs[REAPPLY_BATCH];
	csb_err rv = CSB_OK;

	if (items == NULL)
		return CSB_ENOMEM;
	for (size_t i = 0; i < set->n_records && rv == CSB_OK; i += REAPPLY_BATCH) {
		size_t n = set->n_records - i < REAPPLY_BATCH ? set->n_records - i : REAPPLY_BATCH;
		Csb__WriteReply *out = NULL;

		for (size_t k = 0; k < n; k++) {
			const Csb__Record *r = set->records[i + k];

			csb__write_item__init(&items[k]);
			items[k].op = r->tombstone ? CSB__WRITE_OP__WRITE_DELETE : CSB__WRITE_OP__WRITE_PUT;
			items[k].key = r->key;
			items[k].value = r->value;
			ptrs[k] = &items[k];
		}
		rv = write_items(c, c->a->module->name, ptrs, n, &out, err);
		if (out != NULL)
			protobuf_c_message_free_unpacked(&out->base, NULL);
	}
	free(items);
	return rv;
}

static json_t *set_json(const char *holder, const Csb__OrphanSet *set)
{
	json_t *recs = json_array();

	for (size_t i = 0; i < set->n_records; i++) {
		const Csb__Record *r = set->records[i];
		json_t *o = json_object();

		set_bytes(o, "Key", r->key.data, r->key.len);
		json_object_set_new(o, "Size", json_integer((json_int_t)r->value.len));
		json_object_set_new(o, "Seq", json_integer((json_int_t)r->seq));
		json_object_set_new(o, "Deleted", json_boolean(r->tombstone));
		json_array_append_new(recs, o);
	}
	return json_pack("{s:s, s:s, s:I, s:I, s:o}", "HeldBy", holder, "Set", set->name, "Epoch",
	                 (json_int_t)set->epoch, "Count", (json_int_t)set->count, "Records", recs);
}

static int orphans_cmd(struct cli *c)
{
	const csb_args *a = c->a;
	char who[2][CLI_FQDN_BUF], err[CSB_RPC_ERROR_MAX];
	size_t nh = holders(c, who, err), sets = 0;
	json_t *arr = json_array();
	int rc = CLI_OK;

	for (size_t h = 0; h < nh && rc == CLI_OK; h++) {
		Csb__OrphansRequest rq = CSB__ORPHANS_REQUEST__INIT;
		Csb__OrphansReply *out = NULL;
		csb_err rv;

		rq.pool = (char *)a->pool_fqdn;
		rq.module = (char *)a->module->name;
		rv = cli_agent_call(c, who[h], "csb.Data/Orphans", &rq.base,
		                    &csb__orphans_reply__descriptor, DATA_TIMEOUT_MS,
		                    (ProtobufCMessage **)&out, err);
		if (rv != CSB_OK) {
			rc = cli_fail(c, rv, "%s", err);
			break;
		}
		for (size_t i = 0; i < out->n_sets && rc == CLI_OK; i++) {
			const Csb__OrphanSet *set = out->sets[i];

			sets++;
			if (!a->reapply) {
				if (a->json) {
					json_array_append_new(arr, set_json(who[h], set));
					continue;
				}
				printf("%s holds %" PRIu64 " records of %s set aside at epoch %" PRIu64 "\n",
				       who[h], set->count, set->name, set->epoch);
				for (size_t k = 0; k < set->n_records; k++) {
					printf("  ");
					print_key(&set->records[k]->key);
					printf("\t%s\n", set->records[k]->tombstone ? "deleted" : "");
				}
				continue;
			}
			if (a->what_if) {
				printf("What if: would write back %" PRIu64 " records of %s set aside at epoch "
				       "%" PRIu64 " (held by %s) as %s's current data\n", set->count,
				       set->name, set->epoch, who[h], a->pool_fqdn);
				continue;
			}
			if (a->confirm && !cli_confirm(c, "Write back %" PRIu64 " records set aside at "
			                                  "epoch %" PRIu64 " (held by %s)?", set->count,
			                               set->epoch, who[h]))
				continue;
			if ((rv = reapply_set(c, set, err)) != CSB_OK) {
				rc = cli_fail(c, rv, "%s", err);
				break;
			}
			rq.drop_epoch = set->epoch;
			{
				Csb__OrphansReply *dropped = NULL;

				rv = cli_agent_call(c, who[h], "csb.Data/Orphans", &rq.base,
				                    &csb__orphans_reply__descriptor, DATA_TIMEOUT_MS,
				                    (ProtobufCMessage **)&dropped, err);
				if (dropped != NULL)
					protobuf_c_message_free_unpacked(&dropped->base, NULL);
			}
			rq.drop_epoch = 0;
			if (rv != CSB_OK) {
				rc = cli_fail(c, rv, "written back, but the set was not dropped: %s", err);
				break;
			}
			if (a->json)
				json_array_append_new(arr, set_json(who[h], set));
			else
				printf("Wrote back %" PRIu64 " records of %s set aside at epoch %" PRIu64
				       " (held by %s)\n", set->count, set->name, set->epoch, who[h]);
		}
		protobuf_c_message_free_unpacked(&out->base, NULL);
	}
	if (rc == CLI_OK && a->json)
		cli_print_json(arr, false);
	else if (rc == CLI_OK && sets == 0)
		printf("No records of %s of %s are set aside\n", a->module->name, a->pool_fqdn);
	json_decref(arr);
	return rc;
}

int cli_data_cmd(struct cli *c)
{
	switch (c->a->cmd) {
	case CSB_CMD_DATA_PUT: return put_cmd(c);
	case CSB_CMD_DATA_GET: return get_cmd(c);
	case CSB_CMD_DATA_DELETE: return write_one(c, CSB__WRITE_OP__WRITE_DELETE, "", 0);
	case CSB_CMD_DATA_LIST: return list_cmd(c);
	case CSB_CMD_DATA_LOAD: return load_cmd(c);
	case CSB_CMD_DATA_ORPHANS: return orphans_cmd(c);
	default: return cli_fail(c, CSB_EINTERNAL, "not a data command");
	}
}
