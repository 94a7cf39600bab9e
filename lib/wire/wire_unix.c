/*
 * wire/wire_unix.c: the Unix-socket side of an MCP gRPC server.  gRPC's own
 * "unix:" listener would tell us nothing about who connected, so we listen
 * and accept ourselves (vmd's control.c does the same) and read each
 * connection's SO_PEERCRED before gRPC sees a byte of it:
 *
 *   - root (uid 0) and members of the socket group (primary gid, or a
 *     supplementary group of the uid's passwd entry: getgrouplist) are
 *     handed to the server proper with grpc_server_add_channel_from_fd;
 *   - anybody else is handed to the deny server (wire_server.c), which
 *     answers each call PERMISSION_DENIED naming the uid.
 *
 * The decision is made once per connection and is structural: a refused
 * connection never reaches the server that runs handlers.  gRPC names an fd
 * connection "fd:N" (grpc_call_get_peer); the peer table maps N to the
 * credentials recorded when N was accepted, for logs ("by uid 0 (local)")
 * and for the refusal message.  A number is reused once gRPC has closed
 * it; the table entry is then replaced, so a call still in flight from the
 * old connection could be logged with the new peer's uid (never admitted
 * by it: admission went by the server the connection was handed to).
 *
 * The socket file gets mode 0600, or 0660 and the socket group when one is
 * configured; its directory is created 0700 (0750, socket group) if
 * missing and must not be world-writable.
 */
#include "wire/wire_int.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <grpc/grpc_posix.h>

#include "util/buf.h"
#include "util/file.h"
#include "util/log.h"

#define WIRE_UNIX_MAX	8		/* sockets per server */
#define WIRE_UNIX_BACKLOG 64
#define WIRE_UNIX_NGROUPS 256		/* supplementary groups looked at */

/* One accepted connection, by the descriptor number gRPC names it with. */
struct wire_peer {
	int fd;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int allowed;
	char why[160];		/* refused: why */
};

struct wire_unix {
	char *paths[WIRE_UNIX_MAX];
	int fds[WIRE_UNIX_MAX];
	size_t n;
	int has_group;
	gid_t group;
	char group_name[64];
	int wake[2];		/* pipe: stop the acceptor */
	pthread_t thread;
	int started;
	grpc_server *srv, *deny;
	grpc_server_credentials *creds;
	pthread_mutex_t mu;	/* guards the peer table */
	struct wire_peer *peers;
	size_t npeers;
};

struct wire_unix *
wire_unix_new(void)
{
	struct wire_unix *u = xcalloc(1, sizeof(*u));

	u->wake[0] = u->wake[1] = -1;
	pthread_mutex_init(&u->mu, NULL);
	return u;
}

int
wire_unix_set_group(struct wire_unix *u, const char *group, struct mcp_err *err)
{
	struct group gr, *res = NULL;
	char buf[16384];
	int rc;

	u->has_group = 0;
	u->group_name[0] = '\0';
	if (group == NULL || group[0] == '\0')
		return 0;
	if (strlen(group) >= sizeof(u->group_name))
		return mcp_err_set(err, MCP_E_INVALID,
		    "socket group \"%s\": name too long", group);
	rc = getgrnam_r(group, &gr, buf, sizeof(buf), &res);
	if (rc != 0)
		return mcp_err_errno(err, rc, "socket group \"%s\": getgrnam_r",
		    group);
	if (res == NULL)
		return mcp_err_set(err, MCP_E_NOTFOUND,
		    "socket group \"%s\": no such group", group);
	u->has_group = 1;
	u->group = gr.gr_gid;
	mcp_strlcpy(u->group_name, group, sizeof(u->group_name));
	return 0;
}

/* The socket's directory: created if missing, never world-writable. */
static int
wire_unix_dir(struct wire_unix *u, const char *path, struct mcp_err *err)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	char *slash;

	mcp_strlcpy(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) == -1) {
		if (errno != ENOENT)
			return mcp_err_errno(err, errno, "listen unix:%s: %s", path, dir);
		if (file_mkdirs(dir, 0700, err) == -1)
			return mcp_err_prefix(err, "listen unix:%s", path);
		if (u->has_group && (chown(dir, (uid_t)-1, u->group) == -1 ||
		    chmod(dir, 0750) == -1))
			return mcp_err_errno(err, errno,
			    "listen unix:%s: give %s to group %s", path, dir,
			    u->group_name);
		if (stat(dir, &st) == -1)
			return mcp_err_errno(err, errno, "listen unix:%s: %s", path, dir);
	}
	if (!S_ISDIR(st.st_mode))
		return mcp_err_set(err, MCP_E_INVALID,
		    "listen unix:%s: %s is not a directory", path, dir);
	if (st.st_mode & S_IWOTH)
		return mcp_err_set(err, MCP_E_PRECONDITION,
		    "listen unix:%s: directory %s is world-writable", path, dir);
	if (u->has_group && !(st.st_mode & S_IXOTH) &&
	    !((st.st_mode & S_IXGRP) && st.st_gid == u->group))
		log_warnx("listen unix:%s: members of group %s cannot reach the "
		    "socket: directory %s is not searchable for them", path,
		    u->group_name, dir);
	return 0;
}

/* Remove a stale socket; refuse a live one or anything that is no socket. */
static int
wire_unix_clear(const char *path, struct mcp_err *err)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, rc, e;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 :
		    mcp_err_errno(err, errno, "listen unix:%s", path);
	if (!S_ISSOCK(st.st_mode))
		return mcp_err_set(err, MCP_E_EXISTS,
		    "listen unix:%s: exists and is not a socket", path);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	mcp_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return mcp_err_errno(err, errno, "listen unix:%s: socket", path);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	e = errno;
	close(fd);
	if (rc == 0)
		return mcp_err_set(err, MCP_E_EXISTS,
		    "listen unix:%s: another server is listening there", path);
	if (e != ECONNREFUSED)
		return mcp_err_errno(err, e, "listen unix:%s: probe", path);
	if (unlink(path) == -1 && errno != ENOENT)
		return mcp_err_errno(err, errno, "listen unix:%s: remove stale socket",
		    path);
	return 0;
}

int
wire_unix_listen(struct wire_unix *u, const char *path, struct mcp_err *err)
{
	struct sockaddr_un sa;
	mode_t mode = u->has_group ? 0660 : 0600;
	int fd = -1;

	if (path == NULL || path[0] != '/')
		return mcp_err_set(err, MCP_E_INVALID,
		    "listen unix:%s: not an absolute path", path ? path : "");
	if (strlen(path) >= sizeof(sa.sun_path))
		return mcp_err_set(err, MCP_E_INVALID, "listen unix:%s: path too long",
		    path);
	if (u->n == WIRE_UNIX_MAX)
		return mcp_err_set(err, MCP_E_RESOURCE,
		    "listen unix:%s: at most %d sockets", path, WIRE_UNIX_MAX);
	if (wire_unix_dir(u, path, err) == -1 || wire_unix_clear(path, err) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	mcp_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return mcp_err_errno(err, errno, "listen unix:%s: socket", path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		mcp_err_errno(err, errno, "listen unix:%s: bind", path);
		goto fail;
	}
	/* not listening yet: nobody can connect before the mode is right */
	if (chmod(path, mode) == -1) {
		mcp_err_errno(err, errno, "listen unix:%s: chmod %04o", path,
		    (unsigned)mode);
		goto fail_unlink;
	}
	if (u->has_group && chown(path, (uid_t)-1, u->group) == -1) {
		mcp_err_errno(err, errno, "listen unix:%s: chown to group %s",
		    path, u->group_name);
		goto fail_unlink;
	}
	if (listen(fd, WIRE_UNIX_BACKLOG) == -1) {
		mcp_err_errno(err, errno, "listen unix:%s: listen", path);
		goto fail_unlink;
	}
	u->fds[u->n] = fd;
	u->paths[u->n++] = xstrdup(path);
	return 0;
fail_unlink:
	unlink(path);
fail:
	close(fd);
	return -1;
}

/* The supplementary groups of uid's passwd entry; 0 when it has none. */
static size_t
wire_unix_groups(uid_t uid, gid_t *groups, size_t max)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	int n = (int)max;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return 0;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) == -1)
		n = (int)max;	/* more than max: the first max of them */
	return n < 0 ? 0 : (size_t)n;
}

/* Decide on a peer and remember it under its descriptor number. */
static void
wire_unix_record(struct wire_unix *u, int fd, const struct ucred *cr,
    struct wire_peer *out)
{
	gid_t groups[WIRE_UNIX_NGROUPS];
	size_t ng = 0, i;

	memset(out, 0, sizeof(*out));
	out->fd = fd;
	out->uid = cr->uid;
	out->gid = cr->gid;
	out->pid = cr->pid;
	if (cr->uid != 0 && u->has_group)
		ng = wire_unix_groups(cr->uid, groups, WIRE_UNIX_NGROUPS);
	out->allowed = wire_local_allowed(cr->uid, cr->gid, groups, ng,
	    u->has_group, u->group);
	if (!out->allowed && u->has_group)
		snprintf(out->why, sizeof(out->why),
		    "uid %ld is not root and not in group %s", (long)cr->uid,
		    u->group_name);
	else if (!out->allowed)
		snprintf(out->why, sizeof(out->why),
		    "uid %ld is not root (and no socket group is configured)",
		    (long)cr->uid);

	pthread_mutex_lock(&u->mu);
	for (i = 0; i < u->npeers; i++)
		if (u->peers[i].fd == fd)
			break;
	if (i == u->npeers) {
		u->peers = realloc(u->peers, (u->npeers + 1) * sizeof(*u->peers));
		if (u->peers == NULL)
			abort();
		u->npeers++;
	}
	u->peers[i] = *out;
	pthread_mutex_unlock(&u->mu);
}

static void
wire_unix_accept(struct wire_unix *u, int lfd)
{
	struct wire_peer p;
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			log_warn("%s: accept", __func__);
			nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
		}
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1) {
		log_warn("%s: SO_PEERCRED", __func__);
		close(fd);
		return;
	}
	wire_unix_record(u, fd, &cr, &p);
	if (!p.allowed)
		log_warnx("local connection refused: %s (pid %ld)", p.why,
		    (long)cr.pid);
	/* gRPC owns fd from here on */
	grpc_server_add_channel_from_fd(p.allowed ? u->srv : u->deny, fd,
	    u->creds);
}

static void *
wire_unix_main(void *arg)
{
	struct wire_unix *u = arg;
	struct pollfd pfd[WIRE_UNIX_MAX + 1];
	size_t i;

	for (i = 0; i < u->n; i++)
		pfd[i] = (struct pollfd){ .fd = u->fds[i], .events = POLLIN };
	pfd[u->n] = (struct pollfd){ .fd = u->wake[0], .events = POLLIN };
	for (;;) {
		if (poll(pfd, u->n + 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("%s: poll", __func__);
			break;
		}
		if (pfd[u->n].revents)
			break;
		for (i = 0; i < u->n; i++)
			if (pfd[i].revents & POLLIN)
				wire_unix_accept(u, u->fds[i]);
	}
	return NULL;
}

int
wire_unix_start(struct wire_unix *u, grpc_server *srv, grpc_server *deny,
    struct mcp_err *err)
{
	int rc;

	if (u->n == 0)
		return 0;
	if (pipe2(u->wake, O_CLOEXEC) == -1)
		return mcp_err_errno(err, errno, "unix listener: pipe");
	u->srv = srv;
	u->deny = deny;
	u->creds = grpc_insecure_server_credentials_create();
	if ((rc = pthread_create(&u->thread, NULL, wire_unix_main, u)) != 0)
		return mcp_err_errno(err, rc, "unix listener: start thread");
	u->started = 1;
	return 0;
}

void
wire_unix_stop(struct wire_unix *u)
{
	if (u->started) {
		if (write(u->wake[1], "x", 1) == -1)
			log_warn("%s: wake the acceptor", __func__);
		pthread_join(u->thread, NULL);
		u->started = 0;
	}
	for (size_t i = 0; i < u->n; i++)
		if (u->fds[i] != -1) {
			close(u->fds[i]);
			u->fds[i] = -1;
		}
	if (u->wake[0] != -1) {
		close(u->wake[0]);
		close(u->wake[1]);
		u->wake[0] = u->wake[1] = -1;
	}
	if (u->creds) {
		grpc_server_credentials_release(u->creds);
		u->creds = NULL;
	}
}

int
wire_unix_peer(struct wire_unix *u, const char *peer, struct wire_caller *c,
    char *why, size_t whysz)
{
	char *end;
	long fd;
	int rc = -1;

	if (strncmp(peer, "fd:", 3) != 0)
		return -1;
	errno = 0;
	fd = strtol(peer + 3, &end, 10);
	if (errno || end == peer + 3 || *end != '\0' || fd < 0)
		return -1;
	pthread_mutex_lock(&u->mu);
	for (size_t i = 0; i < u->npeers; i++) {
		if (u->peers[i].fd != fd)
			continue;
		c->uid = u->peers[i].uid;
		c->gid = u->peers[i].gid;
		c->pid = u->peers[i].pid;
		if (why)
			mcp_strlcpy(why, u->peers[i].why, whysz);
		rc = u->peers[i].allowed;
		break;
	}
	pthread_mutex_unlock(&u->mu);
	return rc;
}

void
wire_unix_free(struct wire_unix *u)
{
	struct stat st;

	if (u == NULL)
		return;
	wire_unix_stop(u);
	for (size_t i = 0; i < u->n; i++) {
		if (lstat(u->paths[i], &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(u->paths[i]);
		free(u->paths[i]);
	}
	free(u->peers);
	pthread_mutex_destroy(&u->mu);
	free(u);
}
