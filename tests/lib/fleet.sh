# tests/lib/fleet.sh: several "nodes" on one machine (sourceable bash), as
# ENVIRONMENT.md describes: each node is a network namespace joined by a
# veth pair to a bridge that lives in a LAN namespace of its own, so every
# packet stays among the namespaces the test made (nothing is routed from
# or to the root namespace).  Plus a real authoritative DNS server (knot)
# for a zone, run inside a node.
#
#   fleet_init PREFIX SUBNET3     e.g. fleet_init mcpt-e$$ 10.98.7: the LAN
#                                 is SUBNET3.0/24, namespaces PREFIX-<node>
#   fleet_node NAME HOSTNUM       namespace PREFIX-NAME with SUBNET3.HOSTNUM/24
#                                 on eth0 and lo up; prints nothing
#   fleet_ip NAME                 the node's address
#   fleet_exec NAME CMD...        run CMD in the node's network namespace
#                                 (nsenter: /sys and cgroups stay usable)
#   fleet_cleanup                 delete every namespace made (the veths go too)
#   knot_start NODE DIR ZONE RECORDS...   knotd in NODE on port 53 serving ZONE
#                                 from a zone file with RECORDS ("name A ip"),
#                                 PID in DIR/knotd.pid; knot_stop DIR
#   knot_start_local DIR ZONE PORT RECORDS...  the same on 127.0.0.1:PORT in
#                                 the root namespace; both take a TSIG key
#                                 and update ACL from KNOT_KEYS etc.
#                                 (knot_config)

FLEET_PREFIX=
FLEET_NET=
FLEET_NS=()

fleet_init() {
	FLEET_PREFIX="$1"
	FLEET_NET="$2"
	ip netns add "$FLEET_PREFIX-lan" || return 1
	FLEET_NS+=("$FLEET_PREFIX-lan")
	ip -n "$FLEET_PREFIX-lan" link add br0 type bridge || return 1
	ip -n "$FLEET_PREFIX-lan" link set br0 up
	ip -n "$FLEET_PREFIX-lan" link set lo up
}

fleet_node() {
	local name="$1" num="$2" ns="$FLEET_PREFIX-$1" lan="$FLEET_PREFIX-lan"
	ip netns add "$ns" || return 1
	FLEET_NS+=("$ns")
	ip -n "$ns" link set lo up
	# the peer is created in the LAN namespace directly
	ip -n "$ns" link add eth0 type veth peer name "v$num" netns "$lan" || return 1
	ip -n "$lan" link set "v$num" master br0
	ip -n "$lan" link set "v$num" up
	ip -n "$ns" addr add "$FLEET_NET$num/24" dev eth0
	ip -n "$ns" link set eth0 up
	eval "FLEET_IP_$name=$FLEET_NET$num"
}

fleet_ip() {
	eval "echo \$FLEET_IP_$1"
}

fleet_exec() {
	local name="$1"
	shift
	nsenter "--net=/var/run/netns/$FLEET_PREFIX-$name" "$@"
}

fleet_cleanup() {
	local ns
	for ns in "${FLEET_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	FLEET_NS=()
}

knot_start() {
	local node="$1" dir="$2" zone="$3" ip
	shift 3
	ip=$(fleet_ip "$node")
	knot_config "$dir" "$zone" "$ip" 53 "$ip" "$@" || return 1
	# nsenter execs knotd in place: $! is knotd itself (a function here
	# would leave $! naming a subshell, and knot_stop would miss knotd)
	nsenter "--net=/var/run/netns/$FLEET_PREFIX-$node" knotd -c "$dir/knot.conf" \
		>"$dir/knotd.log" 2>&1 &
	echo $! >"$dir/knotd.pid"
	_knot_wait "$dir" "$ip" 53 "$zone" "$ip" fleet_exec "$node"
}

# knot_start_local DIR ZONE PORT RECORDS...: the same in the root namespace
# on 127.0.0.1:PORT (ns.ZONE is 127.0.0.1).
knot_start_local() {
	local dir="$1" zone="$2" port="$3"
	shift 3
	knot_config "$dir" "$zone" 127.0.0.1 "$port" 127.0.0.1 "$@" || return 1
	knotd -c "$dir/knot.conf" >"$dir/knotd.log" 2>&1 &
	echo $! >"$dir/knotd.pid"
	_knot_wait "$dir" 127.0.0.1 "$port" "$zone" 127.0.0.1
}

# knot_config DIR ZONE ADDR PORT NS_IP RECORDS...: DIR/knot.conf listening
# on ADDR@PORT and DIR/storage/ZONE.zone.  RFC 2136 updates: with KNOT_KEYS
# (files `keymgr -t NAME hmac-sha256` printed) those keys are declared, and
# KNOT_UPDATE_KEY (one of their names) may update A and AAAA records,
# confined to the names below KNOT_UPDATE_OWNERS (space-separated, relative
# to ZONE) when that is set.
knot_config() {
	local dir="$1" zone="$2" addr="$3" port="$4" nsip="$5" rec
	shift 5
	mkdir -p "$dir/storage" "$dir/run" || return 1
	{
		echo "\$ORIGIN $zone."
		echo "\$TTL 5"
		echo "@ SOA ns.$zone. hostmaster.$zone. 1 3600 600 86400 5"
		echo "@ NS ns.$zone."
		echo "ns A $nsip"
		for rec in "$@"; do echo "$rec"; done
	} >"$dir/storage/$zone.zone"
	{
		echo "server:"
		echo "    rundir: \"$dir/run\""
		echo "    listen: $addr@$port"
		if [ -n "${KNOT_KEYS:-}" ]; then
			echo "key:"
			# shellcheck disable=SC2086
			grep -hv '^#\|^key:' $KNOT_KEYS || return 1
			echo "acl:"
			echo "  - id: update"
			echo "    key: ${KNOT_UPDATE_KEY:?KNOT_UPDATE_KEY not set}"
			echo "    action: update"
			echo "    update-type: [A, AAAA]"
			if [ -n "${KNOT_UPDATE_OWNERS:-}" ]; then
				echo "    update-owner: name"
				echo "    update-owner-name: [${KNOT_UPDATE_OWNERS// /, }]"
				echo "    update-owner-match: sub"
			fi
		fi
		echo "database:"
		echo "    storage: \"$dir/storage\""
		echo "template:"
		echo "  - id: default"
		echo "    storage: \"$dir/storage\""
		echo "    file: \"%s.zone\""
		echo "    zonefile-sync: -1"
		echo "    journal-content: all"
		echo "zone:"
		echo "  - domain: $zone"
		[ -z "${KNOT_KEYS:-}" ] || echo "    acl: update"
	} >"$dir/knot.conf"
}

# _knot_wait DIR ADDR PORT ZONE NS_IP [PREFIX...]: until knotd answers
# ns.ZONE (kdig run under PREFIX, e.g. fleet_exec NODE), 5 s at most.
_knot_wait() {
	local dir="$1" addr="$2" port="$3" zone="$4" nsip="$5" _
	shift 5
	for _ in $(seq 1 50); do
		if "$@" kdig "@$addr" -p "$port" +short +timeout=1 +retry=0 "ns.$zone" A 2>/dev/null |
			grep -q "$nsip"; then
			return 0
		fi
		sleep 0.1
	done
	echo "knot_start: knotd at $addr@$port did not answer; log:" >&2
	tail -5 "$dir/knotd.log" >&2
	return 1
}

knot_stop() {
	local pid
	[ -f "$1/knotd.pid" ] || return 0
	pid=$(cat "$1/knotd.pid")
	rm -f "$1/knotd.pid"
	kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	return 0
}
