/*
 * test_placement.c: the master's pure decisions, as tables: placement
 * (pin, core, workers by runtime and VM resources, fewest placed, ties by
 * name, an existing placement kept), the placement counts with the holds
 * of deploys in flight (concurrent deploys spread), the edge-node choice, the token
 * bucket for agents, and the identity check of Register/Heartbeat.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "master/master.h"

static const char *const RT_C[] = { "container", NULL };
static const char *const RT_CU[] = { "container", "unikernel", NULL };

/* m1: master; w1, w2, w3: workers; e1: edge; w3 has no unikernel runtime. */
static struct place_node fleet[] = {
	{ "m1", "master", 1, RT_CU, 4096, 4, 0 },
	{ "w2", "worker", 1, RT_CU, 4096, 4, 1 },
	{ "w1", "worker", 1, RT_CU, 4096, 4, 1 },
	{ "w3", "worker", 1, RT_C, 0, 0, 0 },
	{ "e1", "edge", 1, RT_CU, 8192, 8, 0 },
};
#define NFLEET (sizeof(fleet) / sizeof(fleet[0]))

struct place_case {
	const char *what;
	const char *pin, *tier, *current;
	int container, unikernel;
	long mem;
	int vcpus;
	const char *want;	/* node name, or NULL: refused */
	const char *why;	/* substring of the refusal */
};

static const struct place_case cases[] = {
	{ "a container service goes to the worker with the fewest placed",
	  NULL, "worker", NULL, 1, 0, 0, 0, "w3", NULL },
	{ "a unikernel service avoids the node without the unikernel runtime; "
	  "tie between w1 and w2 broken by name",
	  NULL, "worker", NULL, 0, 1, 512, 1, "w1", NULL },
	{ "a mixed service needs both runtimes",
	  NULL, "worker", NULL, 1, 1, 128, 1, "w1", NULL },
	{ "VM memory nobody has: refused, saying why per worker",
	  NULL, "worker", NULL, 0, 1, 5000, 1, NULL, "not enough VM memory" },
	{ "vCPUs nobody has: refused",
	  NULL, "worker", NULL, 0, 1, 128, 5, NULL, "w1: not enough VM memory or vCPUs" },
	{ "the pin wins over the ranking",
	  "w2", "worker", NULL, 1, 0, 0, 0, "w2", NULL },
	{ "a pin may name the edge or master node explicitly",
	  "e1", "worker", NULL, 1, 0, 0, 0, "e1", NULL },
	{ "an unknown pin is refused",
	  "w9", "worker", NULL, 1, 0, 0, 0, NULL, "pinned node w9 is not a known node" },
	{ "core goes to the master's node",
	  NULL, "core", NULL, 1, 0, 0, 0, "m1", NULL },
	{ "a pin wins over core",
	  "w1", "core", NULL, 1, 0, 0, 0, "w1", NULL },
	{ "an existing placement is kept (redeploy)",
	  NULL, "worker", "w2", 1, 0, 0, 0, "w2", NULL },
	{ "a pin that differs from the placement is refused",
	  "w1", "worker", "w2", 1, 0, 0, 0, NULL, "pins node w1 but the service is placed on w2" },
	{ "the same pin as the placement is fine",
	  "w2", "worker", "w2", 1, 0, 0, 0, "w2", NULL },
};

static void
test_place_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct place_case *c = &cases[i];
		struct place_request req = { "svc", c->pin, c->tier, c->current,
			c->container, c->unikernel, c->mem, c->vcpus };
		struct mcp_err err = MCP_ERR_INIT;
		int got = master_place(fleet, NFLEET, "m1", &req, &err);

		print_message("case %zu: %s -> %s (%s)\n", i, c->what,
		    got >= 0 ? fleet[got].name : "refused", err.msg);
		if (c->want) {
			assert_true(got >= 0);
			assert_string_equal(fleet[got].name, c->want);
		} else {
			assert_int_equal(got, -1);
			assert_non_null(strstr(err.msg, c->why));
		}
	}
}

/* Unhealthy nodes get nothing new; the edge never gets worker placements. */
static void
test_place_health(void **state)
{
	struct place_node f[] = {
		{ "m1", "master", 0, RT_CU, 4096, 4, 0 },
		{ "w1", "worker", 0, RT_CU, 4096, 4, 0 },
		{ "w2", "worker", 1, RT_C, 4096, 4, 7 },
		{ "e1", "edge", 1, RT_CU, 4096, 4, 0 },
	};
	struct place_request req = { "svc", NULL, "worker", NULL, 1, 0, 0, 0 };
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	assert_int_equal(master_place(f, 4, "m1", &req, &err), 2);
	req.pin = "w1";
	assert_int_equal(master_place(f, 4, "m1", &req, &err), -1);
	assert_non_null(strstr(err.msg, "w1 is unhealthy"));
	req.pin = NULL;
	req.tier = "core";
	assert_int_equal(master_place(f, 4, "m1", &req, &err), -1);
	assert_non_null(strstr(err.msg, "m1 is unhealthy"));
	req.tier = "worker";
	f[2].healthy = 0;
	assert_int_equal(master_place(f, 4, "m1", &req, &err), -1);
	assert_non_null(strstr(err.msg, "no worker can take it"));
	assert_null(strstr(err.msg, "e1"));	/* the edge is not even a candidate */
	/* a node that reported no runtimes offers none */
	f[2].healthy = 1;
	f[2].runtimes = NULL;
	assert_int_equal(master_place(f, 4, "m1", &req, &err), -1);
	assert_non_null(strstr(err.msg, "w2: no container runtime"));
}

static void
test_place_edge(void **state)
{
	struct place_node f[] = {
		{ "w1", "worker", 1, RT_C, 0, 0, 0 },
		{ "eb", "edge", 1, RT_C, 0, 0, 0 },
		{ "ea", "edge", 1, RT_C, 0, 0, 0 },
		{ "ec", "edge", 0, RT_C, 0, 0, 0 },
	};
	int routes[] = { 0, 1, 1, 0 };

	(void)state;
	assert_int_equal(master_place_edge(f, routes, 4), 2);	/* tie -> name */
	routes[2] = 2;
	assert_int_equal(master_place_edge(f, routes, 4), 1);	/* fewest */
	f[1].healthy = f[2].healthy = 0;
	assert_int_equal(master_place_edge(f, routes, 4), -1);	/* ec unhealthy */
}

/* Counts: recorded placements plus holds, each service once. */
static void
test_place_count(void **state)
{
	struct place_node f[] = {
		{ "m1", "master", 1, RT_CU, 4096, 4, 9 },
		{ "w1", "worker", 1, RT_C, 4096, 4, 9 },
		{ "w2", "worker", 1, RT_C, 4096, 4, 9 },
	};
	const struct place_ref rec[] = {
		{ "a", "w1" }, { "b", "w2" }, { "c", "w1" }, { "old", "gone" },
	};
	const struct place_ref held[] = {
		{ "d", "w2" },		/* in flight, not recorded: counts */
		{ "a", "w2" },		/* recorded on w1: counted there only */
		{ "d", "w2" },		/* the same service twice: once */
		{ "e", "nowhere" },	/* an unknown node: ignored */
	};

	(void)state;
	master_place_count(f, 3, rec, 4, NULL, 0);	/* resets stale counts */
	assert_int_equal(f[0].placed, 0);
	assert_int_equal(f[1].placed, 2);
	assert_int_equal(f[2].placed, 1);
	master_place_count(f, 3, rec, 4, held, 4);
	assert_int_equal(f[1].placed, 2);
	assert_int_equal(f[2].placed, 2);
	master_place_count(f, 3, NULL, 0, held, 4);
	assert_int_equal(f[1].placed, 0);
	assert_int_equal(f[2].placed, 2);
}

/*
 * Four deploys of different services arrive before any is recorded: with
 * each choice held before the next is made they spread 2 / 2, where
 * choosing from the recorded placements alone puts all four on w1.  A
 * deploy that fails releases its hold and the node is chosen again.
 */
static void
test_place_concurrent(void **state)
{
	struct place_node f[] = {
		{ "m1", "master", 1, RT_C, 0, 0, 0 },
		{ "w2", "worker", 1, RT_C, 0, 0, 0 },
		{ "w1", "worker", 1, RT_C, 0, 0, 0 },
	};
	const char *const names[] = { "s1", "s2", "s3", "s4" };
	struct place_ref held[4];
	struct place_request req = { NULL, NULL, "worker", NULL, 1, 0, 0, 0 };
	struct mcp_err err = MCP_ERR_INIT;
	int per[3] = { 0, 0, 0 }, got;
	size_t i, nheld = 0;

	(void)state;
	for (i = 0; i < 4; i++) {		/* stale counts: no holds */
		req.service = names[i];
		master_place_count(f, 3, NULL, 0, NULL, 0);
		assert_string_equal(f[master_place(f, 3, "m1", &req, &err)].name, "w1");
	}
	for (i = 0; i < 4; i++) {		/* each choice held */
		req.service = names[i];
		master_place_count(f, 3, NULL, 0, held, nheld);
		got = master_place(f, 3, "m1", &req, &err);
		assert_true(got >= 1);
		per[got]++;
		held[nheld].service = names[i];
		held[nheld++].node = f[got].name;
	}
	assert_int_equal(per[1], 2);
	assert_int_equal(per[2], 2);
	/* s4's deploy failed: released, its node (w2) is the least loaded */
	assert_string_equal(held[3].node, "w2");
	nheld--;
	req.service = "s5";
	master_place_count(f, 3, NULL, 0, held, nheld);
	assert_string_equal(f[master_place(f, 3, "m1", &req, &err)].name, "w2");
}

static void
test_rate(void **state)
{
	struct master_rate r = { 0, 0 };
	int ok = 0;

	(void)state;
	for (int i = 0; i < 20; i++)
		ok += master_rate_allow(&r, 1000, 10, 2);
	assert_int_equal(ok, 10);			/* the burst */
	assert_false(master_rate_allow(&r, 1200, 10, 2));
	assert_true(master_rate_allow(&r, 1500, 10, 2));	/* 2/s refill */
	assert_false(master_rate_allow(&r, 1500, 10, 2));
}

static void
test_agent_identity(void **state)
{
	char *allowed[] = { "agent-a", "agent-w*", NULL };
	struct master_config cfg;
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.allowed_agents = allowed;
	assert_int_equal(master_check_agent(&cfg, "agent-a", "a", &err), 0);
	assert_int_equal(master_check_agent(&cfg, "agent-w1", "w1", &err), 0);
	assert_int_equal(master_check_agent(&cfg, "agent-b", "a", &err), -1);
	assert_int_equal(err.code, MCP_E_PERM);
	assert_non_null(strstr(err.msg, "identity agent-b may only speak for node b"));
	assert_int_equal(master_check_agent(&cfg, "agent-x", "x", &err), -1);
	assert_non_null(strstr(err.msg, "not in [registration] allowed_agents"));
	assert_int_equal(master_check_agent(&cfg, "operator", "operator", &err), -1);
	assert_int_equal(master_check_agent(&cfg, "agent-", "", &err), -1);
	assert_int_equal(master_check_agent(&cfg, "agent-A", "A", &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_place_table),
		cmocka_unit_test(test_place_health),
		cmocka_unit_test(test_place_edge),
		cmocka_unit_test(test_place_count),
		cmocka_unit_test(test_place_concurrent),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_agent_identity),
	};

	return cmocka_run_group_tests_name("placement", tests, NULL, NULL);
}
