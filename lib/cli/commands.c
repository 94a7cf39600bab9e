/*
 * cli/commands.c: the CLI commands.  Each resolves which node(s) to talk
 * to, makes the RPC(s) through lib/wire, and prints a table or JSON.
 */
#include "cli/cli_int.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "pki/pki.h"
#include "service/service.h"
#include "util/buf.h"
#include "util/file.h"
#include "wire/wire.h"

#define T_SHORT 30000
#define T_LONG 900000
/*
 * ListServices, Status, NodeStatus: the agent answers them from its live
 * view and bounds any podman call behind them by [podman] list_timeout
 * (default 5 s, at most 20: agent/config.c), answering "unknown" with the
 * reason when podman is slower; so a node that does not answer in 30 s is
 * really not answering.  Operations (deploy, stop, ...) keep T_LONG.
 */
#define T_LIST 30000

int
cli_fail(const struct cli *c, const struct mcp_err *err)
{
	const char *msg = err->msg[0] ? err->msg : "failed";
	size_t n = c->cmd ? strlen(c->cmd) : 0;

	if (n == 0 || (strncmp(msg, c->cmd, n) == 0 &&
	    (msg[n] == ' ' || msg[n] == ':')))
		cli_printf(stderr, "mcp%s%s\n", n ? " " : ": ", msg);
	else
		cli_printf(stderr, "mcp %s: %s\n", c->cmd, msg);
	return 1;
}

static int
usage_fail(const char *usage)
{
	fprintf(stderr, "usage: mcp %s\n", usage);
	return 2;
}

static struct wire_client *
node_client(struct cli *c, const struct cli_node *n, struct mcp_err *err)
{
	struct wire_tls tls = { c->cfg.tls_ca, c->cfg.tls_cert, c->cfg.tls_key };

	if (strncmp(n->address, "unix:", 5) != 0 &&
	    (!tls.ca[0] || !tls.cert[0] || !tls.key[0])) {
		mcp_err_set(err, MCP_E_INVALID,
		    "a TCP address needs [tls] ca, cert and key in the CLI config%s%s",
		    c->cfg.path[0] ? " " : "", c->cfg.path);
		return NULL;
	}
	return wire_client_new(n->address,
	    strncmp(n->address, "unix:", 5) ? &tls : NULL, err);
}

static const struct cli_node *
find_node(struct cli *c, const char *name, struct mcp_err *err)
{
	size_t i;

	for (i = 0; i < c->cfg.nnodes; i++)
		if (strcmp(c->cfg.nodes[i].name, name) == 0)
			return &c->cfg.nodes[i];
	mcp_err_set(err, MCP_E_NOTFOUND, "node %s is not in the CLI config%s%s",
	    name, c->cfg.path[0] ? " " : "", c->cfg.path);
	return NULL;
}

/*
 * Every RPC the CLI makes goes through here, so that every failure names
 * the node, its address and the operation: "node local
 * (unix:/var/lib/mcp/agent.sock): ListServices: not reachable ...".
 * Unary when on_msg is NULL (*resp gets the answer), else a server stream.
 */
static int
node_rpc(struct cli *c, const struct cli_node *n, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
    ProtobufCMessage **resp, int (*on_msg)(const ProtobufCMessage *, void *),
    void *arg, int timeout_ms, struct mcp_err *err)
{
	const char *op = strrchr(method, '/') ? strrchr(method, '/') + 1 : method;
	struct wire_client *wc = node_client(c, n, err);
	int rc = -1;

	if (wc != NULL) {
		if (on_msg)
			rc = wire_call_stream(wc, method, req, desc, on_msg, arg,
			    timeout_ms, err);
		else
			rc = wire_call(wc, method, req, desc, resp, timeout_ms, err);
		wire_client_free(wc);
	}
	if (rc == 0)
		return 0;
	if (err->code == MCP_E_UNAVAILABLE) {
		char hint[768];
		size_t len = strlen(err->msg);

		if (cli_unreachable_hint(n->address, hint, sizeof(hint)) && len < sizeof(err->msg))
			snprintf(err->msg + len, sizeof(err->msg) - len, "; %s", hint);
	}
	return mcp_err_prefix(err, "node %s (%s): %s", n->name, n->address, op);
}

static int
node_call(struct cli *c, const struct cli_node *n, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
    ProtobufCMessage **resp, int timeout_ms, struct mcp_err *err)
{
	return node_rpc(c, n, method, req, desc, resp, NULL, NULL, timeout_ms, err);
}

/* Find the node a service is deployed on (asks each node). */
static const struct cli_node *
service_node(struct cli *c, const char *service, struct mcp_err *err)
{
	Mcp__V1__StatusRequest req = MCP__V1__STATUS_REQUEST__INIT;
	size_t i;
	char unreachable[512] = "";

	if (c->cfg.master[0] && !c->direct)
		return cli_master_service_node(c, service, err);
	req.service = (char *)service;
	for (i = 0; i < c->cfg.nnodes; i++) {
		ProtobufCMessage *resp = NULL;
		struct mcp_err e = MCP_ERR_INIT;

		if (node_call(c, &c->cfg.nodes[i], "/mcp.v1.Agent/Status", &req.base,
		    &mcp__v1__status_response__descriptor, &resp, T_LIST, &e) == 0) {
			protobuf_c_message_free_unpacked(resp, NULL);
			return &c->cfg.nodes[i];
		}
		if (e.code != MCP_E_NOTFOUND) {
			if (c->cfg.nnodes == 1) {
				*err = e;
				mcp_err_prefix(err, "find service %s", service);
				return NULL;
			}
			snprintf(unreachable + strlen(unreachable),
			    sizeof(unreachable) - strlen(unreachable), "; %s", e.msg);
		}
	}
	mcp_err_set(err, MCP_E_NOTFOUND, "service %s is not deployed on any node%s",
	    service, unreachable);
	return NULL;
}

static json_t *service_json(const Mcp__V1__ServiceStatus *s);
static void json_print(json_t *j);

/* The lines an operation reports, as a JSON array. */
static json_t *
actions_json(size_t n, char **actions)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(arr, cli_json_str(actions[i]));
	return arr;
}

/* ---- deploy ---- */

/* Print one step the agent reported: elapsed time, instance, what. */
void
cli_progress_line(int64_t elapsed_ms, const char *component, const char *detail)
{
	cli_printf(stdout, "%6.1fs  %s%s%s\n", (double)elapsed_ms / 1000.0, component,
	    component[0] ? ": " : "", detail);
	fflush(stdout);
}

struct deploy_watch {
	Mcp__V1__DeployResponse *result;	/* a copy of the last message's */
};

static int
deploy_event_cb(const ProtobufCMessage *msg, void *arg)
{
	const Mcp__V1__DeployEvent *ev = (const Mcp__V1__DeployEvent *)msg;
	struct deploy_watch *w = arg;
	uint8_t *packed;
	size_t len;

	if (ev->result == NULL) {
		cli_progress_line(ev->elapsed_ms, ev->component, ev->detail);
		return 0;
	}
	/* msg lives only during this call: keep the result by value */
	len = protobuf_c_message_get_packed_size(&ev->result->base);
	packed = malloc(len ? len : 1);
	if (packed == NULL)
		return 1;
	protobuf_c_message_pack(&ev->result->base, packed);
	if (w->result)
		protobuf_c_message_free_unpacked(&w->result->base, NULL);
	w->result = mcp__v1__deploy_response__unpack(NULL, len, packed);
	free(packed);
	return 0;
}

/*
 * Deploy on node, with the steps shown when c->progress (DeployStream; an
 * agent without it gets the plain Deploy).  *resp: the answer.
 */
static int
deploy_call(struct cli *c, const struct cli_node *node, Mcp__V1__DeployRequest *req,
    Mcp__V1__DeployResponse **resp, struct mcp_err *err)
{
	struct deploy_watch w = { NULL };

	if (c->progress) {
		req->wait_answer_s = CLI_DEPLOY_WAIT_ANSWER_S;
		if (node_rpc(c, node, "/mcp.v1.Agent/DeployStream", &req->base,
		    &mcp__v1__deploy_event__descriptor, NULL, deploy_event_cb, &w,
		    T_LONG, err) == 0) {
			if (w.result == NULL)
				return mcp_err_set(err, MCP_E_UNAVAILABLE, "node %s (%s): "
				    "DeployStream: the stream ended without a result",
				    node->name, node->address);
			*resp = w.result;
			return 0;
		}
		if (w.result)
			protobuf_c_message_free_unpacked(&w.result->base, NULL);
		if (err->code != MCP_E_UNIMPLEMENTED)
			return -1;
		mcp_err_clear(err);	/* an agent without DeployStream */
		req->wait_answer_s = 0;
	}
	return node_call(c, node, "/mcp.v1.Agent/Deploy", &req->base,
	    &mcp__v1__deploy_response__descriptor, (ProtobufCMessage **)resp,
	    T_LONG, err);
}

int
cli_cmd_deploy(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "direct", no_argument, NULL, 'd' },
		{ "node", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	Mcp__V1__DeployRequest req = MCP__V1__DEPLOY_REQUEST__INIT;
	Mcp__V1__DeployResponse *resp = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	const struct cli_node *node = NULL;
	const char *node_name = NULL;
	struct svc_def *def = NULL;
	struct buf text = BUF_INIT;
	char path[1024];
	struct stat st;
	size_t i;
	int ch, rc = 1;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "dn:", opts, NULL)) != -1) {
		if (ch == 'n')
			node_name = optarg;
		else if (ch != 'd')
			return usage_fail("deploy SERVICE|FILE [--direct] [-n NODE]");
	}
	if (optind != argc - 1)
		return usage_fail("deploy SERVICE|FILE [--direct] [-n NODE]");
	if (strchr(argv[optind], '/') || stat(argv[optind], &st) == 0 ||
	    strstr(argv[optind], ".toml"))
		mcp_strlcpy(path, argv[optind], sizeof(path));
	else if (svc_name_valid(argv[optind]))
		snprintf(path, sizeof(path), "%s/%s.toml", c->cfg.services_dir,
		    argv[optind]);
	else {
		mcp_err_set(&err, MCP_E_INVALID,
		    "deploy: \"%s\" is neither a file nor a service name", argv[optind]);
		return cli_fail(c, &err);
	}
	if (file_read(path, &text, SVC_MAX_DEFINITION_BYTES, &err) == -1) {
		mcp_err_prefix(&err, "deploy");
		goto out;
	}
	if (svc_parse(text.data, text.len, path, &def, &err) == -1)
		goto out;
	if (c->cfg.master[0] && !c->direct) {
		svc_free(def);
		rc = node_name ? usage_fail("deploy SERVICE|FILE (through the master: "
		    "pin with node = in the definition, or use --direct -n NODE)") :
		    cli_master_deploy(c, text.data, path);
		buf_free(&text);
		return rc;
	}
	if (def->node[0]) {
		if (node_name && strcmp(node_name, def->node) != 0) {
			mcp_err_set(&err, MCP_E_INVALID,
			    "deploy %s: -n %s contradicts node = \"%s\" in %s", def->name,
			    node_name, def->node, path);
			goto out;
		}
		node_name = def->node;
	}
	if (node_name)
		node = find_node(c, node_name, &err);
	else if (c->cfg.nnodes == 1)
		node = &c->cfg.nodes[0];
	else
		mcp_err_set(&err, MCP_E_INVALID,
		    "deploy %s: several nodes are configured: pin it with node = in %s "
		    "or pass -n NODE", def->name, path);
	if (node == NULL)
		goto out;
	req.definition = text.data;
	req.source = path;
	if (deploy_call(c, node, &req, &resp, &err) == -1)
		goto out;
	if (c->json) {
		json_t *j;

		if (resp->service)
			j = service_json(resp->service);
		else {
			j = json_object();
			json_object_set_new(j, "service", cli_json_str(def->name));
			json_object_set_new(j, "node", cli_json_str(node->name));
		}
		json_object_set_new(j, "actions", actions_json(resp->n_actions,
		    resp->actions));
		json_print(j);
	} else {
		for (i = 0; i < resp->n_actions; i++)
			cli_printf(stdout, "%s\n", resp->actions[i]);
		cli_printf(stdout, "deployed %s on %s\n", def->name, node->name);
	}
	rc = 0;
out:
	if (resp)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	svc_free(def);
	buf_free(&text);
	return rc ? cli_fail(c, &err) : 0;
}

/* ---- stop / start / restart / undeploy ---- */

int
cli_cmd_lifecycle(struct cli *c, int argc, char **argv)
{
	Mcp__V1__ServiceRequest req = MCP__V1__SERVICE_REQUEST__INIT;
	Mcp__V1__OpResponse *resp = NULL;
	Mcp__V1__MasterOpResponse *mresp = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	const struct cli_node *node;
	char method[64], usage[96];
	const char *component = "", *where, *node_name = NULL;
	char **actions;
	size_t i, nactions;
	int ch;

	snprintf(usage, sizeof(usage), "%s SERVICE%s [--direct -n NODE]", argv[0],
	    strcmp(argv[0], "undeploy") != 0 ? " [-c COMPONENT]" : "");
	optind = 0;
	while ((ch = getopt(argc, argv, "c:n:")) != -1) {
		if (ch == 'c' && strcmp(argv[0], "undeploy") != 0)
			component = optarg;
		else if (ch == 'n')
			node_name = optarg;
		else
			return usage_fail(usage);
	}
	if (optind != argc - 1)
		return usage_fail(usage);
	if (node_name && c->cfg.master[0] && !c->direct) {
		/* -n names an agent: the master already knows where it is placed */
		mcp_err_set(&err, MCP_E_INVALID, "%s -n %s: -n goes with --direct "
		    "(the master forwards to the placed node)", argv[0], node_name);
		return cli_fail(c, &err);
	}
	if (c->cfg.master[0] && !c->direct && strcmp(argv[0], "undeploy") == 0)
		return cli_master_undeploy(c, argv[optind]);
	req.service = argv[optind];
	req.component = (char *)component;
	if (c->cfg.master[0] && !c->direct) {
		/* the master forwards it to the placed node */
		snprintf(method, sizeof(method), "/mcp.v1.Master/%c%s",
		    argv[0][0] - 'a' + 'A', argv[0] + 1);
		if (cli_master_op(c, method, &req, &mresp, &err) == -1)
			return cli_fail(c, &err);
		where = mresp->node;
		actions = mresp->actions;
		nactions = mresp->n_actions;
	} else {
		/* -n NODE: that agent, e.g. one holding an orphaned copy */
		if ((node = node_name ? find_node(c, node_name, &err) :
		    service_node(c, argv[optind], &err)) == NULL)
			return cli_fail(c, &err);
		snprintf(method, sizeof(method), "/mcp.v1.Agent/%c%s",
		    argv[0][0] - 'a' + 'A', argv[0] + 1);
		if (node_call(c, node, method, &req.base,
		    &mcp__v1__op_response__descriptor, (ProtobufCMessage **)&resp,
		    T_LONG, &err) == -1)
			return cli_fail(c, &err);
		where = node->name;
		actions = resp->actions;
		nactions = resp->n_actions;
	}
	if (c->json) {
		json_t *j = json_object();

		json_object_set_new(j, "service", cli_json_str(argv[optind]));
		json_object_set_new(j, "node", cli_json_str(where));
		json_object_set_new(j, "operation", cli_json_str(argv[0]));
		json_object_set_new(j, "actions", actions_json(nactions, actions));
		json_print(j);
	} else {
		for (i = 0; i < nactions; i++)
			cli_printf(stdout, "%s\n", actions[i]);
	}
	if (resp)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	if (mresp)
		protobuf_c_message_free_unpacked(&mresp->base, NULL);
	return 0;
}

/* ---- ps / status ---- */

static void
fmt_uptime(char *out, size_t outsz, int64_t started)
{
	int64_t d = started > 0 ? (int64_t)time(NULL) - started : -1;

	if (d < 0)
		snprintf(out, outsz, "-");
	else if (d < 120)
		snprintf(out, outsz, "%llds", (long long)d);
	else if (d < 7200)
		snprintf(out, outsz, "%lldm", (long long)(d / 60));
	else if (d < 172800)
		snprintf(out, outsz, "%lldh", (long long)(d / 3600));
	else
		snprintf(out, outsz, "%lldd", (long long)(d / 86400));
}

static json_t *
route_json(const Mcp__V1__RouteStatus *r)
{
	json_t *jr = json_object(), *names = json_array();
	size_t i;

	json_object_set_new(jr, "name", cli_json_str(r->name));
	json_object_set_new(jr, "port", json_integer(r->port));
	json_object_set_new(jr, "host_port", json_integer(r->host_port));
	json_object_set_new(jr, "mode", cli_json_str(r->mode));
	json_object_set_new(jr, "hostname", cli_json_str(r->hostname));
	json_object_set_new(jr, "public", json_boolean(r->public_));
	json_object_set_new(jr, "vm_addr", cli_json_str(r->vm_addr));
	for (i = 0; i < r->n_hostnames; i++)
		json_array_append_new(names, cli_json_str(r->hostnames[i]));
	json_object_set_new(jr, "hostnames", names);
	json_object_set_new(jr, "listener", cli_json_str(r->listener));
	json_object_set_new(jr, "backend", cli_json_str(r->backend));
	json_object_set_new(jr, "health", cli_json_str(r->health));
	return jr;
}

static json_t *
component_json(const Mcp__V1__ServiceStatus *s, const Mcp__V1__ComponentStatus *cs)
{
	json_t *j = json_object(), *routes = json_array();
	size_t k;

	json_object_set_new(j, "service", cli_json_str(s->name));
	json_object_set_new(j, "component", cli_json_str(cs->name));
	json_object_set_new(j, "instance", cli_json_str(cs->instance));
	json_object_set_new(j, "node", cli_json_str(s->node));
	json_object_set_new(j, "runtime", cli_json_str(cs->runtime));
	json_object_set_new(j, "image", cli_json_str(cs->image));
	json_object_set_new(j, "version", cli_json_str(cs->version));
	json_object_set_new(j, "desired", cli_json_str(cs->desired));
	json_object_set_new(j, "observed", cli_json_str(cs->observed));
	json_object_set_new(j, "drift", json_boolean(cs->drift));
	json_object_set_new(j, "drift_reason", cli_json_str(cs->drift_reason));
	json_object_set_new(j, "observed_image", cli_json_str(cs->observed_image));
	json_object_set_new(j, "observed_version", cli_json_str(cs->observed_version));
	json_object_set_new(j, "flapping", json_boolean(cs->flapping));
	json_object_set_new(j, "started_at", json_integer(cs->started_at));
	json_object_set_new(j, "uptime_s", json_integer(cs->started_at > 0 ?
	    (json_int_t)(time(NULL) - cs->started_at) : 0));
	if (strcmp(cs->runtime, "unikernel") == 0) {
		json_object_set_new(j, "memory_mb", json_integer(cs->memory_mb));
		json_object_set_new(j, "vcpus", json_integer(cs->vcpus));
		json_object_set_new(j, "image_hash", cli_json_str(cs->image_hash));
		json_object_set_new(j, "guest_kernel", cli_json_str(cs->guest_kernel));
		json_object_set_new(j, "machine", cli_json_str(cs->machine));
		json_object_set_new(j, "image_id", cli_json_str(cs->image_id));
		json_object_set_new(j, "vm_ip", cli_json_str(cs->vm_ip));
	}
	for (k = 0; k < cs->n_routes; k++)
		json_array_append_new(routes, route_json(cs->routes[k]));
	json_object_set_new(j, "routes", routes);
	return j;
}

static json_t *
service_json(const Mcp__V1__ServiceStatus *s)
{
	json_t *j = json_object(), *comps = json_array(), *events = json_array();
	size_t i;

	json_object_set_new(j, "service", cli_json_str(s->name));
	json_object_set_new(j, "node", cli_json_str(s->node));
	json_object_set_new(j, "tier", cli_json_str(s->tier));
	json_object_set_new(j, "active", json_boolean(s->active));
	json_object_set_new(j, "deployed_at", json_integer(s->deployed_at));
	for (i = 0; i < s->n_components; i++)
		json_array_append_new(comps, component_json(s, s->components[i]));
	json_object_set_new(j, "components", comps);
	for (i = 0; i < s->n_events; i++) {
		const Mcp__V1__Event *e = s->events[i];
		json_t *je = json_object();

		json_object_set_new(je, "time", json_integer(e->time));
		json_object_set_new(je, "component", cli_json_str(e->component));
		json_object_set_new(je, "kind", cli_json_str(e->kind));
		json_object_set_new(je, "from", cli_json_str(e->from_state));
		json_object_set_new(je, "to", cli_json_str(e->to_state));
		json_object_set_new(je, "detail", cli_json_str(e->detail));
		json_array_append_new(events, je);
	}
	json_object_set_new(j, "events", events);
	return j;
}

static void
json_print(json_t *j)
{
	/* ASCII only: no C1 control or DEL reaches a terminal raw either */
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	putchar('\n');
	json_decref(j);
}

/*
 * The agent answered but could not see some components (they show
 * "unknown"): say why, on stderr so tables stay parseable; the exit status
 * stays 0 (the node answered truthfully).
 */
static void
observe_note(const char *node, const char *why)
{
	if (why != NULL && why[0])
		cli_printf(stderr, "mcp: node %s: observed state unknown: %s\n", node, why);
}

int
cli_cmd_ps(struct cli *c, int argc, char **argv)
{
	Mcp__V1__ListServicesRequest req = MCP__V1__LIST_SERVICES_REQUEST__INIT;
	json_t *arr = json_array();
	size_t n, i, j;
	int rc = 0;

	(void)argv;
	if (argc != 1) {
		json_decref(arr);
		return usage_fail("ps");
	}
	static const char *const head[] = { "SERVICE", "COMPONENT", "NODE",
		"RUNTIME", "STATE", "VERSION", "UPTIME", "DRIFT" };
	/* what may shrink: names, node, version, the drift reason; never the
	 * runtime, state and uptime */
	static const size_t minw[] = { 6, 6, 4, 9, 8, 4, 6, 5 };
	struct cli_table *tab = cli_table_new(8, head, minw);
	for (n = 0; n < c->cfg.nnodes; n++) {
		Mcp__V1__ListServicesResponse *resp = NULL;
		struct mcp_err err = MCP_ERR_INIT;

		if (node_call(c, &c->cfg.nodes[n], "/mcp.v1.Agent/ListServices",
		    &req.base, &mcp__v1__list_services_response__descriptor,
		    (ProtobufCMessage **)&resp, T_LIST, &err) == -1) {
			rc = cli_fail(c, &err);
			continue;
		}
		for (i = 0; i < resp->n_services; i++) {
			const Mcp__V1__ServiceStatus *s = resp->services[i];

			for (j = 0; j < s->n_components; j++) {
				const Mcp__V1__ComponentStatus *cs = s->components[j];
				char up[32], state[48];

				if (c->json) {
					json_t *jc = component_json(s, cs);

					if (resp->observe_error[0])
						json_object_set_new(jc, "observe_error",
						    cli_json_str(resp->observe_error));
					json_array_append_new(arr, jc);
					continue;
				}
				fmt_uptime(up, sizeof(up), strcmp(cs->observed, "running") == 0 ?
				    cs->started_at : 0);
				snprintf(state, sizeof(state), "%s%s", cs->observed,
				    cs->drift ? "!" : "");
				/* the version the instance runs, not the one desired */
				{
					const char *row[] = { s->name, cs->name, s->node,
						cs->runtime, state, cs->observed_version[0] ?
						cs->observed_version : "-", up, cs->drift_reason };

					cli_table_add(tab, row);
				}
			}
		}
		observe_note(c->cfg.nodes[n].name, resp->observe_error);
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	}
	if (c->json)
		json_print(arr);
	else {
		json_decref(arr);
		cli_table_print(tab, stdout, (size_t)c->width, c->wide);
	}
	cli_table_free(tab);
	return rc;
}

static void
status_print(const struct cli *c, const Mcp__V1__ServiceStatus *s)
{
	size_t j, k;

	cli_line(c, "service %s on %s (tier %s%s)", s->name, s->node, s->tier,
	    s->active ? "" : ", inactive");
	for (j = 0; j < s->n_components; j++) {
		const Mcp__V1__ComponentStatus *cs = s->components[j];
		char up[32];

		fmt_uptime(up, sizeof(up), cs->started_at);
		cli_line(c, "  %-16s %-10s desired %-8s observed %-8s%s%s up %s", cs->name,
		    cs->runtime, cs->desired, cs->observed, cs->drift ? " DRIFT" : "",
		    cs->flapping ? " FLAPPING" : "", up);
		cli_line(c, "  %-16s image %s", "", cs->image);
		if (cs->observed_image[0] && strcmp(cs->observed_image, cs->image) != 0)
			cli_line(c, "  %-16s running image %s", "", cs->observed_image);
		if (cs->drift_reason[0])
			cli_line(c, "  %-16s drift: %s", "", cs->drift_reason);
		if (cs->vm_ip[0])
			cli_line(c, "  %-16s address %s", "", cs->vm_ip);
		if (cs->image_hash[0])
			cli_line(c, "  %-16s attested %s", "", cs->image_hash);
		/* the machine first: an 80-column line cuts the kernel's description */
		if (cs->guest_kernel[0])
			cli_line(c, "  %-16s -M %s, kernel %s", "",
			    cs->machine[0] ? cs->machine : "pc", cs->guest_kernel);
		for (k = 0; k < cs->n_routes; k++) {
			const Mcp__V1__RouteStatus *r = cs->routes[k];

			if (r->host_port)
				cli_line(c, "  %-16s route %s port %u -> 127.0.0.1:%u (%s)", "",
				    r->name[0] ? r->name : "-", r->port, r->host_port, r->mode);
			else
				cli_line(c, "  %-16s route %s port %u -> %s on the bridge (%s)", "",
				    r->name[0] ? r->name : "-", r->port, r->vm_addr, r->mode);
			if (r->listener[0])
				cli_line(c, "  %-16s   proxy %s %s -> %s, %s", "", r->listener,
				    r->n_hostnames ? r->hostnames[0] : "-", r->backend,
				    r->health[0] ? r->health : "health unknown");
			for (size_t h = 1; h < r->n_hostnames; h++)
				cli_line(c, "  %-16s   proxy %s %s", "", r->listener, r->hostnames[h]);
		}
	}
	for (k = 0; k < s->n_events && k < 10; k++) {
		const Mcp__V1__Event *e = s->events[k];
		char ts[32];
		time_t t = (time_t)e->time;

		strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", localtime(&t));
		cli_line(c, "  event %s %-12s %s %s%s%s %s", ts, e->kind,
		    e->component[0] ? e->component : "-", e->from_state,
		    e->from_state[0] || e->to_state[0] ? "->" : "", e->to_state, e->detail);
	}
}

int
cli_cmd_status(struct cli *c, int argc, char **argv)
{
	Mcp__V1__StatusRequest req = MCP__V1__STATUS_REQUEST__INIT;
	struct mcp_err err = MCP_ERR_INIT;
	json_t *arr = json_array();
	size_t n, i;
	int rc = 0, found = 0;

	if (argc > 2) {
		json_decref(arr);
		return usage_fail("status [SERVICE]");
	}
	req.service = argc == 2 ? argv[1] : "";
	for (n = 0; n < c->cfg.nnodes; n++) {
		Mcp__V1__StatusResponse *resp = NULL;

		if (node_call(c, &c->cfg.nodes[n], "/mcp.v1.Agent/Status", &req.base,
		    &mcp__v1__status_response__descriptor, (ProtobufCMessage **)&resp,
		    T_LIST, &err) == -1) {
			if (err.code == MCP_E_NOTFOUND && argc == 2)
				continue;
			rc = cli_fail(c, &err);
			continue;
		}
		for (i = 0; i < resp->n_services; i++) {
			found++;
			if (c->json) {
				json_t *js = service_json(resp->services[i]);

				if (resp->observe_error[0])
					json_object_set_new(js, "observe_error",
					    cli_json_str(resp->observe_error));
				json_array_append_new(arr, js);
			} else
				status_print(c, resp->services[i]);
		}
		if (resp->n_services)
			observe_note(c->cfg.nodes[n].name, resp->observe_error);
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	}
	if (argc == 2 && !found) {
		json_decref(arr);
		if (rc)
			return rc;
		mcp_err_set(&err, MCP_E_NOTFOUND, "status: service %s is not deployed on any node",
		    argv[1]);
		return cli_fail(c, &err);
	}
	if (c->json) {
		if (argc == 2)
			json_print(json_incref(json_array_get(arr, 0)));
		else
			json_print(json_incref(arr));
	}
	json_decref(arr);
	return rc;
}

/* ---- logs ---- */

static int
log_write(const ProtobufCMessage *msg, void *arg)
{
	const Mcp__V1__LogChunk *ch = (const Mcp__V1__LogChunk *)msg;

	(void)arg;
	if (fwrite(ch->data.data, 1, ch->data.len, stdout) != ch->data.len)
		return 1;
	fflush(stdout);
	return 0;
}

int
cli_cmd_logs(struct cli *c, int argc, char **argv)
{
	Mcp__V1__LogsRequest req = MCP__V1__LOGS_REQUEST__INIT;
	struct mcp_err err = MCP_ERR_INIT;
	const struct cli_node *node;
	const char *usage = "logs SERVICE [-c COMPONENT] [-n LINES] [-f]";
	int ch;

	req.component = "";
	optind = 0;
	while ((ch = getopt(argc, argv, "c:n:f")) != -1) {
		switch (ch) {
		case 'c':
			req.component = optarg;
			break;
		case 'n': {
			char *end;
			long n = strtol(optarg, &end, 10);

			if (*optarg == '\0' || *end != '\0' || n < 0 || n > 1000000) {
				fprintf(stderr, "mcp: logs: -n %s: want a number of lines "
				    "(0 = all)\n", optarg);
				return 2;
			}
			req.tail = (int32_t)n;
			break;
		}
		case 'f':
			req.follow = 1;
			break;
		default:
			return usage_fail(usage);
		}
	}
	if (optind != argc - 1)
		return usage_fail(usage);
	req.service = argv[optind];
	if ((node = service_node(c, req.service, &err)) == NULL)
		return cli_fail(c, &err);
	if (node_rpc(c, node, "/mcp.v1.Agent/Logs", &req.base,
	    &mcp__v1__log_chunk__descriptor, NULL, log_write, NULL,
	    req.follow ? 0 : T_LONG, &err) == -1)
		return cli_fail(c, &err);
	return 0;
}

/* ---- node list ---- */

int
cli_cmd_node(struct cli *c, int argc, char **argv)
{
	Mcp__V1__NodeStatusRequest req = MCP__V1__NODE_STATUS_REQUEST__INIT;
	json_t *arr = json_array();
	size_t n, i;
	int rc = 0;

	if (argc != 2 || strcmp(argv[1], "list") != 0) {
		json_decref(arr);
		return usage_fail("node list");
	}
	if (!c->json)
		printf("%-12s %-36s %-8s %-8s %-8s %-20s %s\n", "NODE", "ADDRESS", "HEALTH",
		    "SERVICES", "RUNNING", "RUNTIMES", "VM MEMORY");
	for (n = 0; n < c->cfg.nnodes; n++) {
		const struct cli_node *node = &c->cfg.nodes[n];
		Mcp__V1__NodeStatusResponse *resp = NULL;
		struct mcp_err err = MCP_ERR_INIT;
		char rts[64] = "";
		json_t *j = json_object();

		json_object_set_new(j, "node", cli_json_str(node->name));
		json_object_set_new(j, "address", cli_json_str(node->address));
		if (node_call(c, node, "/mcp.v1.Agent/NodeStatus", &req.base,
		    &mcp__v1__node_status_response__descriptor,
		    (ProtobufCMessage **)&resp, T_LIST, &err) == -1) {
			json_object_set_new(j, "healthy", json_false());
			json_object_set_new(j, "error", cli_json_str(err.msg));
			if (!c->json)
				cli_printf(stdout, "%-12s %-36s %-8s %s\n", node->name, node->address,
				    "DOWN", err.msg);
			json_array_append_new(arr, j);
			rc = 1;
			continue;
		}
		for (i = 0; i < resp->n_runtimes; i++)
			snprintf(rts + strlen(rts), sizeof(rts) - strlen(rts), "%s%s",
			    i ? "," : "", resp->runtimes[i]);
		json_object_set_new(j, "healthy", json_true());
		json_object_set_new(j, "services", json_integer(resp->services));
		json_object_set_new(j, "running", json_integer(resp->components_running));
		json_object_set_new(j, "runtimes", cli_json_str(rts));
		json_object_set_new(j, "accel", cli_json_str(resp->accel));
		json_object_set_new(j, "memory_total_mb", json_integer((json_int_t)resp->memory_total_mb));
		json_object_set_new(j, "memory_committed_mb", json_integer((json_int_t)resp->memory_committed_mb));
		json_object_set_new(j, "vcpus_total", json_integer(resp->vcpus_total));
		json_object_set_new(j, "vcpus_committed", json_integer(resp->vcpus_committed));
		json_object_set_new(j, "version", cli_json_str(resp->version));
		json_object_set_new(j, "uptime_s", json_integer(resp->uptime_s));
		if (resp->observe_error[0])
			json_object_set_new(j, "observe_error", cli_json_str(resp->observe_error));
		json_object_set_new(j, "vm_attestations", cli_vms_json(resp->vms, resp->n_vms));
		if (!c->json)
			cli_printf(stdout, "%-12s %-36s %-8s %-8u %-8u %-20s %llu/%llu MB\n", node->name,
			    node->address, "ok", resp->services, resp->components_running,
			    rts, (unsigned long long)resp->memory_committed_mb,
			    (unsigned long long)resp->memory_total_mb);
		for (i = 0; !c->json && i < resp->n_vms; i++)
			printf("  vm %s (%s/%s) %s attested %s\n", resp->vms[i]->instance,
			    resp->vms[i]->service, resp->vms[i]->component,
			    resp->vms[i]->observed, resp->vms[i]->image_hash);
		json_array_append_new(arr, j);
		if (!c->json)
			observe_note(node->name, resp->observe_error);
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	}
	cli_json_done(c, arr);
	return rc;
}

json_t *
cli_vms_json(Mcp__V1__VmAttestation *const *v, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
		    "service", v[i]->service, "component", v[i]->component,
		    "instance", v[i]->instance, "image", v[i]->image,
		    "image_hash", v[i]->image_hash, "image_id", v[i]->image_id,
		    "observed", v[i]->observed));
	return arr;
}

/* ---- ca ---- */

int
cli_cmd_ca(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'C' },
		{ "san", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "intermediate", no_argument, NULL, 'I' },
		{ "permit", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "ca init DIR | ca issue NAME [--ca DIR] [--san LIST] [--out DIR]"
	    " | ca issue NAME --intermediate --permit DOMAIN[,DOMAIN...] [--ca DIR] [--out DIR]";
	struct mcp_err err = MCP_ERR_INIT;
	const char *cadir = getenv("MCP_CA_DIR"), *san = NULL, *out = NULL;
	const char *permit = NULL;
	char cadefault[512];
	int ch, intermediate = 0;

	if (argc < 3)
		return usage_fail(usage);
	if (strcmp(argv[1], "init") == 0) {
		if (argc != 3)
			return usage_fail(usage);
		if (pki_ca_init(argv[2], &err) == -1)
			return cli_fail(c, &err);
		printf("created CA in %s (ca.crt, ca.key)\n", argv[2]);
		return 0;
	}
	if (strcmp(argv[1], "issue") != 0)
		return usage_fail(usage);
	/* parse the options of "issue ..." */
	argc--;
	argv++;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'C')
			cadir = optarg;
		else if (ch == 's')
			san = optarg;
		else if (ch == 'o')
			out = optarg;
		else if (ch == 'I')
			intermediate = 1;
		else if (ch == 'p')
			permit = optarg;
		else
			return usage_fail(usage);
	}
	/* --permit belongs to --intermediate, --san to identities */
	if (optind != argc - 1 || (intermediate && (san || !permit)) ||
	    (!intermediate && permit))
		return usage_fail(usage);
	if (cadir == NULL && c->cfg.tls_ca[0]) {
		char *slash;

		mcp_strlcpy(cadefault, c->cfg.tls_ca, sizeof(cadefault));
		if ((slash = strrchr(cadefault, '/')) != NULL)
			*slash = '\0';
		else
			mcp_strlcpy(cadefault, ".", sizeof(cadefault));
		cadir = cadefault;
	}
	if (cadir == NULL)
		cadir = "ca";
	if (intermediate) {
		if (pki_issue_intermediate(cadir, argv[optind], permit, out,
		    &err) == -1)
			return cli_fail(c, &err);
		printf("issued intermediate CA %s/%s.crt and %s.key (permitted: "
		    "%s)\n", out ? out : cadir, argv[optind], argv[optind],
		    permit);
		return 0;
	}
	if (pki_issue(cadir, argv[optind], san, out, &err) == -1)
		return cli_fail(c, &err);
	printf("issued %s/%s.crt and %s.key (CN=%s)\n", out ? out : cadir,
	    argv[optind], argv[optind], argv[optind]);
	return 0;
}

/* ---- push / pull ---- */

int
cli_cmd_push(struct cli *c, int argc, char **argv)
{
	Mcp__V1__PushFileRequest req = MCP__V1__PUSH_FILE_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	const struct cli_node *node;
	struct buf data = BUF_INIT;
	struct stat st;

	if (argc != 4)
		return usage_fail("push SERVICE LOCAL_FILE PATH");
	if ((node = service_node(c, argv[1], &err)) == NULL)
		return cli_fail(c, &err);
	if (stat(argv[2], &st) == -1) {
		mcp_err_errno(&err, errno, "push %s", argv[2]);
		return cli_fail(c, &err);
	}
	if (file_read(argv[2], &data, 0, &err) == -1) {
		buf_free(&data);
		return cli_fail(c, &err);
	}
	req.service = argv[1];
	req.path = argv[3];
	req.content.data = (uint8_t *)data.data;
	req.content.len = data.len;
	req.mode = st.st_mode & 0777;
	if (node_call(c, node, "/mcp.v1.Agent/PushFile", &req.base,
	    &mcp__v1__push_file_response__descriptor, &resp, T_LONG, &err) == -1) {
		buf_free(&data);
		return cli_fail(c, &err);
	}
	if (c->json) {
		json_t *j = json_object();

		json_object_set_new(j, "service", cli_json_str(argv[1]));
		json_object_set_new(j, "node", cli_json_str(node->name));
		json_object_set_new(j, "path", cli_json_str(argv[3]));
		json_object_set_new(j, "size", json_integer((json_int_t)data.len));
		json_print(j);
	} else {
		printf("pushed %zu bytes to %s:/srv/%s/%s\n", data.len, node->name,
		    argv[1], argv[3]);
	}
	buf_free(&data);
	protobuf_c_message_free_unpacked(resp, NULL);
	return 0;
}

int
cli_cmd_pull(struct cli *c, int argc, char **argv)
{
	Mcp__V1__PullFileRequest req = MCP__V1__PULL_FILE_REQUEST__INIT;
	Mcp__V1__PullFileResponse *resp = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	const struct cli_node *node;
	int rc = 0;

	if (argc != 3 && argc != 4)
		return usage_fail("pull SERVICE PATH [LOCAL_FILE]");
	if ((node = service_node(c, argv[1], &err)) == NULL)
		return cli_fail(c, &err);
	req.service = argv[1];
	req.path = argv[2];
	if (node_call(c, node, "/mcp.v1.Agent/PullFile", &req.base,
	    &mcp__v1__pull_file_response__descriptor, (ProtobufCMessage **)&resp,
	    T_LONG, &err) == -1)
		return cli_fail(c, &err);
	if (argc == 4 && strcmp(argv[3], "-") != 0) {
		if (file_write_atomic(argv[3], resp->content.data, resp->content.len,
		    resp->mode ? resp->mode : 0644, &err) == -1)
			rc = cli_fail(c, &err);
	} else if (fwrite(resp->content.data, 1, resp->content.len, stdout) !=
	    resp->content.len) {
		rc = 1;
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return rc;
}

/* ---- route list ---- */

int
cli_cmd_route(struct cli *c, int argc, char **argv)
{
	Mcp__V1__ListRoutesRequest req = MCP__V1__LIST_ROUTES_REQUEST__INIT;
	const char *only = NULL;
	json_t *arr = json_array();
	size_t n, i, h;
	int rc = 0, opt;

	if (argc < 2 || strcmp(argv[1], "list") != 0) {
		json_decref(arr);
		return usage_fail("route list [-n NODE]");
	}
	optind = 2;
	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n') {
			json_decref(arr);
			return usage_fail("route list [-n NODE]");
		}
		only = optarg;
	}
	if (optind != argc) {
		json_decref(arr);
		return usage_fail("route list [-n NODE]");
	}
	if (only) {
		struct mcp_err err = MCP_ERR_INIT;

		if (find_node(c, only, &err) == NULL) {
			json_decref(arr);
			return cli_fail(c, &err);
		}
	}
	if (!c->json)
		printf("%-10s %-20s %-40s %-5s %-22s %-22s %s\n", "NODE", "INSTANCE",
		    "HOSTNAME", "MODE", "LISTENER", "BACKEND", "HEALTH");
	for (n = 0; n < c->cfg.nnodes; n++) {
		const struct cli_node *node = &c->cfg.nodes[n];
		Mcp__V1__ListRoutesResponse *resp = NULL;
		struct mcp_err err = MCP_ERR_INIT;

		if (only && strcmp(only, node->name) != 0)
			continue;
		if (node_call(c, node, "/mcp.v1.Agent/ListRoutes", &req.base,
		    &mcp__v1__list_routes_response__descriptor,
		    (ProtobufCMessage **)&resp, T_SHORT, &err) == -1) {
			rc = cli_fail(c, &err);
			continue;
		}
		for (i = 0; i < resp->n_routes; i++) {
			const Mcp__V1__ProxyRoute *pr = resp->routes[i];
			const Mcp__V1__RouteStatus *r = pr->route;

			if (c->json) {
				json_t *j = route_json(r);

				json_object_set_new(j, "node", cli_json_str(resp->node));
				json_object_set_new(j, "service", cli_json_str(pr->service));
				json_object_set_new(j, "component", cli_json_str(pr->component));
				json_object_set_new(j, "instance", cli_json_str(pr->instance));
				json_array_append_new(arr, j);
				continue;
			}
			if (!resp->proxy) {
				cli_printf(stdout, "%-10s %-20s %-40s %-5s %-22s 127.0.0.1:%-12u %s\n",
				    resp->node, pr->instance, "(no proxy)", r->mode, "-",
				    r->host_port, "-");
				continue;
			}
			for (h = 0; h < r->n_hostnames; h++)
				cli_printf(stdout, "%-10s %-20s %-40s %-5s %-22s %-22s %s\n", resp->node,
				    pr->instance, r->hostnames[h], r->mode, r->listener,
				    r->backend, r->health[0] ? r->health : "?");
		}
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	}
	cli_json_done(c, arr);
	return rc;
}

/* ---- shared with cli/master.c (cli_int.h) ---- */

int
cli_node_call(struct cli *c, const struct cli_node *n, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
    ProtobufCMessage **resp, int timeout_ms, struct mcp_err *err)
{
	return node_call(c, n, method, req, desc, resp, timeout_ms, err);
}

int
cli_node_stream(struct cli *c, const struct cli_node *n, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
    int (*on_msg)(const ProtobufCMessage *, void *), void *arg, int timeout_ms,
    struct mcp_err *err)
{
	return node_rpc(c, n, method, req, desc, NULL, on_msg, arg, timeout_ms, err);
}

json_t *
cli_service_json(const Mcp__V1__ServiceStatus *s)
{
	return service_json(s);
}

json_t *
cli_component_json(const Mcp__V1__ServiceStatus *s, const Mcp__V1__ComponentStatus *cs)
{
	return component_json(s, cs);
}

void
cli_json_print(json_t *j)
{
	json_print(j);
}

void
cli_json_done(const struct cli *c, json_t *j)
{
	if (c->json)
		json_print(j);
	else
		json_decref(j);
}
