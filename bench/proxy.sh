#!/bin/bash
# bench/proxy.sh [SECONDS]: the node proxy (HAProxy, l7) against the
# backend it fronts, side by side in one run:
#   1. requests/s and p50/p99 latency through the proxy (TLS terminated,
#      keep-alive from the client) versus straight to the container's host
#      port (plain HTTP; hello closes every connection), same client
#      (bench/httpload.c), 4 connections, SECONDS each (default 5);
#   2. time from `mcp deploy` returning to the new hostname answering, with
#      no other route and with 200 routes configured (ratio);
#   3. failed requests during 10 reloads under load (must be 0).
set -u
cd "$(dirname "$0")/.."
. tests/lib/agent.sh
. bench/lib.sh
SECS=${1:-5}

T=$(mktemp -d /tmp/mcp-bench-proxy.XXXXXX)
cleanup() {
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT

make -s bin/hello >/dev/null
cc -O2 -o "$T/httpload" bench/httpload.c -lssl -lcrypto -lpthread || exit 1
hello_registry "$T" v1.0.0 >/dev/null || exit 1
podman_env_cleanup "$T/img/podman"
"$MCP_BIN/mcp" ca init "$T/ca" >/dev/null &&
	"$MCP_BIN/mcp" ca issue agent-local --intermediate --permit svc.bench --ca "$T/ca" >/dev/null || exit 1
AGENT_EXTRA="[proxy]
enabled = true
bind = [\"127.0.0.1\"]
zone = \"svc.bench\"
issuer_cert = \"$T/ca/agent-local.crt\"
issuer_key = \"$T/ca/agent-local.key\""
agent_env_init "$T/agent" "$REGISTRY" || exit 1
agent_start || exit 1
IMG="$REGISTRY/hello:v1.0.0"
penv_podman pull --tls-verify=false "$IMG" >/dev/null 2>&1
P=$(free_port 20000 29999)

def() { # NAME [active]
	printf 'name = "%s"\nactive = %s\n[[components]]\nname = "%s"\nimage = "%s"\n[[components.routes]]\nport = %s\nmode = "l7"\n' \
		"$1" "${2:-true}" "$1" "$IMG" "$P"
}
def web >"$T/web.toml"
mcp deploy "$T/web.toml" >/dev/null || exit 1
HP=$(json_get "$(mcp --json status web)" 'j["components"][0]["routes"][0]["host_port"]')
wait_200 "http://127.0.0.1:$HP/" || exit 1

echo "== 1. throughput and latency, $SECS s each, 4 connections"
direct=$("$T/httpload" 127.0.0.1 "$HP" "$SECS" 4)
proxied=$("$T/httpload" 127.0.0.1 "$P" "$SECS" 4 --tls web.svc.bench "$T/ca/ca.crt")
echo "  direct (plain, new connection each) : $direct"
echo "  through the proxy (l7, keep-alive)  : $proxied"
field() { awk -v k="$2" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' <<<"$1"; }
awk -v a="$(field "$proxied" rps)" -v b="$(field "$direct" rps)" \
	-v p="$(field "$proxied" p50)" -v q="$(field "$direct" p50)" \
	'BEGIN { printf "  ratio proxy/direct: requests/s %.2f, p50 latency %.2f\n", a / b, p / q }'

echo "== 2. deploy returning -> new hostname answering"
answer_ms() { # NAME: deploy, then time until https://NAME.svc.bench answers
	local t0 _
	def "$1" >"$T/$1.toml"
	mcp deploy "$T/$1.toml" >/dev/null || { echo "deploy $1 failed" >&2; return 1; }
	t0=$(now_ms)
	for _ in $(seq 1 3000); do
		curl -fs -o /dev/null -m 1 --cacert "$T/ca/ca.crt" \
			--resolve "$1.svc.bench:$P:127.0.0.1" "https://$1.svc.bench:$P/" && break
		sleep 0.01
	done
	echo $(($(now_ms) - t0))
}
base=$(answer_ms fresh0)
mcp undeploy fresh0 >/dev/null
t0=$(now_ms)
for i in $(seq 1 200); do
	def "r$i" false >"$T/r$i.toml"
	mcp deploy "$T/r$i.toml" >/dev/null || echo "deploy r$i failed" >&2
done
echo "  recorded 200 more routes (active = false) in $(($(now_ms) - t0)) ms"
loaded=$(answer_ms fresh1)
echo "  with 1 route   : ${base} ms"
echo "  with 201 routes: ${loaded} ms"
awk -v a="$loaded" -v b="$base" 'BEGIN { printf "  ratio: %.2f\n", (a + 1) / (b + 1) }'

echo "== 3. 10 reloads under load"
"$T/httpload" 127.0.0.1 "$P" 12 4 --tls web.svc.bench "$T/ca/ca.crt" >"$T/load.out" &
LP=$!
sleep 1
for i in $(seq 1 10); do
	# a route change is a reload: add and remove one
	def "flip$i" >"$T/flip$i.toml"
	mcp deploy "$T/flip$i.toml" >/dev/null
	mcp undeploy "flip$i" >/dev/null
done
wait "$LP"
echo "  during 20 reloads (10 adds, 10 removals): $(cat "$T/load.out")"
echo "  failed requests: $(field "$(cat "$T/load.out")" errors) (must be 0)"
