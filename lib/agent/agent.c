/*
 * agent/agent.c: set-up and tear-down of mcp-agent: configuration, state
 * directory, registry, runtimes, RPC server, monitor, signals; and the
 * per-service locks.  Running containers and VMs are never touched by
 * start-up or shutdown: they outlive the agent and are rediscovered.
 */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/live.h"
#include "runtime/qemu.h"

#include "util/file.h"
#include "util/log.h"
#include "util/sdnotify.h"
#include "util/sdscope.h"
#include "wire/wire.h"

static int
agent_setup_runtimes(struct agent *a, struct mcp_err *err)
{
	struct podman_config *pc = &a->podman_cfg;

	pc->binary = a->cfg.podman_binary;
	pc->global_args = (const char *const *)a->cfg.podman_args;
	pc->containers_conf = a->cfg.containers_conf[0] ? a->cfg.containers_conf : NULL;
	pc->insecure_registries = (const char *const *)a->cfg.insecure_registries;
	pc->timeout_s = 60;
	if ((a->podman = podman_runtime_new(pc, err)) == NULL)
		return mcp_err_prefix(err, "container runtime");
	{
		char vms[CFG_PATH_MAX + 8], cache[CFG_PATH_MAX + 8];
		struct qemu_config qc;

		snprintf(vms, sizeof(vms), "%s/vms", a->cfg.state_dir);
		snprintf(cache, sizeof(cache), "%s/images", a->cfg.state_dir);
		memset(&qc, 0, sizeof(qc));
		qc.binary = a->cfg.qemu_binary;
		qc.kernel = a->cfg.kernel;
		qc.modules_dir = a->cfg.modules;
		qc.mcp_init = a->cfg.mcp_init;
		qc.state_dir = vms;
		qc.cache_dir = cache;
		qc.accel = a->cfg.accel;
		qc.machine = a->cfg.machine;
		qc.podman = pc;
		qc.stop_timeout_s = a->cfg.stop_timeout_s;
		qc.bridge = a->bridge_mode ? &a->bridge : NULL;
		qc.systemd_scope = a->systemd_scope;
		qc.vm_uids = a->cfg.vm_uids;
		qc.tcg_tb_mb = -1;	/* QEMU's own TCG cache size: boots as fast as by hand */
		/*
		 * The runtime exists even when it cannot boot VMs (no QEMU or
		 * kernel): VMs already running must still be listed, reported
		 * truthfully and stoppable from their state directories.
		 */
		a->qemu_can_run = qemu_runtime_available(&qc, a->qemu_why,
		    sizeof(a->qemu_why));
		if ((a->qemu = qemu_runtime_new(&qc, err)) == NULL) {
			mcp_strlcpy(a->qemu_why, err->msg, sizeof(a->qemu_why));
			a->qemu_can_run = 0;
			log_warnx("unikernel runtime: %s", err->msg);
			mcp_err_clear(err);
			return 0;
		}
		if (!a->qemu_can_run) {
			log_info("unikernel runtime cannot boot VMs: %s", a->qemu_why);
			return 0;
		}
		mcp_strlcpy(a->accel, qemu_accel_pick(a->cfg.accel, "/proc/cpuinfo",
		    "/dev/kvm"), sizeof(a->accel));
		log_info("unikernel runtime available (accel %s)", a->accel);
	}
	return 0;
}

/*
 * One agent process per state directory: the daemon, `recover` and
 * `remove-untracked` all change the same registry and instances.  The lock
 * is released when the process ends, however it ends; close-on-exec, so a
 * QEMU that outlives the agent does not hold it.
 */
static int
agent_lock_state(struct agent *a, struct mcp_err *err)
{
	char path[CFG_PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/agent.lock", a->cfg.state_dir);
	if ((a->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return mcp_err_errno(err, errno, "state directory lock %s", path);
	if (flock(a->lock_fd, LOCK_EX | LOCK_NB) == -1)
		return mcp_err_set(err, MCP_E_PRECONDITION, "another mcp-agent is using "
		    "state directory %s (it holds %s): stop it first", a->cfg.state_dir,
		    path);
	return 0;
}

int
agent_init(struct agent *a, const char *config_path, struct mcp_err *err)
{
	char path[CFG_PATH_MAX + 32];

	/* before any thread exists, so that every thread inherits the mask */
	agent_signals_block();
	memset(a, 0, sizeof(*a));
	a->lock_fd = -1;
	mcp_strlcpy(a->config_path, config_path, sizeof(a->config_path));
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	pthread_mutex_init(&a->bridge_mu, NULL);
	pthread_mutex_init(&a->capacity_mu, NULL);
	pthread_mutex_init(&a->proxy_mu, NULL);
	pthread_mutex_init(&a->edge_mu, NULL);
	pthread_mutex_init(&a->proxy_batch_mu, NULL);
	pthread_cond_init(&a->proxy_batch_cv, NULL);
	a->started_at = (int64_t)time(NULL);
	a->defs = agent_defs_new();
	if (agent_config_load(config_path, &a->cfg, err) == -1)
		return -1;
	/* QEMU and HAProxy outside the agent's cgroup when it is a service */
	if ((a->systemd_scope = sdscope_mode(a->cfg.systemd_scope, err)) == -1)
		return -1;
	if (a->systemd_scope)
		log_info("VMs and the node proxy start in systemd scopes "
		    "(mcp-vm-<name>.scope, mcp-proxy-%s.scope)", a->cfg.node);
	umask(077);
	if (file_mkdirs(a->cfg.state_dir, 0700, err) == -1)
		return mcp_err_prefix(err, "state directory");
	if (agent_lock_state(a, err) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/registry.db", a->cfg.state_dir);
	a->registry_created = access(path, F_OK) == -1 && errno == ENOENT;
	if ((a->reg = reg_open(path, err)) == NULL)
		return -1;
	if (agent_bridge_init(a, err) == -1)
		return -1;
	if (agent_setup_runtimes(a, err) == -1)
		return -1;
	if ((a->live = live_new(a, err)) == NULL)
		return -1;
	if (agent_proxy_init(a, err) == -1)
		return mcp_err_prefix(err, "node proxy");
	agent_remove_leftovers(a);
	return 0;
}

int
agent_run(struct agent *a, struct mcp_err *err)
{
	if (live_start(a->live, err) == -1 || agent_rpc_start(a, err) == -1 ||
	    agent_monitor_start(a, err) == -1 || agent_register_start(a, err) == -1)
		return -1;
	/* routes are served again (or still) before the node says it is ready */
	if (agent_proxy_sync(a, NULL, err) == -1) {
		log_warnx("%s", err->msg);
		mcp_err_clear(err);
	}
	log_info("node %s ready: socket %s%s%s", a->cfg.node, a->cfg.socket,
	    a->cfg.listen[0] ? ", listen " : "", a->cfg.listen);
	/* systemd (Type=notify): the socket and listener accept calls now */
	if (sdnotify_send(a->notify_socket, "READY=1", err) == -1) {
		log_warnx("%s", err->msg);
		mcp_err_clear(err);
	}
	agent_signals_wait();
	return 0;
}

void
agent_free(struct agent *a)
{
	pthread_mutex_lock(&a->mu);
	a->stopping = 1;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	agent_monitor_stop(a);
	agent_register_stop(a);
	if (a->server) {
		wire_server_free(a->server);
		a->server = NULL;
	}
	live_free(a->live);
	a->live = NULL;
	agent_proxy_free(a);
	runtime_free(a->qemu);
	runtime_free(a->podman);
	free(a->fw_applied);
	reg_close(a->reg);
	agent_defs_free(a->defs);
	a->defs = NULL;
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	agent_config_free(&a->cfg);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	pthread_mutex_destroy(&a->bridge_mu);
	pthread_mutex_destroy(&a->capacity_mu);
	pthread_mutex_destroy(&a->proxy_mu);
	pthread_mutex_destroy(&a->edge_mu);
	pthread_mutex_destroy(&a->proxy_batch_mu);
	pthread_cond_destroy(&a->proxy_batch_cv);
}

struct runtime *
agent_runtime_for(struct agent *a, const char *runtime, struct mcp_err *err)
{
	if (strcmp(runtime, "container") == 0)
		return a->podman;
	if (strcmp(runtime, "unikernel") == 0) {
		if (a->qemu == NULL) {
			mcp_err_set(err, MCP_E_PRECONDITION,
			    "the unikernel runtime is not available on node %s: %s",
			    a->cfg.node, a->qemu_why);
			return NULL;
		}
		return a->qemu;
	}
	mcp_err_set(err, MCP_E_INVALID, "unknown runtime \"%s\"", runtime);
	return NULL;
}

struct runtime *
agent_runtime_to_run(struct agent *a, const char *runtime, struct mcp_err *err)
{
	if (strcmp(runtime, "unikernel") == 0 && !a->qemu_can_run) {
		mcp_err_set(err, MCP_E_PRECONDITION,
		    "the unikernel runtime is not available on node %s: %s",
		    a->cfg.node, a->qemu_why);
		return NULL;
	}
	return agent_runtime_for(a, runtime, err);
}

/*
 * Callers validate the name first (svc_name_valid: at most 63 bytes), so it
 * always fits a slot exactly and unlock finds the slot lock took.
 */
void
agent_lock_service(struct agent *a, const char *service)
{
	size_t i, nlocks = sizeof(a->locks) / sizeof(a->locks[0]);
	struct agent_lock *l = NULL;

	if (strlen(service) >= sizeof(a->locks[0].service))
		abort();	/* a caller skipped validation: a bug, not input */

	pthread_mutex_lock(&a->mu);
	for (;;) {
		l = NULL;
		for (i = 0; i < nlocks; i++)
			if (a->locks[i].holders && strcmp(a->locks[i].service, service) == 0)
				l = &a->locks[i];
		if (l == NULL)
			for (i = 0; i < nlocks && l == NULL; i++)
				if (a->locks[i].holders == 0) {
					l = &a->locks[i];
					mcp_strlcpy(l->service, service, sizeof(l->service));
				}
		if (l != NULL)
			break;
		pthread_cond_wait(&a->cv, &a->mu);	/* table full: wait */
	}
	l->holders++;
	while (l->busy)
		pthread_cond_wait(&a->cv, &a->mu);
	l->busy = 1;
	a->ops_gen++;
	pthread_mutex_unlock(&a->mu);
}

void
agent_unlock_service(struct agent *a, const char *service)
{
	size_t i, nlocks = sizeof(a->locks) / sizeof(a->locks[0]);

	pthread_mutex_lock(&a->mu);
	for (i = 0; i < nlocks; i++) {
		struct agent_lock *l = &a->locks[i];

		if (l->holders && l->busy && strcmp(l->service, service) == 0) {
			l->busy = 0;
			l->holders--;
			a->ops_gen++;
			break;
		}
	}
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	live_touch(a->live);	/* what the operation changed: list on the next look */
}

int
agent_service_busy(struct agent *a, const char *service)
{
	size_t i, nlocks = sizeof(a->locks) / sizeof(a->locks[0]);
	int busy = 0;

	pthread_mutex_lock(&a->mu);
	for (i = 0; i < nlocks; i++)
		if (a->locks[i].holders && strcmp(a->locks[i].service, service) == 0)
			busy = 1;
	pthread_mutex_unlock(&a->mu);
	return busy;
}

uint64_t
agent_ops_gen(struct agent *a)
{
	uint64_t g;

	pthread_mutex_lock(&a->mu);
	g = a->ops_gen;
	pthread_mutex_unlock(&a->mu);
	return g;
}

void
agent_event(struct agent *a, const char *service, const char *component,
    const char *kind, const char *from, const char *to, const char *detail)
{
	struct mcp_err err = MCP_ERR_INIT;

	if (reg_event_add(a->reg, service, component, kind, from, to, detail,
	    &err) == -1)
		log_warnx("%s %s%s%s: record event: %s", kind, service,
		    component && component[0] ? "/" : "",
		    component ? component : "", err.msg);
}
