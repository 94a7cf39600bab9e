/*
 * test_config.c: the annotated example configurations load as they are
 * (so the documentation cannot drift from the parser), and bad agent
 * configurations are refused naming file, line and key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/config.h"
#include "cli/cli.h"

static void
test_examples_load(void **state)
{
	struct agent_config a;
	struct cli_config c;
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	assert_int_equal(agent_config_load("examples/config/agent.toml", &a, &err), 0);
	assert_false(a.proxy.enabled);
	assert_string_equal(a.proxy.zone, "svc.mcp.example.net");
	assert_int_equal(a.proxy.public_port, 443);
	assert_string_equal(a.node, "local");
	assert_string_equal(a.socket, "/var/lib/mcp/agent.sock");
	assert_string_equal(a.socket_group, "");	/* root only by default */
	assert_int_equal(a.monitor_interval_s, 5);
	assert_string_equal(a.bridge_name, "mcp-br0");
	assert_string_equal(a.operators[1], "operator-*");
	assert_string_equal(a.volume_roots[0], "/srv");
	assert_null(a.volume_roots[1]);
	agent_config_free(&a);
	assert_int_equal(cli_config_load("examples/config/mcp.toml", &c, &err), 0);
	assert_int_equal(c.nnodes, 1);
	assert_string_equal(c.nodes[0].address, "unix:/var/lib/mcp/agent.sock");
	cli_config_free(&c);
}

/* Load text as an agent config into *a (free it with agent_config_free). */
static int
load_into(const char *text, struct agent_config *a, struct mcp_err *err)
{
	char path[] = "/tmp/mcp-test-config.XXXXXX";
	int fd = mkstemp(path), rc;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rc = agent_config_load(path, a, err);
	unlink(path);
	return rc;
}

/* volume_roots: default ["/srv"], replaced (not extended) when given. */
static void
test_volume_roots(void **state)
{
	char path[] = "/tmp/mcp-test-config.XXXXXX";
	const char *text = "[agent]\nvolume_roots = [\"/data\", \"/srv/x\"]\n";
	struct agent_config a;
	struct mcp_err err = MCP_ERR_INIT;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(agent_config_load(path, &a, &err), 0);
	assert_string_equal(a.volume_roots[0], "/data");
	assert_string_equal(a.volume_roots[1], "/srv/x");
	assert_null(a.volume_roots[2]);
	agent_config_free(&a);
	unlink(path);
}

static int
load_text(const char *text, struct mcp_err *err)
{
	struct agent_config a;
	int rc = load_into(text, &a, err);

	agent_config_free(&a);
	return rc;
}

static void
test_bad_agent_configs(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	assert_int_equal(load_text("[agent]\nnode = \"x\"\nstate_dirr = \"/x\"\n", &err), -1);
	assert_non_null(strstr(err.msg, ":3:1: unknown key \"state_dirr\" in [agent]"));
	assert_int_equal(load_text("[agent]\nnode = \"Bad_Name\"\n", &err), -1);
	assert_non_null(strstr(err.msg, "Bad_Name"));
	assert_int_equal(load_text("[agent]\nstate_dir = \"relative\"\n", &err), -1);
	assert_non_null(strstr(err.msg, "absolute"));
	assert_int_equal(load_text("[agent]\nlisten = \"0.0.0.0:9444\"\n", &err), -1);
	assert_non_null(strstr(err.msg, "[tls]"));
	assert_int_equal(load_text("[agent]\nmonitor_interval = 0\n", &err), -1);
	assert_non_null(strstr(err.msg, "out of range"));
	assert_int_equal(load_text("[unikernel]\naccel = \"hvf\"\n", &err), -1);
	assert_int_equal(load_text("[agent]\nnode = 5\n", &err), -1);
	assert_non_null(strstr(err.msg, "must be a string"));
	assert_int_equal(load_text("[nosuch]\n", &err), -1);
	assert_int_equal(load_text("[agent]\nvolume_roots = [\"/data\", \"srv\"]\n", &err), -1);
	assert_non_null(strstr(err.msg, "[agent] volume_roots: \"srv\" is not an absolute path"));
	assert_int_equal(load_text("[agent]\nvolume_roots = \"/srv\"\n", &err), -1);
	assert_non_null(strstr(err.msg, "volume_roots"));
	assert_int_equal(load_text("[agent]\nsocket_group = 5\n", &err), -1);
	assert_non_null(strstr(err.msg, "socket_group"));
	assert_int_equal(load_text("[agent]\nsocket_group = \"a b\"\n", &err), -1);
	assert_non_null(strstr(err.msg, "socket_group"));
	assert_int_equal(load_text("[proxy]\nenabled = true\n", &err), -1);
	assert_non_null(strstr(err.msg, "[proxy] zone is required"));
	assert_int_equal(load_text("[proxy]\nenabled = true\nzone = \"Bad_Zone\"\n", &err), -1);
	assert_non_null(strstr(err.msg, "[proxy] zone \"Bad_Zone\""));
	assert_int_equal(load_text("[proxy]\nenabled = true\nzone = \"svc.x\"\nedge = true\n", &err), -1);
	assert_non_null(strstr(err.msg, "edge = true needs allowed_domains"));
	assert_int_equal(load_text("[proxy]\nenabled = true\nzone = \"svc.x\"\nissuer_cert = \"/a\"\n", &err), -1);
	assert_non_null(strstr(err.msg, "issuer_cert and issuer_key go together"));
	assert_int_equal(load_text("[proxy]\npublic_port = 70000\n", &err), -1);
	assert_int_equal(load_text("[proxy]\nnosuch = 1\n", &err), -1);
	assert_non_null(strstr(err.msg, "nosuch"));
	assert_int_equal(load_text("", &err), 0);
}

/* [agent] socket_group is read as given (resolved when the agent starts). */
static void
test_socket_group(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct agent_config a;

	(void)state;
	assert_int_equal(load_into("[agent]\nsocket_group = \"mcp-ops\"\n", &a,
	    &err), 0);
	assert_string_equal(a.socket_group, "mcp-ops");
	agent_config_free(&a);
}

/* [podman] list_timeout / resync: the live view's bounds (agent/live.h). */
static void
test_listing_bounds(void **state)
{
	char path[] = "/tmp/mcp-test-config.XXXXXX";
	const char *text = "[podman]\nlist_timeout = 2\nresync = 7\n";
	struct mcp_err err = MCP_ERR_INIT;
	struct agent_config a;
	int fd = mkstemp(path);

	(void)state;
	assert_int_equal(agent_config_load("examples/config/agent.toml", &a, &err), 0);
	assert_int_equal(a.list_timeout_s, 5);
	assert_int_equal(a.resync_s, 30);
	agent_config_free(&a);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(agent_config_load(path, &a, &err), 0);
	unlink(path);
	assert_int_equal(a.list_timeout_s, 2);
	assert_int_equal(a.resync_s, 7);
	agent_config_free(&a);
	/* the CLI waits 30 s for ps/status: the agent must answer well before */
	assert_int_equal(load_text("[podman]\nlist_timeout = 21\n", &err), -1);
	assert_non_null(strstr(err.msg, "list_timeout"));
	assert_non_null(strstr(err.msg, "out of range"));
	assert_int_equal(load_text("[podman]\nlist_timeout = 0\n", &err), -1);
	assert_int_equal(load_text("[podman]\nresync = 0\n", &err), -1);
	assert_non_null(strstr(err.msg, "resync"));
	assert_int_equal(load_text("[podman]\nlist_timeout = 20\nresync = 3600\n", &err), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples_load),
		cmocka_unit_test(test_bad_agent_configs),
		cmocka_unit_test(test_volume_roots),
		cmocka_unit_test(test_socket_group),
		cmocka_unit_test(test_listing_bounds),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
