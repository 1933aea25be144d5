# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# shellcheck disable=SC2034  # variables here are used by the scripts that source it
#
# The AKS egress lockdown scenario of the seeds, in network namespaces: what
# tools/demo.sh shows and tests/e2e/test_aks.sh asserts.
#
#   cluster ($E2E_CL)              Tollgate ($E2E_FW)          internet ($E2E_INET)
#   nodes 198.18.1.10-29 ---- inside 198.18.1.1 (DNS proxy)
#   store-front 198.18.1.100:80     outside 203.0.113.1 ---- dnsmasq 203.0.113.53
#   default via 198.18.1.1          20 frontend IPs             HTTPS/HTTP servers for the
#   resolver 198.18.1.1             192.0.2.10-29               seeds' names, NTP, ghcr.io,
#                                   rules/examples/             AzureCloud.eastus (198.51.100.10)
#                                   aks-egress.yaml             UDP 1194 / TCP 9000, an unlisted
#                                                               site; a public client
#
# The nodes share the cluster namespace, each with its own address (what
# SNAT pairing sees); their resolver is Tollgate's DNS proxy
# (/etc/netns/$E2E_CL/resolv.conf, which `ip netns exec` mounts), and every
# name is answered by a real DNS server upstream of it.
#
# Use:
#   source tests/e2e/aks_lib.sh
#   aks_up                 # namespaces, servers, Tollgate; dies on failure
#   aks_step_* ...         # each records OK/FAIL with e2e_result
#   e2e_report "..."       # the table

source "$(dirname "${BASH_SOURCE[0]}")/nat_lib.sh"

AKS_NODES=20                         # node addresses 198.18.1.10 .. 198.18.1.29
AKS_SERVICE_ADDR=198.18.1.100        # the store-front service behind the DNAT rule
AKS_DNS_ADDR=203.0.113.53            # the upstream DNS server (dnsmasq)
AKS_AZURECLOUD_ADDR=$E2E_REMOTE_ADDR # 198.51.100.10: in AzureCloud.eastus (sample tags)
AKS_PUBLIC_IP=192.0.2.10             # the frontend IP the DNAT rule publishes
AKS_HCP_NAME=aks-demo-1a2b3c4d.hcp.eastus.azmk8s.io
AKS_UNLISTED=downloads.example.net   # no rule allows it (until the demo's live change)
AKS_UNLISTED2=files.example.org      # no rule allows it, ever
# name address: the seeds' endpoints (reached by name through the DNS proxy)
AKS_HOSTS=(
	"mcr.microsoft.com 203.0.113.20"
	"eastus.data.mcr.microsoft.com 203.0.113.21"
	"management.azure.com 203.0.113.22"
	"login.microsoftonline.com 203.0.113.23"
	"$AKS_HCP_NAME 203.0.113.24"
	"ghcr.io 203.0.113.30"
	"ntp.ubuntu.com 203.0.113.40"
	"$AKS_UNLISTED 203.0.113.50"
	"$AKS_UNLISTED2 203.0.113.51"
)
AKS_REPO=$E2E_REPO

# nat_lib's config writer calls this: the example policy, unchanged.
nat_write_policy() {
	cp "$AKS_REPO/rules/examples/aks-egress.yaml" "$1"
}

aks_node() { echo "198.18.1.$((10 + $1))"; } # aks_node 0..19

aks_addr_of() { # NAME -> its address in AKS_HOSTS
	local h
	for h in "${AKS_HOSTS[@]}"; do
		[[ "${h% *}" == "$1" ]] && { echo "${h#* }"; return 0; }
	done
	return 1
}

# A CA and one server certificate for every name of the scenario.
aks_make_certs() {
	local d=$E2E_TMP/pki san="" h
	mkdir -p "$d"
	for h in "${AKS_HOSTS[@]}"; do san+="DNS:${h% *},"; done
	san+="DNS:*.data.mcr.microsoft.com,DNS:*.hcp.eastus.azmk8s.io"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Tollgate demo CA" \
		-keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1 || e2e_die "openssl: CA"
	openssl req -newkey rsa:2048 -nodes -subj "/CN=mcr.microsoft.com" \
		-keyout "$d/server.key" -out "$d/server.csr" >/dev/null 2>&1 || e2e_die "openssl: CSR"
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" >"$d/ext.cnf"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/ext.cnf" -out "$d/server.pem" >/dev/null 2>&1 ||
		e2e_die "openssl: server certificate"
	AKS_CA=$d/ca.pem
}

aks_dnsmasq_conf() { # FILE: the upstream's answers (rewritten to move a name)
	local h
	{
		echo "no-resolv"
		echo "no-hosts"
		echo "bind-interfaces"
		echo "listen-address=$AKS_DNS_ADDR"
		echo "port=53"
		echo "local-ttl=${AKS_DNS_TTL:-300}"
		echo "log-queries"
		for h in "${AKS_HOSTS[@]}"; do echo "host-record=${h% *},${h#* }"; done
		echo "cname=pkg-containers.githubusercontent.com,ghcr.io"
	} >"$1"
}

aks_up() {
	for t in openssl dnsmasq; do
		command -v "$t" >/dev/null 2>&1 || e2e_die "missing tool '$t' (run tools/install-deps.sh)"
	done
	[[ -n "${TOLLCTL:-}" && -x "$TOLLCTL" ]] || e2e_die "TOLLCTL is not set (path of tollctl)"
	e2e_topology_up
	nat_init
	local i h
	# The nodes: more addresses on the cluster's link, and the service.
	for ((i = 1; i < AKS_NODES; i++)); do
		ip -n "$E2E_CL" addr add "$(aks_node "$i")/24" dev eth0
	done
	ip -n "$E2E_CL" addr add "$AKS_SERVICE_ADDR/24" dev eth0
	# The internet: one address per name, the DNS server, on inet's link.
	ip -n "$E2E_INET" addr add "$AKS_DNS_ADDR/24" dev eth0
	for h in "${AKS_HOSTS[@]}"; do
		ip -n "$E2E_INET" addr add "${h#* }/24" dev eth0
	done
	# The nodes' resolver is Tollgate (ip netns exec mounts this file over
	# /etc/resolv.conf in the namespace).
	AKS_NETNS_ETC=/etc/netns/$E2E_CL
	E2E_CLEANUP_DIRS+=("$AKS_NETNS_ETC")
	mkdir -p "$AKS_NETNS_ETC"
	echo "nameserver $E2E_FW_IN_ADDR" >"$AKS_NETNS_ETC/resolv.conf"
	echo "options timeout:2 attempts:2" >>"$AKS_NETNS_ETC/resolv.conf"
	# No /etc/hosts shortcuts in the namespaces: every name goes through DNS.
	printf '127.0.0.1 localhost\n' >"$AKS_NETNS_ETC/hosts"

	aks_make_certs
	aks_dnsmasq_conf "$E2E_TMP/dnsmasq.conf"
	e2e_bg "$E2E_INET" "$E2E_TMP/dnsmasq.log" dnsmasq --keep-in-foreground --log-facility=- \
		--conf-file="$E2E_TMP/dnsmasq.conf" --pid-file="$E2E_TMP/dnsmasq.pid" --user=root
	AKS_DNSMASQ_PID=$E2E_LAST_PID
	e2e_bg "$E2E_INET" "$E2E_TMP/tls_server.out" python3 "$E2E_LIB_DIR/tls_server.py" \
		--listen 0.0.0.0:443 --plain 0.0.0.0:80 --cert "$E2E_TMP/pki/server.pem" \
		--key "$E2E_TMP/pki/server.key" --log "$E2E_TMP/servers.log"
	e2e_wait_listen "$E2E_INET" 443 10 || e2e_die "HTTPS server did not start"
	nat_udp_echo_start "$E2E_INET" "$(aks_addr_of ntp.ubuntu.com)" 123 ntp
	nat_udp_echo_start "$E2E_INET" "$AKS_AZURECLOUD_ADDR" 1194 tunnel-udp
	nat_whoami_start "$E2E_INET" "$AKS_AZURECLOUD_ADDR" 9000 tunnel-tcp
	nat_whoami_start "$E2E_CL" "$AKS_SERVICE_ADDR" 80 store-front

	AKS_SOCK=$E2E_TMP/tollgate.sock
	AKS_DLOG=$E2E_TMP/decisions.jsonl
	export TOLLGATE_SOCKET=$AKS_SOCK
	E2E_EXTRA_CONFIG="control:
  socket: $AKS_SOCK
metrics:
  listen: 127.0.0.1:9469
logs:
  decisions: $AKS_DLOG
dns:
  upstreams: [$AKS_DNS_ADDR]"
	e2e_router_start
}

# aks_curl NODE URL [curl options]: from node NODE (0..19); prints
# "HTTP_CODE BODY-FIRST-LINE"; curl's status is ours.
aks_curl() {
	local node=$1 url=$2 out st=0
	shift 2
	out=$(ip netns exec "$E2E_CL" curl -sS --noproxy '*' --cacert "$AKS_CA" \
		--interface "$(aks_node "$node")" --connect-timeout 5 --max-time 10 \
		-w '\n%{http_code}' "$@" "$url" 2>&1) || st=$?
	printf '%s %s\n' "$(tail -1 <<<"$out")" "$(head -1 <<<"$out")"
	return $st
}

# Connections the servers logged for NAME (by SNI or Host), and the
# application bytes they received in all.
aks_server_seen() { # NAME -> "CONNECTIONS BYTES"
	python3 - "$E2E_TMP/servers.log" "$1" <<'EOF'
import json, sys
n = b = 0
try:
    for line in open(sys.argv[1]):
        r = json.loads(line)
        if sys.argv[2] in (r.get("sni"), (r.get("host") or "").split(":")[0]):
            n += 1
            b += r["raw_bytes"]
except FileNotFoundError:
    pass
print(n, b)
EOF
}

# Application bytes the servers received on connections to ADDR:443 whose
# hello never arrived (what a refused flow may leave: a bare handshake).
aks_server_bytes_at() { # ADDR -> bytes received in all on ADDR
	python3 - "$E2E_TMP/servers.log" "$1" <<'EOF'
import json, sys
b = 0
try:
    for line in open(sys.argv[1]):
        r = json.loads(line)
        if r["local"].split(":")[0] == sys.argv[2]:
            b += r["raw_bytes"]
except FileNotFoundError:
    pass
print(b)
EOF
}

# --- the steps ---------------------------------------------------------------

# An allowed name over HTTPS from a node: 200 from the server that holds it.
aks_step_https_allowed() { # NODE NAME [WHY]
	local node=$1 name=$2 why=${3:-application rule, FQDN tag} got st=0
	got=$(aks_curl "$node" "https://$name/") || st=$?
	[[ $st == 0 && "$got" == "200 hello from $name" ]]
	e2e_expect "node $node: https://$name ($why)" \
		"200 hello from $name" "${got:-curl status $st}" $?
}

# The unlisted site: refused before any byte of the request reaches it.
aks_step_https_refused() { # NODE NAME
	local node=$1 name=$2 got st=0 addr before after resolved ok
	addr=$(aks_addr_of "$name")
	resolved=$(aks_resolve "$name")
	before=$(aks_server_bytes_at "$addr")
	got=$(aks_curl "$node" "https://$name/") || st=$?
	sleep 0.3
	after=$(aks_server_bytes_at "$addr")
	[[ "$resolved" == "$addr" && $st != 0 && $st != 6 && "$before" == "$after" ]]
	ok=$?
	e2e_expect "node $node: https://$name (no rule) is refused" \
		"resolves, refused, server receives 0 bytes" \
		"resolved to ${resolved:-nothing}, curl status $st, server received $((after - before)) bytes" $ok
}

# NAME's address as the nodes resolve it (through Tollgate's DNS proxy).
aks_resolve() {
	ip netns exec "$E2E_CL" getent ahostsv4 "$1" | awk 'NR == 1 { print $1 }'
}

aks_step_http_refused() { # NODE NAME: plain HTTP to the unlisted site
	local node=$1 name=$2 got st=0 addr before after resolved ok
	addr=$(aks_addr_of "$name")
	resolved=$(aks_resolve "$name")
	before=$(aks_server_bytes_at "$addr")
	got=$(aks_curl "$node" "http://$name/") || st=$?
	sleep 0.3
	after=$(aks_server_bytes_at "$addr")
	[[ "$resolved" == "$addr" && "$got" != "200 "* && $st != 6 && "$before" == "$after" ]]
	ok=$?
	e2e_expect "node $node: http://$name (no rule) is refused" \
		"resolves, no 200, server receives 0 bytes" \
		"resolved to ${resolved:-nothing}, ${got:-curl status $st}, server received $((after - before)) bytes" $ok
}

# ghcr.io: a network rule with destination_fqdns, allowed once the DNS proxy
# has seen the name resolve (no inspection: TCP 443 by address).
aks_step_ghcr() {
	local got st=0
	got=$(aks_curl 3 "https://ghcr.io/") || st=$?
	[[ $st == 0 && "$got" == "200 hello from ghcr.io" ]]
	e2e_expect "node 3: https://ghcr.io (network rule, FQDN via DNS proxy)" \
		"200 hello from ghcr.io" "${got:-curl status $st}" $?
}

aks_step_ntp() {
	local addr got st=0
	addr=$(aks_resolve ntp.ubuntu.com)
	got=$(nat_udp_ask "$E2E_CL" "${addr:-0.0.0.0}" 123 "$(aks_node 4)") || st=$?
	[[ $st == 0 && "$got" == server=ntp* ]]
	e2e_expect "node 4: ntp.ubuntu.com ($addr) UDP 123 (network rule, FQDN)" \
		"an answer from ntp" "${got:-no answer}" $?
}

aks_step_tunnel() {
	local got st=0
	got=$(nat_udp_ask "$E2E_CL" "$AKS_AZURECLOUD_ADDR" 1194 "$(aks_node 5)") || st=$?
	[[ $st == 0 && "$got" == server=tunnel-udp* ]]
	e2e_expect "node 5: AzureCloud.eastus UDP 1194 (service tag)" "an answer" \
		"${got:-no answer}" $?
	st=0
	got=$(nat_curl "$E2E_CL" "http://$AKS_AZURECLOUD_ADDR:9000/" --interface "$(aks_node 5)") || st=$?
	[[ $st == 0 && "$got" == server=tunnel-tcp* ]]
	e2e_expect "node 5: AzureCloud.eastus TCP 9000 (service tag)" "an answer" \
		"${got:-curl status $st}" $?
}

# The public client (on the internet) reaches the store front through DNAT.
aks_step_dnat() {
	local got st=0
	got=$(nat_curl "$E2E_INET" "http://$AKS_PUBLIC_IP/" --interface "$E2E_INET_ADDR") || st=$?
	[[ $st == 0 && "$got" == server=store-front* ]]
	e2e_expect "public client: http://$AKS_PUBLIC_IP/ (DNAT to $AKS_SERVICE_ADDR:80)" \
		"the store front answers" "${got:-curl status $st}" $?
}

# The nodes' flows left on frontend IPs only, spread by pairing.
aks_step_frontends() {
	local ips
	ips=$(python3 - "$E2E_TMP/servers.log" <<'EOF'
import json, sys
seen = set()
for line in open(sys.argv[1]):
    seen.add(json.loads(line)["peer"].rsplit(":", 1)[0])
print(" ".join(sorted(seen)))
EOF
)
	local ok=0 ip
	[[ -n "$ips" ]] || ok=1
	for ip in $ips; do nat_is_frontend "$ip" || ok=1; done
	e2e_expect "the internet saw only frontend IPs" "192.0.2.10-29 only" "${ips:-none}" $ok
}

aks_step_show_snat() {
	local out st=0
	out=$("$TOLLCTL" show snat 2>&1) || st=$?
	printf '%s\n' "$out" | sed 's/^/    /'
	[[ $st == 0 ]]
	e2e_expect "tollctl show snat" "exit 0" "exit $st" $?
}

aks_step_metrics() {
	local out st=0 lines
	out=$(ip netns exec "$E2E_FW" curl -sS --max-time 5 http://127.0.0.1:9469/metrics 2>&1) || st=$?
	lines=$(grep -E '^tollgate_(snat_ports_in_use|sessions|policy_generation|rule_hits_total|drops_total)' <<<"$out" |
		head -8)
	printf '%s\n' "$lines" | sed 's/^/    /'
	local ok n
	[[ $st == 0 && -n "$lines" ]]
	ok=$?
	n=$(wc -l <<<"$out")
	e2e_expect "metrics on 127.0.0.1:9469/metrics" "Prometheus text" "$n lines, status $st" $ok
}

# A live rule change: allow the unlisted site, and the next try succeeds.
aks_step_apply_allow_unlisted() {
	local pol=$E2E_TMP/policy-v2.yaml out st=0 gen
	cp "$AKS_REPO/rules/examples/aks-egress.yaml" "$pol"
	cat >>"$pol" <<EOF
  - name: demo-change
    priority: 300
    rule_collections:
      - name: allow-downloads
        kind: application
        priority: 100
        action: allow
        rules:
          - name: downloads
            source_addresses: ["198.18.1.0/24"]
            protocols: ["http:80", "https:443"]
            target_fqdns: [$AKS_UNLISTED]
EOF
	out=$("$TOLLCTL" apply "$pol" 2>&1) || st=$?
	printf '%s\n' "$out" | sed 's/^/    /'
	local first=${out%%$'\n'*}
	[[ $st == 0 ]]
	e2e_expect "tollctl apply (allow $AKS_UNLISTED)" "exit 0, new generation" "exit $st: $first" $?
	aks_step_https_allowed 6 "$AKS_UNLISTED" "allowed by the new rule"
}

# The demo's steps, in order (tools/demo.sh and tests/e2e/test_aks.sh).
aks_demo_steps() {
	aks_step_https_allowed 0 mcr.microsoft.com
	aks_step_https_allowed 1 eastus.data.mcr.microsoft.com
	aks_step_https_allowed 2 management.azure.com
	aks_step_https_allowed 2 login.microsoftonline.com
	aks_step_https_allowed 1 "$AKS_HCP_NAME"
	aks_step_https_refused 6 "$AKS_UNLISTED"
	aks_step_http_refused 6 "$AKS_UNLISTED"
	aks_step_ghcr
	aks_step_ntp
	aks_step_tunnel
	aks_step_dnat
	aks_step_frontends
	aks_step_show_snat
	aks_step_metrics
	aks_step_apply_allow_unlisted
}
