/* The module catalogue. */
#include "common/modules.h"

#include <strings.h>

const csb_module_def csb_modules[CSB_MODULE_COUNT] = {
	{"UserServices.PresenceFocus", CSB_CAT_USERDATA},
	{"ConfServices.DataConf", CSB_CAT_USERDATA},
	{"CentralMgmt.CMSMaster", CSB_CAT_CMS},
	{"ApplicationServer.RGSDataStore", CSB_CAT_RGS},
	{"ApplicationServer.RGSFileStore", CSB_CAT_RGS},
};

static const char *const category_names[CSB_CAT_COUNT] = {"UserData", "CMS", "RGS"};

const csb_module_def *csb_module_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < CSB_MODULE_COUNT; i++)
		if (strcasecmp(csb_modules[i].name, name) == 0)
			return &csb_modules[i];
	return NULL;
}

const char *csb_category_name(csb_category c)
{
	return (unsigned)c < CSB_CAT_COUNT ? category_names[c] : "?";
}

bool csb_category_parse(const char *s, csb_category *out)
{
	if (s == NULL)
		return false;
	for (int i = 0; i < CSB_CAT_COUNT; i++)
		if (strcasecmp(s, category_names[i]) == 0) {
			*out = (csb_category)i;
			return true;
		}
	return false;
}
