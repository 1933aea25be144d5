#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end: Tollgate as a stateful firewall with SNAT and DNAT, between a
# cluster namespace and an internet namespace (lib.sh's topology; helpers in
# nat_lib.sh). Asserts what users see:
#
#   SNAT     a server on the internet sees frontend IPs (192.0.2.10-29) as
#            client addresses, never cluster addresses
#   pairing  20 cluster addresses (198.18.1.10-29), several requests each,
#            spread over several frontend IPs; each client always appears as
#            the same frontend IP
#   DNAT     http://192.0.2.10/ from the internet reaches the backend
#            198.18.1.100:8080 in the cluster, which sees Tollgate's inside
#            address as the client (dnat.snat_to_inside); hairpin: a cluster
#            node fetching http://192.0.2.10/ works too
#   policy   TCP to a port no rule allows times out, UDP to a denied port
#            gets no answer, inbound flows to cluster addresses are refused;
#            allowed flows (TCP and UDP) work; the drop counters moved
#
#   TOLLGATE=build/control/tollgate bash tests/e2e/test_nat.sh
#   NAT_WORKERS=2 ...     two workers sharing one core (replies handed off)
#
# Exit: 0 all steps passed, 1 a step failed, 77 cannot run here (not root).
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/nat_lib.sh"

: "${TOLLGATE:=$E2E_REPO/build/control/tollgate}"

N_CLIENTS=20     # cluster addresses 198.18.1.10 .. 198.18.1.29
N_REQ=3          # requests per client
BACKEND=198.18.1.100
BACKEND_PORT=8080
DNAT_IP=192.0.2.10
WEB_PORT=8080    # allowed TCP port on the internet server
CLOSED_PORT=9090 # TCP port no rule allows (a server listens there anyway)
UDP_OK=5353      # allowed UDP port
UDP_DENY=5354    # UDP port an explicit deny rule refuses

# shellcheck disable=SC2317  # called by nat_lib.sh's e2e_write_config
# DNAT first, then a deny collection, then the allows; everything else is
# default deny (Azure's order).
nat_write_policy() {
	cat >"$1" <<EOF
# Policy of tests/e2e/test_nat.sh.
rule_collection_groups:
  - name: e2e-nat
    priority: 100
    rule_collections:
      - name: publish-web
        kind: dnat
        priority: 100
        action: dnat
        rules:
          - name: web
            protocols: [TCP]
            source_addresses: ["*"]
            destination_addresses: ["$DNAT_IP"]
            destination_ports: ["80"]
            translated_address: $BACKEND
            translated_port: "$BACKEND_PORT"
      - name: deny-udp
        kind: network
        priority: 100
        action: deny
        rules:
          - name: udp-$UDP_DENY
            protocols: [UDP]
            source_addresses: ["*"]
            destination_addresses: ["*"]
            destination_ports: ["$UDP_DENY"]
      - name: egress
        kind: network
        priority: 200
        action: allow
        rules:
          - name: web
            protocols: [TCP]
            source_addresses: [198.18.0.0/15]
            destination_addresses: [203.0.113.0/24, 198.51.100.0/24]
            destination_ports: ["$WEB_PORT"]
          - name: udp
            protocols: [UDP]
            source_addresses: [198.18.0.0/15]
            destination_addresses: [203.0.113.0/24]
            destination_ports: ["$UDP_OK", "$UDP_DENY"]
EOF
}

e2e_init
e2e_topology_up
nat_init

# The cluster node gets 20 client addresses (the first is lib.sh's) and the
# backend's address.
for ((i = 1; i < N_CLIENTS; i++)); do
	ip -n "$E2E_CL" addr add "198.18.1.$((10 + i))/24" dev eth0
done
ip -n "$E2E_CL" addr add "$BACKEND/24" dev eth0

nat_whoami_start "$E2E_INET" "$E2E_INET_ADDR" "$WEB_PORT" inet
nat_whoami_start "$E2E_INET" "$E2E_INET_ADDR" "$CLOSED_PORT" closed
nat_whoami_start "$E2E_CL" "$BACKEND" "$BACKEND_PORT" backend
nat_udp_echo_start "$E2E_INET" "$E2E_INET_ADDR" "$UDP_OK" udp-ok
nat_udp_echo_start "$E2E_INET" "$E2E_INET_ADDR" "$UDP_DENY" udp-deny

e2e_router_start
echo "tollgate pid $E2E_ROUTER_PID, $NAT_WORKERS worker(s); namespaces $E2E_CL $E2E_FW $E2E_INET"

# --- SNAT and pairing ------------------------------------------------------
# Every client fetches from the internet server N_REQ times; the server's
# answer says which address it saw.
declare -A seen_as=()    # client -> space-separated frontend IPs seen
fails=0
for ((i = 0; i < N_CLIENTS && fails < 5; i++)); do   # 5 failures: broken, stop waiting
	c="198.18.1.$((10 + i))"
	for ((r = 0; r < N_REQ; r++)); do
		body=$(nat_curl "$E2E_CL" "http://$E2E_INET_ADDR:$WEB_PORT/" --interface "$c" 2>&1) || {
			fails=$((fails + 1))
			e2e_log "  curl from $c failed: $body"
			continue
		}
		seen_as[$c]+="$(nat_field peer "$body") "
	done
done
e2e_expect_eq "SNAT: $((N_CLIENTS * N_REQ)) requests from $N_CLIENTS clients answered" \
	"0 failed" "$fails failed"

# What the server logged: every peer must be a frontend IP.
peers_log="$E2E_TMP/peers-inet.log"
n_logged=$(nat_lines "$peers_log")
not_frontend=$(awk '{ print $1 }' "$peers_log" 2>/dev/null | sort -u | while read -r ip; do
	nat_is_frontend "$ip" || printf '%s ' "$ip"
done)
cluster_seen=$(grep -c '^198\.1[89]\.' "$peers_log" 2>/dev/null)
e2e_expect_eq "SNAT: server log has $((N_CLIENTS * N_REQ)) requests" \
	"$((N_CLIENTS * N_REQ))" "$n_logged"
e2e_expect_eq "SNAT: server saw only frontend IPs 192.0.2.10-29" \
	"none other" "${not_frontend:-none other}"
e2e_expect_eq "SNAT: server never saw a cluster address" "0 requests" "${cluster_seen:-0} requests"

# Pairing: one frontend IP per client, several in all.
inconsistent=()
declare -A used=()
for c in "${!seen_as[@]}"; do
	read -r -a ips <<<"${seen_as[$c]}"
	first=${ips[0]}
	for ip in "${ips[@]}"; do
		[[ "$ip" == "$first" ]] || {
			inconsistent+=("$c:${seen_as[$c]// /,}")
			break
		}
	done
	used[$first]=$((${used[$first]:-0} + 1))
done
e2e_expect_eq "pairing: each client always seen as the same frontend IP" \
	"all $N_CLIENTS consistent" \
	"$( ((${#inconsistent[@]} == 0)) && echo "all ${#seen_as[@]} consistent" || echo "inconsistent: ${inconsistent[*]}")"
spread=$(for ip in "${!used[@]}"; do echo "$ip=${used[$ip]}"; done | sort -t. -k4,4n | tr '\n' ' ')
((${#used[@]} >= 3))
ok=$?
e2e_expect "pairing: $N_CLIENTS clients spread over frontend IPs" ">= 3 distinct IPs" \
	"${#used[@]} distinct IPs (${spread% })" $ok

# --- policy: allowed UDP, denied UDP, TCP no rule allows ---------------------
ans=$(nat_udp_ask "$E2E_CL" "$E2E_INET_ADDR" "$UDP_OK" "$E2E_CL_ADDR")
peer=$(nat_field peer "$ans")
nat_is_frontend "$peer"
ok=$?
e2e_expect "policy: UDP to allowed port $UDP_OK answered, via a frontend IP" \
	"answer from a frontend IP" "$([[ -n "$ans" ]] && echo "answered, server saw ${peer:-?}" || echo "no answer")" $ok
ans=$(nat_udp_ask "$E2E_CL" "$E2E_INET_ADDR" "$UDP_DENY" "$E2E_CL_ADDR" 3)
udp_deny_logged=$(nat_lines "$E2E_TMP/peers-udp-deny.log")
[[ -z "$ans" && "$udp_deny_logged" == 0 ]]
ok=$?
e2e_expect "policy: UDP to denied port $UDP_DENY gets nothing (3 s)" "no answer, server got nothing" \
	"$([[ -n "$ans" ]] && echo "answered: $ans" || echo "no answer"), server got $udp_deny_logged datagrams" $ok

st=0
out=$(nat_curl "$E2E_CL" "http://$E2E_INET_ADDR:$CLOSED_PORT/" --max-time 4 2>&1) || st=$?
closed_logged=$(nat_lines "$E2E_TMP/peers-closed.log")
# 28: timed out (the SYN was dropped); 7 would be a RST, i.e. a leak.
[[ "$st" == 28 && "$closed_logged" == 0 ]]
ok=$?
e2e_expect "policy: TCP to port $CLOSED_PORT (no rule) fails" "curl times out (28), server got nothing" \
	"curl status $st, server got $closed_logged requests" $ok

st=0
out=$(nat_curl "$E2E_INET" "http://$BACKEND:$BACKEND_PORT/" --max-time 4 2>&1) || st=$?
[[ "$st" == 28 ]]
ok=$?
e2e_expect "policy: internet -> cluster $BACKEND:$BACKEND_PORT directly fails" "curl times out (28)" \
	"curl status $st${out:+: ${out:0:60}}" $ok

# --- DNAT, from the internet and hairpinned ----------------------------------
st=0
body=$(nat_curl "$E2E_INET" "http://$DNAT_IP/" 2>&1) || st=$?
srv=$(nat_field server "$body")
peer=$(nat_field peer "$body")
[[ "$st" == 0 && "$srv" == backend ]]
ok=$?
e2e_expect "DNAT: internet fetches http://$DNAT_IP/ -> backend $BACKEND:$BACKEND_PORT" \
	"the backend's page" "curl status $st, page from ${srv:-<nothing>}" $ok
e2e_expect_eq "DNAT: backend sees Tollgate's inside address (snat_to_inside)" \
	"$E2E_FW_IN_ADDR" "${peer:-<nothing>}"

hp_client=198.18.1.11
st=0
body=$(nat_curl "$E2E_CL" "http://$DNAT_IP/" --interface "$hp_client" 2>&1) || st=$?
srv=$(nat_field server "$body")
peer=$(nat_field peer "$body")
[[ "$st" == 0 && "$srv" == backend ]]
ok=$?
e2e_expect "hairpin: cluster $hp_client fetches http://$DNAT_IP/" "the backend's page" \
	"curl status $st, page from ${srv:-<nothing>}" $ok
e2e_expect_eq "hairpin: backend sees Tollgate's inside address" "$E2E_FW_IN_ADDR" "${peer:-<nothing>}"

# Five more from the internet, each on a new connection: all answered.
ok=0
for ((r = 0; r < 5; r++)); do
	body=$(nat_curl "$E2E_INET" "http://$DNAT_IP/" 2>/dev/null) && [[ "$(nat_field server "$body")" == backend ]] &&
		ok=$((ok + 1))
done
e2e_expect_eq "DNAT: 5 more connections from the internet" "5 answered" "$ok answered"

# Port 81 on the DNAT address has no rule: refused (a frontend IP is one of
# Tollgate's own addresses, so this counts as drop.local-unsupported).
st=0
nat_curl "$E2E_INET" "http://$DNAT_IP:81/" --max-time 4 >/dev/null 2>&1 || st=$?
[[ "$st" != 0 ]]
ok=$?
e2e_expect "DNAT: $DNAT_IP port 81 (no rule) fails" "curl fails" "curl status $st" $ok

# --- counters --------------------------------------------------------------
e2e_router_stop
e2e_expect_eq "tollgate exits cleanly on SIGTERM" "status 0" "status $E2E_ROUTER_STATUS"
n_out=$((N_CLIENTS * N_REQ + 1))   # outbound TCP flows and the allowed UDP flow
e2e_expect_counter_ge "sessions created" sessions.created $((n_out + 7))
e2e_expect_counter_ge "SNAT ports allocated" snat.allocated "$n_out"
e2e_expect_counter_ge "DNAT sessions (internet 6, hairpin 1)" dnat.sessions 7
e2e_expect_counter_ge "denied by a deny rule (UDP $UDP_DENY)" drop.policy-deny 1
# port 9090 and internet -> cluster: at least one SYN each
e2e_expect_counter_ge "denied by default (2 TCP flows)" drop.policy-default-deny 2
e2e_expect_counter_ge "frontend IP port 81 refused as local traffic" drop.local-unsupported 1

# Every drop must be one the test provoked.
allowed=" drop.policy-deny drop.policy-default-deny drop.local-unsupported "
unexpected=()
for name in "${!E2E_COUNTERS[@]}"; do
	[[ "$name" == drop.* && "$allowed" != *" $name "* && "${E2E_COUNTERS[$name]}" != 0 ]] &&
		unexpected+=("$name=${E2E_COUNTERS[$name]}")
done
if ((${#E2E_COUNTERS[@]} == 0)); then
	e2e_result FAIL "counters printed on SIGTERM" "'  NAME  VALUE  description' lines" "none found"
else
	e2e_expect_eq "no unexpected drops" "none other" "${unexpected[*]:-none other}"
fi

echo
echo "Tollgate's counters (non-zero):"
e2e_print_counters

if ! e2e_report "e2e-nat"; then
	e2e_show_router_log
	exit 1
fi
exit 0
