/*
 * test_sdnotify.c: the systemd readiness datagram (util/sdnotify.h).
 * Address parsing on a table (path, abstract, relative, empty, too long);
 * a real datagram socket stands in for systemd, bound at a path and at an
 * abstract name, and must receive exactly "READY=1"; no NOTIFY_SOCKET is a
 * silent success; sdnotify_take_env hands the address over and removes it
 * from the environment children would inherit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/err.h"
#include "util/sdnotify.h"

static void
test_addr_table(void **state)
{
	char longpath[200];
	static const struct {
		const char *addr;
		int ok;
		int abstract;
	} cases[] = {
		{ "/run/systemd/notify", 1, 0 },
		{ "@/org/freedesktop/systemd1/notify/123", 1, 1 },
		{ "@x", 1, 1 },
		{ "relative/sock", 0, 0 },
		{ "", 0, 0 },
		{ "@", 0, 0 },
		{ "/", 0, 0 },
	};
	struct sockaddr_un sa;
	socklen_t len;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mcp_err err = MCP_ERR_INIT;
		int rc = sdnotify_addr(cases[i].addr, &sa, &len, &err);

		if (!cases[i].ok) {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(err.msg, "NOTIFY_SOCKET"));
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(sa.sun_family, AF_UNIX);
		if (cases[i].abstract) {
			/* leading NUL, no trailing NUL counted */
			assert_int_equal(sa.sun_path[0], '\0');
			assert_memory_equal(sa.sun_path + 1, cases[i].addr + 1,
			    strlen(cases[i].addr) - 1);
			assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) +
			    strlen(cases[i].addr));
		} else {
			assert_string_equal(sa.sun_path, cases[i].addr);
			assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) +
			    strlen(cases[i].addr) + 1);
		}
	}
	/* one byte too long for sun_path */
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	longpath[SDNOTIFY_ADDR_MAX] = '\0';
	{
		struct mcp_err err = MCP_ERR_INIT;

		assert_int_equal(sdnotify_addr(longpath, &sa, &len, &err), -1);
		assert_non_null(strstr(err.msg, "longer than a socket address"));
		longpath[SDNOTIFY_ADDR_MAX - 1] = '\0';
		assert_int_equal(sdnotify_addr(longpath, &sa, &len, &err), 0);
	}
}

/* Bind a datagram socket at addr (as systemd does) and return it. */
static int
listener(const char *addr)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct sockaddr_un sa;
	socklen_t len;
	struct timeval tv = { 5, 0 };
	int fd;

	assert_int_equal(sdnotify_addr(addr, &sa, &len, &err), 0);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return fd;
}

static void
expect_datagram(int fd, const char *want)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void
test_send_path(void **state)
{
	char dir[] = "/tmp/test_sdnotify.XXXXXX", path[64];
	struct mcp_err err = MCP_ERR_INIT;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = listener(path);
	assert_int_equal(sdnotify_send(path, "READY=1", &err), 0);
	expect_datagram(fd, "READY=1");
	assert_int_equal(sdnotify_send(path, "STOPPING=1", &err), 0);
	expect_datagram(fd, "STOPPING=1");
	close(fd);
	/* nobody listening any more: an error naming the address */
	assert_int_equal(sdnotify_send(path, "READY=1", &err), -1);
	assert_non_null(strstr(err.msg, path));
	unlink(path);
	rmdir(dir);
}

static void
test_send_abstract(void **state)
{
	char addr[64];
	struct mcp_err err = MCP_ERR_INIT;
	int fd;

	(void)state;
	snprintf(addr, sizeof(addr), "@mcp-test-sdnotify-%d", (int)getpid());
	fd = listener(addr);
	assert_int_equal(sdnotify_send(addr, "READY=1", &err), 0);
	expect_datagram(fd, "READY=1");
	close(fd);
}

static void
test_not_under_systemd(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	assert_int_equal(sdnotify_send(NULL, "READY=1", &err), 0);
	assert_int_equal(sdnotify_send("", "READY=1", &err), 0);
	assert_string_equal(err.msg, "");
}

static void
test_take_env(void **state)
{
	char out[SDNOTIFY_ADDR_MAX + 1];

	(void)state;
	setenv("NOTIFY_SOCKET", "@mcp-take", 1);
	sdnotify_take_env(out, sizeof(out));
	assert_string_equal(out, "@mcp-take");
	assert_null(getenv("NOTIFY_SOCKET"));
	sdnotify_take_env(out, sizeof(out));
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_table),
		cmocka_unit_test(test_send_path),
		cmocka_unit_test(test_send_abstract),
		cmocka_unit_test(test_not_under_systemd),
		cmocka_unit_test(test_take_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
