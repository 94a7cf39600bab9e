/*
 * mcp-agent: the node daemon (SPEC §4).  Thin main over lib/agent.
 *
 *   mcp-agent -c agent.toml [-v]
 *   mcp-agent -c agent.toml --check-config   (load, validate, exit 0/1)
 *   mcp-agent -c agent.toml bridge up|down   (SPEC §4.2: create/remove mcp-br0)
 *   mcp-agent -c agent.toml recover          (re-create lost instances)
 *   mcp-agent -c agent.toml remove-untracked (remove instances the registry
 *                                             does not track)
 *   mcp-agent --help | --version
 *
 * Exit status: 0 success, 1 operational error (config invalid, start-up
 * failed), 2 usage error.  Under systemd (Type=notify) the agent takes
 * $NOTIFY_SOCKET out of its environment before anything starts, so that
 * no child speaks for it, and sends READY=1 once its socket serves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/daemon_opts.h"
#include "util/sdnotify.h"
#include "util/version.h"

static const char usage_text[] =
    "usage: mcp-agent -c CONFIG [-v]\n"
    "       mcp-agent -c CONFIG --check-config\n"
    "       mcp-agent -c CONFIG bridge up|down\n"
    "       mcp-agent -c CONFIG recover\n"
    "       mcp-agent -c CONFIG remove-untracked\n"
    "       mcp-agent --help | --version\n"
    "options:\n"
    "  -c, --config FILE   the agent's configuration (e.g. /etc/mcp/agent.toml)\n"
    "  -v, --verbose       log debug lines too\n"
    "      --check-config  load and validate the configuration, then exit\n"
    "  -h, --help          print this help and exit\n"
    "  -V, --version       print the version and exit\n"
    "\n"
    "The agent refuses to start while MCP instances (containers, VM state\n"
    "directories) exist that its registry does not track, e.g. after the\n"
    "registry was lost: restore the registry, or remove them with\n"
    "remove-untracked and deploy those services again.\n"
    "recover re-creates every instance the registry wants running that the\n"
    "runtimes lost (one line each; exit status 1 if any failed).\n"
    "Both commands run with the agent stopped.\n";

static int
usage(FILE *f, int rc)
{
	fputs(usage_text, f);
	return rc;
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
	char notify[SDNOTIFY_ADDR_MAX + 1];
	struct daemon_opts o;
	const char *config;
	int verbose, check, rc = 0;

	if ((rc = daemon_opts_parse(argc, argv, "mcp-agent", usage_text, &o)) != -1)
		return rc;
	rc = 0;
	config = o.config;
	verbose = o.verbose;
	check = o.check;
	if (check) {
		struct agent_config cfg;

		if (o.next != argc)
			return usage(stderr, 2);
		memset(&cfg, 0, sizeof(cfg));
		rc = agent_config_load(config, &cfg, &err);
		agent_config_free(&cfg);
		if (rc == -1) {
			fprintf(stderr, "mcp-agent: %s\n", err.msg);
			return 1;
		}
		printf("mcp-agent: %s: configuration valid\n", config);
		return 0;
	}
	log_init("mcp-agent", verbose);
	if (o.next + 2 == argc && strcmp(argv[o.next], "bridge") == 0) {
		if (agent_bridge_command(config, argv[o.next + 1], &err) == -1) {
			fprintf(stderr, "mcp-agent: %s\n", err.msg);
			return 1;
		}
		return 0;
	}
	if (o.next + 1 == argc && (strcmp(argv[o.next], "recover") == 0 ||
	    strcmp(argv[o.next], "remove-untracked") == 0))
		return repair(config, argv[o.next]);
	if (o.next != argc)
		return usage(stderr, 2);
	sdnotify_take_env(notify, sizeof(notify));
	/* never "ready" next to instances the registry does not track */
	if (agent_init(&a, config, &err) == -1 ||
	    agent_check_untracked(&a, &err) == -1) {
		log_warnx("%s", err.msg);
		rc = 1;
	} else {
		mcp_strlcpy(a.notify_socket, notify, sizeof(a.notify_socket));
		if (agent_run(&a, &err) == -1) {
			log_warnx("%s", err.msg);
			rc = 1;
		}
	}
	if (sdnotify_send(notify, "STOPPING=1", &err) == -1)
		log_warnx("%s", err.msg);
	agent_free(&a);
	return rc;
}
