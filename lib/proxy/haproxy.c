/*
 * proxy/haproxy.c: start, check, reload and query one HAProxy (see
 * haproxy.h).  Commands go to HAProxy's own sockets; the only child
 * processes are `haproxy -c` and the daemonising start.
 */
#include "proxy/haproxy.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/file.h"
#include "util/log.h"
#include "util/proc.h"
#include "util/sdscope.h"
#include "util/spawn.h"

#define PATHSZ 4200

static void
path_of(const struct proxy_driver *d, const char *name, char *out, size_t sz)
{
	snprintf(out, sz, "%s/%s", d->dir, name);
}

int
proxy_driver_init(struct proxy_driver *d, const char *haproxy, const char *dir,
    int timeout_ms, struct mcp_err *err)
{
	struct sockaddr_un sun;
	char certs[PATHSZ];

	memset(d, 0, sizeof(*d));
	if (dir == NULL || dir[0] != '/')
		return mcp_err_set(err, MCP_E_INVALID, "proxy: directory \"%s\" is not "
		    "absolute", dir ? dir : "");
	/* admin.sock is the longest socket name */
	if (strlen(dir) + sizeof("/admin.sock") > sizeof(sun.sun_path))
		return mcp_err_set(err, MCP_E_INVALID, "proxy: directory %s is too long "
		    "for its sockets (at most %zu bytes)", dir,
		    sizeof(sun.sun_path) - sizeof("/admin.sock"));
	snprintf(certs, sizeof(certs), "%s/certs", dir);
	if (file_mkdirs(certs, 0700, err) == -1)
		return mcp_err_prefix(err, "proxy");
	d->haproxy = xstrdup(haproxy && haproxy[0] ? haproxy : "haproxy");
	d->dir = xstrdup(dir);
	d->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
	return 0;
}

void
proxy_driver_free(struct proxy_driver *d)
{
	free(d->haproxy);
	free(d->dir);
	free(d->scope_unit);
	memset(d, 0, sizeof(*d));
}

int
proxy_driver_set_scope(struct proxy_driver *d, const char *node, struct mcp_err *err)
{
	char unit[SDSCOPE_UNIT_MAX];

	free(d->scope_unit);
	d->scope_unit = NULL;
	if (node == NULL)
		return 0;
	if (sdscope_unit_name("mcp-proxy", node, unit, sizeof(unit), err) == -1)
		return mcp_err_prefix(err, "proxy");
	d->scope_unit = xstrdup(unit);
	return 0;
}

pid_t
proxy_driver_pid(const struct proxy_driver *d)
{
	char pidfile[PATHSZ], cfg[PATHSZ];

	path_of(d, "haproxy.pid", pidfile, sizeof(pidfile));
	path_of(d, "haproxy.cfg", cfg, sizeof(cfg));
	return proc_pidfile_read(pidfile, cfg);
}

/* Send one command line, half-close (the master CLI answers only then),
 * read the answer until EOF or the deadline. */
static int
sock_command(const struct proxy_driver *d, const char *sock, const char *cmd,
    struct buf *out, struct mcp_err *err)
{
	struct sockaddr_un sun;
	long long deadline = mcp_now_ms() + d->timeout_ms;
	size_t len = strlen(cmd), off = 0;
	int fd, rc = -1;

	buf_reset(out);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	path_of(d, sock, sun.sun_path, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return mcp_err_errno(err, errno, "proxy: socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		mcp_err_errno(err, errno, "proxy: connect %s", sun.sun_path);
		err->code = MCP_E_UNAVAILABLE;
		goto out;
	}
	while (off < len) {
		ssize_t n = send(fd, cmd + off, len - off, MSG_NOSIGNAL);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			mcp_err_errno(err, errno, "proxy: %s: send", sun.sun_path);
			goto out;
		}
		off += (size_t)n;
	}
	if (send(fd, "\n", 1, MSG_NOSIGNAL) != 1 || shutdown(fd, SHUT_WR) == -1) {
		mcp_err_errno(err, errno, "proxy: %s: send", sun.sun_path);
		goto out;
	}
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - mcp_now_ms();
		char chunk[8192];
		ssize_t n;

		if (left <= 0) {
			mcp_err_set(err, MCP_E_TIMEOUT, "proxy: %s: no answer to \"%s\" "
			    "within %d ms", sun.sun_path, cmd, d->timeout_ms);
			goto out;
		}
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR) {
			mcp_err_errno(err, errno, "proxy: %s: poll", sun.sun_path);
			goto out;
		}
		if ((n = read(fd, chunk, sizeof(chunk))) == 0)
			break;
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1) {
			mcp_err_errno(err, errno, "proxy: %s: read", sun.sun_path);
			goto out;
		}
		buf_append(out, chunk, (size_t)n);
	}
	if (out->data == NULL)
		buf_puts(out, "");
	rc = 0;
out:
	close(fd);
	return rc;
}

int
proxy_driver_admin(struct proxy_driver *d, const char *cmd, struct buf *out,
    struct mcp_err *err)
{
	return sock_command(d, "admin.sock", cmd, out, err);
}

int
proxy_driver_master(struct proxy_driver *d, const char *cmd, struct buf *out,
    struct mcp_err *err)
{
	return sock_command(d, "master.sock", cmd, out, err);
}

int
proxy_parse_reloads(const char *text, int *reloads, int *failed)
{
	const char *line;

	for (line = text; line && *line; line = strchr(line, '\n') ?
	    strchr(line, '\n') + 1 : NULL) {
		int pid, r, f;

		if (sscanf(line, "%d master %d [failed: %d]", &pid, &r, &f) == 3) {
			*reloads = r;
			*failed = f;
			return 0;
		}
	}
	return -1;
}

/* HAProxy's ALERT lines, for an error message. */
static void
alerts(const struct spawn_result *res, char *out, size_t sz)
{
	const char *text = res->errout.len ? res->errout.data : res->out.data;
	const char *p;
	size_t n = 0;

	out[0] = '\0';
	for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *end = strchr(p, '\n');
		size_t l = end ? (size_t)(end - p) : strlen(p);

		if (l == 0 || memmem(p, l, "ALERT", 5) == NULL)
			continue;
		if (n + l + 3 >= sz)
			break;
		if (n)
			n += (size_t)snprintf(out + n, sz - n, "; ");
		memcpy(out + n, p, l);
		n += l;
		out[n] = '\0';
	}
	if (n == 0)
		snprintf(out, sz, "%s", spawn_errline((struct spawn_result *)res));
}

static int
run_haproxy(struct proxy_driver *d, const char *const *argv, const char *what,
    struct mcp_err *err)
{
	struct spawn_opts so = { .timeout_ms = d->timeout_ms, .stdout_fd = -1 };
	struct spawn_result res;
	char why[900];

	if (spawn_run(argv, &so, &res, err) == -1) {
		spawn_result_free(&res);
		return mcp_err_prefix(err, "proxy: %s", what);
	}
	if (res.status != 0) {
		alerts(&res, why, sizeof(why));
		mcp_err_set(err, MCP_E_INVALID, "proxy: %s: %s exited %d: %s", what,
		    d->haproxy, res.status, why);
		spawn_result_free(&res);
		return -1;
	}
	spawn_result_free(&res);
	return 0;
}

static int
check_config(struct proxy_driver *d, struct mcp_err *err)
{
	char cfg[PATHSZ];
	const char *argv[] = { d->haproxy, "-c", "-q", "-f", cfg, NULL };

	path_of(d, "haproxy.cfg", cfg, sizeof(cfg));
	return run_haproxy(d, argv, "check haproxy.cfg", err);
}

static int
start(struct proxy_driver *d, struct mcp_err *err)
{
	char cfg[PATHSZ], pidfile[PATHSZ], msock[PATHSZ];
	const char *argv[] = { d->haproxy, "-W", "-D", "-S", msock, "-p", pidfile,
	    "-f", cfg, NULL };
	struct buf b = BUF_INIT;
	long long deadline;
	int r, f;

	const char *wrapped[sizeof(argv) / sizeof(argv[0]) + SDSCOPE_EXTRA_ARGS];
	char unitarg[SDSCOPE_UNIT_MAX + 8];

	path_of(d, "haproxy.cfg", cfg, sizeof(cfg));
	path_of(d, "haproxy.pid", pidfile, sizeof(pidfile));
	snprintf(msock, sizeof(msock), "%s/master.sock,mode,600", d->dir);
	/* under systemd: in mcp-proxy-<node>.scope, outside the agent's cgroup */
	if (d->scope_unit && sdscope_wrap(d->scope_unit, argv, wrapped,
	    sizeof(wrapped) / sizeof(wrapped[0]), unitarg, sizeof(unitarg)) == -1)
		return mcp_err_set(err, MCP_E_INTERNAL, "proxy: systemd-run arguments");
	if (d->scope_unit) {
		/* the previous run's scope, stopped but not yet collected */
		int cleared = sdscope_clear_stale(d->scope_unit, err);

		if (cleared == -1)
			return mcp_err_prefix(err, "proxy");
		if (cleared == 1)
			log_info("proxy: cleared the empty scope %s left from its "
			    "previous run", d->scope_unit);
	}
	if (run_haproxy(d, d->scope_unit ? wrapped : argv, "start", err) == -1) {
		if (d->scope_unit)
			mcp_err_prefix(err, "systemd-run --scope --unit=%s", d->scope_unit);
		return -1;
	}
	/* ready when the master answers and names its worker */
	deadline = mcp_now_ms() + d->timeout_ms;
	for (;;) {
		struct mcp_err e = MCP_ERR_INIT;

		if (proxy_driver_pid(d) > 0 && proxy_driver_master(d, "show proc", &b,
		    &e) == 0 && proxy_parse_reloads(b.data, &r, &f) == 0 &&
		    strstr(b.data, "worker"))
			break;
		if (mcp_now_ms() > deadline) {
			buf_free(&b);
			return mcp_err_set(err, MCP_E_TIMEOUT, "proxy: started %s but its "
			    "master did not answer on %s/master.sock within %d ms",
			    d->haproxy, d->dir, d->timeout_ms);
		}
		usleep(20000);
	}
	buf_free(&b);
	return 0;
}

/* Reload through the master CLI and wait until the master counts it. */
static int
reload(struct proxy_driver *d, struct mcp_err *err)
{
	struct buf b = BUF_INIT;
	long long deadline = mcp_now_ms() + d->timeout_ms;
	int r0, f0, r, f, rc = -1;

	if (proxy_driver_master(d, "show proc", &b, err) == -1)
		goto out;
	if (proxy_parse_reloads(b.data, &r0, &f0) == -1) {
		mcp_err_set(err, MCP_E_INTERNAL, "proxy: unexpected \"show proc\" "
		    "answer from %s/master.sock", d->dir);
		goto out;
	}
	if (proxy_driver_master(d, "reload", &b, err) == -1)
		goto out;
	for (;;) {
		struct mcp_err e = MCP_ERR_INIT;

		/* the master re-executes itself: its socket is briefly away */
		if (proxy_driver_master(d, "show proc", &b, &e) == 0 &&
		    proxy_parse_reloads(b.data, &r, &f) == 0 && r > r0) {
			if (f > f0) {
				mcp_err_set(err, MCP_E_INTERNAL, "proxy: HAProxy refused "
				    "the reload (failed reloads %d -> %d)", f0, f);
				goto out;
			}
			break;
		}
		if (mcp_now_ms() > deadline) {
			mcp_err_set(err, MCP_E_TIMEOUT, "proxy: reload not done within "
			    "%d ms", d->timeout_ms);
			goto out;
		}
		usleep(20000);
	}
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

/* The next line of text at *p (without its newline); NULL at the end. */
static const char *
next_line(const char **p, size_t *len)
{
	const char *l = *p, *e;

	if (l == NULL || *l == '\0')
		return NULL;
	e = strchr(l, '\n');
	*len = e ? (size_t)(e - l) : strlen(l);
	*p = e ? e + 1 : l + *len;
	return l;
}

/* "\tserver s ADDR check ...[ disabled]" of a route backend: addr, flag. */
static int
server_line(const char *l, size_t len, char *addr, size_t addrsz, int *disabled)
{
	static const char pre[] = "\tserver s ";
	const char *a, *sp;

	if (len < sizeof(pre) || memcmp(l, pre, sizeof(pre) - 1) != 0 ||
	    memmem(l, len, " resolvers ", 11) != NULL)
		return -1;
	a = l + sizeof(pre) - 1;
	if ((sp = memchr(a, ' ', len - (size_t)(a - l))) == NULL ||
	    (size_t)(sp - a) >= addrsz)
		return -1;
	memcpy(addr, a, (size_t)(sp - a));
	addr[sp - a] = '\0';
	*disabled = len >= 9 && memcmp(l + len - 9, " disabled", 9) == 0;
	return 0;
}

int
proxy_runtime_diff(const char *old_cfg, const char *new_cfg,
    struct proxy_srv_change **out, size_t *n)
{
	const char *po = old_cfg, *pn = new_cfg, *lo, *ln;
	size_t lenO = 0, lenN = 0, cap = 0;
	char backend[160] = "";

	*out = NULL;
	*n = 0;
	for (;;) {
		struct proxy_srv_change c;
		char ao[96];
		int dO;

		lo = next_line(&po, &lenO);
		ln = next_line(&pn, &lenN);
		if (lo == NULL || ln == NULL) {
			if (lo == ln)
				return (int)*n;
			break;
		}
		if (lenN > 8 && memcmp(ln, "backend ", 8) == 0 && lenN - 8 < sizeof(backend)) {
			memcpy(backend, ln + 8, lenN - 8);
			backend[lenN - 8] = '\0';
		}
		if (lenO == lenN && memcmp(lo, ln, lenN) == 0)
			continue;
		/* only a route server's address or state may differ */
		memset(&c, 0, sizeof(c));
		if (strncmp(backend, "r_", 2) != 0 ||
		    server_line(lo, lenO, ao, sizeof(ao), &dO) == -1 ||
		    server_line(ln, lenN, c.addr, sizeof(c.addr), &c.disabled) == -1)
			break;
		mcp_strlcpy(c.backend, backend, sizeof(c.backend));
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*out = realloc(*out, cap * sizeof(**out));
			if (*out == NULL)
				abort();
		}
		(*out)[(*n)++] = c;
	}
	free(*out);
	*out = NULL;
	*n = 0;
	return -1;
}

/* A runtime API answer that reports a failure. */
static int
admin_refused(const char *ans)
{
	return strstr(ans, "No such") || strstr(ans, "Require") ||
	    strstr(ans, "nvalid") || strstr(ans, "rror") || strstr(ans, "Unknown");
}

/* Apply server changes through the admin socket; -1 at the first refusal. */
static int
runtime_apply(struct proxy_driver *d, const struct proxy_srv_change *c,
    size_t n, struct mcp_err *err)
{
	struct buf ans = BUF_INIT;
	char cmd[400], host[96];
	size_t i;
	int rc = -1;

	for (i = 0; i < n; i++) {
		char *colon;

		mcp_strlcpy(host, c[i].addr, sizeof(host));
		if ((colon = strrchr(host, ':')) == NULL)
			goto refused;
		*colon = '\0';
		snprintf(cmd, sizeof(cmd), "set server %s/s addr %s port %s",
		    c[i].backend, host, colon + 1);
		if (proxy_driver_admin(d, cmd, &ans, err) == -1)
			goto out;
		if (admin_refused(ans.data))
			goto refused;
		snprintf(cmd, sizeof(cmd), "%s server %s/s", c[i].disabled ?
		    "disable" : "enable", c[i].backend);
		if (proxy_driver_admin(d, cmd, &ans, err) == -1)
			goto out;
		if (admin_refused(ans.data))
			goto refused;
	}
	rc = 0;
	goto out;
refused:
	mcp_err_set(err, MCP_E_INTERNAL, "proxy: \"%s\": %s", cmd, ans.data);
out:
	buf_free(&ans);
	return rc;
}

/* What a file was before apply touched it, to put it back. */
struct saved {
	char path[PATHSZ];
	struct buf old;
	int existed;
};

static int
rendered_name(const char *n)
{
	size_t l = strlen(n);

	if (n[0] != 'p' && n[0] != 't')
		return 0;
	return (l > 4 && strcmp(n + l - 4, ".map") == 0) ||
	    (l > 8 && strcmp(n + l - 8, ".crtlist") == 0);
}

static int
in_set(const struct proxy_files *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->files[i].name, name) == 0)
			return 1;
	return 0;
}

static void
restore(struct saved *sv, size_t n)
{
	struct mcp_err e = MCP_ERR_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		if (sv[i].existed)
			file_write_atomic(sv[i].path, sv[i].old.data ? sv[i].old.data : "",
			    sv[i].old.len, 0600, &e);
		else
			unlink(sv[i].path);
	}
}

int
proxy_driver_apply(struct proxy_driver *d, const struct proxy_files *f,
    int force, const char **action, struct mcp_err *err)
{
	struct saved *sv = NULL;
	size_t nsv = 0, cap, i;
	DIR *dp;
	struct dirent *de;
	int rc = -1, running = proxy_driver_pid(d) > 0;

	if (action)
		*action = "unchanged";
	cap = f->n + 16;
	sv = xcalloc(cap, sizeof(*sv));
	for (i = 0; i < f->n; i++) {
		struct saved *s = &sv[nsv];
		const struct buf *t = &f->files[i].text;
		struct mcp_err e = MCP_ERR_INIT;

		path_of(d, f->files[i].name, s->path, sizeof(s->path));
		s->existed = file_read(s->path, &s->old, 0, &e) == 0;
		if (s->existed && s->old.len == t->len &&
		    memcmp(s->old.data, t->data ? t->data : "", t->len) == 0) {
			buf_free(&s->old);
			continue;
		}
		if (file_write_atomic(s->path, t->data ? t->data : "", t->len, 0600,
		    err) == -1) {
			buf_free(&s->old);
			restore(sv, nsv);
			mcp_err_prefix(err, "proxy");
			goto out;
		}
		nsv++;
	}
	/* maps and crt-lists of ports that are gone */
	if ((dp = opendir(d->dir)) != NULL) {
		while ((de = readdir(dp)) != NULL) {
			struct mcp_err e = MCP_ERR_INIT;
			struct saved *s;

			if (!rendered_name(de->d_name) || in_set(f, de->d_name))
				continue;
			if (nsv == cap) {
				cap *= 2;
				sv = realloc(sv, cap * sizeof(*sv));
				if (sv == NULL)
					abort();
			}
			s = &sv[nsv];
			memset(s, 0, sizeof(*s));
			path_of(d, de->d_name, s->path, sizeof(s->path));
			if (file_read(s->path, &s->old, 0, &e) == 0 && unlink(s->path) == 0) {
				s->existed = 1;
				nsv++;
			} else {
				buf_free(&s->old);
			}
		}
		closedir(dp);
	}
	if (nsv == 0 && running && !force) {
		rc = 0;
		goto out;
	}
	if ((nsv > 0 || force) && check_config(d, err) == -1) {
		restore(sv, nsv);
		goto out;
	}
	/* only haproxy.cfg changed: maybe just route servers (runtime API) */
	if (running && !force && nsv == 1 && sv[0].existed &&
	    strcmp(strrchr(sv[0].path, '/') + 1, "haproxy.cfg") == 0) {
		struct proxy_srv_change *ch = NULL;
		struct mcp_err rerr = MCP_ERR_INIT;
		size_t nch = 0;
		int r = proxy_runtime_diff(sv[0].old.data ? sv[0].old.data : "",
		    f->files[0].text.data ? f->files[0].text.data : "", &ch, &nch);

		if (r > 0 && runtime_apply(d, ch, nch, &rerr) == 0) {
			free(ch);
			if (action)
				*action = "updated";
			rc = 0;
			goto out;
		}
		/* the files are right; a reload makes HAProxy agree with them */
		free(ch);
	}
	if (!running) {
		if (start(d, err) == -1) {
			restore(sv, nsv);
			goto out;
		}
		if (action)
			*action = "started";
	} else {
		/*
		 * A refused or unfinished reload leaves the previous files
		 * behind, as a failed check does: else the next apply would find
		 * the files "unchanged" and never reload, with HAProxy still
		 * serving the old set.  (If the reload did happen after all, the
		 * next apply differs from the files again and reloads.)
		 */
		if (reload(d, err) == -1) {
			restore(sv, nsv);
			goto out;
		}
		if (action)
			*action = "reloaded";
	}
	rc = 0;
out:
	for (i = 0; i < cap && sv; i++)
		buf_free(&sv[i].old);
	free(sv);
	return rc;
}

int
proxy_driver_stop(struct proxy_driver *d, struct mcp_err *err)
{
	pid_t pid = proxy_driver_pid(d);
	long long deadline = mcp_now_ms() + d->timeout_ms;

	if (pid == 0)
		return 0;
	if (kill(pid, SIGTERM) == -1 && errno != ESRCH)
		return mcp_err_errno(err, errno, "proxy: stop HAProxy (pid %d)", (int)pid);
	while (proc_pid_trusted(pid, d->dir)) {
		if (mcp_now_ms() > deadline) {
			kill(pid, SIGKILL);
			break;
		}
		usleep(20000);
	}
	return 0;
}

/* Split one CSV line in place (HAProxy's stat CSV has no quoting). */
static size_t
csv_split(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *p = line;

	while (n < max) {
		fields[n++] = p;
		if ((p = strchr(p, ',')) == NULL)
			break;
		*p++ = '\0';
	}
	return n;
}

int
proxy_parse_stat(const char *csv, struct proxy_server_state **out, size_t *n,
    struct mcp_err *err)
{
	char *copy, *line, *save = NULL, *f[128];
	int col_px = -1, col_sv = -1, col_st = -1, col_ck = -1;
	size_t cnt = 0, cap = 8, nf, i;

	*out = NULL;
	*n = 0;
	copy = xstrdup(csv ? csv : "");
	*out = xcalloc(cap, sizeof(**out));
	for (line = strtok_r(copy, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#') {
			nf = csv_split(line + 1 + (line[1] == ' '), f, 128);
			for (i = 0; i < nf; i++) {
				if (strcmp(f[i], "pxname") == 0)
					col_px = (int)i;
				else if (strcmp(f[i], "svname") == 0)
					col_sv = (int)i;
				else if (strcmp(f[i], "status") == 0)
					col_st = (int)i;
				else if (strcmp(f[i], "check_status") == 0)
					col_ck = (int)i;
			}
			continue;
		}
		if (col_px < 0 || col_sv < 0 || col_st < 0) {
			free(copy);
			free(*out);
			*out = NULL;
			return mcp_err_set(err, MCP_E_INTERNAL, "proxy: \"show stat\" "
			    "answer has no header");
		}
		nf = csv_split(line, f, 128);
		if ((size_t)col_st >= nf || strcmp(f[col_sv], "FRONTEND") == 0 ||
		    strcmp(f[col_sv], "BACKEND") == 0)
			continue;
		if (cnt == cap) {
			cap *= 2;
			*out = realloc(*out, cap * sizeof(**out));
			if (*out == NULL)
				abort();
		}
		memset(&(*out)[cnt], 0, sizeof(**out));
		mcp_strlcpy((*out)[cnt].backend, f[col_px], sizeof((*out)[cnt].backend));
		mcp_strlcpy((*out)[cnt].status, f[col_st], sizeof((*out)[cnt].status));
		if (col_ck >= 0 && (size_t)col_ck < nf)
			mcp_strlcpy((*out)[cnt].check, f[col_ck], sizeof((*out)[cnt].check));
		cnt++;
	}
	free(copy);
	*n = cnt;
	return 0;
}
