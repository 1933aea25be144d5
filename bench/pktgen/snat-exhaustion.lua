-- SPDX-License-Identifier: BSD-3-Clause
--
-- The SNAT exhaustion study on real NICs, for Pktgen-DPDK (the same ramp as
-- `tollgate-bench snat-exhaustion`): new UDP flows from the cluster subnet
-- 198.18.0.0/16 (every source address, source ports 1024-65535) to DESTS
-- destinations 198.51.100.1 and on, port 1194, offered in STEPS equal steps
-- up to TO_PCT percent of the capacity FRONTEND_IPS x DESTS x PORTS, at a
-- RATE low enough that nothing is lost for want of speed, with a pause after
-- every step to read `tollctl show snat` and the metrics on Tollgate (see
-- README.md). Port 0 of the generator faces Tollgate's inside interface.
--
--   pktgen -l 0-2 -n 4 -- -P -m "[1:2].0" -f snat-exhaustion.lua
--
-- Edit the settings below for each run of the study (FRONTEND_IPS 1, 2, 20
-- and DESTS 1, 10, 100, as in bench/README.md).

package.path = package.path .. ";?.lua;test/?.lua;app/?.lua;"
require "Pktgen"

local PORT = "0"
local TOLLGATE_INSIDE_MAC = "02:00:00:00:00:01" -- `tollctl show interfaces`
local GENERATOR_MAC = nil                      -- nil: the port's own
local FRONTEND_IPS = 1        -- as configured in Tollgate's frontend_ips
local DESTS = 1               -- 1, 10 or 100 destinations
local PORTS = 64512           -- ports per frontend IP per destination
                              -- (1024-65535; one worker holds all of them)
local TO_PCT = 125            -- ramp past 100 %
local STEPS = 10
local RATE_PCT = 1            -- of line rate: 148,800 frames/s at 10 GbE
local PAUSE_MS = 5000         -- per step, to read tollctl and the metrics

local capacity = FRONTEND_IPS * DESTS * PORTS
local total = math.floor(capacity * TO_PCT / 100)

local function ip_of(base, n)
	-- base "198.51.100." + n for n in 1..254
	return base .. tostring(n)
end

pktgen.stop(PORT)
pktgen.set(PORT, "size", 64)
pktgen.set_proto(PORT, "udp")
pktgen.set(PORT, "rate", RATE_PCT)
pktgen.set_mac(PORT, "dst", TOLLGATE_INSIDE_MAC)
if GENERATOR_MAC ~= nil then
	pktgen.set_mac(PORT, "src", GENERATOR_MAC)
end

-- Sources: every host of 198.18.0.0/16 and, independently, every port from
-- 1024: the pair repeats only after lcm(65534, 64512) frames, far beyond
-- the largest ramp (20 x 100 x 64,512 x 1.25 = 161 million).
pktgen.range.src_ip(PORT, "start", "198.18.0.1")
pktgen.range.src_ip(PORT, "inc", "0.0.0.1")
pktgen.range.src_ip(PORT, "min", "198.18.0.1")
pktgen.range.src_ip(PORT, "max", "198.18.255.254")
pktgen.range.src_port(PORT, "start", 1024)
pktgen.range.src_port(PORT, "inc", 1)
pktgen.range.src_port(PORT, "min", 1024)
pktgen.range.src_port(PORT, "max", 65535)

-- Destinations round-robin, one port: each gets total / DESTS flows.
pktgen.range.dst_ip(PORT, "start", ip_of("198.51.100.", 1))
pktgen.range.dst_ip(PORT, "inc", "0.0.0.1")
pktgen.range.dst_ip(PORT, "min", ip_of("198.51.100.", 1))
pktgen.range.dst_ip(PORT, "max", ip_of("198.51.100.", DESTS))
pktgen.range.dst_port(PORT, "start", 1194)
pktgen.range.dst_port(PORT, "inc", 0)
pktgen.range.dst_port(PORT, "min", 1194)
pktgen.range.dst_port(PORT, "max", 1194)
pktgen.range.pkt_size(PORT, "start", 64)
pktgen.range.pkt_size(PORT, "inc", 0)
pktgen.range.pkt_size(PORT, "min", 64)
pktgen.range.pkt_size(PORT, "max", 64)
pktgen.set_range(PORT, "on")

printf("snat-exhaustion: %d frontend IPs x %d destinations x %d ports = %d; " ..
       "offering %d new flows in %d steps\n", FRONTEND_IPS, DESTS, PORTS, capacity,
       total, STEPS)
printf("%8s %12s %8s\n", "step", "offered", "util%")

local offered = 0
for step = 1, STEPS do
	local target = math.floor(total * step / STEPS)
	local n = target - offered

	pktgen.set(PORT, "count", n)
	pktgen.start(PORT)
	-- Wait (bounded) until the port has sent this step's frames.
	local waited = 0
	while waited < 600 do
		pktgen.delay(1000)
		waited = waited + 1
		local sending = pktgen.isSending(PORT)
		if sending[tonumber(PORT)] == "n" then
			break
		end
	end
	offered = target
	printf("%8d %12d %8.1f\n", step, offered, 100.0 * offered / capacity)
	pktgen.pause(string.format("step %d: read `tollctl show snat` and " ..
		"tollgate_snat_ports_in_use / tollgate_drops_total{reason=\"snat-exhausted\"} now\n",
		step), PAUSE_MS)
end
pktgen.set_range(PORT, "off")
printf("snat-exhaustion: done; expect ports in use = min(offered, %d), refusals = offered - that\n",
       capacity)
