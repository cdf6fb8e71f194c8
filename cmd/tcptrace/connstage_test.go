package main

import (
	"testing"

	"github.com/tcptrace/tcptrace/tracker"
)

// TestConnStage: every connection reaches the consumer, in order, for
// counts below, at and far beyond what the stage holds in flight, and close
// can be called again.
func TestConnStage(t *testing.T) {
	for _, n := range []int{0, 1, connBatch, connBatch + 1, 3 * connBatch * connDepth} {
		var got []uint64
		s := startConnStage(func(c *tracker.Conn) { got = append(got, c.ID) })
		for i := 1; i <= n; i++ {
			s.add(&tracker.Conn{ID: uint64(i)})
		}
		s.close()
		s.close()
		if len(got) != n {
			t.Fatalf("%d connections: consumer saw %d", n, len(got))
		}
		for i, id := range got {
			if id != uint64(i+1) {
				t.Fatalf("%d connections: #%d is id %d", n, i+1, id)
			}
		}
	}
}
