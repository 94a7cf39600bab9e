/*
 * agent/volumes.c: which host paths a component may mount.
 *
 * A volume's host path must lie under one of [agent] volume_roots (default
 * "/srv") or under srv_root (where PushFile puts a service's files), so a
 * definition cannot hand a container the agent's state directory or /etc.
 * Paths are judged as the kernel will see them: symlinks resolved
 * (realpath of the longest prefix that exists, the part that does not exist
 * yet appended as written, since podman creates it there), and roots
 * resolved the same way; then a component-wise prefix match (/srvx is not
 * under /srv).  A dangling symlink on the way is refused: where it would
 * lead is not known until something creates its target.
 *
 * A host path /srv/<service> (or below it), naming the service's own data
 * directory, is symbolic: each agent maps it to <srv_root>/<service>, so
 * one definition mounts its data on any node whatever that node's [agent]
 * srv_root (what a migrate moves).  Checks and the runtime see the mapped
 * path; the spec hash keeps the symbolic one.
 *
 * Deploy checks every component before it changes anything; start and
 * restart check again before each run, since a service can replace a
 * directory under its own volume with a symlink between two runs.  What
 * changes between the check and podman's mount is not covered.
 */
#include "agent/agent.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/buf.h"

/* Append the components of rest ("/a/./b") to out, skipping "." and "". */
static int
append_rest(char *out, size_t outsz, const char *rest)
{
	size_t len = strlen(out);
	const char *p = rest;

	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (len + (len > 1 || out[0] != '/') + n + 1 > outsz)
				return -1;
			if (!(len == 1 && out[0] == '/'))
				out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
			out[len] = '\0';
		}
		if (!slash)
			break;
		p = slash + 1;
	}
	return 0;
}

int
agent_path_resolve(const char *path, char *out, size_t outsz,
    struct mcp_err *err)
{
	char prefix[PATH_MAX], real[PATH_MAX];
	struct stat st;
	size_t n;

	if (path[0] != '/')
		return mcp_err_set(err, MCP_E_INVALID, "%s: not an absolute path", path);
	if ((n = strlen(path)) >= sizeof(prefix))
		return mcp_err_set(err, MCP_E_INVALID, "%.64s...: path too long", path);
	if (strcmp(path, "/..") == 0 || strncmp(path, "/../", 4) == 0 ||
	    strstr(path, "/../") || (n >= 3 && strcmp(path + n - 3, "/..") == 0))
		return mcp_err_set(err, MCP_E_INVALID, "%s: has a \"..\" component",
		    path);
	memcpy(prefix, path, n + 1);
	for (;;) {
		char *slash;

		if (realpath(prefix, real) != NULL)
			break;
		if (errno != ENOENT && errno != ENOTDIR)
			return mcp_err_errno(err, errno, "%s: resolve %s", path, prefix);
		if (lstat(prefix, &st) == 0)
			return mcp_err_set(err, MCP_E_INVALID,
			    "%s: %s is a dangling symlink", path, prefix);
		slash = strrchr(prefix, '/');
		if (slash == prefix)
			slash[1] = '\0';	/* "/" always resolves */
		else
			*slash = '\0';
	}
	if (strlen(real) >= outsz)
		return mcp_err_set(err, MCP_E_INVALID, "%s: resolved path too long", path);
	memcpy(out, real, strlen(real) + 1);
	if (append_rest(out, outsz, path + strlen(prefix)) == -1)
		return mcp_err_set(err, MCP_E_INVALID, "%s: resolved path too long", path);
	return 0;
}

int
agent_path_under(const char *path, const char *root)
{
	size_t n = strlen(root);

	if (strcmp(root, "/") == 0)
		return path[0] == '/';
	return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* 1 if the resolved path is under root (resolved here), 0 if not; the
 * resolved root is added to names for the error message. */
static int
root_contains(const char *root, const char *resolved, struct buf *names,
    struct mcp_err *err)
{
	char real[PATH_MAX];

	if (agent_path_resolve(root, real, sizeof(real), err) == -1)
		return mcp_err_prefix(err, "volume root");
	buf_printf(names, "%s%s", names->len ? ", " : "", real);
	return agent_path_under(resolved, real);
}

int
agent_volume_host(const char *srv_root, const char *service, const char *host,
    char *out, size_t outsz)
{
	size_t n = strlen(service);

	if (strncmp(host, "/srv/", 5) == 0 && strncmp(host + 5, service, n) == 0 &&
	    (host[5 + n] == '\0' || host[5 + n] == '/'))
		return snprintf(out, outsz, "%s%s", strcmp(srv_root, "/") == 0 ? "" :
		    srv_root, host + 4) >= (int)outsz ? -1 : 1;
	return snprintf(out, outsz, "%s", host) >= (int)outsz ? -1 : 0;
}

/* Under one of the roots, or under srv_root? */
static int
volume_allowed(const char *const *roots, const char *srv_root,
    const char *resolved, struct buf *names, struct mcp_err *err)
{
	int rc;

	for (size_t i = 0; roots && roots[i]; i++)
		if ((rc = root_contains(roots[i], resolved, names, err)) != 0)
			return rc;
	return root_contains(srv_root, resolved, names, err);
}

int
agent_volumes_check(const char *const *roots, const char *srv_root,
    const struct svc_def *def, const struct svc_component *only,
    struct mcp_err *err)
{
	char resolved[PATH_MAX];
	size_t i, j;

	for (i = 0; i < def->ncomponents; i++) {
		const struct svc_component *c = &def->components[i];

		if (only && only != c)
			continue;
		for (j = 0; j < c->nvolumes; j++) {
			const struct svc_volume *v = &c->volumes[j];
			struct buf names = BUF_INIT;
			int ok;

			char host[PATH_MAX];

			if (agent_volume_host(srv_root, def->name, v->host, host,
			    sizeof(host)) == -1)
				return mcp_err_set(err, MCP_E_INVALID, "component %s: volume "
				    "%s:%s: host path too long under %s", c->name, v->host,
				    v->guest, srv_root);
			if (agent_path_resolve(host, resolved, sizeof(resolved),
			    err) == -1)
				return mcp_err_prefix(err, "component %s: volume %s:%s",
				    c->name, v->host, v->guest);
			ok = volume_allowed(roots, srv_root, resolved, &names, err);
			if (ok == 0)
				mcp_err_set(err, MCP_E_INVALID, "component %s: volume "
				    "%s:%s: host path %s%s%s%s is outside the volume roots "
				    "(%s: [agent] volume_roots and srv_root)", c->name,
				    v->host, v->guest, host,
				    strcmp(resolved, host) ? " (resolves to " : "",
				    strcmp(resolved, host) ? resolved : "",
				    strcmp(resolved, host) ? ")" : "",
				    names.data ? names.data : "");
			buf_free(&names);
			if (ok != 1)
				return -1;
		}
	}
	return 0;
}
