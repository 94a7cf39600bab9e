/*
 * image/attest.c: the attestation hash of a VM image: SHA-256 (OpenSSL
 * EVP) over the kernel followed by the initramfs, streamed from disk.
 */
#include "image/image.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
hash_file(EVP_MD_CTX *ctx, const char *path, uint64_t *size, struct mcp_err *err)
{
	unsigned char local[1 << 16];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		return mcp_err_errno(err, errno, "hash %s", path);
	*size = 0;
	while ((n = read(fd, local, sizeof(local))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			mcp_err_errno(err, errno, "hash %s", path);
			close(fd);
			return -1;
		}
		EVP_DigestUpdate(ctx, local, (size_t)n);
		*size += (uint64_t)n;
	}
	close(fd);
	return 0;
}

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
	if (hash_file(ctx, kernel, &ks, err) == -1 ||
	    hash_file(ctx, initrd, &is, err) == -1)
		goto out;
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	memcpy(out, "sha256:", 7);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	if (kernel_size)
		*kernel_size = ks;
	if (initrd_size)
		*initrd_size = is;
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}
