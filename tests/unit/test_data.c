/*
 * tests/unit/test_data.c: service data archives (lib/data) with real
 * files, real SQLite and real tar.zst: what the selection takes, export
 * and import round trips per kind, a database written to in a tight loop
 * while it is exported, and imports that must fail with nothing written
 * (malicious entries built here with libarchive, truncated or altered
 * streams, an existing target without force).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <sqlite3.h>

#include "data/data.h"
#include "util/buf.h"
#include "util/hash.h"

static char tmp[64];

static void
path_of(char *out, size_t sz, const char *rel)
{
	snprintf(out, sz, "%s/%s", tmp, rel);
}

static void
put(const char *rel, const char *text)
{
	char p[512], dir[512], *slash;
	FILE *f;

	path_of(p, sizeof(p), rel);
	snprintf(dir, sizeof(dir), "%s", p);
	for (slash = strchr(dir + strlen(tmp) + 1, '/'); slash;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(dir, 0755);
		*slash = '/';
	}
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
exists(const char *rel)
{
	char p[512];
	struct stat st;

	path_of(p, sizeof(p), rel);
	return lstat(p, &st) == 0;
}

static char *
slurp(const char *rel)
{
	char p[512];
	struct buf b = BUF_INIT;
	FILE *f;
	char blk[4096];
	size_t n;

	path_of(p, sizeof(p), rel);
	if ((f = fopen(p, "r")) == NULL)
		return NULL;
	while ((n = fread(blk, 1, sizeof(blk), f)) > 0)
		buf_append(&b, blk, n);
	fclose(f);
	buf_append(&b, "", 1);
	return buf_steal(&b);
}

/* Entries of tmp whose name starts with prefix (leftover temp dirs). */
static int
count_prefix(const char *prefix)
{
	DIR *d = opendir(tmp);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static void
sql(sqlite3 *db, const char *q)
{
	char *msg = NULL;

	if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", q, msg);
}

static sqlite3 *
db_open(const char *rel)
{
	char p[512];
	sqlite3 *db;

	path_of(p, sizeof(p), rel);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	return db;
}

static long long
db_count(const char *rel, char *check, size_t checksz)
{
	sqlite3 *db = db_open(rel);
	sqlite3_stmt *st;
	long long n = -1;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(check, checksz, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st,
	    NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* ---- sinks ---- */

struct filesink {
	int fd;
	size_t chunks, biggest;
};

static int
to_file(const void *data, size_t len, void *arg, struct mcp_err *err)
{
	struct filesink *s = arg;

	(void)err;
	s->chunks++;
	if (len > s->biggest)
		s->biggest = len;
	return write(s->fd, data, len) == (ssize_t)len ? 0 : -1;
}

/* Export src (relative to tmp) into tmp/<arch>. */
static int
export_opts_to(const char *src, const char *arch,
    const struct data_export_opts *o, struct data_sum *sum, struct mcp_err *err);

static int
export_to(const char *src, const char *arch, int all, const char *const *ex,
    struct data_sum *sum, struct mcp_err *err)
{
	struct data_export_opts o = { all, ex, tmp, 0 };

	return export_opts_to(src, arch, &o, sum, err);
}

static int
export_opts_to(const char *src, const char *arch,
    const struct data_export_opts *o, struct data_sum *sum, struct mcp_err *err)
{
	char d[512], a[512];
	struct filesink s = { -1, 0, 0 };
	int rc;

	path_of(d, sizeof(d), src);
	path_of(a, sizeof(a), arch);
	s.fd = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(s.fd >= 0);
	rc = data_export(d, o, to_file, &s, sum, err);
	close(s.fd);
	if (rc == -1)
		print_message("      export %s: %s\n", src, err->msg);
	if (rc == 0)
		assert_true(s.biggest <= DATA_CHUNK);
	return rc;
}

/* Import tmp/<arch> into tmp/<dst> in pieces of step bytes, at most
 * limit bytes of it (0: all), announcing sha (NULL: the real one). */
/* Limits import_from sets (0: the defaults). */
static uint64_t lim_bytes, lim_entries;

static int
import_from(const char *arch, const char *dst, int force, size_t step,
    size_t limit, const char *sha, struct data_sum *sum, struct mcp_err *err)
{
	char a[512], d[512], real[DATA_SHA_HEX + 1];
	struct data_import *im;
	struct buf b = BUF_INIT;
	char *text;
	size_t off, total;
	int rc = 0;

	path_of(a, sizeof(a), arch);
	path_of(d, sizeof(d), dst);
	text = slurp(arch);
	assert_non_null(text);
	{
		struct stat st;

		assert_int_equal(stat(a, &st), 0);
		total = (size_t)st.st_size;
	}
	hash_sha256_hex(text, total, real);
	if ((im = data_import_new(d, force, err)) == NULL) {
		free(text);
		return -1;
	}
	data_import_set_limits(im, lim_bytes, lim_entries);
	for (off = 0; rc == 0 && off < total && (limit == 0 || off < limit);
	    off += step) {
		size_t n = total - off < step ? total - off : step;

		if (limit && off + n > limit)
			n = limit - off;
		rc = data_import_feed(im, text + off, n, err);
	}
	if (rc == 0)
		rc = data_import_finish(im, sha ? sha : real, total, sum, err);
	if (rc == -1)
		print_message("      import %s: %s\n", dst, err->msg);
	data_import_free(im);
	free(text);
	buf_free(&b);
	return rc;
}

/* ---- pure ---- */

static void
test_select(void **state)
{
	const char *const ex[] = { "cache/", "*.log", "secret/key.pem", "tmp", NULL };

	(void)state;
	assert_true(data_default_kind("a.toml"));
	assert_true(data_default_kind("x/y/b.db"));
	assert_true(data_default_kind("c.pem"));
	assert_false(data_default_kind("d.txt"));
	assert_false(data_default_kind("x.toml/y"));
	assert_false(data_default_kind(".db"));
	assert_true(data_sqlite_companion("a.db-wal"));
	assert_true(data_sqlite_companion("x/a.db-shm"));
	assert_true(data_sqlite_companion("a.db-journal"));
	assert_false(data_sqlite_companion("a.db"));

	assert_true(data_excluded("cache", 1, ex));
	assert_true(data_excluded("cache/x.toml", 0, ex));
	assert_false(data_excluded("cache", 0, ex));	/* a file named cache */
	assert_false(data_excluded("cachex/a", 0, ex));
	assert_true(data_excluded("sub/cache", 1, ex));	/* no '/' inside: any level */
	assert_true(data_excluded("app.log", 0, ex));
	assert_true(data_excluded("x/y/app.log", 0, ex));
	assert_false(data_excluded("app.log.toml", 0, ex));
	assert_true(data_excluded("secret/key.pem", 0, ex));
	assert_false(data_excluded("other/secret/key.pem", 0, ex));
	assert_true(data_excluded("tmp", 1, ex));
	assert_true(data_excluded("tmp/a/b", 0, ex));
	assert_false(data_excluded("a.toml", 0, ex));
	assert_false(data_excluded("a.toml", 0, NULL));
}

static void
test_method(void **state)
{
	const char *argv[4];
	char buf[64];

	(void)state;
	assert_int_equal(data_method_kind(""), DATA_M_DEFAULT);
	assert_int_equal(data_method_kind(NULL), DATA_M_DEFAULT);
	assert_int_equal(data_method_kind("full"), DATA_M_FULL);
	assert_int_equal(data_method_kind("cli"), DATA_M_CLI);
	assert_int_equal(data_method_kind("grpc"), DATA_M_GRPC);
	assert_int_equal(data_method_kind("exec: x"), DATA_M_EXEC);
	assert_int_equal(data_method_kind("Full"), DATA_M_INVALID);
	assert_int_equal(data_exec_argv("exec: /bin/dump  --to\tx", buf,
	    sizeof(buf), argv, 4), 3);
	assert_string_equal(argv[0], "/bin/dump");
	assert_string_equal(argv[1], "--to");
	assert_string_equal(argv[2], "x");
	assert_null(argv[3]);
	/* no shell: quotes and operators are words like any other */
	assert_int_equal(data_exec_argv("exec:a;b '|' c", buf, sizeof(buf), argv,
	    4), 3);
	assert_string_equal(argv[0], "a;b");
	assert_string_equal(argv[1], "'|'");
	assert_int_equal(data_exec_argv("exec:   ", buf, sizeof(buf), argv, 4), 0);
	assert_int_equal(data_exec_argv("exec: a b c d", buf, sizeof(buf), argv,
	    4), -1);
	assert_int_equal(data_exec_argv("full", buf, sizeof(buf), argv, 4), 0);
}

static void
test_entry_check(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	static const struct {
		const char *path;
		mode_t type;
		const char *sym, *hard;
		int ok;
	} t[] = {
		{ "a.toml", S_IFREG, NULL, NULL, 1 },
		{ "./a/b.db", S_IFREG, NULL, NULL, 1 },
		{ "./", S_IFDIR, NULL, NULL, 1 },
		{ "dir/", S_IFDIR, NULL, NULL, 1 },
		{ "/etc/passwd", S_IFREG, NULL, NULL, 0 },
		{ "../x", S_IFREG, NULL, NULL, 0 },
		{ "a/../../x", S_IFREG, NULL, NULL, 0 },
		{ "a/../b", S_IFREG, NULL, NULL, 0 },
		{ "a//b", S_IFREG, NULL, NULL, 0 },
		{ "", S_IFREG, NULL, NULL, 0 },
		{ "l", S_IFLNK, "a.toml", NULL, 1 },
		{ "d/l", S_IFLNK, "../a.toml", NULL, 1 },
		{ "d/l", S_IFLNK, "../../etc", NULL, 0 },
		{ "l", S_IFLNK, "/etc", NULL, 0 },
		{ "l", S_IFLNK, "..", NULL, 0 },
		{ "l", S_IFLNK, ".", NULL, 1 },
		{ "l", S_IFLNK, "d/..", NULL, 0 },	/* d may itself be a link */
		{ "l", S_IFLNK, "", NULL, 0 },
		{ "h", S_IFREG, NULL, "a.toml", 1 },
		{ "h", S_IFREG, NULL, "../x", 0 },
		{ "h", S_IFREG, NULL, "/etc/shadow", 0 },
		{ "dev", S_IFCHR, NULL, NULL, 0 },
		{ "blk", S_IFBLK, NULL, NULL, 0 },
		{ "fifo", S_IFIFO, NULL, NULL, 0 },
		{ "sock", S_IFSOCK, NULL, NULL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = data_entry_check(t[i].path, t[i].type, t[i].sym, t[i].hard,
		    &err);

		if (rc != (t[i].ok ? 0 : -1))
			fail_msg("entry %zu \"%s\": got %d (%s)", i, t[i].path, rc,
			    err.msg);
		if (!t[i].ok) {
			assert_int_equal(err.code, MCP_E_INVALID);
			assert_non_null(strstr(err.msg, "entry \""));
		}
	}
}

/* ---- round trips ---- */

static void
make_tree(const char *src)
{
	char rel[256], link[512];
	sqlite3 *db;

	snprintf(rel, sizeof(rel), "%s/app.toml", src);
	put(rel, "name = \"x\"\n");
	snprintf(rel, sizeof(rel), "%s/tls/cert.pem", src);
	put(rel, "-----BEGIN CERTIFICATE-----\n");
	snprintf(rel, sizeof(rel), "%s/notes.txt", src);
	put(rel, "notes\n");
	snprintf(rel, sizeof(rel), "%s/app.log", src);
	put(rel, "log\n");
	snprintf(rel, sizeof(rel), "%s/cache/c.toml", src);
	put(rel, "cached = true\n");
	snprintf(rel, sizeof(rel), "%s/raw.db", src);
	put(rel, "not a database\n");
	snprintf(rel, sizeof(rel), "%s/state.db", src);
	db = db_open(rel);
	sql(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(v);"
	    "INSERT INTO t VALUES (1),(2),(3);");
	/* left open: -wal and -shm exist and hold the rows */
	snprintf(rel, sizeof(rel), "%s/link", src);
	path_of(link, sizeof(link), rel);
	assert_int_equal(symlink("app.toml", link), 0);
	snprintf(rel, sizeof(rel), "%s/state.db-wal", src);
	assert_true(exists(rel));
	sqlite3_close(db);
	/* closing checkpointed and removed the WAL: make a stale one */
	put(rel, "stale wal");
}

static void
test_roundtrip_default(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	const char *const ex[] = { "cache/", NULL };
	struct data_sum es, is;
	char check[64], *t;

	(void)state;
	make_tree("d1");
	/* a database and a directory outside, reachable through symlinks
	 * the service planted: never followed */
	{
		char p[512];
		sqlite3 *db = db_open("outside.db");

		sql(db, "CREATE TABLE secret(v); INSERT INTO secret VALUES (1)");
		sqlite3_close(db);
		path_of(p, sizeof(p), "d1/stolen.db");
		assert_int_equal(symlink("../outside.db", p), 0);
		put("outside-dir/key.pem", "secret\n");
		path_of(p, sizeof(p), "d1/linkdir");
		assert_int_equal(symlink("../outside-dir", p), 0);
	}
	assert_int_equal(export_to("d1", "d1.tar.zst", 0, ex, &es, &err), 0);
	assert_int_equal(strlen(es.sha256), 64);
	assert_int_equal(es.files, 4);	/* app.toml cert.pem raw.db state.db */
	assert_int_equal(import_from("d1.tar.zst", "r1", 0, 777, 0, NULL, &is,
	    &err), 0);
	assert_string_equal(is.sha256, es.sha256);
	assert_int_equal(is.size, es.size);
	assert_int_equal(is.files, 4);
	assert_int_equal(is.bytes, es.bytes);
	assert_true(exists("r1/app.toml"));
	assert_true(exists("r1/tls/cert.pem"));
	assert_true(exists("r1/state.db"));
	assert_false(exists("r1/notes.txt"));
	assert_false(exists("r1/app.log"));
	assert_false(exists("r1/cache"));
	assert_false(exists("r1/link"));
	assert_false(exists("r1/state.db-wal"));
	assert_false(exists("r1/state.db-shm"));
	assert_false(exists("r1/stolen.db"));
	assert_false(exists("r1/linkdir"));
	t = slurp("r1/raw.db");	/* not SQLite: copied as it is */
	assert_string_equal(t, "not a database\n");
	free(t);
	assert_int_equal(db_count("r1/state.db", check, sizeof(check)), 3);
	assert_string_equal(check, "ok");
	assert_int_equal(count_prefix(".r1.import-"), 0);
}

static void
test_roundtrip_full(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	const char *const ex[] = { "*.log", NULL };
	struct data_sum es, is;
	char check[64], target[64], p[512], *t;
	ssize_t n;

	(void)state;
	make_tree("d2");
	assert_int_equal(export_to("d2", "d2.tar.zst", 1, ex, &es, &err), 0);
	assert_int_equal(import_from("d2.tar.zst", "r2", 0, 1u << 20, 0, NULL,
	    &is, &err), 0);
	assert_true(exists("r2/notes.txt"));
	assert_true(exists("r2/cache/c.toml"));
	assert_false(exists("r2/app.log"));
	assert_false(exists("r2/state.db-wal"));
	path_of(p, sizeof(p), "r2/link");
	n = readlink(p, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "app.toml");
	t = slurp("r2/notes.txt");
	assert_string_equal(t, "notes\n");
	free(t);
	assert_int_equal(db_count("r2/state.db", check, sizeof(check)), 3);
	assert_string_equal(check, "ok");
}

/* An existing, non-empty target is refused without force and replaced
 * with it; an empty one is fine. */
static void
test_existing_target(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct data_sum s;
	char p[512];

	(void)state;
	make_tree("d3");
	assert_int_equal(export_to("d3", "d3.tar.zst", 0, NULL, &s, &err), 0);
	put("r3/old.toml", "old\n");
	assert_int_equal(import_from("d3.tar.zst", "r3", 0, 4096, 0, NULL, &s,
	    &err), -1);
	assert_int_equal(err.code, MCP_E_EXISTS);
	assert_non_null(strstr(err.msg, "r3: the directory exists and is not empty"));
	assert_true(exists("r3/old.toml"));
	assert_false(exists("r3/app.toml"));
	assert_int_equal(count_prefix(".r3.import-"), 0);

	assert_int_equal(import_from("d3.tar.zst", "r3", 1, 4096, 0, NULL, &s,
	    &err), 0);
	assert_false(exists("r3/old.toml"));
	assert_true(exists("r3/app.toml"));
	assert_int_equal(count_prefix(".r3.import-"), 0);

	/* data that appears while the archive arrives is not replaced
	 * without force either */
	{
		struct data_import *im;
		char *text = slurp("d3.tar.zst");
		struct stat st;

		path_of(p, sizeof(p), "d3.tar.zst");
		assert_int_equal(stat(p, &st), 0);
		path_of(p, sizeof(p), "r3late");
		im = data_import_new(p, 0, &err);
		assert_non_null(im);
		assert_int_equal(data_import_feed(im, text, (size_t)st.st_size, &err),
		    0);
		put("r3late/new.toml", "written meanwhile\n");
		hash_sha256_hex(text, (size_t)st.st_size, s.sha256);
		assert_int_equal(data_import_finish(im, s.sha256,
		    (uint64_t)st.st_size, NULL, &err), -1);
		assert_int_equal(err.code, MCP_E_EXISTS);
		assert_non_null(strstr(err.msg, "no longer empty"));
		data_import_free(im);
		free(text);
		assert_true(exists("r3late/new.toml"));
		assert_false(exists("r3late/app.toml"));
		assert_int_equal(count_prefix(".r3late.import-"), 0);
	}

	path_of(p, sizeof(p), "r3e");
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(import_from("d3.tar.zst", "r3e", 0, 4096, 0, NULL, &s,
	    &err), 0);
	assert_true(exists("r3e/app.toml"));
}

/* A stream cut short, or not what the sender announced: nothing lands. */
static void
test_truncated(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct data_sum s;

	(void)state;
	make_tree("d4");
	assert_int_equal(export_to("d4", "d4.tar.zst", 1, NULL, &s, &err), 0);
	assert_int_equal(import_from("d4.tar.zst", "r4", 0, 100, s.size / 2, NULL,
	    NULL, &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_non_null(strstr(err.msg, "stream cut short"));
	assert_false(exists("r4"));
	assert_int_equal(import_from("d4.tar.zst", "r4", 0, 100, 0,
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    NULL, &err), -1);
	assert_non_null(strstr(err.msg, "SHA-256"));
	assert_false(exists("r4"));
	assert_int_equal(count_prefix(".r4.import-"), 0);
}

/* ---- malicious archives ---- */

struct bad_entry {
	const char *path;
	mode_t type;
	const char *link;	/* symlink target */
	const char *hard;	/* hard link target */
	const char *data;
};

static void
write_archive(const char *arch, const struct bad_entry *e, size_t n)
{
	struct archive *a = archive_write_new();
	char p[512];

	path_of(p, sizeof(p), arch);
	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_zstd(a);
	assert_int_equal(archive_write_open_filename(a, p), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();

		archive_entry_set_pathname(ae, e[i].path);
		archive_entry_set_filetype(ae, e[i].type);
		archive_entry_set_perm(ae, 0644);
		if (e[i].link)
			archive_entry_set_symlink(ae, e[i].link);
		if (e[i].hard)
			archive_entry_set_hardlink(ae, e[i].hard);
		if (e[i].type == S_IFCHR)
			archive_entry_set_rdev(ae, makedev(1, 3));
		if (e[i].data)
			archive_entry_set_size(ae, (la_int64_t)strlen(e[i].data));
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		if (e[i].data)
			archive_write_data(a, e[i].data, strlen(e[i].data));
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
}

static void
test_malicious(void **state)
{
	static const struct bad_entry dotdot[] = {
		{ "ok.toml", S_IFREG, NULL, NULL, "ok\n" },
		{ "../escaped.toml", S_IFREG, NULL, NULL, "escaped\n" },
	};
	static const struct bad_entry absolute[] = {
		{ "ok.toml", S_IFREG, NULL, NULL, "ok\n" },
		{ "/tmp/mcp-test-data-absolute.toml", S_IFREG, NULL, NULL, "abs\n" },
	};
	static const struct bad_entry symlink_out[] = {
		{ "ok.toml", S_IFREG, NULL, NULL, "ok\n" },
		{ "out", S_IFLNK, "..", NULL, NULL },
		{ "out/through.toml", S_IFREG, NULL, NULL, "through\n" },
	};
	static const struct bad_entry symlink_abs[] = {
		{ "etc", S_IFLNK, "/etc", NULL, NULL },
		{ "etc/mcp-test-data.toml", S_IFREG, NULL, NULL, "through\n" },
	};
	static const struct bad_entry device[] = {
		{ "ok.toml", S_IFREG, NULL, NULL, "ok\n" },
		{ "null", S_IFCHR, NULL, NULL, NULL },
	};
	static const struct bad_entry fifo[] = {
		{ "pipe", S_IFIFO, NULL, NULL, NULL },
	};
	static const struct bad_entry hardlink[] = {
		{ "ok.toml", S_IFREG, NULL, NULL, "ok\n" },
		{ "passwd", S_IFREG, NULL, "../../etc/passwd", NULL },
	};
	static const struct {
		const char *name;
		const struct bad_entry *e;
		size_t n;
		const char *why;
	} cases[] = {
		{ "dotdot", dotdot, 2, "\"..\" component" },
		{ "absolute", absolute, 2, "absolute path" },
		{ "symlink_out", symlink_out, 3, "points outside" },
		{ "symlink_abs", symlink_abs, 2, "points outside" },
		{ "device", device, 2, "device nodes" },
		{ "fifo", fifo, 1, "FIFOs" },
		{ "hardlink", hardlink, 2, "hard link" },
	};
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char arch[64], dst[64], pre[80];

		snprintf(arch, sizeof(arch), "bad-%s.tar.zst", cases[i].name);
		snprintf(dst, sizeof(dst), "bad-%s", cases[i].name);
		snprintf(pre, sizeof(pre), ".%s.import-", dst);
		write_archive(arch, cases[i].e, cases[i].n);
		if (import_from(arch, dst, 0, 64, 0, NULL, NULL, &err) != -1)
			fail_msg("%s: imported", cases[i].name);
		if (strstr(err.msg, cases[i].why) == NULL)
			fail_msg("%s: %s", cases[i].name, err.msg);
		assert_int_equal(err.code, MCP_E_INVALID);
		assert_false(exists(dst));
		assert_int_equal(count_prefix(pre), 0);
	}
	assert_false(exists("escaped.toml"));
	assert_int_equal(access("/tmp/mcp-test-data-absolute.toml", F_OK), -1);
	assert_int_equal(access("/etc/mcp-test-data.toml", F_OK), -1);
}

/* An archive of one file of size zero bytes (compresses to almost nothing). */
static void
write_bomb(const char *arch, const char *name, size_t size)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	char p[512], *zero = xcalloc(1, 1 << 16);

	path_of(p, sizeof(p), arch);
	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_zstd(a);
	assert_int_equal(archive_write_open_filename(a, p), ARCHIVE_OK);
	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, S_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, (la_int64_t)size);
	assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
	for (size_t off = 0; off < size; off += 1 << 16)
		archive_write_data(a, zero, size - off < (1 << 16) ? size - off :
		    1 << 16);
	archive_entry_free(ae);
	archive_write_close(a);
	archive_write_free(a);
	free(zero);
}

/* Hostile sizes and shapes: each refused with nothing written. */
static void
test_import_limits(void **state)
{
	static const struct bad_entry dup[] = {
		{ "a.toml", S_IFREG, NULL, NULL, "first\n" },
		{ "a.toml", S_IFREG, NULL, NULL, "second\n" },
	};
	static const struct bad_entry dir_file[] = {
		{ "d", S_IFDIR, NULL, NULL, NULL },
		{ "d", S_IFREG, NULL, NULL, "now a file\n" },
	};
	struct bad_entry many[40];
	char names[40][16], *longname;
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	/* 32 MiB of zeros in a few KiB: refused past 1 MiB extracted */
	write_bomb("bomb.tar.zst", "big.db", 32u << 20);
	lim_bytes = 1u << 20;
	assert_int_equal(import_from("bomb.tar.zst", "r-bomb", 0, 65536, 0, NULL,
	    NULL, &err), -1);
	assert_int_equal(err.code, MCP_E_RESOURCE);
	assert_non_null(strstr(err.msg, "\"big.db\""));
	assert_non_null(strstr(err.msg, "1048576 bytes"));
	assert_false(exists("r-bomb"));
	assert_int_equal(count_prefix(".r-bomb.import-"), 0);
	/* the archive itself past the limit: refused while it arrives */
	lim_bytes = 1024;
	assert_int_equal(import_from("bomb.tar.zst", "r-bomb", 0, 512, 0, NULL,
	    NULL, &err), -1);
	assert_int_equal(err.code, MCP_E_RESOURCE);
	assert_non_null(strstr(err.msg, "archive is larger than the 1024 bytes"));
	assert_false(exists("r-bomb"));
	assert_int_equal(count_prefix(".r-bomb.import-"), 0);
	lim_bytes = 0;
	/* too many entries */
	for (int i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "f%02d.toml", i);
		many[i] = (struct bad_entry){ names[i], S_IFREG, NULL, NULL, "x\n" };
	}
	write_archive("many.tar.zst", many, 40);
	lim_entries = 30;
	assert_int_equal(import_from("many.tar.zst", "r-many", 0, 65536, 0, NULL,
	    NULL, &err), -1);
	assert_int_equal(err.code, MCP_E_RESOURCE);
	assert_non_null(strstr(err.msg, "more than 30 entries"));
	assert_false(exists("r-many"));
	lim_entries = 0;
	assert_int_equal(import_from("many.tar.zst", "r-many", 0, 65536, 0, NULL,
	    NULL, &err), 0);
	assert_true(exists("r-many/f39.toml"));
	/* a name longer than a path can be */
	longname = xcalloc(1, 6000);
	for (int i = 0; i < 5990; i += 10)
		memcpy(longname + i, "abcdefghi/", 10);
	memcpy(longname + 5990, "x.toml", 6);
	{
		struct bad_entry l = { longname, S_IFREG, NULL, NULL, "x\n" };

		write_archive("long.tar.zst", &l, 1);
	}
	free(longname);
	assert_int_equal(import_from("long.tar.zst", "r-long", 0, 65536, 0, NULL,
	    NULL, &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_non_null(strstr(err.msg, "name longer than"));
	assert_false(exists("r-long"));
	/* the same name twice; a directory then a file of its name */
	write_archive("dup.tar.zst", dup, 2);
	assert_int_equal(import_from("dup.tar.zst", "r-dup", 0, 65536, 0, NULL,
	    NULL, &err), -1);
	assert_non_null(strstr(err.msg, "\"a.toml\" appears twice"));
	assert_false(exists("r-dup"));
	write_archive("dirfile.tar.zst", dir_file, 2);
	assert_int_equal(import_from("dirfile.tar.zst", "r-dirfile", 0, 65536, 0,
	    NULL, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "\"d\" appears twice"));
	assert_false(exists("r-dirfile"));
	assert_int_equal(count_prefix(".r-dirfile.import-"), 0);
	/* what a crashed import left beside its target goes with the next */
	put(".r-many2.import-Ab12Cd/archive.tar.zst", "partial");
	put(".r-many2.import-Ab12Cd/data/x.toml", "x");
	put(".r-many2.import-keep", "not ours");
	assert_int_equal(import_from("many.tar.zst", "r-many2", 0, 65536, 0, NULL,
	    NULL, &err), 0);
	assert_int_equal(count_prefix(".r-many2.import-"), 1);
	assert_true(exists(".r-many2.import-keep"));
}

/* ---- live database ---- */

struct writer {
	char path[512];
	volatile int stop;
	long long committed;	/* rows committed so far */
	pthread_mutex_t mu;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	sqlite3 *db;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_open(w->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO t(v) VALUES (randomblob(200))", -1,
	    &st, NULL);
	while (!w->stop) {
		if (sqlite3_step(st) == SQLITE_DONE) {
			pthread_mutex_lock(&w->mu);
			w->committed++;
			pthread_mutex_unlock(&w->mu);
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return NULL;
}

static void
test_live_sqlite(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct writer w = { .stop = 0 };
	struct data_sum s;
	pthread_t t;
	sqlite3 *db;
	char check[64];
	long long before, after, restored;

	(void)state;
	put("d5/app.toml", "x = 1\n");
	db = db_open("d5/live.db");
	sql(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v)");
	sqlite3_close(db);
	path_of(w.path, sizeof(w.path), "d5/live.db");
	pthread_mutex_init(&w.mu, NULL);
	pthread_create(&t, NULL, writer_main, &w);
	while (1) {	/* let it write a while */
		pthread_mutex_lock(&w.mu);
		before = w.committed;
		pthread_mutex_unlock(&w.mu);
		if (before > 2000)
			break;
		usleep(10000);
	}
	assert_int_equal(export_to("d5", "d5.tar.zst", 0, NULL, &s, &err), 0);
	pthread_mutex_lock(&w.mu);
	after = w.committed;
	pthread_mutex_unlock(&w.mu);
	{	/* the same while it writes on, the copy in a temporary file */
		struct data_export_opts o = { 0, NULL, tmp, 0, 0, 1 };
		long long b2, a2, r2;

		pthread_mutex_lock(&w.mu);
		b2 = w.committed;
		pthread_mutex_unlock(&w.mu);
		assert_int_equal(export_opts_to("d5", "d5f.tar.zst", &o, NULL,
		    &err), 0);
		pthread_mutex_lock(&w.mu);
		a2 = w.committed;
		pthread_mutex_unlock(&w.mu);
		assert_int_equal(import_from("d5f.tar.zst", "r5f", 0, 65536, 0,
		    NULL, NULL, &err), 0);
		r2 = db_count("r5f/live.db", check, sizeof(check));
		print_message("      via a temporary file: %lld rows before, %lld "
		    "restored, %lld after\n", b2, r2, a2);
		assert_string_equal(check, "ok");
		assert_true(r2 >= b2 && r2 <= a2 + 1);
		assert_int_equal(count_prefix("mcp-export."), 0);
	}
	w.stop = 1;
	pthread_join(t, NULL);
	assert_int_equal(import_from("d5.tar.zst", "r5", 0, 65536, 0, NULL, NULL,
	    &err), 0);
	restored = db_count("r5/live.db", check, sizeof(check));
	print_message("      %lld rows before the export, %lld restored, %lld "
	    "after\n", before, restored, after);
	assert_string_equal(check, "ok");
	assert_true(restored >= before);
	/* the row being counted when after was read may be in it */
	assert_true(restored <= after + 1);
	assert_false(exists("r5/live.db-wal"));
	pthread_mutex_destroy(&w.mu);
}

/* A sink that gives up stops the export with its error. */
static int
refuse_sink(const void *data, size_t len, void *arg, struct mcp_err *err)
{
	(void)data;
	(void)len;
	(void)arg;
	return mcp_err_set(err, MCP_E_CANCELLED, "receiver gone");
}

static void
test_sink_fails(void **state)
{
	struct data_export_opts o = { 1, NULL, NULL, 0 };
	struct mcp_err err = MCP_ERR_INIT;
	char d[512];

	(void)state;
	make_tree("d6");
	path_of(d, sizeof(d), "d6");
	assert_int_equal(data_export(d, &o, refuse_sink, NULL, NULL, &err), -1);
	assert_int_equal(err.code, MCP_E_CANCELLED);
	assert_string_equal(err.msg, "receiver gone");
	path_of(d, sizeof(d), "missing");
	assert_int_equal(data_export(d, &o, refuse_sink, NULL, NULL, &err), -1);
	assert_int_equal(err.code, MCP_E_NOTFOUND);
}

/* The piped variant: the same archive, and a failing sink stops it. */
static void
test_piped(void **state)
{
	struct data_export_opts o = { 1, NULL, NULL, 0, 0 };
	struct mcp_err err = MCP_ERR_INIT;
	struct filesink s = { -1, 0, 0 };
	struct data_sum a, b;
	char d[512], f[512];

	(void)state;
	make_tree("d7");
	assert_int_equal(export_to("d7", "d7.tar.zst", 1, NULL, &a, &err), 0);
	path_of(d, sizeof(d), "d7");
	path_of(f, sizeof(f), "d7p.tar.zst");
	s.fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(data_export_piped(d, &o, to_file, &s, &b, &err), 0);
	close(s.fd);
	assert_int_equal(b.size, a.size);
	assert_int_equal(b.files, a.files);
	assert_int_equal(import_from("d7p.tar.zst", "r7", 0, 4096, 0, NULL, NULL,
	    &err), 0);
	assert_true(exists("r7/notes.txt"));
	assert_int_equal(data_export_piped(d, &o, refuse_sink, NULL, NULL, &err),
	    -1);
	assert_string_equal(err.msg, "receiver gone");
	path_of(d, sizeof(d), "missing");
	assert_int_equal(data_export_piped(d, &o, to_file, &s, NULL, &err), -1);
	assert_int_equal(err.code, MCP_E_NOTFOUND);

	/* missing_ok: a service without data yet exports an empty archive */
	o.missing_ok = 1;
	s.fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(data_export_piped(d, &o, to_file, &s, &b, &err), 0);
	close(s.fd);
	assert_int_equal(b.files, 0);
	assert_true(b.size > 0);
	assert_int_equal(import_from("d7p.tar.zst", "r7e", 0, 4096, 0, NULL, &b,
	    &err), 0);
	assert_int_equal(b.files, 0);
	assert_true(exists("r7e"));
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/test_data.XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	return data_remove_tree(tmp, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_method),
		cmocka_unit_test(test_entry_check),
		cmocka_unit_test(test_roundtrip_default),
		cmocka_unit_test(test_roundtrip_full),
		cmocka_unit_test(test_existing_target),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_malicious),
		cmocka_unit_test(test_import_limits),
		cmocka_unit_test(test_live_sqlite),
		cmocka_unit_test(test_sink_fails),
		cmocka_unit_test(test_piped),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
