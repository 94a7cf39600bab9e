/*
 * tests/tools/data-client.c: call an agent's ExportServiceData /
 * ImportServiceData with lib/wire, as the master would (not installed;
 * built into build/<variant>/tools/).  For shell tests and bench/.
 *
 *   data-client ADDRESS CA CERT KEY export SERVICE FILE [direct]
 *   data-client ADDRESS CA CERT KEY import SERVICE FILE [force]
 *
 * export writes the archive to FILE, checks the SHA-256 and size of what
 * arrived against the final chunk, and prints
 * "method M sha256 H size N"; import sends FILE in 1 MiB chunks and prints
 * "files N bytes_written N".  Errors: "data-client: CODE: message" on
 * stderr, exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "agent.pb-c.h"
#include "util/hash.h"
#include "wire/wire.h"

#define CHUNK (1u << 20)

struct recv {
	int fd;
	EVP_MD_CTX *md;
	uint64_t size;
	int final;
	char sha[65], method[300];
	uint64_t announced;
	int failed;
};

static int
on_chunk(const ProtobufCMessage *msg, void *arg)
{
	const Mcp__V1__DataChunk *ch = (const Mcp__V1__DataChunk *)msg;
	struct recv *r = arg;

	if (ch->data.len) {
		if (write(r->fd, ch->data.data, ch->data.len) !=
		    (ssize_t)ch->data.len) {
			r->failed = 1;
			return 1;
		}
		EVP_DigestUpdate(r->md, ch->data.data, ch->data.len);
		r->size += ch->data.len;
	}
	if (ch->final) {
		r->final = 1;
		snprintf(r->sha, sizeof(r->sha), "%s", ch->sha256);
		snprintf(r->method, sizeof(r->method), "%s", ch->method);
		r->announced = ch->size;
	}
	return 0;
}

static int
do_export(struct wire_client *c, const char *service, const char *file,
    int direct, struct mcp_err *err)
{
	Mcp__V1__ExportRequest q = MCP__V1__EXPORT_REQUEST__INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char got[65];
	struct recv r;
	int rc;

	memset(&r, 0, sizeof(r));
	if ((r.fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		return mcp_err_errno(err, errno, "open %s", file);
	r.md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(r.md, EVP_sha256(), NULL);
	q.service = (char *)service;
	q.direct = direct;
	rc = wire_call_stream(c, "/mcp.v1.Agent/ExportServiceData", &q.base,
	    &mcp__v1__data_chunk__descriptor, on_chunk, &r, 0, err);
	close(r.fd);
	EVP_DigestFinal_ex(r.md, md, &mdlen);
	EVP_MD_CTX_free(r.md);
	hash_hex(md, mdlen, got);
	if (rc == -1)
		return -1;
	if (r.failed)
		return mcp_err_set(err, MCP_E_INTERNAL, "write %s", file);
	if (!r.final)
		return mcp_err_set(err, MCP_E_INVALID, "no final chunk");
	if (r.announced != r.size || strcmp(got, r.sha) != 0)
		return mcp_err_set(err, MCP_E_INVALID, "received %llu bytes sha256 "
		    "%s, announced %llu sha256 %s", (unsigned long long)r.size, got,
		    (unsigned long long)r.announced, r.sha);
	printf("method %s sha256 %s size %llu\n", r.method, r.sha,
	    (unsigned long long)r.size);
	return 0;
}

static int
do_import(struct wire_client *c, const char *service, const char *file,
    int force, struct mcp_err *err)
{
	Mcp__V1__ImportChunk ch = MCP__V1__IMPORT_CHUNK__INIT;
	Mcp__V1__ImportResponse *resp = NULL;
	unsigned char *buf = malloc(CHUNK), md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	struct wire_upload *u = NULL;
	uint64_t size = 0;
	char sha[65];
	ssize_t n;
	int fd, rc = -1, first = 1;

	if ((fd = open(file, O_RDONLY)) == -1) {
		free(buf);
		EVP_MD_CTX_free(ctx);
		return mcp_err_errno(err, errno, "open %s", file);
	}
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	if ((u = wire_upload_start(c, "/mcp.v1.Agent/ImportServiceData", 0,
	    err)) == NULL)
		goto out;
	while ((n = read(fd, buf, CHUNK)) > 0) {
		ch.service = first ? (char *)service : "";
		ch.force = first && force;
		first = 0;
		ch.data.data = buf;
		ch.data.len = (size_t)n;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		size += (uint64_t)n;
		if (wire_upload_send(u, &ch.base, err) == -1)
			goto out;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	hash_hex(md, mdlen, sha);
	ch.service = first ? (char *)service : "";
	ch.force = first && force;
	ch.data.len = 0;
	ch.final = 1;
	ch.sha256 = sha;
	ch.size = size;
	if (wire_upload_send(u, &ch.base, err) == -1)
		goto out;
	rc = wire_upload_finish(u, &mcp__v1__import_response__descriptor,
	    (ProtobufCMessage **)&resp, err);
	u = NULL;
	if (rc == 0) {
		printf("files %u bytes_written %llu\n", resp->files,
		    (unsigned long long)resp->bytes_written);
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	}
out:
	if (u)
		wire_upload_finish(u, &mcp__v1__import_response__descriptor,
		    (ProtobufCMessage **)&resp, err);
	close(fd);
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
main(int argc, char **argv)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct wire_client *c;
	struct wire_tls tls;
	int rc, flag;

	if (argc < 8 || (strcmp(argv[5], "export") != 0 &&
	    strcmp(argv[5], "import") != 0)) {
		fprintf(stderr, "usage: data-client ADDRESS CA CERT KEY "
		    "export|import SERVICE FILE [direct|force]\n");
		return 2;
	}
	tls.ca = argv[2];
	tls.cert = argv[3];
	tls.key = argv[4];
	flag = argc > 8 && (strcmp(argv[8], "direct") == 0 ||
	    strcmp(argv[8], "force") == 0);
	if ((c = wire_client_new(argv[1], &tls, &err)) == NULL) {
		fprintf(stderr, "data-client: %s: %s\n", mcp_code_name(err.code),
		    err.msg);
		return 1;
	}
	if (strcmp(argv[5], "export") == 0)
		rc = do_export(c, argv[6], argv[7], flag, &err);
	else
		rc = do_import(c, argv[6], argv[7], flag, &err);
	wire_client_free(c);
	if (rc == -1) {
		fprintf(stderr, "data-client: %s: %s\n", mcp_code_name(err.code),
		    err.msg);
		return 1;
	}
	return 0;
}
