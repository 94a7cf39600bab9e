#!/bin/bash
# bench/proxy_routes.sh [N] [CLIENTS]: the cost of adding many routes to
# the node proxy (l7, a certificate each).  Side by side in one agent:
#   1. N routes deployed one after another (each deploy waits for its own
#      sync: one HAProxy reload per route, as every change used to cost);
#   2. N more routes deployed by CLIENTS concurrent clients (syncs asked
#      for while a reload runs are coalesced into the next reload);
#   3. baseline: one more route, i.e. one reload with all 2N+1 routes.
# Prints wall time and HAProxy reloads (the master's count) per phase and
# the ratio 2/1.  Defaults: N = 200, CLIENTS = 8.
set -u
cd "$(dirname "$0")/.."
. tests/lib/agent.sh
. bench/lib.sh
N=${1:-200}
C=${2:-8}

T=$(mktemp -d /tmp/mcp-bench-routes.XXXXXX)
cleanup() {
	agent_env_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

"$MCP_BIN/mcp" ca init "$T/ca" >/dev/null &&
	"$MCP_BIN/mcp" ca issue agent-local --intermediate --permit svc.bench --ca "$T/ca" >/dev/null || exit 1
AGENT_EXTRA="[proxy]
enabled = true
bind = [\"127.0.0.1\"]
zone = \"svc.bench\"
issuer_cert = \"$T/ca/agent-local.crt\"
issuer_key = \"$T/ca/agent-local.key\""
agent_env_init "$T/agent" || exit 1
agent_start || exit 1
P=$(free_port 20000 29999)

# active = false: the route is recorded and rendered (server disabled), no
# container runs, so the time measured is the proxy's
def() { # NAME
	printf 'name = "%s"\nactive = false\n[[components]]\nname = "%s"\nimage = "127.0.0.1:1/none:v1"\n[[components.routes]]\nport = %s\nmode = "l7"\n' \
		"$1" "$1" "$P" >"$T/$1.toml"
}
reloads() { # the master's reload count
	/usr/bin/python3 - "$AGENT_DIR/state/proxy/master.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"show proc\n"); s.shutdown(socket.SHUT_WR)
out = b""
while True:
    b = s.recv(65536)
    if not b: break
    out += b
for l in out.decode().splitlines():
    f = l.split()
    if len(f) > 2 and f[1] == "master":
        print(f[2]); break
else:
    print(0)
PY
}
deploy_one() { mcp deploy "$T/$1.toml" >/dev/null || echo "deploy $1 failed" >&2; }

# HAProxy runs from the first route on
def first && deploy_one first || exit 1

echo "== 1. $N routes, one client (one sync each)"
for i in $(seq 1 "$N"); do def "s$i"; done
r0=$(reloads) t0=$(now_ms)
for i in $(seq 1 "$N"); do deploy_one "s$i"; done
seq_ms=$(($(now_ms) - t0)) seq_r=$(($(reloads) - r0))
echo "  $seq_ms ms, $seq_r reloads"

echo "== 2. $N more routes, $C concurrent clients (coalesced syncs)"
for i in $(seq 1 "$N"); do def "c$i"; done
r0=$(reloads) t0=$(now_ms)
seq 1 "$N" | xargs -P "$C" -I{} "$MCP_BIN/mcp" -c "$AGENT_DIR/mcp.toml" deploy "$T/c{}.toml" >/dev/null
par_ms=$(($(now_ms) - t0)) par_r=$(($(reloads) - r0))
echo "  $par_ms ms, $par_r reloads"

echo "== 3. baseline: one route more, one reload with all $((2 * N + 2)) routes"
def last
r0=$(reloads) t0=$(now_ms)
deploy_one last
one_ms=$(($(now_ms) - t0)) one_r=$(($(reloads) - r0))
echo "  $one_ms ms, $one_r reload"

n=$(mcp --json status | /usr/bin/python3 -c 'import json, sys; j = json.load(sys.stdin); print(len(j["services"]) if isinstance(j, dict) and "services" in j else len(j))')
echo "== summary ($n services recorded)"
awk -v s="$seq_ms" -v p="$par_ms" -v o="$one_ms" -v n="$N" -v sr="$seq_r" -v pr="$par_r" 'BEGIN {
	printf "  one client : %6.1f s for %d routes (%d reloads, %.0f ms/route)\n", s / 1000, n, sr, s / n
	printf "  %d clients  : %6.1f s for %d routes (%d reloads, %.0f ms/route)\n", '"$C"', p / 1000, n, pr, p / n
	printf "  ratio coalesced/one-by-one: %.2f; one reload with all routes: %d ms\n", p / s, o
}'
