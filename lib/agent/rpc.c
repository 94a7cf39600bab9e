/*
 * agent/rpc.c: the Agent gRPC service (proto/agent.proto) mapped onto the
 * agent's operations.  Handlers convert between protobuf-c messages and
 * the agent's own types and nothing more; the method table also says who
 * may call what (SPEC §6: operators and mcp-master).  Responses are
 * allocated piecewise with malloc so the wire layer can release them with
 * protobuf_c_message_free_unpacked().
 */
#include "agent/agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "agent/data.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/progress.h"
#include "wire/wire.h"

static const char *const allow_ops[] = { "@operator", "mcp-master", NULL };
static const char *const allow_master[] = { "mcp-master", NULL };

/* A malloc'ed copy of an initialised message (freed by the wire layer). */
static void *
pb_dup(const void *init, size_t size)
{
	void *p = malloc(size);

	if (p == NULL)
		abort();
	memcpy(p, init, size);
	return p;
}

#define NEW(T, init) ((T *)pb_dup(&(T)init, sizeof(T)))

static char *
S(const char *s)
{
	return xstrdup(s ? s : "");
}

/* Split "a\nb\n" into a malloc'ed repeated string field. */
static void
actions_to_repeated(const struct buf *b, size_t *n, char ***out)
{
	char *copy, *line, *save = NULL;
	size_t cnt = 0, cap = 8;

	*n = 0;
	*out = NULL;
	if (b->data == NULL || b->len == 0)
		return;
	*out = xcalloc(cap, sizeof(char *));
	copy = xstrdup(b->data);
	for (line = strtok_r(copy, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		if (cnt == cap) {
			cap *= 2;
			*out = realloc(*out, cap * sizeof(char *));
			if (*out == NULL)
				abort();
		}
		(*out)[cnt++] = S(line);
	}
	free(copy);
	*n = cnt;
}

static const char *
image_version(const char *image)
{
	return svc_image_tag(image);
}

/* What the node proxy makes of a route (nothing without a proxy). */
static void
route_proxy_to_pb(struct agent *a, const char *instance,
    const struct reg_component *rc, const struct reg_route *r, int active,
    Mcp__V1__RouteStatus *rs)
{
	struct agent_route_info ri;
	size_t i;

	agent_route_info(a, instance, rc, r, active, &ri);
	rs->n_hostnames = ri.nhostnames;
	rs->hostnames = xcalloc(ri.nhostnames + 1, sizeof(char *));
	for (i = 0; i < ri.nhostnames; i++)
		rs->hostnames[i] = S(ri.hostnames[i]);
	rs->listener = S(ri.listener);
	rs->backend = S(ri.backend);
	rs->health = S(ri.health);
}

/* One route as status and route list report it (registry row + proxy). */
static Mcp__V1__RouteStatus *
route_to_pb(struct agent *a, const char *instance, const struct reg_component *rc,
    const struct reg_route *r, int active)
{
	Mcp__V1__RouteStatus *rs = NEW(Mcp__V1__RouteStatus,
	    MCP__V1__ROUTE_STATUS__INIT);

	rs->name = S(r->name);
	rs->port = (uint32_t)r->port;
	rs->host_port = (uint32_t)r->host_port;
	rs->mode = S(r->mode);
	rs->hostname = S(r->hostname);
	rs->public_ = r->public;
	rs->vm_addr = S(r->vm_addr);
	route_proxy_to_pb(a, instance, rc, r, active, rs);
	return rs;
}

static Mcp__V1__ServiceStatus *
service_to_pb(struct agent *a, const struct agent_view *v, size_t i)
{
	const struct reg_service *s = &v->svcs[i];
	Mcp__V1__ServiceStatus *ss = NEW(Mcp__V1__ServiceStatus,
	    MCP__V1__SERVICE_STATUS__INIT);
	size_t j, k;

	ss->name = S(s->name);
	ss->node = S(a->cfg.node);
	ss->tier = S(s->tier);
	ss->active = s->active;
	ss->deployed_at = s->updated_at;
	ss->n_components = s->ncomponents;
	ss->components = xcalloc(s->ncomponents, sizeof(*ss->components));
	for (j = 0; j < s->ncomponents; j++) {
		const struct agent_comp_view *cv = &v->comps[i][j];
		const struct reg_component *rc = cv->rc;
		Mcp__V1__ComponentStatus *cs = NEW(Mcp__V1__ComponentStatus,
		    MCP__V1__COMPONENT_STATUS__INIT);

		cs->name = S(rc->name);
		cs->instance = S(cv->instance);
		cs->runtime = S(rc->runtime);
		cs->image = S(rc->image);
		cs->version = S(image_version(rc->image));
		cs->desired = S(rc->desired);
		cs->observed = S(cv->observed);
		cs->drift = cv->drift;
		cs->flapping = cv->flapping;
		cs->started_at = strcmp(cv->observed, "running") == 0 ? cv->started_at : 0;
		cs->memory_mb = (uint32_t)rc->memory_mb;
		cs->vcpus = (uint32_t)rc->vcpus;
		cs->image_hash = S(cv->image_hash);
		cs->guest_kernel = S(cv->guest_kernel);
		cs->machine = S(cv->machine);
		cs->image_id = S(cv->image_id);
		cs->vm_ip = S(rc->vm_ip);
		cs->exit_code = cv->exit_code;
		cs->observed_image = S(cv->observed_image);
		cs->observed_version = S(cv->observed_image[0] ?
		    image_version(cv->observed_image) : "");
		cs->drift_reason = S(cv->drift_reason);
		cs->n_routes = rc->nroutes;
		cs->routes = xcalloc(rc->nroutes, sizeof(*cs->routes));
		for (k = 0; k < rc->nroutes; k++) {
			cs->routes[k] = route_to_pb(a, cv->instance, rc, &rc->routes[k],
			    s->active);
		}
		ss->components[j] = cs;
	}
	if (v->nsvcs == 1 && v->nevents) {
		ss->n_events = v->nevents;
		ss->events = xcalloc(v->nevents, sizeof(*ss->events));
		for (k = 0; k < v->nevents; k++) {
			const struct reg_event *e = &v->events[k];
			Mcp__V1__Event *ev = NEW(Mcp__V1__Event, MCP__V1__EVENT__INIT);

			ev->time = e->time;
			ev->component = S(e->component);
			ev->kind = S(e->kind);
			ev->from_state = S(e->from_state);
			ev->to_state = S(e->to_state);
			ev->detail = S(e->detail);
			ss->events[k] = ev;
		}
	}
	return ss;
}

/* What Deploy answers: the actions and the service as deployed. */
static Mcp__V1__DeployResponse *
deploy_response(struct agent *a, const char *name, struct buf *actions)
{
	Mcp__V1__DeployResponse *out;
	struct agent_view v;
	struct mcp_err err = MCP_ERR_INIT;

	out = NEW(Mcp__V1__DeployResponse, MCP__V1__DEPLOY_RESPONSE__INIT);
	actions_to_repeated(actions, &out->n_actions, &out->actions);
	if (agent_view_deployed(a, name, &v, &err) == 0) {
		out->service = service_to_pb(a, &v, 0);
		agent_view_free(&v);
	}
	return out;
}

static int
rpc_deploy(void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__DeployRequest *r = (const Mcp__V1__DeployRequest *)req;
	struct agent *a = ctx;
	struct buf actions = BUF_INIT;
	char name[SVC_NAME_MAX + 1];

	log_info("Deploy by %s (%.*s)", caller->who,
	    (int)SVC_MAX_SOURCE_BYTES, r->source);	/* longer: refused below */
	if (agent_deploy(a, r->definition, strlen(r->definition), r->source,
	    name, sizeof(name), NULL, &actions, err) == -1) {
		buf_free(&actions);
		return -1;
	}
	log_info("deploy %s by %s: done", name, caller->who);
	*resp = &deploy_response(a, name, &actions)->base;
	buf_free(&actions);
	return 0;
}

/*
 * Longest wait for the client to take one progress event: deploys send
 * them holding the service's lock, so a stalled client must not hold up
 * other operations on it; past this, the call's further events are
 * dropped and only the result is still sent.
 */
#define DEPLOY_EVENT_SEND_MS 5000

/* DeployStream: each step of the deploy becomes a DeployEvent. */
static void
deploy_event(void *arg, const char *component, const char *step,
    const char *detail, int64_t elapsed_ms)
{
	struct wire_stream *st = arg;
	Mcp__V1__DeployEvent ev = MCP__V1__DEPLOY_EVENT__INIT;

	/* a client that went away does not stop the deploy, only the reports */
	if (wire_stream_cancelled(st))
		return;
	ev.component = (char *)component;
	ev.step = (char *)step;
	ev.detail = (char *)detail;
	ev.elapsed_ms = elapsed_ms;
	(void)wire_stream_send_within(st, &ev.base, DEPLOY_EVENT_SEND_MS);
}

static int
stream_gone(void *arg)
{
	return wire_stream_cancelled(arg);
}

/* Longest wait for the first answer a DeployStream may ask for. */
#define DEPLOY_WAIT_MAX_S 900

static int
rpc_deploy_stream(void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, struct wire_stream *st, struct mcp_err *err)
{
	const Mcp__V1__DeployRequest *r = (const Mcp__V1__DeployRequest *)req;
	Mcp__V1__DeployEvent last = MCP__V1__DEPLOY_EVENT__INIT;
	struct agent *a = ctx;
	struct buf actions = BUF_INIT;
	struct progress pg;
	char name[SVC_NAME_MAX + 1];

	if (r->wait_answer_s < 0 || r->wait_answer_s > DEPLOY_WAIT_MAX_S)
		return mcp_err_set(err, MCP_E_INVALID, "deploy: wait_answer_s %d is "
		    "outside 0..%d", r->wait_answer_s, DEPLOY_WAIT_MAX_S);
	log_info("DeployStream by %s (%.*s)", caller->who,
	    (int)SVC_MAX_SOURCE_BYTES, r->source);
	progress_init(&pg, deploy_event, st);
	if (agent_deploy(a, r->definition, strlen(r->definition), r->source,
	    name, sizeof(name), &pg, &actions, err) == -1) {
		buf_free(&actions);
		return -1;
	}
	log_info("deploy %s by %s: done", name, caller->who);
	agent_wait_answers(a, name, r->wait_answer_s, &pg, stream_gone, st);
	last.step = "done";
	last.detail = "deployed";
	last.elapsed_ms = (int64_t)(mcp_now_ms() - pg.t0_ms);
	last.result = deploy_response(a, name, &actions);
	buf_free(&actions);
	(void)wire_stream_send(st, &last.base);
	protobuf_c_message_free_unpacked(&last.result->base, NULL);
	return 0;
}

typedef int (*life_fn)(struct agent *, const char *, const char *, struct buf *,
    struct mcp_err *);

/* An OpResponse of the operation's actions (rc 0), or its error; frees actions. */
static int
op_reply(int rc, struct buf *actions, ProtobufCMessage **resp)
{
	Mcp__V1__OpResponse *out;

	if (rc == -1) {
		buf_free(actions);
		return -1;
	}
	out = NEW(Mcp__V1__OpResponse, MCP__V1__OP_RESPONSE__INIT);
	actions_to_repeated(actions, &out->n_actions, &out->actions);
	buf_free(actions);
	*resp = &out->base;
	return 0;
}

static int
rpc_life(void *ctx, const struct wire_caller *caller, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err, const char *what, life_fn fn)
{
	const Mcp__V1__ServiceRequest *r = (const Mcp__V1__ServiceRequest *)req;
	struct buf actions = BUF_INIT;
	int rc;

	log_info("%s %s%s%s by %s", what, r->service, r->component[0] ? "/" : "",
	    r->component, caller->who);
	if (fn)
		rc = fn(ctx, r->service, r->component, &actions, err);
	else
		rc = agent_undeploy(ctx, r->service, &actions, err);
	return op_reply(rc, &actions, resp);
}

static int
rpc_stop(void *ctx, const struct wire_caller *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	return rpc_life(ctx, c, req, resp, err, "Stop", agent_stop);
}

static int
rpc_start(void *ctx, const struct wire_caller *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	return rpc_life(ctx, c, req, resp, err, "Start", agent_start);
}

static int
rpc_restart(void *ctx, const struct wire_caller *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	return rpc_life(ctx, c, req, resp, err, "Restart", agent_restart);
}

static int
rpc_undeploy(void *ctx, const struct wire_caller *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	return rpc_life(ctx, c, req, resp, err, "Undeploy", NULL);
}

static int
rpc_remove_data(void *ctx, const struct wire_caller *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__ServiceRequest *r = (const Mcp__V1__ServiceRequest *)req;
	struct buf actions = BUF_INIT;

	log_info("RemoveServiceData %s by %s", r->service, c->who);
	return op_reply(agent_remove_data(ctx, r->service, &actions, err), &actions,
	    resp);
}

static int
rpc_data_info(void *ctx, const struct wire_caller *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__ServiceRequest *r = (const Mcp__V1__ServiceRequest *)req;
	Mcp__V1__ServiceDataInfoResponse *o;
	char path[1024];
	int exists;
	unsigned entries;
	unsigned long long bytes;

	(void)c;
	if (agent_data_info(ctx, r->service, &exists, &entries, &bytes, path,
	    sizeof(path), err) == -1)
		return -1;
	o = (Mcp__V1__ServiceDataInfoResponse *)wire_msg_new(
	    &mcp__v1__service_data_info_response__descriptor);
	o->exists = exists;
	o->entries = entries;
	o->bytes = bytes;
	o->path = xstrdup(path);
	*resp = &o->base;
	return 0;
}

static int
view_to_services(struct agent *a, const char *service, size_t *n,
    Mcp__V1__ServiceStatus ***out, char **observe_error, struct mcp_err *err)
{
	struct agent_view v;
	size_t i;

	if (agent_view_get(a, service, &v, err) == -1)
		return -1;
	*observe_error = S(v.observe_error);
	*n = v.nsvcs;
	*out = xcalloc(v.nsvcs, sizeof(**out));
	for (i = 0; i < v.nsvcs; i++)
		(*out)[i] = service_to_pb(a, &v, i);
	agent_view_free(&v);
	return 0;
}

static int
rpc_list(void *ctx, const struct wire_caller *caller, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	struct agent *a = ctx;
	Mcp__V1__ListServicesResponse *out;

	(void)caller;
	(void)req;
	out = NEW(Mcp__V1__ListServicesResponse, MCP__V1__LIST_SERVICES_RESPONSE__INIT);
	out->node = S(a->cfg.node);
	if (view_to_services(a, NULL, &out->n_services, &out->services,
	    &out->observe_error, err) == -1) {
		protobuf_c_message_free_unpacked(&out->base, NULL);
		return -1;
	}
	*resp = &out->base;
	return 0;
}

static int
rpc_status(void *ctx, const struct wire_caller *caller, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__StatusRequest *r = (const Mcp__V1__StatusRequest *)req;
	struct agent *a = ctx;
	Mcp__V1__StatusResponse *out;

	(void)caller;
	if (r->service[0] && !svc_name_valid(r->service))
		return mcp_err_set(err, MCP_E_INVALID,
		    "status: \"%s\" is not a valid service name", r->service);
	out = NEW(Mcp__V1__StatusResponse, MCP__V1__STATUS_RESPONSE__INIT);
	out->node = S(a->cfg.node);
	if (view_to_services(a, r->service[0] ? r->service : NULL, &out->n_services,
	    &out->services, &out->observe_error, err) == -1) {
		protobuf_c_message_free_unpacked(&out->base, NULL);
		return -1;
	}
	*resp = &out->base;
	return 0;
}

struct log_send {
	struct wire_stream *st;
};

static int
log_chunk(const char *data, size_t len, void *arg)
{
	struct log_send *ls = arg;
	Mcp__V1__LogChunk chunk = MCP__V1__LOG_CHUNK__INIT;

	if (wire_stream_cancelled(ls->st))
		return 1;
	if (len == 0)
		return 0;
	chunk.data.data = (uint8_t *)data;
	chunk.data.len = len;
	return wire_stream_send(ls->st, &chunk.base) == -1;
}

static int
rpc_logs(void *ctx, const struct wire_caller *caller, const ProtobufCMessage *req,
    struct wire_stream *st, struct mcp_err *err)
{
	const Mcp__V1__LogsRequest *r = (const Mcp__V1__LogsRequest *)req;
	struct log_send ls = { st };

	(void)caller;
	return agent_logs(ctx, r->service, r->component, r->tail, r->follow,
	    log_chunk, &ls, err);
}

static int
rpc_push(void *ctx, const struct wire_caller *caller, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__PushFileRequest *r = (const Mcp__V1__PushFileRequest *)req;
	Mcp__V1__PushFileResponse *out;

	log_info("PushFile %s/%s (%zu bytes) by %s", r->service, r->path,
	    r->content.len, caller->who);
	if (agent_push_file(ctx, r->service, r->path, r->content.data,
	    r->content.len, r->mode, err) == -1)
		return -1;
	out = NEW(Mcp__V1__PushFileResponse, MCP__V1__PUSH_FILE_RESPONSE__INIT);
	out->size = r->content.len;
	*resp = &out->base;
	return 0;
}

static int
rpc_pull(void *ctx, const struct wire_caller *caller, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__PullFileRequest *r = (const Mcp__V1__PullFileRequest *)req;
	Mcp__V1__PullFileResponse *out;
	struct buf data = BUF_INIT;
	unsigned mode = 0;

	(void)caller;
	if (agent_pull_file(ctx, r->service, r->path, &data, &mode, err) == -1) {
		buf_free(&data);
		return -1;
	}
	out = NEW(Mcp__V1__PullFileResponse, MCP__V1__PULL_FILE_RESPONSE__INIT);
	out->content.len = data.len;
	out->content.data = (uint8_t *)buf_steal(&data);
	out->mode = mode;
	*resp = &out->base;
	return 0;
}

static int
rpc_health(void *ctx, const struct wire_caller *caller, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	struct agent *a = ctx;
	Mcp__V1__HealthCheckResponse *out;

	(void)caller;
	(void)req;
	(void)err;
	out = NEW(Mcp__V1__HealthCheckResponse, MCP__V1__HEALTH_CHECK_RESPONSE__INIT);
	out->status = S("ok");
	out->node = S(a->cfg.node);
	out->version = S(MCP_VERSION);
	*resp = &out->base;
	return 0;
}

Mcp__V1__VmAttestation **
agent_vm_attestations(const struct agent_view *v, size_t *n)
{
	Mcp__V1__VmAttestation **out = NULL;
	size_t i, j, cnt = 0;

	for (i = 0; i < v->nsvcs; i++)
		for (j = 0; j < v->svcs[i].ncomponents; j++)
			cnt += strcmp(v->svcs[i].components[j].runtime, "unikernel") == 0 &&
			    v->comps[i][j].image_hash[0];
	*n = 0;
	if (cnt == 0)
		return NULL;
	out = xcalloc(cnt, sizeof(*out));
	for (i = 0; i < v->nsvcs; i++)
		for (j = 0; j < v->svcs[i].ncomponents; j++) {
			const struct reg_component *rc = &v->svcs[i].components[j];
			const struct agent_comp_view *cv = &v->comps[i][j];
			Mcp__V1__VmAttestation *m;

			if (strcmp(rc->runtime, "unikernel") != 0 || !cv->image_hash[0])
				continue;
			m = NEW(Mcp__V1__VmAttestation, MCP__V1__VM_ATTESTATION__INIT);
			m->service = (char *)v->svcs[i].name;
			m->component = (char *)rc->name;
			m->instance = (char *)cv->instance;
			m->image = (char *)rc->image;
			m->image_hash = (char *)cv->image_hash;
			m->image_id = (char *)cv->image_id;
			m->observed = (char *)cv->observed;
			out[(*n)++] = m;
		}
	return out;
}

static int
rpc_node(void *ctx, const struct wire_caller *caller, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	struct agent *a = ctx;
	Mcp__V1__NodeStatusResponse *out;
	struct agent_view v;
	int mem, cpus, used_mem, used_cpus;
	size_t i, j;

	(void)caller;
	(void)req;
	if (agent_view_get(a, NULL, &v, err) == -1)
		return -1;
	agent_capacity(a, &mem, &cpus);
	if (agent_committed(a, NULL, &used_mem, &used_cpus, err) == -1) {
		agent_view_free(&v);
		return -1;
	}
	out = NEW(Mcp__V1__NodeStatusResponse, MCP__V1__NODE_STATUS_RESPONSE__INIT);
	out->node = S(a->cfg.node);
	out->version = S(MCP_VERSION);
	out->uptime_s = (int64_t)time(NULL) - a->started_at;
	out->n_runtimes = a->qemu_can_run ? 2 : 1;
	out->runtimes = xcalloc(2, sizeof(char *));
	out->runtimes[0] = S("container");
	if (a->qemu_can_run)
		out->runtimes[1] = S("unikernel");
	out->services = (uint32_t)v.nsvcs;
	for (i = 0; i < v.nsvcs; i++)
		for (j = 0; j < v.svcs[i].ncomponents; j++)
			if (strcmp(v.comps[i][j].observed, "running") == 0)
				out->components_running++;
	out->observe_error = S(v.observe_error);
	{
		Mcp__V1__VmAttestation **vms = agent_vm_attestations(&v, &out->n_vms);

		/* the response owns its strings: copy them out of the view */
		for (i = 0; i < out->n_vms; i++) {
			vms[i]->service = S(vms[i]->service);
			vms[i]->component = S(vms[i]->component);
			vms[i]->instance = S(vms[i]->instance);
			vms[i]->image = S(vms[i]->image);
			vms[i]->image_hash = S(vms[i]->image_hash);
			vms[i]->image_id = S(vms[i]->image_id);
			vms[i]->observed = S(vms[i]->observed);
		}
		out->vms = vms;
	}
	agent_view_free(&v);
	out->memory_total_mb = (uint64_t)mem;
	out->memory_committed_mb = (uint64_t)used_mem;
	out->vcpus_total = (uint32_t)cpus;
	out->vcpus_committed = (uint32_t)used_cpus;
	out->accel = S(a->accel);
	out->bridge = a->bridge_mode;
	*resp = &out->base;
	return 0;
}

static int
rpc_routes(void *ctx, const struct wire_caller *caller, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	struct agent *a = ctx;
	Mcp__V1__ListRoutesResponse *out;
	struct reg_service *svcs = NULL;
	size_t n = 0, i, j, k, cnt = 0;

	(void)caller;
	(void)req;
	if (reg_service_list(a->reg, &svcs, &n, err) == -1)
		return mcp_err_prefix(err, "list routes");
	out = NEW(Mcp__V1__ListRoutesResponse, MCP__V1__LIST_ROUTES_RESPONSE__INIT);
	out->node = S(a->cfg.node);
	out->proxy = a->proxy_on;
	out->proxy_pid = a->proxy_on ? (int32_t)proxy_driver_pid(&a->proxy) : 0;
	for (i = 0; i < n; i++)
		for (j = 0; j < svcs[i].ncomponents; j++)
			cnt += svcs[i].components[j].nroutes;
	out->routes = xcalloc(cnt + 1, sizeof(*out->routes));
	for (i = 0; i < n; i++)
		for (j = 0; j < svcs[i].ncomponents; j++) {
			const struct reg_component *rc = &svcs[i].components[j];
			char inst[SVC_INSTANCE_MAX];

			svc_instance_name(inst, sizeof(inst), svcs[i].name, rc->name);
			for (k = 0; k < rc->nroutes; k++) {
				Mcp__V1__ProxyRoute *pr = NEW(Mcp__V1__ProxyRoute,
				    MCP__V1__PROXY_ROUTE__INIT);

				pr->service = S(svcs[i].name);
				pr->component = S(rc->name);
				pr->instance = S(inst);
				pr->route = route_to_pb(a, inst, rc, &rc->routes[k],
				    svcs[i].active);
				out->routes[out->n_routes++] = pr;
			}
		}
	reg_services_free(svcs, n);
	*resp = &out->base;
	return 0;
}

static int
rpc_edge_setup(void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__EdgeRouteRequest *r = (const Mcp__V1__EdgeRouteRequest *)req;
	struct buf actions = BUF_INIT;

	log_info("SetupEdgeRoute %s -> %s:%u by %s", r->hostname,
	    r->backend_hostname, r->backend_port, caller->who);
	return op_reply(agent_edge_setup(ctx, r->hostname, r->backend_hostname,
	    (int)r->backend_port, r->backend_tls, &actions, err), &actions, resp);
}

static int
rpc_edge_remove(void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__EdgeRouteRequest *r = (const Mcp__V1__EdgeRouteRequest *)req;
	struct buf actions = BUF_INIT;

	log_info("RemoveEdgeRoute %s by %s", r->hostname, caller->who);
	return op_reply(agent_edge_remove(ctx, r->hostname, &actions, err),
	    &actions, resp);
}

static int
rpc_edge_list(void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, ProtobufCMessage **resp, struct mcp_err *err)
{
	struct agent *a = ctx;
	Mcp__V1__ListEdgeRoutesResponse *out;
	struct reg_edge *edges = NULL;
	size_t n = 0, i;

	(void)caller;
	(void)req;
	if (reg_edge_list(a->reg, &edges, &n, err) == -1)
		return mcp_err_prefix(err, "list edge routes");
	out = NEW(Mcp__V1__ListEdgeRoutesResponse,
	    MCP__V1__LIST_EDGE_ROUTES_RESPONSE__INIT);
	out->node = S(a->cfg.node);
	out->routes = xcalloc(n + 1, sizeof(*out->routes));
	for (i = 0; i < n; i++) {
		Mcp__V1__EdgeRoute *e = NEW(Mcp__V1__EdgeRoute, MCP__V1__EDGE_ROUTE__INIT);
		char serial[160], be[300], health[32];

		e->hostname = S(edges[i].hostname);
		e->backend_hostname = S(edges[i].backend_hostname);
		e->backend_port = (uint32_t)edges[i].backend_port;
		e->created_at = edges[i].created_at;
		agent_edge_cert(a, edges[i].hostname, serial, sizeof(serial),
		    &e->cert_not_after);
		e->cert_serial = S(serial);
		proxy_edge_backend_name(be, sizeof(be), edges[i].hostname);
		agent_proxy_backend_health(a, be, health, sizeof(health));
		e->health = S(health);
		out->routes[out->n_routes++] = e;
	}
	free(edges);
	*resp = &out->base;
	return 0;
}

/* ExportServiceData: each piece the archive writer hands over is a chunk. */
static int
export_chunk(const void *data, size_t len, void *arg, struct mcp_err *err)
{
	Mcp__V1__DataChunk ch = MCP__V1__DATA_CHUNK__INIT;

	ch.data.data = (uint8_t *)data;
	ch.data.len = len;
	if (wire_stream_send(arg, &ch.base) == -1)
		return mcp_err_set(err, MCP_E_CANCELLED, "the receiver went away");
	return 0;
}

static int
rpc_export(void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, struct wire_stream *st, struct mcp_err *err)
{
	const Mcp__V1__ExportRequest *r = (const Mcp__V1__ExportRequest *)req;
	Mcp__V1__DataChunk fin = MCP__V1__DATA_CHUNK__INIT;
	struct data_sum sum;
	char method[300];

	log_info("ExportServiceData %s%s by %s", r->service,
	    r->direct ? " (direct)" : "", caller->who);
	if (agent_data_export(ctx, r->service, r->direct, export_chunk, st, &sum,
	    method, sizeof(method), err) == -1)
		return -1;
	fin.final = 1;
	fin.sha256 = sum.sha256;
	fin.size = sum.size;
	fin.method = method;
	if (wire_stream_send(st, &fin.base) == -1)
		return mcp_err_set(err, MCP_E_CANCELLED, "export %s: the receiver "
		    "went away", r->service);
	log_info("ExportServiceData %s: %s, %u files, %llu bytes, archive %llu "
	    "bytes sha256 %s", r->service, method, sum.files,
	    (unsigned long long)sum.bytes, (unsigned long long)sum.size,
	    sum.sha256);
	return 0;
}

/*
 * ImportServiceData: the first chunk names the service; data until the
 * final chunk (its SHA-256 and size); then the stream must end.  Anything
 * else (no final chunk, a broken stream, a second service name) drops
 * the import with nothing written.
 */
static int
rpc_import_run(void *ctx, const struct wire_caller *caller,
    struct wire_stream *st, struct agent_import **ai, struct data_sum *sum,
    char *service, size_t servicesz, struct mcp_err *err)
{
	ProtobufCMessage *m;
	int rc, final = 0;

	while ((rc = wire_stream_recv(st, &m, err)) == 1) {
		const Mcp__V1__ImportChunk *ch = (const Mcp__V1__ImportChunk *)m;

		if (*ai == NULL) {
			snprintf(service, servicesz, "%s", ch->service);
			log_info("ImportServiceData %s%s by %s", ch->service,
			    ch->force ? " (force)" : "", caller->who);
			if (ch->service[0] == '\0')
				rc = mcp_err_set(err, MCP_E_INVALID, "import: the first "
				    "chunk names no service");
			else if ((*ai = agent_data_import_begin(ctx, ch->service,
			    ch->force, err)) == NULL)
				rc = -1;
		} else if (final) {
			rc = mcp_err_set(err, MCP_E_INVALID, "import %s: data after "
			    "the final chunk", service);
		} else if (ch->service[0] && strcmp(ch->service, service) != 0) {
			rc = mcp_err_set(err, MCP_E_INVALID, "import %s: a later "
			    "chunk names service %s", service, ch->service);
		}
		if (rc != -1 && ch->data.len > 0 &&
		    agent_data_import_feed(*ai, ch->data.data, ch->data.len,
		    err) == -1)
			rc = -1;
		if (rc != -1 && ch->final) {
			final = 1;
			if (agent_data_import_end(*ai, ch->sha256, ch->size, sum,
			    err) == -1)
				rc = -1;
		}
		protobuf_c_message_free_unpacked(m, NULL);
		if (rc == -1)
			return -1;
	}
	if (rc == -1)
		return mcp_err_prefix(err, "import %s", service[0] ? service : "?");
	if (*ai == NULL)
		return mcp_err_set(err, MCP_E_INVALID, "import: empty stream");
	if (!final)
		return mcp_err_set(err, MCP_E_INVALID, "import %s: the stream ended "
		    "without its final chunk; nothing was written", service);
	return 0;
}

static int
rpc_import(void *ctx, const struct wire_caller *caller, struct wire_stream *st,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	Mcp__V1__ImportResponse *out;
	struct agent_import *ai = NULL;
	struct data_sum sum;
	char service[64] = "";
	int rc;

	memset(&sum, 0, sizeof(sum));
	rc = rpc_import_run(ctx, caller, st, &ai, &sum, service, sizeof(service),
	    err);
	agent_data_import_free(ai);
	if (rc == -1) {
		log_warnx("ImportServiceData %s: %s", service, err->msg);
		return -1;
	}
	log_info("ImportServiceData %s: %u files, %llu bytes written", service,
	    sum.files, (unsigned long long)sum.bytes);
	out = NEW(Mcp__V1__ImportResponse, MCP__V1__IMPORT_RESPONSE__INIT);
	out->bytes_written = sum.bytes;
	out->files = sum.files;
	*resp = &out->base;
	return 0;
}

#define M(name, req, resp, fn) { "/mcp.v1.Agent/" name, &req, &resp, fn, NULL, allow_ops }

static const struct wire_method agent_methods[] = {
	M("Deploy", mcp__v1__deploy_request__descriptor,
	    mcp__v1__deploy_response__descriptor, rpc_deploy),
	M("Stop", mcp__v1__service_request__descriptor,
	    mcp__v1__op_response__descriptor, rpc_stop),
	M("Start", mcp__v1__service_request__descriptor,
	    mcp__v1__op_response__descriptor, rpc_start),
	M("Restart", mcp__v1__service_request__descriptor,
	    mcp__v1__op_response__descriptor, rpc_restart),
	M("Undeploy", mcp__v1__service_request__descriptor,
	    mcp__v1__op_response__descriptor, rpc_undeploy),
	M("ListServices", mcp__v1__list_services_request__descriptor,
	    mcp__v1__list_services_response__descriptor, rpc_list),
	M("Status", mcp__v1__status_request__descriptor,
	    mcp__v1__status_response__descriptor, rpc_status),
	{ "/mcp.v1.Agent/DeployStream", &mcp__v1__deploy_request__descriptor,
	    &mcp__v1__deploy_event__descriptor, NULL, rpc_deploy_stream, allow_ops },
	{ "/mcp.v1.Agent/Logs", &mcp__v1__logs_request__descriptor,
	    &mcp__v1__log_chunk__descriptor, NULL, rpc_logs, allow_ops },
	M("PushFile", mcp__v1__push_file_request__descriptor,
	    mcp__v1__push_file_response__descriptor, rpc_push),
	M("PullFile", mcp__v1__pull_file_request__descriptor,
	    mcp__v1__pull_file_response__descriptor, rpc_pull),
	M("HealthCheck", mcp__v1__health_check_request__descriptor,
	    mcp__v1__health_check_response__descriptor, rpc_health),
	M("NodeStatus", mcp__v1__node_status_request__descriptor,
	    mcp__v1__node_status_response__descriptor, rpc_node),
	M("ListRoutes", mcp__v1__list_routes_request__descriptor,
	    mcp__v1__list_routes_response__descriptor, rpc_routes),
	{ "/mcp.v1.Agent/SetupEdgeRoute", &mcp__v1__edge_route_request__descriptor,
	    &mcp__v1__op_response__descriptor, rpc_edge_setup, NULL, allow_master },
	{ "/mcp.v1.Agent/RemoveEdgeRoute", &mcp__v1__edge_route_request__descriptor,
	    &mcp__v1__op_response__descriptor, rpc_edge_remove, NULL, allow_master },
	{ "/mcp.v1.Agent/ListEdgeRoutes", &mcp__v1__list_edge_routes_request__descriptor,
	    &mcp__v1__list_edge_routes_response__descriptor, rpc_edge_list, NULL,
	    allow_master },
	{ "/mcp.v1.Agent/ExportServiceData", &mcp__v1__export_request__descriptor,
	    &mcp__v1__data_chunk__descriptor, NULL, rpc_export, allow_master },
	{ "/mcp.v1.Agent/ImportServiceData", &mcp__v1__import_chunk__descriptor,
	    &mcp__v1__import_response__descriptor, NULL, NULL, allow_master,
	    rpc_import },
	{ "/mcp.v1.Agent/RemoveServiceData", &mcp__v1__service_request__descriptor,
	    &mcp__v1__op_response__descriptor, rpc_remove_data, NULL, allow_master },
	{ "/mcp.v1.Agent/ServiceDataInfo", &mcp__v1__service_request__descriptor,
	    &mcp__v1__service_data_info_response__descriptor, rpc_data_info, NULL,
	    allow_master },
};

int
agent_rpc_start(struct agent *a, struct mcp_err *err)
{
	a->server = wire_server_new(agent_methods,
	    sizeof(agent_methods) / sizeof(agent_methods[0]), a, err);
	if (a->server == NULL)
		return -1;
	wire_server_set_operators(a->server, (const char *const *)a->cfg.operators);
	if (wire_server_set_socket_group(a->server, a->cfg.socket_group, err) == -1)
		return mcp_err_prefix(err, "[agent] socket_group");
	if (wire_server_add_unix(a->server, a->cfg.socket, err) == -1)
		return -1;
	if (a->cfg.listen[0]) {
		struct wire_tls tls = { a->cfg.tls_ca, a->cfg.tls_cert, a->cfg.tls_key };

		if (wire_server_add_tls(a->server, a->cfg.listen, &tls, err) == -1)
			return -1;
	}
	return wire_server_start(a->server, err);
}
