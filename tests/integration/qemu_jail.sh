#!/bin/bash
# The QEMU jail (lib/runtime/qemu_jail.c) through the agent: a deployed
# VM's QEMU runs as a non-root uid from [unikernel] vm_uids with no
# capabilities, no_new_privs and a seccomp filter, in a cgroup with the
# VM's memory ceiling and task limit; asked through QMP to open a file of
# the agent's state outside its VM directory it is refused (a file in its
# own directory opens: the refusal is the jail's, not the syntax's); it
# still answers HTTP, is rediscovered after an agent restart, stops
# gracefully and leaves no cgroup behind.  A second VM gets another uid
# and cannot reach the first one's QMP socket.  Skips (77) without QEMU,
# the guest kernel or root.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh

if ! command -v qemu-system-x86_64 >/dev/null || [ ! -s "$MCP_KERNEL_DIR/vmlinux" ]; then
	echo "skip: qemu-system-x86_64 or $MCP_KERNEL_DIR/vmlinux missing (scripts/fetch-kernel.sh)"
	exit 77
fi
[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }

T=$(mktemp -d /tmp/mcp-it-jail.XXXXXX)
cleanup() {
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT

hello_registry "$T" v1.0.0 || exit 1
podman_env_cleanup "$T/img/podman"
# a range of our own, so the uids are known (and differ from other tests')
UID_FIRST=$((1879100000 + ($$ % 50000) * 4))
AGENT_EXTRA_UNIKERNEL="memory_mb = 1024
vcpus = 4
vm_uids = \"$UID_FIRST-$((UID_FIRST + 3))\""
agent_env_init "$T/agent" "$REGISTRY" || exit 1
agent_start || exit 1
D=$T/defs
mkdir -p "$D"
vm_def() { # NAME
	cat <<EOF
name = "$1"
runtime = "unikernel"
[[components]]
name = "$1"
image = "$REGISTRY/hello:v1.0.0"
memory_mb = 128
[[components.routes]]
name = "http"
port = 8080
EOF
}
vm_def vm >"$D/vm.toml"
vm_def vm2 >"$D/vm2.toml"
sj() { mcp --json status "$1"; }
comp() { json_get "$(sj "$1")" "j['components'][0]['$2']"; }
hport() { json_get "$(sj "$1")" 'j["components"][0]["routes"][0]["host_port"]'; }
VMS=$AGENT_DIR/state/vms
vm_pid() { cat "$VMS/$1/qemu.pid" 2>/dev/null; }
st() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# qmp SOCKET JSON-COMMAND...: the answers to each command, one per line
qmp() {
	/usr/bin/python3 - "$@" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
f = s.makefile("rw")
json.loads(f.readline())
for i, cmd in enumerate(['{"execute":"qmp_capabilities"}'] + sys.argv[2:]):
    f.write(cmd + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "event" not in r:
            break
    if i:
        print(json.dumps(r))
EOF
}
hmp() { # SOCKET COMMAND-LINE: the HMP answer text
	qmp "$1" "$(/usr/bin/python3 -c 'import json,sys; print(json.dumps({"execute":"human-monitor-command","arguments":{"command-line":sys.argv[1]}}))' "$2")"
}

check "deploy a unikernel" mcp deploy "$D/vm.toml"
PORT=$(hport vm)
check "VM answers HTTP" wait_for 60 http_get "http://127.0.0.1:$PORT/health"
PID=$(vm_pid vm)
check "QEMU pid known ($PID)" test -n "$PID"
QUID=$(st "$PID" Uid)
check "QEMU runs as a uid from vm_uids ($QUID)" test "$QUID" -ge "$UID_FIRST" -a "$QUID" -le $((UID_FIRST + 3))
check "real, effective, saved and fs uid all the VM's" test "$(awk '$1=="Uid:"{print $2,$3,$4,$5}' /proc/$PID/status)" = "$QUID $QUID $QUID $QUID"
check "gid the VM's, no supplementary groups" test "$(st "$PID" Gid)/$(awk '$1=="Groups:"{print NF-1}' /proc/$PID/status)" = "$QUID/0"
check "Seccomp: 2 (filter mode)" test "$(st "$PID" Seccomp)" = 2
check "CapEff 0" test "$(st "$PID" CapEff)" = 0000000000000000
check "CapPrm and CapBnd 0" test "$(st "$PID" CapPrm)/$(st "$PID" CapBnd)" = 0000000000000000/0000000000000000
check "no_new_privs" test "$(st "$PID" NoNewPrivs)" = 1
check "-sandbox on its command line" grep -q 'spawn=deny' <<<"$(tr '\0' ' ' </proc/$PID/cmdline)"
check "VM dir root:<uid> 01770" test "$(stat -c '%u:%g %a' "$VMS/vm")" = "0:$QUID 1770"
check "spec.json stays root's" test "$(stat -c '%u %a' "$VMS/vm/spec.json")" = "0 600"
check "initramfs copy readable by the VM only" test "$(stat -c '%u:%g %a' "$VMS/vm/initrd")" = "0:$QUID 640"
check "QMP socket owned by the VM's uid" test "$(stat -c '%u' "$VMS/vm/qmp.sock")" = "$QUID"

# the cgroup: the PID is in one of ours with the ceiling and the task limit
CG=$(awk -F: '$2 == "memory" { print $3 }' /proc/$PID/cgroup)
if [ -n "$CG" ]; then
	check "QEMU in a cgroup of its own ($CG)" grep -q '^/mcp-vm-[0-9a-f]\{16\}$' <<<"$CG"
	check "memory ceiling above guest RAM (128 MiB + TCG buffer + overhead)" \
		test "$(cat /sys/fs/cgroup/memory$CG/memory.limit_in_bytes)" = $(((128 + 1024 + 160) << 20))
	check "task limit" test "$(cat /sys/fs/cgroup/pids$CG/pids.max)" = 128
	check "CPU weight: one vCPU + QEMU's main loop" test "$(cat /sys/fs/cgroup/cpu$CG/cpu.shares)" = 2048
else
	CG=$(awk -F: '$1 == "0" { print $3 }' /proc/$PID/cgroup)
	check "QEMU in a cgroup v2 of its own ($CG)" grep -q '^/mcp-vm-[0-9a-f]\{16\}$' <<<"$CG"
	check "memory.max" test "$(cat /sys/fs/cgroup$CG/memory.max)" = $(((128 + 1024 + 160) << 20))
	check "pids.max" test "$(cat /sys/fs/cgroup$CG/pids.max)" = 128
fi

# QMP: opening a file of the agent's state outside the VM dir is refused
SOCK=$VMS/vm/qmp.sock
secret=$AGENT_DIR/state/registry.db
check "the agent's registry exists ($secret)" test -s "$secret"
ans=$(hmp "$SOCK" "drive_add 0 if=none,id=steal,file=$secret")
check "HMP drive_add of the agent's registry refused: $ans" grep -q 'Permission denied' <<<"$ans"
ans=$(qmp "$SOCK" "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"steal2\",\"filename\":\"$secret\",\"read-only\":true}}")
check "QMP blockdev-add of it refused: $ans" grep -q 'Permission denied' <<<"$ans"
ans=$(qmp "$SOCK" "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"key\",\"filename\":\"$AGENT_DIR/state/vms/vm/spec.json\",\"read-only\":true}}")
check "blockdev-add of its own spec.json (root's) refused: $ans" grep -q 'Permission denied' <<<"$ans"
ans=$(qmp "$SOCK" "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"own\",\"filename\":\"$VMS/vm/console.log\",\"read-only\":true}}")
check "blockdev-add of its own console log works (control): $ans" grep -q '"return": {}' <<<"$ans"
qmp "$SOCK" '{"execute":"blockdev-del","arguments":{"node-name":"own"}}' >/dev/null
check "still answers HTTP after the attempts" wait_for 10 http_get "http://127.0.0.1:$PORT/health"

# a second VM: another uid, and the first one's QMP socket is not its to use
check "deploy a second unikernel" mcp deploy "$D/vm2.toml"
check "second VM answers" wait_for 60 http_get "http://127.0.0.1:$(hport vm2)/health"
PID2=$(vm_pid vm2)
QUID2=$(st "$PID2" Uid)
check "second VM has another uid ($QUID2 != $QUID)" test -n "$QUID2" -a "$QUID2" != "$QUID"
check "the second VM's uid cannot connect to the first's QMP socket" \
	sh -c "! setpriv --reuid=$QUID2 --regid=$QUID2 --clear-groups socat -u OPEN:/dev/null UNIX-CONNECT:$SOCK 2>/dev/null"
check "undeploy the second" mcp undeploy vm2

# agent restart: rediscovered (the /proc/<pid>/cmdline check) and stoppable
check "agent stops" agent_stop
check "VM outlives the agent" kill -0 "$PID"
check "agent starts" agent_start
check "VM rediscovered as running" test "$(comp vm observed)/$(comp vm drift)" = running/False
check "same QEMU process" test "$(vm_pid vm)" = "$PID"
check "graceful stop through QMP" mcp stop vm
check "app logged SIGTERM" grep -q "received SIGTERM" <<<"$(mcp logs vm -n 20)"
check "QEMU gone (reaped)" wait_for 10 sh -c "! kill -0 $PID 2>/dev/null"
check "its cgroup removed" sh -c "! ls -d /sys/fs/cgroup/*$CG 2>/dev/null | grep -q ."
check "start again (attested again)" mcp start vm
check "answers after start" wait_for 60 http_get "http://127.0.0.1:$PORT/health"
check "undeploy" mcp undeploy vm
check "no QEMU left" test -z "$(agent_qemu_pids)"
t_done
