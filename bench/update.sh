#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Benchmark (issue 6): time from `tollctl apply` to the new rule set active
# on every worker, for rules/examples/aks-egress.yaml and for a generated
# 10,000-rule policy. Runs Tollgate in the e2e namespaces (tests/e2e/lib.sh)
# with no traffic, applies each policy UPDATE_RUNS times (alternating with a
# variant that changes one rule, so that every apply publishes a new
# generation) and prints median, p10, p90 and max of what the appliance
# reports in `tollctl apply --json`: compile_ms (load + validate + compile,
# on the control thread), publish_ms (scratch, hit arrays, diff, the swap)
# and active_ms (from the request's arrival to every worker past a
# quiescent state on the new policy). Loss under load: tests/e2e/test_hot_update.sh.
#
#   sudo TOLLGATE=build/control/tollgate TOLLCTL=build/tools/tollctl/tollctl bash bench/update.sh
#
# Needs root (namespaces). UPDATE_RUNS (default 30), UPDATE_RULES (10000).
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/../tests/e2e/lib.sh"

: "${TOLLGATE:=$E2E_REPO/build/control/tollgate}"
: "${TOLLCTL:=$E2E_REPO/build/tools/tollctl/tollctl}"
: "${UPDATE_RUNS:=30}"
: "${UPDATE_RULES:=10000}"

e2e_init
e2e_topology_up
SOCK="$E2E_TMP/tollgate.sock"
E2E_EXTRA_CONFIG="control:
  socket: $SOCK"
e2e_router_start

# Generate N network rules in collections of 100, each a distinct
# destination address and port.
gen() { # FILE N VARIANT
	python3 - "$@" <<'PY'
import sys
path, n, variant = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    f.write("rule_collection_groups:\n  - name: big\n    priority: 100\n    rule_collections:\n")
    for c in range((n + 99) // 100):
        f.write("      - name: c%d\n        kind: network\n        priority: %d\n"
                "        action: allow\n        rules:\n" % (c, 100 + c))
        for r in range(100):
            i = c * 100 + r
            if i >= n:
                break
            port = 1024 + i % 60000 + (1 if variant == "b" and i == 0 else 0)
            f.write("          - name: r%d\n            protocols: [TCP]\n"
                    "            source_addresses: [\"198.18.0.0/15\"]\n"
                    "            destination_addresses: [\"203.0.%d.%d\"]\n"
                    "            destination_ports: [\"%d\"]\n" % (i, (i >> 8) & 255, i & 255, port))
PY
}

aks="$E2E_REPO/rules/examples/aks-egress.yaml"
sed 's/priority: 100$/priority: 101/' "$aks" >"$E2E_TMP/aks-b.yaml"
cp "$aks" "$E2E_TMP/aks-a.yaml"
gen "$E2E_TMP/big-a.yaml" "$UPDATE_RULES" a
gen "$E2E_TMP/big-b.yaml" "$UPDATE_RULES" b

run() { # NAME A B
	local name=$1 a=$2 b=$3 i f out="$E2E_TMP/$1.jsonl"
	: >"$out"
	for ((i = 0; i < UPDATE_RUNS; i++)); do
		f=$a
		((i % 2)) && f=$b
		ip netns exec "$E2E_FW" "$TOLLCTL" apply --socket "$SOCK" --json "$f" >>"$out" ||
			e2e_die "apply of $f failed"
	done
	python3 - "$name" "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[2])]
def fmt(k):
    v = sorted(r[k] for r in rows)
    return "%s median %8.3f  p10 %8.3f  p90 %8.3f  max %8.3f" % (
        k.ljust(10), statistics.median(v), v[len(v) // 10], v[len(v) * 9 // 10], v[-1])
print("%s: %d rules, %d applies" % (sys.argv[1], rows[0]["rules"], len(rows)))
for k in ("compile_ms", "publish_ms", "active_ms"):
    print("  " + fmt(k))
PY
}

run "aks-egress" "$E2E_TMP/aks-a.yaml" "$E2E_TMP/aks-b.yaml"
run "generated-$UPDATE_RULES" "$E2E_TMP/big-a.yaml" "$E2E_TMP/big-b.yaml"
e2e_router_stop
