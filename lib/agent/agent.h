/*
 * agent/agent.h: mcp-agent's top-level context and its operations
 * (SPEC §4).  The agent owns one node: the registry is the desired state,
 * the runtimes (podman, QEMU) are the observed state.  cmd/mcp-agent is a
 * thin main over agent_init / agent_run / agent_free; agent/rpc.c maps the
 * gRPC methods onto the functions below.
 *
 * Concurrency: RPC handlers run on their own threads; operations on one
 * service are serialised by a per-service lock (agent_lock_service), so two
 * deploys of different services proceed in parallel.  The registry
 * serialises its own access.  The monitor runs on its own thread.
 */
#ifndef MCP_AGENT_AGENT_H
#define MCP_AGENT_AGENT_H

#include <pthread.h>
#include <stdint.h>

#include "agent/config.h"
#include "net/net.h"
#include "proxy/haproxy.h"
#include "registry/registry.h"
#include "runtime/runtime.h"
#include "service/service.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/version.h"

struct wire_server;
struct pki_issuer;
struct live;

struct agent_lock {
	char service[64];
	int holders;	/* 1 while held, plus waiters */
	int busy;
};

struct progress;

struct agent {
	struct agent_config cfg;
	char config_path[CFG_PATH_MAX];
	struct reg *reg;
	int registry_created;		/* registry.db did not exist at start-up */
	int lock_fd;			/* <state_dir>/agent.lock, held while open */
	struct podman_config podman_cfg;	/* borrowed by both runtimes */
	struct runtime *podman;
	struct runtime *qemu;		/* manages VMs (stop, list, logs) whenever it exists */
	int qemu_can_run;		/* QEMU, kernel, modules, mcp-init present: can boot */
	char qemu_why[256];		/* why it cannot boot VMs */
	char accel[8];			/* "kvm" | "tcg" when qemu is available */
	struct net_bridge bridge;	/* from [bridge] */
	int bridge_mode;		/* the bridge existed at start-up */
	char *fw_applied;		/* rule set last given to nft (bridge_mu) */
	int64_t fw_applied_at;
	struct wire_server *server;
	int64_t started_at;
	char notify_socket[128];	/* $NOTIFY_SOCKET taken by the main; "" = none */
	int systemd_scope;		/* QEMU and HAProxy start in their own systemd
					   scopes ([agent] systemd_scope, util/sdscope.h) */

	int proxy_on;			/* [proxy] enabled: routes go through HAProxy */
	struct proxy_driver proxy;
	struct pki_issuer *issuer;	/* the node's intermediate, NULL without one */
	pthread_mutex_t proxy_mu;	/* guards proxy_health (syncs: below) */
	pthread_mutex_t edge_mu;	/* serialises edge route changes */
	/*
	 * Syncs are coalesced (agent/proxy.c): callers that ask while a sync
	 * runs wait for the next one, which one of them runs for all (a sync
	 * renders the registry as it is when it starts).  proxy_batch_mu
	 * guards these fields.
	 */
	pthread_mutex_t proxy_batch_mu;
	pthread_cond_t proxy_batch_cv;
	uint64_t proxy_asked;		/* syncs asked for */
	uint64_t proxy_done;		/* every ask up to this is covered */
	int proxy_running;		/* a sync runs now */
	int proxy_last_rc;		/* the last sync's outcome */
	struct mcp_err proxy_last_err;
	char proxy_last_action[160];	/* its "proxy: ..." line, "" if unchanged */
	size_t proxy_last_batch;	/* how many asks it covered */
	uint64_t proxy_syncs;		/* syncs run (bench, log) */
	int64_t proxy_synced_at;	/* last successful sync (0: none yet) */
	int proxy_wanted;		/* some route needs HAProxy running */
	struct proxy_server_state *proxy_health;	/* last "show stat" (proxy_mu) */
	size_t proxy_nhealth;

	pthread_mutex_t mu;		/* guards locks[], ops_gen, stopping */
	pthread_cond_t cv;
	struct agent_lock locks[64];
	uint64_t ops_gen;		/* bumped whenever an operation starts or ends */
	int stopping;
	pthread_mutex_t bridge_mu;	/* serialises rule-set and TAP updates */
	pthread_mutex_t capacity_mu;	/* capacity and proxy checks .. registry update */

	pthread_t monitor;
	int monitor_running;
	struct live *live;		/* the containers as last seen (agent/live.h) */
	struct agent_defs *defs;	/* stored definitions, parsed (agent/defs.c) */
	pthread_t registrar;		/* agent/register.c */
	int registrar_running;
};

/* Observed view of one component, merged from registry and runtimes. */
struct agent_comp_view {
	const struct reg_component *rc;	/* borrowed from the view's services */
	char instance[SVC_INSTANCE_MAX];
	char observed[32];		/* running, stopped, created, missing, unknown */
	int drift;
	int flapping;
	int64_t started_at;
	int exit_code;
	char image_hash[80];
	char guest_kernel[192];		/* VMs: what booted (rt_info.kernel) */
	char machine[16];		/* VMs: "pc" | "microvm" */
	char image_id[80];		/* VMs: OCI image the booted initramfs came from */
	char observed_image[512];	/* what the instance runs; "" when there is none */
	char drift_reason[320];		/* why it is drift, "" when it is not */
};

struct agent_view {
	struct reg_service *svcs;
	size_t nsvcs;
	struct agent_comp_view **comps;	/* comps[i] has svcs[i].ncomponents entries */
	struct reg_event *events;	/* recent events (single-service views) */
	size_t nevents;
	int observed;			/* the runtimes answered: infos is their listing */
	struct rt_info *infos;		/* the merged listing the view was made from */
	size_t ninfos;
	char observe_error[256];	/* why some components are "unknown"; "" none */
};

/* Configuration, state directory (locked: one agent process per state
 * directory), registry, runtimes. */
int agent_init(struct agent *a, const char *config_path, struct mcp_err *err);
/* Serve until SIGTERM/SIGINT/SIGQUIT (blocks; see agent/signals.c). */
int agent_run(struct agent *a, struct mcp_err *err);

/* agent/signals.c: block the signals the agent takes in the calling thread
 * (call before any thread starts) and ignore SIGPIPE/SIGXFSZ; then wait
 * for them, logging each, until one that ends the agent (returned). */
void agent_signals_block(void);
int agent_signals_wait(void);
void agent_free(struct agent *a);

/* The runtime that manages a component's instances; NULL with err if none. */
struct runtime *agent_runtime_for(struct agent *a, const char *runtime,
    struct mcp_err *err);
/* The same, for starting new instances: a node whose guest kernel went away
 * still lists and stops its running VMs, but boots none. */
struct runtime *agent_runtime_to_run(struct agent *a, const char *runtime,
    struct mcp_err *err);

/* Per-service serialisation of lifecycle operations. */
void agent_lock_service(struct agent *a, const char *service);
void agent_unlock_service(struct agent *a, const char *service);
/* 1 while an operation holds or waits for the service's lock. */
int agent_service_busy(struct agent *a, const char *service);
/* Changes whenever any operation starts or ends: an observation taken
 * while it stayed the same saw no operation's intermediate states. */
uint64_t agent_ops_gen(struct agent *a);

/* Lifecycle (agent/ops.c).  actions receives one line per thing done. */
/* pg (may be NULL) hears each step: pull, build, boot, start, proxy. */
int agent_deploy(struct agent *a, const char *text, size_t len,
    const char *source, char *name_out, size_t name_outsz,
    const struct progress *pg, struct buf *actions, struct mcp_err *err);
/*
 * After a deploy: wait up to wait_s seconds for each route of the service
 * with a backend (host port, or a bridged VM's address) to answer
 * (agent_backend_answers).  Steps "wait", then "answered" or "no-answer",
 * to pg.
 * cancelled (may be NULL) stops waiting early when it returns non-zero.
 */
void agent_wait_answers(struct agent *a, const char *service, int wait_s,
    const struct progress *pg, int (*cancelled)(void *), void *arg);
/* agent/answer.c: 1 when the backend "ip:port" answers an HTTP HEAD request
 * or a TLS ClientHello within timeout_ms (a connection alone is not an
 * answer: QEMU's user-mode network accepts before the guest is up). */
int agent_backend_answers(const char *backend, int timeout_ms);
int agent_stop(struct agent *a, const char *service, const char *component,
    struct buf *actions, struct mcp_err *err);
int agent_start(struct agent *a, const char *service, const char *component,
    struct buf *actions, struct mcp_err *err);
int agent_restart(struct agent *a, const char *service, const char *component,
    struct buf *actions, struct mcp_err *err);
int agent_undeploy(struct agent *a, const char *service, struct buf *actions,
    struct mcp_err *err);
/* agent/data_remove.c: <srv_root>/<service>/ removed, refused while the
 * service is deployed here (the end of a migrate away from this node). */
int agent_remove_data(struct agent *a, const char *service, struct buf *actions,
    struct mcp_err *err);
/* agent/data_remove.c: does <srv_root>/<service>/ exist here, how many
 * entries and bytes it holds (path set; a migrate's up-front check). */
int agent_data_info(struct agent *a, const char *service, int *exists,
    unsigned *entries, unsigned long long *bytes, char *path, size_t pathsz,
    struct mcp_err *err);
/* Trees an earlier agent_remove_data left half removed: removed on a thread. */
void agent_remove_leftovers(struct agent *a);

/* Status (agent/view.c): service NULL = all; with a service, recent events. */
int agent_view_get(struct agent *a, const char *service, struct agent_view *v,
    struct mcp_err *err);
/*
 * The view right after a successful deploy, without asking the runtimes
 * again: every component was just started or found running.
 */
int agent_view_deployed(struct agent *a, const char *service,
    struct agent_view *v, struct mcp_err *err);
void agent_view_free(struct agent_view *v);
/*
 * Merged listing of both runtimes' managed instances: containers from the
 * live view (agent/live.h: answered from memory, any podman call bounded by
 * [podman] list_timeout), VMs from their state directories.
 */
int agent_observe(struct agent *a, struct rt_info **out, size_t *n,
    struct mcp_err *err);
/* The same, but whatever each runtime answered: *unobserved has
 * AGENT_OBS_CONTAINERS / AGENT_OBS_VMS set for a runtime that did not,
 * and why says why. */
#define AGENT_OBS_CONTAINERS	1u
#define AGENT_OBS_VMS		2u
void agent_observe_runtimes(struct agent *a, struct rt_info **out, size_t *n,
    unsigned *unobserved, char *why, size_t whysz);
/* Asking podman now, with the operations' deadline: for operations that
 * act on what they find (the live view learns from it too). */
int agent_observe_fresh(struct agent *a, struct rt_info **out, size_t *n,
    struct mcp_err *err);
/* Drift rule: desired running but not running, or desired stopped but running. */
int agent_is_drift(const char *desired, const char *observed);

/* The truth about one component (agent/compare.c). */
struct agent_compare {
	char observed[32];	/* the instance's state, "missing" or "unknown" */
	int drift;
	char reason[320];	/* why it is drift; "" when it is not */
};
/*
 * Compare the instance (info; NULL = none; observed_ok 0 = the runtimes
 * did not answer) with the desired state: rc's desired state, image and
 * recorded instance identity, and desired_spec, the hash of the spec the
 * stored definition asks for ("" = unknown).  Pure.
 */
void agent_compare(const struct reg_component *rc, const char *desired_spec,
    int observed_ok, const struct rt_info *info, struct agent_compare *out);
/* 1 when two image references name the same image (podman's implied
 * localhost/ and docker.io/ prefixes aside). */
int agent_image_same(const char *a, const char *b);
/*
 * The hash of the spec component c of def runs with, given its registry
 * row rc (host ports, VM address): what component_run records on the
 * instance.  out holds 65 bytes.
 */
void agent_spec_hash(const struct svc_def *def, const struct svc_component *c,
    const struct reg_component *rc, char *out);
/*
 * Stored definitions parsed once per distinct text (agent/defs.c; thread
 * safe).  agent_defs_hash: agent_spec_hash of s's component rc from s's
 * stored definition, re-parsed whenever that text or its source differs
 * from the one cached; "" when it does not parse or lacks the component.
 * agent_defs_prune: forget the services not in svcs.
 */
struct agent_defs *agent_defs_new(void);
void agent_defs_free(struct agent_defs *d);
void agent_defs_hash(struct agent_defs *d, const struct reg_service *s,
    const struct reg_component *rc, char *want);
void agent_defs_prune(struct agent_defs *d, const struct reg_service *svcs,
    size_t n);
/* Memory / vCPUs promised to unikernel components desired running;
 * -1 with err when the registry cannot be read. */
int agent_committed(struct agent *a, const char *except_service, int *mem_mb,
    int *vcpus, struct mcp_err *err);
void agent_capacity(struct agent *a, int *mem_mb, int *vcpus);

/*
 * The VMs of view v with an attested image (for NodeStatus and the
 * heartbeat): a malloc'ed array of messages whose strings point into v
 * (free the array and the messages, not the strings); *n entries.
 */
struct Mcp__V1__VmAttestation;
struct Mcp__V1__VmAttestation **agent_vm_attestations(const struct agent_view *v,
    size_t *n);

/* Record an event in the registry; a failure is logged with its context
 * ("deploy hello: record event: ...") since the operation it records has
 * already happened. */
void agent_event(struct agent *a, const char *service, const char *component,
    const char *kind, const char *from, const char *to, const char *detail);

/* Monitor (agent/monitor.c). */
int agent_monitor_start(struct agent *a, struct mcp_err *err);
void agent_monitor_stop(struct agent *a);
/* One pass (also used by tests through the RPC-less path). */
void agent_monitor_tick(struct agent *a);

/* A service's data directory, <srv_root>/<service> (agent/files.c): the
 * one place its name is made. */
void agent_srv_dir(const struct agent *a, const char *service, char *out,
    size_t outsz);
/* Files under <srv_root>/<service>/ (agent/files.c). */
int agent_push_file(struct agent *a, const char *service, const char *path,
    const void *data, size_t len, unsigned mode, struct mcp_err *err);
int agent_pull_file(struct agent *a, const char *service, const char *path,
    struct buf *out, unsigned *mode, struct mcp_err *err);

/*
 * Volume host paths (agent/volumes.c).  agent_path_resolve: path with
 * symlinks resolved (realpath of the longest existing prefix, the rest
 * appended); a dangling symlink or ".." is an error.  agent_path_under: 1
 * when path is root or below it, component-wise.  agent_volumes_check:
 * every volume of component only (NULL: of every component) lies under
 * one of roots (NULL-terminated) or srv_root, else MCP_E_INVALID naming
 * the component, the volume and the roots.
 */
int agent_path_resolve(const char *path, char *out, size_t outsz,
    struct mcp_err *err);
/* A volume's host path as this node mounts it: /srv/<service>[/...] ->
 * <srv_root>/<service>[/...] (1), anything else unchanged (0); -1 if too
 * long. */
int agent_volume_host(const char *srv_root, const char *service,
    const char *host, char *out, size_t outsz);
int agent_path_under(const char *path, const char *root);
int agent_volumes_check(const char *const *roots, const char *srv_root,
    const struct svc_def *def, const struct svc_component *only,
    struct mcp_err *err);

/* Logs (agent/ops.c). */
int agent_logs(struct agent *a, const char *service, const char *component,
    int tail, int follow, rt_log_cb cb, void *arg, struct mcp_err *err);

/*
 * Start-up truth and repair (agent/recover.c).  check_untracked: -1 with a
 * message naming them when MCP instances exist that the registry does not
 * track.  remove_untracked: stop and remove those (one report line each).
 * recover: re-create every component desired running (one line each:
 * recreated / already running / failed: why); -1 if any failed.
 */
int agent_check_untracked(struct agent *a, struct mcp_err *err);
int agent_remove_untracked(struct agent *a, struct buf *report, struct mcp_err *err);
int agent_recover(struct agent *a, struct buf *report, struct mcp_err *err);
/* Start one component as `mcp start` does (agent/ops.c): 0 (re)created,
 * 1 already running as desired, -1 failed.  Caller holds the service lock. */
int agent_component_start(struct agent *a, const struct svc_def *def,
    const struct svc_component *c, const struct reg_component *rc,
    struct buf *actions, struct mcp_err *err);

/* Bridge networking (agent/bridge.c). */
int agent_bridge_init(struct agent *a, struct mcp_err *err);
/* 1 if this component runs on the bridge (bridge mode, unikernel, not "user"). */
int agent_bridged(struct agent *a, const char *runtime, const char *network);
/* Give the component an address if it has none (bridged) or release it;
 * *changed is set when an address was taken or released. */
int agent_bridge_assign(struct agent *a, const struct reg_service *rs,
    const struct svc_component *c, int *changed, struct mcp_err *err);
/* Rules from the registry's VMs; delete TAPs of VMs not running. */
void agent_bridge_sync(struct agent *a, const struct rt_info *running, size_t n);
/* `mcp-agent -c CONFIG bridge up|down`: create (idempotent) or remove the
 * bridge with its gateway address, and our rules. */
int agent_bridge_command(const char *config_path, const char *action,
    struct mcp_err *err);

/* Node proxy (agent/proxy.c). */
int agent_proxy_init(struct agent *a, struct mcp_err *err);
void agent_proxy_free(struct agent *a);
/* Refuse a definition whose routes the proxy could not serve (a hostname
 * another service has on that port, an l7 name the node cannot certify). */
int agent_proxy_check(struct agent *a, const struct svc_def *def,
    struct mcp_err *err);
/* Render from the registry, issue/renew certificates, apply (start or
 * reload HAProxy); a line goes to actions (may be NULL) if HAProxy changed. */
int agent_proxy_sync(struct agent *a, struct buf *actions, struct mcp_err *err);
/* Monitor: a dead HAProxy comes back; certificates are renewed. */
void agent_proxy_tick(struct agent *a);
/* Edge routes (edge nodes; RPCs for mcp-master): an idempotent upsert,
 * a removal, and the certificate serving one. */
int agent_edge_setup(struct agent *a, const char *hostname, const char *backend,
    int port, int backend_tls, struct buf *actions, struct mcp_err *err);
int agent_edge_remove(struct agent *a, const char *hostname, struct buf *actions,
    struct mcp_err *err);
int agent_edge_cert(struct agent *a, const char *hostname, char *serial,
    size_t serialsz, int64_t *not_after);

/* A route as the node proxy serves it (empty strings without a proxy). */
struct agent_route_info {
	char hostnames[2][300];
	size_t nhostnames;
	char listener[160];
	char backend[96];
	char health[32];	/* as of the monitor's last look */
};
/* A backend's status in the monitor's last "show stat" ("" if unknown). */
void agent_proxy_backend_health(struct agent *a, const char *backend,
    char *out, size_t outsz);
void agent_route_info(struct agent *a, const char *instance,
    const struct reg_component *rc, const struct reg_route *r, int active,
    struct agent_route_info *out);
/* The name every route of instance answers to: "<instance>.<zone>". */
void agent_route_default_hostname(struct agent *a, const char *instance,
    char *out, size_t outsz);
/* Where the proxy sends a route: a bridged VM's address, else the host port. */
void agent_route_backend(const struct reg_component *rc,
    const struct reg_route *r, char *out, size_t outsz);

/* Registration with mcp-master and heartbeats (agent/register.c): a
 * thread, only with [master] address; it never touches services. */
int agent_register_start(struct agent *a, struct mcp_err *err);
void agent_register_stop(struct agent *a);

/* RPC method table (agent/rpc.c). */
int agent_rpc_start(struct agent *a, struct mcp_err *err);

#endif
