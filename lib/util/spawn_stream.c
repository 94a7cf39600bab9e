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
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

/* SIGTERM, a grace period, then SIGKILL; always reaps. */
static int
stream_reap(pid_t pid, int kill_it)
{
	int wstatus = 0;
	long long until;

	if (kill_it) {
		kill(pid, SIGTERM);
		until = mcp_now_ms() + STREAM_GRACE_MS;
		for (;;) {
			pid_t r = waitpid(pid, &wstatus, WNOHANG);

			if (r == pid)
				goto done;
			if (r == -1 && errno != EINTR)
				return -1;
			if (mcp_now_ms() >= until)
				break;
			mcp_sleep_ms(10);
		}
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &wstatus, 0) == -1)
		if (errno != EINTR)
			return -1;
done:
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return -1;
}

int
spawn_stream(const char *const argv[], const struct spawn_opts *opts,
    spawn_chunk_cb cb, void *arg, struct spawn_result *res, struct mcp_err *err)
{
	posix_spawn_file_actions_t fa;
	int outp[2] = { -1, -1 }, rc, stop = 0, timed_out = 0;
	long long deadline = 0, next_tick;
	char **env;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	buf_puts(&res->out, "");
	buf_puts(&res->errout, "");
	if (pipe2(outp, O_CLOEXEC) == -1)
		return mcp_err_errno(err, errno, "run %s: pipe", argv[0]);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 2);
	env = spawn_env_new(opts ? opts->env_add : NULL);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	close(outp[1]);
	if (rc != 0) {
		close(outp[0]);
		mcp_err_errno(err, rc, "run %s", argv[0]);
		if (rc == ENOENT)
			err->code = MCP_E_PRECONDITION;
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
		if (rc == -1 && errno != EINTR)
			break;
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
	res->status = stream_reap(pid, stop || timed_out);
	if (opts && opts->pid_out)
		*opts->pid_out = 0;
	if (timed_out) {
		res->timed_out = 1;
		return mcp_err_set(err, MCP_E_TIMEOUT, "run %s: timed out after %d ms",
		    argv[0], opts->timeout_ms);
	}
	return 0;
}
