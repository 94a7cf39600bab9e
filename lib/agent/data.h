/*
 * agent/data.h: a service's data on this node, exported and imported for
 * the master (agent/data.c over lib/data).
 */
#ifndef MCP_AGENT_DATA_H
#define MCP_AGENT_DATA_H

#include "data/data.h"

struct agent;

/*
 * Stream <srv_root>/<service>/ as a tar.zst to sink, shaped by the stored
 * definition's [snapshot] (direct: no method step).  method_out names what
 * was done ("default", "full", "exec: ...", "direct (service stopped)").
 */
int agent_data_export(struct agent *a, const char *service, int direct,
    data_sink_fn sink, void *arg, struct data_sum *sum, char *method_out,
    size_t method_outsz, struct mcp_err *err);

/* Import: begin (refuses existing data unless force; takes the service's
 * lock), feed the archive, end with the sender's SHA-256 and size (lands
 * it), free (always; drops an unfinished import and the lock). */
struct agent_import;
struct agent_import *agent_data_import_begin(struct agent *a,
    const char *service, int force, struct mcp_err *err);
int agent_data_import_feed(struct agent_import *ai, const void *data,
    size_t len, struct mcp_err *err);
int agent_data_import_end(struct agent_import *ai, const char *sha256,
    uint64_t size, struct data_sum *sum, struct mcp_err *err);
void agent_data_import_free(struct agent_import *ai);

#endif
