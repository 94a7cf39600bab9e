#!/bin/bash
# scripts/build-hello-image.sh VERSION REGISTRY: build the example service
# image REGISTRY/hello:VERSION from bin/hello without internet access and
# push it to REGISTRY (plain HTTP, e.g. a test registry on 127.0.0.1:5000).
# MCP_IMAGE_NAME=tls-hello MCP_HELLO_BIN=bin/tls-hello builds the TLS
# example the same way (REGISTRY/tls-hello:VERSION).
#
# The rootfs is just the static binary, a minimal /etc/passwd and /etc/group
# and /tmp; `podman import` turns it into a one-layer OCI image with
# ENTRYPOINT, ENV HELLO_VERSION and EXPOSE 8080.  podman runs in an isolated
# store (tests/lib/podman.sh) under $MCP_IMAGE_BUILD_DIR, or a temp dir that
# is removed afterwards; the host's podman storage is never touched.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 VERSION REGISTRY   (e.g. v1.0.0 127.0.0.1:5000)" >&2
	exit 2
fi
version="$1"
registry="$2"
if ! [[ "$version" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; then
	echo "$0: invalid tag \"$version\"" >&2
	exit 2
fi
name="${MCP_IMAGE_NAME:-hello}"
image="$registry/$name:$version"

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

penv_podman push -q --tls-verify=false "$image" >/dev/null
penv_podman rmi -f "$image" >/dev/null 2>&1 || true
echo "$image"
