#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Tollgate demo: a cluster node reaches the internet through Tollgate.
#
# Installs what is missing, builds, makes three network namespaces (cluster
# node, Tollgate, internet; see tests/e2e/lib.sh), starts Tollgate between
# them, sends real traffic across, prints what happened and Tollgate's
# counters, and cleans up. Exits 0 only when every step saw what it expected.
#
#   sudo bash tools/demo.sh                    # as root
#   E2E_ROUTER=kernel bash tools/demo.sh       # Linux forwards instead (comparison)
#   TOLLGATE=path/to/tollgate bash tools/demo.sh   # that binary; no build
#
# To extend: write a step_NAME function that ends in e2e_result/e2e_ping/...,
# and add NAME to STEPS below (steps run in that order, after Tollgate is up).
# shellcheck disable=SC2317  # the step functions are called through STEPS
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
source tests/e2e/lib.sh

# (unroutable before traceroute: the Linux stand-in rate-limits "no route"
# errors right after another ICMP error to the same host)
STEPS=(ping_out ping_in http_download unroutable traceroute static_route ping_frontend ping_tollgate)
DEMO_MIB=${DEMO_MIB:-8}

# --- the steps --------------------------------------------------------------

step_ping_out() {
	e2e_ping "cluster node pings the internet" "$E2E_CL" "$E2E_INET_ADDR" -c 5 -i 0.2
}

step_ping_in() {
	e2e_ping "internet pings the cluster node" "$E2E_INET" "$E2E_CL_ADDR" -c 5 -i 0.2
}

step_http_download() {
	e2e_http_get "cluster node downloads ${DEMO_MIB} MiB over HTTP" "$E2E_CL" \
		"http://$E2E_INET_ADDR:$E2E_HTTP_PORT/demo.bin" "$DEMO_SUM"
}

# Traceroute by hand: TTL 1 expires at Tollgate, TTL 2 reaches the server.
step_traceroute() {
	e2e_ping_error "TTL 1 expires at Tollgate (traceroute hop 1)" "$E2E_CL" "$E2E_INET_ADDR" \
		"$E2E_FW_IN_ADDR" "Time to live exceeded" 1 -t 1
	e2e_ping "TTL 2 reaches the server (traceroute hop 2)" "$E2E_CL" "$E2E_INET_ADDR" -c 1 -t 2
}

step_unroutable() {
	e2e_ping_error "no route to $E2E_UNROUTED_ADDR: Tollgate says so" "$E2E_CL" "$E2E_UNROUTED_ADDR" \
		"$E2E_FW_IN_ADDR" "Destination Net Unreachable" 1
}

step_static_route() {
	e2e_ping "static route to $E2E_REMOTE_ADDR" "$E2E_CL" "$E2E_REMOTE_ADDR" -c 3 -i 0.2
}

step_ping_frontend() {
	if [[ "$E2E_ROUTER" == kernel ]]; then
		e2e_skip "Tollgate answers on frontend IP $E2E_FRONTEND_ADDR" "0% loss" "Linux owns no frontend IPs"
		return
	fi
	e2e_ping "Tollgate answers on frontend IP $E2E_FRONTEND_ADDR" "$E2E_INET" "$E2E_FRONTEND_ADDR" -c 3 -i 0.2
}

step_ping_tollgate() {
	e2e_ping "Tollgate answers on inside $E2E_FW_IN_ADDR" "$E2E_CL" "$E2E_FW_IN_ADDR" -c 3 -i 0.2
	e2e_ping "Tollgate answers on outside $E2E_FW_OUT_ADDR" "$E2E_INET" "$E2E_FW_OUT_ADDR" -c 3 -i 0.2
}

# --- set-up -----------------------------------------------------------------

banner() { printf '\n== %s ==\n' "$*"; }

banner "installing what is missing"
bash tools/install-deps.sh || exit 1

if [[ "$E2E_ROUTER" == tollgate && -n "${TOLLGATE:-}" ]]; then
	echo "demo: using TOLLGATE=$TOLLGATE (not building)"
elif [[ "$E2E_ROUTER" == tollgate ]]; then
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
fi

e2e_init
banner "topology"
cat <<EOF
  cluster node ($E2E_CL)      Tollgate ($E2E_FW)           internet ($E2E_INET)
  eth0 $E2E_CL_ADDR/24 --- fw-in  [$E2E_FW_IN_ADDR]
                                    fw-out [$E2E_FW_OUT_ADDR] --- eth0 $E2E_INET_ADDR/24
  default via $E2E_FW_IN_ADDR          route 198.51.100.0/24         HTTP server :$E2E_HTTP_PORT
                                    via $E2E_INET_ADDR            $E2E_REMOTE_ADDR/32
                                    frontend IPs $E2E_FRONTEND_RANGE
  forwarding: $E2E_ROUTER
EOF
e2e_topology_up
mkdir -p "$E2E_TMP/www"
DEMO_SUM=$(e2e_make_blob "$E2E_TMP/www/demo.bin" "$DEMO_MIB")
e2e_http_start "$E2E_INET" "$E2E_INET_ADDR" "$E2E_TMP/www"

if [[ "$E2E_ROUTER" == tollgate ]]; then
	banner "starting Tollgate"
	e2e_router_start
	grep '^tollgate: ready' "$E2E_ROUTER_LOG"
fi

banner "traffic"
for s in "${STEPS[@]}"; do
	"step_$s"
done

if [[ "$E2E_ROUTER" == tollgate ]]; then
	e2e_router_stop
	if [[ "$E2E_ROUTER_STATUS" == 0 ]]; then
		e2e_result OK "Tollgate stops on SIGTERM" "exit status 0" "exit status 0"
	else
		e2e_result FAIL "Tollgate stops on SIGTERM" "exit status 0" "exit status $E2E_ROUTER_STATUS"
	fi
	banner "Tollgate's counters (non-zero)"
	e2e_print_counters
fi

if e2e_report "demo report"; then
	echo "demo: every step matched"
	exit 0
fi
e2e_show_router_log
echo "demo: some steps did not match (see above)"
exit 1
