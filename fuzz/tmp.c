/* A scratch folder for a fuzz target's state (a store, certificates): under $TMPDIR (the
 * test's own under Bazel), removed when the target exits. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz/fuzz.h"

static char dir[512];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_dir(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_tmpdir(const char *name)
{
	const char *base = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/csb-fuzz-%s.XXXXXX", base && *base ? base : "/tmp", name);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		abort();
	}
	atexit(rm_dir);
	return dir;
}
