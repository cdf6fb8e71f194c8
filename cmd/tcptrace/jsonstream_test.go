package main

import (
	"bytes"
	"cmp"
	"slices"
	"testing"

	"github.com/tcptrace/tcptrace/capture"
	"github.com/tcptrace/tcptrace/report"
	"github.com/tcptrace/tcptrace/tracker"
)

// TestJSONStreamHeldConnections: connections held back frozen (or rendered,
// when they cannot be frozen) until an older one is written come out as
// rendering them when they ended gives; in id order while the budget holds,
// each exactly once when it does not.
func TestJSONStreamHeldConnections(t *testing.T) {
	path := mixFile(t, 100_000)
	for _, budget := range []int{pendingBudget, 64 << 10} {
		type rec struct {
			id   uint64
			line string
		}
		var direct []rec
		var out bytes.Buffer
		s := newJSONStream(&out)
		s.budget = budget
		frozenHeld, renderedHeld := false, false
		tr := tracker.New(tracker.Config{OnDone: func(c *tracker.Conn) {
			direct = append(direct, rec{c.ID, string(append(report.AppendConn(nil, c), '\n'))})
			s.conn(c)
			tracker.Recycle(c) // as the CLI does: nothing held may depend on c
			for _, h := range s.pending {
				frozenHeld = frozenHeld || h.line == nil
				renderedHeld = renderedHeld || h.line != nil
			}
		}})
		r, err := capture.Files([]string{path}, capture.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for seg, err := range r.TCP() {
			if err != nil {
				t.Fatal(err)
			}
			tr.Process(seg)
		}
		r.Close()
		tr.Finish()
		if len(s.pending) > 0 {
			s.flushPending()
		}
		if err := s.w.Flush(); err != nil {
			t.Fatal(err)
		}
		if !frozenHeld {
			t.Errorf("budget %d: no connection was held frozen", budget)
		}
		got := slices.Collect(func(yield func(string) bool) {
			for l := range bytes.Lines(out.Bytes()) {
				if !yield(string(l)) {
					return
				}
			}
		})
		slices.SortStableFunc(direct, func(a, b rec) int { return cmp.Compare(a.id, b.id) })
		want := make([]string, len(direct))
		for i, r := range direct {
			want[i] = r.line
		}
		if len(got) != len(want) || len(want) < 1000 {
			t.Fatalf("budget %d: %d lines written, %d connections", budget, len(got), len(want))
		}
		if budget == pendingBudget {
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("line %d:\n got %s\nwant %s", i+1, got[i], want[i])
				}
			}
			continue
		}
		if slices.Equal(got, want) {
			t.Errorf("budget %d: written in id order; the budget was never exceeded", budget)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("budget %d: the lines written are not the connections' records", budget)
		}
		t.Logf("budget %d: %d connections; a rendered line held: %v", budget, len(want), renderedHeld)
	}
}
