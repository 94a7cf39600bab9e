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
			buf_free(out);
			return -1;
		}
		if (out->len + (size_t)n > max) {
			close(fd);
			buf_free(out);
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

/* rename without replacing; link+unlink where renameat2 is not supported. */
static int
rename_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (link(from, to) == -1)
		return -1;
	unlink(from);
	return 0;
}

static void
sync_parent(const char *path)
{
	char dir[4096], *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(fd);
		close(fd);
	}
}

/*
 * Write data to a temporary file beside path (created O_EXCL with the final
 * mode, so nobody sees it with looser permissions), fsync, rename it into
 * place (never replacing an existing file when noreplace), sync the
 * directory.  On any failure nothing is left behind.
 */
static int
file_write_via_tmp(const char *path, const void *data, size_t len, mode_t mode,
    int noreplace, struct mcp_err *err)
{
	static atomic_ulong seq;
	char tmp[4096];
	const char *p = data;
	int fd, e;

	/* unique per process, thread and call: concurrent writers never share it */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%ld.%lu", path,
	    (long)getpid(), (long)gettid(),
	    (unsigned long)atomic_fetch_add(&seq, 1)) >= sizeof(tmp))
		return mcp_err_set(err, MCP_E_INVALID, "write %s: path too long", path);
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
	/* the umask may have removed bits */
	if (fchmod(fd, mode) == -1 || fsync(fd) == -1) {
		mcp_err_errno(err, errno, "write %s", tmp);
		goto fail;
	}
	if (close(fd) == -1) {
		e = errno;
		unlink(tmp);
		return mcp_err_errno(err, e, "close %s", tmp);
	}
	if ((noreplace ? rename_noreplace(tmp, path) : rename(tmp, path)) == -1) {
		e = errno;
		unlink(tmp);
		if (e == EEXIST)
			return mcp_err_set(err, MCP_E_EXISTS,
			    "%s already exists; refusing to overwrite it", path);
		return mcp_err_errno(err, e, "rename %s to %s", tmp, path);
	}
	sync_parent(path);
	return 0;
fail:
	close(fd);
	unlink(tmp);
	return -1;
}

int
file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
    struct mcp_err *err)
{
	return file_write_via_tmp(path, data, len, mode, 0, err);
}

int
file_write_new(const char *path, const void *data, size_t len, mode_t mode,
    struct mcp_err *err)
{
	return file_write_via_tmp(path, data, len, mode, 1, err);
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
