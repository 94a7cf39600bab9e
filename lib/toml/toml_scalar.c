/*
 * toml/toml_scalar.c: the lexical layer of the TOML parser: strings (basic,
 * literal and their multi-line forms, with escapes), integers, floats,
 * booleans and the four date-time types, and UTF-8 validation.
 *
 * Each scanner starts at p->pos, consumes exactly the token, and reports
 * errors at the offending byte.  What follows the token (a newline, a
 * comma, ...) is the grammar's business in toml_parse.c.
 */
#include "toml/toml_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t
tscan_utf8(const unsigned char *s, size_t n, unsigned long *cp)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t len, i;
	unsigned long v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;		/* overlong */
		else if (c == 0xED)
			hi = 0x9F;		/* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;		/* overlong */
		else if (c == 0xF4)
			hi = 0x8F;		/* > U+10FFFF */
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		unsigned char b = s[i];

		if (b < lo || b > hi)
			return 0;
		lo = 0x80;
		hi = 0xBF;
		v = (v << 6) | (b & 0x3F);
	}
	*cp = v;
	return len;
}

static int
tscan_is_control(int c)
{
	return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7F;
}

static int
tscan_put(struct toml_parser *p, const void *b, size_t n)
{
	if (buf_append(&p->sbuf, b, n) == -1)
		return tp_nomem(p);
	return 0;
}

static int
tscan_put_utf8(struct toml_parser *p, unsigned long cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xF0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return tscan_put(p, b, n);
}

static int
tscan_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* p->pos is on the backslash of \uXXXX or \UXXXXXXXX. */
static int
tscan_unicode_escape(struct toml_parser *p, int ndigits)
{
	unsigned long cp = 0;
	int i, h;

	for (i = 0; i < ndigits; i++) {
		h = tscan_hexval(tp_peek(p, 2 + (size_t)i));
		if (h < 0)
			return tp_error(p, p->pos, "\\%c escape needs %d hex "
			    "digits", ndigits == 4 ? 'u' : 'U', ndigits);
		cp = cp << 4 | (unsigned long)h;
	}
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return tp_error(p, p->pos, "escape \\%c%.*s is not a Unicode "
		    "scalar value", ndigits == 4 ? 'u' : 'U', ndigits,
		    p->s + p->pos + 2);
	p->pos += 2 + (size_t)ndigits;
	return tscan_put_utf8(p, cp);
}

/*
 * After a backslash that ends a line in a multi-line basic string: p->pos
 * is on the backslash; skip it, the rest of the line and all whitespace and
 * newlines that follow.  Returns 1 if this was a line-ending backslash, 0 if
 * not (then nothing is consumed), -1 on error.
 */
static int
tscan_line_continuation(struct toml_parser *p)
{
	size_t k = 1;
	int c;

	while ((c = tp_peek(p, k)) == ' ' || c == '\t')
		k++;
	if (!(c == '\n' || (c == '\r' && tp_peek(p, k + 1) == '\n')))
		return 0;
	p->pos += k;
	for (;;) {
		c = tp_peek(p, 0);
		if (c == ' ' || c == '\t') {
			p->pos++;
		} else if (c == '\n') {
			p->pos++;
			tp_newline(p, p->pos);
		} else if (c == '\r' && tp_peek(p, 1) == '\n') {
			p->pos += 2;
			tp_newline(p, p->pos);
		} else if (c == '\r') {
			return tp_error(p, p->pos, "carriage return not "
			    "followed by a newline");
		} else {
			return 1;
		}
	}
}

/* p->pos is on a backslash in a basic string. */
static int
tscan_escape(struct toml_parser *p, int multi)
{
	char b[32];
	int c = tp_peek(p, 1), r;
	char out;

	switch (c) {
	case 'b': out = '\b'; break;
	case 't': out = '\t'; break;
	case 'n': out = '\n'; break;
	case 'f': out = '\f'; break;
	case 'r': out = '\r'; break;
	case '"': out = '"'; break;
	case '\\': out = '\\'; break;
	case 'u':
		return tscan_unicode_escape(p, 4);
	case 'U':
		return tscan_unicode_escape(p, 8);
	default:
		if (multi && (c == ' ' || c == '\t' || c == '\n' ||
		    c == '\r')) {
			r = tscan_line_continuation(p);
			if (r != 0)
				return r == 1 ? 0 : -1;
		}
		return tp_error(p, p->pos, "invalid escape sequence '\\' "
		    "followed by %s", tp_what(p, p->pos + 1, b, sizeof(b)));
	}
	p->pos += 2;
	return tscan_put(p, &out, 1);
}

/*
 * The body of a string whose opening delimiter (1 or 3 quotes q) has been
 * consumed; start is the offset of the opening quote for messages.
 */
static int
tscan_string_body(struct toml_parser *p, int q, int multi, size_t start)
{
	const char *kind = q == '"' ? "string" : "literal string";
	char b[32];
	unsigned long cp;
	size_t n, run;
	int c;

	for (;;) {
		/* Copy a run of ordinary printable ASCII at once. */
		run = 0;
		while ((c = tp_peek(p, run)) >= 0x20 && c < 0x7F && c != q &&
		    !(c == '\\' && q == '"'))
			run++;
		if (run) {
			if (tscan_put(p, p->s + p->pos, run) == -1)
				return -1;
			p->pos += run;
		}
		c = tp_peek(p, 0);
		if (c == -1)
			return tp_error(p, start, "unterminated %s", kind);
		if (c == q) {
			if (!multi) {
				p->pos++;
				return 0;
			}
			n = 0;
			while (tp_peek(p, n) == q)
				n++;
			if (n >= 3) {
				if (n > 5)
					return tp_error(p, p->pos + 5, "too many "
					    "quotes closing a multi-line %s",
					    kind);
				if (tscan_put(p, p->s + p->pos, n - 3) == -1)
					return -1;
				p->pos += n;
				return 0;
			}
			if (tscan_put(p, p->s + p->pos, n) == -1)
				return -1;
			p->pos += n;
		} else if (c == '\\' && q == '"') {
			if (tscan_escape(p, multi) == -1)
				return -1;
		} else if (c == '\n' && multi) {
			if (tscan_put(p, "\n", 1) == -1)
				return -1;
			p->pos++;
			tp_newline(p, p->pos);
		} else if (c == '\r' && multi && tp_peek(p, 1) == '\n') {
			if (tscan_put(p, "\n", 1) == -1)
				return -1;
			p->pos += 2;
			tp_newline(p, p->pos);
		} else if (c == '\n' || (c == '\r' && tp_peek(p, 1) == '\n')) {
			return tp_error(p, p->pos, "newline in single-line %s "
			    "(unterminated?)", kind);
		} else if (c == '\r') {
			return tp_error(p, p->pos, "carriage return not followed "
			    "by a newline in %s", kind);
		} else if (tscan_is_control(c)) {
			return tp_error(p, p->pos, "%s in %s must be escaped",
			    tp_what(p, p->pos, b, sizeof(b)), kind);
		} else {
			n = tscan_utf8((const unsigned char *)p->s + p->pos,
			    p->len - p->pos, &cp);
			if (n == 0)
				return tp_error(p, p->pos, "invalid UTF-8 in %s",
				    kind);
			if (tscan_put(p, p->s + p->pos, n) == -1)
				return -1;
			p->pos += n;
		}
	}
}

int
tscan_string(struct toml_parser *p, int allow_multi)
{
	size_t start = p->pos;
	int q = tp_peek(p, 0);

	buf_reset(&p->sbuf);
	/* An empty buffer has data == NULL; make it a valid empty string. */
	if (tscan_put(p, "", 0) == -1)
		return -1;
	if (tp_peek(p, 1) == q && tp_peek(p, 2) == q) {
		if (!allow_multi)
			return tp_error(p, start, "a multi-line string cannot "
			    "be a key");
		p->pos += 3;
		/* A newline right after the opening delimiter is trimmed. */
		if (tp_peek(p, 0) == '\n') {
			p->pos++;
			tp_newline(p, p->pos);
		} else if (tp_peek(p, 0) == '\r' && tp_peek(p, 1) == '\n') {
			p->pos += 2;
			tp_newline(p, p->pos);
		}
		return tscan_string_body(p, q, 1, start);
	}
	p->pos++;
	return tscan_string_body(p, q, 0, start);
}

/* ---- numbers ---- */

static int
tscan_isdigit(int c, int base)
{
	switch (base) {
	case 2:
		return c == '0' || c == '1';
	case 8:
		return c >= '0' && c <= '7';
	case 16:
		return tscan_hexval(c) >= 0;
	default:
		return c >= '0' && c <= '9';
	}
}

/*
 * Digits of the given base with single underscores between them; the
 * digits (without underscores) are appended to p->sbuf.  what names the
 * part for messages ("integer", "fraction", "exponent").
 */
static int
tscan_digits(struct toml_parser *p, int base, const char *what)
{
	char b[32];
	size_t run;

	if (!tscan_isdigit(tp_peek(p, 0), base))
		return tp_error(p, p->pos, "expected a digit in %s, found %s",
		    what, tp_what(p, p->pos, b, sizeof(b)));
	for (;;) {
		run = 0;
		while (tscan_isdigit(tp_peek(p, run), base))
			run++;
		if (tscan_put(p, p->s + p->pos, run) == -1)
			return -1;
		p->pos += run;
		if (tp_peek(p, 0) != '_')
			return 0;
		if (!tscan_isdigit(tp_peek(p, 1), base))
			return tp_error(p, p->pos, "'_' in %s must be between "
			    "digits", what);
		p->pos++;
	}
}

/* Integer value of the digits in p->sbuf, refusing int64 overflow. */
static int
tscan_int_value(struct toml_parser *p, size_t start, int base, int neg,
    int64_t *out)
{
	uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
	size_t i;

	for (i = 0; i < p->sbuf.len; i++) {
		uint64_t d = (uint64_t)tscan_hexval(p->sbuf.data[i]);

		if (v > (lim - d) / (uint64_t)base)
			return tp_error(p, start, "integer does not fit in "
			    "64 bits");
		v = v * (uint64_t)base + d;
	}
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return 0;
}

static int
tscan_float_value(struct toml_parser *p, size_t start, double *out)
{
	char *end;
	double d;

	if (p->cloc == (locale_t)0) {
		p->cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
		if (p->cloc == (locale_t)0)
			return tp_nomem(p);
	}
	errno = 0;
	d = strtod_l(p->sbuf.data, &end, p->cloc);
	if (*end != '\0')
		return tp_error(p, start, "invalid float");
	if (errno == ERANGE && isinf(d))
		return tp_error(p, start, "float out of range");
	*out = d;
	return 0;
}

static struct toml_value *
tscan_number(struct toml_parser *p, int line, int col, int depth)
{
	size_t start = p->pos;
	struct toml_value *v;
	int c = tp_peek(p, 0), neg = 0, base = 10, isfloat = 0;
	char b[32];

	buf_reset(&p->sbuf);
	if (c == '+' || c == '-') {
		neg = c == '-';
		if (tscan_put(p, p->s + p->pos, 1) == -1)
			return NULL;
		p->pos++;
		c = tp_peek(p, 0);
	}
	if (c == 'i' || c == 'n') {	/* inf, nan */
		double d;

		if (p->len - p->pos >= 3 &&
		    memcmp(p->s + p->pos, "inf", 3) == 0)
			d = INFINITY;
		else if (p->len - p->pos >= 3 &&
		    memcmp(p->s + p->pos, "nan", 3) == 0)
			d = NAN;
		else {
			tp_error(p, start, "invalid value%s", start == p->pos ?
			    " (strings must be quoted)" : "");
			return NULL;
		}
		p->pos += 3;
		if ((v = ttree_new(TOML_FLOAT, line, col, depth)) == NULL) {
			tp_nomem(p);
			return NULL;
		}
		v->u.f = neg ? -d : d;
		return v;
	}
	if (c == '0' && (tp_peek(p, 1) == 'x' || tp_peek(p, 1) == 'o' ||
	    tp_peek(p, 1) == 'b')) {
		if (start != p->pos) {
			tp_error(p, start, "a sign is not allowed on hex, "
			    "octal or binary integers");
			return NULL;
		}
		base = tp_peek(p, 1) == 'x' ? 16 : tp_peek(p, 1) == 'o' ? 8 : 2;
		p->pos += 2;
		if (tscan_digits(p, base, "integer") == -1)
			return NULL;
	} else {
		if (!(c >= '0' && c <= '9')) {
			tp_error(p, start, "invalid value: expected a digit "
			    "after the sign, found %s",
			    tp_what(p, p->pos, b, sizeof(b)));
			return NULL;
		}
		if (c == '0' && (tscan_isdigit(tp_peek(p, 1), 10) ||
		    tp_peek(p, 1) == '_')) {
			tp_error(p, start, "leading zeros are not allowed in "
			    "a decimal number");
			return NULL;
		}
		if (tscan_digits(p, 10, "integer") == -1)
			return NULL;
		if (tp_peek(p, 0) == '.') {
			isfloat = 1;
			p->pos++;
			if (tscan_put(p, ".", 1) == -1 ||
			    tscan_digits(p, 10, "fraction") == -1)
				return NULL;
		}
		c = tp_peek(p, 0);
		if (c == 'e' || c == 'E') {
			isfloat = 1;
			p->pos++;
			if (tscan_put(p, "e", 1) == -1)
				return NULL;
			c = tp_peek(p, 0);
			if (c == '+' || c == '-') {
				if (tscan_put(p, p->s + p->pos, 1) == -1)
					return NULL;
				p->pos++;
			}
			if (tscan_digits(p, 10, "exponent") == -1)
				return NULL;
		}
	}
	v = ttree_new(isfloat ? TOML_FLOAT : TOML_INTEGER, line, col, depth);
	if (v == NULL) {
		tp_nomem(p);
		return NULL;
	}
	if (isfloat) {
		if (tscan_float_value(p, start, &v->u.f) == 0)
			return v;
	} else {
		if (base == 10 && (neg || p->sbuf.data[0] == '+')) {
			/* Drop the sign: tscan_int_value wants digits. */
			memmove(p->sbuf.data, p->sbuf.data + 1, p->sbuf.len);
			p->sbuf.len--;
		}
		if (tscan_int_value(p, start, base, neg, &v->u.i) == 0)
			return v;
	}
	toml_free(v);
	return NULL;
}

/* ---- date-times ---- */

/* Exactly n decimal digits at p->pos + k; -1 if there are not. */
static int
tscan_fixed(const struct toml_parser *p, size_t k, int n)
{
	int v = 0, i, c;

	for (i = 0; i < n; i++) {
		c = tp_peek(p, k + (size_t)i);
		if (!(c >= '0' && c <= '9'))
			return -1;
		v = v * 10 + (c - '0');
	}
	return v;
}

static int
tscan_days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* YYYY-MM-DD at p->pos. */
static int
tscan_date(struct toml_parser *p)
{
	int y = tscan_fixed(p, 0, 4), m = tscan_fixed(p, 5, 2);
	int d = tscan_fixed(p, 8, 2);

	if (y < 0 || m < 0 || d < 0 || tp_peek(p, 4) != '-' ||
	    tp_peek(p, 7) != '-')
		return tp_error(p, p->pos, "invalid date: expected "
		    "YYYY-MM-DD");
	if (m < 1 || m > 12)
		return tp_error(p, p->pos + 5, "invalid date: month %02d is "
		    "not in 01-12", m);
	if (d < 1 || d > tscan_days_in_month(y, m))
		return tp_error(p, p->pos + 8, "invalid date: day %02d is not "
		    "in month %04d-%02d", d, y, m);
	if (tscan_put(p, p->s + p->pos, 10) == -1)
		return -1;
	p->pos += 10;
	return 0;
}

/* HH:MM:SS[.fraction] at p->pos. */
static int
tscan_time(struct toml_parser *p)
{
	int h = tscan_fixed(p, 0, 2), m = tscan_fixed(p, 3, 2);
	int s = tscan_fixed(p, 6, 2);
	size_t n;

	if (h < 0 || m < 0 || s < 0 || tp_peek(p, 2) != ':' ||
	    tp_peek(p, 5) != ':')
		return tp_error(p, p->pos, "invalid time: expected "
		    "HH:MM:SS");
	if (h > 23)
		return tp_error(p, p->pos, "invalid time: hour %02d is not "
		    "in 00-23", h);
	if (m > 59)
		return tp_error(p, p->pos + 3, "invalid time: minute %02d is "
		    "not in 00-59", m);
	if (s > 60)
		return tp_error(p, p->pos + 6, "invalid time: second %02d is "
		    "not in 00-60", s);
	n = 8;
	if (tp_peek(p, n) == '.') {
		n++;
		if (tscan_fixed(p, n, 1) < 0)
			return tp_error(p, p->pos + n, "invalid time: expected "
			    "digits after '.'");
		while (tscan_fixed(p, n, 1) >= 0)
			n++;
	}
	if (tscan_put(p, p->s + p->pos, n) == -1)
		return -1;
	p->pos += n;
	return 0;
}

/* Z or +HH:MM / -HH:MM at p->pos; returns 1 if present, 0 if not. */
static int
tscan_offset(struct toml_parser *p)
{
	int c = tp_peek(p, 0), h, m;

	if (c == 'Z' || c == 'z') {
		p->pos++;
		return tscan_put(p, "Z", 1) == -1 ? -1 : 1;
	}
	if (c != '+' && c != '-')
		return 0;
	h = tscan_fixed(p, 1, 2);
	m = tscan_fixed(p, 4, 2);
	if (h < 0 || m < 0 || tp_peek(p, 3) != ':')
		return tp_error(p, p->pos, "invalid time offset: expected "
		    "%cHH:MM", c);
	if (h > 23 || m > 59)
		return tp_error(p, p->pos, "invalid time offset %c%02d:%02d",
		    c, h, m);
	if (tscan_put(p, p->s + p->pos, 6) == -1)
		return -1;
	p->pos += 6;
	return 1;
}

static struct toml_value *
tscan_datetime(struct toml_parser *p, int line, int col, int depth)
{
	enum toml_type type;
	struct toml_value *v;
	int c, r;

	buf_reset(&p->sbuf);
	if (tscan_fixed(p, 0, 2) >= 0 && tp_peek(p, 2) == ':') {
		if (tscan_time(p) == -1)
			return NULL;
		type = TOML_TIME_LOCAL;
	} else {
		if (tscan_date(p) == -1)
			return NULL;
		type = TOML_DATE_LOCAL;
		c = tp_peek(p, 0);
		if (c == 'T' || c == 't' ||
		    (c == ' ' && tscan_fixed(p, 1, 1) >= 0)) {
			p->pos++;
			if (tscan_put(p, "T", 1) == -1 || tscan_time(p) == -1)
				return NULL;
			if ((r = tscan_offset(p)) == -1)
				return NULL;
			type = r ? TOML_DATETIME : TOML_DATETIME_LOCAL;
		}
	}
	if ((v = ttree_new(type, line, col, depth)) == NULL) {
		tp_nomem(p);
		return NULL;
	}
	v->u.dt = buf_steal(&p->sbuf);
	return v;
}

struct toml_value *
tscan_scalar(struct toml_parser *p, int depth)
{
	struct toml_value *v;
	int line, col, c = tp_peek(p, 0);
	char b[32];

	tp_where(p, p->pos, &line, &col);
	if (c == 't' || c == 'f') {
		size_t n = c == 't' ? 4 : 5;

		if (p->len - p->pos < n ||
		    memcmp(p->s + p->pos, c == 't' ? "true" : "false", n)) {
			tp_error(p, p->pos, "invalid value (strings must be "
			    "quoted)");
			return NULL;
		}
		if ((v = ttree_new(TOML_BOOL, line, col, depth)) == NULL) {
			tp_nomem(p);
			return NULL;
		}
		v->u.b = c == 't';
		p->pos += n;
		return v;
	}
	if (tscan_fixed(p, 0, 2) >= 0 && (tp_peek(p, 2) == ':' ||
	    (tscan_fixed(p, 2, 2) >= 0 && tp_peek(p, 4) == '-')))
		return tscan_datetime(p, line, col, depth);
	if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'i' ||
	    c == 'n')
		return tscan_number(p, line, col, depth);
	if (c == -1 || c == '\n' || c == '\r' || c == '#')
		tp_error(p, p->pos, "expected a value, found %s",
		    tp_what(p, p->pos, b, sizeof(b)));
	else
		tp_error(p, p->pos, "invalid value starting with %s%s",
		    tp_what(p, p->pos, b, sizeof(b)),
		    isalpha(c) ? " (strings must be quoted)" : "");
	return NULL;
}
