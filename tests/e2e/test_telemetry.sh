#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end: Tollgate's counters through DPDK telemetry (control/telemetry.c).
# The one test that runs the EAL with telemetry on (and a file prefix of its
# own, so its socket /var/run/dpdk/PREFIX/dpdk_telemetry.v2 is not shared):
# a ping goes through, then a telemetry client (the protocol of
# usertools/dpdk-telemetry.py, in a few lines of python3) lists the
# /tollgate/ commands and reads /tollgate/stats, /tollgate/sessions,
# /tollgate/snat and /tollgate/rules (keys: names with [^A-Za-z0-9_/] as '_').
#
# Exit: 0 all steps passed, 1 a step failed, 77 cannot run here (not root).
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${TOLLGATE:=$E2E_REPO/build/control/tollgate}"

e2e_init
e2e_topology_up
PREFIX="tgtel$$"
# The EAL's runtime directory for our prefix goes too, whatever happens.
trap 'rc=$?; rm -rf "/var/run/dpdk/$PREFIX"; (exit $rc); e2e_cleanup' EXIT
e2e_eal_args() {
	# shellcheck disable=SC2054
	E2E_EAL=(--no-huge -m 256 --file-prefix="$PREFIX" --no-pci -l 0-1
		--vdev=net_af_packet0,iface=fw-in --vdev=net_af_packet1,iface=fw-out)
}
E2E_EXTRA_CONFIG="control:
  socket: $E2E_TMP/tollgate.sock"
e2e_router_start
e2e_ping "ping cl -> inet through Tollgate" "$E2E_CL" "$E2E_INET_ADDR" -c 3 -i 0.2

SOCK="/var/run/dpdk/$PREFIX/dpdk_telemetry.v2"
ip netns exec "$E2E_FW" python3 - "$SOCK" >"$E2E_TMP/tel.out" 2>&1 <<'PY'
import json, socket, sys
def query(cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    json.loads(s.recv(16384))          # the greeting: version, pid, max_output_len
    s.send(cmd.encode())
    reply = json.loads(s.recv(1 << 20))
    s.close()
    return reply
cmds = query("/")["/"]
for c in ("/tollgate/stats", "/tollgate/sessions", "/tollgate/snat", "/tollgate/rules"):
    assert c in cmds, "%s not listed" % c
stats = query("/tollgate/stats")["/tollgate/stats"]
assert stats["sessions_created"] >= 1 and stats["ip_forwarded"] >= 6, stats
sess = query("/tollgate/sessions")["/tollgate/sessions"]
assert sess["total"] >= 1 and sess["capacity"] > 0, sess
snat = query("/tollgate/snat")["/tollgate/snat"]
assert sum(snat.values()) >= 1, snat
rules = query("/tollgate/rules")["/tollgate/rules"]
assert rules["generation"] == 1 and rules["e2e/allow_all/any"] >= 1, rules
print("ok: %d counters, %d sessions, rule hits %d" % (len(stats), sess["total"], rules["e2e/allow_all/any"]))
PY
r=$?
e2e_expect "telemetry: /tollgate/{stats,sessions,snat,rules}" "listed, counters moved" "$(tail -1 "$E2E_TMP/tel.out")" $r
e2e_router_stop
e2e_expect_eq "tollgate exit status" 0 "$E2E_ROUTER_STATUS"

if ! e2e_report "e2e-telemetry"; then
	e2e_show_router_log
	exit 1
fi
exit 0
