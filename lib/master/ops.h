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
/* Start-up: log stale placements, orphans and unreachable nodes
 * (read-only reconciliation; mcp status shows the same). */
void master_reconcile_log(struct master *m);

#endif
