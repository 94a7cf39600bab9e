/*
 * agent/view.c: what is running versus what should be.  Merges the two
 * runtimes' listings of managed instances, matches them to registry
 * components by their (service, component) metadata and the SPEC §3 name,
 * and derives observed state, drift and flapping per component: what runs
 * is what the instance says (agent_compare), set against the spec the
 * stored definition asks for.
 */
#include "agent/agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/live.h"
#include "util/hash.h"
#include "util/log.h"

int
agent_is_drift(const char *desired, const char *observed)
{
	if (strcmp(observed, "unknown") == 0)
		return 0;
	if (strcmp(desired, "running") == 0)
		return strcmp(observed, "running") != 0;
	return strcmp(observed, "running") == 0;
}

/* Append a runtime's listing (consumed) to *all, tagged with its runtime. */
static void
append_infos(struct rt_info **all, size_t *n, struct rt_info *list, size_t cnt,
    const char *name)
{
	struct rt_info *grown;
	size_t i;

	if (cnt == 0) {
		free(list);
		return;
	}
	grown = realloc(*all, (*n + cnt) * sizeof(**all));
	if (grown == NULL)
		abort();
	*all = grown;
	for (i = 0; i < cnt; i++) {
		mcp_strlcpy(list[i].runtime, name, sizeof(list[i].runtime));
		(*all)[*n + i] = list[i];
	}
	*n += cnt;
	free(list);
}

static int
append_list(struct runtime *rt, const char *name, struct rt_info **all,
    size_t *n, struct mcp_err *err)
{
	struct rt_info *list = NULL;
	size_t cnt = 0;

	if (rt->ops->list(rt, &list, &cnt, err) == -1)
		return mcp_err_prefix(err, "list %s instances", name);
	append_infos(all, n, list, cnt, name);
	return 0;
}

void
agent_observe_runtimes(struct agent *a, struct rt_info **out, size_t *n,
    unsigned *unobserved, char *why, size_t whysz)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct rt_info *list = NULL;
	size_t cnt = 0;

	*out = NULL;
	*n = 0;
	*unobserved = 0;
	why[0] = '\0';
	/* containers from memory (bounded when it must ask podman) */
	if (a->live == NULL) {
		if (append_list(a->podman, "container", out, n, &err) == -1) {
			*unobserved |= AGENT_OBS_CONTAINERS;
			mcp_strlcpy(why, err.msg, whysz);
		}
	} else if (live_containers(a->live, &list, &cnt, why, whysz) == -1)
		*unobserved |= AGENT_OBS_CONTAINERS;
	else
		append_infos(out, n, list, cnt, "container");
	/* VMs from their state directories: cheap, no podman involved */
	mcp_err_clear(&err);
	if (a->qemu && append_list(a->qemu, "unikernel", out, n, &err) == -1) {
		*unobserved |= AGENT_OBS_VMS;
		snprintf(why + strlen(why), whysz - strlen(why), "%s%s",
		    why[0] ? "; " : "", err.msg);
	}
}

int
agent_observe(struct agent *a, struct rt_info **out, size_t *n,
    struct mcp_err *err)
{
	char why[256];
	unsigned unobserved;

	agent_observe_runtimes(a, out, n, &unobserved, why, sizeof(why));
	if (unobserved == 0)
		return 0;
	free(*out);
	*out = NULL;
	*n = 0;
	return mcp_err_set(err, MCP_E_UNAVAILABLE, "%s", why);
}

int
agent_observe_fresh(struct agent *a, struct rt_info **out, size_t *n,
    struct mcp_err *err)
{
	struct rt_info *list = NULL;
	size_t cnt = 0;

	*out = NULL;
	*n = 0;
	if (a->live == NULL) {
		if (append_list(a->podman, "container", out, n, err) == -1)
			return -1;
	} else if (live_list_now(a->live, a->podman, &list, &cnt, err) == -1) {
		return mcp_err_prefix(err, "list container instances");
	} else {
		append_infos(out, n, list, cnt, "container");
	}
	if (a->qemu && append_list(a->qemu, "unikernel", out, n, err) == -1) {
		free(*out);
		*out = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

static const struct rt_info *
find_instance(const struct rt_info *infos, size_t n, const char *runtime,
    const char *service, const char *component, const char *instance)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(infos[i].runtime, runtime) == 0 &&
		    strcmp(infos[i].service, service) == 0 &&
		    strcmp(infos[i].component, component) == 0 &&
		    strcmp(infos[i].name, instance) == 0)
			return &infos[i];
	return NULL;
}

/* The count for (service, component) in a reg_events_counts answer. */
static int
flap_count(const struct reg_event_count *c, size_t n, const char *service,
    const char *component)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(c[i].service, service) == 0 &&
		    strcmp(c[i].component, component) == 0)
			return c[i].count;
	return 0;
}

/* One component's view: the instance (if any) against the desired state. */
static void
view_component(struct agent *a, const struct reg_service *s,
    const struct reg_component *rc, const struct rt_info *infos, size_t ninfos,
    int observed_ok, int flaps, struct agent_comp_view *cv)
{
	const struct rt_info *info;
	struct agent_compare cmp;
	char want[HASH_HEX_LEN + 1];

	cv->rc = rc;
	svc_instance_name(cv->instance, sizeof(cv->instance), s->name, rc->name);
	info = find_instance(infos, ninfos, rc->runtime, s->name, rc->name,
	    cv->instance);
	/* the spec it should run with, from the stored definition */
	agent_defs_hash(a->defs, s, rc, want);
	agent_compare(rc, want, observed_ok, info, &cmp);
	mcp_strlcpy(cv->observed, cmp.observed, sizeof(cv->observed));
	mcp_strlcpy(cv->drift_reason, cmp.reason, sizeof(cv->drift_reason));
	cv->drift = cmp.drift;
	if (observed_ok && info) {
		cv->started_at = info->started_at;
		cv->exit_code = info->exit_code;
		mcp_strlcpy(cv->image_hash, info->image_hash, sizeof(cv->image_hash));
		mcp_strlcpy(cv->guest_kernel, info->kernel, sizeof(cv->guest_kernel));
		mcp_strlcpy(cv->machine, info->machine, sizeof(cv->machine));
		mcp_strlcpy(cv->image_id, info->image_id, sizeof(cv->image_id));
		mcp_strlcpy(cv->observed_image, info->image, sizeof(cv->observed_image));
	}
	if (cv->image_hash[0] == '\0')
		mcp_strlcpy(cv->image_hash, rc->image_hash, sizeof(cv->image_hash));
	cv->flapping = flaps > a->cfg.flap_threshold;
}

int
agent_view_get(struct agent *a, const char *service, struct agent_view *v,
    struct mcp_err *err)
{
	struct rt_info *infos = NULL;
	struct reg_event_count *flaps = NULL;
	size_t ninfos = 0, nflaps = 0, i, j;
	int observed_ok;
	unsigned unobserved;
	int64_t now = (int64_t)time(NULL);

	memset(v, 0, sizeof(*v));
	if (service) {
		struct reg_service *one;

		if (reg_service_get(a->reg, service, &one, err) == -1)
			return -1;
		v->svcs = one;
		v->nsvcs = 1;
		if (reg_events_list(a->reg, service, 20, &v->events, &v->nevents,
		    err) == -1) {
			agent_view_free(v);
			return mcp_err_prefix(err, "status %s", service);
		}
	} else if (reg_service_list(a->reg, &v->svcs, &v->nsvcs, err) == -1) {
		return -1;
	}
	agent_observe_runtimes(a, &infos, &ninfos, &unobserved, v->observe_error,
	    sizeof(v->observe_error));
	observed_ok = unobserved == 0;
	v->comps = xcalloc(v->nsvcs, sizeof(*v->comps));
	v->infos = infos;
	v->ninfos = ninfos;
	v->observed = observed_ok;
	/* transitions in the flap window, for every component in one query */
	if (reg_events_counts(a->reg, "transition", now - a->cfg.flap_window_s,
	    &flaps, &nflaps, err) == -1) {
		agent_view_free(v);
		return -1;
	}
	for (i = 0; i < v->nsvcs; i++) {
		struct reg_service *s = &v->svcs[i];

		v->comps[i] = xcalloc(s->ncomponents, sizeof(**v->comps));
		for (j = 0; j < s->ncomponents; j++) {
			const struct reg_component *rc = &s->components[j];

			view_component(a, s, rc, infos, ninfos,
			    !(unobserved & (strcmp(rc->runtime, "unikernel") == 0 ?
			    AGENT_OBS_VMS : AGENT_OBS_CONTAINERS)),
			    flap_count(flaps, nflaps, s->name, rc->name),
			    &v->comps[i][j]);
		}
	}
	free(flaps);
	if (service == NULL)
		agent_defs_prune(a->defs, v->svcs, v->nsvcs);
	return 0;
}

int
agent_view_deployed(struct agent *a, const char *service, struct agent_view *v,
    struct mcp_err *err)
{
	struct reg_service *one;
	size_t j;

	memset(v, 0, sizeof(*v));
	if (reg_service_get(a->reg, service, &one, err) == -1)
		return -1;
	v->svcs = one;
	v->nsvcs = 1;
	v->comps = xcalloc(1, sizeof(*v->comps));
	v->comps[0] = xcalloc(one->ncomponents, sizeof(**v->comps));
	for (j = 0; j < one->ncomponents; j++) {
		struct agent_comp_view *cv = &v->comps[0][j];

		cv->rc = &one->components[j];
		svc_instance_name(cv->instance, sizeof(cv->instance), one->name,
		    cv->rc->name);
		/* a deploy starts every component, unless active = false */
		mcp_strlcpy(cv->observed, one->active ? "running" : "unobserved",
		    sizeof(cv->observed));
		if (one->active)
			mcp_strlcpy(cv->observed_image, cv->rc->image,
			    sizeof(cv->observed_image));
		mcp_strlcpy(cv->image_hash, cv->rc->image_hash, sizeof(cv->image_hash));
	}
	return 0;
}

void
agent_view_free(struct agent_view *v)
{
	size_t i;

	if (v->comps)
		for (i = 0; i < v->nsvcs; i++)
			free(v->comps[i]);
	free(v->comps);
	reg_services_free(v->svcs, v->nsvcs);
	free(v->events);
	free(v->infos);
	memset(v, 0, sizeof(*v));
}

int
agent_committed(struct agent *a, const char *except_service, int *mem_mb,
    int *vcpus, struct mcp_err *err)
{
	struct reg_service *svcs = NULL;
	size_t n = 0, i, j;

	*mem_mb = *vcpus = 0;
	if (reg_service_list(a->reg, &svcs, &n, err) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (except_service && strcmp(svcs[i].name, except_service) == 0)
			continue;
		for (j = 0; j < svcs[i].ncomponents; j++) {
			const struct reg_component *c = &svcs[i].components[j];

			if (strcmp(c->runtime, "unikernel") == 0 &&
			    strcmp(c->desired, "running") == 0) {
				*mem_mb += c->memory_mb;
				*vcpus += c->vcpus;
			}
		}
	}
	reg_services_free(svcs, n);
	return 0;
}

void
agent_capacity(struct agent *a, int *mem_mb, int *vcpus)
{
	long long mem = a->cfg.memory_mb;
	long cpus = a->cfg.vcpus;

	if (mem == 0)
		mem = (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) >> 20;
	if (cpus == 0)
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
	mem -= a->cfg.reserve_memory_mb;
	cpus -= a->cfg.reserve_vcpus;
	*mem_mb = mem > 0 ? (int)mem : 0;
	*vcpus = cpus > 0 ? (int)cpus : 0;
}
