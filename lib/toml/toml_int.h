/*
 * toml/toml_int.h: internals shared by the files of the TOML parser; not
 * for use outside lib/toml/.
 *
 * Every struct toml_value is allocated as the first member of a struct
 * toml_node, which adds what the parser needs and the public header does
 * not show: how a table came to exist (TOML forbids defining a table twice,
 * and the rules depend on whether it was made by a [header], a dotted key,
 * or an inline table), the nesting depth (bounded so that recursive walks
 * of the tree cannot exhaust the stack), capacities, and a hash index that
 * keeps key lookup constant-time in large tables.
 *
 * Files: toml_tree.c owns the tree (allocation, insertion, lookup, free);
 * toml_scalar.c scans strings, numbers, booleans and date-times;
 * toml_parse.c owns the document grammar and the table-definition rules;
 * toml_json.c writes the tagged JSON form of the toml-test suite.
 */
#ifndef MCP_TOML_TOML_INT_H
#define MCP_TOML_TOML_INT_H

#include <locale.h>
#include <stddef.h>

#include "toml/toml.h"
#include "util/buf.h"

/* Deepest nesting of tables and arrays accepted (the root is depth 0). */
#define TOML_MAX_DEPTH 256

enum {
	TN_HEADER = 1 << 0,	/* table defined by [header] or [[header]] */
	TN_DOTTED = 1 << 1,	/* table created by a dotted key */
	TN_INLINE = 1 << 2,	/* inline table: closed to any addition */
	TN_AOT = 1 << 3,	/* array made by [[header]] (else static) */
};

struct toml_node {
	struct toml_value v;	/* first: a toml_value * is a toml_node * */
	unsigned flags;		/* TN_* */
	int depth;		/* 0 for the root */
	size_t cap;		/* allocated items (array) or kv (table) */
	size_t *index;		/* table hash: kv slot + 1, 0 empty; or NULL */
	size_t index_cap;	/* power of two */
};

static inline struct toml_node *
tnode(const struct toml_value *v)
{
	return (struct toml_node *)(void *)v;
}

/* toml_tree.c.  All return NULL or -1 only when out of memory. */
struct toml_value *ttree_new(enum toml_type type, int line, int col,
    int depth);
/*
 * Append key = val to table t; key[0..keylen) (NUL-terminated, may hold
 * NULs); takes ownership of key and val on success.
 */
int ttree_table_add(struct toml_value *t, char *key, size_t keylen,
    int line, int col, struct toml_value *val);
struct toml_kv *ttree_table_find(const struct toml_value *t,
    const char *key, size_t keylen);
/* Append val to array a; takes ownership of val on success. */
int ttree_array_push(struct toml_value *a, struct toml_value *val);

/*
 * The parser's state, shared by toml_parse.c and toml_scalar.c.  The input
 * is text[0..len) and need not be NUL-terminated; every read goes through
 * tp_peek(), which returns -1 past the end.
 */
struct toml_parser {
	const char *s;
	size_t len;
	size_t pos;
	const char *file;
	struct mcp_err *err;

	int line;		/* line of offset line_start (1-based) */
	size_t line_start;	/* offset of the current line's first byte */
	size_t col_pos;		/* column cache: offset col_pos ... */
	int col_n;		/* ... is column col_n of the current line */

	struct toml_value *root;
	struct toml_value *cur;	/* table the key/value lines go into */

	struct buf sbuf;	/* scratch: string contents, number digits */
	locale_t cloc;		/* "C" numeric locale for strtod, lazily */
};

static inline int
tp_peek(const struct toml_parser *p, size_t k)
{
	return p->len - p->pos > k ? (unsigned char)p->s[p->pos + k] : -1;
}

/* toml_parse.c: error reporting and position tracking. */
int tp_error(struct toml_parser *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int tp_nomem(struct toml_parser *p);
void tp_where(struct toml_parser *p, size_t off, int *line, int *col);
/* Account for the '\n' just consumed; after is the offset past it. */
void tp_newline(struct toml_parser *p, size_t after);
/* Describe the byte at off for a message: "'x'", "end of input", ... */
const char *tp_what(const struct toml_parser *p, size_t off, char *b,
    size_t n);

/* toml_scalar.c */
/* Length of the valid UTF-8 sequence at s[0..n) (0 if invalid). */
size_t tscan_utf8(const unsigned char *s, size_t n, unsigned long *cp);
/*
 * Scan a string of any of the four kinds starting at p->pos (on the
 * quote); the content goes to p->sbuf.  allow_multi is 0 for keys.
 */
int tscan_string(struct toml_parser *p, int allow_multi);
/* Scan a number, boolean or date-time at p->pos into a new value. */
struct toml_value *tscan_scalar(struct toml_parser *p, int depth);

#endif
