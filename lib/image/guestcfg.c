/*
 * image/guestcfg.c: write /mcp/config, the guest configuration mcp-init
 * reads at boot.  The format is defined (and parsed) in
 * cmd/mcp-init/config.h; tests/unit/test_init.c round-trips the two.
 */
#include "image/image.h"

#include <string.h>

/* "key=value\n" with '\\' and '\n' escaped in the value. */
static int
put_line(struct buf *out, const char *key, const char *val)
{
	int rc = buf_printf(out, "%s=", key);

	for (const char *p = val; rc == 0 && *p; p++) {
		if (*p == '\\')
			rc = buf_puts(out, "\\\\");
		else if (*p == '\n')
			rc = buf_puts(out, "\\n");
		else
			rc = buf_append(out, p, 1);
	}
	return rc == 0 ? buf_puts(out, "\n") : -1;
}

int
guestcfg_format(const struct guestcfg *g, struct buf *out, struct mcp_err *err)
{
	const struct {
		const char *key, *val;
	} single[] = {
		{ "ifname", g->ifname }, { "ip", g->ip }, { "netmask", g->netmask },
		{ "gateway", g->gateway }, { "hostname", g->hostname },
		{ "workdir", g->workdir },
	};
	int rc = 0;

	if (g->argv == NULL || g->argv[0] == NULL || g->argv[0][0] != '/')
		return mcp_err_set(err, MCP_E_INVALID,
		    "guest config: argv[0] must be an absolute path");
	for (size_t i = 0; g->env && g->env[i]; i++)
		if (g->env[i][0] == '=' || strchr(g->env[i], '=') == NULL)
			return mcp_err_set(err, MCP_E_INVALID,
			    "guest config: env entry \"%s\" is not KEY=VALUE", g->env[i]);
	rc |= buf_puts(out, "# mcp-init guest configuration (cmd/mcp-init/config.h)\nversion=1\n");
	for (size_t i = 0; g->argv[i]; i++)
		rc |= put_line(out, "arg", g->argv[i]);
	for (size_t i = 0; g->env && g->env[i]; i++)
		rc |= put_line(out, "env", g->env[i]);
	for (size_t i = 0; g->modules && g->modules[i]; i++)
		rc |= put_line(out, "module", g->modules[i]);
	for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++)
		if (single[i].val && single[i].val[0])
			rc |= put_line(out, single[i].key, single[i].val);
	if (rc != 0)
		return mcp_err_set(err, MCP_E_RESOURCE, "guest config: out of memory");
	return 0;
}
