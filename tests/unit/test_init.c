/*
 * tests/unit/test_init.c: mcp-init's /mcp/config parser (compiled in from
 * cmd/mcp-init/config.c, the same code the guest runs) and its round trip
 * with the writer the image builder uses (lib/image/guestcfg.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../cmd/mcp-init/config.c"
#include "image/image.h"

static int
parse(const char *text, struct initcfg *cfg, char *err, size_t errsz)
{
	return initcfg_parse(text, strlen(text), cfg, err, errsz);
}

static void
test_parse_full(void **state)
{
	const char *text =
	    "# comment\n"
	    "version=1\n"
	    "\n"
	    "arg=/usr/local/bin/hello\n"
	    "arg=--flag=x\n"
	    "arg=\n"
	    "env=PORT=8080\n"
	    "env=A==b\n"
	    "module=/mcp/modules/virtio.ko\n"
	    "module=/mcp/modules/virtio_net.ko\n"
	    "ip=10.0.2.15\n"
	    "netmask=255.255.255.0\n"
	    "gateway=10.0.2.2\n"
	    "hostname=hello\n"
	    "workdir=/srv\n";
	struct initcfg cfg;
	char err[128];

	(void)state;
	assert_int_equal(parse(text, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.argc, 3);
	assert_string_equal(cfg.argv[0], "/usr/local/bin/hello");
	assert_string_equal(cfg.argv[1], "--flag=x");
	assert_string_equal(cfg.argv[2], "");
	assert_null(cfg.argv[3]);
	assert_int_equal(cfg.nenv, 2);
	assert_string_equal(cfg.env[1], "A==b");
	assert_null(cfg.env[2]);
	assert_int_equal(cfg.nmodules, 2);
	assert_string_equal(cfg.modules[1], "/mcp/modules/virtio_net.ko");
	assert_string_equal(cfg.ifname, "eth0");
	assert_string_equal(cfg.ip, "10.0.2.15");
	assert_string_equal(cfg.netmask, "255.255.255.0");
	assert_string_equal(cfg.gateway, "10.0.2.2");
	assert_string_equal(cfg.hostname, "hello");
	assert_string_equal(cfg.workdir, "/srv");
	initcfg_free(&cfg);
}

static void
test_parse_minimal_no_trailing_newline(void **state)
{
	struct initcfg cfg;
	char err[128];

	(void)state;
	assert_int_equal(parse("arg=/app", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.argc, 1);
	assert_int_equal(cfg.nenv, 0);
	assert_null(cfg.env);
	assert_null(cfg.ip);
	initcfg_free(&cfg);
}

static void
test_parse_escapes(void **state)
{
	struct initcfg cfg;
	char err[128];

	(void)state;
	assert_int_equal(parse("arg=/a\narg=two\\nlines \\\\ back\n", &cfg, err,
	    sizeof(err)), 0);
	assert_string_equal(cfg.argv[1], "two\nlines \\ back");
	initcfg_free(&cfg);
	assert_int_equal(parse("arg=/a\narg=bad\\t\n", &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "line 2: bad escape");
}

static void
test_parse_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "", "no arg lines (nothing to run)" },
		{ "arg=relative\n", "line 1: arg 0 must be an absolute path" },
		{ "arg=/a\nfoo=bar\n", "line 2: unknown key \"foo\"" },
		{ "arg=/a\nnoequals\n", "line 2: expected key=value" },
		{ "arg=/a\n=x\n", "line 2: expected key=value" },
		{ "arg=/a\nenv=NOVALUE\n", "line 2: env wants KEY=VALUE" },
		{ "arg=/a\nenv==x\n", "line 2: env wants KEY=VALUE" },
		{ "arg=/a\nip=10.0.2\nnetmask=255.0.0.0\n", "line 2: bad ip value" },
		{ "arg=/a\nip=10.0.2.15\n", "ip and netmask go together" },
		{ "arg=/a\ngateway=10.0.2.2\n", "gateway without ip" },
		{ "arg=/a\nhostname=a\nhostname=b\n", "line 3: hostname given twice" },
		{ "arg=/a\nversion=2\n", "line 2: unsupported version" },
		{ "arg=/a\nmodule=\n", "line 2: empty module path" },
		{ "arg=/a\nifname=abcdefghijklmnop\n", "ifname longer than 15 bytes" },
	};
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct initcfg cfg;

		assert_int_equal(parse(cases[i].text, &cfg, err, sizeof(err)), -1);
		assert_string_equal(err, cases[i].want);
		assert_null(cfg.argv);	/* left empty on failure */
	}
}

static void
test_parse_nul_byte(void **state)
{
	static const char text[] = "arg=/a\narg=x\0y\n";
	struct initcfg cfg;
	char err[128];

	(void)state;
	assert_int_equal(initcfg_parse(text, sizeof(text) - 1, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "line 2: NUL byte");
}

/* The builder's writer and the guest's parser agree. */
static void
test_roundtrip_with_writer(void **state)
{
	const char *argv[] = { "/usr/local/bin/hello", "serve", "a\nb\\c", "", NULL };
	const char *env[] = { "PORT=8080", "PATH=/bin", "X=with = signs", NULL };
	const char *mods[] = { "/mcp/modules/virtio_ring.ko", "/mcp/modules/evdev.ko", NULL };
	struct guestcfg g = {
		.argv = argv, .env = env, .modules = mods, .ip = "10.0.2.15",
		.netmask = "255.255.255.0", .gateway = "10.0.2.2", .hostname = "hello",
		.workdir = "/srv/hello",
	};
	struct buf out = BUF_INIT;
	struct mcp_err e = MCP_ERR_INIT;
	struct initcfg cfg;
	char err[128];

	(void)state;
	assert_int_equal(guestcfg_format(&g, &out, &e), 0);
	assert_int_equal(initcfg_parse(out.data, out.len, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.argc, 4);
	for (size_t i = 0; argv[i]; i++)
		assert_string_equal(cfg.argv[i], argv[i]);
	for (size_t i = 0; env[i]; i++)
		assert_string_equal(cfg.env[i], env[i]);
	assert_int_equal(cfg.nmodules, 2);
	assert_string_equal(cfg.modules[1], mods[1]);
	assert_string_equal(cfg.gateway, "10.0.2.2");
	assert_string_equal(cfg.workdir, "/srv/hello");
	assert_string_equal(cfg.ifname, "eth0");
	initcfg_free(&cfg);
	buf_free(&out);
}

static void
test_writer_refuses(void **state)
{
	const char *rel[] = { "hello", NULL };
	const char *ok[] = { "/hello", NULL };
	const char *badenv[] = { "NOEQUALS", NULL };
	struct guestcfg g = { .argv = rel };
	struct buf out = BUF_INIT;
	struct mcp_err e = MCP_ERR_INIT;

	(void)state;
	assert_int_equal(guestcfg_format(&g, &out, &e), -1);
	assert_int_equal(e.code, MCP_E_INVALID);
	g.argv = ok;
	g.env = badenv;
	assert_int_equal(guestcfg_format(&g, &out, &e), -1);
	assert_non_null(strstr(e.msg, "NOEQUALS"));
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_minimal_no_trailing_newline),
		cmocka_unit_test(test_parse_escapes),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_nul_byte),
		cmocka_unit_test(test_roundtrip_with_writer),
		cmocka_unit_test(test_writer_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
