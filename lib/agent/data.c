/*
 * agent/data.c: ExportServiceData / ImportServiceData (SPEC §5: snapshots
 * and migrate) on this node: which data of <srv_root>/<service>/ goes out,
 * after which step inside the service, and where an import lands.  The
 * archive itself is lib/data's.
 *
 * Export follows the service's [snapshot] method (its stored definition):
 *   omitted        only *.toml, *.db and *.pem files
 *   "full"         everything
 *   "exec: CMD"    CMD (split on blanks, no shell) inside the first
 *                  component's container, with a deadline; then everything
 *   "cli"          the component's own binary (cmd[0]) with the argument
 *                  "snapshot" inside its container; then everything
 *   "grpc"         mcp.v1.SnapshotService/Snapshot (proto/snapshot.proto)
 *                  on the component's route named "grpc" (plain HTTP/2 to
 *                  127.0.0.1:<host port>, or the VM's address), with a
 *                  deadline; then everything
 * exclude applies to every method.  The step runs only while the component
 * runs: a stopped service (or direct) gets the host-side tar at once, and
 * a failed step fails the export.  A unikernel component refuses exec/cli.
 * The service's lock is held throughout, so no deploy or stop interleaves.
 *
 * Import: into <srv_root>/<service>/ (the service need not be deployed
 * here yet: migrate imports before it deploys), under the service's lock;
 * refused while a component of the service runs here (its bind mount
 * would keep the old directory: stop it first).
 */
#include "agent/agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/data.h"
#include "snapshot.pb-c.h"
#include "util/log.h"
#include "wire/wire.h"

#define AGENT_SNAPSHOT_EXEC_MS	120000	/* exec: / cli step */
#define AGENT_SNAPSHOT_ARGV	64

/* 1 when instance inst (of runtime kind) runs, 0 when it is absent or
 * stopped, -1 with err; *rtp gets its runtime when not NULL. */
static int
agent_data_inst_running(struct agent *a, const char *kind, const char *inst,
    struct runtime **rtp, struct mcp_err *err)
{
	struct runtime *rt;
	struct rt_info info;

	if ((rt = agent_runtime_for(a, kind, err)) == NULL)
		return -1;
	if (rtp != NULL)
		*rtp = rt;
	memset(&info, 0, sizeof(info));
	if (rt->ops->inspect(rt, inst, &info, err) == -1)
		return err->code == MCP_E_NOTFOUND ? 0 : -1;
	return strcmp(info.state, "running") == 0;
}

/* Run the method's step in the first component; *skipped when it is not
 * running.  method_out says what was done. */
static int
agent_data_step(struct agent *a, const struct svc_def *def, int *skipped,
    struct mcp_err *err)
{
	const char *method = def->snapshot_method;
	const struct svc_component *c;
	const char *argv[AGENT_SNAPSHOT_ARGV];
	char inst[SVC_INSTANCE_MAX], buf[1024];
	struct runtime *rt = NULL;
	size_t i;
	int r;

	*skipped = 0;
	if (def->ncomponents == 0)
		return mcp_err_set(err, MCP_E_INVALID, "has no components");
	for (i = 0; i < def->ncomponents; i++)
		if (strcmp(def->components[i].runtime, "unikernel") == 0)
			return mcp_err_set(err, MCP_E_PRECONDITION, "snapshot method "
			    "\"%s\" is not available: component %s runs as a "
			    "unikernel", method, def->components[i].name);
	c = &def->components[0];
	svc_instance_name(inst, sizeof(inst), def->name, c->name);
	if ((r = agent_data_inst_running(a, c->runtime, inst, &rt, err)) != 1) {
		*skipped = r == 0;
		return r;
	}
	if (rt->ops->exec == NULL)
		return mcp_err_set(err, MCP_E_PRECONDITION, "snapshot method \"%s\": "
		    "the %s runtime cannot run commands in %s", method, c->runtime,
		    inst);
	if (data_method_kind(method) == DATA_M_EXEC) {
		int n = data_exec_argv(method, buf, sizeof(buf), argv,
		    AGENT_SNAPSHOT_ARGV);

		if (n <= 0)
			return mcp_err_set(err, MCP_E_INVALID, "snapshot method "
			    "\"%.200s\": %s", method, n == 0 ? "no command" :
			    "too long");
	} else {	/* cli */
		if (c->ncmd == 0 || c->cmd[0][0] == '\0')
			return mcp_err_set(err, MCP_E_INVALID, "snapshot method "
			    "\"cli\" needs component %s to have a cmd (its binary "
			    "is run with \"snapshot\")", c->name);
		argv[0] = c->cmd[0];
		argv[1] = "snapshot";
		argv[2] = NULL;
	}
	if (rt->ops->exec(rt, inst, argv, AGENT_SNAPSHOT_EXEC_MS, err) == -1)
		return mcp_err_prefix(err, "snapshot method \"%s\"", method);
	return 0;
}

/* grpc: the Snapshot RPC on the route named "grpc"; *skipped when the
 * component serving it is not running. */
static int
agent_data_grpc(struct agent *a, const struct svc_def *def,
    const struct reg_service *rs, int *skipped, struct mcp_err *err)
{
	const struct reg_component *rc = NULL;
	const struct reg_route *route = NULL;
	Mcp__V1__SnapshotRequest q = MCP__V1__SNAPSHOT_REQUEST__INIT;
	Mcp__V1__SnapshotResponse *resp = NULL;
	char inst[SVC_INSTANCE_MAX], addr[96];
	struct wire_client *c;
	size_t i, j;
	int r, rc_;

	*skipped = 0;
	for (i = 0; i < rs->ncomponents && route == NULL; i++)
		for (j = 0; j < rs->components[i].nroutes; j++)
			if (strcmp(rs->components[i].routes[j].name, "grpc") == 0) {
				rc = &rs->components[i];
				route = &rc->routes[j];
				break;
			}
	if (route == NULL)
		return mcp_err_set(err, MCP_E_PRECONDITION, "snapshot method \"grpc\" "
		    "needs a route named \"grpc\" serving mcp.v1.SnapshotService");
	svc_instance_name(inst, sizeof(inst), def->name, rc->name);
	if ((r = agent_data_inst_running(a, rc->runtime, inst, NULL, err)) != 1) {
		*skipped = r == 0;
		return r;
	}
	if (route->vm_addr[0])
		snprintf(addr, sizeof(addr), "%s", route->vm_addr);
	else if (route->host_port > 0)
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", route->host_port);
	else
		return mcp_err_set(err, MCP_E_PRECONDITION, "snapshot method "
		    "\"grpc\": route grpc of %s has no address on this node", inst);
	if ((c = wire_client_new_plain(addr, err)) == NULL)
		return -1;
	q.service = (char *)def->name;
	rc_ = wire_call(c, "/mcp.v1.SnapshotService/Snapshot", &q.base,
	    &mcp__v1__snapshot_response__descriptor, (ProtobufCMessage **)&resp,
	    AGENT_SNAPSHOT_EXEC_MS, err);
	wire_client_free(c);
	if (rc_ == -1)
		return mcp_err_prefix(err, "snapshot method \"grpc\": Snapshot on %s",
		    addr);
	log_info("export %s: Snapshot on %s wrote %zu files", def->name, addr,
	    resp->n_files);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

int
agent_data_export(struct agent *a, const char *service, int direct,
    data_sink_fn sink, void *arg, struct data_sum *sum, char *method_out,
    size_t method_outsz, struct mcp_err *err)
{
	struct reg_service *rs = NULL;
	struct svc_def *def = NULL;
	struct data_export_opts o;
	char dir[CFG_PATH_MAX + 80];
	const char *method;
	enum data_method kind;
	int skipped = 1, rc = -1;

	if (!svc_name_valid(service))
		return mcp_err_set(err, MCP_E_INVALID, "export: \"%.80s\" is not a "
		    "valid service name", service);
	agent_lock_service(a, service);
	if (reg_service_get(a->reg, service, &rs, err) == -1) {
		if (err->code == MCP_E_NOTFOUND)
			mcp_err_set(err, MCP_E_NOTFOUND, "service %s is not deployed "
			    "on node %s", service, a->cfg.node);
		goto out;
	}
	if (svc_parse(rs->definition, strlen(rs->definition), rs->source, &def,
	    err) == -1) {
		mcp_err_prefix(err, "stored definition of %s", service);
		goto out;
	}
	method = def->snapshot_method;
	kind = data_method_kind(method);
	if (kind == DATA_M_INVALID) {
		mcp_err_set(err, MCP_E_INVALID, "snapshot method \"%.200s\" is not "
		    "known", method);
		goto out;
	}
	if (kind == DATA_M_GRPC && !direct &&
	    agent_data_grpc(a, def, rs, &skipped, err) == -1)
		goto out;
	if ((kind == DATA_M_CLI || kind == DATA_M_EXEC) && !direct) {
		if (agent_data_step(a, def, &skipped, err) == -1)
			goto out;
	}
	if (direct)
		snprintf(method_out, method_outsz, "direct");
	else if (kind == DATA_M_DEFAULT)
		snprintf(method_out, method_outsz, "default");
	else if (kind == DATA_M_FULL)
		snprintf(method_out, method_outsz, "full");
	else if (skipped)
		snprintf(method_out, method_outsz, "direct (service stopped)");
	else
		snprintf(method_out, method_outsz, "%s", method);
	memset(&o, 0, sizeof(o));
	o.all = kind != DATA_M_DEFAULT;
	o.exclude = (const char *const *)def->snapshot_exclude;
	o.tmpdir = a->cfg.state_dir;
	o.missing_ok = 1;	/* no data yet: an empty archive */
	agent_srv_dir(a, service, dir, sizeof(dir));
	if (data_export_piped(dir, &o, sink, arg, sum, err) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		mcp_err_prefix(err, "export %s", service);
	agent_unlock_service(a, service);
	svc_free(def);
	reg_service_free(rs);
	return rc;
}

struct agent_import {
	struct agent *a;
	char service[64];
	struct data_import *im;
};

/* 1 when an instance of the service runs on this node, 0 when none, -1. */
static int
agent_data_running(struct agent *a, const char *service, char *inst,
    size_t instsz, struct mcp_err *err)
{
	struct reg_service *rs = NULL;
	int found = 0;

	if (reg_service_get(a->reg, service, &rs, err) == -1)
		return err->code == MCP_E_NOTFOUND ? 0 : -1;
	for (size_t i = 0; i < rs->ncomponents && !found; i++) {
		const struct reg_component *rc = &rs->components[i];
		struct mcp_err e2 = MCP_ERR_INIT;

		svc_instance_name(inst, instsz, service, rc->name);
		found = agent_data_inst_running(a, rc->runtime, inst, NULL,
		    &e2) == 1;
	}
	reg_service_free(rs);
	return found;
}

struct agent_import *
agent_data_import_begin(struct agent *a, const char *service, int force,
    struct mcp_err *err)
{
	struct agent_import *ai;
	char dir[CFG_PATH_MAX + 80], inst[SVC_INSTANCE_MAX];
	int r;

	if (!svc_name_valid(service)) {
		mcp_err_set(err, MCP_E_INVALID, "import: \"%.80s\" is not a valid "
		    "service name", service);
		return NULL;
	}
	if (mkdir(a->cfg.srv_root, 0755) == -1 && errno != EEXIST) {
		mcp_err_errno(err, errno, "import %s: mkdir %s", service,
		    a->cfg.srv_root);
		return NULL;
	}
	ai = xcalloc(1, sizeof(*ai));
	ai->a = a;
	snprintf(ai->service, sizeof(ai->service), "%s", service);
	agent_lock_service(a, service);
	agent_srv_dir(a, service, dir, sizeof(dir));
	if ((r = agent_data_running(a, service, inst, sizeof(inst), err)) != 0) {
		if (r == 1)
			mcp_err_set(err, MCP_E_PRECONDITION, "import %s: %s is running "
			    "on node %s; stop the service first", service, inst,
			    a->cfg.node);
		agent_unlock_service(a, service);
		free(ai);
		return NULL;
	}
	if ((ai->im = data_import_new(dir, force, err)) == NULL) {
		agent_unlock_service(a, service);
		free(ai);
		return NULL;
	}
	return ai;
}

int
agent_data_import_feed(struct agent_import *ai, const void *data, size_t len,
    struct mcp_err *err)
{
	return data_import_feed(ai->im, data, len, err);
}

int
agent_data_import_end(struct agent_import *ai, const char *sha256,
    uint64_t size, struct data_sum *sum, struct mcp_err *err)
{
	return data_import_finish(ai->im, sha256, size, sum, err);
}

void
agent_data_import_free(struct agent_import *ai)
{
	if (ai == NULL)
		return;
	data_import_free(ai->im);
	agent_unlock_service(ai->a, ai->service);
	free(ai);
}
