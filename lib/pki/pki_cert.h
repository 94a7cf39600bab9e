/*
 * pki/pki_cert.h: building and signing certificates (internal to lib/pki).
 * Every certificate the tree makes is built by pki_cert_build from a spec;
 * the profile fixes its extensions and lifetime, so the four kinds differ
 * in one table (pki_cert.c) and nowhere else:
 *
 *   ROOT          the platform CA: self-signed, CA:TRUE, 10 years
 *   IDENTITY      an mTLS identity (CN = identity): serverAuth + clientAuth,
 *                 the given SANs, 2 years
 *   INTERMEDIATE  a node's issuing CA: CA:TRUE pathlen:0, EKU serverAuth,
 *                 the given nameConstraints, 5 years
 *   SERVER        a TLS server leaf (CN = SAN = one hostname): serverAuth
 *                 only, 90 days
 *
 * Serial numbers are 159 random bits; notBefore is backdated 5 minutes for
 * clock skew; a certificate never outlives its issuer.
 */
#ifndef MCP_PKI_PKI_CERT_H
#define MCP_PKI_PKI_CERT_H

#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util/err.h"

enum pki_profile {
	PKI_PROFILE_ROOT,
	PKI_PROFILE_IDENTITY,
	PKI_PROFILE_INTERMEDIATE,
	PKI_PROFILE_SERVER,
};

struct pki_cert_spec {
	enum pki_profile profile;
	EVP_PKEY *key;		/* the subject's key (its public half goes in) */
	const char *cn;		/* SERVER: a hostname checked by the caller */
	X509 *issuer;		/* NULL for ROOT */
	EVP_PKEY *issuer_key;
	GENERAL_NAMES *sans;	/* IDENTITY: the subjectAltNames */
	/* INTERMEDIATE: an X509V3 config value built from checked names,
	 * e.g. "critical,permitted;DNS:example.net" */
	const char *name_constraints;
};

/* Build and sign; NULL with err filled on failure.  The caller frees. */
X509 *pki_cert_build(const struct pki_cert_spec *spec, struct mcp_err *err);

/* A fresh EC P-256 key; what names it in the error message. */
EVP_PKEY *pki_key_new(const char *what, struct mcp_err *err);

/* notAfter (or any ASN1_TIME) as unix seconds; -1 with err on failure. */
int pki_time_unix(const ASN1_TIME *t, int64_t *out, struct mcp_err *err);

#endif
