/*
 * wire/wire_check.c: the text check at the RPC edge.
 *
 * protobuf-c unpacks a string field into a NUL-terminated C string, so a
 * value with an embedded NUL reaches a handler cut short ("svc\0x" is
 * "svc") and the agent would act on the prefix.  Before a message is
 * unpacked, wire_check_strings() walks its raw wire bytes guided by the
 * message descriptor: every length-delimited field that the descriptor
 * declares a string must be well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF) without a NUL byte; fields declared
 * as messages are checked recursively; bytes fields (file contents) and
 * fields the descriptor does not know are skipped by their wire type.
 * The error names the field path as a caller wrote it, e.g.
 * `field "components[1].name": embedded NUL byte at offset 3`.
 *
 * It is pure (bytes and a descriptor in, verdict out), so one call in the
 * wire layer covers every RPC of every .proto served or called.
 */
#include "wire/wire_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deeper nesting than this is refused (no MCP message nests past 4). */
#define WIRE_CHECK_DEPTH 32

#define WC_ONES 0x0101010101010101ull
#define WC_HIGH 0x8080808080808080ull

/* Wire types (protobuf encoding). */
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4,
	WT_I32 = 5 };

struct wcheck {
	const uint8_t *base;	/* the whole message, for byte offsets */
	struct mcp_err *err;
};

/* Read a varint at *p (< end); 0 when truncated or longer than 10 bytes. */
static int
wc_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	unsigned shift = 0;

	*v = 0;
	while (*p < end && shift < 70) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0)
			return 1;
		shift += 7;
	}
	return 0;
}

/*
 * Offset of the first byte of s[0..n) that is not part of well-formed
 * UTF-8 (RFC 3629), or n if all is well.  *nul is set when the bad byte
 * is a NUL.
 */
size_t
wire_utf8_bad(const uint8_t *s, size_t n, int *nul)
{
	size_t i = 0;

	*nul = 0;
	while (i < n) {
		uint8_t c;
		size_t k, len;
		uint32_t cp, min;
		uint64_t w;

		/* ASCII without NUL, eight bytes at a time */
		while (n - i >= 8) {
			memcpy(&w, s + i, 8);
			if ((w & WC_HIGH) || ((w - WC_ONES) & ~w & WC_HIGH))
				break;
			i += 8;
		}
		if (i == n)
			break;
		c = s[i];

		if (c == 0) {
			*nul = 1;
			return i;
		}
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return i;	/* continuation byte, C0/C1, F5..FF */
		}
		if (n - i < len)
			return i;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += len;
	}
	return n;
}

/* "name" or "name[i]" appended to the parent path. */
static void
wc_path(char *out, size_t outsz, const char *parent,
    const ProtobufCFieldDescriptor *f, size_t index)
{
	const char *dot = parent[0] ? "." : "";

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		snprintf(out, outsz, "%s%s%s[%zu]", parent, dot, f->name, index);
	else
		snprintf(out, outsz, "%s%s%s", parent, dot, f->name);
}

static int
wc_malformed(struct wcheck *c, const uint8_t *at, const char *path,
    const char *why)
{
	return mcp_err_set(c->err, MCP_E_INVALID,
	    "malformed message at byte %zu%s%s%s: %s", (size_t)(at - c->base),
	    path[0] ? " (in \"" : "", path, path[0] ? "\")" : "", why);
}

static int wc_message(struct wcheck *c, const ProtobufCMessageDescriptor *desc,
    const uint8_t *p, const uint8_t *end, const char *path, int depth);

/* One length-delimited field value at v[0..n) of known field f. */
static int
wc_field(struct wcheck *c, const ProtobufCFieldDescriptor *f,
    const uint8_t *v, size_t n, const char *path, int depth)
{
	size_t bad;
	int nul;

	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		return wc_message(c, f->descriptor, v, v + n, path, depth + 1);
	if (f->type != PROTOBUF_C_TYPE_STRING)
		return 0;	/* bytes, or packed repeated numbers */
	if ((bad = wire_utf8_bad(v, n, &nul)) == n)
		return 0;
	if (nul)
		return mcp_err_set(c->err, MCP_E_INVALID,
		    "field \"%s\": embedded NUL byte at offset %zu", path, bad);
	return mcp_err_set(c->err, MCP_E_INVALID,
	    "field \"%s\": invalid UTF-8 (byte 0x%02X) at offset %zu", path,
	    v[bad], bad);
}

static int
wc_message(struct wcheck *c, const ProtobufCMessageDescriptor *desc,
    const uint8_t *p, const uint8_t *end, const char *path, int depth)
{
	size_t *seen;	/* occurrences so far of each field: repeated indexes */
	int rc = -1;

	if (depth > WIRE_CHECK_DEPTH)
		return wc_malformed(c, p, path, "messages nested too deeply");
	seen = calloc(desc->n_fields ? desc->n_fields : 1, sizeof(*seen));
	if (seen == NULL)
		abort();
	while (p < end) {
		const uint8_t *at = p;
		const ProtobufCFieldDescriptor *f;
		char sub[512];
		uint64_t key, len;

		if (!wc_varint(&p, end, &key)) {
			wc_malformed(c, at, path, "truncated field key");
			goto out;
		}
		if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff) {
			wc_malformed(c, at, path, "invalid field number");
			goto out;
		}
		f = protobuf_c_message_descriptor_get_field(desc, (unsigned)(key >> 3));
		switch (key & 7) {
		case WT_VARINT:
			if (!wc_varint(&p, end, &len)) {
				wc_malformed(c, at, path, "truncated varint");
				goto out;
			}
			break;
		case WT_I64:
		case WT_I32:
			len = (key & 7) == WT_I64 ? 8 : 4;
			if ((uint64_t)(end - p) < len) {
				wc_malformed(c, at, path, "truncated fixed-width value");
				goto out;
			}
			p += len;
			break;
		case WT_LEN:
			if (!wc_varint(&p, end, &len) || (uint64_t)(end - p) < len) {
				wc_malformed(c, at, path, "length runs past the end");
				goto out;
			}
			if (f != NULL) {
				size_t i = (size_t)(f - desc->fields);

				wc_path(sub, sizeof(sub), path, f, seen[i]++);
				if (wc_field(c, f, p, (size_t)len, sub, depth) == -1)
					goto out;
			}
			p += len;
			break;
		default:	/* groups (unsupported by protobuf-c), 6, 7 */
			wc_malformed(c, at, path, "unsupported wire type");
			goto out;
		}
		/* a string or message sent with a non-length wire type */
		if (f && (key & 7) != WT_LEN && (f->type == PROTOBUF_C_TYPE_STRING ||
		    f->type == PROTOBUF_C_TYPE_BYTES || f->type == PROTOBUF_C_TYPE_MESSAGE)) {
			wc_path(sub, sizeof(sub), path, f, 0);
			mcp_err_set(c->err, MCP_E_INVALID,
			    "field \"%s\": wire type %u where a length-delimited value "
			    "belongs", sub, (unsigned)(key & 7));
			goto out;
		}
	}
	rc = 0;
out:
	free(seen);
	return rc;
}

int
wire_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
    size_t len, struct mcp_err *err)
{
	struct wcheck c = { data, err };

	if (len == 0)
		return 0;
	return wc_message(&c, desc, data, data + len, "", 0);
}
