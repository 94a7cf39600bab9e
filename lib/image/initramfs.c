/*
 * image/initramfs.c: the initramfs builder (see image.h).
 *
 * pull(): the image from the node's podman store, or from its registry
 * only when it is not there (oci_fetch); then, when the image alone names
 * the executable, extract it and require a static ELF, so a bad image is
 * refused before a deploy replaces anything.
 *
 * build():
 *   1. inspect the image (podman; pulled first only when absent) for its
 *      id, Entrypoint, Cmd, Env, WorkingDir;
 *   2. decide the app's argv and executable: Entrypoint + (component cmd,
 *      else image Cmd); without an Entrypoint the component cmd or image
 *      Cmd itself, its first word searched in the image's $PATH; when that
 *      names nothing in the image (or there is no command at all),
 *      /usr/local/bin/<service> with the command as its arguments;
 *   3. extract the executable (cache_dir/oci/<image id>/) and require a
 *      static x86-64 ELF;
 *   4. write the guest config: argv, image env with the component env on
 *      top, modules (none when the kernel's manifest says modules=none,
 *      kernel.c), network, hostname, workdir;
 *   5. key = SHA-256 over every input (image id, executable, config text,
 *      mcp-init, modules, kernel identity, volume contents); if
 *      cache_dir/vm/<key>/ exists, reuse it;
 *   6. else write initramfs.cpio (cpio.c) into a temp dir, hash kernel +
 *      initramfs (attest.c), write artifact.json, rename the dir into place;
 *   7. record the id the tag named (tags.c), saying so when it moved.
 *
 * Layout of the initramfs: /init (mcp-init), /dev/console, /proc, /sys,
 * /tmp, /run, /etc/hosts, the volumes at their guest paths, the app at its
 * image path, /mcp/config and the modules in /mcp/modules.  Volume guest
 * paths "/", /init, /mcp, /dev, /proc, /sys (and below) are refused.
 * Entries are deterministic, so the same inputs give the same hash.
 */
#include "image/image.h"
#include "image/image_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/file.h"
#include "util/hash.h"
#include "util/log.h"

#define BUILD_VERSION "mcp-initramfs-v1"
#define GUEST_MODULE_DIR "/mcp/modules"
#define DEFAULT_GUEST_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct initramfs {
	const struct podman_config *podman;	/* borrowed */
	char *kernel, *modules_dir, *mcp_init, *cache_dir;
	char **modules;		/* NULL: read modules_dir/order at build time */
};

/* ---- small vectors ---- */

struct strv {
	char **v;
	size_t n, cap;
};

static void
strv_add(struct strv *s, const char *str)
{
	if (s->n + 2 > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = realloc(s->v, s->cap * sizeof(char *));
		if (s->v == NULL)
			abort();
	}
	s->v[s->n++] = xstrdup(str);
	s->v[s->n] = NULL;
}

static void
strv_clear(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Set "K=V", replacing an existing K. */
static void
env_set(struct strv *env, const char *kv)
{
	size_t klen = strcspn(kv, "=");

	for (size_t i = 0; i < env->n; i++)
		if (strncmp(env->v[i], kv, klen) == 0 && env->v[i][klen] == '=') {
			free(env->v[i]);
			env->v[i] = xstrdup(kv);
			return;
		}
	strv_add(env, kv);
}

static const char *
env_get(const struct strv *env, const char *key)
{
	size_t klen = strlen(key);

	for (size_t i = 0; i < env->n; i++)
		if (strncmp(env->v[i], key, klen) == 0 && env->v[i][klen] == '=')
			return env->v[i] + klen + 1;
	return NULL;
}

/* ---- hashing helpers ---- */

static void
md_str(EVP_MD_CTX *ctx, const char *s)
{
	EVP_DigestUpdate(ctx, s, strlen(s) + 1);	/* NUL separates fields */
}

static void
md_final_hex(EVP_MD_CTX *ctx, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	EVP_DigestFinal_ex(ctx, md, &len);
	hash_hex(md, len, out);
}

static int
md_tree_visit(void *arg, const char *host, const char *guest, const struct stat *st,
    const char *link, struct mcp_err *err)
{
	EVP_MD_CTX *ctx = arg;
	char meta[64];

	snprintf(meta, sizeof(meta), "%o %lld", (unsigned)st->st_mode, (long long)st->st_size);
	md_str(ctx, guest);
	md_str(ctx, meta);
	if (link)
		md_str(ctx, link);
	else if (S_ISREG(st->st_mode))
		return hash_file_update(ctx, host, 0, NULL, err);
	return 0;
}

/* ---- the executable ---- */

static const char *
image_hex(const char *id)
{
	return strncmp(id, "sha256:", 7) == 0 ? id + 7 : id;
}

/*
 * Extract path (searched in search when it has no '/') from the image into
 * cache_dir/oci/<id>/, reusing an earlier extraction.  Fills host (the
 * local copy) and found (the absolute guest path).
 */
static int
exec_fetch(struct initramfs *ib, const char *image, const struct oci_image *img,
    const char *path, const char *search, char *host, size_t hostsz,
    char *found, size_t foundsz, struct mcp_err *err)
{
	char dir[PATH_MAX], key[65], pathfile[PATH_MAX + 8];
	struct buf known = BUF_INIT;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	md_str(ctx, path);
	md_str(ctx, strchr(path, '/') ? "" : search);
	md_final_hex(ctx, key);
	EVP_MD_CTX_free(ctx);

	snprintf(dir, sizeof(dir), "%s/oci/%s", ib->cache_dir, image_hex(img->id));
	snprintf(host, hostsz, "%s/%.16s.bin", dir, key);
	snprintf(pathfile, sizeof(pathfile), "%s/%.16s.path", dir, key);
	if (access(host, R_OK) == 0 && file_read(pathfile, &known, 4096, NULL) == 0 &&
	    known.len > 1 && known.data[0] == '/') {
		mcp_rtrim(known.data);
		mcp_strlcpy(found, known.data, foundsz);
		buf_free(&known);
		return 0;
	}
	buf_free(&known);
	if (file_mkdirs(dir, 0700, err) == -1)
		return -1;
	if (oci_extract(ib->podman, image, img->id, path, search, host, found, foundsz,
	    err) == -1)
		return -1;
	return file_write_atomic(pathfile, found, strlen(found), 0600, err);
}

/* The extracted copy at host must be a static ELF; errors name exec, not host. */
static int
exec_check(const char *image, const char *host, const char *exec, struct mcp_err *err)
{
	char why[MCP_ERR_MAX];
	size_t hl = strlen(host);

	if (image_elf_check(host, err) == 0)
		return 0;
	mcp_strlcpy(why, strncmp(err->msg, host, hl) == 0 ? err->msg + hl : err->msg,
	    sizeof(why));
	return mcp_err_set(err, MCP_E_INVALID, "image %s: %s%s", image, exec, why);
}

/*
 * Steps 2 and 3 of build(): argv (into *argv) and the extracted, checked
 * executable (host copy path into host, guest path into exec).
 */
static int
app_resolve(struct initramfs *ib, const struct image_request *req,
    const struct oci_image *img, const char *search, struct strv *argv,
    char *host, size_t hostsz, char *exec, size_t execsz, struct mcp_err *err)
{
	const char *const *args;
	char fallback[PATH_MAX];
	int rc;

	args = req->cmd && req->cmd[0] ? req->cmd : (const char *const *)img->cmd;
	if (img->entrypoint[0]) {
		rc = exec_fetch(ib, req->image, img, img->entrypoint[0], search, host,
		    hostsz, exec, execsz, err);
		if (rc == -1)
			return -1;	/* "image X: /path: why" */
		strv_add(argv, exec);
		for (size_t i = 1; img->entrypoint[i]; i++)
			strv_add(argv, img->entrypoint[i]);
		for (size_t i = 0; args && args[i]; i++)
			strv_add(argv, args[i]);
		goto check;
	}
	if (args && args[0]) {
		struct mcp_err e1 = MCP_ERR_INIT;

		rc = exec_fetch(ib, req->image, img, args[0], search, host, hostsz,
		    exec, execsz, &e1);
		if (rc == 0) {
			strv_add(argv, exec);
			for (size_t i = 1; args[i]; i++)
				strv_add(argv, args[i]);
			goto check;
		}
		if (e1.code != MCP_E_NOTFOUND) {
			*err = e1;
			return -1;
		}
	}
	/* by convention: /usr/local/bin/<service>, the command as its arguments */
	snprintf(fallback, sizeof(fallback), "/usr/local/bin/%s", req->service);
	if (exec_fetch(ib, req->image, img, fallback, NULL, host, hostsz, exec, execsz,
	    err) == -1) {
		char why[MCP_ERR_MAX];
		const char *p = strstr(err->msg, fallback);

		mcp_strlcpy(why, p ? p : err->msg, sizeof(why));
		return mcp_err_set(err, err->code, "image %s: no entrypoint%s%s%s, and %s",
		    req->image, args && args[0] ? ", command \"" : "",
		    args && args[0] ? args[0] : "", args && args[0] ? "\" not found" : "", why);
	}
	strv_add(argv, exec);
	for (size_t i = 0; args && args[i]; i++)
		strv_add(argv, args[i]);
check:
	return exec_check(req->image, host, exec, err);
}

/* ---- modules ---- */

static int
modules_list(struct initramfs *ib, struct strv *out, struct mcp_err *err)
{
	struct buf order = BUF_INIT;
	char path[PATH_MAX];
	char *line, *save = NULL;
	struct image_kernel k;

	/* the kernel says whether it takes modules, not a guess from the files */
	if (image_kernel_probe(ib->kernel, &k, err) == -1)
		return -1;
	if (k.modules_none)
		return 0;
	if (ib->modules) {
		for (size_t i = 0; ib->modules[i]; i++)
			strv_add(out, ib->modules[i]);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/order", ib->modules_dir);
	if (file_read(path, &order, 1 << 20, err) == -1)
		return mcp_err_prefix(err, "kernel modules");
	for (line = strtok_r(order.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		mcp_rtrim(line);
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (strchr(line, '/') || strcmp(line, "..") == 0 || strcmp(line, ".") == 0) {
			buf_free(&order);
			return mcp_err_set(err, MCP_E_INVALID, "%s: bad module name \"%s\"",
			    path, line);
		}
		strv_add(out, line);
	}
	buf_free(&order);
	return 0;
}

/* ---- volumes ---- */

static int
volume_guest_ok(const struct rt_volume *v, struct mcp_err *err)
{
	static const char *reserved[] = { "/init", "/mcp", "/dev", "/proc", "/sys" };

	if (v->guest == NULL || v->guest[0] != '/' || v->guest[1] == '\0' ||
	    strstr(v->guest, "..") || v->host == NULL || v->host[0] != '/')
		return mcp_err_set(err, MCP_E_INVALID, "volume %s:%s: paths must be absolute, "
		    "not \"/\", without \"..\"", v->host ? v->host : "?",
		    v->guest ? v->guest : "?");
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		size_t n = strlen(reserved[i]);

		if (strncmp(v->guest, reserved[i], n) == 0 &&
		    (v->guest[n] == '\0' || v->guest[n] == '/'))
			return mcp_err_set(err, MCP_E_INVALID,
			    "volume %s:%s: %s is reserved in a unikernel guest", v->host,
			    v->guest, reserved[i]);
	}
	return 0;
}

static int
cpio_tree_visit(void *arg, const char *host, const char *guest, const struct stat *st,
    const char *link, struct mcp_err *err)
{
	struct cpio_writer *w = arg;

	if (link)
		return cpio_add_symlink(w, guest, link, err);
	if (S_ISDIR(st->st_mode))
		return cpio_add_dir(w, guest, st->st_mode & 07777, err);
	if (S_ISREG(st->st_mode))
		return cpio_add_file(w, guest, host, st->st_mode & 07777, err);
	log_warnx("initramfs: volume entry %s: not a file, directory or symlink; skipped",
	    host);
	return 0;
}

/* ---- the build ---- */

struct build_ctx {
	struct oci_image img;
	struct strv argv, env, modules, guest_modules;
	char exec_host[PATH_MAX], exec[PATH_MAX];
	struct buf config;
	char key[65];
};

static void
build_ctx_free(struct build_ctx *c)
{
	oci_image_free(&c->img);
	strv_clear(&c->argv);
	strv_clear(&c->env);
	strv_clear(&c->modules);
	strv_clear(&c->guest_modules);
	buf_free(&c->config);
}

static int
build_key(struct initramfs *ib, const struct image_request *req, struct build_ctx *c,
    struct mcp_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char path[PATH_MAX], meta[128];
	struct stat st;
	int rc = -1;

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	md_str(ctx, BUILD_VERSION);
	md_str(ctx, c->img.id);
	md_str(ctx, c->exec);
	if (hash_file_update(ctx, c->exec_host, 0, NULL, err) == -1)
		goto out;
	md_str(ctx, c->config.data);
	if (hash_file_update(ctx, ib->mcp_init, 0, NULL, err) == -1) {
		mcp_err_prefix(err, "mcp-init");
		goto out;
	}
	for (size_t i = 0; i < c->modules.n; i++) {
		snprintf(path, sizeof(path), "%s/%s", ib->modules_dir, c->modules.v[i]);
		md_str(ctx, c->modules.v[i]);
		if (hash_file_update(ctx, path, 0, NULL, err) == -1) {
			mcp_err_prefix(err, "kernel module");
			goto out;
		}
	}
	/* the kernel is not in the initramfs, but the recorded hash covers it */
	if (stat(ib->kernel, &st) == -1) {
		mcp_err_errno(err, errno, "kernel %s", ib->kernel);
		goto out;
	}
	snprintf(meta, sizeof(meta), "%lld %lld.%09ld %llu", (long long)st.st_size,
	    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (unsigned long long)st.st_ino);
	md_str(ctx, ib->kernel);
	md_str(ctx, meta);
	for (size_t i = 0; i < req->nvolumes; i++) {
		md_str(ctx, req->volumes[i].host);
		md_str(ctx, req->volumes[i].guest);
		if (tree_walk(req->volumes[i].host, req->volumes[i].guest, md_tree_visit,
		    ctx, err) != 0)
			goto out;
	}
	md_final_hex(ctx, c->key);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int
archive_write_all(struct initramfs *ib, const struct image_request *req,
    struct build_ctx *c, const char *path, struct mcp_err *err)
{
	static const char *const dirs[] = { "/proc", "/sys", "/run", "/mcp" };
	struct cpio_writer *w = cpio_open(path, err);
	struct buf hosts = BUF_INIT;
	char host[PATH_MAX];

	if (w == NULL)
		return -1;
	if (cpio_add_dir(w, "/dev", 0755, err) == -1 ||
	    cpio_add_chardev(w, "/dev/console", 0600, 5, 1, err) == -1 ||
	    cpio_add_dir(w, "/tmp", 01777, err) == -1)
		goto fail;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (cpio_add_dir(w, dirs[i], 0755, err) == -1)
			goto fail;
	buf_printf(&hosts, "127.0.0.1\tlocalhost%s%s\n::1\tlocalhost\n",
	    req->hostname ? " " : "", req->hostname ? req->hostname : "");
	if (cpio_add_data(w, "/etc/hosts", hosts.data, hosts.len, 0644, err) == -1)
		goto fail;
	for (size_t i = 0; i < req->nvolumes; i++)
		if (tree_walk(req->volumes[i].host, req->volumes[i].guest, cpio_tree_visit,
		    w, err) != 0)
			goto fail;
	if (c->img.workdir[0] == '/' && strcmp(c->img.workdir, "/") != 0 &&
	    cpio_add_dir(w, c->img.workdir, 0755, err) == -1)
		goto fail;
	if (cpio_add_file(w, c->exec, c->exec_host, 0755, err) == -1 ||
	    cpio_add_file(w, "/init", ib->mcp_init, 0755, err) == -1 ||
	    cpio_add_data(w, "/mcp/config", c->config.data, c->config.len, 0600, err) == -1)
		goto fail;
	for (size_t i = 0; i < c->modules.n; i++) {
		snprintf(host, sizeof(host), "%s/%s", ib->modules_dir, c->modules.v[i]);
		if (cpio_add_file(w, c->guest_modules.v[i], host, 0644, err) == -1)
			goto fail;
	}
	buf_free(&hosts);
	return cpio_close(w, err);
fail:
	buf_free(&hosts);
	cpio_abort(w);
	return -1;
}

static int
artifact_load(const char *dir, struct image_artifact *out, struct mcp_err *err)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *j;
	const char *s;

	snprintf(path, sizeof(path), "%s/artifact.json", dir);
	if ((j = json_load_file(path, 0, &jerr)) == NULL)
		return mcp_err_set(err, MCP_E_NOTFOUND, "%s: %s", path, jerr.text);
#define GETS(field, key) do { \
	s = json_string_value(json_object_get(j, key)); \
	mcp_strlcpy(out->field, s ? s : "", sizeof(out->field)); \
} while (0)
	GETS(kernel, "kernel");
	GETS(initrd, "initrd");
	GETS(hash, "hash");
	GETS(image_id, "image_id");
	GETS(image_digest, "image_digest");
	GETS(exec, "exec");
#undef GETS
	out->kernel_size = (uint64_t)json_integer_value(json_object_get(j, "kernel_size"));
	out->initrd_size = (uint64_t)json_integer_value(json_object_get(j, "initrd_size"));
	json_decref(j);
	if (out->hash[0] == '\0' || out->initrd[0] != '/' || out->kernel[0] != '/')
		return mcp_err_set(err, MCP_E_DATALOSS, "%s: incomplete", path);
	return 0;
}

static int
artifact_store(const char *dir, const struct image_artifact *a, struct mcp_err *err)
{
	char path[PATH_MAX], *text;
	json_t *j = json_pack("{s:i, s:s, s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:I}",
	    "version", 1, "kernel", a->kernel, "kernel_size", (json_int_t)a->kernel_size,
	    "initrd", a->initrd, "initrd_size", (json_int_t)a->initrd_size,
	    "hash", a->hash, "image_id", a->image_id, "image_digest", a->image_digest,
	    "exec", a->exec, "built_at", (json_int_t)time(NULL));
	int rc;

	if (j == NULL)
		return mcp_err_set(err, MCP_E_INTERNAL, "artifact %s: json", dir);
	text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	snprintf(path, sizeof(path), "%s/artifact.json", dir);
	rc = file_write_atomic(path, text, strlen(text), 0644, err);
	free(text);
	return rc;
}

static void
dir_remove(const char *dir)
{
	char path[PATH_MAX];
	static const char *const files[] = { "initramfs.cpio", "artifact.json" };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

/*
 * Compare the tag's ID now with the one recorded at the last build, and
 * say so in the log when it moved; with record, remember id.  prev gets
 * the old ID when it moved, else "".
 */
static void
tag_note(struct initramfs *ib, const char *image, const char *id, int record,
    const char *what, char prev[IMAGE_HASH_MAX])
{
	struct mcp_err e = MCP_ERR_INIT;
	int moved = image_tag_moved(ib->cache_dir, image, id, record, prev, &e);

	if (moved == 1)
		log_warnx("image %s now names %s, not %s as at this node's last build from "
		    "it (re-built or re-loaded under the same tag): %s", image, id, prev, what);
	else if (moved == -1)
		log_warnx("image %s: %s", image, e.msg);
}

static int
initramfs_build(struct image_builder *b, const struct image_request *req,
    struct image_artifact *out, struct mcp_err *err)
{
	struct initramfs *ib = b->priv;
	struct build_ctx c;
	char final[PATH_MAX], tmp[PATH_MAX], initrd[PATH_MAX];
	const char *search;
	struct guestcfg g;
	int rc = -1, pulled;

	memset(&c, 0, sizeof(c));
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < req->nvolumes; i++)
		if (volume_guest_ok(&req->volumes[i], err) == -1)
			return -1;
	if (oci_fetch(ib->podman, req->image, &c.img, &pulled, err) == -1)
		return -1;
	if (pulled)
		log_info("image %s: was not in the local store; pulled it", req->image);
	for (size_t i = 0; c.img.env[i]; i++)
		env_set(&c.env, c.img.env[i]);
	for (size_t i = 0; req->env && req->env[i]; i++)
		env_set(&c.env, req->env[i]);
	search = env_get(&c.env, "PATH");
	if (app_resolve(ib, req, &c.img, search ? search : DEFAULT_GUEST_PATH, &c.argv,
	    c.exec_host, sizeof(c.exec_host), c.exec, sizeof(c.exec), err) == -1)
		goto out;
	if (modules_list(ib, &c.modules, err) == -1)
		goto out;
	for (size_t i = 0; i < c.modules.n; i++) {
		char gp[PATH_MAX];

		snprintf(gp, sizeof(gp), "%s/%s", GUEST_MODULE_DIR, c.modules.v[i]);
		strv_add(&c.guest_modules, gp);
	}
	g = (struct guestcfg){
		.argv = (const char *const *)c.argv.v,
		.env = (const char *const *)c.env.v,
		.modules = (const char *const *)c.guest_modules.v,
		.ip = req->ip, .netmask = req->netmask, .gateway = req->gateway,
		.hostname = req->hostname,
		.workdir = c.img.workdir[0] ? c.img.workdir : NULL,
	};
	if (guestcfg_format(&g, &c.config, err) == -1 || build_key(ib, req, &c, err) == -1)
		goto out;

	snprintf(final, sizeof(final), "%s/vm/%s", ib->cache_dir, c.key);
	if (artifact_load(final, out, NULL) == 0) {
		out->cached = 1;
		rc = 0;
		goto recorded;
	}
	dir_remove(final);	/* an unreadable leftover, if any */
	snprintf(tmp, sizeof(tmp), "%s/vm/.tmp-%.16s-%ld", ib->cache_dir, c.key, (long)getpid());
	dir_remove(tmp);
	if (file_mkdirs(tmp, 0700, err) == -1)
		goto out;
	snprintf(initrd, sizeof(initrd), "%s/initramfs.cpio", tmp);
	if (archive_write_all(ib, req, &c, initrd, err) == -1)
		goto fail_tmp;
	mcp_strlcpy(out->kernel, ib->kernel, sizeof(out->kernel));
	snprintf(out->initrd, sizeof(out->initrd), "%s/initramfs.cpio", final);
	mcp_strlcpy(out->image_id, c.img.id, sizeof(out->image_id));
	mcp_strlcpy(out->image_digest, c.img.digest, sizeof(out->image_digest));
	mcp_strlcpy(out->exec, c.exec, sizeof(out->exec));
	if (image_attest(ib->kernel, initrd, out->hash, &out->kernel_size,
	    &out->initrd_size, err) == -1 || artifact_store(tmp, out, err) == -1)
		goto fail_tmp;
	if (rename(tmp, final) == -1) {
		/* a concurrent build of the same key won: use it */
		dir_remove(tmp);
		if (artifact_load(final, out, err) == -1)
			goto out;
		out->cached = 1;
	}
	rc = 0;
recorded:
	tag_note(ib, req->image, c.img.id, 1, out->cached ? "using its earlier build" :
	    "rebuilt", out->image_prev_id);
	goto out;
fail_tmp:
	dir_remove(tmp);
out:
	build_ctx_free(&c);
	return rc;
}

static int
initramfs_pull(struct image_builder *b, const char *image, struct mcp_err *err)
{
	struct initramfs *ib = b->priv;
	struct oci_image img;
	char host[PATH_MAX], found[PATH_MAX], prev[IMAGE_HASH_MAX];
	int rc, pulled;

	/* a present tag is what was meant (tags are pinned): no registry */
	if (oci_fetch(ib->podman, image, &img, &pulled, err) == -1)
		return -1;
	if (pulled)
		log_info("image %s: was not in the local store; pulled it", image);
	tag_note(ib, image, img.id, 0, "VMs running the old image keep it; the next "
	    "deploy that boots one builds from the new", prev);
	rc = 0;
	/*
	 * Extract and check now when the image alone names the executable, so
	 * a dynamic or non-ELF entrypoint is refused before a deploy changes
	 * anything; build checks again whatever it finally runs.
	 */
	if (img.entrypoint[0] && img.entrypoint[0][0] == '/') {
		rc = exec_fetch(ib, image, &img, img.entrypoint[0], NULL, host,
		    sizeof(host), found, sizeof(found), err);
		if (rc == 0)
			rc = exec_check(image, host, found, err);
	}
	oci_image_free(&img);
	return rc;
}

static int
initramfs_exists(struct image_builder *b, const char *image, struct mcp_err *err)
{
	struct initramfs *ib = b->priv;

	return oci_exists(ib->podman, image, err);
}

static void
initramfs_free(struct image_builder *b)
{
	struct initramfs *ib;

	if (b == NULL)
		return;
	ib = b->priv;
	free(ib->kernel);
	free(ib->modules_dir);
	free(ib->mcp_init);
	free(ib->cache_dir);
	for (size_t i = 0; ib->modules && ib->modules[i]; i++)
		free(ib->modules[i]);
	free(ib->modules);
	free(ib);
	free(b);
}

static const struct image_builder_ops initramfs_ops = {
	.name = "initramfs",
	.pull = initramfs_pull,
	.exists = initramfs_exists,
	.build = initramfs_build,
	.free = initramfs_free,
};

struct image_builder *
initramfs_builder_new(const struct initramfs_config *cfg, struct mcp_err *err)
{
	struct image_builder *b;
	struct initramfs *ib;
	size_t n = 0;

	if (cfg->podman == NULL || cfg->kernel == NULL || cfg->modules_dir == NULL ||
	    cfg->mcp_init == NULL || cfg->cache_dir == NULL) {
		mcp_err_set(err, MCP_E_INVALID,
		    "initramfs builder: podman, kernel, modules_dir, mcp_init and cache_dir are required");
		return NULL;
	}
	if (file_mkdirs(cfg->cache_dir, 0700, err) == -1) {
		mcp_err_prefix(err, "initramfs builder: cache");
		return NULL;
	}
	ib = xcalloc(1, sizeof(*ib));
	ib->podman = cfg->podman;
	ib->kernel = xstrdup(cfg->kernel);
	ib->modules_dir = xstrdup(cfg->modules_dir);
	ib->mcp_init = xstrdup(cfg->mcp_init);
	ib->cache_dir = xstrdup(cfg->cache_dir);
	if (cfg->modules) {
		while (cfg->modules[n])
			n++;
		ib->modules = xcalloc(n + 1, sizeof(char *));
		for (size_t i = 0; i < n; i++)
			ib->modules[i] = xstrdup(cfg->modules[i]);
	}
	b = xcalloc(1, sizeof(*b));
	b->ops = &initramfs_ops;
	b->priv = ib;
	return b;
}
