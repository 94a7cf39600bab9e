/*
 * mcp-init/net.h: bring up the guest's loopback and its one interface with
 * plain ioctls (the guest has no ip(8), the kernel no ip= autoconfig).
 */
#ifndef MCP_INIT_NET_H
#define MCP_INIT_NET_H

/* Set IFF_UP on lo (the kernel then assigns 127.0.0.1/8 itself). */
int net_loopback_up(char *errbuf, unsigned errsz);

/*
 * Wait up to wait_ms for ifname to appear, set ip/netmask when ip is not
 * NULL, bring it up, and add a default route via gateway when not NULL.
 */
int net_iface_up(const char *ifname, const char *ip, const char *netmask,
    const char *gateway, int wait_ms, char *errbuf, unsigned errsz);

#endif
