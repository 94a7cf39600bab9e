/*
 * fuzz/fuzz_toml.c: libFuzzer target for the TOML parser.  Parses the
 * input (not NUL-terminated, so over-reads show up under ASan), and on
 * success walks the tree through the JSON writer and the lookups, then
 * frees it.  Build and run with fuzz/Makefile.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "toml/toml.h"
#include "util/buf.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct buf out = BUF_INIT;
	struct toml_value *root;
	char *copy;
	size_t i;

	/* An exact-size heap copy, so any read past len is caught. */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	if (size)
		memcpy(copy, data, size);
	root = toml_parse(copy, size, "fuzz", &err);
	if (root == NULL) {
		if (err.code == 0 || strncmp(err.msg, "fuzz:", 5) != 0)
			abort();	/* every failure must say why */
	} else {
		if (toml_to_json(root, &out, &err) == -1)
			abort();
		for (i = 0; i < root->u.tab.n; i++) {
			const struct toml_kv *kv = &root->u.tab.kv[i];

			/* Keys may hold NULs: look them up by length. */
			if (toml_get_kvn(root, kv->key, kv->keylen) != kv)
				abort();
		}
		toml_free(root);
	}
	buf_free(&out);
	free(copy);
	return 0;
}
