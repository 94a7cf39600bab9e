/*
 * util/err.c: struct mcp_err helpers (see err.h for the convention).
 */
#include "util/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
mcp_err_set(struct mcp_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->code = code ? code : MCP_E_UNKNOWN;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
mcp_err_errno(struct mcp_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;
	int code = MCP_E_INTERNAL;
	char why[MCP_STRERROR_MAX];

	if (e == NULL)
		return -1;
	if (errnum == ENOENT)
		code = MCP_E_NOTFOUND;
	else if (errnum == EACCES || errnum == EPERM)
		code = MCP_E_PERM;
	else if (errnum == EEXIST)
		code = MCP_E_EXISTS;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof(e->msg) - n, ": %s",
	    mcp_strerror(errnum, why, sizeof(why)));
	return -1;
}

int
mcp_err_prefix(struct mcp_err *e, const char *fmt, ...)
{
	char ctx[MCP_ERR_MAX], old[MCP_ERR_MAX];
	va_list ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	snprintf(e->msg, sizeof(e->msg), "%s: %s", ctx, old);
	if (e->code == 0)
		e->code = MCP_E_UNKNOWN;
	return -1;
}

const char *
mcp_strerror(int errnum, char *buf, size_t len)
{
	const char *s;

	if (len == 0)
		return buf;
#if defined(_GNU_SOURCE)
	/* GNU form: returns the text, which may be a static string with buf
	 * left untouched */
	s = strerror_r(errnum, buf, len);
#else
	/* XSI form: fills buf, returns 0 or an error number */
	s = strerror_r(errnum, buf, len) == 0 ? buf : NULL;
#endif
	if (s == NULL)
		snprintf(buf, len, "error %d", errnum);
	else if (s != buf)
		snprintf(buf, len, "%s", s);
	return buf;
}

void
mcp_err_clear(struct mcp_err *e)
{
	if (e) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}

const char *
mcp_code_name(int code)
{
	static const char *names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
		"PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
		"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
		"UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
	};
	if (code < 0 || code > 16)
		return "UNKNOWN";
	return names[code];
}
