/*
 * tests/unit/test_pki.c: the platform CA (lib/pki): a CA is created once,
 * issued certificates chain to it (checked with X509_verify_cert and with
 * the `openssl verify` tool), carry the identity as CN, the documented SANs
 * and both TLS usages, keys are 0600, and nothing is ever overwritten.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/pki.h"
#include "util/spawn.h"

struct fixture {
	char dir[PATH_MAX];	/* the CA directory */
	char path[PATH_MAX];	/* scratch for p() */
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_pki.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static const char *
p(struct fixture *f, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	return f->path;
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static X509 *
load_cert(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x;

	assert_non_null(fp);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(x);
	return x;
}

static EVP_PKEY *
load_key(const char *path)
{
	FILE *fp = fopen(path, "r");
	EVP_PKEY *k;

	assert_non_null(fp);
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(k);
	return k;
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *s = calloc(1, 65536);

	assert_non_null(fp);
	fread(s, 1, 65535, fp);
	fclose(fp);
	return s;
}

/* The key is EC on P-256. */
static void
assert_p256(EVP_PKEY *k)
{
	char group[64];
	size_t n;

	assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
	assert_int_equal(EVP_PKEY_get_utf8_string_param(k, "group", group,
	    sizeof(group), &n), 1);
	assert_string_equal(group, "prime256v1");
}

/* Days from now to t (negative in the past). */
static int
days_from_now(const ASN1_TIME *t)
{
	int days, secs;

	assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, t), 1);
	return days;
}

static void
cn_of(X509 *x, char *out, size_t outsz)
{
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, out, (int)outsz) > 0);
}

/* 1 if the SAN extension holds DNS:v (ip 0) or IP:v (ip 1). */
static int
has_san(X509 *x, int ip, const char *v)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL);
	int i, found = 0;

	for (i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
		int type;
		void *val = GENERAL_NAME_get0_value(gn, &type);

		if (!ip && type == GEN_DNS) {
			const ASN1_IA5STRING *s = val;

			if ((size_t)ASN1_STRING_length(s) == strlen(v) &&
			    memcmp(ASN1_STRING_get0_data(s), v, strlen(v)) == 0)
				found = 1;
		} else if (ip && type == GEN_IPADD) {
			ASN1_OCTET_STRING *want = a2i_IPADDRESS(v);

			if (want && ASN1_STRING_cmp(want, val) == 0)
				found = 1;
			ASN1_OCTET_STRING_free(want);
		}
	}
	GENERAL_NAMES_free(gens);
	return found;
}

static int
san_count(X509 *x)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL);
	int n = gens ? sk_GENERAL_NAME_num(gens) : 0;

	GENERAL_NAMES_free(gens);
	return n;
}

/* X509_verify_cert of leaf against ca for a purpose; returns the verify error. */
static int
verify_chain(X509 *ca, X509 *leaf, int purpose)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int rc, verr;

	assert_int_equal(X509_STORE_add_cert(store, ca), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
	assert_int_equal(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
	rc = X509_verify_cert(ctx);
	verr = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc == 1 ? X509_V_OK : (verr ? verr : -1);
}

static void
no_temp_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".tmp."))
			fail_msg("leftover temporary file %s/%s", dir, de->d_name);
	closedir(d);
}

static void
test_ca_init(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	X509 *ca;
	EVP_PKEY *key;
	BASIC_CONSTRAINTS *bc;
	int crit = -1, days;
	const ASN1_INTEGER *serial;

	assert_int_equal(pki_ca_init(f->dir, &err), 0);
	assert_int_equal(mode_of(p(f, "ca.key")), 0600);
	assert_int_equal(mode_of(p(f, "ca.crt")), 0644);
	no_temp_files(f->dir);

	ca = load_cert(p(f, "ca.crt"));
	key = load_key(p(f, "ca.key"));
	assert_p256(key);
	assert_int_equal(X509_check_private_key(ca, key), 1);
	assert_int_equal(X509_get_version(ca), X509_VERSION_3);

	/* basicConstraints CA:TRUE, critical */
	bc = X509_get_ext_d2i(ca, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(crit, 1);
	assert_true(bc->ca);
	BASIC_CONSTRAINTS_free(bc);
	assert_true(X509_check_ca(ca) > 0);

	/* keyUsage keyCertSign + cRLSign */
	assert_int_equal(X509_get_key_usage(ca) & (KU_KEY_CERT_SIGN | KU_CRL_SIGN),
	    KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_true(X509_get_extension_flags(ca) & EXFLAG_SS);
	assert_int_equal(X509_verify(ca, key), 1);
	assert_int_equal(X509_get_signature_nid(ca), NID_ecdsa_with_SHA256);

	/* 10 years */
	days = days_from_now(X509_get0_notAfter(ca));
	assert_in_range(days, 3650 - 2, 3650 + 5);
	assert_true(days_from_now(X509_get0_notBefore(ca)) <= 0);

	/* a positive, non-trivial serial */
	serial = X509_get0_serialNumber(ca);
	assert_true(ASN1_STRING_length(serial) >= 8);
	assert_int_equal(ASN1_STRING_type(serial), V_ASN1_INTEGER);

	X509_free(ca);
	EVP_PKEY_free(key);
}

static void
test_ca_init_refuses_overwrite(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	char *before_key, *before_crt, *after_key, *after_crt;

	assert_int_equal(pki_ca_init(f->dir, &err), 0);
	before_key = slurp(p(f, "ca.key"));
	before_crt = slurp(p(f, "ca.crt"));

	assert_int_equal(pki_ca_init(f->dir, &err), -1);
	assert_int_equal(err.code, MCP_E_EXISTS);
	assert_non_null(strstr(err.msg, "ca.key already exists"));
	assert_non_null(strstr(err.msg, f->dir));

	after_key = slurp(p(f, "ca.key"));
	after_crt = slurp(p(f, "ca.crt"));
	assert_string_equal(before_key, after_key);
	assert_string_equal(before_crt, after_crt);

	/* A lone ca.crt (key removed) is not silently completed either. */
	assert_int_equal(unlink(p(f, "ca.key")), 0);
	mcp_err_clear(&err);
	assert_int_equal(pki_ca_init(f->dir, &err), -1);
	assert_int_equal(err.code, MCP_E_EXISTS);
	assert_non_null(strstr(err.msg, "ca.crt already exists"));
	assert_false(exists(p(f, "ca.key")));
	no_temp_files(f->dir);

	free(before_key);
	free(before_crt);
	free(after_key);
	free(after_crt);
}

static void
test_ca_init_creates_dir(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	char sub[PATH_MAX];

	snprintf(sub, sizeof(sub), "%s/ca", f->dir);
	assert_int_equal(pki_ca_init(sub, &err), 0);
	assert_int_equal(mode_of(sub), 0700);
	snprintf(sub, sizeof(sub), "%s/ca/ca.key", f->dir);
	assert_int_equal(mode_of(sub), 0600);

	mcp_err_clear(&err);
	assert_int_equal(pki_ca_init("", &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);
}

/* `mcp ca init DIR` whose parents do not exist creates them (the CA dir
 * itself 0700); an error names the path it failed on. */
static void
test_ca_init_creates_parents(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	char sub[PATH_MAX], file[PATH_MAX];
	FILE *fp;

	snprintf(sub, sizeof(sub), "%s/deep/er/ca/", f->dir);
	assert_int_equal(pki_ca_init(sub, &err), 0);
	snprintf(sub, sizeof(sub), "%s/deep/er/ca", f->dir);
	assert_int_equal(mode_of(sub), 0700);
	snprintf(sub, sizeof(sub), "%s/deep/er/ca/ca.crt", f->dir);
	assert_int_equal(access(sub, R_OK), 0);
	/* issuing into a directory whose parents are missing works too */
	snprintf(sub, sizeof(sub), "%s/deep/er/ca", f->dir);
	snprintf(file, sizeof(file), "%s/out/certs", f->dir);
	assert_int_equal(pki_issue(sub, "operator-x", NULL, file, &err), 0);
	assert_int_equal(mode_of(file), 0700);

	/* a parent that is a file: refused, naming it and the CA dir */
	snprintf(file, sizeof(file), "%s/plain", f->dir);
	assert_non_null(fp = fopen(file, "w"));
	fclose(fp);
	snprintf(sub, sizeof(sub), "%s/plain/x/ca", f->dir);
	assert_int_equal(pki_ca_init(sub, &err), -1);
	assert_non_null(strstr(err.msg, sub));
	assert_non_null(strstr(err.msg, "plain"));
	/* and for issue: the output directory and the CA are named */
	mcp_err_clear(&err);
	snprintf(sub, sizeof(sub), "%s/deep/er/ca", f->dir);
	snprintf(file, sizeof(file), "%s/plain/out", f->dir);
	assert_int_equal(pki_issue(sub, "operator-y", NULL, file, &err), -1);
	assert_non_null(strstr(err.msg, file));
	assert_non_null(strstr(err.msg, sub));
}

static void
test_issue(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	X509 *ca, *leaf;
	EVP_PKEY *key;
	BASIC_CONSTRAINTS *bc;
	char cn[128];
	int crit = -1, days;

	assert_int_equal(pki_ca_init(f->dir, &err), 0);
	assert_int_equal(pki_issue(f->dir, "agent-node1",
	    "DNS:node1.example.net, IP:10.0.0.5,extra.example.org, 192.168.1.2,"
	    "IP:::1, *.svc.example.net,localhost", NULL, &err), 0);
	assert_int_equal(mode_of(p(f, "agent-node1.key")), 0600);
	assert_int_equal(mode_of(p(f, "agent-node1.crt")), 0644);
	no_temp_files(f->dir);

	ca = load_cert(p(f, "ca.crt"));
	leaf = load_cert(p(f, "agent-node1.crt"));
	key = load_key(p(f, "agent-node1.key"));
	assert_p256(key);
	assert_int_equal(X509_check_private_key(leaf, key), 1);

	/* identity */
	cn_of(leaf, cn, sizeof(cn));
	assert_string_equal(cn, "agent-node1");
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(leaf),
	    X509_get_subject_name(ca)), 0);

	/* chain, for both TLS roles */
	assert_int_equal(verify_chain(ca, leaf, X509_PURPOSE_SSL_SERVER), X509_V_OK);
	assert_int_equal(verify_chain(ca, leaf, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
	assert_int_equal(X509_get_signature_nid(leaf), NID_ecdsa_with_SHA256);

	/* SANs: the three defaults plus the extras, no duplicate localhost */
	assert_true(has_san(leaf, 0, "agent-node1"));
	assert_true(has_san(leaf, 0, "localhost"));
	assert_true(has_san(leaf, 1, "127.0.0.1"));
	assert_true(has_san(leaf, 0, "node1.example.net"));
	assert_true(has_san(leaf, 0, "extra.example.org"));
	assert_true(has_san(leaf, 0, "*.svc.example.net"));
	assert_true(has_san(leaf, 1, "10.0.0.5"));
	assert_true(has_san(leaf, 1, "192.168.1.2"));
	assert_true(has_san(leaf, 1, "::1"));
	assert_int_equal(san_count(leaf), 9);
	assert_int_equal(X509_check_host(leaf, "node1.example.net", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(leaf, "a.svc.example.net", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(leaf, "10.0.0.5", 0), 1);
	assert_int_equal(X509_check_ip_asc(leaf, "10.0.0.6", 0), 0);

	/* EKU serverAuth + clientAuth, CA:FALSE critical, digitalSignature */
	assert_true(X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE);
	assert_int_equal(X509_get_extended_key_usage(leaf) &
	    (XKU_SSL_SERVER | XKU_SSL_CLIENT), XKU_SSL_SERVER | XKU_SSL_CLIENT);
	bc = X509_get_ext_d2i(leaf, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(crit, 1);
	assert_false(bc->ca);
	BASIC_CONSTRAINTS_free(bc);
	assert_int_equal(X509_check_ca(leaf), 0);
	assert_true(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE);
	assert_false(X509_get_key_usage(leaf) & KU_KEY_CERT_SIGN);

	/* ~2 years, never beyond the CA */
	days = days_from_now(X509_get0_notAfter(leaf));
	assert_in_range(days, 728, 732);
	assert_true(ASN1_TIME_compare(X509_get0_notAfter(leaf),
	    X509_get0_notAfter(ca)) <= 0);

	/* random serials */
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(ca),
	    X509_get0_serialNumber(leaf)), 0);

	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(key);
}

static void
test_issue_defaults_only(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	X509 *leaf, *other, *ca;

	assert_int_equal(pki_ca_init(f->dir, &err), 0);
	assert_int_equal(pki_issue(f->dir, "mcp-master", NULL, NULL, &err), 0);
	assert_int_equal(pki_issue(f->dir, "Alice.Operator_1", "", NULL, &err), 0);
	leaf = load_cert(p(f, "mcp-master.crt"));
	other = load_cert(p(f, "Alice.Operator_1.crt"));
	ca = load_cert(p(f, "ca.crt"));
	assert_int_equal(san_count(leaf), 3);
	assert_true(has_san(leaf, 0, "mcp-master"));
	assert_true(has_san(leaf, 0, "localhost"));
	assert_true(has_san(leaf, 1, "127.0.0.1"));
	assert_int_equal(verify_chain(ca, other, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(leaf),
	    X509_get0_serialNumber(other)), 0);
	X509_free(leaf);
	X509_free(other);
	X509_free(ca);
}

static void
test_issue_outdir(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	char out[PATH_MAX], path[PATH_MAX];

	assert_int_equal(pki_ca_init(f->dir, &err), 0);
	snprintf(out, sizeof(out), "%s/certs", f->dir);
	assert_int_equal(pki_issue(f->dir, "agent-a", NULL, out, &err), 0);
	snprintf(path, sizeof(path), "%s/agent-a.key", out);
	assert_int_equal(mode_of(path), 0600);
	snprintf(path, sizeof(path), "%s/agent-a.crt", out);
	assert_true(exists(path));
	assert_false(exists(p(f, "agent-a.crt")));
	assert_false(exists(p(f, "agent-a.key")));
}

static void
test_issue_modes_ignore_umask(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	mode_t old = umask(0);

	assert_int_equal(pki_ca_init(f->dir, &err), 0);
	assert_int_equal(pki_issue(f->dir, "n1", NULL, NULL, &err), 0);
	umask(old);
	assert_int_equal(mode_of(p(f, "ca.key")), 0600);
	assert_int_equal(mode_of(p(f, "n1.key")), 0600);
	assert_int_equal(mode_of(p(f, "n1.crt")), 0644);
}

static void
test_issue_refuses_overwrite(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	char *before, *after;

	assert_int_equal(pki_ca_init(f->dir, &err), 0);
	assert_int_equal(pki_issue(f->dir, "agent-a", NULL, NULL, &err), 0);
	before = slurp(p(f, "agent-a.key"));
	assert_int_equal(pki_issue(f->dir, "agent-a", "DNS:x.example", NULL,
	    &err), -1);
	assert_int_equal(err.code, MCP_E_EXISTS);
	assert_non_null(strstr(err.msg, "issue agent-a"));
	assert_non_null(strstr(err.msg, "agent-a.key already exists"));
	after = slurp(p(f, "agent-a.key"));
	assert_string_equal(before, after);
	no_temp_files(f->dir);
	free(before);
	free(after);

	/* only the certificate left: still refused, no stray key written */
	assert_int_equal(unlink(p(f, "agent-a.key")), 0);
	mcp_err_clear(&err);
	assert_int_equal(pki_issue(f->dir, "agent-a", NULL, NULL, &err), -1);
	assert_int_equal(err.code, MCP_E_EXISTS);
	assert_non_null(strstr(err.msg, "agent-a.crt already exists"));
	assert_false(exists(p(f, "agent-a.key")));
}

static void
test_issue_bad_names(void **state)
{
	struct fixture *f = *state;
	static const char *bad[] = {
		"", "-agent", ".hidden", "../x", "a/b", "a b", "a\nb", "a:b",
		"é", "ca", "CA",
		"a234567890123456789012345678901234567890123456789012345678901234",
		NULL
	};
	struct mcp_err err = MCP_ERR_INIT;
	size_t i;
	DIR *d;
	struct dirent *de;
	int n = 0;

	assert_int_equal(pki_ca_init(f->dir, &err), 0);
	for (i = 0; bad[i]; i++) {
		mcp_err_clear(&err);
		assert_int_equal(pki_issue(f->dir, bad[i], NULL, NULL, &err), -1);
		assert_int_equal(err.code, MCP_E_INVALID);
		assert_non_null(strstr(err.msg, "name"));
	}
	mcp_err_clear(&err);
	assert_int_equal(pki_issue(f->dir, NULL, NULL, NULL, &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);

	/* 63 characters is the limit, and fine */
	assert_int_equal(pki_issue(f->dir,
	    "a23456789012345678901234567890123456789012345678901234567890123",
	    NULL, NULL, &err), 0);

	/* nothing but ca.* and the 63-char name was created */
	d = opendir(f->dir);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	assert_int_equal(n, 4);
}

static void
test_issue_bad_sans(void **state)
{
	struct fixture *f = *state;
	static const char *bad[] = {
		"DNS:bad name", "IP:999.1.1.1", "IP:example.net", "DNS:",
		"a..b", "-x.example", "x.example-", "DNS:a/b", "*", "a,b c",
		NULL
	};
	struct mcp_err err = MCP_ERR_INIT;
	size_t i;

	assert_int_equal(pki_ca_init(f->dir, &err), 0);
	for (i = 0; bad[i]; i++) {
		mcp_err_clear(&err);
		assert_int_equal(pki_issue(f->dir, "n1", bad[i], NULL, &err), -1);
		assert_int_equal(err.code, MCP_E_INVALID);
		assert_non_null(strstr(err.msg, "subjectAltName"));
		assert_false(exists(p(f, "n1.key")));
		assert_false(exists(p(f, "n1.crt")));
	}
	/* empty items and spaces are tolerated */
	assert_int_equal(pki_issue(f->dir, "n1", " , DNS:ok.example ,,", NULL,
	    &err), 0);
}

static void
test_issue_without_ca(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;

	assert_int_equal(pki_issue(f->dir, "agent-a", NULL, NULL, &err), -1);
	assert_int_equal(err.code, MCP_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "mcp ca init"));
	assert_non_null(strstr(err.msg, "ca.crt"));
	assert_false(exists(p(f, "agent-a.key")));
}

static void
test_issue_mismatched_ca(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	char other[PATH_MAX], okey[PATH_MAX];

	assert_int_equal(pki_ca_init(f->dir, &err), 0);
	snprintf(other, sizeof(other), "%s/other", f->dir);
	assert_int_equal(pki_ca_init(other, &err), 0);
	snprintf(okey, sizeof(okey), "%s/ca.key", other);
	/* replace our CA key with the other CA's */
	assert_int_equal(rename(okey, p(f, "ca.key")), 0);
	assert_int_equal(pki_issue(f->dir, "agent-a", NULL, NULL, &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_non_null(strstr(err.msg, "does not match"));
	assert_false(exists(p(f, "agent-a.key")));

	/* a leaf certificate is not a CA */
	mcp_err_clear(&err);
	assert_int_equal(unlink(p(f, "ca.key")), 0);
	assert_int_equal(unlink(p(f, "ca.crt")), 0);
	assert_int_equal(pki_ca_init(f->dir, &err), 0);
	assert_int_equal(pki_issue(f->dir, "leaf", NULL, other, &err), 0);
	{
		char lk[PATH_MAX], lc[PATH_MAX], ok[PATH_MAX], oc[PATH_MAX];

		snprintf(lk, sizeof(lk), "%s/leaf.key", other);
		snprintf(lc, sizeof(lc), "%s/leaf.crt", other);
		snprintf(ok, sizeof(ok), "%s/ca.key", other);
		snprintf(oc, sizeof(oc), "%s/ca.crt", other);
		assert_int_equal(unlink(oc), 0);
		assert_int_equal(rename(lk, ok), 0);
		assert_int_equal(rename(lc, oc), 0);
	}
	assert_int_equal(pki_issue(other, "agent-b", NULL, NULL, &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_non_null(strstr(err.msg, "not a CA certificate"));
}

/* The openssl tool, an independent verifier, accepts the chain. */
static void
test_openssl_verify(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	char ca[PATH_MAX], crt[PATH_MAX];
	static const char *purposes[] = { "sslserver", "sslclient" };
	size_t i;

	assert_int_equal(pki_ca_init(f->dir, &err), 0);
	assert_int_equal(pki_issue(f->dir, "mcp-master", "DNS:master.example",
	    NULL, &err), 0);
	snprintf(ca, sizeof(ca), "%s/ca.crt", f->dir);
	snprintf(crt, sizeof(crt), "%s/mcp-master.crt", f->dir);
	for (i = 0; i < 2; i++) {
		const char *argv[] = { "openssl", "verify", "-purpose",
		    purposes[i], "-CAfile", ca, crt, NULL };
		struct spawn_opts o = { .timeout_ms = 30000, .stdout_fd = -1 };
		struct spawn_result r = { 0 };

		assert_int_equal(spawn_run(argv, &o, &r, &err), 0);
		if (r.status != 0)
			fail_msg("openssl verify -purpose %s: exit %d: %s",
			    purposes[i], r.status, spawn_errline(&r));
		assert_non_null(r.out.data);
		assert_non_null(strstr(r.out.data, ": OK"));
		spawn_result_free(&r);
	}

	/* and refuses it against an unrelated CA */
	{
		char other[PATH_MAX], oca[PATH_MAX];
		struct spawn_opts o = { .timeout_ms = 30000, .stdout_fd = -1 };
		struct spawn_result r = { 0 };

		snprintf(other, sizeof(other), "%s/other", f->dir);
		assert_int_equal(pki_ca_init(other, &err), 0);
		snprintf(oca, sizeof(oca), "%s/ca.crt", other);
		const char *argv[] = { "openssl", "verify", "-CAfile", oca, crt,
		    NULL };
		assert_int_equal(spawn_run(argv, &o, &r, &err), 0);
		assert_int_not_equal(r.status, 0);
		spawn_result_free(&r);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ca_init, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ca_init_refuses_overwrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ca_init_creates_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ca_init_creates_parents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issue_defaults_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issue_outdir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issue_modes_ignore_umask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issue_refuses_overwrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issue_bad_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issue_bad_sans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issue_without_ca, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issue_mismatched_ca, setup, teardown),
		cmocka_unit_test_setup_teardown(test_openssl_verify, setup, teardown),
	};

	return cmocka_run_group_tests_name("pki", tests, NULL, NULL);
}
