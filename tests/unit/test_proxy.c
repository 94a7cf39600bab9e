/*
 * tests/unit/test_proxy.c: the node proxy renderer (lib/proxy/render.c).
 * Golden files: each case renders a set of rows and compares every file
 * with tests/unit/golden/proxy/<case>/<file> (MCP_UPDATE_GOLDEN=1 rewrites
 * them; review the diff).  Then the same rows, rendered into a scratch
 * directory with real certificates, must pass `haproxy -c`: the golden
 * text is not only stable but a configuration HAProxy accepts.  Refusals
 * (duplicate hostname on a port, bad rows) are a table.  The driver
 * (lib/proxy/haproxy.c) is tested against a real HAProxy: start, no-op,
 * hitless reload (same master), a refused configuration rolled back while
 * the old one keeps running, rediscovery by pidfile, stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "pki/pki.h"
#include "proxy/haproxy.h"
#include "proxy/render.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/spawn.h"

static const char *const h_a[] = { "hello.svc.mcp.example.net", "hello.example.net" };
static const char *const h_b[] = { "hello-db.svc.mcp.example.net" };
static const char *const h_c[] = { "tls.svc.mcp.example.net" };
static const char *const h_d[] = { "web.svc.mcp.example.net" };

static const struct proxy_route mixed[] = {
	/* l7 with an internal and a (non-public) operator hostname */
	{ "hello", "http", 8443, PROXY_L7, h_a, 2, "127.0.0.1:10001", 1 },
	/* a bridged VM, stopped: kept, not served */
	{ "hello-db", "", 8443, PROXY_L7, h_b, 1, "10.99.0.2:8080", 0 },
	/* l4 passthrough on the same port */
	{ "tls", "", 8443, PROXY_L4, h_c, 1, "127.0.0.1:10002", 1 },
	/* l4 alone on its own port */
	{ "web", "raw", 9000, PROXY_L4, h_d, 1, "127.0.0.1:10003", 1 },
};

static const struct proxy_edge edges[] = {
	{ "www.example.net", "hello.svc.mcp.example.net", 8443 },
	{ "api.example.net", "web.svc.mcp.example.net", 8443 },
};

static const char *const resolvers[] = { "10.98.0.53:5353" };
static const char *const binds[] = { "10.98.0.2", "127.0.0.1" };

struct gcase {
	const char *name;
	const struct proxy_route *routes;
	size_t nroutes;
	const struct proxy_edge *edges;
	size_t nedges;
	int with_binds;
};

static const struct gcase cases[] = {
	{ "mixed", mixed, 4, NULL, 0, 0 },
	{ "l4only", &mixed[3], 1, NULL, 0, 1 },
	{ "edge", mixed, 1, edges, 2, 0 },
	{ "empty", NULL, 0, NULL, 0, 0 },
};

static void
settings(struct proxy_settings *s, const char *dir, const char *ca, int binds_on)
{
	memset(s, 0, sizeof(*s));
	s->dir = dir;
	s->ca_file = ca;
	s->resolvers = resolvers;
	s->nresolvers = 1;
	s->public_port = 443;
	if (binds_on) {
		s->bind = binds;
		s->nbind = 2;
	}
}

static void
golden_compare(const char *cname, const struct proxy_file *f)
{
	const char *root = getenv("MCP_GOLDEN_DIR");
	char path[PATH_MAX], dir[PATH_MAX];
	struct buf want = BUF_INIT;
	struct mcp_err err = MCP_ERR_INIT;

	snprintf(dir, sizeof(dir), "%s/proxy/%s", root ? root : "tests/unit/golden",
	    cname);
	snprintf(path, sizeof(path), "%s/%s", dir, f->name);
	if (getenv("MCP_UPDATE_GOLDEN")) {
		assert_int_equal(file_mkdirs(dir, 0755, &err), 0);
		assert_int_equal(file_write_atomic(path, f->text.data ? f->text.data : "",
		    f->text.len, 0644, &err), 0);
		return;
	}
	if (file_read(path, &want, 1 << 20, &err) == -1)
		fail_msg("%s: %s (MCP_UPDATE_GOLDEN=1 writes it)", cname, err.msg);
	if (want.len != f->text.len || memcmp(want.data, f->text.data ? f->text.data : "",
	    want.len) != 0)
		fail_msg("%s/%s differs from the golden file; rendered:\n%s", cname,
		    f->name, f->text.data ? f->text.data : "");
	buf_free(&want);
}

static void
test_golden(void **state __attribute__((unused)))
{
	size_t i, j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct gcase *c = &cases[i];
		struct proxy_settings s;
		struct proxy_files out;
		struct mcp_err err = MCP_ERR_INIT;

		settings(&s, "/state/proxy", "/etc/mcp/ca.crt", c->with_binds);
		if (proxy_render(&s, c->routes, c->nroutes, c->edges, c->nedges, &out,
		    &err) == -1)
			fail_msg("%s: %s", c->name, err.msg);
		assert_string_equal(out.files[0].name, "haproxy.cfg");
		for (j = 0; j < out.n; j++)
			golden_compare(c->name, &out.files[j]);
		proxy_files_free(&out);
	}
}

/* The same rows in another order render the same bytes. */
static void
test_order_independent(void **state __attribute__((unused)))
{
	struct proxy_route rev[4];
	struct proxy_settings s;
	struct proxy_files a, b;
	struct mcp_err err = MCP_ERR_INIT;
	size_t i;

	for (i = 0; i < 4; i++)
		rev[i] = mixed[3 - i];
	settings(&s, "/state/proxy", "/ca.crt", 0);
	assert_int_equal(proxy_render(&s, mixed, 4, edges, 2, &a, &err), 0);
	assert_int_equal(proxy_render(&s, rev, 4, &edges[0], 2, &b, &err), 0);
	assert_int_equal(a.n, b.n);
	for (i = 0; i < a.n; i++) {
		assert_string_equal(a.files[i].name, b.files[i].name);
		assert_string_equal(a.files[i].text.data ? a.files[i].text.data : "",
		    b.files[i].text.data ? b.files[i].text.data : "");
	}
	proxy_files_free(&a);
	proxy_files_free(&b);
}

static void
test_refusals(void **state __attribute__((unused)))
{
	static const char *const dup[] = { "hello.svc.mcp.example.net" };
	static const char *const bad[] = { "Hello.example.net" };
	static const char *const evil[] = { "x.example.net\n\tserver y" };
	struct {
		struct proxy_route r;
		int with_edge;
		const char *want;	/* substring of the error */
	} t[] = {
		/* another service's hostname on the same port */
		{ { "other", "", 8443, PROXY_L4, dup, 1, "127.0.0.1:1", 1 }, 0,
		  "hostname hello.svc.mcp.example.net on port 8443 is claimed twice: "
		  "by hello route http and by other (unnamed route)" },
		/* an edge route's public name taken by a local l7 route */
		{ { "www", "", 443, PROXY_L7, (const char *const[]){ "www.example.net" },
		    1, "127.0.0.1:1", 1 }, 1, "www.example.net on port 443 is claimed "
		  "twice" },
		{ { "other", "", 8443, PROXY_L7, bad, 1, "127.0.0.1:1", 1 }, 0,
		  "hostname \"Hello.example.net\" may only contain" },
		{ { "other", "", 8443, PROXY_L7, evil, 1, "127.0.0.1:1", 1 }, 0,
		  "may only contain" },
		{ { "other", "", 70000, PROXY_L4, h_d, 1, "127.0.0.1:1", 1 }, 0,
		  "port 70000 is not in 1..65535" },
		{ { "other", "", 8443, PROXY_L4, h_d, 0, "127.0.0.1:1", 1 }, 0,
		  "no hostname" },
		{ { "other", "", 8443, PROXY_L4, (const char *const[]){ "o.example.net" },
		    1, "127.0.0.1:1 backup", 1 }, 0, "is not ADDR:PORT" },
		{ { "Other/x", "", 8443, PROXY_L4, h_d, 1, "127.0.0.1:1", 1 }, 0,
		  "bad instance name" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct proxy_route rows[2] = { mixed[0], t[i].r };
		struct proxy_settings s;
		struct proxy_files out;
		struct mcp_err err = MCP_ERR_INIT;

		settings(&s, "/state/proxy", "/ca.crt", 0);
		if (proxy_render(&s, rows, 2, t[i].with_edge ? edges : NULL,
		    t[i].with_edge ? 2 : 0, &out, &err) == 0)
			fail_msg("case %zu rendered", i);
		if (strstr(err.msg, t[i].want) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, t[i].want);
		assert_int_equal(out.n, 0);
	}
	/* an edge route needs resolvers and the CA */
	{
		struct proxy_settings s;
		struct proxy_files out;
		struct mcp_err err = MCP_ERR_INIT;

		settings(&s, "/state/proxy", NULL, 0);
		assert_int_equal(proxy_render(&s, NULL, 0, edges, 1, &out, &err), -1);
		assert_non_null(strstr(err.msg, "needs resolvers and the platform CA"));
	}
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A scratch proxy dir with one certificate bundle usable for any name. */
struct scratch {
	char dir[64];
	char ca[PATH_MAX];
	struct buf bundle;
};

static void
scratch_new(struct scratch *sc)
{
	char path[PATH_MAX];
	struct buf key = BUF_INIT;
	struct mcp_err err = MCP_ERR_INIT;

	memset(sc, 0, sizeof(*sc));
	snprintf(sc->dir, sizeof(sc->dir), "/tmp/test_proxy.XXXXXX");
	assert_non_null(mkdtemp(sc->dir));
	snprintf(sc->ca, sizeof(sc->ca), "%s/ca", sc->dir);
	assert_int_equal(pki_ca_init(sc->ca, &err), 0);
	assert_int_equal(pki_issue(sc->ca, "proxy", NULL, NULL, &err), 0);
	snprintf(path, sizeof(path), "%s/proxy.crt", sc->ca);
	assert_int_equal(file_read(path, &sc->bundle, 1 << 20, &err), 0);
	snprintf(path, sizeof(path), "%s/proxy.key", sc->ca);
	assert_int_equal(file_read(path, &key, 1 << 20, &err), 0);
	buf_append(&sc->bundle, key.data, key.len);
	buf_free(&key);
	snprintf(path, sizeof(path), "%s/certs", sc->dir);
	assert_int_equal(file_mkdirs(path, 0700, &err), 0);
	snprintf(sc->ca, sizeof(sc->ca), "%s/ca/ca.crt", sc->dir);
}

static void
scratch_cert(struct scratch *sc, const char *hostname)
{
	char path[PATH_MAX];
	struct mcp_err err = MCP_ERR_INIT;

	snprintf(path, sizeof(path), "%s/certs/%s.pem", sc->dir, hostname);
	assert_int_equal(file_write_atomic(path, sc->bundle.data, sc->bundle.len,
	    0600, &err), 0);
}

static void
scratch_free(struct scratch *sc)
{
	buf_free(&sc->bundle);
	nftw(sc->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Every golden case, rendered for a scratch dir with real certificates,
 * passes `haproxy -c`. */
static void
test_haproxy_accepts(void **state __attribute__((unused)))
{
	struct scratch sc;
	char path[PATH_MAX];
	struct mcp_err err = MCP_ERR_INIT;
	size_t i, j, k;

	if (access("/usr/sbin/haproxy", X_OK) != 0)
		fail_msg("haproxy is not installed (scripts/setup.sh installs it)");
	scratch_new(&sc);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct gcase *c = &cases[i];
		struct proxy_settings s;
		struct proxy_files out;
		struct spawn_result res;
		char cfg[PATH_MAX];
		const char *argv[] = { "/usr/sbin/haproxy", "-c", "-q", "-f", cfg, NULL };

		settings(&s, sc.dir, sc.ca, 0);
		assert_int_equal(proxy_render(&s, c->routes, c->nroutes, c->edges,
		    c->nedges, &out, &err), 0);
		for (j = 0; j < out.n; j++) {
			snprintf(path, sizeof(path), "%s/%s", sc.dir, out.files[j].name);
			assert_int_equal(file_write_atomic(path, out.files[j].text.data ?
			    out.files[j].text.data : "", out.files[j].text.len, 0600, &err), 0);
		}
		for (j = 0; j < c->nroutes; j++)
			for (k = 0; k < c->routes[j].nhostnames; k++)
				scratch_cert(&sc, c->routes[j].hostnames[k]);
		for (j = 0; j < c->nedges; j++)
			scratch_cert(&sc, c->edges[j].hostname);
		snprintf(cfg, sizeof(cfg), "%s/haproxy.cfg", sc.dir);
		assert_int_equal(spawn_run(argv, NULL, &res, &err), 0);
		if (res.status != 0)
			fail_msg("%s: haproxy -c: %s%s", c->name, res.out.data ?
			    res.out.data : "", res.errout.data ? res.errout.data : "");
		spawn_result_free(&res);
		proxy_files_free(&out);
	}
	scratch_free(&sc);
}

static int
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static void
apply_rows(struct proxy_driver *d, struct scratch *sc, struct proxy_route *r,
    size_t n, const char *want_action, int want_rc)
{
	static const char *const lo[] = { "127.0.0.1" };
	struct proxy_settings s;
	struct proxy_files out;
	struct mcp_err err = MCP_ERR_INIT;
	const char *action = "?";
	int rc;

	settings(&s, sc->dir, sc->ca, 0);
	s.bind = lo;
	s.nbind = 1;
	s.hard_stop_after_s = 5;
	assert_int_equal(proxy_render(&s, r, n, NULL, 0, &out, &err), 0);
	rc = proxy_driver_apply(d, &out, 0, &action, &err);
	proxy_files_free(&out);
	if (rc != want_rc)
		fail_msg("apply: rc %d, want %d: %s", rc, want_rc, err.msg);
	if (want_rc == 0 && strcmp(action, want_action) != 0)
		fail_msg("apply: %s, want %s", action, want_action);
	if (want_rc == -1 && strstr(err.msg, "check haproxy.cfg") == NULL)
		fail_msg("apply refused without naming the check: %s", err.msg);
}

/* Whatever happens in test_driver, its HAProxy does not outlive it. */
static char driver_dir[64];

static int
driver_teardown(void **state __attribute__((unused)))
{
	struct proxy_driver d;
	struct mcp_err err = MCP_ERR_INIT;

	if (driver_dir[0] && proxy_driver_init(&d, "/usr/sbin/haproxy", driver_dir,
	    5000, &err) == 0) {
		proxy_driver_stop(&d, &err);
		proxy_driver_free(&d);
		nftw(driver_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	return 0;
}

static void
test_driver(void **state __attribute__((unused)))
{
	static const char *const ha[] = { "a.svc.test" };
	static const char *const hb[] = { "b.svc.test" };
	struct scratch sc;
	struct proxy_driver d, again;
	struct proxy_server_state *st = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	struct buf b = BUF_INIT;
	char be[32];
	pid_t pid;
	size_t n, i;
	int port = free_port(), found = 0;
	struct proxy_route rows[2] = {
		{ "a", "", port, PROXY_L7, ha, 1, "127.0.0.1:1", 1 },
		{ "b", "", port, PROXY_L7, hb, 1, "127.0.0.1:2", 1 },
	};

	scratch_new(&sc);
	mcp_strlcpy(driver_dir, sc.dir, sizeof(driver_dir));
	scratch_cert(&sc, "a.svc.test");
	assert_int_equal(proxy_driver_init(&d, "/usr/sbin/haproxy", sc.dir, 10000,
	    &err), 0);
	assert_int_equal(proxy_driver_pid(&d), 0);
	apply_rows(&d, &sc, rows, 1, "started", 0);
	pid = proxy_driver_pid(&d);
	assert_true(pid > 0);
	apply_rows(&d, &sc, rows, 1, "unchanged", 0);
	/* b's certificate is missing: haproxy -c refuses, a's config stays */
	apply_rows(&d, &sc, rows, 2, "", -1);
	assert_int_equal(proxy_driver_admin(&d, "show stat", &b, &err), 0);
	assert_int_equal(proxy_parse_stat(b.data, &st, &n, &err), 0);
	for (i = 0; i < n; i++)
		assert_string_not_equal(st[i].backend, "r_b_" "0");
	free(st);
	snprintf(be, sizeof(be), "t%d.map", port);
	{
		char path[PATH_MAX];
		struct buf map = BUF_INIT;

		snprintf(path, sizeof(path), "%s/%s", sc.dir, be);
		assert_int_equal(file_read(path, &map, 4096, &err), 0);
		assert_null(strstr(map.data, "b.svc.test"));
		buf_free(&map);
	}
	/* with the certificate: a hitless reload under the same master */
	scratch_cert(&sc, "b.svc.test");
	apply_rows(&d, &sc, rows, 2, "reloaded", 0);
	assert_int_equal(proxy_driver_pid(&d), pid);
	assert_int_equal(proxy_driver_admin(&d, "show stat", &b, &err), 0);
	assert_int_equal(proxy_parse_stat(b.data, &st, &n, &err), 0);
	snprintf(be, sizeof(be), "r_b_%d", port);
	for (i = 0; i < n; i++)
		if (strcmp(st[i].backend, be) == 0)
			found = 1;
	assert_true(found);
	free(st);
	/* a new backend address and a stopped route: the runtime API, no reload */
	{
		int r0, f0, r1, f1;

		assert_int_equal(proxy_driver_master(&d, "show proc", &b, &err), 0);
		assert_int_equal(proxy_parse_reloads(b.data, &r0, &f0), 0);
		rows[1].backend = "127.0.0.1:3";
		rows[0].up = 0;
		apply_rows(&d, &sc, rows, 2, "updated", 0);
		assert_int_equal(proxy_driver_master(&d, "show proc", &b, &err), 0);
		assert_int_equal(proxy_parse_reloads(b.data, &r1, &f1), 0);
		assert_int_equal(r1, r0);
		snprintf(be, sizeof(be), "show servers state r_b_%d", port);
		assert_int_equal(proxy_driver_admin(&d, be, &b, &err), 0);
		if (strstr(b.data, " 127.0.0.1 ") == NULL || strstr(b.data, " 3 ") == NULL)
			fail_msg("r_b not re-pointed: %s", b.data);
		assert_int_equal(proxy_driver_admin(&d, "show stat", &b, &err), 0);
		assert_int_equal(proxy_parse_stat(b.data, &st, &n, &err), 0);
		snprintf(be, sizeof(be), "r_a_%d", port);
		for (i = 0; i < n; i++)
			if (strcmp(st[i].backend, be) == 0)
				assert_string_equal(st[i].status, "MAINT");
		free(st);
	}
	/* a second driver on the same dir (an agent restart) finds it */
	assert_int_equal(proxy_driver_init(&again, "/usr/sbin/haproxy", sc.dir,
	    10000, &err), 0);
	assert_int_equal(proxy_driver_pid(&again), pid);
	apply_rows(&again, &sc, rows, 2, "unchanged", 0);
	assert_int_equal(proxy_driver_stop(&again, &err), 0);
	assert_int_equal(proxy_driver_pid(&d), 0);
	proxy_driver_free(&again);
	proxy_driver_free(&d);
	buf_free(&b);
	scratch_free(&sc);
}

static void
test_runtime_diff(void **state __attribute__((unused)))
{
	static const char base[] =
	    "global\n\tmaster-worker\n\nbackend r_a_http\n\tmode http\n"
	    "\tserver s 127.0.0.1:10001 check inter 2000ms\n\n"
	    "backend e_www.example.net\n\tmode http\n\tserver s a.svc.test:8443 "
	    "ssl verify required check resolvers mcp init-addr none\n";
	struct {
		const char *new_cfg;
		int want;		/* changes, or -1 */
		const char *addr;
		int disabled;
	} t[] = {
		{ base, 0, NULL, 0 },
		{ "global\n\tmaster-worker\n\nbackend r_a_http\n\tmode http\n"
		  "\tserver s 127.0.0.1:10009 check inter 2000ms\n\n"
		  "backend e_www.example.net\n\tmode http\n\tserver s a.svc.test:8443 "
		  "ssl verify required check resolvers mcp init-addr none\n",
		  1, "127.0.0.1:10009", 0 },
		{ "global\n\tmaster-worker\n\nbackend r_a_http\n\tmode http\n"
		  "\tserver s 127.0.0.1:10001 check inter 2000ms disabled\n\n"
		  "backend e_www.example.net\n\tmode http\n\tserver s a.svc.test:8443 "
		  "ssl verify required check resolvers mcp init-addr none\n",
		  1, "127.0.0.1:10001", 1 },
		/* a new backend, a mode change, an edge server: reload */
		{ "global\n\tmaster-worker\n\nbackend r_a_http\n\tmode tcp\n"
		  "\tserver s 127.0.0.1:10001 check inter 2000ms\n\n"
		  "backend e_www.example.net\n\tmode http\n\tserver s a.svc.test:8443 "
		  "ssl verify required check resolvers mcp init-addr none\n", -1, NULL, 0 },
		{ "global\n\tmaster-worker\n\nbackend r_a_http\n\tmode http\n"
		  "\tserver s 127.0.0.1:10001 check inter 2000ms\n\n"
		  "backend e_www.example.net\n\tmode http\n\tserver s b.svc.test:8443 "
		  "ssl verify required check resolvers mcp init-addr none\n", -1, NULL, 0 },
		{ "global\n", -1, NULL, 0 },
	};
	size_t i, n;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct proxy_srv_change *c = NULL;
		int r = proxy_runtime_diff(base, t[i].new_cfg, &c, &n);

		if (r != t[i].want)
			fail_msg("case %zu: %d changes, want %d", i, r, t[i].want);
		if (t[i].want == 1) {
			assert_string_equal(c[0].backend, "r_a_http");
			assert_string_equal(c[0].addr, t[i].addr);
			assert_int_equal(c[0].disabled, t[i].disabled);
		}
		free(c);
	}
}

static void
test_parse(void **state __attribute__((unused)))
{
	static const char stat[] =
	    "# pxname,svname,qcur,status,check_status\n"
	    "p1,FRONTEND,,OPEN,\n"
	    "r_a_http,s,0,UP,L4OK\n"
	    "r_b_80,s,0,MAINT,\n"
	    "r_b_80,BACKEND,0,DOWN,\n";
	static const char proc[] =
	    "#<PID>          <type>          <reloads>       <uptime>        <version>\n"
	    "30060           master          3 [failed: 1]   0d00h00m01s     2.6.12\n"
	    "# workers\n30129           worker          0               0d00h00m00s\n";
	struct proxy_server_state *st;
	struct mcp_err err = MCP_ERR_INIT;
	size_t n;
	int r, f;

	assert_int_equal(proxy_parse_stat(stat, &st, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(st[0].backend, "r_a_http");
	assert_string_equal(st[0].status, "UP");
	assert_string_equal(st[0].check, "L4OK");
	assert_string_equal(st[1].status, "MAINT");
	free(st);
	assert_int_equal(proxy_parse_stat("r,s,UP\n", &st, &n, &err), -1);
	assert_int_equal(proxy_parse_reloads(proc, &r, &f), 0);
	assert_int_equal(r, 3);
	assert_int_equal(f, 1);
	assert_int_equal(proxy_parse_reloads("nothing\n", &r, &f), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_haproxy_accepts),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_runtime_diff),
		cmocka_unit_test_teardown(test_driver, driver_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
