/*
 * util/buf.h: a growable byte buffer (always NUL-terminated so text can be
 * used as a C string) and small string helpers shared by the tree.
 */
#ifndef MCP_UTIL_BUF_H
#define MCP_UTIL_BUF_H

#include <stddef.h>

struct buf {
	char *data;	/* owned; NUL-terminated; NULL when empty and unused */
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

int buf_append(struct buf *b, const void *p, size_t n);	/* 0 / -1 (ENOMEM) */
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);	/* len = 0, keeps memory */
void buf_free(struct buf *b);
/* Take ownership of the data (never NULL: "" when empty); b is reset. */
char *buf_steal(struct buf *b);

/* strdup that aborts on ENOMEM: for small strings where failure is fatal. */
char *xstrdup(const char *s);
void *xcalloc(size_t n, size_t sz);
/* Copy with truncation; returns strlen(src) like strlcpy. */
size_t mcp_strlcpy(char *dst, const char *src, size_t size);
/* Trim trailing whitespace in place. */
void mcp_rtrim(char *s);

#endif
