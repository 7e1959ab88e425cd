/* Daemon configuration files (/etc/csbackup/NAME.conf): one flag a line, "name = value" with
 * the long flag's name ("state-dir = /var/lib/csbackup/coordinator"), '#' comments and
 * blank lines. A file given with --config FILE is read first and the command line after
 * it, so a flag on the command line wins over the file. */
#ifndef CSB_COMMON_CONF_H
#define CSB_COMMON_CONF_H

#include <stddef.h>

#include "common/err.h"

/* A new argument vector for getopt_long(): argv[0], then "--name", "value" for each entry
 * of the --config file (a line "name" alone gives "--name"), then the rest of argv without
 * --config FILE (or --config=FILE). Without --config, a copy of argv. *out_argv and its
 * strings are malloc'ed as one block (free(*out_argv)); it is NULL-terminated.
 * CSB_OK; CSB_EINVAL (--config without a file, a bad line: err says "FILE:LINE: …");
 * CSB_EIO (the file cannot be read; err says why); CSB_ENOMEM. */
csb_err csb_conf_argv(int argc, char **argv, int *out_argc, char ***out_argv, char *err,
                      size_t errlen);

/* Makes the daemon's --state-dir when it is missing (mode 0700; its parent must exist), so
 * that a first start needs no mkdir and a wrong path is named, not met later as an LMDB
 * "invalid argument". CSB_OK (made, or there already as a folder); CSB_EIO with
 * "cannot create --state-dir DIR: <why>" or "--state-dir DIR is not a folder" in err. */
csb_err csb_conf_state_dir(const char *dir, char *err, size_t errlen);

#endif
