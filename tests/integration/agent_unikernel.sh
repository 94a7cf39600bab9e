#!/bin/bash
# The unikernel runtime through the agent and the CLI (SPEC §4.1): deploy
# the example as a VM under QEMU (TCG here), HTTP through the forwarded
# port, console logs, graceful stop (the app sees SIGTERM), kill -9 ->
# drift, start refused while another process holds the VM's host port
# (naming it and the owner), agent restart -> VM rediscovered and still
# stoppable, a stale
# pidfile naming an unrelated process is not trusted, a tampered initramfs
# is refused by attestation, overcommit and dynamic ELFs are refused, a
# container deployed alongside is untouched throughout, undeploy leaves
# nothing.  Skips (77) when QEMU or the guest kernel is missing.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh

if ! command -v qemu-system-x86_64 >/dev/null || [ ! -s "$MCP_TEST_KERNEL" ]; then
	echo "skip: qemu-system-x86_64 or $MCP_TEST_KERNEL missing (scripts/fetch-kernel.sh)"
	exit 77
fi

T=$(mktemp -d /tmp/mcp-it-uk.XXXXXX)
SLEEP_PID=
HOLDER=
cleanup() {
	[ -n "$SLEEP_PID" ] && kill "$SLEEP_PID" 2>/dev/null
	[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT

hello_registry "$T" v1.0.0 || exit 1
# an image whose entrypoint is a dynamically linked executable
mkdir -p "$T/dynroot/usr/local/bin"
cp /usr/bin/true "$T/dynroot/usr/local/bin/hello"
tar -C "$T/dynroot" -c . | PODMAN_ENV_DIR="$T/img/podman" penv_podman import \
	--change 'ENTRYPOINT ["/usr/local/bin/hello"]' - "$REGISTRY/dyn:v1" >/dev/null || exit 1
PODMAN_ENV_DIR="$T/img/podman" penv_podman push --tls-verify=false "$REGISTRY/dyn:v1" >/dev/null 2>&1 || exit 1
podman_env_cleanup "$T/img/podman"

AGENT_EXTRA_UNIKERNEL="memory_mb = 1024
vcpus = 4"
agent_env_init "$T/agent" "$REGISTRY" || exit 1
agent_start || exit 1
D=$T/defs
mkdir -p "$D"

cat >"$D/box.toml" <<EOF
name = "box"
[[components]]
name = "box"
image = "$REGISTRY/hello:v1.0.0"
restart = "no"
[[components.routes]]
port = 8080
EOF
vm_def() { # NAME IMAGE MEMORY
	cat <<EOF
name = "$1"
runtime = "unikernel"
[[components]]
name = "$1"
image = "$2"
memory_mb = $3
env = ["HELLO_NAME=$1"]
[[components.routes]]
name = "http"
port = 8080
EOF
}
vm_def vm "$REGISTRY/hello:v1.0.0" 128 >"$D/vm.toml"

sj() { mcp --json status "$1"; }
comp() { json_get "$(sj "$1")" "j['components'][0]['$2']"; }
hport() { json_get "$(sj "$1")" 'j["components"][0]["routes"][0]["host_port"]'; }
vm_pid() { cat "$AGENT_DIR/state/vms/vm/qemu.pid" 2>/dev/null; }

check "deploy a container alongside" mcp deploy "$D/box.toml"
BOX_PORT=$(hport box)
BOX_ID=$(penv_podman inspect --format '{{.Id}}' box)
box_ok() { http_get "http://127.0.0.1:$BOX_PORT/health" >/dev/null && test "$(penv_podman inspect --format '{{.Id}}' box)" = "$BOX_ID"; }

t0=$(date +%s)
check "deploy the example as a unikernel" mcp deploy "$D/vm.toml"
VM_PORT=$(hport vm)
check "VM answers HTTP through 127.0.0.1:$VM_PORT" wait_for 60 http_get "http://127.0.0.1:$VM_PORT/"
echo "deploy to first answer: $(($(date +%s) - t0)) s"
node_vm() { json_get "$(mcp --json node list)" "[v['$1'] for n in j for v in n['vm_attestations'] if v['instance']=='vm'][0]"; }
check "node status lists the VM with its attested hash" test "$(node_vm image_hash)" = "$(comp vm image_hash)"
check "... and the OCI image it was built from" grep -qE '^sha256:[0-9a-f]{64}$' <<<"$(node_vm image_id)"
check "answer comes from the VM's app" grep -q "hello from vm version v1.0.0" <<<"$(http_get "http://127.0.0.1:$VM_PORT/")"
check "status: unikernel running, no drift" test "$(comp vm runtime)/$(comp vm observed)/$(comp vm drift)" = unikernel/running/False
check "status shows the attestation hash" grep -qE "^sha256:[0-9a-f]{64}$" <<<"$(comp vm image_hash)"
check "ps lists the VM" grep -qE "^vm +vm +local +unikernel +running" <<<"$(mcp ps)"
check "logs show the app's output from the serial console" grep -q "hello: vm version v1.0.0 listening on :8080" <<<"$(mcp logs vm)"
check "container unaffected" box_ok

# graceful stop: ACPI power button -> SIGTERM for the app
check "stop the VM" mcp stop vm
check "VM stopped, no drift" test "$(comp vm observed)/$(comp vm drift)" = stopped/False
check "app logged SIGTERM on stop" grep -q "received SIGTERM" <<<"$(mcp logs vm)"
check "mcp-init reported the exit status" grep -q "exited with status" <<<"$(mcp logs vm)"
check "no QEMU process after stop" test -z "$(vm_pid)"
# its host port taken meanwhile: start refuses before QEMU runs, naming
# the port, the address and the owner
/usr/bin/python3 -m http.server --bind 127.0.0.1 "$VM_PORT" >/dev/null 2>&1 &
HOLDER=$!
check "another process listens on the VM's port $VM_PORT" wait_for 20 http_get "http://127.0.0.1:$VM_PORT/"
expect_fail "start refused: the VM's host port is taken" \
    "host port $VM_PORT of route .* on 127.0.0.1 is already in use by pid $HOLDER \(python3\)" mcp start vm
check "no QEMU process after the refused start" test -z "$(vm_pid)"
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null
HOLDER=
check "start the VM" mcp start vm
check "VM answers after start" wait_for 60 http_get "http://127.0.0.1:$VM_PORT/health"

# a redeploy with a bad image is refused before the running VM is touched
PID=$(vm_pid)
sed "s|hello:v1.0.0|dyn:v1|" "$D/vm.toml" >"$D/vm-dyn.toml"
expect_fail "redeploy with a dynamic ELF refused" "dynamic" mcp deploy "$D/vm-dyn.toml"
check "running VM untouched by the refused redeploy" test "$(vm_pid)" = "$PID"
check "registry still has the old image" test "$(comp vm image)" = "$REGISTRY/hello:v1.0.0"

# kill -9 behind the agent's back -> drift
PID=$(vm_pid)
check "QEMU pid known ($PID)" test -n "$PID"
kill -9 "$PID"
check "drift reported after kill -9" wait_for 5 test "$(comp vm drift)" = True
drift_event() { test "$(json_get "$(sj vm)" 'len([e for e in j["events"] if e["kind"]=="drift" and e["component"]=="vm"])>0')" = True; }
check "drift event recorded by the monitor" wait_for 5 drift_event
check "container unaffected by the VM's death" box_ok

# agent restart while the VM runs -> rediscovered, still stoppable
check "start the VM again" mcp start vm
check "VM answers" wait_for 60 http_get "http://127.0.0.1:$VM_PORT/health"
PID=$(vm_pid)
check "agent stops" agent_stop
check "VM outlives the agent" kill -0 "$PID"
check "agent starts" agent_start
check "VM rediscovered as running" test "$(comp vm observed)" = running
check "same QEMU process" test "$(vm_pid)" = "$PID"
check "its identity survived the agent restart: no drift ($(comp vm drift_reason))" test "$(comp vm drift)" = False
check "a redeploy leaves the rediscovered VM alone" grep -q "vm: unchanged" <<<"$(mcp deploy "$D/vm.toml")"
check "same QEMU process after the redeploy" test "$(vm_pid)" = "$PID"
# a VM state dir that is not the one the agent created (another identity)
/usr/bin/python3 -c 'import json,sys; p=sys.argv[1]; j=json.load(open(p)); j["instance_id"]="planted"; open(p,"w").write(json.dumps(j))' \
	"$AGENT_DIR/state/vms/vm/spec.json"
check "a VM of another identity is drift ($(comp vm drift_reason))" grep -q "^foreign instance planted, not the one this agent created" <<<"$(comp vm drift_reason)"
check "a redeploy replaces it" grep -q "vm: replaced" <<<"$(mcp deploy "$D/vm.toml")"
check "the replacement answers" wait_for 60 http_get "http://127.0.0.1:$VM_PORT/health"
check "and is the agent's own: no drift" test "$(comp vm observed)/$(comp vm drift)" = running/False
check "rediscovered VM stops gracefully" mcp stop vm
check "app logged SIGTERM after rediscovery" grep -q "received SIGTERM" <<<"$(mcp logs vm -n 20)"

# a stale pidfile naming an unrelated live process is not the VM
sleep 300 &
SLEEP_PID=$!
echo "$SLEEP_PID" >"$AGENT_DIR/state/vms/vm/qemu.pid"
check "pidfile naming a sleep is not taken for the VM" test "$(comp vm observed)" != running
check "the sleep was not killed by a status" kill -0 "$SLEEP_PID"
kill "$SLEEP_PID"; SLEEP_PID=
rm -f "$AGENT_DIR/state/vms/vm/qemu.pid"

# attestation: tamper with the built initramfs -> boot refused
INITRD=$(find "$AGENT_DIR/state" -name initramfs.cpio | head -1)
check "built initramfs found ($INITRD)" test -f "$INITRD"
printf 'tampered' >>"$INITRD"
expect_fail "start with a tampered initramfs is refused" "attestation" mcp start vm
check "no QEMU started after the refusal" test -z "$(vm_pid)"
# a tamperer who also rewrites the cache's own record is caught by the
# hash the registry recorded at deploy
/usr/bin/python3 - "$INITRD" "$MCP_TEST_KERNEL" <<'PY'
import hashlib, json, os, sys
initrd, kernel = sys.argv[1], sys.argv[2]
h = hashlib.sha256()
for p in (kernel, initrd):
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
art = os.path.join(os.path.dirname(initrd), "artifact.json")
j = json.load(open(art))
j["hash"] = "sha256:" + h.hexdigest()
j["initrd_size"] = os.path.getsize(initrd)
json.dump(j, open(art, "w"))
PY
expect_fail "start refused: build differs from the hash recorded at deploy" "recorded when it was deployed" mcp start vm
check "no QEMU started after that refusal" test -z "$(vm_pid)"
att_events() { json_get "$(sj vm)" 'len([e for e in j["events"] if e["kind"]=="attestation" and e["to"]=="refused" and "attestation failed" in e["detail"]])'; }
check "each refused boot recorded as an attestation event ($(att_events))" test "$(att_events)" -ge 2
check "container unaffected by the refusal" box_ok

# resource and validation refusals
vm_def big "$REGISTRY/hello:v1.0.0" 100000 >"$D/big.toml"
expect_fail "overcommit of memory refused" "memory|MB" mcp deploy "$D/big.toml"
vm_def dyn "$REGISTRY/dyn:v1" 64 >"$D/dyn.toml"
expect_fail "dynamic ELF refused" "dynamic|static" mcp deploy "$D/dyn.toml"
vm_def zero "$REGISTRY/hello:v1.0.0" 0 >"$D/zero.toml"
expect_fail "memory_mb = 0 refused" "memory_mb" mcp deploy "$D/zero.toml"
{ vm_def snap "$REGISTRY/hello:v1.0.0" 64; printf '[snapshot]\nmethod = "cli"\n'; } >"$D/snap.toml"
expect_fail "cli snapshot refused for a unikernel" "snapshot|cli" mcp deploy "$D/snap.toml"
check "refused deploys left no registry rows" test "$(sqlite3 "$AGENT_DIR/state/registry.db" "select count(*) from services where name in ('big','dyn','zero','snap')")" = 0

# undeploy leaves no process, state directory or registry row
check "undeploy the VM" mcp undeploy vm
check "no VM state directory left" test ! -e "$AGENT_DIR/state/vms/vm"
no_qemu_left() { test -z "$(agent_qemu_pids)"; }
check "no QEMU process of this agent left" no_qemu_left
check "no registry rows for the VM" test "$(sqlite3 "$AGENT_DIR/state/registry.db" "select count(*) from components where service = 'vm'")" = 0
check "container still unaffected" box_ok

# a node whose guest kernel went away: running VMs stay visible and
# stoppable, new ones are refused clearly, containers stay
vm_def vm2 "$REGISTRY/hello:v1.0.0" 128 >"$D/vm2.toml"
check "deploy another VM" mcp deploy "$D/vm2.toml"
VM2_PORT=$(hport vm2)
check "vm2 answers" wait_for 60 http_get "http://127.0.0.1:$VM2_PORT/health"
agent_stop
sed -i "s|^kernel = .*|kernel = \"$T/no-such-kernel\"|" "$AGENT_DIR/agent.toml"
agent_start
check "without a kernel, the running VM is still reported running" test "$(comp vm2 observed)/$(comp vm2 drift)" = running/False
expect_fail "unikernel deploy without a kernel fails clearly" "unikernel runtime is not available" mcp deploy "$D/vm.toml"
expect_fail "start without a kernel fails clearly" "unikernel runtime is not available" mcp restart vm2
check "node list no longer offers the unikernel runtime" sh -c "! mcp --json node list | grep -q unikernel"
check "the VM can still be undeployed" mcp undeploy vm2
check "no QEMU process of this agent left after that" no_qemu_left
check "container still running after that" box_ok
check "undeploy the container" mcp undeploy box
check "agent log has no sanitizer reports" sh -c "! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$AGENT_DIR/agent.log'"
t_done
