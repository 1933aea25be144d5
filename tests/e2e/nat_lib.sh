# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# shellcheck disable=SC2034  # variables here are used by the scripts that source it
#
# Helpers of the NAT end-to-end tests (test_nat.sh, test_pmtud.sh), on top of
# lib.sh (which it sources): a Tollgate config with a test's own policy and
# routes, small Python servers that tell each client which address they saw
# it come from (TCP over HTTP, and UDP), and a UDP client.
#
# Use:
#   source tests/e2e/nat_lib.sh
#   nat_write_policy() { cat >"$1" <<'EOF' ... EOF; }   # the test's policy
#   NAT_ROUTES=("198.18.2.0/24 198.18.1.10")           # extra static routes
#   e2e_init; e2e_topology_up; nat_init
#   nat_whoami_start NS ADDR PORT NAME      # HTTP: body "server=NAME peer=IP port=P"
#   nat_udp_echo_start NS ADDR PORT NAME    # UDP: answers "server=NAME peer=IP port=P"
#   e2e_router_start
#   nat_udp_ask NS DST PORT [SRC]           # prints the answer; status 1 if none
#
# Everything started here goes through e2e_bg, so lib.sh's trap kills it.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# NAT needs the daemon: the kernel stand-in of lib.sh does not translate.
if [[ "$E2E_ROUTER" != tollgate ]]; then
	e2e_log "e2e: the NAT tests need E2E_ROUTER=tollgate (not '$E2E_ROUTER'); skipping"
	exit 77
fi

NAT_ROUTES=()               # "PREFIX VIA" pairs added to the config's routes
NAT_WORKERS=${NAT_WORKERS:-1}

# Replaces lib.sh's config writer (lib.sh's e2e_router_start calls it): the
# same topology, plus NAT_ROUTES, NAT_WORKERS and the policy the test writes
# with its own nat_write_policy FILE.
e2e_write_config() {
	local r prefix via routes=""
	for r in "${NAT_ROUTES[@]}"; do
		read -r prefix via <<<"$r"
		routes+="  - prefix: $prefix"$'\n'"    via: $via"$'\n'
	done
	local qp=""
	((NAT_WORKERS > 1)) && qp=",qpairs=$NAT_WORKERS"
	cat >"$1" <<EOF
# Tollgate config for the NAT e2e tests (tests/e2e/nat_lib.sh).
workers: $NAT_WORKERS
interfaces:
  - name: inside
    role: inside
    device: net_af_packet0,iface=fw-in$qp
    address: $E2E_FW_IN_ADDR/24
    mtu: 1500
  - name: outside
    role: outside
    device: net_af_packet1,iface=fw-out$qp
    address: $E2E_FW_OUT_ADDR/24
    mtu: 1500
routes:
  - prefix: 198.51.100.0/24
    via: $E2E_INET_ADDR
${routes}frontend_ips:
  - $E2E_FRONTEND_RANGE
policy: policy.yaml
${E2E_EXTRA_CONFIG:-}
EOF
	declare -F nat_write_policy >/dev/null || e2e_die "the test defines no nat_write_policy"
	nat_write_policy "$(dirname "$1")/policy.yaml"
}

# With NAT_WORKERS=2 the two workers share the second core (-l 0-1 has room
# for one): --lcores maps lcores 1 and 2 onto CPU 1. Slow, but it exercises
# the hand-off of replies between workers.
if ((NAT_WORKERS > 1)); then
	e2e_eal_args() {
		# shellcheck disable=SC2054
		E2E_EAL=(--no-huge -m 256 --no-shconf --no-telemetry --no-pci
			--lcores "0@0,(1-$NAT_WORKERS)@1"
			"--vdev=net_af_packet0,iface=fw-in,qpairs=$NAT_WORKERS"
			"--vdev=net_af_packet1,iface=fw-out,qpairs=$NAT_WORKERS")
	}
fi

# Write the Python helpers into the temp dir (after e2e_init).
nat_init() {
	cat >"$E2E_TMP/whoami.py" <<'EOF'
# HTTP server that answers every GET with the client address it saw, and
# appends that address to a log (one line per request).
import http.server, sys
addr, port, name, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        ip, p = self.client_address[:2]
        body = ("server=%s peer=%s port=%d\n" % (name, ip, p)).encode()
        with open(log, "a") as f:
            f.write("%s %d\n" % (ip, p))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer.allow_reuse_address = True
http.server.ThreadingHTTPServer((addr, port), H).serve_forever()
EOF
	cat >"$E2E_TMP/udp_echo.py" <<'EOF'
# UDP server: answers each datagram with the client address it saw.
import socket, sys
addr, port, name, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, port))
while True:
    data, (ip, p) = s.recvfrom(2048)
    with open(log, "a") as f:
        f.write("%s %d\n" % (ip, p))
    s.sendto(("server=%s peer=%s port=%d\n" % (name, ip, p)).encode(), (ip, p))
EOF
	cat >"$E2E_TMP/udp_ask.py" <<'EOF'
# UDP client: send one datagram (re-sent every second), print the first answer.
# Exit 0 with an answer, 1 with none within the timeout.
import socket, sys, time
dst, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
src = sys.argv[4] if len(sys.argv) > 4 else ""
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
end = time.monotonic() + timeout
while time.monotonic() < end:
    s.sendto(b"hello", (dst, port))
    s.settimeout(max(0.01, min(1.0, end - time.monotonic())))
    try:
        data, _ = s.recvfrom(2048)
    except socket.timeout:
        continue
    sys.stdout.write(data.decode())
    sys.exit(0)
sys.exit(1)
EOF
}

# nat_whoami_start NS ADDR PORT NAME: HTTP "who am I" server; its log of
# peers is $E2E_TMP/peers-NAME.log.
nat_whoami_start() {
	local ns=$1 addr=$2 port=$3 name=$4
	e2e_bg "$ns" "$E2E_TMP/whoami-$name.out" \
		python3 "$E2E_TMP/whoami.py" "$addr" "$port" "$name" "$E2E_TMP/peers-$name.log"
	e2e_wait_listen "$ns" "$port" 10 || {
		cat "$E2E_TMP/whoami-$name.out" >&2
		e2e_die "whoami server $name in $ns did not start"
	}
}

# nat_udp_echo_start NS ADDR PORT NAME: UDP answering server (peers in
# $E2E_TMP/peers-NAME.log).
nat_udp_echo_start() {
	local ns=$1 addr=$2 port=$3 name=$4 i
	e2e_bg "$ns" "$E2E_TMP/udp-$name.out" \
		python3 "$E2E_TMP/udp_echo.py" "$addr" "$port" "$name" "$E2E_TMP/peers-$name.log"
	for ((i = 0; i < 100; i++)); do
		ip netns exec "$ns" ss -Hlun "sport = :$port" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	cat "$E2E_TMP/udp-$name.out" >&2
	e2e_die "UDP server $name in $ns did not start"
}

# nat_udp_ask NS DST PORT [SRC [TIMEOUT]]: print the server's answer.
nat_udp_ask() {
	ip netns exec "$1" timeout 10 python3 "$E2E_TMP/udp_ask.py" "$2" "$3" "${5:-3}" "${4:-}"
}

# nat_curl NS URL [curl options]: body on stdout, curl's status as ours;
# bounded (3 s to connect, 10 s in all unless the options say otherwise).
nat_curl() {
	local ns=$1 url=$2
	shift 2
	ip netns exec "$ns" curl -sS --noproxy '*' --connect-timeout 3 --max-time 10 "$@" "$url"
}

# Field of a whoami/udp answer: nat_field peer "server=x peer=1.2.3.4 port=5".
nat_field() {
	sed -nE "s/.*(^| )$1=([^ ]*).*/\\2/p" <<<"$2" | head -1
}

# Is IP inside the configured frontend range (192.0.2.10-192.0.2.29)?
nat_is_frontend() {
	local last=${1##*.}
	[[ "$1" == 192.0.2.* && "$last" =~ ^[0-9]+$ ]] && ((last >= 10 && last <= 29))
}

# Number of lines in FILE; 0 when it does not exist (a server that never
# received anything has not created its log).
nat_lines() {
	if [[ -f "$1" ]]; then wc -l <"$1"; else echo 0; fi
}
