/*
 * tests/unit/test_pki.c: the platform CA (lib/pki): a CA is created once,
 * issued certificates chain to it (checked with X509_verify_cert and with
 * the `openssl verify` tool), carry the identity as CN, the documented SANs
 * and both TLS usages, keys are 0600, and nothing is ever overwritten.
 *
 * Node intermediates (SPEC §4.3): `mcp ca issue --intermediate --permit`
 * and pki_issue_intermediate make a constrained CA; the leaves a node
 * issues from it verify against the root alone with the chain the bundle
 * carries, names outside the constraints are refused before signing, and
 * OpenSSL itself refuses leaves signed by hand outside them (the test
 * compares pki_name_permitted with OpenSSL name by name).  Renewal checks,
 * serial/expiry read-back, and TLS through real servers: openssl s_server
 * and HAProxy (crt-list) with the bundle, curl trusting the root only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/pki.h"
#include "pki/pki_issuer.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/spawn.h"

#include "unit_net.h"

struct fixture {
	char dir[PATH_MAX];	/* the CA directory */
	char path[PATH_MAX];	/* scratch for p() */
	pid_t pids[4];		/* servers a test started (bg_start) */
	int npids;
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
	int i;

	/* servers a failed test left running */
	for (i = 0; i < f->npids; i++) {
		kill(f->pids[i], SIGTERM);
		waitpid(f->pids[i], NULL, 0);
	}
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

/*
 * X509_verify_cert of leaf against the trusted root alone, with untrusted
 * (may be NULL) offered as the chain, for purpose (0: none) and host (may
 * be NULL); returns the verify error (X509_V_OK when it verifies).
 */
static int
verify_full(X509 *ca, X509 *untrusted, X509 *leaf, int purpose,
    const char *host)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *chain = sk_X509_new_null();
	int rc, verr;

	assert_int_equal(X509_STORE_add_cert(store, ca), 1);
	if (untrusted)
		assert_true(sk_X509_push(chain, untrusted) > 0);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, chain), 1);
	if (purpose)
		assert_int_equal(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
	if (host)
		assert_int_equal(X509_VERIFY_PARAM_set1_host(
		    X509_STORE_CTX_get0_param(ctx), host, 0), 1);
	rc = X509_verify_cert(ctx);
	verr = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	sk_X509_free(chain);
	X509_STORE_free(store);
	return rc == 1 ? X509_V_OK : (verr ? verr : -1);
}

static int
verify_chain(X509 *ca, X509 *leaf, int purpose)
{
	return verify_full(ca, NULL, leaf, purpose, NULL);
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

/* ---- node intermediates and the certificates they issue (SPEC §4.3) ---- */

#define ZONE "svc.mcp.example.net"
#define HOST "a." ZONE

/* Issue the fixture's intermediate agent-a (permit) and load it. */
static struct pki_issuer *
intermediate(struct fixture *f, const char *name, const char *permit)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct pki_issuer *is = NULL;
	char crt[PATH_MAX], key[PATH_MAX];

	if (!exists(p(f, "ca.crt")))
		assert_int_equal(pki_ca_init(f->dir, &err), 0);
	if (pki_issue_intermediate(f->dir, name, permit, NULL, &err) == -1)
		fail_msg("pki_issue_intermediate %s: %s", name, err.msg);
	snprintf(crt, sizeof(crt), "%s/%s.crt", f->dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", f->dir, name);
	if (pki_issuer_load(crt, key, &is, &err) == -1)
		fail_msg("pki_issuer_load: %s", err.msg);
	return is;
}

/* A certificate made by hand, bypassing lib/pki entirely. */
struct hand {
	const char *cn;
	const char *san;	/* X509V3 value ("DNS:x", "IP:y") or NULL */
	const char *bc, *ku, *eku, *nc;	/* NULL: extension absent */
	long from, to;		/* validity, seconds from now */
};

static void
hand_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *v)
{
	X509_EXTENSION *e;

	if (v == NULL)
		return;
	e = X509V3_EXT_conf_nid(NULL, ctx, nid, v);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* Sign h for key with (issuer, issuer_key); issuer NULL: self-signed. */
static X509 *
hand_sign(const struct hand *h, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *issuer_key)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;

	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x),
	    (long)(random() & 0x7fffffff) + 1), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), h->from));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), h->to));
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)h->cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_subject_name(x, n), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer ?
	    X509_get_subject_name(issuer) : n), 1);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	hand_ext(x, &ctx, NID_basic_constraints, h->bc);
	hand_ext(x, &ctx, NID_key_usage, h->ku);
	hand_ext(x, &ctx, NID_ext_key_usage, h->eku);
	hand_ext(x, &ctx, NID_name_constraints, h->nc);
	hand_ext(x, &ctx, NID_subject_key_identifier, "hash");
	hand_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
	hand_ext(x, &ctx, NID_subject_alt_name, h->san);
	assert_true(X509_sign(x, issuer ? issuer_key : key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

/* A TLS server leaf for one DNS name (or IP), signed by hand. */
static X509 *
hand_leaf(const char *cn, const char *san, const char *eku, X509 *issuer,
    EVP_PKEY *issuer_key)
{
	struct hand h = { cn, san, "critical,CA:FALSE",
	    "critical,digitalSignature", eku, NULL, -300, 86400 };
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x;

	assert_non_null(k);
	x = hand_sign(&h, k, issuer, issuer_key);
	EVP_PKEY_free(k);
	return x;
}

static void
write_pem(const char *path, X509 *x, EVP_PKEY *key)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	if (x)
		assert_int_equal(PEM_write_X509(fp, x), 1);
	if (key)
		assert_int_equal(PEM_write_PrivateKey(fp, key, NULL, NULL, 0,
		    NULL, NULL), 1);
	assert_int_equal(fclose(fp), 0);
}

/* The n-th certificate of a PEM file (0 = first), or NULL. */
static X509 *
nth_cert(const char *path, int n)
{
	FILE *fp = fopen(path, "r");
	X509 *x = NULL;
	int i;

	assert_non_null(fp);
	for (i = 0; i <= n; i++) {
		X509_free(x);
		if ((x = PEM_read_X509(fp, NULL, NULL, NULL)) == NULL)
			break;
	}
	fclose(fp);
	ERR_clear_error();
	return x;
}

/* The DNS subtrees of x's nameConstraints, "p:a p:b x:c", critical flag. */
static void
nc_text(X509 *x, char *out, size_t outsz, int *crit)
{
	NAME_CONSTRAINTS *nc = X509_get_ext_d2i(x, NID_name_constraints, crit,
	    NULL);
	size_t len = 0;
	int i, k;

	out[0] = '\0';
	assert_non_null(nc);
	for (k = 0; k < 2; k++) {
		STACK_OF(GENERAL_SUBTREE) *st = k ? nc->excludedSubtrees :
		    nc->permittedSubtrees;

		for (i = 0; i < sk_GENERAL_SUBTREE_num(st); i++) {
			GENERAL_NAME *b = sk_GENERAL_SUBTREE_value(st, i)->base;

			if (b->type == GEN_DNS)
				len += (size_t)snprintf(out + len, outsz - len,
				    "%s%c:%s", len ? " " : "", k ? 'x' : 'p',
				    (const char *)ASN1_STRING_get0_data(
				    b->d.dNSName));
			else if (b->type == GEN_IPADD)
				len += (size_t)snprintf(out + len, outsz - len,
				    "%s%c:ip%d", len ? " " : "", k ? 'x' : 'p',
				    ASN1_STRING_length(b->d.iPAddress));
		}
	}
	NAME_CONSTRAINTS_free(nc);
}

static void
test_intermediate(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	X509 *ca, *im;
	EVP_PKEY *key;
	BASIC_CONSTRAINTS *bc;
	char cn[128], nc[512];
	int crit = -1, days;

	assert_int_equal(pki_ca_init(f->dir, &err), 0);
	assert_int_equal(pki_issue_intermediate(f->dir, "agent-a",
	    " svc.mcp.example.net , .edge.example.org", NULL, &err), 0);
	assert_int_equal(mode_of(p(f, "agent-a.key")), 0600);
	assert_int_equal(mode_of(p(f, "agent-a.crt")), 0644);
	no_temp_files(f->dir);

	ca = load_cert(p(f, "ca.crt"));
	im = load_cert(p(f, "agent-a.crt"));
	key = load_key(p(f, "agent-a.key"));
	assert_p256(key);
	assert_int_equal(X509_check_private_key(im, key), 1);
	cn_of(im, cn, sizeof(cn));
	assert_string_equal(cn, "MCP intermediate agent-a");

	/* CA:TRUE pathlen:0, critical */
	bc = X509_get_ext_d2i(im, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(crit, 1);
	assert_true(bc->ca);
	assert_non_null(bc->pathlen);
	assert_int_equal(ASN1_INTEGER_get(bc->pathlen), 0);
	BASIC_CONSTRAINTS_free(bc);
	assert_true(X509_check_ca(im) > 0);

	/* keyUsage keyCertSign + cRLSign only, critical */
	crit = -1;
	ASN1_BIT_STRING_free(X509_get_ext_d2i(im, NID_key_usage, &crit, NULL));
	assert_int_equal(crit, 1);
	assert_int_equal(X509_get_key_usage(im), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	/* EKU serverAuth only */
	assert_int_equal(X509_get_extended_key_usage(im), XKU_SSL_SERVER);

	/* nameConstraints, critical: the permitted DNS subtrees as given,
	 * every IPv4 and IPv6 address excluded */
	nc_text(im, nc, sizeof(nc), &crit);
	assert_int_equal(crit, 1);
	assert_string_equal(nc, "p:svc.mcp.example.net p:.edge.example.org "
	    "x:ip8 x:ip32");

	/* AKI = the root's SKI; SKI present */
	assert_non_null(X509_get0_subject_key_id(im));
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(im),
	    X509_get0_subject_key_id(ca)), 0);

	/* 5 years, never beyond the root; chains to the root */
	days = days_from_now(X509_get0_notAfter(im));
	assert_in_range(days, 5 * 365 - 1, 5 * 365 + 2);
	assert_true(ASN1_TIME_compare(X509_get0_notAfter(im),
	    X509_get0_notAfter(ca)) <= 0);
	assert_int_equal(verify_chain(ca, im, 0), X509_V_OK);

	/* refuses to overwrite, like every issue */
	assert_int_equal(pki_issue_intermediate(f->dir, "agent-a", ZONE, NULL,
	    &err), -1);
	assert_int_equal(err.code, MCP_E_EXISTS);

	X509_free(ca);
	X509_free(im);
	EVP_PKEY_free(key);
}

/* Under a root that ends in 100 days, the intermediate ends with it. */
static void
test_intermediate_capped_by_root(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	struct hand root = { "short root", NULL, "critical,CA:TRUE",
	    "critical,keyCertSign,cRLSign", NULL, NULL, -300, 100 * 86400 };
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *ca = hand_sign(&root, k, NULL, NULL), *im;

	write_pem(p(f, "ca.crt"), ca, NULL);
	write_pem(p(f, "ca.key"), NULL, k);
	assert_int_equal(pki_issue_intermediate(f->dir, "agent-a", ZONE, NULL,
	    &err), 0);
	im = load_cert(p(f, "agent-a.crt"));
	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(im),
	    X509_get0_notAfter(ca)), 0);
	X509_free(im);
	X509_free(ca);
	EVP_PKEY_free(k);
}

static void
test_intermediate_bad_permit(void **state)
{
	struct fixture *f = *state;
	static const char *bad[] = {
		"Evil_Domain", "example..net", ".", "1.2.3.4", "*.example.net",
		"example.net.", "ok.example.net,bad domain", "a;b.example.net",
		"-x.example.net", NULL
	};
	struct mcp_err err = MCP_ERR_INIT;
	size_t i;

	assert_int_equal(pki_ca_init(f->dir, &err), 0);
	for (i = 0; bad[i]; i++) {
		const char *named = strrchr(bad[i], ',') ? "bad domain" : bad[i];

		mcp_err_clear(&err);
		assert_int_equal(pki_issue_intermediate(f->dir, "agent-a", bad[i],
		    NULL, &err), -1);
		assert_int_equal(err.code, MCP_E_INVALID);
		if (!strstr(err.msg, named) || !strstr(err.msg, "agent-a"))
			fail_msg("%s: message does not name it: %s", bad[i],
			    err.msg);
		assert_false(exists(p(f, "agent-a.key")));
		assert_false(exists(p(f, "agent-a.crt")));
	}
	/* no domain at all */
	assert_int_equal(pki_issue_intermediate(f->dir, "agent-a", " , ", NULL,
	    &err), -1);
	assert_non_null(strstr(err.msg, "at least one permitted domain"));
	assert_int_equal(pki_issue_intermediate(f->dir, "agent-a", NULL, NULL,
	    &err), -1);
	/* a bad name, as for identities */
	assert_int_equal(pki_issue_intermediate(f->dir, "../x", ZONE, NULL,
	    &err), -1);
	assert_non_null(strstr(err.msg, "name"));
	assert_false(exists(p(f, "agent-a.key")));
}

static void
test_leaf(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	struct pki_issuer *is = intermediate(f, "agent-a", ZONE);
	struct pki_cert_info info;
	X509 *ca, *im, *leaf, *chain, *third;
	EVP_PKEY *key;
	BASIC_CONSTRAINTS *bc;
	char cn[256], bundle[PATH_MAX];
	int crit = -1, days;

	snprintf(bundle, sizeof(bundle), "%s/%s.pem", f->dir, HOST);
	assert_int_equal(pki_leaf_issue(is, HOST, bundle, &info, &err), 0);
	assert_int_equal(mode_of(bundle), 0600);
	no_temp_files(f->dir);

	/* the bundle: leaf, then the intermediate, then the key */
	ca = load_cert(p(f, "ca.crt"));
	im = load_cert(p(f, "agent-a.crt"));
	leaf = nth_cert(bundle, 0);
	chain = nth_cert(bundle, 1);
	third = nth_cert(bundle, 2);
	assert_non_null(leaf);
	assert_non_null(chain);
	assert_null(third);
	assert_int_equal(X509_cmp(chain, im), 0);
	key = load_key(bundle);
	assert_p256(key);
	assert_int_equal(X509_check_private_key(leaf, key), 1);
	{
		char *text = slurp(bundle);
		char *c1 = strstr(text, "BEGIN CERTIFICATE");
		char *c2 = c1 ? strstr(c1 + 1, "BEGIN CERTIFICATE") : NULL;
		char *k = strstr(text, "BEGIN PRIVATE KEY");

		assert_true(c1 && c2 && k && c1 < c2 && c2 < k);
		free(text);
	}

	/* CN = SAN = the hostname, nothing else */
	cn_of(leaf, cn, sizeof(cn));
	assert_string_equal(cn, HOST);
	assert_int_equal(san_count(leaf), 1);
	assert_true(has_san(leaf, 0, HOST));
	/* serverAuth only: never usable as an mTLS identity */
	assert_int_equal(X509_get_extended_key_usage(leaf), XKU_SSL_SERVER);
	assert_int_equal(X509_get_key_usage(leaf), KU_DIGITAL_SIGNATURE);
	bc = X509_get_ext_d2i(leaf, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(crit, 1);
	assert_false(bc->ca);
	BASIC_CONSTRAINTS_free(bc);
	/* AKI = the intermediate's SKI */
	assert_non_null(X509_get0_subject_key_id(leaf));
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf),
	    X509_get0_subject_key_id(im)), 0);
	/* a random serial of at least 64 bits */
	assert_true(ASN1_STRING_length(X509_get0_serialNumber(leaf)) >= 8);
	assert_true(strlen(info.serial) >= 16);
	/* 90 days */
	days = days_from_now(X509_get0_notAfter(leaf));
	assert_in_range(days, 89, 90);
	assert_int_equal(X509_get_signature_nid(leaf), NID_ecdsa_with_SHA256);

	/* verifies against the root alone with the intermediate as the
	 * untrusted chain, for the hostname, as a TLS server */
	assert_int_equal(verify_full(ca, im, leaf, X509_PURPOSE_SSL_SERVER,
	    HOST), X509_V_OK);
	/* ... and not without the chain (a leaf-only server fails) */
	assert_int_equal(verify_full(ca, NULL, leaf, X509_PURPOSE_SSL_SERVER,
	    HOST), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	/* ... nor for another name, nor as a TLS client */
	assert_int_equal(verify_full(ca, im, leaf, X509_PURPOSE_SSL_SERVER,
	    "b." ZONE), X509_V_ERR_HOSTNAME_MISMATCH);
	assert_int_equal(verify_full(ca, im, leaf, X509_PURPOSE_SSL_CLIENT,
	    NULL), X509_V_ERR_INVALID_PURPOSE);

	/* the zone itself is inside "svc.mcp.example.net" */
	snprintf(bundle, sizeof(bundle), "%s/zone.pem", f->dir);
	assert_int_equal(pki_leaf_issue(is, ZONE, bundle, NULL, &err), 0);

	X509_free(ca);
	X509_free(im);
	X509_free(leaf);
	X509_free(chain);
	EVP_PKEY_free(key);
	pki_issuer_free(is);
}

/* The openssl tool agrees, from the files alone. */
static void
test_leaf_openssl_verify(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	struct pki_issuer *is = intermediate(f, "agent-a", ZONE);
	char ca[PATH_MAX], im[PATH_MAX], bundle[PATH_MAX];
	const char *ok_argv[] = { "openssl", "verify", "-purpose", "sslserver",
	    "-verify_hostname", HOST, "-CAfile", ca, "-untrusted", im, bundle,
	    NULL };
	const char *own_argv[] = { "openssl", "verify", "-CAfile", ca,
	    "-untrusted", bundle, bundle, NULL };
	const char *alone_argv[] = { "openssl", "verify", "-CAfile", ca, bundle,
	    NULL };
	const char *const *runs[] = { ok_argv, own_argv, alone_argv };
	size_t i;

	snprintf(ca, sizeof(ca), "%s/ca.crt", f->dir);
	snprintf(im, sizeof(im), "%s/agent-a.crt", f->dir);
	snprintf(bundle, sizeof(bundle), "%s/leaf.pem", f->dir);
	assert_int_equal(pki_leaf_issue(is, HOST, bundle, NULL, &err), 0);
	for (i = 0; i < 3; i++) {
		struct spawn_opts o = { .timeout_ms = 30000, .stdout_fd = -1 };
		struct spawn_result r = { 0 };

		assert_int_equal(spawn_run(runs[i], &o, &r, &err), 0);
		/* the last one has no chain: it must fail */
		if ((r.status == 0) != (i < 2))
			fail_msg("openssl verify run %zu: exit %d: %s", i,
			    r.status, spawn_errline(&r));
		spawn_result_free(&r);
	}
	pki_issuer_free(is);
}

static void
test_leaf_refused(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *host;
		const char *says;
	} bad[] = {
		{ "evil.example.com", "outside" },
		{ "evilsvc.mcp.example.net", "outside" },
		{ "a.evilsvc.mcp.example.net", "outside" },
		{ "mcp.example.net", "outside" },
		{ "svc.mcp.example.net.evil.com", "outside" },
		{ "A." ZONE, "lowercase" },
		{ "*." ZONE, "lowercase" },
		{ "", "empty" },
		{ "a..svc.mcp.example.net", "empty label" },
		{ NULL, NULL }
	};
	struct mcp_err err = MCP_ERR_INIT;
	struct pki_issuer *is = intermediate(f, "agent-a", ZONE);
	struct pki_issuer *dot = intermediate(f, "agent-d", ".d.example.net");
	char path[PATH_MAX];
	size_t i;

	snprintf(path, sizeof(path), "%s/leaf.pem", f->dir);
	for (i = 0; bad[i].host; i++) {
		mcp_err_clear(&err);
		assert_int_equal(pki_issuer_check(is, bad[i].host, &err), -1);
		assert_int_equal(pki_leaf_issue(is, bad[i].host, path, NULL,
		    &err), -1);
		assert_int_equal(err.code, MCP_E_INVALID);
		if (!strstr(err.msg, bad[i].says) ||
		    !strstr(err.msg, bad[i].host))
			fail_msg("%s: %s", bad[i].host, err.msg);
		assert_false(exists(path));
	}
	/* the message names the intermediate and what it permits */
	assert_int_equal(pki_leaf_issue(is, "evil.example.com", path, NULL,
	    &err), -1);
	assert_non_null(strstr(err.msg, "agent-a.crt"));
	assert_non_null(strstr(err.msg, "(" ZONE ")"));

	/* ".d.example.net": below it only */
	assert_int_equal(pki_issuer_check(dot, "x.d.example.net", &err), 0);
	assert_int_equal(pki_issuer_check(dot, "d.example.net", &err), -1);
	assert_int_equal(pki_issuer_check(dot, "xd.example.net", &err), -1);
	assert_false(exists(path));

	pki_issuer_free(is);
	pki_issuer_free(dot);
}

/*
 * The constraints are not only our check: OpenSSL enforces them on
 * certificates signed with the intermediate's key by hand.  And for every
 * name of a table, pki_name_permitted decides exactly as OpenSSL does.
 */
static void
test_constraints_enforced_by_openssl(void **state)
{
	struct fixture *f = *state;
	static const char *names[] = {
		HOST, ZONE, "x.y." ZONE, "evil.example.com",
		"evilsvc.mcp.example.net", "mcp.example.net", "a.evilsvc.mcp.example.net",
		"svc.mcp.example.net.evil.com", "p.edge.example.org",
		"edge.example.org", "xedge.example.org", "example.org", NULL
	};
	struct pki_issuer *is = intermediate(f, "agent-a",
	    ZONE ",.edge.example.org");
	X509 *ca = load_cert(p(f, "ca.crt")), *im = load_cert(p(f, "agent-a.crt"));
	EVP_PKEY *imkey = load_key(p(f, "agent-a.key"));
	X509 *x;
	size_t i;

	for (i = 0; names[i]; i++) {
		char san[300];
		int ours = pki_name_permitted(pki_issuer_constraints(is), names[i]);
		int verr;

		snprintf(san, sizeof(san), "DNS:%s", names[i]);
		x = hand_leaf(names[i], san, "serverAuth", im, imkey);
		verr = verify_full(ca, im, x, X509_PURPOSE_SSL_SERVER, NULL);
		if ((verr == X509_V_OK) != ours)
			fail_msg("%s: pki_name_permitted %d, OpenSSL: %s",
			    names[i], ours, X509_verify_cert_error_string(verr));
		if (!ours && verr != X509_V_ERR_PERMITTED_VIOLATION)
			fail_msg("%s: %s", names[i],
			    X509_verify_cert_error_string(verr));
		X509_free(x);
	}

	/* an address: every IP is excluded */
	x = hand_leaf("a", "IP:127.0.0.1", "serverAuth", im, imkey);
	assert_int_equal(verify_full(ca, im, x, X509_PURPOSE_SSL_SERVER, NULL),
	    X509_V_ERR_EXCLUDED_VIOLATION);
	X509_free(x);
	/* a name only in the CN (no SAN) is held to the constraints too */
	x = hand_leaf("evil.example.com", NULL, "serverAuth", im, imkey);
	assert_int_equal(verify_full(ca, im, x, X509_PURPOSE_SSL_SERVER, NULL),
	    X509_V_ERR_PERMITTED_VIOLATION);
	X509_free(x);
	/* a client identity minted below the intermediate is refused */
	x = hand_leaf("mcp-master", NULL, "clientAuth", im, imkey);
	assert_int_equal(verify_full(ca, im, x, X509_PURPOSE_SSL_CLIENT, NULL),
	    X509_V_ERR_INVALID_PURPOSE);
	X509_free(x);
	/* a CA below it (pathlen:0) is refused */
	{
		struct hand sub = { "sub", NULL, "critical,CA:TRUE",
		    "critical,keyCertSign", NULL, NULL, -300, 86400 };
		EVP_PKEY *sk = EVP_EC_gen("P-256");
		X509 *s = hand_sign(&sub, sk, im, imkey);
		X509 *l = hand_leaf(HOST, "DNS:" HOST, "serverAuth", s, sk);
		X509_STORE *store = X509_STORE_new();
		X509_STORE_CTX *ctx = X509_STORE_CTX_new();
		STACK_OF(X509) *chain = sk_X509_new_null();

		X509_STORE_add_cert(store, ca);
		sk_X509_push(chain, im);
		sk_X509_push(chain, s);
		X509_STORE_CTX_init(ctx, store, l, chain);
		assert_int_equal(X509_verify_cert(ctx), 0);
		assert_int_equal(X509_STORE_CTX_get_error(ctx),
		    X509_V_ERR_PATH_LENGTH_EXCEEDED);
		X509_STORE_CTX_free(ctx);
		sk_X509_free(chain);
		X509_STORE_free(store);
		X509_free(l);
		X509_free(s);
		EVP_PKEY_free(sk);
	}

	X509_free(ca);
	X509_free(im);
	EVP_PKEY_free(imkey);
	pki_issuer_free(is);
}

static void
test_name_permitted(void **state)
{
	static char *permitted[] = { "svc.mcp.example.net", ".edge.example.org" };
	static char *excluded[] = { "db.svc.mcp.example.net" };
	static char *nothing[] = { "" };
	const struct pki_constraints c = { permitted, 2, excluded, 1 };
	const struct pki_constraints none = { NULL, 0, NULL, 0 };
	const struct pki_constraints all_out = { permitted, 2, nothing, 1 };
	static const struct {
		const char *host;
		int want;
	} t[] = {
		{ "a.svc.mcp.example.net", 1 },
		{ "svc.mcp.example.net", 1 },
		{ "evilsvc.mcp.example.net", 0 },
		{ "evil.example.com", 0 },
		{ "db.svc.mcp.example.net", 0 },	/* excluded */
		{ "x.db.svc.mcp.example.net", 0 },
		{ "xdb.svc.mcp.example.net", 1 },
		{ "www.edge.example.org", 1 },
		{ "edge.example.org", 0 },		/* ".": strictly below */
		{ "", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (pki_name_permitted(&c, t[i].host) != t[i].want)
			fail_msg("pki_name_permitted(\"%s\") != %d", t[i].host,
			    t[i].want);
		/* no permitted subtree permits nothing; "" excludes all */
		assert_int_equal(pki_name_permitted(&none, t[i].host), 0);
		assert_int_equal(pki_name_permitted(&all_out, t[i].host), 0);
	}
}

static void
test_issuer_load_refusals(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	struct pki_issuer *is = (void *)1;
	char crt[PATH_MAX], key[PATH_MAX];

	assert_int_equal(pki_ca_init(f->dir, &err), 0);
	snprintf(crt, sizeof(crt), "%s/ca.crt", f->dir);
	snprintf(key, sizeof(key), "%s/ca.key", f->dir);
	/* the platform CA itself: unconstrained, refused */
	assert_int_equal(pki_issuer_load(crt, key, &is, &err), -1);
	assert_null(is);
	assert_non_null(strstr(err.msg, "no permitted DNS name constraints"));
	assert_non_null(strstr(err.msg, crt));

	/* an identity certificate is not a CA */
	assert_int_equal(pki_issue(f->dir, "agent-x", NULL, NULL, &err), 0);
	snprintf(crt, sizeof(crt), "%s/agent-x.crt", f->dir);
	snprintf(key, sizeof(key), "%s/agent-x.key", f->dir);
	assert_int_equal(pki_issuer_load(crt, key, &is, &err), -1);
	assert_non_null(strstr(err.msg, "not a CA"));

	/* the wrong key */
	pki_issuer_free(intermediate(f, "agent-a", ZONE));
	snprintf(crt, sizeof(crt), "%s/agent-a.crt", f->dir);
	assert_int_equal(pki_issuer_load(crt, key, &is, &err), -1);
	assert_non_null(strstr(err.msg, "does not match"));

	/* missing */
	snprintf(key, sizeof(key), "%s/nope.key", f->dir);
	assert_int_equal(pki_issuer_load(crt, key, &is, &err), -1);
	assert_int_equal(err.code, MCP_E_NOTFOUND);

	/* expired */
	{
		struct hand h = { "old", NULL, "critical,CA:TRUE,pathlen:0",
		    "critical,keyCertSign", NULL, "critical,permitted;DNS:" ZONE,
		    -200 * 86400, -100 * 86400 };
		EVP_PKEY *ck = load_key(p(f, "ca.key")), *k = EVP_EC_gen("P-256");
		X509 *ca = load_cert(p(f, "ca.crt")), *x = hand_sign(&h, k, ca, ck);

		write_pem(p(f, "old.crt"), x, NULL);
		write_pem(p(f, "old.key"), NULL, k);
		snprintf(crt, sizeof(crt), "%s/old.crt", f->dir);
		snprintf(key, sizeof(key), "%s/old.key", f->dir);
		assert_int_equal(pki_issuer_load(crt, key, &is, &err), -1);
		assert_int_equal(err.code, MCP_E_PRECONDITION);
		assert_non_null(strstr(err.msg, "expired"));
		X509_free(x);
		X509_free(ca);
		EVP_PKEY_free(k);
		EVP_PKEY_free(ck);
	}
}

static void
test_cert_info(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	struct pki_issuer *is = intermediate(f, "agent-a", ZONE);
	struct pki_cert_info issued, read;
	char bundle[PATH_MAX], want[256];
	const char *argv[] = { "openssl", "x509", "-noout", "-serial", "-in",
	    bundle, NULL };
	struct spawn_opts o = { .timeout_ms = 30000, .stdout_fd = -1 };
	struct spawn_result r = { 0 };
	X509 *leaf;
	time_t now = time(NULL);

	snprintf(bundle, sizeof(bundle), "%s/leaf.pem", f->dir);
	assert_int_equal(pki_leaf_issue(is, HOST, bundle, &issued, &err), 0);
	assert_int_equal(pki_cert_info(bundle, &read, &err), 0);
	assert_string_equal(issued.serial, read.serial);
	assert_int_equal(issued.not_after, read.not_after);
	assert_int_equal(issued.not_before, read.not_before);
	/* 90 days from now, backdated 5 minutes */
	assert_in_range(read.not_after - now, 90 * 86400 - 60, 90 * 86400 + 60);
	assert_in_range(now - read.not_before, 240, 360);
	assert_true(read.not_after <= pki_issuer_not_after(is));

	/* the serial reads as `openssl x509 -serial` prints it */
	assert_int_equal(spawn_run(argv, &o, &r, &err), 0);
	assert_int_equal(r.status, 0);
	snprintf(want, sizeof(want), "serial=%s\n", read.serial);
	assert_string_equal(r.out.data, want);
	spawn_result_free(&r);
	/* and is the certificate's */
	leaf = nth_cert(bundle, 0);
	{
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL);
		char *hex = BN_bn2hex(bn);

		assert_string_equal(hex, read.serial);
		OPENSSL_free(hex);
		BN_free(bn);
	}
	X509_free(leaf);

	/* a second leaf has another serial */
	assert_int_equal(pki_leaf_issue(is, HOST, bundle, &issued, &err), 0);
	assert_string_not_equal(issued.serial, read.serial);

	/* errors name the file */
	assert_int_equal(pki_cert_info(p(f, "nope.pem"), &read, &err), -1);
	assert_int_equal(err.code, MCP_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "nope.pem"));
	pki_issuer_free(is);
}

static void
test_renewal_due(void **state)
{
	static const struct {
		int64_t not_after, now, threshold;
		int want;
	} t[] = {
		{ 1000 + 31 * 86400, 1000, PKI_RENEW_SECS, 0 },
		{ 1000 + 30 * 86400, 1000, PKI_RENEW_SECS, 0 },	/* exactly 30 days */
		{ 1000 + 30 * 86400 - 1, 1000, PKI_RENEW_SECS, 1 },
		{ 1000 + 86400, 1000, PKI_RENEW_SECS, 1 },
		{ 1000, 1000, PKI_RENEW_SECS, 1 },		/* ends now */
		{ 500, 1000, PKI_RENEW_SECS, 1 },		/* ended */
		{ 1000 + 90 * 86400, 1000, PKI_RENEW_SECS, 0 },	/* fresh */
		{ 1000 + 10, 1000, 0, 0 },			/* no margin */
		{ 1000, 1000, 0, 0 },
		{ 999, 1000, 0, 1 },
		{ 1798761600, 1764633600, PKI_RENEW_SECS, 0 },	/* real dates */
		{ 1798761600, 1797000000, PKI_RENEW_SECS, 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (pki_renewal_due(t[i].not_after, t[i].now, t[i].threshold) !=
		    t[i].want)
			fail_msg("row %zu: pki_renewal_due(%lld, %lld, %lld) != %d",
			    i, (long long)t[i].not_after, (long long)t[i].now,
			    (long long)t[i].threshold, t[i].want);
}

/* Copy a file's bytes to another path, optionally dropping its key. */
static void
copy_without_key(const char *from, const char *to)
{
	char *s = slurp(from), *k = strstr(s, "-----BEGIN PRIVATE KEY");
	FILE *fp = fopen(to, "w");

	assert_non_null(k);
	*k = '\0';
	assert_non_null(fp);
	fputs(s, fp);
	fclose(fp);
	free(s);
}

static void
test_leaf_check(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	struct pki_issuer *is = intermediate(f, "agent-a", ZONE);
	struct pki_issuer *other = intermediate(f, "agent-b", ZONE);
	struct pki_cert_info info, again;
	char bundle[PATH_MAX], path[PATH_MAX];
	int64_t now = (int64_t)time(NULL);
	int issued = -1;

	snprintf(bundle, sizeof(bundle), "%s/leaf.pem", f->dir);
	assert_string_equal(pki_leaf_check(is, HOST, bundle, now), "is missing");
	assert_int_equal(pki_leaf_ensure(is, HOST, bundle, now, &issued, &info,
	    &err), 0);
	assert_int_equal(issued, 1);
	assert_null(pki_leaf_check(is, HOST, bundle, now));
	/* good as it is: not reissued */
	assert_int_equal(pki_leaf_ensure(is, HOST, bundle, now, &issued, &again,
	    &err), 0);
	assert_int_equal(issued, 0);
	assert_string_equal(info.serial, again.serial);

	/* the renewal window, from the certificate's own notAfter */
	assert_null(pki_leaf_check(is, HOST, bundle, info.not_after - 31 * 86400));
	assert_null(pki_leaf_check(is, HOST, bundle, info.not_after - 30 * 86400));
	assert_string_equal(pki_leaf_check(is, HOST, bundle,
	    info.not_after - 29 * 86400), "expires in less than 30 days");
	assert_string_equal(pki_leaf_check(is, HOST, bundle, info.not_after),
	    "has expired");
	/* renewal replaces it in place, still 0600, no temporary left */
	assert_int_equal(pki_leaf_ensure(is, HOST, bundle,
	    info.not_after - 29 * 86400, &issued, &again, &err), 0);
	assert_int_equal(issued, 1);
	assert_string_not_equal(info.serial, again.serial);
	assert_int_equal(mode_of(bundle), 0600);
	no_temp_files(f->dir);

	/* another hostname, another issuer */
	assert_string_equal(pki_leaf_check(is, "b." ZONE, bundle, now),
	    "is for another hostname");
	assert_string_equal(pki_leaf_check(other, HOST, bundle, now),
	    "was issued by another CA");
	assert_int_equal(pki_leaf_ensure(other, HOST, bundle, now, &issued,
	    NULL, &err), 0);
	assert_int_equal(issued, 1);
	assert_null(pki_leaf_check(other, HOST, bundle, now));

	/* broken files */
	snprintf(path, sizeof(path), "%s/nokey.pem", f->dir);
	copy_without_key(bundle, path);
	assert_string_equal(pki_leaf_check(other, HOST, path, now),
	    "holds no private key");
	snprintf(path, sizeof(path), "%s/garbage.pem", f->dir);
	assert_int_equal(file_write_atomic(path, "junk\n", 5, 0600, &err), 0);
	assert_string_equal(pki_leaf_check(other, HOST, path, now),
	    "holds no certificate");
	{
		/* the leaf without the intermediate after it */
		X509 *leaf = nth_cert(bundle, 0);
		EVP_PKEY *k = load_key(bundle), *k2 = EVP_EC_gen("P-256");

		snprintf(path, sizeof(path), "%s/nochain.pem", f->dir);
		write_pem(path, leaf, k);
		assert_string_equal(pki_leaf_check(other, HOST, path, now),
		    "does not carry the intermediate after the certificate");
		snprintf(path, sizeof(path), "%s/wrongkey.pem", f->dir);
		write_pem(path, leaf, k2);
		assert_string_equal(pki_leaf_check(other, HOST, path, now),
		    "holds a key that does not match its certificate");
		X509_free(leaf);
		EVP_PKEY_free(k);
		EVP_PKEY_free(k2);
	}
	snprintf(path, sizeof(path), "%s/dir.pem", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_string_equal(pki_leaf_check(other, HOST, path, now),
	    "cannot be read");
	/* a refused name is refused by ensure too, and nothing written */
	snprintf(path, sizeof(path), "%s/evil.pem", f->dir);
	assert_int_equal(pki_leaf_ensure(is, "evil.example.com", path, now,
	    &issued, NULL, &err), -1);
	assert_false(exists(path));

	pki_issuer_free(is);
	pki_issuer_free(other);
}

/* An intermediate that ends in 20 days: its leaves end with it, and are
 * not reissued on every check (renewing could not extend them). */
static void
test_leaf_capped_by_intermediate(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	struct hand h = { "MCP intermediate short", NULL,
	    "critical,CA:TRUE,pathlen:0", "critical,keyCertSign,cRLSign",
	    "serverAuth", "critical,permitted;DNS:" ZONE, -300, 20 * 86400 };
	struct pki_issuer *is = NULL;
	struct pki_cert_info info;
	EVP_PKEY *ck, *k = EVP_EC_gen("P-256");
	X509 *ca, *x;
	char crt[PATH_MAX], key[PATH_MAX], bundle[PATH_MAX];
	int64_t now = (int64_t)time(NULL);

	assert_int_equal(pki_ca_init(f->dir, &err), 0);
	ck = load_key(p(f, "ca.key"));
	ca = load_cert(p(f, "ca.crt"));
	x = hand_sign(&h, k, ca, ck);
	snprintf(crt, sizeof(crt), "%s/short.crt", f->dir);
	snprintf(key, sizeof(key), "%s/short.key", f->dir);
	snprintf(bundle, sizeof(bundle), "%s/leaf.pem", f->dir);
	write_pem(crt, x, NULL);
	write_pem(key, NULL, k);
	assert_int_equal(pki_issuer_load(crt, key, &is, &err), 0);
	assert_int_equal(pki_leaf_issue(is, HOST, bundle, &info, &err), 0);
	assert_int_equal(info.not_after, pki_issuer_not_after(is));
	assert_null(pki_leaf_check(is, HOST, bundle, now));
	assert_string_equal(pki_leaf_check(is, HOST, bundle, info.not_after + 1),
	    "has expired");
	pki_issuer_free(is);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ck);
}

/* ---- the CLI, as a process ---- */

static void
run_mcp(struct fixture *f, const char *const *args, struct spawn_result *r)
{
	const char *bin = getenv("MCP_BIN");
	char mcp[PATH_MAX], cfg[PATH_MAX];
	const char *argv[16];
	struct spawn_opts o = { .timeout_ms = 60000, .stdout_fd = -1 };
	struct mcp_err err = MCP_ERR_INIT;
	size_t i, n = 0;

	snprintf(mcp, sizeof(mcp), "%s/mcp", bin ? bin : "bin");
	snprintf(cfg, sizeof(cfg), "%s/mcp.toml", f->dir);
	if (!exists(cfg))
		assert_int_equal(file_write_atomic(cfg, "", 0, 0600, &err), 0);
	argv[n++] = mcp;
	argv[n++] = "-c";
	argv[n++] = cfg;
	for (i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (spawn_run(argv, &o, r, &err) == -1)
		fail_msg("%s: %s (set MCP_BIN)", mcp, err.msg);
}

static void
test_cli_intermediate(void **state)
{
	struct fixture *f = *state;
	char out[PATH_MAX], path[PATH_MAX];
	struct spawn_result r = { 0 };
	X509 *ca, *im;

	snprintf(out, sizeof(out), "%s/agents", f->dir);
	{
		const char *a[] = { "ca", "init", f->dir, NULL };

		run_mcp(f, a, &r);
		assert_int_equal(r.status, 0);
		spawn_result_free(&r);
	}
	{
		const char *a[] = { "ca", "issue", "agent-a", "--intermediate",
		    "--permit", ZONE, "--ca", f->dir, "--out", out, NULL };

		run_mcp(f, a, &r);
		if (r.status != 0)
			fail_msg("mcp ca issue --intermediate: %s",
			    spawn_errline(&r));
		assert_non_null(strstr(r.out.data, "agent-a.crt"));
		assert_non_null(strstr(r.out.data, ZONE));
		spawn_result_free(&r);
	}
	snprintf(path, sizeof(path), "%s/agent-a.key", out);
	assert_int_equal(mode_of(path), 0600);
	snprintf(path, sizeof(path), "%s/agent-a.crt", out);
	assert_int_equal(mode_of(path), 0644);
	ca = load_cert(p(f, "ca.crt"));
	im = load_cert(path);
	assert_int_equal(verify_chain(ca, im, 0), X509_V_OK);
	assert_int_equal(X509_get_ext_by_NID(im, NID_name_constraints, -1) >= 0, 1);
	X509_free(ca);
	X509_free(im);

	/* a bad --permit value is refused, naming it; nothing written */
	{
		const char *a[] = { "ca", "issue", "agent-b", "--intermediate",
		    "--permit", ZONE ",Bad_Domain.example", "--ca", f->dir, NULL };

		run_mcp(f, a, &r);
		assert_int_equal(r.status, 1);
		assert_non_null(strstr(r.errout.data, "\"Bad_Domain.example\""));
		spawn_result_free(&r);
		assert_false(exists(p(f, "agent-b.key")));
	}
	/* --permit without --intermediate, --intermediate without --permit,
	 * --san with --intermediate: usage errors */
	{
		const char *a1[] = { "ca", "issue", "agent-c", "--permit", ZONE,
		    "--ca", f->dir, NULL };
		const char *a2[] = { "ca", "issue", "agent-c", "--intermediate",
		    "--ca", f->dir, NULL };
		const char *a3[] = { "ca", "issue", "agent-c", "--intermediate",
		    "--permit", ZONE, "--san", "x.example", "--ca", f->dir, NULL };
		const char *const *all[] = { a1, a2, a3 };
		size_t i;

		for (i = 0; i < 3; i++) {
			run_mcp(f, all[i], &r);
			assert_int_equal(r.status, 2);
			assert_non_null(strstr(r.errout.data, "--intermediate"));
			spawn_result_free(&r);
		}
		assert_false(exists(p(f, "agent-c.key")));
		assert_false(exists(p(f, "agent-c.crt")));
	}
}

/* ---- TLS with real processes: a server holding the bundle, curl with the root alone ---- */

/* Start argv in the background (output to log); teardown stops it if the test fails. */
static pid_t
bg_start(struct fixture *f, const char *const argv[], const char *log)
{
	pid_t pid;

	assert_true(f->npids < (int)(sizeof(f->pids) / sizeof(f->pids[0])));
	if ((pid = fork()) == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int nul = open("/dev/null", O_RDONLY);

		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	assert_true(pid > 0);
	f->pids[f->npids++] = pid;
	return pid;
}

static void
bg_stop(struct fixture *f, pid_t pid)
{
	int i;

	for (i = 0; i < f->npids; i++) {
		if (f->pids[i] != pid)
			continue;
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		f->pids[i] = f->pids[--f->npids];
		return;
	}
}

/* Wait until 127.0.0.1:port accepts (10 s), failing if pid dies first. */
static void
wait_port(pid_t pid, int port, const char *log)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port) };
	int i, fd, st;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < 200; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			char *s = slurp(log);

			fail_msg("server exited before listening: %s", s);
		}
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			close(fd);
			return;
		}
		close(fd);
		usleep(50000);
	}
	fail_msg("127.0.0.1:%d: not listening after 10 s", port);
}

/* curl https://host:port/ resolved to 127.0.0.1, trusting cafile only. */
static int
curl(const char *cafile, const char *host, int port, struct spawn_result *r)
{
	char resolve[300], url[300];
	const char *argv[] = { "curl", "-sS", "--max-time", "20", "--cacert",
	    cafile, "--resolve", resolve, url, NULL };
	struct spawn_opts o = { .timeout_ms = 30000, .stdout_fd = -1 };
	struct mcp_err err = MCP_ERR_INIT;

	snprintf(resolve, sizeof(resolve), "%s:%d:127.0.0.1", host, port);
	snprintf(url, sizeof(url), "https://%s:%d/", host, port);
	if (spawn_run(argv, &o, r, &err) == -1)
		fail_msg("curl: %s", err.msg);
	return r->status;
}

/* openssl s_server with the bundle: the full chain verifies, a leaf alone does not. */
static void
test_tls_s_server(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	struct pki_issuer *is = intermediate(f, "agent-a", ZONE);
	struct spawn_result r = { 0 };
	char bundle[PATH_MAX], ca[PATH_MAX], im[PATH_MAX], accept[64], log[PATH_MAX];
	int port = free_port();
	pid_t pid;

	assert_true(port > 0);
	snprintf(bundle, sizeof(bundle), "%s/leaf.pem", f->dir);
	snprintf(ca, sizeof(ca), "%s/ca.crt", f->dir);
	snprintf(im, sizeof(im), "%s/agent-a.crt", f->dir);
	snprintf(log, sizeof(log), "%s/s_server.log", f->dir);
	snprintf(accept, sizeof(accept), "127.0.0.1:%d", port);
	assert_int_equal(pki_leaf_issue(is, HOST, bundle, NULL, &err), 0);
	{
		const char *argv[] = { "openssl", "s_server", "-quiet", "-www",
		    "-accept", accept, "-cert", bundle, "-key", bundle,
		    "-cert_chain", im, NULL };

		pid = bg_start(f, argv, log);
		wait_port(pid, port, log);
	}
	if (curl(ca, HOST, port, &r) != 0)
		fail_msg("curl %s: exit %d: %s", HOST, r.status, spawn_errline(&r));
	assert_non_null(strstr(r.out.data, "s_server"));
	spawn_result_free(&r);
	/* another name on the same server: refused by the client */
	assert_int_not_equal(curl(ca, "b." ZONE, port, &r), 0);
	spawn_result_free(&r);
	bg_stop(f, pid);

	/* the same leaf served without its intermediate fails */
	assert_true((port = free_port()) > 0);
	snprintf(accept, sizeof(accept), "127.0.0.1:%d", port);
	{
		const char *argv[] = { "openssl", "s_server", "-quiet", "-www",
		    "-accept", accept, "-cert", bundle, "-key", bundle, NULL };

		pid = bg_start(f, argv, log);
		wait_port(pid, port, log);
	}
	assert_int_not_equal(curl(ca, HOST, port, &r), 0);
	assert_non_null(strstr(r.errout.data, "issuer"));
	spawn_result_free(&r);
	bg_stop(f, pid);
	pki_issuer_free(is);
}

static int
find_haproxy(char *out, size_t outsz)
{
	const char *path = getenv("PATH");
	char dirs[4096], *d, *save = NULL;

	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/usr/local/sbin",
	    path ? path : "/usr/bin");
	for (d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, outsz, "%s/haproxy", d);
		if (access(out, X_OK) == 0)
			return 1;
	}
	return 0;
}

/* HAProxy, the real consumer, loads the bundle from a crt-list and serves the chain. */
static void
test_tls_haproxy(void **state)
{
	struct fixture *f = *state;
	struct mcp_err err = MCP_ERR_INIT;
	struct pki_issuer *is;
	struct spawn_result r = { 0 };
	char haproxy[PATH_MAX], bundle[PATH_MAX], ca[PATH_MAX], cfg[PATH_MAX];
	char list[PATH_MAX], log[PATH_MAX];
	struct buf text = BUF_INIT;
	int port = free_port();
	pid_t pid;

	if (!find_haproxy(haproxy, sizeof(haproxy))) {
		print_message("haproxy not installed: HAProxy part not run\n");
		skip();
	}
	assert_true(port > 0);
	is = intermediate(f, "agent-a", ZONE);
	snprintf(bundle, sizeof(bundle), "%s/%s.pem", f->dir, HOST);
	snprintf(ca, sizeof(ca), "%s/ca.crt", f->dir);
	snprintf(cfg, sizeof(cfg), "%s/haproxy.cfg", f->dir);
	snprintf(list, sizeof(list), "%s/crt-list", f->dir);
	snprintf(log, sizeof(log), "%s/haproxy.log", f->dir);
	assert_int_equal(pki_leaf_issue(is, HOST, bundle, NULL, &err), 0);
	assert_int_equal(buf_printf(&text, "%s [alpn h2,http/1.1] %s\n", bundle,
	    HOST), 0);
	assert_int_equal(file_write_atomic(list, text.data, text.len, 0600,
	    &err), 0);
	buf_reset(&text);
	assert_int_equal(buf_printf(&text,
	    "global\n\tmaxconn 64\n"
	    "defaults\n\tmode http\n\ttimeout connect 5s\n"
	    "\ttimeout client 10s\n\ttimeout server 10s\n"
	    "frontend fe\n\tbind 127.0.0.1:%d ssl crt-list %s\n"
	    "\thttp-request return status 200 content-type text/plain "
	    "string haproxy-says-ok\n", port, list), 0);
	assert_int_equal(file_write_atomic(cfg, text.data, text.len, 0600,
	    &err), 0);
	buf_free(&text);
	{
		const char *argv[] = { haproxy, "-db", "-f", cfg, NULL };

		pid = bg_start(f, argv, log);
		wait_port(pid, port, log);
	}
	if (curl(ca, HOST, port, &r) != 0)
		fail_msg("curl via haproxy: exit %d: %s", r.status,
		    spawn_errline(&r));
	assert_string_equal(r.out.data, "haproxy-says-ok");
	spawn_result_free(&r);
	bg_stop(f, pid);
	pki_issuer_free(is);
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
		cmocka_unit_test_setup_teardown(test_intermediate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intermediate_capped_by_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intermediate_bad_permit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leaf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leaf_openssl_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leaf_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_constraints_enforced_by_openssl, setup, teardown),
		cmocka_unit_test(test_name_permitted),
		cmocka_unit_test_setup_teardown(test_issuer_load_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cert_info, setup, teardown),
		cmocka_unit_test(test_renewal_due),
		cmocka_unit_test_setup_teardown(test_leaf_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leaf_capped_by_intermediate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cli_intermediate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_s_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_haproxy, setup, teardown),
	};

	return cmocka_run_group_tests_name("pki", tests, NULL, NULL);
}
