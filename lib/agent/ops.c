/*
 * agent/ops.c: the lifecycle operations: deploy, stop, start, restart,
 * undeploy, logs.
 *
 * Deploy validates everything before it changes anything (definition,
 * node pin, runtime availability, VM capacity, image pulls), then records
 * the desired state in the registry (allocating host ports) and converges
 * each component: an instance that is the one this agent created (its
 * identity is the one recorded) and whose own recorded spec hash equals
 * the new one is left alone; anything else is replaced.  The instance's
 * own record decides, not the registry row, so a deploy interrupted
 * between recording and replacing converges when repeated.  Start/Restart
 * re-create instances from the definition stored in the registry, so the
 * registry is the only source of what runs.
 *
 * fault_point() names the steps a crash test can stop the agent at
 * (MCP_FAULT, test-only).
 */
#include "agent/agent.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/fault.h"
#include "util/file.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/proc.h"
#include "util/progress.h"

/* An rt_spec with the storage it points into. */
struct spec_build {
	struct rt_spec spec;
	char name[SVC_INSTANCE_MAX];
	char **env;
	struct rt_volume *vols;
	char **hosts;		/* volume host paths as mapped (spec_map_volumes) */
	struct rt_port *ports;
};

static void
spec_build(struct spec_build *b, const struct svc_def *def,
    const struct svc_component *c, const struct reg_component *rc)
{
	size_t i, j, nenv = 0;

	memset(b, 0, sizeof(*b));
	svc_instance_name(b->name, sizeof(b->name), def->name, c->name);
	b->env = xcalloc(c->nenv + 2 * c->nroutes + 2, sizeof(char *));
	b->ports = xcalloc(c->nroutes + 1, sizeof(*b->ports));
	b->vols = xcalloc(c->nvolumes + 1, sizeof(*b->vols));
	for (i = 0; i < c->nenv; i++)
		b->env[nenv++] = xstrdup(c->env[i]);
	for (i = 0; i < c->nroutes; i++) {
		const struct svc_route *r = &c->routes[i];
		struct rt_port *p = &b->ports[i];
		char var[96], kv[128];

		mcp_strlcpy(p->name, r->name, sizeof(p->name));
		p->port = r->port;
		for (j = 0; rc && j < rc->nroutes; j++)
			if (strcmp(rc->routes[j].name, r->name) == 0)
				p->host_port = rc->routes[j].host_port;
		svc_port_env_name(var, sizeof(var), c, r);
		snprintf(kv, sizeof(kv), "%s=%d", var, r->port);
		b->env[nenv++] = xstrdup(kv);
		/* a component with one route also sees $PORT */
		if (c->nroutes == 1 && strcmp(var, "PORT") != 0) {
			snprintf(kv, sizeof(kv), "PORT=%d", r->port);
			b->env[nenv++] = xstrdup(kv);
		}
	}
	for (i = 0; i < c->nvolumes; i++) {
		b->vols[i].host = c->volumes[i].host;
		b->vols[i].guest = c->volumes[i].guest;
		b->vols[i].opts = c->volumes[i].opts;
	}
	b->spec.name = b->name;
	b->spec.service = def->name;
	b->spec.component = c->name;
	b->spec.image = c->image;
	b->spec.cmd = (const char *const *)c->cmd;
	b->spec.env = (const char *const *)b->env;
	b->spec.volumes = b->vols;
	b->spec.nvolumes = c->nvolumes;
	b->spec.user = c->user;
	b->spec.restart = c->restart;
	b->spec.ports = b->ports;
	b->spec.nports = c->nroutes;
	b->spec.memory_mb = c->memory_mb;
	b->spec.vcpus = c->vcpus;
	b->spec.network = c->network;
	b->spec.vm_ip = rc ? rc->vm_ip : "";
}

static void
spec_free(struct spec_build *b)
{
	size_t i;

	for (i = 0; b->env && b->env[i]; i++)
		free(b->env[i]);
	free(b->env);
	free(b->ports);
	free(b->vols);
	for (i = 0; b->hosts && i < b->spec.nvolumes; i++)
		free(b->hosts[i]);
	free(b->hosts);
}

/* The volumes' host paths as this node mounts them (after the hash); a
 * mapped one (the service's data dir) is created if missing. */
static int
spec_map_volumes(struct spec_build *b, const char *srv_root,
    const char *service, struct mcp_err *err)
{
	char host[PATH_MAX];

	b->hosts = xcalloc(b->spec.nvolumes + 1, sizeof(char *));
	for (size_t i = 0; i < b->spec.nvolumes; i++) {
		int mapped = agent_volume_host(srv_root, service, b->vols[i].host,
		    host, sizeof(host));

		if (mapped == -1)
			return mcp_err_set(err, MCP_E_INVALID, "volume %s: host path "
			    "too long under %s", b->vols[i].host, srv_root);
		/* the service's data dir: this agent's to create (podman does
		 * not create a missing bind source) */
		if (mapped && file_mkdirs(host, 0750, err) == -1)
			return mcp_err_prefix(err, "volume %s", b->vols[i].host);
		b->hosts[i] = xstrdup(host);
		b->vols[i].host = b->hosts[i];
	}
	return 0;
}

/* A hash over everything that shapes the instance. */
static void
spec_hash_of(const struct rt_spec *s, const char *runtime, char *out)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_printf(&b, "runtime=%s\nname=%s\nimage=%s\nuser=%s\nrestart=%s\n"
	    "memory=%d\nvcpus=%d\nnetwork=%s\nvm_ip=%s\n", runtime, s->name,
	    s->image, s->user, s->restart, s->memory_mb, s->vcpus, s->network,
	    s->vm_ip ? s->vm_ip : "");
	for (i = 0; s->cmd && s->cmd[i]; i++)
		buf_printf(&b, "cmd=%s\n", s->cmd[i]);
	for (i = 0; s->env && s->env[i]; i++)
		buf_printf(&b, "env=%s\n", s->env[i]);
	for (i = 0; i < s->nvolumes; i++)
		buf_printf(&b, "vol=%s:%s:%s\n", s->volumes[i].host,
		    s->volumes[i].guest, s->volumes[i].opts);
	for (i = 0; i < s->nports; i++)
		buf_printf(&b, "port=%s:%d:%d\n", s->ports[i].name,
		    s->ports[i].port, s->ports[i].host_port);
	hash_sha256_hex(b.data, b.len, out);
	buf_free(&b);
}

void
agent_spec_hash(const struct svc_def *def, const struct svc_component *c,
    const struct reg_component *rc, char *out)
{
	struct spec_build b;

	spec_build(&b, def, c, rc);
	spec_hash_of(&b.spec, c->runtime, out);
	spec_free(&b);
}

static const struct reg_component *
reg_find_component(const struct reg_service *s, const char *name)
{
	size_t i;

	for (i = 0; s && i < s->ncomponents; i++)
		if (strcmp(s->components[i].name, name) == 0)
			return &s->components[i];
	return NULL;
}

static const struct svc_component *
def_find_component(const struct svc_def *def, const char *name)
{
	size_t i;

	for (i = 0; i < def->ncomponents; i++)
		if (strcmp(def->components[i].name, name) == 0)
			return &def->components[i];
	return NULL;
}

/*
 * Is a TCP port on 127.0.0.1 free to bind?  Used to veto allocations, so
 * stricter than the check before a run (no SO_REUSEADDR: a port with a
 * connection lingering in TIME_WAIT is passed over too; there are plenty).
 */
static int
port_probe(int port, void *arg)
{
	struct sockaddr_in sin;
	int fd, ok;

	(void)arg;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

/* A running (or paused) instance holds its own host ports. */
static int
holds_ports(const struct rt_info *info)
{
	return strcmp(info->state, "running") == 0 || strcmp(info->state, "paused") == 0;
}

/*
 * The error for host port `port` of route `route` that another process
 * holds: the port, the address the runtime binds, the owner when /proc
 * shows it.  Returns -1.
 */
static int
host_port_busy(struct mcp_err *err, const char *what, int port, const char *route,
    const char *owner)
{
	return mcp_err_set(err, MCP_E_RESOURCE,
	    "%s: host port %d of route %s on 127.0.0.1 is already in use by %s",
	    what, port, route[0] ? route : "(unnamed)",
	    owner[0] ? owner : "another process (its owner is not visible in /proc)");
}

/*
 * Before an instance is (re)created from spec: every host port it
 * publishes must be free (proc_loopback_port_free), else -1 naming it, so
 * that nothing is stopped or removed for a run that cannot bind.
 */
static int
spec_ports_free(const struct rt_spec *s, struct mcp_err *err)
{
	for (size_t i = 0; i < s->nports; i++) {
		char owner[128];
		int r;

		if (s->ports[i].host_port <= 0)
			continue;
		r = proc_loopback_port_free(s->ports[i].host_port, owner, sizeof(owner));
		if (r == -1)
			return mcp_err_errno(err, errno, "host port 127.0.0.1:%d: bind test",
			    s->ports[i].host_port);
		if (r == 0)
			return host_port_busy(err, "cannot start", s->ports[i].host_port,
			    s->ports[i].name, owner);
	}
	return 0;
}

static int instance_remove(struct agent *a, struct runtime *rt, const char *name,
    const char *service, const char *component, struct mcp_err *err);

/*
 * Inspect an instance: 1 it exists (*info filled), 0 there is none, -1 the
 * runtime could not say (err): a failed look is never taken for absence.
 */
static int
instance_inspect(struct runtime *rt, const char *name, struct rt_info *info,
    struct mcp_err *err)
{
	if (rt->ops->inspect(rt, name, info, err) == 0)
		return 1;
	if (err->code != MCP_E_NOTFOUND)
		return -1;
	mcp_err_clear(err);
	return 0;
}

/*
 * 1 (with err) when an instance is not (service, component)'s own: another
 * service's, or not managed by MCP at all.  Such an instance is never
 * stopped, removed or replaced.
 */
static int
not_ours(const struct rt_info *info, const char *service, const char *component,
    struct mcp_err *err)
{
	if (strcmp(info->service, service) == 0 && strcmp(info->component, component) == 0)
		return 0;
	mcp_err_set(err, MCP_E_EXISTS,
	    "%s already exists and does not belong to %s/%s (service \"%s\", "
	    "component \"%s\"); not touching it", info->name, service, component,
	    info->service, info->component);
	return 1;
}

/*
 * Why an instance is (re)created:
 *   RUN_DEPLOY      converge: leave a running instance with the same spec alone
 *   RUN_DEPLOY_NEW  a service deployed for the first time: no instance to look at
 *   RUN_START       as RUN_DEPLOY, but a VM must boot the hash recorded at deploy
 *   RUN_RESTART     always replace; a VM must boot the recorded hash
 */
enum run_why { RUN_DEPLOY, RUN_DEPLOY_NEW, RUN_START, RUN_RESTART };

/*
 * (Re)create one component's instance from its spec; records what started
 * (spec hash, VM attestation, the new instance's identity).  0 (re)created,
 * 1 left alone (running, unchanged and ours), -1 failed.
 */
static int
component_run(struct agent *a, const struct svc_def *def,
    const struct svc_component *c, const struct reg_component *rc,
    enum run_why why, const struct progress *pg, struct buf *actions,
    struct mcp_err *err)
{
	int force = why == RUN_RESTART, fresh = why == RUN_DEPLOY_NEW;
	int relife = why == RUN_START || why == RUN_RESTART;
	struct spec_build b;
	struct runtime *rt;
	struct rt_info info;
	struct mcp_err ierr = MCP_ERR_INIT;
	char hash[HASH_HEX_LEN + 1], id[sizeof(info.id)] = "";
	int exists, rc_run = -1;

	if ((rt = agent_runtime_to_run(a, c->runtime, err)) == NULL)
		return -1;
	/* again at each run: the service may have planted a symlink since */
	if (agent_volumes_check((const char *const *)a->cfg.volume_roots,
	    a->cfg.srv_root, def, c, err) == -1)
		return -1;
	spec_build(&b, def, c, rc);
	spec_hash_of(&b.spec, c->runtime, hash);
	if (spec_map_volumes(&b, a->cfg.srv_root, def->name, err) == -1) {
		spec_free(&b);
		return -1;
	}
	b.spec.spec_hash = hash;
	b.spec.id_out = id;
	b.spec.id_outsz = sizeof(id);
	b.spec.progress = pg;
	/*
	 * Start/restart of an unchanged VM must boot exactly what was attested
	 * at deploy; a deploy (re)attests whatever it builds.
	 */
	if (relife && rc && strcmp(rc->spec_hash, hash) == 0)
		b.spec.expected_hash = rc->image_hash;
	/*
	 * A service deployed for the first time has no instance to look at
	 * (each podman call costs ~50 ms): run straight away and handle the
	 * rare leftover or missing image when run reports it.
	 */
	if ((exists = !fresh ? instance_inspect(rt, b.name, &info, err) : 0) == -1)
		goto out;
	if (exists && not_ours(&info, def->name, c->name, err))
		goto out;
	/*
	 * A running (or paused) instance holds its own host ports; any other
	 * run needs them free, checked before the old instance is stopped or
	 * removed (VMs: QEMU's hostfwd error would come only after; containers:
	 * a podman run on a busy port also breaks the holder's forwards).
	 */
	if (!(exists && holds_ports(&info)) && spec_ports_free(&b.spec, err) == -1)
		goto out;
	/*
	 * Unchanged only by the instance's own record: the identity this agent
	 * recorded when it created it, and the spec it was created from.  A
	 * planted instance, or one left from an interrupted deploy, is replaced.
	 */
	if (exists && !force && strcmp(info.state, "running") == 0 && rc &&
	    strcmp(info.id, rc->instance_id) == 0 &&
	    strcmp(info.spec_hash, hash) == 0) {
		buf_printf(actions, "%s: unchanged, running\n", b.name);
		spec_free(&b);
		return 1;
	}
	if (exists) {
		if (strcmp(info.state, "running") == 0 &&
		    rt->ops->stop(rt, b.name, a->cfg.stop_timeout_s, err) == -1 &&
		    err->code != MCP_E_NOTFOUND)
			goto out;
		if (rt->ops->remove(rt, b.name, 1, err) == -1)
			goto out;
		fault_point("deploy-after-remove");
	}
	if (rt->ops->run(rt, &b.spec, err) == -1) {
		if (!fresh)
			goto out;
		if (err->code == MCP_E_NOTFOUND && strcmp(c->runtime, "container") == 0) {
			/* image not here yet: fetch it, then run */
			mcp_err_clear(err);
			progress_step(pg, b.name, "pull", "pulling image %s", c->image);
			if (rt->ops->pull(rt, c->image, err) == -1)
				goto out;

		} else if (err->code == MCP_E_EXISTS &&
		    rt->ops->inspect(rt, b.name, &info, &ierr) == 0) {
			/* a leftover instance of ours (agent stopped mid-deploy) goes;
			 * anything else of that name stays and the deploy fails */
			mcp_err_clear(err);
			if (instance_remove(a, rt, b.name, def->name, c->name, err) == -1)
				goto out;
			exists = 1;
		} else {
			goto out;
		}
		if (rt->ops->run(rt, &b.spec, err) == -1)
			goto out;
	}
	fault_point("deploy-after-run");
	if (strcmp(c->runtime, "container") == 0)
		progress_step(pg, b.name, "start", "container started (%s)", c->image);
	/* what a VM booted is attested; containers have no such hash */
	info.image_hash[0] = '\0';
	if (strcmp(c->runtime, "unikernel") == 0 &&
	    rt->ops->inspect(rt, b.name, &info, &ierr) == -1)
		info.image_hash[0] = '\0';
	if (reg_component_set_started(a->reg, def->name, c->name, hash,
	    info.image_hash, id, err) == -1)
		goto out;
	buf_printf(actions, "%s: %s %s (%s)\n", b.name, exists ? "replaced" : "started",
	    c->image, c->runtime);
	rc_run = 0;
out:
	/* a VM refused for what it would boot is an event of its own */
	if (rc_run == -1 && err->code == MCP_E_DATALOSS &&
	    strstr(err->msg, "attestation failed") != NULL)
		agent_event(a, def->name, c->name, "attestation", "", "refused", err->msg);
	if (rc_run == -1)
		mcp_err_prefix(err, "%s", b.name);
	spec_free(&b);
	return rc_run;
}

int
agent_component_start(struct agent *a, const struct svc_def *def,
    const struct svc_component *c, const struct reg_component *rc,
    struct buf *actions, struct mcp_err *err)
{
	return component_run(a, def, c, rc, RUN_START, NULL, actions, err);
}

/*
 * Stop and remove the instance of (service, component); absent is fine.
 * An instance of that name that is not ours (other labels, or not managed
 * by MCP at all) is never touched: the caller gets MCP_E_EXISTS.
 */
static int
instance_remove(struct agent *a, struct runtime *rt, const char *name,
    const char *service, const char *component, struct mcp_err *err)
{
	struct rt_info info;
	int exists;

	if ((exists = instance_inspect(rt, name, &info, err)) <= 0)
		return exists;
	if (not_ours(&info, service, component, err))
		return -1;
	if (strcmp(info.state, "running") == 0 &&
	    rt->ops->stop(rt, name, a->cfg.stop_timeout_s, err) == -1 &&
	    err->code != MCP_E_NOTFOUND)
		return -1;
	return rt->ops->remove(rt, name, 1, err);
}

/*
 * SPEC §3 names are "service-component", so service "a" with component
 * "b-c" and service "a-b" with component "c" would share "a-b-c": refuse a
 * definition whose instance names are already taken by another service.
 */
static int
check_instance_names(struct agent *a, const struct svc_def *def,
    struct mcp_err *err)
{
	struct reg_service *svcs = NULL;
	size_t n = 0, i, j, k;
	int rc = 0;

	if (reg_service_list(a->reg, &svcs, &n, err) == -1)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		if (strcmp(svcs[i].name, def->name) == 0)
			continue;
		for (j = 0; j < svcs[i].ncomponents && rc == 0; j++) {
			char theirs[SVC_INSTANCE_MAX], ours[SVC_INSTANCE_MAX];

			svc_instance_name(theirs, sizeof(theirs), svcs[i].name,
			    svcs[i].components[j].name);
			for (k = 0; k < def->ncomponents && rc == 0; k++) {
				svc_instance_name(ours, sizeof(ours), def->name,
				    def->components[k].name);
				if (strcmp(ours, theirs) == 0)
					rc = mcp_err_set(err, MCP_E_EXISTS,
					    "deploy %s: component %s would be named %s, which "
					    "service %s (component %s) already uses", def->name,
					    def->components[k].name, ours, svcs[i].name,
					    svcs[i].components[j].name);
			}
		}
	}
	reg_services_free(svcs, n);
	return rc;
}

/*
 * Would the node overcommit if service ran VMs needing mem MB and cpus
 * vCPUs (on top of every other service's VMs desired running)?  Callers
 * hold capacity_mu from this check until the registry says the new
 * desired state, so two operations cannot both take the last megabytes.
 */
static int
check_capacity_need(struct agent *a, const char *op, const char *service,
    int mem, int cpus, struct mcp_err *err)
{
	int used_mem, used_cpus, cap_mem, cap_cpus;

	if (mem == 0 && cpus == 0)
		return 0;
	if (agent_committed(a, service, &used_mem, &used_cpus, err) == -1)
		return mcp_err_prefix(err, "%s %s: VM capacity", op, service);
	agent_capacity(a, &cap_mem, &cap_cpus);
	if (used_mem + mem > cap_mem)
		return mcp_err_set(err, MCP_E_RESOURCE,
		    "%s %s: needs %d MB of VM memory, node %s has %d of %d MB "
		    "free (%d MB reserved)", op, service, mem, a->cfg.node,
		    cap_mem - used_mem > 0 ? cap_mem - used_mem : 0, cap_mem,
		    a->cfg.reserve_memory_mb);
	if (used_cpus + cpus > cap_cpus)
		return mcp_err_set(err, MCP_E_RESOURCE,
		    "%s %s: needs %d vCPUs, node %s has %d of %d free", op, service,
		    cpus, a->cfg.node, cap_cpus - used_cpus > 0 ? cap_cpus - used_cpus : 0,
		    cap_cpus);
	return 0;
}

static int
check_capacity(struct agent *a, const struct svc_def *def, struct mcp_err *err)
{
	int mem = 0, cpus = 0;
	size_t i;

	if (!def->active)
		return 0;	/* nothing will run */

	for (i = 0; i < def->ncomponents; i++)
		if (strcmp(def->components[i].runtime, "unikernel") == 0) {
			mem += def->components[i].memory_mb;
			cpus += def->components[i].vcpus;
		}
	return check_capacity_need(a, "deploy", def->name, mem, cpus, err);
}

static int
wants_host_ports(const struct svc_component *c, void *arg)
{
	return !agent_bridged(arg, c->runtime, c->network);
}

/* Undo a failed first deploy: instances created so far and registry rows. */
/*
 * A redeploy keeps each route's host port (reg_service_put).  One another
 * process took meanwhile (the instance stopped or died and let it go)
 * would fail the new instance after the old one is gone: refuse before
 * anything is recorded or touched.  A busy port is the component's own
 * while its instance runs (it holds it).
 */
static int
kept_ports_check(struct agent *a, const struct svc_def *def,
    const struct reg_service *prev, struct mcp_err *err)
{
	for (size_t i = 0; i < def->ncomponents; i++) {
		const struct svc_component *c = &def->components[i];
		const struct reg_component *pc = reg_find_component(prev, c->name);
		int running = -1;	/* not looked at yet */

		if (pc == NULL || !wants_host_ports(c, a))
			continue;
		for (size_t j = 0; j < c->nroutes; j++) {
			char owner[128], what[SVC_INSTANCE_MAX + 64];
			int hp = 0, r;

			for (size_t k = 0; k < pc->nroutes; k++)
				if (strcmp(pc->routes[k].name, c->routes[j].name) == 0)
					hp = pc->routes[k].host_port;
			/* the owner (a walk of /proc) only once it matters */
			if (hp <= 0 || (r = proc_loopback_port_free(hp, NULL, 0)) == 1)
				continue;
			if (r == -1)
				return mcp_err_errno(err, errno, "deploy %s: host port "
				    "127.0.0.1:%d: bind test", def->name, hp);
			if (running == -1) {
				struct mcp_err ierr = MCP_ERR_INIT;
				struct runtime *rt = agent_runtime_for(a, pc->runtime, &ierr);
				char name[SVC_INSTANCE_MAX];
				struct rt_info info;

				svc_instance_name(name, sizeof(name), def->name, c->name);
				/* a runtime that cannot say is no reason to refuse here:
				 * the run checks again before touching anything */
				running = rt == NULL ? 0 :
				    instance_inspect(rt, name, &info, &ierr);
				if (running == 1)
					running = holds_ports(&info) &&
					    !not_ours(&info, def->name, c->name, &ierr);
				else if (running == -1)
					running = 1;
			}
			if (running || proc_loopback_port_free(hp, owner, sizeof(owner)) == 1)
				continue;
			snprintf(what, sizeof(what), "deploy %s: component %s", def->name,
			    c->name);
			host_port_busy(err, what, hp, c->routes[j].name, owner);
			return -1;
		}
	}
	return 0;
}

static void
deploy_rollback(struct agent *a, const struct svc_def *def)
{
	struct mcp_err err = MCP_ERR_INIT;
	size_t i;

	for (i = 0; i < def->ncomponents; i++) {
		const struct svc_component *c = &def->components[i];
		struct runtime *rt = agent_runtime_for(a, c->runtime, &err);
		char name[SVC_INSTANCE_MAX];

		svc_instance_name(name, sizeof(name), def->name, c->name);
		if (rt && instance_remove(a, rt, name, def->name, c->name, &err) == -1)
			log_warnx("deploy %s: rollback: %s", def->name, err.msg);
	}
	if (reg_service_delete(a->reg, def->name, &err) == -1)
		log_warnx("deploy %s: rollback: %s", def->name, err.msg);
	agent_bridge_sync(a, NULL, 0);
}

int
agent_deploy(struct agent *a, const char *text, size_t len, const char *source,
    char *name_out, size_t name_outsz, const struct progress *pg,
    struct buf *actions, struct mcp_err *err)
{
	struct svc_def *def = NULL;
	struct reg_service *rs = NULL, *prev = NULL;
	struct rt_info *infos = NULL;
	struct reg_put_opts put_opts = { 0 };
	size_t i, j, ninfos = 0;
	int rc = -1, existed = 0;

	/* svc_parse refuses a text over SVC_MAX_DEFINITION_BYTES before parsing */
	if (source && strlen(source) > SVC_MAX_SOURCE_BYTES)
		return mcp_err_set(err, MCP_E_INVALID, "deploy: source of %zu bytes is "
		    "longer than the limit of %u bytes (SVC_MAX_SOURCE_BYTES)",
		    strlen(source), SVC_MAX_SOURCE_BYTES);
	if (svc_parse(text, len, source && source[0] ? source : "definition",
	    &def, err) == -1)
		return -1;
	if (name_out)
		mcp_strlcpy(name_out, def->name, name_outsz);
	if (def->node[0] && strcmp(def->node, a->cfg.node) != 0) {
		mcp_err_set(err, MCP_E_PRECONDITION,
		    "deploy %s: the service is pinned to node %s, this is node %s",
		    def->name, def->node, a->cfg.node);
		svc_free(def);
		return -1;
	}
	if (agent_volumes_check((const char *const *)a->cfg.volume_roots,
	    a->cfg.srv_root, def, NULL, err) == -1) {
		mcp_err_prefix(err, "deploy %s", def->name);
		svc_free(def);
		return -1;
	}
	for (i = 0; i < def->ncomponents; i++)
		if (agent_runtime_to_run(a, def->components[i].runtime, err) == NULL) {
			mcp_err_prefix(err, "deploy %s: component %s", def->name,
			    def->components[i].name);
			svc_free(def);
			return -1;
		}

	put_opts.probe = port_probe;
	put_opts.wants_host_ports = wants_host_ports;
	put_opts.wants_arg = a;
	if (reg_host_ports_check(def, &put_opts, err) == -1) {
		mcp_err_prefix(err, "deploy %s", def->name);
		svc_free(def);
		return -1;
	}

	agent_lock_service(a, def->name);
	{
		struct mcp_err perr = MCP_ERR_INIT;

		existed = reg_service_get(a->reg, def->name, &prev, &perr) == 0;
		if (!existed && perr.code != MCP_E_NOTFOUND) {
			/* unreadable is not "new": a failed first deploy is rolled back */
			*err = perr;
			mcp_err_prefix(err, "deploy %s", def->name);
			goto out;
		}
	}
	if (check_instance_names(a, def, err) == -1 || check_capacity(a, def, err) == -1 ||
	    agent_proxy_check(a, def, err) == -1 ||
	    (existed && def->active && kept_ports_check(a, def, prev, err) == -1))
		goto out;
	/*
	 * Fetch every image before changing anything.  Tags are pinned
	 * (":latest" is refused), so a container image already present is not
	 * fetched again; a new tag is.  Unikernel pulls always run: they also
	 * extract and check the executable (static ELF), which must refuse a
	 * bad image before anything running is replaced.
	 */
	for (i = 0; i < def->ncomponents; i++) {
		const struct svc_component *c = &def->components[i];
		struct runtime *rt = agent_runtime_to_run(a, c->runtime, err);

		if (strcmp(c->runtime, "container") == 0 && !existed)
			continue;	/* nothing to replace: run fetches it if needed */
		if (strcmp(c->runtime, "container") == 0 &&
		    rt->ops->image_exists(rt, c->image, err) == 1)
			continue;
		mcp_err_clear(err);
		{
			char inst[SVC_INSTANCE_MAX];

			svc_instance_name(inst, sizeof(inst), def->name, c->name);
			progress_step(pg, inst, "pull", "pulling image %s%s", c->image,
			    strcmp(c->runtime, "unikernel") == 0 ?
			    " (and checking its executable)" : "");
		}
		if (rt->ops->pull(rt, c->image, err) == -1) {
			mcp_err_prefix(err, "deploy %s: component %s", def->name, c->name);
			goto out;
		}
	}
	pthread_mutex_lock(&a->capacity_mu);
	/* the proxy check again, under the lock up to the record: two
	 * concurrent deploys claiming one hostname on one port would both
	 * pass the first and leave every later proxy sync failing */
	if (agent_proxy_check(a, def, err) == -1) {
		pthread_mutex_unlock(&a->capacity_mu);
		goto out;
	}
	if (check_capacity(a, def, err) == -1 ||
	    reg_service_put(a->reg, def, text, source, &put_opts, err) == -1) {
		pthread_mutex_unlock(&a->capacity_mu);
		if (err->code != MCP_E_RESOURCE)
			mcp_err_prefix(err, "deploy %s", def->name);
		goto out;
	}
	pthread_mutex_unlock(&a->capacity_mu);
	if (a->bridge_mode) {
		int changed = 0;

		if (reg_service_get(a->reg, def->name, &rs, err) == -1) {
			mcp_err_prefix(err, "deploy %s", def->name);
			goto out;
		}
		for (i = 0; i < def->ncomponents; i++)
			if (agent_bridge_assign(a, rs, &def->components[i], &changed,
			    err) == -1) {
				mcp_err_prefix(err, "deploy %s", def->name);
				if (!existed)
					deploy_rollback(a, def);
				goto out;
			}
		reg_service_free(rs);
		rs = NULL;
		if (changed)
			agent_bridge_sync(a, NULL, 0);
	}
	/* the recorded state, with ports and addresses, is what runs */
	if (reg_service_get(a->reg, def->name, &rs, err) == -1) {
		mcp_err_prefix(err, "deploy %s", def->name);
		goto out;
	}
	fault_point("deploy-after-record");
	/* instances of components no longer in the definition */
	if (!existed) {
		/* a new service has none */
	} else if (agent_observe_fresh(a, &infos, &ninfos, err) == 0) {
		for (j = 0; j < ninfos; j++) {
			struct runtime *rt;

			const struct svc_component *dc;

			/* gone from the definition, or moved to the other runtime */
			if (strcmp(infos[j].service, def->name) != 0)
				continue;
			dc = def_find_component(def, infos[j].component);
			if (dc != NULL && strcmp(dc->runtime, infos[j].runtime) == 0)
				continue;
			if ((rt = agent_runtime_for(a, infos[j].runtime, err)) == NULL ||
			    instance_remove(a, rt, infos[j].name, infos[j].service,
			    infos[j].component, err) == -1) {
				mcp_err_prefix(err, "deploy %s: remove %s", def->name,
				    infos[j].name);
				goto out;
			}
			buf_printf(actions, "%s: removed (%s)\n", infos[j].name,
			    dc ? "runtime changed" : "component no longer defined");
		}
	} else {
		log_warnx("deploy %s: listing instances: %s", def->name, err->msg);
		mcp_err_clear(err);
	}
	if (!def->active) {
		/* active = false: recorded (ports, addresses) but not running */
		if (reg_component_set_desired(a->reg, def->name, NULL, "stopped", err) == -1)
			goto out;
		for (i = 0; i < def->ncomponents; i++) {
			const struct svc_component *c = &def->components[i];
			struct runtime *rt = agent_runtime_for(a, c->runtime, err);
			struct rt_info info;
			char name[SVC_INSTANCE_MAX];
			int exists;

			svc_instance_name(name, sizeof(name), def->name, c->name);
			if (rt == NULL ||
			    (exists = instance_inspect(rt, name, &info, err)) == -1) {
				mcp_err_prefix(err, "deploy %s", def->name);
				goto out;
			}
			if (exists && strcmp(info.service, def->name) == 0 &&
			    strcmp(info.state, "running") == 0) {
				if (rt->ops->stop(rt, name, a->cfg.stop_timeout_s, err) == -1)
					goto out;
				buf_printf(actions, "%s: stopped (active = false)\n", name);
			} else {
				buf_printf(actions, "%s: not started (active = false)\n", name);
			}
		}
		agent_event(a, def->name, "", "deploy", "", "stopped",
		    "active = false");
		if (agent_proxy_sync(a, actions, err) == -1) {
			mcp_err_prefix(err, "deploy %s", def->name);
			goto out;
		}
		rc = 0;
		goto out;
	}
	for (i = 0; i < def->ncomponents; i++) {
		const struct svc_component *c = &def->components[i];

		if (component_run(a, def, c, reg_find_component(rs, c->name),
		    existed ? RUN_DEPLOY : RUN_DEPLOY_NEW, pg, actions, err) == -1) {
			mcp_err_prefix(err, "deploy %s", def->name);
			if (!existed) {
				/* a first deploy that fails leaves nothing behind */
				deploy_rollback(a, def);
				goto out;
			}
			agent_event(a, def->name, c->name, "deploy-failed", "",
			    "", err->msg);
			goto out;
		}
	}
	/* the routes point at the new instances before the deploy returns */
	if (a->proxy_on)
		progress_step(pg, "", "proxy", "pointing the node proxy's routes at it");
	if (agent_proxy_sync(a, actions, err) == -1) {
		mcp_err_prefix(err, "deploy %s", def->name);
		goto out;
	}
	agent_event(a, def->name, "", "deploy", "", "running",
	    def->components[0].image);
	log_info("deployed %s from %s", def->name, source && source[0] ? source : "-");
	rc = 0;
out:
	agent_unlock_service(a, def->name);
	free(infos);
	reg_service_free(prev);
	reg_service_free(rs);
	svc_free(def);
	return rc;
}

/* Load a deployed service and its stored definition. */
static int
load_deployed(struct agent *a, const char *service, const char *component,
    struct reg_service **rs, struct svc_def **def, struct mcp_err *err)
{
	*rs = NULL;
	*def = NULL;
	if (!svc_name_valid(service))
		return mcp_err_set(err, MCP_E_INVALID, "\"%s\" is not a valid service name",
		    service);
	if (reg_service_get(a->reg, service, rs, err) == -1)
		return -1;
	if (svc_parse((*rs)->definition, strlen((*rs)->definition), (*rs)->source,
	    def, err) == -1) {
		reg_service_free(*rs);
		*rs = NULL;
		return mcp_err_prefix(err, "stored definition of %s", service);
	}
	if (component && component[0] && def_find_component(*def, component) == NULL) {
		svc_free(*def);
		reg_service_free(*rs);
		*def = NULL;
		*rs = NULL;
		return mcp_err_set(err, MCP_E_NOTFOUND, "service %s has no component %s",
		    service, component);
	}
	return 0;
}

enum life_op { OP_STOP, OP_START, OP_RESTART };

/*
 * A refused start or restart (a host port taken, an image missing) puts
 * back the desired state each component had before (rs, read before the
 * change), so the agent does not keep retrying what was refused and
 * status does not show it as meant to run.  A failure here is logged: the
 * start's own error is the one reported.  started[i]: def's component i
 * did start.
 */
static void
restore_desired(struct agent *a, const struct reg_service *rs,
    const struct svc_def *def, const unsigned char *started,
    const char *component)
{
	struct mcp_err e = MCP_ERR_INIT;

	for (size_t i = 0; i < rs->ncomponents; i++) {
		const struct reg_component *rc = &rs->components[i];
		size_t j;

		if (component && component[0] && strcmp(component, rc->name) != 0)
			continue;
		if (strcmp(rc->desired, "running") == 0)
			continue;
		/* one that did start before another was refused stays running */
		for (j = 0; j < def->ncomponents; j++)
			if (strcmp(def->components[j].name, rc->name) == 0)
				break;
		if (j < def->ncomponents && started[j])
			continue;
		if (reg_component_set_desired(a->reg, rs->name, rc->name,
		    rc->desired, &e) == -1) {
			log_warn("restoring the desired state of %s/%s: %s",
			    rs->name, rc->name, e.msg);
			mcp_err_clear(&e);
		}
	}
}

static int
agent_life(struct agent *a, enum life_op op, const char *service,
    const char *component, struct buf *actions, struct mcp_err *err)
{
	static const char *const opname[] = { "stop", "start", "restart" };
	struct reg_service *rs;
	struct svc_def *def;
	unsigned char *started;
	size_t i;
	int rc = -1;

	if (!svc_name_valid(service))
		return mcp_err_set(err, MCP_E_INVALID, "%s: \"%.80s\" is not a valid "
		    "service name", opname[op], service);
	agent_lock_service(a, service);
	if (load_deployed(a, service, component, &rs, &def, err) == -1) {
		agent_unlock_service(a, service);
		return mcp_err_prefix(err, "%s %s", opname[op], service);
	}
	started = xcalloc(def->ncomponents + 1, 1);
	pthread_mutex_lock(&a->capacity_mu);
	if (op != OP_STOP) {
		int mem = 0, cpus = 0;

		/* VMs of this service that will be desired running afterwards */
		for (i = 0; i < rs->ncomponents; i++) {
			const struct reg_component *rc = &rs->components[i];

			if (strcmp(rc->runtime, "unikernel") != 0)
				continue;
			if (strcmp(rc->desired, "running") == 0 || !component ||
			    !component[0] || strcmp(component, rc->name) == 0) {
				mem += rc->memory_mb;
				cpus += rc->vcpus;
			}
		}
		if (check_capacity_need(a, opname[op], service, mem, cpus, err) == -1) {
			pthread_mutex_unlock(&a->capacity_mu);
			agent_unlock_service(a, service);
			free(started);
			svc_free(def);
			reg_service_free(rs);
			return -1;
		}
	}
	if (reg_component_set_desired(a->reg, service, component,
	    op == OP_STOP ? "stopped" : "running", err) == -1) {
		pthread_mutex_unlock(&a->capacity_mu);
		goto out;
	}
	pthread_mutex_unlock(&a->capacity_mu);
	for (i = 0; i < def->ncomponents; i++) {
		const struct svc_component *c = &def->components[i];
		struct runtime *rt;
		char name[SVC_INSTANCE_MAX];

		if (component && component[0] && strcmp(component, c->name) != 0)
			continue;
		svc_instance_name(name, sizeof(name), def->name, c->name);
		if ((rt = op == OP_STOP ? agent_runtime_for(a, c->runtime, err) :
		    agent_runtime_to_run(a, c->runtime, err)) == NULL)
			goto out;
		if (op == OP_STOP) {
			struct rt_info info;
			int exists = instance_inspect(rt, name, &info, err);

			if (exists == -1)
				goto out;
			if (!exists || strcmp(info.state, "running") != 0) {
				buf_printf(actions, "%s: already stopped\n", name);
				continue;
			}
			if (rt->ops->stop(rt, name, a->cfg.stop_timeout_s, err) == -1)
				goto out;
			buf_printf(actions, "%s: stopped\n", name);
		} else if (component_run(a, def, c, reg_find_component(rs, c->name),
		    op == OP_RESTART ? RUN_RESTART : RUN_START, NULL, actions, err) == -1)
			goto out;
		else
			started[i] = 1;
	}
	/* a stopped route stays, answering 503; a started one is served again */
	if (agent_proxy_sync(a, actions, err) == -1)
		goto out;
	agent_event(a, service, component ? component : "", opname[op], "",
	    op == OP_STOP ? "stopped" : "running", "");
	rc = 0;
out:
	if (rc == -1 && op != OP_STOP)
		restore_desired(a, rs, def, started, component);
	free(started);
	if (rc == -1)
		mcp_err_prefix(err, "%s %s", opname[op], service);
	agent_unlock_service(a, service);
	svc_free(def);
	reg_service_free(rs);
	return rc;
}

int
agent_stop(struct agent *a, const char *service, const char *component,
    struct buf *actions, struct mcp_err *err)
{
	return agent_life(a, OP_STOP, service, component, actions, err);
}

int
agent_start(struct agent *a, const char *service, const char *component,
    struct buf *actions, struct mcp_err *err)
{
	return agent_life(a, OP_START, service, component, actions, err);
}

int
agent_restart(struct agent *a, const char *service, const char *component,
    struct buf *actions, struct mcp_err *err)
{
	return agent_life(a, OP_RESTART, service, component, actions, err);
}

int
agent_undeploy(struct agent *a, const char *service, struct buf *actions,
    struct mcp_err *err)
{
	struct reg_service *rs = NULL;
	struct rt_info *infos = NULL;
	size_t i, n = 0;
	int rc = -1;

	if (!svc_name_valid(service))
		return mcp_err_set(err, MCP_E_INVALID,
		    "undeploy: \"%s\" is not a valid service name", service);
	agent_lock_service(a, service);
	if (reg_service_get(a->reg, service, &rs, err) == -1) {
		mcp_err_prefix(err, "undeploy");
		goto out;
	}
	/* every instance labelled with this service, in either runtime */
	for (i = 0; i < rs->ncomponents; i++) {
		const struct reg_component *c = &rs->components[i];
		struct runtime *rt = agent_runtime_for(a, c->runtime, err);
		char name[SVC_INSTANCE_MAX];

		if (rt == NULL)
			goto out;
		svc_instance_name(name, sizeof(name), service, c->name);
		if (instance_remove(a, rt, name, service, c->name, err) == -1) {
			mcp_err_prefix(err, "undeploy %s", service);
			goto out;
		}
		buf_printf(actions, "%s: removed\n", name);
	}
	if (agent_observe_fresh(a, &infos, &n, err) == 0) {
		for (i = 0; i < n; i++) {
			struct runtime *rt;

			if (strcmp(infos[i].service, service) != 0)
				continue;
			if ((rt = agent_runtime_for(a, infos[i].runtime, err)) == NULL ||
			    instance_remove(a, rt, infos[i].name, infos[i].service,
			    infos[i].component, err) == -1) {
				mcp_err_prefix(err, "undeploy %s", service);
				goto out;
			}
			buf_printf(actions, "%s: removed\n", infos[i].name);
		}
	} else {
		mcp_err_prefix(err, "undeploy %s", service);
		goto out;
	}
	if (reg_service_delete(a->reg, service, err) == -1)
		goto out;
	agent_bridge_sync(a, NULL, 0);	/* its address and rules go too */
	/* its routes and certificates go; the service is gone either way */
	{
		struct mcp_err perr = MCP_ERR_INIT;

		if (agent_proxy_sync(a, actions, &perr) == -1)
			log_warnx("undeploy %s: %s", service, perr.msg);
	}
	buf_printf(actions, "%s: registry entries, ports and events removed\n", service);
	log_info("undeployed %s", service);
	rc = 0;
out:
	agent_unlock_service(a, service);
	free(infos);
	reg_service_free(rs);
	return rc;
}

int
agent_logs(struct agent *a, const char *service, const char *component,
    int tail, int follow, rt_log_cb cb, void *arg, struct mcp_err *err)
{
	struct reg_service *rs = NULL;
	const struct reg_component *c = NULL;
	struct runtime *rt;
	char name[SVC_INSTANCE_MAX];
	int rc;

	if (!svc_name_valid(service))
		return mcp_err_set(err, MCP_E_INVALID,
		    "logs: \"%s\" is not a valid service name", service);
	if (reg_service_get(a->reg, service, &rs, err) == -1)
		return mcp_err_prefix(err, "logs");
	if (component && component[0])
		c = reg_find_component(rs, component);
	else if (rs->ncomponents > 0)
		c = &rs->components[0];
	if (c == NULL) {
		mcp_err_set(err, MCP_E_NOTFOUND, "logs: service %s has no component %s",
		    service, component);
		reg_service_free(rs);
		return -1;
	}
	svc_instance_name(name, sizeof(name), service, c->name);
	if ((rt = agent_runtime_for(a, c->runtime, err)) == NULL) {
		reg_service_free(rs);
		return -1;
	}
	reg_service_free(rs);
	rc = rt->ops->logs(rt, name, tail, follow, cb, arg, err);
	if (rc == -1)
		mcp_err_prefix(err, "logs %s", name);
	return rc;
}

void
agent_wait_answers(struct agent *a, const char *service, int wait_s,
    const struct progress *pg, int (*cancelled)(void *), void *arg)
{
	struct reg_service *rs = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	long long deadline = mcp_now_ms() + (long long)wait_s * 1000;
	size_t i, j;

	if (wait_s <= 0 || reg_service_get(a->reg, service, &rs, &err) == -1) {
		reg_service_free(rs);
		return;
	}
	for (i = 0; i < rs->ncomponents; i++) {
		const struct reg_component *rc = &rs->components[i];
		char inst[SVC_INSTANCE_MAX];

		if (strcmp(rc->desired, "running") != 0)
			continue;
		svc_instance_name(inst, sizeof(inst), service, rc->name);
		for (j = 0; j < rc->nroutes; j++) {
			char be[96];
			long long t0 = mcp_now_ms();
			int answered = 0;

			agent_route_backend(rc, &rc->routes[j], be, sizeof(be));
			if (be[0] == '\0')
				continue;
			progress_step(pg, inst, "wait", "waiting for the first answer on %s "
			    "(route %s)", be, rc->routes[j].name);
			while (!(answered = agent_backend_answers(be, 1000)) &&
			    mcp_now_ms() < deadline && !(cancelled && cancelled(arg)))
				mcp_sleep_ms(200);
			if (answered)
				progress_step(pg, inst, "answered", "%s answered after %.1f s",
				    be, (double)(mcp_now_ms() - t0) / 1000.0);
			else
				progress_step(pg, inst, "no-answer", "no answer on %s within "
				    "%d s", be, wait_s);
		}
	}
	reg_service_free(rs);
}
