/*
 * image/tree.c: walk a host file or directory tree in a stable order
 * (parents first, names sorted), without following symlinks, mapping each
 * host path to its guest path.  Used to bake volume directories into the
 * initramfs and to hash them for the build cache.
 */
#include "image/image_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TREE_MAX_DEPTH 64

static int
walk(const char *host, const char *guest, int depth, tree_visit_fn fn, void *arg,
    struct mcp_err *err)
{
	struct dirent **names = NULL;
	struct stat st;
	char link[PATH_MAX];
	int n, rc = 0;

	if (depth > TREE_MAX_DEPTH)
		return mcp_err_set(err, MCP_E_INVALID, "volume %s: nested too deep", host);
	if (lstat(host, &st) == -1)
		return mcp_err_errno(err, errno, "volume %s", host);
	if (S_ISLNK(st.st_mode)) {
		ssize_t len = readlink(host, link, sizeof(link) - 1);

		if (len == -1)
			return mcp_err_errno(err, errno, "volume %s: readlink", host);
		link[len] = '\0';
		return fn(arg, host, guest, &st, link, err);
	}
	if ((rc = fn(arg, host, guest, &st, NULL, err)) != 0 || !S_ISDIR(st.st_mode))
		return rc;
	n = scandir(host, &names, NULL, alphasort);
	if (n == -1)
		return mcp_err_errno(err, errno, "volume %s: scandir", host);
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char h[PATH_MAX], g[PATH_MAX];

		if (rc == 0 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
			if (snprintf(h, sizeof(h), "%s/%s", host, name) >= (int)sizeof(h) ||
			    snprintf(g, sizeof(g), "%s/%s", strcmp(guest, "/") ? guest : "",
			    name) >= (int)sizeof(g))
				rc = mcp_err_set(err, MCP_E_INVALID, "volume %s/%s: path too long",
				    host, name);
			else
				rc = walk(h, g, depth + 1, fn, arg, err);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
tree_walk(const char *host, const char *guest, tree_visit_fn fn, void *arg,
    struct mcp_err *err)
{
	return walk(host, guest, 0, fn, arg, err);
}
