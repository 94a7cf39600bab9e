/*
 * agent/monitor.c: the monitor loop (SPEC §4).  Every monitor_interval
 * seconds it compares the registry with the merged runtime listing (the
 * live view's, agent/live.h: a pass costs no podman call unless the view
 * must be refreshed, and then one bounded by [podman] list_timeout); a
 * component whose observed state changed gets a "transition" event; one
 * that became drifted (desired running, observed not; or the reverse) gets
 * a "drift" event and an alert; more than flap_threshold transitions in
 * flap_window seconds is "flapping" (event + alert, once per window).
 * It only observes and reports: it never restarts anything.
 */
#include "agent/agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/spawn.h"

static void
monitor_alert(struct agent *a, const char *service, const char *component,
    const char *kind, const char *detail)
{
	char e1[128], e2[128], e3[64], e4[600], e5[96];
	const char *env[] = { e1, e2, e3, e4, e5, NULL };
	struct spawn_opts opts = { .env_add = env, .timeout_ms = 10000, .stdout_fd = -1 };
	struct spawn_result res;
	struct mcp_err err = MCP_ERR_INIT;

	log_warnx("ALERT %s %s/%s: %s", kind, service, component, detail);
	if (a->cfg.alert_command == NULL || a->cfg.alert_command[0] == NULL)
		return;
	snprintf(e1, sizeof(e1), "MCP_ALERT_SERVICE=%s", service);
	snprintf(e2, sizeof(e2), "MCP_ALERT_COMPONENT=%s", component);
	snprintf(e3, sizeof(e3), "MCP_ALERT_KIND=%s", kind);
	snprintf(e4, sizeof(e4), "MCP_ALERT_DETAIL=%s", detail);
	snprintf(e5, sizeof(e5), "MCP_ALERT_NODE=%s", a->cfg.node);
	if (spawn_run((const char *const *)a->cfg.alert_command, &opts, &res, &err) == -1)
		log_warnx("alert command %s: %s", a->cfg.alert_command[0], err.msg);
	else if (res.status != 0)
		log_warnx("alert command %s: exit status %d: %s",
		    a->cfg.alert_command[0], res.status, spawn_errline(&res));
	spawn_result_free(&res);
}

void
agent_monitor_tick(struct agent *a)
{
	struct agent_view v;
	struct mcp_err err = MCP_ERR_INIT;
	int64_t now = (int64_t)time(NULL);
	uint64_t gen = agent_ops_gen(a);
	size_t i, j;

	if (agent_view_get(a, NULL, &v, &err) == -1) {
		log_warnx("monitor: %s", err.msg);
		return;
	}
	/*
	 * An operation that started or ended while we looked may have shown us
	 * its intermediate states (a container between remove and run, a TAP
	 * before its QEMU): judge nothing from this pass, look again next time.
	 */
	if (agent_ops_gen(a) != gen) {
		log_debug("monitor: operations in flight; pass skipped");
		agent_view_free(&v);
		return;
	}
	/* TAPs are swept only against a listing the runtimes really gave */
	if (a->bridge_mode && v.observed)
		agent_bridge_sync(a, v.infos, v.ninfos);
	for (i = 0; i < v.nsvcs; i++) {
		const char *svc = v.svcs[i].name;

		/* mid-operation states (a deploy between record and run) are not drift */
		if (agent_service_busy(a, svc))
			continue;

		for (j = 0; j < v.svcs[i].ncomponents; j++) {
			struct agent_comp_view *cv = &v.comps[i][j];
			const struct reg_component *rc = cv->rc;
			int was_drift, changed;
			char detail[256];

			if (strcmp(cv->observed, "unknown") == 0)
				continue;
			changed = strcmp(cv->observed, rc->last_observed) != 0;
			if (changed) {
				was_drift = rc->last_observed[0] &&
				    agent_is_drift(rc->desired, rc->last_observed);
				/* the first sighting is no state change: it does not
				 * count towards flapping */
				agent_event(a, svc, rc->name,
				    rc->last_observed[0] ? "transition" : "observed",
				    rc->last_observed, cv->observed, "");
				if (reg_component_set_observed(a->reg, svc, rc->name,
				    cv->observed, now, &err) == -1) {
					log_warnx("monitor: %s: record observed %s: %s",
					    cv->instance, cv->observed, err.msg);
					mcp_err_clear(&err);
				}
				log_info("monitor: %s %s -> %s", cv->instance,
				    rc->last_observed[0] ? rc->last_observed : "(new)",
				    cv->observed);
			} else {
				/* same state, but the desired state may have moved
				 * (a start that failed): alert once per change */
				if ((was_drift = reg_events_count(a->reg, svc, rc->name,
				    "drift", rc->last_change, &err)) < 0) {
					log_warnx("monitor: %s", err.msg);
					continue;
				}
			}
			if (cv->drift && !was_drift) {
				snprintf(detail, sizeof(detail), "%s %s", cv->instance,
				    cv->drift_reason);
				agent_event(a, svc, rc->name, "drift", rc->desired,
				    cv->observed, detail);
				monitor_alert(a, svc, rc->name, "drift", detail);
			}
			if (!changed)
				continue;
			if (reg_events_count(a->reg, svc, rc->name, "transition",
			    now - a->cfg.flap_window_s, &err) > a->cfg.flap_threshold &&
			    reg_events_count(a->reg, svc, rc->name, "flapping",
			    now - a->cfg.flap_window_s, &err) == 0) {
				snprintf(detail, sizeof(detail),
				    "%s changed state more than %d times in %d s",
				    cv->instance, a->cfg.flap_threshold,
				    a->cfg.flap_window_s);
				agent_event(a, svc, rc->name, "flapping", "",
				    cv->observed, detail);
				monitor_alert(a, svc, rc->name, "flapping", detail);
			}
		}
	}
	agent_view_free(&v);
}

static void *
monitor_main(void *arg)
{
	struct agent *a = arg;
	struct timespec deadline;

	pthread_mutex_lock(&a->mu);
	while (!a->stopping) {
		pthread_mutex_unlock(&a->mu);
		agent_monitor_tick(a);
		agent_proxy_tick(a);
		pthread_mutex_lock(&a->mu);
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += a->cfg.monitor_interval_s;
		while (!a->stopping &&
		    pthread_cond_timedwait(&a->cv, &a->mu, &deadline) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

int
agent_monitor_start(struct agent *a, struct mcp_err *err)
{
	int rc = pthread_create(&a->monitor, NULL, monitor_main, a);

	if (rc != 0)
		return mcp_err_errno(err, rc, "monitor: start thread");
	a->monitor_running = 1;
	return 0;
}

void
agent_monitor_stop(struct agent *a)
{
	if (!a->monitor_running)
		return;
	pthread_mutex_lock(&a->mu);
	a->stopping = 1;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->monitor, NULL);
	a->monitor_running = 0;
}
