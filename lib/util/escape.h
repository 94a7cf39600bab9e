/*
 * util/escape.h: make untrusted text safe to log and to store.  Caller-
 * supplied strings (a Deploy's source, an error a child printed) must not
 * forge log lines or drive a terminal: every control character, DEL, C1
 * control, backslash and byte that is not valid UTF-8 is written as a
 * visible escape; valid UTF-8 text passes through unchanged.  The log
 * layer (util/log.c) applies it to every message, the registry to every
 * caller-derived text it stores.
 */
#ifndef MCP_UTIL_ESCAPE_H
#define MCP_UTIL_ESCAPE_H

#include <stddef.h>

#include "util/buf.h"

/*
 * Append s[0..len) to out, escaped: \n \r \t \\ for those four, \xNN for
 * the other bytes below 0x20, DEL and bytes that are not part of a valid
 * UTF-8 sequence, \u00NN for the C1 controls U+0080..U+009F.  The result
 * is printable and reversible (a literal backslash is doubled).  Returns
 * 0, or -1 when out could not grow (ENOMEM).
 */
int mcp_escape_append(struct buf *out, const char *s, size_t len);

/* Escaped copy of the C string s (NULL gives ""); aborts on ENOMEM. */
char *mcp_escape_dup(const char *s);

#endif
