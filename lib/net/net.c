/*
 * net/net.c: bridge, TAP and nftables management through ip(8),
 * bridge(8) and nft(8), each started from an argv (never a shell).
 */
#include "net/net.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/hash.h"
#include "util/file.h"
#include "util/spawn.h"

#define NFT_TABLE "mcp"

static int
run(const char *const argv[], const char *input, struct mcp_err *err)
{
	struct spawn_opts opts = { .timeout_ms = 15000, .stdout_fd = -1 };
	struct spawn_result res;
	int rc = 0;

	if (input) {
		opts.stdin_data = input;
		opts.stdin_len = strlen(input);
	}
	if (spawn_run(argv, &opts, &res, err) == -1) {
		spawn_result_free(&res);
		return -1;
	}
	if (res.status != 0)
		rc = mcp_err_set(err, MCP_E_INTERNAL, "%s %s: %s", argv[0], argv[1],
		    spawn_errline(&res));
	spawn_result_free(&res);
	return rc;
}

int
net_ip_parse(const char *s, uint32_t *ip)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*ip = ntohl(a.s_addr);
	return 0;
}

char *
net_ip_str(uint32_t ip, char *out, size_t outsz)
{
	struct in_addr a = { htonl(ip) };

	if (inet_ntop(AF_INET, &a, out, (socklen_t)outsz) == NULL && outsz)
		out[0] = '\0';
	return out;
}

static uint32_t
mask_of(int prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

char *
net_netmask_str(const struct net_bridge *b, char *out, size_t outsz)
{
	return net_ip_str(mask_of(b->prefix), out, outsz);
}

void
net_host_range(const struct net_bridge *b, uint32_t *first, uint32_t *last)
{
	uint32_t bcast = b->network | ~mask_of(b->prefix);

	*first = b->network + 2;
	*last = bcast - 1;
}

int
net_bridge_init(struct net_bridge *b, const char *name, const char *subnet,
    const char *gateway, struct mcp_err *err)
{
	char net[32], *slash;
	long prefix;
	size_t i;

	memset(b, 0, sizeof(*b));
	if (strlen(name) == 0 || strlen(name) >= NET_IFNAME_MAX)
		return mcp_err_set(err, MCP_E_INVALID,
		    "bridge name \"%s\" must be 1-15 bytes", name);
	for (i = 0; name[i]; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		    name[i] == '-' || name[i] == '_'))
			return mcp_err_set(err, MCP_E_INVALID,
			    "bridge name \"%s\": only [a-z0-9_-] allowed", name);
	mcp_strlcpy(b->name, name, sizeof(b->name));
	mcp_strlcpy(net, subnet, sizeof(net));
	if ((slash = strchr(net, '/')) == NULL)
		return mcp_err_set(err, MCP_E_INVALID, "bridge subnet \"%s\": want A.B.C.D/N",
		    subnet);
	*slash = '\0';
	prefix = strtol(slash + 1, NULL, 10);
	if (net_ip_parse(net, &b->network) == -1 || prefix < 16 || prefix > 29)
		return mcp_err_set(err, MCP_E_INVALID,
		    "bridge subnet \"%s\": want A.B.C.D/N with N in 16..29", subnet);
	b->prefix = (int)prefix;
	if ((b->network & ~mask_of(b->prefix)) != 0)
		return mcp_err_set(err, MCP_E_INVALID,
		    "bridge subnet \"%s\": host bits set", subnet);
	if (net_ip_parse(gateway, &b->gateway) == -1 ||
	    (b->gateway & mask_of(b->prefix)) != b->network ||
	    b->gateway == b->network || b->gateway == (b->network | ~mask_of(b->prefix)))
		return mcp_err_set(err, MCP_E_INVALID,
		    "bridge gateway \"%s\" is not a host address of %s", gateway, subnet);
	return 0;
}

int
net_bridge_present(const struct net_bridge *b)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/class/net/%s", b->name);
	return access(path, F_OK) == 0;
}

int
net_bridge_setup(const struct net_bridge *b, struct mcp_err *err)
{
	char gw[16], addr[24];

	snprintf(addr, sizeof(addr), "%s/%d", net_ip_str(b->gateway, gw, sizeof(gw)),
	    b->prefix);
	if (!net_bridge_present(b)) {
		const char *add[] = { "ip", "link", "add", b->name, "type", "bridge", NULL };

		if (run(add, NULL, err) == -1)
			return mcp_err_prefix(err, "create bridge %s", b->name);
	}
	{
		const char *ad[] = { "ip", "addr", "replace", addr, "dev", b->name, NULL };
		const char *up[] = { "ip", "link", "set", b->name, "up", NULL };

		if (run(ad, NULL, err) == -1 || run(up, NULL, err) == -1)
			return mcp_err_prefix(err, "configure bridge %s", b->name);
	}
	return 0;
}

int
net_bridge_teardown(const struct net_bridge *b, struct mcp_err *err)
{
	if (net_firewall_sync(b, NULL, 0, err) == -1)
		return -1;
	if (net_bridge_present(b)) {
		const char *del[] = { "ip", "link", "del", b->name, NULL };

		if (run(del, NULL, err) == -1)
			return mcp_err_prefix(err, "delete bridge %s", b->name);
	}
	return 0;
}

static void
bridge_tag(const struct net_bridge *b, char *out)
{
	char hex[HASH_HEX_LEN + 1];

	hash_sha256_hex(b->name, strlen(b->name), hex);
	memcpy(out, hex, 4);
	out[4] = '\0';
}

void
net_tap_name(const struct net_bridge *b, uint32_t ip, char *out, size_t outsz)
{
	char tag[5];

	bridge_tag(b, tag);
	snprintf(out, outsz, "mcp%s-%u", tag, (unsigned)(ip - b->network));
}

int
net_tap_is_ours(const struct net_bridge *b, const char *name)
{
	char tag[5], prefix[16];
	size_t n;

	bridge_tag(b, tag);
	n = (size_t)snprintf(prefix, sizeof(prefix), "mcp%s-", tag);
	if (strncmp(name, prefix, n) != 0 || name[n] == '\0')
		return 0;
	for (; name[n]; n++)
		if (name[n] < '0' || name[n] > '9')
			return 0;
	return 1;
}

void
net_mac_for(const char *vm_name, char *out, size_t outsz)
{
	char hex[HASH_HEX_LEN + 1];

	hash_sha256_hex(vm_name, strlen(vm_name), hex);
	snprintf(out, outsz, "52:54:00:%.2s:%.2s:%.2s", hex, hex + 2, hex + 4);
}

/* The owner a TAP has (-1: none, or unreadable). */
static long
tap_owner(const char *tap)
{
	char path[64];
	struct buf text = BUF_INIT;
	long uid = -1;

	snprintf(path, sizeof(path), "/sys/class/net/%s/owner", tap);
	if (file_read(path, &text, 64, NULL) == 0 && text.data)
		uid = strtol(text.data, NULL, 10);
	buf_free(&text);
	return uid;
}

int
net_tap_create(const struct net_bridge *b, const char *tap, long uid,
    struct mcp_err *err)
{
	char path[64], u[24];
	const char *add[] = { "ip", "tuntap", "add", "dev", tap, "mode", "tap",
	    uid >= 0 ? "user" : NULL, u, "group", u, NULL };
	const char *master[] = { "ip", "link", "set", "dev", tap, "master", b->name, NULL };
	const char *iso[] = { "bridge", "link", "set", "dev", tap, "isolated", "on", NULL };
	const char *up[] = { "ip", "link", "set", "dev", tap, "up", NULL };

	snprintf(u, sizeof(u), "%ld", uid);
	snprintf(path, sizeof(path), "/sys/class/net/%s", tap);
	/* a leftover TAP of another owner is made again for this one */
	if (access(path, F_OK) == 0 && tap_owner(tap) != uid &&
	    net_tap_delete(tap, err) == -1)
		return mcp_err_prefix(err, "re-create tap %s for owner %ld", tap, uid);
	if (access(path, F_OK) != 0 && run(add, NULL, err) == -1)
		return mcp_err_prefix(err, "create tap %s", tap);
	if (run(master, NULL, err) == -1 || run(iso, NULL, err) == -1 ||
	    run(up, NULL, err) == -1) {
		struct mcp_err e2 = MCP_ERR_INIT;

		net_tap_delete(tap, &e2);
		return mcp_err_prefix(err, "attach tap %s to %s", tap, b->name);
	}
	return 0;
}

int
net_tap_open(const char *tap, int *fd, struct mcp_err *err)
{
	struct ifreq ifr;
	int tfd;

	memset(&ifr, 0, sizeof(ifr));
	if (strlen(tap) >= sizeof(ifr.ifr_name))
		return mcp_err_set(err, MCP_E_INVALID, "tap %s: name too long", tap);
	strcpy(ifr.ifr_name, tap);
	/* what QEMU asks for when it opens the TAP itself */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if ((tfd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) == -1)
		return mcp_err_errno(err, errno, "open tap %s: /dev/net/tun", tap);
	if (ioctl(tfd, TUNSETIFF, &ifr) == -1) {
		mcp_err_errno(err, errno, "open tap %s: TUNSETIFF", tap);
		close(tfd);
		return -1;
	}
	*fd = tfd;
	return 0;
}

int
net_tap_delete(const char *tap, struct mcp_err *err)
{
	char path[64];
	const char *del[] = { "ip", "link", "del", "dev", tap, NULL };

	snprintf(path, sizeof(path), "/sys/class/net/%s", tap);
	if (access(path, F_OK) != 0)
		return 0;
	if (run(del, NULL, err) == -1)
		return mcp_err_prefix(err, "delete tap %s", tap);
	return 0;
}

int
net_tap_list(const struct net_bridge *b, char (**names)[NET_IFNAME_MAX], size_t *n,
    struct mcp_err *err)
{
	DIR *d = opendir("/sys/class/net");
	struct dirent *de;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (d == NULL)
		return mcp_err_errno(err, errno, "list interfaces: /sys/class/net");
	while ((de = readdir(d)) != NULL) {
		if (!net_tap_is_ours(b, de->d_name))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*names = realloc(*names, cap * sizeof(**names));
			if (*names == NULL)
				abort();
		}
		mcp_strlcpy((*names)[(*n)++], de->d_name, NET_IFNAME_MAX);
	}
	closedir(d);
	return 0;
}

int
net_firewall_present(void)
{
	const char *argv[] = { "nft", "list", "table", "inet", NFT_TABLE, NULL };
	struct mcp_err err = MCP_ERR_INIT;

	return run(argv, NULL, &err) == 0;
}

void
net_firewall_ruleset(const struct net_bridge *b, const struct net_vm *vms,
    size_t n, struct buf *out)
{
	struct buf rs = BUF_INIT;
	char gw[16], ip[16];
	size_t i;

	/* "table X" first makes the delete valid whether or not it existed */
	buf_printf(&rs, "table inet %s\ndelete table inet %s\n"
	    "table bridge %s\ndelete table bridge %s\n", NFT_TABLE, NFT_TABLE,
	    NFT_TABLE, NFT_TABLE);
	if (n > 0) {
		net_ip_str(b->gateway, gw, sizeof(gw));
		buf_printf(&rs, "table inet %s {\n"
		    " chain input {\n"
		    "  type filter hook input priority 0; policy accept;\n"
		    "  iifname \"%s\" ip daddr %s accept\n"
		    "  iifname \"%s\" drop\n"
		    " }\n"
		    " chain forward {\n"
		    "  type filter hook forward priority 0; policy accept;\n"
		    "  iifname \"%s\" drop\n"
		    "  oifname \"%s\" drop\n"
		    " }\n"
		    "}\n", NFT_TABLE, b->name, gw, b->name, b->name, b->name);
		buf_printf(&rs, "table bridge %s {\n"
		    " chain prerouting {\n"
		    "  type filter hook prerouting priority 0; policy accept;\n", NFT_TABLE);
		/* each VM may only speak from its own MAC and address: IPv4 and
		 * ARP only (no IPv6), ARP only about itself */
		for (i = 0; i < n; i++) {
			const char *t = vms[i].tap;

			net_ip_str(vms[i].ip, ip, sizeof(ip));
			buf_printf(&rs, "  iifname \"%s\" ether type != { ip, arp } drop\n", t);
			if (vms[i].mac[0])
				buf_printf(&rs, "  iifname \"%s\" ether saddr != %s drop\n"
				    "  iifname \"%s\" arp saddr ether != %s drop\n", t,
				    vms[i].mac, t, vms[i].mac);
			buf_printf(&rs, "  iifname \"%s\" ether type ip ip saddr != %s drop\n"
			    "  iifname \"%s\" arp saddr ip != %s drop\n", t, ip, t, ip);
		}
		/* VM-to-VM frames across the bridge (the ports are isolated too) */
		buf_puts(&rs, " }\n"
		    " chain forward {\n"
		    "  type filter hook forward priority 0; policy accept;\n"
		    "  iifname { ");
		for (i = 0; i < n; i++)
			buf_printf(&rs, "%s\"%s\"", i ? ", " : "", vms[i].tap);
		buf_puts(&rs, " } drop\n }\n}\n");
	}
	buf_append(out, rs.data, rs.len);
	buf_free(&rs);
}

int
net_firewall_apply(const struct net_bridge *b, const char *ruleset,
    struct mcp_err *err)
{
	const char *argv[] = { "nft", "-f", "-", NULL };

	if (run(argv, ruleset, err) == -1)
		return mcp_err_prefix(err, "firewall for %s", b->name);
	return 0;
}

int
net_firewall_sync(const struct net_bridge *b, const struct net_vm *vms, size_t n,
    struct mcp_err *err)
{
	struct buf rs = BUF_INIT;
	int rc;

	net_firewall_ruleset(b, vms, n, &rs);
	rc = net_firewall_apply(b, rs.data, err);
	buf_free(&rs);
	return rc;
}
