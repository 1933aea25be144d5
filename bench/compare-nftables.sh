#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The same SNAT-and-filter job done by Linux (nftables: a forward filter
# with conntrack, SNAT to one address, kernel forwarding) and by Tollgate,
# side by side in one run, in the same namespace topology
# (tests/e2e/lib.sh) with the same generator (bench/flowgen.c):
#
#   pps        64-byte UDP over 1,000 established flows, cl -> inet: frames
#              the sink received per second
#   new flows  every frame a new UDP flow (new conntrack entry and SNAT
#              translation): distinct translated flows received per second
#   exhaustion EXH (default 100,000) new flows towards ONE destination
#              (203.0.113.10:9002), paced at EXH_RATE/s, from 200 inside
#              addresses: how many got a translation (distinct source
#              address:port pairs at the sink); Linux with one SNAT address,
#              Tollgate with one frontend IP and with twenty
#
#   bash bench/compare-nftables.sh [BUILD]     as root; default build/
#
# Tollgate runs on net_af_xdp when DPDK's AF_XDP driver starts on the veth
# ports, otherwise on net_af_packet (the output says which; PMD=af_packet
# forces it). It and Linux each get one CPU for forwarding; the generator
# and sink share the machine with them, so on a small machine the figures
# are bounded by the generator too: read the ratios, measured in one run.
# Environment: DUR (seconds per measurement, default 5), EXH, EXH_RATE.
# Only 198.18.0.0/15, 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, in
# namespaces made here; everything is removed on exit (lib.sh's traps).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
BUILD=${1:-build}
export TOLLGATE=$PWD/$BUILD/control/tollgate
FLOWGEN=$PWD/$BUILD/bench/flowgen
DUR=${DUR:-5}
EXH=${EXH:-100000}
EXH_RATE=${EXH_RATE:-20000}
PMD=${PMD:-af_xdp}
for b in "$TOLLGATE" "$FLOWGEN"; do
	[[ -x "$b" ]] || { echo "compare-nftables: $b not built (ninja -C $BUILD)" >&2; exit 1; }
done
results=$(mktemp "${TMPDIR:-/tmp}/tollgate-compare.XXXXXX")
trap 'rm -f "$results"' EXIT

# One measurement: sink in inet, generator in cl. Prints the sink's line.
# measure PORT SINK_SECONDS GENERATOR-ARGS...
measure() {
	local port=$1 secs=$2 out="$E2E_TMP/sink.$1"
	shift 2
	e2e_bg "$E2E_INET" "$out" "$FLOWGEN" sink "$port" "$secs"
	local sink=$E2E_LAST_PID
	sleep 0.3
	GEN=$(e2e_in "$E2E_CL" "$FLOWGEN" "$@")
	local i # the sink ends by itself after secs (bounded wait)
	for ((i = 0; i < (secs + 5) * 10; i++)); do
		kill -0 "$sink" 2>/dev/null || break
		sleep 0.1
	done
	e2e_stop_pid "$sink" TERM 2
	SINK=$(cat "$out")
}

# Runs in a subshell per router (lib.sh's trap removes its namespaces when
# the subshell ends). Appends "ROUTER KEY VALUE" lines to $results.
phase() { # LABEL ROUTER [frontend range] [what: all|exhaustion]
	local label=$1 what=${4:-all}
	(
		export E2E_ROUTER=$2
		# shellcheck source=../tests/e2e/lib.sh
		source tests/e2e/lib.sh
		E2E_FRONTEND_RANGE=${3:-192.0.2.10-192.0.2.29}
		e2e_init
		# Tollgate on the chosen PMD, one worker on its own lcore.
		e2e_write_config() {
			cat >"$1" <<EOF
workers: 1
interfaces:
  - name: inside
    role: inside
    device: net_${PMD}0,iface=fw-in
    address: $E2E_FW_IN_ADDR/24
    mtu: 1500
  - name: outside
    role: outside
    device: net_${PMD}1,iface=fw-out
    address: $E2E_FW_OUT_ADDR/24
    mtu: 1500
routes:
  - prefix: 198.51.100.0/24
    via: $E2E_INET_ADDR
frontend_ips:
  - $E2E_FRONTEND_RANGE
sessions:
  per_worker: 400000
policy: policy.yaml
EOF
			e2e_write_policy "$(dirname "$1")/policy.yaml"
		}
		e2e_eal_args() {
			E2E_EAL=(--no-huge -m 1024 --no-shconf --no-telemetry --no-pci -l 0-1
				"--vdev=net_${PMD}0,iface=fw-in" "--vdev=net_${PMD}1,iface=fw-out")
		}
		e2e_topology_up
		if [[ "$E2E_ROUTER" == kernel ]]; then
			# The job Tollgate does, as Linux does it: filter (only the
			# cluster's flows out, replies by conntrack) and SNAT.
			e2e_in "$E2E_FW" nft -f - <<'EOF' || exit 1
table ip tgbench {
	chain forward {
		type filter hook forward priority 0; policy drop;
		ct state established,related accept
		iifname "fw-in" ip saddr 198.18.0.0/15 meta l4proto { tcp, udp, icmp } accept
	}
	chain postrouting {
		type nat hook postrouting priority 100;
		oifname "fw-out" snat to 192.0.2.10
	}
}
EOF
		fi
		e2e_router_start
		# First frames: ARP on both sides, then the numbers.
		e2e_in "$E2E_CL" ping -q -c 2 -W 1 "$E2E_INET_ADDR" >/dev/null
		local r=$label
		if [[ "$what" == all ]]; then
			measure 9000 $((DUR + 1)) send "$E2E_INET_ADDR" 9000 "$DUR" 1000
			echo "$r pps_sent $(awk '{ printf "%.0f", $2 / $4 }' <<<"$GEN")" >>"$results"
			echo "$r pps $(awk -v d="$DUR" '{ printf "%.0f", $2 / d }' <<<"$SINK")" >>"$results"
			measure 9001 $((DUR + 1)) new "$E2E_INET_ADDR" 9001 "$DUR" 300000 198.18.1.10 200
			echo "$r newflows $(awk -v g="$GEN" '{ split(g, a, " "); printf "%.0f", $4 / a[4] }' <<<"$SINK")" >>"$results"
		fi
		measure 9002 $((EXH / EXH_RATE + 3)) new "$E2E_INET_ADDR" 9002 $((EXH / EXH_RATE + 2)) \
			"$EXH" 198.18.1.10 200 "$EXH_RATE"
		echo "$r exhaustion $(awk '{ print $4 }' <<<"$SINK")" >>"$results"
		echo "$r exhaustion_sent $(awk '{ print $2 }' <<<"$GEN")" >>"$results"
		if [[ "$E2E_ROUTER" == tollgate ]]; then
			e2e_router_stop
			echo "$r refused $(e2e_counter drop.snat-exhausted)" >>"$results"
			echo "$r pmd net_$PMD" >>"$results"
		else
			echo "$r refused n/a" >>"$results"
		fi
	)
}

echo "== Linux: nftables filter + conntrack + snat to one address"
phase linux kernel || exit 1
echo "== Tollgate on net_$PMD, 20 frontend IPs"
if ! phase tollgate20 tollgate; then
	if [[ "$PMD" == af_xdp ]]; then
		echo "compare-nftables: Tollgate did not start on net_af_xdp here; using net_af_packet"
		PMD=af_packet
		sed -i '/^tollgate20 /d' "$results"
		phase tollgate20 tollgate || exit 1
	else
		exit 1
	fi
fi
echo "== Tollgate on net_$PMD, 1 frontend IP (exhaustion only)"
phase tollgate1 tollgate 192.0.2.10-192.0.2.10 exhaustion || exit 1

get() { awk -v r="$1" -v k="$2" '$1 == r && $2 == k { print $3 }' "$results"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
lp=$(get linux pps) tp=$(get tollgate20 pps) ln=$(get linux newflows) tn=$(get tollgate20 newflows)
printf '\n%-44s %14s %14s %8s\n' "figure (same generator, same topology)" "Linux nft" "Tollgate" "T / L"
printf '%-44s %14s %14s %8s\n' "offered by the generator, frames/s" "$(get linux pps_sent)" "$(get tollgate20 pps_sent)" ""
printf '%-44s %14s %14s %8s\n' "delivered, 64-byte UDP, 1,000 flows, pps" "$lp" "$tp" "$(ratio "$tp" "$lp")"
printf '%-44s %14s %14s %8s\n' "new flows delivered per second" "$ln" "$tn" "$(ratio "$tn" "$ln")"
printf '%-44s %14s %14s\n' "flows to one destination that got a port," "" ""
printf '%-44s %14s %14s\n' "  of $EXH offered: one address" "$(get linux exhaustion)" "$(get tollgate1 exhaustion)"
printf '%-44s %14s %14s\n' "  twenty frontend IPs (Tollgate)" "" "$(get tollgate20 exhaustion)"
printf '%-44s %14s %14s\n' "  refusals counted (drop.snat-exhausted)" "not counted" "$(get tollgate1 refused) (1 IP), $(get tollgate20 refused) (20)"
echo "Tollgate ran on $(get tollgate20 pmd); Linux and Tollgate forwarded in the same namespaces with the same flowgen, one after the other."
