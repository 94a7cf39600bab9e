/*
 * pki/pki_cert.c: building and signing certificates (see pki_cert.h).  The
 * profile table below is the whole difference between the platform CA, an
 * identity, a node's intermediate and a TLS server leaf.
 */
#include "pki/pki_cert.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>

#include "pki/pki_io.h"
#include "pki/pki_issuer.h"

#define PKI_BACKDATE_SECS 300	/* tolerate a little clock skew between nodes */

static const struct profile {
	long days;
	const char *bc, *ku, *eku;	/* X509V3 config values; eku NULL = none */
} profiles[] = {
	[PKI_PROFILE_ROOT] = { 10 * 365 + 3, "critical,CA:TRUE",
	    "critical,keyCertSign,cRLSign", NULL },
	[PKI_PROFILE_IDENTITY] = { 2 * 365 + 1, "critical,CA:FALSE",
	    "critical,digitalSignature", "serverAuth,clientAuth" },
	/* EKU serverAuth on the CA: OpenSSL then refuses anything below it as
	 * a TLS client, so a node's intermediate cannot mint mTLS identities. */
	[PKI_PROFILE_INTERMEDIATE] = { 5 * 365 + 1, "critical,CA:TRUE,pathlen:0",
	    "critical,keyCertSign,cRLSign", "serverAuth" },
	[PKI_PROFILE_SERVER] = { PKI_SERVER_DAYS, "critical,CA:FALSE",
	    "critical,digitalSignature", "serverAuth" },
};

static int
set_random_serial(X509 *x, struct mcp_err *err)
{
	BIGNUM *bn = BN_new();
	ASN1_INTEGER *ai = NULL;
	int ok = 0;

	/* 159 random bits: positive, < 2^159, fits the 20-octet limit. */
	if (bn && BN_rand(bn, 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
	    (BN_is_zero(bn) ? BN_set_word(bn, 1) : 1) &&
	    (ai = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
	    X509_set_serialNumber(x, ai))
		ok = 1;
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return ok ? 0 : pki_err_ssl(err, "serial number");
}

static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value,
    struct mcp_err *err)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok;

	if (ext == NULL)
		return pki_err_ssl(err, "extension %s = %s", OBJ_nid2sn(nid),
		    value);
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : pki_err_ssl(err, "add extension %s", OBJ_nid2sn(nid));
}

/* The profile's extensions, in a fixed order. */
static int
add_exts(X509 *x, X509V3_CTX *ctx, const struct pki_cert_spec *s,
    struct mcp_err *err)
{
	const struct profile *p = &profiles[s->profile];
	char san[300];

	if (add_ext(x, ctx, NID_basic_constraints, p->bc, err) ||
	    add_ext(x, ctx, NID_key_usage, p->ku, err) ||
	    (p->eku && add_ext(x, ctx, NID_ext_key_usage, p->eku, err)))
		return -1;
	if (s->profile == PKI_PROFILE_INTERMEDIATE &&
	    add_ext(x, ctx, NID_name_constraints, s->name_constraints, err))
		return -1;
	if (add_ext(x, ctx, NID_subject_key_identifier, "hash", err) ||
	    add_ext(x, ctx, NID_authority_key_identifier, "keyid:always", err))
		return -1;
	if (s->profile == PKI_PROFILE_IDENTITY &&
	    !X509_add1_ext_i2d(x, NID_subject_alt_name, s->sans, 0,
	    X509V3_ADD_DEFAULT))
		return pki_err_ssl(err, "add extension subjectAltName");
	if (s->profile == PKI_PROFILE_SERVER) {
		if ((size_t)snprintf(san, sizeof(san), "DNS:%s", s->cn) >=
		    sizeof(san))
			return mcp_err_set(err, MCP_E_INVALID, "subjectAltName "
			    "DNS:%s: too long", s->cn);
		return add_ext(x, ctx, NID_subject_alt_name, san, err);
	}
	return 0;
}

X509 *
pki_cert_build(const struct pki_cert_spec *s, struct mcp_err *err)
{
	X509 *x = X509_new();
	X509_NAME *subj = X509_NAME_new();
	X509V3_CTX ctx;
	int root = s->profile == PKI_PROFILE_ROOT;

	if (x == NULL || subj == NULL) {
		pki_err_ssl(err, "certificate for %s", s->cn);
		goto fail;
	}
	if (!X509_set_version(x, X509_VERSION_3))
		goto fail_ssl;
	if (set_random_serial(x, err) == -1)
		goto fail;
	if (!X509_gmtime_adj(X509_getm_notBefore(x), -PKI_BACKDATE_SECS) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), profiles[s->profile].days,
	    0, NULL))
		goto fail_ssl;
	/* A certificate never outlives its issuer. */
	if (!root && ASN1_TIME_compare(X509_get0_notAfter(x),
	    X509_get0_notAfter(s->issuer)) > 0 &&
	    !X509_set1_notAfter(x, X509_get0_notAfter(s->issuer)))
		goto fail_ssl;
	if (!X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
	    (const unsigned char *)s->cn, -1, -1, 0) ||
	    !X509_set_subject_name(x, subj) ||
	    !X509_set_issuer_name(x, root ? subj :
	    X509_get_subject_name(s->issuer)) ||
	    !X509_set_pubkey(x, s->key))
		goto fail_ssl;

	X509V3_set_ctx(&ctx, root ? x : s->issuer, x, NULL, NULL, 0);
	if (add_exts(x, &ctx, s, err) == -1)
		goto fail;
	if (X509_sign(x, root ? s->key : s->issuer_key, EVP_sha256()) <= 0)
		goto fail_ssl;
	X509_NAME_free(subj);
	return x;
fail_ssl:
	pki_err_ssl(err, "certificate for %s", s->cn);
fail:
	X509_NAME_free(subj);
	X509_free(x);
	return NULL;
}

EVP_PKEY *
pki_key_new(const char *what, struct mcp_err *err)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");

	if (key == NULL)
		pki_err_ssl(err, "generate EC P-256 key for %s", what);
	return key;
}

int
pki_time_unix(const ASN1_TIME *t, int64_t *out, struct mcp_err *err)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!ASN1_TIME_to_tm(t, &tm)) {
		ERR_clear_error();
		return mcp_err_set(err, MCP_E_INVALID, "not a valid time");
	}
	*out = (int64_t)timegm(&tm);
	return 0;
}
