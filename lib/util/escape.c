/*
 * util/escape.c: control-character escaping for logs and stored text
 * (see escape.h).  One pass, no allocation beyond the output buffer.
 */
#include "util/escape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Length of the valid UTF-8 sequence at s (at most n bytes), 0 when the
 * bytes there are not one: overlong forms, surrogates and code points
 * above U+10FFFF are invalid (RFC 3629).  *cp receives the code point.
 */
static size_t
utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c = s[0], min, v;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, min = 0x80, v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, min = 0x800, v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, min = 0x10000, v = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

int
mcp_escape_append(struct buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	/* plain runs are copied in one append; only escapes cost a call each */
	while (i < len) {
		unsigned cp;
		size_t n = utf8_seq(p + i, len - i, &cp);
		char esc[8];

		if (n > 0 && cp >= 0x20 && cp != 0x7f && cp != '\\' &&
		    !(cp >= 0x80 && cp <= 0x9f)) {
			i += n;
			run += n;
			continue;
		}
		if (run && buf_append(out, p + i - run, run) == -1)
			return -1;
		run = 0;
		if (n == 0)
			snprintf(esc, sizeof(esc), "\\x%02x", p[i]), n = 1;
		else if (cp == '\n')
			strcpy(esc, "\\n");
		else if (cp == '\r')
			strcpy(esc, "\\r");
		else if (cp == '\t')
			strcpy(esc, "\\t");
		else if (cp == '\\')
			strcpy(esc, "\\\\");
		else if (cp >= 0x80)
			snprintf(esc, sizeof(esc), "\\u%04x", cp);
		else
			snprintf(esc, sizeof(esc), "\\x%02x", cp);
		if (buf_puts(out, esc) == -1)
			return -1;
		i += n;
	}
	if (run && buf_append(out, p + i - run, run) == -1)
		return -1;
	if (out->data == NULL)
		return buf_puts(out, "");
	return 0;
}

char *
mcp_escape_dup(const char *s)
{
	struct buf b = BUF_INIT;

	if (s == NULL)
		s = "";
	if (mcp_escape_append(&b, s, strlen(s)) == -1)
		abort();
	return buf_steal(&b);
}
