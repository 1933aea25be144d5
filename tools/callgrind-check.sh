#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The deterministic regression figure: instructions per packet on the
# established SNAT path, counted by valgrind's callgrind, against the figure
# recorded in bench/callgrind-baseline.json.
#
#   tools/callgrind-check.sh [BUILD_DIR]            check (default build-cg)
#   tools/callgrind-check.sh --record [BUILD_DIR]   measure and record
#
# BUILD_DIR is configured with -Dmarch=x86-64-v3 when it does not exist
# (valgrind does not know AVX-512; the level also fixes the instructions the
# compiler may pick, so the figure does not depend on the machine), and only
# tollgate-bench is built in it.
#
# How: `tollgate-bench --runs 1 forward --sessions S --packets P` under
# callgrind with --toggle-collect=worker_poll (only the worker's poll
# function and what it calls are counted: the generator, the sink and the
# floor runs are not), at two packet counts. Both runs open the same S
# sessions first, so the difference divided by the difference in packets is
# the established path alone: validation, session lookup, SNAT rewrite,
# route, TX, and the burst loop's share.
#
# Fails (exit 1) when the figure grows by more than the baseline's
# tolerance (10 %); a figure more than 10 % lower passes with a note to
# record the improvement. Exit 2: could not measure (build, valgrind).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
BASELINE=bench/callgrind-baseline.json
SESSIONS=1000
P1=50000
P2=150000

record=
if [[ "${1:-}" == --record ]]; then
	record=1
	shift
fi
BUILD=${1:-build-cg}

die() {
	echo "callgrind-check: $*" >&2
	exit 2
}

command -v valgrind >/dev/null || die "valgrind is not installed (tools/install-deps.sh)"
if [[ ! -f "$BUILD/meson-private/coredata.dat" ]]; then
	meson setup "$BUILD" -Dmarch=x86-64-v3 >/dev/null || die "meson setup $BUILD failed"
fi
option() { # NAME: the build directory's value of a meson option
	meson introspect --buildoptions "$BUILD" |
		python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$1"
}
# The figure is defined for one kind of build: the recorded one.
[[ "$(option march)" == x86-64-v3 && "$(option buildtype)" == debugoptimized &&
	"$(option b_lto)" == False && "$(option b_sanitize)" == none ]] ||
	die "$BUILD is not a plain -Dmarch=x86-64-v3 debugoptimized build (march $(option march), buildtype $(option buildtype), lto $(option b_lto), sanitize $(option b_sanitize))"
ninja -C "$BUILD" -j2 bench/tollgate-bench >/dev/null || die "building tollgate-bench in $BUILD failed"
BENCH=$BUILD/bench/tollgate-bench

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-cg.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# instructions PACKETS: Ir counted inside worker_poll for one run.
instructions() {
	local out=$tmp/cg.$1
	valgrind --tool=callgrind --toggle-collect=worker_poll --callgrind-out-file="$out" \
		"$BENCH" --no-huge --mem 512 --runs 1 forward --sessions "$SESSIONS" \
		--packets "$1" >"$tmp/log.$1" 2>&1 || {
		sed 's/^/  | /' "$tmp/log.$1" >&2
		die "tollgate-bench under callgrind failed ($1 packets)"
	}
	sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out" | head -1
}

t0=$SECONDS
i1=$(instructions "$P1")
i2=$(instructions "$P2")
[[ "$i1" =~ ^[0-9]+$ && "$i2" =~ ^[0-9]+$ && "$i2" -gt "$i1" ]] ||
	die "no usable totals from callgrind ($i1, $i2)"
figure=$(awk -v a="$i1" -v b="$i2" -v p="$((P2 - P1))" 'BEGIN { printf "%.1f", (b - a) / p }')
echo "callgrind-check: $figure instructions/packet on the established path" \
	"(worker_poll: $i1 Ir at $P1 packets, $i2 at $P2; $((SECONDS - t0)) s)"

if [[ -n "$record" ]]; then
	cat >"$BASELINE" <<EOF
{
  "figure": "instructions_per_packet",
  "value": $figure,
  "tolerance_pct": 10,
  "path": "established UDP flows with SNAT, 64-byte frames, $SESSIONS sessions, one worker",
  "how": "valgrind --tool=callgrind --toggle-collect=worker_poll $BENCH --no-huge --mem 512 --runs 1 forward --sessions $SESSIONS --packets P, at P=$P1 and P=$P2; (Ir(P2) - Ir(P1)) / (P2 - P1)",
  "measured_with": {
    "build": "meson setup $BUILD -Dmarch=x86-64-v3 (buildtype $(option buildtype), no LTO, no sanitizer)",
    "compiler": "$(cc --version | head -1)",
    "dpdk": "$(pkg-config --modversion libdpdk)",
    "valgrind": "$(valgrind --version)",
    "instructions": [$i1, $i2],
    "date": "$(date -u +%Y-%m-%d)"
  },
  "record_with": "tools/callgrind-check.sh --record"
}
EOF
	echo "callgrind-check: recorded in $BASELINE"
	exit 0
fi

[[ -f "$BASELINE" ]] || die "$BASELINE is missing (tools/callgrind-check.sh --record)"
read -r base tol < <(python3 -c 'import json,sys; b = json.load(open(sys.argv[1])); print(b["value"], b["tolerance_pct"])' "$BASELINE") ||
	die "cannot read $BASELINE"
verdict=$(awk -v f="$figure" -v b="$base" -v t="$tol" 'BEGIN {
	d = 100 * (f - b) / b
	printf "%+.1f%% against the recorded %s (tolerance +%s%%)", d, b, t
	exit (d > t) ? 1 : (d < -t) ? 2 : 0 }')
st=$?
echo "callgrind-check: $verdict"
case $st in
0) exit 0 ;;
2)
	echo "callgrind-check: faster than recorded: record it with tools/callgrind-check.sh --record"
	exit 0
	;;
*)
	echo "callgrind-check: FAIL: the established path grew by more than ${tol}%" >&2
	exit 1
	;;
esac
