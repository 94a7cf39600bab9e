#!/bin/sh
# tests/toml/conformance.sh: runs bin/toml-decode over the toml-test
# conformance suite and prints "N passed, N failed".
#
# The suite's data comes from the Debian package
# golang-github-burntsushi-toml-dev (internal/toml-test/tests).  Valid cases
# must decode (exit 0) to JSON semantically equal to the expected tagged
# JSON; invalid cases must be refused (exit 1, message on stderr).  Cases
# the suite itself excludes for TOML 1.0.0 are skipped.  tests/toml/cases/
# holds this project's cases in the same layout, for what the packaged
# suite (toml-test as of BurntSushi/toml 1.2.0) lacks, e.g.
# valid/key/quoted-unicode (keys holding U+0000); they run the same way,
# reported as "local/<case>".
#
#   tests/toml/conformance.sh [-v]       -v lists every failure
#   TOML_TEST_DIR=... TOML_DECODE=... override the data and the decoder.
set -eu
dir=${TOML_TEST_DIR:-/usr/share/gocode/src/github.com/BurntSushi/toml/internal/toml-test/tests}
decoder=${TOML_DECODE:-bin/toml-decode}
if [ ! -d "$dir/valid" ]; then
	echo "conformance: no toml-test data in $dir (install golang-github-burntsushi-toml-dev)" >&2
	exit 2
fi
if [ ! -x "$decoder" ]; then
	echo "conformance: $decoder not built" >&2
	exit 2
fi
local=$(dirname "$0")/cases
exec python3 - "$dir" "$local" "$decoder" "${1:-}" <<'PYEOF'
import json, math, os, re, subprocess, sys

suite, local, decoder = sys.argv[1], sys.argv[2], sys.argv[3]
verbose = sys.argv[4] == "-v"
# Excluded by toml-test itself for TOML 1.0.0 (internal/toml-test/version.go).
SKIP = {"valid/string/escape-esc"}

def norm_dt(s):
    # As toml-test does: compare times, not text (".6" == ".6000").
    s = s.upper().replace(" ", "T")
    m = re.match(r"^(.*:\d\d)\.(\d+)(.*)$", s)
    if m:
        frac = m.group(2).rstrip("0")
        s = m.group(1) + ("." + frac if frac else "") + m.group(3)
    return s

def leaf_equal(want, got):
    if got.get("type") != want["type"]:
        return False
    t, w, g = want["type"], want["value"], got.get("value")
    if not isinstance(g, str):
        return False
    try:
        if t == "integer":
            return int(w) == int(g)
        if t == "float":
            fw, fg = float(w), float(g)
            if math.isnan(fw):
                return math.isnan(fg)
            return fw == fg
    except ValueError:
        return False
    if t in ("datetime", "datetime-local", "date-local", "time-local"):
        return norm_dt(w) == norm_dt(g)
    return w == g

def is_leaf(v):
    return isinstance(v, dict) and set(v) == {"type", "value"} and \
        isinstance(v.get("type"), str) and not isinstance(v.get("value"), (dict, list))

def equal(want, got):
    if is_leaf(want):
        return isinstance(got, dict) and leaf_equal(want, got)
    if isinstance(want, dict):
        return isinstance(got, dict) and set(want) == set(got) and \
            all(equal(want[k], got[k]) for k in want)
    if isinstance(want, list):
        return isinstance(got, list) and len(want) == len(got) and \
            all(equal(a, b) for a, b in zip(want, got))
    return want == got

def run(path):
    with open(path, "rb") as f:
        try:
            p = subprocess.run([decoder], stdin=f, capture_output=True, timeout=10)
        except subprocess.TimeoutExpired:
            return None, b"", b"timeout"
    return p.returncode, p.stdout, p.stderr

passed = failed = skipped = 0
failures = []
def cases():
    for root, prefix in ((suite, ""), (local, "local/")):
        for kind in ("valid", "invalid"):
            for d, _, files in sorted(os.walk(os.path.join(root, kind))):
                for name in sorted(files):
                    if name.endswith(".toml"):
                        path = os.path.join(d, name)
                        yield kind, path, prefix + os.path.relpath(path, root)[:-5]

for kind, path, case in cases():
    if case in SKIP:
        skipped += 1
        continue
    rc, out, err = run(path)
    ok, why = False, ""
    if kind == "valid":
        if rc != 0:
            why = "refused: " + err.decode(errors="replace").strip()
        else:
            with open(path[:-5] + ".json") as f:
                want = json.load(f)
            try:
                got = json.loads(out)
                ok = equal(want, got)
                why = "" if ok else "got " + out.decode(errors="replace").strip()
            except ValueError as e:
                why = "bad JSON output: %s" % e
    else:
        ok = rc == 1 and len(err) > 0
        why = "" if ok else ("accepted" if rc == 0 else "exit %s" % rc)
    if ok:
        passed += 1
    else:
        failed += 1
        failures.append("%s: %s" % (case, why[:300]))

if verbose:
    for f in failures:
        print("FAIL", f)
elif failures:
    print("failures (use -v for details): " + ", ".join(f.split(":")[0] for f in failures))
print("%d passed, %d failed%s" % (passed, failed,
      ", %d skipped (not TOML 1.0)" % skipped if skipped else ""))
sys.exit(1 if failed else 0)
PYEOF
