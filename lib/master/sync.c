/*
 * master/sync.c: the services directory as the desired fleet.
 *
 * Every definition is parsed and checked first (names unique); one that
 * fails aborts the whole sync before anything changes.  The plan (a pure
 * function): a definition with no placement is deployed, one whose text
 * differs from the recorded definition is redeployed, an identical one is
 * left alone, and a placed service with no definition is undeployed.  A
 * dry run answers with the plan only; a real sync carries out exactly
 * that plan, in the same order (undeploys first, freeing their nodes,
 * then redeploys, then new deploys; by name within each), through the
 * ordinary Deploy and Undeploy paths, each action's steps reported.
 */
#include "master/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "master/db.h"
#include "service/service.h"
#include "util/buf.h"
#include "util/log.h"
#include "wire/wire.h"

const char *
master_sync_action_name(enum sync_action a)
{
	switch (a) {
	case SYNC_DEPLOY:
		return "deploy";
	case SYNC_REDEPLOY:
		return "redeploy";
	case SYNC_UNDEPLOY:
		return "undeploy";
	case SYNC_UNCHANGED:
		return "unchanged";
	}
	return "?";
}

/* Execution order: undeploy, redeploy, deploy, unchanged; then by name. */
static int
action_rank(enum sync_action a)
{
	return a == SYNC_UNDEPLOY ? 0 : a == SYNC_REDEPLOY ? 1 : a == SYNC_DEPLOY ?
	    2 : 3;
}

static int
item_cmp(const void *a, const void *b)
{
	const struct sync_item *x = a, *y = b;
	int d = action_rank(x->action) - action_rank(y->action);

	return d ? d : strcmp(x->service, y->service);
}

struct sync_item *
master_sync_plan(const char *const *names, const char *const *texts,
    const char *const *sources, size_t ndesired, const char *const *pnames,
    const char *const *ptexts, size_t nplaced, size_t *n)
{
	struct sync_item *items = xcalloc(ndesired + nplaced + 1, sizeof(*items));
	size_t i, j, k = 0;

	for (i = 0; i < ndesired; i++) {
		struct sync_item *it = &items[k++];

		it->service = names[i];
		it->text = texts[i];
		it->source = sources ? sources[i] : "";
		it->action = SYNC_DEPLOY;
		for (j = 0; j < nplaced; j++)
			if (strcmp(pnames[j], names[i]) == 0) {
				it->action = strcmp(ptexts[j], texts[i]) == 0 ?
				    SYNC_UNCHANGED : SYNC_REDEPLOY;
				break;
			}
	}
	for (j = 0; j < nplaced; j++) {
		int wanted = 0;

		for (i = 0; i < ndesired && !wanted; i++)
			wanted = strcmp(pnames[j], names[i]) == 0;
		if (wanted)
			continue;
		items[k].service = pnames[j];
		items[k].text = NULL;
		items[k].source = "";
		items[k].action = SYNC_UNDEPLOY;
		k++;
	}
	qsort(items, k, sizeof(*items), item_cmp);
	*n = k;
	return items;
}

/* A failed action that could not start: one failed step saying why. */
static Mcp__V1__MasterDeployResponse *
failed_result(const char *service, const char *step, const char *why)
{
	Mcp__V1__MasterDeployResponse *r = (Mcp__V1__MasterDeployResponse *)
	    wire_msg_new(&mcp__v1__master_deploy_response__descriptor);

	r->service = xstrdup(service);
	r->node = xstrdup("");
	master_step_note(master_step_add(r, step), 0, "%s", why);
	return r;
}

int
master_sync(struct master *m, const Mcp__V1__SyncRequest *req,
    Mcp__V1__SyncResponse *out, struct mcp_err *err)
{
	size_t nd = req->n_definitions, npl = 0, nitems = 0, i, j;
	const char **names = xcalloc(nd + 1, sizeof(char *));
	const char **texts = xcalloc(nd + 1, sizeof(char *));
	const char **sources = xcalloc(nd + 1, sizeof(char *));
	struct svc_def **defs = xcalloc(nd + 1, sizeof(*defs));
	const char **pnames = NULL, **ptexts = NULL;
	struct mdb_placement *pl = NULL;
	struct sync_item *items = NULL;
	int rc = -1;

	/* 1. every definition valid, names unique: else nothing happens */
	for (i = 0; i < nd; i++) {
		const Mcp__V1__SyncDefinition *d = req->definitions[i];
		const char *src = d->source[0] ? d->source : "definition";

		if (svc_parse(d->definition, strlen(d->definition), src, &defs[i],
		    err) == -1) {
			mcp_err_prefix(err, "sync aborted, nothing changed");
			goto out;
		}
		names[i] = defs[i]->name;
		texts[i] = d->definition;
		sources[i] = src;
		for (j = 0; j < i; j++)
			if (strcmp(names[j], names[i]) == 0) {
				mcp_err_set(err, MCP_E_INVALID, "sync aborted, nothing "
				    "changed: service %s is defined twice (%s and %s)",
				    names[i], sources[j], src);
				goto out;
			}
	}
	/* 2. the plan against what is placed */
	if (mdb_placement_list(m->db, 1, &pl, &npl, err) == -1)
		goto out;
	pnames = xcalloc(npl + 1, sizeof(char *));
	ptexts = xcalloc(npl + 1, sizeof(char *));
	for (j = 0; j < npl; j++) {
		pnames[j] = pl[j].service;
		ptexts[j] = pl[j].definition;
	}
	items = master_sync_plan(names, texts, sources, nd, pnames, ptexts, npl,
	    &nitems);
	out->dry_run = req->dry_run;
	out->success = 1;
	out->actions = xcalloc(nitems + 1, sizeof(*out->actions));
	/* 3. carried out (unless a dry run), in the plan's order */
	for (i = 0; i < nitems; i++) {
		const struct sync_item *it = &items[i];
		Mcp__V1__SyncAction *a = (Mcp__V1__SyncAction *)wire_msg_new(
		    &mcp__v1__sync_action__descriptor);
		Mcp__V1__MasterDeployResponse *r;
		struct mcp_err e = MCP_ERR_INIT;
		const char *node = "";

		for (j = 0; j < npl; j++)
			if (strcmp(pl[j].service, it->service) == 0)
				node = pl[j].node;
		a->service = xstrdup(it->service);
		a->action = xstrdup(master_sync_action_name(it->action));
		a->source = xstrdup(it->source);
		a->node = xstrdup(node);
		out->actions[out->n_actions++] = a;
		if (req->dry_run || it->action == SYNC_UNCHANGED)
			continue;
		r = (Mcp__V1__MasterDeployResponse *)wire_msg_new(
		    &mcp__v1__master_deploy_response__descriptor);
		if ((it->action == SYNC_UNDEPLOY ?
		    master_undeploy(m, it->service, r, &e) :
		    master_deploy(m, it->text, strlen(it->text), it->source, NULL, r, &e)) == -1) {
			protobuf_c_message_free_unpacked(&r->base, NULL);
			r = failed_result(it->service, it->action == SYNC_UNDEPLOY ?
			    "undeploy" : "deploy", e.msg);
		}
		if (r->node[0] && a->node[0] == '\0') {
			free(a->node);
			a->node = xstrdup(r->node);
		}
		a->result = r;
		if (!r->success)
			out->success = 0;
		log_info("sync: %s %s: %s", a->action, it->service,
		    r->success ? "done" : "FAILED");
	}
	log_info("sync%s: %zu definition(s), %zu placed, %zu action(s)",
	    req->dry_run ? " (dry run)" : "", nd, npl, nitems);
	rc = 0;
out:
	for (i = 0; i < nd; i++)
		svc_free(defs[i]);
	free(defs);
	free(names);
	free(texts);
	free(sources);
	free(pnames);
	free(ptexts);
	free(items);
	mdb_placements_free(pl, npl);
	return rc;
}
