/*
 * image/oci.c: OCI images through podman, for the VM image builders:
 * pull, exists, inspect (id, digest, Entrypoint/Cmd/Env/WorkingDir),
 * fetch (the local image when present, else pull) and extract one file.
 * Every call goes through util/spawn with the struct podman_config of the
 * node (binary, global args, containers.conf, insecure registries), so the
 * builder sees the same store as the container runtime: an image that
 * exists only there (podman load/import/build) serves a VM as it serves a
 * container, and a present tag costs no registry round trip (tags are
 * pinned: ":latest" is refused by validation).
 *
 * Extraction mounts the image by its ID, so what is extracted is the image
 * that was inspected even if the tag moves meanwhile, read-only (`podman
 * image mount`, which needs root: the agent runs as root) and opens the
 * file with openat2 RESOLVE_IN_ROOT, so symlinks inside the image resolve
 * inside the image and never reach the host.
 */
#include "image/image.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/spawn.h"

#define OCI_MAX_ARGS 64

/* Run `podman <global args> <args>`; 0 when it ran (check res->status). */
static int
podman_exec(const struct podman_config *pc, const char *const *args, int slow,
    struct spawn_result *res, struct mcp_err *err)
{
	const char *argv[OCI_MAX_ARGS + 1];
	const char *envadd[2] = { NULL, NULL };
	char confenv[PATH_MAX + 32];
	struct spawn_opts so = { .stdout_fd = -1 };
	size_t n = 0;
	int timeout_s = pc->timeout_s > 0 ? pc->timeout_s : 60;

	argv[n++] = pc->binary && pc->binary[0] ? pc->binary : "podman";
	for (size_t i = 0; pc->global_args && pc->global_args[i]; i++)
		if (n < OCI_MAX_ARGS)
			argv[n++] = pc->global_args[i];
	for (size_t i = 0; args[i]; i++)
		if (n < OCI_MAX_ARGS)
			argv[n++] = args[i];
	if (n >= OCI_MAX_ARGS)
		return mcp_err_set(err, MCP_E_INVALID, "podman: too many arguments");
	argv[n] = NULL;
	if (pc->containers_conf && pc->containers_conf[0]) {
		snprintf(confenv, sizeof(confenv), "CONTAINERS_CONF=%s", pc->containers_conf);
		envadd[0] = confenv;
		so.env_add = envadd;
	}
	so.timeout_ms = timeout_s * 1000 * (slow ? 10 : 1);
	return spawn_run(argv, &so, res, err);
}

/* The registry host of an image reference, "" for docker.io short names. */
static void
image_registry(const char *image, char *out, size_t outsz)
{
	const char *slash = strchr(image, '/');
	size_t n;

	out[0] = '\0';
	if (slash == NULL)
		return;
	n = (size_t)(slash - image);
	if (memchr(image, '.', n) == NULL && memchr(image, ':', n) == NULL &&
	    !(n == 9 && strncmp(image, "localhost", 9) == 0))
		return;
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, image, n);
	out[n] = '\0';
}

static int
registry_insecure(const struct podman_config *pc, const char *image)
{
	char reg[256];

	image_registry(image, reg, sizeof(reg));
	for (size_t i = 0; reg[0] && pc->insecure_registries && pc->insecure_registries[i]; i++)
		if (strcmp(pc->insecure_registries[i], reg) == 0)
			return 1;
	return 0;
}

int
oci_classify(const char *line)
{
	static const char *const absent[] = {
		"image not known", "manifest unknown", "name unknown", "not found",
		"no such image",
	};

	for (size_t i = 0; line && i < sizeof(absent) / sizeof(absent[0]); i++)
		if (strstr(line, absent[i]))
			return MCP_E_NOTFOUND;
	return MCP_E_UNAVAILABLE;
}

int
oci_pull(const struct podman_config *pc, const char *image, struct mcp_err *err)
{
	const char *args[6];
	struct spawn_result res;
	size_t n = 0;
	int rc;

	args[n++] = "pull";
	args[n++] = "-q";
	if (registry_insecure(pc, image))
		args[n++] = "--tls-verify=false";
	args[n++] = image;
	args[n] = NULL;
	if (podman_exec(pc, args, 1, &res, err) == -1) {
		spawn_result_free(&res);
		return mcp_err_prefix(err, "pull %s", image);
	}
	rc = 0;
	if (res.status != 0) {
		const char *line = spawn_errline(&res);

		rc = mcp_err_set(err, oci_classify(line), "pull %s: %s", image, line);
	}
	spawn_result_free(&res);
	return rc;
}

int
oci_exists(const struct podman_config *pc, const char *image, struct mcp_err *err)
{
	const char *args[] = { "image", "exists", image, NULL };
	struct spawn_result res;
	int rc;

	if (podman_exec(pc, args, 0, &res, err) == -1) {
		spawn_result_free(&res);
		return mcp_err_prefix(err, "image exists %s", image);
	}
	if (res.status == 0)
		rc = 1;
	else if (res.status == 1)
		rc = 0;
	else
		rc = mcp_err_set(err, MCP_E_UNAVAILABLE, "image exists %s: %s", image,
		    spawn_errline(&res));
	spawn_result_free(&res);
	return rc;
}

/* A JSON array of strings as a NULL-terminated vector (empty when absent). */
static char **
strv_from_json(json_t *arr)
{
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0, j = 0;
	char **v = xcalloc(n + 1, sizeof(char *));

	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));

		if (s)
			v[j++] = xstrdup(s);
	}
	return v;
}

static void
strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void
oci_image_free(struct oci_image *img)
{
	strv_free(img->entrypoint);
	strv_free(img->cmd);
	strv_free(img->env);
	free(img->workdir);
	memset(img, 0, sizeof(*img));
}

int
oci_inspect(const struct podman_config *pc, const char *image,
    struct oci_image *out, struct mcp_err *err)
{
	const char *args[] = { "image", "inspect", image, NULL };
	struct spawn_result res;
	json_error_t jerr;
	json_t *root = NULL, *img, *cfg;
	const char *id, *digest, *wd;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (podman_exec(pc, args, 0, &res, err) == -1) {
		spawn_result_free(&res);
		return mcp_err_prefix(err, "inspect image %s", image);
	}
	if (res.status != 0) {
		const char *line = spawn_errline(&res);

		mcp_err_set(err, oci_classify(line), "inspect image %s: %s", image, line);
		goto out;
	}
	root = json_loadb(res.out.data, res.out.len, 0, &jerr);
	img = json_array_get(root, 0);
	id = json_string_value(json_object_get(img, "Id"));
	if (id == NULL || strlen(id) < 12) {
		mcp_err_set(err, MCP_E_INTERNAL, "inspect image %s: unexpected podman output%s%s",
		    image, root ? "" : ": ", root ? "" : jerr.text);
		goto out;
	}
	snprintf(out->id, sizeof(out->id), "%s%s",
	    strncmp(id, "sha256:", 7) == 0 ? "" : "sha256:", id);
	digest = json_string_value(json_object_get(img, "Digest"));
	mcp_strlcpy(out->digest, digest ? digest : "", sizeof(out->digest));
	cfg = json_object_get(img, "Config");
	out->entrypoint = strv_from_json(json_object_get(cfg, "Entrypoint"));
	out->cmd = strv_from_json(json_object_get(cfg, "Cmd"));
	out->env = strv_from_json(json_object_get(cfg, "Env"));
	wd = json_string_value(json_object_get(cfg, "WorkingDir"));
	out->workdir = xstrdup(wd ? wd : "");
	rc = 0;
out:
	json_decref(root);
	spawn_result_free(&res);
	return rc;
}

int
oci_fetch(const struct podman_config *pc, const char *image, struct oci_image *out,
    int *pulled, struct mcp_err *err)
{
	struct mcp_err ierr = MCP_ERR_INIT;

	*pulled = 0;
	if (oci_inspect(pc, image, out, &ierr) == 0)
		return 0;
	if (ierr.code != MCP_E_NOTFOUND) {
		if (err)
			*err = ierr;
		return -1;
	}
	if (oci_pull(pc, image, err) == -1)
		return mcp_err_prefix(err, "image %s is not in this node's podman store, "
		    "and fetching it failed", image);
	*pulled = 1;
	return oci_inspect(pc, image, out, err);
}

/* Copy an open regular file to dest (via dest.tmp + rename), mode 0755. */
static int
copy_out(int src, const char *dest, struct mcp_err *err)
{
	char tmp[PATH_MAX + 16], chunk[65536];
	ssize_t n;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp%ld", dest, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd == -1)
		return mcp_err_errno(err, errno, "create %s", tmp);
	while ((n = read(src, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || write(fd, chunk, (size_t)n) != n) {
			mcp_err_errno(err, errno, "copy to %s", tmp);
			close(fd);
			unlink(tmp);
			return -1;
		}
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		mcp_err_errno(err, errno, "write %s", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, dest) == -1) {
		mcp_err_errno(err, errno, "rename %s", tmp);
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Open path inside the tree at rootfd, symlinks confined to the tree. */
static int
open_in_root(int rootfd, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

/* Find and open the file; fills found.  -1 with errno on failure. */
static int
find_in_root(int rootfd, const char *path, const char *search, char *found,
    size_t foundsz)
{
	char cand[PATH_MAX];
	const char *p;
	int fd;

	if (strchr(path, '/') || search == NULL) {
		mcp_strlcpy(found, path, foundsz);
		return open_in_root(rootfd, path);
	}
	for (p = search; *p;) {
		size_t len = strcspn(p, ":");

		if (len > 0 && p[0] == '/') {
			snprintf(cand, sizeof(cand), "%.*s/%s", (int)len, p, path);
			if ((fd = open_in_root(rootfd, cand)) >= 0) {
				struct stat st;

				if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
					mcp_strlcpy(found, cand, foundsz);
					return fd;
				}
				close(fd);
			}
		}
		p += len;
		if (*p == ':')
			p++;
	}
	errno = ENOENT;
	return -1;
}

int
oci_extract(const struct podman_config *pc, const char *image, const char *id,
    const char *path, const char *path_search, const char *dest,
    char *found, size_t foundsz, struct mcp_err *err)
{
	const char *mount_args[] = { "image", "mount", id, NULL };
	const char *umount_args[] = { "image", "unmount", id, NULL };
	struct spawn_result res;
	struct mcp_err uerr = MCP_ERR_INIT;
	struct stat st;
	int rootfd = -1, fd = -1, rc = -1;
	char where[PATH_MAX];

	if (podman_exec(pc, mount_args, 0, &res, err) == -1) {
		spawn_result_free(&res);
		return mcp_err_prefix(err, "image %s: mount", image);
	}
	if (res.status != 0) {
		mcp_err_set(err, MCP_E_UNAVAILABLE, "image %s: mount: %s", image,
		    spawn_errline(&res));
		spawn_result_free(&res);
		return -1;
	}
	mcp_strlcpy(where, res.out.data, sizeof(where));
	mcp_rtrim(where);
	spawn_result_free(&res);

	if (where[0] != '/' || (rootfd = open(where, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		mcp_err_errno(err, errno, "image %s: open mount point \"%s\"", image, where);
		goto out;
	}
	fd = find_in_root(rootfd, path, path_search, found, foundsz);
	if (fd == -1) {
		mcp_err_errno(err, errno, "image %s: %s", image, path);
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		mcp_err_set(err, MCP_E_INVALID, "image %s: %s is not a regular file", image,
		    found);
		goto out;
	}
	if (copy_out(fd, dest, err) == -1) {
		mcp_err_prefix(err, "image %s: extract %s", image, found);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rootfd >= 0)
		close(rootfd);
	if (podman_exec(pc, umount_args, 0, &res, &uerr) == 0 && res.status != 0)
		mcp_err_set(&uerr, MCP_E_UNAVAILABLE, "%s", spawn_errline(&res));
	spawn_result_free(&res);
	if (uerr.code && rc == 0)
		rc = mcp_err_set(err, uerr.code, "image %s: unmount: %s", image, uerr.msg);
	return rc;
}
