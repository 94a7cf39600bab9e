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
	assert_string_equal(a.node, "local");
	assert_string_equal(a.socket, "/var/lib/mcp/agent.sock");
	assert_int_equal(a.monitor_interval_s, 5);
	assert_string_equal(a.bridge_name, "mcp-br0");
	assert_string_equal(a.operators[1], "operator-*");
	agent_config_free(&a);
	assert_int_equal(cli_config_load("examples/config/mcp.toml", &c, &err), 0);
	assert_int_equal(c.nnodes, 1);
	assert_string_equal(c.nodes[0].address, "unix:/var/lib/mcp/agent.sock");
	cli_config_free(&c);
}

static int
load_text(const char *text, struct mcp_err *err)
{
	char path[] = "/tmp/mcp-test-config.XXXXXX";
	struct agent_config a;
	int fd = mkstemp(path), rc;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rc = agent_config_load(path, &a, err);
	agent_config_free(&a);
	unlink(path);
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
	assert_int_equal(load_text("", &err), 0);
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
		cmocka_unit_test(test_listing_bounds),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
