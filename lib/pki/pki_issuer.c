/*
 * pki/pki_issuer.c: a node's own TLS server certificates from its
 * name-constrained intermediate (see pki_issuer.h for the contract).
 *
 * The intermediate is loaded once and its nameConstraints extension is
 * turned into plain strings (struct pki_constraints), so the one question
 * "may this name be issued?" is the pure pki_name_permitted over strings,
 * sharing svc_domain_under with the edge's allowed_domains and the master.
 * Checking a bundle reads the file once into memory and parses leaf,
 * chain and key from there.
 */
#include "pki/pki_issuer.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/pki_cert.h"
#include "pki/pki_io.h"
#include "service/check.h"
#include "util/buf.h"
#include "util/file.h"

struct pki_issuer {
	X509 *cert;
	EVP_PKEY *key;
	struct pki_constraints nc;
	int64_t not_after;
	char path[PATH_MAX];	/* the certificate file, for messages */
};

int
pki_renewal_due(int64_t not_after, int64_t now, int64_t threshold)
{
	return not_after - now < threshold;
}

int
pki_name_permitted(const struct pki_constraints *c, const char *hostname)
{
	size_t i;

	for (i = 0; i < c->nexcluded; i++)
		if (c->excluded[i][0] == '\0' ||
		    svc_domain_under(hostname, c->excluded[i]))
			return 0;
	for (i = 0; i < c->npermitted; i++)
		if (svc_domain_under(hostname, c->permitted[i]))
			return 1;
	return 0;
}

static void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
constraints_free(struct pki_constraints *c)
{
	strv_free(c->permitted, c->npermitted);
	strv_free(c->excluded, c->nexcluded);
	memset(c, 0, sizeof(*c));
}

/* Append the DNS bases of subtrees to (*v, *n); other name types are not ours to read. */
static int
subtrees_dns(STACK_OF(GENERAL_SUBTREE) *subtrees, char ***v, size_t *n,
    struct mcp_err *err)
{
	int i;

	for (i = 0; i < sk_GENERAL_SUBTREE_num(subtrees); i++) {
		GENERAL_SUBTREE *st = sk_GENERAL_SUBTREE_value(subtrees, i);
		const ASN1_IA5STRING *s;
		char **nv;
		int len;

		if (st->base->type != GEN_DNS)
			continue;
		s = st->base->d.dNSName;
		len = ASN1_STRING_length(s);
		/* a NUL inside, or absurd length: not a name we can reason about */
		if (len > 255 || memchr(ASN1_STRING_get0_data(s), '\0',
		    (size_t)len) != NULL)
			return mcp_err_set(err, MCP_E_INVALID, "a DNS name "
			    "constraint is not a valid name");
		if ((nv = realloc(*v, (*n + 1) * sizeof(*nv))) == NULL)
			return mcp_err_set(err, MCP_E_INTERNAL, "out of memory");
		*v = nv;
		if ((nv[*n] = strndup((const char *)ASN1_STRING_get0_data(s),
		    (size_t)len)) == NULL)
			return mcp_err_set(err, MCP_E_INTERNAL, "out of memory");
		(*n)++;
	}
	return 0;
}

/* The DNS parts of x's nameConstraints (none: c stays empty). */
static int
constraints_read(X509 *x, struct pki_constraints *c, struct mcp_err *err)
{
	NAME_CONSTRAINTS *nc;
	int crit = -1, rc = 0;

	memset(c, 0, sizeof(*c));
	if ((nc = X509_get_ext_d2i(x, NID_name_constraints, &crit, NULL)) == NULL) {
		ERR_clear_error();
		if (crit == -1)
			return 0;
		return mcp_err_set(err, MCP_E_INVALID, "nameConstraints "
		    "extension cannot be decoded");
	}
	if (subtrees_dns(nc->permittedSubtrees, &c->permitted, &c->npermitted,
	    err) == -1 ||
	    subtrees_dns(nc->excludedSubtrees, &c->excluded, &c->nexcluded,
	    err) == -1) {
		constraints_free(c);
		rc = -1;
	}
	NAME_CONSTRAINTS_free(nc);
	return rc;
}

/* "a, .b, c" (truncated to fit) for messages. */
static void
permitted_list(const struct pki_constraints *c, char *out, size_t outsz)
{
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; i < c->npermitted && len < outsz; i++)
		len += (size_t)snprintf(out + len, outsz - len, "%s%s",
		    i ? ", " : "", c->permitted[i]);
}

void
pki_issuer_free(struct pki_issuer *is)
{
	if (is == NULL)
		return;
	X509_free(is->cert);
	EVP_PKEY_free(is->key);
	constraints_free(&is->nc);
	free(is);
}

/* The checks pki_issuer_load makes once it has both halves. */
static int
issuer_validate(struct pki_issuer *is, const char *key_path,
    struct mcp_err *err)
{
	if (X509_check_ca(is->cert) <= 0 ||
	    ((X509_get_extension_flags(is->cert) & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(is->cert) & KU_KEY_CERT_SIGN)))
		return mcp_err_set(err, MCP_E_INVALID, "not a CA certificate "
		    "that may sign certificates");
	if (!X509_check_private_key(is->cert, is->key)) {
		ERR_clear_error();
		return mcp_err_set(err, MCP_E_INVALID, "does not match the key "
		    "%s", key_path);
	}
	if (pki_time_unix(X509_get0_notAfter(is->cert), &is->not_after,
	    err) == -1)
		return mcp_err_prefix(err, "notAfter");
	if (X509_cmp_current_time(X509_get0_notAfter(is->cert)) <= 0 ||
	    X509_cmp_current_time(X509_get0_notBefore(is->cert)) >= 0)
		return mcp_err_set(err, MCP_E_PRECONDITION, "not valid now "
		    "(expired, or not yet valid)");
	if (constraints_read(is->cert, &is->nc, err) == -1)
		return -1;
	if (is->nc.npermitted == 0)
		return mcp_err_set(err, MCP_E_INVALID, "carries no permitted DNS "
		    "name constraints: a node holds only a constrained "
		    "intermediate (`mcp ca issue NAME --intermediate --permit "
		    "DOMAIN`), never an unconstrained CA");
	return 0;
}

int
pki_issuer_load(const char *cert_path, const char *key_path,
    struct pki_issuer **out, struct mcp_err *err)
{
	struct pki_issuer *is = calloc(1, sizeof(*is));

	*out = NULL;
	if (is == NULL)
		return mcp_err_set(err, MCP_E_INTERNAL, "issuer %s: out of "
		    "memory", cert_path);
	mcp_strlcpy(is->path, cert_path, sizeof(is->path));
	if ((is->cert = pki_read_cert(cert_path, err)) == NULL ||
	    (is->key = pki_read_key(key_path, err)) == NULL ||
	    issuer_validate(is, key_path, err) == -1) {
		mcp_err_prefix(err, "issuer %s", cert_path);
		pki_issuer_free(is);
		return -1;
	}
	*out = is;
	return 0;
}

const struct pki_constraints *
pki_issuer_constraints(const struct pki_issuer *is)
{
	return &is->nc;
}

int64_t
pki_issuer_not_after(const struct pki_issuer *is)
{
	return is->not_after;
}

int
pki_issuer_check(const struct pki_issuer *is, const char *hostname,
    struct mcp_err *err)
{
	char list[512];
	const char *why;

	if ((why = svc_check_hostname(hostname)) != NULL)
		return mcp_err_set(err, MCP_E_INVALID, "hostname \"%.253s\" %s",
		    hostname, why);
	if (pki_name_permitted(&is->nc, hostname))
		return 0;
	permitted_list(&is->nc, list, sizeof(list));
	return mcp_err_set(err, MCP_E_INVALID, "hostname \"%s\" is outside the "
	    "domains the intermediate %s may certify (%s)", hostname, is->path,
	    list);
}

static int
info_fill(X509 *x, struct pki_cert_info *info, struct mcp_err *err)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	int rc = -1;

	if (hex == NULL)
		pki_err_ssl(err, "serial number");
	else if (strlen(hex) >= sizeof(info->serial))
		mcp_err_set(err, MCP_E_INVALID, "serial number longer than %d "
		    "hex digits", PKI_SERIAL_HEX_MAX);
	else if (pki_time_unix(X509_get0_notBefore(x), &info->not_before,
	    err) == 0 &&
	    pki_time_unix(X509_get0_notAfter(x), &info->not_after, err) == 0) {
		mcp_strlcpy(info->serial, hex, sizeof(info->serial));
		rc = 0;
	}
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

int
pki_cert_info(const char *path, struct pki_cert_info *out,
    struct mcp_err *err)
{
	X509 *x = pki_read_cert(path, err);
	int rc;

	if (x == NULL)
		return -1;
	if ((rc = info_fill(x, out, err)) == -1)
		mcp_err_prefix(err, "%s", path);
	X509_free(x);
	return rc;
}

int
pki_leaf_issue(const struct pki_issuer *is, const char *hostname,
    const char *path, struct pki_cert_info *info, struct mcp_err *err)
{
	struct pki_cert_spec spec = { .profile = PKI_PROFILE_SERVER,
	    .cn = hostname, .issuer = is->cert, .issuer_key = is->key };
	X509 *crt = NULL;
	int rc = -1;

	if (pki_issuer_check(is, hostname, err) == -1)
		return -1;
	if ((int64_t)time(NULL) >= is->not_after) {
		mcp_err_set(err, MCP_E_PRECONDITION, "the intermediate %s has "
		    "expired", is->path);
		goto out;
	}
	if ((spec.key = pki_key_new(hostname, err)) == NULL ||
	    (crt = pki_cert_build(&spec, err)) == NULL ||
	    pki_write_bundle(path, crt, is->cert, spec.key, err) == -1 ||
	    (info && info_fill(crt, info, err) == -1))
		goto out;
	rc = 0;
out:
	if (rc == -1)
		mcp_err_prefix(err, "certificate for %s", hostname);
	X509_free(crt);
	EVP_PKEY_free(spec.key);
	return rc;
}

/* What a bundle holds: its first certificate, the one after it, its key. */
struct bundle {
	X509 *leaf, *chain;
	EVP_PKEY *key;
};

static void
bundle_free(struct bundle *b)
{
	X509_free(b->leaf);
	X509_free(b->chain);
	EVP_PKEY_free(b->key);
}

/* NULL when the file was read (parts may be missing), else a reason. */
static const char *
bundle_read(const char *path, struct bundle *b)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct buf data = BUF_INIT;
	struct stat st;
	BIO *bio;

	memset(b, 0, sizeof(*b));
	if (lstat(path, &st) == -1)
		return errno == ENOENT ? "is missing" : "cannot be read";
	if (file_read(path, &data, 1 << 20, &err) == -1)
		return "cannot be read";
	if ((bio = BIO_new_mem_buf(data.data, (int)data.len)) != NULL) {
		b->leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (b->leaf)
			b->chain = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (BIO_reset(bio) == 1)
			b->key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	ERR_clear_error();
	OPENSSL_cleanse(data.data, data.len);
	buf_free(&data);
	return NULL;
}

const char *
pki_leaf_check(const struct pki_issuer *is, const char *hostname,
    const char *path, int64_t now)
{
	struct bundle b;
	struct mcp_err err = MCP_ERR_INIT;
	int64_t not_after = 0;
	const char *why;

	if ((why = bundle_read(path, &b)) != NULL)
		return why;
	if (b.leaf == NULL)
		why = "holds no certificate";
	else if (b.key == NULL)
		why = "holds no private key";
	else if (!X509_check_private_key(b.leaf, b.key))
		why = "holds a key that does not match its certificate";
	else if (X509_check_host(b.leaf, hostname, 0,
	    X509_CHECK_FLAG_NO_WILDCARDS, NULL) != 1)
		why = "is for another hostname";
	else if (X509_check_issued(is->cert, b.leaf) != X509_V_OK ||
	    X509_verify(b.leaf, X509_get0_pubkey(is->cert)) != 1)
		why = "was issued by another CA";
	else if (b.chain == NULL || X509_cmp(b.chain, is->cert) != 0)
		why = "does not carry the intermediate after the certificate";
	else if (pki_time_unix(X509_get0_notAfter(b.leaf), &not_after,
	    &err) == -1)
		why = "has an unreadable notAfter";
	else if (not_after <= now)
		why = "has expired";
	else if (pki_renewal_due(not_after, now, PKI_RENEW_SECS) &&
	    not_after < is->not_after)
		why = "expires in less than 30 days";
	ERR_clear_error();
	bundle_free(&b);
	return why;
}

int
pki_leaf_ensure(const struct pki_issuer *is, const char *hostname,
    const char *path, int64_t now, int *issued, struct pki_cert_info *info,
    struct mcp_err *err)
{
	const char *why = pki_leaf_check(is, hostname, path, now);

	if (issued)
		*issued = why != NULL;
	if (why != NULL)
		return pki_leaf_issue(is, hostname, path, info, err);
	return info ? pki_cert_info(path, info, err) : 0;
}
