/*
 * tests/unit/test_master_attest.c: master_attest_flag (master/attest.c):
 * unikernel components whose image reference boots another OCI image on
 * another node are flagged on both sides; equal images with different
 * attested hashes (per-instance settings) and containers are not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "master/ops.h"
#include "util/buf.h"
#include "wire/wire.h"

static Mcp__V1__ComponentStatus *
comp(const char *name, const char *runtime, const char *image, const char *id,
    const char *hash)
{
	Mcp__V1__ComponentStatus *cs = (Mcp__V1__ComponentStatus *)wire_msg_new(
	    &mcp__v1__component_status__descriptor);

	cs->name = xstrdup(name);
	cs->runtime = xstrdup(runtime);
	cs->image = xstrdup(image);
	cs->image_id = xstrdup(id);
	cs->image_hash = xstrdup(hash);
	return cs;
}

static void
add(Mcp__V1__MasterStatusResponse *st, const char *svc, const char *node,
    Mcp__V1__ComponentStatus *cs)
{
	Mcp__V1__FleetService *f = (Mcp__V1__FleetService *)wire_msg_new(
	    &mcp__v1__fleet_service__descriptor);
	Mcp__V1__ServiceStatus *s = (Mcp__V1__ServiceStatus *)wire_msg_new(
	    &mcp__v1__service_status__descriptor);

	f->name = xstrdup(svc);
	f->node = xstrdup(node);
	f->state = xstrdup("ok");
	s->name = xstrdup(svc);
	s->components = xcalloc(1, sizeof(*s->components));
	s->components[s->n_components++] = cs;
	f->status = s;
	st->services = realloc(st->services, (st->n_services + 1) * sizeof(*st->services));
	st->services[st->n_services++] = f;
}

static void
test_flag(void **state)
{
	Mcp__V1__MasterStatusResponse *st = (Mcp__V1__MasterStatusResponse *)wire_msg_new(
	    &mcp__v1__master_status_response__descriptor);

	(void)state;
	/* same reference, same image, different hashes (own addresses): fine */
	add(st, "a", "n1", comp("a", "unikernel", "reg/app:v1", "sha256:aaa", "sha256:h1"));
	add(st, "b", "n2", comp("b", "unikernel", "reg/app:v1", "sha256:aaa", "sha256:h2"));
	/* the tag names another image on n3 */
	add(st, "c", "n3", comp("c", "unikernel", "reg/app:v1", "sha256:bbb", "sha256:h3"));
	/* containers and unknown image IDs are not compared */
	add(st, "d", "n4", comp("d", "container", "reg/app:v1", "sha256:ccc", ""));
	add(st, "e", "n5", comp("e", "unikernel", "reg/app:v1", "", "sha256:h5"));
	/* another reference */
	add(st, "f", "n1", comp("f", "unikernel", "reg/other:v1", "sha256:ddd", "sha256:h6"));
	master_attest_flag(st);
	assert_int_equal(st->services[0]->n_attestation_mismatch, 1);
	assert_string_equal(st->services[0]->attestation_mismatch[0],
	    "a: image reg/app:v1 boots sha256:aaa here (attested sha256:h1) but "
	    "sha256:bbb on node n3 (service c, attested sha256:h3)");
	assert_int_equal(st->services[1]->n_attestation_mismatch, 1);
	assert_int_equal(st->services[2]->n_attestation_mismatch, 2);	/* vs a and b */
	assert_non_null(strstr(st->services[2]->attestation_mismatch[0], "on node n1"));
	assert_non_null(strstr(st->services[2]->attestation_mismatch[1], "on node n2"));
	assert_int_equal(st->services[3]->n_attestation_mismatch, 0);
	assert_int_equal(st->services[4]->n_attestation_mismatch, 0);
	assert_int_equal(st->services[5]->n_attestation_mismatch, 0);
	protobuf_c_message_free_unpacked(&st->base, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
