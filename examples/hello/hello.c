/*
 * examples/hello/hello.c: the example service MCP deploys in its tests and
 * demos.  A tiny static HTTP/1.1 server (one request per connection,
 * "Connection: close"), libc only, so the same binary can go into an OCI
 * image for podman and into an initramfs for a unikernel VM.
 *
 *   GET /                      200 "hello from <HELLO_NAME> version <HELLO_VERSION>"
 *   GET /health                200 "ok"
 *   GET /forwarded             200 "x-forwarded-for: <value>" (or "none"), what a
 *                              proxy in front added
 *   GET /connect?addr=IP:PORT  200 "connect IP:PORT ok" or "... failed: <why>"
 *                              (a TCP connect with a 2 s timeout, used by the
 *                              network isolation tests)
 *   GET /incr, GET /count      200 "count N": add one to / read the SQLite
 *                              counter in the data directory (counter.c)
 *   GET /arp?ip=A.B.C.D        sends, from eth0 with its own MAC, a gratuitous
 *                              ARP and a broadcast ARP reply claiming A.B.C.D;
 *                              200 "arp A.B.C.D: sent 2 frames" (the bridge's
 *                              anti-spoofing test: a VM announcing an address
 *                              that is not its own)
 *   GET /stream?s=N            200, a body of N lines "tick I" written one a
 *                              second (1 <= N <= 120, no Content-Length: the
 *                              close ends it), a long-lived response for the
 *                              proxy's reload tests
 *   anything else              404
 *
 * `hello snapshot` (what a [snapshot] method "exec:" or "cli" runs inside
 * the container) writes snapshot.dump into $HELLO_DATA (default
 * /srv/<HELLO_NAME>) by write-then-rename and exits: 0, or 1 naming why.
 *
 * With $PORT_GRPC (a route named "grpc"), it also serves the Snapshot RPC
 * of proto/snapshot.proto there (h2grpc.c): a consistent copy of the
 * counter for [snapshot] method = "grpc".
 *
 * Port: $PORT, else $PORT_HTTP, else 8080.  One log line per request and one
 * at start-up go to stdout unbuffered (write(2) of whole lines), so `podman
 * logs` and a VM console see them at once.  SIGTERM/SIGINT log a line and
 * exit 0 (the server also behaves as PID 1, where default dispositions would
 * ignore them).  Each connection gets a thread with read/write timeouts, so
 * slow or broken clients cannot stall the others.
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/if_ether.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "hello.h"

#define REQ_MAX		8192	/* request line + headers */
#define IO_TIMEOUT_S	5	/* per read/write */
#define REQ_DEADLINE_S	10	/* whole request head */
#define CONNECT_MS	2000
#define MAX_CLIENTS	128

static const char *hello_name = "hello";
static const char *hello_version = "dev";
static atomic_int nclients;

struct client {
	int fd;
	char peer[64];
};

/* One whole line to stdout with a single write(2), so threads never interleave. */
void
logf_line(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	while (write(STDOUT_FILENO, line, (size_t)n) == -1 && errno == EINTR)
		;
}

const char *
hello_data_dir(void)
{
	static char dir[300];
	const char *d = getenv("HELLO_DATA");

	if (d && *d)
		return d;
	snprintf(dir, sizeof(dir), "/srv/%s", hello_name);
	return dir;
}

int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
respond(int fd, int code, const char *body)
{
	const char *reason = code == 200 ? "OK" : code == 400 ? "Bad Request" :
	    code == 404 ? "Not Found" : "Error";
	char head[256];
	int n;

	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	    code, reason, strlen(body));
	if (write_all(fd, head, (size_t)n) == 0)
		write_all(fd, body, strlen(body));
}

/* /stream?s=N: one line a second for N seconds; the close ends the body. */
static int
stream_ticks(int fd, const char *query)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\nConnection: close\r\n\r\n";
	const char *v = query && strncmp(query, "s=", 2) == 0 ? query + 2 : "";
	char line[32];
	int n = atoi(v), i;

	if (n < 1 || n > 120)
		return 404;
	if (write_all(fd, head, sizeof(head) - 1) != 0)
		return 200;
	for (i = 1; i <= n; i++) {
		int l = snprintf(line, sizeof(line), "tick %d\n", i);

		if (write_all(fd, line, (size_t)l) != 0)
			break;
		if (i < n)
			sleep(1);
	}
	return 200;
}

/* Copy s into dst for logging: printable ASCII only, truncated. */
static void
sanitize(char *dst, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < size; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	dst[i] = '\0';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode src (up to '&' or end) into dst; -1 if it does not fit. */
static int
query_decode(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	while (*src && *src != '&') {
		int c = (unsigned char)*src++;

		if (c == '%' && hexval(src[0]) >= 0 && hexval(src[1]) >= 0) {
			c = hexval(src[0]) * 16 + hexval(src[1]);
			src += 2;
		} else if (c == '+')
			c = ' ';
		if (n + 1 >= size)
			return -1;
		dst[n++] = (char)c;
	}
	dst[n] = '\0';
	return 0;
}

/* Parse "a.b.c.d:port" or "[v6]:port". */
static int
parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *hs, *he;
	char *end;
	long port;

	if (s[0] == '[') {
		hs = s + 1;
		he = strchr(hs, ']');
		if (he == NULL || he[1] != ':')
			return -1;
		colon = he + 1;
	} else {
		hs = s;
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -1;
		he = colon;
	}
	if ((size_t)(he - hs) >= sizeof(host) || he == hs)
		return -1;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (s[0] != '[') {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
	}
	return 0;
}

/* TCP connect with a timeout; 0 or an errno value. */
static int
try_connect(const struct sockaddr_storage *ss, socklen_t len)
{
	struct pollfd pfd;
	int fd, rc, soerr = 0;
	socklen_t sl = sizeof(soerr);

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return errno;
	if (connect(fd, (const struct sockaddr *)ss, len) == 0) {
		close(fd);
		return 0;
	}
	if (errno != EINPROGRESS) {
		rc = errno;
		close(fd);
		return rc;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do
		rc = poll(&pfd, 1, CONNECT_MS);
	while (rc == -1 && errno == EINTR);
	if (rc == 0) {
		close(fd);
		return ETIMEDOUT;
	}
	if (rc == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
		soerr = errno;
	close(fd);
	return soerr;
}

static int
handle_connect(const char *query, char *body, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char addr[128], shown[128];
	const char *p;
	int e;

	p = query ? strstr(query, "addr=") : NULL;
	while (p && p != query && p[-1] != '&')
		p = strstr(p + 1, "addr=");
	if (p == NULL || query_decode(addr, sizeof(addr), p + 5) == -1) {
		snprintf(body, size, "connect: missing or too long addr=IP:PORT\n");
		return 400;
	}
	sanitize(shown, sizeof(shown), addr);
	if (parse_addr(addr, &ss, &len) == -1) {
		snprintf(body, size, "connect %s failed: invalid address (want IP:PORT)\n", shown);
		return 400;
	}
	e = try_connect(&ss, len);
	if (e == 0)
		snprintf(body, size, "connect %s ok\n", shown);
	else
		snprintf(body, size, "connect %s failed: %s\n", shown, strerror(e));
	return 200;
}

/* One ARP frame (op, sender ip, target ip) broadcast from ifname; 0 or errno. */
static int
send_arp(int fd, int ifindex, const unsigned char *mac, int op, struct in_addr sip,
    struct in_addr tip)
{
	unsigned char frame[ETH_HLEN + sizeof(struct ether_arp)];
	struct ether_header *eh = (struct ether_header *)frame;
	struct ether_arp *ea = (struct ether_arp *)(frame + ETH_HLEN);
	struct sockaddr_ll sll;

	memset(frame, 0, sizeof(frame));
	memset(eh->ether_dhost, 0xff, ETH_ALEN);
	memcpy(eh->ether_shost, mac, ETH_ALEN);
	eh->ether_type = htons(ETHERTYPE_ARP);
	ea->arp_hrd = htons(ARPHRD_ETHER);
	ea->arp_pro = htons(ETHERTYPE_IP);
	ea->arp_hln = ETH_ALEN;
	ea->arp_pln = 4;
	ea->arp_op = htons(op);
	memcpy(ea->arp_sha, mac, ETH_ALEN);
	memcpy(ea->arp_spa, &sip, 4);
	memcpy(ea->arp_tpa, &tip, 4);
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = ifindex;
	sll.sll_halen = ETH_ALEN;
	memset(sll.sll_addr, 0xff, ETH_ALEN);
	if (sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&sll, sizeof(sll)) == -1)
		return errno;
	return 0;
}

static int
handle_arp(const char *query, char *body, size_t size)
{
	char ip[32], shown[32];
	struct in_addr a;
	struct ifreq ifr;
	unsigned char mac[ETH_ALEN];
	const char *p = query ? strstr(query, "ip=") : NULL;
	int fd, e = 0, ifindex;

	while (p && p != query && p[-1] != '&')
		p = strstr(p + 1, "ip=");
	if (p == NULL || query_decode(ip, sizeof(ip), p + 3) == -1 ||
	    inet_pton(AF_INET, ip, &a) != 1) {
		snprintf(body, size, "arp: missing or invalid ip=A.B.C.D\n");
		return 400;
	}
	sanitize(shown, sizeof(shown), ip);
	if ((fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP))) == -1) {
		snprintf(body, size, "arp %s failed: socket: %s\n", shown, strerror(errno));
		return 200;
	}
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "eth0");
	if (ioctl(fd, SIOCGIFINDEX, &ifr) == -1)
		e = errno;
	ifindex = ifr.ifr_ifindex;
	if (e == 0 && ioctl(fd, SIOCGIFHWADDR, &ifr) == -1)
		e = errno;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	/* gratuitous: "who has A? tell A"; then a reply "A is at <our MAC>" */
	if (e == 0)
		e = send_arp(fd, ifindex, mac, ARPOP_REQUEST, a, a);
	if (e == 0)
		e = send_arp(fd, ifindex, mac, ARPOP_REPLY, a, a);
	close(fd);
	if (e)
		snprintf(body, size, "arp %s failed: %s\n", shown, strerror(e));
	else
		snprintf(body, size, "arp %s: sent 2 frames\n", shown);
	return 200;
}

/*
 * Read the request head (up to the blank line) within the deadline.
 * 0 ok, -1 client gone or too slow, -2 head larger than the buffer.
 */
static int
read_head(int fd, char *req, size_t size)
{
	size_t n = 0;
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (n + 1 < size) {
		ssize_t r = read(fd, req + n, size - 1 - n);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		n += (size_t)r;
		req[n] = '\0';
		if (memmem(req, n, "\r\n\r\n", 4) || memmem(req, n, "\n\n", 2))
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= REQ_DEADLINE_S)
			return -1;
	}
	/* NUL bytes would hide the rest of the line from the parser */
	for (size_t i = 0; i < n; i++)
		if (req[i] == '\0')
			req[i] = '?';
	if (n + 1 >= size && memchr(req, '\n', n) == NULL)
		return -2;	/* request line alone does not fit */
	return 0;
}

static void
serve(struct client *c)
{
	char req[REQ_MAX], body[512], shown[160], xff[160] = "none";
	char *method, *target, *version, *query, *save = NULL, *eol;
	int code;

	switch (read_head(c->fd, req, sizeof(req))) {
	case -1:
		logf_line("hello: %s: incomplete request, closing", c->peer);
		return;
	case -2:
		respond(c->fd, 400, "request too large\n");
		logf_line("hello: %s: request line too long -> 400", c->peer);
		return;
	}
	{
		/* the X-Forwarded-For header, if any, before the line is cut */
		char *h = strcasestr(req, "\nX-Forwarded-For:");

		if (h) {
			h += strlen("\nX-Forwarded-For:");
			while (*h == ' ')
				h++;
			eol = strpbrk(h, "\r\n");
			if (eol)
				*eol = '\0';
			sanitize(xff, sizeof(xff), h);
		}
	}
	eol = strpbrk(req, "\r\n");
	if (eol)
		*eol = '\0';
	method = strtok_r(req, " ", &save);
	target = method ? strtok_r(NULL, " ", &save) : NULL;
	version = target ? strtok_r(NULL, " ", &save) : NULL;
	if (method == NULL || target == NULL || version == NULL ||
	    strncmp(version, "HTTP/", 5) != 0) {
		respond(c->fd, 400, "bad request\n");
		logf_line("hello: %s: malformed request line -> 400", c->peer);
		return;
	}
	sanitize(shown, sizeof(shown), target);
	query = strchr(target, '?');
	if (query)
		*query++ = '\0';
	if (strcmp(method, "GET") != 0) {
		code = 404;
		snprintf(body, sizeof(body), "not found\n");
	} else if (strcmp(target, "/") == 0) {
		code = 200;
		snprintf(body, sizeof(body), "hello from %s version %s\n",
		    hello_name, hello_version);
	} else if (strcmp(target, "/health") == 0) {
		code = 200;
		snprintf(body, sizeof(body), "ok\n");
	} else if (strcmp(target, "/forwarded") == 0) {
		code = 200;
		snprintf(body, sizeof(body), "x-forwarded-for: %s\n", xff);
	} else if (strcmp(target, "/connect") == 0) {
		code = handle_connect(query, body, sizeof(body));
	} else if (strcmp(target, "/incr") == 0 || strcmp(target, "/count") == 0) {
		char why[300];
		int64_t n;

		if ((target[1] == 'i' ? counter_add(&n, why, sizeof(why)) :
		    counter_get(&n, why, sizeof(why))) == -1) {
			code = 500;
			snprintf(body, sizeof(body), "counter: %s\n", why);
		} else {
			code = 200;
			snprintf(body, sizeof(body), "count %lld\n", (long long)n);
		}
	} else if (strcmp(target, "/arp") == 0) {
		code = handle_arp(query, body, sizeof(body));
	} else if (strcmp(target, "/stream") == 0 &&
	    (code = stream_ticks(c->fd, query)) == 200) {
		char m[16];

		sanitize(m, sizeof(m), method);
		logf_line("hello: %s %s %d from %s", m, shown, code, c->peer);
		return;
	} else {
		code = 404;
		snprintf(body, sizeof(body), "not found\n");
	}
	respond(c->fd, code, body);
	{
		char m[16];

		sanitize(m, sizeof(m), method);
		logf_line("hello: %s %s %d from %s", m, shown, code, c->peer);
	}
}

static void *
client_main(void *arg)
{
	struct client *c = arg;
	char drain[512];
	struct timeval tv = { .tv_sec = 1 };

	serve(c);
	/* Let the client read the answer before the close: half-close, then
	 * drain briefly so unread input does not turn the close into a RST. */
	shutdown(c->fd, SHUT_WR);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (read(c->fd, drain, sizeof(drain)) > 0)
		;
	close(c->fd);
	free(c);
	atomic_fetch_sub(&nclients, 1);
	return NULL;
}

static void
accept_one(int lfd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	struct client *c;
	pthread_attr_t attr;
	pthread_t th;
	int fd;

	fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
	if (fd == -1)
		return;
	if (atomic_fetch_add(&nclients, 1) >= MAX_CLIENTS) {
		atomic_fetch_sub(&nclients, 1);
		close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		atomic_fetch_sub(&nclients, 1);
		return;
	}
	c->fd = fd;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, ntohs(sin->sin_port));
	} else
		snprintf(c->peer, sizeof(c->peer), "?");
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (pthread_create(&th, &attr, client_main, c) != 0) {
		close(fd);
		free(c);
		atomic_fetch_sub(&nclients, 1);
	}
	pthread_attr_destroy(&attr);
}

static int
listen_port(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	sin.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 128) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void
on_signal(int sig)
{
	(void)sig;	/* never runs: the signals are blocked and read via signalfd */
}

/* `hello snapshot`: a consistent dump file for the snapshot tests. */
static int
snapshot_dump(void)
{
	const char *name = getenv("HELLO_NAME"), *dir;
	char tmp[600], path[600], text[256];
	time_t now = time(NULL);
	int fd, n;

	if (name && *name)
		hello_name = name;
	dir = hello_data_dir();
	snprintf(tmp, sizeof(tmp), "%s/.snapshot.dump.tmp", dir);
	snprintf(path, sizeof(path), "%s/snapshot.dump", dir);
	n = snprintf(text, sizeof(text), "snapshot of %s at %lld\n",
	    name && *name ? name : "hello", (long long)now);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1 || write(fd, text, (size_t)n) != n || fsync(fd) == -1 ||
	    close(fd) == -1 || rename(tmp, path) == -1) {
		logf_line("hello snapshot: %s: %s", path, strerror(errno));
		return 1;
	}
	logf_line("hello snapshot: wrote %s", path);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *s;
	struct sigaction sa;
	sigset_t set;
	char *end;
	long port = 8080;
	int lfd, sfd;

	if (argc > 1 && strcmp(argv[1], "snapshot") == 0)
		return snapshot_dump();
	if ((s = getenv("HELLO_NAME")) && *s)
		hello_name = s;
	if ((s = getenv("HELLO_VERSION")) && *s)
		hello_version = s;
	s = getenv("PORT");
	if (s == NULL || *s == '\0')
		s = getenv("PORT_HTTP");
	if (s && *s) {
		errno = 0;
		port = strtol(s, &end, 10);
		if (errno || *end || port < 1 || port > 65535) {
			logf_line("hello: invalid port \"%s\"", s);
			return 2;
		}
	}

	/* A handler as well as the block: PID 1 drops signals left at SIG_DFL. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);	/* inherited by client threads */
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd == -1) {
		logf_line("hello: signalfd: %s", strerror(errno));
		return 1;
	}

	lfd = listen_port((int)port);
	if (lfd == -1) {
		logf_line("hello: listen on port %ld: %s", port, strerror(errno));
		return 1;
	}
	logf_line("hello: %s version %s listening on :%ld", hello_name,
	    hello_version, port);
	if ((s = getenv("PORT_GRPC")) && *s) {
		long gport = strtol(s, &end, 10);

		if (*end || gport < 1 || gport > 65535 || h2grpc_start((int)gport) == -1) {
			logf_line("hello: grpc on port \"%s\": %s", s,
			    *end || gport < 1 || gport > 65535 ? "invalid port" :
			    strerror(errno));
			return 1;
		}
		logf_line("hello: Snapshot RPC on :%ld", gport);
	}

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = lfd, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};

		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			logf_line("hello: poll: %s", strerror(errno));
			return 1;
		}
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				logf_line("hello: received %s, exiting",
				    si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
				return 0;
			}
		}
		if (pfd[0].revents & POLLIN)
			accept_one(lfd);
	}
}
