/*
 * registry/registry.c: SQLite access for the agent's desired state (see
 * registry.h).  All functions take the registry mutex for their whole
 * duration, so a multi-statement change is atomic with respect to the
 * agent's other threads as well as on disk (BEGIN IMMEDIATE ... COMMIT).
 */
#include "registry/registry.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <time.h>

#include "sqldb/sqldb.h"
#include "util/buf.h"
#include "util/escape.h"

struct reg {
	sqlite3 *db;
	char path[512];
	pthread_mutex_t mu;
	/*
	 * Rotates so a freed port is not reused at once; starts at a random
	 * point so agents sharing a host (nodes as namespaces, or a second
	 * agent) rarely race for the same free port between the probe and the
	 * runtime binding it.
	 */
	unsigned next_port;
	/* the per-service and per-component reads of a listing, prepared once
	 * (parsing their SQL for every row was most of a `ps`); under mu */
	sqlite3_stmt *components_st, *routes_st;
};

static int
reg_sqlerr(struct reg *r, struct mcp_err *err, const char *what)
{
	int code = sqlite3_errcode(r->db) == SQLITE_CONSTRAINT ?
	    MCP_E_EXISTS : MCP_E_INTERNAL;

	return mcp_err_set(err, code, "registry %s: %s: %s", r->path, what,
	    sqlite3_errmsg(r->db));
}

static int
reg_exec(struct reg *r, const char *sql, struct mcp_err *err)
{
	char *msg = NULL;

	if (sqlite3_exec(r->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		mcp_err_set(err, MCP_E_INTERNAL, "registry %s: %s", r->path,
		    msg ? msg : sqlite3_errmsg(r->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static void
reg_rollback(struct reg *r)
{
	sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
}

struct reg *
reg_open(const char *path, struct mcp_err *err)
{
	struct reg *r = xcalloc(1, sizeof(*r));
	char label[600];

	mcp_strlcpy(r->path, path, sizeof(r->path));
	if (getrandom(&r->next_port, sizeof(r->next_port), 0) != sizeof(r->next_port))
		r->next_port = (unsigned)getpid();
	snprintf(label, sizeof(label), "registry %s", path);
	if ((r->db = sqldb_open(path, label, "this agent", reg_migration_sql,
	    reg_latest_version(), err)) == NULL) {
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->mu, NULL);
	return r;
}

void
reg_close(struct reg *r)
{
	if (r == NULL)
		return;
	sqlite3_finalize(r->components_st);
	sqlite3_finalize(r->routes_st);
	sqlite3_close(r->db);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

const char *
reg_path(const struct reg *r)
{
	return r->path;
}

int
reg_schema_version(struct reg *r)
{
	int v;

	pthread_mutex_lock(&r->mu);
	v = sqldb_version(r->db);
	pthread_mutex_unlock(&r->mu);
	return v;
}

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

static void
col_copy(char *dst, size_t dstsz, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	mcp_strlcpy(dst, t ? (const char *)t : "", dstsz);
}

/* Is host_port already used by a route?  1 yes, 0 no, -1 read error (err). */
static int
port_taken(struct reg *r, int port, struct mcp_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(r->db, "SELECT 1 FROM routes WHERE host_port = ?",
	    -1, &st, NULL) != SQLITE_OK)
		return reg_sqlerr(r, err, "read routes");
	sqlite3_bind_int(st, 1, port);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		reg_sqlerr(r, err, "read routes");
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* A free port; 0 when none is left, -1 on a read error (err). */
static int
alloc_port(struct reg *r, reg_port_probe probe, void *arg, struct mcp_err *err)
{
	unsigned span = REG_PORT_MAX - REG_PORT_MIN + 1, i;

	for (i = 0; i < span; i++) {
		int port = REG_PORT_MIN + (int)((r->next_port + i) % span);
		int taken = port_taken(r, port, err);

		if (taken == -1)
			return -1;
		if (taken)
			continue;
		if (probe && !probe(port, arg))
			continue;
		r->next_port = (r->next_port + i + 1) % span;
		return port;
	}
	return 0;
}

/* The route's host port, 0 when it has none, -1 on a read error (err). */
static int
existing_host_port(struct reg *r, const char *svc, const char *comp,
    const char *route, struct mcp_err *err)
{
	sqlite3_stmt *st;
	int port = 0, rc;

	if (sqlite3_prepare_v2(r->db, "SELECT host_port FROM routes WHERE "
	    "service = ? AND component = ? AND name = ?", -1, &st, NULL) != SQLITE_OK)
		return reg_sqlerr(r, err, "read routes");
	sqlite3_bind_text(st, 1, svc, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, comp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, route, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		port = sqlite3_column_int(st, 0);
	else if (rc != SQLITE_DONE)
		port = reg_sqlerr(r, err, "read routes");
	sqlite3_finalize(st);
	return port;
}

/* Run one prepared statement with text/int bindings given as a format. */
static int
reg_run(struct reg *r, struct mcp_err *err, const char *sql,
    const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int i, rc;

	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
		return reg_sqlerr(r, err, "prepare");
	va_start(ap, types);
	for (i = 0; types[i]; i++) {
		if (types[i] == 's')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1,
			    SQLITE_TRANSIENT);
		else if (types[i] == 'i')
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
	}
	va_end(ap);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return reg_sqlerr(r, err, "write");
	return 0;
}

int
reg_host_ports_check(const struct svc_def *def, const struct reg_put_opts *opts,
    struct mcp_err *err)
{
	size_t i, n = 0;

	for (i = 0; i < def->ncomponents; i++) {
		const struct svc_component *c = &def->components[i];

		if (opts->wants_host_ports == NULL ||
		    opts->wants_host_ports(c, opts->wants_arg))
			n += c->nroutes;
	}
	if (n > SVC_MAX_HOST_PORTS)
		return mcp_err_set(err, MCP_E_INVALID, "%zu routes need a host port, "
		    "more than the limit of %u per service (SVC_MAX_HOST_PORTS)", n,
		    SVC_MAX_HOST_PORTS);
	return 0;
}

int
reg_service_put(struct reg *r, const struct svc_def *def,
    const char *definition, const char *source, const struct reg_put_opts *opts,
    struct mcp_err *err)
{
	static const struct reg_put_opts no_opts;
	reg_port_probe probe;
	void *probe_arg;
	struct buf keep = BUF_INIT;
	int64_t now = now_s();
	size_t i, j;
	char *esource;

	if (opts == NULL)
		opts = &no_opts;
	if (reg_host_ports_check(def, opts, err) == -1)
		return -1;
	esource = mcp_escape_dup(source);	/* caller's text: stored escaped */
	probe = opts->probe;
	probe_arg = opts->probe_arg;
	pthread_mutex_lock(&r->mu);
	if (reg_exec(r, "BEGIN IMMEDIATE", err) == -1)
		goto fail_unlocked_tx;
	if (reg_run(r, err,
	    "INSERT INTO services (name, node, tier, active, definition, source,"
	    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
	    " ON CONFLICT(name) DO UPDATE SET node = excluded.node,"
	    " tier = excluded.tier, active = excluded.active,"
	    " definition = excluded.definition, source = excluded.source,"
	    " updated_at = excluded.updated_at",
	    "sssissii", def->name, def->node, def->tier,
	    (int64_t)def->active, definition, esource, now, now) == -1)
		goto fail;

	for (i = 0; i < def->ncomponents; i++) {
		const struct svc_component *c = &def->components[i];

		if (reg_run(r, err,
		    "INSERT INTO components (service, name, image, desired, runtime,"
		    " memory_mb, vcpus, network) VALUES (?, ?, ?, 'running', ?, ?, ?, ?)"
		    " ON CONFLICT(service, name) DO UPDATE SET image = excluded.image,"
		    " desired = 'running', runtime = excluded.runtime,"
		    " memory_mb = excluded.memory_mb, vcpus = excluded.vcpus,"
		    " network = excluded.network",
		    "ssssiis", def->name, c->name, c->image, c->runtime,
		    (int64_t)c->memory_mb, (int64_t)c->vcpus, c->network) == -1)
			goto fail;
		/* routes no longer defined go first, so their ports can be reused */
		buf_reset(&keep);
		/* "/" can be no route name ("" is the unnamed route) */
		buf_puts(&keep, "DELETE FROM routes WHERE service = ? AND component = ?"
		    " AND name NOT IN ('/'");
		for (j = 0; j < c->nroutes; j++) {
			char *q = sqlite3_mprintf(", %Q", c->routes[j].name);
			buf_puts(&keep, q);
			sqlite3_free(q);
		}
		buf_puts(&keep, ")");
		if (reg_run(r, err, keep.data, "ss", def->name, c->name) == -1)
			goto fail;
		for (j = 0; j < c->nroutes; j++) {
			const struct svc_route *rt = &c->routes[j];
			int wants = opts->wants_host_ports == NULL ||
			    opts->wants_host_ports(c, opts->wants_arg);
			int hp = wants ? existing_host_port(r, def->name, c->name, rt->name,
			    err) : 0;

			if (hp == -1 || (wants && hp == 0 &&
			    (hp = alloc_port(r, probe, probe_arg, err)) == -1))
				goto fail;
			if (wants && hp == 0) {
				mcp_err_set(err, MCP_E_RESOURCE,
				    "no free host port in %d-%d for %s/%s route %s",
				    REG_PORT_MIN, REG_PORT_MAX, def->name, c->name,
				    rt->name[0] ? rt->name : "(unnamed)");
				goto fail;
			}
			if (reg_run(r, err,
			    "INSERT INTO routes (service, component, name, port, host_port,"
			    " mode, hostname, public) VALUES (?, ?, ?, ?, nullif(?, 0), ?, ?, ?)"
			    " ON CONFLICT(service, component, name) DO UPDATE SET"
			    " port = excluded.port, host_port = excluded.host_port,"
			    " mode = excluded.mode,"
			    " hostname = excluded.hostname, public = excluded.public",
			    "sssiissi", def->name, c->name, rt->name, (int64_t)rt->port,
			    (int64_t)hp, rt->mode, rt->hostname, (int64_t)rt->public) == -1)
				goto fail;
		}
	}
	/* components no longer defined (their routes cascade) */
	buf_reset(&keep);
	buf_puts(&keep, "DELETE FROM components WHERE service = ? AND name NOT IN ('/'");
	for (i = 0; i < def->ncomponents; i++) {
		char *q = sqlite3_mprintf(", %Q", def->components[i].name);
		buf_puts(&keep, q);
		sqlite3_free(q);
	}
	buf_puts(&keep, ")");
	if (reg_run(r, err, keep.data, "s", def->name) == -1)
		goto fail;
	if (reg_exec(r, "COMMIT", err) == -1)
		goto fail;
	buf_free(&keep);
	free(esource);
	pthread_mutex_unlock(&r->mu);
	return 0;
fail:
	reg_rollback(r);
fail_unlocked_tx:
	buf_free(&keep);
	free(esource);
	pthread_mutex_unlock(&r->mu);
	return mcp_err_prefix(err, "record %s", def->name);
}

/*
 * Finish a row loop: rc is sqlite3_step's last result, SQLITE_DONE unless
 * the read failed, which is an error to the caller (never a short list).
 */
static int
reg_rows_end(struct reg *r, sqlite3_stmt *st, int rc, struct mcp_err *err,
    const char *what)
{
	if (rc != SQLITE_DONE)
		reg_sqlerr(r, err, what);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * *st prepared once (persistent, kept in r) and reset for this use.  The
 * rows' end: reg_stmt_done, which resets instead of finalizing.
 */
static int
reg_stmt(struct reg *r, sqlite3_stmt **st, const char *sql,
    struct mcp_err *err, const char *what)
{
	if (*st == NULL && sqlite3_prepare_v3(r->db, sql, -1,
	    SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return reg_sqlerr(r, err, what);
	}
	sqlite3_reset(*st);
	sqlite3_clear_bindings(*st);
	return 0;
}

static int
reg_stmt_done(struct reg *r, sqlite3_stmt *st, int rc, struct mcp_err *err,
    const char *what)
{
	if (rc != SQLITE_DONE)
		reg_sqlerr(r, err, what);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
load_routes(struct reg *r, struct reg_component *c, struct mcp_err *err)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	if (reg_stmt(r, &r->routes_st, "SELECT name, port, host_port, mode,"
	    " hostname, public, vm_addr FROM routes WHERE service = ? AND"
	    " component = ? ORDER BY name", err, "read routes") == -1)
		return -1;
	st = r->routes_st;
	sqlite3_bind_text(st, 1, c->service, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct reg_route *rt;

		if (c->nroutes == cap) {
			cap = cap ? cap * 2 : 4;
			c->routes = realloc(c->routes, cap * sizeof(*c->routes));
			if (c->routes == NULL)
				abort();
		}
		rt = &c->routes[c->nroutes++];
		memset(rt, 0, sizeof(*rt));
		col_copy(rt->name, sizeof(rt->name), st, 0);
		rt->port = sqlite3_column_int(st, 1);
		rt->host_port = sqlite3_column_int(st, 2);
		col_copy(rt->mode, sizeof(rt->mode), st, 3);
		col_copy(rt->hostname, sizeof(rt->hostname), st, 4);
		rt->public = sqlite3_column_int(st, 5);
		col_copy(rt->vm_addr, sizeof(rt->vm_addr), st, 6);
	}
	return reg_stmt_done(r, st, rc, err, "read routes");
}

static int
load_components(struct reg *r, struct reg_service *s, struct mcp_err *err)
{
	sqlite3_stmt *st;
	size_t cap = 0, i;
	int rc;

	if (reg_stmt(r, &r->components_st, "SELECT name, runtime, image, desired,"
	    " network, image_hash, vm_ip, spec_hash, last_observed, last_change,"
	    " memory_mb, vcpus, instance_id FROM components WHERE service = ?"
	    " ORDER BY rowid", err, "read components") == -1)
		return -1;
	st = r->components_st;
	sqlite3_bind_text(st, 1, s->name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct reg_component *c;

		if (s->ncomponents == cap) {
			cap = cap ? cap * 2 : 4;
			s->components = realloc(s->components, cap * sizeof(*c));
			if (s->components == NULL)
				abort();
		}
		c = &s->components[s->ncomponents++];
		memset(c, 0, sizeof(*c));
		mcp_strlcpy(c->service, s->name, sizeof(c->service));
		col_copy(c->name, sizeof(c->name), st, 0);
		col_copy(c->runtime, sizeof(c->runtime), st, 1);
		col_copy(c->image, sizeof(c->image), st, 2);
		col_copy(c->desired, sizeof(c->desired), st, 3);
		col_copy(c->network, sizeof(c->network), st, 4);
		col_copy(c->image_hash, sizeof(c->image_hash), st, 5);
		col_copy(c->vm_ip, sizeof(c->vm_ip), st, 6);
		col_copy(c->spec_hash, sizeof(c->spec_hash), st, 7);
		col_copy(c->last_observed, sizeof(c->last_observed), st, 8);
		c->last_change = sqlite3_column_int64(st, 9);
		c->memory_mb = sqlite3_column_int(st, 10);
		c->vcpus = sqlite3_column_int(st, 11);
		col_copy(c->instance_id, sizeof(c->instance_id), st, 12);
	}
	if (reg_stmt_done(r, st, rc, err, "read components") == -1)
		return -1;
	for (i = 0; i < s->ncomponents; i++)
		if (load_routes(r, &s->components[i], err) == -1)
			return -1;
	return 0;
}

static void
service_clear(struct reg_service *s)
{
	size_t i;

	for (i = 0; i < s->ncomponents; i++)
		free(s->components[i].routes);
	free(s->components);
	free(s->definition);
}

void
reg_service_free(struct reg_service *s)
{
	if (s == NULL)
		return;
	service_clear(s);
	free(s);
}

void
reg_services_free(struct reg_service *s, size_t n)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < n; i++)
		service_clear(&s[i]);
	free(s);
}

static void
service_from_row(struct reg_service *s, sqlite3_stmt *st)
{
	const unsigned char *def;

	memset(s, 0, sizeof(*s));
	col_copy(s->name, sizeof(s->name), st, 0);
	col_copy(s->node, sizeof(s->node), st, 1);
	col_copy(s->tier, sizeof(s->tier), st, 2);
	s->active = sqlite3_column_int(st, 3);
	def = sqlite3_column_text(st, 4);
	s->definition = xstrdup(def ? (const char *)def : "");
	col_copy(s->source, sizeof(s->source), st, 5);
	s->created_at = sqlite3_column_int64(st, 6);
	s->updated_at = sqlite3_column_int64(st, 7);
}

#define SERVICE_COLS "name, node, tier, active, definition, source, created_at, updated_at"

int
reg_service_get(struct reg *r, const char *name, struct reg_service **out,
    struct mcp_err *err)
{
	sqlite3_stmt *st;
	struct reg_service *s;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&r->mu);
	if (sqlite3_prepare_v2(r->db, "SELECT " SERVICE_COLS " FROM services"
	    " WHERE name = ?", -1, &st, NULL) != SQLITE_OK) {
		reg_sqlerr(r, err, "read services");
		pthread_mutex_unlock(&r->mu);
		return -1;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			mcp_err_set(err, MCP_E_NOTFOUND, "service %s is not deployed", name);
		else
			reg_sqlerr(r, err, "read services");
		sqlite3_finalize(st);
		pthread_mutex_unlock(&r->mu);
		return -1;
	}
	s = xcalloc(1, sizeof(*s));
	service_from_row(s, st);
	sqlite3_finalize(st);
	rc = load_components(r, s, err);
	pthread_mutex_unlock(&r->mu);
	if (rc == -1) {
		reg_service_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

int
reg_service_list(struct reg *r, struct reg_service **out, size_t *n,
    struct mcp_err *err)
{
	sqlite3_stmt *st;
	struct reg_service *arr = NULL;
	size_t cnt = 0, cap = 0, i;
	int rc, ret = -1;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&r->mu);
	/* one read transaction: one snapshot, not one per row's read */
	if (reg_exec(r, "BEGIN", err) == -1)
		goto out;
	if (sqlite3_prepare_v2(r->db, "SELECT " SERVICE_COLS " FROM services"
	    " ORDER BY name", -1, &st, NULL) != SQLITE_OK) {
		reg_sqlerr(r, err, "read services");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			arr = realloc(arr, cap * sizeof(*arr));
			if (arr == NULL)
				abort();
		}
		service_from_row(&arr[cnt++], st);
	}
	if (reg_rows_end(r, st, rc, err, "read services") == -1)
		goto out;
	for (i = 0; i < cnt; i++)
		if (load_components(r, &arr[i], err) == -1)
			goto out;
	if (reg_exec(r, "COMMIT", err) == -1)
		goto out;
	ret = 0;
out:
	if (ret == -1) {
		if (!sqlite3_get_autocommit(r->db))
			reg_rollback(r);
		reg_services_free(arr, cnt);
	} else {
		*out = arr;
		*n = cnt;
	}
	pthread_mutex_unlock(&r->mu);
	return ret;
}

int
reg_service_delete(struct reg *r, const char *name, struct mcp_err *err)
{
	int rc = -1;

	pthread_mutex_lock(&r->mu);
	if (reg_exec(r, "BEGIN IMMEDIATE", err) == -1)
		goto out;
	if (reg_run(r, err, "DELETE FROM routes WHERE service = ?", "s", name) == -1 ||
	    reg_run(r, err, "DELETE FROM components WHERE service = ?", "s", name) == -1 ||
	    reg_run(r, err, "DELETE FROM events WHERE service = ?", "s", name) == -1 ||
	    reg_run(r, err, "DELETE FROM services WHERE name = ?", "s", name) == -1 ||
	    reg_exec(r, "COMMIT", err) == -1) {
		reg_rollback(r);
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&r->mu);
	return rc;
}

static int
component_update(struct reg *r, struct mcp_err *err, const char *sql_all,
    const char *sql_one, const char *service, const char *component,
    const char *v1, const char *v2, int64_t iv, int with_int)
{
	int rc;

	pthread_mutex_lock(&r->mu);
	if (component == NULL || component[0] == '\0') {
		rc = with_int ? reg_run(r, err, sql_all, "sis", v1, iv, service) :
		    v2 ? reg_run(r, err, sql_all, "sss", v1, v2, service) :
		    reg_run(r, err, sql_all, "ss", v1, service);
	} else {
		rc = with_int ? reg_run(r, err, sql_one, "siss", v1, iv, service, component) :
		    v2 ? reg_run(r, err, sql_one, "ssss", v1, v2, service, component) :
		    reg_run(r, err, sql_one, "sss", v1, service, component);
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

int
reg_component_set_desired(struct reg *r, const char *service,
    const char *component, const char *desired, struct mcp_err *err)
{
	return component_update(r, err,
	    "UPDATE components SET desired = ? WHERE service = ?",
	    "UPDATE components SET desired = ? WHERE service = ? AND name = ?",
	    service, component, desired, NULL, 0, 0);
}

int
reg_component_set_observed(struct reg *r, const char *service,
    const char *component, const char *observed, int64_t when,
    struct mcp_err *err)
{
	return component_update(r, err,
	    "UPDATE components SET last_observed = ?, last_change = ? WHERE service = ?",
	    "UPDATE components SET last_observed = ?, last_change = ? WHERE service = ? AND name = ?",
	    service, component, observed, NULL, when, 1);
}

int
reg_component_set_started(struct reg *r, const char *service,
    const char *component, const char *spec_hash, const char *image_hash,
    const char *instance_id, struct mcp_err *err)
{
	int rc;

	pthread_mutex_lock(&r->mu);
	rc = reg_run(r, err, "UPDATE components SET spec_hash = ?, image_hash = ?,"
	    " instance_id = ? WHERE service = ? AND name = ?", "sssss", spec_hash,
	    image_hash ? image_hash : "", instance_id ? instance_id : "", service,
	    component);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

int
reg_component_set_vm_ip(struct reg *r, const char *service,
    const char *component, const char *vm_ip, struct mcp_err *err)
{
	int rc = -1;

	pthread_mutex_lock(&r->mu);
	if (reg_exec(r, "BEGIN IMMEDIATE", err) == -1)
		goto out;
	if (reg_run(r, err, "UPDATE components SET vm_ip = ? WHERE service = ?"
	    " AND name = ?", "sss", vm_ip, service, component) == -1 ||
	    reg_run(r, err, "UPDATE routes SET vm_addr = CASE WHEN ?1 = '' THEN ''"
	    " ELSE ?1 || ':' || port END WHERE service = ?2 AND component = ?3",
	    "sss", vm_ip, service, component) == -1 ||
	    reg_exec(r, "COMMIT", err) == -1) {
		reg_rollback(r);
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&r->mu);
	return rc;
}

int
reg_vm_ips(struct reg *r, char (**ips)[48], size_t *n, struct mcp_err *err)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	*ips = NULL;
	*n = 0;
	pthread_mutex_lock(&r->mu);
	if (sqlite3_prepare_v2(r->db, "SELECT vm_ip FROM components WHERE vm_ip != ''",
	    -1, &st, NULL) != SQLITE_OK) {
		reg_sqlerr(r, err, "read VM addresses");
		pthread_mutex_unlock(&r->mu);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*ips = realloc(*ips, cap * sizeof(**ips));
			if (*ips == NULL)
				abort();
		}
		col_copy((*ips)[(*n)++], 48, st, 0);
	}
	rc = reg_rows_end(r, st, rc, err, "read VM addresses");
	pthread_mutex_unlock(&r->mu);
	if (rc == -1) {
		free(*ips);
		*ips = NULL;
		*n = 0;
	}
	return rc;
}

int
reg_event_add(struct reg *r, const char *service, const char *component,
    const char *kind, const char *from, const char *to, const char *detail,
    struct mcp_err *err)
{
	/* the text is stored escaped (util/escape.h): an error a child printed
	 * or a caller's text reaches `mcp status` as one printable line */
	char *ecomp = mcp_escape_dup(component), *ekind = mcp_escape_dup(kind);
	char *efrom = mcp_escape_dup(from), *eto = mcp_escape_dup(to);
	char *edetail = mcp_escape_dup(detail);
	int rc;

	pthread_mutex_lock(&r->mu);
	/* events belong to a deployed service: none for one just undeployed */
	rc = reg_run(r, err, "INSERT INTO events (time, service, component, kind,"
	    " from_state, to_state, detail) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7"
	    " WHERE EXISTS (SELECT 1 FROM services WHERE name = ?2)",
	    "issssss", now_s(), service, ecomp, ekind, efrom, eto, edetail);
	pthread_mutex_unlock(&r->mu);
	free(ecomp);
	free(ekind);
	free(efrom);
	free(eto);
	free(edetail);
	return rc;
}

int
reg_events_list(struct reg *r, const char *service, int limit,
    struct reg_event **out, size_t *n, struct mcp_err *err)
{
	sqlite3_stmt *st;
	struct reg_event *arr = NULL;
	size_t cnt = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&r->mu);
	if (sqlite3_prepare_v2(r->db, service ?
	    "SELECT id, time, service, component, kind, from_state, to_state, detail"
	    " FROM events WHERE service = ?2 ORDER BY id DESC LIMIT ?1" :
	    "SELECT id, time, service, component, kind, from_state, to_state, detail"
	    " FROM events ORDER BY id DESC LIMIT ?1", -1, &st, NULL) != SQLITE_OK) {
		reg_sqlerr(r, err, "read events");
		pthread_mutex_unlock(&r->mu);
		return -1;
	}
	sqlite3_bind_int(st, 1, limit > 0 ? limit : 100);
	if (service)
		sqlite3_bind_text(st, 2, service, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct reg_event *e;

		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			arr = realloc(arr, cap * sizeof(*arr));
			if (arr == NULL)
				abort();
		}
		e = &arr[cnt++];
		memset(e, 0, sizeof(*e));
		e->id = sqlite3_column_int64(st, 0);
		e->time = sqlite3_column_int64(st, 1);
		col_copy(e->service, sizeof(e->service), st, 2);
		col_copy(e->component, sizeof(e->component), st, 3);
		col_copy(e->kind, sizeof(e->kind), st, 4);
		col_copy(e->from_state, sizeof(e->from_state), st, 5);
		col_copy(e->to_state, sizeof(e->to_state), st, 6);
		col_copy(e->detail, sizeof(e->detail), st, 7);
	}
	rc = reg_rows_end(r, st, rc, err, "read events");
	pthread_mutex_unlock(&r->mu);
	if (rc == -1) {
		free(arr);
		return -1;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

int
reg_events_count(struct reg *r, const char *service, const char *component,
    const char *kind, int64_t since, struct mcp_err *err)
{
	sqlite3_stmt *st;
	int n = -1;

	pthread_mutex_lock(&r->mu);
	if (sqlite3_prepare_v2(r->db, "SELECT count(*) FROM events WHERE service = ?"
	    " AND component = ? AND kind = ? AND time >= ?", -1, &st, NULL) != SQLITE_OK) {
		reg_sqlerr(r, err, "read events");
		pthread_mutex_unlock(&r->mu);
		return -1;
	}
	sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, component, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, since);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	else
		reg_sqlerr(r, err, "read events");
	sqlite3_finalize(st);
	pthread_mutex_unlock(&r->mu);
	return n;
}

int
reg_events_counts(struct reg *r, const char *kind, int64_t since,
    struct reg_event_count **out, size_t *n, struct mcp_err *err)
{
	sqlite3_stmt *st;
	struct reg_event_count *arr = NULL;
	size_t cnt = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&r->mu);
	if (sqlite3_prepare_v2(r->db, "SELECT service, component, count(*) FROM"
	    " events WHERE kind = ? AND time >= ? GROUP BY service, component",
	    -1, &st, NULL) != SQLITE_OK) {
		reg_sqlerr(r, err, "read events");
		pthread_mutex_unlock(&r->mu);
		return -1;
	}
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			arr = realloc(arr, cap * sizeof(*arr));
			if (arr == NULL)
				abort();
		}
		col_copy(arr[cnt].service, sizeof(arr[cnt].service), st, 0);
		col_copy(arr[cnt].component, sizeof(arr[cnt].component), st, 1);
		arr[cnt++].count = sqlite3_column_int(st, 2);
	}
	if (reg_rows_end(r, st, rc, err, "read events") == -1) {
		pthread_mutex_unlock(&r->mu);
		free(arr);
		return -1;
	}
	pthread_mutex_unlock(&r->mu);
	*out = arr;
	*n = cnt;
	return 0;
}

int
reg_edge_put(struct reg *r, const struct reg_edge *e, int *changed,
    struct mcp_err *err)
{
	int rc;

	pthread_mutex_lock(&r->mu);
	rc = reg_run(r, err, "INSERT INTO edge_routes (hostname, backend_hostname,"
	    " backend_port, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)"
	    " ON CONFLICT (hostname) DO UPDATE SET backend_hostname = ?2,"
	    " backend_port = ?3, updated_at = ?4 WHERE backend_hostname != ?2"
	    " OR backend_port != ?3", "ssii", e->hostname, e->backend_hostname,
	    (int64_t)e->backend_port, now_s());
	if (changed)
		*changed = rc == 0 && sqlite3_changes(r->db) > 0;
	pthread_mutex_unlock(&r->mu);
	return rc;
}

int
reg_edge_delete(struct reg *r, const char *hostname, struct mcp_err *err)
{
	int rc;

	pthread_mutex_lock(&r->mu);
	rc = reg_run(r, err, "DELETE FROM edge_routes WHERE hostname = ?1", "s",
	    hostname);
	if (rc == 0 && sqlite3_changes(r->db) == 0)
		rc = mcp_err_set(err, MCP_E_NOTFOUND, "no edge route for %s", hostname);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

int
reg_edge_list(struct reg *r, struct reg_edge **out, size_t *n,
    struct mcp_err *err)
{
	sqlite3_stmt *st;
	struct reg_edge *arr = NULL;
	size_t cnt = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&r->mu);
	if (sqlite3_prepare_v2(r->db, "SELECT hostname, backend_hostname,"
	    " backend_port, created_at, updated_at FROM edge_routes"
	    " ORDER BY hostname", -1, &st, NULL) != SQLITE_OK) {
		reg_sqlerr(r, err, "read edge routes");
		pthread_mutex_unlock(&r->mu);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct reg_edge *e;

		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			arr = realloc(arr, cap * sizeof(*arr));
			if (arr == NULL)
				abort();
		}
		e = &arr[cnt++];
		memset(e, 0, sizeof(*e));
		col_copy(e->hostname, sizeof(e->hostname), st, 0);
		col_copy(e->backend_hostname, sizeof(e->backend_hostname), st, 1);
		e->backend_port = sqlite3_column_int(st, 2);
		e->created_at = sqlite3_column_int64(st, 3);
		e->updated_at = sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		reg_sqlerr(r, err, "read edge routes");
		pthread_mutex_unlock(&r->mu);
		free(arr);
		return -1;
	}
	pthread_mutex_unlock(&r->mu);
	*out = arr;
	*n = cnt;
	return 0;
}
