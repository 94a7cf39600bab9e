/*
 * test_cli_hint.c: the likely cause the CLI adds when an agent cannot be
 * reached (cli/hint.c), on real addresses: no socket file, a regular file,
 * a stale socket nobody listens on, a listening socket (no hint: the
 * address is fine), a TCP address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli.h"

static char dir[] = "/tmp/test_cli_hint.XXXXXX";

static int
bound_socket(const char *path, int do_listen)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (do_listen)
		assert_int_equal(listen(fd, 1), 0);
	return fd;
}

static void
test_hints(void **state)
{
	char addr[128], path[96], hint[512];
	FILE *f;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));

	snprintf(addr, sizeof(addr), "unix:%s/missing.sock", dir);
	assert_int_equal(cli_unreachable_hint(addr, hint, sizeof(hint)), 1);
	assert_non_null(strstr(hint, "is mcp-agent running?"));
	assert_non_null(strstr(hint, "missing.sock not found"));

	snprintf(path, sizeof(path), "%s/file", dir);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);
	snprintf(addr, sizeof(addr), "unix:%s", path);
	assert_int_equal(cli_unreachable_hint(addr, hint, sizeof(hint)), 1);
	assert_non_null(strstr(hint, "is not a socket"));

	snprintf(path, sizeof(path), "%s/stale.sock", dir);
	fd = bound_socket(path, 0);
	snprintf(addr, sizeof(addr), "unix:%s", path);
	assert_int_equal(cli_unreachable_hint(addr, hint, sizeof(hint)), 1);
	assert_non_null(strstr(hint, "nothing accepts connections"));
	close(fd);

	snprintf(path, sizeof(path), "%s/live.sock", dir);
	fd = bound_socket(path, 1);
	snprintf(addr, sizeof(addr), "unix:%s", path);
	assert_int_equal(cli_unreachable_hint(addr, hint, sizeof(hint)), 0);
	assert_string_equal(hint, "");
	close(fd);

	assert_int_equal(cli_unreachable_hint("node1.example.net:9444", hint, sizeof(hint)), 1);
	assert_non_null(strstr(hint, "[agent] listen"));

	unlink(path);
	snprintf(path, sizeof(path), "%s/stale.sock", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/file", dir);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hints),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
