/*
 * proxy/haproxy.h: the driver of one node proxy, a real HAProxy in
 * master-worker mode whose files live in one directory (SPEC §4.3):
 *
 *   <dir>/haproxy.cfg, p<P>.map, t<P>.map, p<P>.crtlist   rendered files
 *   <dir>/certs/<hostname>.pem                             key + full chain
 *   <dir>/haproxy.pid                                      the master's PID
 *   <dir>/master.sock, admin.sock                          master CLI, runtime API
 *
 * The driver applies a rendered set of files whole: it writes the files
 * that changed (atomically), has `haproxy -c` check the result and puts
 * the previous files back if it fails, then starts HAProxy if it does not
 * run, or reloads it hitlessly through the master CLI and waits until the
 * new worker has taken over.  HAProxy outlives the agent: a restarted
 * agent finds it again through the pidfile, trusted only when the process
 * is alive and its command line names this directory's haproxy.cfg.
 */
#ifndef MCP_PROXY_HAPROXY_H
#define MCP_PROXY_HAPROXY_H

#include <stddef.h>
#include <sys/types.h>

#include "proxy/render.h"
#include "util/buf.h"
#include "util/err.h"

struct proxy_driver {
	char *haproxy;		/* binary */
	char *dir;		/* absolute */
	int timeout_ms;		/* per HAProxy command and reload */
	char *scope_unit;	/* NULL, or the systemd scope HAProxy starts in */
};

/* Create dir (0700) and dir/certs; check the socket paths fit.  Starts
 * nothing. */
int proxy_driver_init(struct proxy_driver *d, const char *haproxy,
    const char *dir, int timeout_ms, struct mcp_err *err);
void proxy_driver_free(struct proxy_driver *d);
/*
 * Start HAProxy through `systemd-run --scope` in the transient unit
 * mcp-proxy-<node>.scope (util/sdscope.h), outside the caller's cgroup, so
 * that stopping the agent's unit never reaches it.  NULL node: start it
 * as a plain child (the default).
 */
int proxy_driver_set_scope(struct proxy_driver *d, const char *node,
    struct mcp_err *err);

/* The running master's PID (trusted, see above), or 0. */
pid_t proxy_driver_pid(const struct proxy_driver *d);

/*
 * Make HAProxy run with exactly these files: write what changed, check,
 * start, or apply it: through the runtime API when only route servers'
 * addresses or states changed (a redeploy's new host port, a stop or
 * start: no reload, nothing else disturbed), else by a hitless reload.
 * force: reload even if no rendered file changed (a certificate bundle was
 * renewed).  *action (may be NULL) says what happened: "unchanged",
 * "started", "updated" (runtime API), "reloaded".  Files of ports no longer
 * rendered are removed.
 */
int proxy_driver_apply(struct proxy_driver *d, const struct proxy_files *f,
    int force, const char **action, struct mcp_err *err);

/* Stop HAProxy (SIGTERM to the master, SIGKILL after the timeout). */
int proxy_driver_stop(struct proxy_driver *d, struct mcp_err *err);

/* One command on the runtime API (admin.sock) or the master CLI. */
int proxy_driver_admin(struct proxy_driver *d, const char *cmd,
    struct buf *out, struct mcp_err *err);
int proxy_driver_master(struct proxy_driver *d, const char *cmd,
    struct buf *out, struct mcp_err *err);

/* A change to one route server that the runtime API makes without a reload. */
struct proxy_srv_change {
	char backend[160];
	char addr[96];		/* "ADDR:PORT" */
	int disabled;		/* the route is stopped */
};

/*
 * Pure: when two rendered haproxy.cfg texts differ only in the address or
 * the "disabled" flag of route servers ("server s ADDR check ..." lines of
 * r_* backends), return how many such servers changed (0: identical) and
 * the changes in *out (malloc'ed); -1 when anything else differs, so a
 * reload is needed.
 */
int proxy_runtime_diff(const char *old_cfg, const char *new_cfg,
    struct proxy_srv_change **out, size_t *n);

/* A server's state as HAProxy reports it ("show stat"). */
struct proxy_server_state {
	char backend[160];
	char status[32];	/* "UP", "DOWN", "MAINT", "no check", ... */
	char check[64];		/* last check: "L4OK", "L4CON", ... */
};

/* Parse the CSV of "show stat" (pure; servers only, not FRONTEND/BACKEND
 * rows).  *out malloc'ed. */
int proxy_parse_stat(const char *csv, struct proxy_server_state **out,
    size_t *n, struct mcp_err *err);
/* The master's reload count and failed-reload count from "show proc"
 * (pure); -1 when the text has no master line. */
int proxy_parse_reloads(const char *show_proc, int *reloads, int *failed);

#endif
