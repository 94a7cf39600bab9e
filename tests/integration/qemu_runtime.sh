#!/bin/bash
# tests/integration/qemu_runtime.sh: the unikernel runtime end to end (SPEC
# §4.1) with the real guest kernel under QEMU, a real registry and an
# isolated podman store.  Drives build/rel/tests/test_qemu (its
# qemu_integration group): pull + build (cold and cached), run, HTTP through
# the forwarded port, restrict=on, logs, graceful stop, agent restart,
# kill -9, stale pidfile, tampered initramfs, dynamic ELF, remove.
#
# Exit 0 pass, 77 skip (no QEMU, no kernel, not root), else fail.
# Uses $MCP_BUILD/tests/test_qemu and $MCP_STATIC_BIN/{mcp-init,hello} when
# scripts/test.sh set them; else builds them (SAN=1: the sanitizer build).
# Kernel: $MCP_TEST_KERNEL, else $MCP_KERNEL_DIR/minimal/vmlinux (made by
# scripts/build-guest-kernel.sh) when built, else $MCP_KERNEL_DIR/vmlinux
# (Debian's, scripts/fetch-kernel.sh); MCP_TEST_MACHINE picks -M (default
# auto).  Everything else lives in a temp dir that the
# EXIT trap removes, after killing any QEMU started from it.
set -euo pipefail

top="$(cd "$(dirname "$0")/../.." && pwd)"
kdir="${MCP_KERNEL_DIR:-/var/lib/mcp/kernel}"

skip() { echo "qemu_runtime: SKIP: $*"; exit 77; }
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
if [ -z "${MCP_TEST_KERNEL:-}" ]; then
	MCP_TEST_KERNEL=$kdir/vmlinux
	[ -s "$kdir/minimal/vmlinux" ] && MCP_TEST_KERNEL=$kdir/minimal/vmlinux
fi
[ -r "$MCP_TEST_KERNEL" ] && [ -r "$kdir/modules/order" ] ||
	skip "no guest kernel in $kdir (run scripts/fetch-kernel.sh)"
[ "$(id -u)" = 0 ] || skip "needs root (podman image mount)"
command -v podman >/dev/null || skip "podman not installed"
command -v docker-registry >/dev/null || skip "docker-registry not installed"

if [ -n "${MCP_BUILD:-}" ]; then
	test_bin="$MCP_BUILD/tests/test_qemu"
else
	if [ "${SAN:-0}" = 1 ]; then build=build/san; else build=build/rel; fi
	make -C "$top" -s SAN="${SAN:-0}" "$build/tests/test_qemu" >/dev/null
	test_bin="$top/$build/tests/test_qemu"
fi
if [ -n "${MCP_STATIC_BIN:-}" ]; then
	static_bin="$MCP_STATIC_BIN"
else
	static_bin="$top/bin"
	make -C "$top" -s bin/mcp-init bin/hello >/dev/null
fi

# shellcheck source=../lib/podman.sh
. "$top/tests/lib/podman.sh"
# shellcheck source=../lib/registry.sh
. "$top/tests/lib/registry.sh"

work="$(mktemp -d /tmp/mcp-qit.XXXXXX)"	# short: QMP socket paths are limited

cleanup() {
	local rc=$? pf pid
	set +e
	# QEMU processes of this run only: trusted by their cmdline naming $work
	for pf in "$work"/vm/*/qemu.pid; do
		[ -f "$pf" ] || continue
		pid=$(cat "$pf")
		if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
			grep -qF "$work/"; then
			kill -9 "$pid"
		fi
	done
	registry_stop "$work/registry"
	podman_env_cleanup "$work/podman"
	rm -rf "$work"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

podman_env_init "$work/podman"
registry_start "$work/registry" "$(free_port)"

# the hello image, pushed to the registry (built in its own podman store)
image="$(MCP_HELLO_BIN="$static_bin/hello" "$top/scripts/build-hello-image.sh" v1.0.0 "$REGISTRY")"

# an image whose entrypoint is dynamically linked, local to our store
mkdir -p "$work/dyn/usr/local/bin"
cp /bin/ls "$work/dyn/usr/local/bin/dyn"
tar -C "$work/dyn" -c . |
	penv_podman import -q --change 'ENTRYPOINT ["/usr/local/bin/dyn"]' - localhost/dyn:v1 >/dev/null

# bin/hello without Entrypoint or Cmd (executable by convention / PATH)
mkdir -p "$work/noep/usr/local/bin"
cp "$static_bin/hello" "$work/noep/usr/local/bin/hello"
tar -C "$work/noep" -c . | penv_podman import -q - localhost/noep:v1 >/dev/null

# an app that ignores SIGTERM (stop must escalate to QMP quit)
mkdir -p "$work/stubborn/usr/local/bin"
cat >"$work/stubborn.c" <<'EOF'
#include <signal.h>
#include <unistd.h>
int main(void) {
	static const char up[] = "stubborn: up, ignoring SIGTERM\n";
	signal(SIGTERM, SIG_IGN);
	if (write(1, up, sizeof(up) - 1) < 0)
		return 1;
	for (;;)
		pause();
}
EOF
cc -static -O2 -o "$work/stubborn/usr/local/bin/stubborn" "$work/stubborn.c"
tar -C "$work/stubborn" -c . |
	penv_podman import -q --change 'ENTRYPOINT ["/usr/local/bin/stubborn"]' - localhost/stubborn:v1 >/dev/null

export MCP_QEMU_TEST=1
export MCP_QEMU_KERNEL="$MCP_TEST_KERNEL"
export MCP_QEMU_MACHINE="${MCP_TEST_MACHINE:-auto}"
export MCP_QEMU_MODULES="$kdir/modules"
export MCP_QEMU_INIT="$static_bin/mcp-init"
export MCP_QEMU_WORK="$work"
export MCP_TEST_PODMAN_DIR="$work/podman"
export MCP_QEMU_IMAGE="$image"
export MCP_QEMU_REGISTRY="$REGISTRY"
export MCP_QEMU_DYN_IMAGE="localhost/dyn:v1"
export MCP_QEMU_STUBBORN_IMAGE="localhost/stubborn:v1"
export MCP_QEMU_NOEP_IMAGE="localhost/noep:v1"
MCP_QEMU_PORT="$(free_port)"
export MCP_QEMU_PORT

"$test_bin"
echo "qemu_runtime: PASS"
