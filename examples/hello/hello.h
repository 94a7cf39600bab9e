/*
 * examples/hello/hello.h: what the parts of the example service share.
 *   hello.c    the HTTP server, start-up, `hello snapshot`
 *   counter.c  a SQLite-backed counter in the service's data directory
 *   h2grpc.c   a minimal plaintext HTTP/2 gRPC server for
 *              mcp.v1.SnapshotService/Snapshot (proto/snapshot.proto)
 */
#ifndef HELLO_HELLO_H
#define HELLO_HELLO_H

#include <stddef.h>
#include <stdint.h>

void logf_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int write_all(int fd, const char *p, size_t n);
/* The data directory: $HELLO_DATA, else /srv/<HELLO_NAME>. */
const char *hello_data_dir(void);

/* counter.c: 0 and *n, or -1 with why (a message of at most 256 bytes). */
int counter_add(int64_t *n, char *why, size_t whysz);
int counter_get(int64_t *n, char *why, size_t whysz);
/* A consistent copy: counter.snapshot.db (VACUUM INTO) and counter.dump
 * (the value as text), both written then renamed.  files receives their
 * names, NUL-separated. */
int counter_snapshot(char *files, size_t filesz, size_t *nfiles, char *why,
    size_t whysz);

/* h2grpc.c: serve SnapshotService on port in a thread of its own. */
int h2grpc_start(int port);

#endif
