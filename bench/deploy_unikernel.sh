#!/bin/bash
# bench/deploy_unikernel.sh [RUNS]: unikernel deploy-to-first-HTTP-answer
# through `mcp deploy` versus booting the same kernel + initramfs with a
# hand-written QEMU command line to first answer, side by side (median of
# RUNS, default 3; the ratio is the agent's overhead); image build time
# cold and cached; QEMU RSS per VM versus memory_mb.
set -u
cd "$(dirname "$0")/.."
. tests/lib/agent.sh
. bench/lib.sh
RUNS=${1:-3}
ACCEL=tcg
grep -qE 'vmx|svm' /proc/cpuinfo && [ -e /dev/kvm ] && ACCEL=kvm

T=$(mktemp -d /tmp/mcp-bench-uk.XXXXXX)
RAW_PID=
cleanup() {
	[ -n "$RAW_PID" ] && kill -9 "$RAW_PID" 2>/dev/null
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT


hello_registry "$T" v1.0.0 >/dev/null || exit 1
podman_env_cleanup "$T/img/podman"
AGENT_EXTRA_UNIKERNEL="vcpus = 8"
agent_env_init "$T/agent" "$REGISTRY" || exit 1
agent_start || exit 1
def() { printf 'name = "uk"\nruntime = "unikernel"\n[[components]]\nname = "uk"\nimage = "%s"\nmemory_mb = %d\n[[components.routes]]\nport = 8080\n' "$REGISTRY/hello:v1.0.0" "$1"; }
def 128 >"$T/uk.toml"
port_of() { sed -n 's/.*"host_port": \([0-9]*\).*/\1/p' <<<"$1" | head -1; }

# cold build (first deploy: pull + extract + initramfs) vs cached
t0=$(now_ms); out=$(mcp --json deploy "$T/uk.toml"); cold=$(($(now_ms) - t0))
wait_200 "http://127.0.0.1:$(port_of "$out")/" || { echo "no answer from the VM"; exit 1; }
RSS_KB=$(awk '/^VmRSS/ {print $2}' "/proc/$(cat "$AGENT_DIR/state/vms/uk/qemu.pid")/status")
mcp undeploy uk >/dev/null
t0=$(now_ms); out=$(mcp --json deploy "$T/uk.toml"); cached=$(($(now_ms) - t0))
mcp undeploy uk >/dev/null
KERNEL=$MCP_KERNEL_DIR/vmlinux
INITRD=$(find "$AGENT_DIR/state/images" -name initramfs.cpio | head -1)

raw=() agent=() calls=()
for i in $(seq 1 "$RUNS"); do
	p=$(free_port 40000 50000)
	t0=$(now_ms)
	qemu-system-x86_64 -nodefaults -no-user-config -display none -monitor none \
		-serial "file:$T/raw-console.log" -accel "$ACCEL" -m 128 -smp 1 \
		-kernel "$KERNEL" -initrd "$INITRD" -append "console=ttyS0 quiet panic=-1" \
		-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$p-:8080" \
		-device virtio-net-pci,netdev=n0 &
	RAW_PID=$!
	wait_200 "http://127.0.0.1:$p/" || echo "raw boot $i: no answer" >&2
	raw+=($(($(now_ms) - t0)))
	kill -9 "$RAW_PID"; wait "$RAW_PID" 2>/dev/null; RAW_PID=

	t0=$(now_ms)
	out=$(mcp --json deploy "$T/uk.toml")
	calls+=($(($(now_ms) - t0)))
	wait_200 "http://127.0.0.1:$(port_of "$out")/" || echo "mcp run $i: no answer" >&2
	agent+=($(($(now_ms) - t0)))
	mcp undeploy uk >/dev/null
done
compare "unikernel deploy to first HTTP answer (accel $ACCEL, median of $RUNS, image cached):" \
	1.15 "hand-written qemu" raw "mcp deploy" agent "ratio mcp/qemu"
echo "deploy call, cold image build : ${cold} ms"
echo "deploy call, cached image     : ${cached} ms, then median $(printf '%s\n' "${calls[@]}" | median) ms (runs: ${calls[*]})"
echo "QEMU RSS with memory_mb=128   : $((RSS_KB / 1024)) MB"
