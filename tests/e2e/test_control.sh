#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end: the control channel of a running Tollgate (control/rpc_server.c,
# rpc_cmds.c, metrics.c, dlog_writer.c) as an operator meets it:
#   * every tollctl command against the appliance, tables and --json;
#   * frame-level abuse of the socket (tests/control/test_rpc_server.py);
#   * access: a member of the read group may show but not apply (refused,
#     logged, counted); a user in neither group cannot connect (exit 3);
#   * apply of an invalid policy: errors printed, exit 1, generation unchanged;
#     apply of a good one: the new generation, the diff, hits kept;
#   * GET /metrics parses as the text exposition format and has the families;
#     /healthz ok, then degraded when SNAT utilisation passes
#     metrics.health_snat_percent (here 1 %: 900 UDP flows to one destination);
#   * the decision log names the rule of each flow.
#
#   TOLLGATE=build/control/tollgate TOLLCTL=build/tools/tollctl/tollctl \
#     bash tests/e2e/test_control.sh
#
# Exit: 0 all steps passed, 1 a step failed, 77 cannot run here (not root).
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${TOLLGATE:=$E2E_REPO/build/control/tollgate}"
: "${TOLLCTL:=$E2E_REPO/build/tools/tollctl/tollctl}"
RPC_PY="$E2E_REPO/tests/control/test_rpc_server.py"

e2e_init
for t in useradd userdel groupadd groupdel setpriv; do
	command -v "$t" >/dev/null 2>&1 || e2e_die "missing tool '$t'"
done

# Throwaway groups and users, removed on exit whatever happens.
TAG="tg$$"
ADM_GROUP="${TAG}adm"
RD_GROUP="${TAG}rd"
RD_USER="${TAG}r"
NO_USER="${TAG}n"
ctl_cleanup() {
	userdel "$RD_USER" 2>/dev/null
	userdel "$NO_USER" 2>/dev/null
	groupdel "$ADM_GROUP" 2>/dev/null
	groupdel "$RD_GROUP" 2>/dev/null
	return 0
}
trap 'rc=$?; ctl_cleanup; (exit $rc); e2e_cleanup' EXIT
groupadd -r "$ADM_GROUP" && groupadd -r "$RD_GROUP" &&
	useradd -r -M -N -g "$RD_GROUP" -s /usr/sbin/nologin "$RD_USER" &&
	useradd -r -M -N -g nogroup -s /usr/sbin/nologin "$NO_USER" ||
	e2e_die "cannot create the test users and groups"

e2e_topology_up
ip -n "$E2E_FW" link set lo up

SOCK="$E2E_TMP/run/sub/tollgate.sock"   # the directories do not exist yet
DLOG="$E2E_TMP/decisions.jsonl"
METRICS=127.0.0.1:9469
chmod 755 "$E2E_TMP"
E2E_EXTRA_CONFIG="control:
  socket: $SOCK
  admin_group: $ADM_GROUP
  read_group: $RD_GROUP
metrics:
  listen: $METRICS
  health_snat_percent: 1
logs:
  decisions: $DLOG"

# Two collections, so that rules have names worth checking.
e2e_write_policy() {
	cat >"$1" <<'YAML'
rule_collection_groups:
  - name: egress
    priority: 200
    rule_collections:
      - name: web
        kind: network
        priority: 100
        action: allow
        rules:
          - name: http-8080
            protocols: [TCP]
            source_addresses: ["198.18.0.0/15"]
            destination_addresses: ["*"]
            destination_ports: ["8080"]
          - name: udp-any
            protocols: [UDP, ICMP]
            source_addresses: ["*"]
            destination_addresses: ["*"]
            destination_ports: ["*"]
YAML
}

mkdir -p "$E2E_TMP/www"
sum=$(e2e_make_blob "$E2E_TMP/www/blob.bin" 1)
e2e_http_start "$E2E_INET" "$E2E_INET_ADDR" "$E2E_TMP/www"
e2e_router_start

tc() { ip netns exec "$E2E_FW" "$TOLLCTL" "$1" --socket "$SOCK" "${@:2}"; }
# tollctl as another user; the socket's directory must be traversable.
chmod 755 "$E2E_TMP/run" "$E2E_TMP/run/sub"
tc_as() { local u=$1; shift; ip netns exec "$E2E_FW" setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups "$TOLLCTL" "$1" --socket "$SOCK" "${@:2}"; }

# --- the socket
mode=$(stat -c '%a %G' "$SOCK" 2>/dev/null)
e2e_expect_eq "socket made in a new directory, mode 0660, admin group" "660 $ADM_GROUP" "$mode"

# --- traffic, so that sessions, hits and the log have something
e2e_http_get "HTTP through Tollgate" "$E2E_CL" "http://$E2E_INET_ADDR:$E2E_HTTP_PORT/blob.bin" "$sum"
ip netns exec "$E2E_CL" ping -c 2 -i 0.2 -W 1 "$E2E_INET_ADDR" >/dev/null 2>&1

# --- every command, as root
out=$(tc status 2>&1); st=$?
[[ $st == 0 && "$out" == *"policy generation 1"* ]]; r=$?
e2e_expect "tollctl status" "generation 1" "$(head -1 <<<"$out")" $r

out=$(tc show rules 2>&1); st=$?
hits=$(awk '$4 == "http-8080" { print $NF }' <<<"$out")
[[ $st == 0 && "$out" == *"egress"*"web"*"http-8080"* ]] && ((${hits:-0} >= 1)); r=$?
e2e_expect "show rules: rule names and a hit for the HTTP flow" "http-8080 hits >= 1" "exit $st, hits ${hits:-none}" $r

out=$(tc show rules --json); st=$?
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["generation"]==1; assert [r["rule"] for r in d["rules"]]==["http-8080","udp-any"]' <<<"$out"; r=$?
e2e_expect "show rules --json parses, two rules" "generation 1, 2 rules" "exit $st" $r

out=$(tc show sessions --proto tcp --dst "$E2E_INET_ADDR" --json); st=$?
n=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(1 for s in d["sessions"] if s["dport"]==8080 and s["rule"]=="egress/web/http-8080"))' <<<"$out" 2>/dev/null)
e2e_expect_ge "show sessions --proto tcp --dst: the HTTP session, its rule" 1 "${n:-}" "session(s)"
out=$(tc show sessions --proto udp --src 198.51.100.99); st=$?
[[ $st == 0 && "$out" == "0 session(s) match, 0 shown"* ]]; r=$?
e2e_expect "show sessions with a filter matching nothing" "0 session(s)" "$(head -1 <<<"$out")" $r
out=$(tc show sessions --proto sctp 2>&1); st=$?
[[ $st == 1 && "$out" == *"--proto: expected tcp, udp or icmp"* ]]; r=$?
e2e_expect "show sessions --proto sctp: refused, exit 1" "exit 1 + message" "exit $st: $out" $r

out=$(tc show snat); st=$?
[[ $st == 0 && "$out" == *"192.0.2."* ]]; r=$?
e2e_expect "show snat lists the frontend IPs" "192.0.2.x rows" "exit $st, $(wc -l <<<"$out") lines" $r
out=$(tc show stats); st=$?
[[ $st == 0 && "$out" == *"sessions.created"* && "$out" == *"rpc.requests"* ]]; r=$?
e2e_expect "show stats: every named counter" "sessions.created, rpc.requests" "exit $st" $r
out=$(tc show interfaces --json); st=$?
python3 -c 'import json,sys; d=json.load(sys.stdin); assert {i["name"] for i in d}=={"inside","outside"}; assert all(i["rx_packets"]>0 for i in d)' <<<"$out"; r=$?
e2e_expect "show interfaces --json: both, with NIC counters" "inside, outside" "exit $st" $r
out=$(tc show routes); st=$?
[[ $st == 0 && "$out" == *"198.51.100.0/24"*"static"*"$E2E_INET_ADDR"* ]]; r=$?
e2e_expect "show routes: the static route" "198.51.100.0/24 via $E2E_INET_ADDR" "exit $st" $r
out=$(tc show neighbors); st=$?
[[ $st == 0 && "$out" == *"$E2E_INET_ADDR"*"reachable"* ]]; r=$?
e2e_expect "show neighbors: the server, reachable" "$E2E_INET_ADDR reachable" "exit $st" $r
out=$(tc metrics); st=$?
[[ $st == 0 && "$out" == *"tollgate_policy_generation 1"* ]]; r=$?
e2e_expect "tollctl metrics" "tollgate_policy_generation 1" "exit $st" $r
out=$(tc show bogus 2>&1); st=$?
e2e_expect_eq "show bogus: usage error" 2 "$st"
out=$(tc show --help); st=$?
[[ $st == 0 && "$out" == *"usage: tollctl show"* ]]; r=$?
e2e_expect "show --help" "usage text" "exit $st" $r
out=$("$TOLLCTL" show --socket "$E2E_TMP/nothing.sock" rules 2>&1); st=$?
[[ $st == 3 && "$out" == *"cannot connect"* ]]; r=$?
e2e_expect "no daemon: exit 3" "exit 3, cannot connect" "exit $st: $out" $r
out=$(TOLLGATE_SOCKET="$SOCK" ip netns exec "$E2E_FW" "$TOLLCTL" status); st=$?
e2e_expect_eq "TOLLGATE_SOCKET names the socket" 0 "$st"

# --- frames
if python3 "$RPC_PY" "$SOCK" >"$E2E_TMP/rpc.out" 2>&1; then
	e2e_result OK "frame tests (test_rpc_server.py)" "all pass" "$(grep -c '^  OK' "$E2E_TMP/rpc.out") checks"
else
	e2e_result FAIL "frame tests (test_rpc_server.py)" "all pass" "$(grep '^  FAIL' "$E2E_TMP/rpc.out" | head -3 | tr '\n' ' ')"
	cat "$E2E_TMP/rpc.out"
fi

# --- access
out=$(tc_as "$RD_USER" show rules 2>&1); st=$?
e2e_expect_eq "read group member: show rules" 0 "$st"
out=$(tc_as "$RD_USER" apply "$E2E_TMP/policy.yaml" 2>&1); st=$?
[[ $st == 1 && "$out" == *"is not allowed to apply"* ]]; r=$?
e2e_expect "read group member: apply refused, exit 1" "exit 1, not allowed" "exit $st: $out" $r
grep -q "^tollgate: refused apply uid $(id -u "$RD_USER")" "$E2E_ROUTER_LOG"; r=$?
e2e_expect "refusal logged by the daemon" "tollgate: refused apply uid ..." "$(grep -m1 'refused' "$E2E_ROUTER_LOG")" $r
out=$(tc_as "$NO_USER" show rules 2>&1); st=$?
[[ $st == 3 && "$out" == *"Permission denied"* ]]; r=$?
e2e_expect "user in neither group: cannot connect, exit 3" "exit 3" "exit $st: $out" $r

# --- apply
cat >"$E2E_TMP/bad.yaml" <<'YAML'
rule_collection_groups:
  - name: egress
    priority: 200
    rule_collections:
      - name: web
        kind: network
        priority: 100
        action: allow
        rules:
          - name: broken
            protocols: [TCP]
            source_addresses: ["not-an-address"]
            destination_addresses: ["*"]
            destination_ports: ["8080"]
YAML
out=$(tc apply "$E2E_TMP/bad.yaml" 2>&1); st=$?
[[ $st == 1 && "$out" == *"bad.yaml:"*"not-an-address"* ]]; r=$?
e2e_expect "apply of an invalid policy: errors printed, exit 1" "exit 1, bad.yaml:LINE:COL" "exit $st: $(head -1 <<<"$out")" $r
gen=$(tc show rules --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
e2e_expect_eq "generation unchanged after the invalid policy" 1 "$gen"

# A new policy: the same HTTP rule, udp-any gone, a new deny rule.
sed -e 's/- name: udp-any/- name: udp-dns/' -e 's/destination_ports: \["\*"\]/destination_ports: ["53"]/' \
	"$E2E_TMP/policy.yaml" >"$E2E_TMP/p2.yaml"
out=$(tc apply --json "$E2E_TMP/p2.yaml"); st=$?
python3 - "$out" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
assert d["generation"] == 2, d
assert d["added"] == ["egress/web/udp-dns"], d
assert d["removed"] == ["egress/web/udp-any"], d
assert d["changed"] == [] and d["unchanged"] == 1, d
assert d["active_ms"] >= d["compile_ms"] >= 0, d
PY
r=$?
e2e_expect "apply --json: generation 2, added/removed/unchanged" "gen 2, +udp-dns -udp-any, 1 unchanged" "exit $st: ${out:0:160}" $r
out=$(tc show rules); st=$?
hits=$(awk '$4 == "http-8080" { print $NF }' <<<"$out")
e2e_expect_ge "hits of the unchanged rule kept across the apply" 1 "${hits:-}"
out=$(tc apply "$E2E_TMP/policy.yaml"); st=$?
[[ $st == 0 && "$out" == "applied: generation 3"* && "$out" == *"+ egress/web/udp-any"* ]]; r=$?
e2e_expect "apply (text): generation 3 and the diff" "applied: generation 3, + udp-any" "exit $st: $(head -1 <<<"$out")" $r

# --- metrics over HTTP
curl_fw() { ip netns exec "$E2E_FW" curl -sS --noproxy '*' --max-time 5 "$@"; }
curl_fw -o "$E2E_TMP/metrics.txt" "http://$METRICS/metrics"
python3 - "$E2E_TMP/metrics.txt" <<'PY' >"$E2E_TMP/metrics.check" 2>&1
# A parser of the Prometheus text format 0.0.4: every line a comment, a
# HELP/TYPE line or a sample; names and labels well formed; every sample's
# family declared by TYPE; counters end in _total.
import re, sys
name = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
lab = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
sample = re.compile(r'^(%s)(\{(%s)(,%s)*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$' % (name, lab, lab))
types, families = {}, set()
for i, line in enumerate(open(sys.argv[1]), 1):
    line = line.rstrip('\n')
    m = re.match(r'^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$' % name, line)
    if m:
        assert m.group(1) not in types, "line %d: TYPE twice" % i
        types[m.group(1)] = m.group(2)
        continue
    if re.match(r'^# HELP %s .*$' % name, line):
        continue
    m = sample.match(line)
    assert m, "line %d: not valid exposition: %r" % (i, line)
    fam = m.group(1)
    assert fam in types, "line %d: %s has no TYPE" % (i, fam)
    if types[fam] == 'counter':
        assert fam.endswith('_total'), fam
    families.add(fam)
need = ['tollgate_interface_packets_total', 'tollgate_interface_bytes_total', 'tollgate_drops_total',
        'tollgate_sessions', 'tollgate_snat_ports_in_use', 'tollgate_snat_utilisation_ratio',
        'tollgate_snat_allocation_failures_total', 'tollgate_rule_hits_total',
        'tollgate_inspection_total', 'tollgate_policy_generation', 'tollgate_worker_busy_ratio']
missing = [f for f in need if f not in families]
assert not missing, "missing families: %s" % missing
print("%d families" % len(families))
PY
r=$?
e2e_expect "GET /metrics: valid exposition, every family" "valid, families present" "$(tail -1 "$E2E_TMP/metrics.check")" $r
grep -q 'tollgate_rule_hits_total{group="egress",collection="web",rule="http-8080",action="allow"} [1-9]' "$E2E_TMP/metrics.txt"; r=$?
e2e_expect "rule hits by group/collection/rule" "http-8080 >= 1" "$(grep -m1 'rule="http-8080"' "$E2E_TMP/metrics.txt")" $r
code=$(curl_fw -o /dev/null -w '%{http_code}' "http://$METRICS/nothing")
e2e_expect_eq "GET /nothing: 404" 404 "$code"
code=$(curl_fw -o /dev/null -w '%{http_code}' -X POST "http://$METRICS/metrics")
e2e_expect_eq "POST /metrics: 405" 405 "$code"
body=$(curl_fw -w ' %{http_code}' "http://$METRICS/healthz")
e2e_expect_eq "/healthz: ok" "ok 200" "$(tr -d '\n' <<<"$body")"

# Push SNAT utilisation of one destination past 1 % of 64,512 ports: 900
# UDP flows from distinct source ports to one address and port (paced: the
# af_packet ring would drop a burst).
ip netns exec "$E2E_CL" python3 - "$E2E_INET_ADDR" <<'PY'
import socket, sys, time
socks = []
for i in range(900):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 0))
    s.sendto(b"x", (sys.argv[1], 9999))
    socks.append(s)
    time.sleep(0.001)
PY
sleep 0.5
body=$(curl_fw -w ' %{http_code}' "http://$METRICS/healthz")
[[ "$body" == "degraded: SNAT utilisation of 192.0.2."*"503" ]]; r=$?
e2e_expect "/healthz degraded past health_snat_percent" "503 degraded: SNAT utilisation" "$(tr -d '\n' <<<"$body")" $r
out=$(tc show snat --json)
pct=$(python3 -c 'import json,sys; print(max(f["utilisation_pct"] for f in json.load(sys.stdin)["frontend_ips"]))' <<<"$out")
python3 -c "import sys; sys.exit(0 if $pct > 1.0 else 1)"; r=$?
e2e_expect "show snat: utilisation above 1 %" "> 1 %" "${pct} %" $r
[[ "$out" =~ udp\ 203\.0\.113\.10:9999\ \((8[5-9][0-9]|900)\) ]]; r=$?
e2e_expect "show snat: the busiest destination" "udp $E2E_INET_ADDR:9999 (about 900)" "$(grep -o 'udp 203.0.113.10:9999 ([0-9]*)' <<<"$out" | head -1)" $r

# --- decision log
e2e_router_stop
python3 - "$DLOG" <<'PY' >"$E2E_TMP/dlog.check" 2>&1
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
http = [r for r in recs if r["Protocol"] == "TCP" and r["DestinationPort"] == 8080]
assert http, "no record of the HTTP flow"
r = http[0]
assert r["category"] == "AZFWNetworkRule" and r["Action"] == "Allow", r
assert (r["RuleCollectionGroup"], r["RuleCollection"], r["Rule"]) == ("egress", "web", "http-8080"), r
assert r["SourceIp"] == "198.18.1.10" and r["TranslatedIp"].startswith("192.0.2."), r
assert r["time"].endswith("Z") and len(r["time"]) == 24, r
udp = [r for r in recs if r["DestinationPort"] == 9999]
assert len(udp) >= 850, len(udp)
print("%d records" % len(recs))
PY
r=$?
e2e_expect "decision log: JSON lines naming the rule" "AZFWNetworkRule egress/web/http-8080" "$(tail -1 "$E2E_TMP/dlog.check")" $r
e2e_expect_ge "log.records counted" 850 "$(e2e_counter log.records)"
e2e_expect_ge "rpc.refused counted" 1 "$(e2e_counter rpc.refused)"
e2e_expect_ge "rpc.malformed counted (garbage, version, size)" 3 "$(e2e_counter rpc.malformed)"
e2e_expect_eq "tollgate exit status" 0 "$E2E_ROUTER_STATUS"
[[ ! -e "$SOCK" ]]; r=$?
e2e_expect "socket removed on stop" "gone" "$(ls "$SOCK" 2>&1)" $r

if ! e2e_report "e2e-control"; then
	e2e_show_router_log
	exit 1
fi
exit 0
