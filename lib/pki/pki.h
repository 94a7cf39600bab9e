/*
 * pki/pki.h: the platform CA (SPEC §6) on OpenSSL: create a CA, issue a key
 * and certificate for an identity (the CN is the identity the RPC layer
 * authorises).  Keys are written 0600.
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

#endif
