package tracker

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tcptrace/tcptrace/tcp"
)

// benchSegments builds n connections' worth of segments, interleaved the way
// concurrent connections are: handshake, 8 data segments each way with
// ACKs, and a close, so the mix is mostly established-state data/ACKs.
func benchSegments(conns int) []tcp.Segment {
	var out []tcp.Segment
	srv := netip.MustParseAddrPort("10.1.0.1:443")
	const perConn = 24
	scripts := make([][]pk, conns)
	for i := range scripts {
		p := []pk{
			{0, Client, S, 1000, 0, 0},
			{1, Server, SA, 5000, 1001, 0},
			{2, Client, A, 1001, 5001, 0},
		}
		cs, ss := uint32(1001), uint32(5001)
		for j := 0; j < 9; j++ {
			p = append(p, pk{3, Client, PA, cs, ss, 100}, pk{4, Server, PA, ss, cs + 100, 1400})
			cs += 100
			ss += 1400
		}
		p = append(p, pk{5, Client, FA, cs, ss, 0}, pk{6, Server, FA, ss, cs + 1, 0}, pk{7, Client, A, cs + 1, ss + 1, 0})
		scripts[i] = p[:perConn]
	}
	var pkt uint64
	for step := 0; step < perConn; step++ {
		for i := range scripts {
			cli := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, byte(i >> 16), byte(i >> 8)}), uint16(1024+i%50000))
			p := scripts[i][step]
			src, dst := cli, srv
			if p.from == Server {
				src, dst = srv, cli
			}
			pkt++
			out = append(out, tcp.Segment{Time: int64(pkt) * int64(time.Microsecond), Packet: pkt, Src: src, Dst: dst,
				Seq: tcp.Seq(p.seq), Ack: tcp.Seq(p.ack), Flags: p.flags, Window: 501, PayloadLen: p.n})
		}
	}
	return out
}

func BenchmarkProcess(b *testing.B) {
	segs := benchSegments(20000)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		tr := New(Config{})
		for i := range segs {
			tr.Process(&segs[i])
		}
		tr.Finish()
		n += len(segs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/pkt")
}

// TestProcessSteadyStateAllocs: a data segment on an established
// connection allocates nothing.
func TestProcessSteadyStateAllocs(t *testing.T) {
	tr := New(Config{})
	segs := benchSegments(1)
	for i := 0; i < 4; i++ {
		tr.Process(&segs[i])
	}
	seg := segs[4]
	allocs := testing.AllocsPerRun(1000, func() {
		seg.Seq++
		seg.Packet++
		tr.Process(&seg)
	})
	if allocs != 0 {
		t.Errorf("Process allocates %.1f times per established-state segment, want 0", allocs)
	}
}
