/*
 * dns/dns.h: the RFC 2136 client the master uses to register services in
 * DNS (SPEC §5): A records "<instance>.<zone>" -> a node's advertised
 * address, sent as UPDATE messages signed with TSIG (hmac-sha256) through
 * libldns to a real authoritative server (knot in the tests).  One client
 * per master; every call has a deadline; errors are mapped to the
 * project's codes (a refused update, a bad key, a timeout each say so).
 *
 *   struct dns_config cfg = { "10.0.0.53", 53, "svc.mcp.example.net",
 *       "mcp-master", "hmac-sha256", secret_b64, 60, 2000 };
 *   struct dns_client *c = dns_client_new(&cfg, &err);
 *   dns_set_a(c, "hello.svc.mcp.example.net", "10.0.0.2", &err);
 *   dns_delete_a(c, "hello.svc.mcp.example.net", &err);
 *   dns_client_free(c);
 */
#ifndef MCP_DNS_DNS_H
#define MCP_DNS_DNS_H

#include "util/err.h"

struct dns_config {
	const char *server;	/* IPv4/IPv6 address of the authoritative server */
	int port;		/* default 53 */
	const char *zone;	/* e.g. "svc.mcp.example.net" (no trailing dot) */
	const char *key_name;	/* TSIG key name (no trailing dot) */
	const char *algorithm;	/* "hmac-sha256" */
	const char *secret;	/* the key, base64 */
	int ttl;		/* seconds, default 60 */
	int timeout_ms;		/* per call, default 2000 */
};

struct dns_client;

/* Validates the configuration (server address, zone and key names); sends
 * nothing.  The strings are copied. */
struct dns_client *dns_client_new(const struct dns_config *cfg,
    struct mcp_err *err);
void dns_client_free(struct dns_client *c);

/* Make name's A record set exactly { ipv4 } (delete the others, add it)
 * in one UPDATE.  name must lie in the zone (dns_name_in_zone). */
int dns_set_a(struct dns_client *c, const char *name, const char *ipv4,
    struct mcp_err *err);
/* Delete every A record of name; absent is success. */
int dns_delete_a(struct dns_client *c, const char *name, struct mcp_err *err);

/* 1 if name is zone or below it (label boundary), else 0.  Pure. */
int dns_name_in_zone(const char *name, const char *zone);

#endif
