/*
 * master/db.c: the master's database (see db.h).  Every function holds
 * the mutex for its whole duration; multi-row changes are one transaction.
 */
#include "master/db.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sqldb/sqldb.h"
#include "util/buf.h"

struct mdb {
	sqlite3 *db;
	char path[MASTER_PATH_MAX];
	pthread_mutex_t mu;
};

/*
 * Version N is reached by running mdb_migrations[N-1] on a database at
 * N-1.  Never edit a released migration: add one.
 */
static const char *const mdb_migrations[] = {
	/* 1: nodes, placements, edge routes, snapshots */
	"CREATE TABLE nodes ("
	"  name TEXT PRIMARY KEY,"
	"  role TEXT NOT NULL,"
	"  address TEXT NOT NULL DEFAULT '',"
	"  advertise TEXT NOT NULL DEFAULT '',"
	"  version TEXT NOT NULL DEFAULT '',"
	"  bootstrap INTEGER NOT NULL DEFAULT 0,"
	"  runtimes TEXT NOT NULL DEFAULT '',"
	"  memory_total_mb INTEGER NOT NULL DEFAULT 0,"
	"  memory_free_mb INTEGER NOT NULL DEFAULT 0,"
	"  vcpus_total INTEGER NOT NULL DEFAULT 0,"
	"  vcpus_free INTEGER NOT NULL DEFAULT 0,"
	"  disk_free_mb INTEGER NOT NULL DEFAULT 0,"
	"  containers INTEGER NOT NULL DEFAULT 0,"
	"  vms INTEGER NOT NULL DEFAULT 0,"
	"  last_heartbeat INTEGER NOT NULL DEFAULT 0,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE TABLE placements ("
	"  service TEXT PRIMARY KEY,"
	"  node TEXT NOT NULL REFERENCES nodes(name),"
	"  tier TEXT NOT NULL DEFAULT 'worker',"
	"  definition TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE INDEX placements_node ON placements(node);"
	"CREATE TABLE edge_routes ("
	"  hostname TEXT PRIMARY KEY,"
	"  service TEXT NOT NULL,"
	"  component TEXT NOT NULL,"
	"  edge_node TEXT NOT NULL REFERENCES nodes(name),"
	"  backend_hostname TEXT NOT NULL,"
	"  backend_port INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL);"
	"CREATE INDEX edge_routes_service ON edge_routes(service);"
	"CREATE TABLE snapshots ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  service TEXT NOT NULL,"
	"  node TEXT NOT NULL,"
	"  path TEXT NOT NULL,"
	"  size INTEGER NOT NULL DEFAULT 0,"
	"  sha256 TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL);"
	"CREATE INDEX snapshots_service ON snapshots(service, created_at);",
	/* 2: edge routes still to be taken down on an edge node that was
	 * away when the route moved to another */
	"CREATE TABLE edge_removals ("
	"  edge_node TEXT NOT NULL,"
	"  hostname TEXT NOT NULL,"
	"  service TEXT NOT NULL,"
	"  backend_hostname TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (edge_node, hostname));",
	/* 3: copies a migrate left behind on its source node (down at the
	 * time, or its undeploy failed), so status can name an orphan */
	"CREATE TABLE leftovers ("
	"  service TEXT NOT NULL,"
	"  node TEXT NOT NULL,"
	"  moved_to TEXT NOT NULL,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (service, node));",
};

int
mdb_latest_version(void)
{
	return (int)(sizeof(mdb_migrations) / sizeof(mdb_migrations[0]));
}

const char *
mdb_migration_sql(int v)
{
	return v >= 1 && v <= mdb_latest_version() ? mdb_migrations[v - 1] : NULL;
}

static int
mdb_fail(struct mdb *d, struct mcp_err *err, const char *what)
{
	return mcp_err_set(err, sqlite3_errcode(d->db) == SQLITE_CONSTRAINT ?
	    MCP_E_EXISTS : MCP_E_INTERNAL, "master database %s: %s: %s", d->path,
	    what, sqlite3_errmsg(d->db));
}

struct mdb *
mdb_open(const char *path, struct mcp_err *err)
{
	struct mdb *d = xcalloc(1, sizeof(*d));
	char label[MASTER_PATH_MAX + 32];

	mcp_strlcpy(d->path, path, sizeof(d->path));
	snprintf(label, sizeof(label), "master database %s", path);
	if ((d->db = sqldb_open(path, label, "this mcp-master", mdb_migration_sql,
	    mdb_latest_version(), err)) == NULL) {
		free(d);
		return NULL;
	}
	pthread_mutex_init(&d->mu, NULL);
	return d;
}

void
mdb_close(struct mdb *d)
{
	if (d == NULL)
		return;
	sqlite3_close(d->db);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

int
mdb_schema_version(struct mdb *d)
{
	int v;

	pthread_mutex_lock(&d->mu);
	v = sqldb_version(d->db);
	pthread_mutex_unlock(&d->mu);
	return v;
}

static void
mdb_col(char *dst, size_t dstsz, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	mcp_strlcpy(dst, t ? (const char *)t : "", dstsz);
}

/* Prepare sql under the lock; NULL with err. */
static sqlite3_stmt *
mdb_prep(struct mdb *d, const char *sql, const char *what, struct mcp_err *err)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK) {
		mdb_fail(d, err, what);
		return NULL;
	}
	return st;
}

/* Step a write statement to completion and finalize it. */
static int
mdb_done(struct mdb *d, sqlite3_stmt *st, const char *what, struct mcp_err *err)
{
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : mdb_fail(d, err, what);

	sqlite3_finalize(st);
	return rc;
}

int
mdb_node_put(struct mdb *d, const struct master_node *n, struct mcp_err *err)
{
	char rts[80] = "";
	sqlite3_stmt *st;
	int rc = -1;

	for (size_t i = 0; i < n->res.nruntimes; i++)
		snprintf(rts + strlen(rts), sizeof(rts) - strlen(rts), "%s%s",
		    i ? "," : "", n->res.runtimes[i]);
	pthread_mutex_lock(&d->mu);
	st = mdb_prep(d, "INSERT INTO nodes (name, role, address, advertise, version,"
	    " bootstrap, runtimes, memory_total_mb, memory_free_mb, vcpus_total,"
	    " vcpus_free, disk_free_mb, containers, vms, last_heartbeat, updated_at)"
	    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)"
	    " ON CONFLICT(name) DO UPDATE SET role=?2, address=?3, advertise=?4,"
	    " version=?5, bootstrap=?6, runtimes=?7, memory_total_mb=?8,"
	    " memory_free_mb=?9, vcpus_total=?10, vcpus_free=?11, disk_free_mb=?12,"
	    " containers=?13, vms=?14, last_heartbeat=?15, updated_at=?16",
	    "record node", err);
	if (st != NULL) {
		sqlite3_bind_text(st, 1, n->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, n->role, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, n->address, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, n->advertise, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, n->version, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, n->bootstrap);
		sqlite3_bind_text(st, 7, rts, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 8, n->res.memory_total_mb);
		sqlite3_bind_int64(st, 9, n->res.memory_free_mb);
		sqlite3_bind_int(st, 10, n->res.vcpus_total);
		sqlite3_bind_int(st, 11, n->res.vcpus_free);
		sqlite3_bind_int64(st, 12, n->res.disk_free_mb);
		sqlite3_bind_int(st, 13, n->res.containers);
		sqlite3_bind_int(st, 14, n->res.vms);
		sqlite3_bind_int64(st, 15, n->last_heartbeat);
		sqlite3_bind_int64(st, 16, (int64_t)time(NULL));
		rc = mdb_done(d, st, "record node", err);
	}
	pthread_mutex_unlock(&d->mu);
	return rc == -1 ? mcp_err_prefix(err, "node %s", n->name) : 0;
}

/*
 * Run sql (its ?1, if it has one, bound to key; NULL binds NULL) and
 * collect one elem-sized, zeroed row per result through fn into *out
 * (allocated, grown as needed; the caller frees it).  On failure *out is
 * NULL, *n 0, rows already read released through free_rows when given.
 */
static int
mdb_list(struct mdb *d, const char *sql, const char *key, size_t elem,
    void (*fn)(sqlite3_stmt *st, void *row, void *arg), void *arg,
    void (*free_rows)(void *rows, size_t n), void **out, size_t *n,
    const char *what, struct mcp_err *err)
{
	sqlite3_stmt *st;
	size_t cap = 8;
	char *rows = xcalloc(cap, elem);
	int rc = -1, s = SQLITE_DONE;

	*n = 0;
	pthread_mutex_lock(&d->mu);
	st = mdb_prep(d, sql, what, err);
	if (st && sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	while (st && (s = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap *= 2;
			if ((rows = realloc(rows, cap * elem)) == NULL)
				abort();
		}
		memset(rows + *n * elem, 0, elem);
		fn(st, rows + *n * elem, arg);
		(*n)++;
	}
	if (st) {
		rc = s == SQLITE_DONE ? 0 : mdb_fail(d, err, what);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&d->mu);
	if (rc == -1) {
		if (free_rows)
			free_rows(rows, *n);
		else
			free(rows);
		rows = NULL;
		*n = 0;
	}
	*out = rows;
	return rc;
}

static void
mdb_node_row(sqlite3_stmt *st, void *row, void *arg)
{
	struct master_node *x = row;
	char rts[80], *tok, *save = NULL;

	(void)arg;
	mdb_col(x->name, sizeof(x->name), st, 0);
	mdb_col(x->role, sizeof(x->role), st, 1);
	mdb_col(x->address, sizeof(x->address), st, 2);
	mdb_col(x->advertise, sizeof(x->advertise), st, 3);
	mdb_col(x->version, sizeof(x->version), st, 4);
	x->bootstrap = sqlite3_column_int(st, 5);
	mdb_col(rts, sizeof(rts), st, 6);
	for (tok = strtok_r(rts, ",", &save); tok && x->res.nruntimes < 4;
	    tok = strtok_r(NULL, ",", &save))
		mcp_strlcpy(x->res.runtimes[x->res.nruntimes++], tok,
		    sizeof(x->res.runtimes[0]));
	x->res.memory_total_mb = sqlite3_column_int64(st, 7);
	x->res.memory_free_mb = sqlite3_column_int64(st, 8);
	x->res.vcpus_total = sqlite3_column_int(st, 9);
	x->res.vcpus_free = sqlite3_column_int(st, 10);
	x->res.disk_free_mb = sqlite3_column_int64(st, 11);
	x->res.containers = sqlite3_column_int(st, 12);
	x->res.vms = sqlite3_column_int(st, 13);
	x->last_heartbeat = sqlite3_column_int64(st, 14);
}

int
mdb_node_list(struct mdb *d, struct master_node **out, size_t *n, struct mcp_err *err)
{
	return mdb_list(d, "SELECT name, role, address, advertise, version, bootstrap,"
	    " runtimes, memory_total_mb, memory_free_mb, vcpus_total, vcpus_free,"
	    " disk_free_mb, containers, vms, last_heartbeat FROM nodes ORDER BY name",
	    NULL, sizeof(**out), mdb_node_row, NULL, NULL, (void **)out, n,
	    "list nodes", err);
}

static void
mdb_placement_row(sqlite3_stmt *st, struct mdb_placement *p, int with_def)
{
	const unsigned char *def;

	mdb_col(p->service, sizeof(p->service), st, 0);
	mdb_col(p->node, sizeof(p->node), st, 1);
	mdb_col(p->tier, sizeof(p->tier), st, 2);
	def = with_def ? sqlite3_column_text(st, 3) : NULL;
	p->definition = with_def ? xstrdup(def ? (const char *)def : "") : NULL;
	p->created_at = sqlite3_column_int64(st, 4);
	p->updated_at = sqlite3_column_int64(st, 5);
}

#define PLACEMENT_COLS "service, node, tier, definition, created_at, updated_at"

int
mdb_placement_get(struct mdb *d, const char *service, struct mdb_placement *p,
    int *found, struct mcp_err *err)
{
	sqlite3_stmt *st;
	int rc = -1, s;

	memset(p, 0, sizeof(*p));
	*found = 0;
	pthread_mutex_lock(&d->mu);
	st = mdb_prep(d, "SELECT " PLACEMENT_COLS " FROM placements WHERE service = ?",
	    "read placement", err);
	if (st) {
		sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
		if ((s = sqlite3_step(st)) == SQLITE_ROW) {
			mdb_placement_row(st, p, 1);
			*found = 1;
			rc = 0;
		} else
			rc = s == SQLITE_DONE ? 0 : mdb_fail(d, err, "read placement");
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&d->mu);
	return rc;
}

int
mdb_placement_put(struct mdb *d, const struct mdb_placement *p, struct mcp_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;
	int64_t now = (int64_t)time(NULL);

	pthread_mutex_lock(&d->mu);
	st = mdb_prep(d, "INSERT INTO placements (" PLACEMENT_COLS ") VALUES"
	    " (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT(service) DO UPDATE SET node = ?2,"
	    " tier = ?3, definition = ?4, updated_at = ?5", "record placement", err);
	if (st) {
		sqlite3_bind_text(st, 1, p->service, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, p->node, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, p->tier, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, p->definition, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, now);
		rc = mdb_done(d, st, "record placement", err);
	}
	pthread_mutex_unlock(&d->mu);
	return rc;
}

/* DELETE FROM table WHERE key = value. */
static int
mdb_delete(struct mdb *d, const char *sql, const char *value, const char *what,
    struct mcp_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	pthread_mutex_lock(&d->mu);
	if ((st = mdb_prep(d, sql, what, err)) != NULL) {
		sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC);
		rc = mdb_done(d, st, what, err);
	}
	pthread_mutex_unlock(&d->mu);
	return rc;
}

int
mdb_placement_delete(struct mdb *d, const char *service, struct mcp_err *err)
{
	return mdb_delete(d, "DELETE FROM placements WHERE service = ?", service,
	    "delete placement", err);
}

static void
mdb_placement_list_row(sqlite3_stmt *st, void *row, void *arg)
{
	mdb_placement_row(st, row, *(const int *)arg);
}

static void
mdb_placements_free_rows(void *rows, size_t n)
{
	mdb_placements_free(rows, n);
}

int
mdb_placement_list(struct mdb *d, int with_defs, struct mdb_placement **out,
    size_t *n, struct mcp_err *err)
{
	/* counts and status (800 rows) need no definitions; sync does */
	return mdb_list(d, with_defs ?
	    "SELECT " PLACEMENT_COLS " FROM placements ORDER BY service" :
	    "SELECT service, node, tier, NULL, created_at, updated_at"
	    " FROM placements ORDER BY service", NULL, sizeof(**out),
	    mdb_placement_list_row, &with_defs, mdb_placements_free_rows,
	    (void **)out, n, "list placements", err);
}

void
mdb_placements_free(struct mdb_placement *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++)
		free(p[i].definition);
	free(p);
}

int
mdb_edge_put(struct mdb *d, const struct mdb_edge *e, struct mcp_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	pthread_mutex_lock(&d->mu);
	st = mdb_prep(d, "INSERT INTO edge_routes (hostname, service, component,"
	    " edge_node, backend_hostname, backend_port, created_at) VALUES"
	    " (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(hostname) DO UPDATE SET"
	    " service = ?2, component = ?3, edge_node = ?4, backend_hostname = ?5,"
	    " backend_port = ?6", "record edge route", err);
	if (st) {
		sqlite3_bind_text(st, 1, e->hostname, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, e->service, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, e->component, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, e->edge_node, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, e->backend_hostname, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, e->backend_port);
		sqlite3_bind_int64(st, 7, (int64_t)time(NULL));
		rc = mdb_done(d, st, "record edge route", err);
	}
	pthread_mutex_unlock(&d->mu);
	return rc;
}

int
mdb_edge_delete(struct mdb *d, const char *hostname, struct mcp_err *err)
{
	return mdb_delete(d, "DELETE FROM edge_routes WHERE hostname = ?", hostname,
	    "delete edge route", err);
}

static void
mdb_edge_row(sqlite3_stmt *st, void *row, void *arg)
{
	struct mdb_edge *e = row;

	(void)arg;
	mdb_col(e->hostname, sizeof(e->hostname), st, 0);
	mdb_col(e->service, sizeof(e->service), st, 1);
	mdb_col(e->component, sizeof(e->component), st, 2);
	mdb_col(e->edge_node, sizeof(e->edge_node), st, 3);
	mdb_col(e->backend_hostname, sizeof(e->backend_hostname), st, 4);
	e->backend_port = sqlite3_column_int(st, 5);
}

int
mdb_edge_list(struct mdb *d, const char *service, struct mdb_edge **out,
    size_t *n, struct mcp_err *err)
{
	return mdb_list(d, "SELECT hostname, service, component, edge_node,"
	    " backend_hostname, backend_port FROM edge_routes"
	    " WHERE ?1 IS NULL OR service = ?1 ORDER BY hostname", service,
	    sizeof(**out), mdb_edge_row, NULL, NULL, (void **)out, n,
	    "list edge routes", err);
}

int
mdb_edge_removal_put(struct mdb *d, const struct mdb_edge *e, struct mcp_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	pthread_mutex_lock(&d->mu);
	st = mdb_prep(d, "INSERT INTO edge_removals (edge_node, hostname, service,"
	    " backend_hostname, created_at) VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT(edge_node, hostname) DO UPDATE SET service = ?3,"
	    " backend_hostname = ?4", "record edge removal", err);
	if (st) {
		sqlite3_bind_text(st, 1, e->edge_node, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, e->hostname, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, e->service, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, e->backend_hostname, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, (int64_t)time(NULL));
		rc = mdb_done(d, st, "record edge removal", err);
	}
	pthread_mutex_unlock(&d->mu);
	return rc;
}

int
mdb_edge_removal_delete(struct mdb *d, const char *edge_node,
    const char *hostname, struct mcp_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	pthread_mutex_lock(&d->mu);
	st = mdb_prep(d, "DELETE FROM edge_removals WHERE edge_node = ?1 AND"
	    " hostname = ?2", "delete edge removal", err);
	if (st) {
		sqlite3_bind_text(st, 1, edge_node, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, hostname, -1, SQLITE_STATIC);
		rc = mdb_done(d, st, "delete edge removal", err);
	}
	pthread_mutex_unlock(&d->mu);
	return rc;
}

static void
mdb_edge_removal_row(sqlite3_stmt *st, void *row, void *arg)
{
	struct mdb_edge *e = row;

	(void)arg;
	mdb_col(e->edge_node, sizeof(e->edge_node), st, 0);
	mdb_col(e->hostname, sizeof(e->hostname), st, 1);
	mdb_col(e->service, sizeof(e->service), st, 2);
	mdb_col(e->backend_hostname, sizeof(e->backend_hostname), st, 3);
}

int
mdb_edge_removal_list(struct mdb *d, struct mdb_edge **out, size_t *n,
    struct mcp_err *err)
{
	return mdb_list(d, "SELECT edge_node, hostname, service, backend_hostname"
	    " FROM edge_removals ORDER BY edge_node, hostname", NULL, sizeof(**out),
	    mdb_edge_removal_row, NULL, NULL, (void **)out, n,
	    "list edge removals", err);
}

int
mdb_leftover_put(struct mdb *d, const char *service, const char *node,
    const char *moved_to, const char *reason, struct mcp_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	pthread_mutex_lock(&d->mu);
	st = mdb_prep(d, "INSERT OR REPLACE INTO leftovers (service, node, moved_to,"
	    " reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5)", "record leftover",
	    err);
	if (st) {
		sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, node, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, moved_to, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
		rc = mdb_done(d, st, "record leftover", err);
	}
	pthread_mutex_unlock(&d->mu);
	return rc;
}

int
mdb_leftover_delete(struct mdb *d, const char *service, const char *node,
    struct mcp_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	pthread_mutex_lock(&d->mu);
	st = mdb_prep(d, "DELETE FROM leftovers WHERE service = ?1 AND node = ?2",
	    "delete leftover", err);
	if (st) {
		sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, node, -1, SQLITE_STATIC);
		rc = mdb_done(d, st, "delete leftover", err);
	}
	pthread_mutex_unlock(&d->mu);
	return rc;
}

int
mdb_leftover_get(struct mdb *d, const char *service, const char *node,
    char *moved_to, size_t movedsz, char *reason, size_t reasonsz, int *found,
    struct mcp_err *err)
{
	sqlite3_stmt *st;
	int rc = -1, s;

	*found = 0;
	pthread_mutex_lock(&d->mu);
	st = mdb_prep(d, "SELECT moved_to, reason FROM leftovers WHERE service = ?1"
	    " AND node = ?2", "get leftover", err);
	if (st) {
		sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, node, -1, SQLITE_STATIC);
		if ((s = sqlite3_step(st)) == SQLITE_ROW) {
			mdb_col(moved_to, movedsz, st, 0);
			mdb_col(reason, reasonsz, st, 1);
			*found = 1;
		}
		rc = s == SQLITE_ROW || s == SQLITE_DONE ? 0 :
		    mdb_fail(d, err, "get leftover");
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&d->mu);
	return rc;
}

int
mdb_leftover_prune(struct mdb *d, const char *node, const char *const *present,
    size_t npresent, size_t *dropped, struct mcp_err *err)
{
	sqlite3_stmt *st, *del = NULL;
	char (*gone)[64] = NULL;
	size_t ngone = 0, i, k;
	int rc = -1, s;

	if (dropped)
		*dropped = 0;
	pthread_mutex_lock(&d->mu);
	st = mdb_prep(d, "SELECT service FROM leftovers WHERE node = ?1",
	    "list leftovers", err);
	if (st == NULL)
		goto out;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *svc = (const char *)sqlite3_column_text(st, 0);

		for (k = 0; k < npresent; k++)
			if (svc && strcmp(present[k], svc) == 0)
				break;
		if (svc == NULL || k < npresent)
			continue;
		gone = realloc(gone, (ngone + 1) * sizeof(*gone));
		if (gone == NULL)
			abort();
		mcp_strlcpy(gone[ngone++], svc, sizeof(gone[0]));
	}
	sqlite3_finalize(st);
	if (s != SQLITE_DONE) {
		mdb_fail(d, err, "list leftovers");
		goto out;
	}
	for (i = 0; i < ngone; i++) {
		if ((del = mdb_prep(d, "DELETE FROM leftovers WHERE service = ?1 AND "
		    "node = ?2", "delete leftover", err)) == NULL)
			goto out;
		sqlite3_bind_text(del, 1, gone[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(del, 2, node, -1, SQLITE_STATIC);
		if (mdb_done(d, del, "delete leftover", err) == -1)
			goto out;
		if (dropped)
			(*dropped)++;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&d->mu);
	free(gone);
	return rc;
}

int
mdb_snapshot_add(struct mdb *d, struct mdb_snapshot *s, struct mcp_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	pthread_mutex_lock(&d->mu);
	st = mdb_prep(d, "INSERT INTO snapshots (service, node, path, size, sha256,"
	    " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", "record snapshot", err);
	if (st) {
		sqlite3_bind_text(st, 1, s->service, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, s->node, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, s->path, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, s->size);
		sqlite3_bind_text(st, 5, s->sha256, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, s->created_at);
		if ((rc = mdb_done(d, st, "record snapshot", err)) == 0)
			s->id = sqlite3_last_insert_rowid(d->db);
	}
	pthread_mutex_unlock(&d->mu);
	return rc;
}

int
mdb_snapshot_delete(struct mdb *d, int64_t id, struct mcp_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	pthread_mutex_lock(&d->mu);
	if ((st = mdb_prep(d, "DELETE FROM snapshots WHERE id = ?", "delete snapshot",
	    err)) != NULL) {
		sqlite3_bind_int64(st, 1, id);
		rc = mdb_done(d, st, "delete snapshot", err);
	}
	pthread_mutex_unlock(&d->mu);
	return rc;
}

static void
mdb_snapshot_row(sqlite3_stmt *st, void *row, void *arg)
{
	struct mdb_snapshot *x = row;

	(void)arg;
	x->id = sqlite3_column_int64(st, 0);
	mdb_col(x->service, sizeof(x->service), st, 1);
	mdb_col(x->node, sizeof(x->node), st, 2);
	mdb_col(x->path, sizeof(x->path), st, 3);
	x->size = sqlite3_column_int64(st, 4);
	mdb_col(x->sha256, sizeof(x->sha256), st, 5);
	x->created_at = sqlite3_column_int64(st, 6);
}

int
mdb_snapshot_list(struct mdb *d, const char *service, struct mdb_snapshot **out,
    size_t *n, struct mcp_err *err)
{
	return mdb_list(d, "SELECT id, service, node, path, size, sha256, created_at"
	    " FROM snapshots WHERE ?1 IS NULL OR service = ?1"
	    " ORDER BY service, created_at DESC, id DESC", service, sizeof(**out),
	    mdb_snapshot_row, NULL, NULL, (void **)out, n, "list snapshots", err);
}
