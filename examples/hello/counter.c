/*
 * examples/hello/counter.c: a tiny SQLite-backed counter kept in the
 * service's data directory (counter.db, WAL), so that snapshots, restores
 * and migrations have real data to carry: GET /incr adds one, GET /count
 * reads it, and the Snapshot RPC (h2grpc.c) takes a consistent copy.
 * Each call opens its own connection: threads never share one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hello.h"

static sqlite3 *
counter_open(char *why, size_t whysz)
{
	char path[600];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/counter.db", hello_data_dir());
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		snprintf(why, whysz, "open %s: %s", path, db ? sqlite3_errmsg(db) :
		    "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_exec(db, "PRAGMA journal_mode=WAL;"
	    "CREATE TABLE IF NOT EXISTS counter(id INTEGER PRIMARY KEY "
	    "CHECK (id = 1), n INTEGER NOT NULL)", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(why, whysz, "%s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static int
counter_query(const char *sql, int64_t *n, char *why, size_t whysz)
{
	sqlite3 *db = counter_open(why, whysz);
	sqlite3_stmt *st = NULL;
	int rc;

	if (db == NULL)
		return -1;
	*n = 0;
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*n = sqlite3_column_int64(st, 0);
		if (rc == SQLITE_ROW || rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		snprintf(why, whysz, "counter: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

int
counter_add(int64_t *n, char *why, size_t whysz)
{
	return counter_query("INSERT INTO counter VALUES (1, 1) ON CONFLICT (id) "
	    "DO UPDATE SET n = n + 1 RETURNING n", n, why, whysz);
}

int
counter_get(int64_t *n, char *why, size_t whysz)
{
	return counter_query("SELECT n FROM counter WHERE id = 1", n, why, whysz);
}

int
counter_snapshot(char *files, size_t filesz, size_t *nfiles, char *why,
    size_t whysz)
{
	const char *dir = hello_data_dir();
	char tmp[600], dst[600], text[64];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n = 0;
	FILE *f;
	int rc;

	*nfiles = 0;
	snprintf(tmp, sizeof(tmp), "%s/.counter.snapshot.db.tmp", dir);
	snprintf(dst, sizeof(dst), "%s/counter.snapshot.db", dir);
	unlink(tmp);
	if ((db = counter_open(why, whysz)) == NULL)
		return -1;
	rc = sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, tmp, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_DONE)
		rc = SQLITE_OK;
	if (rc != SQLITE_OK)
		snprintf(why, whysz, "VACUUM INTO %s: %s", tmp, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (rc != SQLITE_OK)
		return -1;
	if (rename(tmp, dst) == -1) {
		snprintf(why, whysz, "rename %s", dst);
		return -1;
	}
	/* the value, from the copy just made */
	if (sqlite3_open_v2(dst, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT n FROM counter WHERE id = 1", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	snprintf(tmp, sizeof(tmp), "%s/.counter.dump.tmp", dir);
	snprintf(dst, sizeof(dst), "%s/counter.dump", dir);
	snprintf(text, sizeof(text), "%lld\n", (long long)n);
	if ((f = fopen(tmp, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) == EOF || rename(tmp, dst) == -1) {
		snprintf(why, whysz, "write %s", dst);
		return -1;
	}
	snprintf(files, filesz, "counter.snapshot.db%ccounter.dump", '\0');
	*nfiles = 2;
	logf_line("hello: snapshot: counter %lld", (long long)n);
	return 0;
}
