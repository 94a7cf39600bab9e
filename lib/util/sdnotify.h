/*
 * util/sdnotify.h: the systemd readiness protocol (sd_notify(3)) without
 * libsystemd.  Under a Type=notify unit systemd passes $NOTIFY_SOCKET, the
 * address of a datagram Unix socket ("/run/systemd/notify", or "@name" for
 * an abstract one); the daemon sends "READY=1" there once it serves.
 *
 * The daemon takes the address out of its environment at start-up
 * (sdnotify_take_env) so that its children (podman, conmon, QEMU, HAProxy)
 * never see it and never speak for it.
 */
#ifndef MCP_UTIL_SDNOTIFY_H
#define MCP_UTIL_SDNOTIFY_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "util/err.h"

/* Longest address we accept: sun_path holds it (abstract: without a NUL). */
#define SDNOTIFY_ADDR_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))

/*
 * Build the socket address for addr ("/path" or "@abstract"); *len is the
 * length to pass to sendto.  Pure.
 */
int sdnotify_addr(const char *addr, struct sockaddr_un *sa, socklen_t *len,
    struct mcp_err *err);

/*
 * Copy $NOTIFY_SOCKET into out (empty when unset or too long to be one)
 * and remove it from the environment.  Call before any thread or child
 * exists.
 */
void sdnotify_take_env(char *out, size_t outsz);

/*
 * Send state (e.g. "READY=1", "STOPPING=1") to addr.  An empty or NULL
 * addr (not started by systemd) is success without doing anything.
 */
int sdnotify_send(const char *addr, const char *state, struct mcp_err *err);

#endif
