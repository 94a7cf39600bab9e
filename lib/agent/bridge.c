/*
 * agent/bridge.c: the agent's side of bridge networking (SPEC §4.2):
 * whether a component goes on the bridge, its address (allocated here,
 * persisted in the registry, kept across restarts and redeploys, released
 * on undeploy), the nftables rule set derived from the registry's VMs,
 * and removal of TAPs whose VM is gone.  TAPs themselves are created and
 * deleted by the QEMU runtime around each VM's life.
 */
#include "agent/agent.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

int
agent_bridge_init(struct agent *a, struct mcp_err *err)
{
	if (net_bridge_init(&a->bridge, a->cfg.bridge_name, a->cfg.bridge_subnet,
	    a->cfg.bridge_gateway, err) == -1)
		return mcp_err_prefix(err, "[bridge]");
	a->bridge_mode = net_bridge_present(&a->bridge);
	if (a->bridge_mode)
		log_info("bridge mode: VMs on %s (%s, gateway %s)", a->bridge.name,
		    a->cfg.bridge_subnet, a->cfg.bridge_gateway);
	return 0;
}

int
agent_bridged(struct agent *a, const char *runtime, const char *network)
{
	return a->bridge_mode && strcmp(runtime, "unikernel") == 0 &&
	    strcmp(network ? network : "", "user") != 0;
}

int
agent_bridge_assign(struct agent *a, const struct reg_service *rs,
    const struct svc_component *c, int *changed, struct mcp_err *err)
{
	const char *service = rs->name, *have = "";
	char (*ips)[48] = NULL;
	uint32_t first, last, ip;
	size_t n = 0, i, k;
	int rc = -1;

	for (i = 0; i < rs->ncomponents; i++)
		if (strcmp(rs->components[i].name, c->name) == 0)
			have = rs->components[i].vm_ip;
	if (!agent_bridged(a, c->runtime, c->network)) {
		if (!have[0])
			return 0;
		*changed = 1;
		return reg_component_set_vm_ip(a->reg, service, c->name, "", err);
	}
	if (have[0]) {
		/* keep it, and its route addresses current */
		rc = reg_component_set_vm_ip(a->reg, service, c->name, have, err);
		goto out;
	}
	net_host_range(&a->bridge, &first, &last);
	for (ip = first; ip <= last; ip++) {
		char cand[16];
		int used = 0;

		if (ip == a->bridge.gateway)
			continue;
		if (ips == NULL && reg_vm_ips(a->reg, &ips, &n, err) == -1)
			goto out;
		net_ip_str(ip, cand, sizeof(cand));
		for (k = 0; k < n && !used; k++)
			used = strcmp(ips[k], cand) == 0;
		if (used)
			continue;
		if (reg_component_set_vm_ip(a->reg, service, c->name, cand, err) == 0) {
			log_info("%s/%s: address %s on %s", service, c->name, cand,
			    a->bridge.name);
			*changed = 1;
			rc = 0;
			goto out;
		}
		if (err->code != MCP_E_EXISTS)	/* taken meanwhile: try the next */
			goto out;
		mcp_err_clear(err);
	}
	mcp_err_set(err, MCP_E_RESOURCE, "no free address on %s (%s) for %s/%s",
	    a->bridge.name, a->cfg.bridge_subnet, service, c->name);
out:
	free(ips);
	return rc;
}

void
agent_bridge_sync(struct agent *a, const struct rt_info *running, size_t nrun)
{
	struct reg_service *svcs = NULL;
	struct net_vm *vms = NULL;
	char (*taps)[NET_IFNAME_MAX] = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	size_t n = 0, nvms = 0, ntaps = 0, i, j;

	if (!a->bridge_mode)
		return;
	/* one writer at a time: each derives the whole rule set from the registry */
	pthread_mutex_lock(&a->bridge_mu);
	if (reg_service_list(a->reg, &svcs, &n, &err) == -1) {
		log_warnx("bridge: %s", err.msg);
		pthread_mutex_unlock(&a->bridge_mu);
		return;
	}
	for (i = 0; i < n; i++)
		nvms += svcs[i].ncomponents;
	vms = xcalloc(nvms + 1, sizeof(*vms));
	nvms = 0;
	for (i = 0; i < n; i++)
		for (j = 0; j < svcs[i].ncomponents; j++) {
			uint32_t ip;

			if (svcs[i].components[j].vm_ip[0] == '\0' ||
			    net_ip_parse(svcs[i].components[j].vm_ip, &ip) == -1)
				continue;
			vms[nvms].ip = ip;
			mcp_strlcpy(vms[nvms].service, svcs[i].name, sizeof(vms[nvms].service));
			{
				char inst[RT_NAME_MAX];

				/* the MAC the runtime gives the VM (net_mac_for its name) */
				svc_instance_name(inst, sizeof(inst), svcs[i].name,
				    svcs[i].components[j].name);
				net_mac_for(inst, vms[nvms].mac, sizeof(vms[nvms].mac));
			}
			net_tap_name(&a->bridge, ip, vms[nvms].tap, sizeof(vms[nvms].tap));
			nvms++;
		}
	/*
	 * The monitor calls this every pass: nft runs only when the rule set
	 * changed, or once a minute to repair rules someone else removed.
	 */
	{
		struct buf rs = BUF_INIT;
		int64_t now = (int64_t)time(NULL);

		net_firewall_ruleset(&a->bridge, vms, nvms, &rs);
		if (a->fw_applied == NULL || strcmp(a->fw_applied, rs.data) != 0 ||
		    now - a->fw_applied_at >= 60) {
			if (net_firewall_apply(&a->bridge, rs.data, &err) == -1) {
				log_warnx("bridge: %s", err.msg);
				buf_free(&rs);
			} else {
				free(a->fw_applied);
				a->fw_applied = buf_steal(&rs);
				a->fw_applied_at = now;
			}
		} else {
			buf_free(&rs);
		}
	}
	/*
	 * TAPs whose VM is not running (crashed, killed, removed) go, unless
	 * an operation on its service is in flight (a VM being started has
	 * its TAP before QEMU runs).
	 */
	if (running && net_tap_list(&a->bridge, &taps, &ntaps, &err) == 0) {
		for (i = 0; i < ntaps; i++) {
			int live = 0;

			for (j = 0; j < nvms && !live; j++)
				live = strcmp(vms[j].tap, taps[i]) == 0 &&
				    agent_service_busy(a, vms[j].service);

			for (j = 0; j < nrun && !live; j++) {
				uint32_t ip;
				char t[NET_IFNAME_MAX];

				if (strcmp(running[j].state, "running") != 0 ||
				    net_ip_parse(running[j].vm_ip, &ip) == -1)
					continue;
				net_tap_name(&a->bridge, ip, t, sizeof(t));
				live = strcmp(t, taps[i]) == 0;
			}
			if (!live) {
				log_info("bridge: removing %s (its VM is not running)", taps[i]);
				if (net_tap_delete(taps[i], &err) == -1)
					log_warnx("bridge: %s", err.msg);
			}
		}
	}
	free(taps);
	free(vms);
	reg_services_free(svcs, n);
	pthread_mutex_unlock(&a->bridge_mu);
}

int
agent_bridge_command(const char *config_path, const char *action,
    struct mcp_err *err)
{
	struct agent_config cfg;
	struct net_bridge b;
	int rc = -1;

	if (agent_config_load(config_path, &cfg, err) == -1)
		return -1;
	if (net_bridge_init(&b, cfg.bridge_name, cfg.bridge_subnet,
	    cfg.bridge_gateway, err) == -1) {
		mcp_err_prefix(err, "[bridge]");
		goto out;
	}
	if (strcmp(action, "up") == 0)
		rc = net_bridge_setup(&b, err);
	else if (strcmp(action, "down") == 0)
		rc = net_bridge_teardown(&b, err);
	else
		mcp_err_set(err, MCP_E_INVALID, "bridge: unknown action \"%s\" (up|down)",
		    action);
out:
	agent_config_free(&cfg);
	return rc;
}
