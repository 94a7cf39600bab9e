/*
 * mcp: the operator CLI (SPEC §7).  Thin main: global options, then
 * dispatch to lib/cli.
 *
 *   mcp [-c CONFIG] [--json] COMMAND [ARGS]
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static int
usage(void)
{
	fprintf(stderr,
	    "usage: mcp [-c CONFIG] [--json] COMMAND [ARGS]\n"
	    "commands:\n"
	    "  deploy SERVICE|FILE [--direct] [-n NODE]\n"
	    "  stop|start|restart SERVICE [-c COMPONENT]\n"
	    "  undeploy SERVICE\n"
	    "  ps\n"
	    "  status [SERVICE]\n"
	    "  logs SERVICE [-c COMPONENT] [-n LINES] [-f]\n"
	    "  push SERVICE LOCAL_FILE PATH      (to /srv/SERVICE/PATH)\n"
	    "  pull SERVICE PATH [LOCAL_FILE]\n"
	    "  node list\n"
	    "  (with [master] address in the config these go through mcp-master;\n"
	    "   --direct talks to the agents in [[nodes]] as without one)\n"
	    "  route list [-n NODE]\n"
	    "  edge list                         (through the master)\n"
	    "  ca init DIR\n"
	    "  ca issue NAME [--ca DIR] [--san LIST] [--out DIR]\n"
	    "  ca issue NAME --intermediate --permit DOMAIN[,DOMAIN...] [--ca DIR] [--out DIR]\n");
	return 2;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli c;
	struct mcp_err err = MCP_ERR_INIT;
	const char *config = NULL, *cmd;
	int ch, rc;

	memset(&c, 0, sizeof(c));
	while ((ch = getopt_long(argc, argv, "+c:jh", opts, NULL)) != -1) {
		if (ch == 'c')
			config = optarg;
		else if (ch == 'j')
			c.json = 1;
		else
			return usage();
	}
	if (optind >= argc)
		return usage();
	argc -= optind;
	argv += optind;
	cmd = argv[0];
	c.cmd = cmd;
	/* --direct anywhere after the command: talk to the agents themselves */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--direct") == 0) {
			c.direct = 1;
			memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(*argv));
			argc--;
			i--;
		}
	/* a config that exists but is broken is an error for every command */
	if (cli_config_load(config, &c.cfg, &err) == -1)
		return cli_fail(&c, &err);
	if (c.cfg.master[0] && !c.direct && (rc = cli_master_cmd(&c, argc, argv)) != -1)
		;
	else if (strcmp(cmd, "deploy") == 0)
		rc = cli_cmd_deploy(&c, argc, argv);
	else if (!strcmp(cmd, "stop") || !strcmp(cmd, "start") ||
	    !strcmp(cmd, "restart") || !strcmp(cmd, "undeploy"))
		rc = cli_cmd_lifecycle(&c, argc, argv);
	else if (strcmp(cmd, "ps") == 0)
		rc = cli_cmd_ps(&c, argc, argv);
	else if (strcmp(cmd, "status") == 0)
		rc = cli_cmd_status(&c, argc, argv);
	else if (strcmp(cmd, "logs") == 0)
		rc = cli_cmd_logs(&c, argc, argv);
	else if (strcmp(cmd, "node") == 0)
		rc = cli_cmd_node(&c, argc, argv);
	else if (strcmp(cmd, "route") == 0)
		rc = cli_cmd_route(&c, argc, argv);
	else if (strcmp(cmd, "ca") == 0)
		rc = cli_cmd_ca(&c, argc, argv);
	else if (strcmp(cmd, "push") == 0)
		rc = cli_cmd_push(&c, argc, argv);
	else if (strcmp(cmd, "pull") == 0)
		rc = cli_cmd_pull(&c, argc, argv);
	else
		rc = usage();
	cli_config_free(&c.cfg);
	return rc;
}
