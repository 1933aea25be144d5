#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Acceptance test of the AKS egress lockdown scenario (tests/e2e/aks_lib.sh):
# every step of the demo, plus a burst of concurrent connections from the
# nodes to one destination spread over the frontend IPs by pairing (none
# refused), and headless Chromium on a node loading an allowed name and being
# refused the unlisted one.
#
# Needs root, TOLLGATE and TOLLCTL (meson test sets them); exits 77 without root.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/aks_lib.sh"
AKS_BURST=${AKS_BURST:-3000}
AKS_BURST_ADDR=198.51.100.11   # also in AzureCloud.eastus: TCP 9000 is allowed

e2e_init
aks_up

# A server that holds every connection until told, then tells each client
# which address it came from; and a client that opens them all at once.
cat >"$E2E_TMP/burst_server.py" <<'PY'
import asyncio, resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
async def handle(r, w):
    peer = w.get_extra_info("peername")
    try:
        await r.readline()
        w.write(("%s %d\n" % peer).encode())
        await w.drain()
    finally:
        w.close()
async def main():
    srv = await asyncio.start_server(handle, sys.argv[1], int(sys.argv[2]), backlog=4096)
    async with srv:
        await srv.serve_forever()
asyncio.run(main())
PY
cat >"$E2E_TMP/burst_client.py" <<'PY'
# burst_client.py DST PORT N SRC...: open N connections spread over the
# source addresses, all at once; when every one is open (or failed), ask each
# for the address the server saw. Prints "opened N failed F" then one line
# "SRC SEEN_IP" per connection answered.
import asyncio, resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
dst, port, n, srcs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
async def one(i, sem):
    async with sem:
        return await asyncio.wait_for(
            asyncio.open_connection(dst, port, local_addr=(srcs[i % len(srcs)], 0)), 20)
async def main():
    sem = asyncio.Semaphore(256)  # SYNs in flight at once (the listen backlog)
    res = await asyncio.gather(*(one(i, sem) for i in range(n)), return_exceptions=True)
    ok = [(i, c) for i, c in enumerate(res) if not isinstance(c, BaseException)]
    print("opened %d failed %d" % (len(ok), n - len(ok)))
    for i, (r, w) in ok:
        w.write(b"go\n")
    for i, (r, w) in ok:
        try:
            line = await asyncio.wait_for(r.readline(), 20)
            print(srcs[i % len(srcs)], line.decode().split()[0])
        except Exception:
            pass
        w.close()
asyncio.run(main())
PY

step_burst() {
	ip -n "$E2E_INET" addr add "$AKS_BURST_ADDR/32" dev "$(ip -n "$E2E_INET" -br addr show to "$E2E_REMOTE_ADDR" | awk '{print $1}')"
	e2e_bg "$E2E_INET" "$E2E_TMP/burst_server.out" python3 "$E2E_TMP/burst_server.py" "$AKS_BURST_ADDR" 9000
	e2e_wait_listen "$E2E_INET" 9000 10 || e2e_die "burst server did not start"
	local srcs=() i out summary answered ips pairs_ok=0 before after
	for ((i = 0; i < AKS_NODES; i++)); do srcs+=("$(aks_node "$i")"); done
	before=$(aks_counter drop.snat-exhausted)
	out=$(ip netns exec "$E2E_CL" timeout 120 python3 "$E2E_TMP/burst_client.py" \
		"$AKS_BURST_ADDR" 9000 "$AKS_BURST" "${srcs[@]}" 2>&1)
	after=$(aks_counter drop.snat-exhausted)
	summary=$(head -1 <<<"$out")
	answered=$(tail -n +2 <<<"$out" | grep -c '^198\.18\.')
	ips=$(tail -n +2 <<<"$out" | awk '{print $2}' | sort -u | wc -l)
	# Pairing: every node always leaves on the same frontend IP.
	if tail -n +2 <<<"$out" | awk '{print $1, $2}' | sort -u | awk '{print $1}' | uniq -d | grep -q .; then
		pairs_ok=1
	fi
	local ok=0
	[[ "$summary" == "opened $AKS_BURST failed 0" && "$answered" == "$AKS_BURST" ]] || ok=1
	e2e_expect "burst: $AKS_BURST concurrent connections from $AKS_NODES nodes to $AKS_BURST_ADDR:9000" \
		"all open, all answered" "$summary, $answered answered" $ok
	ok=0
	((ips >= 5 && pairs_ok == 0)) || ok=1
	tail -n +2 <<<"$out" | awk '{ print $2 }' | while read -r ip; do
		nat_is_frontend "$ip" || echo "not a frontend IP: $ip"
	done | grep -q . && ok=1
	e2e_expect "burst: spread over frontend IPs, each node on one (pairing)" \
		">= 5 frontend IPs, one per node" "$ips frontend IPs, pairing $([[ $pairs_ok == 0 ]] && echo kept || echo broken)" $ok
	[[ "$before" =~ ^[0-9]+$ && "$before" == "$after" ]]
	e2e_expect "burst: no SNAT refusal" "drop.snat-exhausted unchanged" \
		"${before:-0} -> ${after:-0}" $?
}

# A counter from the running daemon (tollctl show stats --json).
aks_counter() {
	"$TOLLCTL" show stats --json 2>/dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1" 2>/dev/null ||
		echo "?"
}

chromium_get() { # NODE URL -> the page's text (dump-dom)
	local dir
	dir=$(mktemp -d "$E2E_TMP/chromium.XXXXXX")
	ip netns exec "$E2E_CL" timeout 60 chromium --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --user-data-dir="$dir" \
		--ignore-certificate-errors --dump-dom "$2" 2>"$dir.err"
}

step_chromium() {
	if ! command -v chromium >/dev/null 2>&1; then
		e2e_result FAIL "chromium" "installed" "missing (run tools/install-deps.sh)"
		return
	fi
	local page before after addr
	local seen ok
	page=$(chromium_get 7 https://mcr.microsoft.com/)
	seen=$(grep -o 'hello from [a-z.]*' <<<"$page" | head -1)
	[[ "$seen" == "hello from mcr.microsoft.com" ]]
	ok=$?
	e2e_expect "Chromium on a node: https://mcr.microsoft.com" "hello from mcr.microsoft.com" \
		"${seen:-no page}" $ok
	addr=$(aks_addr_of "$AKS_UNLISTED2")
	before=$(aks_server_bytes_at "$addr")
	page=$(chromium_get 7 "https://$AKS_UNLISTED2/")
	after=$(aks_server_bytes_at "$addr")
	! grep -q "hello from" <<<"$page" && [[ "$before" == "$after" ]]
	e2e_expect "Chromium on a node: https://$AKS_UNLISTED2 is refused" \
		"no page, server receives 0 bytes" "server received $((after - before)) bytes" $?
}

# The demo's steps (the last one applies a policy allowing $AKS_UNLISTED
# live), then what only the test does.
aks_demo_steps
step_chromium
step_burst
aks_step_frontends

e2e_router_stop
[[ "$E2E_ROUTER_STATUS" == 0 ]]
e2e_expect "Tollgate stops on SIGTERM" "exit status 0" "exit status $E2E_ROUTER_STATUS" $?
e2e_report "AKS egress lockdown" || { e2e_show_router_log; exit 1; }
