#!/bin/sh
# End-to-end tests of `tollctl explain`: the exact JSON lines for real
# captured clients (tests/data/captures, made by tools/capture-hellos.sh)
# under the example AKS egress policy, for synthetic captures that
# exercise reassembly (out of order, retransmitted, data in the SYN, no
# SYN seen), the link types, and the error cases and exit codes.
# usage: tollctl_explain_test.sh TOLLCTL SOURCE_ROOT
set -u
T=$1
ROOT=$2
EX=$ROOT/rules/examples/aks-egress.yaml
CAP=$ROOT/tests/data/captures
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
fails=0
passes=0

# lines NAME WANT_RC FILE_WITH_WANTED_STDOUT -- CMD...
lines() {
	name=$1 want=$2 exp=$3
	shift 4
	"$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ "$rc" != "$want" ] || ! cmp -s "$exp" "$TMP/out"; then
		echo "FAIL $name: rc=$rc (want $want)"
		diff -u "$exp" "$TMP/out" | sed 's/^/  | /'
		sed 's/^/  stderr| /' "$TMP/err"
		fails=$((fails + 1))
	else
		echo "ok   $name"
		passes=$((passes + 1))
	fi
}

# check NAME WANT_RC PATTERN -- CMD...   (fixed string, stdout+stderr)
check() {
	name=$1 want=$2 pat=$3
	shift 4
	"$@" >"$TMP/out" 2>&1
	rc=$?
	if [ "$rc" != "$want" ] || ! grep -qF -- "$pat" "$TMP/out"; then
		echo "FAIL $name: rc=$rc (want $want), output:"
		sed 's/^/  | /' "$TMP/out"
		echo "  wanted: $pat"
		fails=$((fails + 1))
	else
		echo "ok   $name"
		passes=$((passes + 1))
	fi
}

A='"group": "aks", "collection": "aksfwar", "rule": "fqdn", "reason": "rule matched"}'
N='"group": null, "collection": null, "rule": null'
flowline() { # FILE: the flow of the capture's first SYN
	"$T" explain --pcap "$1" --policy "$EX" 2>/dev/null | head -1 |
		sed 's/.*"flow": "\([^"]*\)".*/\1/'
}

# ---- real clients --------------------------------------------------
expect_one() { # NAME FILE JSON_TAIL
	f=$(flowline "$CAP/$2")
	printf '{"flow": "%s", %s\n' "$f" "$3" >"$TMP/want"
	lines "$1" 0 "$TMP/want" -- "$T" explain --pcap "$CAP/$2" --policy "$EX"
}
expect_one chromium-sni-seg1 chromium-sni-seg1.pcap \
	"\"app\": \"tls\", \"name\": \"mcr.microsoft.com\", \"action\": \"allow\", $A"
expect_one chromium-sni-seg2 chromium-sni-seg2.pcap \
	"\"app\": \"tls\", \"name\": \"mcr.microsoft.com\", \"action\": \"allow\", $A"
expect_one chromium-denied chromium-denied.pcap \
	"\"app\": \"tls\", \"name\": \"www.example.com\", \"action\": \"deny\", $N, \"reason\": \"no application rule matched the FQDN\"}"
expect_one curl-sll2 curl-sll2.pcap \
	"\"app\": \"tls\", \"name\": \"mcr.microsoft.com\", \"action\": \"allow\", $A"
expect_one openssl-sll openssl-sll.pcap \
	"\"app\": \"tls\", \"name\": \"management.azure.com\", \"action\": \"allow\", $A"
expect_one gnutls-raw gnutls-raw.pcap \
	"\"app\": \"tls\", \"name\": \"login.microsoftonline.com\", \"action\": \"allow\", $A"
expect_one python-vlan python-vlan.pcap \
	"\"app\": \"tls\", \"name\": \"packages.microsoft.com\", \"action\": \"allow\", $A"
expect_one openssl-nosni openssl-nosni.pcap \
	"\"app\": \"tls\", \"name\": null, \"action\": \"deny\", $N, \"reason\": \"SNI missing\"}"

# HTTP: Host, Host with case/port/trailing dot, absolute-form (proxy),
# an unlisted Host; four flows in order.
"$T" explain --pcap "$CAP/curl-http.pcap" --policy "$EX" 2>/dev/null |
	sed 's/.*"flow": "\([^"]*\)".*/\1/' >"$TMP/flows"
{
	for n in mcr.microsoft.com mcr.microsoft.com packages.microsoft.com; do
		read -r f
		printf '{"flow": "%s", "app": "http", "name": "%s", "action": "allow", %s\n' "$f" "$n" "$A"
	done
	read -r f
	printf '{"flow": "%s", "app": "http", "name": "www.example.com", "action": "deny", %s, "reason": "no application rule matched the FQDN"}\n' "$f" "$N"
} <"$TMP/flows" >"$TMP/want"
lines curl-http 0 "$TMP/want" -- "$T" explain --pcap "$CAP/curl-http.pcap" --policy "$EX"

# ---- synthetic captures: reassembly, link types, escaping -----------
python3 - "$TMP" <<'EOF'
import struct, sys
out = sys.argv[1]
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('>%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def ip4(a): return bytes(int(x) for x in a.split('.'))
def tcp(src, sp, dst, dport, seq, flags, data=b''):
    th = struct.pack('>HHIIBBHHH', sp, dport, seq, 0, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(th) + len(data), 1, 0x4000,
                     64, 6, 0, ip4(src), ip4(dst))
    ip = ip[:10] + struct.pack('>H', csum(ip)) + ip[12:]
    return ip + th + data
def eth(p, proto=0x0800): return b'\x02' * 6 + b'\x04' * 6 + struct.pack('>H', proto) + p
def pcap(name, pkts, lt=1, big=False, nano=False):
    e = '>' if big else '<'
    magic = 0xa1b23c4d if nano else 0xa1b2c3d4
    b = struct.pack(e + 'IHHiIII', magic, 2, 4, 0, 0, 262144, lt)
    for i, p in enumerate(pkts):
        b += struct.pack(e + 'IIII', 1700000000, i, len(p), len(p)) + p
    open(out + '/' + name, 'wb').write(b)
S, D = 2, 0x18  # SYN; PSH|ACK
C, V = '198.18.1.5', '203.0.113.10'
req = b'GET / HTTP/1.1\r\nHost: mcr.microsoft.com\r\n\r\n'
bad = b'GET / HTTP/1.1\r\nHost: www.example.org\r\n\r\n'
pk = []
# 1: the request in the SYN (TCP Fast Open)
pk.append(tcp(C, 40001, V, 80, 1000, S, req))
# 2: out of order, and a retransmission carrying other bytes: the first
#    copy seen is what counts, as a worker holding segments keeps it
pk.append(tcp(C, 40002, V, 80, 5000, S))
pk.append(tcp(C, 40002, V, 80, 5001 + 20, D, req[20:]))
pk.append(tcp(C, 40002, V, 80, 5001, D, req[:20]))
pk.append(tcp(C, 40002, V, 80, 5001 + 20, D, bad[20:]))
# 3: a network rule (apitcp: AzureCloud.eastus, TCP 9000): no inspection
pk.append(tcp(C, 40003, V, 9000, 7000, S))
# 4: no SYN in the capture: the flow as seen
pk.append(tcp(C, 40004, V, 80, 9000, D, bad))
# 5: port 443 with no payload: the hello never came
pk.append(tcp(C, 40005, V, 443, 100, S))
# 6: SSH: no rule could allow it
pk.append(tcp(C, 40006, V, 22, 100, S))
# 7: not TLS nor HTTP on port 443
pk.append(tcp(C, 40007, V, 443, 100, S))
pk.append(tcp(C, 40007, V, 443, 101, D, b'SSH-2.0-OpenSSH_9.2\r\n'))
# skipped: IPv6, UDP, ARP
pk6 = [eth(b'\x60' + b'\0' * 39, 0x86dd), eth(b'\0' * 28, 0x0806)]
pcap('reasm.pcap', [eth(p) for p in pk] + pk6)
pcap('reasm-be-nano.pcap', [eth(p) for p in pk], big=True, nano=True)
pcap('reasm-raw4.pcap', pk, lt=228)
# 802.1ad + 802.1Q (QinQ)
pcap('reasm-qinq.pcap', [b'\x02' * 6 + b'\x04' * 6 + b'\x88\xa8\x00\x07\x81\x00\x00\x2a\x08\x00' + p for p in pk])
# SLL: 16-byte header, protocol last
pcap('reasm-sll.pcap', [struct.pack('>HHH8sH', 0, 1, 6, b'\x02' * 8, 0x0800) + p for p in pk], lt=113)
open(out + '/pcapng.pcap', 'wb').write(b'\x0a\x0d\x0d\x0a' + b'\0' * 40)
open(out + '/garbage.pcap', 'wb').write(b'this is not a capture at all, not even close\n')
d = open(out + '/reasm.pcap', 'rb').read()
open(out + '/cut.pcap', 'wb').write(d[:len(d) - 7])
EOF

cat >"$TMP/want" <<EOF
{"flow": "198.18.1.5:40001 -> 203.0.113.10:80", "app": "http", "name": "mcr.microsoft.com", "action": "allow", $A
{"flow": "198.18.1.5:40002 -> 203.0.113.10:80", "app": "http", "name": "mcr.microsoft.com", "action": "allow", $A
{"flow": "198.18.1.5:40003 -> 203.0.113.10:9000", "app": "none", "name": null, "action": "allow", "group": "aks", "collection": "aksfwnr", "rule": "apitcp", "reason": "rule matched"}
{"flow": "198.18.1.5:40004 -> 203.0.113.10:80", "app": "http", "name": "www.example.org", "action": "deny", $N, "reason": "no application rule matched the FQDN"}
{"flow": "198.18.1.5:40005 -> 203.0.113.10:443", "app": "none", "name": null, "action": "deny", $N, "reason": "hello or request head incomplete in the capture (the appliance refuses it at the inspection timeout)"}
{"flow": "198.18.1.5:40006 -> 203.0.113.10:22", "app": "none", "name": null, "action": "deny", $N, "reason": "no rule matched"}
{"flow": "198.18.1.5:40007 -> 203.0.113.10:443", "app": "other", "name": null, "action": "deny", $N, "reason": "neither TLS nor HTTP/1.x"}
EOF
for f in reasm reasm-be-nano reasm-raw4 reasm-qinq reasm-sll; do
	lines "synthetic-$f" 0 "$TMP/want" -- "$T" explain --pcap "$TMP/$f.pcap" --policy "$EX"
done
check skipped-summary 0 "13 packets, 7 TCP flows; skipped: 1 IPv6, 0 non-TCP, 1 non-IP" -- "$T" explain --pcap "$TMP/reasm.pcap" --policy "$EX"

# A bound smaller than the request head: refused as too large.
check bound 0 '"reason": "hello or request head larger than the inspection bound"' -- "$T" explain --pcap "$TMP/reasm.pcap" --policy "$EX" --bound 30

# ---- errors ------------------------------------------------------------
check help 0 "usage: tollctl explain" -- "$T" explain --help
check listed 0 "explain" -- "$T" --help
check no-pcap 2 "missing --pcap FILE" -- "$T" explain --policy "$EX"
check no-policy 2 "missing --policy FILE" -- "$T" explain --pcap "$CAP/curl-sll2.pcap"
check bad-bound 2 "bad --bound 'x': expected 1-1048576 bytes" -- "$T" explain --pcap "$CAP/curl-sll2.pcap" --policy "$EX" --bound x
check zero-bound 2 "bad --bound '0'" -- "$T" explain --pcap "$CAP/curl-sll2.pcap" --policy "$EX" --bound 0
check extra-arg 2 "unexpected argument 'more'" -- "$T" explain --pcap "$CAP/curl-sll2.pcap" --policy "$EX" more
check missing-file 1 "none.pcap: cannot open: No such file or directory" -- "$T" explain --pcap "$TMP/none.pcap" --policy "$EX"
check not-capture 1 "garbage.pcap: not a pcap capture (magic 0x74686973" -- "$T" explain --pcap "$TMP/garbage.pcap" --policy "$EX"
check pcapng 1 "pcapng is not supported: convert with editcap -F pcap" -- "$T" explain --pcap "$TMP/pcapng.pcap" --policy "$EX"
check truncated 1 "truncated: packet 13 at offset" -- "$T" explain --pcap "$TMP/cut.pcap" --policy "$EX"
check empty 1 "shorter than the 24-byte file header" -- "$T" explain --pcap /dev/null --policy "$EX"
printf 'rule_collection_groups: [\n' >"$TMP/bad.yaml"
check bad-policy 1 "bad.yaml:" -- "$T" explain --pcap "$CAP/curl-sll2.pcap" --policy "$TMP/bad.yaml"
check missing-policy 1 "cannot open" -- "$T" explain --pcap "$CAP/curl-sll2.pcap" --policy "$TMP/none.yaml"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
