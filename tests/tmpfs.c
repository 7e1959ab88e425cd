/* tmpfs_private(): see tmpfs.h. */
#include "tests/tmpfs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

bool tmpfs_private(const char *dir, const char *size)
{
	char opts[32];

	snprintf(opts, sizeof(opts), "size=%s", size);
	if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("tmpfs", dir, "tmpfs", 0, opts) != 0) {
		print_message("skipped: cannot mount a tmpfs here (%s)\n", strerror(errno));
		return false;
	}
	return true;
}
