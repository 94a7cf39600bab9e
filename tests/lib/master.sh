# tests/lib/master.sh: run a real mcp-master in a fleet node (sourceable
# bash; after fleet.sh and agent.sh).  Used by tests/integration and bench/.
#
#   master_config FILE ADDR STATE CADIR [EXTRA]   master.toml for node "m":
#                         listen ADDR, state in STATE, TLS from CADIR
#                         (ca.crt, mcp-master.crt/.key); EXTRA appended
#   op_config FILE ADDR CADIR    a CLI config for identity "operator"
#                                through the master at ADDR
#   master_start NS CONFIG LOG   start it in namespace NS (MASTER_PID);
#                                waits until `op node list` answers;
#                                MASTER_ARGS: more arguments (e.g. -v)
#   master_stop                  SIGTERM, wait; its exit status
#   op ARGS...                   the CLI as operator, from namespace
#                                $OP_NS with config $OP_CONFIG
#   master_agent_env DIR NODE IP CADIR MASTER [EXTRA]   agent_env_init DIR
#                                for node NODE listening on IP:9444 with
#                                TLS agent-NODE from CADIR, registering
#                                with MASTER; EXTRA appended (sets AGENT_DIR)

master_config() {
	{
		echo "[master]"
		echo "node = \"m\""
		echo "listen = \"$2\""
		echo "state_dir = \"$3\""
		echo "[tls]"
		echo "ca = \"$4/ca.crt\""
		echo "cert = \"$4/mcp-master.crt\""
		echo "key = \"$4/mcp-master.key\""
		echo "${5:-}"
	} >"$1"
}

op_config() {
	{
		echo "[master]"
		echo "address = \"$2\""
		echo "[tls]"
		echo "ca = \"$3/ca.crt\""
		echo "cert = \"$3/operator.crt\""
		echo "key = \"$3/operator.key\""
	} >"$1"
}

op() {
	nsenter "--net=/var/run/netns/$OP_NS" "$MCP_BIN/mcp" -c "$OP_CONFIG" "$@"
}

master_start() {
	local _
	# nsenter itself, not a shell function, so that $! is mcp-master
	# shellcheck disable=SC2086
	nsenter "--net=/var/run/netns/$1" "$MCP_BIN/mcp-master" -c "$2" ${MASTER_ARGS:-} >>"$3" 2>&1 &
	MASTER_PID=$!
	for _ in $(seq 1 100); do
		kill -0 "$MASTER_PID" 2>/dev/null || { tail "$3" >&2; return 1; }
		op node list >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

master_stop() {
	local rc
	[ -n "${MASTER_PID:-}" ] || return 1
	kill -TERM "$MASTER_PID" && wait "$MASTER_PID"
	rc=$?
	MASTER_PID=
	return $rc
}

master_agent_env() {
	local dir="$1" node="$2" ip="$3" ca="$4" master="$5"
	AGENT_EXTRA_AGENT="node = \"$node\"
listen = \"$ip:9444\"" AGENT_EXTRA="[tls]
ca = \"$ca/ca.crt\"
cert = \"$ca/agent-$node.crt\"
key = \"$ca/agent-$node.key\"
[master]
address = \"$master\"
${6:-}" agent_env_init "$dir" "$REGISTRY" || return 1
	sed -i 's/^node = "local"$//' "$AGENT_DIR/agent.toml"
}

# master_fleet_cleanup: what a master test started, for its EXIT trap.
# Uses $T (the test dir), $MASTER_PID, the agent dirs in DIRS[@], and a
# knot under $T/knot if the test started one; KEEP_TEST_DIR keeps $T.
master_fleet_cleanup() {
	local d p
	[ -n "${MASTER_PID:-}" ] && kill -TERM "$MASTER_PID" 2>/dev/null && wait "$MASTER_PID" 2>/dev/null
	for d in "${DIRS[@]}"; do
		AGENT_DIR=$d
		agent_env_cleanup
	done
	if [ -d "$T/knot" ]; then
		knot_stop "$T/knot"
		# knot_start's pidfile holds the subshell that ran fleet_exec, not
		# knotd: stop the knotd whose command line names this test's config
		for p in /proc/[0-9]*; do
			[ "$(cat "$p/comm" 2>/dev/null)" = knotd ] || continue
			tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "$T/knot/" && kill "${p#/proc/}"
		done
	fi
	registry_stop "$T/registry"
	podman_env_cleanup "$T/img/podman" 2>/dev/null
	fleet_cleanup
	[ -n "${KEEP_TEST_DIR:-}" ] && echo "kept $T" || rm -rf "$T"
}
