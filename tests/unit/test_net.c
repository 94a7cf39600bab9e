/*
 * test_net.c: pure parts of bridge networking: subnet parsing, address
 * ranges, TAP names (fit IFNAMSIZ, unique per address, recognisable),
 * deterministic MACs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "net/net.h"

static void
test_bridge_init(void **state)
{
	struct net_bridge b;
	struct mcp_err err = MCP_ERR_INIT;
	char s[16];
	uint32_t first, last;

	(void)state;
	assert_int_equal(net_bridge_init(&b, "mcp-br0", "10.99.0.0/24", "10.99.0.1", &err), 0);
	assert_string_equal(net_ip_str(b.network, s, sizeof(s)), "10.99.0.0");
	assert_string_equal(net_netmask_str(&b, s, sizeof(s)), "255.255.255.0");
	net_host_range(&b, &first, &last);
	assert_string_equal(net_ip_str(first, s, sizeof(s)), "10.99.0.2");
	assert_string_equal(net_ip_str(last, s, sizeof(s)), "10.99.0.254");
	assert_int_equal(net_bridge_init(&b, "mcp-br0", "10.99.0.1/24", "10.99.0.1", &err), -1);
	assert_non_null(strstr(err.msg, "host bits"));
	assert_int_equal(net_bridge_init(&b, "mcp-br0", "10.99.0.0/24", "10.98.0.1", &err), -1);
	assert_int_equal(net_bridge_init(&b, "mcp-br0", "10.99.0.0", "10.99.0.1", &err), -1);
	assert_int_equal(net_bridge_init(&b, "a-very-long-bridge", "10.99.0.0/24", "10.99.0.1", &err), -1);
	assert_int_equal(net_bridge_init(&b, "br;rm", "10.99.0.0/24", "10.99.0.1", &err), -1);
	assert_int_equal(net_bridge_init(&b, "mcp-br0", "10.99.0.0/8", "10.99.0.1", &err), -1);
}

static void
test_tap_names(void **state)
{
	struct net_bridge b, b2;
	struct mcp_err err = MCP_ERR_INIT;
	char a[NET_IFNAME_MAX], c[NET_IFNAME_MAX];
	uint32_t ip, first, last;

	(void)state;
	assert_int_equal(net_bridge_init(&b, "mcp-br0", "10.99.0.0/16", "10.99.0.1", &err), 0);
	assert_int_equal(net_bridge_init(&b2, "mcp-br1", "10.99.0.0/16", "10.99.0.1", &err), 0);
	net_host_range(&b, &first, &last);
	for (ip = first; ip <= last; ip += 97) {
		net_tap_name(&b, ip, a, sizeof(a));
		assert_true(strlen(a) <= 15);
		assert_true(net_tap_is_ours(&b, a));
		assert_false(net_tap_is_ours(&b2, a));
		net_tap_name(&b, ip + 1, c, sizeof(c));
		assert_string_not_equal(a, c);
	}
	net_tap_name(&b, last, a, sizeof(a));
	assert_true(strlen(a) <= 15);
	assert_false(net_tap_is_ours(&b, "eth0"));
	assert_false(net_tap_is_ours(&b, "mcp-br0"));
}

static void
test_mac(void **state)
{
	char m1[18], m2[18], m3[18];

	(void)state;
	net_mac_for("hello-vm", m1, sizeof(m1));
	net_mac_for("hello-vm", m2, sizeof(m2));
	net_mac_for("other", m3, sizeof(m3));
	assert_string_equal(m1, m2);
	assert_string_not_equal(m1, m3);
	assert_int_equal(strncmp(m1, "52:54:00:", 9), 0);
	assert_int_equal(strlen(m1), 17);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bridge_init),
		cmocka_unit_test(test_tap_names),
		cmocka_unit_test(test_mac),
	};

	return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
