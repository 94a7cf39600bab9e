/*
 * test_live.c: the live view's cache (agent/live.h): reads of podman's
 * state (full listings, single inspects) land in any order, and what an
 * older read found never replaces what a newer one found.  Each case is a
 * script of reads (kind, sequence number, what they saw) and the listing
 * that must result.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/live.h"
#include "util/buf.h"

/*
 * One read.  list: "name=state name=state ..." ("" an empty listing);
 * one: name and state, or state NULL for "no such container".
 */
struct read {
	char kind;		/* 'L' full listing, 'I' one inspect */
	uint64_t seq;
	const char *what;	/* L: "a=running b=stopped"; I: "a=running" or "a" (gone) */
};

#define MAX_READS 8

static const struct {
	const char *name;
	struct read reads[MAX_READS];
	const char *want;	/* sorted "name=state ..." */
} cases[] = {
	{ "one listing", { { 'L', 1, "a=running b=stopped" } }, "a=running b=stopped" },
	{ "an event after the listing updates it",
	  { { 'L', 1, "a=running" }, { 'I', 2, "a=stopped" } }, "a=stopped" },
	{ "a newer listing replaces everything older",
	  { { 'L', 1, "a=running b=running" }, { 'I', 2, "a=stopped" },
	    { 'L', 3, "b=running c=created" } }, "b=running c=created" },
	{ "an older listing landing late is ignored",
	  { { 'L', 5, "a=running" }, { 'L', 3, "a=stopped b=running" } }, "a=running" },
	{ "an inspect started before the listing does not undo it",
	  { { 'L', 5, "a=running" }, { 'I', 4, "a=stopped" } }, "a=running" },
	{ "an inspect newer than the listing wins over it",
	  { { 'I', 6, "a=stopped" }, { 'L', 5, "a=running" } }, "a=stopped" },
	{ "a removal seen after the listing hides the container",
	  { { 'L', 1, "a=running b=running" }, { 'I', 2, "a" } }, "b=running" },
	{ "a removal newer than a late listing stays",
	  { { 'I', 7, "a" }, { 'L', 6, "a=running b=running" } }, "b=running" },
	{ "an old inspect cannot resurrect what a listing no longer has",
	  { { 'L', 4, "b=running" }, { 'I', 2, "a=running" } }, "b=running" },
	{ "a new container seen by inspect after the listing",
	  { { 'L', 4, "b=running" }, { 'I', 5, "a=created" } }, "a=created b=running" },
	{ "inspects in any order: the newest wins",
	  { { 'L', 1, "" }, { 'I', 3, "a=running" }, { 'I', 2, "a=stopped" } },
	  "a=running" },
	{ "a tombstone is dropped by the next listing, which may bring it back",
	  { { 'L', 1, "a=running" }, { 'I', 2, "a" }, { 'L', 3, "a=created" } },
	  "a=created" },
	{ "nothing read: nothing listed", { { 0, 0, NULL } }, "" },
};

static void
info_of(struct rt_info *info, const char *word)
{
	const char *eq = strchr(word, '=');

	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%.*s", (int)(eq - word), word);
	snprintf(info->state, sizeof(info->state), "%s", eq + 1);
}

static void
apply(struct live_cache *c, const struct read *r)
{
	struct rt_info infos[8], one;
	char words[256], *w, *save = NULL;
	size_t n = 0;

	snprintf(words, sizeof(words), "%s", r->what);
	if (r->kind == 'L') {
		for (w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save))
			info_of(&infos[n++], w);
		live_cache_apply_list(c, infos, n, r->seq);
	} else if (strchr(words, '=') != NULL) {
		info_of(&one, words);
		live_cache_apply_one(c, one.name, &one, r->seq);
	} else {
		live_cache_apply_one(c, words, NULL, r->seq);
	}
}

static int
by_name(const void *x, const void *y)
{
	return strcmp(((const struct rt_info *)x)->name, ((const struct rt_info *)y)->name);
}

static void
test_cache_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct live_cache c = { 0 };
		struct rt_info *out;
		struct buf got = BUF_INIT;
		size_t n, j;

		for (j = 0; j < MAX_READS && cases[i].reads[j].kind; j++)
			apply(&c, &cases[i].reads[j]);
		live_cache_copy(&c, &out, &n);
		if (n)
			qsort(out, n, sizeof(*out), by_name);
		buf_puts(&got, "");
		for (j = 0; j < n; j++)
			buf_printf(&got, "%s%s=%s", j ? " " : "", out[j].name, out[j].state);
		if (strcmp(got.data, cases[i].want) != 0)
			fail_msg("%s: got \"%s\", wanted \"%s\"", cases[i].name, got.data,
			    cases[i].want);
		buf_free(&got);
		free(out);
		live_cache_free(&c);
	}
}

/* A listing keeps everything it was given (other fields too), once per name. */
static void
test_cache_copy_fields(void **state)
{
	struct live_cache c = { 0 };
	struct rt_info in[40], *out;
	size_t n, i;

	(void)state;
	memset(in, 0, sizeof(in));
	for (i = 0; i < 40; i++) {
		snprintf(in[i].name, sizeof(in[i].name), "svc%zu", i % 20);
		snprintf(in[i].image, sizeof(in[i].image), "reg/img:v%zu", i);
		in[i].started_at = (int64_t)i;
	}
	live_cache_apply_list(&c, in, 40, 1);
	live_cache_copy(&c, &out, &n);
	assert_int_equal(n, 20);	/* a name twice: the first */
	for (i = 0; i < 20; i++) {
		assert_string_equal(out[i].image, in[i].image);
		assert_int_equal(out[i].started_at, (int64_t)i);
	}
	free(out);
	live_cache_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_cases),
		cmocka_unit_test(test_cache_copy_fields),
	};

	return cmocka_run_group_tests_name("live", tests, NULL, NULL);
}
