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

#endif
