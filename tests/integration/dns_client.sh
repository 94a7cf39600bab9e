#!/bin/bash
# The master's DNS client (lib/dns, SPEC §5) against a real authoritative
# server: knotd on 127.0.0.1 with a TSIG key whose ACL may update A/AAAA
# records below apps.svc.test only, driven through build/.../tools/
# dns-update (the same library calls the master makes).  Set, set again
# (only the new address answers, also over a two-record RRset), delete
# (NXDOMAIN; a second delete is fine), names refused before anything is
# sent, an unknown key, a forged secret, a key the ACL does not list, a
# name outside the ACL's owners, a server that never answers (UNAVAILABLE
# within the deadline), several threads sharing one client; the time per
# update is printed.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/agent.sh
. tests/lib/fleet.sh

MCP_BUILD=${MCP_BUILD:-$PWD/build/rel}
DU=$MCP_BUILD/tools/dns-update
[ -x "$DU" ] || { echo "no $DU (run make)"; exit 1; }

T=$(mktemp -d /tmp/mcp-it-dns.XXXXXX)
SINK=
cleanup() {
	knot_stop "$T/knot"
	if [ -n "$SINK" ]; then
		kill "$SINK" 2>/dev/null
		wait "$SINK" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT

# key files as the master reads them: keymgr's output, mode 0600
(
	umask 077
	keymgr -t mcp-master hmac-sha256 >"$T/master.key" &&
		keymgr -t intruder hmac-sha256 >"$T/intruder.key" &&
		keymgr -t stranger hmac-sha256 >"$T/stranger.key" &&
		keymgr -t mcp-master hmac-sha256 >"$T/forged.key"
) || { echo "keymgr failed"; exit 1; }

PORT=$(free_port) || exit 1
KNOT_KEYS="$T/master.key $T/intruder.key" KNOT_UPDATE_KEY=mcp-master \
	KNOT_UPDATE_OWNERS=apps knot_start_local "$T/knot" svc.test "$PORT" \
	"multi.apps A 10.9.0.1" "multi.apps A 10.9.0.2" "fixed A 10.9.0.9" || exit 1

# dns-update, its stderr also kept in $T/du.all (sanitizer reports are
# looked for at the end: a failing call's leak would otherwise pass)
du() {
	local rc
	"$DU" "$@" 2>"$T/du.err"
	rc=$?
	cat "$T/du.err" >>"$T/du.all"
	cat "$T/du.err" >&2
	return $rc
}
# as mcp-master against this server / with another key
upd() { du -t 2000 -l 120 127.0.0.1 "$PORT" svc.test mcp-master "$T/master.key" "$@"; }
upd_key() {
	local key="$1" file="$2"
	shift 2
	du -t 2000 127.0.0.1 "$PORT" svc.test "$key" "$file" "$@"
}
# the A records of NAME, sorted, space-separated
answers() {
	kdig @127.0.0.1 -p "$PORT" +short +timeout=2 +retry=0 "$1" A | sort | tr '\n' ' ' | sed 's/ $//'
}
answers_are() { [ "$(answers "$1")" = "$2" ] || { echo "  $1: '$(answers "$1")', wanted '$2'"; return 1; }; }
status_of() {
	kdig @127.0.0.1 -p "$PORT" +timeout=2 +retry=0 "$1" A | sed -n 's/.*status: \([A-Z]*\).*/\1/p'
}
ddns_count() { grep -c "DDNS, processing" "$T/knot/knotd.log"; }

# ---- set, set again, RRset replaced, TTL, delete
check "set hello.apps.svc.test -> 10.9.1.1" upd set hello.apps.svc.test 10.9.1.1
check "kdig answers 10.9.1.1" answers_are hello.apps.svc.test 10.9.1.1
check "set it again to 10.9.1.2" upd set hello.apps.svc.test 10.9.1.2
check "only the new address answers" answers_are hello.apps.svc.test 10.9.1.2
check "the zone had two A records for multi.apps" answers_are multi.apps.svc.test "10.9.0.1 10.9.0.2"
check "set multi.apps.svc.test -> 10.9.1.3" upd set multi.apps.svc.test 10.9.1.3
check "both old records are gone, only 10.9.1.3 answers" answers_are multi.apps.svc.test 10.9.1.3
ttl_is() {
	kdig @127.0.0.1 -p "$PORT" +noall +answer +timeout=2 +retry=0 "$1" A |
		awk -v w="$2" '$4 == "A" { n++; if ($2 != w) bad = 1 } END { exit !(n > 0 && !bad) }'
}
check "the record carries the configured TTL (120)" ttl_is hello.apps.svc.test 120
check "a trailing dot on the name is accepted" upd set dot.apps.svc.test. 10.9.1.4
check "... and the record is there" answers_are dot.apps.svc.test 10.9.1.4
check "delete hello.apps.svc.test" upd delete hello.apps.svc.test
check "kdig: NXDOMAIN after the delete" test "$(status_of hello.apps.svc.test)" = NXDOMAIN
check "deleting an absent record succeeds" upd delete hello.apps.svc.test
check "the other records are untouched" answers_are multi.apps.svc.test 10.9.1.3

# ---- refused before anything is sent (knot sees no update)
before=$(ddns_count)
expect_fail "a name across a label boundary (evilsvc.test)" \
	"INVALID_ARGUMENT: dns: name evilsvc.test is not in zone svc.test" \
	upd set evilsvc.test 10.9.1.5
expect_fail "a name in another zone" "INVALID_ARGUMENT: .*not in zone svc.test" \
	upd set hello.svc.test.evil.net 10.9.1.5
expect_fail "a name that is not a hostname" "INVALID_ARGUMENT: dns: name \"Hello_x.svc.test\"" \
	upd set Hello_x.svc.test 10.9.1.5
expect_fail "an address that is not a dotted quad" "INVALID_ARGUMENT: dns: address \"10.9.1\"" \
	upd set ok.apps.svc.test 10.9.1
expect_fail "an IPv6 address for an A record" "INVALID_ARGUMENT: dns: address \"::1\"" \
	upd set ok.apps.svc.test ::1
expect_fail "a server that is not an IP address" "INVALID_ARGUMENT: dns: server \"localhost\" is not an IP address" \
	du localhost "$PORT" svc.test mcp-master "$T/master.key" delete a.svc.test
check "knot received none of those" test "$(ddns_count)" = "$before"

# ---- refused by the server: named as not authorised, nothing changed
expect_fail "a key the server does not know" \
	"PERMISSION_DENIED: DNS server 127.0.0.1:$PORT refused the update for ok.apps.svc.test: not authorised \(TSIG key stranger or the ACL; NOTAUTH, BADKEY\)" \
	upd_key stranger "$T/stranger.key" set ok.apps.svc.test 10.9.1.6
expect_fail "the right key name with a forged secret" \
	"PERMISSION_DENIED: .*not authorised \(TSIG key mcp-master or the ACL; NOTAUTH, BADSIG\)" \
	upd_key mcp-master "$T/forged.key" set ok.apps.svc.test 10.9.1.6
expect_fail "a key the server knows but the ACL does not list" \
	"PERMISSION_DENIED: .*refused the update for ok.apps.svc.test: not authorised \(TSIG key intruder or the ACL" \
	upd_key intruder "$T/intruder.key" set ok.apps.svc.test 10.9.1.6
check "ok.apps.svc.test was never created" test "$(status_of ok.apps.svc.test)" = NXDOMAIN
expect_fail "a name in the zone outside the ACL's owners (fixed.svc.test)" \
	"PERMISSION_DENIED: .*refused the update for fixed.svc.test: not authorised \(TSIG key mcp-master or the ACL" \
	upd set fixed.svc.test 10.9.1.7
check "fixed.svc.test keeps its address" answers_are fixed.svc.test 10.9.0.9
expect_fail "a delete outside the ACL's owners" "PERMISSION_DENIED: .*not authorised" \
	upd delete fixed.svc.test
check "fixed.svc.test still answers" answers_are fixed.svc.test 10.9.0.9
expect_fail "a zone the server does not serve" \
	"PERMISSION_DENIED: .*refused the update for a.other.test: NOTAUTH \(not authoritative for zone other.test" \
	du 127.0.0.1 "$PORT" other.test mcp-master "$T/master.key" set a.other.test 10.9.1.8

# ---- a server that never answers: UNAVAILABLE within the deadline
SPORT=$(free_port) || exit 1
socat -u "UDP4-RECV:$SPORT,bind=127.0.0.1" /dev/null &
SINK=$!
sleep 0.2
t0=$(date +%s%N)
out=$(du -t 1000 127.0.0.1 "$SPORT" svc.test mcp-master "$T/master.key" set late.apps.svc.test 10.9.1.9 2>&1)
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "  silent server: exit $rc after $ms ms: $out"
check "a silent server: the call fails with UNAVAILABLE naming server:port" \
	grep -q "UNAVAILABLE: DNS server 127.0.0.1:$SPORT did not answer the update for late.apps.svc.test within 1000 ms" <<<"$out"
check "... within the 1000 ms deadline (+ 300 ms slack), not before 900 ms" \
	test "$rc" = 1 -a "$ms" -ge 900 -a "$ms" -le 1300

# ---- several threads on one client; time per update
per=$(upd -j 8 -n 10 set par.apps.svc.test 10.9.2.1) && echo "  8 threads x 10 updates (wall time / 80): $per"
check "8 threads x 10 updates share one client" test -n "$per"
par_ok() {
	local i k
	for i in 0 1 2 3 4 5 6 7; do
		for k in 0 9; do
			answers_are "t$i.r$k.par.apps.svc.test" 10.9.2.1 || return 1
		done
	done
}
check "... and every thread's records answer" par_ok
per=$(upd -n 200 set bench.apps.svc.test 10.9.3.1) && echo "  200 sequential updates, each adding a record: $per"
check "200 sequential updates succeed" test -n "$per"
check "... the last one answers" answers_are r199.bench.apps.svc.test 10.9.3.1
t0=$(date +%s%N)
upd set once.apps.svc.test 10.9.3.2
echo "  one dns-update process (exec, key file, update): $((($(date +%s%N) - t0) / 1000000)) ms"
no_sanitizer_report() { ! grep -B2 -A20 "Sanitizer" "$T/du.all"; }
check "no sanitizer report from any dns-update run" no_sanitizer_report

t_done
