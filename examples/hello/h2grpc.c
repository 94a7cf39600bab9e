/*
 * examples/hello/h2grpc.c: just enough HTTP/2 (RFC 9113, prior knowledge,
 * no TLS) and HPACK (RFC 7541, decoding literals; no Huffman, no dynamic
 * table) to serve one gRPC method, mcp.v1.SnapshotService/Snapshot, which
 * the node's agent calls before it archives the service's data ([snapshot]
 * method = "grpc").  A connection per thread: the preface, SETTINGS (and
 * their ACK), PING answered, the request's HEADERS/CONTINUATION/DATA read
 * until END_STREAM, then the response: HEADERS, one DATA with the
 * SnapshotResponse, trailers with grpc-status.  A :path that is readable
 * and names another method gets UNIMPLEMENTED; our responses are small
 * enough for the peer's initial flow-control window.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "hello.h"

#define H2_PREFACE	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_MAX_FRAME	(1u << 20)
#define H2_MAX_BLOCK	16384
#define SNAPSHOT_PATH	"/mcp.v1.SnapshotService/Snapshot"

enum { F_DATA = 0, F_HEADERS = 1, F_SETTINGS = 4, F_PING = 6, F_GOAWAY = 7,
	F_CONTINUATION = 9 };
enum { FL_END_STREAM = 0x1, FL_ACK = 0x1, FL_END_HEADERS = 0x4,
	FL_PADDED = 0x8, FL_PRIORITY = 0x20 };

static int listen_fd = -1;

static int
read_full(int fd, unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
frame_send(int fd, int type, int flags, uint32_t stream, const void *p,
    size_t n)
{
	unsigned char h[9];

	h[0] = (unsigned char)(n >> 16);
	h[1] = (unsigned char)(n >> 8);
	h[2] = (unsigned char)n;
	h[3] = (unsigned char)type;
	h[4] = (unsigned char)flags;
	h[5] = (unsigned char)((stream >> 24) & 0x7f);
	h[6] = (unsigned char)(stream >> 16);
	h[7] = (unsigned char)(stream >> 8);
	h[8] = (unsigned char)stream;
	if (write_all(fd, (const char *)h, sizeof(h)) == -1)
		return -1;
	return n ? write_all(fd, p, n) : 0;
}

/* HPACK integer with an n-bit prefix; -1 when it runs off the block. */
static long
hp_int(const unsigned char *b, size_t len, size_t *pos, int bits)
{
	long mask = (1L << bits) - 1, v;
	int m = 0;

	if (*pos >= len)
		return -1;
	v = b[(*pos)++] & mask;
	if (v < mask)
		return v;
	while (*pos < len && m < 28) {
		unsigned char c = b[(*pos)++];

		v += (long)(c & 0x7f) << m;
		m += 7;
		if (!(c & 0x80))
			return v;
	}
	return -1;
}

/* A string: s and n point into the block; *huff set when Huffman-coded. */
static int
hp_str(const unsigned char *b, size_t len, size_t *pos, const unsigned char **s,
    size_t *n, int *huff)
{
	long l;

	if (*pos >= len)
		return -1;
	*huff = (b[*pos] & 0x80) != 0;
	if ((l = hp_int(b, len, pos, 7)) < 0 || (size_t)l > len - *pos)
		return -1;
	*s = b + *pos;
	*n = (size_t)l;
	*pos += (size_t)l;
	return 0;
}

/* Find :path in a header block; path "" when absent or unreadable. */
static int
hp_path(const unsigned char *b, size_t len, char *path, size_t pathsz)
{
	size_t pos = 0;

	path[0] = '\0';
	while (pos < len) {
		unsigned char c = b[pos];
		const unsigned char *name = NULL, *val;
		size_t nlen = 0, vlen;
		long idx;
		int huff, nhuff = 0, is_path;

		if (c & 0x80) {			/* indexed */
			if ((idx = hp_int(b, len, &pos, 7)) < 0)
				return -1;
			if (idx == 4)
				snprintf(path, pathsz, "/");
			continue;
		}
		if ((c & 0xe0) == 0x20) {	/* table size update */
			if (hp_int(b, len, &pos, 5) < 0)
				return -1;
			continue;
		}
		idx = hp_int(b, len, &pos, (c & 0xc0) == 0x40 ? 6 : 4);
		if (idx < 0)
			return -1;
		if (idx == 0 && hp_str(b, len, &pos, &name, &nlen, &nhuff) == -1)
			return -1;
		if (hp_str(b, len, &pos, &val, &vlen, &huff) == -1)
			return -1;
		is_path = idx == 4 || idx == 5 || (idx == 0 && !nhuff &&
		    nlen == 5 && memcmp(name, ":path", 5) == 0);
		if (is_path && !huff && vlen < pathsz) {
			memcpy(path, val, vlen);
			path[vlen] = '\0';
		}
	}
	return 0;
}

/* A literal header field without indexing, new name. */
static size_t
hp_lit(unsigned char *out, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value), n = 0;

	out[n++] = 0x00;
	out[n++] = (unsigned char)nl;	/* names and values here are < 127 */
	memcpy(out + n, name, nl);
	n += nl;
	out[n++] = (unsigned char)vl;
	memcpy(out + n, value, vl);
	return n + vl;
}

/* :status 200 and content-type application/grpc. */
static size_t
hp_response_head(unsigned char *out)
{
	size_t n = 0;

	out[n++] = 0x88;		/* indexed 8: ":status: 200" */
	out[n++] = 0x0f;		/* literal, name index 31 (content-type) */
	out[n++] = 0x10;
	out[n++] = 16;
	memcpy(out + n, "application/grpc", 16);
	return n + 16;
}

static int
send_status(int fd, uint32_t stream, int code, const char *msg, int head)
{
	unsigned char b[512];
	char num[8];
	size_t n = 0;

	if (head)
		n = hp_response_head(b);
	snprintf(num, sizeof(num), "%d", code);
	n += hp_lit(b + n, "grpc-status", num);
	if (msg && *msg) {
		char m[100];

		snprintf(m, sizeof(m), "%s", msg);
		for (char *p = m; *p; p++)	/* no percent-encoding: keep it plain */
			if (*p < 0x20 || *p > 0x7e || *p == '%')
				*p = '?';
		n += hp_lit(b + n, "grpc-message", m);
	}
	return frame_send(fd, F_HEADERS, FL_END_HEADERS | FL_END_STREAM, stream,
	    b, n);
}

/* The call is complete: answer it. */
static int
answer(int fd, uint32_t stream, const char *path)
{
	unsigned char head[64], msg[600];
	char files[256], why[300];
	size_t nfiles = 0, off = 0, n = 5;
	int rc;

	if (path[0] && strcmp(path, SNAPSHOT_PATH) != 0) {
		logf_line("hello: grpc %s: unimplemented", path);
		return send_status(fd, stream, 12, "unknown method", 1);
	}
	if (counter_snapshot(files, sizeof(files), &nfiles, why, sizeof(why)) == -1) {
		logf_line("hello: grpc Snapshot: %s", why);
		return send_status(fd, stream, 13, why, 1);
	}
	/* SnapshotResponse { repeated string files = 1; } behind the 5-byte
	 * gRPC message prefix (no compression, length) */
	for (size_t i = 0; i < nfiles; i++) {
		size_t l = strlen(files + off);

		msg[n++] = 0x0a;
		msg[n++] = (unsigned char)l;
		memcpy(msg + n, files + off, l);
		n += l;
		off += l + 1;
	}
	msg[0] = 0;
	msg[1] = msg[2] = 0;
	msg[3] = (unsigned char)((n - 5) >> 8);
	msg[4] = (unsigned char)(n - 5);
	rc = frame_send(fd, F_HEADERS, FL_END_HEADERS, stream, head,
	    hp_response_head(head));
	if (rc == 0)
		rc = frame_send(fd, F_DATA, 0, stream, msg, n);
	if (rc == 0)
		rc = send_status(fd, stream, 0, NULL, 0);
	logf_line("hello: grpc Snapshot: ok");
	return rc;
}

static void
serve_conn(int fd)
{
	unsigned char pre[24], h[9], *p = NULL, block[H2_MAX_BLOCK];
	size_t blen = 0;
	uint32_t stream = 0;
	char path[256] = "";
	int in_headers = 0, end_stream = 0;

	if (read_full(fd, pre, sizeof(pre)) == -1 ||
	    memcmp(pre, H2_PREFACE, sizeof(pre)) != 0)
		return;
	if (frame_send(fd, F_SETTINGS, 0, 0, NULL, 0) == -1)
		return;
	for (;;) {
		uint32_t len, sid;
		int type, flags;
		size_t off = 0, plen;

		if (read_full(fd, h, sizeof(h)) == -1)
			break;
		len = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
		type = h[3];
		flags = h[4];
		sid = ((uint32_t)h[5] & 0x7f) << 24 | (uint32_t)h[6] << 16 |
		    (uint32_t)h[7] << 8 | h[8];
		if (len > H2_MAX_FRAME)
			break;
		free(p);
		if ((p = malloc(len ? len : 1)) == NULL ||
		    read_full(fd, p, len) == -1)
			break;
		plen = len;
		if ((type == F_DATA || type == F_HEADERS) && (flags & FL_PADDED)) {
			if (len < 1 || p[0] >= len)
				break;
			off = 1;
			plen = len - p[0];
		}
		if (type == F_HEADERS && (flags & FL_PRIORITY))
			off += 5;
		if (off > plen)
			break;
		switch (type) {
		case F_SETTINGS:
			if (!(flags & FL_ACK) &&
			    frame_send(fd, F_SETTINGS, FL_ACK, 0, NULL, 0) == -1)
				goto out;
			break;
		case F_PING:
			if (!(flags & FL_ACK) && len == 8 &&
			    frame_send(fd, F_PING, FL_ACK, 0, p, 8) == -1)
				goto out;
			break;
		case F_GOAWAY:
			goto out;
		case F_HEADERS:
		case F_CONTINUATION:
			if (type == F_HEADERS) {
				stream = sid;
				blen = 0;
				path[0] = '\0';
				end_stream = flags & FL_END_STREAM;
			}
			if (plen - off > sizeof(block) - blen)
				goto out;
			memcpy(block + blen, p + off, plen - off);
			blen += plen - off;
			in_headers = !(flags & FL_END_HEADERS);
			if (!in_headers) {
				hp_path(block, blen, path, sizeof(path));
				if (end_stream && answer(fd, stream, path) == -1)
					goto out;
			}
			break;
		case F_DATA:
			/* the request (SnapshotRequest) is not needed */
			if (sid == stream && (flags & FL_END_STREAM) &&
			    answer(fd, stream, path) == -1)
				goto out;
			break;
		default:	/* WINDOW_UPDATE, PRIORITY, RST_STREAM, ... */
			break;
		}
	}
out:
	free(p);
}

static void *
conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;

	serve_conn(fd);
	close(fd);
	return NULL;
}

static void *
accept_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct timeval tv = { .tv_sec = 30 };
		pthread_attr_t attr;
		pthread_t th;
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			usleep(100000);
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &attr, conn_main, (void *)(intptr_t)fd) != 0)
			close(fd);
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

int
h2grpc_start(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	pthread_t th;
	int one = 1;

	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd == -1)
		return -1;
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	sin.sin_port = htons((uint16_t)port);
	if (bind(listen_fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(listen_fd, 16) == -1 ||
	    pthread_create(&th, NULL, accept_main, NULL) != 0) {
		int e = errno;

		close(listen_fd);
		listen_fd = -1;
		errno = e;
		return -1;
	}
	pthread_detach(th);
	return 0;
}
