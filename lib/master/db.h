/*
 * master/db.h: the master's SQLite database (WAL): nodes, placements, edge
 * routes and snapshots, brought forward by numbered migrations (PRAGMA
 * user_version) in one transaction each, like the agent's registry.  One
 * connection, serialised by a mutex inside struct mdb.
 */
#ifndef MCP_MASTER_DB_H
#define MCP_MASTER_DB_H

#include <stddef.h>
#include <stdint.h>

#include "master/master.h"

struct mdb_placement {
	char service[64];
	char node[64];
	char tier[16];
	char *definition;
	int64_t created_at, updated_at;
};

struct mdb_edge {
	char hostname[256];
	char service[64];
	char component[64];
	char edge_node[64];
	char backend_hostname[320];
	int backend_port;
};

struct mdb_snapshot {
	int64_t id;
	char service[64];
	char node[64];			/* exported from */
	char path[MASTER_PATH_MAX];	/* the complete file (after its rename) */
	int64_t size;
	char sha256[65];
	int64_t created_at;
};

struct mdb *mdb_open(const char *path, struct mcp_err *err);
void mdb_close(struct mdb *db);
int mdb_schema_version(struct mdb *db);
int mdb_latest_version(void);
const char *mdb_migration_sql(int version);

/* Nodes: the persisted part of struct master_node (no client, no health). */
int mdb_node_put(struct mdb *db, const struct master_node *n, struct mcp_err *err);
int mdb_node_list(struct mdb *db, struct master_node **out, size_t *n,
    struct mcp_err *err);

/* *found = 0 when the service has no placement. */
int mdb_placement_get(struct mdb *db, const char *service, struct mdb_placement *p,
    int *found, struct mcp_err *err);
int mdb_placement_put(struct mdb *db, const struct mdb_placement *p,
    struct mcp_err *err);
int mdb_placement_delete(struct mdb *db, const char *service, struct mcp_err *err);
/* Every placement; its definition only with with_defs (else NULL). */
int mdb_placement_list(struct mdb *db, int with_defs,
    struct mdb_placement **out, size_t *n,
    struct mcp_err *err);
void mdb_placements_free(struct mdb_placement *p, size_t n);

int mdb_edge_put(struct mdb *db, const struct mdb_edge *e, struct mcp_err *err);
int mdb_edge_delete(struct mdb *db, const char *hostname, struct mcp_err *err);
/* service NULL: every edge route. */
int mdb_edge_list(struct mdb *db, const char *service, struct mdb_edge **out,
    size_t *n, struct mcp_err *err);

/*
 * Edge removals: an edge route that moved to another edge node while its
 * old one was away, still to be taken down there (edge_node, hostname,
 * service and backend_hostname of struct mdb_edge are used).
 */
int mdb_edge_removal_put(struct mdb *db, const struct mdb_edge *e,
    struct mcp_err *err);
int mdb_edge_removal_delete(struct mdb *db, const char *edge_node,
    const char *hostname, struct mcp_err *err);
int mdb_edge_removal_list(struct mdb *db, struct mdb_edge **out, size_t *n,
    struct mcp_err *err);

/*
 * Leftovers: a copy of service a migrate left on node (down at the time,
 * or its undeploy there failed) when it moved to moved_to; reason is a
 * phrase such as "while w1 was down".  status names such an orphan.
 */
int mdb_leftover_put(struct mdb *db, const char *service, const char *node,
    const char *moved_to, const char *reason, struct mcp_err *err);
int mdb_leftover_delete(struct mdb *db, const char *service, const char *node,
    struct mcp_err *err);
int mdb_leftover_get(struct mdb *db, const char *service, const char *node,
    char *moved_to, size_t movedsz, char *reason, size_t reasonsz, int *found,
    struct mcp_err *err);
/*
 * Drop node's leftovers whose service is not among present[] (the
 * services node's agent just listed: that orphan is gone).  *dropped (may
 * be NULL): how many rows went.
 */
int mdb_leftover_prune(struct mdb *db, const char *node,
    const char *const *present, size_t npresent, size_t *dropped,
    struct mcp_err *err);

/* Record a snapshot (s->id set). */
int mdb_snapshot_add(struct mdb *db, struct mdb_snapshot *s, struct mcp_err *err);
int mdb_snapshot_delete(struct mdb *db, int64_t id, struct mcp_err *err);
/* service NULL: every snapshot; ordered by service, newest first. */
int mdb_snapshot_list(struct mdb *db, const char *service,
    struct mdb_snapshot **out, size_t *n, struct mcp_err *err);

#endif
