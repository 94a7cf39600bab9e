#!/bin/bash
# Agent + CLI + podman end to end (issue: the foundation): deploy from a
# real registry, HTTP through the published port, ps/status, drift after a
# kill behind the agent's back, stop/start/restart, agent restart with the
# container untouched, image change, bad input refused with state
# untouched, concurrent deploys, files confined to /srv/<service>, logs,
# undeploy leaving nothing behind.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh

T=$(mktemp -d /tmp/mcp-it-agent.XXXXXX)
cleanup() {
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT

hello_registry "$T" v1.0.0 v2.0.0 v3.0.0 || exit 1
# corrupt v3's config blob in the registry's storage: pulls must fail loudly
CFG=$(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
	"http://$REGISTRY/v2/hello/manifests/v3.0.0" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"].split(":")[1])')
BLOB="$T/registry/data/docker/registry/v2/blobs/sha256/${CFG:0:2}/$CFG/data"
[ -f "$BLOB" ] || { echo "cannot find config blob $CFG"; exit 1; }
# same length, other bytes: only the digest check can tell
/usr/bin/python3 -c 'import os,sys; p=sys.argv[1]; n=os.path.getsize(p); open(p,"wb").write(b"{" + b" " * (n - 2) + b"}")' "$BLOB"
podman_env_cleanup "$T/img/podman"

cat >"$T/alert.sh" <<EOF
#!/bin/sh
echo "\$MCP_ALERT_KIND \$MCP_ALERT_SERVICE/\$MCP_ALERT_COMPONENT \$MCP_ALERT_DETAIL" >>"$T/alerts.log"
EOF
chmod +x "$T/alert.sh"
AGENT_EXTRA_AGENT="alert_command = [\"$T/alert.sh\"]
flap_threshold = 1
flap_window = 600"
agent_env_init "$T/agent" "$REGISTRY" || exit 1
agent_start || exit 1
D=$T/defs
mkdir -p "$D"

mkdir -p "$AGENT_DIR/srv/hello" "$AGENT_DIR/srv/svc-a" "$AGENT_DIR/srv/svc-b"
hello_def hello v1.0.0 >"$D/hello.toml"

status_json() { mcp --json status "$1"; }
host_port() { json_get "$(status_json "$1")" 'j["components"][0]["routes"][0]["host_port"]'; }
observed() { json_get "$(status_json "$1")" 'j["components"][0]["observed"]'; }
drift() { json_get "$(status_json "$1")" 'j["components"][0]["drift"]'; }
cid() { penv_podman inspect --format '{{.Id}}' "$1" 2>/dev/null; }

# --- deploy and answer
out=$(mcp deploy "$D/hello.toml" 2>&1)
check "deploy hello" test $? = 0
echo "$out"
PORT=$(host_port hello)
check "host port allocated in 10000-60000 ($PORT)" test "$PORT" -ge 10000 -a "$PORT" -le 60000
check "HTTP answer through 127.0.0.1:$PORT" wait_for 10 http_get "http://127.0.0.1:$PORT/"
body=$(http_get "http://127.0.0.1:$PORT/")
check "answer names version v1.0.0 ($body)" grep -q "v1.0.0" <<<"$body"
check "\$PORT seen by the app is the route port" grep -q "listening on :8080" <<<"$(mcp logs hello -n 50)"

# --- ps / status
ps_out=$(mcp ps)
echo "$ps_out"
check "ps table has header" grep -q "SERVICE *COMPONENT *NODE *RUNTIME *STATE *VERSION *UPTIME" <<<"$ps_out"
check "ps row hello running v1.0.0" grep -qE "^hello +hello +local +container +running +v1.0.0" <<<"$ps_out"
psj=$(mcp --json ps)
check "ps --json fields" test "$(json_get "$psj" '[(c["service"],c["component"],c["node"],c["runtime"],c["desired"],c["observed"],c["version"]) for c in j]')" = "[('hello', 'hello', 'local', 'container', 'running', 'running', 'v1.0.0')]"
check "status: no drift" test "$(drift hello)" = False
ID1=$(cid hello)

# --- idempotent redeploy
out=$(mcp deploy "$D/hello.toml")
check "redeploy of the same definition leaves it alone" grep -q "unchanged" <<<"$out"
check "same container after redeploy" test "$(cid hello)" = "$ID1"

# --- kill behind the agent's back -> drift within the monitor interval
seen_running() { test "$(json_get "$(status_json hello)" 'any(e["kind"]=="observed" and e["to"]=="running" for e in j["events"])')" = True; }
check "monitor saw the container running" wait_for 5 seen_running
penv_podman kill hello >/dev/null
drift_is() { test "$(drift hello)" = "$1"; }	# re-evaluated on each try
check "drift reported after podman kill" wait_for 5 drift_is True
drift_event() { test "$(json_get "$(status_json hello)" 'len([e for e in j["events"] if e["kind"]=="drift"])>0')" = True; }
check "monitor recorded a drift event" wait_for 5 drift_event
check "alert command ran for the drift" wait_for 5 grep -q "^drift hello/hello" "$T/alerts.log"
check "ps shows the drift" grep -qE "^hello .* (stopped|missing)!" <<<"$(mcp ps)"

# --- start / stop / restart
check "start" mcp start hello
check "running again after start" wait_for 5 test "$(observed hello)" = running
check "answers after start" wait_for 10 http_get "http://127.0.0.1:$PORT/health"
flapping() { test "$(json_get "$(status_json hello)" 'j["components"][0]["flapping"] and any(e["kind"]=="flapping" for e in j["events"])')" = True; }
check "more than flap_threshold transitions: flapping reported" wait_for 5 flapping
check "alert command ran for the flapping" wait_for 5 grep -q "^flapping hello/hello" "$T/alerts.log"
check "stop" mcp stop hello
check "stopped, no drift" test "$(observed hello)/$(drift hello)" = stopped/False
check "app saw SIGTERM on stop" grep -q "received SIGTERM" <<<"$(mcp logs hello)"
check "start after stop" mcp start hello
check "restart" mcp restart hello
check "answers after restart" wait_for 10 http_get "http://127.0.0.1:$PORT/health"
check "port kept across restarts" test "$(host_port hello)" = "$PORT"

# --- agent restart: containers untouched, state intact
ID2=$(cid hello)
STARTED=$(penv_podman inspect --format '{{.State.StartedAt}}' hello)
check "agent stops on SIGTERM" agent_stop
check "container keeps running without the agent" http_get "http://127.0.0.1:$PORT/health"
check "agent starts again" agent_start
check "same container after agent restart" test "$(cid hello)" = "$ID2"
check "not restarted by the agent" test "$(penv_podman inspect --format '{{.State.StartedAt}}' hello)" = "$STARTED"
check "status after agent restart: running, no drift" test "$(observed hello)/$(drift hello)" = running/False
check "port intact after agent restart" test "$(host_port hello)" = "$PORT"

# --- changed image replaces the container, keeps the port
hello_def hello v2.0.0 >"$D/hello-v2.toml"
check "deploy v2" mcp deploy "$D/hello-v2.toml"
check "v2 answers on the same port" wait_for 10 sh -c "curl -fsS -m 2 http://127.0.0.1:$PORT/ | grep -q v2.0.0"
check "container replaced" test "$(cid hello)" != "$ID2"
ID3=$(cid hello)
snap_before=$(sqlite3 "$AGENT_DIR/state/registry.db" "select * from services; select service,name,image,desired,runtime from components; select * from routes;")

# --- bad input: refused with a clear message, nothing changes
printf 'name = "hello\n' >"$D/syntax.toml"
expect_fail "syntax error" "syntax.toml:1:" mcp deploy "$D/syntax.toml"
hello_def hello v1.0.0 'imagee = "x"' >"$D/unknown.toml"
expect_fail "unknown key" "unknown.toml:[0-9]+:[0-9]+: .*imagee" mcp deploy "$D/unknown.toml"
hello_def Hello_World v1.0.0 >"$D/badname.toml"
expect_fail "bad name" "Hello_World" mcp deploy "$D/badname.toml"
sed 's|^volumes = .*|volumes = ["/srv/hello/../../etc:/etc"]|' "$D/hello.toml" >"$D/dotdot.toml"
expect_fail "../ volume" "\.\." mcp deploy "$D/dotdot.toml"
sed "s|hello:v1.0.0|hello:latest|" "$D/hello.toml" >"$D/latest.toml"
expect_fail ":latest image" "latest" mcp deploy "$D/latest.toml"
sed "s|hello:v1.0.0|hello|" "$D/hello.toml" >"$D/notag.toml"
expect_fail "image without tag" "tag" mcp deploy "$D/notag.toml"
sed 's|^env = .*|env = ["HELLO_NAME=hello\\u0000x"]|' "$D/hello.toml" >"$D/nul.toml"
expect_fail "NUL in a value" "nul.toml:[0-9]+:[0-9]+: components\[0\]\.env\[0\]: contains a NUL byte" mcp deploy "$D/nul.toml"
{ hello_def hello v1.0.0; for i in $(seq 64); do printf '[[components]]\nname = "c%d"\nimage = "%s/hello:v1.0.0"\n' "$i" "$REGISTRY"; done; } >"$D/many.toml"
expect_fail "65 components" "65 entries, more than the limit of 64 components per service" mcp deploy "$D/many.toml"
sed "s|hello:v1.0.0|hello:v9.9.9|" "$D/hello.toml" >"$D/missing.toml"
expect_fail "image that is not in the registry" "hello:v9.9.9" mcp deploy "$D/missing.toml"
sed "s|hello:v1.0.0|hello:v3.0.0|" "$D/hello.toml" >"$D/corrupt.toml"
expect_fail "a corrupt image in the registry" "hello:v3.0.0.*(digest|verif|match)" mcp deploy "$D/corrupt.toml"
sed 's|^node = .*|node = "elsewhere"|' "$D/hello.toml" >"$D/pinned.toml"
expect_fail "pinned to an unknown node" "elsewhere" mcp deploy "$D/pinned.toml"
printf 'name = "hello-x"\n[[components]]\nname = "y"\nimage = "%s/hello:v1.0.0"\n' "$REGISTRY" >"$D/hx.toml"
printf 'name = "hello"\n[[components]]\nname = "x-y"\nimage = "%s/hello:v1.0.0"\n' "$REGISTRY" >"$D/h-xy.toml"
check "deploy hello-x (component y: instance hello-x-y)" mcp deploy "$D/hx.toml"
expect_fail "a second service with the same instance name is refused" "hello-x-y.*already uses" mcp deploy "$D/h-xy.toml"
check "undeploy hello-x" mcp undeploy hello-x
check "still the same container after bad input" test "$(cid hello)" = "$ID3"
check "registry unchanged after bad input" test "$(sqlite3 "$AGENT_DIR/state/registry.db" "select * from services; select service,name,image,desired,runtime from components; select * from routes;")" = "$snap_before"
check "still answering v2 after bad input" sh -c "curl -fsS -m 2 http://127.0.0.1:$PORT/ | grep -q v2.0.0"

# --- a container of that name that MCP does not manage is never touched
penv_podman run -d --name foreign --pull=never "$REGISTRY/hello:v1.0.0" >/dev/null
FID=$(cid foreign)
mkdir -p "$AGENT_DIR/srv/foreign"
hello_def foreign v1.0.0 >"$D/foreign.toml"
expect_fail "deploy over a foreign container of the same name is refused" "does not belong" mcp deploy "$D/foreign.toml"
check "the foreign container is untouched" test "$(cid foreign)" = "$FID"
check "no registry row for the refused service" test "$(sqlite3 "$AGENT_DIR/state/registry.db" "select count(*) from services where name = 'foreign'")" = 0
# a run that fails before podman looks at the name must not remove it either
sed "s|^volumes = .*|volumes = [\"$AGENT_DIR/srv/nonexistent-mcp-dir:/srv/x\"]|" "$D/foreign.toml" >"$D/foreign2.toml"
expect_fail "a failing run next to a foreign container" "nonexistent-mcp-dir" mcp deploy "$D/foreign2.toml"
check "the foreign container is still untouched" test "$(cid foreign)" = "$FID"
penv_podman rm -f -t 0 foreign >/dev/null

# --- two deploys of different services at the same time
hello_def svc-a v1.0.0 >"$D/a.toml"
hello_def svc-b v2.0.0 >"$D/b.toml"
mcp deploy "$D/a.toml" >"$T/a.out" 2>&1 &
pa=$!
mcp deploy "$D/b.toml" >"$T/b.out" 2>&1 &
pb=$!
wait $pa; ra=$?
wait $pb; rb=$?
cat "$T/a.out" "$T/b.out"
check "concurrent deploys both succeed" test "$ra/$rb" = 0/0
PA=$(host_port svc-a)
PB=$(host_port svc-b)
check "distinct ports for concurrent deploys" test "$PA" != "$PB" -a "$PA" != "$PORT"
check "svc-a answers" wait_for 10 sh -c "curl -fsS -m 2 http://127.0.0.1:$PA/ | grep -q 'svc-a version v1.0.0'"
check "svc-b answers" wait_for 10 sh -c "curl -fsS -m 2 http://127.0.0.1:$PB/ | grep -q 'svc-b version v2.0.0'"

# --- active = false: recorded with its port, not running, no drift
sed 's/^node = "local"/node = "local"\nactive = false/' "$D/a.toml" >"$D/a-off.toml"
out=$(mcp deploy "$D/a-off.toml"); echo "$out"
check "inactive redeploy stops the service" grep -q "stopped (active = false)" <<<"$out"
check "inactive: desired stopped, observed stopped, no drift" test "$(json_get "$(status_json svc-a)" 'j["components"][0]["desired"]+"/"+j["components"][0]["observed"]+"/"+str(j["components"][0]["drift"])')" = stopped/stopped/False
check "inactive keeps its port" test "$(host_port svc-a)" = "$PA"
check "active again: running" mcp deploy "$D/a.toml"
check "svc-a answers again" wait_for 10 sh -c "curl -fsS -m 2 http://127.0.0.1:$PA/ | grep -q 'svc-a version v1.0.0'"

# --- files under /srv/<service>/ only
echo "config v1" >"$T/conf.txt"
check "push a file" mcp push hello "$T/conf.txt" conf/app.conf
check "pushed file lands under srv root" cmp -s "$T/conf.txt" "$AGENT_DIR/srv/hello/conf/app.conf"
check "pull it back" test "$(mcp pull hello conf/app.conf)" = "config v1"
expect_fail "push with .. refused" "escapes" mcp push hello "$T/conf.txt" ../evil
expect_fail "push with absolute path refused" "relative" mcp push hello "$T/conf.txt" /etc/evil
mkdir -p "$T/outside"
ln -s "$T/outside" "$AGENT_DIR/srv/hello/link"
expect_fail "push through a symlink refused" "symlink" mcp push hello "$T/conf.txt" link/evil
check "nothing written outside" test ! -e "$T/outside/evil"
ln -s /etc/hostname "$AGENT_DIR/srv/hello/host"
expect_fail "pull of a symlink refused" "symlink" mcp pull hello host
expect_fail "pull for an invalid service refused" "not a valid service name" mcp pull ../etc passwd

# --- logs
check "logs -n 1 prints one line" test "$(mcp logs hello -n 1 | wc -l)" = 1
timeout 3 "$MCP_BIN/mcp" -c "$AGENT_DIR/mcp.toml" logs -f hello >"$T/follow.out" 2>&1 &
fpid=$!
sleep 1
http_get "http://127.0.0.1:$PORT/followed" >/dev/null 2>&1
wait $fpid
check "logs -f streams new lines" grep -q "/followed" "$T/follow.out"
expect_fail "logs of an unknown service" "not deployed" mcp logs nosuch

# --- status of unknown service, errors are one line
expect_fail "status of an unknown service" "nosuch" mcp status nosuch

# --- undeploy: nothing left
for s in hello svc-a svc-b; do
	check "undeploy $s" mcp undeploy "$s"
done
check "no managed containers left" test -z "$(penv_podman ps -aq --filter label=mcp.managed=true)"
check "no registry rows left" test "$(sqlite3 "$AGENT_DIR/state/registry.db" "select (select count(*) from services)+(select count(*) from components)+(select count(*) from routes)+(select count(*) from events)")" = 0
check "port $PORT free again" sh -c "! curl -s -m 1 http://127.0.0.1:$PORT/ >/dev/null"
check "ps is empty" test "$(mcp --json ps)" = "[]"
expect_fail "undeploy twice" "not deployed" mcp undeploy hello
check "agent log has no sanitizer reports" sh -c "! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$AGENT_DIR/agent.log'"
check "agent stops cleanly" agent_stop
t_done
