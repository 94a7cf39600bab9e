/*
 * image/cpio.c: write an initramfs as an uncompressed newc archive with
 * libarchive.  Entries are owned by root with mtime 0 and sequential inode
 * numbers, so the same inputs give the same bytes (and the same
 * attestation hash).  Parent directories are emitted before their
 * children, as the kernel's unpacker needs, each exactly once.
 */
#include "image/image_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"

struct cpio_writer {
	struct archive *a;
	char *path;
	char **dirs;		/* guest dirs emitted so far */
	size_t ndirs, capdirs;
	unsigned long ino;
};

static int
ar_fail(struct cpio_writer *w, const char *guest, struct mcp_err *err)
{
	return mcp_err_set(err, MCP_E_INTERNAL, "initramfs %s: %s: %s", w->path, guest,
	    archive_error_string(w->a) ? archive_error_string(w->a) : "write failed");
}

struct cpio_writer *
cpio_open(const char *path, struct mcp_err *err)
{
	struct cpio_writer *w = xcalloc(1, sizeof(*w));

	w->path = xstrdup(path);
	w->a = archive_write_new();
	if (w->a == NULL || archive_write_set_format_cpio_newc(w->a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(w->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(w->a, 0) != ARCHIVE_OK ||
	    archive_write_open_filename(w->a, path) != ARCHIVE_OK) {
		if (w->a)
			ar_fail(w, "open", err);
		else
			mcp_err_set(err, MCP_E_RESOURCE, "initramfs %s: out of memory", path);
		cpio_abort(w);
		return NULL;
	}
	return w;
}

static int
dir_seen(struct cpio_writer *w, const char *guest)
{
	for (size_t i = 0; i < w->ndirs; i++)
		if (strcmp(w->dirs[i], guest) == 0)
			return 1;
	return 0;
}

static void
dir_remember(struct cpio_writer *w, const char *guest)
{
	if (w->ndirs == w->capdirs) {
		w->capdirs = w->capdirs ? w->capdirs * 2 : 32;
		w->dirs = realloc(w->dirs, w->capdirs * sizeof(char *));
		if (w->dirs == NULL)
			abort();
	}
	w->dirs[w->ndirs++] = xstrdup(guest);
}

/* A fresh entry for guest (absolute) with the common fields set. */
static struct archive_entry *
entry_new(struct cpio_writer *w, const char *guest, mode_t type, mode_t perm)
{
	struct archive_entry *e = archive_entry_new();

	if (e == NULL)
		abort();
	archive_entry_set_pathname(e, guest + 1);	/* no leading '/' */
	archive_entry_set_filetype(e, (unsigned)type);
	archive_entry_set_perm(e, perm & 07777);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_ino(e, (la_int64_t)++w->ino);
	archive_entry_set_nlink(e, type == AE_IFDIR ? 2 : 1);
	archive_entry_set_size(e, 0);
	return e;
}

static int
entry_write(struct cpio_writer *w, struct archive_entry *e, const char *guest,
    struct mcp_err *err)
{
	int rc = archive_write_header(w->a, e);

	archive_entry_free(e);
	return rc == ARCHIVE_OK ? 0 : ar_fail(w, guest, err);
}

/* Absolute, not "/", no empty, "." or ".." components. */
static int
guest_path_ok(const char *guest, struct mcp_err *err)
{
	const char *p = guest;

	if (guest[0] != '/' || guest[1] == '\0')
		goto bad;
	while (*p == '/') {
		size_t n = strcspn(++p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			goto bad;
		p += n;
	}
	return 0;
bad:
	return mcp_err_set(err, MCP_E_INVALID, "initramfs: bad guest path \"%s\"", guest);
}

/* Emit the missing ancestors of guest (not guest itself). */
static int
parents_add(struct cpio_writer *w, const char *guest, struct mcp_err *err)
{
	char tmp[4096];
	size_t n = strlen(guest);

	if (n >= sizeof(tmp))
		return mcp_err_set(err, MCP_E_INVALID, "initramfs: path too long: %s", guest);
	memcpy(tmp, guest, n + 1);
	for (size_t i = 1; i < n; i++) {
		if (tmp[i] != '/')
			continue;
		tmp[i] = '\0';
		if (!dir_seen(w, tmp)) {
			if (entry_write(w, entry_new(w, tmp, AE_IFDIR, 0755), tmp, err) == -1)
				return -1;
			dir_remember(w, tmp);
		}
		tmp[i] = '/';
	}
	return 0;
}

int
cpio_add_dir(struct cpio_writer *w, const char *guest, mode_t perm, struct mcp_err *err)
{
	if (guest_path_ok(guest, err) == -1 || parents_add(w, guest, err) == -1)
		return -1;
	if (dir_seen(w, guest))
		return 0;
	if (entry_write(w, entry_new(w, guest, AE_IFDIR, perm), guest, err) == -1)
		return -1;
	dir_remember(w, guest);
	return 0;
}

int
cpio_add_data(struct cpio_writer *w, const char *guest, const void *data,
    size_t len, mode_t perm, struct mcp_err *err)
{
	struct archive_entry *e;

	if (guest_path_ok(guest, err) == -1 || parents_add(w, guest, err) == -1)
		return -1;
	e = entry_new(w, guest, AE_IFREG, perm);
	archive_entry_set_size(e, (la_int64_t)len);
	if (entry_write(w, e, guest, err) == -1)
		return -1;
	if (len && archive_write_data(w->a, data, len) != (la_ssize_t)len)
		return ar_fail(w, guest, err);
	return 0;
}

int
cpio_add_file(struct cpio_writer *w, const char *guest, const char *host,
    mode_t perm, struct mcp_err *err)
{
	struct archive_entry *e;
	struct stat st;
	char chunk[65536];
	off_t left;
	int fd;

	if (guest_path_ok(guest, err) == -1 || parents_add(w, guest, err) == -1)
		return -1;
	if ((fd = open(host, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return mcp_err_errno(err, errno, "initramfs: read %s", host);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return mcp_err_set(err, MCP_E_INVALID, "initramfs: %s is not a regular file", host);
	}
	e = entry_new(w, guest, AE_IFREG, perm);
	archive_entry_set_size(e, (la_int64_t)st.st_size);
	if (entry_write(w, e, guest, err) == -1) {
		close(fd);
		return -1;
	}
	/* write exactly the size in the header even if the file changes */
	for (left = st.st_size; left > 0;) {
		ssize_t n = read(fd, chunk, left < (off_t)sizeof(chunk) ? (size_t)left : sizeof(chunk));

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return mcp_err_set(err, MCP_E_ABORTED,
			    "initramfs: %s changed while being copied", host);
		}
		if (archive_write_data(w->a, chunk, (size_t)n) != n) {
			close(fd);
			return ar_fail(w, guest, err);
		}
		left -= n;
	}
	close(fd);
	return 0;
}

int
cpio_add_symlink(struct cpio_writer *w, const char *guest, const char *target,
    struct mcp_err *err)
{
	struct archive_entry *e;

	if (guest_path_ok(guest, err) == -1 || parents_add(w, guest, err) == -1)
		return -1;
	e = entry_new(w, guest, AE_IFLNK, 0777);
	archive_entry_set_symlink(e, target);
	return entry_write(w, e, guest, err);
}

int
cpio_add_chardev(struct cpio_writer *w, const char *guest, mode_t perm,
    unsigned major, unsigned minor, struct mcp_err *err)
{
	struct archive_entry *e;

	if (guest_path_ok(guest, err) == -1 || parents_add(w, guest, err) == -1)
		return -1;
	e = entry_new(w, guest, AE_IFCHR, perm);
	archive_entry_set_rdevmajor(e, major);
	archive_entry_set_rdevminor(e, minor);
	return entry_write(w, e, guest, err);
}

static void
writer_free(struct cpio_writer *w)
{
	for (size_t i = 0; i < w->ndirs; i++)
		free(w->dirs[i]);
	free(w->dirs);
	free(w->path);
	free(w);
}

int
cpio_close(struct cpio_writer *w, struct mcp_err *err)
{
	int rc = 0;

	if (archive_write_close(w->a) != ARCHIVE_OK)
		rc = ar_fail(w, "close", err);
	archive_write_free(w->a);
	writer_free(w);
	return rc;
}

void
cpio_abort(struct cpio_writer *w)
{
	if (w == NULL)
		return;
	if (w->a)
		archive_write_free(w->a);
	writer_free(w);
}
