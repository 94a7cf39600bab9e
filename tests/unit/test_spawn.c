/*
 * test_spawn.c: child-process hygiene of util/spawn.  A child started from
 * an agent-like thread (SIGTERM/SIGINT/SIGHUP blocked, SIGPIPE and SIGUSR1
 * ignored, a descriptor open without O_CLOEXEC) must start with an empty
 * signal mask, no ignored signal and only stdin/stdout/stderr, through
 * both spawn variants; a child that closes its output and keeps running
 * must not be waited for past the deadline, nor one that keeps it open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/spawn.h"

#define LEAK_FD 57	/* an agent descriptor the child must not get */

/* The value of "Field:" in /proc/<pid>/status text, or NULL. */
static const char *
status_field(const char *text, const char *field, char *out, size_t outsz)
{
	const char *p = strstr(text, field);

	if (p == NULL)
		return NULL;
	p += strlen(field);
	while (*p == ' ' || *p == '\t')
		p++;
	snprintf(out, outsz, "%.*s", (int)strcspn(p, "\n"), p);
	return out;
}

static int
collect(const char *data, size_t len, void *arg)
{
	buf_append(arg, data, len);
	return 0;
}

struct probe {
	int stream;		/* 1: spawn_stream, 0: spawn_run */
	const char *const *argv;
	struct buf out;
	int rc;
	struct mcp_err err;
};

/* Run the probe from a thread set up as the agent sets up its threads. */
static void *
probe_thread(void *arg)
{
	struct probe *p = arg;
	struct spawn_opts o = { .timeout_ms = 20000, .stdout_fd = -1 };
	struct spawn_result res;
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	if (p->stream) {
		p->rc = spawn_stream(p->argv, &o, collect, &p->out, &res, &p->err);
	} else {
		p->rc = spawn_run(p->argv, &o, &res, &p->err);
		buf_append(&p->out, res.out.data, res.out.len);
	}
	spawn_result_free(&res);
	return NULL;
}

static void
run_probe(struct probe *p)
{
	pthread_t t;
	int fd = open("/dev/null", O_RDONLY);	/* no O_CLOEXEC: on purpose */

	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, LEAK_FD), LEAK_FD);
	close(fd);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	assert_int_equal(pthread_create(&t, NULL, probe_thread, p), 0);
	pthread_join(t, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	close(LEAK_FD);
	if (p->rc != 0)
		fail_msg("spawn: %s", p->err.msg);
}

static void
check_signals(int stream)
{
	static const char *const argv[] = { "cat", "/proc/self/status", NULL };
	struct probe p = { stream, argv, BUF_INIT, 0, MCP_ERR_INIT };
	char v[64];

	run_probe(&p);
	assert_non_null(p.out.data);
	assert_non_null(status_field(p.out.data, "SigBlk:", v, sizeof(v)));
	assert_string_equal(v, "0000000000000000");
	assert_non_null(status_field(p.out.data, "SigIgn:", v, sizeof(v)));
	assert_string_equal(v, "0000000000000000");
	buf_free(&p.out);
}

static void
check_fds(int stream)
{
	/* the shell's own descriptors (not those of ls, which opens the
	 * directory it lists) */
	static const char *const argv[] = { "sh", "-c", "ls /proc/$$/fd", NULL };
	struct probe p = { stream, argv, BUF_INIT, 0, MCP_ERR_INIT };

	run_probe(&p);
	assert_non_null(p.out.data);
	assert_string_equal(p.out.data, "0\n1\n2\n");
	buf_free(&p.out);
}

static void
test_run_signals(void **state)
{
	(void)state;
	check_signals(0);
}

static void
test_stream_signals(void **state)
{
	(void)state;
	check_signals(1);
}

static void
test_run_fds(void **state)
{
	(void)state;
	check_fds(0);
}

static void
test_stream_fds(void **state)
{
	(void)state;
	check_fds(1);
}

/* stdin comes from /dev/null when none is given, not from the caller */
static void
test_stdin_devnull(void **state)
{
	static const char *const argv[] = { "readlink", "/proc/self/fd/0", NULL };
	struct spawn_result res;
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	assert_int_equal(spawn_run(argv, NULL, &res, &err), 0);
	assert_string_equal(res.out.data, "/dev/null\n");
	spawn_result_free(&res);
}

/*
 * A child that closes its output and goes on running (as a daemonizing
 * tool can) is killed at the deadline and reaped, not waited for.
 */
static const char *const detach_argv[] = {
	"sh", "-c", "exec >/dev/null 2>&1; sleep 30", NULL
};

static void
test_run_deadline_after_eof(void **state)
{
	struct spawn_opts o = { .timeout_ms = 500, .stdout_fd = -1 };
	struct spawn_result res;
	struct mcp_err err = MCP_ERR_INIT;
	long long t0 = mcp_now_ms(), took;

	(void)state;
	assert_int_equal(spawn_run(detach_argv, &o, &res, &err), -1);
	took = mcp_now_ms() - t0;
	assert_int_equal(err.code, MCP_E_TIMEOUT);
	assert_true(res.timed_out);
	assert_int_equal(res.status, 128 + SIGKILL);
	assert_true(took >= 400 && took < 5000);
	spawn_result_free(&res);
}

static void
test_stream_deadline_after_eof(void **state)
{
	struct spawn_opts o = { .timeout_ms = 500, .stdout_fd = -1 };
	struct spawn_result res;
	struct buf out = BUF_INIT;
	struct mcp_err err = MCP_ERR_INIT;
	long long t0 = mcp_now_ms(), took;

	(void)state;
	assert_int_equal(spawn_stream(detach_argv, &o, collect, &out, &res, &err), -1);
	took = mcp_now_ms() - t0;
	assert_int_equal(err.code, MCP_E_TIMEOUT);
	assert_true(res.timed_out);
	assert_int_equal(res.status, 128 + SIGTERM);	/* sleep obeys SIGTERM */
	assert_true(took >= 400 && took < 5000);
	spawn_result_free(&res);
	buf_free(&out);
}

/* a child that keeps its output open past the deadline: killed, reaped,
 * reported as a timeout by both variants */
static void
test_deadline_while_reading(void **state)
{
	static const char *const argv[] = { "sleep", "30", NULL };
	struct spawn_opts o = { .timeout_ms = 300, .stdout_fd = -1 };
	struct spawn_result res;
	struct buf out = BUF_INIT;
	struct mcp_err err = MCP_ERR_INIT;
	long long t0 = mcp_now_ms();

	(void)state;
	assert_int_equal(spawn_run(argv, &o, &res, &err), -1);
	assert_int_equal(err.code, MCP_E_TIMEOUT);
	assert_true(res.timed_out);
	spawn_result_free(&res);
	mcp_err_clear(&err);
	assert_int_equal(spawn_stream(argv, &o, collect, &out, &res, &err), -1);
	assert_int_equal(err.code, MCP_E_TIMEOUT);
	assert_true(res.timed_out);
	assert_true(mcp_now_ms() - t0 < 5000);
	spawn_result_free(&res);
	buf_free(&out);
}

/* spawn_reap: an exited child is reaped at once with its status; one that
 * ignores SIGTERM gets SIGKILL after the grace period */
static void
test_reap(void **state)
{
	static const char *const quick[] = { "sh", "-c", "exit 7", NULL };
	static const char *const stubborn[] = {
		"sh", "-c", "trap '' TERM; echo ready; sleep 30", NULL
	};
	int fds[3] = { -1, -1, -1 }, killed, p[2];
	struct mcp_err err = MCP_ERR_INIT;
	long long t0;
	pid_t pid;
	char c;

	(void)state;
	assert_int_equal(spawn_start(quick, NULL, fds, &pid, &err), 0);
	assert_int_equal(spawn_reap(pid, mcp_now_ms() + 5000, 0, &killed), 7);
	assert_false(killed);

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fds[1] = p[1];
	assert_int_equal(spawn_start(stubborn, NULL, fds, &pid, &err), 0);
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);	/* the trap is set */
	close(p[0]);
	t0 = mcp_now_ms();
	assert_int_equal(spawn_reap(pid, 0, 300, &killed), 128 + SIGKILL);
	assert_true(killed);
	assert_true(mcp_now_ms() - t0 >= 250);
}

static void
test_missing_binary(void **state)
{
	static const char *const argv[] = { "mcp-no-such-binary", NULL };
	int fds[3] = { -1, -1, -1 };
	struct mcp_err err = MCP_ERR_INIT;
	pid_t pid;

	(void)state;
	assert_int_equal(spawn_start(argv, NULL, fds, &pid, &err), -1);
	assert_int_equal(err.code, MCP_E_PRECONDITION);
	assert_non_null(strstr(err.msg, "mcp-no-such-binary"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_signals),
		cmocka_unit_test(test_stream_signals),
		cmocka_unit_test(test_run_fds),
		cmocka_unit_test(test_stream_fds),
		cmocka_unit_test(test_stdin_devnull),
		cmocka_unit_test(test_run_deadline_after_eof),
		cmocka_unit_test(test_stream_deadline_after_eof),
		cmocka_unit_test(test_deadline_while_reading),
		cmocka_unit_test(test_reap),
		cmocka_unit_test(test_missing_binary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
