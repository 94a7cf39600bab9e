/*
 * service/limits.c: what a parsed definition must satisfy before any of it
 * is loaded (see svc_check_tree in check.h).
 *
 * Two passes over the TOML tree, both linear: first the counts of
 * service.h's SVC_MAX_* limits, looking only at the arrays they bound (so a
 * definition with 10k components is refused after counting, without
 * walking them); then every key and string value anywhere in the tree, for
 * NUL bytes and for length.  Wrong types are left to the loader, which
 * names them.  Errors are "FILE:LINE:COL: PATH: what", PATH written as
 * components[0].env[3], keys escaped (toml_key_append) so that neither a
 * NUL nor a newline in a key can hide or forge anything.
 */
#include "service/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "service/service.h"
#include "toml/toml.h"
#include "util/buf.h"

/* One check: where errors go, and the path of the value being looked at. */
struct walk {
	const char *file;
	struct mcp_err *err;
	struct buf path;
};

static int
walk_nomem(struct walk *w)
{
	return mcp_err_set(w->err, MCP_E_RESOURCE, "%s: check: out of memory",
	    w->file);
}

/* Longest key shown whole in a path; longer ones are cut with "...". */
#define WALK_KEY_SHOWN 64

/* Append ".key" (or "key" at the top) to the path. */
static int
walk_push_key(struct walk *w, const char *key, size_t len)
{
	size_t shown = len;

	if (shown > WALK_KEY_SHOWN) {
		shown = WALK_KEY_SHOWN;
		while (shown > 0 && ((unsigned char)key[shown] & 0xC0) == 0x80)
			shown--;	/* cut on a character boundary */
	}
	if ((w->path.len && buf_append(&w->path, ".", 1) == -1) ||
	    toml_key_append(&w->path, key, shown) == -1 ||
	    (shown < len && buf_append(&w->path, "...", 3) == -1))
		return walk_nomem(w);
	return 0;
}

static int
walk_push_index(struct walk *w, size_t i)
{
	if (buf_printf(&w->path, "[%zu]", i) == -1)
		return walk_nomem(w);
	return 0;
}

/* Cut the path back to len bytes. */
static void
walk_pop(struct walk *w, size_t len)
{
	if (w->path.data != NULL) {
		w->path.len = len;
		w->path.data[len] = '\0';
	}
}

static int __attribute__((format(printf, 3, 4)))
walk_fail(struct walk *w, const struct toml_value *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	svc_verr_at(w->err, w->file, at->line, at->col,
	    w->path.data ? w->path.data : "?", fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Array key of table t holds at most max items; the refusal names the
 * limit (what it counts, its constant) and points at the first item past
 * it.
 */
static int
count(struct walk *w, const struct toml_value *t, const char *key,
    size_t max, const char *what, const char *name)
{
	const struct toml_value *a = toml_get(t, key);
	size_t len = w->path.len;
	int rc = 0;

	if (a == NULL || a->type != TOML_ARRAY || a->u.arr.n <= max)
		return 0;
	if (walk_push_key(w, key, strlen(key)) == -1)
		return -1;
	rc = walk_fail(w, a->u.arr.items[max], "%zu entries, more than the "
	    "limit of %zu %s (%s)", a->u.arr.n, max, what, name);
	walk_pop(w, len);
	return rc;
}

static int
check_counts(struct walk *w, const struct toml_value *root)
{
	const struct toml_value *comps = toml_get(root, "components");
	size_t i;

	if (count(w, root, "components", SVC_MAX_COMPONENTS,
	    "components per service", "SVC_MAX_COMPONENTS") == -1)
		return -1;
	if (buf_puts(&w->path, "snapshot") == -1)
		return walk_nomem(w);
	if (count(w, toml_get(root, "snapshot"), "exclude", SVC_MAX_EXCLUDE,
	    "exclude paths", "SVC_MAX_EXCLUDE") == -1)
		return -1;
	if (comps == NULL || comps->type != TOML_ARRAY)
		return 0;
	for (i = 0; i < comps->u.arr.n; i++) {
		const struct toml_value *c = comps->u.arr.items[i];

		if (c->type != TOML_TABLE)
			continue;
		walk_pop(w, 0);
		if (buf_printf(&w->path, "components[%zu]", i) == -1)
			return walk_nomem(w);
		if (count(w, c, "routes", SVC_MAX_ROUTES, "routes per "
		    "component", "SVC_MAX_ROUTES") == -1 ||
		    count(w, c, "env", SVC_MAX_ENV, "env entries per "
		    "component", "SVC_MAX_ENV") == -1 ||
		    count(w, c, "volumes", SVC_MAX_VOLUMES, "volumes per "
		    "component", "SVC_MAX_VOLUMES") == -1 ||
		    count(w, c, "cmd", SVC_MAX_CMD_ARGS, "cmd arguments per "
		    "component", "SVC_MAX_CMD_ARGS") == -1)
			return -1;
	}
	walk_pop(w, 0);
	return 0;
}

/* Every key and string at or below v; the path names v. */
static int
check_strings(struct walk *w, const struct toml_value *v)
{
	size_t i, len = w->path.len;

	switch (v->type) {
	case TOML_STRING:
		if (memchr(v->u.s.ptr, '\0', v->u.s.len) != NULL)
			return walk_fail(w, v, "contains a NUL byte");
		if (v->u.s.len > SVC_MAX_STRING)
			return walk_fail(w, v, "%zu bytes, more than the limit "
			    "of %d (SVC_MAX_STRING)", v->u.s.len,
			    SVC_MAX_STRING);
		return 0;
	case TOML_ARRAY:
		for (i = 0; i < v->u.arr.n; i++) {
			if (walk_push_index(w, i) == -1 ||
			    check_strings(w, v->u.arr.items[i]) == -1)
				return -1;
			walk_pop(w, len);
		}
		return 0;
	case TOML_TABLE:
		for (i = 0; i < v->u.tab.n; i++) {
			const struct toml_kv *kv = &v->u.tab.kv[i];
			/* A key's own position, not its value's. */
			struct toml_value at = { .line = kv->line,
			    .col = kv->col };

			if (walk_push_key(w, kv->key, kv->keylen) == -1)
				return -1;
			if (memchr(kv->key, '\0', kv->keylen) != NULL)
				return walk_fail(w, &at, "key contains a NUL "
				    "byte");
			if (kv->keylen > SVC_MAX_STRING)
				return walk_fail(w, &at, "key of %zu bytes, "
				    "more than the limit of %d "
				    "(SVC_MAX_STRING)", kv->keylen,
				    SVC_MAX_STRING);
			if (check_strings(w, kv->val) == -1)
				return -1;
			walk_pop(w, len);
		}
		return 0;
	default:
		return 0;
	}
}

int
svc_check_tree(const struct toml_value *root, const char *file,
    struct mcp_err *err)
{
	struct walk w = { file ? file : "<input>", err, BUF_INIT };
	int rc = -1;

	if (buf_append(&w.path, "", 0) == -1) {
		walk_nomem(&w);
		goto out;
	}
	if (check_counts(&w, root) == -1 || check_strings(&w, root) == -1)
		goto out;
	rc = 0;
out:
	buf_free(&w.path);
	return rc;
}
