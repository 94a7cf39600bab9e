#!/bin/bash
# bench/parse_definition.sh: is loading a service definition linear?
# Times svc_parse (TOML parse, limit and NUL checks, load and validation:
# what the agent does with a definition before acting on it) with a small
# program (bench/parse_definition.c, built here against build/rel/libmcp.a,
# so run `make` first) on definitions of growing size, and prints each
# large case against a 10x smaller baseline measured in the same run:
# a ratio near 10 means linear, near 100 quadratic.
#   1. one component with 10k / 100k env entries: parsed, then refused at
#      SVC_MAX_ENV (the cost of refusing an oversized definition);
#   2. 64 components x 100 / 1000 env entries, 32 routes and 64 volumes
#      each, loaded in full (the cost of the duplicate and route checks);
#   3. 10k components and 10k routes, refused at their limits.
set -u
cd "$(dirname "$0")/.."
[ -f build/rel/libmcp.a ] || { echo "parse_definition: run make first" >&2; exit 1; }
T=$(mktemp -d /tmp/mcp-bench-parse.XXXXXX)
trap 'rm -rf "$T"' EXIT
PKGS="grpc libprotobuf-c sqlite3 openssl jansson libarchive"
# shellcheck disable=SC2046
cc -std=c17 -D_GNU_SOURCE -O2 -Ilib -Ibuild/gen $(pkg-config --cflags $PKGS) \
	-o "$T/parse_definition" bench/parse_definition.c build/rel/libmcp.a \
	$(pkg-config --libs $PKGS) -lpthread || exit 1

# one_component N: one component, N env entries.
one_component() {
	printf 'name = "svc"\n[[components]]\nname = "web"\nimage = "reg/web:v1"\nenv = [\n'
	awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "  \"K%d=value-%d\",\n", i, i }'
	printf ']\n'
}
# full N: 64 components, each N env entries, 32 routes, 64 volumes.
full() {
	awk -v n="$1" 'BEGIN {
		print "name = \"svc\""
		for (c = 0; c < 64; c++) {
			printf "[[components]]\nname = \"c%d\"\nimage = \"reg/c:v1\"\n", c
			printf "volumes = ["
			for (v = 0; v < 64; v++) printf "%s\"/srv/c%d/v%d:/v%d\"", v ? ", " : "", c, v, v
			printf "]\nenv = [\n"
			for (i = 0; i < n; i++) printf "  \"K%d=value-%d\",\n", i, i
			printf "]\n"
			for (r = 0; r < 32; r++) printf "[[components.routes]]\nname = \"r%d\"\nport = %d\n", r, 8000 + r
		}
	}'
}
components() {
	awk -v n="$1" 'BEGIN { print "name = \"svc\""
		for (c = 0; c < n; c++) printf "[[components]]\nname = \"c%d\"\nimage = \"reg/c:v1\"\n", c }'
}
routes() {
	awk -v n="$1" 'BEGIN { print "name = \"svc\"\n[[components]]\nname = \"web\"\nimage = \"reg/web:v1\""
		for (r = 0; r < n; r++) printf "[[components.routes]]\nname = \"r%d\"\nport = %d\n", r, 1 + r % 65535 }'
}
one_component 10000 >"$T/env10k.toml"
one_component 100000 >"$T/env100k.toml"
full 100 >"$T/full100.toml"
full 1000 >"$T/full1000.toml"
components 10000 >"$T/comp10k.toml"
routes 10000 >"$T/route10k.toml"

"$T/parse_definition" "$T"/env10k.toml "$T"/env100k.toml "$T"/full100.toml \
	"$T"/full1000.toml "$T"/comp10k.toml "$T"/route10k.toml >"$T/times" || exit 1
t() { awk -v f="$T/$1.toml" -v c="$2" '$1 == f { print $c }' "$T/times"; }
rc() { [ "$(t "$1" 4)" = 0 ] && echo loaded || echo refused; }
line() { # LABEL SMALL LARGE
	printf '%s\n  %-9s %8s us (%s)\n  %-9s %8s us (%s)\n' "$1" "${2#*:}" "$(t "${2%%:*}" 3)" "$(rc "${2%%:*}")" \
		"${3#*:}" "$(t "${3%%:*}" 3)" "$(rc "${3%%:*}")"
	awk -v a="$(t "${3%%:*}" 3)" -v b="$(t "${2%%:*}" 3)" \
		'BEGIN { printf "  ratio: %.1f (10 = linear, 100 = quadratic)\n", a / (b > 0 ? b : 1) }'
}
line "1. env entries in one component, svc_parse:" env10k:10k env100k:100k
awk -v a="$(t env100k 2)" -v b="$(t env10k 2)" \
	'BEGIN { printf "  (TOML parse alone: %d us vs %d us, ratio %.1f)\n", a, b, a / (b > 0 ? b : 1) }'
line "2. 64 components x N env, 32 routes, 64 volumes each, svc_parse:" full100:6.4k full1000:64k
echo "3. far past the limits, svc_parse:"
printf '  10k components: %s us (%s)\n  10k routes:     %s us (%s)\n' \
	"$(t comp10k 3)" "$(rc comp10k)" "$(t route10k 3)" "$(rc route10k)"
