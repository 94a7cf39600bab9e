/*
 * cli/cli_int.h: what commands.c shares with cli/master.c (the commands
 * that go through mcp-master): the one RPC path with its error context,
 * and the JSON shapes of a service and a component.
 */
#ifndef MCP_CLI_CLI_INT_H
#define MCP_CLI_CLI_INT_H

#include <stdint.h>
#include <jansson.h>

#include "agent.pb-c.h"
#include "master.pb-c.h"
#include "cli/cli.h"

int cli_node_call(struct cli *c, const struct cli_node *n, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
    ProtobufCMessage **resp, int timeout_ms, struct mcp_err *err);
/* The same path for a server stream (on_msg per message, see wire.h). */
int cli_node_stream(struct cli *c, const struct cli_node *n, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
    int (*on_msg)(const ProtobufCMessage *, void *), void *arg, int timeout_ms,
    struct mcp_err *err);
/* On a terminal a deploy waits this long at most for the first answers. */
#define CLI_DEPLOY_WAIT_ANSWER_S 120
json_t *cli_service_json(const Mcp__V1__ServiceStatus *s);
/* A node's VMs and their attested hashes (NodeStatus, ListNodes). */
json_t *cli_vms_json(Mcp__V1__VmAttestation *const *v, size_t n);
json_t *cli_component_json(const Mcp__V1__ServiceStatus *s,
    const Mcp__V1__ComponentStatus *cs);
/* Print j (indented) on stdout and release it. */
void cli_json_print(json_t *j);
/* With --json print j (taking it), else just release it. */
void cli_json_done(const struct cli *c, json_t *j);
/* One progress line of a long operation on stdout: "  12.3s  web: booting ...". */
void cli_progress_line(int64_t elapsed_ms, const char *component, const char *detail);

/* cli/master.c: deploy / undeploy through the master (text is the
 * definition read from path). */
int cli_master_deploy(struct cli *c, const char *text, const char *path);
int cli_master_undeploy(struct cli *c, const char *service);
/* Stop, Start or Restart through the master (method: /mcp.v1.Master/...),
 * which forwards it to the placed node's agent. */
int cli_master_op(struct cli *c, const char *method,
    const Mcp__V1__ServiceRequest *req, Mcp__V1__MasterOpResponse **resp,
    struct mcp_err *err);
/* The node the master placed service on (its agent's address from
 * ListNodes), for logs/push/pull; in c->placed. */
const struct cli_node *cli_master_service_node(struct cli *c, const char *service,
    struct mcp_err *err);

/* A call to mcp-master ([master] address). */
int cli_master_call(struct cli *c, const char *method, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp,
    int timeout_ms, struct mcp_err *err);
/* A Deploy-shaped answer (steps) as JSON, or printed (human or JSON, with
 * failed steps on stderr); the report returns 0 if all succeeded, else 1. */
json_t *cli_steps_json(const Mcp__V1__MasterDeployResponse *r);
int cli_steps_report(struct cli *c, const char *verb,
    Mcp__V1__MasterDeployResponse *r);

#endif
