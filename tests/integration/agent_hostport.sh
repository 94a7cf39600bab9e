#!/bin/bash
# Host ports another process took (agent/ops.c, util/proc.c): a service
# with two containers, one stopped; a real listener (python3 -m
# http.server) takes the stopped one's host port on 127.0.0.1.  `mcp
# start` refuses, naming the port, the address and the owner (pid and
# command), and leaves back desired stopped; a redeploy that changes the
# running component is refused before anything changes: the running
# container is the same one, still answering the old version, and the
# recorded definition is the old one.
# Once the listener is gone, start and the redeploy go through.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh

T=$(mktemp -d /tmp/mcp-it-hostport.XXXXXX)
HOLDER=
cleanup() {
	[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT

hello_registry "$T" v1.0.0 v2.0.0 || exit 1
podman_env_cleanup "$T/img/podman"
agent_env_init "$T/agent" "$REGISTRY" || exit 1
agent_start || exit 1
SVC=hp$$
mkdir -p "$AGENT_DIR/srv/$SVC"

def() { # FRONT_VERSION
	cat <<EOF2
name = "$SVC"
node = "local"

[[components]]
name = "front"
image = "$REGISTRY/hello:$1"
restart = "no"
env = ["HELLO_NAME=front"]

[[components.routes]]
name = "http"
port = 8080

[[components]]
name = "back"
image = "$REGISTRY/hello:v1.0.0"
restart = "no"
env = ["HELLO_NAME=back"]

[[components.routes]]
name = "http"
port = 8080
EOF2
}
def v1.0.0 >"$T/v1.toml"
def v2.0.0 >"$T/v2.toml"

sj() { mcp --json status "$SVC"; }
comp() { # COMPONENT EXPR(c)
	json_get "$(sj)" "[$2 for c in j['components'] if c['component'] == '$1'][0]"
}
cid() { penv_podman inspect --format '{{.Id}}' "$1" 2>/dev/null; }
not_bindable() { ! bindable "$1" 2>/dev/null; }
bindable() { /usr/bin/python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1"; }

check "deploy $SVC" mcp deploy "$T/v1.toml"
PF=$(comp front 'c["routes"][0]["host_port"]')
PB=$(comp back 'c["routes"][0]["host_port"]')
echo "front on 127.0.0.1:$PF, back on 127.0.0.1:$PB"
check "front answers v1.0.0" wait_for 20 sh -c "curl -fsS -m 2 http://127.0.0.1:$PF/ | grep -q 'front version v1.0.0'"
check "stop the back component" mcp stop "$SVC" -c back
check "back's port $PB let go" wait_for 20 bindable "$PB"

# another process takes it
/usr/bin/python3 -m http.server --bind 127.0.0.1 "$PB" >"$T/holder.log" 2>&1 &
HOLDER=$!
check "the holder answers on 127.0.0.1:$PB" wait_for 20 http_get "http://127.0.0.1:$PB/"
check "and holds the port" not_bindable "$PB"
ID_FRONT=$(cid "$SVC-front")
check "front has a container id" test -n "$ID_FRONT"

expect_fail "start back: refused naming port, address and owner" \
    "host port $PB of route http on 127.0.0.1 is already in use by pid $HOLDER \(python3\)" \
    mcp start "$SVC" -c back
check "back not running after the refused start" test "$(comp back 'c["observed"]')" != running
check "back still desired stopped after the refused start" test "$(comp back 'c["desired"]')" = stopped
check "front still desired running" test "$(comp front 'c["desired"]')" = running
expect_fail "redeploy changing front: refused before anything changes" \
    "deploy $SVC: component back: host port $PB of route http on 127.0.0.1 is already in use by pid $HOLDER \(python3\)" \
    mcp deploy "$T/v2.toml"
check "front: the same container after the refused redeploy" test "$(cid "$SVC-front")" = "$ID_FRONT"
check "front still answers v1.0.0" sh -c "curl -fsS -m 2 http://127.0.0.1:$PF/ | grep -q 'front version v1.0.0'"
check "recorded definition unchanged (front image v1.0.0)" \
    sh -c "test \"\$1\" = '$REGISTRY/hello:v1.0.0'" _ "$(comp front 'c["image"]')"
check "the holder still serves its port" curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$PB/"

# the port comes free: both go through
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null
HOLDER=
check "start back once the port is free" mcp start "$SVC" -c back
check "back answers on $PB" wait_for 20 sh -c "curl -fsS -m 2 http://127.0.0.1:$PB/ | grep -q 'back version v1.0.0'"
check "redeploy with front v2.0.0" mcp deploy "$T/v2.toml"
check "front answers v2.0.0 on the same port" wait_for 20 sh -c "curl -fsS -m 2 http://127.0.0.1:$PF/ | grep -q 'front version v2.0.0'"
check "undeploy" mcp undeploy "$SVC"
t_done
