#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Run every tollgate-bench scenario and keep the results.
#
#   meson setup build-rel -Dbuildtype=release -Db_lto=true && ninja -C build-rel
#   bash bench/run.sh build-rel       # as root for hugepages; default build/
#
# Reserves 1 GiB of 2 MiB hugepages for the run when it can (and mounts
# hugetlbfs on /dev/hugepages if nothing is mounted there), gives them back
# afterwards, and says in every result whether they were used. Results go
# to bench/results/<date>/<scenario>.json (JSON lines, one per figure) and a
# human table to bench/results/<date>/summary.txt.
#
# Environment: RUNS (repeats per figure, default 5), QUICK=1 (smaller
# packet counts, for a smoke run).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
BUILD=${1:-build}
BENCH=$BUILD/bench/tollgate-bench
RUNS=${RUNS:-5}
OUT=bench/results/$(date -u +%Y-%m-%d)
mkdir -p "$OUT"

[[ -x "$BENCH" ]] || { echo "run.sh: $BENCH not built (ninja -C $BUILD)" >&2; exit 1; }

hp=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
old_hp=
mounted=
release() {
	[[ -n "$old_hp" ]] && echo "$old_hp" >"$hp" 2>/dev/null
	[[ -n "$mounted" ]] && umount /dev/hugepages 2>/dev/null
}
trap release EXIT
if [[ -w "$hp" ]]; then
	old_hp=$(cat "$hp")
	echo 512 >"$hp" 2>/dev/null || true
	if ! mount | grep -q ' /dev/hugepages '; then
		mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages && mounted=1
	fi
fi
grep -E 'HugePages_(Total|Free)' /proc/meminfo | tr '\n' ' '; echo

if [[ -n "${QUICK:-}" ]]; then
	P=2000000; P1M=2000000; NF=100000; NF1M=200000
else
	P=20000000; P1M=10000000; NF=250000; NF1M=1000000
fi

run() { # NAME ARGS...
	local name=$1
	shift
	echo "== $name: $BENCH --runs $RUNS $*"
	"$BENCH" --runs "$RUNS" "$@" | tee "$OUT/$name.txt"
	"$BENCH" --runs "$RUNS" --json "$@" >"$OUT/$name.json"
}

{
	run floor floor --packets "$P"
	run forward-10k forward --sessions 10000 --packets "$P"
	run forward-1m forward --sessions 1000000 --packets "$P1M"
	# the table grows by every run's flows: 1.25 M sessions, then 5 M
	run new-flows new-flows --packets "$NF"
	run new-flows-1m new-flows --packets "$NF1M"
	run snat-alloc snat-alloc
	run fqdn fqdn
	run classify classify
} 2>&1 | tee "$OUT/summary.txt"
