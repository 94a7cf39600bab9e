/*
 * agent/recover.c: the registry and the runtimes disagreeing about what
 * exists, found at start-up and repaired by explicit operator commands.
 *
 * Untracked instances: MCP-labelled containers or VM state directories
 * whose (service, component) the registry does not have (a lost, emptied
 * or older registry).  The agent refuses to serve while any exist, naming
 * them and the ways on (agent_check_untracked, called by agent_run; a
 * runtime that cannot be listed at that moment is logged, not fatal):
 * restore the registry, or `mcp-agent -c CONFIG remove-untracked`
 * (agent_remove_untracked: stop and remove each, one line each).
 *
 * Lost instances: a podman store or VM state directory that lost what the
 * registry says should run.  `mcp-agent -c CONFIG recover` (agent_recover)
 * re-creates every component desired running through the same path as
 * `mcp start`, one line each: recreated, already running, or failed: why.
 *
 * Both commands run without the daemon (the state directory lock keeps
 * them apart) and ask the runtimes directly: no view, no cache.
 */
#include "agent/agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* Every MCP-managed instance of both runtimes, asked directly. */
static int
list_instances(struct agent *a, struct rt_info **out, size_t *n,
    struct mcp_err *err)
{
	struct runtime *rts[2] = { a->podman, a->qemu };
	size_t r, i;

	*out = NULL;
	*n = 0;
	for (r = 0; r < 2; r++) {
		struct rt_info *list = NULL;
		size_t cnt = 0;

		if (rts[r] == NULL)
			continue;
		if (rts[r]->ops->list(rts[r], &list, &cnt, err) == -1) {
			free(*out);
			*out = NULL;
			*n = 0;
			return mcp_err_prefix(err, "list %s instances", rts[r]->ops->name);
		}
		*out = realloc(*out, (*n + cnt + 1) * sizeof(**out));
		if (*out == NULL)
			abort();
		for (i = 0; i < cnt; i++) {
			mcp_strlcpy(list[i].runtime, rts[r]->ops->name, sizeof(list[i].runtime));
			(*out)[(*n)++] = list[i];
		}
		free(list);
	}
	return 0;
}

/* Does the registry have the component this instance claims to be? */
static int
tracked(const struct reg_service *svcs, size_t nsvcs, const struct rt_info *info)
{
	size_t i, j;
	char name[SVC_INSTANCE_MAX];

	for (i = 0; i < nsvcs; i++) {
		if (strcmp(svcs[i].name, info->service) != 0)
			continue;
		for (j = 0; j < svcs[i].ncomponents; j++) {
			const struct reg_component *c = &svcs[i].components[j];

			svc_instance_name(name, sizeof(name), svcs[i].name, c->name);
			if (strcmp(c->name, info->component) == 0 &&
			    strcmp(c->runtime, info->runtime) == 0 &&
			    strcmp(name, info->name) == 0)
				return 1;
		}
	}
	return 0;
}

/*
 * The instances the registry does not track (*out malloc'ed), and how
 * many services the registry has.  -1 with *listed 0: the registry could
 * not be read; with *listed 1: the runtimes could not be listed.
 */
static int
untracked_list(struct agent *a, struct rt_info **out, size_t *n, size_t *nsvcs,
    int *listed, struct mcp_err *err)
{
	struct reg_service *svcs = NULL;
	struct rt_info *all = NULL;
	size_t nall = 0, i;

	*out = NULL;
	*n = 0;
	*listed = 0;
	if (reg_service_list(a->reg, &svcs, nsvcs, err) == -1)
		return -1;
	*listed = 1;
	if (list_instances(a, &all, &nall, err) == -1) {
		reg_services_free(svcs, *nsvcs);
		return -1;
	}
	for (i = 0; i < nall; i++)
		if (!tracked(svcs, *nsvcs, &all[i]))
			all[(*n)++] = all[i];
	reg_services_free(svcs, *nsvcs);
	*out = all;
	return 0;
}

/* "container hello" / "vm hello-db" */
static const char *
kind_of(const struct rt_info *info)
{
	return strcmp(info->runtime, "unikernel") == 0 ? "vm" : "container";
}

int
agent_check_untracked(struct agent *a, struct mcp_err *err)
{
	struct rt_info *u = NULL;
	struct buf names = BUF_INIT;
	size_t n = 0, nsvcs = 0, i;
	int listed;

	if (untracked_list(a, &u, &n, &nsvcs, &listed, err) == -1) {
		if (!listed)
			return -1;
		/* a runtime that cannot answer now: status reports "unknown" */
		log_warnx("start-up check of registry %s against the runtimes "
		    "skipped: %s", reg_path(a->reg), err->msg);
		mcp_err_clear(err);
		return 0;
	}
	if (n == 0) {
		free(u);
		return 0;
	}
	for (i = 0; i < n && i < 10; i++)
		buf_printf(&names, "%s%s %s", i ? ", " : "", kind_of(&u[i]), u[i].name);
	if (n > 10)
		buf_printf(&names, ", ...");
	mcp_err_set(err, MCP_E_PRECONDITION,
	    "registry %s %s, but %zu MCP instance%s exist%s that it does not track "
	    "(%s): refusing to start. Restore the registry from a backup, or run "
	    "`mcp-agent -c %s remove-untracked` to stop and remove them (then deploy "
	    "those services again)", reg_path(a->reg),
	    a->registry_created ? "did not exist (created empty)" :
	    nsvcs == 0 ? "has no services" : "is missing services", n,
	    n == 1 ? "" : "s", n == 1 ? "s" : "", names.data, a->config_path);
	buf_free(&names);
	free(u);
	return -1;
}

int
agent_remove_untracked(struct agent *a, struct buf *report, struct mcp_err *err)
{
	struct rt_info *u = NULL;
	size_t n = 0, nsvcs = 0, i;
	int failed = 0, listed;

	if (untracked_list(a, &u, &n, &nsvcs, &listed, err) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		struct mcp_err e = MCP_ERR_INIT;
		struct runtime *rt = agent_runtime_for(a, u[i].runtime, &e);

		if (rt != NULL && strcmp(u[i].state, "running") == 0 &&
		    rt->ops->stop(rt, u[i].name, a->cfg.stop_timeout_s, &e) == -1 &&
		    e.code != MCP_E_NOTFOUND)
			rt = NULL;
		if (rt != NULL && rt->ops->remove(rt, u[i].name, 1, &e) == -1)
			rt = NULL;
		if (rt == NULL) {
			failed++;
			buf_printf(report, "%s %s (service %s): failed: %s\n", kind_of(&u[i]),
			    u[i].name, u[i].service, e.msg);
		} else {
			buf_printf(report, "%s %s (service %s): removed\n", kind_of(&u[i]),
			    u[i].name, u[i].service);
			log_info("removed untracked %s %s (service %s)", kind_of(&u[i]),
			    u[i].name, u[i].service);
		}
	}
	if (n == 0)
		buf_printf(report, "no untracked instances\n");
	free(u);
	if (failed)
		return mcp_err_set(err, MCP_E_INTERNAL,
		    "remove-untracked: %d of %zu instances could not be removed", failed, n);
	return 0;
}

/* A store that lost its instances may have lost their images too. */
static int
recover_image(struct agent *a, const struct svc_component *c, struct mcp_err *err)
{
	struct runtime *rt = agent_runtime_to_run(a, c->runtime, err);
	int have;

	if (rt == NULL || (have = rt->ops->image_exists(rt, c->image, err)) == -1)
		return -1;
	return have ? 0 : rt->ops->pull(rt, c->image, err);
}

/* Recover one service: every component desired running, one line each. */
static int
recover_service(struct agent *a, const struct reg_service *rs, struct buf *report)
{
	struct svc_def *def = NULL;
	struct mcp_err e = MCP_ERR_INIT;
	size_t i, k;
	int failed = 0;

	if (svc_parse(rs->definition, strlen(rs->definition), rs->source, &def,
	    &e) == -1) {
		buf_printf(report, "%s: failed: stored definition: %s\n", rs->name, e.msg);
		return 1;
	}
	agent_lock_service(a, rs->name);
	for (i = 0; i < rs->ncomponents; i++) {
		const struct reg_component *rc = &rs->components[i];
		const struct svc_component *c = NULL;
		struct buf actions = BUF_INIT;
		char name[SVC_INSTANCE_MAX];
		int r;

		if (strcmp(rc->desired, "running") != 0)
			continue;
		svc_instance_name(name, sizeof(name), rs->name, rc->name);
		for (k = 0; k < def->ncomponents; k++)
			if (strcmp(def->components[k].name, rc->name) == 0)
				c = &def->components[k];
		mcp_err_clear(&e);
		if (c == NULL) {
			r = mcp_err_set(&e, MCP_E_DATALOSS, "component %s is not in the "
			    "stored definition", rc->name);
		} else {
			r = recover_image(a, c, &e) == -1 ? -1 :
			    agent_component_start(a, def, c, rc, &actions, &e);
		}
		if (r == -1) {
			failed++;
			buf_printf(report, "%s (%s %s/%s): failed: %s\n", name, rc->runtime,
			    rs->name, rc->name, e.msg);
		} else {
			buf_printf(report, "%s (%s %s/%s): %s\n", name, rc->runtime,
			    rs->name, rc->name, r == 1 ? "already running" : "recreated");
			if (r == 0)
				log_info("recover: %s recreated", name);
		}
		buf_free(&actions);
	}
	agent_unlock_service(a, rs->name);
	svc_free(def);
	return failed;
}

int
agent_recover(struct agent *a, struct buf *report, struct mcp_err *err)
{
	struct reg_service *svcs = NULL;
	size_t n = 0, i, want = 0;
	int failed = 0;

	if (reg_service_list(a->reg, &svcs, &n, err) == -1)
		return mcp_err_prefix(err, "recover");
	for (i = 0; i < n; i++) {
		for (size_t j = 0; j < svcs[i].ncomponents; j++)
			want += strcmp(svcs[i].components[j].desired, "running") == 0;
		failed += recover_service(a, &svcs[i], report);
	}
	if (want == 0)
		buf_printf(report, "registry %s: no component is desired running\n",
		    reg_path(a->reg));
	reg_services_free(svcs, n);
	if (failed)
		return mcp_err_set(err, MCP_E_INTERNAL,
		    "recover: %d of %zu instances could not be re-created", failed, want);
	return 0;
}
