/*
 * tests/unit/test_toml.c: the TOML 1.0 parser (lib/toml/): every construct,
 * valid and malformed, with the values and types it yields, the positions
 * it records, and the "FILE:LINE:COL: message" of its errors.
 *
 * Most cases are tables of (input, expected).  Valid documents are
 * flattened to one line, "path=type:value;" per leaf in definition order
 * ("a.b[0]=integer:1;"), empty tables and arrays as "path={};" and
 * "path=[];".  Every input is handed to the parser in an exact-size heap
 * copy without a terminating NUL, so an over-read fails under ASan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "toml/toml.h"
#include "toml/toml_read.h"
#include "util/buf.h"
#include "util/err.h"

#define U __attribute__((unused))

/* Parse s[0..len) from an exact-size copy. */
static struct toml_value *
parse_n(const char *s, size_t len, struct mcp_err *err)
{
	struct toml_value *v;
	char *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	memcpy(copy, s, len);
	v = toml_parse(copy, len, "t.toml", err);
	free(copy);
	return v;
}

static struct toml_value *
parse(const char *s, struct mcp_err *err)
{
	return parse_n(s, strlen(s), err);
}

static int
key_is_bare(const char *k, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
		    (k[i] >= '0' && k[i] <= '9') || k[i] == '_' || k[i] == '-'))
			return 0;
	return 1;
}

static void
flat_bytes(struct buf *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7F || c == '\\')
			buf_printf(out, "\\x%02X", c);
		else
			buf_append(out, &s[i], 1);
	}
}

static void
flat_float(struct buf *out, double d)
{
	char b[64];
	int prec;

	if (isnan(d)) {
		buf_puts(out, signbit(d) ? "-nan" : "nan");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(b, sizeof(b), "%.*g", prec, d);
		if (strtod(b, NULL) == d)
			break;
	}
	buf_puts(out, b);
}

static void
flat(const struct toml_value *v, const char *path, struct buf *out)
{
	struct buf sub = BUF_INIT;
	size_t i;

	switch (v->type) {
	case TOML_TABLE:
		if (v->u.tab.n == 0 && *path)
			buf_printf(out, "%s={};", path);
		for (i = 0; i < v->u.tab.n; i++) {
			const char *k = v->u.tab.kv[i].key;
			size_t kn = v->u.tab.kv[i].keylen;

			buf_reset(&sub);
			buf_printf(&sub, "%s%s", path, *path ? "." : "");
			if (key_is_bare(k, kn)) {
				buf_append(&sub, k, kn);
			} else {
				buf_puts(&sub, "\"");
				flat_bytes(&sub, k, kn);
				buf_puts(&sub, "\"");
			}
			flat(v->u.tab.kv[i].val, sub.data, out);
		}
		break;
	case TOML_ARRAY:
		if (v->u.arr.n == 0)
			buf_printf(out, "%s=[];", path);
		for (i = 0; i < v->u.arr.n; i++) {
			buf_reset(&sub);
			buf_printf(&sub, "%s[%zu]", path, i);
			flat(v->u.arr.items[i], sub.data, out);
		}
		break;
	default:
		buf_printf(out, "%s=%s:", path, toml_type_name(v->type));
		if (v->type == TOML_STRING)
			flat_bytes(out, v->u.s.ptr, v->u.s.len);
		else if (v->type == TOML_INTEGER)
			buf_printf(out, "%lld", (long long)v->u.i);
		else if (v->type == TOML_FLOAT)
			flat_float(out, v->u.f);
		else if (v->type == TOML_BOOL)
			buf_puts(out, v->u.b ? "true" : "false");
		else
			buf_puts(out, v->u.dt);
		buf_puts(out, ";");
		break;
	}
	buf_free(&sub);
}

struct valid_case {
	const char *in;
	const char *want;
};

static void
run_valid(const struct valid_case *c, size_t n)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct toml_value *root;
	struct buf out = BUF_INIT;
	size_t i;
	int bad = 0;

	for (i = 0; i < n; i++) {
		mcp_err_clear(&err);
		root = parse(c[i].in, &err);
		if (root == NULL) {
			print_error("case %zu: refused: %s\n  input: %s\n", i,
			    err.msg, c[i].in);
			bad++;
			continue;
		}
		buf_reset(&out);
		buf_puts(&out, "");
		flat(root, "", &out);
		if (strcmp(out.data, c[i].want) != 0) {
			print_error("case %zu:\n  input: %s\n  want:  %s\n  got:   "
			    "%s\n", i, c[i].in, c[i].want, out.data);
			bad++;
		}
		toml_free(root);
	}
	buf_free(&out);
	if (bad)
		fail_msg("%d of %zu valid cases failed", bad, n);
}

struct invalid_case {
	const char *in;
	int line, col;
	const char *msg;	/* substring of the message after "L:C: " */
};

static void
run_invalid(const struct invalid_case *c, size_t n)
{
	struct mcp_err err;
	struct toml_value *root;
	char want[64];
	size_t i;
	int bad = 0;

	for (i = 0; i < n; i++) {
		mcp_err_clear(&err);
		root = parse(c[i].in, &err);
		if (root != NULL) {
			print_error("case %zu: accepted: %s\n", i, c[i].in);
			toml_free(root);
			bad++;
			continue;
		}
		snprintf(want, sizeof(want), "t.toml:%d:%d: ", c[i].line,
		    c[i].col);
		if (err.code != MCP_E_INVALID ||
		    strncmp(err.msg, want, strlen(want)) != 0 ||
		    strstr(err.msg, c[i].msg) == NULL) {
			print_error("case %zu: input: %s\n  want: %s...%s\n  got:  "
			    "%s (code %d)\n", i, c[i].in, want, c[i].msg,
			    err.msg, err.code);
			bad++;
		}
	}
	if (bad)
		fail_msg("%d of %zu invalid cases failed", bad, n);
}

#define RUN_VALID(tab) run_valid(tab, sizeof(tab) / sizeof(tab[0]))
#define RUN_INVALID(tab) run_invalid(tab, sizeof(tab) / sizeof(tab[0]))

/* ---- strings ---- */

static void
test_strings_valid(void **state U)
{
	static const struct valid_case c[] = {
		{ "s = \"hello\"", "s=string:hello;" },
		{ "s = \"\"", "s=string:;" },
		{ "s = ''", "s=string:;" },
		{ "s = \"tab\there\"", "s=string:tab\\x09here;" },
		{ "s = \"\\b\\t\\n\\f\\r\\\"\\\\\"",
		  "s=string:\\x08\\x09\\x0A\\x0C\\x0D\"\\x5C;" },
		{ "s = \"\\u00e9\\u00E9\"", "s=string:\xc3\xa9\xc3\xa9;" },
		{ "s = \"\\U0001F600\"", "s=string:\xf0\x9f\x98\x80;" },
		{ "s = \"\\u0000x\"", "s=string:\\x00x;" },
		{ "s = \"\\U0010FFFF\"", "s=string:\xf4\x8f\xbf\xbf;" },
		{ "s = \"\\uD7FF\\uE000\"",
		  "s=string:\xed\x9f\xbf\xee\x80\x80;" },
		{ "s = \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
		  "s=string:caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80;" },
		{ "s = \"\xc2\x80\"", "s=string:\xc2\x80;" },	/* C1 is fine */
		{ "s = 'C:\\Users\\x'", "s=string:C:\\x5CUsers\\x5Cx;" },
		{ "s = '<\\i\\c*\\s*>'", "s=string:<\\x5Ci\\x5Cc*\\x5Cs*>;" },
		{ "s = 'a \"quote\"'", "s=string:a \"quote\";" },
		{ "s = \"a # not a comment\" # comment",
		  "s=string:a # not a comment;" },
		/* multi-line basic */
		{ "s = \"\"\"\nRoses\nViolets\"\"\"",
		  "s=string:Roses\\x0AViolets;" },
		{ "s = \"\"\"\r\nline1\r\nline2\"\"\"",
		  "s=string:line1\\x0Aline2;" },
		{ "s = \"\"\"\n\nx\"\"\"", "s=string:\\x0Ax;" },
		{ "s = \"\"\"one\"\"\"", "s=string:one;" },
		{ "s = \"\"\"\"\"\"", "s=string:;" },
		{ "s = \"\"\"The quick \\\n\n   brown \\\n  fox.\"\"\"",
		  "s=string:The quick brown fox.;" },
		{ "s = \"\"\"a \\   \n  b\"\"\"", "s=string:a b;" },
		{ "s = \"\"\"a \\\t\r\n\t b\"\"\"", "s=string:a b;" },
		{ "s = \"\"\"\\\n\"\"\"", "s=string:;" },
		{ "s = \"\"\"Here are two quotation marks: \"\". Simple.\"\"\"",
		  "s=string:Here are two quotation marks: \"\". Simple.;" },
		{ "s = \"\"\"Here are three: \"\"\\\".\"\"\"",
		  "s=string:Here are three: \"\"\".;" },
		{ "s = \"\"\"\"This,\" she said, \"is just a pointless "
		  "statement.\"\"\"\"",
		  "s=string:\"This,\" she said, \"is just a pointless "
		  "statement.\";" },
		{ "s = \"\"\"x\"\"\"\"\"", "s=string:x\"\";" },
		{ "s = \"\"\"tab\there\"\"\"", "s=string:tab\\x09here;" },
		{ "s = \"\"\"\\u00e9\\t\"\"\"", "s=string:\xc3\xa9\\x09;" },
		/* multi-line literal */
		{ "s = '''\nThe first newline is\ntrimmed.\n'''",
		  "s=string:The first newline is\\x0Atrimmed.\\x0A;" },
		{ "s = '''I [dw]on't need \\d{2} apples'''",
		  "s=string:I [dw]on't need \\x5Cd{2} apples;" },
		{ "s = ''''That,' she said, 'is still pointless.''''",
		  "s=string:'That,' she said, 'is still pointless.';" },
		{ "s = '''x'''''", "s=string:x'';" },
		{ "s = '''a \\\nb'''", "s=string:a \\x5C\\x0Ab;" },
		{ "s = ''''''", "s=string:;" },
		{ "s = '''\r\na\r\n'''", "s=string:a\\x0A;" },
	};

	RUN_VALID(c);
}

static void
test_strings_invalid(void **state U)
{
	static const struct invalid_case c[] = {
		{ "s = \"abc", 1, 5, "unterminated string" },
		{ "s = 'abc", 1, 5, "unterminated literal string" },
		{ "s = \"\"\"abc\"\"", 1, 5, "unterminated string" },
		{ "s = '''abc", 1, 5, "unterminated literal string" },
		{ "s = \"ab\ncd\"", 1, 8, "newline in single-line string" },
		{ "s = 'ab\ncd'", 1, 8, "newline in single-line literal" },
		{ "s = \"\\q\"", 1, 6, "invalid escape sequence '\\' followed "
		  "by 'q'" },
		{ "s = \"\\e\"", 1, 6, "invalid escape" },	/* TOML 1.1 */
		{ "s = \"\\x41\"", 1, 6, "invalid escape" },	/* TOML 1.1 */
		{ "s = \"\\ \"", 1, 6, "invalid escape sequence '\\' followed "
		  "by ' '" },
		{ "s = \"a\\\nb\"", 1, 7, "invalid escape" },
		{ "s = \"\\u12\"", 1, 6, "\\u escape needs 4 hex digits" },
		{ "s = \"\\u12G4\"", 1, 6, "\\u escape needs 4 hex digits" },
		{ "s = \"\\U0000123\"", 1, 6, "\\U escape needs 8 hex digits" },
		{ "s = \"\\uD800\"", 1, 6, "\\uD800 is not a Unicode scalar" },
		{ "s = \"\\uDFFF\"", 1, 6, "not a Unicode scalar value" },
		{ "s = \"\\U00110000\"", 1, 6, "not a Unicode scalar value" },
		{ "s = \"\\UFFFFFFFF\"", 1, 6, "not a Unicode scalar value" },
		{ "s = \"a\x01\"", 1, 7, "control character U+0001 in string "
		  "must be escaped" },
		{ "s = \"a\x7f\"", 1, 7, "control character U+007F" },
		{ "s = \"a\x1f\"", 1, 7, "control character U+001F" },
		{ "s = 'a\x08'", 1, 7, "control character U+0008 in literal" },
		{ "s = \"\"\"a\x0b\"\"\"", 1, 9, "control character U+000B" },
		{ "s = '''a\x7f'''", 1, 9, "control character U+007F" },
		{ "s = \"a\rb\"", 1, 7, "carriage return not followed by a "
		  "newline" },
		{ "s = \"\"\"a\rb\"\"\"", 1, 9, "carriage return" },
		{ "s = '''a\rb'''", 1, 9, "carriage return" },
		{ "s = \"\"\"a\"\"\"\"\"\"", 1, 14, "too many quotes" },
		{ "s = '''a''''''", 1, 14, "too many quotes" },
		{ "s = \"\"\"a \\ b\"\"\"", 1, 10, "invalid escape" },
		{ "s = \"\"\"\\\n  \r x\"\"\"", 2, 3, "carriage return not "
		  "followed" },
		{ "s = \"\xc3\x28\"", 1, 6, "invalid UTF-8 in string" },
		{ "s = \"\xc0\xaf\"", 1, 6, "invalid UTF-8" },	/* overlong */
		{ "s = \"\xe0\x80\xaf\"", 1, 6, "invalid UTF-8" },
		{ "s = \"\xed\xa0\x80\"", 1, 6, "invalid UTF-8" }, /* D800 */
		{ "s = \"\xf4\x90\x80\x80\"", 1, 6, "invalid UTF-8" },
		{ "s = \"\xf8\x88\x80\x80\x80\"", 1, 6, "invalid UTF-8" },
		{ "s = \"\xff\"", 1, 6, "invalid UTF-8" },
		{ "s = \"\xe2\x82\"", 1, 6, "invalid UTF-8" },
		{ "s = 'ok\xe2\x82'", 1, 8, "invalid UTF-8 in literal string" },
		{ "s = \"\"\"\n\n\xc3\"\"\"", 3, 1, "invalid UTF-8" },
		{ "s = \"\xc3\xa9\x01\"", 1, 7, "control character" },
		{ "s = \"\"\"abc", 1, 5, "unterminated" },
		{ "s = \"", 1, 5, "unterminated string" },
	};

	RUN_INVALID(c);
}

/* A string value with an embedded NUL keeps its length. */
static void
test_string_nul(void **state U)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct toml_value *root = parse("s = \"a\\u0000b\"", &err);
	const struct toml_value *s;

	assert_non_null(root);
	s = toml_get(root, "s");
	assert_non_null(s);
	assert_int_equal(s->type, TOML_STRING);
	assert_int_equal(s->u.s.len, 3);
	assert_memory_equal(s->u.s.ptr, "a\0b", 4);	/* NUL-terminated */
	toml_free(root);
}

/* ---- integers ---- */

static void
test_integers_valid(void **state U)
{
	static const struct valid_case c[] = {
		{ "i = 0", "i=integer:0;" },
		{ "i = +0", "i=integer:0;" },
		{ "i = -0", "i=integer:0;" },
		{ "i = 99", "i=integer:99;" },
		{ "i = +99", "i=integer:99;" },
		{ "i = -17", "i=integer:-17;" },
		{ "i = 1_000", "i=integer:1000;" },
		{ "i = 5_349_221", "i=integer:5349221;" },
		{ "i = 1_2_3_4_5", "i=integer:12345;" },
		{ "i = 9223372036854775807", "i=integer:9223372036854775807;" },
		{ "i = -9223372036854775808",
		  "i=integer:-9223372036854775808;" },
		{ "i = 0xDEADBEEF", "i=integer:3735928559;" },
		{ "i = 0xdeadbeef", "i=integer:3735928559;" },
		{ "i = 0xdead_beef", "i=integer:3735928559;" },
		{ "i = 0x00ff", "i=integer:255;" },
		{ "i = 0x7FFFFFFFFFFFFFFF", "i=integer:9223372036854775807;" },
		{ "i = 0o01234567", "i=integer:342391;" },
		{ "i = 0o755", "i=integer:493;" },
		{ "i = 0b11010110", "i=integer:214;" },
		{ "i = 0b0", "i=integer:0;" },
		{ "i = 0x0", "i=integer:0;" },
		{ "i = 1 # comment", "i=integer:1;" },
		{ "i=1", "i=integer:1;" },
	};

	RUN_VALID(c);
}

static void
test_integers_invalid(void **state U)
{
	static const struct invalid_case c[] = {
		{ "i = 01", 1, 5, "leading zeros" },
		{ "i = -01", 1, 5, "leading zeros" },
		{ "i = +00", 1, 5, "leading zeros" },
		{ "i = 0_0", 1, 5, "leading zeros" },
		{ "i = 1__2", 1, 6, "'_' in integer must be between digits" },
		{ "i = 1_", 1, 6, "'_' in integer must be between digits" },
		{ "i = _1", 1, 5, "invalid value" },
		{ "i = +_1", 1, 5, "expected a digit after the sign" },
		{ "i = 0x", 1, 7, "expected a digit in integer" },
		{ "i = 0x_1", 1, 7, "expected a digit in integer" },
		{ "i = 0x1_", 1, 8, "'_' in integer must be between" },
		{ "i = 0xG", 1, 7, "expected a digit" },
		{ "i = 0o8", 1, 7, "expected a digit" },
		{ "i = 0b2", 1, 7, "expected a digit" },
		{ "i = 0b12", 1, 8, "expected a newline after the value, found "
		  "'2'" },
		{ "i = 0X1F", 1, 6, "expected a newline after the value, found "
		  "'X'" },
		{ "i = +0x1", 1, 5, "a sign is not allowed on hex" },
		{ "i = -0o7", 1, 5, "a sign is not allowed" },
		{ "i = 9223372036854775808", 1, 5, "does not fit in 64 bits" },
		{ "i = -9223372036854775809", 1, 5, "does not fit in 64 bits" },
		{ "i = 99999999999999999999999", 1, 5, "does not fit" },
		{ "i = 0x8000000000000000", 1, 5, "does not fit in 64 bits" },
		{ "i = 0xffffffffffffffff", 1, 5, "does not fit" },
		{ "i = 0b1111111111111111111111111111111111111111111111111111"
		  "111111111111", 1, 5, "does not fit" },
		{ "i = 1 2", 1, 7, "expected a newline after the value" },
		{ "i = 12a", 1, 7, "found 'a'" },
		{ "i = +", 1, 5, "expected a digit after the sign, found end "
		  "of input" },
		{ "i = -", 1, 5, "expected a digit" },
		{ "i = 1,", 1, 6, "expected a newline after the value, found "
		  "','" },
		{ "i = ++1", 1, 5, "expected a digit after the sign" },
	};

	RUN_INVALID(c);
}

/* ---- floats ---- */

static void
test_floats_valid(void **state U)
{
	static const struct valid_case c[] = {
		{ "f = 1.0", "f=float:1;" },
		{ "f = +1.0", "f=float:1;" },
		{ "f = 3.1415", "f=float:3.1415;" },
		{ "f = -0.01", "f=float:-0.01;" },
		{ "f = 5e+22", "f=float:5e+22;" },
		{ "f = 1e06", "f=float:1e+06;" },
		{ "f = -2E-2", "f=float:-0.02;" },
		{ "f = 6.626e-34", "f=float:6.626e-34;" },
		{ "f = 224_617.445_991_228", "f=float:224617.445991228;" },
		{ "f = 0.0", "f=float:0;" },
		{ "f = -0.0", "f=float:-0;" },
		{ "f = +0.0", "f=float:0;" },
		{ "f = 0e0", "f=float:0;" },
		{ "f = 0.1e-0_1", "f=float:0.01;" },
		{ "f = 1.000_1", "f=float:1.0001;" },
		{ "f = 3.00", "f=float:3;" },
		{ "f = 1e1_0", "f=float:1e+10;" },
		{ "f = inf", "f=float:inf;" },
		{ "f = +inf", "f=float:inf;" },
		{ "f = -inf", "f=float:-inf;" },
		{ "f = nan", "f=float:nan;" },
		{ "f = +nan", "f=float:nan;" },
		{ "f = -nan", "f=float:-nan;" },
		{ "f = 1.7976931348623157e308",
		  "f=float:1.7976931348623157e+308;" },
		{ "f = 4.9e-324", "f=float:5e-324;" },
		{ "f = 1e-400", "f=float:0;" },	/* underflow rounds to 0 */
		{ "f = 0.30000000000000004", "f=float:0.30000000000000004;" },
	};

	RUN_VALID(c);
}

static void
test_floats_invalid(void **state U)
{
	static const struct invalid_case c[] = {
		{ "f = .5", 1, 5, "invalid value starting with '.'" },
		{ "f = 5.", 1, 7, "expected a digit in fraction, found end" },
		{ "f = 5.e3", 1, 7, "expected a digit in fraction, found 'e'" },
		{ "f = 1e", 1, 7, "expected a digit in exponent" },
		{ "f = 1e+", 1, 8, "expected a digit in exponent" },
		{ "f = 1e_2", 1, 7, "expected a digit in exponent" },
		{ "f = 1.2_", 1, 8, "'_' in fraction must be between digits" },
		{ "f = 1._2", 1, 7, "expected a digit in fraction" },
		{ "f = 1_.2", 1, 6, "'_' in integer must be between" },
		{ "f = 01.5", 1, 5, "leading zeros" },
		{ "f = 00.0", 1, 5, "leading zeros" },
		{ "f = 1.5.3", 1, 8, "expected a newline after the value, "
		  "found '.'" },
		{ "f = 1e5.3", 1, 8, "found '.'" },
		{ "f = 1e5e3", 1, 8, "found 'e'" },
		{ "f = 1e400", 1, 5, "float out of range" },
		{ "f = -1e400", 1, 5, "float out of range" },
		{ "f = infinity", 1, 8, "expected a newline after the value" },
		{ "f = Inf", 1, 5, "invalid value starting with 'I'" },
		{ "f = NaN", 1, 5, "invalid value" },
		{ "f = in", 1, 5, "invalid value" },
		{ "f = -in", 1, 5, "invalid value" },
		{ "f = nan_", 1, 8, "expected a newline" },
		{ "f = 0x1.5", 1, 8, "found '.'" },
		{ "f = 1,5", 1, 6, "found ','" },
		{ "f = 1.e+20", 1, 7, "expected a digit in fraction" },
		{ "f = -.5", 1, 5, "expected a digit after the sign, found '.'" },
		{ "f = 1e\t", 1, 7, "expected a digit in exponent, found a tab" },
	};

	RUN_INVALID(c);
}

/* ---- booleans ---- */

static void
test_booleans(void **state U)
{
	static const struct valid_case v[] = {
		{ "b = true", "b=bool:true;" },
		{ "b = false", "b=bool:false;" },
		{ "b = [true,false]", "b[0]=bool:true;b[1]=bool:false;" },
	};
	static const struct invalid_case c[] = {
		{ "b = True", 1, 5, "invalid value starting with 'T' (strings "
		  "must be quoted)" },
		{ "b = tru", 1, 5, "invalid value (strings must be quoted)" },
		{ "b = falsey", 1, 10, "expected a newline after the value" },
		{ "b = truefalse", 1, 9, "found 'f'" },
		{ "b = t", 1, 5, "invalid value" },
		{ "b = yes", 1, 5, "strings must be quoted" },
		{ "b = \xc3\xa9", 1, 5, "invalid value starting with "
		  "'\xc3\xa9' (U+00E9)" },
	};

	RUN_VALID(v);
	RUN_INVALID(c);
}

/* ---- date-times ---- */

static void
test_datetimes_valid(void **state U)
{
	static const struct valid_case c[] = {
		{ "d = 1979-05-27T07:32:00Z",
		  "d=datetime:1979-05-27T07:32:00Z;" },
		{ "d = 1979-05-27T00:32:00-07:00",
		  "d=datetime:1979-05-27T00:32:00-07:00;" },
		{ "d = 1979-05-27T00:32:00.999999-07:00",
		  "d=datetime:1979-05-27T00:32:00.999999-07:00;" },
		{ "d = 1979-05-27 07:32:00Z",
		  "d=datetime:1979-05-27T07:32:00Z;" },
		{ "d = 1979-05-27t07:32:00z",
		  "d=datetime:1979-05-27T07:32:00Z;" },
		{ "d = 1979-05-27T07:32:00+23:59",
		  "d=datetime:1979-05-27T07:32:00+23:59;" },
		{ "d = 1979-05-27T07:32:00",
		  "d=datetime-local:1979-05-27T07:32:00;" },
		{ "d = 1979-05-27 07:32:00.5",
		  "d=datetime-local:1979-05-27T07:32:00.5;" },
		{ "d = 1979-05-27", "d=date-local:1979-05-27;" },
		{ "d = 1979-05-27 # comment", "d=date-local:1979-05-27;" },
		{ "d = 07:32:00", "d=time-local:07:32:00;" },
		{ "d = 00:32:00.999999", "d=time-local:00:32:00.999999;" },
		{ "d = 00:00:00.123456789012",
		  "d=time-local:00:00:00.123456789012;" },
		{ "d = 23:59:60", "d=time-local:23:59:60;" },	/* leap sec */
		{ "d = 2000-02-29", "d=date-local:2000-02-29;" },
		{ "d = 2024-02-29", "d=date-local:2024-02-29;" },
		{ "d = 0001-01-01", "d=date-local:0001-01-01;" },
		{ "d = 9999-12-31", "d=date-local:9999-12-31;" },
		{ "d = 2021-04-30", "d=date-local:2021-04-30;" },
		{ "d = [1979-05-27, 07:32:00]",
		  "d[0]=date-local:1979-05-27;d[1]=time-local:07:32:00;" },
		{ "d = {a = 1979-05-27T07:32:00Z}",
		  "d.a=datetime:1979-05-27T07:32:00Z;" },
	};

	RUN_VALID(c);
}

static void
test_datetimes_invalid(void **state U)
{
	static const struct invalid_case c[] = {
		{ "d = 2006-13-01", 1, 10, "month 13 is not in 01-12" },
		{ "d = 2006-00-01", 1, 10, "month 00" },
		{ "d = 2006-01-32", 1, 13, "day 32 is not in month 2006-01" },
		{ "d = 2006-01-00", 1, 13, "day 00" },
		{ "d = 2006-04-31", 1, 13, "day 31" },
		{ "d = 2001-02-29", 1, 13, "day 29 is not in month 2001-02" },
		{ "d = 1900-02-29", 1, 13, "day 29" },
		{ "d = 2000-02-30", 1, 13, "day 30" },
		{ "d = 2006-01-01T24:00:00", 1, 16, "hour 24 is not in 00-23" },
		{ "d = 2006-01-01T00:60:00", 1, 19, "minute 60" },
		{ "d = 2006-01-01T00:00:61", 1, 22, "second 61" },
		{ "d = 1987-7-05", 1, 5, "invalid date: expected YYYY-MM-DD" },
		{ "d = 1987-07-5T17:45:00Z", 1, 5, "expected YYYY-MM-DD" },
		{ "d = 1987-07-05T17:45Z", 1, 16, "expected HH:MM:SS" },
		{ "d = 17:45", 1, 5, "expected HH:MM:SS" },
		{ "d = 1987-07-0517:45:00Z", 1, 15, "found '1'" },
		{ "d = 2006-01-30T", 1, 16, "expected HH:MM:SS" },
		{ "d = 01:32:0", 1, 5, "expected HH:MM:SS" },
		{ "d = 1:32:00", 1, 6, "expected a newline after the value, "
		  "found ':'" },
		{ "d = 07:32:00.", 1, 14, "expected digits after '.'" },
		{ "d = 1979-05-27T07:32:00+7:00", 1, 24, "expected +HH:MM" },
		{ "d = 1979-05-27T07:32:00+07", 1, 24, "expected +HH:MM" },
		{ "d = 1979-05-27T07:32:00+24:00", 1, 24, "invalid time "
		  "offset +24:00" },
		{ "d = 1979-05-27T07:32:00-07:60", 1, 24, "offset -07:60" },
		{ "d = 1979-05-27T07:32:00Zx", 1, 25, "expected a newline" },
		{ "d = 1979-05-27 07:32", 1, 16, "expected HH:MM:SS" },
		{ "d = 1979-05-27  07:32:00", 1, 17, "found '0'" },
		{ "d = 1979-05-27_07:32:00", 1, 15, "found '_'" },
		{ "d = 12345-01-01", 1, 10, "found '-'" },
		{ "d = -1979-05-27", 1, 10, "found '-'" },
		{ "d = 1979-05-27T07:32:00.Z", 1, 25, "expected digits after "
		  "'.'" },
	};

	RUN_INVALID(c);
}

/* ---- arrays ---- */

static void
test_arrays_valid(void **state U)
{
	static const struct valid_case c[] = {
		{ "a = []", "a=[];" },
		{ "a = [ ]", "a=[];" },
		{ "a = [1, 2, 3]",
		  "a[0]=integer:1;a[1]=integer:2;a[2]=integer:3;" },
		{ "a = [1,2,]", "a[0]=integer:1;a[1]=integer:2;" },
		{ "a = [\"red\", 'yellow']",
		  "a[0]=string:red;a[1]=string:yellow;" },
		{ "a = [[1, 2], [3]]",
		  "a[0][0]=integer:1;a[0][1]=integer:2;a[1][0]=integer:3;" },
		{ "a = [[], []]", "a[0]=[];a[1]=[];" },
		{ "a = [0.1, 1, \"s\", true, 1979-05-27, [2], {x = 3}]",
		  "a[0]=float:0.1;a[1]=integer:1;a[2]=string:s;"
		  "a[3]=bool:true;a[4]=date-local:1979-05-27;a[5][0]=integer:2;"
		  "a[6].x=integer:3;" },
		{ "a = [\n  1,\n  2, # two\n  # alone\n\n]",
		  "a[0]=integer:1;a[1]=integer:2;" },
		{ "a = [ # open\n1 # one\n, # comma\n2\n,\n]",
		  "a[0]=integer:1;a[1]=integer:2;" },
		{ "a = [\r\n1,\r\n]", "a[0]=integer:1;" },
		{ "a = [\t1\t,\t2\t]", "a[0]=integer:1;a[1]=integer:2;" },
		{ "a = [{}, {b = 1}]", "a[0]={};a[1].b=integer:1;" },
		{ "a = [\"\"\"x\ny\"\"\", '''z''']",
		  "a[0]=string:x\\x0Ay;a[1]=string:z;" },
	};

	RUN_VALID(c);
}

static void
test_arrays_invalid(void **state U)
{
	static const struct invalid_case c[] = {
		{ "a = [", 1, 6, "expected a value, found end of input" },
		{ "a = [1", 1, 7, "expected ',' or ']' in array, found end" },
		{ "a = [1,", 1, 8, "expected a value, found end of input" },
		{ "a = [1 2]", 1, 8, "expected ',' or ']' in array, found '2'" },
		{ "a = [,]", 1, 6, "invalid value starting with ','" },
		{ "a = [1,,2]", 1, 8, "invalid value starting with ','" },
		{ "a = [1]]", 1, 8, "expected a newline after the value" },
		{ "a = [1} ", 1, 7, "found '}'" },
		{ "a = [\n1\n2]", 3, 1, "expected ',' or ']'" },
		{ "a = [ # \x01\n]", 1, 9, "control character U+0001 in "
		  "comment" },
		{ "a = [1 \r 2]", 1, 8, "carriage return" },
		{ "a = [ bare ]", 1, 7, "strings must be quoted" },
		{ "a = [1, {b = 1,}]", 1, 16, "trailing comma in inline table" },
	};

	RUN_INVALID(c);
}

/* ---- inline tables ---- */

static void
test_inline_tables_valid(void **state U)
{
	static const struct valid_case c[] = {
		{ "t = {}", "t={};" },
		{ "t = { }", "t={};" },
		{ "t = { first = \"Tom\", last = \"Preston-Werner\" }",
		  "t.first=string:Tom;t.last=string:Preston-Werner;" },
		{ "t = { x = 1, y = 2 }", "t.x=integer:1;t.y=integer:2;" },
		{ "t = { type.name = \"pug\" }", "t.type.name=string:pug;" },
		{ "t = { a.b = 1, a.c = 2 }",
		  "t.a.b=integer:1;t.a.c=integer:2;" },
		{ "t = { a = { b = { c = 1 } } }", "t.a.b.c=integer:1;" },
		{ "t = { a = [1, { b = 2 }] }",
		  "t.a[0]=integer:1;t.a[1].b=integer:2;" },
		{ "t = {a=1,b=2}", "t.a=integer:1;t.b=integer:2;" },
		{ "t = { \"q k\" = 1, 'l' = 2 }",
		  "t.\"q k\"=integer:1;t.l=integer:2;" },
		{ "t = { a = [\n1,\n2] }",	/* newlines inside an array */
		  "t.a[0]=integer:1;t.a[1]=integer:2;" },
		{ "a.b = 1\nt = {a.b = 2}\na.c = 3",	/* sections restored */
		  "a.b=integer:1;a.c=integer:3;t.a.b=integer:2;" },
	};

	RUN_VALID(c);
}

static void
test_inline_tables_invalid(void **state U)
{
	static const struct invalid_case c[] = {
		{ "t = {", 1, 6, "expected a key, found end of input" },
		{ "t = { a = 1", 1, 12, "expected ',' or '}' in inline table, "
		  "found end of input" },
		{ "t = { a = 1, }", 1, 14, "trailing comma in inline table" },
		{ "t = { a = 1,}", 1, 13, "trailing comma" },
		{ "t = {\na = 1 }", 1, 6, "expected a key, found a newline" },
		{ "t = { a = 1\n}", 1, 12, "found a newline (an inline table "
		  "must be on one line)" },
		{ "t = { a = 1, \n b = 2 }", 1, 14, "expected a key" },
		{ "t = { a = 1 # c\n}", 1, 13, "expected ',' or '}'" },
		{ "t = { a = 1 b = 2 }", 1, 13, "expected ',' or '}'" },
		{ "t = { a = 1, a = 2 }", 1, 14, "duplicate key 'a' (first "
		  "defined at line 1, column 7)" },
		{ "t = { a.b = 1, a = 2 }", 1, 16, "duplicate key 'a'" },
		{ "t = { a = {b = 1}, a.c = 2 }", 1, 20, "cannot add keys to "
		  "'a': it is an inline table (defined at line 1, column 7)" },
		{ "t = { a = 1, a.b = 2 }", 1, 14, "cannot add keys to 'a': it "
		  "is an integer" },
		{ "t = { , }", 1, 7, "expected a key, found ','" },
		{ "t = { a }", 1, 9, "expected '=' after key 'a', found '}'" },
		{ "t = { a = }", 1, 11, "invalid value starting with '}'" },
		{ "t = {a = 1}\nt.b = 2", 2, 1, "cannot add keys to 't': it is "
		  "an inline table (defined at line 1, column 1)" },
		{ "t = {a = 1}\n[t]", 2, 1, "cannot define table 't': it is "
		  "already an inline table" },
		{ "t = {a = {}}\n[t.a]", 2, 2, "cannot add a table to 't': it is "
		  "an inline table (defined at line 1, column 1)" },
		{ "t = {a = 1}\n[t.b]", 2, 2, "cannot add a table to 't'" },
		{ "t = {a = 1}\n[[t.b]]", 2, 3, "it is an inline table" },
		{ "t = {}\n[[t]]", 2, 1, "cannot append a table to 't': it is an "
		  "inline table" },
		{ "t = {a = {b = 1}}\nt.a.c = 2", 2, 1, "cannot add keys to 't': "
		  "it is an inline table" },
	};

	RUN_INVALID(c);
}

/* ---- keys ---- */

static void
test_keys_valid(void **state U)
{
	static const struct valid_case c[] = {
		{ "key = 1", "key=integer:1;" },
		{ "bare_key = 1\nbare-key = 2\n1234 = 3",
		  "bare_key=integer:1;bare-key=integer:2;1234=integer:3;" },
		{ "\"127.0.0.1\" = 1", "\"127.0.0.1\"=integer:1;" },
		{ "\"character encoding\" = 1",
		  "\"character encoding\"=integer:1;" },
		{ "\"\xca\x8e\xc7\x9d\xca\x9e\" = 1",
		  "\"\xca\x8e\xc7\x9d\xca\x9e\"=integer:1;" },
		{ "'key2' = 1", "key2=integer:1;" },
		{ "'quoted \"value\"' = 1", "\"quoted \"value\"\"=integer:1;" },
		{ "\"\" = 1", "\"\"=integer:1;" },
		{ "'' = 1", "\"\"=integer:1;" },
		{ "\"a\\tb\" = 1", "\"a\\x09b\"=integer:1;" },
		{ "\"\\u00e9\" = 1", "\"\xc3\xa9\"=integer:1;" },
		{ "physical.color = \"orange\"\nphysical.shape = \"round\"",
		  "physical.color=string:orange;physical.shape=string:round;" },
		{ "site.\"google.com\" = true",
		  "site.\"google.com\"=bool:true;" },
		{ "fruit . color = 1\nfruit\t.\tflavor = 2",
		  "fruit.color=integer:1;fruit.flavor=integer:2;" },
		{ "3.14159 = \"pi\"", "3.14159=string:pi;" },
		{ "a.b.c.d = 1", "a.b.c.d=integer:1;" },
		{ "Key = 1\nkey = 2", "Key=integer:1;key=integer:2;" },
		{ "true = 1\nfalse = 2\ninf = 3\nnan = 4",
		  "true=integer:1;false=integer:2;inf=integer:3;nan=integer:4;" },
		{ "-- = 1\n__ = 2", "--=integer:1;__=integer:2;" },
		{ "a=1", "a=integer:1;" },
		{ "  \t a = 1", "a=integer:1;" },
		{ "apple.type = \"fruit\"\norange.type = \"fruit\"\n"
		  "apple.skin = \"thin\"",
		  "apple.type=string:fruit;apple.skin=string:thin;"
		  "orange.type=string:fruit;" },
		{ "1979-05-27 = 1", "1979-05-27=integer:1;" },
		{ "0x1 = 1", "0x1=integer:1;" },
		/* Any scalar value, U+0000 included: distinct keys by length. */
		{ "\"a\\u0000\" = 1", "\"a\\x00\"=integer:1;" },
		{ "\"\\u0000\" = 1\n'\\u0000' = 2\n\"\" = 3",
		  "\"\\x00\"=integer:1;\"\\x5Cu0000\"=integer:2;\"\"=integer:3;" },
		{ "a = 1\n\"a\\u0000\" = 2\n\"a\\u0000b\" = 3",
		  "a=integer:1;\"a\\x00\"=integer:2;\"a\\x00b\"=integer:3;" },
		{ "x.\"\\u0000\".y = 1\n[\"t\\u0000\"]\n[[\"u\\u0000\"]]",
		  "x.\"\\x00\".y=integer:1;\"t\\x00\"={};\"u\\x00\"[0]={};" },
	};

	RUN_VALID(c);
}

/*
 * Keys holding NUL keep their length through the tree and its hash index:
 * a C-string lookup never matches them, a lookup by length does.
 */
static void
test_key_nul(void **state U)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct toml_value *root;
	const struct toml_kv *kv;
	struct buf doc = BUF_INIT;
	char key[16];
	int i;

	/* Past TTREE_INDEX_MIN keys, so the hash index is in use too. */
	for (i = 0; i < 40; i++)
		buf_printf(&doc, "\"k\\u0000%d\" = %d\n", i, i);
	buf_puts(&doc, "k = -1\n");
	root = parse_n(doc.data, doc.len, &err);
	assert_non_null(root);
	assert_int_equal(root->u.tab.n, 41);
	for (i = 0; i < 40; i++) {
		int n = snprintf(key, sizeof(key), "k%c%d", '\0', i);

		kv = toml_get_kvn(root, key, (size_t)n);
		assert_non_null(kv);
		assert_int_equal(kv->keylen, (size_t)n);
		assert_memory_equal(kv->key, key, (size_t)n + 1);
		assert_int_equal(kv->val->u.i, i);
		assert_int_equal(kv->line, i + 1);
	}
	kv = toml_get_kv(root, "k");
	assert_non_null(kv);
	assert_int_equal(kv->val->u.i, -1);
	assert_int_equal(kv->keylen, 1);
	assert_null(toml_get_kvn(root, "k\0", 2));
	assert_null(toml_get_kvn(root, "k\0" "40", 4));
	toml_free(root);

	/* Small table (linear search): "a" must not find "a\0b". */
	root = parse("\"a\\u0000b\" = 1", &err);
	assert_non_null(root);
	assert_null(toml_get(root, "a"));
	assert_non_null(toml_get_kvn(root, "a\0b", 3));
	assert_null(toml_get_kvn(root, "a\0c", 3));
	toml_free(root);
	buf_free(&doc);
}

/* FNV-1a 64, the kind of fixed hash a hostile document can aim at. */
static uint64_t
fnv1a(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Fastest of 3 parses of doc, in ns of this thread's CPU time. */
static long long
parse_cpu_ns(const struct buf *doc)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct timespec a, b;
	long long d, best = -1;
	struct toml_value *root;
	int i;

	for (i = 0; i < 3; i++) {
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
		root = parse_n(doc->data, doc->len, &err);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
		assert_non_null(root);
		toml_free(root);
		d = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
		if (best < 0 || d < best)
			best = d;
	}
	return best;
}

/*
 * Keys chosen to collide under a fixed hash (here FNV-1a: all share its
 * low 13 bits, so every table size up to 8192 slots puts them in one probe
 * sequence) parse about as fast as ordinary keys: the index's hash is
 * keyed, so no document can make key insertion quadratic.  With FNV-1a in
 * the index this document took 30 times longer than the plain one.
 */
static void
test_key_flood(void **state U)
{
	struct buf flood = BUF_INIT, plain = BUF_INIT;
	long long tf, tp;
	char k[32];
	unsigned i, found = 0;
	int n;

	for (i = 0; found < 2000; i++) {
		n = snprintf(k, sizeof(k), "k%x", i);
		if ((fnv1a(k, (size_t)n) & 0x1FFF) != 0)
			continue;
		buf_printf(&flood, "%s = 1\n", k);
		buf_printf(&plain, "k%x = 1\n", found);
		found++;
	}
	tf = parse_cpu_ns(&flood);
	tp = parse_cpu_ns(&plain);
	if (tf > 4 * tp + 2000000)
		fail_msg("2000 keys colliding under FNV-1a: %lld us, ordinary "
		    "keys: %lld us", tf / 1000, tp / 1000);
	buf_free(&flood);
	buf_free(&plain);
}

/* toml_get_string: a C string, or NULL for non-strings and embedded NULs. */
static void
test_get_string(void **state U)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct toml_value *root = parse("a = \"x\"\nb = \"x\\u0000y\"\n"
	    "c = 1\nd = \"\"\ne = \"\\u0000\"", &err);

	assert_non_null(root);
	assert_string_equal(toml_get_string(toml_get(root, "a")), "x");
	assert_null(toml_get_string(toml_get(root, "b")));
	assert_null(toml_get_string(toml_get(root, "c")));
	assert_string_equal(toml_get_string(toml_get(root, "d")), "");
	assert_null(toml_get_string(toml_get(root, "e")));
	assert_null(toml_get_string(NULL));
	toml_free(root);
}

/* toml_key_append: keys as messages show them. */
static void
test_key_append(void **state U)
{
	static const struct {
		const char *key;
		size_t len;
		const char *want;
	} c[] = {
		{ "abc", 3, "abc" },
		{ "", 0, "\"\"" },
		{ "a\0b", 3, "\"a\\u0000b\"" },
		{ "\0", 1, "\"\\u0000\"" },
		{ "a b", 3, "\"a b\"" },
		{ "x\n[ALERT]", 9, "\"x\\u000A[ALERT]\"" },
		{ "q\"\\", 3, "\"q\\u0022\\u005C\"" },
		{ "\xc3\xa9", 2, "\"\xc3\xa9\"" },
	};
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		buf_reset(&b);
		buf_puts(&b, "");
		assert_int_equal(toml_key_append(&b, c[i].key, c[i].len), 0);
		assert_string_equal(b.data, c[i].want);
	}
	buf_free(&b);
}

/*
 * The typed config reads refuse a NUL in a key or a string (they end up as
 * C strings: paths, addresses, argv) with FILE:LINE:COL and the key.
 */
static void
test_read_nul(void **state U)
{
	static const char *const allowed[] = { "node", "args", NULL };
	static const struct {
		const char *in;
		const char *msg;
	} c[] = {
		{ "\"no\\u0000de\" = \"x\"",
		  "t.toml:1:1: key \"no\\u0000de\": contains a NUL byte" },
		{ "node = \"a\\u0000b\"",
		  "t.toml:1:8: key \"node\": contains a NUL byte" },
		{ "node = \"abcdefgh\"",
		  "t.toml:1:8: key \"node\": value longer than 7 bytes" },
		{ "args = [\"a\",\n  \"b\\u0000\"]",
		  "t.toml:2:3: key \"args\": contains a NUL byte" },
		{ "\"x\\n[ALERT] y\" = 1",
		  "t.toml:1:1: unknown key \"x\\u000A[ALERT] y\" in the top level" },
		{ "other = 1",
		  "t.toml:1:1: unknown key \"other\" in the top level" },
		{ "args = [\"a\", 2]",
		  "t.toml:1:14: key \"args\": element 1 must be a string, not "
		  "integer" },
	};
	struct mcp_err err = MCP_ERR_INIT;
	struct toml_value *root;
	char node[8] = "dflt", **args = NULL;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		mcp_err_clear(&err);
		root = parse(c[i].in, &err);
		assert_non_null(root);
		rc = toml_read_check_keys(root, allowed, "t.toml", "the top level",
		    &err);
		if (rc == 0)
			rc = toml_read_str(root, "node", node, sizeof(node),
			    "t.toml", &err);
		if (rc == 0)
			rc = toml_read_strv(root, "args", &args, "t.toml", &err);
		assert_int_equal(rc, -1);
		assert_int_equal(err.code, MCP_E_INVALID);
		assert_string_equal(err.msg, c[i].msg);
		toml_free(root);
	}
	/* Refusals leave the destinations as they were. */
	assert_string_equal(node, "dflt");
	assert_null(args);

	root = parse("node = \"abcdefg\"\nargs = [\"x\", \"\"]", &err);
	assert_non_null(root);
	assert_int_equal(toml_read_str(root, "node", node, sizeof(node),
	    "t.toml", &err), 0);
	assert_string_equal(node, "abcdefg");
	assert_int_equal(toml_read_strv(root, "args", &args, "t.toml", &err), 0);
	assert_string_equal(args[0], "x");
	assert_string_equal(args[1], "");
	assert_null(args[2]);
	toml_strv_free(args);
	toml_free(root);
}

static void
test_keys_invalid(void **state U)
{
	static const struct invalid_case c[] = {
		{ "= 1", 1, 1, "expected a key, found '='" },
		{ "a b = 1", 1, 3, "expected '=' after key 'a', found 'b'" },
		{ "a = 1\na = 2", 2, 1, "duplicate key 'a' (first defined at "
		  "line 1, column 1)" },
		{ "a = 1\n'a' = 2", 2, 1, "duplicate key 'a'" },
		{ "\"a\" = 1\na = 2", 2, 1, "duplicate key 'a'" },
		{ "a.b = 1\na.b = 2", 2, 3, "duplicate key 'a.b'" },
		{ "a = 1\na.b = 2", 2, 1, "cannot add keys to 'a': it is an "
		  "integer (defined at line 1, column 1)" },
		{ "a.b = 1\na = 2", 2, 1, "duplicate key 'a'" },
		{ "a = \"x\"\na.b.c = 1", 2, 1, "it is a string" },
		{ "a.b = [1]\na.b.c = 1", 2, 3, "it is an array" },
		{ "a", 1, 2, "expected '=' after key 'a', found end of input" },
		{ "a =", 1, 4, "expected a value, found end of input" },
		{ "a = # x", 1, 5, "expected a value, found '#'" },
		{ "a =\n1", 1, 4, "expected a value, found a newline" },
		{ "a\n= 1", 1, 2, "expected '=' after key 'a', found a "
		  "newline" },
		{ "a. = 1", 1, 4, "expected a key, found '='" },
		{ ".a = 1", 1, 1, "expected a key, found '.'" },
		{ "a..b = 1", 1, 3, "expected a key, found '.'" },
		{ "\"\"\"a\"\"\" = 1", 1, 1, "a multi-line string cannot be a "
		  "key" },
		{ "'''a''' = 1", 1, 1, "multi-line string cannot be a key" },
		{ "\"a\\u0000\" = 1\n\"a\\u0000\" = 2", 2, 1, "duplicate key "
		  "'\"a\\u0000\"'" },
		{ "\"a\\u0000b\".c = 1\n\"a\\u0000b\" = 2", 2, 1,
		  "duplicate key '\"a\\u0000b\"'" },
		{ "[\"\\u0000\"]\n[\"\\u0000\"]", 2, 1, "table '\"\\u0000\"' is "
		  "already defined" },
		{ "\"a\nb\" = 1", 1, 3, "newline in single-line string" },
		{ "a = 1 b = 2", 1, 7, "expected a newline after the value, "
		  "found 'b'" },
		{ "\xc3\xa9 = 1", 1, 1, "expected a key, found '\xc3\xa9' "
		  "(U+00E9)" },
		{ "a$ = 1", 1, 2, "expected '=' after key 'a', found '$'" },
		{ "[a]\nb = 1\nb = 2", 3, 1, "duplicate key 'b'" },
		{ "a == 1", 1, 4, "invalid value starting with '='" },
		{ "\"a = 1", 1, 1, "unterminated string" },
		{ "a\t.\t = 1", 1, 6, "expected a key, found '='" },
		{ "\"a\\tb\\\"\\\\\" = 1\n'a\tb\"\\' = 2", 2, 1, "duplicate key "
		  "'\"a\\u0009b\\u0022\\u005C\"'" },
		{ "a.\"\".b = 1\na.\"\".b = 1", 2, 6, "duplicate key "
		  "'a.\"\".b'" },
	};

	RUN_INVALID(c);
}

/* ---- tables ---- */

static void
test_tables_valid(void **state U)
{
	static const struct valid_case c[] = {
		{ "[table]", "table={};" },
		{ "[table-1]\nkey1 = \"some string\"\nkey2 = 123\n"
		  "[table-2]\nkey1 = \"another string\"\nkey2 = 456",
		  "table-1.key1=string:some string;table-1.key2=integer:123;"
		  "table-2.key1=string:another string;table-2.key2=integer:456;" },
		{ "[dog.\"tater.man\"]\ntype.name = \"pug\"",
		  "dog.\"tater.man\".type.name=string:pug;" },
		{ "[a.b.c]\n[ d.e.f ]\n[ g .  h  . i ]\n[ j . \"\xca\x9e\" . 'l' ]",
		  "a.b.c={};d.e.f={};g.h.i={};j.\"\xca\x9e\".l={};" },
		{ "[x.y.z.w]\n[x]", "x.y.z.w={};" },	/* super-table after */
		{ "[a.b.c]\nz = 1\n[a]\ny = 2",
		  "a.b.c.z=integer:1;a.y=integer:2;" },
		{ "a = 1\n[t]\na = 2", "a=integer:1;t.a=integer:2;" },
		{ "[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n"
		  "[fruit.apple.texture]\nsmooth = true",
		  "fruit.apple.color=string:red;"
		  "fruit.apple.taste.sweet=bool:true;"
		  "fruit.apple.texture.smooth=bool:true;" },
		{ "[a]\n[b]\n[a.c]", "a.c={};b={};" },
		{ "[\"\"]\nx = 1", "\"\".x=integer:1;" },
		{ "[a] # comment\nb = 1", "a.b=integer:1;" },
		{ "[a.b.c]\n[a]\nb.d = 1\n[a.b.c.e]",
		  "a.b.c.e={};a.b.d=integer:1;" },
		{ "a.b.c = 1\n[a.b.d]\ne = 2",	/* sub-table of dotted table */
		  "a.b.c=integer:1;a.b.d.e=integer:2;" },
		{ "\xef\xbb\xbf" "a = 1", "a=integer:1;" },	/* BOM */
		{ "", "" },
		{ "\n\n# only a comment\n   \n\t\n", "" },
		{ "a = 1\r\n[t]\r\nb = 2\r\n", "a=integer:1;t.b=integer:2;" },
	};

	RUN_VALID(c);
}

static void
test_tables_invalid(void **state U)
{
	static const struct invalid_case c[] = {
		{ "[a]\n[a]", 2, 1, "table 'a' is already defined (at line 1, "
		  "column 1)" },
		{ "[a.b]\n[a.b]", 2, 1, "table 'a.b' is already defined" },
		{ "[a]\nb = 1\n[a.b]", 3, 1, "cannot define table 'a.b': it is "
		  "already an integer (defined at line 2, column 1)" },
		{ "a = 1\n[a]", 2, 1, "cannot define table 'a': it is already "
		  "an integer" },
		{ "a = 1\n[a.b]", 2, 2, "cannot add a table to 'a': it is an "
		  "integer" },
		{ "[fruit]\napple.color = 1\n[fruit.apple]", 3, 1, "table "
		  "'fruit.apple' is already defined by dotted keys" },
		{ "[fruit]\napple.taste.sweet = 1\n[fruit.apple.taste]", 3, 1,
		  "already defined by dotted keys" },
		{ "a.b = 1\n[a]", 2, 1, "table 'a' is already defined by dotted "
		  "keys (at line 1, column 1)" },
		{ "[a.b.c]\nz = 9\n[a]\nb.c.t = 1", 4, 3, "cannot add keys to "
		  "table 'b.c' with a dotted key: it was defined by a header at "
		  "line 1" },
		{ "[a.b.c.d]\nz = 9\n[a]\nb.c.d.k.t = 1", 4, 5, "defined by a "
		  "header" },
		{ "[a]\n[a.b]\n[a]\nb.c = 1", 3, 1, "table 'a' is already "
		  "defined" },
		{ "[a.b]\n[a]\nb.c = 1", 3, 1, "cannot add keys to table 'b' "
		  "with a dotted key: it was defined by a header at line 1" },
		{ "[a.b.c]\n[a]\nb.d = 1\n[a.b]", 4, 1, "table 'a.b' is "
		  "already defined by dotted keys (at line 1, column 4)" },
		{ "[a]\nb.c = 1\n[a.b]", 3, 1, "already defined by dotted keys" },
		{ "[]", 1, 2, "expected a key, found ']'" },
		{ "[a", 1, 3, "expected ']' to close the table header, found "
		  "end of input" },
		{ "[a.]", 1, 4, "expected a key, found ']'" },
		{ "[.a]", 1, 2, "expected a key, found '.'" },
		{ "[a b]", 1, 4, "expected ']' to close the table header, "
		  "found 'b'" },
		{ "[a] b = 1", 1, 5, "expected a newline after the header, found "
		  "'b'" },
		{ "[a]]", 1, 4, "expected a newline after the header, found "
		  "']'" },
		{ "[a\n]", 1, 3, "found a newline" },
		{ "[\"a\nb\"]", 1, 4, "newline in single-line string" },
		{ "[ [a] ]", 1, 3, "expected a key, found '['" },
		{ "[a] # \x7f", 1, 7, "control character U+007F in comment" },
		{ "[a.b]\nc = 1\n[a]\nb = 2", 4, 1, "duplicate key 'b' (first "
		  "defined at line 1, column 4)" },
		{ "[a]\n[a.b]\n[a.b.c]\n[a.b]", 4, 1, "table 'a.b' is already "
		  "defined (at line 2, column 1)" },
		/* What the existing value is, in words. */
		{ "s = 'x'\n[s]", 2, 1, "it is already a string (defined at "
		  "line 1, column 1)" },
		{ "f = 1.5\n[f]", 2, 1, "it is already a float" },
		{ "b = true\n[b.c]", 2, 2, "cannot add a table to 'b': it is a "
		  "bool" },
		{ "d = 1979-05-27T07:32:00Z\nd.x = 1", 2, 1, "cannot add keys "
		  "to 'd': it is a datetime" },
		{ "d = 1979-05-27T07:32:00\n[[d]]", 2, 1, "cannot append a "
		  "table to 'd': it is a local datetime" },
		{ "d = 1979-05-27\n[d]", 2, 1, "it is already a local date" },
		{ "t = 07:32:00\n[t]", 2, 1, "it is already a local time" },
	};

	RUN_INVALID(c);
}

/* ---- arrays of tables ---- */

static void
test_array_tables_valid(void **state U)
{
	static const struct valid_case c[] = {
		{ "[[p]]\nname = \"Hammer\"\nsku = 738594937\n\n[[p]]\n\n"
		  "[[p]]\nname = \"Nail\"",
		  "p[0].name=string:Hammer;p[0].sku=integer:738594937;p[1]={};"
		  "p[2].name=string:Nail;" },
		{ "[[fruits]]\nname = \"apple\"\n[fruits.physical]\n"
		  "color = \"red\"\n[[fruits.varieties]]\nname = \"delicious\"\n"
		  "[[fruits.varieties]]\nname = \"granny\"\n[[fruits]]\n"
		  "name = \"banana\"\n[[fruits.varieties]]\nname = \"plantain\"",
		  "fruits[0].name=string:apple;"
		  "fruits[0].physical.color=string:red;"
		  "fruits[0].varieties[0].name=string:delicious;"
		  "fruits[0].varieties[1].name=string:granny;"
		  "fruits[1].name=string:banana;"
		  "fruits[1].varieties[0].name=string:plantain;" },
		{ "[[a.b]]\nx = 1\n[a]\ny = 2",
		  "a.b[0].x=integer:1;a.y=integer:2;" },
		{ "[[a]]\n[a.b]\n[[a]]\n[a.b]", "a[0].b={};a[1].b={};" },
		{ "[[a]]\nb.c = 1\n[[a]]\nb.c = 2",
		  "a[0].b.c=integer:1;a[1].b.c=integer:2;" },
		{ "[[a]]\nb.c = 1\n[a.b.d]\ne = 2",
		  "a[0].b.c=integer:1;a[0].b.d.e=integer:2;" },
		{ "[[ a . b ]]", "a.b[0]={};" },
	};

	RUN_VALID(c);
}

static void
test_array_tables_invalid(void **state U)
{
	static const struct invalid_case c[] = {
		{ "a = []\n[[a]]", 2, 1, "cannot append a table to 'a': it is an "
		  "array (defined at line 1, column 1)" },
		{ "a = [{b = 1}]\n[[a]]", 2, 1, "it is an array (defined" },
		{ "a = [{b = 1}]\n[a.c]", 2, 2, "cannot add a table to 'a': it is "
		  "an array" },
		{ "[[a]]\n[a]", 2, 1, "cannot define table 'a': it is already "
		  "an array of tables (defined at line 1, column 3)" },
		{ "[a]\n[[a]]", 2, 1, "cannot append a table to 'a': it is a table "
		  "(defined at line 1, column 2)" },
		{ "a = 1\n[[a]]", 2, 1, "it is an integer" },
		{ "[[a]]\na = 1\n[[a.a]]", 3, 1, "cannot append a table to 'a.a': "
		  "it is an integer" },
		{ "[[a]]\nb = 1\n[a.b]", 3, 1, "cannot define table 'a.b': it is "
		  "already an integer" },
		{ "[[a]\n", 1, 5, "expected ']]' to close the array of tables "
		  "header, found a newline" },
		{ "[[a] ]", 1, 5, "expected ']]' to close" },
		{ "[[a]]]", 1, 6, "expected a newline after the header" },
		{ "[[]]", 1, 3, "expected a key, found ']'" },
		{ "[[a]]\n[a.b]\n[a.b]", 3, 1, "table 'a.b' is already defined" },
		{ "[[a]]\nb.c = 1\n[a.b]", 3, 1, "already defined by dotted keys" },
		{ "[[fruit]]\napple.color = \"red\"\n[fruit.apple]", 3, 1,
		  "already defined by dotted keys" },
	};

	RUN_INVALID(c);
}

/* ---- comments, newlines, encoding ---- */

static void
test_whitespace_comments(void **state U)
{
	static const struct valid_case v[] = {
		{ "# full line\na = 1 # trailing \xc3\xa9 \xf0\x9f\x98\x80\n",
		  "a=integer:1;" },
		{ "a = 1 #\tTab in comment", "a=integer:1;" },
		{ "a = 1 #\r\n", "a=integer:1;" },
	};
	static const struct invalid_case c[] = {
		{ "a = 1\rb = 2", 1, 6, "carriage return not followed by a "
		  "newline" },
		{ "a = 1 # x\ry", 1, 10, "carriage return not followed by a "
		  "newline in comment" },
		{ "\r", 1, 1, "carriage return" },
		{ "# \x1f\n", 1, 3, "control character U+001F in comment" },
		{ "# a \x0b", 1, 5, "U+000B" },
		{ "# \xc3\x28", 1, 3, "invalid UTF-8 in comment" },
		{ "# \xed\xa0\x80", 1, 3, "invalid UTF-8 in comment" },
		{ "a = 1\n# \xff", 2, 3, "invalid UTF-8 in comment" },
		{ "\xef\xbb\xbf\xef\xbb\xbf" "a = 1", 1, 1, "expected a key, "
		  "found '\xef\xbb\xbf' (U+FEFF)" },
		{ "a = 1\n\xef\xbb\xbf" "b = 2", 2, 1, "expected a key" },
		{ "\xff\xfe" "a", 1, 1, "expected a key, found byte 0xFF "
		  "(invalid UTF-8)" },
		{ "a = 1\x0c", 1, 6, "expected a newline after the value, found "
		  "control character U+000C" },
		{ "\x0b" "a = 1", 1, 1, "control character U+000B" },
		{ "#\x80\x80", 1, 2, "invalid UTF-8 in comment" },
	};

	struct mcp_err err = MCP_ERR_INIT;

	RUN_VALID(v);
	RUN_INVALID(c);
	/* NUL bytes (not expressible in the tables above). */
	assert_null(parse_n("# \0", 3, &err));
	assert_string_equal(err.msg, "t.toml:1:3: control character U+0000 "
	    "in comment");
	assert_null(parse_n("\0", 1, &err));
	assert_string_equal(err.msg, "t.toml:1:1: expected a key, found "
	    "control character U+0000");
	assert_null(parse_n("s = \"a\0\"", 8, &err));
	assert_string_equal(err.msg, "t.toml:1:7: control character U+0000 "
	    "in string must be escaped");
	assert_null(parse_n("s = 'a\0'", 8, &err));
	assert_null(parse_n("s = \"\xe2\x82", 7, &err));	/* cut at the end */
	assert_string_equal(err.msg, "t.toml:1:6: invalid UTF-8 in string");
	assert_null(parse_n("# \xf0\x9f\x98", 5, &err));
	assert_string_equal(err.msg, "t.toml:1:3: invalid UTF-8 in comment");
	assert_null(parse_n("s = 1\0", 6, &err));
	assert_string_equal(err.msg, "t.toml:1:6: expected a newline after "
	    "the value, found control character U+0000");
}

/* Columns count characters, not bytes; lines count LF and CRLF. */
static void
test_positions(void **state U)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct toml_value *root;
	const struct toml_kv *kv;
	const struct toml_value *t, *v;
	static const char doc[] =
	    "name = \"x\"\r\n"			/* 1 */
	    "\n"				/* 2 */
	    "  [server] # c\n"			/* 3 */
	    "\t port = 8443\n"			/* 4 */
	    "s = \"\"\"a\n"			/* 5 */
	    "b\"\"\"  ;\n";			/* 6: error here */

	root = parse("name = \"x\"\r\n\n  [server] # c\n\t port = 8443\n"
	    "\xc3\xa9t\xc3\xa9 = 1\n\"\xc3\xa9\" = 2\n"
	    "[[arr]]\n[[arr]]\nk = [1, [2, {x = 3}]]\n"
	    "[a.b.c]\n[a]\ns = \"\"\"\nmulti\n\"\"\"\nafter = 1\n", &err);
	assert_null(root);	/* bare é is not a key */
	assert_string_equal(err.msg, "t.toml:5:1: expected a key, found "
	    "'\xc3\xa9' (U+00E9)");

	root = parse("name = \"x\"\r\n\n  [server] # c\n\t port = 8443\n"
	    "\"\xc3\xa9\" = 2\n"
	    "[[arr]]\n[[arr]]\nk = [1, [2, {x = 3}]]\n"
	    "[a.b.c]\n[a]\ns = \"\"\"\nmulti\n\"\"\"\nafter = 1\n", &err);
	assert_non_null(root);
	assert_int_equal(root->line, 1);
	assert_int_equal(root->col, 1);

	kv = toml_get_kv(root, "name");
	assert_non_null(kv);
	assert_int_equal(kv->line, 1);
	assert_int_equal(kv->col, 1);
	assert_int_equal(kv->val->line, 1);
	assert_int_equal(kv->val->col, 8);

	kv = toml_get_kv(root, "server");
	assert_non_null(kv);
	assert_int_equal(kv->line, 3);
	assert_int_equal(kv->col, 4);		/* the key in the header */
	assert_int_equal(kv->val->line, 3);
	assert_int_equal(kv->val->col, 3);	/* the '[' */
	t = kv->val;
	kv = toml_get_kv(t, "port");
	assert_non_null(kv);
	assert_int_equal(kv->line, 4);
	assert_int_equal(kv->col, 3);		/* a tab is one column */
	assert_int_equal(kv->val->col, 10);
	assert_int_equal(kv->val->u.i, 8443);

	kv = toml_get_kv(t, "\xc3\xa9");
	assert_non_null(kv);
	assert_int_equal(kv->line, 5);
	assert_int_equal(kv->col, 1);
	assert_int_equal(kv->val->col, 7);	/* "é" is 3 characters */

	v = toml_get(root, "arr");
	assert_non_null(v);
	assert_int_equal(v->type, TOML_ARRAY);
	assert_int_equal(v->u.arr.n, 2);
	assert_int_equal(v->line, 6);
	assert_int_equal(v->u.arr.items[0]->line, 6);
	assert_int_equal(v->u.arr.items[1]->line, 7);
	assert_int_equal(v->u.arr.items[1]->col, 1);
	v = toml_get(v->u.arr.items[1], "k");
	assert_non_null(v);
	assert_int_equal(v->line, 8);
	assert_int_equal(v->col, 5);
	assert_int_equal(v->u.arr.items[0]->col, 6);
	assert_int_equal(v->u.arr.items[1]->col, 9);
	assert_int_equal(v->u.arr.items[1]->u.arr.items[1]->col, 13);
	kv = toml_get_kv(v->u.arr.items[1]->u.arr.items[1], "x");
	assert_non_null(kv);
	assert_int_equal(kv->col, 14);
	assert_int_equal(kv->val->col, 18);

	/* [a] after [a.b.c]: the table now points at its own header. */
	kv = toml_get_kv(root, "a");
	assert_non_null(kv);
	assert_int_equal(kv->line, 10);
	assert_int_equal(kv->col, 2);
	assert_int_equal(kv->val->line, 10);
	assert_int_equal(kv->val->col, 1);
	kv = toml_get_kv(kv->val, "b");
	assert_non_null(kv);
	assert_int_equal(kv->line, 9);		/* implicit, first seen */
	assert_int_equal(kv->col, 4);

	/* Lines keep counting through multi-line strings. */
	t = toml_get(root, "a");
	kv = toml_get_kv(t, "s");
	assert_non_null(kv);
	assert_int_equal(kv->line, 11);
	assert_string_equal(kv->val->u.s.ptr, "multi\n");
	kv = toml_get_kv(t, "after");
	assert_non_null(kv);
	assert_int_equal(kv->line, 14);
	assert_int_equal(kv->col, 1);
	toml_free(root);

	/* Errors after multi-line strings and CRLF lines. */
	assert_null(parse(doc, &err));
	assert_string_equal(err.msg, "t.toml:6:7: expected a newline after "
	    "the value, found ';'");
}

/* ---- API ---- */

static void
test_api(void **state U)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct toml_value *root;
	const struct toml_value *v;
	char name[16];
	struct buf doc = BUF_INIT;
	int i, j;

	assert_string_equal(toml_type_name(TOML_STRING), "string");
	assert_string_equal(toml_type_name(TOML_INTEGER), "integer");
	assert_string_equal(toml_type_name(TOML_FLOAT), "float");
	assert_string_equal(toml_type_name(TOML_BOOL), "bool");
	assert_string_equal(toml_type_name(TOML_DATETIME), "datetime");
	assert_string_equal(toml_type_name(TOML_DATETIME_LOCAL),
	    "datetime-local");
	assert_string_equal(toml_type_name(TOML_DATE_LOCAL), "date-local");
	assert_string_equal(toml_type_name(TOML_TIME_LOCAL), "time-local");
	assert_string_equal(toml_type_name(TOML_ARRAY), "array");
	assert_string_equal(toml_type_name(TOML_TABLE), "table");
	assert_string_equal(toml_type_name((enum toml_type)99), "unknown");

	toml_free(NULL);
	assert_null(toml_get(NULL, "a"));
	assert_null(toml_get_kv(NULL, "a"));

	/* Empty input, NULL text with len 0, NULL filename. */
	root = toml_parse(NULL, 0, NULL, &err);
	assert_non_null(root);
	assert_int_equal(root->type, TOML_TABLE);
	assert_int_equal(root->u.tab.n, 0);
	toml_free(root);
	assert_null(toml_parse("a", 1, NULL, &err));
	assert_string_equal(err.msg, "<input>:1:2: expected '=' after key "
	    "'a', found end of input");
	assert_int_equal(err.code, MCP_E_INVALID);
	/* A NULL err is allowed (the error is just not reported). */
	assert_null(toml_parse("a", 1, "x", NULL));

	/* Only len bytes are read: the rest of the buffer is ignored. */
	root = toml_parse("a = 1\nb = oops", 5, "t", &err);
	assert_non_null(root);
	assert_int_equal(root->u.tab.n, 1);
	toml_free(root);
	root = toml_parse("a = 12345", 6, "t", &err);
	assert_non_null(root);
	assert_int_equal(toml_get(root, "a")->u.i, 12);
	toml_free(root);

	/* Lookups: missing keys, non-tables, order of definition. */
	root = parse("b = 1\na = [1]\nc.d = 'x'", &err);
	assert_non_null(root);
	assert_null(toml_get(root, "zz"));
	assert_null(toml_get(toml_get(root, "a"), "x"));
	assert_null(toml_get(toml_get(root, "b"), "x"));
	assert_string_equal(root->u.tab.kv[0].key, "b");
	assert_string_equal(root->u.tab.kv[1].key, "a");
	assert_string_equal(root->u.tab.kv[2].key, "c");
	v = toml_get(toml_get(root, "c"), "d");
	assert_non_null(v);
	assert_string_equal(v->u.s.ptr, "x");
	assert_int_equal(v->u.s.len, 1);
	toml_free(root);

	/* A large table: every key found (through the hash index). */
	for (i = 0; i < 5000; i++)
		buf_printf(&doc, "k%d = %d\n", i, i);
	root = parse_n(doc.data, doc.len, &err);
	assert_non_null(root);
	assert_int_equal(root->u.tab.n, 5000);
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		v = toml_get(root, name);
		assert_non_null(v);
		assert_int_equal(v->u.i, i);
		assert_string_equal(root->u.tab.kv[i].key, name);
	}
	assert_null(toml_get(root, "k5000"));
	toml_free(root);
	buf_printf(&doc, "k4999 = 1\n");
	assert_null(parse_n(doc.data, doc.len, &err));
	assert_string_equal(err.msg, "t.toml:5001:1: duplicate key 'k4999' "
	    "(first defined at line 5000, column 1)");

	/* Keys in messages are cut short, not the message. */
	buf_reset(&doc);
	for (i = 0; i < 400; i++)
		buf_puts(&doc, "k");
	buf_puts(&doc, " = 1\n");
	buf_puts(&doc, strchr(doc.data, 'k'));	/* the same line again */
	assert_null(parse_n(doc.data, doc.len, &err));
	assert_true(strncmp(err.msg, "t.toml:2:1: duplicate key 'kkkk", 30)
	    == 0);
	assert_non_null(strstr(err.msg, "k...' (first defined at line 1, "
	    "column 1)"));
	/* ... on a character boundary. */
	buf_reset(&doc);
	for (j = 0; j < 2; j++) {
		buf_puts(&doc, "\"");
		for (i = 0; i < 300; i++)
			buf_puts(&doc, "\xc3\xa9");
		buf_puts(&doc, "\" = 1\n");
	}
	assert_null(parse_n(doc.data, doc.len, &err));
	assert_non_null(strstr(err.msg, "\xc3\xa9\xc3\xa9...' (first "
	    "defined"));
	buf_free(&doc);
}

/* Values: the exact numbers behind the flattened text. */
static void
test_values(void **state U)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct toml_value *root = parse("i = -9223372036854775808\n"
	    "j = 0x7fffffffffffffff\nf = -0.0\ng = nan\nh = -inf\n"
	    "b = true\nd = 1979-05-27 07:32:00z\n", &err);
	const struct toml_value *v;

	assert_non_null(root);
	assert_true(toml_get(root, "i")->u.i == INT64_MIN);
	assert_true(toml_get(root, "j")->u.i == INT64_MAX);
	v = toml_get(root, "f");
	assert_int_equal(v->type, TOML_FLOAT);
	assert_true(v->u.f == 0.0 && signbit(v->u.f));
	assert_true(isnan(toml_get(root, "g")->u.f));
	assert_true(isinf(toml_get(root, "h")->u.f) &&
	    toml_get(root, "h")->u.f < 0);
	assert_int_equal(toml_get(root, "b")->u.b, 1);
	v = toml_get(root, "d");
	assert_int_equal(v->type, TOML_DATETIME);
	assert_string_equal(v->u.dt, "1979-05-27T07:32:00Z");
	toml_free(root);
}

/* Nesting is bounded; deep input is refused, not a stack overflow. */
static void
test_depth_limit(void **state U)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct toml_value *root;
	struct buf b = BUF_INIT;
	int i;

	/* 256 nested arrays under the root: the deepest allowed. */
	buf_puts(&b, "a = ");
	for (i = 0; i < 256; i++)
		buf_puts(&b, "[");
	for (i = 0; i < 256; i++)
		buf_puts(&b, "]");
	root = parse_n(b.data, b.len, &err);
	assert_non_null(root);
	toml_free(root);

	buf_reset(&b);
	buf_puts(&b, "a = ");
	for (i = 0; i < 257; i++)
		buf_puts(&b, "[");
	root = parse_n(b.data, b.len, &err);
	assert_null(root);
	assert_string_equal(err.msg, "t.toml:1:261: nesting deeper than 256 "
	    "tables and arrays");

	buf_reset(&b);
	buf_puts(&b, "a = ");
	for (i = 0; i < 100000; i++)
		buf_puts(&b, "{b=");
	assert_null(parse_n(b.data, b.len, &err));
	assert_non_null(strstr(err.msg, "nesting deeper than 256"));

	/* Dotted keys and headers count too. */
	buf_reset(&b);
	for (i = 0; i < 300; i++)
		buf_puts(&b, i ? ".a" : "a");
	buf_puts(&b, " = 1");
	assert_null(parse_n(b.data, b.len, &err));
	assert_non_null(strstr(err.msg, "key has more than 256 parts"));

	/* Arrays of tables add two levels (array, table) per part. */
	buf_reset(&b);
	for (i = 0; i < 129; i++) {
		int j;

		buf_puts(&b, "[[a");
		for (j = 0; j < i; j++)
			buf_puts(&b, ".a");
		buf_puts(&b, "]]\n");
	}
	assert_null(parse_n(b.data, b.len, &err));
	assert_string_equal(err.msg, "t.toml:129:1: nesting deeper than 256 "
	    "tables and arrays");

	buf_reset(&b);
	buf_puts(&b, "[");
	for (i = 0; i < 256; i++)
		buf_puts(&b, i ? ".a" : "a");
	buf_puts(&b, "]\nx = {}");
	assert_null(parse_n(b.data, b.len, &err));
	assert_non_null(strstr(err.msg, "t.toml:2:5: nesting deeper"));
	buf_free(&b);
}

/* The tagged JSON of the toml-test suite (toml_to_json). */
static void
test_json(void **state U)
{
	static const struct {
		const char *in, *want;
	} c[] = {
		{ "", "{}" },
		{ "a = 1", "{\"a\": {\"type\": \"integer\", \"value\": \"1\"}}" },
		{ "a = 'x\"\\'",
		  "{\"a\": {\"type\": \"string\", \"value\": \"x\\\"\\\\\"}}" },
		{ "a = \"\\u0000\\u001f\\u007f\\b\\t\\n\\f\\r\xc3\xa9\"",
		  "{\"a\": {\"type\": \"string\", \"value\": "
		  "\"\\u0000\\u001f\\u007f\\b\\t\\n\\f\\r\xc3\xa9\"}}" },
		{ "f = [1.0, 0.1, -inf, inf, nan, -nan, 1e100, 5e-324, -0.0]",
		  "{\"f\": [{\"type\": \"float\", \"value\": \"1.0\"}, "
		  "{\"type\": \"float\", \"value\": \"0.1\"}, "
		  "{\"type\": \"float\", \"value\": \"-inf\"}, "
		  "{\"type\": \"float\", \"value\": \"inf\"}, "
		  "{\"type\": \"float\", \"value\": \"nan\"}, "
		  "{\"type\": \"float\", \"value\": \"nan\"}, "
		  "{\"type\": \"float\", \"value\": \"1e+100\"}, "
		  "{\"type\": \"float\", \"value\": \"5e-324\"}, "
		  "{\"type\": \"float\", \"value\": \"-0.0\"}]}" },
		{ "b = false\n[t]\nd = 07:00:00\n[[x]]",
		  "{\"b\": {\"type\": \"bool\", \"value\": \"false\"}, \"t\": "
		  "{\"d\": {\"type\": \"time-local\", \"value\": \"07:00:00\"}}, "
		  "\"x\": [{}]}" },
		{ "\"k\\n\" = 1979-05-27",
		  "{\"k\\n\": {\"type\": \"date-local\", \"value\": "
		  "\"1979-05-27\"}}" },
		/* A NUL inside a key or value survives into the JSON. */
		{ "\"a\\u0000b\" = \"c\\u0000d\"\n[\"\\u0000\"]",
		  "{\"a\\u0000b\": {\"type\": \"string\", \"value\": "
		  "\"c\\u0000d\"}, \"\\u0000\": {}}" },
	};
	struct mcp_err err = MCP_ERR_INIT;
	struct toml_value *root;
	struct buf out = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		root = parse(c[i].in, &err);
		assert_non_null(root);
		buf_reset(&out);
		assert_int_equal(toml_to_json(root, &out, &err), 0);
		assert_string_equal(out.data, c[i].want);
		toml_free(root);
	}
	assert_int_equal(toml_to_json(NULL, &out, &err), -1);
	buf_free(&out);
}

/*
 * Every prefix of a valid document either parses or fails with a
 * positioned message; never crashes or over-reads (the input copy has no
 * terminator).
 */
static void
test_prefixes(void **state U)
{
	static const char doc[] =
	    "# c\nname = \"hello\" # x\ntier = 'worker'\nn = -1_000\n"
	    "f = 6.02e+23\nd = 1979-05-27T07:32:00.5-07:00\nt = 07:32:00\n"
	    "ml = \"\"\"\n  a \\\n  b\"\"\"\nlit = '''\nx'''\n"
	    "arr = [ 1, [2, 3], { x = \"\\u00e9\" }, ]\n"
	    "[[components]]\nname = \"a\"\n[components.env]\nK.V = true\n"
	    "[snapshot]\nexclude = [\"cache/\"]\n";
	struct mcp_err err;
	struct toml_value *root;
	size_t n;

	for (n = 0; n <= sizeof(doc) - 1; n++) {
		mcp_err_clear(&err);
		root = parse_n(doc, n, &err);
		if (root == NULL) {
			assert_int_equal(err.code, MCP_E_INVALID);
			assert_true(strncmp(err.msg, "t.toml:", 7) == 0);
		}
		toml_free(root);
	}
	root = parse_n(doc, sizeof(doc) - 1, &err);
	assert_non_null(root);
	toml_free(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings_valid),
		cmocka_unit_test(test_strings_invalid),
		cmocka_unit_test(test_string_nul),
		cmocka_unit_test(test_integers_valid),
		cmocka_unit_test(test_integers_invalid),
		cmocka_unit_test(test_floats_valid),
		cmocka_unit_test(test_floats_invalid),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_datetimes_valid),
		cmocka_unit_test(test_datetimes_invalid),
		cmocka_unit_test(test_arrays_valid),
		cmocka_unit_test(test_arrays_invalid),
		cmocka_unit_test(test_inline_tables_valid),
		cmocka_unit_test(test_inline_tables_invalid),
		cmocka_unit_test(test_keys_valid),
		cmocka_unit_test(test_key_nul),
		cmocka_unit_test(test_key_flood),
		cmocka_unit_test(test_get_string),
		cmocka_unit_test(test_key_append),
		cmocka_unit_test(test_read_nul),
		cmocka_unit_test(test_keys_invalid),
		cmocka_unit_test(test_tables_valid),
		cmocka_unit_test(test_tables_invalid),
		cmocka_unit_test(test_array_tables_valid),
		cmocka_unit_test(test_array_tables_invalid),
		cmocka_unit_test(test_whitespace_comments),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_api),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
