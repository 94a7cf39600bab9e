/*
 * test_proc.c: who holds a host port (util/proc.c): the listening socket
 * found in /proc/net/tcp{,6} text, only on an address that covers
 * 127.0.0.1; and against this process's own real listener, the bind test
 * and the owner named ("pid N (comm)").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/proc.h"

static const char tcp4[] =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    /* 127.0.0.1:8080 established (not a listener) */
    "   0: 0100007F:1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000  1000        0 111 1 0000000000000000 20 4 30 10 -1\n"
    /* 10.0.0.1:8080 listening: does not cover 127.0.0.1 */
    "   1: 0100000A:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 100 0 0 10 0\n"
    /* 127.0.0.1:8080 listening */
    "   2: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 333 1 0000000000000000 100 0 0 10 0\n"
    /* 0.0.0.0:9000 listening */
    "   3: 00000000:2328 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 444 1 0000000000000000 100 0 0 10 0\n";

static const char tcp6[] =
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    /* [::1]:7000: not 127.0.0.1 */
    "   0: 00000000000000000000000001000000:1B58 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 555 1 0000000000000000 100 0 0 10 0\n"
    /* [::]:7001 */
    "   1: 00000000000000000000000000000000:1B59 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 666 1 0000000000000000 100 0 0 10 0\n"
    /* [::ffff:127.0.0.1]:7002 */
    "   2: 0000000000000000FFFF00000100007F:1B5A 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0";

static void
test_tcp_listener(void **state)
{
	(void)state;
	assert_int_equal(proc_tcp_listener(tcp4, 8080), 333);
	assert_int_equal(proc_tcp_listener(tcp4, 9000), 444);
	assert_int_equal(proc_tcp_listener(tcp4, 8081), 0);
	assert_int_equal(proc_tcp_listener(tcp6, 7000), 0);
	assert_int_equal(proc_tcp_listener(tcp6, 7001), 666);
	assert_int_equal(proc_tcp_listener(tcp6, 7002), 777);	/* no final newline */
	assert_int_equal(proc_tcp_listener("", 80), 0);
	assert_int_equal(proc_tcp_listener("garbage\n\n  0: zz\n", 80), 0);
}

/* A real listener of ours on 127.0.0.1: in use, owned by this pid. */
static void
test_own_listener(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	char owner[128], want[64];
	int fd, port;

	(void)state;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	port = ntohs(sin.sin_port);
	assert_int_equal(proc_loopback_port_free(port, owner, sizeof(owner)), 0);
	snprintf(want, sizeof(want), "pid %d (test_proc)", (int)getpid());
	assert_string_equal(owner, want);
	assert_int_equal(proc_loopback_port_free(port, NULL, 0), 0);
	close(fd);
	/* let go: free again (SO_REUSEADDR: no TIME_WAIT involved anyway) */
	assert_int_equal(proc_loopback_port_free(port, owner, sizeof(owner)), 1);
	assert_string_equal(owner, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_listener),
		cmocka_unit_test(test_own_listener),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
