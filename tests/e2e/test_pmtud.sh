#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end: path MTU discovery through Tollgate's SNAT. A download from the
# internet to a client behind a 1280-byte link succeeds only if the ICMP
# "fragmentation needed" from the router in front of that link, which
# crosses Tollgate from the inside, is translated (RFC 5508) so that the
# server matches it to its connection with the frontend IP.
#
#   cli (client)               cl (router)                fw (Tollgate)      inet (server)
#   eth0 198.18.2.10/24 ── eth1 198.18.2.1/24   eth0 198.18.1.10 ── fw-in  fw-out ── 203.0.113.10
#        MTU 1280              MTU 1280         MTU 1500              MTU 1500
#   default via 198.18.2.1     ip_forward=1                route 198.18.2.0/24
#     advmss 1460              icmp_ratelimit=0              via 198.18.1.10
#
# The client advertises MSS 1460 (route advmss), as a host on a 1500-byte
# LAN behind a smaller WAN link would, so the server sends 1500-byte segments
# with DF; the router cannot forward them onto its 1280-byte link and sends
# "fragmentation needed, MTU 1280" to the server. It quotes the segment as
# the router saw it (to 198.18.2.10, after Tollgate's translation); Tollgate
# must rewrite the quoted destination back to the frontend IP and port, or
# the server ignores the error and the download stalls (tcp_mtu_probing is
# off by default: a black hole).
#
#   TOLLGATE=build/control/tollgate bash tests/e2e/test_pmtud.sh
#
# Exit: 0 all steps passed, 1 a step failed, 77 cannot run here (not root).
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/nat_lib.sh"

: "${TOLLGATE:=$E2E_REPO/build/control/tollgate}"

ROUTER_ADDR=$E2E_CL_ADDR        # the cluster namespace of lib.sh is the router
ROUTER_LAN=198.18.2.1
CLIENT_ADDR=198.18.2.10
SMALL_MTU=1280
BLOB_MIB=4

# shellcheck disable=SC2034  # read by nat_lib.sh's e2e_write_config
NAT_ROUTES=("198.18.2.0/24 $ROUTER_ADDR")

# shellcheck disable=SC2317  # called by nat_lib.sh's e2e_write_config
nat_write_policy() {
	cat >"$1" <<EOF
# Policy of tests/e2e/test_pmtud.sh: the cluster may reach the web server.
rule_collection_groups:
  - name: e2e-pmtud
    priority: 100
    rule_collections:
      - name: egress
        kind: network
        priority: 100
        action: allow
        rules:
          - name: web
            protocols: [TCP]
            source_addresses: [198.18.0.0/15]
            destination_addresses: [$E2E_INET_ADDR]
            destination_ports: ["$E2E_HTTP_PORT"]
EOF
}

# Icmp counter NAME (e.g. OutDestUnreachs) of namespace NS, from /proc/net/snmp.
icmp_stat() {
	# shellcheck disable=SC2016  # awk's own $ fields
	ip netns exec "$1" awk -v n="$2" '
		$1 == "Icmp:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
		$1 == "Icmp:" && h  { print $col[n]; exit }' /proc/net/snmp
}

e2e_init
e2e_topology_up
nat_init

# The client namespace behind the router's small link.
CLI="tg$$-cli"
e2e_netns_add "$CLI"
ip -n "$E2E_CL" link add eth1 type veth peer name eth0 netns "$CLI" ||
	e2e_die "cannot create veth eth1/eth0"
e2e_offload_off "$E2E_CL" eth1
e2e_offload_off "$CLI" eth0
# No GRO on the router's inside port: each segment is forwarded (and
# refused) as the server sent it.
e2e_in "$E2E_CL" ethtool -K eth0 gro off >/dev/null 2>&1 || true
ip -n "$E2E_CL" link set eth1 mtu "$SMALL_MTU"
ip -n "$CLI" link set eth0 mtu "$SMALL_MTU"
ip -n "$E2E_CL" addr add "$ROUTER_LAN/24" dev eth1
ip -n "$E2E_CL" link set eth1 up
ip -n "$CLI" addr add "$CLIENT_ADDR/24" dev eth0
ip -n "$CLI" link set eth0 up
ip -n "$CLI" route add default via "$ROUTER_LAN" advmss 1460
e2e_in "$E2E_CL" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0 >/dev/null

mkdir -p "$E2E_TMP/www"
sum=$(e2e_make_blob "$E2E_TMP/www/blob.bin" "$BLOB_MIB")
e2e_http_start "$E2E_INET" "$E2E_INET_ADDR" "$E2E_TMP/www"

e2e_router_start
echo "tollgate pid $E2E_ROUTER_PID; namespaces $CLI $E2E_CL(router) $E2E_FW $E2E_INET"

e2e_ping "client reaches the router with 1280-byte packets" "$CLI" "$ROUTER_LAN" \
	-c 2 -i 0.2 -s $((SMALL_MTU - 28)) -M "do"

unreach_before=$(icmp_stat "$E2E_CL" OutDestUnreachs)

# download MAX-TIME: fetch the blob from the client; sets dl_st (curl's
# status), dl_ok (0 when HTTP 200 and the checksum matches) and dl_what.
download() {
	local out="$E2E_TMP/download.bin" meta code bytes speed got
	dl_st=0
	rm -f "$out"
	meta=$(ip netns exec "$CLI" curl -sS --noproxy '*' --connect-timeout 5 --max-time "$1" -o "$out" \
		-w '%{http_code} %{size_download} %{speed_download}' \
		"http://$E2E_INET_ADDR:$E2E_HTTP_PORT/blob.bin" 2>"$out.err") || dl_st=$?
	got=$(sha256sum "$out" 2>/dev/null | cut -d' ' -f1)
	read -r code bytes speed <<<"$meta"
	dl_ok=1
	[[ "$dl_st" == 0 && "$code" == 200 && "$got" == "$sum" ]] && dl_ok=0
	dl_what="curl status $dl_st $(tr '\n' ' ' <"$out.err")(HTTP ${code:-?}, ${bytes:-0} bytes, sha256 ${got:0:12}..., $(e2e_human_rate "${speed%%.*}"))"
}

# What reaches the server: ICMP, captured on its interface (when tcpdump is
# installed).
cap=
if command -v tcpdump >/dev/null 2>&1; then
	cap="$E2E_TMP/inet-icmp.pcap"
	e2e_bg "$E2E_INET" "$E2E_TMP/tcpdump.log" tcpdump -U --immediate-mode -Z root -n -i eth0 -w "$cap" icmp
	cap_pid=$E2E_LAST_PID
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "$E2E_TMP/tcpdump.log" 2>/dev/null && break
		sleep 0.1
	done
fi

# The download, bounded: a black hole would stall it until --max-time.
download 30
e2e_expect "download ${BLOB_MIB} MiB across the ${SMALL_MTU}-byte link" "HTTP 200, sha256 ${sum:0:12}..." \
	"$dl_what" $dl_ok

unreach_after=$(icmp_stat "$E2E_CL" OutDestUnreachs)
e2e_expect_ge "router sent 'fragmentation needed' about the server's segments" 1 \
	"$((unreach_after - unreach_before))" "ICMP unreachables"

# The server saw the client as a frontend IP and learnt the path MTU to it.
fe=$(awk '/GET \/blob.bin/ { print $1 }' "$E2E_TMP/http-$E2E_INET.log" | tail -1)
nat_is_frontend "$fe"
ok=$?
e2e_expect "server saw the client as a frontend IP" "192.0.2.10-29" "${fe:-<no request logged>}" $ok
pmtu=$(ip -n "$E2E_INET" route get "${fe:-192.0.2.10}" 2>/dev/null | sed -nE 's/.* mtu ([0-9]+).*/\1/p' | head -1)
e2e_expect_eq "server's path MTU to $fe (route cache)" "$SMALL_MTU" "${pmtu:-<none cached>}"

# The errors the server got name the frontend IP, outside and inside: no
# cluster address leaks (the router's own address is translated too).
if [[ -n "$cap" ]]; then
	sleep 0.3
	e2e_stop_pid "$cap_pid" TERM 5
	# -vv: tcpdump also decodes the quoted header and checks the checksums.
	dump=$(tcpdump -n -vv -r "$cap" 2>/dev/null)
	icmp_lines=$(grep 'need to frag' <<<"$dump")
	n_frag=$(grep -c . <<<"$icmp_lines")
	n_good=$(grep -cF "$fe > $E2E_INET_ADDR: ICMP $fe unreachable - need to frag (mtu $SMALL_MTU)" <<<"$icmp_lines")
	n_inner=$(grep -cE "^ *${E2E_INET_ADDR//./\\.}\\.$E2E_HTTP_PORT > ${fe//./\\.}\\.[0-9]+: " <<<"$dump")
	leaks=$(grep -cE '198\.1[89]\.' <<<"$dump")
	bad=$(grep -ciE 'bad cksum|incorrect' <<<"$dump")
	((n_frag >= 1 && n_good == n_frag && n_inner == n_frag && leaks == 0 && bad == 0))
	ok=$?
	e2e_expect "server got 'need to frag' from $fe quoting $E2E_INET_ADDR:$E2E_HTTP_PORT -> $fe" \
		"all translated, checksums right, no 198.18.x" \
		"$n_frag received, outer ok $n_good, inner ok $n_inner, bad checksums $bad, naming 198.18.x $leaks" $ok
	((ok == 0)) || head -20 <<<"$dump" | sed 's/^/  | /' >&2
else
	e2e_skip "server got 'need to frag' from $fe, translated" "all translated" "no tcpdump"
fi

# Control: without the ICMP error the same download must stall, or the test
# above proves nothing. The server forgets the path MTU (flushing the route
# cache invalidates it), the router's "fragmentation needed" is dropped
# before it leaves (nft), and the download runs into its time limit.
ip -n "$E2E_INET" route flush cache 2>/dev/null
pmtu=$(ip -n "$E2E_INET" route get "${fe:-192.0.2.10}" 2>/dev/null | sed -nE 's/.* mtu ([0-9]+).*/\1/p' | head -1)
if command -v nft >/dev/null 2>&1 && [[ -z "$pmtu" ]] &&
	e2e_in "$E2E_CL" nft -f - <<'EOF'
table ip e2e_control {
	chain out {
		type filter hook output priority 0; policy accept;
		icmp type destination-unreachable icmp code frag-needed drop
	}
}
EOF
then
	download 6
	((dl_ok != 0))
	ok=$?
	e2e_expect "control: same download with 'fragmentation needed' blocked stalls" \
		"fails (black hole)" "$dl_what" $ok
	e2e_in "$E2E_CL" nft delete table ip e2e_control
else
	e2e_skip "control: same download with 'fragmentation needed' blocked stalls" \
		"fails (black hole)" "no nft, or the server's path MTU could not be flushed (${pmtu:-})"
fi

e2e_router_stop
e2e_expect_eq "tollgate exits cleanly on SIGTERM" "status 0" "status $E2E_ROUTER_STATUS"
e2e_expect_counter_ge "ICMP errors translated (RFC 5508)" icmp.errors-translated 1
e2e_expect_counter_ge "SNAT ports allocated" snat.allocated 1
v=$(e2e_counter drop.icmp-error-no-session)
e2e_expect_eq "no ICMP error left unmatched (drop.icmp-error-no-session)" "0" "${v:-<no counters>}"

echo
echo "Tollgate's counters (non-zero):"
e2e_print_counters

if ! e2e_report "e2e-pmtud"; then
	e2e_show_router_log
	exit 1
fi
exit 0
