/* The csbackup version, one for the three programs: `--version`, the start-up log line and
 * /metrics' csb_build_info. */
#ifndef CSB_COMMON_VERSION_H
#define CSB_COMMON_VERSION_H

#define CSB_VERSION "0.1.0"

#endif
