/*
 * pki/pki_issuer.h: the certificates a node issues itself (SPEC §4.3),
 * without an online CA.
 *
 * The operator gives each node a name-constrained intermediate CA once
 * (`mcp ca issue agent-a --intermediate --permit svc.mcp.example.net`,
 * pki_issue_intermediate); the agent's [proxy] issuer_cert / issuer_key
 * point at its two files.  From it the node issues a TLS server
 * certificate for each hostname it terminates (l7 routes, edge routes):
 *
 *   struct pki_issuer *is;
 *   pki_issuer_load(issuer_cert, issuer_key, &is, &err);   // once, at start
 *   ...
 *   pki_issuer_check(is, hostname, &err);     // at deploy: refuse early
 *   pki_leaf_ensure(is, hostname, "<state>/proxy/certs/<hostname>.pem",
 *       time(NULL), &issued, &info, &err);    // deploy and renewal timer
 *   ...
 *   pki_issuer_free(is);
 *
 * The certificate ("leaf"): a fresh EC P-256 key, CN = the hostname,
 * subjectAltName = DNS:<hostname> (only), extendedKeyUsage serverAuth only
 * (it can never serve as an mTLS client identity), keyUsage
 * digitalSignature, SKI/AKI, a 159-bit random serial, valid 90 days (never
 * beyond the intermediate), notBefore 5 minutes back for clock skew.
 *
 * The file: ONE PEM bundle per hostname, mode 0600, in this order: the
 * leaf, the intermediate, the private key.  That is what HAProxy's `crt` /
 * crt-list entries and `set ssl cert <path> <<` expect (leaf first, the
 * chain after it, the key anywhere in the same file), and it serves the
 * full chain: clients that trust only the platform CA (`curl --cacert
 * ca.crt`) build leaf -> intermediate -> CA; a leaf-only chain fails.  It is
 * written atomically (temporary file with mode 0600, fsync, rename), so a
 * proxy reloading at any moment reads the old bundle or the new one.  The
 * directory must exist.  Nothing else is written (no separate .crt/.key).
 *
 * Names: a hostname is checked with svc_check_hostname (lowercase labels,
 * no wildcard) and must lie in one of the intermediate's permitted DNS
 * subtrees and in none of its excluded ones, read from the intermediate's
 * own nameConstraints extension and matched with svc_domain_under, which
 * follows OpenSSL's reading label by label: under a permitted
 * "svc.mcp.example.net", "a.svc.mcp.example.net" is issued,
 * "evilsvc.mcp.example.net" and "evil.example.com" are refused before
 * anything is signed.  (OpenSSL enforces the same constraints when a
 * client verifies; the check here makes the agent fail the deploy with a
 * message instead of serving a certificate no client accepts.)  An
 * issuer without permitted DNS subtrees (the platform CA itself, say) is
 * refused at load: a node never holds an unconstrained CA key.
 *
 * Renewal: pki_leaf_check says whether a bundle must be (re)issued: it is
 * missing or unreadable, lacks the key or the chain, is for another
 * hostname, was issued by another intermediate (the node was given a new
 * one), has expired, or has less than PKI_RENEW_SECS (30 days) left while
 * a new one would last longer (a leaf is capped at the intermediate's end,
 * so renewing near it would only repeat).  The timing rule alone is the
 * pure pki_renewal_due.  Reloading the bundle into a running proxy is the
 * caller's business (runtime API `set ssl cert` + `commit ssl cert`).
 *
 * A struct pki_issuer is immutable after load: concurrent calls on one
 * issuer are safe.
 */
#ifndef MCP_PKI_PKI_ISSUER_H
#define MCP_PKI_PKI_ISSUER_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define PKI_SERVER_DAYS 90
#define PKI_RENEW_SECS (30 * 86400)
#define PKI_SERIAL_HEX_MAX 128	/* 64 octets; ours are 20 at most */

/* The DNS parts of an X.509 nameConstraints extension, as plain strings. */
struct pki_constraints {
	char **permitted;	/* permitted DNS subtrees ("example.net", ".x.org") */
	size_t npermitted;
	char **excluded;	/* excluded DNS subtrees */
	size_t nexcluded;
};

/*
 * 1 if hostname may be certified under c, else 0: it lies under at least
 * one permitted subtree and under no excluded one (svc_domain_under; an
 * empty excluded subtree excludes everything, as in OpenSSL).  No
 * permitted subtree at all permits nothing (X.509 would permit every
 * name; we fail closed).  Pure; hostname is not validated here.
 */
int pki_name_permitted(const struct pki_constraints *c, const char *hostname);

/* A node's intermediate CA, loaded (opaque, immutable). */
struct pki_issuer;

/*
 * Load the intermediate from cert_path / key_path (PEM).  Refused unless
 * the certificate is a CA allowed to sign certificates, the key matches
 * it, it is valid now, and it carries at least one permitted DNS subtree.
 */
int pki_issuer_load(const char *cert_path, const char *key_path,
    struct pki_issuer **out, struct mcp_err *err);
void pki_issuer_free(struct pki_issuer *is);

/* Its name constraints (owned by is) and its notAfter (unix seconds). */
const struct pki_constraints *pki_issuer_constraints(const struct pki_issuer *is);
int64_t pki_issuer_not_after(const struct pki_issuer *is);

/*
 * 0 if is may issue for hostname; else -1 with MCP_E_INVALID and a message
 * naming the hostname, the intermediate's file and its permitted domains.
 */
int pki_issuer_check(const struct pki_issuer *is, const char *hostname,
    struct mcp_err *err);

/* What a certificate says about itself (the first certificate of a PEM file). */
struct pki_cert_info {
	char serial[PKI_SERIAL_HEX_MAX + 2];	/* uppercase hex, as `openssl x509 -serial` */
	int64_t not_before, not_after;		/* unix seconds */
};

/* Read the first certificate of the PEM file at path (a bundle is fine). */
int pki_cert_info(const char *path, struct pki_cert_info *out,
    struct mcp_err *err);

/*
 * Issue a new leaf for hostname and write the bundle to path (replacing
 * it).  pki_issuer_check first: nothing is signed for a name outside the
 * constraints.  info (may be NULL) receives the new certificate's serial
 * and validity.
 */
int pki_leaf_issue(const struct pki_issuer *is, const char *hostname,
    const char *path, struct pki_cert_info *info, struct mcp_err *err);

/*
 * NULL if the bundle at path is good for hostname at time now, else a
 * short static reason it must be (re)issued ("is missing", "expires in
 * less than 30 days", ...).  Never fails: whatever cannot be read is a
 * reason.
 */
const char *pki_leaf_check(const struct pki_issuer *is, const char *hostname,
    const char *path, int64_t now);

/*
 * pki_leaf_check, then pki_leaf_issue when it gave a reason.  *issued
 * (may be NULL) says whether a new bundle was written; info (may be NULL)
 * describes the bundle now at path.
 */
int pki_leaf_ensure(const struct pki_issuer *is, const char *hostname,
    const char *path, int64_t now, int *issued, struct pki_cert_info *info,
    struct mcp_err *err);

/* 1 when a certificate ending at not_after has less than threshold
 * seconds left at now (or has ended), else 0.  Pure. */
int pki_renewal_due(int64_t not_after, int64_t now, int64_t threshold);

#endif
