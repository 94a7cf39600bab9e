/*
 * util/spawn.h: run a child process from an argv (never a shell), feed it
 * optional stdin, capture stdout and stderr, enforce a timeout, and report
 * the exit status.  Every external tool (podman, qemu-img, ...) goes
 * through here.
 */
#ifndef MCP_UTIL_SPAWN_H
#define MCP_UTIL_SPAWN_H

#include <sys/types.h>

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
 * be started or timed out.  A child that closes its output but does not
 * exit is waited for until the deadline (SPAWN_EOF_WAIT_MS without one),
 * then terminated.
 */
#define SPAWN_EOF_WAIT_MS 10000
typedef int (*spawn_chunk_cb)(const char *data, size_t len, void *arg);
int spawn_stream(const char *const argv[], const struct spawn_opts *opts,
    spawn_chunk_cb cb, void *arg, struct spawn_result *res, struct mcp_err *err);

/*
 * Shared by the spawn variants (and the only way the tree starts a child):
 * start argv[0] (searched in PATH) with fds[0], fds[1], fds[2] as its
 * stdin, stdout and stderr (-1: /dev/null), the environment plus env_add
 * ("K=V", NULL-terminated, may be NULL), an empty signal mask, every
 * signal at its default action and no other descriptor open, whatever
 * the calling thread blocks, ignores or holds.  Every set-up step is
 * checked.  Returns 0 with *pid set, or -1 (err filled; MCP_E_PRECONDITION
 * when argv[0] is not found).
 */
int spawn_start(const char *const argv[], const char *const *env_add,
    const int fds[3], pid_t *pid, struct mcp_err *err);

/*
 * spawn_start with nfds descriptors (3 <= nfds <= SPAWN_MAX_FDS): the
 * child gets fds[i] as its descriptor i (-1: /dev/null), and nothing else,
 * e.g. a TAP handed to QEMU as "fd=3".
 */
#define SPAWN_MAX_FDS 8
int spawn_start_fds(const char *const argv[], const char *const *env_add,
    const int *fds, int nfds, pid_t *pid, struct mcp_err *err);
/*
 * Reap pid, waiting for it at most until deadline (mcp_now_ms() clock; a
 * deadline already past means "now").  A child still running then gets
 * SIGTERM and grace_ms to exit (grace_ms > 0), then SIGKILL and at most
 * SPAWN_REAP_MS more; *killed says whether it had to be signalled.
 * Returns its exit code (128+signal when a signal ended it), or -1 when it
 * could not be reaped even then (it is left behind: never waited for
 * without a bound).
 */
#define SPAWN_REAP_MS 5000
int spawn_reap(pid_t pid, long long deadline, int grace_ms, int *killed);

/* How a reaped child's run ends for the caller: -1 with err for a poll
 * failure (what = argv[0]), a timeout (res->timed_out) or a child that
 * could not be reaped (res->status == -1); else 0. */
int spawn_verdict(const char *what, int poll_errno, const struct spawn_result *res,
    int timeout_ms, pid_t pid, struct mcp_err *err);

#endif
