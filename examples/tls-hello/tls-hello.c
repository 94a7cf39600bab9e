/*
 * examples/tls-hello/tls-hello.c: a tiny static HTTPS server that
 * terminates TLS itself, for l4 (TLS passthrough) routes: the node proxy
 * only looks at the SNI and passes the bytes on, so the client sees this
 * server's own certificate.  One request per connection:
 *
 *   GET <anything>   200 "tls-hello from <HELLO_NAME> (sni <name>)"
 *
 * Certificate and key: PEM files named by $TLS_CERT and $TLS_KEY (the
 * certificate file may carry the chain).  Port: $PORT, else 8443.
 * SIGTERM ends it (it may run as PID 1).  Statically linked with OpenSSL
 * so the image holds this one file.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static void
on_term(int sig)
{
	(void)sig;
	_exit(0);
}

static void
serve(SSL_CTX *ctx, int fd, const char *name)
{
	char req[4096], body[512], resp[1024];
	const char *sni;
	SSL *ssl = SSL_new(ctx);
	struct timeval tv = { 5, 0 };
	int n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (ssl == NULL)
		return;
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) != 1)
		goto out;
	if ((n = SSL_read(ssl, req, sizeof(req) - 1)) <= 0)
		goto out;
	sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	snprintf(body, sizeof(body), "tls-hello from %s (sni %s)\n", name,
	    sni ? sni : "-");
	n = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Type: "
	    "text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    strlen(body), body);
	SSL_write(ssl, resp, n);
	SSL_shutdown(ssl);
out:
	SSL_free(ssl);
}

int
main(void)
{
	const char *cert = getenv("TLS_CERT"), *key = getenv("TLS_KEY");
	const char *name = getenv("HELLO_NAME"), *ps = getenv("PORT");
	struct sockaddr_in sin;
	SSL_CTX *ctx;
	int lfd, one = 1, port = ps ? atoi(ps) : 8443;

	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGPIPE, SIG_IGN);
	if (cert == NULL || key == NULL) {
		fprintf(stderr, "tls-hello: TLS_CERT and TLS_KEY must name PEM files\n");
		return 2;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "tls-hello: cannot load %s / %s\n", cert, key);
		ERR_print_errors_fp(stderr);
		return 1;
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 64) == -1) {
		perror("tls-hello: listen");
		return 1;
	}
	printf("tls-hello: listening on %d\n", port);
	fflush(stdout);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd == -1)
			continue;
		serve(ctx, fd, name ? name : "tls-hello");
		close(fd);
	}
}
