/*
 * runtime/qemu.c: the runtime ops of the unikernel runtime (qemu.h).
 *
 * run: claim state_dir/<name> (mkdir), build or reuse the artifact through
 * the image builder, re-hash kernel + initramfs against the hash recorded
 * at build time (refuse on mismatch), write spec.json, start
 * qemu-system-x86_64 -daemonize, and check that the PID it wrote is the VM.
 * stop: QMP system_powerdown -> SHUTDOWN/exit, else quit, else SIGKILL.
 * remove, inspect, list and logs work from the state directories only.
 */
#include "runtime/qemu.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "image/image.h"
#include "util/file.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/progress.h"
#include "util/sdscope.h"
#include "util/spawn.h"

#define DEF_BINARY	"qemu-system-x86_64"
#define DEF_MODULES	"/var/lib/mcp/kernel/modules"
#define DEF_STATE	"/var/lib/mcp/vm"
#define DEF_CACHE	"/var/lib/mcp/vm-cache"
#define DEF_STOP_S	10
#define DEF_TB_MB	64
#define DEF_MIN_MEM_MB	96

/* QEMU user-mode networking (slirp) defaults: the guest's side of the NAT. */
#define USER_NET_IP	 "10.0.2.15"
#define USER_NET_MASK	 "255.255.255.0"
#define USER_NET_GATEWAY "10.0.2.2"

#define QEMU_MAX_ARGS 64

struct qemu_rt {
	char *binary, *kernel, *modules_dir, *state_dir, *cache_dir, *accel;
	char *mcp_init, *cmdline_extra, *machine;
	int stop_timeout_s, tcg_tb_mb, min_memory_mb;
	int systemd_scope;
	struct image_builder *builder;
	int own_builder;
	struct net_bridge bridge;
	int has_bridge;
	uid_t uid_first;	/* the jail's uids; uid_count 0: no jail */
	unsigned uid_count;
};

/* The VM is on the bridge: it has an address and did not ask for "user". */
static int
spec_bridged(const struct rt_spec *spec)
{
	return spec->vm_ip && spec->vm_ip[0] &&
	    !(spec->network && strcmp(spec->network, "user") == 0);
}

/* The TAP of a VM with address vm_ip ("" when not bridged). */
static void
vm_tap(const struct qemu_rt *q, const char *vm_ip, char *out, size_t outsz)
{
	uint32_t ip;

	out[0] = '\0';
	if (q->has_bridge && vm_ip && vm_ip[0] && net_ip_parse(vm_ip, &ip) == 0)
		net_tap_name(&q->bridge, ip, out, outsz);
}

/* ---- configuration ---- */

const char *
qemu_accel_pick(const char *want, const char *cpuinfo_path, const char *kvm_dev)
{
	struct buf cpu = BUF_INIT;
	int hw = 0;

	if (want && strcmp(want, "kvm") == 0)
		return "kvm";
	if (want && strcmp(want, "tcg") == 0)
		return "tcg";
	if (access(kvm_dev, R_OK | W_OK) == 0 &&
	    file_read(cpuinfo_path, &cpu, 16u << 20, NULL) == 0) {
		/* flags are space-separated words on the "flags" lines */
		for (char *p = cpu.data; !hw && (p = strstr(p, "flags")) != NULL; p++) {
			char *eol = strchr(p, '\n');

			if (eol)
				*eol = '\0';
			hw = strstr(p, " vmx") != NULL || strstr(p, " svm") != NULL;
			if (eol)
				*eol = '\n';
		}
	}
	buf_free(&cpu);
	return hw ? "kvm" : "tcg";
}

/* mcp-init beside the running binary, e.g. bin/mcp-agent -> bin/mcp-init. */
static char *
default_mcp_init(void)
{
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 16);

	if (n <= 0)
		return xstrdup("/usr/local/lib/mcp/mcp-init");
	self[n] = '\0';
	slash = strrchr(self, '/');
	strcpy(slash ? slash + 1 : self, "mcp-init");
	return xstrdup(self);
}

static int
in_path(const char *bin)
{
	const char *path = getenv("PATH"), *p;
	char cand[PATH_MAX];

	if (strchr(bin, '/'))
		return access(bin, X_OK) == 0;
	for (p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t len = strcspn(p, ":");

		snprintf(cand, sizeof(cand), "%.*s/%s", (int)len, p, bin);
		if (len && access(cand, X_OK) == 0)
			return 1;
		p += len;
		if (*p)
			p++;
	}
	return 0;
}

int
qemu_runtime_available(const struct qemu_config *cfg, char *why, size_t whysz)
{
	const char *bin = cfg->binary ? cfg->binary : DEF_BINARY;
	const char *kernel = cfg->kernel && cfg->kernel[0] ? cfg->kernel : qemu_kernel_default();
	struct image_kernel k;
	const char *mods = cfg->modules_dir ? cfg->modules_dir : DEF_MODULES;
	char order[PATH_MAX], *init = cfg->mcp_init ? xstrdup(cfg->mcp_init) : default_mcp_init();
	char eb[MCP_STRERROR_MAX];
	int ok = 0;

	snprintf(order, sizeof(order), "%s/order", mods);
	if (!in_path(bin))
		snprintf(why, whysz, "QEMU binary %s not found (apt-get install qemu-system-x86)", bin);
	else if (access(kernel, R_OK) == -1)
		snprintf(why, whysz, "guest kernel %s: %s (run scripts/fetch-kernel.sh)", kernel,
		    mcp_strerror(errno, eb, sizeof(eb)));
	else if (image_kernel_probe(kernel, &k, NULL) == 0 && k.modules_none)
		ok = 1;	/* everything built in: no modules to find */
	else if (access(order, R_OK) == -1)
		snprintf(why, whysz, "guest modules %s: %s (run scripts/fetch-kernel.sh)", order,
		    mcp_strerror(errno, eb, sizeof(eb)));
	else if (access(init, R_OK) == -1)
		snprintf(why, whysz, "mcp-init %s: %s", init,
		    mcp_strerror(errno, eb, sizeof(eb)));
	else
		ok = 1;
	if (ok && whysz)
		why[0] = '\0';
	free(init);
	return ok;
}

/*
 * The kernel with symlinks resolved (minimal/ points at the current build),
 * so artifacts and spec.json name the file that actually boots.
 */
static char *
kernel_resolved(const char *kernel)
{
	char real[PATH_MAX];

	return xstrdup(realpath(kernel, real) ? real : kernel);
}

/*
 * One spelling of the state dir for the life of the VMs: PID trust matches
 * "<state_dir>/<name>/" in QEMU's cmdline, so a restarted agent given
 * "/var/lib/mcp/vm/" or a symlink must still recognise its VMs.
 */
static char *
state_dir_canonical(const char *dir)
{
	char real[PATH_MAX], *s = xstrdup(dir);
	size_t n = strlen(s);

	while (n > 1 && s[n - 1] == '/')
		s[--n] = '\0';
	file_mkdirs(s, 0700, NULL);	/* so realpath sees it the first time too */
	if (realpath(s, real) != NULL) {
		free(s);
		s = xstrdup(real);
	}
	return s;
}

/*
 * ---- pull / image_exists: the builder's business ----
 * The initramfs builder takes the image from the node's podman store and
 * goes to the registry only when it is absent, as the container runtime
 * does, then checks the executable.
 */

static int
qemu_pull(struct runtime *rt, const char *image, struct mcp_err *err)
{
	struct qemu_rt *q = rt->priv;

	return q->builder->ops->pull(q->builder, image, err);
}

static int
qemu_image_exists(struct runtime *rt, const char *image, struct mcp_err *err)
{
	struct qemu_rt *q = rt->priv;

	return q->builder->ops->exists(q->builder, image, err);
}

/* ---- run ---- */

/*
 * A random identity for a new VM (32 hex digits), recorded in spec.json:
 * inspect reports it as rt_info.id, so the agent can tell the VM it
 * created from one planted in its place, across agent restarts.
 */
static int
vm_instance_id(char *out, size_t outsz, struct mcp_err *err)
{
	unsigned char r[16];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return mcp_err_errno(err, errno, "vm instance id: getrandom");
	for (i = 0; i < sizeof(r) && 2 * i + 2 < outsz; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 0;
}

static int
spec_write(const char *vmdir, const struct rt_spec *spec, const struct image_artifact *a,
    const char *accel, const char *cmdline, const char *const *argv,
    const char *instance_id, const char *machine, const char *kernel_desc,
    struct mcp_err *err)
{
	json_t *j, *ports = json_array(), *args = json_array();
	char path[PATH_MAX + 16], *text;
	int rc;

	for (size_t i = 0; i < spec->nports; i++)
		json_array_append_new(ports, json_pack("{s:s, s:i, s:i}",
		    "name", spec->ports[i].name, "port", spec->ports[i].port,
		    "host_port", spec->ports[i].host_port));
	for (size_t i = 0; argv[i]; i++)
		json_array_append_new(args, json_string(argv[i]));
	j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:s,"
	    " s:s, s:I, s:s, s:I, s:s, s:s, s:o, s:o, s:I}",
	    "version", 1, "name", spec->name, "service", spec->service ? spec->service : "",
	    "component", spec->component ? spec->component : "", "image", spec->image,
	    "image_id", a->image_id, "image_digest", a->image_digest,
	    "memory_mb", spec->memory_mb, "vcpus", spec->vcpus > 0 ? spec->vcpus : 1,
	    "network", spec_bridged(spec) ? "bridge" : "user",
	    "vm_ip", spec_bridged(spec) ? spec->vm_ip : "", "hash", a->hash,
	    "kernel", a->kernel, "kernel_size", (json_int_t)a->kernel_size,
	    "initrd", a->initrd, "initrd_size", (json_int_t)a->initrd_size,
	    "exec", a->exec, "accel", accel, "ports", ports, "qemu_argv", args,
	    "started_at", (json_int_t)time(NULL));
	if (j == NULL)
		return mcp_err_set(err, MCP_E_INTERNAL, "vm %s: spec.json: encoding failed",
		    spec->name);
	json_object_set_new(j, "cmdline", json_string(cmdline));
	json_object_set_new(j, "instance_id", json_string(instance_id));
	json_object_set_new(j, "machine", json_string(machine));
	json_object_set_new(j, "kernel_desc", json_string(kernel_desc));
	json_object_set_new(j, "spec_hash", json_string(spec->spec_hash ?
	    spec->spec_hash : ""));
	text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	snprintf(path, sizeof(path), "%s/spec.json", vmdir);
	rc = file_write_atomic(path, text, strlen(text), 0600, err);
	free(text);
	return rc;
}

/* Re-hash what will boot and compare with the hash recorded at build time. */
static int
attest_check(const char *name, const struct image_artifact *a, struct mcp_err *err)
{
	char actual[IMAGE_HASH_MAX];
	uint64_t ks = 0, is = 0;

	if (image_attest(a->kernel, a->initrd, actual, &ks, &is, err) == -1)
		return mcp_err_prefix(err, "attestation failed for vm %s", name);
	if (strcmp(actual, a->hash) != 0 || ks != a->kernel_size || is != a->initrd_size)
		return mcp_err_set(err, MCP_E_DATALOSS,
		    "attestation failed for vm %s: kernel %s + initramfs %s hash to %s "
		    "(%llu+%llu bytes), expected %s (%llu+%llu bytes); refusing to boot",
		    name, a->kernel, a->initrd, actual, (unsigned long long)ks,
		    (unsigned long long)is, a->hash, (unsigned long long)a->kernel_size,
		    (unsigned long long)a->initrd_size);
	return 0;
}

/* Everything QEMU needs, as strings that live as long as the struct. */
struct qemu_args {
	const char *argv[QEMU_MAX_ARGS];
	char pidfile[PATH_MAX + 16], qmp[PATH_MAX + 32], serial[PATH_MAX + 32];
	char mem[16], smp[16], name[RT_NAME_MAX + 8], accel[64];
	char cmdline[1024], mach_cmdline[64];
	struct buf netdev;
	char device[96];
	char ubuf[32], gbuf[32];	/* setpriv's --reuid= / --regid= */
};

static int
qemu_args_build(struct qemu_rt *q, const char *vmdir, const struct rt_spec *spec,
    const struct image_artifact *a, const char *accel, const struct qemu_machine *mach,
    uid_t uid, struct qemu_args *qa, struct mcp_err *err)
{
	size_t n = (size_t)qemu_jail_argv(uid, qa->argv, QEMU_MAX_ARGS, qa->ubuf, qa->gbuf,
	    sizeof(qa->ubuf));

	snprintf(qa->pidfile, sizeof(qa->pidfile), "%s/qemu.pid", vmdir);
	snprintf(qa->qmp, sizeof(qa->qmp), "unix:%s/qmp.sock,server=on,wait=off", vmdir);
	snprintf(qa->serial, sizeof(qa->serial), "file:%s/console.log", vmdir);
	snprintf(qa->mem, sizeof(qa->mem), "%d", spec->memory_mb);
	snprintf(qa->smp, sizeof(qa->smp), "%d", spec->vcpus > 0 ? spec->vcpus : 1);
	snprintf(qa->name, sizeof(qa->name), "guest=%s", spec->name);
	if (strcmp(accel, "tcg") == 0 && q->tcg_tb_mb > 0)
		snprintf(qa->accel, sizeof(qa->accel), "tcg,tb-size=%d", q->tcg_tb_mb);
	else
		snprintf(qa->accel, sizeof(qa->accel), "%s", accel);
	qemu_machine_cmdline(mach, accel, strcmp(accel, "tcg") == 0 ? qemu_host_tsc_khz() : 0,
	    qa->mach_cmdline, sizeof(qa->mach_cmdline));
	snprintf(qa->cmdline, sizeof(qa->cmdline), "console=ttyS0 quiet panic=-1%s%s%s%s",
	    qa->mach_cmdline[0] ? " " : "", qa->mach_cmdline,
	    q->cmdline_extra ? " " : "", q->cmdline_extra ? q->cmdline_extra : "");
	if (spec_bridged(spec)) {
		char tap[NET_IFNAME_MAX], mac[24];

		/* on the bridge: no forwards, the proxy dials ip:port */
		vm_tap(q, spec->vm_ip, tap, sizeof(tap));
		net_mac_for(spec->name, mac, sizeof(mac));
		/* the agent opened the TAP: QEMU gets it as descriptor 3 */
		buf_printf(&qa->netdev, "tap,id=n0,fd=3");
		snprintf(qa->device, sizeof(qa->device), "%s,netdev=n0,mac=%s", mach->nic, mac);
	} else {
		/* user-mode NAT; restrict=on: the guest cannot open connections out */
		buf_puts(&qa->netdev, "user,id=n0,restrict=on");
		snprintf(qa->device, sizeof(qa->device), "%s,netdev=n0", mach->nic);
	}
	for (size_t i = 0; !spec_bridged(spec) && i < spec->nports; i++) {
		if (spec->ports[i].host_port <= 0)
			continue;
		if (spec->ports[i].port <= 0 || spec->ports[i].port > 65535 ||
		    spec->ports[i].host_port > 65535)
			return mcp_err_set(err, MCP_E_INVALID, "vm %s: bad port %d -> %d",
			    spec->name, spec->ports[i].host_port, spec->ports[i].port);
		buf_printf(&qa->netdev, ",hostfwd=tcp:127.0.0.1:%d-:%d",
		    spec->ports[i].host_port, spec->ports[i].port);
	}
#define A(s) (qa->argv[n++] = (s))
	A(q->binary);
	A("-name"); A(qa->name);
	A("-M"); A(mach->m_arg);
	A("-nodefaults"); A("-no-user-config"); A("-no-reboot");
	A("-sandbox"); A(QEMU_SANDBOX);
	A("-pidfile"); A(qa->pidfile);
	A("-qmp"); A(qa->qmp);
	A("-serial"); A(qa->serial);
	A("-display"); A("none");
	A("-monitor"); A("none");
	A("-accel"); A(qa->accel);
	if (strcmp(accel, "kvm") == 0) {
		A("-cpu"); A("host");
	}
	A("-m"); A(qa->mem);
	A("-smp"); A(qa->smp);
	A("-kernel"); A(a->kernel);
	A("-initrd"); A(a->initrd);
	A("-append"); A(qa->cmdline);
	A("-netdev"); A(qa->netdev.data);
	A("-device"); A(qa->device);
	qa->argv[n] = NULL;
#undef A
	return 0;
}

/* Wait until the trusted pid of vmdir is gone; 1 gone, 0 still there. */
static int
wait_gone(const char *vmdir, pid_t pid, long long deadline)
{
	do {
		if (!qemu_pid_trusted(pid, vmdir))
			return 1;
		mcp_sleep_ms(50);
	} while (mcp_now_ms() < deadline);
	return !qemu_pid_trusted(pid, vmdir);
}

/* The last line QEMU wrote to vmdir/qemu.log (its stderr), or "". */
static void
qemu_log_tail(const char *vmdir, char *out, size_t outsz)
{
	char path[PATH_MAX + 16];
	struct buf b = BUF_INIT;
	char *line;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/qemu.log", vmdir);
	if (file_read(path, &b, 1u << 20, NULL) == -1 || b.len == 0) {
		buf_free(&b);
		return;
	}
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.data[--b.len] = '\0';
	line = strrchr(b.data, '\n');
	mcp_strlcpy(out, line ? line + 1 : b.data, outsz);
	buf_free(&b);
}

/*
 * Start QEMU through the launcher (setsid -f, setpriv when jailed) with
 * its stderr on vmdir/qemu.log and the TAP (tapfd >= 0) as descriptor 3;
 * it is up when its pidfile names it and QMP greets (the main loop runs:
 * the machine is built).  Limits: under systemd ([agent] systemd_scope)
 * the launcher runs in the transient scope mcp-vm-<name>.scope with
 * MemoryMax=/TasksMax=/CPUWeight= (systemd owns the cgroup tree there);
 * otherwise the PID goes into the jail's own cgroup when jailed.
 */
static int
qemu_start(struct qemu_rt *q, const char *vmdir, const struct rt_spec *spec,
    const char *accel, const struct qemu_args *qa, int tapfd, struct mcp_err *err)
{
	char logpath[PATH_MAX + 16], sock[PATH_MAX + 16], why[512];
	struct mcp_err qerr = MCP_ERR_INIT;
	const char *name = spec->name;
	int fds[4], logfd, status, killed = 0, rc = -1;
	long long deadline = mcp_now_ms() + 30000;
	pid_t launcher = 0, pid = 0;
	const char *wrapped[QEMU_MAX_ARGS + SDSCOPE_EXTRA_ARGS + 1];
	const char *const *run = qa->argv;
	char unit[SDSCOPE_UNIT_MAX], unitarg[SDSCOPE_UNIT_MAX + 8];
	char pmem[48], ptasks[32], pcpu[32];
	const char *props[4] = { NULL };
	int limit = qemu_jail_memory_limit_mb(spec->memory_mb, strcmp(accel, "tcg") == 0,
	    q->tcg_tb_mb);

	if (q->systemd_scope) {
		/* outside the agent's cgroup: no stop of its unit reaches QEMU */
		if (sdscope_unit_name("mcp-vm", name, unit, sizeof(unit), err) == -1)
			return -1;
		/* the previous run's scope, stopped but not yet collected */
		switch (sdscope_clear_stale(unit, err)) {
		case -1:
			return mcp_err_prefix(err, "vm %s", name);
		case 1:
			log_info("vm %s: cleared the empty scope %s left from its "
			    "previous run", name, unit);
		}
		if (q->uid_count > 0) {
			snprintf(pmem, sizeof(pmem), "MemoryMax=%lld", (long long)limit << 20);
			snprintf(ptasks, sizeof(ptasks), "TasksMax=%d", QEMU_JAIL_PIDS_MAX);
			snprintf(pcpu, sizeof(pcpu), "CPUWeight=%d",
			    100 * ((spec->vcpus > 0 ? spec->vcpus : 1) + 1));
			props[0] = pmem;
			props[1] = ptasks;
			props[2] = pcpu;
		}
		if (sdscope_wrap_props(unit, props, qa->argv, wrapped,
		    sizeof(wrapped) / sizeof(wrapped[0]), unitarg, sizeof(unitarg)) == -1)
			return mcp_err_set(err, MCP_E_INTERNAL, "vm %s: too many QEMU "
			    "arguments", name);
		run = wrapped;
	}

	snprintf(logpath, sizeof(logpath), "%s/qemu.log", vmdir);
	snprintf(sock, sizeof(sock), "%s/qmp.sock", vmdir);
	if ((logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		return mcp_err_errno(err, errno, "vm %s: %s", name, logpath);
	fds[0] = -1;
	fds[1] = fds[2] = logfd;
	fds[3] = tapfd;
	if (spawn_start_fds(run, NULL, fds, tapfd >= 0 ? 4 : 3, &launcher, err) == -1) {
		close(logfd);
		return mcp_err_prefix(err, "vm %s: start qemu", name);
	}
	close(logfd);
	/* setsid -f returns at once; QEMU is its child, reparented */
	status = spawn_reap(launcher, mcp_now_ms() + 10000, 1000, &killed);
	if (status != 0) {
		qemu_log_tail(vmdir, why, sizeof(why));
		return mcp_err_set(err, MCP_E_UNAVAILABLE, "vm %s: starting qemu failed "
		    "(%slauncher exit %d): %s", name, q->systemd_scope ? "systemd-run "
		    "--scope, [agent] systemd_scope = \"no\" starts it without; " : "",
		    status, why);
	}
	while ((pid = qemu_pid_read(vmdir)) == 0 && mcp_now_ms() < deadline)
		mcp_sleep_ms(20);
	if (pid > 0 && q->uid_count > 0 && !q->systemd_scope) {
		struct mcp_err cerr = MCP_ERR_INIT;

		if (qemu_jail_cgroup_enter(vmdir, pid, spec->vcpus, limit, &cerr) == -1)
			log_warnx("vm %s: no cgroup limits: %s", name, cerr.msg);
	}
	/* the greeting comes from the main loop, after the machine is built */
	while (pid > 0 && qemu_pid_trusted(pid, vmdir)) {
		struct qmp qmp = { .fd = -1 };
		long long left = deadline - mcp_now_ms();

		mcp_err_clear(&qerr);
		if (qmp_connect(&qmp, sock, left > 0 ? (int)left : 1, &qerr) == 0) {
			qmp_close(&qmp);
			rc = 0;
			break;
		}
		if (mcp_now_ms() >= deadline)
			break;
		mcp_sleep_ms(20);
	}
	if (rc == 0)
		return 0;
	qemu_log_tail(vmdir, why, sizeof(why));
	if (pid == 0 || !qemu_pid_trusted(pid, vmdir))
		return mcp_err_set(err, MCP_E_UNAVAILABLE, "vm %s: qemu exited while starting: %s",
		    name, why[0] ? why : "(no message in qemu.log)");
	return mcp_err_set(err, MCP_E_UNAVAILABLE, "vm %s: qemu (pid %d) did not answer "
	    "on %s within 30 s: %s", name, (int)pid, sock, qerr.msg);
}

/*
 * Claim vmdir for a new VM: create it, or take over the leftover of a run
 * that was interrupted before it wrote spec.json.  The directory stays
 * flock()ed while run works, so a concurrent run of the same name fails
 * instead of taking it over.
 */
static int
vm_claim(const char *vmdir, const char *name, int *lockfd, struct mcp_err *err)
{
	char spec[PATH_MAX + 16];
	int fd;

	if (mkdir(vmdir, 0700) == -1 && errno != EEXIST)
		return mcp_err_errno(err, errno, "vm %s: mkdir %s", name, vmdir);
	if ((fd = open(vmdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return mcp_err_errno(err, errno, "vm %s: open %s", name, vmdir);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return mcp_err_set(err, MCP_E_EXISTS, "vm %s: being created by another request",
		    name);
	}
	snprintf(spec, sizeof(spec), "%s/spec.json", vmdir);
	if (access(spec, F_OK) == 0) {
		close(fd);
		return mcp_err_set(err, MCP_E_EXISTS, "vm %s: already exists (%s)", name, vmdir);
	}
	*lockfd = fd;
	return 0;
}

static int
qemu_run(struct runtime *rt, const struct rt_spec *spec, struct mcp_err *err)
{
	struct qemu_rt *q = rt->priv;
	struct image_artifact *a = xcalloc(1, sizeof(*a));
	struct qemu_args *qa = xcalloc(1, sizeof(*qa));
	struct image_request req;
	char vmdir[PATH_MAX];
	struct sockaddr_un sun;
	const char *accel;
	char hostname[64], netmask[16], gateway[16], tap[NET_IFNAME_MAX] = "";
	char instance_id[40] = "", kernel_desc[RT_KERNEL_MAX];
	struct image_kernel kinfo;
	struct qemu_machine mach;
	int rc = -1, lockfd = -1, tapfd = -1;
	uid_t uid = 0;

	if (qemu_vm_dir(q->state_dir, spec->name, vmdir, sizeof(vmdir), err) == -1)
		goto out;
	if (spec->memory_mb < q->min_memory_mb) {
		mcp_err_set(err, MCP_E_INVALID, "vm %s: memory_mb %d is below the %d MiB the "
		    "guest kernel needs to boot", spec->name, spec->memory_mb, q->min_memory_mb);
		goto out;
	}
	if (spec_bridged(spec)) {
		uint32_t ip;

		if (!q->has_bridge || !net_bridge_present(&q->bridge)) {
			mcp_err_set(err, MCP_E_PRECONDITION,
			    "vm %s: address %s needs the bridge %s, which does not exist",
			    spec->name, spec->vm_ip, q->has_bridge ? q->bridge.name : "(none)");
			goto out;
		}
		if (net_ip_parse(spec->vm_ip, &ip) == -1 ||
		    (ip & ~((1u << (32 - q->bridge.prefix)) - 1)) != q->bridge.network) {
			mcp_err_set(err, MCP_E_INVALID, "vm %s: address %s is not on %s",
			    spec->name, spec->vm_ip, q->bridge.name);
			goto out;
		}
	}
	if (strlen(vmdir) + strlen("/qmp.sock") >= sizeof(sun.sun_path)) {
		mcp_err_set(err, MCP_E_INVALID, "vm %s: %s/qmp.sock is longer than a Unix "
		    "socket path may be (%zu bytes); use a shorter state_dir", spec->name,
		    vmdir, sizeof(sun.sun_path) - 1);
		goto out;
	}
	if (file_mkdirs(q->state_dir, 0700, err) == -1)
		goto out;
	if (q->uid_count > 0 && qemu_jail_reachable(q->state_dir, err) == -1)
		goto out;
	if (vm_claim(vmdir, spec->name, &lockfd, err) == -1)
		goto out;
	if (q->uid_count > 0 && qemu_jail_claim(q->state_dir, vmdir, q->uid_first,
	    q->uid_count, &uid, err) == -1) {
		mcp_err_prefix(err, "vm %s", spec->name);
		goto out;
	}

	mcp_strlcpy(hostname, spec->name, sizeof(hostname));	/* HOST_NAME_MAX 64 */
	req = (struct image_request){
		.image = spec->image, .cmd = spec->cmd,
		.service = spec->service && spec->service[0] ? spec->service : spec->name,
		.env = spec->env, .volumes = spec->volumes, .nvolumes = spec->nvolumes,
		.hostname = hostname,
		.ip = USER_NET_IP, .netmask = USER_NET_MASK, .gateway = USER_NET_GATEWAY,
	};
	if (spec_bridged(spec)) {
		net_netmask_str(&q->bridge, netmask, sizeof(netmask));
		net_ip_str(q->bridge.gateway, gateway, sizeof(gateway));
		req.ip = spec->vm_ip;
		req.netmask = netmask;
		req.gateway = gateway;
	}
	progress_step(spec->progress, spec->name, "build", "building the VM image "
	    "(kernel + initramfs) from %s", spec->image);
	if (q->builder->ops->build(q->builder, &req, a, err) == -1) {
		mcp_err_prefix(err, "vm %s: build", spec->name);
		goto out;
	}
	if (uid != 0) {
		/* what QEMU's uid may open: the kernel where it is (if others can
		 * read it), the initramfs copied out of the agent's cache; the
		 * copies are what is attested and booted */
		char path[PATH_MAX];

		if (qemu_jail_file(vmdir, uid, a->kernel, NULL, path, sizeof(path), err) == -1)
			goto jail_err;
		mcp_strlcpy(a->kernel, path, sizeof(a->kernel));
		if (qemu_jail_file(vmdir, uid, a->initrd, "initrd", path, sizeof(path),
		    err) == -1)
			goto jail_err;
		mcp_strlcpy(a->initrd, path, sizeof(a->initrd));
	}
	if (attest_check(spec->name, a, err) == -1)
		goto out;
	if (spec->expected_hash && spec->expected_hash[0] &&
	    strcmp(spec->expected_hash, a->hash) != 0) {
		char moved[3 * IMAGE_HASH_MAX + 600] = "";

		if (a->image_prev_id[0])
			snprintf(moved, sizeof(moved), " (image %s now names %s, not %s: "
			    "re-built or re-loaded under the same tag)", spec->image,
			    a->image_id, a->image_prev_id);
		mcp_err_set(err, MCP_E_DATALOSS,
		    "attestation failed for vm %s: kernel %s + initramfs %s hash to %s, "
		    "but %s was recorded when it was deployed%s; refusing to boot "
		    "(deploy again to accept a new build)", spec->name, a->kernel,
		    a->initrd, a->hash, spec->expected_hash, moved);
		goto out;
	}
	accel = qemu_accel_pick(q->accel, "/proc/cpuinfo", "/dev/kvm");
	/* the kernel's manifest says which machine types it can boot */
	if (image_kernel_probe(a->kernel, &kinfo, err) == -1 ||
	    qemu_machine_pick(q->machine, &kinfo, &mach, err) == -1) {
		mcp_err_prefix(err, "vm %s", spec->name);
		goto out;
	}
	image_kernel_describe(&kinfo, kernel_desc, sizeof(kernel_desc));
	vm_tap(q, spec_bridged(spec) ? spec->vm_ip : "", tap, sizeof(tap));
	if (tap[0] && (net_tap_create(&q->bridge, tap, uid != 0 ? (long)uid : -1,
	    err) == -1 || net_tap_open(tap, &tapfd, err) == -1)) {
		mcp_err_prefix(err, "vm %s", spec->name);
		goto out;
	}
	progress_step(spec->progress, spec->name, "boot", "booting the VM (%s, %d MiB%s)",
	    accel, spec->memory_mb, a->cached ? ", cached build" : "");
	if (vm_instance_id(instance_id, sizeof(instance_id), err) == -1 ||
	    qemu_args_build(q, vmdir, spec, a, accel, &mach, uid, qa, err) == -1 ||
	    spec_write(vmdir, spec, a, accel, qa->cmdline, qa->argv, instance_id,
	    mach.name, kernel_desc, err) == -1 ||
	    qemu_start(q, vmdir, spec, accel, qa, tapfd, err) == -1)
		goto out;
	log_info("vm %s: started (%s, -M %s, kernel %s, %d MiB, %s, image %s = %s, %s%s%s%s)",
	    spec->name, accel, mach.name, kernel_desc, spec->memory_mb, a->hash, spec->image,
	    a->image_id, a->exec,
	    a->cached ? ", cached build" : "", a->image_prev_id[0] ? ", tag moved from " : "",
	    a->image_prev_id);
	rc = 0;
	if (spec->id_out && spec->id_outsz)
		mcp_strlcpy(spec->id_out, instance_id, spec->id_outsz);
	goto out;
jail_err:
	mcp_err_prefix(err, "vm %s", spec->name);
out:
	if (tapfd >= 0)
		close(tapfd);
	if (rc == -1 && lockfd >= 0) {
		pid_t pid = qemu_pid_read(vmdir);

		if (pid > 0) {
			kill(pid, SIGKILL);
			wait_gone(vmdir, pid, mcp_now_ms() + 3000);
		}
		qemu_jail_cgroup_remove(vmdir);
		qemu_vm_dir_remove(vmdir, NULL);
	}
	if (rc == -1 && tap[0])
		net_tap_delete(tap, NULL);
	if (lockfd >= 0)
		close(lockfd);
	buf_free(&qa->netdev);
	free(qa);
	free(a);
	return rc;
}

/* ---- stop / remove ---- */

static int
qemu_stop_vm(struct runtime *rt, const char *name, int timeout_s, struct mcp_err *err);

/* Stop the VM, then drop its TAP (a stopped VM holds no interface). */
static int
qemu_stop(struct runtime *rt, const char *name, int timeout_s, struct mcp_err *err)
{
	struct qemu_rt *q = rt->priv;
	char vmdir[PATH_MAX], tap[NET_IFNAME_MAX];
	struct rt_info info;
	int rc;

	if (qemu_vm_dir(q->state_dir, name, vmdir, sizeof(vmdir), err) == -1 ||
	    qemu_vm_inspect(vmdir, &info, err) == -1)
		return -1;
	rc = qemu_stop_vm(rt, name, timeout_s, err);
	if (rc == 0)
		qemu_jail_cgroup_remove(vmdir);
	vm_tap(q, info.vm_ip, tap, sizeof(tap));
	if (rc == 0 && tap[0] && net_tap_delete(tap, err) == -1)
		return mcp_err_prefix(err, "vm %s", name);
	return rc;
}

static int
qemu_stop_vm(struct runtime *rt, const char *name, int timeout_s, struct mcp_err *err)
{
	struct qemu_rt *q = rt->priv;
	char vmdir[PATH_MAX], sock[PATH_MAX + 16], pidfile[PATH_MAX + 16];
	struct mcp_err qerr = MCP_ERR_INIT;
	struct qmp qmp = { .fd = -1 };
	struct rt_info info;
	long long deadline;
	pid_t pid;

	if (qemu_vm_dir(q->state_dir, name, vmdir, sizeof(vmdir), err) == -1 ||
	    qemu_vm_inspect(vmdir, &info, err) == -1)
		return -1;
	if ((pid = (pid_t)info.pid) <= 0)
		return 0;	/* already stopped */
	if (timeout_s <= 0)
		timeout_s = q->stop_timeout_s;
	deadline = mcp_now_ms() + (long long)timeout_s * 1000;
	snprintf(sock, sizeof(sock), "%s/qmp.sock", vmdir);

	/* 1. ACPI power button: mcp-init sends SIGTERM, the app exits, power off */
	if (qmp_connect(&qmp, sock, 2000, &qerr) == 0 &&
	    qmp_execute(&qmp, "system_powerdown", 2000, &qerr) == 0) {
		long long left = deadline - mcp_now_ms();

		/* after SHUTDOWN (or EOF) QEMU exits by itself (no -no-shutdown) */
		if (qmp_wait_shutdown(&qmp, left > 0 ? (int)left : 0) >= 0 &&
		    wait_gone(vmdir, pid, mcp_now_ms() + 2000)) {
			qmp_close(&qmp);
			return 0;
		}
	} else {
		log_warnx("vm %s: stop: %s; forcing", name, qerr.msg);
	}
	/* 2. QMP quit */
	log_warnx("vm %s: no shutdown within %d s; sending QMP quit", name, timeout_s);
	if (qmp.fd < 0)
		qmp_connect(&qmp, sock, 1000, NULL);
	if (qmp.fd >= 0)
		qmp_execute(&qmp, "quit", 1000, NULL);
	qmp_close(&qmp);
	if (wait_gone(vmdir, pid, mcp_now_ms() + 3000))
		return 0;
	/* 3. SIGKILL, re-checking that the PID is still this VM's QEMU */
	log_warnx("vm %s: QEMU (pid %d) ignored quit; killing", name, (int)pid);
	if (qemu_pid_trusted(pid, vmdir))
		kill(pid, SIGKILL);
	if (!wait_gone(vmdir, pid, mcp_now_ms() + 3000))
		return mcp_err_set(err, MCP_E_INTERNAL, "vm %s: QEMU pid %d survives SIGKILL",
		    name, (int)pid);
	snprintf(pidfile, sizeof(pidfile), "%s/qemu.pid", vmdir);
	unlink(pidfile);
	return 0;
}

static int
qemu_remove(struct runtime *rt, const char *name, int force, struct mcp_err *err)
{
	struct qemu_rt *q = rt->priv;
	char vmdir[PATH_MAX];

	if (qemu_vm_dir(q->state_dir, name, vmdir, sizeof(vmdir), err) == -1)
		return -1;
	if (access(vmdir, F_OK) == -1 && errno == ENOENT)
		return 0;
	if (qemu_pid_read(vmdir) > 0) {
		if (!force)
			return mcp_err_set(err, MCP_E_PRECONDITION,
			    "vm %s: is running; stop it first", name);
		if (qemu_stop(rt, name, q->stop_timeout_s, err) == -1)
			return mcp_err_prefix(err, "remove");
	}
	{
		struct rt_info info;
		char tap[NET_IFNAME_MAX];

		/* a VM that died on its own left its TAP behind */
		if (qemu_vm_inspect(vmdir, &info, NULL) == 0) {
			vm_tap(q, info.vm_ip, tap, sizeof(tap));
			if (tap[0] && net_tap_delete(tap, err) == -1)
				return mcp_err_prefix(err, "remove vm %s", name);
		}
	}
	qemu_jail_cgroup_remove(vmdir);
	return qemu_vm_dir_remove(vmdir, err);
}

/* ---- inspect / list / logs ---- */

static int
qemu_inspect(struct runtime *rt, const char *name, struct rt_info *out,
    struct mcp_err *err)
{
	struct qemu_rt *q = rt->priv;
	char vmdir[PATH_MAX];

	if (qemu_vm_dir(q->state_dir, name, vmdir, sizeof(vmdir), err) == -1)
		return -1;
	if (qemu_vm_inspect(vmdir, out, err) == -1) {
		if (err && err->code == MCP_E_NOTFOUND)
			mcp_err_set(err, MCP_E_NOTFOUND, "vm %s: no such VM", name);
		return -1;
	}
	return 0;
}

static int
qemu_list(struct runtime *rt, struct rt_info **out, size_t *n, struct mcp_err *err)
{
	struct qemu_rt *q = rt->priv;
	struct rt_info *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	if ((d = opendir(q->state_dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return mcp_err_errno(err, errno, "list vms: %s", q->state_dir);
	}
	while ((de = readdir(d)) != NULL) {
		char vmdir[PATH_MAX];
		struct rt_info info;

		/* "." entries and half-created or foreign directories are skipped */
		if (qemu_vm_dir(q->state_dir, de->d_name, vmdir, sizeof(vmdir), NULL) == -1 ||
		    qemu_vm_inspect(vmdir, &info, NULL) == -1)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			v = realloc(v, cap * sizeof(*v));
			if (v == NULL)
				abort();
		}
		v[cnt++] = info;
	}
	closedir(d);
	*out = v;
	*n = cnt;
	return 0;
}

static int
qemu_logs(struct runtime *rt, const char *name, int tail, int follow, rt_log_cb cb,
    void *arg, struct mcp_err *err)
{
	struct qemu_rt *q = rt->priv;
	char vmdir[PATH_MAX];

	if (qemu_vm_dir(q->state_dir, name, vmdir, sizeof(vmdir), err) == -1)
		return -1;
	return qemu_logs_read(vmdir, tail, follow, cb, arg, err);
}

/* ---- lifetime ---- */

static void
qemu_free(struct runtime *rt)
{
	struct qemu_rt *q;

	if (rt == NULL)
		return;
	q = rt->priv;
	if (q->own_builder)
		image_builder_free(q->builder);
	free(q->binary);
	free(q->kernel);
	free(q->modules_dir);
	free(q->state_dir);
	free(q->cache_dir);
	free(q->accel);
	free(q->mcp_init);
	free(q->cmdline_extra);
	free(q->machine);
	free(q);
	free(rt);
}

static const struct runtime_ops qemu_ops = {
	.name = "unikernel",
	.pull = qemu_pull,
	.image_exists = qemu_image_exists,
	.run = qemu_run,
	.stop = qemu_stop,
	.remove = qemu_remove,
	.inspect = qemu_inspect,
	.list = qemu_list,
	.logs = qemu_logs,
	.free = qemu_free,
};

struct runtime *
qemu_runtime_new(const struct qemu_config *cfg, struct mcp_err *err)
{
	struct qemu_rt *q;
	struct runtime *rt;
	uid_t uid_first;
	unsigned uid_count;

	if (cfg->accel && strcmp(cfg->accel, "auto") && strcmp(cfg->accel, "kvm") &&
	    strcmp(cfg->accel, "tcg")) {
		mcp_err_set(err, MCP_E_INVALID, "qemu runtime: accel \"%s\": want auto, kvm or tcg",
		    cfg->accel);
		return NULL;
	}
	if (cfg->machine && cfg->machine[0] && strcmp(cfg->machine, "auto") &&
	    strcmp(cfg->machine, "pc") && strcmp(cfg->machine, "microvm")) {
		mcp_err_set(err, MCP_E_INVALID, "qemu runtime: machine \"%s\": want auto, pc or "
		    "microvm", cfg->machine);
		return NULL;
	}
	if (cfg->builder == NULL && cfg->podman == NULL) {
		mcp_err_set(err, MCP_E_INVALID, "qemu runtime: needs a podman config or a builder");
		return NULL;
	}
	if (qemu_jail_range_parse(cfg->vm_uids ? cfg->vm_uids : QEMU_JAIL_DEFAULT_UIDS,
	    &uid_first, &uid_count, err) == -1) {
		mcp_err_prefix(err, "qemu runtime");
		return NULL;
	}
	q = xcalloc(1, sizeof(*q));
	q->binary = xstrdup(cfg->binary ? cfg->binary : DEF_BINARY);
	q->kernel = kernel_resolved(cfg->kernel && cfg->kernel[0] ? cfg->kernel :
	    qemu_kernel_default());
	q->modules_dir = xstrdup(cfg->modules_dir ? cfg->modules_dir : DEF_MODULES);
	q->state_dir = state_dir_canonical(cfg->state_dir ? cfg->state_dir : DEF_STATE);
	q->cache_dir = xstrdup(cfg->cache_dir ? cfg->cache_dir : DEF_CACHE);
	q->accel = xstrdup(cfg->accel ? cfg->accel : "auto");
	q->machine = xstrdup(cfg->machine && cfg->machine[0] ? cfg->machine : "auto");
	q->mcp_init = cfg->mcp_init ? xstrdup(cfg->mcp_init) : default_mcp_init();
	q->cmdline_extra = cfg->cmdline_extra ? xstrdup(cfg->cmdline_extra) : NULL;
	q->stop_timeout_s = cfg->stop_timeout_s > 0 ? cfg->stop_timeout_s : DEF_STOP_S;
	q->tcg_tb_mb = cfg->tcg_tb_mb == 0 ? DEF_TB_MB : cfg->tcg_tb_mb;
	q->systemd_scope = cfg->systemd_scope;
	q->min_memory_mb = cfg->min_memory_mb > 0 ? cfg->min_memory_mb : DEF_MIN_MEM_MB;
	if (cfg->bridge) {
		q->bridge = *cfg->bridge;
		q->has_bridge = 1;
	}
	q->uid_first = uid_first;
	q->uid_count = uid_count;
	if (q->uid_count > 0 && geteuid() != 0) {
		log_warnx("qemu runtime: not root: VMs run as this user, without a uid "
		    "of their own or cgroup limits");
		q->uid_count = 0;
	}
	rt = xcalloc(1, sizeof(*rt));
	rt->ops = &qemu_ops;
	rt->priv = q;
	if (cfg->builder) {
		q->builder = cfg->builder;
	} else {
		struct initramfs_config ic = {
			.podman = cfg->podman, .kernel = q->kernel, .modules_dir = q->modules_dir,
			.mcp_init = q->mcp_init, .cache_dir = q->cache_dir,
		};

		q->builder = initramfs_builder_new(&ic, err);
		if (q->builder == NULL) {
			qemu_free(rt);
			return NULL;
		}
		q->own_builder = 1;
	}
	return rt;
}
