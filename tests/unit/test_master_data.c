/*
 * test_master_data.c: the master's pure decisions about service data:
 * the snapshot file names (one function, a temporary name that never
 * looks complete), when a service's backup is overdue (2 x interval), the
 * [snapshots] interval durations, and the sync plan (deploy new, redeploy
 * changed, leave unchanged, undeploy what is placed but not desired; the
 * order a real sync follows), and which migrations are refused up front.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "master/db.h"
#include "master/ops.h"

static void
test_snapshot_path(void **state)
{
	char p[256];
	/* 2026-12-02 13:18:18.042 UTC */
	long long ms = 1796217498042LL;

	(void)state;
	master_snapshot_path(p, sizeof(p), "/var/lib/mcp-master/snapshots", "notes",
	    ms, 0);
	assert_string_equal(p, "/var/lib/mcp-master/snapshots/notes/"
	    "20261202T131818.042Z.tar.zst");
	master_snapshot_path(p, sizeof(p), "/s", "notes", ms, 1);
	assert_string_equal(p, "/s/notes/.20261202T131818.042Z.tar.zst.partial");
	/* a temporary file is hidden and never ends in .tar.zst */
	assert_null(strstr(p + strlen(p) - 8, ".tar.zst"));
	/* names sort by time */
	{
		char a[256], b[256];

		master_snapshot_path(a, sizeof(a), "/s", "x", ms, 0);
		master_snapshot_path(b, sizeof(b), "/s", "x", ms + 1, 0);
		assert_true(strcmp(a, b) < 0);
	}
}

/* A name that could leave the snapshots directory is refused before any
 * path is built from it (the master itself is never touched). */
static void
test_snapshot_take_name(void **state)
{
	static const char *const bad[] = { "../../etc", "a/b", "", ".", "A",
	    "x\ny" };
	struct mcp_err err = MCP_ERR_INIT;
	struct mdb_snapshot rec;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(master_snapshot_take(NULL, bad[i], "n1", 0, &rec,
		    NULL, 0, NULL, &err), -1);
		assert_int_equal(err.code, MCP_E_INVALID);
		assert_non_null(strstr(err.msg, "is not a service name"));
	}
}

static void
test_overdue(void **state)
{
	(void)state;
	/* interval 100 s: overdue past 200 s since the newest snapshot */
	assert_false(master_snapshot_overdue(1000, 900, 0, 100));
	assert_false(master_snapshot_overdue(1000, 800, 0, 100));
	assert_true(master_snapshot_overdue(1000, 799, 0, 100));
	/* none yet: counted from the placement */
	assert_false(master_snapshot_overdue(1000, 0, 850, 100));
	assert_true(master_snapshot_overdue(1000, 0, 700, 100));
	/* an old placement with a recent snapshot is fine */
	assert_false(master_snapshot_overdue(1000, 990, 10, 100));
}

static void
test_duration(void **state)
{
	(void)state;
	assert_int_equal(master_parse_duration("24h"), 86400);
	assert_int_equal(master_parse_duration("30m"), 1800);
	assert_int_equal(master_parse_duration("90s"), 90);
	assert_int_equal(master_parse_duration("7d"), 7 * 86400);
	assert_int_equal(master_parse_duration("15"), 15);
	assert_int_equal(master_parse_duration(""), -1);
	assert_int_equal(master_parse_duration("h"), -1);
	assert_int_equal(master_parse_duration("1w"), -1);
	assert_int_equal(master_parse_duration("-5s"), -1);
	assert_int_equal(master_parse_duration("5 s"), -1);
	assert_int_equal(master_parse_duration("99999999999999d"), -1);
}

static void
test_sync_plan(void **state)
{
	const char *names[] = { "web", "new", "db" };
	const char *texts[] = { "W2", "N", "D" };
	const char *srcs[] = { "s/web.toml", "s/new.toml", "s/db.toml" };
	const char *pnames[] = { "db", "old", "web", "zzz" };
	const char *ptexts[] = { "D", "O", "W1", "Z" };
	struct sync_item *it;
	size_t n = 0;

	(void)state;
	it = master_sync_plan(names, texts, srcs, 3, pnames, ptexts, 4, &n);
	assert_int_equal(n, 5);
	/* undeploys first, then redeploys, deploys, unchanged; by name */
	assert_string_equal(it[0].service, "old");
	assert_int_equal(it[0].action, SYNC_UNDEPLOY);
	assert_null(it[0].text);
	assert_string_equal(it[1].service, "zzz");
	assert_int_equal(it[1].action, SYNC_UNDEPLOY);
	assert_string_equal(it[2].service, "web");
	assert_int_equal(it[2].action, SYNC_REDEPLOY);
	assert_string_equal(it[2].text, "W2");
	assert_string_equal(it[2].source, "s/web.toml");
	assert_string_equal(it[3].service, "new");
	assert_int_equal(it[3].action, SYNC_DEPLOY);
	assert_string_equal(it[4].service, "db");
	assert_int_equal(it[4].action, SYNC_UNCHANGED);
	assert_string_equal(master_sync_action_name(it[1].action), "undeploy");
	free(it);

	/* an empty directory undeploys everything; nothing placed deploys all */
	it = master_sync_plan(NULL, NULL, NULL, 0, pnames, ptexts, 4, &n);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(it[i].action, SYNC_UNDEPLOY);
	free(it);
	it = master_sync_plan(names, texts, srcs, 3, NULL, NULL, 0, &n);
	assert_int_equal(n, 3);
	assert_string_equal(it[0].service, "db");
	for (size_t i = 0; i < n; i++)
		assert_int_equal(it[i].action, SYNC_DEPLOY);
	free(it);
}

static void
test_migrate_check(void **state)
{
	struct migrate_check ok = { "web", "worker", "", "w1", "w2", "worker", 1, "m" };
	struct migrate_check c;
	struct mcp_err err = MCP_ERR_INIT;
	static const struct {
		const char *what;
		const char *tier, *pin, *to, *role;
		int healthy;
		const char *why;
	} bad[] = {
		{ "core", "core", "", "w2", "worker", 1, "a core service stays on the master's node m" },
		{ "pinned", "worker", "w1", "w2", "worker", 1, "pins node = \"w1\"" },
		{ "same node", "worker", "", "w1", "worker", 1, "already on node w1" },
		{ "unknown", "worker", "", "w9", NULL, 0, "node w9 is not known" },
		{ "edge", "worker", "", "e1", "edge", 1, "node e1 is an edge node" },
		{ "unhealthy", "worker", "", "w2", "worker", 0, "target node w2 is not healthy" },
	};

	(void)state;
	assert_int_equal(master_migrate_check(&ok, &err), 0);
	c = ok;
	c.pin = "w2";		/* pinned to the target: fine */
	assert_int_equal(master_migrate_check(&c, &err), 0);
	c = ok;
	c.to = "m";		/* the master's node may take a worker service */
	c.to_role = "master";
	assert_int_equal(master_migrate_check(&c, &err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = ok;
		c.tier = bad[i].tier;
		c.pin = bad[i].pin;
		c.to = bad[i].to;
		c.to_role = bad[i].role;
		c.to_healthy = bad[i].healthy;
		mcp_err_clear(&err);
		assert_int_equal(master_migrate_check(&c, &err), -1);
		if (strstr(err.msg, bad[i].why) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].what, err.msg, bad[i].why);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_path),
		cmocka_unit_test(test_snapshot_take_name),
		cmocka_unit_test(test_overdue),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_sync_plan),
		cmocka_unit_test(test_migrate_check),
	};

	return cmocka_run_group_tests_name("master_data", tests, NULL, NULL);
}
