/*
 * util/hash.c: SHA-256 helpers.
 */
#include "util/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

void
hash_sha256_hex(const void *data, size_t len, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	hash_hex(md, mdlen, out);
}

void
hash_hex(const unsigned char *md, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * len] = '\0';
}

int
hash_file_update(EVP_MD_CTX *ctx, const char *path, int follow, uint64_t *size,
    struct mcp_err *err)
{
	unsigned char chunk[1 << 16];
	uint64_t total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));

	if (fd == -1)
		return mcp_err_errno(err, errno, "hash %s", path);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			mcp_err_errno(err, errno, "hash %s", path);
			close(fd);
			return -1;
		}
		EVP_DigestUpdate(ctx, chunk, (size_t)n);
		total += (uint64_t)n;
	}
	close(fd);
	if (size)
		*size = total;
	return 0;
}
