package tracker_test

import (
	"bytes"
	"testing"

	"github.com/tcptrace/tcptrace/synth"
	"github.com/tcptrace/tcptrace/tcp"
	"github.com/tcptrace/tcptrace/tracker"
)

// mixSegments decodes the benchmark mix (deterministic) into memory, so
// that BenchmarkProcessMix times the tracker alone.
func mixSegments(b *testing.B, packets int) []tcp.Segment {
	b.Helper()
	var buf bytes.Buffer
	if _, err := synth.WriteMix(&buf, synth.DefaultMix(1, packets)); err != nil {
		b.Fatal(err)
	}
	return tracker.DecodeAll(b, buf.Bytes())
}

// BenchmarkProcessMix tracks the benchmark mix of the speed goals (1,000
// connections at once, handshakes, bulk data, losses, resets, scans) from
// memory: the tracker's share of a run, per packet and per connection.
func BenchmarkProcessMix(b *testing.B) {
	segs := mixSegments(b, 500_000)
	b.ReportAllocs()
	n, conns := 0, 0
	for b.Loop() {
		tr := tracker.New(tracker.Config{OnDone: func(*tracker.Conn) { conns++ }})
		for i := range segs {
			tr.Process(&segs[i])
		}
		tr.Finish()
		n += len(segs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/pkt")
	b.ReportMetric(float64(n)/float64(conns), "pkts/conn")
}

// BenchmarkFreeze freezes and thaws the benchmark mix's connections as
// they end (what the JSON stream does with those that wait for an older
// one; the tracker does the same with those waiting out TIME_WAIT).
func BenchmarkFreeze(b *testing.B) {
	segs := mixSegments(b, 200_000)
	var conns []*tracker.Conn
	tr := tracker.New(tracker.Config{OnDone: func(c *tracker.Conn) { conns = append(conns, c) }})
	for i := range segs {
		tr.Process(&segs[i])
	}
	tr.Finish()
	b.ReportAllocs()
	var z tracker.Freezer
	var back tracker.Conn
	n := 0
	for b.Loop() {
		for _, c := range conns {
			if f, ok := z.Freeze(c); ok {
				z.Thaw(f, &back)
			}
			n++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/conn")
}
