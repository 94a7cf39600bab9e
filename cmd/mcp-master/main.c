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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "master/master.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/daemon_opts.h"
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
	struct master m;
	struct mcp_err err = MCP_ERR_INIT;
	char notify[SDNOTIFY_ADDR_MAX + 1];
	struct daemon_opts o;
	const char *config;
	int verbose, check, rc = 0;

	if ((rc = daemon_opts_parse(argc, argv, "mcp-master", usage_text, &o)) != -1)
		return rc;
	rc = 0;
	config = o.config;
	verbose = o.verbose;
	check = o.check;
	if (o.next != argc)
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
