#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end: Tollgate's DNS proxy and network rules naming FQDNs, between
# lib.sh's cluster and internet namespaces. dnsmasq in the internet
# namespace is the upstream; the cluster node resolves through Tollgate's
# inside address (198.18.1.1) over UDP and TCP. Asserts what users see:
#
#   resolve   ntp.ubuntu.com, ghcr.io (a CNAME chain) and docker.io resolve
#             through Tollgate, over UDP and over TCP (query split in two
#             segments); a second ask comes from the cache
#   allow     UDP 123 to the address returned for ntp.ubuntu.com and TCP
#             443 to those of ghcr.io / docker.io get through; docker.io's
#             address is blocked until it has been resolved; an address no
#             answer returned (203.0.113.99) stays blocked
#   move      the upstream's answer changes (dnsmasq restarted with a new
#             address): the new address is allowed once resolved, the old
#             one blocked once its TTL plus retention_s (2 s) have passed
#   servfail  with the upstream down a query gets SERVFAIL after the tries
#   hardening a flood of garbage queries is dropped and counted
#             (drop.dns-malformed, drop.dns-rate-limited) and the proxy keeps
#             answering; a forged "answer" to the outside address is counted
#             (drop.dns-unsolicited)
#   show      `tollctl show dns` (table and --json) lists the tracked names
#             with the addresses they stand for now
#   logs      logs.decisions holds one AZFWDnsQuery record per answer sent
#             (as many as dns.answers), with the QueryName, QueryType,
#             Protocol and ResponseCode of what the test asked
#
#   TOLLGATE=build/control/tollgate TOLLCTL=build/tools/tollctl/tollctl \
#     bash tests/e2e/test_dns.sh
#   DNS_WORKERS=2 ...   two workers sharing one core: upstream answers reach
#                       either worker (RSS) and are punted to the proxy
#
# Exit: 0 all steps passed, 1 a step failed, 77 cannot run here.
set -uo pipefail

# nat_lib.sh's config writer takes the number of workers (NAT_WORKERS).
NAT_WORKERS=${DNS_WORKERS:-1}
source "$(dirname "${BASH_SOURCE[0]}")/nat_lib.sh"

: "${TOLLGATE:=$E2E_REPO/build/control/tollgate}"
: "${TOLLCTL:=$E2E_REPO/build/tools/tollctl/tollctl}"
[[ -x "$TOLLCTL" ]] || e2e_die "TOLLCTL=$TOLLCTL is not an executable"

NTP_ADDR=203.0.113.123
NTP_ADDR2=203.0.113.124
GHCR_ADDR=203.0.113.80
DOCKER_ADDR=203.0.113.81
OTHER_ADDR=203.0.113.99     # served by the same host, never in an answer
TTL=5                       # dnsmasq's local-ttl
RETENTION=2

# Set after e2e_init (E2E_TMP); nat_lib.sh's e2e_write_config reads it.
# shellcheck disable=SC2034
dns_config() {
	SOCK="$E2E_TMP/tollgate.sock"
	DLOG="$E2E_TMP/decisions.jsonl"
	E2E_EXTRA_CONFIG="dns:
  upstreams: [$E2E_INET_ADDR]
  retention_s: $RETENTION
  client_qps: 50
  timeout_ms: 300
  tries: 2
control:
  socket: $SOCK
logs:
  decisions: $DLOG"
}

# shellcheck disable=SC2317  # called by nat_lib.sh's e2e_write_config
nat_write_policy() {
	cat >"$1" <<'EOF2'
# Policy of tests/e2e/test_dns.sh: the seeds' FQDN network rules.
rule_collection_groups:
  - name: aks
    priority: 100
    rule_collections:
      - name: aksfwnr
        kind: network
        priority: 100
        action: allow
        rules:
          - name: time
            protocols: [UDP]
            source_addresses: ["*"]
            destination_fqdns: [ntp.ubuntu.com]
            destination_ports: ["123"]
          - name: registries
            protocols: [TCP]
            source_addresses: ["*"]
            destination_fqdns: [ghcr.io, docker.io]
            destination_ports: ["443"]
EOF2
}

command -v dnsmasq >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
command -v dnsmasq >/dev/null 2>&1 || {
	e2e_log "e2e-dns: dnsmasq not installed (tools/install-deps.sh); skipping"
	exit 77
}

e2e_init
dns_config
e2e_topology_up
for a in "$NTP_ADDR" "$NTP_ADDR2" "$GHCR_ADDR" "$DOCKER_ADDR" "$OTHER_ADDR"; do
	ip -n "$E2E_INET" addr add "$a/32" dev eth0
done

# --- helpers (python3, socket level) ----------------------------------------

cat >"$E2E_TMP/dnsq.py" <<'EOF2'
# dnsq.py udp|tcp SERVER NAME: ask for A records; prints "rcode=N a,b,...".
import random, socket, struct, sys, time
mode, server, name = sys.argv[1:4]
qid = random.randrange(65536)
q = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0)
for label in name.split('.'):
    q += bytes([len(label)]) + label.encode()
q += b'\0' + struct.pack('>HH', 1, 1)

def skip_name(m, off):
    while True:
        n = m[off]
        if n >= 0xc0:
            return off + 2
        off += 1 + n
        if n == 0:
            return off

try:
    if mode == 'udp':
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(6)
        s.sendto(q, (server, 53))
        m, _ = s.recvfrom(4096)
    else:
        s = socket.create_connection((server, 53), timeout=6)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(struct.pack('>H', len(q)))   # the length alone first,
        time.sleep(0.05)
        s.sendall(q)                           # then the message
        buf = b''
        while len(buf) < 2 or len(buf) < 2 + struct.unpack('>H', buf[:2])[0]:
            d = s.recv(4096)
            if not d:
                break
            buf += d
        m = buf[2:]
except OSError as e:
    print('error %s' % e)
    sys.exit(0)
rid, flags, qd, an, ns, ar = struct.unpack('>HHHHHH', m[:12])
if rid != qid:
    print('error id %d != %d' % (rid, qid))
    sys.exit(0)
off = 12
for _ in range(qd):
    off = skip_name(m, off) + 4
addrs = []
for _ in range(an):
    off = skip_name(m, off)
    t, c, ttl, rl = struct.unpack('>HHIH', m[off:off + 10])
    off += 10
    if t == 1:
        addrs.append(socket.inet_ntoa(m[off:off + 4]))
    off += rl
print('rcode=%d %s' % (flags & 0xf, ','.join(sorted(addrs))))
EOF2

cat >"$E2E_TMP/probe.py" <<'EOF2'
# probe.py udp|tcp ADDR PORT: "reply <data>" or "timeout" (a new flow each time).
import socket, sys
mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    if mode == 'udp':
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        s.sendto(b'ping', (addr, port))
        print('reply ' + s.recvfrom(100)[0].decode())
    else:
        s = socket.create_connection((addr, port), timeout=3)
        print('reply ' + s.recv(100).decode())
except OSError:
    print('timeout')
EOF2

cat >"$E2E_TMP/servers.py" <<'EOF2'
# servers.py ADDR...: UDP echo on 123 of each ADDR, a TCP greeter on 443.
import socket, sys, threading
def udp(addr):
    # one socket per address: the reply must come from the address asked
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 123))
    while True:
        d, a = s.recvfrom(100)
        s.sendto(b'ntp-echo', a)
def tcp():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', 443))
    s.listen(16)
    while True:
        c, _ = s.accept()
        c.sendall(b'tls-hello')
        c.close()
for addr in sys.argv[1:]:
    threading.Thread(target=udp, args=(addr,), daemon=True).start()
tcp()
EOF2

cat >"$E2E_TMP/flood.py" <<'EOF2'
# flood.py SERVER N: N garbage datagrams to SERVER:53 (headers that lie).
import os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[2])):
    body = struct.pack('>HHHHHH', i, 0x0100, 1, 5, 0, 0) + os.urandom(i % 40)
    s.sendto(body, (sys.argv[1], 53))
EOF2

cat >"$E2E_TMP/forge.py" <<'EOF2'
# forge.py ADDR FROM: a DNS "answer" from FROM port 53 that nobody asked for.
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[2], 53))  # dnsmasq holds port 53 of inet's own address
m = struct.pack('>HHHHHH', 7, 0x8180, 1, 0, 0, 0) + b'\x03ntp\x06ubuntu\x03com\x00' + struct.pack('>HH', 1, 1)
for port in (40000, 50000, 60000):
    s.sendto(m, (sys.argv[1], port))
EOF2

cat >"$E2E_TMP/showdns.py" <<'EOF2'
# showdns.py < `tollctl show dns --json`: "name addr,addr" per tracked name.
import json, sys
for n in json.load(sys.stdin)["names"]:
    print(n["name"], ",".join(sorted(a["address"] for a in n["addresses"])) or "-")
EOF2

cat >"$E2E_TMP/dnslog.py" <<'EOF2'
# dnslog.py LOG: every line must be a JSON object; one line per AZFWDnsQuery
# record: "QueryName QueryType QueryClass Protocol ResponseCode ErrorNumber",
# or "bad: ..." for a record missing a field of Azure's or with a bad time.
import json, re, sys
fields = ["time", "SourceIp", "SourcePort", "QueryId", "QueryType", "QueryClass",
          "QueryName", "Protocol", "RequestSize", "DnssecOkBit", "EDNS0BufferSize",
          "ResponseCode", "ResponseFlags", "ResponseSize", "RequestDurationSecs",
          "ErrorNumber", "ErrorMessage"]
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("category") != "AZFWDnsQuery":
        continue
    missing = [f for f in fields if f not in r]
    if missing:
        print("bad: missing", missing)
    elif not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"]):
        print("bad: time", r["time"])
    elif not r["ResponseFlags"].startswith("qr") or r["RequestSize"] < 17 \
            or r["ResponseSize"] < r["RequestSize"] or not 0 <= r["RequestDurationSecs"] < 10:
        print("bad: sizes or flags", line.strip())
    else:
        print(r["QueryName"], r["QueryType"], r["QueryClass"], r["Protocol"],
              r["ResponseCode"], r["ErrorNumber"])
EOF2

dnsq() { e2e_in "$E2E_CL" python3 "$E2E_TMP/dnsq.py" "$1" "$E2E_FW_IN_ADDR" "$2"; }
tc() { ip netns exec "$E2E_FW" "$TOLLCTL" "$1" --socket "$SOCK" "${@:2}"; }
probe() { e2e_in "$E2E_CL" python3 "$E2E_TMP/probe.py" "$@"; }

DNSMASQ_PID=
# dnsmasq_start NTP-ADDRESS: the upstream, answering from its config only.
dnsmasq_start() {
	cat >"$E2E_TMP/dnsmasq.conf" <<EOF2
no-resolv
no-hosts
port=53
listen-address=$E2E_INET_ADDR
bind-interfaces
local-ttl=$TTL
host-record=ntp.ubuntu.com,$1
host-record=edge.ghcr.example,$GHCR_ADDR
cname=ghcr.io,edge.ghcr.example
host-record=docker.io,$DOCKER_ADDR
address=/example/
log-queries
EOF2
	e2e_bg "$E2E_INET" "$E2E_TMP/dnsmasq.log" dnsmasq --no-daemon --keep-in-foreground \
		--conf-file="$E2E_TMP/dnsmasq.conf" --pid-file="$E2E_TMP/dnsmasq.pid" --user=root
	DNSMASQ_PID=$E2E_LAST_PID
	local i
	for ((i = 0; i < 50; i++)); do
		e2e_in "$E2E_INET" ss -Hlun "sport = :53" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	cat "$E2E_TMP/dnsmasq.log" >&2
	e2e_die "dnsmasq did not start"
}
dnsmasq_stop() {
	[[ -n "$DNSMASQ_PID" ]] && e2e_stop_pid "$DNSMASQ_PID" TERM 5
	DNSMASQ_PID=
}

e2e_bg "$E2E_INET" "$E2E_TMP/servers.log" python3 "$E2E_TMP/servers.py" \
	"$NTP_ADDR" "$NTP_ADDR2" "$GHCR_ADDR" "$DOCKER_ADDR" "$OTHER_ADDR"
e2e_wait_listen "$E2E_INET" 443 10 || e2e_die "servers did not start"
dnsmasq_start "$NTP_ADDR"
e2e_router_start
echo "tollgate pid $E2E_ROUTER_PID; namespaces $E2E_CL $E2E_FW $E2E_INET"
out=$(tc status 2>&1)
e2e_expect_eq "running with $NAT_WORKERS worker(s)" "$NAT_WORKERS worker(s)" \
	"$(grep -o '[0-9]* worker(s)' <<<"$out")"

# --- before any answer: FQDN rules match nothing ------------------------------
out=$(probe tcp "$DOCKER_ADDR" 443)
e2e_expect_eq "docker.io's address blocked before it was resolved" "timeout" "$out"

# --- resolve and reach --------------------------------------------------------
out=$(dnsq udp ntp.ubuntu.com)
e2e_expect_eq "resolve ntp.ubuntu.com over UDP" "rcode=0 $NTP_ADDR" "$out"
out=$(probe udp "$NTP_ADDR" 123)
e2e_expect_eq "UDP 123 to ntp.ubuntu.com's address allowed" "reply ntp-echo" "$out"
out=$(probe udp "$OTHER_ADDR" 123)
e2e_expect_eq "UDP 123 to an address no answer returned blocked" "timeout" "$out"

out=$(dnsq tcp ghcr.io)
e2e_expect_eq "resolve ghcr.io (CNAME chain) over TCP, query in two segments" \
	"rcode=0 $GHCR_ADDR" "$out"
out=$(probe tcp "$GHCR_ADDR" 443)
e2e_expect_eq "TCP 443 to ghcr.io's final address allowed" "reply tls-hello" "$out"
out=$(probe tcp "$OTHER_ADDR" 443)
e2e_expect_eq "TCP 443 to an address no answer returned blocked" "timeout" "$out"
out=$(probe udp "$GHCR_ADDR" 123)
e2e_expect_eq "UDP 123 to ghcr.io's address blocked (not the time rule's)" "timeout" "$out"

out=$(dnsq udp docker.io)
e2e_expect_eq "resolve docker.io over UDP" "rcode=0 $DOCKER_ADDR" "$out"
out=$(dnsq udp docker.io)
e2e_expect_eq "resolve docker.io again (from the cache)" "rcode=0 $DOCKER_ADDR" "$out"
out=$(probe tcp "$DOCKER_ADDR" 443)
e2e_expect_eq "TCP 443 to docker.io's address allowed once resolved" "reply tls-hello" "$out"
n_docker=$(grep -c 'query\[A\] docker.io' "$E2E_TMP/dnsmasq.log")
e2e_expect_eq "upstream asked once for docker.io (second answer cached)" "1" "$n_docker"

# --- tollctl show dns ---------------------------------------------------------
# Asked again first: the probes above outlast the TTL (5 s) plus retention.
for name in ntp.ubuntu.com ghcr.io docker.io; do dnsq udp "$name" >/dev/null; done
out=$(tc show dns 2>&1); st=$?
e2e_expect_eq "show dns: exit status" 0 "$st"
for row in "ntp.ubuntu.com $NTP_ADDR aks/aksfwnr/time" "ghcr.io $GHCR_ADDR aks/aksfwnr/registries" \
	"docker.io $DOCKER_ADDR aks/aksfwnr/registries"; do
	read -r name addr rule <<<"$row"
	got=$(awk -v n="$name" -v a="$addr" -v r="$rule" \
		'$1 == n && $2 == a && $3 ~ /^[0-9]+$/ && $4 == r { print "listed" }' <<<"$out")
	e2e_expect_eq "show dns: table row $name $addr, expiry, rule $rule" "listed" "$got"
done
e2e_expect_eq "show dns: table header" "name address expires_in_s rules" \
	"$(grep -m1 '^name ' <<<"$out" | tr -s ' ')"
out=$(tc show dns --json | python3 "$E2E_TMP/showdns.py" 2>&1)
e2e_expect_eq "show dns --json: tracked names and their addresses" \
	"ntp.ubuntu.com $NTP_ADDR|ghcr.io $GHCR_ADDR|docker.io $DOCKER_ADDR" \
	"$(sort -r <<<"$out" | paste -sd'|')"

# --- the upstream's answer changes --------------------------------------------
dnsmasq_stop
out=$(dnsq udp nothing.example)
e2e_expect_eq "upstream down: SERVFAIL after the tries" "rcode=2 " "$out"
dnsmasq_start "$NTP_ADDR2"
sleep "$TTL" # the cached answer for ntp.ubuntu.com expires
out=$(dnsq udp ntp.ubuntu.com)
e2e_expect_eq "ntp.ubuntu.com now resolves to the new address" "rcode=0 $NTP_ADDR2" "$out"
out=$(probe udp "$NTP_ADDR2" 123)
e2e_expect_eq "UDP 123 to the new address allowed" "reply ntp-echo" "$out"
sleep $((RETENTION + 1))
out=$(probe udp "$NTP_ADDR" 123)
e2e_expect_eq "UDP 123 to the old address blocked after TTL + retention" "timeout" "$out"
dnsq udp ntp.ubuntu.com >/dev/null
out=$(tc show dns --json | python3 "$E2E_TMP/showdns.py" 2>&1)
e2e_expect_eq "show dns --json: ntp.ubuntu.com now stands for the new address only" \
	"ntp.ubuntu.com $NTP_ADDR2" "$(grep '^ntp' <<<"$out")"

# --- hardening ----------------------------------------------------------------
sleep 1.1 # a fresh rate-limit window
e2e_in "$E2E_CL" python3 "$E2E_TMP/flood.py" "$E2E_FW_IN_ADDR" 300
e2e_in "$E2E_INET" python3 "$E2E_TMP/forge.py" "$E2E_FW_OUT_ADDR" "$OTHER_ADDR"
sleep 1.1
out=$(dnsq udp ghcr.io)
e2e_expect_eq "after a flood of garbage the proxy still answers" "rcode=0 $GHCR_ADDR" "$out"

e2e_router_stop
e2e_print_counters
malformed=$(e2e_counter drop.dns-malformed)
limited=$(e2e_counter drop.dns-rate-limited)
e2e_expect_ge "flood: garbage queries dropped as malformed" 1 "$malformed" "(drop.dns-malformed)"
e2e_expect_ge "flood: queries over 50/s dropped" 200 "$limited" "(drop.dns-rate-limited)"
e2e_expect_eq "flood: every garbage query counted once" 300 "$((malformed + limited))"
e2e_expect_counter_ge "forged answers counted" drop.dns-unsolicited 3
e2e_expect_counter_ge "cache hits counted" dns.cache-hits 1
e2e_expect_counter_ge "SERVFAIL counted" dns.servfail 1
e2e_expect_counter_ge "a query over TCP counted" dns.queries-tcp 1
e2e_expect_counter_ge "addresses expired from the sets" dns.tracked-expired 1
e2e_expect_eq "tollgate stopped cleanly" 0 "$E2E_ROUTER_STATUS"

# --- the query log (flushed when tollgate stops) ------------------------------
log=$(python3 "$E2E_TMP/dnslog.py" "$DLOG" 2>&1)
e2e_expect_eq "query log: every AZFWDnsQuery record complete" "" "$(grep -v '^[a-z.]* ' <<<"$log")"
e2e_expect_eq "query log: one record per answer sent (dns.answers)" \
	"$(e2e_counter dns.answers)" "$(grep -c . <<<"$log")"
e2e_expect_ge "query log: records counted in log.records" "$(grep -c . <<<"$log")" \
	"$(e2e_counter log.records)"
for want in "ntp.ubuntu.com. A IN udp NOERROR 0:4" "ghcr.io. A IN tcp NOERROR 0:1" \
	"docker.io. A IN udp NOERROR 0:3" "nothing.example. A IN udp SERVFAIL 110:1" \
	"ghcr.io. A IN udp NOERROR 0:2"; do
	rec=${want%:*}
	e2e_expect_eq "query log: $rec" "${want##*:}" "$(grep -cxF "$rec" <<<"$log")"
done

if ! e2e_report "e2e-dns"; then
	e2e_show_router_log
	exit 1
fi
