# tests/lib/sdbox.sh: a real systemd as PID 1 without the Debian mirror
# (sourceable bash; after podman.sh).  This machine's init is not systemd,
# but it has systemd installed: the box is a privileged podman container
# whose root is an overlay of the host's own root (writes go to the
# overlay's upper directory; /tmp, /run and /var/tmp start empty) and
# whose PID 1 is /lib/systemd/systemd.  Everything installed on the host
# (podman, runc, QEMU, HAProxy, this worktree) is there; it has its own
# PID and network namespaces (--network none: only lo).
#
#   sdbox_start DIR NAME   make DIR/{upper,work,merged,podman}, start the
#                          box NAME, wait until systemd runs (SDBOX_ROOT =
#                          the box's root as seen from the host)
#   in_box CMD...          run CMD in the box (podman exec)
#   sdbox_cleanup          remove the box (every process in it dies with
#                          it), unmount, remove its podman store

SDBOX_DIR= SDBOX_NAME= SDBOX_ROOT=

_sdbox_podman() {
	local args
	mapfile -t args <"$SDBOX_DIR/podman/podman.args"
	CONTAINERS_CONF=$SDBOX_DIR/podman/containers.conf podman "${args[@]}" "$@"
}

in_box() { _sdbox_podman exec "$SDBOX_NAME" "$@"; }

sdbox_start() {
	local i
	SDBOX_DIR=$1 SDBOX_NAME=$2
	mkdir -p "$SDBOX_DIR/upper/tmp" "$SDBOX_DIR/upper/run" "$SDBOX_DIR/upper/var/tmp" \
	    "$SDBOX_DIR/work" "$SDBOX_DIR/merged" || return 1
	# opaque: the host's /tmp, /run and /var/tmp do not show through
	/usr/bin/python3 -c 'import os, sys
for p in sys.argv[1:]: os.setxattr(p, "trusted.overlay.opaque", b"y")' \
	    "$SDBOX_DIR/upper/tmp" "$SDBOX_DIR/upper/run" "$SDBOX_DIR/upper/var/tmp" || return 1
	mount -t overlay overlay -o "lowerdir=/,upperdir=$SDBOX_DIR/upper,workdir=$SDBOX_DIR/work" \
	    "$SDBOX_DIR/merged" || return 1
	SDBOX_ROOT=$SDBOX_DIR/merged
	podman_env_init "$SDBOX_DIR/podman" >/dev/null || return 1
	_sdbox_podman run -d --name "$SDBOX_NAME" --systemd=always --privileged \
	    --network none --rootfs "$SDBOX_ROOT" /lib/systemd/systemd >/dev/null || return 1
	for i in $(seq 1 300); do
		case $(in_box systemctl is-system-running 2>/dev/null) in
		running|degraded) return 0 ;;
		esac
		sleep 0.2
	done
	echo "sdbox: systemd did not come up in 60 s" >&2
	_sdbox_podman logs "$SDBOX_NAME" 2>&1 | tail -20 >&2
	return 1
}

sdbox_cleanup() {
	[ -n "$SDBOX_DIR" ] || return 0
	if [ -f "$SDBOX_DIR/podman/podman.args" ]; then
		_sdbox_podman rm -f -t 5 "$SDBOX_NAME" >/dev/null 2>&1
		podman_env_cleanup "$SDBOX_DIR/podman"
	fi
	mountpoint -q "$SDBOX_DIR/merged" && umount -l "$SDBOX_DIR/merged"
	SDBOX_DIR=
}
