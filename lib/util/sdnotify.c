/*
 * util/sdnotify.c: sd_notify(3)'s wire protocol in a few lines: one
 * datagram with "KEY=VALUE" lines to the Unix socket named by
 * $NOTIFY_SOCKET (a leading '@' names an abstract socket).
 */
#include "util/sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


int
sdnotify_addr(const char *addr, struct sockaddr_un *sa, socklen_t *len,
    struct mcp_err *err)
{
	size_t n = strlen(addr);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (n < 2 || (addr[0] != '/' && addr[0] != '@'))
		return mcp_err_set(err, MCP_E_INVALID, "NOTIFY_SOCKET \"%s\": "
		    "neither an absolute path nor @abstract", addr);
	if (addr[0] == '/' ? n >= sizeof(sa->sun_path) : n > sizeof(sa->sun_path))
		return mcp_err_set(err, MCP_E_INVALID, "NOTIFY_SOCKET \"%.32s...\": "
		    "longer than a socket address (%zu bytes)", addr,
		    sizeof(sa->sun_path));
	memcpy(sa->sun_path, addr, n);
	if (addr[0] == '@') {
		/* abstract: a leading NUL, and the length says where it ends */
		sa->sun_path[0] = '\0';
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	}
	return 0;
}

void
sdnotify_take_env(char *out, size_t outsz)
{
	const char *v = getenv("NOTIFY_SOCKET");

	out[0] = '\0';
	if (v != NULL && strlen(v) < outsz)
		memcpy(out, v, strlen(v) + 1);
	unsetenv("NOTIFY_SOCKET");
}

int
sdnotify_send(const char *addr, const char *state, struct mcp_err *err)
{
	struct sockaddr_un sa;
	socklen_t len;
	ssize_t n;
	int fd, rc = -1;

	if (addr == NULL || addr[0] == '\0')
		return 0;
	if (sdnotify_addr(addr, &sa, &len, err) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return mcp_err_errno(err, errno, "sd_notify %s: socket", state);
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	if (n == -1) {
		mcp_err_errno(err, errno, "sd_notify %s to %s", state, addr);
		goto out;
	}
	if ((size_t)n != strlen(state)) {
		mcp_err_set(err, MCP_E_INTERNAL, "sd_notify %s to %s: short send",
		    state, addr);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}
