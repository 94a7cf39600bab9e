/*
 * tests/unit/test_proxy.c: the node proxy renderer (lib/proxy/render.c).
 * Golden files: each case renders a set of rows and compares every file
 * with tests/unit/golden/proxy/<case>/<file> (MCP_UPDATE_GOLDEN=1 rewrites
 * them; review the diff).  Then the same rows, rendered into a scratch
 * directory with real certificates, must pass `haproxy -c`: the golden
 * text is not only stable but a configuration HAProxy accepts.  Refusals
 * (duplicate hostname on a port, bad rows) are a table.
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

#include "pki/pki.h"
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

/* Every golden case, rendered for a scratch dir with real certificates,
 * passes `haproxy -c`. */
static void
test_haproxy_accepts(void **state __attribute__((unused)))
{
	char dir[] = "/tmp/test_proxy.XXXXXX", path[PATH_MAX], ca[PATH_MAX];
	struct mcp_err err = MCP_ERR_INIT;
	struct buf crt = BUF_INIT, key = BUF_INIT;
	size_t i, j, k;

	if (access("/usr/sbin/haproxy", X_OK) != 0)
		fail_msg("haproxy is not installed (scripts/setup.sh installs it)");
	assert_non_null(mkdtemp(dir));
	snprintf(ca, sizeof(ca), "%s/ca", dir);
	assert_int_equal(pki_ca_init(ca, &err), 0);
	assert_int_equal(pki_issue(ca, "proxy", NULL, NULL, &err), 0);
	snprintf(path, sizeof(path), "%s/proxy.crt", ca);
	assert_int_equal(file_read(path, &crt, 1 << 20, &err), 0);
	snprintf(path, sizeof(path), "%s/proxy.key", ca);
	assert_int_equal(file_read(path, &key, 1 << 20, &err), 0);
	buf_append(&crt, key.data, key.len);
	snprintf(path, sizeof(path), "%s/certs", dir);
	assert_int_equal(file_mkdirs(path, 0700, &err), 0);
	snprintf(ca, sizeof(ca), "%s/ca/ca.crt", dir);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct gcase *c = &cases[i];
		struct proxy_settings s;
		struct proxy_files out;
		struct spawn_result res;
		char cfg[PATH_MAX];
		const char *argv[] = { "/usr/sbin/haproxy", "-c", "-q", "-f", cfg, NULL };

		settings(&s, dir, ca, 0);
		assert_int_equal(proxy_render(&s, c->routes, c->nroutes, c->edges,
		    c->nedges, &out, &err), 0);
		for (j = 0; j < out.n; j++) {
			snprintf(path, sizeof(path), "%s/%s", dir, out.files[j].name);
			assert_int_equal(file_write_atomic(path, out.files[j].text.data ?
			    out.files[j].text.data : "", out.files[j].text.len, 0600, &err), 0);
		}
		for (j = 0; j < c->nroutes; j++)
			for (k = 0; k < c->routes[j].nhostnames; k++) {
				snprintf(path, sizeof(path), "%s/certs/%s.pem", dir,
				    c->routes[j].hostnames[k]);
				assert_int_equal(file_write_atomic(path, crt.data, crt.len,
				    0600, &err), 0);
			}
		for (j = 0; j < c->nedges; j++) {
			snprintf(path, sizeof(path), "%s/certs/%s.pem", dir,
			    c->edges[j].hostname);
			assert_int_equal(file_write_atomic(path, crt.data, crt.len, 0600,
			    &err), 0);
		}
		snprintf(cfg, sizeof(cfg), "%s/haproxy.cfg", dir);
		assert_int_equal(spawn_run(argv, NULL, &res, &err), 0);
		if (res.status != 0)
			fail_msg("%s: haproxy -c: %s%s", c->name, res.out.data ?
			    res.out.data : "", res.errout.data ? res.errout.data : "");
		spawn_result_free(&res);
		proxy_files_free(&out);
	}
	buf_free(&crt);
	buf_free(&key);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_haproxy_accepts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
