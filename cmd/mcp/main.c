/*
 * mcp: the operator CLI (SPEC §7).  Thin main: global options, then
 * dispatch to lib/cli through the command table below, which is also
 * what `mcp --help` and `mcp COMMAND --help` print (and what the bash
 * completion and the man page test read, so they cannot drift apart).
 *
 *   mcp [-c CONFIG] [--json] COMMAND [ARGS]
 *   mcp --help | --version | COMMAND --help
 *
 * Exit status: 0 success, 1 operational error, 2 usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/version.h"

struct command {
	const char *name;
	int (*run)(struct cli *, int, char **);
	const char *usage;	/* after "mcp " */
	const char *what;
};

static const struct command commands[] = {
	{ "deploy", cli_cmd_deploy, "deploy SERVICE|FILE [--direct] [-n NODE]",
	  "deploy or update a service from its definition" },
	{ "stop", cli_cmd_lifecycle, "stop SERVICE [-c COMPONENT] [--direct -n NODE]",
	  "stop a service or one component" },
	{ "start", cli_cmd_lifecycle, "start SERVICE [-c COMPONENT] [--direct -n NODE]",
	  "start a stopped service or component" },
	{ "restart", cli_cmd_lifecycle, "restart SERVICE [-c COMPONENT] [--direct -n NODE]",
	  "restart a service or component" },
	{ "undeploy", cli_cmd_lifecycle, "undeploy SERVICE [--direct -n NODE]",
	  "stop and remove a service" },
	{ "ps", cli_cmd_ps, "ps [--wide]", "list components on every node" },
	{ "status", cli_cmd_status, "status [SERVICE] [--wide]",
	  "service status, or the nodes' health" },
	{ "logs", cli_cmd_logs, "logs SERVICE [-c COMPONENT] [-n LINES] [-f]",
	  "print (or follow) a component's output" },
	{ "push", cli_cmd_push, "push SERVICE LOCAL_FILE PATH",
	  "copy a file to /srv/SERVICE/PATH on the service's node" },
	{ "pull", cli_cmd_pull, "pull SERVICE PATH [LOCAL_FILE]",
	  "copy /srv/SERVICE/PATH from the service's node" },
	{ "node", cli_cmd_node, "node list", "list the configured nodes" },
	{ "route", cli_cmd_route, "route list [-n NODE]",
	  "list the routes the node proxies serve" },
	{ "edge", cli_cmd_edge, "edge list",
	  "list the public edge routes (through mcp-master)" },
	{ "snapshot", cli_cmd_snapshot, "snapshot SERVICE | snapshot list [SERVICE]",
	  "snapshot a service's data, list snapshots (through mcp-master)" },
	{ "migrate", cli_cmd_migrate, "migrate SERVICE --to NODE [--force] | "
	  "migrate --all --from NODE --to NODE [--force]",
	  "move services with their data to another node (through mcp-master)" },
	{ "sync", cli_cmd_sync, "sync [--dry-run] [--json]",
	  "make the fleet match the services directory (through mcp-master)" },
	{ "ca", cli_cmd_ca, "ca init DIR | ca issue NAME [--ca DIR] [--san LIST] "
	  "[--out DIR] [--intermediate --permit DOMAIN[,DOMAIN...]]",
	  "create the platform CA, issue certificates" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int
usage(FILE *f, int rc)
{
	size_t i;

	fprintf(f, "usage: mcp [-c CONFIG] [--json] COMMAND [ARGS]\n"
	    "       mcp --help | --version | COMMAND --help\n"
	    "options:\n"
	    "  -c, --config FILE  CLI configuration (default $MCP_CONFIG, then\n"
	    "                     ~/.config/mcp/mcp.toml, then /etc/mcp/mcp.toml)\n"
	    "  -j, --json         machine-readable output\n"
	    "  -h, --help         print this help and exit\n"
	    "  -V, --version      print the version and exit\n"
	    "commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].what);
	fprintf(f, "See mcp(1), and `mcp COMMAND --help`.\n");
	return rc;
}

static const struct command *
command_find(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* `mcp CMD --help` anywhere after the command: its usage on stdout. */
static int
wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *cmd;
	struct cli c;
	struct mcp_err err = MCP_ERR_INIT;
	const char *config = NULL;
	int ch, rc;

	memset(&c, 0, sizeof(c));
	while ((ch = getopt_long(argc, argv, "+c:jhV", opts, NULL)) != -1) {
		if (ch == 'c')
			config = optarg;
		else if (ch == 'j')
			c.json = 1;
		else if (ch == 'h')
			return usage(stdout, 0);
		else if (ch == 'V') {
			printf("mcp %s\n", MCP_VERSION);
			return 0;
		} else
			return usage(stderr, 2);
	}
	if (optind >= argc)
		return usage(stderr, 2);
	argc -= optind;
	argv += optind;
	if ((cmd = command_find(argv[0])) == NULL) {
		fprintf(stderr, "mcp: unknown command \"%s\"\n", argv[0]);
		return usage(stderr, 2);
	}
	if (wants_help(argc, argv)) {
		printf("usage: mcp %s\n  %s\n", cmd->usage, cmd->what);
		return 0;
	}
	c.cmd = cmd->name;
	/* progress lines and table widths follow the terminal, if stdout is one */
	c.progress = isatty(STDOUT_FILENO) && !c.json;
	c.width = cli_term_width(STDOUT_FILENO);
	/* --direct anywhere after the command: talk to the agents themselves */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--direct") == 0) {
			c.direct = 1;
			memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(*argv));
			argc--;
			i--;
		}
	/* ps, status --wide: values in full, whatever the terminal's width */
	for (int i = 1; i < argc && (strcmp(cmd->name, "ps") == 0 ||
	    strcmp(cmd->name, "status") == 0); i++)
		if (strcmp(argv[i], "--wide") == 0) {
			c.wide = 1;
			memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(*argv));
			argc--;
			i--;
		}
	/* a config that exists but is broken is an error for every command */
	if (cli_config_load(config, &c.cfg, &err) == -1)
		return cli_fail(&c, &err);
	/* with [master] address, what the master serves goes through it */
	if (!c.cfg.master[0] || c.direct || (rc = cli_master_cmd(&c, argc, argv)) == -1)
		rc = cmd->run(&c, argc, argv);
	cli_config_free(&c.cfg);
	return rc;
}
