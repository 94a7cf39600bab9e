# tests/lib/registry.sh: a throw-away OCI registry for tests (sourceable
# bash), plus a free-port helper.
#
#   free_port [LO HI]        print a TCP port free on 127.0.0.1 (default
#                            range 20000-32767)
#   registry_start DIR PORT  run `docker-registry serve` with filesystem
#                            storage under DIR, on 127.0.0.1:PORT (plain
#                            HTTP: clients need --tls-verify=false), wait
#                            until /v2/ answers; PID in DIR/registry.pid,
#                            log in DIR/registry.log; sets REGISTRY=127.0.0.1:PORT
#   registry_stop DIR        kill that PID only (and wait for it)

free_port() {
	local lo="${1:-20000}" hi="${2:-32767}" p _
	for _ in $(seq 1 200); do
		p=$((lo + RANDOM % (hi - lo + 1)))
		if ! ss -Htln "sport = :$p" 2>/dev/null | grep -q . &&
			! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "free_port: no free port in $lo-$hi" >&2
	return 1
}

# Wait until http://ADDR/v2/ answers (any HTTP status), up to SECS seconds.
_registry_wait() {
	local addr="$1" secs="$2" _
	for _ in $(seq 1 $((secs * 10))); do
		if curl -s -o /dev/null -m 1 "http://$addr/v2/"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

registry_start() {
	local dir="$1" port="$2" pid
	if [ -z "$dir" ] || [ -z "$port" ]; then
		echo "registry_start: usage: registry_start DIR PORT" >&2
		return 2
	fi
	if ! command -v docker-registry >/dev/null; then
		echo "registry_start: docker-registry not installed" >&2
		return 1
	fi
	mkdir -p "$dir/data" || return 1
	cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$port
  secret: mcp-test-registry
EOF
	docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/registry.pid"
	if ! _registry_wait "127.0.0.1:$port" 15; then
		echo "registry_start: registry on 127.0.0.1:$port did not answer; log:" >&2
		tail -5 "$dir/registry.log" >&2
		registry_stop "$dir"
		return 1
	fi
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "registry_start: registry exited (port $port taken?); log:" >&2
		tail -5 "$dir/registry.log" >&2
		return 1
	fi
	REGISTRY="127.0.0.1:$port"
	export REGISTRY
}

registry_stop() {
	local dir="$1" pid _
	[ -f "$dir/registry.pid" ] || return 0
	pid=$(cat "$dir/registry.pid")
	rm -f "$dir/registry.pid"
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}
