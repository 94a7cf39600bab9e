#!/bin/bash
# Signals, log forgery and child hygiene (issue 7).  A running agent is sent
# every signal a daemon can be sent that kills by default: each is logged
# (or, for SIGPIPE/SIGXFSZ, ignored) and the agent still answers `mcp ps`;
# SIGTERM, SIGINT and SIGQUIT each end it with a log line naming the
# signal and its sender.  A Deploy whose source holds a newline and a fake
# log line produces one escaped log line.  Every podman the agent runs
# (through a recording wrapper first in PATH) starts with no signal blocked,
# none ignored and no descriptor but stdin, stdout and stderr, although the
# agent blocks signals in its threads and holds descriptors inherited
# without O_CLOEXEC (fd 9 here).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh

T=$(mktemp -d /tmp/mcp-it-signals.XXXXXX)
cleanup() {
	agent_env_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

REAL_PODMAN=$(command -v podman) || { echo "podman not found"; exit 1; }
mkdir -p "$T/wrap"
# perl, not sh: a shell clears its signal mask on start, hiding what it got
cat >"$T/wrap/podman" <<'EOF_WRAP'
#!/usr/bin/perl
# records the signal state and descriptors podman is started with, then runs it
my %st;
open(my $s, '<', '/proc/self/status') or die "status: $!";
while (<$s>) { $st{$1} = hex($2) if /^(SigBlk|SigIgn):\s*([0-9a-f]+)/; }
close $s;
opendir(my $d, '/proc/self/fd') or die "fd: $!";
my $dfd = fileno($d);
my @fds = sort { $a <=> $b } grep { /^\d+$/ && $_ != $dfd } readdir $d;
closedir $d;
# perl itself ignores SIGFPE (bit 7) at start-up
my $ign = $st{SigIgn} & ~0x80;
my $ok = ($st{SigBlk} == 0 && $ign == 0 && "@fds" eq "0 1 2") ? "clean" : "DIRTY";
open(my $o, '>>', $ENV{MCP_TEST_CHILD_LOG}) or die "log: $!";
printf $o "%s SigBlk=%x SigIgn=%x fds=%s argv=%s\n", $ok, $st{SigBlk}, $st{SigIgn},
	join(",", @fds), join(" ", @ARGV);
close $o;
exec($ENV{MCP_TEST_REAL_PODMAN}, @ARGV) or die "exec: $!";
EOF_WRAP
chmod +x "$T/wrap/podman"

agent_env_init "$T/agent" || exit 1
LOG=$AGENT_DIR/agent.log
start() {
	: >"$T/children.log"
	MCP_TEST_CHILD_LOG="$T/children.log" MCP_TEST_REAL_PODMAN="$REAL_PODMAN" \
		PATH="$T/wrap:$PATH" agent_start 9<"$T/wrap/podman"
}
start || exit 1
PID=$(cat "$AGENT_DIR/agent.pid")

# --- signals that must not end the agent ---
alive() { kill -0 "$PID" 2>/dev/null && mcp ps >/dev/null; }
logged() { # PATTERN: a line of the agent's log matches (within 5 s)
	wait_for 5 grep -qE -- "$1" "$LOG"
}
for sig in HUP USR1 USR2 ALRM VTALRM PROF IO PWR STKFLT XCPU RTMIN RTMIN+5 RTMAX; do
	kill -s "$sig" "$PID"
	case $sig in
	IO) name=SIGPOLL ;;	# the same number; glibc's name
	RTMIN) name='SIGRTMIN\+0' ;;
	RTMIN+5) name='SIGRTMIN\+5' ;;
	RTMAX) name="SIGRTMIN\\+$(( $(kill -l RTMAX) - $(kill -l RTMIN) ))" ;;
	*) name=SIG$sig ;;
	esac
	check "SIG$sig is logged with its sender" logged "info: $name from pid [0-9]+ \(uid [0-9]+\): ignored"
	check "after SIG$sig the agent still answers mcp ps" alive
done
check "SIGHUP says there is no reload" grep -q "SIGHUP from pid .*no configuration reload" "$LOG"
for sig in PIPE XFSZ; do
	kill -s "$sig" "$PID"
	sleep 0.3
	check "SIG$sig is ignored: the agent still answers mcp ps" alive
done
# a burst of one signal: still alive, each delivery handled
for _ in 1 2 3 4 5; do kill -s USR1 "$PID"; done
check "after a burst of SIGUSR1 the agent still answers" alive

# --- a Deploy's source cannot forge a log line ---
FORGED="2026-12-02T03:00:00.000Z mcp-agent warn: ALERT root login from 10.6.6.6"
REQ=$(/usr/bin/python3 -c 'import json,sys; print(json.dumps({"definition": sys.argv[1], "source": sys.argv[2]}))' \
	'name = "forge"
node = "local"
active = false

[[components]]
name = "forge"
image = "127.0.0.1:9/none:v1"' "forge.toml
$FORGED"$'\r\e[2K')
out=$(/usr/bin/python3 tests/interop/agent_client.py --address "unix:$AGENT_DIR/state/agent.sock" \
	--method Deploy --request "$REQ" --timeout 60 2>&1)
check "deploy with a hostile source is accepted (active = false)" test $? = 0
echo "$out" | head -5
check "the forged text is on exactly one log line" test "$(grep -c 'ALERT root login' "$LOG")" = 1
check "no log line starts with the forged text" sh -c "! grep -q '^2026-12-02T03:00:00.000Z' '$LOG'"
check "that line shows the newline, CR and ESC as \\n, \\r and \\x1b" \
	grep -qF "(forge.toml\\n$FORGED\\r\\x1b[2K)" "$LOG"
check "the log holds no control character" sh -c "! LC_ALL=C grep -q '[[:cntrl:]]' '$LOG'"
grep 'ALERT' "$LOG"

# --- every podman the agent ran started clean ---
wait_for 10 test -s "$T/children.log"
check "the agent ran podman (through the wrapper)" test -s "$T/children.log"
check "every podman started with no signal blocked or ignored and only fds 0-2" \
	sh -c "! grep -v '^clean ' '$T/children.log'"
head -3 "$T/children.log"
grep -v '^clean ' "$T/children.log" | head -5

# --- signals that end it, each logged with its name ---
for sig in TERM INT QUIT; do
	kill -s "$sig" "$PID"
	for _ in $(seq 1 150); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
	check "SIG$sig ends the agent" sh -c "! kill -0 $PID 2>/dev/null"
	wait "$PID" 2>/dev/null
	check "the log says: terminating on SIG$sig, and who sent it" \
		grep -qE "info: terminating on SIG$sig from pid [0-9]+ \(uid [0-9]+\): shutting down" "$LOG"
	rm -f "$AGENT_DIR/agent.pid"
	if [ "$sig" != QUIT ]; then
		start || exit 1
		PID=$(cat "$AGENT_DIR/agent.pid")
	fi
done
check "no sanitizer report in the agent's log" sh -c "! grep -q 'Sanitizer' '$LOG'"
t_done
