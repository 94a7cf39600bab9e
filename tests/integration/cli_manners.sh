#!/bin/bash
# CLI manners (issue 12): --help on stdout with exit 0, --version equal to
# lib/util/version.h (mcp, mcp-agent, mcp-master), `mcp COMMAND --help`
# for every command `mcp --help` lists, usage errors exit 2 with the usage on stderr, operational errors
# exit 1 (an unreachable agent: naming the socket and the likely cause);
# mcp-agent --check-config exits 0 on a valid configuration and 1
# naming file and line on a broken one, without creating anything.  The
# manual pages pass mandoc -Tlint and man --warnings, and list every
# command and option the binaries print and every key of a service
# definition lib/service accepts (so they cannot drift apart); the
# bash completion offers the same commands, the services of the services
# directory and the configured nodes.  mcp ps and mcp status, against a
# real agent with names too long for a line, fit 80 columns when piped and
# the terminal's width on a pty (cut with "…"); --wide and --json do not
# cut.  An agent's error carrying escape sequences is printed escaped
# (\x1b, \x07, \u009b), never raw, in human and --json output.
set -u
cd "$(dirname "$0")/../.."
BIN=${MCP_BIN:-$PWD/bin}
T=$(mktemp -d /tmp/mcp-it-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run CMD...: sets rc, out (stdout), errout (stderr)
run() {
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	errout=$(cat "$T/err")
}
expect() {	# expect RC DESCRIPTION
	[ "$rc" = "$1" ] || fail "$2: exit $rc, want $1 (stderr: $errout)"
}

VERSION=$(sed -n 's/^#define MCP_VERSION "\(.*\)"$/\1/p' lib/util/version.h)
[ -n "$VERSION" ] || { echo "no MCP_VERSION"; exit 1; }

# --- mcp ---------------------------------------------------------------
for h in --help -h; do
	run "$BIN/mcp" $h
	expect 0 "mcp $h"
	[[ $out == usage:\ mcp* ]] || fail "mcp $h: no usage on stdout"
	[ -z "$errout" ] || fail "mcp $h wrote to stderr: $errout"
done
COMMANDS=$("$BIN/mcp" --help | sed -n '/^commands:/,/^[^ ]/s/^  \([a-z][a-z-]*\) .*/\1/p')
[ "$(echo "$COMMANDS" | wc -w)" -ge 10 ] || fail "mcp --help lists too few commands: $COMMANDS"
for v in --version -V; do
	run "$BIN/mcp" $v
	expect 0 "mcp $v"
	[ "$out" = "mcp $VERSION" ] || fail "mcp $v printed '$out', want 'mcp $VERSION'"
done
for c in $COMMANDS; do
	run "$BIN/mcp" "$c" --help
	expect 0 "mcp $c --help"
	[[ $out == "usage: mcp $c"* ]] || fail "mcp $c --help: '$out'"
done
# usage errors: 2, usage on stderr, nothing on stdout
for args in "" "bogus" "--bogus ps" "deploy" "stop" "logs" "ps extra" "node" \
    "route frob" "ca" "ca issue" "push a b"; do
	# shellcheck disable=SC2086
	run "$BIN/mcp" $args
	expect 2 "mcp $args"
	[ -z "$out" ] || fail "mcp $args: usage error wrote to stdout"
	[[ $errout == *usage:* ]] || fail "mcp $args: no usage on stderr"
done
# operational error: 1, and the message names the node and the address
cat >"$T/mcp.toml" <<EOF2
[[nodes]]
name = "gone"
address = "unix:$T/nothing.sock"
EOF2
run "$BIN/mcp" -c "$T/mcp.toml" ps
expect 1 "mcp ps against a missing socket"
[[ $errout == *"$T/nothing.sock"* ]] || fail "mcp ps: error does not name the socket: $errout"
[[ $errout == *"is mcp-agent running? socket $T/nothing.sock not found"* ]] ||
    fail "mcp ps: error does not suggest the cause: $errout"
printf 'bogus = 1\n' >"$T/broken.toml"
run "$BIN/mcp" -c "$T/broken.toml" ps
expect 1 "mcp with a broken config"

# --- mcp-agent ---------------------------------------------------------
run "$BIN/mcp-agent" --help
expect 0 "mcp-agent --help"
[[ $out == usage:\ mcp-agent* ]] || fail "mcp-agent --help: no usage on stdout"
run "$BIN/mcp-agent" --version
expect 0 "mcp-agent --version"
[ "$out" = "mcp-agent $VERSION" ] || fail "mcp-agent --version printed '$out'"
run "$BIN/mcp-agent"
expect 2 "mcp-agent without -c"
run "$BIN/mcp-agent" --bogus
expect 2 "mcp-agent --bogus"
run "$BIN/mcp-agent" -c examples/config/agent.toml --check-config extra
expect 2 "mcp-agent --check-config with an argument"

sed "s|/var/lib/mcp|$T/state|g" examples/config/agent.toml >"$T/agent.toml"
run "$BIN/mcp-agent" -c "$T/agent.toml" --check-config
expect 0 "mcp-agent --check-config (valid)"
[[ $out == *"configuration valid"* ]] || fail "--check-config (valid) said: $out"
[ ! -e "$T/state" ] || fail "--check-config created the state directory"
# a broken line, an unknown key, an invalid value: 1, naming file and line
printf '[agent]\nnode = \n' >"$T/bad1.toml"
printf '[agent]\nnode = "a"\nfrobnicate = 1\n' >"$T/bad2.toml"
printf '[proxy]\nenabled = true\nzone = ""\n' >"$T/bad3.toml"
for b in bad1 bad2 bad3; do
	run "$BIN/mcp-agent" -c "$T/$b.toml" --check-config
	expect 1 "mcp-agent --check-config ($b)"
	[[ $errout == *"$T/$b.toml"* ]] || fail "--check-config ($b) does not name the file: $errout"
done
run "$BIN/mcp-agent" -c "$T/bad2.toml" --check-config
[[ $errout == *frobnicate* ]] || fail "--check-config does not name the unknown key: $errout"
run "$BIN/mcp-agent" -c "$T/missing.toml" --check-config
expect 1 "mcp-agent --check-config (missing file)"

# --- mcp-master ----------------------------------------------------------
run "$BIN/mcp-master" --help
expect 0 "mcp-master --help"
[[ $out == usage:\ mcp-master* ]] || fail "mcp-master --help: no usage on stdout"
run "$BIN/mcp-master" --version
expect 0 "mcp-master --version"
[ "$out" = "mcp-master $VERSION" ] || fail "mcp-master --version printed '$out'"
run "$BIN/mcp-master"
expect 2 "mcp-master without -c"
run "$BIN/mcp-master" -c examples/config/master.toml extra
expect 2 "mcp-master with an argument"
sed "s|/var/lib/mcp-master|$T/mstate|" examples/config/master.toml >"$T/master.toml"
run "$BIN/mcp-master" -c "$T/master.toml" --check-config
expect 0 "mcp-master --check-config (valid)"
[ ! -e "$T/mstate" ] || fail "mcp-master --check-config created the state directory"
printf '[master]\nnode = "m"\nfrobnicate = 1\n' >"$T/mbad.toml"
run "$BIN/mcp-master" -c "$T/mbad.toml" --check-config
expect 1 "mcp-master --check-config (unknown key)"
[[ $errout == *"$T/mbad.toml"*frobnicate* ]] || fail "mcp-master --check-config: $errout"

# --- manual pages --------------------------------------------------------
make -s build/man/mcp-agent.toml.5 || fail "make build/man/mcp-agent.toml.5"
for m in man/*.[1-8] build/man/*.[1-8]; do
	if command -v mandoc >/dev/null; then
		lint=$(mandoc -Tlint -W warning "$m" 2>&1) || true
		[ -z "$lint" ] || fail "mandoc -Tlint $m: $lint"
	fi
	warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$m" 2>&1 >/dev/null)
	[ -z "$warn" ] || fail "man --warnings $m: $warn"
done
for c in $COMMANDS; do
	grep -q "^\.It Cm $c\( \|$\)" man/mcp.1 || fail "man/mcp.1 has no entry for command $c"
done
# every long option either binary prints is documented in its page
for pair in "mcp:man/mcp.1" "mcp-agent:man/mcp-agent.8" "mcp-master:man/mcp-master.8"; do
	b=${pair%%:*} page=${pair#*:}
	for o in $("$BIN/$b" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -q -- "Fl \\\\-${o#--}\\b" "$page" || fail "$page does not document $o"
	done
done
# every key a service definition may have (lib/service/service.c's lists)
SVC_KEYS=$(awk '/^static const char \*const (top|comp|route|snap)_keys\[\]/ { on = 1 }
    on { print } on && /};/ { on = 0 }' lib/service/service.c | grep -o '"[a-z_]*"' | tr -d '"' | sort -u)
[ "$(echo "$SVC_KEYS" | wc -w)" -ge 20 ] || fail "found only $(echo $SVC_KEYS) in lib/service/service.c"
for k in $SVC_KEYS; do
	grep -q "^\.It Ic $k No " man/mcp-service.toml.5 || fail "man/mcp-service.toml.5 has no entry for key $k"
done
# every key of the agent's configuration (lib/agent/config.c's lists) is
# in mcp-agent.toml(5), i.e. in the annotated example it is made from
AGENT_KEYS=$(awk '/static const char \*const [a-z]+_keys\[\]/ && !/top_keys/ { on = 1 }
    on { print } on && /};/ { on = 0 }' lib/agent/config.c | grep -o '"[a-z_]*"' | tr -d '"' | sort -u)
[ "$(echo "$AGENT_KEYS" | wc -w)" -ge 30 ] || fail "found only $(echo $AGENT_KEYS) in lib/agent/config.c"
for k in $AGENT_KEYS; do
	grep -q "^\.It Ic $k$" build/man/mcp-agent.toml.5 ||
	    fail "mcp-agent.toml(5) (examples/config/agent.toml) has no entry for key $k"
done

# --- bash completion -----------------------------------------------------
mkdir -p "$T/svcs"
touch "$T/svcs/hello.toml" "$T/svcs/web.toml" "$T/svcs/notes.txt"
cat >"$T/comp.toml" <<EOF2
[[nodes]]
name = "n1"
address = "unix:/x"
[[nodes]]
name = "n2"   # second
address = "10.0.0.2:9444"
[services]
dir = "$T/svcs"
EOF2
comp() {
	PATH=$BIN:$PATH bash -c '. contrib/bash-completion/mcp
	COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
	_mcp; echo "${COMPREPLY[*]}"' comp "$@"
}
got=$(comp mcp "")
[ "$got" = "$(echo $COMMANDS)" ] || fail "completion of commands: '$got', want '$(echo $COMMANDS)'"
got=$(comp mcp -c "$T/comp.toml" stop "")
[ "$got" = "hello web" ] || fail "completion of services: '$got'"
got=$(MCP_CONFIG=$T/comp.toml comp mcp deploy -n "")
[ "$got" = "n1 n2" ] || fail "completion of nodes: '$got'"
got=$(comp mcp ps --)
[ "$got" = "--help --wide" ] || fail "completion of ps options: '$got'"
got=$(comp mcp ca "")
[ "$got" = "init issue" ] || fail "completion of ca: '$got'"

# --- mcp ps / status fit the terminal --------------------------------------
# a real agent with a service whose names are too long for 80 columns
# (active = false: recorded, nothing started)
. tests/lib/agent.sh
trap 'agent_env_cleanup; rm -rf "$T"' EXIT
LONGSVC=wide-service-with-a-rather-long-name-for-columns
LONGCOMP=component-with-an-even-longer-name-too
LONGIMG=127.0.0.1:5000/an/image/path/that/is/long/enough/to/overflow/a/line:v1.2.3-rc1
agent_env_init "$T/agent" || exit 1
# the widest line in characters (mawk counts bytes)
maxw() { /usr/bin/python3 -c 'import sys; print(max([len(l.rstrip("\n")) for l in sys.stdin] or [0]))'; }
if agent_start; then
	cat >"$T/wide.toml" <<EOF2
name = "$LONGSVC"
active = false
[[components]]
name = "$LONGCOMP"
image = "$LONGIMG"
EOF2
	mcp deploy "$T/wide.toml" >/dev/null || fail "deploy $T/wide.toml"
	# piped: 80 columns, cut with "…"
	for cmd in ps "status $LONGSVC"; do
		# shellcheck disable=SC2086
		out=$(mcp $cmd)
		w=$(maxw <<<"$out")
		[ "$w" -le 80 ] || fail "mcp $cmd (piped) is $w columns wide: $out"
		grep -q '…' <<<"$out" || fail "mcp $cmd (piped): nothing cut with an ellipsis: $out"
		# shellcheck disable=SC2086
		out=$(mcp $cmd --wide)
		grep -q -- "$LONGCOMP" <<<"$out" || fail "mcp $cmd --wide: $LONGCOMP not in full: $out"
		grep -q '…' <<<"$out" && fail "mcp $cmd --wide cut something: $out"
	done
	grep -q -- "$LONGIMG" <<<"$(mcp status "$LONGSVC" --wide)" || fail "status --wide: image not in full"
	grep -q -- "$LONGSVC" <<<"$(mcp ps --wide)" || fail "ps --wide: service not in full"
	[ "$(json_get "$(mcp --json ps)" 'j[0]["component"]')" = "$LONGCOMP" ] || fail "ps --json: component not in full"
	# on a terminal: its width (TIOCGWINSZ), here 100 and 60 columns
	for cols in 100 60; do
		out=$(script -qec "stty cols $cols; $(printf '%q' "$MCP_BIN/mcp") -c $(printf '%q' "$AGENT_DIR/mcp.toml") ps" \
		    /dev/null </dev/null | tr -d '\r')
		w=$(maxw <<<"$out")
		[ "$w" -le "$cols" ] && [ "$w" -gt $((cols - 10)) ] ||
		    fail "mcp ps on a $cols-column terminal is $w columns wide: $out"
	done
	# an error the agent sends back, carrying the caller's escape
	# sequences (a window title, a screen clear, CSI as UTF-8 U+009B),
	# reaches the terminal escaped, never raw (cli_escape)
	EVIL="evil$(printf '\033]0;owned\a\033[2J\302\233')31m"
	run mcp status "$EVIL"
	expect 1 "mcp status on a service named with escape sequences"
	if LC_ALL=C grep -q "$(printf '[\033\a]\|\302\233')" "$T/err" "$T/out"; then
		fail "an escape sequence in the agent's error reached the terminal raw: $(od -c "$T/err" | head -5)"
	fi
	[[ $errout == *'evil\x1b]0;owned\x07\x1b[2J\u009b31m'* ]] ||
	    fail "the agent's error is not shown escaped: $errout"
	# --json: the same text escaped by jansson (ASCII only)
	run mcp --json status "$EVIL"
	if LC_ALL=C grep -q "$(printf '[\033\a]\|\302\233')" "$T/err" "$T/out"; then
		fail "--json: an escape sequence reached the terminal raw"
	fi
	mcp undeploy "$LONGSVC" >/dev/null || fail "undeploy $LONGSVC"
else
	fail "agent did not start"
fi

[ $fails = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "cli manners: ok ($(echo $COMMANDS | wc -w) commands)"
