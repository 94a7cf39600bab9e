/*
 * tests/unit/unit_net.h: network helpers the unit tests share (header-only:
 * each test_<module>.c is its own binary).
 */
#ifndef MCP_TESTS_UNIT_NET_H
#define MCP_TESTS_UNIT_NET_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* A port that is free on 127.0.0.1 right now (-1 on error). */
static inline int
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int fd, port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == -1) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

#endif
