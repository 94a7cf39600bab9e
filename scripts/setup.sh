#!/bin/sh
# scripts/setup.sh: install the Debian packages MCP needs to build, run and
# test, and fetch a guest kernel for unikernel VMs. Idempotent; fast when
# everything is already present. Must run as root on Debian 12.
set -eu

PKGS="build-essential pkg-config git ca-certificates curl
qemu-system-x86 qemu-utils podman runc netavark aardvark-dns catatonit
slirp4netns uidmap fuse-overlayfs docker-registry skopeo nftables iptables
iproute2 kmod cpio socat xz-utils openssl sqlite3 libsqlite3-dev libssl-dev libgrpc-dev
libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libarchive-dev
libzstd-dev zstd libcurl4-openssl-dev libjansson-dev libcmocka-dev
python3-grpcio python3-grpc-tools clang libclang-rt-14-dev haproxy
knot knot-dnsutils libldns-dev
golang-github-burntsushi-toml-dev"
# the guest kernel built from Debian's source (scripts/build-guest-kernel.sh)
PKGS="$PKGS linux-source-6.1 flex bison libelf-dev bc"
# packaging and its tests (make deb, lintian, man pages, the unit file)
PKGS="$PKGS dpkg-dev fakeroot lintian mandoc man-db systemd debootstrap"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
# Debian's haproxy needs a newer libssl3 than the base image has: upgrade
# them together.
case " $missing " in *" haproxy "*) missing="$missing libssl3" ;; esac
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "setup: missing packages:$missing (run as root)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
echo "setup: packages present"

# Guest kernels for unikernel VMs, both under /var/lib/mcp/kernel:
# - the minimal one built from linux-source-6.1 with guest/kernel.config
#   (everything built in), in <source-version>-<config-hash>/ with minimal/
#   pointing at it: the runtime's default. Built once per machine (~10 min on
#   2 cores, niced), again only when the source package or the config changes.
# - Debian's packaged kernel + modules (linux-image, unpacked, never installed
#   on the host) in vmlinux and modules/: the fallback ([unikernel] kernel =
#   "/var/lib/mcp/kernel/vmlinux" selects it), and the second baseline of
#   bench/deploy_unikernel.sh.
# MCP_SKIP_KERNEL_BUILD=1 skips the build (the runtime then uses Debian's).
KDIR=${MCP_KERNEL_DIR:-/var/lib/mcp/kernel}
"$(dirname "$0")/fetch-kernel.sh" "$KDIR"
if [ "${MCP_SKIP_KERNEL_BUILD:-0}" != 1 ]; then
	"$(dirname "$0")/build-guest-kernel.sh" "$KDIR"
fi
