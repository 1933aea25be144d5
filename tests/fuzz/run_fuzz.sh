#!/bin/sh
# Run a libFuzzer target for a bounded time over the seed corpora, writing
# new inputs to a scratch directory (never into the source tree).
# usage: run_fuzz.sh FUZZER SECONDS SEED_DIR...
set -eu
F=$1
SECS=$2
shift 2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT INT TERM
mkdir -p "$WORK/corpus"
"$F" -max_total_time="$SECS" -max_len=65536 -rss_limit_mb=2048 \
	-timeout=10 -print_final_stats=1 -artifact_prefix="$WORK/" \
	"$WORK/corpus" "$@" || {
	rc=$?
	for a in "$WORK"/crash-* "$WORK"/leak-* "$WORK"/timeout-* "$WORK"/oom-*; do
		[ -e "$a" ] || continue
		echo "artifact: $a"
		od -c "$a" | head -20
	done
	exit $rc
}
