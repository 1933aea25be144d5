#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Tollgate demo: the AKS egress lockdown of the seeds, end to end.
#
# Installs what is missing, builds, then plays the scenario of
# tests/e2e/aks_lib.sh in network namespaces: an AKS cluster subnet whose
# route table points at Tollgate and whose resolver is Tollgate's DNS proxy,
# an "internet" with servers for the seeds' endpoints behind a real DNS
# server, and Tollgate with 20 frontend IPs and rules/examples/aks-egress.yaml.
# It prints each step (expected, observed), `tollctl show snat` and a few
# metrics, pushes a rule change live, and cleans up. Exits 0 only when every
# step matched.
#
#   sudo bash tools/demo.sh
#   TOLLGATE=path/to/tollgate TOLLCTL=path/to/tollctl bash tools/demo.sh   # no build
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

banner() { printf '\n== %s ==\n' "$*"; }

banner "installing what is missing"
bash tools/install-deps.sh || exit 1

if [[ -n "${TOLLGATE:-}" && -n "${TOLLCTL:-}" ]]; then
	echo "demo: using TOLLGATE=$TOLLGATE TOLLCTL=$TOLLCTL (not building)"
else
	banner "building"
	if [[ ! -f build/build.ninja ]]; then
		meson setup build >build-setup.log 2>&1 || {
			cat build-setup.log
			echo "demo: meson setup failed" >&2
			exit 1
		}
		rm -f build-setup.log
	fi
	ninja -C build -j2 || {
		echo "demo: build failed" >&2
		exit 1
	}
	TOLLGATE=$PWD/build/control/tollgate
	TOLLCTL=$PWD/build/tools/tollctl/tollctl
fi
export TOLLGATE TOLLCTL

source tests/e2e/aks_lib.sh
e2e_init
start=$SECONDS
banner "the scenario"
sed -n '/^#   cluster/,/^#  *site; a public client/p' tests/e2e/aks_lib.sh | sed 's/^#/ /'
aks_up
grep '^tollgate: ready' "$E2E_ROUTER_LOG"

banner "traffic"
aks_demo_steps

e2e_router_stop
if [[ "$E2E_ROUTER_STATUS" == 0 ]]; then
	e2e_result OK "Tollgate stops on SIGTERM" "exit status 0" "exit status 0"
else
	e2e_result FAIL "Tollgate stops on SIGTERM" "exit status 0" "exit status $E2E_ROUTER_STATUS"
fi
banner "Tollgate's counters (non-zero)"
e2e_print_counters
banner "decision log (last 5 records)"
tail -5 "$AKS_DLOG" 2>/dev/null | sed 's/^/  /'

if e2e_report "demo report ($((SECONDS - start)) s)"; then
	echo "demo: every step matched"
	exit 0
fi
e2e_show_router_log
echo "demo: some steps did not match (see above)"
exit 1
