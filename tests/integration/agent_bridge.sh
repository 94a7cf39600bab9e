#!/bin/bash
# Isolated bridge networking (SPEC §4.2), inside a network namespace this
# test creates (the bridge, TAPs, nftables rules, registry, agent and every
# request live there and vanish with it): two unikernel VMs on mcp-br0
# answer at their bridge addresses; from inside a VM the gateway is
# reachable, the other VM is not, an address beyond the bridge (a listener
# on a veth) is not; a network = "user" VM still answers through its
# forwarded port; a client in a namespace of its own reaches a bridged VM
# through the node proxy (l7, certificate from the node's intermediate)
# and not directly; an agent restart keeps addresses and TAPs; undeploy
# leaves no TAP, address or rule.  Skips (77) without QEMU/kernel.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD

if [ "${1:-}" != inner ]; then
	. tests/lib/agent.sh
	if ! command -v qemu-system-x86_64 >/dev/null || [ ! -s "$MCP_TEST_KERNEL" ]; then
		echo "skip: qemu-system-x86_64 or $MCP_TEST_KERNEL missing"
		exit 77
	fi
	NS=mcpt-br-$$
	ip netns add "$NS" || exit 1
	ip netns add "$NS-client" || exit 1
	trap 'ip netns del "$NS" 2>/dev/null; ip netns del "$NS-client" 2>/dev/null' EXIT
	CLIENT_NS="$NS-client" ip netns exec "$NS" "$0" inner
	exit $?
fi

. tests/lib/agent.sh
ip link set lo up
T=$(mktemp -d /tmp/mcp-it-br.XXXXXX)
LISTEN_PIDS=()
cleanup() {
	for p in "${LISTEN_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT

hello_registry "$T" v1.0.0 || exit 1
podman_env_cleanup "$T/img/podman"

"$MCP_BIN/mcp" ca init "$T/ca" >/dev/null &&
	"$MCP_BIN/mcp" ca issue agent-local --intermediate --permit svc.test --ca "$T/ca" >/dev/null ||
	exit 1
AGENT_EXTRA_UNIKERNEL="memory_mb = 2048
vcpus = 6"
AGENT_EXTRA="[proxy]
enabled = true
bind = [\"10.98.0.1\", \"127.0.0.1\"]
zone = \"svc.test\"
issuer_cert = \"$T/ca/agent-local.crt\"
issuer_key = \"$T/ca/agent-local.key\""
agent_env_init "$T/agent" "$REGISTRY" || exit 1
A="$MCP_BIN/mcp-agent"
check "mcp-agent bridge up creates mcp-br0" "$A" -c "$AGENT_DIR/agent.toml" bridge up
check "bridge up is idempotent" "$A" -c "$AGENT_DIR/agent.toml" bridge up
check "gateway address on the bridge" sh -c "ip -4 addr show dev mcp-br0 | grep -q '10.99.0.1/24'"

# listeners: one on the gateway, one beyond the bridge on a veth
ip link add mcpt-vx type veth peer name mcpt-vy
ip addr add 10.98.0.1/24 dev mcpt-vx
ip link set mcpt-vx up
# the far end is a client host of its own: it can reach the node's
# 10.98.0.1, nothing else
ip link set mcpt-vy netns "$CLIENT_NS"
ip -n "$CLIENT_NS" addr add 10.98.0.2/24 dev mcpt-vy
ip -n "$CLIENT_NS" link set mcpt-vy up
ip -n "$CLIENT_NS" link set lo up
GW_PORT=$(free_port)
FAR_PORT=$(free_port)
socat "TCP-LISTEN:$GW_PORT,bind=10.99.0.1,fork,reuseaddr" SYSTEM:'echo gw' &
LISTEN_PIDS+=($!)
socat "TCP-LISTEN:$FAR_PORT,bind=10.98.0.1,fork,reuseaddr" SYSTEM:'echo far' &
LISTEN_PIDS+=($!)
check "listener beyond the bridge answers locally" wait_for 5 sh -c "socat -u TCP:10.98.0.1:$FAR_PORT STDOUT | grep -q far"

agent_start || exit 1
D=$T/defs
mkdir -p "$D"
vm_def() { # NAME [network]
	cat <<EOF
name = "$1"
runtime = "unikernel"
[[components]]
name = "$1"
image = "$REGISTRY/hello:v1.0.0"
memory_mb = 128
env = ["HELLO_NAME=$1"]
${2:+network = \"$2\"}
[[components.routes]]
name = "http"
port = 8080
mode = "l7"
EOF
}
vm_def vm-a >"$D/a.toml"
vm_def vm-b >"$D/b.toml"
vm_def vm-u user >"$D/u.toml"
for s in a b u; do
	check "deploy vm-$s" mcp deploy "$D/$s.toml"
done
sj() { mcp --json status "$1"; }
ipof() { json_get "$(sj "$1")" 'j["components"][0]["vm_ip"]'; }
IP_A=$(ipof vm-a)
IP_B=$(ipof vm-b)
echo "vm-a $IP_A, vm-b $IP_B"
check "vm-a has a bridge address" grep -qE '^10\.99\.0\.([2-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-4])$' <<<"$IP_A"
check "addresses differ" test "$IP_A" != "$IP_B" -a -n "$IP_B"
check "VMAddr recorded per route" test "$(json_get "$(sj vm-a)" 'j["components"][0]["routes"][0]["vm_addr"]')" = "$IP_A:8080"
check "no host port forwarded in bridge mode" test "$(json_get "$(sj vm-a)" 'j["components"][0]["routes"][0]["host_port"]')" = 0
check "user-mode VM has no bridge address" test -z "$(ipof vm-u)"
# the machine type the VMs booted (microvm with the minimal kernel, else pc)
MACH=$(json_get "$(sj vm-a)" 'j["components"][0]["machine"]')
check "VMs report their machine type ($MACH, kernel $(json_get "$(sj vm-a)" 'j["components"][0]["guest_kernel"]'))" grep -qE '^(pc|microvm)$' <<<"$MACH"
check "vm-a answers at $IP_A:8080" wait_for 60 http_get "http://$IP_A:8080/"
check "vm-b answers at $IP_B:8080" wait_for 60 http_get "http://$IP_B:8080/"
check "answer is vm-a's" grep -q "hello from vm-a" <<<"$(http_get "http://$IP_A:8080/")"
UP=$(json_get "$(sj vm-u)" 'j["components"][0]["routes"][0]["host_port"]')
check "network=user VM answers through 127.0.0.1:$UP" wait_for 60 http_get "http://127.0.0.1:$UP/"

from_a() { curl -s -m 10 "http://$IP_A:8080/connect?addr=$1"; }
out=$(from_a "10.99.0.1:$GW_PORT"); echo "$out"
check "from vm-a the gateway is reachable" grep -q " ok" <<<"$out"
out=$(from_a "$IP_B:8080"); echo "$out"
check "from vm-a the other VM is not reachable" grep -q "failed" <<<"$out"
out=$(from_a "10.98.0.1:$FAR_PORT"); echo "$out"
check "from vm-a an address beyond the bridge is not reachable" grep -q "failed" <<<"$out"
out=$(curl -s -m 10 "http://$IP_B:8080/connect?addr=$IP_A:8080"); echo "$out"
check "from vm-b vm-a is not reachable" grep -q "failed" <<<"$out"

# the node proxy is the way in from another host, and the only one
client() { nsenter "--net=/var/run/netns/$CLIENT_NS" "$@"; }
via_proxy() { client curl -fsS -m 10 --cacert "$T/ca/ca.crt" --resolve "$1.svc.test:8080:10.98.0.1" "https://$1.svc.test:8080/" | grep -q "hello from $1"; }
check "a client host reaches vm-a through the node proxy (l7, verified)" wait_for 20 via_proxy vm-a
check "... and vm-b" wait_for 20 via_proxy vm-b
check "the proxy's backend for vm-a is its bridge address" \
	test "$(json_get "$(sj vm-a)" 'j["components"][0]["routes"][0]["backend"]')" = "$IP_A:8080"
client ip route add 10.99.0.0/24 via 10.98.0.1
direct() { client curl -sS -m 5 "http://$IP_A:8080/" >/dev/null 2>&1; }
check "the client cannot reach vm-a directly, even routed via the node" eval '! direct'

taps() { ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^mcp[0-9a-f]{4}-[0-9]+$' | sort; }
TAPS=$(taps)
echo "taps: $TAPS"
check "one TAP per bridged VM" test "$(echo "$TAPS" | wc -l)" = 2
for t in $TAPS; do
	check "$t fits IFNAMSIZ" test "${#t}" -le 15
	check "$t is an isolated port of mcp-br0" sh -c "bridge -d link show dev $t | grep -q 'master mcp-br0' && bridge -d link show dev $t | grep -q 'isolated on'"
done
# QEMU's own default MAC is 52:54:00:12:34:56 too: check the one derived from the name
MAC_A="52:54:00:$(printf %s vm-a | sha256sum | sed 's/^\(..\)\(..\)\(..\).*/\1:\2:\3/')"
check "vm-a's MAC is derived from its name ($MAC_A)" sh -c "bridge fdb show br mcp-br0 | grep -q '^$MAC_A '"
check "nftables table of the agent present" nft list table inet mcp
check "the host's other traffic is unaffected by the rules" sh -c "socat -u TCP:10.98.0.1:$FAR_PORT STDOUT | grep -q far"
check "bridge table of the agent present" nft list table bridge mcp
for t in $TAPS; do
	check "$t belongs to its VM's uid, not root ($(cat /sys/class/net/$t/owner))" \
		test "$(cat /sys/class/net/$t/owner)" -gt 0
done
check "IPv6 (anything but IPv4 and ARP) from VMs dropped at the bridge" \
	sh -c "nft list chain bridge mcp prerouting | grep -q 'ether type != { ip, arp } drop'"

# ARP anti-spoofing: vm-a announces vm-b's address and one nobody has; the
# host is made as credulous as it gets (arp_accept: unsolicited ARP creates
# entries), and its neighbour table must not change
MAC_B="52:54:00:$(printf %s vm-b | sha256sum | sed 's/^\(..\)\(..\)\(..\).*/\1:\2:\3/')"
FAKE=10.99.0.200
lladdr() { ip neigh show "$1" dev mcp-br0 | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }'; }
sysctl -qw net.ipv4.conf.mcp-br0.arp_accept=1
http_get "http://$IP_B:8080/health" >/dev/null
check "the host knows vm-b at its MAC ($(lladdr "$IP_B"))" test "$(lladdr "$IP_B")" = "$MAC_B"
spoof() { # from vm-a: ARP claiming vm-b's address and FAKE, a few times
	local i out
	for i in 1 2 3; do
		out=$(curl -s -m 10 "http://$IP_A:8080/arp?ip=$IP_B")
		curl -s -m 10 "http://$IP_A:8080/arp?ip=$FAKE" >/dev/null
		sleep 0.5
	done
	echo "$out"
}
out=$(spoof); echo "$out"
check "vm-a sent the ARP frames" grep -q "sent 2 frames" <<<"$out"
sleep 1
check "the host's entry for vm-b still names vm-b's MAC ($(lladdr "$IP_B"))" test "$(lladdr "$IP_B")" = "$MAC_B"
check "no entry for the address vm-a claimed out of nothing ($(lladdr $FAKE))" test -z "$(lladdr $FAKE)"
check "vm-b still answers at its address" http_get "http://$IP_B:8080/health"
# control: without the bridge's rules the same frames do poison the table
nft list table bridge mcp >"$T/bridge.nft"
nft flush chain bridge mcp prerouting
spoof >/dev/null
check "control: without the rules vm-a takes over vm-b's entry" test "$(lladdr "$IP_B")" = "$MAC_A"
check "control: ... and creates the claimed one" test "$(lladdr $FAKE)" = "$MAC_A"
nft delete table bridge mcp
nft -f "$T/bridge.nft"
ip neigh flush dev mcp-br0
sysctl -qw net.ipv4.conf.mcp-br0.arp_accept=0
check "rules restored: vm-b answers again" wait_for 10 http_get "http://$IP_B:8080/health"

# agent restart: addresses and TAPs unchanged
IFX=$(for t in $TAPS; do cat "/sys/class/net/$t/ifindex"; done)
check "agent stops" agent_stop
check "agent starts" agent_start
check "vm-a keeps its address" test "$(ipof vm-a)" = "$IP_A"
check "vm-b keeps its address" test "$(ipof vm-b)" = "$IP_B"
check "TAPs unchanged after agent restart" test "$(for t in $TAPS; do cat "/sys/class/net/$t/ifindex"; done)" = "$IFX"
check "vm-a still answers" http_get "http://$IP_A:8080/health"
# redeploy of the same component keeps the address; stop drops the TAP
check "stop vm-b" mcp stop vm-b
check "stopped VM has no TAP" test "$(taps | wc -l)" = 1
check "start vm-b" mcp start vm-b
check "vm-b keeps its address across stop/start" test "$(ipof vm-b)" = "$IP_B"
check "vm-b answers again" wait_for 60 http_get "http://$IP_B:8080/health"

for s in vm-a vm-b vm-u; do check "undeploy $s" mcp undeploy "$s"; done
check "no TAP left" test -z "$(taps)"
check "no address left in the registry" test "$(sqlite3 "$AGENT_DIR/state/registry.db" "select count(*) from components where vm_ip != ''")" = 0
check "no nftables rule left" sh -c "! nft list table inet mcp >/dev/null 2>&1 && ! nft list table bridge mcp >/dev/null 2>&1"
# address exhaustion: a /29 has 5 addresses for VMs; hold them all
check "agent stops" agent_stop
sed -i 's|^\[unikernel\]|[bridge]\nsubnet = "10.99.0.0/29"\n\n[unikernel]|' "$AGENT_DIR/agent.toml"
for i in 2 3 4 5 6; do
	sqlite3 "$AGENT_DIR/state/registry.db" "insert into services (name, definition, created_at, updated_at) values ('hold$i', '', 0, 0); insert into components (service, name, image, desired, runtime, memory_mb, vm_ip) values ('hold$i', 'hold$i', 'x:v1', 'stopped', 'unikernel', 0, '10.99.0.$i');"
done
check "agent starts with a /29" agent_start
expect_fail "deploy with every address taken fails clearly" "no free address on mcp-br0" mcp deploy "$D/a.toml"
check "the refused deploy left no row" test "$(sqlite3 "$AGENT_DIR/state/registry.db" "select count(*) from services where name = 'vm-a'")" = 0
check "no TAP for the refused deploy" test -z "$(taps)"
for i in 2 3 4 5 6; do mcp undeploy "hold$i" >/dev/null; done
check "agent stops" agent_stop
check "mcp-agent bridge down removes the bridge" "$A" -c "$AGENT_DIR/agent.toml" bridge down
check "bridge gone" test ! -e /sys/class/net/mcp-br0
check "agent log has no sanitizer reports" sh -c "! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$AGENT_DIR/agent.log'"
t_done
