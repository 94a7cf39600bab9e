#!/bin/bash
# Unikernels take what containers take (issue 7): an image that exists only
# in the agent's podman store (built there, never pushed) deploys as a VM
# and as a container; a bad local image is refused before the running VM
# is touched; with the registry down, cached redeploys of a registry image
# still succeed (no registry round trip); an image that is neither local
# nor in a registry fails with an error naming it; a tag re-pointed in the
# local store: the agent says so, an unchanged redeploy leaves the running
# VM alone (as for containers), start refuses to boot other than what was
# attested, and a deploy rebuilds from the new image (never the old build
# booted silently).  Skips (77) when QEMU or the guest kernel is missing.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh
. bench/lib.sh

if ! command -v qemu-system-x86_64 >/dev/null || [ ! -s "$MCP_TEST_KERNEL" ]; then
	echo "skip: qemu-system-x86_64 or $MCP_TEST_KERNEL missing (scripts/fetch-kernel.sh)"
	exit 77
fi

T=$(mktemp -d /tmp/mcp-it-ukl.XXXXXX)
cleanup() {
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT

hello_registry "$T" v1.0.0 || exit 1
podman_env_cleanup "$T/img/podman"
REG_PORT=${REGISTRY##*:}
AGENT_EXTRA_UNIKERNEL="memory_mb = 1024
vcpus = 4"
agent_env_init "$T/agent" "$REGISTRY" || exit 1
agent_start || exit 1
D=$T/defs
mkdir -p "$D"

LOCAL=localhost/hello-local:v1
check "build $LOCAL into the agent's podman store only" agent_local_image hello-local v1
aps() { PODMAN_ENV_DIR="$AGENT_DIR/podman" penv_podman "$@"; }
check "$LOCAL is in the agent's store" aps image exists "$LOCAL"
# a local-only image whose entrypoint is dynamically linked
mkdir -p "$T/dynroot/usr/local/bin"
cp /usr/bin/true "$T/dynroot/usr/local/bin/hello"
check "build localhost/dyn-local:v1 into the agent's store only" sh -c \
	"tar -C '$T/dynroot' -c . | CONTAINERS_CONF='$AGENT_DIR/podman/containers.conf' \
	TMPDIR='$AGENT_DIR/podman/imgtmp' podman $(tr '\n' ' ' <"$AGENT_DIR/podman/podman.args") \
	import --change 'ENTRYPOINT [\"/usr/local/bin/hello\"]' - localhost/dyn-local:v1 >/dev/null"

vm_def() { # NAME IMAGE MEMORY [RUNTIME]
	cat <<EOF
name = "$1"
runtime = "${4:-unikernel}"
[[components]]
name = "$1"
image = "$2"
memory_mb = $3
restart = "no"
env = ["HELLO_NAME=$1"]
[[components.routes]]
name = "http"
port = 8080
EOF
}
sj() { mcp --json status "$1"; }
comp() { json_get "$(sj "$1")" "j['components'][0]['$2']"; }
hport() { json_get "$(sj "$1")" 'j["components"][0]["routes"][0]["host_port"]'; }
vm_pid() { cat "$AGENT_DIR/state/vms/$1/qemu.pid" 2>/dev/null; }
answers() { # NAME TEXT: the VM/container NAME answers HTTP with TEXT
	http_get "http://127.0.0.1:$(hport "$1")/" | grep -q "$2"
}
# time one CLI call in ms into $MS
timed() { local t0; t0=$(now_ms); "$@"; local rc=$?; MS=$(($(now_ms) - t0)); return $rc; }

# 1. a local-only image, as a VM and as a container
vm_def lvm "$LOCAL" 128 >"$D/lvm.toml"
check "deploy $LOCAL as a unikernel" mcp deploy "$D/lvm.toml"
check "the VM answers HTTP from the local image" wait_for 90 answers lvm "hello from lvm version v1"
check "status: running, no drift" test "$(comp lvm observed)/$(comp lvm drift)" = running/False
vm_def lbox "$LOCAL" 0 container | grep -v memory_mb >"$D/lbox.toml"
check "the same image deploys as a container" mcp deploy "$D/lbox.toml"
check "the container answers HTTP" wait_for 30 answers lbox "hello from lbox version v1"

# 2. a bad local image is refused before the running VM is touched
PID=$(vm_pid lvm)
sed "s|$LOCAL|localhost/dyn-local:v1|" "$D/lvm.toml" >"$D/lvm-dyn.toml"
expect_fail "redeploy with a local dynamic ELF refused" "dynamic" mcp deploy "$D/lvm-dyn.toml"
check "the running VM untouched by the refusal" test -n "$PID" -a "$(vm_pid lvm)" = "$PID"
check "the VM still answers" answers lvm "hello from lvm version v1"
check "the registry still has the local image" test "$(comp lvm image)" = "$LOCAL"

# 3. a registry image, then the registry goes away: cached redeploys need none
vm_def rvm "$REGISTRY/hello:v1.0.0" 128 >"$D/rvm.toml"
check "deploy a registry image as a unikernel" mcp deploy "$D/rvm.toml"
check "it answers HTTP" wait_for 90 answers rvm "hello from rvm version v1.0.0"
registry_stop "$T/registry"
check "the registry is down (connections refused)" sh -c "! curl -s -m 2 http://$REGISTRY/v2/"
check "unchanged redeploy with the registry down" timed mcp deploy "$D/rvm.toml"
echo "measure: unchanged unikernel redeploy (registry down): $MS ms"
sed 's/^memory_mb = 128/memory_mb = 160/' "$D/rvm.toml" >"$D/rvm-160.toml"
check "redeploy with a change, cached build, registry down" timed mcp deploy "$D/rvm-160.toml"
echo "measure: unikernel redeploy replacing the VM from a cached build (registry down): $MS ms"
check "the replaced VM answers" wait_for 90 answers rvm "hello from rvm version v1.0.0"
check "the replacement booted the cached build" grep -q "vm rvm: started .*cached build" "$AGENT_DIR/agent.log"
check "undeploy it" mcp undeploy rvm
check "fresh deploy of a cached image, registry down" timed mcp deploy "$D/rvm.toml"
echo "measure: unikernel deploy call, image and build cached (registry down): $MS ms"
check "it answers again" wait_for 90 answers rvm "hello from rvm version v1.0.0"

# 4. neither local nor in a registry: a clear error naming the image
vm_def gone "$REGISTRY/absent:v1" 128 >"$D/gone.toml"
expect_fail "absent image, registry refusing connections" \
	"$REGISTRY/absent:v1 is not in this node's podman store.*connection refused" \
	mcp deploy "$D/gone.toml"
registry_start "$T/registry" "$REG_PORT" >/dev/null || echo "registry restart failed"
expect_fail "absent image, registry up" \
	"$REGISTRY/absent:v1 is not in this node's podman store.*(manifest|name) unknown" \
	mcp deploy "$D/gone.toml"
vm_def gone2 "localhost/absent-local:v1" 128 >"$D/gone2.toml"
expect_fail "absent localhost/ image" "localhost/absent-local:v1 is not in this node's podman store" \
	mcp deploy "$D/gone2.toml"
check "refused deploys left no registry rows" test "$(sqlite3 "$AGENT_DIR/state/registry.db" "select count(*) from services where name in ('gone','gone2')")" = 0

# 5. the local tag re-pointed at another image: rebuilt, and said so
OLD_ID=$(aps image inspect --format '{{.Id}}' "$LOCAL")
OLD_HASH=$(comp lvm image_hash)
check "build localhost/hello-local:v2 into the agent's store" agent_local_image hello-local v2
check "re-point $LOCAL at it" aps tag localhost/hello-local:v2 "$LOCAL"
NEW_ID=$(aps image inspect --format '{{.Id}}' "$LOCAL")
check "the tag names another image now" test -n "$NEW_ID" -a "$NEW_ID" != "$OLD_ID"
# an unchanged redeploy leaves the running VM alone (as for containers) but says so
check "unchanged redeploy after the tag moved" mcp deploy "$D/lvm.toml"
check "the agent log says the tag moved and the running VM keeps the old image" \
	grep -q "image $LOCAL now names sha256:$NEW_ID, not sha256:$OLD_ID.*VMs running the old image keep it" \
	"$AGENT_DIR/agent.log"
check "the running VM still answers from the old image" answers lvm "hello from lvm version v1"
check "stop the VM" mcp stop lvm
expect_fail "start refuses to boot other than what was attested, naming the move" \
	"attestation.*now names sha256:$NEW_ID, not sha256:$OLD_ID" mcp start lvm
check "no VM booted by the refused start" test -z "$(vm_pid lvm)"
check "the agent log says the refused start's build was of the new image" \
	grep -q "image $LOCAL now names sha256:$NEW_ID, not sha256:$OLD_ID.*: rebuilt" "$AGENT_DIR/agent.log"
check "deploy again accepts the new image" mcp deploy "$D/lvm.toml"
check "the VM now runs the new image" wait_for 90 answers lvm "hello from lvm version v2"
check "the attestation hash changed" test -n "$(comp lvm image_hash)" -a "$(comp lvm image_hash)" != "$OLD_HASH"
check "spec.json records the image ID booted" grep -q "sha256:$NEW_ID" "$AGENT_DIR/state/vms/lvm/spec.json"

# clean up through the agent
for s in lvm lbox rvm; do
	check "undeploy $s" mcp undeploy "$s"
done
no_qemu_left() { test -z "$(agent_qemu_pids)"; }
check "no QEMU process of this agent left" no_qemu_left
check "agent log has no sanitizer reports" sh -c "! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$AGENT_DIR/agent.log'"
t_done
