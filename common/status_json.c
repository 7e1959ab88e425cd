/* Status documents as JSON with SPEC.md's field names. */
#include "common/status_json.h"

#include <stdio.h>
#include <time.h>

static const char *const export_names[] = {"NotInitialized", "NonSteadyState", "SteadyState",
                                           "FinalState", "ErrorState"};
static const char *const import_names[] = {"NotInitialized", "NormalState", "ErrorState"};

const char *csb_export_state_name(Csb__ExportState s)
{
	return (unsigned)s < 5 ? export_names[s] : "Unknown";
}

const char *csb_import_state_name(Csb__ImportState s)
{
	return (unsigned)s < 3 ? import_names[s] : "Unknown";
}

void csb_time_format(uint64_t ms, char *out, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, len - n, ".%03uZ", (unsigned)(ms % 1000));
}

json_t *csb_time_json(uint64_t ms)
{
	char buf[32];

	if (ms == 0)
		return json_null();
	csb_time_format(ms, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *module_json(const Csb__ModuleStatus *m)
{
	json_t *o = json_object();

	json_object_set_new(o, "Identity", json_string(m->identity));
	json_object_set_new(o, "ExportStatus", json_string(csb_export_state_name(m->export_status)));
	json_object_set_new(o, "ImportStatus", json_string(csb_import_state_name(m->import_status)));
	json_object_set_new(o, "HighSeq", json_integer((json_int_t)m->high_seq));
	json_object_set_new(o, "ExportedSeq", json_integer((json_int_t)m->exported_seq));
	json_object_set_new(o, "ImportedSeq", json_integer((json_int_t)m->imported_seq));
	json_object_set_new(o, "LagRecords", json_integer((json_int_t)m->lag_records));
	json_object_set_new(o, "LagSeconds", json_real(m->lag_seconds));
	json_object_set_new(o, "LastExportTime", csb_time_json(m->last_export_time_ms));
	json_object_set_new(o, "LastImportTime", csb_time_json(m->last_import_time_ms));
	json_object_set_new(o, "LastError", m->last_error && m->last_error[0]
	                                        ? json_string(m->last_error)
	                                        : json_null());
	json_object_set_new(o, "ExportedRecordsTotal",
	                    json_integer((json_int_t)m->exported_records_total));
	json_object_set_new(o, "ExportedBytesTotal", json_integer((json_int_t)m->exported_bytes_total));
	return o;
}

json_t *csb_status_json(const Csb__PoolStatus *ps)
{
	json_t *o = json_object(), *mods = json_array();

	if (o == NULL || mods == NULL) {
		json_decref(o);
		json_decref(mods);
		return NULL;
	}
	json_object_set_new(o, "PoolFqdn", json_string(ps->pool_fqdn));
	json_object_set_new(o, "BackupPoolFqdn", json_string(ps->backup_pool_fqdn));
	for (size_t i = 0; i < ps->n_backup_modules; i++)
		json_array_append_new(mods, module_json(ps->backup_modules[i]));
	json_object_set_new(o, "BackupModules", mods);
	return o;
}
