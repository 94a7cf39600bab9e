/*
 * tests/unit/test_domain.c: the one DNS-subtree match (svc_domain_under)
 * that certificates, edge allowed_domains and the master share, and the
 * check on the domains themselves (svc_check_domain).  Tables: hostname,
 * domain, expected.  The leading-dot rows pin OpenSSL's reading of a
 * dNSName name constraint; test_pki checks OpenSSL itself agrees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "service/check.h"

static void
test_domain_under(void **state)
{
	static const struct {
		const char *host, *domain;
		int want;
	} t[] = {
		/* the domain itself and names below it, at a label boundary */
		{ "example.net", "example.net", 1 },
		{ "a.example.net", "example.net", 1 },
		{ "a.b.c.example.net", "example.net", 1 },
		{ "evilexample.net", "example.net", 0 },
		{ "example.net.evil.com", "example.net", 0 },
		{ "xample.net", "example.net", 0 },
		{ "net", "example.net", 0 },
		{ "example.org", "example.net", 0 },
		{ "a.svc.mcp.example.net", "svc.mcp.example.net", 1 },
		{ "svc.mcp.example.net", "svc.mcp.example.net", 1 },
		{ "evilsvc.mcp.example.net", "svc.mcp.example.net", 0 },
		{ "a.evilsvc.mcp.example.net", "svc.mcp.example.net", 0 },
		{ "mcp.example.net", "svc.mcp.example.net", 0 },
		{ "evil.example.com", "svc.mcp.example.net", 0 },
		/* a leading dot: strictly below, never the domain itself */
		{ "a.example.net", ".example.net", 1 },
		{ "a.b.example.net", ".example.net", 1 },
		{ "example.net", ".example.net", 0 },
		{ "evilexample.net", ".example.net", 0 },
		{ "aexample.net", ".example.net", 0 },
		/* case-insensitive, as OpenSSL */
		{ "A.Example.NET", "example.net", 1 },
		{ "a.example.net", "EXAMPLE.net", 1 },
		/* single-label domains */
		{ "a.net", "net", 1 },
		{ "anet", "net", 0 },
		/* empty: matches nothing */
		{ "", "example.net", 0 },
		{ "example.net", "", 0 },
		{ "", "", 0 },
		{ "a", ".", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (svc_domain_under(t[i].host, t[i].domain) != t[i].want)
			fail_msg("svc_domain_under(\"%s\", \"%s\") != %d",
			    t[i].host, t[i].domain, t[i].want);
}

static void
test_check_domain(void **state)
{
	static const char *good[] = {
		"example.net", ".example.net", "svc.mcp.example.net",
		".svc.mcp.example.net", "net", "a-b.c1.example", NULL
	};
	static const char *bad[] = {
		"", ".", "..example.net", "example..net", "example.net.",
		"Example.net", "*.example.net", "-a.example.net",
		"a-.example.net", "a b.net", "a,b.net", "a;b.net",
		"1.2.3.4", "example.net/24", "ex_ample.net", NULL
	};
	size_t i;

	(void)state;
	for (i = 0; good[i]; i++)
		if (svc_check_domain(good[i]) != NULL)
			fail_msg("svc_check_domain(\"%s\") refused: %s", good[i],
			    svc_check_domain(good[i]));
	for (i = 0; bad[i]; i++)
		if (svc_check_domain(bad[i]) == NULL)
			fail_msg("svc_check_domain(\"%s\") accepted", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain_under),
		cmocka_unit_test(test_check_domain),
	};

	return cmocka_run_group_tests_name("domain", tests, NULL, NULL);
}
