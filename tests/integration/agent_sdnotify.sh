#!/bin/bash
# mcp-agent under a Type=notify unit, without systemd (issue 12): the test
# plays systemd's part.  It binds a datagram socket, starts the real agent
# with NOTIFY_SOCKET pointing at it (a path, then an abstract "@name"), and
# checks, from the sender's credentials (SO_PASSCRED), that the agent's own
# process sends READY=1, that its control socket already answers at that
# moment, that SIGTERM brings STOPPING=1, and that nothing else sends.  The
# agent's podman is a wrapper that records its environment: the children
# must not inherit NOTIFY_SOCKET (else conmon/podman could speak for the
# agent).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh

T=$(mktemp -d /tmp/mcp-it-sdnotify.XXXXXX)
RECV_PID=
cleanup() {
	[ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null
	agent_env_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# systemd's side: one line per datagram, "PID MESSAGE"; on READY=1 it also
# records whether the agent's socket accepts a connection right then.
cat >"$T/recv.py" <<'EOF'
import os, socket, struct, sys
addr, agent_sock, out = sys.argv[1], sys.argv[2], sys.argv[3]
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
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                c.connect(agent_sock)
                f.write("%d socket-answers\n" % pid)
            except OSError as e:
                f.write("%d socket-refused %s\n" % (pid, e))
            c.close()
        f.write("%d %s\n" % (pid, text))
EOF

agent_env_init "$T/agent" || exit 1
# podman that records whether NOTIFY_SOCKET reached it
cat >"$T/podman" <<EOF
#!/bin/sh
echo "NOTIFY_SOCKET=\${NOTIFY_SOCKET-unset}" >>"$T/podman-env"
exec podman "\$@"
EOF
chmod +x "$T/podman"
sed -i "s|^\[podman\]$|[podman]\nbinary = \"$T/podman\"|" "$AGENT_DIR/agent.toml"

wait_line() {	# wait_line FILE REGEX SECONDS
	local i
	for i in $(seq 1 $(($3 * 10))); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

one_run() {	# one_run NOTIFY_ADDR LABEL
	local addr=$1 label=$2 log=$T/notify-$2 pid
	rm -f "$log" "$log.bound"
	/usr/bin/python3 "$T/recv.py" "$addr" "$AGENT_DIR/state/agent.sock" "$log" &
	RECV_PID=$!
	for _ in $(seq 1 50); do [ -e "$log.bound" ] && break; sleep 0.1; done
	[ -e "$log.bound" ] || { fail "$label: receiver did not bind"; return; }
	NOTIFY_SOCKET=$addr agent_start || { fail "$label: agent did not start"; return; }
	pid=$AGENT_PID
	wait_line "$log" "READY=1" 15 || fail "$label: no READY=1 within 15 s"
	grep -qx "$pid socket-answers" "$log" ||
	    fail "$label: READY=1 came before the socket answered: $(cat "$log")"
	grep -qx "$pid READY=1" "$log" || fail "$label: READY=1 not from the agent ($pid): $(cat "$log")"
	# let the monitor run podman a few times
	sleep 2.5
	agent_stop
	wait_line "$log" "STOPPING=1" 10 || fail "$label: no STOPPING=1 after SIGTERM"
	grep -qx "$pid STOPPING=1" "$log" || fail "$label: STOPPING=1 not from the agent: $(cat "$log")"
	[ "$(grep -vc "^$pid " "$log")" = 0 ] || fail "$label: datagrams from other processes: $(cat "$log")"
	[ "$(wc -l <"$log")" = 3 ] || fail "$label: unexpected datagrams: $(cat "$log")"
	kill "$RECV_PID" 2>/dev/null
	wait "$RECV_PID" 2>/dev/null
	RECV_PID=
	rm -f "$addr"
}

one_run "$T/notify.sock" path
one_run "@mcp-it-sdnotify-$$" abstract

[ -s "$T/podman-env" ] || fail "the agent never ran podman (wrapper unused)"
if grep -v '^NOTIFY_SOCKET=unset$' "$T/podman-env" | grep -q .; then
	fail "children inherited NOTIFY_SOCKET: $(sort -u "$T/podman-env")"
fi

# without NOTIFY_SOCKET nothing changes: the agent starts and answers
agent_start || fail "agent without NOTIFY_SOCKET did not start"
agent_stop

[ $fails = 0 ] || { echo "$fails failure(s)"; tail -20 "$AGENT_DIR/agent.log"; exit 1; }
echo "sd_notify: ok ($(wc -l <"$T/podman-env") podman runs without NOTIFY_SOCKET)"
