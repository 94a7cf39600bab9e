/*
 * tests/unit/test_wire_check.c: the text check at the RPC edge
 * (lib/wire/wire_check.c).  Real mcp.v1 messages are packed with protobuf-c
 * and then corrupted in place (a marker in a string field becomes a NUL or
 * a bad UTF-8 sequence); hand-made byte strings cover unknown fields of
 * every wire type and malformed encodings.  Each refusal must name the
 * field path and the offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.pb-c.h"
#include "wire/wire_int.h"

struct packed {
	uint8_t *data;
	size_t len;
};

static struct packed
pack(const ProtobufCMessage *m)
{
	struct packed p;

	p.len = protobuf_c_message_get_packed_size(m);
	p.data = malloc(p.len ? p.len : 1);
	assert_non_null(p.data);
	assert_int_equal(protobuf_c_message_pack(m, p.data), p.len);
	return p;
}

/* Overwrite the first occurrence of marker in p with bytes (same length). */
static void
corrupt(struct packed *p, const char *marker, const char *bytes)
{
	size_t n = strlen(marker);

	for (size_t i = 0; i + n <= p->len; i++)
		if (memcmp(p->data + i, marker, n) == 0) {
			memcpy(p->data + i, bytes, n);
			return;
		}
	fail_msg("marker %s not in the packed message", marker);
}

static void
expect_refused(const ProtobufCMessageDescriptor *d, const uint8_t *data,
    size_t len, const char *want)
{
	struct mcp_err err = MCP_ERR_INIT;

	assert_int_equal(wire_check_strings(d, data, len, &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);
	if (strstr(err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
}

static void
expect_ok(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len)
{
	struct mcp_err err = MCP_ERR_INIT;

	if (wire_check_strings(d, data, len, &err) != 0)
		fail_msg("refused: %s", err.msg);
}

/* Pack m, corrupt it at marker, and expect the refusal want. */
static void
refused_with(const ProtobufCMessage *m, const char *marker, const char *bytes,
    const char *want)
{
	struct packed p = pack(m);

	corrupt(&p, marker, bytes);
	expect_refused(m->descriptor, p.data, p.len, want);
	free(p.data);
}

static void
test_top_level_fields(void **state)
{
	Mcp__V1__DeployRequest dq = MCP__V1__DEPLOY_REQUEST__INIT;
	Mcp__V1__ServiceRequest sq = MCP__V1__SERVICE_REQUEST__INIT;
	Mcp__V1__PushFileRequest pq = MCP__V1__PUSH_FILE_REQUEST__INIT;
	Mcp__V1__LogsRequest lq = MCP__V1__LOGS_REQUEST__INIT;
	struct packed p;

	(void)state;
	dq.definition = "name = \"sv\"\nXXXX garbage";
	dq.source = "hello.toml";
	p = pack(&dq.base);
	expect_ok(&mcp__v1__deploy_request__descriptor, p.data, p.len);
	corrupt(&p, "X", "\0");
	expect_refused(&mcp__v1__deploy_request__descriptor, p.data, p.len,
	    "field \"definition\": embedded NUL byte at offset 12");
	/* protobuf-c alone would have handed the handler the prefix */
	{
		Mcp__V1__DeployRequest *u = mcp__v1__deploy_request__unpack(NULL,
		    p.len, p.data);

		assert_non_null(u);
		assert_string_equal(u->definition, "name = \"sv\"\n");
		mcp__v1__deploy_request__free_unpacked(u, NULL);
	}
	free(p.data);

	dq.definition = "ok";
	dq.source = "file.tomlZ";
	p = pack(&dq.base);
	corrupt(&p, "Z", "\n");	/* control characters are UTF-8: fine here */
	expect_ok(&mcp__v1__deploy_request__descriptor, p.data, p.len);
	corrupt(&p, "l\n", "\xc3(");
	expect_refused(&mcp__v1__deploy_request__descriptor, p.data, p.len,
	    "field \"source\": invalid UTF-8 (byte 0xC3) at offset 8");
	free(p.data);

	sq.service = "svcXx";
	sq.component = "web";
	refused_with(&sq.base, "X", "\0",
	    "field \"service\": embedded NUL byte at offset 3");
	sq.service = "svc";
	sq.component = "webX";
	refused_with(&sq.base, "X", "\0",
	    "field \"component\": embedded NUL byte at offset 3");

	/* bytes are not text: a NUL in the content is fine, not in the path */
	pq.service = "svc";
	pq.path = "okX/../../x";
	pq.content.data = (uint8_t *)"\0\xff\xfe binary";
	pq.content.len = 10;
	p = pack(&pq.base);
	expect_ok(&mcp__v1__push_file_request__descriptor, p.data, p.len);
	free(p.data);
	refused_with(&pq.base, "X", "\0",
	    "field \"path\": embedded NUL byte at offset 2");

	lq.service = "svcX";
	lq.tail = 5;
	lq.follow = 1;
	refused_with(&lq.base, "X", "\0",
	    "field \"service\": embedded NUL byte at offset 3");
}

static void
test_nested_and_repeated(void **state)
{
	Mcp__V1__DeployResponse r = MCP__V1__DEPLOY_RESPONSE__INIT;
	Mcp__V1__ServiceStatus ss = MCP__V1__SERVICE_STATUS__INIT;
	Mcp__V1__ComponentStatus c0 = MCP__V1__COMPONENT_STATUS__INIT;
	Mcp__V1__ComponentStatus c1 = MCP__V1__COMPONENT_STATUS__INIT;
	Mcp__V1__RouteStatus rt = MCP__V1__ROUTE_STATUS__INIT;
	Mcp__V1__ComponentStatus *comps[] = { &c0, &c1 };
	Mcp__V1__RouteStatus *routes[] = { &rt };
	char *actions[] = { "one", "two", "thrQQ" };
	struct packed p;

	(void)state;
	c0.name = "web";
	c1.name = "dbYY";
	c1.image = "reg:5000/db:v1";
	rt.name = "http";
	rt.hostname = "a.exampleWW";
	rt.port = 80;
	c1.n_routes = 1;
	c1.routes = routes;
	ss.name = "svc";
	ss.n_components = 2;
	ss.components = comps;
	r.service = &ss;
	r.n_actions = 3;
	r.actions = actions;
	p = pack(&r.base);
	expect_ok(&mcp__v1__deploy_response__descriptor, p.data, p.len);
	free(p.data);
	refused_with(&r.base, "YY", "\0Y",
	    "field \"service.components[1].name\": embedded NUL byte at offset 2");
	refused_with(&r.base, "WW", "\xed\xa0",	/* a surrogate's start, cut short */
	    "field \"service.components[1].routes[0].hostname\": invalid UTF-8 "
	    "(byte 0xED) at offset 9");
	refused_with(&r.base, "QQ", "\xc0\x80",	/* overlong NUL */
	    "field \"actions[2]\": invalid UTF-8 (byte 0xC0) at offset 3");
}

static void
test_utf8_table(void **state)
{
	static const struct {
		const char *s;
		size_t n;
		size_t bad;	/* == n: valid */
		int nul;
	} rows[] = {
		{ "", 0, 0, 0 },
		{ "plain ascii\t\n", 13, 13, 0 },
		{ "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, 9, 0 },	/* é € 😀 */
		{ "\xc2\x80", 2, 2, 0 },		/* U+0080 */
		{ "\xed\x9f\xbf", 3, 3, 0 },		/* U+D7FF */
		{ "\xee\x80\x80", 3, 3, 0 },		/* U+E000 */
		{ "\xf4\x8f\xbf\xbf", 4, 4, 0 },	/* U+10FFFF */
		{ "a\0b", 3, 1, 1 },
		{ "\xc0\x80", 2, 0, 0 },		/* overlong NUL */
		{ "\xc1\xbf", 2, 0, 0 },		/* overlong */
		{ "\xe0\x80\x80", 3, 0, 0 },		/* overlong */
		{ "\xe0\x9f\xbf", 3, 0, 0 },		/* overlong U+07FF */
		{ "\xf0\x80\x80\x80", 4, 0, 0 },	/* overlong */
		{ "\xf0\x8f\xbf\xbf", 4, 0, 0 },	/* overlong U+FFFF */
		{ "x\xed\xa0\x80", 4, 1, 0 },		/* U+D800 */
		{ "\xed\xbf\xbf", 3, 0, 0 },		/* U+DFFF */
		{ "\xf4\x90\x80\x80", 4, 0, 0 },	/* U+110000 */
		{ "\xf5\x80\x80\x80", 4, 0, 0 },
		{ "\xff", 1, 0, 0 },
		{ "ab\x80", 3, 2, 0 },			/* lone continuation */
		{ "\xe2\x82", 2, 0, 0 },		/* cut short */
		{ "\xe2\x28\xa1", 3, 0, 0 },		/* bad continuation */
		{ "ok\xf0\x9f\x98", 5, 2, 0 },
		/* longer than the eight-byte ASCII fast path */
		{ "abcdefg\0ijk", 11, 7, 1 },
		{ "abcdefgh\0", 9, 8, 1 },
		{ "abcdefghijklmnop\0q", 18, 16, 1 },
		{ "abcdefgh\xc3\xa9ijklmnopqrstu", 23, 23, 0 },
		{ "0123456789abcdef0123\xff", 21, 20, 0 },
		{ "0123456789abcdef\x7f\x01", 18, 18, 0 },
		{ "01234567\xe2\x82\xac" "89abcdefgh\xed\xa0\x80", 24, 21, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int nul = -1;
		size_t bad = wire_utf8_bad((const uint8_t *)rows[i].s, rows[i].n, &nul);

		if (bad != rows[i].bad || nul != rows[i].nul)
			fail_msg("row %zu: bad %zu nul %d, want %zu %d", i, bad, nul,
			    rows[i].bad, rows[i].nul);
	}
}

/* Raw bytes: field keys are (number << 3 | wire type). */
#define B(s) (const uint8_t *)(s), sizeof(s) - 1

static void
test_unknown_fields_skipped(void **state)
{
	const ProtobufCMessageDescriptor *d = &mcp__v1__service_request__descriptor;

	(void)state;
	expect_ok(d, NULL, 0);
	/* service = "svc", then unknown field 99 in each wire type, whose
	 * contents would be refused if they were taken for text */
	expect_ok(d, B("\x0a\x03svc"
	    "\x98\x06\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"	/* 99 varint, 10 bytes */
	    "\x99\x06\0\0\0\0\0\0\0\0"				/* 99 fixed64 */
	    "\x9a\x06\x03\0\xff\0"				/* 99 length-delimited */
	    "\x9d\x06\0\xc0\0\0"				/* 99 fixed32 */
	    "\x12\x03web"));
	/* the known field after the unknown ones is still checked */
	expect_refused(d, B("\x9a\x06\x01\0" "\x12\x03w\0b"),
	    "field \"component\": embedded NUL byte at offset 1");
	/* a field of a scalar type in a known slot is no text */
	expect_ok(&mcp__v1__logs_request__descriptor, B("\x18\x05\x20\x01"));
}

static void
test_malformed(void **state)
{
	const ProtobufCMessageDescriptor *d = &mcp__v1__service_request__descriptor;

	(void)state;
	expect_refused(d, B("\x0a\x03svc\x80"), "byte 5: truncated field key");
	expect_refused(d, B("\x0a\x05svc"), "byte 0: length runs past the end");
	expect_refused(d, B("\x98\x06\x80\x80"), "truncated varint");
	expect_refused(d, B("\x98\x06\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"),
	    "truncated varint");			/* 11 bytes */
	expect_refused(d, B("\x99\x06\0\0\0"), "truncated fixed-width value");
	expect_refused(d, B("\x9d\x06\0"), "truncated fixed-width value");
	expect_refused(d, B("\x9b\x06"), "unsupported wire type");	/* group */
	expect_refused(d, B("\x9e\x06"), "unsupported wire type");	/* 6 */
	expect_refused(d, B("\x02\x00"), "invalid field number");	/* field 0 */
	/* a string field sent as a varint */
	expect_refused(d, B("\x08\x01"), "field \"service\": wire type 0");
	/* a length inside a nested message that runs past the message */
	expect_refused(&mcp__v1__deploy_response__descriptor,
	    B("\x0a\x04\x0a\x09svc"), "(in \"service\"): length runs past the end");
}

/* wire_decode: the size limit, then the text check, then unpacking. */
static void
test_decode(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	size_t big = WIRE_MAX_MESSAGE + WIRE_ENVELOPE + 1;
	grpc_slice sl;
	grpc_byte_buffer *bb;
	ProtobufCMessage *m;

	(void)state;
	wire_grpc_ref();
	sl = grpc_slice_malloc(big);
	memset(GRPC_SLICE_START_PTR(sl), 0, big);
	bb = grpc_raw_byte_buffer_create(&sl, 1);
	grpc_slice_unref(sl);
	assert_null(wire_decode(&mcp__v1__push_file_request__descriptor, bb,
	    "PushFile", &err));
	grpc_byte_buffer_destroy(bb);
	assert_int_equal(err.code, MCP_E_RESOURCE);
	assert_string_equal(err.msg, "PushFile: message of 68157441 bytes is "
	    "larger than the limit of 68157440 bytes (64 MiB of content + 1 MiB)");

	sl = grpc_slice_from_static_buffer("\x0a\x02\x61\x00", 4);
	bb = grpc_raw_byte_buffer_create(&sl, 1);
	assert_null(wire_decode(&mcp__v1__service_request__descriptor, bb,
	    "Stop", &err));
	assert_string_equal(err.msg,
	    "Stop: field \"service\": embedded NUL byte at offset 1");
	grpc_byte_buffer_destroy(bb);

	sl = grpc_slice_from_static_buffer("\x0a\x02\x61\x62", 4);
	bb = grpc_raw_byte_buffer_create(&sl, 1);
	m = wire_decode(&mcp__v1__service_request__descriptor, bb, "Stop", &err);
	assert_non_null(m);
	assert_string_equal(((Mcp__V1__ServiceRequest *)m)->service, "ab");
	protobuf_c_message_free_unpacked(m, NULL);
	grpc_byte_buffer_destroy(bb);
	wire_grpc_unref();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top_level_fields),
		cmocka_unit_test(test_nested_and_repeated),
		cmocka_unit_test(test_utf8_table),
		cmocka_unit_test(test_unknown_fields_skipped),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
