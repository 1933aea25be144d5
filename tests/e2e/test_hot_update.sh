#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end: policy updates under load (issue 6). Through Tollgate, a steady
# UDP stream (sequence-numbered datagrams, HOT_PPS per second) and a long TCP
# download (curl, rate-limited) run while `tollctl apply` publishes two
# policies that both allow them, alternately, HOT_APPLIES times. Then:
#   * every UDP sequence number arrived (zero loss) and curl completed with
#     the right sha256 (zero resets);
#   * a policy whose rule denies the TCP flow stops it at its next packet:
#     curl stalls and gives up, drop.policy-revoked > 0, and the decision log
#     has the revocation of that flow;
#   * the apply timings (median, spread) are printed for bench/update.sh.
#
#   TOLLGATE=build/control/tollgate TOLLCTL=build/tools/tollctl/tollctl \
#     bash tests/e2e/test_hot_update.sh
#
# Exit: 0 all steps passed, 1 a step failed, 77 cannot run here (not root).
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${TOLLGATE:=$E2E_REPO/build/control/tollgate}"
: "${TOLLCTL:=$E2E_REPO/build/tools/tollctl/tollctl}"
: "${HOT_APPLIES:=100}"
: "${HOT_PPS:=2000}"
UDP_PORT=5001

e2e_init
e2e_topology_up
# curl --limit-rate reads slowly, and the kernel would otherwise buffer up to
# tcp_rmem's maximum (MBs) ahead of it: what the client writes after the
# deny would then be data that crossed Tollgate before it. A small receive
# buffer keeps "bytes after the apply" a measure of Tollgate.
e2e_in "$E2E_CL" sysctl -qw net.ipv4.tcp_rmem="4096 65536 131072" >/dev/null

SOCK="$E2E_TMP/tollgate.sock"
DLOG="$E2E_TMP/decisions.jsonl"
E2E_EXTRA_CONFIG="control:
  socket: $SOCK
logs:
  decisions: $DLOG"

# Policy A (the start) and B: both allow the UDP stream and the download,
# by different rules, so that every apply changes something.
policy() { # FILE TCP-ACTION RULE-SUFFIX
	cat >"$1" <<YAML
rule_collection_groups:
  - name: hot
    priority: 100
    rule_collections:
      - name: tcp-$3
        kind: network
        priority: 100
        action: $2
        rules:
          - name: download-$3
            protocols: [TCP]
            source_addresses: ["198.18.0.0/15"]
            destination_addresses: ["$E2E_INET_ADDR"]
            destination_ports: ["$E2E_HTTP_PORT"]
      - name: udp-$3
        kind: network
        priority: 200
        action: allow
        rules:
          - name: stream-$3
            protocols: [UDP]
            source_addresses: ["198.18.0.0/15"]
            destination_addresses: ["*"]
            destination_ports: ["$UDP_PORT"]
YAML
}
e2e_write_policy() { policy "$1" allow a; }
policy "$E2E_TMP/a.yaml" allow a
policy "$E2E_TMP/b.yaml" allow b
policy "$E2E_TMP/deny.yaml" deny x

mkdir -p "$E2E_TMP/www"
BLOB_MIB=8
sum=$(e2e_make_blob "$E2E_TMP/www/blob.bin" $BLOB_MIB)
e2e_http_start "$E2E_INET" "$E2E_INET_ADDR" "$E2E_TMP/www"
e2e_router_start

# UDP receiver in inet: counts distinct sequence numbers until told to stop.
cat >"$E2E_TMP/udp_rx.py" <<'PY'
import socket, struct, sys, signal
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((sys.argv[1], int(sys.argv[2])))
seen = set()
def done(*_):
    top = max(seen) if seen else -1
    with open(sys.argv[3], "w") as f:
        f.write("%d %d\n" % (len(seen), top + 1))
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
while True:
    data = s.recv(64)
    (seq,) = struct.unpack("!Q", data[:8])
    if seq == 2**64 - 1:
        done()
    seen.add(seq)
PY
# UDP sender in cl: PPS datagrams per second until the flag file goes.
cat >"$E2E_TMP/udp_tx.py" <<'PY'
import os, socket, struct, sys, time
dst, port, pps, flag, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
seq, t0 = 0, time.monotonic()
while os.path.exists(flag):
    s.sendto(struct.pack("!Q", seq) + b"x" * 56, (dst, port))
    seq += 1
    delay = t0 + seq / pps - time.monotonic()
    if delay > 0:
        time.sleep(delay)
with open(out, "w") as f:
    f.write("%d\n" % seq)
PY
e2e_bg "$E2E_INET" "$E2E_TMP/udp_rx.log" python3 "$E2E_TMP/udp_rx.py" "$E2E_INET_ADDR" $UDP_PORT "$E2E_TMP/udp_rx.out"
RX_PID=$E2E_LAST_PID
sleep 0.5
touch "$E2E_TMP/sending"
e2e_bg "$E2E_CL" "$E2E_TMP/udp_tx.log" python3 "$E2E_TMP/udp_tx.py" "$E2E_INET_ADDR" $UDP_PORT $HOT_PPS "$E2E_TMP/sending" "$E2E_TMP/udp_tx.out"
TX_PID=$E2E_LAST_PID

# The download: 8 MiB at 512 KiB/s, about 16 s, longer than the applies.
ip netns exec "$E2E_CL" curl -sS --noproxy '*' --limit-rate 512k --max-time 120 \
	-o "$E2E_TMP/got.bin" "http://$E2E_INET_ADDR:$E2E_HTTP_PORT/blob.bin" 2>"$E2E_TMP/curl1.err" &
CURL_PID=$!
E2E_PIDS+=("$CURL_PID")
sleep 1

fails=0
: >"$E2E_TMP/apply.json"
for ((i = 0; i < HOT_APPLIES; i++)); do
	f=$E2E_TMP/b.yaml
	((i % 2)) && f=$E2E_TMP/a.yaml
	ip netns exec "$E2E_FW" "$TOLLCTL" apply --socket "$SOCK" --json "$f" >>"$E2E_TMP/apply.json" 2>>"$E2E_TMP/apply.err" ||
		fails=$((fails + 1))
done
e2e_expect_eq "$HOT_APPLIES applies alternating two policies" 0 "$fails"
stats=$(python3 - "$E2E_TMP/apply.json" <<'PY'
import json, statistics, sys
a = [json.loads(l)["active_ms"] for l in open(sys.argv[1])]
g = [json.loads(l)["generation"] for l in open(sys.argv[1])]
a.sort()
print("median %.3f ms, p10 %.3f, p90 %.3f, max %.3f (n=%d, last generation %d)" % (
    statistics.median(a), a[len(a) // 10], a[len(a) * 9 // 10], a[-1], len(a), g[-1]))
PY
)
echo "apply until active on every worker: $stats"

wait "$CURL_PID"; cst=$?
got=$(sha256sum "$E2E_TMP/got.bin" 2>/dev/null | cut -d' ' -f1)
[[ $cst == 0 && "$got" == "$sum" ]]; r=$?
e2e_expect "TCP download across the applies: complete, right sha256" "curl 0, sha256 ${sum:0:12}" "curl $cst, sha256 ${got:0:12} $(cat "$E2E_TMP/curl1.err")" $r

rm -f "$E2E_TMP/sending"
for ((k = 0; k < 50; k++)); do [[ -s "$E2E_TMP/udp_tx.out" ]] && break; sleep 0.1; done
sleep 0.5
ip netns exec "$E2E_CL" python3 -c 'import socket,struct,sys; socket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(struct.pack("!Q",2**64-1),(sys.argv[1],int(sys.argv[2])))' "$E2E_INET_ADDR" $UDP_PORT
for ((k = 0; k < 50; k++)); do [[ -s "$E2E_TMP/udp_rx.out" ]] && break; sleep 0.1; done
sent=$(cat "$E2E_TMP/udp_tx.out" 2>/dev/null)
read -r distinct top <"$E2E_TMP/udp_rx.out" 2>/dev/null
e2e_expect_eq "UDP stream: every sequence number received (sent $sent)" "${sent:-?}" "${distinct:-none}"
e2e_expect_ge "UDP stream ran through the applies" $((HOT_PPS * 3)) "${sent:-0}" "datagrams"

# Now deny the download: it stops at its next packet.
ip netns exec "$E2E_CL" curl -sS --noproxy '*' --limit-rate 256k --speed-limit 1000 --speed-time 3 \
	--max-time 60 -o "$E2E_TMP/got2.bin" "http://$E2E_INET_ADDR:$E2E_HTTP_PORT/blob.bin" 2>"$E2E_TMP/curl2.err" &
CURL_PID=$!
E2E_PIDS+=("$CURL_PID")
sleep 2
out=$(ip netns exec "$E2E_FW" "$TOLLCTL" apply --socket "$SOCK" "$E2E_TMP/deny.yaml" 2>&1); st=$?
e2e_expect_eq "apply of the policy that denies the download" 0 "$st"
size_at_deny=$(stat -c %s "$E2E_TMP/got2.bin" 2>/dev/null || echo 0)
t0=$(date +%s)
wait "$CURL_PID"; cst=$?
t1=$(date +%s)
size_end=$(stat -c %s "$E2E_TMP/got2.bin" 2>/dev/null || echo 0)
((cst != 0 && size_end < BLOB_MIB * 1024 * 1024 && size_end - size_at_deny < 256 * 1024)); r=$?
e2e_expect "denied download stops (curl gives up, little after the apply)" "curl fails, < 256 KiB more" \
	"curl $cst after $((t1 - t0)) s, $((size_end - size_at_deny)) bytes after the apply" $r

e2e_router_stop
e2e_expect_ge "drop.policy-revoked counted" 1 "$(e2e_counter drop.policy-revoked)"
e2e_expect_ge "policy.applied counted" $((HOT_APPLIES + 1)) "$(e2e_counter policy.applied)"
python3 - "$DLOG" "$E2E_INET_ADDR" "$E2E_HTTP_PORT" <<'PY' >"$E2E_TMP/dlog.check" 2>&1
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
rev = [r for r in recs if r["ActionReason"] == "revoked" and r["DestinationIp"] == sys.argv[2]
       and r["DestinationPort"] == int(sys.argv[3])]
assert rev, "no revocation record for the download"
r = rev[0]
assert r["Action"] == "Deny" and r["Protocol"] == "TCP", r
# The rule that now denies it
assert r.get("Rule") == "download-x" and r.get("RuleCollection") == "tcp-x", r
print("revoked: %s:%d -> %s:%d %s" % (r["SourceIp"], r["SourcePort"], r["DestinationIp"],
                                     r["DestinationPort"], r.get("Rule", "(rule not reported)")))
PY
r=$?
obs=$(tail -1 "$E2E_TMP/dlog.check")
e2e_expect "decision log: the revocation of the download" "Deny, reason revoked, rule download-x" "$obs" $r
e2e_expect_eq "tollgate exit status" 0 "$E2E_ROUTER_STATUS"
echo "apply timings: $stats"

if ! e2e_report "e2e-hot-update"; then
	e2e_show_router_log
	exit 1
fi
exit 0
