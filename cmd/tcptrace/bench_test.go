package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tcptrace/tcptrace/capture"
	"github.com/tcptrace/tcptrace/report"
	"github.com/tcptrace/tcptrace/synth"
	"github.com/tcptrace/tcptrace/tcp"
	"github.com/tcptrace/tcptrace/tracker"
)

// mixFile writes the benchmark mix (deterministic) to a temporary file.
func mixFile(b testing.TB, packets int) string {
	b.Helper()
	cfg := synth.DefaultMix(1, packets)
	cfg.Connections = packets / 50
	var buf bytes.Buffer
	if _, err := synth.WriteMix(&buf, cfg); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "mix.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkPipeline measures the whole of `tcptrace read --format json`:
// read, decode, track and render, per packet, with allocations. The
// allocations come from connections (one set per connection), not packets:
// allocs/pkt stays far below 1.
func BenchmarkPipeline(b *testing.B) {
	const packets = 200_000
	path := mixFile(b, packets)
	for _, workers := range []int{1, 2} {
		b.Run(map[int]string{1: "workers=1", 2: "workers=2"}[workers], func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(fileSize(b, path))
			for b.Loop() {
				r, err := capture.Files([]string{path}, capture.Options{})
				if err != nil {
					b.Fatal(err)
				}
				j := report.NewJSON(io.Discard)
				tr := tracker.New(tracker.Config{OnDone: func(c *tracker.Conn) { _ = j.Conn(c) }})
				if err := eachPacket(r, workers, func(k capture.Kind, seg *tcp.Segment, hint *tracker.FlowHint) {
					if k == capture.KindTCP {
						tr.ProcessHinted(seg, *hint)
					}
				}); err != nil {
					b.Fatal(err)
				}
				tr.Finish()
				r.Close()
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N*packets)
			b.ReportMetric(ns, "ns/pkt")
			b.ReportMetric(1e3/ns, "Mpkt/s")
		})
	}
}

func fileSize(b *testing.B, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}
