#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The full test suite, as CI runs it (.ci/run calls this script):
#
#   1. build/       gcc, -Dwerror=true: every test suite
#   2. build-asan/  gcc, ASan + UBSan, -Dwerror=true: every test suite
#   3. build-fuzz/  clang, -Dfuzzers=true, ASan + UBSan: the fuzz suite
#   4. build-cg/    gcc, -Dmarch=x86-64-v3: instructions per packet on the
#                   established path under callgrind, against the figure in
#                   bench/callgrind-baseline.json (tools/callgrind-check.sh;
#                   fails when it grows by more than 10 %; counts as one test)
#
# Installs missing Debian packages first (tools/install-deps.sh), configures
# each build directory (or reconfigures one that exists), builds with
# `ninja -j2`, runs `meson test`, and ends with one line "N passed, N failed"
# (totals over the runs; a build that fails counts as one failure).
# Exits non-zero when anything failed. Re-runnable; needs root for the
# end-to-end tests (network namespaces), which skip themselves otherwise.
#
# Environment:
#   TEST_ONLY="build asan fuzz callgrind"   the runs to do (default: all four)
#   TEST_ASAN_SUITES="..."        limit the ASan run to these suites
#   MESON_TEST_ARGS="..."         extra arguments for every `meson test`
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
JOBS=2

TEST_ONLY=${TEST_ONLY:-build asan fuzz callgrind}
read -r -a extra_test_args <<<"${MESON_TEST_ARGS:-}"

work=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

total_pass=0
total_fail=0
total_skip=0
summary=()  # one line per stage

say() { printf '\n==== %s ====\n' "$*"; }

# note STAGE VERDICT SECONDS [detail]
note() {
	summary+=("$(printf '  %-34s %-6s %5ss  %s' "$1" "$2" "$3" "${4:-}")")
}

run_timed() { # NAME CMD...: run, note ok/FAIL; a failure counts as one failed test
	local name=$1 t0=$SECONDS
	shift
	if "$@"; then
		note "$name" ok $((SECONDS - t0))
		return 0
	fi
	note "$name" FAIL $((SECONDS - t0))
	total_fail=$((total_fail + 1))
	return 1
}

# configure DIR [meson options...]: set up DIR, or reconfigure it with the
# same options when it exists (a directory meson cannot reconfigure, e.g.
# after a meson upgrade, is wiped and set up again).
configure() {
	local dir=$1
	shift
	if [[ -f "$dir/meson-private/coredata.dat" ]]; then
		meson setup --reconfigure "$dir" "$@" ||
			meson setup --wipe "$dir" "$@"
	else
		rm -rf "$dir"
		meson setup "$dir" "$@"
	fi
}

# meson_tests LABEL DIR [meson test args...]: run the tests, add meson's own
# summary to the totals. Timeouts and unexpected passes are failures;
# expected failures are passes. No summary at all (meson failed before
# running anything) counts as one failure.
meson_tests() {
	local label=$1 dir=$2 t0=$SECONDS
	shift 2
	local log="$work/$label.log" st=0
	meson test -C "$dir" --print-errorlogs "$@" "${extra_test_args[@]}" 2>&1 | tee "$log" || st=${PIPESTATUS[0]}
	local ok fail xfail xpass skip tout
	get() { sed -nE "s/^$1:[[:space:]]+([0-9]+).*/\\1/p" "$log" | tail -1; }
	ok=$(get 'Ok') fail=$(get 'Fail') xfail=$(get 'Expected Fail')
	xpass=$(get 'Unexpected Pass') skip=$(get 'Skipped') tout=$(get 'Timeout')
	local secs=$((SECONDS - t0))
	if [[ -z "$ok" ]]; then
		if ((st == 0)) && grep -q 'No suitable tests defined' "$log"; then
			note "$label" "none" "$secs" "no tests in this selection"
			return 0
		fi
		note "$label" FAIL "$secs" "meson test exited $st without a summary"
		total_fail=$((total_fail + 1))
		return 1
	fi
	local p=$((ok + ${xfail:-0})) f=$((${fail:-0} + ${xpass:-0} + ${tout:-0}))
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	total_skip=$((total_skip + ${skip:-0}))
	local detail="$p passed, $f failed, ${skip:-0} skipped"
	((${tout:-0} > 0)) && detail+=" (${tout} timed out)"
	((${xpass:-0} > 0)) && detail+=" (${xpass} unexpectedly passed)"
	if ((f > 0 || st != 0)); then
		if ((f == 0)); then # meson said failure but counted none: count one
			total_fail=$((total_fail + 1))
			detail+="; meson test exited $st"
		fi
		note "$label" FAIL "$secs" "$detail"
		return 1
	fi
	note "$label" ok "$secs" "$detail"
}

wants() { [[ " $TEST_ONLY " == *" $1 "* ]]; }

say "dependencies"
run_timed "install-deps" bash tools/install-deps.sh

# build_dir DIR [meson options...]: configure and build with $JOBS jobs.
build_dir() {
	local dir=$1
	configure "$@" && ninja -C "$dir" -j"$JOBS"
}

if wants build; then
	say "build: gcc, -Dwerror=true"
	if CC=gcc run_timed "build (gcc, werror)" build_dir build -Dwerror=true; then
		say "tests: build"
		meson_tests "tests (gcc)" build --num-processes 1
	fi
fi

if wants asan; then
	say "build: gcc, ASan + UBSan, -Dwerror=true"
	if CC=gcc run_timed "build-asan (gcc, asan+ubsan)" build_dir build-asan \
		-Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false; then
		say "tests: build-asan"
		asan_args=(--num-processes 1 --timeout-multiplier 3)
		for s in ${TEST_ASAN_SUITES:-}; do asan_args+=(--suite "$s"); done
		# Stop at the first report, with a stack, and fail the test.
		ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1:print_summary=1} \
			UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1} \
			meson_tests "tests (asan+ubsan)" build-asan "${asan_args[@]}"
	fi
fi

if wants fuzz; then
	say "build: clang, fuzzers"
	if CC=clang run_timed "build-fuzz (clang, fuzzers)" build_dir build-fuzz \
		-Dfuzzers=true -Db_sanitize=address,undefined -Db_lundef=false; then
		say "tests: build-fuzz --suite fuzz"
		meson_tests "fuzz (clang)" build-fuzz --suite fuzz --num-processes "$JOBS"
	fi
fi

if wants callgrind; then
	say "callgrind: instructions per packet, established path (build-cg)"
	cg_log="$work/callgrind.log" cg_st=0 t0=$SECONDS
	bash tools/callgrind-check.sh build-cg 2>&1 | tee "$cg_log" || cg_st=${PIPESTATUS[0]}
	cg_detail=$(sed -n 's/^callgrind-check: \([0-9.]* instructions\/packet\).*/\1/p' "$cg_log")
	cg_detail+="; $(sed -n 's/^callgrind-check: \([+-][0-9.]*% against.*\)/\1/p' "$cg_log")"
	if ((cg_st == 0)); then
		note "callgrind check (build-cg)" ok $((SECONDS - t0)) "$cg_detail"
		total_pass=$((total_pass + 1))
	else
		note "callgrind check (build-cg)" FAIL $((SECONDS - t0)) "$cg_detail"
		total_fail=$((total_fail + 1))
	fi
fi

# Pktgen-DPDK is not packaged for Debian: its scripts get a syntax check.
if command -v luac5.4 >/dev/null; then
	say "pktgen scripts: luac5.4 -p bench/pktgen/*.lua"
	run_timed "pktgen scripts (luac5.4 -p)" luac5.4 -p bench/pktgen/*.lua &&
		total_pass=$((total_pass + 1))
else
	note "pktgen scripts (luac5.4 -p)" skip 0 "luac5.4 not installed (Debian package lua5.4)"
fi

say "summary"
printf '%s\n' "${summary[@]}"
printf '  skipped tests (not counted): %d\n' "$total_skip"
if ((total_fail > 0)); then
	echo "  RESULT: FAILED (see the logs above; meson's own: build*/meson-logs/testlog.txt)"
else
	echo "  RESULT: all passed"
fi
echo "$total_pass passed, $total_fail failed"
((total_fail == 0))
