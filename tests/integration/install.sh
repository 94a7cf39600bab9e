#!/bin/bash
# make install (issue 12): into a temporary DESTDIR, with the default
# PREFIX (/usr/local, configuration in /usr/local/etc) and with PREFIX=/usr
# (configuration in /etc): exactly the expected tree, modes, the unit's
# paths filled in (mcp-agent.service and mcp-master.service), the installed agent.toml pointing at the installed
# mcp-init (static) and valid for the installed mcp-agent, the unit
# passing `systemd-analyze verify` (man pages found in the tree), and a
# second install keeping an edited configuration.
set -u
cd "$(dirname "$0")/../.."
T=$(mktemp -d /tmp/mcp-it-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

make -s all >/dev/null || { echo "make all failed"; exit 1; }

check_tree() {	# check_tree DESTDIR PREFIX SYSCONFDIR
	local d=$1 p=$2 etc=$3 want got f out
	want=$(sort <<EOF
$etc/mcp/agent.toml
$etc/mcp/master.toml
$etc/mcp/mcp.toml
$p/bin/mcp
$p/lib/mcp/fetch-kernel
$p/lib/mcp/mcp-init
$p/lib/systemd/system/mcp-agent.service
$p/lib/systemd/system/mcp-master.service
$p/sbin/mcp-agent
$p/share/bash-completion/completions/mcp
$p/share/doc/mcp/README.md
$p/share/doc/mcp/examples/agent.toml
$p/share/doc/mcp/examples/master.toml
$p/share/doc/mcp/examples/mcp.toml
$p/share/man/man1/mcp.1
$p/share/man/man5/mcp-agent.toml.5
$p/share/man/man5/mcp-service.toml.5
$p/share/man/man8/mcp-agent.8
$p/share/man/man8/mcp-init.8
$p/share/man/man8/mcp-master.8
$p/sbin/mcp-master
EOF
)
	got=$(cd "$d" && find . -type f | sed 's|^\.||' | sort)
	[ "$got" = "$want" ] || fail "PREFIX=$p tree differs:$(diff <(echo "$want") <(echo "$got") | sed 's/^/  /')"
	for f in bin/mcp sbin/mcp-agent sbin/mcp-master lib/mcp/mcp-init lib/mcp/fetch-kernel; do
		[ -x "$d$p/$f" ] || fail "$p/$f not executable"
	done
	for f in $(cd "$d" && find . -type f \( -path '*/share/*' -o -path '*/etc/*' -o -name '*.service' \)); do
		[ "$(stat -c %a "$d/$f")" = 644 ] || fail "$f mode $(stat -c %a "$d/$f"), want 644"
	done
	# mcp-init stays static: no program interpreter
	if readelf -l "$d$p/lib/mcp/mcp-init" | grep -q INTERP; then
		fail "$p/lib/mcp/mcp-init is dynamically linked"
	fi
	grep -qx "ExecStart=$p/sbin/mcp-agent -c $etc/mcp/agent.toml" \
	    "$d$p/lib/systemd/system/mcp-agent.service" ||
	    fail "unit ExecStart not filled in for PREFIX=$p"
	grep -qx "ExecStart=$p/sbin/mcp-master -c $etc/mcp/master.toml" \
	    "$d$p/lib/systemd/system/mcp-master.service" ||
	    fail "master unit ExecStart not filled in for PREFIX=$p"
	grep -q '@[A-Z]*@' "$d$p"/lib/systemd/system/*.service &&
	    fail "a unit has unsubstituted @VARS@"
	grep -qx "mcp_init = \"$p/lib/mcp/mcp-init\"" "$d$etc/mcp/agent.toml" ||
	    fail "installed agent.toml does not point at $p/lib/mcp/mcp-init"
	"$d$p/bin/mcp" --version >/dev/null || fail "installed mcp --version failed"
	"$d$p/sbin/mcp-agent" -c "$d$etc/mcp/agent.toml" --check-config >/dev/null ||
	    fail "installed agent.toml does not pass --check-config"
	"$d$p/sbin/mcp-master" -c "$d$etc/mcp/master.toml" --check-config >/dev/null ||
	    fail "installed master.toml does not pass --check-config"
	if command -v systemd-analyze >/dev/null; then
		# the installed units, with their paths moved into DESTDIR
		for u in mcp-agent mcp-master; do
			sed -e "s|$p/sbin/|$d$p/sbin/|g" -e "s|$etc/mcp/|$d$etc/mcp/|g" \
			    "$d$p/lib/systemd/system/$u.service" >"$T/$u.service"
			out=$(MANPATH=$d$p/share/man systemd-analyze verify "$T/$u.service" 2>&1) ||
			    fail "systemd-analyze verify $u (PREFIX=$p): $out"
			[ -z "$out" ] || fail "systemd-analyze verify $u (PREFIX=$p) warns: $out"
		done
	else
		echo "systemd-analyze not installed: unit not verified"
	fi
}

make -s install DESTDIR="$T/a" >"$T/log" 2>&1 || { cat "$T/log"; exit 1; }
check_tree "$T/a" /usr/local /usr/local/etc

make -s install DESTDIR="$T/b" PREFIX=/usr >"$T/log" 2>&1 || { cat "$T/log"; exit 1; }
check_tree "$T/b" /usr /etc

# reinstalling keeps the operator's configuration
echo '# edited' >>"$T/b/etc/mcp/agent.toml"
make -s install DESTDIR="$T/b" PREFIX=/usr >"$T/log" 2>&1 || { cat "$T/log"; exit 1; }
tail -n 1 "$T/b/etc/mcp/agent.toml" | grep -qx '# edited' ||
    fail "make install overwrote an existing /etc/mcp/agent.toml"

[ $fails = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "install: ok"
