/*
 * cli/cli.h: the operator CLI (SPEC §7) as a library: configuration,
 * connections to agents, and one function per command.  cmd/mcp/main.c
 * parses global options and dispatches here.
 *
 * Output: human tables by default, --json for scripts; errors are one line
 * on stderr saying what and where; exit status 0 only on success.
 */
#ifndef MCP_CLI_CLI_H
#define MCP_CLI_CLI_H

#include <stddef.h>

#include "util/err.h"

struct cli_node {
	char name[64];
	char address[512];	/* "unix:/path" or "host:port" */
};

struct cli_config {
	char path[512];		/* where it was loaded from ("" = built-in default) */
	char master[256];
	struct cli_node *nodes;
	size_t nnodes;
	char services_dir[512];
	char tls_ca[512], tls_cert[512], tls_key[512];
};

struct cli {
	struct cli_config cfg;
	int json;
	const char *cmd;	/* the command, for error messages ("ps") */
	int direct;		/* --direct: to the agents even with [master] */
	struct cli_node placed;	/* where the master placed the service at hand */
};

/*
 * Load the CLI configuration: path if given, else $MCP_CONFIG, else
 * ~/.config/mcp/mcp.toml if it exists, else CLI_CONFIG_SYSTEM if it exists,
 * else a single node "local" at unix:/var/lib/mcp/agent.sock.
 */
#define CLI_CONFIG_SYSTEM "/etc/mcp/mcp.toml"
int cli_config_load(const char *path, struct cli_config *cfg, struct mcp_err *err);
void cli_config_free(struct cli_config *cfg);

/* Commands: argv[0] is the command name.  Return the exit status. */
int cli_cmd_deploy(struct cli *c, int argc, char **argv);
int cli_cmd_lifecycle(struct cli *c, int argc, char **argv);	/* stop/start/restart/undeploy */
int cli_cmd_ps(struct cli *c, int argc, char **argv);
int cli_cmd_status(struct cli *c, int argc, char **argv);
int cli_cmd_logs(struct cli *c, int argc, char **argv);
int cli_cmd_node(struct cli *c, int argc, char **argv);
int cli_cmd_ca(struct cli *c, int argc, char **argv);
int cli_cmd_push(struct cli *c, int argc, char **argv);
int cli_cmd_pull(struct cli *c, int argc, char **argv);
int cli_cmd_route(struct cli *c, int argc, char **argv);	/* route list */
/* cli/master.c: with [master] address (and no --direct), ps, status and
 * node list go through mcp-master (deploy and undeploy too, from their
 * commands); returns -1 when cmd is not one of them. */
int cli_master_cmd(struct cli *c, int argc, char **argv);
/* cli/data.c, through mcp-master only: snapshot SERVICE | snapshot list
 * [SERVICE]; migrate SERVICE --to NODE [--force] | migrate --all --from
 * NODE --to NODE; sync [--dry-run] (every *.toml of [services] dir). */
int cli_cmd_snapshot(struct cli *c, int argc, char **argv);
int cli_cmd_migrate(struct cli *c, int argc, char **argv);
int cli_cmd_sync(struct cli *c, int argc, char **argv);
/* `edge list` without a master: says it needs one. */
int cli_cmd_edge(struct cli *c, int argc, char **argv);

/*
 * The likely cause when the agent at address ("unix:/path" or "host:port")
 * cannot be reached, as a sentence for the operator in out; returns 1 if
 * there is one, 0 if the address looks fine (then say nothing more).
 */
int cli_unreachable_hint(const char *address, char *out, size_t outsz);

/* Print "mcp CMD: <msg>" on stderr (msg already starting with CMD is not
 * prefixed twice); returns 1. */
int cli_fail(const struct cli *c, const struct mcp_err *err);

#endif
