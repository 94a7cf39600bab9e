/*
 * runtime/podman.c: the container runtime (runtime.h) on top of the podman
 * CLI.  Every operation is one podman invocation started through
 * util/spawn with an argv: the configured binary, the configured global
 * arguments (--root/--runroot/--runtime ...: which store and how), then the
 * subcommand.  JSON output (ps, inspect) is parsed with jansson.
 *
 * Containers carry the labels mcp.managed/mcp.service/mcp.component, so the
 * listing maps back to (service, component) without parsing names, and
 * mcp.spec-hash, what the agent created them from.  Pull is
 * a separate step: run passes --pull=never and never reaches a registry.
 * podman's own failure text (its last stderr line) is quoted in every error
 * and classified into an mcp_code (no such container / manifest unknown ->
 * NOTFOUND, connection refused -> UNAVAILABLE, ...).
 *
 * The runtime holds only immutable configuration after podman_runtime_new,
 * so one instance may be used from several threads.
 */
#include "runtime/runtime.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/proc.h"
#include "util/spawn.h"

#define PODMAN_ARGV_MAX	512

struct podman {
	char *binary;
	char **global;		/* NULL-terminated copies */
	size_t nglobal;
	char **insecure;	/* NULL-terminated copies */
	char *conf_env;		/* "CONTAINERS_CONF=..." or NULL */
	int timeout_ms;
};

/* An argv under construction; strings are borrowed, except those in own[]. */
struct podman_argv {
	const char *v[PODMAN_ARGV_MAX + 1];
	size_t n;
	int overflow;
	char *own[PODMAN_ARGV_MAX];
	size_t nown;
};

static struct podman *
podman_of(struct runtime *rt)
{
	return rt->priv;
}

static void
argv_add(struct podman_argv *a, const char *s)
{
	if (a->n >= PODMAN_ARGV_MAX) {
		a->overflow = 1;
		return;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

/* Add a formatted argument (owned by a). */
static void
argv_addf(struct podman_argv *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
argv_addf(struct podman_argv *a, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || a->nown >= PODMAN_ARGV_MAX) {
		a->overflow = 1;
		return;
	}
	s = xcalloc((size_t)n + 1, 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	a->own[a->nown++] = s;
	argv_add(a, s);
}

static void
argv_free(struct podman_argv *a)
{
	for (size_t i = 0; i < a->nown; i++)
		free(a->own[i]);
	a->nown = 0;
}

/* binary + global args; the caller appends the subcommand. */
static void
argv_start(struct podman *p, struct podman_argv *a)
{
	a->n = 0;
	a->nown = 0;
	a->overflow = 0;
	a->v[0] = NULL;
	argv_add(a, p->binary);
	for (size_t i = 0; i < p->nglobal; i++)
		argv_add(a, p->global[i]);
}

static void
podman_opts(struct podman *p, struct spawn_opts *o, const char **env,
    int timeout_ms)
{
	memset(o, 0, sizeof(*o));
	o->stdout_fd = -1;
	o->timeout_ms = timeout_ms > 0 ? timeout_ms : p->timeout_ms;
	env[0] = p->conf_env;
	env[1] = NULL;
	o->env_add = p->conf_env ? env : NULL;
}

/*
 * Run podman; 0 when it ran (check res->status), -1 when it could not be
 * started or timed out (err says so, prefixed with what).
 */
static int
podman_exec(struct podman *p, struct podman_argv *a, int timeout_ms,
    struct spawn_result *res, struct mcp_err *err, const char *what)
{
	struct spawn_opts o;
	const char *env[2];

	if (a->overflow) {
		memset(res, 0, sizeof(*res));
		return mcp_err_set(err, MCP_E_INVALID, "%s: too many arguments", what);
	}
	podman_opts(p, &o, env, timeout_ms);
	if (spawn_run(a->v, &o, res, err) == -1) {
		mcp_err_prefix(err, "%s", what);
		return -1;
	}
	return 0;
}

static int podman_fail(struct spawn_result *res, struct mcp_err *err,
    const char *what);

/*
 * Run podman (the argv is consumed) and turn a non-zero exit into err.  res
 * keeps the output for the caller, who spawn_result_free()s it in every case.
 */
static int
podman_call(struct podman *p, struct podman_argv *a, int timeout_ms,
    struct spawn_result *res, struct mcp_err *err, const char *what)
{
	int rc = podman_exec(p, a, timeout_ms, res, err, what);

	if (rc == 0 && res->status != 0)
		rc = podman_fail(res, err, what);
	argv_free(a);
	return rc;
}

static int
has(const char *hay, const char *needle)
{
	return strcasestr(hay, needle) != NULL;
}

/*
 * Classify podman's failure text into a code and a short reason; the
 * returned reason is NULL when nothing better than podman's line is known.
 */
static int
podman_classify(const char *line, const char **reason)
{
	*reason = NULL;
	if (has(line, "no such container") || has(line, "no container with")) {
		*reason = "no such container";
		return MCP_E_NOTFOUND;
	}
	if (has(line, "manifest unknown")) {
		*reason = "manifest unknown";
		return MCP_E_NOTFOUND;
	}
	if (has(line, "name unknown") || has(line, "repository name not known")) {
		*reason = "repository unknown";
		return MCP_E_NOTFOUND;
	}
	if (has(line, "image not known") || has(line, "no such image") ||
	    has(line, "image unknown")) {
		*reason = "image not present";
		return MCP_E_NOTFOUND;
	}
	if (has(line, "server gave http response to https")) {
		*reason = "registry speaks plain HTTP and is not configured as insecure";
		return MCP_E_PRECONDITION;
	}
	if (has(line, "connection refused") || has(line, "no route to host") ||
	    has(line, "network is unreachable") || has(line, "i/o timeout") ||
	    has(line, "no such host")) {
		*reason = "registry unreachable";
		return MCP_E_UNAVAILABLE;
	}
	if (has(line, "unauthorized") || has(line, "authentication required") ||
	    has(line, "denied")) {
		*reason = "access denied";
		return MCP_E_PERM;
	}
	if (has(line, "address already in use")) {
		*reason = "host port already in use";
		return MCP_E_RESOURCE;
	}
	if (has(line, "already in use")) {
		*reason = "name already in use";
		return MCP_E_EXISTS;
	}
	if (has(line, "state improper") || has(line, "is running") ||
	    has(line, "is paused")) {
		return MCP_E_PRECONDITION;
	}
	if (has(line, "invalid reference format") || has(line, "invalid argument") ||
	    has(line, "invalid")) {
		return MCP_E_INVALID;
	}
	return MCP_E_UNKNOWN;
}

/* Fill err from a failed podman run: "<what>: <reason> (<podman line>)". */
static int
podman_fail(struct spawn_result *res, struct mcp_err *err, const char *what)
{
	const char *line = spawn_errline(res), *reason;
	int code = podman_classify(line, &reason);

	if (reason && strcasecmp(reason, line) != 0)
		return mcp_err_set(err, code, "%s: %s (podman: %s)", what, reason, line);
	return mcp_err_set(err, code, "%s: %s", what, line);
}

/* Validation at the edge: nothing that podman could read as an option. */
static int
podman_check_name(const char *name, struct mcp_err *err, const char *op)
{
	size_t i;

	if (name == NULL || name[0] == '\0')
		return mcp_err_set(err, MCP_E_INVALID, "%s: empty container name", op);
	for (i = 0; name[i]; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (i > 0 && (c == '-' || c == '_' || c == '.'))))
			return mcp_err_set(err, MCP_E_INVALID,
			    "%s %s: invalid container name", op, name);
	}
	if (i >= RT_NAME_MAX)
		return mcp_err_set(err, MCP_E_INVALID, "%s %s: name too long", op, name);
	return 0;
}

static int
podman_check_image(const char *image, struct mcp_err *err, const char *op)
{
	if (image == NULL || image[0] == '\0')
		return mcp_err_set(err, MCP_E_INVALID, "%s: empty image reference", op);
	if (image[0] == '-' || strlen(image) >= 512)
		return mcp_err_set(err, MCP_E_INVALID, "%s %s: invalid image reference",
		    op, image);
	for (const char *c = image; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return mcp_err_set(err, MCP_E_INVALID,
			    "%s %s: invalid image reference", op, image);
	return 0;
}

/* Is the registry of image one of the configured insecure (plain HTTP) ones? */
static int
podman_insecure(struct podman *p, const char *image)
{
	const char *slash = strchr(image, '/');
	size_t len;

	if (slash == NULL || p->insecure == NULL)
		return 0;
	len = (size_t)(slash - image);
	for (char **r = p->insecure; *r; r++)
		if (strlen(*r) == len && strncmp(*r, image, len) == 0)
			return 1;
	return 0;
}

static int
podman_pull(struct runtime *rt, const char *image, struct mcp_err *err)
{
	struct podman *p = podman_of(rt);
	struct podman_argv a;
	struct spawn_result res;
	char what[600];
	int rc = 0;

	if (podman_check_image(image, err, "pull") == -1)
		return -1;
	snprintf(what, sizeof(what), "pull %s", image);
	argv_start(p, &a);
	argv_add(&a, "pull");
	argv_add(&a, "-q");
	if (podman_insecure(p, image))
		argv_add(&a, "--tls-verify=false");
	argv_add(&a, image);
	rc = podman_call(p, &a, p->timeout_ms * 10, &res, err, what);
	spawn_result_free(&res);
	return rc;
}

static int
podman_image_exists(struct runtime *rt, const char *image, struct mcp_err *err)
{
	struct podman *p = podman_of(rt);
	struct podman_argv a;
	struct spawn_result res;
	char what[600];
	int rc;

	if (podman_check_image(image, err, "image exists") == -1)
		return -1;
	snprintf(what, sizeof(what), "image exists %s", image);
	argv_start(p, &a);
	argv_add(&a, "image");
	argv_add(&a, "exists");
	argv_add(&a, image);
	if (podman_exec(p, &a, 0, &res, err, what) == -1)
		rc = -1;
	else if (res.status == 0)
		rc = 1;
	else if (res.status == 1)
		rc = 0;
	else
		rc = podman_fail(&res, err, what);
	spawn_result_free(&res);
	argv_free(&a);
	return rc;
}

static int podman_inspect(struct runtime *rt, const char *name, struct rt_info *out,
    struct mcp_err *err);

/*
 * Best-effort removal of what a failed `podman run` left behind: only a
 * container of that name carrying this spec's labels (a failure before
 * podman checked the name must not remove someone else's container).
 */
static void
podman_discard(struct runtime *rt, const struct rt_spec *spec)
{
	struct podman *p = podman_of(rt);
	const char *name = spec->name;
	struct podman_argv a;
	struct spawn_result res;
	struct rt_info info;
	struct mcp_err ignore = MCP_ERR_INIT;

	if (podman_inspect(rt, name, &info, &ignore) == -1 ||
	    strcmp(info.service, spec->service ? spec->service : "") != 0 ||
	    strcmp(info.component, spec->component ? spec->component : "") != 0)
		return;
	argv_start(p, &a);
	argv_add(&a, "rm");
	argv_add(&a, "-f");
	argv_add(&a, "-t");
	argv_add(&a, "0");
	argv_add(&a, name);
	if (podman_exec(p, &a, 0, &res, &ignore, "rm") == 0)
		spawn_result_free(&res);
	argv_free(&a);
}

/*
 * Refuse host ports that are taken before podman sees them: when a run
 * fails on a busy port, netavark's teardown of the failed container also
 * deletes the port-forward rules it shares with the container that holds
 * the port (podman 4.3 / netavark 1.4), breaking that one.  Rootful podman
 * keeps published ports bound (conmon), so a bind test sees them.
 */
static int
podman_ports_free(const struct rt_spec *s, struct mcp_err *err, const char *what)
{
	for (size_t i = 0; i < s->nports; i++) {
		char owner[128];
		int r;

		if (s->ports[i].host_port <= 0)
			continue;
		if (s->ports[i].host_port > 65535 || s->ports[i].port <= 0 ||
		    s->ports[i].port > 65535)
			return mcp_err_set(err, MCP_E_INVALID, "%s: invalid port %d:%d",
			    what, s->ports[i].host_port, s->ports[i].port);
		r = proc_loopback_port_free(s->ports[i].host_port, owner, sizeof(owner));
		if (r == -1)
			return mcp_err_errno(err, errno, "%s: host port 127.0.0.1:%d: "
			    "bind test", what, s->ports[i].host_port);
		if (r == 0)
			return mcp_err_set(err, MCP_E_RESOURCE,
			    "%s: host port 127.0.0.1:%d already in use by %s", what,
			    s->ports[i].host_port, owner[0] ? owner :
			    "another process (its owner is not visible in /proc)");
	}
	return 0;
}

/* The last non-empty line of `podman run -d`'s output: the container ID. */
static void
podman_run_id(const struct spawn_result *res, char *out, size_t outsz)
{
	const char *d = res->out.data ? res->out.data : "";
	size_t end = res->out.len, start;

	while (end > 0 && (d[end - 1] == '\n' || d[end - 1] == '\r' || d[end - 1] == ' '))
		end--;
	for (start = end; start > 0 && d[start - 1] != '\n'; start--)
		;
	if (end - start >= outsz)
		end = start + outsz - 1;
	memcpy(out, d + start, end - start);
	out[end - start] = '\0';
}

static int
podman_run(struct runtime *rt, const struct rt_spec *s, struct mcp_err *err)
{
	struct podman *p = podman_of(rt);
	struct podman_argv a;
	struct spawn_result res;
	char what[256];
	int rc = 0;
	size_t i;

	if (podman_check_name(s->name, err, "run") == -1 ||
	    podman_check_image(s->image, err, "run") == -1)
		return -1;
	snprintf(what, sizeof(what), "run %s", s->name);
	for (i = 0; s->env && s->env[i]; i++)
		if (strchr(s->env[i], '=') == NULL || s->env[i][0] == '=')
			return mcp_err_set(err, MCP_E_INVALID,
			    "%s: environment entry \"%s\" is not K=V", what, s->env[i]);
	for (i = 0; i < s->nvolumes; i++)
		if (s->volumes[i].host == NULL || s->volumes[i].guest == NULL ||
		    s->volumes[i].host[0] != '/' || s->volumes[i].guest[0] != '/')
			return mcp_err_set(err, MCP_E_INVALID,
			    "%s: volume %zu needs absolute host and guest paths", what, i);
	if (podman_ports_free(s, err, what) == -1)
		return -1;

	argv_start(p, &a);
	argv_add(&a, "run");
	argv_add(&a, "-d");
	argv_add(&a, "--name");
	argv_add(&a, s->name);
	argv_add(&a, "--init");
	argv_add(&a, "--pull=never");
	argv_add(&a, "--label");
	argv_add(&a, RT_LABEL_MANAGED "=true");
	argv_add(&a, "--label");
	argv_addf(&a, RT_LABEL_SERVICE "=%s", s->service ? s->service : "");
	argv_add(&a, "--label");
	argv_addf(&a, RT_LABEL_COMPONENT "=%s", s->component ? s->component : "");
	if (s->spec_hash && s->spec_hash[0]) {
		argv_add(&a, "--label");
		argv_addf(&a, RT_LABEL_SPEC_HASH "=%s", s->spec_hash);
	}
	if (s->restart && s->restart[0]) {
		argv_add(&a, "--restart");
		argv_add(&a, s->restart);
	}
	for (i = 0; i < s->nports; i++) {
		if (s->ports[i].host_port <= 0)
			continue;
		argv_add(&a, "-p");
		argv_addf(&a, "127.0.0.1:%d:%d", s->ports[i].host_port, s->ports[i].port);
	}
	for (i = 0; i < s->nvolumes; i++) {
		argv_add(&a, "-v");
		if (s->volumes[i].opts && s->volumes[i].opts[0])
			argv_addf(&a, "%s:%s:%s", s->volumes[i].host,
			    s->volumes[i].guest, s->volumes[i].opts);
		else
			argv_addf(&a, "%s:%s", s->volumes[i].host, s->volumes[i].guest);
	}
	for (i = 0; s->env && s->env[i]; i++) {
		argv_add(&a, "-e");
		argv_add(&a, s->env[i]);
	}
	if (s->user && s->user[0]) {
		argv_add(&a, "--user");
		argv_add(&a, s->user);
	}
	if (s->memory_mb > 0) {
		argv_add(&a, "--memory");
		argv_addf(&a, "%dm", s->memory_mb);
	}
	argv_add(&a, s->image);
	for (i = 0; s->cmd && s->cmd[i]; i++)
		argv_add(&a, s->cmd[i]);

	if (podman_exec(p, &a, 0, &res, err, what) == -1) {
		rc = -1;
		if (err->code == MCP_E_TIMEOUT)
			podman_discard(rt, s);
	} else if (res.status != 0) {
		rc = podman_fail(&res, err, what);
		/* A name conflict means the container is someone else's; any
		 * other failure may leave a created-but-not-started container
		 * of ours behind, which would block the next attempt. */
		if (err->code != MCP_E_EXISTS)
			podman_discard(rt, s);
	} else if (s->id_out && s->id_outsz) {
		/* `run -d` prints the new container's full ID */
		podman_run_id(&res, s->id_out, s->id_outsz);
	}
	spawn_result_free(&res);
	argv_free(&a);
	return rc;
}

static int
podman_stop(struct runtime *rt, const char *name, int timeout_s, struct mcp_err *err)
{
	struct podman *p = podman_of(rt);
	struct podman_argv a;
	struct spawn_result res;
	char what[256];
	int rc = 0;

	if (podman_check_name(name, err, "stop") == -1)
		return -1;
	if (timeout_s < 0)
		timeout_s = 10;
	snprintf(what, sizeof(what), "stop %s", name);
	argv_start(p, &a);
	argv_add(&a, "stop");
	argv_add(&a, "-t");
	argv_addf(&a, "%d", timeout_s);
	argv_add(&a, name);
	rc = podman_call(p, &a, p->timeout_ms + timeout_s * 1000, &res, err, what);
	spawn_result_free(&res);
	return rc;
}

static int
podman_remove(struct runtime *rt, const char *name, int force, struct mcp_err *err)
{
	struct podman *p = podman_of(rt);
	struct podman_argv a;
	struct spawn_result res;
	char what[256];
	int rc = 0;

	if (podman_check_name(name, err, "remove") == -1)
		return -1;
	snprintf(what, sizeof(what), "remove %s", name);
	argv_start(p, &a);
	argv_add(&a, "rm");
	if (force)
		argv_add(&a, "-f");
	argv_add(&a, name);
	rc = podman_call(p, &a, 0, &res, err, what);
	if (rc == -1 && res.status != 0 && err->code == MCP_E_NOTFOUND) {
		mcp_err_clear(err);	/* absent is success */
		rc = 0;
	}
	spawn_result_free(&res);
	return rc;
}

/* ---- JSON -> rt_info ---- */

static const char *
json_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

static long long
json_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	return 0;
}

/* podman's states folded into the interface's vocabulary. */
static const char *
podman_state(const char *s)
{
	if (strcmp(s, "running") == 0 || strcmp(s, "stopping") == 0)
		return "running";
	if (strcmp(s, "paused") == 0)
		return "paused";
	if (strcmp(s, "created") == 0 || strcmp(s, "configured") == 0 ||
	    strcmp(s, "initialized") == 0)
		return "created";
	return "stopped";	/* exited, stopped, removing, unknown */
}

/* RFC 3339 ("2024-01-02T03:04:05.123456789+01:00") to unix seconds; 0 if unset. */
static int64_t
podman_time(const char *s)
{
	struct tm tm;
	const char *z;
	int y, mo, d, h, mi, sec, n = 0;
	int64_t t;

	if (sscanf(s, "%d-%d-%dT%d:%d:%d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
	    y < 1971)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	z = s + n;
	if (*z == '.')
		for (z++; *z >= '0' && *z <= '9'; z++)
			;
	if (*z == '+' || *z == '-') {
		int oh = 0, om = 0;

		if (sscanf(z + 1, "%d:%d", &oh, &om) >= 1)
			t -= (*z == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
	}
	return t;
}

static void
info_labels(struct rt_info *out, json_t *labels)
{
	mcp_strlcpy(out->service, json_str(labels, RT_LABEL_SERVICE), sizeof(out->service));
	mcp_strlcpy(out->component, json_str(labels, RT_LABEL_COMPONENT),
	    sizeof(out->component));
	mcp_strlcpy(out->spec_hash, json_str(labels, RT_LABEL_SPEC_HASH),
	    sizeof(out->spec_hash));
}

/* One element of `podman container inspect --format json`. */
static void
info_from_inspect(struct rt_info *out, json_t *c)
{
	json_t *state = json_object_get(c, "State");
	json_t *config = json_object_get(c, "Config");
	json_t *host = json_object_get(c, "HostConfig");
	const char *image = json_str(c, "ImageName");

	memset(out, 0, sizeof(*out));
	mcp_strlcpy(out->name, json_str(c, "Name"), sizeof(out->name));
	mcp_strlcpy(out->id, json_str(c, "Id"), sizeof(out->id));
	if (image[0] == '\0')
		image = json_str(config, "Image");
	mcp_strlcpy(out->image, image, sizeof(out->image));
	mcp_strlcpy(out->state, podman_state(json_str(state, "Status")), sizeof(out->state));
	out->started_at = podman_time(json_str(state, "StartedAt"));
	out->exit_code = (int)json_int(state, "ExitCode");
	out->pid = (int)json_int(state, "Pid");
	out->memory_mb = (int)(json_int(host, "Memory") / (1024 * 1024));
	info_labels(out, json_object_get(config, "Labels"));
}

/* One element of `podman ps -a --format json`. */
static void
info_from_ps(struct rt_info *out, json_t *c)
{
	json_t *names = json_object_get(c, "Names");
	long long started = json_int(c, "StartedAt");

	memset(out, 0, sizeof(*out));
	mcp_strlcpy(out->name, json_string_value(json_array_get(names, 0)) ?
	    json_string_value(json_array_get(names, 0)) : "", sizeof(out->name));
	mcp_strlcpy(out->id, json_str(c, "Id"), sizeof(out->id));
	mcp_strlcpy(out->image, json_str(c, "Image"), sizeof(out->image));
	mcp_strlcpy(out->state, podman_state(json_str(c, "State")), sizeof(out->state));
	out->started_at = started > 0 ? started : 0;
	out->exit_code = (int)json_int(c, "ExitCode");
	out->pid = (int)json_int(c, "Pid");
	info_labels(out, json_object_get(c, "Labels"));
}

static json_t *
podman_json(struct spawn_result *res, struct mcp_err *err, const char *what)
{
	json_error_t je;
	json_t *j = json_loadb(res->out.data, res->out.len, 0, &je);

	if (j == NULL || !json_is_array(j)) {
		json_decref(j);
		mcp_err_set(err, MCP_E_INTERNAL, "%s: unexpected podman output: %s",
		    what, j ? "not a JSON array" : je.text);
		return NULL;
	}
	return j;
}

static int
podman_inspect(struct runtime *rt, const char *name, struct rt_info *out,
    struct mcp_err *err)
{
	struct podman *p = podman_of(rt);
	struct podman_argv a;
	struct spawn_result res;
	char what[256];
	json_t *j = NULL;
	int rc = -1;

	if (podman_check_name(name, err, "inspect") == -1)
		return -1;
	snprintf(what, sizeof(what), "inspect %s", name);
	argv_start(p, &a);
	argv_add(&a, "container");
	argv_add(&a, "inspect");
	argv_add(&a, "--format");
	argv_add(&a, "json");
	argv_add(&a, name);
	if (podman_call(p, &a, 0, &res, err, what) == -1 ||
	    (j = podman_json(&res, err, what)) == NULL)
		goto out;
	if (json_array_size(j) == 0) {
		mcp_err_set(err, MCP_E_NOTFOUND, "%s: no such container", what);
		goto out;
	}
	info_from_inspect(out, json_array_get(j, 0));
	rc = 0;
out:
	json_decref(j);
	spawn_result_free(&res);
	return rc;
}

static int
podman_list(struct runtime *rt, struct rt_info **out, size_t *n, struct mcp_err *err)
{
	struct podman *p = podman_of(rt);
	struct podman_argv a;
	struct spawn_result res;
	const char *what = "list containers";
	json_t *j = NULL, *c;
	size_t i, k = 0;
	int rc = -1;

	*out = NULL;
	*n = 0;
	argv_start(p, &a);
	argv_add(&a, "ps");
	argv_add(&a, "-a");
	argv_add(&a, "--format");
	argv_add(&a, "json");
	argv_add(&a, "--filter");
	argv_add(&a, "label=" RT_LABEL_MANAGED "=true");
	if (podman_call(p, &a, 0, &res, err, what) == -1 ||
	    (j = podman_json(&res, err, what)) == NULL)
		goto out;
	*out = xcalloc(json_array_size(j), sizeof(**out));
	json_array_foreach(j, i, c) {
		if (!json_is_object(c))
			continue;
		info_from_ps(&(*out)[k], c);
		if ((*out)[k].name[0])
			k++;
	}
	*n = k;
	rc = 0;
out:
	json_decref(j);
	spawn_result_free(&res);
	return rc;
}

/* logs: pass chunks through, remember whether the caller asked to stop. */
struct podman_logs_ctx {
	rt_log_cb cb;
	void *arg;
	int stopped;
};

static int
podman_logs_chunk(const char *data, size_t len, void *arg)
{
	struct podman_logs_ctx *ctx = arg;

	if (ctx->cb(data, len, ctx->arg) != 0) {
		ctx->stopped = 1;
		return 1;
	}
	return 0;
}

static int
podman_logs(struct runtime *rt, const char *name, int tail, int follow,
    rt_log_cb cb, void *arg, struct mcp_err *err)
{
	struct podman *p = podman_of(rt);
	struct podman_logs_ctx ctx = { cb, arg, 0 };
	struct podman_argv a;
	struct spawn_result res;
	struct spawn_opts o;
	struct rt_info info;
	const char *env[2];
	char what[256];
	int rc = 0;

	/* Check first: once streaming, podman's own errors are mixed into
	 * the output the caller receives. */
	if (podman_inspect(rt, name, &info, err) == -1) {
		if (err->code == MCP_E_NOTFOUND)
			return mcp_err_set(err, MCP_E_NOTFOUND, "logs %s: no such container", name);
		return mcp_err_prefix(err, "logs");
	}
	snprintf(what, sizeof(what), "logs %s", name);
	argv_start(p, &a);
	argv_add(&a, "logs");
	if (tail > 0) {
		argv_add(&a, "--tail");
		argv_addf(&a, "%d", tail);
	}
	if (follow)
		argv_add(&a, "-f");
	argv_add(&a, name);
	podman_opts(p, &o, env, 0);
	if (follow)
		o.timeout_ms = 0;	/* until the callback stops it */
	if (spawn_stream(a.v, &o, podman_logs_chunk, &ctx, &res, err) == -1) {
		mcp_err_prefix(err, "%s", what);
		rc = -1;
	} else if (res.status != 0 && !ctx.stopped)
		rc = podman_fail(&res, err, what);
	spawn_result_free(&res);
	argv_free(&a);
	return rc;
}

/* ---- events ---- */

int
podman_event_parse(const char *line, struct podman_event *ev)
{
	const char *p = line;
	json_error_t je;
	json_t *j;
	int rc = -1;

	memset(ev, 0, sizeof(*ev));
	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	if (*p != '{')
		return 0;	/* podman's stderr (warnings) shares the stream */
	if ((j = json_loads(p, 0, &je)) == NULL || !json_is_object(j))
		goto out;
	if (json_str(j, "Name")[0] == '\0' || json_str(j, "Status")[0] == '\0')
		goto out;
	mcp_strlcpy(ev->name, json_str(j, "Name"), sizeof(ev->name));
	mcp_strlcpy(ev->id, json_str(j, "ID"), sizeof(ev->id));
	mcp_strlcpy(ev->status, json_str(j, "Status"), sizeof(ev->status));
	rc = 1;
out:
	json_decref(j);
	return rc;
}

/* events: split the stream into lines, hand each event on. */
struct podman_events_ctx {
	podman_event_cb cb;
	void *arg;
	struct buf line;
	int stopped;		/* the callback asked to stop */
	char bad[160];		/* why the stream could not be read: a gap */
};

#define PODMAN_EVENT_LINE_MAX	65536

static int
podman_events_line(struct podman_events_ctx *ctx, const char *line)
{
	struct podman_event ev;
	int rc = podman_event_parse(line, &ev);

	if (rc == -1) {
		snprintf(ctx->bad, sizeof(ctx->bad), "unreadable output: %.100s", line);
		return 1;
	}
	if (rc == 1 && ctx->cb(&ev, ctx->arg) != 0) {
		ctx->stopped = 1;
		return 1;
	}
	return 0;
}

static int
podman_events_chunk(const char *data, size_t len, void *arg)
{
	struct podman_events_ctx *ctx = arg;
	char *nl;
	size_t used;

	if (len == 0)
		goto tick;
	buf_append(&ctx->line, data, len);
	while ((nl = memchr(ctx->line.data, '\n', ctx->line.len)) != NULL) {
		*nl = '\0';
		used = (size_t)(nl - ctx->line.data) + 1;
		if (podman_events_line(ctx, ctx->line.data) != 0)
			return 1;
		memmove(ctx->line.data, ctx->line.data + used, ctx->line.len - used);
		ctx->line.len -= used;
		ctx->line.data[ctx->line.len] = '\0';
	}
	if (ctx->line.len > PODMAN_EVENT_LINE_MAX) {
		snprintf(ctx->bad, sizeof(ctx->bad), "an event longer than %d bytes",
		    PODMAN_EVENT_LINE_MAX);
		return 1;
	}
tick:
	/* after each batch too, so a burst can be handled as one */
	if (ctx->cb(NULL, ctx->arg) != 0)
		ctx->stopped = 1;
	return ctx->stopped;
}

int
podman_events(struct runtime *rt, int64_t since, podman_event_cb cb, void *arg,
    int *pid, struct mcp_err *err)
{
	struct podman *p = podman_of(rt);
	struct podman_events_ctx ctx = { cb, arg, BUF_INIT, 0, "" };
	struct podman_argv a;
	struct spawn_result res;
	struct spawn_opts o;
	const char *env[2];
	int rc = -1;

	argv_start(p, &a);
	argv_add(&a, "events");
	argv_add(&a, "--format");
	argv_add(&a, "json");
	argv_add(&a, "--filter");
	argv_add(&a, "type=container");
	argv_add(&a, "--filter");
	argv_add(&a, "label=" RT_LABEL_MANAGED "=true");
	if (since > 0) {
		argv_add(&a, "--since");
		argv_addf(&a, "%lld", (long long)since);
	}
	podman_opts(p, &o, env, 0);
	o.timeout_ms = 0;	/* until the callback stops it */
	o.pid_out = pid;
	if (spawn_stream(a.v, &o, podman_events_chunk, &ctx, &res, err) == -1)
		mcp_err_prefix(err, "podman events");
	else if (ctx.stopped)
		rc = 0;
	else if (ctx.bad[0])
		mcp_err_set(err, MCP_E_DATALOSS, "podman events: %s", ctx.bad);
	else if (res.status > 128)
		mcp_err_set(err, MCP_E_UNAVAILABLE, "podman events: killed by signal %d",
		    res.status - 128);
	else if (res.status != 0)
		podman_fail(&res, err, "podman events");
	else
		mcp_err_set(err, MCP_E_UNAVAILABLE, "podman events: ended");
	spawn_result_free(&res);
	buf_free(&ctx.line);
	argv_free(&a);
	return rc;
}

static void
podman_free(struct runtime *rt)
{
	struct podman *p;

	if (rt == NULL)
		return;
	p = rt->priv;
	if (p) {
		for (size_t i = 0; p->global && p->global[i]; i++)
			free(p->global[i]);
		free(p->global);
		for (size_t i = 0; p->insecure && p->insecure[i]; i++)
			free(p->insecure[i]);
		free(p->insecure);
		free(p->conf_env);
		free(p->binary);
		free(p);
	}
	free(rt);
}

static int
podman_exec_in(struct runtime *rt, const char *name, const char *const *argv,
    int timeout_ms, struct mcp_err *err)
{
	struct podman *p = podman_of(rt);
	struct podman_argv a;
	struct spawn_result res;
	char what[320];
	int rc;

	if (podman_check_name(name, err, "exec") == -1)
		return -1;
	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0')
		return mcp_err_set(err, MCP_E_INVALID, "exec in %s: no command", name);
	snprintf(what, sizeof(what), "exec %s in %s", argv[0], name);
	argv_start(p, &a);
	argv_add(&a, "exec");
	argv_add(&a, name);
	for (size_t i = 0; argv[i]; i++)
		argv_add(&a, argv[i]);
	rc = podman_call(p, &a, timeout_ms, &res, err, what);
	spawn_result_free(&res);
	return rc;
}

static const struct runtime_ops podman_ops = {
	.name = "container",
	.pull = podman_pull,
	.image_exists = podman_image_exists,
	.run = podman_run,
	.stop = podman_stop,
	.remove = podman_remove,
	.inspect = podman_inspect,
	.list = podman_list,
	.logs = podman_logs,
	.exec = podman_exec_in,
	.free = podman_free,
};

static char **
strv_copy(const char *const *v, size_t *count)
{
	size_t n = 0;
	char **c;

	while (v && v[n])
		n++;
	c = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		c[i] = xstrdup(v[i]);
	if (count)
		*count = n;
	return c;
}

struct runtime *
podman_runtime_new(const struct podman_config *cfg, struct mcp_err *err)
{
	static const struct podman_config defaults = { 0 };
	struct runtime *rt;
	struct podman *p;

	if (cfg == NULL)
		cfg = &defaults;
	p = xcalloc(1, sizeof(*p));
	p->binary = xstrdup(cfg->binary && cfg->binary[0] ? cfg->binary : "podman");
	p->global = strv_copy(cfg->global_args, &p->nglobal);
	p->insecure = strv_copy(cfg->insecure_registries, NULL);
	p->timeout_ms = (cfg->timeout_s > 0 ? cfg->timeout_s : 60) * 1000;
	if (p->nglobal > PODMAN_ARGV_MAX / 2) {
		mcp_err_set(err, MCP_E_INVALID, "podman runtime: %zu global arguments (max %d)",
		    p->nglobal, PODMAN_ARGV_MAX / 2);
		rt = xcalloc(1, sizeof(*rt));
		rt->priv = p;
		podman_free(rt);
		return NULL;
	}
	if (cfg->containers_conf && cfg->containers_conf[0]) {
		size_t len = strlen("CONTAINERS_CONF=") + strlen(cfg->containers_conf) + 1;

		p->conf_env = xcalloc(len, 1);
		snprintf(p->conf_env, len, "CONTAINERS_CONF=%s", cfg->containers_conf);
	}
	rt = xcalloc(1, sizeof(*rt));
	rt->ops = &podman_ops;
	rt->priv = p;
	return rt;
}
