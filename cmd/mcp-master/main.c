/*
 * mcp-master: the fleet coordinator (SPEC §5).  Thin main over lib/master.
 *
 *   mcp-master -c master.toml [-v]
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "master/master.h"
#include "util/log.h"

static void
usage(void)
{
	fprintf(stderr, "usage: mcp-master -c CONFIG [-v]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct master m;
	struct mcp_err err = MCP_ERR_INIT;
	const char *config = NULL;
	int ch, verbose = 0, rc = 0;

	while ((ch = getopt(argc, argv, "c:vh")) != -1) {
		if (ch == 'c')
			config = optarg;
		else if (ch == 'v')
			verbose = 1;
		else
			usage();
	}
	if (config == NULL || optind != argc)
		usage();
	log_init("mcp-master", verbose);
	if (master_init(&m, config, &err) == -1 || master_run(&m, &err) == -1) {
		log_warnx("%s", err.msg);
		rc = 1;
	}
	master_free(&m);
	return rc;
}
