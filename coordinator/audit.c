/* coord__audit_wrap(): one log line per Admin call (coordinator/internal/audit.h). The
 * wrapper runs the method's own rule and handler and logs what they decided: a typed
 * method's decoded request names the target; a raw one's body is decoded a second time, and
 * only for the methods that name a pool. */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/wire.h"
#include "coordinator/internal/audit.h"
#include "proto/admin.pb-c.h"
#include "proto/failover.pb-c.h"

struct audited {
	csb_rpc_method inner;
};

static struct audited table[COORD_AUDIT_MAX];
static size_t n_table;

/* What each method acts on: a pool named in its request (desc), or a fixed object. */
static const struct {
	const char *method;
	const ProtobufCMessageDescriptor *desc;
	const char *target;
} targets[] = {
	{"csb.Admin/GetRelationship", &csb__pool_request__descriptor, NULL},
	{"csb.Admin/GetPoolStatus", &csb__pool_request__descriptor, NULL},
	{"csb.Admin/Sync", &csb__pool_request__descriptor, NULL},
	{"csb.Admin/Verify", &csb__pool_request__descriptor, NULL},
	{"csb.Admin/GetPoolState", &csb__pool_request__descriptor, NULL},
	{"csb.Admin/ReportLostStore", &csb__lost_store_report__descriptor, NULL},
	{"csb.Admin/Failover", &csb__failover_request__descriptor, NULL},
	{"csb.Admin/PublishTopology", NULL, "topology"},
	{"csb.Admin/GetTopology", NULL, "topology"},
	{"csb.Admin/GetConfig", NULL, "Global"},
	{"csb.Admin/SetConfig", NULL, "Global"},
	{"csb.Admin/ResetConfig", NULL, "Global"},
	{"csb.Admin/ExportConfig", NULL, "configuration"},
	{"csb.Admin/ImportConfig", NULL, "configuration"},
	{"csb.Admin/GetAllStatus", NULL, "all pools"},
	{"csb.Admin/GetCmsStatus", NULL, "CMS"},
	{"csb.Admin/ReplicateCms", NULL, "CMS"},
	{"csb.Admin/CmsFailover", NULL, "CMS"},
	{"csb.Admin/CmsHandover", NULL, "CMS"},
	{"csb.Admin/CmsStandby", NULL, "CMS"},
};

/* The string field name of msg, or NULL when it has none or it is empty. */
static const char *string_field(const ProtobufCMessage *msg, const char *name)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
	const char *s;

	if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
		return NULL;
	s = *(const char *const *)((const char *)msg + f->offset);
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* The target from an already decoded request (msg may be NULL: a fixed object only). */
static void target_of(const char *method, const ProtobufCMessage *msg, char *out, char *module,
                      size_t len)
{
	const char *s;

	snprintf(out, len, "-");
	module[0] = '\0';
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		if (strcmp(targets[i].method, method) != 0)
			continue;
		if (targets[i].desc == NULL) {
			snprintf(out, len, "%s", targets[i].target);
			return;
		}
		if (msg == NULL)
			return;
		if ((s = string_field(msg, "pool_fqdn")) != NULL)
			snprintf(out, len, "%s", s);
		if ((s = string_field(msg, "module")) != NULL)
			snprintf(module, len, "%s", s);
		return;
	}
}

void coord__audit_target(const char *method, const uint8_t *body, size_t body_len, char *out,
                         char *module, size_t len)
{
	ProtobufCMessage *msg = NULL;
	char why[CSB_RPC_ERROR_MAX];

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		if (strcmp(targets[i].method, method) == 0 && targets[i].desc != NULL &&
		    csb_wire_unpack(targets[i].desc, body, body_len, &msg, why, sizeof(why)) != CSB_OK)
			msg = NULL;
	target_of(method, msg, out, module, len);
	if (msg != NULL)
		protobuf_c_message_free_unpacked(msg, NULL);
}

/* The one audit line of a call. */
static void audit_log(const struct audited *a, const csb_rpc_request *req, const char *target,
                      const char *module, csb_err rv, const char *error, uint64_t t0)
{
	char mod[300] = "";
	unsigned long long ms = csb_mono_ms() - t0;

	if (module[0] != '\0')
		snprintf(mod, sizeof(mod), " module=%s", module);
	if (rv == CSB_OK)
		csb_info("audit", "principal=%s method=%s target=%s%s result=ok millis=%llu",
		         req->principal, a->inner.name, target, mod, ms);
	else
		csb_warn("audit", "principal=%s method=%s target=%s%s result=%s millis=%llu error=\"%s\"",
		         req->principal, a->inner.name, target, mod, csb_err_name(rv), ms, error);
}

static csb_err audit_call(void *ctx, const csb_rpc_request *req, csb_rpc_reply *rep)
{
	const struct audited *a = ctx;
	char target[256], module[256];
	uint64_t t0 = csb_mono_ms();
	csb_err rv = a->inner.fn(a->inner.ctx, req, rep);

	coord__audit_target(a->inner.name, req->body, req->body_len, target, module,
	                    sizeof(target));
	audit_log(a, req, target, module, rv, rep->error, t0);
	return rv;
}

static csb_err audit_handle(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                            csb_rpc_reply *rep)
{
	const struct audited *a = ctx;
	char target[256], module[256];
	uint64_t t0 = csb_mono_ms();
	csb_err rv = a->inner.handle(a->inner.ctx, req, msg, rep);

	target_of(a->inner.name, msg, target, module, sizeof(target));
	audit_log(a, req, target, module, rv, rep->error, t0);
	return rv;
}

/* A caller the method's rule refuses is logged here: its handler never runs. */
static bool audit_authorize(void *ctx, const csb_rpc_request *req, const ProtobufCMessage *msg,
                            char err[CSB_RPC_ERROR_MAX])
{
	const struct audited *a = ctx;
	char target[256], module[256];

	if (a->inner.authorize(a->inner.ctx, req, msg, err))
		return true;
	target_of(a->inner.name, msg, target, module, sizeof(target));
	audit_log(a, req, target, module, CSB_EDENIED, err, csb_mono_ms());
	return false;
}

size_t coord__audit_wrap(csb_rpc_method *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (m[i].fn == audit_call || m[i].handle == audit_handle)
			continue;
		if (n_table == COORD_AUDIT_MAX) {
			csb_warn("audit", "not audited method=%s (more than %d methods)", m[i].name,
			         COORD_AUDIT_MAX);
			continue;
		}
		table[n_table].inner = m[i];
		if (m[i].req_desc != NULL)
			m[i].handle = audit_handle;
		else
			m[i].fn = audit_call;
		if (m[i].authorize != NULL)
			m[i].authorize = audit_authorize;
		m[i].ctx = &table[n_table++];
	}
	return n;
}
