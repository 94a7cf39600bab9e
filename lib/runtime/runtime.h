/*
 * runtime/runtime.h: the runtime interface (SPEC §4): one table of
 * operations, implemented by podman (containers) and QEMU (unikernels).
 *
 * The agent holds one struct runtime per implementation and picks one per
 * component.  Instances are named by svc_instance_name() and carry their
 * (service, component) as metadata (podman labels, VM state files) so the
 * listing can be mapped back without guessing from names.
 */
#ifndef MCP_RUNTIME_RUNTIME_H
#define MCP_RUNTIME_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define RT_NAME_MAX 128
#define RT_KERNEL_MAX 192

struct rt_port {
	char name[64];		/* route name ("" unnamed) */
	int port;		/* guest / container port */
	int host_port;		/* 127.0.0.1:<host_port> on the node; 0 = none */
};

struct rt_volume {
	const char *host, *guest, *opts;
};

/* Everything needed to (re)create an instance; strings are borrowed. */
struct progress;

struct rt_spec {
	const char *name;		/* instance name (svc_instance_name) */
	const char *service;
	const char *component;
	const char *image;
	const char *const *cmd;		/* NULL-terminated, may be NULL */
	const char *const *env;		/* "K=V", NULL-terminated, includes $PORT vars */
	const struct rt_volume *volumes;
	size_t nvolumes;
	const char *user;		/* "" = image default */
	const char *restart;		/* podman restart policy */
	const struct rt_port *ports;
	size_t nports;
	int memory_mb;			/* 0 = unlimited (containers) */
	int vcpus;
	const char *network;		/* unikernel: "" | "user" */
	const char *vm_ip;		/* unikernel bridge mode: guest address */
	/*
	 * Unikernel attestation: when set ("sha256:<hex>", as recorded in the
	 * registry at deploy), the VM boots only if what was built hashes to
	 * exactly this; NULL or "" accepts a fresh build (deploy).
	 */
	const char *expected_hash;
	/*
	 * Recorded on the instance (podman label mcp.spec-hash, the VM's
	 * spec.json) so that what runs can be compared with what is desired
	 * from the instance itself: the agent's hash of this spec.
	 */
	const char *spec_hash;
	/*
	 * Out: run writes the new instance's identity here (the container ID
	 * podman assigned, the VM's random instance id), the same string
	 * inspect and list report in rt_info.id; NULL = not wanted.
	 */
	char *id_out;
	size_t id_outsz;
	/* Where run reports its steps (unikernel: "build", "boot"); NULL: nobody. */
	const struct progress *progress;
};

/* What a runtime observes about one instance. */
struct rt_info {
	char name[RT_NAME_MAX];
	char service[64];
	char component[64];
	char image[512];
	char state[32];		/* "running" | "stopped" | "created" | "paused" | "missing" */
	char id[80];		/* identity: container ID / VM instance id (random,
				   in spec.json; the state dir name for VMs from
				   before instance ids) */
	char spec_hash[72];	/* as recorded on the instance at run; "" none */
	int64_t started_at;	/* unix seconds; 0 unknown */
	int exit_code;
	int pid;
	int memory_mb, vcpus;	/* as started (VMs) */
	char image_hash[72];	/* VMs: "sha256:<hex>" of kernel+initramfs booted */
	char image_id[80];	/* VMs: the OCI image ID the initramfs was built from */
	char vm_ip[48];		/* VMs in bridge mode */
	char kernel[RT_KERNEL_MAX];	/* VMs: the guest kernel booted, for people
					   ("6.1.192 (linux-source-6.1 6.1.192-3, ...)") */
	char machine[16];	/* VMs: the QEMU machine type ("pc", "microvm") */
	char runtime[16];	/* set by the agent's merged listing */
};

struct runtime;

/*
 * Called with chunks of log output (len > 0), and with len == 0 about twice
 * a second while following so the caller can check for cancellation.
 * Return non-zero to stop.
 */
typedef int (*rt_log_cb)(const char *data, size_t len, void *arg);

struct runtime_ops {
	const char *name;	/* "container" | "unikernel" */
	/* Fetch the image (and for unikernels, extract what Build needs). */
	int (*pull)(struct runtime *rt, const char *image, struct mcp_err *err);
	/* 1 present, 0 absent, -1 error. */
	int (*image_exists)(struct runtime *rt, const char *image, struct mcp_err *err);
	/* Create and start an instance; fails if one of that name exists. */
	int (*run)(struct runtime *rt, const struct rt_spec *spec, struct mcp_err *err);
	/* Graceful stop (SIGTERM / ACPI power button), then kill after timeout_s. */
	int (*stop)(struct runtime *rt, const char *name, int timeout_s, struct mcp_err *err);
	/* Remove a stopped (or, with force, running) instance; absent is success. */
	int (*remove)(struct runtime *rt, const char *name, int force, struct mcp_err *err);
	/* 0 and *out filled; -1 with MCP_E_NOTFOUND when there is no such instance. */
	int (*inspect)(struct runtime *rt, const char *name, struct rt_info *out, struct mcp_err *err);
	/* All MCP-managed instances of this runtime; *out malloc'ed. */
	int (*list)(struct runtime *rt, struct rt_info **out, size_t *n, struct mcp_err *err);
	/* tail <= 0: everything. follow: until cb returns non-zero. */
	int (*logs)(struct runtime *rt, const char *name, int tail, int follow,
	    rt_log_cb cb, void *arg, struct mcp_err *err);
	/* Run argv inside a running instance, bounded by timeout_ms; a non-zero
	 * exit is an error quoting its last line.  NULL: the runtime cannot
	 * (a unikernel has no shell). */
	int (*exec)(struct runtime *rt, const char *name, const char *const *argv,
	    int timeout_ms, struct mcp_err *err);
	void (*free)(struct runtime *rt);
};

struct runtime {
	const struct runtime_ops *ops;
	void *priv;
};

/* Convenience wrappers (NULL-safe on rt). */
static inline void runtime_free(struct runtime *rt) { if (rt && rt->ops->free) rt->ops->free(rt); }

/* ---- podman (runtime/podman.c) ---- */

struct podman_config {
	const char *binary;		/* default "podman" */
	const char *const *global_args;	/* e.g. --root DIR --runroot DIR --runtime runc; NULL-terminated */
	const char *containers_conf;	/* exported as CONTAINERS_CONF; NULL = default */
	const char *const *insecure_registries;	/* pulled with --tls-verify=false */
	int timeout_s;			/* per podman invocation (pull gets 10x); default 60 */
};

struct runtime *podman_runtime_new(const struct podman_config *cfg, struct mcp_err *err);

/* One record of `podman events` about a container. */
struct podman_event {
	char name[RT_NAME_MAX];
	char id[80];
	char status[32];	/* podman's word: create, start, died, remove, ... */
};

/* ev is NULL after each batch of events and about twice a second (a tick
 * to act on what came and to cancel on); non-zero stops. */
typedef int (*podman_event_cb)(const struct podman_event *ev, void *arg);

/*
 * Follow `podman events` for MCP-managed containers (the runtime's store),
 * replaying from since (unix seconds; 0 = from now), calling cb for each
 * event until cb stops it (0 returned) or the stream ends (-1: the child
 * exited or wrote a line that is not an event: a gap, err says which).
 * *pid, when not NULL, is the child's pid while it runs.
 */
int podman_events(struct runtime *rt, int64_t since, podman_event_cb cb,
    void *arg, int *pid, struct mcp_err *err);
/* One line of its output: 1 an event (ev filled), 0 not an event (podman's
 * own diagnostics on stderr, blank), -1 garbled. */
int podman_event_parse(const char *line, struct podman_event *ev);

/* Label keys podman containers carry. */
#define RT_LABEL_MANAGED   "mcp.managed"
#define RT_LABEL_SERVICE   "mcp.service"
#define RT_LABEL_COMPONENT "mcp.component"
#define RT_LABEL_SPEC_HASH "mcp.spec-hash"

#endif
