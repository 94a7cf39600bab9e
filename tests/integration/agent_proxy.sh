#!/bin/bash
# The node proxy end to end (SPEC §4.3): a real HAProxy started and owned
# by the agent, l7 routes terminated with certificates the agent issues
# from its name-constrained intermediate (verified by curl against the
# platform CA alone), 503 for unknown names and stopped routes, a
# redeploy re-pointed before it returns, no failed request to one service
# while another is redeployed, a killed proxy brought back by the monitor,
# the same proxy found again after an agent restart, bad routes refused
# with nothing changed, undeploy removing route and certificate.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh

T=$(mktemp -d /tmp/mcp-it-proxy.XXXXXX)
cleanup() {
	[ -n "${LOOP_PID:-}" ] && kill "$LOOP_PID" 2>/dev/null
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT

hello_registry "$T" v1.0.0 v2.0.0 || exit 1
# a backend that terminates TLS itself, for l4 (passthrough) routes
MCP_HELLO_BIN="$MCP_STATIC_BIN/tls-hello" MCP_IMAGE_BUILD_DIR="$T/img" \
	scripts/build-hello-image.sh v1.0.0 "$REGISTRY" tls-hello >/dev/null || exit 1
"$MCP_BIN/mcp" ca init "$T/ca" >/dev/null || exit 1
"$MCP_BIN/mcp" ca issue agent-local --intermediate --permit svc.test,example.net \
	--ca "$T/ca" >/dev/null || exit 1
P=$(free_port 20000 29999)
P2=$(free_port 30000 32767)
P3=$(free_port 30000 32767)
AGENT_EXTRA="[proxy]
enabled = true
bind = [\"127.0.0.1\"]
zone = \"svc.test\"
issuer_cert = \"$T/ca/agent-local.crt\"
issuer_key = \"$T/ca/agent-local.key\""
agent_env_init "$T/agent" "$REGISTRY" || exit 1
agent_start || exit 1
D=$T/defs
mkdir -p "$D"

def() { # NAME VERSION PORT HOSTNAME MODE
	cat <<EOF
name = "$1"
node = "local"

[[components]]
name = "$1"
image = "$REGISTRY/hello:$2"
restart = "no"
env = ["HELLO_NAME=$1"]

[[components.routes]]
name = "http"
port = $3
mode = "$5"
${4:+hostname = \"$4\"}
EOF
}
code() { curl -s -o /dev/null -w '%{http_code}' -m 5 -k --resolve "$1:$2:127.0.0.1" "https://$1:$2/"; }

def alpha v1.0.0 "$P" alpha.example.net l7 >"$D/alpha.toml"
def beta v1.0.0 "$P" "" l7 >"$D/beta.toml"
check "deploy alpha (l7, internal + operator hostname)" mcp deploy "$D/alpha.toml"
check "deploy beta on the same port" mcp deploy "$D/beta.toml"
check "alpha answers at alpha.svc.test through the proxy, chain verified" \
	sh -c "curl -fsS -m 5 --cacert '$T/ca/ca.crt' --resolve alpha.svc.test:$P:127.0.0.1 https://alpha.svc.test:$P/ | grep -q alpha"
check "alpha answers at its own hostname alpha.example.net" \
	sh -c "curl -fsS -m 5 --cacert '$T/ca/ca.crt' --resolve alpha.example.net:$P:127.0.0.1 https://alpha.example.net:$P/ | grep -q alpha"
check "beta answers at beta.svc.test on the same port" \
	sh -c "curl -fsS -m 5 --cacert '$T/ca/ca.crt' --resolve beta.svc.test:$P:127.0.0.1 https://beta.svc.test:$P/ | grep -q beta"
SAN=$(echo | openssl s_client -connect "127.0.0.1:$P" -servername alpha.svc.test 2>/dev/null |
	openssl x509 -noout -ext subjectAltName 2>/dev/null | tail -1 | tr -d ' ')
check "the served certificate's SAN is the hostname ($SAN)" [ "$SAN" = "DNS:alpha.svc.test" ]
check "the proxy adds X-Forwarded-For with the client's address" \
	sh -c "curl -fsS -m 5 --cacert '$T/ca/ca.crt' --resolve alpha.svc.test:$P:127.0.0.1 https://alpha.svc.test:$P/forwarded | grep -q 'x-forwarded-for: 127.0.0.1'"
check "an unknown hostname gets 503, never another service" \
	[ "$(code nobody.svc.test "$P")" = 503 ]
check "HTTP/2 by ALPN" sh -c "curl -fsS -m 5 --http2 -o /dev/null -w '%{http_version}' --cacert '$T/ca/ca.crt' --resolve alpha.svc.test:$P:127.0.0.1 https://alpha.svc.test:$P/ | grep -q 2"

ST=$(mcp --json status alpha)
check "status shows the route's hostnames, listener and backend" \
	[ "$(json_get "$ST" '" ".join(j["components"][0]["routes"][0]["hostnames"]) + " " + j["components"][0]["routes"][0]["listener"]')" = "alpha.svc.test alpha.example.net 127.0.0.1:$P" ]
check "the backend is the container's host port" \
	[ "$(json_get "$ST" 'j["components"][0]["routes"][0]["backend"]')" = "127.0.0.1:$(json_get "$ST" 'j["components"][0]["routes"][0]["host_port"]')" ]
check "health turns UP within a few monitor passes" wait_for 10 \
	sh -c "$MCP_BIN/mcp -c $AGENT_DIR/mcp.toml --json route list | grep -q '\"health\": \"UP\"'"
RL=$(mcp route list)
check "route list names both services" sh -c 'printf "%s" "$1" | grep -q alpha.svc.test && printf "%s" "$1" | grep -q beta.svc.test' _ "$RL"

# ---- l4: TLS passes through by SNI; the client sees the backend's own certificate
mkdir -p "$AGENT_DIR/srv/tls"
"$MCP_BIN/mcp" ca issue tls-backend --san DNS:tls.svc.test,DNS:tls2.svc.test --ca "$T/ca" \
	--out "$AGENT_DIR/srv/tls" >/dev/null || exit 1
tls_def() { # NAME PORT
	cat <<EOF
name = "$1"

[[components]]
name = "$1"
image = "$REGISTRY/tls-hello:v1.0.0"
env = ["HELLO_NAME=$1", "TLS_CERT=/certs/tls-backend.crt", "TLS_KEY=/certs/tls-backend.key"]
volumes = ["$AGENT_DIR/srv/tls:/certs"]

[[components.routes]]
port = $2
mode = "l4"
EOF
}
tls_def tls "$P" >"$D/tls.toml"
tls_def tls2 "$P3" >"$D/tls2.toml"
check "deploy an l4 route on the port the l7 routes use" mcp deploy "$D/tls.toml"
check "deploy an l4 route alone on its own port" mcp deploy "$D/tls2.toml"
l4_ok() { curl -fsS -m 5 --cacert "$T/ca/ca.crt" --resolve "$1:$2:127.0.0.1" "https://$1:$2/" | grep -q "tls-hello from $3 (sni $1)"; }
check "l4 passthrough by SNI beside l7 routes on one port" wait_for 10 l4_ok tls.svc.test "$P" tls
CN=$(echo | openssl s_client -connect "127.0.0.1:$P" -servername tls.svc.test 2>/dev/null |
	openssl x509 -noout -subject 2>/dev/null)
check "the l4 client sees the backend's own certificate ($CN)" sh -c "printf '%s' '$CN' | grep -q 'CN = tls-backend'"
check "l4 on a port of its own" wait_for 10 l4_ok tls2.svc.test "$P3" tls2
unknown_l4() { curl -sS -m 5 -k --resolve "nobody.svc.test:$P3:127.0.0.1" "https://nobody.svc.test:$P3/" >/dev/null 2>&1; }
check "an unknown name on an l4-only port is refused in the handshake" eval '! unknown_l4'
check "undeploy the l4 services" sh -c "$MCP_BIN/mcp -c $AGENT_DIR/mcp.toml undeploy tls >/dev/null && $MCP_BIN/mcp -c $AGENT_DIR/mcp.toml undeploy tls2 >/dev/null"

# ---- renewal without a restart: a bundle that is no good any more (here:
# another name's) is reissued by the next sync and served at once
cp "$AGENT_DIR/state/proxy/certs/beta.svc.test.pem" "$AGENT_DIR/state/proxy/certs/alpha.svc.test.pem"
check "a redeploy (unchanged) syncs the proxy" mcp deploy "$D/alpha.toml"
check "alpha's certificate was reissued for its own name and is served" \
	sh -c "curl -fsS -m 5 --cacert '$T/ca/ca.crt' --resolve alpha.svc.test:$P:127.0.0.1 https://alpha.svc.test:$P/ | grep -q alpha"
check "... and the agent logged the issue" grep -q "issued a certificate for alpha.svc.test" "$AGENT_DIR/agent.log"

# ---- bad input: refused, nothing changed
def gamma v1.0.0 "$P" alpha.example.net l7 >"$D/gamma.toml"
expect_fail "a hostname another service has on that port is refused, naming it" \
	"alpha.example.net on port $P is claimed twice: by alpha route http" mcp deploy "$D/gamma.toml"
def gamma v1.0.0 "$P" evil.other.org l7 >"$D/gamma.toml"
expect_fail "an l7 hostname outside the intermediate's constraints is refused" \
	"evil.other.org" mcp deploy "$D/gamma.toml"
def gamma v1.0.0 "$P" evilexample.net l7 >"$D/gamma.toml"
expect_fail "label boundary: evilexample.net is not under example.net" \
	"evilexample.net" mcp deploy "$D/gamma.toml"
check "nothing of gamma was recorded" sh -c "! $MCP_BIN/mcp -c $AGENT_DIR/mcp.toml status gamma >/dev/null 2>&1"
check "no certificate was issued for the refused names" \
	sh -c "! ls '$AGENT_DIR/state/proxy/certs' | grep -q -e evil -e gamma"
check "alpha still answers" sh -c "curl -fsS -m 5 --cacert '$T/ca/ca.crt' --resolve alpha.svc.test:$P:127.0.0.1 https://alpha.svc.test:$P/ | grep -q alpha"

# ---- stop: 503 with the route kept; start: served again
STOP_OUT=$(mcp stop alpha)
check "stop alpha: the route's server is disabled at run time, no reload ($STOP_OUT)" \
	grep -q "proxy: updated" <<<"$STOP_OUT"
check "a stopped route answers 503" [ "$(code alpha.svc.test "$P")" = 503 ]
check "start alpha" mcp start alpha
check "alpha answers again" sh -c "curl -fsS -m 5 --cacert '$T/ca/ca.crt' --resolve alpha.svc.test:$P:127.0.0.1 https://alpha.svc.test:$P/ | grep -q alpha"

# ---- redeploy beta to v2 while requests go to alpha: none fails, and beta
# answers from its new instance as soon as its deploy returns
cat >"$T/loop.sh" <<EOF
#!/bin/bash
ok=0 bad=0
for i in \$(seq 1 3000); do
	[ -e "$T/stop-loop" ] && break
	if curl -fsS -m 5 --cacert "$T/ca/ca.crt" --resolve alpha.svc.test:$P:127.0.0.1 https://alpha.svc.test:$P/ -o /dev/null 2>>"$T/loop.err"; then
		ok=\$((ok + 1))
	else
		bad=\$((bad + 1))
	fi
done
echo "\$ok \$bad" >"$T/loop.out"
EOF
chmod +x "$T/loop.sh"
"$T/loop.sh" &
LOOP_PID=$!
sleep 0.5
def beta v2.0.0 "$P" "" l7 >"$D/beta.toml"
REDEPLOY_OUT=$(mcp deploy "$D/beta.toml")
check "redeploy beta to v2 (same host port kept): no proxy reload" \
	eval '! grep -q "proxy: reloaded" <<<"$REDEPLOY_OUT"' 
check "beta answers from v2 right after the deploy returned" \
	sh -c "curl -fsS -m 5 --cacert '$T/ca/ca.crt' --resolve beta.svc.test:$P:127.0.0.1 https://beta.svc.test:$P/ | grep -q v2.0.0"
def delta v1.0.0 "$P2" "" l7 >"$D/delta.toml"
check "a route on a new port is added (reload)" mcp deploy "$D/delta.toml"
check "delta answers on its port" sh -c "curl -fsS -m 5 --cacert '$T/ca/ca.crt' --resolve delta.svc.test:$P2:127.0.0.1 https://delta.svc.test:$P2/ | grep -q delta"
check "undeploy delta (reload again)" mcp undeploy delta
touch "$T/stop-loop"
wait "$LOOP_PID"
LOOP_PID=
read -r OK BAD <"$T/loop.out"
check "requests to alpha during beta's redeploy and two reloads: $OK ok, $BAD failed" \
	[ "$BAD" = 0 ] && [ "$OK" -gt 0 ]
[ "$BAD" = 0 ] || head -5 "$T/loop.err"

# ---- the proxy is supervised and outlives the agent
PID1=$(cat "$AGENT_DIR/state/proxy/haproxy.pid")
check "HAProxy runs with this agent's config" \
	sh -c "tr '\0' ' ' </proc/$PID1/cmdline | grep -q '$AGENT_DIR/state/proxy/haproxy.cfg'"
agent_stop
check "HAProxy outlives the agent" kill -0 "$PID1"
agent_start || exit 1
check "the restarted agent keeps the same HAProxy" [ "$(cat "$AGENT_DIR/state/proxy/haproxy.pid")" = "$PID1" ]
check "routes intact after the agent restart" sh -c "curl -fsS -m 5 --cacert '$T/ca/ca.crt' --resolve alpha.svc.test:$P:127.0.0.1 https://alpha.svc.test:$P/ | grep -q alpha"
kill -KILL "$PID1"
check "a killed HAProxy is back within a monitor interval, with every route" wait_for 10 \
	sh -c "curl -fsS -m 2 --cacert '$T/ca/ca.crt' --resolve beta.svc.test:$P:127.0.0.1 https://beta.svc.test:$P/ | grep -q beta"
check "... and the agent logged it" grep -q "HAProxy is not running; starting it again" "$AGENT_DIR/agent.log"

# ---- undeploy: route and certificate go
check "undeploy alpha" mcp undeploy alpha
check "alpha's name now gets 503" [ "$(code alpha.svc.test "$P")" = 503 ]
check "alpha's certificates are removed" \
	sh -c "! ls '$AGENT_DIR/state/proxy/certs' | grep -q alpha"
check "beta still answers" sh -c "curl -fsS -m 5 --cacert '$T/ca/ca.crt' --resolve beta.svc.test:$P:127.0.0.1 https://beta.svc.test:$P/ | grep -q beta"

check "agent logs have no sanitizer reports" sh -c "! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' $AGENT_DIR/agent.log"

t_done
