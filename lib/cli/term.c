/*
 * cli/term.c: the terminal the CLI prints to: its width, and fitting a
 * table into it (cli/cli.h).
 */
#include "cli/cli.h"

#include <sys/ioctl.h>
#include <unistd.h>

int
cli_term_width(int fd)
{
	struct winsize ws;

	if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}
