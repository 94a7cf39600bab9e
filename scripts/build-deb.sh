#!/bin/sh
# scripts/build-deb.sh [OUTDIR]: build the Debian package mcp_VERSION_ARCH.deb
# (`make deb`) with dpkg-deb from a staged `make install` tree; no
# debhelper.  Expects a release build in bin/ (make all).
#
#   stage     make install DESTDIR=build/deb/root PREFIX=/usr, units in
#             /lib/systemd/system (bookworm's place), binaries stripped,
#             man pages and changelog gzip -9n
#   control   contrib/debian/control.in; ${shlibs:Depends} computed by
#             dpkg-shlibdeps over the dynamically linked binaries
#   DEBIAN/   conffiles (every /etc/mcp/*.toml), md5sums, postinst (prints
#             how to fetch the guest kernel; downloads nothing), postrm
#
# Prints the path of the .deb on its last line.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-$ROOT/build/deb}
VERSION=$(sed -n 's/^#define MCP_VERSION "\(.*\)"$/\1/p' lib/util/version.h)
ARCH=$(dpkg --print-architecture)
[ -n "$VERSION" ] || { echo "build-deb: no MCP_VERSION in lib/util/version.h" >&2; exit 1; }
for t in dpkg-deb dpkg-shlibdeps fakeroot strip gzip; do
	command -v "$t" >/dev/null || { echo "build-deb: $t not found" >&2; exit 1; }
done

STAGE=$OUT/root
rm -rf "$STAGE"
mkdir -p "$OUT"
make -s install DESTDIR="$STAGE" PREFIX=/usr SYSCONFDIR=/etc \
    UNITDIR=/lib/systemd/system >/dev/null

# binaries: stripped (mcp-init is static and stays so)
for f in "$STAGE"/usr/bin/* "$STAGE"/usr/sbin/* "$STAGE"/usr/lib/mcp/mcp-init; do
	strip --strip-unneeded --remove-section=.comment --remove-section=.note "$f"
done
# documentation the Debian way
DOC=$STAGE/usr/share/doc/mcp
find "$STAGE/usr/share/man" -type f -exec gzip -9n {} +
sed "s/@VERSION@/$VERSION/" contrib/debian/changelog | gzip -9n >"$DOC/changelog.gz"
install -m 0644 contrib/debian/copyright "$DOC/copyright"
install -m 0644 contrib/debian/README.Debian "$DOC/README.Debian"
install -D -m 0644 contrib/debian/lintian-overrides "$STAGE/usr/share/lintian/overrides/mcp"

# control: ${shlibs:Depends} from dpkg-shlibdeps (it wants a debian/control)
SHL=$OUT/shlibs
rm -rf "$SHL"
mkdir -p "$SHL/debian"
printf 'Source: mcp\n\nPackage: mcp\nArchitecture: any\n' >"$SHL/debian/control"
SHLIBS=$(cd "$SHL" && dpkg-shlibdeps -O "$STAGE"/usr/bin/* "$STAGE"/usr/sbin/* 2>"$SHL/err" |
    sed -n 's/^shlibs:Depends=//p') || { cat "$SHL/err" >&2; exit 1; }
[ -n "$SHLIBS" ] || { echo "build-deb: dpkg-shlibdeps found no libraries" >&2; cat "$SHL/err" >&2; exit 1; }
rm -rf "$SHL"

mkdir -p "$STAGE/DEBIAN"
SIZE=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE/" \
    -e "s/@SHLIBS@/$SHLIBS/" contrib/debian/control.in >"$STAGE/DEBIAN/control"
(cd "$STAGE" && find etc -type f | sort | sed 's|^|/|') >"$STAGE/DEBIAN/conffiles"
install -m 0755 contrib/debian/postinst contrib/debian/postrm "$STAGE/DEBIAN/"
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' |
    sort | xargs md5sum) >"$STAGE/DEBIAN/md5sums"
chmod 0644 "$STAGE/DEBIAN/control" "$STAGE/DEBIAN/conffiles" "$STAGE/DEBIAN/md5sums"

DEB=$OUT/mcp_${VERSION}_${ARCH}.deb
fakeroot dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
