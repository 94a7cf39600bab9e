/*
 * agent/files.c: PushFile / PullFile, confined to <srv_root>/<service>/.
 *
 * The relative path is checked lexically (no absolute path, no "." or ".."
 * component, no empty component, no NUL) and then walked one component at
 * a time with openat(O_NOFOLLOW), so a symlink anywhere under the service
 * directory (planted by the service itself, say) cannot lead outside it.
 * Writes go to a temporary file in the target directory and are renamed
 * into place, so a reader never sees half a file.  Only a service deployed
 * on this node has a directory: files for any other are refused (a push
 * would otherwise create <srv_root>/<anything>/).
 */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"

#define FILE_MAX (64u << 20)

static int
path_check(const char *service, const char *path, struct mcp_err *err)
{
	const char *p = path, *slash;

	if (!svc_name_valid(service))
		return mcp_err_set(err, MCP_E_INVALID, "\"%s\" is not a valid service name",
		    service);
	if (path[0] == '\0')
		return mcp_err_set(err, MCP_E_INVALID, "%s: empty path", service);
	if (path[0] == '/')
		return mcp_err_set(err, MCP_E_INVALID,
		    "%s: path \"%s\" must be relative to /srv/%s/", service, path, service);
	if (strlen(path) > 1024)
		return mcp_err_set(err, MCP_E_INVALID, "%s: path too long", service);
	for (;;) {
		size_t n;

		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return mcp_err_set(err, MCP_E_INVALID,
			    "%s: path \"%s\" escapes /srv/%s/ or has an empty, \".\" or "
			    "\"..\" component", service, path, service);
		if (!slash)
			break;
		p = slash + 1;
	}
	return 0;
}

void
agent_srv_dir(const struct agent *a, const char *service, char *out,
    size_t outsz)
{
	snprintf(out, outsz, "%s/%s", a->cfg.srv_root, service);
}

/* NOT_FOUND unless the service is deployed here. */
static int
service_deployed(struct agent *a, const char *op, const char *service,
    struct mcp_err *err)
{
	struct reg_service *rs = NULL;

	if (reg_service_get(a->reg, service, &rs, err) == 0) {
		reg_service_free(rs);
		return 0;
	}
	if (err->code == MCP_E_NOTFOUND)
		return mcp_err_set(err, MCP_E_NOTFOUND,
		    "%s: service %s is not deployed on node %s", op, service,
		    a->cfg.node);
	return mcp_err_prefix(err, "%s %s", op, service);
}

/*
 * Open the directory that will contain the file, walking with O_NOFOLLOW
 * from <srv_root>/<service>.  *base points at the last path component.
 */
static int
open_parent(struct agent *a, const char *service, const char *path, int create,
    const char **base, struct mcp_err *err)
{
	char root[CFG_PATH_MAX + 80], comp[256];
	const char *p = path, *slash;
	int fd, next;

	agent_srv_dir(a, service, root, sizeof(root));
	/* 0755 despite the agent's umask 077: the service may run as non-root */
	if (create && mkdir(root, 0755) == 0)
		chmod(root, 0755);
	else if (create && errno != EEXIST)
		return mcp_err_errno(err, errno, "%s: mkdir %s", service, root);
	fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return mcp_err_errno(err, errno, "%s: open %s", service, root);
	while ((slash = strchr(p, '/')) != NULL) {
		size_t n = (size_t)(slash - p);

		if (n >= sizeof(comp)) {
			close(fd);
			return mcp_err_set(err, MCP_E_INVALID, "%s: path component too long",
			    service);
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (create && mkdirat(fd, comp, 0755) == -1 && errno != EEXIST) {
			mcp_err_errno(err, errno, "%s: mkdir %s", service, comp);
			close(fd);
			return -1;
		}
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next != -1 && create)
			fchmod(next, 0755);	/* see above: umask 077 */
		if (next == -1) {
			int e = errno;

			close(fd);
			if (e == ELOOP || e == ENOTDIR)
				return mcp_err_set(err, MCP_E_INVALID,
				    "%s: path \"%s\": \"%s\" is a symlink or not a directory "
				    "(refusing to leave /srv/%s/)", service, path, comp, service);
			return mcp_err_errno(err, e, "%s: open %s", service, comp);
		}
		close(fd);
		fd = next;
		p = slash + 1;
	}
	*base = p;
	return fd;
}

int
agent_push_file(struct agent *a, const char *service, const char *path,
    const void *data, size_t len, unsigned mode, struct mcp_err *err)
{
	const char *base;
	char tmp[300];
	const char *p = data;
	int dfd, fd;

	if (path_check(service, path, err) == -1)
		return mcp_err_prefix(err, "push");
	if (service_deployed(a, "push", service, err) == -1)
		return -1;
	if (len > FILE_MAX)
		return mcp_err_set(err, MCP_E_INVALID, "push %s/%s: larger than %u bytes",
		    service, path, FILE_MAX);
	if ((dfd = open_parent(a, service, path, 1, &base, err)) == -1)
		return mcp_err_prefix(err, "push");
	snprintf(tmp, sizeof(tmp), ".mcp-push.%ld.%lx", (long)getpid(),
	    (unsigned long)random());
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    (mode ? mode : 0644) & 0777);
	if (fd == -1) {
		mcp_err_errno(err, errno, "push %s/%s", service, path);
		close(dfd);
		return -1;
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			mcp_err_errno(err, errno, "push %s/%s: write", service, path);
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, (mode ? mode : 0644) & 0777) == -1 || fsync(fd) == -1) {
		mcp_err_errno(err, errno, "push %s/%s", service, path);
		goto fail;
	}
	close(fd);
	fd = -1;
	/* renameat replaces a symlink at the destination, never follows it */
	if (renameat(dfd, tmp, dfd, base) == -1) {
		mcp_err_errno(err, errno, "push %s/%s: rename", service, path);
		goto fail;
	}
	close(dfd);
	return 0;
fail:
	if (fd != -1)
		close(fd);
	unlinkat(dfd, tmp, 0);
	close(dfd);
	return -1;
}

int
agent_pull_file(struct agent *a, const char *service, const char *path,
    struct buf *out, unsigned *mode, struct mcp_err *err)
{
	const char *base;
	struct stat st;
	char chunk[65536];
	ssize_t n;
	int dfd, fd;

	if (path_check(service, path, err) == -1)
		return mcp_err_prefix(err, "pull");
	if (service_deployed(a, "pull", service, err) == -1)
		return -1;
	if ((dfd = open_parent(a, service, path, 0, &base, err)) == -1)
		return mcp_err_prefix(err, "pull");
	fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	close(dfd);
	if (fd == -1) {
		if (errno == ELOOP)
			return mcp_err_set(err, MCP_E_INVALID,
			    "pull %s/%s: is a symlink (refusing to leave /srv/%s/)",
			    service, path, service);
		return mcp_err_errno(err, errno, "pull %s/%s", service, path);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return mcp_err_set(err, MCP_E_INVALID, "pull %s/%s: not a regular file",
		    service, path);
	}
	if ((size_t)st.st_size > FILE_MAX) {
		close(fd);
		return mcp_err_set(err, MCP_E_INVALID, "pull %s/%s: larger than %u bytes",
		    service, path, FILE_MAX);
	}
	*mode = st.st_mode & 0777;
	buf_reset(out);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			mcp_err_errno(err, errno, "pull %s/%s: read", service, path);
			close(fd);
			return -1;
		}
		if (out->len + (size_t)n > FILE_MAX) {	/* grew while we read */
			close(fd);
			return mcp_err_set(err, MCP_E_INVALID,
			    "pull %s/%s: larger than %u bytes", service, path, FILE_MAX);
		}
		buf_append(out, chunk, (size_t)n);
	}
	if (out->data == NULL)
		buf_puts(out, "");
	close(fd);
	return 0;
}
