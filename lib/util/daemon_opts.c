/*
 * util/daemon_opts.c: the daemons' shared command line (daemon_opts.h).
 */
#include "util/daemon_opts.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "util/version.h"

int
daemon_opts_parse(int argc, char *argv[], const char *prog,
    const char *usage_text, struct daemon_opts *o)
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
	int ch;

	memset(o, 0, sizeof(*o));
	while ((ch = getopt_long(argc, argv, "c:vhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case OPT_CHECK:
			o->check = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("%s %s\n", prog, MCP_VERSION);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (o->config == NULL) {
		fprintf(stderr, "%s: -c CONFIG is required\n", prog);
		fputs(usage_text, stderr);
		return 2;
	}
	o->next = optind;
	return -1;
}
