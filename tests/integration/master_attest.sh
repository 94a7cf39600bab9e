#!/bin/bash
# Attestation seen fleet-wide (mcp-master): two workers w1 and w2 whose
# podman stores each hold an image tagged localhost/att:v1, but not the
# same image (as after a local re-build on one node).  A unikernel service
# pinned to each boots it; the heartbeat carries each VM's attested hash
# (node list through the master), `mcp status` through the master prints
# the hash per VM, and flags both services only once the two nodes boot
# different images for the one reference.  Real master, agents, mutual
# TLS, podman and QEMU (TCG) in network namespaces.  Skips (77) without
# QEMU or the guest kernel.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh
. tests/lib/fleet.sh
. tests/lib/master.sh

if ! command -v qemu-system-x86_64 >/dev/null || [ ! -s "$MCP_KERNEL_DIR/vmlinux" ]; then
	echo "skip: qemu-system-x86_64 or $MCP_KERNEL_DIR/vmlinux missing"
	exit 77
fi

T=$(mktemp -d /tmp/mcp-it-matt.XXXXXX)
P=mcpt-mat$$
DIRS=()
MASTER_PID=
cleanup() { master_fleet_cleanup; }
trap cleanup EXIT

NET=10.97.$((RANDOM % 200 + 20)).
fleet_init "$P" "$NET" || exit 1
fleet_node m 2 && fleet_node w1 3 && fleet_node w2 4 && fleet_node client 6 || exit 1
MIP=$(fleet_ip m)
hello_registry "$T" v1.0.0 || exit 1
podman_env_cleanup "$T/img/podman"
M="$MCP_BIN/mcp"
"$M" ca init "$T/ca" >/dev/null || exit 1
for id in "mcp-master --san IP:$MIP" operator "agent-w1 --san IP:$(fleet_ip w1)" \
	"agent-w2 --san IP:$(fleet_ip w2)"; do
	# shellcheck disable=SC2086
	"$M" ca issue $id --ca "$T/ca" >/dev/null || exit 1
done
master_config "$T/master.toml" "$MIP:9555" "$T/master" "$T/ca" "[registration]
allowed_agents = [\"agent-w1\", \"agent-w2\"]
[timeouts]
deploy = 180
[health]
heartbeat_interval = 1
missed = 5"
op_config "$T/op.toml" "$MIP:9555" "$T/ca"
OP_NS=$P-client OP_CONFIG=$T/op.toml
master_start "$P-m" "$T/master.toml" "$T/master.log" || { echo "mcp-master did not start"; exit 1; }

declare -A ADIR
for n in w1 w2; do
	AGENT_EXTRA_UNIKERNEL="memory_mb = 512
vcpus = 2" master_agent_env "$T/$n" "$n" "$(fleet_ip $n)" "$T/ca" "$MIP:9555" || exit 1
	ADIR[$n]=$AGENT_DIR
	DIRS+=("$AGENT_DIR")
	# localhost/att:v1 in this node's store only: w1's says version v1,
	# w2's is another build (version v2) under the same tag
	if [ "$n" = w1 ]; then
		agent_local_image att v1 || exit 1
	else
		agent_local_image att v2 || exit 1
		PODMAN_ENV_DIR="$AGENT_DIR/podman" penv_podman tag localhost/att:v2 localhost/att:v1 || exit 1
	fi
	AGENT_NETNS="$P-$n" agent_start || exit 1
done
nodes_json() { op --json node list; }
both_healthy() { [ "$(json_get "$(nodes_json)" "sum(1 for n in j if n['health'] == 'healthy')")" = 2 ]; }
check "both workers register and are healthy" wait_for 30 both_healthy

uk() { # NAME NODE
	printf 'name = "%s"\nruntime = "unikernel"\nnode = "%s"\n[[components]]\nname = "%s"\nimage = "localhost/att:v1"\nmemory_mb = 128\n[[components.routes]]\nport = 8080\n' \
		"$1" "$2" "$1" >"$T/$1.toml"
	echo "$T/$1.toml"
}
st_json() { op --json status; }
flags() { json_get "$(st_json)" "sum(len(s['attestation_mismatch']) for s in j)"; }
check "deploy a unikernel on w1" op deploy "$(uk a w1)"
HASH_A=$(json_get "$(st_json)" "[s['components'][0]['image_hash'] for s in j if s['service'] == 'a'][0]")
check "status through the master shows a's attested hash ($HASH_A)" grep -qE '^sha256:[0-9a-f]{64}$' <<<"$HASH_A"
check "... and in text (--wide: the whole hash)" grep -q "a attested $HASH_A" <<<"$(op status --wide)"
check "one VM of an image: nothing flagged" test "$(json_get "$(st_json)" "[len(s['attestation_mismatch']) for s in j if s['service'] == 'a']")" = "[0]"
hb_has_a() { test -n "$HASH_A" -a "$(json_get "$(nodes_json)" "[v['image_hash'] for n in j if n['node'] == 'w1' for v in n['vm_attestations'] if v['service'] == 'a'][0]" 2>/dev/null)" = "$HASH_A"; }
check "w1's heartbeat carries a's attested hash (node list through the master)" wait_for 10 hb_has_a

check "deploy the same image reference on w2" op deploy "$(uk b w2)"
ID_A=$(json_get "$(st_json)" "[s['components'][0]['image_id'] for s in j if s['service'] == 'a'][0]")
ID_B=$(json_get "$(st_json)" "[s['components'][0]['image_id'] for s in j if s['service'] == 'b'][0]")
check "the two nodes booted different images for localhost/att:v1 ($ID_A, $ID_B)" test -n "$ID_A" -a -n "$ID_B" -a "$ID_A" != "$ID_B"
check "both services flagged" test "$(flags)" = 2
OUT=$(op status --wide)
echo "$OUT"
check "status text flags a against node w2" grep -q "! attestation differs across nodes: a: image localhost/att:v1 boots $ID_A here .* but $ID_B on node w2 (service b" <<<"$OUT"
check "... and b against node w1" grep -q "! attestation differs across nodes: b: image localhost/att:v1 boots $ID_B here .* but $ID_A on node w1 (service a" <<<"$OUT"
check "undeploy b" op undeploy b
check "with one image left nothing is flagged" test "$(json_get "$(st_json)" "[len(s['attestation_mismatch']) for s in j if s['service'] == 'a']")" = "[0]"
check "undeploy a" op undeploy a
t_done
