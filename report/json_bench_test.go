package report

import (
	"path/filepath"
	"testing"

	"github.com/tcptrace/tcptrace/capture"
	"github.com/tcptrace/tcptrace/tracker"
)

// kernelConns tracks every capture under testdata/pcaps/kernel (real Linux
// connections: handshakes, closes, losses, resets, IPv6) and returns the
// connections in the order the tracker hands them over.
func kernelConns(tb testing.TB) []*tracker.Conn {
	tb.Helper()
	paths, err := filepath.Glob("../testdata/pcaps/kernel/*.pcap")
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no kernel captures: %v", err)
	}
	var conns []*tracker.Conn
	for _, path := range paths {
		r, err := capture.Files([]string{path}, capture.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		tr := tracker.New(tracker.Config{OnDone: func(c *tracker.Conn) { conns = append(conns, c) }})
		for seg, err := range r.TCP() {
			if err != nil {
				tb.Fatal(path, err)
			}
			tr.Process(seg)
		}
		tr.Finish()
		r.Close()
	}
	return conns
}

// BenchmarkAppendConn renders the kernel captures' connections, one per
// op, into a reused buffer: the per-connection cost of --format json.
func BenchmarkAppendConn(b *testing.B) {
	conns := kernelConns(b)
	buf := make([]byte, 0, 64<<10)
	var total int
	for _, c := range conns {
		total += len(AppendConn(buf[:0], c))
	}
	b.SetBytes(int64(total / len(conns)))
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		buf = AppendConn(buf[:0], conns[i])
		if i++; i == len(conns) {
			i = 0
		}
	}
}
