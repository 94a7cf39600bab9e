/*
 * runtime/qemu.h: the unikernel runtime (SPEC §4.1): one QEMU VM per
 * component, booted from a kernel + initramfs that an image builder
 * (lib/image) makes from the component's OCI image.
 *
 * State lives only on disk, one directory per VM under state_dir, named by
 * the instance name (svc_instance_name):
 *   spec.json     what the VM was started with (service, component, image,
 *                 memory, vCPUs, ports, kernel, initrd, attestation hash,
 *                 the QEMU argv, started_at, the agent's spec_hash and a
 *                 random instance_id: the VM's identity)
 *   qemu.pid      written by QEMU (-pidfile), removed by QEMU on exit
 *   qmp.sock      the QMP control socket
 *   console.log   the serial console: kernel errors, mcp-init, the app
 * A PID from qemu.pid is trusted only when /proc/<pid>/cmdline names this
 * directory, so a stale pidfile whose PID the kernel reused is ignored.
 * QEMU runs with -daemonize and outlives the agent (under systemd in its
 * own scope, mcp-vm-<name>.scope: qemu_config.systemd_scope); a new agent
 * finds every VM again from these directories alone.
 *
 * Run builds (or reuses) the artifact, re-hashes kernel + initramfs and
 * refuses to boot on a mismatch (MCP_E_DATALOSS, "attestation failed ...
 * expected ... actual ..."), then starts QEMU with user-mode networking
 * (restrict=on, hostfwd=tcp:127.0.0.1:<host_port>-:<port> per port).
 * Stop: QMP system_powerdown (mcp-init turns it into SIGTERM for the app),
 * wait for SHUTDOWN / exit, then QMP quit, then SIGKILL.
 *
 * QEMU runs jailed (qemu_jail.c): a uid of its own, no capabilities,
 * seccomp, a cgroup; it is started by setsid -f (not -daemonize, which the
 * sandbox forbids) and is ready when QMP greets.  Its stderr goes to
 * qemu.log in the VM directory.
 *
 * Files: qemu.c (runtime ops), qemu_state.c (state dirs, pid trust,
 * spec.json), qemu_qmp.c (QMP client), qemu_logs.c (console tail/follow),
 * qemu_machine.c (default kernel, machine type from the kernel's manifest),
 * qemu_jail.c (uid, files, cgroup, launcher).
 */
#ifndef MCP_RUNTIME_QEMU_H
#define MCP_RUNTIME_QEMU_H

#include <stddef.h>
#include <sys/types.h>

#include "net/net.h"
#include "runtime/runtime.h"
#include "util/buf.h"
#include "util/err.h"

struct image_builder;

struct qemu_config {
	const char *binary;		/* default "qemu-system-x86_64" */
	const char *kernel;		/* default qemu_kernel_default() */
	const char *modules_dir;	/* default /var/lib/mcp/kernel/modules; unused
					   when the kernel's manifest says modules=none */
	const char *machine;		/* "auto" (default: microvm when the kernel
					   can, else pc) | "pc" | "microvm" */
	const char *state_dir;		/* default /var/lib/mcp/vm; one dir per VM */
	const char *cache_dir;		/* default /var/lib/mcp/vm-cache */
	const char *accel;		/* "auto" (default) | "kvm" | "tcg" */
	const struct podman_config *podman;	/* required (borrowed) unless builder set */
	const char *mcp_init;		/* default: mcp-init beside /proc/self/exe */
	int stop_timeout_s;		/* stop() with timeout_s <= 0, remove(force); default 10 */
	const char *cmdline_extra;	/* appended to the kernel command line */
	int tcg_tb_mb;			/* TCG translation cache (MiB); 0 = 64, < 0 = QEMU default */
	int min_memory_mb;		/* refuse smaller VMs (the Debian kernel panics at
					   80 MiB, boots at 96); 0 = 96 */
	struct image_builder *builder;	/* NULL: an initramfs builder from the fields
					   above; else borrowed, must outlive the runtime */
	/*
	 * Bridge mode (SPEC §4.2): a VM whose spec has a vm_ip (and not
	 * network = "user") gets a TAP on this bridge (created before boot,
	 * deleted when it stops), a MAC from its name, its address with the
	 * bridge's netmask and gateway, and no host port forwards.  NULL: only
	 * user-mode networking.  Copied.
	 */
	const struct net_bridge *bridge;
	/*
	 * 1: start QEMU through `systemd-run --scope` in a transient unit
	 * mcp-vm-<name>.scope (util/sdscope.h), so that it is outside the
	 * agent's cgroup and no stop of the agent's unit reaches it.
	 */
	int systemd_scope;
	/*
	 * The jail (qemu_jail.c): each VM's QEMU runs as a uid of its own from
	 * "FIRST-LAST" (NULL: the default range, "": no jail; an agent that is
	 * not root never jails), seccomp-sandboxed, in a cgroup of its own.
	 */
	const char *vm_uids;
};

/* The unikernel runtime; copies what it needs from cfg. */
struct runtime *qemu_runtime_new(const struct qemu_config *cfg, struct mcp_err *err);

/*
 * 1 when the unikernel runtime can work on this node (QEMU binary, kernel,
 * modules and mcp-init present), else 0 with the reason in why.
 */
int qemu_runtime_available(const struct qemu_config *cfg, char *why, size_t whysz);

/*
 * The default guest kernel, the first present of:
 * /var/lib/mcp/kernel/minimal/vmlinux (built here by
 * scripts/build-guest-kernel.sh), /usr/lib/mcp/guest-kernel/vmlinux (the
 * mcp-guest-kernel package, `make deb-kernel`), Debian's packaged
 * /var/lib/mcp/kernel/vmlinux (scripts/fetch-kernel.sh, the fallback).
 */
const char *qemu_kernel_default(void);

/* ---- internals shared by qemu*.c, exposed for tests ---- */

struct image_kernel;

/* The -M value per machine type.  microvm: ACPI on (the power button is how
 * a VM is stopped); its PIT, PIC and RTC stay as QEMU sets them. */
#define QEMU_PC_M	"pc"
#define QEMU_MICROVM_M	"microvm,acpi=on"

struct qemu_machine {
	const char *name;	/* "pc" | "microvm" */
	const char *m_arg;	/* the -M value */
	const char *nic;	/* the virtio-net device model */
};

/*
 * The machine for want ("auto"/NULL/"": microvm when kernel k has
 * everything built in incl. virtio-mmio, virtio-net, the ACPI button and
 * evdev, else pc); MCP_E_INVALID for an unknown want, MCP_E_PRECONDITION for
 * microvm with a kernel that cannot boot on it.
 */
int qemu_machine_pick(const char *want, const struct image_kernel *k,
    struct qemu_machine *out, struct mcp_err *err);

/*
 * Kernel command-line words machine m needs under accel: on microvm under
 * TCG "tsc_early_khz=<tsc_khz>" (the guest cannot calibrate its TSC there,
 * see qemu_machine.c); else "".  tsc_khz <= 0: nothing.
 */
void qemu_machine_cmdline(const struct qemu_machine *m, const char *accel, long tsc_khz,
    char *out, size_t outsz);
/* The host's TSC frequency in kHz, measured once (~50 ms); 0 if unknown. */
long qemu_host_tsc_khz(void);
/* kHz from two (TSC, CLOCK_MONOTONIC_RAW ns) readings; 0 when implausible. */
long qemu_tsc_khz_from(unsigned long long tsc0, long long ns0, unsigned long long tsc1,
    long long ns1);

/* "kvm" when want is "kvm", or "auto" and cpuinfo has vmx/svm and kvm_dev
 * exists; else "tcg".  Paths are parameters so tests can fake them. */
const char *qemu_accel_pick(const char *want, const char *cpuinfo_path,
    const char *kvm_dev);

/* 1 when pid is alive (not a zombie) and its cmdline names vmdir + "/". */
int qemu_pid_trusted(pid_t pid, const char *vmdir);
/* The trusted PID from vmdir/qemu.pid, or 0 (absent, stale, not QEMU's). */
pid_t qemu_pid_read(const char *vmdir);

/* The exit status mcp-init printed last in console.log, or -1. */
int qemu_console_exit_status(const char *vmdir);

/* state_dir/name into out; -1 (MCP_E_INVALID) for a name unfit for a path. */
int qemu_vm_dir(const char *state_dir, const char *name, char *out, size_t outsz,
    struct mcp_err *err);
/* Fill *out from vmdir; -1 with MCP_E_NOTFOUND when it holds no spec.json. */
int qemu_vm_inspect(const char *vmdir, struct rt_info *out, struct mcp_err *err);
/* rm -rf vmdir (absent is success). */
int qemu_vm_dir_remove(const char *vmdir, struct mcp_err *err);
/* The runtime's logs op on vmdir/console.log (qemu_logs.c). */
int qemu_logs_read(const char *vmdir, int tail, int follow, rt_log_cb cb, void *arg,
    struct mcp_err *err);

/* ---- the jail (qemu_jail.c) ---- */

#define QEMU_JAIL_DEFAULT_UIDS "1879048192-1879049215"
#define QEMU_SANDBOX "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"

/* "FIRST-LAST" into *first, *count; "" or NULL: count 0 (no jail). */
int qemu_jail_range_parse(const char *s, uid_t *first, unsigned *count,
    struct mcp_err *err);
/* The memory ceiling of a VM's cgroup: guest RAM, the TCG translation
 * buffer (tb_mb <= 0: QEMU's default) when tcg, QEMU's own overhead. */
/* Tasks one VM's QEMU may have (its cgroup's pids.max / TasksMax=). */
#define QEMU_JAIL_PIDS_MAX 128
int qemu_jail_memory_limit_mb(int memory_mb, int tcg, int tb_mb);
/* The cgroup of the VM in vmdir ("mcp-vm-" + 16 hex digits of its path). */
void qemu_jail_cgroup_name(const char *vmdir, char *out, size_t outsz);
/* state_dir and its parents searchable by others (ours made so, o+x). */
int qemu_jail_reachable(const char *state_dir, struct mcp_err *err);
/* Allocate the VM's uid and give vmdir to it (root:<uid> 01770). */
int qemu_jail_claim(const char *state_dir, const char *vmdir, uid_t first,
    unsigned count, uid_t *uid, struct mcp_err *err);
/* The path QEMU opens for src: src itself when others can read it and name
 * is NULL, else a copy vmdir/<name> (root:<uid> 0640). */
int qemu_jail_file(const char *vmdir, uid_t uid, const char *src, const char *name,
    char *out, size_t outsz, struct mcp_err *err);
/* Move pid into the VM's cgroup with its limits (created as needed). */
int qemu_jail_cgroup_enter(const char *vmdir, pid_t pid, int vcpus, int limit_mb,
    struct mcp_err *err);
/* Remove the VM's cgroup (best effort; its QEMU must be gone). */
void qemu_jail_cgroup_remove(const char *vmdir);
/* The launcher argv prefix (setsid -f [setpriv ... --] when uid != 0) into
 * argv (max entries); ubuf/gbuf hold strings it points at.  Its length. */
int qemu_jail_argv(uid_t uid, const char **argv, size_t max, char *ubuf, char *gbuf,
    size_t bufsz);

/* A QMP connection (line-delimited JSON over a Unix socket). */
struct qmp {
	int fd;
	struct buf in;		/* received, not yet parsed */
	int shutdown;		/* a SHUTDOWN event was seen */
};

/* Take over fd: read the greeting, negotiate qmp_capabilities. */
int qmp_open_fd(struct qmp *q, int fd, int timeout_ms, struct mcp_err *err);
int qmp_connect(struct qmp *q, const char *path, int timeout_ms, struct mcp_err *err);
/* Execute a command without arguments; 0 on "return", -1 on "error"/EOF/timeout. */
int qmp_execute(struct qmp *q, const char *command, int timeout_ms, struct mcp_err *err);
/* 0 SHUTDOWN seen, 1 QEMU closed the connection, -1 timeout. */
int qmp_wait_shutdown(struct qmp *q, int timeout_ms);
void qmp_close(struct qmp *q);

#endif
