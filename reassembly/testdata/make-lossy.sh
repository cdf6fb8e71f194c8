#!/usr/bin/env bash
# make-lossy.sh writes lossy-recv.pcap and lossy-send.pcap next to itself:
# real Linux TCP through a router namespace that drops packets at random, so
# the differential test (tshark_test.go) sees retransmissions, gaps filled
# late, fast retransmissions, SACK, duplicate ACKs, a zero window with
# persist probes, and keep-alives.
#
#	client ns (10.77.1.1) ── router ns (drops) ── server ns (10.77.2.2)
#
# lossy-send.pcap is captured at the client, before the drops; lossy-recv.pcap
# at the server, after them. Two connections: 150 KB into a server that reads
# nothing for 3 s with an 8 KB receive buffer (zero window, probes), then
# 300 KB followed by 2.5 s of idle with 1 s keep-alives.
#
# Drops are random, so every run makes different files. Needs root, ip, nft,
# tcpdump, python3; no netem. Usage: reassembly/testdata/make-lossy.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
ns=(tcptrace-rsm-c tcptrace-rsm-r tcptrace-rsm-s)
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for n in "${ns[@]}"; do ip netns del "$n" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

for n in "${ns[@]}"; do
	ip netns add "$n"
	ip -n "$n" link set lo up
done
c=${ns[0]} r=${ns[1]} s=${ns[2]}
ip link add rsm-c netns "$c" type veth peer name rsm-rc netns "$r"
ip link add rsm-s netns "$s" type veth peer name rsm-rs netns "$r"
ip -n "$c" addr add 10.77.1.1/24 dev rsm-c
ip -n "$r" addr add 10.77.1.254/24 dev rsm-rc
ip -n "$s" addr add 10.77.2.2/24 dev rsm-s
ip -n "$r" addr add 10.77.2.254/24 dev rsm-rs
# One MTU-sized segment per packet, as on a real link (no GSO super-segments).
for x in "$c rsm-c" "$r rsm-rc" "$r rsm-rs" "$s rsm-s"; do
	set -- $x
	ip -n "$1" link set "$2" gso_max_segs 1 up
done
ip -n "$c" route add default via 10.77.1.254
ip -n "$s" route add default via 10.77.2.254
ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
# 1 in 30 data segments and 1 in 50 server segments are lost in the router.
ip netns exec "$r" nft -f - <<'EOF'
table inet rsm {
	chain forwarding {
		type filter hook forward priority 0;
		ip daddr 10.77.2.2 tcp dport 9000 meta length > 100 numgen random mod 30 == 0 drop;
		ip saddr 10.77.2.2 tcp sport 9000 numgen random mod 50 == 0 drop;
	}
}
EOF

cat >"$tmp/server.py" <<'EOF'
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
s.bind(("10.77.2.2", 9000))
s.listen(5)
for i in range(2):
    c, _ = s.accept()
    if i == 0:
        time.sleep(3)  # the window closes; the client probes it
    n = 0
    while True:
        b = c.recv(65536)
        if not b:
            break
        n += len(b)
    c.sendall(b"done %d\n" % n)
    c.close()
EOF
cat >"$tmp/client.py" <<'EOF'
import socket, time
for i, size in enumerate((150000, 300000)):
    c = socket.create_connection(("10.77.2.2", 9000))
    c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    c.sendall(b"x" * size)
    if i == 1:
        time.sleep(2.5)  # idle: keep-alives
    c.shutdown(socket.SHUT_WR)
    c.recv(100)
    c.close()
EOF

ip netns exec "$s" tcpdump -i rsm-s -s 128 -U -w "$tmp/lossy-recv.pcap" tcp 2>"$tmp/recv.log" &
pids+=($!)
ip netns exec "$c" tcpdump -i rsm-c -s 128 -U -w "$tmp/lossy-send.pcap" tcp 2>"$tmp/send.log" &
pids+=($!)
until grep -qs listening "$tmp/recv.log" && grep -qs listening "$tmp/send.log"; do sleep 0.1; done
ip netns exec "$s" timeout 60 python3 "$tmp/server.py" &
pids+=($!)
sleep 0.5
ip netns exec "$c" timeout 60 python3 "$tmp/client.py"
sleep 0.5
kill "${pids[0]}" "${pids[1]}"
wait "${pids[0]}" "${pids[1]}" 2>/dev/null || true
cp "$tmp/lossy-recv.pcap" "$tmp/lossy-send.pcap" "$here/"
echo "wrote $here/lossy-recv.pcap $here/lossy-send.pcap"
