/*
 * runtime/qemu_jail.c: the jail a VM's QEMU runs in (qemu.h).
 *
 * - A uid of its own per VM, from a configured range ([unikernel] vm_uids,
 *   no passwd entry needed), recorded as the group of the VM directory:
 *   state_dir/<name> is root:<uid> mode 01770, so QEMU creates its pidfile,
 *   QMP socket and console log there but cannot remove or replace what the
 *   agent wrote (spec.json, the initramfs copy: sticky bit), and VMs cannot
 *   reach each other's directories.  The uid is allocated under a lock by
 *   scanning the directories, starting at a point derived from the VM
 *   directory's path, so two agents on one host rarely pick the same one.
 * - QEMU is started through setsid(1) -f and setpriv(1): new session,
 *   reparented to init, real/effective/saved uid and gid the VM's, no
 *   supplementary groups, no capabilities (bounding and inheritable sets
 *   cleared), no_new_privs; then QEMU's own seccomp filter (-sandbox on,
 *   obsolete, elevateprivileges, spawn and resourcecontrol denied; which is
 *   why QEMU is not -daemonize'd: that forks and calls setsid()).
 * - Files QEMU opens: the kernel in place when every directory to it is
 *   searchable and the file readable by others, else a copy; the
 *   initramfs (in the agent's 0700 cache) always copied into the VM
 *   directory, root:<uid> 0640.  Attestation hashes these copies.
 * - The TAP is created owned by the uid and opened by the agent, QEMU gets
 *   the descriptor (fd=3): it needs neither CAP_NET_ADMIN nor /dev/net/tun.
 * - A cgroup per VM, "mcp-vm-<16 hex digits of its directory>" at the top
 *   of the hierarchy (v2 when /sys/fs/cgroup is the unified hierarchy with
 *   the controllers, else the v1 memory, pids and cpu hierarchies):
 *   memory ceiling = guest RAM + the TCG buffer + QEMU's own overhead,
 *   task count, CPU weight of one task per vCPU plus QEMU's main loop (at
 *   the top level, so a busy VM gets what its threads would unjailed; one
 *   level down, all VMs together would weigh as one task).  Best effort:
 *   a node without writable cgroups runs VMs without these limits (the
 *   start logs why).
 */
#include "runtime/qemu.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/hash.h"
#include "util/log.h"

#define CG_ROOT		"/sys/fs/cgroup"
/* QEMU beyond guest RAM and the TCG translation buffer: code, heap,
 * thread stacks, device state (measured ~60 MiB under TCG; bench) */
#define JAIL_OVERHEAD_MB 160
/* QEMU 7.2's default TCG translation buffer for system emulation */
#define JAIL_TCG_DEFAULT_TB_MB 1024

int
qemu_jail_range_parse(const char *s, uid_t *first, unsigned *count, struct mcp_err *err)
{
	const char *spec = s;
	unsigned long long a, b;
	char *end;

	*first = 0;
	*count = 0;
	if (s == NULL || s[0] == '\0')
		return 0;	/* no jail */
	errno = 0;
	a = strtoull(s, &end, 10);
	if (errno || end == s || *end != '-')
		goto bad;
	s = end + 1;
	b = strtoull(s, &end, 10);
	if (errno || end == s || *end != '\0')
		goto bad;
	if (a == 0 || b < a || b >= 0x7fffffffULL || b - a + 1 > 1000000)
		return mcp_err_set(err, MCP_E_INVALID, "vm_uids \"%llu-%llu\": want FIRST-LAST "
		    "with 0 < FIRST <= LAST < 2147483647 and at most 1000000 uids", a, b);
	*first = (uid_t)a;
	*count = (unsigned)(b - a + 1);
	return 0;
bad:
	return mcp_err_set(err, MCP_E_INVALID, "vm_uids \"%s\": want FIRST-LAST, e.g. "
	    "\"1879048192-1879049215\"", spec);
}

int
qemu_jail_memory_limit_mb(int memory_mb, int tcg, int tb_mb)
{
	int tb = 0;

	if (tcg)
		tb = tb_mb > 0 ? tb_mb : JAIL_TCG_DEFAULT_TB_MB;
	return memory_mb + tb + JAIL_OVERHEAD_MB;
}

void
qemu_jail_cgroup_name(const char *vmdir, char *out, size_t outsz)
{
	char hex[HASH_HEX_LEN + 1];

	hash_sha256_hex(vmdir, strlen(vmdir), hex);
	snprintf(out, outsz, "mcp-vm-%.16s", hex);
}

/* 1 when someone who is neither owner nor group can read path. */
static int
others_can_read(const char *path)
{
	char p[PATH_MAX], *slash;
	struct stat st;

	if (stat(path, &st) == -1 || !(st.st_mode & S_IROTH))
		return 0;
	if (realpath(path, p) == NULL)
		return 0;
	while ((slash = strrchr(p, '/')) != NULL) {
		*slash = '\0';
		if (stat(p[0] ? p : "/", &st) == -1 || !(st.st_mode & S_IXOTH))
			return 0;
		if (!p[0])
			break;
	}
	return 1;
}

int
qemu_jail_reachable(const char *state_dir, struct mcp_err *err)
{
	char p[PATH_MAX], *slash;
	struct stat st;

	if (realpath(state_dir, p) == NULL)
		return mcp_err_errno(err, errno, "vm jail: %s", state_dir);
	for (;;) {
		const char *d = p[0] ? p : "/";

		if (stat(d, &st) == -1)
			return mcp_err_errno(err, errno, "vm jail: %s", d);
		if (!(st.st_mode & S_IXOTH)) {
			/* ours (the agent's state): searchable, still not listable */
			if (st.st_uid != geteuid() || chmod(d, (st.st_mode & 07777) | S_IXOTH) == -1)
				return mcp_err_set(err, MCP_E_PRECONDITION, "vm jail: QEMU's uid "
				    "cannot reach %s: %s is mode %04o, not searchable by others",
				    state_dir, d, (unsigned)(st.st_mode & 07777));
			log_info("vm jail: %s made searchable (o+x) so QEMU reaches its VM "
			    "directory", d);
		}
		if (!p[0] || (slash = strrchr(p, '/')) == NULL)
			break;
		*slash = '\0';
	}
	return 0;
}

int
qemu_jail_claim(const char *state_dir, const char *vmdir, uid_t first, unsigned count,
    uid_t *uid, struct mcp_err *err)
{
	char lock[PATH_MAX + 16], hex[HASH_HEX_LEN + 1];
	unsigned char *used = NULL;
	unsigned start, i;
	struct dirent *de;
	struct stat st;
	int fd, rc = -1;
	DIR *d;

	snprintf(lock, sizeof(lock), "%s/.jail.lock", state_dir);
	if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return mcp_err_errno(err, errno, "vm jail: %s", lock);
	if (flock(fd, LOCK_EX) == -1) {
		mcp_err_errno(err, errno, "vm jail: lock %s", lock);
		goto out;
	}
	if ((d = opendir(state_dir)) == NULL) {
		mcp_err_errno(err, errno, "vm jail: %s", state_dir);
		goto out;
	}
	used = xcalloc(count, 1);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
		    st.st_gid >= first && st.st_gid - first < count)
			used[st.st_gid - first] = 1;
	closedir(d);
	hash_sha256_hex(vmdir, strlen(vmdir), hex);
	start = (unsigned)strtoul((char[9]){ hex[0], hex[1], hex[2], hex[3], hex[4], hex[5],
	    hex[6], hex[7], 0 }, NULL, 16) % count;
	for (i = 0; i < count && used[(start + i) % count]; i++)
		;
	if (i == count) {
		mcp_err_set(err, MCP_E_RESOURCE, "vm jail: all %u uids of vm_uids (%u-%u) are "
		    "in use under %s", count, (unsigned)first, (unsigned)(first + count - 1),
		    state_dir);
		goto out;
	}
	*uid = first + (start + i) % count;
	if (chown(vmdir, geteuid(), *uid) == -1 || chmod(vmdir, 01770) == -1) {
		mcp_err_errno(err, errno, "vm jail: chown/chmod %s", vmdir);
		goto out;
	}
	rc = 0;
out:
	free(used);
	close(fd);	/* releases the lock */
	return rc;
}

int
qemu_jail_file(const char *vmdir, uid_t uid, const char *src, const char *name,
    char *out, size_t outsz, struct mcp_err *err)
{
	char tmp[PATH_MAX + 32];
	struct stat st;
	int in = -1, o = -1, rc = -1;

	if (name == NULL && others_can_read(src)) {
		if ((size_t)snprintf(out, outsz, "%s", src) >= outsz)
			return mcp_err_set(err, MCP_E_INVALID, "vm jail: %s: path too long", src);
		return 0;
	}
	if (name == NULL)
		name = "kernel";
	if ((size_t)snprintf(out, outsz, "%s/%s", vmdir, name) >= outsz)
		return mcp_err_set(err, MCP_E_INVALID, "vm jail: %s/%s: path too long", vmdir,
		    name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1 || fstat(in, &st) == -1) {
		mcp_err_errno(err, errno, "vm jail: open %s", src);
		goto out;
	}
	unlink(tmp);
	if ((o = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1) {
		mcp_err_errno(err, errno, "vm jail: create %s", tmp);
		goto out;
	}
	for (off_t left = st.st_size; left > 0;) {
		ssize_t n = copy_file_range(in, NULL, o, NULL, (size_t)left, 0);

		if (n <= 0) {
			mcp_err_errno(err, n == 0 ? EIO : errno, "vm jail: copy %s to %s", src,
			    tmp);
			goto out;
		}
		left -= n;
	}
	if (fchown(o, geteuid(), uid) == -1 || fchmod(o, 0640) == -1) {
		mcp_err_errno(err, errno, "vm jail: chown/chmod %s", tmp);
		goto out;
	}
	if (close(o) == -1) {
		o = -1;
		mcp_err_errno(err, errno, "vm jail: write %s", tmp);
		goto out;
	}
	o = -1;
	if (rename(tmp, out) == -1) {
		mcp_err_errno(err, errno, "vm jail: rename %s", tmp);
		goto out;
	}
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (o >= 0)
		close(o);
	if (rc == -1)
		unlink(tmp);
	return rc;
}

/* ---- cgroups ---- */

static const char *const cg_v1[] = { "memory", "pids", "cpu" };

/* 1 when /sys/fs/cgroup is a cgroup v2 mount with the controllers we use. */
static int
cg_is_v2(void)
{
	struct buf text = BUF_INIT;
	int ok = file_read(CG_ROOT "/cgroup.controllers", &text, 4096, NULL) == 0 &&
	    text.data && strstr(text.data, "memory") != NULL &&
	    strstr(text.data, "pids") != NULL;

	buf_free(&text);
	return ok;
}

static int
cg_write(const char *dir, const char *file, const char *value, struct mcp_err *err)
{
	char path[PATH_MAX + 64];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return mcp_err_errno(err, errno, "cgroup %s", path);
	n = write(fd, value, strlen(value));
	if (n != (ssize_t)strlen(value)) {
		mcp_err_errno(err, n == -1 ? errno : EIO, "cgroup %s = %s", path, value);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int
cg_mkdir(const char *path, struct mcp_err *err)
{
	if (mkdir(path, 0755) == -1 && errno != EEXIST)
		return mcp_err_errno(err, errno, "cgroup mkdir %s", path);
	return 0;
}

int
qemu_jail_cgroup_enter(const char *vmdir, pid_t pid, int vcpus, int limit_mb,
    struct mcp_err *err)
{
	char leaf[32], dir[PATH_MAX], v[64], pidtext[24];
	long long mem = (long long)limit_mb << 20;

	qemu_jail_cgroup_name(vmdir, leaf, sizeof(leaf));
	snprintf(pidtext, sizeof(pidtext), "%d", (int)pid);
	if (vcpus < 1)
		vcpus = 1;
	if (cg_is_v2()) {
		/* controllers for our children: best effort at the root (may
		 * already be on, or delegated differently) */
		cg_write(CG_ROOT, "cgroup.subtree_control", "+memory +pids +cpu", NULL);
		snprintf(dir, sizeof(dir), "%s/%s", CG_ROOT, leaf);
		snprintf(v, sizeof(v), "%d", 100 * (vcpus + 1));
		if (cg_mkdir(dir, err) == -1)
			return -1;
		if (cg_write(dir, "cpu.weight", v, NULL) == -1)
			log_warnx("vm jail: %s: no cpu controller; no CPU weight", dir);
		snprintf(v, sizeof(v), "%lld", mem);
		if (cg_write(dir, "memory.max", v, err) == -1)
			return -1;
		cg_write(dir, "memory.swap.max", "0", NULL);
		snprintf(v, sizeof(v), "%d", QEMU_JAIL_PIDS_MAX);
		if (cg_write(dir, "pids.max", v, err) == -1 ||
		    cg_write(dir, "cgroup.procs", pidtext, err) == -1)
			return -1;
		return 0;
	}
	for (size_t i = 0; i < sizeof(cg_v1) / sizeof(cg_v1[0]); i++) {
		char parent[PATH_MAX];

		snprintf(parent, sizeof(parent), "%s/%s", CG_ROOT, cg_v1[i]);
		if (access(parent, W_OK) == -1)
			return mcp_err_set(err, MCP_E_PRECONDITION, "cgroup %s: not mounted or "
			    "not writable", parent);
		snprintf(dir, sizeof(dir), "%s/%s", parent, leaf);
		if (cg_mkdir(dir, err) == -1)
			return -1;
		if (strcmp(cg_v1[i], "memory") == 0) {
			snprintf(v, sizeof(v), "%lld", mem);
			if (cg_write(dir, "memory.limit_in_bytes", v, err) == -1)
				return -1;
			cg_write(dir, "memory.swappiness", "0", NULL);
		} else if (strcmp(cg_v1[i], "pids") == 0) {
			snprintf(v, sizeof(v), "%d", QEMU_JAIL_PIDS_MAX);
			if (cg_write(dir, "pids.max", v, err) == -1)
				return -1;
		} else {
			snprintf(v, sizeof(v), "%d", 1024 * (vcpus + 1));
			if (cg_write(dir, "cpu.shares", v, err) == -1)
				return -1;
		}
		if (cg_write(dir, "cgroup.procs", pidtext, err) == -1)
			return -1;
	}
	return 0;
}

void
qemu_jail_cgroup_remove(const char *vmdir)
{
	char leaf[32], dir[PATH_MAX];

	qemu_jail_cgroup_name(vmdir, leaf, sizeof(leaf));
	/* i == 0: the v2 cgroup, then the v1 hierarchies */
	for (size_t i = 0; i <= sizeof(cg_v1) / sizeof(cg_v1[0]); i++) {
		if (i == 0)
			snprintf(dir, sizeof(dir), "%s/%s", CG_ROOT, leaf);
		else
			snprintf(dir, sizeof(dir), "%s/%s/%s", CG_ROOT, cg_v1[i - 1], leaf);
		/* a cgroup with a task left (QEMU still exiting) is retried a little */
		for (int t = 0; t < 20 && rmdir(dir) == -1 && errno == EBUSY; t++)
			mcp_sleep_ms(50);
	}
}

int
qemu_jail_argv(uid_t uid, const char **argv, size_t max, char *ubuf, char *gbuf,
    size_t bufsz)
{
	size_t n = 0;

	if (max < 12)
		return -1;
	/* a session of its own, reparented to init: QEMU outlives the agent */
	argv[n++] = "setsid";
	argv[n++] = "-f";
	if (uid != 0) {
		snprintf(ubuf, bufsz, "--reuid=%u", (unsigned)uid);
		snprintf(gbuf, bufsz, "--regid=%u", (unsigned)uid);
		argv[n++] = "setpriv";
		argv[n++] = ubuf;
		argv[n++] = gbuf;
		argv[n++] = "--clear-groups";
		argv[n++] = "--inh-caps=-all";
		argv[n++] = "--bounding-set=-all";
		argv[n++] = "--no-new-privs";
		argv[n++] = "--";
	}
	return (int)n;
}
