/*
 * agent/register.c: the agent's side of mcp-master (SPEC §5).  With
 * [master] address set, a thread registers the node (name, role, the
 * address the master calls it at, the address DNS names point to,
 * version, resources) with exponential backoff from 1 s to 60 s while the
 * master is unreachable or refuses, then heartbeats every interval the
 * master asks for, with memory, disk, container and VM counts.  A failed
 * heartbeat goes back to registering.  Nothing here touches services:
 * a master that is down or refuses never affects what runs.
 */
#include "agent/agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "master.pb-c.h"
#include "util/log.h"
#include "wire/wire.h"

#define REGISTER_BACKOFF_MAX_S 60
#define REGISTER_CALL_MS 10000

/* Sleep up to secs, or until the agent stops; 1 if it is stopping. */
static int
register_wait(struct agent *a, int secs)
{
	struct timespec ts;
	int stopping;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	pthread_mutex_lock(&a->mu);
	while (!a->stopping && pthread_cond_timedwait(&a->cv, &a->mu, &ts) == 0)
		;
	stopping = a->stopping;
	pthread_mutex_unlock(&a->mu);
	return stopping;
}

/* What the node offers, for placement; res's strings point into runtimes. */
static void
register_resources(struct agent *a, Mcp__V1__NodeResources *res,
    char **runtimes)
{
	struct reg_service *svcs = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	struct statvfs vfs;
	int mem = 0, cpus = 0, used_mem = 0, used_cpus = 0;
	size_t n = 0, i, j;

	runtimes[0] = "container";
	res->n_runtimes = 1;
	if (a->qemu_can_run)
		runtimes[res->n_runtimes++] = "unikernel";
	res->runtimes = runtimes;
	agent_capacity(a, &mem, &cpus);
	/* a registry that cannot be read offers no VM capacity, not all of it */
	if (agent_committed(a, NULL, &used_mem, &used_cpus, &err) == -1) {
		log_warnx("heartbeat: %s", err.msg);
		mcp_err_clear(&err);
		used_mem = mem;
		used_cpus = cpus;
	}
	res->memory_total_mb = (uint64_t)(mem > 0 ? mem : 0);
	res->memory_free_mb = (uint64_t)(mem > used_mem ? mem - used_mem : 0);
	res->vcpus_total = (uint32_t)(cpus > 0 ? cpus : 0);
	res->vcpus_free = (uint32_t)(cpus > used_cpus ? cpus - used_cpus : 0);
	if (statvfs(a->cfg.state_dir, &vfs) == 0)
		res->disk_free_mb = (uint64_t)vfs.f_bavail * vfs.f_frsize / (1024 * 1024);
	if (reg_service_list(a->reg, &svcs, &n, &err) == 0) {
		for (i = 0; i < n; i++)
			for (j = 0; j < svcs[i].ncomponents; j++) {
				if (strcmp(svcs[i].components[j].runtime, "unikernel") == 0)
					res->vms++;
				else
					res->containers++;
			}
		reg_services_free(svcs, n);
	}
}

/* The address the master calls us at, and the one DNS names point to. */
static void
register_addresses(const struct agent_config *cfg, char *addr, size_t addrsz,
    char *adv, size_t advsz)
{
	const char *port = strrchr(cfg->listen, ':');
	char host[128];

	mcp_strlcpy(host, cfg->listen, sizeof(host));
	if (strrchr(host, ':'))
		*strrchr(host, ':') = '\0';
	mcp_strlcpy(adv, cfg->advertise[0] ? cfg->advertise : host, advsz);
	if (cfg->advertise[0] && (strcmp(host, "0.0.0.0") == 0 || host[0] == '\0' ||
	    strcmp(host, "[::]") == 0))
		snprintf(addr, addrsz, "%s%s", cfg->advertise, port ? port : "");
	else
		mcp_strlcpy(addr, cfg->listen, addrsz);
}

static int
register_once(struct agent *a, struct wire_client *c, int *interval,
    struct mcp_err *err)
{
	Mcp__V1__RegisterRequest req = MCP__V1__REGISTER_REQUEST__INIT;
	Mcp__V1__NodeResources res = MCP__V1__NODE_RESOURCES__INIT;
	Mcp__V1__RegisterResponse *resp = NULL;
	char *runtimes[2], addr[256], adv[64];

	register_addresses(&a->cfg, addr, sizeof(addr), adv, sizeof(adv));
	register_resources(a, &res, runtimes);
	req.name = a->cfg.node;
	req.role = a->cfg.proxy.edge ? "edge" : "worker";
	req.address = addr;
	req.advertise = adv;
	req.version = MCP_VERSION;
	req.resources = &res;
	if (wire_call(c, "/mcp.v1.Master/Register", &req.base,
	    &mcp__v1__register_response__descriptor, (ProtobufCMessage **)&resp,
	    REGISTER_CALL_MS, err) == -1)
		return -1;
	if (resp->heartbeat_interval_s > 0)
		*interval = (int)resp->heartbeat_interval_s;
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

static int
heartbeat_once(struct agent *a, struct wire_client *c, int *interval,
    struct mcp_err *err)
{
	Mcp__V1__HeartbeatRequest req = MCP__V1__HEARTBEAT_REQUEST__INIT;
	Mcp__V1__NodeResources res = MCP__V1__NODE_RESOURCES__INIT;
	Mcp__V1__HeartbeatResponse *resp = NULL;
	struct mcp_err verr = MCP_ERR_INIT;
	struct agent_view v;
	int have_view, rc;
	char *runtimes[2];

	register_resources(a, &res, runtimes);
	req.name = a->cfg.node;
	req.resources = &res;
	/* each VM's attested hash (the view is the live cache's: cheap) */
	if ((have_view = agent_view_get(a, NULL, &v, &verr) == 0))
		req.vms = agent_vm_attestations(&v, &req.n_vms);
	else
		log_warnx("heartbeat: VM attestations: %s", verr.msg);
	rc = wire_call(c, "/mcp.v1.Master/Heartbeat", &req.base,
	    &mcp__v1__heartbeat_response__descriptor, (ProtobufCMessage **)&resp,
	    REGISTER_CALL_MS, err);
	for (size_t i = 0; i < req.n_vms; i++)
		free(req.vms[i]);
	free(req.vms);
	if (have_view)
		agent_view_free(&v);
	if (rc == -1)
		return -1;
	if (resp->heartbeat_interval_s > 0)
		*interval = (int)resp->heartbeat_interval_s;
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

static void *
register_loop(void *arg)
{
	struct agent *a = arg;
	struct wire_tls tls = { a->cfg.tls_ca, a->cfg.tls_cert, a->cfg.tls_key };
	struct mcp_err err = MCP_ERR_INIT;
	struct wire_client *c;
	int backoff = 1, interval = 30, registered = 0, wait;

	if ((c = wire_client_new(a->cfg.master_address, &tls, &err)) == NULL) {
		log_warnx("master %s: %s (not registering)", a->cfg.master_address,
		    err.msg);
		return NULL;
	}
	for (;;) {
		mcp_err_clear(&err);
		if (!registered && register_once(a, c, &interval, &err) == 0) {
			log_info("registered with master %s (heartbeat every %d s)",
			    a->cfg.master_address, interval);
			registered = 1;
			backoff = 1;
			wait = interval;
		} else if (registered && heartbeat_once(a, c, &interval, &err) == 0)
			wait = interval;
		else {
			log_warnx("master %s: %s %s: %s; again in %d s",
			    a->cfg.master_address, registered ? "heartbeat" : "register",
			    a->cfg.node, err.msg, backoff);
			registered = 0;
			wait = backoff;
			backoff = backoff * 2 > REGISTER_BACKOFF_MAX_S ?
			    REGISTER_BACKOFF_MAX_S : backoff * 2;
		}
		if (register_wait(a, wait))
			break;
	}
	wire_client_free(c);
	return NULL;
}

int
agent_register_start(struct agent *a, struct mcp_err *err)
{
	if (a->cfg.master_address[0] == '\0')
		return 0;
	if (pthread_create(&a->registrar, NULL, register_loop, a) != 0)
		return mcp_err_set(err, MCP_E_INTERNAL, "start the registration thread");
	a->registrar_running = 1;
	return 0;
}

void
agent_register_stop(struct agent *a)
{
	if (!a->registrar_running)
		return;
	pthread_mutex_lock(&a->mu);
	a->stopping = 1;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->registrar, NULL);
	a->registrar_running = 0;
}
