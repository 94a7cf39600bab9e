#!/bin/bash
# Wire and identity (SPEC §6): the agent serves gRPC over mutual TLS on TCP;
# a foreign client (Python grpcio with proto/agent.proto) calls Status with
# a valid operator certificate (OK), with a certificate of an identity the
# agent does not allow (PERMISSION_DENIED) and with one from another CA
# (refused in the TLS handshake: UNAVAILABLE).  The CLI talks to the same
# agent over TLS.  Certificates come from `mcp ca`.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/agent.sh

T=$(mktemp -d /tmp/mcp-it-interop.XXXXXX)
cleanup() {
	agent_env_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

M="$MCP_BIN/mcp"
check "ca init" "$M" ca init "$T/ca"
expect_fail "ca init refuses to overwrite" "exist" "$M" ca init "$T/ca"
check "issue agent certificate" "$M" ca issue agent-local --ca "$T/ca"
check "issue operator certificate" "$M" ca issue operator --ca "$T/ca"
check "issue an identity agents do not accept" "$M" ca issue agent-other --ca "$T/ca"
check "issue mcp-master certificate" "$M" ca issue mcp-master --ca "$T/ca"
check "second CA" "$M" ca init "$T/ca2"
check "operator certificate from the second CA" "$M" ca issue operator --ca "$T/ca2"
expect_fail "bad identity name refused" "name" "$M" ca issue "../x" --ca "$T/ca"
check "key is owner-only" test "$(stat -c %a "$T/ca/operator.key")" = 600

PORT=$(free_port) || exit 1
AGENT_EXTRA_AGENT="listen = \"127.0.0.1:$PORT\""
AGENT_EXTRA="[tls]
ca = \"$T/ca/ca.crt\"
cert = \"$T/ca/agent-local.crt\"
key = \"$T/ca/agent-local.key\""
agent_env_init "$T/agent" || exit 1
agent_start || exit 1
check "control socket is owner-only" test "$(stat -c %a "$AGENT_DIR/state/agent.sock")" = 600

PY=/usr/bin/python3
client() { # CADIR NAME METHOD
	"$PY" tests/interop/agent_client.py --address "127.0.0.1:$PORT" --ca "$T/ca/ca.crt" \
		--cert "$1/$2.crt" --key "$1/$2.key" --method "$3" --timeout 10
}
out=$(client "$T/ca" operator Status 2>&1)
check "python client: Status as operator succeeds" test $? = 0
echo "$out"
check "Status names the node" grep -q '"node": "local"' <<<"$out"
check "python client: HealthCheck as mcp-master succeeds" grep -q '"status": "ok"' <<<"$(client "$T/ca" mcp-master HealthCheck)"
expect_fail "identity not allowed gets PERMISSION_DENIED" "PERMISSION_DENIED" client "$T/ca" agent-other Status
expect_fail "certificate from another CA is refused" "UNAVAILABLE|UNAUTHENTICATED" client "$T/ca2" operator Status

# the CLI over mutual TLS
cat >"$T/mcp-tls.toml" <<EOF
[[nodes]]
name = "local"
address = "127.0.0.1:$PORT"
[tls]
ca = "$T/ca/ca.crt"
cert = "$T/ca/operator.crt"
key = "$T/ca/operator.key"
EOF
check "mcp node list over TLS" "$M" -c "$T/mcp-tls.toml" node list
sed 's/operator\./agent-other./' "$T/mcp-tls.toml" >"$T/mcp-bad.toml"
expect_fail "CLI with a refused identity" "PERMISSION_DENIED|not allowed|agent-other" "$M" -c "$T/mcp-bad.toml" ps
s_client() { echo | timeout 5 openssl s_client -connect "127.0.0.1:$PORT" "$1" -CAfile "$T/ca/ca.crt" -cert "$T/ca/operator.crt" -key "$T/ca/operator.key" 2>&1; }
check "TLS 1.3 handshake" grep -q "New, TLSv1.3, Cipher is" <<<"$(s_client -tls1_3)"
check "TLS 1.2 is refused" sh -c "! grep -q 'New, TLSv1.2, Cipher is' <<'EOT'
$(s_client -tls1_2)
EOT"
check "agent stops cleanly" agent_stop
t_done
