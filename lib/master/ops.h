/*
 * master/ops.h: the master's fleet operations (ops.c), called by the RPC
 * handlers (rpc.c).  Each fills a caller-allocated response message; -1
 * only when the operation could not start (a bad definition, no node to
 * place it on, no placement to undeploy): step failures are in the steps.
 */
#ifndef MCP_MASTER_OPS_H
#define MCP_MASTER_OPS_H

#include <stddef.h>

#include "master.pb-c.h"
#include "master/master.h"

/*
 * Who hears a deploy's steps (DeployStream): fn gets the node and each
 * step (the agent's, forwarded, and the master's own), elapsed_ms counted
 * from t0_ms (mcp_now_ms()).  wait_answer_s goes to the agent.
 */
struct master_deploy_watch {
	void (*fn)(void *arg, const char *node, const char *component,
	    const char *step, const char *detail, int64_t elapsed_ms);
	void *arg;
	long long t0_ms;
	int wait_answer_s;
};

/* watch may be NULL (Deploy); else the agent is called with DeployStream. */
int master_deploy(struct master *m, const char *text, size_t len,
    const char *source, const struct master_deploy_watch *watch,
    Mcp__V1__MasterDeployResponse *out, struct mcp_err *err);
int master_undeploy(struct master *m, const char *service,
    Mcp__V1__MasterDeployResponse *out, struct mcp_err *err);
/* Stop, Start or Restart (op: the agent method's name) forwarded to the
 * node the service is placed on. */
int master_service_op(struct master *m, const char *op, const char *service,
    const char *component, Mcp__V1__MasterOpResponse *out, struct mcp_err *err);
int master_status(struct master *m, const char *service,
    Mcp__V1__MasterStatusResponse *out, struct mcp_err *err);
/* Take down edge routes left on an edge node that was away when they
 * moved, once it is healthy again (the health thread, every tick). */
void master_edge_retry(struct master *m);
/* Flag unikernel components whose image reference boots another OCI image
 * elsewhere in st (FleetService.attestation_mismatch; master/attest.c). */
void master_attest_flag(Mcp__V1__MasterStatusResponse *st);
/* Start-up: log stale placements, orphans and unreachable nodes
 * (read-only reconciliation; mcp status shows the same). */
void master_reconcile_log(struct master *m);

/* ---- shared by the operations (ops.c, data.c, migrate.c, sync.c) ---- */

/* A new step of out, ok until noted otherwise. */
Mcp__V1__StepResult *master_step_add(Mcp__V1__MasterDeployResponse *out,
    const char *name);
/* Set the step's outcome; a failure's message is appended to earlier ones. */
void master_step_note(Mcp__V1__StepResult *s, int ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void master_step_action(Mcp__V1__StepResult *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The node's pooled client and advertised address, or NULL with err. */
struct wire_client *master_node_handle(struct master *m, const char *name,
    char *ip, size_t ipsz, struct mcp_err *err);
/* The one path by which a call is forwarded to a node's agent (the error
 * prefixed with the node's name). */
int master_node_forward(struct master *m, const char *node, char *ip, size_t ipsz,
    const char *method, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp,
    int timeout_s, struct mcp_err *err);
struct svc_def;
/* The DNS records of def -> ip, and its public routes on edge nodes
 * (SetupEdgeRoute again re-points a route whose backend moved). */
void master_deploy_dns(struct master *m, const struct svc_def *def,
    const char *ip, Mcp__V1__StepResult *s);
void master_deploy_edge(struct master *m, const struct svc_def *def,
    Mcp__V1__StepResult *s);
/* 1 if node is known and healthy; else 0 with why in err. */
int master_node_usable(struct master *m, const char *node, struct mcp_err *err);

/* data.c: snapshots */
struct mdb_snapshot;
/*
 * A copy of the export streamed into another node's ImportServiceData as
 * it arrives (a migrate: the target is written while the snapshot is
 * stored).  failed: the import broke off (its error in err), which also
 * stops the export; bytes: what the target wrote.
 */
struct snapshot_tee {
	const char *node;		/* the target */
	int force;
	int failed;
	struct mcp_err err;
	uint64_t bytes;
};
/* Take a snapshot of service (placed on node) now; the caller holds the
 * service's lock.  direct: skip the method step (a stopped service).
 * *rec filled; method: what the agent used.  tee: NULL, or where a copy
 * goes (the snapshot is kept even if the import fails). */
int master_snapshot_take(struct master *m, const char *service, const char *node,
    int direct, struct mdb_snapshot *rec, char *method, size_t methodsz,
    struct snapshot_tee *tee, struct mcp_err *err);
/* Keep the newest [snapshots] retain of service: older files and rows go. */
int master_snapshot_prune(struct master *m, const char *service, struct mcp_err *err);
/* Stream the snapshot file at path (verified against sha256 and size) into
 * node's ImportServiceData for service. */
int master_snapshot_import(struct master *m, const struct mdb_snapshot *snap,
    const char *node, const char *service, int force, uint64_t *bytes,
    struct mcp_err *err);
int master_create_snapshot(struct master *m, const char *service,
    Mcp__V1__SnapshotRecord *out, struct mcp_err *err);
int master_list_snapshots(struct master *m, const char *service,
    Mcp__V1__ListSnapshotsResponse *out, struct mcp_err *err);
/* Start-up: temporary files of interrupted snapshots removed, rows whose
 * file is missing dropped; then the schedule thread. */
int master_snapshots_start(struct master *m, struct mcp_err *err);
void master_snapshots_stop(struct master *m);
/* Why service's data is not backed up as it should be ("" if fine),
 * from snaps as mdb_snapshot_list returns them (listed once per Status;
 * unknown: why they could not be listed, or NULL). */
struct mdb_snapshot;
void master_snapshot_warning(struct master *m, const struct mdb_snapshot *snaps,
    size_t nsnaps, const char *unknown, const char *service, int64_t placed_at,
    int64_t *newest, char *out, size_t outsz);

/* pure (data.c): the snapshot's file name <dir>/<service>/<stamp>.tar.zst
 * for a time in ms (partial: the temporary name beside it). */
void master_snapshot_path(char *out, size_t outsz, const char *dir,
    const char *service, long long ms, int partial);
/* 1 if a placed service's backup is overdue: its newest snapshot (0: none,
 * then counted from placed_at) older than twice the interval. */
int master_snapshot_overdue(int64_t now, int64_t newest, int64_t placed_at,
    int interval_s);

/* migrate.c */
struct migrate_check {
	const char *service, *tier, *pin;	/* pin: the definition's node */
	const char *from, *to;
	const char *to_role;		/* NULL: the target is not known */
	int to_healthy;
	const char *master_node;
};
/* Pure: may the service move?  -1 with why (nothing has changed yet):
 * core, pinned elsewhere, already there, unknown / edge / unhealthy
 * target. */
int master_migrate_check(const struct migrate_check *c, struct mcp_err *err);
int master_migrate(struct master *m, const Mcp__V1__MigrateRequest *req,
    Mcp__V1__MigrateResponse *out, struct mcp_err *err);

/* sync.c */
enum sync_action { SYNC_DEPLOY, SYNC_REDEPLOY, SYNC_UNDEPLOY, SYNC_UNCHANGED };
struct sync_item {
	const char *service;
	const char *text;		/* desired definition (NULL: undeploy) */
	const char *source;
	enum sync_action action;
};
/*
 * The plan (pure): desired names[i]/texts[i] against placed pnames[j] with
 * their recorded ptexts[j]: new -> deploy, differing text -> redeploy,
 * same -> unchanged, placed but not desired -> undeploy.  Items sorted by
 * service name; *n set.  Returns malloc'ed items.
 */
struct sync_item *master_sync_plan(const char *const *names,
    const char *const *texts, const char *const *sources, size_t ndesired,
    const char *const *pnames, const char *const *ptexts, size_t nplaced,
    size_t *n);
const char *master_sync_action_name(enum sync_action a);
int master_sync(struct master *m, const Mcp__V1__SyncRequest *req,
    Mcp__V1__SyncResponse *out, struct mcp_err *err);

#endif
