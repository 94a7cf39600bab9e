#!/bin/bash
# tests/integration/podman_runtime.sh: run tests/unit/test_podman.c against
# real podman and a real registry.  Sets up an isolated podman environment
# and a docker-registry on 127.0.0.1 (tests/lib), builds and pushes the
# hello image (scripts/build-hello-image.sh), runs the test binary
# ($MCP_BUILD/tests/test_podman, default build/rel; MCP_BUILD=build/san for
# the sanitizer build) and tears everything down, also on failure.
# Exit: 0 pass, 77 skip, anything else fail.
set -u

top="$(cd "$(dirname "$0")/../.." && pwd)"
. "$top/tests/lib/podman.sh"
. "$top/tests/lib/registry.sh"

skip() { echo "podman_runtime: SKIP: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root (rootful podman)"
for t in podman runc docker-registry curl; do
	command -v "$t" >/dev/null || skip "$t not installed"
done

build="${MCP_BUILD:-build/rel}"
case "$build" in /*) ;; *) build="$top/$build" ;; esac
bin="$build/tests/test_podman"
if [ -z "${MCP_BUILD:-}" ]; then
	make -C "$top" -s bin/hello build/rel/tests/test_podman || exit 1
else
	make -C "$top" -s bin/hello || exit 1
fi
[ -x "$bin" ] || { echo "podman_runtime: $bin missing" >&2; exit 1; }

work="$(mktemp -d /tmp/mcp-podman-rt.XXXXXX)"
cleanup() {
	local rc=$?
	registry_stop "$work/registry"
	podman_env_cleanup "$work/podman" || rc=1
	rm -rf "$work"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port="$(free_port)" || exit 1
registry_start "$work/registry" "$port" || exit 1
tag="v1.0.0"
"$top/scripts/build-hello-image.sh" "$tag" "$REGISTRY" >/dev/null || {
	echo "podman_runtime: building the hello image failed" >&2
	exit 1
}
podman_env_init "$work/podman" || exit 1

MCP_TEST_PODMAN_DIR="$work/podman" MCP_TEST_REGISTRY="$REGISTRY" \
	MCP_TEST_HELLO_TAG="$tag" "$bin"
