/*
 * util/log.h: the daemon log (stderr, one line per event, with a level and
 * a timestamp).  Messages say which function failed and on what:
 *   log_warn("%s: bind %s", __func__, path);	(appends the errno text)
 * Name any other errno with mcp_strerror() (util/err.h), never strerror():
 * the agent is threaded.  Each message is escaped (util/escape.h), so text
 * from callers cannot break or forge a line.
 */
#ifndef MCP_UTIL_LOG_H
#define MCP_UTIL_LOG_H

void log_init(const char *progname, int verbose);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warnx plus ": " and the text of errno */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
