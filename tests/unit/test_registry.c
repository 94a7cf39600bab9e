/*
 * test_registry.c: the agent registry on real SQLite files: migrations
 * bring a version-1 database forward with its data, ports are allocated
 * and kept across redeploys, removed routes free their ports, deletes
 * leave nothing behind; the identity of what was started is recorded; a
 * damaged database is refused at open and a read error while open is an
 * error naming the database, never a short list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry/registry.h"

static char dir[256];

static void
db_path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
	unlink(out);
}

/* Remove a test database and its WAL files. */
static void
db_drop(const char *path)
{
	char p[600];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static struct svc_route r_http = { "http", 8080, "l4", "", 0 };
static struct svc_route r_admin = { "admin", 9090, "l7", "admin.example.net", 1 };

static void
make_def(struct svc_def *d, struct svc_component *c, struct svc_route *routes,
    size_t nroutes, const char *image)
{
	memset(d, 0, sizeof(*d));
	memset(c, 0, sizeof(*c));
	c->name = "web";
	c->image = (char *)image;
	c->runtime = "container";
	c->vcpus = 1;
	c->network = "";
	c->routes = routes;
	c->nroutes = nroutes;
	d->name = "hello";
	d->node = "local";
	d->tier = "worker";
	d->active = 1;
	d->runtime = "container";
	d->components = c;
	d->ncomponents = 1;
}

static void
test_migrate_v1(void **state)
{
	char path[512];
	sqlite3 *db;
	struct reg *r;
	struct reg_service *s;
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	db_path(path, sizeof(path), "v1.db");
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, reg_migration_sql(1), NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1;"
	    "INSERT INTO services VALUES ('old', 'local', 'worker', 1, 'name = \"old\"',"
	    " 'old.toml', 100, 200);"
	    "INSERT INTO components VALUES ('old', 'web', 'r/old:v1', 'running');"
	    "INSERT INTO routes VALUES ('old', 'web', 'http', 80, 12345, 'l4', '', 0);"
	    "INSERT INTO events (time, service, kind) VALUES (5, 'old', 'deploy');",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	r = reg_open(path, &err);
	assert_non_null(r);
	assert_int_equal(reg_schema_version(r), reg_latest_version());
	assert_int_equal(reg_service_get(r, "old", &s, &err), 0);
	assert_string_equal(s->definition, "name = \"old\"");
	assert_int_equal(s->created_at, 100);
	assert_int_equal(s->ncomponents, 1);
	assert_string_equal(s->components[0].image, "r/old:v1");
	assert_string_equal(s->components[0].runtime, "container");	/* v2 default */
	assert_int_equal(s->components[0].vcpus, 1);
	assert_string_equal(s->components[0].image_hash, "");		/* v3 default */
	assert_string_equal(s->components[0].instance_id, "");		/* v5 default */
	assert_int_equal(s->components[0].nroutes, 1);
	assert_int_equal(s->components[0].routes[0].host_port, 12345);
	reg_service_free(s);
	reg_close(r);
	/* reopening is a no-op */
	r = reg_open(path, &err);
	assert_non_null(r);
	assert_int_equal(reg_schema_version(r), reg_latest_version());
	reg_close(r);
}

static void
test_newer_schema_refused(void **state)
{
	char path[512];
	sqlite3 *db;
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	db_path(path, sizeof(path), "future.db");
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_exec(db, "PRAGMA user_version = 99;", NULL, NULL, NULL);
	sqlite3_close(db);
	assert_null(reg_open(path, &err));
	assert_non_null(strstr(err.msg, "newer"));
}

static void
test_started_identity(void **state)
{
	char path[512];
	struct reg *r;
	struct reg_service *s;
	struct svc_def d;
	struct svc_component c;
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	db_path(path, sizeof(path), "ident.db");
	assert_non_null(r = reg_open(path, &err));
	make_def(&d, &c, NULL, 0, "r/a:v1");
	assert_int_equal(reg_service_put(r, &d, "x", "", NULL, &err), 0);
	assert_int_equal(reg_component_set_started(r, "hello", "web", "spec1", "",
	    "0123abcd", &err), 0);
	assert_int_equal(reg_service_get(r, "hello", &s, &err), 0);
	assert_string_equal(s->components[0].spec_hash, "spec1");
	assert_string_equal(s->components[0].instance_id, "0123abcd");
	reg_service_free(s);
	/* a redeploy rewrites the desired state, not what was started */
	make_def(&d, &c, NULL, 0, "r/a:v2");
	assert_int_equal(reg_service_put(r, &d, "x2", "", NULL, &err), 0);
	assert_int_equal(reg_service_get(r, "hello", &s, &err), 0);
	assert_string_equal(s->components[0].image, "r/a:v2");
	assert_string_equal(s->components[0].instance_id, "0123abcd");
	reg_service_free(s);
	reg_close(r);
	db_drop(path);
}

/* A registry with enough services to span many pages; its page count. */
static long
fill_pages(const char *path)
{
	struct reg *r;
	struct svc_def d;
	struct svc_component c;
	struct mcp_err err = MCP_ERR_INIT;
	char name[32], text[2000];
	sqlite3 *db;
	sqlite3_stmt *st;
	long pages = 0;

	assert_non_null(r = reg_open(path, &err));
	memset(text, '#', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	for (int i = 0; i < 40; i++) {
		make_def(&d, &c, NULL, 0, "r/a:v1");
		snprintf(name, sizeof(name), "svc%02d", i);
		d.name = name;
		assert_int_equal(reg_service_put(r, &d, text, "", NULL, &err), 0);
	}
	reg_close(r);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		pages = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return pages;
}

/* Overwrite page `page` (1-based, 4096 bytes) with garbage. */
static void
smash_page(const char *path, long page)
{
	char junk[4096];
	FILE *f = fopen(path, "r+b");

	assert_non_null(f);
	memset(junk, 0xa5, sizeof(junk));
	assert_int_equal(fseek(f, (page - 1) * 4096, SEEK_SET), 0);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	fclose(f);
}

static void
test_damaged_refused(void **state)
{
	char path[512];
	struct mcp_err err = MCP_ERR_INIT;
	long pages;

	(void)state;
	db_path(path, sizeof(path), "damaged.db");
	pages = fill_pages(path);
	assert_true(pages > 10);
	smash_page(path, pages / 2);
	assert_null(reg_open(path, &err));
	print_message("    %s\n", err.msg);
	assert_int_equal(err.code, MCP_E_DATALOSS);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "damaged"));
	db_drop(path);
}

static void
test_read_error_reported(void **state)
{
	char path[512];
	struct reg *r;
	struct reg_service *svcs;
	struct mcp_err err = MCP_ERR_INIT;
	sqlite3 *db;
	size_t n;
	long pages;

	(void)state;
	db_path(path, sizeof(path), "readerr.db");
	pages = fill_pages(path);
	assert_non_null(r = reg_open(path, &err));
	assert_int_equal(reg_service_list(r, &svcs, &n, &err), 0);
	assert_int_equal(n, 40);
	reg_services_free(svcs, n);
	/* damage a page under the open registry, then let another connection
	 * write so that the registry's cached pages are no longer trusted */
	smash_page(path, pages / 2);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE poke (x); DROP TABLE poke;",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(reg_service_list(r, &svcs, &n, &err), -1);
	print_message("    %s\n", err.msg);
	assert_non_null(strstr(err.msg, path));
	assert_null(svcs);
	assert_int_equal(n, 0);
	reg_close(r);
	db_drop(path);
}

static int
veto_first(int port, void *arg)
{
	int *vetoed = arg;

	if (*vetoed == 0) {
		*vetoed = port;
		return 0;
	}
	return 1;
}

static void
test_ports(void **state)
{
	char path[512];
	struct reg *r;
	struct reg_service *s;
	struct svc_def d;
	struct svc_component c;
	struct svc_route both[2] = { r_http, r_admin };
	struct mcp_err err = MCP_ERR_INIT;
	int vetoed = 0, http_port, admin_port;

	(void)state;
	db_path(path, sizeof(path), "ports.db");
	r = reg_open(path, &err);
	assert_non_null(r);
	make_def(&d, &c, both, 2, "r/hello:v1");
	{
		struct reg_put_opts o = { .probe = veto_first, .probe_arg = &vetoed };

		assert_int_equal(reg_service_put(r, &d, "def1", "hello.toml", &o, &err), 0);
	}
	assert_int_equal(reg_service_get(r, "hello", &s, &err), 0);
	assert_int_equal(s->components[0].nroutes, 2);
	/* ordered by name: admin, http */
	admin_port = s->components[0].routes[0].host_port;
	http_port = s->components[0].routes[1].host_port;
	assert_true(http_port >= REG_PORT_MIN && http_port <= REG_PORT_MAX);
	assert_true(admin_port != http_port);
	assert_true(http_port != vetoed && admin_port != vetoed);
	assert_string_equal(s->components[0].desired, "running");
	reg_service_free(s);

	/* redeploy with a new image keeps ports; dropping a route frees it */
	make_def(&d, &c, both, 1, "r/hello:v2");
	assert_int_equal(reg_service_put(r, &d, "def2", "hello.toml", NULL, &err), 0);
	assert_int_equal(reg_service_get(r, "hello", &s, &err), 0);
	assert_string_equal(s->components[0].image, "r/hello:v2");
	assert_string_equal(s->definition, "def2");
	assert_int_equal(s->components[0].nroutes, 1);
	assert_int_equal(s->components[0].routes[0].host_port, http_port);
	reg_service_free(s);

	/* an unnamed route replaced by a named one goes, with its port */
	{
		struct svc_route unnamed[1] = { { "", 8080, "l4", "", 0 } };
		struct svc_route named[1] = { { "web", 8080, "l4", "", 0 } };

		make_def(&d, &c, unnamed, 1, "r/hello:v2");
		assert_int_equal(reg_service_put(r, &d, "u", "", NULL, &err), 0);
		make_def(&d, &c, named, 1, "r/hello:v2");
		assert_int_equal(reg_service_put(r, &d, "n", "", NULL, &err), 0);
		assert_int_equal(reg_service_get(r, "hello", &s, &err), 0);
		assert_int_equal(s->components[0].nroutes, 1);
		assert_string_equal(s->components[0].routes[0].name, "web");
		reg_service_free(s);
	}
	assert_int_equal(reg_component_set_desired(r, "hello", NULL, "stopped", &err), 0);
	assert_int_equal(reg_event_add(r, "hello", "web", "transition", "running",
	    "stopped", "", &err), 0);
	assert_int_equal(reg_events_count(r, "hello", "web", "transition", 0, &err), 1);
	assert_int_equal(reg_service_get(r, "hello", &s, &err), 0);
	assert_string_equal(s->components[0].desired, "stopped");
	reg_service_free(s);

	assert_int_equal(reg_service_delete(r, "hello", &err), 0);
	assert_int_equal(reg_service_get(r, "hello", &s, &err), -1);
	assert_int_equal(err.code, MCP_E_NOTFOUND);
	assert_int_equal(reg_events_count(r, "hello", "web", "transition", 0, &err), 0);
	reg_close(r);
}

static void
test_component_removed(void **state)
{
	char path[512];
	struct reg *r;
	struct reg_service *s;
	struct svc_def d;
	struct svc_component comps[2];
	struct svc_route one[1] = { r_http };
	struct mcp_err err = MCP_ERR_INIT;
	size_t n;

	(void)state;
	db_path(path, sizeof(path), "comps.db");
	r = reg_open(path, &err);
	assert_non_null(r);
	make_def(&d, &comps[0], one, 1, "r/a:v1");
	comps[1] = comps[0];
	comps[1].name = "worker";
	comps[1].nroutes = 0;
	d.ncomponents = 2;
	d.components = comps;
	assert_int_equal(reg_service_put(r, &d, "x", "", NULL, &err), 0);
	assert_int_equal(reg_service_get(r, "hello", &s, &err), 0);
	assert_int_equal(s->ncomponents, 2);
	reg_service_free(s);
	d.ncomponents = 1;
	comps[0] = comps[1];	/* only "worker" is left */
	assert_int_equal(reg_service_put(r, &d, "y", "", NULL, &err), 0);
	assert_int_equal(reg_service_get(r, "hello", &s, &err), 0);
	assert_int_equal(s->ncomponents, 1);
	assert_string_equal(s->components[0].name, "worker");
	reg_service_free(s);
	{
		struct reg_service *all;

		assert_int_equal(reg_service_list(r, &all, &n, &err), 0);
		assert_int_equal(n, 1);
		reg_services_free(all, n);
	}
	reg_close(r);
}

static int
no_host_ports(const struct svc_component *c, void *arg)
{
	(void)c;
	(void)arg;
	return 0;
}

static void
test_vm_ips(void **state)
{
	char path[512];
	struct reg *r;
	struct reg_service *s;
	struct svc_def d;
	struct svc_component c;
	struct svc_route one[1] = { r_http };
	struct reg_put_opts o = { .wants_host_ports = no_host_ports };
	struct mcp_err err = MCP_ERR_INIT;
	char (*ips)[48];
	size_t n;

	(void)state;
	db_path(path, sizeof(path), "ips.db");
	r = reg_open(path, &err);
	assert_non_null(r);
	make_def(&d, &c, one, 1, "r/a:v1");
	c.runtime = "unikernel";
	/* two bridged VMs: no host ports (NULL, not a clash on 0) */
	assert_int_equal(reg_service_put(r, &d, "x", "", &o, &err), 0);
	d.name = "other";
	assert_int_equal(reg_service_put(r, &d, "x", "", &o, &err), 0);
	assert_int_equal(reg_component_set_vm_ip(r, "hello", "web", "10.99.0.2", &err), 0);
	assert_int_equal(reg_component_set_vm_ip(r, "other", "web", "10.99.0.2", &err), -1);
	assert_int_equal(err.code, MCP_E_EXISTS);
	assert_int_equal(reg_component_set_vm_ip(r, "other", "web", "10.99.0.3", &err), 0);
	assert_int_equal(reg_service_get(r, "hello", &s, &err), 0);
	assert_string_equal(s->components[0].vm_ip, "10.99.0.2");
	assert_int_equal(s->components[0].routes[0].host_port, 0);
	assert_string_equal(s->components[0].routes[0].vm_addr, "10.99.0.2:8080");
	reg_service_free(s);
	/* a redeploy keeps the address */
	d.name = "hello";
	assert_int_equal(reg_service_put(r, &d, "x2", "", &o, &err), 0);
	assert_int_equal(reg_service_get(r, "hello", &s, &err), 0);
	assert_string_equal(s->components[0].vm_ip, "10.99.0.2");
	reg_service_free(s);
	assert_int_equal(reg_vm_ips(r, &ips, &n, &err), 0);
	assert_int_equal(n, 2);
	free(ips);
	/* undeploy releases it */
	assert_int_equal(reg_service_delete(r, "hello", &err), 0);
	assert_int_equal(reg_vm_ips(r, &ips, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ips[0], "10.99.0.3");
	free(ips);
	reg_close(r);
}

/* More than SVC_MAX_HOST_PORTS routes wanting host ports: refused before
 * any is allocated, the service as it was.  Bridged routes do not count. */
static void
test_host_port_limit(void **state)
{
	char path[512], names[SVC_MAX_HOST_PORTS + 1][16];
	struct svc_route many[SVC_MAX_HOST_PORTS + 1];
	struct reg *r;
	struct reg_service *s;
	struct svc_def d;
	struct svc_component c;
	struct mcp_err err = MCP_ERR_INIT;
	struct reg_put_opts bridged = { .wants_host_ports = no_host_ports };
	size_t i;

	(void)state;
	for (i = 0; i <= SVC_MAX_HOST_PORTS; i++) {
		snprintf(names[i], sizeof(names[i]), "r%zu", i);
		many[i] = r_http;
		many[i].name = names[i];
	}
	db_path(path, sizeof(path), "limit.db");
	r = reg_open(path, &err);
	assert_non_null(r);
	make_def(&d, &c, many, 1, "r/hello:v1");
	assert_int_equal(reg_service_put(r, &d, "one", "", NULL, &err), 0);
	make_def(&d, &c, many, SVC_MAX_HOST_PORTS + 1, "r/hello:v2");
	assert_int_equal(reg_service_put(r, &d, "many", "", NULL, &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_string_equal(err.msg, "65 routes need a host port, more than the "
	    "limit of 64 per service (SVC_MAX_HOST_PORTS)");
	assert_int_equal(reg_service_get(r, "hello", &s, &err), 0);
	assert_string_equal(s->definition, "one");
	assert_string_equal(s->components[0].image, "r/hello:v1");
	assert_int_equal(s->components[0].nroutes, 1);
	reg_service_free(s);
	/* exactly the limit is fine; so are routes that need no host port */
	make_def(&d, &c, many, SVC_MAX_HOST_PORTS, "r/hello:v2");
	assert_int_equal(reg_service_put(r, &d, "max", "", NULL, &err), 0);
	make_def(&d, &c, many, SVC_MAX_HOST_PORTS + 1, "r/hello:v3");
	assert_int_equal(reg_service_put(r, &d, "bridged", "", &bridged, &err), 0);
	reg_close(r);
}

/* caller-derived text (a Deploy's source, an error a child printed) is
 * stored escaped: one printable line, no control characters */
/*
 * reg_events_counts: one row per component with events of that kind since
 * the time, each count what reg_events_count says; listings read through
 * the reused statements give the same answer twice, also after a change.
 */
static void
test_events_counts(void **state)
{
	char path[512];
	struct reg *r;
	struct reg_service *svcs;
	struct reg_event_count *c;
	struct svc_def d;
	struct svc_component comp;
	size_t n, i, k;
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	db_path(path, sizeof(path), "counts.db");
	r = reg_open(path, &err);
	assert_non_null(r);
	make_def(&d, &comp, &r_http, 1, "r/hello:v1");
	for (k = 0; k < 3; k++) {
		d.name = k == 0 ? "a" : k == 1 ? "b" : "c";
		assert_int_equal(reg_service_put(r, &d, "def", "", NULL, &err), 0);
	}
	assert_int_equal(reg_event_add(r, "a", "web", "transition", "running",
	    "exited", "", &err), 0);
	assert_int_equal(reg_event_add(r, "a", "web", "transition", "exited",
	    "running", "", &err), 0);
	assert_int_equal(reg_event_add(r, "a", "db", "transition", "running",
	    "exited", "", &err), 0);
	assert_int_equal(reg_event_add(r, "b", "web", "transition", "running",
	    "exited", "", &err), 0);
	assert_int_equal(reg_event_add(r, "b", "web", "deploy", "", "", "", &err), 0);
	assert_int_equal(reg_event_add(r, "c", "web", "deploy", "", "", "", &err), 0);
	assert_int_equal(reg_events_counts(r, "transition", 0, &c, &n, &err), 0);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++)
		assert_int_equal(c[i].count, reg_events_count(r, c[i].service,
		    c[i].component, "transition", 0, &err));
	for (i = 0; i < n && strcmp(c[i].service, "a") != 0; i++)
		;
	assert_true(i < n);
	free(c);
	/* nothing since a time in the future */
	assert_int_equal(reg_events_counts(r, "transition", INT64_MAX, &c, &n,
	    &err), 0);
	assert_int_equal(n, 0);
	free(c);

	d.name = "a";
	for (k = 0; k < 2; k++) {
		assert_int_equal(reg_service_list(r, &svcs, &n, &err), 0);
		assert_int_equal(n, 3);
		assert_int_equal(svcs[0].ncomponents, 1);
		assert_string_equal(svcs[0].components[0].image,
		    k == 0 ? "r/hello:v1" : "r/hello:v2");
		assert_int_equal(svcs[0].components[0].nroutes, 1);
		assert_string_equal(svcs[0].components[0].routes[0].name, "http");
		reg_services_free(svcs, n);
		make_def(&d, &comp, &r_http, 1, "r/hello:v2");
		d.name = "a";
		assert_int_equal(reg_service_put(r, &d, "def", "", NULL, &err), 0);
	}
	reg_close(r);
	db_drop(path);
}

static void
test_text_escaped(void **state)
{
	char path[512];
	struct reg *r;
	struct reg_service *s;
	struct reg_event *ev;
	struct svc_def d;
	struct svc_component c;
	size_t n;
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	db_path(path, sizeof(path), "escape.db");
	r = reg_open(path, &err);
	assert_non_null(r);
	make_def(&d, &c, NULL, 0, "r/hello:v1");
	assert_int_equal(reg_service_put(r, &d, "def", "x.toml\n2026 ALERT\x1b[2J",
	    NULL, &err), 0);
	assert_int_equal(reg_service_get(r, "hello", &s, &err), 0);
	assert_string_equal(s->source, "x.toml\\n2026 ALERT\\x1b[2J");
	reg_service_free(s);
	assert_int_equal(reg_event_add(r, "hello", "web", "deploy-failed", "",
	    "", "pull failed:\nError: fake\rline", &err), 0);
	assert_int_equal(reg_events_list(r, "hello", 10, &ev, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ev[0].detail, "pull failed:\\nError: fake\\rline");
	free(ev);
	reg_close(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate_v1),
		cmocka_unit_test(test_newer_schema_refused),
		cmocka_unit_test(test_started_identity),
		cmocka_unit_test(test_damaged_refused),
		cmocka_unit_test(test_read_error_reported),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_component_removed),
		cmocka_unit_test(test_host_port_limit),
		cmocka_unit_test(test_vm_ips),
		cmocka_unit_test(test_text_escaped),
		cmocka_unit_test(test_events_counts),
	};
	int rc;
	char cmd[300];

	snprintf(dir, sizeof(dir), "/tmp/mcp-test-registry.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests_name("registry", tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "%s", dir);
	/* remove the temp dir's files */
	{
		const char *names[] = { "v1.db", "future.db", "ports.db", "comps.db", "ips.db",
		    "escape.db" };
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			char p[512];
			snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
			unlink(p);
			snprintf(p, sizeof(p), "%s/%s-wal", dir, names[i]);
			unlink(p);
			snprintf(p, sizeof(p), "%s/%s-shm", dir, names[i]);
			unlink(p);
		}
		rmdir(cmd);
	}
	return rc;
}
