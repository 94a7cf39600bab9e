#!/bin/bash
# scripts/demo.sh [up|down]: the single-node demo.
#
# up (default): install what is needed, build, start a registry on
# 127.0.0.1:5000 and push the example image to it, make a platform CA and
# the node's name-constrained intermediate, start mcp-agent with its state
# in ./.demo (isolated podman store too) and its node proxy (HAProxy) on
# 127.0.0.1, deploy examples/hello as a container and as a unikernel, show
# `mcp ps`, and answer an HTTPS request through the proxy for each
# (verified against the demo's CA) and a plain one through the host port.  Everything keeps running afterwards; `scripts/demo.sh down`
# undeploys and stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEMO=$ROOT/.demo
REG_PORT=5000
ZONE=svc.mcp.example.net

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

echo "== platform CA and the node's intermediate (permitted: $ZONE)"
"$ROOT/bin/mcp" ca init "$DEMO/ca" >/dev/null
"$ROOT/bin/mcp" ca issue agent-local --intermediate --permit "$ZONE" --ca "$DEMO/ca"

echo "== mcp-agent, state in $DEMO/agent/state, node proxy on 127.0.0.1"
AGENT_EXTRA="[proxy]
enabled = true
bind = [\"127.0.0.1\"]
zone = \"$ZONE\"
issuer_cert = \"$DEMO/ca/agent-local.crt\"
issuer_key = \"$DEMO/ca/agent-local.key\""
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
	name=$svc.$ZONE
	echo "== curl https://$name:8080/ through the node proxy (verified with $DEMO/ca/ca.crt)"
	https_get() { curl -fsS -m 5 --cacert "$DEMO/ca/ca.crt" --resolve "$name:8080:127.0.0.1" "https://$name:8080/"; }
	if ! wait_for 30 https_get; then
		echo "demo: $svc did not answer through the proxy at $name:8080" >&2
		exit 1
	fi
	https_get
done

echo "== mcp route list"
mcp route list

echo "== mcp status hello-vm"
mcp status hello-vm
cat <<EOT

The demo keeps running.  Try:
  export MCP_CONFIG=$DEMO/agent/mcp.toml
  $ROOT/bin/mcp ps
  $ROOT/bin/mcp logs hello-vm
  $ROOT/bin/mcp stop hello && $ROOT/bin/mcp start hello
  curl --cacert $DEMO/ca/ca.crt --resolve hello.$ZONE:8080:127.0.0.1 https://hello.$ZONE:8080/
Stop everything with:  scripts/demo.sh down
EOT
