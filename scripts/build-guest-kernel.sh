#!/bin/sh
# scripts/build-guest-kernel.sh [--print-key] [--config FRAGMENT] [DIR]:
# build the unikernel guest kernel (SPEC §4.1) from Debian's linux-source-6.1
# package: `make tinyconfig`, merge guest/kernel.config onto it, build vmlinux.
#
# Writes DIR/<source-version>-<config-hash>/ (DIR default /var/lib/mcp/kernel):
#   vmlinux     uncompressed, PVH-bootable, everything built in (no modules)
#   config      the full .config it was built from
#   manifest    key=value lines the image builder and the runtime read:
#                 source=linux-source-6.1 <Debian version>
#                 release=<uname -r of the guest>
#                 config_sha256=<hash of the fragment and this recipe>
#                 modules=none
#                 features=<pvh virtio-pci virtio-mmio acpi-button evdev 9p ...>
# and points DIR/minimal at it (the runtime's default kernel when present).
# The key changes when the source package's version or the fragment (or this
# script's recipe) changes: built once per machine, again only then. A build
# takes about 10 minutes on 2 cores; it runs under nice -n 19 with make -j2
# (MCP_KERNEL_JOBS overrides -j) and prints progress. The unpacked source is
# kept in DIR/.src/<source-version>/ so a changed fragment rebuilds
# incrementally; delete it to reclaim ~1.5 GB.
#
# --print-key   print "key=... dir=... cache=hit|miss" and exit without
#               building (what setup and the tests use to see whether a
#               build is due).
# --config F    use fragment F instead of guest/kernel.config.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
FRAGMENT=$HERE/../guest/kernel.config
PRINT_KEY=0
DIR=""
# Bump when the build steps below change in a way that changes the output.
RECIPE=1
PKG=linux-source-6.1
TARBALL=${MCP_KERNEL_SOURCE:-/usr/src/linux-source-6.1.tar.xz}

die() { echo "build-guest-kernel: $*" >&2; exit 1; }
say() { echo "build-guest-kernel: $*"; }

while [ $# -gt 0 ]; do
	case "$1" in
	--print-key) PRINT_KEY=1 ;;
	--config) [ $# -ge 2 ] || die "--config needs a file"; FRAGMENT=$2; shift ;;
	--config=*) FRAGMENT=${1#--config=} ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option $1 (see --help)" ;;
	*) [ -z "$DIR" ] || die "more than one DIR given ($DIR, $1)"; DIR=$1 ;;
	esac
	shift
done
DIR=${DIR:-/var/lib/mcp/kernel}
[ -r "$FRAGMENT" ] || die "config fragment $FRAGMENT: not readable"
[ -r "$TARBALL" ] || die "kernel source $TARBALL: not found (apt-get install $PKG)"

# --- the cache key: source version + hash of (fragment, recipe) --------------
SRCVER=${MCP_KERNEL_SOURCE_VERSION:-$(dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null || true)}
[ -n "$SRCVER" ] || die "cannot tell the version of $PKG (dpkg-query -W $PKG)"
case "$SRCVER" in *[!A-Za-z0-9.+~-]*) die "odd source version '$SRCVER'" ;; esac
CFGHASH=$( { echo "recipe=$RECIPE"; cat "$FRAGMENT"; } | sha256sum | cut -c1-64)
KEY=$SRCVER-$(echo "$CFGHASH" | cut -c1-12)
OUT=$DIR/$KEY

cached() { [ -s "$OUT/vmlinux" ] && [ -s "$OUT/manifest" ]; }

point_minimal() {
	ln -sfn "$KEY" "$DIR/.minimal.tmp"
	mv -T "$DIR/.minimal.tmp" "$DIR/minimal"
}

if [ "$PRINT_KEY" = 1 ]; then
	if cached; then c=hit; else c=miss; fi
	echo "key=$KEY dir=$OUT cache=$c"
	exit 0
fi
if cached; then
	point_minimal
	say "cache hit: $OUT ($(sed -n 's/^release=//p' "$OUT/manifest"))"
	exit 0
fi

for tool in make gcc flex bison bc tar xz nice sha256sum; do
	command -v "$tool" >/dev/null 2>&1 ||
	    die "$tool not found (apt-get install build-essential flex bison libelf-dev bc libssl-dev xz-utils)"
done
[ -e /usr/include/libelf.h ] || die "libelf.h not found (apt-get install libelf-dev)"

mkdir -p "$DIR"
# One build at a time per DIR (setup may run from several shells).
exec 9>"$DIR/.build.lock"
if command -v flock >/dev/null 2>&1; then
	flock -n 9 || { say "another build holds $DIR/.build.lock; waiting"; flock 9; }
fi
if cached; then point_minimal; say "cache hit: $OUT (built meanwhile)"; exit 0; fi

START=$(date +%s)
elapsed() { echo "$(( $(date +%s) - START ))s"; }
SRC=$DIR/.src/$SRCVER
if [ ! -e "$SRC/.unpacked" ]; then
	say "[1/4] unpacking $TARBALL ($PKG $SRCVER) into $SRC"
	rm -rf "$SRC"
	mkdir -p "$SRC"
	tar -xf "$TARBALL" -C "$SRC" --strip-components=1 || die "unpacking $TARBALL failed"
	: >"$SRC/.unpacked"
else
	say "[1/4] reusing the unpacked source in $SRC"
fi

JOBS=${MCP_KERNEL_JOBS:-2}
MAKE="nice -n 19 make -C $SRC -j$JOBS"
say "[2/4] configuring: tinyconfig + $FRAGMENT ($(elapsed))"
$MAKE -s tinyconfig >/dev/null || die "make tinyconfig failed"
(cd "$SRC" && nice -n 19 ./scripts/kconfig/merge_config.sh -m .config "$FRAGMENT" >/dev/null) ||
    die "merge_config.sh failed"
$MAKE -s olddefconfig >/dev/null || die "make olddefconfig failed"
# Every option of the fragment must have survived olddefconfig (a missing
# dependency silently drops one).
bad=""
for opt in $(sed -n 's/^\(CONFIG_[A-Za-z0-9_]*\)=.*/\1/p' "$FRAGMENT"); do
	want=$(sed -n "s/^$opt=//p" "$FRAGMENT" | tail -n 1)
	have=$(sed -n "s/^$opt=//p" "$SRC/.config")
	if [ "$want" = n ]; then
		[ -z "$have" ] || [ "$have" = n ] || bad="$bad $opt=$have(want n)"
	elif [ "$have" != "$want" ]; then
		bad="$bad $opt=${have:-unset}(want $want)"
	fi
done
[ -z "$bad" ] || die "options of $FRAGMENT not in the resulting .config:$bad"

say "[3/4] compiling vmlinux (nice -n 19 make -j$JOBS; ~10 min on 2 cores) ($(elapsed))"
LOG=$SRC/.build.log
# Progress: one line per 250 compiled files, the last line on failure.
rm -f "$SRC/.build.rc"
{ $MAKE vmlinux 2>&1; echo $? >"$SRC/.build.rc"; } | tee "$LOG" | awk -v start="$START" '
	/^  CC / { n++; if (n % 250 == 0) { printf "build-guest-kernel:       %d files compiled (%ds)\n", n, systime() - start; fflush() } }
	END { printf "build-guest-kernel:       %d files compiled\n", n }'
if [ "$(cat "$SRC/.build.rc" 2>/dev/null)" != 0 ] || [ ! -s "$SRC/vmlinux" ]; then
	tail -n 30 "$LOG" >&2
	die "make vmlinux failed (log: $LOG)"
fi

say "[4/4] installing into $OUT ($(elapsed))"
RELEASE=$($MAKE -s kernelrelease 2>/dev/null | tail -n 1)
feat() { grep -q "^CONFIG_$1=y" "$SRC/.config" && printf ' %s' "$2" || true; }
FEATURES=$( { feat PVH pvh; feat VIRTIO_PCI virtio-pci; feat VIRTIO_MMIO virtio-mmio
	feat VIRTIO_NET virtio-net; feat ACPI acpi; feat ACPI_BUTTON acpi-button
	feat INPUT_EVDEV evdev; feat 9P_FS 9p; feat KVM_GUEST kvm-guest; feat SMP smp; } | sed 's/^ //')
if grep -q '^CONFIG_MODULES=y' "$SRC/.config"; then
	die "the fragment enables modules; this script builds only modules=none kernels"
fi
TMP=$DIR/.install.$$
rm -rf "$TMP"
mkdir -p "$TMP"
cp "$SRC/vmlinux" "$TMP/vmlinux"
cp "$SRC/.config" "$TMP/config"
cat >"$TMP/manifest" <<EOM
# written by scripts/build-guest-kernel.sh; read by the image builder and the runtime
source=$PKG $SRCVER
release=$RELEASE
config_sha256=$CFGHASH
modules=none
features=$FEATURES
EOM
rm -rf "$OUT"
mv "$TMP" "$OUT"
point_minimal
say "done: $OUT/vmlinux ($(( $(stat -c %s "$OUT/vmlinux") / 1048576 )) MB, $RELEASE, $FEATURES) in $(elapsed)"
