/*
 * master/ops.c: Deploy, Undeploy and Status across the fleet (SPEC §5).
 *
 * Deploy: place (placement.c) and hold the node -> forward Deploy to that
 * node's agent -> record the placement (or release the hold if the agent
 * refused) -> DNS A records <instance>.<zone> -> edge routes for public
 * hostnames; one result per step, partial failure reported exactly.  The
 * hold makes placement atomic: concurrent deploys of different services
 * count each other's choices, so they spread as sequential ones would
 * (edge nodes for public routes likewise).  Undeploy: the worker first,
 * then edge routes, DNS, rows; best effort, each failure reported, and a
 * row is dropped only once what it points at is gone.  Status: every agent asked once, in parallel, each
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
#include "util/clock.h"
#include "util/log.h"
#include "wire/wire.h"

/* ---- steps ---- */

Mcp__V1__StepResult *
master_step_add(Mcp__V1__MasterDeployResponse *out, const char *name)
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

/* Set the step's outcome; a failure's message is appended to earlier ones. */
void
master_step_note(Mcp__V1__StepResult *s, int ok, const char *fmt, ...)
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

void
master_step_action(Mcp__V1__StepResult *s, const char *fmt, ...)
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

/* v's counts from what is recorded (rec) and held in hs (may be NULL;
 * m->place_mu held). */
static void
fleet_view_count(struct fleet_view *v, const struct place_ref *rec,
    size_t nrec, const struct master_holds *hs)
{
	size_t i, nheld = hs ? hs->n : 0;
	struct place_ref *held = xcalloc(nheld + 1, sizeof(*held));

	for (i = 0; i < nheld; i++) {
		held[i].service = hs->v[i].key;
		held[i].node = hs->v[i].node;
	}
	master_place_count(v->pn, v->n, rec, nrec, held, nheld);
	free(held);
}

/*
 * A copy of the node table with placement counts: the recorded placements
 * pl (may be NULL) and, with holds set, the placements held for deploys in
 * flight (m->place_mu held).
 */
static void
fleet_view_get(struct master *m, const struct mdb_placement *pl, size_t npl,
    int holds, struct fleet_view *v)
{
	struct place_ref *rec;
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
	rec = xcalloc(npl + 1, sizeof(*rec));
	for (i = 0; i < npl; i++) {
		rec[i].service = pl[i].service;
		rec[i].node = pl[i].node;
	}
	fleet_view_count(v, rec, npl, holds ? &m->holds : NULL);
	free(rec);
}

/* Hold node for key (a service, a hostname) until what it was chosen
 * for is recorded or failed; replaces key's earlier hold (m->place_mu
 * held). */
static void
hold_add(struct master_holds *hs, const char *key, const char *node)
{
	struct master_hold *h;

	for (size_t i = 0; i < hs->n; i++)
		if (strcmp(hs->v[i].key, key) == 0) {
			mcp_strlcpy(hs->v[i].node, node, sizeof(hs->v[i].node));
			return;
		}
	hs->v = realloc(hs->v, (hs->n + 1) * sizeof(*hs->v));
	if (hs->v == NULL)
		abort();
	h = &hs->v[hs->n++];
	mcp_strlcpy(h->key, key, sizeof(h->key));
	mcp_strlcpy(h->node, node, sizeof(h->node));
}

/* key's hold, or NULL (m->place_mu held). */
static const struct master_hold *
hold_find(const struct master_holds *hs, const char *key)
{
	for (size_t i = 0; i < hs->n; i++)
		if (strcmp(hs->v[i].key, key) == 0)
			return &hs->v[i];
	return NULL;
}

/* Release key's hold (m->place_mu held). */
static void
hold_drop(struct master_holds *hs, const char *key)
{
	for (size_t i = 0; i < hs->n; i++)
		if (strcmp(hs->v[i].key, key) == 0) {
			hs->v[i] = hs->v[--hs->n];
			return;
		}
}

/* The node's client and advertised address, or NULL with err. */
struct wire_client *
master_node_handle(struct master *m, const char *name, char *ip, size_t ipsz,
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
int
master_node_forward(struct master *m, const char *node, char *ip, size_t ipsz,
    const char *method, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp,
    int timeout_s, struct mcp_err *err)
{
	struct wire_client *wc;

	if ((wc = master_node_handle(m, node, ip, ipsz, err)) == NULL)
		return -1;
	if (wire_call(wc, method, req, desc, resp, timeout_s * 1000, err) == -1)
		return mcp_err_prefix(err, "node %s", node);
	return 0;
}

int
master_node_usable(struct master *m, const char *node, struct mcp_err *err)
{
	struct master_node *n;
	int ok = 0;

	pthread_mutex_lock(&m->mu);
	if ((n = master_node_find(m, node)) == NULL)
		mcp_err_set(err, MCP_E_NOTFOUND, "node %s is not known", node);
	else if (n->health != HEALTH_HEALTHY)
		mcp_err_set(err, MCP_E_UNAVAILABLE, "node %s is %s", node,
		    master_health_name(n->health));
	else
		ok = 1;
	pthread_mutex_unlock(&m->mu);
	return ok;
}

/* ---- deploy ---- */

static void
watch_step(const struct master_deploy_watch *w, const char *node,
    const char *component, const char *step, const char *detail)
{
	if (w && w->fn)
		w->fn(w->arg, node, component, step, detail,
		    (int64_t)(mcp_now_ms() - w->t0_ms));
}

struct forward_watch {
	const struct master_deploy_watch *w;
	const char *node;
	Mcp__V1__DeployResponse *result;	/* the agent's, copied */
};

static int
forward_event(const ProtobufCMessage *msg, void *arg)
{
	const Mcp__V1__DeployEvent *ev = (const Mcp__V1__DeployEvent *)msg;
	struct forward_watch *fw = arg;
	uint8_t *packed;
	size_t len;

	if (ev->result == NULL) {
		watch_step(fw->w, fw->node, ev->component, ev->step, ev->detail);
		return 0;
	}
	len = protobuf_c_message_get_packed_size(&ev->result->base);
	packed = xcalloc(1, len ? len : 1);
	protobuf_c_message_pack(&ev->result->base, packed);
	if (fw->result)
		protobuf_c_message_free_unpacked(&fw->result->base, NULL);
	fw->result = mcp__v1__deploy_response__unpack(NULL, len, packed);
	free(packed);
	return 0;
}

/*
 * The agent's Deploy, through DeployStream with its steps forwarded to w
 * when there is one (an agent without DeployStream gets the plain call).
 */
static int
agent_deploy_call(struct master *m, const char *node, char *ip, size_t ipsz,
    Mcp__V1__DeployRequest *areq, const struct master_deploy_watch *w,
    Mcp__V1__DeployResponse **aresp, struct mcp_err *err)
{
	struct forward_watch fw = { w, node, NULL };
	struct wire_client *wc;

	if (w == NULL)
		return master_node_forward(m, node, ip, ipsz, "/mcp.v1.Agent/Deploy",
		    &areq->base, &mcp__v1__deploy_response__descriptor,
		    (ProtobufCMessage **)aresp, m->cfg.deploy_timeout_s, err);
	if ((wc = master_node_handle(m, node, ip, ipsz, err)) == NULL)
		return -1;
	areq->wait_answer_s = w->wait_answer_s;
	if (wire_call_stream(wc, "/mcp.v1.Agent/DeployStream", &areq->base,
	    &mcp__v1__deploy_event__descriptor, forward_event, &fw,
	    (m->cfg.deploy_timeout_s + w->wait_answer_s) * 1000, err) == 0) {
		if (fw.result == NULL)
			return mcp_err_set(err, MCP_E_UNAVAILABLE, "node %s: DeployStream "
			    "ended without a result", node);
		*aresp = fw.result;
		return 0;
	}
	if (fw.result)
		protobuf_c_message_free_unpacked(&fw.result->base, NULL);
	if (err->code != MCP_E_UNIMPLEMENTED)
		return mcp_err_prefix(err, "node %s", node);
	mcp_err_clear(err);
	areq->wait_answer_s = 0;
	return master_node_forward(m, node, ip, ipsz, "/mcp.v1.Agent/Deploy", &areq->base,
	    &mcp__v1__deploy_response__descriptor, (ProtobufCMessage **)aresp,
	    m->cfg.deploy_timeout_s, err);
}

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

void
master_deploy_dns(struct master *m, const struct svc_def *def, const char *ip,
    Mcp__V1__StepResult *s)
{
	const char *skip = master_dns_skipped(m);
	char inst[SVC_INSTANCE_MAX], name[SVC_INSTANCE_MAX + 256];

	if (skip) {
		master_step_note(s, 1, "%s", skip);
		return;
	}
	for (size_t i = 0; i < def->ncomponents; i++) {
		struct mcp_err e = MCP_ERR_INIT;

		svc_instance_name(inst, sizeof(inst), def->name, def->components[i].name);
		snprintf(name, sizeof(name), "%s.%s", inst, m->cfg.dns.zone);
		if (master_dns_set(m, name, ip, &e) == -1)
			master_step_note(s, 0, "%s A %s: %s", name, ip, e.msg);
		else
			master_step_action(s, "%s A %s", name, ip);
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

	if ((c = master_node_handle(m, e->edge_node, NULL, 0, err)) == NULL)
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

/*
 * Choose the edge node for r and hold it, in one step under place_mu:
 * the one it is on if healthy, else the healthy edge with the fewest
 * routes, counting those recorded and those held by deploys in flight.
 * *had: r's recorded row in all[], or -1.  The index, or -1 with err.
 */
static int
edge_choose(struct master *m, const struct svc_def *def,
    const struct svc_route *r, struct fleet_view *v, struct mdb_edge **all,
    size_t *nall, int *had, struct mcp_err *err)
{
	struct place_ref *rec = NULL;
	int *counts = NULL, pick = -1, rc = -1;
	size_t i, j;

	*had = -1;
	pthread_mutex_lock(&m->place_mu);
	if (mdb_edge_list(m->db, NULL, all, nall, err) == -1)
		goto out;
	if (hold_find(&m->edge_holds, r->hostname) != NULL) {
		mcp_err_set(err, MCP_E_EXISTS, "%s: being set up by another deploy "
		    "at this moment", r->hostname);
		goto out;
	}
	fleet_view_get(m, NULL, 0, 0, v);
	rec = xcalloc(*nall + 1, sizeof(*rec));
	for (i = 0; i < *nall; i++) {
		rec[i].service = (*all)[i].hostname;
		rec[i].node = (*all)[i].edge_node;
		if (strcmp((*all)[i].hostname, r->hostname) != 0)
			continue;
		if (strcmp((*all)[i].service, def->name) != 0) {
			mcp_err_set(err, MCP_E_EXISTS, "%s: already an edge route of "
			    "service %s", r->hostname, (*all)[i].service);
			goto out;
		}
		*had = (int)i;
		for (j = 0; j < v->n; j++)
			if (strcmp((*all)[i].edge_node, v->names[j]) == 0)
				pick = (int)j;
	}
	fleet_view_count(v, rec, *nall, &m->edge_holds);
	counts = xcalloc(v->n + 1, sizeof(int));
	for (j = 0; j < v->n; j++)
		counts[j] = v->pn[j].placed;
	if (pick < 0 || !v->pn[pick].healthy)
		pick = master_place_edge(v->pn, counts, v->n);
	if (pick < 0)
		mcp_err_set(err, MCP_E_UNAVAILABLE, "%s: no healthy edge node",
		    r->hostname);
	else {
		hold_add(&m->edge_holds, r->hostname, v->names[pick]);
		rc = pick;
	}
out:
	pthread_mutex_unlock(&m->place_mu);
	free(rec);
	free(counts);
	return rc;
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
	size_t nall = 0;
	int pick, rc = -1, had = -1, held = 0, put;

	if (!domain_allowed(m, r->hostname))
		return mcp_err_set(err, MCP_E_INVALID, "%s: not under [edge] "
		    "allowed_domains", r->hostname);
	if (m->cfg.dns.zone[0] == '\0')
		return mcp_err_set(err, MCP_E_PRECONDITION, "%s: no internal zone "
		    "([dns] zone) to name the backend by", r->hostname);
	memset(&rec, 0, sizeof(rec));
	if ((pick = edge_choose(m, def, r, &v, &all, &nall, &had, err)) < 0)
		goto out;
	held = 1;
	svc_instance_name(inst, sizeof(inst), def->name, c->name);
	mcp_strlcpy(rec.hostname, r->hostname, sizeof(rec.hostname));
	mcp_strlcpy(rec.service, def->name, sizeof(rec.service));
	mcp_strlcpy(rec.component, c->name, sizeof(rec.component));
	mcp_strlcpy(rec.edge_node, v.names[pick], sizeof(rec.edge_node));
	snprintf(rec.backend_hostname, sizeof(rec.backend_hostname), "%s.%s", inst,
	    m->cfg.dns.zone);
	rec.backend_port = r->port;
	if ((wc = master_node_handle(m, rec.edge_node, NULL, 0, err)) == NULL)
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
	/* recorded and released at once: a route is always counted */
	pthread_mutex_lock(&m->place_mu);
	put = mdb_edge_put(m->db, &rec, err);
	hold_drop(&m->edge_holds, rec.hostname);
	held = 0;
	pthread_mutex_unlock(&m->place_mu);
	if (put == -1)
		goto out;
	master_step_action(s, "%s on edge node %s -> %s:%d", rec.hostname, rec.edge_node,
	    rec.backend_hostname, rec.backend_port);
	/* back on a node it was waiting to be taken down from: it stays */
	if (mdb_edge_removal_delete(m->db, rec.edge_node, rec.hostname, err) == -1) {
		log_warnx("%s", err->msg);
		mcp_err_clear(err);
	}
	/* moved off an edge node that went unhealthy: take it down there too;
	 * if that node is away, later, once it is back (master_edge_retry) */
	if (had >= 0 && strcmp(all[had].edge_node, rec.edge_node) != 0) {
		struct mcp_err uerr = MCP_ERR_INIT;

		if (edge_unset(m, &all[had], &uerr) == 0)
			master_step_action(s, "%s removed from edge node %s (moved)",
			    rec.hostname, all[had].edge_node);
		else if (mdb_edge_removal_put(m->db, &all[had], err) == 0) {
			master_step_action(s, "%s left on edge node %s for now (moved; %s): "
			    "taken down there once the node is back", rec.hostname,
			    all[had].edge_node, uerr.msg);
			pthread_mutex_lock(&m->mu);
			m->removals_pending++;
			pthread_mutex_unlock(&m->mu);
		} else {
			master_step_note(s, 0, "%s left on edge node %s (moved; %s) and not "
			    "recorded for removal: %s", rec.hostname, all[had].edge_node,
			    uerr.msg, err->msg);
			mcp_err_clear(err);
		}
	}
	rc = 0;
out:
	if (held) {
		pthread_mutex_lock(&m->place_mu);
		hold_drop(&m->edge_holds, r->hostname);
		pthread_mutex_unlock(&m->place_mu);
	}
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	fleet_view_free(&v);
	free(all);
	return rc;
}

/*
 * Edge routes left on an edge node that was away when they moved: take
 * them down there once the node is healthy again.  Called by the health
 * thread every tick; reads the database only while removals are pending
 * and then only when a node has turned healthy, or after a failed attempt
 * 1 s, 2 s, ... up to 60 s later (a node just back may not answer yet:
 * its channel may still be backing off), else every 10 s.
 */
void
master_edge_retry(struct master *m)
{
	struct mdb_edge *rm = NULL, *cur = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	size_t nrm = 0, ncur = 0, i, j, left = 0, failed = 0;
	long long now = mcp_now_ms();
	unsigned gen, pending;

	pthread_mutex_lock(&m->mu);
	gen = m->healthy_gen;
	pending = m->removals_pending;
	if (!m->removals_pending || (gen == m->removals_gen &&
	    now < m->removals_next_ms)) {
		pthread_mutex_unlock(&m->mu);
		return;
	}
	m->removals_gen = gen;
	m->removals_next_ms = now + 10000;
	pthread_mutex_unlock(&m->mu);
	if (mdb_edge_removal_list(m->db, &rm, &nrm, &err) == -1) {
		log_warnx("edge removals: %s", err.msg);
		return;
	}
	for (i = 0; i < nrm; i++) {
		struct master_node *n;
		int healthy = 0, there = 0;

		pthread_mutex_lock(&m->mu);
		if ((n = master_node_find(m, rm[i].edge_node)) != NULL)
			healthy = n->health == HEALTH_HEALTHY;
		pthread_mutex_unlock(&m->mu);
		if (!healthy) {
			left++;
			continue;
		}
		master_lock_service(m, rm[i].service);
		mcp_err_clear(&err);
		/* a deploy may have put it back there meanwhile: then it stays */
		if (mdb_edge_list(m->db, rm[i].service, &cur, &ncur, &err) == 0)
			for (j = 0; j < ncur; j++)
				if (strcmp(cur[j].hostname, rm[i].hostname) == 0 &&
				    strcmp(cur[j].edge_node, rm[i].edge_node) == 0)
					there = 1;
		free(cur);
		cur = NULL;
		if (err.code == 0 && (there || edge_unset(m, &rm[i], &err) == 0) &&
		    mdb_edge_removal_delete(m->db, rm[i].edge_node, rm[i].hostname,
		    &err) == 0) {
			if (!there)
				log_info("edge route %s taken down on edge node %s (it had "
				    "moved while the node was away)", rm[i].hostname,
				    rm[i].edge_node);
		} else {
			log_warnx("edge route %s on edge node %s, to be taken down: %s "
			    "(retried)", rm[i].hostname, rm[i].edge_node, err.msg);
			left++;
			failed++;
		}
		master_unlock_service(m, rm[i].service);
	}
	free(rm);
	/* none left, and none recorded since the list was read */
	pthread_mutex_lock(&m->mu);
	if (left == 0 && m->removals_pending == pending)
		m->removals_pending = 0;
	if (failed) {
		m->removals_backoff_ms = m->removals_backoff_ms == 0 ? 1000 :
		    m->removals_backoff_ms >= 30000 ? 60000 :
		    m->removals_backoff_ms * 2;
		m->removals_next_ms = mcp_now_ms() + m->removals_backoff_ms;
	} else
		m->removals_backoff_ms = 0;
	pthread_mutex_unlock(&m->mu);
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

void
master_deploy_edge(struct master *m, const struct svc_def *def, Mcp__V1__StepResult *s)
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
				master_step_note(s, 0, "%s", e.msg);
		}
	/* public names the new definition no longer has */
	if (mdb_edge_list(m->db, def->name, &old, &nold, &e) == -1) {
		master_step_note(s, 0, "%s", e.msg);
		return;
	}
	for (i = 0; i < nold; i++) {
		if (def_has_public(def, old[i].hostname))
			continue;
		mcp_err_clear(&e);
		if (edge_remove(m, &old[i], &e) == -1)
			master_step_note(s, 0, "remove %s: %s", old[i].hostname, e.msg);
		else
			master_step_action(s, "removed %s from edge node %s", old[i].hostname,
			    old[i].edge_node);
	}
	free(old);
	if (s->n_actions == 0 && s->ok && !def_has_public(def, NULL))
		master_step_note(s, 1, "no public routes");
}

/*
 * An orphan a migrate left behind (mdb leftovers): say where the service
 * went and how to remove this copy, if it is still placed elsewhere.
 */
static void
orphan_why(struct master *m, Mcp__V1__FleetService *f,
    const struct mdb_placement *pl, size_t npl)
{
	struct mcp_err e = MCP_ERR_INIT;
	char to[64], why[128], msg[512];
	int found = 0;
	size_t i;

	if (mdb_leftover_get(m->db, f->name, f->node, to, sizeof(to), why,
	    sizeof(why), &found, &e) == -1) {
		log_warnx("status: %s", e.msg);
		return;
	}
	if (!found)
		return;
	for (i = 0; i < npl; i++)
		if (strcmp(pl[i].service, f->name) == 0 &&
		    strcmp(pl[i].node, f->node) != 0)
			break;
	if (i == npl)
		return;
	snprintf(msg, sizeof(msg), "orphan: migrated to %s %s; this copy and its "
	    "/srv/%s/ remain on %s: run `mcp undeploy --direct -n %s %s`%s",
	    to, why, f->name, f->node, f->node, f->name,
	    strcmp(pl[i].node, to) != 0 ? " (placed on another node since)" : "");
	free(f->error);
	f->error = xstrdup(msg);
}

int
master_deploy(struct master *m, const char *text, size_t len, const char *source,
    const struct master_deploy_watch *watch, Mcp__V1__MasterDeployResponse *out,
    struct mcp_err *err)
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
	int found = 0, pick, rc = -1, locked = 0, held = 0;
	/* a hold kept from an earlier deploy that ran but was not recorded */
	char kept[sizeof(m->holds.v[0].node)] = "";

	memset(&cur, 0, sizeof(cur));
	if (svc_parse(text, len, source && source[0] ? source : "definition", &def,
	    err) == -1)
		return -1;
	master_lock_service(m, def->name);
	locked = 1;
	/*
	 * Choose and hold the node in one step under place_mu: a deploy of
	 * another service arriving meanwhile counts this one where it is
	 * going, not from the recorded placements alone, which do not have
	 * it until its agent has answered.
	 */
	pthread_mutex_lock(&m->place_mu);
	if (mdb_placement_get(m->db, def->name, &cur, &found, err) == -1 ||
	    mdb_placement_list(m->db, 0, &pl, &npl, err) == -1) {
		pthread_mutex_unlock(&m->place_mu);
		goto out;
	}
	fleet_view_get(m, pl, npl, 1, &v);
	place_request_from(def, found ? cur.node : NULL, &preq);
	if ((pick = master_place(v.pn, v.n, m->cfg.node, &preq, err)) >= 0 &&
	    !found) {
		const struct master_hold *h = hold_find(&m->holds, def->name);

		if (h != NULL)
			mcp_strlcpy(kept, h->node, sizeof(kept));
		hold_add(&m->holds, def->name, v.names[pick]);
		held = 1;
	}
	pthread_mutex_unlock(&m->place_mu);
	if (pick < 0)
		goto out;
	out->service = xstrdup(def->name);
	out->node = xstrdup(v.names[pick]);
	sd = master_step_add(out, "deploy");
	sdns = master_step_add(out, "dns");
	sedge = master_step_add(out, "edge");

	areq.definition = (char *)text;
	areq.source = (char *)(source ? source : "");
	{
		char line[160];

		snprintf(line, sizeof(line), "placed on node %s", v.names[pick]);
		watch_step(watch, "", "", "place", line);
	}
	if (agent_deploy_call(m, v.names[pick], ip, sizeof(ip), &areq, watch,
	    &aresp, err) == -1) {
		master_step_note(sd, 0, "%s", err->msg);
		mcp_err_clear(err);
	} else {
		for (i = 0; i < aresp->n_actions; i++)
			master_step_action(sd, "%s", aresp->actions[i]);
		out->status = aresp->service;
		aresp->service = NULL;
	}
	if (sd->ok) {
		memset(&rec, 0, sizeof(rec));
		mcp_strlcpy(rec.service, def->name, sizeof(rec.service));
		mcp_strlcpy(rec.node, v.names[pick], sizeof(rec.node));
		mcp_strlcpy(rec.tier, def->tier, sizeof(rec.tier));
		rec.definition = (char *)text;
		/*
		 * Recorded and released at once: a placement is always counted.
		 * Not recorded, the hold stays (the service runs there) until a
		 * later deploy records it or an undeploy takes it down.
		 */
		pthread_mutex_lock(&m->place_mu);
		if (mdb_placement_put(m->db, &rec, err) == -1) {
			master_step_note(sd, 0, "deployed on %s but not recorded: %s",
			    v.names[pick], err->msg);
			log_warnx("deploy %s: running on %s but its placement is not "
			    "recorded (%s); still counted on %s until a deploy records "
			    "it or an undeploy", def->name, v.names[pick], err->msg,
			    v.names[pick]);
			mcp_err_clear(err);
			/* (a recorded placement, found, still counts it) */
			if (!found)
				hold_add(&m->holds, def->name, v.names[pick]);
		} else {
			master_step_action(sd, "placed on %s", v.names[pick]);
			hold_drop(&m->holds, def->name);
			/* deployed there again: no longer a migrate's leftover */
			if (mdb_leftover_delete(m->db, def->name, v.names[pick], err) == -1) {
				log_warnx("deploy %s: %s", def->name, err->msg);
				mcp_err_clear(err);
			}
		}
		held = 0;
		pthread_mutex_unlock(&m->place_mu);
	}
	if (!sd->ok) {
		master_step_note(sdns, 0, "not attempted: the deploy step failed");
		master_step_note(sedge, 0, "not attempted: the deploy step failed");
	} else {
		watch_step(watch, "", "", "dns", "registering the DNS names");
		master_deploy_dns(m, def, ip, sdns);
		watch_step(watch, "", "", "edge", "setting up public routes on an edge node");
		master_deploy_edge(m, def, sedge);
	}
	out->success = sd->ok && sdns->ok && sedge->ok;
	log_info("deploy %s on %s: deploy %s, dns %s, edge %s", def->name,
	    v.names[pick], sd->ok ? "ok" : "FAILED", sdns->ok ? "ok" : "FAILED",
	    sedge->ok ? "ok" : "FAILED");
	rc = 0;
out:
	if (held) {
		/*
		 * Not recorded (the deploy step failed): the node is free again,
		 * unless an earlier unrecorded deploy still runs there.
		 */
		pthread_mutex_lock(&m->place_mu);
		if (kept[0])
			hold_add(&m->holds, def->name, kept);
		else
			hold_drop(&m->holds, def->name);
		pthread_mutex_unlock(&m->place_mu);
	}
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
	int found = 0, unrecorded = 0, rc = -1;

	if (!svc_name_valid(service))
		return mcp_err_set(err, MCP_E_INVALID, "undeploy: \"%s\" is not a "
		    "service name", service);
	master_lock_service(m, service);
	if (mdb_placement_get(m->db, service, &p, &found, err) == -1)
		goto out;
	if (!found) {
		/*
		 * Under the service's lock no deploy of it is in flight: a hold
		 * is one kept for a deploy that ran but was not recorded.
		 */
		const struct master_hold *h;

		pthread_mutex_lock(&m->place_mu);
		if ((h = hold_find(&m->holds, service)) != NULL) {
			mcp_strlcpy(p.node, h->node, sizeof(p.node));
			found = unrecorded = 1;
		}
		pthread_mutex_unlock(&m->place_mu);
	}
	if (!found) {
		mcp_err_set(err, MCP_E_NOTFOUND, "undeploy %s: the master has no "
		    "placement for it (deployed with --direct? undeploy it there)",
		    service);
		goto out;
	}
	out->service = xstrdup(service);
	out->node = xstrdup(p.node);
	sw = master_step_add(out, "undeploy");
	se = master_step_add(out, "edge");
	sdns = master_step_add(out, "dns");
	srow = master_step_add(out, "record");

	/* the worker first: the backend stops before its names go */
	req.service = (char *)service;
	if (master_node_forward(m, p.node, NULL, 0, "/mcp.v1.Agent/Undeploy", &req.base,
	    &mcp__v1__op_response__descriptor, (ProtobufCMessage **)&resp,
	    m->cfg.undeploy_timeout_s, &e) == -1) {
		if (e.code == MCP_E_NOTFOUND)
			master_step_action(sw, "node %s no longer had it", p.node);
		else
			master_step_note(sw, 0, "%s", e.msg);
	} else {
		for (i = 0; i < resp->n_actions; i++)
			master_step_action(sw, "%s", resp->actions[i]);
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	}

	if (mdb_edge_list(m->db, service, &edges, &nedges, &e) == -1)
		master_step_note(se, 0, "%s", e.msg);
	for (i = 0; i < nedges; i++) {
		mcp_err_clear(&e);
		if (edge_remove(m, &edges[i], &e) == -1)
			master_step_note(se, 0, "%s: %s", edges[i].hostname, e.msg);
		else
			master_step_action(se, "removed %s from edge node %s", edges[i].hostname,
			    edges[i].edge_node);
	}

	mcp_err_clear(&e);
	if (master_dns_skipped(m))
		master_step_note(sdns, 1, "%s", master_dns_skipped(m));
	else if (unrecorded)
		master_step_note(sdns, 0, "no recorded definition to name the DNS "
		    "records by: remove the <instance>.%s A records by hand",
		    m->cfg.dns.zone);
	else if (svc_parse(p.definition, strlen(p.definition), service, &def, &e) == -1)
		master_step_note(sdns, 0, "recorded definition: %s", e.msg);
	else
		for (i = 0; i < def->ncomponents; i++) {
			char inst[SVC_INSTANCE_MAX], name[SVC_INSTANCE_MAX + 256];

			svc_instance_name(inst, sizeof(inst), service, def->components[i].name);
			snprintf(name, sizeof(name), "%s.%s", inst, m->cfg.dns.zone);
			mcp_err_clear(&e);
			if (master_dns_delete(m, name, &e) == -1)
				master_step_note(sdns, 0, "%s: %s", name, e.msg);
			else
				master_step_action(sdns, "deleted %s A", name);
		}

	/* the placement goes only once the worker no longer runs it */
	mcp_err_clear(&e);
	if (!sw->ok)
		master_step_note(srow, 0, "placement on %s kept: the node may still run it",
		    p.node);
	else if (unrecorded) {
		pthread_mutex_lock(&m->place_mu);
		hold_drop(&m->holds, service);
		pthread_mutex_unlock(&m->place_mu);
		master_step_action(srow, "no placement was recorded; %s no longer "
		    "counted on %s", service, p.node);
	} else if (mdb_placement_delete(m->db, service, &e) == -1)
		master_step_note(srow, 0, "%s", e.msg);
	else
		master_step_action(srow, "placement on %s removed", p.node);
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
	if (master_node_forward(m, p.node, NULL, 0, method, &req.base,
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
	long long ms;		/* how long the agent took to answer */
	pthread_t th;
	int started;
};

static void *
status_call_run(void *arg)
{
	struct status_call *sc = arg;
	Mcp__V1__ListServicesRequest req = MCP__V1__LIST_SERVICES_REQUEST__INIT;
	long long t0 = mcp_now_ms();

	if (sc->client == NULL)
		return NULL;
	if (wire_call(sc->client, "/mcp.v1.Agent/ListServices", &req.base,
	    &mcp__v1__list_services_response__descriptor,
	    (ProtobufCMessage **)&sc->resp, sc->m->cfg.health_timeout_s * 1000,
	    &sc->err) == -1)
		sc->resp = NULL;
	sc->ms = mcp_now_ms() - t0;
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

/*
 * A node that answered no longer has what a migrate left there: its
 * leftovers row goes, so a later --direct deploy of that service there is
 * not named as the migrate's orphan.
 */
static void
leftovers_prune(struct master *m, const struct status_call *sc)
{
	struct mcp_err e = MCP_ERR_INIT;
	const char **names;
	size_t i, n = 0, dropped = 0;

	if (sc->resp == NULL)
		return;
	names = xcalloc(sc->resp->n_services + 1, sizeof(*names));
	for (i = 0; i < sc->resp->n_services; i++)
		if (sc->resp->services[i] && sc->resp->services[i]->name)
			names[n++] = sc->resp->services[i]->name;
	if (mdb_leftover_prune(m->db, sc->node, names, n, &dropped, &e) == -1)
		log_warnx("status: leftovers on %s: %s", sc->node, e.msg);
	else if (dropped)
		log_info("status: %zu copy(ies) a migrate left on %s are gone",
		    dropped, sc->node);
	free(names);
}

int
master_status(struct master *m, const char *service,
    Mcp__V1__MasterStatusResponse *out, struct mcp_err *err)
{
	struct status_call *calls = NULL;
	struct mdb_placement *pl = NULL;
	struct mdb_edge *edges = NULL;
	struct mdb_snapshot *snaps = NULL;
	struct mcp_err serr = MCP_ERR_INIT;
	size_t npl = 0, nedges = 0, nsnaps = 0, nc = 0, i, j, slow = 0;
	long long t0 = mcp_now_ms(), t1, t2;
	char warn[256];
	int rc = -1;

	if (service && service[0] == '\0')
		service = NULL;
	if (mdb_placement_list(m->db, 0, &pl, &npl, err) == -1 ||
	    mdb_edge_list(m->db, service, &edges, &nedges, err) == -1)
		goto out;
	/* a failed listing is a warning on each service, not a failed Status */
	(void)mdb_snapshot_list(m->db, service, &snaps, &nsnaps, &serr);
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
	/* every node at once: a thread each but the first, asked from here */
	t1 = mcp_now_ms();
	for (i = 1; i < nc; i++)
		calls[i].started = pthread_create(&calls[i].th, NULL, status_call_run,
		    &calls[i]) == 0;
	if (nc > 0)
		status_call_run(&calls[0]);
	for (i = 1; i < nc; i++) {
		if (calls[i].started)
			pthread_join(calls[i].th, NULL);
		else
			status_call_run(&calls[i]);
	}
	t2 = mcp_now_ms();
	for (i = 1; i < nc; i++)
		if (calls[i].ms > calls[slow].ms)
			slow = i;
	for (i = 0; i < nc; i++)
		leftovers_prune(m, &calls[i]);
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
		master_snapshot_warning(m, snaps, nsnaps, serr.code ? serr.msg : NULL,
		    pl[i].service, pl[i].created_at, &f->last_snapshot, warn,
		    sizeof(warn));
		f->snapshot_warning = xstrdup(warn);
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
			orphan_why(m, f, pl, npl);
			f->status = s;
			calls[j].resp->services[i] = NULL;
		}
	master_attest_flag(out);
	if (service && out->n_services == 0) {
		mcp_err_set(err, MCP_E_NOTFOUND, "service %s is neither placed nor "
		    "running on any node that answered", service);
		goto out;
	}
	/* where a Status spends its time (mcp-master -v; bench/master.sh) */
	log_debug("status: database %lld ms, %zu node(s) asked in %lld ms "
	    "(slowest %s, %lld ms), %zu service(s) merged in %lld ms", t1 - t0, nc,
	    t2 - t1, nc ? calls[slow].node : "-", nc ? calls[slow].ms : 0,
	    out->n_services, mcp_now_ms() - t2);
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
	free(snaps);
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
