/*
 * master/ops.c: Deploy, Undeploy and Status across the fleet (SPEC §5).
 *
 * Deploy: place (placement.c) -> forward Deploy to that node's agent ->
 * record the placement -> DNS A records <instance>.<zone> -> edge routes
 * for public hostnames; one result per step, partial failure reported
 * exactly.  Undeploy: the worker first, then edge routes, DNS, rows; best
 * effort, each failure reported, and a row is dropped only once what it
 * points at is gone.  Status: every agent asked once, in parallel, each
 * with a deadline, merged with placements (stale, orphan, unreachable).
 */
#include "master/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.pb-c.h"
#include "master/db.h"
#include "service/check.h"
#include "service/service.h"
#include "util/buf.h"
#include "util/log.h"
#include "wire/wire.h"

/* ---- steps ---- */

static Mcp__V1__StepResult *
step_add(Mcp__V1__MasterDeployResponse *out, const char *name)
{
	Mcp__V1__StepResult *s = (Mcp__V1__StepResult *)wire_msg_new(
	    &mcp__v1__step_result__descriptor);

	s->step = xstrdup(name);
	s->ok = 1;
	s->error = xstrdup("");
	out->steps = realloc(out->steps, (out->n_steps + 1) * sizeof(*out->steps));
	if (out->steps == NULL)
		abort();
	out->steps[out->n_steps++] = s;
	return s;
}

static void
step_note(Mcp__V1__StepResult *s, int ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Set the step's outcome; a failure's message is appended to earlier ones. */
static void
step_note(Mcp__V1__StepResult *s, int ok, const char *fmt, ...)
{
	char msg[MCP_ERR_MAX];
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!ok)
		s->ok = 0;
	if (s->error[0])
		buf_printf(&b, "%s; %s", s->error, msg);
	else
		buf_puts(&b, msg);
	free(s->error);
	s->error = buf_steal(&b);
}

static void
step_action(Mcp__V1__StepResult *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
step_action(Mcp__V1__StepResult *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->actions = realloc(s->actions, (s->n_actions + 1) * sizeof(char *));
	if (s->actions == NULL)
		abort();
	s->actions[s->n_actions++] = xstrdup(line);
}

/* ---- nodes as placement sees them ---- */

struct fleet_view {
	struct place_node *pn;
	char (*names)[64];
	char (*roles)[16];
	const char *(*rts)[5];
	size_t n;
};

static void
fleet_view_free(struct fleet_view *v)
{
	free(v->pn);
	free(v->names);
	free(v->roles);
	free(v->rts);
	memset(v, 0, sizeof(*v));
}

/* A copy of the node table with placement counts (placements may be NULL). */
static void
fleet_view_get(struct master *m, const struct mdb_placement *pl, size_t npl,
    struct fleet_view *v)
{
	size_t i, j;

	pthread_mutex_lock(&m->mu);
	v->n = m->nnodes;
	v->pn = xcalloc(v->n + 1, sizeof(*v->pn));
	v->names = xcalloc(v->n + 1, sizeof(*v->names));
	v->roles = xcalloc(v->n + 1, sizeof(*v->roles));
	v->rts = xcalloc(v->n + 1, sizeof(*v->rts));
	for (i = 0; i < v->n; i++) {
		const struct master_node *n = &m->nodes[i];

		mcp_strlcpy(v->names[i], n->name, sizeof(v->names[i]));
		mcp_strlcpy(v->roles[i], n->role, sizeof(v->roles[i]));
		for (j = 0; j < n->res.nruntimes && j < 4; j++)
			v->rts[i][j] = n->res.runtimes[j];
		v->pn[i].name = v->names[i];
		v->pn[i].role = v->roles[i];
		v->pn[i].healthy = n->health == HEALTH_HEALTHY;
		v->pn[i].runtimes = v->rts[i];
		v->pn[i].memory_free_mb = (long)n->res.memory_free_mb;
		v->pn[i].vcpus_free = n->res.vcpus_free;
	}
	/* runtime names point into the node table, which only grows: copy */
	for (i = 0; i < v->n; i++)
		for (j = 0; v->rts[i][j]; j++)
			v->rts[i][j] = strcmp(v->rts[i][j], "unikernel") == 0 ?
			    "unikernel" : strcmp(v->rts[i][j], "container") == 0 ?
			    "container" : "other";
	pthread_mutex_unlock(&m->mu);
	for (i = 0; i < npl; i++)
		for (j = 0; j < v->n; j++)
			if (strcmp(pl[i].node, v->names[j]) == 0)
				v->pn[j].placed++;
}

/* The node's client and advertised address, or NULL with err. */
static struct wire_client *
node_handle(struct master *m, const char *name, char *ip, size_t ipsz,
    struct mcp_err *err)
{
	struct master_node *n;
	struct wire_client *c = NULL;

	pthread_mutex_lock(&m->mu);
	if ((n = master_node_find(m, name)) == NULL)
		mcp_err_set(err, MCP_E_NOTFOUND, "node %s is not known", name);
	else {
		c = master_node_client(m, n, err);
		if (ip)
			master_node_ip(n, ip, ipsz);
	}
	pthread_mutex_unlock(&m->mu);
	return c;
}

/*
 * The one path by which the master forwards a call to a node's agent:
 * the node's pooled client, the call with a deadline, the agent's error
 * prefixed with the node's name (its code kept).  ip: the node's
 * advertised address, if wanted.
 */
static int
node_forward(struct master *m, const char *node, char *ip, size_t ipsz,
    const char *method, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp,
    int timeout_s, struct mcp_err *err)
{
	struct wire_client *wc;

	if ((wc = node_handle(m, node, ip, ipsz, err)) == NULL)
		return -1;
	if (wire_call(wc, method, req, desc, resp, timeout_s * 1000, err) == -1)
		return mcp_err_prefix(err, "node %s", node);
	return 0;
}

/* ---- deploy ---- */

static void
place_request_from(const struct svc_def *def, const char *current,
    struct place_request *req)
{
	memset(req, 0, sizeof(*req));
	req->service = def->name;
	req->pin = def->node;
	req->tier = def->tier;
	req->current = current;
	for (size_t i = 0; i < def->ncomponents; i++) {
		const struct svc_component *c = &def->components[i];

		if (strcmp(c->runtime, "unikernel") == 0) {
			req->needs_unikernel = 1;
			req->memory_mb += c->memory_mb;
			req->vcpus += c->vcpus > 0 ? c->vcpus : 1;
		} else
			req->needs_container = 1;
	}
}

static void
deploy_dns(struct master *m, const struct svc_def *def, const char *ip,
    Mcp__V1__StepResult *s)
{
	const char *skip = master_dns_skipped(m);
	char inst[SVC_INSTANCE_MAX], name[SVC_INSTANCE_MAX + 256];

	if (skip) {
		step_note(s, 1, "%s", skip);
		return;
	}
	for (size_t i = 0; i < def->ncomponents; i++) {
		struct mcp_err e = MCP_ERR_INIT;

		svc_instance_name(inst, sizeof(inst), def->name, def->components[i].name);
		snprintf(name, sizeof(name), "%s.%s", inst, m->cfg.dns.zone);
		if (master_dns_set(m, name, ip, &e) == -1)
			step_note(s, 0, "%s A %s: %s", name, ip, e.msg);
		else
			step_action(s, "%s A %s", name, ip);
	}
}

static int
domain_allowed(struct master *m, const char *hostname)
{
	for (size_t i = 0; m->cfg.allowed_domains && m->cfg.allowed_domains[i]; i++)
		if (svc_domain_under(hostname, m->cfg.allowed_domains[i]))
			return 1;
	return 0;
}

/* Ask e's edge node to drop e (the row stays); NOTFOUND counts as done. */
static int
edge_unset(struct master *m, const struct mdb_edge *e, struct mcp_err *err)
{
	Mcp__V1__EdgeRouteRequest req = MCP__V1__EDGE_ROUTE_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	struct wire_client *c;

	if ((c = node_handle(m, e->edge_node, NULL, 0, err)) == NULL)
		return -1;
	req.hostname = (char *)e->hostname;
	req.backend_hostname = (char *)e->backend_hostname;
	if (wire_call(c, "/mcp.v1.Agent/RemoveEdgeRoute", &req.base,
	    &mcp__v1__op_response__descriptor, &resp,
	    m->cfg.edge_timeout_s * 1000, err) == -1 && err->code != MCP_E_NOTFOUND)
		return mcp_err_prefix(err, "edge node %s", e->edge_node);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	mcp_err_clear(err);
	return 0;
}

/* Remove one edge route at its edge node, then its row. */
static int
edge_remove(struct master *m, const struct mdb_edge *e, struct mcp_err *err)
{
	if (edge_unset(m, e, err) == -1)
		return -1;
	return mdb_edge_delete(m->db, e->hostname, err);
}

/* Set up one public route on an edge node (the one it has, else the
 * least loaded) and record it. */
static int
edge_setup(struct master *m, const struct svc_def *def,
    const struct svc_component *c, const struct svc_route *r,
    Mcp__V1__StepResult *s, struct mcp_err *err)
{
	Mcp__V1__EdgeRouteRequest req = MCP__V1__EDGE_ROUTE_REQUEST__INIT;
	struct mdb_edge *all = NULL, rec;
	struct fleet_view v = { 0 };
	ProtobufCMessage *resp = NULL;
	struct wire_client *wc;
	char inst[SVC_INSTANCE_MAX];
	size_t nall = 0, i, j;
	int *counts = NULL, pick = -1, rc = -1, had = -1;

	if (!domain_allowed(m, r->hostname))
		return mcp_err_set(err, MCP_E_INVALID, "%s: not under [edge] "
		    "allowed_domains", r->hostname);
	if (m->cfg.dns.zone[0] == '\0')
		return mcp_err_set(err, MCP_E_PRECONDITION, "%s: no internal zone "
		    "([dns] zone) to name the backend by", r->hostname);
	if (mdb_edge_list(m->db, NULL, &all, &nall, err) == -1)
		return -1;
	memset(&rec, 0, sizeof(rec));
	fleet_view_get(m, NULL, 0, &v);
	counts = xcalloc(v.n + 1, sizeof(int));
	for (i = 0; i < nall; i++)
		for (j = 0; j < v.n; j++)
			if (strcmp(all[i].edge_node, v.names[j]) == 0) {
				counts[j]++;
				if (strcmp(all[i].hostname, r->hostname) == 0)
					pick = (int)j;
			}
	for (i = 0; i < nall; i++) {
		if (strcmp(all[i].hostname, r->hostname) != 0)
			continue;
		if (strcmp(all[i].service, def->name) != 0) {
			mcp_err_set(err, MCP_E_EXISTS, "%s: already an edge route of "
			    "service %s", r->hostname, all[i].service);
			goto out;
		}
		had = (int)i;
	}
	if (pick < 0 || !v.pn[pick].healthy)
		pick = master_place_edge(v.pn, counts, v.n);
	if (pick < 0) {
		mcp_err_set(err, MCP_E_UNAVAILABLE, "%s: no healthy edge node",
		    r->hostname);
		goto out;
	}
	svc_instance_name(inst, sizeof(inst), def->name, c->name);
	mcp_strlcpy(rec.hostname, r->hostname, sizeof(rec.hostname));
	mcp_strlcpy(rec.service, def->name, sizeof(rec.service));
	mcp_strlcpy(rec.component, c->name, sizeof(rec.component));
	mcp_strlcpy(rec.edge_node, v.names[pick], sizeof(rec.edge_node));
	snprintf(rec.backend_hostname, sizeof(rec.backend_hostname), "%s.%s", inst,
	    m->cfg.dns.zone);
	rec.backend_port = r->port;
	if ((wc = node_handle(m, rec.edge_node, NULL, 0, err)) == NULL)
		goto out;
	req.hostname = rec.hostname;
	req.backend_hostname = rec.backend_hostname;
	req.backend_port = (uint32_t)rec.backend_port;
	req.backend_tls = 1;
	if (wire_call(wc, "/mcp.v1.Agent/SetupEdgeRoute", &req.base,
	    &mcp__v1__op_response__descriptor, &resp, m->cfg.edge_timeout_s * 1000,
	    err) == -1) {
		mcp_err_prefix(err, "%s on edge node %s", r->hostname, rec.edge_node);
		goto out;
	}
	if (mdb_edge_put(m->db, &rec, err) == -1)
		goto out;
	step_action(s, "%s on edge node %s -> %s:%d", rec.hostname, rec.edge_node,
	    rec.backend_hostname, rec.backend_port);
	/* moved off an edge node that went unhealthy: take it down there too
	 * (best effort: that node may be away; the row now names the new one) */
	if (had >= 0 && strcmp(all[had].edge_node, rec.edge_node) != 0) {
		struct mcp_err uerr = MCP_ERR_INIT;

		if (edge_unset(m, &all[had], &uerr) == -1)
			step_action(s, "%s left on edge node %s (moved): %s", rec.hostname,
			    all[had].edge_node, uerr.msg);
		else
			step_action(s, "%s removed from edge node %s (moved)",
			    rec.hostname, all[had].edge_node);
	}
	rc = 0;
out:
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	free(counts);
	fleet_view_free(&v);
	free(all);
	return rc;
}

static int
def_has_public(const struct svc_def *def, const char *hostname)
{
	for (size_t i = 0; i < def->ncomponents; i++)
		for (size_t j = 0; j < def->components[i].nroutes; j++) {
			const struct svc_route *r = &def->components[i].routes[j];

			if (r->public && r->hostname[0] &&
			    (hostname == NULL || strcmp(r->hostname, hostname) == 0))
				return 1;
		}
	return 0;
}

static void
deploy_edge(struct master *m, const struct svc_def *def, Mcp__V1__StepResult *s)
{
	struct mdb_edge *old = NULL;
	size_t nold = 0, i, j;
	struct mcp_err e = MCP_ERR_INIT;

	for (i = 0; i < def->ncomponents; i++)
		for (j = 0; j < def->components[i].nroutes; j++) {
			const struct svc_route *r = &def->components[i].routes[j];

			if (!r->public || !r->hostname[0])
				continue;
			mcp_err_clear(&e);
			if (edge_setup(m, def, &def->components[i], r, s, &e) == -1)
				step_note(s, 0, "%s", e.msg);
		}
	/* public names the new definition no longer has */
	if (mdb_edge_list(m->db, def->name, &old, &nold, &e) == -1) {
		step_note(s, 0, "%s", e.msg);
		return;
	}
	for (i = 0; i < nold; i++) {
		if (def_has_public(def, old[i].hostname))
			continue;
		mcp_err_clear(&e);
		if (edge_remove(m, &old[i], &e) == -1)
			step_note(s, 0, "remove %s: %s", old[i].hostname, e.msg);
		else
			step_action(s, "removed %s from edge node %s", old[i].hostname,
			    old[i].edge_node);
	}
	free(old);
	if (s->n_actions == 0 && s->ok && !def_has_public(def, NULL))
		step_note(s, 1, "no public routes");
}

int
master_deploy(struct master *m, const char *text, size_t len, const char *source,
    Mcp__V1__MasterDeployResponse *out, struct mcp_err *err)
{
	Mcp__V1__DeployRequest areq = MCP__V1__DEPLOY_REQUEST__INIT;
	Mcp__V1__DeployResponse *aresp = NULL;
	struct mdb_placement cur, rec, *pl = NULL;
	struct place_request preq;
	struct fleet_view v = { 0 };
	struct svc_def *def = NULL;
	Mcp__V1__StepResult *sd, *sdns, *sedge;
	size_t npl = 0, i;
	char ip[64] = "";
	int found = 0, pick, rc = -1, locked = 0;

	memset(&cur, 0, sizeof(cur));
	if (svc_parse(text, len, source && source[0] ? source : "definition", &def,
	    err) == -1)
		return -1;
	master_lock_service(m, def->name);
	locked = 1;
	if (mdb_placement_get(m->db, def->name, &cur, &found, err) == -1 ||
	    mdb_placement_list(m->db, &pl, &npl, err) == -1)
		goto out;
	fleet_view_get(m, pl, npl, &v);
	place_request_from(def, found ? cur.node : NULL, &preq);
	if ((pick = master_place(v.pn, v.n, m->cfg.node, &preq, err)) < 0)
		goto out;
	out->service = xstrdup(def->name);
	out->node = xstrdup(v.names[pick]);
	sd = step_add(out, "deploy");
	sdns = step_add(out, "dns");
	sedge = step_add(out, "edge");

	areq.definition = (char *)text;
	areq.source = (char *)(source ? source : "");
	if (node_forward(m, v.names[pick], ip, sizeof(ip), "/mcp.v1.Agent/Deploy",
	    &areq.base, &mcp__v1__deploy_response__descriptor,
	    (ProtobufCMessage **)&aresp, m->cfg.deploy_timeout_s, err) == -1) {
		step_note(sd, 0, "%s", err->msg);
		mcp_err_clear(err);
	} else {
		for (i = 0; i < aresp->n_actions; i++)
			step_action(sd, "%s", aresp->actions[i]);
		out->status = aresp->service;
		aresp->service = NULL;
	}
	if (sd->ok) {
		memset(&rec, 0, sizeof(rec));
		mcp_strlcpy(rec.service, def->name, sizeof(rec.service));
		mcp_strlcpy(rec.node, v.names[pick], sizeof(rec.node));
		mcp_strlcpy(rec.tier, def->tier, sizeof(rec.tier));
		rec.definition = (char *)text;
		if (mdb_placement_put(m->db, &rec, err) == -1) {
			step_note(sd, 0, "deployed on %s but not recorded: %s",
			    v.names[pick], err->msg);
			mcp_err_clear(err);
		} else
			step_action(sd, "placed on %s", v.names[pick]);
	}
	if (!sd->ok) {
		step_note(sdns, 0, "not attempted: the deploy step failed");
		step_note(sedge, 0, "not attempted: the deploy step failed");
	} else {
		deploy_dns(m, def, ip, sdns);
		deploy_edge(m, def, sedge);
	}
	out->success = sd->ok && sdns->ok && sedge->ok;
	log_info("deploy %s on %s: deploy %s, dns %s, edge %s", def->name,
	    v.names[pick], sd->ok ? "ok" : "FAILED", sdns->ok ? "ok" : "FAILED",
	    sedge->ok ? "ok" : "FAILED");
	rc = 0;
out:
	if (aresp)
		protobuf_c_message_free_unpacked(&aresp->base, NULL);
	fleet_view_free(&v);
	mdb_placements_free(pl, npl);
	free(cur.definition);
	if (locked)
		master_unlock_service(m, def->name);
	svc_free(def);
	return rc;
}

/* ---- undeploy ---- */

int
master_undeploy(struct master *m, const char *service,
    Mcp__V1__MasterDeployResponse *out, struct mcp_err *err)
{
	Mcp__V1__ServiceRequest req = MCP__V1__SERVICE_REQUEST__INIT;
	Mcp__V1__OpResponse *resp = NULL;
	Mcp__V1__StepResult *sw, *se, *sdns, *srow;
	struct mdb_placement p;
	struct mdb_edge *edges = NULL;
	struct svc_def *def = NULL;
	struct mcp_err e = MCP_ERR_INIT;
	size_t nedges = 0, i;
	int found = 0, rc = -1;

	if (!svc_name_valid(service))
		return mcp_err_set(err, MCP_E_INVALID, "undeploy: \"%s\" is not a "
		    "service name", service);
	master_lock_service(m, service);
	if (mdb_placement_get(m->db, service, &p, &found, err) == -1)
		goto out;
	if (!found) {
		mcp_err_set(err, MCP_E_NOTFOUND, "undeploy %s: the master has no "
		    "placement for it (deployed with --direct? undeploy it there)",
		    service);
		goto out;
	}
	out->service = xstrdup(service);
	out->node = xstrdup(p.node);
	sw = step_add(out, "undeploy");
	se = step_add(out, "edge");
	sdns = step_add(out, "dns");
	srow = step_add(out, "record");

	/* the worker first: the backend stops before its names go */
	req.service = (char *)service;
	if (node_forward(m, p.node, NULL, 0, "/mcp.v1.Agent/Undeploy", &req.base,
	    &mcp__v1__op_response__descriptor, (ProtobufCMessage **)&resp,
	    m->cfg.undeploy_timeout_s, &e) == -1) {
		if (e.code == MCP_E_NOTFOUND)
			step_action(sw, "node %s no longer had it", p.node);
		else
			step_note(sw, 0, "%s", e.msg);
	} else {
		for (i = 0; i < resp->n_actions; i++)
			step_action(sw, "%s", resp->actions[i]);
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	}

	if (mdb_edge_list(m->db, service, &edges, &nedges, &e) == -1)
		step_note(se, 0, "%s", e.msg);
	for (i = 0; i < nedges; i++) {
		mcp_err_clear(&e);
		if (edge_remove(m, &edges[i], &e) == -1)
			step_note(se, 0, "%s: %s", edges[i].hostname, e.msg);
		else
			step_action(se, "removed %s from edge node %s", edges[i].hostname,
			    edges[i].edge_node);
	}

	mcp_err_clear(&e);
	if (master_dns_skipped(m))
		step_note(sdns, 1, "%s", master_dns_skipped(m));
	else if (svc_parse(p.definition, strlen(p.definition), service, &def, &e) == -1)
		step_note(sdns, 0, "recorded definition: %s", e.msg);
	else
		for (i = 0; i < def->ncomponents; i++) {
			char inst[SVC_INSTANCE_MAX], name[SVC_INSTANCE_MAX + 256];

			svc_instance_name(inst, sizeof(inst), service, def->components[i].name);
			snprintf(name, sizeof(name), "%s.%s", inst, m->cfg.dns.zone);
			mcp_err_clear(&e);
			if (master_dns_delete(m, name, &e) == -1)
				step_note(sdns, 0, "%s: %s", name, e.msg);
			else
				step_action(sdns, "deleted %s A", name);
		}

	/* the placement goes only once the worker no longer runs it */
	mcp_err_clear(&e);
	if (!sw->ok)
		step_note(srow, 0, "placement on %s kept: the node may still run it",
		    p.node);
	else if (mdb_placement_delete(m->db, service, &e) == -1)
		step_note(srow, 0, "%s", e.msg);
	else
		step_action(srow, "placement on %s removed", p.node);
	out->success = sw->ok && se->ok && sdns->ok && srow->ok;
	log_info("undeploy %s from %s: %s", service, p.node,
	    out->success ? "done" : "incomplete");
	rc = 0;
out:
	svc_free(def);
	free(edges);
	free(p.definition);
	master_unlock_service(m, service);
	return rc;
}

/* ---- stop / start / restart ---- */

int
master_service_op(struct master *m, const char *op, const char *service,
    const char *component, Mcp__V1__MasterOpResponse *out, struct mcp_err *err)
{
	Mcp__V1__ServiceRequest req = MCP__V1__SERVICE_REQUEST__INIT;
	Mcp__V1__OpResponse *resp = NULL;
	struct mdb_placement p;
	struct master_node *n;
	char method[64];
	int found = 0, unhealthy = 0, rc = -1;

	memset(&p, 0, sizeof(p));
	if (!svc_name_valid(service))
		return mcp_err_set(err, MCP_E_INVALID, "%s: \"%s\" is not a service "
		    "name", op, service);
	master_lock_service(m, service);
	if (mdb_placement_get(m->db, service, &p, &found, err) == -1)
		goto out;
	if (!found) {
		mcp_err_set(err, MCP_E_NOTFOUND, "%s %s: the master has no placement "
		    "for it (deployed with --direct? then use --direct)", op,
		    service);
		goto out;
	}
	pthread_mutex_lock(&m->mu);
	if ((n = master_node_find(m, p.node)) != NULL)
		unhealthy = n->health == HEALTH_UNHEALTHY;
	pthread_mutex_unlock(&m->mu);
	if (unhealthy) {
		mcp_err_set(err, MCP_E_UNAVAILABLE, "%s %s: node %s is unhealthy "
		    "(no heartbeat, health probe failed)", op, service, p.node);
		goto out;
	}
	req.service = (char *)service;
	req.component = (char *)(component ? component : "");
	snprintf(method, sizeof(method), "/mcp.v1.Agent/%s", op);
	/* stopping is bounded like undeploy, starting like deploy */
	if (node_forward(m, p.node, NULL, 0, method, &req.base,
	    &mcp__v1__op_response__descriptor, (ProtobufCMessage **)&resp,
	    strcmp(op, "Stop") == 0 ? m->cfg.undeploy_timeout_s :
	    m->cfg.deploy_timeout_s, err) == -1)
		goto out;
	out->service = xstrdup(service);
	out->node = xstrdup(p.node);
	out->actions = resp->actions;
	out->n_actions = resp->n_actions;
	resp->actions = NULL;
	resp->n_actions = 0;
	log_info("%s %s%s%s on %s: done", op, service, req.component[0] ? "/" : "",
	    req.component, p.node);
	rc = 0;
out:
	if (resp)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	free(p.definition);
	master_unlock_service(m, service);
	return rc;
}

/* ---- status ---- */

struct status_call {
	struct master *m;
	char node[64];
	struct wire_client *client;
	Mcp__V1__ListServicesResponse *resp;
	struct mcp_err err;
	pthread_t th;
	int started;
};

static void *
status_call_run(void *arg)
{
	struct status_call *sc = arg;
	Mcp__V1__ListServicesRequest req = MCP__V1__LIST_SERVICES_REQUEST__INIT;

	if (sc->client == NULL)
		return NULL;
	if (wire_call(sc->client, "/mcp.v1.Agent/ListServices", &req.base,
	    &mcp__v1__list_services_response__descriptor,
	    (ProtobufCMessage **)&sc->resp, sc->m->cfg.health_timeout_s * 1000,
	    &sc->err) == -1)
		sc->resp = NULL;
	return NULL;
}

static Mcp__V1__FleetService *
fleet_add(Mcp__V1__MasterStatusResponse *out, const char *name, const char *node,
    const char *state, const char *error)
{
	Mcp__V1__FleetService *f = (Mcp__V1__FleetService *)wire_msg_new(
	    &mcp__v1__fleet_service__descriptor);

	f->name = xstrdup(name);
	f->node = xstrdup(node);
	f->state = xstrdup(state);
	f->error = xstrdup(error ? error : "");
	out->services = realloc(out->services, (out->n_services + 1) *
	    sizeof(*out->services));
	if (out->services == NULL)
		abort();
	out->services[out->n_services++] = f;
	return f;
}

/* Take service name out of sc's answer (NULL if it does not have it). */
static Mcp__V1__ServiceStatus *
status_take(struct status_call *sc, const char *name)
{
	for (size_t i = 0; sc->resp && i < sc->resp->n_services; i++) {
		Mcp__V1__ServiceStatus *s = sc->resp->services[i];

		if (s && strcmp(s->name, name) == 0) {
			sc->resp->services[i] = NULL;
			return s;
		}
	}
	return NULL;
}

static void
fleet_edges(Mcp__V1__FleetService *f, const struct mdb_edge *edges, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		Mcp__V1__EdgeRouteRecord *r;

		if (strcmp(edges[i].service, f->name) != 0)
			continue;
		r = (Mcp__V1__EdgeRouteRecord *)wire_msg_new(
		    &mcp__v1__edge_route_record__descriptor);
		r->hostname = xstrdup(edges[i].hostname);
		r->service = xstrdup(edges[i].service);
		r->component = xstrdup(edges[i].component);
		r->edge_node = xstrdup(edges[i].edge_node);
		r->backend_hostname = xstrdup(edges[i].backend_hostname);
		r->backend_port = (uint32_t)edges[i].backend_port;
		f->edge_routes = realloc(f->edge_routes, (f->n_edge_routes + 1) *
		    sizeof(*f->edge_routes));
		if (f->edge_routes == NULL)
			abort();
		f->edge_routes[f->n_edge_routes++] = r;
	}
}

int
master_status(struct master *m, const char *service,
    Mcp__V1__MasterStatusResponse *out, struct mcp_err *err)
{
	struct status_call *calls = NULL;
	struct mdb_placement *pl = NULL;
	struct mdb_edge *edges = NULL;
	size_t npl = 0, nedges = 0, nc = 0, i, j;
	int rc = -1;

	if (service && service[0] == '\0')
		service = NULL;
	if (mdb_placement_list(m->db, &pl, &npl, err) == -1 ||
	    mdb_edge_list(m->db, service, &edges, &nedges, err) == -1)
		goto out;
	pthread_mutex_lock(&m->mu);
	calls = xcalloc(m->nnodes + 1, sizeof(*calls));
	for (i = 0; i < m->nnodes; i++) {
		struct master_node *n = &m->nodes[i];

		calls[nc].m = m;
		mcp_strlcpy(calls[nc].node, n->name, sizeof(calls[nc].node));
		calls[nc].client = master_node_client(m, n, &calls[nc].err);
		nc++;
	}
	pthread_mutex_unlock(&m->mu);
	for (i = 0; i < nc; i++)
		calls[i].started = pthread_create(&calls[i].th, NULL, status_call_run,
		    &calls[i]) == 0;
	for (i = 0; i < nc; i++) {
		if (calls[i].started)
			pthread_join(calls[i].th, NULL);
		else
			status_call_run(&calls[i]);
	}
	for (i = 0; i < nc; i++) {
		Mcp__V1__NodeReport *r = (Mcp__V1__NodeReport *)wire_msg_new(
		    &mcp__v1__node_report__descriptor);

		r->node = xstrdup(calls[i].node);
		r->reachable = calls[i].resp != NULL;
		r->error = xstrdup(calls[i].resp ? "" : calls[i].err.msg);
		out->nodes = realloc(out->nodes, (out->n_nodes + 1) * sizeof(*out->nodes));
		if (out->nodes == NULL)
			abort();
		out->nodes[out->n_nodes++] = r;
	}
	/* placements: ok, stale or unreachable */
	for (i = 0; i < npl; i++) {
		struct status_call *sc = NULL;
		Mcp__V1__FleetService *f;

		if (service && strcmp(pl[i].service, service) != 0)
			continue;
		for (j = 0; j < nc; j++)
			if (strcmp(calls[j].node, pl[i].node) == 0)
				sc = &calls[j];
		if (sc == NULL || sc->resp == NULL) {
			f = fleet_add(out, pl[i].service, pl[i].node, "unreachable",
			    sc ? sc->err.msg : "the node is not known");
		} else {
			Mcp__V1__ServiceStatus *s = status_take(sc, pl[i].service);

			f = fleet_add(out, pl[i].service, pl[i].node, s ? "ok" : "stale",
			    s ? "" : "placed here but the agent does not have it");
			f->status = s;
		}
		fleet_edges(f, edges, nedges);
	}
	/* what agents run without a placement */
	for (j = 0; j < nc; j++)
		for (i = 0; calls[j].resp && i < calls[j].resp->n_services; i++) {
			Mcp__V1__ServiceStatus *s = calls[j].resp->services[i];
			Mcp__V1__FleetService *f;

			if (s == NULL || (service && strcmp(s->name, service) != 0))
				continue;
			f = fleet_add(out, s->name, calls[j].node, "orphan",
			    "running without a placement (deployed with --direct?)");
			f->status = s;
			calls[j].resp->services[i] = NULL;
		}
	master_attest_flag(out);
	if (service && out->n_services == 0) {
		mcp_err_set(err, MCP_E_NOTFOUND, "service %s is neither placed nor "
		    "running on any node that answered", service);
		goto out;
	}
	rc = 0;
out:
	for (i = 0; i < nc; i++)
		if (calls[i].resp) {
			/* taken entries were set to NULL: compact before freeing */
			size_t k = 0;

			for (j = 0; j < calls[i].resp->n_services; j++)
				if (calls[i].resp->services[j])
					calls[i].resp->services[k++] = calls[i].resp->services[j];
			calls[i].resp->n_services = k;
			protobuf_c_message_free_unpacked(&calls[i].resp->base, NULL);
		}
	free(calls);
	free(edges);
	mdb_placements_free(pl, npl);
	return rc;
}

void
master_reconcile_log(struct master *m)
{
	Mcp__V1__MasterStatusResponse *st = (Mcp__V1__MasterStatusResponse *)
	    wire_msg_new(&mcp__v1__master_status_response__descriptor);
	struct mcp_err err = MCP_ERR_INIT;
	size_t i, bad = 0;

	if (master_status(m, NULL, st, &err) == -1)
		log_warnx("reconcile: %s", err.msg);
	for (i = 0; i < st->n_services; i++) {
		const Mcp__V1__FleetService *f = st->services[i];

		if (strcmp(f->state, "ok") == 0)
			continue;
		bad++;
		log_warnx("reconcile: service %s on %s: %s%s%s", f->name, f->node,
		    f->state, f->error[0] ? ": " : "", f->error);
	}
	log_info("reconcile: %zu service(s), %zu not as placed (read-only: "
	    "nothing changed)", st->n_services, bad);
	protobuf_c_message_free_unpacked(&st->base, NULL);
}
