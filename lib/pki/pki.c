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

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/pki_cert.h"
#include "pki/pki_io.h"
#include "service/check.h"
#include "util/buf.h"

#define PKI_NAME_MAX 63
#define PKI_CA_CN "MCP CA"	/* has a space: no issued name can equal it */
#define PKI_INTERMEDIATE_CN "MCP intermediate "	/* + the name */

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

/*
 * The next item of the comma-separated list at *p, blanks around it
 * trimmed, into item (may be ""); advances *p.  Returns 1 for an item, 0 at
 * the end of the list (or when *p is NULL), -1 when an item does not fit.
 */
static int
list_next(const char **p, char *item, size_t itemsz, const char *what,
    struct mcp_err *err)
{
	const char *s = *p;
	size_t n, b = 0, e;

	if (s == NULL || *s == '\0')
		return 0;
	n = strcspn(s, ",");
	e = n;
	while (b < e && (s[b] == ' ' || s[b] == '\t'))
		b++;
	while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t'))
		e--;
	if (e - b >= itemsz)
		return mcp_err_set(err, MCP_E_INVALID, "%s: entry longer than "
		    "%zu bytes", what, itemsz - 1);
	memcpy(item, s + b, e - b);
	item[e - b] = '\0';
	*p = s + n + (s[n] == ',');
	return 1;
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
	int r;

	if (gens == NULL) {
		pki_err_ssl(err, "subjectAltName");
		return NULL;
	}
	snprintf(item, sizeof(item), "DNS:%s", name);
	if (san_add(gens, item, err) == -1 ||
	    san_add(gens, "DNS:localhost", err) == -1 ||
	    san_add(gens, "IP:127.0.0.1", err) == -1)
		goto fail;
	p = extra;
	while ((r = list_next(&p, item, sizeof(item), "subjectAltName",
	    err)) == 1)
		if (*item && san_add(gens, item, err) == -1)
			goto fail;
	if (r == -1)
		goto fail;
	return gens;
fail:
	GENERAL_NAMES_free(gens);
	return NULL;
}

/* The two certificates `mcp ca init` and `mcp ca issue NAME` make: the
 * self-signed CA (issuer NULL) or an identity signed by it. */
static X509 *
cert_build(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
    GENERAL_NAMES *sans, struct mcp_err *err)
{
	struct pki_cert_spec spec = {
		.profile = issuer ? PKI_PROFILE_IDENTITY : PKI_PROFILE_ROOT,
		.key = key, .cn = cn, .issuer = issuer,
		.issuer_key = issuer_key, .sans = sans,
	};

	return pki_cert_build(&spec, err);
}

static EVP_PKEY *
key_new(const char *what, struct mcp_err *err)
{
	return pki_key_new(what, err);
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

/*
 * Sign a new key for outdir/<name>.key + .crt with the CA of cadir; spec
 * says what to build (the key, CN and issuer are filled in here).  The
 * caller has checked name.
 */
static int
issue_from_ca(const char *cadir, const char *name, const char *outdir,
    struct pki_cert_spec *spec, struct mcp_err *err)
{
	char keyp[PATH_MAX], crtp[PATH_MAX];
	EVP_PKEY *cakey = NULL, *key = NULL;
	X509 *cacrt = NULL, *crt = NULL;
	int rc = -1;

	if (cadir == NULL || *cadir == '\0')
		return mcp_err_set(err, MCP_E_INVALID, "no CA directory");
	if (outdir == NULL || *outdir == '\0')
		outdir = cadir;
	if (path_join(keyp, sizeof(keyp), outdir, name, ".key", err) == -1 ||
	    path_join(crtp, sizeof(crtp), outdir, name, ".crt", err) == -1 ||
	    ca_load(cadir, &cacrt, &cakey, err) == -1 ||
	    pki_dir_ensure(outdir, err) == -1 ||
	    refuse_existing(keyp, crtp, "an issued certificate", err) == -1 ||
	    (key = key_new(name, err)) == NULL)
		goto out;
	spec->key = key;
	spec->issuer = cacrt;
	spec->issuer_key = cakey;
	if ((crt = pki_cert_build(spec, err)) == NULL ||
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
	return rc;
}

static int
name_refuse(const char *name, const char *why, struct mcp_err *err)
{
	return mcp_err_set(err, MCP_E_INVALID, "issue: name \"%.64s\" %s",
	    name ? name : "", name ? why : "is missing");
}

int
pki_issue(const char *cadir, const char *name, const char *sans,
    const char *outdir, struct mcp_err *err)
{
	struct pki_cert_spec spec = { .profile = PKI_PROFILE_IDENTITY,
	    .cn = name };
	const char *why;
	int rc = -1;

	if (name == NULL || (why = name_check(name)) != NULL)
		return name_refuse(name, why, err);
	if ((spec.sans = sans_build(name, sans, err)) == NULL)
		mcp_err_prefix(err, "issue %s", name);
	else if (issue_from_ca(cadir, name, outdir, &spec, err) == 0)
		rc = 0;	/* its errors name name, outdir and the CA */
	GENERAL_NAMES_free(spec.sans);
	return rc;
}

/*
 * The nameConstraints value for the comma-separated permit list: each
 * domain a permitted DNS subtree (checked by svc_check_domain, so it holds
 * no ',' or ';' the config syntax would split on), and every IPv4 and
 * IPv6 address excluded: a node's certificates name hosts, never
 * addresses.
 */
static int
nc_build(const char *permit, struct buf *out, struct mcp_err *err)
{
	char item[512];
	const char *p = permit, *why;
	int r, n = 0;

	if (buf_puts(out, "critical") == -1)
		goto nomem;
	while ((r = list_next(&p, item, sizeof(item), "permitted domain",
	    err)) == 1) {
		if (*item == '\0')
			continue;
		if ((why = svc_check_domain(item)) != NULL)
			return mcp_err_set(err, MCP_E_INVALID, "permitted domain "
			    "\"%s\" %s", item, why);
		if (buf_printf(out, ",permitted;DNS:%s", item) == -1)
			goto nomem;
		n++;
	}
	if (r == -1)
		return -1;
	if (n == 0)
		return mcp_err_set(err, MCP_E_INVALID, "an intermediate needs "
		    "at least one permitted domain");
	if (buf_puts(out, ",excluded;IP:0.0.0.0/0.0.0.0,excluded;IP:::/::") == -1)
		goto nomem;
	return 0;
nomem:
	return mcp_err_set(err, MCP_E_INTERNAL, "name constraints: out of memory");
}

int
pki_issue_intermediate(const char *cadir, const char *name,
    const char *permit, const char *outdir, struct mcp_err *err)
{
	struct pki_cert_spec spec = { .profile = PKI_PROFILE_INTERMEDIATE };
	struct buf nc = BUF_INIT;
	char cn[sizeof(PKI_INTERMEDIATE_CN) + PKI_NAME_MAX];
	const char *why;
	int rc = -1;

	if (name == NULL || (why = name_check(name)) != NULL)
		return name_refuse(name, why, err);
	snprintf(cn, sizeof(cn), "%s%s", PKI_INTERMEDIATE_CN, name);
	spec.cn = cn;
	if (nc_build(permit ? permit : "", &nc, err) == -1) {
		mcp_err_prefix(err, "issue intermediate %s", name);
	} else {
		spec.name_constraints = nc.data;
		rc = issue_from_ca(cadir, name, outdir, &spec, err);
	}
	buf_free(&nc);
	return rc;
}
