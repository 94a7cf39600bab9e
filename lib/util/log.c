/*
 * util/log.c: stderr logging for the daemons, serialised by a mutex so
 * lines from different threads never interleave.  Every message is
 * escaped (util/escape.h) before it is written, so text a caller supplied
 * (a Deploy's source, a child's error output) can neither break a line in
 * two nor forge one: one call, one line.
 */
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/escape.h"

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static const char *log_prog = "mcp";
static int log_verbose;

void
log_init(const char *progname, int verbose)
{
	log_prog = progname;
	log_verbose = verbose;
}

static void
log_vline(const char *level, const char *fmt, va_list ap, const char *suffix)
{
	char ts[32], small[512];
	struct timespec now;
	struct tm tm;
	struct buf line = BUF_INIT;
	char *msg = small;
	va_list ap2;
	int n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n >= (int)sizeof(small) && (msg = malloc((size_t)n + 1)) != NULL)
		vsnprintf(msg, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	if (msg == NULL)
		msg = small;	/* out of memory: the truncated text */
	if (n < 0)
		n = 0;
	else if (msg == small && n >= (int)sizeof(small))
		n = (int)sizeof(small) - 1;
	if (buf_printf(&line, "%s.%03ldZ %s %s: ", ts, now.tv_nsec / 1000000,
	    log_prog, level) == -1 ||
	    mcp_escape_append(&line, msg, (size_t)n) == -1 ||
	    (suffix && (buf_puts(&line, ": ") == -1 ||
	    mcp_escape_append(&line, suffix, strlen(suffix)) == -1)) ||
	    buf_puts(&line, "\n") == -1) {
		buf_free(&line);
		buf_puts(&line, "(log: out of memory)\n");
	}
	if (msg != small)
		free(msg);
	pthread_mutex_lock(&log_mu);
	fwrite(line.data ? line.data : "", 1, line.len, stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_mu);
	buf_free(&line);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("info", fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vline("debug", fmt, ap, NULL);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("warn", fmt, ap, NULL);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	char why[MCP_STRERROR_MAX];

	mcp_strerror(errno, why, sizeof(why));
	va_start(ap, fmt);
	log_vline("warn", fmt, ap, why);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("fatal", fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
