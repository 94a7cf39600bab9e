/*
 * mcp-init/config.h: the guest configuration mcp-init reads from
 * /mcp/config inside the initramfs (written by lib/image/guestcfg.c).
 *
 * Format: text, one "key=value" per line; the value is everything after the
 * first '=' up to the end of the line.  Empty lines and lines starting with
 * '#' are ignored.  In values, "\\" stands for a backslash and "\n" for a
 * newline (no other escapes).  Keys:
 *
 *   version=1           optional; if present must be 1
 *   arg=VALUE           repeated: the app's argv in order; arg 0 is the
 *                       absolute path of the executable (at least one)
 *   env=KEY=VALUE       repeated: the app's environment (replaces the
 *                       kernel's; PATH gets a default when absent)
 *   module=PATH         repeated: kernel modules to load, in this order
 *   ifname=NAME         interface to configure (default eth0)
 *   ip=A.B.C.D          guest IPv4 address (needs netmask)
 *   netmask=A.B.C.D
 *   gateway=A.B.C.D     default route (needs ip)
 *   hostname=NAME
 *   workdir=PATH        the app's working directory (default /)
 *
 * Unknown keys, repeated single-valued keys and malformed values are errors
 * naming the line.  This file is libc-only: it is compiled into the static
 * mcp-init and #included by tests/unit/test_init.c.
 */
#ifndef MCP_INIT_CONFIG_H
#define MCP_INIT_CONFIG_H

#include <stddef.h>

#define INITCFG_PATH "/mcp/config"

struct initcfg {
	char **argv;		/* NULL-terminated, argc entries */
	size_t argc;
	char **env;		/* NULL-terminated "K=V" */
	size_t nenv;
	char **modules;		/* NULL-terminated */
	size_t nmodules;
	char *ifname;		/* never NULL after a successful parse */
	char *ip, *netmask, *gateway, *hostname, *workdir;	/* NULL = unset */
};

/*
 * Parse text (len bytes, need not be NUL-terminated) into *cfg.  Returns 0,
 * or -1 with a one-line reason in errbuf ("line 3: unknown key \"foo\"").
 * On failure *cfg is left empty; on success release it with initcfg_free().
 */
int initcfg_parse(const char *text, size_t len, struct initcfg *cfg,
    char *errbuf, size_t errsz);
void initcfg_free(struct initcfg *cfg);

#endif
