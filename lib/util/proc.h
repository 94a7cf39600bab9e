/*
 * util/proc.h: is a PID the process we think it is?  Daemons the agent
 * starts and that outlive it (QEMU, HAProxy) are found again through
 * pidfiles, and a PID read from one is trusted only when the process is
 * alive (not a zombie) and one of its arguments contains a path that only
 * that process has (its state directory or config file): the kernel
 * reuses PIDs, so a stale pidfile must never lead to signalling a
 * stranger.
 */
#ifndef MCP_UTIL_PROC_H
#define MCP_UTIL_PROC_H

#include <sys/types.h>

/* 1 when pid is alive and an argument of its cmdline contains needle. */
int proc_pid_trusted(pid_t pid, const char *needle);
/* The PID in pidfile if it is trusted for needle, else 0. */
pid_t proc_pidfile_read(const char *pidfile, const char *needle);

/*
 * Host ports: who holds a TCP port on 127.0.0.1.  The runtimes publish a
 * route's host port on 127.0.0.1 (podman -p 127.0.0.1:P:..., QEMU
 * hostfwd=tcp:127.0.0.1:P-...), binding with SO_REUSEADDR.
 *
 * Pure: the inode of a listening socket (state 0A) in table (the text of
 * /proc/net/tcp or /proc/net/tcp6) on local port `port` whose address
 * covers 127.0.0.1 (127.0.0.1, 0.0.0.0, ::, ::ffff:127.0.0.1,
 * ::ffff:0.0.0.0); 0 when there is none.
 */
unsigned long proc_tcp_listener(const char *table, int port);
/*
 * Can 127.0.0.1:port be bound as the runtimes bind it (SO_REUSEADDR, so a
 * TIME_WAIT an old instance left is no conflict)?  1 yes, 0 it is in use:
 * owner then says by whom when /proc shows it ("pid 123 (python3)", the
 * command name escaped), else "".  -1 when no socket could be made (errno).
 */
int proc_loopback_port_free(int port, char *owner, size_t ownersz);

#endif
