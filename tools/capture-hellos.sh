#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Make the fixture captures in tests/data/captures: real ClientHellos and
# HTTP request heads from real clients, captured with tcpdump in network
# namespaces this script creates (client 198.18.0.2, server 203.0.113.10
# on one veth pair) against openssl s_server (a self-signed EC certificate
# made at run time) and a Python HTTP server.
#
#   chromium-sni-seg1.pcap  Chromium's ~1.9 KB hello (ML-KEM key share):
#   chromium-sni-seg2.pcap    two TCP segments, SNI in the first / second
#                             (Chromium shuffles extensions: the script
#                             runs it until it has one of each)
#   chromium-denied.pcap    Chromium to a name the example policy refuses
#   curl-sll2.pcap          curl, tcpdump -i any (Linux cooked v2)
#   openssl-sll.pcap        openssl s_client, -y LINUX_SLL
#   gnutls-raw.pcap         gnutls-cli, converted to raw IP (link type 101)
#   python-vlan.pcap        Python ssl, an 802.1Q tag inserted
#   openssl-nosni.pcap      openssl s_client -noservername (Ethernet)
#   curl-http.pcap          plain HTTP: Host, Host with case/port/dot,
#                           absolute-form through a proxy, an unlisted Host
#
# usage: sudo tools/capture-hellos.sh [OUTDIR]   (default tests/data/captures)
# Needs: iproute2, tcpdump, openssl, curl, gnutls-cli, chromium, python3.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$(realpath -m "${1:-$ROOT/tests/data/captures}")
CLI=tgcap-c$$
SRV=tgcap-s$$
TMP=$(mktemp -d)
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$CLI" 2>/dev/null || true
	ip netns del "$SRV" 2>/dev/null || true
	rm -rf "/etc/netns/$CLI" "$TMP"
}
trap cleanup EXIT INT TERM

mkdir -p "$OUT"
ip netns add "$CLI"
ip netns add "$SRV"
ip link add tgcap-c type veth peer name tgcap-s
ip link set tgcap-c netns "$CLI"
ip link set tgcap-s netns "$SRV"
ip -n "$CLI" addr add 198.18.0.2/24 dev tgcap-c
ip -n "$SRV" addr add 203.0.113.10/24 dev tgcap-s
for ns in "$CLI" "$SRV"; do
	ip -n "$ns" link set lo up
done
ip -n "$CLI" link set tgcap-c up
ip -n "$SRV" link set tgcap-s up
ip -n "$CLI" route add 203.0.113.0/24 dev tgcap-c
# No segmentation offload: the capture must show the segments the wire
# carries (with TSO, tcpdump sees Chromium's hello as one 2 KB segment).
ip netns exec "$CLI" ethtool -K tgcap-c tso off gso off >/dev/null
ip -n "$SRV" route add 198.18.0.0/24 dev tgcap-s

# ip netns exec bind-mounts /etc/netns/NS/hosts over /etc/hosts: the
# clients that cannot be told an address (gnutls-cli, python) resolve the
# test names to the server this way.
mkdir -p "/etc/netns/$CLI"
{
	echo "127.0.0.1 localhost"
	for n in mcr.microsoft.com management.azure.com \
		login.microsoftonline.com packages.microsoft.com \
		www.example.com; do
		echo "203.0.113.10 $n"
	done
} >"/etc/netns/$CLI/hosts"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-subj /CN=test -days 2 -keyout "$TMP/key.pem" -out "$TMP/cert.pem" \
	2>/dev/null
ip netns exec "$SRV" openssl s_server -quiet -accept 443 -www \
	-cert "$TMP/cert.pem" -key "$TMP/key.pem" >/dev/null 2>&1 &
PIDS+=($!)
mkdir -p "$TMP/www"
echo hello >"$TMP/www/index.html"
ip netns exec "$SRV" python3 -m http.server 80 --bind 203.0.113.10 \
	--directory "$TMP/www" >/dev/null 2>&1 &
PIDS+=($!)
sleep 1

cx() { timeout 30 ip netns exec "$CLI" "$@"; }

# capture FILE TCPDUMP_ARGS... -- CLIENT_CMD...: capture while the client
# runs, then stop tcpdump cleanly so the file is complete. Tried again
# (3 times at most) when nothing was captured: on a busy machine tcpdump
# has been seen to miss a client that finished quickly.
capture() {
	local try
	for try in 1 2 3; do
		capture_once "$@"
		[[ $(tcpdump -r "$1" 2>/dev/null | wc -l) -gt 0 ]] && return 0
		echo "  $(basename "$1"): nothing captured, again" >&2
	done
	echo "$(basename "$1"): nothing captured" >&2
	return 1
}

capture_once() {
	local file=$1
	shift
	local targs=()
	while [[ $1 != -- ]]; do targs+=("$1"); shift; done
	shift
	ip netns exec "$CLI" tcpdump -U -s 0 "${targs[@]}" -w "$file" \
		'tcp and host 203.0.113.10' 2>"$TMP/tcpdump.log" &
	local tp=$!
	PIDS+=("$tp")
	# tcpdump says "listening on" once its capture is open
	for _ in $(seq 1 100); do
		grep -q listening "$TMP/tcpdump.log" && break
		sleep 0.1
	done
	sleep 0.2
	"$@" >"$TMP/client.log" 2>&1 </dev/null || echo "  (client exited $?: $(tail -c 300 "$TMP/client.log"))"
	sleep 0.5
	kill -INT "$tp"
	wait "$tp" || true
}

chromium_run() { # NAME URL
	local ud
	ud=$(mktemp -d "$TMP/chr.XXXXXX")
	cx chromium --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --user-data-dir="$ud" \
		--host-resolver-rules="MAP * 203.0.113.10" --dump-dom "$2"
}

# Keep only the first TCP flow whose hello names NAME (Chromium makes
# background connections too, e.g. update.googleapis.com), and say where
# its SNI lies: "seg1", "seg2", or "one" (the hello in one segment).
first_flow() { # IN OUT NAME
	local port
	port=$(python3 - "$1" "$3" <<'EOF'
import struct, sys
d = open(sys.argv[1], 'rb').read(); name = sys.argv[2].encode()
off, data, order = 24, {}, []
while off + 16 <= len(d):
    incl = struct.unpack('<I', d[off+8:off+12])[0]
    ip = d[off+16+14:off+16+incl]; off += 16 + incl
    if ip[12:16] != bytes([198, 18, 0, 2]): continue
    ihl = (ip[0] & 15) * 4; tot = struct.unpack('>H', ip[2:4])[0]
    th = ip[ihl:tot]; sp = struct.unpack('>H', th[0:2])[0]
    if sp not in data: data[sp] = b''; order.append(sp)
    data[sp] += th[(th[12] >> 4) * 4:]
print(next((p for p in order if name in data[p][:4096]), 0))
EOF
)
	tcpdump -r "$1" -w "$2" "tcp port $port and tcp port 443" 2>/dev/null
}
sni_segment() {
	python3 - "$1" <<'EOF'
import struct, sys
d = open(sys.argv[1], 'rb').read()
off, segs = 24, []
while off + 16 <= len(d) and len(segs) < 2:
    incl = struct.unpack('<I', d[off+8:off+12])[0]
    ip = d[off+16+14:off+16+incl]; off += 16 + incl
    if ip[12:16] != bytes([198, 18, 0, 2]): continue
    ihl = (ip[0] & 15) * 4; tot = struct.unpack('>H', ip[2:4])[0]
    th = ip[ihl:tot]; pl = th[(th[12] >> 4) * 4:]
    if pl: segs.append(pl)
hello = b''.join(segs)
hl = 5 + struct.unpack('>H', hello[3:5])[0]
if len(segs[0]) >= hl:
    print('one'); sys.exit()
# walk the extensions (one record, as Chromium sends it)
p = 5 + 4 + 2 + 32; p += 1 + hello[p]
p += 2 + struct.unpack('>H', hello[p:p+2])[0]; p += 1 + hello[p]; p += 2
while True:
    t, l = struct.unpack('>HH', hello[p:p+4])
    if t == 0: break
    p += 4 + l
print('seg1' if p + 4 + l <= len(segs[0]) else 'seg2')
EOF
}

echo "Chromium: until the SNI has been in each segment"
have1= have2=
for i in $(seq 1 12); do
	f=$TMP/chr$i.pcap
	capture "$TMP/all.pcap" -i tgcap-c -- chromium_run c https://mcr.microsoft.com/
	first_flow "$TMP/all.pcap" "$f" mcr.microsoft.com
	where=$(sni_segment "$f")
	echo "  run $i: SNI in $where"
	if [[ $where == seg1 && -z $have1 ]]; then cp "$f" "$OUT/chromium-sni-seg1.pcap"; have1=1; fi
	if [[ $where == seg2 && -z $have2 ]]; then cp "$f" "$OUT/chromium-sni-seg2.pcap"; have2=1; fi
	[[ -n $have1 && -n $have2 ]] && break
done
[[ -n $have1 && -n $have2 ]] || { echo "Chromium never put the SNI in both segments" >&2; exit 1; }

capture "$TMP/all.pcap" -i tgcap-c -- chromium_run d https://www.example.com/
first_flow "$TMP/all.pcap" "$OUT/chromium-denied.pcap" www.example.com
capture "$OUT/curl-sll2.pcap" -i any -- cx curl -sk \
	--resolve mcr.microsoft.com:443:203.0.113.10 https://mcr.microsoft.com/
capture "$OUT/openssl-sll.pcap" -i any -y LINUX_SLL -- cx openssl s_client \
	-connect 203.0.113.10:443 -servername management.azure.com
capture "$TMP/gnutls.pcap" -i tgcap-c -- cx gnutls-cli --insecure \
	-p 443 login.microsoftonline.com
capture "$TMP/python.pcap" -i tgcap-c -- cx python3 -c '
import socket, ssl
c = ssl.create_default_context(); c.check_hostname = False
c.verify_mode = ssl.CERT_NONE
s = c.wrap_socket(socket.create_connection(("packages.microsoft.com", 443)),
                  server_hostname="packages.microsoft.com")
s.close()'
capture "$OUT/openssl-nosni.pcap" -i tgcap-c -- cx openssl s_client \
	-connect 203.0.113.10:443 -noservername
http_clients() {
	cx curl -s --resolve mcr.microsoft.com:80:203.0.113.10 http://mcr.microsoft.com/
	cx curl -s -H 'Host: MCR.Microsoft.COM.:80' http://203.0.113.10/
	cx curl -s --proxy http://203.0.113.10:80 http://packages.microsoft.com/
	cx curl -s -H 'Host: www.example.com' http://203.0.113.10/
}
capture "$OUT/curl-http.pcap" -i tgcap-c -- http_clients

# Raw IP (LINKTYPE_RAW) and 802.1Q versions of two Ethernet captures.
python3 - "$TMP/gnutls.pcap" "$OUT/gnutls-raw.pcap" "$TMP/python.pcap" \
	"$OUT/python-vlan.pcap" <<'EOF'
import struct, sys
def convert(src, dst, fn, linktype):
    d = open(src, 'rb').read()
    hdr = bytearray(d[:24]); struct.pack_into('<I', hdr, 20, linktype)
    out, off = [bytes(hdr)], 24
    while off + 16 <= len(d):
        ts, tu, incl, orig = struct.unpack('<IIII', d[off:off+16])
        p = fn(d[off+16:off+16+incl]); off += 16 + incl
        out.append(struct.pack('<IIII', ts, tu, len(p), orig - incl + len(p)) + p)
    open(dst, 'wb').write(b''.join(out))
convert(sys.argv[1], sys.argv[2], lambda p: p[14:], 101)
# VLAN 42, priority 0, inserted after the MAC addresses
convert(sys.argv[3], sys.argv[4],
        lambda p: p[:12] + b'\x81\x00\x00\x2a' + p[12:], 1)
EOF
ls -l "$OUT"
