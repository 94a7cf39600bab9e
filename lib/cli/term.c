/*
 * cli/term.c: the terminal the CLI prints to: its width, fitting a table
 * into it, and escaping what peers send before it reaches it (cli/cli.h).
 */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/escape.h"

int
cli_term_width(int fd)
{
	struct winsize ws;

	if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* Display columns of UTF-8 text: one per code point. */
size_t
cli_text_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

void
cli_escape(struct buf *out, const char *s, size_t len)
{
	if (mcp_escape_append(out, s, len) == -1)
		abort();
}

json_t *
cli_json_str(const char *s)
{
	json_t *j;
	char *e;

	if (s == NULL)
		s = "";
	if ((j = json_string(s)) != NULL)
		return j;
	/* not UTF-8 (jansson refuses it): the escaped text, never nothing */
	e = mcp_escape_dup(s);
	j = json_string(e);
	free(e);
	if (j == NULL)
		abort();
	return j;
}

int
cli_printf(FILE *f, const char *fmt, ...)
{
	struct buf out = BUF_INIT;
	va_list ap;
	size_t len;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	len = (size_t)n;
	cli_escape(&out, s, len && s[len - 1] == '\n' ? len - 1 : len);
	if (len && s[len - 1] == '\n')
		buf_puts(&out, "\n");
	n = out.len ? (int)fwrite(out.data, 1, out.len, f) : 0;
	buf_free(&out);
	free(s);
	return n;
}

void
cli_fit(struct buf *out, const char *s, size_t w, int pad)
{
	size_t n = cli_text_width(s), cols = 0;
	const char *p;

	if (n <= w) {
		buf_puts(out, s);
		for (; pad && n < w; n++)
			buf_puts(out, " ");
		return;
	}
	if (w == 0)
		return;
	/* w - 1 columns of s, then the ellipsis */
	for (p = s; *p; p++) {
		if (((unsigned char)*p & 0xc0) != 0x80 && cols++ == w - 1)
			break;
	}
	buf_append(out, s, (size_t)(p - s));
	buf_puts(out, "\xe2\x80\xa6");	/* U+2026 HORIZONTAL ELLIPSIS */
}

void
cli_table_widths(const size_t *natural, const size_t *minw, size_t ncols,
    size_t width, size_t *out)
{
	size_t total = 0, i;

	for (i = 0; i < ncols; i++) {
		out[i] = natural[i];
		total += natural[i];
	}
	total += ncols ? ncols - 1 : 0;		/* one space between columns */
	/* take a column from the widest column that may still give one */
	while (total > width) {
		size_t best = ncols;

		for (i = 0; i < ncols; i++)
			if (out[i] > minw[i] && (best == ncols || out[i] > out[best] ||
			    (out[i] == out[best] && i > best)))
				best = i;
		if (best == ncols)
			break;		/* every column at its minimum: let it overflow */
		out[best]--;
		total--;
	}
}

struct cli_table *
cli_table_new(size_t ncols, const char *const *head, const size_t *minw)
{
	struct cli_table *t = xcalloc(1, sizeof(*t));

	t->ncols = ncols;
	t->minw = xcalloc(ncols, sizeof(*t->minw));
	for (size_t i = 0; i < ncols; i++)
		t->minw[i] = minw ? minw[i] : 0;
	cli_table_add(t, head);
	return t;
}

void
cli_table_add(struct cli_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->cells = realloc(t->cells, t->cap * t->ncols * sizeof(*t->cells));
		if (t->cells == NULL)
			abort();
	}
	for (size_t i = 0; i < t->ncols; i++) {
		const char *v = cells[i] ? cells[i] : "";
		struct buf e = BUF_INIT;

		cli_escape(&e, v, strlen(v));
		t->cells[t->nrows * t->ncols + i] = e.data ? e.data : xstrdup("");
	}
	t->nrows++;
}

void
cli_table_print(struct cli_table *t, FILE *f, size_t width, int wide)
{
	size_t *nat = xcalloc(t->ncols, sizeof(*nat)), *w = xcalloc(t->ncols, sizeof(*w));
	struct buf line = BUF_INIT;
	size_t r, i;

	for (r = 0; r < t->nrows; r++)
		for (i = 0; i < t->ncols; i++) {
			size_t n = cli_text_width(t->cells[r * t->ncols + i]);

			if (n > nat[i])
				nat[i] = n;
		}
	if (wide)
		memcpy(w, nat, t->ncols * sizeof(*w));
	else
		cli_table_widths(nat, t->minw, t->ncols, width, w);
	for (r = 0; r < t->nrows; r++) {
		buf_reset(&line);
		for (i = 0; i < t->ncols; i++) {
			if (i)
				buf_puts(&line, " ");
			cli_fit(&line, t->cells[r * t->ncols + i], w[i], i + 1 < t->ncols);
		}
		/* no trailing blanks (an empty last cell) */
		while (line.len && line.data[line.len - 1] == ' ')
			line.data[--line.len] = '\0';
		fprintf(f, "%s\n", line.len ? line.data : "");
	}
	buf_free(&line);
	free(nat);
	free(w);
}

void
cli_table_free(struct cli_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->minw);
	free(t);
}

void
cli_line(const struct cli *c, const char *fmt, ...)
{
	struct buf out = BUF_INIT, esc = BUF_INIT;
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	cli_escape(&esc, s, (size_t)n);
	if (c->wide || c->json)
		buf_puts(&out, esc.data ? esc.data : "");
	else
		cli_fit(&out, esc.data ? esc.data : "", (size_t)(c->width > 0 ? c->width : 80), 0);
	printf("%s\n", out.data ? out.data : "");
	buf_free(&esc);
	buf_free(&out);
	free(s);
}
