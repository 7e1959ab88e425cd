/* The end of a chaos run: every node up (`csb cluster up`), every pool writable again,
 * Invoke-CsBackupServiceSync and Test-CsBackupData on every pool, every written module
 * steady (Get-CsBackupServiceStatus), then every key read back at its pool and from the
 * backup copy its partner holds, and the checker run on each writer's history. Each step
 * is retried, all of it within CONVERGE_MS; what never succeeds is "stuck" and fails the
 * run. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chaos/chaos.h"
#include "common/clock.h"
#include "proto/data.pb-c.h"

#define STEP_TRIES 60
#define STEP_PAUSE_MS 1000
#define CSB_TIMEOUT_MS 120000
#define CONVERGE_MS (10 * 60 * 1000) /* all of it: past this, whatever is left is stuck */
#define LIST_LIMIT 10000
#define OUT_MAX (64u << 10)

static const char *const written_modules[] = {"UserServices.PresenceFocus",
                                              "ConfServices.DataConf"};

static uint64_t converge_until;

/* What a command may take: its bound, or what is left of the convergence's. */
static uint32_t budget(void)
{
	uint64_t now = csb_mono_ms(), left = now < converge_until ? converge_until - now : 0;

	return left < CSB_TIMEOUT_MS ? (uint32_t)left : CSB_TIMEOUT_MS;
}

static bool time_left(void)
{
	return budget() > 0;
}

static unsigned partner_of(unsigned k)
{
	return k % 2 == 1 ? k + 1 : k - 1;
}

/* Runs `csb <cmdlet> -PoolFqdn <pool> [json]` until it exits 0, at most STEP_TRIES
 * times. Returns the tries it took, 0 when it never succeeded (the last output is
 * printed). out receives the last output. */
static unsigned until_ok(struct chaos_run *r, const char *cmdlet, unsigned k, bool json,
                         char *out)
{
	int code = -1;

	for (unsigned t = 1; t <= STEP_TRIES && time_left(); t++) {
		code = json ? chaos_csb(r, out, OUT_MAX, budget(), cmdlet, "-PoolFqdn", chaos_pool(k),
		                        "--json", NULL)
		            : chaos_csb(r, out, OUT_MAX, budget(), cmdlet, "-PoolFqdn", chaos_pool(k),
		                        NULL);
		if (code == 0)
			return t;
		csb_sleep_ms(STEP_PAUSE_MS);
	}
	fprintf(stderr, "chaos: %s -PoolFqdn %s still fails (exit %d):\n%s", cmdlet, chaos_pool(k),
	        code, out);
	return 0;
}

/* A write to every pool succeeds again: nobody is left read-only. */
static bool probe_writes(struct chaos_run *r)
{
	for (unsigned k = 1; k <= CHAOS_POOLS; k++) {
		csb_rpc_client *c = chaos_client(r, k);
		Csb__WriteItem it = CSB__WRITE_ITEM__INIT, *itp = &it;
		Csb__WriteRequest wr = CSB__WRITE_REQUEST__INIT;
		char err[CSB_RPC_ERROR_MAX] = "";
		csb_err rv = CSB_EUNREACH;

		it.key.data = (uint8_t *)"probe";
		it.key.len = 5;
		it.value.data = (uint8_t *)"writable";
		it.value.len = 8;
		wr.module = (char *)written_modules[0];
		wr.items = &itp;
		wr.n_items = 1;
		for (unsigned t = 0; c != NULL && t < STEP_TRIES && rv != CSB_OK && time_left(); t++) {
			ProtobufCMessage *out = NULL;

			if ((rv = csb_rpc_call_msg(c, "csb.Data/Write", &wr.base,
			                           &csb__write_reply__descriptor, 5000, &out, err)) != CSB_OK)
				csb_sleep_ms(STEP_PAUSE_MS);
			if (out != NULL)
				protobuf_c_message_free_unpacked(out, NULL);
		}
		chaos_client_leave(c);
		if (rv != CSB_OK) {
			fprintf(stderr, "chaos: %s stays unwritable: %s %s\n", chaos_pool(k),
			        csb_err_name(rv), err);
			return false;
		}
	}
	return true;
}

static const char *field(json_t *row, const char *name)
{
	const char *s = json_string_value(json_object_get(row, name));

	return s ? s : "null";
}

/* Every written module of pool k: exported and imported, nothing lagging, no error. */
static bool steady(struct chaos_run *r, unsigned k, char *out, bool last)
{
	json_t *doc, *rows, *row;
	bool ok = true;
	size_t i;

	if (chaos_csb(r, out, OUT_MAX, budget(), "Get-CsBackupServiceStatus", "-PoolFqdn",
	              chaos_pool(k), "--json", NULL) != 0 ||
	    (doc = json_loads(out, 0, NULL)) == NULL)
		return false;
	rows = json_object_get(doc, "BackupModules");
	json_array_foreach(rows, i, row) {
		const char *id = field(row, "Identity");

		if (strcmp(id, written_modules[0]) != 0 && strcmp(id, written_modules[1]) != 0)
			continue;
		if (strcmp(field(row, "ExportStatus"), "SteadyState") != 0 ||
		    strcmp(field(row, "ImportStatus"), "NormalState") != 0 ||
		    json_integer_value(json_object_get(row, "LagRecords")) != 0 ||
		    !json_is_null(json_object_get(row, "LastError"))) {
			if (last)
				fprintf(stderr, "chaos: %s %s: export %s, import %s, lag %" JSON_INTEGER_FORMAT
				        " records, last error %s\n", chaos_pool(k), id,
				        field(row, "ExportStatus"), field(row, "ImportStatus"),
				        json_integer_value(json_object_get(row, "LagRecords")),
				        field(row, "LastError"));
			ok = false;
		}
	}
	json_decref(doc);
	return ok;
}

struct finals {
	struct chaos_final *pool[CHAOS_WRITERS_MAX];
	struct chaos_final *copy[CHAOS_WRITERS_MAX];
	size_t strays; /* records no writer of this (pool, module) could have written */
};

/* Records one read record into the finals of its writer. */
static void place(struct chaos_run *r, struct finals *f, unsigned k, const char *module,
                  bool from_copy, const Csb__Record *rec)
{
	char key[64];
	unsigned w, kk;
	int used = 0;
	struct chaos_final *fin;

	if (rec->key.len >= sizeof(key))
		goto stray;
	memcpy(key, rec->key.data, rec->key.len);
	key[rec->key.len] = '\0';
	if (strcmp(key, "probe") == 0)
		return;
	if (sscanf(key, "w%u.k%u%n", &w, &kk, &used) != 2 || key[used] != '\0' ||
	    w >= r->n_writers || kk >= r->keys || r->writers[w].pool != k ||
	    strcmp(r->writers[w].module, module) != 0)
		goto stray;
	fin = from_copy ? &f->copy[w][kk] : &f->pool[w][kk];
	fin->present = true;
	fin->valid = chaos_value_parse(w, rec->value.data, rec->value.len, &fin->op);
	return;
stray:
	f->strays++;
	fprintf(stderr, "chaos: phantom: %s %s%s holds a record no writer wrote (key %.*s)\n",
	        chaos_pool(k), module, from_copy ? " (backup copy)" : "", (int)rec->key.len,
	        (const char *)rec->key.data);
}

/* Lists module of pool k: its own records (from pool k) or the backup copy its partner
 * holds. */
static bool read_module(struct chaos_run *r, struct finals *f, unsigned k, const char *module,
                        bool from_copy)
{
	csb_rpc_client *c = chaos_client(r, from_copy ? partner_of(k) : k);
	Csb__ListRequest lr = CSB__LIST_REQUEST__INIT;
	uint8_t after[64];
	bool more = true, ok = c != NULL;

	lr.module = (char *)module;
	lr.limit = LIST_LIMIT;
	lr.from_backup = from_copy;
	lr.source = from_copy ? (char *)chaos_pool(k) : "";
	while (ok && more) {
		Csb__ListReply *out = NULL;
		char err[CSB_RPC_ERROR_MAX] = "";
		csb_err rv = csb_rpc_call_msg(c, "csb.Data/List", &lr.base, &csb__list_reply__descriptor,
		                              30000, (ProtobufCMessage **)&out, err);

		if (rv != CSB_OK) {
			fprintf(stderr, "chaos: listing %s %s failed: %s %s\n", chaos_pool(k), module,
			        csb_err_name(rv), err);
			ok = false;
			break;
		}
		for (size_t i = 0; i < out->n_records; i++)
			place(r, f, k, module, from_copy, out->records[i]);
		more = out->more && out->n_records > 0;
		if (more) {
			const Csb__Record *last = out->records[out->n_records - 1];

			if (last->key.len > sizeof(after)) {
				ok = false;
			} else {
				memcpy(after, last->key.data, last->key.len);
				lr.after.data = after;
				lr.after.len = last->key.len;
			}
		}
		protobuf_c_message_free_unpacked(&out->base, NULL);
	}
	chaos_client_leave(c);
	return ok;
}

static bool read_and_check(struct chaos_run *r, struct chaos_verdict *v)
{
	struct finals f = {0};
	bool ok = true;

	for (unsigned w = 0; w < r->n_writers && ok; w++) {
		f.pool[w] = calloc(r->keys, sizeof(struct chaos_final));
		f.copy[w] = calloc(r->keys, sizeof(struct chaos_final));
		ok = f.pool[w] != NULL && f.copy[w] != NULL;
	}
	for (unsigned k = 1; ok && k <= CHAOS_POOLS; k++)
		for (unsigned m = 0; ok && m < 2; m++)
			ok = read_module(r, &f, k, written_modules[m], false) &&
			     read_module(r, &f, k, written_modules[m], true);
	for (unsigned w = 0; ok && w < r->n_writers; w++)
		chaos_check_writer(w, r->writers[w].ops, r->writers[w].n_ops, f.pool[w], f.copy[w],
		                   r->keys, v, stderr);
	v->phantom += f.strays;
	for (unsigned w = 0; w < r->n_writers; w++) {
		free(f.pool[w]);
		free(f.copy[w]);
	}
	return ok;
}

bool chaos_converge_and_check(struct chaos_run *r, struct chaos_verdict *v)
{
	char *out = malloc(OUT_MAX);
	unsigned tries[3] = {0};
	bool ok = out != NULL;
	int code;

	converge_until = csb_mono_ms() + CONVERGE_MS;
	if (ok && (code = chaos_csb(r, out, OUT_MAX, budget(), "cluster", "up", "--dir", r->dir,
	                            NULL)) != 0) {
		fprintf(stderr, "chaos: cluster up after the faults failed (exit %d):\n%s", code, out);
		ok = false;
	}
	/* Every pool home: a failover or failback that a fault cut short is finished. */
	for (unsigned k = 1; ok && k <= CHAOS_POOLS; k++) {
		if (chaos_csb(r, out, OUT_MAX, budget(), "Get-CsPoolState", "-PoolFqdn", chaos_pool(k),
		              NULL) == 0 && strstr(out, ": Normal (") != NULL)
			continue;
		if (strstr(out, ": FailingOver (") != NULL)
			ok = until_ok(r, "Invoke-CsPoolFailover", k, false, out) != 0;
		ok = ok && until_ok(r, "Invoke-CsPoolFailback", k, false, out) != 0;
	}
	ok = ok && probe_writes(r);
	for (unsigned k = 1; ok && k <= CHAOS_POOLS; k++) {
		unsigned ts = until_ok(r, "Invoke-CsBackupServiceSync", k, false, out);
		unsigned tv = ts ? until_ok(r, "Test-CsBackupData", k, false, out) : 0;

		tries[0] += ts;
		tries[1] += tv;
		ok = ts != 0 && tv != 0;
	}
	for (unsigned k = 1; ok && k <= CHAOS_POOLS; k++) {
		bool st = false;
		unsigned t;

		for (t = 1; t <= STEP_TRIES && time_left() &&
		            !(st = steady(r, k, out, t == STEP_TRIES || budget() < 2 * STEP_PAUSE_MS));
		     t++)
			csb_sleep_ms(STEP_PAUSE_MS);
		tries[2] += t;
		ok = st;
	}
	if (ok)
		printf("convergence: sync %u, verify %u and steady %u tries for %d pools\n", tries[0],
		       tries[1], tries[2], CHAOS_POOLS);
	else
		printf("convergence: STUCK (see above; bounded by %d s)\n", CONVERGE_MS / 1000);
	ok = ok && read_and_check(r, v);
	ok = ok && v->lost == 0 && v->resurrected == 0 && v->phantom == 0 && v->unequal == 0;
	ok = ok && atomic_load(&r->start_givenup) == 0 && chaos_proc_unexpected_exits() == 0;
	ok = ok && chaos_stalled_writers(r) == 0;
	free(out);
	return ok;
}
