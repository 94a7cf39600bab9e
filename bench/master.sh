#!/bin/bash
# bench/master.sh [NODES] [SERVICES] [RUNS]: mcp-master against --direct,
# in one run, on a fleet of network namespaces (tests/lib/fleet.sh):
#  1. deploy to first HTTP answer through the master versus `--direct` to
#     the same agent (median of RUNS, default 5; target ratio <= 1.1);
#  2. `mcp ps` through the master over NODES agents (default 16), each
#     holding SERVICES services (default 50) recorded with active = false
#     so the cores are not swamped, versus the slowest single agent's own
#     `ps` (target ratio <= 1.5);
#     The master runs with -v and logs where each Status spent its time
#     (database, the fan-out to the agents, the merge): their medians are
#     printed too.  One untimed warm-up round first, for both sides.
#  3. the master's RSS with NODES nodes and NODES x SERVICES placements.
# Root; after `make`.  Not a test.
set -u
cd "$(dirname "$0")/.."
. tests/lib/agent.sh
. tests/lib/fleet.sh
. tests/lib/master.sh
. bench/lib.sh
NODES=${1:-16} SVCS=${2:-50} RUNS=${3:-5}

T=$(mktemp -d /tmp/mcp-bench-master.XXXXXX)
P=mcpb$$
DIRS=() MASTER_PID=
cleanup() {
	local d
	[ -n "$MASTER_PID" ] && kill -TERM "$MASTER_PID" 2>/dev/null && wait "$MASTER_PID" 2>/dev/null
	for d in "${DIRS[@]}"; do
		AGENT_DIR=$d
		agent_env_cleanup >/dev/null 2>&1
	done
	registry_stop "$T/registry"
	fleet_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

fleet_init "$P" "10.97.$((RANDOM % 200 + 20))." || exit 1
fleet_node m 2 && fleet_node client 3 || exit 1
for i in $(seq 1 "$NODES"); do fleet_node "n$i" $((10 + i)) || exit 1; done
MIP=$(fleet_ip m)
hello_registry "$T" v1.0.0 >/dev/null || exit 1
M="$MCP_BIN/mcp"
"$M" ca init "$T/ca" >/dev/null || exit 1
"$M" ca issue mcp-master --san "IP:$MIP" --ca "$T/ca" >/dev/null &&
	"$M" ca issue operator --ca "$T/ca" >/dev/null || exit 1
master_config "$T/master.toml" "$MIP:9555" "$T/master" "$T/ca" "[registration]
max_nodes = $((NODES + 1))"
op_config "$T/op.toml" "$MIP:9555" "$T/ca"
OP_NS=$P-client OP_CONFIG=$T/op.toml
MASTER_ARGS=-v master_start "$P-m" "$T/master.toml" "$T/master.log" || exit 1

for i in $(seq 1 "$NODES"); do
	n=n$i
	"$M" ca issue "agent-$n" --san "IP:$(fleet_ip $n)" --ca "$T/ca" >/dev/null || exit 1
	master_agent_env "$T/$n" "$n" "$(fleet_ip $n)" "$T/ca" "$MIP:9555" >/dev/null || exit 1
	# the monitor at 1 s (the tests' setting) on every agent would swamp
	# the cores; an operator's default is 5 s
	sed -i 's/^monitor_interval = 1$/monitor_interval = 30/' "$AGENT_DIR/agent.toml"
	DIRS+=("$AGENT_DIR")
	penv_podman pull --tls-verify=false "$REGISTRY/hello:v1.0.0" >/dev/null 2>&1 || exit 1
	AGENT_NETNS="$P-$n" agent_start || exit 1
	# a CLI config with this agent alone (its own ps, and --direct)
	{
		echo "[[nodes]]"
		echo "name = \"$n\""
		echo "address = \"$(fleet_ip $n):9444\""
		tail -4 "$T/op.toml"
		echo "[master]"
		echo "address = \"$MIP:9555\""
	} >"$T/$n.toml"
done
healthy() { [ "$(op --json node list | grep -c '"health": "healthy"')" = "$NODES" ]; }
wait_for 60 healthy || { echo "nodes did not all register"; exit 1; }

def() { # NAME ACTIVE NODE
	printf 'name = "%s"\nactive = %s\n%s[[components]]\nname = "%s"\nimage = "%s"\nrestart = "no"\n[[components.routes]]\nport = 8080\n' \
		"$1" "$2" "${3:+node = \"$3\"
}" "$1" "$REGISTRY/hello:v1.0.0"
}
answer() { # NODE JSON: wait for the deployed route on that node
	local hp
	hp=$(sed -n 's/.*"host_port": \([0-9]*\).*/\1/p' <<<"$2" | head -1)
	nsenter "--net=/var/run/netns/$P-$1" bash -c ". bench/lib.sh; wait_200 http://127.0.0.1:$hp/"
}

# ---- 1. deploy to first answer, master versus --direct, on node n1
via=() direct=()
for r in $(seq 1 "$RUNS"); do
	def "bm-$r" true n1 >"$T/bm-$r.toml"
	t0=$(now_ms)
	out=$(op --json deploy "$T/bm-$r.toml") && answer n1 "$out" || echo "master run $r failed" >&2
	via+=($(($(now_ms) - t0)))
	op undeploy "bm-$r" >/dev/null
	def "bd-$r" true >"$T/bd-$r.toml"
	t0=$(now_ms)
	out=$(nsenter "--net=/var/run/netns/$P-client" "$M" -c "$T/n1.toml" --json deploy --direct "$T/bd-$r.toml") &&
		answer n1 "$out" || echo "direct run $r failed" >&2
	direct+=($(($(now_ms) - t0)))
	nsenter "--net=/var/run/netns/$P-client" "$M" -c "$T/n1.toml" undeploy --direct "bd-$r" >/dev/null
done
vm=$(printf '%s\n' "${via[@]}" | median)
dm=$(printf '%s\n' "${direct[@]}" | median)
echo "deploy to first HTTP 200 on one agent (median of $RUNS):"
echo "  --direct       : ${dm} ms   (runs: ${direct[*]})"
echo "  through master : ${vm} ms   (runs: ${via[*]})"
awk -v a="$vm" -v b="$dm" 'BEGIN { printf "  ratio          : %.2f (target <= 1.1)\n", a / b }'

# ---- 2. ps over NODES agents with SVCS inactive services each
t0=$(now_ms)
for i in $(seq 1 "$NODES"); do
	for s in $(seq 1 "$SVCS"); do
		def "i$i-$s" false >"$T/i.toml"
		op deploy "$T/i.toml" >/dev/null || echo "deploy i$i-$s failed" >&2
	done
done
echo "placed $((NODES * SVCS)) inactive services in $(($(now_ms) - t0)) ms"
# warm-up (untimed): every agent's first listing after the deploys, and
# the master's, so that neither side's first run pays for the other
op ps >/dev/null
for i in $(seq 1 "$NODES"); do
	nsenter "--net=/var/run/netns/$P-client" "$M" -c "$T/n$i.toml" ps --direct >/dev/null
done
STATUS_LOG_FROM=$(wc -l <"$T/master.log")
ps_master=() ps_slowest=() ps_all=()
for r in $(seq 1 "$RUNS"); do
	t0=$(now_ms)
	op ps >/dev/null
	ps_master+=($(($(now_ms) - t0)))
	worst=0
	for i in $(seq 1 "$NODES"); do
		t0=$(now_ms)
		nsenter "--net=/var/run/netns/$P-client" "$M" -c "$T/n$i.toml" ps --direct >/dev/null
		d=$(($(now_ms) - t0))
		[ "$d" -gt "$worst" ] && worst=$d
	done
	ps_slowest+=("$worst")
	# every agent's own ps at once: what the cores allow in parallel
	t0=$(now_ms)
	pids=()
	for i in $(seq 1 "$NODES"); do
		nsenter "--net=/var/run/netns/$P-client" "$M" -c "$T/n$i.toml" ps --direct >/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}"
	ps_all+=($(($(now_ms) - t0)))
done
pm=$(printf '%s\n' "${ps_master[@]}" | median)
sm=$(printf '%s\n' "${ps_slowest[@]}" | median)
echo "mcp ps over $NODES agents x $SVCS services (median of $RUNS):"
echo "  slowest single agent : ${sm} ms   (runs: ${ps_slowest[*]})"
echo "  through master       : ${pm} ms   (runs: ${ps_master[*]})"
awk -v a="$pm" -v b="$sm" 'BEGIN { printf "  ratio                : %.2f (target <= 1.5)\n", a / b }'
# the master's own account of each timed Status (mcp-master -v)
tail -n +"$((STATUS_LOG_FROM + 1))" "$T/master.log" | grep 'status: database' |
	sed -n 's/.*database \([0-9]*\) ms, [0-9]* node(s) asked in \([0-9]*\) ms (slowest [^,]*, \([0-9]*\) ms), [0-9]* service(s) merged in \([0-9]*\) ms/\1 \2 \3 \4/p' |
	head -n "$RUNS" >"$T/status.ms"
if [ -s "$T/status.ms" ]; then
	col() { awk -v c="$1" '{print $c}' "$T/status.ms" | median; }
	echo "  in the master (median): database $(col 1) ms, fan-out to $NODES agents $(col 2) ms" \
		"(slowest agent's answer $(col 3) ms), merge $(col 4) ms"
fi
pa=$(printf '%s\n' "${ps_all[@]}" | median)
echo "  all agents' own ps at once (wall): ${pa} ms   (runs: ${ps_all[*]})"
awk -v a="$pm" -v b="$pa" 'BEGIN { printf "  ratio master/all-at-once : %.2f\n", a / b }'
echo "master RSS with $NODES nodes and $(op --json node list | grep -c '"i[0-9]*-') placements:" \
	"$(awk '/^VmRSS/ {print $2 " " $3}' "/proc/$MASTER_PID/status")"
