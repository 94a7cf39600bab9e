/*
 * mcp-agent: the node daemon (SPEC §4).  Thin main over lib/agent.
 *
 *   mcp-agent -c agent.toml [-v]
 *   mcp-agent -c agent.toml bridge up|down   (SPEC §4.2: create/remove mcp-br0)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "util/log.h"

static void
usage(void)
{
	fprintf(stderr, "usage: mcp-agent -c CONFIG [-v]\n"
	    "       mcp-agent -c CONFIG bridge up|down\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct agent a;
	struct mcp_err err = MCP_ERR_INIT;
	const char *config = NULL;
	int ch, verbose = 0, rc = 0;

	while ((ch = getopt(argc, argv, "c:vh")) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (config == NULL)
		usage();
	log_init("mcp-agent", verbose);
	if (optind + 2 == argc && strcmp(argv[optind], "bridge") == 0) {
		if (agent_bridge_command(config, argv[optind + 1], &err) == -1) {
			fprintf(stderr, "mcp-agent: %s\n", err.msg);
			return 1;
		}
		return 0;
	}
	if (optind != argc)
		usage();
	if (agent_init(&a, config, &err) == -1 || agent_run(&a, &err) == -1) {
		log_warnx("%s", err.msg);
		rc = 1;
	}
	agent_free(&a);
	return rc;
}
