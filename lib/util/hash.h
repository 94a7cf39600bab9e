/*
 * util/hash.h: SHA-256 (OpenSSL EVP) as lowercase hex.
 */
#ifndef MCP_UTIL_HASH_H
#define MCP_UTIL_HASH_H

#include <stddef.h>

#define HASH_HEX_LEN 64

/* out must hold HASH_HEX_LEN + 1 bytes. */
void hash_sha256_hex(const void *data, size_t len, char *out);

#endif
