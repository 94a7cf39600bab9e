/*
 * pki/pki.h: the platform CA (SPEC §6) on OpenSSL: create a CA, issue a key
 * and certificate for an identity (the CN is the identity the RPC layer
 * authorises), and issue a node's name-constrained intermediate CA (SPEC
 * §4.3).  Keys are written 0600.  What a node does with its intermediate
 * (TLS server certificates for its routes) is in pki/pki_issuer.h.
 */
#ifndef MCP_PKI_PKI_H
#define MCP_PKI_PKI_H

#include "util/err.h"

/*
 * Create DIR/ca.key and DIR/ca.crt (EC P-256, 10 years).  Refuses to
 * overwrite an existing CA.
 */
int pki_ca_init(const char *dir, struct mcp_err *err);

/*
 * Issue DIR/<name>.key and DIR/<name>.crt signed by the CA in cadir, CN =
 * name, usable as TLS client and server certificate, with subjectAltNames
 * DNS:<name>, DNS:localhost, IP:127.0.0.1 plus sans (comma-separated
 * "DNS:x" / "IP:y" or bare names/IPs; may be NULL).  outdir NULL = cadir.
 * name must match [A-Za-z0-9][A-Za-z0-9._-]{0,62}.
 */
int pki_issue(const char *cadir, const char *name, const char *sans,
    const char *outdir, struct mcp_err *err);

/*
 * Issue a subordinate CA for one node: DIR/<name>.key and DIR/<name>.crt
 * (outdir NULL = cadir), signed by the CA in cadir, name as for pki_issue.
 * EC P-256, 5 years but never beyond the CA, CN "MCP intermediate <name>",
 * critical basicConstraints CA:TRUE pathlen:0, critical keyUsage
 * keyCertSign + cRLSign, extendedKeyUsage serverAuth (OpenSSL refuses a
 * TLS client certificate below it, so a node cannot mint mTLS identities),
 * and critical nameConstraints:
 *   - permitted DNS subtrees: each domain of permit (comma-separated, at
 *     least one; svc_check_domain: lowercase hostnames).  "example.net"
 *     permits example.net and every name below it; ".example.net" only
 *     the names below it (OpenSSL's reading; see svc_domain_under);
 *   - excluded: every IPv4 and IPv6 address (no IP subjectAltNames).
 * A bad domain is refused, naming it, before anything is written.
 */
int pki_issue_intermediate(const char *cadir, const char *name,
    const char *permit, const char *outdir, struct mcp_err *err);

#endif
