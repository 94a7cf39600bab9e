#!/bin/bash
# bench/qemu_jail.sh [RUNS]: the cost of the VM jail alone.  One QEMU
# command line, written here by hand but with what the agent boots today
# (its default guest kernel, -M value, NIC model, kernel command line
# including tsc_early_khz on microvm under TCG, -accel with its tb-size,
# -m and -smp: all read from the spec.json of a VM the agent deployed), is
# booted to the first HTTP answer
#   - unjailed: setsid -f qemu ... (as the agent without [unikernel] vm_uids);
#   - jailed as the agent jails it: the initramfs copied into a root:<uid>
#     01770 directory (the kernel too when others cannot read it), setsid -f
#     setpriv to a uid of its own with no groups, no capabilities and
#     no_new_privs, -sandbox on,..., then the PID into a cgroup of its own
#     (memory ceiling, pids.max, CPU weight as qemu_jail_cgroup_enter sets
#     them; v2 or v1 like the agent);
#   - jailed without the cgroup (its CPU weight shields the VM from the
#     host's other load, so the mechanism's own cost is shown apart).
# Runs alternate (unjailed, jailed, jailed without cgroup), RUNS times
# (default 3); medians and the ratio jailed/unjailed (target <= 1.05).
# Then QEMU's RSS beyond memory_mb at first answer, jailed and unjailed,
# and where it goes (smaps: guest RAM, TCG translation buffer, QEMU's
# heap, the kernel file QEMU keeps mapped, binary and libraries).
# Under systemd ([agent] systemd_scope) the agent puts the jailed QEMU in
# a transient scope with the same limits instead of its own cgroup; this
# bench measures the cgroup path.  The agent's deploy-versus-hand-written
# ratio is bench/deploy_unikernel.sh.  Run as root, without nice(1).
set -u
cd "$(dirname "$0")/.."
. tests/lib/agent.sh
. bench/lib.sh
RUNS=${1:-${RUNS:-3}}

T=$(mktemp -d /tmp/mcp-bench-jail.XXXXXX)
JAIL_UID=1879999999	# outside the agent's default vm_uids range
JAIL_CG=mcp-vm-bench$$
D=	# the directory of the QEMU running now
cleanup() {
	qemu_kill
	rmdir "/sys/fs/cgroup/$JAIL_CG" 2>/dev/null
	for c in memory pids cpu; do rmdir "/sys/fs/cgroup/$c/$JAIL_CG" 2>/dev/null; done
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT

hello_registry "$T" v1.0.0 >/dev/null || exit 1
podman_env_cleanup "$T/img/podman"
agent_env_init "$T/agent" "$REGISTRY" || exit 1
agent_start || exit 1
printf 'name = "uk"\nruntime = "unikernel"\n[[components]]\nname = "uk"\nimage = "%s"\nmemory_mb = 128\n[[components.routes]]\nport = 8080\n' \
	"$REGISTRY/hello:v1.0.0" >"$T/uk.toml"
out=$(mcp --json deploy "$T/uk.toml") || { echo "deploy failed: $out"; exit 1; }
port=$(sed -n 's/.*"host_port": \([0-9]*\).*/\1/p' <<<"$out" | head -1)
wait_200 "http://127.0.0.1:$port/" || { echo "no answer from the agent's VM"; exit 1; }

# what the agent booted, taken over by hand
SPEC=$(cat "$AGENT_DIR/state/vms/uk/spec.json")
arg() { json_get "$SPEC" "j['qemu_argv'][j['qemu_argv'].index('$1')+1]"; }
M_ARG=$(arg -M)
NIC=$(arg -device | cut -d, -f1)
ACCEL_ARG=$(arg -accel)
MEM=$(arg -m)
SMP=$(arg -smp)
CPU=()
json_get "$SPEC" "'-cpu' in j['qemu_argv']" | grep -q True && CPU=(-cpu "$(arg -cpu)")
CMDLINE=$(json_get "$SPEC" 'j["cmdline"]')
GUEST_KERNEL=$(json_get "$SPEC" 'j["kernel_desc"]')
VMDIR=$(dirname "$(json_get "$SPEC" 'j["initrd"]')")
AGENT_UID=$(stat -c %g "$VMDIR")
SANDBOX=$(arg -sandbox)
# the files survive the undeploy: copies of the agent's (its initramfs copy
# is root:<uid> 0640 in the VM directory, which goes away)
cp "$(json_get "$SPEC" 'j["initrd"]')" "$T/initrd"
KERNEL=$(json_get "$SPEC" 'j["kernel"]')
case $KERNEL in "$VMDIR"/*) cp "$KERNEL" "$T/vmlinux"; KERNEL=$T/vmlinux ;; esac
mcp undeploy uk >/dev/null
agent_stop
[ "$AGENT_UID" -gt 0 ] 2>/dev/null || echo "note: the agent's VM ran unjailed (gid of its directory $AGENT_UID)"

# v2 when /sys/fs/cgroup is unified with the controllers, else v1 (as the agent)
CG_V2=0
grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null &&
	grep -qw pids /sys/fs/cgroup/cgroup.controllers && CG_V2=1
TB=$(sed -n 's/.*tb-size=\([0-9]*\).*/\1/p' <<<"$ACCEL_ARG")
case $ACCEL_ARG in tcg*) LIMIT_MB=$((MEM + ${TB:-1024} + 160)) ;; *) LIMIT_MB=$((MEM + 160)) ;; esac
cgroup_enter() { # PID: qemu_jail_cgroup_enter's limits
	local pid=$1 c d
	if [ "$CG_V2" = 1 ]; then
		d=/sys/fs/cgroup/$JAIL_CG
		echo "+memory +pids +cpu" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
		mkdir -p "$d" || return 1
		echo $((100 * (SMP + 1))) >"$d/cpu.weight" 2>/dev/null
		echo $((LIMIT_MB << 20)) >"$d/memory.max" && echo 0 >"$d/memory.swap.max" 2>/dev/null
		echo 128 >"$d/pids.max" && echo "$pid" >"$d/cgroup.procs"
		return
	fi
	for c in memory pids cpu; do
		d=/sys/fs/cgroup/$c/$JAIL_CG
		mkdir -p "$d" || return 1
		case $c in
		memory) echo $((LIMIT_MB << 20)) >"$d/memory.limit_in_bytes" &&
			echo 0 >"$d/memory.swappiness" ;;
		pids) echo 128 >"$d/pids.max" ;;
		cpu) echo $((1024 * (SMP + 1))) >"$d/cpu.shares" ;;
		esac || return 1
		echo "$pid" >"$d/cgroup.procs" || return 1
	done
}

chmod o+x "$T"
qemu_kill() {
	local p
	[ -n "$D" ] || return 0
	p=$(cat "$D/qemu.pid" 2>/dev/null)
	[ -n "$p" ] && grep -q "$D/" "/proc/$p/cmdline" 2>/dev/null && kill -9 "$p"
	for _ in $(seq 1 100); do [ -d "/proc/$p" ] || break; sleep 0.02; done
	rm -rf "$D"
	D=
}
# boot MODE PORT: MODE unjailed | jailed | nocg; the VM directory in $D, its PID in QPID
boot() {
	local mode=$1 p=$2 initrd=$T/initrd jail=() sandbox=()
	D=$T/vm-$mode
	mkdir -p "$D"
	if [ "$mode" != unjailed ]; then
		chown "root:$JAIL_UID" "$D" && chmod 01770 "$D" &&
			cp "$T/initrd" "$D/initrd.tmp" && chown "root:$JAIL_UID" "$D/initrd.tmp" &&
			chmod 0640 "$D/initrd.tmp" && mv "$D/initrd.tmp" "$D/initrd" || return 1
		initrd=$D/initrd
		jail=(setpriv --reuid=$JAIL_UID --regid=$JAIL_UID --clear-groups --inh-caps=-all
			--bounding-set=-all --no-new-privs --)
		sandbox=(-sandbox "$SANDBOX")
	fi
	setsid -f "${jail[@]}" qemu-system-x86_64 -name guest=bench -M "$M_ARG" \
		-nodefaults -no-user-config -no-reboot "${sandbox[@]}" \
		-pidfile "$D/qemu.pid" -qmp "unix:$D/qmp.sock,server=on,wait=off" \
		-serial "file:$D/console.log" -display none -monitor none \
		-accel "$ACCEL_ARG" "${CPU[@]}" -m "$MEM" -smp "$SMP" \
		-kernel "$KERNEL" -initrd "$initrd" -append "$CMDLINE" \
		-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$p-:8080" \
		-device "$NIC,netdev=n0" </dev/null >"$T/qemu-$mode.log" 2>&1
	QPID=
	for _ in $(seq 1 500); do
		QPID=$(cat "$D/qemu.pid" 2>/dev/null) && [ -n "$QPID" ] && break
		sleep 0.01
	done
	[ -n "$QPID" ] || { cat "$T/qemu-$mode.log" >&2; return 1; }
	[ "$mode" = jailed ] && { cgroup_enter "$QPID" || echo "no cgroup for the jailed QEMU" >&2; }
	wait_200 "http://127.0.0.1:$p/"
}

# QEMU's memory beyond guest RAM, by mapping (smaps of a booted VM)
smaps_report() { # PID MEMORY_MB LABEL
	/usr/bin/python3 - "$1" "$2" "$3" "$(readlink -f "$KERNEL")" <<'PY'
import re, sys
pid, mem_mb, label, kernel = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
cats = {"guest RAM": 0, "TCG translation buffer": 0, "QEMU heap/anon": 0,
        "kernel file mapped": 0, "QEMU binary + libraries": 0}
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
            cats["kernel file mapped"] += rss
        elif cur["path"] and not cur["path"].startswith("["):
            cats["QEMU binary + libraries"] += rss
        elif not cur["path"] and mem_mb * 1024 <= cur["size"] <= mem_mb * 1024 + 4096:
            cats["guest RAM"] += rss
        elif not cur["path"] and "x" in cur["perms"] and cur["size"] >= 16384:
            cats["TCG translation buffer"] += rss
        else:
            cats["QEMU heap/anon"] += rss
total = sum(cats.values())
own = total - cats["guest RAM"]
print(f"  {label}: RSS {total // 1024} MB ({total // 1024 - mem_mb:+d} MB beyond memory_mb {mem_mb});"
      f" QEMU's own beyond the guest RAM it touched: {own // 1024} MB:")
print("   " + ",".join(f" {k} {v // 1024} MB" for k, v in cats.items()))
PY
}
status_of() { # PID
	awk '$1=="Uid:"{u=$2} $1=="Seccomp:"{s=$2} $1=="CapEff:"{c=$2}
		END {printf "uid %s, Seccomp %s, CapEff %s", u, s, c}' "/proc/$1/status"
}
cgroup_of() { grep -E ':(memory|pids|cpu[^:]*):|^0::' "/proc/$1/cgroup" | tr '\n' ' '; }

unj=() jl=() jn=()
for i in $(seq 1 "$RUNS"); do
	for mode in unjailed jailed nocg; do
		p=$(free_port 40000 50000)
		t0=$(now_ms)
		boot "$mode" "$p" || echo "$mode boot $i: no answer" >&2
		ms=$(($(now_ms) - t0))
		case $mode in unjailed) unj+=("$ms") ;; jailed) jl+=("$ms") ;; nocg) jn+=("$ms") ;; esac
		if [ "$i" = 1 ] && [ -n "$QPID" ]; then
			case $mode in
			unjailed) RAW_RSS=$(smaps_report "$QPID" "$MEM" "unjailed QEMU") ;;
			jailed)	JAIL_RSS=$(smaps_report "$QPID" "$MEM" "jailed QEMU")
				JAIL_STATUS="$(status_of "$QPID"); cgroups: $(cgroup_of "$QPID")" ;;
			esac
		fi
		qemu_kill
	done
done
echo "guest kernel: $GUEST_KERNEL; -M $M_ARG, $NIC, -accel $ACCEL_ARG, -m $MEM, -smp $SMP"
echo "kernel command line: $CMDLINE"
compare "jailed vs unjailed QEMU, boot to first HTTP answer (median of $RUNS, runs alternating):" \
	1.05 "unjailed qemu" unj "jailed qemu" jl "ratio jailed/unjailed"
echo "  jailed QEMU: $JAIL_STATUS"
echo "  its cgroup limits: memory ${LIMIT_MB} MiB, pids 128, CPU weight of $((SMP + 1)) tasks"
compare "the jail without its cgroup (uid, no capabilities, seccomp, initramfs copy):" \
	1.05 "unjailed qemu" unj "jailed, no cgroup" jn "ratio jailed/unjailed"
echo "QEMU RSS at first answer (negative beyond memory_mb: the guest has not touched all its"
echo "RAM yet; QEMU's own is what a guest using all of memory_mb adds on top):"
echo "$RAW_RSS"
echo "$JAIL_RSS"
