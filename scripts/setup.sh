#!/usr/bin/env bash
# Installs what tcptrace needs to build and test on a Debian/Ubuntu machine,
# skipping whatever is already there, and puts a Go ≥ 1.25 first on PATH.
# Sourced by scripts/run.sh and scripts/test.sh.
set -euo pipefail

tcptrace_need_go="1.25"
tcptrace_go_toolchain="go1.26.8"

_sudo() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

_apt_updated=""
_apt_install() {
	local missing=()
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if ! command -v apt-get >/dev/null; then
		echo "setup: please install: ${missing[*]} (no apt-get on this machine)" >&2
		return 1
	fi
	if [ -z "$_apt_updated" ]; then
		_sudo apt-get update -qq
		_apt_updated=1
	fi
	echo "setup: installing ${missing[*]}" >&2
	_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

_go_ok() {
	command -v go >/dev/null || return 1
	local v
	v=$(go env GOVERSION 2>/dev/null | sed 's/^go//') || return 1
	[ "$(printf '%s\n%s\n' "$tcptrace_need_go" "$v" | sort -V | head -1)" = "$tcptrace_need_go" ]
}

# libpcap (cgo) for filters and live capture; gcc for cgo; ca-certificates
# for the module proxy; tools the tests drive.
_apt_install ca-certificates gcc libc6-dev libpcap-dev git iproute2 nftables tcpdump chromium

export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"
if ! _go_ok; then
	# Debian's own Go may be older than 1.25. Any Go can fetch the official
	# toolchain as a module from the Go module proxy and run it from there.
	command -v go >/dev/null || _apt_install golang-go
	mod="golang.org/toolchain@v0.0.1-${tcptrace_go_toolchain}.linux-$(dpkg --print-architecture)"
	echo "setup: fetching $tcptrace_go_toolchain from the Go module proxy" >&2
	dir=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "$mod" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
	export PATH="$dir/bin:$PATH"
	_go_ok || { echo "setup: could not get Go >= $tcptrace_need_go" >&2; exit 1; }
fi
export CGO_ENABLED=1
