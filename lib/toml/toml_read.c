/*
 * toml/toml_read.c: typed configuration reads on top of the TOML tree.
 *
 * Configuration values end up as C strings (paths, addresses, argv), so a
 * key or string holding a NUL byte (TOML allows \u0000 in both) is refused
 * with FILE:LINE:COL and the key, never cut short at the NUL.
 */
#include "toml/toml_read.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/file.h"

/*
 * kv's key for a message, always in double quotes, control characters,
 * quotes and NULs escaped (toml_key_append), so it cannot forge a line.
 */
static const char *
key_shown(struct buf *k, const struct toml_kv *kv)
{
	if (toml_key_append(k, kv->key, kv->keylen) == -1 || k->data == NULL)
		return "?";
	if (k->data[0] != '"') {	/* a bare key: nothing to escape */
		buf_reset(k);
		if (buf_printf(k, "\"%s\"", kv->key) == -1)
			return "?";
	}
	return k->data;
}

/* "FILE:LINE:COL: key K: contains a NUL byte". */
static int
nul_err(const struct toml_kv *kv, int line, int col, const char *file,
    struct mcp_err *err)
{
	struct buf k = BUF_INIT;

	mcp_err_set(err, MCP_E_INVALID, "%s:%d:%d: key %s: contains a NUL byte",
	    file, line, col, key_shown(&k, kv));
	buf_free(&k);
	return -1;
}

static int
type_err(const struct toml_kv *kv, const char *want, const char *file,
    struct mcp_err *err)
{
	return mcp_err_set(err, MCP_E_INVALID, "%s:%d:%d: key \"%s\" must be %s, not %s",
	    file, kv->line, kv->col, kv->key, want, toml_type_name(kv->val->type));
}

int
toml_read_check_keys(const struct toml_value *tab, const char *const *allowed,
    const char *file, const char *section, struct mcp_err *err)
{
	size_t i, j;

	if (tab == NULL)
		return 0;
	for (i = 0; i < tab->u.tab.n; i++) {
		const struct toml_kv *kv = &tab->u.tab.kv[i];
		int ok = 0;

		if (strlen(kv->key) != kv->keylen)
			return nul_err(kv, kv->line, kv->col, file, err);
		for (j = 0; allowed[j]; j++)
			if (strcmp(allowed[j], kv->key) == 0)
				ok = 1;
		if (!ok) {
			struct buf k = BUF_INIT;

			mcp_err_set(err, MCP_E_INVALID,
			    "%s:%d:%d: unknown key %s in %s", file, kv->line,
			    kv->col, key_shown(&k, kv), section);
			buf_free(&k);
			return -1;
		}
	}
	return 0;
}

int
toml_read_str(const struct toml_value *tab, const char *key, char *dst,
    size_t dstsz, const char *file, struct mcp_err *err)
{
	const struct toml_kv *kv = toml_get_kv(tab, key);
	const char *s;

	if (kv == NULL)
		return 0;
	if (kv->val->type != TOML_STRING)
		return type_err(kv, "a string", file, err);
	if ((s = toml_get_string(kv->val)) == NULL)
		return nul_err(kv, kv->val->line, kv->val->col, file, err);
	if (kv->val->u.s.len >= dstsz)
		return mcp_err_set(err, MCP_E_INVALID,
		    "%s:%d:%d: key \"%s\": value longer than %zu bytes", file,
		    kv->val->line, kv->val->col, key, dstsz - 1);
	memcpy(dst, s, kv->val->u.s.len + 1);
	return 0;
}

int
toml_read_int(const struct toml_value *tab, const char *key, int64_t min,
    int64_t max, int64_t *dst, const char *file, struct mcp_err *err)
{
	const struct toml_kv *kv = toml_get_kv(tab, key);

	if (kv == NULL)
		return 0;
	if (kv->val->type != TOML_INTEGER)
		return type_err(kv, "an integer", file, err);
	if (kv->val->u.i < min || kv->val->u.i > max)
		return mcp_err_set(err, MCP_E_INVALID,
		    "%s:%d:%d: key \"%s\" = %lld is out of range %lld..%lld",
		    file, kv->line, kv->col, key, (long long)kv->val->u.i,
		    (long long)min, (long long)max);
	*dst = kv->val->u.i;
	return 0;
}

int
toml_read_bool(const struct toml_value *tab, const char *key, int *dst,
    const char *file, struct mcp_err *err)
{
	const struct toml_kv *kv = toml_get_kv(tab, key);

	if (kv == NULL)
		return 0;
	if (kv->val->type != TOML_BOOL)
		return type_err(kv, "a boolean", file, err);
	*dst = kv->val->u.b;
	return 0;
}

void
toml_strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

int
toml_read_strv(const struct toml_value *tab, const char *key, char ***dst,
    const char *file, struct mcp_err *err)
{
	const struct toml_kv *kv = toml_get_kv(tab, key);
	char **v;
	size_t i;

	if (kv == NULL)
		return 0;
	if (kv->val->type != TOML_ARRAY)
		return type_err(kv, "an array of strings", file, err);
	v = xcalloc(kv->val->u.arr.n + 1, sizeof(char *));
	for (i = 0; i < kv->val->u.arr.n; i++) {
		const struct toml_value *it = kv->val->u.arr.items[i];
		const char *s = toml_get_string(it);

		if (s == NULL) {
			toml_strv_free(v);
			if (it->type == TOML_STRING)
				return nul_err(kv, it->line, it->col, file, err);
			return mcp_err_set(err, MCP_E_INVALID,
			    "%s:%d:%d: key \"%s\": element %zu must be a "
			    "string, not %s", file, it->line, it->col, key, i,
			    toml_type_name(it->type));
		}
		v[i] = xstrdup(s);
	}
	toml_strv_free(*dst);
	*dst = v;
	return 0;
}

int
toml_read_table(const struct toml_value *tab, const char *key,
    const struct toml_value **dst, const char *file, struct mcp_err *err)
{
	const struct toml_kv *kv = toml_get_kv(tab, key);

	*dst = NULL;
	if (kv == NULL)
		return 0;
	if (kv->val->type != TOML_TABLE)
		return type_err(kv, "a table", file, err);
	*dst = kv->val;
	return 0;
}

struct toml_value *
toml_read_file(const char *path, const char *what, struct mcp_err *err)
{
	struct buf text = BUF_INIT;
	struct toml_value *root;

	if (file_read(path, &text, 1 << 20, err) == -1) {
		mcp_err_prefix(err, "%s", what);
		return NULL;
	}
	root = toml_parse(text.data, text.len, path, err);
	buf_free(&text);
	return root;
}

int
toml_read_tls(const struct toml_value *root, const char *path, char *ca,
    char *cert, char *key, size_t size, struct mcp_err *err)
{
	static const char *const keys[] = { "ca", "cert", "key", NULL };
	const struct toml_value *t;

	if (toml_read_table(root, "tls", &t, path, err) == -1 ||
	    toml_read_check_keys(t, keys, path, "[tls]", err) == -1 ||
	    toml_read_str(t, "ca", ca, size, path, err) == -1 ||
	    toml_read_str(t, "cert", cert, size, path, err) == -1 ||
	    toml_read_str(t, "key", key, size, path, err) == -1)
		return -1;
	return 0;
}
