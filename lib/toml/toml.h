/*
 * toml/toml.h: a TOML 1.0 parser producing a tree of values.
 *
 * toml_parse() reads a whole document and returns its root table, or NULL
 * with err filled as "FILE:LINE:COL: message" (code MCP_E_INVALID).  Every
 * value and key remembers the line and column where it was defined, so the
 * layers above (service definitions) can name positions in their own
 * errors.  Duplicate keys and redefined tables are errors.  Keys and
 * strings may hold any Unicode scalar value, NUL (\u0000) included, so both
 * carry a length; users that need a C string take it through
 * toml_get_string(), which refuses an embedded NUL instead of cutting the
 * value short.
 */
#ifndef MCP_TOML_TOML_H
#define MCP_TOML_TOML_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

enum toml_type {
	TOML_STRING,
	TOML_INTEGER,
	TOML_FLOAT,
	TOML_BOOL,
	TOML_DATETIME,		/* offset date-time */
	TOML_DATETIME_LOCAL,
	TOML_DATE_LOCAL,
	TOML_TIME_LOCAL,
	TOML_ARRAY,
	TOML_TABLE,
};

struct toml_value;

struct toml_kv {
	char *key;		/* NUL-terminated, but may contain NULs: */
	size_t keylen;		/* key holds a NUL iff strlen(key) != keylen */
	int line, col;		/* where the key was written */
	struct toml_value *val;
};

struct toml_value {
	enum toml_type type;
	int line, col;		/* where the value (or table header) starts */
	union {
		struct {
			char *ptr;	/* NUL-terminated; may contain NULs */
			size_t len;
		} s;
		int64_t i;
		double f;
		int b;
		/*
		 * Date/time types: the text as written, normalised to RFC 3339
		 * (uppercase 'T' and 'Z', space separator replaced by 'T').
		 */
		char *dt;
		struct {
			struct toml_value **items;
			size_t n;
		} arr;
		struct {
			struct toml_kv *kv;	/* in definition order */
			size_t n;
		} tab;
	} u;
};

/*
 * Parse len bytes of text (need not be NUL-terminated); filename is used in
 * error messages.  Nesting deeper than 256 tables/arrays is refused.
 */
struct toml_value *toml_parse(const char *text, size_t len,
    const char *filename, struct mcp_err *err);
/* Free a tree from toml_parse() (values are only ever made by the parser). */
void toml_free(struct toml_value *v);

/*
 * Lookup in a table (NULL if absent or v is not a table).  A C-string key
 * never matches a key that holds a NUL ("a" is not "a\0b").
 */
const struct toml_value *toml_get(const struct toml_value *table,
    const char *key);
/* The kv entry of a key, for its position. */
const struct toml_kv *toml_get_kv(const struct toml_value *table,
    const char *key);
/* The kv entry of key[0..keylen), which may contain NULs. */
const struct toml_kv *toml_get_kvn(const struct toml_value *table,
    const char *key, size_t keylen);
/*
 * v's text as a C string: NULL if v is not a string or if it holds a NUL
 * byte, which a C string would silently cut short.
 */
const char *toml_get_string(const struct toml_value *v);
const char *toml_type_name(enum toml_type t);

struct buf;
/*
 * Append key[0..len) to out as a message should show it: bare when TOML
 * would write it bare, else quoted with control characters, '"' and '\'
 * (NUL included) as \uXXXX, so a key can neither forge a log line nor hide
 * what follows a NUL.  0, or -1 when out of memory.
 */
int toml_key_append(struct buf *out, const char *key, size_t len);
/*
 * Append v as the tagged JSON of the toml-test suite to out: leaves are
 * {"type": "<toml_type_name>", "value": "<text>"}, tables and arrays are
 * JSON objects and arrays; floats are inf, -inf, nan or the shortest
 * decimal that reads back exactly.  0, or -1 with err set (out of memory).
 */
int toml_to_json(const struct toml_value *v, struct buf *out,
    struct mcp_err *err);

#endif
