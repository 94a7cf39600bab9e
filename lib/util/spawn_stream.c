/*
 * util/spawn_stream.c: run a child from an argv and hand its output to a
 * callback as it arrives (spawn_stream() in spawn.h), for long-running
 * readers such as `podman logs -f`.  stdout and stderr go to one pipe so
 * the callback sees them in the order the child wrote them; a periodic
 * len == 0 call lets the caller cancel, which kills the child.
 */
#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"

#define STREAM_TICK_MS	500
#define STREAM_KEEP	4096	/* output tail kept for spawn_errline */
#define STREAM_GRACE_MS	1000	/* SIGTERM -> SIGKILL */


/* Keep only the last STREAM_KEEP bytes of the output in b. */
static void
stream_keep_tail(struct buf *b, const char *p, size_t n)
{
	if (n >= STREAM_KEEP) {
		buf_reset(b);
		buf_append(b, p + n - STREAM_KEEP, STREAM_KEEP);
		return;
	}
	if (b->len + n > 2 * STREAM_KEEP) {
		size_t drop = b->len + n - STREAM_KEEP;

		memmove(b->data, b->data + drop, b->len - drop);
		b->len -= drop;
		b->data[b->len] = '\0';
	}
	buf_append(b, p, n);
}

int
spawn_stream(const char *const argv[], const struct spawn_opts *opts,
    spawn_chunk_cb cb, void *arg, struct spawn_result *res, struct mcp_err *err)
{
	int outp[2] = { -1, -1 }, fds[3], rc, stop = 0, timed_out = 0;
	int poll_errno = 0, killed;
	long long deadline = 0, next_tick, until;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	buf_puts(&res->out, "");
	buf_puts(&res->errout, "");
	if (pipe2(outp, O_CLOEXEC) == -1)
		return mcp_err_errno(err, errno, "run %s: pipe", argv[0]);
	fds[0] = -1;
	fds[1] = outp[1];
	fds[2] = outp[1];
	rc = spawn_start(argv, opts ? opts->env_add : NULL, fds, &pid, err);
	close(outp[1]);
	if (rc == -1) {
		close(outp[0]);
		return -1;
	}

	if (opts && opts->pid_out)
		*opts->pid_out = (int)pid;
	if (opts && opts->timeout_ms > 0)
		deadline = mcp_now_ms() + opts->timeout_ms;
	next_tick = mcp_now_ms() + STREAM_TICK_MS;
	while (!stop) {
		struct pollfd pfd = { .fd = outp[0], .events = POLLIN };
		long long now = mcp_now_ms(), wait = next_tick - now;

		if (deadline && now >= deadline) {
			timed_out = 1;
			break;
		}
		if (deadline && deadline - now < wait)
			wait = deadline - now;
		if (wait < 0)
			wait = 0;
		rc = poll(&pfd, 1, (int)wait);
		if (rc == -1 && errno != EINTR) {
			poll_errno = errno;
			break;
		}
		if (rc > 0) {
			char chunk[8192];
			ssize_t n = read(outp[0], chunk, sizeof(chunk));

			if (n > 0) {
				stream_keep_tail(&res->errout, chunk, (size_t)n);
				if (cb(chunk, (size_t)n, arg) != 0)
					stop = 1;
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN))
				break;	/* EOF: the child is done writing */
		}
		if (!stop && mcp_now_ms() >= next_tick) {
			next_tick = mcp_now_ms() + STREAM_TICK_MS;
			if (cb("", 0, arg) != 0)
				stop = 1;
		}
	}
	close(outp[0]);
	/* stopped, timed out or poll failed: terminate now; at EOF the child
	 * is done writing and gets until the deadline to exit */
	if (stop || timed_out || poll_errno)
		until = 0;
	else
		until = deadline ? deadline : mcp_now_ms() + SPAWN_EOF_WAIT_MS;
	res->status = spawn_reap(pid, until, STREAM_GRACE_MS, &killed);
	if (opts && opts->pid_out)
		*opts->pid_out = 0;
	/* the deadline passed while reading, or after EOF with the child
	 * still running */
	res->timed_out = timed_out || (killed && deadline && until == deadline);
	return spawn_verdict(argv[0], poll_errno, res,
	    opts ? opts->timeout_ms : 0, pid, err);
}
