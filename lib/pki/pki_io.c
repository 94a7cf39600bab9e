/*
 * pki/pki_io.c: PKI files on disk (see pki_io.h).  A key or certificate is
 * written once, with file_write_new(): created with its final mode (keys
 * 0600, never readable by others, not even briefly) and renamed into
 * place without replacing, so two concurrent `mcp ca` runs cannot
 * overwrite each other's files.  The one exception is a node's server
 * bundle, which renewal replaces (atomically: readers see the old file or
 * the new one, never a mix).
 */
#include "pki/pki_io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "util/file.h"

int
pki_err_ssl(struct mcp_err *err, const char *fmt, ...)
{
	char msg[MCP_ERR_MAX], reason[256] = "unknown OpenSSL error";
	unsigned long e, last = 0;
	va_list ap;

	/* The last error in the queue is usually the most specific one. */
	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last != 0)
		ERR_error_string_n(last, reason, sizeof(reason));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return mcp_err_set(err, MCP_E_INTERNAL, "%s: %s", msg, reason);
}

int
pki_dir_ensure(const char *dir, struct mcp_err *err)
{
	char parent[PATH_MAX];
	struct stat st;
	size_t n = strlen(dir);
	char *slash;

	/* the parents first (0755, like mkdir -p), then dir itself 0700 */
	if (n >= sizeof(parent))
		return mcp_err_set(err, MCP_E_INVALID, "%s: path too long", dir);
	memcpy(parent, dir, n + 1);
	while (n > 1 && parent[n - 1] == '/')
		parent[--n] = '\0';
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
		*slash = '\0';
		if (file_mkdirs(parent, 0755, err) == -1)
			return mcp_err_prefix(err, "create the parents of %s", dir);
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return mcp_err_errno(err, errno, "mkdir %s", dir);
	if (stat(dir, &st) == -1)
		return mcp_err_errno(err, errno, "stat %s", dir);
	if (!S_ISDIR(st.st_mode))
		return mcp_err_set(err, MCP_E_INVALID, "%s: not a directory", dir);
	return 0;
}

int
pki_path_exists(const char *path, struct mcp_err *err)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	return mcp_err_errno(err, errno, "stat %s", path);
}

/* Drain a memory BIO into a new file (replace: or over an existing one). */
static int
write_bio(const char *path, BIO *bio, mode_t mode, int replace,
    struct mcp_err *err)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	int rc;

	if (len <= 0)
		return mcp_err_set(err, MCP_E_INTERNAL, "%s: nothing to write",
		    path);
	rc = replace ? file_write_atomic(path, data, (size_t)len, mode, err) :
	    file_write_new(path, data, (size_t)len, mode, err);
	/* The buffer held a private key maybe: wipe it before it is freed. */
	OPENSSL_cleanse(data, (size_t)len);
	return rc;
}

int
pki_write_key(const char *path, EVP_PKEY *key, struct mcp_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int rc;

	if (bio == NULL)
		return pki_err_ssl(err, "%s: BIO_new", path);
	if (!PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(bio);
		return pki_err_ssl(err, "%s: encode key", path);
	}
	rc = write_bio(path, bio, 0600, 0, err);
	BIO_free(bio);
	return rc;
}

int
pki_write_cert(const char *path, X509 *cert, struct mcp_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int rc;

	if (bio == NULL)
		return pki_err_ssl(err, "%s: BIO_new", path);
	if (!PEM_write_bio_X509(bio, cert)) {
		BIO_free(bio);
		return pki_err_ssl(err, "%s: encode certificate", path);
	}
	rc = write_bio(path, bio, 0644, 0, err);
	BIO_free(bio);
	return rc;
}

int
pki_write_bundle(const char *path, X509 *leaf, X509 *chain, EVP_PKEY *key,
    struct mcp_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int rc;

	if (bio == NULL)
		return pki_err_ssl(err, "%s: BIO_new", path);
	if (!PEM_write_bio_X509(bio, leaf) || !PEM_write_bio_X509(bio, chain) ||
	    !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(bio);
		return pki_err_ssl(err, "%s: encode certificate bundle", path);
	}
	rc = write_bio(path, bio, 0600, 1, err);
	BIO_free(bio);
	return rc;
}

static BIO *
open_read(const char *path, struct mcp_err *err)
{
	BIO *bio = BIO_new_file(path, "r");

	if (bio == NULL) {
		int e = errno;

		ERR_clear_error();
		if (e != 0)
			mcp_err_errno(err, e, "open %s", path);
		else
			mcp_err_set(err, MCP_E_NOTFOUND, "open %s: failed", path);
	}
	return bio;
}

EVP_PKEY *
pki_read_key(const char *path, struct mcp_err *err)
{
	BIO *bio;
	EVP_PKEY *key;

	errno = 0;
	if ((bio = open_read(path, err)) == NULL)
		return NULL;
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (key == NULL)
		pki_err_ssl(err, "%s: not a PEM private key", path);
	return key;
}

X509 *
pki_read_cert(const char *path, struct mcp_err *err)
{
	BIO *bio;
	X509 *cert;

	errno = 0;
	if ((bio = open_read(path, err)) == NULL)
		return NULL;
	cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (cert == NULL)
		pki_err_ssl(err, "%s: not a PEM certificate", path);
	return cert;
}
