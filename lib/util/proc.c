/*
 * util/proc.c: PIDs checked against /proc (see proc.h).
 */
#include "util/proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
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
