/*
 * master/config.c: read and validate master.toml (see
 * examples/config/master.toml for every key, annotated).  Unknown keys are
 * refused with file:line:key; absent keys keep their defaults.
 */
#include "master/master.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/check.h"
#include "service/service.h"
#include "toml/toml_read.h"
#include "util/buf.h"

static void
master_config_defaults(struct master_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	mcp_strlcpy(cfg->state_dir, "/var/lib/mcp-master", sizeof(cfg->state_dir));
	cfg->operators = xcalloc(3, sizeof(char *));
	cfg->operators[0] = xstrdup("operator");
	cfg->operators[1] = xstrdup("operator-*");
	cfg->allowed_agents = xcalloc(2, sizeof(char *));
	cfg->allowed_agents[0] = xstrdup("agent-*");
	cfg->max_nodes = 16;
	cfg->dns.port = 53;
	mcp_strlcpy(cfg->dns.algorithm, "hmac-sha256", sizeof(cfg->dns.algorithm));
	cfg->dns.ttl = 60;
	cfg->deploy_timeout_s = 300;
	cfg->undeploy_timeout_s = 120;
	cfg->edge_timeout_s = 30;
	cfg->health_timeout_s = 5;
	cfg->heartbeat_interval_s = 30;
	cfg->missed = 3;
	cfg->probe_timeout_s = 5;
	cfg->snapshot_timeout_s = 1800;
	cfg->snapshot_interval_s = 24 * 3600;
	cfg->snapshot_retain = 7;
}

long long
master_parse_duration(const char *s)
{
	long long v = 0, mul = 1;
	const char *p = s;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > 100000000LL)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (*p == '\0' || strcmp(p, "s") == 0)
		mul = 1;
	else if (strcmp(p, "m") == 0)
		mul = 60;
	else if (strcmp(p, "h") == 0)
		mul = 3600;
	else if (strcmp(p, "d") == 0)
		mul = 86400;
	else
		return -1;
	return v * mul;
}

/* [snapshots] interval: an integer (seconds) or a string with a unit. */
static int
read_duration(const struct toml_value *t, const char *key, int *dst,
    const char *path, struct mcp_err *err)
{
	const struct toml_kv *kv = t ? toml_get_kv(t, key) : NULL;
	long long v;

	if (kv == NULL)
		return 0;
	if (kv->val->type == TOML_INTEGER)
		v = kv->val->u.i;
	else if (kv->val->type == TOML_STRING)
		v = master_parse_duration(kv->val->u.s.ptr);
	else
		v = -1;
	if (v < 1 || v > 366LL * 86400)
		return mcp_err_set(err, MCP_E_INVALID, "%s:%d:%d: %s: a duration such "
		    "as \"24h\", \"30m\", \"90s\" or \"7d\" (1 s .. 366 d)", path,
		    kv->line, kv->col, key);
	*dst = (int)v;
	return 0;
}

/* An int key into *dst within [min, max]. */
static int
read_int(const struct toml_value *t, const char *key, int min, int max, int *dst,
    const char *path, struct mcp_err *err)
{
	int64_t v = *dst;

	if (toml_read_int(t, key, min, max, &v, path, err) == -1)
		return -1;
	*dst = (int)v;
	return 0;
}

static int
read_nodes(const struct toml_value *root, struct master_config *cfg,
    const char *path, struct mcp_err *err)
{
	static const char *const node_keys[] = { "name", "address", "role", NULL };
	const struct toml_kv *kv = toml_get_kv(root, "nodes");
	size_t i, j;

	if (kv == NULL)
		return 0;
	if (kv->val->type != TOML_ARRAY)
		return mcp_err_set(err, MCP_E_INVALID, "%s:%d:%d: \"nodes\" must be "
		    "[[nodes]] tables", path, kv->line, kv->col);
	cfg->nboot = kv->val->u.arr.n;
	cfg->boot = xcalloc(cfg->nboot + 1, sizeof(*cfg->boot));
	for (i = 0; i < cfg->nboot; i++) {
		const struct toml_value *n = kv->val->u.arr.items[i];
		struct master_boot_node *b = &cfg->boot[i];

		if (n->type != TOML_TABLE)
			return mcp_err_set(err, MCP_E_INVALID, "%s:%d:%d: [[nodes]] "
			    "entry must be a table", path, n->line, n->col);
		mcp_strlcpy(b->role, "worker", sizeof(b->role));
		if (toml_read_check_keys(n, node_keys, path, "[[nodes]]", err) == -1 ||
		    toml_read_str(n, "name", b->name, sizeof(b->name), path, err) == -1 ||
		    toml_read_str(n, "address", b->address, sizeof(b->address), path, err) == -1 ||
		    toml_read_str(n, "role", b->role, sizeof(b->role), path, err) == -1)
			return -1;
		if (!svc_name_valid(b->name) || b->address[0] == '\0' ||
		    strchr(b->address, ':') == NULL)
			return mcp_err_set(err, MCP_E_INVALID, "%s:%d:%d: [[nodes]] needs "
			    "a valid name and an address host:port", path, n->line, n->col);
		if (strcmp(b->role, "master") && strcmp(b->role, "worker") &&
		    strcmp(b->role, "edge"))
			return mcp_err_set(err, MCP_E_INVALID, "%s:%d:%d: [[nodes]] %s: "
			    "role must be \"master\", \"worker\" or \"edge\"", path,
			    n->line, n->col, b->name);
		for (j = 0; j < i; j++)
			if (strcmp(cfg->boot[j].name, b->name) == 0)
				return mcp_err_set(err, MCP_E_INVALID, "%s:%d:%d: [[nodes]] "
				    "%s is listed twice", path, n->line, n->col, b->name);
	}
	return 0;
}

/* Cross-key checks once everything is read. */
static int
master_config_check(struct master_config *cfg, const char *path, struct mcp_err *err)
{
	const char *why;
	size_t i;

	if (cfg->node[0] == '\0' || !svc_name_valid(cfg->node))
		return mcp_err_set(err, MCP_E_INVALID, "%s: [master] node (the "
		    "master's own node) is required and must be a valid name", path);
	if (cfg->listen[0] == '\0' || strrchr(cfg->listen, ':') == NULL)
		return mcp_err_set(err, MCP_E_INVALID, "%s: [master] listen must be "
		    "host:port", path);
	if (cfg->state_dir[0] != '/')
		return mcp_err_set(err, MCP_E_INVALID, "%s: [master] state_dir must "
		    "be an absolute path", path);
	if (!cfg->tls_ca[0] || !cfg->tls_cert[0] || !cfg->tls_key[0])
		return mcp_err_set(err, MCP_E_INVALID, "%s: [tls] ca, cert and key are "
		    "required (the master serves and calls agents with mutual TLS)", path);
	if (cfg->snapshots_dir[0] == '\0')
		snprintf(cfg->snapshots_dir, sizeof(cfg->snapshots_dir), "%.*s/snapshots",
		    (int)sizeof(cfg->snapshots_dir) - 11, cfg->state_dir);
	else if (cfg->snapshots_dir[0] != '/')
		return mcp_err_set(err, MCP_E_INVALID, "%s: [snapshots] dir must be "
		    "an absolute path", path);
	if ((size_t)cfg->max_nodes < cfg->nboot)
		return mcp_err_set(err, MCP_E_INVALID, "%s: %zu [[nodes]] exceed "
		    "[registration] max_nodes = %d", path, cfg->nboot, cfg->max_nodes);
	for (i = 0; cfg->allowed_domains && cfg->allowed_domains[i]; i++)
		if ((why = svc_check_hostname(cfg->allowed_domains[i])) != NULL)
			return mcp_err_set(err, MCP_E_INVALID, "%s: [edge] allowed_domains: "
			    "\"%s\" %s", path, cfg->allowed_domains[i], why);
	if (cfg->dns.zone[0] && (why = svc_check_hostname(cfg->dns.zone)) != NULL)
		return mcp_err_set(err, MCP_E_INVALID, "%s: [dns] zone \"%s\" %s", path,
		    cfg->dns.zone, why);
	if (cfg->dns.server[0]) {
		cfg->dns.configured = 1;
		if (!cfg->dns.zone[0] || !cfg->dns.key_name[0] || !cfg->dns.secret_file[0])
			return mcp_err_set(err, MCP_E_INVALID, "%s: [dns] server needs "
			    "zone, key_name and secret_file", path);
		if (strcmp(cfg->dns.algorithm, "hmac-sha256") != 0)
			return mcp_err_set(err, MCP_E_INVALID, "%s: [dns] algorithm must "
			    "be \"hmac-sha256\"", path);
	}
	return 0;
}

int
master_config_load(const char *path, struct master_config *cfg, struct mcp_err *err)
{
	static const char *const top[] = { "master", "tls", "auth", "registration",
		"dns", "edge", "timeouts", "health", "snapshots", "nodes", NULL };
	static const char *const master_keys[] = { "node", "listen", "state_dir", NULL };
	static const char *const auth_keys[] = { "operators", NULL };
	static const char *const reg_keys[] = { "allowed_agents", "max_nodes", NULL };
	static const char *const dns_keys[] = { "server", "port", "zone", "key_name",
		"algorithm", "secret_file", "ttl", NULL };
	static const char *const edge_keys[] = { "allowed_domains", NULL };
	static const char *const to_keys[] = { "deploy", "undeploy", "edge_route",
		"health_check", "snapshot", NULL };
	static const char *const snap_keys[] = { "dir", "interval", "retain", NULL };
	static const char *const health_keys[] = { "heartbeat_interval", "missed",
		"probe_timeout", NULL };
	const struct toml_value *root, *t;
	int rc = -1;

	master_config_defaults(cfg);
	if ((root = toml_read_file(path, "master config", err)) == NULL) {
		master_config_free(cfg);
		return -1;
	}
	if (toml_read_check_keys(root, top, path, "the top level", err) == -1)
		goto out;
	if (toml_read_table(root, "master", &t, path, err) == -1 ||
	    toml_read_check_keys(t, master_keys, path, "[master]", err) == -1 ||
	    toml_read_str(t, "node", cfg->node, sizeof(cfg->node), path, err) == -1 ||
	    toml_read_str(t, "listen", cfg->listen, sizeof(cfg->listen), path, err) == -1 ||
	    toml_read_str(t, "state_dir", cfg->state_dir, sizeof(cfg->state_dir), path, err) == -1)
		goto out;
	if (toml_read_tls(root, path, cfg->tls_ca, cfg->tls_cert, cfg->tls_key,
	    MASTER_PATH_MAX, err) == -1)
		goto out;
	if (toml_read_table(root, "auth", &t, path, err) == -1 ||
	    toml_read_check_keys(t, auth_keys, path, "[auth]", err) == -1 ||
	    toml_read_strv(t, "operators", &cfg->operators, path, err) == -1)
		goto out;
	if (toml_read_table(root, "registration", &t, path, err) == -1 ||
	    toml_read_check_keys(t, reg_keys, path, "[registration]", err) == -1 ||
	    toml_read_strv(t, "allowed_agents", &cfg->allowed_agents, path, err) == -1 ||
	    read_int(t, "max_nodes", 1, MASTER_NODES_MAX, &cfg->max_nodes, path, err) == -1)
		goto out;
	if (toml_read_table(root, "dns", &t, path, err) == -1 ||
	    toml_read_check_keys(t, dns_keys, path, "[dns]", err) == -1 ||
	    toml_read_str(t, "server", cfg->dns.server, sizeof(cfg->dns.server), path, err) == -1 ||
	    read_int(t, "port", 1, 65535, &cfg->dns.port, path, err) == -1 ||
	    toml_read_str(t, "zone", cfg->dns.zone, sizeof(cfg->dns.zone), path, err) == -1 ||
	    toml_read_str(t, "key_name", cfg->dns.key_name, sizeof(cfg->dns.key_name), path, err) == -1 ||
	    toml_read_str(t, "algorithm", cfg->dns.algorithm, sizeof(cfg->dns.algorithm), path, err) == -1 ||
	    toml_read_str(t, "secret_file", cfg->dns.secret_file, sizeof(cfg->dns.secret_file), path, err) == -1 ||
	    read_int(t, "ttl", 1, 86400, &cfg->dns.ttl, path, err) == -1)
		goto out;
	if (toml_read_table(root, "edge", &t, path, err) == -1 ||
	    toml_read_check_keys(t, edge_keys, path, "[edge]", err) == -1 ||
	    toml_read_strv(t, "allowed_domains", &cfg->allowed_domains, path, err) == -1)
		goto out;
	if (toml_read_table(root, "timeouts", &t, path, err) == -1 ||
	    toml_read_check_keys(t, to_keys, path, "[timeouts]", err) == -1 ||
	    read_int(t, "deploy", 1, 3600, &cfg->deploy_timeout_s, path, err) == -1 ||
	    read_int(t, "undeploy", 1, 3600, &cfg->undeploy_timeout_s, path, err) == -1 ||
	    read_int(t, "edge_route", 1, 600, &cfg->edge_timeout_s, path, err) == -1 ||
	    read_int(t, "health_check", 1, 600, &cfg->health_timeout_s, path, err) == -1 ||
	    read_int(t, "snapshot", 1, 86400, &cfg->snapshot_timeout_s, path, err) == -1)
		goto out;
	if (toml_read_table(root, "snapshots", &t, path, err) == -1 ||
	    toml_read_check_keys(t, snap_keys, path, "[snapshots]", err) == -1 ||
	    toml_read_str(t, "dir", cfg->snapshots_dir, sizeof(cfg->snapshots_dir), path, err) == -1 ||
	    read_duration(t, "interval", &cfg->snapshot_interval_s, path, err) == -1 ||
	    read_int(t, "retain", 1, 10000, &cfg->snapshot_retain, path, err) == -1)
		goto out;
	if (toml_read_table(root, "health", &t, path, err) == -1 ||
	    toml_read_check_keys(t, health_keys, path, "[health]", err) == -1 ||
	    read_int(t, "heartbeat_interval", 1, 3600, &cfg->heartbeat_interval_s, path, err) == -1 ||
	    read_int(t, "missed", 1, 100, &cfg->missed, path, err) == -1 ||
	    read_int(t, "probe_timeout", 1, 600, &cfg->probe_timeout_s, path, err) == -1)
		goto out;
	if (read_nodes(root, cfg, path, err) == -1 ||
	    master_config_check(cfg, path, err) == -1)
		goto out;
	rc = 0;
out:
	toml_free((struct toml_value *)root);
	if (rc == -1)
		master_config_free(cfg);
	return rc;
}

void
master_config_free(struct master_config *cfg)
{
	toml_strv_free(cfg->operators);
	toml_strv_free(cfg->allowed_agents);
	toml_strv_free(cfg->allowed_domains);
	free(cfg->boot);
	cfg->operators = cfg->allowed_agents = cfg->allowed_domains = NULL;
	cfg->boot = NULL;
	cfg->nboot = 0;
}
