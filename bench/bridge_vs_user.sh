#!/bin/bash
# bench/bridge_vs_user.sh [REQUESTS]: HTTP latency and throughput to the
# example VM over the isolated bridge versus over QEMU user-mode
# networking (port forward), side by side, on one agent, inside a network
# namespace of its own.  Latency: REQUESTS (default 200) sequential GETs
# with curl's keep-alive-free timing; throughput: wrk (installed on demand)
# for 10 s with 8 connections.
set -u
cd "$(dirname "$0")/.."
N=${1:-200}
if [ "${2:-}" != inner ]; then
	command -v wrk >/dev/null || apt-get install -y -q --no-install-recommends wrk >/dev/null
	NS=mcpb-br-$$
	ip netns add "$NS" || exit 1
	trap 'ip netns del "$NS" 2>/dev/null' EXIT
	ip netns exec "$NS" "$0" "$N" inner
	exit $?
fi
. tests/lib/agent.sh
ip link set lo up
T=$(mktemp -d /tmp/mcp-bench-br.XXXXXX)
cleanup() {
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT
hello_registry "$T" v1.0.0 >/dev/null || exit 1
podman_env_cleanup "$T/img/podman"
AGENT_EXTRA_UNIKERNEL="vcpus = 8"
agent_env_init "$T/agent" "$REGISTRY" || exit 1
"$MCP_BIN/mcp-agent" -c "$AGENT_DIR/agent.toml" bridge up || exit 1
agent_start || exit 1
def() {
	printf 'name = "%s"\nruntime = "unikernel"\n[[components]]\nname = "%s"\nimage = "%s"\nmemory_mb = 128\n%s\n[[components.routes]]\nport = 8080\n' \
		"$1" "$1" "$REGISTRY/hello:v1.0.0" "${2:+network = \"$2\"}"
}
def br >"$T/br.toml"
def us user >"$T/us.toml"
mcp deploy "$T/br.toml" >/dev/null && mcp deploy "$T/us.toml" >/dev/null || exit 1
IP=$(json_get "$(mcp --json status br)" 'j["components"][0]["vm_ip"]')
HP=$(json_get "$(mcp --json status us)" 'j["components"][0]["routes"][0]["host_port"]')
BR="http://$IP:8080/"
US="http://127.0.0.1:$HP/"
wait_for 60 http_get "$BR" && wait_for 60 http_get "$US" || { echo "VMs did not answer"; exit 1; }

lat() { # URL -> median and p90 of N requests, in microseconds
	for _ in $(seq 1 "$N"); do
		curl -s -o /dev/null -w '%{time_total}\n' "$1"
	done | awk '{printf "%d\n", $1 * 1000000}' | sort -n |
		awk '{a[NR]=$1} END {printf "%d %d\n", a[int(NR/2)+1], a[int(NR*0.9)]}'
}
read -r bmed bp90 < <(lat "$BR")
read -r umed up90 < <(lat "$US")
echo "latency over $N sequential requests (median / p90):"
echo "  bridge    : ${bmed} us / ${bp90} us"
echo "  user-mode : ${umed} us / ${up90} us"
awk -v a="$bmed" -v b="$umed" 'BEGIN { printf "  ratio bridge/user (median): %.2f\n", a / b }'
rps() { wrk -t 2 -c 8 -d 10s "$1" 2>/dev/null | awk '/Requests\/sec/ {print $2}'; }
brps=$(rps "$BR")
urps=$(rps "$US")
echo "throughput (wrk, 2 threads, 8 connections, 10 s):"
echo "  bridge    : $brps req/s"
echo "  user-mode : $urps req/s"
awk -v a="$brps" -v b="$urps" 'BEGIN { if (b > 0) printf "  ratio bridge/user: %.2f\n", a / b }'
mcp undeploy br >/dev/null; mcp undeploy us >/dev/null
agent_stop
"$MCP_BIN/mcp-agent" -c "$AGENT_DIR/agent.toml" bridge down
