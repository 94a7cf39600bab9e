/*
 * util/file.c: file helpers shared by the agent, CLI and builders.
 */
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
file_read(const char *path, struct buf *out, size_t max, struct mcp_err *err)
{
	char chunk[65536];
	ssize_t n;
	int fd;

	if (max == 0)
		max = 64u << 20;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return mcp_err_errno(err, errno, "read %s", path);
	buf_reset(out);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			mcp_err_errno(err, errno, "read %s", path);
			close(fd);
			return -1;
		}
		if (out->len + (size_t)n > max) {
			close(fd);
			return mcp_err_set(err, MCP_E_INVALID, "read %s: larger than %zu bytes",
			    path, max);
		}
		buf_append(out, chunk, (size_t)n);
	}
	close(fd);
	if (out->data == NULL)
		buf_puts(out, "");
	return 0;
}

int
file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
    struct mcp_err *err)
{
	static atomic_ulong seq;
	char tmp[4096];
	const char *p = data;
	int fd;

	/* unique per process, thread and call: concurrent writers never share it */
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%ld.%lu", path, (long)getpid(),
	    (long)gettid(), (unsigned long)atomic_fetch_add(&seq, 1));
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    mode)) == -1)
		return mcp_err_errno(err, errno, "write %s", tmp);
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			mcp_err_errno(err, errno, "write %s", tmp);
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, mode) == -1 || fsync(fd) == -1) {
		mcp_err_errno(err, errno, "write %s", tmp);
		goto fail;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		mcp_err_errno(err, errno, "rename %s to %s", tmp, path);
		unlink(tmp);
		return -1;
	}
	return 0;
fail:
	close(fd);
	unlink(tmp);
	return -1;
}

int
file_mkdirs(const char *path, mode_t mode, struct mcp_err *err)
{
	char tmp[4096];
	size_t i, n = strlen(path);

	if (n == 0 || n >= sizeof(tmp))
		return mcp_err_set(err, MCP_E_INVALID, "mkdir %s: bad path", path);
	memcpy(tmp, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, mode) == -1 && errno != EEXIST)
			return mcp_err_errno(err, errno, "mkdir %s", tmp);
		tmp[i] = path[i];
	}
	return 0;
}
