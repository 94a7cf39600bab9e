/*
 * cli/master.c: the CLI commands that go through mcp-master (SPEC §7)
 * when the config has [master] address and --direct was not given:
 * deploy (each step printed; exit 0 only if all succeeded), undeploy,
 * ps and status fleet-wide (stale placements, orphans and unreachable
 * nodes shown), node list, edge list, stop/start/restart (the master
 * forwards them to the placed node's agent); logs/push/pull only find the
 * placed node here and then talk to its agent directly (a log stream or an
 * image is not relayed through the master).
 */
#include "cli/cli_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "master.pb-c.h"
#include "util/buf.h"

#define T_MASTER_SHORT 30000
#define T_MASTER_LONG 900000

static int master_edges_cmd(struct cli *c);

static void
master_node(const struct cli *c, struct cli_node *m)
{
	memset(m, 0, sizeof(*m));
	mcp_strlcpy(m->name, "master", sizeof(m->name));
	mcp_strlcpy(m->address, c->cfg.master, sizeof(m->address));
}

int
cli_master_call(struct cli *c, const char *method, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp,
    int timeout_ms, struct mcp_err *err)
{
	struct cli_node m;

	master_node(c, &m);
	return cli_node_call(c, &m, method, req, desc, resp, timeout_ms, err);
}

json_t *
cli_steps_json(const Mcp__V1__MasterDeployResponse *r)
{
	json_t *j = json_object(), *steps = json_array();

	json_object_set_new(j, "service", cli_json_str(r->service));
	json_object_set_new(j, "node", cli_json_str(r->node));
	json_object_set_new(j, "success", json_boolean(r->success));
	for (size_t i = 0; i < r->n_steps; i++) {
		const Mcp__V1__StepResult *s = r->steps[i];
		json_t *js = json_object(), *acts = json_array();

		json_object_set_new(js, "step", cli_json_str(s->step));
		json_object_set_new(js, "ok", json_boolean(s->ok));
		json_object_set_new(js, "error", cli_json_str(s->error));
		for (size_t k = 0; k < s->n_actions; k++)
			json_array_append_new(acts, cli_json_str(s->actions[k]));
		json_object_set_new(js, "actions", acts);
		json_array_append_new(steps, js);
	}
	json_object_set_new(j, "steps", steps);
	if (r->status)
		json_object_set_new(j, "status", cli_service_json(r->status));
	return j;
}

/* Print the steps; 0 if every one succeeded, else 1. */
int
cli_steps_report(struct cli *c, const char *verb, Mcp__V1__MasterDeployResponse *r)
{
	if (c->json)
		cli_json_print(cli_steps_json(r));
	else {
		for (size_t i = 0; i < r->n_steps; i++) {
			const Mcp__V1__StepResult *s = r->steps[i];

			for (size_t k = 0; k < s->n_actions; k++)
				cli_printf(stdout, "  %s: %s\n", s->step, s->actions[k]);
			cli_printf(stdout, "%-8s %s%s%s\n", s->step, s->ok ? "ok" : "FAILED",
			    s->error[0] ? ": " : "", s->error);
		}
		cli_printf(stdout, "%s %s on %s: %s\n", verb, r->service, r->node,
		    r->success ? "done" : "incomplete");
	}
	if (!r->success) {
		for (size_t i = 0; i < r->n_steps; i++)
			if (!r->steps[i]->ok)
				cli_printf(stderr, "mcp %s: %s %s: %s step failed: %s\n", verb,
				    verb, r->service, r->steps[i]->step, r->steps[i]->error);
		return 1;
	}
	return 0;
}

/* Deploy or Undeploy through the master; the steps printed. */
static int
master_steps_call(struct cli *c, const char *method, const char *verb,
    const ProtobufCMessage *req)
{
	Mcp__V1__MasterDeployResponse *resp = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	int rc;

	if (cli_master_call(c, method, req, &mcp__v1__master_deploy_response__descriptor,
	    (ProtobufCMessage **)&resp, T_MASTER_LONG, &err) == -1)
		return cli_fail(c, &err);
	rc = cli_steps_report(c, verb, resp);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return rc;
}

struct master_watch {
	Mcp__V1__MasterDeployResponse *result;	/* a copy of the last message's */
};

/* A step of DeployStream through the master: "node: instance: what". */
static int
master_event_cb(const ProtobufCMessage *msg, void *arg)
{
	const Mcp__V1__MasterDeployEvent *ev = (const Mcp__V1__MasterDeployEvent *)msg;
	struct master_watch *w = arg;
	uint8_t *packed;
	size_t len;

	if (ev->result == NULL) {
		char who[200];

		if (ev->event == NULL)
			return 0;
		snprintf(who, sizeof(who), "%s%s%s", ev->node,
		    ev->node[0] && ev->event->component[0] ? "/" : "",
		    ev->event->component);
		cli_progress_line(ev->event->elapsed_ms, who, ev->event->detail);
		return 0;
	}
	len = protobuf_c_message_get_packed_size(&ev->result->base);
	if ((packed = malloc(len ? len : 1)) == NULL)
		return 1;
	protobuf_c_message_pack(&ev->result->base, packed);
	if (w->result)
		protobuf_c_message_free_unpacked(&w->result->base, NULL);
	w->result = mcp__v1__master_deploy_response__unpack(NULL, len, packed);
	free(packed);
	return 0;
}

int
cli_master_deploy(struct cli *c, const char *text, const char *path)
{
	Mcp__V1__DeployRequest req = MCP__V1__DEPLOY_REQUEST__INIT;
	struct master_watch w = { NULL };
	struct mcp_err err = MCP_ERR_INIT;
	struct cli_node m;
	int rc;

	req.definition = (char *)text;
	req.source = (char *)path;
	if (c->progress) {
		/* on a terminal: each step as the master and the agent report it */
		master_node(c, &m);
		req.wait_answer_s = CLI_DEPLOY_WAIT_ANSWER_S;
		if (cli_node_stream(c, &m, "/mcp.v1.Master/DeployStream", &req.base,
		    &mcp__v1__master_deploy_event__descriptor, master_event_cb, &w,
		    T_MASTER_LONG, &err) == 0 && w.result) {
			rc = cli_steps_report(c, "deploy", w.result);
			protobuf_c_message_free_unpacked(&w.result->base, NULL);
			return rc;
		}
		if (w.result)
			protobuf_c_message_free_unpacked(&w.result->base, NULL);
		if (err.code != MCP_E_UNIMPLEMENTED) {
			if (err.msg[0] == '\0')
				mcp_err_set(&err, MCP_E_UNAVAILABLE, "master %s: DeployStream "
				    "ended without a result", c->cfg.master);
			return cli_fail(c, &err);
		}
		req.wait_answer_s = 0;	/* a master without DeployStream */
	}
	return master_steps_call(c, "/mcp.v1.Master/Deploy", "deploy", &req.base);
}

int
cli_master_undeploy(struct cli *c, const char *service)
{
	Mcp__V1__ServiceRequest req = MCP__V1__SERVICE_REQUEST__INIT;

	req.service = (char *)service;
	req.component = "";
	return master_steps_call(c, "/mcp.v1.Master/Undeploy", "undeploy", &req.base);
}

/* Stop, Start or Restart (method: the Master's) through the master. */
int
cli_master_op(struct cli *c, const char *method,
    const Mcp__V1__ServiceRequest *req, Mcp__V1__MasterOpResponse **resp,
    struct mcp_err *err)
{
	return cli_master_call(c, method, &req->base,
	    &mcp__v1__master_op_response__descriptor, (ProtobufCMessage **)resp,
	    T_MASTER_LONG, err);
}

static json_t *
edge_json(const Mcp__V1__EdgeRouteRecord *e)
{
	json_t *j = json_object();

	json_object_set_new(j, "hostname", cli_json_str(e->hostname));
	json_object_set_new(j, "service", cli_json_str(e->service));
	json_object_set_new(j, "component", cli_json_str(e->component));
	json_object_set_new(j, "edge_node", cli_json_str(e->edge_node));
	json_object_set_new(j, "backend", cli_json_str(e->backend_hostname));
	json_object_set_new(j, "port", json_integer(e->backend_port));
	return j;
}

static json_t *
fleet_json(const Mcp__V1__FleetService *f)
{
	json_t *j = f->status ? cli_service_json(f->status) : json_object(), *edges;

	json_object_set_new(j, "service", cli_json_str(f->name));
	json_object_set_new(j, "node", cli_json_str(f->node));
	json_object_set_new(j, "state", cli_json_str(f->state));
	json_object_set_new(j, "error", cli_json_str(f->error));
	edges = json_array();
	for (size_t i = 0; i < f->n_edge_routes; i++)
		json_array_append_new(edges, edge_json(f->edge_routes[i]));
	json_object_set_new(j, "edge_routes", edges);
	json_object_set_new(j, "last_snapshot", json_integer(f->last_snapshot));
	json_object_set_new(j, "snapshot_warning", cli_json_str(f->snapshot_warning));
	edges = json_array();
	for (size_t i = 0; i < f->n_attestation_mismatch; i++)
		json_array_append_new(edges, cli_json_str(f->attestation_mismatch[i]));
	json_object_set_new(j, "attestation_mismatch", edges);
	return j;
}

/* ps (service NULL, one row per component) or status [SERVICE]. */
static int
master_status_cmd(struct cli *c, const char *service, int per_component)
{
	Mcp__V1__MasterStatusRequest req = MCP__V1__MASTER_STATUS_REQUEST__INIT;
	Mcp__V1__MasterStatusResponse *resp = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	json_t *arr;
	size_t i, k;
	int rc = 0;

	req.service = (char *)(service ? service : "");
	if (cli_master_call(c, "/mcp.v1.Master/Status", &req.base,
	    &mcp__v1__master_status_response__descriptor, (ProtobufCMessage **)&resp,
	    T_MASTER_SHORT, &err) == -1)
		return cli_fail(c, &err);
	static const char *const head[] = { "SERVICE", "COMPONENT", "NODE",
		"PLACEMENT", "RUNTIME", "STATE", "VERSION" };
	static const size_t minw[] = { 6, 6, 4, 11, 9, 8, 4 };
	struct cli_table *tab;
	struct buf edges = BUF_INIT;	/* lines printed after the table */

	arr = json_array();
	tab = cli_table_new(7, head, minw);
	for (i = 0; i < resp->n_services; i++) {
		const Mcp__V1__FleetService *f = resp->services[i];
		const Mcp__V1__ServiceStatus *s = f->status;

		if (strcmp(f->state, "ok") != 0 && strcmp(f->state, "orphan") != 0)
			rc = 1;
		if (c->json) {
			if (per_component && s)
				for (k = 0; k < s->n_components; k++) {
					json_t *jc = cli_component_json(s, s->components[k]);

					json_object_set_new(jc, "placement", cli_json_str(f->state));
					json_array_append_new(arr, jc);
				}
			else
				json_array_append_new(arr, fleet_json(f));
			continue;
		}
		if (s == NULL || s->n_components == 0) {
			const char *row[] = { f->name, "-", f->node, f->state, "-", "-",
				f->error };

			cli_table_add(tab, row);
			if (!per_component && f->snapshot_warning[0])
				buf_printf(&edges, "%s: snapshot OVERDUE: %s\n", f->name,
				    f->snapshot_warning);
			continue;
		}
		for (k = 0; k < s->n_components; k++) {
			const Mcp__V1__ComponentStatus *cs = s->components[k];
			char state[48];

			snprintf(state, sizeof(state), "%s%s", cs->observed,
			    cs->drift ? "!" : "");
			{
				const char *row[] = { f->name, cs->name, f->node, f->state,
					cs->runtime, state, cs->version };

				cli_table_add(tab, row);
			}
			if (!per_component && cs->image_hash[0])
				buf_printf(&edges, "%s: %s attested %s%s%s\n", f->name,
				    cs->name, cs->image_hash, cs->image_id[0] ? ", image " : "",
				    cs->image_id);
		}
		for (k = 0; k < f->n_attestation_mismatch; k++)
			buf_printf(&edges, "%s: ! attestation differs across nodes: %s\n",
			    f->name, f->attestation_mismatch[k]);
		for (k = 0; !per_component && k < f->n_edge_routes; k++)
			buf_printf(&edges, "%s: public %s on edge %s -> %s:%u\n", f->name,
			    f->edge_routes[k]->hostname, f->edge_routes[k]->edge_node,
			    f->edge_routes[k]->backend_hostname,
			    f->edge_routes[k]->backend_port);
		if (!per_component && f->snapshot_warning[0])
			buf_printf(&edges, "%s: snapshot OVERDUE: %s\n", f->name,
			    f->snapshot_warning);
		/* an orphan: why (a migrate that left it behind names itself) */
		if (!per_component && strcmp(f->state, "orphan") == 0 && f->error[0])
			buf_printf(&edges, "%s on %s: %s\n", f->name, f->node, f->error);
	}
	for (i = 0; i < resp->n_nodes; i++)
		if (!resp->nodes[i]->reachable && !c->json)
			cli_printf(stderr, "mcp %s: node %s unreachable: %s\n", c->cmd,
			    resp->nodes[i]->node, resp->nodes[i]->error);
	if (c->json)
		cli_json_print(arr);
	else {
		json_decref(arr);
		cli_table_print(tab, stdout, (size_t)c->width, c->wide);
		for (char *l = edges.data, *nl; l && *l; l = nl + 1) {
			nl = strchr(l, '\n');
			*nl = '\0';
			cli_line(c, "%s", l);
		}
	}
	cli_table_free(tab);
	buf_free(&edges);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	/* stale or unreachable placements make status fail; ps lists them */
	return per_component ? 0 : rc;
}

static int
master_nodes_cmd(struct cli *c)
{
	Mcp__V1__ListNodesRequest req = MCP__V1__LIST_NODES_REQUEST__INIT;
	Mcp__V1__ListNodesResponse *resp = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	json_t *arr = json_array();
	size_t i, k;

	if (cli_master_call(c, "/mcp.v1.Master/ListNodes", &req.base,
	    &mcp__v1__list_nodes_response__descriptor, (ProtobufCMessage **)&resp,
	    T_MASTER_SHORT, &err) == -1) {
		json_decref(arr);
		return cli_fail(c, &err);
	}
	if (!c->json)
		printf("%-12s %-7s %-22s %-10s %-9s %-8s %-20s %s\n", "NODE", "ROLE",
		    "ADDRESS", "HEALTH", "HEARTBEAT", "SERVICES", "RUNTIMES", "VM FREE");
	for (i = 0; i < resp->n_nodes; i++) {
		const Mcp__V1__NodeInfo *n = resp->nodes[i];
		const Mcp__V1__NodeResources *r = n->resources;
		json_t *j = json_object(), *svcs = json_array(), *rts = json_array();
		char rt[64] = "", hb[32] = "-";

		for (k = 0; r && k < r->n_runtimes; k++) {
			snprintf(rt + strlen(rt), sizeof(rt) - strlen(rt), "%s%s",
			    k ? "," : "", r->runtimes[k]);
			json_array_append_new(rts, cli_json_str(r->runtimes[k]));
		}
		for (k = 0; k < n->n_services; k++)
			json_array_append_new(svcs, cli_json_str(n->services[k]));
		if (n->last_heartbeat > 0)
			snprintf(hb, sizeof(hb), "%llds ago",
			    (long long)(time(NULL) - n->last_heartbeat));
		json_object_set_new(j, "node", cli_json_str(n->name));
		json_object_set_new(j, "role", cli_json_str(n->role));
		json_object_set_new(j, "address", cli_json_str(n->address));
		json_object_set_new(j, "advertise", cli_json_str(n->advertise));
		json_object_set_new(j, "health", cli_json_str(n->health));
		json_object_set_new(j, "last_heartbeat", json_integer(n->last_heartbeat));
		json_object_set_new(j, "services", svcs);
		json_object_set_new(j, "runtimes", rts);
		json_object_set_new(j, "version", cli_json_str(n->version));
		json_object_set_new(j, "vm_attestations", cli_vms_json(n->vms, n->n_vms));
		if (r) {
			json_object_set_new(j, "memory_total_mb", json_integer((json_int_t)r->memory_total_mb));
			json_object_set_new(j, "memory_free_mb", json_integer((json_int_t)r->memory_free_mb));
			json_object_set_new(j, "vcpus_total", json_integer(r->vcpus_total));
			json_object_set_new(j, "vcpus_free", json_integer(r->vcpus_free));
			json_object_set_new(j, "disk_free_mb", json_integer((json_int_t)r->disk_free_mb));
			json_object_set_new(j, "containers", json_integer(r->containers));
			json_object_set_new(j, "vms", json_integer(r->vms));
		}
		if (!c->json)
			cli_printf(stdout, "%-12s %-7s %-22s %-10s %-9s %-8zu %-20s %llu MB/%u vCPU\n",
			    n->name, n->role, n->address, n->health, hb, n->n_services,
			    rt[0] ? rt : "-", r ? (unsigned long long)r->memory_free_mb : 0,
			    r ? r->vcpus_free : 0);
		json_array_append_new(arr, j);
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	cli_json_done(c, arr);
	return 0;
}

int
cli_master_cmd(struct cli *c, int argc, char **argv)
{
	if (strcmp(argv[0], "ps") == 0 && argc == 1)
		return master_status_cmd(c, NULL, 1);
	if (strcmp(argv[0], "status") == 0 && argc <= 2)
		return master_status_cmd(c, argc == 2 ? argv[1] : NULL, 0);
	if (strcmp(argv[0], "node") == 0 && argc == 2 && strcmp(argv[1], "list") == 0)
		return master_nodes_cmd(c);
	if (strcmp(argv[0], "edge") == 0 && argc == 2 && strcmp(argv[1], "list") == 0)
		return master_edges_cmd(c);
	return -1;
}

/* `edge list` reached without the master (none configured, or --direct). */
int
cli_cmd_edge(struct cli *c, int argc, char **argv)
{
	struct mcp_err err = MCP_ERR_INIT;

	if (argc != 2 || strcmp(argv[1], "list") != 0) {
		fprintf(stderr, "usage: mcp edge list\n");
		return 2;
	}
	mcp_err_set(&err, MCP_E_PRECONDITION, "edge routes are kept by mcp-master: "
	    "set [master] address in %s (and drop --direct)",
	    c->cfg.path[0] ? c->cfg.path : "the CLI config");
	return cli_fail(c, &err);
}

const struct cli_node *
cli_master_service_node(struct cli *c, const char *service, struct mcp_err *err)
{
	Mcp__V1__MasterStatusRequest sreq = MCP__V1__MASTER_STATUS_REQUEST__INIT;
	Mcp__V1__ListNodesRequest nreq = MCP__V1__LIST_NODES_REQUEST__INIT;
	Mcp__V1__MasterStatusResponse *st = NULL;
	Mcp__V1__ListNodesResponse *nodes = NULL;
	const char *node = NULL;
	size_t i;

	sreq.service = (char *)service;
	if (cli_master_call(c, "/mcp.v1.Master/Status", &sreq.base,
	    &mcp__v1__master_status_response__descriptor, (ProtobufCMessage **)&st,
	    T_MASTER_SHORT, err) == -1)
		return NULL;
	/* the placement if there is one, else where an agent runs it */
	for (i = 0; i < st->n_services; i++)
		if (node == NULL || strcmp(st->services[i]->state, "orphan") != 0)
			node = st->services[i]->node;
	memset(&c->placed, 0, sizeof(c->placed));
	if (node)
		mcp_strlcpy(c->placed.name, node, sizeof(c->placed.name));
	protobuf_c_message_free_unpacked(&st->base, NULL);
	if (c->placed.name[0] == '\0') {
		mcp_err_set(err, MCP_E_NOTFOUND, "service %s is not deployed", service);
		return NULL;
	}
	if (cli_master_call(c, "/mcp.v1.Master/ListNodes", &nreq.base,
	    &mcp__v1__list_nodes_response__descriptor, (ProtobufCMessage **)&nodes,
	    T_MASTER_SHORT, err) == -1)
		return NULL;
	for (i = 0; i < nodes->n_nodes; i++)
		if (strcmp(nodes->nodes[i]->name, c->placed.name) == 0)
			mcp_strlcpy(c->placed.address, nodes->nodes[i]->address,
			    sizeof(c->placed.address));
	protobuf_c_message_free_unpacked(&nodes->base, NULL);
	if (c->placed.address[0] == '\0') {
		mcp_err_set(err, MCP_E_UNAVAILABLE, "service %s: node %s has no known "
		    "address", service, c->placed.name);
		return NULL;
	}
	return &c->placed;
}

/* edge list: every edge route the master recorded. */
static int
master_edges_cmd(struct cli *c)
{
	Mcp__V1__MasterStatusRequest req = MCP__V1__MASTER_STATUS_REQUEST__INIT;
	Mcp__V1__MasterStatusResponse *resp = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	json_t *arr = json_array();

	req.service = "";
	if (cli_master_call(c, "/mcp.v1.Master/Status", &req.base,
	    &mcp__v1__master_status_response__descriptor, (ProtobufCMessage **)&resp,
	    T_MASTER_SHORT, &err) == -1) {
		json_decref(arr);
		return cli_fail(c, &err);
	}
	if (!c->json)
		printf("%-32s %-20s %-10s %s\n", "HOSTNAME", "SERVICE", "EDGE", "BACKEND");
	for (size_t i = 0; i < resp->n_services; i++)
		for (size_t k = 0; k < resp->services[i]->n_edge_routes; k++) {
			const Mcp__V1__EdgeRouteRecord *e = resp->services[i]->edge_routes[k];

			json_array_append_new(arr, edge_json(e));
			if (!c->json)
				cli_printf(stdout, "%-32s %-20s %-10s %s:%u\n", e->hostname, e->service,
				    e->edge_node, e->backend_hostname, e->backend_port);
		}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	cli_json_done(c, arr);
	return 0;
}
