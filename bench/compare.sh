#!/usr/bin/env bash
# Times tcptrace against its peers on the same generated captures, in one run:
# packets per second and peak RSS of each tool, and ratios to tcptrace.
#
#   bench/compare.sh                 # 10 M-packet mix + 5 M-packet SYN flood (needs ~22 GB free in $BENCH_DIR;
#                                    # on tmpfs the inputs take memory Ostermann's tcptrace needs for the flood)
#   PACKETS=2000000 bench/compare.sh # smaller
#   RUNS=3 bench/compare.sh          # each command 3 times, the median run reported
#
# The flood is tcpsynth's realistic one (tcpsynth -realistic): a server without
# SYN cookies answering each flood SYN with a SYN-ACK it retransmits 5 times,
# some SYNs sent twice, and a port scan refused by RST,ACK; its 5 M packets
# hold 1.2 M connections.
#
# Peers (installed with apt-get when missing): tcpdump -r (the libpcap read
# ceiling), Ostermann's tcptrace, and tshark with TCP sequence analysis
# (tshark is run on the first $TSHARK_PACKETS packets only: it is ~100× slower).
# Whole-process figures come from GNU time; run on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
command -v /usr/bin/time >/dev/null || _apt_install time
for p in tshark tcptrace; do command -v "$p" >/dev/null || _apt_install "$p"; done 2>/dev/null || true
command -v tshark >/dev/null || _apt_install tshark

PACKETS=${PACKETS:-10000000}
FLOOD_PACKETS=${FLOOD_PACKETS:-5000000}
TSHARK_PACKETS=${TSHARK_PACKETS:-200000}
BENCH_DIR=${BENCH_DIR:-/dev/shm/tcptrace-bench}
mkdir -p "$BENCH_DIR" bin
go build -o bin/tcptrace ./cmd/tcptrace
go build -o bin/tcpsynth ./synth/cmd/tcpsynth
ours=bin/tcptrace
peer_tcptrace=/usr/bin/tcptrace # Ostermann's, from Debian

mix="$BENCH_DIR/mix-$PACKETS.pcap"
flood="$BENCH_DIR/flood-realistic-$FLOOD_PACKETS.pcap"
small="$BENCH_DIR/mix-$TSHARK_PACKETS.pcap"
[ -s "$mix" ] || bin/tcpsynth -q -packets "$PACKETS" -o "$mix"
[ -s "$flood" ] || bin/tcpsynth -q -realistic -packets "$FLOOD_PACKETS" -o "$flood"
[ -s "$small" ] || bin/tcpsynth -q -packets "$TSHARK_PACKETS" -o "$small"

# The same data as pcapng and gzip-compressed pcap, for the formats' costs
# (the first $FORMAT_PACKETS packets of the mix).
FORMAT_PACKETS=${FORMAT_PACKETS:-2000000}
fmt_pcap="$BENCH_DIR/mix-$FORMAT_PACKETS.pcap"
[ -s "$fmt_pcap" ] || bin/tcpsynth -q -packets "$FORMAT_PACKETS" -o "$fmt_pcap"
[ -s "$fmt_pcap.pcapng" ] || editcap -F pcapng "$fmt_pcap" "$fmt_pcap.pcapng"
[ -s "$fmt_pcap.gz" ] || gzip -1 -c "$fmt_pcap" >"$fmt_pcap.gz"
out="$BENCH_DIR/out.jsonl"

# Bulk transfers only (full-size data frames and their ACKs), for bytes/s.
BULK_PACKETS=${BULK_PACKETS:-3000000}
bulk="$BENCH_DIR/bulk-$BULK_PACKETS.pcap"
[ -s "$bulk" ] || bin/tcpsynth -q -bulk -packets "$BULK_PACKETS" -o "$bulk"
bulk_bytes=$(stat -c %s "$bulk")

# RUNS: how many times each command runs; the run with the median wall
# time is reported (the machines this runs on are shared and noisy).
RUNS=${RUNS:-1}

# measure NAME PACKETS CMD...: prints "NAME packets seconds peak_kib cpu_seconds"
measure() {
	local name=$1 n=$2
	shift 2
	cat "${@: -1}" >/dev/null 2>&1 || true # warm the page cache
	local tf all
	tf=$(mktemp)
	all=$(mktemp)
	for _ in $(seq "$RUNS"); do
		/usr/bin/time -o "$tf" -f "%e %M %U %S" "$@" >/dev/null 2>&1 || true
		tail -n 1 "$tf" | awk '{print $1, $2, $3 + $4}' >>"$all"
	done
	echo "$name $n $(sort -n "$all" | awk -v m=$(((RUNS + 1) / 2)) 'NR == m')"
	rm -f "$tf" "$all"
}

results=$(mktemp)
{
	measure "cat" "$PACKETS" cat "$mix"
	measure "tcpdump-r" "$PACKETS" tcpdump -nr "$mix" -w /dev/null
	measure "tcptrace-json-1core" "$PACKETS" taskset -c 0 "$ours" read --format json --workers 1 "$mix"
	measure "tcptrace-json" "$PACKETS" "$ours" read --format json "$mix"
	measure "tcptrace-json-to-file" "$PACKETS" sh -c "exec '$ours' read --format json '$mix' >'$out'"
	measure "ostermann-tcptrace" "$PACKETS" "$peer_tcptrace" -n "$mix"
	measure "tcptrace-json-small" "$TSHARK_PACKETS" "$ours" read --format json "$small"
	measure "tshark-small" "$TSHARK_PACKETS" tshark -n -r "$small" -o tcp.analyze_sequence_numbers:TRUE -T fields -e tcp.analysis.flags
	measure "tcptrace-flood" "$FLOOD_PACKETS" "$ours" read --format json "$flood"
	measure "ostermann-flood" "$FLOOD_PACKETS" "$peer_tcptrace" -n "$flood"
	measure "tcptrace-pcap" "$FORMAT_PACKETS" "$ours" read --format json "$fmt_pcap"
	measure "tcptrace-pcapng" "$FORMAT_PACKETS" "$ours" read --format json "$fmt_pcap.pcapng"
	measure "tcptrace-gzip" "$FORMAT_PACKETS" "$ours" read --format json "$fmt_pcap.gz"
	measure "gzip-dc" "$FORMAT_PACKETS" gzip -dc "$fmt_pcap.gz"
	measure "tcptrace-bulk" "$BULK_PACKETS" "$ours" read --format json "$bulk"
	measure "tcptrace-bulk-1core" "$BULK_PACKETS" taskset -c 0 "$ours" read --format json --workers 1 "$bulk"
} | tee "$results"
rm -f "$out"

echo
awk -v bulk_bytes="$bulk_bytes" '
{ name[NR]=$1; pps[$1]=$2/($3>0?$3:1e-9); rss[$1]=$4/1024; n[$1]=$2; sec[$1]=$3; cpu[$1]=$5 }
END {
	printf "%-22s %12s %9s %9s %10s %12s\n", "tool", "packets", "seconds", "cpu s", "Mpkt/s", "peak RSS MiB"
	for (i=1; i<=NR; i++) { k=name[i]; printf "%-22s %12d %9.2f %9.2f %10.3f %12.1f\n", k, n[k], sec[k], cpu[k], pps[k]/1e6, rss[k] }
	print ""
	printf "tcptrace (1 core) / tcpdump -r      %6.2fx\n", pps["tcptrace-json-1core"]/pps["tcpdump-r"]
	printf "tcptrace / Ostermann tcptrace       %6.2fx\n", pps["tcptrace-json"]/pps["ostermann-tcptrace"]
	printf "tcptrace / tshark (small file)      %6.2fx\n", pps["tcptrace-json-small"]/pps["tshark-small"]
	printf "tcptrace / cat (raw read ceiling)   %6.2f\n", pps["tcptrace-json"]/pps["cat"]
	printf "tcptrace (2 workers) / 1 core       %6.2fx\n", pps["tcptrace-json"]/pps["tcptrace-json-1core"]
	printf "flood: tcptrace %.2f Mpkt/s, %.0f MiB; Ostermann %.2f Mpkt/s, %.0f MiB (%.1fx less memory)\n", pps["tcptrace-flood"]/1e6, rss["tcptrace-flood"], pps["ostermann-flood"]/1e6, rss["ostermann-flood"], rss["ostermann-flood"]/rss["tcptrace-flood"]
	printf "pcapng / pcap, CPU                  %6.2f\n", cpu["tcptrace-pcapng"]/cpu["tcptrace-pcap"]
	printf "bulk transfers: %.2f GB/s (2 workers), %.2f GB/s (1 core)\n", bulk_bytes/sec["tcptrace-bulk"]/1e9, bulk_bytes/sec["tcptrace-bulk-1core"]/1e9
	printf "gzip: tcptrace reads the .gz in %.2f s (%.2f s CPU); gzip -dc alone takes %.2f s, the .pcap %.2f s\n", sec["tcptrace-gzip"], cpu["tcptrace-gzip"], sec["gzip-dc"], sec["tcptrace-pcap"]
}' "$results"
rm -f "$results"
