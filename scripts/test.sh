#!/bin/bash
# scripts/test.sh: the whole test suite.  Installs what it needs (as root),
# builds, runs the unit tests (cmocka) and the integration tests
# (tests/integration/*.sh, real podman / QEMU / registry / SQLite), and
# prints one closing line "N passed, N failed".
#
#   scripts/test.sh                 # release build
#   MCP_SAN=1 scripts/test.sh       # everything under ASan + UBSan
#   scripts/test.sh agent           # only tests whose name contains "agent"
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
FILTER=${1:-}

./scripts/setup.sh || { echo "setup failed"; exit 1; }

if [ "${MCP_SAN:-0}" = 1 ]; then
	make -s -j"$(nproc)" SAN=1 all || { echo "build (SAN) failed"; exit 1; }
	make -s -j"$(nproc)" all || { echo "build failed"; exit 1; }
	export MCP_BIN=$ROOT/build/san/bin MCP_BUILD=$ROOT/build/san
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
else
	make -s -j"$(nproc)" all || { echo "build failed"; exit 1; }
	export MCP_BIN=$ROOT/bin MCP_BUILD=$ROOT/build/rel
fi
# bin/hello and bin/mcp-init are static and never sanitized
export MCP_STATIC_BIN=$ROOT/bin

LOGDIR=$ROOT/build/test-logs
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"
passed=0 failed=0 skipped=0
failures=()

run_one() {
	local name=$1; shift
	local log=$LOGDIR/$name.log start end rc
	mkdir -p "$(dirname "$log")"
	case "$name" in *"$FILTER"*) ;; *) return ;; esac
	start=$(date +%s%N)
	"$@" >"$log" 2>&1 </dev/null
	rc=$?
	end=$(date +%s%N)
	local tenths=$(( (end - start) / 100000000 ))
	local secs=$((tenths / 10)).$((tenths % 10))
	if [ $rc = 0 ]; then
		passed=$((passed + 1)); echo "PASS $name (${secs}s)"
	elif [ $rc = 77 ]; then
		skipped=$((skipped + 1)); echo "SKIP $name: $(tail -n 1 "$log")"
	else
		failed=$((failed + 1)); failures+=("$name")
		echo "FAIL $name (exit $rc, ${secs}s); last lines of $log:"
		tail -n 40 "$log" | sed 's/^/    /'
	fi
}

# Unit tests (pure logic and real SQLite); those needing an environment
# are driven by their integration script.
for t in "$MCP_BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	case "$n" in test_podman|test_qemu*) continue ;; esac
	run_one "unit/$n" "$t"
done

[ -x tests/toml/conformance.sh ] && run_one "toml/conformance" tests/toml/conformance.sh

for t in tests/integration/*.sh; do
	[ -x "$t" ] || continue
	run_one "integration/$(basename "$t" .sh)" "$t"
done

echo
if [ $failed -gt 0 ]; then
	echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed = 0 ]
