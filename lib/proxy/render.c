/*
 * proxy/render.c: haproxy.cfg, SNI maps and crt-lists from route rows
 * (see render.h for the shape of the configuration).  Pure: everything is
 * sorted first so the same set of rows always renders the same bytes,
 * whatever order the registry returned them in.
 */
#include "proxy/render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/check.h"
#include "service/service.h"
#include "util/hash.h"

/* One (port, hostname) claim, for sorting and duplicate detection. */
struct claim {
	int port;
	const char *hostname;
	const struct proxy_route *route;	/* NULL for an edge route */
	const struct proxy_edge *edge;
};

static int
claim_cmp(const void *pa, const void *pb)
{
	const struct claim *a = pa, *b = pb;

	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return strcmp(a->hostname, b->hostname);
}

static int
route_cmp(const void *pa, const void *pb)
{
	const struct proxy_route *a = *(const struct proxy_route *const *)pa;
	const struct proxy_route *b = *(const struct proxy_route *const *)pb;
	int c = strcmp(a->instance, b->instance);

	if (c == 0)
		c = strcmp(a->route, b->route);
	if (c == 0)
		c = a->port < b->port ? -1 : a->port > b->port;
	return c;
}

static int
edge_cmp(const void *pa, const void *pb)
{
	const struct proxy_edge *a = *(const struct proxy_edge *const *)pa;
	const struct proxy_edge *b = *(const struct proxy_edge *const *)pb;

	return strcmp(a->hostname, b->hostname);
}

void
proxy_backend_name(char *out, size_t outsz, const char *instance,
    const char *route, int port)
{
	if (route && route[0])
		snprintf(out, outsz, "r_%s_%s", instance, route);
	else
		snprintf(out, outsz, "r_%s_%d", instance, port);
}

void
proxy_cert_name(char *out, size_t outsz, const char *hostname)
{
	snprintf(out, outsz, "certs/%s.pem", hostname);
}

/* Edge backends are named after the public hostname ('.' is fine there). */
void
proxy_edge_backend_name(char *out, size_t outsz, const char *hostname)
{
	snprintf(out, outsz, "e_%s", hostname);
}

static const char *
owner(const struct claim *c, char *buf, size_t sz)
{
	if (c->edge)
		snprintf(buf, sz, "edge route %s", c->edge->hostname);
	else if (c->route->route[0])
		snprintf(buf, sz, "%s route %s", c->route->instance, c->route->route);
	else
		snprintf(buf, sz, "%s (unnamed route)", c->route->instance);
	return buf;
}

/*
 * "ADDR:PORT" with nothing HAProxy's parser would read as more than one
 * word: the backend is data from the registry, never configuration.
 */
static int
backend_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || strchr(s, ':') == NULL)
		return 0;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') || strchr(".:-[]", s[i])))
			return 0;
	return 1;
}

/* SPEC §3 names: [a-z0-9-], as svc_instance_name builds them. */
static int
instance_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-'))
			return 0;
	return i > 0 && i < SVC_INSTANCE_MAX;
}

static int
check_route(const struct proxy_route *r, struct mcp_err *err)
{
	const char *why;
	size_t i;

	if (r->instance == NULL || !instance_ok(r->instance))
		return mcp_err_set(err, MCP_E_INVALID, "proxy: route of \"%s\": bad "
		    "instance name", r->instance ? r->instance : "");
	if (r->route == NULL || svc_check_route_name(r->route) != NULL)
		return mcp_err_set(err, MCP_E_INVALID, "proxy: %s: bad route name",
		    r->instance);
	if (r->port < 1 || r->port > 65535)
		return mcp_err_set(err, MCP_E_INVALID, "proxy: %s route %s: port %d "
		    "is not in 1..65535", r->instance, r->route, r->port);
	if (r->nhostnames == 0)
		return mcp_err_set(err, MCP_E_INVALID, "proxy: %s route %s: no "
		    "hostname", r->instance, r->route);
	for (i = 0; i < r->nhostnames; i++)
		if ((why = svc_check_hostname(r->hostnames[i])) != NULL)
			return mcp_err_set(err, MCP_E_INVALID, "proxy: %s route %s: "
			    "hostname \"%s\" %s", r->instance, r->route,
			    r->hostnames[i], why);
	if (!backend_ok(r->backend))
		return mcp_err_set(err, MCP_E_INVALID, "proxy: %s route %s: backend "
		    "\"%s\" is not ADDR:PORT", r->instance, r->route,
		    r->backend ? r->backend : "");
	return 0;
}

static int
check_edge(const struct proxy_settings *set, const struct proxy_edge *e,
    struct mcp_err *err)
{
	const char *why;

	if ((why = svc_check_hostname(e->hostname)) != NULL)
		return mcp_err_set(err, MCP_E_INVALID, "proxy: edge route \"%s\": "
		    "hostname %s", e->hostname, why);
	if ((why = svc_check_hostname(e->backend_hostname)) != NULL)
		return mcp_err_set(err, MCP_E_INVALID, "proxy: edge route %s: backend "
		    "hostname \"%s\" %s", e->hostname, e->backend_hostname, why);
	if (e->backend_port < 1 || e->backend_port > 65535)
		return mcp_err_set(err, MCP_E_INVALID, "proxy: edge route %s: backend "
		    "port %d is not in 1..65535", e->hostname, e->backend_port);
	if (set->nresolvers == 0 || set->ca_file == NULL || set->ca_file[0] == '\0')
		return mcp_err_set(err, MCP_E_INVALID, "proxy: edge route %s needs "
		    "resolvers and the platform CA", e->hostname);
	if (set->public_port < 1 || set->public_port > 65535)
		return mcp_err_set(err, MCP_E_INVALID, "proxy: public port %d is not "
		    "in 1..65535", set->public_port);
	return 0;
}

/* files[] is allocated for every file up front: pointers stay valid. */
static struct buf *
file_add(struct proxy_files *f, const char *fmt, int port)
{
	struct proxy_file *p = &f->files[f->n++];

	snprintf(p->name, sizeof(p->name), fmt, port);
	return &p->text;
}

static void
render_head(struct buf *c, const struct proxy_settings *set)
{
	size_t i;

	buf_printf(c, "# Rendered by mcp-agent from its registry; do not edit.\n"
	    "global\n"
	    "\tmaster-worker\n"
	    "\tstats socket %s/admin.sock mode 600 level admin expose-fd listeners\n"
	    "\thard-stop-after %ds\n"
	    "\n"
	    "defaults\n"
	    "\ttimeout connect 5s\n"
	    "\ttimeout client 1m\n"
	    "\ttimeout server 1m\n"
	    "\ttimeout tunnel 1h\n"
	    "\ttimeout client-fin 5s\n"
	    "\n", set->dir, set->hard_stop_after_s > 0 ? set->hard_stop_after_s : 30);
	if (set->nresolvers == 0)
		return;
	buf_puts(c, "resolvers mcp\n");
	for (i = 0; i < set->nresolvers; i++)
		buf_printf(c, "\tnameserver ns%zu %s\n", i + 1, set->resolvers[i]);
	buf_puts(c, "\taccepted_payload_size 1232\n"
	    "\tresolve_retries 3\n"
	    "\ttimeout resolve 1s\n"
	    "\ttimeout retry 1s\n"
	    "\thold valid 10s\n"
	    "\thold nx 5s\n"
	    "\n");
}

static void
render_binds(struct buf *c, const struct proxy_settings *set, int port)
{
	size_t i;

	if (set->bind == NULL || set->nbind == 0) {
		buf_printf(c, "\tbind :%d\n", port);
		return;
	}
	for (i = 0; i < set->nbind; i++)
		buf_printf(c, "\tbind %s:%d\n", set->bind[i], port);
}

/* Claims of one port: cl[lo..hi). */
static void
render_port(struct buf *c, struct proxy_files *out,
    const struct proxy_settings *set, const char *tag, const struct claim *cl,
    size_t lo, size_t hi)
{
	struct buf *map, *tmap = NULL, *crt = NULL;
	int port = cl[lo].port, l7 = 0;
	char be[160], cert[300];
	size_t i;

	for (i = lo; i < hi; i++)
		if (cl[i].edge || cl[i].route->mode == PROXY_L7)
			l7 = 1;
	buf_printf(c, "frontend p%d\n\tmode tcp\n", port);
	render_binds(c, set, port);
	buf_printf(c, "\ttimeout client 1h\n"
	    "\ttcp-request inspect-delay 5s\n"
	    "\ttcp-request content accept if { req.ssl_hello_type 1 }\n");
	if (!l7)
		buf_printf(c, "\ttcp-request content reject unless "
		    "{ req.ssl_sni,lower,map(%s/p%d.map) -m found }\n", set->dir, port);
	buf_printf(c, "\tuse_backend %%[req.ssl_sni,lower,map(%s/p%d.map)]\n",
	    set->dir, port);
	if (l7)
		buf_printf(c, "\tdefault_backend l%d\n", port);
	buf_puts(c, "\n");
	map = file_add(out, "p%d.map", port);
	if (l7) {
		tmap = file_add(out, "t%d.map", port);
		crt = file_add(out, "p%d.crtlist", port);
		buf_printf(c, "backend l%d\n\tmode tcp\n\ttimeout server 1h\n"
		    "\tserver t abns@mcp-%s-t%d send-proxy-v2\n\n", port, tag, port);
		buf_printf(c, "frontend t%d\n\tmode http\n"
		    "\tbind abns@mcp-%s-t%d accept-proxy ssl crt-list %s/p%d.crtlist "
		    "alpn h2,http/1.1\n"
		    "\toption forwardfor\n"
		    "\tuse_backend %%[ssl_fc_sni,lower,map(%s/t%d.map)]\n"
		    "\tdefault_backend none\n\n", port, tag, port, set->dir, port,
		    set->dir, port);
	}
	for (i = lo; i < hi; i++) {
		const struct claim *k = &cl[i];

		if (k->edge)
			proxy_edge_backend_name(be, sizeof(be), k->edge->hostname);
		else
			proxy_backend_name(be, sizeof(be), k->route->instance,
			    k->route->route, k->route->port);
		if (k->edge == NULL && k->route->mode == PROXY_L4) {
			buf_printf(map, "%s %s\n", k->hostname, be);
			continue;
		}
		buf_printf(map, "%s l%d\n", k->hostname, port);
		buf_printf(tmap, "%s %s\n", k->hostname, be);
		proxy_cert_name(cert, sizeof(cert), k->hostname);
		buf_printf(crt, "%s/%s %s\n", set->dir, cert, k->hostname);
	}
}

static void
render_route_backend(struct buf *c, const struct proxy_settings *set,
    const struct proxy_route *r, int inter)
{
	char be[160];

	(void)set;
	proxy_backend_name(be, sizeof(be), r->instance, r->route, r->port);
	buf_printf(c, "backend %s\n\tmode %s\n", be, r->mode == PROXY_L7 ?
	    "http" : "tcp");
	if (r->mode == PROXY_L4)
		buf_puts(c, "\ttimeout server 1h\n");
	buf_printf(c, "\tserver s %s check inter %dms%s\n\n", r->backend, inter,
	    r->up ? "" : " disabled");
}

static void
render_edge_backend(struct buf *c, const struct proxy_settings *set,
    const struct proxy_edge *e, int inter)
{
	char be[300];

	proxy_edge_backend_name(be, sizeof(be), e->hostname);
	buf_printf(c, "backend %s\n\tmode http\n"
	    "\tserver s %s:%d ssl verify required ca-file %s sni str(%s) "
	    "verifyhost %s check check-sni %s inter %dms resolvers mcp "
	    "init-addr none resolve-prefer ipv4\n\n", be, e->backend_hostname,
	    e->backend_port, set->ca_file, e->backend_hostname,
	    e->backend_hostname, e->backend_hostname, inter);
}

int
proxy_render(const struct proxy_settings *set, const struct proxy_route *routes,
    size_t nroutes, const struct proxy_edge *edges, size_t nedges,
    struct proxy_files *out, struct mcp_err *err)
{
	struct claim *cl = NULL;
	const struct proxy_route **rs = NULL;
	const struct proxy_edge **es = NULL;
	size_t ncl = 0, i, j, lo;
	struct buf *cfg;
	char tag[HASH_HEX_LEN + 1], a[200], b[200];
	int inter = set->check_interval_ms > 0 ? set->check_interval_ms : 2000;
	int rc = -1, any_l7 = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < nroutes; i++) {
		if (check_route(&routes[i], err) == -1)
			return -1;
		ncl += routes[i].nhostnames;
		if (routes[i].mode == PROXY_L7)
			any_l7 = 1;
	}
	for (i = 0; i < nedges; i++)
		if (check_edge(set, &edges[i], err) == -1)
			return -1;
	ncl += nedges;
	cl = xcalloc(ncl + 1, sizeof(*cl));
	ncl = 0;
	for (i = 0; i < nroutes; i++)
		for (j = 0; j < routes[i].nhostnames; j++)
			cl[ncl++] = (struct claim){ routes[i].port,
			    routes[i].hostnames[j], &routes[i], NULL };
	for (i = 0; i < nedges; i++)
		cl[ncl++] = (struct claim){ set->public_port, edges[i].hostname,
		    NULL, &edges[i] };
	qsort(cl, ncl, sizeof(*cl), claim_cmp);
	for (i = 1; i < ncl; i++)
		if (cl[i].port == cl[i - 1].port &&
		    strcmp(cl[i].hostname, cl[i - 1].hostname) == 0) {
			mcp_err_set(err, MCP_E_EXISTS, "proxy: hostname %s on port %d is "
			    "claimed twice: by %s and by %s", cl[i].hostname, cl[i].port,
			    owner(&cl[i - 1], a, sizeof(a)), owner(&cl[i], b, sizeof(b)));
			goto out;
		}

	/* the abstract sockets are per network namespace: one tag per proxy */
	hash_sha256_hex(set->dir, strlen(set->dir), tag);
	tag[8] = '\0';
	/* haproxy.cfg and at most three files per port */
	out->files = xcalloc(1 + 3 * ncl, sizeof(*out->files));
	cfg = file_add(out, "haproxy.cfg", 0);
	render_head(cfg, set);
	for (lo = 0; lo < ncl; lo = i) {
		for (i = lo; i < ncl && cl[i].port == cl[lo].port; i++)
			;
		render_port(cfg, out, set, tag, cl, lo, i);
	}
	if (any_l7 || nedges > 0)
		buf_puts(cfg, "backend none\n\tmode http\n\n");

	rs = xcalloc(nroutes + 1, sizeof(*rs));
	for (i = 0; i < nroutes; i++)
		rs[i] = &routes[i];
	qsort(rs, nroutes, sizeof(*rs), route_cmp);
	for (i = 0; i < nroutes; i++)
		render_route_backend(cfg, set, rs[i], inter);
	es = xcalloc(nedges + 1, sizeof(*es));
	for (i = 0; i < nedges; i++)
		es[i] = &edges[i];
	qsort(es, nedges, sizeof(*es), edge_cmp);
	for (i = 0; i < nedges; i++)
		render_edge_backend(cfg, set, es[i], inter);
	rc = 0;
out:
	free(cl);
	free(rs);
	free(es);
	if (rc == -1)
		proxy_files_free(out);
	return rc;
}

void
proxy_files_free(struct proxy_files *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		buf_free(&f->files[i].text);
	free(f->files);
	memset(f, 0, sizeof(*f));
}

