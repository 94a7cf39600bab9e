#!/bin/bash
# bench/deploy_container.sh [RUNS]: `mcp deploy` to first HTTP 200 versus
# raw `podman run` to first 200 of the same image in the same isolated
# store, side by side, median of RUNS (default 5); then agent RSS idle and
# with 20 services, and `mcp ps` with 20 services versus `podman ps -a
# --format json` on the same store, alternated (median of 4 x RUNS).
set -u
cd "$(dirname "$0")/.."
. tests/lib/agent.sh
. bench/lib.sh
RUNS=${1:-5}

T=$(mktemp -d /tmp/mcp-bench.XXXXXX)
cleanup() {
	agent_env_cleanup
	registry_stop "$T/registry"
	rm -rf "$T"
}
trap cleanup EXIT


hello_registry "$T" v1.0.0 >/dev/null || exit 1
podman_env_cleanup "$T/img/podman"
agent_env_init "$T/agent" "$REGISTRY" || exit 1
agent_start || exit 1
IMG="$REGISTRY/hello:v1.0.0"
penv_podman pull --tls-verify=false "$IMG" >/dev/null 2>&1

def() { printf 'name = "%s"\n[[components]]\nname = "%s"\nimage = "%s"\nrestart = "no"\n[[components.routes]]\nport = 8080\n' "$1" "$1" "$IMG"; }

raw=() agent=()
for i in $(seq 1 "$RUNS"); do
	p=$(free_port 40000 50000)
	t0=$(now_ms)
	penv_podman run -d --name "raw-$i" --init --pull=never -e PORT=8080 \
		-p "127.0.0.1:$p:8080" "$IMG" >/dev/null
	wait_200 "http://127.0.0.1:$p/" || echo "raw run $i: no answer" >&2
	raw+=($(($(now_ms) - t0)))
	penv_podman rm -f -t 0 "raw-$i" >/dev/null

	def "bench-$i" >"$T/bench-$i.toml"
	t0=$(now_ms)
	out=$(mcp --json deploy "$T/bench-$i.toml")
	hp=$(sed -n 's/.*"host_port": \([0-9]*\).*/\1/p' <<<"$out" | head -1)
	wait_200 "http://127.0.0.1:$hp/" || echo "mcp run $i: no answer" >&2
	agent+=($(($(now_ms) - t0)))
	mcp undeploy "bench-$i" >/dev/null
done
compare "deploy to first HTTP 200 (median of $RUNS):" 1.3 \
	"raw podman run" raw "mcp deploy" agent "ratio mcp/raw"

rss() { awk '/^VmRSS/ {print $2}' "/proc/$AGENT_PID/status"; }
anon() { awk '/^RssAnon/ {print $2}' "/proc/$AGENT_PID/status"; }
pss() { awk '/^Pss:/ {print $2}' "/proc/$AGENT_PID/smaps_rollup"; }
sleep 2
idle=$(rss) idle_anon=$(anon) idle_pss=$(pss)
for i in $(seq 1 20); do
	def "svc-$i" >"$T/svc-$i.toml"
	mcp deploy "$T/svc-$i.toml" >/dev/null || echo "deploy svc-$i failed" >&2
done
sleep 3
loaded=$(rss)
# `mcp ps` (answered from the agent's live view) versus asking podman
# directly for the same store's listing, alternated so both see the same load
mapfile -t PA <"$AGENT_DIR/podman/podman.args"
ps_t=() pod_t=()
for i in $(seq 1 "$((RUNS * 4))"); do
	t0=$(date +%s%N)
	CONTAINERS_CONF="$AGENT_DIR/podman/containers.conf" podman "${PA[@]}" ps -a --format json >/dev/null
	pod_t+=($((($(date +%s%N) - t0) / 1000000)))
	t0=$(date +%s%N)
	mcp ps >/dev/null
	ps_t+=($((($(date +%s%N) - t0) / 1000000)))
done
mb() { echo "$(($1 / 1024)).$(((($1 % 1024) * 10) / 1024)) MB"; }
echo "agent RSS idle           : $(mb "$idle") (target <= 10 MB); private anon $(mb "$idle_anon"), PSS $(mb "$idle_pss")"
echo "agent RSS, 20 services   : $(mb "$loaded"); private anon $(mb "$(anon)")"
compare "ps with 20 services (median of ${#ps_t[@]}):" 0.8 \
	"podman ps -a --format json" pod_t "mcp ps" ps_t "ratio mcp/podman"
for i in $(seq 1 20); do mcp undeploy "svc-$i" >/dev/null; done
