/*
 * agent/proxy.c: the node proxy as the agent sees it (SPEC §4.3).  The
 * registry is the only source of truth: every change (deploy, stop,
 * start, restart, undeploy, edge routes) ends in agent_proxy_sync, which
 * builds the route rows from the registry, makes sure each terminated
 * hostname has a certificate from the node's intermediate, renders the
 * files (proxy/render.c, pure) and has the driver (proxy/haproxy.c)
 * apply them whole: write, check, start or reload hitlessly.  Syncs are
 * coalesced: callers asking while one runs share the next (see
 * agent_proxy_sync), so many routes added at once cost few reloads.  The monitor
 * calls agent_proxy_tick to bring a dead HAProxy back and renew
 * certificates.  Without [proxy] enabled nothing here runs and routes
 * keep their host ports only.
 */
#include "agent/agent.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pki/pki_issuer.h"
#include "proxy/render.h"
#include "service/check.h"
#include "util/log.h"

/* How often the monitor re-checks every certificate for renewal. */
#define PROXY_RENEW_CHECK_S 3600

/* One route row with the storage its pointers point into. */
struct row {
	struct proxy_route r;
	char instance[SVC_INSTANCE_MAX];
	char route[64];
	char backend[96];
	char *names[2];
};

struct rowset {
	struct row *rows;
	size_t n, cap;
	struct proxy_route *flat;	/* rows[i].r, contiguous, for the renderer */
};

static void
rowset_free(struct rowset *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		free(rs->rows[i].names[0]);
		free(rs->rows[i].names[1]);
	}
	free(rs->rows);
	free(rs->flat);
	memset(rs, 0, sizeof(*rs));
}

void
agent_route_default_hostname(struct agent *a, const char *instance, char *out,
    size_t outsz)
{
	snprintf(out, outsz, "%s.%s", instance, a->cfg.proxy.zone);
}

void
agent_route_backend(const struct reg_component *rc, const struct reg_route *r,
    char *out, size_t outsz)
{
	if (rc->vm_ip[0])
		snprintf(out, outsz, "%s:%d", rc->vm_ip, r->port);	/* bridged VM */
	else if (r->host_port > 0)
		snprintf(out, outsz, "127.0.0.1:%d", r->host_port);
	else
		out[0] = '\0';
}

static struct row *
row_add(struct rowset *rs, struct agent *a, const char *service,
    const char *component, const char *route, int port, const char *mode,
    const char *hostname, int public, const char *backend, int up)
{
	struct row *w;
	char def[512];

	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 16;
		rs->rows = realloc(rs->rows, rs->cap * sizeof(*rs->rows));
		if (rs->rows == NULL)
			abort();
	}
	w = &rs->rows[rs->n++];
	memset(w, 0, sizeof(*w));
	svc_instance_name(w->instance, sizeof(w->instance), service, component);
	mcp_strlcpy(w->route, route, sizeof(w->route));
	mcp_strlcpy(w->backend, backend, sizeof(w->backend));
	agent_route_default_hostname(a, w->instance, def, sizeof(def));
	w->names[0] = xstrdup(def);
	/* a public hostname is served by an edge node, never here */
	if (hostname && hostname[0] && !public && strcmp(hostname, def) != 0)
		w->names[1] = xstrdup(hostname);
	w->r.port = port;
	w->r.mode = strcmp(mode, "l7") == 0 ? PROXY_L7 : PROXY_L4;
	w->r.nhostnames = w->names[1] ? 2 : 1;
	w->r.up = up;
	return w;
}

/* Point every row's strings at its own storage, and lay them out flat. */
static void
rowset_fix(struct rowset *rs)
{
	size_t i;

	free(rs->flat);
	rs->flat = xcalloc(rs->n + 1, sizeof(*rs->flat));
	for (i = 0; i < rs->n; i++) {
		struct row *w = &rs->rows[i];

		w->r.instance = w->instance;
		w->r.route = w->route;
		w->r.backend = w->backend;
		w->r.hostnames = (const char *const *)w->names;
		rs->flat[i] = w->r;
	}
}

/* Rows of every deployed service but skip (NULL: all). */
static int
rows_from_registry(struct agent *a, const char *skip, struct rowset *rs,
    struct mcp_err *err)
{
	struct reg_service *svcs = NULL;
	size_t n = 0, i, j, k;

	if (reg_service_list(a->reg, &svcs, &n, err) == -1)
		return mcp_err_prefix(err, "proxy: routes");
	for (i = 0; i < n; i++) {
		if (skip && strcmp(svcs[i].name, skip) == 0)
			continue;
		for (j = 0; j < svcs[i].ncomponents; j++) {
			const struct reg_component *rc = &svcs[i].components[j];

			for (k = 0; k < rc->nroutes; k++) {
				const struct reg_route *r = &rc->routes[k];
				char be[96];

				agent_route_backend(rc, r, be, sizeof(be));
				if (be[0] == '\0')
					continue;	/* no way to reach it (yet) */
				row_add(rs, a, svcs[i].name, rc->name, r->name, r->port,
				    r->mode, r->hostname, r->public, be,
				    svcs[i].active && strcmp(rc->desired, "running") == 0);
			}
		}
	}
	reg_services_free(svcs, n);
	return 0;
}

static void
settings_of(struct agent *a, struct proxy_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->dir = a->proxy.dir;
	s->bind = (const char *const *)a->cfg.proxy.bind;
	for (s->nbind = 0; s->bind && s->bind[s->nbind]; s->nbind++)
		;
	s->ca_file = a->cfg.proxy.ca;
	s->resolvers = (const char *const *)a->cfg.proxy.resolvers;
	for (s->nresolvers = 0; s->resolvers && s->resolvers[s->nresolvers];
	    s->nresolvers++)
		;
	s->public_port = a->cfg.proxy.public_port;
}

int
agent_proxy_init(struct agent *a, struct mcp_err *err)
{
	char dir[CFG_PATH_MAX + 16];
	pid_t pid;

	if (!a->cfg.proxy.enabled)
		return 0;
	snprintf(dir, sizeof(dir), "%s/proxy", a->cfg.state_dir);
	if (proxy_driver_init(&a->proxy, a->cfg.proxy.haproxy, dir, 10000, err) == -1)
		return -1;
	if (proxy_driver_set_scope(&a->proxy, a->systemd_scope ? a->cfg.node : NULL,
	    err) == -1) {
		proxy_driver_free(&a->proxy);
		return -1;
	}
	if (a->cfg.proxy.issuer_cert[0] && pki_issuer_load(a->cfg.proxy.issuer_cert,
	    a->cfg.proxy.issuer_key, &a->issuer, err) == -1) {
		proxy_driver_free(&a->proxy);
		return mcp_err_prefix(err, "[proxy] issuer");
	}
	a->proxy_on = 1;
	if ((pid = proxy_driver_pid(&a->proxy)) > 0)
		log_info("proxy: HAProxy running (pid %d), found again", (int)pid);
	return 0;
}

void
agent_proxy_free(struct agent *a)
{
	if (!a->proxy_on)
		return;
	pki_issuer_free(a->issuer);
	a->issuer = NULL;
	free(a->proxy_health);
	a->proxy_health = NULL;
	a->proxy_nhealth = 0;
	proxy_driver_free(&a->proxy);	/* HAProxy itself keeps running */
	a->proxy_on = 0;
}

/* Terminated hostnames need a certificate this node can issue. */
static int
check_names(struct agent *a, const struct rowset *rs, const char *service,
    struct mcp_err *err)
{
	size_t i, j;

	for (i = 0; i < rs->n; i++) {
		const struct row *w = &rs->rows[i];

		if (w->r.mode != PROXY_L7)
			continue;
		for (j = 0; j < w->r.nhostnames; j++) {
			if (a->issuer == NULL)
				return mcp_err_set(err, MCP_E_PRECONDITION, "deploy %s: route %s "
				    "is l7 but node %s has no certificate issuer ([proxy] "
				    "issuer_cert, issuer_key)", service, w->instance,
				    a->cfg.node);
			if (pki_issuer_check(a->issuer, w->names[j], err) == -1)
				return mcp_err_prefix(err, "deploy %s: route %s", service,
				    w->route[0] ? w->route : w->instance);
		}
	}
	return 0;
}

int
agent_proxy_check(struct agent *a, const struct svc_def *def,
    struct mcp_err *err)
{
	struct rowset rs = { 0 }, mine = { 0 };
	struct proxy_settings s;
	struct proxy_files out;
	size_t i, j;
	int rc = -1;

	if (!a->proxy_on)
		return 0;
	if (rows_from_registry(a, def->name, &rs, err) == -1)
		goto out;
	for (i = 0; i < def->ncomponents; i++)
		for (j = 0; j < def->components[i].nroutes; j++) {
			const struct svc_route *r = &def->components[i].routes[j];

			/* the backend is not known yet: any address will do */
			row_add(&rs, a, def->name, def->components[i].name, r->name,
			    r->port, r->mode, r->hostname, r->public, "127.0.0.1:1", 1);
			row_add(&mine, a, def->name, def->components[i].name, r->name,
			    r->port, r->mode, r->hostname, r->public, "127.0.0.1:1", 1);
		}
	rowset_fix(&rs);
	rowset_fix(&mine);
	if (check_names(a, &mine, def->name, err) == -1)
		goto out;
	settings_of(a, &s);
	if (proxy_render(&s, rs.flat, rs.n, NULL, 0, &out, err) == -1) {
		mcp_err_prefix(err, "deploy %s", def->name);
		goto out;
	}
	proxy_files_free(&out);
	rc = 0;
out:
	rowset_free(&rs);
	rowset_free(&mine);
	return rc;
}

/* The bundle of a terminated hostname, absolute. */
static void
cert_path(struct agent *a, const char *hostname, char *out, size_t outsz)
{
	char name[300];

	proxy_cert_name(name, sizeof(name), hostname);
	snprintf(out, outsz, "%s/%s", a->proxy.dir, name);
}

static int
ensure_cert(struct agent *a, const char *hostname, int64_t now, int *changed,
    struct mcp_err *err)
{
	char path[CFG_PATH_MAX + 400];
	int issued = 0;

	if (a->issuer == NULL)
		return mcp_err_set(err, MCP_E_PRECONDITION, "proxy: %s is terminated "
		    "here but node %s has no certificate issuer ([proxy] issuer_cert, "
		    "issuer_key)", hostname, a->cfg.node);
	cert_path(a, hostname, path, sizeof(path));
	if (pki_leaf_ensure(a->issuer, hostname, path, now, &issued, NULL, err) == -1)
		return mcp_err_prefix(err, "proxy: certificate for %s", hostname);
	if (issued) {
		log_info("proxy: issued a certificate for %s", hostname);
		*changed = 1;
	}
	return 0;
}

/* Issue or renew what the rows and edges terminate; *changed when a
 * bundle was written. */
static int
ensure_certs(struct agent *a, const struct rowset *rs,
    const struct reg_edge *edges, size_t nedges, int *changed,
    struct mcp_err *err)
{
	int64_t now = (int64_t)time(NULL);
	size_t i, j;

	for (i = 0; i < rs->n; i++)
		for (j = 0; rs->rows[i].r.mode == PROXY_L7 &&
		    j < rs->rows[i].r.nhostnames; j++)
			if (ensure_cert(a, rs->rows[i].names[j], now, changed, err) == -1)
				return -1;
	for (i = 0; i < nedges; i++)
		if (ensure_cert(a, edges[i].hostname, now, changed, err) == -1)
			return -1;
	return 0;
}

/* Remove bundles no route terminates any more. */
static void
prune_certs(struct agent *a, const struct rowset *rs,
    const struct reg_edge *edges, size_t nedges)
{
	char dir[CFG_PATH_MAX + 32], want[300];
	struct dirent *de;
	DIR *dp;
	size_t i, j;

	snprintf(dir, sizeof(dir), "%s/certs", a->proxy.dir);
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		int used = 0;
		char path[sizeof(dir) + 300];

		if (de->d_name[0] == '.')
			continue;
		for (i = 0; i < rs->n && !used; i++)
			for (j = 0; j < rs->rows[i].r.nhostnames && !used; j++) {
				snprintf(want, sizeof(want), "%s.pem", rs->rows[i].names[j]);
				used = rs->rows[i].r.mode == PROXY_L7 &&
				    strcmp(want, de->d_name) == 0;
			}
		for (i = 0; i < nedges && !used; i++) {
			snprintf(want, sizeof(want), "%s.pem", edges[i].hostname);
			used = strcmp(want, de->d_name) == 0;
		}
		if (used)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) == 0)
			log_info("proxy: removed the certificate %s", de->d_name);
	}
	closedir(dp);
}

/* One sync: the registry as it is now, rendered and applied whole.
 * *line gets "proxy: ACTION (...)" when HAProxy was touched.  Only
 * agent_proxy_sync calls it, one at a time; it holds no lock that status
 * needs, so status does not wait for a reload. */
static int
sync_once(struct agent *a, char *line, size_t linesz, struct mcp_err *err)
{
	struct rowset rs = { 0 };
	struct proxy_settings s;
	struct proxy_files out = { 0 };
	struct reg_edge *edges = NULL;
	struct proxy_edge *pe = NULL;
	const char *action = "unchanged";
	size_t nedges = 0, i;
	int rc = -1, certs_changed = 0;

	if (!a->proxy_on)
		return 0;
	if (rows_from_registry(a, NULL, &rs, err) == -1)
		goto out;
	if (reg_edge_list(a->reg, &edges, &nedges, err) == -1) {
		mcp_err_prefix(err, "proxy: edge routes");
		goto out;
	}
	rowset_fix(&rs);
	if (rs.n + nedges > 0)
		a->proxy_wanted = 1;	/* until a sync says otherwise */
	/* nothing to serve and nothing running: HAProxy is started lazily */
	if (rs.n + nedges == 0 && proxy_driver_pid(&a->proxy) == 0) {
		rc = 0;
		goto out;
	}
	if (ensure_certs(a, &rs, edges, nedges, &certs_changed, err) == -1)
		goto out;
	pe = xcalloc(nedges + 1, sizeof(*pe));
	for (i = 0; i < nedges; i++)
		pe[i] = (struct proxy_edge){ edges[i].hostname,
		    edges[i].backend_hostname, edges[i].backend_port };
	settings_of(a, &s);
	if (proxy_render(&s, rs.flat, rs.n, pe, nedges, &out, err) == -1 ||
	    proxy_driver_apply(&a->proxy, &out, certs_changed, &action, err) == -1)
		goto out;
	prune_certs(a, &rs, edges, nedges);
	a->proxy_synced_at = (int64_t)time(NULL);
	a->proxy_wanted = rs.n + nedges > 0;
	if (strcmp(action, "unchanged") != 0)
		snprintf(line, linesz, "proxy: %s (%zu routes, %zu edge routes)",
		    action, rs.n, nedges);
	rc = 0;
out:
	proxy_files_free(&out);
	rowset_free(&rs);
	free(edges);
	free(pe);
	return rc;
}

/*
 * Coalesced: every caller changed the registry before asking, so a sync
 * that starts after its ask covers its change.  A caller that asks while
 * a sync runs waits; when that sync ends, one waiter runs the next sync
 * for everyone who asked meanwhile.  Each caller gets the outcome of the
 * first sync that started after its ask: success means its change is
 * live, an error is that sync's error (which may come from another
 * caller's change in the same batch).  n changes arriving during a reload
 * cost one more reload, not n.
 */
int
agent_proxy_sync(struct agent *a, struct buf *actions, struct mcp_err *err)
{
	uint64_t mine;
	size_t batch;
	int rc;

	if (!a->proxy_on)
		return 0;
	pthread_mutex_lock(&a->proxy_batch_mu);
	mine = ++a->proxy_asked;
	while (a->proxy_done < mine) {
		if (a->proxy_running) {
			pthread_cond_wait(&a->proxy_batch_cv, &a->proxy_batch_mu);
			continue;
		}
		{
			uint64_t upto = a->proxy_asked, first = a->proxy_done + 1;
			struct mcp_err e = MCP_ERR_INIT;
			char line[160] = "";
			int r;

			a->proxy_running = 1;
			pthread_mutex_unlock(&a->proxy_batch_mu);
			r = sync_once(a, line, sizeof(line), &e);
			pthread_mutex_lock(&a->proxy_batch_mu);
			a->proxy_running = 0;
			a->proxy_done = upto;
			a->proxy_last_rc = r;
			a->proxy_last_err = e;
			mcp_strlcpy(a->proxy_last_action, line,
			    sizeof(a->proxy_last_action));
			a->proxy_last_batch = (size_t)(upto - first + 1);
			a->proxy_syncs++;
			if (line[0])
				log_info("%s%s", line, upto > first ?
				    " (one sync for several changes)" : "");
			pthread_cond_broadcast(&a->proxy_batch_cv);
		}
	}
	rc = a->proxy_last_rc;
	batch = a->proxy_last_batch;
	if (rc == -1)
		*err = a->proxy_last_err;
	else if (actions && a->proxy_last_action[0]) {
		if (batch > 1)
			buf_printf(actions, "%s, together with %zu other change%s\n",
			    a->proxy_last_action, batch - 1, batch > 2 ? "s" : "");
		else
			buf_printf(actions, "%s\n", a->proxy_last_action);
	}
	pthread_mutex_unlock(&a->proxy_batch_mu);
	return rc;
}

/* ---- edge routes (RPCs callable by mcp-master only) ---- */

static int
allowed_domain(struct agent *a, const char *hostname)
{
	size_t i;

	for (i = 0; a->cfg.proxy.allowed_domains && a->cfg.proxy.allowed_domains[i]; i++)
		if (svc_domain_under(hostname, a->cfg.proxy.allowed_domains[i]))
			return 1;
	return 0;
}

static int
edge_check(struct agent *a, const char *hostname, const char *backend,
    int port, int backend_tls, struct mcp_err *err)
{
	const char *why;

	if (!a->proxy_on || !a->cfg.proxy.edge)
		return mcp_err_set(err, MCP_E_PRECONDITION, "edge route %s: node %s is "
		    "not an edge node ([proxy] edge = true)", hostname, a->cfg.node);
	if ((why = svc_check_hostname(hostname)) != NULL)
		return mcp_err_set(err, MCP_E_INVALID, "edge route: hostname \"%s\" %s",
		    hostname, why);
	if (!allowed_domain(a, hostname))
		return mcp_err_set(err, MCP_E_PERM, "edge route %s: not under this "
		    "node's allowed_domains", hostname);
	if ((why = svc_check_hostname(backend)) != NULL)
		return mcp_err_set(err, MCP_E_INVALID, "edge route %s: backend hostname "
		    "\"%s\" %s", hostname, backend, why);
	if (!svc_domain_under(backend, a->cfg.proxy.zone))
		return mcp_err_set(err, MCP_E_INVALID, "edge route %s: backend %s is not "
		    "under the internal zone %s", hostname, backend, a->cfg.proxy.zone);
	if (port < 1 || port > 65535)
		return mcp_err_set(err, MCP_E_INVALID, "edge route %s: backend port %d "
		    "is not in 1..65535", hostname, port);
	if (!backend_tls)
		return mcp_err_set(err, MCP_E_INVALID, "edge route %s: backend_tls must "
		    "be true (the edge re-encrypts to the backend node's proxy)", hostname);
	if (a->cfg.proxy.resolvers == NULL || a->cfg.proxy.resolvers[0] == NULL)
		return mcp_err_set(err, MCP_E_PRECONDITION, "edge route %s: [proxy] "
		    "resolvers is empty: the backend name cannot be resolved", hostname);
	if (a->issuer == NULL)
		return mcp_err_set(err, MCP_E_PRECONDITION, "edge route %s: node %s has "
		    "no certificate issuer", hostname, a->cfg.node);
	if (pki_issuer_check(a->issuer, hostname, err) == -1)
		return mcp_err_prefix(err, "edge route %s", hostname);
	return 0;
}

/* Find hostname among the rows; out filled when found. */
static int
edge_find(struct agent *a, const char *hostname, struct reg_edge *out,
    struct mcp_err *err)
{
	struct reg_edge *all = NULL;
	size_t n = 0, i;
	int found = 0;

	if (reg_edge_list(a->reg, &all, &n, err) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(all[i].hostname, hostname) == 0) {
			*out = all[i];
			found = 1;
		}
	free(all);
	return found;
}

int
agent_edge_setup(struct agent *a, const char *hostname, const char *backend,
    int port, int backend_tls, struct buf *actions, struct mcp_err *err)
{
	struct reg_edge e, prev;
	struct mcp_err uerr = MCP_ERR_INIT;
	int existed, changed = 0;

	if (edge_check(a, hostname, backend, port, backend_tls, err) == -1)
		return -1;
	pthread_mutex_lock(&a->edge_mu);
	if ((existed = edge_find(a, hostname, &prev, err)) == -1)
		goto fail;
	memset(&e, 0, sizeof(e));
	mcp_strlcpy(e.hostname, hostname, sizeof(e.hostname));
	mcp_strlcpy(e.backend_hostname, backend, sizeof(e.backend_hostname));
	e.backend_port = port;
	if (reg_edge_put(a->reg, &e, &changed, err) == -1)
		goto fail;
	if (agent_proxy_sync(a, actions, err) == -1) {
		/* nothing changed: the previous row (or none) is back */
		if (existed ? reg_edge_put(a->reg, &prev, NULL, &uerr) :
		    reg_edge_delete(a->reg, hostname, &uerr))
			log_warnx("edge route %s: undo: %s", hostname, uerr.msg);
		mcp_err_prefix(err, "edge route %s", hostname);
		goto fail;
	}
	pthread_mutex_unlock(&a->edge_mu);
	buf_printf(actions, "edge route %s -> %s:%d: %s\n", hostname, backend, port,
	    !existed ? "added" : changed ? "updated" : "unchanged");
	log_info("edge route %s -> %s:%d %s", hostname, backend, port,
	    !existed ? "added" : changed ? "updated" : "unchanged");
	return 0;
fail:
	pthread_mutex_unlock(&a->edge_mu);
	return -1;
}

int
agent_edge_remove(struct agent *a, const char *hostname, struct buf *actions,
    struct mcp_err *err)
{
	struct reg_edge prev;
	struct mcp_err uerr = MCP_ERR_INIT;
	int rc;

	if (!a->proxy_on || !a->cfg.proxy.edge)
		return mcp_err_set(err, MCP_E_PRECONDITION, "edge route %s: node %s is "
		    "not an edge node", hostname, a->cfg.node);
	pthread_mutex_lock(&a->edge_mu);
	if ((rc = edge_find(a, hostname, &prev, err)) <= 0) {
		if (rc == 0)
			mcp_err_set(err, MCP_E_NOTFOUND, "no edge route for %s on node %s",
			    hostname, a->cfg.node);
		pthread_mutex_unlock(&a->edge_mu);
		return -1;
	}
	if (reg_edge_delete(a->reg, hostname, err) == -1 ||
	    agent_proxy_sync(a, actions, err) == -1) {
		if (reg_edge_put(a->reg, &prev, NULL, &uerr) == -1)
			log_warnx("edge route %s: undo: %s", hostname, uerr.msg);
		pthread_mutex_unlock(&a->edge_mu);
		return mcp_err_prefix(err, "remove edge route %s", hostname);
	}
	pthread_mutex_unlock(&a->edge_mu);
	buf_printf(actions, "edge route %s: removed\n", hostname);
	log_info("edge route %s removed", hostname);
	return 0;
}

int
agent_edge_cert(struct agent *a, const char *hostname, char *serial,
    size_t serialsz, int64_t *not_after)
{
	struct pki_cert_info info;
	struct mcp_err err = MCP_ERR_INIT;
	char path[CFG_PATH_MAX + 400];

	serial[0] = '\0';
	*not_after = 0;
	if (!a->proxy_on)
		return -1;
	cert_path(a, hostname, path, sizeof(path));
	if (pki_cert_info(path, &info, &err) == -1)
		return -1;
	mcp_strlcpy(serial, info.serial, serialsz);
	*not_after = info.not_after;
	return 0;
}

/* Refresh the health snapshot status reads (the monitor, once a pass). */
static void
health_refresh(struct agent *a)
{
	struct proxy_server_state *st = NULL;
	struct buf b = BUF_INIT;
	struct mcp_err err = MCP_ERR_INIT;
	size_t n = 0;

	if (proxy_driver_pid(&a->proxy) == 0 ||
	    proxy_driver_admin(&a->proxy, "show stat", &b, &err) == -1 ||
	    proxy_parse_stat(b.data, &st, &n, &err) == -1) {
		st = NULL;
		n = 0;
	}
	buf_free(&b);
	pthread_mutex_lock(&a->proxy_mu);
	free(a->proxy_health);
	a->proxy_health = st;
	a->proxy_nhealth = n;
	pthread_mutex_unlock(&a->proxy_mu);
}

void
agent_proxy_tick(struct agent *a)
{
	struct mcp_err err = MCP_ERR_INIT;
	int64_t now = (int64_t)time(NULL);
	int dead;

	if (!a->proxy_on)
		return;
	dead = a->proxy_wanted && proxy_driver_pid(&a->proxy) == 0;
	if (dead || now - a->proxy_synced_at >= PROXY_RENEW_CHECK_S) {
		if (dead)
			log_warnx("proxy: HAProxy is not running; starting it again");
		if (agent_proxy_sync(a, NULL, &err) == -1)
			log_warnx("monitor: %s", err.msg);
	}
	health_refresh(a);
}

void
agent_proxy_backend_health(struct agent *a, const char *backend, char *out,
    size_t outsz)
{
	size_t i;

	out[0] = '\0';
	pthread_mutex_lock(&a->proxy_mu);
	for (i = 0; i < a->proxy_nhealth; i++)
		if (strcmp(a->proxy_health[i].backend, backend) == 0)
			mcp_strlcpy(out, a->proxy_health[i].status, outsz);
	pthread_mutex_unlock(&a->proxy_mu);
}

void
agent_route_info(struct agent *a, const char *instance,
    const struct reg_component *rc, const struct reg_route *r, int active,
    struct agent_route_info *out)
{
	char be[160];

	memset(out, 0, sizeof(*out));
	if (!a->proxy_on)
		return;
	agent_route_default_hostname(a, instance, out->hostnames[0],
	    sizeof(out->hostnames[0]));
	out->nhostnames = 1;
	if (r->hostname[0] && !r->public && strcmp(r->hostname, out->hostnames[0]))
		mcp_strlcpy(out->hostnames[out->nhostnames++], r->hostname,
		    sizeof(out->hostnames[0]));
	snprintf(out->listener, sizeof(out->listener), "%s:%d",
	    a->cfg.proxy.bind && a->cfg.proxy.bind[0] ? a->cfg.proxy.bind[0] : "*",
	    r->port);
	agent_route_backend(rc, r, out->backend, sizeof(out->backend));
	proxy_backend_name(be, sizeof(be), instance, r->name, r->port);
	agent_proxy_backend_health(a, be, out->health, sizeof(out->health));
	/* stopped on purpose: say so rather than HAProxy's "MAINT" */
	if (!active || strcmp(rc->desired, "running") != 0)
		mcp_strlcpy(out->health, "stopped", sizeof(out->health));
}
