# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# shellcheck disable=SC2034  # variables here are used by the scripts that source it
#
# Shared library of the end-to-end tests, the demo and the namespace
# benchmarks: a three-namespace topology with Tollgate (or Linux, as a
# stand-in) forwarding between a cluster node and the internet.
#
#   cl (cluster node)          fw (the appliance)            inet (internet)
#   eth0 198.18.1.10/24 ── fw-in            fw-out ── eth0 203.0.113.10/24
#   default via 198.18.1.1      (no addresses:         198.18.0.0/15 via 203.0.113.1
#                               DPDK owns them)        192.0.2.0/24  via 203.0.113.1
#                                                      dummy0 198.51.100.10/32
#                                                      (on lo without dummy)
#
# Tollgate's inside address is 198.18.1.1, its outside address 203.0.113.1;
# 198.51.100.0/24 is reached through Tollgate's static route via 203.0.113.10.
#
# E2E_ROUTER selects who forwards in fw:
#   tollgate (default)  the DPDK daemon at $TOLLGATE, on net_af_packet ports,
#                       with the config of e2e_write_config (frontend IPs
#                       192.0.2.10-29, no default gateway) and a policy that
#                       allows every flow (e2e_write_policy)
#   kernel              Linux: fw-in/fw-out get the addresses above and
#                       net.ipv4.ip_forward=1 (a stand-in before the daemon
#                       existed, and the baseline the benchmarks compare with)
#
# Only addresses from 198.18.0.0/15, 192.0.2.0/24, 198.51.100.0/24 and
# 203.0.113.0/24 are used, and only inside the namespaces made here. Clean-up
# (e2e_cleanup, run from a trap on EXIT/INT/TERM) kills only the PIDs that
# this library started and deletes only the namespaces that it created.
#
# Use:
#   source tests/e2e/lib.sh
#   e2e_init                      # names, temp dir, traps; needs root
#   e2e_topology_up
#   e2e_router_start              # Tollgate (waits for "tollgate: ready") or Linux
#   e2e_ping "ping cl -> inet" "$E2E_CL" 203.0.113.10 -c 5
#   ...
#   e2e_router_stop               # SIGTERM; fills E2E_COUNTERS from its output
#   e2e_report                    # table of every step; returns 1 if any failed
#
# Knobs: E2E_READY_TIMEOUT (s, default 20) for "tollgate: ready";
# E2E_KEEP_TMP=1 keeps the temp dir (config, logs) of a failed run;
# E2E_ALL_COUNTERS=1 prints the counters at zero too.

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_REPO=$(cd "$E2E_LIB_DIR/../.." && pwd)

E2E_ROUTER=${E2E_ROUTER:-tollgate}

# Addresses of the topology (see the picture above).
E2E_CL_ADDR=198.18.1.10
E2E_FW_IN_ADDR=198.18.1.1
E2E_INET_ADDR=203.0.113.10
E2E_FW_OUT_ADDR=203.0.113.1
E2E_REMOTE_ADDR=198.51.100.10    # on inet's dummy0, via Tollgate's static route
E2E_FRONTEND_RANGE=192.0.2.10-192.0.2.29
E2E_FRONTEND_ADDR=192.0.2.15     # one of the frontend IPs
E2E_UNROUTED_ADDR=198.19.255.1   # no route in fw (and no default gateway)
E2E_HTTP_PORT=8080

E2E_PIDS=()         # every background process we started, by PID
E2E_NETNS=()        # every namespace we created
E2E_CLEANUP_DIRS=()  # host paths made for our namespaces (/etc/netns/NS)
E2E_RESULTS=()      # "OK|FAIL<TAB>step<TAB>expected<TAB>observed"
E2E_FAILS=0
E2E_ROUTER_PID=
E2E_ROUTER_LOG=
E2E_ROUTER_STATUS=
declare -gA E2E_COUNTERS=()

e2e_log() { printf '%s\n' "$*" >&2; }
e2e_die() {
	e2e_log "e2e: $*"
	exit 1
}

# --- set-up and clean-up ----------------------------------------------------

# Pick per-run names and a temp dir; install the clean-up trap. Exits 77
# (meson's "skipped") when the environment cannot make namespaces.
e2e_init() {
	if ((EUID != 0)); then
		e2e_log "e2e: needs root (network namespaces); skipping"
		exit 77
	fi
	local t
	for t in ip ss ethtool sysctl ping curl python3 sha256sum awk; do
		command -v "$t" >/dev/null 2>&1 || e2e_die "missing tool '$t' (run tools/install-deps.sh)"
	done
	# Short and unique per run: several runs (or a run and a benchmark) may
	# share the machine. Namespace names are free-form; interface names are
	# fixed (eth0, fw-in, fw-out) because each lives in its own namespace.
	local tag="tg$$"
	E2E_CL="${tag}-cl"
	E2E_FW="${tag}-fw"
	E2E_INET="${tag}-inet"
	E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-e2e.XXXXXX")
	trap e2e_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Kill what we started (TERM, then KILL after 5 s), delete our namespaces.
e2e_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	local pid i
	for pid in "${E2E_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${E2E_PIDS[@]}"; do
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			e2e_log "e2e: pid $pid did not stop on SIGTERM; sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		wait "$pid" 2>/dev/null || true
	done
	E2E_PIDS=()
	local ns
	for ns in "${E2E_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	E2E_NETNS=()
	# Host paths a test made for its namespaces (/etc/netns/NS).
	local d
	for d in "${E2E_CLEANUP_DIRS[@]}"; do
		rm -rf -- "$d"
	done
	E2E_CLEANUP_DIRS=()
	if [[ -n "${E2E_TMP:-}" && -d "$E2E_TMP" ]]; then
		if ((rc != 0)) && [[ -n "${E2E_KEEP_TMP:-}" ]]; then
			e2e_log "e2e: kept $E2E_TMP"
		else
			rm -rf "$E2E_TMP"
		fi
	fi
	exit "$rc"
}

e2e_netns_add() {
	ip netns add "$1" || e2e_die "cannot create namespace $1"
	E2E_NETNS+=("$1")
	# No IPv6 at all: keeps router solicitations, MLD and ND off the wires so
	# that counters and captures show only the traffic a test sends.
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 >/dev/null
	ip -n "$1" link set lo up
}

# Checksum offload off on one veth end: otherwise the kernel leaves checksums
# for a NIC that does not exist and UDP/TCP leave with bad ones. It also takes
# TSO away, so no frame larger than the MTU reaches an AF_PACKET socket.
e2e_offload_off() {
	ip netns exec "$1" ethtool -K "$2" tx off >/dev/null 2>&1 ||
		e2e_die "ethtool -K $2 tx off failed in $1"
}

# Run a command inside namespace NS.
e2e_in() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

e2e_topology_up() {
	e2e_netns_add "$E2E_CL"
	e2e_netns_add "$E2E_FW"
	e2e_netns_add "$E2E_INET"

	# Both ends of each pair are created directly inside their namespaces,
	# so no interface ever appears in the host's namespace.
	ip -n "$E2E_FW" link add fw-in type veth peer name eth0 netns "$E2E_CL" ||
		e2e_die "cannot create veth fw-in/eth0"
	ip -n "$E2E_FW" link add fw-out type veth peer name eth0 netns "$E2E_INET" ||
		e2e_die "cannot create veth fw-out/eth0"
	e2e_offload_off "$E2E_FW" fw-in
	e2e_offload_off "$E2E_FW" fw-out
	e2e_offload_off "$E2E_CL" eth0
	e2e_offload_off "$E2E_INET" eth0

	# cl: one address, everything via Tollgate.
	ip -n "$E2E_CL" addr add "$E2E_CL_ADDR/24" dev eth0
	ip -n "$E2E_CL" link set eth0 up
	ip -n "$E2E_CL" route add default via "$E2E_FW_IN_ADDR"

	# inet: the cluster's ranges and the frontend IPs via Tollgate, and a
	# "remote" address that Tollgate reaches through its static route.
	ip -n "$E2E_INET" addr add "$E2E_INET_ADDR/24" dev eth0
	ip -n "$E2E_INET" link set eth0 up
	ip -n "$E2E_INET" route add 198.18.0.0/15 via "$E2E_FW_OUT_ADDR"
	ip -n "$E2E_INET" route add 192.0.2.0/24 via "$E2E_FW_OUT_ADDR"
	# A dummy interface where the kernel has the module, else loopback: to
	# the traffic both are the same, a local /32 behind inet.
	local remote_dev=lo
	if ip -n "$E2E_INET" link add dummy0 type dummy 2>/dev/null; then
		remote_dev=dummy0
		ip -n "$E2E_INET" link set dummy0 up
	fi
	ip -n "$E2E_INET" addr add "$E2E_REMOTE_ADDR/32" dev "$remote_dev"

	# fw: the two ports up.
	ip -n "$E2E_FW" link set fw-in up
	ip -n "$E2E_FW" link set fw-out up
	case "$E2E_ROUTER" in
	tollgate)
		# No addresses: Tollgate owns both ports through AF_PACKET; the
		# kernel must neither answer ARP nor forward here.
		e2e_in "$E2E_FW" sysctl -qw net.ipv4.ip_forward=0 >/dev/null
		;;
	kernel)
		ip -n "$E2E_FW" addr add "$E2E_FW_IN_ADDR/24" dev fw-in
		ip -n "$E2E_FW" addr add "$E2E_FW_OUT_ADDR/24" dev fw-out
		ip -n "$E2E_FW" route add 198.51.100.0/24 via "$E2E_INET_ADDR"
		# No ICMP error rate limit (Linux's default is about one per
		# second per peer; Tollgate allows 1000/s): every probe is answered.
		e2e_in "$E2E_FW" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0 >/dev/null
		;;
	*) e2e_die "E2E_ROUTER must be 'tollgate' or 'kernel', not '$E2E_ROUTER'" ;;
	esac
}

# --- background processes --------------------------------------------------

# e2e_bg NS LOG CMD...: start CMD in NS with output to LOG; the PID (which is
# CMD's own: `ip netns exec` execs it) goes to E2E_PIDS and to $E2E_LAST_PID.
e2e_bg() {
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
	E2E_LAST_PID=$!
	E2E_PIDS+=("$E2E_LAST_PID")
}

# Stop one process we started: SIGTERM, wait up to $3 s (default 10), SIGKILL.
# Sets E2E_STOP_STATUS to its exit status (137 when it had to be killed).
e2e_stop_pid() {
	local pid=$1 sig=${2:-TERM} secs=${3:-10} i
	E2E_STOP_STATUS=
	kill -"$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		e2e_log "e2e: pid $pid still running ${secs}s after SIG$sig; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	local st=0
	wait "$pid" 2>/dev/null || st=$?
	E2E_STOP_STATUS=$st
	local p rest=()
	for p in "${E2E_PIDS[@]}"; do
		[[ "$p" == "$pid" ]] || rest+=("$p")
	done
	E2E_PIDS=("${rest[@]}")
}

# Wait until something listens on TCP PORT in NS (bounded).
e2e_wait_listen() {
	local ns=$1 port=$2 secs=${3:-10} i
	for ((i = 0; i < secs * 10; i++)); do
		if ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# e2e_http_start NS ADDR DIR: serve DIR over HTTP on ADDR:$E2E_HTTP_PORT.
e2e_http_start() {
	local ns=$1 addr=$2 dir=$3
	e2e_bg "$ns" "$E2E_TMP/http-$ns.log" \
		python3 -m http.server --bind "$addr" --directory "$dir" "$E2E_HTTP_PORT"
	e2e_wait_listen "$ns" "$E2E_HTTP_PORT" 10 || {
		cat "$E2E_TMP/http-$ns.log" >&2
		e2e_die "HTTP server in $ns did not start"
	}
}

# e2e_make_blob FILE MIB: FILE of MIB MiB of random bytes; prints its sha256.
e2e_make_blob() {
	head -c "$(($2 * 1024 * 1024))" /dev/urandom >"$1"
	sha256sum "$1" | cut -d' ' -f1
}

# --- the router -------------------------------------------------------------

# Write Tollgate's config for this topology to FILE (see control/config.h).
# No default gateway on purpose: E2E_UNROUTED_ADDR must be unreachable.
e2e_write_config() {
	cat >"$1" <<EOF
# Tollgate config for the e2e topology (tests/e2e/lib.sh).
workers: 1
interfaces:
  - name: inside
    role: inside
    device: net_af_packet0,iface=fw-in
    address: $E2E_FW_IN_ADDR/24
    mtu: 1500
  - name: outside
    role: outside
    device: net_af_packet1,iface=fw-out
    address: $E2E_FW_OUT_ADDR/24
    mtu: 1500
routes:
  - prefix: 198.51.100.0/24
    via: $E2E_INET_ADDR
frontend_ips:
  - $E2E_FRONTEND_RANGE
policy: policy.yaml
${E2E_EXTRA_CONFIG:-}
EOF
	e2e_write_policy "$(dirname "$1")/policy.yaml"
}

# Tollgate refuses new flows until a policy allows them (default deny). The
# forwarding tests allow everything; policy tests write their own.
e2e_write_policy() {
	cat >"$1" <<'EOF'
# Allow every flow (tests/e2e/lib.sh): the forwarding tests check routing,
# not policy.
rule_collection_groups:
  - name: e2e
    priority: 100
    rule_collections:
      - name: allow-all
        kind: network
        priority: 100
        action: allow
        rules:
          - name: any
            protocols: [Any]
            source_addresses: ["*"]
            destination_addresses: ["*"]
            destination_ports: ["*"]
EOF
}

# The EAL half of Tollgate's command line for this topology.
e2e_eal_args() {
	# shellcheck disable=SC2054  # the commas belong to the vdev strings
	E2E_EAL=(--no-huge -m 256 --no-shconf --no-telemetry --no-pci -l 0-1
		--vdev=net_af_packet0,iface=fw-in --vdev=net_af_packet1,iface=fw-out)
}

# Start the router. For Tollgate: check the config, start the daemon in fw and
# wait (bounded by E2E_READY_TIMEOUT, default 20 s) for "tollgate: ready".
e2e_router_start() {
	[[ "$E2E_ROUTER" == kernel ]] && return 0
	[[ -n "${TOLLGATE:-}" ]] || e2e_die "TOLLGATE is not set (path of the tollgate daemon)"
	[[ -x "$TOLLGATE" ]] || e2e_die "TOLLGATE=$TOLLGATE is not an executable"
	E2E_CONF="$E2E_TMP/tollgate.yaml"
	e2e_write_config "$E2E_CONF"
	# A config the loader rejects is reported as such, not as a start-up hang.
	local check st=0
	check=$("$TOLLGATE" --config "$E2E_CONF" --check 2>&1) || st=$?
	if ((st != 0)); then
		e2e_log "e2e: tollgate --check rejected $E2E_CONF (status $st):"
		sed 's/^/  | /' <<<"$check" >&2
		exit 1
	fi
	e2e_eal_args
	E2E_ROUTER_LOG="$E2E_TMP/tollgate.log"
	e2e_bg "$E2E_FW" "$E2E_ROUTER_LOG" "$TOLLGATE" "${E2E_EAL[@]}" -- --config "$E2E_CONF"
	E2E_ROUTER_PID=$E2E_LAST_PID
	local secs=${E2E_READY_TIMEOUT:-20} i
	for ((i = 0; i < secs * 10; i++)); do
		if grep -q '^tollgate: ready' "$E2E_ROUTER_LOG" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$E2E_ROUTER_PID" 2>/dev/null; then
			local st=0
			wait "$E2E_ROUTER_PID" 2>/dev/null || st=$?
			e2e_log "e2e: tollgate exited with status $st before it was ready; its output:"
			sed 's/^/  | /' "$E2E_ROUTER_LOG" >&2
			E2E_ROUTER_PID=
			exit 1
		fi
		sleep 0.1
	done
	e2e_log "e2e: tollgate did not print 'tollgate: ready' within ${secs}s; its output:"
	sed 's/^/  | /' "$E2E_ROUTER_LOG" >&2
	exit 1
}

# Stop the router (SIGTERM) and read its counters into E2E_COUNTERS. Sets
# E2E_ROUTER_STATUS to Tollgate's exit status. The kernel stand-in has no
# counters of ours; E2E_COUNTERS stays empty.
e2e_router_stop() {
	[[ "$E2E_ROUTER" == kernel ]] && return 0
	[[ -n "$E2E_ROUTER_PID" ]] || return 0
	e2e_stop_pid "$E2E_ROUTER_PID" TERM 15
	E2E_ROUTER_STATUS=$E2E_STOP_STATUS
	E2E_ROUTER_PID=
	e2e_parse_counters "$E2E_ROUTER_LOG"
}

# Counter lines look like "  NAME  VALUE  description"; NAME has a dot.
e2e_parse_counters() {
	E2E_COUNTERS=()
	local name value
	while read -r name value; do
		E2E_COUNTERS[$name]=$value
	done < <(awk '$1 ~ /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$/ && $2 ~ /^[0-9]+$/ { print $1, $2 }' "$1")
}

# Value of a counter. Tollgate prints only the counters that are not zero,
# so one it did not print is 0 (empty when it printed no counters at all).
e2e_counter() {
	if ((${#E2E_COUNTERS[@]} == 0)); then
		printf ''
	else
		printf '%s' "${E2E_COUNTERS[$1]:-0}"
	fi
}

# Print Tollgate's output (e.g. after a failure), indented.
e2e_show_router_log() {
	[[ -n "$E2E_ROUTER_LOG" && -f "$E2E_ROUTER_LOG" ]] || return 0
	e2e_log "---- tollgate output ($E2E_ROUTER_LOG) ----"
	sed 's/^/  | /' "$E2E_ROUTER_LOG" >&2
	e2e_log "---- end of tollgate output ----"
}

# Print the non-zero counters (all of them with E2E_ALL_COUNTERS=1).
e2e_print_counters() {
	[[ -n "$E2E_ROUTER_LOG" && -f "$E2E_ROUTER_LOG" ]] || return 0
	awk -v all="${E2E_ALL_COUNTERS:-0}" '
		$1 ~ /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$/ && $2 ~ /^[0-9]+$/ {
			if (all || $2 != 0) { printf "  %s\n", $0; n++ } else z++
		}
		END { if (z) printf "  (%d counters at zero not shown)\n", z }' "$E2E_ROUTER_LOG"
}

# --- assertions and the report --------------------------------------------

# e2e_result OK|FAIL STEP EXPECTED OBSERVED: record one step and print it.
e2e_result() {
	local verdict=$1 step=$2 expected=$3 observed=$4
	[[ "$verdict" == OK ]] || E2E_FAILS=$((E2E_FAILS + 1))
	E2E_RESULTS+=("$verdict"$'\t'"$step"$'\t'"$expected"$'\t'"$observed")
	printf '  %-4s %s: %s\n' "$verdict" "$step" "$observed"
}

# A step that could not be checked in this mode (kernel stand-in); not a failure.
e2e_skip() {
	E2E_RESULTS+=("SKIP"$'\t'"$1"$'\t'"$2"$'\t'"skipped: $3")
	printf '  SKIP %s: %s\n' "$1" "$3"
}

e2e_expect() { # STEP EXPECTED OBSERVED CONDITION-STATUS
	if [[ "$4" == 0 ]]; then e2e_result OK "$1" "$2" "$3"; else e2e_result FAIL "$1" "$2" "$3"; fi
}

e2e_expect_eq() { # STEP EXPECTED OBSERVED
	[[ "$3" == "$2" ]]
	e2e_expect "$1" "$2" "$3" $?
}

e2e_expect_ge() { # STEP MIN OBSERVED [what]
	local ok=1
	[[ "$3" =~ ^[0-9]+$ ]] && (($3 >= $2)) && ok=0
	e2e_expect "$1" ">= $2${4:+ $4}" "${3:-<none>}${4:+ $4}" $ok
}

# e2e_expect_counter_ge STEP NAME MIN: Tollgate's counter NAME is at least MIN.
e2e_expect_counter_ge() {
	local v
	v=$(e2e_counter "$2")
	e2e_expect_ge "$1" "$3" "${v:-<no counters>}" "($2)"
}

# Forget every neighbour (ARP entry) in NS, so its next packet asks again.
e2e_neigh_flush() {
	ip -n "$1" neigh flush all >/dev/null 2>&1 || true
}

# e2e_expect_neigh STEP NS IP MAC: NS resolved IP to MAC (by ARP).
e2e_expect_neigh() {
	local step=$1 ns=$2 ip=$3 want=$4 got
	got=$(ip -n "$ns" neigh show "$ip" | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')
	[[ "${got,,}" == "${want,,}" ]]
	e2e_expect "$step" "$ip is at $want" "$ip is at ${got:-<no entry>}" $?
}

# MAC address of interface IF in NS.
e2e_mac() { ip -n "$1" -br link show dev "$2" | awk '{ print $3 }'; }

# e2e_ping STEP NS DST [ping options]: every echo answered (0% loss).
e2e_ping() {
	local step=$1 ns=$2 dst=$3
	shift 3
	local out
	out=$(ip netns exec "$ns" ping -n -W 2 "$@" "$dst" 2>&1)
	local summary
	summary=$(sed -nE 's/^([0-9]+) packets transmitted, ([0-9]+) received.* ([0-9.]+)% packet loss.*/\1 sent, \2 received, \3% loss/p' <<<"$out" | head -1)
	summary=${summary:-no ping summary}
	if grep -Eq ' 0% packet loss' <<<"$out"; then
		e2e_result OK "$step" "0% loss" "$summary"
	else
		e2e_result FAIL "$step" "0% loss" "$summary"
		sed 's/^/  | /' <<<"$out" >&2
	fi
}

# e2e_ping_error STEP NS DST FROM TEXT COUNT [ping options]: sends COUNT echo
# requests; each must be answered by an ICMP error from FROM saying TEXT
# (as ping prints it, e.g. "Time to live exceeded").
e2e_ping_error() {
	local step=$1 ns=$2 dst=$3 from=$4 text=$5 count=$6
	shift 6
	local out n
	out=$(ip netns exec "$ns" ping -n -W 2 -i 0.3 -c "$count" "$@" "$dst" 2>&1)
	n=$(grep -c "^From $from icmp_seq=[0-9]* $text" <<<"$out")
	local first
	first=$(grep -m1 -E '^From |bytes from ' <<<"$out")
	first=${first:-no answer}
	if ((n == count)); then
		e2e_result OK "$step" "'$text' from $from" "$n of $count: $first"
	else
		e2e_result FAIL "$step" "'$text' from $from" "$n of $count: $first"
		sed 's/^/  | /' <<<"$out" >&2
	fi
}

# e2e_http_get STEP NS URL SHA256: download URL in NS; the body's sha256 must
# match. Sets E2E_HTTP_BYTES and E2E_HTTP_SPEED (bytes/s).
e2e_http_get() {
	local step=$1 ns=$2 url=$3 want=$4 out="$E2E_TMP/download.$$"
	local meta st=0 got err
	E2E_HTTP_BYTES=0 E2E_HTTP_SPEED=0
	meta=$(ip netns exec "$ns" curl -sS --noproxy '*' --max-time 60 -o "$out" \
		-w '%{http_code} %{size_download} %{speed_download}' "$url" 2>"$out.err") || st=$?
	err=$(tr '\n' ' ' <"$out.err")
	rm -f "$out.err"
	got=$(sha256sum "$out" 2>/dev/null | cut -d' ' -f1)
	rm -f "$out"
	local code bytes speed
	read -r code bytes speed <<<"$meta"
	if ((st == 0)) && [[ "$code" == 200 && "$got" == "$want" ]]; then
		E2E_HTTP_BYTES=${bytes%%.*} E2E_HTTP_SPEED=${speed%%.*}
		e2e_result OK "$step" "HTTP 200, sha256 ${want:0:12}..." \
			"HTTP $code, $bytes bytes, sha256 ${got:0:12}..., $(e2e_human_rate "$E2E_HTTP_SPEED")"
	else
		e2e_result FAIL "$step" "HTTP 200, sha256 ${want:0:12}..." \
			"curl status $st ${err:-}(HTTP ${meta%% *}), sha256 ${got:-<none>}"
	fi
}

e2e_human_rate() { # bytes/s -> "12.3 MB/s"
	awk -v b="${1:-0}" 'BEGIN { printf "%.1f MB/s", b / 1e6 }'
}

# Print every recorded step as a table; return 1 if any failed.
e2e_report() {
	local title=${1:-report}
	printf '\n== %s (forwarding: %s) ==\n' "$title" "$E2E_ROUTER"
	printf '%s\n' "${E2E_RESULTS[@]}" | awk -F '\t' '
		{ v[NR] = $1; s[NR] = $2; e[NR] = $3; o[NR] = $4
		  if (length($2) > ws) ws = length($2); if (length($3) > we) we = length($3) }
		END {
			if (ws < 4) ws = 4; if (we < 8) we = 8
			printf "  %-*s  %-*s  %-6s %s\n", ws, "step", we, "expected", "result", "observed"
			for (i = 1; i <= NR; i++)
				printf "  %-*s  %-*s  %-6s %s\n", ws, s[i], we, e[i], v[i], o[i]
		}'
	printf '%d steps, %d failed\n' "${#E2E_RESULTS[@]}" "$E2E_FAILS"
	((E2E_FAILS == 0))
}
