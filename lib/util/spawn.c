/*
 * util/spawn.c: posix_spawn with pipes, a poll loop that drains stdout and
 * stderr while writing stdin, and a deadline after which the child gets
 * SIGKILL.  spawn_start (the one way a child is started: clean signal
 * state, only stdin/stdout/stderr) and spawn_reap (the one way it is
 * waited for: always with a deadline) serve spawn_stream too.
 */
#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"

extern char **environ;

/* environ with "K=V" entries of add replacing or extending it (free the
 * array only) */
static char **
spawn_env_new(const char *const *add)
{
	size_t n = 0, m = 0, i, j;
	char **env;

	while (environ[n])
		n++;
	while (add && add[m])
		m++;
	env = xcalloc(n + m + 1, sizeof(char *));
	for (i = 0, j = 0; i < n; i++) {
		size_t k;
		int overridden = 0;
		const char *eq = strchr(environ[i], '=');
		size_t klen = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);

		for (k = 0; k < m; k++)
			if (strncmp(add[k], environ[i], klen) == 0 && add[k][klen] == '=')
				overridden = 1;
		if (!overridden)
			env[j++] = environ[i];
	}
	for (i = 0; i < m; i++)
		env[j++] = (char *)add[i];
	env[j] = NULL;
	return env;
}

/*
 * Every signal, glibc's internal ones included.  sigfillset leaves out the
 * two signals NPTL keeps for itself (SIGRTMIN-2 and -1: 32 and 33), and
 * posix_spawn then sets those to SIG_IGN in the child, which survives the
 * exec: the child would start with them ignored.  Naming them in the
 * "set to default" set makes the child start with nothing ignored; the
 * bits are set by hand because sigaddset refuses them.
 */
static void
spawn_sigset_all(sigset_t *set)
{
	const size_t bits = 8 * sizeof(set->__val[0]);

	sigfillset(set);
	for (int sig = 32; sig < SIGRTMIN; sig++)
		set->__val[(sig - 1) / bits] |= 1UL << ((sig - 1) % bits);
}

int
spawn_start(const char *const argv[], const char *const *env_add,
    const int fds[3], pid_t *pid, struct mcp_err *err)
{
	return spawn_start_fds(argv, env_add, fds, 3, pid, err);
}

/* The lowest descriptor spawn_start_fds parks its sources at. */
#define SPAWN_FD_PARK 64

int
spawn_start_fds(const char *const argv[], const char *const *env_add,
    const int *fds, int nfds, pid_t *pid, struct mcp_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	char **env = NULL;
	int rc = 0, have_fa = 0, have_attr = 0, fd, parked[SPAWN_MAX_FDS];

	if (nfds < 3 || nfds > SPAWN_MAX_FDS)
		return mcp_err_set(err, MCP_E_INTERNAL, "run %s: %d descriptors", argv[0], nfds);
	/* a source may sit where another target goes: dup them all out of the
	 * way first (CLOEXEC: only the dup2 copies reach the child) */
	for (fd = 0; fd < nfds; fd++) {
		parked[fd] = -1;
		if (fds[fd] >= 0 && rc == 0 &&
		    (parked[fd] = fcntl(fds[fd], F_DUPFD_CLOEXEC, SPAWN_FD_PARK)) == -1)
			rc = errno;
	}
	if (rc != 0)
		goto out;
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		goto out;
	have_fa = 1;
	for (fd = 0; fd < nfds && rc == 0; fd++) {
		if (parked[fd] >= 0)
			rc = posix_spawn_file_actions_adddup2(&fa, parked[fd], fd);
		else
			rc = posix_spawn_file_actions_addopen(&fa, fd, "/dev/null",
			    fd == 0 ? O_RDONLY : O_WRONLY, 0);
	}
	/* nothing of the agent's (sockets, the registry, other children's
	 * pipes) reaches the child, CLOEXEC or not */
	if (rc == 0)
		rc = posix_spawn_file_actions_addclosefrom_np(&fa, nfds);
	if (rc != 0)
		goto out;
	if ((rc = posix_spawnattr_init(&attr)) != 0)
		goto out;
	have_attr = 1;
	/* the agent's threads block SIGTERM/SIGINT/SIGHUP and ignore SIGPIPE:
	 * the child starts with an empty mask and every signal at default */
	sigemptyset(&none);
	spawn_sigset_all(&all);
	if ((rc = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(&attr, &all)) != 0 ||
	    (rc = posix_spawnattr_setflags(&attr,
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) != 0)
		goto out;
	env = spawn_env_new(env_add);
	rc = posix_spawnp(pid, argv[0], &fa, &attr, (char *const *)argv, env);
out:
	free(env);
	for (fd = 0; fd < nfds; fd++)
		if (parked[fd] >= 0)
			close(parked[fd]);
	if (have_attr)
		posix_spawnattr_destroy(&attr);
	if (have_fa)
		posix_spawn_file_actions_destroy(&fa);
	if (rc == 0)
		return 0;
	mcp_err_errno(err, rc, "run %s", argv[0]);
	if (rc == ENOENT)
		err->code = MCP_E_PRECONDITION;
	return -1;
}

/*
 * Wait until pid exits or the monotonic clock reaches until: 1 reaped
 * (*wstatus filled), 0 still running, -1 waitpid failed.  A pidfd makes
 * the wait exact; without one (old kernel, no descriptors left) it polls.
 */
static int
spawn_wait_until(pid_t pid, long long until, int *wstatus)
{
	int pfd = -1, r = 0, step = 1;

	for (;;) {
		pid_t w = waitpid(pid, wstatus, WNOHANG);
		long long left;

		if (w == pid) {
			r = 1;
			break;
		}
		if (w == -1 && errno != EINTR) {
			r = -1;
			break;
		}
		if ((left = until - mcp_now_ms()) <= 0)
			break;
		if (pfd == -1 && (pfd = pidfd_open(pid, 0)) == -1)
			pfd = -2;
		if (pfd >= 0) {
			struct pollfd p = { .fd = pfd, .events = POLLIN };

			poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		} else {
			mcp_sleep_ms((int)(left < step ? left : step));
			step = step < 50 ? step * 2 : 50;
		}
	}
	if (pfd >= 0)
		close(pfd);
	return r;
}

int
spawn_reap(pid_t pid, long long deadline, int grace_ms, int *killed)
{
	int wstatus = 0, r;

	*killed = 0;
	r = spawn_wait_until(pid, deadline, &wstatus);
	if (r == 0 && grace_ms > 0) {
		*killed = 1;
		kill(pid, SIGTERM);
		r = spawn_wait_until(pid, mcp_now_ms() + grace_ms, &wstatus);
	}
	if (r == 0) {
		*killed = 1;
		kill(pid, SIGKILL);
		r = spawn_wait_until(pid, mcp_now_ms() + SPAWN_REAP_MS, &wstatus);
	}
	if (r != 1)
		return -1;
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return -1;
}

static void
spawn_close_pair(int p[2])
{
	for (int k = 0; k < 2; k++)
		if (p[k] >= 0) {
			close(p[k]);
			p[k] = -1;
		}
}

int
spawn_verdict(const char *what, int poll_errno, const struct spawn_result *res,
    int timeout_ms, pid_t pid, struct mcp_err *err)
{
	if (poll_errno)
		return mcp_err_errno(err, poll_errno, "run %s: poll (child killed)",
		    what);
	if (res->timed_out)
		return mcp_err_set(err, MCP_E_TIMEOUT, "run %s: timed out after %d ms",
		    what, timeout_ms);
	if (res->status == -1)
		return mcp_err_set(err, MCP_E_INTERNAL, "run %s: pid %d could not be "
		    "reaped", what, (int)pid);
	return 0;
}

int
spawn_run(const char *const argv[], const struct spawn_opts *opts,
    struct spawn_result *res, struct mcp_err *err)
{
	static const struct spawn_opts defaults = { .stdout_fd = -1 };
	int inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int fds[3];
	pid_t pid;
	int rc, timeout, poll_errno = 0, killed;
	size_t cap, written = 0;
	long long deadline;

	if (opts == NULL)
		opts = &defaults;
	memset(res, 0, sizeof(*res));
	timeout = opts->timeout_ms > 0 ? opts->timeout_ms : 120000;
	cap = opts->max_output ? opts->max_output : (64u << 20);

	if (pipe2(outp, O_CLOEXEC) == -1 || pipe2(errp, O_CLOEXEC) == -1 ||
	    (opts->stdin_data && pipe2(inp, O_CLOEXEC) == -1)) {
		mcp_err_errno(err, errno, "run %s: pipe", argv[0]);
		goto fail_pipes;
	}
	fds[0] = opts->stdin_data ? inp[0] : -1;
	fds[1] = opts->stdout_fd >= 0 ? opts->stdout_fd : outp[1];
	fds[2] = errp[1];
	if (spawn_start(argv, opts->env_add, fds, &pid, err) == -1)
		goto fail_pipes;
	close(outp[1]);
	outp[1] = -1;
	close(errp[1]);
	errp[1] = -1;
	if (inp[0] >= 0) {
		close(inp[0]);
		inp[0] = -1;
		fcntl(inp[1], F_SETFL, O_NONBLOCK);
		if (opts->stdin_len == 0) {
			close(inp[1]);
			inp[1] = -1;
		}
	}

	deadline = mcp_now_ms() + timeout;
	while (outp[0] >= 0 || errp[0] >= 0 || inp[1] >= 0) {
		struct pollfd pfd[3];
		int nfd = 0, i;
		long long left = deadline - mcp_now_ms();

		if (left <= 0)
			break;
		if (outp[0] >= 0)
			pfd[nfd++] = (struct pollfd){ .fd = outp[0], .events = POLLIN };
		if (errp[0] >= 0)
			pfd[nfd++] = (struct pollfd){ .fd = errp[0], .events = POLLIN };
		if (inp[1] >= 0)
			pfd[nfd++] = (struct pollfd){ .fd = inp[1], .events = POLLOUT };
		rc = poll(pfd, (nfds_t)nfd, (int)(left > 1000 ? 1000 : left));
		if (rc == -1 && errno != EINTR) {
			poll_errno = errno;
			break;
		}
		for (i = 0; rc > 0 && i < nfd; i++) {
			char chunk[8192];
			ssize_t n;
			struct buf *dst;
			int *fdp;

			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == inp[1]) {
				n = write(inp[1], opts->stdin_data + written,
				    opts->stdin_len - written);
				if (n > 0)
					written += (size_t)n;
				if ((n == -1 && errno != EAGAIN && errno != EINTR) ||
				    written >= opts->stdin_len) {
					close(inp[1]);
					inp[1] = -1;
				}
				continue;
			}
			fdp = pfd[i].fd == outp[0] ? &outp[0] : &errp[0];
			dst = pfd[i].fd == outp[0] ? &res->out : &res->errout;
			n = read(*fdp, chunk, sizeof(chunk));
			if (n > 0) {
				if (dst->len + (size_t)n <= cap)
					buf_append(dst, chunk, (size_t)n);
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				close(*fdp);
				*fdp = -1;
			}
		}
	}
	/* the child is waited for until the deadline too (it may close its
	 * output and go on running); after a poll failure, not at all */
	res->status = spawn_reap(pid, poll_errno ? 0 : deadline, 0, &killed);
	res->timed_out = killed && !poll_errno;
	spawn_close_pair(inp);
	spawn_close_pair(outp);
	spawn_close_pair(errp);
	if (res->out.data == NULL)
		buf_puts(&res->out, "");
	if (res->errout.data == NULL)
		buf_puts(&res->errout, "");
	return spawn_verdict(argv[0], poll_errno, res, timeout, pid, err);

fail_pipes:
	spawn_close_pair(inp);
	spawn_close_pair(outp);
	spawn_close_pair(errp);
	return -1;
}

void
spawn_result_free(struct spawn_result *res)
{
	buf_free(&res->out);
	buf_free(&res->errout);
}

const char *
spawn_errline(struct spawn_result *res)
{
	char *s, *line;

	if (res->errout.data == NULL || res->errout.len == 0)
		return res->out.data && res->out.len ? res->out.data : "(no output)";
	s = res->errout.data;
	mcp_rtrim(s);
	line = strrchr(s, '\n');
	line = line ? line + 1 : s;
	/* podman prefixes "Error: "; keep the substance */
	if (strncmp(line, "Error: ", 7) == 0)
		line += 7;
	return line;
}
