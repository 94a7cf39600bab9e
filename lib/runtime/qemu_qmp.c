/*
 * runtime/qemu_qmp.c: a minimal QMP client: greeting, qmp_capabilities,
 * argument-less commands (system_powerdown, quit) and waiting for the
 * SHUTDOWN event.  QMP sends one JSON object per line; events can arrive
 * between a command and its reply, so every read goes through one place
 * that records SHUTDOWN.
 */
#include "runtime/qemu.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"

/*
 * Next message: 1 with *out (caller json_decref), 0 on EOF, -1 on timeout
 * or error.  Events are recorded (SHUTDOWN) and returned like any message.
 */
static int
qmp_read(struct qmp *q, long long deadline, json_t **out)
{
	for (;;) {
		char *nl = q->in.data ? memchr(q->in.data, '\n', q->in.len) : NULL;
		char chunk[4096];
		struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
		long long left;
		ssize_t n;

		if (nl) {
			size_t linelen = (size_t)(nl - q->in.data) + 1;
			json_t *j = json_loadb(q->in.data, linelen, 0, NULL);
			const char *ev;

			memmove(q->in.data, q->in.data + linelen, q->in.len - linelen);
			q->in.len -= linelen;
			q->in.data[q->in.len] = '\0';
			if (j == NULL)
				continue;	/* not JSON: skip the line */
			ev = json_string_value(json_object_get(j, "event"));
			if (ev && strcmp(ev, "SHUTDOWN") == 0)
				q->shutdown = 1;
			*out = j;
			return 1;
		}
		left = deadline - mcp_now_ms();
		if (left <= 0)
			return -1;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = read(q->fd, chunk, sizeof(chunk));
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno == ECONNRESET ? 0 : -1;
		}
		buf_append(&q->in, chunk, (size_t)n);
	}
}

int
qmp_open_fd(struct qmp *q, int fd, int timeout_ms, struct mcp_err *err)
{
	long long deadline = mcp_now_ms() + timeout_ms;
	json_t *j = NULL;
	int rc;

	memset(q, 0, sizeof(*q));
	q->fd = fd;
	rc = qmp_read(q, deadline, &j);
	if (rc != 1 || json_object_get(j, "QMP") == NULL) {
		json_decref(j);
		mcp_err_set(err, MCP_E_UNAVAILABLE, "qmp: no greeting (%s)",
		    rc == 0 ? "connection closed" : rc < 0 ? "timeout" : "unexpected message");
		qmp_close(q);
		return -1;
	}
	json_decref(j);
	if (qmp_execute(q, "qmp_capabilities", (int)(deadline - mcp_now_ms()), err) == -1) {
		qmp_close(q);
		return -1;
	}
	return 0;
}

int
qmp_connect(struct qmp *q, const char *path, int timeout_ms, struct mcp_err *err)
{
	struct sockaddr_un sun;
	int fd;

	memset(q, 0, sizeof(*q));
	q->fd = -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return mcp_err_set(err, MCP_E_INVALID, "qmp %s: path too long", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return mcp_err_errno(err, errno, "qmp %s: socket", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		mcp_err_errno(err, errno, "qmp %s: connect", path);
		err->code = MCP_E_UNAVAILABLE;
		close(fd);
		return -1;
	}
	if (qmp_open_fd(q, fd, timeout_ms, err) == -1)
		return mcp_err_prefix(err, "%s", path);
	return 0;
}

int
qmp_execute(struct qmp *q, const char *command, int timeout_ms, struct mcp_err *err)
{
	long long deadline = mcp_now_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "{\"execute\":\"%s\"}\r\n", command);

	if (send(q->fd, msg, (size_t)n, MSG_NOSIGNAL) != n)
		return mcp_err_errno(err, errno, "qmp %s: send", command);
	for (;;) {
		json_t *j = NULL, *e;
		int rc = qmp_read(q, deadline, &j);

		if (rc != 1)
			return mcp_err_set(err, rc == 0 ? MCP_E_UNAVAILABLE : MCP_E_TIMEOUT,
			    "qmp %s: %s", command, rc == 0 ? "connection closed" : "no reply");
		if (json_object_get(j, "return")) {
			json_decref(j);
			return 0;
		}
		if ((e = json_object_get(j, "error")) != NULL) {
			const char *desc = json_string_value(json_object_get(e, "desc"));

			mcp_err_set(err, MCP_E_UNAVAILABLE, "qmp %s: %s", command,
			    desc ? desc : "error");
			json_decref(j);
			return -1;
		}
		json_decref(j);	/* an event: keep waiting for the reply */
	}
}

int
qmp_wait_shutdown(struct qmp *q, int timeout_ms)
{
	long long deadline = mcp_now_ms() + timeout_ms;

	while (!q->shutdown) {
		json_t *j = NULL;
		int rc = qmp_read(q, deadline, &j);

		json_decref(j);
		if (rc == 0)
			return 1;
		if (rc < 0)
			return -1;
	}
	return 0;
}

void
qmp_close(struct qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	buf_free(&q->in);
}
