/* The backup modules and their categories (SPEC.md §4): the names administrators type,
 * in the order status tables list them. */
#ifndef CSB_COMMON_MODULES_H
#define CSB_COMMON_MODULES_H

#include <stdbool.h>
#include <stddef.h>

typedef enum csb_category {
	CSB_CAT_USERDATA,
	CSB_CAT_CMS,
	CSB_CAT_RGS,
	CSB_CAT_COUNT
} csb_category;

typedef struct csb_module_def {
	const char *name;      /* "UserServices.PresenceFocus" */
	csb_category category;
} csb_module_def;

#define CSB_MODULE_COUNT 5
#define CSB_MODULE_CMS "CentralMgmt.CMSMaster"

/* The modules, in status-table order. */
extern const csb_module_def csb_modules[CSB_MODULE_COUNT];

/* The module named name (case-insensitive), or NULL. */
const csb_module_def *csb_module_find(const char *name);

/* "UserData", "CMS", "RGS". */
const char *csb_category_name(csb_category c);

/* Parses a category name (case-insensitive). false when unknown. */
bool csb_category_parse(const char *s, csb_category *out);

#endif
