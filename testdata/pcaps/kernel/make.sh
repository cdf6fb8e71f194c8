#!/usr/bin/env bash
# make.sh regenerates the real-kernel TCP captures in this folder: for each
# scenario NAME it writes NAME.pcap (tcpdump), NAME.ss (raw `ss -tan` at the
# end of the capture) and NAME.kernel (the kernel's final socket states, one
# connection per line, in RFC 9293 names). README.md describes the scenarios.
#
# Usage (as root, from anywhere):
#
#	testdata/pcaps/kernel/make.sh              # every scenario
#	testdata/pcaps/kernel/make.sh refused ipv6 # a subset
#
# Each scenario runs in a fresh network namespace holding only lo, so the
# ports are fixed and nothing else is captured:
#
#	1. ip netns add tcptrace-NAME; lo up with MTU 1500 and gso_max_segs 1
#	   (loopback otherwise hands 64 KB GSO super-segments to tcpdump, which no
#	   real link carries); an nftables table with empty input/output chains.
#	2. tcpdump inside the namespace, until it reports "listening".
#	3. The Go driver (./driver) inside the namespace. It prints "conn C S"
#	   for every connection it attempts and "step X" where the scenario needs
#	   an action from this script (arm or remove an nft drop rule); it waits
#	   for our "ok". Its last step is "end": we record ss -tan while the
#	   driver still holds its sockets, stop tcpdump, then let it exit.
#	4. NAME.kernel is derived from NAME.ss and checked against the states the
#	   scenario is meant to produce, and the capture is checked with tshark;
#	   any mismatch fails the run loudly and leaves the committed files as
#	   they were (outputs are written to a temporary folder first).
#
# Requires: bash, ip (iproute2), nft, tcpdump, tshark, ss, go.
# Sysctls: none are changed from the kernel's per-namespace defaults except
# where a scenario's config_* says so (port-reuse pins tcp_tw_reuse=2 and
# tcp_tw_reuse_delay=1000, the defaults it depends on). The default
# tcp_syn_retries (6) and tcp_synack_retries (5) already outlast the ~3.5 s
# the handshake-loss scenarios are captured for, so they are left alone.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)

all_scenarios=(
	client-close server-close half-close close-wait-pileup time-wait-pileup
	final-ack-lost-before final-ack-lost-after third-ack-lost refused
	syn-unanswered synack-lost linger-abort port-reuse ipv6 any-sll2
	nanosecond data-loss zero-window ack-loss
)

# Captures must stay well under this many bytes.
max_pcap_bytes=200000

die() {
	echo "make.sh: error: $*" >&2
	exit 1
}

[[ $(id -u) == 0 ]] || die "must run as root (network namespaces, nft, tcpdump)"
for tool in ip nft tcpdump tshark ss; do
	command -v "$tool" >/dev/null || die "$tool not found"
done
go=$(command -v go || echo /usr/local/go/bin/go)
[[ -x $go ]] || die "go not found"

work=$(mktemp -d /tmp/tcptrace-kernel.XXXXXX)
ns=""
tcpdump_pid=""
driver_pid=""

# cleanup keeps the work folder of a failed run for inspection.
cleanup() {
	local status=$?
	if [[ -n $driver_pid ]]; then kill "$driver_pid" 2>/dev/null || true; fi
	if [[ -n $tcpdump_pid ]]; then kill "$tcpdump_pid" 2>/dev/null || true; fi
	if [[ -n $ns ]]; then ip netns del "$ns" 2>/dev/null || true; fi
	if ((status == 0)); then
		rm -rf "$work"
	else
		echo "make.sh: failed; captures and logs kept in $work" >&2
	fi
}
trap cleanup EXIT

in_ns() { ip netns exec "$ns" "$@"; }

# ---- nftables: one table per namespace, rules added by the scenario hooks.

nft_setup() {
	in_ns nft -f - <<-'EOF'
		table inet tcptrace {
			chain output { type filter hook output priority filter; policy accept; }
			chain input { type filter hook input priority filter; policy accept; }
		}
	EOF
}

# nft_drop HOOK COMMENT MATCH...: drop packets matching MATCH in HOOK
# (input or output), counting them under COMMENT.
nft_drop() {
	local hook=$1 comment=$2
	shift 2
	in_ns nft add rule inet tcptrace "$hook" "$@" counter drop comment "\"$comment\""
}

# nft_dropped COMMENT prints how many packets the rule COMMENT dropped.
nft_dropped() {
	in_ns nft list table inet tcptrace |
		awk -v c="comment \"$1\"" 'index($0, c) { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

# ---- per-scenario configuration, hooks, expected states and capture checks.
#
# config_X sets capture options (iface, snaplen, tcpdump_extra, sysctls);
# hook_X STEP performs the driver's step; expect_X prints the expected
# NAME.kernel lines; check_X verifies the capture (pcap path in $pcap).

C=127.0.0.1:40001 # the client of every single-connection IPv4 scenario
S=127.0.0.1:9000  # the server of every IPv4 scenario

# The client's pure ACKs to the server: flags exactly ACK.
client_pure_acks=(ip saddr 127.0.0.1 tcp sport 40001 tcp dport 9000 tcp flags == ack)

expect_client_close() { echo "$C $S TIME_WAIT CLOSED"; }
check_client_close() {
	check_handshakes 1
	want "client FIN" 'tcp.srcport==40001 && tcp.flags.fin==1' -eq 1
	want "server FIN" 'tcp.srcport==9000 && tcp.flags.fin==1' -eq 1
	want "RST" 'tcp.flags.reset==1' -eq 0
	want_before 'tcp.srcport==40001 && tcp.flags.fin==1' 'tcp.srcport==9000 && tcp.flags.fin==1'
}

expect_server_close() { echo "$C $S CLOSED TIME_WAIT"; }
check_server_close() {
	check_handshakes 1
	want "client FIN" 'tcp.srcport==40001 && tcp.flags.fin==1' -eq 1
	want "server FIN" 'tcp.srcport==9000 && tcp.flags.fin==1' -eq 1
	want "RST" 'tcp.flags.reset==1' -eq 0
	want_before 'tcp.srcport==9000 && tcp.flags.fin==1' 'tcp.srcport==40001 && tcp.flags.fin==1'
}

expect_half_close() { echo "$C $S FIN_WAIT_2 CLOSE_WAIT"; }
check_half_close() {
	check_handshakes 1
	want "client FIN" 'tcp.srcport==40001 && tcp.flags.fin==1' -eq 1
	want "server FIN" 'tcp.srcport==9000 && tcp.flags.fin==1' -eq 0
	want "RST" 'tcp.flags.reset==1' -eq 0
}

expect_close_wait_pileup() {
	local i
	for i in $(seq 40001 40025); do echo "127.0.0.1:$i $S FIN_WAIT_2 CLOSE_WAIT"; done
}
check_close_wait_pileup() {
	check_handshakes 25
	want "client FINs" 'tcp.dstport==9000 && tcp.flags.fin==1' -eq 25
	want "server FINs" 'tcp.srcport==9000 && tcp.flags.fin==1' -eq 0
	want "RST" 'tcp.flags.reset==1' -eq 0
}

expect_time_wait_pileup() {
	local i
	for i in $(seq 40001 40012); do echo "127.0.0.1:$i $S TIME_WAIT CLOSED"; done
}
check_time_wait_pileup() {
	check_handshakes 12
	want "client FINs" 'tcp.dstport==9000 && tcp.flags.fin==1' -eq 12
	want "server FINs" 'tcp.srcport==9000 && tcp.flags.fin==1' -eq 12
	want "RST" 'tcp.flags.reset==1' -eq 0
}

# final-ack-lost-*: the rule is armed after the request/response has been
# exchanged and acknowledged, so the only pure ACKs it sees are the client's
# ACKs of the server's FIN (the first one and one per retransmission).
hook_final_ack_lost_before() { nft_drop output final-ack "${client_pure_acks[@]}"; }
hook_final_ack_lost_after() { nft_drop input final-ack "${client_pure_acks[@]}"; }
expect_final_ack_lost_before() { echo "$C $S TIME_WAIT LAST_ACK"; }
expect_final_ack_lost_after() { expect_final_ack_lost_before; }
check_final_ack_lost_before() {
	check_final_ack_lost
	# Dropped in OUTPUT: the ACKs never reach lo, so nothing from the
	# client follows the server's FIN in the capture.
	local fin
	fin=$(first 'tcp.srcport==9000 && tcp.flags.fin==1')
	want "client segments after the server's FIN" "tcp.srcport==40001 && frame.number > $fin" -eq 0
}
check_final_ack_lost_after() {
	check_final_ack_lost
	# Dropped in INPUT: each FIN (original and retransmission) is answered
	# by a captured ACK that the server never receives.
	local fins fin
	fins=$(count 'tcp.srcport==9000 && tcp.flags.fin==1')
	fin=$(first 'tcp.srcport==9000 && tcp.flags.fin==1')
	want "client ACKs of the server's FIN" "tcp.srcport==40001 && tcp.flags==0x010 && frame.number > $fin" -eq "$fins"
}
check_final_ack_lost() {
	check_handshakes 1
	want "client FIN" 'tcp.srcport==40001 && tcp.flags.fin==1' -eq 1
	want "server FINs (first and retransmissions)" 'tcp.srcport==9000 && tcp.flags.fin==1' -ge 4
	want "server FIN retransmissions flagged by tshark" 'tcp.srcport==9000 && tcp.flags.fin==1 && tcp.analysis.retransmission' -ge 3
	want_before 'tcp.srcport==40001 && tcp.flags.fin==1' 'tcp.srcport==9000 && tcp.flags.fin==1'
	want_dropped final-ack -ge 4
}

hook_third_ack_lost() { nft_drop output third-ack "${client_pure_acks[@]}"; }
expect_third_ack_lost() { echo "$C $S ESTABLISHED SYN_RCVD"; }
check_third_ack_lost() {
	want "SYN" 'tcp.flags.syn==1 && tcp.flags.ack==0' -eq 1
	want "SYN-ACKs (first and retransmissions)" 'tcp.flags.syn==1 && tcp.flags.ack==1' -ge 3
	want "client segments other than the SYN" 'tcp.srcport==40001 && tcp.flags.syn==0' -eq 0
	want_dropped third-ack -ge 3
}

expect_refused() { echo "$C $S CLOSED CLOSED"; }
check_refused() {
	want "SYN" 'tcp.srcport==40001 && tcp.flags.syn==1 && tcp.flags.ack==0' -eq 1
	want "RST,ACK" 'tcp.srcport==9000 && tcp.flags==0x014' -eq 1
	want "segments" 'tcp' -eq 2
}

# SYNs are dropped after the capture point (INPUT), so they are captured.
hook_syn_unanswered() { nft_drop input syn tcp dport 9000 tcp flags == syn; }
expect_syn_unanswered() { echo "$C $S SYN_SENT CLOSED"; }
check_syn_unanswered() {
	want "SYNs (first and retransmissions)" 'tcp.srcport==40001 && tcp.flags==0x002' -ge 3
	want "segments other than SYNs" 'tcp.flags!=0x002' -eq 0
	want_dropped syn -ge 3
}

hook_synack_lost() { nft_drop input synack tcp sport 9000 tcp flags == syn '|' ack; }
expect_synack_lost() { echo "$C $S SYN_SENT SYN_RCVD"; }
check_synack_lost() {
	want "SYNs (first and retransmissions)" 'tcp.srcport==40001 && tcp.flags==0x002' -ge 3
	want "SYN-ACKs" 'tcp.srcport==9000 && tcp.flags==0x012' -ge 3
	want "client segments other than SYNs" 'tcp.srcport==40001 && tcp.flags!=0x002' -eq 0
	want_dropped synack -ge 3
}

expect_linger_abort() { echo "$C $S CLOSED CLOSED"; }
check_linger_abort() {
	check_handshakes 1
	want "client RST" 'tcp.srcport==40001 && tcp.flags.reset==1' -eq 1
	want "server RST" 'tcp.srcport==9000 && tcp.flags.reset==1' -eq 0
	want "FIN" 'tcp.flags.fin==1' -eq 0
}

config_port_reuse() { sysctls=(net.ipv4.tcp_tw_reuse=2 net.ipv4.tcp_tw_reuse_delay=1000); }
expect_port_reuse() { echo "$C $S TIME_WAIT CLOSED"; }
check_port_reuse() {
	check_handshakes 2
	want "client FINs" 'tcp.srcport==40001 && tcp.flags.fin==1' -eq 2
	want "server FINs" 'tcp.srcport==9000 && tcp.flags.fin==1' -eq 2
	want "RST" 'tcp.flags.reset==1' -eq 0
	want "SYNs tshark flags as reusing ports" 'tcp.analysis.reused_ports' -ge 1
}

expect_ipv6() { echo "[::1]:40001 [::1]:9000 TIME_WAIT CLOSED"; }
check_ipv6() {
	check_handshakes 1
	want "non-IPv6 segments" 'tcp && !ipv6' -eq 0
	want "client FIN" 'tcp.srcport==40001 && tcp.flags.fin==1' -eq 1
	want "server FIN" 'tcp.srcport==9000 && tcp.flags.fin==1' -eq 1
	want_before 'tcp.srcport==40001 && tcp.flags.fin==1' 'tcp.srcport==9000 && tcp.flags.fin==1'
}

config_any_sll2() { iface=any; }
expect_any_sll2() {
	echo "$C $S TIME_WAIT CLOSED"
	echo "127.0.0.1:40002 $S FIN_WAIT_2 CLOSE_WAIT"
}
check_any_sll2() {
	want_linktype 276
	local banner
	banner=$(tcpdump -r "$pcap" 2>&1 >/dev/null)
	[[ $banner == *"link-type LINUX_SLL2"* ]] || die "$name: tcpdump does not read $pcap as LINUX_SLL2: $banner"
	# libpcap discards the outgoing copy of each loopback packet, so every
	# segment appears once even on "any" (see README).
	check_handshakes 2
	want "FINs" 'tcp.flags.fin==1' -eq 3
	want "duplicate segments" 'tcp.analysis.retransmission || tcp.analysis.duplicate_ack' -eq 0
	want "half-closed connection's server FIN" 'tcp.srcport==9000 && tcp.dstport==40002 && tcp.flags.fin==1' -eq 0
}

config_nanosecond() { tcpdump_extra=(--time-stamp-precision nano); }
expect_nanosecond() { expect_server_close; }
check_nanosecond() {
	local magic
	magic=$(od -An -tx1 -N4 "$pcap" | tr -d ' \n')
	# 0xa1b23c4d written in the little-endian host's byte order.
	[[ $magic == 4d3cb2a1 ]] || die "$name: pcap magic bytes $magic, want 4d3cb2a1 (nanosecond pcap)"
	check_server_close
}

# Bulk scenarios keep 128 bytes of each packet: all headers, a little data.
config_data_loss() { snaplen=128; }
# The driver starts the third full segment of the response with "LOSE"; the
# quota lets the rule match one segment only, so the retransmission passes.
# The drop is in INPUT, after the capture point. In OUTPUT it would show
# nothing: a data segment that netfilter drops on the sending host makes
# ip_local_out fail, TCP treats that as "not sent" rather than lost and sends
# the same segment again at once, so the capture has no gap and no
# retransmission (see README).
hook_data_loss() {
	nft_drop input third-segment ip saddr 127.0.0.1 tcp sport 9000 @ih,0,32 0x4c4f5345 quota until 2000 bytes
}
expect_data_loss() { expect_client_close; }
check_data_loss() {
	check_handshakes 1
	want_dropped third-segment -eq 1
	want "captured segments starting with LOSE (original and retransmission)" 'tcp.srcport==9000 && tcp.payload[0:4]==4c:4f:53:45' -eq 2
	want "server retransmissions" 'tcp.srcport==9000 && (tcp.analysis.retransmission || tcp.analysis.fast_retransmission)' -eq 1
	want "retransmitted segment at relative seq 2897" 'tcp.srcport==9000 && tcp.analysis.retransmission && tcp.seq==2897' -eq 1
	want "client duplicate ACKs" 'tcp.srcport==40001 && tcp.analysis.duplicate_ack' -ge 3
	want "RST" 'tcp.flags.reset==1' -eq 0
}

config_zero_window() { snaplen=128; }
expect_zero_window() { expect_client_close; }
check_zero_window() {
	check_handshakes 1
	want "client zero-window advertisements" 'tcp.srcport==40001 && tcp.analysis.zero_window' -ge 1
	want "server zero-window probes" 'tcp.srcport==9000 && (tcp.analysis.zero_window_probe || tcp.analysis.keep_alive)' -ge 2
	want "client window updates" 'tcp.srcport==40001 && tcp.analysis.window_update' -ge 1
	want "RST" 'tcp.flags.reset==1' -eq 0
}

config_ack_loss() { snaplen=128; }
hook_ack_loss() {
	case $1 in
	drop-client-acks) nft_drop output client-acks "${client_pure_acks[@]}" ;;
	restore-client-acks)
		acks_dropped=$(nft_dropped client-acks)
		in_ns nft flush chain inet tcptrace output
		;;
	esac
}
expect_ack_loss() { expect_client_close; }
check_ack_loss() {
	check_handshakes 1
	((acks_dropped >= 5)) || die "$name: nft dropped $acks_dropped client ACKs, want >= 5"
	echo "  ok  nft rule client-acks dropped $acks_dropped (-ge 5)"
	want "server retransmissions" 'tcp.srcport==9000 && tcp.analysis.retransmission' -ge 1
	want "RST" 'tcp.flags.reset==1' -eq 0
}

# ---- capture checks.

# count FILTER prints how many packets of $pcap match the tshark filter.
count() {
	local out
	out=$(tshark -n -r "$pcap" -Y "$1" -T fields -e frame.number 2>"$work/tshark.err") ||
		die "$name: tshark -Y '$1' failed: $(cat "$work/tshark.err")"
	grep -c . <<<"$out" || true
}

# first FILTER prints the frame number of the first packet matching FILTER.
first() {
	local n
	n=$(tshark -n -r "$pcap" -Y "$1" -T fields -e frame.number 2>/dev/null | head -1)
	[[ -n $n ]] || die "$name: no packet matches '$1'"
	echo "$n"
}

# want WHAT FILTER OP N fails unless the number of packets matching FILTER
# compares to N with the test(1) operator OP.
want() {
	local what=$1 filter=$2 op=$3 n=$4 got
	got=$(count "$filter")
	if ! test "$got" "$op" "$n"; then
		die "$name: $what: $got packets match '$filter', want $op $n"
	fi
	echo "  ok  $what: $got ($op $n)"
}

# want_before A B fails unless the first packet matching A precedes the first
# matching B.
want_before() {
	local a b
	a=$(first "$1")
	b=$(first "$2")
	((a < b)) || die "$name: first '$1' (frame $a) is not before first '$2' (frame $b)"
	echo "  ok  '$1' before '$2'"
}

# check_handshakes N: N connections opened with SYN, SYN-ACK and ACK.
check_handshakes() {
	want "SYNs" 'tcp.flags==0x002' -eq "$1"
	want "SYN-ACKs" 'tcp.flags==0x012' -eq "$1"
}

# want_dropped COMMENT OP N: the nft rule COMMENT dropped OP N packets.
want_dropped() {
	local got
	got=$(nft_counters "$1")
	test "$got" "$2" "$3" || die "$name: nft rule $1 dropped $got packets, want $2 $3"
	echo "  ok  nft rule $1 dropped $got ($2 $3)"
}

# nft_counters COMMENT: the rule's count as recorded at the end step.
nft_counters() {
	awk -v c="$1" '$1 == c { print $2 }' "$out/nft-dropped"
}

# want_linktype N: the pcap file header's link type (bytes 20-23, in the
# byte order of the magic number) is N.
want_linktype() {
	local magic linktype
	magic=$(od -An -tx1 -N4 "$pcap" | tr -d ' \n')
	case $magic in
	d4c3b2a1 | 4d3cb2a1) linktype=$(od -An -tu4 --endian=little -j20 -N4 "$pcap" | tr -d ' ') ;;
	a1b2c3d4 | a1b23c4d) linktype=$(od -An -tu4 --endian=big -j20 -N4 "$pcap" | tr -d ' ') ;;
	*) die "$name: $pcap is not a pcap file (magic $magic)" ;;
	esac
	[[ $linktype == "$1" ]] || die "$name: link type $linktype, want $1"
	echo "  ok  link type $linktype"
}

# ---- ss -tan → NAME.kernel.

# kernel_states SS_FILE CONNS_FILE prints one line per distinct connection in
# CONNS_FILE ("client server" per line): both sockets' states from ss, with
# ss names mapped to RFC 9293 names, CLOSED when a socket is absent.
kernel_states() {
	awk '
		BEGIN {
			rfc["ESTAB"] = "ESTABLISHED"; rfc["SYN-SENT"] = "SYN_SENT"
			rfc["SYN-RECV"] = "SYN_RCVD"; rfc["FIN-WAIT-1"] = "FIN_WAIT_1"
			rfc["FIN-WAIT-2"] = "FIN_WAIT_2"; rfc["CLOSING"] = "CLOSING"
			rfc["TIME-WAIT"] = "TIME_WAIT"; rfc["CLOSE-WAIT"] = "CLOSE_WAIT"
			rfc["LAST-ACK"] = "LAST_ACK"
		}
		FNR == NR {
			if (FNR == 1 || $1 == "LISTEN") next
			if (!($1 in rfc)) { print "unknown ss state " $1 > "/dev/stderr"; exit 1 }
			key = $4 " " $5
			if (key in state) { print "two sockets " key > "/dev/stderr"; exit 1 }
			state[key] = rfc[$1]
			next
		}
		!seen[$1 " " $2]++ {
			c = ($1 " " $2) in state ? state[$1 " " $2] : "CLOSED"
			s = ($2 " " $1) in state ? state[$2 " " $1] : "CLOSED"
			print $1, $2, c, s
		}
	' "$1" "$2"
}

# ---- one scenario.

# tcpdump and the driver are started with ip netns exec directly, not through
# in_ns: ip execs them, so $! is their own pid, and a background subshell
# would pass on an ignored SIGINT.
start_tcpdump() {
	ip netns exec "$ns" tcpdump -i "$iface" -U --immediate-mode -B 131072 -Z root -s "$snaplen" \
		"${tcpdump_extra[@]}" -w "$pcap" tcp 2>"$out/tcpdump.err" &
	tcpdump_pid=$!
	local i
	for i in $(seq 50); do
		grep -qs 'listening on' "$out/tcpdump.err" && return
		kill -0 "$tcpdump_pid" 2>/dev/null || die "$name: tcpdump exited: $(cat "$out/tcpdump.err")"
		sleep 0.1
	done
	die "$name: tcpdump did not start: $(cat "$out/tcpdump.err")"
}

stop_tcpdump() {
	kill -TERM "$tcpdump_pid" # tcpdump flushes and prints its counts on TERM
	wait "$tcpdump_pid" || die "$name: tcpdump failed: $(cat "$out/tcpdump.err")"
	tcpdump_pid=""
	local dropped
	dropped=$(awk '/packets dropped by kernel/ { print $1 }' "$out/tcpdump.err")
	[[ $dropped == 0 ]] || die "$name: tcpdump: '${dropped:-no}' packets dropped by kernel: $(cat "$out/tcpdump.err")"
}

# end_step: the capture's last moment. The driver still holds its sockets.
end_step() {
	in_ns ss -tan >"$out/$name.ss"
	in_ns nft list table inet tcptrace |
		awk '/comment/ { for (i = 1; i < NF; i++) if ($i == "packets") p = $(i + 1); c = $NF; gsub(/"/, "", c); print c, p }' \
			>"$out/nft-dropped"
	stop_tcpdump
}

defined() { declare -F "$1" >/dev/null; }

run_scenario() {
	name=$1
	local fn=${name//-/_}
	defined "expect_$fn" || die "unknown scenario $name (known: ${all_scenarios[*]})"
	echo "== $name"

	iface=lo snaplen=262144 tcpdump_extra=() sysctls=() acks_dropped=0
	if defined "config_$fn"; then "config_$fn"; fi
	out=$work/$name
	pcap=$out/$name.pcap
	mkdir -p "$out"

	ns=tcptrace-$name
	ip netns del "$ns" 2>/dev/null || true
	ip netns add "$ns"
	in_ns ip link set lo mtu 1500 gso_max_segs 1 gso_max_size 1500 up
	local s
	for s in "${sysctls[@]}"; do in_ns sysctl -qw "$s"; done
	nft_setup
	start_tcpdump

	mkfifo "$out/to-driver" "$out/from-driver"
	ip netns exec "$ns" "$work/driver" "$name" <"$out/to-driver" >"$out/from-driver" 2>"$out/driver.err" &
	driver_pid=$!
	local to from line ended=""
	exec {to}>"$out/to-driver" {from}<"$out/from-driver"
	: >"$out/conns"
	while IFS= read -r line <&"$from"; do
		case $line in
		"conn "*)
			echo "${line#conn }" >>"$out/conns"
			continue # announcements need no answer
			;;
		"step end") end_step && ended=yes ;;
		"step "*)
			defined "hook_$fn" || die "$name: no hook for ${line#step }"
			"hook_$fn" "${line#step }"
			;;
		*) die "$name: unexpected driver output: $line" ;;
		esac
		echo ok >&"$to"
	done
	exec {to}>&- {from}<&-
	wait "$driver_pid" || die "$name: driver failed: $(cat "$out/driver.err")"
	driver_pid=""
	[[ -n $ended ]] || die "$name: driver exited without the end step"
	ip netns del "$ns"
	ns=""

	{
		echo "# $name: kernel socket states at the end of $name.pcap, from $name.ss (ss -tan)"
		echo "# client server client_state server_state"
		kernel_states "$out/$name.ss" "$out/conns"
	} >"$out/$name.kernel"
	if ! diff -u <("expect_$fn") <(grep -v '^#' "$out/$name.kernel") >"$out/states.diff"; then
		cat "$out/$name.ss" >&2
		die "$name: kernel states differ from the scenario's intent (- intended, + kernel):
$(cat "$out/states.diff")"
	fi
	echo "  ok  ss states: $(grep -v '^#' "$out/$name.kernel" | awk '{ print $3 "/" $4 }' | sort | uniq -c | xargs)"

	"check_$fn"
	local size
	size=$(stat -c %s "$pcap")
	((size < max_pcap_bytes)) || die "$name: $pcap is $size bytes, want < $max_pcap_bytes"
	echo "  ok  $(grep 'packets captured' "$out/tcpdump.err"), $size bytes, 0 dropped by kernel"

	cp "$pcap" "$out/$name.ss" "$out/$name.kernel" "$here/"
}

# ---- main.

scenarios=("$@")
if ((${#scenarios[@]} == 0)); then scenarios=("${all_scenarios[@]}"); fi
for s in "${scenarios[@]}"; do
	defined "expect_${s//-/_}" || die "unknown scenario $s (known: ${all_scenarios[*]})"
done

(cd "$repo" && "$go" build -o "$work/driver" ./testdata/pcaps/kernel/driver) || die "building the driver failed"
for s in "${scenarios[@]}"; do run_scenario "$s"; done
echo "make.sh: ${#scenarios[@]} scenario(s) regenerated in $here"
