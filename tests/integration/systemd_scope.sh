#!/bin/bash
# QEMU VMs and the node proxy outside mcp-agent.service's cgroup (issue
# 12), under a real systemd: tests/lib/sdbox.sh boots systemd as PID 1 in
# a podman container over the host's own root (no Debian mirror needed).
# The package (scripts/build-deb.sh) is installed there with dpkg, so the
# units are the packaged ones.  Checked:
#   - the agent, started by `systemctl start mcp-agent`, runs in
#     mcp-agent.service and says it uses systemd scopes; a unikernel
#     deployed with an l4 route: its QEMU (the PID in qemu.pid, whose
#     /proc/<pid>/cmdline names the VM's directory) runs in
#     mcp-vm-<instance>.scope and HAProxy in mcp-proxy-<node>.scope, not in
#     the agent's cgroup; that QEMU is jailed (a non-zero uid, Seccomp 2,
#     no capabilities) and the scope carries the limits qemu_start sets
#     (MemoryMax = memory_mb + TCG buffer + 160 MiB, TasksMax, CPUWeight);
#   - stop then start at once works (an old scope not yet collected is
#     cleared when empty); a scope of that name still holding a process
#     makes the start fail naming the PID, and once empty it starts;
#   - with KillMode=control-group (a drop-in; the packaged unit has
#     KillMode=process), `systemctl restart` and `systemctl stop` leave
#     both running with the same PIDs; the restarted agent finds them
#     again (HAProxy "found again", the VM running in `mcp ps`); a process
#     put into the agent's own cgroup is killed by the same restart, so the
#     check can fail;
#   - mcp-master.service (Type=notify, hardened: ProtectSystem=strict,
#     PrivateTmp, ...): `systemctl start` returns when an operator's call
#     through the master answers, StateDirectory made /var/lib/mcp-master
#     (0700) holding master.db, stop is clean, a broken master.toml fails
#     the start (ExecStartPre --check-config) naming the key.
# Skips (77) without podman, systemd, QEMU or the guest kernel.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/podman.sh
. tests/lib/sdbox.sh
MCP_KERNEL_DIR=${MCP_KERNEL_DIR:-/var/lib/mcp/kernel}
for t in podman systemd-run qemu-system-x86_64 haproxy dpkg-deb; do
	command -v "$t" >/dev/null || { echo "skip: $t not installed"; exit 77; }
done
[ -x /lib/systemd/systemd ] || { echo "skip: /lib/systemd/systemd missing"; exit 77; }
[ -s "$MCP_KERNEL_DIR/vmlinux" ] || { echo "skip: no guest kernel in $MCP_KERNEL_DIR"; exit 77; }

T=$(mktemp -d /tmp/mcp-it-sdscope.XXXXXX)
cleanup() {
	sdbox_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok   - $*"; }
wait_for() {	# wait_for SECONDS CMD...
	local n=$(($1 * 5))
	shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

make -s all >/dev/null || { echo "make all failed"; exit 1; }
DEB=$(scripts/build-deb.sh "$T/out" | tail -n 1)
[ -f "$DEB" ] || { echo "build-deb.sh made no package"; exit 1; }
start=$(date +%s)
sdbox_start "$T/box" "mcp-it-sdscope-$$" || exit 1
echo "systemd box up in $(($(date +%s) - start)) s"
cp "$DEB" "$SDBOX_ROOT/root/mcp.deb"
in_box dpkg -i /root/mcp.deb >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; exit 1; }

# --- the agent's environment in the box (tests/lib/agent.sh there) ----------
A=/var/tmp/it/agent	# the agent's directory inside the box
PORT=24443
cat >"$SDBOX_ROOT/root/env.sh" <<EOF
cd $PWD
. tests/lib/agent.sh
AGENT_DIR=$A
EOF
in_box bash -c ". /root/env.sh
AGENT_EXTRA='[proxy]
enabled = true
bind = [\"127.0.0.1\"]
zone = \"svc.test\"' agent_env_init $A 127.0.0.1:5000 &&
agent_local_image hello-local v1 &&
cp $A/agent.toml /etc/mcp/agent.toml" >"$T/setup.log" 2>&1 || { cat "$T/setup.log"; exit 1; }
cat >"$SDBOX_ROOT/root/vm.toml" <<EOF
name = "svm"
runtime = "unikernel"
[[components]]
name = "svm"
image = "localhost/hello-local:v1"
memory_mb = 128
restart = "no"
env = ["HELLO_NAME=svm"]
[[components.routes]]
name = "http"
port = $PORT
mode = "l4"
EOF
# KillMode=control-group: what survives does so because of its own scope
mkdir -p "$SDBOX_ROOT/etc/systemd/system/mcp-agent.service.d"
cat >"$SDBOX_ROOT/etc/systemd/system/mcp-agent.service.d/it.conf" <<EOF
[Service]
KillMode=control-group
Environment=TMPDIR=$A/podman/imgtmp
EOF
in_box systemctl daemon-reload
box_mcp() { in_box "$PWD/bin/mcp" -c "$A/mcp.toml" "$@"; }
unit_cgroup() { in_box systemctl show -P ControlGroup "$1"; }
# the cgroup systemd tracks a PID in (name=systemd on a hybrid host, else 0::)
pid_cgroup() {
	in_box cat "/proc/$1/cgroup" 2>/dev/null |
	    sed -n -e 's/^[0-9]*:name=systemd://p' -e 's/^0:://p' | grep -v '^/$' | head -n 1
}

if in_box systemctl start mcp-agent; then ok "systemctl start mcp-agent"; else
	fail "systemctl start mcp-agent"; in_box journalctl -u mcp-agent --no-pager | tail; exit 1; fi
AGENT_CG=$(unit_cgroup mcp-agent.service)
MAIN1=$(in_box systemctl show -P MainPID mcp-agent)
[[ $(pid_cgroup "$MAIN1") == *"$AGENT_CG" ]] || fail "the agent ($MAIN1) is not in $AGENT_CG: $(pid_cgroup "$MAIN1")"
in_box journalctl -u mcp-agent --no-pager | grep -q 'start in systemd scopes' ||
    fail "the agent did not choose systemd scopes (auto)"

start=$(date +%s)
out=$(box_mcp deploy /root/vm.toml 2>&1) || fail "deploy the unikernel: $out"
echo "deploy (TCG VM) under systemd: $(($(date +%s) - start)) s"
QPID=$(in_box cat "$A/state/vms/svm/qemu.pid" 2>/dev/null)
HPID=$(in_box cat "$A/state/proxy/haproxy.pid" 2>/dev/null)
[ -n "$QPID" ] && in_box grep -q "$A/state/vms/svm/" "/proc/$QPID/cmdline" ||
    fail "qemu.pid ($QPID) does not name the VM's QEMU"
[ -n "$HPID" ] && in_box grep -q "$A/state/proxy/" "/proc/$HPID/cmdline" ||
    fail "haproxy.pid ($HPID) does not name the proxy's HAProxy"
qcg=$(pid_cgroup "$QPID") hcg=$(pid_cgroup "$HPID")
[[ $qcg == */mcp-vm-svm.scope ]] && ok "QEMU $QPID in $qcg" || fail "QEMU $QPID in '$qcg', want mcp-vm-svm.scope"
[[ $hcg == */mcp-proxy-local.scope ]] && ok "HAProxy $HPID in $hcg" || fail "HAProxy $HPID in '$hcg', want mcp-proxy-local.scope"
for cg in "$qcg" "$hcg"; do
	[[ $cg == *"$AGENT_CG" || $cg == *"$AGENT_CG"/* ]] && fail "$cg is inside the agent's cgroup $AGENT_CG"
done
[ "$(in_box systemctl is-active mcp-vm-svm.scope)" = active ] || fail "mcp-vm-svm.scope not active"
# the QEMU in the scope is jailed (setsid -f setpriv inside systemd-run)
qst=$(in_box cat "/proc/$QPID/status" 2>/dev/null)
quid=$(awk '$1=="Uid:" {print $2 "/" $3 "/" $4}' <<<"$qst")
qsec=$(awk '$1=="Seccomp:" {print $2}' <<<"$qst")
qcap=$(awk '$1=="CapEff:" {print $2}' <<<"$qst")
if [[ $quid =~ ^([1-9][0-9]*)/([0-9]+)/([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] &&
    [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[3]}" ] && [ "$qsec" = 2 ] &&
    [ "$qcap" = 0000000000000000 ]; then
	ok "QEMU in the scope is jailed: uid $quid, Seccomp $qsec, CapEff $qcap"
else
	fail "QEMU $QPID in the scope not jailed: uid $quid, Seccomp '$qsec', CapEff '$qcap'"
fi
# the scope's limits, as qemu_start computes them from the VM: memory_mb +
# the TCG translation buffer (tb-size, else QEMU's 1024 MiB) + 160 MiB,
# 128 tasks, CPU weight 100 per vCPU plus one for the main loop
QSPEC=$(in_box cat "$A/state/vms/svm/spec.json")
want=$(/usr/bin/python3 -c '
import json, re, sys
j = json.loads(sys.argv[1]); a = j["qemu_argv"]
accel = a[a.index("-accel") + 1]
m = re.search(r"tb-size=(\d+)", accel)
tb = (int(m.group(1)) if m else 1024) if j["accel"] == "tcg" else 0
print("MemoryMax=%d TasksMax=128 CPUWeight=%d" % ((j["memory_mb"] + tb + 160) << 20, 100 * (j["vcpus"] + 1)))
' "$QSPEC")
got=$(in_box systemctl show mcp-vm-svm.scope -p MemoryMax -p TasksMax -p CPUWeight | sort | tr '\n' ' ')
got=${got% }
want=$(tr ' ' '\n' <<<"$want" | sort | tr '\n' ' ')
want=${want% }
[ -n "$want" ] && [ "$got" = "$want" ] && ok "mcp-vm-svm.scope limits: $got" ||
    fail "mcp-vm-svm.scope limits: '$got', want '$want'"

# a process in the agent's own cgroup: the same restart must kill it
in_box sh -c "setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo \$! >/run/canary.pid"
CANARY=$(in_box cat /run/canary.pid)
for f in $(in_box sh -c "ls -d /sys/fs/cgroup/systemd$AGENT_CG /sys/fs/cgroup/unified$AGENT_CG /sys/fs/cgroup$AGENT_CG 2>/dev/null"); do
	in_box sh -c "echo $CANARY >$f/cgroup.procs" 2>/dev/null
done

in_box systemctl restart mcp-agent || fail "systemctl restart mcp-agent"
MAIN2=$(in_box systemctl show -P MainPID mcp-agent)
[ "$MAIN2" != "$MAIN1" ] && [ "$MAIN2" != 0 ] || fail "restart did not start a new agent ($MAIN1 -> $MAIN2)"
in_box kill -0 "$CANARY" 2>/dev/null && fail "the restart did not kill a process in the agent's cgroup: the check is blind"
in_box kill -0 "$QPID" && ok "QEMU $QPID survived systemctl restart (KillMode=control-group)" ||
    fail "systemctl restart killed QEMU"
in_box kill -0 "$HPID" && ok "HAProxy $HPID survived systemctl restart" || fail "systemctl restart killed HAProxy"
[ "$(in_box cat "$A/state/vms/svm/qemu.pid")" = "$QPID" ] || fail "qemu.pid changed across the restart"
in_box journalctl -u mcp-agent --no-pager | grep -q "HAProxy running (pid $HPID), found again" ||
    fail "the restarted agent did not find HAProxy again"
ps_running() { box_mcp --json ps | grep -q '"running"'; }
wait_for 30 ps_running || fail "the VM is not running in mcp ps after the restart: $(box_mcp ps 2>&1)"

# started again right after a stop: the old scope, if systemd has not
# collected it yet, does not stand in the way
out=$(box_mcp stop svm 2>&1) || fail "stop svm: $out"
out=$(box_mcp start svm 2>&1) && ok "svm started again right after its stop" || fail "start svm right after its stop: $out"
# a scope of that name still holding a process: the start fails naming it
out=$(box_mcp stop svm 2>&1) || fail "stop svm (2): $out"
scope_gone() { ! in_box systemctl is-active --quiet mcp-vm-svm.scope; }
wait_for 30 scope_gone || fail "mcp-vm-svm.scope still active after stop"
in_box sh -c "systemd-run --scope --unit=mcp-vm-svm.scope --quiet sleep 300 </dev/null >/dev/null 2>&1 &"
squat_up() { in_box systemctl is-active --quiet mcp-vm-svm.scope; }
wait_for 10 squat_up || fail "the squatting scope did not start"
SQ=$(in_box busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
    org.freedesktop.systemd1.Manager GetUnitProcesses s mcp-vm-svm.scope | awk '{print $4}')
out=$(box_mcp start svm 2>&1)
[[ $out == *"mcp-vm-svm.scope from an earlier run still holds pid $SQ"* ]] &&
    ok "a start with the scope still holding pid $SQ fails naming it" ||
    fail "start with a live scope: want it refused naming pid $SQ: $out"
[ -n "$SQ" ] && in_box kill "$SQ"
wait_for 30 scope_gone || fail "the squatting scope did not end"
out=$(box_mcp start svm 2>&1) && ok "svm starts once that scope is empty" || fail "start svm after the scope emptied: $out"
wait_for 30 ps_running || fail "the VM is not running after the starts: $(box_mcp ps 2>&1)"
QPID=$(in_box cat "$A/state/vms/svm/qemu.pid" 2>/dev/null)
[[ $(pid_cgroup "$QPID") == */mcp-vm-svm.scope ]] && ok "the new QEMU $QPID is in mcp-vm-svm.scope" ||
    fail "the new QEMU $QPID in '$(pid_cgroup "$QPID")'"

in_box systemctl stop mcp-agent || fail "systemctl stop mcp-agent"
in_box kill -0 "$QPID" && in_box kill -0 "$HPID" && ok "QEMU and HAProxy survived systemctl stop" ||
    fail "systemctl stop killed QEMU or HAProxy"
in_box systemctl start mcp-agent || fail "systemctl start after stop"
out=$(box_mcp undeploy svm 2>&1) || fail "undeploy: $out"
in_box kill -0 "$QPID" 2>/dev/null && fail "QEMU $QPID still runs after undeploy"
in_box systemctl stop mcp-agent

# --- mcp-master.service --------------------------------------------------------
in_box bash -c "set -e
M=$PWD/bin/mcp
\$M ca init /etc/mcp/ca >/dev/null
\$M ca issue mcp-master --san IP:127.0.0.1 --ca /etc/mcp/ca >/dev/null
\$M ca issue operator --ca /etc/mcp/ca >/dev/null
cat >/etc/mcp/master.toml <<EOF
[master]
node = \"m\"
listen = \"127.0.0.1:9555\"
[tls]
ca = \"/etc/mcp/ca/ca.crt\"
cert = \"/etc/mcp/ca/mcp-master.crt\"
key = \"/etc/mcp/ca/mcp-master.key\"
EOF
cat >/root/op.toml <<EOF
[master]
address = \"127.0.0.1:9555\"
[tls]
ca = \"/etc/mcp/ca/ca.crt\"
cert = \"/etc/mcp/ca/operator.crt\"
key = \"/etc/mcp/ca/operator.key\"
EOF" || fail "master set-up in the box"
if in_box systemctl start mcp-master; then
	in_box "$PWD/bin/mcp" -c /root/op.toml node list >"$T/nodes" 2>&1 &&
	    ok "mcp-master answers when systemctl start returns (Type=notify, hardened)" ||
	    fail "mcp-master not answering when start returned: $(cat "$T/nodes")"
else
	fail "systemctl start mcp-master"
	in_box journalctl -u mcp-master --no-pager | tail -20
fi
[ "$(in_box stat -c %a /var/lib/mcp-master 2>/dev/null)" = 700 ] || fail "/var/lib/mcp-master mode"
in_box test -s /var/lib/mcp-master/master.db || fail "no /var/lib/mcp-master/master.db"
[ "$(in_box systemctl show -P ProtectSystem mcp-master)" = strict ] || fail "ProtectSystem is not strict"
in_box systemctl stop mcp-master || fail "systemctl stop mcp-master"
[ "$(in_box systemctl show -P Result mcp-master)" = success ] ||
    fail "mcp-master stop result: $(in_box systemctl show -P Result mcp-master)"
in_box sh -c 'echo "frobnicate = 1" >>/etc/mcp/master.toml'
in_box systemctl start mcp-master 2>/dev/null && fail "a broken master.toml started"
in_box journalctl -u mcp-master --no-pager | grep -q frobnicate || fail "the journal does not name the broken key"

[ $fails = 0 ] || { echo "$fails failure(s)"; in_box journalctl -u mcp-agent --no-pager | tail -20; exit 1; }
echo "systemd scopes: ok"
