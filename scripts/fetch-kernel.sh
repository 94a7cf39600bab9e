#!/bin/sh
# scripts/fetch-kernel.sh [DIR]: fetch the guest kernel for unikernel VMs
# (SPEC §4.1) from Debian's linux-image-6.1.*-amd64 package, without
# installing it on the host.
#
# Writes into DIR (default /var/lib/mcp/kernel):
#   DIR/vmlinux          the uncompressed kernel (PVH entry; boots faster than
#                        vmlinuz under TCG)
#   DIR/modules/*.ko     the guest modules, flat, uncompressed
#   DIR/modules/order    their file names, one per line, in load order
#   DIR/VERSION          the kernel release (e.g. 6.1.0-56-amd64)
#   DIR/manifest         what the image builder and the runtime read
#                        (format: scripts/build-guest-kernel.sh); here
#                        modules=modules: a modular kernel, the modules in
#                        DIR/modules go into every initramfs
# Idempotent: returns at once when all are present.
set -eu

DIR=${1:-/var/lib/mcp/kernel}
# Modules the guest needs, in the order mcp-init should load them (their
# dependencies are resolved with modprobe --show-depends and come first).
WANT="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
failover net_failover virtio_net button evdev 9pnet 9pnet_virtio netfs fscache 9p"
# Of those, the ones a VM cannot do without.
REQUIRED="virtio_pci virtio_net button evdev"

die() { echo "fetch-kernel: $*" >&2; exit 1; }

# DIR/manifest for release $1 from package $2.
write_manifest() {
	cat >"$DIR/manifest.tmp" <<EOM
# written by scripts/fetch-kernel.sh; read by the image builder and the runtime
source=$2
release=$1
modules=modules
features=pvh virtio-pci(module) virtio-net(module) acpi-button(module) evdev(module) 9p(module)
EOM
	mv "$DIR/manifest.tmp" "$DIR/manifest"
}

if [ -s "$DIR/vmlinux" ] && [ -s "$DIR/modules/order" ] && [ -s "$DIR/VERSION" ]; then
	# installs from before the manifest existed get one
	[ -s "$DIR/manifest" ] ||
	    write_manifest "$(cat "$DIR/VERSION")" "linux-image-$(cat "$DIR/VERSION")"
	echo "fetch-kernel: $DIR has kernel $(cat "$DIR/VERSION")"
	exit 0
fi
for tool in apt-get apt-cache dpkg depmod modprobe xz grep; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install kmod xz-utils)"
done

mkdir -p "$DIR"
WORK=$(mktemp -d "$DIR/.fetch.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM

newest_pkg() {
	apt-cache pkgnames linux-image-6.1 2>/dev/null |
	    grep -E '^linux-image-6\.1\.0-[0-9]+-amd64$' | sort -V | tail -n 1
}

PKG=$(newest_pkg)
if [ -z "$PKG" ]; then
	apt-get update -q >/dev/null || die "apt-get update failed"
	PKG=$(newest_pkg)
fi
[ -n "$PKG" ] || die "no linux-image-6.1.*-amd64 package known to apt"

# apt-get download writes into the current directory.
if ! (cd "$WORK" && apt-get download -q "$PKG" >/dev/null 2>&1); then
	apt-get update -q >/dev/null || die "apt-get update failed"
	PKG=$(newest_pkg)
	(cd "$WORK" && apt-get download -q "$PKG" >/dev/null) ||
	    die "apt-get download $PKG failed"
fi
DEB=$(ls "$WORK"/*.deb 2>/dev/null | head -n 1)
[ -n "$DEB" ] || die "apt-get download $PKG produced no .deb"
dpkg -x "$DEB" "$WORK/root" || die "dpkg -x $DEB failed"

VMLINUZ=$(ls "$WORK"/root/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$VMLINUZ" ] || die "$PKG has no /boot/vmlinuz-*"
VERSION=${VMLINUZ##*/vmlinuz-}
[ -d "$WORK/root/lib/modules/$VERSION" ] || die "$PKG has no /lib/modules/$VERSION"

# --- vmlinux: decompress the xz stream embedded in the bzImage ---------------
# (the approach of the kernel's scripts/extract-vmlinux: try each offset of
# the xz magic FD 37 7A 58 5A 00 until one decompresses to an ELF file)
ok=0
for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$VMLINUZ" | cut -d: -f1); do
	tail -c +$((off + 1)) "$VMLINUZ" | xz -dc 2>/dev/null >"$WORK/vmlinux" || true
	if [ "$(head -c 4 "$WORK/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ]; then
		ok=1
		break
	fi
done
[ "$ok" = 1 ] || die "no xz-compressed ELF kernel found in $VMLINUZ"

# --- modules: resolve load order against the extracted tree ------------------
depmod -b "$WORK/root" "$VERSION" || die "depmod -b $WORK/root $VERSION failed"
mkdir -p "$WORK/modules"
: >"$WORK/modules/order"
for m in $WANT; do
	deps=$(modprobe -d "$WORK/root" -S "$VERSION" --show-depends "$m" 2>/dev/null) || {
		case " $(echo $REQUIRED) " in
		*" $m "*) die "module $m not found in $PKG" ;;
		esac
		echo "fetch-kernel: optional module $m not available, skipped" >&2
		continue
	}
	# lines: "insmod /path/mod.ko[.xz] [params]"; "builtin mod" needs nothing
	echo "$deps" | while read -r kind path _rest; do
		[ "$kind" = insmod ] || continue
		base=${path##*/}
		case "$base" in
		*.ko.xz) name=${base%.xz}; xz -dc "$path" >"$WORK/modules/$name" ;;
		*.ko.zst) die "zstd-compressed module $base not supported" ;;
		*.ko) name=$base; cp "$path" "$WORK/modules/$name" ;;
		*) continue ;;
		esac
		grep -qxF "$name" "$WORK/modules/order" || echo "$name" >>"$WORK/modules/order"
	done
done
[ -s "$WORK/modules/order" ] || die "no modules resolved"

# --- install atomically enough: modules dir, vmlinux, VERSION last ----------
rm -rf "$DIR/modules"
mv "$WORK/modules" "$DIR/modules"
mv "$WORK/vmlinux" "$DIR/vmlinux"
echo "$VERSION" >"$DIR/VERSION.tmp"
mv "$DIR/VERSION.tmp" "$DIR/VERSION"
write_manifest "$VERSION" "$PKG"
echo "fetch-kernel: $DIR has kernel $VERSION ($(wc -l <"$DIR/modules/order") modules)"
