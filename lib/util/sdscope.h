/*
 * util/sdscope.h: daemons that must outlive the agent (QEMU VMs, the node
 * proxy) started in transient systemd scopes of their own.
 *
 * Under mcp-agent.service every process the agent forks lands in the
 * unit's cgroup, and `systemctl stop|restart mcp-agent` signals that
 * cgroup (how much of it depends on KillMode=).  So when the agent runs
 * under systemd it starts QEMU and HAProxy as
 *
 *     systemd-run --scope --unit=mcp-vm-<name>.scope --collect --quiet --
 *         qemu-system-x86_64 ... -daemonize ...
 *
 * systemd-run registers a scope unit for itself and then execs the
 * command, so the daemonised QEMU (-daemonize) or HAProxy (-D) lives in
 * mcp-vm-<name>.scope / mcp-proxy-<node>.scope, which no stop of the
 * agent's unit touches; the PID in the pidfile is still QEMU's (HAProxy's
 * master's), so the /proc/<pid>/cmdline check that finds them again is
 * unchanged.  Without systemd the command runs as before.
 */
#ifndef MCP_UTIL_SDSCOPE_H
#define MCP_UTIL_SDSCOPE_H

#include <stddef.h>

#include "util/err.h"

#define SDSCOPE_UNIT_MAX 256
/* Properties (-p NAME=VALUE) sdscope_wrap_props may add. */
#define SDSCOPE_MAX_PROPS 4
/* Arguments sdscope_wrap(_props) puts before the command. */
#define SDSCOPE_EXTRA_ARGS (6 + 2 * SDSCOPE_MAX_PROPS)

/*
 * Pure: whether the text of /proc/self/cgroup places the process in a
 * systemd service: the unified ("0::") line, or else the name=systemd
 * one, ends in ".service".
 */
int sdscope_cgroup_is_service(const char *proc_cgroup);

/*
 * Whether this process runs as (part of) a systemd service: systemd is
 * the init system (/run/systemd/system exists) and $INVOCATION_ID is set
 * or /proc/self/cgroup names a .service.
 */
int sdscope_under_systemd(void);

/*
 * Resolve an [agent] systemd_scope setting: "yes" 1, "no" 0, "auto"
 * sdscope_under_systemd().  -1 with err for anything else.
 */
int sdscope_mode(const char *setting, struct mcp_err *err);

/*
 * Pure: the scope's unit name "<prefix>-<name>.scope", name escaped the
 * way systemd-escape does (every byte outside [A-Za-z0-9:_.] and a
 * leading '.' as \xHH; '-' kept, the names here are [a-z0-9-]).  -1 with
 * err when it does not fit out (or SDSCOPE_UNIT_MAX).
 */
int sdscope_unit_name(const char *prefix, const char *name, char *out, size_t outsz,
    struct mcp_err *err);

/*
 * Pure: out = systemd-run --scope ... --unit=<unit> -- argv...; out has
 * room for outmax pointers (NULL-terminated).  The strings are borrowed
 * (unitarg is the caller's buffer for "--unit=<unit>", at least
 * SDSCOPE_UNIT_MAX + 8 bytes).  -1 when it does not fit.
 */
int sdscope_wrap(const char *unit, const char *const *argv, const char **out,
    size_t outmax, char *unitarg, size_t unitargsz);

/*
 * Pure: the same with the scope's resource properties (NULL-terminated,
 * at most SDSCOPE_MAX_PROPS, e.g. "MemoryMax=402653184"), each as
 * "-p PROP": systemd then applies the limits to the scope's cgroup.
 */
int sdscope_wrap_props(const char *unit, const char *const *props,
    const char *const *argv, const char **out, size_t outmax, char *unitarg,
    size_t unitargsz);

/* What `systemctl show -p LoadState -p ActiveState -p ControlGroup` says. */
struct sdscope_state {
	int loaded;		/* LoadState=loaded */
	char active[32];	/* ActiveState= */
	char cgroup[512];	/* ControlGroup=, "" when none */
};

/* Pure: parse that output (unknown lines ignored). */
void sdscope_show_parse(const char *text, struct sdscope_state *st);

/* Pure: the first PID in busctl's GetUnitProcesses answer ("a(sus) N
 * \"cgroup\" PID \"cmdline\" ..."), 0 when N is 0, -1 when unparseable. */
int sdscope_procs_parse(const char *text);

/*
 * A scope of this name left from an earlier run (a VM restarted right
 * after it stopped, before systemd collected the old scope) makes
 * `systemd-run --unit=` fail.  When unit is still loaded and systemd
 * lists no process in it, stop it and reset-failed it, and wait (up to
 * 5 s) for systemd to collect it, so the name is free.  1
 * when it cleared one, 0 when there was none, -1 with err when the old
 * scope still holds a process (named) or systemctl failed.
 */
int sdscope_clear_stale(const char *unit, struct mcp_err *err);

#endif
