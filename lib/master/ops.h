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

int master_deploy(struct master *m, const char *text, size_t len,
    const char *source, Mcp__V1__MasterDeployResponse *out, struct mcp_err *err);
int master_undeploy(struct master *m, const char *service,
    Mcp__V1__MasterDeployResponse *out, struct mcp_err *err);
/* Stop, Start or Restart (op: the agent method's name) forwarded to the
 * node the service is placed on. */
int master_service_op(struct master *m, const char *op, const char *service,
    const char *component, Mcp__V1__MasterOpResponse *out, struct mcp_err *err);
int master_status(struct master *m, const char *service,
    Mcp__V1__MasterStatusResponse *out, struct mcp_err *err);
/* Flag unikernel components whose image reference boots another OCI image
 * elsewhere in st (FleetService.attestation_mismatch; master/attest.c). */
void master_attest_flag(Mcp__V1__MasterStatusResponse *st);
/* Start-up: log stale placements, orphans and unreachable nodes
 * (read-only reconciliation; mcp status shows the same). */
void master_reconcile_log(struct master *m);

#endif
