/*
 * pki/pki.c: the platform CA (SPEC §6).  `mcp ca init` creates a
 * self-signed EC P-256 CA (10 years); `mcp ca issue NAME` creates a key and
 * a certificate whose CN is the identity the RPC layer authorises
 * ("mcp-master", "agent-<node>", an operator), valid ~2 years, usable both
 * as TLS server and client certificate.
 *
 * Certificates are built in one function (cert_build) for both cases; the
 * CA and the leaf differ only in their extensions.  Input is checked before
 * anything is written, and nothing existing is ever overwritten: re-issuing
 * means removing the old files first, on purpose.
 */
#include "pki/pki.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/pki_io.h"

#define PKI_NAME_MAX 63
#define PKI_CA_DAYS (10 * 365 + 3)
#define PKI_LEAF_DAYS (2 * 365 + 1)
#define PKI_BACKDATE_SECS 300	/* tolerate a little clock skew between nodes */
#define PKI_CA_CN "MCP CA"	/* has a space: no issued name can equal it */

/* The identity names pki_issue accepts: [A-Za-z0-9][A-Za-z0-9._-]{0,62}, not "ca". */
static const char *
name_check(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > PKI_NAME_MAX)
		return "must be 1 to 63 characters";
	for (i = 0; i < n; i++) {
		char c = name[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || !strchr("._-", c)))
			return "must match [A-Za-z0-9][A-Za-z0-9._-]{0,62}";
	}
	if (strcasecmp(name, "ca") == 0)
		return "is reserved for the CA's own files";
	return NULL;
}

static int
path_join(char *out, size_t outsz, const char *dir, const char *name,
    const char *ext, struct mcp_err *err)
{
	if ((size_t)snprintf(out, outsz, "%s/%s%s", dir, name, ext) >= outsz)
		return mcp_err_set(err, MCP_E_INVALID, "%s/%s%s: path too long",
		    dir, name, ext);
	return 0;
}

/* A DNS name for a SAN: labels of [A-Za-z0-9-], optionally "*." first. */
static int
dns_valid(const char *s)
{
	size_t n = strlen(s), lab = 0, i;

	if (strncmp(s, "*.", 2) == 0)
		s += 2, n -= 2;
	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i <= n; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (lab == 0 || s[i - 1] == '-')
				return 0;
			lab = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
		if ((lab == 0 && c == '-') || ++lab > 63)
			return 0;
	}
	return 1;
}

/* Append one SAN ("DNS:x", "IP:y", or bare) unless already present. */
static int
san_add(GENERAL_NAMES *gens, const char *item, struct mcp_err *err)
{
	GENERAL_NAME *gn;
	ASN1_OCTET_STRING *ip = NULL;
	ASN1_IA5STRING *dns = NULL;
	const char *v = item;
	int want_ip = -1, i;

	if (strncasecmp(item, "DNS:", 4) == 0)
		v = item + 4, want_ip = 0;
	else if (strncasecmp(item, "IP:", 3) == 0)
		v = item + 3, want_ip = 1;
	if (want_ip != 0)
		ip = a2i_IPADDRESS(v);
	ERR_clear_error();
	if (want_ip == 1 && ip == NULL)
		return mcp_err_set(err, MCP_E_INVALID, "subjectAltName \"%s\": "
		    "not an IP address", item);
	if (ip == NULL) {
		if (!dns_valid(v))
			return mcp_err_set(err, MCP_E_INVALID, "subjectAltName "
			    "\"%s\": not a DNS name or IP address", item);
		if ((dns = ASN1_IA5STRING_new()) == NULL ||
		    !ASN1_STRING_set(dns, v, (int)strlen(v))) {
			ASN1_IA5STRING_free(dns);
			return pki_err_ssl(err, "subjectAltName \"%s\"", item);
		}
	}
	if ((gn = GENERAL_NAME_new()) == NULL) {
		ASN1_OCTET_STRING_free(ip);
		ASN1_IA5STRING_free(dns);
		return pki_err_ssl(err, "subjectAltName \"%s\"", item);
	}
	if (ip)
		GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
	else
		GENERAL_NAME_set0_value(gn, GEN_DNS, dns);
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		if (GENERAL_NAME_cmp(sk_GENERAL_NAME_value(gens, i), gn) == 0) {
			GENERAL_NAME_free(gn);
			return 0;
		}
	}
	if (!sk_GENERAL_NAME_push(gens, gn)) {
		GENERAL_NAME_free(gn);
		return pki_err_ssl(err, "subjectAltName \"%s\"", item);
	}
	return 0;
}

/* DNS:<name>, DNS:localhost, IP:127.0.0.1, then the comma-separated extras. */
static GENERAL_NAMES *
sans_build(const char *name, const char *extra, struct mcp_err *err)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	char item[512];
	const char *p;

	if (gens == NULL) {
		pki_err_ssl(err, "subjectAltName");
		return NULL;
	}
	snprintf(item, sizeof(item), "DNS:%s", name);
	if (san_add(gens, item, err) == -1 ||
	    san_add(gens, "DNS:localhost", err) == -1 ||
	    san_add(gens, "IP:127.0.0.1", err) == -1)
		goto fail;
	for (p = extra; p && *p;) {
		size_t n = strcspn(p, ","), b = 0, e = n;

		while (b < e && (p[b] == ' ' || p[b] == '\t'))
			b++;
		while (e > b && (p[e - 1] == ' ' || p[e - 1] == '\t'))
			e--;
		if (e - b >= sizeof(item)) {
			mcp_err_set(err, MCP_E_INVALID, "subjectAltName: entry "
			    "longer than %zu bytes", sizeof(item) - 1);
			goto fail;
		}
		if (e > b) {
			memcpy(item, p + b, e - b);
			item[e - b] = '\0';
			if (san_add(gens, item, err) == -1)
				goto fail;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return gens;
fail:
	GENERAL_NAMES_free(gens);
	return NULL;
}

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

/*
 * Build and sign a certificate for key with CN cn.  issuer NULL: a
 * self-signed CA; else a leaf signed by (issuer, issuer_key) carrying sans.
 */
static X509 *
cert_build(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
    GENERAL_NAMES *sans, struct mcp_err *err)
{
	X509 *x = X509_new();
	X509_NAME *subj = X509_NAME_new();
	X509V3_CTX ctx;
	int ca = issuer == NULL;

	if (x == NULL || subj == NULL) {
		pki_err_ssl(err, "certificate for %s", cn);
		goto fail;
	}
	if (!X509_set_version(x, X509_VERSION_3))
		goto fail_ssl;
	if (set_random_serial(x, err) == -1)
		goto fail;
	if (!X509_gmtime_adj(X509_getm_notBefore(x), -PKI_BACKDATE_SECS) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x),
	    ca ? PKI_CA_DAYS : PKI_LEAF_DAYS, 0, NULL))
		goto fail_ssl;
	/* A leaf never outlives its CA. */
	if (!ca && ASN1_TIME_compare(X509_get0_notAfter(x),
	    X509_get0_notAfter(issuer)) > 0 &&
	    !X509_set1_notAfter(x, X509_get0_notAfter(issuer)))
		goto fail_ssl;
	if (!X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_subject_name(x, subj) ||
	    !X509_set_issuer_name(x, ca ? subj : X509_get_subject_name(issuer)) ||
	    !X509_set_pubkey(x, key))
		goto fail_ssl;

	X509V3_set_ctx(&ctx, ca ? x : issuer, x, NULL, NULL, 0);
	if (ca) {
		if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE", err) ||
		    add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign", err) ||
		    add_ext(x, &ctx, NID_subject_key_identifier, "hash", err) ||
		    add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always", err))
			goto fail;
	} else {
		if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE", err) ||
		    add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature", err) ||
		    add_ext(x, &ctx, NID_ext_key_usage, "serverAuth,clientAuth", err) ||
		    add_ext(x, &ctx, NID_subject_key_identifier, "hash", err) ||
		    add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always", err))
			goto fail;
		if (!X509_add1_ext_i2d(x, NID_subject_alt_name, sans, 0,
		    X509V3_ADD_DEFAULT))
			goto fail_ssl;
	}
	if (X509_sign(x, ca ? key : issuer_key, EVP_sha256()) <= 0)
		goto fail_ssl;
	X509_NAME_free(subj);
	return x;
fail_ssl:
	pki_err_ssl(err, "certificate for %s", cn);
fail:
	X509_NAME_free(subj);
	X509_free(x);
	return NULL;
}

static EVP_PKEY *
key_new(const char *what, struct mcp_err *err)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");

	if (key == NULL)
		pki_err_ssl(err, "generate EC P-256 key for %s", what);
	return key;
}

/* Refuse early when either file exists; the no-replace rename is the real guard. */
static int
refuse_existing(const char *keyp, const char *crtp, const char *what,
    struct mcp_err *err)
{
	const char *paths[2] = { keyp, crtp };
	int i, r;

	for (i = 0; i < 2; i++) {
		if ((r = pki_path_exists(paths[i], err)) == -1)
			return -1;
		if (r == 1)
			return mcp_err_set(err, MCP_E_EXISTS, "%s already exists; "
			    "refusing to overwrite %s", paths[i], what);
	}
	return 0;
}

/* Write key then certificate; a certificate that cannot be written takes its key with it. */
static int
write_pair(const char *keyp, const char *crtp, EVP_PKEY *key, X509 *crt,
    struct mcp_err *err)
{
	if (pki_write_key(keyp, key, err) == -1)
		return -1;
	if (pki_write_cert(crtp, crt, err) == -1) {
		unlink(keyp);
		return -1;
	}
	return 0;
}

int
pki_ca_init(const char *dir, struct mcp_err *err)
{
	char keyp[PATH_MAX], crtp[PATH_MAX];
	EVP_PKEY *key = NULL;
	X509 *crt = NULL;
	int rc = -1;

	if (dir == NULL || *dir == '\0')
		return mcp_err_set(err, MCP_E_INVALID, "ca init: no directory");
	if (path_join(keyp, sizeof(keyp), dir, "ca", ".key", err) == -1 ||
	    path_join(crtp, sizeof(crtp), dir, "ca", ".crt", err) == -1 ||
	    pki_dir_ensure(dir, err) == -1 ||
	    refuse_existing(keyp, crtp, "the CA", err) == -1 ||
	    (key = key_new("the CA", err)) == NULL ||
	    (crt = cert_build(key, PKI_CA_CN, NULL, NULL, NULL, err)) == NULL ||
	    write_pair(keyp, crtp, key, crt, err) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		mcp_err_prefix(err, "ca init %s", dir);
	X509_free(crt);
	EVP_PKEY_free(key);
	return rc;
}

/* The CA of cadir: its certificate must be a CA and match its key. */
static int
ca_load(const char *cadir, X509 **crt, EVP_PKEY **key, struct mcp_err *err)
{
	char keyp[PATH_MAX], crtp[PATH_MAX];

	*crt = NULL;
	*key = NULL;
	if (path_join(keyp, sizeof(keyp), cadir, "ca", ".key", err) == -1 ||
	    path_join(crtp, sizeof(crtp), cadir, "ca", ".crt", err) == -1)
		return -1;
	if ((*crt = pki_read_cert(crtp, err)) == NULL ||
	    (*key = pki_read_key(keyp, err)) == NULL)
		goto fail;
	if (X509_check_ca(*crt) <= 0) {
		mcp_err_set(err, MCP_E_INVALID, "%s: not a CA certificate", crtp);
		goto fail;
	}
	if (!X509_check_private_key(*crt, *key)) {
		ERR_clear_error();
		mcp_err_set(err, MCP_E_INVALID, "%s does not match %s", keyp,
		    crtp);
		goto fail;
	}
	return 0;
fail:
	if (err && err->code == MCP_E_NOTFOUND)
		mcp_err_prefix(err, "no CA in %s (run `mcp ca init` first)",
		    cadir);
	X509_free(*crt);
	EVP_PKEY_free(*key);
	*crt = NULL;
	*key = NULL;
	return -1;
}

int
pki_issue(const char *cadir, const char *name, const char *sans,
    const char *outdir, struct mcp_err *err)
{
	char keyp[PATH_MAX], crtp[PATH_MAX];
	const char *why;
	GENERAL_NAMES *gens = NULL;
	EVP_PKEY *cakey = NULL, *key = NULL;
	X509 *cacrt = NULL, *crt = NULL;
	int rc = -1;

	if (name == NULL || (why = name_check(name)) != NULL)
		return mcp_err_set(err, MCP_E_INVALID, "issue: name \"%.64s\" %s",
		    name ? name : "", name ? why : "is missing");
	if (cadir == NULL || *cadir == '\0')
		return mcp_err_set(err, MCP_E_INVALID, "issue %s: no CA "
		    "directory", name);
	if (outdir == NULL || *outdir == '\0')
		outdir = cadir;
	if (path_join(keyp, sizeof(keyp), outdir, name, ".key", err) == -1 ||
	    path_join(crtp, sizeof(crtp), outdir, name, ".crt", err) == -1 ||
	    (gens = sans_build(name, sans, err)) == NULL ||
	    ca_load(cadir, &cacrt, &cakey, err) == -1 ||
	    pki_dir_ensure(outdir, err) == -1 ||
	    refuse_existing(keyp, crtp, "an issued certificate", err) == -1 ||
	    (key = key_new(name, err)) == NULL ||
	    (crt = cert_build(key, name, cacrt, cakey, gens, err)) == NULL ||
	    write_pair(keyp, crtp, key, crt, err) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		mcp_err_prefix(err, "issue %s into %s (CA in %s)", name, outdir,
		    cadir);
	X509_free(crt);
	EVP_PKEY_free(key);
	X509_free(cacrt);
	EVP_PKEY_free(cakey);
	GENERAL_NAMES_free(gens);
	return rc;
}
