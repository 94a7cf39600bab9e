/*
 * cmd/toml-decode: reads a TOML document on stdin and prints it as the
 * tagged JSON of the toml-test conformance suite (see toml_to_json()).
 * Exit 0 on success; 1 with the parse error on stderr if the input is not
 * valid TOML.  Used by tests/toml/conformance.sh and for debugging.
 */
#include <stdio.h>
#include <stdlib.h>

#include "toml/toml.h"
#include "util/buf.h"
#include "util/err.h"

static int
read_all(FILE *f, struct buf *b, struct mcp_err *err)
{
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(b, chunk, n) == -1)
			return mcp_err_set(err, MCP_E_RESOURCE, "read stdin: "
			    "out of memory");
	if (ferror(f))
		return mcp_err_set(err, MCP_E_UNKNOWN, "read stdin: I/O error");
	return 0;
}

int
main(int argc, char **argv)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct buf in = BUF_INIT, out = BUF_INIT;
	struct toml_value *root = NULL;
	int rc = 1;

	if (argc > 1) {
		fprintf(stderr, "usage: %s < file.toml\n", argv[0]);
		return 2;
	}
	if (read_all(stdin, &in, &err) == -1 ||
	    (root = toml_parse(in.data, in.len, "<stdin>", &err)) == NULL ||
	    toml_to_json(root, &out, &err) == -1) {
		fprintf(stderr, "toml-decode: %s\n", err.msg);
		goto out;
	}
	if (fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fputc('\n', stdout) == EOF || fflush(stdout) == EOF) {
		fprintf(stderr, "toml-decode: write stdout failed\n");
		goto out;
	}
	rc = 0;
out:
	toml_free(root);
	buf_free(&out);
	buf_free(&in);
	return rc;
}
