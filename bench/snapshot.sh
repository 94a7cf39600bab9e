#!/bin/bash
# bench/snapshot.sh [SIZE_MB]: service data export throughput (part 1 of the
# snapshot benchmark; the master side adds migrate downtime).
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
