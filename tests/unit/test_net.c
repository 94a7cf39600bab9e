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

/* The rule set: per-VM anti-spoofing in bridge prerouting, pure text. */
static void
test_ruleset_antispoof(void **state)
{
	struct net_bridge b;
	struct net_vm v[2];
	struct buf rs = BUF_INIT;
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	assert_int_equal(net_bridge_init(&b, "mcp-br0", "10.99.0.0/24", "10.99.0.1", &err), 0);
	memset(v, 0, sizeof(v));
	strcpy(v[0].tap, "mcpab12-2");
	net_ip_parse("10.99.0.2", &v[0].ip);
	net_mac_for("vm-a", v[0].mac, sizeof(v[0].mac));
	strcpy(v[1].tap, "mcpab12-3");
	net_ip_parse("10.99.0.3", &v[1].ip);
	net_firewall_ruleset(&b, v, 2, &rs);
	assert_non_null(strstr(rs.data, "chain prerouting {\n"
	    "  type filter hook prerouting priority 0; policy accept;\n"
	    "  iifname \"mcpab12-2\" ether type != { ip, arp } drop\n"));
	{
		char want[256];

		snprintf(want, sizeof(want), "  iifname \"mcpab12-2\" ether saddr != %s drop\n"
		    "  iifname \"mcpab12-2\" arp saddr ether != %s drop\n"
		    "  iifname \"mcpab12-2\" ether type ip ip saddr != 10.99.0.2 drop\n"
		    "  iifname \"mcpab12-2\" arp saddr ip != 10.99.0.2 drop\n", v[0].mac, v[0].mac);
		assert_non_null(strstr(rs.data, want));
	}
	/* no MAC known: address checks only */
	assert_non_null(strstr(rs.data, "  iifname \"mcpab12-3\" ether type != { ip, arp } drop\n"
	    "  iifname \"mcpab12-3\" ether type ip ip saddr != 10.99.0.3 drop\n"
	    "  iifname \"mcpab12-3\" arp saddr ip != 10.99.0.3 drop\n"));
	assert_null(strstr(rs.data, "mcpab12-3\" ether saddr"));
	buf_free(&rs);
	/* no VM: our tables go */
	net_firewall_ruleset(&b, v, 0, &rs);
	assert_string_equal(rs.data, "table inet mcp\ndelete table inet mcp\n"
	    "table bridge mcp\ndelete table bridge mcp\n");
	buf_free(&rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bridge_init),
		cmocka_unit_test(test_tap_names),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_ruleset_antispoof),
	};

	return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
