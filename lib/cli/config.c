/*
 * cli/config.c: the CLI's configuration file (SPEC §7):
 *
 *   [master]
 *   address = "master.example.net:9555"
 *   [[nodes]]
 *   name = "local"
 *   address = "unix:/var/lib/mcp/agent.sock"   # or "host:port" (mutual TLS)
 *   [services]
 *   dir = "/etc/mcp/services"
 *   [tls]
 *   ca = "..."  cert = "..."  key = "..."
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/service.h"
#include "toml/toml_read.h"
#include "util/buf.h"
#include "util/file.h"

static void
config_default(struct cli_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nodes = xcalloc(1, sizeof(*cfg->nodes));
	cfg->nnodes = 1;
	mcp_strlcpy(cfg->nodes[0].name, "local", sizeof(cfg->nodes[0].name));
	mcp_strlcpy(cfg->nodes[0].address, "unix:/var/lib/mcp/agent.sock",
	    sizeof(cfg->nodes[0].address));
	mcp_strlcpy(cfg->services_dir, "services", sizeof(cfg->services_dir));
}

int
cli_config_load(const char *path, struct cli_config *cfg, struct mcp_err *err)
{
	static const char *const top[] = { "master", "nodes", "services", "tls", NULL };
	static const char *const master_keys[] = { "address", NULL };
	static const char *const node_keys[] = { "name", "address", NULL };
	static const char *const svc_keys[] = { "dir", NULL };
	static const char *const tls_keys[] = { "ca", "cert", "key", NULL };
	char home[512];
	const struct toml_value *root, *t;
	const struct toml_kv *nodes;
	struct buf text = BUF_INIT;
	size_t i;
	int rc = -1;

	config_default(cfg);
	if (path == NULL)
		path = getenv("MCP_CONFIG");
	if (path == NULL && getenv("HOME")) {
		snprintf(home, sizeof(home), "%s/.config/mcp/mcp.toml", getenv("HOME"));
		if (access(home, R_OK) == 0)
			path = home;
	}
	/* the system-wide one a package installs (a conffile) */
	if (path == NULL && access(CLI_CONFIG_SYSTEM, R_OK) == 0)
		path = CLI_CONFIG_SYSTEM;
	if (path == NULL)
		return 0;
	mcp_strlcpy(cfg->path, path, sizeof(cfg->path));
	if (file_read(path, &text, 1 << 20, err) == -1) {
		cli_config_free(cfg);
		return mcp_err_prefix(err, "config");
	}
	root = toml_parse(text.data, text.len, path, err);
	buf_free(&text);
	if (root == NULL) {
		cli_config_free(cfg);
		return -1;
	}
	if (toml_read_check_keys(root, top, path, "the top level", err) == -1 ||
	    toml_read_table(root, "master", &t, path, err) == -1 ||
	    toml_read_check_keys(t, master_keys, path, "[master]", err) == -1 ||
	    toml_read_str(t, "address", cfg->master, sizeof(cfg->master), path, err) == -1 ||
	    toml_read_table(root, "services", &t, path, err) == -1 ||
	    toml_read_check_keys(t, svc_keys, path, "[services]", err) == -1 ||
	    toml_read_str(t, "dir", cfg->services_dir, sizeof(cfg->services_dir), path, err) == -1 ||
	    toml_read_table(root, "tls", &t, path, err) == -1 ||
	    toml_read_check_keys(t, tls_keys, path, "[tls]", err) == -1 ||
	    toml_read_str(t, "ca", cfg->tls_ca, sizeof(cfg->tls_ca), path, err) == -1 ||
	    toml_read_str(t, "cert", cfg->tls_cert, sizeof(cfg->tls_cert), path, err) == -1 ||
	    toml_read_str(t, "key", cfg->tls_key, sizeof(cfg->tls_key), path, err) == -1)
		goto out;
	nodes = toml_get_kv(root, "nodes");
	if (nodes) {
		if (nodes->val->type != TOML_ARRAY) {
			mcp_err_set(err, MCP_E_INVALID, "%s:%d:%d: \"nodes\" must be [[nodes]] tables",
			    path, nodes->line, nodes->col);
			goto out;
		}
		free(cfg->nodes);
		cfg->nnodes = nodes->val->u.arr.n;
		cfg->nodes = xcalloc(cfg->nnodes, sizeof(*cfg->nodes));
		for (i = 0; i < cfg->nnodes; i++) {
			const struct toml_value *n = nodes->val->u.arr.items[i];

			if (n->type != TOML_TABLE) {
				mcp_err_set(err, MCP_E_INVALID, "%s:%d:%d: [[nodes]] entry must be a table",
				    path, n->line, n->col);
				goto out;
			}
			if (toml_read_check_keys(n, node_keys, path, "[[nodes]]", err) == -1 ||
			    toml_read_str(n, "name", cfg->nodes[i].name,
			    sizeof(cfg->nodes[i].name), path, err) == -1 ||
			    toml_read_str(n, "address", cfg->nodes[i].address,
			    sizeof(cfg->nodes[i].address), path, err) == -1)
				goto out;
			if (!svc_name_valid(cfg->nodes[i].name) || !cfg->nodes[i].address[0]) {
				mcp_err_set(err, MCP_E_INVALID,
				    "%s:%d:%d: [[nodes]] needs a valid name and an address",
				    path, n->line, n->col);
				goto out;
			}
		}
	}
	rc = 0;
out:
	toml_free((struct toml_value *)root);
	if (rc == -1)
		cli_config_free(cfg);	/* nothing half-loaded is left to the caller */
	return rc;
}

void
cli_config_free(struct cli_config *cfg)
{
	free(cfg->nodes);
	cfg->nodes = NULL;
	cfg->nnodes = 0;
}
