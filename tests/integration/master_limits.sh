#!/bin/bash
# mcp-master's limits over a small fleet of network namespaces: the
# master's node m (the master only), two workers w1 and w2, a client
# namespace for the operator; real mutual TLS from `mcp ca`, real agents
# and podman.  Checked:
# - placement is atomic: four deploys of different services sent at once
#   spread 2 / 2 over the two workers (not all on the least-loaded one
#   counted before any was recorded); a deploy whose agent step fails
#   releases the node it held, so the next service goes there; one whose
#   agent step succeeds but whose placement cannot be recorded keeps its
#   node counted, and an undeploy still reaches that node;
# - [registration] max_nodes: with the fleet full, a further node's
#   Register is refused saying so, and it does not become a node;
# - Register / Heartbeat are rate-limited per node: a burst of calls gets
#   RESOURCE_EXHAUSTED (both methods share the node's bucket), the node
#   stays healthy, and calls are allowed again a moment later.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh
. tests/lib/fleet.sh
. tests/lib/master.sh

T=$(mktemp -d /tmp/mcp-it-mlimits.XXXXXX)
P=mcpt-ml$$
DIRS=()
MASTER_PID=
BG=()
cleanup() {
	local p
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
	master_fleet_cleanup
}
trap cleanup EXIT

NET=10.97.$((RANDOM % 200 + 20)).
fleet_init "$P" "$NET" || exit 1
fleet_node m 2 && fleet_node w1 3 && fleet_node w2 4 && fleet_node client 6 || exit 1
MIP=$(fleet_ip m)

hello_registry "$T" v1.0.0 || exit 1
M="$MCP_BIN/mcp"
"$M" ca init "$T/ca" >/dev/null || exit 1
for n in w1 w2; do
	"$M" ca issue "agent-$n" --san "IP:$(fleet_ip $n)" --ca "$T/ca" >/dev/null || exit 1
done
for id in "mcp-master --san IP:$MIP" operator agent-x; do
	# shellcheck disable=SC2086
	"$M" ca issue $id --ca "$T/ca" >/dev/null || exit 1
done

# two nodes fill the fleet; heartbeats every 30 s so that the agents'
# own calls do not spend the buckets the rate-limit checks empty
master_config "$T/master.toml" "$MIP:9555" "$T/master" "$T/ca" "[registration]
allowed_agents = [\"agent-w1\", \"agent-w2\", \"agent-x\"]
max_nodes = 2
[timeouts]
deploy = 120
health_check = 10
[health]
heartbeat_interval = 30
missed = 3
probe_timeout = 5"
op_config "$T/op.toml" "$MIP:9555" "$T/ca"
OP_NS=$P-client OP_CONFIG=$T/op.toml
master_start "$P-m" "$T/master.toml" "$T/master.log" || { echo "mcp-master did not start"; exit 1; }

for n in w1 w2; do
	master_agent_env "$T/$n" "$n" "$(fleet_ip $n)" "$T/ca" "$MIP:9555" || exit 1
	DIRS+=("$AGENT_DIR")
	penv_podman pull --tls-verify=false "$REGISTRY/hello:v1.0.0" >/dev/null || exit 1
	AGENT_NETNS="$P-$n" agent_start || exit 1
done

nodes_json() { op --json node list; }
both_healthy() {
	[ "$(json_get "$(nodes_json)" "sum(1 for n in j if n['health'] == 'healthy')")" = 2 ]
}
check "w1 and w2 register and are healthy" wait_for 30 both_healthy
[ "$T_FAILS" = 0 ] || { tail -20 "$T/master.log"; exit 1; }

# ---- atomic placement: four deploys at once spread 2 / 2
svc() { # NAME [IMAGE]
	printf 'name = "%s"\n\n[[components]]\nname = "%s"\nimage = "%s"\n' \
		"$1" "$1" "${2:-$REGISTRY/hello:v1.0.0}" >"$T/$1.toml"
	echo "$T/$1.toml"
}
counts() { # the number of services placed on w1 and w2
	json_get "$(nodes_json)" "[len(n['services']) for n in sorted(j, key=lambda n: n['node'])]"
}
placed_on() { json_get "$(nodes_json)" "[n['node'] for n in j if '$1' in n['services']]"; }
for s in c1 c2 c3 c4; do svc "$s" >/dev/null; done
for s in c1 c2 c3 c4; do
	op deploy "$T/$s.toml" >"$T/$s.out" 2>&1 &
	BG+=($!)
done
RCS=
for p in "${BG[@]}"; do
	wait "$p"
	RCS="$RCS$?"
done
BG=()
check "four concurrent deploys all succeed" [ "$RCS" = 0000 ]
[ "$RCS" = 0000 ] || cat "$T"/c?.out
check "they overlapped in the master (4 Deploys logged before the first result)" \
	eval "awk '/Deploy .* from operator/ { d++ } /deploy c[1-4] on/ { print d; exit }' $T/master.log | grep -qx 4"
check "four concurrent deploys spread 2 / 2 over w1 and w2" [ "$(counts)" = "[2, 2]" ]
services_of() { json_get "$(nodes_json)" "sorted([n['services'] for n in j if n['node'] == '$1'][0])"; }
echo "     (w1: $(services_of w1), w2: $(services_of w2))"

# a deploy that fails at its agent holds nothing afterwards: with w1 and
# w2 tied, bad goes to w1 (ties by name) and fails; c5 then goes to w1 too
OUT=$(op --json deploy "$(svc bad "$REGISTRY/nosuch:v9")" 2>/dev/null)
check "a deploy of a missing image fails at the deploy step on w1" \
	[ "$(json_get "$OUT" "(j['node'], j['success'], [s['ok'] for s in j['steps'] if s['step'] == 'deploy'])")" = "('w1', False, [False])" ]
check "it left no placement" [ "$(placed_on bad)" = "[]" ]
check "deploy c5" op deploy "$(svc c5)"
check "c5 goes to w1: the failed deploy released its node" [ "$(placed_on c5)" = "['w1']" ]

# a deploy whose agent step succeeds but whose placement cannot be
# recorded (another writer holds the master's database for longer than
# its 5 s busy timeout) keeps its node counted: with w1 at 3 and w2 at 2,
# u1 goes to w2 and runs there unrecorded; c6 then sees 3 / 3 and goes to
# w1 (by name), not to w2; an undeploy of u1 reaches w2 and frees it
mkfifo "$T/dblock"
/usr/bin/sqlite3 "$T/master/master.db" <"$T/dblock" >/dev/null 2>&1 &
BG+=($!)
exec 7>"$T/dblock"
echo "BEGIN IMMEDIATE; INSERT INTO placements SELECT * FROM placements WHERE 0;" >&7
sleep 1
OUT=$(op --json deploy "$(svc u1)" 2>/dev/null)
echo "COMMIT;" >&7
exec 7>&-
wait "${BG[@]}"
BG=()
check "u1 deployed on w2 but its placement not recorded" \
	[ "$(json_get "$OUT" "(j['node'], [s['ok'] for s in j['steps'] if s['step'] == 'deploy'], 'but not recorded' in str(j['steps']))")" = "('w2', [False], True)" ]
check "the master logs it as still counted on w2" grep -q "deploy u1: running on w2 but its placement is not recorded" "$T/master.log"
check "deploy c6" op deploy "$(svc c6)"
check "c6 goes to w1: the unrecorded u1 still counts on w2" [ "$(placed_on c6)" = "['w1']" ]
on_w2() { PODMAN_ENV_DIR=${DIRS[1]}/podman penv_podman ps -a --format '{{.Names}}' | grep -qx "$1"; }
check "u1's container runs on w2" on_w2 u1
check "undeploy u1 reaches w2 without a recorded placement" op undeploy u1
check "the undeploy was done on w2" grep -q "undeploy u1 from w2: done" "$T/master.log"
check "u1's container is gone from w2" eval '! on_w2 u1'

# ---- max_nodes: the fleet is full
register_as() { # IDENTITY NAME [REPEAT] [MORE JSON FIELDS]
	fleet_exec client /usr/bin/python3 tests/interop/agent_client.py \
		--proto proto/master.proto --address "$MIP:9555" --ca "$T/ca/ca.crt" \
		--cert "$T/ca/$1.crt" --key "$T/ca/$1.key" --method Register \
		--request "{\"name\": \"$2\", ${4:-\"address\": \"10.0.0.9:9444\"}}" \
		--repeat "${3:-1}" --timeout 10
}
heartbeat_as() { # IDENTITY NAME REPEAT
	fleet_exec client /usr/bin/python3 tests/interop/agent_client.py \
		--proto proto/master.proto --address "$MIP:9555" --ca "$T/ca/ca.crt" \
		--cert "$T/ca/$1.crt" --key "$T/ca/$1.key" --method Heartbeat \
		--request "{\"name\": \"$2\"}" --repeat "$3" --timeout 10
}
expect_fail "with max_nodes = 2 reached, a third node's Register is refused" \
	"RESOURCE_EXHAUSTED: register x: the fleet already has max_nodes = 2 nodes" \
	register_as agent-x x
check "x did not become a node" \
	[ "$(json_get "$(nodes_json)" "sorted(n['node'] for n in j)")" = "['w1', 'w2']" ]
check "the refusal is in the master's log" \
	grep -q "register x: the fleet already has max_nodes = 2 nodes" "$T/master.log"

# ---- rate limit: a burst of 10, then 2 a second, per node
expect_fail "30 Heartbeats from w2 back to back: RESOURCE_EXHAUSTED after the burst" \
	"RESOURCE_EXHAUSTED: heartbeat w2: too many calls, slow down" heartbeat_as agent-w2 w2 30
N=$(heartbeat_as agent-w2 w2 30 2>&1 | sed -n 's/^after \([0-9]*\) successful.*/\1/p')
echo "     (a second burst right after: $N call(s) allowed before the refusal)"
check "a second burst right after is refused within a few calls" [ -n "$N" ] && [ "$N" -lt 5 ]
# the same bucket for Register; with what w2's agent itself sends, so
# that a call let through by the refill changes nothing
W2_REG=$(json_get "$(nodes_json)" "[json.dumps({'address': n['address'], 'advertise': n['advertise'], 'version': n['version'], 'role': 'worker'})[1:-1] for n in j if n['node'] == 'w2'][0]")
expect_fail "and w2's Register too, straight after" \
	"RESOURCE_EXHAUSTED: register w2: too many calls" \
	register_as agent-w2 w2 30 "$W2_REG"
check "w1's bucket is its own: a Heartbeat from w1 is allowed" heartbeat_as agent-w1 w1 1
sleep 2
check "two seconds later w2's Heartbeat is allowed again" heartbeat_as agent-w2 w2 1
check "w2 stayed healthy" \
	[ "$(json_get "$(nodes_json)" "[n['health'] for n in j if n['node'] == 'w2'][0]")" = healthy ]

master_stop
san_clean() { ! grep -l "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" \
	"$T/master.log" "${DIRS[@]/%//agent.log}"; }
check "no sanitizer report in the master's or the agents' logs" san_clean

t_done
