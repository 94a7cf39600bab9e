/*
 * tests/unit/test_service.c: service definitions (SPEC §2, lib/service):
 * a full definition loads with every field and default as written, and
 * every refusal names FILE:LINE:COL, the key and the reason.
 *
 * Refusal cases are tables of TOML fragments appended to a small valid
 * base; each row gives the line the error must point at and two pieces of
 * text the message must contain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/check.h"
#include "service/service.h"
#include "util/buf.h"

#define UNUSED __attribute__((unused))
#define FILE_NAME "hello.toml"

/* Base documents; the line the next appended fragment starts on is noted. */
#define HDR	"name = \"svc\"\n"			/* 1; next: 2 */
#define COMP	"[[components]]\n"			/* 2 */ \
		"name = \"web\"\n"			/* 3 */ \
		"image = \"reg.example:5000/web:v1\"\n"	/* 4; next: 5 */
#define ROUTE	"[[components.routes]]\n"		/* 5; next: 6 */
#define SNAP	"[snapshot]\n"				/* 5; next: 6 */

struct refusal {
	const char *toml;
	int line;
	const char *want1, *want2;
};

static struct svc_def *
parse_ok(const char *text)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct svc_def *def = NULL;

	if (svc_parse(text, strlen(text), FILE_NAME, &def, &err) != 0)
		fail_msg("refused: %s\n--- input:\n%s", err.msg, text);
	assert_non_null(def);
	return def;
}

/* Parse text; it must fail at line with a message containing want1 and want2. */
static void
refuse(int src_line, const char *text, int line, const char *want1,
    const char *want2)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct svc_def *def = (struct svc_def *)1;
	char prefix[64];
	int rc;

	rc = svc_parse(text, strlen(text), FILE_NAME, &def, &err);
	if (rc != -1) {
		svc_free(def);
		fail_msg("test line %d: accepted\n--- input:\n%s", src_line, text);
	}
	assert_null(def);
	snprintf(prefix, sizeof(prefix), FILE_NAME ":%d:", line);
	if (err.code != MCP_E_INVALID ||
	    strncmp(err.msg, prefix, strlen(prefix)) != 0 ||
	    (want1 && !strstr(err.msg, want1)) ||
	    (want2 && !strstr(err.msg, want2)))
		fail_msg("test line %d: wanted code %d, \"%s...\" with \"%s\" "
		    "and \"%s\"; got code %d: %s\n--- input:\n%s", src_line,
		    MCP_E_INVALID, prefix, want1 ? want1 : "",
		    want2 ? want2 : "", err.code, err.msg, text);
}

#define REFUSE(text, line, w1, w2) refuse(__LINE__, text, line, w1, w2)

static void
refuse_table(const char *base, const char *tail, const struct refusal *t,
    size_t n)
{
	char text[4096];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "%s%s%s", base, t[i].toml, tail);
		refuse((int)i, text, t[i].line, t[i].want1, t[i].want2);
	}
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * SPEC §2's example, with realistic values.  The spec's single component
 * sets both runtime = "unikernel" and user (container only), so here the
 * user lives on a second, container component.
 */
static const char full_example[] =
	"# services/hello.toml\n"
	"name    = \"hello\"\n"
	"node    = \"local\"\n"
	"tier    = \"core\"\n"
	"active  = false\n"
	"runtime = \"container\"\n"
	"\n"
	"[[components]]\n"
	"name      = \"hello\"\n"
	"image     = \"127.0.0.1:5000/hello:v1.0.0\"\n"
	"runtime   = \"unikernel\"\n"
	"memory_mb = 128\n"
	"vcpus     = 2\n"
	"network   = \"user\"\n"
	"volumes   = [\"/srv/hello:/srv/hello\"]\n"
	"cmd       = [\"serve\", \"--config\", \"/srv/hello/hello.toml\"]\n"
	"env       = [\"LOG_LEVEL=info\", \"GREETING=hello, world\"]\n"
	"restart   = \"always\"\n"
	"\n"
	"[[components.routes]]\n"
	"name     = \"http\"\n"
	"port     = 8443\n"
	"mode     = \"l7\"\n"
	"hostname = \"hello.example.net\"\n"
	"public   = true\n"
	"\n"
	"[[components.routes]]\n"
	"name     = \"grpc-web\"\n"
	"port     = 9443\n"
	"\n"
	"[[components]]\n"
	"name      = \"worker\"\n"
	"image     = \"registry.example.net/hello/worker:2024.06.1-rc_2\"\n"
	"memory_mb = 512\n"
	"volumes   = [\"/srv/hello/queue:/var/lib/queue:rw,Z\", "
	    "\"/etc/ssl/certs:/etc/ssl/certs:ro\"]\n"
	"cmd       = [\"work\"]\n"
	"user      = \"1000:1000\"\n"
	"restart   = \"on-failure\"\n"
	"\n"
	"[[components.routes]]\n"
	"port = 9090\n"
	"\n"
	"[snapshot]\n"
	"method  = \"grpc\"\n"
	"exclude = [\"cache/\", \"tmp/sockets\"]\n";

static void
test_full_example(void **state UNUSED)
{
	struct svc_def *d = parse_ok(full_example);
	const struct svc_component *c;
	const struct svc_route *r;
	char env[64];

	assert_string_equal(d->name, "hello");
	assert_string_equal(d->node, "local");
	assert_string_equal(d->tier, "core");
	assert_int_equal(d->active, 0);
	assert_string_equal(d->runtime, "container");
	assert_int_equal(d->ncomponents, 2);

	c = &d->components[0];
	assert_string_equal(c->name, "hello");
	assert_string_equal(c->image, "127.0.0.1:5000/hello:v1.0.0");
	assert_string_equal(svc_image_tag(c->image), "v1.0.0");
	assert_string_equal(c->runtime, "unikernel");
	assert_int_equal(c->memory_mb, 128);
	assert_int_equal(c->vcpus, 2);
	assert_string_equal(c->network, "user");
	assert_int_equal(c->nvolumes, 1);
	assert_string_equal(c->volumes[0].host, "/srv/hello");
	assert_string_equal(c->volumes[0].guest, "/srv/hello");
	assert_string_equal(c->volumes[0].opts, "");
	assert_int_equal(c->ncmd, 3);
	assert_string_equal(c->cmd[0], "serve");
	assert_string_equal(c->cmd[1], "--config");
	assert_string_equal(c->cmd[2], "/srv/hello/hello.toml");
	assert_null(c->cmd[3]);
	assert_int_equal(c->nenv, 2);
	assert_string_equal(c->env[0], "LOG_LEVEL=info");
	assert_string_equal(c->env[1], "GREETING=hello, world");
	assert_null(c->env[2]);
	assert_string_equal(c->user, "");
	assert_string_equal(c->restart, "always");
	assert_int_equal(c->nroutes, 2);
	r = &c->routes[0];
	assert_string_equal(r->name, "http");
	assert_int_equal(r->port, 8443);
	assert_string_equal(r->mode, "l7");
	assert_string_equal(r->hostname, "hello.example.net");
	assert_int_equal(r->public, 1);
	svc_port_env_name(env, sizeof(env), c, r);
	assert_string_equal(env, "PORT_HTTP");
	r = &c->routes[1];
	assert_string_equal(r->name, "grpc-web");
	assert_int_equal(r->port, 9443);
	assert_string_equal(r->mode, "l4");
	assert_string_equal(r->hostname, "");
	assert_int_equal(r->public, 0);
	svc_port_env_name(env, sizeof(env), c, r);
	assert_string_equal(env, "PORT_GRPC_WEB");

	c = &d->components[1];
	assert_string_equal(c->name, "worker");
	assert_string_equal(c->image,
	    "registry.example.net/hello/worker:2024.06.1-rc_2");
	assert_string_equal(c->runtime, "container");	/* inherited */
	assert_int_equal(c->memory_mb, 512);
	assert_int_equal(c->vcpus, 1);			/* default */
	assert_string_equal(c->network, "");
	assert_int_equal(c->nvolumes, 2);
	assert_string_equal(c->volumes[0].host, "/srv/hello/queue");
	assert_string_equal(c->volumes[0].guest, "/var/lib/queue");
	assert_string_equal(c->volumes[0].opts, "rw,Z");
	assert_string_equal(c->volumes[1].host, "/etc/ssl/certs");
	assert_string_equal(c->volumes[1].guest, "/etc/ssl/certs");
	assert_string_equal(c->volumes[1].opts, "ro");
	assert_int_equal(c->ncmd, 1);
	assert_string_equal(c->cmd[0], "work");
	assert_int_equal(c->nenv, 0);
	assert_non_null(c->env);
	assert_null(c->env[0]);
	assert_string_equal(c->user, "1000:1000");
	assert_string_equal(c->restart, "on-failure");
	assert_int_equal(c->nroutes, 1);
	r = &c->routes[0];
	assert_string_equal(r->name, "");
	assert_int_equal(r->port, 9090);
	assert_string_equal(r->mode, "l4");
	assert_string_equal(r->hostname, "");
	assert_int_equal(r->public, 0);
	svc_port_env_name(env, sizeof(env), c, r);
	assert_string_equal(env, "PORT");

	assert_string_equal(d->snapshot_method, "grpc");
	assert_int_equal(d->nexclude, 2);
	assert_string_equal(d->snapshot_exclude[0], "cache/");
	assert_string_equal(d->snapshot_exclude[1], "tmp/sockets");
	assert_null(d->snapshot_exclude[2]);
	svc_free(d);
}

/* The example exactly as SPEC §2 prints it: user on a unikernel is refused. */
static void
test_spec_example_literal(void **state UNUSED)
{
	static const char spec[] =
		"name    = \"hello\"\n"
		"node    = \"local\"\n"
		"tier    = \"worker\"\n"
		"active  = true\n"
		"runtime = \"container\"\n"
		"\n"
		"[[components]]\n"
		"name      = \"hello\"\n"
		"image     = \"127.0.0.1:5000/hello:v1.0.0\"\n"
		"runtime   = \"unikernel\"\n"
		"memory_mb = 128\n"
		"vcpus     = 1\n"
		"network   = \"user\"\n"
		"volumes   = [\"/srv/hello:/srv/hello\"]\n"
		"cmd       = [\"serve\", \"--config\", \"/srv/hello/hello.toml\"]\n"
		"env       = [\"LOG_LEVEL=info\"]\n"
		"user      = \"0:0\"          # container only\n"
		"restart   = \"unless-stopped\"\n";

	REFUSE(spec, 17, "user in [[components]]", "for containers only");
}

static void
test_defaults(void **state UNUSED)
{
	struct svc_def *d = parse_ok(HDR COMP ROUTE "port = 80\n");
	const struct svc_component *c = &d->components[0];

	assert_string_equal(d->name, "svc");
	assert_string_equal(d->node, "");
	assert_string_equal(d->tier, "worker");
	assert_int_equal(d->active, 1);
	assert_string_equal(d->runtime, "container");
	assert_int_equal(d->ncomponents, 1);
	assert_string_equal(c->name, "web");
	assert_string_equal(c->runtime, "container");
	assert_int_equal(c->memory_mb, 0);
	assert_int_equal(c->vcpus, 1);
	assert_string_equal(c->network, "");
	assert_int_equal(c->nvolumes, 0);
	assert_int_equal(c->ncmd, 0);
	assert_non_null(c->cmd);
	assert_null(c->cmd[0]);
	assert_int_equal(c->nenv, 0);
	assert_non_null(c->env);
	assert_string_equal(c->user, "");
	assert_string_equal(c->restart, "unless-stopped");
	assert_int_equal(c->nroutes, 1);
	assert_string_equal(c->routes[0].name, "");
	assert_string_equal(c->routes[0].mode, "l4");
	assert_string_equal(c->routes[0].hostname, "");
	assert_int_equal(c->routes[0].public, 0);
	assert_string_equal(d->snapshot_method, "");
	assert_int_equal(d->nexclude, 0);
	assert_non_null(d->snapshot_exclude);
	svc_free(d);

	/* no routes at all */
	d = parse_ok(HDR COMP);
	assert_int_equal(d->components[0].nroutes, 0);
	svc_free(d);
}

static void
test_runtime_inheritance(void **state UNUSED)
{
	struct svc_def *d = parse_ok(
	    "name = \"svc\"\n"
	    "runtime = \"unikernel\"\n"
	    "[[components]]\n"
	    "name = \"svc\"\n"
	    "image = \"reg.example/svc:v2\"\n"
	    "memory_mb = 64\n"
	    "[[components]]\n"
	    "name = \"side\"\n"
	    "image = \"reg.example/side:v2\"\n"
	    "runtime = \"container\"\n"
	    "network = \"\"\n");

	assert_string_equal(d->runtime, "unikernel");
	assert_string_equal(d->components[0].runtime, "unikernel");
	assert_string_equal(d->components[1].runtime, "container");
	svc_free(d);

	/* the inherited runtime brings the unikernel rules along */
	REFUSE("name = \"svc\"\nruntime = \"unikernel\"\n"
	    "[[components]]\nname = \"a\"\nimage = \"a:v1\"\n",
	    3, "memory_mb in [[components]]", "needs memory_mb > 0");
}

static void
test_inline_tables(void **state UNUSED)
{
	struct svc_def *d = parse_ok(
	    "name = \"svc\"\n"
	    "components = [ { name = \"a\", image = \"a:v1\", "
	    "routes = [ { port = 80, name = \"web\" } ] } ]\n"
	    "snapshot = { method = \"full\" }\n");

	assert_int_equal(d->ncomponents, 1);
	assert_int_equal(d->components[0].routes[0].port, 80);
	assert_string_equal(d->snapshot_method, "full");
	svc_free(d);

	REFUSE("name = \"svc\"\ncomponents = [ { name = \"a\", image = \"a:v1\", "
	    "imagee = \"b:v1\" } ]\n", 2, "unknown key \"imagee\"",
	    "in [[components]]");
}

static void
test_unknown_key_message(void **state UNUSED)
{
	static const char text[] = HDR COMP "\n\nimagee = \"x\"\n";
	struct mcp_err err = MCP_ERR_INIT;
	struct svc_def *d;

	assert_int_equal(svc_parse(text, strlen(text), "hello.toml", &d, &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_string_equal(err.msg,
	    "hello.toml:7:1: unknown key \"imagee\" in [[components]]");

	/* value errors point at the value's column */
	static const char t2[] = HDR COMP "vcpus =   99\n";
	assert_int_equal(svc_parse(t2, strlen(t2), "hello.toml", &d, &err), -1);
	assert_string_equal(err.msg, "hello.toml:5:11: vcpus in [[components]]: "
	    "99 is out of range 1..64");
}

static void
test_refuse_top_level(void **state UNUSED)
{
	static const struct refusal t[] = {
		{ "nmae = \"x\"\n", 2, "unknown key \"nmae\" at top level", NULL },
		{ "node = \"Node_1\"\n", 2, "node", "must match [a-z0-9][a-z0-9-]{0,62}" },
		{ "node = \"../x\"\n", 2, "node", "must match" },
		{ "node = 1\n", 2, "node", "expected a string, got integer" },
		{ "tier = \"boss\"\n", 2, "tier",
		    "\"boss\" is not one of \"worker\" or \"core\"" },
		{ "tier = \"Worker\"\n", 2, "tier", "is not one of" },
		{ "active = \"yes\"\n", 2, "active", "expected a boolean, got string" },
		{ "active = 1\n", 2, "active", "expected a boolean, got integer" },
		{ "runtime = \"vm\"\n", 2, "runtime",
		    "\"vm\" is not one of \"container\" or \"unikernel\"" },
		{ "snapshot = \"grpc\"\n", 2, "snapshot", "expected a table" },
	};
	static const struct refusal names[] = {
		{ "name = \"Hello\"\n", 1, "name: \"Hello\"", "must match" },
		{ "name = \"-a\"\n", 1, "name", "must match" },
		{ "name = \"a_b\"\n", 1, "name", "must match" },
		{ "name = \"../x\"\n", 1, "name", "must match" },
		{ "name = \"a/b\"\n", 1, "name", "must match" },
		{ "name = \"\"\n", 1, "name", "must match" },
		{ "name = \"a234567890123456789012345678901234567890123456789012345"
		    "678901234\"\n", 1, "name", "must match" },
		{ "name = 5\n", 1, "name", "expected a string, got integer" },
		{ "name = [\"a\"]\n", 1, "name", "expected a string, got array" },
		{ "name = \"a\\u0000b\"\n", 1, "name", "NUL byte" },
		{ "name = \"a\\nb\"\n", 1, "name", "\"a\\x0ab\" must match" },
		{ "node = \"x\"\n", 1, "missing required key \"name\"", NULL },
	};

	refuse_table(HDR, COMP, t, NELEM(t));
	refuse_table("", COMP, names, NELEM(names));

	REFUSE(HDR, 1, "missing required key \"components\"", NULL);
	REFUSE(HDR "components = []\n", 2, "components",
	    "at least one component is required");
	REFUSE(HDR "components = \"web\"\n", 2, "components",
	    "expected an array of tables ([[components]]), got string");
	REFUSE(HDR "components = [1]\n", 2, "components",
	    "expected an array of tables");
	REFUSE(HDR "[components]\nname = \"web\"\n", 2, "components",
	    "expected an array of tables");
	REFUSE(HDR COMP "[snapshot.method]\n", 5, "method in [snapshot]",
	    "expected a string, got table");
}

static void
test_refuse_component(void **state UNUSED)
{
	static const struct refusal t[] = {
		{ "imagee = \"x\"\n", 5, "unknown key \"imagee\" in [[components]]", NULL },
		{ "runtime = \"vm\"\n", 5, "runtime in [[components]]",
		    "\"vm\" is not one of \"container\" or \"unikernel\"" },
		{ "memory_mb = -1\n", 5, "memory_mb", "out of range 0..1048576" },
		{ "memory_mb = 2000000\n", 5, "memory_mb", "out of range" },
		{ "memory_mb = \"128\"\n", 5, "memory_mb", "expected an integer, got string" },
		{ "vcpus = 0\n", 5, "vcpus", "out of range 1..64" },
		{ "vcpus = 65\n", 5, "vcpus", "out of range 1..64" },
		{ "vcpus = 1.5\n", 5, "vcpus", "expected an integer, got float" },
		{ "network = \"user\"\n", 5, "network in [[components]]",
		    "runs as a container; network is for unikernels only" },
		{ "network = \"bridge\"\n", 5, "network", "is not one of \"\" or \"user\"" },
		{ "cmd = \"serve\"\n", 5, "cmd", "expected an array of strings, got string" },
		{ "cmd = [\"serve\", 1]\n", 5, "cmd", "element 2 is integer" },
		{ "cmd = [\"a\\u0000b\"]\n", 5, "cmd", "NUL byte" },
		{ "env = [\"1X=y\"]\n", 5, "env", "KEY=VALUE with KEY matching" },
		{ "env = [\"X-Y=1\"]\n", 5, "env", "[A-Za-z_][A-Za-z0-9_]*" },
		{ "env = [\"=1\"]\n", 5, "env", "KEY=VALUE" },
		{ "env = [\"NOVALUE\"]\n", 5, "env", "has no '='" },
		{ "env = [\"A=b\\nc\"]\n", 5, "env", "newline" },
		{ "env = [\"A=b\\u0000c\"]\n", 5, "env", "NUL byte" },
		{ "env = [\"A=1\", \"B=2\",\n  \"A=2\"]\n", 6, "env", "A is set twice" },
		{ "env = \"A=1\"\n", 5, "env", "expected an array of strings" },
		{ "user = \"root:\"\n", 5, "user", "uid[:gid]" },
		{ "user = \":0\"\n", 5, "user", "uid[:gid]" },
		{ "user = \"Root\"\n", 5, "user", "uid[:gid]" },
		{ "user = \"0:0:0\"\n", 5, "user", "uid[:gid]" },
		{ "user = \"-1\"\n", 5, "user", "uid[:gid]" },
		{ "user = \"a b\"\n", 5, "user", "uid[:gid]" },
		{ "user = \"12x\"\n", 5, "user", "uid[:gid]" },
		{ "user = \"4294967295\"\n", 5, "user", "uid[:gid]" },
		{ "user = 0\n", 5, "user", "expected a string, got integer" },
		{ "restart = \"sometimes\"\n", 5, "restart",
		    "is not one of \"no\", \"on-failure\", \"always\" or \"unless-stopped\"" },
		{ "routes = \"x\"\n", 5, "routes",
		    "expected an array of tables ([[components.routes]]), got string" },
		{ "routes = [80]\n", 5, "routes", "expected an array of tables" },
	};

	refuse_table(HDR COMP, "", t, NELEM(t));

	REFUSE(HDR "[[components]]\nimage = \"a:v1\"\n", 2,
	    "[[components]]: missing required key \"name\"", NULL);
	REFUSE(HDR "[[components]]\nname = \"a\"\n", 2,
	    "[[components]]: missing required key \"image\"", NULL);
	REFUSE(HDR "[[components]]\nname = \"A\"\nimage = \"a:v1\"\n", 3,
	    "name in [[components]]: \"A\"", "must match");
	REFUSE(HDR "[[components]]\nname = \"a.b\"\nimage = \"a:v1\"\n", 3,
	    "name in [[components]]", "must match");
	REFUSE(HDR "[[components]]\nname = 1\nimage = \"a:v1\"\n", 3,
	    "name in [[components]]", "expected a string");
	REFUSE(HDR COMP "[[components]]\nname = \"db\"\nimage = \"db:v1\"\n"
	    "[[components]]\nname = \"web\"\nimage = \"web:v2\"\n", 9,
	    "name in [[components]]", "duplicate component \"web\"");
}

static void
test_refuse_image(void **state UNUSED)
{
	static const struct refusal t[] = {
		{ "\"reg.example:5000/web\"", 4, "image in [[components]]",
		    "has no explicit tag" },
		{ "\"web\"", 4, "image", "has no explicit tag" },
		{ "\"web:\"", 4, "image", "has no explicit tag" },
		{ "\"web:latest\"", 4, "image", "uses the tag \"latest\"" },
		{ "\"reg.example:5000/web:latest\"", 4, "image", "\"latest\"" },
		{ "\"web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef\"", 4, "image", "digest" },
		{ "\"web:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef\"", 4, "image", "digest" },
		{ "\"web :v1\"", 4, "image", "whitespace or control characters" },
		{ "\"web:v1\\t\"", 4, "image", "whitespace or control characters" },
		{ "\"web:v1\\n--privileged\"", 4, "image", "control characters" },
		{ "\"-web:v1\"", 4, "image", "starts with '-'" },
		{ "\"--privileged\"", 4, "image", "starts with '-'" },
		{ "\"web:.v1\"", 4, "image", "invalid tag" },
		{ "\":v1\"", 4, "image", "no repository" },
		{ "\"reg:abc/web:v1\"", 4, "image", "invalid registry port" },
		{ "\"reg:5000//web:v1\"", 4, "image", "empty path component" },
		{ "\"/web:v1\"", 4, "image", "empty path component" },
		{ "\"web/:v1\"", 4, "image", "empty path component" },
		{ "\"web:v1:v2\"", 4, "image", "neither a registry port nor the tag" },
		{ "\"web$x:v1\"", 4, "image", "not allowed" },
		{ "\"\"", 4, "image", "is empty" },
		{ "\"web:v\\u0000x\"", 4, "image", "NUL byte" },
		{ "5", 4, "image", "expected a string, got integer" },
	};
	char text[1024], img[300];
	size_t i;
	struct svc_def *d;
	static const char *good[] = {
		"web:v1", "127.0.0.1:5000/hello:v1.0.0",
		"docker.io/library/nginx:1.27-alpine",
		"localhost:5000/a/b/c:2024.01.01", "ghcr.io/Org/x:V1",
		"reg.example/web:Latest_1", "web:_", NULL
	};

	for (i = 0; i < NELEM(t); i++) {
		snprintf(text, sizeof(text), HDR "[[components]]\nname = \"web\"\n"
		    "image = %s\n", t[i].toml);
		refuse((int)i, text, t[i].line, t[i].want1, t[i].want2);
	}

	/* 255 bytes is the limit */
	memset(img, 'a', sizeof(img));
	memcpy(img + 252, ":v1", 4);		/* 255 bytes */
	snprintf(text, sizeof(text), HDR "[[components]]\nname = \"web\"\n"
	    "image = \"%s\"\n", img);
	d = parse_ok(text);
	svc_free(d);
	memcpy(img + 253, ":v1", 4);		/* 256 bytes */
	snprintf(text, sizeof(text), HDR "[[components]]\nname = \"web\"\n"
	    "image = \"%s\"\n", img);
	REFUSE(text, 4, "image", "longer than 255 bytes");

	for (i = 0; good[i]; i++) {
		assert_null(svc_check_image(good[i]));
		snprintf(text, sizeof(text), HDR "[[components]]\nname = \"web\"\n"
		    "image = \"%s\"\n", good[i]);
		d = parse_ok(text);
		assert_string_equal(d->components[0].image, good[i]);
		svc_free(d);
	}
}

static void
test_refuse_unikernel(void **state UNUSED)
{
	struct svc_def *d;

	REFUSE(HDR COMP "runtime = \"unikernel\"\n", 2,
	    "memory_mb in [[components]]",
	    "component \"web\" runs as a unikernel and needs memory_mb > 0");
	REFUSE(HDR COMP "runtime = \"unikernel\"\nmemory_mb = 0\n", 6,
	    "memory_mb", "needs memory_mb > 0");
	REFUSE(HDR COMP "runtime = \"unikernel\"\nmemory_mb = 64\nuser = \"0:0\"\n",
	    7, "user in [[components]]",
	    "runs as a unikernel; user is for containers only");
	REFUSE(HDR COMP "runtime = \"unikernel\"\nmemory_mb = 64\n"
	    "network = \"nat\"\n", 7, "network", "is not one of");

	/* snapshot methods a VM cannot serve */
	REFUSE(HDR COMP "runtime = \"unikernel\"\nmemory_mb = 64\n"
	    "[snapshot]\nmethod = \"cli\"\n", 8, "method in [snapshot]",
	    "component \"web\" runs as a unikernel");
	REFUSE(HDR COMP "runtime = \"unikernel\"\nmemory_mb = 64\n"
	    "[snapshot]\nmethod = \"exec: pg_dump app\"\n", 8,
	    "method in [snapshot]", "runs as a unikernel");
	/* ... also when only one of several components is a VM */
	REFUSE(HDR COMP "[[components]]\nname = \"vm\"\nimage = \"vm:v1\"\n"
	    "runtime = \"unikernel\"\nmemory_mb = 64\n"
	    "[snapshot]\nmethod = \"cli\"\n", 11, "method",
	    "component \"vm\" runs as a unikernel");

	d = parse_ok(HDR COMP "runtime = \"unikernel\"\nmemory_mb = 64\n"
	    "network = \"user\"\nvcpus = 64\n[snapshot]\nmethod = \"full\"\n");
	assert_string_equal(d->components[0].network, "user");
	assert_int_equal(d->components[0].vcpus, 64);
	svc_free(d);
}

static void
test_refuse_volumes(void **state UNUSED)
{
	static const struct refusal t[] = {
		{ "volumes = [\"srv:/srv\"]\n", 5, "volumes in [[components]]",
		    "host path is not an absolute path" },
		{ "volumes = [\"/srv:srv\"]\n", 5, "volumes",
		    "guest path is not an absolute path" },
		{ "volumes = [\"/srv/../etc:/x\"]\n", 5, "volumes",
		    "host path has a \".\" or \"..\" component" },
		{ "volumes = [\"/srv:/x/..\"]\n", 5, "volumes", "guest path has a" },
		{ "volumes = [\"/..:/x\"]\n", 5, "volumes", "\"..\" component" },
		{ "volumes = [\"/srv/./a:/x\"]\n", 5, "volumes", "\".\" or \"..\"" },
		{ "volumes = [\"/srv\"]\n", 5, "volumes", "must be host:guest[:opts]" },
		{ "volumes = [\"/a//b:/x\"]\n", 5, "volumes", "empty component" },
		{ "volumes = [\"/a/:/x\"]\n", 5, "volumes", "empty component" },
		{ "volumes = [\"/:/x\"]\n", 5, "volumes", "empty component" },
		{ "volumes = [\"/x:/\"]\n", 5, "volumes", "guest path has an empty" },
		{ "volumes = [\":/x\"]\n", 5, "volumes", "host path is not an absolute" },
		{ "volumes = [\"/a,b:/x\"]\n", 5, "volumes", "contains ','" },
		{ "volumes = [\"/a\\nb:/x\"]\n", 5, "volumes", "control characters" },
		{ "volumes = [\"/a\\u0000b:/x\"]\n", 5, "volumes", "NUL byte" },
		{ "volumes = [\"/a:/x:bogus\"]\n", 5, "volumes",
		    "options must be a comma-separated set of ro|rw and z|Z" },
		{ "volumes = [\"/a:/x:ro,rw\"]\n", 5, "volumes", "ro/rw" },
		{ "volumes = [\"/a:/x:ro,ro\"]\n", 5, "volumes", "ro/rw" },
		{ "volumes = [\"/a:/x:ro,\"]\n", 5, "volumes", "options must be" },
		{ "volumes = [\"/a:/x:z,Z\"]\n", 5, "volumes", "z/Z" },
		{ "volumes = [\"/a:/x:ro:Z\"]\n", 5, "volumes", "options must be" },
		{ "volumes = [\"/a:/x:exec\"]\n", 5, "volumes", "options must be" },
		{ "volumes = [\"/a:/x\",\n  \"/b:/x\"]\n", 6, "volumes",
		    "guest path \"/x\" is mounted twice" },
		{ "volumes = \"/a:/x\"\n", 5, "volumes",
		    "expected an array of strings, got string" },
		{ "volumes = [1]\n", 5, "volumes", "element 1 is integer" },
	};
	static const char *opts[] = { "ro", "rw", "z", "Z", "ro,Z", "Z,rw", "z,ro" };
	char text[512];
	struct svc_def *d;
	size_t i;

	refuse_table(HDR COMP, "", t, NELEM(t));
	for (i = 0; i < NELEM(opts); i++) {
		snprintf(text, sizeof(text), HDR COMP
		    "volumes = [\"/srv/a b/c:/data:%s\"]\n", opts[i]);
		d = parse_ok(text);
		assert_string_equal(d->components[0].volumes[0].host, "/srv/a b/c");
		assert_string_equal(d->components[0].volumes[0].opts, opts[i]);
		svc_free(d);
	}
}

static void
test_refuse_routes(void **state UNUSED)
{
	static const struct refusal t[] = {
		{ "port = 80\nprot = 81\n", 7,
		    "unknown key \"prot\" in [[components.routes]]", NULL },
		{ "", 5, "[[components.routes]]: missing required key \"port\"", NULL },
		{ "name = \"http\"\n", 5, "missing required key \"port\"", NULL },
		{ "port = 0\n", 6, "port in [[components.routes]]",
		    "0 is out of range 1..65535" },
		{ "port = 65536\n", 6, "port", "out of range 1..65535" },
		{ "port = -80\n", 6, "port", "out of range" },
		{ "port = \"80\"\n", 6, "port", "expected an integer, got string" },
		{ "port = 80\nname = \"HTTP\"\n", 7, "name in [[components.routes]]",
		    "must start with [a-z0-9]" },
		{ "port = 80\nname = \"-http\"\n", 7, "name", "must start with" },
		{ "port = 80\nname = \"a_b\"\n", 7, "name", "may only contain [a-z0-9-]" },
		{ "port = 80\nname = \"a23456789012345678901234567890123\"\n", 7,
		    "name", "longer than 32" },
		{ "port = 80\nname = 1\n", 7, "name", "expected a string" },
		{ "port = 80\nmode = \"l3\"\n", 7, "mode",
		    "\"l3\" is not one of \"l4\" or \"l7\"" },
		{ "port = 80\nmode = \"L7\"\n", 7, "mode", "is not one of" },
		{ "port = 80\nhostname = \"Hello.example.net\"\n", 7,
		    "hostname in [[components.routes]]", "lowercase" },
		{ "port = 80\nhostname = \"-a.example.net\"\n", 7, "hostname",
		    "starting with '-'" },
		{ "port = 80\nhostname = \"a-.example.net\"\n", 7, "hostname",
		    "ending in '-'" },
		{ "port = 80\nhostname = \"a..example.net\"\n", 7, "hostname",
		    "empty label" },
		{ "port = 80\nhostname = \"a.example.net.\"\n", 7, "hostname",
		    "empty label" },
		{ "port = 80\nhostname = \".example.net\"\n", 7, "hostname",
		    "empty label" },
		{ "port = 80\nhostname = \"10.0.0.1\"\n", 7, "hostname",
		    "numeric label" },
		{ "port = 80\nhostname = \"a_b.example.net\"\n", 7, "hostname",
		    "lowercase" },
		{ "port = 80\nhostname = \"a b.example.net\"\n", 7, "hostname", NULL },
		{ "port = 80\nhostname = \"a23456789012345678901234567890123456789"
		    "0123456789012345678901234.example\"\n", 7, "hostname",
		    "longer than 63" },
		{ "port = 80\npublic = \"yes\"\n", 7, "public",
		    "expected a boolean, got string" },
		{ "port = 80\nname = \"http\"\n[[components.routes]]\nport = 81\n"
		    "name = \"http\"\n", 10, "name in [[components.routes]]",
		    "duplicate route \"http\" in component \"web\"" },
		{ "port = 80\n[[components.routes]]\nport = 81\n", 7,
		    "component \"web\" has more than one unnamed route", NULL },
		{ "port = 80\n[[components.routes]]\nport = 81\nname = \"\"\n", 7,
		    "more than one unnamed route", NULL },
	};
	char text[1024], host[300];
	struct svc_def *d;

	refuse_table(HDR COMP ROUTE, "", t, NELEM(t));

	/* hostnames up to 253 bytes */
	memset(host, 'a', 253);
	host[63] = host[127] = host[191] = '.';	/* labels 63, 63, 63, 61 */
	host[253] = '\0';
	snprintf(text, sizeof(text), HDR COMP ROUTE "port = 1\nhostname = \"%s\"\n",
	    host);
	d = parse_ok(text);
	assert_int_equal(strlen(d->components[0].routes[0].hostname), 253);
	svc_free(d);
	host[253] = 'x';
	host[254] = '\0';
	snprintf(text, sizeof(text), HDR COMP ROUTE "port = 1\nhostname = \"%s\"\n",
	    host);
	REFUSE(text, 7, "hostname", "longer than 253");

	/* $PORT / $PORT_<NAME> are the agent's: env may not set them */
	REFUSE(HDR COMP "env = [\"PORT_HTTP=1\"]\n" ROUTE "name = \"http\"\nport = 80\n",
	    5, "env in [[components]]", "PORT_HTTP is set by the agent");
	REFUSE(HDR COMP "env = [\"X=1\", \"PORT=1\"]\n" ROUTE "port = 80\n",
	    5, "env", "PORT is set by the agent");
	d = parse_ok(HDR COMP "env = [\"PORT=1\", \"PORT_X=2\"]\n" ROUTE
	    "name = \"http\"\nport = 80\n");
	svc_free(d);

	/* named and unnamed, ports and names as written */
	d = parse_ok(HDR COMP ROUTE "port = 65535\n" ROUTE "port = 1\nname = \"a\"\n"
	    "hostname = \"x\"\npublic = true\nmode = \"l7\"\n");
	assert_int_equal(d->components[0].nroutes, 2);
	assert_int_equal(d->components[0].routes[0].port, 65535);
	assert_string_equal(d->components[0].routes[1].hostname, "x");
	svc_free(d);
}

static void
test_refuse_snapshot(void **state UNUSED)
{
	static const struct refusal t[] = {
		{ "methd = \"grpc\"\n", 6, "unknown key \"methd\" in [snapshot]", NULL },
		{ "method = \"rsync\"\n", 6, "method in [snapshot]: \"rsync\"",
		    "must be \"grpc\", \"cli\", \"full\" or \"exec: <command>\"" },
		{ "method = \"GRPC\"\n", 6, "method", "must be" },
		{ "method = \"exec:\"\n", 6, "method", "no command after \"exec:\"" },
		{ "method = \"exec:   \"\n", 6, "method", "no command" },
		{ "method = \"exec: a\\nb\"\n", 6, "method", "control characters" },
		{ "method = 1\n", 6, "method", "expected a string, got integer" },
		{ "exclude = [\"/abs\"]\n", 6, "exclude in [snapshot]", "is absolute" },
		{ "exclude = [\"../x\"]\n", 6, "exclude", "\"..\" component" },
		{ "exclude = [\"a/../b\"]\n", 6, "exclude", "\"..\" component" },
		{ "exclude = [\"ok/\", \"a/..\"]\n", 6, "exclude", "\"a/..\"" },
		{ "exclude = [\"\"]\n", 6, "exclude", "is empty" },
		{ "exclude = [\"a\\tb\"]\n", 6, "exclude", "control characters" },
		{ "exclude = [\"a\\u0000b\"]\n", 6, "exclude", "NUL byte" },
		{ "exclude = \"cache\"\n", 6, "exclude", "expected an array of strings" },
	};
	static const char *good[] = {
		"grpc", "cli", "full", "", "exec: pg_dump -U app app", "exec:/bin/dump",
	};
	char text[512];
	struct svc_def *d;
	size_t i;

	refuse_table(HDR COMP SNAP, "", t, NELEM(t));
	for (i = 0; i < NELEM(good); i++) {
		snprintf(text, sizeof(text), HDR COMP SNAP "method = \"%s\"\n"
		    "exclude = [\"cache/\", \"./tmp\", \"a..b\"]\n", good[i]);
		d = parse_ok(text);
		assert_string_equal(d->snapshot_method, good[i]);
		assert_int_equal(d->nexclude, 3);
		svc_free(d);
	}
}

static void
test_accept_users_env(void **state UNUSED)
{
	static const char *users[] = {
		"0", "0:0", "1000:1000", "app", "app:app", "www-data", "_svc",
		"app:100", "4294967294",
	};
	char text[512];
	struct svc_def *d;
	size_t i;

	for (i = 0; i < NELEM(users); i++) {
		snprintf(text, sizeof(text), HDR COMP "user = \"%s\"\n", users[i]);
		d = parse_ok(text);
		assert_string_equal(d->components[0].user, users[i]);
		svc_free(d);
	}
	d = parse_ok(HDR COMP "env = [\"_A=\", \"a=b=c\", \"X1=with space\"]\n");
	assert_int_equal(d->components[0].nenv, 3);
	assert_string_equal(d->components[0].env[1], "a=b=c");
	svc_free(d);
}

static void
test_toml_errors(void **state UNUSED)
{
	/* syntax and duplicate-key errors come from the parser, positioned */
	REFUSE(HDR COMP "cmd = [\"a\"\n", 6, "expected ',' or ']'", NULL);
	REFUSE(HDR "name = \"again\"\n" COMP, 2, NULL, NULL);
	REFUSE(HDR COMP "image = \"x:v1\"\n", 5, NULL, NULL);
}

static void
test_load_file(void **state UNUSED)
{
	char path[] = "/tmp/test_service.XXXXXX";
	struct mcp_err err = MCP_ERR_INIT;
	struct svc_def *d;
	int fd = mkstemp(path);
	static const char bad[] = HDR COMP "tier = \"x\"\n";

	assert_true(fd >= 0);
	assert_int_equal(write(fd, full_example, strlen(full_example)),
	    (ssize_t)strlen(full_example));
	close(fd);
	assert_int_equal(svc_load_file(path, &d, &err), 0);
	assert_string_equal(d->name, "hello");
	svc_free(d);

	/* errors name the path */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
	close(fd);
	assert_int_equal(svc_load_file(path, &d, &err), -1);
	assert_null(d);
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_int_equal(strncmp(err.msg, path, strlen(path)), 0);
	assert_non_null(strstr(err.msg, ":5:"));
	unlink(path);

	mcp_err_clear(&err);
	assert_int_equal(svc_load_file(path, &d, &err), -1);
	assert_null(d);
	assert_int_equal(err.code, MCP_E_NOTFOUND);
	assert_non_null(strstr(err.msg, path));
}

/*
 * TOML allows U+0000 in keys and strings; a definition refuses it in every
 * key and every string, named by its path, never cutting the value short.
 */
static void
test_refuse_nul(void **state UNUSED)
{
	static const struct refusal top[] = {
		{ "\"na\\u0000me\" = \"x\"\n", 2,
		    "hello.toml:2:1: \"na\\u0000me\": key contains a NUL byte", NULL },
		{ "node = \"a\\u0000\"\n", 2,
		    "hello.toml:2:8: node: contains a NUL byte", NULL },
		{ "tier = \"core\\u0000x\"\n", 2, "tier: contains a NUL byte", NULL },
		{ "runtime = \"container\\u0000\"\n", 2, "runtime: contains a NUL", NULL },
		/* Even where the key is unknown: the NUL is named first. */
		{ "other = [\"\\u0000\"]\n", 2, "other[0]: contains a NUL byte", NULL },
	};
	static const struct refusal comp[] = {
		{ "\"image\\u0000\" = \"x:v1\"\n", 5,
		    "hello.toml:5:1: components[0].\"image\\u0000\": key contains "
		    "a NUL byte", NULL },
		{ "network = \"\\u0000\"\n", 5, "components[0].network: contains", NULL },
		{ "user = \"0\\u0000:0\"\n", 5, "components[0].user: contains", NULL },
		{ "restart = \"no\\u0000\"\n", 5, "components[0].restart: contains", NULL },
		{ "cmd = [\"a\", \"b\\u0000c\"]\n", 5,
		    "hello.toml:5:13: components[0].cmd[1]: contains a NUL byte", NULL },
		{ "env = [\"A=1\\u0000B=2\"]\n", 5, "components[0].env[0]: contains", NULL },
		{ "volumes = [\"/srv/a:/a\\u0000/b\"]\n", 5,
		    "components[0].volumes[0]: contains", NULL },
		{ "[[components.routes]]\nport = 80\nname = \"h\\u0000\"\n", 7,
		    "components[0].routes[0].name: contains a NUL byte", NULL },
		{ "[[components.routes]]\nport = 80\nmode = \"l4\\u0000\"\n", 7,
		    "components[0].routes[0].mode: contains", NULL },
		{ "[[components.routes]]\nport = 80\nhostname = \"a.b\\u0000.c\"\n", 7,
		    "components[0].routes[0].hostname: contains", NULL },
		{ "[[components.routes]]\nport = 80\n\"port\\u0000\" = 81\n", 7,
		    "components[0].routes[0].\"port\\u0000\": key contains", NULL },
		{ "[snapshot]\nmethod = \"exec: a\\u0000b\"\n", 6,
		    "snapshot.method: contains a NUL byte", NULL },
		{ "[snapshot]\nexclude = [\"a\", \"\\u0000\"]\n", 6,
		    "snapshot.exclude[1]: contains a NUL byte", NULL },
		{ "[\"snap\\u0000shot\"]\n", 5, "\"snap\\u0000shot\": key contains", NULL },
	};

	refuse_table(HDR, COMP, top, NELEM(top));
	refuse_table(HDR COMP, "", comp, NELEM(comp));
	/* The service name is checked like every other value. */
	REFUSE("name = \"svc\\u0000x\"\n" COMP, 1,
	    "hello.toml:1:8: name: contains a NUL byte", NULL);
	REFUSE(HDR "[[components]]\nname = \"web\"\nimage = \"web:v1\\u0000\"\n", 4,
	    "hello.toml:4:9: components[0].image: contains a NUL byte", NULL);
}

/*
 * b = head, then n items of fmt (which takes the index twice) separated by
 * sep, a newline, then tail.
 */
static const char *
items(struct buf *b, const char *head, const char *fmt, size_t n,
    const char *sep, const char *tail)
{
	size_t i;

	buf_reset(b);
	buf_puts(b, head);
	for (i = 0; i < n; i++) {
		buf_printf(b, fmt, i, i);
		buf_puts(b, i + 1 < n ? sep : "\n");
	}
	buf_puts(b, tail);
	return b->data;
}

#define COMPS "[[components]]\nname = \"c%zu\"\nimage = \"w:v%zu\""
#define ROUTES "[[components.routes]]\nname = \"r%zu\"\nport = 80%zu"

/*
 * One limit: a definition with max items loads, one with max + 1 is refused
 * naming the limit and its constant, at the first item past it.
 */
static void
test_limits(void **state UNUSED)
{
	static const struct {
		const char *name;	/* the constant, as the message names it */
		size_t max;
		const char *head;	/* up to the first item */
		const char *item;	/* printf format, the index twice */
		const char *sep;	/* between items */
		const char *tail;
		int first_line;		/* line of item 0 */
		int lines;		/* lines per item */
		const char *want;	/* path and limit */
	} t[] = {
		{ "SVC_MAX_COMPONENTS", SVC_MAX_COMPONENTS, HDR,
		    COMPS, "\n", "",
		    2, 3, "components: 65 entries, more than the limit of 64 "
		    "components per service (SVC_MAX_COMPONENTS)" },
		{ "SVC_MAX_ROUTES", SVC_MAX_ROUTES, HDR COMP,
		    ROUTES, "\n", "",
		    5, 3, "components[0].routes: 33 entries, more than the limit "
		    "of 32 routes per component (SVC_MAX_ROUTES)" },
		{ "SVC_MAX_ENV", SVC_MAX_ENV, HDR COMP "env = [\n",
		    "\"E%zu=%zu\"", ",\n", "]\n", 6, 1, "components[0].env: 1025 "
		    "entries, more than the limit of 1024 env entries per "
		    "component (SVC_MAX_ENV)" },
		{ "SVC_MAX_VOLUMES", SVC_MAX_VOLUMES, HDR COMP "volumes = [\n",
		    "\"/srv/v%zu:/v%zu\"", ",\n", "]\n", 6, 1, "components[0]."
		    "volumes: 65 entries, more than the limit of 64 volumes per "
		    "component (SVC_MAX_VOLUMES)" },
		{ "SVC_MAX_CMD_ARGS", SVC_MAX_CMD_ARGS, HDR COMP "cmd = [\n",
		    "\"a%zu-%zu\"", ",\n", "]\n", 6, 1, "components[0].cmd: 1025 "
		    "entries, more than the limit of 1024 cmd arguments per "
		    "component (SVC_MAX_CMD_ARGS)" },
		{ "SVC_MAX_EXCLUDE", SVC_MAX_EXCLUDE, HDR COMP SNAP
		    "exclude = [\n", "\"x%zu/%zu\"", ",\n", "]\n", 7, 1,
		    "snapshot.exclude: 1025 entries, more than the limit of "
		    "1024 exclude paths (SVC_MAX_EXCLUDE)" },
	};
	struct buf b = BUF_INIT;
	size_t i, n;

	for (i = 0; i < NELEM(t); i++) {
		for (n = t[i].max; n <= t[i].max + 1; n++) {
			items(&b, t[i].head, t[i].item, n, t[i].sep, t[i].tail);
			if (n == t[i].max)
				svc_free(parse_ok(b.data));
			else
				refuse((int)i, b.data, t[i].first_line +
				    (int)t[i].max * t[i].lines, t[i].want,
				    t[i].name);
		}
	}
	buf_free(&b);
}

/* Far past a limit, the refusal comes from counting, not loading. */
static void
test_limits_far(void **state UNUSED)
{
	struct buf b = BUF_INIT;

	REFUSE(items(&b, HDR, COMPS, 10000, "\n", ""), 2 + 64 * 3,
	    "components: 10000 entries, more than the limit of 64 components "
	    "per service", NULL);
	/* as many as fit SVC_MAX_DEFINITION_BYTES: the count is refused first */
	REFUSE(items(&b, HDR COMP "env = [\n", "\"E%zu=%zu\"", 50000, ",\n",
	    "]\n"), 6 + 1024, "components[0].env: 50000 entries",
	    "SVC_MAX_ENV");
	buf_free(&b);
}

/* Strings and keys: at most SVC_MAX_STRING bytes, wherever they are. */
static void
test_limit_string(void **state UNUSED)
{
	struct buf b = BUF_INIT;
	char *s = malloc(SVC_MAX_STRING + 2);
	struct svc_def *d;

	assert_non_null(s);
	memset(s, 'a', SVC_MAX_STRING + 1);
	s[SVC_MAX_STRING] = '\0';
	buf_printf(&b, HDR COMP "cmd = [\"x\", \"%s\"]\n", s);
	d = parse_ok(b.data);
	assert_int_equal(strlen(d->components[0].cmd[1]), SVC_MAX_STRING);
	svc_free(d);

	s[SVC_MAX_STRING] = 'a';
	s[SVC_MAX_STRING + 1] = '\0';
	buf_reset(&b);
	buf_printf(&b, HDR COMP "cmd = [\"x\", \"%s\"]\n", s);
	REFUSE(b.data, 5, "hello.toml:5:13: components[0].cmd[1]: 8193 bytes, "
	    "more than the limit of 8192 (SVC_MAX_STRING)", NULL);
	buf_reset(&b);
	buf_printf(&b, HDR COMP "env = [\"A=%s\"]\n", s);
	REFUSE(b.data, 5, "components[0].env[0]: 8195 bytes", "SVC_MAX_STRING");
	buf_reset(&b);
	buf_printf(&b, HDR COMP "%s = 1\n", s);
	REFUSE(b.data, 5, "aaaa...: key of 8193 bytes, more than the limit of 8192",
	    "SVC_MAX_STRING");
	buf_free(&b);
	free(s);
}

/* Duplicates at the far end of full arrays are still found, and named. */
static void
test_duplicates_at_scale(void **state UNUSED)
{
	struct buf b = BUF_INIT, env = BUF_INIT;

	REFUSE(items(&b, HDR, COMPS, 63, "\n",
	    "[[components]]\nname = \"c7\"\nimage = \"w:v1\"\n"),
	    2 + 63 * 3 + 1, "name in [[components]]",
	    "duplicate component \"c7\"");

	REFUSE(items(&b, HDR COMP "env = [\n", "\"E%zu=%zu\"", 1023, ",\n",
	    ",\"E1000=x\"]\n"), 6 + 1023, "env", "E1000 is set twice");

	items(&env, HDR COMP "env = [\n", "\"E%zu=%zu\"", 1000, ",\n",
	    ",\"PORT_R31=1\"]\n");
	REFUSE(items(&b, env.data, ROUTES, 32, "\n", ""), 6 + 1000, "env",
	    "PORT_R31 is set by the agent");

	REFUSE(items(&b, HDR COMP "volumes = [\n", "\"/srv/v%zu:/v%zu\"", 63,
	    ",\n", ",\"/srv/x:/v0\"]\n"), 6 + 63, "volumes",
	    "guest path \"/v0\" is mounted twice");
	buf_free(&env);
	buf_free(&b);
}

/* svc_find_duplicate: the first duplicate in item order, by length and bytes. */
static void
test_find_duplicate(void **state UNUSED)
{
	static const struct {
		const char *keys[6];	/* NULL-terminated; "\1" stands for "a\0b" */
		int found;
		size_t earlier, later;
	} t[] = {
		{ { NULL }, 0, 0, 0 },
		{ { "a", NULL }, 0, 0, 0 },
		{ { "a", "b", "ab", "ba", NULL }, 0, 0, 0 },
		{ { "a", "b", "a", NULL }, 1, 0, 2 },
		{ { "b", "a", "a", "b", NULL }, 1, 1, 2 },
		{ { "x", "y", "x", "y", NULL }, 1, 0, 2 },
		{ { "a", "a", "a", NULL }, 1, 0, 1 },
		{ { "c", "b", "a", "b", "c", NULL }, 1, 1, 3 },
		{ { "", "", NULL }, 1, 0, 1 },
		{ { "a", "\1", "ab", NULL }, 0, 0, 0 },
		{ { "\1", "a", "\1", NULL }, 1, 0, 2 },
	};
	struct svc_dup_key keys[6];
	size_t i, n, earlier, later;

	for (i = 0; i < NELEM(t); i++) {
		for (n = 0; t[i].keys[n]; n++) {
			if (strcmp(t[i].keys[n], "\1") == 0)
				keys[n] = (struct svc_dup_key){ "a\0b", 3, n };
			else
				keys[n] = (struct svc_dup_key){ t[i].keys[n],
				    strlen(t[i].keys[n]), n };
		}
		earlier = later = 99;
		assert_int_equal(svc_find_duplicate(keys, n, &earlier, &later),
		    t[i].found);
		if (t[i].found) {
			assert_int_equal(earlier, t[i].earlier);
			assert_int_equal(later, t[i].later);
		}
	}
}

/* Direct checks others (master, CLI) may call. */
static void
test_checks(void **state UNUSED)
{
	assert_null(svc_check_hostname("hello.example.net"));
	assert_null(svc_check_hostname("localhost"));
	assert_null(svc_check_hostname("a1.b-2.c3"));
	assert_non_null(svc_check_hostname(""));
	assert_null(svc_check_abs_path("/srv/hello"));
	assert_non_null(svc_check_abs_path("/srv/hello/"));
	assert_null(svc_check_rel_path("cache/"));
	assert_null(svc_check_volume_opts(""));
	assert_null(svc_check_env("A=1"));
	assert_null(svc_check_user("0:0"));
	assert_null(svc_check_route_name(""));
	assert_null(svc_check_snapshot_method(""));
}

/* A definition over SVC_MAX_DEFINITION_BYTES is refused before parsing;
 * one of exactly that size (a long comment) loads. */
static void
test_definition_size(void **state UNUSED)
{
	const char *base = HDR COMP;
	size_t n = SVC_MAX_DEFINITION_BYTES, blen = strlen(base);
	char *text = malloc(n + 2);
	struct svc_def *def = NULL;
	struct mcp_err err = MCP_ERR_INIT;

	assert_non_null(text);
	memcpy(text, base, blen);
	text[blen] = '#';
	memset(text + blen + 1, 'x', n - blen - 2);
	text[n - 1] = '\n';
	assert_int_equal(svc_parse(text, n, FILE_NAME, &def, &err), 0);
	svc_free(def);
	def = NULL;
	text[n - 1] = 'x';
	text[n] = '\n';
	assert_int_equal(svc_parse(text, n + 1, FILE_NAME, &def, &err), -1);
	assert_null(def);
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_non_null(strstr(err.msg, FILE_NAME ": definition of 1048577 bytes"));
	assert_non_null(strstr(err.msg, "limit of 1048576 bytes (SVC_MAX_DEFINITION_BYTES)"));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_example),
		cmocka_unit_test(test_spec_example_literal),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_runtime_inheritance),
		cmocka_unit_test(test_inline_tables),
		cmocka_unit_test(test_unknown_key_message),
		cmocka_unit_test(test_refuse_top_level),
		cmocka_unit_test(test_refuse_component),
		cmocka_unit_test(test_refuse_image),
		cmocka_unit_test(test_refuse_unikernel),
		cmocka_unit_test(test_refuse_volumes),
		cmocka_unit_test(test_refuse_routes),
		cmocka_unit_test(test_refuse_snapshot),
		cmocka_unit_test(test_accept_users_env),
		cmocka_unit_test(test_toml_errors),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_refuse_nul),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_limits_far),
		cmocka_unit_test(test_limit_string),
		cmocka_unit_test(test_duplicates_at_scale),
		cmocka_unit_test(test_find_duplicate),
		cmocka_unit_test(test_definition_size),
	};

	return cmocka_run_group_tests_name("service", tests, NULL, NULL);
}
