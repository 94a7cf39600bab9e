/*
 * util/spawn.h: run a child process from an argv (never a shell), feed it
 * optional stdin, capture stdout and stderr, enforce a timeout, and report
 * the exit status.  Every external tool (podman, qemu-img, ...) goes
 * through here.
 */
#ifndef MCP_UTIL_SPAWN_H
#define MCP_UTIL_SPAWN_H

#include "util/buf.h"
#include "util/err.h"

struct spawn_opts {
	const char *const *env_add;	/* extra "K=V" entries, NULL-terminated; may be NULL */
	const char *stdin_data;		/* fed to the child's stdin; NULL = /dev/null */
	size_t stdin_len;
	int timeout_ms;			/* <= 0: 120 s */
	size_t max_output;		/* cap per stream; 0 = 64 MiB */
	int stdout_fd;			/* >= 0: child's stdout goes there (not captured) */
	int *pid_out;			/* spawn_stream: the child's pid while it runs, then 0 */
};

struct spawn_result {
	int status;		/* exit code, or 128+signal */
	int timed_out;
	struct buf out;		/* captured stdout */
	struct buf errout;	/* captured stderr */
};

/*
 * Run argv[0] (searched in PATH) and wait.  Returns 0 when the child ran
 * (whatever its exit code: check res->status), -1 when it could not be
 * started or timed out (err filled).  res must be released with
 * spawn_result_free().
 */
int spawn_run(const char *const argv[], const struct spawn_opts *opts,
    struct spawn_result *res, struct mcp_err *err);
void spawn_result_free(struct spawn_result *res);

/* One-line summary of a failed child for error messages: last stderr line. */
const char *spawn_errline(struct spawn_result *res);

/*
 * Streaming variant (util/spawn_stream.c), for output that must reach the
 * caller while the child runs (e.g. `podman logs -f`).  stdout and stderr
 * share one pipe, so cb sees them merged in arrival order (len > 0); cb is
 * also called with len == 0 about every 500 ms.  When cb returns non-zero
 * the child gets SIGTERM (SIGKILL after 1 s) and is reaped.  stdin is
 * /dev/null; opts->env_add is honoured; opts->timeout_ms <= 0 means no
 * deadline.  Returns 0 when the child ran (res->status; the last 4 KiB of
 * output are kept in res->errout for spawn_errline), -1 when it could not
 * be started or timed out.
 */
typedef int (*spawn_chunk_cb)(const char *data, size_t len, void *arg);
int spawn_stream(const char *const argv[], const struct spawn_opts *opts,
    spawn_chunk_cb cb, void *arg, struct spawn_result *res, struct mcp_err *err);

/* Shared by the spawn variants: environ with "K=V" entries of add
 * replacing or extending it (free the array only). */
char **spawn_env_new(const char *const *add);

#endif
