#!/bin/bash
# Input at the RPC edge (issue 7), through a foreign gRPC client (Python
# grpcio, tests/interop/agent_client.py) on the agent's Unix socket:
#   - a NUL byte or invalid UTF-8 in any string field of any RPC is
#     INVALID_ARGUMENT naming the method and the field, before any handler
#     runs (Deploy definition/source, Undeploy service, Stop component,
#     PushFile path, Logs service, malformed bytes);
#   - limits named in the refusal: definition size, Deploy source, host
#     ports per service, message size;
#   - PushFile/PullFile for a service not deployed here: NOT_FOUND, no
#     directory created;
#   - volume host paths outside [agent] volume_roots / srv_root (symlinks
#     resolved) refused at deploy, and again at restart after the service
#     planted a symlink;
# and after every refusal nothing changed: registry rows, the container,
# the files under srv_root.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh

T=$(mktemp -d /tmp/mcp-it-edge.XXXXXX)
cleanup() {
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT

hello_registry "$T" v1.0.0 || exit 1
podman_env_cleanup "$T/img/podman"
mkdir -p "$T/data" "$T/outside"
AGENT_EXTRA_AGENT="volume_roots = [\"$T/data\"]"
agent_env_init "$T/agent" "$REGISTRY" || exit 1
agent_start || exit 1
D=$T/defs
mkdir -p "$D" "$AGENT_DIR/srv/hello"

hello_def() { # NAME VOLUME [extra component lines]
	cat <<EOF
name = "$1"

[[components]]
name = "$1"
image = "$REGISTRY/hello:v1.0.0"
restart = "no"
volumes = ["$2:/srv/$1"]
${3:-}

[[components.routes]]
name = "http"
port = 8080
EOF
}
hello_def hello "$AGENT_DIR/srv/hello" >"$D/hello.toml"
check "deploy hello (volume under srv_root)" mcp deploy "$D/hello.toml"

PY=/usr/bin/python3
SOCK="unix:$AGENT_DIR/state/agent.sock"
call() { # METHOD JSON|@FILE [more args]
	local m=$1 r=$2
	shift 2
	"$PY" tests/interop/agent_client.py --address "$SOCK" --method "$m" \
		--request "$r" --timeout 60 "$@"
}
cid() { penv_podman inspect --format '{{.Id}}' "$1" 2>/dev/null; }
state() {
	sqlite3 "$AGENT_DIR/state/registry.db" "select name, node, tier, active, definition, source from services; select service,name,image,desired,runtime from components; select * from routes;"
	cid hello
	(cd "$AGENT_DIR/srv" && find . | sort)
}
before=$(state)
unchanged() { test "$(state)" = "$before"; }
check "python client: Status works" call Status '{"service": "hello"}'

# --- NUL in each kind of field
# the definition with garbage after a NUL: protobuf-c alone would deploy the prefix
def_json=$("$PY" -c 'import json,sys; print(json.dumps({"definition": open(sys.argv[1]).read() + "\u0000garbage = [", "source": "t.toml"}))' "$D/hello.toml")
expect_fail "Deploy: NUL in definition" 'INVALID_ARGUMENT: Deploy: field "definition": embedded NUL byte at offset [0-9]+' call Deploy "$def_json"
def_json=$("$PY" -c 'import json,sys; print(json.dumps({"definition": open(sys.argv[1]).read(), "source": "t.toml\u0000x"}))' "$D/hello.toml")
expect_fail "Deploy: NUL in source" 'INVALID_ARGUMENT: Deploy: field "source": embedded NUL byte at offset 6' call Deploy "$def_json"
expect_fail "Undeploy: NUL in service" 'INVALID_ARGUMENT: Undeploy: field "service": embedded NUL byte at offset 5' call Undeploy '{"service": "hello\u0000x"}'
expect_fail "Stop: NUL in component" 'INVALID_ARGUMENT: Stop: field "component": embedded NUL byte at offset 5' call Stop '{"service": "hello", "component": "hello\u0000x"}'
expect_fail "PushFile: NUL in path" 'INVALID_ARGUMENT: PushFile: field "path": embedded NUL byte at offset 2' call PushFile '{"service": "hello", "path": "ok\u0000/../../x", "content": "aGk="}'
expect_fail "Logs: NUL in service" 'INVALID_ARGUMENT: Logs: field "service": embedded NUL byte at offset 5' call Logs '{"service": "hello\u0000x"}'
expect_fail "PullFile: NUL in service" 'INVALID_ARGUMENT: PullFile: field "service": embedded NUL byte' call PullFile '{"service": "hel\u0000lo", "path": "x"}'
# raw bytes: field 1 (service) = "hello" + 0xFF; then a length running past the end
expect_fail "Undeploy: invalid UTF-8" 'INVALID_ARGUMENT: Undeploy: field "service": invalid UTF-8 \(byte 0xFF\) at offset 5' call Undeploy '{}' --raw-hex 0a0668656c6c6fff
expect_fail "Restart: overlong encoding" 'INVALID_ARGUMENT: Restart: field "service": invalid UTF-8 \(byte 0xC0\)' call Restart '{}' --raw-hex 0a0468c0ae78
expect_fail "Stop: malformed message" 'INVALID_ARGUMENT: Stop: malformed message at byte 0' call Stop '{}' --raw-hex 0a0968656c6c6f
check "hello still running after the NUL attempts" test "$(penv_podman inspect --format '{{.State.Status}}' hello)" = running
check "nothing changed after the NUL attempts (no file \"ok\")" unchanged
check "no file ok was written" test ! -e "$AGENT_DIR/srv/hello/ok"

# --- limits, each named
"$PY" -c 'import json,sys; print(json.dumps({"definition": open(sys.argv[1]).read() + "#" + "x" * (1 << 20) + "\n", "source": "big.toml"}))' "$D/hello.toml" >"$T/big.json"
expect_fail "definition over 1 MiB" 'INVALID_ARGUMENT: .*larger than the limit of 1048576 bytes \(SVC_MAX_DEFINITION_BYTES\)' call Deploy "@$T/big.json"
"$PY" -c 'import json,sys; print(json.dumps({"definition": open(sys.argv[1]).read(), "source": "s" * 1025}))' "$D/hello.toml" >"$T/src.json"
expect_fail "source over 1024 bytes" 'INVALID_ARGUMENT: .*SVC_MAX_SOURCE_BYTES' call Deploy "@$T/src.json"
# three components of 22 routes each: every one within SVC_MAX_ROUTES (32
# per component), together over the per-service host-port limit
{
	echo 'name = "hello"'
	for c in hello x1 x2; do
		printf '[[components]]\nname = "%s"\nimage = "%s"\nrestart = "no"\n' "$c" "$REGISTRY/hello:v1.0.0"
		[ "$c" = hello ] && echo "volumes = [\"$AGENT_DIR/srv/hello:/srv/hello\"]"
		for i in $(seq 1 22); do printf '[[components.routes]]\nname = "r%s"\nport = %s\n' "$i" $((9000 + i)); done
	done
} >"$D/ports.toml"
expect_fail "66 host ports for one service" '66 routes need a host port, more than the limit of 64 per service \(SVC_MAX_HOST_PORTS\)' mcp deploy "$D/ports.toml"
"$PY" -c 'import base64,json; print(json.dumps({"service": "hello", "path": "big", "content": base64.b64encode(b"x" * (66 << 20)).decode()}))' >"$T/huge.json"
# gRPC core refuses it before our code sees it, naming the limit (65 MiB)
expect_fail "a message over the wire limit" 'RESOURCE_EXHAUSTED: .*larger than max \([0-9]+ vs\. 68157440\)' call PushFile "@$T/huge.json"
check "nothing changed after the refused limits" unchanged

# --- files for a service that is not deployed here
expect_fail "PushFile to a service not deployed" 'NOT_FOUND: push: service nosuch is not deployed on node local' call PushFile '{"service": "nosuch", "path": "f", "content": "aGk="}'
expect_fail "PullFile from a service not deployed" 'NOT_FOUND: pull: service nosuch is not deployed on node local' call PullFile '{"service": "nosuch", "path": "f"}'
check "no directory made for it" test ! -e "$AGENT_DIR/srv/nosuch"
check "PushFile to hello still works" call PushFile '{"service": "hello", "path": "f", "content": "aGk="}'
check "and the file is there" test "$(cat "$AGENT_DIR/srv/hello/f")" = hi
rm -f "$AGENT_DIR/srv/hello/f"

# --- volumes outside the roots
hello_def hello /etc >"$D/etc.toml"
expect_fail "redeploy with /etc mounted" "component hello: volume /etc:/srv/hello: host path /etc is outside the volume roots \($T/data, $AGENT_DIR/srv:" mcp deploy "$D/etc.toml"
hello_def hello "$AGENT_DIR/state" >"$D/state.toml"
expect_fail "the agent's own state dir" "host path $AGENT_DIR/state is outside" mcp deploy "$D/state.toml"
ln -s /etc "$T/data/etc-link"
hello_def other "$T/data/etc-link/sub" >"$D/link.toml"
expect_fail "a symlink under a root that leads out" "host path $T/data/etc-link/sub \(resolves to /etc/sub\) is outside" mcp deploy "$D/link.toml"
mkdir -p "$T/datax"
hello_def other "$T/datax" >"$D/prefix.toml"
expect_fail "a sibling whose name extends a root's" "host path $T/datax is outside" mcp deploy "$D/prefix.toml"
check "nothing changed after the refused volumes" unchanged
check "no row for the refused service" test "$(sqlite3 "$AGENT_DIR/state/registry.db" "select count(*) from services where name = 'other'")" = 0

# a volume under a root that does not exist yet is judged by its prefix
hello_def planted "$T/data/planted/vol" >"$D/planted.toml"
mkdir -p "$T/data/planted/vol"
check "deploy with a volume under volume_roots" mcp deploy "$D/planted.toml"
# the service (or anyone) swaps its volume for a symlink to the outside
rm -rf "$T/data/planted/vol"
ln -s "$T/outside" "$T/data/planted/vol"
expect_fail "restart after a symlink was planted is refused" "resolves to $T/outside\) is outside" mcp restart planted
check "undeploy planted" mcp undeploy planted
check "hello untouched through all of it" unchanged
check "agent stops cleanly" agent_stop
check "agent log has no sanitizer reports" sh -c "! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$AGENT_DIR/agent.log'"
t_done
