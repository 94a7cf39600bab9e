/*
 * util/spawn.c: posix_spawn with pipes, a poll loop that drains stdout and
 * stderr while writing stdin, and a deadline after which the child gets
 * SIGKILL.
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

extern char **environ;

char **
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

int
spawn_run(const char *const argv[], const struct spawn_opts *opts,
    struct spawn_result *res, struct mcp_err *err)
{
	static const struct spawn_opts defaults = { .stdout_fd = -1 };
	int inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	char **env = NULL;
	pid_t pid;
	int rc, wstatus = 0, timeout;
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
	posix_spawn_file_actions_init(&fa);
	if (opts->stdin_data)
		posix_spawn_file_actions_adddup2(&fa, inp[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (opts->stdout_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, opts->stdout_fd, 1);
	else
		posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	env = spawn_env_new(opts->env_add);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (rc != 0) {
		mcp_err_errno(err, rc, "run %s", argv[0]);
		if (rc == ENOENT)
			err->code = MCP_E_PRECONDITION;
		goto fail_pipes;
	}
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

		if (left <= 0) {
			res->timed_out = 1;
			kill(pid, SIGKILL);
			break;
		}
		if (outp[0] >= 0)
			pfd[nfd++] = (struct pollfd){ .fd = outp[0], .events = POLLIN };
		if (errp[0] >= 0)
			pfd[nfd++] = (struct pollfd){ .fd = errp[0], .events = POLLIN };
		if (inp[1] >= 0)
			pfd[nfd++] = (struct pollfd){ .fd = inp[1], .events = POLLOUT };
		rc = poll(pfd, (nfds_t)nfd, (int)(left > 1000 ? 1000 : left));
		if (rc == -1 && errno != EINTR)
			break;
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
	while (waitpid(pid, &wstatus, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(wstatus))
		res->status = WEXITSTATUS(wstatus);
	else if (WIFSIGNALED(wstatus))
		res->status = 128 + WTERMSIG(wstatus);
	if (outp[0] >= 0)
		close(outp[0]);
	if (errp[0] >= 0)
		close(errp[0]);
	if (inp[1] >= 0)
		close(inp[1]);
	if (res->out.data == NULL)
		buf_puts(&res->out, "");
	if (res->errout.data == NULL)
		buf_puts(&res->errout, "");
	if (res->timed_out)
		return mcp_err_set(err, MCP_E_TIMEOUT, "run %s: timed out after %d ms",
		    argv[0], timeout);
	return 0;

fail_pipes:
	for (int k = 0; k < 2; k++) {
		if (inp[k] >= 0)
			close(inp[k]);
		if (outp[k] >= 0)
			close(outp[k]);
		if (errp[k] >= 0)
			close(errp[k]);
	}
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
