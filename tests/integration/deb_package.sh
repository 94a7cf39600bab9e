#!/bin/bash
# The Debian package (issue 12), built by the project's own command
# (scripts/build-deb.sh, `make deb`):
#   - lintian reports no error and no warning;
#   - control: ${shlibs:Depends} computed (libgrpc, libc...), podman and
#     runc in Depends, qemu-system-x86 and haproxy in Recommends; every
#     /etc/mcp/*.toml a conffile;
#   - installed with `dpkg --root` into a throw-away root (maintainer
#     scripts run chrootless with DPKG_ROOT): the files are where the
#     package says, `mcp --version` and `mcp-agent -c /etc/mcp/agent.toml
#     --check-config` (and mcp-master's) work from there, postinst says how to fetch the guest
#     kernel and downloads nothing, an edited conffile survives a
#     reinstall, and purge leaves nothing behind (the fetched kernel
#     included);
#   - with MCP_TEST_DEBOOTSTRAP=1 also in a real Debian root
#     (tests/lib/debroot.sh: debootstrap --variant=minbase bookworm, cached
#     in /var/cache/mcp-test, about 100 s the first time, used through an
#     overlay mount; 10-20 s a run once cached); apt installs
#     the package and its Depends from the Debian mirror (apt's archive
#     cached too), the binaries run chrooted, `apt-get purge` removes it.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/debroot.sh
T=$(mktemp -d /tmp/mcp-it-deb.XXXXXX)
cleanup() {
	debroot_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

for t in dpkg-deb dpkg-shlibdeps fakeroot lintian; do
	command -v "$t" >/dev/null || { echo "$t not installed"; exit 77; }
done
make -s all >/dev/null || { echo "make all failed"; exit 1; }
start=$(date +%s%N)
DEB=$(scripts/build-deb.sh "$T/out" | tail -n 1)
echo "build-deb: $(( ($(date +%s%N) - start) / 1000000 )) ms"
[ -f "$DEB" ] || { echo "build-deb.sh made no package"; exit 1; }
VERSION=$(sed -n 's/^#define MCP_VERSION "\(.*\)"$/\1/p' lib/util/version.h)
[ "$(dpkg-deb -f "$DEB" Version)" = "$VERSION" ] || fail "Version $(dpkg-deb -f "$DEB" Version), want $VERSION"

# --- lintian ---------------------------------------------------------------
lintian --fail-on error,warning --tag-display-limit 0 "$DEB" >"$T/lintian" 2>&1
rc=$?
lint=$(grep -v 'running with root privileges' "$T/lintian")
[ "$rc" = 0 ] || fail "lintian (exit $rc): $lint"
grep -q '^[EW]:' <<<"$lint" && fail "lintian: $lint"

# --- control ---------------------------------------------------------------
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
RECOMMENDS=$(dpkg-deb -f "$DEB" Recommends)
for d in podman runc libgrpc libc6 libsqlite3 libssl3 libprotobuf-c; do
	grep -qE "(^|, )$d" <<<"$DEPENDS" || fail "Depends lacks $d: $DEPENDS"
done
for d in qemu-system-x86 haproxy; do
	grep -qE "(^|, )$d(,|$| )" <<<"$RECOMMENDS" || fail "Recommends lacks $d: $RECOMMENDS"
done
mkdir -p "$T/ctl"
dpkg-deb -e "$DEB" "$T/ctl"
[ "$(cat "$T/ctl/conffiles")" = "$(printf '/etc/mcp/agent.toml\n/etc/mcp/master.toml\n/etc/mcp/mcp.toml')" ] ||
    fail "conffiles: $(cat "$T/ctl/conffiles")"
grep -qE 'curl|wget|fetch-kernel$|apt-get' "$T/ctl/postinst" "$T/ctl/postrm" &&
    fail "maintainer scripts download something"
dpkg-deb -c "$DEB" | grep ' \./usr/lib/mcp/mcp-init$' >/dev/null || fail "no /usr/lib/mcp/mcp-init"

# --- dpkg --root: install, run, reinstall, purge ---------------------------
R=$T/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/triggers" "$R/var/log"
: >"$R/var/lib/dpkg/status"
: >"$R/var/lib/dpkg/available"
dpkgr() { dpkg --root="$R" --force-script-chrootless --force-depends "$@"; }
start=$(date +%s%N)
out=$(dpkgr -i "$DEB" 2>&1) || fail "dpkg --root -i: $out"
echo "dpkg --root -i: $(( ($(date +%s%N) - start) / 1000000 )) ms"
grep -q 'run /usr/lib/mcp/fetch-kernel' <<<"$out" || fail "postinst did not say how to fetch the kernel: $out"
[ -e "$R/var/lib/mcp/kernel" ] && fail "postinst created the kernel directory"
[ "$(dpkg-query --root="$R" -W -f='${Status}' mcp)" = "install ok installed" ] ||
    fail "mcp not installed: $(dpkg-query --root="$R" -W -f='${Status}' mcp)"
for f in /usr/bin/mcp /usr/sbin/mcp-agent /usr/sbin/mcp-master /usr/lib/mcp/mcp-init \
    /usr/lib/mcp/fetch-kernel /etc/mcp/agent.toml /etc/mcp/master.toml /etc/mcp/mcp.toml \
    /lib/systemd/system/mcp-agent.service /lib/systemd/system/mcp-master.service \
    /usr/share/man/man8/mcp-master.8.gz /usr/share/doc/mcp/examples/master.toml \
    /usr/share/man/man1/mcp.1.gz /usr/share/man/man8/mcp-agent.8.gz \
    /usr/share/man/man8/mcp-init.8.gz /usr/share/man/man5/mcp-service.toml.5.gz \
    /usr/share/man/man5/mcp-agent.toml.5.gz /usr/share/bash-completion/completions/mcp \
    /usr/share/doc/mcp/copyright /usr/share/doc/mcp/README.Debian \
    /usr/share/doc/mcp/examples/agent.toml; do
	[ -f "$R$f" ] || fail "$f not installed"
done
[ "$("$R/usr/bin/mcp" --version)" = "mcp $VERSION" ] || fail "installed mcp --version"
[ "$("$R/usr/sbin/mcp-agent" --version)" = "mcp-agent $VERSION" ] || fail "installed mcp-agent --version"
[ "$("$R/usr/sbin/mcp-master" --version)" = "mcp-master $VERSION" ] || fail "installed mcp-master --version"
out=$("$R/usr/sbin/mcp-master" -c "$R/etc/mcp/master.toml" --check-config 2>&1) ||
    fail "installed master.toml fails --check-config: $out"
out=$("$R/usr/sbin/mcp-agent" -c "$R/etc/mcp/agent.toml" --check-config 2>&1) ||
    fail "installed agent.toml fails --check-config: $out"
grep -qx 'mcp_init = "/usr/lib/mcp/mcp-init"' "$R/etc/mcp/agent.toml" ||
    fail "/etc/mcp/agent.toml does not point at /usr/lib/mcp/mcp-init"
grep -qx 'ExecStart=/usr/sbin/mcp-agent -c /etc/mcp/agent.toml' "$R/lib/systemd/system/mcp-agent.service" ||
    fail "unit ExecStart"
grep -qx 'ExecStart=/usr/sbin/mcp-master -c /etc/mcp/master.toml' "$R/lib/systemd/system/mcp-master.service" ||
    fail "master unit ExecStart"
man -l "$R/usr/share/man/man1/mcp.1.gz" 2>/dev/null | grep -q 'undeploy' || fail "mcp.1.gz does not render"
bash -n "$R/usr/share/bash-completion/completions/mcp" || fail "completion is not valid bash"

echo '# operator edit' >>"$R/etc/mcp/agent.toml"
out=$(dpkgr -i "$DEB" 2>&1) || fail "reinstall: $out"
tail -n 1 "$R/etc/mcp/agent.toml" | grep -qx '# operator edit' || fail "reinstall replaced the edited conffile"

mkdir -p "$R/var/lib/mcp/kernel"
echo fake >"$R/var/lib/mcp/kernel/vmlinux"
out=$(dpkgr --purge mcp 2>&1) || fail "purge: $out"
left=$(cd "$R" && find . -mindepth 1 ! -path './var/lib/dpkg*' ! -path './var/log*' \
    ! -path ./var/lib/mcp ! -path ./var/lib ! -path ./var | sort)
[ -z "$left" ] || fail "purge left: $left"
[ -z "$(dpkg-query --root="$R" -W -f='${Status}' mcp 2>/dev/null | grep installed)" ] ||
    fail "mcp still known after purge"

# --- optional: a real Debian root ----------------------------------------
if [ "${MCP_TEST_DEBOOTSTRAP:-0}" = 1 ]; then
	debroot_mount "$T/debroot" || { fail "Debian root"; exit 1; }
	cp "$DEB" "$DEBROOT/tmp/"
	start=$(date +%s)
	{ debroot_apt update && debroot_apt install -y --no-install-recommends "/tmp/${DEB##*/}"; } \
	    >"$T/apt.log" 2>&1 || { tail -20 "$T/apt.log"; fail "apt-get install in the Debian root"; }
	echo "apt-get install (with Depends) in the Debian root: $(($(date +%s) - start)) s"
	[ "$(chroot "$DEBROOT" mcp --version)" = "mcp $VERSION" ] || fail "chroot: mcp --version"
	chroot "$DEBROOT" mcp-agent -c /etc/mcp/agent.toml --check-config || fail "chroot: --check-config"
	chroot "$DEBROOT" mcp-master -c /etc/mcp/master.toml --check-config || fail "chroot: master --check-config"
	debroot_apt purge -y mcp >>"$T/apt.log" 2>&1 || fail "chroot: apt-get purge mcp"
	[ -e "$DEBROOT/usr/bin/mcp" ] || [ -e "$DEBROOT/etc/mcp" ] && fail "chroot: files left after purge"
fi

[ $fails = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "deb package: ok ($DEB, $(stat -c %s "$DEB") bytes)"
