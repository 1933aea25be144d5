#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Install every Debian 12 package that Tollgate's build, tests, demo and
# benchmarks need, and nothing else. Idempotent: asks dpkg which packages are
# missing and runs `apt-get update` + `apt-get install` only when some are.
# It installs no services that start on their own (no web server package: the
# demo and tests serve HTTP with python3's http.server inside a namespace), and
# changes no other host setting.
#
# Usage: bash tools/install-deps.sh        (as root, or with sudo available)
set -euo pipefail

packages=(
	# build
	meson ninja-build pkg-config gcc libc6-dev
	dpdk dpdk-dev libdpdk-dev
	libhyperscan-dev libbpf-dev libxdp-dev libyaml-dev libpcap-dev
	# tests: cmocka, the clang build (libFuzzer and the sanitizer runtimes)
	libcmocka-dev clang libclang-rt-14-dev valgrind
	# end-to-end tests and the demo: namespaces, veth, traffic, servers
	iproute2 ethtool procps iputils-ping curl python3 coreutils
	# TLS and HTTP clients and servers (inspection), a DNS server (the DNS
	# proxy's upstream), a browser (Chromium's split ClientHello), captures
	openssl gnutls-bin dnsmasq-base chromium tcpdump
	# benchmarks: plots, and Linux nftables as the comparison forwarder
	gnuplot-nox nftables lua5.4
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	if [[ "$status" != installed ]]; then
		missing+=("$p")
	fi
done

if ((${#missing[@]} == 0)); then
	echo "install-deps: nothing missing (${#packages[@]} packages already installed)"
	exit 0
fi

sudo=()
if ((EUID != 0)); then
	if command -v sudo >/dev/null 2>&1; then
		sudo=(sudo)
	else
		echo "install-deps: missing ${missing[*]}; run as root to install them" >&2
		exit 1
	fi
fi

export DEBIAN_FRONTEND=noninteractive
# Quiet on success; on failure show apt's output.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "${sudo[@]}" apt-get update >"$log" 2>&1 ||
	! "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1 </dev/null; then
	cat "$log" >&2
	echo "install-deps: FAILED to install: ${missing[*]}" >&2
	exit 1
fi
echo "install-deps: installed ${#missing[@]} package(s): ${missing[*]}"
