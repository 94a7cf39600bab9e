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
#include "master/master.h"

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

/* Load text as a master config (freed here); 0 / -1 with err. */
static int
master_load_text(const char *text, struct master_config *out, struct mcp_err *err)
{
	char path[] = "/tmp/mcp-test-master.XXXXXX";
	struct master_config m;
	int fd = mkstemp(path), rc;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rc = master_config_load(path, out ? out : &m, err);
	unlink(path);
	if (out == NULL)
		master_config_free(&m);
	return rc;
}

#define MASTER_MIN "[master]\nnode = \"m1\"\nlisten = \"127.0.0.1:9555\"\n" \
	"[tls]\nca = \"/c\"\ncert = \"/c\"\nkey = \"/k\"\n"

static void
test_master_config(void **state)
{
	struct master_config m;
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	assert_int_equal(master_config_load("examples/config/master.toml", &m, &err), 0);
	assert_string_equal(m.node, "m1");
	assert_string_equal(m.listen, "0.0.0.0:9555");
	assert_int_equal(m.max_nodes, 16);
	assert_string_equal(m.allowed_agents[0], "agent-*");
	assert_false(m.dns.configured);
	assert_string_equal(m.dns.zone, "svc.mcp.example.net");
	assert_string_equal(m.allowed_domains[0], "example.net");
	assert_int_equal(m.heartbeat_interval_s, 30);
	assert_int_equal(m.missed, 3);
	assert_int_equal(m.probe_timeout_s, 5);
	assert_int_equal(m.deploy_timeout_s, 300);
	assert_int_equal(m.edge_timeout_s, 30);
	assert_int_equal(m.nboot, 2);
	assert_string_equal(m.boot[0].role, "master");
	assert_string_equal(m.boot[1].address, "10.0.0.2:9444");
	master_config_free(&m);

	assert_int_equal(m.snapshot_interval_s, 86400);
	assert_int_equal(m.snapshot_retain, 7);
	assert_string_equal(m.snapshots_dir, "/var/lib/mcp-master/snapshots");
	master_config_free(&m);

	assert_int_equal(master_load_text(MASTER_MIN, &m, &err), 0);
	assert_int_equal(m.max_nodes, 16);
	assert_int_equal(m.health_timeout_s, 5);
	assert_int_equal(m.snapshot_interval_s, 86400);
	assert_int_equal(m.snapshot_retain, 7);
	assert_int_equal(m.snapshot_timeout_s, 1800);
	assert_string_equal(m.snapshots_dir, "/var/lib/mcp-master/snapshots");
	master_config_free(&m);
	assert_int_equal(master_load_text(MASTER_MIN "[snapshots]\ninterval = \"30m\"\n"
	    "retain = 3\ndir = \"/b/snaps\"\n", &m, &err), 0);
	assert_int_equal(m.snapshot_interval_s, 1800);
	assert_int_equal(m.snapshot_retain, 3);
	assert_string_equal(m.snapshots_dir, "/b/snaps");
	master_config_free(&m);
	assert_int_equal(master_load_text(MASTER_MIN "[snapshots]\ninterval = 90\n", &m, &err), 0);
	assert_int_equal(m.snapshot_interval_s, 90);
	master_config_free(&m);
	assert_int_equal(master_load_text(MASTER_MIN "[snapshots]\ninterval = \"1 week\"\n",
	    NULL, &err), -1);
	assert_non_null(strstr(err.msg, ":9:1: interval: a duration"));
	assert_int_equal(master_load_text(MASTER_MIN "[snapshots]\ndir = \"rel\"\n", NULL, &err), -1);
	assert_non_null(strstr(err.msg, "[snapshots] dir must be an absolute path"));
	assert_int_equal(master_load_text(MASTER_MIN "[snapshots]\nretain = 0\n", NULL, &err), -1);
	assert_int_equal(master_load_text(MASTER_MIN "[snapshots]\nkeep = 3\n", NULL, &err), -1);
	assert_non_null(strstr(err.msg, "unknown key \"keep\" in [snapshots]"));
	assert_int_equal(master_load_text(MASTER_MIN "[health]\nmised = 3\n", NULL, &err), -1);
	assert_non_null(strstr(err.msg, ":9:1: unknown key \"mised\" in [health]"));
	assert_int_equal(master_load_text(MASTER_MIN "[nosuch]\n", NULL, &err), -1);
	assert_int_equal(master_load_text("[master]\nlisten = \"127.0.0.1:1\"\n", NULL, &err), -1);
	assert_non_null(strstr(err.msg, "[master] node"));
	assert_int_equal(master_load_text("[master]\nnode = \"m1\"\nlisten = \"127.0.0.1:1\"\n", NULL, &err), -1);
	assert_non_null(strstr(err.msg, "[tls]"));
	assert_int_equal(master_load_text(MASTER_MIN "[edge]\nallowed_domains = [\"bad domain\"]\n", NULL, &err), -1);
	assert_non_null(strstr(err.msg, "allowed_domains"));
	assert_int_equal(master_load_text(MASTER_MIN "[dns]\nserver = \"10.0.0.53\"\n", NULL, &err), -1);
	assert_non_null(strstr(err.msg, "[dns] server needs zone"));
	assert_int_equal(master_load_text(MASTER_MIN "[registration]\nmax_nodes = 1\n"
	    "[[nodes]]\nname = \"a\"\naddress = \"h:1\"\n[[nodes]]\nname = \"b\"\naddress = \"h:2\"\n",
	    NULL, &err), -1);
	assert_non_null(strstr(err.msg, "max_nodes"));
	assert_int_equal(master_load_text(MASTER_MIN "[[nodes]]\nname = \"a\"\naddress = \"h:1\"\nrole = \"boss\"\n",
	    NULL, &err), -1);
	assert_non_null(strstr(err.msg, "role must be"));
	assert_int_equal(master_load_text(MASTER_MIN "[[nodes]]\nname = \"a\"\naddress = \"h:1\"\n"
	    "[[nodes]]\nname = \"a\"\naddress = \"h:2\"\n", NULL, &err), -1);
	assert_non_null(strstr(err.msg, "listed twice"));
	assert_int_equal(master_load_text(MASTER_MIN "[timeouts]\ndeploy = 0\n", NULL, &err), -1);
	assert_non_null(strstr(err.msg, "out of range"));
}

static int load_into(const char *text, struct agent_config *a, struct mcp_err *err);

/* [master] address in the agent config needs [agent] listen. */
static void
test_agent_master(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct agent_config a;

	(void)state;
	assert_int_equal(load_into("[master]\naddress = \"10.0.0.1:9555\"\n", &a, &err), -1);
	assert_non_null(strstr(err.msg, "[master] address needs [agent] listen"));
	assert_int_equal(load_into("[agent]\nlisten = \"0.0.0.0:9444\"\nadvertise = \"10.0.0.2\"\n"
	    "[tls]\nca = \"/c\"\ncert = \"/c\"\nkey = \"/k\"\n"
	    "[master]\naddress = \"10.0.0.1:9555\"\n", &a, &err), 0);
	assert_string_equal(a.master_address, "10.0.0.1:9555");
	assert_string_equal(a.advertise, "10.0.0.2");
	agent_config_free(&a);
	assert_int_equal(load_into("[master]\nadress = \"x\"\n", &a, &err), -1);
	assert_non_null(strstr(err.msg, "adress"));
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
		cmocka_unit_test(test_master_config),
		cmocka_unit_test(test_agent_master),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
