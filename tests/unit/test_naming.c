/*
 * tests/unit/test_naming.c: the names derived from service definitions
 * (SPEC §3, lib/service/naming.c): valid service names, the container / VM
 * name of (service, component), the $PORT variables, image tags.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "service/service.h"

static void
test_name_valid(void **state __attribute__((unused)))
{
	static const char *good[] = {
		"a", "0", "hello", "hello-world", "0abc", "a1-b2-c3", "a-",
		"a23456789012345678901234567890123456789012345678901234567890123",
		NULL
	};
	static const char *bad[] = {
		"", "-a", "Hello", "a_b", "a.b", "a/b", "..", ".", "a b", "a\n",
		"h\xc3\xa9llo", "a:b",
		"a234567890123456789012345678901234567890123456789012345678901234",
		NULL
	};
	size_t i;

	for (i = 0; good[i]; i++)
		if (!svc_name_valid(good[i]))
			fail_msg("\"%s\" refused", good[i]);
	for (i = 0; bad[i]; i++)
		if (svc_name_valid(bad[i]))
			fail_msg("\"%s\" accepted", bad[i]);
	assert_false(svc_name_valid(NULL));
	assert_int_equal(strlen(good[7]), SVC_NAME_MAX);
}

static void
test_instance_name(void **state __attribute__((unused)))
{
	char out[SVC_INSTANCE_MAX], *r;
	char svc[SVC_NAME_MAX + 1], comp[SVC_NAME_MAX + 1];

	/* component == service: the service name alone */
	r = svc_instance_name(out, sizeof(out), "hello", "hello");
	assert_ptr_equal(r, out);
	assert_string_equal(out, "hello");

	assert_string_equal(svc_instance_name(out, sizeof(out), "hello", "db"),
	    "hello-db");
	assert_string_equal(svc_instance_name(out, sizeof(out), "hello",
	    "hello-db"), "hello-hello-db");
	assert_string_equal(svc_instance_name(out, sizeof(out), "a", "b"), "a-b");
	/* no component: the service */
	assert_string_equal(svc_instance_name(out, sizeof(out), "hello", ""),
	    "hello");

	/* the longest names still fit SVC_INSTANCE_MAX */
	memset(svc, 's', SVC_NAME_MAX);
	svc[SVC_NAME_MAX] = '\0';
	memset(comp, 'c', SVC_NAME_MAX);
	comp[SVC_NAME_MAX] = '\0';
	svc_instance_name(out, sizeof(out), svc, comp);
	assert_int_equal(strlen(out), 2 * SVC_NAME_MAX + 1);
	assert_int_equal(out[SVC_NAME_MAX], '-');

	/* a short buffer truncates, never overflows */
	svc_instance_name(out, 4, "hello", "db");
	assert_string_equal(out, "hel");
}

static void
test_port_env_name(void **state __attribute__((unused)))
{
	struct svc_route r[4] = {
		{ .name = "http", .port = 8443 },
		{ .name = "grpc-web", .port = 9000 },
		{ .name = "", .port = 80 },
		{ .name = "0admin-2", .port = 81 },
	};
	struct svc_component c = { .name = "hello", .routes = r, .nroutes = 4 };
	char out[64];

	svc_port_env_name(out, sizeof(out), &c, &r[0]);
	assert_string_equal(out, "PORT_HTTP");
	svc_port_env_name(out, sizeof(out), &c, &r[1]);
	assert_string_equal(out, "PORT_GRPC_WEB");
	svc_port_env_name(out, sizeof(out), &c, &r[2]);
	assert_string_equal(out, "PORT");
	svc_port_env_name(out, sizeof(out), &c, &r[3]);
	assert_string_equal(out, "PORT_0ADMIN_2");
	svc_port_env_name(out, 8, &c, &r[1]);
	assert_string_equal(out, "PORT_GR");
}

static void
test_image_tag(void **state __attribute__((unused)))
{
	assert_string_equal(svc_image_tag("127.0.0.1:5000/hello:v1.0.0"), "v1.0.0");
	assert_string_equal(svc_image_tag("hello:v1"), "v1");
	assert_string_equal(svc_image_tag("reg.example/a/b/c:1.2_rc-3"), "1.2_rc-3");
	assert_string_equal(svc_image_tag("docker.io/library/nginx:latest"), "latest");
	/* the registry port is not a tag */
	assert_string_equal(svc_image_tag("127.0.0.1:5000/hello"), "");
	assert_string_equal(svc_image_tag("hello"), "");
	assert_string_equal(svc_image_tag("hello:"), "");
	/* digests are not tags */
	assert_string_equal(svc_image_tag("hello@sha256:0123abcd"), "");
	assert_string_equal(svc_image_tag(NULL), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_instance_name),
		cmocka_unit_test(test_port_env_name),
		cmocka_unit_test(test_image_tag),
	};

	return cmocka_run_group_tests_name("naming", tests, NULL, NULL);
}
