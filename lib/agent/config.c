/*
 * agent/config.c: read and validate mcp-agent's configuration file.
 */
#include "agent/config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/qemu.h"
#include "service/check.h"
#include "service/service.h"
#include "toml/toml_read.h"
#include "util/buf.h"
#include "util/file.h"

static void
config_defaults(struct agent_config *cfg, const char *exe_dir)
{
	memset(cfg, 0, sizeof(*cfg));
	mcp_strlcpy(cfg->node, "local", sizeof(cfg->node));
	mcp_strlcpy(cfg->state_dir, "/var/lib/mcp", sizeof(cfg->state_dir));
	mcp_strlcpy(cfg->srv_root, "/srv", sizeof(cfg->srv_root));
	cfg->monitor_interval_s = 5;
	cfg->flap_threshold = 4;
	cfg->flap_window_s = 300;
	cfg->stop_timeout_s = 10;
	mcp_strlcpy(cfg->systemd_scope, "auto", sizeof(cfg->systemd_scope));
	cfg->operators = xcalloc(3, sizeof(char *));
	cfg->operators[0] = xstrdup("operator");
	cfg->operators[1] = xstrdup("operator-*");
	cfg->volume_roots = xcalloc(2, sizeof(char *));
	cfg->volume_roots[0] = xstrdup("/srv");
	mcp_strlcpy(cfg->podman_binary, "podman", sizeof(cfg->podman_binary));
	cfg->list_timeout_s = 5;
	cfg->resync_s = 30;
	mcp_strlcpy(cfg->qemu_binary, "qemu-system-x86_64", sizeof(cfg->qemu_binary));
	cfg->kernel[0] = '\0';	/* the runtime's default (qemu_kernel_default) */
	mcp_strlcpy(cfg->machine, "auto", sizeof(cfg->machine));
	mcp_strlcpy(cfg->modules, "/var/lib/mcp/kernel/modules", sizeof(cfg->modules));
	snprintf(cfg->mcp_init, sizeof(cfg->mcp_init), "%s/mcp-init", exe_dir);
	mcp_strlcpy(cfg->accel, "auto", sizeof(cfg->accel));
	mcp_strlcpy(cfg->vm_uids, QEMU_JAIL_DEFAULT_UIDS, sizeof(cfg->vm_uids));
	cfg->reserve_memory_mb = 512;
	mcp_strlcpy(cfg->proxy.haproxy, "haproxy", sizeof(cfg->proxy.haproxy));
	cfg->proxy.public_port = 443;
	mcp_strlcpy(cfg->bridge_name, "mcp-br0", sizeof(cfg->bridge_name));
	mcp_strlcpy(cfg->bridge_subnet, "10.99.0.0/24", sizeof(cfg->bridge_subnet));
	mcp_strlcpy(cfg->bridge_gateway, "10.99.0.1", sizeof(cfg->bridge_gateway));
}

/* [proxy]: what the node proxy needs to run, checked before anything starts. */
static int
proxy_config_check(struct agent_config *cfg, const char *path, struct mcp_err *err)
{
	const char *why;
	size_t i;

	if (!cfg->proxy.enabled)
		return 0;
	if (cfg->proxy.zone[0] == '\0')
		return mcp_err_set(err, MCP_E_INVALID, "%s: [proxy] zone is required "
		    "when the proxy is enabled (routes answer to <instance>.<zone>)", path);
	if ((why = svc_check_hostname(cfg->proxy.zone)) != NULL)
		return mcp_err_set(err, MCP_E_INVALID, "%s: [proxy] zone \"%s\" %s",
		    path, cfg->proxy.zone, why);
	if ((cfg->proxy.issuer_cert[0] == '\0') != (cfg->proxy.issuer_key[0] == '\0'))
		return mcp_err_set(err, MCP_E_INVALID, "%s: [proxy] issuer_cert and "
		    "issuer_key go together", path);
	for (i = 0; cfg->proxy.allowed_domains && cfg->proxy.allowed_domains[i]; i++)
		if ((why = svc_check_hostname(cfg->proxy.allowed_domains[i])) != NULL)
			return mcp_err_set(err, MCP_E_INVALID, "%s: [proxy] "
			    "allowed_domains: \"%s\" %s", path,
			    cfg->proxy.allowed_domains[i], why);
	if (cfg->proxy.edge && (cfg->proxy.allowed_domains == NULL ||
	    cfg->proxy.allowed_domains[0] == NULL))
		return mcp_err_set(err, MCP_E_INVALID, "%s: [proxy] edge = true needs "
		    "allowed_domains", path);
	if (cfg->proxy.ca[0] == '\0')
		mcp_strlcpy(cfg->proxy.ca, cfg->tls_ca, sizeof(cfg->proxy.ca));
	return 0;
}

static void
exe_dir(char *out, size_t outsz)
{
	ssize_t n = readlink("/proc/self/exe", out, outsz - 1);
	char *slash;

	if (n <= 0) {
		mcp_strlcpy(out, ".", outsz);
		return;
	}
	out[n] = '\0';
	if ((slash = strrchr(out, '/')) != NULL)
		*slash = '\0';
}

/* What a group name may be (shadow's rules, loosely): no spaces, ':' or '/'. */
static int
config_group_name_ok(const char *s)
{
	for (; *s; s++)
		if (*s <= ' ' || *s > '~' || *s == ':' || *s == '/' || *s == ',')
			return 0;
	return 1;
}

int
agent_config_load(const char *path, struct agent_config *cfg, struct mcp_err *err)
{
	static const char *const top_keys[] = { "agent", "tls", "auth", "podman",
		"unikernel", "bridge", "proxy", "master", NULL };
	static const char *const master_keys[] = { "address", NULL };
	static const char *const bridge_keys[] = { "name", "subnet", "gateway", NULL };
	static const char *const agent_keys[] = { "node", "state_dir", "socket",
		"socket_group", "listen", "srv_root", "monitor_interval",
		"flap_threshold", "flap_window", "alert_command", "stop_timeout",
		"volume_roots", "advertise", "systemd_scope", NULL };
	static const char *const auth_keys[] = { "operators", NULL };
	static const char *const podman_keys[] = { "binary", "args",
		"containers_conf", "insecure_registries", "list_timeout", "resync",
		NULL };
	static const char *const uk_keys[] = { "qemu", "kernel", "modules",
		"mcp_init", "accel", "machine", "reserve_memory_mb", "reserve_vcpus",
		"memory_mb", "vcpus", "vm_uids", NULL };
	static const char *const proxy_keys[] = { "enabled", "bind", "haproxy",
		"zone", "issuer_cert", "issuer_key", "ca", "resolvers", "edge",
		"public_port", "allowed_domains", NULL };
	const struct toml_value *root, *t;
	char dir[CFG_PATH_MAX];
	int64_t v;
	int rc = -1;

	exe_dir(dir, sizeof(dir));
	config_defaults(cfg, dir);
	if ((root = toml_read_file(path, "agent config", err)) == NULL) {
		agent_config_free(cfg);
		return -1;
	}
	if (toml_read_check_keys(root, top_keys, path, "the top level", err) == -1)
		goto out;

	if (toml_read_table(root, "agent", &t, path, err) == -1 ||
	    toml_read_check_keys(t, agent_keys, path, "[agent]", err) == -1 ||
	    toml_read_str(t, "node", cfg->node, sizeof(cfg->node), path, err) == -1 ||
	    toml_read_str(t, "state_dir", cfg->state_dir, sizeof(cfg->state_dir), path, err) == -1 ||
	    toml_read_str(t, "socket", cfg->socket, sizeof(cfg->socket), path, err) == -1 ||
	    toml_read_str(t, "socket_group", cfg->socket_group, sizeof(cfg->socket_group), path, err) == -1 ||
	    toml_read_str(t, "listen", cfg->listen, sizeof(cfg->listen), path, err) == -1 ||
	    toml_read_str(t, "srv_root", cfg->srv_root, sizeof(cfg->srv_root), path, err) == -1 ||
	    toml_read_strv(t, "alert_command", &cfg->alert_command, path, err) == -1 ||
	    toml_read_strv(t, "volume_roots", &cfg->volume_roots, path, err) == -1 ||
	    toml_read_str(t, "advertise", cfg->advertise, sizeof(cfg->advertise), path, err) == -1 ||
	    toml_read_str(t, "systemd_scope", cfg->systemd_scope, sizeof(cfg->systemd_scope),
	    path, err) == -1)
		goto out;
	if (strcmp(cfg->systemd_scope, "auto") && strcmp(cfg->systemd_scope, "yes") &&
	    strcmp(cfg->systemd_scope, "no")) {
		mcp_err_set(err, MCP_E_INVALID, "%s: [agent] systemd_scope must be "
		    "\"auto\", \"yes\" or \"no\"", path);
		goto out;
	}
	v = cfg->monitor_interval_s;
	if (toml_read_int(t, "monitor_interval", 1, 3600, &v, path, err) == -1)
		goto out;
	cfg->monitor_interval_s = (int)v;
	v = cfg->flap_threshold;
	if (toml_read_int(t, "flap_threshold", 1, 1000, &v, path, err) == -1)
		goto out;
	cfg->flap_threshold = (int)v;
	v = cfg->flap_window_s;
	if (toml_read_int(t, "flap_window", 1, 86400, &v, path, err) == -1)
		goto out;
	cfg->flap_window_s = (int)v;
	v = cfg->stop_timeout_s;
	if (toml_read_int(t, "stop_timeout", 1, 600, &v, path, err) == -1)
		goto out;
	cfg->stop_timeout_s = (int)v;

	if (toml_read_tls(root, path, cfg->tls_ca, cfg->tls_cert, cfg->tls_key,
	    CFG_PATH_MAX, err) == -1)
		goto out;
	if (toml_read_table(root, "auth", &t, path, err) == -1 ||
	    toml_read_check_keys(t, auth_keys, path, "[auth]", err) == -1 ||
	    toml_read_strv(t, "operators", &cfg->operators, path, err) == -1)
		goto out;
	if (toml_read_table(root, "podman", &t, path, err) == -1 ||
	    toml_read_check_keys(t, podman_keys, path, "[podman]", err) == -1 ||
	    toml_read_str(t, "binary", cfg->podman_binary, sizeof(cfg->podman_binary), path, err) == -1 ||
	    toml_read_strv(t, "args", &cfg->podman_args, path, err) == -1 ||
	    toml_read_str(t, "containers_conf", cfg->containers_conf, sizeof(cfg->containers_conf), path, err) == -1 ||
	    toml_read_strv(t, "insecure_registries", &cfg->insecure_registries, path, err) == -1)
		goto out;
	/* at most 20: the CLI waits 30 s for ps/status (T_LIST in cli/commands.c) */
	v = cfg->list_timeout_s;
	if (toml_read_int(t, "list_timeout", 1, 20, &v, path, err) == -1)
		goto out;
	cfg->list_timeout_s = (int)v;
	v = cfg->resync_s;
	if (toml_read_int(t, "resync", 1, 3600, &v, path, err) == -1)
		goto out;
	cfg->resync_s = (int)v;
	if (toml_read_table(root, "unikernel", &t, path, err) == -1 ||
	    toml_read_check_keys(t, uk_keys, path, "[unikernel]", err) == -1 ||
	    toml_read_str(t, "qemu", cfg->qemu_binary, sizeof(cfg->qemu_binary), path, err) == -1 ||
	    toml_read_str(t, "kernel", cfg->kernel, sizeof(cfg->kernel), path, err) == -1 ||
	    toml_read_str(t, "modules", cfg->modules, sizeof(cfg->modules), path, err) == -1 ||
	    toml_read_str(t, "mcp_init", cfg->mcp_init, sizeof(cfg->mcp_init), path, err) == -1 ||
	    toml_read_str(t, "accel", cfg->accel, sizeof(cfg->accel), path, err) == -1 ||
	    toml_read_str(t, "machine", cfg->machine, sizeof(cfg->machine), path, err) == -1 ||
	    toml_read_str(t, "vm_uids", cfg->vm_uids, sizeof(cfg->vm_uids), path, err) == -1)
		goto out;
	v = cfg->reserve_memory_mb;
	if (toml_read_int(t, "reserve_memory_mb", 0, 1 << 24, &v, path, err) == -1)
		goto out;
	cfg->reserve_memory_mb = (int)v;
	v = cfg->reserve_vcpus;
	if (toml_read_int(t, "reserve_vcpus", 0, 4096, &v, path, err) == -1)
		goto out;
	cfg->reserve_vcpus = (int)v;
	v = cfg->memory_mb;
	if (toml_read_int(t, "memory_mb", 0, 1 << 24, &v, path, err) == -1)
		goto out;
	cfg->memory_mb = (int)v;
	v = cfg->vcpus;
	if (toml_read_int(t, "vcpus", 0, 4096, &v, path, err) == -1)
		goto out;
	cfg->vcpus = (int)v;

	if (toml_read_table(root, "bridge", &t, path, err) == -1 ||
	    toml_read_check_keys(t, bridge_keys, path, "[bridge]", err) == -1 ||
	    toml_read_str(t, "name", cfg->bridge_name, sizeof(cfg->bridge_name), path, err) == -1 ||
	    toml_read_str(t, "subnet", cfg->bridge_subnet, sizeof(cfg->bridge_subnet), path, err) == -1 ||
	    toml_read_str(t, "gateway", cfg->bridge_gateway, sizeof(cfg->bridge_gateway), path, err) == -1)
		goto out;

	if (toml_read_table(root, "proxy", &t, path, err) == -1 ||
	    toml_read_check_keys(t, proxy_keys, path, "[proxy]", err) == -1 ||
	    toml_read_bool(t, "enabled", &cfg->proxy.enabled, path, err) == -1 ||
	    toml_read_strv(t, "bind", &cfg->proxy.bind, path, err) == -1 ||
	    toml_read_str(t, "haproxy", cfg->proxy.haproxy, sizeof(cfg->proxy.haproxy), path, err) == -1 ||
	    toml_read_str(t, "zone", cfg->proxy.zone, sizeof(cfg->proxy.zone), path, err) == -1 ||
	    toml_read_str(t, "issuer_cert", cfg->proxy.issuer_cert, sizeof(cfg->proxy.issuer_cert), path, err) == -1 ||
	    toml_read_str(t, "issuer_key", cfg->proxy.issuer_key, sizeof(cfg->proxy.issuer_key), path, err) == -1 ||
	    toml_read_str(t, "ca", cfg->proxy.ca, sizeof(cfg->proxy.ca), path, err) == -1 ||
	    toml_read_strv(t, "resolvers", &cfg->proxy.resolvers, path, err) == -1 ||
	    toml_read_bool(t, "edge", &cfg->proxy.edge, path, err) == -1 ||
	    toml_read_strv(t, "allowed_domains", &cfg->proxy.allowed_domains, path, err) == -1)
		goto out;
	v = cfg->proxy.public_port;
	if (toml_read_int(t, "public_port", 1, 65535, &v, path, err) == -1)
		goto out;
	cfg->proxy.public_port = (int)v;
	if (proxy_config_check(cfg, path, err) == -1)
		goto out;
	if (toml_read_table(root, "master", &t, path, err) == -1 ||
	    toml_read_check_keys(t, master_keys, path, "[master]", err) == -1 ||
	    toml_read_str(t, "address", cfg->master_address, sizeof(cfg->master_address), path, err) == -1)
		goto out;
	if (cfg->master_address[0] && !cfg->listen[0]) {
		mcp_err_set(err, MCP_E_INVALID, "%s: [master] address needs [agent] "
		    "listen (the master calls the agent there)", path);
		goto out;
	}

	if (!svc_name_valid(cfg->node)) {
		mcp_err_set(err, MCP_E_INVALID, "%s: [agent] node \"%s\" is not a valid name",
		    path, cfg->node);
		goto out;
	}
	if (strcmp(cfg->accel, "auto") && strcmp(cfg->accel, "kvm") &&
	    strcmp(cfg->accel, "tcg")) {
		mcp_err_set(err, MCP_E_INVALID,
		    "%s: [unikernel] accel must be \"auto\", \"kvm\" or \"tcg\"", path);
		goto out;
	}
	if (strcmp(cfg->machine, "auto") && strcmp(cfg->machine, "pc") &&
	    strcmp(cfg->machine, "microvm")) {
		mcp_err_set(err, MCP_E_INVALID, "%s: [unikernel] machine \"%s\": want \"auto\", "
		    "\"pc\" or \"microvm\"", path, cfg->machine);
		goto out;
	}
	{
		uid_t first;
		unsigned count;

		if (qemu_jail_range_parse(cfg->vm_uids, &first, &count, err) == -1) {
			mcp_err_prefix(err, "%s: [unikernel]", path);
			goto out;
		}
	}
	if (cfg->state_dir[0] != '/' || cfg->srv_root[0] != '/') {
		mcp_err_set(err, MCP_E_INVALID,
		    "%s: [agent] state_dir and srv_root must be absolute paths", path);
		goto out;
	}
	for (size_t i = 0; cfg->volume_roots[i]; i++)
		if (cfg->volume_roots[i][0] != '/') {
			mcp_err_set(err, MCP_E_INVALID, "%s: [agent] volume_roots: \"%s\" "
			    "is not an absolute path", path, cfg->volume_roots[i]);
			goto out;
		}
	if (cfg->socket_group[0] && !config_group_name_ok(cfg->socket_group)) {
		mcp_err_set(err, MCP_E_INVALID, "%s: [agent] socket_group \"%s\" is "
		    "not a group name", path, cfg->socket_group);
		goto out;
	}
	if (cfg->socket[0] == '\0')
		snprintf(cfg->socket, sizeof(cfg->socket), "%s/agent.sock", cfg->state_dir);
	if (cfg->listen[0] && (!cfg->tls_ca[0] || !cfg->tls_cert[0] || !cfg->tls_key[0])) {
		mcp_err_set(err, MCP_E_INVALID,
		    "%s: [agent] listen needs [tls] ca, cert and key", path);
		goto out;
	}
	rc = 0;
out:
	toml_free((struct toml_value *)root);
	if (rc == -1)
		agent_config_free(cfg);	/* nothing half-loaded is left to the caller */
	return rc;
}

void
agent_config_free(struct agent_config *cfg)
{
	toml_strv_free(cfg->alert_command);
	toml_strv_free(cfg->operators);
	toml_strv_free(cfg->podman_args);
	toml_strv_free(cfg->insecure_registries);
	toml_strv_free(cfg->volume_roots);
	toml_strv_free(cfg->proxy.bind);
	toml_strv_free(cfg->proxy.resolvers);
	toml_strv_free(cfg->proxy.allowed_domains);
	cfg->alert_command = cfg->operators = cfg->podman_args = NULL;
	cfg->insecure_registries = cfg->volume_roots = NULL;
	cfg->proxy.bind = cfg->proxy.resolvers = cfg->proxy.allowed_domains = NULL;
}
