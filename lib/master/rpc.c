/*
 * master/rpc.c: the Master gRPC service (proto/master.proto) over the
 * wire layer: the method table with who may call what, and the handlers.
 * Operators and mcp-master call Deploy, Undeploy, Stop, Start, Restart,
 * Status, ListNodes, CreateSnapshot, ListSnapshots, Migrate, Sync;
 * agents ("agent-*") call Register and Heartbeat, and the handler binds
 * the request to the identity the transport proved (master_check_agent):
 * agent-<name> may speak only for <name>, and only if allowed_agents
 * lists it.  Register and Heartbeat are rate-limited per node.
 */
#include "master/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "master/db.h"
#include "service/service.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "wire/wire.h"

static const char *const allow_ops[] = { "@operator", "mcp-master", NULL };
static const char *const allow_agents[] = { "agent-*", NULL };

/* Agents: a burst of 10 calls, then 2 a second, per node. */
#define RATE_BURST 10.0
#define RATE_PER_S 2.0

static int
pattern_match(const char *pat, const char *s)
{
	size_t n = strlen(pat);

	if (n && pat[n - 1] == '*')
		return strncmp(pat, s, n - 1) == 0;
	return strcmp(pat, s) == 0;
}

/*
 * The one place where an agent's identity is checked against the node it
 * speaks for (vmd's vm_checkperm): the certificate CN must be
 * "agent-<name>" and allowed_agents must list it.
 */
int
master_check_agent(const struct master_config *cfg, const char *identity,
    const char *name, struct mcp_err *err)
{
	int listed = 0;

	if (!svc_name_valid(name))
		return mcp_err_set(err, MCP_E_INVALID, "register: \"%s\" is not a "
		    "valid node name", name);
	if (strncmp(identity, "agent-", 6) != 0 || strcmp(identity + 6, name) != 0)
		return mcp_err_set(err, MCP_E_PERM, "register %s: identity %s may "
		    "only speak for node %s", name, identity,
		    strncmp(identity, "agent-", 6) == 0 ? identity + 6 : "(none)");
	for (size_t i = 0; cfg->allowed_agents && cfg->allowed_agents[i]; i++)
		if (pattern_match(cfg->allowed_agents[i], identity))
			listed = 1;
	if (!listed)
		return mcp_err_set(err, MCP_E_PERM, "register %s: identity %s is not "
		    "in [registration] allowed_agents", name, identity);
	return 0;
}

static void
resources_from_pb(struct master_resources *r, const Mcp__V1__NodeResources *p)
{
	if (p == NULL)
		return;
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < p->n_runtimes && i < 4; i++)
		mcp_strlcpy(r->runtimes[r->nruntimes++], p->runtimes[i],
		    sizeof(r->runtimes[0]));
	r->memory_total_mb = (int64_t)p->memory_total_mb;
	r->memory_free_mb = (int64_t)p->memory_free_mb;
	r->vcpus_total = (int)p->vcpus_total;
	r->vcpus_free = (int)p->vcpus_free;
	r->disk_free_mb = (int64_t)p->disk_free_mb;
	r->containers = (int)p->containers;
	r->vms = (int)p->vms;
}

static void node_vms_keep(struct master_node *n, const Mcp__V1__HeartbeatRequest *r);

/* The node spoke (Register, Heartbeat): healthy, seen now (m->mu held). */
static void
node_heard(struct master *m, struct master_node *n,
    const Mcp__V1__NodeResources *res, const char *how)
{
	resources_from_pb(&n->res, res);
	if (n->health != HEALTH_HEALTHY) {
		log_info("node %s (%s, %s): healthy (%s)", n->name, n->role,
		    n->address, how);
		m->healthy_gen++;
	}
	n->health = HEALTH_HEALTHY;
	n->last_heartbeat = (int64_t)time(NULL);
	n->last_seen_ms = mcp_now_ms();
}

/* Rate limit for node name (m->mu held). */
static int
rate_check(struct master_node *n, const char *what, struct mcp_err *err)
{
	if (!master_rate_allow(&n->rate, mcp_now_ms(), RATE_BURST, RATE_PER_S))
		return mcp_err_set(err, MCP_E_RESOURCE, "%s %s: too many calls, "
		    "slow down", what, n->name);
	return 0;
}

static int
rpc_register(void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__RegisterRequest *r = (const Mcp__V1__RegisterRequest *)req;
	struct master *m = ctx;
	Mcp__V1__RegisterResponse *out;
	struct master_node *n, saved;
	char role[16], prev[256];
	int rc = -1;

	if (master_check_agent(&m->cfg, caller->identity, r->name, err) == -1) {
		log_warnx("%s (from %s)", err->msg, caller->peer);
		return -1;
	}
	if (r->address[0] == '\0' || strrchr(r->address, ':') == NULL)
		return mcp_err_set(err, MCP_E_INVALID, "register %s: address must be "
		    "host:port", r->name);
	pthread_mutex_lock(&m->mu);
	n = master_node_find(m, r->name);
	if (n == NULL && m->nnodes >= (size_t)m->cfg.max_nodes) {
		mcp_err_set(err, MCP_E_RESOURCE, "register %s: the fleet already has "
		    "max_nodes = %d nodes", r->name, m->cfg.max_nodes);
		log_warnx("%s (from %s)", err->msg, caller->peer);
		goto out;
	}
	if (n != NULL && rate_check(n, "register", err) == -1)
		goto out;
	/* the role: the master's own node, else the bootstrap list, else asked */
	if (strcmp(r->name, m->cfg.node) == 0)
		mcp_strlcpy(role, "master", sizeof(role));
	else if (n != NULL && n->bootstrap)
		mcp_strlcpy(role, n->role, sizeof(role));
	else if (strcmp(r->role, "edge") == 0)
		mcp_strlcpy(role, "edge", sizeof(role));
	else
		mcp_strlcpy(role, "worker", sizeof(role));
	prev[0] = '\0';
	if (n != NULL)
		mcp_strlcpy(prev, n->address, sizeof(prev));
	if ((n = master_node_put(m, r->name, role, r->address, err)) == NULL)
		goto out;
	if (prev[0] && strcmp(prev, r->address) != 0)
		log_info("node %s re-registered at %s (was %s)", r->name, r->address,
		    prev);
	mcp_strlcpy(n->advertise, r->advertise, sizeof(n->advertise));
	mcp_strlcpy(n->version, r->version, sizeof(n->version));
	node_heard(m, n, r->resources, "registered");
	saved = *n;
	rc = 0;
out:
	pthread_mutex_unlock(&m->mu);
	if (rc == -1)
		return -1;
	if (mdb_node_put(m->db, &saved, err) == -1)
		return mcp_err_prefix(err, "register %s", r->name);
	out = (Mcp__V1__RegisterResponse *)wire_msg_new(
	    &mcp__v1__register_response__descriptor);
	out->node = xstrdup(r->name);
	out->heartbeat_interval_s = (uint32_t)m->cfg.heartbeat_interval_s;
	*resp = &out->base;
	return 0;
}

static int
rpc_heartbeat(void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__HeartbeatRequest *r = (const Mcp__V1__HeartbeatRequest *)req;
	struct master *m = ctx;
	Mcp__V1__HeartbeatResponse *out;
	struct master_node *n, saved;
	int rc = -1;

	if (master_check_agent(&m->cfg, caller->identity, r->name, err) == -1)
		return -1;
	pthread_mutex_lock(&m->mu);
	if ((n = master_node_find(m, r->name)) == NULL || n->address[0] == '\0') {
		mcp_err_set(err, MCP_E_NOTFOUND, "heartbeat %s: not registered "
		    "(register first)", r->name);
		goto out;
	}
	if (rate_check(n, "heartbeat", err) == -1)
		goto out;
	node_heard(m, n, r->resources, "heartbeat");
	node_vms_keep(n, r);
	saved = *n;
	saved.vms_pb = NULL;	/* the copy is for the database row only */
	rc = 0;
out:
	pthread_mutex_unlock(&m->mu);
	if (rc == -1)
		return -1;
	if (mdb_node_put(m->db, &saved, err) == -1)
		return mcp_err_prefix(err, "heartbeat %s", r->name);
	out = (Mcp__V1__HeartbeatResponse *)wire_msg_new(
	    &mcp__v1__heartbeat_response__descriptor);
	out->heartbeat_interval_s = (uint32_t)m->cfg.heartbeat_interval_s;
	*resp = &out->base;
	return 0;
}

/* Keep the VMs a heartbeat reported (m->mu held), for ListNodes. */
static void
node_vms_keep(struct master_node *n, const Mcp__V1__HeartbeatRequest *r)
{
	Mcp__V1__HeartbeatRequest only = MCP__V1__HEARTBEAT_REQUEST__INIT;

	free(n->vms_pb);
	n->vms_pb = NULL;
	n->vms_pb_len = 0;
	if (r->n_vms == 0)
		return;
	only.n_vms = r->n_vms;
	only.vms = r->vms;
	n->vms_pb_len = protobuf_c_message_get_packed_size(&only.base);
	n->vms_pb = xcalloc(1, n->vms_pb_len);
	protobuf_c_message_pack(&only.base, n->vms_pb);
}

/* The kept VMs into ni->vms (m->mu held). */
static void
node_vms_to_pb(const struct master_node *n, Mcp__V1__NodeInfo *ni)
{
	Mcp__V1__HeartbeatRequest *hb;

	if (n->vms_pb == NULL || (hb = mcp__v1__heartbeat_request__unpack(NULL,
	    n->vms_pb_len, n->vms_pb)) == NULL)
		return;
	ni->vms = hb->vms;
	ni->n_vms = hb->n_vms;
	hb->vms = NULL;
	hb->n_vms = 0;
	protobuf_c_message_free_unpacked(&hb->base, NULL);
}

static Mcp__V1__NodeResources *
resources_to_pb(const struct master_resources *r)
{
	Mcp__V1__NodeResources *p = (Mcp__V1__NodeResources *)wire_msg_new(
	    &mcp__v1__node_resources__descriptor);

	p->runtimes = xcalloc(r->nruntimes + 1, sizeof(char *));
	for (size_t i = 0; i < r->nruntimes; i++)
		p->runtimes[p->n_runtimes++] = xstrdup(r->runtimes[i]);
	p->memory_total_mb = (uint64_t)r->memory_total_mb;
	p->memory_free_mb = (uint64_t)r->memory_free_mb;
	p->vcpus_total = (uint32_t)r->vcpus_total;
	p->vcpus_free = (uint32_t)r->vcpus_free;
	p->disk_free_mb = (uint64_t)r->disk_free_mb;
	p->containers = (uint32_t)r->containers;
	p->vms = (uint32_t)r->vms;
	return p;
}

static int
rpc_list_nodes(void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, ProtobufCMessage **resp, struct mcp_err *err)
{
	struct master *m = ctx;
	Mcp__V1__ListNodesResponse *out;
	struct mdb_placement *pl = NULL;
	size_t npl = 0, i, j;

	(void)caller;
	(void)req;
	if (mdb_placement_list(m->db, 0, &pl, &npl, err) == -1)
		return -1;
	out = (Mcp__V1__ListNodesResponse *)wire_msg_new(
	    &mcp__v1__list_nodes_response__descriptor);
	pthread_mutex_lock(&m->mu);
	out->nodes = xcalloc(m->nnodes + 1, sizeof(*out->nodes));
	for (i = 0; i < m->nnodes; i++) {
		const struct master_node *n = &m->nodes[i];
		Mcp__V1__NodeInfo *ni = (Mcp__V1__NodeInfo *)wire_msg_new(
		    &mcp__v1__node_info__descriptor);
		char ip[64];

		ni->name = xstrdup(n->name);
		ni->role = xstrdup(n->role);
		ni->address = xstrdup(n->address);
		ni->health = xstrdup(master_health_name(n->health));
		ni->last_heartbeat = n->last_heartbeat;
		ni->version = xstrdup(n->version);
		master_node_ip(n, ip, sizeof(ip));
		ni->advertise = xstrdup(ip);
		ni->resources = resources_to_pb(&n->res);
		node_vms_to_pb(n, ni);
		ni->services = xcalloc(npl + 1, sizeof(char *));
		for (j = 0; j < npl; j++)
			if (strcmp(pl[j].node, n->name) == 0)
				ni->services[ni->n_services++] = xstrdup(pl[j].service);
		out->nodes[out->n_nodes++] = ni;
	}
	pthread_mutex_unlock(&m->mu);
	mdb_placements_free(pl, npl);
	*resp = &out->base;
	return 0;
}

/* Hand out to the wire layer, or release it when the operation failed. */
static int
rpc_finish(ProtobufCMessage *out, int rc, ProtobufCMessage **resp)
{
	if (rc == -1) {
		protobuf_c_message_free_unpacked(out, NULL);
		return -1;
	}
	*resp = out;
	return 0;
}

static int
rpc_deploy(void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__DeployRequest *r = (const Mcp__V1__DeployRequest *)req;
	Mcp__V1__MasterDeployResponse *out = (Mcp__V1__MasterDeployResponse *)
	    wire_msg_new(&mcp__v1__master_deploy_response__descriptor);

	log_info("Deploy %s from %s", r->source, caller->who);
	return rpc_finish(&out->base, master_deploy(ctx, r->definition,
	    strlen(r->definition), r->source, NULL, out, err), resp);
}

/*
 * Longest wait for the client to take one progress event: deploys send
 * them holding the service's lock, so a stalled client must not hold up
 * other operations on it; past this, the call's further events are
 * dropped and only the result is still sent.
 */
#define DEPLOY_EVENT_SEND_MS 5000

/* DeployStream: every step (the agent's, forwarded, and the master's own)
 * becomes a MasterDeployEvent; the result comes last. */
static void
deploy_event(void *arg, const char *node, const char *component, const char *step,
    const char *detail, int64_t elapsed_ms)
{
	struct wire_stream *st = arg;
	Mcp__V1__MasterDeployEvent mev = MCP__V1__MASTER_DEPLOY_EVENT__INIT;
	Mcp__V1__DeployEvent ev = MCP__V1__DEPLOY_EVENT__INIT;

	if (wire_stream_cancelled(st))
		return;
	ev.component = (char *)component;
	ev.step = (char *)step;
	ev.detail = (char *)detail;
	ev.elapsed_ms = elapsed_ms;
	mev.node = (char *)node;
	mev.event = &ev;
	(void)wire_stream_send_within(st, &mev.base, DEPLOY_EVENT_SEND_MS);
}

#define DEPLOY_WAIT_MAX_S 900

static int
rpc_deploy_stream(void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, struct wire_stream *st, struct mcp_err *err)
{
	const Mcp__V1__DeployRequest *r = (const Mcp__V1__DeployRequest *)req;
	Mcp__V1__MasterDeployResponse *out = (Mcp__V1__MasterDeployResponse *)
	    wire_msg_new(&mcp__v1__master_deploy_response__descriptor);
	Mcp__V1__MasterDeployEvent last = MCP__V1__MASTER_DEPLOY_EVENT__INIT;
	struct master_deploy_watch w = { deploy_event, st, mcp_now_ms(), r->wait_answer_s };
	int rc;

	if (r->wait_answer_s < 0 || r->wait_answer_s > DEPLOY_WAIT_MAX_S) {
		protobuf_c_message_free_unpacked(&out->base, NULL);
		return mcp_err_set(err, MCP_E_INVALID, "deploy: wait_answer_s %d is "
		    "outside 0..%d", r->wait_answer_s, DEPLOY_WAIT_MAX_S);
	}
	log_info("DeployStream %s from %s", r->source, caller->who);
	rc = master_deploy(ctx, r->definition, strlen(r->definition), r->source, &w,
	    out, err);
	if (rc == 0) {
		last.node = out->node;
		last.result = out;
		(void)wire_stream_send(st, &last.base);
	}
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return rc;
}

static int
rpc_undeploy(void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__ServiceRequest *r = (const Mcp__V1__ServiceRequest *)req;
	Mcp__V1__MasterDeployResponse *out = (Mcp__V1__MasterDeployResponse *)
	    wire_msg_new(&mcp__v1__master_deploy_response__descriptor);

	log_info("Undeploy %s from %s", r->service, caller->who);
	return rpc_finish(&out->base, master_undeploy(ctx, r->service, out, err),
	    resp);
}

/* Stop, Start, Restart: the method's last path element names the op. */
static int
rpc_service_op(const char *op, void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__ServiceRequest *r = (const Mcp__V1__ServiceRequest *)req;
	Mcp__V1__MasterOpResponse *out = (Mcp__V1__MasterOpResponse *)
	    wire_msg_new(&mcp__v1__master_op_response__descriptor);

	log_info("%s %s from %s", op, r->service, caller->who);
	return rpc_finish(&out->base, master_service_op(ctx, op, r->service,
	    r->component, out, err), resp);
}

#define SERVICE_OP(fn, op) \
static int \
fn(void *ctx, const struct wire_caller *caller, const ProtobufCMessage *req, \
    ProtobufCMessage **resp, struct mcp_err *err) \
{ \
	return rpc_service_op(op, ctx, caller, req, resp, err); \
}
SERVICE_OP(rpc_stop, "Stop")
SERVICE_OP(rpc_start, "Start")
SERVICE_OP(rpc_restart, "Restart")

static int
rpc_status(void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__MasterStatusRequest *r = (const Mcp__V1__MasterStatusRequest *)req;
	Mcp__V1__MasterStatusResponse *out = (Mcp__V1__MasterStatusResponse *)
	    wire_msg_new(&mcp__v1__master_status_response__descriptor);

	(void)caller;
	return rpc_finish(&out->base, master_status(ctx, r->service, out, err), resp);
}

static int
rpc_create_snapshot(void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__ServiceRequest *r = (const Mcp__V1__ServiceRequest *)req;
	Mcp__V1__SnapshotRecord *out = (Mcp__V1__SnapshotRecord *)wire_msg_new(
	    &mcp__v1__snapshot_record__descriptor);

	log_info("CreateSnapshot %s from %s", r->service, caller->who);
	return rpc_finish(&out->base, master_create_snapshot(ctx, r->service, out,
	    err), resp);
}

static int
rpc_list_snapshots(void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__ListSnapshotsRequest *r =
	    (const Mcp__V1__ListSnapshotsRequest *)req;
	Mcp__V1__ListSnapshotsResponse *out = (Mcp__V1__ListSnapshotsResponse *)
	    wire_msg_new(&mcp__v1__list_snapshots_response__descriptor);

	(void)caller;
	return rpc_finish(&out->base, master_list_snapshots(ctx, r->service, out,
	    err), resp);
}

static int
rpc_migrate(void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__MigrateRequest *r = (const Mcp__V1__MigrateRequest *)req;
	Mcp__V1__MigrateResponse *out = (Mcp__V1__MigrateResponse *)wire_msg_new(
	    &mcp__v1__migrate_response__descriptor);

	if (r->all)
		log_info("Migrate --all %s -> %s%s from %s", r->from, r->to,
		    r->force ? " (force)" : "", caller->who);
	else
		log_info("Migrate %s -> %s%s from %s", r->service, r->to,
		    r->force ? " (force)" : "", caller->who);
	return rpc_finish(&out->base, master_migrate(ctx, r, out, err), resp);
}

static int
rpc_sync(void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__SyncRequest *r = (const Mcp__V1__SyncRequest *)req;
	Mcp__V1__SyncResponse *out = (Mcp__V1__SyncResponse *)wire_msg_new(
	    &mcp__v1__sync_response__descriptor);

	log_info("Sync%s (%zu definitions) from %s", r->dry_run ? " --dry-run" : "",
	    r->n_definitions, caller->who);
	return rpc_finish(&out->base, master_sync(ctx, r, out, err), resp);
}

#define M(name, req, resp, fn, allow) \
	{ "/mcp.v1.Master/" name, &req, &resp, fn, NULL, allow }

static const struct wire_method master_methods[] = {
	M("Deploy", mcp__v1__deploy_request__descriptor,
	    mcp__v1__master_deploy_response__descriptor, rpc_deploy, allow_ops),
	{ "/mcp.v1.Master/DeployStream", &mcp__v1__deploy_request__descriptor,
	    &mcp__v1__master_deploy_event__descriptor, NULL, rpc_deploy_stream,
	    allow_ops },
	M("Undeploy", mcp__v1__service_request__descriptor,
	    mcp__v1__master_deploy_response__descriptor, rpc_undeploy, allow_ops),
	M("Stop", mcp__v1__service_request__descriptor,
	    mcp__v1__master_op_response__descriptor, rpc_stop, allow_ops),
	M("Start", mcp__v1__service_request__descriptor,
	    mcp__v1__master_op_response__descriptor, rpc_start, allow_ops),
	M("Restart", mcp__v1__service_request__descriptor,
	    mcp__v1__master_op_response__descriptor, rpc_restart, allow_ops),
	M("Status", mcp__v1__master_status_request__descriptor,
	    mcp__v1__master_status_response__descriptor, rpc_status, allow_ops),
	M("ListNodes", mcp__v1__list_nodes_request__descriptor,
	    mcp__v1__list_nodes_response__descriptor, rpc_list_nodes, allow_ops),
	M("CreateSnapshot", mcp__v1__service_request__descriptor,
	    mcp__v1__snapshot_record__descriptor, rpc_create_snapshot, allow_ops),
	M("ListSnapshots", mcp__v1__list_snapshots_request__descriptor,
	    mcp__v1__list_snapshots_response__descriptor, rpc_list_snapshots,
	    allow_ops),
	M("Migrate", mcp__v1__migrate_request__descriptor,
	    mcp__v1__migrate_response__descriptor, rpc_migrate, allow_ops),
	M("Sync", mcp__v1__sync_request__descriptor,
	    mcp__v1__sync_response__descriptor, rpc_sync, allow_ops),
	M("Register", mcp__v1__register_request__descriptor,
	    mcp__v1__register_response__descriptor, rpc_register, allow_agents),
	M("Heartbeat", mcp__v1__heartbeat_request__descriptor,
	    mcp__v1__heartbeat_response__descriptor, rpc_heartbeat, allow_agents),
};

int
master_rpc_start(struct master *m, struct mcp_err *err)
{
	struct wire_tls tls = { m->cfg.tls_ca, m->cfg.tls_cert, m->cfg.tls_key };

	m->server = wire_server_new(master_methods,
	    sizeof(master_methods) / sizeof(master_methods[0]), m, err);
	if (m->server == NULL)
		return -1;
	/* authorisation: operators from [auth]; agents by the table above */
	wire_server_set_operators(m->server, (const char *const *)m->cfg.operators);
	if (wire_server_add_tls(m->server, m->cfg.listen, &tls, err) == -1)
		return mcp_err_prefix(err, "TLS listener %s", m->cfg.listen);
	return wire_server_start(m->server, err);
}
