/*
 * toml/toml_json.c: writes a parsed TOML tree as the tagged JSON of the
 * toml-test conformance suite, where every leaf is an object
 * {"type": "integer", "value": "42"} (value always a string) and tables
 * and arrays are plain JSON objects and arrays.  Keys and strings are
 * written from their lengths, so a NUL (\u0000) inside either survives as
 * "\u0000".  bin/toml-decode prints this; tests and the conformance script
 * compare it.
 */
#include "toml/toml_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
tjson_string(struct buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;
	char esc[8];

	if (buf_append(out, "\"", 1) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != 0x7F && c != '"' && c != '\\')
			continue;
		if (buf_append(out, s + run, i - run) == -1)
			return -1;
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\t': esc[1] = 't'; break;
		case '\n': esc[1] = 'n'; break;
		case '\f': esc[1] = 'f'; break;
		case '\r': esc[1] = 'r'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xF];
			if (buf_append(out, esc, 6) == -1)
				return -1;
			continue;
		}
		if (buf_append(out, esc, 2) == -1)
			return -1;
	}
	if (buf_append(out, s + run, n - run) == -1)
		return -1;
	return buf_append(out, "\"", 1);
}

/* Shortest decimal that reads back as d, always with '.' or 'e'. */
static void
tjson_float(double d, char *b, size_t n)
{
	locale_t c, old;
	int prec;

	if (isnan(d)) {
		snprintf(b, n, "nan");
		return;
	}
	if (isinf(d)) {
		snprintf(b, n, d < 0 ? "-inf" : "inf");
		return;
	}
	c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	old = c != (locale_t)0 ? uselocale(c) : (locale_t)0;
	/* 17 significant digits always read back exactly. */
	for (prec = 1; prec <= 17; prec++) {
		snprintf(b, n, "%.*g", prec, d);
		if (strtod(b, NULL) == d)
			break;
	}
	if (c != (locale_t)0) {
		uselocale(old);
		freelocale(c);
	}
	if (strpbrk(b, ".e") == NULL && strlen(b) + 3 <= n)
		strcat(b, ".0");
}

static int
tjson_leaf(struct buf *out, const char *type, const char *val, size_t n)
{
	if (buf_printf(out, "{\"type\": \"%s\", \"value\": ", type) == -1 ||
	    tjson_string(out, val, n) == -1)
		return -1;
	return buf_append(out, "}", 1);
}

static int
tjson_value(const struct toml_value *v, struct buf *out)
{
	const char *type = toml_type_name(v->type);
	char b[64];
	size_t i;

	switch (v->type) {
	case TOML_STRING:
		return tjson_leaf(out, type, v->u.s.ptr, v->u.s.len);
	case TOML_INTEGER:
		snprintf(b, sizeof(b), "%" PRId64, v->u.i);
		return tjson_leaf(out, type, b, strlen(b));
	case TOML_FLOAT:
		tjson_float(v->u.f, b, sizeof(b));
		return tjson_leaf(out, type, b, strlen(b));
	case TOML_BOOL:
		return tjson_leaf(out, type, v->u.b ? "true" : "false",
		    v->u.b ? 4 : 5);
	case TOML_DATETIME:
	case TOML_DATETIME_LOCAL:
	case TOML_DATE_LOCAL:
	case TOML_TIME_LOCAL:
		return tjson_leaf(out, type, v->u.dt, strlen(v->u.dt));
	case TOML_ARRAY:
		if (buf_append(out, "[", 1) == -1)
			return -1;
		for (i = 0; i < v->u.arr.n; i++) {
			if ((i && buf_append(out, ", ", 2) == -1) ||
			    tjson_value(v->u.arr.items[i], out) == -1)
				return -1;
		}
		return buf_append(out, "]", 1);
	case TOML_TABLE:
		if (buf_append(out, "{", 1) == -1)
			return -1;
		for (i = 0; i < v->u.tab.n; i++) {
			const struct toml_kv *kv = &v->u.tab.kv[i];

			if ((i && buf_append(out, ", ", 2) == -1) ||
			    tjson_string(out, kv->key, kv->keylen) == -1 ||
			    buf_append(out, ": ", 2) == -1 ||
			    tjson_value(kv->val, out) == -1)
				return -1;
		}
		return buf_append(out, "}", 1);
	}
	return -1;
}

int
toml_to_json(const struct toml_value *v, struct buf *out, struct mcp_err *err)
{
	if (v == NULL)
		return mcp_err_set(err, MCP_E_INVALID, "toml_to_json: no value");
	if (tjson_value(v, out) == -1)
		return mcp_err_set(err, MCP_E_RESOURCE, "toml_to_json: out of "
		    "memory");
	return 0;
}
