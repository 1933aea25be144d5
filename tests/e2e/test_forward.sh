#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end: Tollgate forwards IPv4 as a next hop between a cluster node and
# the internet, in three network namespaces (see lib.sh for the picture).
# Asserts what a user sees: pings and HTTP downloads both ways, ICMP time
# exceeded and net unreachable from Tollgate, echo replies from its own and
# frontend addresses, then, after SIGTERM, counters that agree with what was
# sent and no drop beyond the ones provoked.
#
#   TOLLGATE=build/control/tollgate bash tests/e2e/test_forward.sh
#   E2E_ROUTER=kernel bash tests/e2e/test_forward.sh   # Linux forwards instead
#
# Exit: 0 all steps passed, 1 a step failed, 77 cannot run here (not root).
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${TOLLGATE:=$E2E_REPO/build/control/tollgate}"

e2e_init
e2e_topology_up

# Test data: a random blob served by each side.
mkdir -p "$E2E_TMP/www-inet" "$E2E_TMP/www-cl"
BLOB_MIB=4
BLOB_BYTES=$((BLOB_MIB * 1024 * 1024))
sum_inet=$(e2e_make_blob "$E2E_TMP/www-inet/blob.bin" "$BLOB_MIB")
sum_cl=$(e2e_make_blob "$E2E_TMP/www-cl/blob.bin" "$BLOB_MIB")
e2e_http_start "$E2E_INET" "$E2E_INET_ADDR" "$E2E_TMP/www-inet"
e2e_http_start "$E2E_CL" "$E2E_CL_ADDR" "$E2E_TMP/www-cl"

e2e_router_start
echo "router: $E2E_ROUTER${E2E_ROUTER_PID:+ (tollgate pid $E2E_ROUTER_PID)}; namespaces $E2E_CL $E2E_FW $E2E_INET"

N=5         # echo requests per ping step
N_BIG=3     # full-size (1500-byte) echo requests
N_TTL=3     # TTL-1 probes
N_UNREACH=2 # probes to an unrouted address

# Forwarding, both ways.
e2e_ping "ping cl -> inet $E2E_INET_ADDR" "$E2E_CL" "$E2E_INET_ADDR" -c $N -i 0.2
e2e_ping "ping inet -> cl $E2E_CL_ADDR" "$E2E_INET" "$E2E_CL_ADDR" -c $N -i 0.2
e2e_ping "ping cl -> $E2E_REMOTE_ADDR (static route)" "$E2E_CL" "$E2E_REMOTE_ADDR" -c $N -i 0.2
e2e_ping "ping cl -> inet, 1500-byte packets, DF" "$E2E_CL" "$E2E_INET_ADDR" -c $N_BIG -i 0.2 -s 1472 -M "do"
e2e_http_get "HTTP download inet -> cl (${BLOB_MIB} MiB)" "$E2E_CL" \
	"http://$E2E_INET_ADDR:$E2E_HTTP_PORT/blob.bin" "$sum_inet"
e2e_http_get "HTTP download cl -> inet (${BLOB_MIB} MiB)" "$E2E_INET" \
	"http://$E2E_CL_ADDR:$E2E_HTTP_PORT/blob.bin" "$sum_cl"

# Errors Tollgate generates. Linux (the stand-in) limits "no route" errors to
# about one per second per source, whatever icmp_ratelimit says, and that
# budget is shared with the other ICMP errors it sends to the same host:
# probe it first and slowly. Tollgate gets a burst.
unreach_interval=0.3
[[ "$E2E_ROUTER" == kernel ]] && unreach_interval=1.1
e2e_ping_error "no route cl -> $E2E_UNROUTED_ADDR: unreachable" "$E2E_CL" "$E2E_UNROUTED_ADDR" \
	"$E2E_FW_IN_ADDR" "Destination Net Unreachable" $N_UNREACH -i $unreach_interval
e2e_ping_error "TTL 1 cl -> inet: time exceeded" "$E2E_CL" "$E2E_INET_ADDR" \
	"$E2E_FW_IN_ADDR" "Time to live exceeded" $N_TTL -t 1

# Tollgate's own addresses (health checks ping them). The hosts forget their
# ARP entries first, so they must ask, and Tollgate must answer, for its
# addresses (until now they could have learnt its MAC from its own requests).
e2e_neigh_flush "$E2E_CL"
e2e_neigh_flush "$E2E_INET"
e2e_ping "ping cl -> Tollgate inside $E2E_FW_IN_ADDR" "$E2E_CL" "$E2E_FW_IN_ADDR" -c $N -i 0.2
e2e_ping "ping inet -> Tollgate outside $E2E_FW_OUT_ADDR" "$E2E_INET" "$E2E_FW_OUT_ADDR" -c $N -i 0.2
e2e_expect_neigh "ARP: cl resolved Tollgate's inside address" "$E2E_CL" "$E2E_FW_IN_ADDR" \
	"$(e2e_mac "$E2E_FW" fw-in)"
e2e_expect_neigh "ARP: inet resolved Tollgate's outside address" "$E2E_INET" "$E2E_FW_OUT_ADDR" \
	"$(e2e_mac "$E2E_FW" fw-out)"
if [[ "$E2E_ROUTER" == tollgate ]]; then
	e2e_ping "ping inet -> frontend IP $E2E_FRONTEND_ADDR" "$E2E_INET" "$E2E_FRONTEND_ADDR" -c $N -i 0.2
else
	e2e_skip "ping inet -> frontend IP $E2E_FRONTEND_ADDR" "0% loss" "Linux stand-in owns no frontend IPs"
fi

# Counters, read from Tollgate's output after SIGTERM.
e2e_router_stop
if [[ "$E2E_ROUTER" == tollgate ]]; then
	e2e_expect_eq "tollgate exits cleanly on SIGTERM" "status 0" "status $E2E_ROUTER_STATUS"
	# Lower bounds from what was sent: each full-size TCP segment carries at
	# most 1448 bytes, so a download needs at least BLOB/1448 data packets.
	seg=$((BLOB_BYTES / 1448))
	pings_fwd=$((N + N + N + N_BIG))
	e2e_expect_counter_ge "rx on inside" rx.inside.packets $((pings_fwd + seg))
	e2e_expect_counter_ge "tx on outside" tx.outside.packets $((pings_fwd + seg))
	e2e_expect_counter_ge "rx on outside" rx.outside.packets $((pings_fwd + seg))
	e2e_expect_counter_ge "tx on inside" tx.inside.packets $((pings_fwd + seg))
	e2e_expect_counter_ge "bytes out on inside (download to cl)" tx.inside.bytes $BLOB_BYTES
	e2e_expect_counter_ge "bytes out on outside (download to inet)" tx.outside.bytes $BLOB_BYTES
	e2e_expect_counter_ge "packets forwarded" ip.forwarded $((2 * pings_fwd + 2 * seg))
	e2e_expect_counter_ge "TTL expiries counted" drop.ttl-exceeded $N_TTL
	e2e_expect_counter_ge "time exceeded sent" icmp.time-exceeded-sent $N_TTL
	e2e_expect_counter_ge "no-route drops counted" drop.no-route $N_UNREACH
	e2e_expect_counter_ge "net unreachable sent" icmp.net-unreachable-sent $N_UNREACH
	e2e_expect_counter_ge "echo replies from Tollgate" icmp.echo-replied $((3 * N))
	e2e_expect_counter_ge "ARP replies sent (cl and inet asked)" arp.replies-sent 2
	e2e_expect_counter_ge "next hops resolved by ARP (cl, inet)" neigh.resolved 2
	rl=$(e2e_counter icmp.rate-limited)
	e2e_expect_eq "ICMP errors rate-limited" "0" "${rl:-<no counters>}"

	# Every drop must be one the test provoked.
	allowed=" drop.ttl-exceeded drop.no-route "
	unexpected=()
	for name in "${!E2E_COUNTERS[@]}"; do
		[[ "$name" == drop.* ]] || continue
		[[ "$allowed" == *" $name "* ]] && continue
		[[ "${E2E_COUNTERS[$name]}" != 0 ]] && unexpected+=("$name=${E2E_COUNTERS[$name]}")
	done
	if ((${#E2E_COUNTERS[@]} == 0)); then
		e2e_result FAIL "counters printed on SIGTERM" "'  NAME  VALUE  description' lines" "none found"
	elif ((${#unexpected[@]} == 0)); then
		e2e_result OK "no unexpected drops" "only drop.ttl-exceeded, drop.no-route" "none other"
	else
		e2e_result FAIL "no unexpected drops" "only drop.ttl-exceeded, drop.no-route" "${unexpected[*]}"
	fi
	echo
	echo "Tollgate's counters (non-zero):"
	e2e_print_counters
else
	e2e_skip "Tollgate's counters" "agree with traffic" "Linux stand-in has none"
fi

if ! e2e_report "e2e-forward"; then
	e2e_show_router_log
	exit 1
fi
exit 0
