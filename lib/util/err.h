/*
 * util/err.h: the one error convention of the tree.
 *
 * A function that can fail returns 0 on success and -1 on failure, and fills
 * a caller-owned struct mcp_err with a status code and a one-line message
 * that names the object and the cause ("pull 127.0.0.1:5000/hello:v1:
 * manifest unknown").  Callers add context going up with mcp_err_prefix();
 * one place at the top (a main, or the RPC layer) prints or sends it.
 * The codes are gRPC status codes so the RPC layer passes them through.
 */
#ifndef MCP_UTIL_ERR_H
#define MCP_UTIL_ERR_H

#include <stddef.h>

enum mcp_code {
	MCP_OK = 0,
	MCP_E_CANCELLED = 1,
	MCP_E_UNKNOWN = 2,
	MCP_E_INVALID = 3,	/* bad input: definition, path, argument */
	MCP_E_TIMEOUT = 4,
	MCP_E_NOTFOUND = 5,
	MCP_E_EXISTS = 6,
	MCP_E_PERM = 7,		/* caller not allowed */
	MCP_E_RESOURCE = 8,	/* ports, memory, addresses exhausted */
	MCP_E_PRECONDITION = 9,	/* e.g. runtime unavailable on this node */
	MCP_E_ABORTED = 10,
	MCP_E_RANGE = 11,
	MCP_E_UNIMPLEMENTED = 12,
	MCP_E_INTERNAL = 13,
	MCP_E_UNAVAILABLE = 14,	/* peer or tool not reachable */
	MCP_E_DATALOSS = 15,
	MCP_E_UNAUTHENTICATED = 16,
};

#define MCP_ERR_MAX 1024

struct mcp_err {
	int code;
	char msg[MCP_ERR_MAX];
};

#define MCP_ERR_INIT { 0, { 0 } }

/* Set code and message; always returns -1 so callers can `return mcp_err_set(...)`. */
int mcp_err_set(struct mcp_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like mcp_err_set, appending ": strerror(errnum)". */
int mcp_err_errno(struct mcp_err *e, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepend "context: " to the message; keeps the code. Returns -1. */
int mcp_err_prefix(struct mcp_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void mcp_err_clear(struct mcp_err *e);

/*
 * The text for errnum in buf (always filled and NUL-terminated, also when
 * glibc's GNU strerror_r hands back a static string instead); returns buf.
 * Thread-safe: the one way to name an errno in this tree (strerror() is
 * not safe in the threaded agent).
 */
#define MCP_STRERROR_MAX 128
const char *mcp_strerror(int errnum, char *buf, size_t len);
const char *mcp_code_name(int code);

#endif
