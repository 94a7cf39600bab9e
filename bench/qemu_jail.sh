#!/bin/bash
# bench/deploy_unikernel.sh [RUNS]: unikernel deploy-to-first-HTTP-answer
# through `mcp deploy` versus booting the same kernel + initramfs with a
# hand-written QEMU command line to first answer, side by side (median of
# RUNS, default 3; the ratio is the agent's overhead); the same hand-written
# boot jailed as the agent jails it (setsid -f + setpriv to a uid of its
# own, -sandbox, initramfs copy, cgroup) versus unjailed (the jail's cost,
# target <= 1.05); image build time cold and cached; QEMU RSS per VM
# beyond memory_mb and where it goes (smaps: guest RAM, the TCG
# translation buffer, QEMU's heap, the guest kernel's file which QEMU keeps
# mapped, binary and libraries), with QEMU's default TCG buffer and with
# -accel tcg,tb-size=64.  Run it without nice(1): a niced unjailed QEMU
# loses CPU that the jailed one (in a cgroup of its own) does not.
set -u
cd "$(dirname "$0")/.."
. tests/lib/agent.sh
. bench/lib.sh
RUNS=${1:-3}
ACCEL=tcg
grep -qE 'vmx|svm' /proc/cpuinfo && [ -e /dev/kvm ] && ACCEL=kvm

T=$(mktemp -d /tmp/mcp-bench-uk.XXXXXX)
RAW_PID=
JAIL_UID=1879999999
JAIL_CG=
cleanup() {
	[ -n "$RAW_PID" ] && kill -9 "$RAW_PID" 2>/dev/null
	jail_kill
	[ -n "$JAIL_CG" ] && for c in memory pids cpu; do rmdir "/sys/fs/cgroup/$c/$JAIL_CG" 2>/dev/null; done
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT


hello_registry "$T" v1.0.0 >/dev/null || exit 1
podman_env_cleanup "$T/img/podman"
AGENT_EXTRA_UNIKERNEL="vcpus = 8"
agent_env_init "$T/agent" "$REGISTRY" || exit 1
agent_start || exit 1
def() { printf 'name = "uk"\nruntime = "unikernel"\n[[components]]\nname = "uk"\nimage = "%s"\nmemory_mb = %d\n[[components.routes]]\nport = 8080\n' "$REGISTRY/hello:v1.0.0" "$1"; }
def 128 >"$T/uk.toml"
port_of() { sed -n 's/.*"host_port": \([0-9]*\).*/\1/p' <<<"$1" | head -1; }

# QEMU's memory beyond guest RAM, by mapping (smaps of a booted VM)
smaps_report() { # PID MEMORY_MB LABEL
	/usr/bin/python3 - "$1" "$2" "$3" "$(readlink -f "$MCP_KERNEL_DIR/vmlinux")" <<'PY'
import re, sys
pid, mem_mb, label, kernel = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
cats = {"guest RAM": 0, "TCG translation buffer": 0, "QEMU heap/anon": 0,
        "kernel file mapped (shared page cache)": 0, "QEMU binary + libraries": 0}
cur = None
for line in open(f"/proc/{pid}/smaps"):
    m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
    if m:
        cur = {"size": (int(m.group(2), 16) - int(m.group(1), 16)) // 1024,
               "perms": m.group(3), "path": m.group(4)}
        continue
    if line.startswith("Rss:") and cur is not None:
        rss = int(line.split()[1])
        if cur["path"] == kernel:
            cats["kernel file mapped (shared page cache)"] += rss
        elif cur["path"] and not cur["path"].startswith("["):
            cats["QEMU binary + libraries"] += rss
        elif not cur["path"] and mem_mb * 1024 <= cur["size"] <= mem_mb * 1024 + 4096:
            cats["guest RAM"] += rss
        elif not cur["path"] and "x" in cur["perms"] and cur["size"] >= 16384:
            cats["TCG translation buffer"] += rss
        else:
            cats["QEMU heap/anon"] += rss
total = sum(cats.values())
print(f"{label}: RSS {total // 1024} MB for memory_mb {mem_mb}, {max(0, total // 1024 - mem_mb)} MB beyond it;", end="")
print(",".join(f" {k} {v // 1024} MB" for k, v in cats.items()))
PY
}
# cold build (first deploy: pull + extract + initramfs) vs cached
t0=$(now_ms); out=$(mcp --json deploy "$T/uk.toml"); cold=$(($(now_ms) - t0))
wait_200 "http://127.0.0.1:$(port_of "$out")/" || { echo "no answer from the VM"; exit 1; }
RSS_KB=$(awk '/^VmRSS/ {print $2}' "/proc/$(cat "$AGENT_DIR/state/vms/uk/qemu.pid")/status")
AGENT_RSS=$(smaps_report "$(cat "$AGENT_DIR/state/vms/uk/qemu.pid")" 128 "agent's VM")
mcp undeploy uk >/dev/null
t0=$(now_ms); out=$(mcp --json deploy "$T/uk.toml"); cached=$(($(now_ms) - t0))
mcp undeploy uk >/dev/null
KERNEL=$MCP_KERNEL_DIR/vmlinux
INITRD=$(find "$AGENT_DIR/state/images" -name initramfs.cpio | head -1)

# the agent's jail around the same hand-written command line
mkdir -p "$T/jail"
chmod o+x "$T"
chown "root:$JAIL_UID" "$T/jail"
chmod 01770 "$T/jail"
JAIL_CG=mcp-vm-bench$$
jail_kill() {
	local p
	p=$(cat "$T/jail/qemu.pid" 2>/dev/null) || return 0
	[ -n "$p" ] && grep -q "$T/jail/" "/proc/$p/cmdline" 2>/dev/null && kill -9 "$p"
	rm -f "$T/jail/qemu.pid"
}
jail_boot() { # PORT [nocg]: as the agent starts a VM, first answer
	local p=$1 pid c
	cp "$INITRD" "$T/jail/initrd.tmp" && chown "root:$JAIL_UID" "$T/jail/initrd.tmp" &&
		chmod 0640 "$T/jail/initrd.tmp" && mv "$T/jail/initrd.tmp" "$T/jail/initrd"
	setsid -f setpriv --reuid=$JAIL_UID --regid=$JAIL_UID --clear-groups --inh-caps=-all \
		--bounding-set=-all --no-new-privs -- \
		qemu-system-x86_64 -nodefaults -no-user-config -display none -monitor none \
		-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny \
		-pidfile "$T/jail/qemu.pid" -serial "file:$T/jail/console.log" -accel "$ACCEL" \
		-m 128 -smp 1 -kernel "$KERNEL" -initrd "$T/jail/initrd" \
		-append "console=ttyS0 quiet panic=-1" \
		-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$p-:8080" \
		-device virtio-net-pci,netdev=n0 </dev/null >/dev/null 2>&1
	for _ in $(seq 1 500); do pid=$(cat "$T/jail/qemu.pid" 2>/dev/null) && [ -n "$pid" ] && break; sleep 0.01; done
	for c in memory pids cpu; do
		[ "${2:-}" = nocg ] && break
		mkdir -p "/sys/fs/cgroup/$c/$JAIL_CG" 2>/dev/null &&
			echo "$pid" >"/sys/fs/cgroup/$c/$JAIL_CG/cgroup.procs" 2>/dev/null
	done
	echo $(((128 + 1024 + 160) << 20)) >"/sys/fs/cgroup/memory/$JAIL_CG/memory.limit_in_bytes" 2>/dev/null
	echo 2048 >"/sys/fs/cgroup/cpu/$JAIL_CG/cpu.shares" 2>/dev/null
	echo 128 >"/sys/fs/cgroup/pids/$JAIL_CG/pids.max" 2>/dev/null
	wait_200 "http://127.0.0.1:$p/"
}
raw_boot() { # PORT [ACCEL]: unjailed, first answer; RAW_PID set
	qemu-system-x86_64 -nodefaults -no-user-config -display none -monitor none \
		-serial "file:$T/raw-console.log" -accel "${2:-$ACCEL}" -m 128 -smp 1 \
		-kernel "$KERNEL" -initrd "$INITRD" -append "console=ttyS0 quiet panic=-1" \
		-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$1-:8080" \
		-device virtio-net-pci,netdev=n0 &
	RAW_PID=$!
	wait_200 "http://127.0.0.1:$1/"
}
raw_stop() { kill -9 "$RAW_PID"; wait "$RAW_PID" 2>/dev/null; RAW_PID=; }

unj=() jl=() jn=() tb=()
for i in $(seq 1 "$RUNS"); do
	p=$(free_port 40000 50000)
	t0=$(now_ms)
	raw_boot "$p" || echo "unjailed boot $i: no answer" >&2
	unj+=($(($(now_ms) - t0)))
	[ "$i" = 1 ] && RAW_RSS=$(smaps_report "$RAW_PID" 128 "unjailed QEMU (tb-size default)")
	raw_stop
	p=$(free_port 40000 50000)
	t0=$(now_ms)
	jail_boot "$p" || echo "jailed boot $i: no answer" >&2
	jl+=($(($(now_ms) - t0)))
	if [ "$i" = 1 ]; then
		JPID=$(cat "$T/jail/qemu.pid")
		JAIL_RSS=$(smaps_report "$JPID" 128 "jailed QEMU (tb-size default)")
		JAIL_STATUS="uid $(awk '$1=="Uid:"{print $2}' /proc/$JPID/status), Seccomp $(awk '$1=="Seccomp:"{print $2}' /proc/$JPID/status), CapEff $(awk '$1=="CapEff:"{print $2}' /proc/$JPID/status)"
	fi
	jail_kill
	p=$(free_port 40000 50000)
	t0=$(now_ms)
	jail_boot "$p" nocg || echo "jailed boot without cgroup $i: no answer" >&2
	jn+=($(($(now_ms) - t0)))
	jail_kill
	if [ "$ACCEL" = tcg ]; then
		p=$(free_port 40000 50000)
		t0=$(now_ms)
		raw_boot "$p" tcg,tb-size=64 || echo "tb-size=64 boot $i: no answer" >&2
		tb+=($(($(now_ms) - t0)))
		[ "$i" = 1 ] && TB_RSS=$(smaps_report "$RAW_PID" 128 "unjailed QEMU, tb-size=64")
		raw_stop
	fi
done
compare "jailed vs unjailed hand-written QEMU, boot to first HTTP answer (accel $ACCEL, median of $RUNS):" \
	1.05 "unjailed qemu" unj "jailed qemu" jl "ratio jailed/unjailed"
echo "  jailed QEMU: $JAIL_STATUS"
# the cgroup's CPU weight (vCPUs + 1 default tasks, at the top level) also
# shields the VM from the host's other load, and from the nice value of
# whoever started it: the jail's mechanism alone is measured without it
compare "the same without the cgroup (uid, no capabilities, seccomp, initramfs copy only):" \
	1.05 "unjailed qemu" unj "jailed, no cgroup" jn "ratio jailed/unjailed"
if [ "$ACCEL" = tcg ]; then
	compare "TCG translation buffer 64 MiB vs QEMU's default (1 GiB), boot to first answer:" \
		1.05 "tb-size default" unj "tb-size=64" tb "ratio 64/default"
fi
echo "$RAW_RSS"
echo "$JAIL_RSS"
[ "$ACCEL" = tcg ] && echo "$TB_RSS"

raw=() agent=() calls=()
for i in $(seq 1 "$RUNS"); do
	p=$(free_port 40000 50000)
	t0=$(now_ms)
	qemu-system-x86_64 -nodefaults -no-user-config -display none -monitor none \
		-serial "file:$T/raw-console.log" -accel "$ACCEL" -m 128 -smp 1 \
		-kernel "$KERNEL" -initrd "$INITRD" -append "console=ttyS0 quiet panic=-1" \
		-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$p-:8080" \
		-device virtio-net-pci,netdev=n0 &
	RAW_PID=$!
	wait_200 "http://127.0.0.1:$p/" || echo "raw boot $i: no answer" >&2
	raw+=($(($(now_ms) - t0)))
	kill -9 "$RAW_PID"; wait "$RAW_PID" 2>/dev/null; RAW_PID=

	t0=$(now_ms)
	out=$(mcp --json deploy "$T/uk.toml")
	calls+=($(($(now_ms) - t0)))
	wait_200 "http://127.0.0.1:$(port_of "$out")/" || echo "mcp run $i: no answer" >&2
	agent+=($(($(now_ms) - t0)))
	mcp undeploy uk >/dev/null
done
compare "unikernel deploy to first HTTP answer (accel $ACCEL, median of $RUNS, image cached):" \
	1.15 "hand-written qemu" raw "mcp deploy" agent "ratio mcp/qemu"
echo "deploy call, cold image build : ${cold} ms"
echo "deploy call, cached image     : ${cached} ms, then median $(printf '%s\n' "${calls[@]}" | median) ms (runs: ${calls[*]})"
echo "QEMU RSS with memory_mb=128   : $((RSS_KB / 1024)) MB (at first answer)"
echo "$AGENT_RSS"
