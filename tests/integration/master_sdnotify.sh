#!/bin/bash
# mcp-master under a Type=notify unit (mcp-master.service), without
# systemd: the test plays systemd's part, as agent_sdnotify.sh does for the
# agent.  It binds a datagram socket, starts the real master (mutual TLS on
# 127.0.0.1, its own CA) with NOTIFY_SOCKET pointing at it (a path, then
# an abstract "@name"), and checks from the sender's credentials
# (SO_PASSCRED) that the master's own process sends READY=1, that an
# operator's `mcp node list` through the master already answers at that
# moment, that SIGTERM brings STOPPING=1 and that nothing else is sent.  A
# master whose listener cannot be set up (its port taken) exits 1 and never
# says READY=1.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/registry.sh		# free_port
BIN=${MCP_BIN:-$PWD/bin}

T=$(mktemp -d /tmp/mcp-it-msdnotify.XXXXXX)
RECV_PID= MASTER_PID= HOLD_PID=
cleanup() {
	[ -n "$MASTER_PID" ] && kill "$MASTER_PID" 2>/dev/null
	[ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null
	[ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

PORT=$(free_port)
"$BIN/mcp" ca init "$T/ca" >/dev/null || exit 1
"$BIN/mcp" ca issue mcp-master --san IP:127.0.0.1 --ca "$T/ca" >/dev/null || exit 1
"$BIN/mcp" ca issue operator --ca "$T/ca" >/dev/null || exit 1
cat >"$T/master.toml" <<EOF
[master]
node = "m"
listen = "127.0.0.1:$PORT"
state_dir = "$T/state"
[tls]
ca = "$T/ca/ca.crt"
cert = "$T/ca/mcp-master.crt"
key = "$T/ca/mcp-master.key"
EOF
cat >"$T/op.toml" <<EOF
[master]
address = "127.0.0.1:$PORT"
[tls]
ca = "$T/ca/ca.crt"
cert = "$T/ca/operator.crt"
key = "$T/ca/operator.key"
EOF

# systemd's side: one line per datagram, "PID MESSAGE"; on READY=1 it also
# records whether an operator's call through the master answers right then.
cat >"$T/recv.py" <<'EOF'
import socket, struct, subprocess, sys
addr, mcp, opconf, out = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
open(out + ".bound", "w").close()
with open(out, "a", buffering=1) as f:
    while True:
        msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = -1
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", data[:12])[0]
        text = msg.decode(errors="replace").replace("\n", "|")
        if text == "READY=1":
            r = subprocess.run([mcp, "-c", opconf, "node", "list"],
                               capture_output=True, timeout=20)
            f.write("%d %s\n" % (pid, "master-answers" if r.returncode == 0
                                 else "master-refused " + r.stderr.decode().strip()))
        f.write("%d %s\n" % (pid, text))
EOF

wait_line() {	# wait_line FILE REGEX SECONDS
	local i
	for i in $(seq 1 $(($3 * 10))); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

recv_start() {	# recv_start ADDR LOG
	rm -f "$2" "$2.bound"
	/usr/bin/python3 "$T/recv.py" "$1" "$BIN/mcp" "$T/op.toml" "$2" &
	RECV_PID=$!
	for _ in $(seq 1 50); do [ -e "$2.bound" ] && return 0; sleep 0.1; done
	return 1
}
recv_stop() {
	kill "$RECV_PID" 2>/dev/null
	wait "$RECV_PID" 2>/dev/null
	RECV_PID=
}

one_run() {	# one_run NOTIFY_ADDR LABEL
	local addr=$1 label=$2 log=$T/notify-$2 pid rc
	recv_start "$addr" "$log" || { fail "$label: receiver did not bind"; return; }
	NOTIFY_SOCKET=$addr "$BIN/mcp-master" -c "$T/master.toml" >>"$T/master.log" 2>&1 &
	MASTER_PID=$!
	pid=$MASTER_PID
	wait_line "$log" "READY=1" 30 || fail "$label: no READY=1 within 30 s"
	grep -qx "$pid master-answers" "$log" ||
	    fail "$label: READY=1 came before the master answered: $(cat "$log")"
	grep -qx "$pid READY=1" "$log" || fail "$label: READY=1 not from the master ($pid): $(cat "$log")"
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	MASTER_PID=
	[ "$rc" = 0 ] || fail "$label: master exited $rc after SIGTERM"
	wait_line "$log" "STOPPING=1" 10 || fail "$label: no STOPPING=1 after SIGTERM"
	grep -qx "$pid STOPPING=1" "$log" || fail "$label: STOPPING=1 not from the master: $(cat "$log")"
	[ "$(grep -vc "^$pid " "$log")" = 0 ] || fail "$label: datagrams from other processes: $(cat "$log")"
	[ "$(wc -l <"$log")" = 3 ] || fail "$label: unexpected datagrams: $(cat "$log")"
	recv_stop
	rm -f "$addr"
}

one_run "$T/notify.sock" path
one_run "@mcp-it-msdnotify-$$" abstract

# the listener cannot be set up (its port is taken): exit 1, never READY=1
/usr/bin/python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(600)' "$PORT" &
HOLD_PID=$!
sleep 0.5
recv_start "$T/notify2.sock" "$T/notify-busy" || fail "busy: receiver did not bind"
NOTIFY_SOCKET=$T/notify2.sock timeout 60 "$BIN/mcp-master" -c "$T/master.toml" >"$T/busy.log" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "master with its port taken exited $rc, want 1: $(cat "$T/busy.log")"
grep -q "127.0.0.1:$PORT" "$T/busy.log" || fail "the error does not name the listener: $(cat "$T/busy.log")"
sleep 0.5
grep -q "READY=1" "$T/notify-busy" && fail "a master that could not listen said READY=1"
recv_stop
kill "$HOLD_PID" 2>/dev/null
wait "$HOLD_PID" 2>/dev/null
HOLD_PID=

grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/master.log" "$T/busy.log" &&
    fail "sanitizer report in the master's log"
[ $fails = 0 ] || { echo "$fails failure(s)"; tail -20 "$T/master.log"; exit 1; }
echo "master sd_notify: ok"
