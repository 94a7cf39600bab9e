/*
 * util/proc.c: PIDs checked against /proc (see proc.h).
 */
#include "util/proc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/escape.h"
#include "util/file.h"

int
proc_pid_trusted(pid_t pid, const char *needle)
{
	char path[64], state = '?';
	struct buf cmd = BUF_INIT, stat = BUF_INIT;
	int ok = 0;

	if (pid <= 0 || needle == NULL || needle[0] == '\0')
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (file_read(path, &stat, 4096, NULL) == 0) {
		/* "pid (comm) S ...": the state follows the last ')' */
		char *rp = strrchr(stat.data, ')');

		if (rp && rp[1] == ' ')
			state = rp[2];
	}
	buf_free(&stat);
	if (state == '?' || state == 'Z' || state == 'X')
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (file_read(path, &cmd, 1 << 20, NULL) == 0) {
		/* NUL-separated argv: look at each argument */
		for (size_t off = 0; off < cmd.len && !ok; off += strlen(cmd.data + off) + 1)
			if (strstr(cmd.data + off, needle))
				ok = 1;
	}
	buf_free(&cmd);
	return ok;
}

pid_t
proc_pidfile_read(const char *pidfile, const char *needle)
{
	struct buf b = BUF_INIT;
	long pid = 0;

	if (file_read(pidfile, &b, 64, NULL) == 0)
		pid = strtol(b.data, NULL, 10);
	buf_free(&b);
	if (pid <= 0 || pid > 0x3fffffff || !proc_pid_trusted((pid_t)pid, needle))
		return 0;
	return (pid_t)pid;
}

/* Local addresses (as /proc/net/tcp{,6} print them) that cover 127.0.0.1. */
static int
covers_loopback(const char *addr)
{
	static const char *const any[] = {
		"0100007F", "00000000",				/* 127.0.0.1, 0.0.0.0 */
		"00000000000000000000000000000000",		/* :: */
		"0000000000000000FFFF00000100007F",		/* ::ffff:127.0.0.1 */
		"0000000000000000FFFF000000000000",		/* ::ffff:0.0.0.0 */
	};

	for (size_t i = 0; i < sizeof(any) / sizeof(any[0]); i++)
		if (strcasecmp(addr, any[i]) == 0)
			return 1;
	return 0;
}

unsigned long
proc_tcp_listener(const char *table, int port)
{
	const char *line = table;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		char text[512], addr[40];
		unsigned lport, st;
		unsigned long inode;
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		if (n < sizeof(text)) {
			memcpy(text, line, n);
			text[n] = '\0';
			/* sl: local rem st tx:rx tr:tm retrnsmt uid timeout inode */
			if (sscanf(text, " %*u: %39[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x "
			    "%*s %*s %*s %*u %*u %lu", addr, &lport, &st, &inode) == 4 &&
			    st == 0x0A && (int)lport == port && inode != 0 &&
			    covers_loopback(addr))
				return inode;
		}
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

/* The process with an fd on socket inode: "pid N (comm)" in out, else "". */
static void
socket_owner(unsigned long inode, char *out, size_t outsz)
{
	char want[48], path[300], link[64];
	struct dirent *de, *fe;
	DIR *proc, *fds;

	out[0] = '\0';
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	if ((proc = opendir("/proc")) == NULL)
		return;
	while (out[0] == '\0' && (de = readdir(proc)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
		if ((fds = opendir(path)) == NULL)
			continue;	/* gone, or not ours to read */
		while ((fe = readdir(fds)) != NULL) {
			ssize_t n;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fd/%s", de->d_name,
			    fe->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (strcmp(link, want) == 0) {
				struct buf comm = BUF_INIT;
				char *esc;

				snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
				if (file_read(path, &comm, 256, NULL) == 0 && comm.len &&
				    comm.data[comm.len - 1] == '\n')
					comm.data[--comm.len] = '\0';
				esc = mcp_escape_dup(comm.data ? comm.data : "?");
				snprintf(out, outsz, "pid %s (%s)", de->d_name, esc);
				free(esc);
				buf_free(&comm);
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
}

int
proc_loopback_port_free(int port, char *owner, size_t ownersz)
{
	static const char *const tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd, one = 1, e = 0;

	if (owner && ownersz)
		owner[0] = '\0';
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		e = errno;
	close(fd);
	if (e == 0)
		return 1;
	if (e != EADDRINUSE) {
		errno = e;
		return -1;
	}
	for (size_t i = 0; owner && ownersz && i < 2 && owner[0] == '\0'; i++) {
		struct buf t = BUF_INIT;
		unsigned long inode;

		if (file_read(tables[i], &t, 16 << 20, NULL) == 0 &&
		    (inode = proc_tcp_listener(t.data ? t.data : "", port)) != 0)
			socket_owner(inode, owner, ownersz);
		buf_free(&t);
	}
	return 0;
}
