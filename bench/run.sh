#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Run every tollgate-bench scenario and keep the results.
#
#   meson setup build-rel -Dbuildtype=release -Db_lto=true && ninja -C build-rel
#   bash bench/run.sh build-rel       # as root for hugepages; default build/
#
# Reserves 3 GiB of 2 MiB hugepages for the run when it can (the largest
# exhaustion ramp holds 10 million sessions; hugetlbfs is mounted on
# /dev/hugepages if nothing is), gives them back afterwards, and every result
# says whether they were used (without them: --no-huge, slower by the TLB
# misses of 4 KiB pages). Results go to bench/results/<date>/: per scenario
# <name>.txt (the table) and <name>.json (one document: machine, build,
# memory, results), summary.txt (all tables), then bench/plot.sh draws the
# plots there.
#
# Environment: RUNS (repeats per figure, default 5; the exhaustion study
# takes 3), QUICK=1 (smaller packet counts and no 10^6 figures, for a smoke
# run), OUT (results directory).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
BUILD=${1:-build}
BENCH=$BUILD/bench/tollgate-bench
RUNS=${RUNS:-5}
OUT=${OUT:-bench/results/$(date -u +%Y-%m-%d)}
HUGEPAGES=${HUGEPAGES:-1536}
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
trap 'exit 130' INT
trap 'exit 143' TERM
if [[ -w "$hp" ]]; then
	old_hp=$(cat "$hp")
	echo "$HUGEPAGES" >"$hp" 2>/dev/null || true
	if ! mount | grep -q ' /dev/hugepages '; then
		mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages && mounted=1
	fi
fi
grep -E 'HugePages_(Total|Free)' /proc/meminfo | tr '\n' ' '; echo

if [[ -n "${QUICK:-}" ]]; then
	P=2000000; NF=100000; SESSIONS="1000 10000 100000"
	EXH=(--ips 1,2 --dsts 1,10)
else
	P=20000000; NF=250000; SESSIONS="1000 10000 100000 1000000"
	EXH=()
fi

failed=0
run() { # NAME ARGS...: the table to NAME.txt, the document to NAME.json
	local name=$1
	shift
	echo "== $name: $BENCH --runs $RUNS $*"
	"$BENCH" --runs "$RUNS" --json-out "$OUT/$name.json" "$@" | tee "$OUT/$name.txt"
	((PIPESTATUS[0] == 0)) || { echo "run.sh: $name FAILED"; failed=$((failed + 1)); }
}

{
	run floor floor --packets "$P"
	for s in $SESSIONS; do
		# 10^6 sessions: half the packets, the opening pass is as long
		p=$P
		((s >= 1000000)) && p=$((P / 2))
		run "forward-$s" forward --sessions "$s" --packets "$p"
	done
	# the table grows by every run's flows: 1.25 M sessions, then 5 M
	run new-flows new-flows --packets "$NF"
	[[ -z "${QUICK:-}" ]] && run new-flows-1m new-flows --packets $((NF * 4))
	RUNS=${EXHAUSTION_RUNS:-3} run snat-exhaustion snat-exhaustion "${EXH[@]}"
	run snat-alloc snat-alloc
	run fqdn fqdn
	run classify classify
	run inspect inspect
	run dns dns
	run update-inproc update
} 2>&1 | tee "$OUT/summary.txt"
failed=$(grep -c 'FAILED$' "$OUT/summary.txt")

# Apply-to-active time of `tollctl apply` (the daemon in namespaces: root).
if ((EUID == 0)) && [[ -x $BUILD/control/tollgate && -x $BUILD/tools/tollctl/tollctl ]]; then
	echo "== update: bench/update.sh"
	TOLLGATE=$BUILD/control/tollgate TOLLCTL=$BUILD/tools/tollctl/tollctl bash bench/update.sh \
		2>&1 | tee "$OUT/update.txt"
	((PIPESTATUS[0] == 0)) || { echo "run.sh: update FAILED"; failed=$((failed + 1)); }
fi

bash bench/plot.sh "$OUT" || failed=$((failed + 1))
echo "run.sh: results in $OUT ($failed failed)"
((failed == 0))
