#!/bin/bash
# The agent's live view of its containers (issue 7: `mcp ps` from a live
# view; a slow podman): ps/status answer from memory kept current by
# `podman events`; a change behind the agent's back is seen within ~2 s
# while the stream runs; events lost while the stream is stalled are made
# up by the periodic resync, and a dead stream is restarted with a fresh
# listing; right after an operation ps shows its result; with podman's
# storage lock held by another process, ps/status/node list still answer
# within the listing bound, exit 0, and show "unknown" with the reason
# (the node is not called DOWN), and recover when the lock goes.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh

T=$(mktemp -d /tmp/mcp-it-live.XXXXXX)
LOCK_PID=""
EV_STOPPED=""
cleanup() {
	[ -n "$LOCK_PID" ] && kill "$LOCK_PID" 2>/dev/null
	[ -n "$EV_STOPPED" ] && kill -CONT "$EV_STOPPED" 2>/dev/null
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT

hello_registry "$T" v1.0.0 || exit 1
podman_env_cleanup "$T/img/podman"
agent_env_init "$T/agent" "$REGISTRY" || exit 1
LIST_TIMEOUT=3
# set_podman_keys RESYNC: the live view's knobs in [podman]
set_podman_keys() {
	sed -i '/^list_timeout = /d; /^resync = /d' "$AGENT_DIR/agent.toml"
	sed -i "/^insecure_registries = /a list_timeout = $LIST_TIMEOUT\nresync = $1" \
		"$AGENT_DIR/agent.toml"
}
set_podman_keys 3600	# phase 1: only events (or an operation) can update it
agent_start || exit 1

cat >"$T/lv.toml" <<EOF
name = "lv"
[[components]]
name = "web"
image = "$REGISTRY/hello:v1.0.0"
restart = "no"
EOF
INST=lv-web
observed() { json_get "$(mcp --json ps)" '[c["observed"] for c in j if c["service"]=="lv"][0]'; }
is_observed() { test "$(observed)" = "$1"; }
events_pid() { cat "$AGENT_DIR/state/podman-events.pid" 2>/dev/null; }
is_events_child() { # PID: a live `podman events` child of our agent
	[ -n "$1" ] && [ "$(awk '/^PPid:/ {print $2}' "/proc/$1/status" 2>/dev/null)" = "$AGENT_PID" ] &&
		tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q " events "
}
events_child_running() { is_events_child "$(events_pid)"; }
new_events_child() { # OLD_PID: a different child runs now
	local p
	p=$(events_pid)
	[ -n "$p" ] && [ "$p" != "$1" ] && is_events_child "$p"
}
ps_quiet() { # exit 0 and nothing on stderr
	local err
	err=$(mcp ps 2>&1 >/dev/null) && [ -z "$err" ]
}
# ms_of VAR CMD...: run CMD, put its wall time in ms into VAR, return its status
ms_of() {
	local var=$1 t0 rc
	shift
	t0=$(date +%s%N)
	"$@"
	rc=$?
	printf -v "$var" '%d' $((($(date +%s%N) - t0) / 1000000))
	return $rc
}

# --- an operation's result is visible at once
check "deploy lv" mcp deploy "$T/lv.toml"
check "running right after deploy" is_observed running
check "stop" mcp stop lv
check "stopped right after mcp stop" is_observed stopped
check "start" mcp start lv
check "running right after mcp start" is_observed running

# --- the events stream: its child is ours and named in the state dir
check "events child pid recorded" wait_for 5 events_child_running
P1=$(events_pid)
check "the log names the events child" grep -q "following podman events (pid $P1)" "$AGENT_DIR/agent.log"

# --- with the stream alive a change behind our back is seen within ~2 s
penv_podman stop -t 0 "$INST" >/dev/null
ms_of seen wait_for 5 is_observed stopped
check "stop behind the agent's back seen through events (${seen} ms, resync 3600 s)" \
	test $? = 0 -a "$seen" -le 3000
penv_podman start "$INST" >/dev/null
check "start behind the agent's back seen through events" wait_for 5 is_observed running

# --- a stalled stream loses events: nothing else updates the view here...
sleep 2	# the start's own events are through (a late one re-inspects: truth)
kill -STOP "$P1"
EV_STOPPED=$P1
penv_podman stop -t 0 "$INST" >/dev/null
sleep 3
check "while the stream is stalled the change is not seen (resync 3600 s)" is_observed running
# ...until the stream dies: the agent lists again and restarts it
kill -KILL "$P1"
kill -CONT "$P1" 2>/dev/null
EV_STOPPED=""
ms_of seen wait_for 10 is_observed stopped
check "after the stream died the change is seen by the resync (${seen} ms)" test $? = 0
check "a new events child of ours runs" wait_for 10 new_events_child "$P1"
check "the gap was logged" grep -q "live view: podman events: killed by signal 9; listing again" "$AGENT_DIR/agent.log"
penv_podman start "$INST" >/dev/null
check "the restarted stream sees changes" wait_for 5 is_observed running

# --- phase 2: a short resync makes up for lost events while the stream is stalled
agent_stop
set_podman_keys 3
check "agent restarts with resync = 3" agent_start
check "running after agent restart" is_observed running
check "events child of the new agent" wait_for 5 events_child_running
P3=$(events_pid)
kill -STOP "$P3"
EV_STOPPED=$P3
penv_podman stop -t 0 "$INST" >/dev/null
ms_of seen wait_for 10 is_observed stopped
check "stalled stream: change seen within the resync interval (${seen} ms <= 3 s + bound)" \
	test $? = 0 -a "$seen" -le $((3000 + LIST_TIMEOUT * 1000 + 1500))
kill -CONT "$P3"
EV_STOPPED=""
check "start again" mcp start lv

# --- podman's storage lock held by someone else
cat >"$T/hold.py" <<'EOF'
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX)   # what containers/storage takes (fcntl F_SETLKW)
print("held", flush=True)
time.sleep(600)
EOF
/usr/bin/python3 "$T/hold.py" "$AGENT_DIR/podman/root/storage.lock" >"$T/hold.out" &
LOCK_PID=$!
check "storage lock held" wait_for 5 grep -q held "$T/hold.out"
ms_of raw_ms timeout 4 env CONTAINERS_CONF="$AGENT_DIR/podman/containers.conf" \
	podman $(tr '\n' ' ' <"$AGENT_DIR/podman/podman.args") ps -a --format json >/dev/null 2>&1
check "podman ps itself hangs on that lock (timeout after ${raw_ms} ms)" test $? = 124
bound=$((LIST_TIMEOUT * 1000 + 2500))
slow=0 unknown=0
for _ in $(seq 1 20); do
	ms_of t mcp --json ps >"$T/ps.json" 2>"$T/ps.err"
	rc=$?
	[ $rc = 0 ] || { echo "mcp ps exit $rc: $(cat "$T/ps.err")"; slow=1; break; }
	[ "$t" -le "$bound" ] || { echo "mcp ps took $t ms (bound $bound)"; slow=1; }
	if [ "$(json_get "$(cat "$T/ps.json")" '[c["observed"] for c in j][0]')" = unknown ]; then
		unknown=1
		break
	fi
	sleep 0.5
done
check "every mcp ps answered within the bound and exited 0 with the lock held" test $slow = 0
check "components shown unknown (within the resync interval)" test $unknown = 1
check "ps --json carries the reason" grep -q "podman did not answer within $LIST_TIMEOUT s" "$T/ps.json"
ms_of t mcp ps >"$T/ps.txt" 2>"$T/ps.err"
check "mcp ps (table) exits 0 in ${t} ms" test $? = 0 -a "$t" -le "$bound"
cat "$T/ps.txt" "$T/ps.err"
check "table shows unknown" grep -qE "^lv +web +local +container +unknown " "$T/ps.txt"
check "stderr says why" grep -q "node local: observed state unknown: containers: podman did not answer within $LIST_TIMEOUT s" "$T/ps.err"
ms_of t mcp status lv >"$T/st.txt" 2>&1
check "mcp status exits 0 in ${t} ms" test $? = 0 -a "$t" -le "$bound"
check "status shows unknown and why" sh -c "grep -q 'observed unknown' $T/st.txt && grep -q 'did not answer' $T/st.txt"
ms_of t mcp node list >"$T/node.txt" 2>&1
cat "$T/node.txt"
check "node list: the node is up (${t} ms), not DOWN" sh -c "! grep -q DOWN $T/node.txt && grep -qE '^local +.* ok ' $T/node.txt"
kill "$LOCK_PID"
wait "$LOCK_PID" 2>/dev/null
LOCK_PID=""
check "observed again once the lock is released" wait_for 15 is_observed running
check "ps exits 0 without a note" ps_quiet

check "undeploy" mcp undeploy lv
check "ps right after undeploy: nothing" test "$(json_get "$(mcp --json ps)" 'len(j)')" = 0
P4=$(events_pid)
check "agent stops cleanly" agent_stop
check "its events child ($P4) went with it" test -n "$P4" -a ! -d "/proc/$P4"
check "and its pid file" test ! -e "$AGENT_DIR/state/podman-events.pid"
check "agent log has no sanitizer reports" sh -c "! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$AGENT_DIR/agent.log'"
echo "--- the agent's live view log:"
grep "live view" "$AGENT_DIR/agent.log"
t_done
