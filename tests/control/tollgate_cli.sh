#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The daemon's command line as an operator meets it: exit codes and the
# exact first line of each error. Nothing here starts the EAL.
set -u
TOLLGATE=${TOLLGATE:?set TOLLGATE to the tollgate binary}
SRC=${SRC:?set SRC to the source tree}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

expect() { # NAME WANT_STATUS WANT_TEXT CMD...
	local name=$1 want=$2 text=$3 out st
	shift 3
	out=$("$@" 2>&1)
	st=$?
	if [[ $st -eq $want && "$out" == *"$text"* ]]; then
		echo "ok   $name"
		pass=$((pass + 1))
	else
		echo "FAIL $name: status $st (want $want); output:"
		printf '%s\n' "$out" | sed 's/^/    /'
		echo "    (wanted text: $text)"
		fail=$((fail + 1))
	fi
}

cat >"$tmp/base.yaml" <<YAML
interfaces:
  - {role: inside, device: "net_af_packet0,iface=fw-in", address: 198.18.1.1/24}
  - {role: outside, device: "net_af_packet1,iface=fw-out", address: 203.0.113.1/24}
frontend_ips: ["192.0.2.10-192.0.2.29"]
YAML
cp "$tmp/base.yaml" "$tmp/good.yaml"
echo "policy: $SRC/rules/examples/aks-egress.yaml" >>"$tmp/good.yaml"
cp "$tmp/base.yaml" "$tmp/badpol.yaml"
echo "policy: bad-policy.yaml" >>"$tmp/badpol.yaml"
printf 'rule_collection_groups:\n  - name: g\n    priority: 99\n' >"$tmp/bad-policy.yaml"
cp "$tmp/base.yaml" "$tmp/nopol.yaml"
printf 'workers: many\n' >>"$tmp/badcfg.yaml"

expect help 0 "usage: tollgate" "$TOLLGATE" --help
expect no-config 2 "--config FILE is required" "$TOLLGATE"
expect unknown-option 2 "usage: tollgate" "$TOLLGATE" --bogus
expect stray-argument 2 'unexpected argument "extra"' "$TOLLGATE" --config "$tmp/good.yaml" extra
expect missing-file 2 "$tmp/none.yaml: cannot" "$TOLLGATE" --config "$tmp/none.yaml" --check
expect bad-config 2 "$tmp/badcfg.yaml:1:10: workers: expected an integer" \
	"$TOLLGATE" --config "$tmp/badcfg.yaml" --check
expect bad-policy 2 "$tmp/bad-policy.yaml:3:15:" "$TOLLGATE" --config "$tmp/badpol.yaml" --check
expect check-ok 0 "configuration OK, policy OK" "$TOLLGATE" --config "$tmp/good.yaml" --check
expect no-policy-warning 0 "no policy in $tmp/nopol.yaml: every new flow will be refused" \
	"$TOLLGATE" --config "$tmp/nopol.yaml" --check

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
