/*
 * tests/unit/test_qemu.c: the unikernel runtime.
 *
 * Unit tests (always): accelerator choice, PID trust against a `sleep` we
 * start, pidfiles, the QMP client against a scripted peer, console exit
 * status, logs tail/follow, inspect from a hand-made state dir, name
 * validation, availability.
 *
 * Integration (only when MCP_QEMU_TEST=1, set by
 * tests/integration/qemu_runtime.sh; otherwise skipped with a message):
 * real kernel under TCG, real podman store and registry: build (cold and
 * cached), run, HTTP through the forwarded port, logs, graceful stop, agent
 * restart, kill -9, stale pidfile, tampered initramfs, dynamic ELF, remove.
 * Environment:
 *   MCP_QEMU_KERNEL, MCP_QEMU_MODULES, MCP_QEMU_INIT  kernel, modules dir, mcp-init
 *   MCP_QEMU_MACHINE     optional: auto (default), pc or microvm
 *   MCP_QEMU_WORK        scratch dir (state, cache, volumes); must be short
 *   MCP_TEST_PODMAN_DIR  an isolated podman env (tests/lib/podman.sh)
 *   MCP_QEMU_IMAGE       the hello image in the registry
 *   MCP_QEMU_REGISTRY    that registry (host:port, plain HTTP)
 *   MCP_QEMU_DYN_IMAGE   an image whose entrypoint is dynamically linked
 *   MCP_QEMU_STUBBORN_IMAGE  optional: a static app that ignores SIGTERM
 *   MCP_QEMU_NOEP_IMAGE  optional: bin/hello at /usr/local/bin/hello, no
 *                        Entrypoint, no Cmd
 *   MCP_QEMU_PORT        a free host port for the forward
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image/image.h"
#include "runtime/qemu.h"
#include "util/file.h"

static char tmpdir[128];

static void
put(const char *dir, const char *name, const char *text)
{
	char path[512];
	struct mcp_err e = MCP_ERR_INIT;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(file_write_atomic(path, text, strlen(text), 0644, &e), 0);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Start `sleep 60` with the given argv[0] (to fake a QEMU cmdline). */
static pid_t
start_sleep(const char *argv0)
{
	pid_t pid = fork();

	if (pid == 0) {
		execlp("sleep", argv0, "60", (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	for (int i = 0; i < 100; i++) {	/* until exec has replaced the cmdline */
		char path[64];
		struct buf b = BUF_INIT;
		int ok;

		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		ok = file_read(path, &b, 4096, NULL) == 0 && strcmp(b.data, argv0) == 0;
		buf_free(&b);
		if (ok)
			break;
		usleep(10000);
	}
	return pid;
}

static void
end_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int
rm_rf(const char *dir)
{
	return qemu_vm_dir_remove(dir, NULL);
}

/* ================= unit tests ================= */

static void
test_accel_pick(void **state)
{
	char cpu[256], kvm[256];

	(void)state;
	snprintf(cpu, sizeof(cpu), "%s/cpuinfo", tmpdir);
	snprintf(kvm, sizeof(kvm), "%s/kvm", tmpdir);
	put(tmpdir, "kvm", "");
	put(tmpdir, "cpuinfo", "processor\t: 0\nflags\t\t: fpu vme sse2 hypervisor\n");
	assert_string_equal(qemu_accel_pick("auto", cpu, kvm), "tcg");	/* kvm_pvm shim */
	put(tmpdir, "cpuinfo", "processor\t: 0\nflags\t\t: fpu vmx sse2\n");
	assert_string_equal(qemu_accel_pick("auto", cpu, kvm), "kvm");
	assert_string_equal(qemu_accel_pick(NULL, cpu, kvm), "kvm");
	assert_string_equal(qemu_accel_pick("auto", cpu, "/nonexistent/kvm"), "tcg");
	put(tmpdir, "cpuinfo", "flags\t\t: fpu svm\nbugs\t\t: vmx_whatever\n");
	assert_string_equal(qemu_accel_pick("auto", cpu, kvm), "kvm");
	put(tmpdir, "cpuinfo", "flags\t\t: fpu\nvmx flags\t: ept\n");	/* not a flags word */
	assert_string_equal(qemu_accel_pick("auto", cpu, kvm), "tcg");
	assert_string_equal(qemu_accel_pick("tcg", cpu, kvm), "tcg");
	assert_string_equal(qemu_accel_pick("kvm", "/nonexistent", "/nonexistent"), "kvm");
}

static void
test_pid_trust(void **state)
{
	char vmdir[256], other[256], argv0[300];
	pid_t fake, plain, zombie;

	(void)state;
	snprintf(vmdir, sizeof(vmdir), "%s/vm/hello", tmpdir);
	snprintf(other, sizeof(other), "%s/vm/hello-x", tmpdir);
	snprintf(argv0, sizeof(argv0), "%s/qemu.pid", vmdir);	/* names "<vmdir>/" */
	fake = start_sleep(argv0);
	plain = start_sleep("sleep");
	assert_int_equal(qemu_pid_trusted(fake, vmdir), 1);
	assert_int_equal(qemu_pid_trusted(fake, other), 0);	/* prefix is not enough */
	assert_int_equal(qemu_pid_trusted(plain, vmdir), 0);
	assert_int_equal(qemu_pid_trusted(0, vmdir), 0);
	assert_int_equal(qemu_pid_trusted(-1, vmdir), 0);
	end_child(fake);
	assert_int_equal(qemu_pid_trusted(fake, vmdir), 0);	/* gone */

	/* a zombie with the right cmdline is not a running VM */
	zombie = start_sleep(argv0);
	kill(zombie, SIGKILL);
	usleep(100000);
	assert_int_equal(qemu_pid_trusted(zombie, vmdir), 0);
	waitpid(zombie, NULL, 0);
	end_child(plain);
}

static void
test_pidfile_read(void **state)
{
	char vmdir[256], argv0[300], text[32];
	struct mcp_err e = MCP_ERR_INIT;
	pid_t fake, plain;

	(void)state;
	snprintf(vmdir, sizeof(vmdir), "%s/vm/pf", tmpdir);
	assert_int_equal(file_mkdirs(vmdir, 0700, &e), 0);
	assert_int_equal(qemu_pid_read(vmdir), 0);	/* no pidfile */
	snprintf(argv0, sizeof(argv0), "qemu-system-x86_64 -pidfile %s/qemu.pid", vmdir);
	fake = start_sleep(argv0);
	plain = start_sleep("sleep");
	snprintf(text, sizeof(text), "%d\n", (int)fake);
	put(vmdir, "qemu.pid", text);
	assert_int_equal(qemu_pid_read(vmdir), fake);
	snprintf(text, sizeof(text), "%d\n", (int)plain);	/* stale: reused by another */
	put(vmdir, "qemu.pid", text);
	assert_int_equal(qemu_pid_read(vmdir), 0);
	put(vmdir, "qemu.pid", "garbage\n");
	assert_int_equal(qemu_pid_read(vmdir), 0);
	end_child(fake);
	end_child(plain);
}

/* The jail's pure parts: the uid range, the memory ceiling, names. */
static void
test_jail_pure(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	char a[32], b[32];
	const char *argv[16];
	char ub[32], gb[32];
	unsigned count;
	uid_t first;

	(void)state;
	assert_int_equal(qemu_jail_range_parse("1879048192-1879049215", &first, &count, &err), 0);
	assert_int_equal(first, 1879048192u);
	assert_int_equal(count, 1024);
	assert_int_equal(qemu_jail_range_parse("", &first, &count, &err), 0);
	assert_int_equal(count, 0);	/* no jail */
	assert_int_equal(qemu_jail_range_parse("5-5", &first, &count, &err), 0);
	assert_int_equal(count, 1);
	assert_int_equal(qemu_jail_range_parse("0-10", &first, &count, &err), -1);	/* root */
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_int_equal(qemu_jail_range_parse("10-5", &first, &count, &err), -1);
	assert_int_equal(qemu_jail_range_parse("10", &first, &count, &err), -1);
	assert_non_null(strstr(err.msg, "FIRST-LAST"));
	assert_int_equal(qemu_jail_range_parse("10-x", &first, &count, &err), -1);
	assert_int_equal(qemu_jail_range_parse("1-4294967295", &first, &count, &err), -1);
	/* guest + TCG buffer (QEMU's 1 GiB default unless set) + overhead */
	assert_int_equal(qemu_jail_memory_limit_mb(128, 1, -1), 128 + 1024 + 160);
	assert_int_equal(qemu_jail_memory_limit_mb(128, 1, 64), 128 + 64 + 160);
	assert_int_equal(qemu_jail_memory_limit_mb(512, 0, 64), 512 + 160);
	/* one cgroup per VM directory, stable */
	qemu_jail_cgroup_name("/var/lib/mcp/vm/a", a, sizeof(a));
	qemu_jail_cgroup_name("/var/lib/mcp/vm/a", b, sizeof(b));
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 7 + 16);
	qemu_jail_cgroup_name("/other/vm/a", b, sizeof(b));
	assert_string_not_equal(a, b);
	/* the launcher: setsid -f always, setpriv dropping everything when jailed */
	assert_int_equal(qemu_jail_argv(0, argv, 16, ub, gb, sizeof(ub)), 2);
	assert_string_equal(argv[0], "setsid");
	assert_int_equal(qemu_jail_argv(1879048200, argv, 16, ub, gb, sizeof(ub)), 10);
	assert_string_equal(argv[2], "setpriv");
	assert_string_equal(argv[3], "--reuid=1879048200");
	assert_string_equal(argv[4], "--regid=1879048200");
	assert_string_equal(argv[9], "--");
}

static void
test_vm_dir_names(void **state)
{
	char out[64];
	struct mcp_err e = MCP_ERR_INIT;

	(void)state;
	assert_int_equal(qemu_vm_dir("/s", "hello-vm", out, sizeof(out), &e), 0);
	assert_string_equal(out, "/s/hello-vm");
	assert_int_equal(qemu_vm_dir("/s", "../etc", out, sizeof(out), &e), -1);
	assert_int_equal(e.code, MCP_E_INVALID);
	assert_int_equal(qemu_vm_dir("/s", "a/b", out, sizeof(out), &e), -1);
	assert_int_equal(qemu_vm_dir("/s", "", out, sizeof(out), &e), -1);
	assert_int_equal(qemu_vm_dir("/s", ".", out, sizeof(out), &e), -1);
	assert_int_equal(qemu_vm_dir("/s", "a,b", out, sizeof(out), &e), -1);	/* QEMU option syntax */
	assert_int_equal(qemu_vm_dir("/a/very/long/state/directory/path/indeed/more",
	    "some-name-that-is-long", out, sizeof(out), &e), -1);
}

/* ---- QMP against a scripted peer ---- */

struct peer {
	int fd;
	const char *const *script;	/* lines to send after each line received */
	char got[1024];
};

static void *peer_main(void *arg);

/* A QMP client q talking to a scripted peer on its own thread. */
static void
peer_connect(struct peer *p, pthread_t *th, struct qmp *q)
{
	struct mcp_err e = MCP_ERR_INIT;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	p->fd = sv[1];
	pthread_create(th, NULL, peer_main, p);
	assert_int_equal(qmp_open_fd(q, sv[0], 2000, &e), 0);
}

static void *
peer_main(void *arg)
{
	struct peer *p = arg;
	char buf[512];
	size_t used = 0;

	/* script[0] is the greeting; then after each received line, script[i];
	 * "CLOSE" closes at once */
	for (size_t i = 0; p->script[i]; i++) {
		if (strcmp(p->script[i], "CLOSE") == 0)	/* close without waiting */
			break;
		if (i > 0) {
			ssize_t n = read(p->fd, buf, sizeof(buf) - 1);

			if (n <= 0)
				break;
			buf[n] = '\0';
			if (used + (size_t)n < sizeof(p->got)) {
				memcpy(p->got + used, buf, (size_t)n + 1);
				used += (size_t)n;
			}
		}
		if (write(p->fd, p->script[i], strlen(p->script[i])) < 0)
			break;
	}
	close(p->fd);
	return NULL;
}

static void
test_qmp_powerdown_flow(void **state)
{
	static const char *const script[] = {
		"{\"QMP\": {\"version\": {}, \"capabilities\": [\"oob\"]}}\r\n",
		"{\"return\": {}}\r\n",
		/* an event before the reply, then SHUTDOWN split over two writes */
		"{\"timestamp\": {}, \"event\": \"POWERDOWN\"}\r\n{\"return\": {}}\r\n"
		"{\"timestamp\": {}, \"event\": \"SHUT",
		"CLOSE",
		NULL,
	};
	struct peer p = { .script = script };
	struct mcp_err e = MCP_ERR_INIT;
	struct qmp q;
	pthread_t th;

	(void)state;
	peer_connect(&p, &th, &q);
	assert_int_equal(qmp_execute(&q, "system_powerdown", 2000, &e), 0);
	assert_int_equal(q.shutdown, 0);
	/* the peer closes before the SHUTDOWN line is complete: EOF, not SHUTDOWN */
	assert_int_equal(qmp_wait_shutdown(&q, 2000), 1);
	qmp_close(&q);
	pthread_join(th, NULL);
	assert_non_null(strstr(p.got, "{\"execute\":\"qmp_capabilities\"}\r\n"));
	assert_non_null(strstr(p.got, "{\"execute\":\"system_powerdown\"}\r\n"));
}

static void
test_qmp_shutdown_event(void **state)
{
	static const char *const script[] = {
		"{\"QMP\": {}}\r\n",
		"{\"return\": {}}\r\n",
		"{\"return\": {}}\r\nnot json\r\n{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true}}\r\n",
		"CLOSE",
		NULL,
	};
	struct peer p = { .script = script };
	struct mcp_err e = MCP_ERR_INIT;
	struct qmp q;
	pthread_t th;

	(void)state;
	peer_connect(&p, &th, &q);
	assert_int_equal(qmp_execute(&q, "system_powerdown", 2000, &e), 0);
	assert_int_equal(qmp_wait_shutdown(&q, 2000), 0);
	assert_int_equal(q.shutdown, 1);
	qmp_close(&q);
	pthread_join(th, NULL);
}

static void
test_qmp_errors(void **state)
{
	static const char *const bad_greeting[] = { "{\"return\": {}}\r\n", NULL };
	static const char *const error_reply[] = {
		"{\"QMP\": {}}\r\n",
		"{\"return\": {}}\r\n",
		"{\"error\": {\"class\": \"GenericError\", \"desc\": \"no way\"}}\r\n",
		NULL,
	};
	static const char *const silent[] = { "{\"QMP\": {}}\r\n", "{\"return\": {}}\r\n",
		"", NULL };
	struct peer p;
	struct mcp_err e = MCP_ERR_INIT;
	struct qmp q;
	pthread_t th;
	int sv[2];

	(void)state;
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	p = (struct peer){ .fd = sv[1], .script = bad_greeting };
	pthread_create(&th, NULL, peer_main, &p);
	assert_int_equal(qmp_open_fd(&q, sv[0], 1000, &e), -1);
	assert_non_null(strstr(e.msg, "no greeting"));
	pthread_join(th, NULL);

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	p = (struct peer){ .fd = sv[1], .script = error_reply };
	pthread_create(&th, NULL, peer_main, &p);
	assert_int_equal(qmp_open_fd(&q, sv[0], 1000, &e), 0);
	assert_int_equal(qmp_execute(&q, "quit", 1000, &e), -1);
	assert_string_equal(e.msg, "qmp quit: no way");
	qmp_close(&q);
	pthread_join(th, NULL);

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	p = (struct peer){ .fd = sv[1], .script = silent };
	pthread_create(&th, NULL, peer_main, &p);
	assert_int_equal(qmp_open_fd(&q, sv[0], 1000, &e), 0);
	assert_int_equal(qmp_wait_shutdown(&q, 200), -1);	/* timeout */
	qmp_close(&q);
	pthread_join(th, NULL);

	assert_int_equal(qmp_connect(&q, "/nonexistent/qmp.sock", 100, &e), -1);
	assert_int_equal(e.code, MCP_E_UNAVAILABLE);
}

/* ---- state dir: inspect, console, logs ---- */

struct collect {
	struct buf b;
	int ticks, stop_after_ticks;
};

static int
collect_cb(const char *data, size_t len, void *arg)
{
	struct collect *c = arg;

	if (len == 0)
		return ++c->ticks >= c->stop_after_ticks && c->stop_after_ticks > 0;
	buf_append(&c->b, data, len);
	return 0;
}

static void
make_stopped_vm(char *vmdir, size_t sz, const char *name)
{
	struct mcp_err e = MCP_ERR_INIT;

	snprintf(vmdir, sz, "%s/state/%s", tmpdir, name);
	assert_int_equal(file_mkdirs(vmdir, 0700, &e), 0);
	put(vmdir, "spec.json",
	    "{\"version\":1,\"name\":\"hello\",\"service\":\"hello\",\"component\":\"web\","
	    "\"image\":\"127.0.0.1:5000/hello:v1\",\"memory_mb\":128,\"vcpus\":2,"
	    "\"hash\":\"sha256:abc\",\"started_at\":1700000000}");
	put(vmdir, "console.log",
	    "mcp-init: started /usr/local/bin/hello (pid 80)\n"
	    "hello: listening\n"
	    "mcp-init: app exited with status 1\n"
	    "hello: second run\n"
	    "mcp-init: app exited with status 143 (signal 15)\n"
	    "[    5.849901] reboot: Power down\n");
}

static void
test_inspect_and_console(void **state)
{
	char vmdir[256];
	struct rt_info info;
	struct mcp_err e = MCP_ERR_INIT;

	(void)state;
	make_stopped_vm(vmdir, sizeof(vmdir), "hello");
	assert_int_equal(qemu_console_exit_status(vmdir), 143);
	assert_int_equal(qemu_vm_inspect(vmdir, &info, &e), 0);
	assert_string_equal(info.name, "hello");
	assert_string_equal(info.id, "hello");	/* no instance_id: the dir's name */
	assert_string_equal(info.spec_hash, "");
	assert_string_equal(info.component, "web");
	assert_string_equal(info.state, "stopped");
	assert_string_equal(info.image_hash, "sha256:abc");
	assert_int_equal(info.memory_mb, 128);
	assert_int_equal(info.vcpus, 2);
	assert_int_equal(info.exit_code, 143);
	assert_int_equal(info.started_at, 1700000000);
	assert_int_equal(info.pid, 0);

	/* a VM started by this version: its identity and spec hash */
	snprintf(vmdir, sizeof(vmdir), "%s/state/ident", tmpdir);
	assert_int_equal(file_mkdirs(vmdir, 0700, &e), 0);
	put(vmdir, "spec.json", "{\"version\":1,\"name\":\"ident\",\"service\":\"ident\","
	    "\"component\":\"ident\",\"image\":\"r/i:v1\",\"instance_id\":\"0f1e2d\","
	    "\"spec_hash\":\"abc123\"}");
	assert_int_equal(qemu_vm_inspect(vmdir, &info, &e), 0);
	assert_string_equal(info.id, "0f1e2d");
	assert_string_equal(info.spec_hash, "abc123");

	snprintf(vmdir, sizeof(vmdir), "%s/state/absent", tmpdir);
	assert_int_equal(qemu_vm_inspect(vmdir, &info, &e), -1);
	assert_int_equal(e.code, MCP_E_NOTFOUND);
	assert_int_equal(qemu_console_exit_status(vmdir), -1);
}

static void
test_logs_tail_follow(void **state)
{
	char vmdir[256];
	struct collect c = { BUF_INIT, 0, 0 };
	struct mcp_err e = MCP_ERR_INIT;
	double t0;

	(void)state;
	make_stopped_vm(vmdir, sizeof(vmdir), "logs");
	assert_int_equal(qemu_logs_read(vmdir, 2, 0, collect_cb, &c, &e), 0);
	assert_string_equal(c.b.data, "mcp-init: app exited with status 143 (signal 15)\n"
	    "[    5.849901] reboot: Power down\n");
	buf_reset(&c.b);
	assert_int_equal(qemu_logs_read(vmdir, 0, 0, collect_cb, &c, &e), 0);
	assert_int_equal(strncmp(c.b.data, "mcp-init: started", 17), 0);
	buf_reset(&c.b);
	assert_int_equal(qemu_logs_read(vmdir, 100, 0, collect_cb, &c, &e), 0);
	assert_int_equal(strncmp(c.b.data, "mcp-init: started", 17), 0);
	/* follow on a stopped VM delivers what is there and returns */
	buf_reset(&c.b);
	t0 = now_s();
	assert_int_equal(qemu_logs_read(vmdir, 1, 1, collect_cb, &c, &e), 0);
	assert_string_equal(c.b.data, "[    5.849901] reboot: Power down\n");
	assert_true(now_s() - t0 < 2.0);
	/* a last line without newline counts */
	put(vmdir, "console.log", "a\nb\nc");
	buf_reset(&c.b);
	assert_int_equal(qemu_logs_read(vmdir, 2, 0, collect_cb, &c, &e), 0);
	assert_string_equal(c.b.data, "b\nc");
	buf_free(&c.b);

	snprintf(vmdir, sizeof(vmdir), "%s/state/nothing", tmpdir);
	assert_int_equal(qemu_logs_read(vmdir, 2, 0, collect_cb, &c, &e), -1);
	assert_int_equal(e.code, MCP_E_NOTFOUND);
}

static void
test_runtime_over_state_dirs(void **state)
{
	struct podman_config pc = { 0 };
	char statedir[256], cache[256], vmdir[256];
	struct qemu_config qc = { 0 };
	struct mcp_err e = MCP_ERR_INIT;
	struct rt_info *list = NULL, info;
	struct runtime *rt;
	size_t n = 0;

	(void)state;
	make_stopped_vm(vmdir, sizeof(vmdir), "listed");
	snprintf(statedir, sizeof(statedir), "%s/state", tmpdir);
	snprintf(cache, sizeof(cache), "%s/cache", tmpdir);
	qc.state_dir = statedir;
	qc.cache_dir = cache;
	qc.podman = &pc;
	qc.mcp_init = "/nonexistent/mcp-init";
	rt = qemu_runtime_new(&qc, &e);
	assert_non_null(rt);
	assert_string_equal(rt->ops->name, "unikernel");
	assert_int_equal(rt->ops->list(rt, &list, &n, &e), 0);
	assert_true(n >= 1);
	free(list);
	assert_int_equal(rt->ops->inspect(rt, "listed", &info, &e), 0);
	assert_string_equal(info.state, "stopped");
	assert_int_equal(rt->ops->inspect(rt, "nope", &info, &e), -1);
	assert_int_equal(e.code, MCP_E_NOTFOUND);
	assert_int_equal(rt->ops->stop(rt, "listed", 1, &e), 0);	/* already stopped */
	assert_int_equal(rt->ops->remove(rt, "listed", 0, &e), 0);
	assert_int_equal(access(vmdir, F_OK), -1);
	assert_int_equal(rt->ops->remove(rt, "listed", 0, &e), 0);	/* absent is success */
	runtime_free(rt);

	qc.accel = "hvf";
	assert_null(qemu_runtime_new(&qc, &e));
	assert_int_equal(e.code, MCP_E_INVALID);
}

/* A builder stub: the runtime only talks to struct image_builder. */
static int fake_builds;

static int
fake_pull(struct image_builder *b, const char *image, struct mcp_err *err)
{
	(void)b;
	return mcp_err_set(err, MCP_E_UNAVAILABLE, "fake pull %s", image);
}

static int
fake_exists(struct image_builder *b, const char *image, struct mcp_err *err)
{
	(void)b;
	(void)err;
	return strcmp(image, "present:v1") == 0;
}

static int
fake_build(struct image_builder *b, const struct image_request *req,
    struct image_artifact *out, struct mcp_err *err)
{
	(void)b;
	(void)out;
	fake_builds++;
	return mcp_err_set(err, MCP_E_INVALID, "fake build of %s for %s failed", req->image,
	    req->service);
}

static const struct image_builder_ops fake_ops = {
	.name = "fake", .pull = fake_pull, .exists = fake_exists, .build = fake_build,
};

static void
test_run_claims_state_dir(void **state)
{
	struct image_builder fake = { &fake_ops, NULL };
	struct qemu_config qc = { 0 };
	struct mcp_err e = MCP_ERR_INIT;
	struct rt_spec spec = { .name = "claim", .image = "img:v1", .memory_mb = 128 };
	char statedir[256], vmdir[300];
	struct runtime *rt;
	int fd;

	(void)state;
	snprintf(statedir, sizeof(statedir), "%s/claims", tmpdir);
	snprintf(vmdir, sizeof(vmdir), "%s/claim", statedir);
	qc.state_dir = statedir;
	qc.builder = &fake;
	rt = qemu_runtime_new(&qc, &e);
	assert_non_null(rt);
	assert_int_equal(rt->ops->image_exists(rt, "present:v1", &e), 1);
	assert_int_equal(rt->ops->image_exists(rt, "absent:v1", &e), 0);
	assert_int_equal(rt->ops->pull(rt, "x:v1", &e), -1);
	assert_string_equal(e.msg, "fake pull x:v1");

	/* a failed build leaves no state dir; service defaults to the name */
	assert_int_equal(rt->ops->run(rt, &spec, &e), -1);
	assert_string_equal(e.msg, "vm claim: build: fake build of img:v1 for claim failed");
	assert_int_equal(access(vmdir, F_OK), -1);

	/* the leftover of an interrupted run (no spec.json) is taken over */
	assert_int_equal(file_mkdirs(vmdir, 0700, &e), 0);
	put(vmdir, "console.log", "old\n");
	fake_builds = 0;
	assert_int_equal(rt->ops->run(rt, &spec, &e), -1);
	assert_int_equal(fake_builds, 1);
	assert_int_equal(access(vmdir, F_OK), -1);

	/* a run in progress (directory locked) is not */
	assert_int_equal(file_mkdirs(vmdir, 0700, &e), 0);
	fd = open(vmdir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(rt->ops->run(rt, &spec, &e), -1);
	assert_int_equal(e.code, MCP_E_EXISTS);
	assert_non_null(strstr(e.msg, "being created"));
	close(fd);

	/* an existing VM (spec.json) is not */
	put(vmdir, "spec.json", "{\"name\":\"claim\"}");
	fake_builds = 0;
	assert_int_equal(rt->ops->run(rt, &spec, &e), -1);
	assert_int_equal(e.code, MCP_E_EXISTS);
	assert_int_equal(fake_builds, 0);
	assert_int_equal(access(vmdir, F_OK), 0);

	/* refused before anything is touched */
	spec.memory_mb = 0;
	spec.name = "nomem";
	assert_int_equal(rt->ops->run(rt, &spec, &e), -1);
	assert_int_equal(e.code, MCP_E_INVALID);
	spec.memory_mb = 64;
	assert_int_equal(rt->ops->run(rt, &spec, &e), -1);
	assert_string_equal(e.msg, "vm nomem: memory_mb 64 is below the 96 MiB the guest "
	    "kernel needs to boot");
	spec.memory_mb = 128;
	/* an address needs the bridge: this runtime has none */
	spec.vm_ip = "10.99.0.5";
	assert_int_equal(rt->ops->run(rt, &spec, &e), -1);
	assert_int_equal(e.code, MCP_E_PRECONDITION);
	assert_non_null(strstr(e.msg, "needs the bridge"));
	runtime_free(rt);
}

static void
test_available(void **state)
{
	struct qemu_config qc = { 0 };
	char why[256];

	(void)state;
	qc.kernel = "/nonexistent/vmlinux";
	assert_int_equal(qemu_runtime_available(&qc, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "/nonexistent/vmlinux"));
	qc.binary = "/nonexistent/qemu";
	assert_int_equal(qemu_runtime_available(&qc, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "QEMU binary /nonexistent/qemu not found"));
}

/* ================= integration ================= */

struct it {
	const char *kernel, *modules, *init, *work, *podman_dir, *image, *registry;
	const char *dyn_image, *stubborn_image, *noep_image;
	int port;
	char state[256], cache[256], vol[256];
	struct podman_config pc;
	const char *args[32];
	char conf[300];
	const char *insecure[2];
	struct image_builder *builder;
	struct runtime *rt;
};

static struct it IT;

static const char *
env_req(const char *k)
{
	const char *v = getenv(k);

	return v && v[0] ? v : NULL;
}

static struct runtime *
it_runtime(void)
{
	struct qemu_config qc = {
		.kernel = IT.kernel, .modules_dir = IT.modules, .state_dir = IT.state,
		.cache_dir = IT.cache, .accel = "auto", .podman = &IT.pc,
		.mcp_init = IT.init, .stop_timeout_s = 15, .builder = IT.builder,
		.machine = getenv("MCP_QEMU_MACHINE"),
	};
	struct mcp_err e = MCP_ERR_INIT;
	struct runtime *rt = qemu_runtime_new(&qc, &e);

	if (rt == NULL)
		fail_msg("qemu_runtime_new: %s", e.msg);
	return rt;
}

static int
it_setup(void **state)
{
	static char lines[32][256];
	char path[300];
	FILE *f;
	size_t n = 0;

	(void)state;
	if (!env_req("MCP_QEMU_TEST"))
		return 0;
	IT.kernel = env_req("MCP_QEMU_KERNEL");
	IT.modules = env_req("MCP_QEMU_MODULES");
	IT.init = env_req("MCP_QEMU_INIT");
	IT.work = env_req("MCP_QEMU_WORK");
	IT.podman_dir = env_req("MCP_TEST_PODMAN_DIR");
	IT.image = env_req("MCP_QEMU_IMAGE");
	IT.registry = env_req("MCP_QEMU_REGISTRY");
	IT.dyn_image = env_req("MCP_QEMU_DYN_IMAGE");
	IT.stubborn_image = env_req("MCP_QEMU_STUBBORN_IMAGE");
	IT.noep_image = env_req("MCP_QEMU_NOEP_IMAGE");
	IT.port = env_req("MCP_QEMU_PORT") ? atoi(getenv("MCP_QEMU_PORT")) : 0;
	if (!IT.kernel || !IT.modules || !IT.init || !IT.work || !IT.podman_dir ||
	    !IT.image || !IT.port) {
		fprintf(stderr, "test_qemu: MCP_QEMU_TEST set but MCP_QEMU_KERNEL, _MODULES, "
		    "_INIT, _WORK, _IMAGE, _PORT or MCP_TEST_PODMAN_DIR missing\n");
		return -1;
	}
	snprintf(IT.state, sizeof(IT.state), "%s/vm", IT.work);
	snprintf(IT.cache, sizeof(IT.cache), "%s/cache", IT.work);
	snprintf(IT.vol, sizeof(IT.vol), "%s/vol", IT.work);
	snprintf(path, sizeof(path), "%s/podman.args", IT.podman_dir);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (n < 31 && fgets(lines[n], sizeof(lines[n]), f)) {
		mcp_rtrim(lines[n]);
		IT.args[n] = lines[n];
		n++;
	}
	fclose(f);
	IT.args[n] = NULL;
	snprintf(IT.conf, sizeof(IT.conf), "%s/containers.conf", IT.podman_dir);
	snprintf(path, sizeof(path), "%s/imgtmp", IT.podman_dir);
	setenv("TMPDIR", path, 1);
	IT.insecure[0] = IT.registry;
	IT.pc = (struct podman_config){ .global_args = IT.args, .containers_conf = IT.conf,
		.insecure_registries = IT.insecure, .timeout_s = 60 };
	return 0;
}

static int
it_teardown(void **state)
{
	(void)state;
	runtime_free(IT.rt);
	image_builder_free(IT.builder);
	return 0;
}

#define IT_REQUIRE() do { \
	if (!env_req("MCP_QEMU_TEST")) { \
		print_message("skipped: QEMU integration needs MCP_QEMU_TEST=1 " \
		    "(run tests/integration/qemu_runtime.sh)\n"); \
		skip(); \
	} \
} while (0)

/* GET path on 127.0.0.1:port; body into out; 0 on an HTTP 200. */
static int
http_get_t(int port, const char *path, char *out, size_t outsz, int timeout_ms)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	char req[256], resp[4096];
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0), rc = -1;
	char *body;

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		goto out;
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
	if (write(fd, req, strlen(req)) < 0)
		goto out;
	while (got < sizeof(resp) - 1 && (n = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
		got += (size_t)n;
	resp[got] = '\0';
	if (strncmp(resp, "HTTP/1.", 7) != 0 || strncmp(resp + 9, "200", 3) != 0)
		goto out;
	body = strstr(resp, "\r\n\r\n");
	mcp_strlcpy(out, body ? body + 4 : "", outsz);
	rc = 0;
out:
	close(fd);
	return rc;
}

static int
http_get(int port, const char *path, char *out, size_t outsz)
{
	return http_get_t(port, path, out, outsz, 5000);
}

/* Poll with short timeouts: before the guest listens, slirp accepts and stalls. */
static int
wait_http(int port, char *out, size_t outsz, double secs)
{
	double end = now_s() + secs;

	while (now_s() < end) {
		if (http_get_t(port, "/", out, outsz, 300) == 0)
			return 0;
		usleep(50000);
	}
	return -1;
}

static const char *const hello_env[] = { "PORT=8080", "HELLO_NAME=hello-vm", NULL };

static struct rt_volume hello_vol;

static struct rt_spec
hello_spec(const char *image)
{
	static struct rt_port port;

	port = (struct rt_port){ .name = "", .port = 8080, .host_port = IT.port };
	hello_vol = (struct rt_volume){ .host = IT.vol, .guest = "/srv/hello-vm", .opts = "" };
	return (struct rt_spec){
		.name = "hello-vm", .service = "hello-vm", .component = "hello-vm",
		.image = image, .env = hello_env, .volumes = &hello_vol, .nvolumes = 1,
		.ports = &port, .nports = 1, .memory_mb = 128, .vcpus = 1, .network = "user",
	};
}

static long
vm_rss_kb(pid_t pid)
{
	char path[64];
	struct buf b = BUF_INIT;
	long kb = -1;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (file_read(path, &b, 1 << 16, NULL) == 0 && (p = strstr(b.data, "VmRSS:")))
		kb = strtol(p + 6, NULL, 10);
	buf_free(&b);
	return kb;
}

static int
console_has(const char *needle)
{
	char path[300];
	struct buf b = BUF_INIT;
	int ok;

	snprintf(path, sizeof(path), "%s/hello-vm/console.log", IT.state);
	ok = file_read(path, &b, 0, NULL) == 0 && strstr(b.data, needle) != NULL;
	buf_free(&b);
	return ok;
}

static void
it_pull_and_build(void **state)
{
	struct mcp_err e = MCP_ERR_INIT;
	struct initramfs_config ic;
	struct image_request req;
	struct image_artifact a1, a2;
	double t0, cold, cached;
	struct runtime *rt;

	(void)state;
	IT_REQUIRE();
	assert_int_equal(file_mkdirs(IT.vol, 0755, &e), 0);
	put(IT.vol, "greeting.txt", "baked into the initramfs\n");
	ic = (struct initramfs_config){ .podman = &IT.pc, .kernel = IT.kernel,
		.modules_dir = IT.modules, .mcp_init = IT.init, .cache_dir = IT.cache };
	IT.builder = initramfs_builder_new(&ic, &e);
	assert_non_null(IT.builder);
	rt = IT.rt = it_runtime();

	t0 = now_s();
	if (rt->ops->pull(rt, IT.image, &e) == -1)
		fail_msg("pull %s: %s", IT.image, e.msg);
	printf("measure: pull (registry -> podman store, extract ELF) %.3f s\n", now_s() - t0);
	assert_int_equal(rt->ops->image_exists(rt, IT.image, &e), 1);
	assert_int_equal(rt->ops->image_exists(rt, "localhost/absent:v0", &e), 0);

	/* the request the runtime will make for hello_spec(), to time the builder */
	hello_spec(IT.image);
	req = (struct image_request){ .image = IT.image, .service = "hello-vm",
		.env = hello_env, .volumes = &hello_vol, .nvolumes = 1,
		.hostname = "hello-vm", .ip = "10.0.2.15", .netmask = "255.255.255.0",
		.gateway = "10.0.2.2" };
	t0 = now_s();
	if (IT.builder->ops->build(IT.builder, &req, &a1, &e) == -1)
		fail_msg("build: %s", e.msg);
	cold = now_s() - t0;
	t0 = now_s();
	assert_int_equal(IT.builder->ops->build(IT.builder, &req, &a2, &e), 0);
	cached = now_s() - t0;
	assert_int_equal(a1.cached, 0);
	assert_int_equal(a2.cached, 1);
	assert_string_equal(a1.hash, a2.hash);
	assert_string_equal(a1.exec, "/usr/local/bin/hello");
	assert_int_equal(strncmp(a1.hash, "sha256:", 7), 0);
	printf("measure: image build cold %.3f s, cached %.3f s, initramfs %llu bytes, "
	    "kernel %llu bytes\n", cold, cached, (unsigned long long)a1.initrd_size,
	    (unsigned long long)a1.kernel_size);

	/* the volume is in the initramfs at its guest path */
	{
		struct archive *ar = archive_read_new();
		struct archive_entry *en;
		int found = 0, init = 0, cfg = 0;

		archive_read_support_format_cpio(ar);
		assert_int_equal(archive_read_open_filename(ar, a1.initrd, 65536), ARCHIVE_OK);
		while (archive_read_next_header(ar, &en) == ARCHIVE_OK) {
			const char *p = archive_entry_pathname(en);

			found |= strcmp(p, "srv/hello-vm/greeting.txt") == 0;
			init |= strcmp(p, "init") == 0;
			cfg |= strcmp(p, "mcp/config") == 0;
		}
		archive_read_free(ar);
		assert_true(found && init && cfg);
	}
}

static void
it_run_http_logs_stop(void **state)
{
	struct mcp_err e = MCP_ERR_INIT;
	struct rt_spec spec;
	struct rt_info info;
	struct collect c = { BUF_INIT, 0, 0 };
	char body[1024], path[128], id[40] = "";
	double t0, t_run, t_http;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t slen = sizeof(sin);
	int probe;
	long rss;

	(void)state;
	IT_REQUIRE();
	spec = hello_spec(IT.image);
	spec.spec_hash = "feedbeef";
	spec.id_out = id;
	spec.id_outsz = sizeof(id);
	t0 = now_s();
	if (IT.rt->ops->run(IT.rt, &spec, &e) == -1)
		fail_msg("run: %s", e.msg);
	t_run = now_s() - t0;
	assert_int_equal(strlen(id), 32);	/* random instance id */
	assert_int_equal(IT.rt->ops->run(IT.rt, &spec, &e), -1);
	assert_int_equal(e.code, MCP_E_EXISTS);
	if (wait_http(IT.port, body, sizeof(body), 60) == -1) {
		IT.rt->ops->logs(IT.rt, "hello-vm", 0, 0, collect_cb, &c, &e);
		fail_msg("no HTTP answer on 127.0.0.1:%d; console:\n%s", IT.port,
		    c.b.data ? c.b.data : "");
	}
	t_http = now_s() - t0;
	/* component env and image env (HELLO_VERSION) both reached the app */
	assert_non_null(strstr(body, "hello from hello-vm version v"));

	assert_int_equal(IT.rt->ops->inspect(IT.rt, "hello-vm", &info, &e), 0);
	assert_string_equal(info.state, "running");
	assert_true(info.pid > 0);
	assert_int_equal(strncmp(info.image_hash, "sha256:", 7), 0);
	assert_int_equal(info.memory_mb, 128);
	assert_string_equal(info.service, "hello-vm");
	assert_string_equal(info.id, id);
	assert_string_equal(info.spec_hash, "feedbeef");
	rss = vm_rss_kb(info.pid);
	printf("measure: run() %.3f s (cached build), run -> first HTTP answer %.3f s, "
	    "QEMU RSS %ld MiB for memory_mb 128\n", t_run, t_http, rss / 1024);

	/* guest loopback works; restrict=on: the guest cannot reach the host */
	assert_int_equal(http_get(IT.port, "/connect?addr=127.0.0.1:8080", body,
	    sizeof(body)), 0);
	assert_non_null(strstr(body, "ok"));
	probe = socket(AF_INET, SOCK_STREAM, 0);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_int_equal(bind(probe, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(probe, 4), 0);
	getsockname(probe, (struct sockaddr *)&sin, &slen);
	snprintf(path, sizeof(path), "/connect?addr=10.0.2.2:%d", ntohs(sin.sin_port));
	assert_int_equal(http_get(IT.port, path, body, sizeof(body)), 0);
	close(probe);
	printf("restrict=on: guest -> host 10.0.2.2:%d: %s", ntohs(sin.sin_port), body);
	assert_non_null(strstr(body, "failed"));

	/* logs: tail, then follow with cancellation by ticks */
	assert_int_equal(IT.rt->ops->logs(IT.rt, "hello-vm", 50, 0, collect_cb, &c, &e), 0);
	assert_non_null(strstr(c.b.data, "mcp-init: started /usr/local/bin/hello"));
	assert_non_null(strstr(c.b.data, "GET /"));
	buf_reset(&c.b);
	c.stop_after_ticks = 2;
	t0 = now_s();
	assert_int_equal(IT.rt->ops->logs(IT.rt, "hello-vm", 1, 1, collect_cb, &c, &e), 0);
	assert_true(c.ticks == 2 && now_s() - t0 < 4);
	buf_free(&c.b);

	/* graceful stop: the app sees SIGTERM, mcp-init reports and powers off */
	t0 = now_s();
	if (IT.rt->ops->stop(IT.rt, "hello-vm", 20, &e) == -1)
		fail_msg("stop: %s", e.msg);
	printf("measure: graceful stop %.3f s\n", now_s() - t0);
	assert_true(console_has("hello: received SIGTERM, exiting"));
	assert_true(console_has("mcp-init: app exited with status 0"));
	assert_true(console_has("mcp-init: power button"));
	assert_int_equal(IT.rt->ops->inspect(IT.rt, "hello-vm", &info, &e), 0);
	assert_string_equal(info.state, "stopped");
	assert_int_equal(info.exit_code, 0);
	assert_true(now_s() - t0 < 10);	/* not the quit/SIGKILL path */
}

static int
proc_mentions(const char *needle)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int found = 0;

	while (d && (de = readdir(d)) != NULL) {
		char path[300];
		struct buf b = BUF_INIT;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		if (file_read(path, &b, 1 << 20, NULL) == 0)
			for (size_t off = 0; off < b.len; off += strlen(b.data + off) + 1)
				if (strstr(b.data + off, needle))
					found = 1;
		buf_free(&b);
	}
	if (d)
		closedir(d);
	return found;
}

static void
it_restart_kill_stale(void **state)
{
	struct mcp_err e = MCP_ERR_INIT;
	struct rt_spec spec;
	struct rt_info info, *list = NULL;
	char body[1024], vmdir[300], text[32];
	size_t n = 0;
	pid_t qpid, sl;

	(void)state;
	IT_REQUIRE();
	spec = hello_spec(IT.image);
	assert_int_equal(IT.rt->ops->remove(IT.rt, "hello-vm", 0, &e), 0);
	if (IT.rt->ops->run(IT.rt, &spec, &e) == -1)
		fail_msg("run again: %s", e.msg);
	assert_int_equal(wait_http(IT.port, body, sizeof(body), 60), 0);

	/* agent restart: a new runtime finds the running VM from the state dir */
	runtime_free(IT.rt);
	IT.rt = it_runtime();
	assert_int_equal(IT.rt->ops->list(IT.rt, &list, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].name, "hello-vm");
	assert_string_equal(list[0].state, "running");
	qpid = list[0].pid;
	free(list);

	/* kill -9 QEMU: inspect says not running (stale pidfile stays) */
	kill(qpid, SIGKILL);
	for (int i = 0; i < 50 && kill(qpid, 0) == 0; i++)
		usleep(100000);
	assert_int_equal(IT.rt->ops->inspect(IT.rt, "hello-vm", &info, &e), 0);
	assert_string_equal(info.state, "stopped");
	assert_int_equal(info.exit_code, -1);

	/* a stale pidfile naming a live unrelated process is not trusted */
	snprintf(vmdir, sizeof(vmdir), "%s/hello-vm", IT.state);
	sl = start_sleep("sleep");
	snprintf(text, sizeof(text), "%d\n", (int)sl);
	put(vmdir, "qemu.pid", text);
	assert_int_equal(IT.rt->ops->inspect(IT.rt, "hello-vm", &info, &e), 0);
	assert_string_equal(info.state, "stopped");
	assert_int_equal(info.pid, 0);
	assert_int_equal(IT.rt->ops->stop(IT.rt, "hello-vm", 2, &e), 0);
	assert_int_equal(IT.rt->ops->remove(IT.rt, "hello-vm", 0, &e), 0);
	assert_int_equal(kill(sl, 0), 0);	/* untouched */
	end_child(sl);
	assert_int_equal(access(vmdir, F_OK), -1);
}

static void
it_tamper_dynamic_remove(void **state)
{
	struct mcp_err e = MCP_ERR_INIT;
	struct rt_spec spec;
	struct rt_info *list = NULL;
	char vmdir[300], path[600];
	struct dirent *de;
	size_t n = 0;
	int tampered = 0;
	DIR *d;

	(void)state;
	IT_REQUIRE();
	snprintf(vmdir, sizeof(vmdir), "%s/hello-vm", IT.state);

	/* tamper with the cached initramfs: the next boot is refused */
	snprintf(path, sizeof(path), "%s/vm", IT.cache);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL) {
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/vm/%s/initramfs.cpio", IT.cache, de->d_name);
		if ((fd = open(path, O_WRONLY | O_APPEND)) >= 0) {
			assert_int_equal(write(fd, "\0\0\0\0", 4), 4);
			close(fd);
			tampered++;
		}
	}
	closedir(d);
	assert_true(tampered >= 1);
	spec = hello_spec(IT.image);
	assert_int_equal(IT.rt->ops->run(IT.rt, &spec, &e), -1);
	printf("tampered: %s\n", e.msg);
	assert_int_equal(e.code, MCP_E_DATALOSS);
	assert_non_null(strstr(e.msg, "attestation failed for vm hello-vm"));
	assert_non_null(strstr(e.msg, "expected sha256:"));
	assert_int_equal(access(vmdir, F_OK), -1);	/* nothing half-made left */

	/* a dynamically linked entrypoint is refused with image and path */
	if (IT.dyn_image) {
		struct rt_spec dyn = hello_spec(IT.dyn_image);

		dyn.name = "dyn-vm";
		dyn.nvolumes = 0;
		assert_int_equal(IT.rt->ops->run(IT.rt, &dyn, &e), -1);
		printf("dynamic: %s\n", e.msg);
		assert_int_equal(e.code, MCP_E_INVALID);
		assert_non_null(strstr(e.msg, IT.dyn_image));
		assert_non_null(strstr(e.msg, "dynamically linked"));
		snprintf(path, sizeof(path), "%s/dyn-vm", IT.state);
		assert_int_equal(access(path, F_OK), -1);
	}

	/* everything removed: no state dir, no QEMU of ours */
	assert_int_equal(IT.rt->ops->remove(IT.rt, "hello-vm", 1, &e), 0);
	assert_int_equal(IT.rt->ops->list(IT.rt, &list, &n, &e), 0);
	assert_int_equal(n, 0);
	free(list);
	assert_false(proc_mentions(IT.state));
}

/* A running VM removed with force: stop + delete. */
static void
it_force_remove_running(void **state)
{
	struct mcp_err e = MCP_ERR_INIT;
	struct rt_spec spec;
	char body[256], vmdir[300];

	(void)state;
	IT_REQUIRE();
	/* rebuild after the tamper test: drop the cache entry */
	assert_int_equal(rm_rf(IT.cache), 0);
	spec = hello_spec(IT.image);
	if (IT.rt->ops->run(IT.rt, &spec, &e) == -1)
		fail_msg("run: %s", e.msg);
	assert_int_equal(wait_http(IT.port, body, sizeof(body), 60), 0);
	assert_int_equal(IT.rt->ops->remove(IT.rt, "hello-vm", 0, &e), -1);
	assert_int_equal(e.code, MCP_E_PRECONDITION);
	assert_int_equal(IT.rt->ops->remove(IT.rt, "hello-vm", 1, &e), 0);
	snprintf(vmdir, sizeof(vmdir), "%s/hello-vm", IT.state);
	assert_int_equal(access(vmdir, F_OK), -1);
	assert_false(proc_mentions(IT.state));
}

/* Which executable: entrypoint, command (searched in $PATH), convention. */
static void
it_exec_resolution(void **state)
{
	struct mcp_err e = MCP_ERR_INIT;
	struct image_request req = { .ip = NULL };
	struct image_artifact a;
	const char *cmd[] = { "hello", "--flag", NULL };
	const char *abscmd[] = { "/usr/local/bin/hello", NULL };
	const char *missing[] = { "serve", "--config", "/x", NULL };

	(void)state;
	IT_REQUIRE();
	if (IT.noep_image == NULL)
		skip();
	req.image = IT.noep_image;
	req.service = "hello";		/* /usr/local/bin/hello by convention */
	if (IT.builder->ops->build(IT.builder, &req, &a, &e) == -1)
		fail_msg("build by convention: %s", e.msg);
	assert_string_equal(a.exec, "/usr/local/bin/hello");
	req.service = "other";
	req.cmd = cmd;			/* first word searched in the image's PATH */
	assert_int_equal(IT.builder->ops->build(IT.builder, &req, &a, &e), 0);
	assert_string_equal(a.exec, "/usr/local/bin/hello");
	req.cmd = abscmd;
	assert_int_equal(IT.builder->ops->build(IT.builder, &req, &a, &e), 0);
	req.cmd = missing;		/* args for /usr/local/bin/<service>, absent */
	assert_int_equal(IT.builder->ops->build(IT.builder, &req, &a, &e), -1);
	printf("no executable: %s\n", e.msg);
	assert_int_equal(e.code, MCP_E_NOTFOUND);
	assert_non_null(strstr(e.msg, "command \"serve\" not found"));
	assert_non_null(strstr(e.msg, "/usr/local/bin/other"));
	req.cmd = NULL;
	req.volumes = &(struct rt_volume){ .host = IT.vol, .guest = "/mcp/x" };
	req.nvolumes = 1;
	req.service = "hello";
	assert_int_equal(IT.builder->ops->build(IT.builder, &req, &a, &e), -1);
	assert_non_null(strstr(e.msg, "/mcp is reserved"));
}

/* An app that ignores SIGTERM: stop escalates to QMP quit after the timeout. */
static void
it_stop_escalates(void **state)
{
	struct mcp_err e = MCP_ERR_INIT;
	struct rt_spec spec;
	struct rt_info info;
	char path[300];
	struct buf con = BUF_INIT;
	double t0, took;
	int up = 0;

	(void)state;
	IT_REQUIRE();
	if (IT.stubborn_image == NULL)
		skip();
	spec = hello_spec(IT.stubborn_image);
	spec.name = "stubborn-vm";
	spec.nvolumes = 0;
	spec.nports = 0;
	if (IT.rt->ops->run(IT.rt, &spec, &e) == -1)
		fail_msg("run: %s", e.msg);
	snprintf(path, sizeof(path), "%s/stubborn-vm/console.log", IT.state);
	for (int i = 0; i < 600 && !up; i++) {
		usleep(100000);
		up = file_read(path, &con, 0, NULL) == 0 && strstr(con.data, "stubborn: up");
	}
	assert_true(up);
	t0 = now_s();
	assert_int_equal(IT.rt->ops->stop(IT.rt, "stubborn-vm", 3, &e), 0);
	took = now_s() - t0;
	printf("measure: stop of a SIGTERM-ignoring app %.3f s (timeout 3 s, then quit)\n", took);
	assert_true(took >= 3.0 && took < 10.0);
	assert_int_equal(file_read(path, &con, 0, NULL), 0);
	assert_non_null(strstr(con.data, "mcp-init: power button: sending SIGTERM"));
	assert_null(strstr(con.data, "app exited"));
	assert_int_equal(IT.rt->ops->inspect(IT.rt, "stubborn-vm", &info, &e), 0);
	assert_string_equal(info.state, "stopped");
	assert_int_equal(IT.rt->ops->remove(IT.rt, "stubborn-vm", 0, &e), 0);
	buf_free(&con);
}

static int
unit_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mcp-test-qemu.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
unit_teardown(void **state)
{
	(void)state;
	return rm_rf(tmpdir);
}

int
main(void)
{
	const struct CMUnitTest unit[] = {
		cmocka_unit_test(test_accel_pick),
		cmocka_unit_test(test_pid_trust),
		cmocka_unit_test(test_pidfile_read),
		cmocka_unit_test(test_vm_dir_names),
		cmocka_unit_test(test_jail_pure),
		cmocka_unit_test(test_qmp_powerdown_flow),
		cmocka_unit_test(test_qmp_shutdown_event),
		cmocka_unit_test(test_qmp_errors),
		cmocka_unit_test(test_inspect_and_console),
		cmocka_unit_test(test_logs_tail_follow),
		cmocka_unit_test(test_runtime_over_state_dirs),
		cmocka_unit_test(test_run_claims_state_dir),
		cmocka_unit_test(test_available),
	};
	const struct CMUnitTest integration[] = {
		cmocka_unit_test(it_pull_and_build),
		cmocka_unit_test(it_run_http_logs_stop),
		cmocka_unit_test(it_restart_kill_stale),
		cmocka_unit_test(it_tamper_dynamic_remove),
		cmocka_unit_test(it_exec_resolution),
		cmocka_unit_test(it_stop_escalates),
		cmocka_unit_test(it_force_remove_running),
	};
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = cmocka_run_group_tests_name("qemu_unit", unit, unit_setup, unit_teardown);
	rc |= cmocka_run_group_tests_name("qemu_integration", integration, it_setup,
	    it_teardown);
	return rc;
}
