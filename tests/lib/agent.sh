# tests/lib/agent.sh: run a real mcp-agent for an integration test
# (sourceable bash).  Everything lives under one directory: the agent's
# state (registry, VM state), /srv root, an isolated podman store and the
# CLI config, so tests never touch the host's state or each other.
#
#   agent_env_init DIR [REGISTRY]  podman env + DIR/agent.toml + DIR/mcp.toml
#                                  (extra lines for [agent] / [unikernel] can be
#                                  set in AGENT_EXTRA_AGENT / AGENT_EXTRA_UNIKERNEL)
#   agent_kill                     SIGKILL + wait: the agent dies, no graceful
#                                  shutdown (its containers, VMs, proxy stay)
#   agent_start / agent_stop       start (wait until it answers) / SIGTERM + wait;
#                                  with AGENT_NETNS set, the agent runs in that
#                                  network namespace (nsenter, see fleet.sh)
#   mcp ARGS...                    the CLI against that agent
#   json_get JSON EXPR             evaluate a python expression on parsed JSON `j`
#   http_get URL                   body of a GET (curl, 5 s)
#   hello_def NAME VERSION [EXTRA] the example as a container: $REGISTRY/hello:VERSION,
#                                  route "http" on 8080, /srv/NAME mounted;
#                                  EXTRA: more component lines
#   agent_cmd ARGS...              mcp-agent -c DIR/agent.toml ARGS... in the
#                                  agent's environment (recover, remove-untracked)
#   wait_for SECS CMD...           retry CMD every 0.2 s until it succeeds
#   agent_env_cleanup              stop agent, kill its VMs and proxy, remove podman store
#   hello_registry DIR VERSION...  a registry in DIR/registry on a free port (or
#                                  $HELLO_REGISTRY_PORT), sets REGISTRY, with the
#                                  example image pushed in each version; built in
#                                  the podman store DIR/img/podman (left for extra
#                                  images; podman_env_cleanup it when done)
#   agent_qemu_pids                PIDs of the QEMU processes of this agent's VMs
#   agent_local_image NAME VERSION the example image as localhost/NAME:VERSION,
#                                  built into the agent's own podman store only
#                                  (never pushed, as after podman load/import)
#   check / expect_fail / t_done   test bookkeeping, "N passed, N failed"

_agent_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$_agent_lib_dir/podman.sh"
. "$_agent_lib_dir/registry.sh"

MCP_ROOT=$(cd "$_agent_lib_dir/../.." && pwd)
MCP_BIN=${MCP_BIN:-$MCP_ROOT/bin}
MCP_STATIC_BIN=${MCP_STATIC_BIN:-$MCP_ROOT/bin}
MCP_KERNEL_DIR=${MCP_KERNEL_DIR:-/var/lib/mcp/kernel}
# The guest kernel the tests boot: the minimal one (scripts/build-guest-kernel.sh)
# when built, else Debian's; MCP_TEST_KERNEL / MCP_TEST_MACHINE override
# (tests/integration/guest_kernel.sh runs every supported combination).
if [ -z "${MCP_TEST_KERNEL:-}" ]; then
	MCP_TEST_KERNEL=$MCP_KERNEL_DIR/vmlinux
	[ -s "$MCP_KERNEL_DIR/minimal/vmlinux" ] && MCP_TEST_KERNEL=$MCP_KERNEL_DIR/minimal/vmlinux
fi
MCP_TEST_MACHINE=${MCP_TEST_MACHINE:-auto}

agent_env_init() {
	local dir="$1" registry="${2:-127.0.0.1:5000}"
	mkdir -p "$dir/state" "$dir/srv" || return 1
	AGENT_DIR=$(cd "$dir" && pwd -P)
	podman_env_init "$AGENT_DIR/podman" || return 1
	local args="" a
	while IFS= read -r a; do args="$args\"$a\", "; done <"$AGENT_DIR/podman/podman.args"
	{
		echo "[agent]"
		echo "node = \"local\""
		echo "state_dir = \"$AGENT_DIR/state\""
		echo "socket = \"$AGENT_DIR/state/agent.sock\""
		echo "srv_root = \"$AGENT_DIR/srv\""
		echo "monitor_interval = 1"
		echo "stop_timeout = 10"
		echo "${AGENT_EXTRA_AGENT:-}"
		echo
		echo "[podman]"
		echo "args = [ ${args%, } ]"
		echo "containers_conf = \"$AGENT_DIR/podman/containers.conf\""
		echo "insecure_registries = [ \"$registry\" ]"
		echo
		echo "[unikernel]"
		echo "kernel = \"$MCP_TEST_KERNEL\""
		echo "modules = \"$MCP_KERNEL_DIR/modules\""
		echo "machine = \"$MCP_TEST_MACHINE\""
		echo "mcp_init = \"$MCP_STATIC_BIN/mcp-init\""
		echo "accel = \"auto\""
		echo "reserve_memory_mb = 0"
		echo "${AGENT_EXTRA_UNIKERNEL:-}"
		echo "${AGENT_EXTRA:-}"
	} >"$AGENT_DIR/agent.toml"
	{
		echo "[[nodes]]"
		echo "name = \"local\""
		echo "address = \"unix:$AGENT_DIR/state/agent.sock\""
	} >"$AGENT_DIR/mcp.toml"
}

hello_registry() {
	local dir="$1" v
	shift
	registry_start "$dir/registry" "${HELLO_REGISTRY_PORT:-$(free_port)}" || return 1
	for v in "$@"; do
		MCP_IMAGE_BUILD_DIR="$dir/img" "$MCP_ROOT/scripts/build-hello-image.sh" \
			"$v" "$REGISTRY" >/dev/null || return 1
	done
}

agent_local_image() {
	MCP_IMAGE_BUILD_DIR="$AGENT_DIR" "$MCP_ROOT/scripts/build-hello-image.sh" \
		--local "$2" localhost "$1" >/dev/null
}

agent_start() {
	local _
	local ns=()
	# nsenter, not `ip netns exec`: that remounts /sys and runc then finds
	# no cgroup mount (ENVIRONMENT.md)
	[ -n "${AGENT_NETNS:-}" ] && ns=(nsenter "--net=/var/run/netns/$AGENT_NETNS")
	CONTAINERS_CONF="$AGENT_DIR/podman/containers.conf" TMPDIR="$AGENT_DIR/podman/imgtmp" \
		"${ns[@]}" "$MCP_BIN/mcp-agent" -c "$AGENT_DIR/agent.toml" >>"$AGENT_DIR/agent.log" 2>&1 &
	AGENT_PID=$!
	echo "$AGENT_PID" >"$AGENT_DIR/agent.pid"
	for _ in $(seq 1 150); do
		if ! kill -0 "$AGENT_PID" 2>/dev/null; then
			echo "agent_start: mcp-agent exited; log:" >&2
			tail -20 "$AGENT_DIR/agent.log" >&2
			return 1
		fi
		if [ -S "$AGENT_DIR/state/agent.sock" ] && mcp node list >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "agent_start: mcp-agent did not answer in 15 s" >&2
	return 1
}

agent_cmd() {
	CONTAINERS_CONF="$AGENT_DIR/podman/containers.conf" TMPDIR="$AGENT_DIR/podman/imgtmp" \
		"$MCP_BIN/mcp-agent" -c "$AGENT_DIR/agent.toml" "$@"
}

agent_stop() {
	local pid _
	[ -f "$AGENT_DIR/agent.pid" ] || return 0
	pid=$(cat "$AGENT_DIR/agent.pid")
	rm -f "$AGENT_DIR/agent.pid"
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 150); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null
			return 0
		fi
		sleep 0.1
	done
	echo "agent_stop: mcp-agent $pid ignored SIGTERM for 15 s" >&2
	kill -KILL "$pid" 2>/dev/null
	return 1
}

agent_kill() {
	local pid _
	[ -f "$AGENT_DIR/agent.pid" ] || return 1
	pid=$(cat "$AGENT_DIR/agent.pid")
	rm -f "$AGENT_DIR/agent.pid"
	kill -KILL "$pid" || return 1
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.1
	done
	return 1
}

mcp() {
	"$MCP_BIN/mcp" -c "$AGENT_DIR/mcp.toml" "$@"
}

json_get() {
	/usr/bin/python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

hello_def() { # NAME VERSION [extra component lines]
	cat <<EOF
name = "$1"
node = "local"

[[components]]
name = "$1"
image = "$REGISTRY/hello:$2"
restart = "no"
env = ["HELLO_NAME=$1"]
volumes = ["$AGENT_DIR/srv/$1:/srv/$1"]
${3:-}

[[components.routes]]
name = "http"
port = 8080
EOF
}

http_get() {
	curl -fsS -m 5 "$1"
}

wait_for() {
	local secs="$1" _
	shift
	for _ in $(seq 1 $((secs * 5))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# The PIDs of QEMU processes whose command line names this agent's state dir.
agent_qemu_pids() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = qemu-system-x86 ] || continue
		if tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -q -- "$AGENT_DIR/state/vms/"; then
			echo "${p#/proc/}"
		fi
	done
}

_agent_kill_vms() {
	local pid
	for pid in $(agent_qemu_pids); do
		kill -9 "$pid" 2>/dev/null
	done
}

# The node proxy (HAProxy) outlives the agent like VMs do: stop it by its
# pidfile, only if that PID's command line names this agent's proxy dir.
_agent_kill_proxy() {
	local pid
	[ -f "$AGENT_DIR/state/proxy/haproxy.pid" ] || return 0
	pid=$(cat "$AGENT_DIR/state/proxy/haproxy.pid")
	if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$AGENT_DIR/state/proxy/"; then
		kill -TERM "$pid" 2>/dev/null
	fi
}

agent_env_cleanup() {
	[ -n "${AGENT_DIR:-}" ] || return 0
	agent_stop
	_agent_kill_vms
	_agent_kill_proxy
	podman_env_cleanup "$AGENT_DIR/podman"
	if [ -n "${KEEP_TEST_DIR:-}" ]; then
		echo "kept $AGENT_DIR"
	else
		rm -rf "$AGENT_DIR"
	fi
}

T_FAILS=0
T_COUNT=0
# check NAME CMD...: run CMD, record the result
check() {
	local what="$1"
	shift
	T_COUNT=$((T_COUNT + 1))
	if "$@"; then
		echo "ok   - $what"
	else
		echo "FAIL - $what"
		T_FAILS=$((T_FAILS + 1))
	fi
}
# expect_fail NAME PATTERN CMD...: CMD must fail with stderr matching PATTERN
expect_fail() {
	local what="$1" pat="$2" out rc
	shift 2
	T_COUNT=$((T_COUNT + 1))
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne 0 ] && printf '%s' "$out" | grep -qE -- "$pat"; then
		echo "ok   - $what: $out"
	else
		echo "FAIL - $what: exit $rc, stderr: $out (wanted /$pat/)"
		T_FAILS=$((T_FAILS + 1))
	fi
}
t_done() {
	echo "$((T_COUNT - T_FAILS)) passed, $T_FAILS failed"
	[ "$T_FAILS" = 0 ]
}
