#!/bin/sh
# End-to-end tests of `tollctl validate` and `tollctl match`: exit codes,
# error text (FILE:LINE:COL) and the JSON verdict line.
# usage: tollctl_test.sh TOLLCTL SOURCE_ROOT
set -u
T=$1
ROOT=$2
EX=$ROOT/rules/examples/aks-egress.yaml
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
fails=0

# check NAME WANT_RC GREP_PATTERN -- CMD...   (pattern matched on stdout+stderr)
check() {
	name=$1 want=$2 pat=$3
	shift 4
	"$@" >"$TMP/out" 2>&1
	rc=$?
	if [ "$rc" != "$want" ] || ! grep -qF -- "$pat" "$TMP/out"; then
		echo "FAIL $name: rc=$rc (want $want), output:"
		sed 's/^/  | /' "$TMP/out"
		echo "  wanted: $pat"
		fails=$((fails + 1))
	else
		echo "ok   $name"
	fi
}

check help 0 "validate" -- "$T" --help
check help-validate 0 "usage: tollctl validate" -- "$T" validate --help
check help-match 0 "usage: tollctl match" -- "$T" help match
check no-args 2 "usage: tollctl" -- "$T"
check unknown-cmd 2 "unknown command 'frobnicate'" -- "$T" frobnicate
check validate-ok 0 "OK (1 rule collection groups, 3 rule collections, 7 rules)" -- "$T" validate "$EX"
check validate-missing-arg 2 "missing POLICY file" -- "$T" validate
check validate-extra-arg 2 "unexpected argument" -- "$T" validate "$EX" extra
check validate-bad-opt 2 "unknown option '--frob'" -- "$T" validate --frob "$EX"
check validate-nofile 1 "cannot open" -- "$T" validate "$TMP/none.yaml"

cat >"$TMP/bad.yaml" <<'Y'
rule_collection_groups:
  - name: g
    priority: 10
    rule_collections:
      - name: c
        kind: network
        priority: 100
        action: allow
        rules:
          - name: r
            protocols: [TCP]
            source_addresses: ["10.0.0.0/33"]
            destination_addresses: [NoSuchTag.eastus]
            destination_ports: ["70000"]
            frobnicate: yes
          - name: r
Y
check validate-errors 1 "bad.yaml:3:15: priority 10 out of range: expected 100-65000" -- "$T" validate "$TMP/bad.yaml"
check validate-errors-cidr 1 "bad.yaml:12:32: bad address '10.0.0.0/33'" -- "$T" validate "$TMP/bad.yaml"
check validate-errors-tag 1 "bad.yaml:13:37: unknown service tag 'NoSuchTag.eastus'" -- "$T" validate "$TMP/bad.yaml"
check validate-errors-port 1 "bad.yaml:14:33: bad port '70000': port out of range" -- "$T" validate "$TMP/bad.yaml"
check validate-errors-key 1 "bad.yaml:15:13: unknown key 'frobnicate' in a network rule" -- "$T" validate "$TMP/bad.yaml"
check validate-errors-empty 1 "bad.yaml:16:13: empty rule 'r'" -- "$T" validate "$TMP/bad.yaml"
check validate-errors-dup 1 "bad.yaml:16:19: duplicate rule name 'r'" -- "$T" validate "$TMP/bad.yaml"
check validate-errors-count 1 "bad.yaml: 7 errors" -- "$T" validate "$TMP/bad.yaml"

head -c 100000 /dev/urandom >"$TMP/garbage.yaml"
check validate-garbage 1 "garbage.yaml:" -- "$T" validate "$TMP/garbage.yaml"
truncate -s 100M "$TMP/huge.yaml"
check validate-huge 1 "larger than the 16777216-byte limit" -- "$T" validate "$TMP/huge.yaml"
rm -f "$TMP/huge.yaml"

M="$T match --policy $EX"
check match-apiudp 0 '{"action": "allow", "group": "aks", "collection": "aksfwnr", "rule": "apiudp", "reason": "rule matched"' -- $M --src 198.18.1.4 --dst 198.51.100.9 --proto udp --port 1194
check match-apitcp 0 '"rule": "apitcp"' -- $M --src 198.18.1.4 --dst 203.0.113.9 --proto tcp --port 9000
check match-dnat 0 '"action": "dnat", "group": "aks", "collection": "exampleset", "rule": "inboundrule"' -- $M --src 203.0.113.50 --dst 192.0.2.10 --proto tcp --port 80
check match-dnat-xlat 0 '"translated_address": "198.18.1.100", "translated_port": 80' -- $M --src 203.0.113.50 --dst 192.0.2.10 --proto udp --port 80
check match-app 0 '"collection": "aksfwar", "rule": "fqdn"' -- $M --src 198.18.1.4 --dst 203.0.113.9 --proto tcp --port 443 --fqdn abc.HCP.eastus.azmk8s.io.
check match-app-http 0 '"rule": "fqdn"' -- $M --src 198.18.1.4 --dst 203.0.113.9 --proto tcp --port 80 --fqdn packages.microsoft.com
check match-app-nomatch 0 '{"action": "deny", "group": null, "collection": null, "rule": null, "reason": "no application rule matched the FQDN"' -- $M --src 198.18.1.4 --dst 203.0.113.9 --proto tcp --port 443 --fqdn www.example.com
check match-app-boundary 0 '"reason": "no application rule matched the FQDN"' -- $M --src 198.18.1.4 --dst 203.0.113.9 --proto tcp --port 443 --fqdn evilmcr.microsoft.com
check match-default 0 '"action": "deny", "group": null, "collection": null, "rule": null, "reason": "no rule matched"' -- $M --src 198.18.1.4 --dst 203.0.113.9 --proto udp --port 53
check match-needs-fqdn 0 '"reason": "no network rule matched; an application rule may allow it' -- $M --src 198.18.1.4 --dst 203.0.113.9 --proto tcp --port 443
check match-time-unresolved 0 '"reason": "no rule matched"' -- $M --src 198.18.1.4 --dst 203.0.113.9 --proto udp --port 123
check match-time-resolved 0 '"rule": "time"' -- $M --src 198.18.1.4 --dst 203.0.113.9 --proto udp --port 123 --resolve ntp.ubuntu.com=203.0.113.9
check match-docker 0 '"rule": "docker"' -- $M --src 198.18.1.4 --dst 203.0.113.7 --proto tcp --port 443 --resolve registry-1.docker.io=203.0.113.7
check match-idn 0 '"fqdn": "xn--bcher-kva.example"' -- $M --src 198.18.1.4 --dst 203.0.113.9 --proto tcp --port 443 --fqdn bücher.example
check match-icmp 0 '"reason": "no rule matched"' -- $M --src 198.18.1.4 --dst 203.0.113.9 --proto icmp

check match-no-policy 2 "missing --policy FILE" -- "$T" match --src 1.2.3.4 --dst 1.2.3.4 --proto tcp --port 1
check match-no-dst 2 "missing --dst" -- $M --src 1.2.3.4 --proto tcp --port 1
check match-bad-ip 2 "bad --src '1.2.3': expected an IPv4 address" -- $M --src 1.2.3 --dst 1.2.3.4 --proto tcp --port 1
check match-bad-proto 2 "bad --proto 'sctp': expected tcp, udp or icmp" -- $M --src 1.2.3.4 --dst 1.2.3.4 --proto sctp --port 1
check match-bad-port 2 "bad --port '0': expected 1-65535" -- $M --src 1.2.3.4 --dst 1.2.3.4 --proto tcp --port 0
check match-no-port 2 "missing --port (required for tcp)" -- $M --src 1.2.3.4 --dst 1.2.3.4 --proto tcp
check match-bad-fqdn 2 "bad --fqdn 'a..b': empty label" -- $M --src 1.2.3.4 --dst 1.2.3.4 --proto tcp --port 443 --fqdn a..b
check match-bad-scheme 2 "bad --scheme 'ftp'" -- $M --src 1.2.3.4 --dst 1.2.3.4 --proto tcp --port 443 --scheme ftp
check match-missing-value 2 "option '--src' needs a value" -- $M --dst 1.2.3.4 --proto tcp --port 443 --src
check match-bad-policy 1 "bad.yaml:3:15: priority 10 out of range" -- "$T" match --policy "$TMP/bad.yaml" --src 1.2.3.4 --dst 1.2.3.4 --proto tcp --port 1

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
echo "all tollctl checks passed"
