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

# Guest kernel + modules for unikernel VMs (Debian's linux-image, unpacked
# into /var/lib/mcp/kernel, never installed on the host).
"$(dirname "$0")/fetch-kernel.sh" "${MCP_KERNEL_DIR:-/var/lib/mcp/kernel}"
