/*
 * data/data_select.c: what a service data archive may hold, as pure
 * functions: which paths go in (kinds, excludes) on export, and which
 * entries are safe to extract on import.
 */
#include "data/data.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *
data_base(const char *rel)
{
	const char *slash = strrchr(rel, '/');

	return slash ? slash + 1 : rel;
}

static int
data_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

int
data_default_kind(const char *name)
{
	const char *b = data_base(name);

	return data_has_suffix(b, ".toml") || data_has_suffix(b, ".db") ||
	    data_has_suffix(b, ".pem");
}

int
data_sqlite_companion(const char *name)
{
	const char *b = data_base(name);

	return data_has_suffix(b, ".db-wal") || data_has_suffix(b, ".db-shm") ||
	    data_has_suffix(b, ".db-journal");
}

enum data_method
data_method_kind(const char *method)
{
	if (method == NULL || method[0] == '\0')
		return DATA_M_DEFAULT;
	if (strcmp(method, "full") == 0)
		return DATA_M_FULL;
	if (strcmp(method, "cli") == 0)
		return DATA_M_CLI;
	if (strcmp(method, "grpc") == 0)
		return DATA_M_GRPC;
	if (strncmp(method, "exec:", 5) == 0)
		return DATA_M_EXEC;
	return DATA_M_INVALID;
}

int
data_exec_argv(const char *method, char *buf, size_t bufsz, const char **argv,
    size_t max)
{
	char *p, *save = NULL;
	size_t n = 0;

	argv[0] = NULL;
	if (data_method_kind(method) != DATA_M_EXEC || max < 2)
		return 0;
	if ((size_t)snprintf(buf, bufsz, "%s", method + 5) >= bufsz)
		return -1;
	for (p = strtok_r(buf, " \t", &save); p; p = strtok_r(NULL, " \t", &save)) {
		if (n + 1 >= max)
			return -1;
		argv[n++] = p;
	}
	argv[n] = NULL;
	return (int)n;
}

/* Does pattern p (no trailing '/') match rel or a directory above it? */
static int
data_match(const char *p, const char *rel)
{
	char prefix[4096];
	size_t n = strlen(rel), i;

	if (strchr(p, '/') == NULL) {
		/* any component */
		const char *c = rel, *slash;

		for (;;) {
			size_t len;

			slash = strchr(c, '/');
			len = slash ? (size_t)(slash - c) : strlen(c);
			if (len >= sizeof(prefix))
				return 0;
			memcpy(prefix, c, len);
			prefix[len] = '\0';
			if (fnmatch(p, prefix, 0) == 0)
				return 1;
			if (!slash)
				return 0;
			c = slash + 1;
		}
	}
	if (n >= sizeof(prefix))
		return 0;
	for (i = 0; i <= n; i++)
		if (rel[i] == '/' || rel[i] == '\0') {
			memcpy(prefix, rel, i);
			prefix[i] = '\0';
			if (fnmatch(p, prefix, FNM_PATHNAME) == 0)
				return 1;
		}
	return 0;
}

int
data_excluded(const char *rel, int is_dir, const char *const *exclude)
{
	char p[4096];

	for (size_t i = 0; exclude && exclude[i]; i++) {
		size_t n = strlen(exclude[i]);
		int dir_only = n > 0 && exclude[i][n - 1] == '/';

		while (n > 0 && exclude[i][n - 1] == '/')
			n--;
		if (n == 0 || n >= sizeof(p))
			continue;
		memcpy(p, exclude[i], n);
		p[n] = '\0';
		if (!dir_only) {
			if (data_match(p, rel))
				return 1;
			continue;
		}
		/* "cache/": the directory cache itself, or anything below it */
		if (is_dir && data_match(p, rel))
			return 1;
		{
			char parent[4096];
			const char *slash = strrchr(rel, '/');
			size_t pl = slash ? (size_t)(slash - rel) : 0;

			if (pl > 0 && pl < sizeof(parent)) {
				memcpy(parent, rel, pl);
				parent[pl] = '\0';
				if (data_match(p, parent))
					return 1;
			}
		}
	}
	return 0;
}

/* A relative path without empty, "." or ".." components. */
static int
data_path_clean(const char *path)
{
	const char *c = path, *slash;

	if (path[0] == '\0' || path[0] == '/')
		return 0;
	for (;;) {
		size_t n;

		slash = strchr(c, '/');
		n = slash ? (size_t)(slash - c) : strlen(c);
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (n == 0 && slash)	/* "a//b" */
			return 0;
		if (!slash)
			return 1;
		c = slash + 1;
		if (*c == '\0')		/* "dir/" */
			return 1;
	}
}

/* Depth of the directory holding path ("a/b/c" -> 2). */
static int
data_depth(const char *path)
{
	int d = 0;
	size_t n = strlen(path);

	while (n > 0 && path[n - 1] == '/')
		n--;
	for (size_t i = 0; i < n; i++)
		if (path[i] == '/')
			d++;
	return d;
}

/*
 * Does a relative symlink target, read in a directory depth levels below
 * the root, stay inside the root?  ".." may only lead the target (at most
 * depth of them): after a normal component, which may itself be a symlink
 * to anywhere inside, a ".." could climb out of where that one led
 * (d -> "." and x -> "d/.." escape although each looks harmless).
 */
static int
data_link_inside(const char *target, int depth)
{
	const char *c = target, *slash;
	int down = 0;

	if (target[0] == '\0' || target[0] == '/')
		return 0;
	for (;;) {
		size_t n;

		slash = strchr(c, '/');
		n = slash ? (size_t)(slash - c) : strlen(c);
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			if (down || --depth < 0)
				return 0;
		} else if (n > 0 && !(n == 1 && c[0] == '.')) {
			down = 1;
		}
		if (!slash)
			return 1;
		c = slash + 1;
	}
}

/* "./a" -> "a"; "./" -> "" */
static const char *
data_strip_dot(const char *path)
{
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	return path;
}

int
data_entry_check(const char *path, mode_t type, const char *symlink,
    const char *hardlink, struct mcp_err *err)
{
	const char *p = data_strip_dot(path);

	if (path[0] == '/')
		return mcp_err_set(err, MCP_E_INVALID,
		    "entry \"%s\": absolute path", path);
	if (p[0] == '\0' || strcmp(p, ".") == 0) {
		if (type == S_IFDIR)
			return 0;	/* the root itself */
		return mcp_err_set(err, MCP_E_INVALID, "entry \"%s\": not a "
		    "relative path below the directory", path);
	}
	if (!data_path_clean(p))
		return mcp_err_set(err, MCP_E_INVALID, "entry \"%s\": has an "
		    "empty, \".\" or \"..\" component", path);
	if (hardlink) {
		const char *h = data_strip_dot(hardlink);

		if (hardlink[0] == '/' || !data_path_clean(h) || h[0] == '\0')
			return mcp_err_set(err, MCP_E_INVALID, "entry \"%s\": hard "
			    "link to \"%s\" outside the directory", path, hardlink);
		return 0;
	}
	switch (type) {
	case S_IFREG:
	case S_IFDIR:
		return 0;
	case S_IFLNK:
		if (symlink == NULL || !data_link_inside(symlink, data_depth(p)))
			return mcp_err_set(err, MCP_E_INVALID, "entry \"%s\": "
			    "symlink to \"%s\" points outside the directory", path,
			    symlink ? symlink : "");
		return 0;
	case S_IFCHR:
	case S_IFBLK:
		return mcp_err_set(err, MCP_E_INVALID, "entry \"%s\": device "
		    "nodes are not allowed", path);
	case S_IFIFO:
		return mcp_err_set(err, MCP_E_INVALID, "entry \"%s\": FIFOs "
		    "are not allowed", path);
	case S_IFSOCK:
		return mcp_err_set(err, MCP_E_INVALID, "entry \"%s\": sockets "
		    "are not allowed", path);
	default:
		return mcp_err_set(err, MCP_E_INVALID, "entry \"%s\": unknown "
		    "file type %o", path, (unsigned)type);
	}
}
