/*
 * runtime/qemu_logs.c: a VM's logs are its serial console file.  Tail
 * finds the start of the last N lines by reading backwards; follow polls
 * the file for growth every 250 ms, ticks the callback (len == 0) about
 * twice a second so the caller can cancel, and ends once the VM is no
 * longer running and everything it wrote has been delivered.
 */
#include "runtime/qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_CHUNK 65536

/* Offset where the last `lines` lines of fd (size bytes) begin. */
static off_t
tail_offset(int fd, off_t size, int lines)
{
	char chunk[LOG_CHUNK];
	off_t pos = size;
	int seen = 0;

	if (lines <= 0)
		return 0;
	/* a final line without '\n' counts as a line; a trailing '\n' does not start one */
	if (size > 0 && pread(fd, chunk, 1, size - 1) == 1 && chunk[0] == '\n')
		pos = size - 1;
	while (pos > 0) {
		size_t n = pos > LOG_CHUNK ? LOG_CHUNK : (size_t)pos;
		ssize_t r = pread(fd, chunk, n, pos - (off_t)n);

		if (r != (ssize_t)n)
			return 0;
		for (ssize_t i = r - 1; i >= 0; i--)
			if (chunk[i] == '\n' && ++seen == lines)
				return pos - (off_t)n + i + 1;
		pos -= (off_t)n;
	}
	return 0;
}

/* Send [*pos, end) to cb; 1 when cb asked to stop, -1 on read error. */
static int
send_range(int fd, off_t *pos, off_t end, rt_log_cb cb, void *arg)
{
	char chunk[LOG_CHUNK];

	while (*pos < end) {
		size_t n = end - *pos > LOG_CHUNK ? LOG_CHUNK : (size_t)(end - *pos);
		ssize_t r = pread(fd, chunk, n, *pos);

		if (r <= 0)
			return r == 0 ? 0 : -1;
		*pos += r;
		if (cb(chunk, (size_t)r, arg) != 0)
			return 1;
	}
	return 0;
}

int
qemu_logs_read(const char *vmdir, int tail, int follow, rt_log_cb cb, void *arg,
    struct mcp_err *err)
{
	char path[4200];
	struct timespec nap = { 0, 250 * 1000 * 1000 };
	struct stat st;
	off_t pos;
	int fd, rc, ticks = 0;

	snprintf(path, sizeof(path), "%s/console.log", vmdir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			return mcp_err_errno(err, errno, "logs %s", path);
		/* started but nothing written yet, or never started */
		snprintf(path, sizeof(path), "%s/spec.json", vmdir);
		if (access(path, F_OK) == -1)
			return mcp_err_set(err, MCP_E_NOTFOUND, "logs %s: no such VM", vmdir);
		return 0;
	}
	if (fstat(fd, &st) == -1) {
		close(fd);
		return mcp_err_errno(err, errno, "logs %s", path);
	}
	pos = tail_offset(fd, st.st_size, tail);
	rc = send_range(fd, &pos, st.st_size, cb, arg);
	while (rc == 0 && follow) {
		int running = qemu_pid_read(vmdir) > 0;

		nanosleep(&nap, NULL);
		if (fstat(fd, &st) == -1)
			break;
		if (st.st_size < pos)	/* truncated */
			pos = 0;
		if ((rc = send_range(fd, &pos, st.st_size, cb, arg)) != 0)
			break;
		if (!running)	/* nothing more will come */
			break;
		if (++ticks % 2 == 0 && cb(NULL, 0, arg) != 0)
			break;
	}
	close(fd);
	if (rc < 0)
		return mcp_err_errno(err, errno, "logs %s", path);
	return 0;
}
