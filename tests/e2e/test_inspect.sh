#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end: application rules decided on the TLS SNI and the HTTP Host
# before any payload byte reaches a server (issue 5). lib.sh's topology;
# the internet namespace runs tests/e2e/tls_server.py on 203.0.113.10:443
# (TLS, certificate made at run time for every name) and :80 (plain), which
# logs, per connection, how many bytes the client's stream delivered.
#
# The policy has only application rules (no network rule allows TCP): the
# AKS example's style (fqdn_tags: [AzureKubernetesService]) plus a
# target_fqdns rule for allowed.example and *.wild.example. Real clients in
# the cluster namespace - curl, openssl s_client, gnutls-cli, Python's ssl
# and headless Chromium (whose ~1.9 KB ClientHello spans two segments) -
# reach allowed names and are refused for others; every refused
# connection leaves the server with zero bytes received. Plain HTTP: an
# allowed Host is fetched, a refused one gets Tollgate's 403 page.
#
#   TOLLGATE=build/control/tollgate bash tests/e2e/test_inspect.sh
#   NAT_WORKERS=2 ...     two workers sharing one core
#
# Exit: 0 all steps passed, 1 a step failed, 77 cannot run here.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/nat_lib.sh"

: "${TOLLGATE:=$E2E_REPO/build/control/tollgate}"

SERVER=$E2E_INET_ADDR
ALLOWED=(allowed.example api.wild.example mcr.microsoft.com management.azure.com)
DENIED=(denied.example www.example.com)

# shellcheck disable=SC2317  # called by nat_lib.sh's e2e_write_config
nat_write_policy() {
	cat >"$1" <<'EOF'
# Policy of tests/e2e/test_inspect.sh: application rules only.
region: eastus
rule_collection_groups:
  - name: e2e-inspect
    priority: 100
    rule_collections:
      - name: aksfwar
        kind: application
        priority: 100
        action: allow
        rules:
          - name: fqdn
            source_addresses: ["*"]
            protocols: ["http:80", "https:443"]
            fqdn_tags: [AzureKubernetesService]
      - name: test-names
        kind: application
        priority: 200
        action: allow
        rules:
          - name: names
            source_addresses: [198.18.0.0/15]
            protocols: ["http:80", "https:443"]
            target_fqdns: [allowed.example, "*.wild.example"]
EOF
}

for t in openssl gnutls-cli chromium; do
	command -v "$t" >/dev/null 2>&1 || {
		e2e_log "e2e: missing tool '$t' (run tools/install-deps.sh)"
		exit 1
	}
done

e2e_init
e2e_topology_up
nat_init

# One self-signed certificate naming every host of the test: the clients
# trust it as their CA (Chromium is told to ignore certificate errors; its
# hello is what is tested here).
CERT=$E2E_TMP/cert.pem
KEY=$E2E_TMP/key.pem
san=$(printf 'DNS:%s,' "${ALLOWED[@]}" "${DENIED[@]}")
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=allowed.example" \
	-addext "subjectAltName=${san%,}" -keyout "$KEY" -out "$CERT" >/dev/null 2>&1 ||
	e2e_die "openssl: cannot make the test certificate"

SERVER_LOG=$E2E_TMP/server.jsonl
: >"$SERVER_LOG"
e2e_bg "$E2E_INET" "$E2E_TMP/tls_server.out" python3 "$E2E_LIB_DIR/tls_server.py" \
	--listen "$SERVER:443" --plain "$SERVER:80" --cert "$CERT" --key "$KEY" --log "$SERVER_LOG"
e2e_wait_listen "$E2E_INET" 443 10 || e2e_die "tls_server.py did not start"
E2E_EXTRA_CONFIG=$'inspection:\n  timeout_s: 5\n  flows_per_worker: 256'
e2e_router_start

# Connections the server logged since line $1: "sni-or-host raw_bytes" each.
server_since() {
	sleep 0.5
	tail -n +"$(($1 + 1))" "$SERVER_LOG" | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    print(r.get("sni") or r.get("host") or "-", r["raw_bytes"], r["status"])'
}

# Run one client; OK when it worked (status 0 and output matches $5) for an
# allowed name, or failed for a refused one with the server getting no byte.
# check STEP allow|deny NAME CMD...
check() {
	local step=$1 want=$2 name=$3
	shift 3
	local before out st=0 conns bytes ok=1 seen
	before=$(wc -l <"$SERVER_LOG")
	out=$(timeout 30 ip netns exec "$E2E_CL" "$@" 2>&1) || st=$?
	conns=$(server_since "$before")
	bytes=$(awk '{ s += $2 } END { print s + 0 }' <<<"$conns")
	seen=$(tr '\n' ';' <<<"${conns:-no connection}")
	if [[ $want == allow ]]; then
		grep -q "hello from $name" <<<"$out" && grep -q "^$name [1-9]" <<<"$conns" && ok=0
		e2e_expect "$step" "reaches $name" "status $st, server saw: $seen" $ok
	else
		# Chromium exits 0 with its error page: what counts is that no
		# answer came and the server got nothing.
		((bytes == 0)) && ! grep -q "hello from" <<<"$out" && ok=0
		e2e_expect "$step" "refused, server received 0 bytes" \
			"status $st, server received $bytes bytes ($seen)" $ok
	fi
	[[ ${E2E_VERBOSE:-} ]] && sed 's/^/    | /' <<<"$out" >&2
	return 0
}

curl_get() { # NAME
	check "curl https://$1" "$2" "$1" curl -sS --noproxy '*' --max-time 15 --cacert "$CERT" \
		--resolve "$1:443:$SERVER" "https://$1/"
}
for n in "${ALLOWED[@]}"; do curl_get "$n" allow; done
for n in "${DENIED[@]}"; do curl_get "$n" deny; done

# openssl s_client: the request is written after the handshake.
ossl() {
	check "openssl s_client $1" "$2" "$1" bash -c \
		"printf 'GET / HTTP/1.1\r\nHost: $1\r\nConnection: close\r\n\r\n' |
		 openssl s_client -quiet -connect $SERVER:443 -servername $1 -CAfile $CERT \
		 -verify_return_error 2>&1"
}
ossl allowed.example allow
ossl denied.example deny
# No SNI at all: refused (SNI missing), no network rule allows it.
check "openssl s_client without SNI" deny "-" bash -c \
	"printf 'GET / HTTP/1.1\r\n\r\n' | openssl s_client -quiet -noservername \
	 -connect $SERVER:443 -CAfile $CERT 2>&1"

gnutls() {
	check "gnutls-cli $1" "$2" "$1" bash -c \
		"printf 'GET / HTTP/1.1\r\nHost: $1\r\nConnection: close\r\n\r\n' |
		 gnutls-cli --x509cafile=$CERT --sni-hostname=$1 --verify-hostname=$1 \
		 --port 443 $SERVER 2>&1"
}
gnutls mcr.microsoft.com allow
gnutls www.example.com deny

pyssl() {
	check "python3 ssl $1" "$2" "$1" python3 -c "
import socket, ssl, sys
ctx = ssl.create_default_context(cafile='$CERT')
with socket.create_connection(('$SERVER', 443), timeout=10) as s:
    with ctx.wrap_socket(s, server_hostname='$1') as t:
        t.sendall(b'GET / HTTP/1.1\r\nHost: $1\r\nConnection: close\r\n\r\n')
        data = b''
        while True:
            c = t.recv(4096)
            if not c:
                break
            data += c
        sys.stdout.write(data.decode())
"
}
pyssl management.azure.com allow
pyssl denied.example deny

# Headless Chromium, in the cluster namespace; names mapped to the server.
chromium_get() {
	local dir
	dir=$(mktemp -d "$E2E_TMP/chromium.XXXXXX")
	check "chromium $1" "$2" "$1" chromium --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --ignore-certificate-errors \
		--user-data-dir="$dir" --host-resolver-rules="MAP $1 $SERVER" \
		--virtual-time-budget=5000 --dump-dom "https://$1/"
}
# The capture in the internet namespace shows Chromium's hello as the
# server got it (after the release): its first TLS record must be longer
# than the first segment, i.e. the hello spanned several.
PCAP=$E2E_TMP/chromium.pcap
e2e_bg "$E2E_INET" "$E2E_TMP/tcpdump.out" tcpdump -i eth0 -nn -U -s 0 -w "$PCAP" \
	"tcp dst port 443 and src net 192.0.2.0/24"
tcpdump_pid=$E2E_LAST_PID
sleep 1
chromium_get allowed.example allow
e2e_stop_pid "$tcpdump_pid" INT 5
split=$(python3 - "$PCAP" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
off, first = 24, {}
while off + 16 <= len(data):
    incl = struct.unpack("<I", data[off + 8:off + 12])[0]
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    ip = pkt[14:]
    ihl = (ip[0] & 15) * 4
    tcp = ip[ihl:]
    sport = struct.unpack(">H", tcp[0:2])[0]
    pay = tcp[(tcp[12] >> 4) * 4:struct.unpack(">H", ip[2:4])[0] - ihl]
    if pay and sport not in first:
        first[sport] = pay
for p in first.values():
    if p[0] == 22:
        need = 5 + struct.unpack(">H", p[3:5])[0]
        print("hello %d bytes, first segment %d" % (need, len(p)))
        break
PY
)
[[ "$split" =~ hello\ ([0-9]+)\ bytes,\ first\ segment\ ([0-9]+) ]] &&
	((BASH_REMATCH[1] > 1500 && BASH_REMATCH[1] > BASH_REMATCH[2]))
e2e_expect "chromium's hello spans segments" "> 1500 bytes, more than one segment" \
	"${split:-no hello captured}" $?
chromium_get denied.example deny

# Plain HTTP: the Host decides; a refused one gets the 403 page.
check "curl http://allowed.example" allow allowed.example curl -sS --noproxy '*' --max-time 15 \
	--resolve "allowed.example:80:$SERVER" http://allowed.example/
before=$(wc -l <"$SERVER_LOG")
out=$(ip netns exec "$E2E_CL" curl -sS --noproxy '*' --max-time 15 -w '\n%{http_code}' \
	--resolve "denied.example:80:$SERVER" http://denied.example/ 2>&1)
conns=$(server_since "$before")
bytes=$(awk '{ s += $2 } END { print s + 0 }' <<<"$conns")
code=${out##*$'\n'}
ok=1
[[ "$code" == 403 && "$out" == *"denied.example"* && $bytes == 0 ]] && ok=0
e2e_expect "curl http://denied.example" "403 naming the host, server received 0 bytes" \
	"HTTP $code, server received $bytes bytes" $ok

# A client that connects and never says anything is refused after the
# inspection timeout (5 s here).
check "silent client (timeout)" deny "-" bash -c \
	"exec 3<>/dev/tcp/$SERVER/443 && sleep 8 && printf x >&3 && cat <&3"

e2e_router_stop
e2e_expect_counter_ge "inspect.started" inspect.started 15
e2e_expect_counter_ge "inspect.allowed" inspect.allowed 9
e2e_expect_counter_ge "inspect.denied.policy" inspect.denied.policy 6
e2e_expect_counter_ge "inspect.denied.sni-missing" inspect.denied.sni-missing 1
e2e_expect_counter_ge "inspect.timeout" inspect.timeout 1
e2e_expect_counter_ge "inspect.http-403-sent" inspect.http-403-sent 1
e2e_expect_counter_ge "inspect.held" inspect.held 16
if ((E2E_FAILS > 0)); then
	e2e_show_router_log
fi
e2e_print_counters
e2e_report "inspection"
