/*
 * master/dns_step.c: the master's DNS step over lib/dns (RFC 2136 with
 * TSIG).  Without a [dns] table there is no client and the step reports
 * itself skipped.
 */
#include "master/master.h"

#include <stdio.h>
#include <string.h>

#include "dns/dns.h"

int
master_dns_init(struct master *m, struct mcp_err *err)
{
	char secret[1024];
	struct dns_config dc;

	if (!m->cfg.dns.configured)
		return 0;
	/* owner-only file, keymgr's format or the bare base64 (lib/dns) */
	if (dns_secret_read(m->cfg.dns.secret_file, secret, sizeof(secret), err) == -1)
		return mcp_err_prefix(err, "[dns] secret_file");
	memset(&dc, 0, sizeof(dc));
	dc.server = m->cfg.dns.server;
	dc.port = m->cfg.dns.port;
	dc.zone = m->cfg.dns.zone;
	dc.key_name = m->cfg.dns.key_name;
	dc.algorithm = m->cfg.dns.algorithm;
	dc.secret = secret;
	dc.ttl = m->cfg.dns.ttl;
	dc.timeout_ms = m->cfg.probe_timeout_s * 1000;
	m->dns = dns_client_new(&dc, err);
	explicit_bzero(secret, sizeof(secret));
	return m->dns ? 0 : mcp_err_prefix(err, "[dns]");
}

void
master_dns_free(struct master *m)
{
	dns_client_free(m->dns);
	m->dns = NULL;
}

const char *
master_dns_skipped(struct master *m)
{
	return m->dns == NULL ? "skipped (no [dns] configured)" : NULL;
}

int
master_dns_set(struct master *m, const char *name, const char *ip,
    struct mcp_err *err)
{
	return m->dns ? dns_set_a(m->dns, name, ip, err) : 0;
}

int
master_dns_delete(struct master *m, const char *name, struct mcp_err *err)
{
	return m->dns ? dns_delete_a(m->dns, name, err) : 0;
}
