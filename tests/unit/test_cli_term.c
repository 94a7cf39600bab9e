/*
 * test_cli_term.c: fitting mcp ps / status into the terminal (cli/term.c):
 * display widths of UTF-8 text, cutting a value with "…", and the column
 * widths a table gets for a width (the widest shrinkable column gives
 * first, never below its minimum, overflow when all are at it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/buf.h"

static void
test_text_width(void **state)
{
	(void)state;
	assert_int_equal(cli_text_width(""), 0);
	assert_int_equal(cli_text_width("hello"), 5);
	assert_int_equal(cli_text_width("h\xc3\xa9llo"), 5);		/* é */
	assert_int_equal(cli_text_width("ab\xe2\x80\xa6"), 3);		/* … */
}

static void
fit(const char *s, size_t w, int pad, const char *want)
{
	struct buf b = BUF_INIT;

	cli_fit(&b, s, w, pad);
	if (strcmp(b.data ? b.data : "", want) != 0)
		fail_msg("cli_fit(\"%s\", %zu, %d) = \"%s\", want \"%s\"", s, w, pad,
		    b.data ? b.data : "", want);
	buf_free(&b);
}

static void
test_fit(void **state)
{
	(void)state;
	fit("hello", 10, 0, "hello");
	fit("hello", 8, 1, "hello   ");
	fit("hello", 5, 1, "hello");
	fit("hello-world", 6, 1, "hello\xe2\x80\xa6");
	fit("hello-world", 1, 0, "\xe2\x80\xa6");
	fit("hello", 0, 0, "");
	/* multibyte text is cut at code points, never inside one */
	fit("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 3, 0, "\xc3\xa9\xc3\xa9\xe2\x80\xa6");
}

static void
test_widths(void **state)
{
	size_t out[4];
	const size_t nat[] = { 30, 20, 9, 40 }, minw[] = { 8, 8, 9, 5 };

	(void)state;
	/* fits: unchanged (30+20+9+40 + 3 blanks = 102) */
	cli_table_widths(nat, minw, 4, 120, out);
	assert_int_equal(out[0], 30);
	assert_int_equal(out[3], 40);
	/* 80: 22 columns come off the widest first: 40 -> 30, then 30/30 in turn */
	cli_table_widths(nat, minw, 4, 80, out);
	assert_int_equal(out[0] + out[1] + out[2] + out[3] + 3, 80);
	assert_int_equal(out[2], 9);		/* at its minimum: untouched */
	assert_int_equal(out[1], 20);
	assert_true(out[0] == 24 && out[3] == 24);
	/* too narrow for the minimums: everything at its minimum, overflowing */
	cli_table_widths(nat, minw, 4, 20, out);
	assert_int_equal(out[0], 8);
	assert_int_equal(out[1], 8);
	assert_int_equal(out[2], 9);
	assert_int_equal(out[3], 5);
}

static void
test_table_print(void **state)
{
	static const char *const head[] = { "SERVICE", "STATE" };
	const char *row[] = { "a-very-long-service-name-indeed", "running" };
	const size_t minw[] = { 4, 7 };
	struct cli_table *t = cli_table_new(2, head, minw);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	cli_table_add(t, row);
	cli_table_print(t, f, 20, 0);
	cli_table_print(t, f, 20, 1);
	fclose(f);
	assert_string_equal(text,
	    "SERVICE      STATE\n"
	    "a-very-long\xe2\x80\xa6 running\n"
	    "SERVICE                         STATE\n"
	    "a-very-long-service-name-indeed running\n");
	free(text);
	cli_table_free(t);
}

static void
esc(const char *s, size_t len, const char *want)
{
	struct buf b = BUF_INIT;

	cli_escape(&b, s, len);
	if (strcmp(b.data ? b.data : "", want) != 0)
		fail_msg("cli_escape(%zu bytes) = \"%s\", want \"%s\"", len,
		    b.data ? b.data : "", want);
	buf_free(&b);
}
#define ESC(lit, want) esc(lit, sizeof(lit) - 1, want)

/* Control characters from a peer are written visibly, text is kept. */
static void
test_escape(void **state)
{
	(void)state;
	ESC("", "");
	ESC("plain text: 1/2 ~ \\", "plain text: 1/2 ~ \\\\");
	ESC("h\xc3\xa9llo \xe2\x80\xa6 \xf0\x9f\x98\x80", "h\xc3\xa9llo \xe2\x80\xa6 \xf0\x9f\x98\x80");
	/* a colour, a window title, a cursor move, a line erase */
	ESC("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m");
	ESC("\x1b]0;owned\x07", "\\x1b]0;owned\\x07");
	ESC("ok\rFAIL\x1b[2K\b", "ok\\rFAIL\\x1b[2K\\x08");
	ESC("a\nb\tc\x7f", "a\\nb\\tc\\x7f");
	ESC("nul\0after", "nul\\x00after");
	/* C1 CSI as UTF-8 (U+009B) and as a lone byte; broken UTF-8 */
	ESC("\xc2\x9b" "31m", "\\u009b31m");
	ESC("\x9b" "31m", "\\x9b31m");
	ESC("\xc3", "\\xc3");
	ESC("\xe2\x80", "\\xe2\\x80");
	ESC("\xc0\xaf", "\\xc0\\xaf");		/* overlong "/" */
	ESC("\xed\xa0\x80", "\\xed\\xa0\\x80");	/* a surrogate */
	ESC("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");	/* past U+10FFFF */
}

/* A table cell and a cli_printf line: escaped, the final newline kept. */
static void
test_escape_outputs(void **state)
{
	const char *head[] = { "NAME", "STATE" };
	const char *row[] = { "web\x1b[2J", "up" };
	struct cli_table *t = cli_table_new(2, head, NULL);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	cli_table_add(t, row);
	cli_table_print(t, f, 80, 0);
	cli_printf(f, "mcp deploy: %s\n", "agent says \x1b]0;x\x07\nfake line");
	cli_printf(f, "no newline %s", "\r");
	fclose(f);
	assert_string_equal(text,
	    "NAME       STATE\n"
	    "web\\x1b[2J up\n"
	    "mcp deploy: agent says \\x1b]0;x\\x07\\nfake line\n"
	    "no newline \\r");
	free(text);
	cli_table_free(t);
}

/* --json: text that is not UTF-8 is kept, escaped, not dropped. */
static void
test_json_str(void **state)
{
	json_t *j;

	(void)state;
	j = cli_json_str("h\xc3\xa9llo");
	assert_string_equal(json_string_value(j), "h\xc3\xa9llo");
	json_decref(j);
	j = cli_json_str("bad \xff byte");
	assert_non_null(j);
	assert_string_equal(json_string_value(j), "bad \\xff byte");
	json_decref(j);
	j = cli_json_str(NULL);
	assert_string_equal(json_string_value(j), "");
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_width),
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_widths),
		cmocka_unit_test(test_table_print),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_outputs),
		cmocka_unit_test(test_json_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
