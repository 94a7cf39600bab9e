#!/bin/bash
# Progress lines of a deploy (issue 12), streamed from the agent
# (DeployStream), never guessed by the CLI.  On a pseudo-terminal
# (script -qc) `mcp deploy` prints each step with its elapsed time:
#   - a container: "pulling image" (not in the store yet), "container
#     started", "waiting for the first answer on 127.0.0.1:P", "answered
#     after N s", then the actions and "deployed ... on ...";
#   - a unikernel (built from an image only in the agent's store):
#     "pulling image", "building the VM image", "booting the VM", "waiting
#     for the first answer" and "answered" (the VM really answers HTTP then);
#   - the elapsed times never go backwards.
# Piped (stdout not a terminal) and with --json on a terminal there is no
# progress line: the output is exactly the actions + "deployed" line, or
# one JSON document.  Through mcp-master (its DeployStream) the agent's
# steps arrive forwarded ("local/mweb: container started ..."), with the
# master's own ("placed on node local", "registering the DNS names").  A
# definition the agent refuses fails the same way on a terminal (exit 1,
# the error on stderr, nothing deployed).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh
command -v script >/dev/null || { echo "skip: script (util-linux) not installed"; exit 77; }

T=$(mktemp -d /tmp/mcp-it-progress.XXXXXX)
MASTER_PID=
cleanup() {
	[ -n "$MASTER_PID" ] && kill "$MASTER_PID" 2>/dev/null && wait "$MASTER_PID"
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT

hello_registry "$T" v1.0.0 || exit 1
podman_env_cleanup "$T/img/podman"
# the agent also listens on TCP for the master (the last part)
APORT=$(free_port) MPORT=$(free_port)
"$MCP_BIN/mcp" ca init "$T/ca" >/dev/null || exit 1
for id in "agent-local --san IP:127.0.0.1" "mcp-master --san IP:127.0.0.1" operator; do
	# shellcheck disable=SC2086
	"$MCP_BIN/mcp" ca issue $id --ca "$T/ca" >/dev/null || exit 1
done
AGENT_EXTRA_AGENT="listen = \"127.0.0.1:$APORT\"" AGENT_EXTRA="[tls]
ca = \"$T/ca/ca.crt\"
cert = \"$T/ca/agent-local.crt\"
key = \"$T/ca/agent-local.key\"" agent_env_init "$T/agent" "$REGISTRY" || exit 1
agent_start || exit 1
D=$T/defs
mkdir -p "$D"
# mcp on a pseudo-terminal: its output (CR LF from the tty) in $T/tty.out
on_tty() {
	local cmd="" a
	for a in "$@"; do cmd="$cmd $(printf '%q' "$a")"; done
	script -qec "$MCP_BIN/mcp -c $(printf '%q' "$AGENT_DIR/mcp.toml")$cmd" /dev/null \
	    </dev/null | tr -d '\r' >"$T/tty.out"
	return "${PIPESTATUS[0]}"
}
has() { grep -qE -- "$1" "$T/tty.out"; }
PROGRESS='^ *[0-9]+\.[0-9]s  '
# elapsed times of the progress lines never decrease
monotonic() {
	grep -E "$PROGRESS" "$T/tty.out" | awk '{ t = $1 + 0; if (t < last) exit 1; last = t }'
}

mkdir -p "$AGENT_DIR/srv/web"
hello_def web v1.0.0 >"$D/web.toml"
check "deploy (container) on a terminal" on_tty deploy "$D/web.toml"
cat "$T/tty.out"
check "progress: pulling the image" has "${PROGRESS}web: pulling image $REGISTRY/hello:v1.0.0$"
check "progress: container started" has "${PROGRESS}web: container started \\($REGISTRY/hello:v1.0.0\\)$"
check "progress: waiting for the first answer" has "${PROGRESS}web: waiting for the first answer on 127\.0\.0\.1:[0-9]+ \(route http\)"
check "progress: answered" has "${PROGRESS}web: 127\.0\.0\.1:[0-9]+ answered after [0-9.]+ s"
check "progress: elapsed times do not go backwards" monotonic
check "then the result: deployed web on local" has "^deployed web on local$"
port=$(json_get "$(mcp --json status web)" 'j["components"][0]["routes"][0]["host_port"]')
check "when it said answered, it answers HTTP" sh -c "curl -fsS -m 5 http://127.0.0.1:$port/ | grep -q 'hello from web'"

hello_def web v1.0.0 "memory_mb = 0" >"$D/web2.toml"
out=$(mcp deploy "$D/web2.toml" | cat)
check "piped: no progress lines" [ -z "$(grep -E "$PROGRESS" <<<"$out")" ]
check "piped: actions and the result only" sh -c "printf '%s\n' \"\$1\" | tail -n 1 | grep -qx 'deployed web on local'" _ "$out"
check "--json on a terminal" on_tty --json deploy "$D/web.toml"
check "--json: no progress lines" sh -c "! grep -qE '$PROGRESS' '$T/tty.out'"
check "--json: one JSON document" /usr/bin/python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$T/tty.out"
check "undeploy web" mcp undeploy web

# through the master: its DeployStream forwards the agent's steps
cat >"$T/master.toml" <<EOF
[master]
node = "m"
listen = "127.0.0.1:$MPORT"
state_dir = "$T/master"
[tls]
ca = "$T/ca/ca.crt"
cert = "$T/ca/mcp-master.crt"
key = "$T/ca/mcp-master.key"
[[nodes]]
name = "local"
address = "127.0.0.1:$APORT"
role = "worker"
EOF
cat >"$T/op.toml" <<EOF
[master]
address = "127.0.0.1:$MPORT"
[tls]
ca = "$T/ca/ca.crt"
cert = "$T/ca/operator.crt"
key = "$T/ca/operator.key"
EOF
"$MCP_BIN/mcp-master" -c "$T/master.toml" >"$T/master.log" 2>&1 &
MASTER_PID=$!
node_healthy() { "$MCP_BIN/mcp" -c "$T/op.toml" node list 2>/dev/null | grep -q healthy; }
check "mcp-master up, node local healthy" wait_for 30 node_healthy
on_tty_master() {
	script -qec "$MCP_BIN/mcp -c $(printf '%q' "$T/op.toml") deploy $(printf '%q' "$1")" \
	    /dev/null </dev/null | tr -d '\r' >"$T/tty.out"
	return "${PIPESTATUS[0]}"
}
mkdir -p "$AGENT_DIR/srv/mweb"
hello_def mweb v1.0.0 | sed '/^node = /d' >"$D/mweb.toml"
check "deploy through the master on a terminal" on_tty_master "$D/mweb.toml"
cat "$T/tty.out"
check "master progress: placed" has "${PROGRESS}placed on node local$"
check "master progress: the agent's steps, forwarded" has "${PROGRESS}local/mweb: container started \\($REGISTRY/hello:v1.0.0\\)$"
check "master progress: first answer, forwarded" has "${PROGRESS}local/mweb: 127\.0\.0\.1:[0-9]+ answered after"
check "master progress: its own DNS step" has "${PROGRESS}registering the DNS names$"
check "master progress: elapsed times do not go backwards" monotonic
check "then the steps and the result" has "^deploy mweb on local: done$"
out=$("$MCP_BIN/mcp" -c "$T/op.toml" deploy "$D/mweb.toml" | cat)
check "through the master, piped: no progress lines" [ -z "$(grep -E "$PROGRESS" <<<"$out")" ]
check "undeploy mweb through the master" "$MCP_BIN/mcp" -c "$T/op.toml" undeploy mweb
kill "$MASTER_PID" && wait "$MASTER_PID"
MASTER_PID=
check "no sanitizer report in the master's log" sh -c "! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$T/master.log'"

# a refused definition on a terminal: exit 1, error on stderr, nothing deployed
printf 'name = "bad"\n[[components]]\nname = "bad"\nimage = "%s/hello:v1.0.0"\nruntime = "unikernel"\n' \
    "$REGISTRY" >"$D/bad.toml"
on_tty deploy "$D/bad.toml"
rc=$?
check "a refused deploy on a terminal exits 1 ($rc)" [ "$rc" = 1 ]
check "its error names the problem: $(tail -n 1 "$T/tty.out")" has "memory_mb"
check "nothing deployed" sh -c "! '$MCP_BIN/mcp' -c '$AGENT_DIR/mcp.toml' status bad >/dev/null 2>&1"

# a unikernel: pull, build, boot, first answer
if command -v qemu-system-x86_64 >/dev/null && [ -s "$MCP_KERNEL_DIR/vmlinux" ]; then
	agent_local_image hello-local v1 || exit 1
	cat >"$D/vm.toml" <<EOF
name = "pvm"
runtime = "unikernel"
[[components]]
name = "pvm"
image = "localhost/hello-local:v1"
memory_mb = 128
restart = "no"
env = ["HELLO_NAME=pvm"]
[[components.routes]]
name = "http"
port = 8080
EOF
	check "deploy (unikernel) on a terminal" on_tty deploy "$D/vm.toml"
	cat "$T/tty.out"
	check "progress: pulling the image" has "${PROGRESS}pvm: pulling image localhost/hello-local:v1"
	check "progress: building the VM image" has "${PROGRESS}pvm: building the VM image \(kernel \+ initramfs\) from localhost/hello-local:v1"
	check "progress: booting the VM" has "${PROGRESS}pvm: booting the VM \((tcg|kvm), 128 MiB"
	check "progress: waiting for the first answer" has "${PROGRESS}pvm: waiting for the first answer on 127\.0\.0\.1:[0-9]+"
	check "progress: answered" has "${PROGRESS}pvm: 127\.0\.0\.1:[0-9]+ answered after"
	check "progress: elapsed times do not go backwards" monotonic
	port=$(json_get "$(mcp --json status pvm)" 'j["components"][0]["routes"][0]["host_port"]')
	check "when it said answered, the VM answers HTTP" sh -c "curl -fsS -m 5 http://127.0.0.1:$port/ | grep -q 'hello from pvm'"
	check "undeploy pvm" mcp undeploy pvm
else
	echo "no QEMU or guest kernel: unikernel progress not checked"
fi
check "agent stops cleanly" agent_stop
check "no sanitizer report in the agent's log" sh -c "! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$AGENT_DIR/agent.log'"
t_done
