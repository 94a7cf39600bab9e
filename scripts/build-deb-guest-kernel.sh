#!/bin/sh
# scripts/build-deb-guest-kernel.sh [OUTDIR]: the guest kernel as its own
# Debian package, mcp-guest-kernel_<source-version>+<config-hash>_amd64.deb
# (`make deb-kernel`), so nodes install it instead of building it.
#
#   kernel    scripts/build-guest-kernel.sh (a cache hit when setup built it;
#             else it compiles, ~10 min) into MCP_KERNEL_DIR
#             (default /var/lib/mcp/kernel)
#   contents  /usr/lib/mcp/guest-kernel/{vmlinux,config,manifest}: the
#             runtime's default kernel when /var/lib/mcp/kernel/minimal/ is
#             absent (qemu_kernel_default), its manifest says modules=none
#   control   no dependencies (the kernel is data QEMU loads)
#
# Prints the path of the .deb on its last line.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-$ROOT/build/deb}
KDIR=${MCP_KERNEL_DIR:-/var/lib/mcp/kernel}
for t in dpkg-deb fakeroot gzip; do
	command -v "$t" >/dev/null || { echo "build-deb-guest-kernel: $t not found" >&2; exit 1; }
done

scripts/build-guest-kernel.sh "$KDIR" >&2
KEY_LINE=$(scripts/build-guest-kernel.sh --print-key "$KDIR")
KEY=$(echo "$KEY_LINE" | sed -n 's/^key=\([^ ]*\) .*/\1/p')
SRC=$KDIR/$KEY
[ -s "$SRC/vmlinux" ] && [ -s "$SRC/manifest" ] ||
    { echo "build-deb-guest-kernel: no built kernel in $SRC ($KEY_LINE)" >&2; exit 1; }
SRCVER=$(sed -n 's/^source=linux-source-6.1 //p' "$SRC/manifest")
HASH=$(sed -n 's/^config_sha256=\(............\).*/\1/p' "$SRC/manifest")
RELEASE=$(sed -n 's/^release=//p' "$SRC/manifest")
[ -n "$SRCVER" ] && [ -n "$HASH" ] || { echo "build-deb-guest-kernel: $SRC/manifest lacks source/config_sha256" >&2; exit 1; }
VERSION=$SRCVER+$HASH
ARCH=amd64

STAGE=$OUT/guest-kernel-root
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/usr/lib/mcp/guest-kernel" \
    "$STAGE/usr/share/doc/mcp-guest-kernel" "$STAGE/usr/share/lintian/overrides"
install -m 0644 "$SRC/vmlinux" "$SRC/config" "$SRC/manifest" "$STAGE/usr/lib/mcp/guest-kernel/"
install -m 0644 contrib/debian/copyright "$STAGE/usr/share/doc/mcp-guest-kernel/copyright"
sed -e "s/^mcp (@VERSION@)/mcp-guest-kernel ($VERSION)/" \
    -e 's/Package built by `make deb` (scripts\/build-deb.sh) from a staged/Guest kernel built by `make deb-kernel` (scripts\/build-deb-guest-kernel.sh)/' \
    -e 's/`make install` tree\./from linux-source-6.1 and guest\/kernel.config./' \
    contrib/debian/changelog | gzip -9n >"$STAGE/usr/share/doc/mcp-guest-kernel/changelog.Debian.gz"
# the guest's kernel is an ELF image QEMU loads, never run or linked on the host
cat >"$STAGE/usr/share/lintian/overrides/mcp-guest-kernel" <<EOM
mcp-guest-kernel: unstripped-binary-or-object [usr/lib/mcp/guest-kernel/vmlinux]
mcp-guest-kernel: statically-linked-binary [usr/lib/mcp/guest-kernel/vmlinux]
EOM
SIZE=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
cat >"$STAGE/DEBIAN/control" <<EOM
Package: mcp-guest-kernel
Version: $VERSION
Architecture: $ARCH
Maintainer: MCP developers <mcp@example.net>
Installed-Size: $SIZE
Section: admin
Priority: optional
Homepage: https://example.net/mcp
Description: minimal Linux guest kernel for MCP unikernel VMs
 Linux $RELEASE built from Debian's linux-source-6.1 ($SRCVER) with the
 MCP guest configuration (tinyconfig plus virtio over PCI and MMIO, PVH,
 ACPI power button, 9p; config hash $HASH): everything built in, no
 modules.  mcp-agent boots it by default, on QEMU's microvm machine,
 when no locally built kernel exists in /var/lib/mcp/kernel/minimal/.
EOM
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' |
    sort | xargs md5sum) >"$STAGE/DEBIAN/md5sums"
chmod 0644 "$STAGE/DEBIAN/control" "$STAGE/DEBIAN/md5sums"
DEB=$OUT/mcp-guest-kernel_${VERSION}_${ARCH}.deb
fakeroot dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
