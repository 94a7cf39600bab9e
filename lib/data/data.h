/*
 * data/data.h: service data archives (SPEC §5, snapshots and migrate).
 *
 * A service keeps its state under <srv_root>/<service>/.  data_export
 * writes that directory as a tar.zst (pax, zstd) to a sink in chunks of at
 * most DATA_CHUNK bytes, never holding the archive in memory, and reports
 * its SHA-256 and size.  What goes in (data_selected, pure): by default
 * only *.toml, *.db and *.pem files; with all set, every regular file,
 * directory and symlink; exclude patterns apply either way.  A SQLite
 * database (*.db starting with the SQLite header) is never copied raw:
 * it is captured with SQLite's online backup API (all pages in one step,
 * inside one read transaction) into a copy in memory (up to 256 MiB) or in
 * a temporary file, which is a consistent snapshot even while the service
 * writes to it, and its -wal / -shm / -journal files are left out.
 *
 * data_import_* land an archive as the new contents of a directory, whole
 * or not at all: the stream is spooled (hashed as it comes) into a
 * temporary directory beside the target, its SHA-256 and size are checked
 * against what the sender announced, only then is it extracted there, and
 * only a complete extraction is renamed into place (exchanged with the old
 * directory when there is one).  An entry that could escape the directory
 * (absolute path, "..", a symlink or hard link pointing outside, a device,
 * a FIFO or socket) fails the import (data_entry_check, pure) and nothing
 * reaches the target.
 */
#ifndef MCP_DATA_DATA_H
#define MCP_DATA_DATA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

#define DATA_CHUNK	(1u << 20)	/* largest piece handed to a sink */
#define DATA_SHA_HEX	64

struct data_sum {
	char sha256[DATA_SHA_HEX + 1];	/* of the archive bytes */
	uint64_t size;			/* archive bytes */
	uint64_t bytes;			/* file bytes in it */
	uint32_t files;			/* regular files in it */
};

/* ---- selection (pure) ---- */

/*
 * 1 when the path rel (relative to the data directory, '/'-separated, no
 * leading "./") matches an exclude pattern: a pattern ending in '/' names
 * a directory and everything under it; otherwise an fnmatch(3) pattern
 * matched against the whole path, or against the last component when the
 * pattern has no '/'; a pattern naming a directory also covers what is
 * under it.
 */
int data_excluded(const char *rel, int is_dir, const char *const *exclude);
/* The default selection: *.toml, *.db, *.pem (by the last component). */
int data_default_kind(const char *name);
/* SQLite's companions (-wal, -shm, -journal of a database), never archived. */
int data_sqlite_companion(const char *name);

/* [snapshot] method, parsed (pure). */
enum data_method {
	DATA_M_DEFAULT,		/* omitted: *.toml, *.db, *.pem */
	DATA_M_FULL,
	DATA_M_EXEC,		/* "exec: CMD": CMD in the container first */
	DATA_M_CLI,		/* the component's binary with "snapshot" */
	DATA_M_GRPC,		/* the service's Snapshot RPC first */
	DATA_M_INVALID
};
enum data_method data_method_kind(const char *method);
/*
 * The argv of "exec: CMD ARGS": split on blanks (no shell, no quoting)
 * into buf's storage; argv has max slots (NULL-terminated).  The number of
 * words, 0 when there is no command, -1 when there are more than max - 1.
 */
int data_exec_argv(const char *method, char *buf, size_t bufsz,
    const char **argv, size_t max);

/* ---- export ---- */

struct data_export_opts {
	int all;			/* every file, not just the default kinds */
	const char *const *exclude;	/* NULL-terminated; may be NULL */
	const char *tmpdir;		/* for database copies; NULL: $TMPDIR or /tmp */
	int busy_ms;			/* SQLite busy timeout; <= 0: 30 s */
	int missing_ok;			/* no such directory: an empty archive */
	long long mem_max;		/* a database up to this size is copied
					 * in memory, a larger one to tmpdir;
					 * 0: 256 MiB */
};

/* Return -1 (with err) to stop the export; data is valid during the call. */
typedef int (*data_sink_fn)(const void *data, size_t len, void *arg,
    struct mcp_err *err);

/* Write dir as a tar.zst to sink; sum (may be NULL) receives what was sent. */
int data_export(const char *dir, const struct data_export_opts *o,
    data_sink_fn sink, void *arg, struct data_sum *sum, struct mcp_err *err);
/* The same, with the archive made on a thread of its own while sink runs
 * on the caller's (a slow receiver and the compression overlap; at most
 * 8 chunks wait between them).  A failing sink stops the archive. */
int data_export_piped(const char *dir, const struct data_export_opts *o,
    data_sink_fn sink, void *arg, struct data_sum *sum, struct mcp_err *err);

/* ---- import ---- */

/*
 * Entry check (pure): path as stored, its type (S_IFREG, S_IFDIR, ...),
 * and for a symlink its target / for a hard link the path it links to
 * (else NULL).  0, or -1 with MCP_E_INVALID naming the entry and why.
 */
int data_entry_check(const char *path, mode_t type, const char *symlink,
    const char *hardlink, struct mcp_err *err);

struct data_import;

/*
 * Limits on a hostile archive: the bytes an import writes (the spooled
 * archive plus the extracted files) stay below the free space of the
 * target's file system less DATA_IMPORT_RESERVE, and below max_bytes when
 * data_import_set_limits set one; at most DATA_IMPORT_MAX_ENTRIES entries.
 * Past a limit the import fails with MCP_E_RESOURCE, nothing written.
 */
#define DATA_IMPORT_RESERVE	(64ull << 20)
#define DATA_IMPORT_MAX_ENTRIES	1000000

/*
 * Start importing into target (its parent must exist).  A target that
 * exists and is not empty is refused with MCP_E_EXISTS unless force.  The
 * temporary directory is made beside it now; those an earlier import into
 * target left behind (its process died) are removed first, so the caller
 * must never run two imports into one target at once (the agent holds the
 * service's lock).
 */
struct data_import *data_import_new(const char *target, int force,
    struct mcp_err *err);
/* Lower the limits (0 keeps one); call before the first feed. */
void data_import_set_limits(struct data_import *im, uint64_t max_bytes,
    uint64_t max_entries);
/* Append archive bytes (hashed and spooled). */
int data_import_feed(struct data_import *im, const void *data, size_t len,
    struct mcp_err *err);
/*
 * The sender is done: check sha256 (hex) and size against what arrived,
 * extract, rename into place.  sum receives the result.  On failure the
 * target is as it was.
 */
int data_import_finish(struct data_import *im, const char *sha256,
    uint64_t size, struct data_sum *sum, struct mcp_err *err);
/* Release; an unfinished import's temporary directory is removed. */
void data_import_free(struct data_import *im);

/* rm -rf of a directory tree, never following symlinks. */
int data_remove_tree(const char *path, struct mcp_err *err);

#endif
