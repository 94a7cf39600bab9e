#!/bin/bash
# Service data through mcp-master (issue 10) on a fleet of network
# namespaces: the master's node m, two workers w1 and w2, an edge node e,
# a DNS namespace (knot) and a client namespace for the operator; real mutual TLS from
# `mcp ca`, real agents and podman, real SQLite and tar.zst.  Checked:
# `mcp snapshot` stores a tar.zst whose SHA-256 and size are recorded and
# listed; retention keeps exactly N (files and rows); a master killed -9
# mid-snapshot leaves no complete-looking file, and its restart removes
# the temporary one; migrate refuses a core service, the node it is on
# and, before the source is stopped, a target that already has data (the
# source's container keeps its StartedAt), and with --force replaces it;
# migrate with a live source moves
# the data (the service's own SQLite counter), the DNS record follows (kdig), the source
# has no container and its data dir goes only after the target runs it;
# a public service's edge route follows it (the public name answers from
# the client through edge -> the new node); with the edge node down the
# migrate fails at the edge step and is rolled back (DNS back, the
# target's copy and imported data removed, the source running);
# migrate with the source's agent killed restores the newest snapshot,
# and the copy on that node, back, is an orphan that status names as left
# by the migrate (with the command that removes it), and once removed
# is forgotten (a later --direct deploy there is a plain orphan);
# `mcp status` flags a service whose newest snapshot is overdue; the
# schedule snapshots a placed service by itself; sync --dry-run's plan is
# what a real sync then does; a bad definition aborts sync (in the CLI and
# in the master) with nothing changed.
#
# Each service keeps its data in <srv_root>/<service>/ on its node (the
# agents' srv_root differ); d1's definition mounts /srv/d1, which each
# agent maps to its own srv_root, and the live migrate is checked with
# d1's own counter through HTTP (/incr on the source, /count on the
# target); elsewhere the test writes and reads SQLite files there itself.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh
. tests/lib/fleet.sh
. tests/lib/master.sh

T=$(mktemp -d /tmp/mcp-it-mdata.XXXXXX)
P=mcpt-md$$
DIRS=()
MASTER_PID=
cleanup() { master_fleet_cleanup; }
trap cleanup EXIT

NET=10.97.$((RANDOM % 200 + 20)).
fleet_init "$P" "$NET" || exit 1
fleet_node m 2 && fleet_node w1 3 && fleet_node w2 4 && fleet_node e 5 &&
	fleet_node client 6 && fleet_node dns 7 || exit 1
MIP=$(fleet_ip m) DIP=$(fleet_ip dns) EIP=$(fleet_ip e)

hello_registry "$T" v1.0.0 || exit 1
M="$MCP_BIN/mcp"
"$M" ca init "$T/ca" >/dev/null || exit 1
for n in m w1 w2 e; do
	"$M" ca issue "agent-$n" --san "IP:$(fleet_ip $n)" --ca "$T/ca" >/dev/null || exit 1
done
"$M" ca issue mcp-master --san "IP:$MIP" --ca "$T/ca" >/dev/null || exit 1
"$M" ca issue operator --ca "$T/ca" >/dev/null || exit 1
# the node proxies' intermediates: workers for the internal zone, the
# edge for the public domain
for n in w1 w2; do
	"$M" ca issue "agent-$n" --intermediate --permit svc.test --out "$T/i$n" --ca "$T/ca" >/dev/null || exit 1
done
"$M" ca issue agent-e --intermediate --permit example.net --out "$T/ie" --ca "$T/ca" >/dev/null || exit 1
(umask 077 && keymgr -t mcp-master hmac-sha256 >"$T/dns.key") || exit 1
KNOT_KEYS="$T/dns.key" KNOT_UPDATE_KEY=mcp-master \
	knot_start dns "$T/knot" svc.test || exit 1
dig_a() { fleet_exec client kdig "@$DIP" +short +timeout=2 "$1.svc.test" A; }

SNAPS=$T/master/snapshots
master_conf() { # INTERVAL
	master_config "$T/master.toml" "$MIP:9555" "$T/master" "$T/ca" "[dns]
server = \"$DIP\"
zone = \"svc.test\"
key_name = \"mcp-master\"
secret_file = \"$T/dns.key\"
[timeouts]
deploy = 120
health_check = 5
[health]
heartbeat_interval = 1
missed = 2
probe_timeout = 1
[edge]
allowed_domains = [\"example.net\"]
[snapshots]
interval = \"$1\"
retain = 3
[[nodes]]
name = \"e\"
address = \"$EIP:9444\"
role = \"edge\""
}
master_conf 1h
op_config "$T/op.toml" "$MIP:9555" "$T/ca"
mkdir -p "$T/svcs"
# w1 and w2 directly too, for --direct
for n in w1 w2; do
	printf '[[nodes]]\nname = "%s"\naddress = "%s:9444"\n' "$n" "$(fleet_ip $n)" >>"$T/op.toml"
done
printf '[services]\ndir = "%s"\n' "$T/svcs" >>"$T/op.toml"
OP_NS=$P-client OP_CONFIG=$T/op.toml
start_master() { master_start "$P-m" "$T/master.toml" "$T/master.log"; }
start_master || { echo "mcp-master did not start"; exit 1; }

declare -A ADIR
agent_up() { AGENT_DIR=${ADIR[$1]}; AGENT_NETNS="$P-$1" agent_start; }
proxy_conf() { # NODE: the node proxy on the workers and the edge
	case $1 in
	w1 | w2) printf '[proxy]\nenabled = true\nbind = ["%s"]\nzone = "svc.test"\nissuer_cert = "%s"\nissuer_key = "%s"\n' \
		"$(fleet_ip "$1")" "$T/i$1/agent-$1.crt" "$T/i$1/agent-$1.key" ;;
	e) printf '[proxy]\nenabled = true\nedge = true\nbind = ["%s"]\nzone = "svc.test"\npublic_port = 443\nallowed_domains = ["example.net"]\nresolvers = ["%s:53"]\nissuer_cert = "%s"\nissuer_key = "%s"\n' \
		"$EIP" "$DIP" "$T/ie/agent-e.crt" "$T/ie/agent-e.key" ;;
	esac
}
for n in m w1 w2 e; do
	master_agent_env "$T/$n" "$n" "$(fleet_ip $n)" "$T/ca" "$MIP:9555" "$(proxy_conf "$n")" || exit 1
	ADIR[$n]=$AGENT_DIR
	DIRS+=("$AGENT_DIR")
	penv_podman pull --tls-verify=false "$REGISTRY/hello:v1.0.0" >/dev/null 2>&1 || exit 1
	agent_up "$n" || exit 1
done
nodes_json() { op --json node list; }
all_healthy() {
	[ "$(json_get "$(nodes_json)" "sum(1 for n in j if n['health'] == 'healthy')")" = 4 ]
}
check "four nodes register and are healthy" wait_for 30 all_healthy

svc() { # NAME [EXTRA TOP-LEVEL LINES]: a definition in the services dir
	{
		echo "name = \"$1\""
		[ -n "${2:-}" ] && printf '%s\n' "$2"
		echo
		echo "[[components]]"
		echo "name = \"$1\""
		echo "image = \"$REGISTRY/hello:v1.0.0\""
		echo "env = [\"HELLO_NAME=$1\"]"
	} >"$T/svcs/$1.toml"
	echo "$T/svcs/$1.toml"
}
placed() { json_get "$(nodes_json)" "([n['node'] for n in j if '$1' in n['services']] + [''])[0]"; }
other() { [ "$1" = w1 ] && echo w2 || echo w1; }
srv() { echo "${ADIR[$1]}/srv/$2"; }	# NODE SERVICE: its data dir on that host
counter_set() { # NODE SERVICE VALUE
	mkdir -p "$(srv "$1" "$2")" &&
		sqlite3 "$(srv "$1" "$2")/counter.db" \
			"CREATE TABLE IF NOT EXISTS c (n INTEGER); DELETE FROM c; INSERT INTO c VALUES ($3);"
}
counter_get() { sqlite3 "$(srv "$1" "$2")/counter.db" "SELECT n FROM c" 2>/dev/null; }
node_has() { # NODE CONTAINER: running in that node's podman store
	PODMAN_ENV_DIR=${ADIR[$1]}/podman penv_podman ps --format '{{.Names}}' | grep -qx "$2"
}
snap_rows() { json_get "$(op --json snapshot list "$1")" "len(j)"; }
snap_files() { find "$SNAPS/$1" -maxdepth 1 -name '*.tar.zst' 2>/dev/null | wc -l; }

# ---- snapshot + list
# d1 keeps its counter (examples/hello: /incr, /count) in /srv/d1, which
# each agent mounts from its own srv_root: one definition, any node
svc d1 >/dev/null
printf '%s\n' 'volumes = ["/srv/d1:/srv/d1"]' '' '[[components.routes]]' \
	'name = "http"' 'port = 8080' >>"$T/svcs/d1.toml"
check "deploy d1 (volume /srv/d1, an http route)" op deploy "$T/svcs/d1.toml"
W=$(placed d1) O=$(other "$W")
counter_set "$W" d1 41 || exit 1
echo 'greeting = "hi"' >"$(srv "$W" d1)/app.toml"
head -c 4096 /dev/urandom >"$(srv "$W" d1)/cache.bin"
OUT=$(op --json snapshot d1)
check "mcp snapshot d1 answers with a path under the snapshots dir" \
	[ "$(json_get "$OUT" "j['path'].startswith('$SNAPS/d1/') and j['path'].endswith('.tar.zst') and j['node'] == '$W'")" = True ]
SP=$(json_get "$OUT" "j['path']")
check "the file's SHA-256 is the recorded one" \
	[ "$(sha256sum <"$SP" | cut -d' ' -f1)" = "$(json_get "$OUT" "j['sha256']")" ]
check "its size is the recorded one" [ "$(stat -c %s "$SP")" = "$(json_get "$OUT" "j['size']")" ]
LIST=$(op --json snapshot list d1)
check "snapshot list d1 shows it" \
	[ "$(json_get "$LIST" "[(s['path'], s['sha256']) for s in j]")" = "[('$SP', '$(json_get "$OUT" "j['sha256']")')]" ]
check "the archive is a tar.zst holding counter.db and app.toml (default method)" \
	sh -c "zstd -dc '$SP' | tar -t | grep -q 'counter.db' && zstd -dc '$SP' | tar -t | grep -q 'app.toml'"
mkdir -p "$T/x1" && zstd -dc "$SP" | tar -x -C "$T/x1" 2>/dev/null
check "the restored counter database is consistent and holds 41" \
	sh -c "f=\$(find '$T/x1' -name counter.db | head -1); [ \"\$(sqlite3 \"\$f\" 'PRAGMA integrity_check')\" = ok ] && [ \"\$(sqlite3 \"\$f\" 'SELECT n FROM c')\" = 41 ]"
check "snapshot list (all) includes d1" \
	[ "$(json_get "$(op --json snapshot list)" "sum(1 for s in j if s['service'] == 'd1')")" = 1 ]
expect_fail "a snapshot of a service that is not placed is refused" \
	"snapshot nosuch: the master has no placement" op snapshot nosuch

# ---- retention keeps exactly 3 (files and rows)
for i in 1 2 3 4; do op snapshot d1 >/dev/null || echo "snapshot $i failed"; done
check "after 5 snapshots with retain = 3: exactly 3 rows" [ "$(snap_rows d1)" = 3 ]
check "... and exactly 3 files" [ "$(snap_files d1)" = 3 ]
check "the oldest one's file is gone" [ ! -e "$SP" ]
check "rows and files name the same snapshots" \
	[ "$(json_get "$(op --json snapshot list d1)" "sorted(s['path'] for s in j)")" = \
	  "$(python3 -c 'import sys,glob; print(sorted(glob.glob(sys.argv[1])))' "$SNAPS/d1/*.tar.zst")" ]

# ---- a master killed -9 mid-snapshot leaves no complete-looking file
check "deploy big (method full: a large file to export)" \
	op deploy "$(svc big '[snapshot]
method = "full"')"
WB=$(placed big)
mkdir -p "$(srv "$WB" big)" && head -c 400M /dev/urandom >"$(srv "$WB" big)/blob" || exit 1
op snapshot big >/dev/null 2>&1 &
OPPID=$!
partial() { ls -a "$SNAPS/big/" 2>/dev/null | grep -q '\.partial$'; }
if wait_for 60 partial; then
	kill -9 "$MASTER_PID"
	wait "$MASTER_PID" 2>/dev/null
	MASTER_PID=
	check "killed mid-snapshot: no big/*.tar.zst exists" [ "$(snap_files big)" = 0 ]
	check "only the hidden temporary file is there" partial
else
	check "the snapshot of big was seen in progress (a .partial file)" false
	kill -9 "$MASTER_PID"; wait "$MASTER_PID" 2>/dev/null; MASTER_PID=
fi
wait "$OPPID" 2>/dev/null
start_master || { echo "mcp-master did not restart"; exit 1; }
check "after a restart the temporary file is gone" eval '! partial'
check "... and big has no snapshot row" [ "$(snap_rows big)" = 0 ]
check "the master logged the removal" grep -q "removed .*big/.*partial (an interrupted snapshot)" "$T/master.log"
rm -f "$(srv "$WB" big)/blob"
check "wait for the nodes after the restart" wait_for 30 all_healthy

# ---- migrate: refusals leave everything as it was
check "deploy core (tier core)" op deploy "$(svc core 'tier = "core"')"
expect_fail "migrate of a core service is refused" "a core service stays on the master's node" \
	op migrate core --to w1
expect_fail "migrate to the node it is on is refused" "already on node $W" op migrate d1 --to "$W"
expect_fail "migrate to an unknown node is refused" "node nosuch is not known" op migrate d1 --to nosuch
check "deploy d2" op deploy "$(svc d2)"
W2=$(placed d2) O2=$(other "$W2")
counter_set "$W2" d2 5 || exit 1
counter_set "$O2" d2 999 || exit 1	# the target already has data for d2
started_at() { # NODE CONTAINER
	PODMAN_ENV_DIR=${ADIR[$1]}/podman penv_podman inspect --format '{{.State.StartedAt}}' "$2" 2>/dev/null
}
ST0=$(started_at "$W2" d2)
expect_fail "migrate d2 onto a target with data is refused up front, naming the node and path" \
	"migrate d2: node $O2 already has data in .*/srv/d2 .*nothing changed \\(--force replaces it\\)" \
	op migrate d2 --to "$O2"
check "... the source was never stopped (d2's container on $W2 has the same StartedAt)" \
	sh -c '[ -n "$1" ] && [ "$1" = "$2" ]' _ "$ST0" "$(started_at "$W2" d2)"
check "... d2 runs on $W2, still placed there, and no migrate snapshot was taken" \
	sh -c "[ \"\$1\" = '$W2' ] && [ \"\$2\" = 0 ]" _ "$(placed d2)" "$(snap_rows d2)"
check "d2's container runs on $W2" node_has "$W2" d2
check "the target's own data was not touched" [ "$(counter_get "$O2" d2)" = 999 ]
check "migrate d2 --force replaces the target's data" op migrate d2 --to "$O2" --force
check "d2's counter on $O2 is the source's 5" [ "$(counter_get "$O2" d2)" = 5 ]

# ---- migrate with a live source
check "kdig answers d1 with $W's address before" [ "$(dig_a d1)" = "$(fleet_ip "$W")" ]
# the service's own counter, through HTTP on the node it runs on
hport() { json_get "$(op --json status "$1")" "[r['host_port'] for r in j[0]['components'][0]['routes'] if r['name'] == 'http'][0]"; }
hget() { fleet_exec "$1" curl -fsS -m 5 "http://127.0.0.1:$(hport "$2")$3"; }
check "d1 answers on $W" wait_for 30 hget "$W" d1 /health
for _ in 1 2 3 4 5; do hget "$W" d1 /incr >/dev/null || echo "incr on $W failed"; done
N1=$(hget "$W" d1 /count)
check "d1's counter on $W counts the five increments ($N1)" [ "$N1" = "count 5" ]
OUT=$(op --json migrate d1 --to "$O")
check "migrate d1 $W -> $O succeeds" [ "$(json_get "$OUT" "j['success']")" = True ]
[ "$(json_get "$OUT" "j['success']")" = True ] || printf '%s\n' "$OUT"
check "its steps, in order, all ok" \
	[ "$(json_get "$OUT" "[(s['step'], s['ok']) for s in j['services'][0]['steps']]")" = \
	  "[('stop', True), ('export', True), ('import', True), ('deploy', True), ('dns', True), ('edge', True), ('undeploy', True), ('record', True)]" ]
check "d1 answers on $O" wait_for 30 hget "$O" d1 /health
check "d1's /count on $O is the source's ($N1)" [ "$(hget "$O" d1 /count)" = "$N1" ]
check "... and it keeps counting there" [ "$(hget "$O" d1 /incr)" = "count 6" ]
check "d1 is placed on $O" [ "$(placed d1)" = "$O" ]
check "d1 runs on $O" node_has "$O" d1
check "$W has no d1 container" eval "! node_has $W d1"
check "$W's /srv/d1 is gone" [ ! -e "$(srv "$W" d1)" ]
# it was renamed away in one step and its files are unlinked afterwards
no_trash() { ! ls -A "$(dirname "$(srv "$W" d1)")" | grep -q '^\.d1\.removed-'; }
check "$W's renamed-away copy of /srv/d1 is removed afterwards" wait_for 60 no_trash
check "$W's agent logged the background removal" \
	grep -q "srv/\.d1\.removed-.* removed$" "${ADIR[$W]}/agent.log"
check "kdig answers d1 with $O's address after" [ "$(dig_a d1)" = "$(fleet_ip "$O")" ]
# the data went only after the target ran it: the target's agent logged
# the deploy before the source's agent logged the removal
t_of() { grep -m1 "$2" "${ADIR[$1]}/agent.log" | cut -c1-24; }
check "the source's data was removed after the target had deployed d1" \
	sh -c "a=\$1; b=\$2; [ -n \"\$a\" ] && [ -n \"\$b\" ] && [ \"\$a\" \\< \"\$b\" -o \"\$a\" = \"\$b\" ]" _ \
	"$(t_of "$O" 'deployed d1 from migrate from')" "$(t_of "$W" 'RemoveServiceData d1')"
check "a migrate snapshot was recorded" \
	[ "$(json_get "$(op --json snapshot list d1)" "j[0]['node']")" = "$W" ]

# ---- a public service: its edge route follows it
PUB='[[components.routes]]
name = "https"
port = 8443
mode = "l7"
hostname = "www.example.net"
public = true'
svc pub >/dev/null
printf '%s\n' "$PUB" >>"$T/svcs/pub.toml"
check "deploy pub (public www.example.net)" op deploy "$T/svcs/pub.toml"
WP=$(placed pub) OP=$(other "$WP")
public_ok() {
	fleet_exec client curl -fsS -m 5 --cacert "$T/ca/ca.crt" \
		--resolve "www.example.net:443:$EIP" https://www.example.net/ | grep -q 'hello from pub'
}
check "the public name answers through edge -> $WP" wait_for 60 public_ok
OUT=$(op --json migrate pub --to "$OP")
check "migrate pub $WP -> $OP succeeds with an ok edge step" \
	[ "$(json_get "$OUT" "(j['success'], [s['ok'] for s in j['services'][0]['steps'] if s['step'] == 'edge'][0])")" = "(True, True)" ]
[ "$(json_get "$OUT" "j['success']")" = True ] || printf '%s\n' "$OUT"
check "$WP no longer runs pub" eval "! node_has $WP pub"
check "kdig follows pub to $OP" [ "$(dig_a pub)" = "$(fleet_ip "$OP")" ]
check "the public name answers again, now through edge -> $OP" wait_for 60 public_ok
check "edge list still shows www.example.net on e -> pub.svc.test:8443" \
	sh -c 'printf "%s" "$1" | grep -qE "^www.example.net +pub +e +pub.svc.test:8443"' _ "$(op edge list)"

# ---- an edge node unreachable during a migrate: rolled back like the
# steps before it (DNS back, the target's copy and data gone, the source
# started again)
AGENT_DIR=${ADIR[e]}
agent_stop
edge_down() { [ "$(json_get "$(nodes_json)" "[n['health'] for n in j if n['node'] == 'e'][0]")" != healthy ]; }
check "the edge node e is down" wait_for 20 edge_down
OUT=$(op --json migrate pub --to "$WP" 2>/dev/null)
check "migrate pub $OP -> $WP fails at the edge step" \
	[ "$(json_get "$OUT" "(j['success'], [s['step'] for s in j['services'][0]['steps'] if not s['ok']][0])")" = "(False, 'edge')" ]
check "... names the missing edge node" \
	sh -c 'printf "%s" "$1" | grep -q "no healthy edge node"' _ "$(json_get "$OUT" "[s['error'] for s in j['services'][0]['steps'] if s['step'] == 'edge'][0]")"
check "... and its rollback succeeded" \
	[ "$(json_get "$OUT" "[s['ok'] for s in j['services'][0]['steps'] if s['step'] == 'rollback'][0]")" = True ]
[ "$(json_get "$OUT" "[s['ok'] for s in j['services'][0]['steps'] if s['step'] == 'rollback'][0]")" = True ] || printf '%s\n' "$OUT"
check "pub is still placed on $OP" [ "$(placed pub)" = "$OP" ]
check "pub runs on $OP again" wait_for 30 node_has "$OP" pub
check "$WP has no pub container" eval "! node_has $WP pub"
check "the data imported on $WP was removed (a retry finds it empty)" [ ! -e "$(srv "$WP" pub)" ]
check "kdig answers pub with $OP's address again" [ "$(dig_a pub)" = "$(fleet_ip "$OP")" ]
agent_up e || exit 1
check "e is back" wait_for 30 all_healthy
check "the public name answers through edge -> $OP" wait_for 60 public_ok

# ---- migrate with the source's agent killed: the newest snapshot
check "deploy d3" op deploy "$(svc d3)"
W3=$(placed d3) O3=$(other "$W3")
counter_set "$W3" d3 7 || exit 1
check "snapshot d3 (counter 7)" op snapshot d3
counter_set "$W3" d3 8 || exit 1	# after the snapshot: lost with the node
AGENT_DIR=${ADIR[$W3]}
kill -9 "$(cat "$AGENT_DIR/agent.pid")"
rm -f "$AGENT_DIR/agent.pid"
unhealthy() { [ "$(json_get "$(nodes_json)" "[n['health'] for n in j if n['node'] == '$W3'][0]")" = unhealthy ]; }
check "$W3 turns unhealthy" wait_for 20 unhealthy
OUT=$(op --json migrate d3 --to "$O3")
check "migrate d3 from the dead $W3 succeeds" [ "$(json_get "$OUT" "j['success']")" = True ]
[ "$(json_get "$OUT" "j['success']")" = True ] || printf '%s\n' "$OUT"
check "it restored the newest snapshot and skipped the source steps" \
	[ "$(json_get "$OUT" "[s['step'] for s in j['services'][0]['steps']][:2]")" = "['stop', 'restore']" -a \
	  "$(json_get "$OUT" "'skipped' in j['services'][0]['steps'][0]['error']")" = True ]
check "the counter on $O3 is the snapshot's 7" [ "$(counter_get "$O3" d3)" = 7 ]
check "d3 runs on $O3" node_has "$O3" d3
check "kdig follows d3 to $O3" [ "$(dig_a d3)" = "$(fleet_ip "$O3")" ]
check "d3 is placed on $O3" [ "$(placed d3)" = "$O3" ]
agent_up "$W3" || exit 1
check "$W3 is back" wait_for 30 all_healthy
# the copy left on the dead node comes back as an orphan that says why
orphan_json() { json_get "$(op --json status d3 2>/dev/null)" "[s['error'] for s in j if s['node'] == '$W3' and s['state'] == 'orphan'] or ['']"; }
orphan_named() { orphan_json | grep -q "orphan: migrated to $O3 while $W3 was down.*mcp undeploy --direct -n $W3 d3"; }
check "status names d3's copy on $W3 as left by the migrate, with the command to remove it" \
	wait_for 30 orphan_named
check "... and the human status prints it" \
	sh -c 'printf "%s" "$1" | grep -q "^d3 on $2: orphan: migrated to $3 while $2 was down"' _ \
	"$(op status d3 2>/dev/null)" "$W3" "$O3"
# once that copy is gone the master forgets it: a later --direct deploy
# there is an ordinary orphan, not the migrate's
check "undeploy --direct -n $W3 d3 removes the copy" op undeploy --direct -n "$W3" d3
none_on_w3() { [ "$(json_get "$(op --json status d3 2>/dev/null)" "[s['state'] for s in j if s['node'] == '$W3']")" = "[]" ]; }
check "status no longer lists d3 on $W3" wait_for 30 none_on_w3
check "the master dropped the leftover row" \
	grep -q "status: 1 copy(ies) a migrate left on $W3 are gone" "$T/master.log"
check "deploy d3 --direct on $W3 again" op deploy --direct -n "$W3" "$T/svcs/d3.toml"
plain_orphan() { orphan_json | grep -q "running without a placement"; }
check "status calls it an orphan deployed without the master, not the migrate's" \
	wait_for 30 plain_orphan
check "... and does not say it was migrated" eval '! orphan_json | grep -q "migrated to"'
check "undeploy --direct -n $W3 d3 again" op undeploy --direct -n "$W3" d3

# ---- status flags an overdue snapshot; the schedule takes them by itself
master_stop
master_conf 2s
start_master || exit 1
check "wait for the nodes" wait_for 30 all_healthy
scheduled() { [ "$(snap_rows d2)" -ge 2 ]; }
check "the schedule snapshots d2 by itself" wait_for 30 scheduled
sleep 6
check "retention holds for scheduled snapshots too (at most 3 rows and files)" \
	[ "$(snap_rows d2)" -le 3 -a "$(snap_files d2)" -le 3 -a "$(snap_rows d2)" = "$(snap_files d2)" ]
master_stop
# a service whose node is down is not snapshotted: overdue after 2 x 2 s
start_master || exit 1
check "wait for the nodes" wait_for 30 all_healthy
WD1=$(placed d1)
AGENT_DIR=${ADIR[$WD1]}
agent_stop
overdue() { json_get "$(op --json status d1 2>/dev/null)" "'more than 2 x [snapshots] interval' in j[0]['snapshot_warning']" | grep -q True; }
check "status flags d1 overdue once its node cannot be snapshotted" wait_for 30 overdue
check "the human status says OVERDUE" sh -c 'printf "%s" "$1" | grep -q "snapshot OVERDUE"' _ "$(op status d1 2>/dev/null)"
sleep 3	# a few more 1 s rounds with the node still down
check "the schedule warned about $WD1 once for the whole outage, with a count" \
	[ "$(grep -c "snapshot schedule: node $WD1 is [a-z]*: [0-9]* due snapshots\? skipped" "$T/master.log")" = 1 ]
check "... and not once per service and round" \
	[ "$(grep -c "snapshot schedule: d1: node $WD1 is" "$T/master.log")" = 0 ]
agent_up "$WD1" || exit 1
back() { grep -q "snapshot schedule: node $WD1 is back: [0-9]* due snapshots\? \(was\|were\) skipped" "$T/master.log"; }
check "once $WD1 recovers the schedule says so, with the total skipped" wait_for 30 back
master_stop
master_conf 1h
start_master || exit 1
check "wait for the nodes" wait_for 30 all_healthy

# ---- sync
# the directory: d1 and core unchanged, d2 changed, new s1; big and d3
# are placed but their files are removed -> undeployed
rm -f "$T/svcs/big.toml" "$T/svcs/d3.toml"
sed -i 's/HELLO_NAME=d2/HELLO_NAME=d2-v2/' "$T/svcs/d2.toml"
svc s1 >/dev/null
PLAN=$(op sync --dry-run --json)
PLANSET="[('big', 'undeploy'), ('d3', 'undeploy'), ('d2', 'redeploy'), ('s1', 'deploy'), ('core', 'unchanged'), ('d1', 'unchanged'), ('pub', 'unchanged')]"
check "sync --dry-run plans exactly that" \
	[ "$(json_get "$PLAN" "[(a['service'], a['action']) for a in j['actions']]")" = "$PLANSET" ]
check "the dry run changed nothing" \
	[ "$(placed s1)" = "" -a "$(placed big)" != "" -a "$(placed d3)" != "" ]
REAL=$(op sync --json)
check "a real sync succeeds" [ "$(json_get "$REAL" "j['success']")" = True ]
check "and did exactly the dry run's plan" \
	[ "$(json_get "$REAL" "[(a['service'], a['action']) for a in j['actions'] if a['action'] == 'unchanged' or a['result'] is not None]")" = "$PLANSET" ]
check "s1 is placed, big and d3 are not" \
	[ "$(placed s1)" != "" -a "$(placed big)" = "" -a "$(placed d3)" = "" ]
check "d2 runs the new definition" \
	[ "$(json_get "$(op --json status d2)" "j[0]['state']")" = ok ]
AGAIN=$(op sync --dry-run --json)
check "a second dry run finds everything unchanged" \
	[ "$(json_get "$AGAIN" "sorted(set(a['action'] for a in j['actions']))")" = "['unchanged']" ]

# a bad definition aborts the sync, with nothing changed
BEFORE=$(json_get "$(nodes_json)" "sorted((n['node'], tuple(n['services'])) for n in j)")
svc s2 >/dev/null
printf 'name = "bad"\nfrobnicate = 1\n' >"$T/svcs/bad.toml"
expect_fail "sync with a bad definition fails naming the file and the key" \
	"bad.toml.*frobnicate" op sync
# the master checks too: the same through a plain gRPC client
PY=/usr/bin/python3
REQ=$("$PY" -c 'import json,sys; print(json.dumps({"definitions": [{"source": "s2.toml", "definition": open(sys.argv[1]).read()}, {"source": "bad.toml", "definition": open(sys.argv[2]).read()}]}))' "$T/svcs/s2.toml" "$T/svcs/bad.toml")
expect_fail "the master itself refuses the whole sync" "sync aborted, nothing changed.*bad.toml" \
	fleet_exec client "$PY" tests/interop/agent_client.py --proto proto/master.proto \
	--address "$MIP:9555" --ca "$T/ca/ca.crt" --cert "$T/ca/operator.crt" \
	--key "$T/ca/operator.key" --method Sync --request "$REQ" --timeout 60
AFTER=$(json_get "$(nodes_json)" "sorted((n['node'], tuple(n['services'])) for n in j)")
check "nothing changed (s2 not deployed, nothing undeployed)" [ "$BEFORE" = "$AFTER" ]

# ---- migrate --all: one at a time, core services skipped
rm -f "$T/svcs/bad.toml" "$T/svcs/s2.toml"
ON_W2=$(json_get "$(nodes_json)" "sorted([n['services'] for n in j if n['node'] == 'w2'][0])")
ALL=$(op --json migrate --all --from w2 --to w1)
check "migrate --all --from w2 --to w1 moves $ON_W2, one result each" \
	[ "$(json_get "$ALL" "(j['success'], sorted(r['service'] for r in j['services']))")" = "(True, $ON_W2)" ]
check "w2 has no placement left, w1 has them" \
	[ "$(json_get "$(nodes_json)" "[len(n['services']) for n in j if n['node'] == 'w2'][0]")" = 0 ]
ALL=$(op --json migrate --all --from m --to w1)
check "migrate --all --from m skips the core service and moves nothing" \
	[ "$(json_get "$ALL" "(j['success'], j['skipped'], len(j['services']))")" = "(True, ['core'], 0)" ]
check "core is still on m" [ "$(placed core)" = m ]

master_stop
san_clean() { ! grep -l "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" \
	"$T/master.log" "${DIRS[@]/%//agent.log}"; }
check "no sanitizer report in the master's or the agents' logs" san_clean

t_done
