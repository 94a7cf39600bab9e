/*
 * tests/unit/test_volumes.c: which host paths a component may mount
 * (lib/agent/volumes.c).  A temp dir holds a root, a sibling whose name
 * extends the root's, an outside directory and symlinks: into the root,
 * out of it, dangling, and a symlink to the root itself.  Paths that do
 * not exist yet are judged by their longest existing prefix.
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

#include "agent/agent.h"

static char dir[PATH_MAX];

static void
mk(const char *rel)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(mkdir(p, 0700), 0);
}

static void
ln(const char *target_rel, const char *rel)
{
	char p[PATH_MAX + 64], t[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	snprintf(t, sizeof(t), "%s/%s", dir, target_rel);
	assert_int_equal(symlink(t, p), 0);
}

static int
setup(void **state)
{
	char tmpl[] = "/tmp/test_volumes.XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	assert_non_null(realpath(tmpl, dir));
	mk("srv");
	mk("srv/a");
	mk("srvx");
	mk("etc");
	ln("etc", "srv/out");		/* leads out of the root */
	ln("srv/a", "srv/in");		/* stays inside */
	ln("nowhere", "srv/dangling");
	ln("srv", "srvlink");		/* the root, by another name */
	return 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int
teardown(void **state)
{
	(void)state;
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
test_under(void **state)
{
	(void)state;
	assert_true(agent_path_under("/srv", "/srv"));
	assert_true(agent_path_under("/srv/x/y", "/srv"));
	assert_false(agent_path_under("/srvx", "/srv"));
	assert_false(agent_path_under("/srvx/y", "/srv"));
	assert_false(agent_path_under("/sr", "/srv"));
	assert_false(agent_path_under("/", "/srv"));
	assert_true(agent_path_under("/etc", "/"));
}

static void
test_resolve(void **state)
{
	static const struct {
		const char *in;		/* relative to dir */
		const char *want;	/* relative to dir; NULL: error */
		const char *errpart;
	} rows[] = {
		{ "srv", "srv", NULL },
		{ "srv/a", "srv/a", NULL },
		{ "srv/a/new/deeper", "srv/a/new/deeper", NULL },	/* not there yet */
		{ "srv/./a//b/", "srv/a/b", NULL },
		{ "srv/out", "etc", NULL },
		{ "srv/out/new", "etc/new", NULL },
		{ "srv/in/x", "srv/a/x", NULL },
		{ "srvlink/b", "srv/b", NULL },
		{ "srv/dangling", NULL, "is a dangling symlink" },
		{ "srv/dangling/x", NULL, "is a dangling symlink" },
		{ "srv/../etc", NULL, "\"..\"" },
		{ "srv/..", NULL, "\"..\"" },
	};
	char in[PATH_MAX + 64], want[PATH_MAX + 64], out[PATH_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct mcp_err err = MCP_ERR_INIT;
		int rc;

		snprintf(in, sizeof(in), "%s/%s", dir, rows[i].in);
		rc = agent_path_resolve(in, out, sizeof(out), &err);
		if (rows[i].want == NULL) {
			if (rc != -1 || strstr(err.msg, rows[i].errpart) == NULL)
				fail_msg("%s: want an error with \"%s\", got %d \"%s\"",
				    rows[i].in, rows[i].errpart, rc, rc ? err.msg : out);
			continue;
		}
		snprintf(want, sizeof(want), "%s/%s", dir, rows[i].want);
		if (rc != 0 || strcmp(out, want) != 0)
			fail_msg("%s: got %d %s (%s), want %s", rows[i].in, rc,
			    rc ? "" : out, err.msg, want);
	}
	assert_int_equal(agent_path_resolve("/", out, sizeof(out),
	    &(struct mcp_err)MCP_ERR_INIT), 0);
	assert_string_equal(out, "/");
	assert_int_equal(agent_path_resolve("relative", out, sizeof(out),
	    &(struct mcp_err)MCP_ERR_INIT), -1);
}

/* One component with one volume at dir/host, checked against the roots. */
static int
check_one(const char *host_rel, const char *const *roots_rel, const char *srv_rel,
    struct mcp_err *err)
{
	char host[PATH_MAX + 64], srv[PATH_MAX + 64], rootbuf[4][PATH_MAX + 64];
	const char *roots[5] = { 0 };
	struct svc_volume v = { host, "/data", "" };
	struct svc_component c = { .name = "web", .volumes = &v, .nvolumes = 1 };
	struct svc_def d = { .name = "svc", .components = &c, .ncomponents = 1 };
	size_t i;

	if (host_rel[0] == '/')
		snprintf(host, sizeof(host), "%s", host_rel);
	else
		snprintf(host, sizeof(host), "%s/%s", dir, host_rel);
	for (i = 0; roots_rel && roots_rel[i] && i < 4; i++) {
		snprintf(rootbuf[i], sizeof(rootbuf[i]), "%s/%s", dir, roots_rel[i]);
		roots[i] = rootbuf[i];
	}
	snprintf(srv, sizeof(srv), "%s/%s", dir, srv_rel);
	return agent_volumes_check(roots, srv, &d, NULL, err);
}

static void
test_volumes_check(void **state)
{
	static const char *const srv[] = { "srv", NULL };
	static const char *const srvlink[] = { "srvlink", NULL };
	static const char *const two[] = { "etc/none", "srvx", NULL };
	static const struct {
		const char *host;
		const char *const *roots;
		const char *srv_root;
		int ok;
	} rows[] = {
		{ "srv/a", srv, "etc/none", 1 },
		{ "srv/a/new", srv, "etc/none", 1 },	/* created later, inside */
		{ "srv", srv, "etc/none", 1 },
		{ "srv/in", srv, "etc/none", 1 },
		{ "srv/out", srv, "etc/none", 0 },	/* symlink out */
		{ "srv/out/new", srv, "etc/none", 0 },
		{ "srvx", srv, "etc/none", 0 },		/* prefix, not a component */
		{ "etc", srv, "etc/none", 0 },
		{ "/", srv, "etc/none", 0 },
		{ "srv/a", srvlink, "etc/none", 1 },	/* root given as a symlink */
		{ "srvlink/a", srv, "etc/none", 1 },	/* path given through one */
		{ "srv/a", NULL, "srv", 1 },		/* srv_root always counts */
		{ "etc", NULL, "srv", 0 },
		{ "srvx/y", two, "srv", 1 },
		{ "srv/q", two, "srv", 1 },
		{ "etc", two, "srv", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct mcp_err err = MCP_ERR_INIT;
		int rc = check_one(rows[i].host, rows[i].roots, rows[i].srv_root, &err);

		if ((rc == 0) != rows[i].ok)
			fail_msg("row %zu (%s): got %d (%s)", i, rows[i].host, rc, err.msg);
		if (rc == -1)
			assert_int_equal(err.code, MCP_E_INVALID);
	}
}

static void
test_message(void **state)
{
	static const char *const srv[] = { "srv", NULL };
	struct mcp_err err = MCP_ERR_INIT;
	char want[4 * PATH_MAX];

	(void)state;
	assert_int_equal(check_one("srv/out/x", srv, "srvx", &err), -1);
	snprintf(want, sizeof(want), "component web: volume %s/srv/out/x:/data: "
	    "host path %s/srv/out/x (resolves to %s/etc/x) is outside the volume "
	    "roots (%s/srv, %s/srvx: [agent] volume_roots and srv_root)",
	    dir, dir, dir, dir, dir);
	assert_string_equal(err.msg, want);
	assert_int_equal(check_one("srv/dangling", srv, "srvx", &err), -1);
	assert_non_null(strstr(err.msg, "component web: volume "));
	assert_non_null(strstr(err.msg, "srv/dangling is a dangling symlink"));
}

/* /srv/<service> is the service's data dir, mapped to <srv_root>/<service>. */
static void
test_volume_host(void **state)
{
	static const struct {
		const char *srv_root, *service, *host, *want;
		int mapped;
	} rows[] = {
		{ "/var/lib/n1/srv", "web", "/srv/web", "/var/lib/n1/srv/web", 1 },
		{ "/var/lib/n1/srv", "web", "/srv/web/db", "/var/lib/n1/srv/web/db", 1 },
		{ "/srv", "web", "/srv/web", "/srv/web", 1 },
		{ "/", "web", "/srv/web/x", "/web/x", 1 },
		{ "/n1", "web", "/srv/webx", "/srv/webx", 0 },	/* another service */
		{ "/n1", "web", "/srv/other", "/srv/other", 0 },
		{ "/n1", "web", "/srv", "/srv", 0 },
		{ "/n1", "web", "/data/web", "/data/web", 0 },
		{ "/n1", "web", "/srvweb", "/srvweb", 0 },
	};
	char out[PATH_MAX], small[8];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(agent_volume_host(rows[i].srv_root, rows[i].service,
		    rows[i].host, out, sizeof(out)), rows[i].mapped);
		assert_string_equal(out, rows[i].want);
	}
	assert_int_equal(agent_volume_host("/a/long/root", "web", "/srv/web",
	    small, sizeof(small)), -1);
}

/* A definition's /srv/<service> volume is checked where it maps to: under
 * srv_root, whatever the volume roots. */
static void
test_volumes_check_mapped(void **state)
{
	struct svc_volume v = { "/srv/web/data", "/data", "" };
	struct svc_component c = { .name = "web", .volumes = &v, .nvolumes = 1 };
	struct svc_def d = { .name = "web", .components = &c, .ncomponents = 1 };
	struct mcp_err err = MCP_ERR_INIT;
	char srv[PATH_MAX + 8];

	(void)state;
	snprintf(srv, sizeof(srv), "%s/srv", dir);
	assert_int_equal(agent_volumes_check(NULL, srv, &d, NULL, &err), 0);
	d.name = "other";	/* not its own data dir: unmapped, outside */
	assert_int_equal(agent_volumes_check(NULL, srv, &d, NULL, &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_under),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_volumes_check),
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_volume_host),
		cmocka_unit_test(test_volumes_check_mapped),
	};

	return cmocka_run_group_tests_name("volumes", tests, setup, teardown);
}
