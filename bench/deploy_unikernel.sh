#!/bin/bash
# bench/deploy_unikernel.sh [RUNS]: unikernel deploy-to-first-HTTP-answer
# through `mcp deploy` versus booting the same kernel + initramfs with a
# hand-written QEMU command line to first answer, side by side (median of
# RUNS, default 3; the ratio is the agent's overhead); image build time
# cold and cached; QEMU RSS per VM versus memory_mb.
# The agent boots its default guest kernel on its default machine type (the
# minimal kernel on -M microvm once scripts/build-guest-kernel.sh built it);
# the hand-written QEMU uses the same kernel and the same -M/NIC. A second
# baseline boots Debian's packaged kernel on -M pc by hand (its initramfs,
# with modules, built by the same agent), to show what the minimal kernel
# gains (target: mcp deploy <= 0.5 x that); RSS beyond memory_mb for each.
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
cp "$AGENT_DIR/agent.toml" "$AGENT_DIR/agent.toml.orig"
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
# what the agent booted: its kernel, -M value and NIC model, taken over by hand
SPEC=$AGENT_DIR/state/vms/uk/spec.json
KERNEL=$(json_get "$(cat "$SPEC")" 'j["kernel"]')
M_ARG=$(json_get "$(cat "$SPEC")" 'j["qemu_argv"][j["qemu_argv"].index("-M")+1]')
NIC=$(json_get "$(cat "$SPEC")" 'j["qemu_argv"][j["qemu_argv"].index("-device")+1].split(",")[0]')
GUEST_KERNEL=$(json_get "$(cat "$SPEC")" 'j["kernel_desc"]')
CMDLINE=$(json_get "$(cat "$SPEC")" 'j["cmdline"]')	# incl. tsc_early_khz on microvm/TCG
INITRD=$(json_get "$(cat "$SPEC")" 'j["initrd"]')
mcp undeploy uk >/dev/null
# Debian's kernel on -M pc: the same agent builds its initramfs (with modules)
DEB_KERNEL=$MCP_KERNEL_DIR/vmlinux
sed -i "s|^kernel = .*|kernel = \"$DEB_KERNEL\"|; s|^machine = .*|machine = \"pc\"|" "$AGENT_DIR/agent.toml"
agent_stop; agent_start || exit 1
out=$(mcp --json deploy "$T/uk.toml") || exit 1
wait_200 "http://127.0.0.1:$(port_of "$out")/" || { echo "no answer from the VM on Debian's kernel"; exit 1; }
DEB_INITRD=$(json_get "$(cat "$SPEC")" 'j["initrd"]')
mcp undeploy uk >/dev/null
cp "$AGENT_DIR/agent.toml.orig" "$AGENT_DIR/agent.toml"
agent_stop; agent_start || exit 1
# raw_boot KERNEL INITRD M NIC CMDLINE: boot by hand, echo ms to first answer and RSS (kB)
raw_boot() {
	local p t0 ms rss
	p=$(free_port 40000 50000)
	t0=$(now_ms)
	qemu-system-x86_64 -M "$3" -nodefaults -no-user-config -display none -monitor none \
		-serial "file:$T/raw-console.log" -accel "$ACCEL" -m 128 -smp 1 \
		-kernel "$1" -initrd "$2" -append "$5" \
		-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$p-:8080" \
		-device "$4,netdev=n0" &
	RAW_PID=$!
	wait_200 "http://127.0.0.1:$p/" || echo "raw boot of $1 on -M $3: no answer" >&2
	ms=$(($(now_ms) - t0))
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$RAW_PID/status")
	kill -9 "$RAW_PID"; wait "$RAW_PID" 2>/dev/null; RAW_PID=
	echo "$ms $rss"
}

raw=() agent=() calls=() deb=()
for i in $(seq 1 "$RUNS"); do
	read -r ms RAW_RSS_KB < <(raw_boot "$KERNEL" "$INITRD" "$M_ARG" "$NIC" "$CMDLINE")
	raw+=("$ms")
	read -r ms DEB_RSS_KB < <(raw_boot "$DEB_KERNEL" "$DEB_INITRD" pc virtio-net-pci \
	    "console=ttyS0 quiet panic=-1")
	deb+=("$ms")

	t0=$(now_ms)
	out=$(mcp --json deploy "$T/uk.toml")
	calls+=($(($(now_ms) - t0)))
	wait_200 "http://127.0.0.1:$(port_of "$out")/" || echo "mcp run $i: no answer" >&2
	agent+=($(($(now_ms) - t0)))
	mcp undeploy uk >/dev/null
done
echo "guest kernel: $GUEST_KERNEL, -M $M_ARG, $NIC"
compare "unikernel deploy to first HTTP answer (accel $ACCEL, median of $RUNS, image cached):" \
	1.15 "hand-written qemu" raw "mcp deploy" agent "ratio mcp/qemu"
compare "versus Debian's packaged kernel on -M pc, hand-written (accel $ACCEL):" \
	0.5 "Debian kernel -M pc, qemu" deb "mcp deploy" agent "ratio mcp/debian-pc"
echo "deploy call, cold image build : ${cold} ms"
echo "deploy call, cached image     : ${cached} ms, then median $(printf '%s\n' "${calls[@]}" | median) ms (runs: ${calls[*]})"
echo "QEMU RSS with memory_mb=128   : $((RSS_KB / 1024)) MB"
echo "QEMU RSS beyond memory_mb=128 at first answer (target <= 40 MB; negative: the guest"
echo "has not touched all its RAM yet):"
echo "  mcp deploy                  : $((RSS_KB / 1024 - 128)) MB (RSS $((RSS_KB / 1024)) MB)"
echo "  hand-written, same kernel/-M: $((RAW_RSS_KB / 1024 - 128)) MB (RSS $((RAW_RSS_KB / 1024)) MB)"
echo "  Debian kernel -M pc         : $((DEB_RSS_KB / 1024 - 128)) MB (RSS $((DEB_RSS_KB / 1024)) MB)"
