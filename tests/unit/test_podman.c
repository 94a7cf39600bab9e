/*
 * tests/unit/test_podman.c: the podman runtime (runtime/podman.c) against
 * real podman and a real registry holding the hello image.
 *
 * Needs an isolated podman environment and a registry, which
 * tests/integration/podman_runtime.sh sets up (tests/lib/podman.sh,
 * tests/lib/registry.sh, scripts/build-hello-image.sh):
 *   MCP_TEST_PODMAN_DIR   dir made by podman_env_init (podman.args, containers.conf)
 *   MCP_TEST_REGISTRY     host:port of a registry with hello:$MCP_TEST_HELLO_TAG
 *   MCP_TEST_HELLO_TAG    default v1.0.0
 * Without them the podman part prints a skip notice and succeeds; the
 * spawn_stream() tests (util/spawn_stream.c, which podman logs rides on)
 * always run.
 *
 * The tests run in order and share one container (TEST_NAME): pull, run,
 * observe, logs, stop, remove.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "util/buf.h"
#include "util/spawn.h"

#include "unit_net.h"

#define TEST_NAME	"mcpt-hello-web"
#define TEST_NAME2	"mcpt-hello-other"
#define TEST_NAME3	"mcpt-hello-busy"
#define TEST_NAME4	"mcpt-hello-events"

static struct runtime *rt;
static char image[512], image_bad[512], args_path[1024], conf_path[1024];
static char **global_args;
static const char *insecure[2];
static int host_port;
static const char *tag = "v1.0.0";

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One HTTP GET on 127.0.0.1:port; the body (malloc'ed) or NULL. */
static char *
http_get(int port, const char *path)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 3 };
	struct buf b = BUF_INIT;
	char req[256], chunk[1024], *body;
	int fd;
	ssize_t n;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd == -1)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return NULL;
	}
	snprintf(req, sizeof(req),
	    "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return NULL;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, (size_t)n);
	close(fd);
	if (b.data == NULL || strncmp(b.data, "HTTP/1.1 200", 12) != 0 ||
	    (body = strstr(b.data, "\r\n\r\n")) == NULL) {
		buf_free(&b);
		return NULL;
	}
	body = xstrdup(body + 4);
	buf_free(&b);
	return body;
}

/* Retry http_get until it answers or secs pass. */
static char *
http_get_wait(int port, const char *path, double secs)
{
	double until = now_s() + secs;
	char *body;

	while ((body = http_get(port, path)) == NULL && now_s() < until)
		usleep(20 * 1000);
	return body;
}

/* ---- log collection ---- */

struct logbuf {
	struct buf text;
	int ticks;
	const char *stop_at;	/* stop once the text contains this */
	double deadline;	/* and in any case then */
};

static int
collect(const char *data, size_t len, void *arg)
{
	struct logbuf *lb = arg;

	if (len == 0)
		lb->ticks++;
	else
		buf_append(&lb->text, data, len);
	if (lb->stop_at && lb->text.data && strstr(lb->text.data, lb->stop_at))
		return 1;
	if (lb->deadline > 0 && now_s() > lb->deadline)
		return 1;
	return 0;
}

/* ---- spawn_stream (no podman needed) ---- */

static void
test_stream_output(void **state)
{
	static const char *const argv[] = { "ls", "-d", "/", "/no-such-dir-mcp", NULL };
	struct logbuf lb = { BUF_INIT, 0, NULL, 0 };
	struct spawn_result res;
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	assert_int_equal(spawn_stream(argv, NULL, collect, &lb, &res, &err), 0);
	assert_int_not_equal(res.status, 0);
	/* stdout and stderr both reach the callback */
	assert_non_null(strstr(lb.text.data, "/\n"));
	assert_non_null(strstr(lb.text.data, "no-such-dir-mcp"));
	assert_non_null(strstr(res.errout.data, "no-such-dir-mcp"));	/* kept tail */
	spawn_result_free(&res);
	buf_free(&lb.text);
}

static void
test_stream_env(void **state)
{
	static const char *const argv[] = { "env", NULL };
	static const char *const add[] = { "MCP_STREAM_TEST=42", NULL };
	struct spawn_opts o = { .env_add = add, .stdout_fd = -1 };
	struct logbuf lb = { BUF_INIT, 0, NULL, 0 };
	struct spawn_result res;
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	assert_int_equal(spawn_stream(argv, &o, collect, &lb, &res, &err), 0);
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(lb.text.data, "MCP_STREAM_TEST=42\n"));
	spawn_result_free(&res);
	buf_free(&lb.text);
}

static void
test_stream_cancel(void **state)
{
	static const char *const argv[] = { "sleep", "30", NULL };
	struct logbuf lb = { BUF_INIT, 0, NULL, 0 };
	struct spawn_result res;
	struct mcp_err err = MCP_ERR_INIT;
	double t0 = now_s();

	(void)state;
	lb.deadline = t0 + 1.1;	/* cancel at the third tick */
	assert_int_equal(spawn_stream(argv, NULL, collect, &lb, &res, &err), 0);
	assert_true(lb.ticks >= 2 && lb.ticks <= 4);
	assert_true(now_s() - t0 < 3);
	assert_int_equal(res.status, 128 + 15);	/* SIGTERM */
	spawn_result_free(&res);
}

static void
test_stream_timeout_and_missing(void **state)
{
	static const char *const slow[] = { "sleep", "30", NULL };
	static const char *const none[] = { "mcp-no-such-binary", NULL };
	struct spawn_opts o = { .timeout_ms = 300, .stdout_fd = -1 };
	struct logbuf lb = { BUF_INIT, 0, NULL, 0 };
	struct spawn_result res;
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	assert_int_equal(spawn_stream(slow, &o, collect, &lb, &res, &err), -1);
	assert_int_equal(err.code, MCP_E_TIMEOUT);
	assert_true(res.timed_out);
	spawn_result_free(&res);
	assert_int_equal(spawn_stream(none, NULL, collect, &lb, &res, &err), -1);
	assert_int_equal(err.code, MCP_E_PRECONDITION);
	spawn_result_free(&res);
}

/* spawn_stream reports the child's pid while it runs, 0 after. */
struct pid_seen {
	int *pid;
	int seen, alive;
};

static int
pid_check(const char *data, size_t len, void *arg)
{
	struct pid_seen *ps = arg;

	(void)data;
	if (len != 0)
		return 0;
	ps->seen = *ps->pid;
	ps->alive = ps->seen > 0 && kill(ps->seen, 0) == 0;
	return 1;
}

static void
test_stream_pid(void **state)
{
	static const char *const argv[] = { "sleep", "30", NULL };
	int pid = -1;
	struct spawn_opts o = { .stdout_fd = -1, .pid_out = &pid };
	struct pid_seen ps = { &pid, 0, 0 };
	struct spawn_result res;
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	assert_int_equal(spawn_stream(argv, &o, pid_check, &ps, &res, &err), 0);
	assert_true(ps.seen > 0);
	assert_true(ps.alive);
	assert_int_equal(pid, 0);
	assert_int_equal(kill(ps.seen, 0), -1);	/* reaped */
	spawn_result_free(&res);
}

/* Lines of `podman events --format json` (podman 4.3) and what they mean. */
static void
test_event_parse(void **state)
{
	static const struct {
		const char *line;
		int rc;
		const char *name, *status;
	} cases[] = {
		{ "{\"ID\":\"7155e15e\",\"Image\":\"localhost/hello:t1\",\"Name\":\"c1\","
		  "\"Status\":\"died\",\"Time\":\"2026-12-02T03:00:51.69Z\",\"Type\":"
		  "\"container\",\"Attributes\":{\"mcp.managed\":\"true\"}}", 1, "c1", "died" },
		{ "  {\"Name\":\"svc-web\",\"Status\":\"start\"}\r", 1, "svc-web", "start" },
		{ "", 0, "", "" },
		{ "time=\"2026-12-02T03:00:51Z\" level=warning msg=\"...\"", 0, "", "" },
		{ "WARN[0000] Failed to decode the keys", 0, "", "" },
		{ "e\"}}", 0, "", "" },
		{ "{\"ID\":\"7155e15e\",\"Name\":\"c1\",\"Sta", -1, "", "" },	/* cut short */
		{ "{\"ID\":\"7155e15e\",\"Status\":\"start\"}", -1, "", "" },	/* no name */
		{ "{\"Name\":\"c1\"}", -1, "", "" },				/* no status */
		{ "[1,2]", 0, "", "" },
		{ "{}", -1, "", "" },
	};
	struct podman_event ev;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = podman_event_parse(cases[i].line, &ev);

		if (rc != cases[i].rc)
			fail_msg("case %zu (%s): %d, wanted %d", i, cases[i].line, rc,
			    cases[i].rc);
		assert_string_equal(ev.name, cases[i].name);
		assert_string_equal(ev.status, cases[i].status);
	}
	assert_int_equal(podman_event_parse(cases[0].line, &ev), 1);
	assert_string_equal(ev.id, "7155e15e");
}

/* ---- the podman tests, in order ---- */

static void
test_pull(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	double t0 = now_s();

	(void)state;
	assert_int_equal(rt->ops->pull(rt, image, &err), 0);
	print_message("    pull %s: %.2f s\n", image, now_s() - t0);
	assert_int_equal(rt->ops->image_exists(rt, image, &err), 1);
}

static void
test_pull_unknown_tag(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	assert_int_equal(rt->ops->pull(rt, image_bad, &err), -1);
	print_message("    %s: %s\n", mcp_code_name(err.code), err.msg);
	assert_int_equal(err.code, MCP_E_NOTFOUND);
	assert_non_null(strstr(err.msg, image_bad));
	assert_non_null(strstr(err.msg, "manifest unknown"));
	assert_int_equal(rt->ops->image_exists(rt, image_bad, &err), 0);
}

static void
test_pull_unreachable(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	char ref[64];

	(void)state;
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/hello:v1", free_port());
	assert_int_equal(rt->ops->pull(rt, ref, &err), -1);
	print_message("    %s: %s\n", mcp_code_name(err.code), err.msg);
	assert_int_equal(err.code, MCP_E_UNAVAILABLE);
	assert_non_null(strstr(err.msg, ref));
}

static void
test_pull_not_insecure(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct podman_config cfg = { .global_args = (const char *const *)global_args,
	    .containers_conf = conf_path };
	struct runtime *strict = podman_runtime_new(&cfg, &err);

	(void)state;
	assert_non_null(strict);
	/* the registry is plain HTTP: without being listed, TLS is required */
	assert_int_equal(strict->ops->pull(strict, image, &err), -1);
	print_message("    %s: %s\n", mcp_code_name(err.code), err.msg);
	assert_int_equal(err.code, MCP_E_PRECONDITION);
	assert_non_null(strstr(err.msg, image));
	runtime_free(strict);
}

static void
test_invalid_args(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct rt_info info;

	(void)state;
	assert_int_equal(rt->ops->inspect(rt, "-rf", &info, &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_int_equal(rt->ops->pull(rt, "--help", &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_int_equal(rt->ops->stop(rt, "a b", 1, &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);
}

/* The identity run reported for TEST_NAME; list and inspect must agree. */
static char run_id[80];

static void
test_run_http(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	static const char *const env[] = { "PORT=8080", "HELLO_NAME=unit", NULL };
	struct rt_port port = { .name = "", .port = 8080 };
	struct rt_spec spec = {
		.name = TEST_NAME, .service = "mcpt-hello", .component = "web",
		.image = image, .env = env, .restart = "no",
		.ports = &port, .nports = 1, .memory_mb = 64,
		.spec_hash = "0123abcd", .id_out = run_id, .id_outsz = sizeof(run_id),
	};
	char expect[128], *body;
	double t0, t1;

	(void)state;
	host_port = free_port();
	port.host_port = host_port;
	t0 = now_s();
	if (rt->ops->run(rt, &spec, &err) != 0)
		fail_msg("run: %s", err.msg);
	t1 = now_s();
	assert_int_equal(strlen(run_id), 64);	/* podman's full container ID */
	body = http_get_wait(host_port, "/", 15);
	assert_non_null(body);
	print_message("    podman run %.3f s, first HTTP answer after %.3f s\n",
	    t1 - t0, now_s() - t0);
	snprintf(expect, sizeof(expect), "hello from unit version %s\n", tag);
	assert_string_equal(body, expect);
	free(body);
	body = http_get(host_port, "/health");
	assert_non_null(body);
	assert_string_equal(body, "ok\n");
	free(body);
}

static void
test_run_duplicate(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct rt_spec spec = {
		.name = TEST_NAME, .service = "mcpt-hello", .component = "web",
		.image = image,
	};

	(void)state;
	assert_int_equal(rt->ops->run(rt, &spec, &err), -1);
	print_message("    %s: %s\n", mcp_code_name(err.code), err.msg);
	assert_int_equal(err.code, MCP_E_EXISTS);
	assert_non_null(strstr(err.msg, TEST_NAME));
}

static void
test_run_port_busy(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct rt_port port = { .port = 8080, .host_port = host_port };
	struct rt_spec spec = {
		.name = TEST_NAME3, .service = "mcpt-hello", .component = "busy",
		.image = image, .ports = &port, .nports = 1,
	};
	struct rt_info info;

	(void)state;
	/* the first container holds host_port */
	assert_int_equal(rt->ops->run(rt, &spec, &err), -1);
	print_message("    %s: %s\n", mcp_code_name(err.code), err.msg);
	assert_non_null(strstr(err.msg, TEST_NAME3));
	/* nothing half-created left behind to block a retry */
	assert_int_equal(rt->ops->inspect(rt, TEST_NAME3, &info, &err), -1);
	assert_int_equal(err.code, MCP_E_NOTFOUND);
}

static void
test_list_inspect(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct rt_info *all = NULL, info;
	size_t n = 0, i;
	int found = 0;

	(void)state;
	assert_int_equal(rt->ops->list(rt, &all, &n, &err), 0);
	for (i = 0; i < n; i++) {
		if (strcmp(all[i].name, TEST_NAME) != 0)
			continue;
		found = 1;
		assert_string_equal(all[i].service, "mcpt-hello");
		assert_string_equal(all[i].component, "web");
		assert_string_equal(all[i].state, "running");
		assert_string_equal(all[i].image, image);
		assert_string_equal(all[i].spec_hash, "0123abcd");
		assert_string_equal(all[i].id, run_id);
		assert_true(all[i].started_at > 1600000000);
		assert_true(all[i].pid > 0);
	}
	free(all);
	assert_true(found);

	assert_int_equal(rt->ops->inspect(rt, TEST_NAME, &info, &err), 0);
	assert_string_equal(info.name, TEST_NAME);
	assert_string_equal(info.service, "mcpt-hello");
	assert_string_equal(info.component, "web");
	assert_string_equal(info.state, "running");
	assert_string_equal(info.image, image);
	assert_true(info.started_at > 1600000000);
	assert_true(llabs((long long)(info.started_at - time(NULL))) < 600);
	assert_true(info.pid > 0);
	assert_int_equal(info.memory_mb, 64);
	assert_string_equal(info.id, run_id);
	assert_string_equal(info.spec_hash, "0123abcd");
}

static void
test_logs_tail(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct logbuf lb = { BUF_INIT, 0, NULL, 0 };

	(void)state;
	assert_int_equal(rt->ops->logs(rt, TEST_NAME, 0, 0, collect, &lb, &err), 0);
	assert_non_null(lb.text.data);
	assert_non_null(strstr(lb.text.data, "listening on :8080"));
	assert_non_null(strstr(lb.text.data, "GET /health 200"));
	buf_free(&lb.text);

	assert_int_equal(rt->ops->logs(rt, TEST_NAME, 1, 0, collect, &lb, &err), 0);
	assert_non_null(lb.text.data);
	assert_non_null(strstr(lb.text.data, "GET /health 200"));
	assert_null(strstr(lb.text.data, "listening"));
	buf_free(&lb.text);
}

static void *
poke(void *arg)
{
	char *body;

	(void)arg;
	usleep(700 * 1000);
	body = http_get(host_port, "/follow-me");	/* 404, but logged */
	free(body);
	return NULL;
}

static void
test_logs_follow_cancel(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct logbuf lb = { BUF_INIT, 0, "GET /follow-me 404", 0 };
	pthread_t th;
	double t0 = now_s();

	(void)state;
	lb.deadline = t0 + 15;
	assert_int_equal(pthread_create(&th, NULL, poke, NULL), 0);
	assert_int_equal(rt->ops->logs(rt, TEST_NAME, 1, 1, collect, &lb, &err), 0);
	pthread_join(th, NULL);
	print_message("    follow: line seen and cancelled after %.2f s, %d ticks\n",
	    now_s() - t0, lb.ticks);
	assert_non_null(lb.text.data);
	assert_non_null(strstr(lb.text.data, "GET /follow-me 404"));
	assert_true(now_s() - t0 < 10);
	buf_free(&lb.text);

	/* nothing new: only ticks; the callback cancels on time */
	lb.stop_at = NULL;
	lb.ticks = 0;
	t0 = now_s();
	lb.deadline = t0 + 1.2;
	assert_int_equal(rt->ops->logs(rt, TEST_NAME, 1, 1, collect, &lb, &err), 0);
	print_message("    follow idle: %d ticks, returned after %.2f s\n",
	    lb.ticks, now_s() - t0);
	assert_true(lb.ticks >= 2);
	assert_true(now_s() - t0 < 4);
	buf_free(&lb.text);
}

static void
test_stop(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct logbuf lb = { BUF_INIT, 0, NULL, 0 };
	struct rt_info info;
	double t0 = now_s();

	(void)state;
	if (rt->ops->stop(rt, TEST_NAME, 10, &err) != 0)
		fail_msg("stop: %s", err.msg);
	print_message("    stop: %.2f s\n", now_s() - t0);
	assert_true(now_s() - t0 < 5);	/* SIGTERM handled, no 10 s kill */
	assert_int_equal(rt->ops->inspect(rt, TEST_NAME, &info, &err), 0);
	assert_string_equal(info.state, "stopped");
	assert_int_equal(info.exit_code, 0);
	assert_int_equal(info.pid, 0);
	assert_int_equal(rt->ops->logs(rt, TEST_NAME, 0, 0, collect, &lb, &err), 0);
	assert_non_null(lb.text.data);
	assert_non_null(strstr(lb.text.data, "hello: received SIGTERM, exiting"));
	buf_free(&lb.text);
	/* stopping a stopped container is fine */
	assert_int_equal(rt->ops->stop(rt, TEST_NAME, 1, &err), 0);
	/* and following its logs ends by itself */
	assert_int_equal(rt->ops->logs(rt, TEST_NAME, 2, 1, collect, &lb, &err), 0);
	buf_free(&lb.text);
}

static void
test_stop_absent(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	assert_int_equal(rt->ops->stop(rt, "mcpt-absent", 1, &err), -1);
	print_message("    %s: %s\n", mcp_code_name(err.code), err.msg);
	assert_int_equal(err.code, MCP_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "mcpt-absent"));
}

static void
test_remove(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct logbuf lb = { BUF_INIT, 0, NULL, 0 };
	struct rt_info info;

	(void)state;
	assert_int_equal(rt->ops->remove(rt, TEST_NAME, 0, &err), 0);
	assert_int_equal(rt->ops->inspect(rt, TEST_NAME, &info, &err), -1);
	print_message("    %s: %s\n", mcp_code_name(err.code), err.msg);
	assert_int_equal(err.code, MCP_E_NOTFOUND);
	assert_non_null(strstr(err.msg, TEST_NAME));
	/* absent is success */
	assert_int_equal(rt->ops->remove(rt, TEST_NAME, 0, &err), 0);
	assert_int_equal(rt->ops->remove(rt, TEST_NAME, 1, &err), 0);
	assert_int_equal(rt->ops->logs(rt, TEST_NAME, 0, 0, collect, &lb, &err), -1);
	assert_int_equal(err.code, MCP_E_NOTFOUND);
	assert_null(lb.text.data);
}

static void
test_remove_running(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	static const char *const cmd[] = { NULL };
	struct rt_spec spec = {
		.name = TEST_NAME2, .service = "mcpt-hello", .component = "other",
		.image = image, .cmd = cmd, .user = "65534:65534",
	};
	struct rt_info info, *all = NULL;
	size_t n = 0;

	(void)state;
	if (rt->ops->run(rt, &spec, &err) != 0)
		fail_msg("run: %s", err.msg);
	assert_int_equal(rt->ops->inspect(rt, TEST_NAME2, &info, &err), 0);
	assert_string_equal(info.state, "running");
	assert_string_equal(info.component, "other");
	/* without force a running container stays */
	assert_int_equal(rt->ops->remove(rt, TEST_NAME2, 0, &err), -1);
	print_message("    %s: %s\n", mcp_code_name(err.code), err.msg);
	assert_int_equal(err.code, MCP_E_PRECONDITION);
	assert_int_equal(rt->ops->remove(rt, TEST_NAME2, 1, &err), 0);
	assert_int_equal(rt->ops->inspect(rt, TEST_NAME2, &info, &err), -1);
	assert_int_equal(err.code, MCP_E_NOTFOUND);
	assert_int_equal(rt->ops->list(rt, &all, &n, &err), 0);
	assert_int_equal(n, 0);
	free(all);
}

/*
 * podman_events against real podman: a container started while it runs is
 * reported (create, start) with the child's pid; stopping from the
 * callback returns 0; a child killed from outside is a gap (-1, says so).
 */
struct ev_seen {
	int *pid;
	int ticks, created, started, child, started_run;
	int kill_it;
	struct mcp_err run_err;
};

static int
ev_collect(const struct podman_event *ev, void *arg)
{
	struct ev_seen *s = arg;
	struct rt_spec spec = {
		.name = TEST_NAME4, .service = "mcpt-hello", .component = "events",
		.image = image,
	};

	if (ev == NULL) {
		s->ticks++;
		s->child = *s->pid;
		if (s->kill_it && s->child > 0) {
			kill(s->child, SIGKILL);
			return 0;
		}
		/* the second tick: the stream is surely reading by now */
		if (s->ticks == 2 && !s->started_run) {
			s->started_run = 1;
			rt->ops->run(rt, &spec, &s->run_err);
		}
		return s->ticks > 60 || (s->created && s->started);
	}
	if (strcmp(ev->name, TEST_NAME4) == 0) {
		s->created |= strcmp(ev->status, "create") == 0;
		s->started |= strcmp(ev->status, "start") == 0;
	}
	return s->created && s->started;
}

static void
test_events(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct ev_seen s;
	int pid = -1;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.pid = &pid;
	assert_int_equal(podman_events(rt, 0, ev_collect, &s, &pid, &err), 0);
	assert_int_equal(s.run_err.code, 0);
	assert_true(s.created);
	assert_true(s.started);
	assert_true(s.child > 0);
	assert_int_equal(pid, 0);
	/* replayed from a time before the run */
	memset(&s, 0, sizeof(s));
	s.pid = &pid;
	s.started_run = 1;
	assert_int_equal(podman_events(rt, (int64_t)time(NULL) - 60, ev_collect, &s,
	    &pid, &err), 0);
	assert_true(s.created && s.started);
	/* killed behind its back: a gap */
	memset(&s, 0, sizeof(s));
	s.pid = &pid;
	s.kill_it = 1;
	assert_int_equal(podman_events(rt, 0, ev_collect, &s, &pid, &err), -1);
	print_message("    %s: %s\n", mcp_code_name(err.code), err.msg);
	assert_non_null(strstr(err.msg, "podman events: killed by signal 9"));
	assert_int_equal(rt->ops->remove(rt, TEST_NAME4, 1, &err), 0);
}

/* ---- set-up ---- */

static int
load_args(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	size_t n = 0;

	if (f == NULL)
		return -1;
	global_args = xcalloc(64, sizeof(char *));
	while (n < 63 && fgets(line, sizeof(line), f)) {
		mcp_rtrim(line);
		if (line[0])
			global_args[n++] = xstrdup(line);
	}
	fclose(f);
	return 0;
}

static int
group_setup(void **state)
{
	const char *dir = getenv("MCP_TEST_PODMAN_DIR");
	const char *reg = getenv("MCP_TEST_REGISTRY");
	struct podman_config cfg = { 0 };
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	if (getenv("MCP_TEST_HELLO_TAG"))
		tag = getenv("MCP_TEST_HELLO_TAG");
	snprintf(args_path, sizeof(args_path), "%s/podman.args", dir);
	snprintf(conf_path, sizeof(conf_path), "%s/containers.conf", dir);
	snprintf(image, sizeof(image), "%s/hello:%s", reg, tag);
	snprintf(image_bad, sizeof(image_bad), "%s/hello:no-such-tag", reg);
	if (load_args(args_path) == -1) {
		char eb[MCP_STRERROR_MAX];

		fprintf(stderr, "test_podman: %s: %s\n", args_path,
		    mcp_strerror(errno, eb, sizeof(eb)));
		return -1;
	}
	insecure[0] = reg;
	cfg.global_args = (const char *const *)global_args;
	cfg.containers_conf = conf_path;
	cfg.insecure_registries = insecure;
	cfg.timeout_s = 30;
	rt = podman_runtime_new(&cfg, &err);
	if (rt == NULL) {
		fprintf(stderr, "test_podman: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	if (rt) {
		rt->ops->remove(rt, TEST_NAME, 1, &err);
		rt->ops->remove(rt, TEST_NAME2, 1, &err);
		rt->ops->remove(rt, TEST_NAME3, 1, &err);
		rt->ops->remove(rt, TEST_NAME4, 1, &err);
		runtime_free(rt);
	}
	for (size_t i = 0; global_args && global_args[i]; i++)
		free(global_args[i]);
	free(global_args);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest stream_tests[] = {
		cmocka_unit_test(test_stream_output),
		cmocka_unit_test(test_stream_env),
		cmocka_unit_test(test_stream_cancel),
		cmocka_unit_test(test_stream_timeout_and_missing),
		cmocka_unit_test(test_stream_pid),
		cmocka_unit_test(test_event_parse),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_args),
		cmocka_unit_test(test_pull_not_insecure),
		cmocka_unit_test(test_pull),
		cmocka_unit_test(test_pull_unknown_tag),
		cmocka_unit_test(test_pull_unreachable),
		cmocka_unit_test(test_run_http),
		cmocka_unit_test(test_run_duplicate),
		cmocka_unit_test(test_run_port_busy),
		cmocka_unit_test(test_list_inspect),
		cmocka_unit_test(test_logs_tail),
		cmocka_unit_test(test_logs_follow_cancel),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_stop_absent),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_remove_running),
		cmocka_unit_test(test_events),
	};

	int rc;

	rc = cmocka_run_group_tests_name("spawn_stream", stream_tests, NULL, NULL);
	if (getenv("MCP_TEST_PODMAN_DIR") == NULL || getenv("MCP_TEST_REGISTRY") == NULL) {
		printf("test_podman: SKIP podman tests: needs MCP_TEST_PODMAN_DIR and "
		    "MCP_TEST_REGISTRY (run tests/integration/podman_runtime.sh)\n");
		return rc;
	}
	return rc | cmocka_run_group_tests_name("podman", tests, group_setup,
	    group_teardown);
}
