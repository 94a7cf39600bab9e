/*
 * test_defs.c: agent_defs, the stored definitions parsed once.  The hash
 * it answers must always be the one a fresh parse of the current text
 * gives: a changed definition (even of the same length, even within the
 * same second, with the same source) is never answered with the old spec
 * hash; an unparseable one gives ""; a pruned service is parsed afresh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "util/hash.h"

#define DEF(img) "name = \"web\"\n[[components]]\nname = \"web\"\nimage = \"" img "\"\n"

/* agent_spec_hash of a fresh parse: what the cache must agree with. */
static void
fresh_hash(const struct reg_service *s, const struct reg_component *rc,
    char *out)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct svc_def *def = NULL;
	size_t k;

	out[0] = '\0';
	if (svc_parse(s->definition, strlen(s->definition), s->source, &def,
	    &err) == -1)
		return;
	for (k = 0; k < def->ncomponents; k++)
		if (strcmp(def->components[k].name, rc->name) == 0)
			agent_spec_hash(def, &def->components[k], rc, out);
	svc_free(def);
}

static void
set_def(struct reg_service *s, const char *text)
{
	free(s->definition);
	s->definition = strdup(text);
}

static void
test_changed_definition(void **state)
{
	struct agent_defs *d = agent_defs_new();
	struct reg_service s;
	struct reg_component rc;
	char h1[HASH_HEX_LEN + 1], h2[HASH_HEX_LEN + 1], want[HASH_HEX_LEN + 1];

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(&rc, 0, sizeof(rc));
	strcpy(s.name, "web");
	strcpy(s.source, "web.toml");
	strcpy(rc.service, "web");
	strcpy(rc.name, "web");
	strcpy(rc.runtime, "container");
	set_def(&s, DEF("r/hello:v1"));
	agent_defs_hash(d, &s, &rc, h1);
	fresh_hash(&s, &rc, want);
	assert_string_equal(h1, want);
	assert_int_equal(strlen(h1), HASH_HEX_LEN);
	/* asked again: the same */
	agent_defs_hash(d, &s, &rc, h2);
	assert_string_equal(h2, h1);
	/* the same length, one byte different: the new hash */
	set_def(&s, DEF("r/hello:v2"));
	agent_defs_hash(d, &s, &rc, h2);
	fresh_hash(&s, &rc, want);
	assert_string_equal(h2, want);
	assert_string_not_equal(h2, h1);
	/* back to the first text: the first hash */
	set_def(&s, DEF("r/hello:v1"));
	agent_defs_hash(d, &s, &rc, h2);
	assert_string_equal(h2, h1);
	/* unparseable: "" (not the last good hash) */
	set_def(&s, "name = \n");
	agent_defs_hash(d, &s, &rc, h2);
	assert_string_equal(h2, "");
	/* a component the definition lacks: "" */
	set_def(&s, DEF("r/hello:v1"));
	strcpy(rc.name, "db");
	agent_defs_hash(d, &s, &rc, h2);
	assert_string_equal(h2, "");
	strcpy(rc.name, "web");
	/* pruned (the service is gone), then back with another text */
	agent_defs_prune(d, NULL, 0);
	set_def(&s, DEF("r/hello:v3"));
	agent_defs_hash(d, &s, &rc, h2);
	fresh_hash(&s, &rc, want);
	assert_string_equal(h2, want);
	free(s.definition);
	agent_defs_free(d);
}

/* Two services: each keeps its own parse; pruning one keeps the other. */
static void
test_two_services(void **state)
{
	struct agent_defs *d = agent_defs_new();
	struct reg_service s[2];
	struct reg_component rc;
	char a[HASH_HEX_LEN + 1], b[HASH_HEX_LEN + 1], want[HASH_HEX_LEN + 1];

	(void)state;
	memset(s, 0, sizeof(s));
	memset(&rc, 0, sizeof(rc));
	strcpy(s[0].name, "one");
	strcpy(s[1].name, "two");
	strcpy(rc.name, "web");
	strcpy(rc.runtime, "container");
	set_def(&s[0], DEF("r/hello:v1"));
	set_def(&s[1], DEF("r/hello:v2"));
	agent_defs_hash(d, &s[0], &rc, a);
	agent_defs_hash(d, &s[1], &rc, b);
	assert_string_not_equal(a, b);
	agent_defs_prune(d, &s[1], 1);
	agent_defs_hash(d, &s[1], &rc, want);
	assert_string_equal(want, b);
	agent_defs_hash(d, &s[0], &rc, want);
	assert_string_equal(want, a);
	free(s[0].definition);
	free(s[1].definition);
	agent_defs_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_changed_definition),
		cmocka_unit_test(test_two_services),
	};

	return cmocka_run_group_tests_name("defs", tests, NULL, NULL);
}
