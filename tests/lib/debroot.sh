# tests/lib/debroot.sh: a throw-away Debian 12 root for packaging tests.
#
#   debroot_mount DIR     a minbase bookworm root (debootstrap from the
#                         Debian mirror, cached in $MCP_DEBROOT_CACHE,
#                         default /var/cache/mcp-test; about 100 s the first
#                         time) overlay-mounted at DIR/merged, writes going
#                         to DIR; /proc and apt's archive cache (also kept in
#                         the cache directory) mounted inside; sets DEBROOT
#   debroot_apt ARGS...   apt-get ARGS in the root (noninteractive)
#   debroot_unmount_aux   unmount /proc and the archive cache (before
#                         handing the root to a container)
#   debroot_cleanup       unmount everything (safe to call twice)

MCP_DEBROOT_CACHE=${MCP_DEBROOT_CACHE:-/var/cache/mcp-test}
DEBROOT=

debroot_mount() {
	local dir=$1 base=$MCP_DEBROOT_CACHE/bookworm-minbase start
	mkdir -p "$MCP_DEBROOT_CACHE/apt-archives/partial" || return 1
	if [ ! -x "$base/bin/sh" ]; then
		command -v debootstrap >/dev/null || { echo "debroot: debootstrap not installed" >&2; return 1; }
		start=$(date +%s)
		rm -rf "$base.tmp"
		debootstrap --variant=minbase bookworm "$base.tmp" http://deb.debian.org/debian \
		    >"$dir.debootstrap.log" 2>&1 || {
			tail "$dir.debootstrap.log" >&2
			return 1
		}
		mv "$base.tmp" "$base"
		echo "debroot: debootstrap took $(($(date +%s) - start)) s (cached in $base)"
	fi
	mkdir -p "$dir/upper" "$dir/work" "$dir/merged" || return 1
	DEBROOT=$dir/merged
	mount -t overlay overlay -o "lowerdir=$base,upperdir=$dir/upper,workdir=$dir/work" \
	    "$DEBROOT" || { DEBROOT=; return 1; }
	mount -t proc proc "$DEBROOT/proc" &&
	mount --bind "$MCP_DEBROOT_CACHE/apt-archives" "$DEBROOT/var/cache/apt/archives" &&
	cp /etc/resolv.conf "$DEBROOT/etc/resolv.conf"
}

debroot_apt() {
	chroot "$DEBROOT" env DEBIAN_FRONTEND=noninteractive apt-get -q "$@"
}

debroot_unmount_aux() {
	local m
	[ -n "$DEBROOT" ] || return 0
	for m in "$DEBROOT/var/cache/apt/archives" "$DEBROOT/proc"; do
		mountpoint -q "$m" && umount -l "$m"
	done
	return 0
}

debroot_cleanup() {
	[ -n "$DEBROOT" ] || return 0
	debroot_unmount_aux
	mountpoint -q "$DEBROOT" && umount -l "$DEBROOT"
	DEBROOT=
}
