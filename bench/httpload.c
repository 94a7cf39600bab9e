/*
 * bench/httpload.c: a small closed-loop HTTP/1.1 load generator for the
 * benchmarks (not part of MCP).  C connections each send GET requests one
 * after another for S seconds, keeping the connection open while the
 * server allows it (and reconnecting when it answers "Connection: close"),
 * optionally over TLS with a given SNI name verified against a CA.  Prints
 * one line: requests/s, p50 and p99 latency in ms, errors.
 *
 *   httpload ADDR PORT SECONDS CONNS [--tls SNI CAFILE] [--path /x]
 *
 * Latency is per request, connect and handshake included when a request
 * needs a new connection (that is what a client of a close-always
 * backend pays).  As HTTP clients do (RFC 9112 §9.3.1), a GET that fails
 * on a reused keep-alive connection the server closed meanwhile is sent
 * again once on a new connection; only a failure on a fresh connection
 * counts as an error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

static const char *addr, *sni, *cafile, *path = "/";
static int port, seconds, tls;
static SSL_CTX *ctx;

struct worker {
	pthread_t t;
	double *lat;		/* ms */
	size_t n, cap;
	long errors;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct conn {
	int fd;
	SSL *ssl;
};

static void
conn_close(struct conn *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int
conn_open(struct conn *c)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct timeval tv = { 5, 0 };
	int one = 1;

	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, addr, &sin.sin_addr);
	if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		goto fail;
	if (!tls)
		return 0;
	if ((c->ssl = SSL_new(ctx)) == NULL)
		goto fail;
	SSL_set_tlsext_host_name(c->ssl, sni);
	SSL_set1_host(c->ssl, sni);
	SSL_set_fd(c->ssl, c->fd);
	if (SSL_connect(c->ssl) != 1)
		goto fail;
	return 0;
fail:
	conn_close(c);
	return -1;
}

static int
io_write(struct conn *c, const char *buf, int n)
{
	return c->ssl ? SSL_write(c->ssl, buf, n) : (int)write(c->fd, buf, (size_t)n);
}

static int
io_read(struct conn *c, char *buf, int n)
{
	return c->ssl ? SSL_read(c->ssl, buf, n) : (int)read(c->fd, buf, (size_t)n);
}

/* One request/response; *keep set when the connection may be reused. */
static int
request(struct conn *c, int *keep)
{
	char req[512], buf[16384];
	int n, len = 0, hdr = -1;
	long clen = -1;

	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path,
	    sni ? sni : addr);
	if (io_write(c, req, n) != n)
		return -1;
	for (;;) {
		char *e;

		if (len == (int)sizeof(buf) - 1)
			return -1;
		if ((n = io_read(c, buf + len, (int)sizeof(buf) - 1 - len)) <= 0)
			return -1;
		len += n;
		buf[len] = '\0';
		if (hdr < 0 && (e = strstr(buf, "\r\n\r\n")) != NULL) {
			char *cl = strcasestr(buf, "\r\ncontent-length:");

			hdr = (int)(e - buf) + 4;
			if (strncmp(buf, "HTTP/1.1 200", 12) && strncmp(buf, "HTTP/1.0 200", 12))
				return -1;
			clen = cl ? strtol(cl + 17, NULL, 10) : -1;
			*keep = strcasestr(buf, "\r\nconnection: close") == NULL;
		}
		if (hdr >= 0 && clen >= 0 && len >= hdr + clen)
			return 0;
	}
}

static void *
run(void *arg)
{
	struct worker *w = arg;
	struct conn c = { -1, NULL };
	double end = now() + seconds;

	while (now() < end) {
		double t0 = now();
		int keep = 0, reused = c.fd >= 0;

		if (c.fd < 0 && conn_open(&c) == -1) {
			w->errors++;
			usleep(10000);
			continue;
		}
		if (request(&c, &keep) == -1) {
			conn_close(&c);
			if (!reused || conn_open(&c) == -1 || request(&c, &keep) == -1) {
				w->errors++;
				conn_close(&c);
				continue;
			}
		}
		if (w->n == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 4096;
			w->lat = realloc(w->lat, w->cap * sizeof(double));
		}
		w->lat[w->n++] = (now() - t0) * 1000;
		if (!keep)
			conn_close(&c);
	}
	conn_close(&c);
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct worker *w;
	double *all;
	size_t total = 0, k = 0;
	long errors = 0;
	int conns, i;

	if (argc < 5) {
		fprintf(stderr, "usage: httpload ADDR PORT SECONDS CONNS [--tls SNI CAFILE] [--path P]\n");
		return 2;
	}
	addr = argv[1];
	port = atoi(argv[2]);
	seconds = atoi(argv[3]);
	conns = atoi(argv[4]);
	for (i = 5; i < argc; i++) {
		if (strcmp(argv[i], "--tls") == 0 && i + 2 < argc) {
			tls = 1;
			sni = argv[++i];
			cafile = argv[++i];
		} else if (strcmp(argv[i], "--path") == 0 && i + 1 < argc) {
			path = argv[++i];
		}
	}
	if (tls) {
		ctx = SSL_CTX_new(TLS_client_method());
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
			fprintf(stderr, "httpload: cannot load %s\n", cafile);
			return 1;
		}
	}
	w = calloc((size_t)conns, sizeof(*w));
	for (i = 0; i < conns; i++)
		pthread_create(&w[i].t, NULL, run, &w[i]);
	for (i = 0; i < conns; i++) {
		pthread_join(w[i].t, NULL);
		total += w[i].n;
		errors += w[i].errors;
	}
	all = malloc((total + 1) * sizeof(double));
	for (i = 0; i < conns; i++) {
		memcpy(all + k, w[i].lat, w[i].n * sizeof(double));
		k += w[i].n;
		free(w[i].lat);
	}
	qsort(all, total, sizeof(double), cmp);
	printf("rps %.0f p50 %.2f p99 %.2f errors %ld requests %zu\n",
	    (double)total / seconds, total ? all[total / 2] : 0.0,
	    total ? all[(size_t)(total * 0.99)] : 0.0, errors, total);
	free(all);
	free(w);
	return 0;
}
