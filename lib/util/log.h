/*
 * util/log.h: the daemon log (stderr, one line per event, with a level and
 * a timestamp).  Messages say which function failed and on what:
 *   log_warnx("%s: bind %s: %s", __func__, path, strerror(errno));
 */
#ifndef MCP_UTIL_LOG_H
#define MCP_UTIL_LOG_H

void log_init(const char *progname, int verbose);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warnx plus ": strerror(errno)" */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
