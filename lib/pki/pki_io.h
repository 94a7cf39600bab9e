/*
 * pki/pki_io.h: PKI files on disk (internal to lib/pki): PEM keys and
 * certificates read from and written to a directory.  Writes are atomic
 * and never replace an existing file (except pki_write_bundle's): a
 * temporary created with O_EXCL and the final mode, fsync, then a
 * no-replace rename.
 */
#ifndef MCP_PKI_PKI_IO_H
#define MCP_PKI_PKI_IO_H

#include <stddef.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/err.h"

/* Append the pending OpenSSL error(s) to err's message as ": reason"; clears the queue. */
int pki_err_ssl(struct mcp_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Create dir (0700) and its missing parents (0755) if it does not exist;
 * fail if it is not a directory. */
int pki_dir_ensure(const char *dir, struct mcp_err *err);

/* 1 if path exists (any type, including a dangling symlink), 0 if not, -1 on error. */
int pki_path_exists(const char *path, struct mcp_err *err);

/* PEM encodings of a key (PKCS#8, unencrypted) and a certificate. */
int pki_write_key(const char *path, EVP_PKEY *key, struct mcp_err *err);
int pki_write_cert(const char *path, X509 *cert, struct mcp_err *err);

/* A TLS server bundle: leaf, chain certificate, key (PKCS#8) in one PEM
 * file, mode 0600, atomically replacing path if it exists. */
int pki_write_bundle(const char *path, X509 *leaf, X509 *chain, EVP_PKEY *key,
    struct mcp_err *err);

/* Load PEM files; the caller frees the result. */
EVP_PKEY *pki_read_key(const char *path, struct mcp_err *err);
X509 *pki_read_cert(const char *path, struct mcp_err *err);

#endif
