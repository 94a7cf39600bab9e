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

#include <stddef.h>

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

/*
 * Validates the configuration; sends nothing.  The strings are copied.
 * server: an IPv4 or IPv6 address (no name: resolving it would need DNS);
 * port 0 -> 53; zone and key_name: hostnames (svc_check_hostname; one
 * trailing dot tolerated); algorithm NULL/"" -> hmac-sha256, else
 * hmac-sha256 or hmac-sha512; secret: base64 of at least 16 bytes;
 * ttl 0 -> 60, else 1..86400; timeout_ms 0 -> 2000, else 10..60000.
 * MCP_E_INVALID naming the field otherwise (never printing the secret).
 *
 * The client is immutable once made: calls may run concurrently from
 * several threads (each builds its own resolver, packet and socket).
 */
struct dns_client *dns_client_new(const struct dns_config *cfg,
    struct mcp_err *err);
void dns_client_free(struct dns_client *c);

/*
 * Make name's A record set exactly { ipv4 } (delete the others, add it
 * with the configured TTL) in one TSIG-signed UPDATE, which the server
 * applies atomically.  name must be a hostname in the zone
 * (dns_name_in_zone; one trailing dot tolerated), ipv4 a dotted quad;
 * both are checked before anything is sent (MCP_E_INVALID).
 *
 * Every call waits at most timeout_ms (two sends of timeout_ms / 2 each).
 * Errors: MCP_E_UNAVAILABLE "DNS server A:P did not answer the update for
 * NAME within N ms" (timeout, network error); MCP_E_PERM "DNS server A:P
 * refused the update for NAME: not authorised (TSIG key K or the ACL; ...)"
 * for NOTAUTH (a wrong or unknown key, or a name outside the key's ACL:
 * knot answers those with an unsigned BADKEY) and for REFUSED;
 * MCP_E_INVALID for NOTZONE; MCP_E_INTERNAL naming the rcode otherwise
 * (SERVFAIL, ...), or for an answer not signed with the key.
 */
int dns_set_a(struct dns_client *c, const char *name, const char *ipv4,
    struct mcp_err *err);
/* Delete every A record of name, one UPDATE as above; absent is success. */
int dns_delete_a(struct dns_client *c, const char *name, struct mcp_err *err);

/* "addr:port" ("[addr]:port" for IPv6) of the server, for messages. */
const char *dns_client_server(const struct dns_client *c);

/*
 * 1 if name is zone or below it (label boundary: "evilsvc.x" is not under
 * "svc.x"), else 0.  ASCII case-insensitive; one trailing dot on either is
 * ignored; empty matches nothing.  Pure (svc_domain_under underneath).
 */
int dns_name_in_zone(const char *name, const char *zone);

/* The project code for a DNS rcode (0 NOERROR -> MCP_OK, NOTAUTH and
 * REFUSED -> MCP_E_PERM, NOTZONE -> MCP_E_INVALID, else MCP_E_INTERNAL). */
int dns_rcode_code(int rcode);

/* NULL if b64 is a usable TSIG secret (strict base64 of >= 16 bytes), else
 * a static reason.  Pure. */
const char *dns_check_secret(const char *b64);

/*
 * The secret in the text of a key file, or NULL: the value of the first
 * "secret:" line (what `keymgr -t NAME hmac-sha256` prints), else the one
 * non-empty, non-comment line.  Spaces and one pair of double quotes
 * around the value are dropped.  Modifies text; the result points into it.
 */
const char *dns_secret_parse(char *text);

/*
 * Read the TSIG secret from path (the [dns] secret file) into out[len]:
 * a regular file, not a symlink, readable by its owner only (mode & 077
 * == 0: MCP_E_PERM otherwise), at most 4 KiB, parsed by dns_secret_parse
 * and checked by dns_check_secret.
 */
int dns_secret_read(const char *path, char *out, size_t len,
    struct mcp_err *err);

#endif
