/*
 * image/image_int.h: helpers shared inside lib/image only: the newc
 * archive writer (cpio.c) and the host tree walker (tree.c) used to copy
 * volume directories into the initramfs and to hash them for the cache.
 */
#ifndef MCP_IMAGE_INT_H
#define MCP_IMAGE_INT_H

#include <sys/stat.h>
#include <sys/types.h>

#include "util/err.h"

/* ---- cpio.c: a deterministic newc archive (uid/gid 0, mtime 0) ---- */

struct cpio_writer;

struct cpio_writer *cpio_open(const char *path, struct mcp_err *err);
/* Guest paths are absolute; missing parent directories are added (0755). */
int cpio_add_dir(struct cpio_writer *w, const char *guest, mode_t perm, struct mcp_err *err);
int cpio_add_file(struct cpio_writer *w, const char *guest, const char *host,
    mode_t perm, struct mcp_err *err);
int cpio_add_data(struct cpio_writer *w, const char *guest, const void *data,
    size_t len, mode_t perm, struct mcp_err *err);
int cpio_add_symlink(struct cpio_writer *w, const char *guest, const char *target,
    struct mcp_err *err);
int cpio_add_chardev(struct cpio_writer *w, const char *guest, mode_t perm,
    unsigned major, unsigned minor, struct mcp_err *err);
/* Finish and free; -1 if the archive could not be completed. */
int cpio_close(struct cpio_writer *w, struct mcp_err *err);
/* Free without finishing (error paths); the file is left for the caller. */
void cpio_abort(struct cpio_writer *w);

/* ---- tree.c: walk a host file or directory, sorted, not following links ---- */

/*
 * Called for the root and every entry below it, parents before children,
 * names in strcmp order.  guest is the entry's path under the guest root;
 * link is the target for symlinks (else NULL).  Non-zero return stops.
 */
typedef int (*tree_visit_fn)(void *arg, const char *host, const char *guest,
    const struct stat *st, const char *link, struct mcp_err *err);

int tree_walk(const char *host, const char *guest, tree_visit_fn fn, void *arg,
    struct mcp_err *err);

#endif
