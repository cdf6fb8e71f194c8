package reassembly_test

import (
	"fmt"
	"time"

	"github.com/tcptrace/tcptrace/reassembly"
	"github.com/tcptrace/tcptrace/tcp"
)

// One Conn and one Stats per connection; every segment goes through
// Segment with the side that sent it (0 client, 1 server).
func ExampleConn_Segment() {
	var conn reassembly.Conn
	var stats reassembly.Stats
	start := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC).UnixNano()
	segs := []struct {
		side int
		ms   int64
		seg  tcp.Segment
	}{
		{0, 0, tcp.Segment{Flags: tcp.SYN, Seq: 1000, Window: 64240}},
		{1, 10, tcp.Segment{Flags: tcp.SYN | tcp.ACK, Seq: 5000, Ack: 1001, Window: 64240}},
		{0, 20, tcp.Segment{Flags: tcp.ACK, Seq: 1001, Ack: 5001, Window: 502}},
		{0, 21, tcp.Segment{Flags: tcp.ACK | tcp.PSH, Seq: 1001, Ack: 5001, Window: 502, PayloadLen: 100}},
		{0, 250, tcp.Segment{Flags: tcp.ACK | tcp.PSH, Seq: 1001, Ack: 5001, Window: 502, PayloadLen: 100}},
		{1, 260, tcp.Segment{Flags: tcp.ACK, Seq: 5001, Ack: 1101, Window: 0}},
	}
	for i, s := range segs {
		s.seg.Packet = uint64(i + 1)
		s.seg.Time = start + s.ms*int64(time.Millisecond)
		s.seg.IPID = uint16(100*s.side + i + 1)
		fmt.Printf("packet %d: %v\n", i+1, conn.Segment(s.side, &s.seg, &stats))
	}
	client := &stats.Dir[0]
	fmt.Printf("client: %d payload bytes, %d unique, %d retransmitted (first at packet %d)\n",
		client.PayloadBytes, client.UniqueBytes, client.RetransmittedBytes, client.First(reassembly.Retransmission))
	fmt.Printf("handshake: syn_to_synack %v, synack_to_ack %v\n", stats.Handshake.SYNToSYNACK, stats.Handshake.SYNACKToACK)
	// Output:
	// packet 1: none
	// packet 2: none
	// packet 3: none
	// packet 4: none
	// packet 5: retransmission
	// packet 6: zero_window
	// client: 200 payload bytes, 100 unique, 100 retransmitted (first at packet 5)
	// handshake: syn_to_synack 10ms, synack_to_ack 10ms
}
