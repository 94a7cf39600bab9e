#!/bin/bash
# State never lies (issue 7): what ps/status report as running comes from
# the instance itself and is compared with the desired state.
#   - crash injection (MCP_FAULT): the agent killed after recording a
#     redeploy, after removing the old instance, after running the new one;
#     a restarted agent reports the truth (old version running + drift,
#     missing + drift, foreign + drift) and a redeploy converges
#   - legitimate paths keep the identity: podman restart, mcp restart,
#     agent restart
#   - an impostor container (same name, MCP labels and spec hash copied,
#     another image) is drift and a redeploy replaces it
#   - recover re-creates what the podman store lost (reporting each line,
#     non-zero exit when one fails) and the services answer
#   - instances the registry does not track (registry missing, empty, or
#     missing a service): start-up refused naming them; restore or
#     remove-untracked proceed
#   - a damaged registry is refused at start-up; a read error while running
#     makes ps fail naming the database
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh

T=$(mktemp -d /tmp/mcp-it-truth.XXXXXX)
LISTENER=
cleanup() {
	[ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT

hello_registry "$T" v1.0.0 v2.0.0 || exit 1
podman_env_cleanup "$T/img/podman"
agent_env_init "$T/agent" "$REGISTRY" || exit 1
agent_start || exit 1
D=$T/defs
mkdir -p "$D" "$AGENT_DIR/srv/hello" "$AGENT_DIR/srv/svc-b"
DB=$AGENT_DIR/state/registry.db

hello_def hello v1.0.0 >"$D/v1.toml"
hello_def hello v2.0.0 >"$D/v2.toml"
hello_def svc-b v1.0.0 >"$D/b.toml"

comp() { # SERVICE EXPR-on-component-c
	json_get "$(mcp --json status "$1")" "(lambda c: $2)(j['components'][0])"
}
truth() { comp "$1" 'c["observed"]+"/"+c["observed_version"]+"/"+str(c["drift"])'; }
reason() { comp "$1" 'c["drift_reason"]'; }
cid() { penv_podman inspect --format '{{.Id}}' "$1" 2>/dev/null; }
answers() { # PORT VERSION
	curl -fsS -m 2 "http://127.0.0.1:$1/" 2>/dev/null | grep -q "$2"
}
# deploy with the agent set to die at STEP; the agent must exit 99
crash_deploy() { # STEP FILE
	agent_stop
	MCP_FAULT=$1 agent_start || return 1
	mcp deploy "$2" >/dev/null 2>&1
	# the deploy may fail before the step (then the agent lives on): bounded
	if ! wait_for 30 sh -c "! kill -0 $AGENT_PID 2>/dev/null"; then
		echo "the agent did not stop at $1"
		agent_stop
		return 1
	fi
	wait "$AGENT_PID"
	local rc=$?
	rm -f "$AGENT_DIR/agent.pid"
	[ "$rc" = 99 ] || { echo "agent exit status $rc, wanted 99 (MCP_FAULT=$1)"; return 1; }
}

# --- first deploy records the identity; no drift
check "deploy v1" mcp deploy "$D/v1.toml"
PORT=$(comp hello 'c["routes"][0]["host_port"]')
check "v1 answers" wait_for 10 answers "$PORT" v1.0.0
check "running v1, no drift" test "$(truth hello)" = "running/v1.0.0/False"
check "identity recorded at the first deploy" test "$(sqlite3 "$DB" "select instance_id from components where service='hello'")" = "$(cid hello)"

# --- crash after the registry row is written, before the old instance goes
check "agent dies at deploy-after-record (v2)" crash_deploy deploy-after-record "$D/v2.toml"
check "agent restarts" agent_start
check "the registry says v2" test "$(sqlite3 "$DB" "select image from components where service='hello'")" = "$REGISTRY/hello:v2.0.0"
check "ps: the old version running, drift" test "$(truth hello)" = "running/v1.0.0/True"
r=$(reason hello); echo "    reason: $r"
check "drift reason: running v1 (spec ...), desired v2" grep -qE "^running v1\.0\.0 \(spec [0-9a-f]{12}\), desired v2\.0\.0 \(spec [0-9a-f]{12}\)$" <<<"$r"
ps_out=$(mcp ps --wide); echo "$ps_out"
check "ps row: running! v1.0.0 with the reason" grep -qE "^hello +hello +local +container +running! +v1\.0\.0 .*desired v2\.0\.0" <<<"$ps_out"
check "still v1 answering" answers "$PORT" v1.0.0
check "status says it too" grep -q "drift: running v1.0.0 (spec [0-9a-f]*), desired v2.0.0" <<<"$(mcp status hello)"
drift_event() { test "$(json_get "$(mcp --json status hello)" 'any(e["kind"]=="drift" and "desired v2.0.0" in e["detail"] for e in j["events"])')" = True; }
check "the monitor recorded the drift with its reason" wait_for 10 drift_event
out=$(mcp deploy "$D/v2.toml"); echo "$out"
check "redeploy replaces it (not 'unchanged')" grep -q "hello: replaced" <<<"$out"
check "converged: running v2, no drift" test "$(truth hello)" = "running/v2.0.0/False"
check "v2 answers" wait_for 10 answers "$PORT" v2.0.0

# --- crash after the old instance was removed, before the new one runs
check "agent dies at deploy-after-remove (v1)" crash_deploy deploy-after-remove "$D/v1.toml"
check "agent restarts" agent_start
check "ps: missing, drift" test "$(truth hello)" = "missing//True"
check "drift reason: missing, desired running v1" test "$(reason hello)" = "missing, desired running v1.0.0"
check "ps row: missing! -" grep -qE "^hello +hello +local +container +missing! +- " <<<"$(mcp ps)"
check "redeploy" mcp deploy "$D/v1.toml"
check "converged: running v1, no drift" test "$(truth hello)" = "running/v1.0.0/False"
check "v1 answers" wait_for 10 answers "$PORT" v1.0.0

# --- crash after the new instance runs, before its identity is recorded
check "agent dies at deploy-after-run (v2)" crash_deploy deploy-after-run "$D/v2.toml"
check "agent restarts" agent_start
r=$(reason hello); echo "    reason: $r"
check "an unrecorded instance is not taken for the agent's own" grep -q "^foreign instance [0-9a-f]\{12\}, not the one this agent created" <<<"$r"
check "redeploy" mcp deploy "$D/v2.toml"
check "converged: running v2, no drift" test "$(truth hello)" = "running/v2.0.0/False"

# --- legitimate paths keep the identity and show no drift
ID=$(cid hello)
penv_podman restart -t 0 hello >/dev/null
check "podman restart: same container" test "$(cid hello)" = "$ID"
check "podman restart: running v2, no drift" wait_for 10 test "$(truth hello)" = "running/v2.0.0/False"
check "mcp restart" mcp restart hello
check "mcp restart: a new container" test "$(cid hello)" != "$ID"
check "mcp restart: no drift" test "$(truth hello)" = "running/v2.0.0/False"
agent_stop && agent_start
check "agent restart: no drift" test "$(truth hello)" = "running/v2.0.0/False"
out=$(mcp deploy "$D/v2.toml")
check "same definition again: unchanged" grep -q "hello: unchanged" <<<"$out"

# --- an impostor: same name, labels and spec hash copied, another image
LABELS=$(penv_podman inspect --format '{{range $k, $v := .Config.Labels}}--label={{$k}}={{$v}} {{end}}' hello)
echo "    impostor labels: $LABELS"
penv_podman rm -f -t 0 hello >/dev/null
# shellcheck disable=SC2086
penv_podman run -d --init --name hello --pull=never $LABELS "$REGISTRY/hello:v1.0.0" >/dev/null
IMP=$(cid hello)
check "ps: impostor is drift" test "$(truth hello)" = "running/v1.0.0/True"
r=$(reason hello); echo "    reason: $r"
check "drift reason names the foreign instance" grep -q "^foreign instance ${IMP:0:12}, not the one this agent created" <<<"$r"
out=$(mcp deploy "$D/v2.toml"); echo "$out"
check "redeploy replaces the impostor" grep -q "hello: replaced" <<<"$out"
check "the impostor is gone" test "$(cid hello)" != "$IMP"
check "ps then shows the real one" test "$(truth hello)" = "running/v2.0.0/False"
check "v2 answers again" wait_for 10 answers "$PORT" v2.0.0

# --- recover: the podman store lost its containers
check "deploy svc-b" mcp deploy "$D/b.toml"
PB=$(comp svc-b 'c["routes"][0]["host_port"]')
agent_stop
penv_podman rm -f -t 0 hello svc-b >/dev/null
penv_podman rmi -f "$REGISTRY/hello:v2.0.0" >/dev/null
# svc-b's host port is taken by someone else: its recovery must fail
# (a transient connection may hold the port for a moment: retry until ours listens)
listen_on() {
	local _
	for _ in $(seq 1 20); do
		/usr/bin/python3 -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(600)' "$1" 2>/dev/null &
		LISTENER=$!
		sleep 0.5
		kill -0 "$LISTENER" 2>/dev/null && return 0
		LISTENER=
	done
	return 1
}
check "svc-b's port is taken by another listener ($PB)" listen_on "$PB"
out=$(agent_cmd recover 2>&1); rc=$?; echo "$out"
check "recover exits non-zero when one instance fails" test "$rc" = 1
check "recover: hello recreated (image pulled again)" grep -q "^hello (container hello/hello): recreated$" <<<"$out"
check "recover: svc-b failed, saying why" grep -q "^svc-b (container svc-b/svc-b): failed: .*$PB.*already in use" <<<"$out"
[ -n "$LISTENER" ] && { kill "$LISTENER"; wait "$LISTENER" 2>/dev/null; }; LISTENER=
out=$(agent_cmd recover 2>&1); rc=$?; echo "$out"
check "recover again exits 0" test "$rc" = 0
check "recover: hello already running" grep -q "^hello (container hello/hello): already running$" <<<"$out"
check "recover: svc-b recreated" grep -q "^svc-b (container svc-b/svc-b): recreated$" <<<"$out"
check "agent starts after recover" agent_start
check "hello answers after recover" wait_for 10 answers "$PORT" v2.0.0
check "svc-b answers after recover" wait_for 10 answers "$PB" "svc-b version v1.0.0"
check "no drift after recover" test "$(truth hello) $(truth svc-b)" = "running/v2.0.0/False running/v1.0.0/False"
refused() { # PATTERN...: the agent did not start, and what it logged says each PATTERN
	local p from new
	from=$(wc -l <"$AGENT_DIR/agent.log")
	if agent_start 2>/dev/null; then echo "agent started"; return 1; fi
	rm -f "$AGENT_DIR/agent.pid"
	new=$(tail -n +"$((from + 1))" "$AGENT_DIR/agent.log")
	for p in "$@"; do
		grep -q -- "$p" <<<"$new" || { echo "log lacks /$p/: $new"; return 1; }
	done
	grep -m1 "refusing\|damaged" <<<"$new" | sed 's/^/    /'
}
expect_fail "recover while the agent runs is refused" "another mcp-agent is using state directory" agent_cmd recover

# --- instances the registry does not track
agent_stop
cp "$DB" "$T/registry.backup"
rm -f "$DB" "$DB-wal" "$DB-shm"
mkdir -p "$AGENT_DIR/state/vms/hello-db"
printf '{"version":1,"name":"hello-db","service":"hello","component":"db","image":"%s/hello:v1.0.0","instance_id":"planted"}\n' \
	"$REGISTRY" >"$AGENT_DIR/state/vms/hello-db/spec.json"
check "missing registry with instances: start refused, naming them" \
	refused "registry $DB did not exist (created empty)" "3 MCP instances exist" "container hello" "container svc-b" "vm hello-db" "remove-untracked"
check "empty registry with instances: start refused" \
	refused "registry $DB has no services" "container hello"
check "ps cannot answer (agent not running)" sh -c "! mcp ps >/dev/null 2>&1"
rm -f "$DB" "$DB-wal" "$DB-shm"
cp "$T/registry.backup" "$DB"
check "restored registry, one planted VM dir: still refused, naming only it" \
	refused "registry $DB is missing services" "1 MCP instance exists" "vm hello-db"
out=$(agent_cmd remove-untracked 2>>"$T/cmd.err"); rc=$?; echo "$out"
check "remove-untracked removes the planted VM" test "$rc/$out" = "0/vm hello-db (service hello): removed"
check "its state dir is gone" test ! -e "$AGENT_DIR/state/vms/hello-db"
check "agent starts with the restored registry" agent_start
check "the containers were never touched: no drift" test "$(truth hello) $(truth svc-b)" = "running/v2.0.0/False running/v1.0.0/False"

# --- a damaged registry is refused at start-up
agent_stop
cp "$DB" "$T/registry.backup"
sqlite3 "$DB" "VACUUM"	# every page in use
SIZE=$(stat -c %s "$DB")
PAGES=$((SIZE / 4096))
check "registry spans pages ($PAGES)" test "$PAGES" -ge 4
dd if=/dev/urandom of="$DB" bs=4096 seek=$((PAGES / 2)) count=1 conv=notrunc status=none
check "same size after dd" test "$(stat -c %s "$DB")" = "$SIZE"
check "damaged registry: start refused naming it and SQLite's message" \
	refused "registry $DB is damaged (integrity check: .*)" "restore it from a backup"
rm -f "$DB" "$DB-wal" "$DB-shm"
cp "$T/registry.backup" "$DB"
check "agent starts with the good copy" agent_start

# --- a read error while running: ps fails naming the database
sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
cp "$DB" "$T/registry.backup"
PAGES=$(($(stat -c %s "$DB") / 4096))
# every page but the first (the schema): any read of a table fails
dd if=/dev/urandom of="$DB" bs=4096 seek=1 count=$((PAGES - 1)) conv=notrunc status=none
# a write by another connection: the agent no longer trusts its cached pages
sqlite3 "$DB" "PRAGMA user_version" >/dev/null
sqlite3 "$DB" "CREATE TABLE poke (x); DROP TABLE poke;" 2>/dev/null
expect_fail "ps on a damaged registry exits non-zero naming the database" "registry $DB: .*malformed" mcp ps
expect_fail "status too" "registry $DB: .*malformed" mcp status hello
agent_stop
rm -f "$DB" "$DB-wal" "$DB-shm"
cp "$T/registry.backup" "$DB"
check "agent starts with the good copy" agent_start

# --- remove-untracked after the registry was emptied: nothing left; deploy again
agent_stop
rm -f "$DB" "$DB-wal" "$DB-shm"
check "empty registry refused" refused "did not exist" "container hello" "container svc-b"
out=$(agent_cmd remove-untracked 2>>"$T/cmd.err"); rc=$?; echo "$out"
check "remove-untracked: both containers removed" test "$rc/$(sort <<<"$out" | tr '\n' ' ')" = "0/container hello (service hello): removed container svc-b (service svc-b): removed "
check "no managed containers left" test -z "$(penv_podman ps -aq --filter label=mcp.managed=true)"
check "agent starts" agent_start
check "ps is empty" test "$(mcp --json ps)" = "[]"
check "deploy again" mcp deploy "$D/v1.toml"
check "v1 answers" wait_for 10 answers "$(comp hello 'c["routes"][0]["host_port"]')" v1.0.0
check "agent log has no sanitizer reports" sh -c "! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$AGENT_DIR/agent.log'"
check "agent stops cleanly" agent_stop
t_done
