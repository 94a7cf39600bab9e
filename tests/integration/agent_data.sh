#!/bin/bash
# Service data (issue 10, agent side): ExportServiceData / ImportServiceData
# called over mutual TLS by a foreign gRPC client (tests/interop/agent_client.py)
# as mcp-master, certificates from `mcp ca`, against real containers, real
# SQLite and real tar.zst:
#  - a database written to in a tight loop is exported live: the restored
#    copy passes PRAGMA integrity_check and has every row committed before
#    the export began; -wal/-shm stay out;
#  - each method captures what it should and honours exclude: default
#    (*.toml, *.db, *.pem), full (everything, symlinks as symlinks), exec:
#    and cli (run in the container first; skipped when it is stopped; a
#    failing command fails the export), grpc (the example's Snapshot RPC
#    dumps its SQLite counter first);
#  - only mcp-master may call either RPC;
#  - import lands whole: an existing target is refused without force, a cut
#    stream, a wrong SHA-256 and an entry escaping the directory leave
#    nothing behind.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh

PY=/usr/bin/python3
if ! "$PY" -c 'import grpc, grpc_tools' 2>/dev/null; then
	echo "skip: python3-grpcio / python3-grpc-tools not installed"
	exit 77
fi

T=$(mktemp -d /tmp/mcp-it-data.XXXXXX)
WRITER_PID=
cleanup() {
	[ -n "$WRITER_PID" ] && kill "$WRITER_PID" 2>/dev/null && wait "$WRITER_PID" 2>/dev/null
	agent_env_cleanup
	podman_env_cleanup "$T/img/podman" 2>/dev/null
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT

M="$MCP_BIN/mcp"
check "ca init" "$M" ca init "$T/ca" >/dev/null
for id in agent-local mcp-master operator; do
	check "issue $id" "$M" ca issue "$id" --ca "$T/ca" >/dev/null
done

hello_registry "$T" v1 || { echo "FAIL - registry with the example image"; exit 1; }
PORT=$(free_port) || exit 1
AGENT_EXTRA_AGENT="listen = \"127.0.0.1:$PORT\""
AGENT_EXTRA="[tls]
ca = \"$T/ca/ca.crt\"
cert = \"$T/ca/agent-local.crt\"
key = \"$T/ca/agent-local.key\""
agent_env_init "$T/agent" "$REGISTRY" || exit 1
agent_start || exit 1
SRV="$AGENT_DIR/srv"

client() { # IDENTITY METHOD ARGS...
	local id="$1" m="$2"
	shift 2
	"$PY" tests/interop/agent_client.py --address "127.0.0.1:$PORT" --ca "$T/ca/ca.crt" \
		--cert "$T/ca/$id.crt" --key "$T/ca/$id.key" --method "$m" --timeout 120 "$@"
}
export_to() { # SERVICE FILE [direct]: the final chunk's JSON on stdout
	local req="{\"service\": \"$1\"}"
	[ "${3:-}" = direct ] && req="{\"service\": \"$1\", \"direct\": true}"
	client mcp-master ExportServiceData --request "$req" --out "$2"
}
import_from() { # SERVICE FILE [force] [client args...]
	local s="$1" f="$2" force=false
	shift 2
	if [ "${1:-}" = force ]; then force=true; shift; fi
	client mcp-master ImportServiceData --request "{\"service\": \"$s\", \"force\": $force}" \
		--upload "$f" "$@"
}
members() { tar --zstd -tf "$1" | sed 's|^\./||' | sort | tr '\n' ' '; }
has() { grep -q -- " $2 " <<<" $(members "$1")"; }
hasnt() { ! has "$@"; }
deploy() { # NAME DEFINITION-TEXT
	printf '%s\n' "$2" >"$T/$1.toml"
	mcp deploy "$T/$1.toml" >/dev/null
}

# ---- default method, live database ----
mkdir -p "$SRV/dflt/tls"
echo 'name = "dflt"' >"$SRV/dflt/app.toml"
echo 'skip = true' >"$SRV/dflt/skip.toml"
echo 'notes' >"$SRV/dflt/notes.txt"
echo '-----BEGIN CERTIFICATE-----' >"$SRV/dflt/tls/cert.pem"
check "deploy dflt (method omitted, exclude skip.toml)" deploy dflt "$(hello_def dflt v1)

[snapshot]
exclude = [\"skip.toml\"]"

# the service's database, written in a tight loop; progress = rows committed
"$PY" - "$SRV/dflt/live.db" "$T/progress" <<'EOF' &
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v BLOB)")
n = 0
while True:
    db.execute("INSERT INTO t(v) VALUES (randomblob(300))")
    n += 1
    if n % 50 == 0:
        with open(sys.argv[2] + ".tmp", "w") as f:
            f.write(str(n))
        os.replace(sys.argv[2] + ".tmp", sys.argv[2])
EOF
WRITER_PID=$!
wait_for 30 sh -c "[ \$(cat $T/progress 2>/dev/null || echo 0) -ge 5000 ]"
before=$(cat "$T/progress")
fin=$(export_to dflt "$T/dflt.tar.zst")
check "export dflt while it writes (final: $fin)" test -n "$fin"
after=$(cat "$T/progress")
kill "$WRITER_PID"; wait "$WRITER_PID" 2>/dev/null; WRITER_PID=
sha=$(sha256sum "$T/dflt.tar.zst" | cut -d' ' -f1)
size=$(stat -c %s "$T/dflt.tar.zst")
check "final chunk carries the archive's SHA-256" grep -q "\"sha256\": \"$sha\"" <<<"$fin"
check "final chunk carries its size" grep -q "\"size\": \"$size\"" <<<"$fin"
check "final chunk names the method" grep -q '"method": "default"' <<<"$fin"
check "default: app.toml, tls/cert.pem, live.db in it ($(members "$T/dflt.tar.zst"))" \
	sh -c "true" && has "$T/dflt.tar.zst" app.toml && has "$T/dflt.tar.zst" tls/cert.pem && has "$T/dflt.tar.zst" live.db
check "default: notes.txt left out" hasnt "$T/dflt.tar.zst" notes.txt
check "default: excluded skip.toml left out" hasnt "$T/dflt.tar.zst" skip.toml
check "default: no -wal / -shm" sh -c "! tar --zstd -tf '$T/dflt.tar.zst' | grep -qE 'live.db-(wal|shm)'"

resp=$(import_from restored "$T/dflt.tar.zst")
check "import into a new service directory ($resp)" grep -q '"files": 3' <<<"$resp"
written=$(du -cb "$SRV/restored/app.toml" "$SRV/restored/tls/cert.pem" "$SRV/restored/live.db" | tail -1 | cut -f1)
check "import reports the bytes written ($written)" grep -q "\"bytes_written\": \"$written\"" <<<"$resp"
integrity=$(sqlite3 "$SRV/restored/live.db" 'PRAGMA integrity_check')
rows=$(sqlite3 "$SRV/restored/live.db" 'SELECT count(*) FROM t')
echo "     rows committed before the export: $before, restored: $rows, at its end: $after"
check "restored database passes integrity_check" test "$integrity" = ok
check "restored database has every row committed before the export" test "$rows" -ge "$before"
# (progress is written every 50 rows: the count at the end is below after + 50)
check "and none that did not exist at its end" test "$rows" -lt "$((after + 50))"

# ---- import refusals ----
expect_fail "existing data without force is refused" "ALREADY_EXISTS.*exists and is not empty" \
	import_from restored "$T/dflt.tar.zst"
echo 'old' >"$SRV/restored/old.toml"
check "with force the data is replaced" import_from restored "$T/dflt.tar.zst" force
check "old files are gone after a forced import" test ! -e "$SRV/restored/old.toml"
expect_fail "a cut stream is refused" "INVALID_ARGUMENT.*without its final chunk" \
	import_from cut "$T/dflt.tar.zst" --cut 1000
check "a cut stream leaves no directory" test ! -e "$SRV/cut"
expect_fail "a wrong SHA-256 is refused" "INVALID_ARGUMENT.*SHA-256" \
	import_from badsha "$T/dflt.tar.zst" --bad-sha
check "a wrong SHA-256 leaves no directory" test ! -e "$SRV/badsha"
"$PY" - "$T/evil.tar" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for name, data in (("ok.toml", b"ok\n"), ("../escaped.toml", b"x\n")):
        i = tarfile.TarInfo(name); i.size = len(data)
        t.addfile(i, io.BytesIO(data))
EOF
zstd -q -f "$T/evil.tar" -o "$T/evil.tar.zst"
expect_fail "an entry escaping the directory is refused" "INVALID_ARGUMENT.*\\.\\./escaped.toml" \
	import_from evil "$T/evil.tar.zst"
check "nothing of it was written" test ! -e "$SRV/evil" -a ! -e "$SRV/escaped.toml"
expect_fail "a service name that could escape is refused" "INVALID_ARGUMENT.*not a valid service name" \
	import_from "../x" "$T/dflt.tar.zst"
check "no temporary import directory is left" sh -c "! ls -a '$SRV' | grep -q import"

# ---- authorisation ----
expect_fail "an operator may not export" "PERMISSION_DENIED" \
	client operator ExportServiceData --request '{"service": "dflt"}' --out "$T/op.tar.zst"
expect_fail "an operator may not import" "PERMISSION_DENIED" \
	client operator ImportServiceData --request '{"service": "opimport"}' --upload "$T/dflt.tar.zst"
check "nothing imported for the operator" test ! -e "$SRV/opimport"
expect_fail "export of a service not deployed here" "NOT_FOUND.*not deployed" \
	export_to nosuch "$T/nosuch.tar.zst"

# ---- full ----
mkdir -p "$SRV/full/cache" "$SRV/full/sub"
echo 'notes' >"$SRV/full/notes.txt"
echo 'c' >"$SRV/full/cache/c.bin"
echo 'd' >"$SRV/full/sub/data.bin"
ln -s notes.txt "$SRV/full/link"
check "deploy full (exclude cache/)" deploy full "$(hello_def full v1)

[snapshot]
method = \"full\"
exclude = [\"cache/\"]"
fin=$(export_to full "$T/full.tar.zst")
check "full: method reported" grep -q '"method": "full"' <<<"$fin"
check "full: everything in it" has "$T/full.tar.zst" notes.txt
check "full: subdirectories too" has "$T/full.tar.zst" sub/data.bin
check "full: cache/ excluded" sh -c "! tar --zstd -tf '$T/full.tar.zst' | grep -q cache"
check "full: import keeps the symlink" import_from full-copy "$T/full.tar.zst"
check "full: symlink restored as a symlink" test "$(readlink "$SRV/full-copy/link")" = notes.txt

# ---- exec: ----
mkdir -p "$SRV/ex"
echo 'x' >"$SRV/ex/app.log"
check "deploy ex (exec: hello snapshot, exclude *.log)" deploy ex "$(hello_def ex v1)

[snapshot]
method = \"exec: /usr/local/bin/hello snapshot\"
exclude = [\"*.log\"]"
fin=$(export_to ex "$T/ex.tar.zst")
check "exec: method reported ($fin)" grep -q '"method": "exec: /usr/local/bin/hello snapshot"' <<<"$fin"
check "exec: the command's dump is in the archive" has "$T/ex.tar.zst" snapshot.dump
check "exec: *.log excluded" hasnt "$T/ex.tar.zst" app.log
rm -f "$SRV/ex/snapshot.dump"
check "stop ex" mcp stop ex >/dev/null
fin=$(export_to ex "$T/ex2.tar.zst")
check "exec: stopped service gets a direct tar ($fin)" grep -q '"method": "direct (service stopped)"' <<<"$fin"
check "exec: no command ran while stopped" hasnt "$T/ex2.tar.zst" snapshot.dump
check "start ex" mcp start ex >/dev/null
fin=$(export_to ex "$T/ex3.tar.zst" direct)
check "direct: reported" grep -q '"method": "direct"' <<<"$fin"
check "direct: no step even while running" hasnt "$T/ex3.tar.zst" snapshot.dump

mkdir -p "$SRV/exfail" "$SRV/cli"
check "deploy exfail (exec: a command that fails)" deploy exfail "$(hello_def exfail v1)

[snapshot]
method = \"exec: /usr/local/bin/no-such-tool --dump\""
expect_fail "a failing exec: fails the export" "exec: /usr/local/bin/no-such-tool --dump" \
	export_to exfail "$T/exfail.tar.zst"

# ---- cli ----
check "deploy cli (method cli, cmd = the binary)" deploy cli "$(hello_def cli v1 'cmd = ["/usr/local/bin/hello"]')

[snapshot]
method = \"cli\""
fin=$(export_to cli "$T/cli.tar.zst")
check "cli: method reported ($fin)" grep -q '"method": "cli"' <<<"$fin"
check "cli: the binary's snapshot dump is in the archive" has "$T/cli.tar.zst" snapshot.dump
expect_fail "import over a running service is refused, even with force" "FAILED_PRECONDITION.*cli is running.*stop the service first" \
	import_from cli "$T/cli.tar.zst" force
check "stop cli" mcp stop cli >/dev/null
check "once stopped, a forced import lands" import_from cli "$T/cli.tar.zst" force

# ---- grpc: the example's Snapshot RPC ----
mkdir -p "$SRV/gr"
check "deploy gr (method grpc, exclude counter.db)" deploy gr "name = \"gr\"
node = \"local\"

[[components]]
name = \"gr\"
image = \"$REGISTRY/hello:v1\"
restart = \"no\"
env = [\"HELLO_NAME=gr\"]
volumes = [\"$SRV/gr:/srv/gr\"]

[[components.routes]]
name = \"http\"
port = 8080

[[components.routes]]
name = \"grpc\"
port = 9090

[snapshot]
method = \"grpc\"
exclude = [\"counter.db\"]"
HP=$(json_get "$(mcp --json status gr)" '[r["host_port"] for r in j["components"][0]["routes"] if r["name"] == "http"][0]')
wait_for 30 http_get "http://127.0.0.1:$HP/health"
for _ in 1 2 3; do http_get "http://127.0.0.1:$HP/incr" >/dev/null; done
check "gr: the counter is at 3" test "$(http_get "http://127.0.0.1:$HP/count")" = "count 3"
fin=$(export_to gr "$T/gr.tar.zst")
check "grpc: method reported ($fin)" grep -q '"method": "grpc"' <<<"$fin"
check "grpc: the Snapshot RPC's dump is in the archive" has "$T/gr.tar.zst" counter.dump
check "grpc: so is its consistent copy" has "$T/gr.tar.zst" counter.snapshot.db
check "grpc: excluded counter.db left out" hasnt "$T/gr.tar.zst" counter.db
check "grpc: restore" import_from gr-copy "$T/gr.tar.zst"
check "grpc: restored dump says 3" test "$(cat "$SRV/gr-copy/counter.dump")" = 3
check "grpc: restored copy of the counter says 3" test "$(sqlite3 "$SRV/gr-copy/counter.snapshot.db" 'SELECT n FROM counter')" = 3
check "stop gr" mcp stop gr >/dev/null
fin=$(export_to gr "$T/gr2.tar.zst")
check "grpc: stopped service gets a direct tar" grep -q '"method": "direct (service stopped)"' <<<"$fin"

# ---- the same through lib/wire (as the master calls them) ----
DC="$MCP_BUILD/tools/data-client"
dc() { "$DC" "127.0.0.1:$PORT" "$T/ca/ca.crt" "$T/ca/mcp-master.crt" "$T/ca/mcp-master.key" "$@"; }
out=$(dc export full "$T/full-c.tar.zst")
check "lib/wire export: SHA-256 and size verified ($out)" grep -q "^method full sha256 " <<<"$out"
out=$(dc import full-c "$T/full-c.tar.zst")
check "lib/wire import: files and bytes reported ($out)" grep -q "^files 2 bytes_written 8$" <<<"$out"
check "lib/wire import: same contents" diff -r "$SRV/full-copy" "$SRV/full-c"
expect_fail "lib/wire import: existing data refused" "ALREADY_EXISTS" dc import full-c "$T/full-c.tar.zst"

# ---- RemoveServiceData: symlinks in (or as) the data directory are removed,
# never followed ----
mkdir -p "$T/outside/keep" "$SRV/rm1/sub"
echo keep >"$T/outside/keep/file"
echo x >"$SRV/rm1/sub/x.toml"
ln -s "$T/outside/keep" "$SRV/rm1/sub/to-dir"
ln -s "$T/outside/keep/file" "$SRV/rm1/to-file"
ln -s "$T/outside/keep" "$SRV/rm2"
check "RemoveServiceData rm1 (symlinks inside)" client mcp-master RemoveServiceData --service rm1
check "rm1: the data directory is gone" test ! -e "$SRV/rm1" -a ! -L "$SRV/rm1"
check "RemoveServiceData rm2 (the directory is a symlink)" client mcp-master RemoveServiceData --service rm2
check "rm2: only the symlink went" test ! -L "$SRV/rm2"
check "what the symlinks pointed at is intact" test "$(cat "$T/outside/keep/file")" = keep
expect_fail "RemoveServiceData of a deployed service refused" "still deployed" \
	client mcp-master RemoveServiceData --service full

for s in dflt full ex exfail cli gr; do mcp undeploy "$s" >/dev/null 2>&1; done
check "agent stops cleanly" agent_stop
check "no sanitizer report in the agent's log" sh -c "! grep -E 'AddressSanitizer|LeakSanitizer|runtime error' '$AGENT_DIR/agent.log'"
t_done
