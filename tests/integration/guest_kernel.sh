#!/bin/bash
# The guest kernel (issue 13): scripts/build-guest-kernel.sh's cache (a
# second run rebuilds nothing; a changed config or source version is a miss,
# seen through --print-key without compiling), then every supported
# combination of kernel and machine type booted once through the agent
# (HTTP answer, status names kernel and machine, no module errors on the
# console of the built-in kernel, graceful stop = the app got SIGTERM);
# the mcp-guest-kernel package made from the cached kernel (no rebuild);
#   minimal kernel on -M microvm, minimal on -M pc, Debian's on -M pc
# and finally 20 boots in a row of the minimal kernel on -M microvm under
# the agent (each: start, HTTP answer, graceful stop), the proof that
# microvm boots reliably under TCG.
# Skips (77) without QEMU or without the built kernel (scripts/setup.sh
# builds it; this test never compiles one). MICROVM_BOOTS overrides 20.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh

KDIR=$MCP_KERNEL_DIR
MINIMAL=$KDIR/minimal/vmlinux
DEBIAN=$KDIR/vmlinux
BOOTS=${MICROVM_BOOTS:-20}
if ! command -v qemu-system-x86_64 >/dev/null || [ ! -s "$MINIMAL" ] || [ ! -s "$DEBIAN" ]; then
	echo "skip: qemu-system-x86_64, $MINIMAL (scripts/build-guest-kernel.sh) or $DEBIAN (scripts/fetch-kernel.sh) missing"
	exit 77
fi

T=$(mktemp -d /tmp/mcp-it-gk.XXXXXX)
cleanup() {
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT

# ---- the build script's cache -------------------------------------------
B=scripts/build-guest-kernel.sh
KEY_LINE=$($B --print-key "$KDIR")
KEY=$(sed -n 's/^key=\([^ ]*\) .*/\1/p' <<<"$KEY_LINE")
check "--print-key names a key ($KEY_LINE)" test -n "$KEY"
check "the built kernel is a cache hit" grep -q "cache=hit" <<<"$KEY_LINE"
check "minimal/ points at that key" test "$(readlink "$KDIR/minimal")" = "$KEY"
check "manifest says modules=none" grep -qx "modules=none" "$KDIR/$KEY/manifest"
check "manifest lists virtio-mmio and pvh" grep -qE "^features=.*virtio-mmio.*" "$KDIR/$KEY/manifest"
MTIME=$(stat -c %Y "$KDIR/$KEY/vmlinux")
t0=$(date +%s%N)
OUT=$(nice $B "$KDIR" 2>&1)
ms=$((($(date +%s%N) - t0) / 1000000))
check "a second run is a cache hit ($OUT)" grep -q "cache hit" <<<"$OUT"
check "a second run compiles nothing (${ms} ms, no [3/4] step)" bash -c "! grep -q '\[3/4\]' <<<\"\$1\" && [ $ms -lt 30000 ]" _ "$OUT"
check "a second run leaves vmlinux untouched" test "$(stat -c %Y "$KDIR/$KEY/vmlinux")" = "$MTIME"
cp guest/kernel.config "$T/changed.config"
sed -i 's/^CONFIG_NR_CPUS=8$/CONFIG_NR_CPUS=4/' "$T/changed.config"
check "the test changed an option" sh -c "! cmp -s guest/kernel.config '$T/changed.config'"
CHANGED=$($B --print-key --config "$T/changed.config" "$KDIR")
check "a changed config is a miss ($CHANGED)" grep -q "cache=miss" <<<"$CHANGED"
check "under another key" bash -c "! grep -q 'key=$KEY ' <<<\"\$1\"" _ "$CHANGED"
NEWSRC=$(MCP_KERNEL_SOURCE_VERSION=6.1.999-1 $B --print-key "$KDIR")
check "another source version is a miss ($NEWSRC)" grep -q "key=6.1.999-1-.* cache=miss" <<<"$NEWSRC"
expect_fail "a missing config fragment is refused" "not readable" $B --print-key --config "$T/nope.config" "$KDIR"
check "print-key built nothing" test ! -e "$KDIR/6.1.999-1-$(sed -n 's/^key=[^ ]*-\([0-9a-f]*\) .*/\1/p' <<<"$NEWSRC")"

# ---- the mcp-guest-kernel package (make deb-kernel) ----------------------
DEB=$(scripts/build-deb-guest-kernel.sh "$T/deb" 2>"$T/deb.err" | tail -n 1)
check "mcp-guest-kernel built from the cached kernel ($DEB)" test -f "$DEB"
check "its version is the cache key ($KEY)" test "$(dpkg-deb -f "$DEB" Version)" = "${KEY%-*}+${KEY##*-}"
check "it rebuilt nothing" grep -q "cache hit" "$T/deb.err"
dpkg-deb -x "$DEB" "$T/debx"
check "it ships the built vmlinux unchanged" cmp -s "$T/debx/usr/lib/mcp/guest-kernel/vmlinux" "$KDIR/$KEY/vmlinux"
check "with its manifest (modules=none)" grep -qx "modules=none" "$T/debx/usr/lib/mcp/guest-kernel/manifest"
if command -v lintian >/dev/null; then
	check "lintian: no error or warning" bash -c "lintian --fail-on error,warning '$DEB' 2>&1 | grep -v 'root privileges'; exit \${PIPESTATUS[0]}"
fi

# ---- every combination through the agent --------------------------------
hello_registry "$T" v1.0.0 || exit 1
podman_env_cleanup "$T/img/podman"
D=$T/defs
mkdir -p "$D"
cat >"$D/gk.toml" <<EOF
name = "gk"
runtime = "unikernel"
[[components]]
name = "gk"
image = "$REGISTRY/hello:v1.0.0"
memory_mb = 128
[[components.routes]]
name = "http"
port = 8080
EOF
sj() { mcp --json status gk; }
comp() { json_get "$(sj)" "j['components'][0]['$1']"; }
hport() { json_get "$(sj)" 'j["components"][0]["routes"][0]["host_port"]'; }
vm_pid() { cat "$AGENT_DIR/state/vms/gk/qemu.pid" 2>/dev/null; }
console() { cat "$AGENT_DIR/state/vms/gk/console.log" 2>/dev/null; }
# a 200 from URL within SECS, the whole wait bounded (QEMU's user-mode
# forward holds connections while the guest boots, so each try is short)
answer_within() { timeout "$1" bash -c 'until curl -fs -m 0.3 -o /dev/null "$0"; do sleep 0.05; done' "$2"; }
done_with_agent() { agent_env_cleanup; AGENT_DIR=; }
qemu_argv() { json_get "$(cat "$AGENT_DIR/state/vms/gk/spec.json")" '" ".join(j["qemu_argv"])'; }

# combo LABEL KERNEL MACHINE WANT_RELEASE_PATTERN
N_AGENT=0
combo() {
	local label=$1 kernel=$2 machine=$3 rel=$4 port
	echo "== $label: $kernel on -M $machine"
	N_AGENT=$((N_AGENT + 1))	# short dirs: podman's runroot must stay under 50 characters
	MCP_TEST_KERNEL=$kernel MCP_TEST_MACHINE=$machine agent_env_init "$T/a$N_AGENT" "$REGISTRY" || return 1
	agent_start || return 1
	local t0=$(date +%s%N)
	if ! mcp deploy "$D/gk.toml"; then
		check "$label: deploy" false
		done_with_agent
		return 1
	fi
	check "$label: deploy" true
	port=$(hport)
	check "$label: HTTP answer through 127.0.0.1:$port" answer_within 60 "http://127.0.0.1:$port/"
	echo "$label: deploy to first answer $((($(date +%s%N) - t0) / 1000000)) ms"
	check "$label: status names the machine ($(comp machine))" test "$(comp machine)" = "$machine"
	check "$label: status names the kernel ($(comp guest_kernel))" grep -qE "$rel" <<<"$(comp guest_kernel)"
	check "$label: the human status shows it (80 columns)" grep -q -- "-M $machine, kernel [0-9]" <<<"$(mcp status gk)"
	check "$label: --wide shows the whole kernel description" grep -qF -- \
	    "-M $machine, kernel $(comp guest_kernel)" <<<"$(mcp status gk --wide)"
	check "$label: QEMU ran with -M $machine" grep -q -- "-M $machine" <<<"$(qemu_argv)"
	if [ "$kernel" = "$MINIMAL" ]; then
		check "$label: no modules in the initramfs" sh -c "! cpio -t <'$(find "$AGENT_DIR/state/images" -name initramfs.cpio | head -1)' 2>/dev/null | grep -q 'mcp/modules/'"
		check "$label: no module lines on the console" bash -c "! grep -qi 'module' <<<\"\$1\"" _ "$(console)"
	else
		check "$label: modules in the initramfs" sh -c "cpio -t <'$(find "$AGENT_DIR/state/images" -name initramfs.cpio | head -1)' 2>/dev/null | grep -q 'mcp/modules/virtio_net.ko'"
	fi
	[ "$machine" = microvm ] &&
		check "$label: virtio-net-device on virtio-mmio" grep -q "virtio-net-device" <<<"$(qemu_argv)"
	local pid=$(vm_pid)
	check "$label: graceful stop" mcp stop gk
	check "$label: the app got SIGTERM" grep -q "received SIGTERM" <<<"$(console)"
	# gone, or a zombie not yet reaped by its (subreaper) parent
	check "$label: QEMU exited ($pid)" bash -c "[ ! -e /proc/$pid ] || grep -q '^State:.*Z' /proc/$pid/status"
	check "$label: no pidfile left" test -z "$(vm_pid)"
	check "$label: undeploy" mcp undeploy gk
	done_with_agent
}
combo minimal-microvm "$MINIMAL" microvm "^6\.1\.[0-9]+ \(linux-source-6\.1 .*everything built in\)"
combo minimal-pc "$MINIMAL" pc "^6\.1\.[0-9]+ \(linux-source-6\.1 .*everything built in\)"
combo debian-pc "$DEBIAN" pc "^6\.1\.0-[0-9]+-amd64 \(linux-image-.*modules\)"

# microvm asked for with a kernel that cannot boot on it: refused clearly
MCP_TEST_KERNEL=$DEBIAN MCP_TEST_MACHINE=microvm agent_env_init "$T/ar" "$REGISTRY" || exit 1
agent_start || exit 1
expect_fail "microvm with Debian's modular kernel is refused" "lacks everything built in" mcp deploy "$D/gk.toml"
check "no QEMU after the refusal" test -z "$(vm_pid)"
done_with_agent

# ---- microvm reliability: BOOTS boots in a row, each answering ----------
MCP_TEST_KERNEL=$MINIMAL MCP_TEST_MACHINE=auto agent_env_init "$T/ab" "$REGISTRY" || exit 1
agent_start || exit 1
check "auto picks microvm for the minimal kernel" mcp deploy "$D/gk.toml"
check "it is microvm" test "$(comp machine)" = microvm
port=$(hport)
ok=0 stopped=0 times=()
for i in $(seq 1 "$BOOTS"); do
	t0=$(date +%s%N)
	[ "$i" = 1 ] || mcp start gk >/dev/null || { echo "boot $i: start failed"; continue; }
	# bounded as a whole: a hung boot fails this one try, not the test run
	if answer_within 30 "http://127.0.0.1:$port/health"; then
		ok=$((ok + 1))
		times+=($((($(date +%s%N) - t0) / 1000000)))
	else
		echo "boot $i: no answer within 30 s; console tail:"; console | tail -n 5
	fi
	if mcp stop gk >/dev/null && grep -q "received SIGTERM" <<<"$(console)"; then
		stopped=$((stopped + 1))
	else
		echo "boot $i: no graceful stop; console tail:"; console | tail -n 5
	fi
done
echo "microvm: $ok/$BOOTS boots answered, $stopped/$BOOTS stopped gracefully (ms from start to answer: ${times[*]})"
check "microvm: $BOOTS of $BOOTS boots answered" test "$ok" = "$BOOTS"
check "microvm: $BOOTS of $BOOTS graceful stops (SIGTERM)" test "$stopped" = "$BOOTS"
mcp undeploy gk >/dev/null
done_with_agent

t_done
