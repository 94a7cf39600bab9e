/*
 * image/image.h: VM image builders (SPEC §4.1 "Pull" and "Build").
 *
 * A builder turns an OCI image plus a component's settings into something
 * QEMU can boot: a kernel and an initramfs, with the SHA-256 of both (the
 * attestation hash the runtime re-checks before every boot).  The QEMU
 * runtime only sees struct image_builder, so another builder (a Nanos or
 * disk-image one) can be added without touching it.
 *
 * One builder exists today, the initramfs builder (initramfs.c): the
 * guest kernel, an uncompressed newc initramfs holding /init = mcp-init,
 * the app's static ELF at its image path, /mcp/config (guestcfg.c, format
 * in cmd/mcp-init/config.h), the kernel modules under /mcp/modules (none
 * when the kernel's manifest says modules=none, kernel.c) and the
 * component's volume host directories at their guest paths.  Images come
 * from the node's podman store, pulled only when absent (oci.c); builds
 * are cached by image id (never the tag) + a hash of every other input,
 * so an unchanged redeploy reuses the artifact and a re-pointed tag
 * rebuilds.
 *
 * Files: image.h (this interface), oci.c (podman pull/inspect/extract),
 * elf.c (static ELF check), guestcfg.c (mcp-init config writer),
 * attest.c (hashes), tags.c (the ID each tag named at the last build),
 * kernel.c (the guest kernel's manifest), initramfs.c (the builder).
 */
#ifndef MCP_IMAGE_IMAGE_H
#define MCP_IMAGE_IMAGE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/runtime.h"
#include "util/buf.h"
#include "util/err.h"

#define IMAGE_HASH_MAX 72	/* "sha256:" + 64 hex + NUL */

/* What to build for one component; strings are borrowed. */
struct image_request {
	const char *image;		/* OCI reference */
	const char *service;		/* for the /usr/local/bin/<service> fallback */
	const char *const *cmd;		/* component cmd (overrides image Cmd); may be NULL */
	const char *const *env;		/* "K=V" on top of the image env ($PORT vars included) */
	const struct rt_volume *volumes;	/* host dirs/files baked in at guest paths */
	size_t nvolumes;
	const char *hostname;		/* may be NULL */
	const char *ip, *netmask, *gateway;	/* guest IPv4 config; NULL = none */
};

/* A bootable result. */
struct image_artifact {
	char kernel[PATH_MAX];
	char initrd[PATH_MAX];
	uint64_t kernel_size, initrd_size;
	char hash[IMAGE_HASH_MAX];	/* image_attest(kernel, initrd) at build time */
	char image_id[IMAGE_HASH_MAX];	/* "sha256:<hex>" of the OCI image config */
	char image_digest[IMAGE_HASH_MAX];	/* manifest digest, "" if unknown */
	char exec[PATH_MAX];		/* the app's path inside the guest */
	int cached;			/* 1 when an earlier build was reused */
	/*
	 * The ID the image's tag named when this node last built from it,
	 * when that was another image (the tag was re-pointed: re-built or
	 * re-loaded locally); "" otherwise.
	 */
	char image_prev_id[IMAGE_HASH_MAX];
};

struct image_builder;

struct image_builder_ops {
	const char *name;
	/* Fetch the image and extract what build needs when it can already tell. */
	int (*pull)(struct image_builder *b, const char *image, struct mcp_err *err);
	/* 1 present locally, 0 absent, -1 error. */
	int (*exists)(struct image_builder *b, const char *image, struct mcp_err *err);
	/* Produce (or reuse) the artifact for req. */
	int (*build)(struct image_builder *b, const struct image_request *req,
	    struct image_artifact *out, struct mcp_err *err);
	void (*free)(struct image_builder *b);
};

struct image_builder {
	const struct image_builder_ops *ops;
	void *priv;
};

static inline void
image_builder_free(struct image_builder *b)
{
	if (b && b->ops->free)
		b->ops->free(b);
}

/* ---- the initramfs builder (initramfs.c) ---- */

struct initramfs_config {
	const struct podman_config *podman;	/* required */
	const char *kernel;		/* uncompressed vmlinux (or bzImage) */
	const char *modules_dir;	/* *.ko + "order" (scripts/fetch-kernel.sh) */
	const char *const *modules;	/* file names in load order; NULL = modules_dir/order */
	const char *mcp_init;		/* the static mcp-init binary */
	const char *cache_dir;		/* oci/ (extracted files) and vm/ (artifacts) */
};

/* Copies what it needs from cfg. */
struct image_builder *initramfs_builder_new(const struct initramfs_config *cfg,
    struct mcp_err *err);

/* ---- the guest kernel (kernel.c) ---- */

/*
 * What a guest kernel is, from DIR/manifest beside DIR/vmlinux: key=value
 * lines, '#' comments, written by scripts/build-guest-kernel.sh or
 * scripts/fetch-kernel.sh:
 *   source=linux-source-6.1 6.1.192-3     where it came from
 *   release=6.1.192                        its uname -r
 *   modules=none | <dir>                   none: everything built in
 *   features=pvh virtio-pci virtio-mmio ...  what it can drive
 * Unknown keys are ignored.
 */
struct image_kernel {
	char path[PATH_MAX];	/* the kernel file, symlinks resolved */
	int manifest;		/* 1: a manifest was read */
	int modules_none;	/* the manifest says modules=none */
	char source[128];	/* "" unknown */
	char release[64];	/* "" unknown */
	char features[256];	/* space-separated; "" unknown */
};

/* Parse manifest text (where names it in errors); MCP_E_INVALID on a bad line
 * or a missing modules= line. */
int image_kernel_manifest_parse(const char *text, const char *where,
    struct image_kernel *out, struct mcp_err *err);
/* Resolve kernel and read the manifest beside it; none is not an error
 * (manifest = 0: a modular kernel, as before manifests). */
int image_kernel_probe(const char *kernel, struct image_kernel *out, struct mcp_err *err);
/* 1 when feature is one of the words of k->features. */
int image_kernel_has(const struct image_kernel *k, const char *feature);
/* One line for people: "<release> (<source>, everything built in|modules)";
 * "<path> (no manifest: modular)" without a manifest. */
void image_kernel_describe(const struct image_kernel *k, char *out, size_t outsz);

/* ---- attestation (attest.c) ---- */

/*
 * "sha256:<hex>" of the kernel's bytes followed by the initramfs's bytes,
 * i.e. `cat KERNEL INITRD | sha256sum`; the sizes are returned too (the
 * runtime records and compares them so the split cannot move).
 */
int image_attest(const char *kernel, const char *initrd, char out[IMAGE_HASH_MAX],
    uint64_t *kernel_size, uint64_t *initrd_size, struct mcp_err *err);

/* ---- what each tag named at the last build (tags.c) ---- */

/*
 * 1 with prev = the recorded ID when the ID recorded for tag under
 * cache_dir is not id; 0 (prev = "") when it is, or nothing is recorded.
 * With record, id becomes the recorded ID (-1 when that cannot be written).
 */
int image_tag_moved(const char *cache_dir, const char *tag, const char *id, int record,
    char prev[IMAGE_HASH_MAX], struct mcp_err *err);
/* Parse a record ("<id>\n<tag>\n") for tag into id; -1 if it is not one. */
int image_tag_parse(const char *text, const char *tag, char id[IMAGE_HASH_MAX]);

/* ---- ELF check (elf.c) ---- */

/*
 * 0 when path is a static x86-64 ELF executable (static-pie included);
 * -1 with MCP_E_INVALID and a message naming path when it is not ELF, not
 * x86-64, not an executable, or dynamically linked (has PT_INTERP).
 */
int image_elf_check(const char *path, struct mcp_err *err);

/* ---- guest config (guestcfg.c) ---- */

struct guestcfg {
	const char *const *argv;	/* argv[0] absolute; NULL-terminated */
	const char *const *env;		/* NULL-terminated */
	const char *const *modules;	/* guest paths, load order; NULL-terminated */
	const char *ifname, *ip, *netmask, *gateway, *hostname, *workdir;	/* NULL = unset */
};

/* Append the /mcp/config text for g to out (format: cmd/mcp-init/config.h). */
int guestcfg_format(const struct guestcfg *g, struct buf *out, struct mcp_err *err);

/* ---- OCI images through podman (oci.c) ---- */

struct oci_image {
	char id[IMAGE_HASH_MAX];	/* "sha256:<hex>" */
	char digest[IMAGE_HASH_MAX];	/* "" if none */
	char **entrypoint, **cmd, **env;	/* NULL-terminated, possibly empty */
	char *workdir;			/* "" if unset */
};

/*
 * The error code for a podman error line about an image: MCP_E_NOTFOUND
 * when it says the image (or tag) does not exist, locally or in the
 * registry; MCP_E_UNAVAILABLE for anything else (registry unreachable,
 * storage errors).
 */
int oci_classify(const char *line);
int oci_pull(const struct podman_config *pc, const char *image, struct mcp_err *err);
/* 1 / 0 / -1 */
int oci_exists(const struct podman_config *pc, const char *image, struct mcp_err *err);
/* -1 with MCP_E_NOTFOUND when the image is not in the local store. */
int oci_inspect(const struct podman_config *pc, const char *image,
    struct oci_image *out, struct mcp_err *err);
/*
 * Inspect the image in the local store; only when it is absent, pull it
 * from its registry first (*pulled = 1).  A failed pull says that the
 * image is neither here nor fetchable, and why.
 */
int oci_fetch(const struct podman_config *pc, const char *image, struct oci_image *out,
    int *pulled, struct mcp_err *err);
void oci_image_free(struct oci_image *img);
/*
 * Copy the regular file at guest path `path` (symlinks resolved inside the
 * image root) out of the image with ID `id` (as inspected, so a tag that
 * moves meanwhile cannot change what is copied; `image` names it in
 * errors) to dest; with path_search, a name without '/' is searched in the
 * dirs of `path_search` (a $PATH value) and the absolute path found is
 * written to found (foundsz bytes).
 */
int oci_extract(const struct podman_config *pc, const char *image, const char *id,
    const char *path, const char *path_search, const char *dest,
    char *found, size_t foundsz, struct mcp_err *err);

#endif
