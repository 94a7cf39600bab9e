/*
 * master/migrate.c: move a service, with its data, to another node.
 *
 * Refused before anything changes: a core service, a service pinned to
 * another node, an unknown, edge or unhealthy target, the node it is on,
 * and (unless force) a target whose /srv/<service>/ already holds data
 * (asked with ServiceDataInfo before the source is stopped).
 *
 * Live source (healthy): stop it there -> export it (ExportServiceData
 * of the stopped service: a consistent stop-then-tar), stored and recorded
 * like any snapshot and, as it arrives, streamed into the target's
 * ImportServiceData (refused there when the target already has data,
 * unless force; the target renames it into place only once the whole
 * archive verified) -> deploy on the target (its
 * components running) -> DNS records to the target's address -> edge
 * routes set up again (re-pointed) -> undeploy on the source and only then
 * remove its data -> the placement moves.  A failure up to the DNS step
 * puts things back (the target's copy undeployed, DNS pointed back, the
 * source started again): the service runs where it was.  So does a
 * failure at the edge step (DNS back, the target's copy and its imported
 * data removed, the source started again).  After that the service runs
 * on the target: a failed undeploy or data removal on the source is
 * reported with what remains there and the placement moves.
 *
 * Dead source (not healthy): the newest stored snapshot is imported
 * instead and the source steps are skipped (reported as such; what the
 * dead node still holds is named).
 *
 * One result per step, as Deploy's.  The service's lock is held
 * throughout, so the snapshot schedule and other operations wait.
 */
#include "master/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.pb-c.h"
#include "master/db.h"
#include "service/service.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "wire/wire.h"

int
master_migrate_check(const struct migrate_check *c, struct mcp_err *err)
{
	if (strcmp(c->tier, "core") == 0)
		return mcp_err_set(err, MCP_E_PRECONDITION, "migrate %s: a core "
		    "service stays on the master's node %s", c->service, c->master_node);
	if (c->pin && c->pin[0] && strcmp(c->pin, c->to) != 0)
		return mcp_err_set(err, MCP_E_PRECONDITION, "migrate %s: its "
		    "definition pins node = \"%s\" (change the pin, then migrate)",
		    c->service, c->pin);
	if (strcmp(c->from, c->to) == 0)
		return mcp_err_set(err, MCP_E_PRECONDITION, "migrate %s: it is already "
		    "on node %s", c->service, c->to);
	if (c->to_role == NULL)
		return mcp_err_set(err, MCP_E_NOTFOUND, "migrate %s: node %s is not "
		    "known", c->service, c->to);
	if (strcmp(c->to_role, "edge") == 0)
		return mcp_err_set(err, MCP_E_PRECONDITION, "migrate %s: node %s is an "
		    "edge node (no services run there)", c->service, c->to);
	if (!c->to_healthy)
		return mcp_err_set(err, MCP_E_UNAVAILABLE, "migrate %s: target node %s "
		    "is not healthy", c->service, c->to);
	return 0;
}

/* A call to node's agent with a ServiceRequest and an OpResponse. */
static int
service_call(struct master *m, const char *node, const char *method,
    const char *service, int timeout_s, Mcp__V1__StepResult *s,
    struct mcp_err *err)
{
	Mcp__V1__ServiceRequest req = MCP__V1__SERVICE_REQUEST__INIT;
	Mcp__V1__OpResponse *resp = NULL;
	char path[96];

	req.service = (char *)service;
	req.component = "";
	snprintf(path, sizeof(path), "/mcp.v1.Agent/%s", method);
	if (master_node_forward(m, node, NULL, 0, path, &req.base,
	    &mcp__v1__op_response__descriptor, (ProtobufCMessage **)&resp,
	    timeout_s, err) == -1)
		return -1;
	for (size_t i = 0; s && i < resp->n_actions; i++)
		master_step_action(s, "%s: %s", node, resp->actions[i]);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

/*
 * The target's /srv/<service>/, asked before anything stops: -1 (err,
 * naming the node and path) when it holds data and force is not given,
 * or when the target cannot say.
 */
static int
target_data_check(struct master *m, const char *to, const char *service,
    int force, char *note, size_t notesz, struct mcp_err *err)
{
	Mcp__V1__ServiceRequest req = MCP__V1__SERVICE_REQUEST__INIT;
	Mcp__V1__ServiceDataInfoResponse *resp = NULL;
	int rc = 0;

	note[0] = '\0';
	req.service = (char *)service;
	req.component = "";
	if (master_node_forward(m, to, NULL, 0, "/mcp.v1.Agent/ServiceDataInfo",
	    &req.base, &mcp__v1__service_data_info_response__descriptor,
	    (ProtobufCMessage **)&resp, m->cfg.health_timeout_s, err) == -1) {
		mcp_err_prefix(err, "migrate %s: asking node %s about its data "
		    "(nothing changed)", service, to);
		return -1;
	}
	if (resp->exists && resp->entries > 0) {
		if (!force)
			rc = mcp_err_set(err, MCP_E_EXISTS, "migrate %s: node %s already "
			    "has data in %s (%u entr%s, %llu bytes); nothing changed "
			    "(--force replaces it)", service, to, resp->path,
			    resp->entries, resp->entries == 1 ? "y" : "ies",
			    (unsigned long long)resp->bytes);
		else
			snprintf(note, notesz, "%s on %s holds %u entries, %llu bytes: "
			    "replaced (--force)", resp->path, to, resp->entries,
			    (unsigned long long)resp->bytes);
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return rc;
}

/* Has def a public route (an edge route)? */
static int
def_public(const struct svc_def *def)
{
	for (size_t i = 0; i < def->ncomponents; i++)
		for (size_t j = 0; j < def->components[i].nroutes; j++)
			if (def->components[i].routes[j].public &&
			    def->components[i].routes[j].hostname[0])
				return 1;
	return 0;
}

/* Every component of st running? */
static int
all_running(const Mcp__V1__ServiceStatus *st)
{
	if (st == NULL || st->n_components == 0)
		return 0;
	for (size_t i = 0; i < st->n_components; i++)
		if (strcmp(st->components[i]->observed, "running") != 0)
			return 0;
	return 1;
}

/* Wait (bounded) until node's agent reports every component of service
 * running: the target serves before the source's data goes. */
static int
wait_running(struct master *m, const char *node, const char *service,
    int timeout_s, struct mcp_err *err)
{
	long long end = mcp_now_ms() + (long long)timeout_s * 1000;
	char last[64] = "no answer";

	for (;;) {
		Mcp__V1__StatusRequest req = MCP__V1__STATUS_REQUEST__INIT;
		Mcp__V1__StatusResponse *resp = NULL;
		struct mcp_err e = MCP_ERR_INIT;
		int ok = 0;

		req.service = (char *)service;
		if (master_node_forward(m, node, NULL, 0, "/mcp.v1.Agent/Status",
		    &req.base, &mcp__v1__status_response__descriptor,
		    (ProtobufCMessage **)&resp, m->cfg.health_timeout_s, &e) == 0) {
			ok = resp->n_services == 1 && all_running(resp->services[0]);
			if (!ok && resp->n_services == 1 &&
			    resp->services[0]->n_components > 0)
				mcp_strlcpy(last, resp->services[0]->components[0]->observed,
				    sizeof(last));
			protobuf_c_message_free_unpacked(&resp->base, NULL);
		} else
			mcp_strlcpy(last, e.msg, sizeof(last));
		if (ok)
			return 0;
		if (mcp_now_ms() >= end)
			return mcp_err_set(err, MCP_E_TIMEOUT, "%s on node %s is not "
			    "running after %d s (%s)", service, node, timeout_s, last);
		mcp_sleep_ms(250);
	}
}

/* The DNS records of def back to ip (best effort, for a rollback). */
static void
dns_back(struct master *m, const struct svc_def *def, const char *ip,
    Mcp__V1__StepResult *s)
{
	Mcp__V1__MasterDeployResponse tmp = MCP__V1__MASTER_DEPLOY_RESPONSE__INIT;
	Mcp__V1__StepResult *t = master_step_add(&tmp, "dns");

	master_deploy_dns(m, def, ip, t);
	for (size_t i = 0; i < t->n_actions; i++)
		master_step_action(s, "dns back: %s", t->actions[i]);
	if (!t->ok)
		master_step_note(s, 0, "dns back to %s: %s", ip, t->error);
	protobuf_c_message_free_unpacked(&t->base, NULL);
	free(tmp.steps);
}

/* Put things back after a failed step: the target's copy undeployed and
 * its imported data removed (if it was deployed), DNS back to the source,
 * the source started again (live). */
static int remove_data(struct master *m, const char *node, const char *service,
    Mcp__V1__StepResult *s, struct mcp_err *err);

static void
rollback(struct master *m, Mcp__V1__MasterDeployResponse *out,
    const struct svc_def *def, const char *src, const char *src_ip, int live,
    const char *to, int deployed, int dns_moved)
{
	Mcp__V1__StepResult *s = master_step_add(out, "rollback");
	struct mcp_err e = MCP_ERR_INIT;
	int undeployed = 1;

	if (deployed) {
		if (service_call(m, to, "Undeploy", def->name, m->cfg.undeploy_timeout_s,
		    s, &e) == -1) {
			master_step_note(s, 0, "undeploy on %s: %s", to, e.msg);
			undeployed = 0;
		} else
			master_step_action(s, "%s undeployed from %s", def->name, to);
	}
	/* the imported copy goes too: the source's (or the snapshot) is the
	 * one that counts, and a retry finds the target empty */
	if (deployed && undeployed) {
		mcp_err_clear(&e);
		if (remove_data(m, to, def->name, s, &e) == -1)
			master_step_note(s, 0, "remove the imported /srv/%s/ on %s: %s",
			    def->name, to, e.msg);
	}
	if (dns_moved && live)
		dns_back(m, def, src_ip, s);
	if (dns_moved && live && def_public(def))
		master_step_action(s, "edge routes name the service's DNS record, "
		    "which points to %s again", src);
	if (live) {
		mcp_err_clear(&e);
		if (service_call(m, src, "Start", def->name, m->cfg.deploy_timeout_s, s,
		    &e) == -1)
			master_step_note(s, 0, "start on %s: %s", src, e.msg);
		else
			master_step_action(s, "%s runs on %s again", def->name, src);
	} else
		master_step_note(s, 1, "the source node %s is down: %s runs nowhere "
		    "until it is back or a migrate succeeds", src, def->name);
}

/* The service's data dir on node: gone (master-only agent RPC). */
static int
remove_data(struct master *m, const char *node, const char *service,
    Mcp__V1__StepResult *s, struct mcp_err *err)
{
	return service_call(m, node, "RemoveServiceData", service,
	    m->cfg.undeploy_timeout_s, s, err);
}

/* "took N ms" on step s, timed from *t (then reset to now). */
static void
step_took(Mcp__V1__StepResult *s, long long *t)
{
	long long now = mcp_now_ms();

	master_step_action(s, "took %lld ms", now - *t);
	*t = now;
}

static void
not_attempted(Mcp__V1__MasterDeployResponse *out, size_t from)
{
	for (size_t i = from; i < out->n_steps; i++)
		if (out->steps[i]->ok && out->steps[i]->n_actions == 0 &&
		    out->steps[i]->error[0] == '\0')
			master_step_note(out->steps[i], 0, "not attempted");
}

/*
 * One service.  -1 (with err, nothing changed) when refused; else 0 with
 * the steps in out and out->success.
 */
static int
migrate_one(struct master *m, const char *service, const char *to, int force,
    Mcp__V1__MasterDeployResponse *out, struct mcp_err *err)
{
	Mcp__V1__DeployRequest dreq = MCP__V1__DEPLOY_REQUEST__INIT;
	Mcp__V1__DeployResponse *dresp = NULL;
	Mcp__V1__StepResult *sstop, *sdata, *simp, *sdep, *sdns, *sedge, *sund, *srec;
	struct mdb_placement p, rec;
	struct mdb_snapshot snap, *snaps = NULL;
	struct svc_def *def = NULL;
	struct master_node *n;
	struct mcp_err e = MCP_ERR_INIT;
	char src[64], src_ip[64] = "", to_ip[64] = "", role[16] = "", method[64] = "";
	char source[160], tnote[1200];
	enum master_health th = HEALTH_UNKNOWN, sh = HEALTH_UNKNOWN;
	uint64_t bytes = 0;
	size_t nsnaps = 0, i;
	int found = 0, live, rc = -1;
	long long t0 = mcp_now_ms(), ts;

	memset(&p, 0, sizeof(p));
	memset(&snap, 0, sizeof(snap));
	if (!svc_name_valid(service))
		return mcp_err_set(err, MCP_E_INVALID, "migrate: \"%s\" is not a "
		    "service name", service);
	master_lock_service(m, service);
	if (mdb_placement_get(m->db, service, &p, &found, err) == -1)
		goto out;
	if (!found) {
		mcp_err_set(err, MCP_E_NOTFOUND, "migrate %s: the master has no "
		    "placement for it", service);
		goto out;
	}
	mcp_strlcpy(src, p.node, sizeof(src));
	if (svc_parse(p.definition, strlen(p.definition), service, &def, err) == -1) {
		mcp_err_prefix(err, "migrate %s: recorded definition", service);
		goto out;
	}
	pthread_mutex_lock(&m->mu);
	if ((n = master_node_find(m, to)) != NULL) {
		th = n->health;
		mcp_strlcpy(role, n->role, sizeof(role));
		master_node_ip(n, to_ip, sizeof(to_ip));
	}
	if ((n = master_node_find(m, src)) != NULL) {
		sh = n->health;
		master_node_ip(n, src_ip, sizeof(src_ip));
	}
	pthread_mutex_unlock(&m->mu);
	{
		struct migrate_check mc = { service, def->tier, def->node, src, to,
		    role[0] ? role : NULL, th == HEALTH_HEALTHY, m->cfg.node };

		if (master_migrate_check(&mc, err) == -1)
			goto out;
	}
	/* the target's data dir, before the source is touched */
	if (target_data_check(m, to, service, force, tnote, sizeof(tnote),
	    err) == -1)
		goto out;
	live = sh == HEALTH_HEALTHY;
	if (!live) {
		/* a dead source: the newest stored snapshot, checked up front */
		if (mdb_snapshot_list(m->db, service, &snaps, &nsnaps, err) == -1)
			goto out;
		if (nsnaps == 0) {
			mcp_err_set(err, MCP_E_PRECONDITION, "migrate %s: its node %s is "
			    "%s and the master holds no snapshot of it to restore from "
			    "(nothing changed)", service, src, master_health_name(sh));
			goto out;
		}
		snap = snaps[0];
	}

	out->service = xstrdup(service);
	out->node = xstrdup(to);
	sstop = master_step_add(out, "stop");
	sdata = master_step_add(out, live ? "export" : "restore");
	simp = master_step_add(out, "import");
	sdep = master_step_add(out, "deploy");
	sdns = master_step_add(out, "dns");
	sedge = master_step_add(out, "edge");
	sund = master_step_add(out, "undeploy");
	srec = master_step_add(out, "record");
	log_info("migrate %s: %s (%s) -> %s", service, src,
	    live ? "live" : master_health_name(sh), to);

	ts = mcp_now_ms();
	/* 1. the source stops (live), so its data holds still */
	if (live) {
		if (service_call(m, src, "Stop", service, m->cfg.undeploy_timeout_s,
		    sstop, &e) == -1) {
			master_step_note(sstop, 0, "%s", e.msg);
			not_attempted(out, 1);
			rollback(m, out, def, src, src_ip, live, to, 0, 0);
			goto done;
		}
		step_took(sstop, &ts);
	} else
		master_step_note(sstop, 1, "skipped: node %s is %s", src,
		    master_health_name(sh));

	/* 2.-3. its data onto the target (refused there if it has data,
	 * unless force): live, the stopped service's export is stored as a
	 * snapshot and streamed into the target's import at once; a dead
	 * source's newest stored snapshot is imported */
	mcp_err_clear(&e);
	if (live) {
		struct snapshot_tee tee;
		int taken;

		memset(&tee, 0, sizeof(tee));
		tee.node = to;
		tee.force = force;
		taken = master_snapshot_take(m, service, src, 1, &snap, method,
		    sizeof(method), &tee, &e) == 0;

		if (!taken || tee.failed) {
			if (taken)
				master_step_action(sdata, "%s from %s: %lld bytes, sha256 %s "
				    "(kept)", snap.path, src, (long long)snap.size, snap.sha256);
			else if (tee.failed)
				master_step_note(sdata, 1, "stopped early: the import failed "
				    "(no snapshot kept)");
			else
				master_step_note(sdata, 0, "%s", e.msg);
			if (tee.failed)
				master_step_note(simp, 0, "%s%s", tee.err.msg, !force &&
				    tee.err.code == MCP_E_EXISTS ? " (--force replaces it)" :
				    "");
			not_attempted(out, 2);
			rollback(m, out, def, src, src_ip, live, to, 0, 0);
			goto done;
		}
		bytes = tee.bytes;
		master_step_action(sdata, "%s from %s: %lld bytes, sha256 %s", snap.path,
		    src, (long long)snap.size, snap.sha256);
	} else {
		master_step_action(sdata, "newest snapshot %s (taken from %s): %lld "
		    "bytes, sha256 %s", snap.path, snap.node, (long long)snap.size,
		    snap.sha256);
		if (master_snapshot_import(m, &snap, to, service, force, &bytes,
		    &e) == -1) {
			master_step_note(simp, 0, "%s%s", e.msg, !force &&
			    e.code == MCP_E_EXISTS ? " (--force replaces it)" : "");
			not_attempted(out, 3);
			rollback(m, out, def, src, src_ip, live, to, 0, 0);
			goto done;
		}
	}
	if (tnote[0])
		master_step_action(simp, "%s", tnote);
	master_step_action(simp, "%llu bytes into /srv/%s/ on %s%s",
	    (unsigned long long)bytes, service, to, force ? " (forced)" : "");
	step_took(live ? sdata : simp, &ts);	/* live: one stream for both */

	/* 4. deployed on the target, and serving */
	snprintf(source, sizeof(source), "migrate from %s", src);
	dreq.definition = p.definition;
	dreq.source = source;
	mcp_err_clear(&e);
	if (master_node_forward(m, to, NULL, 0, "/mcp.v1.Agent/Deploy", &dreq.base,
	    &mcp__v1__deploy_response__descriptor, (ProtobufCMessage **)&dresp,
	    m->cfg.deploy_timeout_s, &e) == -1 ||
	    wait_running(m, to, service, m->cfg.deploy_timeout_s, &e) == -1) {
		master_step_note(sdep, 0, "%s", e.msg);
		not_attempted(out, 4);
		rollback(m, out, def, src, src_ip, live, to, 1, 0);
		goto done;
	}
	for (i = 0; i < dresp->n_actions; i++)
		master_step_action(sdep, "%s", dresp->actions[i]);
	master_step_action(sdep, "running on %s", to);
	step_took(sdep, &ts);
	out->status = dresp->service;
	dresp->service = NULL;

	/* 5. names follow: DNS to the target's address */
	master_deploy_dns(m, def, to_ip, sdns);
	if (!sdns->ok) {
		not_attempted(out, 5);
		rollback(m, out, def, src, src_ip, live, to, 1, 1);
		goto done;
	}
	/* 6. edge routes set up again (their backend name now resolves to
	 * the target); a failure is rolled back like the steps before it:
	 * a public service the edge cannot reach on the target stays where
	 * it was */
	master_deploy_edge(m, def, sedge);
	if (!sedge->ok) {
		not_attempted(out, 6);
		rollback(m, out, def, src, src_ip, live, to, 1, 1);
		goto done;
	}
	step_took(sedge, &ts);		/* dns and edge */

	/* 7. the source goes, its data only now that the target serves */
	if (live) {
		mcp_err_clear(&e);
		if (service_call(m, src, "Undeploy", service, m->cfg.undeploy_timeout_s,
		    sund, &e) == -1)
			master_step_note(sund, 0, "%s: %s now runs on %s (placement moved); "
			    "its stopped copy and /srv/%s/ remain on %s (remove them with "
			    "`mcp undeploy --direct -n %s %s`)", e.msg, service, to, service,
			    src, src, service);
		else {
			step_took(sund, &ts);
			if (remove_data(m, src, service, sund, &e) == -1)
				master_step_note(sund, 0, "remove /srv/%s/ on %s: %s (%s now "
				    "runs on %s; only that directory remains)", service, src,
				    e.msg, service, to);
		}
	} else
		master_step_note(sund, 1, "skipped: node %s is %s; its container and "
		    "/srv/%s/ remain there (undeploy them with --direct when it is back)",
		    src, master_health_name(sh), service);

	if (live)
		step_took(sund, &ts);
	/* 8. the placement moves (whatever the source's cleanup said) */
	memset(&rec, 0, sizeof(rec));
	mcp_strlcpy(rec.service, service, sizeof(rec.service));
	mcp_strlcpy(rec.node, to, sizeof(rec.node));
	mcp_strlcpy(rec.tier, def->tier, sizeof(rec.tier));
	rec.definition = p.definition;
	mcp_err_clear(&e);
	if (mdb_placement_put(m->db, &rec, &e) == -1)
		master_step_note(srec, 0, "%s", e.msg);
	else {
		char why[128];

		master_step_action(srec, "placement %s -> %s", src, to);
		/* what stays on the source, for status to name as an orphan;
		 * and nothing is left over on the node it is now placed on */
		if (!live || !sund->ok) {
			snprintf(why, sizeof(why), !live ? "while %s was down" :
			    "but its undeploy on %s failed", src);
			if (mdb_leftover_put(m->db, service, src, to, why, &e) == -1)
				log_warnx("migrate %s: %s", service, e.msg);
		}
		mcp_err_clear(&e);
		if (mdb_leftover_delete(m->db, service, to, &e) == -1)
			log_warnx("migrate %s: %s", service, e.msg);
	}
done:
	out->success = 1;
	for (i = 0; i < out->n_steps; i++)
		if (!out->steps[i]->ok)
			out->success = 0;
	log_info("migrate %s %s -> %s: %s in %lld ms", service, src, to,
	    out->success ? "done" : "FAILED", mcp_now_ms() - t0);
	rc = 0;
out:
	if (dresp)
		protobuf_c_message_free_unpacked(&dresp->base, NULL);
	free(snaps);
	svc_free(def);
	free(p.definition);
	master_unlock_service(m, service);
	return rc;
}

static void
add_result(Mcp__V1__MigrateResponse *out, Mcp__V1__MasterDeployResponse *r)
{
	out->services = realloc(out->services, (out->n_services + 1) *
	    sizeof(*out->services));
	if (out->services == NULL)
		abort();
	out->services[out->n_services++] = r;
}

int
master_migrate(struct master *m, const Mcp__V1__MigrateRequest *req,
    Mcp__V1__MigrateResponse *out, struct mcp_err *err)
{
	Mcp__V1__MasterDeployResponse *r;
	struct mdb_placement *pl = NULL;
	size_t npl = 0, i;
	int rc = -1;

	if (req->to[0] == '\0')
		return mcp_err_set(err, MCP_E_INVALID, "migrate: --to NODE is required");
	if (!req->all) {
		r = (Mcp__V1__MasterDeployResponse *)wire_msg_new(
		    &mcp__v1__master_deploy_response__descriptor);
		if (migrate_one(m, req->service, req->to, req->force, r, err) == -1) {
			protobuf_c_message_free_unpacked(&r->base, NULL);
			return -1;
		}
		add_result(out, r);
		out->success = r->success;
		return 0;
	}
	if (req->from[0] == '\0' || req->service[0])
		return mcp_err_set(err, MCP_E_INVALID, "migrate --all: needs --from "
		    "NODE and no service name");
	if (strcmp(req->from, req->to) == 0)
		return mcp_err_set(err, MCP_E_INVALID, "migrate --all: --from and --to "
		    "are both %s", req->to);
	pthread_mutex_lock(&m->mu);
	i = master_node_find(m, req->from) != NULL;
	pthread_mutex_unlock(&m->mu);
	if (!i)
		return mcp_err_set(err, MCP_E_NOTFOUND, "migrate --all: node %s is not "
		    "known", req->from);
	if (mdb_placement_list(m->db, 0, &pl, &npl, err) == -1)
		return -1;
	out->success = 1;
	out->skipped = xcalloc(npl + 1, sizeof(char *));
	for (i = 0; i < npl; i++) {
		struct mcp_err e = MCP_ERR_INIT;

		if (strcmp(pl[i].node, req->from) != 0)
			continue;
		if (strcmp(pl[i].tier, "core") == 0) {
			out->skipped[out->n_skipped++] = xstrdup(pl[i].service);
			continue;
		}
		r = (Mcp__V1__MasterDeployResponse *)wire_msg_new(
		    &mcp__v1__master_deploy_response__descriptor);
		if (migrate_one(m, pl[i].service, req->to, req->force, r, &e) == -1) {
			/* refused: reported as its one failed step */
			Mcp__V1__StepResult *s;

			r->service = xstrdup(pl[i].service);
			r->node = xstrdup(req->to);
			s = master_step_add(r, "check");
			master_step_note(s, 0, "%s", e.msg);
		}
		add_result(out, r);
		if (!r->success) {
			out->success = 0;
			out->failed = xstrdup(pl[i].service);
			break;
		}
	}
	rc = 0;
	mdb_placements_free(pl, npl);
	return rc;
}
