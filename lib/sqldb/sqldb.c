/*
 * sqldb/sqldb.c: open a database and run its migrations (see sqldb.h).
 */
#include "sqldb/sqldb.h"

#include <stdio.h>
#include <string.h>

#include "util/buf.h"

static int
sqldb_exec(sqlite3 *db, const char *sql, const char *label, struct mcp_err *err)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	mcp_err_set(err, MCP_E_INTERNAL, "%s: %s", label,
	    msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

int
sqldb_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* PRAGMA quick_check before anything is changed: a damaged file is
 * refused (MCP_E_DATALOSS) with what the check found, on one line. */
static int
sqldb_check(sqlite3 *db, const char *label, struct mcp_err *err)
{
	struct buf msg = BUF_INIT;
	sqlite3_stmt *st;
	int rc, n = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA quick_check(5)", -1, &st, NULL) != SQLITE_OK)
		return mcp_err_set(err, MCP_E_DATALOSS, "%s: integrity check: %s",
		    label, sqlite3_errmsg(db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		if (t && strcmp((const char *)t, "ok") != 0)
			buf_printf(&msg, "%s%s", n++ ? "; " : "", (const char *)t);
	}
	if (rc != SQLITE_DONE)
		buf_printf(&msg, "%s%s", n++ ? "; " : "", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	for (size_t i = 0; i < msg.len; i++)
		if (msg.data[i] == '\n')
			msg.data[i] = ' ';
	if (n > 0)
		mcp_err_set(err, MCP_E_DATALOSS, "%s is damaged (integrity check: %s); "
		    "restore it from a backup", label, msg.data);
	buf_free(&msg);
	return n > 0 ? -1 : 0;
}

static int
sqldb_migrate(sqlite3 *db, const char *label, const char *owner,
    const char *(*migration)(int), int latest, struct mcp_err *err)
{
	int v = sqldb_version(db);
	char bump[64];

	if (v < 0)
		return mcp_err_set(err, MCP_E_INTERNAL, "%s: read schema version: %s",
		    label, sqlite3_errmsg(db));
	if (v > latest)
		return mcp_err_set(err, MCP_E_PRECONDITION, "%s: schema version %d is "
		    "newer than %s (%d)", label, v, owner, latest);
	for (; v < latest; v++) {
		if (sqldb_exec(db, "BEGIN IMMEDIATE", label, err) == -1)
			return -1;
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v + 1);
		if (sqldb_exec(db, migration(v + 1), label, err) == -1 ||
		    sqldb_exec(db, bump, label, err) == -1 ||
		    sqldb_exec(db, "COMMIT", label, err) == -1) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return mcp_err_prefix(err, "migration %d", v + 1);
		}
	}
	return 0;
}

sqlite3 *
sqldb_open(const char *path, const char *label, const char *owner,
    const char *(*migration)(int), int latest, struct mcp_err *err)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		mcp_err_set(err, MCP_E_INTERNAL, "%s: open: %s", label,
		    db ? sqlite3_errmsg(db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(db, 5000);
	if (sqldb_exec(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;"
	    "PRAGMA synchronous=NORMAL;", label, err) == -1 ||
	    sqldb_check(db, label, err) == -1 ||
	    sqldb_migrate(db, label, owner, migration, latest, err) == -1)
		goto fail;
	return db;
fail:
	sqlite3_close(db);
	return NULL;
}
