/*
 * agent/config.h: mcp-agent's configuration file (TOML), e.g.
 *
 *   [agent]
 *   node = "local"
 *   state_dir = "/var/lib/mcp"      # registry, VM state, sockets live here
 *   socket = "/var/lib/mcp/agent.sock"   # default: <state_dir>/agent.sock
 *   socket_group = "mcp"            # optional: its members may use the
 *                                   # socket (0660); else root only (0600)
 *   listen = "0.0.0.0:9444"         # optional: gRPC with mutual TLS
 *   srv_root = "/srv"               # PushFile/PullFile under <srv_root>/<service>/
 *   monitor_interval = 5            # seconds
 *   flap_threshold = 4              # transitions ...
 *   flap_window = 300               # ... within this many seconds = flapping
 *   alert_command = ["/usr/local/bin/notify"]   # optional
 *   stop_timeout = 10
 *   volume_roots = ["/srv"]         # volume host paths must lie under one
 *                                   # of these or srv_root (symlinks resolved)
 *   advertise = "10.0.0.2"          # optional: the address DNS names
 *                                   # point to (default: listen's host)
 *   [tls]  ca, cert, key
 *   [master] address = "10.0.0.1:9555"   # optional: register with mcp-master
 *   [auth] operators = ["operator", "operator-*"]
 *   [podman] binary, args, containers_conf, insecure_registries,
 *            list_timeout = 5 (s: bound on each podman call for ps/status),
 *            resync = 30 (s: full listing behind the live view, agent/live.h)
 *   [unikernel] qemu, kernel ("" = the minimal kernel when built, else
 *               Debian's: qemu_kernel_default), modules, mcp_init, accel,
 *               machine ("auto" | "pc" | "microvm"), reserve_memory_mb,
 *               reserve_vcpus, memory_mb, vcpus, vm_uids (the QEMU jail's
 *               uid range "FIRST-LAST"; "" runs QEMU as the agent's user)
 *   [bridge] name = "mcp-br0", subnet = "10.99.0.0/24", gateway = "10.99.0.1"
 *            (bridge mode is on when that interface exists at start-up)
 *   [proxy]  enabled, bind, haproxy, zone, issuer_cert, issuer_key, ca,
 *            resolvers, edge, public_port, allowed_domains (SPEC §4.3)
 */
#ifndef MCP_AGENT_CONFIG_H
#define MCP_AGENT_CONFIG_H

#include "util/err.h"

#define CFG_PATH_MAX 512

struct agent_config {
	char node[64];
	char state_dir[CFG_PATH_MAX];
	char socket[CFG_PATH_MAX];
	char socket_group[64];		/* "" = root only on the socket */
	char listen[128];
	char srv_root[CFG_PATH_MAX];
	int monitor_interval_s;
	int flap_threshold;
	int flap_window_s;
	char **alert_command;		/* NULL-terminated or NULL */
	int stop_timeout_s;
	char **volume_roots;		/* NULL-terminated, absolute */
	char systemd_scope[8];		/* "auto" | "yes" | "no" (util/sdscope.h) */

	char tls_ca[CFG_PATH_MAX], tls_cert[CFG_PATH_MAX], tls_key[CFG_PATH_MAX];
	char **operators;

	char podman_binary[CFG_PATH_MAX];
	char **podman_args;
	char containers_conf[CFG_PATH_MAX];
	char **insecure_registries;
	int list_timeout_s;		/* bound on podman calls behind ps/status */
	int resync_s;			/* live view: full listing this often */

	char qemu_binary[CFG_PATH_MAX];
	char kernel[CFG_PATH_MAX];
	char modules[CFG_PATH_MAX];
	char mcp_init[CFG_PATH_MAX];
	char accel[16];			/* "auto" | "kvm" | "tcg" */
	char machine[16];		/* "auto" | "pc" | "microvm" */
	int reserve_memory_mb;		/* kept back from VMs */
	int reserve_vcpus;
	int memory_mb;			/* node capacity for VMs; 0 = physical */
	int vcpus;			/* 0 = online CPUs */
	char vm_uids[48];		/* jail uids "FIRST-LAST"; "" = no jail */

	struct {
		int enabled;		/* the node proxy runs routes */
		char **bind;		/* listen addresses; NULL = all */
		char haproxy[CFG_PATH_MAX];
		char zone[256];		/* internal DNS zone: <instance>.<zone> */
		char issuer_cert[CFG_PATH_MAX];	/* name-constrained intermediate */
		char issuer_key[CFG_PATH_MAX];
		char ca[CFG_PATH_MAX];	/* platform CA (edge backends); default [tls] ca */
		char **resolvers;	/* "ADDR:PORT" for edge backends */
		int edge;		/* this node serves edge routes */
		int public_port;	/* default 443 */
		char **allowed_domains;	/* edge: public names allowed */
	} proxy;

	char master_address[256];	/* [master] address: register there */
	char advertise[64];		/* [agent] advertise: this node's address */

	char bridge_name[16];
	char bridge_subnet[32];
	char bridge_gateway[32];
};

/* Load path (defaults for absent keys); unknown keys are errors.  On
 * failure cfg holds nothing to free (agent_config_free is still safe). */
int agent_config_load(const char *path, struct agent_config *cfg, struct mcp_err *err);
void agent_config_free(struct agent_config *cfg);

#endif
