/*
 * mcp-init/net.c: interface configuration with SIOCSIFADDR,
 * SIOCSIFNETMASK, SIOCSIFFLAGS and SIOCADDRT.
 */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void
set_sin(struct sockaddr *sa, const char *addr)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (addr)
		inet_pton(AF_INET, addr, &sin.sin_addr);
	memcpy(sa, &sin, sizeof(sin));
}

static int
iface_flags_up(int s, const char *ifname, char *errbuf, unsigned errsz)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == -1) {
		snprintf(errbuf, errsz, "%s: SIOCGIFFLAGS: %s", ifname, strerror(errno));
		return -1;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) == -1) {
		snprintf(errbuf, errsz, "%s: SIOCSIFFLAGS: %s", ifname, strerror(errno));
		return -1;
	}
	return 0;
}

int
net_loopback_up(char *errbuf, unsigned errsz)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (s == -1) {
		snprintf(errbuf, errsz, "socket: %s", strerror(errno));
		return -1;
	}
	rc = iface_flags_up(s, "lo", errbuf, errsz);
	close(s);
	return rc;
}

static int
iface_wait(int s, const char *ifname, int wait_ms)
{
	struct ifreq ifr;
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	for (int waited = 0;; waited += 10) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0)
			return 0;
		if (errno != ENODEV || waited >= wait_ms)
			return -1;
		nanosleep(&ts, NULL);
	}
}

int
net_iface_up(const char *ifname, const char *ip, const char *netmask,
    const char *gateway, int wait_ms, char *errbuf, unsigned errsz)
{
	struct ifreq ifr;
	struct rtentry rt;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s == -1) {
		snprintf(errbuf, errsz, "socket: %s", strerror(errno));
		return -1;
	}
	if (iface_wait(s, ifname, wait_ms) == -1) {
		snprintf(errbuf, errsz, "%s: %s", ifname, strerror(errno));
		goto fail;
	}
	if (ip) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		set_sin(&ifr.ifr_addr, ip);
		if (ioctl(s, SIOCSIFADDR, &ifr) == -1) {
			snprintf(errbuf, errsz, "%s: SIOCSIFADDR %s: %s", ifname, ip,
			    strerror(errno));
			goto fail;
		}
		set_sin(&ifr.ifr_netmask, netmask);
		if (ioctl(s, SIOCSIFNETMASK, &ifr) == -1) {
			snprintf(errbuf, errsz, "%s: SIOCSIFNETMASK %s: %s", ifname,
			    netmask, strerror(errno));
			goto fail;
		}
	}
	if (iface_flags_up(s, ifname, errbuf, errsz) == -1)
		goto fail;
	if (gateway) {
		memset(&rt, 0, sizeof(rt));
		set_sin(&rt.rt_dst, NULL);
		set_sin(&rt.rt_genmask, NULL);
		set_sin(&rt.rt_gateway, gateway);
		rt.rt_flags = RTF_UP | RTF_GATEWAY;
		rt.rt_dev = (char *)ifname;
		if (ioctl(s, SIOCADDRT, &rt) == -1 && errno != EEXIST) {
			snprintf(errbuf, errsz, "%s: SIOCADDRT default via %s: %s",
			    ifname, gateway, strerror(errno));
			goto fail;
		}
	}
	close(s);
	return 0;
fail:
	close(s);
	return -1;
}
