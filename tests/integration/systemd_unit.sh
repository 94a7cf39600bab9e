#!/bin/bash
# mcp-agent.service under a real systemd (issue 12).  This machine's PID 1
# is not systemd, so the test boots one: the package is installed with
# apt into a throw-away Debian root (tests/lib/debroot.sh) together with
# systemd, and that root runs as a podman container whose PID 1 is
# /lib/systemd/systemd.  Checked there:
#   - `systemctl start` returns once the agent is ready (Type=notify): the
#     socket answers `mcp node list` right then; StateDirectory made
#     /var/lib/mcp (0711);
#   - KillMode=process: a daemon living in the unit's cgroup, as QEMU
#     (-daemonize) and HAProxy (-D) do, survives `systemctl restart` and
#     `systemctl stop`; the same unit with KillMode=control-group (a
#     drop-in) kills it, so the check can fail;
#   - Restart=on-failure: SIGKILL to the agent brings a new one;
#   - ExecStartPre --check-config: a broken configuration fails the start
#     with the error in the journal.
# That QEMU and HAProxy run in scopes of their own, outside the unit's
# cgroup, is checked under systemd by systemd_scope.sh (no mirror needed).
# Needs the Debian mirror (debootstrap, apt): only with
# MCP_TEST_DEBOOTSTRAP=1 (about 40 s once the root is cached), else skipped.
set -u
cd "$(dirname "$0")/../.."
if [ "${MCP_TEST_DEBOOTSTRAP:-0}" != 1 ]; then
	echo "needs the Debian mirror and a cached root: set MCP_TEST_DEBOOTSTRAP=1"
	exit 77
fi
. tests/lib/podman.sh
. tests/lib/debroot.sh

T=$(mktemp -d /tmp/mcp-it-systemd.XXXXXX)
NAME=mcp-it-systemd-$$
cleanup() {
	[ -f "$T/podman/podman.args" ] && penv rm -f -t 2 "$NAME" >/dev/null 2>&1
	podman_env_cleanup "$T/podman"
	debroot_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
penv() {
	local args
	mapfile -t args <"$T/podman/podman.args"
	CONTAINERS_CONF=$T/podman/containers.conf podman "${args[@]}" "$@"
}
in_box() { penv exec "$NAME" "$@"; }
wait_for() {	# wait_for SECONDS CMD...
	local n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

make -s all >/dev/null || { echo "make all failed"; exit 1; }
DEB=$(scripts/build-deb.sh "$T/out" | tail -n 1)
[ -f "$DEB" ] || { echo "build-deb.sh made no package"; exit 1; }

debroot_mount "$T/debroot" || { echo "no Debian root"; exit 1; }
cp "$DEB" "$DEBROOT/root/"
start=$(date +%s)
{ debroot_apt update && debroot_apt install -y --no-install-recommends \
    systemd systemd-sysv "/root/${DEB##*/}"; } >"$T/apt.log" 2>&1 ||
    { tail -20 "$T/apt.log"; echo "apt-get install failed"; exit 1; }
echo "apt-get install systemd + mcp: $(($(date +%s) - start)) s"
# a daemon started inside a unit's cgroup, as the agent's QEMU and HAProxy are
cat >"$DEBROOT/usr/local/bin/daemon-in-unit" <<'EOF'
#!/bin/sh
main=$(systemctl show -P MainPID "$1")
while IFS=: read -r _ ctl path; do
	case $ctl in
	name=systemd) echo $$ >"/sys/fs/cgroup/systemd$path/cgroup.procs" ;;
	"") [ -d /sys/fs/cgroup/unified ] && echo $$ >"/sys/fs/cgroup/unified$path/cgroup.procs"
	    [ -f /sys/fs/cgroup/cgroup.procs ] && echo $$ >"/sys/fs/cgroup$path/cgroup.procs" ;;
	esac
done <"/proc/$main/cgroup"
setsid sleep 1000 </dev/null >/dev/null 2>&1 &
echo $!
EOF
chmod 0755 "$DEBROOT/usr/local/bin/daemon-in-unit"
debroot_unmount_aux

podman_env_init "$T/podman" || exit 1
penv run -d --name "$NAME" --systemd=always --privileged --network none \
    --rootfs "$DEBROOT" /lib/systemd/systemd >/dev/null || { echo "podman run systemd failed"; exit 1; }
state() { in_box systemctl is-system-running 2>/dev/null | grep -qE '^(running|degraded)$'; }
wait_for 60 state || { echo "systemd did not come up"; penv logs "$NAME" | tail; exit 1; }

# --- Type=notify, StateDirectory ---------------------------------------------
in_box systemctl start mcp-agent || fail "systemctl start mcp-agent"
in_box mcp node list >"$T/nodes" 2>&1 || fail "socket not answering when start returned: $(cat "$T/nodes")"
[ "$(in_box stat -c %a /var/lib/mcp)" = 711 ] || fail "/var/lib/mcp mode $(in_box stat -c %a /var/lib/mcp)"
in_box journalctl -u mcp-agent --no-pager | grep -q 'ready: socket' || fail "no ready line in the journal"
pid1=$(in_box systemctl show -P MainPID mcp-agent)

# --- KillMode=process -----------------------------------------------------
d=$(in_box /usr/local/bin/daemon-in-unit mcp-agent)
[ -n "$d" ] || fail "could not start a daemon in the unit's cgroup"
in_box systemctl status mcp-agent --no-pager 2>&1 | grep -q "─$d sleep" ||
    fail "the daemon is not in the unit's cgroup"
in_box systemctl restart mcp-agent || fail "systemctl restart"
pid2=$(in_box systemctl show -P MainPID mcp-agent)
[ "$pid2" != "$pid1" ] && [ "$pid2" != 0 ] || fail "restart did not start a new agent ($pid1 -> $pid2)"
in_box sh -c "kill -0 $d" || fail "restart killed the daemon (KillMode)"
in_box systemctl stop mcp-agent || fail "systemctl stop"
in_box sh -c "kill -0 $d" || fail "stop killed the daemon (KillMode)"
in_box systemctl start mcp-agent || fail "systemctl start after stop"
# the check can fail: the default KillMode kills it
in_box mkdir -p /run/systemd/system/mcp-agent.service.d
in_box sh -c 'printf "[Service]\nKillMode=control-group\n" >/run/systemd/system/mcp-agent.service.d/killmode.conf'
in_box systemctl daemon-reload
in_box systemctl restart mcp-agent
in_box sh -c "kill -0 $d" 2>/dev/null && fail "control-group KillMode did not kill the daemon: the check is blind"
in_box rm -rf /run/systemd/system/mcp-agent.service.d
in_box systemctl daemon-reload

# --- Restart=on-failure -------------------------------------------------------
pid3=$(in_box systemctl show -P MainPID mcp-agent)
in_box sh -c "kill -KILL $pid3"
restarted() {
	local p
	p=$(in_box systemctl show -P MainPID mcp-agent)
	[ "$p" != 0 ] && [ "$p" != "$pid3" ] && [ "$(in_box systemctl is-active mcp-agent)" = active ]
}
wait_for 20 restarted || fail "no restart after SIGKILL"

# --- ExecStartPre --check-config ------------------------------------------------
in_box systemctl stop mcp-agent
in_box sh -c 'echo "bogus = 1" >>/etc/mcp/agent.toml'
in_box systemctl start mcp-agent 2>/dev/null && fail "a broken configuration started"
in_box journalctl -u mcp-agent --no-pager | grep -q 'bogus' || fail "the journal does not name the broken key"

[ $fails = 0 ] || { echo "$fails failure(s)"; in_box journalctl -u mcp-agent --no-pager | tail -20; exit 1; }
echo "systemd unit: ok"
