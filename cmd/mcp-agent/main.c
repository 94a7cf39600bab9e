/*
 * mcp-agent: the node daemon (SPEC §4).  Thin main over lib/agent.
 *
 *   mcp-agent -c agent.toml [-v]
 *   mcp-agent -c agent.toml bridge up|down   (SPEC §4.2: create/remove mcp-br0)
 *   mcp-agent -c agent.toml recover          (re-create lost instances)
 *   mcp-agent -c agent.toml remove-untracked (remove instances the registry
 *                                             does not track)
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
	    "       mcp-agent -c CONFIG bridge up|down\n"
	    "       mcp-agent -c CONFIG recover\n"
	    "       mcp-agent -c CONFIG remove-untracked\n"
	    "\n"
	    "The agent refuses to start while MCP instances (containers, VM state\n"
	    "directories) exist that its registry does not track, e.g. after the\n"
	    "registry was lost: restore the registry, or remove them with\n"
	    "remove-untracked and deploy those services again.\n"
	    "recover re-creates every instance the registry wants running that the\n"
	    "runtimes lost (one line each; exit status 1 if any failed).\n"
	    "Both commands run with the agent stopped.\n");
	exit(2);
}

/* recover / remove-untracked: print the report, then the error if any. */
static int
repair(const char *config, const char *what)
{
	struct agent a;
	struct mcp_err err = MCP_ERR_INIT;
	struct buf report = BUF_INIT;
	int rc = -1;

	if (agent_init(&a, config, &err) == 0)
		rc = strcmp(what, "recover") == 0 ? agent_recover(&a, &report, &err) :
		    agent_remove_untracked(&a, &report, &err);
	if (report.len)
		fwrite(report.data, 1, report.len, stdout);
	fflush(stdout);
	if (rc == -1)
		fprintf(stderr, "mcp-agent: %s\n", err.msg);
	buf_free(&report);
	agent_free(&a);
	return rc == -1 ? 1 : 0;
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
	if (optind + 1 == argc && (strcmp(argv[optind], "recover") == 0 ||
	    strcmp(argv[optind], "remove-untracked") == 0))
		return repair(config, argv[optind]);
	if (optind != argc)
		usage();
	/* never "ready" next to instances the registry does not track */
	if (agent_init(&a, config, &err) == -1 ||
	    agent_check_untracked(&a, &err) == -1 || agent_run(&a, &err) == -1) {
		log_warnx("%s", err.msg);
		rc = 1;
	}
	agent_free(&a);
	return rc;
}
