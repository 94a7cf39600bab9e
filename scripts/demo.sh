#!/bin/bash
# scripts/demo.sh [up|down]: the single-node demo.
#
# up (default): install what is needed, build, start a registry on
# 127.0.0.1:5000 and push the example image to it, start mcp-agent with its
# state in ./.demo (isolated podman store too), deploy examples/hello as a
# container and as a unikernel, show `mcp ps`, and answer an HTTP request
# through each.  Everything keeps running afterwards; `scripts/demo.sh down`
# undeploys and stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEMO=$ROOT/.demo
REG_PORT=5000

. tests/lib/agent.sh

down() {
	[ -d "$DEMO" ] || return 0
	AGENT_DIR=$DEMO/agent
	if [ -f "$AGENT_DIR/agent.pid" ] && kill -0 "$(cat "$AGENT_DIR/agent.pid")" 2>/dev/null; then
		mcp undeploy hello >/dev/null 2>&1 || true
		mcp undeploy hello-vm >/dev/null 2>&1 || true
	fi
	agent_env_cleanup || true
	registry_stop "$DEMO/registry"
	rm -rf "$DEMO"
}

case "${1:-up}" in
down)
	down
	echo "demo stopped"
	exit 0
	;;
up) ;;
*)
	echo "usage: $0 [up|down]" >&2
	exit 2
	;;
esac

./scripts/setup.sh
make -s -j"$(nproc)" all
down
mkdir -p "$DEMO"

if (exec 3<>/dev/tcp/127.0.0.1/$REG_PORT) 2>/dev/null; then
	echo "demo: 127.0.0.1:$REG_PORT is already in use; stop what listens there" >&2
	exit 1
fi
echo "== registry on 127.0.0.1:$REG_PORT, example image"
HELLO_REGISTRY_PORT=$REG_PORT hello_registry "$DEMO" v1.0.0
echo "   pushed $REGISTRY/hello:v1.0.0"
podman_env_cleanup "$DEMO/img/podman"

echo "== mcp-agent, state in $DEMO/agent/state"
agent_env_init "$DEMO/agent" "$REGISTRY"
agent_start
echo "   log: $DEMO/agent/agent.log"

echo "== mcp deploy (container)"
mcp deploy examples/hello/hello.toml
echo "== mcp deploy (unikernel)"
mcp deploy examples/hello/hello-vm.toml

echo "== mcp ps"
mcp ps

port_of() {
	json_get "$(mcp --json status "$1")" 'j["components"][0]["routes"][0]["host_port"]'
}
for svc in hello hello-vm; do
	p=$(port_of "$svc")
	echo "== curl http://127.0.0.1:$p/   ($svc)"
	if ! wait_for 30 http_get "http://127.0.0.1:$p/"; then
		echo "demo: $svc did not answer on 127.0.0.1:$p" >&2
		mcp logs "$svc" -n 20 >&2 || true
		exit 1
	fi
	http_get "http://127.0.0.1:$p/"
done

echo "== mcp status hello-vm"
mcp status hello-vm
cat <<EOT

The demo keeps running.  Try:
  export MCP_CONFIG=$DEMO/agent/mcp.toml
  $ROOT/bin/mcp ps
  $ROOT/bin/mcp logs hello-vm
  $ROOT/bin/mcp stop hello && $ROOT/bin/mcp start hello
Stop everything with:  scripts/demo.sh down
EOT
