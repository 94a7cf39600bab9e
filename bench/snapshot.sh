#!/bin/bash
# bench/snapshot.sh [SIZE_MB]: service data export throughput (part 1), and
# through mcp-master `mcp snapshot` and the downtime of `mcp migrate` of the
# same tree (part 2, below).
#
# A SIZE_MB (default 1024) /srv/<service>/ of mixed data -- a 200 MB
# SQLite database (written in WAL mode), large incompressible files, large
# compressible logs and thousands of small config-like files -- is exported
# through the agent's ExportServiceData RPC (mutual TLS, lib/wire client
# tests/tools/data-client as the master calls it, [snapshot] method
# "full", so the same files go in) and, as the baseline, with
# `tar -C DIR -c . | zstd` of the same tree on the same machine.  Both write
# their archive to a file under /tmp.  Prints each wall time, the
# throughput in MB of source data per second, the archive sizes and the
# ratio agent / baseline, each the best of RUNS (default 3) alternating
# runs.  Everything generated lives under /tmp and is removed at the end.
# Run as root after `make`.
set -u
cd "$(dirname "$0")/.."
SIZE_MB=${1:-1024}
. tests/lib/agent.sh
MCP_BUILD=${MCP_BUILD:-$MCP_ROOT/build/rel}
T=$(mktemp -d /tmp/mcp-bench-snap.XXXXXX)
cleanup() {
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT

"$MCP_BIN/mcp" ca init "$T/ca" >/dev/null || exit 1
for id in agent-local mcp-master; do
	"$MCP_BIN/mcp" ca issue "$id" --ca "$T/ca" >/dev/null || exit 1
done
hello_registry "$T" v1 >/dev/null || exit 1
podman_env_cleanup "$T/img/podman"
PORT=$(free_port) || exit 1
AGENT_EXTRA_AGENT="listen = \"127.0.0.1:$PORT\""
AGENT_EXTRA="[tls]
ca = \"$T/ca/ca.crt\"
cert = \"$T/ca/agent-local.crt\"
key = \"$T/ca/agent-local.key\""
agent_env_init "$T/agent" "$REGISTRY" || exit 1
agent_start || exit 1
D="$AGENT_DIR/srv/bulk"
mkdir -p "$D"

echo "generating ${SIZE_MB} MB under $D ..."
/usr/bin/python3 - "$D" "$SIZE_MB" <<'EOF' || exit 1
import base64, os, random, sqlite3, sys
d, total = sys.argv[1], int(sys.argv[2]) << 20
rnd = random.Random(42)
db_mb = min(200, total >> 22 << 2 if total < (1000 << 20) else 200)
# the database: rows of text and blobs, ~db_mb MB
db = sqlite3.connect(os.path.join(d, "app.db"), isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE events(id INTEGER PRIMARY KEY, at INTEGER, kind TEXT, body BLOB)")
db.execute("BEGIN")
row = 0
while True:
    for _ in range(1000):
        row += 1
        db.execute("INSERT INTO events(at, kind, body) VALUES (?, ?, ?)",
                   (1700000000 + row, "kind-%d" % (row % 17),
                    os.urandom(256) + (b"payload %d " % row) * 20))
    if os.path.getsize(os.path.join(d, "app.db")) + \
       (os.path.getsize(os.path.join(d, "app.db-wal")) if os.path.exists(os.path.join(d, "app.db-wal")) else 0) >= db_mb << 20:
        break
db.execute("COMMIT")
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()
left = total - os.path.getsize(os.path.join(d, "app.db"))
# a third incompressible blobs, a third logs, a third small files
os.makedirs(os.path.join(d, "blobs"), exist_ok=True)
os.makedirs(os.path.join(d, "logs"), exist_ok=True)
per = left // 3
n = 0
while n * (16 << 20) < per:
    with open(os.path.join(d, "blobs", "b%03d.bin" % n), "wb") as f:
        f.write(os.urandom(16 << 20))
    n += 1
n = 0
written = 0
while written < per:
    with open(os.path.join(d, "logs", "l%03d.log" % n), "w") as f:
        lines = []
        for i in range(200000):
            lines.append("2026-12-02T13:%02d:%02d.%03dZ svc info: request %d from 10.0.%d.%d took %d ms\n" % (
                i // 3600 % 60, i // 60 % 60, i % 1000, n * 200000 + i, rnd.randrange(256), rnd.randrange(256), rnd.randrange(900)))
        s = "".join(lines)
        f.write(s)
        written += len(s)
    n += 1
i = 0
written = 0
while written < per:
    sub = os.path.join(d, "conf", "d%03d" % (i // 500))
    os.makedirs(sub, exist_ok=True)
    body = ("# generated %d\nkey = \"%s\"\n" % (i, base64.b64encode(os.urandom(6000)).decode())).encode()
    with open(os.path.join(sub, "c%05d.toml" % i), "wb") as f:
        f.write(body)
    written += len(body)
    i += 1
EOF
SRC_BYTES=$(du -sb "$D" | cut -f1)
NFILES=$(find "$D" -type f | wc -l)
echo "tree: $((SRC_BYTES >> 20)) MB in $NFILES files (app.db $(( $(stat -c %s "$D/app.db") >> 20 )) MB)"

printf 'name = "bulk"\nnode = "local"\n[[components]]\nname = "bulk"\nimage = "%s/hello:v1"\nrestart = "no"\nvolumes = ["%s:/srv/bulk"]\n[[components.routes]]\nname = "http"\nport = 8080\n[snapshot]\nmethod = "full"\n' \
	"$REGISTRY" "$D" >"$T/bulk.toml"
mcp deploy "$T/bulk.toml" >/dev/null || exit 1

now() { date +%s.%N; }
sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
# warm the page cache the same way for both: one read of the tree
tar -C "$D" -cf - . >/dev/null

RUNS=${RUNS:-3}
best() { sort -n | head -1; }
: >"$T/a.times"; : >"$T/b.times"
for _ in $(seq 1 "$RUNS"); do	# alternate, keep the best of each
	t0=$(now)
	out=$("$MCP_BUILD/tools/data-client" "127.0.0.1:$PORT" "$T/ca/ca.crt" "$T/ca/mcp-master.crt" \
		"$T/ca/mcp-master.key" export bulk "$T/agent.tar.zst") || exit 1
	t1=$(now)
	tar -C "$D" -c . | zstd -q -f -o "$T/base.tar.zst" || exit 1
	t2=$(now)
	echo "$t1 - $t0" | bc >>"$T/a.times"
	echo "$t2 - $t1" | bc >>"$T/b.times"
done
echo "agent: $out"
A_SZ=$(stat -c %s "$T/agent.tar.zst")
B_SZ=$(stat -c %s "$T/base.tar.zst")
awk -v a="$(best <"$T/a.times")" -v b="$(best <"$T/b.times")" -v s="$SRC_BYTES" \
	-v as="$A_SZ" -v bs="$B_SZ" -v runs="$RUNS" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
	printf "export of %d MB (method full, over mutual TLS), best of %d, load average %s:\n", s / 1048576, runs, load
	printf "  agent ExportServiceData : %6.2f s  %6.1f MB/s  archive %d MB\n", a, s / 1048576 / a, as / 1048576
	printf "  tar -c . | zstd         : %6.2f s  %6.1f MB/s  archive %d MB\n", b, s / 1048576 / b, bs / 1048576
	printf "  ratio agent/baseline (time): %.2f\n", a / b
}'

# ---- part 2 (through mcp-master): `mcp snapshot` of the same tree and
# the downtime of `mcp migrate`, on a fleet of network namespaces
# (tests/lib/fleet.sh: the master's node m, workers w1 and w2, a client).
# The tree moves into w1's /srv/bulk/ and the service "bulk" (hello,
# method full) is placed there by the master; then:
#  - `mcp snapshot bulk`: export through w1's agent into the master's
#    store (temporary file, SHA-256, rename), against the baseline above;
#  - `mcp migrate bulk --to w2`: downtime = the first HTTP answer of the
#    service on w2 minus its last answer on w1, each probed every ~20 ms
#    inside that node's namespace (the service's route port on
#    127.0.0.1); the whole call's time too.
. tests/lib/fleet.sh
. tests/lib/master.sh
. bench/lib.sh
mv "$D" "$T/tree" || exit 1
agent_env_cleanup >/dev/null 2>&1	# part 1's agent
P2=mcpbs$$
DIRS2=() MASTER_PID= PROBES=()
cleanup2() {
	local d
	for d in "${PROBES[@]}"; do kill "$d" 2>/dev/null; done
	[ -n "$MASTER_PID" ] && kill -TERM "$MASTER_PID" 2>/dev/null && wait "$MASTER_PID" 2>/dev/null
	for d in "${DIRS2[@]}"; do AGENT_DIR=$d; agent_env_cleanup >/dev/null 2>&1; done
	fleet_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup2 EXIT
fleet_init "$P2" "10.96.$((RANDOM % 200 + 20))." || exit 1
fleet_node m 2 && fleet_node w1 3 && fleet_node w2 4 && fleet_node client 5 || exit 1
MIP=$(fleet_ip m)
for n in m w1 w2; do
	"$MCP_BIN/mcp" ca issue "agent-$n" --san "IP:$(fleet_ip $n)" --ca "$T/ca" >/dev/null || exit 1
done
"$MCP_BIN/mcp" ca issue mcp-master --san "IP:$MIP" --ca "$T/ca" --out "$T/mca" >/dev/null &&
	cp "$T/ca/ca.crt" "$T/mca/" && "$MCP_BIN/mcp" ca issue operator --ca "$T/ca" --out "$T/mca" >/dev/null || exit 1
master_config "$T/master.toml" "$MIP:9555" "$T/master" "$T/mca" "[timeouts]
snapshot = 3600
deploy = 600
[health]
heartbeat_interval = 2"
op_config "$T/op.toml" "$MIP:9555" "$T/mca"
OP_NS=$P2-client OP_CONFIG=$T/op.toml
master_start "$P2-m" "$T/master.toml" "$T/master.log" || exit 1
declare -A AD2
for n in w1 w2; do
	master_agent_env "$T/$n" "$n" "$(fleet_ip $n)" "$T/ca" "$MIP:9555" >/dev/null || exit 1
	AD2[$n]=$AGENT_DIR
	DIRS2+=("$AGENT_DIR")
	penv_podman pull --tls-verify=false "$REGISTRY/hello:v1" >/dev/null 2>&1 || exit 1
	AGENT_NETNS="$P2-$n" agent_start || exit 1
done
healthy2() { [ "$(op --json node list | grep -c '"health": "healthy"')" = 2 ]; }
wait_for 60 healthy2 || { echo "the workers did not register"; exit 1; }
# no pin (so that it may move): of two idle workers the first by name, w1
printf 'name = "bulk"\n[[components]]\nname = "bulk"\nimage = "%s/hello:v1"\n[[components.routes]]\nname = "http"\nport = 8080\n[snapshot]\nmethod = "full"\n' \
	"$REGISTRY" >"$T/bulk2.toml"
mkdir -p "${AD2[w1]}/srv" && mv "$T/tree" "${AD2[w1]}/srv/bulk" || exit 1
out=$(op --json deploy "$T/bulk2.toml") || { echo "deploy through the master failed: $out"; exit 1; }
[ "$(json_get "$out" "j['node']")" = w1 ] || { echo "bulk was placed on $(json_get "$out" "j['node']")"; exit 1; }

sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
tar -C "${AD2[w1]}/srv/bulk" -cf - . >/dev/null
t0=$(now_ms)
snap=$(op --json snapshot bulk) || { echo "mcp snapshot failed: $snap"; exit 1; }
t1=$(now_ms)
awk -v m="$((t1 - t0))" -v s="$SRC_BYTES" -v z="$(json_get "$snap" "j['size']")" 'BEGIN {
	printf "snapshot of %d MB through mcp-master (w1 agent -> gRPC/TLS -> master store, SHA-256 checked):\n", s / 1048576
	printf "  mcp snapshot     : %6.2f s  %6.1f MB/s  archive %d MB\n", m / 1000, s / 1048576 / (m / 1000), z / 1048576
}'

# migrate downtime
hp_of() { # NODE: the host port of bulk's route there
	json_get "$(op --json status bulk)" "[r['host_port'] for c in j[0]['components'] for r in c['routes']][0]" 2>/dev/null
}
HP1=$(hp_of)
[ -n "$HP1" ] || { echo "no host port for bulk on w1"; exit 1; }
rm -f "$T/last" "$T/first"
nsenter "--net=/var/run/netns/$P2-w1" bash -c "while :; do
	curl -fs -o /dev/null -m 0.2 http://127.0.0.1:$HP1/ && echo \$((\$(date +%s%N) / 1000000)) >$T/last.new && mv $T/last.new $T/last
	sleep 0.02; done" &
PROBES+=($!)
# on w2 the route's port is not known before the deploy there: try every
# listener in the agents' host-port range (nothing else listens there)
nsenter "--net=/var/run/netns/$P2-w2" bash -c "while :; do
	for p in \$(ss -Hltn | awk '{print \$4}' | sed -n 's/^127\.0\.0\.1:\([0-9]*\)\$/\1/p'); do
		[ \$p -ge 10000 ] && [ \$p -le 60000 ] || continue
		curl -fs -o /dev/null -m 0.2 http://127.0.0.1:\$p/ && { echo \$((\$(date +%s%N) / 1000000)) >$T/first; exit 0; }
	done
	sleep 0.02; done" &
PROBES+=($!)
wait_for 10 test -s "$T/last" || { echo "bulk does not answer on w1"; exit 1; }
t0=$(now_ms)
mig=$(op --json migrate bulk --to w2) || echo "migrate failed: $mig" >&2
t1=$(now_ms)
wait_for 30 test -s "$T/first"
for p in "${PROBES[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
PROBES=()
echo "migrate bulk w1 -> w2 ($((SRC_BYTES >> 20)) MB, live source):"
echo "  whole call       : $((t1 - t0)) ms"
if [ -s "$T/last" ] && [ -s "$T/first" ]; then
	echo "  downtime         : $(($(cat "$T/first") - $(cat "$T/last"))) ms (last answer on w1 -> first answer on w2)"
else
	echo "  downtime         : not measured (no answer seen on $([ -s "$T/last" ] && echo w2 || echo w1))"
fi
json_get "$mig" "'\n'.join('  step %-9s %s %s' % (s['step'], 'ok' if s['ok'] else 'FAILED: ' + s['error'], ' '.join(a for a in s['actions'] if a.startswith('took'))) for s in j['services'][0]['steps'])"
echo "  (load average during the run: $(cut -d' ' -f1-3 /proc/loadavg))"
