/*
 * test_compare.c: agent_compare, the truth about one component, as a
 * table: registry row (desired state, image, recorded identity) + desired
 * spec hash + the instance's own record in, observed state, drift and the
 * reason out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "agent/agent.h"

#define V1 "127.0.0.1:5000/hello:v1.0.0"
#define V2 "127.0.0.1:5000/hello:v2.0.0"
#define H1 "1111111111111111aaaa"
#define H2 "2222222222222222bbbb"
#define ID "c0ffee0123456789abcdef"
#define IMPOSTOR "badbadbad0123456789"

struct row {
	const char *what;
	/* desired */
	const char *desired, *image, *recorded_id, *want_spec;
	/* observed: state NULL = no instance; observed_ok 0 = runtimes silent */
	int observed_ok;
	const char *state, *obs_image, *obs_id, *obs_spec;
	int exit_code;
	/* expected */
	const char *observed;
	int drift;
	const char *reason;	/* substring; "" = no reason */
};

static const struct row rows[] = {
	{ "running as desired", "running", V1, ID, H1,
	    1, "running", V1, ID, H1, 0, "running", 0, "" },
	{ "runtimes did not answer", "running", V1, ID, H1,
	    0, NULL, NULL, NULL, NULL, 0, "unknown", 0, "" },
	{ "missing, desired running", "running", V2, ID, H2,
	    1, NULL, NULL, NULL, NULL, 0, "missing", 1, "missing, desired running v2.0.0" },
	{ "missing, desired stopped", "stopped", V1, ID, H1,
	    1, NULL, NULL, NULL, NULL, 0, "missing", 0, "" },
	/* the agent died after recording v2, before replacing v1 */
	{ "old version still running", "running", V2, ID, H2,
	    1, "running", V1, ID, H1, 0, "running", 1,
	    "running v1.0.0 (spec 111111111111), desired v2.0.0 (spec 222222222222)" },
	{ "same image, other spec (env changed)", "running", V1, ID, H2,
	    1, "running", V1, ID, H1, 0, "running", 1,
	    "running v1.0.0 (spec 111111111111), desired v1.0.0 (spec 222222222222)" },
	{ "no spec recorded on the instance", "running", V1, ID, H1,
	    1, "running", V1, ID, "", 0, "running", 1, "(spec none recorded)" },
	{ "desired spec unknown: image decides", "running", V1, ID, "",
	    1, "running", V1, ID, H2, 0, "running", 0, "" },
	{ "desired spec unknown, other image", "running", V2, ID, "",
	    1, "running", V1, ID, H1, 0, "running", 1, "running v1.0.0" },
	{ "podman's implied localhost/ prefix", "running", "hello:v1", ID, H1,
	    1, "running", "localhost/hello:v1", ID, H1, 0, "running", 0, "" },
	{ "same tag, other repository", "running", "r1/hello:v1", ID, "",
	    1, "running", "r2/hello:v1", ID, H1, 0, "running", 1,
	    "running r2/hello:v1 (spec 111111111111), desired r1/hello:v1" },
	{ "impostor with copied labels and spec", "running", V1, ID, H1,
	    1, "running", V2, IMPOSTOR, H1, 0, "running", 1,
	    "foreign instance badbadbad012, not the one this agent created (c0ffee012345)" },
	{ "instance but none recorded", "running", V1, "", H1,
	    1, "running", V1, ID, H1, 0, "running", 1,
	    "foreign instance c0ffee012345, not the one this agent created (none recorded)" },
	{ "foreign and stopped, desired stopped", "stopped", V1, ID, H1,
	    1, "stopped", V1, IMPOSTOR, H1, 0, "stopped", 1, "foreign instance" },
	{ "stopped as desired, old spec", "stopped", V2, ID, H2,
	    1, "stopped", V1, ID, H1, 0, "stopped", 0, "" },
	{ "running, desired stopped", "stopped", V1, ID, H1,
	    1, "running", V1, ID, H1, 0, "running", 1, "running v1.0.0, desired stopped" },
	{ "exited, desired running", "running", V1, ID, H1,
	    1, "stopped", V1, ID, H1, 137, "stopped", 1,
	    "stopped (exit status 137), desired running v1.0.0" },
	{ "created, desired running", "running", V1, ID, H1,
	    1, "created", V1, ID, H1, 0, "created", 1, "created, desired running v1.0.0" },
};

static void
test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct reg_component rc;
		struct rt_info info;
		struct agent_compare out;

		memset(&rc, 0, sizeof(rc));
		snprintf(rc.desired, sizeof(rc.desired), "%s", r->desired);
		snprintf(rc.image, sizeof(rc.image), "%s", r->image);
		snprintf(rc.instance_id, sizeof(rc.instance_id), "%s", r->recorded_id);
		memset(&info, 0, sizeof(info));
		if (r->state) {
			snprintf(info.state, sizeof(info.state), "%s", r->state);
			snprintf(info.image, sizeof(info.image), "%s", r->obs_image);
			snprintf(info.id, sizeof(info.id), "%s", r->obs_id);
			snprintf(info.spec_hash, sizeof(info.spec_hash), "%s", r->obs_spec);
			info.exit_code = r->exit_code;
		}
		agent_compare(&rc, r->want_spec, r->observed_ok, r->state ? &info : NULL,
		    &out);
		print_message("    %-40s %s%s %s\n", r->what, out.observed,
		    out.drift ? "!" : "", out.reason);
		if (strcmp(out.observed, r->observed) != 0 || out.drift != r->drift ||
		    (r->reason[0] == '\0' ? out.reason[0] != '\0' :
		    strstr(out.reason, r->reason) == NULL))
			fail_msg("%s: got %s drift %d \"%s\", want %s drift %d \"%s\"",
			    r->what, out.observed, out.drift, out.reason, r->observed,
			    r->drift, r->reason);
	}
}

static void
test_image_same(void **state)
{
	(void)state;
	assert_true(agent_image_same("a/b:v1", "a/b:v1"));
	assert_true(agent_image_same("hello:v1", "localhost/hello:v1"));
	assert_true(agent_image_same("docker.io/library/nginx:1", "nginx:1"));
	assert_false(agent_image_same("a/b:v1", "a/b:v2"));
	assert_false(agent_image_same("localhost/x:v1", "localhost/y:v1"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_image_same),
	};

	return cmocka_run_group_tests_name("compare", tests, NULL, NULL);
}
