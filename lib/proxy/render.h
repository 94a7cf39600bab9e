/*
 * proxy/render.h: the node proxy's files (SPEC §4.3), rendered from plain
 * rows by a pure function: routes and edge routes in, the text of
 * haproxy.cfg, its SNI maps and crt-lists out.  No I/O, no clock, no
 * global state, so the output is a golden-file test away from the input
 * (tests/unit/test_proxy.c).  The driver that writes these files and tells
 * HAProxy about them lives beside this module and is the only caller.
 *
 * The shape, per listener port P (HAProxy 2.6, checked in ENVIRONMENT.md):
 *
 *   frontend p<P>        mode tcp; waits for the TLS ClientHello and picks
 *                        a backend by SNI from map p<P>.map.  An l4
 *                        hostname maps to its route's TCP backend (TLS
 *                        passes through); an l7 hostname maps to the
 *                        port's relay, which hands the connection (with a
 *                        PROXY v2 header) to
 *   frontend t<P>        mode http on an abstract socket; terminates TLS
 *                        with the hostname's certificate (crt-list
 *                        p<P>.crtlist) and picks the route's HTTP backend
 *                        by SNI from t<P>.map.
 *
 * An unknown SNI (or none) on a port that only has l4 routes is refused
 * (the connection is closed during the handshake); on a port with l7
 * routes it is terminated with the port's first certificate and answered
 * 503, never passed to another service.  A stopped route keeps its
 * hostname but its server is disabled: 503 (l7) or a closed connection
 * (l4).  Edge routes are l7 routes on the public port whose backend is
 * another node's proxy, reached by DNS name through the resolvers,
 * re-encrypted and verified against the platform CA with SNI = that name.
 */
#ifndef MCP_PROXY_RENDER_H
#define MCP_PROXY_RENDER_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

enum proxy_mode { PROXY_L4, PROXY_L7 };

/* One service route on this node's proxy.  Strings are borrowed. */
struct proxy_route {
	const char *instance;		/* SPEC §3 name of the component */
	const char *route;		/* route name, "" when unnamed */
	int port;			/* listener port on the proxy */
	enum proxy_mode mode;
	const char *const *hostnames;	/* SNI names answered (lower case) */
	size_t nhostnames;
	const char *backend;		/* "ADDR:PORT" the traffic goes to */
	int up;				/* 0: stopped, kept but not served */
};

/* One edge route (edge nodes only): public name -> another node's proxy. */
struct proxy_edge {
	const char *hostname;		/* public name, terminated here */
	const char *backend_hostname;	/* <instance>.<zone>, resolved by DNS */
	int backend_port;
};

struct proxy_settings {
	const char *dir;		/* where the maps, crt-lists, certs live */
	const char *const *bind;	/* listen addresses; NULL or empty: all */
	size_t nbind;
	const char *ca_file;		/* platform CA (edge re-encryption) */
	const char *const *resolvers;	/* "ADDR:PORT" nameservers (edge) */
	size_t nresolvers;
	int public_port;		/* edge routes' listener port */
	int check_interval_ms;		/* backend health checks; 0: 2000 */
	int hard_stop_after_s;		/* old workers after a reload; 0: 30 */
};

/* One rendered file: name relative to settings->dir, and its text. */
struct proxy_file {
	char name[64];
	struct buf text;
};

struct proxy_files {
	struct proxy_file *files;	/* files[0] is haproxy.cfg */
	size_t n;
};

/*
 * Render everything.  Refuses (MCP_E_EXISTS / MCP_E_INVALID, naming both
 * owners) the same hostname twice on one port, an invalid hostname or
 * port, an edge route without resolvers or CA.  Output depends only on
 * the input set, not its order.  out is released with proxy_files_free.
 */
int proxy_render(const struct proxy_settings *set,
    const struct proxy_route *routes, size_t nroutes,
    const struct proxy_edge *edges, size_t nedges,
    struct proxy_files *out, struct mcp_err *err);
void proxy_files_free(struct proxy_files *f);

/* The one place a route's HAProxy backend name is made: "r_<inst>_<route>". */
void proxy_backend_name(char *out, size_t outsz, const char *instance,
    const char *route, int port);
/* The one place an edge route's backend name is made: "e_<hostname>". */
void proxy_edge_backend_name(char *out, size_t outsz, const char *hostname);
/* The certificate bundle for a terminated hostname, relative to dir. */
void proxy_cert_name(char *out, size_t outsz, const char *hostname);

#endif
