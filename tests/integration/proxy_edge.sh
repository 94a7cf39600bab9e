#!/bin/bash
# Edge routes end to end, across network namespaces (SPEC §4.3): a worker
# node serves an l7 route on its proxy under the internal zone; a real DNS
# server (knot) resolves that name; an edge node, told by mcp-master
# (SetupEdgeRoute over mutual TLS), terminates the public hostname with its
# own certificate and re-encrypts to the worker's proxy, verifying it
# against the platform CA with SNI = the internal name.  A client in its
# own namespace reaches the container through edge -> worker -> container
# with the chain verified against the platform CA alone.  Refused: an
# operator identity, backend_tls = false, a public name across a label
# boundary (evilexample.net vs example.net), a backend outside the zone,
# an edge request to a node that is not an edge.  Edge routes survive an
# agent restart; RemoveEdgeRoute takes the name away.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh
. tests/lib/fleet.sh

T=$(mktemp -d /tmp/mcp-it-edge.XXXXXX)
W= E=
cleanup() {
	local d
	for d in "$W" "$E"; do
		[ -n "$d" ] || continue
		AGENT_DIR=$d
		agent_env_cleanup
	done
	knot_stop "$T/knot"
	registry_stop "$T/registry"
	fleet_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

NET=10.98.$((RANDOM % 200 + 20)).
fleet_init "mcpt-edge$$" "$NET" || exit 1
fleet_node worker 2 || exit 1
fleet_node edge 3 || exit 1
fleet_node dns 4 || exit 1
fleet_node client 5 || exit 1
WIP=$(fleet_ip worker) EIP=$(fleet_ip edge) DIP=$(fleet_ip dns)

hello_registry "$T" v1.0.0 || exit 1
M="$MCP_BIN/mcp"
"$M" ca init "$T/ca" >/dev/null &&
	"$M" ca issue agent-worker --intermediate --permit svc.test --ca "$T/ca" --out "$T/iw" >/dev/null &&
	"$M" ca issue agent-edge --intermediate --permit example.net --ca "$T/ca" --out "$T/ie" >/dev/null &&
	"$M" ca issue agent-edge --san "IP:$EIP" --ca "$T/ca" >/dev/null &&
	"$M" ca issue agent-worker --san "IP:$WIP" --ca "$T/ca" >/dev/null &&
	"$M" ca issue mcp-master --ca "$T/ca" >/dev/null &&
	"$M" ca issue operator --ca "$T/ca" >/dev/null || { echo "mcp ca failed"; exit 1; }

knot_start dns "$T/knot" svc.test "alpha A $WIP" || exit 1
dns_ok() { fleet_exec client kdig "@$DIP" +short alpha.svc.test A | grep -qx "$WIP"; }
check "knot answers alpha.svc.test with the worker's address" dns_ok

# ---- the worker: alpha on its proxy at alpha.svc.test:8443
WPORT=9444
AGENT_EXTRA_AGENT="node = \"worker\"
listen = \"$WIP:$WPORT\""
AGENT_EXTRA="[proxy]
enabled = true
bind = [\"$WIP\"]
zone = \"svc.test\"
issuer_cert = \"$T/iw/agent-worker.crt\"
issuer_key = \"$T/iw/agent-worker.key\"
[tls]
ca = \"$T/ca/ca.crt\"
cert = \"$T/ca/agent-worker.crt\"
key = \"$T/ca/agent-worker.key\""
agent_env_init "$T/worker" "$REGISTRY" || exit 1
sed -i 's/^node = "local"$//' "$AGENT_DIR/agent.toml"
W=$AGENT_DIR
# the image comes from the registry on the root namespace's loopback,
# fetched into the node's own store before the agent needs it
penv_podman pull --tls-verify=false "$REGISTRY/hello:v1.0.0" >/dev/null || exit 1
AGENT_NETNS="mcpt-edge$$-worker" agent_start || exit 1
cat >"$T/alpha.toml" <<EOF
name = "alpha"

[[components]]
name = "alpha"
image = "$REGISTRY/hello:v1.0.0"
env = ["HELLO_NAME=alpha"]

[[components.routes]]
name = "https"
port = 8443
mode = "l7"
hostname = "www.example.net"
public = true
EOF
check "deploy alpha on the worker" mcp deploy "$T/alpha.toml"
# GET https://HOST:PORT/ from the client namespace, verified against the platform CA
client_get() { # HOST PORT ADDR
	fleet_exec client curl -fsS -m 5 --cacert "$T/ca/ca.crt" --resolve "$1:$2:$3" "https://$1:$2/"
}
alpha_internal() { client_get alpha.svc.test 8443 "$WIP" | grep -q 'hello from alpha'; }
public_on_worker() { client_get www.example.net 8443 "$WIP" >/dev/null 2>&1; }
public_ok() { client_get www.example.net 443 "$EIP" | grep -q 'hello from alpha'; }
check "the worker's proxy serves alpha.svc.test (from the client namespace)" alpha_internal
check "a public hostname is not served by the worker itself" eval '! public_on_worker'
WMCP=$AGENT_DIR/mcp.toml

# ---- the edge: public names under example.net, port 443, TLS listener for the master
EPORT=9444
AGENT_EXTRA_AGENT="node = \"edge\"
listen = \"$EIP:$EPORT\""
AGENT_EXTRA="[proxy]
enabled = true
edge = true
bind = [\"$EIP\"]
zone = \"svc.test\"
public_port = 443
allowed_domains = [\"example.net\"]
resolvers = [\"$DIP:53\"]
issuer_cert = \"$T/ie/agent-edge.crt\"
issuer_key = \"$T/ie/agent-edge.key\"
[tls]
ca = \"$T/ca/ca.crt\"
cert = \"$T/ca/agent-edge.crt\"
key = \"$T/ca/agent-edge.key\""
agent_env_init "$T/edge" "$REGISTRY" || exit 1
sed -i 's/^node = "local"$//' "$AGENT_DIR/agent.toml"
E=$AGENT_DIR
AGENT_NETNS="mcpt-edge$$-edge" agent_start || exit 1

PY=/usr/bin/python3
node_call() { # ADDR IDENTITY METHOD REQUEST-JSON
	fleet_exec client "$PY" tests/interop/agent_client.py --address "$1" \
		--ca "$T/ca/ca.crt" --cert "$T/ca/$2.crt" --key "$T/ca/$2.key" \
		--method "$3" --request "$4" --timeout 20
}
edge_call() { node_call "$EIP:$EPORT" "$@"; }
edge_routes() { # how many edge routes the edge lists
	edge_call mcp-master ListEdgeRoutes '{}' | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin).get("routes", [])))'
}
REQ='{"hostname": "www.example.net", "backendHostname": "alpha.svc.test", "backendPort": 8443, "backendTls": true}'

expect_fail "SetupEdgeRoute from an operator identity is refused" "PERMISSION_DENIED" \
	edge_call operator SetupEdgeRoute "$REQ"
expect_fail "backend_tls = false is refused" "backend_tls must be true" \
	edge_call mcp-master SetupEdgeRoute '{"hostname": "www.example.net", "backendHostname": "alpha.svc.test", "backendPort": 8443, "backendTls": false}'
expect_fail "evilexample.net is not under example.net" "evilexample.net: not under this node's allowed_domains" \
	edge_call mcp-master SetupEdgeRoute '{"hostname": "evilexample.net", "backendHostname": "alpha.svc.test", "backendPort": 8443, "backendTls": true}'
expect_fail "a backend outside the internal zone is refused" "is not under the internal zone svc.test" \
	edge_call mcp-master SetupEdgeRoute '{"hostname": "www.example.net", "backendHostname": "alpha.evil.org", "backendPort": 8443, "backendTls": true}'
check "nothing was set up by the refused calls" [ "$(edge_routes)" = 0 ]
expect_fail "a node that is not an edge refuses edge routes" "not an edge node" \
	node_call "$WIP:$WPORT" mcp-master SetupEdgeRoute "$REQ"

check "SetupEdgeRoute from mcp-master" edge_call mcp-master SetupEdgeRoute "$REQ"
again() { edge_call mcp-master SetupEdgeRoute "$REQ" | grep -q unchanged; }
check "SetupEdgeRoute again is idempotent" again
check "the public name answers: client -> edge -> worker proxy -> container" \
	wait_for 20 public_ok
SUBJ=$(fleet_exec client sh -c "echo | openssl s_client -connect $EIP:443 -servername www.example.net 2>/dev/null | openssl x509 -noout -issuer -ext subjectAltName 2>/dev/null" | tr -d '\n ')
check "the edge serves its own certificate for the public name ($SUBJ)" \
	sh -c "printf '%s' '$SUBJ' | grep -q 'MCPintermediateagent-edge' && printf '%s' '$SUBJ' | grep -q 'DNS:www.example.net'"
LIST=$(edge_call mcp-master ListEdgeRoutes '{}')
check "ListEdgeRoutes shows the route with its certificate serial and expiry" \
	"$PY" -c 'import json,sys,time; r=json.loads(sys.argv[1])["routes"][0]; g=lambda a,b: r.get(a, r.get(b)); assert r["hostname"]=="www.example.net" and g("backendHostname","backend_hostname")=="alpha.svc.test" and len(g("certSerial","cert_serial"))>8 and int(g("certNotAfter","cert_not_after"))>time.time()+80*86400' "$LIST"
expect_fail "an operator may not list edge routes either" "PERMISSION_DENIED" \
	edge_call operator ListEdgeRoutes '{}'

# ---- restart the edge agent: the edge route is rebuilt from its registry
AGENT_DIR=$E
agent_stop
HP=$(cat "$E/state/proxy/haproxy.pid")
kill -TERM "$HP" 2>/dev/null
wait_for 10 sh -c "! kill -0 $HP 2>/dev/null"
AGENT_NETNS="mcpt-edge$$-edge" agent_start || exit 1
check "after an edge agent restart (and its proxy gone) the public name answers again" \
	wait_for 20 public_ok

check "RemoveEdgeRoute from mcp-master" edge_call mcp-master RemoveEdgeRoute '{"hostname": "www.example.net"}'
check "the public name no longer answers (no route, no listener left)" \
	eval '! public_ok'
check "the edge's certificate for it is removed" \
	[ ! -e "$E/state/proxy/certs/www.example.net.pem" ]
expect_fail "removing it again: not found" "no edge route for www.example.net" \
	edge_call mcp-master RemoveEdgeRoute '{"hostname": "www.example.net"}'

check "agent logs have no sanitizer reports" sh -c "! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' $E/agent.log $W/agent.log"

t_done
