/*
 * tests/unit/test_dns.c: the pure parts of the master's DNS client
 * (lib/dns): which names lie in the zone (label boundary, case, trailing
 * dots), the configuration checks of dns_client_new (a table: one field
 * wrong per row, the message naming it, the secret never printed), the
 * TSIG secret checks and the key-file reader, the rcode mapping, and the
 * name/address checks dns_set_a makes before it sends anything.  The
 * updates themselves run against a real knot in
 * tests/integration/dns_client.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns/dns.h"

/* 32 bytes, as keymgr -t NAME hmac-sha256 prints */
#define SECRET "f8bdvgUib5tJ3I2i8Rmxi2q16ydYWPMUBSjOF4e62SU="

static void
test_name_in_zone(void **state)
{
	static const struct {
		const char *name, *zone;
		int want;
	} t[] = {
		{ "hello.svc.mcp.example.net", "svc.mcp.example.net", 1 },
		{ "a.b.svc.mcp.example.net", "svc.mcp.example.net", 1 },
		{ "svc.mcp.example.net", "svc.mcp.example.net", 1 },
		/* label boundary */
		{ "evilsvc.mcp.example.net", "svc.mcp.example.net", 0 },
		{ "hello.evilsvc.mcp.example.net", "svc.mcp.example.net", 0 },
		{ "mcp.example.net", "svc.mcp.example.net", 0 },
		{ "svc.mcp.example.net.evil.com", "svc.mcp.example.net", 0 },
		{ "evilsvc.test", "svc.test", 0 },
		{ "a.svc.test", "svc.test", 1 },
		/* case-insensitive */
		{ "Hello.SVC.test", "svc.test", 1 },
		{ "hello.svc.test", "SVC.Test", 1 },
		/* one trailing dot on either side is ignored */
		{ "hello.svc.test.", "svc.test", 1 },
		{ "hello.svc.test", "svc.test.", 1 },
		{ "hello.svc.test.", "svc.test.", 1 },
		{ "svc.test.", "svc.test", 1 },
		{ "evilsvc.test.", "svc.test.", 0 },
		/* but not two */
		{ "hello.svc.test..", "svc.test", 0 },
		/* empty and root match nothing; a ".zone" pattern is no zone */
		{ "", "svc.test", 0 },
		{ "hello.svc.test", "", 0 },
		{ ".", "svc.test", 0 },
		{ "hello.svc.test", ".", 0 },
		{ "a.svc.test", ".svc.test", 0 },
		{ "", "", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (dns_name_in_zone(t[i].name, t[i].zone) != t[i].want)
			fail_msg("dns_name_in_zone(\"%s\", \"%s\") != %d",
			    t[i].name, t[i].zone, t[i].want);
	assert_int_equal(dns_name_in_zone(NULL, "svc.test"), 0);
	assert_int_equal(dns_name_in_zone("a.svc.test", NULL), 0);
}

static struct dns_config
good_config(void)
{
	struct dns_config c = { "10.0.0.53", 53, "svc.mcp.example.net",
	    "mcp-master", "hmac-sha256", SECRET, 60, 2000 };

	return c;
}

enum field { F_NONE, F_SERVER, F_PORT, F_ZONE, F_KEY, F_ALG, F_SECRET,
	F_TTL, F_TIMEOUT };

static void
test_config(void **state)
{
	static const struct {
		enum field f;
		const char *s;	/* the string value, for string fields */
		int n;		/* the number, for number fields */
		const char *want;	/* NULL: accepted; else in the message */
	} t[] = {
		{ F_NONE, NULL, 0, NULL },
		/* server: an address, v4 or v6, never a name */
		{ F_SERVER, "127.0.0.1", 0, NULL },
		{ F_SERVER, "::1", 0, NULL },
		{ F_SERVER, "fd00::53", 0, NULL },
		{ F_SERVER, "ns.example.net", 0, "server \"ns.example.net\" is not an IP address" },
		{ F_SERVER, "10.0.0", 0, "server \"10.0.0\" is not an IP address" },
		{ F_SERVER, "10.0.0.53:53", 0, "is not an IP address" },
		{ F_SERVER, "", 0, "dns: server is not set" },
		{ F_SERVER, NULL, 0, "dns: server is not set" },
		/* port: 0 is the default */
		{ F_PORT, NULL, 0, NULL },
		{ F_PORT, NULL, 65535, NULL },
		{ F_PORT, NULL, -1, "port -1 is not in 1..65535" },
		{ F_PORT, NULL, 65536, "port 65536 is not in 1..65535" },
		/* zone and key: hostnames, one trailing dot tolerated */
		{ F_ZONE, "svc.test.", 0, NULL },
		{ F_ZONE, "test", 0, NULL },
		{ F_ZONE, "Svc.Test", 0, "zone \"Svc.Test\" may only contain lowercase" },
		{ F_ZONE, "svc..test", 0, "zone \"svc..test\" has an empty label" },
		{ F_ZONE, "svc.test..", 0, "has an empty label" },
		{ F_ZONE, ".svc.test", 0, "has an empty label" },
		{ F_ZONE, "svc_test", 0, "may only contain lowercase" },
		{ F_ZONE, "10.0.0.53", 0, "ends in a numeric label" },
		{ F_ZONE, "", 0, "dns: zone is not set" },
		{ F_ZONE, NULL, 0, "dns: zone is not set" },
		{ F_KEY, "mcp-master.", 0, NULL },
		{ F_KEY, "mcp master", 0, "TSIG key name \"mcp master\" may only contain" },
		{ F_KEY, "-key", 0, "label starting with '-'" },
		{ F_KEY, NULL, 0, "TSIG key name is not set" },
		/* algorithm */
		{ F_ALG, NULL, 0, NULL },
		{ F_ALG, "", 0, NULL },
		{ F_ALG, "HMAC-SHA256", 0, NULL },
		{ F_ALG, "hmac-sha512", 0, NULL },
		{ F_ALG, "hmac-md5", 0, "TSIG algorithm \"hmac-md5\" is not supported" },
		{ F_ALG, "hmac-sha1", 0, "is not supported" },
		{ F_ALG, "hmac-sha256.", 0, "is not supported" },
		/* the secret: named by its key, never printed */
		{ F_SECRET, "AAAAAAAAAAAAAAAAAAAAAA==", 0, NULL },
		{ F_SECRET, "", 0, "TSIG secret of key mcp-master is empty" },
		{ F_SECRET, NULL, 0, "TSIG secret is not set" },
		{ F_SECRET, "not base64!", 0, "TSIG secret of key mcp-master is not base64" },
		{ F_SECRET, "AAAA", 0, "is shorter than 16 bytes" },
		{ F_SECRET, "AAAAAAAAAAAAAAAAAAAAAA=", 0, "its length is not a multiple of 4" },
		{ F_SECRET, "AAAAAAAAAAAAAAAAAAAA=AAA", 0, "is not base64" },
		{ F_SECRET, "AAAAAAAAAAAAAAAAAAAAAAAA ", 0, "is not base64" },
		/* ttl and timeout: 0 is the default */
		{ F_TTL, NULL, 0, NULL },
		{ F_TTL, NULL, 86400, NULL },
		{ F_TTL, NULL, -5, "ttl -5 is not in 1..86400" },
		{ F_TTL, NULL, 86401, "ttl 86401 is not in 1..86400" },
		{ F_TIMEOUT, NULL, 0, NULL },
		{ F_TIMEOUT, NULL, 10, NULL },
		{ F_TIMEOUT, NULL, 9, "timeout 9 ms is not in 10..60000" },
		{ F_TIMEOUT, NULL, 60001, "is not in 10..60000" },
		{ F_TIMEOUT, NULL, -1, "timeout -1 ms" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct mcp_err err = MCP_ERR_INIT;
		struct dns_config cfg = good_config();
		struct dns_client *c;

		switch (t[i].f) {
		case F_NONE: break;
		case F_SERVER: cfg.server = t[i].s; break;
		case F_PORT: cfg.port = t[i].n; break;
		case F_ZONE: cfg.zone = t[i].s; break;
		case F_KEY: cfg.key_name = t[i].s; break;
		case F_ALG: cfg.algorithm = t[i].s; break;
		case F_SECRET: cfg.secret = t[i].s; break;
		case F_TTL: cfg.ttl = t[i].n; break;
		case F_TIMEOUT: cfg.timeout_ms = t[i].n; break;
		}
		c = dns_client_new(&cfg, &err);
		if (!t[i].want) {
			if (!c)
				fail_msg("row %zu refused: %s", i, err.msg);
			dns_client_free(c);
			continue;
		}
		if (c)
			fail_msg("row %zu accepted (wanted \"%s\")", i, t[i].want);
		if (err.code != MCP_E_INVALID || !strstr(err.msg, t[i].want))
			fail_msg("row %zu: code %d \"%s\", wanted \"%s\"", i,
			    err.code, err.msg, t[i].want);
		if (t[i].f == F_SECRET && t[i].s && *t[i].s &&
		    strstr(err.msg, t[i].s))
			fail_msg("row %zu: the message prints the secret: %s", i,
			    err.msg);
	}
}

static void
test_server_label(void **state)
{
	static const struct {
		const char *server;
		int port;
		const char *want;
	} t[] = {
		{ "10.0.0.53", 0, "10.0.0.53:53" },
		{ "127.0.0.1", 5353, "127.0.0.1:5353" },
		{ "::1", 0, "[::1]:53" },
		{ "fd00::53", 8053, "[fd00::53]:8053" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct mcp_err err = MCP_ERR_INIT;
		struct dns_config cfg = good_config();
		struct dns_client *c;

		cfg.server = t[i].server;
		cfg.port = t[i].port;
		c = dns_client_new(&cfg, &err);
		assert_non_null(c);
		assert_string_equal(dns_client_server(c), t[i].want);
		dns_client_free(c);
	}
}

/* dns_set_a / dns_delete_a refuse bad names and addresses before sending:
 * the server here is a port nothing answers on, so a check that let one
 * through would come back UNAVAILABLE, not INVALID. */
static void
test_checked_before_sending(void **state)
{
	static const struct {
		const char *name, *ipv4;	/* ipv4 NULL: delete */
		const char *want;
	} t[] = {
		{ "evilsvc.test", "10.0.0.2", "name evilsvc.test is not in zone svc.test" },
		{ "svc.test.evil.net", "10.0.0.2", "is not in zone svc.test" },
		{ "a.evilsvc.test", NULL, "name a.evilsvc.test is not in zone svc.test" },
		{ "Hello.svc.test", "10.0.0.2", "name \"Hello.svc.test\" may only contain lowercase" },
		{ "a..svc.test", NULL, "has an empty label" },
		{ "", NULL, "is empty" },
		{ ".", "10.0.0.2", "is empty" },
		{ "a_b.svc.test", "10.0.0.2", "may only contain lowercase" },
		{ "a.svc.test", "10.0.0", "address \"10.0.0\" for a.svc.test is not an IPv4 address" },
		{ "a.svc.test", "10.0.0.256", "is not an IPv4 address" },
		{ "a.svc.test", "::1", "is not an IPv4 address" },
		{ "a.svc.test", " 10.0.0.2", "is not an IPv4 address" },
		{ "a.svc.test", "", "is not an IPv4 address" },
	};
	struct dns_config cfg = good_config();
	struct dns_client *c;
	struct mcp_err err = MCP_ERR_INIT;
	size_t i;

	(void)state;
	cfg.server = "127.0.0.1";
	cfg.port = 9;
	cfg.zone = "svc.test";
	cfg.timeout_ms = 10;
	c = dns_client_new(&cfg, &err);
	assert_non_null(c);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc;

		mcp_err_clear(&err);
		rc = t[i].ipv4 ? dns_set_a(c, t[i].name, t[i].ipv4, &err) :
		    dns_delete_a(c, t[i].name, &err);
		if (rc != -1 || err.code != MCP_E_INVALID ||
		    !strstr(err.msg, t[i].want))
			fail_msg("row %zu (%s): rc %d code %d \"%s\", wanted \"%s\"",
			    i, t[i].name, rc, err.code, err.msg, t[i].want);
	}
	/* and a good one does go out: nothing answers on port 9 */
	mcp_err_clear(&err);
	assert_int_equal(dns_set_a(c, "a.svc.test.", "10.0.0.2", &err), -1);
	assert_int_equal(err.code, MCP_E_UNAVAILABLE);
	assert_non_null(strstr(err.msg, "DNS server 127.0.0.1:9 did not answer "
	    "the update for a.svc.test within 10 ms"));
	dns_client_free(c);
}

static void
test_check_secret(void **state)
{
	static const struct {
		const char *s;
		int ok;
	} t[] = {
		{ SECRET, 1 },
		{ "AAAAAAAAAAAAAAAAAAAAAA==", 1 },	/* 16 bytes */
		{ "AAAAAAAAAAAAAAAAAAAAAAA=", 1 },	/* 17 bytes */
		{ "AAAAAAAAAAAAAAAAAAAAAAAA", 1 },	/* 18 bytes */
		{ "+/+/+/+/+/+/+/+/+/+/+/+/", 1 },
		{ "AAAAAAAAAAAAAAAAAAAA", 0 },		/* 15 bytes */
		{ "", 0 },
		{ "AAAAAAAAAAAAAAAAAAAAAA=", 0 },
		{ "AAAAAAAAAAAAAAAAAAAAA===", 0 },
		{ "AAAAAAAAAAAAAAAAAAAAAA=A", 0 },
		{ "AAAAAAAAAAAAAAAAAAAAAA-_", 0 },	/* base64url */
		{ "AAAAAAAAAAAA AAAAAAAAAAA", 0 },
		{ "AAAAAAAAAAAAAAAAAAAAAAAA\n", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if ((dns_check_secret(t[i].s) == NULL) != t[i].ok)
			fail_msg("dns_check_secret(\"%s\"): %s, wanted %s", t[i].s,
			    dns_check_secret(t[i].s) ? dns_check_secret(t[i].s) :
			    "ok", t[i].ok ? "ok" : "refused");
}

static void
test_secret_parse(void **state)
{
	static const struct {
		const char *text, *want;	/* want NULL: none found */
	} t[] = {
		/* keymgr -t mcp-master hmac-sha256 */
		{ "# hmac-sha256:mcp-master:" SECRET "\nkey:\n  - id: mcp-master\n"
		  "    algorithm: hmac-sha256\n    secret: " SECRET "\n", SECRET },
		{ SECRET "\n", SECRET },
		{ SECRET, SECRET },
		{ "  " SECRET "  \r\n\n", SECRET },
		{ "# a comment\n\n" SECRET "\n", SECRET },
		{ "secret: \"" SECRET "\"\n", SECRET },
		{ "secret:" SECRET, SECRET },
		{ "one\ntwo\n", NULL },
		{ "", NULL },
		{ "\n\n# only a comment\n", NULL },
		{ "key:\n  - id: k\n    algorithm: hmac-sha256\n", NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *text = strdup(t[i].text);
		const char *got = dns_secret_parse(text);

		if (!t[i].want ? got != NULL : !got || strcmp(got, t[i].want))
			fail_msg("row %zu: got \"%s\", wanted \"%s\"", i,
			    got ? got : "(none)", t[i].want ? t[i].want : "(none)");
		free(text);
	}
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
test_secret_read(void **state)
{
	char dir[] = "/tmp/mcp-test-dns.XXXXXX", path[256], link[256], sub[256];
	char out[128], small[8];
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/key", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);

	write_file(path, "key:\n  - id: m\n    secret: " SECRET "\n", 0600);
	assert_int_equal(dns_secret_read(path, out, sizeof(out), &err), 0);
	assert_string_equal(out, SECRET);

	/* too small a buffer */
	assert_int_equal(dns_secret_read(path, small, sizeof(small), &err), -1);
	assert_int_equal(err.code, MCP_E_RANGE);

	/* readable by others: refused, naming the mode */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(dns_secret_read(path, out, sizeof(out), &err), -1);
	assert_int_equal(err.code, MCP_E_PERM);
	assert_non_null(strstr(err.msg, "readable or writable by others (mode 0644"));
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(dns_secret_read(path, out, sizeof(out), &err), -1);
	assert_int_equal(err.code, MCP_E_PERM);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(dns_secret_read(path, out, sizeof(out), &err), 0);

	/* a symlink is not followed */
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(dns_secret_read(link, out, sizeof(out), &err), -1);
	assert_non_null(strstr(err.msg, link));

	/* missing, a directory, garbage, a short key: each said */
	unlink(path);
	assert_int_equal(dns_secret_read(path, out, sizeof(out), &err), -1);
	assert_non_null(strstr(err.msg, "No such file"));
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(dns_secret_read(sub, out, sizeof(out), &err), -1);
	assert_non_null(strstr(err.msg, "is not a regular file"));
	write_file(path, "one\ntwo\n", 0600);
	assert_int_equal(dns_secret_read(path, out, sizeof(out), &err), -1);
	assert_non_null(strstr(err.msg, "neither a \"secret:\" line"));
	write_file(path, "secret: AAAA\n", 0600);
	assert_int_equal(dns_secret_read(path, out, sizeof(out), &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_non_null(strstr(err.msg, "is shorter than 16 bytes"));

	unlink(path);
	unlink(link);
	rmdir(sub);
	rmdir(dir);
}

static void
test_rcode_code(void **state)
{
	static const struct {
		int rcode, code;
	} t[] = {
		{ 0, MCP_OK },			/* NOERROR */
		{ 1, MCP_E_INTERNAL },		/* FORMERR */
		{ 2, MCP_E_INTERNAL },		/* SERVFAIL */
		{ 3, MCP_E_INTERNAL },		/* NXDOMAIN */
		{ 4, MCP_E_INTERNAL },		/* NOTIMP */
		{ 5, MCP_E_PERM },		/* REFUSED */
		{ 6, MCP_E_INTERNAL },		/* YXDOMAIN */
		{ 8, MCP_E_INTERNAL },		/* NXRRSET */
		{ 9, MCP_E_PERM },		/* NOTAUTH */
		{ 10, MCP_E_INVALID },		/* NOTZONE */
		{ 15, MCP_E_INTERNAL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (dns_rcode_code(t[i].rcode) != t[i].code)
			fail_msg("dns_rcode_code(%d) = %d, wanted %d", t[i].rcode,
			    dns_rcode_code(t[i].rcode), t[i].code);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_in_zone),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_server_label),
		cmocka_unit_test(test_checked_before_sending),
		cmocka_unit_test(test_check_secret),
		cmocka_unit_test(test_secret_parse),
		cmocka_unit_test(test_secret_read),
		cmocka_unit_test(test_rcode_code),
	};

	return cmocka_run_group_tests_name("dns", tests, NULL, NULL);
}
