/*
 * cli/hint.c: what to tell an operator whose agent cannot be reached.
 * The transport says "not reachable"; this looks at the address itself
 * and names the likely cause: no socket (the agent is not running, or
 * runs with another socket), a stale socket nobody accepts on, a socket
 * the caller may not use, or a TCP agent that may not listen.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/buf.h"

/* Try to connect to a Unix socket: 0 or the errno. */
static int
unix_connect_errno(const char *path)
{
	struct sockaddr_un sa;
	int fd, rc = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		rc = errno;
	close(fd);
	return rc;
}

int
cli_unreachable_hint(const char *address, char *out, size_t outsz)
{
	const char *path;
	struct stat st;
	int e;

	out[0] = '\0';
	if (strncmp(address, "unix:", 5) != 0) {
		snprintf(out, outsz, "is mcp-agent running on that host with "
		    "[agent] listen set, and is the port open to you?");
		return 1;
	}
	path = address + 5;
	if (stat(path, &st) == -1) {
		if (errno == ENOENT)
			snprintf(out, outsz, "is mcp-agent running? socket %s not "
			    "found", path);
		else if (errno == EACCES)
			snprintf(out, outsz, "cannot reach socket %s: permission "
			    "denied on its directory", path);
		return out[0] != '\0';
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(out, outsz, "%s is not a socket", path);
		return 1;
	}
	e = unix_connect_errno(path);
	if (e == ECONNREFUSED)
		snprintf(out, outsz, "is mcp-agent running? nothing accepts "
		    "connections on %s (stale socket)", path);
	else if (e == EACCES || e == EPERM)
		snprintf(out, outsz, "no permission to connect to %s: root or "
		    "members of the agent's [agent] socket_group only", path);
	return out[0] != '\0';
}
