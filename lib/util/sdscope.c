/*
 * util/sdscope.c: QEMU and HAProxy in transient systemd scopes (sdscope.h).
 */
#include "util/sdscope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/file.h"
#include "util/spawn.h"

/* Does the path part (after the second ':') of this line end in .service? */
static int
line_is_service(const char *line, size_t len)
{
	const char *p = memchr(line, ':', len), *path;
	size_t n;

	if (p == NULL || (p = memchr(p + 1, ':', len - (size_t)(p + 1 - line))) == NULL)
		return 0;
	path = p + 1;
	n = len - (size_t)(path - line);
	/* a unit name before the suffix: "/x.service", not "/.service" */
	return n > strlen(".service") + 1 &&
	    memcmp(path + n - strlen(".service"), ".service", strlen(".service")) == 0 &&
	    path[n - strlen(".service") - 1] != '/';
}

int
sdscope_cgroup_is_service(const char *text)
{
	const char *line = text, *nl;
	int unified = -1, named = -1;

	while (line && *line) {
		size_t len;

		nl = strchr(line, '\n');
		len = nl ? (size_t)(nl - line) : strlen(line);
		if (len >= 3 && strncmp(line, "0::", 3) == 0 && unified == -1)
			unified = line_is_service(line, len);
		else if (len > 14 && memmem(line, len, ":name=systemd:", 14) && named == -1)
			named = line_is_service(line, len);
		line = nl ? nl + 1 : NULL;
	}
	/* hybrid hierarchy: systemd tracks units in name=systemd; the unified
	 * line then says "/" or the same path */
	if (named == 1 || unified == 1)
		return 1;
	return 0;
}

int
sdscope_under_systemd(void)
{
	struct buf b = BUF_INIT;
	struct mcp_err e = MCP_ERR_INIT;
	const char *inv = getenv("INVOCATION_ID");
	int r;

	if (access("/run/systemd/system", F_OK) == -1)
		return 0;
	if (inv && inv[0])
		return 1;
	if (file_read("/proc/self/cgroup", &b, 1 << 16, &e) == -1 || b.data == NULL) {
		buf_free(&b);
		return 0;
	}
	r = sdscope_cgroup_is_service(b.data);
	buf_free(&b);
	return r;
}

int
sdscope_mode(const char *setting, struct mcp_err *err)
{
	if (setting == NULL || strcmp(setting, "auto") == 0)
		return sdscope_under_systemd();
	if (strcmp(setting, "yes") == 0)
		return 1;
	if (strcmp(setting, "no") == 0)
		return 0;
	return mcp_err_set(err, MCP_E_INVALID, "systemd_scope must be \"auto\", "
	    "\"yes\" or \"no\", not \"%s\"", setting);
}

int
sdscope_unit_name(const char *prefix, const char *name, char *out, size_t outsz,
    struct mcp_err *err)
{
	size_t n, cap = outsz < SDSCOPE_UNIT_MAX ? outsz : SDSCOPE_UNIT_MAX;
	int w;

	w = snprintf(out, cap, "%s-", prefix);
	if (w < 0 || (size_t)w >= cap)
		goto toolong;
	n = (size_t)w;
	for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
		int keep = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == ':' || *s == '_' || *s == '-' ||
		    (*s == '.' && s != (const unsigned char *)name);

		if (n + (keep ? 1 : 4) + sizeof(".scope") > cap)
			goto toolong;
		if (keep)
			out[n++] = (char)*s;
		else
			n += (size_t)snprintf(out + n, cap - n, "\\x%02x", *s);
	}
	memcpy(out + n, ".scope", sizeof(".scope"));
	return 0;
toolong:
	if (outsz)
		out[0] = '\0';
	return mcp_err_set(err, MCP_E_INVALID, "systemd scope for %s-%s: name too long",
	    prefix, name);
}

int
sdscope_wrap(const char *unit, const char *const *argv, const char **out,
    size_t outmax, char *unitarg, size_t unitargsz)
{
	return sdscope_wrap_props(unit, NULL, argv, out, outmax, unitarg, unitargsz);
}

int
sdscope_wrap_props(const char *unit, const char *const *props,
    const char *const *argv, const char **out, size_t outmax, char *unitarg,
    size_t unitargsz)
{
	size_t n = 0, i, np = 0;
	int w;

	for (i = 0; argv[i]; i++)
		;
	while (props && props[np])
		np++;
	if (np > SDSCOPE_MAX_PROPS || i + 6 + 2 * np + 1 > outmax)
		return -1;
	w = snprintf(unitarg, unitargsz, "--unit=%s", unit);
	if (w < 0 || (size_t)w >= unitargsz)
		return -1;
	out[n++] = "systemd-run";
	out[n++] = "--scope";
	out[n++] = unitarg;
	out[n++] = "--collect";
	out[n++] = "--quiet";
	for (i = 0; i < np; i++) {
		out[n++] = "-p";
		out[n++] = props[i];
	}
	out[n++] = "--";
	for (i = 0; argv[i]; i++)
		out[n++] = argv[i];
	out[n] = NULL;
	return 0;
}

void
sdscope_show_parse(const char *text, struct sdscope_state *st)
{
	const char *line = text, *nl;

	memset(st, 0, sizeof(*st));
	while (line && *line) {
		size_t len;

		nl = strchr(line, '\n');
		len = nl ? (size_t)(nl - line) : strlen(line);
		if (len == strlen("LoadState=loaded") &&
		    strncmp(line, "LoadState=loaded", len) == 0)
			st->loaded = 1;
		else if (len > 12 && strncmp(line, "ActiveState=", 12) == 0)
			snprintf(st->active, sizeof(st->active), "%.*s",
			    (int)(len - 12), line + 12);
		else if (len > 13 && strncmp(line, "ControlGroup=", 13) == 0)
			snprintf(st->cgroup, sizeof(st->cgroup), "%.*s",
			    (int)(len - 13), line + 13);
		line = nl ? nl + 1 : NULL;
	}
}

int
sdscope_procs_parse(const char *text)
{
	const char *p;
	char *end;
	long n, pid;

	/* a(sus) N "cgroup" PID "cmdline" ... */
	if (strncmp(text, "a(sus) ", 7) != 0)
		return -1;
	n = strtol(text + 7, &end, 10);
	if (end == text + 7 || n < 0)
		return -1;
	if (n == 0)
		return 0;
	if ((p = strchr(end, '"')) == NULL || (p = strchr(p + 1, '"')) == NULL)
		return -1;
	pid = strtol(p + 1, &end, 10);
	if (end == p + 1 || pid <= 0 || pid > 0x7fffffff)
		return -1;
	return (int)pid;
}

static int
run_tool(const char *const *argv, struct buf *out, struct mcp_err *err)
{
	struct spawn_opts so = { .timeout_ms = 30000, .stdout_fd = -1 };
	struct spawn_result res;

	memset(&res, 0, sizeof(res));
	if (spawn_run(argv, &so, &res, err) == -1)
		return mcp_err_prefix(err, "%s %s", argv[0], argv[1]);
	if (res.status != 0) {
		mcp_err_set(err, MCP_E_UNAVAILABLE, "%s %s: %s", argv[0], argv[1],
		    spawn_errline(&res));
		spawn_result_free(&res);
		return -1;
	}
	if (out)
		buf_puts(out, res.out.data ? res.out.data : "");
	spawn_result_free(&res);
	return 0;
}

int
sdscope_clear_stale(const char *unit, struct mcp_err *err)
{
	const char *show[] = { "systemctl", "show", "-p", "LoadState", "-p",
	    "ActiveState", "-p", "ControlGroup", "--", unit, NULL };
	const char *procs[] = { "busctl", "call", "org.freedesktop.systemd1",
	    "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
	    "GetUnitProcesses", "s", unit, NULL };
	const char *stop[] = { "systemctl", "stop", "--", unit, NULL };
	const char *reset[] = { "systemctl", "reset-failed", "--", unit, NULL };
	struct sdscope_state st;
	struct buf out = BUF_INIT;
	struct mcp_err e = MCP_ERR_INIT;
	int pid, i;

	if (run_tool(show, &out, err) == -1)
		return -1;
	sdscope_show_parse(out.data ? out.data : "", &st);
	buf_free(&out);
	if (!st.loaded)
		return 0;
	/* systemd's own list: cgroup paths depend on where its root is */
	if (run_tool(procs, &out, err) == -1)
		return -1;
	pid = sdscope_procs_parse(out.data ? out.data : "");
	buf_free(&out);
	if (pid != 0)
		return pid > 0 ? mcp_err_set(err, MCP_E_EXISTS, "the scope %s from "
		    "an earlier run still holds pid %d", unit, pid) :
		    mcp_err_set(err, MCP_E_UNAVAILABLE, "the scope %s from an earlier "
		    "run: cannot tell whether it still holds a process", unit);
	if (strcmp(st.active, "inactive") != 0 && run_tool(stop, NULL, err) == -1)
		return -1;
	/* a failed scope stays loaded until reset; nothing to reset is fine */
	(void)run_tool(reset, NULL, &e);
	/* the name is free once systemd has collected the unit */
	for (i = 0; i < 50; i++) {
		if (run_tool(show, &out, &e) == -1)
			break;
		sdscope_show_parse(out.data ? out.data : "", &st);
		buf_free(&out);
		if (!st.loaded)
			break;
		usleep(100 * 1000);
	}
	return 1;
}
