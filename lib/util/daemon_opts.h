/*
 * util/daemon_opts.h: the command line the daemons (mcp-agent, mcp-master)
 * share: -c/--config FILE, -v/--verbose, --check-config, -h/--help,
 * -V/--version.  One parser, so the two cannot drift apart.
 */
#ifndef MCP_UTIL_DAEMON_OPTS_H
#define MCP_UTIL_DAEMON_OPTS_H

struct daemon_opts {
	const char *config;	/* -c FILE (required) */
	int verbose;		/* -v */
	int check;		/* --check-config */
	int next;		/* index of the first operand (optind) */
};

/*
 * Parse argv for the daemon prog.  -1: carry on with o filled in; else the
 * exit status main should return at once: 0 after --help (usage_text on
 * stdout) or --version, 2 after a usage error (usage_text on stderr).
 */
int daemon_opts_parse(int argc, char *argv[], const char *prog,
    const char *usage_text, struct daemon_opts *o);

#endif
