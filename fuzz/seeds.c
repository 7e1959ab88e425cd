/* Writes the seed corpora of fuzz/ (`make fuzz-seeds`: seeds DIR writes DIR/<target>/seed-*):
 * one message of every type with every field set, envelopes with and without a caller
 * assertion, one call of every agent method, topologies, a configuration ZIP, command lines
 * and raw store values. Seeds only need to be plausible: the fuzzers take it from there.
 * Deterministic but for the certificate in the envelope seed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/x509_crt.h>

#include "common/certs.h"
#include "fuzz/messages.h"
#include "model/bundle.h"

#define FIXED_NOW_MS 1795000000000ull /* fuzz_envelope checks assertions at this time */

static const char *out_dir;

static void write_seed(const char *target, const char *name, const void *data, size_t len)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out_dir, target);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/seed-%s", out_dir, target, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* ---- Messages with every field set ---------------------------------------------------- */

static const char *sample_string(const char *field)
{
	if (strstr(field, "module") || strstr(field, "identity"))
		return "UserServices.PresenceFocus";
	if (strstr(field, "pool") || strstr(field, "source") || strstr(field, "fqdn") ||
	    strstr(field, "audience") || strstr(field, "served") || strstr(field, "master"))
		return "pool01.csb.test";
	if (strstr(field, "method"))
		return "csb.Data/Write";
	if (strstr(field, "category"))
		return "UserData";
	return "x";
}

static ProtobufCMessage *filled(const ProtobufCMessageDescriptor *d, int depth);

static void fill_one(const ProtobufCFieldDescriptor *f, void *p, int depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32: *(uint32_t *)p = 7; break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: *(uint64_t *)p = 7; break;
	case PROTOBUF_C_TYPE_BOOL: *(protobuf_c_boolean *)p = 1; break;
	case PROTOBUF_C_TYPE_FLOAT: *(float *)p = 1.5f; break;
	case PROTOBUF_C_TYPE_DOUBLE: *(double *)p = 1.5; break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *e = f->descriptor;

		*(int *)p = e->values[e->n_values > 1 ? 1 : 0].value;
		break;
	}
	case PROTOBUF_C_TYPE_STRING: *(char **)p = strdup(sample_string(f->name)); break;
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = p;

		b->len = strstr(f->name, "lineage") ? 16 : 3;
		b->data = calloc(1, b->len);
		memcpy(b->data, "key", 3);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		*(ProtobufCMessage **)p = depth < 3 ? filled(f->descriptor, depth + 1) : NULL;
		break;
	}
}

static size_t field_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE: return 8;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
	default: return 4;
	}
}

/* A message of type d with every field set (repeated fields twice), nested 3 deep. The
 * tool exits after writing; nothing is freed. */
static ProtobufCMessage *filled(const ProtobufCMessageDescriptor *d, int depth)
{
	ProtobufCMessage *m = calloc(1, d->sizeof_message);

	d->message_init(m);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *member = (char *)m + f->offset;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t sz = field_size(f);
			char *arr = calloc(2, sz);

			fill_one(f, arr, depth);
			fill_one(f, arr + sz, depth);
			*(void **)member = arr;
			*(size_t *)((char *)m + f->quantifier_offset) = 2;
		} else {
			fill_one(f, member, depth);
			if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0)
				*(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
		}
	}
	return m;
}

/* The packed form of a filled message, with room for prefix bytes in front. */
static uint8_t *packed(const ProtobufCMessageDescriptor *d, const void *prefix, size_t plen,
                       size_t *len)
{
	ProtobufCMessage *m = filled(d, 0);
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(plen + n + 1);

	memcpy(buf, prefix, plen);
	*len = plen + protobuf_c_message_pack(m, buf + plen);
	return buf;
}

static void wire_seeds(void)
{
	for (size_t i = 0; i < FUZZ_MESSAGES; i++) {
		uint8_t sel = (uint8_t)i;
		size_t len;
		uint8_t *buf = packed(fuzz_messages[i], &sel, 1, &len);
		char name[64];

		snprintf(name, sizeof(name), "%s", fuzz_messages[i]->short_name);
		write_seed("fuzz_wire", name, buf, len);
		free(buf);
	}
}

/* ---- Envelopes and calls -------------------------------------------------------------- */

/* The DER of a certificate issued by a throwaway CA, for Envelope.auth. */
static void cert_der(ProtobufCBinaryData *out)
{
	char dir[] = "/tmp/csb-fuzz-seeds.XXXXXX", ca[64], cakey[64], crt[64], key[64];
	mbedtls_x509_crt c;

	if (mkdtemp(dir) == NULL)
		exit(1);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	snprintf(cakey, sizeof(cakey), "%s/ca.key", dir);
	snprintf(crt, sizeof(crt), "%s/admin.crt", dir);
	snprintf(key, sizeof(key), "%s/admin.key", dir);
	mbedtls_x509_crt_init(&c);
	if (csb_certs_make_ca(ca, cakey, "seed CA") != CSB_OK ||
	    csb_certs_issue(ca, cakey, "admin", crt, key) != CSB_OK ||
	    mbedtls_x509_crt_parse_file(&c, crt) != 0)
		exit(1);
	out->len = c.raw.len;
	out->data = malloc(c.raw.len);
	memcpy(out->data, c.raw.p, c.raw.len);
	mbedtls_x509_crt_free(&c);
	unlink(ca);
	unlink(cakey);
	unlink(crt);
	unlink(key);
	rmdir(dir);
}

static void envelope_seeds(void)
{
	Csb__Envelope e = CSB__ENVELOPE__INIT;
	Csb__Auth a = CSB__AUTH__INIT;
	uint8_t sig[72], *body, buf[8192];
	size_t body_len, len;

	memset(sig, 0x5a, sizeof(sig));
	body = packed(&csb__write_request__descriptor, "", 0, &body_len);
	e.method = "csb.Data/Write";
	e.request_id = 7;
	e.deadline_ms = 1000;
	e.body.data = body;
	e.body.len = body_len;
	len = protobuf_c_message_pack(&e.base, buf);
	write_seed("fuzz_envelope", "no-auth", buf, len);
	cert_der(&a.cert_der);
	a.audience = "pool01.csb.test";
	a.not_after_ms = FIXED_NOW_MS + 3600000;
	a.signature.data = sig;
	a.signature.len = sizeof(sig);
	e.auth = &a;
	len = protobuf_c_message_pack(&e.base, buf);
	write_seed("fuzz_envelope", "auth", buf, len);
	e.auth = NULL;
	e.body.len = 0;
	e.status = 3;
	e.error = "no such key in UserServices.PresenceFocus";
	len = protobuf_c_message_pack(&e.base, buf);
	write_seed("fuzz_envelope", "reply", buf, len);
	free(body);
}

static void rpc_seed(uint8_t caller, const char *method, const ProtobufCMessageDescriptor *d)
{
	uint8_t prefix[64], *buf;
	size_t plen = strlen(method) + 2, len;
	char name[80], *p;

	prefix[0] = caller;
	memcpy(prefix + 1, method, plen - 1); /* the method and its NUL */
	buf = packed(d, prefix, plen, &len);
	snprintf(name, sizeof(name), "%u-%s", caller, method + 4);
	for (p = name; *p; p++)
		if (*p == '/')
			*p = '-';
	write_seed("fuzz_rpc", name, buf, len);
	free(buf);
}

static void rpc_seeds(void)
{
	static const struct {
		const char *method;
		const ProtobufCMessageDescriptor *req;
		uint8_t caller; /* 0 the administrator, 1 the partner's agent, 2 a stranger */
	} calls[] = {
		{"csb.Data/Write", &csb__write_request__descriptor, 0},
		{"csb.Data/Write", &csb__write_request__descriptor, 2},
		{"csb.Data/Get", &csb__get_request__descriptor, 0},
		{"csb.Data/List", &csb__list_request__descriptor, 0},
		{"csb.Control/Status", &csb__status_request__descriptor, 0},
		{"csb.Control/SyncNow", &csb__sync_request__descriptor, 0},
		{"csb.Control/Verify", &csb__verify_request__descriptor, 0},
		{"csb.Control/Replica", &csb__replica_request__descriptor, 0},
		{"csb.Control/SeedReplica", &csb__seed_replica_request__descriptor, 0},
		{"csb.Sync/Pull", &csb__pull_request__descriptor, 1},
		{"csb.Sync/DigestRanges", &csb__digest_request__descriptor, 1},
		{"csb.Sync/Split", &csb__split_request__descriptor, 1},
		{"csb.Sync/RangeRead", &csb__range_read_request__descriptor, 1},
		{"csb.Sync/Pull", &csb__pull_request__descriptor, 0},
	};

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		rpc_seed(calls[i].caller, calls[i].method, calls[i].req);
}

/* ---- Topologies, a configuration ZIP, command lines ----------------------------------- */

static const char topology[] =
	"{\"sites\":[{\"name\":\"site1\"},{\"name\":\"site 2\"}],\n"
	" \"pools\":[\n"
	"  {\"fqdn\":\"pool01.csb.test\",\"site\":\"site1\",\"agent\":\"tls+tcp://127.0.0.1:7101\","
	"\"backup\":\"pool02.csb.test\",\"hostsCms\":true},\n"
	"  {\"fqdn\":\"POOL02.csb.test\",\"site\":\"site 2\",\"agent\":\"tls+tcp://10.0.0.2:7102\","
	"\"backup\":\"pool01.csb.test\",\"hostsCms\":false},\n"
	"  {\"fqdn\":\"pool03.csb.test\",\"site\":\"site1\",\"agent\":\"tls+tcp://[::1]:7103\","
	"\"backup\":null}],\n"
	" \"principals\":[{\"name\":\"admin\",\"groups\":[\"RTCUniversalServerAdmins\"]},\n"
	"  {\"name\":\"ops\",\"groups\":[\"Ops\",\"Readers \\u00e9\"]}]}";

static void topology_seeds(void)
{
	static const char asym[] =
		"{\"sites\":[{\"name\":\"s\"}],\"pools\":[{\"fqdn\":\"a.b\",\"site\":\"s\",\"agent\":"
		"\"tls+tcp://h:1\",\"backup\":\"c.d\"}]}";
	csb_topology *t = NULL;
	csb_backup_config c;
	uint8_t *zip;
	size_t len;
	char err[256];

	write_seed("fuzz_topology", "three-pools", topology, strlen(topology));
	write_seed("fuzz_topology", "asymmetric", asym, strlen(asym));
	write_seed("fuzz_topology", "empty-object", "{}", 2);
	if (csb_topology_parse(topology, strlen(topology), &t, err, sizeof(err)) != CSB_OK) {
		fprintf(stderr, "seeds: the topology seed is refused: %s\n", err);
		exit(1);
	}
	csb_config_defaults(&c);
	if (csb_bundle_write(t, &c, &zip, &len) != CSB_OK)
		exit(1);
	write_seed("fuzz_bundle", "three-pools", zip, len);
	free(zip);
	if (csb_bundle_write(NULL, &c, &zip, &len) != CSB_OK)
		exit(1);
	write_seed("fuzz_bundle", "no-topology", zip, len);
	free(zip);
	csb_topology_free(t);
}

static void args_seed(const char *name, const char *const argv[])
{
	char buf[1024];
	size_t len = 0;

	for (size_t i = 0; argv[i] != NULL; i++) {
		size_t n = strlen(argv[i]) + (argv[i + 1] != NULL);

		memcpy(buf + len, argv[i], n);
		len += n;
	}
	write_seed("fuzz_args", name, buf, len);
}

static void args_seeds(void)
{
	args_seed("backup", (const char *[]){"Backup-CsPool", "-PoolFqdn", "pool01.csb.test",
	                                     "-SteadyState", "-RetryCount", "3", "-WaitTime",
	                                     "00:00:05", "-Report", "/tmp/r.html", NULL});
	args_seed("status", (const char *[]){"status", "--pool-fqdn", "pool01.csb.test", "--json",
	                                     "-Category", "UserData", NULL});
	args_seed("set-config",
	          (const char *[]){"Set-CsBackupServiceConfiguration", "-Identity", "Global",
	                           "-SyncInterval", "00:00:30", "-AuthorizedUniversalGroups",
	                           "G1,G2", "-EnableRgsBackupService", "$true", "-WhatIf", NULL});
	args_seed("data-put", (const char *[]){"data", "put", "-PoolFqdn", "pool01.csb.test",
	                                       "-Module", "UserServices.PresenceFocus", "-Key:-k",
	                                       "-Value", "v", "-Direct", NULL});
	args_seed("data-load", (const char *[]){"data", "load", "-PoolFqdn", "pool02.csb.test",
	                                        "-Module", "ConfServices.DataConf", "-Count", "100",
	                                        "-UpdateFraction", "0.5", "-Seed", "9", NULL});
	args_seed("failover", (const char *[]){"Invoke-CsPoolFailover", "-PoolFqdn",
	                                       "pool01.csb.test", "-DisasterMode", "-WaitTime", "60",
	                                       "-ea", "Stop", "-Confirm:$false", NULL});
	args_seed("cluster", (const char *[]){"cluster", "up", "--dir", "/tmp/c", "--pools", "4",
	                                      "--base-port", "7000", NULL});
	args_seed("export", (const char *[]){"Export-CsConfiguration", "/tmp/c.zip", "-Force",
	                                     "--cluster", "/nonexistent", NULL});
	args_seed("help", (const char *[]){"Invoke-CsBackupServiceSync", "-?", NULL});
	args_seed("complete", (const char *[]){"__complete", "Backup-CsPool", "-Pool", NULL});
}

/* ---- Raw store values ----------------------------------------------------------------- */

static size_t le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return 8;
}

/* One entry of fuzz_store's input: kind, key length, key, value length (LE16), value. */
static size_t store_entry(uint8_t *out, uint8_t kind, const void *key, uint8_t klen,
                          const void *val, uint16_t vlen)
{
	size_t n = 0;

	out[n++] = kind;
	out[n++] = klen;
	memcpy(out + n, key, klen);
	n += klen;
	out[n++] = (uint8_t)vlen;
	out[n++] = (uint8_t)(vlen >> 8);
	memcpy(out + n, val, vlen);
	return n + vlen;
}

static void store_seeds(void)
{
	uint8_t buf[1024], rec[64], state[40] = {0}, cursor[56] = {0}, seq[8] = {0};
	size_t n = 0, r = 0;

	r += le64(rec, 1);         /* seq */
	r += le64(rec + r, 1000);  /* mtime */
	rec[r++] = 0;              /* flags: a live record */
	memcpy(rec + r, "value", 5);
	r += 5;
	seq[7] = 1;                /* log key: seq 1, big-endian */
	le64(state, 1);            /* high seq 1, horizon 0, count 1, digest 0 */
	le64(state + 16, 1);
	memset(cursor, 0x11, 16);  /* lineage, applied 1, count 1 */
	le64(cursor + 16, 1);
	le64(cursor + 24, 1);
	n += store_entry(buf + n, 0, "a", 1, rec, (uint16_t)r);
	n += store_entry(buf + n, 1, "a", 1, rec, (uint16_t)r);
	n += store_entry(buf + n, 2, seq, 8, "a", 1);
	n += store_entry(buf + n, 3, "s", 1, state, sizeof(state));
	n += store_entry(buf + n, 4, "c", 1, cursor, sizeof(cursor));
	write_seed("fuzz_store", "consistent", buf, n);
	rec[16] = 1; /* a tombstone that still carries a value */
	n = store_entry(buf, 0, "b", 1, rec, (uint16_t)r);
	write_seed("fuzz_store", "tombstone-with-value", buf, n);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: seeds DIR (writes DIR/<target>/seed-*)\n");
		return 2;
	}
	out_dir = argv[1];
	wire_seeds();
	envelope_seeds();
	rpc_seeds();
	topology_seeds();
	args_seeds();
	store_seeds();
	return 0;
}
