/*
 * net/net.h: isolated bridge networking for unikernel VMs (SPEC §4.2).
 *
 * When the bridge (default mcp-br0, 10.99.0.0/24, gateway 10.99.0.1)
 * exists, each VM gets a TAP enslaved to it as an isolated port, a static
 * address from the subnet and a MAC derived from its name; nftables rules
 * in tables of our own ("inet mcp", "bridge mcp") let bridge traffic reach
 * only the gateway address: nothing is forwarded out of the bridge, VMs
 * cannot reach each other, there is no NAT.  Anti-spoofing at the bridge
 * (prerouting, before forward or input): a VM's TAP passes only IPv4 and
 * ARP frames from its own MAC, IPv4 from its own address and ARP whose
 * sender MAC and IP are its own (no IPv6: none is configured).  The rule
 * set is a pure
 * function of the VMs on the bridge and is replaced atomically; with no VM
 * it is removed.  Everything on disk/kernel side is named here, once.
 */
#ifndef MCP_NET_NET_H
#define MCP_NET_NET_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define NET_IFNAME_MAX 16	/* IFNAMSIZ: 15 bytes + NUL */

struct net_bridge {
	char name[NET_IFNAME_MAX];	/* "mcp-br0" */
	uint32_t network;		/* host byte order, e.g. 10.99.0.0 */
	int prefix;			/* 24 */
	uint32_t gateway;		/* 10.99.0.1 */
};

/* Parse "10.99.0.0/24" and "10.99.0.1" into b (name copied). */
int net_bridge_init(struct net_bridge *b, const char *name, const char *subnet,
    const char *gateway, struct mcp_err *err);
/* 1 when /sys/class/net/<name> exists. */
int net_bridge_present(const struct net_bridge *b);
/* Create the bridge with the gateway address, up (idempotent). */
int net_bridge_setup(const struct net_bridge *b, struct mcp_err *err);
/* Delete the bridge and our rules (idempotent). */
int net_bridge_teardown(const struct net_bridge *b, struct mcp_err *err);

/* Dotted quad of a host-order address into out (>= 16 bytes). */
char *net_ip_str(uint32_t ip, char *out, size_t outsz);
int net_ip_parse(const char *s, uint32_t *ip);
/* Netmask of the bridge's prefix as a dotted quad. */
char *net_netmask_str(const struct net_bridge *b, char *out, size_t outsz);
/* First and last assignable address (2 .. broadcast-1, gateway excluded by callers). */
void net_host_range(const struct net_bridge *b, uint32_t *first, uint32_t *last);

/*
 * The TAP of the VM with address ip on bridge b: "mcp" + 4 hex digits of
 * the bridge name's hash + "-" + the host index, at most 13 bytes; unique
 * per (bridge, address), and addresses are unique per bridge.
 */
void net_tap_name(const struct net_bridge *b, uint32_t ip, char *out, size_t outsz);
/* 1 if name is a TAP of ours on bridge b. */
int net_tap_is_ours(const struct net_bridge *b, const char *name);
/* Deterministic MAC for a VM name: 52:54:00:xx:xx:xx. */
void net_mac_for(const char *vm_name, char *out, size_t outsz);

/*
 * Create the TAP (persistent; owned by uid and its group when uid >= 0,
 * re-created when a leftover has another owner), enslave to the bridge as
 * an isolated port, up.
 */
int net_tap_create(const struct net_bridge *b, const char *tap, long uid,
    struct mcp_err *err);
/* Attach to the existing TAP (/dev/net/tun, TUNSETIFF with a vnet header,
 * as QEMU does), *fd CLOEXEC: handed to an unprivileged QEMU as fd=N. */
int net_tap_open(const char *tap, int *fd, struct mcp_err *err);
/* Delete the TAP; absent is success. */
int net_tap_delete(const char *tap, struct mcp_err *err);
/* Our TAPs that exist now (malloc'ed array of names). */
int net_tap_list(const struct net_bridge *b, char (**names)[NET_IFNAME_MAX],
    size_t *n, struct mcp_err *err);

struct net_vm {
	char tap[NET_IFNAME_MAX];
	uint32_t ip;
	char mac[24];		/* net_mac_for(its instance name); "" = not checked */
	char service[64];	/* for the caller's bookkeeping */
};

/* The nft script that replaces our tables for these VMs (none: removes them). */
void net_firewall_ruleset(const struct net_bridge *b, const struct net_vm *vms,
    size_t n, struct buf *out);
/* Run such a script through nft, atomically. */
int net_firewall_apply(const struct net_bridge *b, const char *ruleset,
    struct mcp_err *err);
/* Both: replace our nftables tables for these VMs; with none, remove them. */
int net_firewall_sync(const struct net_bridge *b, const struct net_vm *vms,
    size_t n, struct mcp_err *err);
/* 1 if our tables exist. */
int net_firewall_present(void);

#endif
