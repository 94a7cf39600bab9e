#!/bin/bash
# Hitless reloads of the node proxy (SPEC §4.3): a long response streamed
# through an l7 route keeps going, uncut, across reloads caused by other
# routes being added, and the old worker leaves once it is done
# (hard-stop-after bounds how long it may linger); no request fails
# while a burst of routes is added, one by one and by concurrent clients
# whose syncs are coalesced into fewer reloads; of concurrent deploys
# claiming one hostname exactly one is recorded.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh

T=$(mktemp -d /tmp/mcp-it-preload.XXXXXX)
cleanup() {
	[ -n "${STREAM_PID:-}" ] && kill "$STREAM_PID" 2>/dev/null
	[ -n "${LOOP_PID:-}" ] && kill "$LOOP_PID" 2>/dev/null
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT

hello_registry "$T" v1.0.0 v2.0.0 || exit 1
"$MCP_BIN/mcp" ca init "$T/ca" >/dev/null || exit 1
"$MCP_BIN/mcp" ca issue agent-local --intermediate --permit svc.test \
	--ca "$T/ca" >/dev/null || exit 1
P=$(free_port 20000 29999)
AGENT_EXTRA="[proxy]
enabled = true
bind = [\"127.0.0.1\"]
zone = \"svc.test\"
issuer_cert = \"$T/ca/agent-local.crt\"
issuer_key = \"$T/ca/agent-local.key\""
agent_env_init "$T/agent" "$REGISTRY" || exit 1
agent_start || exit 1
D=$T/defs
mkdir -p "$D"
MS=$AGENT_DIR/state/proxy/master.sock

def() { # NAME [active]
	printf 'name = "%s"\nactive = %s\n[[components]]\nname = "%s"\nimage = "%s"\nrestart = "no"\nenv = ["HELLO_NAME=%s"]\n[[components.routes]]\nport = %s\nmode = "l7"\n' \
		"$1" "${2:-true}" "$1" "$REGISTRY/hello:v1.0.0" "$1" "$P" >"$D/$1.toml"
}
# "show proc" on the master CLI: "reloads" or "workers" (current + old)
proc() {
	/usr/bin/python3 - "$MS" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"show proc\n"); s.shutdown(socket.SHUT_WR)
out = b""
while True:
    b = s.recv(65536)
    if not b: break
    out += b
n = 0
for l in out.decode().splitlines():
    f = l.split()
    if len(f) > 2 and f[1] == "master" and sys.argv[2] == "reloads":
        print(f[2]); sys.exit(0)
    if len(f) > 2 and f[1] == "worker":
        n += 1
print(n)
PY
}

def web
check "deploy web (l7)" mcp deploy "$D/web.toml"
check "web answers through the proxy" wait_for 10 sh -c "curl -fsS -m 5 --cacert '$T/ca/ca.crt' --resolve web.svc.test:$P:127.0.0.1 https://web.svc.test:$P/ | grep -q web"
check "hard-stop-after is set: an old worker lingers at most 30 s" \
	grep -q "hard-stop-after 30s" "$AGENT_DIR/state/proxy/haproxy.cfg"

# ---- a 12 s streamed response across reloads
cat >"$T/stream.py" <<'PY'
import socket, ssl, sys, time
port, ca, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
t0 = time.time()
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                    server_hostname="web.svc.test")
s.sendall(b"GET /stream?s=12 HTTP/1.1\r\nHost: web.svc.test\r\n\r\n")
data = b""
with open(out, "w") as f:
    while True:
        try:
            b = s.recv(4096)
        except Exception as e:
            f.write("error %r\n" % e); break
        if not b:
            break
        data += b
        f.write("%.1f %d\n" % (time.time() - t0, data.count(b"tick ")))
        f.flush()
    head, _, body = data.partition(b"\r\n\r\n")
    ticks = body.decode(errors="replace").split()
    f.write("status %s ticks %d last %s\n" % (head.split(b" ")[1].decode() if head else "-",
            body.count(b"tick "), ticks[-1] if ticks else "-"))
PY
R0=$(proc reloads)
/usr/bin/python3 "$T/stream.py" "$P" "$T/ca/ca.crt" "$T/stream.out" &
STREAM_PID=$!
check "the stream started" wait_for 10 sh -c "grep -q '^[0-9.]* [1-9]' '$T/stream.out'"
def a1 false; def a2 false; def a3 false
check "add a route while the stream runs (reload)" mcp deploy "$D/a1.toml"
check "add another (reload)" mcp deploy "$D/a2.toml"
check "and another (reload)" mcp deploy "$D/a3.toml"
R1=$(proc reloads)
check "HAProxy reloaded while the stream ran ($R0 -> $R1)" [ "$R1" -ge $((R0 + 3)) ]
check "an old worker still serves the stream ($(proc workers) workers)" [ "$(proc workers)" -ge 2 ]
check "the stream is still going" kill -0 "$STREAM_PID"
wait "$STREAM_PID"
STREAM_PID=
check "the stream ended whole: 200, 12 ticks, none cut ($(tail -1 "$T/stream.out"))" \
	grep -q "^status 200 ticks 12 last 12$" "$T/stream.out"
WAITED=0
while [ "$(proc workers)" -gt 1 ] && [ "$WAITED" -lt 15 ]; do sleep 1; WAITED=$((WAITED + 1)); done
check "one worker left $WAITED s after the stream ended (hard-stop-after not needed)" [ "$(proc workers)" = 1 ]

# ---- no request fails during a burst of reloads
cat >"$T/loop.sh" <<EOF
#!/bin/bash
ok=0 bad=0
while [ ! -e "$T/stop-loop" ]; do
	if curl -fsS -m 5 --cacert "$T/ca/ca.crt" --resolve web.svc.test:$P:127.0.0.1 https://web.svc.test:$P/ -o /dev/null 2>>"$T/loop.err"; then
		ok=\$((ok + 1))
	else
		bad=\$((bad + 1))
	fi
done
echo "\$ok \$bad" >"$T/loop.out"
EOF
chmod +x "$T/loop.sh"
"$T/loop.sh" &
LOOP_PID=$!
sleep 0.5
R0=$(proc reloads)
for i in 1 2 3 4 5; do def "b$i" false; done
check "add 5 routes one by one" sh -c "for i in 1 2 3 4 5; do $MCP_BIN/mcp -c $AGENT_DIR/mcp.toml deploy $D/b\$i.toml >/dev/null || exit 1; done"
R1=$(proc reloads)
for i in $(seq 1 12); do def "c$i" false; done
check "add 12 routes from 6 concurrent clients" \
	sh -c "seq 1 12 | xargs -P 6 -I{} $MCP_BIN/mcp -c $AGENT_DIR/mcp.toml deploy $D/c{}.toml >'$T/burst.out'"
R2=$(proc reloads)
check "one reload per route one by one ($((R1 - R0)) for 5)" [ $((R1 - R0)) = 5 ]
check "concurrent adds coalesced: $((R2 - R1)) reloads for 12 routes" [ $((R2 - R1)) -lt 12 ] && [ $((R2 - R1)) -ge 1 ]
touch "$T/stop-loop"
wait "$LOOP_PID"
LOOP_PID=
read -r OK BAD <"$T/loop.out"
check "requests during $((R2 - R0)) reloads: $OK ok, $BAD failed" [ "$BAD" = 0 ] && [ "$OK" -gt 0 ]
[ "$BAD" = 0 ] || head -5 "$T/loop.err"
check "every added route is in the config (the file is the truth)" \
	[ "$(grep -c '^backend r_' "$AGENT_DIR/state/proxy/haproxy.cfg")" = 21 ]
NB=$(/usr/bin/python3 - "$AGENT_DIR/state/proxy/admin.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"show backend\n"); s.shutdown(socket.SHUT_WR)
out = b""
while True:
    b = s.recv(65536)
    if not b: break
    out += b
print(sum(1 for l in out.decode().splitlines() if l.startswith("r_")))
PY
)
check "... and in the running HAProxy ($NB route backends)" [ "$NB" = 21 ]
# ---- a hostname claimed by concurrent deploys: one wins, the proxy is not wedged
for i in 1 2 3 4 5 6; do
	def "h$i" false
	echo 'hostname = "shared.svc.test"' >>"$D/h$i.toml"
done
seq 1 6 | xargs -P 6 -I{} sh -c "$MCP_BIN/mcp -c $AGENT_DIR/mcp.toml deploy $D/h{}.toml >'$T/h{}.out' 2>&1; echo \$? >'$T/h{}.rc'"
WON=$(cat "$T"/h?.rc | grep -cx 0)
check "6 concurrent deploys claiming one hostname on one port: $WON recorded" [ "$WON" = 1 ]
check "the others were refused naming the conflict" \
	[ "$(cat "$T"/h?.out | grep -c "shared.svc.test on port $P is claimed twice")" = 5 ]
# a redeploy pulling a new image while another deploy takes its new hostname
def x
check "deploy x (no hostname of its own)" mcp deploy "$D/x.toml"
sed -e 's/hello:v1.0.0/hello:v2.0.0/' "$D/x.toml" >"$D/x2.toml"
echo 'hostname = "taken.svc.test"' >>"$D/x2.toml"
def y false
echo 'hostname = "taken.svc.test"' >>"$D/y.toml"
( "$MCP_BIN/mcp" -c "$AGENT_DIR/mcp.toml" deploy "$D/x2.toml" >"$T/x2.out" 2>&1; echo $? >"$T/x2.rc" ) &
XP=$!
sleep 0.05
( "$MCP_BIN/mcp" -c "$AGENT_DIR/mcp.toml" deploy "$D/y.toml" >"$T/y.out" 2>&1; echo $? >"$T/y.rc" ) &
wait "$XP" $!
check "x's redeploy (pulling v2) and y's deploy, both claiming taken.svc.test: one refused ($(cat "$T/x2.rc" "$T/y.rc" | tr '\n' ' '))" \
	[ "$(cat "$T/x2.rc" "$T/y.rc" | grep -cx 0)" = 1 ]
def after false
check "the proxy still takes new routes afterwards" mcp deploy "$D/after.toml"
check "web still answers" sh -c "curl -fsS -m 5 --cacert '$T/ca/ca.crt' --resolve web.svc.test:$P:127.0.0.1 https://web.svc.test:$P/ | grep -q web"
check "agent logs have no sanitizer reports" sh -c "! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' $AGENT_DIR/agent.log"

t_done
