/*
 * data/data_import.c: an archive becomes a directory's new contents, whole
 * or not at all.
 *
 * <parent>/.<name>.import-XXXXXX/ is made beside the target (same file
 * system, so the last step is a rename): the incoming bytes are spooled to
 * archive.tar.zst there while being hashed; at the end the SHA-256 and size
 * the sender announced are compared, and only a verified archive is
 * extracted into data/ beside it.  Every entry is checked first
 * (data_entry_check) and libarchive's secure-extraction flags refuse a
 * path through a symlink as well; the first bad entry fails the import.
 * A complete data/ is then exchanged with the target (renameat2
 * RENAME_EXCHANGE) or renamed to it when there is none, and the temporary
 * directory, now holding the old contents, is removed.  Any failure
 * removes it instead: the target is untouched.
 */
#include "data/data.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "util/buf.h"
#include "util/hash.h"

struct data_import {
	char target[PATH_MAX];
	char tmp[PATH_MAX];		/* .<name>.import-XXXXXX beside target */
	char spool[PATH_MAX + 32];
	char data[PATH_MAX + 32];
	int fd;				/* spool file */
	int force;
	EVP_MD_CTX *md;
	uint64_t size;
	uint64_t max_bytes;		/* spool + extracted files, at most */
	uint64_t max_entries;
	int done;			/* renamed into place */
};

static int
data_rm_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) == -1 && errno != ENOENT ? -1 : 0;
	return unlink(path) == -1 && errno != ENOENT ? -1 : 0;
}

int
data_remove_tree(const char *path, struct mcp_err *err)
{
	struct stat st;

	if (lstat(path, &st) == -1 && errno == ENOENT)
		return 0;
	if (nftw(path, data_rm_entry, 16, FTW_DEPTH | FTW_PHYS) == -1) {
		if (err)
			return mcp_err_errno(err, errno, "remove %s", path);
		return -1;
	}
	return 0;
}

/* 1 when dir exists and has entries, 0 when absent or empty, -1 error. */
static int
data_dir_nonempty(const char *dir, struct mcp_err *err)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int found = 0;

	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		return mcp_err_errno(err, errno, "import %s", dir);
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			found = 1;
			break;
		}
	closedir(d);
	return found;
}

/*
 * Remove what an earlier import into target left when its process died
 * (<parent>/.<base>.import-XXXXXX): it may hold a whole archive.  Only
 * entries of exactly that shape go; failures are left for the next time.
 */
static void
data_import_clean_stale(const char *parent, const char *base)
{
	char prefix[NAME_MAX + 16], path[PATH_MAX];
	struct dirent *de;
	size_t pl;
	DIR *d;

	snprintf(prefix, sizeof(prefix), ".%s.import-", base);
	pl = strlen(prefix);
	if ((d = opendir(parent)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, pl) != 0 ||
		    strlen(de->d_name) != pl + 6)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", parent, de->d_name) <
		    (int)sizeof(path))
			data_remove_tree(path, NULL);
	}
	closedir(d);
}

struct data_import *
data_import_new(const char *target, int force, struct mcp_err *err)
{
	struct data_import *im;
	char copy[PATH_MAX], *parent, *base;
	int r;

	if (target == NULL || target[0] != '/' || strlen(target) >= PATH_MAX - 64) {
		mcp_err_set(err, MCP_E_INVALID, "import: \"%s\" is not an absolute "
		    "path", target ? target : "");
		return NULL;
	}
	if ((r = data_dir_nonempty(target, err)) == -1)
		return NULL;
	if (r == 1 && !force) {
		mcp_err_set(err, MCP_E_EXISTS, "import %s: the directory exists and "
		    "is not empty (force replaces it)", target);
		return NULL;
	}
	im = xcalloc(1, sizeof(*im));
	im->fd = -1;
	im->force = force;
	snprintf(im->target, sizeof(im->target), "%s", target);
	snprintf(copy, sizeof(copy), "%s", target);
	base = basename(copy);
	snprintf(im->tmp, sizeof(im->tmp), "%s", target);
	parent = dirname(im->tmp);
	/* dirname may return a static "/" or "." */
	{
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s", parent);
		data_import_clean_stale(p, base);
		snprintf(im->tmp, sizeof(im->tmp), "%s/.%s.import-XXXXXX",
		    strcmp(p, "/") == 0 ? "" : p, base);
	}
	if (mkdtemp(im->tmp) == NULL) {
		mcp_err_errno(err, errno, "import %s: temporary directory %s",
		    target, im->tmp);
		free(im);
		return NULL;
	}
	im->max_entries = DATA_IMPORT_MAX_ENTRIES;
	{
		struct statvfs vfs;
		uint64_t avail;

		/* what the file system can take, less a reserve for others */
		if (statvfs(im->tmp, &vfs) == 0) {
			avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
			im->max_bytes = avail > DATA_IMPORT_RESERVE ?
			    avail - DATA_IMPORT_RESERVE : 0;
		} else {
			im->max_bytes = UINT64_MAX;
		}
	}
	snprintf(im->spool, sizeof(im->spool), "%s/archive.tar.zst", im->tmp);
	snprintf(im->data, sizeof(im->data), "%s/data", im->tmp);
	im->fd = open(im->spool, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	im->md = EVP_MD_CTX_new();
	if (im->fd == -1 || im->md == NULL ||
	    EVP_DigestInit_ex(im->md, EVP_sha256(), NULL) != 1) {
		mcp_err_errno(err, errno ? errno : ENOMEM, "import %s: spool %s",
		    target, im->spool);
		data_import_free(im);
		return NULL;
	}
	return im;
}

void
data_import_set_limits(struct data_import *im, uint64_t max_bytes,
    uint64_t max_entries)
{
	if (max_bytes > 0 && max_bytes < im->max_bytes)
		im->max_bytes = max_bytes;
	if (max_entries > 0)
		im->max_entries = max_entries;
}

int
data_import_feed(struct data_import *im, const void *data, size_t len,
    struct mcp_err *err)
{
	const char *p = data;

	if (im->fd == -1)
		return mcp_err_set(err, MCP_E_PRECONDITION, "import %s: already "
		    "finished", im->target);
	if (len > im->max_bytes || im->size > im->max_bytes - len)
		return mcp_err_set(err, MCP_E_RESOURCE, "import %s: the archive "
		    "is larger than the %llu bytes the import may write in %s",
		    im->target, (unsigned long long)im->max_bytes, im->tmp);
	EVP_DigestUpdate(im->md, data, len);
	im->size += len;
	while (len > 0) {
		ssize_t n = write(im->fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return mcp_err_errno(err, errno, "import %s: write %s",
			    im->target, im->spool);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* What the import may still write when it wrote used bytes. */
static uint64_t
data_room(const struct data_import *im, uint64_t used)
{
	return used < im->max_bytes ? im->max_bytes - used : 0;
}

/* Extract the spooled archive into im->data, checking every entry. */
static int
data_extract(struct data_import *im, struct data_sum *sum, struct mcp_err *err)
{
	struct archive *in = archive_read_new(), *out = archive_write_disk_new();
	struct archive_entry *e;
	char path[PATH_MAX * 2];
	int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
	    ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
	    ARCHIVE_EXTRACT_NO_OVERWRITE;	/* absolute: only our own prefix */
	uint64_t written = im->size, entries = 0;	/* the spool counts */
	int r, rc = -1;

	if (geteuid() == 0)
		flags |= ARCHIVE_EXTRACT_OWNER;
	if (mkdir(im->data, 0755) == -1 || chmod(im->data, 0755) == -1) {
		mcp_err_errno(err, errno, "import %s: mkdir %s", im->target,
		    im->data);
		goto out;
	}
	archive_read_support_filter_zstd(in);
	archive_read_support_format_tar(in);
	archive_write_disk_set_options(out, flags);
	if (archive_read_open_filename(in, im->spool, 1 << 16) != ARCHIVE_OK) {
		mcp_err_set(err, MCP_E_INVALID, "import %s: not a tar.zst: %s",
		    im->target, archive_error_string(in));
		goto out;
	}
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		char name[PATH_MAX], hlbuf[PATH_MAX];
		const char *hl = archive_entry_hardlink(e);
		mode_t type = archive_entry_filetype(e);
		const void *buf;
		size_t len;
		la_int64_t off;

		la_int64_t esize = archive_entry_size(e);
		const char *pn = archive_entry_pathname(e);

		if (pn == NULL)
			pn = "";
		if (++entries > im->max_entries) {
			mcp_err_set(err, MCP_E_RESOURCE, "import %s: the archive has "
			    "more than %llu entries", im->target,
			    (unsigned long long)im->max_entries);
			goto out;
		}
		{
			size_t room = sizeof(name) - strlen(im->data) - 2;
			const char *lng = strlen(pn) >= room ? pn :
			    hl && strlen(hl) >= room ? hl : NULL;

			if (lng) {
				mcp_err_set(err, MCP_E_INVALID, "import %s: entry "
				    "\"%.100s...\": name longer than %zu bytes",
				    im->target, lng, room - 1);
				goto out;
			}
		}
		snprintf(name, sizeof(name), "%s", pn);
		if (hl) {
			snprintf(hlbuf, sizeof(hlbuf), "%s", hl);
			hl = hlbuf;
		}
		/* a zstd bomb or an absurd size: refused before writing it */
		if (esize > 0 && (uint64_t)esize > data_room(im, written)) {
			mcp_err_set(err, MCP_E_RESOURCE, "import %s: entry \"%s\" "
			    "(%lld bytes) would take the import past the %llu "
			    "bytes it may write in %s", im->target, name,
			    (long long)esize, (unsigned long long)im->max_bytes,
			    im->tmp);
			goto out;
		}
		if (data_entry_check(name, type, archive_entry_symlink(e), hl,
		    err) == -1) {
			mcp_err_prefix(err, "import %s", im->target);
			goto out;
		}
		/* no set-id bits from an archive */
		archive_entry_set_perm(e, archive_entry_perm(e) & 01777);
		snprintf(path, sizeof(path), "%s/%s", im->data, name);
		{	/* only in our own 0700 directory: no one else races it */
			struct stat st;

			if (lstat(path, &st) == 0 && !(S_ISDIR(st.st_mode) &&
			    type == S_IFDIR) && strcmp(name, ".") != 0 &&
			    strcmp(name, "./") != 0) {
				mcp_err_set(err, MCP_E_INVALID, "import %s: entry "
				    "\"%s\" appears twice in the archive",
				    im->target, name);
				goto out;
			}
		}
		archive_entry_set_pathname(e, path);
		if (hl) {
			snprintf(path, sizeof(path), "%s/%s", im->data, hl);
			archive_entry_set_hardlink(e, path);
		}
		if (archive_write_header(out, e) != ARCHIVE_OK) {
			mcp_err_set(err, MCP_E_INVALID, "import %s: entry \"%s\": %s",
			    im->target, name, archive_error_string(out));
			goto out;
		}
		while ((r = archive_read_data_block(in, &buf, &len, &off)) ==
		    ARCHIVE_OK) {
			if (len > data_room(im, written)) {
				mcp_err_set(err, MCP_E_RESOURCE, "import %s: entry "
				    "\"%s\" takes the import past the %llu bytes "
				    "it may write in %s", im->target, name,
				    (unsigned long long)im->max_bytes, im->tmp);
				goto out;
			}
			written += len;
			if (archive_write_data_block(out, buf, len, off) !=
			    ARCHIVE_OK) {
				mcp_err_set(err, MCP_E_INTERNAL, "import %s: write "
				    "\"%s\": %s", im->target, name,
				    archive_error_string(out));
				goto out;
			}
		}
		if (r != ARCHIVE_EOF) {
			mcp_err_set(err, MCP_E_INVALID, "import %s: entry \"%s\": %s",
			    im->target, name, archive_error_string(in));
			goto out;
		}
		if (archive_write_finish_entry(out) != ARCHIVE_OK) {
			mcp_err_set(err, MCP_E_INTERNAL, "import %s: finish \"%s\": %s",
			    im->target, name, archive_error_string(out));
			goto out;
		}
		if (type == S_IFREG && hl == NULL) {
			sum->files++;
			sum->bytes += (uint64_t)archive_entry_size(e);
		}
	}
	if (r != ARCHIVE_EOF) {
		mcp_err_set(err, MCP_E_INVALID, "import %s: archive: %s", im->target,
		    archive_error_string(in));
		goto out;
	}
	if (archive_write_close(out) != ARCHIVE_OK) {
		mcp_err_set(err, MCP_E_INTERNAL, "import %s: %s", im->target,
		    archive_error_string(out));
		goto out;
	}
	rc = 0;
out:
	archive_read_free(in);
	archive_write_free(out);
	return rc;
}

int
data_import_finish(struct data_import *im, const char *sha256, uint64_t size,
    struct data_sum *sum, struct mcp_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct data_sum s;
	int fd = im->fd;

	memset(&s, 0, sizeof(s));
	if (fd == -1)
		return mcp_err_set(err, MCP_E_PRECONDITION, "import %s: already "
		    "finished", im->target);
	im->fd = -1;
	if (fsync(fd) == -1) {
		int e = errno;

		close(fd);
		return mcp_err_errno(err, e, "import %s: spool %s", im->target,
		    im->spool);
	}
	if (close(fd) == -1)
		return mcp_err_errno(err, errno, "import %s: spool %s", im->target,
		    im->spool);
	EVP_DigestFinal_ex(im->md, md, &mdlen);
	hash_hex(md, mdlen, s.sha256);
	s.size = im->size;
	if (size != im->size)
		return mcp_err_set(err, MCP_E_INVALID, "import %s: received %llu "
		    "bytes, the sender announced %llu (stream cut short?)",
		    im->target, (unsigned long long)im->size,
		    (unsigned long long)size);
	if (sha256 == NULL || strcasecmp(sha256, s.sha256) != 0)
		return mcp_err_set(err, MCP_E_INVALID, "import %s: SHA-256 of the "
		    "received archive is %s, the sender announced %s", im->target,
		    s.sha256, sha256 ? sha256 : "none");
	if (data_extract(im, &s, err) == -1)
		return -1;
	unlink(im->spool);
	/* data may have appeared since the start (the service writing) */
	if (!im->force) {
		int r = data_dir_nonempty(im->target, err);

		if (r == -1)
			return -1;
		if (r == 1)
			return mcp_err_set(err, MCP_E_EXISTS, "import %s: the "
			    "directory is no longer empty (force replaces it)",
			    im->target);
	}
	/* into place: exchange with an existing target, else a plain rename */
	if (renameat2(AT_FDCWD, im->data, AT_FDCWD, im->target,
	    RENAME_EXCHANGE) == -1) {
		char old[PATH_MAX + 32];
		int e = errno;

		snprintf(old, sizeof(old), "%s/old", im->tmp);
		/* a file system without exchange: move the old one aside */
		if (e == EINVAL && rename(im->target, old) == -1)
			return mcp_err_errno(err, errno, "import %s: move the old "
			    "directory aside", im->target);
		if ((e == ENOENT || e == EINVAL) &&
		    rename(im->data, im->target) == 0)
			e = 0;
		else if (e == ENOENT || e == EINVAL)
			e = errno;
		if (e != 0) {
			if (access(old, F_OK) == 0)	/* put the old one back */
				rename(old, im->target);
			return mcp_err_errno(err, e, "import %s: rename %s into "
			    "place", im->target, im->data);
		}
	}
	im->done = 1;
	/* im->data now holds the old contents, if any: removed with im */
	if (sum)
		*sum = s;
	return 0;
}

void
data_import_free(struct data_import *im)
{
	if (im == NULL)
		return;
	if (im->fd != -1)
		close(im->fd);
	EVP_MD_CTX_free(im->md);
	data_remove_tree(im->tmp, NULL);
	free(im);
}
