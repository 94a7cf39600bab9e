/*
 * agent/compare.c: the truth about one component, as a pure function.
 *
 * What a component runs is read from the instance itself (its image, the
 * spec hash recorded on it at run, its identity: container ID or VM
 * instance id), never from the registry row, which a redeploy rewrites
 * before the instance is replaced.  agent_compare() sets that against the
 * desired state (the registry's desired state and image, the hash of the
 * spec its stored definition asks for, the identity the agent recorded
 * when it created the instance) and says what is observed, whether that
 * is drift, and why, in words an operator can act on:
 *
 *   missing, desired running v2
 *   running v1 (spec 1a2b3c4d5e6f), desired v2 (spec 0f9e8d7c6b5a)
 *   foreign instance 3c2b1a0f9e8d, not the one this agent created (9a8b7c6d5e4f)
 *
 * view.c gathers the inputs; the monitor and the status RPCs report the
 * result.  Table-tested in tests/unit/test_compare.c.
 */
#include "agent/agent.h"

#include <stdio.h>
#include <string.h>

#define SHORT_ID 12

/* Registry prefixes podman adds to a reference it was given without one. */
static const char *const implied_prefixes[] = {
	"localhost/", "docker.io/library/", "docker.io/", NULL,
};

int
agent_image_same(const char *a, const char *b)
{
	size_t i, n;

	if (strcmp(a, b) == 0)
		return 1;
	for (i = 0; implied_prefixes[i]; i++) {
		n = strlen(implied_prefixes[i]);
		if (strncmp(a, implied_prefixes[i], n) == 0 && strcmp(a + n, b) == 0)
			return 1;
		if (strncmp(b, implied_prefixes[i], n) == 0 && strcmp(b + n, a) == 0)
			return 1;
	}
	return 0;
}

/* The tag of image, or the whole reference when the tags alone would not
 * tell the two apart. */
static const char *
image_label(const char *image, const char *other)
{
	const char *tag = svc_image_tag(image);

	if (tag[0] == '\0' || (strcmp(tag, svc_image_tag(other)) == 0 &&
	    !agent_image_same(image, other)))
		return image;
	return tag;
}

/* The first SHORT_ID characters of a hash or id, or what to say instead. */
static void
short_id(char *out, size_t outsz, const char *id, const char *none)
{
	if (id == NULL || id[0] == '\0')
		snprintf(out, outsz, "%s", none);
	else
		snprintf(out, outsz, "%.*s", SHORT_ID, id);
}

void
agent_compare(const struct reg_component *rc, const char *desired_spec,
    int observed_ok, const struct rt_info *info, struct agent_compare *out)
{
	int want_running = strcmp(rc->desired, "running") == 0;
	const char *want = image_label(rc->image, info ? info->image : "");
	char a[24], b[24];

	memset(out, 0, sizeof(*out));
	if (!observed_ok) {
		snprintf(out->observed, sizeof(out->observed), "unknown");
		return;
	}
	if (info == NULL) {
		snprintf(out->observed, sizeof(out->observed), "missing");
		if (want_running) {
			out->drift = 1;
			snprintf(out->reason, sizeof(out->reason),
			    "missing, desired running %s", want);
		}
		return;
	}
	snprintf(out->observed, sizeof(out->observed), "%s", info->state);
	/* an instance this agent did not create is never taken for its own */
	if (strcmp(info->id, rc->instance_id) != 0) {
		short_id(a, sizeof(a), info->id, "(no id)");
		short_id(b, sizeof(b), rc->instance_id, "none recorded");
		out->drift = 1;
		snprintf(out->reason, sizeof(out->reason),
		    "foreign instance %s, not the one this agent created (%s)", a, b);
		return;
	}
	if (!want_running) {
		if (strcmp(info->state, "running") == 0) {
			out->drift = 1;
			snprintf(out->reason, sizeof(out->reason),
			    "running %s, desired stopped",
			    image_label(info->image, rc->image));
		}
		return;
	}
	if (strcmp(info->state, "running") != 0) {
		out->drift = 1;
		if (strcmp(info->state, "stopped") == 0 && info->exit_code != 0)
			snprintf(out->reason, sizeof(out->reason),
			    "stopped (exit status %d), desired running %s",
			    info->exit_code, want);
		else
			snprintf(out->reason, sizeof(out->reason),
			    "%s, desired running %s", info->state, want);
		return;
	}
	if (!agent_image_same(info->image, rc->image) ||
	    (desired_spec && desired_spec[0] &&
	    strcmp(info->spec_hash, desired_spec) != 0)) {
		short_id(a, sizeof(a), info->spec_hash, "none recorded");
		short_id(b, sizeof(b), desired_spec, "unknown");
		out->drift = 1;
		snprintf(out->reason, sizeof(out->reason),
		    "running %s (spec %s), desired %s (spec %s)",
		    image_label(info->image, rc->image), a, want, b);
	}
}
