/*
 * data/data_import.c: an archive becomes a directory's new contents, whole
 * or not at all.
 *
 * <parent>/.<name>.import-XXXXXX/ is made beside the target (same file
 * system, so the last step is a rename).  The incoming bytes are hashed as
 * they arrive and handed, through a bounded queue, to a thread that
 * extracts them into data/ there while the rest is still on its way (no
 * spool: receiving and extracting overlap).  Every entry is checked first
 * (data_entry_check) and libarchive's secure-extraction flags refuse a
 * path through a symlink as well; the first bad entry fails the import.
 * At the end the SHA-256 and size the sender announced are compared (a
 * mismatch is reported before any extraction error: a damaged stream
 * makes a damaged archive), the extracted tree is flushed to disk (one
 * syncfs), and only then is the complete, verified data/ exchanged with
 * the target (renameat2 RENAME_EXCHANGE) or renamed to it when there is
 * none; the temporary directory, now holding the old contents, is
 * removed.  Any failure removes it instead: the target is untouched.
 */
#include "data/data.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "util/buf.h"
#include "util/hash.h"

#define DATA_IMPORT_SLOTS 8

struct data_import {
	char target[PATH_MAX];
	char tmp[PATH_MAX];		/* .<name>.import-XXXXXX beside target */
	char data[PATH_MAX + 32];
	int open;			/* accepting data */
	int force;
	EVP_MD_CTX *md;
	uint64_t size;
	int done;			/* renamed into place */
	/* the queue to the extracting thread */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct { void *p; size_t n; } slot[DATA_IMPORT_SLOTS];
	int head, count;
	int eof;			/* no more data will come */
	int cancelled;			/* stop extracting */
	int xdone;			/* the thread has finished */
	void *cur;			/* the buffer libarchive reads */
	pthread_t th;
	int th_started;
	/* the thread's result */
	int xrc;
	struct mcp_err xerr;
	struct data_sum xsum;
};

static void *data_extract_main(void *arg);

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
		snprintf(im->tmp, sizeof(im->tmp), "%s/.%s.import-XXXXXX",
		    strcmp(p, "/") == 0 ? "" : p, base);
	}
	if (mkdtemp(im->tmp) == NULL) {
		mcp_err_errno(err, errno, "import %s: temporary directory %s",
		    target, im->tmp);
		free(im);
		return NULL;
	}
	snprintf(im->data, sizeof(im->data), "%s/data", im->tmp);
	pthread_mutex_init(&im->mu, NULL);
	pthread_cond_init(&im->cv, NULL);
	im->xerr = (struct mcp_err)MCP_ERR_INIT;
	im->md = EVP_MD_CTX_new();
	if (im->md == NULL || EVP_DigestInit_ex(im->md, EVP_sha256(), NULL) != 1) {
		mcp_err_set(err, MCP_E_INTERNAL, "import %s: out of memory", target);
		data_import_free(im);
		return NULL;
	}
	if (mkdir(im->data, 0755) == -1 || chmod(im->data, 0755) == -1) {
		mcp_err_errno(err, errno, "import %s: mkdir %s", target, im->data);
		data_import_free(im);
		return NULL;
	}
	if ((r = pthread_create(&im->th, NULL, data_extract_main, im)) != 0) {
		mcp_err_errno(err, r, "import %s: start a thread", target);
		data_import_free(im);
		return NULL;
	}
	im->th_started = 1;
	im->open = 1;
	return im;
}

int
data_import_feed(struct data_import *im, const void *data, size_t len,
    struct mcp_err *err)
{
	void *copy;

	if (!im->open)
		return mcp_err_set(err, MCP_E_PRECONDITION, "import %s: already "
		    "finished", im->target);
	EVP_DigestUpdate(im->md, data, len);
	im->size += len;
	if (len == 0)
		return 0;
	pthread_mutex_lock(&im->mu);
	while (im->count == DATA_IMPORT_SLOTS && !im->xdone)
		pthread_cond_wait(&im->cv, &im->mu);
	if (im->xdone) {
		/* extraction ended (an error, or the archive's end): the rest
		 * is only hashed, for the verdict in data_import_finish */
		pthread_mutex_unlock(&im->mu);
		return 0;
	}
	pthread_mutex_unlock(&im->mu);
	if ((copy = malloc(len)) == NULL)
		return mcp_err_set(err, MCP_E_INTERNAL, "import %s: out of memory",
		    im->target);
	memcpy(copy, data, len);
	pthread_mutex_lock(&im->mu);
	im->slot[(im->head + im->count) % DATA_IMPORT_SLOTS].p = copy;
	im->slot[(im->head + im->count) % DATA_IMPORT_SLOTS].n = len;
	im->count++;
	pthread_cond_broadcast(&im->cv);
	pthread_mutex_unlock(&im->mu);
	return 0;
}

/* libarchive's reader: the next queued piece, 0 at the end, -1 cancelled. */
static la_ssize_t
data_queue_read(struct archive *a, void *arg, const void **buf)
{
	struct data_import *im = arg;
	la_ssize_t n;

	free(im->cur);
	im->cur = NULL;
	pthread_mutex_lock(&im->mu);
	while (im->count == 0 && !im->eof && !im->cancelled)
		pthread_cond_wait(&im->cv, &im->mu);
	if (im->cancelled) {
		pthread_mutex_unlock(&im->mu);
		archive_set_error(a, ECANCELED, "the import was dropped");
		return -1;
	}
	if (im->count == 0) {	/* eof and drained */
		pthread_mutex_unlock(&im->mu);
		*buf = NULL;
		return 0;
	}
	im->cur = im->slot[im->head].p;
	n = (la_ssize_t)im->slot[im->head].n;
	im->head = (im->head + 1) % DATA_IMPORT_SLOTS;
	im->count--;
	pthread_cond_broadcast(&im->cv);
	pthread_mutex_unlock(&im->mu);
	*buf = im->cur;
	return n;
}

/* Extract the queued archive into im->data, checking every entry. */
static int
data_extract(struct data_import *im, struct data_sum *sum, struct mcp_err *err)
{
	struct archive *in = archive_read_new(), *out = archive_write_disk_new();
	struct archive_entry *e;
	char path[PATH_MAX * 2];
	int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
	    ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
	    ARCHIVE_EXTRACT_NO_OVERWRITE;	/* absolute: only our own prefix */
	int r, rc = -1;

	if (geteuid() == 0)
		flags |= ARCHIVE_EXTRACT_OWNER;
	archive_read_support_filter_zstd(in);
	archive_read_support_format_tar(in);
	archive_write_disk_set_options(out, flags);
	if (archive_read_open(in, im, NULL, data_queue_read, NULL) != ARCHIVE_OK) {
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

		snprintf(name, sizeof(name), "%s", archive_entry_pathname(e) ?
		    archive_entry_pathname(e) : "");
		if (hl) {
			snprintf(hlbuf, sizeof(hlbuf), "%s", hl);
			hl = hlbuf;
		}
		if (data_entry_check(name, type, archive_entry_symlink(e), hl,
		    err) == -1) {
			mcp_err_prefix(err, "import %s", im->target);
			goto out;
		}
		/* no set-id bits from an archive */
		archive_entry_set_perm(e, archive_entry_perm(e) & 01777);
		snprintf(path, sizeof(path), "%s/%s", im->data, name);
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
		    ARCHIVE_OK)
			if (archive_write_data_block(out, buf, len, off) !=
			    ARCHIVE_OK) {
				mcp_err_set(err, MCP_E_INTERNAL, "import %s: write "
				    "\"%s\": %s", im->target, name,
				    archive_error_string(out));
				goto out;
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

static void *
data_extract_main(void *arg)
{
	struct data_import *im = arg;

	im->xrc = data_extract(im, &im->xsum, &im->xerr);
	free(im->cur);
	im->cur = NULL;
	pthread_mutex_lock(&im->mu);
	im->xdone = 1;
	pthread_cond_broadcast(&im->cv);
	pthread_mutex_unlock(&im->mu);
	return NULL;
}

/* No more data (or drop it all): wait for the extracting thread. */
static void
data_extract_join(struct data_import *im, int cancel)
{
	if (!im->th_started)
		return;
	pthread_mutex_lock(&im->mu);
	im->eof = 1;
	if (cancel)
		im->cancelled = 1;
	pthread_cond_broadcast(&im->cv);
	pthread_mutex_unlock(&im->mu);
	pthread_join(im->th, NULL);
	im->th_started = 0;
	while (im->count > 0) {		/* left when extraction stopped early */
		free(im->slot[im->head].p);
		im->head = (im->head + 1) % DATA_IMPORT_SLOTS;
		im->count--;
	}
}

/* Everything under dir on stable storage: one syncfs of its file system. */
static int
data_sync_tree(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd == -1)
		return -1;
	rc = syncfs(fd);
	close(fd);
	return rc;
}

int
data_import_finish(struct data_import *im, const char *sha256, uint64_t size,
    struct data_sum *sum, struct mcp_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct data_sum s;

	memset(&s, 0, sizeof(s));
	if (!im->open)
		return mcp_err_set(err, MCP_E_PRECONDITION, "import %s: already "
		    "finished", im->target);
	im->open = 0;
	data_extract_join(im, 0);
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
	if (im->xrc == -1) {
		*err = im->xerr;
		return -1;
	}
	s.files = im->xsum.files;
	s.bytes = im->xsum.bytes;
	if (data_sync_tree(im->data) == -1)
		return mcp_err_errno(err, errno, "import %s: flush %s to disk",
		    im->target, im->data);
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
	data_extract_join(im, 1);
	pthread_cond_destroy(&im->cv);
	pthread_mutex_destroy(&im->mu);
	EVP_MD_CTX_free(im->md);
	data_remove_tree(im->tmp, NULL);
	free(im);
}
