/*
 * util/file.h: whole-file reads and atomic writes, directory creation.
 */
#ifndef MCP_UTIL_FILE_H
#define MCP_UTIL_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"

/* Read a whole file (at most max bytes, 0 = 64 MiB) into out; on failure
 * out is left empty (freed). */
int file_read(const char *path, struct buf *out, size_t max, struct mcp_err *err);
/* Write data to path via a temp file + fsync + rename, with mode. */
int file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, struct mcp_err *err);
/* The same, but refuse (MCP_E_EXISTS) if path exists, even when another
 * writer creates it concurrently (keys, certificates). */
int file_write_new(const char *path, const void *data, size_t len,
    mode_t mode, struct mcp_err *err);
/* mkdir -p with mode for created components. */
int file_mkdirs(const char *path, mode_t mode, struct mcp_err *err);

#endif
