/*
 * agent/answer.c: does a route's backend answer yet?  Used after a deploy
 * that reports its steps (DeployStream) to say when the service is really
 * up.  Accepting a TCP connection is not an answer: QEMU's user-mode
 * network accepts on the host port while the guest still boots, and keeps
 * the connection open until the guest's TCP gives up.  So the probe asks:
 *   1. an HTTP/1.0 HEAD request: any byte back is an answer (HTTP servers,
 *      and TLS servers that reply to plain text, like Go's);
 *   2. else a TLS ClientHello (OpenSSL, nothing verified): any record back
 *      (a ServerHello, or an alert) is an answer.
 * A server that says nothing to either stays "no answer" until the wait
 * ends; that is reported, never an error.
 */
#include "agent/agent.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int
backend_connect(const char *backend, int timeout_ms)
{
	char host[64];
	const char *colon = strrchr(backend, ':');
	struct sockaddr_in sin;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	int fd;

	if (colon == NULL || (size_t)(colon - backend) >= sizeof(host))
		return -1;
	memcpy(host, backend, (size_t)(colon - backend));
	host[colon - backend] = '\0';
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/* bounds connect (SO_SNDTIMEO), reads and writes */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
http_answers(const char *backend, int timeout_ms)
{
	static const char req[] = "HEAD / HTTP/1.0\r\n\r\n";
	struct pollfd pfd;
	char c;
	int fd, ok = 0;

	if ((fd = backend_connect(backend, timeout_ms)) == -1)
		return 0;
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof(req) - 1)) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		ok = poll(&pfd, 1, timeout_ms) == 1 && recv(fd, &c, 1, 0) == 1;
	}
	close(fd);
	return ok;
}

static int
tls_answers(const char *backend, int timeout_ms)
{
	SSL_CTX *ctx;
	SSL *ssl = NULL;
	int fd, ok = 0;

	if ((fd = backend_connect(backend, timeout_ms)) == -1)
		return 0;
	if ((ctx = SSL_CTX_new(TLS_client_method())) != NULL &&
	    (ssl = SSL_new(ctx)) != NULL && SSL_set_fd(ssl, fd) == 1) {
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
		/* whatever the handshake's outcome: did the server send a record? */
		(void)SSL_connect(ssl);
		ok = BIO_number_read(SSL_get_rbio(ssl)) > 0;
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return ok;
}

int
agent_backend_answers(const char *backend, int timeout_ms)
{
	return http_answers(backend, timeout_ms) || tls_answers(backend, timeout_ms);
}
