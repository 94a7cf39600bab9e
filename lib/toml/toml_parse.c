/*
 * toml/toml_parse.c: the TOML 1.0 document grammar (key/value lines,
 * [table] and [[array-of-tables]] headers, dotted keys, arrays, inline
 * tables, comments) and the rules about where a table may be defined.
 *
 * The parser is a single pass of recursive descent over text[0..len); it
 * recurses only into nested arrays and inline tables, and every node's
 * depth is bounded by TOML_MAX_DEPTH, so hostile input cannot exhaust the
 * stack here or in the walks of the tree.
 *
 * Definition rules (TOML 1.0 as toml-test and Python's tomllib read it),
 * enforced with the TN_* flags of each table node:
 *  - [a] defines a; a second [a] is an error.  [a.b] creates a implicitly,
 *    and a later [a] may still define it.
 *  - a dotted key b.c = 1 creates (or takes over an implicit) table b; b
 *    may receive more dotted keys but cannot be defined later by [b] (its
 *    sub-tables, [b.x], may be).
 *  - dotted keys cannot add to a table defined by a header, nor go through
 *    arrays; nothing can add to an inline table or a static array.
 *    (So a table made by dotted keys can only be reached by more dotted
 *    keys from the section that made it: later sections start at a
 *    header-defined table, which dotted keys cannot cross.)
 *  - [[a]] appends a table to the array of tables a; a header through a
 *    goes into its last element.
 */
#include "toml/toml_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One part of a dotted key, as written. */
struct tkey {
	char *name;		/* owned unless moved into the tree */
	size_t len;		/* name may hold NULs (\u0000) */
	int moved;		/* name now belongs to a table's kv */
	size_t off;		/* offset where it was written */
	int line, col;
};

struct tkeys {
	struct tkey *seg;
	size_t n, cap;
};

/* Room for a key in a message (see tkeys_str). */
#define TKEY_STR_MAX 256

static struct toml_value *tparse_value(struct toml_parser *p, int depth);

/* ---- errors and positions ---- */

void
tp_newline(struct toml_parser *p, size_t after)
{
	p->line++;
	p->line_start = after;
	p->col_pos = after;
	p->col_n = 1;
}

/*
 * Line and column (1-based, in characters) of offset off.  Offsets on the
 * current line are resolved from a cache that moves forward, so recording
 * the position of every token costs linear time overall; earlier lines
 * (only for some error messages) are found by rescanning.
 */
void
tp_where(struct toml_parser *p, size_t off, int *line, int *col)
{
	size_t i, ls = 0;
	int l = 1, c = 1;

	if (off > p->len)
		off = p->len;
	if (off >= p->line_start) {
		i = p->col_pos;
		c = p->col_n;
		if (off < i) {
			i = p->line_start;
			c = 1;
		}
		for (; i < off; i++)
			if (((unsigned char)p->s[i] & 0xC0) != 0x80)
				c++;
		p->col_pos = off;
		p->col_n = c;
		*line = p->line;
		*col = c;
		return;
	}
	for (i = 0; i < off; i++) {
		if (p->s[i] == '\n') {
			l++;
			ls = i + 1;
		}
	}
	for (i = ls; i < off; i++)
		if (((unsigned char)p->s[i] & 0xC0) != 0x80)
			c++;
	*line = l;
	*col = c;
}

int
tp_error(struct toml_parser *p, size_t off, const char *fmt, ...)
{
	char msg[MCP_ERR_MAX];
	int line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tp_where(p, off, &line, &col);
	return mcp_err_set(p->err, MCP_E_INVALID, "%s:%d:%d: %s", p->file,
	    line, col, msg);
}

int
tp_nomem(struct toml_parser *p)
{
	return mcp_err_set(p->err, MCP_E_RESOURCE, "%s: parse: out of memory",
	    p->file);
}

const char *
tp_what(const struct toml_parser *p, size_t off, char *b, size_t n)
{
	unsigned long cp;
	size_t len;
	int c;

	if (off >= p->len)
		return "end of input";
	c = (unsigned char)p->s[off];
	if (c == '\n')
		return "a newline";
	if (c == '\r')
		return "a carriage return";
	if (c == '\t')
		return "a tab";
	if (c >= 0x20 && c < 0x7F) {
		snprintf(b, n, "'%c'", c);
		return b;
	}
	len = tscan_utf8((const unsigned char *)p->s + off, p->len - off,
	    &cp);
	if (len == 0)
		snprintf(b, n, "byte 0x%02X (invalid UTF-8)", (unsigned)c);
	else if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
		snprintf(b, n, "control character U+%04lX", cp);
	else
		snprintf(b, n, "'%.*s' (U+%04lX)", (int)len, p->s + off, cp);
	return b;
}

/* A new node at depth, refusing to nest deeper than TOML_MAX_DEPTH. */
static struct toml_value *
tparse_node(struct toml_parser *p, size_t off, enum toml_type type,
    int line, int col, int depth)
{
	struct toml_value *v;

	if (depth > TOML_MAX_DEPTH) {
		tp_error(p, off, "nesting deeper than %d tables and arrays",
		    TOML_MAX_DEPTH);
		return NULL;
	}
	if ((v = ttree_new(type, line, col, depth)) == NULL)
		tp_nomem(p);
	return v;
}

/* ---- whitespace, comments, newlines ---- */

static void
tparse_skip_ws(struct toml_parser *p)
{
	int c;

	while ((c = tp_peek(p, 0)) == ' ' || c == '\t')
		p->pos++;
}

/* A comment at p->pos (if any) up to, not including, the end of line. */
static int
tparse_comment(struct toml_parser *p)
{
	unsigned long cp;
	char b[48];
	size_t n;
	int c;

	if (tp_peek(p, 0) != '#')
		return 0;
	p->pos++;
	for (;;) {
		c = tp_peek(p, 0);
		if (c == -1 || c == '\n' || (c == '\r' && tp_peek(p, 1) == '\n'))
			return 0;
		if (c == '\r')
			return tp_error(p, p->pos, "carriage return not followed "
			    "by a newline in comment");
		if ((c < 0x20 && c != '\t') || c == 0x7F)
			return tp_error(p, p->pos, "%s in comment",
			    tp_what(p, p->pos, b, sizeof(b)));
		if (c < 0x80) {
			p->pos++;
			continue;
		}
		n = tscan_utf8((const unsigned char *)p->s + p->pos,
		    p->len - p->pos, &cp);
		if (n == 0)
			return tp_error(p, p->pos, "invalid UTF-8 in comment");
		p->pos += n;
	}
}

/* Consume a newline at p->pos; 1 if there was one, 0 if not. */
static int
tparse_newline(struct toml_parser *p)
{
	if (tp_peek(p, 0) == '\n') {
		p->pos++;
	} else if (tp_peek(p, 0) == '\r' && tp_peek(p, 1) == '\n') {
		p->pos += 2;
	} else {
		return 0;
	}
	tp_newline(p, p->pos);
	return 1;
}

/* Whitespace, then an optional comment, then a newline or the end. */
static int
tparse_eol(struct toml_parser *p, const char *after)
{
	char b[48];

	tparse_skip_ws(p);
	if (tparse_comment(p) == -1)
		return -1;
	if (tp_peek(p, 0) == -1 || tparse_newline(p))
		return 0;
	if (tp_peek(p, 0) == '\r')
		return tp_error(p, p->pos, "carriage return not followed by a "
		    "newline");
	return tp_error(p, p->pos, "expected a newline after %s, found %s",
	    after, tp_what(p, p->pos, b, sizeof(b)));
}

/* Whitespace, comments and newlines (inside arrays). */
static int
tparse_skip_blank(struct toml_parser *p)
{
	for (;;) {
		tparse_skip_ws(p);
		if (tparse_comment(p) == -1)
			return -1;
		if (!tparse_newline(p))
			return 0;
	}
}

/* ---- keys ---- */

static void
tkeys_free(struct tkeys *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (!k->seg[i].moved)
			free(k->seg[i].name);
	free(k->seg);
	k->seg = NULL;
	k->n = k->cap = 0;
}

static int
tkey_is_bare(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int
toml_key_append(struct buf *o, const char *key, size_t len)
{
	const unsigned char *s = (const unsigned char *)key;
	size_t j;
	int quote = len == 0, r = 0;

	for (j = 0; j < len; j++)
		if (!tkey_is_bare(s[j]))
			quote = 1;
	if (quote)
		r |= buf_append(o, "\"", 1);
	for (j = 0; j < len; j++) {
		if (s[j] < 0x20 || s[j] == 0x7F || s[j] == '"' || s[j] == '\\')
			r |= buf_printf(o, "\\u%04X", s[j]);
		else
			r |= buf_append(o, &s[j], 1);
	}
	if (quote)
		r |= buf_append(o, "\"", 1);
	return r ? -1 : 0;
}

/*
 * Parts 0..upto of k as a printable dotted key for messages, quoted and
 * escaped where needed, cut with "..." to fit b.
 */
static const char *
tkeys_str(const struct tkeys *k, size_t upto, char b[TKEY_STR_MAX])
{
	const size_t n = TKEY_STR_MAX;
	struct buf o = BUF_INIT;
	size_t i, cut;

	for (i = 0; i <= upto && i < k->n; i++) {
		if (i)
			buf_append(&o, ".", 1);
		toml_key_append(&o, k->seg[i].name, k->seg[i].len);
	}
	if (o.data == NULL) {
		snprintf(b, n, "?");
	} else if (o.len < n) {
		memcpy(b, o.data, o.len + 1);
	} else {
		/* Cut on a character boundary. */
		cut = n - 4;
		while (cut > 0 && ((unsigned char)o.data[cut] & 0xC0) == 0x80)
			cut--;
		memcpy(b, o.data, cut);
		memcpy(b + cut, "...", 4);
	}
	buf_free(&o);
	return b;
}

/* A (dotted) key at p->pos, leaving p->pos after its last part. */
static int
tparse_key(struct toml_parser *p, struct tkeys *k)
{
	struct tkey *seg;
	size_t run;
	char b[48];
	int c;

	for (;;) {
		tparse_skip_ws(p);
		if (k->n == k->cap) {
			size_t ncap = k->cap ? k->cap * 2 : 4;

			seg = realloc(k->seg, ncap * sizeof(*seg));
			if (seg == NULL)
				return tp_nomem(p);
			k->seg = seg;
			k->cap = ncap;
		}
		seg = &k->seg[k->n];
		seg->moved = 0;
		seg->off = p->pos;
		tp_where(p, p->pos, &seg->line, &seg->col);
		c = tp_peek(p, 0);
		if (tkey_is_bare(c)) {
			run = 0;
			while (tkey_is_bare(tp_peek(p, run)))
				run++;
			seg->name = strndup(p->s + p->pos, run);
			if (seg->name == NULL)
				return tp_nomem(p);
			seg->len = run;
			p->pos += run;
		} else if (c == '"' || c == '\'') {
			if (tscan_string(p, 0) == -1)
				return -1;
			seg->len = p->sbuf.len;
			seg->name = buf_steal(&p->sbuf);
		} else {
			return tp_error(p, p->pos, "expected a key, found %s",
			    tp_what(p, p->pos, b, sizeof(b)));
		}
		k->n++;
		if (k->n > TOML_MAX_DEPTH)
			return tp_error(p, seg->off, "key has more than %d "
			    "parts", TOML_MAX_DEPTH);
		tparse_skip_ws(p);
		if (tp_peek(p, 0) != '.')
			return 0;
		p->pos++;
	}
}

/* Add part i of k to table t, moving the name into the tree. */
static int
tparse_add(struct toml_parser *p, struct toml_value *t, struct tkeys *k,
    size_t i, struct toml_value *v)
{
	if (ttree_table_add(t, k->seg[i].name, k->seg[i].len, k->seg[i].line,
	    k->seg[i].col, v) == -1)
		return tp_nomem(p);
	k->seg[i].moved = 1;
	return 0;
}

/* What v is, for messages: "an integer", "an array of tables", ... */
static const char *
tparse_kind(const struct toml_value *v)
{
	switch (v->type) {
	case TOML_STRING:
		return "a string";
	case TOML_INTEGER:
		return "an integer";
	case TOML_FLOAT:
		return "a float";
	case TOML_BOOL:
		return "a bool";
	case TOML_DATETIME:
		return "a datetime";
	case TOML_DATETIME_LOCAL:
		return "a local datetime";
	case TOML_DATE_LOCAL:
		return "a local date";
	case TOML_TIME_LOCAL:
		return "a local time";
	case TOML_ARRAY:
		return (tnode(v)->flags & TN_AOT) ? "an array of tables" :
		    "an array";
	case TOML_TABLE:
		return (tnode(v)->flags & TN_INLINE) ? "an inline table" :
		    "a table";
	}
	return "a value";
}

/*
 * A new empty table or array with the given flags under key part i of k
 * in table t; off, line, col say where it is defined.
 */
static struct toml_value *
tparse_new_child(struct toml_parser *p, struct toml_value *t,
    struct tkeys *k, size_t i, enum toml_type type, unsigned flags,
    size_t off, int line, int col)
{
	struct toml_value *v;

	v = tparse_node(p, off, type, line, col, tnode(t)->depth + 1);
	if (v == NULL)
		return NULL;
	tnode(v)->flags = flags;
	if (tparse_add(p, t, k, i, v) == -1) {
		toml_free(v);
		return NULL;
	}
	return v;
}

/* The table a dotted key's part i names inside t, creating it if absent. */
static struct toml_value *
tparse_dotted_table(struct toml_parser *p, struct toml_value *t,
    struct tkeys *k, size_t i)
{
	struct toml_kv *kv = ttree_table_find(t, k->seg[i].name,
	    k->seg[i].len);
	const struct tkey *seg = &k->seg[i];
	char name[TKEY_STR_MAX];
	struct toml_node *n;

	if (kv == NULL)
		return tparse_new_child(p, t, k, i, TOML_TABLE, TN_DOTTED,
		    seg->off, seg->line, seg->col);
	n = tnode(kv->val);
	if (kv->val->type != TOML_TABLE || (n->flags & TN_INLINE)) {
		tp_error(p, seg->off, "cannot add keys to '%s': it is %s "
		    "(defined at line %d, column %d)", tkeys_str(k, i, name),
		    tparse_kind(kv->val), kv->line, kv->col);
		return NULL;
	}
	if (n->flags & TN_HEADER) {
		tp_error(p, seg->off, "cannot add keys to table '%s' with a "
		    "dotted key: it was defined by a header at line %d",
		    tkeys_str(k, i, name), kv->val->line);
		return NULL;
	}
	n->flags |= TN_DOTTED;
	return kv->val;
}

/* key = value into table t (p->pos at the key). */
static int
tparse_keyval(struct toml_parser *p, struct toml_value *t)
{
	struct tkeys k = { 0 };
	struct toml_value *v;
	struct toml_kv *kv;
	char name[TKEY_STR_MAX], b[48];
	size_t i;

	if (tparse_key(p, &k) == -1)
		goto fail;
	if (tp_peek(p, 0) != '=') {
		tp_error(p, p->pos, "expected '=' after key '%s', found %s",
		    tkeys_str(&k, k.n, name), tp_what(p, p->pos, b, sizeof(b)));
		goto fail;
	}
	p->pos++;
	tparse_skip_ws(p);
	for (i = 0; i + 1 < k.n; i++)
		if ((t = tparse_dotted_table(p, t, &k, i)) == NULL)
			goto fail;
	if ((kv = ttree_table_find(t, k.seg[i].name, k.seg[i].len)) != NULL) {
		tp_error(p, k.seg[i].off, "duplicate key '%s' (first defined "
		    "at line %d, column %d)", tkeys_str(&k, i, name), kv->line,
		    kv->col);
		goto fail;
	}
	if ((v = tparse_value(p, tnode(t)->depth + 1)) == NULL)
		goto fail;
	if (tparse_add(p, t, &k, i, v) == -1) {
		toml_free(v);
		goto fail;
	}
	tkeys_free(&k);
	return 0;
fail:
	tkeys_free(&k);
	return -1;
}

/* ---- headers ---- */

/* The table a header's part i (not the last) goes through. */
static struct toml_value *
tparse_header_path(struct toml_parser *p, struct toml_value *t,
    struct tkeys *k, size_t i)
{
	struct toml_kv *kv = ttree_table_find(t, k->seg[i].name,
	    k->seg[i].len);
	const struct tkey *seg = &k->seg[i];
	char name[TKEY_STR_MAX];
	struct toml_value *v;

	if (kv == NULL)
		return tparse_new_child(p, t, k, i, TOML_TABLE, 0, seg->off,
		    seg->line, seg->col);
	v = kv->val;
	if (v->type == TOML_TABLE && !(tnode(v)->flags & TN_INLINE))
		return v;
	if (v->type == TOML_ARRAY && (tnode(v)->flags & TN_AOT))
		return v->u.arr.items[v->u.arr.n - 1];
	tp_error(p, seg->off, "cannot add a table to '%s': it is %s (defined "
	    "at line %d, column %d)", tkeys_str(k, i, name), tparse_kind(v),
	    kv->line, kv->col);
	return NULL;
}

/* [key]: define the table (under t) and make it current. */
static int
tparse_table_header(struct toml_parser *p, struct toml_value *t,
    struct tkeys *k, size_t start, int line, int col)
{
	size_t i = k->n - 1;
	struct toml_kv *kv = ttree_table_find(t, k->seg[i].name,
	    k->seg[i].len);
	char name[TKEY_STR_MAX];
	struct toml_value *v;
	struct toml_node *n;

	if (kv == NULL) {
		v = tparse_new_child(p, t, k, i, TOML_TABLE, TN_HEADER, start,
		    line, col);
		if (v == NULL)
			return -1;
		p->cur = v;
		return 0;
	}
	v = kv->val;
	n = tnode(v);
	if (v->type != TOML_TABLE || (n->flags & TN_INLINE))
		return tp_error(p, start, "cannot define table '%s': it is "
		    "already %s (defined at line %d, column %d)",
		    tkeys_str(k, i, name), tparse_kind(v), kv->line, kv->col);
	if (n->flags & TN_HEADER)
		return tp_error(p, start, "table '%s' is already defined (at "
		    "line %d, column %d)", tkeys_str(k, i, name), v->line,
		    v->col);
	if (n->flags & TN_DOTTED)
		return tp_error(p, start, "table '%s' is already defined by "
		    "dotted keys (at line %d, column %d)",
		    tkeys_str(k, i, name), kv->line, kv->col);
	/* Created implicitly by an earlier [x.y.z]: defined now. */
	n->flags |= TN_HEADER;
	v->line = line;
	v->col = col;
	kv->line = k->seg[i].line;
	kv->col = k->seg[i].col;
	p->cur = v;
	return 0;
}

/* [[key]]: append a table to the array (under t) and make it current. */
static int
tparse_array_header(struct toml_parser *p, struct toml_value *t,
    struct tkeys *k, size_t start, int line, int col)
{
	size_t i = k->n - 1;
	struct toml_kv *kv = ttree_table_find(t, k->seg[i].name,
	    k->seg[i].len);
	char name[TKEY_STR_MAX];
	struct toml_value *a, *v;

	if (kv == NULL) {
		a = tparse_new_child(p, t, k, i, TOML_ARRAY, TN_AOT, start,
		    line, col);
		if (a == NULL)
			return -1;
	} else {
		a = kv->val;
		if (a->type != TOML_ARRAY || !(tnode(a)->flags & TN_AOT))
			return tp_error(p, start, "cannot append a table to "
			    "'%s': it is %s (defined at line %d, column %d)",
			    tkeys_str(k, i, name), tparse_kind(a), kv->line,
			    kv->col);
	}
	v = tparse_node(p, start, TOML_TABLE, line, col, tnode(a)->depth + 1);
	if (v == NULL)
		return -1;
	tnode(v)->flags = TN_HEADER;
	if (ttree_array_push(a, v) == -1) {
		toml_free(v);
		return tp_nomem(p);
	}
	p->cur = v;
	return 0;

}

/* [key] or [[key]] at p->pos, up to the end of its line. */
static int
tparse_header(struct toml_parser *p)
{
	struct tkeys k = { 0 };
	struct toml_value *t = p->root;
	size_t start = p->pos, i;
	int line, col, aot, r = -1;
	char b[48];

	tp_where(p, start, &line, &col);
	aot = tp_peek(p, 1) == '[';
	p->pos += aot ? 2 : 1;
	if (tparse_key(p, &k) == -1)
		goto out;
	if (tp_peek(p, 0) != ']' || (aot && tp_peek(p, 1) != ']')) {
		/* Point past a lone ']' of "[[a]". */
		i = p->pos + (tp_peek(p, 0) == ']');
		tp_error(p, i, "expected '%s' to close the %s header, found %s",
		    aot ? "]]" : "]", aot ? "array of tables" : "table",
		    tp_what(p, i, b, sizeof(b)));
		goto out;
	}
	p->pos += aot ? 2 : 1;
	for (i = 0; i + 1 < k.n; i++)
		if ((t = tparse_header_path(p, t, &k, i)) == NULL)
			goto out;
	if (aot)
		r = tparse_array_header(p, t, &k, start, line, col);
	else
		r = tparse_table_header(p, t, &k, start, line, col);
	if (r == 0)
		r = tparse_eol(p, "the header");
out:
	tkeys_free(&k);
	return r;
}

/* ---- arrays and inline tables ---- */

static struct toml_value *
tparse_array(struct toml_parser *p, int depth)
{
	struct toml_value *a, *v;
	char b[48];
	int line, col;

	tp_where(p, p->pos, &line, &col);
	if ((a = tparse_node(p, p->pos, TOML_ARRAY, line, col, depth)) == NULL)
		return NULL;
	p->pos++;
	for (;;) {
		if (tparse_skip_blank(p) == -1)
			goto fail;
		if (tp_peek(p, 0) == ']')
			break;
		if ((v = tparse_value(p, depth + 1)) == NULL)
			goto fail;
		if (ttree_array_push(a, v) == -1) {
			toml_free(v);
			tp_nomem(p);
			goto fail;
		}
		if (tparse_skip_blank(p) == -1)
			goto fail;
		if (tp_peek(p, 0) == ']')
			break;
		if (tp_peek(p, 0) != ',') {
			tp_error(p, p->pos, "expected ',' or ']' in array, "
			    "found %s", tp_what(p, p->pos, b, sizeof(b)));
			goto fail;
		}
		p->pos++;
	}
	p->pos++;
	return a;
fail:
	toml_free(a);
	return NULL;
}

static struct toml_value *
tparse_inline_table(struct toml_parser *p, int depth)
{
	struct toml_value *t;
	char b[48];
	int line, col, c;

	tp_where(p, p->pos, &line, &col);
	if ((t = tparse_node(p, p->pos, TOML_TABLE, line, col, depth)) == NULL)
		return NULL;
	p->pos++;
	tparse_skip_ws(p);
	if (tp_peek(p, 0) != '}') {
		for (;;) {
			if (tparse_keyval(p, t) == -1)
				goto fail;
			tparse_skip_ws(p);
			c = tp_peek(p, 0);
			if (c == '}')
				break;
			if (c != ',') {
				tp_error(p, p->pos, "expected ',' or '}' in "
				    "inline table, found %s%s",
				    tp_what(p, p->pos, b, sizeof(b)),
				    c == '\n' || c == '\r' ? " (an inline "
				    "table must be on one line)" : "");
				goto fail;
			}
			p->pos++;
			tparse_skip_ws(p);
			if (tp_peek(p, 0) == '}') {
				tp_error(p, p->pos, "trailing comma in inline "
				    "table");
				goto fail;
			}
		}
	}
	p->pos++;
	tnode(t)->flags = TN_INLINE;
	return t;
fail:
	toml_free(t);
	return NULL;
}

static struct toml_value *
tparse_value(struct toml_parser *p, int depth)
{
	struct toml_value *v;
	int c = tp_peek(p, 0), line, col;

	if (depth > TOML_MAX_DEPTH) {
		tp_error(p, p->pos, "nesting deeper than %d tables and arrays",
		    TOML_MAX_DEPTH);
		return NULL;
	}
	if (c == '[')
		return tparse_array(p, depth);
	if (c == '{')
		return tparse_inline_table(p, depth);
	if (c != '"' && c != '\'')
		return tscan_scalar(p, depth);
	tp_where(p, p->pos, &line, &col);
	if (tscan_string(p, 1) == -1)
		return NULL;
	if ((v = ttree_new(TOML_STRING, line, col, depth)) == NULL) {
		tp_nomem(p);
		return NULL;
	}
	v->u.s.len = p->sbuf.len;
	v->u.s.ptr = buf_steal(&p->sbuf);
	return v;
}

/* ---- the document ---- */

static int
tparse_document(struct toml_parser *p)
{
	int c;

	/* A UTF-8 byte order mark is allowed at the very start. */
	if (p->len >= 3 && memcmp(p->s, "\xEF\xBB\xBF", 3) == 0)
		p->pos = 3;
	p->col_pos = p->pos;
	for (;;) {
		tparse_skip_ws(p);
		c = tp_peek(p, 0);
		if (c == -1)
			return 0;
		if (c == '[') {
			if (tparse_header(p) == -1)
				return -1;
		} else if (c == '#' || c == '\n' || c == '\r') {
			if (tparse_eol(p, "a comment") == -1)
				return -1;
		} else {
			if (tparse_keyval(p, p->cur) == -1 ||
			    tparse_eol(p, "the value") == -1)
				return -1;
		}
	}
}

struct toml_value *
toml_parse(const char *text, size_t len, const char *filename,
    struct mcp_err *err)
{
	struct toml_parser p = { 0 };
	int r;

	p.s = text;
	p.len = text ? len : 0;
	p.file = filename ? filename : "<input>";
	p.err = err;
	p.line = 1;
	p.col_n = 1;
	p.root = ttree_new(TOML_TABLE, 1, 1, 0);
	if (p.root == NULL) {
		tp_nomem(&p);
		return NULL;
	}
	p.cur = p.root;
	r = tparse_document(&p);
	buf_free(&p.sbuf);
	if (p.cloc != (locale_t)0)
		freelocale(p.cloc);
	if (r == -1) {
		toml_free(p.root);
		return NULL;
	}
	return p.root;
}
