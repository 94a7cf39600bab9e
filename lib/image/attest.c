/*
 * image/attest.c: the attestation hash of a VM image: SHA-256 (OpenSSL
 * EVP) over the kernel followed by the initramfs, streamed from disk.
 */
#include "image/image.h"

#include <openssl/evp.h>
#include <string.h>

#include "util/hash.h"

int
image_attest(const char *kernel, const char *initrd, char out[IMAGE_HASH_MAX],
    uint64_t *kernel_size, uint64_t *initrd_size, struct mcp_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	uint64_t ks = 0, is = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = -1;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		mcp_err_set(err, MCP_E_INTERNAL, "hash %s: EVP init failed", initrd);
		goto out;
	}
	if (hash_file_update(ctx, kernel, 1, &ks, err) == -1 ||
	    hash_file_update(ctx, initrd, 1, &is, err) == -1)
		goto out;
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	memcpy(out, "sha256:", 7);
	hash_hex(md, mdlen, out + 7);
	if (kernel_size)
		*kernel_size = ks;
	if (initrd_size)
		*initrd_size = is;
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}
