#!/bin/bash
# scripts/build-hello-image.sh [--local] VERSION REGISTRY [NAME]: build the
# example service image REGISTRY/NAME:VERSION (NAME defaults to hello) from
# bin/hello without internet access and push it to REGISTRY (plain HTTP,
# e.g. a test registry on 127.0.0.1:5000).  With --local the image is not
# pushed but left in the podman store (an image that exists only there, as
# after podman load/import/build; REGISTRY may then be e.g. "localhost").
# MCP_HELLO_BIN=bin/tls-hello ... tls-hello builds the TLS example the same
# way (REGISTRY/tls-hello:VERSION).
#
# The rootfs is just the static binary, a minimal /etc/passwd and /etc/group
# and /tmp; `podman import` turns it into a one-layer OCI image with
# ENTRYPOINT, ENV HELLO_VERSION and EXPOSE 8080.  podman runs in an isolated
# store (tests/lib/podman.sh) under $MCP_IMAGE_BUILD_DIR, or a temp dir that
# is removed afterwards; the host's podman storage is never touched.
set -euo pipefail

local_only=0
if [ "${1:-}" = --local ]; then
	local_only=1
	shift
fi
if [ $# -ne 2 ] && [ $# -ne 3 ]; then
	echo "usage: $0 [--local] VERSION REGISTRY [NAME]   (e.g. v1.0.0 127.0.0.1:5000)" >&2
	exit 2
fi
version="$1"
registry="$2"
name="${3:-hello}"
if ! [[ "$version" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; then
	echo "$0: invalid tag \"$version\"" >&2
	exit 2
fi
if ! [[ "$name" =~ ^[a-z0-9][a-z0-9._/-]{0,127}$ ]]; then
	echo "$0: invalid image name \"$name\"" >&2
	exit 2
fi
image="$registry/$name:$version"
if [ "$local_only" = 1 ] && [ -z "${MCP_IMAGE_BUILD_DIR:-}" ]; then
	echo "$0: --local needs MCP_IMAGE_BUILD_DIR (the image stays in its podman store)" >&2
	exit 2
fi

top="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=tests/lib/podman.sh
. "$top/tests/lib/podman.sh"

hello="${MCP_HELLO_BIN:-$top/bin/hello}"
if [ ! -x "$hello" ]; then
	make -C "$top" bin/hello >/dev/null
fi

if [ -n "${MCP_IMAGE_BUILD_DIR:-}" ]; then
	work="$MCP_IMAGE_BUILD_DIR"
	mkdir -p "$work"
	keep=1
else
	work="$(mktemp -d /tmp/mcp-hello-image.XXXXXX)"
	keep=0
fi
penv="$work/podman"
rootfs="$work/rootfs"

cleanup() {
	rm -rf "$rootfs"
	if [ "$keep" = 0 ]; then
		podman_env_cleanup "$penv" || true
		rm -rf "$work"
	fi
}
trap cleanup EXIT

if [ ! -f "$penv/podman.args" ]; then
	podman_env_init "$penv"
else
	export PODMAN_ENV_DIR="$penv"
fi

rm -rf "$rootfs"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
install -m 0755 "$hello" "$rootfs/usr/local/bin/hello"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' \
	>"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"

# Deterministic tar: fixed owner and mtime, sorted names.
tar -C "$rootfs" --sort=name --owner=0 --group=0 --numeric-owner \
	--mtime='2024-01-01 00:00:00Z' -c . |
	penv_podman import -q \
		--change 'ENTRYPOINT ["/usr/local/bin/hello"]' \
		--change "ENV HELLO_VERSION=$version" \
		--change 'EXPOSE 8080' \
		--change 'WORKDIR /' \
		- "$image" >/dev/null

if [ "$local_only" = 0 ]; then
	penv_podman push -q --tls-verify=false "$image" >/dev/null
	penv_podman rmi -f "$image" >/dev/null 2>&1 || true
fi
echo "$image"
