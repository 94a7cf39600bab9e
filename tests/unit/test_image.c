/*
 * tests/unit/test_image.c: the pure parts of the VM image builder: the
 * static-ELF check on real binaries, the newc writer (read back with
 * libarchive), the tree walker used for volumes, determinism, the
 * attestation hash (= `cat kernel initrd | sha256sum`), podman's "no such
 * image" errors, and the record of which image ID each tag named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/image.h"
#include "image/image_int.h"
#include "util/file.h"
#include "util/hash.h"

static char tmpdir[256];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mcp-test-image.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char *argv[] = { "rm", "-rf", tmpdir, NULL };
	pid_t pid;

	(void)state;
	if ((pid = fork()) == 0) {
		execvp("rm", argv);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
	return 0;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A static binary of this tree: bin/hello, else bin/mcp-init. */
static const char *
static_binary(void)
{
	static const char *cands[] = { "bin/hello", "bin/mcp-init", "../../bin/hello",
	    "../../../bin/mcp-init" };

	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
		if (access(cands[i], R_OK) == 0)
			return cands[i];
	return NULL;
}

static void
test_elf_static_ok(void **state)
{
	struct mcp_err e = MCP_ERR_INIT;
	const char *bin = static_binary();

	(void)state;
	if (bin == NULL)
		skip();	/* run from the repo root after `make` */
	assert_int_equal(image_elf_check(bin, &e), 0);
}

static void
test_elf_dynamic_refused(void **state)
{
	struct mcp_err e = MCP_ERR_INIT;

	(void)state;
	assert_int_equal(image_elf_check("/bin/ls", &e), -1);
	assert_int_equal(e.code, MCP_E_INVALID);
	assert_non_null(strstr(e.msg, "/bin/ls: dynamically linked (interpreter /lib64/ld-linux-x86-64.so.2)"));
}

static void
test_elf_not_elf(void **state)
{
	struct mcp_err e = MCP_ERR_INIT;
	char path[300];

	(void)state;
	snprintf(path, sizeof(path), "%s/script", tmpdir);
	write_file(path, "#!/bin/sh\necho hi\n");
	assert_int_equal(image_elf_check(path, &e), -1);
	assert_non_null(strstr(e.msg, "not an ELF executable"));
	assert_int_equal(image_elf_check(tmpdir, &e), -1);
	assert_non_null(strstr(e.msg, "not a regular file"));
	snprintf(path, sizeof(path), "%s/absent", tmpdir);
	assert_int_equal(image_elf_check(path, &e), -1);
	assert_int_equal(e.code, MCP_E_NOTFOUND);
}

/* Read an archive back: "type path" lines ('d', 'f', 'l', 'c'), data of one file. */
static void
archive_list(const char *path, struct buf *listing, const char *want_file,
    struct buf *data)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;

	archive_read_support_format_cpio(a);
	archive_read_support_filter_none(a);
	assert_int_equal(archive_read_open_filename(a, path, 4096), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		mode_t t = archive_entry_filetype(e);
		char c = t == AE_IFDIR ? 'd' : t == AE_IFREG ? 'f' : t == AE_IFLNK ? 'l' :
		    t == AE_IFCHR ? 'c' : '?';

		buf_printf(listing, "%c %s %o%s%s\n", c, archive_entry_pathname(e),
		    (unsigned)archive_entry_perm(e), t == AE_IFLNK ? " -> " : "",
		    t == AE_IFLNK ? archive_entry_symlink(e) : "");
		if (want_file && strcmp(archive_entry_pathname(e), want_file) == 0) {
			char chunk[4096];
			la_ssize_t n;

			while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0)
				buf_append(data, chunk, (size_t)n);
		}
	}
	archive_read_free(a);
}

static void
test_cpio_layout(void **state)
{
	struct mcp_err e = MCP_ERR_INIT;
	struct buf listing = BUF_INIT, data = BUF_INIT;
	char path[300], host[300];
	struct cpio_writer *w;

	(void)state;
	snprintf(path, sizeof(path), "%s/a.cpio", tmpdir);
	snprintf(host, sizeof(host), "%s/hostfile", tmpdir);
	write_file(host, "content\n");
	w = cpio_open(path, &e);
	assert_non_null(w);
	assert_int_equal(cpio_add_chardev(w, "/dev/console", 0600, 5, 1, &e), 0);
	assert_int_equal(cpio_add_file(w, "/usr/local/bin/app", host, 0755, &e), 0);
	assert_int_equal(cpio_add_data(w, "/mcp/config", "arg=/x\n", 7, 0600, &e), 0);
	assert_int_equal(cpio_add_symlink(w, "/usr/bin/app", "../local/bin/app", &e), 0);
	assert_int_equal(cpio_add_dir(w, "/usr", 0755, &e), 0);	/* already there */
	assert_int_equal(cpio_add_dir(w, "/tmp", 01777, &e), 0);
	assert_int_equal(cpio_add_file(w, "/x/../etc/passwd", host, 0644, &e), -1);
	assert_int_equal(cpio_add_file(w, "relative", host, 0644, &e), -1);
	assert_int_equal(cpio_add_file(w, "/a//b", host, 0644, &e), -1);
	assert_int_equal(cpio_close(w, &e), 0);

	archive_list(path, &listing, "usr/local/bin/app", &data);
	assert_string_equal(listing.data,
	    "d dev 755\n"
	    "c dev/console 600\n"
	    "d usr 755\n"
	    "d usr/local 755\n"
	    "d usr/local/bin 755\n"
	    "f usr/local/bin/app 755\n"
	    "d mcp 755\n"
	    "f mcp/config 600\n"
	    "d usr/bin 755\n"
	    "l usr/bin/app 777 -> ../local/bin/app\n"
	    "d tmp 1777\n");
	assert_string_equal(data.data, "content\n");
	buf_free(&listing);
	buf_free(&data);
}

static int
walk_collect(void *arg, const char *host, const char *guest, const struct stat *st,
    const char *link, struct mcp_err *err)
{
	struct buf *b = arg;

	(void)host;
	(void)err;
	buf_printf(b, "%s%s%s%s\n", guest, S_ISDIR(st->st_mode) ? "/" : "",
	    link ? " -> " : "", link ? link : "");
	return 0;
}

static void
test_tree_walk_order(void **state)
{
	struct mcp_err e = MCP_ERR_INIT;
	struct buf b = BUF_INIT;
	char root[300], p[400];

	(void)state;
	snprintf(root, sizeof(root), "%s/vol", tmpdir);
	snprintf(p, sizeof(p), "%s/sub", root);
	assert_int_equal(file_mkdirs(p, 0755, &e), 0);
	snprintf(p, sizeof(p), "%s/b.txt", root);
	write_file(p, "b");
	snprintf(p, sizeof(p), "%s/a.txt", root);
	write_file(p, "a");
	snprintf(p, sizeof(p), "%s/sub/c.txt", root);
	write_file(p, "c");
	snprintf(p, sizeof(p), "%s/link", root);
	assert_int_equal(symlink("/etc/passwd", p), 0);	/* kept as a link, not followed */
	assert_int_equal(tree_walk(root, "/srv/hello", walk_collect, &b, &e), 0);
	assert_string_equal(b.data,
	    "/srv/hello/\n"
	    "/srv/hello/a.txt\n"
	    "/srv/hello/b.txt\n"
	    "/srv/hello/link -> /etc/passwd\n"
	    "/srv/hello/sub/\n"
	    "/srv/hello/sub/c.txt\n");
	buf_free(&b);
	snprintf(p, sizeof(p), "%s/nope", tmpdir);
	assert_int_equal(tree_walk(p, "/x", walk_collect, &b, &e), -1);
	assert_int_equal(e.code, MCP_E_NOTFOUND);
	buf_free(&b);
}

static void
build_archive(const char *path, const char *host)
{
	struct mcp_err e = MCP_ERR_INIT;
	struct cpio_writer *w = cpio_open(path, &e);

	assert_non_null(w);
	assert_int_equal(cpio_add_file(w, "/init", host, 0755, &e), 0);
	assert_int_equal(cpio_add_data(w, "/mcp/config", "arg=/init\n", 10, 0600, &e), 0);
	assert_int_equal(cpio_close(w, &e), 0);
}

static void
test_attest_deterministic(void **state)
{
	struct mcp_err e = MCP_ERR_INIT;
	char a[300], b[300], kernel[300], host[300], h1[IMAGE_HASH_MAX], h2[IMAGE_HASH_MAX];
	char want[IMAGE_HASH_MAX];
	struct buf kb = BUF_INIT, ib = BUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen;
	uint64_t ks, is;
	EVP_MD_CTX *ctx;
	int fd;

	(void)state;
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", tmpdir);
	snprintf(host, sizeof(host), "%s/initbin", tmpdir);
	snprintf(a, sizeof(a), "%s/one.cpio", tmpdir);
	snprintf(b, sizeof(b), "%s/two.cpio", tmpdir);
	write_file(kernel, "pretend kernel");
	write_file(host, "pretend init");
	build_archive(a, host);
	sleep(1);	/* different mtimes must not matter */
	build_archive(b, host);
	assert_int_equal(image_attest(kernel, a, h1, &ks, &is, &e), 0);
	assert_int_equal(image_attest(kernel, b, h2, NULL, NULL, &e), 0);
	assert_string_equal(h1, h2);
	assert_int_equal(ks, 14);

	/* independently: sha256(kernel || initrd) */
	assert_int_equal(file_read(kernel, &kb, 0, &e), 0);
	assert_int_equal(file_read(a, &ib, 0, &e), 0);
	assert_int_equal(is, ib.len);
	ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, kb.data, kb.len);
	EVP_DigestUpdate(ctx, ib.data, ib.len);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	strcpy(want, "sha256:");
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(want + 7 + 2 * i, 3, "%02x", md[i]);
	assert_string_equal(h1, want);

	/* one changed byte changes the hash */
	fd = open(b, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(image_attest(kernel, b, h2, NULL, NULL, &e), 0);
	assert_string_not_equal(h1, h2);
	snprintf(b, sizeof(b), "%s/missing", tmpdir);
	assert_int_equal(image_attest(kernel, b, h2, NULL, NULL, &e), -1);
	assert_non_null(strstr(e.msg, "missing"));
	buf_free(&kb);
	buf_free(&ib);
}

/* podman's error lines: which ones mean "no such image" */
static void
test_oci_classify(void **state)
{
	static const struct {
		const char *line;
		int code;
	} cases[] = {
		{ "Error: inspecting object: localhost/nope:v1: image not known",
		  MCP_E_NOTFOUND },
		{ "Error: initializing source docker://127.0.0.1:5000/hello:v9: reading "
		  "manifest v9 in 127.0.0.1:5000/hello: manifest unknown: manifest unknown",
		  MCP_E_NOTFOUND },
		{ "Error: initializing source docker://127.0.0.1:5000/nope:v1: reading "
		  "manifest v1 in 127.0.0.1:5000/nope: name unknown: repository name not "
		  "known to registry", MCP_E_NOTFOUND },
		{ "Error: no such image", MCP_E_NOTFOUND },
		{ "Error: initializing source docker://localhost/x:v1: pinging container "
		  "registry localhost: Get \"https://localhost/v2/\": dial tcp "
		  "127.0.0.1:443: connect: connection refused", MCP_E_UNAVAILABLE },
		{ "Error: creating build container: database is locked", MCP_E_UNAVAILABLE },
		{ "", MCP_E_UNAVAILABLE },
		{ NULL, MCP_E_UNAVAILABLE },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (oci_classify(cases[i].line) != cases[i].code)
			fail_msg("oci_classify(\"%s\") = %d, want %d", cases[i].line ?
			    cases[i].line : "(null)", oci_classify(cases[i].line), cases[i].code);
	}
}

#define ID_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* a tag record is "<id>\n<tag>\n" for exactly that tag */
static void
test_tag_parse(void **state)
{
	static const struct {
		const char *text, *tag;
		int rc;
		const char *id;
	} cases[] = {
		{ ID_A "\nlocalhost/hello:v1\n", "localhost/hello:v1", 0, ID_A },
		{ ID_A "\nlocalhost/hello:v1\n", "localhost/hello:v2", -1, "" },
		{ ID_A "\nlocalhost/hello:v1\n", "localhost/hello:v", -1, "" },
		{ ID_A "\nlocalhost/hello:v1", "localhost/hello:v1", -1, "" },
		{ ID_A "\nlocalhost/hello:v1\nmore\n", "localhost/hello:v1", -1, "" },
		{ "md5:abc\nlocalhost/hello:v1\n", "localhost/hello:v1", -1, "" },
		{ ID_A ID_A "\nx:v1\n", "x:v1", -1, "" },
		{ "", "x:v1", -1, "" },
	};
	char id[IMAGE_HASH_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = image_tag_parse(cases[i].text, cases[i].tag, id);

		if (rc != cases[i].rc || strcmp(id, cases[i].id) != 0)
			fail_msg("case %zu: image_tag_parse = %d \"%s\", want %d \"%s\"", i,
			    rc, id, cases[i].rc, cases[i].id);
	}
}

/* the builder learns that a tag now names another image, and says which */
static void
test_tag_moved(void **state)
{
	struct mcp_err e = MCP_ERR_INIT;
	char cache[300], prev[IMAGE_HASH_MAX], rec[400];
	struct buf b = BUF_INIT;

	(void)state;
	snprintf(cache, sizeof(cache), "%s/cache", tmpdir);
	/* nothing recorded: not moved; a look does not record */
	assert_int_equal(image_tag_moved(cache, "localhost/h:v1", ID_A, 0, prev, &e), 0);
	assert_string_equal(prev, "");
	assert_int_equal(image_tag_moved(cache, "localhost/h:v1", ID_B, 0, prev, &e), 0);
	/* recorded A: same is not moved, B is (and a look keeps A) */
	assert_int_equal(image_tag_moved(cache, "localhost/h:v1", ID_A, 1, prev, &e), 0);
	assert_int_equal(image_tag_moved(cache, "localhost/h:v1", ID_A, 0, prev, &e), 0);
	assert_int_equal(image_tag_moved(cache, "localhost/h:v1", ID_B, 0, prev, &e), 1);
	assert_string_equal(prev, ID_A);
	assert_int_equal(image_tag_moved(cache, "localhost/h:v1", ID_B, 0, prev, &e), 1);
	/* another tag has its own record */
	assert_int_equal(image_tag_moved(cache, "localhost/h:v2", ID_B, 0, prev, &e), 0);
	/* recording B reports the move once, then B is what the tag names */
	assert_int_equal(image_tag_moved(cache, "localhost/h:v1", ID_B, 1, prev, &e), 1);
	assert_string_equal(prev, ID_A);
	assert_int_equal(image_tag_moved(cache, "localhost/h:v1", ID_B, 0, prev, &e), 0);
	assert_string_equal(prev, "");
	assert_int_equal(image_tag_moved(cache, "localhost/h:v1", ID_A, 0, prev, &e), 1);
	assert_string_equal(prev, ID_B);
	/* a garbled record is "unknown", and recording repairs it */
	snprintf(rec, sizeof(rec), "%s/oci/tags", cache);
	{
		char hex[HASH_HEX_LEN + 1], path[800];

		hash_sha256_hex("localhost/h:v1", strlen("localhost/h:v1"), hex);
		snprintf(path, sizeof(path), "%s/%s", rec, hex);
		assert_int_equal(file_read(path, &b, 0, &e), 0);
		assert_string_equal(b.data, ID_B "\nlocalhost/h:v1\n");
		write_file(path, "garbage");
		assert_int_equal(image_tag_moved(cache, "localhost/h:v1", ID_A, 0, prev, &e), 0);
		assert_int_equal(image_tag_moved(cache, "localhost/h:v1", ID_A, 1, prev, &e), 0);
		assert_int_equal(image_tag_moved(cache, "localhost/h:v1", ID_B, 0, prev, &e), 1);
		assert_string_equal(prev, ID_A);
	}
	buf_free(&b);
	/* an unwritable cache is an error that names the image */
	snprintf(cache, sizeof(cache), "%s/not-a-dir", tmpdir);
	write_file(cache, "");
	assert_int_equal(image_tag_moved(cache, "localhost/h:v3", ID_A, 1, prev, &e), -1);
	assert_non_null(strstr(e.msg, "localhost/h:v3"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf_static_ok),
		cmocka_unit_test(test_elf_dynamic_refused),
		cmocka_unit_test(test_elf_not_elf),
		cmocka_unit_test(test_cpio_layout),
		cmocka_unit_test(test_tree_walk_order),
		cmocka_unit_test(test_attest_deterministic),
		cmocka_unit_test(test_oci_classify),
		cmocka_unit_test(test_tag_parse),
		cmocka_unit_test(test_tag_moved),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
