/*
 * mcp-master: the fleet coordinator (SPEC §5).  Thin main over lib/master.
 *
 *   mcp-master -c master.toml [-v]
 *   mcp-master -c master.toml --check-config   (load, validate, exit 0/1)
 *   mcp-master --help | --version
 *
 * Exit status: 0 success, 1 operational error (config invalid, start-up
 * failed), 2 usage error.  Under systemd (Type=notify, mcp-master.service)
 * the master takes $NOTIFY_SOCKET out of its environment before anything
 * starts and sends READY=1 once its gRPC listener accepts calls, as the
 * agent does (util/sdnotify.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "master/master.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/sdnotify.h"
#include "util/version.h"

static const char usage_text[] =
    "usage: mcp-master -c CONFIG [-v]\n"
    "       mcp-master -c CONFIG --check-config\n"
    "       mcp-master --help | --version\n"
    "options:\n"
    "  -c, --config FILE   the master's configuration (e.g. /etc/mcp/master.toml)\n"
    "  -v, --verbose       log debug lines too\n"
    "      --check-config  load and validate the configuration, then exit\n"
    "  -h, --help          print this help and exit\n"
    "  -V, --version       print the version and exit\n";

static int
usage(FILE *f, int rc)
{
	fputs(usage_text, f);
	return rc;
}

int
main(int argc, char *argv[])
{
	enum { OPT_CHECK = 256 };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct master m;
	struct mcp_err err = MCP_ERR_INIT;
	char notify[SDNOTIFY_ADDR_MAX + 1];
	const char *config = NULL;
	int ch, verbose = 0, check = 0, rc = 0;

	while ((ch = getopt_long(argc, argv, "c:vhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case OPT_CHECK:
			check = 1;
			break;
		case 'h':
			return usage(stdout, 0);
		case 'V':
			printf("mcp-master %s\n", MCP_VERSION);
			return 0;
		default:
			return usage(stderr, 2);
		}
	}
	if (config == NULL) {
		fprintf(stderr, "mcp-master: -c CONFIG is required\n");
		return usage(stderr, 2);
	}
	if (optind != argc)
		return usage(stderr, 2);
	if (check) {
		struct master_config cfg;

		memset(&cfg, 0, sizeof(cfg));
		rc = master_config_load(config, &cfg, &err);
		master_config_free(&cfg);
		if (rc == -1) {
			fprintf(stderr, "mcp-master: %s\n", err.msg);
			return 1;
		}
		printf("mcp-master: %s: configuration valid\n", config);
		return 0;
	}
	log_init("mcp-master", verbose);
	sdnotify_take_env(notify, sizeof(notify));
	if (master_init(&m, config, &err) == -1) {
		log_warnx("%s", err.msg);
		rc = 1;
	} else {
		mcp_strlcpy(m.notify_socket, notify, sizeof(m.notify_socket));
		if (master_run(&m, &err) == -1) {
			log_warnx("%s", err.msg);
			rc = 1;
		}
	}
	if (sdnotify_send(notify, "STOPPING=1", &err) == -1)
		log_warnx("%s", err.msg);
	master_free(&m);
	return rc;
}
