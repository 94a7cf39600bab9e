/*
 * util/hash.h: SHA-256 (OpenSSL EVP) as lowercase hex.
 */
#ifndef MCP_UTIL_HASH_H
#define MCP_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "util/err.h"

#define HASH_HEX_LEN 64

/* out must hold HASH_HEX_LEN + 1 bytes. */
void hash_sha256_hex(const void *data, size_t len, char *out);
/* Lowercase hex of a digest; out holds 2 * len + 1 bytes. */
void hash_hex(const unsigned char *md, size_t len, char *out);
/* Feed a file's bytes to a digest (O_NOFOLLOW unless follow); *size, when
 * not NULL, receives the byte count.  Errors name the file. */
int hash_file_update(EVP_MD_CTX *ctx, const char *path, int follow,
    uint64_t *size, struct mcp_err *err);

#endif
