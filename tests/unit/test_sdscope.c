/*
 * test_sdscope.c: starting QEMU and HAProxy in transient systemd scopes
 * (util/sdscope.h).  The pure parts on tables: /proc/self/cgroup texts of
 * a unified, a hybrid and a legacy host, in and out of a service; scope
 * unit names (kept, escaped, too long); the systemd-run argv and its bound;
 * the systemd_scope setting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "util/err.h"
#include "util/sdscope.h"

/* `systemctl show -p LoadState -p ActiveState -p ControlGroup` outputs. */
static void
test_show_parse(void **state)
{
	struct sdscope_state st;

	(void)state;
	/* an old scope not yet collected: its cgroup named */
	sdscope_show_parse("LoadState=loaded\nActiveState=active\n"
	    "ControlGroup=/system.slice/mcp-vm-web.scope\n", &st);
	assert_true(st.loaded);
	assert_string_equal(st.active, "active");
	assert_string_equal(st.cgroup, "/system.slice/mcp-vm-web.scope");
	/* failed, no trailing newline, other order, unknown lines */
	sdscope_show_parse("ControlGroup=\nId=x.scope\nActiveState=failed\n"
	    "LoadState=loaded", &st);
	assert_true(st.loaded);
	assert_string_equal(st.active, "failed");
	assert_string_equal(st.cgroup, "");
	/* no such unit (collected): nothing to clear */
	sdscope_show_parse("LoadState=not-found\nActiveState=inactive\n"
	    "ControlGroup=\n", &st);
	assert_false(st.loaded);
	assert_string_equal(st.active, "inactive");
	/* "loaded" only as the whole value */
	sdscope_show_parse("LoadState=loadedx\n", &st);
	assert_false(st.loaded);
	sdscope_show_parse("", &st);
	assert_false(st.loaded);
	assert_string_equal(st.active, "");
}

static void
test_procs_parse(void **state)
{
	(void)state;
	assert_int_equal(sdscope_procs_parse("a(sus) 0\n"), 0);
	assert_int_equal(sdscope_procs_parse("a(sus) 2 \"/system.slice/mcp-vm-web."
	    "scope\" 4242 \"sleep 300\" \"/system.slice/mcp-vm-web.scope\" 4243 "
	    "\"x\"\n"), 4242);
	assert_int_equal(sdscope_procs_parse(""), -1);
	assert_int_equal(sdscope_procs_parse("Unit x.scope not loaded."), -1);
	assert_int_equal(sdscope_procs_parse("a(sus) 1 \"/x\""), -1);
	assert_int_equal(sdscope_procs_parse("a(sus) x"), -1);
}

static void
test_cgroup_is_service(void **state)
{
	static const struct {
		const char *text;
		int want;
	} t[] = {
		{ "0::/system.slice/mcp-agent.service\n", 1 },
		{ "0::/system.slice/mcp-agent.service", 1 },	/* no newline */
		{ "0::/user.slice/user-0.slice/session-3.scope\n", 0 },
		{ "0::/system.slice/mcp-vm-web.scope\n", 0 },
		{ "0::/\n", 0 },
		{ "0::/service\n", 0 },
		{ "0::/.service\n", 0 },
		/* hybrid: systemd tracks units in name=systemd */
		{ "12:pids:/\n1:name=systemd:/system.slice/mcp-agent.service\n0::/\n", 1 },
		{ "9:name=systemd:/\n4:memory:/x.service\n0::/\n", 0 },
		{ "9:name=systemd:/mcp-it/agent\n0::/\n", 0 },
		{ "", 0 },
		{ "garbage", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (sdscope_cgroup_is_service(t[i].text) != t[i].want)
			fail_msg("case %zu: \"%s\": want %d", i, t[i].text, t[i].want);
	}
}

static void
test_unit_name(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	char out[SDSCOPE_UNIT_MAX], small[16], longname[300];

	(void)state;
	assert_int_equal(sdscope_unit_name("mcp-vm", "web-api-2", out, sizeof(out), &err), 0);
	assert_string_equal(out, "mcp-vm-web-api-2.scope");
	assert_int_equal(sdscope_unit_name("mcp-proxy", "node1", out, sizeof(out), &err), 0);
	assert_string_equal(out, "mcp-proxy-node1.scope");
	/* escaped like systemd-escape: '/', ' ', a leading '.' */
	assert_int_equal(sdscope_unit_name("mcp-vm", ".a/b c", out, sizeof(out), &err), 0);
	assert_string_equal(out, "mcp-vm-\\x2ea\\x2fb\\x20c.scope");
	assert_int_equal(sdscope_unit_name("mcp-vm", "a.b", out, sizeof(out), &err), 0);
	assert_string_equal(out, "mcp-vm-a.b.scope");
	/* too long for the buffer, or for a unit name */
	assert_int_equal(sdscope_unit_name("mcp-vm", "abcdefgh", small, sizeof(small), &err), -1);
	assert_string_equal(small, "");
	assert_non_null(strstr(err.msg, "too long"));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(sdscope_unit_name("mcp-vm", longname, out, sizeof(out), &err), -1);
}

static void
test_wrap(void **state)
{
	const char *argv[] = { "qemu-system-x86_64", "-daemonize", "-pidfile", "/x/qemu.pid", NULL };
	const char *out[24], *tiny[10];
	char unitarg[SDSCOPE_UNIT_MAX + 8];
	static const char *const want[] = { "systemd-run", "--scope",
		"--unit=mcp-vm-web.scope", "--collect", "--quiet", "--",
		"qemu-system-x86_64", "-daemonize", "-pidfile", "/x/qemu.pid", NULL };

	(void)state;
	assert_int_equal(sdscope_wrap("mcp-vm-web.scope", argv, out, 24, unitarg,
	    sizeof(unitarg)), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (want[i] == NULL)
			assert_null(out[i]);
		else
			assert_string_equal(out[i], want[i]);
	}
	/* 4 arguments + 6 + NULL do not fit in 10 */
	assert_int_equal(sdscope_wrap("u.scope", argv, tiny, 10,
	    unitarg, sizeof(unitarg)), -1);
	assert_int_equal(sdscope_wrap("u.scope", argv, out, 24, unitarg, 8), -1);
}

static void
test_wrap_props(void **state)
{
	const char *argv[] = { "qemu-system-x86_64", "-m", "128", NULL };
	const char *props[] = { "MemoryMax=402653184", "TasksMax=128", NULL };
	const char *five[] = { "A=1", "B=2", "C=3", "D=4", "E=5", NULL };
	const char *out[24];
	char unitarg[SDSCOPE_UNIT_MAX + 8];
	static const char *const want[] = { "systemd-run", "--scope",
		"--unit=mcp-vm-web.scope", "--collect", "--quiet", "-p",
		"MemoryMax=402653184", "-p", "TasksMax=128", "--",
		"qemu-system-x86_64", "-m", "128", NULL };

	(void)state;
	assert_int_equal(sdscope_wrap_props("mcp-vm-web.scope", props, argv, out, 24,
	    unitarg, sizeof(unitarg)), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (want[i] == NULL)
			assert_null(out[i]);
		else
			assert_string_equal(out[i], want[i]);
	}
	/* more than SDSCOPE_MAX_PROPS properties, or no room: refused */
	assert_int_equal(sdscope_wrap_props("u.scope", five, argv, out, 24, unitarg,
	    sizeof(unitarg)), -1);
	assert_int_equal(sdscope_wrap_props("u.scope", props, argv, out, 13, unitarg,
	    sizeof(unitarg)), -1);
}

static void
test_mode(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	int m;

	(void)state;
	assert_int_equal(sdscope_mode("yes", &err), 1);
	assert_int_equal(sdscope_mode("no", &err), 0);
	m = sdscope_mode("auto", &err);
	assert_true(m == 0 || m == 1);
	assert_int_equal(m, sdscope_under_systemd());
	assert_int_equal(sdscope_mode("maybe", &err), -1);
	assert_non_null(strstr(err.msg, "maybe"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_is_service),
		cmocka_unit_test(test_show_parse),
		cmocka_unit_test(test_procs_parse),
		cmocka_unit_test(test_unit_name),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_wrap_props),
		cmocka_unit_test(test_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
