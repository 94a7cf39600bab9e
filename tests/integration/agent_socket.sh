#!/bin/bash
# The agent's Unix socket checks who is calling (issue 7): the peer's uid
# from SO_PEERCRED, root and [agent] socket_group members allowed, anybody
# else refused with PERMISSION_DENIED naming the uid and changing nothing;
# lifecycle calls logged with the caller's uid; socket mode 0660 + group
# with a socket_group, 0600 without.  The second uid is 65534 (nobody),
# run with setpriv; the test opens the socket's file permissions to it so
# that the peer check, not the file mode, is what refuses.  Also: CLI
# errors name node, address and operation (dead socket, closed TCP port).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh

T=$(mktemp -d /tmp/mcp-it-socket.XXXXXX)
GRP="mcpsock$$"
cleanup() {
	agent_env_cleanup
	registry_stop "$T/registry"
	getent group "$GRP" >/dev/null && groupdel "$GRP"
	rm -rf "$T"
}
trap cleanup EXIT

groupadd "$GRP" || { echo "groupadd $GRP failed"; exit 1; }
hello_registry "$T" v1.0.0 || exit 1
podman_env_cleanup "$T/img/podman"

AGENT_EXTRA_AGENT="socket_group = \"$GRP\""
agent_env_init "$T/agent" "$REGISTRY" || exit 1
agent_start || exit 1
SOCK=$AGENT_DIR/state/agent.sock
D=$T/defs
mkdir -p "$D" "$AGENT_DIR/srv/hello"
cat >"$D/hello.toml" <<EOF
name = "hello"
node = "local"

[[components]]
name = "hello"
image = "$REGISTRY/hello:v1.0.0"
restart = "no"

[[components.routes]]
name = "http"
port = 8080
EOF

# the second uid: nobody, no supplementary groups of its own
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$MCP_BIN/mcp" -c "$AGENT_DIR/mcp.toml" "$@"
}
observed() { json_get "$(mcp --json status hello)" 'j["components"][0]["observed"]'; }

check "socket is 0660 and group $GRP" test "$(stat -c %a:%G "$SOCK")" = "660:$GRP"

# --- root is allowed, and its lifecycle calls are logged with uid 0
check "root deploys" mcp deploy "$D/hello.toml"
check "hello running" test "$(observed)" = running
check "deploy logged with uid 0" grep -q "deploy hello by uid 0 (local)" "$AGENT_DIR/agent.log"

# --- open the file permissions to everyone: only the peer check remains
chmod 0711 "$T" "$AGENT_DIR" "$AGENT_DIR/state"
chmod 0644 "$AGENT_DIR/mcp.toml" "$D/hello.toml"
chmod 0666 "$SOCK"
expect_fail "uid 65534 may not stop" \
	"permission denied: uid 65534 is not root and not in group $GRP" as_nobody stop hello
expect_fail "uid 65534 may not undeploy" "uid 65534 is not root" as_nobody undeploy hello
expect_fail "uid 65534 may not deploy" "uid 65534 is not root" as_nobody deploy "$D/hello.toml"
expect_fail "uid 65534 may not even list" "ListServices: permission denied" as_nobody ps
check "refusal names the node and operation" sh -c \
	"setpriv --reuid=65534 --regid=65534 --clear-groups '$MCP_BIN/mcp' -c '$AGENT_DIR/mcp.toml' deploy '$D/hello.toml' 2>&1 | grep -q '^mcp deploy: node local (unix:$SOCK): Deploy: permission denied'"
# the lifecycle RPCs themselves, not only the CLI's Status look-up first
py_nobody() { # METHOD: call it on hello as uid 65534 with the Python client
	setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 \
		tests/interop/agent_client.py --address "unix:$SOCK" --method "$1" --service hello
}
for m in Stop Restart Undeploy; do
	expect_fail "uid 65534: $m RPC refused" "PERMISSION_DENIED.*uid 65534 is not root" py_nobody $m
done
check "nothing changed: hello still running" test "$(observed)" = running
check "nothing changed: still deployed" grep -qE "^hello +hello" <<<"$(mcp ps)"
check "refusal logged with the uid" grep -q "local connection refused: uid 65534" "$AGENT_DIR/agent.log"
check "no lifecycle call by uid 65534 ran" sh -c "! grep -q 'by uid 65534' '$AGENT_DIR/agent.log'"

# --- the same uid, once in the group (supplementary, via /etc/group), is allowed
gpasswd -a nobody "$GRP" >/dev/null
check "uid 65534 in $GRP lists" as_nobody ps
check "uid 65534 in $GRP stops hello" as_nobody stop hello
check "hello stopped" test "$(observed)" = stopped
check "stop logged with uid 65534" grep -q "Stop hello by uid 65534 (local)" "$AGENT_DIR/agent.log"
check "uid 65534 in $GRP starts hello" as_nobody start hello
check "hello running again" test "$(observed)" = running
gpasswd -d nobody "$GRP" >/dev/null
expect_fail "out of the group again: refused" "uid 65534 is not root" as_nobody stop hello

# --- a gid that is the group's counts too (primary gid of the peer)
GID=$(getent group "$GRP" | cut -d: -f3)
check "primary gid $GID allowed" setpriv --reuid=65534 --regid="$GID" --clear-groups \
	"$MCP_BIN/mcp" -c "$AGENT_DIR/mcp.toml" ps

# --- without socket_group: 0600, root only
agent_stop
sed -i "/^socket_group = /d" "$AGENT_DIR/agent.toml"
check "agent restarts without socket_group" agent_start
check "socket is 0600 without socket_group" test "$(stat -c %a "$SOCK")" = 600
chmod 0666 "$SOCK"
expect_fail "uid 65534 refused with no socket group" \
	"uid 65534 is not root \(and no socket group is configured\)" as_nobody ps
check "root still allowed" mcp ps

# --- an unknown socket_group stops the agent from starting, naming it
agent_stop
sed -i "s/^\[agent\]$/[agent]\nsocket_group = \"no-such-group-$$\"/" "$AGENT_DIR/agent.toml"
check "agent refuses an unknown socket_group" sh -c \
	"! CONTAINERS_CONF='$AGENT_DIR/podman/containers.conf' timeout 20 '$MCP_BIN/mcp-agent' -c '$AGENT_DIR/agent.toml' >'$T/bad.log' 2>&1"
check "... naming it" grep -q "socket_group.*no-such-group-$$.*no such group" "$T/bad.log"
sed -i "/^socket_group = /d" "$AGENT_DIR/agent.toml"
check "agent starts again" agent_start

# --- mcp ca init with missing parents; then CLI errors name node, address
# and operation: a dead socket (stale file, nobody listening) and a closed
# TCP port (TLS set up, nothing there)
check "mcp ca init creates missing parents" mcp ca init "$T/pki/deep/ca"
check "CA dir is 0700" test "$(stat -c %a "$T/pki/deep/ca")" = 700
check "mcp ca issue" mcp ca issue operator-t --ca "$T/pki/deep/ca" --out "$T/pki/out"
: >"$T/pki/file"
expect_fail "mcp ca init under a file names the path" "mcp ca init $T/pki/file/ca: .*$T/pki/file" \
	mcp ca init "$T/pki/file/ca"
/usr/bin/python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$T/dead.sock"
printf '[[nodes]]\nname = "local"\naddress = "unix:%s"\n' "$T/dead.sock" >"$T/dead.toml"
PORT=$(free_port)
cat >"$T/tcp.toml" <<EOF
[tls]
ca = "$T/pki/deep/ca/ca.crt"
cert = "$T/pki/out/operator-t.crt"
key = "$T/pki/out/operator-t.key"

[[nodes]]
name = "tcp"
address = "127.0.0.1:$PORT"
EOF
expect_fail "dead socket: ps names node, address, operation" \
	"^mcp ps: node local \(unix:$T/dead.sock\): ListServices: connect unix:$T/dead.sock: not reachable" \
	"$MCP_BIN/mcp" -c "$T/dead.toml" ps
expect_fail "dead socket: stop names node, address, operation" \
	"^mcp stop: find service hello: node local \(unix:$T/dead.sock\): Status: connect [^ ]*: not reachable" \
	"$MCP_BIN/mcp" -c "$T/dead.toml" stop hello
expect_fail "closed TCP port: status names node, address, operation" \
	"^mcp status: node tcp \(127.0.0.1:$PORT\): Status: connect [^ ]*: not reachable" \
	"$MCP_BIN/mcp" -c "$T/tcp.toml" status
expect_fail "closed TCP port: logs names node, address, operation" \
	"^mcp logs: find service hello: node tcp \(127.0.0.1:$PORT\): Status: connect [^ ]*: not reachable" \
	"$MCP_BIN/mcp" -c "$T/tcp.toml" logs hello

check "undeploy" mcp undeploy hello
check "agent stops cleanly" agent_stop
check "agent log has no sanitizer reports (leaks at exit included)" \
	sh -c "! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$AGENT_DIR/agent.log'"
t_done
