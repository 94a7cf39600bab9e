/*
 * image/kernel.c: what a guest kernel is, from the manifest written next to
 * its vmlinux by scripts/build-guest-kernel.sh (modules=none, everything
 * built in) or scripts/fetch-kernel.sh (Debian's, modular).  The image
 * builder decides from it whether modules go into the initramfs, the
 * runtime which machine type the kernel can boot and what `mcp status`
 * says was booted.  No manifest: a modular kernel, as before manifests.
 */
#include "image/image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/file.h"

/* Copy the value of a "key=value" line into out; -1 when it does not fit. */
static int
put(char *out, size_t outsz, const char *val, size_t len)
{
	if (len >= outsz)
		return -1;
	memcpy(out, val, len);
	out[len] = '\0';
	return 0;
}

int
image_kernel_manifest_parse(const char *text, const char *where, struct image_kernel *out,
    struct mcp_err *err)
{
	const char *p = text;
	int lineno = 0, have_modules = 0;

	out->manifest = 1;
	out->modules_none = 0;
	out->source[0] = out->release[0] = out->features[0] = '\0';
	while (*p) {
		const char *eol = strchr(p, '\n'), *eq, *val;
		size_t len = eol ? (size_t)(eol - p) : strlen(p), klen, vlen;
		int bad = 0;

		lineno++;
		while (len && (p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0 || p[0] == '#')
			goto next;
		eq = memchr(p, '=', len);
		if (eq == NULL || eq == p)
			return mcp_err_set(err, MCP_E_INVALID, "kernel manifest %s:%d: want "
			    "key=value, got \"%.*s\"", where, lineno, (int)(len > 60 ? 60 : len), p);
		klen = (size_t)(eq - p);
		val = eq + 1;
		vlen = len - klen - 1;
#define KEY(k) (klen == strlen(k) && strncmp(p, k, klen) == 0)
		if (KEY("source"))
			bad = put(out->source, sizeof(out->source), val, vlen);
		else if (KEY("release"))
			bad = put(out->release, sizeof(out->release), val, vlen);
		else if (KEY("features"))
			bad = put(out->features, sizeof(out->features), val, vlen);
		else if (KEY("modules")) {
			if (vlen == 0)
				return mcp_err_set(err, MCP_E_INVALID, "kernel manifest %s:%d: "
				    "modules is empty (want \"none\" or a directory)", where, lineno);
			out->modules_none = vlen == 4 && strncmp(val, "none", 4) == 0;
			have_modules = 1;
		}
		/* other keys (config_sha256, ...) are for people and the build script */
#undef KEY
		if (bad)
			return mcp_err_set(err, MCP_E_INVALID, "kernel manifest %s:%d: value of "
			    "%.*s is too long", where, lineno, (int)klen, p);
next:
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	if (!have_modules)
		return mcp_err_set(err, MCP_E_INVALID, "kernel manifest %s: no modules= line "
		    "(\"none\" for a kernel with everything built in)", where);
	return 0;
}

int
image_kernel_probe(const char *kernel, struct image_kernel *out, struct mcp_err *err)
{
	char real[PATH_MAX], path[PATH_MAX + 16], *slash;
	struct buf text = BUF_INIT;
	int rc;

	memset(out, 0, sizeof(*out));
	if (realpath(kernel, real) == NULL)
		return mcp_err_errno(err, errno, "guest kernel %s", kernel);
	mcp_strlcpy(out->path, real, sizeof(out->path));
	slash = strrchr(real, '/');
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/manifest", real[0] ? real : "/");
	/* no manifest: a kernel from before manifests, modular, nothing else known */
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return 0;
	if (file_read(path, &text, 64 << 10, err) == -1)
		return mcp_err_prefix(err, "guest kernel %s", kernel);
	rc = image_kernel_manifest_parse(text.data ? text.data : "", path, out, err);
	buf_free(&text);
	return rc;
}

int
image_kernel_has(const struct image_kernel *k, const char *feature)
{
	size_t n = strlen(feature);

	for (const char *p = k->features; (p = strstr(p, feature)) != NULL; p += n)
		if ((p == k->features || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return 1;
	return 0;
}

void
image_kernel_describe(const struct image_kernel *k, char *out, size_t outsz)
{
	if (!k->manifest)
		snprintf(out, outsz, "%s (no manifest: modular)", k->path);
	else
		snprintf(out, outsz, "%s (%s, %s)", k->release[0] ? k->release : "?",
		    k->source[0] ? k->source : "unknown source",
		    k->modules_none ? "everything built in" : "modules");
}
