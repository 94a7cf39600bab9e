/*
 * test_log.c: what reaches the log and the registry as text.  The one
 * escaping function (util/escape.h) on a table of inputs (controls, DEL,
 * C1, backslash, valid and invalid UTF-8, NUL inside the length); the log
 * layer writes exactly one line per call whatever the message holds; the
 * errno text (mcp_strerror) is always filled, also where glibc's GNU
 * strerror_r returns a static string and leaves the buffer alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/escape.h"
#include "util/file.h"
#include "util/log.h"

static void
test_escape_table(void **state)
{
	static const struct {
		const char *in;
		size_t len;	/* 0: strlen(in) */
		const char *out;
	} cases[] = {
		{ "", 0, "" },
		{ "plain text: /srv/hello v1.2", 0, "plain text: /srv/hello v1.2" },
		{ "a\nb", 0, "a\\nb" },
		{ "x\r\n2026-12-02T00:00:00.000Z mcp-agent warn: ALERT", 0,
		  "x\\r\\n2026-12-02T00:00:00.000Z mcp-agent warn: ALERT" },
		{ "tab\there", 0, "tab\\there" },
		{ "\x1b[31mred\x1b[0m", 0, "\\x1b[31mred\\x1b[0m" },
		{ "bell\a bs\b", 0, "bell\\x07 bs\\x08" },
		{ "del\x7f", 0, "del\\x7f" },
		{ "back\\slash", 0, "back\\\\slash" },
		{ "nul\0after", 9, "nul\\x00after" },
		/* valid UTF-8 stays as it is */
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80", 0,
		  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80" },
		/* C1 controls (CSI U+009B, NEL U+0085) */
		{ "\xc2\x9b" "2J \xc2\x85", 0, "\\u009b2J \\u0085" },
		/* invalid: lone continuation, truncated, overlong, surrogate,
		 * above U+10FFFF, 0xff */
		{ "\x80", 0, "\\x80" },
		{ "\xe2\x82", 0, "\\xe2\\x82" },
		{ "\xc0\xaf", 0, "\\xc0\\xaf" },
		{ "\xed\xa0\x80", 0, "\\xed\\xa0\\x80" },
		{ "\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80" },
		{ "a\xff" "b", 0, "a\\xffb" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);

		assert_int_equal(mcp_escape_append(&b, cases[i].in, len), 0);
		assert_non_null(b.data);
		if (strcmp(b.data, cases[i].out) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, b.data,
			    cases[i].out);
		assert_int_equal(b.len, strlen(cases[i].out));
		buf_free(&b);
	}
}

static void
test_escape_dup(void **state)
{
	char *s;

	(void)state;
	s = mcp_escape_dup(NULL);
	assert_string_equal(s, "");
	free(s);
	s = mcp_escape_dup("one\ntwo");
	assert_string_equal(s, "one\\ntwo");
	free(s);
}

static void
test_strerror(void **state)
{
	char buf[MCP_STRERROR_MAX], tiny[8];

	(void)state;
	memset(buf, 'X', sizeof(buf));
	assert_ptr_equal(mcp_strerror(ENOENT, buf, sizeof(buf)), buf);
	assert_string_equal(buf, "No such file or directory");
	memset(buf, 'X', sizeof(buf));
	mcp_strerror(EACCES, buf, sizeof(buf));
	assert_string_equal(buf, "Permission denied");
	mcp_strerror(123456, buf, sizeof(buf));
	assert_non_null(strstr(buf, "123456"));
	mcp_strerror(ENOENT, tiny, sizeof(tiny));	/* truncated, terminated */
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
}

/* Run fn with stderr sent to a file; return what it wrote. */
static char *
capture_stderr(void (*fn)(void))
{
	char path[] = "/tmp/mcp-test-log.XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	struct buf out = BUF_INIT;
	struct mcp_err err = MCP_ERR_INIT;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	if (file_read(path, &out, 1 << 20, &err) == -1)
		fail_msg("%s", err.msg);
	unlink(path);
	return buf_steal(&out);
}

static void
log_forgery(void)
{
	const char *source = "x.toml\n2026-12-02T03:00:00.000Z mcp-agent warn: ALERT "
	    "intrusion\r\x1b[2K";

	log_info("Deploy from %s (%s)", "operator", source);
	errno = EACCES;
	log_warn("open %s", "a\nb");
	/* longer than the formatter's stack buffer */
	log_warnx("%0600d\n%s", 7, "tail");
}

static void
test_log_one_line(void **state)
{
	char *text;
	const char *p;
	int lines = 0;

	(void)state;
	log_init("test_log", 0);
	text = capture_stderr(log_forgery);
	for (p = text; *p; p++) {
		if (*p == '\n')
			lines++;
		assert_true((unsigned char)*p >= 0x20 || *p == '\n');
	}
	assert_int_equal(lines, 3);
	assert_non_null(strstr(text, " test_log info: Deploy from operator (x.toml\\n"
	    "2026-12-02T03:00:00.000Z mcp-agent warn: ALERT intrusion\\r\\x1b[2K)\n"));
	assert_non_null(strstr(text, " test_log warn: open a\\nb: Permission denied\n"));
	assert_non_null(strstr(text, "0007\\ntail\n"));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_escape_dup),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_log_one_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
