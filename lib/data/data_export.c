/*
 * data/data_export.c: a service's data directory as a tar.zst, streamed.
 *
 * The tree is walked with openat(O_NOFOLLOW) from the directory's fd, in
 * name order, so a symlink planted by the service is archived as a
 * symlink (with all) and never followed.  libarchive writes pax entries
 * through its zstd filter into our write callback, which hashes the bytes
 * and hands them to the sink in pieces of DATA_CHUNK: memory stays bounded
 * whatever the size of the tree.  A SQLite database is first copied with
 * the online backup API (data_copy_db: a consistent snapshot, taken while
 * the service may keep writing) into memory or, when large, a private
 * temporary directory, and that copy is archived under the database's
 * name; its -wal/-shm/-journal are left out.
 */
#include "data/data.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "util/buf.h"
#include "util/hash.h"

#define DATA_IO		(256u << 10)
#define DATA_BUSY_MS	30000
/* by default a database up to this size is copied into memory, a larger
 * one into a temporary file */
#define DATA_MEMDB_MAX	(256LL << 20)
#define DATA_ZSTD_THREADS "2"

struct data_exp {
	const struct data_export_opts *o;
	data_sink_fn sink;
	void *arg;
	struct mcp_err *err;
	int failed;			/* err is set */
	struct archive *a;
	EVP_MD_CTX *md;
	uint64_t size, bytes;
	uint32_t files;
	unsigned char *chunk;		/* pending output, DATA_CHUNK bytes */
	size_t clen;
	unsigned char *io;		/* file reads, DATA_IO bytes */
	char root[PATH_MAX];
	char tmp[PATH_MAX];		/* our temp dir, "" until made */
	unsigned ncopies;
};

static int
data_flush(struct data_exp *x)
{
	if (x->clen == 0 || x->failed)
		return x->failed ? -1 : 0;
	if (x->sink(x->chunk, x->clen, x->arg, x->err) == -1) {
		x->failed = 1;
		return -1;
	}
	x->clen = 0;
	return 0;
}

static la_ssize_t
data_write_cb(struct archive *a, void *arg, const void *buf, size_t n)
{
	struct data_exp *x = arg;
	const unsigned char *p = buf;
	size_t left = n;

	if (x->failed) {
		archive_set_error(a, ECANCELED, "export stopped");
		return -1;
	}
	EVP_DigestUpdate(x->md, buf, n);
	x->size += n;
	while (left > 0) {
		size_t take = DATA_CHUNK - x->clen;

		if (take > left)
			take = left;
		memcpy(x->chunk + x->clen, p, take);
		x->clen += take;
		p += take;
		left -= take;
		if (x->clen == DATA_CHUNK && data_flush(x) == -1) {
			archive_set_error(a, ECANCELED, "export stopped");
			return -1;
		}
	}
	return (la_ssize_t)n;
}

static int
data_close_cb(struct archive *a, void *arg)
{
	(void)a;
	return data_flush(arg) == -1 ? ARCHIVE_FATAL : ARCHIVE_OK;
}

/* The archive failed: say so unless the sink already did. */
static int
data_arch_err(struct data_exp *x, const char *what)
{
	if (x->failed)
		return -1;
	x->failed = 1;
	return mcp_err_set(x->err, MCP_E_INTERNAL, "export %s: %s: %s", x->root,
	    what, archive_error_string(x->a) ? archive_error_string(x->a) :
	    "libarchive failed");
}

static struct archive_entry *
data_entry(const char *rel, const struct stat *st)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, rel);
	archive_entry_set_mode(e, st->st_mode);
	archive_entry_set_uid(e, st->st_uid);
	archive_entry_set_gid(e, st->st_gid);
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	return e;
}

/* Header plus the contents of fd (at most st->st_size bytes). */
static int
data_add_fd(struct data_exp *x, const char *rel, int fd, const struct stat *st)
{
	struct archive_entry *e = data_entry(rel, st);
	off_t left = st->st_size;
	int rc = 0;

	archive_entry_set_size(e, st->st_size);
	if (archive_write_header(x->a, e) != ARCHIVE_OK)
		rc = data_arch_err(x, rel);
	while (rc == 0 && left > 0) {
		ssize_t n = read(fd, x->io, left < DATA_IO ? (size_t)left : DATA_IO);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = mcp_err_errno(x->err, errno, "export %s: read %s",
			    x->root, rel);
			x->failed = 1;
			break;
		}
		if (n == 0)	/* shrank while we read: libarchive pads */
			break;
		if (archive_write_data(x->a, x->io, (size_t)n) < 0)
			rc = data_arch_err(x, rel);
		left -= n;
		x->bytes += (uint64_t)n;
	}
	if (rc == 0 && archive_write_finish_entry(x->a) != ARCHIVE_OK)
		rc = data_arch_err(x, rel);
	if (rc == 0)
		x->files++;
	archive_entry_free(e);
	return rc;
}

static int
data_is_sqlite(int fd)
{
	static const char magic[16] = "SQLite format 3";
	char head[16];

	return pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
	    memcmp(head, magic, sizeof(head)) == 0;
}

static int
data_tmpdir(struct data_exp *x)
{
	const char *base = x->o->tmpdir;

	if (x->tmp[0])
		return 0;
	if (base == NULL || base[0] == '\0')
		base = getenv("TMPDIR");
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	snprintf(x->tmp, sizeof(x->tmp), "%s/mcp-export.XXXXXX", base);
	if (mkdtemp(x->tmp) == NULL) {
		int e = errno;

		x->failed = 1;
		mcp_err_errno(x->err, e, "export %s: temporary directory in %s",
		    x->root, base);
		x->tmp[0] = '\0';
		return -1;
	}
	return 0;
}

/*
 * A consistent copy of the database rel into a fresh file in our temp dir;
 * *copy gets its path.  The online backup API copies its pages in one
 * step (sqlite3_backup_step(-1)), inside one read transaction on the
 * source: the copy is the database as of one commit, whatever the service
 * writes meanwhile (in WAL mode it keeps writing; in rollback mode it waits
 * for the read lock like it would for VACUUM INTO).  Pages are copied as
 * they are instead of the tables being rebuilt as VACUUM INTO does, and the
 * copy is written without a journal or syncs (it only lives until it is
 * archived): several times cheaper.
 */
static int
data_copy_db(struct data_exp *x, const char *rel, char *copy, size_t copysz,
    sqlite3 **mem)
{
	char src[PATH_MAX * 2];
	sqlite3 *db = NULL, *dst = NULL;
	sqlite3_backup *bk = NULL;
	const char *why = NULL;
	int rc;

	if (mem == NULL && data_tmpdir(x) == -1)
		return -1;
	snprintf(src, sizeof(src), "%s/%s", x->root, rel);
	if (mem)	/* private to the connection: no leading slash */
		snprintf(copy, copysz, "file:mcp-export-%u?vfs=memdb",
		    x->ncopies++);
	else
		snprintf(copy, copysz, "%s/%u.db", x->tmp, x->ncopies++);
	/* read-write without create: a WAL database needs its -shm */
	rc = sqlite3_open_v2(src, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(db, x->o->busy_ms > 0 ? x->o->busy_ms :
		    DATA_BUSY_MS);
	/* read the source's pages through a mapping, not a pread each */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA mmap_size=1073741824", NULL, NULL,
		    NULL);
	if (rc != SQLITE_OK)
		why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	if (rc == SQLITE_OK) {
		rc = sqlite3_open_v2(copy, &dst, SQLITE_OPEN_READWRITE |
		    SQLITE_OPEN_CREATE | (mem ? SQLITE_OPEN_URI :
		    SQLITE_OPEN_EXCLUSIVE), NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(dst, "PRAGMA journal_mode=OFF;"
			    "PRAGMA synchronous=OFF", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			why = dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc);
	}
	if (rc == SQLITE_OK) {
		if ((bk = sqlite3_backup_init(dst, "main", db, "main")) == NULL) {
			rc = sqlite3_errcode(dst);
			why = sqlite3_errmsg(dst);
		}
	}
	if (bk) {
		/* busy: the busy handler does not apply to the source's lock */
		for (int waited = 0;;) {
			rc = sqlite3_backup_step(bk, -1);
			if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) ||
			    waited >= (x->o->busy_ms > 0 ? x->o->busy_ms :
			    DATA_BUSY_MS))
				break;
			sqlite3_sleep(20);
			waited += 20;
		}
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
		if (rc != SQLITE_OK)
			why = sqlite3_errstr(rc);
		if (sqlite3_backup_finish(bk) != SQLITE_OK && rc == SQLITE_OK) {
			rc = sqlite3_errcode(dst);
			why = sqlite3_errmsg(dst);
		}
	}
	if (rc != SQLITE_OK) {
		x->failed = 1;
		mcp_err_set(x->err, MCP_E_INTERNAL, "export %s: copy of the "
		    "database %s: %s", x->root, rel, why ? why : sqlite3_errstr(rc));
	}
	sqlite3_close_v2(db);
	if (mem && rc == SQLITE_OK)
		*mem = dst;
	else
		sqlite3_close_v2(dst);
	if (rc != SQLITE_OK && mem == NULL)
		unlink(copy);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Header plus len bytes from memory. */
static int
data_add_mem(struct data_exp *x, const char *rel, const unsigned char *p,
    size_t len, const struct stat *st)
{
	struct archive_entry *e = data_entry(rel, st);
	int rc = 0;

	archive_entry_set_size(e, (la_int64_t)len);
	if (archive_write_header(x->a, e) != ARCHIVE_OK)
		rc = data_arch_err(x, rel);
	while (rc == 0 && len > 0) {
		size_t n = len < DATA_IO ? len : DATA_IO;

		if (archive_write_data(x->a, p, n) < 0)
			rc = data_arch_err(x, rel);
		p += n;
		len -= n;
		x->bytes += n;
	}
	if (rc == 0 && archive_write_finish_entry(x->a) != ARCHIVE_OK)
		rc = data_arch_err(x, rel);
	if (rc == 0)
		x->files++;
	archive_entry_free(e);
	return rc;
}

static int
data_add_file(struct data_exp *x, int dirfd, const char *name, const char *rel,
    const struct stat *st)
{
	char copy[PATH_MAX + 32];
	struct stat cst;
	int fd, cfd, rc;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)	/* gone since the listing */
			return 0;
		x->failed = 1;
		return mcp_err_errno(x->err, errno, "export %s: open %s", x->root,
		    rel);
	}
	if (strlen(name) > 3 && strcmp(name + strlen(name) - 3, ".db") == 0 &&
	    data_is_sqlite(fd)) {
		close(fd);
		if ((long long)st->st_size <= (x->o->mem_max > 0 ? x->o->mem_max :
		    DATA_MEMDB_MAX)) {
			/* copied into memory and archived from there */
			sqlite3 *mem = NULL;
			sqlite3_int64 msz = 0;
			unsigned char *img;

			if (data_copy_db(x, rel, copy, sizeof(copy), &mem) == -1)
				return -1;
			img = sqlite3_serialize(mem, "main", &msz,
			    SQLITE_SERIALIZE_NOCOPY);
			if (img == NULL && msz > 0) {
				x->failed = 1;
				rc = mcp_err_set(x->err, MCP_E_INTERNAL, "export %s: "
				    "copy of the database %s: not in memory", x->root,
				    rel);
			} else {
				struct stat est = *st;

				est.st_size = msz;
				rc = data_add_mem(x, rel, img, (size_t)msz, &est);
			}
			sqlite3_close_v2(mem);
			return rc;
		}
		if (data_copy_db(x, rel, copy, sizeof(copy), NULL) == -1)
			return -1;
		cfd = open(copy, O_RDONLY | O_CLOEXEC);
		if (cfd == -1 || fstat(cfd, &cst) == -1) {
			x->failed = 1;
			rc = mcp_err_errno(x->err, errno, "export %s: open copy of %s",
			    x->root, rel);
		} else {
			/* the database's name, owner and mode; the copy's size */
			struct stat est = *st;

			est.st_size = cst.st_size;
			rc = data_add_fd(x, rel, cfd, &est);
		}
		if (cfd != -1)
			close(cfd);
		unlink(copy);
		return rc;
	}
	rc = data_add_fd(x, rel, fd, st);
	close(fd);
	return rc;
}

static int
data_add_symlink(struct data_exp *x, int dirfd, const char *name,
    const char *rel, const struct stat *st)
{
	char target[PATH_MAX];
	struct archive_entry *e;
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
	int rc = 0;

	if (n == -1) {
		if (errno == ENOENT)
			return 0;
		x->failed = 1;
		return mcp_err_errno(x->err, errno, "export %s: readlink %s",
		    x->root, rel);
	}
	target[n] = '\0';
	e = data_entry(rel, st);
	archive_entry_set_symlink(e, target);
	if (archive_write_header(x->a, e) != ARCHIVE_OK)
		rc = data_arch_err(x, rel);
	archive_entry_free(e);
	return rc;
}

static int
data_walk(struct data_exp *x, int dirfd, const char *prefix)
{
	struct dirent **names = NULL;
	char rel[PATH_MAX];
	int n, i, rc = 0;

	n = scandirat(dirfd, ".", &names, NULL, alphasort);
	if (n == -1) {
		x->failed = 1;
		return mcp_err_errno(x->err, errno, "export %s: list %s", x->root,
		    prefix[0] ? prefix : ".");
	}
	for (i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		struct stat st;
		int sub;

		if (rc != 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if ((size_t)snprintf(rel, sizeof(rel), "%s%s%s", prefix,
		    prefix[0] ? "/" : "", name) >= sizeof(rel)) {
			x->failed = 1;
			rc = mcp_err_set(x->err, MCP_E_INVALID, "export %s: path "
			    "too long under %s", x->root, prefix);
			continue;
		}
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;	/* gone since the listing */
		if (data_excluded(rel, S_ISDIR(st.st_mode),
		    x->o->exclude))
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (x->o->all) {
				struct archive_entry *e = data_entry(rel, &st);

				if (archive_write_header(x->a, e) != ARCHIVE_OK)
					rc = data_arch_err(x, rel);
				archive_entry_free(e);
				if (rc != 0)
					continue;
			}
			sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (sub == -1)
				continue;	/* replaced since the listing */
			rc = data_walk(x, sub, rel);
			close(sub);
		} else if (S_ISLNK(st.st_mode)) {
			if (x->o->all)
				rc = data_add_symlink(x, dirfd, name, rel, &st);
		} else if (S_ISREG(st.st_mode)) {
			if (data_sqlite_companion(name) ||
			    (!x->o->all && !data_default_kind(name)))
				continue;
			rc = data_add_file(x, dirfd, name, rel, &st);
		}
		/* devices, FIFOs, sockets: not data */
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int
data_export(const char *dir, const struct data_export_opts *o,
    data_sink_fn sink, void *arg, struct data_sum *sum, struct mcp_err *err)
{
	struct data_exp x;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int fd, rc = -1;

	memset(&x, 0, sizeof(x));
	x.o = o;
	x.sink = sink;
	x.arg = arg;
	x.err = err;
	snprintf(x.root, sizeof(x.root), "%s", dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && !(errno == ENOENT && o->missing_ok))
		return mcp_err_errno(err, errno, "export %s", dir);
	x.chunk = malloc(DATA_CHUNK);
	x.io = malloc(DATA_IO);
	x.md = EVP_MD_CTX_new();
	x.a = archive_write_new();
	if (x.chunk == NULL || x.io == NULL || x.md == NULL || x.a == NULL ||
	    EVP_DigestInit_ex(x.md, EVP_sha256(), NULL) != 1) {
		mcp_err_set(err, MCP_E_INTERNAL, "export %s: out of memory", dir);
		goto out;
	}
	if (archive_write_set_format_pax_restricted(x.a) != ARCHIVE_OK ||
	    archive_write_add_filter_zstd(x.a) != ARCHIVE_OK ||
	    /* compress on worker threads while this one reads the files */
	    archive_write_set_filter_option(x.a, "zstd", "threads",
	    DATA_ZSTD_THREADS) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(x.a, 1) != ARCHIVE_OK ||
	    archive_write_open(x.a, &x, NULL, data_write_cb, data_close_cb) !=
	    ARCHIVE_OK) {
		data_arch_err(&x, "start the archive");
		goto out;
	}
	if (fd != -1 && data_walk(&x, fd, "") == -1)
		goto out;
	if (archive_write_close(x.a) != ARCHIVE_OK) {
		data_arch_err(&x, "finish the archive");
		goto out;
	}
	if (x.failed)
		goto out;
	EVP_DigestFinal_ex(x.md, md, &mdlen);
	if (sum) {
		hash_hex(md, mdlen, sum->sha256);
		sum->size = x.size;
		sum->bytes = x.bytes;
		sum->files = x.files;
	}
	rc = 0;
out:
	if (x.a)
		archive_write_free(x.a);
	if (x.tmp[0])
		data_remove_tree(x.tmp, NULL);
	EVP_MD_CTX_free(x.md);
	free(x.io);
	free(x.chunk);
	if (fd != -1)
		close(fd);
	return rc;
}

/* ---- data_export_piped: the archive made on a thread of its own ---- */

#define DATA_PIPE_SLOTS 8

struct data_pipe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct { void *p; size_t n; } slot[DATA_PIPE_SLOTS];
	int head, count;
	int done, cancelled;
	/* the producer's */
	const char *dir;
	const struct data_export_opts *o;
	struct data_sum sum;
	struct mcp_err err;
	int rc;
};

static int
data_pipe_put(const void *data, size_t len, void *arg, struct mcp_err *err)
{
	struct data_pipe *q = arg;
	void *copy = malloc(len);

	if (copy == NULL)
		return mcp_err_set(err, MCP_E_INTERNAL, "export: out of memory");
	memcpy(copy, data, len);
	pthread_mutex_lock(&q->mu);
	while (q->count == DATA_PIPE_SLOTS && !q->cancelled)
		pthread_cond_wait(&q->cv, &q->mu);
	if (q->cancelled) {
		pthread_mutex_unlock(&q->mu);
		free(copy);
		return mcp_err_set(err, MCP_E_CANCELLED, "export: stopped");
	}
	q->slot[(q->head + q->count) % DATA_PIPE_SLOTS].p = copy;
	q->slot[(q->head + q->count) % DATA_PIPE_SLOTS].n = len;
	q->count++;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

static void *
data_pipe_main(void *arg)
{
	struct data_pipe *q = arg;

	q->rc = data_export(q->dir, q->o, data_pipe_put, q, &q->sum, &q->err);
	pthread_mutex_lock(&q->mu);
	q->done = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int
data_export_piped(const char *dir, const struct data_export_opts *o,
    data_sink_fn sink, void *arg, struct data_sum *sum, struct mcp_err *err)
{
	struct data_pipe q;
	pthread_t th;
	int rc = 0, e;

	memset(&q, 0, sizeof(q));
	pthread_mutex_init(&q.mu, NULL);
	pthread_cond_init(&q.cv, NULL);
	q.dir = dir;
	q.o = o;
	q.err = (struct mcp_err)MCP_ERR_INIT;
	if ((e = pthread_create(&th, NULL, data_pipe_main, &q)) != 0) {
		pthread_cond_destroy(&q.cv);
		pthread_mutex_destroy(&q.mu);
		return mcp_err_errno(err, e, "export %s: start a thread", dir);
	}
	for (;;) {
		void *p;
		size_t n;

		pthread_mutex_lock(&q.mu);
		while (q.count == 0 && !q.done)
			pthread_cond_wait(&q.cv, &q.mu);
		if (q.count == 0) {	/* done and drained */
			pthread_mutex_unlock(&q.mu);
			break;
		}
		p = q.slot[q.head].p;
		n = q.slot[q.head].n;
		q.head = (q.head + 1) % DATA_PIPE_SLOTS;
		q.count--;
		pthread_cond_broadcast(&q.cv);
		pthread_mutex_unlock(&q.mu);
		if (rc == 0 && sink(p, n, arg, err) == -1) {
			rc = -1;	/* stop the producer, keep draining */
			pthread_mutex_lock(&q.mu);
			q.cancelled = 1;
			pthread_cond_broadcast(&q.cv);
			pthread_mutex_unlock(&q.mu);
		}
		free(p);
	}
	pthread_join(th, NULL);
	if (rc == 0 && q.rc == -1) {
		*err = q.err;
		rc = -1;
	}
	if (rc == 0 && sum)
		*sum = q.sum;
	pthread_cond_destroy(&q.cv);
	pthread_mutex_destroy(&q.mu);
	return rc;
}
