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
	local node="$1" dir="$2" zone="$3" ip rec _
	shift 3
	ip=$(fleet_ip "$node")
	mkdir -p "$dir/storage" "$dir/run" || return 1
	{
		echo "\$ORIGIN $zone."
		echo "\$TTL 5"
		echo "@ SOA ns.$zone. hostmaster.$zone. 1 3600 600 86400 5"
		echo "@ NS ns.$zone."
		echo "ns A $ip"
		for rec in "$@"; do echo "$rec"; done
	} >"$dir/storage/$zone.zone"
	cat >"$dir/knot.conf" <<EOF
server:
    rundir: "$dir/run"
    listen: $ip@53
database:
    storage: "$dir/storage"
template:
  - id: default
    storage: "$dir/storage"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: all
zone:
  - domain: $zone
EOF
	fleet_exec "$node" knotd -c "$dir/knot.conf" >"$dir/knotd.log" 2>&1 &
	echo $! >"$dir/knotd.pid"
	for _ in $(seq 1 50); do
		if fleet_exec "$node" kdig "@$ip" +short +timeout=1 +retry=0 "ns.$zone" A 2>/dev/null |
			grep -q "$ip"; then
			return 0
		fi
		sleep 0.1
	done
	echo "knot_start: knotd in $node did not answer; log:" >&2
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
