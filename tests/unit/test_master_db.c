/*
 * test_master_db.c: the master's database: a new file is migrated to the
 * latest version with its tables; nodes, placements, edge routes and
 * pending edge removals round-trip and survive a reopen (a master restart); a database from a
 * newer master is refused rather than downgraded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "master/db.h"

static char dir[] = "/tmp/mcp-test-mdb.XXXXXX";
static char path[128];

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/master.db", dir);
	return 0;
}

static int
teardown(void **state)
{
	char p[160];

	(void)state;
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	rmdir(dir);
	return 0;
}

static void
test_roundtrip_and_reopen(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct master_node n, *nodes = NULL;
	struct mdb_placement p, got, *pl = NULL;
	struct mdb_edge e, *edges = NULL;
	size_t nn = 0, npl = 0, ne = 0;
	struct mdb *db;
	int found;

	(void)state;
	assert_non_null(db = mdb_open(path, &err));
	assert_int_equal(mdb_schema_version(db), mdb_latest_version());
	memset(&n, 0, sizeof(n));
	strcpy(n.name, "w1");
	strcpy(n.role, "worker");
	strcpy(n.address, "10.0.0.2:9444");
	strcpy(n.res.runtimes[0], "container");
	strcpy(n.res.runtimes[1], "unikernel");
	n.res.nruntimes = 2;
	n.res.memory_free_mb = 2048;
	n.last_heartbeat = 1234;
	assert_int_equal(mdb_node_put(db, &n, &err), 0);
	strcpy(n.address, "10.0.0.3:9444");	/* re-registration: an update */
	assert_int_equal(mdb_node_put(db, &n, &err), 0);
	memset(&p, 0, sizeof(p));
	strcpy(p.service, "hello");
	strcpy(p.node, "w1");
	strcpy(p.tier, "worker");
	p.definition = "name = \"hello\"\n";
	assert_int_equal(mdb_placement_put(db, &p, &err), 0);
	strcpy(p.node, "nosuch");	/* a placement must point at a node */
	assert_int_equal(mdb_placement_put(db, &p, &err), -1);
	memset(&e, 0, sizeof(e));
	strcpy(e.hostname, "www.example.net");
	strcpy(e.service, "hello");
	strcpy(e.component, "hello");
	strcpy(e.edge_node, "w1");
	strcpy(e.backend_hostname, "hello.svc.test");
	e.backend_port = 8443;
	assert_int_equal(mdb_edge_put(db, &e, &err), 0);
	/* moved to e2 while w1 was away: to be taken down on w1 later */
	assert_int_equal(mdb_edge_removal_put(db, &e, &err), 0);
	assert_int_equal(mdb_edge_removal_put(db, &e, &err), 0);	/* once */
	strcpy(e.edge_node, "e2");
	assert_int_equal(mdb_edge_removal_put(db, &e, &err), 0);
	strcpy(e.edge_node, "w1");
	mdb_close(db);

	/* a restart: everything is still there */
	assert_non_null(db = mdb_open(path, &err));
	assert_int_equal(mdb_node_list(db, &nodes, &nn, &err), 0);
	assert_int_equal(nn, 1);
	assert_string_equal(nodes[0].address, "10.0.0.3:9444");
	assert_int_equal(nodes[0].res.nruntimes, 2);
	assert_string_equal(nodes[0].res.runtimes[1], "unikernel");
	assert_int_equal(nodes[0].res.memory_free_mb, 2048);
	assert_int_equal(nodes[0].last_heartbeat, 1234);
	free(nodes);
	assert_int_equal(mdb_placement_get(db, "hello", &got, &found, &err), 0);
	assert_true(found);
	assert_string_equal(got.node, "w1");
	assert_string_equal(got.definition, "name = \"hello\"\n");
	free(got.definition);
	assert_int_equal(mdb_placement_list(db, 0, &pl, &npl, &err), 0);
	assert_int_equal(npl, 1);
	assert_null(pl[0].definition);
	mdb_placements_free(pl, npl);
	assert_int_equal(mdb_placement_list(db, 1, &pl, &npl, &err), 0);
	assert_int_equal(npl, 1);
	assert_string_equal(pl[0].definition, "name = \"hello\"\n");
	mdb_placements_free(pl, npl);
	assert_int_equal(mdb_edge_list(db, "hello", &edges, &ne, &err), 0);
	assert_int_equal(ne, 1);
	assert_int_equal(edges[0].backend_port, 8443);
	free(edges);
	assert_int_equal(mdb_edge_list(db, "other", &edges, &ne, &err), 0);
	assert_int_equal(ne, 0);
	free(edges);
	assert_int_equal(mdb_edge_removal_list(db, &edges, &ne, &err), 0);
	assert_int_equal(ne, 2);	/* ordered by edge node */
	assert_string_equal(edges[0].edge_node, "e2");
	assert_string_equal(edges[1].edge_node, "w1");
	assert_string_equal(edges[1].hostname, "www.example.net");
	assert_string_equal(edges[1].service, "hello");
	assert_string_equal(edges[1].backend_hostname, "hello.svc.test");
	free(edges);
	assert_int_equal(mdb_edge_removal_delete(db, "w1", "www.example.net", &err), 0);
	assert_int_equal(mdb_edge_removal_list(db, &edges, &ne, &err), 0);
	assert_int_equal(ne, 1);
	assert_string_equal(edges[0].edge_node, "e2");
	free(edges);
	assert_int_equal(mdb_edge_delete(db, "www.example.net", &err), 0);
	assert_int_equal(mdb_placement_delete(db, "hello", &err), 0);
	assert_int_equal(mdb_placement_get(db, "hello", &got, &found, &err), 0);
	assert_false(found);
	mdb_close(db);
}

/* Snapshot rows: newest first per service, filtered, deleted by id. */
static void
test_snapshot_rows(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct mdb_snapshot s, *l = NULL;
	size_t n = 0;
	struct mdb *db;
	int64_t first;

	(void)state;
	assert_non_null(db = mdb_open(path, &err));
	memset(&s, 0, sizeof(s));
	strcpy(s.service, "notes");
	strcpy(s.node, "w1");
	strcpy(s.path, "/s/notes/a.tar.zst");
	strcpy(s.sha256, "ab");
	s.size = 10;
	s.created_at = 100;
	assert_int_equal(mdb_snapshot_add(db, &s, &err), 0);
	first = s.id;
	assert_true(first > 0);
	strcpy(s.path, "/s/notes/b.tar.zst");
	s.created_at = 200;
	assert_int_equal(mdb_snapshot_add(db, &s, &err), 0);
	strcpy(s.service, "web");
	strcpy(s.path, "/s/web/a.tar.zst");
	s.created_at = 150;
	assert_int_equal(mdb_snapshot_add(db, &s, &err), 0);
	assert_int_equal(mdb_snapshot_list(db, "notes", &l, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(l[0].path, "/s/notes/b.tar.zst");
	assert_int_equal(l[1].id, first);
	assert_int_equal(l[1].size, 10);
	assert_string_equal(l[1].node, "w1");
	free(l);
	assert_int_equal(mdb_snapshot_list(db, NULL, &l, &n, &err), 0);
	assert_int_equal(n, 3);
	free(l);
	assert_int_equal(mdb_snapshot_delete(db, first, &err), 0);
	assert_int_equal(mdb_snapshot_list(db, "notes", &l, &n, &err), 0);
	assert_int_equal(n, 1);
	free(l);
	mdb_close(db);
	unlink(path);
}

/* Leftovers: put (replacing), get, delete; survives a reopen. */
static void
test_leftovers(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	char to[64], why[128];
	struct mdb *db;
	int found;

	(void)state;
	assert_non_null(db = mdb_open(path, &err));
	assert_int_equal(mdb_leftover_get(db, "web", "w1", to, sizeof(to), why,
	    sizeof(why), &found, &err), 0);
	assert_false(found);
	assert_int_equal(mdb_leftover_put(db, "web", "w1", "w2", "while w1 was "
	    "down", &err), 0);
	assert_int_equal(mdb_leftover_put(db, "web", "w1", "w3", "while w1 was "
	    "down", &err), 0);	/* the newest one counts */
	mdb_close(db);
	assert_non_null(db = mdb_open(path, &err));
	assert_int_equal(mdb_leftover_get(db, "web", "w1", to, sizeof(to), why,
	    sizeof(why), &found, &err), 0);
	assert_true(found);
	assert_string_equal(to, "w3");
	assert_string_equal(why, "while w1 was down");
	assert_int_equal(mdb_leftover_get(db, "web", "w2", to, sizeof(to), why,
	    sizeof(why), &found, &err), 0);
	assert_false(found);
	assert_int_equal(mdb_leftover_delete(db, "web", "w1", &err), 0);
	assert_int_equal(mdb_leftover_get(db, "web", "w1", to, sizeof(to), why,
	    sizeof(why), &found, &err), 0);
	assert_false(found);
	mdb_close(db);
}

/* Prune: a node's rows whose service it no longer lists go, others stay. */
static void
test_leftovers_prune(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	const char *w1_has[] = { "db", "other" };
	char to[64], why[128];
	struct mdb *db;
	size_t dropped = 99;
	int found;

	(void)state;
	unlink(path);
	assert_non_null(db = mdb_open(path, &err));
	assert_int_equal(mdb_leftover_put(db, "web", "w1", "w2", "", &err), 0);
	assert_int_equal(mdb_leftover_put(db, "db", "w1", "w2", "", &err), 0);
	assert_int_equal(mdb_leftover_put(db, "web", "w3", "w2", "", &err), 0);
	/* nothing listed on an empty node */
	assert_int_equal(mdb_leftover_prune(db, "w9", NULL, 0, &dropped, &err), 0);
	assert_int_equal(dropped, 0);
	/* w1 still runs db (and something else), no longer web */
	assert_int_equal(mdb_leftover_prune(db, "w1", w1_has, 2, &dropped, &err), 0);
	assert_int_equal(dropped, 1);
	assert_int_equal(mdb_leftover_get(db, "web", "w1", to, sizeof(to), why,
	    sizeof(why), &found, &err), 0);
	assert_false(found);
	assert_int_equal(mdb_leftover_get(db, "db", "w1", to, sizeof(to), why,
	    sizeof(why), &found, &err), 0);
	assert_true(found);
	/* another node's row for the same service stays */
	assert_int_equal(mdb_leftover_get(db, "web", "w3", to, sizeof(to), why,
	    sizeof(why), &found, &err), 0);
	assert_true(found);
	/* w3 now lists nothing: its row goes */
	assert_int_equal(mdb_leftover_prune(db, "w3", NULL, 0, NULL, &err), 0);
	assert_int_equal(mdb_leftover_get(db, "web", "w3", to, sizeof(to), why,
	    sizeof(why), &found, &err), 0);
	assert_false(found);
	mdb_close(db);
	unlink(path);
}

static void
test_newer_schema_refused(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	sqlite3 *raw;
	char sql[64];

	(void)state;
	assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", mdb_latest_version() + 1);
	assert_int_equal(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	assert_null(mdb_open(path, &err));
	assert_non_null(strstr(err.msg, "is newer than this mcp-master"));
	assert_null(mdb_migration_sql(0));
	assert_non_null(mdb_migration_sql(1));
	assert_non_null(strstr(mdb_migration_sql(1), "CREATE TABLE snapshots"));
}

/* A damaged file is refused before anything is written to it. */
static void
test_damaged_refused(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct master_node n;
	struct mdb *db;
	char junk[4096];
	FILE *f;

	(void)state;
	unlink(path);
	assert_non_null(db = mdb_open(path, &err));
	memset(&n, 0, sizeof(n));
	for (int i = 0; i < 200; i++) {	/* a few pages of rows */
		snprintf(n.name, sizeof(n.name), "node-%d", i);
		strcpy(n.role, "worker");
		memset(n.address, 'a', 200);
		assert_int_equal(mdb_node_put(db, &n, &err), 0);
	}
	mdb_close(db);
	memset(junk, 0x5a, sizeof(junk));
	assert_non_null(f = fopen(path, "r+"));
	assert_int_equal(fseek(f, 4096 * 3, SEEK_SET), 0);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	fclose(f);
	assert_null(mdb_open(path, &err));
	assert_int_equal(err.code, MCP_E_DATALOSS);
	assert_non_null(strstr(err.msg, "master database"));
	print_message("%s\n", err.msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_and_reopen),
		cmocka_unit_test(test_snapshot_rows),
		cmocka_unit_test(test_leftovers),
		cmocka_unit_test(test_leftovers_prune),
		cmocka_unit_test(test_newer_schema_refused),
		cmocka_unit_test(test_damaged_refused),
	};

	return cmocka_run_group_tests_name("master_db", tests, setup, teardown);
}
