package report

import (
	"testing"

	"github.com/tcptrace/tcptrace/tracker"
)

// TestDiagramLayoutCoversTable fails when the tracker's table gains a
// transition the hand-drawn layout has no place for (it would still be
// drawn, as a straight line, but the picture should be redrawn), and when
// the layout keeps a route for a transition the table no longer has.
func TestDiagramLayoutCoversTable(t *testing.T) {
	inTable := map[[2]tracker.State]bool{}
	for _, r := range tracker.Table() {
		k := [2]tracker.State{r.From, r.To}
		inTable[k] = true
		if _, ok := routes[k]; !ok {
			t.Errorf("no route for %s -> %s", r.From, r.To)
		}
	}
	for k := range routes {
		if !inTable[k] {
			t.Errorf("route for %s -> %s, which the table does not have", k[0], k[1])
		}
	}
	for _, s := range tracker.States() {
		if _, ok := statePos[s]; !ok {
			t.Errorf("no position for %s", s)
		}
	}
}

// TestDiagramLabelsInside keeps every label and route on the canvas.
func TestDiagramLabelsInside(t *testing.T) {
	for k, r := range routes {
		pts := append([]pt{r.label}, r.pts...)
		for _, p := range pts {
			if p.x < 0 || p.x > diagramW || p.y < 0 || p.y > diagramH {
				t.Errorf("%s -> %s: point %v outside the %dx%d canvas", k[0], k[1], p, diagramW, diagramH)
			}
		}
	}
}
