/* csb__file_read() and csb__file_write_atomic(): whole-file I/O for small files (PEM
 * certificates and keys). See internal/file.h. */
#include "common/internal/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static csb_err read_all(int fd, char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = read(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return CSB_EIO;
		off += (size_t)n;
	}
	return CSB_OK;
}

csb_err csb__file_read(const char *path, size_t max, char **buf, size_t *len)
{
	struct stat st;
	csb_err rv;
	char *p;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? CSB_ENOTFOUND : CSB_EIO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rv = CSB_EIO;
		goto out_close;
	}
	if ((size_t)st.st_size > max) {
		rv = CSB_ETOOBIG;
		goto out_close;
	}
	if ((p = malloc((size_t)st.st_size + 1)) == NULL) {
		rv = CSB_ENOMEM;
		goto out_close;
	}
	if ((rv = read_all(fd, p, (size_t)st.st_size)) != CSB_OK) {
		free(p);
		goto out_close;
	}
	p[st.st_size] = '\0';
	*buf = p;
	*len = (size_t)st.st_size;
out_close:
	close(fd);
	return rv;
}

static csb_err write_all(int fd, const uint8_t *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return CSB_EIO;
		data += n;
		len -= (size_t)n;
	}
	return CSB_OK;
}

csb_err csb__file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	size_t plen = strlen(path);
	csb_err rv = CSB_EIO;
	char *tmp;
	int fd;

	if ((tmp = malloc(plen + sizeof(".tmp.XXXXXX"))) == NULL)
		return CSB_ENOMEM;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		goto out_free_tmp;
	/* Set the mode before any byte is written: a key is never readable by others. */
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != CSB_OK || fsync(fd) != 0)
		goto out_unlink;
	if (close(fd) != 0) {
		fd = -1;
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out_unlink;
	rv = CSB_OK;
	goto out_free_tmp;
out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out_free_tmp:
	free(tmp);
	return rv;
}
