/*
 * sqldb/sqldb.h: opening a daemon's SQLite database the one way the tree
 * does it (the agent's registry, the master's database): created if
 * absent, WAL, foreign keys on, synchronous NORMAL, a 5 s busy timeout,
 * an integrity check (PRAGMA quick_check: a damaged file is refused with
 * MCP_E_DATALOSS, "LABEL is damaged (...); restore it from a backup"), and
 * the schema brought forward by numbered migrations (PRAGMA
 * user_version; migration(v) is the SQL that takes version v-1 to v), one
 * transaction each, so an old database keeps its data.  A database newer
 * than the program is refused, never downgraded.
 */
#ifndef MCP_SQLDB_SQLDB_H
#define MCP_SQLDB_SQLDB_H

#include <sqlite3.h>

#include "util/err.h"

/* label names the database in errors ("registry /var/lib/mcp/registry.db"),
 * owner the program ("this agent").  NULL with err on failure. */
sqlite3 *sqldb_open(const char *path, const char *label, const char *owner,
    const char *(*migration)(int version), int latest, struct mcp_err *err);
/* PRAGMA user_version, -1 if it cannot be read. */
int sqldb_version(sqlite3 *db);

#endif
