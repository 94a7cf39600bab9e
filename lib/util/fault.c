/*
 * util/fault.c: crash injection for tests (see fault.h).
 */
#include "util/fault.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

void
fault_point(const char *step)
{
	const char *want = getenv("MCP_FAULT");

	if (want == NULL || strcmp(want, step) != 0)
		return;
	log_warnx("MCP_FAULT=%s: exiting at this step (crash injection)", step);
	_exit(99);
}
